//! Personal data in URLs: before a page URL or referrer leaves the worker or is stored (payloads, the GA4
//! forward, the hit sample, traces), query and fragment values that look like an email address or a phone
//! number, the values of the parameters `[site] redact_query` names, and path segments that hold an email
//! address are replaced with `(redacted)`. The click ids and `utm_*` parameters the platforms attribute with are
//! kept as they are. Pure, and cheap for the usual URL: one scan for `?`, `#` and `@`.

use crate::hit::Hit;
use std::borrow::Cow;

/// What a redacted value becomes. Parentheses need no percent-encoding in a query.
pub const PLACEHOLDER: &str = "(redacted)";

/// `[site] redact_query` when the config leaves it out.
pub const DEFAULT_PARAMS: [&str; 4] = ["email", "e", "phone", "tel"];

/// Attribution parameters, never redacted: the platforms match conversions to clicks with them.
const ATTRIBUTION: [&str; 14] = [
    "oppref",
    "fbclid",
    "gclid",
    "gbraid",
    "wbraid",
    "dclid",
    "msclkid",
    "ttclid",
    "twclid",
    "li_fat_id",
    "epik",
    "sccid",
    "rdt_cid",
    "_gl",
];

/// Which query parameters are redacted whatever their value (names compared without case).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Redaction {
    params: Vec<String>,
}

impl Default for Redaction {
    fn default() -> Self {
        Redaction::new(DEFAULT_PARAMS)
    }
}

/// Whether a parameter is one the platforms attribute with (kept as it is).
pub fn is_attribution(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.starts_with("utm_") || ATTRIBUTION.contains(&lower.as_str())
}

impl Redaction {
    pub fn new<S: AsRef<str>>(params: impl IntoIterator<Item = S>) -> Redaction {
        Redaction {
            params: params
                .into_iter()
                .map(|p| p.as_ref().to_ascii_lowercase())
                .collect(),
        }
    }

    /// The URL with its personal values replaced, and how many were; `None` when nothing needed replacing.
    pub fn url(&self, url: &str) -> Option<(String, usize)> {
        if !url.contains(['?', '#', '@']) {
            return None;
        }
        let (before_fragment, fragment) = match url.split_once('#') {
            Some((b, f)) => (b, Some(f)),
            None => (url, None),
        };
        let (path, query) = match before_fragment.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (before_fragment, None),
        };
        let mut count = 0;
        let path = redact_path(path, &mut count);
        let query = query.map(|q| self.pairs(q, &mut count));
        let fragment = fragment.map(|f| self.pairs(f, &mut count));
        if count == 0 {
            return None;
        }
        let mut out = path.into_owned();
        if let Some(q) = query {
            out.push('?');
            out.push_str(&q);
        }
        if let Some(f) = fragment {
            out.push('#');
            out.push_str(&f);
        }
        Some((out, count))
    }

    /// `a=1&email=x` with each personal value replaced.
    fn pairs(&self, text: &str, count: &mut usize) -> String {
        text.split('&')
            .map(|pair| {
                let (key, value) = match pair.split_once('=') {
                    Some((k, v)) => (k, Some(v)),
                    None => (pair, None),
                };
                let name = percent_decode(key);
                if is_attribution(&name) {
                    return Cow::Borrowed(pair);
                }
                match value {
                    Some(v) if !v.is_empty() => {
                        let named = self.params.iter().any(|p| p.eq_ignore_ascii_case(&name));
                        let decoded = percent_decode(v);
                        if named || is_personal(&decoded) || looks_like_email(&name) {
                            *count += 1;
                            Cow::Owned(format!("{}={PLACEHOLDER}", redact_key(key, &name)))
                        } else {
                            Cow::Borrowed(pair)
                        }
                    }
                    // A bare key, or `key=`: the key itself may be the email (`?jane@example.com`).
                    _ if looks_like_email(&name) || is_phone(&name) => {
                        *count += 1;
                        Cow::Owned(match value {
                            Some(_) => format!("{PLACEHOLDER}="),
                            None => PLACEHOLDER.to_string(),
                        })
                    }
                    _ => Cow::Borrowed(pair),
                }
            })
            .collect::<Vec<_>>()
            .join("&")
    }

    /// A GA4 hit's parameters (`v=2&dl=https%3A%2F%2F…&dr=…`) with the page location and referrer redacted,
    /// re-encoded as gtag encodes them; the other parameters as they came.
    pub fn ga4_params(&self, text: &str) -> String {
        if !text.contains("dl=") && !text.contains("dr=") {
            return text.to_string();
        }
        text.split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key @ ("dl" | "dr"), value)) => match self.url(&percent_decode(value)) {
                    Some((url, _)) => {
                        Cow::Owned(format!("{key}={}", crate::hit::field::percent_encode(&url)))
                    }
                    None => Cow::Borrowed(pair),
                },
                _ => Cow::Borrowed(pair),
            })
            .collect::<Vec<_>>()
            .join("&")
    }

    /// The hit with its page URL and referrer redacted (borrowed as it is when nothing needed it), and how many
    /// values were replaced.
    pub fn hit<'h>(&self, hit: &'h Hit) -> (Cow<'h, Hit>, usize) {
        let url = hit.page.url.as_deref().and_then(|u| self.url(u));
        let referrer = hit.page.referrer.as_deref().and_then(|u| self.url(u));
        if url.is_none() && referrer.is_none() {
            return (Cow::Borrowed(hit), 0);
        }
        let mut hit = hit.clone();
        let mut count = 0;
        if let Some((u, n)) = url {
            hit.page.url = Some(u);
            count += n;
        }
        if let Some((u, n)) = referrer {
            hit.page.referrer = Some(u);
            count += n;
        }
        (Cow::Owned(hit), count)
    }
}

/// A key that is itself an email is replaced too.
fn redact_key<'a>(key: &'a str, name: &str) -> &'a str {
    if looks_like_email(name) {
        PLACEHOLDER
    } else {
        key
    }
}

/// Path segments that hold an email address (`/account/jane%40example.com`).
fn redact_path<'a>(path: &'a str, count: &mut usize) -> Cow<'a, str> {
    if !path.contains('@') && !path.contains("%40") {
        return Cow::Borrowed(path);
    }
    // After `scheme://`, the first segment is the host (and any `user@`), which is not a page's data.
    let (head, rest) = match path.find("://") {
        Some(i) => {
            let after = i + 3;
            let end = path[after..].find('/').map_or(path.len(), |j| after + j);
            path.split_at(end)
        }
        None => ("", path),
    };
    let mut changed = false;
    let segments: Vec<&str> = rest
        .split('/')
        .map(|s| {
            if looks_like_email(&percent_decode(s)) {
                changed = true;
                *count += 1;
                PLACEHOLDER
            } else {
                s
            }
        })
        .collect();
    if !changed {
        return Cow::Borrowed(path);
    }
    Cow::Owned(format!("{head}{}", segments.join("/")))
}

/// A value that looks like an email address or a phone number.
pub fn is_personal(value: &str) -> bool {
    looks_like_email(value) || is_phone(value)
}

/// `local@domain.tld`, anywhere in the value (`mailto:jane@example.com`, `Jane <jane@example.com>`).
pub fn looks_like_email(value: &str) -> bool {
    value.match_indices('@').any(|(i, _)| {
        let local = value[..i].trim_end();
        let domain = value[i + 1..].trim_start();
        let domain = domain
            .split(|c: char| c.is_whitespace() || matches!(c, '>' | ',' | ';' | '&' | '/' | '?'))
            .next()
            .unwrap_or("");
        !local.is_empty()
            && !local.ends_with(char::is_whitespace)
            && domain
                .split_once('.')
                .is_some_and(|(name, tld)| !name.is_empty() && !tld.is_empty())
    })
}

/// A phone number as people write one: `+` and 7–15 digits (`+1 650 555 1212`, `+44 20 7946 0958`), or 10–15
/// digits with the usual separators (`(650) 555-1212`, `650.555.1212`). Digits alone are not taken for one:
/// order numbers and timestamps look the same.
pub fn is_phone(value: &str) -> bool {
    let v = value.trim();
    let (international, rest) = match v.strip_prefix('+') {
        Some(r) => (true, r),
        None => match v.strip_prefix("00") {
            Some(r) if r.starts_with(|c: char| c.is_ascii_digit() && c != '0') => (true, r),
            _ => (false, v),
        },
    };
    if rest.is_empty()
        || !rest
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')' | '.' | '+' | '/'))
    {
        return false;
    }
    let digits = rest.chars().filter(char::is_ascii_digit).count();
    let separated = rest.chars().any(|c| !c.is_ascii_digit());
    if international {
        (7..=15).contains(&digits)
    } else {
        separated && (10..=15).contains(&digits) && !looks_like_a_date(rest)
    }
}

/// `2026-12-07`, `07.12.2026`: a year and two short groups, a date rather than a phone.
fn looks_like_a_date(v: &str) -> bool {
    let groups: Vec<usize> = v
        .split(['-', '.', '/', ' '])
        .filter(|g| !g.is_empty())
        .map(str::len)
        .collect();
    matches!(groups.as_slice(), [4, 1..=2, 1..=2] | [1..=2, 1..=2, 4])
}

/// `%40` → `@`; `+` stays `+` (a phone's `+` is often sent unencoded). Bad escapes are kept as they are.
fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redact(url: &str) -> String {
        Redaction::default()
            .url(url)
            .map_or_else(|| url.to_string(), |(u, _)| u)
    }

    #[test]
    fn emails_and_phones_in_a_query_are_replaced_and_attribution_is_kept() {
        let cases = [
            // The example, as a thank-you page writes it.
            (
                "https://shop.example.com/thank-you?email=jane%40example.com&phone=%2B16505551212&o=1001",
                "https://shop.example.com/thank-you?email=(redacted)&phone=(redacted)&o=1001",
            ),
            // Caught by the value, whatever the parameter's name.
            (
                "https://s.example/t?contact=jane@example.com&x=1",
                "https://s.example/t?contact=(redacted)&x=1",
            ),
            ("https://s.example/t?m=%2B44%2020%207946%200958", "https://s.example/t?m=(redacted)"),
            ("https://s.example/t?m=(650)%20555-1212", "https://s.example/t?m=(redacted)"),
            ("https://s.example/t?m=+16505551212", "https://s.example/t?m=(redacted)"),
            // Named in redact_query (default: email, e, phone, tel), whatever the value; names without case.
            ("https://s.example/t?E=abc&TEL=5551212", "https://s.example/t?E=(redacted)&TEL=(redacted)"),
            // The key itself is the email.
            ("https://s.example/t?jane@example.com", "https://s.example/t?(redacted)"),
            ("https://s.example/t?jane%40example.com=1", "https://s.example/t?(redacted)=(redacted)"),
            // In the fragment, and in a path segment.
            ("https://s.example/t#email=jane@example.com", "https://s.example/t#email=(redacted)"),
            (
                "https://s.example/account/jane%40example.com/orders?x=1",
                "https://s.example/account/(redacted)/orders?x=1",
            ),
            // Click ids and utm_* are kept, even when a value looks personal.
            (
                "https://s.example/t?fbclid=IwAR1&oppref=opp_9&gclid=Cj0&utm_source=news@list.example&email=a@b.co",
                "https://s.example/t?fbclid=IwAR1&oppref=opp_9&gclid=Cj0&utm_source=news@list.example&email=(redacted)",
            ),
        ];
        for (url, expected) in cases {
            assert_eq!(redact(url), expected, "{url}");
        }
    }

    #[test]
    fn ordinary_urls_are_left_as_they_are() {
        for url in [
            "https://shop.example.com/thank-you?o=1001",
            // Digits alone are order numbers, not phones; dates are dates.
            "https://s.example/t?order=6505551212&ts=1733580000000",
            "https://s.example/t?d=2026-12-07&d2=07.12.2026",
            "https://s.example/@brand/items?q=boots",
            "https://user@s.example/t",
            "https://s.example/t?email=",
            "https://s.example/t?q=a%ZZb&r=%",
            "https://s.example/",
            "",
        ] {
            assert_eq!(Redaction::default().url(url), None, "{url}");
        }
    }

    #[test]
    fn the_config_chooses_the_named_parameters() {
        let r = Redaction::new(["customer"]);
        assert_eq!(
            r.url("https://s.example/t?customer=42&email=x"),
            Some(("https://s.example/t?customer=(redacted)&email=x".into(), 1)),
            "email is no longer named, and its value is no address"
        );
        assert_eq!(
            Redaction::new(Vec::<String>::new()).url("https://s.example/t?email=x"),
            None
        );
    }

    #[test]
    fn a_hit_is_copied_only_when_something_is_redacted() {
        let mut hit = Hit::default();
        hit.page.url = Some("https://s.example/t?o=1".into());
        let (same, n) = Redaction::default().hit(&hit);
        assert!(matches!(same, Cow::Borrowed(_)));
        assert_eq!(n, 0);
        hit.page.referrer = Some("https://mail.example/?to=jane@example.com&phone=1".into());
        let (redacted, n) = Redaction::default().hit(&hit);
        assert_eq!(n, 2);
        assert_eq!(
            redacted.page.referrer.as_deref(),
            Some("https://mail.example/?to=(redacted)&phone=(redacted)")
        );
        assert_eq!(redacted.page.url, hit.page.url);
    }

    #[test]
    fn a_ga4_hit_loses_the_email_in_its_page_location_and_referrer() {
        let query = "v=2&tid=G-1&en=purchase&dl=https%3A%2F%2Fshop.example.com%2Fty%3Femail%3Djane%2540example.com%26o%3D1&dr=https%3A%2F%2Fmail.example%2F%3Fto%3D%252B16505551212&dt=Thanks";
        let out = Redaction::default().ga4_params(query);
        assert_eq!(
            out,
            "v=2&tid=G-1&en=purchase&dl=https%3A%2F%2Fshop.example.com%2Fty%3Femail%3D%28redacted%29%26o%3D1&dr=https%3A%2F%2Fmail.example%2F%3Fto%3D%28redacted%29&dt=Thanks"
        );
        assert!(!out.contains("jane") && !out.contains("6505551212"));
        let plain = "v=2&tid=G-1&dl=https%3A%2F%2Fshop.example.com%2F";
        assert_eq!(Redaction::default().ga4_params(plain), plain);
    }

    #[test]
    fn phones_as_people_write_them() {
        for yes in [
            "+1 650 555 1212",
            "+16505551212",
            "0044 20 7946 0958",
            "(650) 555-1212",
            "650.555.1212",
            "650-555-1212",
        ] {
            assert!(is_phone(yes), "{yes}");
        }
        for no in [
            "6505551212",
            "+12",
            "1001",
            "2026-12-07",
            "12/07/2026",
            "+1 650 555 1212 ext",
            "00",
            "1.5",
            "-",
        ] {
            assert!(!is_phone(no), "{no}");
        }
    }
}
