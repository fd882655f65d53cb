//! Destinations: where events go. Each kind is one file implementing [`Platform`] (`platform.rs`) and one line
//! in `registry.rs`; a kind turns a destination-neutral [`Event`] into its own JSON and a batch of those into an
//! [`OutboundRequest`] value. Nothing here sends: the edge shell does. `Destination`'s calls below go through
//! its kind.

mod capi;
pub mod ga4;
mod meta;
mod meta_style;
mod openai;
mod platform;
mod registry;
mod webhook;

pub use platform::{
    check_platform_rules, is_secret_name, object, put, rebase_url, whole, Destination,
    DestinationConfig, ErrorReading, OutboundRequest, Parts, Platform, RedactedSecrets, Secrets,
    MAX_EVENT_AGE_MS, MAX_EVENT_FUTURE_MS, PLATFORM_MAX_BATCH,
};
pub use registry::Kind;

use crate::base::diagnostic::{suggestion, Diagnostic};
use crate::event::Event;
use serde_json::Value;

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
                .with_hint(suggestion(
                    config.kind.get_ref(),
                    "kinds",
                    &Kind::names(),
                )),
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
        let platform = kind.platform();
        platform.check_settings(config, errors);
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
            None => platform
                .default_endpoint(config, &pixel_id)
                .unwrap_or_default(),
        };
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
        let max_batch = platform.max_batch(max_batch);
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
        self.kind.platform().event_name(event)
    }

    /// The event's JSON for this destination, or why the platform would refuse it.
    pub fn event_payload(&self, event: &Event, now_ms: i64) -> Result<Value, String> {
        let platform = self.kind.platform();
        if platform.is_ad_platform() {
            platform.check_event(event, now_ms)?;
        }
        platform.event_json(self, event)
    }

    /// What the platform's error body says beyond its HTTP status, read by the kind's own rules (Meta's
    /// throttling codes, OpenAI's unknown pixel id). `None`: the status alone decides (`delivery::classify`).
    pub fn read_error(&self, status: u16, error: &Value, message: &str) -> Option<ErrorReading> {
        self.kind
            .platform()
            .read_error(self, status, error, message)
    }

    /// Why debug traffic cannot go here (the kind has no validation mode, or lacks its setting), if it cannot.
    pub fn test_mode_refusal(&self) -> Option<String> {
        self.kind.platform().test_mode_refusal(self)
    }

    /// One request carrying `events` (already within `max_batch`). Fails only when a secret is missing.
    pub fn request(
        &self,
        events: Vec<Value>,
        secrets: &dyn Secrets,
    ) -> Result<OutboundRequest, String> {
        self.request_with(events, secrets, false)
    }

    /// Like `request`; with `test`, in the platform's validation mode (OpenAI's `validate_only`, the configured
    /// `test_event_code` for the Meta-style layouts; see `test_mode_refusal`).
    pub fn request_with(
        &self,
        events: Vec<Value>,
        secrets: &dyn Secrets,
        test: bool,
    ) -> Result<OutboundRequest, String> {
        let token = match &self.token_secret {
            Some(name) => Some(secrets.secret(name).ok_or_else(|| {
                format!("secret {name} is not set (run `wrangler secret put {name}`)")
            })?),
            None => None,
        };
        let (url, mut headers, body) =
            self.kind
                .platform()
                .request(self, events, token.as_deref(), test);
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

#[cfg(test)]
mod tests;
