//! capi-edge: a server-side tag for ad platforms' Conversions APIs, at the edge.
//!
//! The pure core (everything but `edge`) runs natively: config → triggers → mappings → normalization and
//! hashing → destination payloads → outbound request values. The `edge` module is the thin Cloudflare Worker
//! shell, the only code that touches the `worker` crate; it is compiled for wasm32 only.

pub mod alerts;
pub mod checker;
#[cfg(all(target_arch = "wasm32", feature = "checker"))]
mod checker_wasm;
pub mod click_ids;
pub mod collect;
pub mod config;
pub mod config_diff;
pub mod config_store;
pub mod config_test;
#[cfg(test)]
mod config_tests;
pub mod cors;
pub mod counters;
pub mod country;
pub mod dashboard;
pub mod delivery;
pub mod destination;
pub mod diagnostic;
pub mod event;
pub mod field;
pub mod ga4;
pub mod guard;
pub mod hit;
pub mod intake;
pub mod mapping;
pub mod match_quality;
pub mod normalize;
pub mod number;
pub mod operations;
pub mod pipeline;
pub mod preview;
pub mod random;
pub mod reconcile;
pub mod redact;
pub mod replay;
pub mod routes;
pub mod sample;
pub mod sample_diff;
pub mod sources;
pub mod standard_event;
pub mod tally;
pub mod text;
pub mod timestamp;
pub mod trigger;

use diagnostic::Diagnostic;

/// Parses a config and runs its `[[test]]` blocks: every problem, in file order.
pub fn check(source: &str) -> Result<config::Config, Vec<Diagnostic>> {
    let config = config::Config::parse(source)?;
    let failures = config_test::run_tests(&config);
    if failures.is_empty() {
        Ok(config)
    } else {
        Err(failures)
    }
}

#[cfg(all(target_arch = "wasm32", any(feature = "intake", feature = "admin")))]
mod edge;
