//! What every destination kind is: the `Platform` trait, and the values it speaks in (the block as written, the
//! checked destination, the outbound request, the reading of an error, where secrets come from). A kind is one
//! file that implements `Platform` and one line in `registry.rs`.

use super::registry::Kind;
use crate::base::diagnostic::Diagnostic;
use crate::event::{ActionSource, Event};
use crate::identity::normalize::{sha256_hex, Key};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
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

    /// The setting that names the account the events go to (`pixel_id`, TikTok's `pixel_code`, Pinterest's
    /// `ad_account_id`); its value is the destination's `pixel_id`. `None`: the kind has no such setting.
    fn account_setting(&self) -> Option<&'static str> {
        self.is_ad_platform().then_some("pixel_id")
    }

    /// Whether the block must name a `token_secret` (the kinds that sign or exchange other secrets do not).
    fn needs_token(&self) -> bool {
        self.is_ad_platform()
    }

    /// The settings of `[[destination]]` only this kind reads (`DestinationConfig::kind_settings`); a block that
    /// sets another kind's setting is told so.
    fn settings(&self) -> &'static [&'static str] {
        &[]
    }

    /// Checks the block's settings beyond the ones every kind shares (`Destination::build`).
    fn check_settings(&self, _config: &DestinationConfig, _errors: &mut Vec<Diagnostic>) {}

    /// The Worker secrets a request needs, by name: `token_secret` unless the kind says otherwise.
    fn secret_names(&self, dest: &Destination) -> Vec<String> {
        dest.token_secret.iter().cloned().collect()
    }

    /// The request that trades the destination's long-lived secrets for a short-lived access token (Google's
    /// OAuth refresh), when the kind needs one. The consumer sends it, caches the token (`read_token`) and
    /// passes it as `Auth::access_token`.
    fn token_request(&self, _dest: &Destination, _auth: &Auth) -> Option<TokenRequest> {
        None
    }

    /// The access token and its lifetime in seconds from the answer to `token_request`, or why there is none.
    fn read_token(&self, _status: u16, _body: &Value) -> Result<(String, i64), String> {
        Err("this kind exchanges no token".into())
    }

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

    /// One request's URL, headers and body for `events` (within `max_batch`); `auth` holds the secrets named
    /// by `secret_names` (`auth.token()`: the one `token_secret` names); `test`: the platform's validation mode
    /// (debug traffic).
    fn request(&self, dest: &Destination, events: Vec<Value>, auth: &Auth, test: bool) -> Parts;

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

    /// What a 2xx answer says beyond "taken", for the platforms that answer refusals with 200 (TikTok's
    /// non-zero `code`) or report each event's fate (Pinterest's `events[i].status`). `None`: all taken.
    fn read_success(&self, _dest: &Destination, _body: &Value) -> Option<ErrorReading> {
        None
    }

    /// Why debug traffic cannot go to this destination (it has no validation mode), if it cannot.
    fn test_mode_refusal(&self, _dest: &Destination) -> Option<String> {
        None
    }
}

/// A request's URL, headers and body, as a kind builds them (`OutboundRequest` adds the rest).
pub type Parts = (String, Vec<(String, String)>, Value);

/// A token exchange to make before sending: URL, form body (`application/x-www-form-urlencoded`).
#[derive(Debug, Clone, PartialEq)]
pub struct TokenRequest {
    pub url: String,
    pub form: String,
}

/// What a request is built with: the secrets its kind named, an access token from an exchange, and the time and
/// nonce a signature needs (X's OAuth 1.0a). Values only: building a request sends and logs nothing.
#[derive(Debug, Clone, Default)]
pub struct Auth {
    /// The value of the secret `token_secret` names.
    pub token: Option<String>,
    /// Every secret the kind asked for (`secret_names`), by name.
    pub secrets: BTreeMap<String, String>,
    /// A short-lived token from `token_request`, when the kind has one.
    pub access_token: Option<String>,
    pub now_ms: i64,
    pub nonce: String,
}

impl Auth {
    pub fn token(&self) -> &str {
        self.token.as_deref().unwrap_or_default()
    }

    /// The value of the secret named by setting `key` of `dest` (`api_secret_secret`, `oauth_secrets.token`).
    pub fn setting_secret(&self, dest: &Destination, key: &str) -> &str {
        dest.settings
            .get(key)
            .and_then(|name| self.secrets.get(name))
            .map_or("", String::as_str)
    }
}

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
    /// TikTok: the pixel the events belong to (Events Manager, the pixel's "ID").
    pub pixel_code: Option<Spanned<String>>,
    /// Pinterest, Reddit: the ad account the events belong to.
    pub ad_account_id: Option<Spanned<String>>,
    /// Pinterest: send as test events (`?test=true`): validated, not counted.
    pub test: Option<bool>,
    /// Reddit: the test id from Events Manager → Event Testing; the events then show there (`data.test_id`).
    pub test_mode: Option<Spanned<String>>,
    /// LinkedIn: the conversion rule the events count for, by id or URN; or one per event name
    /// (`{ Purchase = "123", Lead = "456" }`).
    pub conversion_rule: Option<Spanned<PerEvent>>,
    /// GA4 Measurement Protocol: the web stream's measurement id (`G-…`).
    pub measurement_id: Option<Spanned<String>>,
    /// GA4 Measurement Protocol: the NAME of the Worker secret holding the stream's API secret.
    pub api_secret_secret: Option<Spanned<String>>,
    /// Google Ads: the account the conversions belong to (`123-456-7890` or digits).
    pub customer_id: Option<Spanned<String>>,
    /// Google Ads: the manager account the OAuth user reaches the account through, when there is one.
    pub login_customer_id: Option<Spanned<String>>,
    /// Google Ads: the conversion action, by id or resource name; or one per event name.
    pub conversion_action: Option<Spanned<PerEvent>>,
    /// Google Ads: the NAME of the Worker secret holding the API developer token.
    pub developer_token_secret: Option<Spanned<String>>,
    /// The NAMES of the Worker secrets holding the OAuth values: Google Ads `client_id`, `client_secret`,
    /// `refresh_token`; X `consumer_key`, `consumer_secret`, `token`, `token_secret`.
    pub oauth_secrets: Option<Spanned<BTreeMap<String, String>>>,
    /// X: the conversion event id (`tw-…-…`, from Events Manager) per event name, or one for every event.
    pub event_id: Option<Spanned<PerEvent>>,
}

/// A setting given once for every event, or per event name (`{ Purchase = "…", Lead = "…" }`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum PerEvent {
    One(String),
    ByEvent(BTreeMap<String, String>),
}

impl DestinationConfig {
    /// The kind-specific settings this block sets, by key, with their span (for "not a setting of this kind").
    pub fn kind_settings(&self) -> Vec<(&'static str, std::ops::Range<usize>)> {
        fn span<T>(
            key: &'static str,
            v: &Option<Spanned<T>>,
        ) -> Option<(&'static str, std::ops::Range<usize>)> {
            v.as_ref().map(|v| (key, v.span()))
        }
        let flag = |key: &'static str, v: Option<bool>| v.map(|_| (key, self.name.span()));
        [
            span("pixel_code", &self.pixel_code),
            span("ad_account_id", &self.ad_account_id),
            flag("test", self.test),
            span("test_mode", &self.test_mode),
            span("conversion_rule", &self.conversion_rule),
            span("measurement_id", &self.measurement_id),
            span("api_secret_secret", &self.api_secret_secret),
            span("customer_id", &self.customer_id),
            span("login_customer_id", &self.login_customer_id),
            span("conversion_action", &self.conversion_action),
            span("developer_token_secret", &self.developer_token_secret),
            span("oauth_secrets", &self.oauth_secrets),
            span("event_id", &self.event_id),
            span("api_version", &self.api_version),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    /// The kind-specific settings as the checked destination keeps them: text by key, a per-event setting as
    /// `key.<event name>`, a table of secret names as `key.<name>`.
    pub fn settings_map(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let mut text = |key: &str, v: &Option<Spanned<String>>| {
            if let Some(v) = v {
                out.insert(key.to_string(), v.get_ref().trim().to_string());
            }
        };
        text("measurement_id", &self.measurement_id);
        text("test_mode", &self.test_mode);
        text("api_secret_secret", &self.api_secret_secret);
        text("login_customer_id", &self.login_customer_id);
        text("developer_token_secret", &self.developer_token_secret);
        for (key, v) in [
            ("conversion_rule", &self.conversion_rule),
            ("conversion_action", &self.conversion_action),
            ("event_id", &self.event_id),
        ] {
            match v.as_ref().map(Spanned::get_ref) {
                Some(PerEvent::One(s)) => {
                    out.insert(key.to_string(), s.trim().to_string());
                }
                Some(PerEvent::ByEvent(map)) => {
                    for (event, s) in map {
                        out.insert(format!("{key}.{event}"), s.trim().to_string());
                    }
                }
                None => {}
            }
        }
        for (name, secret) in self.oauth_secrets.iter().flat_map(|t| t.get_ref()) {
            out.insert(format!("oauth_secrets.{name}"), secret.clone());
        }
        out
    }

    /// The value of an account setting by key (`Platform::account_setting`).
    pub fn account(&self, key: &str) -> Option<&Spanned<String>> {
        match key {
            "pixel_id" => self.pixel_id.as_ref(),
            "pixel_code" => self.pixel_code.as_ref(),
            "ad_account_id" => self.ad_account_id.as_ref(),
            "measurement_id" => self.measurement_id.as_ref(),
            "customer_id" => self.customer_id.as_ref(),
            _ => None,
        }
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
    /// The kind's own settings (`DestinationConfig::settings_map`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub settings: BTreeMap<String, String>,
}

impl Destination {
    /// A per-event setting for `event_name` (`conversion_rule.Purchase`), else the one for every event.
    pub fn per_event(&self, key: &str, event_name: &str) -> Option<&str> {
        self.settings
            .get(&format!("{key}.{event_name}"))
            .or_else(|| self.settings.get(key))
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }
}

/// A platform's error body, read by the destination's own rules.
#[derive(Debug, Clone, PartialEq)]
pub enum ErrorReading {
    /// Throttling or a passing fault the platform names by code (Meta's 4, 17, 613, …): retry later.
    Retry(String),
    /// A setting no retry can fix (OpenAI does not know the pixel id): fail the events now, with this reason.
    Config(String),
    /// The platform refused the content: event `index` of the batch when it named one.
    Rejected {
        index: Option<usize>,
        message: String,
    },
    /// The platform took the batch but refused these events of it (index, why); the others are taken.
    Partial(Vec<(usize, String)>),
}

/// Where secrets come from: Worker secrets at the edge, a redacting stand-in for dry runs.
/// What a request takes from where it is built: the secrets, and the clock and randomness a signature needs.
pub trait Secrets {
    fn secret(&self, name: &str) -> Option<String>;

    /// A cached access token of destination `destination` (from its kind's `token_request`), if one is held.
    fn access_token(&self, _destination: &str) -> Option<String> {
        None
    }

    /// Now, in unix milliseconds, for a signature's timestamp.
    fn now_ms(&self) -> i64 {
        0
    }

    /// A fresh random value for a signature's nonce.
    fn nonce(&self) -> String {
        "capi-edge-nonce".into()
    }
}

/// Stands in for every secret with `<secret NAME>`, so dry runs show where a token goes without knowing it.
pub struct RedactedSecrets;

impl Secrets for RedactedSecrets {
    fn secret(&self, name: &str) -> Option<String> {
        Some(format!("<secret {name}>"))
    }

    fn access_token(&self, destination: &str) -> Option<String> {
        Some(format!("<access token of {destination}>"))
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

    /// `text` (an answer or a network error about this request, kept in the ledger and shown in the dashboard)
    /// without the secrets the request carried: its URL's query (Snap's `access_token`, GA4's `api_secret`)
    /// and its credential headers, should a platform or the runtime echo them.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        let mut secrets: Vec<String> = Vec::new();
        if let Some((_, query)) = self.url.split_once('?') {
            for pair in query.split('&') {
                if let Some((_, value)) = pair.split_once('=') {
                    secrets.push(value.to_string());
                    secrets.push(crate::hit::field::percent_decode(value));
                }
            }
        }
        for (name, value) in &self.headers {
            if matches!(
                name.as_str(),
                "authorization" | "access-token" | "developer-token"
            ) {
                secrets.push(value.clone());
                // The values inside an `OAuth k="v", …` header; its parameter names are not secrets.
                secrets.extend(
                    value
                        .split([' ', ',', '"', '='])
                        .filter(|part| !part.starts_with("oauth_"))
                        .map(str::to_string),
                );
            }
        }
        // Short values (an id, `true`) are not secrets, and replacing them would garble the text.
        secrets.retain(|s| s.len() >= 12);
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        for secret in secrets {
            out = out.replace(&secret, "(secret)");
        }
        out
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

/// The event's hashed identifier `key`, as the shared normalization made it (Meta's rules).
pub fn hashed(event: &Event, key: Key) -> Option<String> {
    event.user.identifiers.get(&key).map(|id| id.sha256.clone())
}

/// The phone hashed as E.164 *with* its `+` (`sha256("+14155550123")`), the rule of TikTok, Reddit, X and
/// Google, where Meta hashes the digits alone. A phone that came already hashed is sent as it came: its digits
/// are not known here.
pub fn hashed_phone_e164(event: &Event) -> Option<String> {
    let id = event.user.identifiers.get(&Key::Phone)?;
    Some(match &id.normalized {
        Some(digits) => sha256_hex(&format!("+{digits}")),
        None => id.sha256.clone(),
    })
}

/// The email hashed as Google matches it: the shared normalization, and for `gmail.com` and `googlemail.com`
/// the dots of the name removed (`jane.doe@gmail.com` → `janedoe@gmail.com`; support.google.com/google-ads/
/// answer/13262500). Any other address as the shared normalization made it.
pub fn hashed_email_google(event: &Event) -> Option<String> {
    let id = event.user.identifiers.get(&Key::Email)?;
    let Some(email) = &id.normalized else {
        return Some(id.sha256.clone());
    };
    Some(match email.split_once('@') {
        Some((name, domain @ ("gmail.com" | "googlemail.com"))) => {
            sha256_hex(&format!("{}@{domain}", name.replace('.', "")))
        }
        _ => id.sha256.clone(),
    })
}

/// Money as a decimal string with two decimals (`"46.00"`), for the platforms that type it so.
pub fn decimal_text(n: f64) -> String {
    format!("{n:.2}")
}

/// The platform's name for a standard event, from a kind's table of (our standard name, theirs); `None` for
/// an event that is not standard (the kind sends it as its custom event).
pub fn standard_name(event: &Event, table: &[(&str, &'static str)]) -> Option<&'static str> {
    let ours = crate::event::standard::lookup(&event.name).map_or(event.name.as_str(), |e| e.meta);
    table.iter().find(|(o, _)| *o == ours).map(|(_, t)| *t)
}

/// Unix seconds of a time in ms, rounded down.
pub fn unix_seconds(ms: i64) -> i64 {
    ms.div_euclid(1000)
}

/// The number of items of the event's products (a product without a quantity counts once), as a whole JSON
/// number: Meta's and Pinterest's `num_items`, Reddit's `item_count`, X's `number_items`.
pub fn item_count(event: &Event) -> Value {
    let items: f64 = event
        .contents
        .iter()
        .map(|c| c.quantity.unwrap_or(1.0))
        .sum();
    whole(items.round())
}

/// Checks that `oauth_secrets` names every one of `keys` (the OAuth values the kind signs or refreshes with);
/// `hint` says where they come from and is followed by an example of the table.
pub fn require_oauth_secrets(
    config: &DestinationConfig,
    keys: &[(&str, &str)],
    hint: &str,
    errors: &mut Vec<Diagnostic>,
) {
    let name = config.name.get_ref();
    let upper = name.to_ascii_uppercase().replace('-', "_");
    let given = config.oauth_secrets.as_ref();
    let missing: Vec<&str> = keys
        .iter()
        .map(|(k, _)| *k)
        .filter(|k| !given.is_some_and(|t| t.get_ref().contains_key(*k)))
        .collect();
    if missing.is_empty() {
        return;
    }
    let example: Vec<String> = keys
        .iter()
        .map(|(k, secret)| format!("{k} = \"{upper}_{secret}\""))
        .collect();
    errors.push(
        Diagnostic::new(
            format!(
                "destination \"{name}\" needs oauth_secrets with {}",
                missing.join(", ")
            ),
            Some(given.map_or(config.name.span(), |g| g.span())),
        )
        .with_hint(format!(
            "{hint}: oauth_secrets = {{ {} }}, then `wrangler secret put` each",
            example.join(", ")
        )),
    );
}

/// The secrets `oauth_secrets` names for `keys`, in that order.
pub fn oauth_secret_names(dest: &Destination, keys: &[(&str, &str)]) -> Vec<String> {
    keys.iter()
        .filter_map(|(k, _)| dest.settings.get(&format!("oauth_secrets.{k}")).cloned())
        .collect()
}
