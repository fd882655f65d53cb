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
/// `GET /api/config/versions`, `POST /api/config/rollback {"version": N}`, `POST /api/config/preview-link` and the
/// rest of the config page's routes, behind the debug token.
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
        // A preview link for the draft (`crate::intake::preview_link`): the page puts it in a link to the shop.
        (Method::Post, "/api/config/preview-link") => {
            let secret = env.secret("DEBUG_TOKEN").map(|s| s.to_string()).unwrap_or_default();
            let now_s = (Date::now().as_millis() / 1000) as i64;
            let lifetime = crate::intake::preview_link::LIFETIME_S;
            Response::from_json(&json!({
                "token": crate::intake::preview_link::token(&secret, now_s),
                "expires_ms": (now_s + lifetime) * 1000,
                "fragment": "capi-preview=",
            }))
        }
        (Method::Get, "/api/config/versions") => {
            let versions = list_versions(&kv).await?;
            // Read past KV's edge cache: the page reloads this right after a publish or a rollback.
            let live = admin_pointer(&kv).await;
            let history = live.as_ref().map(Pointer::history).unwrap_or_default();
            Response::from_json(&json!({
                "live": history.last(),
                "live_set_by": live.as_ref().map(|p| &p.set_by),
                "live_set_ms": live.as_ref().map(|p| p.set_ms),
                "live_message": live.as_ref().map(|p| &p.message),
                // The versions that were live, oldest first (the last is live, the one before it previous).
                "history": history,
                "serving": status(),
                "versions": versions.iter().rev().collect::<Vec<_>>(),
            }))
        }
        (Method::Post, "/api/config/rollback") => {
            let body = req.text().await.unwrap_or_default();
            let request = serde_json::from_str::<Value>(&body).unwrap_or(Value::Null);
            let Some(version) = request
                .get("version")
                .and_then(Value::as_u64)
                .filter(|v| *v > 0)
            else {
                return json_error(
                    400,
                    "invalid_request",
                    "send {\"version\": N, \"message\": \"…\", \"by\": \"…\"}, N a version number",
                );
            };
            let by = publisher(request.get("by").and_then(Value::as_str));
            let message = clean_message(request.get("message").and_then(Value::as_str).unwrap_or_default());
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
            write_pointer(&kv, version, &by, &message, Date::now().as_millis() as i64).await?;
            // This isolate switches on its next request; the others within a minute.
            with_state(LiveState::expire);
            console_log!("capi-edge: config version {version} made live from the dashboard");
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
        (Method::Post, "/api/config/diff") => {
            let body = req.text().await.unwrap_or_default();
            diff(env, &kv, &body).await
        }
        _ => json_error(
            404,
            "not_found",
            "the config endpoints are GET /api/config/versions, GET /api/config/source, POST /api/config/diff, POST /api/config/rollback, POST /api/config/publish and POST /api/config/preview-link",
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
    let by = publisher(request.by.as_deref());
    let message = clean_message(&request.message);
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
            write_pointer(kv, version, &by, &message, info.published_ms).await?;
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

/// The longest publisher's name and message kept (KV's metadata holds 1 KB; the history prints them).
#[cfg(feature = "admin")]
const MAX_NAME_CHARS: usize = 100;
#[cfg(feature = "admin")]
const MAX_MESSAGE_CHARS: usize = 500;

/// Who published, as the page sent it: trimmed, at most 100 characters, no control character (a name that could
/// forge a line in the CLI's history or a log is refused, not cleaned); "dashboard" when none is usable.
#[cfg(feature = "admin")]
fn publisher(by: Option<&str>) -> String {
    by.map(str::trim)
        .filter(|b| {
            b.chars().count() <= MAX_NAME_CHARS
                && crate::base::guard::safe_id(b, 4 * MAX_NAME_CHARS)
        })
        .map_or_else(|| "dashboard".into(), str::to_string)
}

/// A publish or rollback message: control characters dropped, at most 500 characters.
#[cfg(feature = "admin")]
fn clean_message(message: &str) -> String {
    message
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_MESSAGE_CHARS)
        .collect::<String>()
        .trim()
        .to_string()
}

/// The pointer as stored, read past the edge cache.
#[cfg(feature = "admin")]
async fn admin_pointer(kv: &Namespace) -> Option<Pointer> {
    let text = kv.get(LIVE_KEY, 0, READ_TIMEOUT_MS).await.ok()??;
    crate::config::store::read_pointer(&text).ok()
}

/// Makes `version` live: the pointer the workers read, with the message and the versions that were live before
/// (`Pointer::next`, as the CLI writes it), for the page's "previous".
#[cfg(feature = "admin")]
async fn write_pointer(
    kv: &Namespace,
    version: u64,
    by: &str,
    message: &str,
    now_ms: i64,
) -> Result<()> {
    let previous = admin_pointer(kv).await;
    let pointer = Pointer::next(previous.as_ref(), version, by, message, now_ms);
    kv.put(LIVE_KEY, &serde_json::to_string(&pointer)?)
        .await
        .map_err(Error::RustError)
}

/// A stored version as a diff side: its tree (its TOML, else its compiled form) and its config.
#[cfg(feature = "admin")]
async fn version_side(
    kv: &Namespace,
    version: u64,
) -> std::result::Result<(Value, Config), Result<Response>> {
    let text = kv
        .get(&store::version_key(version), 0, READ_TIMEOUT_MS)
        .await
        .map_err(|e| json_error(503, "config_store_error", &e))?
        .ok_or_else(|| {
            json_error(
                404,
                "unknown_config_version",
                &format!("version {version} does not exist"),
            )
        })?;
    let (_, config) = store::read_record(&text, version)
        .map_err(|r| json_error(422, "config_refused", &r.reason))?;
    let record: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let tree = match record.get("source").and_then(Value::as_str) {
        Some(source) => crate::config::diff::tree_from_toml(source).unwrap_or(Value::Null),
        None => record.get("config").cloned().unwrap_or(Value::Null),
    };
    Ok((tree, config))
}

/// `POST /api/config/diff {"source": TOML}` (or `{"version": N}`): what publishing it would change, before it is
/// published. The block diff against the live version (`config::diff`), and what the two do differently with
/// the kept sample of recent hits (`sample_diff`, as `capi-edge diff live DRAFT --hits` prints). Nothing is
/// stored. A draft that fails the checker is answered as publish answers it (422, every error at its line).
#[cfg(feature = "admin")]
async fn diff(env: &Env, kv: &Namespace, body: &str) -> Result<Response> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct DiffRequest {
        #[serde(default)]
        source: Option<String>,
        #[serde(default)]
        version: Option<u64>,
    }
    let (new_name, new_tree, new_config) = match serde_json::from_str::<DiffRequest>(body) {
        Ok(DiffRequest {
            source: Some(source),
            version: None,
        }) => match crate::check(&source) {
            Ok(config) => (
                "the draft".to_string(),
                crate::config::diff::tree_from_toml(&source).unwrap_or(Value::Null),
                config,
            ),
            Err(_) => {
                let mut answer = crate::check::json::check_json(&source);
                answer["error"] = "config_invalid".into();
                answer["detail"] =
                    "the config has errors: fix them to see what it would change".into();
                return Ok(Response::from_json(&answer)?.with_status(422));
            }
        },
        Ok(DiffRequest {
            source: None,
            version: Some(v),
        }) if v > 0 => match version_side(kv, v).await {
            Ok((tree, config)) => (format!("version {v}"), tree, config),
            Err(answer) => return answer,
        },
        _ => {
            return json_error(
                400,
                "invalid_request",
                "send {\"source\": \"<capi.toml>\"} or {\"version\": N}",
            )
        }
    };
    let live = admin_pointer(kv).await.map(|p| p.version);
    let (old_name, old_tree, old_config) = match live {
        Some(v) => match version_side(kv, v).await {
            Ok((tree, config)) => (format!("version {v} (live)"), tree, config),
            Err(answer) => return answer,
        },
        // Nothing published: the config compiled into the worker serves; every block of the draft is new.
        None => match super::settings::config(env).await {
            Ok(config) => (
                "the compiled config".to_string(),
                Value::Null,
                (*config).clone(),
            ),
            Err(detail) => return json_error(500, "config_invalid", &detail),
        },
    };
    let config = crate::config::diff::diff_json(&old_name, &new_name, &old_tree, &new_tree);
    let sample = match super::admin::ledger::open(env) {
        Some(db) => {
            let hits: Vec<crate::operations::sample_diff::SampleHit> =
                super::admin::ledger::samples(&db)
                    .await?
                    .into_iter()
                    .filter_map(|s| {
                        let mut hit = crate::hit::Hit::from_value(s.hit).ok()?;
                        hit.source = s.source;
                        Some(crate::operations::sample_diff::SampleHit {
                            hit,
                            now_ms: s.received_ms,
                        })
                    })
                    .collect();
            let result = crate::operations::sample_diff::compare(&old_config, &new_config, &hits);
            crate::operations::sample_diff::summary_json(&result)
        }
        None => Value::Null,
    };
    Response::from_json(&json!({
        "live": live,
        "old": old_name,
        "new": new_name,
        "config": config,
        "sample": sample,
    }))
}
