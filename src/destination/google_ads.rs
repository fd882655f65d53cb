//! Google Ads click conversions: `POST https://googleads.googleapis.com/v26/customers/<id>:uploadClickConversions`
//! with an OAuth access token (the consumer trades the refresh token for one at `oauth2.googleapis.com/token`
//! and keeps it for its hour), `{"conversions": [...], "partialFailure": true}`. The body has no event name:
//! each event counts for a conversion action (`conversion_action`, one for every event or one per event name).
//! Each conversion carries one click id (gclid, else wbraid, else gbraid) and, with a gclid or none, the hashed
//! email and phone (enhanced conversions). `orderId` is the dedup key: a resend Google already has comes back
//! `ORDER_ID_ALREADY_IN_USE` and counts as sent. Failures come back per conversion, with HTTP 200.
//! Facts and sources: docs/destinations.md, "google-ads" (read its note on Google's 2026 limits first).

use super::platform::{
    hashed_email_google, hashed_phone_e164, oauth_secret_names, object, require_oauth_secrets,
    Auth, Destination, DestinationConfig, ErrorReading, Parts, Platform, TokenRequest,
};
use crate::base::diagnostic::Diagnostic;
use crate::base::time::utc_parts;
use crate::event::Event;
use crate::hit::field::percent_encode;
use crate::identity::click_ids::ClickId;
use serde_json::{Map, Value};

pub const DEFAULT_ORIGIN: &str = "https://googleads.googleapis.com";
/// The API version in the default endpoint (v26, Google's latest in October 2026); `api_version` overrides it.
pub const DEFAULT_API_VERSION: &str = "v26";
pub const TOKEN_URL: &str = "https://oauth2.googleapis.com/token";
/// Google takes up to 2,000 conversions per request; the shared limit of 1,000 is below it.
/// The `oauth_secrets` the refresh takes, with the secret name the hint suggests for each.
const OAUTH_KEYS: [(&str, &str); 3] = [
    ("client_id", "CLIENT_ID"),
    ("client_secret", "CLIENT_SECRET"),
    ("refresh_token", "REFRESH_TOKEN"),
];
/// Per-conversion errors that mean Google has it already: the resend of a conversion it took.
const ALREADY_TAKEN: [&str; 2] = ["ORDER_ID_ALREADY_IN_USE", "CLICK_CONVERSION_ALREADY_EXISTS"];
/// Per-conversion errors worth a retry later ("retry after 6 hours have passed").
const TOO_EARLY: [&str; 2] = ["TOO_RECENT_EVENT", "TOO_RECENT_CONVERSION_ACTION"];

/// `123-456-7890` → `1234567890`; `None` unless it is ten digits.
fn customer_digits(id: &str) -> Option<String> {
    let digits: String = id.chars().filter(|c| *c != '-').collect();
    (digits.len() == 10 && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

/// `2026-11-20 14:03:27+00:00`, the form Google parses.
fn conversion_time(ms: i64) -> String {
    let (y, mo, d, h, mi, s, _) = utc_parts(ms);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}+00:00")
}

pub struct GoogleAds;

impl Platform for GoogleAds {
    fn name(&self) -> &'static str {
        "google-ads"
    }

    fn account_setting(&self) -> Option<&'static str> {
        Some("customer_id")
    }

    fn needs_token(&self) -> bool {
        false
    }

    fn settings(&self) -> &'static [&'static str] {
        &[
            "customer_id",
            "login_customer_id",
            "conversion_action",
            "developer_token_secret",
            "oauth_secrets",
            "api_version",
        ]
    }

    fn check_settings(&self, config: &DestinationConfig, errors: &mut Vec<Diagnostic>) {
        let name = config.name.get_ref();
        for (key, value) in [
            ("customer_id", &config.customer_id),
            ("login_customer_id", &config.login_customer_id),
        ] {
            if let Some(v) = value
                .as_ref()
                .filter(|v| customer_digits(v.get_ref()).is_none())
            {
                errors.push(
                    Diagnostic::new(format!("{key} \"{}\" is not a Google Ads customer id", v.get_ref()), Some(v.span()))
                        .with_hint(format!("ten digits, as Google Ads shows them at the top right: {key} = \"123-456-7890\"")),
                );
            }
        }
        if config.conversion_action.is_none() {
            errors.push(
                Diagnostic::new(format!("destination \"{name}\" needs a conversion_action"), Some(config.name.span()))
                    .with_hint("make a conversion action of the kind \"Import → conversions from clicks\" in Google Ads and copy its id: conversion_action = \"987654321\", or one per event: conversion_action = { Purchase = \"987654321\", Lead = \"987654322\" }"),
            );
        }
        for (key, value) in config
            .settings_map()
            .iter()
            .filter(|(k, _)| k.starts_with("conversion_action"))
        {
            let id = value.rsplit('/').next().unwrap_or("");
            if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
                errors.push(
                    Diagnostic::new(format!("{key} \"{value}\" is not a conversion action id"), config.conversion_action.as_ref().map(|c| c.span()))
                        .with_hint("the id is a number (Goals → Conversions → the action → its URL's ctId), or customers/<id>/conversionActions/<id>"),
                );
            }
        }
        require_oauth_secrets(
            config,
            &OAUTH_KEYS,
            "Google Ads takes an OAuth token made from your OAuth client and a refresh token (scope https://www.googleapis.com/auth/adwords)",
            errors,
        );
    }

    fn secret_names(&self, dest: &Destination) -> Vec<String> {
        let mut names = oauth_secret_names(dest, &OAUTH_KEYS);
        names.extend(dest.settings.get("developer_token_secret").cloned());
        names
    }

    fn default_endpoint(&self, config: &DestinationConfig, customer: &str) -> Option<String> {
        let version = config
            .api_version
            .as_ref()
            .map_or(DEFAULT_API_VERSION, |v| v.get_ref().as_str());
        let customer = customer_digits(customer).unwrap_or_default();
        Some(format!(
            "{DEFAULT_ORIGIN}/{version}/customers/{customer}:uploadClickConversions"
        ))
    }

    fn token_request(&self, dest: &Destination, auth: &Auth) -> Option<TokenRequest> {
        let secret =
            |k: &str| percent_encode(auth.setting_secret(dest, &format!("oauth_secrets.{k}")));
        Some(TokenRequest {
            url: TOKEN_URL.to_string(),
            form: format!(
                "grant_type=refresh_token&client_id={}&client_secret={}&refresh_token={}",
                secret("client_id"),
                secret("client_secret"),
                secret("refresh_token")
            ),
        })
    }

    fn read_token(&self, status: u16, body: &Value) -> Result<(String, i64), String> {
        match (body.get("access_token").and_then(Value::as_str), status) {
            (Some(token), 200) => Ok((
                token.to_string(),
                body.get("expires_in")
                    .and_then(Value::as_i64)
                    .unwrap_or(3600),
            )),
            _ => {
                let error = body
                    .get("error")
                    .and_then(Value::as_str)
                    .unwrap_or("no access token");
                let detail = body
                    .get("error_description")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                Err(format!(
                    "Google refused the OAuth refresh (HTTP {status}: {error} {detail}): check oauth_secrets (a revoked or expired refresh token says invalid_grant)"
                ))
            }
        }
    }

    /// An event with no conversion action for its name, or nothing to match it by, is not sent.
    fn event_json(&self, dest: &Destination, ev: &Event) -> Result<Value, String> {
        let action = dest.per_event("conversion_action", &ev.name).ok_or_else(|| {
            format!(
                "no Google Ads conversion action for \"{}\": add it to conversion_action on destination \"{}\"",
                ev.name, dest.name
            )
        })?;
        let action = if action.starts_with("customers/") {
            action.to_string()
        } else {
            format!(
                "customers/{}/conversionActions/{action}",
                customer_digits(&dest.pixel_id).unwrap_or_default()
            )
        };
        let mut out = Map::new();
        // One click id: gclid, else wbraid (web), else gbraid (app); a braid goes without user identifiers.
        let click = [ClickId::Gclid, ClickId::Wbraid, ClickId::Gbraid]
            .into_iter()
            .find_map(|id| ev.user.click_ids.get(&id).map(|v| (id, v.clone())));
        let mut identifiers = Vec::new();
        if !matches!(click, Some((ClickId::Wbraid | ClickId::Gbraid, _))) {
            if let Some(email) = hashed_email_google(ev) {
                identifiers.push(object([
                    ("hashedEmail", email.into()),
                    ("userIdentifierSource", "FIRST_PARTY".into()),
                ]));
            }
            if let Some(phone) = hashed_phone_e164(ev) {
                identifiers.push(object([
                    ("hashedPhoneNumber", phone.into()),
                    ("userIdentifierSource", "FIRST_PARTY".into()),
                ]));
            }
        }
        if click.is_none() && identifiers.is_empty() {
            return Err("Google Ads needs a click id (gclid, wbraid or gbraid) or an email or phone to match the conversion; it has none".into());
        }
        if let Some((id, value)) = click {
            out.insert(id.name().into(), value.into());
        }
        out.insert("conversionAction".into(), action.into());
        out.insert(
            "conversionDateTime".into(),
            conversion_time(ev.time_ms).into(),
        );
        if let (Some(value), Some(currency)) = (ev.value, &ev.currency) {
            out.insert("conversionValue".into(), value.into());
            out.insert("currencyCode".into(), currency.clone().into());
        }
        out.insert(
            "orderId".into(),
            ev.order_id
                .clone()
                .unwrap_or_else(|| ev.event_id.clone())
                .into(),
        );
        if !identifiers.is_empty() {
            out.insert("userIdentifiers".into(), identifiers.into());
        }
        // Events are sent only with ad-storage consent (the tag's consent rules): the user data was given for it.
        out.insert("consent".into(), object([("adUserData", "GRANTED".into())]));
        Ok(Value::Object(out))
    }

    fn request(&self, dest: &Destination, events: Vec<Value>, auth: &Auth, test: bool) -> Parts {
        let mut headers = vec![(
            "authorization".to_string(),
            format!(
                "Bearer {}",
                auth.access_token.as_deref().unwrap_or_default()
            ),
        )];
        if let Some(login) = dest
            .settings
            .get("login_customer_id")
            .and_then(|l| customer_digits(l))
        {
            headers.push(("login-customer-id".to_string(), login));
        }
        let developer_token = auth.setting_secret(dest, "developer_token_secret");
        if !developer_token.is_empty() {
            headers.push(("developer-token".to_string(), developer_token.to_string()));
        }
        let body = object([
            ("conversions", Value::Array(events)),
            ("partialFailure", true.into()),
            ("validateOnly", (dest.validate_only || test).into()),
        ]);
        (dest.endpoint.clone(), headers, body)
    }

    fn read_error(
        &self,
        _dest: &Destination,
        status: u16,
        error: &Value,
        message: &str,
    ) -> Option<ErrorReading> {
        let code = first_error_code(error.pointer("/error/details")).unwrap_or_default();
        match status {
            401 if code == "OAUTH_TOKEN_EXPIRED" => Some(ErrorReading::Retry(format!("HTTP 401 {code}: {message}"))),
            401 => Some(ErrorReading::Config(format!(
                "Google Ads refused the OAuth token (HTTP 401 {code}: {message}): check oauth_secrets"
            ))),
            403 => Some(ErrorReading::Config(format!(
                "Google Ads: no access to this account (HTTP 403 {code}: {message}): check customer_id, login_customer_id (the manager account), and that the Cloud project may import conversions"
            ))),
            _ => None,
        }
    }

    /// `partialFailureError`: the conversions it names (`fieldPathElements[{"fieldName": "conversions",
    /// "index": N}]`) failed, unless Google has them already; a "too recent" one retries the batch (its
    /// resends come back "already in use", counted as sent).
    fn read_success(&self, _dest: &Destination, body: &Value) -> Option<ErrorReading> {
        let errors = body.pointer("/partialFailureError/details")?.as_array()?;
        let mut failed = Vec::new();
        for error in errors
            .iter()
            .filter_map(|d| d.get("errors"))
            .filter_map(Value::as_array)
            .flatten()
        {
            let code = error
                .get("errorCode")
                .and_then(Value::as_object)
                .and_then(|c| c.values().next())
                .and_then(Value::as_str)
                .unwrap_or("");
            let text = error.get("message").and_then(Value::as_str).unwrap_or("");
            if TOO_EARLY.contains(&code) {
                return Some(ErrorReading::Retry(format!("Google Ads {code}: {text}")));
            }
            if ALREADY_TAKEN.contains(&code) {
                continue;
            }
            let index = error
                .pointer("/location/fieldPathElements")
                .and_then(Value::as_array)
                .and_then(|p| {
                    p.iter()
                        .find(|e| e.get("fieldName").and_then(Value::as_str) == Some("conversions"))
                })
                .and_then(|e| e.get("index"))
                .and_then(Value::as_u64);
            match index {
                Some(i) => failed.push((i as usize, format!("Google Ads {code}: {text}"))),
                None => {
                    return Some(ErrorReading::Rejected {
                        index: None,
                        message: format!("Google Ads {code}: {text}"),
                    })
                }
            }
        }
        Some(ErrorReading::Partial(failed))
    }
}

/// The first `errorCode` value of a Google Ads failure's details (`OAUTH_TOKEN_EXPIRED`).
fn first_error_code(details: Option<&Value>) -> Option<String> {
    let error = details?
        .as_array()?
        .iter()
        .find_map(|d| d.pointer("/errors/0"))?;
    let code = error.get("errorCode")?.as_object()?.values().next()?;
    code.as_str().map(str::to_string)
}
