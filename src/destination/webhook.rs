//! A generic JSON webhook: `{"events": [...]}` to your own endpoint, with a Bearer token when configured.
//! Identifiers are hashed here too: raw customer information never leaves the worker.

use super::{object, put, Destination};
use crate::event::Event;
use serde_json::{json, Map, Value};

pub fn event_json(ev: &Event) -> Value {
    let mut user = Map::new();
    for (key, id) in &ev.user.identifiers {
        user.insert(format!("{}_sha256", key.code()), id.sha256.clone().into());
    }
    put(&mut user, "client_ip_address", ev.user.client_ip.clone());
    put(&mut user, "client_user_agent", ev.user.user_agent.clone());
    put(&mut user, "fbc", ev.user.fbc.clone());
    put(&mut user, "fbp", ev.user.fbp.clone());
    put(&mut user, "oppref", ev.user.oppref.clone());

    let mut data = Map::new();
    put(&mut data, "value", ev.value);
    put(&mut data, "currency", ev.currency.clone());
    put(&mut data, "order_id", ev.order_id.clone());
    if !ev.contents.is_empty() {
        let items: Vec<Value> = ev
            .contents
            .iter()
            .map(|c| json!({"id": c.id, "name": c.name, "quantity": c.quantity, "price": c.price}))
            .collect();
        data.insert("contents".into(), items.into());
    }
    for (k, v) in &ev.custom {
        data.entry(k.clone()).or_insert_with(|| v.clone());
    }
    object([
        ("event_name", ev.name.clone().into()),
        ("event_id", ev.event_id.clone().into()),
        ("event_time_ms", ev.time_ms.into()),
        ("tag", ev.tag.clone().into()),
        ("source", ev.source.as_str().into()),
        ("action_source", ev.action_source.meta().into()),
        ("event_source_url", ev.source_url.clone().into()),
        ("match_quality", ev.match_quality.into()),
        ("user", Value::Object(user)),
        ("data", Value::Object(data)),
    ])
}

pub fn request(
    dest: &Destination,
    events: Vec<Value>,
    token: Option<&str>,
) -> (String, Vec<(String, String)>, Value) {
    let headers = token
        .map(|t| vec![("authorization".to_string(), format!("Bearer {t}"))])
        .unwrap_or_default();
    (
        dest.endpoint.clone(),
        headers,
        object([("events", Value::Array(events))]),
    )
}
