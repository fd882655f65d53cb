//! The rolling sample of recent hits that `capi-edge diff A B --hits` runs two configs on, to show what a change
//! would do to real traffic before it is published.
//!
//! A sampled hit is the hit as the pipeline saw it (after intake's enrichment and the click-id cookies), minus what
//! identifies a person:
//! - every customer identifier (`user.*`, and any `data.*` field a tag maps to an identifier or hashes) is replaced
//!   by its normalized SHA-256, the same the pipeline computes, so a mapping produces identical hashes downstream
//!   (a hash passes through normalization unchanged). A value the pipeline would drop (an email without `@`) is
//!   dropped here too;
//! - the IP address and the user agent become fixed placeholders (`203.0.113.1`, a documentation address, and
//!   `capi-edge-sample`), so the platforms' rules that want them still hold;
//! - cookies keep their names. Meta's click ids keep their format (`fb.1.<ms>.capi-edge-sample`), so mappings and
//!   validations behave the same; every other cookie value, and the click ids in the page's and the referrer's
//!   query (`fbclid`, `oppref`, `gclid`, …), becomes `capi-edge-sample`.
//!
//! Kept as they came: the event, its id and time, the page's URL (less click ids), title and referrer, `data`
//! (less mapped identifiers), consent and the coarse location headers (`cf-ipcountry`, …) triggers read.
//! A hit with denied consent (`[site] consent_denied`) is never sampled.

use crate::config::Config;
use crate::hit::field::FieldPath;
use crate::hit::{Hit, Source};
use crate::identity::normalize::{self, Key};
use crate::rules::mapping::{Slot, Target};
use crate::rules::trigger::as_text;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use crate::config::DEFAULT_SAMPLE_ONE_IN;
/// The sample keeps the newest this many hits …
pub const KEEP_ROWS: i64 = 500;
/// … received in the last this many milliseconds (3 days).
pub const KEEP_MS: i64 = 3 * 24 * 3600 * 1000;

/// A sampled hit larger than this (as JSON) is not kept: it rides the queue in the same `sendBatch` as the hit's
/// deliveries (256 KB in all), and a sample must never be what makes a hit's intake fail.
pub const MAX_SAMPLED_BYTES: usize = 16 * 1024;

/// The stand-ins for what identifies a visitor's device.
pub const PLACEHOLDER_IP: &str = "203.0.113.1";
pub const PLACEHOLDER: &str = "capi-edge-sample";

/// Query parameters that carry a click id, replaced in the page's URL and referrer.
const CLICK_ID_PARAMS: [&str; 9] = [
    "fbclid",
    "oppref",
    "gclid",
    "gbraid",
    "wbraid",
    "msclkid",
    "ttclid",
    "twclid",
    "li_fat_id",
];

/// One sampled hit as `GET <prefix>/api/sample` exports it and `capi-edge diff --hits` reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampledHit {
    pub received_ms: i64,
    /// Who sent it: triggers may read `source`, and it is not part of the hit's own JSON.
    pub source: Source,
    pub hit: Value,
}

/// Whether this hit joins the sample: one in `one_in` (0: never), decided by its event id (random when the hit
/// brought none). A hash, not a draw: cheap, no entropy spent, and the same answer in tests every time.
pub fn chosen(one_in: u32, event_id: &str) -> bool {
    // FNV-1a: spreads sequential order ids as well as random ones.
    let hash = event_id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    one_in != 0 && hash % u64::from(one_in) == 0
}

/// The queue message that keeps this hit in the sample, when it is chosen and its consent allows.
pub fn message(
    config: &Config,
    hit: &Hit,
    event_id: &str,
    received_ms: i64,
) -> Option<crate::delivery::DeliveryMessage> {
    if !chosen(config.site.sample_one_in, event_id) {
        return None;
    }
    let sampled = sampled_hit(config, hit)?;
    let message = crate::delivery::DeliveryMessage::sample(
        &sampled,
        &hit.event,
        hit.source.as_str(),
        received_ms,
    );
    (message.payload.len() <= MAX_SAMPLED_BYTES).then_some(message)
}

/// The hit as the sample keeps it, or `None` when its consent is denied. See the module's comment.
pub fn sampled_hit(config: &Config, hit: &Hit) -> Option<Value> {
    if config.site.consent_denied.matches(hit) {
        return None;
    }
    // As the pipeline sees it: no email or phone number left in its URLs (`crate::hit::redact`).
    let mut hit = config.site.redact_query.hit(hit).0.into_owned();
    let country = hit
        .user
        .country
        .as_deref()
        .and_then(|c| normalize::identify(Key::Country, c).ok())
        .and_then(|id| id.normalized);
    // Fields a tag maps to an identifier (or hashes) from `data`: hashed in place, before `user` is.
    let mut mapped: Vec<(&[String], Option<Key>)> = Vec::new();
    for rule in config.tags.iter().flat_map(|t| &t.rules) {
        let key = match rule.slot {
            Slot::Fixed(Target::Identifier(key)) => Some(key),
            _ if rule.hash => None,
            _ => continue,
        };
        for source in &rule.sources {
            if let FieldPath::Data(path) = source {
                mapped.push((path.as_slice(), key));
            }
        }
    }
    for (path, key) in mapped {
        hash_data_field(&mut hit.data, path, key, country.as_deref());
    }
    let user = &mut hit.user;
    let fields: [(&mut Option<String>, Key); 11] = [
        (&mut user.email, Key::Email),
        (&mut user.phone, Key::Phone),
        (&mut user.first_name, Key::FirstName),
        (&mut user.last_name, Key::LastName),
        (&mut user.date_of_birth, Key::DateOfBirth),
        (&mut user.gender, Key::Gender),
        (&mut user.city, Key::City),
        (&mut user.state, Key::State),
        (&mut user.zip, Key::Zip),
        (&mut user.country, Key::Country),
        (&mut user.external_id, Key::ExternalId),
    ];
    for (field, key) in fields {
        *field = field
            .take()
            .and_then(|raw| hash_identifier(key, &raw, country.as_deref()));
    }
    let context = &mut hit.context;
    if context.ip.is_some() {
        context.ip = Some(PLACEHOLDER_IP.into());
    }
    if context.user_agent.is_some() {
        context.user_agent = Some(PLACEHOLDER.into());
    }
    for (name, value) in context.cookies.iter_mut() {
        *value = cookie_placeholder(name, value);
    }
    for url in [&mut hit.page.url, &mut hit.page.referrer]
        .into_iter()
        .flatten()
    {
        *url = without_click_ids(url);
    }
    serde_json::to_value(&hit).ok()
}

/// The identifier's hash as the pipeline computes it, or `None` when the pipeline would drop the value.
fn hash_identifier(key: Key, raw: &str, country: Option<&str>) -> Option<String> {
    let id = match key {
        Key::Phone => normalize::identify_phone(raw, country),
        _ => normalize::identify(key, raw),
    };
    id.ok().map(|id| id.sha256)
}

fn hash_data_field(
    data: &mut Map<String, Value>,
    path: &[String],
    key: Option<Key>,
    country: Option<&str>,
) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut object = data;
    for name in parents {
        match object.get_mut(name) {
            Some(Value::Object(inner)) => object = inner,
            _ => return,
        }
    }
    let Some(text) = object.get(last).and_then(as_text).map(|t| t.into_owned()) else {
        // A list or an object under an identifier's name: the pipeline drops it (not text); so does the sample.
        if matches!(object.get(last), Some(Value::Array(_) | Value::Object(_))) {
            object.remove(last);
        }
        return;
    };
    let hashed = match key {
        Some(key) => hash_identifier(key, &text, country),
        None if normalize::is_sha256_hex(text.trim()) => Some(text.trim().to_ascii_lowercase()),
        None => Some(normalize::sha256_hex(text.trim())),
    };
    match hashed {
        Some(h) => {
            object.insert(last.clone(), Value::String(h));
        }
        None => {
            object.remove(last);
        }
    }
}

/// A cookie's stand-in: Meta's `_fbc`/`_fbp` keep their `fb.<n>.<ms>.` prefix, so they stay valid.
fn cookie_placeholder(name: &str, value: &str) -> String {
    if matches!(name, "_fbc" | "_fbp") {
        let parts: Vec<&str> = value.splitn(4, '.').collect();
        if parts.len() == 4
            && parts[0] == "fb"
            && [parts[1], parts[2]]
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        {
            return format!("fb.{}.{}.{PLACEHOLDER}", parts[1], parts[2]);
        }
    }
    PLACEHOLDER.to_string()
}

/// The URL with the value of every click-id parameter replaced (the rest as it was, byte for byte).
fn without_click_ids(url: &str) -> String {
    let (before_fragment, fragment) = match url.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (url, None),
    };
    let Some((base, query)) = before_fragment.split_once('?') else {
        return url.to_string();
    };
    let params: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if CLICK_ID_PARAMS.contains(&name) => format!("{name}={PLACEHOLDER}"),
            _ => pair.to_string(),
        })
        .collect();
    let mut out = format!("{base}?{}", params.join("&"));
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

/// Reads a sample file: an array of exported rows (`{"received_ms", "source", "hit"}`) or of plain hits (taken
/// as browser hits), or one of either.
pub fn read_sample(bytes: &[u8]) -> Result<Vec<(Option<i64>, Hit)>, String> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let items = match value {
        Value::Array(items) => items,
        other => vec![other],
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let (received_ms, source, hit) = match item {
                Value::Object(mut o) if o.contains_key("hit") && o.contains_key("source") => {
                    let source: Source = serde_json::from_value(o["source"].take())
                        .map_err(|e| format!("sample [{i}]: source: {e}"))?;
                    (
                        o.get("received_ms").and_then(Value::as_i64),
                        source,
                        o["hit"].take(),
                    )
                }
                plain => (None, Source::Browser, plain),
            };
            let mut hit = Hit::from_value(hit).map_err(|e| format!("sample [{i}]: {e}"))?;
            hit.source = source;
            Ok((received_ms, hit))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CONFIG: &str = r#"
[[destination]]
name = "meta"
kind = "meta"
pixel_id = "1"
token_secret = "T"

[[tag]]
name = "purchase"
destinations = ["meta"]
event = "Purchase"
[tag.map]
"user.em" = { from = ["user.email", "data.billing.email"] }
"data.loyalty" = { from = "data.loyalty", hash = true }
"#;

    fn hit(v: Value) -> Hit {
        Hit::from_value(v).unwrap()
    }

    #[test]
    fn identifiers_are_hashed_and_the_device_replaced() {
        let config = Config::parse(CONFIG).unwrap();
        let raw = hit(json!({
            "event": "Purchase", "event_id": "ord-1",
            "page": {"url": "https://shop.example.com/t?fbclid=IwAR1&x=1#top", "referrer": "https://chatgpt.com/?oppref=opp_9"},
            "user": {"email": " Jane.Doe@Example.com ", "phone": "(312) 555-0148", "country": "US", "first_name": "Jane", "zip": "x"},
            "data": {"value": 149, "billing": {"email": "b@example.com"}, "loyalty": "L-77"},
            "context": {"ip": "198.51.100.9", "user_agent": "Mozilla/5.0",
                        "cookies": {"_fbc": "fb.1.1700000000000.IwAR1", "_fbp": "fb.1.1700000000000.123456", "__oppref": "opp_9", "sid": "secret"},
                        "consent": {"ad_storage": "granted"}, "headers": {"cf-ipcountry": "US"}}
        }));
        let sampled = sampled_hit(&config, &raw).unwrap();
        let text = sampled.to_string();
        for leak in [
            "Jane",
            "jane",
            "555",
            "198.51.100.9",
            "Mozilla",
            "IwAR1",
            "opp_9",
            "secret",
            "123456",
            "b@example",
            "L-77",
        ] {
            assert!(!text.contains(leak), "{leak} in {text}");
        }
        let h = |s: &str| normalize::sha256_hex(s);
        assert_eq!(sampled["user"]["email"], h("jane.doe@example.com"));
        assert_eq!(sampled["user"]["phone"], h("13125550148"));
        assert_eq!(sampled["user"]["country"], h("us"));
        assert_eq!(sampled["user"].get("zip"), Some(&json!(h("x"))));
        assert_eq!(sampled["data"]["billing"]["email"], h("b@example.com"));
        assert_eq!(sampled["data"]["loyalty"], h("L-77"));
        assert_eq!(sampled["context"]["ip"], PLACEHOLDER_IP);
        assert_eq!(sampled["context"]["user_agent"], PLACEHOLDER);
        assert_eq!(
            sampled["context"]["cookies"]["_fbc"],
            "fb.1.1700000000000.capi-edge-sample"
        );
        assert_eq!(sampled["context"]["cookies"]["sid"], PLACEHOLDER);
        assert_eq!(sampled["context"]["headers"]["cf-ipcountry"], "US");
        assert_eq!(
            sampled["page"]["url"],
            "https://shop.example.com/t?fbclid=capi-edge-sample&x=1#top"
        );
        assert_eq!(
            sampled["page"]["referrer"],
            "https://chatgpt.com/?oppref=capi-edge-sample"
        );
        assert_eq!(sampled["event_id"], "ord-1");
        assert_eq!(sampled["data"]["value"], 149);
    }

    #[test]
    fn the_sample_gives_the_same_hashes_downstream() {
        let config = Config::parse(CONFIG).unwrap();
        let raw = hit(
            json!({"event": "Purchase", "event_id": "o", "time": 1_800_000_000,
            "page": {"url": "https://shop.example.com/t"}, "data": {"value": 1, "currency": "EUR"},
            "context": {"ip": "198.51.100.9", "user_agent": "Mozilla/5.0"},
            "user": {"email": "A@B.co", "phone": "020 7946 0018", "country": "GB", "gender": "Female", "date_of_birth": "31-12-1990"}}),
        );
        let sampled = hit(sampled_hit(&config, &raw).unwrap());
        let payload = |h: &Hit| {
            crate::pipeline::process(&config, h, 1_800_000_000_000, &mut || "id".into()).deliveries
                [0]
            .payload["user_data"]
                .clone()
        };
        let (a, b) = (payload(&raw), payload(&sampled));
        for key in ["em", "ph", "ge", "db", "country"] {
            assert_eq!(a[key], b[key], "{key}");
        }
    }

    #[test]
    fn denied_consent_is_not_sampled_and_bad_values_are_dropped() {
        let config = Config::parse(CONFIG).unwrap();
        let denied =
            hit(json!({"event": "Purchase", "context": {"consent": {"ad_storage": "denied"}}}));
        assert_eq!(sampled_hit(&config, &denied), None);
        let bad = hit(json!({"event": "Purchase", "user": {"email": "jane.doe@"}}));
        assert_eq!(
            sampled_hit(&config, &bad).unwrap().get("user"),
            Some(&json!({}))
        );
    }

    #[test]
    fn an_email_or_phone_in_the_page_url_is_not_kept() {
        let config = Config::parse(CONFIG).unwrap();
        let hit = Hit::from_json(
            br#"{"event":"Purchase","page":{"url":"https://shop.example.com/ty?email=jane%40example.com&fbclid=IwAR1",
                "referrer":"https://mail.example/?tel=%2B16505551212"}}"#,
        )
        .unwrap();
        let sampled = sampled_hit(&config, &hit).unwrap();
        assert_eq!(
            sampled["page"]["url"],
            format!("https://shop.example.com/ty?email=(redacted)&fbclid={PLACEHOLDER}")
        );
        assert_eq!(
            sampled["page"]["referrer"],
            "https://mail.example/?tel=(redacted)"
        );
    }

    #[test]
    fn a_large_hit_is_not_sampled() {
        let config = Config::parse(&format!("[site]\nsample_one_in = 1\n{CONFIG}")).unwrap();
        let mut big = hit(json!({"event": "Purchase", "event_id": "o"}));
        assert!(message(&config, &big, "o", 0).is_some());
        big.data
            .insert("notes".into(), "x".repeat(MAX_SAMPLED_BYTES).into());
        assert!(message(&config, &big, "o", 0).is_none());
    }

    #[test]
    fn a_config_compiled_before_the_sample_samples_one_in_20() {
        let mut compiled = serde_json::to_value(Config::parse(CONFIG).unwrap()).unwrap();
        compiled["site"]
            .as_object_mut()
            .unwrap()
            .remove("sample_one_in");
        let config: Config = serde_json::from_value(compiled).unwrap();
        assert_eq!(config.site.sample_one_in, DEFAULT_SAMPLE_ONE_IN);
    }

    #[test]
    fn one_in_n() {
        assert!(!chosen(0, "a"));
        assert!(chosen(1, "a"));
        for ids in [
            (0..20_000).map(|n| format!("ord-{n}")).collect::<Vec<_>>(),
            (0..20_000)
                .map(|_| crate::base::random::random_event_id())
                .collect(),
        ] {
            let n = ids.iter().filter(|id| chosen(20, id)).count();
            assert!((850..1150).contains(&n), "{n} of 20,000 sampled");
        }
    }

    #[test]
    fn reads_exports_and_plain_hits() {
        let rows = read_sample(
            br#"[{"received_ms":1,"source":"server","hit":{"event":"Lead"}},{"event":"Purchase"}]"#,
        )
        .unwrap();
        assert_eq!(rows[0].0, Some(1));
        assert_eq!(rows[1].0, None);
        assert_eq!(rows[0].1.source, Source::Server);
        assert_eq!(rows[1].1.event, "Purchase");
        assert!(read_sample(br#"[{"event":"A","nope":1}]"#)
            .unwrap_err()
            .contains("sample [0]"));
    }
}
