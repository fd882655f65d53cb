//! Server-side sources: the backend events API (Bearer keys, a verdict per event) and platform order webhooks
//! (Shopify, WooCommerce) verified by HMAC. Each turns its request into ordinary hits; the mapping from an order
//! to a Purchase lives in `capi.toml` as ordinary tags, so a team can change it without code.

use crate::hit::{Hit, Source};
use crate::intake::{Refusal, RequestFacts, MAX_HITS_PER_REQUEST};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

/// A platform whose order webhooks we take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookKind {
    Shopify,
    WooCommerce,
}

impl WebhookKind {
    pub fn parse(name: &str) -> Option<WebhookKind> {
        match name {
            "shopify" => Some(WebhookKind::Shopify),
            "woocommerce" => Some(WebhookKind::WooCommerce),
            _ => None,
        }
    }

    /// The header carrying base64(HMAC-SHA256(secret, raw body)).
    pub fn signature_header(self) -> &'static str {
        match self {
            WebhookKind::Shopify => "x-shopify-hmac-sha256",
            WebhookKind::WooCommerce => "x-wc-webhook-signature",
        }
    }

    /// The header naming the event (`orders/create`, `order.created`).
    pub fn topic_header(self) -> &'static str {
        match self {
            WebhookKind::Shopify => "x-shopify-topic",
            WebhookKind::WooCommerce => "x-wc-webhook-topic",
        }
    }
}

/// Checks a webhook signature: base64 of HMAC-SHA256 over the raw body, compared in constant time.
pub fn verify_signature(secret: &str, body: &[u8], signature_b64: &str) -> bool {
    let Ok(expected) = base64::engine::general_purpose::STANDARD.decode(signature_b64.trim())
    else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// Whether a presented Bearer key equals one of the configured keys. Each comparison takes the same time
/// whatever the contents, so a key cannot be guessed byte by byte.
pub fn key_matches(presented: &str, keys: &[String]) -> bool {
    let mut any = false;
    for key in keys {
        let (a, b) = (presented.as_bytes(), key.as_bytes());
        let mut diff = (a.len() != b.len()) as u8;
        for i in 0..a.len().max(b.len()) {
            diff |= a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0);
        }
        any |= diff == 0 && !key.is_empty();
    }
    any
}

/// The backend API's body, `{"events": [...]}` or a list: each event judged on its own, so one bad event does
/// not sink the others. A body that is not such a list is refused whole.
pub fn backend_hits(
    facts: &RequestFacts,
    now_ms: i64,
) -> Result<Vec<Result<Hit, String>>, Refusal> {
    let items = match crate::intake::json_body(facts)? {
        Value::Array(items) => items,
        Value::Object(mut obj) => match obj.remove("events") {
            Some(Value::Array(items)) => items,
            _ => {
                return Err(Refusal::new(
                    400,
                    "invalid_batch",
                    "send {\"events\": [ … ]} or a JSON list of events",
                ))
            }
        },
        _ => {
            return Err(Refusal::new(
                400,
                "invalid_batch",
                "send {\"events\": [ … ]} or a JSON list of events",
            ))
        }
    };
    if items.is_empty() || items.len() > MAX_HITS_PER_REQUEST {
        return Err(Refusal::new(
            400,
            "invalid_batch",
            format!("send 1 to {MAX_HITS_PER_REQUEST} events per request"),
        ));
    }
    Ok(items
        .into_iter()
        .map(|v| {
            let mut hit = Hit::from_value(v).map_err(|e| e.0)?;
            hit.source = Source::Server;
            if hit.time.is_none() {
                hit.time = Some(now_ms as f64);
            }
            Ok(hit)
        })
        .collect())
}

/// A verified webhook's body as a hit: `event` = the topic, `data` = the order, `source` = webhook.
/// `Ok(None)` for WooCommerce's setup ping (`webhook_id=…`), which only needs a 200.
pub fn webhook_hit(
    kind: WebhookKind,
    topic: &str,
    body: &[u8],
    now_ms: i64,
) -> Result<Option<Hit>, Refusal> {
    if kind == WebhookKind::WooCommerce && body.starts_with(b"webhook_id=") {
        return Ok(None);
    }
    let order: Value = serde_json::from_slice(body).map_err(|e| {
        Refusal::new(
            400,
            "invalid_json",
            format!("the webhook body is not JSON: {e}"),
        )
    })?;
    let Value::Object(order) = order else {
        return Err(Refusal::new(
            400,
            "invalid_webhook",
            "the webhook body is not a JSON object",
        ));
    };
    let topic = topic.trim();
    if topic.is_empty() || topic.len() > 64 || topic.chars().any(char::is_control) {
        return Err(Refusal::new(
            400,
            "invalid_webhook",
            format!("missing or bad {} header", kind.topic_header()),
        ));
    }
    let hit = json!({"event": topic, "time": now_ms, "data": order});
    let mut hit = Hit::from_value(hit).map_err(|e| Refusal::new(400, "invalid_webhook", e.0))?;
    hit.source = Source::Webhook;
    Ok(Some(hit))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The signature a sender computes.
    fn sign(secret: &str, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
            .expect("HMAC takes keys of any length");
        mac.update(body);
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    }

    #[test]
    fn signatures_verify_only_with_the_right_secret_and_body() {
        let body = br#"{"id":820982911946154508}"#;
        // RFC 4231 test case 2: HMAC-SHA256(key "Jefe", "what do ya want for nothing?").
        assert_eq!(
            sign("Jefe", b"what do ya want for nothing?"),
            base64::engine::general_purpose::STANDARD.encode(hex(
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
            ))
        );
        let good = sign("s3cret", body);
        assert!(verify_signature("s3cret", body, &good));
        assert!(!verify_signature("other", body, &good));
        assert!(!verify_signature("s3cret", br#"{"id":1}"#, &good));
        assert!(!verify_signature("s3cret", body, "not base64!"));
        assert!(!verify_signature("s3cret", body, ""));
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn keys_match_exactly() {
        let keys = vec!["key-one".to_string(), "key-two".to_string()];
        assert!(key_matches("key-two", &keys));
        assert!(!key_matches("key-tw", &keys));
        assert!(!key_matches("key-two-", &keys));
        assert!(!key_matches("", &keys));
        assert!(
            !key_matches("", &[String::new()]),
            "an empty configured key never matches"
        );
    }

    #[test]
    fn a_backend_batch_judges_each_event() {
        let body =
            br#"{"events":[{"event":"Purchase","event_id":"o1"},{"evnt":"x"},{"event":"Lead"}]}"#;
        let facts = RequestFacts {
            body,
            max_body_bytes: 1 << 16,
            ..RequestFacts::default()
        };
        let out = backend_hits(&facts, 5).unwrap();
        assert!(out[0]
            .as_ref()
            .is_ok_and(|h| h.source == Source::Server && h.time == Some(5.0)));
        assert!(out[1]
            .as_ref()
            .unwrap_err()
            .contains("unknown field `evnt`"));
        assert!(out[2].is_ok());
        let bad = RequestFacts {
            body: br#"{"event":"A"}"#,
            max_body_bytes: 1 << 16,
            ..RequestFacts::default()
        };
        assert_eq!(backend_hits(&bad, 0).unwrap_err().error, "invalid_batch");
    }

    #[test]
    fn webhooks_become_hits_and_pings_are_acknowledged() {
        let hit = webhook_hit(
            WebhookKind::Shopify,
            "orders/create",
            br#"{"id":1,"email":"a@b.co"}"#,
            7,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            (hit.event.as_str(), hit.source),
            ("orders/create", Source::Webhook)
        );
        assert_eq!(hit.data["email"], "a@b.co");
        assert!(
            webhook_hit(WebhookKind::WooCommerce, "", b"webhook_id=12", 0)
                .unwrap()
                .is_none()
        );
        assert_eq!(
            webhook_hit(WebhookKind::Shopify, "orders/create", b"[1]", 0)
                .unwrap_err()
                .error,
            "invalid_webhook"
        );
        assert_eq!(
            webhook_hit(WebhookKind::Shopify, "", b"{}", 0)
                .unwrap_err()
                .error,
            "invalid_webhook"
        );
    }
}
