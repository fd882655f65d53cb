//! What reading the live config from the store costs an isolate, natively (`cargo bench --bench config_cache`):
//! - per request, the cache check every hit makes (is the pointer due? then a handle on the config);
//! - per switch, reading a stored version (the example config's record: JSON → checked format → `Config`),
//!   which an isolate pays once when the pointer moves.
//!
//! The KV reads themselves (one pointer read per isolate every 20 s) are measured in workerd by `make bench`
//! (bench/run.mjs, the `capi-edge-kv` worker).

use capi_edge::config::store::{self, LiveState, VersionInfo};
use std::hint::black_box;
use std::time::Instant;

fn median_ns(n: usize, mut f: impl FnMut()) -> (f64, f64, f64) {
    let mut samples = Vec::new();
    for _ in 0..15 {
        let t = Instant::now();
        for _ in 0..n {
            f();
        }
        samples.push(t.elapsed().as_secs_f64() * 1e9 / n as f64);
    }
    samples.sort_by(|a, b| a.total_cmp(b));
    (samples[7], samples[0], samples[14])
}

fn main() {
    let config = capi_edge::check(include_str!("../capi.toml")).expect("the example config checks");
    let info = VersionInfo {
        version: 2,
        format: store::FORMAT,
        published_by: "bench".into(),
        published_ms: 0,
        message: "bench".into(),
    };
    let record = store::record_json(&info, &config, Some(include_str!("../capi.toml")));

    let mut state = LiveState::embedded(config, store::CHECK_EVERY_MS);
    state.checking(0);
    let mut now = 1_i64;
    let (med, min, max) = median_ns(1_000_000, || {
        now += 1;
        if !state.due(black_box(now)) {
            black_box(state.current.clone());
        }
    });
    println!("config store: the cache check per request (not due: a handle on the cached config)");
    println!(
        "  per request: median {med:.1} ns  (min {min:.1}, max {max:.1}; 15 runs × 1,000,000)"
    );

    let (med, min, max) = median_ns(200, || {
        black_box(store::read_record(black_box(&record), 2).expect("the record reads"));
    });
    println!(
        "config store: reading a stored version on a switch (the example config, {} bytes with its TOML)",
        record.len()
    );
    println!(
        "  per switch: median {:.1} µs  (min {:.1}, max {:.1}; 15 runs × 200)",
        med / 1000.0,
        min / 1000.0,
        max / 1000.0
    );
}
