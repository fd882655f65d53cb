//! First-party click-id cookies. A click id in the landing URL (`oppref` for OpenAI, `fbclid` for Meta) becomes
//! a server-set cookie on the site's own domain (`__oppref`, `_fbc` in Meta's `fb.1.<ms>.<fbclid>` format), and
//! `_fbp` is created when missing. Server-set cookies outlive Safari ITP's 7-day cap on script-set cookies; each
//! hit re-sets them, so an active visitor keeps them for 90 days after the last visit.

use crate::hit::field::UrlParts;
use crate::hit::Hit;

/// The other platforms' click ids and browser ids: what each platform's pixel keeps, and each kind sends in its
/// own field. A mapping target `user.<name>` each, filled by default from the landing URL's parameter and the
/// first-party cookie the platform's pixel (or this worker) keeps it in.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum ClickId {
    /// TikTok's click id (`ttclid` in the landing URL).
    Ttclid,
    /// TikTok's browser id, the pixel's `_ttp` cookie.
    Ttp,
    /// Pinterest's click id (`epik`; the pixel keeps it in `_epik`).
    Epik,
    /// Snap's click id (`ScCid`; kept in `_scclid`).
    ScClickId,
    /// Snap's browser id, the pixel's `_scid` cookie.
    ScCookie1,
    /// Reddit's click id (`rdt_cid`; kept in `_rdt_cid`).
    RdtCid,
    /// Reddit's browser id, the pixel's `_rdt_uuid` cookie.
    RdtUuid,
    /// LinkedIn's first-party ad tracking id (`li_fat_id`; kept in `li_fat_id`).
    LiFatId,
    /// Google's click id (`gclid`; kept in `_gcl_aw` as `GCL.<seconds>.<gclid>`).
    Gclid,
    /// Google's click id for iOS app-to-web (`gbraid`; kept in `_gcl_gb`).
    Gbraid,
    /// Google's click id for iOS web-to-app (`wbraid`; kept in `_gcl_gb`'s place by its own param).
    Wbraid,
    /// X's click id (`twclid`; kept in `_twclid`).
    Twclid,
    /// Google Analytics' client id: the last two parts of the `_ga` cookie (`GA1.1.<random>.<seconds>`).
    GaClientId,
}

/// How a click id's cookie keeps it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Format {
    /// The id as it came.
    Plain,
    /// Google's `GCL.<unix seconds>.<id>`.
    Gcl,
    /// Google Analytics' `GA1.<depth>.<random>.<seconds>`: set and kept by gtag, never rewritten here (its
    /// 2-year lifetime would shrink to this worker's 90 days).
    Ga,
}

/// Each click id: its mapping name, the landing URL's parameter (none for a browser id), its cookie and format.
const CLICK_IDS: [(ClickId, &str, Option<&str>, &str, Format); 13] = [
    (
        ClickId::Ttclid,
        "ttclid",
        Some("ttclid"),
        "ttclid",
        Format::Plain,
    ),
    (ClickId::Ttp, "ttp", None, "_ttp", Format::Plain),
    (ClickId::Epik, "epik", Some("epik"), "_epik", Format::Plain),
    (
        ClickId::ScClickId,
        "sc_click_id",
        Some("ScCid"),
        "_scclid",
        Format::Plain,
    ),
    (
        ClickId::ScCookie1,
        "sc_cookie1",
        None,
        "_scid",
        Format::Plain,
    ),
    (
        ClickId::RdtCid,
        "rdt_cid",
        Some("rdt_cid"),
        "_rdt_cid",
        Format::Plain,
    ),
    (
        ClickId::RdtUuid,
        "rdt_uuid",
        None,
        "_rdt_uuid",
        Format::Plain,
    ),
    (
        ClickId::LiFatId,
        "li_fat_id",
        Some("li_fat_id"),
        "li_fat_id",
        Format::Plain,
    ),
    (
        ClickId::Gclid,
        "gclid",
        Some("gclid"),
        "_gcl_aw",
        Format::Gcl,
    ),
    (
        ClickId::Gbraid,
        "gbraid",
        Some("gbraid"),
        "_gcl_gb",
        Format::Gcl,
    ),
    (
        ClickId::Wbraid,
        "wbraid",
        Some("wbraid"),
        "_gcl_wb",
        Format::Gcl,
    ),
    (
        ClickId::Twclid,
        "twclid",
        Some("twclid"),
        "_twclid",
        Format::Plain,
    ),
    (ClickId::GaClientId, "ga_client_id", None, "_ga", Format::Ga),
];

impl ClickId {
    pub const ALL: [ClickId; 13] = {
        let mut all = [ClickId::Ttclid; 13];
        let mut i = 0;
        while i < 13 {
            all[i] = CLICK_IDS[i].0;
            i += 1;
        }
        all
    };

    fn entry(
        self,
    ) -> &'static (
        ClickId,
        &'static str,
        Option<&'static str>,
        &'static str,
        Format,
    ) {
        &CLICK_IDS[self as usize]
    }

    /// The mapping target's name after `user.` (`ttclid`, `sc_click_id`).
    pub fn name(self) -> &'static str {
        self.entry().1
    }

    pub fn parse(name: &str) -> Option<ClickId> {
        CLICK_IDS.iter().find(|e| e.1 == name).map(|e| e.0)
    }

    /// The landing URL's parameter that carries it, for a click id (a browser id has none).
    pub fn url_param(self) -> Option<&'static str> {
        self.entry().2
    }

    /// The first-party cookie that keeps it.
    pub fn cookie(self) -> &'static str {
        self.entry().3
    }

    /// The id a cookie's value holds: Google's `GCL.<seconds>.<id>` gives `<id>`.
    pub fn from_cookie(self, value: &str) -> String {
        match self.entry().4 {
            Format::Gcl => gcl_id(value).to_string(),
            Format::Ga => ga_client_id(value).to_string(),
            Format::Plain => value.to_string(),
        }
    }
}

/// The client id inside Google Analytics' `_ga` cookie (`GA1.1.1958185836.1757409569` → `1958185836.1757409569`:
/// the last two parts, whatever the domain depth); any other value as it is.
pub fn ga_client_id(value: &str) -> &str {
    if !value.starts_with("GA") {
        return value;
    }
    let mut dots = value.rmatch_indices('.').map(|(i, _)| i);
    match (dots.next(), dots.next()) {
        (Some(_), Some(second)) => &value[second + 1..],
        _ => value,
    }
}

/// The id inside Google's `GCL.<seconds>.<id>` cookie value; any other value as it is.
pub fn gcl_id(value: &str) -> &str {
    match value
        .strip_prefix("GCL.")
        .and_then(|rest| rest.split_once('.'))
    {
        Some((seconds, id)) if seconds.bytes().all(|b| b.is_ascii_digit()) => id,
        _ => value,
    }
}

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
    // The other platforms' click ids: a new one from the URL is kept in its pixel's cookie, in its format; a
    // browser id the platform's pixel set is refreshed, so it outlives ITP's 7-day cap on script-set cookies.
    for id in ClickId::ALL {
        let Some(fresh) = id.url_param().and_then(|p| parts.query_param(p)) else {
            continue;
        };
        if !valid_click_id(&fresh) {
            continue;
        }
        let cookie = id.cookie();
        let same = cookies
            .get(cookie)
            .is_some_and(|c| id.from_cookie(c) == fresh);
        if !same {
            let value = match id.entry().4 {
                Format::Gcl => format!("GCL.{}.{fresh}", now_ms / 1000),
                Format::Plain | Format::Ga => fresh,
            };
            cookies.insert(cookie.into(), value);
        }
    }
    let names = ["__oppref", "_fbc", "_fbp"].into_iter().chain(
        ClickId::ALL
            .iter()
            .filter(|id| id.entry().4 != Format::Ga)
            .map(|id| id.cookie()),
    );
    for name in names {
        if let Some(v) = cookies.get(name).filter(|v| valid_click_id(v)) {
            if updates.iter().all(|u: &CookieUpdate| u.name != name) {
                updates.push(CookieUpdate {
                    name,
                    value: v.clone(),
                });
            }
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

    #[test]
    fn the_other_platforms_click_ids_become_their_pixels_cookies() {
        let mut h = hit(
            "https://s.example/?ttclid=E.C.P.1&epik=ep1&ScCid=sc1&rdt_cid=rd1&li_fat_id=li1&gclid=Cj0&wbraid=wb1&twclid=tw1",
            &[("_ttp", "ttp-1"), ("_ga", "GA1.1.1.2"), ("_gcl_aw", "GCL.5.Cj0")],
        );
        let updates = refresh(&mut h, 1_700_000_000_000, &mut || 1);
        let cookie = |name: &str| {
            updates
                .iter()
                .find(|u| u.name == name)
                .map(|u| u.value.as_str())
        };
        assert_eq!(cookie("ttclid"), Some("E.C.P.1"));
        assert_eq!(cookie("_epik"), Some("ep1"));
        assert_eq!(cookie("_scclid"), Some("sc1"));
        assert_eq!(cookie("_rdt_cid"), Some("rd1"));
        assert_eq!(cookie("li_fat_id"), Some("li1"));
        assert_eq!(cookie("_twclid"), Some("tw1"));
        assert_eq!(
            cookie("_gcl_aw"),
            Some("GCL.5.Cj0"),
            "the same gclid keeps its time"
        );
        assert_eq!(
            cookie("_gcl_wb"),
            Some("GCL.1700000000.wb1"),
            "a new one is stamped in seconds"
        );
        assert_eq!(
            cookie("_ttp"),
            Some("ttp-1"),
            "a browser id its pixel set is refreshed"
        );
        assert_eq!(
            cookie("_ga"),
            None,
            "gtag's own cookie is never rewritten (its lifetime is 2 years)"
        );
        assert!(updates
            .iter()
            .all(|u| u.header(None).ends_with("; Secure; SameSite=Lax")));
    }

    #[test]
    fn a_hostile_click_id_is_not_written_and_cookie_values_give_their_ids() {
        let mut h = hit(
            "https://s.example/?ttclid=a%3Bb%0D%0ASet-Cookie%3Ax&gclid=ok",
            &[],
        );
        let updates = refresh(&mut h, 1_000, &mut || 1);
        assert!(
            updates.iter().all(|u| u.name != "ttclid"),
            "an id with ; or CR/LF is refused"
        );
        assert!(updates
            .iter()
            .all(|u| !u.header(None).contains(['\r', '\n'])));
        assert_eq!(
            ClickId::Gclid.from_cookie("GCL.1750842800.CjwKCAjw"),
            "CjwKCAjw"
        );
        assert_eq!(
            ClickId::Gclid.from_cookie("CjwKCAjw"),
            "CjwKCAjw",
            "a raw id as it is"
        );
        assert_eq!(
            ClickId::GaClientId.from_cookie("GA1.2.1958185836.1757409569"),
            "1958185836.1757409569"
        );
        for id in ClickId::ALL {
            assert_eq!(
                ClickId::parse(id.name()),
                Some(id),
                "{id:?}: the table's order is the enum's"
            );
        }
    }
}
