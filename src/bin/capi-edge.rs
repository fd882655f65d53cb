//! The `capi-edge` command: check a config, normalize a value, dry-run hits, publish config versions. For people
//! and for scripts.

mod publishing;

use capi_edge::base::random::random_event_id;
use capi_edge::config::Config;
use capi_edge::destination::RedactedSecrets;
use capi_edge::hit::Hit;
use capi_edge::identity::normalize::{self, Key};
use clap::{Parser, Subcommand};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

/// The commands, their arguments and their help (`capi-edge help`, `capi-edge COMMAND --help`).
#[derive(Parser)]
#[command(
    name = "capi-edge",
    version,
    about = "Server-side tag for ad platforms' Conversions APIs: check and publish capi.toml, dry-run hits, replay and reconcile.",
    after_help = "The worker's commands (replay, erase, reconcile without --ledger) call the worker at --url, default \
$CAPI_EDGE_URL or http://127.0.0.1:8787/r (make dev), with the token in $CAPI_EDGE_TOKEN (the DEBUG_TOKEN secret; make \
dev prints its local one). publish, versions, rollback and diff call wrangler (CAPI_EDGE_WRANGLER names it): your \
Cloudflare account's store by default, --local for make dev's."
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Validate a config and run its [[test]] blocks: every mistake with its line; exit 1 on an error.
    #[command(
        after_help = "Example:\n  capi-edge check capi.toml\n  capi-edge check capi.toml --format github   # annotations on a pull request"
    )]
    Check {
        /// The config (default capi.toml).
        #[arg(default_value = "capi.toml")]
        config: String,
        /// human, or github: each error as a workflow command, an annotation on its line.
        #[arg(long, default_value = "human")]
        format: String,
    },
    /// Check a config (tests included) and write it as the JSON the worker embeds.
    #[command(
        after_help = "Example:\n  capi-edge compile capi.toml --out build/capi.compiled.json\n  capi-edge compile - < capi.toml"
    )]
    Compile {
        /// The config, or - for standard input.
        #[arg(default_value = "capi.toml")]
        config: String,
        /// Write here instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<String>,
    },
    /// Print a value normalized as the platforms want it, and its SHA-256, tab-separated.
    #[command(after_help = "Example:\n  capi-edge normalize em ' Jane.Doe@Example.com '")]
    Normalize {
        /// em, ph, fn, ln, db, ge, ct, st, zp, country or external_id.
        key: String,
        value: String,
    },
    /// Dry-run hits: print each outbound request as one JSON line (secrets redacted), or the debug trace.
    #[command(
        after_help = "Example:\n  capi-edge run --hit hit.json\n  capi-edge run --hit hit.json --trace"
    )]
    Run {
        #[arg(long, default_value = "capi.toml", value_name = "CONFIG")]
        config: String,
        /// A hit, an array of hits, or GET /r/api/sample's export.
        #[arg(long, value_name = "FILE")]
        hit: String,
        /// The debug trace of each hit instead (tags, fields, bodies).
        #[arg(long)]
        trace: bool,
    },
    /// Compare the shop's orders with what reached each destination; exit 1 on FAIL (over 10% apart).
    #[command(
        after_help = "Example:\n  capi-edge reconcile --orders orders.csv                  # the ledger from the worker ($CAPI_EDGE_URL)\n  capi-edge reconcile --orders orders.csv --ledger ledger.json"
    )]
    Reconcile {
        /// The orders export (CSV: Shopify, WooCommerce, or your own columns).
        #[arg(long, value_name = "ORDERS.csv")]
        orders: String,
        /// The ledger export (GET /r/api/ledger); without it, fetched from the worker.
        #[arg(long, value_name = "LEDGER.json")]
        ledger: Option<String>,
        #[arg(long, default_value_t = 7)]
        days: u32,
        /// Only this destination.
        #[arg(long, value_name = "NAME")]
        destination: Option<String>,
        /// The worker's path prefix (default $CAPI_EDGE_URL or http://127.0.0.1:8787/r).
        #[arg(long)]
        url: Option<String>,
    },
    /// Send again what ended dead_letter or failed, once the cause is fixed; exit 1 while some still fail.
    #[command(
        after_help = "Example:\n  capi-edge replay --dry-run\n  capi-edge replay --destination meta --since 2026-12-01"
    )]
    Replay {
        #[arg(long)]
        url: Option<String>,
        #[arg(long, value_name = "NAME")]
        destination: Option<String>,
        /// dead_letter, failed or all.
        #[arg(long)]
        status: Option<String>,
        /// Only events received since (ISO 8601 or unix time).
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
        /// List what would be sent; send nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Delete an event's ledger rows and kept events (an erasure request).
    #[command(after_help = "Example:\n  capi-edge erase 1001")]
    Erase {
        event_id: String,
        #[arg(long)]
        url: Option<String>,
    },
    /// Check (tests included), then store as a new version in the worker's KV namespace and make it live.
    #[command(
        after_help = "Example:\n  capi-edge publish capi.toml --message \"tighter purchase trigger\"\n  capi-edge publish --local --if-changed   # make dev's store"
    )]
    Publish(publishing::PublishArgs),
    /// The published versions, newest first; * marks the live one.
    #[command(after_help = "Example:\n  capi-edge versions --local")]
    Versions(publishing::StoreOptions),
    /// Make version N live again.
    #[command(after_help = "Example:\n  capi-edge rollback 3")]
    Rollback {
        version: String,
        #[arg(long)]
        by: Option<String>,
        #[command(flatten)]
        store: publishing::StoreOptions,
    },
    /// What changed between two configs (versions: 3, live, draft; or files); --hits: on the sampled hits.
    #[command(
        after_help = "Example:\n  capi-edge diff live capi.toml\n  capi-edge diff 3 live --hits sample.json"
    )]
    Diff {
        a: String,
        b: String,
        /// The sample's export (GET /r/api/sample): what each config would send for those hits.
        #[arg(long, value_name = "SAMPLE")]
        hits: Option<String>,
        #[command(flatten)]
        store: publishing::StoreOptions,
    },
}

fn main() -> ExitCode {
    // `--help`, `--version` and usage errors print and exit as clap decides (0 for help and version, 2 for a
    // mistake in the arguments, with a suggestion for a near miss).
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::Check { config, format } => check(&config, &format),
        Cmd::Compile { config, out } => compile(&config, out),
        Cmd::Normalize { key, value } => normalize_cmd(&key, &value),
        Cmd::Run { config, hit, trace } => run(&config, &hit, trace),
        Cmd::Reconcile {
            orders,
            ledger,
            days,
            destination,
            url,
        } => reconcile(&orders, ledger, days, destination, url),
        Cmd::Replay {
            url,
            destination,
            status,
            since,
            dry_run,
        } => replay(url, destination, status, since, dry_run),
        Cmd::Erase { event_id, url } => erase(&event_id, url),
        Cmd::Publish(args) => publishing::publish(args),
        Cmd::Versions(store) => publishing::versions(store),
        Cmd::Rollback { version, by, store } => publishing::rollback(&version, by, store),
        Cmd::Diff { a, b, hits, store } => publishing::diff(&a, &b, hits, store),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{}", message.trim_end());
            ExitCode::FAILURE
        }
    }
}

fn read(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("error: cannot read {path}: {e}"))
}

fn check(path: &str, format: &str) -> Result<(), String> {
    let github = match format {
        "human" => false,
        "github" => true,
        _ => return Err("error: --format takes human or github".to_string()),
    };
    let source = read(path)?;
    match capi_edge::check(&source) {
        Ok(config) => {
            // Warnings do not fail the check: rendered like errors (on stderr, or as `::warning` commands).
            for w in &config.warnings {
                if github {
                    print!("{}", w.render_github(path, &source));
                } else {
                    eprintln!("{}", w.render(path, &source));
                }
            }
            println!("{path}: {}", capi_edge::check::json::ok_summary(&config));
            Ok(())
        }
        Err(errors) => {
            let count = errors.len();
            let summary = format!("{path}: {count} error{}", if count == 1 { "" } else { "s" });
            if github {
                // On stdout, where the runner reads workflow commands; the count goes to the log as usual.
                for e in &errors {
                    print!("{}", e.render_github(path, &source));
                }
                return Err(summary);
            }
            let rendered: Vec<String> = errors.iter().map(|e| e.render(path, &source)).collect();
            Err(format!("{}\n{summary}", rendered.join("\n")))
        }
    }
}

fn normalize_cmd(key: &str, value: &str) -> Result<(), String> {
    let key = Key::parse(key).ok_or_else(|| {
        format!("error: unknown key \"{key}\"; keys: em, ph, fn, ln, db, ge, ct, st, zp, country, external_id")
    })?;
    let id = normalize::identify(key, value).map_err(|e| format!("error: {e}"))?;
    println!(
        "{}\t{}",
        id.normalized.as_deref().unwrap_or(&id.sha256),
        id.sha256
    );
    Ok(())
}

fn run(config_path: &str, hit_path: &str, trace: bool) -> Result<(), String> {
    let source = read(config_path)?;
    let config = Config::parse(&source).map_err(|errors| {
        errors
            .iter()
            .map(|e| e.render(config_path, &source))
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    // One hit, an array of hits, or the sample's export (`GET /r/api/sample`: each hit with its source).
    let hits: Vec<Hit> = capi_edge::operations::sample::read_sample(read(hit_path)?.as_bytes())
        .map_err(|e| format!("error: {hit_path}: {e}"))?
        .into_iter()
        .map(|(_, hit)| hit)
        .collect();
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let mut deliveries = Vec::new();
    for hit in &hits {
        if trace {
            let outcome = capi_edge::pipeline::trace(&config, hit, now_ms, &mut random_event_id);
            let json =
                capi_edge::pipeline::preview::trace_json(&config, hit, &outcome, &RedactedSecrets);
            println!(
                "{}",
                serde_json::to_string_pretty(&json).unwrap_or_default()
            );
            continue;
        }
        let outcome = capi_edge::pipeline::process(&config, hit, now_ms, &mut random_event_id);
        for w in outcome.warnings() {
            eprintln!("warning: event {}: {w}", outcome.event_id);
        }
        for d in &outcome.dropped {
            eprintln!(
                "dropped: event {} for {}: {}",
                d.event_id, d.destination_name, d.reason
            );
        }
        deliveries.extend(outcome.deliveries);
    }
    for request in capi_edge::pipeline::requests(&config, deliveries, &RedactedSecrets) {
        let request = request.map_err(|e| format!("error: {e}"))?;
        println!("{}", request.summary());
    }
    Ok(())
}

fn reconcile(
    orders_path: &str,
    ledger_path: Option<String>,
    days: u32,
    only: Option<String>,
    url: Option<String>,
) -> Result<(), String> {
    use capi_edge::operations::reconcile::{self, Verdict};
    // Without --ledger, the worker's own export (what the dashboard reads).
    let (ledger_text, ledger_path) = match ledger_path {
        Some(path) => (read(&path)?, path),
        None => {
            let base = url.unwrap_or_else(admin_url);
            let answer = admin_call("GET", &base, &format!("/api/ledger?days={days}"), None)?;
            (
                answer.to_string(),
                format!("{}/api/ledger", base.trim_end_matches('/')),
            )
        }
    };
    let orders = reconcile::parse_orders_csv(&read(orders_path)?)
        .map_err(|e| format!("error: {orders_path}: {e}"))?;
    let ledger = reconcile::parse_ledger_json(&ledger_text)
        .map_err(|e| format!("error: {ledger_path}: {e}"))?;
    let reports: Vec<_> = reconcile::reconcile(&orders, &ledger, days)
        .into_iter()
        .filter(|r| only.as_ref().is_none_or(|d| *d == r.destination))
        .collect();
    if reports.is_empty() {
        return Err(format!(
            "error: {ledger_path} has no conversions{}",
            only.map(|d| format!(" for {d}")).unwrap_or_default()
        ));
    }
    println!(
        "reconciliation: {orders_path} ({} orders) against {ledger_path}\n",
        orders.len()
    );
    for r in &reports {
        println!("{}", reconcile::render(r, days));
    }
    let worst = reports
        .iter()
        .map(|r| r.verdict)
        .max_by_key(|v| *v as u8)
        .unwrap_or(Verdict::Pass);
    println!(
        "overall: {}",
        match worst {
            Verdict::Pass => "PASS",
            Verdict::Warn => "WARN",
            Verdict::Fail => "FAIL",
        }
    );
    if worst == Verdict::Fail {
        return Err(String::new());
    }
    Ok(())
}

/// The worker embeds the checked config as JSON (see `Config::to_compiled_json`); scripts/build.sh calls this.
fn compile(path: &str, out: Option<String>) -> Result<(), String> {
    let source = if path == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .map_err(|e| format!("error: stdin: {e}"))?;
        s
    } else {
        read(path)?
    };
    let name = if path == "-" { "capi.toml" } else { path };
    let config = capi_edge::check(&source).map_err(|errors| {
        let rendered: Vec<String> = errors.iter().map(|e| e.render(name, &source)).collect();
        format!(
            "{}\n{name}: {} error(s); nothing compiled",
            rendered.join("\n"),
            errors.len()
        )
    })?;
    let json = config.to_compiled_json();
    match out {
        Some(file) => {
            std::fs::write(&file, json).map_err(|e| format!("error: cannot write {file}: {e}"))?
        }
        None => println!("{json}"),
    }
    Ok(())
}

/// `capi-edge replay`: POSTs the selection to the worker's `/api/replay` and prints the report.
fn replay(
    url: Option<String>,
    destination: Option<String>,
    status: Option<String>,
    since: Option<String>,
    dry_run: bool,
) -> Result<(), String> {
    let url = url.unwrap_or_else(admin_url);
    let mut request = serde_json::Map::new();
    for (key, value) in [
        ("destination", destination),
        ("status", status),
        ("since", since),
    ] {
        if let Some(v) = value {
            request.insert(key.into(), v.into());
        }
    }
    if dry_run {
        request.insert("dry_run".into(), true.into());
    }
    let body = serde_json::Value::Object(request).to_string();
    let report = admin_post(&url, "/api/replay", &body)?;
    let (text, clean) = capi_edge::operations::replay::report_text(&report);
    println!("{text}");
    if clean {
        Ok(())
    } else {
        Err(
            "some events still fail: fix the cause (see their answers above), then replay again"
                .into(),
        )
    }
}

/// `capi-edge erase EVENT_ID`.
fn erase(event_id: &str, url: Option<String>) -> Result<(), String> {
    let url = url.unwrap_or_else(admin_url);
    let body = serde_json::json!({ "event_id": event_id }).to_string();
    let answer = admin_post(&url, "/api/erase", &body)?;
    println!(
        "erased {}: {} ledger rows, {} kept events",
        event_id, answer["ledger_rows"], answer["kept_events"]
    );
    Ok(())
}

fn admin_url() -> String {
    std::env::var("CAPI_EDGE_URL").unwrap_or_else(|_| "http://127.0.0.1:8787/r".to_string())
}

/// POSTs JSON to one of the worker's admin endpoints with curl, the token on stdin (never on the command line,
/// where other users could read it in the process list). The answer's JSON, or its error in words.
fn admin_post(base: &str, path: &str, body: &str) -> Result<serde_json::Value, String> {
    admin_call("POST", base, path, Some(body))
}

/// Calls one of the worker's admin endpoints (`GET` without a body, `POST` with one).
fn admin_call(
    method: &str,
    base: &str,
    path: &str,
    body: Option<&str>,
) -> Result<serde_json::Value, String> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let token = std::env::var("CAPI_EDGE_TOKEN")
        .map_err(|_| "error: set CAPI_EDGE_TOKEN to the worker's DEBUG_TOKEN".to_string())?;
    if token.contains(['\r', '\n']) {
        return Err("error: CAPI_EDGE_TOKEN holds a line break".into());
    }
    let url = format!("{}{path}", base.trim_end_matches('/'));
    let mut child = Command::new("curl")
        .args([
            "-sS",
            "-X",
            method,
            "-H",
            "@-",
            "-H",
            "content-type: application/json",
        ])
        .args(body.map(|b| ["--data-binary", b]).into_iter().flatten())
        .args(["-w", "\n%{http_code}", &url])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("error: cannot run curl: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        writeln!(stdin, "authorization: Bearer {token}").map_err(|e| format!("error: {e}"))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("error: curl: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "error: {url}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let (json, status) = text.rsplit_once('\n').unwrap_or((&text, ""));
    let value: serde_json::Value = serde_json::from_str(json)
        .map_err(|_| format!("error: {url} answered {status}: {}", json.trim()))?;
    if status != "200" {
        return Err(format!(
            "error: {url} answered {status}: {}",
            value["detail"]
                .as_str()
                .or(value["error"].as_str())
                .unwrap_or(json)
        ));
    }
    Ok(value)
}
