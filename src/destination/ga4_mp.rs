//! GA4's Measurement Protocol: `POST https://www.google-analytics.com/mp/collect?measurement_id=G-…&api_secret=…`
//! (`/debug/mp/collect` to validate without recording), `{"client_id", "events": [{"name", "params"}]}`.
//! Unlike the `ga4` kind (the site's own gtag hits, passed on as they came), this one sends the tags' events,
//! built here: a purchase from a webhook reaches Analytics even when the browser's hit never did. The client id
//! is the `_ga` cookie's; GA4 has no event id: `transaction_id` (the order) dedups a purchase with gtag's.
//! `/mp/collect` answers 204 to everything, a wrong secret included; only the debug route says what is wrong.
//! Facts and sources: docs/destinations.md, "ga4-mp".

use super::platform::{
    hashed_email_google, hashed_phone_e164, object, put, standard_name, whole, Auth, Destination,
    DestinationConfig, ErrorReading, Parts, Platform,
};
use crate::base::diagnostic::Diagnostic;
use crate::event::Event;
use crate::hit::field::percent_encode;
use crate::identity::click_ids::ClickId;
use crate::identity::normalize::sha256_hex;
use serde_json::{Map, Value};

pub const DEFAULT_ENDPOINT: &str = "https://www.google-analytics.com/mp/collect";

/// Our standard names → GA4's recommended events.
const NAMES: [(&str, &str); 8] = [
    ("Purchase", "purchase"),
    ("AddToCart", "add_to_cart"),
    ("InitiateCheckout", "begin_checkout"),
    ("ViewContent", "view_item"),
    ("Lead", "generate_lead"),
    ("CompleteRegistration", "sign_up"),
    ("Search", "search"),
    ("PageView", "page_view"),
];

/// Names GA4 refuses for an event sent this way.
const RESERVED: [&str; 10] = [
    "ad_click",
    "ad_exposure",
    "ad_query",
    "app_exception",
    "error",
    "first_open",
    "first_visit",
    "session_start",
    "user_engagement",
    "notification_receive",
];

/// A custom event name as GA4 takes it: letters, digits and `_`, starting with a letter, at most 40.
fn custom_name(name: &str) -> Option<String> {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let start = cleaned.find(|c: char| c.is_ascii_alphabetic())?;
    let out: String = cleaned[start..].chars().take(40).collect();
    let out = out.trim_end_matches('_').to_string();
    (!out.is_empty() && !RESERVED.contains(&out.as_str())).then_some(out)
}

/// A client id for an event no browser's `_ga` came with (an order from a webhook): stable per event, in GA's
/// `<random>.<seconds>` form, so a resend is the same client.
fn stand_in_client_id(ev: &Event) -> String {
    let hash = sha256_hex(&ev.event_id);
    let random = u64::from_str_radix(&hash[..12], 16).unwrap_or(0) % 10_000_000_000;
    format!("{random}.{}", ev.time_ms.div_euclid(1000))
}

pub struct Ga4Mp;

impl Platform for Ga4Mp {
    fn name(&self) -> &'static str {
        "ga4-mp"
    }

    fn account_setting(&self) -> Option<&'static str> {
        Some("measurement_id")
    }

    fn needs_token(&self) -> bool {
        false
    }

    fn settings(&self) -> &'static [&'static str] {
        &["measurement_id", "api_secret_secret"]
    }

    fn check_settings(&self, config: &DestinationConfig, errors: &mut Vec<Diagnostic>) {
        if config.api_secret_secret.is_none() {
            let upper = config.name.get_ref().to_ascii_uppercase().replace('-', "_");
            errors.push(
                Diagnostic::new(format!("destination \"{}\" needs api_secret_secret", config.name.get_ref()), Some(config.name.span()))
                    .with_hint(format!("create an API secret in GA4 (Admin → Data streams → your stream → Measurement Protocol API secrets), then api_secret_secret = \"{upper}_API_SECRET\" and `wrangler secret put {upper}_API_SECRET`")),
            );
        }
        if let Some(id) = config.measurement_id.as_ref().filter(|id| {
            let id = id.get_ref().trim();
            !id.starts_with("G-")
                || id.len() < 4
                || !id[2..].bytes().all(|b| b.is_ascii_alphanumeric())
        }) {
            errors.push(
                Diagnostic::new(format!("measurement_id \"{}\" is not a GA4 measurement id", id.get_ref()), Some(id.span()))
                    .with_hint("it starts with G- (Admin → Data streams → your web stream), e.g. measurement_id = \"G-ABC123XYZ\""),
            );
        }
    }

    fn secret_names(&self, dest: &Destination) -> Vec<String> {
        dest.settings
            .get("api_secret_secret")
            .cloned()
            .into_iter()
            .collect()
    }

    fn default_endpoint(&self, _config: &DestinationConfig, _account: &str) -> Option<String> {
        Some(DEFAULT_ENDPOINT.to_string())
    }

    /// All events of a request share one client id: one event per request.
    fn max_batch(&self, _configured: usize) -> usize {
        1
    }

    fn event_name(&self, event: &Event) -> String {
        standard_name(event, &NAMES)
            .map(str::to_string)
            .or_else(|| custom_name(&event.name))
            .unwrap_or_else(|| event.name.clone())
    }

    /// GA4 takes events up to 72 hours old (`timestamp_micros`).
    fn check_event(&self, event: &Event, now_ms: i64) -> Result<(), String> {
        if event.time_ms < now_ms - 72 * 3600 * 1000 {
            return Err("event time is more than 72 hours old; GA4 would not take it".into());
        }
        if standard_name(event, &NAMES).is_none() && custom_name(&event.name).is_none() {
            return Err(format!("GA4 cannot take an event named \"{}\": a name needs a letter and may not be one GA4 reserves", event.name));
        }
        super::platform::check_platform_rules(event, now_ms, false)
    }

    fn event_json(&self, _dest: &Destination, ev: &Event) -> Result<Value, String> {
        let mut params = Map::new();
        put(&mut params, "currency", ev.currency.clone());
        put(&mut params, "value", ev.value);
        put(
            &mut params,
            "transaction_id",
            ev.order_id
                .clone()
                .or_else(|| (self.event_name(ev) == "purchase").then(|| ev.event_id.clone())),
        );
        if !ev.contents.is_empty() {
            let items: Vec<Value> = ev
                .contents
                .iter()
                .map(|c| {
                    let mut item = Map::new();
                    item.insert("item_id".into(), c.id.clone().into());
                    put(&mut item, "item_name", c.name.clone());
                    put(&mut item, "item_category", c.category.clone());
                    put(&mut item, "price", c.price);
                    put(&mut item, "quantity", c.quantity.map(whole));
                    Value::Object(item)
                })
                .collect();
            params.insert("items".into(), items.into());
        }
        put(&mut params, "page_location", ev.source_url.clone());
        // Realtime and session reports count an event with engagement time.
        params.insert("engagement_time_msec".into(), 1.into());

        let mut user = Map::new();
        if let Some(email) = hashed_email_google(ev) {
            user.insert(
                "sha256_email_address".into(),
                vec![Value::from(email)].into(),
            );
        }
        if let Some(phone) = hashed_phone_e164(ev) {
            user.insert(
                "sha256_phone_number".into(),
                vec![Value::from(phone)].into(),
            );
        }
        let client_id = ev
            .user
            .click_ids
            .get(&ClickId::GaClientId)
            .cloned()
            .unwrap_or_else(|| stand_in_client_id(ev));
        let mut out = Map::new();
        out.insert("client_id".into(), client_id.into());
        out.insert("timestamp_micros".into(), (ev.time_ms * 1000).into());
        put(&mut out, "ip_override", ev.user.client_ip.clone());
        put(&mut out, "user_agent", ev.user.user_agent.clone());
        if !user.is_empty() {
            out.insert("user_data".into(), Value::Object(user));
        }
        out.insert(
            "events".into(),
            vec![object([
                ("name", self.event_name(ev).into()),
                ("params", Value::Object(params)),
            ])]
            .into(),
        );
        Ok(Value::Object(out))
    }

    /// The one event's request (`max_batch` is 1): its body is the event's JSON, on the debug route in test
    /// mode. The secret travels in the query, the only place GA4 reads it.
    fn request(&self, dest: &Destination, events: Vec<Value>, auth: &Auth, test: bool) -> Parts {
        let body = events.into_iter().next().unwrap_or(Value::Null);
        let endpoint = if dest.validate_only || test {
            dest.endpoint
                .replacen("/mp/collect", "/debug/mp/collect", 1)
        } else {
            dest.endpoint.clone()
        };
        let secret = auth.setting_secret(dest, "api_secret_secret");
        let url = format!(
            "{endpoint}?measurement_id={}&api_secret={}",
            percent_encode(&dest.pixel_id),
            percent_encode(secret)
        );
        (url, Vec::new(), body)
    }

    /// The debug route's `validationMessages`: the event is refused, with GA4's words.
    fn read_success(&self, _dest: &Destination, body: &Value) -> Option<ErrorReading> {
        let messages = body.get("validationMessages")?.as_array()?;
        let first = messages.first()?;
        let text = first
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or("invalid");
        let code = first
            .get("validationCode")
            .and_then(Value::as_str)
            .unwrap_or("");
        Some(ErrorReading::Rejected {
            index: None,
            message: format!("GA4: {text} ({code})"),
        })
    }
}
