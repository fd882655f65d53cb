//! Intake: turns a browser or backend request (JSON, a sendBeacon text/plain body, or a GET image beacon's
//! query) into hits, and enriches them with what only the edge knows. Pure: the shell passes the facts.

use crate::field::percent_decode;
use crate::hit::{Hit, Source};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Most hits accepted in one request body.
pub const MAX_HITS_PER_REQUEST: usize = 100;

/// What the shell read off the request.
#[derive(Debug, Clone, Default)]
pub struct RequestFacts<'a> {
    pub method: &'a str,
    pub content_type: Option<&'a str>,
    pub body: &'a [u8],
    /// The raw query string, without `?`.
    pub query: Option<&'a str>,
    /// `CF-Connecting-IP`: the visitor's address, IPv4 or IPv6, as Cloudflare saw it.
    pub client_ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub cookie_header: Option<&'a str>,
    pub referer: Option<&'a str>,
    /// Headers exposed to triggers (lowercase name → value), e.g. `cf-ipcountry`.
    pub exposed_headers: BTreeMap<String, String>,
    pub max_body_bytes: usize,
}

/// A refused request: HTTP status, a short machine code and a sentence for the developer.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub status: u16,
    pub error: &'static str,
    pub detail: String,
}

impl Refusal {
    pub fn new(status: u16, error: &'static str, detail: impl Into<String>) -> Refusal {
        Refusal {
            status,
            error,
            detail: detail.into(),
        }
    }

    pub fn body(&self) -> Value {
        json!({"error": self.error, "detail": self.detail})
    }
}

/// Parses the hits of a browser request and fills in the edge's view of the visitor.
pub fn browser_hits(facts: &RequestFacts, now_ms: i64) -> Result<Vec<Hit>, Refusal> {
    let mut hits = match facts.method {
        "GET" | "HEAD" => vec![hit_from_query(facts.query.unwrap_or(""))?],
        "POST" => {
            check_size(facts)?;
            check_content_type(facts)?;
            parse_body(facts)?
        }
        other => {
            return Err(Refusal::new(
                405,
                "method_not_allowed",
                format!("{other} is not accepted here; use POST or GET"),
            ))
        }
    };
    let cookies = parse_cookies(facts.cookie_header.unwrap_or(""));
    for hit in &mut hits {
        hit.source = Source::Browser;
        // The edge's own view wins: a page cannot forge the visitor's IP, user agent or cookies.
        hit.context.ip = facts
            .client_ip
            .map(str::to_string)
            .or(hit.context.ip.take());
        hit.context.user_agent = facts
            .user_agent
            .map(str::to_string)
            .or(hit.context.user_agent.take());
        for (k, v) in &cookies {
            hit.context.cookies.insert(k.clone(), v.clone());
        }
        hit.context.headers = facts.exposed_headers.clone();
        if hit.page.url.is_none() {
            hit.page.url = facts.referer.map(str::to_string);
        }
        if hit.time.is_none() {
            hit.time = Some(now_ms as f64);
        }
    }
    Ok(hits)
}

fn check_size(facts: &RequestFacts) -> Result<(), Refusal> {
    if facts.body.len() > facts.max_body_bytes {
        return Err(Refusal::new(
            413,
            "body_too_large",
            format!(
                "the body is {} bytes; the limit is {}",
                facts.body.len(),
                facts.max_body_bytes
            ),
        ));
    }
    Ok(())
}

fn check_content_type(facts: &RequestFacts) -> Result<(), Refusal> {
    let ct = facts
        .content_type
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    // sendBeacon sends a string as text/plain; fetch sends application/json.
    if !matches!(ct.as_str(), "application/json" | "text/plain" | "") {
        return Err(Refusal::new(
            415,
            "unsupported_content_type",
            format!("content type \"{ct}\" is not accepted; send JSON as application/json or text/plain"),
        ));
    }
    Ok(())
}

/// The body as JSON: within the size limit, UTF-8, not empty, and parseable. Every JSON endpoint shares these.
pub(crate) fn json_body(facts: &RequestFacts) -> Result<Value, Refusal> {
    check_size(facts)?;
    let text = std::str::from_utf8(facts.body)
        .map_err(|e| Refusal::new(400, "invalid_utf8", format!("the body is not UTF-8: {e}")))?;
    if text.trim().is_empty() {
        return Err(Refusal::new(
            400,
            "empty_body",
            "the body is empty; send a hit such as {\"event\":\"PageView\"}",
        ));
    }
    serde_json::from_slice(text.as_bytes())
        .map_err(|e| Refusal::new(400, "invalid_json", format!("the body is not JSON: {e}")))
}

fn parse_body(facts: &RequestFacts) -> Result<Vec<Hit>, Refusal> {
    let items = match json_body(facts)? {
        Value::Array(items) => {
            if items.len() > MAX_HITS_PER_REQUEST {
                return Err(Refusal::new(
                    413,
                    "too_many_hits",
                    format!("at most {MAX_HITS_PER_REQUEST} hits per request"),
                ));
            }
            items
        }
        Value::Object(mut obj) if obj.contains_key("events") && !obj.contains_key("event") => {
            match obj.remove("events") {
                Some(Value::Array(items)) if items.len() <= MAX_HITS_PER_REQUEST => items,
                _ => {
                    return Err(Refusal::new(
                        400,
                        "invalid_hit",
                        format!("\"events\" must be a list of at most {MAX_HITS_PER_REQUEST} hits"),
                    ))
                }
            }
        }
        other => vec![other],
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            Hit::from_value(v)
                .map_err(|e| Refusal::new(400, "invalid_hit", format!("hit {i}: {e}")))
        })
        .collect()
}

/// A GET beacon: `?event=Purchase&event_id=…&url=…&value=149&currency=USD&data.coupon=X&user.email=…`.
pub fn hit_from_query(query: &str) -> Result<Hit, Refusal> {
    let mut obj = Map::new();
    let mut page = Map::new();
    let mut user = Map::new();
    let mut data = Map::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (percent_decode(k), percent_decode(v));
        match k.as_str() {
            "event" | "e" => obj.insert("event".into(), v.into()),
            "event_id" | "id" => obj.insert("event_id".into(), v.into()),
            "time" => obj.insert(
                "time".into(),
                crate::number::parse_f64(&v)
                    .map(Value::from)
                    .unwrap_or(Value::from(v)),
            ),
            "url" => page.insert("url".into(), v.into()),
            "referrer" | "ref" => page.insert("referrer".into(), v.into()),
            "value" | "currency" => data.insert(k, v.into()),
            _ => {
                if let Some(name) = k.strip_prefix("data.") {
                    data.insert(name.to_string(), v.into())
                } else if let Some(name) = k.strip_prefix("user.") {
                    user.insert(name.to_string(), v.into())
                } else {
                    None // cache busters and unknown parameters are ignored
                }
            }
        };
    }
    if !obj.contains_key("event") {
        return Err(Refusal::new(
            400,
            "invalid_hit",
            "the query has no event; add ?event=PageView",
        ));
    }
    obj.insert("page".into(), page.into());
    obj.insert("user".into(), user.into());
    obj.insert("data".into(), data.into());
    Hit::from_value(Value::Object(obj)).map_err(|e| Refusal::new(400, "invalid_hit", e.to_string()))
}

/// `a=1; b=2` → map. Values keep their percent-encoding (cookies are opaque to us).
pub fn parse_cookies(header: &str) -> BTreeMap<String, String> {
    header
        .split(';')
        .filter_map(|p| {
            let (k, v) = p.split_once('=')?;
            let k = k.trim();
            (!k.is_empty()).then(|| (k.to_string(), v.trim().trim_matches('"').to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts<'a>(method: &'a str, ct: Option<&'a str>, body: &'a [u8]) -> RequestFacts<'a> {
        RequestFacts {
            method,
            content_type: ct,
            body,
            client_ip: Some("2001:db8::1"),
            user_agent: Some("Edge-UA"),
            cookie_header: Some("_fbp=fb.1.1.2; __oppref=opp"),
            referer: Some("https://shop.example.com/p"),
            max_body_bytes: 1024,
            ..RequestFacts::default()
        }
    }

    #[test]
    fn json_and_beacon_bodies_become_enriched_hits() {
        for ct in [
            Some("application/json"),
            Some("text/plain;charset=UTF-8"),
            None,
        ] {
            let body = br#"{"event":"Purchase","context":{"ip":"6.6.6.6","user_agent":"forged"}}"#;
            let hits = browser_hits(&facts("POST", ct, body), 1000).unwrap();
            let h = &hits[0];
            assert_eq!(
                h.context.ip.as_deref(),
                Some("2001:db8::1"),
                "the edge's IP wins"
            );
            assert_eq!(h.context.user_agent.as_deref(), Some("Edge-UA"));
            assert_eq!(h.context.cookies["__oppref"], "opp");
            assert_eq!(
                h.page.url.as_deref(),
                Some("https://shop.example.com/p"),
                "Referer fills a missing URL"
            );
            assert_eq!(h.time, Some(1000.0));
            assert_eq!(h.source, Source::Browser);
        }
    }

    #[test]
    fn a_get_beacon_reads_its_query() {
        let q = "event=Purchase&event_id=ord-1&url=https%3A%2F%2Fs.example%2Fty&value=149&currency=USD&data.coupon=X&_=123";
        let mut f = facts("GET", None, b"");
        f.query = Some(q);
        let h = &browser_hits(&f, 0).unwrap()[0];
        assert_eq!(h.event, "Purchase");
        assert_eq!(h.event_id.as_deref(), Some("ord-1"));
        assert_eq!(h.page.url.as_deref(), Some("https://s.example/ty"));
        assert_eq!(h.data["value"], "149");
        assert_eq!(h.data["coupon"], "X");
    }

    #[test]
    fn bad_requests_get_a_status_and_a_reason() {
        let big = vec![b' '; 2000];
        let many = format!("[{}]", vec![r#"{"event":"A"}"#; 101].join(","));
        let cases: Vec<(RequestFacts, u16, &str)> = vec![
            (
                facts("POST", Some("application/json"), &big),
                413,
                "body_too_large",
            ),
            (
                facts("POST", Some("application/xml"), b"<a/>"),
                415,
                "unsupported_content_type",
            ),
            (
                facts("POST", Some("application/json"), b"\xff\xfe"),
                400,
                "invalid_utf8",
            ),
            (
                facts("POST", Some("application/json"), b"{"),
                400,
                "invalid_json",
            ),
            (
                facts("POST", Some("application/json"), b""),
                400,
                "empty_body",
            ),
            (
                facts("POST", Some("application/json"), br#"{"evnt":"A"}"#),
                400,
                "invalid_hit",
            ),
            (
                RequestFacts {
                    max_body_bytes: 1 << 20,
                    ..facts("POST", Some("application/json"), many.as_bytes())
                },
                413,
                "too_many_hits",
            ),
            (facts("PUT", None, b""), 405, "method_not_allowed"),
            (facts("GET", None, b""), 400, "invalid_hit"),
        ];
        for (f, status, error) in cases {
            let r = browser_hits(&f, 0).unwrap_err();
            assert_eq!((r.status, r.error), (status, error), "{}", r.detail);
            assert!(!r.detail.is_empty());
        }
    }

    #[test]
    fn deeply_nested_json_is_refused_not_a_crash() {
        let deep = format!(
            "{{\"event\":\"A\",\"data\":{{\"x\":{}{}}}}}",
            "[".repeat(5000),
            "]".repeat(5000)
        );
        let mut f = facts("POST", Some("application/json"), deep.as_bytes());
        f.max_body_bytes = 1 << 20;
        assert_eq!(browser_hits(&f, 0).unwrap_err().error, "invalid_json");
    }
}
