//! OpenAI's ChatGPT Ads Conversions API (developers.openai.com/ads/conversions-api):
//! `POST https://bzr.openai.com/v1/events?pid=<PIXEL_ID>`, `Authorization: Bearer <key>`,
//! `{"validate_only", "events": [...]}`, money in minor units, identifiers as lists of SHA-256.

use super::platform::{
    check_platform_rules, object, put, whole, Auth, Destination, DestinationConfig, ErrorReading,
    Parts, Platform,
};
use crate::event::standard::{self, OpenAiDataType};
use crate::event::Event;
use crate::identity::normalize::Key;
use crate::rules::mapping::minor_units;
use serde_json::{Map, Value};

pub const DEFAULT_ENDPOINT: &str = "https://bzr.openai.com/v1/events";

/// Hashed identifiers: OpenAI key ← our key. Lists, per the newest page.
const HASHED: [(&str, Key); 5] = [
    ("emails_sha256", Key::Email),
    ("phone_numbers_sha256", Key::Phone),
    ("external_ids_sha256", Key::ExternalId),
    ("first_names_sha256", Key::FirstName),
    ("last_names_sha256", Key::LastName),
];
/// Geography is sent unhashed (normalized), as lists.
const PLAIN: [(&str, Key); 4] = [
    ("cities", Key::City),
    ("regions", Key::State),
    ("postal_codes", Key::Zip),
    ("countries", Key::Country),
];

/// The OpenAI event type and data type for a tag's event name; anything not standard is `custom`.
pub fn event_type(name: &str) -> (String, OpenAiDataType) {
    match standard::lookup(name) {
        Some(e) => (e.openai.to_string(), e.data_type),
        None => ("custom".to_string(), OpenAiDataType::Custom),
    }
}

/// A custom event name as OpenAI accepts it: 1 to 64 lowercase letters, digits, `_` and `-`, starting and ending
/// with a letter or digit (`^[A-Za-z0-9]([A-Za-z0-9_-]{0,62}[A-Za-z0-9])?$`, developers.openai.com/ads/
/// conversions-api as transcribed in webaroundlabs/openai-ads-toolkit packages/spec/events.json). `Sign up!`
/// becomes `sign_up`; `None` when no letter or digit is left.
fn custom_event_name(name: &str) -> Option<String> {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let trimmed = cleaned.trim_matches(['_', '-']);
    // Cut to 64 (all ASCII now, so bytes are characters), then trim again: the cut may end on a `_`.
    let cut = trimmed[..trimmed.len().min(64)].trim_end_matches(['_', '-']);
    (!cut.is_empty()).then(|| cut.to_string())
}

/// OpenAI refuses a `pid` it does not know with 403 "unknown pid". Its error bodies are not documented, so the
/// answer is read loosely. No retry can fix it: the pixel_id setting must change.
const UNKNOWN_PIXEL: [&str; 4] = [
    "unknown pid",
    "unknown_pid",
    "unknown pixel",
    "pixel not found",
];

/// `message`: the error's message and code, or the body's text when it is not JSON.
pub fn is_unknown_pixel(status: u16, message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    matches!(status, 403 | 404) && UNKNOWN_PIXEL.iter().any(|p| message.contains(p))
}

/// `plan_id` of a plan_enrollment event, from the tag's `data.plan_id`: OpenAI types it as a string.
fn plan_id(ev: &Event) -> Option<String> {
    let id = crate::rules::trigger::as_text(ev.custom.get("plan_id")?)?;
    let id = id.trim();
    (!id.is_empty()).then(|| id.to_string())
}

/// The event in OpenAI's shape, or why OpenAI would refuse it.
pub fn event_json(ev: &Event) -> Result<Value, String> {
    let (kind, data_type) = event_type(&ev.name);
    let custom_name = match data_type {
        OpenAiDataType::Custom => Some(custom_event_name(&ev.name).ok_or_else(|| {
            format!("OpenAI needs a custom event name with a letter or digit; \"{}\" has none (rename the tag's event)", ev.name)
        })?),
        _ => None,
    };
    let mut user = Map::new();
    for (field, key) in HASHED {
        if let Some(id) = ev.user.identifiers.get(&key) {
            user.insert(field.into(), Value::Array(vec![id.sha256.clone().into()]));
        }
    }
    for (field, key) in PLAIN {
        if let Some(v) = ev.user.plain.get(&key) {
            user.insert(field.into(), Value::Array(vec![v.clone().into()]));
        }
    }
    put(&mut user, "ip_address", ev.user.client_ip.clone());
    put(&mut user, "user_agent", ev.user.user_agent.clone());

    let mut data = Map::new();
    data.insert("type".into(), data_type.as_str().into());
    if let (Some(value), Some(currency)) = (ev.value, &ev.currency) {
        data.insert("amount".into(), minor_units(value, currency).into());
        data.insert("currency".into(), currency.clone().into());
    }
    if data_type != OpenAiDataType::CustomerAction && !ev.contents.is_empty() {
        let currency = ev.currency.as_deref();
        let items: Vec<Value> = ev
            .contents
            .iter()
            .map(|c| {
                let mut item = Map::new();
                item.insert("id".into(), c.id.clone().into());
                put(&mut item, "name", c.name.clone());
                put(&mut item, "quantity", c.quantity.map(whole));
                if let (Some(price), Some(cur)) = (c.price, currency) {
                    item.insert("amount".into(), minor_units(price, cur).into());
                    item.insert("currency".into(), cur.into());
                }
                Value::Object(item)
            })
            .collect();
        data.insert("contents".into(), items.into());
    }
    if data_type == OpenAiDataType::PlanEnrollment {
        put(&mut data, "plan_id", plan_id(ev));
    }
    if data_type == OpenAiDataType::Custom {
        for (k, v) in &ev.custom {
            data.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }

    let mut out = Map::new();
    out.insert("id".into(), ev.event_id.clone().into());
    out.insert("type".into(), kind.into());
    put(&mut out, "custom_event_name", custom_name);
    out.insert("timestamp_ms".into(), ev.time_ms.into());
    out.insert("action_source".into(), ev.action_source.openai().into());
    put(&mut out, "source_url", ev.source_url.clone());
    put(&mut out, "oppref", ev.user.oppref.clone());
    if !user.is_empty() {
        out.insert("user".into(), Value::Object(user));
    }
    out.insert("data".into(), Value::Object(data));
    Ok(Value::Object(out))
}

pub struct OpenAi;

impl Platform for OpenAi {
    fn name(&self) -> &'static str {
        "openai"
    }

    fn default_endpoint(&self, _config: &DestinationConfig, _pixel_id: &str) -> Option<String> {
        Some(DEFAULT_ENDPOINT.to_string())
    }

    fn event_name(&self, event: &Event) -> String {
        event_type(&event.name).0
    }

    /// OpenAI takes a website event without the user agent.
    fn check_event(&self, event: &Event, now_ms: i64) -> Result<(), String> {
        check_platform_rules(event, now_ms, false)
    }

    fn event_json(&self, _dest: &Destination, event: &Event) -> Result<Value, String> {
        event_json(event)
    }

    /// `POST <endpoint>?pid=<PIXEL_ID>` with a Bearer key; debug traffic with `validate_only`.
    fn request(&self, dest: &Destination, events: Vec<Value>, auth: &Auth, test: bool) -> Parts {
        let sep = if dest.endpoint.contains('?') {
            '&'
        } else {
            '?'
        };
        let url = format!(
            "{}{sep}pid={}",
            dest.endpoint,
            crate::hit::field::percent_encode(&dest.pixel_id)
        );
        let token = auth.token();
        let headers = vec![("authorization".to_string(), format!("Bearer {token}"))];
        let body = object([
            ("validate_only", (dest.validate_only || test).into()),
            ("integration_source", "capi-edge".into()),
            ("events", Value::Array(events)),
        ]);
        (url, headers, body)
    }

    fn read_error(
        &self,
        dest: &Destination,
        status: u16,
        _error: &Value,
        message: &str,
    ) -> Option<ErrorReading> {
        is_unknown_pixel(status, message).then(|| {
            ErrorReading::Config(format!(
                "OpenAI does not know pixel id {}: check pixel_id in capi.toml (HTTP {status}: {message})",
                dest.pixel_id
            ))
        })
    }
}
