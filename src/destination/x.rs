//! X's Conversion API: `POST https://ads-api.x.com/12/measurement/conversions/<pixel_id>`, signed with OAuth 1.0a
//! (`oauth1.rs`; the four values from `oauth_secrets`), `{"conversions": [...]}`. The body has no event name:
//! each event counts for an event made in Events Manager (`event_id`, one per event name, `tw-<pixel>-<id>`).
//! Times as ISO 8601 in UTC with milliseconds; the dedup key `conversion_id`, the pixel's
//! `twq('event', …, {conversion_id})`. A request is taken or refused whole, naming no event.
//! Facts and sources: docs/destinations.md, "x".

use super::oauth1;
use super::platform::{
    hashed, hashed_phone_e164, item_count, oauth_secret_names, object, put, require_oauth_secrets,
    whole, Auth, Destination, DestinationConfig, ErrorReading, Parts, Platform,
};
use crate::base::diagnostic::Diagnostic;
use crate::base::time::iso8601_ms;
use crate::event::Event;
use crate::hit::field::percent_encode;
use crate::identity::click_ids::ClickId;
use crate::identity::normalize::Key;
use serde_json::{Map, Value};

pub const DEFAULT_ORIGIN: &str = "https://ads-api.x.com";
/// The Ads API version in the default endpoint (12 is current; X lists no newer one).
pub const API_VERSION: &str = "12";
/// X takes at most 500 conversions per request.
const MAX_BATCH: usize = 500;
/// The `oauth_secrets` X signs with.
/// The `oauth_secrets` X signs with, with the secret name the hint suggests for each.
const OAUTH_KEYS: [(&str, &str); 4] = [
    ("consumer_key", "CONSUMER_KEY"),
    ("consumer_secret", "CONSUMER_SECRET"),
    ("token", "ACCESS_TOKEN"),
    ("token_secret", "ACCESS_TOKEN_SECRET"),
];

fn is_event_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

pub struct X;

impl Platform for X {
    fn name(&self) -> &'static str {
        "x"
    }

    fn needs_token(&self) -> bool {
        false
    }

    fn settings(&self) -> &'static [&'static str] {
        &["event_id", "oauth_secrets"]
    }

    fn check_settings(&self, config: &DestinationConfig, errors: &mut Vec<Diagnostic>) {
        let name = config.name.get_ref();
        require_oauth_secrets(
            config,
            &OAUTH_KEYS,
            "X signs each request with four values from your developer app",
            errors,
        );
        let given = config.oauth_secrets.as_ref();
        if let Some(table) = given {
            for key in table
                .get_ref()
                .keys()
                .filter(|k| !OAUTH_KEYS.iter().any(|(known, _)| known == k))
            {
                errors.push(
                    Diagnostic::new(
                        format!("oauth_secrets.{key} is not one of X's OAuth values"),
                        Some(table.span()),
                    )
                    .with_hint("X's are consumer_key, consumer_secret, token and token_secret"),
                );
            }
        }
        match &config.event_id {
            None => errors.push(
                Diagnostic::new(format!("destination \"{name}\" needs event_id"), Some(config.name.span()))
                    .with_hint("X counts each event for an event made in Events Manager: event_id = { Purchase = \"tw-o8z6j-o87ne\", Lead = \"tw-o8z6j-o87nf\" }"),
            ),
            Some(ids) => {
                for (key, id) in config.settings_map().iter().filter(|(k, _)| k.starts_with("event_id")) {
                    if !is_event_id(id) {
                        errors.push(
                            Diagnostic::new(format!("{key} \"{id}\" is not an X event id"), Some(ids.span()))
                                .with_hint("copy it from the event's install dialog in Events Manager, e.g. \"tw-o8z6j-o87ne\""),
                        );
                    }
                }
            }
        }
    }

    fn secret_names(&self, dest: &Destination) -> Vec<String> {
        oauth_secret_names(dest, &OAUTH_KEYS)
    }

    fn default_endpoint(&self, _config: &DestinationConfig, pixel_id: &str) -> Option<String> {
        Some(format!(
            "{DEFAULT_ORIGIN}/{API_VERSION}/measurement/conversions/{}",
            percent_encode(pixel_id)
        ))
    }

    fn max_batch(&self, configured: usize) -> usize {
        configured.min(MAX_BATCH)
    }

    /// An event with no X event id for its name is not sent; X needs an identifier besides the IP and user
    /// agent (each alone does not count).
    fn event_json(&self, dest: &Destination, ev: &Event) -> Result<Value, String> {
        let event_id = dest.per_event("event_id", &ev.name).ok_or_else(|| {
            format!(
                "no X event id for \"{}\": add it to event_id on destination \"{}\"",
                ev.name, dest.name
            )
        })?;
        let mut identifiers = Vec::new();
        let mut one = |key: &str, value: Option<String>| {
            if let Some(v) = value {
                identifiers.push(object([(key, v.into())]));
            }
        };
        one("twclid", ev.user.click_ids.get(&ClickId::Twclid).cloned());
        one("hashed_email", hashed(ev, Key::Email));
        one("hashed_phone_number", hashed_phone_e164(ev));
        if identifiers.is_empty() {
            return Err("X needs a twclid, an email or a phone to match the event (the IP and user agent alone do not count); it has none".into());
        }
        let mut device = Map::new();
        put(&mut device, "ip_address", ev.user.client_ip.clone());
        put(&mut device, "user_agent", ev.user.user_agent.clone());
        if !device.is_empty() {
            identifiers.push(Value::Object(device));
        }
        let mut out = Map::new();
        out.insert("conversion_time".into(), iso8601_ms(ev.time_ms).into());
        out.insert("event_id".into(), event_id.into());
        out.insert("identifiers".into(), identifiers.into());
        out.insert("conversion_id".into(), ev.event_id.clone().into());
        if let (Some(value), Some(currency)) = (ev.value, &ev.currency) {
            out.insert("value".into(), value.into());
            out.insert("price_currency".into(), currency.clone().into());
        }
        if !ev.contents.is_empty() {
            out.insert("number_items".into(), item_count(ev));
            let contents: Vec<Value> = ev
                .contents
                .iter()
                .map(|c| {
                    let mut item = Map::new();
                    item.insert("content_id".into(), c.id.clone().into());
                    put(&mut item, "content_name", c.name.clone());
                    put(&mut item, "content_type", c.category.clone());
                    put(&mut item, "content_price", c.price);
                    put(&mut item, "num_items", c.quantity.map(whole));
                    Value::Object(item)
                })
                .collect();
            out.insert("contents".into(), contents.into());
        }
        Ok(Value::Object(out))
    }

    /// Signed for the URL X is sent to by default (a local mock sees the same path, and checks the same URL).
    fn request(&self, dest: &Destination, events: Vec<Value>, auth: &Auth, _test: bool) -> Parts {
        let secret = |k: &str| auth.setting_secret(dest, &format!("oauth_secrets.{k}"));
        let credentials = oauth1::Credentials {
            consumer_key: secret("consumer_key"),
            consumer_secret: secret("consumer_secret"),
            token: secret("token"),
            token_secret: secret("token_secret"),
        };
        let header = oauth1::authorization(
            "POST",
            &dest.endpoint,
            &credentials,
            &auth.nonce,
            auth.now_ms.div_euclid(1000),
        );
        (
            dest.endpoint.clone(),
            vec![("authorization".to_string(), header)],
            object([("conversions", Value::Array(events))]),
        )
    }

    fn read_error(
        &self,
        dest: &Destination,
        status: u16,
        error: &Value,
        message: &str,
    ) -> Option<ErrorReading> {
        let first = error.pointer("/errors/0");
        let code = first
            .and_then(|e| e.get("code"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let text = first
            .and_then(|e| e.get("message"))
            .and_then(Value::as_str)
            .unwrap_or(message);
        match status {
            401 => Some(ErrorReading::Config(format!(
                "X refused the request's signature ({code} {text}): check the four oauth_secrets, and that the worker's clock is right"
            ))),
            403 => Some(ErrorReading::Config(format!(
                "X: the developer app may not use the Ads API ({code} {text}): ask X for Ads API access for the app"
            ))),
            404 => Some(ErrorReading::Config(format!(
                "X does not know pixel {} or its event ids for this user ({code} {text}): check pixel_id and event_id on destination \"{}\"",
                dest.pixel_id, dest.name
            ))),
            400 => Some(ErrorReading::Rejected {
                index: None,
                message: format!("HTTP 400 {code}: {text}"),
            }),
            _ => None,
        }
    }

    /// An answer with `errors`, even with 200 (one integration reports it), is a refusal.
    fn read_success(&self, dest: &Destination, body: &Value) -> Option<ErrorReading> {
        body.get("errors")
            .filter(|e| e.as_array().is_some_and(|a| !a.is_empty()))
            .and_then(|_| self.read_error(dest, 400, body, "refused"))
    }

    fn test_mode_refusal(&self, dest: &Destination) -> Option<String> {
        Some(format!(
            "not sent: X has no test mode, and debug traffic to destination \"{}\" would count as a real conversion",
            dest.name
        ))
    }
}
