//! Responses: JSON errors, CORS headers, the pixel script, the 1×1 gif, health.

use crate::config::Config;
use serde_json::json;
#[cfg(feature = "intake")]
use worker::Headers;
use worker::{Response, Result};

#[cfg(feature = "intake")]
/// The first-party pixel script, with its endpoint filled in at serve time.
const PIXEL_JS: &str = include_str!("../../www/pixel.js");
#[cfg(feature = "intake")]
const BRIDGE_JS: &str = include_str!("../../www/bridge.js");
const DEMO_HTML: &str = include_str!("../../www/demo.html");
#[cfg(feature = "admin")]
const DASHBOARD_HTML: &str = include_str!("../../www/dashboard.html");

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

#[cfg(feature = "intake")]
pub fn pixel_script(prefix: &str) -> Result<Response> {
    script(PIXEL_JS.replace("__CAPI_ENDPOINT__", &format!("{prefix}/e")))
}

#[cfg(feature = "intake")]
/// The pixel's bridge to the dataLayer, fbq and oaiq: no endpoint inside (it calls the pixel's `capi`).
pub fn bridge_script() -> Result<Response> {
    script(BRIDGE_JS.to_string())
}

#[cfg(feature = "intake")]
fn script(body: String) -> Result<Response> {
    let mut r = Response::ok(body)?;
    r.headers_mut()
        .set("content-type", "application/javascript; charset=utf-8")?;
    r.headers_mut()
        .set("cache-control", "public, max-age=3600")?;
    Ok(r)
}

pub fn demo_page(prefix: &str) -> Result<Response> {
    Response::from_html(DEMO_HTML.replace("__CAPI_PREFIX__", prefix))
}

#[cfg(feature = "admin")]
/// The dashboard's page holds no data; it asks for the token and reads the token-protected API.
pub fn dashboard_page(prefix: &str) -> Result<Response> {
    let mut r = Response::from_html(DASHBOARD_HTML.replace("__CAPI_PREFIX__", prefix))?;
    r.headers_mut().set("cache-control", "no-store")?;
    r.headers_mut().set("x-robots-tag", "noindex")?;
    Ok(r)
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
    for (name, value) in crate::collect::cors_headers(Some(origin)) {
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
    r.headers_mut()
        .set("access-control-allow-headers", "content-type")?;
    r.headers_mut().set("access-control-max-age", "86400")?;
    Ok(r)
}
