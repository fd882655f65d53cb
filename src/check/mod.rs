//! `make check`, natively, in the admin worker and in the browser: a config parsed, then its `[[test]]` blocks
//! run (`run`); the dashboard checker's JSON (`json`); the browser's Wasm entry (`wasm`).

pub mod json;
pub mod run;
#[cfg(all(target_arch = "wasm32", feature = "checker"))]
mod wasm;

use crate::base::diagnostic::Diagnostic;
use crate::config::Config;

/// Parses a config and runs its `[[test]]` blocks: every problem, in file order.
pub fn check(source: &str) -> Result<Config, Vec<Diagnostic>> {
    let config = Config::parse(source)?;
    let failures = run::run_tests(&config);
    if failures.is_empty() {
        Ok(config)
    } else {
        Err(failures)
    }
}
