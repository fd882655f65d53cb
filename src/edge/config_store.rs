//! The config store's shell: reads and writes Workers KV (binding `CONFIG_STORE`) for the decisions in
//! `crate::config_store`. The live config is cached per isolate (`settings::config`); this module refreshes it, loads
//! a version for a preview, and serves the history and rollback endpoints behind the debug token.
//!
//! Intake never waits on a failing store: every KV error leaves the config serving as it is.

use super::kv::Namespace;
use super::respond::json_error;
use crate::config::Config;
#[cfg(feature = "intake")]
use crate::config_store::Selector;
use crate::config_store::{
    self as store, LiveState, Next, Pointer, Refusal, VersionInfo, LIVE_KEY,
};
use serde_json::{json, Value};
use std::cell::RefCell;
#[cfg(feature = "intake")]
use std::rc::Rc;
use worker::*;

/// The KV binding in wrangler.toml. Without it, the config compiled into the worker serves.
pub const BINDING: &str = "CONFIG_STORE";
/// A listing reads at most this many pages of 1,000 versions.
const MAX_LIST_PAGES: u32 = 10;
/// A hit that refreshes the config waits at most this long per KV read, then keeps the config it has.
const READ_TIMEOUT_MS: u32 = 1_000;

thread_local! {
    /// The live config of this isolate, and what it knows about the store.
    pub static STATE: RefCell<Option<LiveState<Config>>> = const { RefCell::new(None) };
}

fn with_state<R>(f: impl FnOnce(&mut LiveState<Config>) -> R) -> Option<R> {
    STATE.with(|s| s.borrow_mut().as_mut().map(f))
}

/// Reads the pointer and, when it moved, the version it names. Every outcome is kept in `STATE`.
pub async fn refresh(env: &Env) {
    let Some(kv) = Namespace::bound(env, BINDING) else {
        return;
    };
    let pointer = read_pointer(&kv).await;
    let Some(Next::Fetch(version)) = with_state(|s| s.after_pointer(pointer)) else {
        return;
    };
    let record = read_version(&kv, version).await;
    match &record {
        Ok(Some(_)) => console_log!("capi-edge: config version {version} is live"),
        Ok(None) => {
            console_error!("capi-edge: {LIVE_KEY} names version {version}, which does not exist; keeping the current config")
        }
        Err(r) => console_error!(
            "capi-edge: refused {}; keeping the current config",
            r.reason
        ),
    }
    with_state(|s| s.after_record(version, record));
}

async fn read_pointer(kv: &Namespace) -> std::result::Result<Option<Pointer>, String> {
    let text = kv
        .get(LIVE_KEY, store::POINTER_CACHE_TTL_S, READ_TIMEOUT_MS)
        .await
        .map_err(|e| format!("reading {LIVE_KEY} failed: {e}"))?;
    text.map(|t| store::read_pointer(&t)).transpose()
}

/// A stored version: `Ok(None)` when it does not exist.
async fn read_version(
    kv: &Namespace,
    version: u64,
) -> std::result::Result<Option<(VersionInfo, Config)>, Refusal> {
    let text = kv
        .get(&store::version_key(version), 0, READ_TIMEOUT_MS)
        .await
        .map_err(|e| Refusal {
            version,
            reason: format!("reading version {version} failed: {e}"),
            permanent: false,
        })?;
    text.map(|t| store::read_record(&t, version)).transpose()
}

/// Every stored version's metadata (from the listing: no version is read), oldest first.
async fn list_versions(kv: &Namespace) -> Result<Vec<VersionInfo>> {
    let keys = kv
        .list(store::VERSION_PREFIX, MAX_LIST_PAGES)
        .await
        .map_err(Error::RustError)?;
    let mut versions: Vec<VersionInfo> = keys
        .into_iter()
        .filter_map(|key| {
            let version = store::version_of_key(&key.name)?;
            let info = key
                .metadata
                .and_then(|m| serde_json::from_value::<VersionInfo>(m).ok())
                .unwrap_or(VersionInfo {
                    version,
                    format: 0,
                    published_by: String::new(),
                    published_ms: 0,
                    message: "(no metadata)".into(),
                });
            Some(VersionInfo { version, ..info })
        })
        .collect();
    versions.sort_by_key(|v| v.version);
    Ok(versions)
}

#[cfg(feature = "intake")]
/// The config a preview asked for (`x-capi-config`), for this request only, with what the trace says about it.
/// `Err` is the answer to give instead.
pub async fn preview(
    env: &Env,
    selector: Selector,
) -> std::result::Result<(Rc<Config>, Value), Result<Response>> {
    let serving = with_state(|s| (s.current.clone(), s.version()));
    if selector == Selector::Live {
        if let Some((config, version)) = serving {
            return Ok((
                config,
                json!({"version": version, "selected": "live", "live": true}),
            ));
        }
    }
    let Some(kv) = Namespace::bound(env, BINDING) else {
        return Err(json_error(
            404,
            "no_config_store",
            "previewing a version needs the CONFIG_STORE KV binding",
        ));
    };
    let pointer = read_pointer(&kv).await.ok().flatten().map(|p| p.version);
    let version = match selector {
        Selector::Version(v) => v,
        Selector::Live | Selector::Draft => {
            let versions = list_versions(&kv)
                .await
                .map_err(Err)?
                .into_iter()
                .map(|v| v.version);
            let found = if selector == Selector::Draft {
                store::draft_version(versions, pointer)
            } else {
                pointer
            };
            found.ok_or_else(|| {
                json_error(
                    404,
                    "unknown_config_version",
                    "there is no draft: no version is above the live one (capi-edge publish --draft)",
                )
            })?
        }
    };
    match read_version(&kv, version).await {
        Ok(Some((_, config))) => Ok((
            Rc::new(config),
            json!({"version": version, "selected": selector_name(selector), "live": pointer == Some(version)}),
        )),
        Ok(None) => Err(json_error(
            404,
            "unknown_config_version",
            &format!("version {version} does not exist"),
        )),
        Err(r) => Err(json_error(422, "config_refused", &r.reason)),
    }
}

#[cfg(feature = "intake")]
fn selector_name(s: Selector) -> String {
    match s {
        Selector::Live => "live".into(),
        Selector::Draft => "draft".into(),
        Selector::Version(v) => v.to_string(),
    }
}

/// What the serving config is, for `/r/health`, the dashboard and a trace.
pub fn status() -> Value {
    with_state(|s| s.status_json()).unwrap_or(Value::Null)
}

#[cfg(feature = "admin")]
/// `GET /api/config/versions` and `POST /api/config/rollback {"version": N}`, behind the debug token.
pub async fn admin(mut req: Request, env: &Env, route: &str) -> Result<Response> {
    let presented = super::settings::bearer(&req);
    let how = "send the debug token: Authorization: Bearer <token>";
    if let Err(refusal) = super::settings::authorize_debug(env, &presented, "the dashboard", how) {
        return refusal;
    }
    let Some(kv) = Namespace::bound(env, BINDING) else {
        return json_error(
            503,
            "no_config_store",
            "the CONFIG_STORE KV binding is missing: the compiled config serves",
        );
    };
    match (req.method(), route) {
        (Method::Get, "/api/config/versions") => {
            let versions = list_versions(&kv).await?;
            let live = read_pointer(&kv).await.ok().flatten();
            Response::from_json(&json!({
                "live": live.as_ref().map(|p| p.version),
                "live_set_by": live.as_ref().map(|p| p.set_by.clone()),
                "serving": status(),
                "versions": versions.iter().rev().collect::<Vec<_>>(),
            }))
        }
        (Method::Post, "/api/config/rollback") => {
            let body = req.text().await.unwrap_or_default();
            let Some(version) = serde_json::from_str::<Value>(&body)
                .ok()
                .and_then(|b| b.get("version").and_then(Value::as_u64))
                .filter(|v| *v > 0)
            else {
                return json_error(
                    400,
                    "invalid_request",
                    "send {\"version\": N}, N a version number",
                );
            };
            match read_version(&kv, version).await {
                Ok(Some(_)) => {}
                Ok(None) => {
                    return json_error(
                        404,
                        "unknown_config_version",
                        &format!("version {version} does not exist; nothing changed"),
                    )
                }
                Err(r) => {
                    return json_error(
                        422,
                        "config_refused",
                        &format!("{}; nothing changed", r.reason),
                    )
                }
            }
            let pointer = Pointer {
                version,
                set_by: "dashboard".into(),
                set_ms: Date::now().as_millis() as i64,
            };
            kv.put(LIVE_KEY, &serde_json::to_string(&pointer)?)
                .await
                .map_err(Error::RustError)?;
            // This isolate switches on its next request; the others within a minute.
            with_state(LiveState::expire);
            console_log!("capi-edge: rolled back to config version {version} from the dashboard");
            Response::from_json(&json!({"live": version}))
        }
        _ => json_error(
            404,
            "not_found",
            "the config endpoints are GET /api/config/versions and POST /api/config/rollback",
        ),
    }
}
