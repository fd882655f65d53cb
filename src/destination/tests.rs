use super::*;
use crate::config::Config;
use crate::hit::Hit;
use std::collections::HashMap;

const NOW: i64 = 1_767_225_600_000;

fn config(extra_tag: &str) -> Config {
    Config::parse(&format!(
        r#"
[[destination]]
name = "openai"
kind = "openai"
pixel_id = "px 1"
token_secret = "OPENAI_KEY"

[[destination]]
name = "meta"
kind = "meta"
pixel_id = "123"
token_secret = "META_TOKEN"
test_event_code = "TEST1"

[[destination]]
name = "hook"
kind = "webhook"
endpoint = "https://example.com/hook"

[[tag]]
name = "all"
destinations = ["openai", "meta", "hook"]
event = "Purchase"
{extra_tag}
"#
    ))
    .unwrap_or_else(|e| panic!("{e:?}"))
}

fn hit(json: &str) -> Hit {
    Hit::from_json(json.as_bytes()).unwrap()
}

struct Map(HashMap<&'static str, &'static str>);
impl Secrets for Map {
    fn secret(&self, name: &str) -> Option<String> {
        self.0.get(name).map(|s| s.to_string())
    }
}

/// A Purchase's value and currency, which Meta requires.
const PAID: &str = r#""data":{"value":10,"currency":"USD"}"#;

const WEB: &str =
    r#""page":{"url":"https://s.example/ty"},"context":{"user_agent":"UA","ip":"2001:db8::1"}"#;

#[test]
fn the_timestamp_window_drops_only_out_of_window_events() {
    let c = config("");
    let cases = [
        (NOW - MAX_EVENT_AGE_MS + 1000, true),
        (NOW - MAX_EVENT_AGE_MS - 1000, false),
        (NOW + MAX_EVENT_FUTURE_MS - 1000, true),
        (NOW + MAX_EVENT_FUTURE_MS + 1000, false),
    ];
    for (t, accepted) in cases {
        let h = hit(&format!(
            r#"{{"event":"Purchase","time":{t},{PAID},{WEB}}}"#
        ));
        let out = crate::pipeline::process(&c, &h, NOW, &mut || "id".into());
        let ad_platforms = out
            .deliveries
            .iter()
            .filter(|d| d.destination_name != "hook")
            .count();
        assert_eq!(ad_platforms == 2, accepted, "time {t}: {:?}", out.dropped);
        // The webhook is ours: it gets the event regardless.
        assert!(out.deliveries.iter().any(|d| d.destination_name == "hook"));
        if !accepted {
            assert!(out.dropped.iter().all(|d| d.reason.contains("event time")));
        }
    }
}

#[test]
fn website_events_need_url_and_user_agent_where_the_platform_does() {
    let c = config("");
    let no_ua = hit(r#"{"event":"Purchase","page":{"url":"https://s.example/ty"}}"#);
    let out = crate::pipeline::process(&c, &no_ua, NOW, &mut || "id".into());
    let sent: Vec<&str> = out
        .deliveries
        .iter()
        .map(|d| d.destination_name.as_str())
        .collect();
    assert_eq!(
        sent,
        vec!["openai", "hook"],
        "OpenAI needs only source_url; Meta needs the user agent too"
    );
    assert!(out.dropped[0].reason.contains("client_user_agent"));

    let no_url = hit(r#"{"event":"Purchase","context":{"user_agent":"UA"}}"#);
    let out = crate::pipeline::process(&c, &no_url, NOW, &mut || "id".into());
    assert_eq!(out.dropped.len(), 2);
    assert!(out
        .dropped
        .iter()
        .all(|d| d.reason.contains("event_source_url")));
}

#[test]
fn batches_never_exceed_the_destination_limit() {
    let c = config("");
    let h = hit(&format!(r#"{{"event":"Purchase",{PAID},{WEB}}}"#));
    let mut n = 0;
    let mut deliveries = Vec::new();
    for _ in 0..2500 {
        deliveries.extend(
            crate::pipeline::process(&c, &h, NOW, &mut || {
                n += 1;
                format!("e{n}")
            })
            .deliveries,
        );
    }
    let requests: Vec<OutboundRequest> =
        crate::pipeline::requests(&c, deliveries, &RedactedSecrets)
            .into_iter()
            .map(Result::unwrap)
            .collect();
    let sizes: Vec<(String, usize)> = requests
        .iter()
        .map(|r| {
            let events = r.body.get("events").or_else(|| r.body.get("data")).unwrap();
            (r.destination.clone(), events.as_array().unwrap().len())
        })
        .collect();
    let openai: Vec<usize> = sizes
        .iter()
        .filter(|(d, _)| d == "openai")
        .map(|(_, s)| *s)
        .collect();
    assert_eq!(openai, vec![1000, 1000, 500]);
    assert_eq!(requests.len(), 9);
}

#[test]
fn requests_carry_tokens_from_secrets_and_fail_without_them() {
    let c = config("");
    let h = hit(&format!(r#"{{"event":"Purchase",{PAID},{WEB}}}"#));
    let d = crate::pipeline::process(&c, &h, NOW, &mut || "id".into()).deliveries;
    let secrets = Map(HashMap::from([
        ("OPENAI_KEY", "sk-live"),
        ("META_TOKEN", "EAAB"),
    ]));
    let reqs: Vec<OutboundRequest> = crate::pipeline::requests(&c, d.clone(), &secrets)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(reqs[0].url, "https://bzr.openai.com/v1/events?pid=px%201");
    assert!(reqs[0]
        .headers
        .contains(&("authorization".into(), "Bearer sk-live".into())));
    assert_eq!(reqs[1].url, "https://graph.facebook.com/v27.0/123/events");
    assert_eq!(reqs[1].body["access_token"], "EAAB");
    assert_eq!(reqs[1].body["test_event_code"], "TEST1");
    assert!(
        !reqs[2].headers.iter().any(|(k, _)| k == "authorization"),
        "webhook without token_secret"
    );

    let partial = Map(HashMap::from([("META_TOKEN", "EAAB")]));
    let err = crate::pipeline::requests(&c, d.clone(), &partial)
        .remove(0)
        .unwrap_err();
    assert!(err.contains("OPENAI_KEY is not set"), "{err}");

    let redacted = crate::pipeline::requests(&c, d.clone(), &RedactedSecrets)
        .remove(0)
        .unwrap();
    assert!(redacted
        .headers
        .contains(&("authorization".into(), "Bearer <secret OPENAI_KEY>".into())));
}

#[test]
fn openai_gets_standard_types_minor_units_and_custom_events() {
    let c = config(
        r#"
[[tag]]
name = "quiz"
destination = "openai"
event = "QuizDone"
[tag.map]
"data.score" = { from = "data.score", as = "integer" }
"#,
    );
    let h = hit(&format!(
        r#"{{"event":"Purchase","data":{{"value":"19.99","currency":"jpy","contents":[{{"sku":"A1","qty":2,"price":1000}}]}},{WEB}}}"#
    ));
    let out = crate::pipeline::process(&c, &h, NOW, &mut || "id".into());
    let p = &out.deliveries[0].payload;
    assert_eq!(p["type"], "order_created");
    assert_eq!(
        p["data"]["amount"], 20,
        "JPY has no minor unit: 19.99 rounds to 20"
    );
    assert_eq!(
        p["data"]["contents"][0],
        serde_json::json!({"id":"A1","quantity":2,"amount":1000,"currency":"JPY"})
    );
    assert_eq!(p["user"]["ip_address"], "2001:db8::1", "IPv6 kept as is");

    let quiz = hit(&format!(
        r#"{{"event":"QuizDone","data":{{"score":"7.6"}},{WEB}}}"#
    ));
    let out = crate::pipeline::process(&c, &quiz, NOW, &mut || "id".into());
    let p = &out.deliveries[0].payload;
    assert_eq!(
        (p["type"].as_str(), p["custom_event_name"].as_str()),
        (Some("custom"), Some("quizdone"))
    );
    assert_eq!(p["data"], serde_json::json!({"type": "custom", "score": 8}));
}

#[test]
fn denied_consent_keeps_the_event_from_ad_platforms_only() {
    let c = config("");
    let h = hit(&format!(r#"{{"event":"Purchase",{PAID},{WEB}}}"#)
        .replace(r#""ip""#, r#""consent":{"ad_storage":"denied"},"ip""#));
    let out = crate::pipeline::process(&c, &h, NOW, &mut || "id".into());
    assert!(out.consent_denied);
    let sent: Vec<&str> = out
        .deliveries
        .iter()
        .map(|d| d.destination_name.as_str())
        .collect();
    assert_eq!(sent, ["hook"]);
    assert_eq!(out.dropped.len(), 2);
    assert!(out.dropped.iter().all(|d| d.status == "consent_blocked"));
    let granted = hit(&format!(r#"{{"event":"Purchase",{PAID},{WEB}}}"#)
        .replace(r#""ip""#, r#""consent":{"ad_storage":"granted"},"ip""#));
    assert_eq!(
        crate::pipeline::process(&c, &granted, NOW, &mut || "id".into())
            .deliveries
            .len(),
        3
    );
}

#[test]
fn rebasing_keeps_path_and_query() {
    assert_eq!(
        rebase_url(
            "https://bzr.openai.com/v1/events?pid=p",
            "http://127.0.0.1:9999"
        ),
        "http://127.0.0.1:9999/v1/events?pid=p"
    );
    assert_eq!(
        rebase_url(
            "https://graph.facebook.com/v27.0/1/events",
            "http://127.0.0.1:9999/"
        ),
        "http://127.0.0.1:9999/v27.0/1/events"
    );
    assert_eq!(
        rebase_url("https://hooks.example.com", "http://h:1"),
        "http://h:1/"
    );
}

#[test]
fn event_ids_are_the_ones_sent() {
    let c = config(
        r#"
[tag.map]
"event_id" = { from = "data.order_id" }
"#,
    );
    let h = hit(&format!(
        r#"{{"event":"Purchase","event_id":"page-id","data":{{"order_id":"ord-7"}},{WEB}}}"#
    ));
    let out = crate::pipeline::process(&c, &h, NOW, &mut || "generated".into());
    assert_eq!(out.event_ids(), ["ord-7"]);
    let none = hit(r#"{"event":"Other"}"#);
    assert_eq!(
        crate::pipeline::process(&c, &none, NOW, &mut || "generated".into()).event_ids(),
        ["generated"]
    );
}

/// One tag, sent to one destination of `kind`, for the platform rules below.
fn single(kind: &str, event: &str, map: &str) -> Config {
    Config::parse(&format!(
        r#"
[[destination]]
name = "d"
kind = "{kind}"
pixel_id = "123"
token_secret = "TOKEN"

[[tag]]
name = "t"
destination = "d"
event = "{event}"
custom_event = true
{map}
"#
    ))
    .unwrap_or_else(|e| panic!("{e:?}"))
}

/// OpenAI's rule for custom_event_name: 1 to 64 of [A-Za-z0-9_-], starting and ending with a letter or digit
/// (developers.openai.com/ads/conversions-api; pattern in webaroundlabs/openai-ads-toolkit spec/events.json).
fn openai_accepts_custom_name(n: &str) -> bool {
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    (1..=64).contains(&n.len())
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && alnum(n.chars().next())
        && alnum(n.chars().last())
}

#[test]
fn openai_custom_event_names_start_and_end_with_a_letter_or_digit() {
    let long = format!("{} b", "a".repeat(63)); // cut at 64 leaves a trailing "_"
    let cases: Vec<(&str, Option<&str>)> = vec![
        ("Sign up!", Some("sign_up")),
        ("QuizDone", Some("quizdone")),
        ("__Quiz Done__", Some("quiz_done")),
        ("-beta-", Some("beta")),
        ("Café 2", Some("caf__2")),
        ("x", Some("x")),
        (&long, Some(&long[..63])),
        ("!!!", None),
        ("日本", None),
    ];
    for (name, expected) in cases {
        let c = single("openai", name, "");
        let h = hit(&format!(r#"{{"event":"{name}",{WEB}}}"#));
        let out = crate::pipeline::process(&c, &h, NOW, &mut || "id".into());
        match expected {
            Some(want) => {
                let p = &out.deliveries[0].payload;
                assert_eq!(p["custom_event_name"], want, "{name}");
                assert!(openai_accepts_custom_name(want), "{want}");
            }
            None => {
                // Dropped with a reason, never sent to fail the whole batch.
                assert!(out.deliveries.is_empty(), "{name}");
                assert!(
                    out.dropped[0].reason.contains("custom event name"),
                    "{:?}",
                    out.dropped
                );
            }
        }
    }
}

#[test]
fn openai_plan_enrollment_events_carry_the_plan_id() {
    // developers.openai.com/ads/supported-events: plan_enrollment data is {plan_id, amount, currency, contents};
    // customer_action takes no plan_id; custom takes any key.
    let map = "[tag.map]\n\"data.plan_id\" = { from = \"data.plan_id\" }";
    let cases = [
        ("Subscribe", "subscription_created", Some("pro")),
        ("StartTrial", "trial_started", Some("pro")),
        ("trial_started", "trial_started", Some("pro")),
        ("Lead", "lead_created", None),
        ("PlanChosen", "custom", Some("pro")),
    ];
    for (event, kind, plan) in cases {
        let c = single("openai", event, map);
        let h = hit(&format!(
            r#"{{"event":"{event}","data":{{"plan_id":"pro"}},{WEB}}}"#
        ));
        let p = &crate::pipeline::process(&c, &h, NOW, &mut || "id".into()).deliveries[0].payload;
        assert_eq!(p["type"], kind, "{event}");
        assert_eq!(p["data"]["plan_id"].as_str(), plan, "{event}: {p}");
    }
    // A numeric plan id is sent as text, as OpenAI types it.
    let c = single("openai", "Subscribe", map);
    let h = hit(&format!(
        r#"{{"event":"Subscribe","data":{{"plan_id":42}},{WEB}}}"#
    ));
    let p = &crate::pipeline::process(&c, &h, NOW, &mut || "id".into()).deliveries[0].payload;
    assert_eq!(p["data"]["plan_id"], "42");
}

#[test]
fn a_purchase_without_value_or_currency_is_dropped_for_the_meta_layouts() {
    // Meta requires value and currency on a Purchase (developers.facebook.com/docs/meta-pixel/reference).
    let cases = [
        (r#"{"value":10,"currency":"USD"}"#, None),
        (r#"{"currency":"USD"}"#, Some("data.value is missing")),
        (r#"{"value":10}"#, Some("data.currency is missing")),
        (r#"{}"#, Some("data.value and data.currency are missing")),
    ];
    for kind in ["meta", "capi"] {
        for event in ["Purchase", "order_created"] {
            for (data, reason) in cases {
                let c = single(kind, event, "");
                let h = hit(&format!(r#"{{"event":"{event}","data":{data},{WEB}}}"#));
                let out = crate::pipeline::process(&c, &h, NOW, &mut || "id".into());
                match reason {
                    None => assert_eq!(out.deliveries.len(), 1, "{kind} {event} {data}"),
                    Some(r) => {
                        assert!(out.deliveries.is_empty(), "{kind} {event} {data}");
                        assert_eq!(out.dropped[0].status, "dropped");
                        assert!(
                            out.dropped[0].reason.contains(r),
                            "{}",
                            out.dropped[0].reason
                        );
                    }
                }
            }
        }
        // Other events need neither.
        let c = single(kind, "Lead", "");
        let lead = hit(&format!(r#"{{"event":"Lead",{WEB}}}"#));
        assert_eq!(
            crate::pipeline::process(&c, &lead, NOW, &mut || "id".into())
                .deliveries
                .len(),
            1
        );
    }
    // OpenAI and webhooks take a Purchase without a value.
    for kind in ["openai", "webhook"] {
        let c = Config::parse(&format!(
            "[[destination]]\nname = \"d\"\nkind = \"{kind}\"\npixel_id = \"1\"\ntoken_secret = \"T\"\nendpoint = \"https://example.com/e\"\n\n[[tag]]\nname = \"t\"\ndestination = \"d\"\nevent = \"Purchase\"\n"
        ))
        .unwrap();
        let h = hit(&format!(r#"{{"event":"Purchase",{WEB}}}"#));
        assert_eq!(
            crate::pipeline::process(&c, &h, NOW, &mut || "id".into())
                .deliveries
                .len(),
            1,
            "{kind}"
        );
    }
}

#[test]
fn meta_num_items_is_an_integer() {
    // num_items is an int in Meta's SDKs (facebook-python-business-sdk, serverside/custom_data.py).
    let cases = [
        (r#"[{"id":"A","quantity":2},{"id":"B"}]"#, 3),
        (
            r#"[{"id":"A","quantity":0.5},{"id":"B","quantity":0.5}]"#,
            1,
        ),
    ];
    for (contents, n) in cases {
        let c = single("meta", "Purchase", "");
        let h = hit(&format!(
            r#"{{"event":"Purchase","data":{{"value":1,"currency":"USD","contents":{contents}}},{WEB}}}"#
        ));
        let p = &crate::pipeline::process(&c, &h, NOW, &mut || "id".into()).deliveries[0].payload;
        let got = &p["custom_data"]["num_items"];
        assert!(got.is_i64(), "{got} must be an integer");
        assert_eq!(got.as_i64(), Some(n));
    }
}

#[test]
fn the_graph_api_version_defaults_to_v27_and_is_checked() {
    // v25.0 expires on 2027-02-23; v27.0 is current (developers.facebook.com, marketing-api-changelog/versions).
    let meta = |version: &str| {
        Config::parse(&format!(
            "[[destination]]\nname = \"m\"\nkind = \"meta\"\npixel_id = \"1\"\ntoken_secret = \"T\"\n{version}\n"
        ))
        .map(|c| c.destinations[0].endpoint.clone())
        .map_err(|e| e[0].render("capi.toml", version))
    };
    assert_eq!(
        meta("").unwrap(),
        "https://graph.facebook.com/v27.0/1/events"
    );
    assert_eq!(
        meta("api_version = \"v26.0\"").unwrap(),
        "https://graph.facebook.com/v26.0/1/events"
    );
    for bad in ["27.0", "v27", "v27.0/", "latest", "v27.0 "] {
        let err = meta(&format!("api_version = \"{bad}\"")).unwrap_err();
        assert!(
            err.contains("is not a Graph API version") && err.contains("\"v27.0\""),
            "{bad}: {err}"
        );
    }
}

#[test]
fn a_destination_compiled_before_the_registry_still_reads() {
    // As config store format 1 kept it in KV: the kind spelled as the Rust variant it was.
    let old = r#"{"name":"openai","kind":"OpenAi","endpoint":"https://bzr.openai.com/v1/events","pixel_id":"px_1",
                 "token_secret":"OPENAI_KEY","test_event_code":null,"validate_only":false,"max_batch":1000}"#;
    let d: Destination = serde_json::from_str(old).unwrap();
    assert_eq!(d.kind.as_str(), "openai");
    let secrets = Map(HashMap::from([("OPENAI_KEY", "k")]));
    let r = d
        .request(vec![serde_json::json!({"id": "e1"})], &secrets)
        .unwrap();
    assert_eq!(r.url, "https://bzr.openai.com/v1/events?pid=px_1");
    // Written back with the config's own name.
    assert!(serde_json::to_string(&d)
        .unwrap()
        .contains(r#""kind":"openai""#));
}

#[test]
fn one_conversion_has_one_name_across_platforms() {
    let c = Config::parse(
        r#"
[[destination]]
name = "openai"
kind = "openai"
pixel_id = "px"
token_secret = "K"

[[destination]]
name = "pinterest"
kind = "pinterest"
ad_account_id = "549755885175"
token_secret = "P"

[[destination]]
name = "tiktok"
kind = "tiktok"
pixel_code = "C1"
token_secret = "T"

[[tag]]
name = "all"
destinations = ["openai", "pinterest", "tiktok"]
event = "Purchase"
"#,
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    let tags = ["Purchase", "QuizDone"];
    let name = |dest: &str, event: &str| c.destination(dest).unwrap().conversion_name(event, &tags);
    assert_eq!(name("openai", "order_created").as_deref(), Some("Purchase"));
    assert_eq!(name("openai", "page_viewed").as_deref(), Some("PageView"));
    assert_eq!(name("pinterest", "checkout").as_deref(), Some("Purchase"));
    assert_eq!(name("tiktok", "Pageview").as_deref(), Some("PageView"));
    assert_eq!(
        name("tiktok", "QuizDone").as_deref(),
        Some("QuizDone"),
        "a custom event keeps its name"
    );
    // OpenAI sends every custom event (QuizDone, and Search, which it has no type for) as `custom`: ambiguous,
    // so its card keeps OpenAI's word.
    assert_eq!(name("openai", "custom"), None);
    assert_eq!(name("openai", "something_else"), None);
}
