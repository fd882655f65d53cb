//! The hit: the one JSON shape that the pixel sends, the backend API takes and `capi-edge run --hit` reads.

pub mod field;
pub mod redact;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Where a hit came from. Set by the endpoint that received it, never by the hit itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    #[default]
    Browser,
    Server,
    Webhook,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Browser => "browser",
            Source::Server => "server",
            Source::Webhook => "webhook",
        }
    }
}

/// One event as it arrives. Only `event` is required.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hit {
    pub event: String,
    #[serde(
        default,
        deserialize_with = "opt_stringish",
        skip_serializing_if = "Option::is_none"
    )]
    pub event_id: Option<String>,
    /// Unix time of the event. Seconds; a value above 10^11 is taken as milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<f64>,
    #[serde(default)]
    pub page: Page,
    #[serde(default)]
    pub user: UserFields,
    /// Anything else the site knows about the event; every key stays available to mappings.
    #[serde(default)]
    pub data: Map<String, Value>,
    #[serde(default)]
    pub context: HitContext,
    #[serde(skip)]
    pub source: Source,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Page {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// Customer information, raw. It is normalized and hashed before anything leaves the worker.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserFields {
    #[serde(
        default,
        deserialize_with = "opt_stringish",
        skip_serializing_if = "Option::is_none"
    )]
    pub email: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_stringish",
        skip_serializing_if = "Option::is_none"
    )]
    pub phone: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_stringish",
        skip_serializing_if = "Option::is_none"
    )]
    pub first_name: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_stringish",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_name: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_stringish",
        skip_serializing_if = "Option::is_none"
    )]
    pub date_of_birth: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_stringish",
        skip_serializing_if = "Option::is_none"
    )]
    pub gender: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_stringish",
        skip_serializing_if = "Option::is_none"
    )]
    pub city: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_stringish",
        skip_serializing_if = "Option::is_none"
    )]
    pub state: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_stringish",
        skip_serializing_if = "Option::is_none"
    )]
    pub zip: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_stringish",
        skip_serializing_if = "Option::is_none"
    )]
    pub country: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_stringish",
        skip_serializing_if = "Option::is_none"
    )]
    pub external_id: Option<String>,
}

/// What the edge knows about the request. For browser hits the worker overwrites `ip`, `user_agent` and
/// `headers` with what it saw itself, so a page cannot forge them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HitContext {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub cookies: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub consent: Map<String, Value>,
    /// Request headers the edge chose to expose to triggers (lowercase names), e.g. `cf-ipcountry`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
}

/// Why a hit was refused; the text goes back to the sender in a 400's JSON `detail`.
#[derive(Debug, Clone, PartialEq)]
pub struct HitError(pub String);

impl std::fmt::Display for HitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HitError {}

/// Longest accepted event name and event id, in bytes: platforms cap both well below this.
pub const MAX_NAME_LEN: usize = 128;

impl Hit {
    /// Parses one hit from JSON and checks what serde cannot: a usable event name and id.
    pub fn from_json(bytes: &[u8]) -> Result<Hit, HitError> {
        let hit: Hit = serde_json::from_slice(bytes).map_err(describe_json_error)?;
        hit.validate()?;
        Ok(hit)
    }

    /// Parses a hit from an already-parsed JSON value (one element of a batch).
    pub fn from_value(value: Value) -> Result<Hit, HitError> {
        let hit: Hit = serde_json::from_value(value).map_err(describe_json_error)?;
        hit.validate()?;
        Ok(hit)
    }

    /// One hit, or a JSON array of hits.
    pub fn many_from_json(bytes: &[u8]) -> Result<Vec<Hit>, HitError> {
        let value: Value = serde_json::from_slice(bytes).map_err(describe_json_error)?;
        match value {
            Value::Array(items) => items
                .into_iter()
                .enumerate()
                .map(|(i, v)| Hit::from_value(v).map_err(|e| HitError(format!("hit [{i}]: {e}"))))
                .collect(),
            other => Hit::from_value(other).map(|h| vec![h]),
        }
    }

    fn validate(&self) -> Result<(), HitError> {
        let event = self.event.trim();
        if event.is_empty() {
            return Err(HitError(
                "\"event\" is empty: name the event, e.g. \"Purchase\"".into(),
            ));
        }
        if event.len() > MAX_NAME_LEN {
            return Err(HitError(format!(
                "\"event\" is longer than {MAX_NAME_LEN} bytes"
            )));
        }
        if event.chars().any(char::is_control)
            || self
                .event_id
                .as_deref()
                .is_some_and(|id| id.chars().any(char::is_control))
        {
            // The id reaches the `x-capi-event-id` response header and the logs: see `guard`.
            return Err(HitError(
                "\"event\" and \"event_id\" must not contain control characters".into(),
            ));
        }
        if let Some(id) = &self.event_id {
            if id.trim().is_empty() || id.len() > MAX_NAME_LEN {
                return Err(HitError(format!(
                    "\"event_id\" must be 1 to {MAX_NAME_LEN} bytes"
                )));
            }
        }
        if let Some(t) = self.time {
            if !t.is_finite() || t < 0.0 {
                return Err(HitError(
                    "\"time\" must be a positive unix timestamp".into(),
                ));
            }
        }
        Ok(())
    }

    /// The event time in unix milliseconds, or `now_ms` when the hit carries none.
    pub fn time_ms(&self, now_ms: i64) -> i64 {
        match self.time {
            Some(t) if t > 1e11 => t as i64,
            Some(t) => (t * 1000.0) as i64,
            None => now_ms,
        }
    }
}

fn describe_json_error(e: serde_json::Error) -> HitError {
    HitError(format!("{e}"))
}

/// Accepts a string, a number or a boolean where text is expected: order ids and phone numbers are often numbers.
fn opt_stringish<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::Bool(b)) => Some(b.to_string()),
        Some(other) => {
            return Err(serde::de::Error::custom(format!(
                "expected text or a number, found {}",
                json_kind(&other)
            )))
        }
    })
}

pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_shape() {
        let hit = Hit::from_json(
            br#"{"event":"Purchase","event_id":1001,"time":1716393600,
                "page":{"url":"https://shop.example.com/thank-you","referrer":"https://chatgpt.com/"},
                "user":{"email":"a@b.co","phone":16505551212},
                "data":{"value":149.0,"currency":"USD","coupon":"X"},
                "context":{"ip":"::1","cookies":{"_fbc":"fb.1.1.abc"},"consent":{"ad_storage":"granted"}}}"#,
        )
        .unwrap();
        assert_eq!(hit.event_id.as_deref(), Some("1001"));
        assert_eq!(hit.user.phone.as_deref(), Some("16505551212"));
        assert_eq!(hit.data["coupon"], "X");
        assert_eq!(hit.time_ms(0), 1_716_393_600_000);
    }

    #[test]
    fn refuses_bad_hits_with_a_reason() {
        let cases: &[(&[u8], &str)] = &[
            (
                br#"{"event":"Purchase","evnt_id":"x"}"#,
                "unknown field `evnt_id`",
            ),
            (br#"{"event_id":"x"}"#, "missing field `event`"),
            (br#"{"event":"  "}"#, "\"event\" is empty"),
            (
                br#"{"event":"A","user":{"email":["a"]}}"#,
                "expected text or a number",
            ),
            (br#"{"event":"A","time":-5}"#, "positive unix timestamp"),
            (
                b"{\"event\":\"A\",\"event_id\":\"x\\r\\nSet-Cookie: a=b\"}",
                "control characters",
            ),
            (b"\xff\xfe", "expected value"),
            (br#"[1,2]"#, "invalid type"),
        ];
        for (input, expected) in cases {
            let err = Hit::many_from_json(input).unwrap_err().0;
            assert!(
                err.contains(expected),
                "{err:?} should contain {expected:?}"
            );
        }
    }

    #[test]
    fn time_in_milliseconds_is_recognised() {
        let hit = Hit {
            time: Some(1_716_393_600_123.0),
            ..Hit::default()
        };
        assert_eq!(hit.time_ms(0), 1_716_393_600_123);
        assert_eq!(Hit::default().time_ms(42), 42);
    }
}
