//! Meta's Conversions API on the Graph API: `POST https://graph.facebook.com/<version>/<PIXEL_ID>/events`,
//! `{"data": [...], "access_token", "test_event_code"?}`. The token goes in the body, as Meta's own curl example
//! sends it (`-F access_token=…`), rather than the `?access_token=` query, so it never lands in URL logs.
//! Its events and error codes are the Meta-style layout's (`meta_style`), shared with `capi`.

use super::meta_style;
use super::platform::{
    object, Auth, Destination, DestinationConfig, ErrorReading, Parts, Platform,
};
use crate::base::diagnostic::Diagnostic;
use crate::event::Event;
use serde_json::Value;

/// The Graph API version in the default endpoint. v27.0 was released on 2026-11-04; v25.0 expires on
/// 2027-02-23 (developers.facebook.com, marketing-api-changelog/versions). `api_version` overrides it.
pub const DEFAULT_API_VERSION: &str = "v27.0";

pub fn default_endpoint(version: Option<&str>, pixel_id: &str) -> String {
    format!(
        "https://graph.facebook.com/{}/{}/events",
        version.unwrap_or(DEFAULT_API_VERSION),
        crate::hit::field::percent_encode(pixel_id)
    )
}

/// A Graph API version as Meta writes it: `v` and a major.minor number (`v27.0`).
pub fn is_api_version(s: &str) -> bool {
    let Some((major, minor)) = s.strip_prefix('v').and_then(|r| r.split_once('.')) else {
        return false;
    };
    let digits = |p: &str, max: usize| {
        !p.is_empty() && p.len() <= max && p.bytes().all(|b| b.is_ascii_digit())
    };
    digits(major, 3) && digits(minor, 1)
}

pub struct Meta;

impl Platform for Meta {
    fn name(&self) -> &'static str {
        "meta"
    }

    fn settings(&self) -> &'static [&'static str] {
        &["api_version"]
    }

    fn check_settings(&self, config: &DestinationConfig, errors: &mut Vec<Diagnostic>) {
        if let Some(v) = config
            .api_version
            .as_ref()
            .filter(|v| !is_api_version(v.get_ref()))
        {
            errors.push(
                Diagnostic::new(
                    format!("api_version \"{}\" is not a Graph API version", v.get_ref()),
                    Some(v.span()),
                )
                .with_hint(format!(
                    "write it as Meta does, e.g. \"{DEFAULT_API_VERSION}\""
                )),
            );
        }
    }

    fn default_endpoint(&self, config: &DestinationConfig, pixel_id: &str) -> Option<String> {
        Some(default_endpoint(
            config.api_version.as_ref().map(|v| v.get_ref().as_str()),
            pixel_id,
        ))
    }

    fn event_json(&self, _dest: &Destination, event: &Event) -> Result<Value, String> {
        meta_style::event_json(event)
    }

    fn request(&self, dest: &Destination, events: Vec<Value>, auth: &Auth, _test: bool) -> Parts {
        let body = object([
            ("data", Value::Array(events)),
            ("access_token", auth.token().into()),
            ("partner_agent", "capi-edge".into()),
        ]);
        (
            dest.endpoint.clone(),
            Vec::new(),
            meta_style::with_test_event_code(body, dest),
        )
    }

    fn read_error(
        &self,
        _dest: &Destination,
        status: u16,
        error: &Value,
        message: &str,
    ) -> Option<ErrorReading> {
        meta_style::read_error(status, error, message)
    }

    fn test_mode_refusal(&self, dest: &Destination) -> Option<String> {
        meta_style::test_mode_refusal(dest)
    }
}
