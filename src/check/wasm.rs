//! The checker for the dashboard's config page, as the browser loads it (`scripts/build.sh` builds it with the
//! `checker` feature and wasm-bindgen's `web` target into the static files). Only this crate's pure core is in it.

use wasm_bindgen::prelude::*;

/// `checker::check_json` for the page.
#[wasm_bindgen]
pub fn check(source: &str) -> String {
    crate::check::json::check_json(source).to_string()
}

/// `checker::trace_json` for the page, at the browser's time.
#[wasm_bindgen]
pub fn trace(source: &str, hit: &str) -> String {
    crate::check::json::trace_json(source, hit, js_sys::Date::now() as i64).to_string()
}
