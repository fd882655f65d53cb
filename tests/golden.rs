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
    let config = Config::parse(&config_src).unwrap_or_else(|e| panic!("{name}.toml: {e:?}"));
    let hits =
        Hit::many_from_json(&std::fs::read(dir.join(format!("{name}.hit.json"))).unwrap()).unwrap();
    let mut n = 0;
    let mut deliveries = Vec::new();
    for hit in &hits {
        let outcome = capi_edge::pipeline::process(&config, hit, NOW_MS, &mut || {
            n += 1;
            format!("generated-{n}")
        });
        deliveries.extend(outcome.deliveries);
    }
    let mut actual = String::new();
    for request in capi_edge::pipeline::requests(&config, deliveries, &RedactedSecrets) {
        let r = request.unwrap();
        let line = serde_json::json!({"destination": r.destination, "method": r.method, "url": r.url,
                                      "headers": r.headers, "body": r.body});
        actual.push_str(&serde_json::to_string_pretty(&line).unwrap());
        actual.push('\n');
    }
    assert!(
        !actual.is_empty(),
        "{name}: the fixture produced no request at all"
    );
    let golden = dir.join(format!("{name}.expected.json"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &actual).unwrap();
    }
    let expected = std::fs::read_to_string(&golden).unwrap_or_default();
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
