//! Mappings: which part of the hit fills which outbound field, and the transforms on the way.
//!
//! ```toml
//! [tag.map]
//! "user.em"       = { from = ["user.email", "data.billing_email"] }   # first non-empty source
//! "data.value"    = { from = "data.total", as = "number" }
//! "data.currency" = { from = "data.currency", as = "currency", default = "USD" }
//! "data.channel"  = { value = "web" }                                  # a constant
//! ```

use crate::base::diagnostic::{suggestion, Diagnostic};
use crate::base::text::Case;
use crate::hit::field::FieldPath;
use crate::hit::Hit;
use crate::identity::click_ids::ClickId;
use crate::identity::normalize::{self, Key};
use crate::rules::trigger::{as_number, as_text};
use serde::Deserialize;
use serde_json::Value;
use toml::Spanned;

/// One or several values: `from = "user.email"` or `from = ["user.email", "data.email"]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn items(&self) -> Vec<&str> {
        match self {
            OneOrMany::One(s) => vec![s.as_str()],
            OneOrMany::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

/// One mapping rule as written in `[tag.map]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MapRuleConfig {
    /// Where the value comes from: a field of the hit, or a list whose first non-empty field wins.
    pub from: Option<Spanned<OneOrMany>>,
    /// A constant value, used when `from` is absent or every source is empty.
    pub value: Option<Value>,
    /// The value to use when every source is empty.
    pub default: Option<Value>,
    /// Transforms applied in order: lowercase, uppercase, trim, email, phone, name, city, state, zip, country,
    /// date, gender, external_id, number, integer, minor_units, currency, string.
    #[serde(rename = "as")]
    pub transform: Option<Spanned<OneOrMany>>,
    /// SHA-256 the final value. Customer-information fields (`user.em`, …) are always hashed; this is for
    /// custom fields, e.g. a loyalty number sent to a webhook.
    pub hash: Option<bool>,
}

/// Where a mapped value lands in the destination-neutral event.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Target {
    /// A customer-information key: always normalized and hashed.
    Identifier(Key),
    ClientIp,
    UserAgent,
    Fbc,
    Fbp,
    Oppref,
    /// Another platform's click id or browser id (`user.ttclid`, `user.gclid`, …).
    ClickId(ClickId),
    EventId,
    SourceUrl,
    ActionSource,
    Value,
    Currency,
    Contents,
    OrderId,
    /// The event's time (`time`): unix seconds or milliseconds, or ISO 8601 text with or without an offset.
    Time,
}

/// Mapping targets and the hit field each is filled from when a tag does not say otherwise.
pub const DEFAULT_MAP: &[(&str, &[&str])] = &[
    ("user.em", &["user.email"]),
    ("user.ph", &["user.phone"]),
    ("user.fn", &["user.first_name"]),
    ("user.ln", &["user.last_name"]),
    ("user.db", &["user.date_of_birth"]),
    ("user.ge", &["user.gender"]),
    ("user.ct", &["user.city"]),
    ("user.st", &["user.state"]),
    ("user.zp", &["user.zip"]),
    ("user.country", &["user.country"]),
    ("user.external_id", &["user.external_id"]),
    ("user.client_ip_address", &["context.ip"]),
    ("user.client_user_agent", &["context.user_agent"]),
    ("user.fbc", &["context.cookies._fbc"]),
    ("user.fbp", &["context.cookies._fbp"]),
    (
        "user.oppref",
        &["page.query.oppref", "context.cookies.__oppref"],
    ),
    (
        "user.ttclid",
        &["page.query.ttclid", "context.cookies.ttclid"],
    ),
    ("user.ttp", &["context.cookies._ttp"]),
    ("user.epik", &["page.query.epik", "context.cookies._epik"]),
    (
        "user.sc_click_id",
        &["page.query.ScCid", "context.cookies._scclid"],
    ),
    ("user.sc_cookie1", &["context.cookies._scid"]),
    (
        "user.rdt_cid",
        &["page.query.rdt_cid", "context.cookies._rdt_cid"],
    ),
    ("user.rdt_uuid", &["context.cookies._rdt_uuid"]),
    (
        "user.li_fat_id",
        &["page.query.li_fat_id", "context.cookies.li_fat_id"],
    ),
    (
        "user.gclid",
        &["page.query.gclid", "context.cookies._gcl_aw"],
    ),
    (
        "user.gbraid",
        &["page.query.gbraid", "context.cookies._gcl_gb"],
    ),
    (
        "user.wbraid",
        &["page.query.wbraid", "context.cookies._gcl_wb"],
    ),
    (
        "user.twclid",
        &["page.query.twclid", "context.cookies._twclid"],
    ),
    ("user.ga_client_id", &["context.cookies._ga"]),
    ("event_source_url", &["page.url"]),
    ("data.value", &["data.value"]),
    ("data.currency", &["data.currency"]),
    ("data.contents", &["data.contents"]),
    ("data.order_id", &["data.order_id"]),
    ("data.plan_id", &["data.plan_id"]),
];

/// Where a mapping key points: a fixed target, or a custom `data.<name>` field passed through.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Slot {
    Fixed(Target),
    Custom(String),
}

impl Slot {
    pub fn parse(key: &str) -> Result<Slot, String> {
        let fixed = match key {
            "user.client_ip_address" => Target::ClientIp,
            "user.client_user_agent" => Target::UserAgent,
            "user.fbc" => Target::Fbc,
            "user.fbp" => Target::Fbp,
            "user.oppref" => Target::Oppref,
            "event_id" => Target::EventId,
            "event_source_url" => Target::SourceUrl,
            "action_source" => Target::ActionSource,
            "data.value" => Target::Value,
            "data.currency" => Target::Currency,
            "data.contents" => Target::Contents,
            "data.order_id" => Target::OrderId,
            "time" => Target::Time,
            _ => {
                if let Some(k) = key.strip_prefix("user.").and_then(Key::parse) {
                    Target::Identifier(k)
                } else if let Some(id) = key.strip_prefix("user.").and_then(ClickId::parse) {
                    Target::ClickId(id)
                } else if let Some(name) =
                    key.strip_prefix("data.").filter(|n| valid_custom_name(n))
                {
                    return Ok(Slot::Custom(name.to_string()));
                } else {
                    let targets: Vec<&str> = DEFAULT_MAP
                        .iter()
                        .map(|(t, _)| *t)
                        .chain(["event_id", "action_source", "time", "data.<your_field>"])
                        .collect();
                    return Err(suggestion(key, "outbound fields", &targets));
                }
            }
        };
        Ok(Slot::Fixed(fixed))
    }
}

fn valid_custom_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A value transform. Each one turns its input into its output or into nothing (the field is then dropped,
/// with a warning).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Transform {
    Lowercase,
    Uppercase,
    Trim,
    Normalize(Key),
    Number,
    Integer,
    MinorUnits,
    Currency,
    Text,
}

const TRANSFORMS: [&str; 18] = [
    "lowercase",
    "uppercase",
    "trim",
    "email",
    "phone",
    "name",
    "city",
    "state",
    "zip",
    "country",
    "date",
    "gender",
    "external_id",
    "number",
    "integer",
    "minor_units",
    "currency",
    "string",
];

impl Transform {
    pub fn parse(name: &str) -> Option<Transform> {
        Some(match name {
            "lowercase" => Transform::Lowercase,
            "uppercase" => Transform::Uppercase,
            "trim" => Transform::Trim,
            "number" => Transform::Number,
            "integer" => Transform::Integer,
            "minor_units" => Transform::MinorUnits,
            "currency" => Transform::Currency,
            "string" => Transform::Text,
            other => Transform::Normalize(Key::parse(other)?),
        })
    }

    /// Applies the transform; `currency` is the event's currency, for `minor_units`.
    pub fn apply(self, value: Value, currency: Option<&str>) -> Result<Value, String> {
        let text = || {
            as_text(&value)
                .map(|t| t.into_owned())
                .ok_or_else(|| "is not text".to_string())
        };
        Ok(match self {
            Transform::Lowercase => Value::String(text()?.lowercase()),
            Transform::Uppercase => Value::String(text()?.uppercase()),
            Transform::Trim => Value::String(text()?.trim().to_string()),
            Transform::Text => Value::String(text()?),
            // A value already hashed (a sampled hit's, a backend's) passes through, as in `normalize::identify`:
            // `as = "email"` on a SHA-256 must not drop it, nor `as = "gender"` cut it to its first letter.
            Transform::Normalize(key) => {
                let t = text()?;
                if normalize::is_sha256_hex(t.trim()) {
                    Value::String(t.trim().to_ascii_lowercase())
                } else {
                    Value::String(normalize::normalize(key, &t).map_err(|e| e.reason.to_string())?)
                }
            }
            Transform::Number => number(&value).map(Value::from).ok_or("is not a number")?,
            Transform::Integer => number(&value)
                .map(|n| Value::from(n.round() as i64))
                .ok_or("is not a number")?,
            Transform::MinorUnits => {
                let n = number(&value).ok_or("is not a number")?;
                Value::from(minor_units(n, currency.unwrap_or("USD")))
            }
            Transform::Currency => {
                let c = text()?.trim().to_ascii_uppercase();
                if c.len() != 3 || !c.chars().all(|ch| ch.is_ascii_uppercase()) {
                    return Err("is not a three-letter currency code".into());
                }
                Value::String(c)
            }
        })
    }
}

/// Reads a money-like number: `149`, `"149.00"`, `"1,249.50"`, `"$19.99"`.
pub fn number(value: &Value) -> Option<f64> {
    as_number(value).or_else(|| {
        let s = value.as_str()?;
        let cleaned: String = s
            .trim()
            .trim_start_matches(['$', '€', '£', '¥'])
            .chars()
            .filter(|c| *c != ',')
            .collect();
        crate::base::number::parse_f64(cleaned.trim())
    })
}

/// An amount in the currency's smallest unit (cents for USD, yen for JPY, fils for KWD), rounded.
pub fn minor_units(amount: f64, currency: &str) -> i64 {
    let exponent = match currency.to_ascii_uppercase().as_str() {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX"
        | "UYI" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        _ => 2,
    };
    (amount * 10f64.powi(exponent)).round() as i64
}

/// A checked mapping rule.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct MapRule {
    pub slot: Slot,
    pub sources: Vec<FieldPath>,
    pub constant: Option<Value>,
    pub default: Option<Value>,
    pub transforms: Vec<Transform>,
    pub hash: bool,
}

impl MapRule {
    /// Checks one `[tag.map]` entry; problems go to `errors`.
    pub fn build(
        key: &Spanned<String>,
        config: &MapRuleConfig,
        errors: &mut Vec<Diagnostic>,
    ) -> Option<MapRule> {
        let before = errors.len();
        let slot = Slot::parse(key.get_ref())
            .map_err(|hint| {
                errors.push(
                    Diagnostic::new(
                        format!("unknown outbound field \"{}\"", key.get_ref()),
                        Some(key.span()),
                    )
                    .with_hint(hint),
                )
            })
            .ok();
        let mut sources = Vec::new();
        if let Some(from) = &config.from {
            for text in from.get_ref().items() {
                match FieldPath::parse(text) {
                    Ok(p) => sources.push(p),
                    Err(hint) => errors.push(
                        Diagnostic::new(
                            format!("unknown field \"{text}\" in `from`"),
                            Some(from.span()),
                        )
                        .with_hint(hint),
                    ),
                }
            }
        } else if config.value.is_none() {
            errors.push(
                Diagnostic::new(format!("mapping \"{}\" needs `from` or `value`", key.get_ref()), Some(key.span()))
                    .with_hint("write { from = \"user.email\" } to copy a field of the hit, or { value = \"USD\" } for a constant"),
            );
        }
        let mut transforms = Vec::new();
        if let Some(t) = &config.transform {
            for name in t.get_ref().items() {
                match Transform::parse(name) {
                    Some(tr) => transforms.push(tr),
                    None => errors.push(
                        Diagnostic::new(format!("unknown transform \"{name}\""), Some(t.span()))
                            .with_hint(suggestion(name, "transforms", &TRANSFORMS)),
                    ),
                }
            }
        }
        if config.hash == Some(false) {
            if let Some(Slot::Fixed(Target::Identifier(k))) = &slot {
                errors.push(
                    Diagnostic::new(
                        format!(
                            "\"{}\" is customer information and is always hashed",
                            key.get_ref()
                        ),
                        Some(key.span()),
                    )
                    .with_hint(format!(
                        "remove `hash = false`: the platforms only accept a SHA-256 of {}",
                        k.code()
                    )),
                );
            }
        }
        if errors.len() > before {
            return None;
        }
        Some(MapRule {
            slot: slot?,
            sources,
            constant: config.value.clone(),
            default: config.default.clone(),
            transforms,
            hash: config.hash.unwrap_or(false),
        })
    }

    /// The default rule for a target, reading the usual hit field.
    pub fn default_for(key: &str, sources: &[&str]) -> MapRule {
        MapRule {
            slot: Slot::parse(key).expect("DEFAULT_MAP keys are valid targets"),
            sources: sources
                .iter()
                .map(|s| FieldPath::parse(s).expect("DEFAULT_MAP sources are valid paths"))
                .collect(),
            constant: None,
            default: None,
            transforms: Vec::new(),
            hash: false,
        }
    }

    /// The raw value for this rule: the first non-empty source, else the constant, else the default.
    pub fn pick(&self, hit: &Hit) -> Option<Value> {
        self.sources
            .iter()
            .filter_map(|s| s.resolve(hit))
            .find(|v| {
                !matches!(&**v, Value::Null) && as_text(v).is_none_or(|t| !t.trim().is_empty())
            })
            .map(|v| v.into_owned())
            .or_else(|| self.constant.clone())
            .or_else(|| self.default.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizing_transforms_pass_a_hash_through() {
        let hash = normalize::sha256_hex("m");
        for key in Key::ALL {
            for input in [hash.clone(), hash.to_ascii_uppercase(), format!(" {hash} ")] {
                let out = Transform::Normalize(key).apply(Value::from(input), None);
                assert_eq!(out, Ok(Value::from(hash.clone())), "{key:?}");
            }
        }
    }

    #[test]
    fn transforms_turn_inputs_into_outputs() {
        type Case = (&'static str, Value, Option<&'static str>, Result<Value, ()>);
        let cases: Vec<Case> = vec![
            (
                "lowercase",
                Value::from(" AbC "),
                None,
                Ok(Value::from(" abc ")),
            ),
            ("trim", Value::from("  x "), None, Ok(Value::from("x"))),
            (
                "uppercase",
                Value::from("usd"),
                None,
                Ok(Value::from("USD")),
            ),
            (
                "number",
                Value::from("1,249.50"),
                None,
                Ok(Value::from(1249.5)),
            ),
            (
                "number",
                Value::from("$19.99"),
                None,
                Ok(Value::from(19.99)),
            ),
            ("number", Value::from("abc"), None, Err(())),
            ("integer", Value::from(2.6), None, Ok(Value::from(3))),
            (
                "minor_units",
                Value::from(129.99),
                Some("USD"),
                Ok(Value::from(12999)),
            ),
            (
                "minor_units",
                Value::from(1500),
                Some("JPY"),
                Ok(Value::from(1500)),
            ),
            (
                "minor_units",
                Value::from(1.2345),
                Some("KWD"),
                Ok(Value::from(1235)),
            ),
            (
                "minor_units",
                Value::from(0.1 + 0.2),
                Some("EUR"),
                Ok(Value::from(30)),
            ),
            (
                "currency",
                Value::from(" usd "),
                None,
                Ok(Value::from("USD")),
            ),
            ("currency", Value::from("dollars"), None, Err(())),
            (
                "email",
                Value::from(" Jane@Example.COM "),
                None,
                Ok(Value::from("jane@example.com")),
            ),
            (
                "date",
                Value::from("1991-05-26"),
                None,
                Ok(Value::from("19910526")),
            ),
            ("gender", Value::from("Female"), None, Ok(Value::from("f"))),
            ("string", Value::from(42), None, Ok(Value::from("42"))),
        ];
        for (name, input, currency, expected) in cases {
            let t = Transform::parse(name).unwrap();
            let got = t.apply(input.clone(), currency).map_err(|_| ());
            assert_eq!(got, expected, "{name}({input})");
        }
    }

    #[test]
    fn pick_takes_the_first_non_empty_source_then_the_default() {
        let hit =
            Hit::from_json(br#"{"event":"Lead","user":{"email":"  "},"data":{"mail":"b@c.de"}}"#)
                .unwrap();
        let rule = |cfg: &str| {
            let c: MapRuleConfig = toml::from_str(cfg).unwrap();
            let key = Spanned::new(0..1, "data.x".to_string());
            MapRule::build(&key, &c, &mut Vec::new()).unwrap()
        };
        assert_eq!(
            rule(r#"from = ["user.email", "data.mail"]"#).pick(&hit),
            Some(Value::from("b@c.de"))
        );
        assert_eq!(
            rule(
                r#"from = "data.none"
default = "d""#
            )
            .pick(&hit),
            Some(Value::from("d"))
        );
        assert_eq!(rule(r#"value = 7"#).pick(&hit), Some(Value::from(7)));
        assert_eq!(rule(r#"from = "data.none""#).pick(&hit), None);
    }

    #[test]
    fn mapping_mistakes_name_the_fix() {
        let build = |key: &str, cfg: &str| {
            let c: MapRuleConfig = toml::from_str(cfg).unwrap();
            let mut errors = Vec::new();
            MapRule::build(&Spanned::new(0..1, key.to_string()), &c, &mut errors);
            errors
                .into_iter()
                .map(|e| format!("{} | {}", e.message, e.hint.unwrap_or_default()))
                .collect::<Vec<_>>()
        };
        assert!(
            build("user.emm", r#"from = "user.email""#)[0].contains("Did you mean \"user.em\"?")
        );
        assert!(build(
            "data.value",
            r#"from = "data.value"
as = "numbr""#
        )[0]
        .contains("Did you mean \"number\"?"));
        assert!(build("data.value", "")[0].contains("needs `from` or `value`"));
        assert!(build(
            "user.em",
            r#"from = "user.email"
hash = false"#
        )[0]
        .contains("always hashed"));
        assert!(build("data.x", r#"from = "usr.email""#)[0].contains("unknown field \"usr.email\""));
    }
}
