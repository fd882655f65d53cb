//! Meta's Conversions API on the Graph API: `POST https://graph.facebook.com/<version>/<PIXEL_ID>/events`,
//! `{"data": [...], "access_token", "test_event_code"?}`. The token goes in the body, as Meta's own curl example
//! sends it (`-F access_token=…`), rather than the `?access_token=` query, so it never lands in URL logs.

use super::{object, Destination};
use serde_json::Value;

/// The Graph API version in the default endpoint (developers.facebook.com, reference/ads-pixel/events).
pub const DEFAULT_API_VERSION: &str = "v25.0";

pub fn default_endpoint(version: Option<&str>, pixel_id: &str) -> String {
    format!(
        "https://graph.facebook.com/{}/{}/events",
        version.unwrap_or(DEFAULT_API_VERSION),
        crate::field::percent_encode(pixel_id)
    )
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
