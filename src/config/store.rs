//! Config versions in a key-value store (Workers KV, binding `CONFIG_STORE`): the record format, what this worker
//! accepts, the version numbers, and the per-isolate cache of the live config. Pure: the edge shell
//! (`edge::config_store`) does the reads and writes, and the CLI (`capi-edge publish`) does them through wrangler.
//!
//! Keys:
//! - `config/v/<N>`: version N, written once: `{"version", "format", "published_by", "published_ms", "message",
//!   "config": <the compiled config>, "source": <the TOML>}`, with the same fields but the config as the key's
//!   metadata, so a listing shows the history without reading every version.
//! - `config/live`: the pointer, `{"version": N, "set_by", "set_ms"}`.
//!
//! A publish writes the version first and the pointer second, so the pointer never names a version that was not
//! written. The worker refuses a pointer to a version it cannot read (missing, corrupt, or a newer format) and
//! keeps serving the config it has.

use crate::config::Config;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::rc::Rc;

/// The layout of the compiled config this code writes and reads. Bump it when `Config`'s JSON changes in a way an
/// older worker would misread; an older worker then refuses the newer versions instead of guessing.
/// 2: destination kinds by their config names (`"openai"`); format 1 spelled them `"OpenAi"`, and still reads.
pub const FORMAT: u32 = 2;
/// The pointer to the live version.
pub const LIVE_KEY: &str = "config/live";
/// Every version's key starts with this.
pub const VERSION_PREFIX: &str = "config/v/";
/// How often an isolate re-reads the pointer. With the pointer read through KV's edge cache (`POINTER_CACHE_TTL_S`),
/// a published change is served everywhere within 30 + 20 = 50 s.
pub const CHECK_EVERY_MS: i64 = 20_000;
/// KV's `cacheTtl` for the pointer: its minimum (30 s since January 2026; 60 s is the default).
pub const POINTER_CACHE_TTL_S: u32 = 30;
/// Metadata on a KV key is limited to 1,024 bytes: a listing shows the start of a long message.
const METADATA_MESSAGE_CHARS: usize = 200;

pub fn version_key(version: u64) -> String {
    format!("{VERSION_PREFIX}{version}")
}

/// The version a key names: `config/v/12` → 12. Strict (digits only, no leading zero), so a stray key is ignored.
pub fn version_of_key(key: &str) -> Option<u64> {
    parse_version(key.strip_prefix(VERSION_PREFIX)?)
}

/// A version number as a person or a header writes it: 1 to 999,999,999, digits only, no leading zero.
pub fn parse_version(text: &str) -> Option<u64> {
    let ok = !text.is_empty()
        && text.len() <= 9
        && text.bytes().all(|b| b.is_ascii_digit())
        && !text.starts_with('0');
    ok.then(|| text.parse().ok()).flatten()
}

/// The number a new version gets: one above the highest there is.
pub fn next_version(existing: impl IntoIterator<Item = u64>) -> u64 {
    existing.into_iter().max().unwrap_or(0) + 1
}

/// The draft: the highest version above the live one (stored by `publish --draft`, not made live).
pub fn draft_version(existing: impl IntoIterator<Item = u64>, live: Option<u64>) -> Option<u64> {
    existing
        .into_iter()
        .filter(|v| live.is_none_or(|l| *v > l))
        .max()
}

/// Who published a version, when, and why. Also each version key's metadata in KV.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionInfo {
    pub version: u64,
    pub format: u32,
    #[serde(default)]
    pub published_by: String,
    #[serde(default)]
    pub published_ms: i64,
    #[serde(default)]
    pub message: String,
}

impl VersionInfo {
    /// The metadata stored with the version key (its message cut to fit KV's 1 KB of metadata).
    pub fn metadata(&self) -> VersionInfo {
        let mut short = self.clone();
        if short.message.chars().count() > METADATA_MESSAGE_CHARS {
            short.message = short
                .message
                .chars()
                .take(METADATA_MESSAGE_CHARS - 1)
                .collect();
            short.message.push('…');
        }
        short.published_by = short.published_by.chars().take(100).collect();
        short
    }
}

/// The pointer to the live version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pointer {
    pub version: u64,
    #[serde(default)]
    pub set_by: String,
    #[serde(default)]
    pub set_ms: i64,
    /// Why it was made live (a publish's or a rollback's message).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// The versions that were live, oldest first, this one last (at most `POINTER_HISTORY`): the config page's
    /// "previous". A pointer written before it kept none reads as its version alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<u64>,
}

/// Live versions a pointer remembers.
pub const POINTER_HISTORY: usize = 20;

impl Pointer {
    /// The pointer that makes `version` live after `previous`, carrying on its history: the CLI and the config
    /// page both write through this, so either one's "previous" is the other's.
    pub fn next(
        previous: Option<&Pointer>,
        version: u64,
        by: &str,
        message: &str,
        now_ms: i64,
    ) -> Pointer {
        let mut history = previous.map(Pointer::history).unwrap_or_default();
        history.retain(|v| *v != version);
        history.push(version);
        let keep = history.len().saturating_sub(POINTER_HISTORY);
        history.drain(..keep);
        Pointer {
            version,
            set_by: by.to_string(),
            set_ms: now_ms,
            message: message.to_string(),
            history,
        }
    }

    /// The versions that were live, oldest first, this one last.
    pub fn history(&self) -> Vec<u64> {
        let mut history = self.history.clone();
        history.retain(|v| *v != self.version);
        history.push(self.version);
        history
    }
}

/// The text stored at `config/v/<N>`.
pub fn record_json(info: &VersionInfo, config: &Config, source: Option<&str>) -> String {
    let mut record = json!({
        "version": info.version, "format": info.format, "published_by": info.published_by,
        "published_ms": info.published_ms, "message": info.message,
        "config": serde_json::to_value(config).unwrap_or(Value::Null),
    });
    if let Some(source) = source {
        record["source"] = source.into();
    }
    record.to_string()
}

/// The versions a listing of `VERSION_PREFIX` names, oldest first, each from its key's metadata (no version is
/// read). A key without readable metadata is still listed, as "(no metadata)".
pub fn versions_from_listing(
    keys: impl IntoIterator<Item = (String, Option<Value>)>,
) -> Vec<VersionInfo> {
    let mut versions: Vec<VersionInfo> = keys
        .into_iter()
        .filter_map(|(name, metadata)| {
            let version = version_of_key(&name)?;
            let info = metadata
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
    versions
}

/// A stored version this worker refuses, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub version: u64,
    pub reason: String,
    /// The record itself is bad (corrupt, a newer format): versions are written once, so reading it again cannot
    /// help. A missing version may still appear (KV is eventually consistent), so that one is retried.
    pub permanent: bool,
}

/// Reads a stored version: its record must parse, be for `version`, be in a format this worker reads, and hold a
/// config that loads.
pub fn read_record(text: &str, version: u64) -> Result<(VersionInfo, Config), Refusal> {
    let refuse = |reason: String| Refusal {
        version,
        reason,
        permanent: true,
    };
    let mut record: Value = serde_json::from_str(text)
        .map_err(|e| refuse(format!("version {version} is not JSON ({e})")))?;
    let config = record
        .get_mut("config")
        .map(Value::take)
        .ok_or_else(|| refuse(format!("version {version} has no config")))?;
    let info: VersionInfo = serde_json::from_value(record)
        .map_err(|e| refuse(format!("version {version} is not a config version ({e})")))?;
    if info.format > FORMAT {
        return Err(refuse(format!(
            "version {version} is in format {}, newer than this worker reads ({FORMAT}): deploy the newer worker, \
             then publish again",
            info.format
        )));
    }
    if info.version != version {
        return Err(refuse(format!(
            "the record stored as version {version} says it is version {}",
            info.version
        )));
    }
    let config = Config::from_compiled_value(config)
        .map_err(|e| refuse(format!("version {version}: {e}")))?;
    Ok((info, config))
}

/// Reads the pointer's text.
pub fn read_pointer(text: &str) -> Result<Pointer, String> {
    serde_json::from_str(text).map_err(|e| format!("{LIVE_KEY} is not a pointer ({e})"))
}

/// Which config a preview asks for, in the `x-capi-config` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selector {
    Live,
    Draft,
    Version(u64),
}

/// The `x-capi-config` header: `live`, `draft` or a version number, nothing else.
pub fn parse_selector(header: &str) -> Result<Selector, String> {
    match header.trim() {
        "live" => Ok(Selector::Live),
        "draft" => Ok(Selector::Draft),
        other => parse_version(other).map(Selector::Version).ok_or_else(|| {
            "x-capi-config takes a version number (1, 2, …), \"draft\" or \"live\"".to_string()
        }),
    }
}

/// What the isolate does after reading the pointer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Keep serving the config it has.
    Keep,
    /// Read this version, then hand it to `after_record`.
    Fetch(u64),
}

/// The config an isolate serves, and what it knows about the store. Generic over the config so that the
/// decisions are tested without building configs.
#[derive(Debug)]
pub struct LiveState<T> {
    pub current: Rc<T>,
    /// The version serving; `None`: the config compiled into the worker.
    pub info: Option<VersionInfo>,
    /// The last version the pointer named that this worker refused.
    pub refused: Option<Refusal>,
    /// The last error reading the store (an outage): the worker keeps what it has.
    pub store_error: Option<String>,
    checked_ms: Option<i64>,
    check_every_ms: i64,
    /// A read of the store has completed (whatever it found). Until then every request reads it too, so that a new
    /// isolate's first requests, arriving together, do not run on the compiled config while the first one reads.
    settled: bool,
}

impl<T> LiveState<T> {
    /// Starts with the config compiled into the worker, until the store says otherwise.
    pub fn embedded(config: T, check_every_ms: i64) -> LiveState<T> {
        LiveState {
            current: Rc::new(config),
            info: None,
            refused: None,
            store_error: None,
            checked_ms: None,
            check_every_ms,
            settled: false,
        }
    }

    pub fn version(&self) -> Option<u64> {
        self.info.as_ref().map(|i| i.version)
    }

    /// Whether to read the pointer now: until a first read completes, every request does; then once per period.
    /// (A clock that went back counts as due.)
    pub fn due(&self, now_ms: i64) -> bool {
        !self.settled
            || self
                .checked_ms
                .is_none_or(|t| now_ms < t || now_ms - t >= self.check_every_ms)
    }

    /// Called before the read, so that requests arriving meanwhile keep the current config instead of reading too.
    pub fn checking(&mut self, now_ms: i64) {
        self.checked_ms = Some(now_ms);
    }

    /// Makes the next request read the pointer (after a rollback made through this isolate).
    pub fn expire(&mut self) {
        self.checked_ms = None;
    }

    /// The pointer as read: `Ok(None)` when the store has none (nothing published: the compiled config serves).
    pub fn after_pointer(&mut self, pointer: Result<Option<Pointer>, String>) -> Next {
        let next = self.next_after_pointer(pointer);
        if next == Next::Keep {
            self.settled = true;
        }
        next
    }

    fn next_after_pointer(&mut self, pointer: Result<Option<Pointer>, String>) -> Next {
        let pointer = match pointer {
            Ok(p) => {
                self.store_error = None;
                p
            }
            Err(e) => {
                self.store_error = Some(e);
                return Next::Keep;
            }
        };
        let Some(pointer) = pointer else {
            return Next::Keep;
        };
        if Some(pointer.version) == self.version() {
            // Back on the version serving (e.g. a rollback away from a refused one).
            self.refused = None;
            return Next::Keep;
        }
        match &self.refused {
            Some(r) if r.version == pointer.version && r.permanent => Next::Keep,
            _ => Next::Fetch(pointer.version),
        }
    }

    /// The version the pointer named, as read: `Ok(None)` when it does not exist.
    pub fn after_record(
        &mut self,
        version: u64,
        record: Result<Option<(VersionInfo, T)>, Refusal>,
    ) {
        self.settled = true;
        match record {
            Ok(Some((info, config))) => {
                self.current = Rc::new(config);
                self.info = Some(info);
                self.refused = None;
            }
            Ok(None) => {
                self.refused = Some(Refusal {
                    version,
                    reason: format!("{LIVE_KEY} names version {version}, which does not exist"),
                    permanent: false,
                })
            }
            Err(refusal) => self.refused = Some(refusal),
        }
    }

    /// What `/r/health` and the dashboard show: `{"version", "source", "published_by", "published_ms", "message",
    /// "refused": {"version", "reason"} | null, "store_error": … | null}`.
    pub fn status_json(&self) -> Value {
        let mut status = match &self.info {
            Some(i) => json!({"version": i.version, "source": "kv", "published_by": i.published_by,
                              "published_ms": i.published_ms, "message": i.message}),
            None => json!({"version": null, "source": "embedded"}),
        };
        status["refused"] = match &self.refused {
            Some(r) => json!({"version": r.version, "reason": r.reason}),
            None => Value::Null,
        };
        status["store_error"] = self.store_error.clone().into();
        status
    }
}

/// A time as `2026-11-27 21:04 UTC`, for listings.
pub fn utc_minute(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rest / 3600,
        rest % 3600 / 60
    )
}

/// The history as a table, newest first; the live version is marked.
pub fn render_versions(versions: &[VersionInfo], live: Option<u64>) -> String {
    if versions.is_empty() {
        return "no versions published yet: capi-edge publish".to_string();
    }
    let mut sorted: Vec<&VersionInfo> = versions.iter().collect();
    sorted.sort_by_key(|v| std::cmp::Reverse(v.version));
    let by_width = sorted
        .iter()
        .map(|v| v.published_by.chars().count())
        .max()
        .unwrap_or(0)
        .max(2);
    let mut out = format!(
        "  version  published             {:by_width$}  message\n",
        "by"
    );
    for v in sorted {
        let mark = match live {
            Some(l) if l == v.version => "*",
            Some(l) if v.version > l => "d",
            _ => " ",
        };
        out.push_str(&format!(
            "{mark} {:>7}  {}  {:by_width$}  {}\n",
            v.version,
            utc_minute(v.published_ms),
            v.published_by,
            v.message
        ));
    }
    out.push_str(match live {
        Some(_) => {
            "* live   d draft (above the live version; preview it with x-capi-config: draft)"
        }
        None => "nothing is live: the config compiled into the worker serves",
    });
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_pointer_carries_the_live_history_whoever_moves_it() {
        // Written before pointers kept a history: its version alone.
        let old = read_pointer(r#"{"version":3,"set_by":"cli","set_ms":1}"#).unwrap();
        assert_eq!(old.history(), vec![3]);
        let p = Pointer::next(Some(&old), 4, "jane", "Signup counts as a lead", 9);
        assert_eq!((p.version, p.history.clone()), (4, vec![3, 4]));
        assert_eq!(p.message, "Signup counts as a lead");
        // A rollback to a version that was live moves it to the end, once.
        let back = Pointer::next(Some(&p), 3, "cli", "rolled back to version 3", 10);
        assert_eq!(back.history(), vec![4, 3]);
        // Through its stored text and back, as the CLI and the worker read it.
        let text = serde_json::to_string(&back).unwrap();
        assert_eq!(read_pointer(&text).unwrap(), back);
        // It stays short.
        let mut q = back;
        for v in 10..60 {
            q = Pointer::next(Some(&q), v, "x", "", v as i64);
        }
        assert_eq!(q.history.len(), POINTER_HISTORY);
        assert_eq!(q.history.last(), Some(&59));
        assert!(!serde_json::to_string(&Pointer::next(None, 1, "a", "", 0))
            .unwrap()
            .contains("message"));
    }

    use super::*;

    #[test]
    fn a_listing_is_the_history_oldest_first() {
        let meta = |v: u64, by: &str| {
            Some(
                json!({"version": v, "format": 1, "published_by": by, "published_ms": 5, "message": "m"}),
            )
        };
        let listed = versions_from_listing([
            (version_key(10), meta(10, "b")),
            ("config/live".to_string(), None),
            (version_key(2), meta(2, "a")),
            (version_key(3), Some(json!("not metadata"))),
        ]);
        let got: Vec<(u64, &str, &str)> = listed
            .iter()
            .map(|v| (v.version, v.published_by.as_str(), v.message.as_str()))
            .collect();
        assert_eq!(
            got,
            [(2, "a", "m"), (3, "", "(no metadata)"), (10, "b", "m")]
        );
    }

    fn info(version: u64, format: u32) -> VersionInfo {
        VersionInfo {
            version,
            format,
            published_by: "jane@example.com".into(),
            published_ms: 1_795_000_000_000,
            message: "tighter purchase trigger".into(),
        }
    }

    fn example() -> Config {
        Config::parse(include_str!("../../capi.toml")).expect("the example config parses")
    }

    #[test]
    fn version_keys_are_strict() {
        assert_eq!(version_key(12), "config/v/12");
        assert_eq!(version_of_key("config/v/12"), Some(12));
        for bad in [
            "config/v/",
            "config/v/012",
            "config/v/0",
            "config/v/1a",
            "config/v/-1",
            "config/live",
            "config/v/ 1",
            "config/v/1234567890",
        ] {
            assert_eq!(version_of_key(bad), None, "{bad}");
        }
        assert_eq!(next_version([]), 1);
        assert_eq!(next_version([3, 1, 2]), 4);
        assert_eq!(draft_version([1, 2, 3], Some(2)), Some(3));
        assert_eq!(draft_version([1, 2], Some(2)), None);
        assert_eq!(draft_version([1, 2], None), Some(2));
    }

    #[test]
    fn the_preview_header_takes_a_version_draft_or_live_only() {
        assert_eq!(parse_selector("3"), Ok(Selector::Version(3)));
        assert_eq!(parse_selector(" draft "), Ok(Selector::Draft));
        assert_eq!(parse_selector("live"), Ok(Selector::Live));
        for bad in [
            "",
            "03",
            "3.0",
            "DRAFT",
            "1 2",
            "config/v/3",
            "-1",
            "99999999999",
        ] {
            assert!(parse_selector(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_record_round_trips_and_a_bad_one_is_refused_with_its_reason() {
        let config = example();
        let text = record_json(&info(2, FORMAT), &config, Some("# toml"));
        let (read, loaded) = read_record(&text, 2).expect("reads");
        assert_eq!(read, info(2, FORMAT));
        assert_eq!(loaded.tags.len(), config.tags.len());

        let newer = record_json(&info(3, FORMAT + 1), &config, None);
        let r = read_record(&newer, 3).unwrap_err();
        assert!(
            r.permanent && r.reason.contains("newer than this worker reads"),
            "{r:?}"
        );

        let r = read_record(&text, 5).unwrap_err();
        assert!(r.reason.contains("says it is version 2"), "{r:?}");

        let r = read_record("{\"version\":4,\"format\":1,\"conf", 4).unwrap_err();
        assert!(r.reason.contains("not JSON"), "{r:?}");

        let r = read_record(r#"{"version":4,"format":1,"config":{"site":1}}"#, 4).unwrap_err();
        assert!(
            r.reason
                .starts_with("version 4: the compiled config does not load"),
            "{r:?}"
        );

        let r = read_record(r#"{"version":4,"format":1}"#, 4).unwrap_err();
        assert!(r.reason.contains("has no config"), "{r:?}");
    }

    #[test]
    fn metadata_fits_in_kv_limit() {
        let mut long = info(1, FORMAT);
        long.message = "é".repeat(2000);
        long.published_by = "x".repeat(2000);
        let meta = serde_json::to_string(&long.metadata()).unwrap();
        assert!(meta.len() <= 1024, "{}", meta.len());
        assert!(long.metadata().message.ends_with('…'));
    }

    fn pointer(version: u64) -> Result<Option<Pointer>, String> {
        Ok(Some(Pointer::next(None, version, "cli", "", 0)))
    }

    #[test]
    fn the_cache_reads_the_pointer_once_per_period_and_switches_on_a_change() {
        let mut s = LiveState::embedded("embedded", 20_000);
        assert!(s.due(0), "the first request reads the store");
        s.checking(1_000);
        assert!(
            s.due(1_001),
            "until a first read completes, requests read too (not the compiled config)"
        );
        assert_eq!(s.after_pointer(Ok(None)), Next::Keep, "an empty store");
        assert!(
            !s.due(1_000) && !s.due(20_999),
            "then requests keep the config for the period"
        );
        assert!(
            s.due(21_000) && s.due(500),
            "due after the period, or if the clock went back"
        );
        assert_eq!(*s.current, "embedded");
        assert_eq!(s.status_json()["source"], "embedded");

        assert_eq!(s.after_pointer(pointer(1)), Next::Fetch(1));
        s.after_record(1, Ok(Some((info(1, FORMAT), "v1"))));
        assert_eq!((*s.current, s.version()), ("v1", Some(1)));
        assert_eq!(
            s.after_pointer(pointer(1)),
            Next::Keep,
            "same version: no read"
        );
        assert_eq!(s.after_pointer(pointer(2)), Next::Fetch(2));
        s.after_record(2, Ok(Some((info(2, FORMAT), "v2"))));
        assert_eq!(*s.current, "v2");
        assert_eq!(s.status_json()["version"], 2);
        assert_eq!(s.status_json()["source"], "kv");
    }

    #[test]
    fn a_refused_version_or_an_outage_keeps_the_last_good_config() {
        let mut s = LiveState::embedded("embedded", 20_000);
        assert_eq!(s.after_pointer(pointer(1)), Next::Fetch(1));
        s.after_record(1, Ok(Some((info(1, FORMAT), "v1"))));

        // A corrupt or newer version: refused, remembered, and not read again while the pointer stays on it.
        assert_eq!(s.after_pointer(pointer(3)), Next::Fetch(3));
        let refusal = Refusal {
            version: 3,
            reason: "version 3 is in format 2".into(),
            permanent: true,
        };
        s.after_record(3, Err(refusal));
        assert_eq!(*s.current, "v1");
        let status = s.status_json();
        assert_eq!(
            (
                status["version"].clone(),
                status["refused"]["version"].clone()
            ),
            (json!(1), json!(3))
        );
        assert_eq!(s.after_pointer(pointer(3)), Next::Keep);

        // A pointer to a version that does not exist: refused, but read again (it may yet appear).
        assert_eq!(s.after_pointer(pointer(4)), Next::Fetch(4));
        s.after_record(4, Ok(None));
        assert_eq!(*s.current, "v1");
        assert!(s.status_json()["refused"]["reason"]
            .as_str()
            .unwrap()
            .contains("does not exist"));
        assert_eq!(s.after_pointer(pointer(4)), Next::Fetch(4));

        // An outage: nothing changes but the note; it clears on the next good read.
        assert_eq!(
            s.after_pointer(Err("KV GET failed: 503".into())),
            Next::Keep
        );
        assert_eq!(*s.current, "v1");
        assert_eq!(s.status_json()["store_error"], "KV GET failed: 503");

        // Rolled back onto the version serving: the refusal is history.
        assert_eq!(s.after_pointer(pointer(1)), Next::Keep);
        let status = s.status_json();
        assert_eq!(
            (status["refused"].clone(), status["store_error"].clone()),
            (Value::Null, Value::Null)
        );
    }

    #[test]
    fn times_and_the_history_table() {
        assert_eq!(utc_minute(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc_minute(1_795_805_862_114), "2026-11-27 18:57 UTC");
        assert_eq!(utc_minute(951_782_400_000), "2000-02-29 00:00 UTC");
        let mut v3 = info(3, FORMAT);
        v3.published_by = "ci".into();
        v3.message = "draft: new lead tag".into();
        let table = render_versions(&[info(1, FORMAT), info(2, FORMAT), v3], Some(2));
        let expected = "  version  published             by                message
d       3  2026-11-18 11:06 UTC  ci                draft: new lead tag
*       2  2026-11-18 11:06 UTC  jane@example.com  tighter purchase trigger
        1  2026-11-18 11:06 UTC  jane@example.com  tighter purchase trigger
* live   d draft (above the live version; preview it with x-capi-config: draft)";
        assert_eq!(table, expected);
    }
}
