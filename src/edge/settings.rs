//! Where the worker's settings come from: the live version in the config store (`config_store`), else the config
//! compiled at build time (`capi-edge compile`, run by scripts/build.sh: checked natively, embedded as JSON), or the
//! `CAPI_CONFIG_JSON` variable when set (tests, previews); secrets; and the local-mock upstream override.

use super::config_store::{self, STATE};
use crate::config::store::LiveState;
use crate::config::Config;
#[cfg(feature = "admin")]
use crate::destination::Secrets;
use std::rc::Rc;
use worker::{Date, Env, Result};

/// `capi.toml` as `capi-edge compile` wrote it. Build with scripts/build.sh (or `make build`), which writes it.
const EMBEDDED_CONFIG: &str = include_str!("../../build/capi.compiled.json");

/// The config in force, or the first error in words when the compiled one does not parse. The compiled config
/// (`CAPI_CONFIG_JSON` when set) serves until the config store (`CONFIG_STORE`, see `config_store`) names a live
/// version; the pointer is read at an isolate's first request, then at most every `CONFIG_CHECK_SECONDS` (20).
pub async fn config(env: &Env) -> Result<Rc<Config>, String> {
    let now = Date::now().as_millis() as i64;
    let due = STATE.with(|cell| -> Result<bool, String> {
        let mut slot = cell.borrow_mut();
        let state = match slot.as_mut() {
            Some(s) => s,
            None => slot.insert(LiveState::embedded(embedded(env)?, check_every_ms(env))),
        };
        let due = state.due(now);
        if due {
            state.checking(now);
        }
        Ok(due)
    })?;
    if due {
        config_store::refresh(env).await;
    }
    STATE
        .with(|cell| cell.borrow().as_ref().map(|s| s.current.clone()))
        .ok_or_else(|| "the config is not loaded".to_string())
}

/// The config compiled into the worker. (Read once per isolate: reading `CAPI_CONFIG_JSON` on every request would
/// copy ~20 KB across the Wasm boundary per hit.) The embedded one was usually loaded when the module started
/// (`preload`); `CAPI_CONFIG_JSON`, when set, replaces it.
fn embedded(env: &Env) -> Result<Config, String> {
    if let Ok(text) = env.var("CAPI_CONFIG_JSON") {
        return Config::from_compiled_json(&text.to_string());
    }
    match PRELOADED.with(|p| p.borrow_mut().take()) {
        Some(loaded) => loaded,
        None => Config::from_compiled_json(EMBEDDED_CONFIG),
    }
}

thread_local! {
    static PRELOADED: std::cell::RefCell<Option<Result<Config, String>>> = const { std::cell::RefCell::new(None) };
}

/// Loads the embedded config when the Wasm module starts (`#[event(start)]`), before any request: an isolate's
/// first request then finds it ready. (Workers start an isolate's module while the TLS handshake is still going on,
/// so this work is off the visitor's path there; it needs no binding, so it can run before `env` exists.)
pub fn preload() {
    let loaded = Config::from_compiled_json(EMBEDDED_CONFIG);
    PRELOADED.with(|p| *p.borrow_mut() = Some(loaded));
}

fn check_every_ms(env: &Env) -> i64 {
    env.var("CONFIG_CHECK_SECONDS")
        .ok()
        .and_then(|v| v.to_string().parse::<u32>().ok())
        .map_or(crate::config::store::CHECK_EVERY_MS, |s| {
            i64::from(s) * 1000
        })
}

#[cfg(feature = "intake")]
/// The delivery queues' bindings: `DELIVERIES`, and the shards `DELIVERIES_2` … `DELIVERIES_8` that are bound
/// (wrangler.toml). One queue takes 5,000 messages a second; past a few thousand hits a second, shards spread them.
const QUEUE_BINDINGS: [&str; 8] = [
    "DELIVERIES",
    "DELIVERIES_2",
    "DELIVERIES_3",
    "DELIVERIES_4",
    "DELIVERIES_5",
    "DELIVERIES_6",
    "DELIVERIES_7",
    "DELIVERIES_8",
];

#[cfg(feature = "intake")]
thread_local! {
    /// How many of `QUEUE_BINDINGS` are bound (looked up once per isolate), and the next one to use.
    static QUEUES: std::cell::Cell<(usize, usize)> = const { std::cell::Cell::new((0, 0)) };
}

#[cfg(feature = "intake")]
/// The queue binding for the next batch of messages: the shards in turn (each isolate starts at its own place,
/// so isolates spread too). Every consumer of every shard writes to the same ledger, whose claim removes
/// duplicates whichever shard a copy went through.
pub fn delivery_queue(env: &Env) -> &'static str {
    QUEUES.with(|q| {
        let (mut bound, mut next) = q.get();
        if bound == 0 {
            bound = QUEUE_BINDINGS
                .iter()
                .take_while(|name| {
                    js_sys::Reflect::get(env, &(**name).into()).is_ok_and(|v| !v.is_undefined())
                })
                .count()
                .max(1);
            let start = crate::base::random::random_event_id()
                .bytes()
                .next()
                .unwrap_or(0);
            next = usize::from(start) % bound;
        }
        q.set((bound, (next + 1) % bound));
        QUEUE_BINDINGS[next % bound]
    })
}

/// The demo shop page is served at `/` only where `SERVE_DEMO` is set (the local loop), never by default.
pub fn serve_demo(env: &Env) -> bool {
    env.var("SERVE_DEMO").is_ok_and(|v| v.to_string() == "true")
}

/// The URL to call for `url`: as it is, or, for local runs only, on the `UPSTREAM_ORIGIN` (the mock CAPI).
pub fn upstream_url(env: &Env, url: &str) -> String {
    match env
        .var("UPSTREAM_ORIGIN")
        .ok()
        .map(|v| v.to_string())
        .filter(|v| !v.is_empty())
    {
        Some(origin) => crate::destination::rebase_url(url, &origin),
        None => url.to_string(),
    }
}

#[cfg(feature = "admin")]
/// Worker secrets, by the names the config gives; the clock and randomness a signature needs; and the access
/// token the consumer got for the destination being sent to (`Platform::token_request`), if any.
pub struct WorkerSecrets<'a> {
    pub env: &'a Env,
    pub access_token: Option<(String, String)>,
}

#[cfg(feature = "admin")]
impl<'a> WorkerSecrets<'a> {
    pub fn new(env: &'a Env) -> WorkerSecrets<'a> {
        WorkerSecrets {
            env,
            access_token: None,
        }
    }
}

#[cfg(feature = "admin")]
impl Secrets for WorkerSecrets<'_> {
    fn secret(&self, name: &str) -> Option<String> {
        self.env.secret(name).ok().map(|s| s.to_string())
    }

    fn access_token(&self, destination: &str) -> Option<String> {
        self.access_token
            .as_ref()
            .filter(|(d, _)| d == destination)
            .map(|(_, t)| t.clone())
    }

    fn now_ms(&self) -> i64 {
        js_sys::Date::now() as i64
    }

    fn nonce(&self) -> String {
        crate::base::random::random_event_id()
    }
}
