//! The config checker as the dashboard's config page uses it (issue 13, item 8): `capi-edge check` and a debug
//! trace, as JSON, for a TOML text. The same code runs natively (the CLI, these tests), in the admin worker
//! (which checks what it is asked to publish) and in the browser (compiled to Wasm with the `checker` feature:
//! `checker_wasm`); never in the intake worker.

use crate::destination::RedactedSecrets;
use crate::hit::Hit;
use serde_json::{json, Value};

/// Every error of a config, its `[[test]]` blocks included: `{"ok", "errors": [{line, col, message, hint,
/// note}], "warnings": [the same], "summary"}`. Lines and columns count from 1; an error with no place in the
/// file has none. Warnings (which do not fail the check) come with a valid config only.
pub fn check_json(source: &str) -> Value {
    let list = |diagnostics: &[crate::base::diagnostic::Diagnostic]| -> Vec<Value> {
        diagnostics
            .iter()
            .map(|e| {
                let (line, col) = e
                    .line_col(source)
                    .map_or((Value::Null, Value::Null), |(l, c)| (l.into(), c.into()));
                json!({"line": line, "col": col, "message": e.message, "hint": e.hint, "note": e.note})
            })
            .collect()
    };
    match crate::check(source) {
        Ok(config) => json!({
            "ok": true,
            "errors": [],
            "warnings": list(&config.warnings),
            "summary": ok_summary(&config),
        }),
        Err(errors) => {
            let n = errors.len();
            json!({"ok": false, "errors": list(&errors), "warnings": [], "summary": format!("{n} error{}", if n == 1 { "" } else { "s" })})
        }
    }
}

/// What `check` says of a valid config: `ok (2 destinations, 3 tags, 4 tests passed)`, then `, 1 warning` when
/// it has warnings.
pub fn ok_summary(config: &crate::config::Config) -> String {
    format!(
        "ok ({} destinations, {} tags, {} tests passed){}",
        config.destinations.len(),
        config.tags.len(),
        config.tests.len(),
        match config.warnings.len() {
            0 => String::new(),
            1 => ", 1 warning".to_string(),
            n => format!(", {n} warnings"),
        }
    )
}

/// The debug trace of one sample hit under a config (secrets named, never read): what fires, the fields, the
/// bodies. `{"error"}` when the config or the hit does not read.
pub fn trace_json(source: &str, hit_json: &str, now_ms: i64) -> Value {
    let config = match crate::config::Config::parse(source) {
        Ok(c) => c,
        Err(errors) => {
            return json!({"error": format!("the config has {} error(s): fix them first", errors.len())})
        }
    };
    let hit = match Hit::many_from_json(hit_json.as_bytes()) {
        Ok(mut hits) if hits.len() == 1 => hits.remove(0),
        Ok(_) => return json!({"error": "give one hit (a JSON object), not a list"}),
        Err(e) => return json!({"error": format!("the hit does not read: {e}")}),
    };
    let mut n = 0;
    let mut new_id = || {
        n += 1;
        format!("trace-{n}")
    };
    let outcome = crate::pipeline::trace(&config, &hit, now_ms, &mut new_id);
    crate::pipeline::preview::trace_json(&config, &hit, &outcome, &RedactedSecrets)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[[destination]]
name = "meta"
kind = "meta"
pixel_id = "1234567890"
token_secret = "META_ACCESS_TOKEN"

[[tag]]
name = "purchase"
destination = "meta"
event = "Purchase"
"#;

    #[test]
    fn every_error_with_its_line_and_column() {
        // Two blocks, two mistakes: a misspelt key in one tag, an unknown destination in another.
        let typo =
            format!("{GOOD}\n[[tag]]\nname = \"lead\"\ndestination = \"mta\"\nevent = \"Lead\"\n")
                .replace(
                    "event = \"Purchase\"",
                    "event = \"Purchase\"\ntriger = { field = \"event\", equals = \"Purchase\" }",
                );
        let r = check_json(&typo);
        assert_eq!(r["ok"], false);
        assert_eq!(r["summary"], "2 errors", "{r}");
        let errors = r["errors"].as_array().unwrap();
        assert_eq!(
            (errors[0]["line"].as_u64(), errors[0]["col"].as_u64()),
            (Some(12), Some(1))
        );
        assert!(
            errors[0]["message"]
                .as_str()
                .unwrap()
                .contains("unknown key \"triger\""),
            "{r}"
        );
        assert!(
            errors[0]["hint"]
                .as_str()
                .unwrap()
                .contains("Did you mean \"trigger\""),
            "{r}"
        );
        assert_eq!(errors[1]["line"], 16);
        assert!(
            errors[1]["message"]
                .as_str()
                .unwrap()
                .contains("unknown destination \"mta\""),
            "{r}"
        );
        let ok = check_json(GOOD);
        assert_eq!(
            (ok["ok"].as_bool(), ok["summary"].as_str()),
            (
                Some(true),
                Some("ok (1 destinations, 1 tags, 0 tests passed)")
            )
        );
    }

    #[test]
    fn warnings_come_with_a_valid_config_and_a_syntax_error_says_nothing_else_ran() {
        let r = check_json(&format!("[site]\nallowed_origins = [\"*\"]\n{GOOD}"));
        assert_eq!(r["ok"], true, "{r}");
        assert_eq!(
            r["summary"],
            "ok (1 destinations, 1 tags, 0 tests passed), 1 warning"
        );
        assert_eq!(
            (
                r["warnings"][0]["line"].as_u64(),
                r["warnings"][0]["col"].as_u64()
            ),
            (Some(2), Some(20))
        );
        assert!(
            r["warnings"][0]["message"]
                .as_str()
                .unwrap()
                .contains("lets any website send events"),
            "{r}"
        );
        assert_eq!(check_json(GOOD)["warnings"], json!([]));
        let broken = check_json("[[tag]]\nname = \"x\n");
        assert_eq!(broken["ok"], false);
        assert!(
            broken["errors"][0]["note"]
                .as_str()
                .unwrap()
                .contains("no other check ran"),
            "{broken}"
        );
    }

    #[test]
    fn a_trace_of_a_sample_hit() {
        let t = trace_json(
            GOOD,
            r#"{"event":"Purchase","page":{"url":"https://shop.example.com/t"},"user":{"email":"a@b.co"},"data":{"value":5,"currency":"EUR"}}"#,
            1_800_000_000_000,
        );
        assert_eq!(t["tags"][0]["tag"], "purchase");
        assert_eq!(t["tags"][0]["fired"], true);
        assert_eq!(
            t["tags"][0]["event"]["identifiers"]["em"]["sha256"],
            "80305c9bb1bb2480e03894350e0a8a366dcbdeb302e69e0817aa0743abd77054"
        );
        assert!(
            t["not_sent"][0]["reason"]
                .as_str()
                .unwrap()
                .contains("user agent"),
            "{t}"
        );
        assert!(trace_json(GOOD, "[1", 0)["error"]
            .as_str()
            .unwrap()
            .contains("does not read"));
        assert!(trace_json("nonsense =", "{}", 0)["error"]
            .as_str()
            .unwrap()
            .contains("error"));
    }
}
