//! Responses: JSON errors, CORS headers, the demo page, the 1×1 gif, health. (The pixel script, its bridge and the
//! dashboard page are static files: scripts/assets.mjs.)

use crate::config::Config;
use serde_json::json;
#[cfg(feature = "intake")]
use worker::Headers;
use worker::{Response, Result};

const DEMO_HTML: &str = include_str!("../../www/demo.html");

/// The body of every JSON error: `{"error": <code>, "detail": <what to do, in words>}`.
pub fn error_body(error: &str, detail: &str) -> serde_json::Value {
    json!({"error": error, "detail": detail})
}

pub fn json_error(status: u16, error: &str, detail: &str) -> Result<Response> {
    Ok(Response::from_json(&error_body(error, detail))?.with_status(status))
}

pub fn not_found(path: &str) -> Result<Response> {
    json_error(404, "not_found", &format!("nothing is served at {path}"))
}

pub fn no_content() -> Result<Response> {
    Ok(Response::empty()?.with_status(204))
}

/// The pixel script, its bridge and the dashboard page are static files (scripts/assets.mjs, wrangler's
/// `[assets]`), served before the worker runs; the worker sees these paths only when the files are missing.
pub fn static_file_missing(path: &str) -> Result<Response> {
    json_error(
        404,
        "not_found",
        &format!("{path} is a static file: build with scripts/build.sh, which writes build/assets, and serve it with [assets] in wrangler.toml"),
    )
}

pub fn demo_page(prefix: &str) -> Result<Response> {
    Response::from_html(DEMO_HTML.replace("__CAPI_PREFIX__", prefix))
}

/// `config`: which version serves (`config_store::status`), and any version refused.
pub fn health(config: &Config, served: serde_json::Value) -> Result<Response> {
    let destinations: Vec<_> = config
        .destinations
        .iter()
        .map(|d| json!({"name": d.name, "kind": d.kind.as_str()}))
        .collect();
    Response::from_json(
        &json!({"ok": true, "version": env!("CARGO_PKG_VERSION"), "destinations": destinations,
                                "tags": config.tags.len(), "config": served}),
    )
}

#[cfg(feature = "intake")]
/// CORS headers for an allowed origin, as the core decides them for every browser answer.
pub fn cors_headers(headers: &mut Headers, origin: &str) -> Result<()> {
    for (name, value) in crate::intake::respond::cors_headers(Some(origin)) {
        headers.set(name, &value)?;
    }
    Ok(())
}

#[cfg(feature = "intake")]
pub fn preflight(origin: &str) -> Result<Response> {
    let mut r = no_content()?;
    cors_headers(r.headers_mut(), origin)?;
    r.headers_mut()
        .set("access-control-allow-methods", "POST, GET, OPTIONS")?;
    r.headers_mut().set(
        "access-control-allow-headers",
        "content-type, x-capi-preview",
    )?;
    r.headers_mut().set("access-control-max-age", "86400")?;
    Ok(r)
}
