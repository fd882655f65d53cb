//! Reddit's Conversions API v3: `POST https://ads-api.reddit.com/api/v3/pixels/<pixel id>/conversion_events`
//! with a Bearer conversion token, `{"data": {"events": [...]}}`. Times in unix ms; the dedup key
//! `metadata.conversion_id`, the pixel's `rdt('track', …, {conversionId})`. Reddit hashes its own way (an email
//! without its `+tag` and the dots of its name; a phone with its `+`). A refused batch names its bad events
//! (`$.data.events[i]`); none of the batch was taken. `ad_account_id` holds the id the path takes: the pixel id
//! (`a2_…` or `t2_…`), as Reddit's v3 keys the route by it.
//! Facts and sources: docs/destinations.md, "reddit".

use super::platform::{
    hashed, hashed_phone_e164, item_count, object, put, standard_name, whole, Auth, Destination,
    DestinationConfig, ErrorReading, Parts, Platform,
};
use crate::event::{ActionSource, Event};
use crate::hit::field::percent_encode;
use crate::identity::click_ids::ClickId;
use crate::identity::normalize::{sha256_hex, Key};
use serde_json::{Map, Value};

pub const DEFAULT_ORIGIN: &str = "https://ads-api.reddit.com";

/// Our standard names → Reddit's `tracking_type`s (v3, upper snake case); others go as `CUSTOM` with their name.
const NAMES: [(&str, &str); 7] = [
    ("Purchase", "PURCHASE"),
    ("AddToCart", "ADD_TO_CART"),
    ("ViewContent", "VIEW_CONTENT"),
    ("Lead", "LEAD"),
    ("CompleteRegistration", "SIGN_UP"),
    ("Search", "SEARCH"),
    ("PageView", "PAGE_VISIT"),
];

/// Reddit rate-limits requests that carry a default user agent: each integration names itself.
const USER_AGENT: &str = "capi-edge/0.1 (server-side tag; +https://github.com/capi-edge)";

/// The email as Reddit matches it: the shared normalization (trimmed, lowercase), then the name without its
/// `+tag` and without anything but letters and digits (`Al.ice+shop@x.com` → `alice@x.com`), hashed.
fn hashed_email(ev: &Event) -> Option<String> {
    let id = ev.user.identifiers.get(&Key::Email)?;
    let Some(email) = &id.normalized else {
        return Some(id.sha256.clone());
    };
    let (name, domain) = email.split_once('@')?;
    let name: String = name
        .split('+')
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect();
    Some(sha256_hex(&format!("{name}@{domain}")))
}

pub struct Reddit;

impl Platform for Reddit {
    fn name(&self) -> &'static str {
        "reddit"
    }

    fn account_setting(&self) -> Option<&'static str> {
        Some("ad_account_id")
    }

    fn settings(&self) -> &'static [&'static str] {
        &["ad_account_id", "test_mode"]
    }

    fn default_endpoint(&self, _config: &DestinationConfig, pixel: &str) -> Option<String> {
        Some(format!(
            "{DEFAULT_ORIGIN}/api/v3/pixels/{}/conversion_events",
            percent_encode(pixel)
        ))
    }

    fn event_name(&self, event: &Event) -> String {
        standard_name(event, &NAMES).map_or_else(|| event.name.clone(), str::to_string)
    }

    fn event_json(&self, _dest: &Destination, ev: &Event) -> Result<Value, String> {
        let kind = match standard_name(ev, &NAMES) {
            Some(name) => object([("tracking_type", name.into())]),
            None => {
                let name: String = ev.name.chars().take(64).collect();
                object([
                    ("tracking_type", "CUSTOM".into()),
                    ("custom_event_name", name.into()),
                ])
            }
        };
        let mut user = Map::new();
        put(&mut user, "email", hashed_email(ev));
        put(&mut user, "phone_number", hashed_phone_e164(ev));
        put(&mut user, "external_id", hashed(ev, Key::ExternalId));
        put(&mut user, "ip_address", ev.user.client_ip.clone());
        put(&mut user, "user_agent", ev.user.user_agent.clone());
        put(
            &mut user,
            "uuid",
            ev.user.click_ids.get(&ClickId::RdtUuid).cloned(),
        );

        let mut metadata = Map::new();
        metadata.insert("conversion_id".into(), ev.event_id.clone().into());
        if let (Some(value), Some(currency)) = (ev.value, &ev.currency) {
            metadata.insert("currency".into(), currency.clone().into());
            metadata.insert("value".into(), value.into());
        }
        if !ev.contents.is_empty() {
            metadata.insert("item_count".into(), item_count(ev));
            let products: Vec<Value> = ev
                .contents
                .iter()
                .map(|c| {
                    let mut p = Map::new();
                    p.insert("id".into(), c.id.clone().into());
                    put(&mut p, "name", c.name.clone());
                    put(&mut p, "category", c.category.clone());
                    put(&mut p, "quantity", c.quantity.map(whole));
                    put(&mut p, "item_price", c.price);
                    Value::Object(p)
                })
                .collect();
            metadata.insert("products".into(), products.into());
        }

        let source = match ev.action_source {
            ActionSource::Website => "WEBSITE",
            ActionSource::App => "APP",
            ActionSource::PhysicalStore => "PHYSICAL_STORE",
            _ => "OTHER",
        };
        let mut out = Map::new();
        out.insert("event_at".into(), ev.time_ms.into());
        out.insert("action_source".into(), source.into());
        if ev.action_source == ActionSource::Website {
            put(&mut out, "event_source_url", ev.source_url.clone());
        }
        put(
            &mut out,
            "click_id",
            ev.user.click_ids.get(&ClickId::RdtCid).cloned(),
        );
        out.insert("type".into(), kind);
        out.insert("metadata".into(), Value::Object(metadata));
        out.insert("user".into(), Value::Object(user));
        Ok(Value::Object(out))
    }

    /// With `test_mode` (the test id), the events show in Events Manager's Event Testing.
    fn request(&self, dest: &Destination, events: Vec<Value>, auth: &Auth, _test: bool) -> Parts {
        let mut data = object([
            ("partner", "CAPI_EDGE".into()),
            ("events", Value::Array(events)),
        ]);
        if let Some(id) = dest.settings.get("test_mode") {
            data["test_id"] = id.clone().into();
        }
        let headers = vec![
            (
                "authorization".to_string(),
                format!("Bearer {}", auth.token()),
            ),
            ("user-agent".to_string(), USER_AGENT.to_string()),
        ];
        (dest.endpoint.clone(), headers, object([("data", data)]))
    }

    fn read_error(
        &self,
        dest: &Destination,
        status: u16,
        error: &Value,
        message: &str,
    ) -> Option<ErrorReading> {
        match status {
            401 => Some(ErrorReading::Config(format!(
                "Reddit refused the access token (HTTP 401: {message}): put a new conversion access token in the secret {}",
                dest.token_secret.as_deref().unwrap_or("?")
            ))),
            403 => Some(ErrorReading::Config(format!(
                "Reddit: this token may not post to pixel {} (HTTP 403: {message}): check ad_account_id (the pixel id, a2_… or t2_…)",
                dest.pixel_id
            ))),
            400 => {
                let fields = error.pointer("/error/fields").and_then(Value::as_array);
                let first = fields.and_then(|f| f.first());
                let index = first
                    .and_then(|f| f.get("field"))
                    .and_then(Value::as_str)
                    .and_then(|f| f.strip_prefix("$.data.events["))
                    .and_then(|rest| rest.split(']').next())
                    .and_then(|n| n.parse().ok());
                let detail = first
                    .and_then(|f| f.get("message"))
                    .and_then(Value::as_str)
                    .map(|m| format!(" ({m})"))
                    .unwrap_or_default();
                Some(ErrorReading::Rejected {
                    index,
                    message: format!("HTTP 400: {message}{detail}"),
                })
            }
            _ => None,
        }
    }

    fn test_mode_refusal(&self, dest: &Destination) -> Option<String> {
        (!dest.settings.contains_key("test_mode")).then(|| {
            format!(
                "not sent: debug traffic needs test_mode (the test id from Reddit's Events Manager → Event Testing) on destination \"{}\", or it would count as a real conversion",
                dest.name
            )
        })
    }
}
