//! Pinterest's API for Conversions (v5): `POST https://api.pinterest.com/v5/ad_accounts/<ad_account_id>/events`
//! with a Bearer token, `{"data": [...]}`, `?test=true` for events that are validated and not recorded. Times in
//! unix seconds, the dedup key `event_id` (the tag's `pintrk('track', …, {event_id})`), money as strings, the
//! hashed identifiers as Meta normalizes them, in lists. Pinterest reports each event's fate
//! (`events[i].status`), so a partly refused batch fails only the refused events.
//! Facts and sources: docs/destinations.md, "pinterest".

use super::platform::{
    decimal_text, item_count, put, standard_name, unix_seconds, Auth, Destination,
    DestinationConfig, ErrorReading, Parts, Platform,
};
use crate::base::diagnostic::Diagnostic;
use crate::event::{ActionSource, Event};
use crate::hit::field::percent_encode;
use crate::identity::click_ids::ClickId;
use serde_json::{Map, Value};

pub const DEFAULT_ORIGIN: &str = "https://api.pinterest.com";

/// Our standard names → Pinterest's (the v5 spec's `event_name` enum); anything else is `custom`.
const NAMES: [(&str, &str); 9] = [
    ("Purchase", "checkout"),
    ("AddToCart", "add_to_cart"),
    ("InitiateCheckout", "initiate_checkout"),
    ("ViewContent", "view_content"),
    ("Lead", "lead"),
    ("CompleteRegistration", "signup"),
    ("Search", "search"),
    ("PageView", "page_visit"),
    ("Subscribe", "subscribe"),
];

/// `custom_data` keys Pinterest takes (the spec sets `additionalProperties: false`: any other key fails the
/// whole request), beyond the ones built here.
const CUSTOM_KEYS: [&str; 4] = [
    "search_string",
    "content_name",
    "content_category",
    "content_brand",
];

pub struct Pinterest;

impl Platform for Pinterest {
    fn name(&self) -> &'static str {
        "pinterest"
    }

    fn account_setting(&self) -> Option<&'static str> {
        Some("ad_account_id")
    }

    fn settings(&self) -> &'static [&'static str] {
        &["ad_account_id", "test"]
    }

    fn check_settings(&self, config: &DestinationConfig, errors: &mut Vec<Diagnostic>) {
        if let Some(id) = config.ad_account_id.as_ref().filter(|id| {
            let id = id.get_ref().trim();
            id.is_empty() || id.len() > 18 || !id.bytes().all(|b| b.is_ascii_digit())
        }) {
            errors.push(
                Diagnostic::new(
                    format!("ad_account_id \"{}\" is not a Pinterest ad account id", id.get_ref()),
                    Some(id.span()),
                )
                .with_hint("it is the number in Ads Manager's URL (up to 18 digits), e.g. ad_account_id = \"549755885175\""),
            );
        }
    }

    fn default_endpoint(&self, _config: &DestinationConfig, account: &str) -> Option<String> {
        Some(format!(
            "{DEFAULT_ORIGIN}/v5/ad_accounts/{}/events",
            percent_encode(account)
        ))
    }

    fn event_name(&self, event: &Event) -> String {
        standard_name(event, &NAMES).unwrap_or("custom").to_string()
    }

    /// Pinterest needs an email, or both the IP and the user agent, to match the event to anyone.
    fn check_event(&self, event: &Event, now_ms: i64) -> Result<(), String> {
        super::platform::check_platform_rules(event, now_ms, true)?;
        let user = &event.user;
        if user.identifiers.is_empty() && (user.client_ip.is_none() || user.user_agent.is_none()) {
            return Err("Pinterest needs an email, or both the IP and the user agent; the event has neither".into());
        }
        Ok(())
    }

    fn event_json(&self, _dest: &Destination, ev: &Event) -> Result<Value, String> {
        let mut user = Map::new();
        for (key, id) in &ev.user.identifiers {
            user.insert(
                key.code().into(),
                Value::Array(vec![id.sha256.clone().into()]),
            );
        }
        put(&mut user, "client_ip_address", ev.user.client_ip.clone());
        put(&mut user, "client_user_agent", ev.user.user_agent.clone());
        put(
            &mut user,
            "click_id",
            ev.user.click_ids.get(&ClickId::Epik).cloned(),
        );

        let mut custom = Map::new();
        put(&mut custom, "currency", ev.currency.clone());
        put(&mut custom, "value", ev.value.map(decimal_text));
        put(&mut custom, "order_id", ev.order_id.clone());
        if !ev.contents.is_empty() {
            let ids: Vec<Value> = ev.contents.iter().map(|c| c.id.clone().into()).collect();
            custom.insert("content_ids".into(), ids.into());
            let items: Vec<Value> = ev
                .contents
                .iter()
                .map(|c| {
                    let mut item = Map::new();
                    item.insert("id".into(), c.id.clone().into());
                    put(&mut item, "item_name", c.name.clone());
                    put(&mut item, "item_category", c.category.clone());
                    put(&mut item, "item_price", c.price.map(decimal_text));
                    put(&mut item, "quantity", c.quantity.map(|q| q.round() as i64));
                    Value::Object(item)
                })
                .collect();
            custom.insert("contents".into(), items.into());
            custom.insert("num_items".into(), item_count(ev));
        }
        for key in CUSTOM_KEYS {
            if let Some(v) = ev.custom.get(key).and_then(crate::rules::trigger::as_text) {
                custom.insert(key.into(), v.into());
            }
        }

        let mut out = Map::new();
        out.insert("event_name".into(), self.event_name(ev).into());
        let source = match ev.action_source {
            ActionSource::Website => "web",
            ActionSource::App => "app_android",
            _ => "offline",
        };
        out.insert("action_source".into(), source.into());
        out.insert("event_time".into(), unix_seconds(ev.time_ms).into());
        out.insert("event_id".into(), ev.event_id.clone().into());
        put(&mut out, "event_source_url", ev.source_url.clone());
        out.insert("partner_name".into(), "ss-capi-edge".into());
        out.insert("user_data".into(), Value::Object(user));
        if !custom.is_empty() {
            out.insert("custom_data".into(), Value::Object(custom));
        }
        Ok(Value::Object(out))
    }

    fn request(&self, dest: &Destination, events: Vec<Value>, auth: &Auth, test: bool) -> Parts {
        let url = if dest.validate_only || test {
            let sep = if dest.endpoint.contains('?') {
                '&'
            } else {
                '?'
            };
            format!("{}{sep}test=true", dest.endpoint)
        } else {
            dest.endpoint.clone()
        };
        let headers = vec![(
            "authorization".to_string(),
            format!("Bearer {}", auth.token()),
        )];
        (
            url,
            headers,
            super::platform::object([("data", Value::Array(events))]),
        )
    }

    fn read_error(
        &self,
        dest: &Destination,
        status: u16,
        error: &Value,
        message: &str,
    ) -> Option<ErrorReading> {
        let code = error.get("code").and_then(Value::as_i64);
        let text = error
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or(message);
        match (status, code) {
            (401, _) => Some(ErrorReading::Config(format!(
                "Pinterest refused the access token (HTTP 401: {text}): put a new conversion token in the secret {}",
                dest.token_secret.as_deref().unwrap_or("?")
            ))),
            (403, _) => Some(ErrorReading::Config(format!(
                "Pinterest: this token may not send to ad account {} (HTTP 403: {text}): check ad_account_id",
                dest.pixel_id
            ))),
            // "Not all events were successfully processed": each event's fate, when the body gives it.
            (422, _) => per_event(error).or(Some(ErrorReading::Rejected {
                index: None,
                message: format!("HTTP 422: {text}"),
            })),
            _ => None,
        }
    }

    fn read_success(&self, _dest: &Destination, body: &Value) -> Option<ErrorReading> {
        per_event(body)
    }
}

/// The events Pinterest says failed (`events[i].status = "failed"`, in the request's order), if it says.
fn per_event(body: &Value) -> Option<ErrorReading> {
    let events = body
        .get("events")
        .or_else(|| body.pointer("/details/events"))?
        .as_array()?;
    let failed: Vec<(usize, String)> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| e.get("status").and_then(Value::as_str) == Some("failed"))
        .map(|(i, e)| {
            let why = e
                .get("error_message")
                .and_then(Value::as_str)
                .unwrap_or("refused");
            (i, format!("Pinterest: {why}"))
        })
        .collect();
    Some(ErrorReading::Partial(failed))
}
