//! The `ga4` kind: a site's own GA4 hits, taken at `<prefix>/g/collect`, forwarded to Google's collection endpoint
//! as they came, so the site's analytics keep working when gtag points at the shop's domain. No tag sends to it:
//! the GA4 client queues one forward per request (`collect::ga4`). The visitor's IP travels as `_uip` (the
//! parameter Google reads for a server-side sender) unless analytics storage was denied, and the user agent as
//! the request's own header.

use super::platform::{Auth, Destination, DestinationConfig, Parts, Platform};
use crate::event::Event;
use crate::hit::field::percent_encode;
use serde_json::{json, Value};

/// Google's collection endpoint (`region1.google-analytics.com` keeps EU data in the EU: set it as `endpoint`).
pub const DEFAULT_ENDPOINT: &str = "https://www.google-analytics.com/g/collect";

/// What one forward carries through the queue: the request's query and body lines as gtag sent them, and the
/// visitor's address and user agent as the edge saw them.
pub fn forward_payload(
    query: &str,
    body: &str,
    ip: Option<&str>,
    user_agent: Option<&str>,
) -> Value {
    json!({"query": query, "body": body, "ip": ip, "user_agent": user_agent})
}

/// The request for one forward (`max_batch` is 1 for this kind): the original query with `_uip`, the body as
/// text.
fn request(dest: &Destination, forwards: Vec<Value>) -> Parts {
    let forward = forwards.into_iter().next().unwrap_or(Value::Null);
    let query = forward["query"].as_str().unwrap_or("");
    // A browser may not choose the IP Google records: any `_uip` it sent is dropped.
    let mut kept: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("_uip="))
        .collect();
    let uip = forward["ip"]
        .as_str()
        .map(|ip| format!("_uip={}", percent_encode(ip)));
    kept.extend(uip.as_deref());
    let url = format!("{}?{}", dest.endpoint, kept.join("&"));
    let mut headers = vec![(
        "content-type".to_string(),
        "text/plain;charset=UTF-8".to_string(),
    )];
    if let Some(ua) = forward["user_agent"].as_str() {
        headers.push(("user-agent".to_string(), ua.to_string()));
    }
    (
        url,
        headers,
        Value::String(forward["body"].as_str().unwrap_or("").to_string()),
    )
}

pub struct Ga4Forward;

impl Platform for Ga4Forward {
    fn name(&self) -> &'static str {
        "ga4"
    }

    fn is_ad_platform(&self) -> bool {
        false
    }

    fn takes_tags(&self) -> bool {
        false
    }

    fn forwards_ga4_hits(&self) -> bool {
        true
    }

    fn default_endpoint(&self, _config: &DestinationConfig, _pixel_id: &str) -> Option<String> {
        Some(DEFAULT_ENDPOINT.to_string())
    }

    /// One forward is one of the site's requests to Google, sent as it came.
    fn max_batch(&self, _configured: usize) -> usize {
        1
    }

    fn event_json(&self, dest: &Destination, _event: &Event) -> Result<Value, String> {
        Err(format!(
            "destination \"{}\" forwards the site's GA4 hits as they came; no tag sends events to it",
            dest.name
        ))
    }

    fn request(&self, dest: &Destination, events: Vec<Value>, _auth: &Auth, _test: bool) -> Parts {
        request(dest, events)
    }

    fn test_mode_refusal(&self, dest: &Destination) -> Option<String> {
        Some(format!(
            "not sent: destination \"{}\" (GA4) has no validation mode for forwarded hits",
            dest.name
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::destination::{Kind, RedactedSecrets};

    fn dest() -> Destination {
        Destination {
            name: "ga4".into(),
            kind: Kind::parse("ga4").unwrap(),
            endpoint: DEFAULT_ENDPOINT.into(),
            pixel_id: String::new(),
            token_secret: None,
            test_event_code: None,
            validate_only: false,
            max_batch: 1,
            settings: Default::default(),
        }
    }

    #[test]
    fn a_hit_goes_to_google_as_it_came_with_the_visitors_ip_and_user_agent() {
        // Stape's GA4 tag forwards the same way: original query and lines, `_uip` for the IP, the browser's UA.
        let payload = forward_payload(
            "v=2&tid=G-ABC&cid=1.2&_uip=6.6.6.6&en=page_view",
            "en=view_item&pr1=idB1\nen=add_to_cart",
            Some("2001:db8::1"),
            Some("Mozilla/5.0"),
        );
        let r = dest().request(vec![payload], &RedactedSecrets).unwrap();
        assert_eq!(
            r.url,
            "https://www.google-analytics.com/g/collect?v=2&tid=G-ABC&cid=1.2&en=page_view&_uip=2001%3Adb8%3A%3A1",
            "the browser's own _uip is never taken"
        );
        assert_eq!(
            r.body,
            Value::String("en=view_item&pr1=idB1\nen=add_to_cart".into())
        );
        assert!(r
            .headers
            .contains(&("user-agent".into(), "Mozilla/5.0".into())));
        assert!(r
            .headers
            .contains(&("content-type".into(), "text/plain;charset=UTF-8".into())));
        let no_ip = dest()
            .request(
                vec![forward_payload("v=2&en=x", "", None, None)],
                &RedactedSecrets,
            )
            .unwrap();
        assert_eq!(
            no_ip.url,
            "https://www.google-analytics.com/g/collect?v=2&en=x"
        );
    }
}
