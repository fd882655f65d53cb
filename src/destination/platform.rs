//! What every destination kind is: the `Platform` trait, and the values it speaks in (the block as written, the
//! checked destination, the outbound request, the reading of an error, where secrets come from). A kind is one
//! file that implements `Platform` and one line in `registry.rs`.

use super::registry::Kind;
use crate::base::diagnostic::Diagnostic;
use crate::event::{ActionSource, Event};
use serde::Deserialize;
use serde_json::{json, Value};
use toml::Spanned;

/// One destination kind: its settings, its event names and payload, its request and auth, how it reads an
/// answer, its batch limit and its test mode. Only `name`, `event_json` and `request` have no default.
pub trait Platform: Sync {
    /// The kind as `[[destination]] kind = "…"` names it (a contract: configs and scripts use it).
    fn name(&self) -> &'static str;

    /// Ad platforms get consent gating, the timestamp window and the identifier rules; a webhook does not.
    fn is_ad_platform(&self) -> bool {
        true
    }

    /// Whether tags send to it (`ga4` forwards the site's own GA4 hits and takes no tag).
    fn takes_tags(&self) -> bool {
        true
    }

    /// Whether the GA4 client (`<prefix>/g/collect`) passes the site's own GA4 requests on to it, as they came.
    fn forwards_ga4_hits(&self) -> bool {
        false
    }

    /// Checks the block's settings beyond the ones every kind shares (`Destination::build`).
    fn check_settings(&self, _config: &DestinationConfig, _errors: &mut Vec<Diagnostic>) {}

    /// Where to send when the block sets no `endpoint`; `None`: the block must set one.
    fn default_endpoint(&self, config: &DestinationConfig, pixel_id: &str) -> Option<String>;

    /// The most events one request carries, given what the block asked for (`max_batch`, else 1,000).
    fn max_batch(&self, configured: usize) -> usize {
        configured
    }

    /// The event name this platform knows the event by (`order_created` for OpenAI's Purchase).
    fn event_name(&self, event: &Event) -> String {
        event.name.clone()
    }

    /// What the platform would refuse, checked before sending so one bad event never fails a batch. The
    /// default is the ad platforms' shared rules (`check_platform_rules`).
    fn check_event(&self, event: &Event, now_ms: i64) -> Result<(), String> {
        check_platform_rules(event, now_ms, true)
    }

    /// The event's JSON for this platform, or why the platform would refuse it.
    fn event_json(&self, dest: &Destination, event: &Event) -> Result<Value, String>;

    /// One request's URL, headers and body for `events` (within `max_batch`); `token` is the secret named by
    /// `token_secret`; `test`: the platform's validation mode (debug traffic).
    fn request(
        &self,
        dest: &Destination,
        events: Vec<Value>,
        token: Option<&str>,
        test: bool,
    ) -> Parts;

    /// What the platform's error body says beyond its HTTP status (throttling codes, an unknown pixel).
    /// `None`: the status alone decides (`delivery::classify`).
    fn read_error(
        &self,
        _dest: &Destination,
        _status: u16,
        _error: &Value,
        _message: &str,
    ) -> Option<ErrorReading> {
        None
    }

    /// Why debug traffic cannot go to this destination (it has no validation mode), if it cannot.
    fn test_mode_refusal(&self, _dest: &Destination) -> Option<String> {
        None
    }
}

/// A request's URL, headers and body, as a kind builds them (`OutboundRequest` adds the rest).
pub type Parts = (String, Vec<(String, String)>, Value);

/// A destination as written in `[[destination]]`.
///
/// ```toml
/// [[destination]]
/// name = "openai"
/// kind = "openai"
/// pixel_id = "px_123"
/// token_secret = "OPENAI_CAPI_KEY"
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DestinationConfig {
    /// What tags call this destination (`destination = "openai"`). Letters, digits, `-` and `_`.
    pub name: Spanned<String>,
    /// `openai` (ChatGPT Ads CAPI), `meta` (Meta's Graph API), `webhook` (generic JSON to your own endpoint),
    /// `ga4` (your site's own GA4 hits, taken at `<prefix>/g/collect`, passed on to Google as they came), or
    /// `capi` (the Meta-style layout the setup article shows for OpenAI).
    pub kind: Spanned<String>,
    /// Where to send. Each kind has a default; set it to point at a local mock or a proxy.
    pub endpoint: Option<Spanned<String>>,
    /// The platform's pixel / dataset id. Required for openai, capi and meta.
    pub pixel_id: Option<Spanned<String>>,
    /// The NAME of the Worker secret that holds the access token (set it with `wrangler secret put NAME`).
    /// Never the token itself. Required for openai, capi and meta; optional for webhook (sent as a Bearer token).
    pub token_secret: Option<Spanned<String>>,
    /// Meta / capi: send to the platform's test tool with this code instead of counting the events.
    pub test_event_code: Option<String>,
    /// OpenAI: validate events without saving them.
    pub validate_only: Option<bool>,
    /// Meta: the Graph API version to send to, like `"v27.0"`. Leave it out to use the version capi-edge was
    /// tested with; set it when Meta retires that version before you update. Ignored when `endpoint` is set.
    pub api_version: Option<Spanned<String>>,
    /// Most events per request; defaults to the platform's limit (1,000).
    pub max_batch: Option<Spanned<usize>>,
}

/// The platforms' limit on events per request.
pub const PLATFORM_MAX_BATCH: usize = 1000;
/// The platforms refuse events older than this (OpenAI and Meta: 7 days).
pub const MAX_EVENT_AGE_MS: i64 = 7 * 24 * 3600 * 1000;
/// …or further ahead than this (OpenAI: 10 minutes).
pub const MAX_EVENT_FUTURE_MS: i64 = 10 * 60 * 1000;

/// A checked destination.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Destination {
    pub name: String,
    pub kind: Kind,
    pub endpoint: String,
    pub pixel_id: String,
    pub token_secret: Option<String>,
    pub test_event_code: Option<String>,
    pub validate_only: bool,
    pub max_batch: usize,
}

/// A platform's error body, read by the destination's own rules.
#[derive(Debug, Clone, PartialEq)]
pub enum ErrorReading {
    /// Throttling or a passing fault the platform names by code (Meta's 4, 17, 613, …): retry later.
    Retry(String),
    /// A setting no retry can fix (OpenAI does not know the pixel id): fail the events now, with this reason.
    Config(String),
}

/// Where secrets come from: Worker secrets at the edge, a redacting stand-in for dry runs.
pub trait Secrets {
    fn secret(&self, name: &str) -> Option<String>;
}

/// Stands in for every secret with `<secret NAME>`, so dry runs show where a token goes without knowing it.
pub struct RedactedSecrets;

impl Secrets for RedactedSecrets {
    fn secret(&self, name: &str) -> Option<String> {
        Some(format!("<secret {name}>"))
    }
}

/// An HTTP request to make. A value: building it sends nothing. A `body` that is a JSON string is sent as that
/// text (the `ga4` kind's lines); any other body as JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboundRequest {
    pub destination: String,
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl OutboundRequest {
    /// The bytes to send.
    pub fn body_text(&self) -> String {
        match &self.body {
            Value::String(text) => text.clone(),
            json => json.to_string(),
        }
    }

    /// The dry-run line `capi-edge run` prints.
    pub fn summary(&self) -> Value {
        json!({"destination": self.destination, "method": self.method, "url": self.url, "body": self.body})
    }
}

/// The rules the ad platforms enforce, checked before sending so one bad event never fails a whole batch: the
/// 7-day and 10-minute window, and a website event's page URL (and user agent, where the platform needs it).
pub fn check_platform_rules(
    event: &Event,
    now_ms: i64,
    needs_user_agent: bool,
) -> Result<(), String> {
    if event.time_ms < now_ms - MAX_EVENT_AGE_MS {
        return Err("event time is more than 7 days old; the platform would refuse it".into());
    }
    if event.time_ms > now_ms + MAX_EVENT_FUTURE_MS {
        return Err(
            "event time is more than 10 minutes in the future; check the sender's clock".into(),
        );
    }
    if event.action_source == ActionSource::Website {
        if event.source_url.is_none() {
            return Err("a website event needs the page URL (event_source_url)".into());
        }
        if needs_user_agent && event.user.user_agent.is_none() {
            return Err(
                "a website event needs the browser's user agent (client_user_agent)".into(),
            );
        }
    }
    Ok(())
}

/// A Worker secret's name: capital letters, digits and `_`.
pub fn is_secret_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// A number as JSON, an integer when it is whole (quantities: `2`, not `2.0`).
pub fn whole(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        Value::from(n as i64)
    } else {
        Value::from(n)
    }
}

/// `url` with its scheme and host replaced by `origin` (path and query kept): how a local run sends every
/// destination to the mock CAPI. Only the operator sets `origin`; no request can.
pub fn rebase_url(url: &str, origin: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = after_scheme.find('/').map_or("/", |i| &after_scheme[i..]);
    format!("{}{path}", origin.trim_end_matches('/'))
}

/// A JSON object from owned values, without the copy `json!` makes of every value it is given.
pub fn object<const N: usize>(entries: [(&str, Value); N]) -> Value {
    Value::Object(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

/// Adds `key: value` to a JSON object when the value is present.
pub fn put<T: Into<Value>>(obj: &mut serde_json::Map<String, Value>, key: &str, value: Option<T>) {
    if let Some(v) = value {
        obj.insert(key.to_string(), v.into());
    }
}
