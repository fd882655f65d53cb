//! Meta's Conversions API on the Graph API: `POST https://graph.facebook.com/<version>/<PIXEL_ID>/events`,
//! `{"data": [...], "access_token", "test_event_code"?}`. The token goes in the body, as Meta's own curl example
//! sends it (`-F access_token=…`), rather than the `?access_token=` query, so it never lands in URL logs.
//! Meta's error codes live here too: the Meta-style `capi` layout answers with the same ones.

use super::{object, Destination, ErrorReading};
use serde_json::Value;

/// The Graph API version in the default endpoint. v27.0 was released on 2026-11-04; v25.0 expires on
/// 2027-02-23 (developers.facebook.com, marketing-api-changelog/versions). `api_version` overrides it.
pub const DEFAULT_API_VERSION: &str = "v27.0";

pub fn default_endpoint(version: Option<&str>, pixel_id: &str) -> String {
    format!(
        "https://graph.facebook.com/{}/{}/events",
        version.unwrap_or(DEFAULT_API_VERSION),
        crate::field::percent_encode(pixel_id)
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

/// Meta's error codes worth a retry: 1 and 2 (temporary), 341 and 368 (temporarily blocked), and throttling:
/// 4 (app), 17 (account), 613 ("Calls to this api have exceeded the rate limit"), 80003 (ads insights).
/// Sources: developers.facebook.com/docs/graph-api/guides/error-handling and …/overview/rate-limiting.
const RETRY_CODES: [i64; 8] = [1, 2, 4, 17, 341, 368, 613, 80003];
/// The access token is invalid or expired. The event is fine; the token needs fixing, so it is retried.
const TOKEN_CODE: i64 = 190;

/// What Meta's `error.code` says about a refused request, when it says more than the HTTP status.
pub fn read_error(status: u16, error: &Value, message: &str) -> Option<ErrorReading> {
    let code = error.pointer("/error/code").and_then(Value::as_i64)?;
    if RETRY_CODES.contains(&code) {
        return Some(ErrorReading::Retry(format!(
            "HTTP {status} code {code}: {message}"
        )));
    }
    (code == TOKEN_CODE)
        .then(|| ErrorReading::Retry(format!("HTTP {status} (check the token secret): {message}")))
}

pub fn request(
    dest: &Destination,
    events: Vec<Value>,
    token: &str,
) -> (String, Vec<(String, String)>, Value) {
    let mut body = object([
        ("data", Value::Array(events)),
        ("access_token", token.into()),
        ("partner_agent", "capi-edge".into()),
    ]);
    if let Some(code) = &dest.test_event_code {
        body["test_event_code"] = code.clone().into();
    }
    (dest.endpoint.clone(), Vec::new(), body)
}
