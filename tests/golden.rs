//! Golden tests: a fixture config and hit in, the exact outbound requests out, one per destination kind.
//! To accept a deliberate change: `UPDATE_GOLDEN=1 cargo test --test golden`, then review the diff.

use capi_edge::config::Config;
use capi_edge::destination::RedactedSecrets;
use capi_edge::hit::Hit;
use std::path::Path;

/// 2026-01-01T00:00:00Z; the fixtures' hits are stamped a minute earlier.
const NOW_MS: i64 = 1_767_225_600_000;

fn run_fixture(name: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let config_src = std::fs::read_to_string(dir.join(format!("{name}.toml"))).unwrap();
    let hits = std::fs::read(dir.join(format!("{name}.hit.json"))).unwrap();
    let actual = outbound(name, &config_src, &hits, false);
    compare(name, &actual, &dir.join(format!("{name}.expected.json")));
}

/// A platform kind's fixture: its `[[destination]]` (named "ads") with the shared tags and hits, in
/// `tests/fixtures/platforms/`; the golden file lists the requests and the events not sent, with why.
fn run_platform(kind: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/platforms");
    let read = |file: &str| std::fs::read_to_string(dir.join(file)).unwrap();
    let config_src = format!("{}\n{}", read(&format!("{kind}.toml")), read("tags.toml"));
    let hits = std::fs::read(dir.join("hits.json")).unwrap();
    let actual = outbound(kind, &config_src, &hits, true);
    compare(kind, &actual, &dir.join(format!("{kind}.expected.json")));
}

/// The outbound requests for the hits, pretty-printed one after another; with `dropped`, the events not sent.
fn outbound(name: &str, config_src: &str, hits: &[u8], dropped: bool) -> String {
    let config = Config::parse(config_src).unwrap_or_else(|e| panic!("{name}: {e:?}"));
    let hits = Hit::many_from_json(hits).unwrap();
    let mut n = 0;
    let mut deliveries = Vec::new();
    let mut actual = String::new();
    for hit in &hits {
        let outcome = capi_edge::pipeline::process(&config, hit, NOW_MS, &mut || {
            n += 1;
            format!("generated-{n}")
        });
        deliveries.extend(outcome.deliveries);
        for d in outcome.dropped.iter().filter(|_| dropped) {
            let line = serde_json::json!({"not_sent": d.event_id, "event": d.event_name, "status": d.status, "reason": d.reason});
            actual.push_str(&serde_json::to_string_pretty(&line).unwrap());
            actual.push('\n');
        }
    }
    for request in capi_edge::pipeline::requests(&config, deliveries, &RedactedSecrets) {
        let r = request.unwrap();
        let line = serde_json::json!({"destination": r.destination, "method": r.method, "url": r.url,
                                      "headers": r.headers, "body": r.body});
        actual.push_str(&serde_json::to_string_pretty(&line).unwrap());
        actual.push('\n');
    }
    assert!(
        actual.contains("\"method\""),
        "{name}: the fixture produced no request at all"
    );
    actual
}

fn compare(name: &str, actual: &str, golden: &Path) {
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(golden, actual).unwrap();
    }
    let expected = std::fs::read_to_string(golden).unwrap_or_default();
    assert_eq!(
        actual,
        expected,
        "{name}: outbound requests differ from {}",
        golden.display()
    );
}

#[test]
fn openai_purchase_with_contents_and_geography() {
    run_fixture("openai");
}

#[test]
fn capi_layout_from_the_setup_article() {
    run_fixture("capi");
}

#[test]
fn meta_graph_api_with_test_event_code() {
    run_fixture("meta");
}

#[test]
fn webhook_with_custom_fields_and_hashed_loyalty_id() {
    run_fixture("webhook");
}

#[test]
fn tiktok_events_api_with_its_names_click_ids_and_test_code() {
    run_platform("tiktok");
}

#[test]
fn pinterest_with_string_money_the_epik_and_test_mode() {
    run_platform("pinterest");
}

#[test]
fn snap_on_the_validate_route_with_its_cookie_and_click_id() {
    run_platform("snap");
}

#[test]
fn reddit_v3_with_its_own_email_hash_and_test_id() {
    run_platform("reddit");
}

#[test]
fn linkedin_rules_per_event_and_events_without_a_rule_kept_back() {
    run_platform("linkedin");
}

#[test]
fn ga4_measurement_protocol_on_the_debug_route_with_the_ga_client_id() {
    run_platform("ga4-mp");
}

#[test]
fn google_ads_click_conversions_with_gclid_from_url_and_cookie() {
    run_platform("google-ads");
}

#[test]
fn x_conversions_signed_with_oauth1() {
    run_platform("x");
}
