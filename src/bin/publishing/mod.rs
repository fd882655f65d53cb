//! `capi-edge publish | versions | rollback | diff`: config versions in the worker's KV namespace, without a build.
//! The KV calls go through wrangler (`kv_cli`), local (`--local`, `make dev`'s state) or remote (the default), so
//! wrangler's own login and account settings apply. The record format and its rules are in
//! `capi_edge::config::store`.

mod kv_cli;

use capi_edge::config::diff;
use capi_edge::config::store::{self as store, Pointer, VersionInfo, FORMAT, LIVE_KEY};
use capi_edge::config::Config;
use capi_edge::operations::sample_diff;
use kv_cli::Kv;
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::{SystemTime, UNIX_EPOCH};

/// How many times a publish picks a new number when another publish took the one it picked.
const PUBLISH_ATTEMPTS: usize = 5;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Where the config store is: the options every store command takes.
#[derive(Debug, clap::Args)]
pub struct StoreOptions {
    /// The local store of `make dev` (`.dev-state/`), not your Cloudflare account's.
    #[arg(long)]
    local: bool,
    /// Your Cloudflare account's store (the default).
    #[arg(long, conflicts_with = "local")]
    remote: bool,
    /// The local store in this folder (implies --local).
    #[arg(long, value_name = "DIR")]
    persist_to: Option<String>,
    /// The wrangler config naming the CONFIG_STORE namespace (default wrangler.toml).
    #[arg(long, value_name = "FILE")]
    wrangler_config: Option<String>,
}

impl StoreOptions {
    fn kv(self) -> Kv {
        let mut kv = Kv::from_env();
        kv.local = (self.local || self.persist_to.is_some()) && !self.remote;
        kv.persist_to = self.persist_to;
        kv.wrangler_config = self.wrangler_config;
        kv
    }
}

/// Who publishes: `--by`, else `CAPI_EDGE_PUBLISHER`, else git's user.email, else the login name.
fn publisher(by: Option<String>) -> String {
    by.or_else(|| std::env::var("CAPI_EDGE_PUBLISHER").ok())
        .or_else(|| {
            let out = std::process::Command::new("git")
                .args(["config", "user.email"])
                .output()
                .ok()?;
            let email = String::from_utf8(out.stdout).ok()?.trim().to_string();
            (!email.is_empty()).then_some(email)
        })
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "unknown".into())
}

/// `capi-edge publish`'s arguments.
#[derive(Debug, clap::Args)]
pub struct PublishArgs {
    /// The config to publish.
    #[arg(default_value = "capi.toml")]
    config: String,
    /// What changed, in a few words (shown in the history).
    #[arg(long, short, default_value = "", hide_default_value = true)]
    message: String,
    /// Store it as a draft: not live until you roll it forward (preview it with x-capi-config).
    #[arg(long)]
    draft: bool,
    /// Who publishes (default $CAPI_EDGE_PUBLISHER, git's user.email, or your login).
    #[arg(long)]
    by: Option<String>,
    /// Do nothing when it is the live version already.
    #[arg(long)]
    if_changed: bool,
    #[command(flatten)]
    store: StoreOptions,
}

pub fn publish(args: PublishArgs) -> Result<(), String> {
    let PublishArgs {
        config: path,
        message,
        draft,
        by,
        if_changed,
        store,
    } = args;
    let kv = store.kv();
    // A config that fails `check` (its [[test]] blocks included) is never stored.
    let source = super::read(&path)?;
    let config = capi_edge::check(&source).map_err(|errors| {
        let rendered: Vec<String> = errors.iter().map(|e| e.render(&path, &source)).collect();
        format!(
            "{}\n{path}: {} error{}; nothing published",
            rendered.join("\n"),
            errors.len(),
            if errors.len() == 1 { "" } else { "s" }
        )
    })?;
    println!(
        "{path}: ok ({} destinations, {} tags, {} tests passed)",
        config.destinations.len(),
        config.tags.len(),
        config.tests.len()
    );
    let by = publisher(by);
    let live = kv.pointer()?.map(|p| p.version);
    if let (true, Some(live)) = (if_changed, live) {
        let live_source = kv
            .get(&store::version_key(live))?
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .and_then(|r| r.get("source").and_then(Value::as_str).map(str::to_string));
        if live_source.as_deref() == Some(source.as_str()) {
            println!("{path} is version {live}, already live: nothing published");
            return Ok(());
        }
    }
    let mut taken: BTreeSet<u64> = kv.versions()?.iter().map(|v| v.version).collect();
    let mut stored = None;
    for _ in 0..PUBLISH_ATTEMPTS {
        let version = store::next_version(taken.iter().copied());
        let info = VersionInfo {
            version,
            format: FORMAT,
            published_by: by.clone(),
            published_ms: now_ms(),
            message: message.clone(),
        };
        let key = store::version_key(version);
        // Versions are written once: check, write, then read back. KV has no compare-and-swap, so two publishes
        // picking the same number at the same moment are told apart by the read-back (the one whose record is
        // not there takes the next number); see README, "Going live", for what remains.
        if kv.get(&key)?.is_some() {
            taken.insert(version);
            continue;
        }
        let record = store::record_json(&info, &config, Some(&source));
        let metadata = serde_json::to_string(&info.metadata()).map_err(|e| e.to_string())?;
        kv.put(&key, &record, Some(&metadata))?;
        if kv.get(&key)?.as_deref() == Some(record.as_str()) {
            stored = Some(version);
            break;
        }
        eprintln!("note: another publish took version {version}; trying the next number");
        taken.insert(version);
    }
    let version =
        stored.ok_or("error: other publishes kept taking the version numbers; try again")?;
    let was = live.map_or("the compiled config".to_string(), |l| {
        format!("version {l}")
    });
    if draft {
        println!(
            "stored version {version} as a draft; {was} stays live.\n\
             preview it: send a hit with x-capi-debug: <token> and x-capi-config: {version} (or draft)\n\
             make it live: capi-edge rollback {version}{}",
            kv.flags_hint()
        );
        return Ok(());
    }
    kv.set_pointer(version, &by, &message)?;
    println!("published version {version} (was {was}); workers serve it within a minute");
    Ok(())
}

pub fn versions(store: StoreOptions) -> Result<(), String> {
    let kv = store.kv();
    let versions = kv.versions()?;
    let live = kv.pointer()?;
    println!(
        "{}",
        store::render_versions(&versions, live.as_ref().map(|p| p.version))
    );
    if let Some(p) = live.filter(|p| !p.set_by.is_empty()) {
        println!(
            "version {} made live by {} at {}",
            p.version,
            p.set_by,
            store::utc_minute(p.set_ms)
        );
    }
    Ok(())
}

pub fn rollback(version: &str, by: Option<String>, store: StoreOptions) -> Result<(), String> {
    let kv = store.kv();
    let version = store::parse_version(version)
        .ok_or_else(|| format!("error: \"{version}\" is not a version number (1, 2, …)"))?;
    let Some(text) = kv.get(&store::version_key(version))? else {
        let known: Vec<String> = kv
            .versions()?
            .iter()
            .map(|v| v.version.to_string())
            .collect();
        return Err(format!(
            "error: version {version} does not exist; nothing changed.\nversions: {}",
            if known.is_empty() {
                "none yet".into()
            } else {
                known.join(", ")
            }
        ));
    };
    // The worker would refuse it: do not make it live.
    store::read_record(&text, version)
        .map_err(|r| format!("error: {}; nothing changed", r.reason))?;
    let live = kv.pointer()?.map(|p| p.version);
    if live == Some(version) {
        println!("version {version} is already live");
        return Ok(());
    }
    kv.set_pointer(
        version,
        &publisher(by),
        &format!("rolled back to version {version}"),
    )?;
    let was = live.map_or("the compiled config".to_string(), |l| {
        format!("version {l}")
    });
    println!("version {version} is live (was {was}); workers serve it within a minute");
    Ok(())
}

pub fn diff(
    a: &str,
    b: &str,
    hits_path: Option<String>,
    store: StoreOptions,
) -> Result<(), String> {
    let kv = store.kv();
    let old = side(&kv, a)?;
    let new = side(&kv, b)?;
    println!(
        "{}",
        diff::render(&old.0, &new.0, &old.tree()?, &new.tree()?)
    );
    if let Some(path) = hits_path {
        let sample = capi_edge::operations::sample::read_sample(super::read(&path)?.as_bytes())
            .map_err(|e| format!("error: {path}: {e}"))?;
        let now = now_ms();
        let hits: Vec<sample_diff::SampleHit> = sample
            .into_iter()
            .map(|(received_ms, hit)| sample_diff::SampleHit {
                hit,
                now_ms: received_ms.unwrap_or(now),
            })
            .collect();
        let result = sample_diff::compare(&old.config()?, &new.config()?, &hits);
        println!(
            "the sampled hits of {path} through A ({}) and B ({}):",
            old.0, new.0
        );
        print!("{}", sample_diff::render(&result));
    }
    Ok(())
}

/// One side of a diff: its name, and where its config is.
struct Side(String, SideSource);

enum SideSource {
    File(String),
    Version(u64, String),
}

impl Side {
    /// The config as a tree of blocks: the TOML when there is one, else the compiled config.
    fn tree(&self) -> Result<Value, String> {
        let what = &self.0;
        match &self.1 {
            SideSource::File(source) => {
                diff::tree_from_toml(source).map_err(|e| format!("error: {what}: {e}"))
            }
            SideSource::Version(_, text) => {
                let record: Value = serde_json::from_str(text)
                    .map_err(|e| format!("error: {what} is not JSON: {e}"))?;
                match record.get("source").and_then(Value::as_str) {
                    Some(source) => {
                        diff::tree_from_toml(source).map_err(|e| format!("error: {what}: {e}"))
                    }
                    None => Ok(record.get("config").cloned().unwrap_or(Value::Null)),
                }
            }
        }
    }

    /// The config the worker would run.
    fn config(&self) -> Result<Config, String> {
        match &self.1 {
            SideSource::File(source) => Config::parse(source).map_err(|errors| {
                errors
                    .iter()
                    .map(|e| e.render(&self.0, source))
                    .collect::<Vec<_>>()
                    .join("\n")
            }),
            SideSource::Version(version, text) => store::read_record(text, *version)
                .map(|(_, config)| config)
                .map_err(|r| format!("error: {}", r.reason)),
        }
    }
}

/// Resolves one side of a diff: a stored version (3, live, draft), or a file.
fn side(kv: &Kv, what: &str) -> Result<Side, String> {
    let version = match what {
        "live" => Some(
            kv.pointer()?
                .ok_or("error: nothing is live yet (capi-edge publish)")?
                .version,
        ),
        "draft" => {
            let live = kv.pointer()?.map(|p| p.version);
            let versions = kv.versions()?.into_iter().map(|v| v.version);
            Some(
                store::draft_version(versions, live)
                    .ok_or("error: there is no draft: no version is above the live one")?,
            )
        }
        other if !std::path::Path::new(other).exists() => store::parse_version(other),
        _ => None,
    };
    let Some(version) = version else {
        return Ok(Side(what.to_string(), SideSource::File(super::read(what)?)));
    };
    let text = kv
        .get(&store::version_key(version))?
        .ok_or_else(|| format!("error: version {version} does not exist"))?;
    Ok(Side(
        format!("version {version}"),
        SideSource::Version(version, text),
    ))
}

impl Kv {
    /// Every version's metadata, from one listing.
    fn versions(&self) -> Result<Vec<VersionInfo>, String> {
        Ok(store::versions_from_listing(
            self.list(store::VERSION_PREFIX)?,
        ))
    }

    fn pointer(&self) -> Result<Option<Pointer>, String> {
        self.get(LIVE_KEY)?
            .map(|t| store::read_pointer(&t).map_err(|e| format!("error: {e}")))
            .transpose()
    }

    /// Moves the pointer, after the version it names was written and read back, keeping the history of live
    /// versions as the config page does (`Pointer::next`).
    fn set_pointer(&self, version: u64, by: &str, message: &str) -> Result<(), String> {
        let previous = self.pointer().ok().flatten();
        let pointer = Pointer::next(previous.as_ref(), version, by, message, now_ms());
        let text = serde_json::to_string(&pointer).map_err(|e| e.to_string())?;
        self.put(LIVE_KEY, &text, None)
    }
}
