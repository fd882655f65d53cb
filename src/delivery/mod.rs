//! Delivery: the queue message that carries one event to one destination, and the rules for what a platform's
//! answer means (done, retry later, or a bad event that no retry will fix). Pure; the edge shell sends.

pub mod batch;

use crate::config::operations::LedgerMode;
use crate::destination::{Destination, ErrorReading};
use crate::pipeline::{Delivery, Dropped, Outcome};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

/// What the consumer does with a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Send the payload.
    Send,
    /// Only record it in the ledger with this status (consent-blocked, dropped by a platform rule).
    Record { status: String, reason: String },
    /// Keep the payload (a sampled hit, `crate::operations::sample`) in the `hit_samples` table; it goes to no destination.
    Sample,
    /// Add the payload (`crate::operations::tally::Tally`: hits that fired no tag, values redacted) to `intake_counts`.
    Tally,
}

/// A destination's event (or a sampled hit) as JSON, carried in the queue message as JSON, not as a string
/// holding JSON: intake writes it once, unescaped, and the consumer reads it without unescaping a copy
/// (`cargo bench --bench pipeline`, "queue messages"). Messages queued, and events kept for replay, by
/// versions that wrote the string form still read: a string is taken as the JSON it holds.
#[derive(Debug, Clone)]
pub struct Payload(Box<RawValue>);

impl Payload {
    pub fn new(value: &Value) -> Payload {
        // Serializing a `Value` cannot fail (its keys are strings).
        Payload(serde_json::value::to_raw_value(value).unwrap_or_else(|_| null()))
    }

    /// No payload (a message that only records a status).
    pub fn none() -> Payload {
        Payload(null())
    }

    /// The JSON text, as compact as it was written.
    pub fn json(&self) -> &str {
        self.0.get()
    }

    pub fn len(&self) -> usize {
        self.0.get().len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.get() == "null"
    }
}

fn null() -> Box<RawValue> {
    RawValue::from_string("null".to_string()).expect("null is JSON")
}

impl PartialEq for Payload {
    fn eq(&self, other: &Payload) -> bool {
        self.json() == other.json()
    }
}

impl Serialize for Payload {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Payload {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Payload, D::Error> {
        use serde::de::Error;
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        if !raw.get().starts_with('"') {
            return Ok(Payload(raw));
        }
        // The string form of earlier versions: "" for no payload, else the JSON text.
        let text: String = serde_json::from_str(raw.get()).map_err(D::Error::custom)?;
        if text.is_empty() {
            return Ok(Payload::none());
        }
        RawValue::from_string(text)
            .map(Payload)
            .map_err(|e| D::Error::custom(format!("the payload string holds no JSON: {e}")))
    }
}

/// One event for one destination, as it travels through the queue: as JSON text (`edge::intake::browser::enqueue`),
/// with the destination's payload inside as JSON (`Payload`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryMessage {
    pub destination: String,
    pub event_name: String,
    pub event_id: String,
    pub tag: String,
    pub source: String,
    pub received_ms: i64,
    /// The destination's event JSON (hashes only, never raw PII).
    pub payload: Payload,
    pub match_quality: f64,
    pub value: Option<f64>,
    pub currency: Option<String>,
    pub action: Action,
    /// Unique per intake: tells a retry of this message (same id) from a duplicate event (another id).
    pub intake_id: String,
    /// Valuable identifiers the event lacked, comma-separated (`em,click_id`).
    #[serde(default)]
    pub missing: String,
    /// Debug traffic: sent in the platform's validation mode, never claimed in the ledger.
    #[serde(default)]
    pub test: bool,
    /// A row in the ledger, or counters only (`[[tag]] ledger`). Messages queued before this field get a row.
    #[serde(default, skip_serializing_if = "is_events")]
    pub ledger: LedgerMode,
}

fn is_events(mode: &LedgerMode) -> bool {
    *mode == LedgerMode::Events
}

impl DeliveryMessage {
    /// The destination's event as JSON text.
    pub fn payload_json(&self) -> &str {
        self.payload.json()
    }

    pub fn send(d: &Delivery, source: &str, received_ms: i64) -> DeliveryMessage {
        DeliveryMessage {
            destination: d.destination_name.clone(),
            event_name: d.event_name.clone(),
            event_id: d.event_id.clone(),
            tag: d.tag.clone(),
            source: source.to_string(),
            received_ms,
            payload: Payload::new(&d.payload),
            match_quality: d.match_quality,
            value: d.value,
            currency: d.currency.clone(),
            action: Action::Send,
            intake_id: crate::base::random::random_event_id(),
            missing: d.missing.join(","),
            test: false,
            ledger: d.ledger,
        }
    }

    /// A request passed on as it came (a GA4 hit for Google): no tag, no event of its own, a fresh id.
    pub fn forward(
        destination: &str,
        event_name: &str,
        event_id: String,
        payload: Value,
        received_ms: i64,
    ) -> DeliveryMessage {
        DeliveryMessage {
            destination: destination.to_string(),
            event_name: event_name.to_string(),
            event_id,
            tag: String::new(),
            source: "browser".to_string(),
            received_ms,
            payload: Payload::new(&payload),
            match_quality: 0.0,
            value: None,
            currency: None,
            action: Action::Send,
            intake_id: crate::base::random::random_event_id(),
            missing: String::new(),
            test: false,
            // One per page hit: counted, as page views are.
            ledger: LedgerMode::Counts,
        }
    }

    /// A sampled hit (`sample::sampled_hit`'s JSON) for the consumer to keep: it rides the queue with the hit's
    /// deliveries, so intake writes nothing more than it did.
    pub fn sample(
        hit: &Value,
        event_name: &str,
        source: &str,
        received_ms: i64,
    ) -> DeliveryMessage {
        DeliveryMessage {
            destination: String::new(),
            event_name: event_name.to_string(),
            event_id: String::new(),
            tag: String::new(),
            source: source.to_string(),
            received_ms,
            payload: Payload::new(hit),
            match_quality: 0.0,
            value: None,
            currency: None,
            action: Action::Sample,
            intake_id: String::new(),
            missing: String::new(),
            test: false,
            ledger: LedgerMode::Counts,
        }
    }

    /// A request's tally (`crate::operations::tally`) for the consumer to count; it goes to no destination.
    pub fn tally(payload: &Value, received_ms: i64) -> DeliveryMessage {
        DeliveryMessage {
            action: Action::Tally,
            ..DeliveryMessage::sample(payload, "", "", received_ms)
        }
    }

    pub fn record(d: &Dropped, source: &str, received_ms: i64) -> DeliveryMessage {
        DeliveryMessage {
            destination: d.destination_name.clone(),
            event_name: d.event_name.clone(),
            event_id: d.event_id.clone(),
            tag: d.tag.clone(),
            source: source.to_string(),
            received_ms,
            payload: Payload::none(),
            match_quality: 0.0,
            value: None,
            currency: None,
            action: Action::Record {
                status: d.status.to_string(),
                reason: d.reason.clone(),
            },
            intake_id: crate::base::random::random_event_id(),
            missing: String::new(),
            test: false,
            ledger: d.ledger,
        }
    }
}

/// Every message an outcome puts on the queue: one per delivery, one record per drop.
pub fn messages_for(outcome: &Outcome, source: &str, received_ms: i64) -> Vec<DeliveryMessage> {
    let sent = outcome
        .deliveries
        .iter()
        .map(|d| DeliveryMessage::send(d, source, received_ms));
    sent.chain(
        outcome
            .dropped
            .iter()
            .map(|d| DeliveryMessage::record(d, source, received_ms)),
    )
    .collect()
}

/// What a platform's answer to a batch means.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Delivered,
    /// Throttling, a server error, a timeout or a network error: try again later.
    Retry(String),
    /// The platform refused the content. `Some(i)`: it named event `i` of the batch; `None`: it did not say
    /// which, so the batch must be split to find out.
    Rejected {
        index: Option<usize>,
        message: String,
    },
    /// The destination's settings are wrong (OpenAI does not know the pixel id): no retry and no split can
    /// help, so every event fails at once with this reason, shown in the dashboard.
    ConfigError(String),
    /// The platform took the batch except these events (index in the batch, why): they fail, the rest are sent.
    Partial(Vec<(usize, String)>),
}

impl Verdict {
    fn from_reading(reading: ErrorReading) -> Verdict {
        match reading {
            ErrorReading::Retry(reason) => Verdict::Retry(reason),
            ErrorReading::Config(reason) => Verdict::ConfigError(reason),
            ErrorReading::Rejected { index, message } => Verdict::Rejected { index, message },
            ErrorReading::Partial(failed) if failed.is_empty() => Verdict::Delivered,
            ErrorReading::Partial(failed) => Verdict::Partial(failed),
        }
    }
}

/// Classifies a response from `dest`; `status = None` is a timeout or network error.
pub fn classify(dest: &Destination, status: Option<u16>, body: &str) -> Verdict {
    let Some(status) = status else {
        return Verdict::Retry(if body.is_empty() {
            "no response (timeout or network error)".into()
        } else {
            body.to_string()
        });
    };
    let parsed: Value = serde_json::from_slice(body.as_bytes()).unwrap_or(Value::Null);
    if (200..300).contains(&status) {
        return dest
            .read_success(&parsed)
            .map_or(Verdict::Delivered, Verdict::from_reading);
    }
    let message = error_message(&parsed).unwrap_or_else(|| truncate(body, 300));
    if status == 429 || status >= 500 || status == 408 {
        return Verdict::Retry(format!("HTTP {status}: {message}"));
    }
    if let Some(reading) = dest.read_error(status, &parsed, &message) {
        return Verdict::from_reading(reading);
    }
    if status == 401 || status == 403 {
        // A token problem is ours to fix, not the event's: keep retrying until the dead-letter queue, so the
        // events survive a rotated token.
        return Verdict::Retry(format!("HTTP {status} (check the token secret): {message}"));
    }
    Verdict::Rejected {
        index: bad_event_index(&parsed),
        message: format!("HTTP {status}: {message}"),
    }
}

fn error_message(v: &Value) -> Option<String> {
    let e = v.get("error")?;
    let msg = e
        .get("message")
        .and_then(Value::as_str)
        .or_else(|| e.as_str())?;
    let code = e.get("code").and_then(|c| {
        c.as_str()
            .map(str::to_string)
            .or_else(|| c.as_i64().map(|n| n.to_string()))
    });
    Some(match code {
        Some(c) => format!("{msg} ({c})"),
        None => msg.to_string(),
    })
}

/// OpenAI names the bad event: `"param": "events[3].timestamp_ms"`; Meta-style errors may say `data[3]`.
fn bad_event_index(v: &Value) -> Option<usize> {
    let param = v.pointer("/error/param").and_then(Value::as_str)?;
    let rest = param
        .strip_prefix("events[")
        .or_else(|| param.strip_prefix("data["))?;
    rest.split(']').next()?.parse().ok()
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() > n {
        format!("{}…", s.chars().take(n).collect::<String>())
    } else {
        s.to_string()
    }
}

/// Seconds to wait before attempt `attempts + 1`: base, 2×base, 4×base, … capped at 15 minutes
/// (with the default base of 10 s: 10, 20, 40, …).
pub fn backoff_seconds(attempts: u32, base: u32) -> u32 {
    base.saturating_mul(1u32 << attempts.min(10)).min(900)
}

/// The default backoff base, in seconds.
pub const BACKOFF_BASE_S: u32 = 10;

/// How long to wait for a platform before treating the attempt as a timeout (Meta advises 1.5 s).
pub const UPSTREAM_TIMEOUT_MS: u32 = 1500;

#[cfg(test)]
mod tests {
    #[test]
    fn a_payload_travels_as_json_and_the_string_form_of_earlier_versions_still_reads() {
        let payload = serde_json::json!({"event_name": "Purchase", "user_data": {"em": ["a\"b"]}});
        let message = DeliveryMessage::forward("meta", "Purchase", "e1".into(), payload.clone(), 7);
        let text = serde_json::to_string(&message).unwrap();
        assert!(
            text.contains(r#""payload":{"event_name":"Purchase""#),
            "the payload is JSON inside the message, not a string: {text}"
        );
        let back: DeliveryMessage = serde_json::from_str(&text).unwrap();
        assert_eq!(back, message);
        assert_eq!(
            serde_json::from_str::<Value>(back.payload_json()).unwrap(),
            payload
        );

        // As an earlier version queued it (and kept it for replay): the payload as a JSON string.
        let mut old: Value = serde_json::from_str(&text).unwrap();
        old["payload"] = payload.to_string().into();
        let back: DeliveryMessage = serde_json::from_str(&old.to_string()).unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(back.payload_json()).unwrap(),
            payload
        );
        old["payload"] = "".into();
        let back: DeliveryMessage = serde_json::from_str(&old.to_string()).unwrap();
        assert!(back.payload.is_empty());
        // A string that holds no JSON is an error the consumer reports, not a payload sent as it is.
        old["payload"] = "{not json".into();
        assert!(serde_json::from_str::<DeliveryMessage>(&old.to_string()).is_err());
    }

    use super::*;
    use crate::destination::Kind;

    fn dest(kind: &str) -> Destination {
        Destination {
            name: "d".into(),
            kind: Kind::parse(kind).unwrap(),
            endpoint: "https://example.com/events".into(),
            pixel_id: "px_123".into(),
            token_secret: Some("TOKEN".into()),
            test_event_code: None,
            validate_only: false,
            max_batch: 1000,
            settings: Default::default(),
        }
    }

    #[test]
    fn responses_are_classified_like_the_platforms_document() {
        let openai_bad = r#"{"error":{"message":"Invalid event at events[1]. See errors for details.","type":"invalid_request_error","param":"events[1]","code":"invalid_event"}}"#;
        let openai_old = r#"{"error":{"message":"event_timestamp_ms must be within the last 7 days.","param":"events[0].timestamp_ms","code":"event_timestamp_too_old"}}"#;
        let meta_throttle = r#"{"error":{"message":"Application request limit reached","type":"OAuthException","code":4}}"#;
        // Meta's code 613, "Calls to this api have exceeded the rate limit": throttling like 4, 17 and 80003
        // (developers.facebook.com/docs/graph-api/overview/rate-limiting, "custom-level throttling").
        let meta_613 = r#"{"error":{"message":"(#613) Calls to this api have exceeded the rate limit.","type":"OAuthException","code":613}}"#;
        let meta_bad = r#"{"error":{"message":"Invalid parameter","type":"OAuthException","code":100,"error_subcode":2804003}}"#;
        // An unknown pid, as the mock answers it (mock/capi-mock.mjs); OpenAI does not document its error body.
        let openai_unknown_pid = r#"{"error":{"message":"Unknown pid: px_123","type":"invalid_request_error","param":"pid","code":"unknown_pid"}}"#;
        let cases: Vec<(&str, Option<u16>, &str, Verdict)> = vec![
            ("openai", Some(200), "{}", Verdict::Delivered),
            ("openai", Some(429), "", Verdict::Retry("HTTP 429: ".into())),
            ("openai", Some(503), "busy", Verdict::Retry("HTTP 503: busy".into())),
            ("openai", None, "", Verdict::Retry("no response (timeout or network error)".into())),
            ("openai", Some(400), openai_bad, Verdict::Rejected { index: Some(1), message: "HTTP 400: Invalid event at events[1]. See errors for details. (invalid_event)".into() }),
            ("openai", Some(422), openai_old, Verdict::Rejected { index: Some(0), message: "HTTP 422: event_timestamp_ms must be within the last 7 days. (event_timestamp_too_old)".into() }),
            ("openai", Some(401), r#"{"error":{"message":"Unauthorized"}}"#, Verdict::Retry("HTTP 401 (check the token secret): Unauthorized".into())),
            // A 403 that is not about the pixel (a rotated key) is still retried, so the events outlive the fix.
            ("openai", Some(403), r#"{"error":{"message":"Forbidden"}}"#, Verdict::Retry("HTTP 403 (check the token secret): Forbidden".into())),
            ("openai", Some(403), openai_unknown_pid, Verdict::ConfigError("OpenAI does not know pixel id px_123: check pixel_id in capi.toml (HTTP 403: Unknown pid: px_123 (unknown_pid))".into())),
            ("openai", Some(403), "unknown pid", Verdict::ConfigError("OpenAI does not know pixel id px_123: check pixel_id in capi.toml (HTTP 403: unknown pid)".into())),
            ("meta", Some(400), meta_throttle, Verdict::Retry("HTTP 400 code 4: Application request limit reached (4)".into())),
            ("meta", Some(400), meta_613, Verdict::Retry("HTTP 400 code 613: (#613) Calls to this api have exceeded the rate limit. (613)".into())),
            ("capi", Some(400), meta_613, Verdict::Retry("HTTP 400 code 613: (#613) Calls to this api have exceeded the rate limit. (613)".into())),
            ("capi", Some(400), r#"{"error":{"message":"Invalid OAuth access token.","code":190}}"#, Verdict::Retry("HTTP 400 (check the token secret): Invalid OAuth access token. (190)".into())),
            ("meta", Some(400), meta_bad, Verdict::Rejected { index: None, message: "HTTP 400: Invalid parameter (100)".into() }),
            // Only OpenAI's pixel check reads "unknown pid"; elsewhere a 403 stays a token problem.
            ("webhook", Some(403), "unknown pid", Verdict::Retry("HTTP 403 (check the token secret): unknown pid".into())),
        ];
        for (kind, status, body, expected) in cases {
            assert_eq!(
                classify(&dest(kind), status, body),
                expected,
                "{kind:?} {status:?} {body}"
            );
        }
    }

    #[test]
    fn an_outcome_becomes_one_message_per_delivery_and_per_drop() {
        let config = crate::config::Config::parse(
            "[[destination]]\nname = \"o\"\nkind = \"openai\"\npixel_id = \"p\"\ntoken_secret = \"K\"\n\n[[destination]]\nname = \"w\"\nkind = \"webhook\"\nendpoint = \"https://x\"\n\n[[tag]]\nname = \"t\"\ndestinations = [\"o\", \"w\"]\nevent = \"Lead\"\n",
        )
        .unwrap();
        // No page URL: OpenAI drops the website event, the webhook takes it.
        let hit = crate::hit::Hit::from_json(br#"{"event":"Lead","event_id":"e1"}"#).unwrap();
        let outcome = crate::pipeline::process(&config, &hit, 0, &mut || "x".into());
        let m = messages_for(&outcome, "server", 7);
        let kinds: Vec<(&str, bool)> = m
            .iter()
            .map(|m| (m.destination.as_str(), m.action == Action::Send))
            .collect();
        assert_eq!(kinds, [("w", true), ("o", false)]);
        assert!(m
            .iter()
            .all(|m| m.source == "server" && m.received_ms == 7 && m.event_id == "e1"));
        assert_ne!(
            m[0].intake_id, m[1].intake_id,
            "each message owns its own intake id"
        );
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let waits: Vec<u32> = (0..8).map(|a| backoff_seconds(a, BACKOFF_BASE_S)).collect();
        assert_eq!(waits, [10, 20, 40, 80, 160, 320, 640, 900]);
        assert_eq!(backoff_seconds(u32::MAX, BACKOFF_BASE_S), 900);
        assert_eq!(backoff_seconds(3, 0), 0);
    }

    #[test]
    fn messages_roundtrip_as_json() {
        let m = DeliveryMessage {
            destination: "openai".into(),
            event_name: "order_created".into(),
            event_id: "e1".into(),
            tag: "t".into(),
            source: "browser".into(),
            received_ms: 1,
            payload: Payload::new(&serde_json::json!({"id": "e1"})),
            match_quality: 5.5,
            value: Some(1.0),
            currency: Some("USD".into()),
            action: Action::Record {
                status: "consent_blocked".into(),
                reason: "ad_storage denied".into(),
            },
            intake_id: "i1".into(),
            missing: "ph".into(),
            ledger: LedgerMode::Counts,
            test: true,
        };
        let back: DeliveryMessage =
            serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        assert_eq!(back, m);
    }
}
