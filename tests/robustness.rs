//! Bad input never panics: arbitrary bytes as a config or a hit give an error, never a crash; arbitrary hits
//! through the example config give deliveries or reasons. Short runs here; `make fuzz` runs longer.

use capi_edge::config::Config;
use capi_edge::destination::RedactedSecrets;
use capi_edge::hit::Hit;
use proptest::prelude::*;
use serde_json::{json, Value};

const EXAMPLE: &str = include_str!("../capi.toml");

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512)
}

/// Config-ish text: fragments of real configs stitched with noise, so the parser gets past line one.
fn config_text() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "[[destination]]\n",
        "[[tag]]\n",
        "[[test]]\n",
        "[site]\n",
        "name = \"openai\"\n",
        "kind = \"openai\"\n",
        "kind = \"webhook\"\n",
        "pixel_id = \"p\"\n",
        "token_secret = \"K\"\n",
        "event = \"Purchase\"\n",
        "destination = \"openai\"\n",
        "trigger = { field = \"page.url\", matches = \"(a\" }\n",
        "trigger = { all = [ { not = { field = \"x\" } } ] }\n",
        "[tag.map]\n",
        "\"user.em\" = { from = 1 }\n",
        "hit = { event = \"Purchase\" }\n",
        "fires = [\"x\"]\n",
        "endpoint = \"ftp://x\"\n",
        "max_batch = 0\n",
        "= = =\n",
        "\"\u{e9}\u{1F600}\" = 3\n",
        "[\n",
        "x = [1, {a = 2}]\n",
    ]);
    prop::collection::vec(prop_oneof![pieces.prop_map(String::from), ".{0,20}"], 0..24)
        .prop_map(|v| v.concat())
}

/// Hits built from the documented shape with arbitrary values in every slot.
fn hit_value() -> impl Strategy<Value = Value> {
    let any_json = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        any::<i64>().prop_map(Value::from),
        ".{0,40}".prop_map(Value::from),
        prop::collection::vec(".{0,8}", 0..3).prop_map(|v| json!(v)),
    ];
    let text = prop_oneof![
        ".{0,60}",
        Just("Purchase".to_string()),
        Just("https://shop.example.com/thank-you?oppref=x".to_string())
    ];
    let header = "[a-zA-Z0-9./:; ()-]{0,40}";
    (text.clone(), text, any_json.clone(), any_json.clone(), any_json.clone(), header, header, any_json)
        .prop_map(|(event, url, email, value, currency, ip, ua, contents)| {
            json!({"event": event, "page": {"url": url}, "user": {"email": email},
                   "data": {"value": value, "currency": currency, "contents": contents, "total": value},
                   "context": {"ip": ip, "user_agent": ua, "cookies": {"__oppref": "o"}}})
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn arbitrary_bytes_as_config_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = capi_edge::check(&text);
    }

    #[test]
    fn config_like_text_never_panics_and_errors_render(text in config_text()) {
        if let Err(errors) = capi_edge::check(&text) {
            prop_assert!(!errors.is_empty());
            for e in errors {
                let rendered = e.render("capi.toml", &text);
                prop_assert!(rendered.starts_with("error: "));
            }
        }
    }

    #[test]
    fn arbitrary_bytes_as_a_hit_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = Hit::many_from_json(&bytes);
    }

    #[test]
    fn arbitrary_hits_give_deliveries_or_reasons(value in hit_value(), now in 0i64..4_000_000_000_000) {
        let config = Config::parse(EXAMPLE).unwrap();
        let Ok(hit) = Hit::from_value(value) else { return Ok(()) };
        let outcome = capi_edge::pipeline::process(&config, &hit, now, &mut || "id".into());
        for d in &outcome.deliveries {
            // Nothing raw: no '@' in the user data sent, whatever the email field held.
            let user = d.payload.get("user").or_else(|| d.payload.get("user_data")).cloned().unwrap_or_default();
            prop_assert!(!user.to_string().contains('@'), "{}", d.payload);
        }
        for r in capi_edge::pipeline::requests(&config, outcome.deliveries, &RedactedSecrets) {
            prop_assert!(r.is_ok());
        }
    }

    /// The sample of an arbitrary hit: no raw email, IP or user agent, it reads back as a hit, and the comparison
    /// of two configs on it never panics and prints no control character but line breaks.
    #[test]
    fn arbitrary_hits_sample_safely(value in hit_value(), now in 0i64..4_000_000_000_000) {
        let config = Config::parse(EXAMPLE).unwrap();
        let Ok(hit) = Hit::from_value(value) else { return Ok(()) };
        let Some(sampled) = capi_edge::operations::sample::sampled_hit(&config, &hit) else { return Ok(()) };
        let user = sampled["user"].to_string();
        prop_assert!(!user.contains('@'), "{user}");
        prop_assert!(sampled["context"].get("ip").is_none_or(|ip| ip == capi_edge::operations::sample::PLACEHOLDER_IP));
        prop_assert!(sampled["context"].get("user_agent").is_none_or(|ua| ua == capi_edge::operations::sample::PLACEHOLDER));
        let again = Hit::from_value(sampled).unwrap();
        let hits = [capi_edge::operations::sample_diff::SampleHit { hit: again, now_ms: now }];
        let diff = capi_edge::operations::sample_diff::compare(&config, &Config::parse(include_str!("fixtures/meta.toml")).unwrap(), &hits);
        let text = capi_edge::operations::sample_diff::render(&diff);
        prop_assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "{text}");
    }
}
