//! Which pages may send events: the config's allowed origins, plus the worker's own origin.

use crate::base::url::origin_of;
use crate::config::Site;

#[derive(Debug, Clone, PartialEq)]
pub enum Cors {
    /// The page is on the worker's own origin (first-party routing, the usual case): allowed, and the browser
    /// applies no CORS, so the response needs no CORS headers.
    SameOrigin,
    /// Allowed from another origin; echo this origin in `Access-Control-Allow-Origin`, with credentials.
    Allowed(String),
    /// Allowed because `allowed_origins` has "*": any page may send, but without credentials
    /// (`Access-Control-Allow-Origin: *`), so no other site reads an answer made with the visitor's cookies.
    AnyOrigin,
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
    if origin == own_origin {
        return Cors::SameOrigin;
    }
    if site.allowed_origins.contains(&origin) {
        Cors::Allowed(origin)
    } else if site.allowed_origins.iter().any(|o| o == "*") {
        Cors::AnyOrigin
    } else {
        Cors::Refused(origin)
    }
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
            sample_one_in: 20,
            redact_query: Default::default(),
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
            (Some("https://edge.example.com"), None, Cors::SameOrigin),
            (None, Some("https://edge.example.com/p"), Cors::SameOrigin),
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
        // The wildcard allows any page, but only without credentials; a listed origin keeps them.
        assert_eq!(
            check(&site(&["*"]), Some("https://any.example"), None, own),
            Cors::AnyOrigin
        );
        let both = site(&["*", "https://partner.example"]);
        assert_eq!(
            check(&both, Some("https://partner.example"), None, own),
            Cors::Allowed("https://partner.example".into())
        );
        assert_eq!(check(&both, Some("null"), None, own), Cors::AnyOrigin);
        assert_eq!(check(&both, Some(own), None, own), Cors::SameOrigin);
    }
}
