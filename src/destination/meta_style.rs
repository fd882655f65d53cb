//! The Meta-style layout, shared by `meta` (Meta's Graph API) and `capi` (the setup article's endpoint): the event
//! JSON (`event_name`, `event_time`, `user_data`, `custom_data`), Graph's error codes, and the test mode's
//! `test_event_code` rule.

use super::platform::{item_count, put, whole, Destination, ErrorReading};
use crate::event::standard;
use crate::event::Event;
use serde_json::{Map, Value};

/// Meta requires `value` and `currency` on a Purchase (developers.facebook.com/docs/meta-pixel/reference, the
/// standard events table): without them the event is dropped here, never sent to fail a batch.
fn check_rules(ev: &Event) -> Result<(), String> {
    let purchase = standard::lookup(&ev.name).is_some_and(|e| e.meta == "Purchase");
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
        custom.insert("num_items".into(), item_count(ev));
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

/// Meta's error codes worth a retry: 1 and 2 (temporary), 341 and 368 (temporarily blocked), and throttling:
/// 4 (app), 17 (account), 613 ("Calls to this api have exceeded the rate limit"), 80003 (ads insights).
/// Sources: developers.facebook.com/docs/graph-api/guides/error-handling and …/overview/rate-limiting.
const RETRY_CODES: [i64; 8] = [1, 2, 4, 17, 341, 368, 613, 80003];
/// The access token is invalid or expired. The event is fine; the token needs fixing, so it is retried.
const TOKEN_CODE: i64 = 190;

/// What Meta's `error.code` says about a refused request, when it says more than the HTTP status.
pub fn read_error(status: u16, error: &Value, message: &str) -> Option<ErrorReading> {
    let code = error.pointer("/error/code").and_then(Value::as_i64)?;
    if RETRY_CODES.contains(&code) {
        return Some(ErrorReading::Retry(format!(
            "HTTP {status} code {code}: {message}"
        )));
    }
    (code == TOKEN_CODE)
        .then(|| ErrorReading::Retry(format!("HTTP {status} (check the token secret): {message}")))
}

/// Adds the configured `test_event_code`, so the platform's test tool shows the events instead of counting them.
pub fn with_test_event_code(mut body: Value, dest: &Destination) -> Value {
    if let Some(code) = &dest.test_event_code {
        body["test_event_code"] = code.clone().into();
    }
    body
}

/// Debug traffic would count as real conversions without a `test_event_code`.
pub fn test_mode_refusal(dest: &Destination) -> Option<String> {
    dest.test_event_code.is_none().then(|| {
        format!(
            "not sent: debug traffic needs a test_event_code on destination \"{}\", or it would count as a real conversion",
            dest.name
        )
    })
}
