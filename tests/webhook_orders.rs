//! Golden tests: Shopify and WooCommerce orders of the documented shapes, through the shipped capi.toml, to the
//! exact outbound requests (and what was dropped, with its reason). Each fixture in tests/fixtures/orders/ has a
//! `.expected.json` beside it. To accept a deliberate change: `UPDATE_GOLDEN=1 cargo test --test webhook_orders`,
//! then review the diff.

use capi_edge::config::Config;
use capi_edge::destination::RedactedSecrets;
use capi_edge::identity::normalize::sha256_hex;
use capi_edge::intake::sources::{webhook_hit, WebhookKind};
use serde_json::{json, Value};
use std::path::Path;

/// 2026-11-26T00:00:00Z: the fixtures' orders were placed the evening before.
const NOW_MS: i64 = 1_795_651_200_000;
/// The arrival time, which must never become the event's time.
const ARRIVAL_MS: i64 = NOW_MS + 3_600_000;

fn shipped_config() -> Config {
    let src = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/capi.toml")).unwrap();
    Config::parse(&src).expect("the shipped capi.toml is valid")
}

/// An order webhook through the shipped config: every outbound request and every drop, as JSON.
fn run(kind: WebhookKind, topic: &str, fixture: &str) -> Value {
    let config = shipped_config();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/orders");
    let body = std::fs::read(dir.join(fixture)).unwrap();
    let hit = webhook_hit(
        kind,
        topic,
        &body,
        ARRIVAL_MS,
        config.sources.shop_url.as_deref(),
    )
    .unwrap()
    .expect("an order, not a ping");
    let outcome =
        capi_edge::pipeline::process(&config, &hit, ARRIVAL_MS, &mut || "generated".into());
    let dropped: Vec<Value> = outcome
        .dropped
        .iter()
        .map(|d| json!({"destination": d.destination_name, "status": d.status, "reason": d.reason}))
        .collect();
    let warnings = outcome.warnings();
    let requests: Vec<Value> =
        capi_edge::pipeline::requests(&config, outcome.deliveries, &RedactedSecrets)
            .into_iter()
            .map(|r| {
                let r = r.unwrap();
                json!({"destination": r.destination, "url": r.url, "body": r.body})
            })
            .collect();
    json!({"requests": requests, "dropped": dropped, "warnings": warnings})
}

fn golden(name: &str, actual: &Value) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/orders")
        .join(format!("{name}.expected.json"));
    let text = serde_json::to_string_pretty(actual).unwrap() + "\n";
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(text, expected, "{name}: outbound differs from {path:?}");
}

/// The one event sent to `destination`.
fn event<'a>(out: &'a Value, destination: &str) -> &'a Value {
    let r = out["requests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["destination"] == destination)
        .unwrap_or_else(|| panic!("nothing sent to {destination}: {out:#}"));
    let body = &r["body"];
    if body["events"].is_array() {
        &body["events"][0]
    } else {
        &body["data"][0]
    }
}

#[test]
fn a_paid_shopify_web_order_goes_out_as_the_shop_recorded_it() {
    let out = run(
        WebhookKind::Shopify,
        "orders/create",
        "shopify-web-order.json",
    );
    golden("shopify-web-order", &out);
    let (openai, meta) = (event(&out, "openai"), event(&out, "meta"));
    // The order's processed_at (14:28:02 -05:00), not the arrival an hour later.
    assert_eq!(openai["timestamp_ms"], 1_795_634_882_000_i64);
    assert_eq!(meta["event_time"], 1_795_634_882);
    // An absolute URL on the shop's domain, the order key nowhere, only attribution parameters kept.
    let url = "https://shop.example.com/products/trail-boot?oppref=opp_7Qx2&fbclid=IwAR2bX9_kq&utm_source=chatgpt&utm_medium=paid";
    assert_eq!(openai["source_url"], url);
    assert_eq!(meta["event_source_url"], url);
    assert!(!out.to_string().contains("key=7f3e1d0c9b8a"));
    // The click ids of the landing page.
    assert_eq!(openai["oppref"], "opp_7Qx2");
    assert_eq!(meta["user_data"]["fbc"], "fb.1.1795634882000.IwAR2bX9_kq");
    // (312) 555-0148 with a US billing address: Meta's rule is the number with its country code.
    assert_eq!(
        meta["user_data"]["ph"][0],
        sha256_hex("13125550148").as_str()
    );
    assert_eq!(meta["action_source"], "website");
    // Discount and tax: the total the customer paid; the socks with an empty SKU keep their product id.
    assert_eq!(openai["data"]["amount"], 24134);
    assert_eq!(openai["data"]["contents"][1]["id"], "8124871245891");
}

#[test]
fn a_shopify_order_without_client_details_reaches_the_platforms_that_accept_it() {
    let out = run(
        WebhookKind::Shopify,
        "orders/create",
        "shopify-order-no-client-details.json",
    );
    golden("shopify-order-no-client-details", &out);
    // OpenAI takes a web event without a user agent; Meta does not, and the reason is recorded.
    assert_eq!(
        event(&out, "openai")["source_url"],
        "https://shop.example.com/"
    );
    assert_eq!(
        event(&out, "openai")["user"]["phone_numbers_sha256"][0],
        sha256_hex("442079460018").as_str(),
        "a number written with + keeps its own code"
    );
    assert_eq!(
        out["dropped"],
        json!([{"destination": "meta", "status": "dropped",
                "reason": "a website event needs the browser's user agent (client_user_agent)"}])
    );
}

#[test]
fn a_point_of_sale_order_is_a_store_purchase() {
    let out = run(
        WebhookKind::Shopify,
        "orders/paid",
        "shopify-pos-order.json",
    );
    golden("shopify-pos-order", &out);
    assert_eq!(event(&out, "meta")["action_source"], "physical_store");
    assert_eq!(event(&out, "openai")["action_source"], "physical_store");
    assert_eq!(
        out["dropped"],
        json!([]),
        "a store purchase needs no browser"
    );
}

#[test]
fn a_paid_woocommerce_order_keeps_its_utc_time_and_its_entry_page() {
    let out = run(
        WebhookKind::WooCommerce,
        "order.created",
        "woocommerce-paid-order.json",
    );
    golden("woocommerce-paid-order", &out);
    let (openai, meta) = (event(&out, "openai"), event(&out, "meta"));
    // date_created_gmt 2026-11-25T19:28:02, UTC though it carries no offset.
    assert_eq!(openai["timestamp_ms"], 1_795_634_882_000_i64);
    assert_eq!(
        openai["source_url"],
        "https://shop.example.com/product/rain-jacket/?fbclid=IwZXh0bgNhZW0BMA&utm_source=facebook"
    );
    assert_eq!(
        meta["user_data"]["fbc"],
        "fb.1.1795634882000.IwZXh0bgNhZW0BMA"
    );
    // 020 7946 0018 in GB: the trunk 0 gives way to 44.
    assert_eq!(
        meta["user_data"]["ph"][0],
        sha256_hex("442079460018").as_str()
    );
    assert_eq!(
        meta["user_data"]["external_id"][0],
        sha256_hex("318").as_str()
    );
}

#[test]
fn a_woocommerce_guest_order_from_the_admin_has_no_shared_id_and_no_browser() {
    let out = run(
        WebhookKind::WooCommerce,
        "order.updated",
        "woocommerce-guest-admin-order.json",
    );
    golden("woocommerce-guest-admin-order", &out);
    let (openai, meta) = (event(&out, "openai"), event(&out, "meta"));
    assert!(
        meta["user_data"].get("external_id").is_none()
            && openai["user"].get("external_ids_sha256").is_none(),
        "customer_id 0 is every guest, not an id"
    );
    assert_eq!(
        meta["action_source"], "other",
        "made in the admin, not on the website"
    );
    assert!(
        meta["user_data"].get("client_ip_address").is_none(),
        "an empty IP is not sent"
    );
    assert_eq!(
        meta["user_data"]["ph"][0],
        sha256_hex("447700900123").as_str()
    );
}

#[test]
fn an_unpaid_order_is_not_a_purchase() {
    let out = run(
        WebhookKind::WooCommerce,
        "order.created",
        "woocommerce-pending-order.json",
    );
    assert_eq!(
        out["requests"],
        json!([]),
        "pending: nothing is sent until it is paid"
    );
    let mut pending: Value = serde_json::from_slice(
        &std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/orders/shopify-web-order.json"),
        )
        .unwrap(),
    )
    .unwrap();
    pending["financial_status"] = "pending".into();
    let config = shipped_config();
    let hit = webhook_hit(
        WebhookKind::Shopify,
        "orders/create",
        pending.to_string().as_bytes(),
        ARRIVAL_MS,
        config.sources.shop_url.as_deref(),
    )
    .unwrap()
    .unwrap();
    assert!(
        capi_edge::pipeline::process(&config, &hit, ARRIVAL_MS, &mut || "g".into())
            .deliveries
            .is_empty()
    );
}
