//! The Cloudflare Worker shell: the only module that touches the `worker` crate. It reads requests, calls the
//! pure core, and moves bytes to Queues, D1 and the platforms. Handlers are short; nothing here panics.
//!
//! Two workers are built from it, by job (issue 15): **intake** (feature `intake`: browser and GA4 hits, the
//! backend API, webhooks, the proxy; the hot path) and **admin** (feature `admin`: the queue consumer, the
//! scheduled job, the dashboard's API, replay, config versions). Intake passes the admin routes to the admin
//! worker through the `ADMIN` service binding. Built with both features (the default), one worker does all.

#[cfg(feature = "admin")]
mod admin;
mod auth;
mod config_store;
#[cfg(feature = "intake")]
mod intake;
mod js;
mod kv;
mod respond;
mod settings;

use crate::config::routes::{builtin, Builtin};
#[cfg(feature = "intake")]
use intake::browser::Client;
use respond::json_error;
use worker::worker_sys::web_sys;
use worker::*;

/// When the module starts, before any request: the embedded config is loaded then (`settings::preload`).
#[event(start)]
fn start() {
    settings::preload();
}

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
    let config = match settings::config(env).await {
        Ok(c) => c,
        Err(detail) => return json_error(500, "config_invalid", &detail).map(Into::into),
    };
    // The raw URL string, split by hand: `url::Url` would link the url crate's IDNA tables (~200 KB of Wasm).
    let url = raw.url();
    let path = crate::base::url::path_of(&url);
    #[cfg(feature = "intake")]
    match path
        .strip_prefix(config.site.path_prefix.as_str())
        .and_then(builtin)
    {
        Some(Builtin::Intake) => {
            return intake::browser::browser(raw, &url, env, &config, Client::Pixel).await
        }
        Some(Builtin::Ga4Collect) => {
            return intake::browser::browser(raw, &url, env, &config, Client::Ga4).await
        }
        _ => {}
    }
    other_routes(Request::from(raw), path, env, &config)
        .await
        .map(Into::into)
}

/// The admin routes (`/api/…` but the backend API, `/dashboard`): served here in the admin worker, passed on
/// through the `ADMIN` service binding by an intake-only worker.
#[cfg(feature = "admin")]
async fn admin_routes(req: Request, env: &Env, prefix: &str, rest: &str) -> Result<Response> {
    match (builtin(rest), req.method()) {
        (Some(Builtin::Admin), _) if rest.starts_with("/api/config/") => {
            config_store::admin(req, env, rest).await
        }
        (Some(Builtin::Admin), _) => admin::api::handle(req, env, rest).await,
        (Some(Builtin::Dashboard), Method::Get) => {
            respond::static_file_missing(&format!("{prefix}{rest}"))
        }
        _ => respond::json_error(
            405,
            "method_not_allowed",
            &format!("this method is not accepted at {prefix}{rest}"),
        ),
    }
}

#[cfg(not(feature = "admin"))]
async fn admin_routes(req: Request, env: &Env, prefix: &str, rest: &str) -> Result<Response> {
    let _ = (prefix, rest);
    match env.service("ADMIN") {
        Ok(admin) => admin.fetch_request(req).await,
        Err(_) => respond::json_error(
            503,
            "admin_unbound",
            "the dashboard and its API run in the admin worker: bind it as ADMIN ([[services]] in wrangler.toml)",
        ),
    }
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
    // The same table as `capi-edge check` reads (src/config/routes.rs): a `[[proxy]]` can claim none of these paths.
    match (builtin(rest), req.method()) {
        (Some(Builtin::Health), Method::Get) => respond::health(config, config_store::status()),
        (Some(Builtin::Admin | Builtin::Dashboard), _) => {
            admin_routes(req, env, prefix, rest).await
        }
        (Some(Builtin::PixelScript | Builtin::BridgeScript), Method::Get) => {
            respond::static_file_missing(path)
        }
        #[cfg(feature = "intake")]
        (Some(Builtin::BackendEvents), _) => intake::server::backend(req, env, config).await,
        #[cfg(feature = "intake")]
        (Some(Builtin::Webhook), Method::Post) => {
            let platform = rest.strip_prefix("/webhooks/").unwrap_or("");
            intake::server::webhook(platform, req, env, config).await
        }
        (Some(_), _) => respond::json_error(
            405,
            "method_not_allowed",
            &format!("this method is not accepted at {path}"),
        ),
        #[cfg(feature = "intake")]
        (None, _) => match intake::server::proxy(req, env, config, rest).await? {
            Some(resp) => Ok(resp),
            None => respond::not_found(path),
        },
        #[cfg(not(feature = "intake"))]
        (None, _) => respond::not_found(path),
    }
}

#[cfg(feature = "admin")]
#[event(queue)]
async fn queue(
    batch: MessageBatch<wasm_bindgen::JsValue>, // bodies are read raw: see admin::consumer::Queued
    env: Env,
    _ctx: Context,
) -> Result<()> {
    // Never return Err: the macro turns it into a trap that resets the isolate. Each message is acked or retried.
    admin::consumer::batch(batch, &env).await;
    Ok(())
}

/// The Cron Trigger (`[triggers] crons` in wrangler.toml): alerts and retention (`scheduled.rs`).
#[cfg(feature = "admin")]
#[event(scheduled)]
async fn scheduled(event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    admin::scheduled::run_job(event.schedule() as i64, &env).await;
}
