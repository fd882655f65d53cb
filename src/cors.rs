//! Which pages may send events: the config's allowed origins, plus the worker's own origin.

use crate::config::Site;

#[derive(Debug, Clone, PartialEq)]
pub enum Cors {
    /// Allowed; echo this origin in `Access-Control-Allow-Origin`.
    Allowed(String),
    /// No `Origin` header (a GET image beacon, a server): nothing to echo.
    NoOrigin,
    Refused(String),
}

/// Decides for a request from `origin` (or, without one, the `Referer`) to the worker at `own_origin`.
pub fn check(site: &Site, origin: Option<&str>, referer: Option<&str>, own_origin: &str) -> Cors {
    let from_referer = || referer.and_then(origin_of);
    let Some(origin) = origin.map(str::to_string).or_else(from_referer) else {
        return Cors::NoOrigin;
    };
    let allowed = origin == own_origin
        || site
            .allowed_origins
            .iter()
            .any(|o| o == "*" || *o == origin);
    if allowed {
        Cors::Allowed(origin)
    } else {
        Cors::Refused(origin)
    }
}

/// `https://shop.example.com:8443/path` → `https://shop.example.com:8443`.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    (!host.is_empty()).then(|| format!("{scheme}://{host}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(origins: &[&str]) -> Site {
        Site {
            path_prefix: "/r".into(),
            allowed_origins: origins.iter().map(|s| s.to_string()).collect(),
            max_body_bytes: 1,
            cookie_domain: None,
            consent_denied: crate::config::Config::parse(
                "[[destination]]\nname=\"w\"\nkind=\"webhook\"\nendpoint=\"https://x\"",
            )
            .unwrap()
            .site
            .consent_denied,
        }
    }

    #[test]
    fn origins_are_allowed_or_refused() {
        let s = site(&["https://shop.example.com"]);
        let own = "https://edge.example.com";
        let cases = [
            (
                Some("https://shop.example.com"),
                None,
                Cors::Allowed("https://shop.example.com".into()),
            ),
            (
                Some("https://edge.example.com"),
                None,
                Cors::Allowed(own.into()),
            ),
            (
                Some("https://evil.example"),
                None,
                Cors::Refused("https://evil.example".into()),
            ),
            (
                Some("https://shop.example.com.evil.example"),
                None,
                Cors::Refused("https://shop.example.com.evil.example".into()),
            ),
            (
                None,
                Some("https://evil.example/page"),
                Cors::Refused("https://evil.example".into()),
            ),
            (
                None,
                Some("https://shop.example.com/thank-you?x=1"),
                Cors::Allowed("https://shop.example.com".into()),
            ),
            (None, None, Cors::NoOrigin),
        ];
        for (origin, referer, expected) in cases {
            assert_eq!(
                check(&s, origin, referer, own),
                expected,
                "{origin:?} {referer:?}"
            );
        }
        assert_eq!(
            check(&site(&["*"]), Some("https://any.example"), None, own),
            Cors::Allowed("https://any.example".into())
        );
    }
}
