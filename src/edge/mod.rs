//! The Cloudflare Worker shell: the only module that touches the `worker` crate. It reads requests, calls the
//! pure core, and moves bytes to Queues, D1 and the platforms. Handlers are short; nothing here panics.

mod admin;
mod collect;
mod deliver;
mod js;
mod ledger;
mod respond;
mod server;
mod settings;

use respond::json_error;
use worker::worker_sys::web_sys;
use worker::*;

/// Takes the raw JS request: `worker::Request` reads `request.cf` on construction, which workerd builds afresh
/// each time (~35 µs), and browser intake needs none of it.
#[event(fetch)]
async fn fetch(req: web_sys::Request, env: Env, _ctx: Context) -> Result<web_sys::Response> {
    match route(req, &env).await {
        Ok(resp) => Ok(resp),
        Err(e) => {
            console_error!("capi-edge: request failed: {e}");
            json_error(
                500,
                "internal_error",
                "the worker could not handle this request; it was logged",
            )
            .map(Into::into)
        }
    }
}

async fn route(raw: web_sys::Request, env: &Env) -> Result<web_sys::Response> {
    let config = match settings::config(env) {
        Ok(c) => c,
        Err(detail) => return json_error(500, "config_invalid", &detail).map(Into::into),
    };
    // The raw URL string, split by hand: `url::Url` would link the url crate's IDNA tables (~200 KB of Wasm).
    let url = raw.url();
    let path = crate::cors::path_of(&url);
    let prefix = config.site.path_prefix.as_str();
    if path.strip_prefix(prefix) == Some("/e") {
        return collect::browser(raw, &url, env, &config).await;
    }
    other_routes(Request::from(raw), path, env, &config)
        .await
        .map(Into::into)
}

/// Every route but browser intake, through `worker::Request`: none of them is on the hot path.
async fn other_routes(
    req: Request,
    path: &str,
    env: &Env,
    config: &crate::config::Config,
) -> Result<Response> {
    let prefix = config.site.path_prefix.as_str();
    let Some(rest) = path.strip_prefix(prefix) else {
        if settings::serve_demo(env) {
            if path == "/" || path.starts_with("/thank-you") {
                return respond::demo_page(prefix);
            }
            if path == "/favicon.ico" {
                return respond::no_content();
            }
        }
        return respond::not_found(path);
    };
    match (req.method(), rest) {
        (Method::Get, "/s.js") => respond::pixel_script(prefix),
        (Method::Get, "/health") => respond::health(config),
        (_, "/api/events") => server::backend(req, env, config).await,
        (_, "/api/stats" | "/api/ledger" | "/api/reconcile") => admin::handle(req, env, rest).await,
        (Method::Get, "/dashboard") => respond::dashboard_page(prefix),
        (Method::Post, hook) if hook.starts_with("/webhooks/") => {
            server::webhook(&hook["/webhooks/".len()..], req, env, config).await
        }
        _ => match server::proxy(req, env, config, rest).await? {
            Some(resp) => Ok(resp),
            None => respond::not_found(path),
        },
    }
}

#[event(queue)]
async fn queue(
    batch: MessageBatch<wasm_bindgen::JsValue>, // bodies are read raw: see deliver::Queued
    env: Env,
    _ctx: Context,
) -> Result<()> {
    // Never return Err: the macro turns it into a trap that resets the isolate. Each message is acked or retried.
    deliver::batch(batch, &env).await;
    Ok(())
}
