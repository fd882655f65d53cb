//! TikTok's Events API 2.0: `POST https://business-api.tiktok.com/open_api/v1.3/event/track/` with an
//! `Access-Token` header (no `Bearer`), `{"event_source": "web", "event_source_id": <pixel_code>, "data": [...]}`.
//! Times in unix seconds; the dedup key is `event_id`, the pixel's `ttq.track(name, props, {event_id})`. TikTok
//! answers most refusals with HTTP 200 and a non-zero `code`, and fails a whole batch for one bad event.
//! Facts and sources: docs/destinations.md, "tiktok".

use super::platform::{
    hashed, hashed_phone_e164, object, put, standard_name, unix_seconds, whole, Auth, Destination,
    DestinationConfig, ErrorReading, Parts, Platform,
};
use crate::event::Event;
use crate::identity::click_ids::ClickId;
use crate::identity::normalize::Key;
use serde_json::{Map, Value};

pub const DEFAULT_ENDPOINT: &str = "https://business-api.tiktok.com/open_api/v1.3/event/track/";

/// Our standard names → TikTok's (ads.tiktok.com/help/article/supported-standard-events; `Purchase` and `Lead`
/// replaced `CompletePayment` and `SubmitForm` in May 2025; `Pageview` is what the pixel's `ttq.page()` sends).
const NAMES: [(&str, &str); 11] = [
    ("Purchase", "Purchase"),
    ("AddToCart", "AddToCart"),
    ("InitiateCheckout", "InitiateCheckout"),
    ("ViewContent", "ViewContent"),
    ("Lead", "Lead"),
    ("CompleteRegistration", "CompleteRegistration"),
    ("Search", "Search"),
    ("PageView", "Pageview"),
    ("Subscribe", "Subscribe"),
    ("StartTrial", "StartTrial"),
    ("Schedule", "Schedule"),
];

/// `code`s worth a retry: 40100 (too many requests), 40700 (internal error); 5xxxx are server errors too.
const RETRY_CODES: [i64; 2] = [40100, 40700];
/// 40001: no permission on the pixel (a token of another account, or a pixel code it does not know).
const NO_PERMISSION: i64 = 40001;
/// 40104, 40105: the access token is empty, invalid or expired (TikTok's return-code list).
const TOKEN_CODES: [i64; 2] = [40104, 40105];

pub struct TikTok;

impl Platform for TikTok {
    fn name(&self) -> &'static str {
        "tiktok"
    }

    fn account_setting(&self) -> Option<&'static str> {
        Some("pixel_code")
    }

    fn settings(&self) -> &'static [&'static str] {
        &["pixel_code"]
    }

    fn default_endpoint(&self, _config: &DestinationConfig, _pixel: &str) -> Option<String> {
        Some(DEFAULT_ENDPOINT.to_string())
    }

    fn event_name(&self, event: &Event) -> String {
        standard_name(event, &NAMES).map_or_else(|| event.name.clone(), str::to_string)
    }

    fn event_json(&self, _dest: &Destination, ev: &Event) -> Result<Value, String> {
        let mut user = Map::new();
        put(&mut user, "email", hashed(ev, Key::Email));
        put(&mut user, "phone", hashed_phone_e164(ev));
        put(&mut user, "external_id", hashed(ev, Key::ExternalId));
        put(&mut user, "first_name", hashed(ev, Key::FirstName));
        put(&mut user, "last_name", hashed(ev, Key::LastName));
        put(&mut user, "zip_code", hashed(ev, Key::Zip));
        // Geography is plain for TikTok (Segment and Stape send it so).
        put(&mut user, "city", ev.user.plain.get(&Key::City).cloned());
        put(&mut user, "state", ev.user.plain.get(&Key::State).cloned());
        put(
            &mut user,
            "country",
            ev.user.plain.get(&Key::Country).cloned(),
        );
        put(&mut user, "ip", ev.user.client_ip.clone());
        put(&mut user, "user_agent", ev.user.user_agent.clone());
        put(
            &mut user,
            "ttclid",
            ev.user.click_ids.get(&ClickId::Ttclid).cloned(),
        );
        put(
            &mut user,
            "ttp",
            ev.user.click_ids.get(&ClickId::Ttp).cloned(),
        );

        let mut properties = Map::new();
        put(&mut properties, "currency", ev.currency.clone());
        put(&mut properties, "value", ev.value);
        put(&mut properties, "order_id", ev.order_id.clone());
        if !ev.contents.is_empty() {
            properties.insert("content_type".into(), "product".into());
            let contents: Vec<Value> = ev
                .contents
                .iter()
                .map(|c| {
                    let mut item = Map::new();
                    item.insert("content_id".into(), c.id.clone().into());
                    put(&mut item, "content_name", c.name.clone());
                    put(&mut item, "content_category", c.category.clone());
                    put(&mut item, "price", c.price);
                    put(&mut item, "quantity", c.quantity.map(whole));
                    Value::Object(item)
                })
                .collect();
            properties.insert("contents".into(), contents.into());
        }

        let mut out = Map::new();
        out.insert("event".into(), self.event_name(ev).into());
        out.insert("event_time".into(), unix_seconds(ev.time_ms).into());
        out.insert("event_id".into(), ev.event_id.clone().into());
        out.insert("user".into(), Value::Object(user));
        if let Some(url) = &ev.source_url {
            out.insert("page".into(), object([("url", url.clone().into())]));
        }
        if !properties.is_empty() {
            out.insert("properties".into(), Value::Object(properties));
        }
        Ok(Value::Object(out))
    }

    /// Every event as `web`, the pixel's source (an order from a webhook belongs to the same pixel); with
    /// `test_event_code` set, the events go to Events Manager's Test Events instead of counting.
    fn request(&self, dest: &Destination, events: Vec<Value>, auth: &Auth, _test: bool) -> Parts {
        let mut body = object([
            ("event_source", "web".into()),
            ("event_source_id", dest.pixel_id.clone().into()),
            ("partner_name", "capi-edge".into()),
            ("data", Value::Array(events)),
        ]);
        if let Some(code) = &dest.test_event_code {
            body["test_event_code"] = code.clone().into();
        }
        let headers = vec![("access-token".to_string(), auth.token().to_string())];
        (dest.endpoint.clone(), headers, body)
    }

    fn read_error(
        &self,
        dest: &Destination,
        status: u16,
        error: &Value,
        message: &str,
    ) -> Option<ErrorReading> {
        read_code(dest, error).or_else(|| {
            (status == 401).then(|| {
                ErrorReading::Config(format!(
                    "TikTok refused the access token: check the secret {} (HTTP 401: {message})",
                    dest.token_secret.as_deref().unwrap_or("?")
                ))
            })
        })
    }

    fn read_success(&self, dest: &Destination, body: &Value) -> Option<ErrorReading> {
        read_code(dest, body)
    }

    fn test_mode_refusal(&self, dest: &Destination) -> Option<String> {
        dest.test_event_code.is_none().then(|| {
            format!(
                "not sent: debug traffic needs a test_event_code on destination \"{}\" (TikTok Events Manager → Test Events), or it would count as a real conversion",
                dest.name
            )
        })
    }
}

/// What TikTok's `code` says: 0 taken; throttling and internal errors retried; a token or permission problem
/// a config error; anything else a refusal of the batch's content (TikTok names no event it could be split by).
fn read_code(dest: &Destination, body: &Value) -> Option<ErrorReading> {
    let code = body.get("code").and_then(Value::as_i64)?;
    let message = body.get("message").and_then(Value::as_str).unwrap_or("");
    if code == 0 {
        return None;
    }
    if RETRY_CODES.contains(&code) || code >= 50000 {
        return Some(ErrorReading::Retry(format!(
            "TikTok code {code}: {message}"
        )));
    }
    if TOKEN_CODES.contains(&code) {
        return Some(ErrorReading::Config(format!(
            "TikTok refused the access token (code {code}: {message}): put a new one in the secret {}",
            dest.token_secret.as_deref().unwrap_or("?")
        )));
    }
    if code == NO_PERMISSION {
        return Some(ErrorReading::Config(format!(
            "TikTok: this token may not send to pixel {} (code {code}: {message}): check pixel_code and the token's account",
            dest.pixel_id
        )));
    }
    Some(ErrorReading::Rejected {
        index: data_index(message),
        message: format!("TikTok code {code}: {message}"),
    })
}

/// The event a TikTok message names by its path (`data.3.properties…`, `Batch.3.…`).
fn data_index(message: &str) -> Option<usize> {
    let rest = message
        .strip_prefix("data.")
        .or_else(|| message.strip_prefix("Batch."))?;
    rest.split('.').next()?.parse().ok()
}
