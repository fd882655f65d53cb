//! Intake: turns a browser or backend request (JSON, a sendBeacon text/plain body, or a GET image beacon's
//! query) into hits, and enriches them with what only the edge knows. Pure: the shell passes the facts.

pub mod cors;
pub mod ga4;
pub mod preview_link;
pub mod respond;
pub mod sources;

use crate::hit::field::percent_decode;
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
    enrich(hits.iter_mut(), facts, now_ms);
    Ok(hits)
}

/// Fills in the edge's view of the visitor, for hits from a browser (the pixel's, GA4's): the edge's own IP, user
/// agent and cookies win over anything the page wrote, and `page.url` and `time` get their fallbacks.
pub fn enrich<'h>(hits: impl IntoIterator<Item = &'h mut Hit>, facts: &RequestFacts, now_ms: i64) {
    let cookies = parse_cookies(facts.cookie_header.unwrap_or(""));
    for hit in hits {
        hit.source = Source::Browser;
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
}

/// A body over the limit is refused (413), whichever endpoint read it.
pub(crate) fn check_size(facts: &RequestFacts) -> Result<(), Refusal> {
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

/// A GET beacon: `?n=Purchase&i=…&u=…&value=149&currency=USD&d.coupon=X&user.email=…`. The pixel sends the
/// short names (`n` event, `i` event_id, `u` url, `d.` data) because EasyPrivacy blocks `?event=pageview&`;
/// the long ones (`event`/`e`, `event_id`/`id`, `url`, `data.`) are still read, for cached pixels and
/// hand-built beacons.
pub fn hit_from_query(query: &str) -> Result<Hit, Refusal> {
    let mut obj = Map::new();
    let mut page = Map::new();
    let mut user = Map::new();
    let mut data = Map::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (percent_decode(k), percent_decode(v));
        match k.as_str() {
            "n" | "event" | "e" => obj.insert("event".into(), v.into()),
            "i" | "event_id" | "id" => obj.insert("event_id".into(), v.into()),
            "time" => obj.insert(
                "time".into(),
                crate::base::number::parse_f64(&v)
                    .map(Value::from)
                    .unwrap_or(Value::from(v)),
            ),
            "u" | "url" => page.insert("url".into(), v.into()),
            "referrer" | "ref" => page.insert("referrer".into(), v.into()),
            "value" | "currency" => data.insert(k, v.into()),
            _ => {
                if let Some(name) = k.strip_prefix("d.").or_else(|| k.strip_prefix("data.")) {
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
            "the query has no event; add ?n=PageView (or ?event=PageView)",
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
    fn the_short_get_names_read_as_the_long_ones() {
        let page = "https%3A%2F%2Fs.example%2Fty%3Fa%3D1%26b%3D2";
        let cases = [
            (
                format!("n=Purchase&i=ord-1&u={page}&d.value=149&d.currency=USD&d.coupon=X&user.email=a%40b.co&_=1"),
                format!("event=Purchase&event_id=ord-1&url={page}&data.value=149&data.currency=USD&data.coupon=X&user.email=a%40b.co&_=1"),
            ),
            (
                "n=PageView&i=x".to_string(),
                "e=PageView&id=x".to_string(),
            ),
            (
                "n=Lead&value=5&currency=EUR".to_string(),
                "event=Lead&data.value=5&data.currency=EUR".to_string(),
            ),
        ];
        for (short, long) in cases {
            let (a, b) = (
                hit_from_query(&short).unwrap(),
                hit_from_query(&long).unwrap(),
            );
            assert_eq!(a, b, "{short} vs {long}");
            assert_ne!(a, Hit::default(), "{short} was read at all");
        }
        let h = hit_from_query(&format!("n=Purchase&i=ord-1&u={page}&d.coupon=X")).unwrap();
        assert_eq!(h.event_id.as_deref(), Some("ord-1"));
        assert_eq!(h.page.url.as_deref(), Some("https://s.example/ty?a=1&b=2"));
        assert_eq!(h.data["coupon"], "X");
        assert!(!h.data.contains_key("d.coupon"));
    }

    /// EasyPrivacy as uBlock Origin 1.67.0 ships it (Debian's webext-ublock-origin package,
    /// `assets/thirdparties/easylist/easyprivacy.txt`, its `easyprivacy/easyprivacy_general.txt` part of
    /// github.com/easylist/easylist): line number and rule. These are its rules that begin with `?`, `&` or `=`,
    /// or name a parameter the beacon uses or used (`event`, `e`, `ev`, `event_id`, `id`, `url`, `n`, `i`, `u`,
    /// `d`, `d.*`, `data.*`, `user.*`), and can apply to a first-party image: rules limited to scripts, XHR,
    /// third parties or other sites are left out. `?event=pageview&` (2886) is the
    /// one that blocked the old beacon. When this list was taken, the new beacons below (every standard event,
    /// on paths `/r/e`, `/e`, `/t/e`, `/collect/e`, `/api/e`) also matched none of the 54,785 lines of that
    /// file, nor EasyList or uBlock's own privacy and filter lists; `?ev=` is Meta's pixel's (see 22).
    const EASYPRIVACY_QUERY_RULES: &str = "
20 &&sub19=undefined&sub20=undefined
21 &action=js_stats
22 &ev=PageView&
23 &event_name=view_item_list&
24 &EventType=DataDealImpression&
25 &EventType=Impression&
26 &hitType=pageview&
29 &t=pageview&
276 /analytics/?event=
649 /collect?d=
652 /collect?event=
720 /counter?id=
845 /err/js/?url=
866 /event?event_id=
1195 /i.php?i=
1196 /i.png?id=
1199 /i?e=pv&url=
1238 /in.gif?url=
1362 /ljcounter/?d=
1413 /log?event=
1415 /log?id=
1426 /log_e.php?id=
1641 /optimizerApi?event=
1728 /ping/?url=
2007 /s.png?event=
2177 /stat?event=
2198 /statistics/visit?id=
2250 /stats?ev=
2251 /stats?event=
2382 /track/?*&event=
2407 /track?*&event=
2411 /track?event=
2412 /track?event_id=
2430 /track_video.php?id=
2477 /Tracking?id=
2734 /whisper?event=
2783 /wtrack?event=
2875 ?[AQB]&ndh=1&t=
2876 ?action=event&
2877 ?action=impression&
2878 ?action=koko_analytics_collect
2879 ?action=log_promo_impression
2880 ?action=saveViewStat&
2881 ?action=statsjs&
2882 ?action=track_visitor&
2883 ?action=tracking_script
2884 ?event=impressions&
2885 ?event=log&
2886 ?event=pageview&
2887 ?event=performance&
2888 ?event=performancelogger:
2889 ?groupType=engagement&eventType=CLICK&
2890 ?local_ga_js=
2891 ?log=player-*&stats_tkn=
2892 ?log=player_*&stats_tkn=
2893 ?log=stats-
2894 ?log=united-impression&
2895 ?log=xhl-widgets-events&
2896 ?log_performance_metrics
2897 ?logType=impression&
2898 ?logType=trackEvent&
2900 ?sam-item/track-impressions
2901 ?statify_referrer=
2902 ?type=page&event=
2903 ?type=pageview&
2904 ?v=2&tid=G-$~third-party
2905 ?wmcAction=wmcTrack&
2994 &cx=c&gtm=
2995 &ep.analytics_storage=
2996 &event_name=page_view&
2997 &ga_blocked=$image
2998 &l=dataLayer&cx=c
2999 &sst.sw_exp=
3000 .js?id=GTM-
3004 /ns.html?id=GTM-
3006 /tag/proxy?id=G-";

    /// An Adblock Plus URL pattern, anywhere in the URL, case-insensitive (as the list applies it): `*` is any
    /// run of characters, `^` a separator or the end. Options after `$` are dropped.
    fn abp_matches(rule: &str, url: &str) -> bool {
        fn at(p: &[u8], s: &[u8]) -> bool {
            match p.split_first() {
                None => true,
                Some((b'*', rest)) => (0..=s.len()).any(|k| at(rest, &s[k..])),
                Some((b'^', rest)) => match s.split_first() {
                    None => at(rest, s),
                    Some((c, tail)) => {
                        !(c.is_ascii_alphanumeric() || b"_-.%".contains(c)) && at(rest, tail)
                    }
                },
                Some((c, rest)) => s
                    .split_first()
                    .is_some_and(|(d, tail)| c.eq_ignore_ascii_case(d) && at(rest, tail)),
            }
        }
        let pattern = rule.split('$').next().unwrap_or(rule).as_bytes();
        (0..=url.len()).any(|k| at(pattern, &url.as_bytes()[k..]))
    }

    /// JavaScript's `encodeURIComponent`, which the pixel uses.
    fn encode_uri_component(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => (b as char).to_string(),
                b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    }

    /// The image beacon www/pixel.js builds, in the format of `PIXEL_QUERY` (kept in sync by the test below).
    fn pixel_beacon(names: [&str; 4], event: &str, id: &str) -> String {
        let [n, i, u, d] = names;
        let enc = encode_uri_component;
        let mut q = format!(
            "https://shop.example.com/r/e?{n}={}&{i}={}&{u}={}",
            enc(event),
            enc(id),
            enc("https://shop.example.com/checkouts/c/abc/thank-you?utm_source=chatgpt&fbclid=x")
        );
        for (k, v) in [
            ("value", "149"),
            ("currency", "USD"),
            ("order_id", "1001"),
            ("content_ids", "sku-1"),
        ] {
            q += &format!("&{d}{}={}", enc(k), enc(v));
        }
        q
    }

    /// The lines of www/pixel.js that build the image beacon's query.
    const PIXEL_QUERY: [&str; 3] = [
        "var q = 'n=' + encodeURIComponent(hit.event) + '&i=' + encodeURIComponent(hit.event_id) +",
        "'&u=' + encodeURIComponent(hit.page.url);",
        "q += '&d.' + encodeURIComponent(k) + '=' + encodeURIComponent(hit.data[k]);",
    ];

    #[test]
    fn no_standard_events_beacon_matches_an_easyprivacy_rule() {
        let pixel = include_str!("../../www/pixel.js");
        for line in PIXEL_QUERY {
            assert!(pixel.contains(line), "www/pixel.js no longer builds its GET query as {line:?}: update PIXEL_QUERY and this test");
        }
        let rules: Vec<(&str, &str)> = EASYPRIVACY_QUERY_RULES
            .lines()
            .filter_map(|l| l.split_once(' '))
            .collect();
        assert_eq!(rules.len(), 76);
        let blocked_by = |url: &str| -> Vec<&str> {
            rules
                .iter()
                .filter(|(_, rule)| abp_matches(rule, url))
                .map(|(line, _)| *line)
                .collect()
        };
        // The matcher finds what ad blockers find: the old names' PageView beacon, and Meta's `&ev=PageView&`.
        let old = pixel_beacon(["event", "event_id", "url", "data."], "PageView", "x");
        assert_eq!(blocked_by(&old), ["2886"], "{old}");
        assert_eq!(
            blocked_by("https://shop.example.com/r/e?i=1&ev=PageView&u=x"),
            ["22"]
        );
        for event in crate::event::standard::all_names() {
            for id in ["0b6b1a62-5b2f-4d1c-9a57-1c2d3e4f5a6b", "ord-1001"] {
                let url = pixel_beacon(["n", "i", "u", "d."], event, id);
                assert_eq!(blocked_by(&url), Vec::<&str>::new(), "{url}");
            }
        }
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
