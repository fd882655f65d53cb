//! Destinations: where events go. Each kind is one file implementing [`Platform`] (`platform.rs`) and one line
//! in `registry.rs`; a kind turns a destination-neutral [`Event`] into its own JSON and a batch of those into an
//! [`OutboundRequest`] value. Nothing here sends: the edge shell does. `Destination`'s calls below go through
//! its kind.

mod capi;
pub mod ga4;
mod ga4_mp;
mod google_ads;
mod linkedin;
mod meta;
mod meta_style;
mod oauth1;
mod openai;
mod pinterest;
mod platform;
mod reddit;
mod registry;
mod snap;
mod tiktok;
mod webhook;
mod x;

pub use platform::{
    check_platform_rules, is_secret_name, object, put, rebase_url, whole, Auth, Destination,
    DestinationConfig, ErrorReading, OutboundRequest, Parts, PerEvent, Platform, RedactedSecrets,
    Secrets, TokenRequest, MAX_EVENT_AGE_MS, MAX_EVENT_FUTURE_MS, PLATFORM_MAX_BATCH,
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
        let platform = kind.platform();
        let account_key = platform.account_setting();
        let account = account_key.and_then(|key| config.account(key));
        let pixel_id = account
            .map(|p| p.get_ref().trim().to_string())
            .unwrap_or_default();
        if let (Some(key), true) = (account_key, pixel_id.is_empty()) {
            errors.push(
                Diagnostic::new(
                    format!("destination \"{name}\" needs a {key}"),
                    Some(account.map_or(config.name.span(), |a| a.span())),
                )
                .with_hint(format!(
                    "copy it from the platform's events manager: {key} = \"…\""
                )),
            );
        }
        if platform.needs_token() && config.token_secret.is_none() {
            let upper = name.to_ascii_uppercase().replace('-', "_");
            errors.push(
                Diagnostic::new(format!("destination \"{name}\" needs token_secret"), Some(config.name.span())).with_hint(
                    format!("name the Worker secret that holds the access token, e.g. token_secret = \"{upper}_TOKEN\", then run `wrangler secret put {upper}_TOKEN`"),
                ),
            );
        }
        if let (Some(key), Some(p)) = (account_key.filter(|k| *k != "pixel_id"), &config.pixel_id) {
            errors.push(
                Diagnostic::new(
                    format!(
                        "a {} destination names its account with {key}, not pixel_id",
                        kind.as_str()
                    ),
                    Some(p.span()),
                )
                .with_hint(format!("write {key} = \"{}\"", p.get_ref())),
            );
        }
        for (key, span) in config.kind_settings() {
            if !platform.settings().contains(&key) && account_key != Some(key) {
                errors.push(
                    Diagnostic::new(
                        format!("{key} is not a setting of a {} destination", kind.as_str()),
                        Some(span),
                    )
                    .with_hint(format!(
                        "remove it, or check kind = \"{}\" (see the README's list of kinds and their settings)",
                        kind.as_str()
                    )),
                );
            }
        }
        for (key, secret) in config.settings_map() {
            let names_secret = key.ends_with("_secret") || key.starts_with("oauth_secrets.");
            if names_secret && !is_secret_name(&secret) {
                errors.push(
                    Diagnostic::new(
                        format!("{key} must be the NAME of a Worker secret, not the secret itself"),
                        Some(config.name.span()),
                    )
                    .with_hint("use capital letters, digits and _, e.g. \"GA4_API_SECRET\"; keep the value itself out of this file"),
                );
            }
        }
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
            validate_only: config.validate_only.or(config.test).unwrap_or(false),
            max_batch,
            settings: config.settings_map(),
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

    /// The conversion a platform's event name stands for, in the tags' words (`order_created` at OpenAI and
    /// `checkout` at Pinterest are `Purchase`), so the dashboard names one conversion once across platforms.
    /// `tag_events`: the config's tags' event names; then the standard events. `None` when no name, or more
    /// than one, gives it (Snap's `SIGN_UP` is both Lead and CompleteRegistration; OpenAI's `custom` any
    /// custom event): the platform's own name then stands.
    pub fn conversion_name(&self, platform_event: &str, tag_events: &[&str]) -> Option<String> {
        let standard = crate::event::standard::STANDARD_EVENTS
            .iter()
            .map(|e| e.meta);
        let mut found: Vec<&str> = tag_events
            .iter()
            .copied()
            .chain(standard)
            .chain(["Search"])
            .filter(|name| {
                let event = Event {
                    name: name.to_string(),
                    ..Event::default()
                };
                self.event_name(&event) == platform_event
            })
            .collect();
        found.sort_unstable();
        found.dedup();
        match found.as_slice() {
            [one] => Some(one.to_string()),
            _ => None,
        }
    }

    /// What a 2xx answer says beyond "taken" (`Platform::read_success`).
    pub fn read_success(&self, body: &Value) -> Option<ErrorReading> {
        self.kind.platform().read_success(self, body)
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
        let platform = self.kind.platform();
        let auth = self.auth(secrets)?;
        let (url, mut headers, body) = platform.request(self, events, &auth, test);
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

    /// The secrets, access token, time and nonce a request of this destination is built with. Fails only when a
    /// secret is missing.
    pub fn auth(&self, secrets: &dyn Secrets) -> Result<Auth, String> {
        let platform = self.kind.platform();
        let mut auth = Auth {
            access_token: secrets.access_token(&self.name),
            now_ms: secrets.now_ms(),
            nonce: secrets.nonce(),
            ..Auth::default()
        };
        for name in platform.secret_names(self) {
            let value = secrets.secret(&name).ok_or_else(|| {
                format!("secret {name} is not set (run `wrangler secret put {name}`)")
            })?;
            if self.token_secret.as_deref() == Some(name.as_str()) {
                auth.token = Some(value.clone());
            }
            auth.secrets.insert(name, value);
        }
        Ok(auth)
    }

    /// The token exchange this destination needs before sending, if its kind has one (`Platform::token_request`).
    pub fn token_request(&self, secrets: &dyn Secrets) -> Result<Option<TokenRequest>, String> {
        let auth = self.auth(secrets)?;
        Ok(self.kind.platform().token_request(self, &auth))
    }
}

#[cfg(test)]
mod tests;
