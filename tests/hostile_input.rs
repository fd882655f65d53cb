//! Hostile values in every field a mapping can read, through the shipped capi.toml, natively: nothing that
//! reaches the response headers (event ids, click-id cookies) may hold a line break. The same cases run against
//! the built worker in tests/e2e/hostile-input.test.mjs, asserting on the real response headers.

use capi_edge::base::guard;
use capi_edge::config::Config;
use capi_edge::intake::respond;
use capi_edge::intake::{browser_hits, RequestFacts};

const NOW_MS: i64 = 1_767_225_600_000;
const INJECTED: &str = "1\r\nset-cookie:sid=attacker; Domain=example.com";

fn shipped_config() -> Config {
    let src = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/capi.toml")).unwrap();
    Config::parse(&src).expect("the shipped capi.toml is valid")
}

/// The response headers the worker writes for these facts: the core's answer (`respond::browser`), which the edge
/// shell writes as it is.
fn response_headers(
    config: &Config,
    facts: &RequestFacts,
) -> Result<Vec<(String, String)>, String> {
    let ctx = respond::Context {
        config,
        cors_origin: None,
        debug: false,
        now_ms: NOW_MS,
    };
    let reply = respond::browser(&ctx, facts, &mut || "generated-1".to_string(), &mut || 7);
    if reply.status >= 400 {
        let body: serde_json::Value =
            serde_json::from_slice(reply.body.as_deref().unwrap_or(b"{}")).unwrap();
        return Err(format!("refused: {}", body["error"].as_str().unwrap_or("")));
    }
    Ok(reply
        .headers
        .into_iter()
        .map(|(n, v)| (n.to_string(), v))
        .collect())
}

fn id_header(headers: &[(String, String)]) -> &str {
    &headers
        .iter()
        .find(|(n, _)| n == "x-capi-event-id")
        .unwrap()
        .1
}

fn assert_no_injection(what: &str, headers: &[(String, String)]) {
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    assert!(
        guard::header_lines(&pairs).is_ok(),
        "{what}: a header value can end its line: {headers:?}"
    );
    for (name, value) in headers {
        assert!(
            !value.to_ascii_lowercase().contains("sid=attacker"),
            "{what}: the attacker's cookie reached {name}: {value:?}"
        );
    }
}

#[test]
fn a_mapped_order_id_with_a_line_break_never_becomes_a_header() {
    let config = shipped_config();
    // The shipped `purchase` tag maps data.order_id into event_id: the reproduced hole, by POST and by GET.
    let body = serde_json::json!({"event": "Purchase", "event_id": "ord-safe",
        "page": {"url": "https://shop.example.com/thank-you"},
        "data": {"order_id": INJECTED, "value": 1, "currency": "USD"}})
    .to_string();
    let post = RequestFacts {
        method: "POST",
        content_type: Some("application/json"),
        body: body.as_bytes(),
        max_body_bytes: 1 << 16,
        ..RequestFacts::default()
    };
    let headers = response_headers(&config, &post).unwrap();
    assert_no_injection("POST data.order_id", &headers);
    assert_eq!(
        id_header(&headers),
        "ord-safe",
        "the event keeps the hit's own id when the mapped one is refused"
    );

    let query = "event=Purchase&url=https%3A%2F%2Fshop.example.com%2Fthank-you&data.order_id=1%0D%0Aset-cookie%3Asid%3Dattacker";
    let get = RequestFacts {
        method: "GET",
        query: Some(query),
        max_body_bytes: 1 << 16,
        ..RequestFacts::default()
    };
    let headers = response_headers(&config, &get).unwrap();
    assert_no_injection("GET data.order_id", &headers);
    assert_eq!(id_header(&headers), "generated-1");

    let outcome = capi_edge::pipeline::process(
        &config,
        &browser_hits(&post, NOW_MS).unwrap()[0],
        NOW_MS,
        &mut || "g".into(),
    );
    assert!(
        outcome
            .warnings()
            .iter()
            .any(|w| w.contains("event_id dropped") && w.contains("control characters")),
        "the trace says why: {:?}",
        outcome.warnings()
    );
}

#[test]
fn hostile_values_in_every_field_a_mapping_reads_are_refused_or_kept_off_headers() {
    let config = shipped_config();
    let hostile = serde_json::Value::from(INJECTED);
    // Each case puts the hostile text in one place; all are Purchase hits on the thank-you page, so tags fire.
    let placements: Vec<(&str, serde_json::Value)> = vec![
        (
            "data.order_id",
            serde_json::json!({"data": {"order_id": hostile}}),
        ),
        (
            "data.value",
            serde_json::json!({"data": {"value": hostile}}),
        ),
        (
            "data.currency",
            serde_json::json!({"data": {"currency": hostile}}),
        ),
        (
            "user.email",
            serde_json::json!({"user": {"email": hostile}}),
        ),
        (
            "user.external_id",
            serde_json::json!({"user": {"external_id": hostile}}),
        ),
        (
            "context.cookies._fbc",
            serde_json::json!({"context": {"cookies": {"_fbc": hostile}}}),
        ),
        (
            "context.cookies._fbp",
            serde_json::json!({"context": {"cookies": {"_fbp": hostile}}}),
        ),
        (
            "context.cookies.__oppref",
            serde_json::json!({"context": {"cookies": {"__oppref": hostile}}}),
        ),
        (
            "page.url oppref",
            serde_json::json!({"page": {"url": format!("https://shop.example.com/thank-you?oppref={}", "a%0D%0Aset-cookie%3Asid%3Dattacker")}}),
        ),
        (
            "page.url fbclid",
            serde_json::json!({"page": {"url": format!("https://shop.example.com/thank-you?fbclid={}", "a%0Aset-cookie%3Asid%3Dattacker")}}),
        ),
        (
            "page.url raw",
            serde_json::json!({"page": {"url": format!("https://shop.example.com/thank-you?fbclid={INJECTED}")}}),
        ),
        (
            "page.referrer",
            serde_json::json!({"page": {"referrer": hostile}}),
        ),
    ];
    for (what, extra) in placements {
        let mut hit = serde_json::json!({"event": "Purchase",
            "page": {"url": "https://shop.example.com/thank-you"}, "data": {}, "user": {}, "context": {}});
        for (section, fields) in extra.as_object().unwrap() {
            for (k, v) in fields.as_object().unwrap() {
                hit[section][k] = v.clone();
            }
        }
        let body = hit.to_string();
        let facts = RequestFacts {
            method: "POST",
            content_type: Some("application/json"),
            body: body.as_bytes(),
            max_body_bytes: 1 << 16,
            ..RequestFacts::default()
        };
        match response_headers(&config, &facts) {
            Ok(headers) => assert_no_injection(what, &headers),
            Err(refused) => assert_eq!(refused, "refused: invalid_hit", "{what}"),
        }
    }
    // The hit's own id with a line break is refused outright (400), as before.
    let body = format!(
        r#"{{"event":"Purchase","event_id":{}}}"#,
        serde_json::Value::from(INJECTED)
    );
    let facts = RequestFacts {
        method: "POST",
        body: body.as_bytes(),
        max_body_bytes: 1 << 16,
        ..RequestFacts::default()
    };
    assert_eq!(
        response_headers(&config, &facts).unwrap_err(),
        "refused: invalid_hit"
    );
}
