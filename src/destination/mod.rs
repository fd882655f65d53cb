//! Destinations: where events go. Each kind turns a destination-neutral [`Event`] into its own JSON and a batch
//! of those into an [`OutboundRequest`] value. Nothing here sends: the edge shell does.

mod capi;
pub mod ga4;
mod meta;
mod openai;
mod webhook;

use crate::diagnostic::{suggestion, Diagnostic};
use crate::event::{ActionSource, Event};
use serde::Deserialize;
use serde_json::{json, Value};
use toml::Spanned;

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Kind {
    OpenAi,
    Capi,
    Meta,
    Webhook,
    /// A site's GA4 hits forwarded to Google as they came (no tag sends to it).
    Ga4,
}

const KINDS: [&str; 5] = ["openai", "capi", "meta", "webhook", "ga4"];

impl Kind {
    pub fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "openai" => Kind::OpenAi,
            "capi" => Kind::Capi,
            "meta" => Kind::Meta,
            "webhook" => Kind::Webhook,
            "ga4" => Kind::Ga4,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        KINDS[self as usize]
    }

    /// Ad platforms get consent gating, the timestamp window and the identifier rules; a webhook does not.
    pub fn is_ad_platform(self) -> bool {
        !matches!(self, Kind::Webhook | Kind::Ga4)
    }
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

impl Destination {
    pub fn build(config: &DestinationConfig, errors: &mut Vec<Diagnostic>) -> Option<Destination> {
        let before = errors.len();
        let name = config.name.get_ref();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            errors.push(
                Diagnostic::new(
                    format!("destination name \"{name}\" is not a simple name"),
                    Some(config.name.span()),
                )
                .with_hint("use letters, digits, - and _, e.g. \"openai\" or \"meta-eu\""),
            );
        }
        let kind = Kind::parse(config.kind.get_ref());
        if kind.is_none() {
            errors.push(
                Diagnostic::new(
                    format!("unknown destination kind \"{}\"", config.kind.get_ref()),
                    Some(config.kind.span()),
                )
                .with_hint(suggestion(config.kind.get_ref(), "kinds", &KINDS)),
            );
        }
        if let Some(secret) = config
            .token_secret
            .as_ref()
            .filter(|s| !is_secret_name(s.get_ref()))
        {
            errors.push(
                Diagnostic::new("token_secret must be the NAME of a Worker secret, not the token", Some(secret.span()))
                    .with_hint("use capital letters, digits and _, e.g. \"OPENAI_CAPI_KEY\"; keep the token itself out of this file"),
            );
        }
        let kind = kind?;
        let pixel_id = config
            .pixel_id
            .as_ref()
            .map(|p| p.get_ref().trim().to_string())
            .unwrap_or_default();
        if kind.is_ad_platform() && pixel_id.is_empty() {
            errors.push(
                Diagnostic::new(
                    format!("destination \"{name}\" needs a pixel_id"),
                    Some(config.name.span()),
                )
                .with_hint("copy it from the platform's events manager: pixel_id = \"…\""),
            );
        }
        if kind.is_ad_platform() && config.token_secret.is_none() {
            let upper = name.to_ascii_uppercase().replace('-', "_");
            errors.push(
                Diagnostic::new(format!("destination \"{name}\" needs token_secret"), Some(config.name.span())).with_hint(
                    format!("name the Worker secret that holds the access token, e.g. token_secret = \"{upper}_TOKEN\", then run `wrangler secret put {upper}_TOKEN`"),
                ),
            );
        }
        let endpoint = match &config.endpoint {
            Some(e) => {
                let url = e.get_ref();
                if !(url.starts_with("https://") || url.starts_with("http://"))
                    || url.contains(char::is_whitespace)
                {
                    errors.push(
                        Diagnostic::new(
                            format!("endpoint \"{url}\" is not an http(s) URL"),
                            Some(e.span()),
                        )
                        .with_hint("write the full URL, e.g. \"https://bzr.openai.com/v1/events\""),
                    );
                }
                url.clone()
            }
            None => match kind {
                Kind::OpenAi => openai::DEFAULT_ENDPOINT.to_string(),
                Kind::Capi => capi::DEFAULT_ENDPOINT.to_string(),
                Kind::Meta => meta::default_endpoint(
                    config.api_version.as_ref().map(|v| v.get_ref().as_str()),
                    &pixel_id,
                ),
                Kind::Ga4 => ga4::DEFAULT_ENDPOINT.to_string(),
                Kind::Webhook => {
                    errors.push(
                        Diagnostic::new(
                            format!("webhook destination \"{name}\" needs an endpoint"),
                            Some(config.name.span()),
                        )
                        .with_hint("endpoint = \"https://example.com/hooks/conversions\""),
                    );
                    String::new()
                }
            },
        };
        if let Some(v) = config
            .api_version
            .as_ref()
            .filter(|v| !meta::is_api_version(v.get_ref()))
        {
            errors.push(
                Diagnostic::new(
                    format!("api_version \"{}\" is not a Graph API version", v.get_ref()),
                    Some(v.span()),
                )
                .with_hint(format!(
                    "write it as Meta does, e.g. \"{}\"",
                    meta::DEFAULT_API_VERSION
                )),
            );
        }
        let max_batch = match &config.max_batch {
            Some(m) if *m.get_ref() == 0 || *m.get_ref() > PLATFORM_MAX_BATCH => {
                errors.push(
                    Diagnostic::new("max_batch must be between 1 and 1000", Some(m.span()))
                        .with_hint("the platforms accept at most 1,000 events per request"),
                );
                PLATFORM_MAX_BATCH
            }
            Some(m) => *m.get_ref(),
            None => PLATFORM_MAX_BATCH,
        };
        // One forward is one of the site's requests to Google, sent as it came.
        let max_batch = if kind == Kind::Ga4 { 1 } else { max_batch };
        if errors.len() > before {
            return None;
        }
        Some(Destination {
            name: name.clone(),
            kind,
            endpoint,
            pixel_id,
            token_secret: config.token_secret.as_ref().map(|s| s.get_ref().clone()),
            test_event_code: config.test_event_code.clone(),
            validate_only: config.validate_only.unwrap_or(false),
            max_batch,
        })
    }

    /// The event name this destination knows the event by (`order_created` for OpenAI's Purchase).
    pub fn event_name(&self, event: &Event) -> String {
        match self.kind {
            Kind::OpenAi => openai::event_type(&event.name).0,
            _ => event.name.clone(),
        }
    }

    /// The event's JSON for this destination, or why the platform would refuse it.
    pub fn event_payload(&self, event: &Event, now_ms: i64) -> Result<Value, String> {
        if self.kind.is_ad_platform() {
            check_platform_rules(self.kind, event, now_ms)?;
        }
        match self.kind {
            Kind::OpenAi => openai::event_json(event),
            Kind::Capi | Kind::Meta => capi::event_json(event),
            Kind::Webhook => Ok(webhook::event_json(event)),
            Kind::Ga4 => Err(format!(
                "destination \"{}\" forwards the site's GA4 hits as they came; no tag sends events to it",
                self.name
            )),
        }
    }

    /// What the platform's error body says beyond its HTTP status, read by the kind's own rules (Meta's
    /// throttling codes, OpenAI's unknown pixel id). `None`: the status alone decides (`delivery::classify`).
    pub fn read_error(&self, status: u16, error: &Value, message: &str) -> Option<ErrorReading> {
        match self.kind {
            Kind::Meta | Kind::Capi => meta::read_error(status, error, message),
            Kind::OpenAi => openai::is_unknown_pixel(status, message).then(|| {
                ErrorReading::Config(format!(
                    "OpenAI does not know pixel id {}: check pixel_id in capi.toml (HTTP {status}: {message})",
                    self.pixel_id
                ))
            }),
            Kind::Webhook | Kind::Ga4 => None,
        }
    }

    /// One request carrying `events` (already within `max_batch`). Fails only when a secret is missing.
    pub fn request(
        &self,
        events: Vec<Value>,
        secrets: &dyn Secrets,
    ) -> Result<OutboundRequest, String> {
        self.request_with(events, secrets, false)
    }

    /// Like `request`; with `test`, in the platform's validation mode (OpenAI `validate_only`, the configured
    /// `test_event_code` for the Meta-style layouts; see `preview::test_mode_refusal`).
    pub fn request_with(
        &self,
        events: Vec<Value>,
        secrets: &dyn Secrets,
        test: bool,
    ) -> Result<OutboundRequest, String> {
        let dest = if test && self.kind == Kind::OpenAi {
            std::borrow::Cow::Owned(Destination {
                validate_only: true,
                ..self.clone()
            })
        } else {
            std::borrow::Cow::Borrowed(self)
        };
        dest.build_request(events, secrets)
    }

    fn build_request(
        &self,
        events: Vec<Value>,
        secrets: &dyn Secrets,
    ) -> Result<OutboundRequest, String> {
        let token = match &self.token_secret {
            Some(name) => Some(secrets.secret(name).ok_or_else(|| {
                format!("secret {name} is not set (run `wrangler secret put {name}`)")
            })?),
            None => None,
        };
        let (url, mut headers, body) = match self.kind {
            Kind::OpenAi => openai::request(self, events, token.as_deref().unwrap_or_default()),
            Kind::Capi => capi::request(self, events, token.as_deref().unwrap_or_default()),
            Kind::Meta => meta::request(self, events, token.as_deref().unwrap_or_default()),
            Kind::Webhook => webhook::request(self, events, token.as_deref()),
            Kind::Ga4 => ga4::request(self, events),
        };
        if !headers.iter().any(|(name, _)| name == "content-type") {
            headers.insert(
                0,
                ("content-type".to_string(), "application/json".to_string()),
            );
        }
        Ok(OutboundRequest {
            destination: self.name.clone(),
            method: "POST",
            url,
            headers,
            body,
        })
    }
}

/// The rules the ad platforms enforce, checked before sending so one bad event never fails a whole batch.
fn check_platform_rules(kind: Kind, event: &Event, now_ms: i64) -> Result<(), String> {
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
        if kind != Kind::OpenAi && event.user.user_agent.is_none() {
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
pub(crate) fn whole(n: f64) -> Value {
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
pub(crate) fn object<const N: usize>(entries: [(&str, Value); N]) -> Value {
    Value::Object(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

/// Adds `key: value` to a JSON object when the value is present.
pub(crate) fn put<T: Into<Value>>(
    obj: &mut serde_json::Map<String, Value>,
    key: &str,
    value: Option<T>,
) {
    if let Some(v) = value {
        obj.insert(key.to_string(), v.into());
    }
}

#[cfg(test)]
mod tests;
