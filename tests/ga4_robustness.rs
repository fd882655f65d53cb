//! GA4 hits never panic: arbitrary bytes, and GA4-shaped text with noise in every slot, give a refusal or events,
//! and every event becomes a hit that keeps the hit's JSON contract and leaks no raw email. Short runs here;
//! `PROPTEST_CASES` runs longer.

use capi_edge::config::Config;
use capi_edge::hit::Hit;
use capi_edge::intake::ga4::{parse_collect, to_hit, EventTable, MAX_EVENTS_PER_REQUEST};
use proptest::prelude::*;

const EXAMPLE: &str = include_str!("../capi.toml");

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512)
}

/// Query-ish text: real GA4 keys (browser-traffic.md) with real and arbitrary values, joined by `&`.
fn ga4_text() -> impl Strategy<Value = String> {
    let keys = prop::sample::select(vec![
        "en",
        "en",
        "tid",
        "cid",
        "sid",
        "uid",
        "dl",
        "dr",
        "dt",
        "cu",
        "gcs",
        "gcd",
        "em",
        "ep.transaction_id",
        "epn.value",
        "ep.user_data.email",
        "ep.a.b",
        "ep.a",
        "epn.tax",
        "pr1",
        "pr2",
        "pr200",
        "pr201",
        "pr0",
        "richsstsse",
        "_et",
        "v",
        "ep.jane%40example.com",
        "epn.jane%40example.com",
    ]);
    let values = prop_oneof![
        Just("purchase".to_string()),
        Just("G100".to_string()),
        Just("13r3r3r2r5l1".to_string()),
        Just("tv.1~em.McVUPBc00lxyBvX9WRUl0Clb7G_oT_gvlGo0_pcKHmY~pn.e2".to_string()),
        Just("idSKU_1~nmTee~pr10.01~qt3~k0a~v0b".to_string()),
        Just("jane%40example.com".to_string()),
        Just("%E2%82%AC%ZZ%".to_string()),
        "[~.%0-9a-zA-Z]{0,50}",
        ".{0,30}",
    ];
    let pair = (keys, values).prop_map(|(k, v)| format!("{k}={v}"));
    prop::collection::vec(pair, 0..16).prop_map(|p| p.join("&"))
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        prop::collection::vec(ga4_text(), 0..8).prop_map(|lines| lines.join("\r\n").into_bytes()),
        (1usize..400).prop_map(|n| "en=scroll\n".repeat(n).into_bytes()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn arbitrary_bytes_never_panic(query in ".{0,200}", bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(req) = parse_collect(&query, &bytes) {
            prop_assert!(req.events.len() <= MAX_EVENTS_PER_REQUEST);
        }
    }

    #[test]
    fn ga4_shaped_requests_give_valid_hits_that_leak_no_email(query in ga4_text(), body in body()) {
        let config = Config::parse(EXAMPLE).unwrap();
        let table = EventTable::default();
        let Ok(req) = parse_collect(&query, &body) else { return Ok(()) };
        prop_assert!(req.events.len() <= MAX_EVENTS_PER_REQUEST);
        for ev in req.events.iter().flatten() {
            let out = to_hit(ev, &table);
            // The hit keeps the JSON contract the pixel's hits follow.
            let value = serde_json::to_value(&out.hit).unwrap();
            prop_assert!(Hit::from_value(value).is_ok(), "{:?}", out.hit);
            let data = serde_json::to_string(&out.hit.data).unwrap();
            prop_assert!(!data.contains("jane@"), "{data}");
            // Warnings reach the trace: they name what was dropped, never its value.
            prop_assert!(!out.warnings.concat().contains("jane@"), "{:?}", out.warnings);
            let outcome = capi_edge::pipeline::process(&config, &out.hit, 1_764_000_000_000, &mut || "id".into());
            for d in &outcome.deliveries {
                prop_assert!(!d.payload.to_string().contains("jane@"), "{}", d.payload);
            }
        }
    }
}
