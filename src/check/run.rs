//! Runs a config's `[[test]]` blocks: each sample hit goes through the pipeline, and the tags that fired and
//! the outbound fields are compared with what the block expects. A failure is a diagnostic pointing at it.

use crate::base::diagnostic::Diagnostic;
use crate::config::{Config, TestConfig};
use crate::hit::Hit;
use serde_json::Value;

/// The fixed clock tests run at when their hit has no `time`: 2026-01-01T00:00:00Z.
pub const TEST_NOW_MS: i64 = 1_767_225_600_000;

/// Runs every test; returns one diagnostic per failed expectation.
pub fn run_tests(config: &Config) -> Vec<Diagnostic> {
    config
        .tests
        .iter()
        .flat_map(|t| run_test(config, t))
        .collect()
}

fn run_test(config: &Config, test: &TestConfig) -> Vec<Diagnostic> {
    let name = test.name.get_ref();
    let mut failures = Vec::new();
    let Ok(mut hit) = Hit::from_value(test.hit.get_ref().clone()) else {
        return failures; // already reported by the config checks
    };
    hit.source = match test.source.as_ref().map(|s| s.get_ref().as_str()) {
        Some("server") => crate::hit::Source::Server,
        Some("webhook") => crate::hit::Source::Webhook,
        _ => crate::hit::Source::Browser,
    };
    let now = hit.time.map_or(TEST_NOW_MS, |_| hit.time_ms(0));
    let mut counter = 0;
    let outcome = crate::pipeline::trace(config, &hit, now, &mut || {
        counter += 1;
        format!("test-event-{counter}")
    });
    if let Some(expected) = &test.fires {
        let fired: Vec<&str> = outcome
            .tags
            .iter()
            .filter(|t| t.fired)
            .map(|t| t.tag.as_str())
            .collect();
        let mut want: Vec<&str> = expected.get_ref().iter().map(String::as_str).collect();
        let mut got = fired.clone();
        want.sort_unstable();
        got.sort_unstable();
        if want != got {
            let why: Vec<String> = outcome
                .tags
                .iter()
                .filter(|t| !t.fired && want.contains(&t.tag.as_str()))
                .map(|t| {
                    format!(
                        "\"{}\" did not fire: {}",
                        t.tag,
                        t.reason.as_deref().unwrap_or("")
                    )
                })
                .collect();
            failures.push(
                Diagnostic::new(
                    format!(
                        "test \"{name}\" failed: expected tags {want:?} to fire, but {got:?} fired"
                    ),
                    Some(expected.span()),
                )
                .with_hint(if why.is_empty() {
                    "check the triggers of the tags that fired".to_string()
                } else {
                    why.join("; ")
                }),
            );
        }
    }
    for (dest, fields) in test.expect.iter().flatten() {
        let payloads: Vec<&Value> = outcome
            .deliveries
            .iter()
            .filter(|d| &d.destination_name == dest.get_ref())
            .map(|d| &d.payload)
            .collect();
        let Some(payload) = payloads.first() else {
            let dropped: Vec<String> = outcome
                .dropped
                .iter()
                .filter(|d| &d.destination_name == dest.get_ref())
                .map(|d| d.reason.clone())
                .collect();
            failures.push(
                Diagnostic::new(
                    format!(
                        "test \"{name}\" failed: nothing was sent to \"{}\"",
                        dest.get_ref()
                    ),
                    Some(dest.span()),
                )
                .with_hint(if dropped.is_empty() {
                    "no tag that fired sends to this destination".to_string()
                } else {
                    format!("the event was dropped: {}", dropped.join("; "))
                }),
            );
            continue;
        };
        for (path, want) in fields {
            let got = lookup(payload, path.get_ref());
            if !got.is_some_and(|g| same(g, want)) {
                failures.push(
                    Diagnostic::new(
                        format!(
                            "test \"{name}\" failed: {}.{} is {}, expected {want}",
                            dest.get_ref(),
                            path.get_ref(),
                            got.map_or("missing".to_string(), Value::to_string)
                        ),
                        Some(path.span()),
                    )
                    .with_hint(format!(
                        "what was sent to {}: {}",
                        dest.get_ref(),
                        payload
                    )),
                );
            }
        }
    }
    for (dest, paths) in test.absent.iter().flatten() {
        for payload in outcome
            .deliveries
            .iter()
            .filter(|d| &d.destination_name == dest.get_ref())
            .map(|d| &d.payload)
        {
            for path in paths {
                if let Some(got) = lookup(payload, path.get_ref()) {
                    failures.push(
                        Diagnostic::new(
                            format!(
                                "test \"{name}\" failed: {}.{} was sent ({got}) but should not be",
                                dest.get_ref(),
                                path.get_ref()
                            ),
                            Some(path.span()),
                        )
                        .with_hint(format!("warnings for this hit: {:?}", outcome.warnings())),
                    );
                }
            }
        }
    }
    failures
}

/// Reads `a.b.0.c` (or `a.b[0].c`) from a JSON value.
pub fn lookup<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    let normalized = path.replace('[', ".").replace(']', "");
    normalized
        .split('.')
        .filter(|s| !s.is_empty())
        .try_fold(value, |v, key| match v {
            Value::Object(map) => map.get(key),
            Value::Array(items) => items.get(key.parse::<usize>().ok()?),
            _ => None,
        })
}

/// Numbers compare by value (14900 == 14900.0); everything else exactly.
fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}
