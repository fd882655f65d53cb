//! A generic JSON webhook: `{"events": [...]}` to your own endpoint, with a Bearer token when configured.
//! Identifiers are hashed here too: raw customer information never leaves the worker.

use super::platform::{object, put, Auth, Destination, DestinationConfig, Parts, Platform};
use crate::base::diagnostic::Diagnostic;
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

pub struct Webhook;

impl Platform for Webhook {
    fn name(&self) -> &'static str {
        "webhook"
    }

    fn is_ad_platform(&self) -> bool {
        false
    }

    fn check_settings(&self, config: &DestinationConfig, errors: &mut Vec<Diagnostic>) {
        if config.endpoint.is_none() {
            errors.push(
                Diagnostic::new(
                    format!(
                        "webhook destination \"{}\" needs an endpoint",
                        config.name.get_ref()
                    ),
                    Some(config.name.span()),
                )
                .with_hint("endpoint = \"https://example.com/hooks/conversions\""),
            );
        }
    }

    fn default_endpoint(&self, _config: &DestinationConfig, _pixel_id: &str) -> Option<String> {
        None
    }

    fn event_json(&self, _dest: &Destination, event: &Event) -> Result<Value, String> {
        Ok(event_json(event))
    }

    /// `{"events": [...]}`, with the token as a Bearer header when `token_secret` is set.
    fn request(&self, dest: &Destination, events: Vec<Value>, auth: &Auth, _test: bool) -> Parts {
        let headers = auth
            .token
            .as_deref()
            .map(|t| vec![("authorization".to_string(), format!("Bearer {t}"))])
            .unwrap_or_default();
        (
            dest.endpoint.clone(),
            headers,
            object([("events", Value::Array(events))]),
        )
    }
}
