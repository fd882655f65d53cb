//! First-party click-id cookies. A click id in the landing URL (`oppref` for OpenAI, `fbclid` for Meta) becomes
//! a server-set cookie on the site's own domain (`__oppref`, `_fbc` in Meta's `fb.1.<ms>.<fbclid>` format), and
//! `_fbp` is created when missing. Server-set cookies outlive Safari ITP's 7-day cap on script-set cookies; each
//! hit re-sets them, so an active visitor keeps them for 90 days after the last visit.

use crate::hit::field::UrlParts;
use crate::hit::Hit;

/// 90 days, the lifetime Meta documents for `_fbc`/`_fbp`.
pub const COOKIE_MAX_AGE_S: u64 = 90 * 24 * 3600;

/// One cookie to set on the response.
#[derive(Debug, Clone, PartialEq)]
pub struct CookieUpdate {
    pub name: &'static str,
    pub value: String,
}

impl CookieUpdate {
    /// The `Set-Cookie` header value. Not HttpOnly: the platforms' own browser pixels read these cookies.
    pub fn header(&self, domain: Option<&str>) -> String {
        let domain = domain.map(|d| format!("; Domain={d}")).unwrap_or_default();
        format!(
            "{}={}; Max-Age={COOKIE_MAX_AGE_S}; Path=/{domain}; Secure; SameSite=Lax",
            self.name, self.value
        )
    }
}

/// The cookies this hit should (re)set, and puts them into the hit so its own event carries them.
/// `random` supplies the random part of a new `_fbp`.
pub fn refresh(hit: &mut Hit, now_ms: i64, random: &mut dyn FnMut() -> u64) -> Vec<CookieUpdate> {
    let url = hit.page.url.clone().unwrap_or_default();
    let parts = UrlParts::parse(&url);
    let cookies = &mut hit.context.cookies;
    let mut updates = Vec::new();

    if let Some(oppref) = parts.query_param("oppref").filter(|v| valid_click_id(v)) {
        cookies.insert("__oppref".into(), oppref);
    }
    if let Some(fbclid) = parts.query_param("fbclid").filter(|v| valid_click_id(v)) {
        // Rewrite only for a new click id: the creation time of the one we have stays.
        let same = cookies
            .get("_fbc")
            .is_some_and(|c| c.rsplit('.').next() == Some(fbclid.as_str()));
        if !same {
            cookies.insert("_fbc".into(), format!("fb.1.{now_ms}.{fbclid}"));
        }
    }
    // Missing, or unusable (it could not be written back): a fresh one.
    if !cookies
        .get("_fbp")
        .is_some_and(|v| v.starts_with("fb.") && valid_click_id(v))
    {
        cookies.insert(
            "_fbp".into(),
            format!("fb.1.{now_ms}.{}", random() % 10_000_000_000),
        );
    }
    for name in ["__oppref", "_fbc", "_fbp"] {
        if let Some(v) = cookies.get(name).filter(|v| valid_click_id(v)) {
            updates.push(CookieUpdate {
                name,
                value: v.clone(),
            });
        }
    }
    updates
}

/// Click ids are opaque tokens: refuse anything that could break out of a Set-Cookie header.
pub fn valid_click_id(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 512
        && v.bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b';' | b',' | b'"' | b'\\'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(url: &str, cookies: &[(&str, &str)]) -> Hit {
        let mut h = Hit {
            event: "PageView".into(),
            ..Hit::default()
        };
        h.page.url = Some(url.into());
        for (k, v) in cookies {
            h.context.cookies.insert(k.to_string(), v.to_string());
        }
        h
    }

    #[test]
    fn click_ids_in_the_url_become_cookies_in_metas_format() {
        let mut h = hit("https://s.example/?fbclid=AbC-123&oppref=opp_9", &[]);
        let updates = refresh(&mut h, 1_700_000_000_000, &mut || 42);
        let names: Vec<&str> = updates.iter().map(|u| u.name).collect();
        assert_eq!(names, ["__oppref", "_fbc", "_fbp"]);
        assert_eq!(h.context.cookies["_fbc"], "fb.1.1700000000000.AbC-123");
        assert_eq!(h.context.cookies["__oppref"], "opp_9");
        assert_eq!(h.context.cookies["_fbp"], "fb.1.1700000000000.42");
        assert_eq!(
            updates[1].header(Some("example.com")),
            "_fbc=fb.1.1700000000000.AbC-123; Max-Age=7776000; Path=/; Domain=example.com; Secure; SameSite=Lax"
        );
    }

    #[test]
    fn the_same_click_keeps_its_time_and_a_new_click_rewrites() {
        let mut same = hit(
            "https://s.example/?fbclid=X",
            &[("_fbc", "fb.1.5.X"), ("_fbp", "fb.1.5.7")],
        );
        refresh(&mut same, 9, &mut || 1);
        assert_eq!(same.context.cookies["_fbc"], "fb.1.5.X");
        let mut new = hit("https://s.example/?fbclid=Y", &[("_fbc", "fb.1.5.X")]);
        refresh(&mut new, 9, &mut || 1);
        assert_eq!(new.context.cookies["_fbc"], "fb.1.9.Y");
    }

    #[test]
    fn existing_cookies_are_refreshed_and_header_injection_is_refused() {
        let mut h = hit(
            "https://s.example/?oppref=a%3Bb%0D%0ASet-Cookie%3Ax",
            &[("__oppref", "kept")],
        );
        let updates = refresh(&mut h, 1, &mut || 1);
        assert_eq!(
            h.context.cookies["__oppref"], "kept",
            "an id with ; or CR/LF is not taken"
        );
        assert!(updates.iter().all(|u| !u.header(None).contains('\n')));
        assert!(
            updates
                .iter()
                .any(|u| u.name == "__oppref" && u.value == "kept"),
            "refreshed for another 90 days"
        );
        let mut broken = hit("https://s.example/", &[("_fbp", "fb.1.1.2 Domain=evil")]);
        let updates = refresh(&mut broken, 5, &mut || 3);
        assert_eq!(
            updates,
            vec![CookieUpdate {
                name: "_fbp",
                value: "fb.1.5.3".into()
            }],
            "an _fbp that could not be written back is replaced by a fresh one"
        );
    }
}
