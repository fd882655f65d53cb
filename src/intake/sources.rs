//! Server-side sources: the backend events API (Bearer keys, a verdict per event) and platform order webhooks
//! (Shopify, WooCommerce) verified by HMAC. Each turns its request into ordinary hits; the mapping from an order
//! to a Purchase lives in `capi.toml` as ordinary tags, so a team can change it without code.

use crate::hit::field::{percent_decode, UrlParts};
use crate::hit::{Hit, Source};
use crate::identity::click_ids::valid_click_id;
use crate::intake::{Refusal, RequestFacts, MAX_HITS_PER_REQUEST};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use std::collections::BTreeMap;

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

    /// The headers carrying base64(HMAC-SHA256(secret, raw body)), first found wins. Shopify's own libraries
    /// also accept its headers without the `X-` prefix.
    pub fn signature_headers(self) -> &'static [&'static str] {
        match self {
            WebhookKind::Shopify => &["x-shopify-hmac-sha256", "shopify-hmac-sha256"],
            WebhookKind::WooCommerce => &["x-wc-webhook-signature"],
        }
    }

    /// The headers naming the event (`orders/create`, `order.created`).
    pub fn topic_headers(self) -> &'static [&'static str] {
        match self {
            WebhookKind::Shopify => &["x-shopify-topic", "shopify-topic"],
            WebhookKind::WooCommerce => &["x-wc-webhook-topic"],
        }
    }

    /// The headers naming the shop's domain (`example.myshopify.com`), for a page URL when `shop_url` is unset.
    pub fn shop_domain_headers(self) -> &'static [&'static str] {
        match self {
            WebhookKind::Shopify => &["x-shopify-shop-domain", "shopify-shop-domain"],
            WebhookKind::WooCommerce => &[],
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

/// A verified webhook's body as a hit: `event` = the topic, `data` = the order, `source` = webhook, `time` = the
/// order's own time, `page.url` = its landing page on the shop's domain, and the click ids that page carried.
/// `shop_url` is the storefront's base (`https://host`): `[sources] shop_url`, else the shop-domain header.
/// `Ok(None)` for WooCommerce's setup ping (`webhook_id=…`), which only needs a 200.
pub fn webhook_hit(
    kind: WebhookKind,
    topic: &str,
    body: &[u8],
    now_ms: i64,
    shop_url: Option<&str>,
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
    let Value::Object(mut order) = order else {
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
            format!("missing or bad {} header", kind.topic_headers()[0]),
        ));
    }
    let shape = OrderShape::of(kind);
    // The platforms attribute by event time, and Shopify retries a webhook for up to 48 hours.
    let time_ms = shape
        .time_fields
        .iter()
        .find_map(|f| order.get(*f).and_then(crate::base::time::parse_ms))
        .unwrap_or(now_ms);
    // A WooCommerce guest has customer_id 0: every guest would share one external_id.
    if order
        .get("customer_id")
        .is_some_and(|id| id == 0 || id == "0")
    {
        order.remove("customer_id");
    }
    let landing = shape.landing_page(&order);
    let mut hit = Hit {
        event: topic.to_string(),
        time: Some(time_ms as f64),
        ..Hit::default()
    };
    if let Some(landing) = landing.as_deref() {
        let base = shop_url
            .map(str::to_string)
            .or_else(|| landing_origin(landing));
        hit.page.url = base.map(|b| attribution_url(&b, landing));
        hit.context.cookies = landing_click_ids(landing, time_ms);
    } else {
        hit.page.url = shop_url.map(|b| format!("{b}/"));
    }
    hit.data = order;
    hit.source = Source::Webhook;
    Ok(Some(hit))
}

/// Where each platform's order keeps what a hit needs.
struct OrderShape {
    /// The order's time, first present wins: Shopify's `processed_at` (when it was paid) else `created_at`, with
    /// offsets; WooCommerce's `date_created_gmt`, UTC written without an offset.
    time_fields: &'static [&'static str],
    kind: WebhookKind,
}

impl OrderShape {
    fn of(kind: WebhookKind) -> OrderShape {
        let time_fields: &'static [&'static str] = match kind {
            WebhookKind::Shopify => &["processed_at", "created_at"],
            WebhookKind::WooCommerce => &["date_created_gmt", "date_paid_gmt"],
        };
        OrderShape { time_fields, kind }
    }

    /// The page the visitor landed on, as the order recorded it: Shopify's `landing_site` (usually a path with
    /// its query, `/?oppref=…`); WooCommerce's order-attribution entry page (`_wc_order_attribution_session_entry`
    /// in `meta_data`, WooCommerce 8.5+). Never Shopify's `order_status_url`: its `key` opens the order's page.
    fn landing_page(&self, order: &serde_json::Map<String, Value>) -> Option<String> {
        let text = match self.kind {
            WebhookKind::Shopify => order.get("landing_site")?.as_str()?.to_string(),
            WebhookKind::WooCommerce => order
                .get("meta_data")?
                .as_array()?
                .iter()
                .find(|m| m["key"] == "_wc_order_attribution_session_entry")?["value"]
                .as_str()?
                .to_string(),
        };
        let text = text.trim();
        (!text.is_empty() && !text.chars().any(char::is_control)).then(|| text.to_string())
    }
}

/// Query parameters that say where a visit came from, kept in a webhook order's page URL; every other parameter
/// (a cart token, a customer's email in a newsletter link) is dropped. Compared in lowercase.
const ATTRIBUTION_PARAMS: &str =
    "oppref fbclid gclid gbraid wbraid dclid msclkid ttclid twclid li_fat_id \
    epik sccid irclickid utm_source utm_medium utm_campaign utm_term utm_content utm_id";

/// The landing page as an absolute URL on `base`: its path, and only its attribution parameters.
pub fn attribution_url(base: &str, landing: &str) -> String {
    let parts = UrlParts::parse(landing);
    let path = if parts.path.starts_with('/') {
        parts.path
    } else {
        "/"
    };
    let kept: Vec<&str> = parts
        .query
        .unwrap_or("")
        .split('&')
        .filter(|pair| {
            let name = percent_decode(pair.split('=').next().unwrap_or("")).to_ascii_lowercase();
            !name.is_empty() && ATTRIBUTION_PARAMS.split_whitespace().any(|p| p == name)
        })
        .collect();
    let query = if kept.is_empty() {
        String::new()
    } else {
        format!("?{}", kept.join("&"))
    };
    format!("{base}{path}{query}")
}

/// The click ids a landing page carried, in their cookies' names and formats, as a browser hit would have them:
/// `__oppref`, and `_fbc` = `fb.1.<ms>.<fbclid>` stamped with the order's time.
fn landing_click_ids(landing: &str, time_ms: i64) -> BTreeMap<String, String> {
    let parts = UrlParts::parse(landing);
    let mut ids = BTreeMap::new();
    if let Some(oppref) = parts.query_param("oppref").filter(|v| valid_click_id(v)) {
        ids.insert("__oppref".to_string(), oppref);
    }
    if let Some(fbclid) = parts.query_param("fbclid").filter(|v| valid_click_id(v)) {
        ids.insert("_fbc".to_string(), format!("fb.1.{time_ms}.{fbclid}"));
    }
    ids
}

/// `https://host` of an absolute http(s) URL whose host is a plain host name.
fn landing_origin(url: &str) -> Option<String> {
    let origin = crate::base::url::origin_of(url)?;
    let host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))?;
    crate::base::url::valid_host(host).then_some(origin)
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
            None,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            (hit.event.as_str(), hit.source),
            ("orders/create", Source::Webhook)
        );
        assert_eq!(hit.data["email"], "a@b.co");
        assert!(
            webhook_hit(WebhookKind::WooCommerce, "", b"webhook_id=12", 0, None)
                .unwrap()
                .is_none()
        );
        assert_eq!(
            webhook_hit(WebhookKind::Shopify, "orders/create", b"[1]", 0, None)
                .unwrap_err()
                .error,
            "invalid_webhook"
        );
        assert_eq!(
            webhook_hit(WebhookKind::Shopify, "", b"{}", 0, None)
                .unwrap_err()
                .error,
            "invalid_webhook"
        );
    }

    #[test]
    fn a_shopify_order_keeps_its_time_its_landing_page_and_its_click_ids_but_not_its_key() {
        // Shopify Order resource (shopify.dev): processed_at with its offset; landing_site is a path with the
        // visit's query; order_status_url carries `key`, which opens the customer's order page.
        let body = br#"{"id":5,"processed_at":"2026-11-25T14:28:02-05:00","created_at":"2026-11-25T14:27:00-05:00",
            "landing_site":"/products/boot?oppref=opp_7&fbclid=IwAR3x&cart=c1&email=jane%40example.com&utm_source=chatgpt",
            "order_status_url":"https://shop.example.com/1/orders/abc/authenticate?key=SECRET"}"#;
        let hit = webhook_hit(
            WebhookKind::Shopify,
            "orders/create",
            body,
            9,
            Some("https://shop.example.com"),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            hit.time,
            Some(1_795_634_882_000.0),
            "processed_at, not the arrival"
        );
        assert_eq!(
            hit.page.url.as_deref(),
            Some("https://shop.example.com/products/boot?oppref=opp_7&fbclid=IwAR3x&utm_source=chatgpt")
        );
        assert_eq!(hit.context.cookies["__oppref"], "opp_7");
        assert_eq!(hit.context.cookies["_fbc"], "fb.1.1795634882000.IwAR3x");
        assert!(!serde_json::to_string(&hit.page).unwrap().contains("SECRET"));
    }

    #[test]
    fn order_times_page_urls_and_guests_per_platform() {
        // created_at when processed_at is missing; no landing page → the shop's home page; an absolute
        // landing_site (Shopify's sample payload) is re-rooted on the shop's domain.
        let shopify = |body: &[u8], shop: Option<&str>| {
            webhook_hit(WebhookKind::Shopify, "orders/create", body, 9, shop)
                .unwrap()
                .unwrap()
        };
        let h = shopify(
            br#"{"created_at":"2026-11-25T19:28:02Z"}"#,
            Some("https://s.example"),
        );
        assert_eq!(
            (h.time, h.page.url.as_deref()),
            (Some(1_795_634_882_000.0), Some("https://s.example/"))
        );
        let h = shopify(
            br#"{"landing_site":"http://www.example.com?source=abc"}"#,
            Some("https://s.example"),
        );
        assert_eq!(
            (h.time, h.page.url.as_deref()),
            (Some(9.0), Some("https://s.example/"))
        );
        assert_eq!(
            shopify(br#"{"landing_site":"/x"}"#, None).page.url,
            None,
            "no base, no URL"
        );
        // WooCommerce: date_created_gmt is UTC without an offset; a guest's customer_id 0 is not an id; the
        // order-attribution entry page gives the URL and the click ids.
        let body = br#"{"id":7,"customer_id":0,"date_created":"2026-11-25T16:28:02","date_created_gmt":"2026-11-25T19:28:02",
            "meta_data":[{"id":1,"key":"_wc_order_attribution_session_entry","value":"https://woo.example/?oppref=o9&session=s"}]}"#;
        let h = webhook_hit(WebhookKind::WooCommerce, "order.created", body, 9, None)
            .unwrap()
            .unwrap();
        assert_eq!(h.time, Some(1_795_634_882_000.0));
        assert!(!h.data.contains_key("customer_id"));
        assert_eq!(
            h.page.url.as_deref(),
            Some("https://woo.example/?oppref=o9")
        );
        assert_eq!(h.context.cookies["__oppref"], "o9");
        let member = webhook_hit(
            WebhookKind::WooCommerce,
            "order.created",
            br#"{"customer_id":26}"#,
            9,
            None,
        )
        .unwrap()
        .unwrap();
        assert_eq!(member.data["customer_id"], 26);
    }

    #[test]
    fn hostile_landing_pages_and_shop_domains_are_refused() {
        // The shop-domain header is not covered by the signature: only a bare host name is taken.
        for bad in [
            "evil.example/x",
            "a b",
            "evil.example\r\nx: y",
            "",
            "-x.example",
            "x.example:99999",
        ] {
            assert_eq!(
                crate::base::url::shop_base_from_domain(bad),
                None,
                "{bad:?}"
            );
        }
        assert_eq!(
            crate::base::url::shop_base_from_domain("Shop.myshopify.com").as_deref(),
            Some("https://shop.myshopify.com")
        );
        assert_eq!(
            crate::base::url::shop_base_url("https://shop.example.com/").as_deref(),
            Some("https://shop.example.com")
        );
        assert_eq!(
            crate::base::url::shop_base_url("http://shop.example.com"),
            None
        );
        assert_eq!(
            crate::base::url::shop_base_url("https://shop.example.com/checkout"),
            None
        );
        // A click id that could break a cookie header is not taken from a landing page.
        let body = br#"{"landing_site":"/?oppref=a%0D%0Aset-cookie%3Ax&fbclid=b%3Bc"}"#;
        let h = webhook_hit(
            WebhookKind::Shopify,
            "orders/create",
            body,
            9,
            Some("https://s.example"),
        )
        .unwrap()
        .unwrap();
        assert!(h.context.cookies.is_empty(), "{:?}", h.context.cookies);
    }
}
