//! Whole-file config checks: every error at once, with the line and hint a marketer needs.

use crate::config::Config;

fn errors(src: &str) -> Vec<String> {
    Config::parse(src)
        .map(|_| Vec::new())
        .unwrap_or_else(|e| e.iter().map(|d| d.render("capi.toml", src)).collect())
}

const DESTS: &str = r#"
[[destination]]
name = "openai"
kind = "openai"
pixel_id = "px_1"
token_secret = "OPENAI_CAPI_KEY"

[[destination]]
name = "meta"
kind = "meta"
pixel_id = "1"
token_secret = "META_TOKEN"
"#;

#[test]
fn an_unknown_destination_points_at_the_value_with_a_suggestion() {
    let src = format!(
        "{DESTS}\n[[tag]]\nname = \"purchase\"\nevent = \"Purchase\"\ndestination = \"opnai\"\n"
    );
    assert_eq!(
        errors(&src),
        vec![
            "error: unknown destination \"opnai\" in tag \"purchase\"
  --> capi.toml:17:15
   |
17 | destination = \"opnai\"
   |               ^^^^^^^
hint: destinations defined in this file: \"openai\", \"meta\". Did you mean \"openai\"?
"
        ]
    );
}

#[test]
fn every_error_in_the_file_is_reported_together() {
    let src = r#"
[[destination]]
name = "openai"
kind = "opnai"
pixel_id = "px"
token_secret = "sk-live-abc123"

[[destination]]
name = "meta"
kind = "meta"
pixle_id = "1"

[[tag]]
name = "purchase"
destination = "openai"
event = "purchase"
trigger = { field = "page.url", matches = "thank-you(" }

[[tag]]
name = "lead"
destination = "nowhere"
event = "Lead"
[tag.map]
"user.emial" = { from = "user.email" }
"data.value" = { from = "data.value", as = "numbr" }

[[test]]
name = "t"
hit = { event = "Purchase" }
fires = ["purchse"]

[extras]
x = 1
"#;
    let all = errors(src);
    let wanted = [
        "unknown destination kind \"opnai\"",
        "token_secret must be the NAME of a Worker secret",
        "unknown key \"pixle_id\" in [[destination]]",
        "\"purchase\" is not a standard event",
        "invalid regular expression",
        "unknown destination \"nowhere\"",
        "unknown outbound field \"user.emial\"",
        "unknown transform \"numbr\"",
        "expects unknown tag \"purchse\"",
        "unknown section \"extras\"",
    ];
    for w in wanted {
        assert!(
            all.iter().any(|e| e.contains(w)),
            "missing {w:?} in:\n{}",
            all.join("\n")
        );
    }
    assert_eq!(all.len(), wanted.len(), "{}", all.join("\n"));
    // Each error has a line, and they come in file order.
    let lines: Vec<usize> = all
        .iter()
        .map(|e| {
            e.split("capi.toml:")
                .nth(1)
                .unwrap()
                .split(':')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert!(lines.windows(2).all(|w| w[0] <= w[1]), "{lines:?}");
    assert!(all.iter().any(
        |e| e.contains("hint: keys allowed here:") && e.contains("Did you mean \"pixel_id\"?")
    ));
}

#[test]
fn syntax_errors_show_the_place() {
    let all = errors("[[tag]]\nname = \"x\nevent = 1\n");
    assert_eq!(all.len(), 1);
    assert!(all[0].contains("capi.toml:2:"), "{}", all[0]);
}

#[test]
fn a_missing_secret_name_says_how_to_set_it() {
    let all = errors("[[destination]]\nname = \"openai\"\nkind = \"openai\"\npixel_id = \"p\"\n");
    assert_eq!(all.len(), 1);
    assert!(all[0].contains("needs token_secret"));
    assert!(
        all[0].contains("wrangler secret put OPENAI_TOKEN"),
        "{}",
        all[0]
    );
}

#[test]
fn the_shipped_example_config_is_valid_and_its_tests_pass() {
    let src = include_str!("../../capi.toml");
    let config = crate::check(src).unwrap_or_else(|e| {
        panic!(
            "{}",
            e.iter()
                .map(|d| d.render("capi.toml", src))
                .collect::<String>()
        )
    });
    assert!(config.tests.len() >= 3);
    for event in ["Purchase", "Lead", "AddToCart", "PageView"] {
        assert!(
            config.tags.iter().any(|t| t.event == event),
            "the example covers {event}"
        );
    }
}

#[test]
fn a_failing_config_test_is_an_error_at_its_expectation() {
    let src = format!(
        "{DESTS}\n[[tag]]\nname = \"p\"\ndestination = \"openai\"\nevent = \"Purchase\"\n\n[[test]]\nname = \"amount\"\nhit = {{ event = \"Purchase\", page = {{ url = \"https://s/x\" }}, data = {{ value = 1.5, currency = \"USD\" }} }}\n[test.expect.openai]\n\"data.amount\" = 151\n"
    );
    let config = Config::parse(&src).unwrap();
    let failures = crate::check::run::run_tests(&config);
    assert_eq!(failures.len(), 1);
    let text = failures[0].render("capi.toml", &src);
    assert!(
        text.contains("openai.data.amount is 150, expected 151"),
        "{text}"
    );
    assert!(text.contains("capi.toml:23:1"), "{text}");
}

#[test]
fn a_tag_that_did_not_fire_names_the_failing_condition_in_the_trace_only() {
    let src = format!(
        "{DESTS}\n[[tag]]\nname = \"p\"\ndestination = \"openai\"\nevent = \"Purchase\"\ntrigger = {{ all = [ {{ field = \"event\", equals = \"Purchase\" }}, {{ field = \"page.path\", starts_with = \"/thank-you\" }} ] }}\n\n[[test]]\nname = \"cart\"\nhit = {{ event = \"Purchase\", page = {{ url = \"https://s.example/cart\" }} }}\nfires = [\"p\"]\n"
    );
    let config = Config::parse(&src).unwrap();
    let failures = crate::check::run::run_tests(&config);
    let hint = failures[0].hint.clone().unwrap();
    assert_eq!(
        hint,
        r#""p" did not fire: page.path starts_with "/thank-you" (was "/cart")"#
    );
    let hit = crate::hit::Hit::from_json(
        br#"{"event":"Purchase","page":{"url":"https://s.example/cart"}}"#,
    )
    .unwrap();
    assert_eq!(
        crate::pipeline::process(&config, &hit, 0, &mut || "x".into()).tags[0].reason,
        None,
        "the hot path explains nothing"
    );
    assert!(
        crate::pipeline::trace(&config, &hit, 0, &mut || "x".into()).tags[0]
            .reason
            .is_some()
    );
}

#[test]
fn the_compiled_config_behaves_like_the_parsed_one() {
    let parsed = crate::check(include_str!("../../capi.toml")).unwrap();
    let compiled = Config::from_compiled_json(&parsed.to_compiled_json()).unwrap();
    assert!(compiled.tests.is_empty(), "tests stay native");
    let hits: &[&[u8]] = &[
        br#"{"event":"Purchase","event_id":"o1","page":{"url":"https://shop.example.com/thank-you?oppref=x"},"user":{"email":"a@b.co","city":"Paris"},"data":{"value":"1,249.00","currency":"eur","contents":[{"sku":"A","qty":2,"price":3}]},"context":{"user_agent":"UA","ip":"::1"}}"#,
        br#"{"event":"PageView","page":{"url":"https://shop.example.com/?oppref=abc"},"context":{"user_agent":"UA"}}"#,
        br#"{"event":"Contact","page":{"url":"https://shop.example.com/contact"},"context":{"consent":{"ad_storage":"denied"}}}"#,
    ];
    for raw in hits {
        let hit = crate::hit::Hit::from_json(raw).unwrap();
        let a = crate::pipeline::trace(&parsed, &hit, 1_767_225_600_000, &mut || "id".into());
        let b = crate::pipeline::trace(&compiled, &hit, 1_767_225_600_000, &mut || "id".into());
        assert_eq!(a.deliveries, b.deliveries);
        assert_eq!(a.dropped, b.dropped);
        let reasons = |o: &crate::pipeline::Outcome| {
            o.tags.iter().map(|t| t.reason.clone()).collect::<Vec<_>>()
        };
        assert_eq!(reasons(&a), reasons(&b));
    }
    assert!(Config::from_compiled_json("{}")
        .unwrap_err()
        .contains("rebuild"));
}

#[test]
fn every_unknown_key_in_a_block_is_reported_not_just_the_first() {
    let src = format!(
        "{DESTS}\n[[tag]]\nname = \"p\"\ndestination = \"openai\"\nevnt = \"Purchase\"\ntrigers = 1\nevent = \"Purchase\"\ntrigger = {{ all = [ {{ feild = \"event\", equals = \"Purchase\" }}, {{ not = {{ field = \"page.url\", contians = \"x\" }} }} ] }}\n[tag.map]\n\"user.em\" = {{ form = \"user.email\" }}\n"
    );
    let all = errors(&src);
    for (key, hint) in [
        ("evnt", "\"event\""),
        ("trigers", "\"trigger\""),
        ("feild", "\"field\""),
        ("contians", "\"contains\""),
        ("form", "\"from\""),
    ] {
        assert!(
            all.iter()
                .any(|e| e.contains(&format!("unknown key \"{key}\""))
                    && e.contains(&format!("Did you mean {hint}?"))),
            "{key}: {}",
            all.join("\n")
        );
    }
    assert_eq!(
        all.iter().filter(|e| e.contains("unknown key")).count(),
        5,
        "each once: {}",
        all.join("\n")
    );
}

#[test]
fn key_lists_match_the_structs() {
    use crate::config::{Ga4Config, ProxyConfig, SiteConfig, SourcesConfig, TagConfig, TestConfig};
    use crate::destination::DestinationConfig;
    use crate::rules::mapping::MapRuleConfig;
    use crate::rules::trigger::ConditionConfig;
    // Each listed key is known to serde (an error, if any, is about its value, never "unknown field").
    fn known<T: serde::de::DeserializeOwned>(keys: &[&str]) {
        for k in keys {
            if let Err(e) = toml::from_str::<T>(&format!("{k} = 12345")) {
                assert!(
                    !e.message().starts_with("unknown field"),
                    "{k}: {}",
                    e.message()
                );
            }
        }
        // And serde rejects a key that is not listed.
        let e = toml::from_str::<T>("not_a_key = 1")
            .err()
            .map(|e| e.message().to_string())
            .unwrap_or_default();
        assert!(e.starts_with("unknown field"), "{e}");
    }
    known::<SiteConfig>(super::SITE_KEYS);
    known::<SourcesConfig>(super::SOURCES_KEYS);
    known::<Ga4Config>(super::GA4_KEYS);
    known::<ProxyConfig>(super::PROXY_KEYS);
    known::<DestinationConfig>(super::DESTINATION_KEYS);
    known::<TagConfig>(super::TAG_KEYS);
    known::<TestConfig>(super::TEST_KEYS);
    known::<ConditionConfig>(&crate::rules::trigger::CONDITION_KEYS);
    known::<MapRuleConfig>(super::MAP_RULE_KEYS);
}

#[test]
fn a_proxy_cannot_claim_one_of_the_workers_own_routes() {
    // The router and this check read one table (src/config/routes.rs): before it, /dashboard and /api/stats could be
    // claimed by a proxy and were silently shadowed by the built-in route.
    for path in [
        "/dashboard",
        "/api/stats",
        "/api/replay",
        "/e",
        "/s.js",
        "/webhooks/shopify",
    ] {
        let src = format!(
            "{DESTS}\n[[proxy]]\npath = \"{path}\"\nupstream = \"https://cdn.example.com/x.js\"\n"
        );
        let errs = errors(&src);
        assert_eq!(errs.len(), 1, "{path}: {errs:?}");
        assert!(
            errs[0].contains(&format!(
                "proxy path \"{path}\" is one of the worker's own routes"
            )) && errs[0].contains("capi.toml:15:8")
                && errs[0].contains("/api/…, /dashboard"),
            "{}",
            errs[0]
        );
    }
    let fine = format!(
        "{DESTS}\n[[proxy]]\npath = \"/lib/oaiq.js\"\nupstream = \"https://cdn.example.com/x.js\"\n"
    );
    assert_eq!(errors(&fine), Vec::<String>::new());
}

#[test]
fn a_broken_tag_block_is_reported_once_not_again_by_the_tests_that_name_it() {
    // A marketer's copy of capi.toml with three typos: an unknown condition key in one tag, a misspelt transform
    // in another, a tag name used twice. Each is reported at its line; the [[test]] naming the broken tag does
    // not add "unknown tag" on top.
    let src = format!(
        "{DESTS}
[[tag]]
name = \"purchase\"
destination = \"openai\"
event = \"Purchase\"
trigger = {{ field = \"page.path\", startswith = \"/thank-you\" }}

[[tag]]
name = \"lead\"
destination = \"openai\"
event = \"Lead\"
[tag.map]
\"data.value\" = {{ from = \"data.total\", as = \"numbr\" }}

[[tag]]
name = \"lead\"
destination = \"openai\"
event = \"Lead\"

[[test]]
name = \"a purchase fires\"
hit = {{ event = \"Purchase\" }}
fires = [\"purchase\"]
"
    );
    let errs = errors(&src);
    let firsts: Vec<&str> = errs
        .iter()
        .map(|e| e.lines().next().unwrap_or(""))
        .collect();
    assert_eq!(
        firsts,
        [
            "error: unknown key \"startswith\" in a condition",
            "error: unknown transform \"numbr\"",
            "error: tag \"lead\" is defined twice",
        ],
        "{errs:#?}"
    );
}

#[test]
fn a_value_of_the_wrong_type_is_explained_with_what_to_write() {
    let src = format!(
        "{DESTS}\n[[tag]]\nname = \"p\"\ndestination = \"openai\"\nevent = \"Purchase\"\nstandard_map = \"no\"\n"
    );
    let errs = errors(&src);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].starts_with("error: this must be a boolean, not string \"no\"")
            && errs[0].contains("hint: write true or false, without quotes"),
        "{}",
        errs[0]
    );
}

#[test]
fn three_mistakes_around_one_tag_are_all_reported_and_each_name_is_listed_once() {
    // A misspelt operator in the trigger used to stop the whole [[tag]] block from being read: its map went
    // unchecked, and the second "purchase" was not seen as a duplicate. The test's hint listed the name twice.
    let src = format!(
        "{DESTS}
[[tag]]
name = \"purchase\"
destination = \"openai\"
event = \"Purchase\"
trigger = {{ field = \"event\", equls = \"Purchase\" }}
[tag.map]
\"data.value\" = {{ from = \"data.total\", as = \"numbr\" }}

[[tag]]
name = \"purchase\"
destination = \"meta\"
event = \"Purchase\"

[[test]]
name = \"t\"
hit = {{ event = \"Purchase\" }}
fires = [\"purchse\"]
"
    );
    let errs = errors(&src);
    let firsts: Vec<&str> = errs
        .iter()
        .map(|e| e.lines().next().unwrap_or(""))
        .collect();
    assert_eq!(
        firsts,
        [
            "error: unknown key \"equls\" in a condition",
            "error: unknown transform \"numbr\"",
            "error: tag \"purchase\" is defined twice",
            "error: test \"t\" expects unknown tag \"purchse\"",
        ],
        "{errs:#?}"
    );
    let places: Vec<&str> = errs
        .iter()
        .map(|e| e.lines().nth(1).unwrap_or("").trim())
        .collect();
    assert_eq!(
        places,
        [
            "--> capi.toml:18:30",
            "--> capi.toml:20:44",
            "--> capi.toml:23:8",
            "--> capi.toml:30:9",
        ]
    );
    assert!(
        errs[2].contains("23 | name = \"purchase\"\n   |        ^^^^^^^^^^\n"),
        "{}",
        errs[2]
    );
    assert!(
        errs[3].ends_with("hint: tags: \"purchase\". Did you mean \"purchase\"?\n"),
        "{}",
        errs[3]
    );
}

#[test]
fn a_broken_destination_block_is_not_reported_again_as_unknown_by_the_tags_and_tests_naming_it() {
    let src = "
[[destination]]
name = \"meta\"
kind = \"meta\"
pixle_id = \"1\"
token_secret = \"META_TOKEN\"

[[tag]]
name = \"purchase\"
destination = \"meta\"
event = \"Purchase\"

[[test]]
name = \"t\"
hit = { event = \"Purchase\" }
[test.absent]
meta = [\"user.em\"]
";
    let errs = errors(src);
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert!(
        errs[0].starts_with("error: unknown key \"pixle_id\" in [[destination]]"),
        "{}",
        errs[0]
    );
}

#[test]
fn a_mistake_in_consent_denied_leaves_the_rest_of_site_checked() {
    let src = format!(
        "[site]\npath_prefix = \"/track\"\nconsent_denied = {{ field = \"context.consent.ad_storage\", equal = \"denied\" }}\n{DESTS}"
    );
    let errs = errors(&src);
    let firsts: Vec<&str> = errs
        .iter()
        .map(|e| e.lines().next().unwrap_or(""))
        .collect();
    assert_eq!(
        firsts,
        [
            "error: path_prefix \"/track\" contains \"track\", which ad blockers block",
            "error: unknown key \"equal\" in a condition",
        ],
        "{errs:#?}"
    );
}

#[test]
fn a_syntax_error_says_that_no_other_check_ran() {
    let src =
        format!("{DESTS}\n[[tag]]\nname = \"x\nevent = \"Purchase\"\ndestination = \"opnai\"\n");
    let errs = errors(&src);
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert!(errs[0].contains("capi.toml:15:10"), "{}", errs[0]);
    assert!(
        errs[0].ends_with(
            "note: the file could not be read as TOML, so no other check ran; fix this first\n"
        ),
        "{}",
        errs[0]
    );
}

#[test]
fn a_wildcard_origin_is_a_warning_not_an_error() {
    let src = format!("[site]\nallowed_origins = [\"https://shop.example.com\", \"*\"]\n{DESTS}");
    let config = Config::parse(&src).expect("a wildcard is allowed");
    assert_eq!(
        config.site.allowed_origins,
        ["https://shop.example.com", "*"]
    );
    let warnings: Vec<String> = config
        .warnings
        .iter()
        .map(|w| w.render("capi.toml", &src))
        .collect();
    assert_eq!(
        warnings,
        ["warning: allowed_origins \"*\" lets any website send events to this worker
 --> capi.toml:2:48
  |
2 | allowed_origins = [\"https://shop.example.com\", \"*\"]
  |                                                ^^^
hint: list the real origins instead, e.g. [\"https://shop.example.com\"]: through \"*\", a page on an origin \
not listed here sends events without credentials, so its cookies (click ids, _fbp, _fbc) do not come with them
"]
    );
    // Listing the real origins (or none) warns of nothing.
    let listed = format!("[site]\nallowed_origins = [\"https://shop.example.com\"]\n{DESTS}");
    assert!(Config::parse(&listed).unwrap().warnings.is_empty());
    assert!(Config::parse(DESTS).unwrap().warnings.is_empty());
}
