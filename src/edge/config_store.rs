//! The config store's shell: reads and writes Workers KV (binding `CONFIG_STORE`) for the decisions in
//! `crate::config::store`. The live config is cached per isolate (`settings::config`); this module refreshes it, loads
//! a version for a preview, and serves the history and rollback endpoints behind the debug token.
//!
//! Intake never waits on a failing store: every KV error leaves the config serving as it is.

use super::kv::Namespace;
use super::respond::json_error;
#[cfg(feature = "intake")]
use crate::config::store::Selector;
use crate::config::store::{
    self as store, LiveState, Next, Pointer, Refusal, VersionInfo, LIVE_KEY,
};
use crate::config::Config;
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
    Ok(store::versions_from_listing(
        keys.into_iter().map(|k| (k.name, k.metadata)),
    ))
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
    let presented = super::auth::bearer(&req);
    let how = "send the debug token: Authorization: Bearer <token>";
    if let Err(refusal) = super::auth::authorize_debug(env, &presented, "the dashboard", how) {
        // Read what was sent before refusing: a client still sending its body when the answer comes may see the
        // connection reset instead of the 401 (seen with Node's fetch under load).
        let _ = req.bytes().await;
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
        (Method::Get, "/api/config/source") => {
            // The query split by hand: url::Url would link the url crate's IDNA tables.
            let url = req.inner().url();
            let version = url
                .split_once('?')
                .and_then(|(_, q)| q.split('&').find_map(|p| p.strip_prefix("version=")))
                .and_then(store::parse_version);
            let version = match version {
                Some(v) => Some(v),
                None => read_pointer(&kv).await.ok().flatten().map(|p| p.version),
            };
            let Some(version) = version else {
                return json_error(404, "no_config_version", "nothing is published yet: paste your capi.toml");
            };
            let text = kv
                .get(&store::version_key(version), 0, READ_TIMEOUT_MS)
                .await
                .map_err(Error::RustError)?;
            let source = text
                .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                .and_then(|r| r.get("source").and_then(Value::as_str).map(str::to_string));
            match source {
                Some(source) => Response::from_json(&json!({"version": version, "source": source})),
                None => json_error(404, "no_source", &format!("version {version} has no TOML stored with it")),
            }
        }
        (Method::Post, "/api/config/publish") => {
            let body = req.text().await.unwrap_or_default();
            publish(&kv, &body).await
        }
        _ => json_error(
            404,
            "not_found",
            "the config endpoints are GET /api/config/versions, GET /api/config/source, POST /api/config/rollback and POST /api/config/publish",
        ),
    }
}

/// `POST /api/config/publish {"source": TOML, "message", "draft", "by"}`: the dashboard's config page publishes
/// as `capi-edge publish` does. The same checker runs here first (its `[[test]]` blocks included): a config that
/// fails is never stored, and the answer lists every error at its line.
#[cfg(feature = "admin")]
async fn publish(kv: &Namespace, body: &str) -> Result<Response> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Publish {
        source: String,
        #[serde(default)]
        message: String,
        #[serde(default)]
        draft: bool,
        #[serde(default)]
        by: Option<String>,
    }
    let request: Publish = match serde_json::from_str(body) {
        Ok(r) => r,
        Err(e) => {
            return json_error(
                400,
                "invalid_request",
                &format!(
                "send {{\"source\": \"<capi.toml>\", \"message\": \"…\", \"draft\": false}}: {e}"
            ),
            )
        }
    };
    let config = match crate::check(&request.source) {
        Ok(c) => c,
        Err(_) => {
            let mut answer = crate::check::json::check_json(&request.source);
            answer["error"] = "config_invalid".into();
            answer["detail"] = "the config has errors; nothing was published".into();
            return Ok(Response::from_json(&answer)?.with_status(422));
        }
    };
    let by: String = request
        .by
        .filter(|b| crate::base::guard::safe_id(b, 128))
        .unwrap_or_else(|| "dashboard".into());
    let message: String = request
        .message
        .chars()
        .filter(|c| !c.is_control())
        .take(500)
        .collect();
    let mut taken: Vec<u64> = list_versions(kv).await?.iter().map(|v| v.version).collect();
    for _ in 0..5 {
        let version = store::next_version(taken.iter().copied());
        let info = VersionInfo {
            version,
            format: store::FORMAT,
            published_by: by.clone(),
            published_ms: Date::now().as_millis() as i64,
            message: message.clone(),
        };
        let key = store::version_key(version);
        // Versions are written once: check, write, read back (as the CLI does; KV has no compare-and-swap).
        if kv
            .get(&key, 0, READ_TIMEOUT_MS)
            .await
            .map_err(Error::RustError)?
            .is_some()
        {
            taken.push(version);
            continue;
        }
        let record = store::record_json(&info, &config, Some(&request.source));
        let metadata = serde_json::to_string(&info.metadata())?;
        kv.put_with_metadata(&key, &record, &metadata)
            .await
            .map_err(Error::RustError)?;
        if kv
            .get(&key, 0, READ_TIMEOUT_MS)
            .await
            .map_err(Error::RustError)?
            .as_deref()
            != Some(record.as_str())
        {
            taken.push(version);
            continue;
        }
        if !request.draft {
            let pointer = Pointer {
                version,
                set_by: by.clone(),
                set_ms: info.published_ms,
            };
            kv.put(LIVE_KEY, &serde_json::to_string(&pointer)?)
                .await
                .map_err(Error::RustError)?;
            with_state(LiveState::expire);
        }
        console_log!(
            "capi-edge: config version {version} published from the dashboard (draft: {})",
            request.draft
        );
        return Response::from_json(&json!({"version": version, "live": !request.draft}));
    }
    json_error(
        409,
        "publish_race",
        "other publishes kept taking the version numbers; try again",
    )
}
