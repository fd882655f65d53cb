//! Field paths: how triggers and mappings name a part of the hit (`page.url`, `data.value`, `context.cookies._fbc`).

use crate::hit::Hit;
use serde_json::Value;
use std::borrow::Cow;

/// A validated path into a hit.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum FieldPath {
    Event,
    EventId,
    Time,
    Source,
    PageUrl,
    PageReferrer,
    PageTitle,
    /// The URL's path, without query or fragment.
    PagePath,
    PageHost,
    /// The whole query string, without `?`.
    PageQueryString,
    /// One query parameter, percent-decoded.
    PageQuery(String),
    User(String),
    /// `data.a.b`: a path into the free-form data object.
    Data(Vec<String>),
    ContextIp,
    ContextUserAgent,
    Cookie(String),
    Consent(String),
    Header(String),
}

const USER_FIELDS: [&str; 11] = [
    "email",
    "phone",
    "first_name",
    "last_name",
    "date_of_birth",
    "gender",
    "city",
    "state",
    "zip",
    "country",
    "external_id",
];

/// Every fixed path a config may name; `data.*`, `page.query.*`, `context.cookies.*`, `context.consent.*` and
/// `context.headers.*` take any name after the prefix.
pub const KNOWN_PATHS: &[&str] = &[
    "event",
    "event_id",
    "time",
    "source",
    "page.url",
    "page.referrer",
    "page.title",
    "page.path",
    "page.host",
    "page.query",
    "page.query.<name>",
    "user.email",
    "user.phone",
    "user.first_name",
    "user.last_name",
    "user.date_of_birth",
    "user.gender",
    "user.city",
    "user.state",
    "user.zip",
    "user.country",
    "user.external_id",
    "data.<name>",
    "context.ip",
    "context.user_agent",
    "context.cookies.<name>",
    "context.consent.<name>",
    "context.headers.<name>",
];

impl FieldPath {
    /// Parses a path as written in the config; the error is a hint for the user.
    pub fn parse(text: &str) -> Result<FieldPath, String> {
        let rest_of = |prefix: &str| text.strip_prefix(prefix).filter(|r| !r.is_empty());
        let path = match text {
            "event" => FieldPath::Event,
            "event_id" => FieldPath::EventId,
            "time" => FieldPath::Time,
            "source" => FieldPath::Source,
            "page.url" => FieldPath::PageUrl,
            "page.referrer" => FieldPath::PageReferrer,
            "page.title" => FieldPath::PageTitle,
            "page.path" => FieldPath::PagePath,
            "page.host" => FieldPath::PageHost,
            "page.query" => FieldPath::PageQueryString,
            "context.ip" => FieldPath::ContextIp,
            "context.user_agent" => FieldPath::ContextUserAgent,
            _ => {
                if let Some(name) = rest_of("page.query.") {
                    FieldPath::PageQuery(name.to_string())
                } else if let Some(name) = rest_of("user.") {
                    match USER_FIELDS.iter().find(|f| **f == name) {
                        Some(f) => FieldPath::User(f.to_string()),
                        None => return Err(unknown(text)),
                    }
                } else if let Some(path) = rest_of("data.") {
                    if path.split('.').any(str::is_empty) {
                        return Err(unknown(text));
                    }
                    FieldPath::Data(path.split('.').map(str::to_string).collect())
                } else if let Some(name) = rest_of("context.cookies.") {
                    FieldPath::Cookie(name.to_string())
                } else if let Some(name) = rest_of("context.consent.") {
                    FieldPath::Consent(name.to_string())
                } else if let Some(name) = rest_of("context.headers.") {
                    FieldPath::Header(name.to_ascii_lowercase())
                } else {
                    return Err(unknown(text));
                }
            }
        };
        Ok(path)
    }

    /// The value at this path, or `None` when the hit does not have it.
    pub fn resolve<'h>(&self, hit: &'h Hit) -> Option<Cow<'h, Value>> {
        let text = |s: &Option<String>| s.as_ref().map(|s| Cow::Owned(Value::String(s.clone())));
        let str_val = |s: &str| Some(Cow::Owned(Value::String(s.to_string())));
        match self {
            FieldPath::Event => str_val(&hit.event),
            FieldPath::EventId => text(&hit.event_id),
            FieldPath::Time => hit
                .time
                .and_then(serde_json::Number::from_f64)
                .map(|n| Cow::Owned(Value::Number(n))),
            FieldPath::Source => str_val(hit.source.as_str()),
            FieldPath::PageUrl => text(&hit.page.url),
            FieldPath::PageReferrer => text(&hit.page.referrer),
            FieldPath::PageTitle => text(&hit.page.title),
            FieldPath::PagePath => str_val(UrlParts::parse(hit.page.url.as_deref()?).path),
            FieldPath::PageHost => str_val(UrlParts::parse(hit.page.url.as_deref()?).host),
            FieldPath::PageQueryString => str_val(UrlParts::parse(hit.page.url.as_deref()?).query?),
            FieldPath::PageQuery(name) => UrlParts::parse(hit.page.url.as_deref()?)
                .query_param(name)
                .map(|v| Cow::Owned(Value::String(v))),
            FieldPath::User(field) => text(user_field(hit, field)),
            FieldPath::Data(path) => {
                let mut value = hit.data.get(&path[0])?;
                for key in &path[1..] {
                    value = match value {
                        Value::Object(map) => map.get(key)?,
                        Value::Array(items) => items.get(key.parse::<usize>().ok()?)?,
                        _ => return None,
                    };
                }
                Some(Cow::Borrowed(value))
            }
            FieldPath::ContextIp => text(&hit.context.ip),
            FieldPath::ContextUserAgent => text(&hit.context.user_agent),
            FieldPath::Cookie(name) => hit.context.cookies.get(name).and_then(|v| str_val(v)),
            FieldPath::Consent(name) => hit.context.consent.get(name).map(Cow::Borrowed),
            FieldPath::Header(name) => hit.context.headers.get(name).and_then(|v| str_val(v)),
        }
    }
}

fn user_field<'h>(hit: &'h Hit, field: &str) -> &'h Option<String> {
    let u = &hit.user;
    match field {
        "email" => &u.email,
        "phone" => &u.phone,
        "first_name" => &u.first_name,
        "last_name" => &u.last_name,
        "date_of_birth" => &u.date_of_birth,
        "gender" => &u.gender,
        "city" => &u.city,
        "state" => &u.state,
        "zip" => &u.zip,
        "country" => &u.country,
        _ => &u.external_id,
    }
}

fn unknown(text: &str) -> String {
    let known: Vec<&str> = KNOWN_PATHS.to_vec();
    match crate::base::diagnostic::did_you_mean(text, known.iter().copied()) {
        Some(best) => format!("did you mean \"{best}\"? Fields start with event, page., user., data. or context."),
        None => "fields start with event, event_id, time, source, page., user., data. or context. \
                 (for example \"page.url\", \"user.email\", \"data.value\", \"context.cookies._fbc\")"
            .to_string(),
    }
}

/// The parts of a URL that triggers look at. Not a general URL parser: no normalization, no IDNA.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UrlParts<'a> {
    pub host: &'a str,
    pub path: &'a str,
    pub query: Option<&'a str>,
}

impl<'a> UrlParts<'a> {
    pub fn parse(url: &'a str) -> UrlParts<'a> {
        let no_fragment = url.split('#').next().unwrap_or("");
        let (before_query, query) = match no_fragment.split_once('?') {
            Some((b, q)) => (b, Some(q)),
            None => (no_fragment, None),
        };
        let (host, path) = match before_query.split_once("://") {
            Some((_, rest)) => match rest.find('/') {
                Some(i) => (&rest[..i], &rest[i..]),
                None => (rest, "/"),
            },
            None => ("", before_query),
        };
        let host = host.rsplit('@').next().unwrap_or(host);
        UrlParts { host, path, query }
    }

    /// The first value of a query parameter, percent-decoded (`+` is a space).
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query?.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k) == name).then(|| percent_decode(v))
        })
    }
}

/// Decodes `%XX` escapes and `+`; invalid escapes are kept as they are, invalid UTF-8 is replaced.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex_val(bytes[i + 1]), hex_val(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_val(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Percent-encodes everything but unreserved characters (RFC 3986), for ids placed in URLs.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit() -> Hit {
        Hit::from_json(
            br#"{"event":"Purchase","page":{"url":"https://shop.example.com/thank-you/?oppref=abc%2B1&utm=x+y#top"},
                "data":{"value":149,"order":{"items":[{"sku":"A"}]}},
                "context":{"cookies":{"_fbc":"fb.1.2.x"},"headers":{"cf-ipcountry":"US"}}}"#,
        )
        .unwrap()
    }

    #[test]
    fn resolves_each_kind_of_path() {
        let h = hit();
        let cases = [
            ("event", Some(Value::from("Purchase"))),
            ("page.path", Some(Value::from("/thank-you/"))),
            ("page.host", Some(Value::from("shop.example.com"))),
            ("page.query.oppref", Some(Value::from("abc+1"))),
            ("page.query.utm", Some(Value::from("x y"))),
            ("page.query.missing", None),
            ("data.value", Some(Value::from(149))),
            ("data.order.items.0.sku", Some(Value::from("A"))),
            ("data.order.nope", None),
            ("context.cookies._fbc", Some(Value::from("fb.1.2.x"))),
            ("context.headers.CF-IPCountry", Some(Value::from("US"))),
            ("user.email", None),
        ];
        for (path, expected) in cases {
            let p = FieldPath::parse(path).unwrap();
            assert_eq!(p.resolve(&h).map(Cow::into_owned), expected, "{path}");
        }
    }

    #[test]
    fn unknown_paths_get_a_hint() {
        assert!(FieldPath::parse("pag.url")
            .unwrap_err()
            .contains("\"page.url\""));
        assert!(FieldPath::parse("user.mail")
            .unwrap_err()
            .contains("\"user.email\""));
        assert!(FieldPath::parse("data.").is_err());
        assert!(FieldPath::parse("data.a..b").is_err());
    }

    #[test]
    fn percent_decoding_keeps_invalid_escapes() {
        assert_eq!(percent_decode("a%20b%zz%"), "a b%zz%");
        assert_eq!(percent_decode("%C3%A9"), "é");
        assert_eq!(percent_decode("%"), "%");
        assert_eq!(percent_decode("%4"), "%4");
    }
}
