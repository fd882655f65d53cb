//! Snap's Conversions API v3: `POST https://tr.snapchat.com/v3/<pixel_id>/events?access_token=<token>`
//! (`/events/validate` to check events without recording them), `{"data": [...]}` in Meta's layout with Snap's
//! names (`PURCHASE`, `ADD_CART`). Times in unix seconds; the dedup key `event_id`, the pixel's
//! `transaction_id` on a purchase and `client_dedup_id` otherwise. The identifiers are hashed as Meta hashes them.
//! Facts and sources: docs/destinations.md, "snap".

use super::meta_style;
use super::platform::{
    check_platform_rules, put, standard_name, unix_seconds, Auth, Destination, DestinationConfig,
    ErrorReading, Parts, Platform,
};
use crate::event::{ActionSource, Event};
use crate::hit::field::percent_encode;
use crate::identity::click_ids::ClickId;
use serde_json::{Map, Value};

pub const DEFAULT_ORIGIN: &str = "https://tr.snapchat.com";
/// Snap takes at most 2,000 events per request; the shared limit of 1,000 is below it.
const NAMES: [(&str, &str); 11] = [
    ("Purchase", "PURCHASE"),
    ("AddToCart", "ADD_CART"),
    ("InitiateCheckout", "START_CHECKOUT"),
    ("ViewContent", "VIEW_CONTENT"),
    // Snap has no lead event; Stape sends a lead as SIGN_UP.
    ("Lead", "SIGN_UP"),
    ("CompleteRegistration", "SIGN_UP"),
    ("Search", "SEARCH"),
    ("PageView", "PAGE_VIEW"),
    ("Subscribe", "SUBSCRIBE"),
    ("StartTrial", "START_TRIAL"),
    ("AddPaymentInfo", "ADD_BILLING"),
];

/// Snap's own custom events: five numbered slots, no free names.
fn custom_slot(name: &str) -> bool {
    name.strip_prefix("CUSTOM_EVENT_")
        .is_some_and(|n| matches!(n, "1" | "2" | "3" | "4" | "5"))
}

pub struct Snap;

impl Platform for Snap {
    fn name(&self) -> &'static str {
        "snap"
    }

    fn default_endpoint(&self, _config: &DestinationConfig, pixel_id: &str) -> Option<String> {
        Some(format!(
            "{DEFAULT_ORIGIN}/v3/{}/events",
            percent_encode(pixel_id)
        ))
    }

    fn event_name(&self, event: &Event) -> String {
        standard_name(event, &NAMES).map_or_else(|| event.name.clone(), str::to_string)
    }

    /// Meta's rules (a Purchase needs value and currency; a website event the page and user agent), and Snap's
    /// own vocabulary: a custom event must be one of its five slots.
    fn check_event(&self, event: &Event, now_ms: i64) -> Result<(), String> {
        check_platform_rules(event, now_ms, true)?;
        let name = self.event_name(event);
        if standard_name(event, &NAMES).is_none() && !custom_slot(&name) {
            return Err(format!("Snap has no event \"{name}\": it takes its standard events and CUSTOM_EVENT_1 to CUSTOM_EVENT_5 (name the tag's event one of those)"));
        }
        Ok(())
    }

    fn event_json(&self, _dest: &Destination, ev: &Event) -> Result<Value, String> {
        let mut out = match meta_style::event_json(ev)? {
            Value::Object(out) => out,
            _ => Map::new(),
        };
        out.insert("event_name".into(), self.event_name(ev).into());
        out.insert("event_time".into(), unix_seconds(ev.time_ms).into());
        let source = match ev.action_source {
            ActionSource::Website => "WEB",
            ActionSource::App => "MOBILE_APP",
            _ => "OFFLINE",
        };
        out.insert("action_source".into(), source.into());
        out.insert("integration".into(), "capi-edge".into());
        // Snap's contents take id, quantity and item_price only.
        if let Some(Value::Array(items)) = out
            .get_mut("custom_data")
            .and_then(|c| c.get_mut("contents"))
        {
            for item in items.iter_mut().filter_map(Value::as_object_mut) {
                item.retain(|k, _| matches!(k.as_str(), "id" | "quantity" | "item_price"));
            }
        }
        if let Some(Value::Object(user)) = out.get_mut("user_data") {
            // Meta's browser ids mean nothing to Snap; its own go in their place.
            user.remove("fbc");
            user.remove("fbp");
            put(
                user,
                "sc_click_id",
                ev.user.click_ids.get(&ClickId::ScClickId).cloned(),
            );
            put(
                user,
                "sc_cookie1",
                ev.user.click_ids.get(&ClickId::ScCookie1).cloned(),
            );
        }
        Ok(Value::Object(out))
    }

    /// The token as the `access_token` query parameter (v3 has no header scheme); to `/events/validate` in test
    /// mode, where nothing is recorded.
    fn request(&self, dest: &Destination, events: Vec<Value>, auth: &Auth, test: bool) -> Parts {
        let base = if dest.validate_only || test {
            format!("{}/validate", dest.endpoint.trim_end_matches('/'))
        } else {
            dest.endpoint.clone()
        };
        let url = format!("{base}?access_token={}", percent_encode(auth.token()));
        let mut body = super::platform::object([("data", Value::Array(events))]);
        if let Some(code) = &dest.test_event_code {
            body["test_event_code"] = code.clone().into();
        }
        (url, Vec::new(), body)
    }

    fn read_error(
        &self,
        dest: &Destination,
        status: u16,
        error: &Value,
        message: &str,
    ) -> Option<ErrorReading> {
        let reason = error
            .get("reason")
            .and_then(Value::as_str)
            .unwrap_or(message);
        let lower = reason.to_ascii_lowercase();
        if matches!(status, 401 | 403) || lower.contains("token") || lower.contains("unauthori") {
            return Some(ErrorReading::Config(format!(
                "Snap refused the token or pixel (HTTP {status}: {reason}): check the secret {} and pixel_id {}",
                dest.token_secret.as_deref().unwrap_or("?"),
                dest.pixel_id
            )));
        }
        invalid(error)
    }

    fn read_success(&self, _dest: &Destination, body: &Value) -> Option<ErrorReading> {
        invalid(body)
    }
}

/// A `"status": "INVALID"` answer: the event it names (`"event": <index>`) when it names one.
fn invalid(body: &Value) -> Option<ErrorReading> {
    if body.get("status").and_then(Value::as_str) != Some("INVALID") {
        return None;
    }
    let reason = body
        .get("reason")
        .and_then(Value::as_str)
        .unwrap_or("INVALID");
    let details = body
        .pointer("/errors/error_msgs")
        .and_then(Value::as_array)
        .map(|m| {
            m.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default();
    Some(ErrorReading::Rejected {
        index: body
            .get("event")
            .and_then(Value::as_u64)
            .map(|i| i as usize),
        message: format!(
            "Snap: {reason}{}",
            if details.is_empty() {
                String::new()
            } else {
                format!(" ({details})")
            }
        ),
    })
}
