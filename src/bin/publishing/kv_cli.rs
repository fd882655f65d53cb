//! Workers KV through the `wrangler kv key` commands, rather than a second client for Cloudflare's API: wrangler
//! carries the login, the account and the local emulation (`--local --persist-to DIR`, the state `make dev` uses).

use serde_json::Value;
use std::process::Command;

/// The binding in wrangler.toml.
const BINDING: &str = "CONFIG_STORE";
/// What `wrangler kv key get` prints for a missing key (and exits 0).
const NOT_FOUND: &str = "Value not found";

pub struct Kv {
    /// `node_modules/.bin/wrangler`, or `CAPI_EDGE_WRANGLER`.
    pub wrangler: String,
    pub local: bool,
    /// The local state folder; `.dev-state` (`make dev`'s) when `--local` gives none.
    pub persist_to: Option<String>,
    pub wrangler_config: Option<String>,
}

impl Kv {
    pub fn from_env() -> Kv {
        Kv {
            wrangler: std::env::var("CAPI_EDGE_WRANGLER")
                .unwrap_or_else(|_| "node_modules/.bin/wrangler".into()),
            local: false,
            persist_to: None,
            wrangler_config: None,
        }
    }

    /// The flags to repeat in a printed command, so it acts on the same store.
    pub fn flags_hint(&self) -> String {
        match (&self.persist_to, self.local) {
            (Some(dir), _) => format!(" --persist-to {dir}"),
            (None, true) => " --local".into(),
            (None, false) => String::new(),
        }
    }

    fn run(&self, args: &[&str]) -> Result<String, String> {
        let mut cmd = Command::new(&self.wrangler);
        cmd.args(["kv", "key"])
            .args(args)
            .args(["--binding", BINDING]);
        if self.local {
            cmd.args([
                "--local",
                "--persist-to",
                self.persist_to.as_deref().unwrap_or(".dev-state"),
            ]);
        } else {
            cmd.arg("--remote");
        }
        if let Some(c) = &self.wrangler_config {
            cmd.args(["--config", c]);
        }
        // No metrics, update checks or banner: only the KV call leaves the machine (none with --local).
        cmd.env("WRANGLER_SEND_METRICS", "false")
            .env("WRANGLER_SEND_ERROR_REPORTS", "false")
            .env("WRANGLER_HIDE_BANNER", "true")
            .env("CLOUDFLARE_CF_FETCH_ENABLED", "false");
        let out = cmd.output().map_err(|e| {
            format!(
                "error: cannot run {} ({e}); run `npm ci` (or set CAPI_EDGE_WRANGLER)",
                self.wrangler
            )
        })?;
        if !out.status.success() {
            return Err(format!(
                "error: wrangler kv key {} failed:\n{}{}",
                args.first().copied().unwrap_or(""),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        String::from_utf8(out.stdout).map_err(|e| format!("error: wrangler printed non-UTF-8: {e}"))
    }

    /// A key's text; `None` when it does not exist.
    pub fn get(&self, key: &str) -> Result<Option<String>, String> {
        let out = self.run(&["get", key, "--text"])?;
        // wrangler prints the value as stored and a line break, nothing else, on stdout.
        let value = out.strip_suffix('\n').unwrap_or(&out);
        Ok((value != NOT_FOUND).then(|| value.to_string()))
    }

    /// Writes a key (through a file: a config is larger than a command line should be).
    pub fn put(&self, key: &str, value: &str, metadata: Option<&str>) -> Result<(), String> {
        let dir = std::env::temp_dir().join(format!("capi-edge-publish-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("error: {}: {e}", dir.display()))?;
        let file = dir.join("value.json");
        std::fs::write(&file, value).map_err(|e| format!("error: {}: {e}", file.display()))?;
        let path = file.to_string_lossy().to_string();
        let mut args = vec!["put", key, "--path", &path];
        if let Some(m) = metadata {
            args.extend(["--metadata", m]);
        }
        let result = self.run(&args).map(|_| ());
        let _ = std::fs::remove_dir_all(&dir);
        result
    }

    /// Every key under `prefix`, with its metadata.
    pub fn list(&self, prefix: &str) -> Result<Vec<(String, Option<Value>)>, String> {
        let out = self.run(&["list", "--prefix", prefix])?;
        let keys: Vec<Value> = serde_json::from_str(&out).map_err(|e| {
            format!("error: wrangler kv key list printed no JSON list ({e}): {out}")
        })?;
        Ok(keys
            .into_iter()
            .filter_map(|k| {
                let name = k.get("name")?.as_str()?.to_string();
                Some((name, k.get("metadata").cloned()))
            })
            .collect())
    }
}
