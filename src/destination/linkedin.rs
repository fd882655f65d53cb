//! LinkedIn's Conversions API: `POST https://api.linkedin.com/rest/conversionEvents` with a Bearer token, a
//! monthly `LinkedIn-Version`, `X-Restli-Protocol-Version: 2.0.0` and `X-RestLi-Method: BATCH_CREATE`,
//! `{"elements": [...]}`. The body has no event name: each event counts for a conversion rule
//! (`conversion_rule`, one for every event or one per event name). Times in unix ms; the dedup key `eventId`,
//! the Insight Tag's `lintrk('track', {conversion_id, event_id})`. Identifiers: the hashed email, the `li_fat_id`
//! click id and the IP; LinkedIn takes no phone, user agent or products. A batch is taken or refused whole, and a
//! refusal names the bad element (`Index: 3, ERROR :: …`).
//! Facts and sources: docs/destinations.md, "linkedin".

use super::platform::{
    decimal_text, hashed, object, Auth, Destination, DestinationConfig, ErrorReading, Parts,
    Platform,
};
use crate::base::diagnostic::Diagnostic;
use crate::event::Event;
use crate::identity::click_ids::ClickId;
use crate::identity::normalize::Key;
use serde_json::Value;

pub const DEFAULT_ENDPOINT: &str = "https://api.linkedin.com/rest/conversionEvents";
/// The `LinkedIn-Version` sent unless `api_version` says otherwise: the one Stape's maintained tag sends. LinkedIn
/// retires a version about a year after its release and then answers 426.
pub const DEFAULT_API_VERSION: &str = "202605";
/// LinkedIn takes up to 5,000 events per request; the shared limit of 1,000 is below it.
const RULE_URN: &str = "urn:lla:llaPartnerConversion:";

/// A conversion rule as written: its number, or its URN.
fn rule_urn(rule: &str) -> String {
    if rule.starts_with("urn:") {
        rule.to_string()
    } else {
        format!("{RULE_URN}{rule}")
    }
}

fn is_rule(rule: &str) -> bool {
    let id = rule.strip_prefix(RULE_URN).unwrap_or(rule);
    !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit())
}

pub struct LinkedIn;

impl Platform for LinkedIn {
    fn name(&self) -> &'static str {
        "linkedin"
    }

    fn account_setting(&self) -> Option<&'static str> {
        None
    }

    fn settings(&self) -> &'static [&'static str] {
        &["conversion_rule", "api_version"]
    }

    fn check_settings(&self, config: &DestinationConfig, errors: &mut Vec<Diagnostic>) {
        let Some(rule) = &config.conversion_rule else {
            errors.push(
                Diagnostic::new(
                    format!("destination \"{}\" needs a conversion_rule", config.name.get_ref()),
                    Some(config.name.span()),
                )
                .with_hint("copy the rule's id from Campaign Manager (a rule made for the Conversions API): conversion_rule = \"12345678\", or one per event: conversion_rule = { Purchase = \"12345678\", Lead = \"23456789\" }"),
            );
            return;
        };
        let settings = config.settings_map();
        for (key, value) in settings
            .iter()
            .filter(|(k, _)| k.starts_with("conversion_rule"))
        {
            if !is_rule(value) {
                errors.push(
                    Diagnostic::new(format!("{key} \"{value}\" is not a LinkedIn conversion rule id"), Some(rule.span()))
                        .with_hint("the id is a number (Campaign Manager → Analyze → Conversion tracking), or its URN urn:lla:llaPartnerConversion:<id>"),
                );
            }
        }
        if let Some(v) = config.api_version.as_ref().filter(|v| {
            let v = v.get_ref();
            v.len() != 6 || !v.bytes().all(|b| b.is_ascii_digit())
        }) {
            errors.push(
                Diagnostic::new(
                    format!("api_version \"{}\" is not a LinkedIn version", v.get_ref()),
                    Some(v.span()),
                )
                .with_hint(format!(
                    "LinkedIn versions are months, YYYYMM, e.g. \"{DEFAULT_API_VERSION}\""
                )),
            );
        }
    }

    fn default_endpoint(&self, _config: &DestinationConfig, _account: &str) -> Option<String> {
        Some(DEFAULT_ENDPOINT.to_string())
    }

    /// No rule for the event's name: nothing to count it for, so it is not sent.
    fn event_json(&self, dest: &Destination, ev: &Event) -> Result<Value, String> {
        let rule = dest.per_event("conversion_rule", &ev.name).ok_or_else(|| {
            format!(
                "no LinkedIn conversion rule for \"{}\": add it to conversion_rule on destination \"{}\"",
                ev.name, dest.name
            )
        })?;
        let mut ids = Vec::new();
        let mut id = |kind: &str, value: Option<String>| {
            if let Some(v) = value {
                ids.push(object([("idType", kind.into()), ("idValue", v.into())]));
            }
        };
        id("SHA256_EMAIL", hashed(ev, Key::Email));
        id(
            "LINKEDIN_FIRST_PARTY_ADS_TRACKING_UUID",
            ev.user.click_ids.get(&ClickId::LiFatId).cloned(),
        );
        id("PLAINTEXT_IP_ADDRESS", ev.user.client_ip.clone());
        if ids.is_empty() {
            return Err("LinkedIn needs an email, its li_fat_id click id or the IP to match the event; it has none".into());
        }
        let mut out = object([
            ("conversion", rule_urn(rule).into()),
            ("conversionHappenedAt", ev.time_ms.into()),
            (
                "eventId",
                ev.event_id.chars().take(64).collect::<String>().into(),
            ),
            ("user", object([("userIds", Value::Array(ids))])),
        ]);
        if let (Some(value), Some(currency)) = (ev.value, &ev.currency) {
            out["conversionValue"] = object([
                ("currencyCode", currency.clone().into()),
                ("amount", decimal_text(value).into()),
            ]);
        }
        Ok(out)
    }

    fn request(&self, dest: &Destination, events: Vec<Value>, auth: &Auth, _test: bool) -> Parts {
        let version = dest
            .settings
            .get("api_version")
            .map_or(DEFAULT_API_VERSION, String::as_str);
        let headers = vec![
            (
                "authorization".to_string(),
                format!("Bearer {}", auth.token()),
            ),
            ("linkedin-version".to_string(), version.to_string()),
            ("x-restli-protocol-version".to_string(), "2.0.0".to_string()),
            ("x-restli-method".to_string(), "BATCH_CREATE".to_string()),
        ];
        (
            dest.endpoint.clone(),
            headers,
            object([("elements", Value::Array(events))]),
        )
    }

    fn read_error(
        &self,
        dest: &Destination,
        status: u16,
        error: &Value,
        message: &str,
    ) -> Option<ErrorReading> {
        let text = error
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or(message);
        let code = error.get("code").and_then(Value::as_str).unwrap_or("");
        match status {
            401 => Some(ErrorReading::Config(format!(
                "LinkedIn refused the access token ({code} {text}): LinkedIn tokens last 60 days; put a new one in the secret {}",
                dest.token_secret.as_deref().unwrap_or("?")
            ))),
            403 => Some(ErrorReading::Config(format!(
                "LinkedIn: the token's member may not send conversions for this account (HTTP 403: {text}): it needs the rw_conversions scope and an ad account role"
            ))),
            426 => Some(ErrorReading::Config(format!(
                "LinkedIn retired the API version this destination sends (HTTP 426: {text}): set api_version to a recent month, e.g. \"{DEFAULT_API_VERSION}\" or later"
            ))),
            400 if text.contains("CONVERSIONS_API") => Some(ErrorReading::Config(format!(
                "LinkedIn: the conversion rule is not a Conversions API rule (HTTP 400: {text}): make a rule with the method \"Conversions API\" in Campaign Manager and use its id"
            ))),
            400 | 422 => Some(ErrorReading::Rejected {
                index: text
                    .strip_prefix("Index: ")
                    .and_then(|rest| rest.split(',').next())
                    .and_then(|n| n.trim().parse().ok()),
                message: format!("HTTP {status}: {}", text.trim_end()),
            }),
            _ => None,
        }
    }

    fn test_mode_refusal(&self, dest: &Destination) -> Option<String> {
        Some(format!(
            "not sent: LinkedIn has no test mode, and debug traffic to destination \"{}\" would count as a real conversion (use a conversion rule no campaign uses to test)",
            dest.name
        ))
    }
}
