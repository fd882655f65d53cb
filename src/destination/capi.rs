//! The Meta-style CAPI layout the setup article shows for OpenAI:
//! `POST https://ads-api.openai.com/v1/events` with `{"pixel_id", "access_token", "data": [...]}`.
//! Its events are Meta's (`event_name`, `event_time`, `user_data`, `custom_data`), so `meta` reuses `event_json`.

use super::{object, put, whole, Destination};
use crate::event::Event;
use crate::standard_event;
use serde_json::{Map, Value};

pub const DEFAULT_ENDPOINT: &str = "https://ads-api.openai.com/v1/events";

/// Meta requires `value` and `currency` on a Purchase (developers.facebook.com/docs/meta-pixel/reference, the
/// standard events table): without them the event is dropped here, never sent to fail a batch.
fn check_rules(ev: &Event) -> Result<(), String> {
    let purchase = standard_event::lookup(&ev.name).is_some_and(|e| e.meta == "Purchase");
    let missing: Vec<&str> = [
        ("data.value", ev.value.is_none()),
        ("data.currency", ev.currency.is_none()),
    ]
    .into_iter()
    .filter_map(|(field, absent)| absent.then_some(field))
    .collect();
    if purchase && !missing.is_empty() {
        return Err(format!(
            "a Purchase needs a value and a currency; {} {} missing, and the platform would refuse it",
            missing.join(" and "),
            if missing.len() > 1 { "are" } else { "is" }
        ));
    }
    Ok(())
}

/// The event in Meta's shape, or why Meta would refuse it. user_data: every customer-information key is a list
/// of hashes (Meta's SDKs send lists).
pub fn event_json(ev: &Event) -> Result<Value, String> {
    check_rules(ev)?;
    let mut user = Map::new();
    for (key, id) in &ev.user.identifiers {
        user.insert(
            key.code().into(),
            Value::Array(vec![id.sha256.clone().into()]),
        );
    }
    put(&mut user, "client_ip_address", ev.user.client_ip.clone());
    put(&mut user, "client_user_agent", ev.user.user_agent.clone());
    put(&mut user, "fbc", ev.user.fbc.clone());
    put(&mut user, "fbp", ev.user.fbp.clone());

    let mut custom = Map::new();
    put(&mut custom, "value", ev.value);
    put(&mut custom, "currency", ev.currency.clone());
    if !ev.contents.is_empty() {
        let items: Vec<Value> = ev
            .contents
            .iter()
            .map(|c| {
                let mut item = Map::new();
                item.insert("id".into(), c.id.clone().into());
                put(&mut item, "quantity", c.quantity.map(whole));
                put(&mut item, "item_price", c.price);
                put(&mut item, "title", c.name.clone());
                put(&mut item, "category", c.category.clone());
                Value::Object(item)
            })
            .collect();
        custom.insert(
            "content_ids".into(),
            ev.contents
                .iter()
                .map(|c| c.id.clone())
                .collect::<Vec<_>>()
                .into(),
        );
        custom.insert("content_type".into(), "product".into());
        custom.insert("contents".into(), items.into());
        // An integer, as Meta's SDKs type it (facebook-python-business-sdk, serverside/custom_data.py).
        let items: f64 = ev.contents.iter().map(|c| c.quantity.unwrap_or(1.0)).sum();
        custom.insert("num_items".into(), (items.round() as i64).into());
    }
    put(&mut custom, "order_id", ev.order_id.clone());
    for (k, v) in &ev.custom {
        custom.entry(k.clone()).or_insert_with(|| v.clone());
    }

    let mut out = Map::new();
    out.insert("event_name".into(), ev.name.clone().into());
    out.insert("event_time".into(), (ev.time_ms / 1000).into());
    out.insert("event_id".into(), ev.event_id.clone().into());
    out.insert("action_source".into(), ev.action_source.meta().into());
    put(&mut out, "event_source_url", ev.source_url.clone());
    out.insert("user_data".into(), Value::Object(user));
    if !custom.is_empty() {
        out.insert("custom_data".into(), Value::Object(custom));
    }
    Ok(Value::Object(out))
}

pub fn request(
    dest: &Destination,
    events: Vec<Value>,
    token: &str,
) -> (String, Vec<(String, String)>, Value) {
    let mut body = object([
        ("pixel_id", dest.pixel_id.clone().into()),
        ("access_token", token.into()),
        ("data", Value::Array(events)),
    ]);
    if let Some(code) = &dest.test_event_code {
        body["test_event_code"] = code.clone().into();
    }
    (dest.endpoint.clone(), Vec::new(), body)
}
