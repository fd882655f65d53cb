//! The config file (`capi.toml`): parsed with spans, checked in passes that gather every error, and built
//! into a [`Config`] that is always valid. The parser never opens a file.

pub mod diff;
pub mod operations;
pub mod routes;
pub mod store;
#[cfg(test)]
mod tests;

use crate::base::diagnostic::{did_you_mean, quoted_list, suggestion, Diagnostic};
use crate::config::operations::{
    check_alerts, check_ledger_mode, check_retention, Alerts, AlertsConfig, LedgerMode, Retention,
    RetentionConfig, ALERTS_KEYS, RETENTION_KEYS,
};
use crate::destination::{Destination, DestinationConfig};
use crate::event::standard;
use crate::event::ActionSource;
use crate::rules::mapping::{MapRule, MapRuleConfig, Slot, DEFAULT_MAP};
use crate::rules::trigger::{Condition, ConditionConfig};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::ops::Range;
use toml::de::{DeTable, DeValue, ValueDeserializer};
use toml::Spanned;

/// `[site]`: how the worker meets the browser.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    /// Path prefix of every endpoint the worker serves, e.g. "/r" gives /r/e (events) and /r/s.js (script).
    /// Pick something that doesn't look like tracking; "/collect", "/track" and the like are on blocklists.
    pub path_prefix: Option<Spanned<String>>,
    /// Origins (scheme://host[:port]) whose pages may send events from the browser. Empty: same origin only.
    /// "*" lets any origin send, without cookies (`check` warns about it).
    pub allowed_origins: Option<Vec<Spanned<String>>>,
    /// Largest request body accepted, in bytes (default 65536).
    pub max_body_bytes: Option<usize>,
    /// Domain for the first-party click-id cookies, e.g. "example.com" to share them across subdomains.
    /// Default: the host the request came to.
    pub cookie_domain: Option<String>,
    /// When a hit counts as consent denied: it then goes to no ad platform (webhooks still get it), sets no
    /// cookie, and the ledger counts it as consent-blocked. Default: Google Consent Mode's
    /// `ad_storage` or `ad_user_data` = "denied" in the hit's `context.consent`.
    pub consent_denied: Option<Spanned<ConditionConfig>>,
    /// One hit in N (default 20) joins the rolling sample of recent hits that `capi-edge diff A B --hits` runs
    /// two configs on: identifiers hashed, IP, user agent and cookies replaced, never a hit with denied consent.
    /// 0 keeps no sample.
    pub sample_one_in: Option<u32>,
    /// Query parameters whose values never leave the worker in a URL (default: "email", "e", "phone", "tel").
    /// Values that look like an email address or a phone number are replaced with "(redacted)" in any parameter;
    /// these are replaced whatever they hold. Click ids and utm_* parameters are always kept. `[]` names none.
    pub redact_query: Option<Vec<Spanned<String>>>,
}

/// The checked `[site]` settings.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Site {
    pub path_prefix: String,
    pub allowed_origins: Vec<String>,
    pub max_body_bytes: usize,
    pub cookie_domain: Option<String>,
    pub consent_denied: Condition,
    /// `[site] sample_one_in`; configs compiled before it have the default.
    #[serde(default = "default_sample_one_in")]
    pub sample_one_in: u32,
    /// `[site] redact_query`; configs compiled before it have the default.
    #[serde(default)]
    pub redact_query: crate::hit::redact::Redaction,
}

fn default_sample_one_in() -> u32 {
    DEFAULT_SAMPLE_ONE_IN
}

/// The default consent rule (Google Consent Mode v2 signals).
pub const DEFAULT_CONSENT_DENIED: &str = r#"consent_denied = { any = [
  { field = "context.consent.ad_storage", equals = "denied" },
  { field = "context.consent.ad_user_data", equals = "denied" },
] }"#;

pub const DEFAULT_PATH_PREFIX: &str = "/r";
/// `[site] sample_one_in` when the config leaves it out: one hit in 20 joins the rolling sample.
pub const DEFAULT_SAMPLE_ONE_IN: u32 = 20;
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;

/// `[sources]`: the server-side ways in. Each one is off until configured.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourcesConfig {
    /// The backend events API (`POST <prefix>/api/events`): NAMES of the Worker secrets that hold the accepted
    /// API keys, one per backend, so each can be rotated on its own.
    pub backend_key_secrets: Option<Vec<Spanned<String>>>,
    /// Shopify order webhooks (`POST <prefix>/webhooks/shopify`): NAME of the secret holding the app's signing secret.
    pub shopify_secret: Option<Spanned<String>>,
    /// WooCommerce order webhooks (`POST <prefix>/webhooks/woocommerce`): NAME of the secret holding the webhook secret.
    pub woocommerce_secret: Option<Spanned<String>>,
    /// Your storefront's address, e.g. "https://shop.example.com". A webhook order's page URL is built on it from
    /// the order's landing page (the platforms need an absolute URL). Without it, Shopify orders use the shop's
    /// domain from the webhook's `X-Shopify-Shop-Domain` header, and WooCommerce orders their recorded entry page.
    pub shop_url: Option<Spanned<String>>,
}

/// `[ga4]`: the GA4 client, which takes a site's existing gtag.js hits at `<prefix>/g/collect` (and the
/// dataLayer events the pixel's bridge sends).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ga4Config {
    /// GA4 event names and the event each becomes, on top of the built-in table (purchase → Purchase,
    /// add_to_cart → AddToCart, begin_checkout → InitiateCheckout, view_item → ViewContent, generate_lead → Lead,
    /// sign_up → CompleteRegistration, page_view → PageView). Any other GA4 event keeps its own name.
    /// Example: events = { request_quote = "Lead", purchase = "Purchase" }
    pub events: Option<Spanned<BTreeMap<String, String>>>,
}

/// The checked `[sources]`.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Sources {
    pub backend_key_secrets: Vec<String>,
    pub shopify_secret: Option<String>,
    pub woocommerce_secret: Option<String>,
    /// `https://host`, no trailing slash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shop_url: Option<String>,
}

/// `[[proxy]]`: a platform's own browser script served from the site's domain (`<prefix><path>`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxyConfig {
    /// Where it is served, under the path prefix, e.g. "/lib/oaiq.js".
    pub path: Spanned<String>,
    /// The one fixed URL it is fetched from. Never taken from the request.
    pub upstream: Spanned<String>,
    /// How long the edge keeps a copy, in seconds (default 3600).
    pub cache_seconds: Option<u32>,
    /// Also pass the platform's own beacon requests (POST) on to `upstream`, body and content type kept,
    /// never cached: for a pixel endpoint rather than a script.
    pub pass_requests: Option<bool>,
}

/// A checked `[[proxy]]`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Proxy {
    pub path: String,
    pub upstream: String,
    pub cache_seconds: u32,
    pub pass_requests: bool,
}

/// A tag as written in `[[tag]]`: when it fires (trigger), what it sends (event + map), where (destination).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagConfig {
    /// A name for this tag, shown in traces and test results.
    pub name: Spanned<String>,
    /// The destination to send to (a `[[destination]]` name).
    pub destination: Option<Spanned<String>>,
    /// Several destinations at once; each gets the same event and the same event_id.
    pub destinations: Option<Vec<Spanned<String>>>,
    /// The event to send: a standard name (Purchase, Lead, AddToCart, PageView, ViewContent, InitiateCheckout,
    /// CompleteRegistration, Subscribe, StartTrial, Schedule) or your own custom name.
    pub event: Spanned<String>,
    /// Set to true when `event` is deliberately a custom name that looks like a standard one.
    pub custom_event: Option<bool>,
    /// When the tag fires. Without a trigger it fires on hits whose `event` equals the tag's `event`.
    pub trigger: Option<Spanned<ConditionConfig>>,
    /// Outbound field ← hit field. Added to (and overriding) the standard mapping unless `standard_map = false`.
    pub map: Option<BTreeMap<Spanned<String>, MapRuleConfig>>,
    /// Start from the standard mapping (user.email → em, data.value → value, …). Default true.
    pub standard_map: Option<bool>,
    /// Where the conversion happened: website (default), app, email, phone_call, physical_store, offline, chat,
    /// other.
    pub action_source: Option<Spanned<String>>,
    /// Set to false to switch the tag off without deleting it.
    pub enabled: Option<bool>,
    /// What the ledger keeps of this tag's events: "events" (a row each: exact dedup, replay, reconciliation;
    /// the default) or "counts" (counters only, for high-volume events; the default for PageView).
    pub ledger: Option<Spanned<String>>,
}

/// A checked tag.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Tag {
    pub name: String,
    /// Indexes into `Config::destinations`.
    pub destinations: Vec<usize>,
    pub event: String,
    pub trigger: Option<Condition>,
    pub rules: Vec<MapRule>,
    pub action_source: ActionSource,
    #[serde(default)]
    pub ledger: LedgerMode,
}

/// A `[[test]]` block: a sample hit and what must come out.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestConfig {
    /// What the test checks, in words.
    pub name: Spanned<String>,
    /// The sample hit, in the same shape the pixel sends.
    pub hit: Spanned<Value>,
    /// The tags that must fire (exactly these). Omit to not check.
    pub fires: Option<Spanned<Vec<String>>>,
    /// Per destination name: outbound field path → expected value, e.g. `"data.amount" = 14900`.
    /// A path reads the destination's event JSON: `user.emails_sha256.0`, `custom_data.value`.
    pub expect: Option<BTreeMap<Spanned<String>, ExpectedFields>>,
    /// Where the sample hit comes from: "browser" (default), "server" (the backend API) or "webhook".
    pub source: Option<Spanned<String>>,
    /// Per destination name: fields that must NOT be sent (e.g. an invalid email that must be dropped).
    pub absent: Option<BTreeMap<Spanned<String>, Vec<Spanned<String>>>>,
}

/// Outbound field path → expected value, for one destination.
pub type ExpectedFields = BTreeMap<Spanned<String>, Value>;

/// A whole, valid config.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Config {
    pub site: Site,
    pub sources: Sources,
    pub proxies: Vec<Proxy>,
    pub destinations: Vec<Destination>,
    pub tags: Vec<Tag>,
    /// `[ga4] events`: GA4 event names → event names, over the built-in table.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ga4_events: BTreeMap<String, String>,
    /// `[alerts]`: the scheduled check's thresholds and webhook.
    #[serde(default)]
    pub alerts: Alerts,
    /// `[retention]`: how long the ledger keeps rows and counters.
    #[serde(default)]
    pub retention: Retention,
    /// The `[[test]]` blocks: checked natively (`capi-edge check`), not compiled into the worker.
    #[serde(skip)]
    pub tests: Vec<TestConfig>,
    /// What `check` warns about in a valid config (see [`Severity::Warning`]), in file order. Not compiled.
    ///
    /// [`Severity::Warning`]: crate::base::diagnostic::Severity::Warning
    #[serde(skip)]
    pub warnings: Vec<Diagnostic>,
}

const TOP_LEVEL: [&str; 9] = [
    "site",
    "sources",
    "ga4",
    "alerts",
    "retention",
    "destination",
    "tag",
    "test",
    "proxy",
];

impl Config {
    /// Parses and checks a config. On failure, every problem found, in file order; on success, the warnings
    /// are in `Config::warnings`.
    pub fn parse(source: &str) -> Result<Config, Vec<Diagnostic>> {
        let mut errors = Vec::new();
        let mut warnings = Vec::new();
        let root = match DeTable::parse(source) {
            Ok(root) => root,
            // The one error that stops the file: say so, or the reader takes it for the only mistake.
            Err(e) => {
                return Err(vec![toml_error(&e, "this file").with_note(
                    "the file could not be read as TOML, so no other check ran; fix this first",
                )])
            }
        };
        let mut site_cfg = SiteConfig::default();
        let mut sources_cfg = SourcesConfig::default();
        let mut ga4_cfg = Ga4Config::default();
        let mut alerts_cfg = AlertsConfig::default();
        let mut retention_cfg = RetentionConfig::default();
        let mut proxy_cfgs: Vec<ProxyConfig> = Vec::new();
        let mut dest_cfgs: Vec<DestinationConfig> = Vec::new();
        let mut tag_blocks: Vec<TagBlock> = Vec::new();
        let mut tests: Vec<TestConfig> = Vec::new();
        // Every destination's name as written, broken blocks included: a tag or test naming a destination whose
        // block has an error is not told the destination does not exist (that error is already reported, at its
        // own line). Tags keep theirs in `TagBlock::name`.
        let mut written_dest_names: Vec<String> = Vec::new();
        for (key, value) in root.into_inner() {
            let section = key.get_ref().as_ref().to_string();
            match section.as_str() {
                "site" => {
                    // `consent_denied` is read on its own: a mistake in the condition leaves the rest of [site]
                    // checked, and the other way round.
                    let mut value = value;
                    let consent = take_entry(&mut value, "consent_denied");
                    if let Some(s) = item::<SiteConfig>(value, "[site]", &mut errors) {
                        site_cfg = s;
                    }
                    site_cfg.consent_denied =
                        consent.and_then(|c| item(c, "condition", &mut errors));
                }
                "sources" => {
                    if let Some(s) = item::<SourcesConfig>(value, "[sources]", &mut errors) {
                        sources_cfg = s;
                    }
                }
                "ga4" => {
                    if let Some(g) = item::<Ga4Config>(value, "[ga4]", &mut errors) {
                        ga4_cfg = g;
                    }
                }
                "alerts" => {
                    if let Some(a) = item::<AlertsConfig>(value, "[alerts]", &mut errors) {
                        alerts_cfg = a;
                    }
                }
                "retention" => {
                    if let Some(r) = item::<RetentionConfig>(value, "[retention]", &mut errors) {
                        retention_cfg = r;
                    }
                }
                "proxy" => proxy_cfgs = items(value, "[[proxy]]", &mut errors),
                "destination" => {
                    written_dest_names = block_names(&value);
                    dest_cfgs = items(value, "[[destination]]", &mut errors);
                }
                "tag" => tag_blocks = blocks(value, "[[tag]]", &mut errors, read_tag),
                "test" => tests = items(value, "[[test]]", &mut errors),
                other => errors.push(
                    Diagnostic::new(format!("unknown section \"{other}\""), Some(key.span()))
                        .with_hint(suggestion(other, "sections", &TOP_LEVEL)),
                ),
            }
        }
        let site = check_site(&site_cfg, &mut errors, &mut warnings);
        let sources = check_sources(&sources_cfg, &mut errors);
        let ga4_events = check_ga4(&ga4_cfg, &mut errors);
        let alerts = check_alerts(&alerts_cfg, &mut errors);
        let retention = check_retention(&retention_cfg, &mut errors);
        let proxies = check_proxies(&proxy_cfgs, &mut errors);
        let destinations = check_destinations(&dest_cfgs, &mut errors);
        let tags = check_tags(
            &tag_blocks,
            &dest_cfgs,
            &written_dest_names,
            &destinations,
            &mut errors,
        );
        let written_tag_names: Vec<String> = tag_blocks
            .iter()
            .filter_map(|b| b.name.as_ref().map(|n| n.get_ref().clone()))
            .collect();
        check_tests(&tests, &written_tag_names, &written_dest_names, &mut errors);
        if dest_cfgs.is_empty() && errors.is_empty() {
            errors.push(
                Diagnostic::new("no [[destination]] in this file", None)
                    .with_hint("add one, e.g. [[destination]] name = \"openai\" kind = \"openai\" pixel_id = \"…\" token_secret = \"OPENAI_CAPI_KEY\""),
            );
        }
        if !errors.is_empty() {
            errors.sort_by_key(|e| e.span.as_ref().map_or(usize::MAX, |s| s.start));
            return Err(errors);
        }
        warnings.sort_by_key(|e| e.span.as_ref().map_or(usize::MAX, |s| s.start));
        Ok(Config {
            site,
            sources,
            proxies,
            destinations: destinations.into_iter().flatten().collect(),
            tags,
            ga4_events,
            alerts,
            retention,
            tests,
            warnings,
        })
    }

    /// The GA4 client's event table: the built-in one with `[ga4] events` on top.
    pub fn ga4_table(&self) -> crate::event::ga4_names::EventTable {
        // Checked by `Config::parse`; a compiled config that fails it keeps the built-in table.
        crate::event::ga4_names::EventTable::new(self.ga4_events.clone())
            .unwrap_or_else(|_| crate::event::ga4_names::EventTable::default())
    }

    /// The checked config as JSON, for the worker: `capi-edge compile` writes it at build time, so the Wasm
    /// carries neither the TOML parser nor the checks (they ran natively, with their diagnostics).
    pub fn to_compiled_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads a config that `to_compiled_json` wrote.
    pub fn from_compiled_json(json: &str) -> Result<Config, String> {
        let load = |json: &str| -> Result<Config, serde_json::Error> {
            serde_json::from_value(serde_json::from_slice(json.as_bytes())?)
        };
        load(json).map_err(|e| {
            format!("the compiled config does not load ({e}); rebuild with scripts/build.sh")
        })
    }

    /// Reads a compiled config already parsed as JSON (a stored version's `config`, see `config_store`).
    pub fn from_compiled_value(value: serde_json::Value) -> Result<Config, String> {
        serde_json::from_value(value)
            .map_err(|e| format!("the compiled config does not load ({e})"))
    }

    /// Whether a hit of this event is traffic as expected even when no tag fires: a page view (the pixel sends
    /// one per page), or a name some tag is for whose conditions this hit did not meet. Anything else that fires
    /// nothing (a `Purchse`) is a mistake on the site, which the dashboard counts.
    pub fn expects_event(&self, event: &str) -> bool {
        event == "PageView" || self.tags.iter().any(|t| t.event == event)
    }

    pub fn destination(&self, name: &str) -> Option<&Destination> {
        self.destinations.iter().find(|d| d.name == name)
    }
}

/// Deserializes one table, turning a shape error into a diagnostic. Unknown keys are reported first, all of
/// them (serde stops at the first), so serde's own unknown-key error is then left out.
fn item<T: DeserializeOwned>(
    value: Spanned<DeValue<'_>>,
    section: &str,
    errors: &mut Vec<Diagnostic>,
) -> Option<T> {
    let before = errors.len();
    unknown_keys(&value, section, errors);
    let reported_unknown = errors.len() > before;
    match T::deserialize(ValueDeserializer::from(value)) {
        Ok(v) => Some(v),
        Err(e) => {
            if !(reported_unknown && e.message().starts_with("unknown field")) {
                errors.push(toml_error(&e, section));
            }
            None
        }
    }
}

/// The keys each block takes. Kept beside the structs; `key_lists_match_the_structs` checks they agree.
pub(crate) const SITE_KEYS: &[&str] = &[
    "path_prefix",
    "allowed_origins",
    "max_body_bytes",
    "cookie_domain",
    "consent_denied",
    "sample_one_in",
    "redact_query",
];
pub(crate) const SOURCES_KEYS: &[&str] = &[
    "backend_key_secrets",
    "shopify_secret",
    "woocommerce_secret",
    "shop_url",
];
pub(crate) const GA4_KEYS: &[&str] = &["events"];
pub(crate) const PROXY_KEYS: &[&str] = &["path", "upstream", "cache_seconds", "pass_requests"];
pub(crate) const DESTINATION_KEYS: &[&str] = &[
    "name",
    "kind",
    "endpoint",
    "pixel_id",
    "token_secret",
    "test_event_code",
    "validate_only",
    "api_version",
    "max_batch",
    "pixel_code",
    "ad_account_id",
    "test",
    "test_mode",
    "conversion_rule",
    "measurement_id",
    "api_secret_secret",
    "customer_id",
    "login_customer_id",
    "conversion_action",
    "developer_token_secret",
    "oauth_secrets",
    "event_id",
];
pub(crate) const TAG_KEYS: &[&str] = &[
    "name",
    "destination",
    "destinations",
    "event",
    "custom_event",
    "trigger",
    "map",
    "standard_map",
    "action_source",
    "enabled",
    "ledger",
];
pub(crate) const TEST_KEYS: &[&str] = &["name", "hit", "fires", "expect", "source", "absent"];
pub(crate) const MAP_RULE_KEYS: &[&str] = &["from", "value", "default", "as", "hash"];

/// Reports every key a block does not take, nested conditions and map rules included, each with a hint.
fn unknown_keys(value: &Spanned<DeValue<'_>>, section: &str, errors: &mut Vec<Diagnostic>) {
    let (keys, what): (&[&str], &str) = match section {
        "[site]" => (SITE_KEYS, "[site]"),
        "[sources]" => (SOURCES_KEYS, "[sources]"),
        "[ga4]" => (GA4_KEYS, "[ga4]"),
        "[alerts]" => (ALERTS_KEYS, "[alerts]"),
        "[retention]" => (RETENTION_KEYS, "[retention]"),
        "[[proxy]]" => (PROXY_KEYS, "[[proxy]]"),
        "[[destination]]" => (DESTINATION_KEYS, "[[destination]]"),
        "[[tag]]" => (TAG_KEYS, "[[tag]]"),
        "[[test]]" => (TEST_KEYS, "[[test]]"),
        "condition" => (&crate::rules::trigger::CONDITION_KEYS, "a condition"),
        "map rule" => (MAP_RULE_KEYS, "a mapping"),
        _ => return,
    };
    let DeValue::Table(table) = value.get_ref() else {
        return;
    };
    for (key, child) in table.iter() {
        let name: &str = key.get_ref().as_ref();
        if !keys.contains(&name) {
            errors.push(
                Diagnostic::new(
                    format!("unknown key \"{name}\" in {what}"),
                    Some(key.span()),
                )
                .with_hint(suggestion(name, "keys allowed here", keys)),
            );
            continue;
        }
        match (section, name) {
            ("[[tag]]", "trigger") | ("[site]", "consent_denied") | ("condition", "not") => {
                unknown_keys(child, "condition", errors)
            }
            ("condition", "all" | "any") => {
                if let DeValue::Array(items) = child.get_ref() {
                    for c in items.iter() {
                        unknown_keys(c, "condition", errors);
                    }
                }
            }
            ("[[tag]]", "map") => {
                if let DeValue::Table(rules) = child.get_ref() {
                    for (_, rule) in rules.iter() {
                        unknown_keys(rule, "map rule", errors);
                    }
                }
            }
            _ => {}
        }
    }
}

/// The `name` of each block of an array of tables, as written, whether or not the block is valid.
fn block_names(value: &Spanned<DeValue<'_>>) -> Vec<String> {
    let DeValue::Array(blocks) = value.get_ref() else {
        return Vec::new();
    };
    blocks
        .iter()
        .filter_map(|block| written_name(block).map(Spanned::into_inner))
        .collect()
}

/// A block's `name` as written, with its place, when it is text.
fn written_name(block: &Spanned<DeValue<'_>>) -> Option<Spanned<String>> {
    let DeValue::Table(table) = block.get_ref() else {
        return None;
    };
    match table.get("name").map(|v| (v.span(), v.get_ref())) {
        Some((span, DeValue::String(name))) => Some(Spanned::new(span, name.to_string())),
        _ => None,
    }
}

/// Takes the entry `key` out of a block's table, to be read on its own (see `read_tag`).
fn take_entry<'i>(block: &mut Spanned<DeValue<'i>>, key: &str) -> Option<Spanned<DeValue<'i>>> {
    match block.get_mut() {
        DeValue::Table(table) => table.remove(key),
        _ => None,
    }
}

/// Deserializes each table of an array of tables on its own, so one broken block hides no other error.
fn items<T: DeserializeOwned>(
    value: Spanned<DeValue<'_>>,
    section: &str,
    errors: &mut Vec<Diagnostic>,
) -> Vec<T> {
    blocks(value, section, errors, |v, errors| item(v, section, errors))
        .into_iter()
        .flatten()
        .collect()
}

/// Reads each table of an array of tables with `read`, on its own.
fn blocks<'i, T>(
    value: Spanned<DeValue<'i>>,
    section: &str,
    errors: &mut Vec<Diagnostic>,
    mut read: impl FnMut(Spanned<DeValue<'i>>, &mut Vec<Diagnostic>) -> T,
) -> Vec<T> {
    let span = value.span();
    match value.into_inner() {
        DeValue::Array(array) => array.into_iter().map(|v| read(v, errors)).collect(),
        _ => {
            errors.push(
                Diagnostic::new(
                    format!("{section} must be written as a block: {section}"),
                    Some(span),
                )
                .with_hint(format!("start each one with a line {section}")),
            );
            Vec::new()
        }
    }
}

/// A `[[tag]]` block, read in parts so that one mistake hides no other: its own keys, its trigger and each rule
/// of its map are read on their own, and each part that reads is checked (`check_tags`).
struct TagBlock {
    /// `name` as written, whether or not the rest of the block reads: for the duplicate check and the tests.
    name: Option<Spanned<String>>,
    /// The block's own keys, `None` when they do not read. Its `trigger` and `map` are left empty: they are
    /// the two parts below.
    config: Option<TagConfig>,
    trigger: Option<Spanned<ConditionConfig>>,
    /// The map rules that read.
    map: BTreeMap<Spanned<String>, MapRuleConfig>,
    /// Some part did not read (that error is reported): the tag is checked as far as it goes, never built.
    broken: bool,
}

fn read_tag(mut block: Spanned<DeValue<'_>>, errors: &mut Vec<Diagnostic>) -> TagBlock {
    let name = written_name(&block);
    let trigger = take_entry(&mut block, "trigger");
    let map = take_entry(&mut block, "map");
    let config = item::<TagConfig>(block, "[[tag]]", errors);
    let mut broken = config.is_none();
    let trigger = trigger.and_then(|t| {
        let read = item::<Spanned<ConditionConfig>>(t, "condition", errors);
        broken |= read.is_none();
        read
    });
    let mut rules = BTreeMap::new();
    if let Some(map) = map {
        let span = map.span();
        match map.into_inner() {
            DeValue::Table(table) => {
                for (key, rule) in table {
                    match item::<MapRuleConfig>(rule, "map rule", errors) {
                        Some(r) => {
                            let key = Spanned::new(key.span(), key.into_inner().into_owned());
                            rules.insert(key, r);
                        }
                        None => broken = true,
                    }
                }
            }
            // Not a table: serde says what is wrong with it.
            other => {
                broken = true;
                item::<BTreeMap<Spanned<String>, MapRuleConfig>>(
                    Spanned::new(span, other),
                    "[tag.map]",
                    errors,
                );
            }
        }
    }
    TagBlock {
        name,
        config,
        trigger,
        map: rules,
        broken,
    }
}

/// Rewrites a toml/serde error into plain words with a hint.
fn toml_error(e: &toml::de::Error, section: &str) -> Diagnostic {
    let message = e.message().trim().to_string();
    let span = e.span();
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (word, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let allowed: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        let hint = if allowed.is_empty() {
            "remove it".to_string()
        } else {
            suggestion(word, "keys allowed here", &allowed)
        };
        return Diagnostic::new(format!("unknown key \"{word}\" in {section}"), span)
            .with_hint(hint);
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let field = rest.trim_end_matches('`');
        return Diagnostic::new(
            format!("{section} is missing `{field}`"),
            span.map(|s| s.start..s.start + 1),
        )
        .with_hint(format!("add a line {field} = …"));
    }
    if message.starts_with("data did not match any variant") {
        return Diagnostic::new("expected a field name or a list of field names", span)
            .with_hint("write from = \"user.email\" or from = [\"user.email\", \"data.email\"]");
    }
    // serde's "invalid type: string \"no\", expected a boolean": the same facts, in a marketer's words.
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        if let Some((found, expected)) = rest.split_once(", expected ") {
            let example = match expected {
                "a boolean" => "true or false, without quotes",
                e if e.contains("integer") || e.contains("usize") => {
                    "a whole number, without quotes"
                }
                e if e.contains("string") => "text in quotes, e.g. \"Purchase\"",
                e if e.contains("sequence") => "a list in brackets, e.g. [\"openai\", \"meta\"]",
                _ => "the kind of value this key takes",
            };
            return Diagnostic::new(format!("this must be {expected}, not {found}"), span)
                .with_hint(format!("write {example}"));
        }
    }
    Diagnostic::new(message, span)
}

fn check_site(
    cfg: &SiteConfig,
    errors: &mut Vec<Diagnostic>,
    warnings: &mut Vec<Diagnostic>,
) -> Site {
    let prefix = cfg
        .path_prefix
        .as_ref()
        .map(|p| {
            let v = p.get_ref().trim_end_matches('/').to_string();
            let blocked = ["collect", "track", "pixel", "analytics", "beacon", "tag"];
            if !v.starts_with('/') || v.contains(['?', '#', ' ']) {
                errors.push(
                    Diagnostic::new(
                        format!("path_prefix \"{}\" must start with /", p.get_ref()),
                        Some(p.span()),
                    )
                    .with_hint("e.g. path_prefix = \"/r\""),
                );
            } else if let Some(word) = blocked.iter().find(|w| v.to_ascii_lowercase().contains(*w))
            {
                errors.push(
                    Diagnostic::new(
                        format!(
                            "path_prefix \"{}\" contains \"{word}\", which ad blockers block",
                            p.get_ref()
                        ),
                        Some(p.span()),
                    )
                    .with_hint("pick a neutral path such as \"/r\" or \"/api/s\""),
                );
            }
            v
        })
        .unwrap_or_else(|| DEFAULT_PATH_PREFIX.to_string());
    let mut origins = Vec::new();
    for o in cfg.allowed_origins.iter().flatten() {
        let v = o.get_ref().trim_end_matches('/');
        let ok = (v.starts_with("https://") || v.starts_with("http://"))
            && !v["https://".len().min(v.len())..].contains('/');
        if v == "*" {
            // Allowed (the worker then answers any origin, without credentials), but rarely what a shop wants.
            warnings.push(
                Diagnostic::warning(
                    "allowed_origins \"*\" lets any website send events to this worker",
                    Some(o.span()),
                )
                .with_hint("list the real origins instead, e.g. [\"https://shop.example.com\"]: through \"*\", a page on an origin not listed here sends events without credentials, so its cookies (click ids, _fbp, _fbc) do not come with them"),
            );
        }
        if ok || v == "*" {
            origins.push(v.to_string());
        } else {
            errors.push(
                Diagnostic::new(
                    format!("allowed origin \"{}\" is not an origin", o.get_ref()),
                    Some(o.span()),
                )
                .with_hint("write scheme and host only, e.g. \"https://shop.example.com\""),
            );
        }
    }
    let consent_denied = match &cfg.consent_denied {
        Some(c) => Condition::build(c, errors),
        None => None,
    }
    .unwrap_or_else(default_consent_rule);
    Site {
        consent_denied,
        path_prefix: prefix,
        allowed_origins: origins,
        max_body_bytes: cfg.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES),
        cookie_domain: cfg.cookie_domain.clone(),
        sample_one_in: cfg.sample_one_in.unwrap_or(DEFAULT_SAMPLE_ONE_IN),
        redact_query: check_redact_query(cfg.redact_query.as_deref(), errors),
    }
}

/// `[site] redact_query`: parameter names; an attribution parameter can't be one (the platforms need it).
fn check_redact_query(
    names: Option<&[Spanned<String>]>,
    errors: &mut Vec<Diagnostic>,
) -> crate::hit::redact::Redaction {
    let Some(names) = names else {
        return crate::hit::redact::Redaction::default();
    };
    for n in names {
        let name = n.get_ref();
        if name.trim().is_empty() || name.contains(['&', '=', '?', '#']) {
            errors.push(
                Diagnostic::new(
                    format!("\"{name}\" is not a query parameter's name"),
                    Some(n.span()),
                )
                .with_hint("write the name as it stands before the = in the URL, e.g. \"email\""),
            );
        } else if crate::hit::redact::is_attribution(name) {
            errors.push(
                Diagnostic::new(
                    format!("\"{name}\" carries the click id or campaign the platforms attribute with, so it is never redacted"),
                    Some(n.span()),
                )
                .with_hint("remove it from redact_query"),
            );
        }
    }
    crate::hit::redact::Redaction::new(names.iter().map(|n| n.get_ref()))
}

fn check_sources(cfg: &SourcesConfig, errors: &mut Vec<Diagnostic>) -> Sources {
    let mut name = |s: &Spanned<String>| {
        if !crate::destination::is_secret_name(s.get_ref()) {
            errors.push(
                Diagnostic::new("this must be the NAME of a Worker secret, not the secret itself", Some(s.span()))
                    .with_hint("use capital letters, digits and _, e.g. \"SHOPIFY_WEBHOOK_SECRET\", then `wrangler secret put SHOPIFY_WEBHOOK_SECRET`"),
            );
        }
        s.get_ref().clone()
    };
    Sources {
        backend_key_secrets: cfg
            .backend_key_secrets
            .iter()
            .flatten()
            .map(&mut name)
            .collect(),
        shopify_secret: cfg.shopify_secret.as_ref().map(&mut name),
        woocommerce_secret: cfg.woocommerce_secret.as_ref().map(&mut name),
        shop_url: cfg.shop_url.as_ref().and_then(|url| {
            let base = crate::base::url::shop_base_url(url.get_ref());
            if base.is_none() {
                errors.push(
                    Diagnostic::new(
                        format!("shop_url \"{}\" is not a storefront address", url.get_ref()),
                        Some(url.span()),
                    )
                    .with_hint("write the https:// address of your shop, without a path, e.g. \"https://shop.example.com\""),
                );
            }
            base
        }),
    }
}

fn check_ga4(cfg: &Ga4Config, errors: &mut Vec<Diagnostic>) -> BTreeMap<String, String> {
    let Some(events) = &cfg.events else {
        return BTreeMap::new();
    };
    if let Err(e) = crate::event::ga4_names::EventTable::new(events.get_ref().clone()) {
        errors.push(
            Diagnostic::new(e, Some(events.span()))
                .with_hint("e.g. events = { request_quote = \"Lead\" }"),
        );
    }
    events.get_ref().clone()
}

fn check_proxies(cfgs: &[ProxyConfig], errors: &mut Vec<Diagnostic>) -> Vec<Proxy> {
    let mut out = Vec::new();
    for c in cfgs {
        let path = c.path.get_ref();
        let upstream = c.upstream.get_ref();
        if !path.starts_with('/') || path.contains(['?', '#', ' ']) {
            errors.push(
                Diagnostic::new(
                    format!("proxy path \"{path}\" is not usable"),
                    Some(c.path.span()),
                )
                .with_hint("start it with / and leave out ?, # and spaces, e.g. \"/lib/oaiq.js\""),
            );
            continue;
        }
        // One table of the worker's own routes serves the router and this check, so a proxy can never
        // silently shadow one (or be shadowed by it).
        if crate::config::routes::builtin(path).is_some() {
            errors.push(
                Diagnostic::new(
                    format!("proxy path \"{path}\" is one of the worker's own routes"),
                    Some(c.path.span()),
                )
                .with_hint(format!(
                    "pick another path, e.g. \"/lib/oaiq.js\"; the worker's own paths are {}",
                    crate::config::routes::reserved_list()
                )),
            );
            continue;
        }
        if !upstream.starts_with("https://") || upstream.contains(char::is_whitespace) {
            errors.push(
                Diagnostic::new(
                    format!("proxy upstream \"{upstream}\" must be a full https:// URL"),
                    Some(c.upstream.span()),
                )
                .with_hint("e.g. upstream = \"https://bzrcdn.openai.com/sdk/oaiq.min.js\""),
            );
            continue;
        }
        out.push(Proxy {
            path: path.clone(),
            upstream: upstream.clone(),
            cache_seconds: c.cache_seconds.unwrap_or(3600),
            pass_requests: c.pass_requests.unwrap_or(false),
        });
    }
    out
}

fn check_destinations(
    cfgs: &[DestinationConfig],
    errors: &mut Vec<Diagnostic>,
) -> Vec<Option<Destination>> {
    let mut seen: BTreeMap<&str, Range<usize>> = BTreeMap::new();
    cfgs.iter()
        .map(|c| {
            if let Some(first) = seen.insert(c.name.get_ref(), c.name.span()) {
                errors.push(
                    Diagnostic::new(
                        format!("destination \"{}\" is defined twice", c.name.get_ref()),
                        Some(c.name.span()),
                    )
                    .with_hint(format!(
                        "rename one of them; the first is at byte {}",
                        first.start
                    )),
                );
            }
            Destination::build(c, errors)
        })
        .collect()
}

fn check_tags(
    blocks: &[TagBlock],
    dest_cfgs: &[DestinationConfig],
    written_dest_names: &[String],
    destinations: &[Option<Destination>],
    errors: &mut Vec<Diagnostic>,
) -> Vec<Tag> {
    let names: Vec<&str> = dest_cfgs
        .iter()
        .map(|d| d.name.get_ref().as_str())
        .collect();
    let written: Vec<&str> = written_dest_names.iter().map(String::as_str).collect();
    let mut seen = std::collections::BTreeSet::new();
    let mut tags = Vec::new();
    for block in blocks {
        let before = errors.len();
        // From the block as written, so a duplicate is found even when one of the two blocks does not read.
        if let Some(name) = &block.name {
            if !seen.insert(name.get_ref().as_str()) {
                errors.push(
                    Diagnostic::new(
                        format!("tag \"{}\" is defined twice", name.get_ref()),
                        Some(name.span()),
                    )
                    .with_hint("give each [[tag]] its own name"),
                );
            }
        }
        let trigger = block
            .trigger
            .as_ref()
            .and_then(|t| Condition::build(t, errors));
        let Some(cfg) = &block.config else {
            // The block's own keys did not read (reported); its trigger (above) and map are still checked.
            build_rules(true, &block.map, errors);
            continue;
        };
        let tag_name = cfg.name.get_ref();
        let mut refs: Vec<&Spanned<String>> = cfg.destination.iter().collect();
        refs.extend(cfg.destinations.iter().flatten());
        if refs.is_empty() {
            errors.push(
                Diagnostic::new(
                    format!("tag \"{tag_name}\" has no destination"),
                    Some(cfg.name.span()),
                )
                .with_hint(match names.first() {
                    Some(n) => format!("add destination = \"{n}\" (or destinations = [ … ])"),
                    None => "add a [[destination]] and name it here with destination = \"…\""
                        .to_string(),
                }),
            );
        }
        let mut dest_indexes = Vec::new();
        for r in refs {
            match names.iter().position(|n| n == r.get_ref()) {
                Some(i) => match &destinations[i] {
                    Some(d) if !d.kind.platform().takes_tags() => errors.push(
                        Diagnostic::new(
                            format!("tag \"{tag_name}\" sends to \"{}\", a {} destination", r.get_ref(), d.kind.as_str()),
                            Some(r.span()),
                        )
                        .with_hint("a ga4 destination passes the site's own GA4 hits on to Google as they came, with no tag; remove it from this tag"),
                    ),
                    Some(_) => dest_indexes.push(i),
                    None => {}
                },
                // A destination whose block does not read: its error is reported at its own line.
                None if written.contains(&r.get_ref().as_str()) => {}
                None => {
                    let listed = quoted_list(&written);
                    let mut hint = format!("destinations defined in this file: {listed}.");
                    if let Some(best) = did_you_mean(r.get_ref(), written.iter().copied()) {
                        hint.push_str(&format!(" Did you mean \"{best}\"?"));
                    }
                    errors.push(
                        Diagnostic::new(
                            format!(
                                "unknown destination \"{}\" in tag \"{tag_name}\"",
                                r.get_ref()
                            ),
                            Some(r.span()),
                        )
                        .with_hint(hint),
                    );
                }
            }
        }
        let event = cfg.event.get_ref().trim();
        if event.is_empty() {
            errors.push(
                Diagnostic::new("event name is empty", Some(cfg.event.span()))
                    .with_hint("e.g. event = \"Purchase\""),
            );
        } else if standard::lookup(event).is_none() && cfg.custom_event != Some(true) {
            if let Some(best) = did_you_mean(event, standard::all_names()) {
                errors.push(
                    Diagnostic::new(format!("\"{event}\" is not a standard event"), Some(cfg.event.span())).with_hint(
                        format!("did you mean \"{best}\"? If \"{event}\" is meant as a custom event, add custom_event = true"),
                    ),
                );
            }
        }
        let action_source = match &cfg.action_source {
            Some(a) => ActionSource::parse(a.get_ref()).unwrap_or_else(|| {
                errors.push(
                    Diagnostic::new(
                        format!("unknown action_source \"{}\"", a.get_ref()),
                        Some(a.span()),
                    )
                    .with_hint(suggestion(
                        a.get_ref(),
                        "values",
                        &ActionSource::NAMES,
                    )),
                );
                ActionSource::Website
            }),
            None => ActionSource::Website,
        };
        let rules = build_rules(cfg.standard_map != Some(false), &block.map, errors);
        let ledger = check_ledger_mode(cfg.ledger.as_ref(), event, errors);
        if !block.broken && errors.len() == before && cfg.enabled != Some(false) {
            tags.push(Tag {
                name: tag_name.clone(),
                destinations: dest_indexes,
                event: event.to_string(),
                trigger,
                rules,
                action_source,
                ledger,
            });
        }
    }
    tags
}

/// The standard mapping (unless `standard_map = false`), overridden and extended by the tag's `[tag.map]`.
fn build_rules(
    standard_map: bool,
    map: &BTreeMap<Spanned<String>, MapRuleConfig>,
    errors: &mut Vec<Diagnostic>,
) -> Vec<MapRule> {
    let mut by_slot: BTreeMap<Slot, MapRule> = BTreeMap::new();
    if standard_map {
        for (key, sources) in DEFAULT_MAP {
            let rule = MapRule::default_for(key, sources);
            by_slot.insert(rule.slot.clone(), rule);
        }
    }
    for (key, rule_cfg) in map {
        if let Some(rule) = MapRule::build(key, rule_cfg, errors) {
            by_slot.insert(rule.slot.clone(), rule);
        }
    }
    by_slot.into_values().collect()
}

/// `tag_names` and `dest_names` as written, broken blocks included (see `Config::parse`).
fn check_tests(
    tests: &[TestConfig],
    tag_names: &[String],
    dest_names: &[String],
    errors: &mut Vec<Diagnostic>,
) {
    let tag_names: Vec<&str> = tag_names.iter().map(String::as_str).collect();
    let dest_names: Vec<&str> = dest_names.iter().map(String::as_str).collect();
    for t in tests {
        if let Some(src) = &t.source {
            if !["browser", "server", "webhook"].contains(&src.get_ref().as_str()) {
                errors.push(
                    Diagnostic::new(
                        format!("unknown source \"{}\"", src.get_ref()),
                        Some(src.span()),
                    )
                    .with_hint(suggestion(
                        src.get_ref(),
                        "sources",
                        &["browser", "server", "webhook"],
                    )),
                );
            }
        }
        if let Err(e) = crate::hit::Hit::from_value(t.hit.get_ref().clone()) {
            errors.push(
                Diagnostic::new(format!("test \"{}\": the sample hit is not valid: {e}", t.name.get_ref()), Some(t.hit.span()))
                    .with_hint("a hit looks like { event = \"Purchase\", page = { url = \"…\" }, user = { email = \"…\" }, data = { value = 1 } }"),
            );
        }
        for fired in t.fires.iter().flat_map(|f| f.get_ref().iter()) {
            if !tag_names.contains(&fired.as_str()) {
                errors.push(
                    Diagnostic::new(
                        format!(
                            "test \"{}\" expects unknown tag \"{fired}\"",
                            t.name.get_ref()
                        ),
                        t.fires.as_ref().map(Spanned::span),
                    )
                    .with_hint(suggestion(fired, "tags", &tag_names)),
                );
            }
        }
        let dest_keys = t
            .expect
            .iter()
            .flat_map(|e| e.keys())
            .chain(t.absent.iter().flat_map(|a| a.keys()));
        for d in dest_keys {
            if !dest_names.contains(&d.get_ref().as_str()) {
                errors.push(
                    Diagnostic::new(
                        format!(
                            "test \"{}\" names unknown destination \"{}\"",
                            t.name.get_ref(),
                            d.get_ref()
                        ),
                        Some(d.span()),
                    )
                    .with_hint(suggestion(
                        d.get_ref(),
                        "destinations",
                        &dest_names,
                    )),
                );
            }
        }
    }
}

fn default_consent_rule() -> Condition {
    #[derive(Deserialize)]
    struct Wrap {
        consent_denied: Spanned<ConditionConfig>,
    }
    let wrap: Wrap =
        toml::from_str(DEFAULT_CONSENT_DENIED).expect("the default consent rule parses");
    Condition::build(&wrap.consent_denied, &mut Vec::new())
        .expect("the default consent rule is valid")
}
