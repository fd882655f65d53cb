//! The worker's own paths under `[site] path_prefix`, in one table. The edge router reads it to dispatch, and
//! `capi-edge check` reads it to refuse a `[[proxy]]` path that would shadow one of them (or be shadowed by it).

/// A route the worker serves itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    /// `POST|GET|OPTIONS /e`: browser hits.
    Intake,
    /// `GET /s.js`: the first-party pixel script.
    PixelScript,
    /// `GET /b.js`: the pixel's bridge to the dataLayer, fbq and oaiq, loaded only by pages that turn it on.
    BridgeScript,
    /// `GET|POST /g/collect`: a site's own GA4 hits (gtag.js with `server_container_url`).
    Ga4Collect,
    /// `GET /health`.
    Health,
    /// `POST /api/events`: the backend events API.
    BackendEvents,
    /// `/api/…` but the backend API: the dashboard's endpoints, behind the debug token.
    Admin,
    /// `GET /dashboard` and `GET /config`: the events dashboard and config pages (static files).
    Dashboard,
    /// `POST /webhooks/<platform>`.
    Webhook,
}

/// `(path, whole subtree?, route)`, most specific first. A subtree entry claims every path below it, so a path the
/// worker may add there later (a new admin endpoint) can never have been claimed by a proxy.
const TABLE: [(&str, bool, Builtin); 10] = [
    ("/e", false, Builtin::Intake),
    ("/s.js", false, Builtin::PixelScript),
    ("/b.js", false, Builtin::BridgeScript),
    ("/g/collect", false, Builtin::Ga4Collect),
    ("/health", false, Builtin::Health),
    ("/api/events", false, Builtin::BackendEvents),
    ("/api/", true, Builtin::Admin),
    ("/dashboard", false, Builtin::Dashboard),
    ("/config", false, Builtin::Dashboard),
    ("/webhooks/", true, Builtin::Webhook),
];

/// The built-in route for a path below the prefix (`/e`, `/api/stats`), if any.
pub fn builtin(path: &str) -> Option<Builtin> {
    TABLE
        .iter()
        .find(|(p, subtree, _)| {
            if *subtree {
                path.starts_with(p) || path == p.trim_end_matches('/')
            } else {
                path == *p
            }
        })
        .map(|(_, _, route)| *route)
}

/// The reserved paths in words, for a hint: `/e, /s.js, …, /api/…, /webhooks/…`.
pub fn reserved_list() -> String {
    TABLE
        .iter()
        .map(|(p, subtree, _)| {
            if *subtree {
                format!("{p}…")
            } else {
                p.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_path_is_found_and_others_are_free() {
        let cases = [
            ("/e", Some(Builtin::Intake)),
            ("/s.js", Some(Builtin::PixelScript)),
            ("/b.js", Some(Builtin::BridgeScript)),
            ("/g/collect", Some(Builtin::Ga4Collect)),
            ("/health", Some(Builtin::Health)),
            ("/api/events", Some(Builtin::BackendEvents)),
            ("/api/stats", Some(Builtin::Admin)),
            ("/api/ledger", Some(Builtin::Admin)),
            ("/api/reconcile", Some(Builtin::Admin)),
            ("/api/anything-later", Some(Builtin::Admin)),
            ("/api", Some(Builtin::Admin)),
            ("/dashboard", Some(Builtin::Dashboard)),
            ("/config", Some(Builtin::Dashboard)),
            ("/webhooks/shopify", Some(Builtin::Webhook)),
            ("/webhooks", Some(Builtin::Webhook)),
            ("/lib/oaiq.js", None),
            ("/e2", None),
            ("/apix", None),
            ("/dashboard2", None),
            ("/", None),
        ];
        for (path, route) in cases {
            assert_eq!(builtin(path), route, "{path}");
        }
    }

    #[test]
    fn the_hint_names_every_reserved_path() {
        let list = reserved_list();
        for p in [
            "/e",
            "/s.js",
            "/health",
            "/dashboard",
            "/api/…",
            "/webhooks/…",
        ] {
            assert!(list.contains(p), "{list}");
        }
    }
}
