//! The `capi-edge` command: check a config, normalize a value, dry-run hits, publish config versions. For people
//! and for scripts.

mod publishing;

use capi_edge::base::random::random_event_id;
use capi_edge::config::Config;
use capi_edge::destination::RedactedSecrets;
use capi_edge::hit::Hit;
use capi_edge::identity::normalize::{self, Key};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

const USAGE: &str = "usage:
  capi-edge check [CONFIG] [--format human|github]
                                               validate a config and run its [[test]] blocks (default capi.toml);
                                               github: each error as a workflow command, an annotation on its line
  capi-edge compile [CONFIG|-] [--out FILE]    check a config (tests included) and write it as the worker's JSON
  capi-edge normalize KEY VALUE                print the normalized value and its SHA-256, tab-separated
                                               KEY: em, ph, fn, ln, db, ge, ct, st, zp, country, external_id
    capi-edge run [--config CONFIG] --hit FILE [--trace]
                                               print each outbound request as one JSON line (secrets redacted);
                                               --trace: the debug trace of each hit instead (tags, fields, bodies);
                                               FILE: a hit, an array of hits, or GET /r/api/sample's export
  capi-edge reconcile --orders ORDERS.csv [--ledger LEDGER.json] [--days 7] [--destination NAME]
                                               compare the shop's orders with what reached each destination;
                                               exit 1 on FAIL (over 10% apart)
  capi-edge replay [--url URL] [--destination NAME] [--status dead_letter|failed|all] [--since TIME] [--dry-run]
                                               send again what ended dead_letter or failed, once the cause is
                                               fixed (same event ids; never twice; not past the 7-day window);
                                               exit 1 while some still fail
  capi-edge erase EVENT_ID [--url URL]         delete an event's ledger rows and kept events (an erasure request)
    URL: the worker's path prefix, default $CAPI_EDGE_URL or http://127.0.0.1:8787/r (make dev);
    the token: $CAPI_EDGE_TOKEN (the DEBUG_TOKEN secret; make dev prints its local one)
  capi-edge publish [CONFIG] [--message TEXT] [--draft] [--by NAME] [--if-changed]
                                               check (tests included), then store as a new version in the worker's
                                               KV namespace and make it live; --draft stores it without;
                                               --if-changed: nothing when it is the live version already
  capi-edge versions                           the published versions, newest first; * marks the live one
  capi-edge rollback N                         make version N live again
  capi-edge diff A B [--hits SAMPLE]           what changed between two configs: versions (3, live, draft) or files;
                                               --hits: what each would send for the sampled hits (GET /r/api/sample)
    publish, versions, rollback and diff call wrangler: remote by default; --local for `make dev`'s state
    (--persist-to DIR for another folder); --wrangler-config FILE; CAPI_EDGE_WRANGLER names wrangler";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("check") => check(&args[1..]),
        Some("normalize") if args.len() == 3 => normalize_cmd(&args[1], &args[2]),
        Some("run") => run(&args[1..]),
        Some("compile") => compile(&args[1..]),
        Some("reconcile") => reconcile(&args[1..]),
        Some("replay") => replay(&args[1..]),
        Some("erase") => erase(&args[1..]),
        Some("publish") => publishing::publish(&args[1..]),
        Some("versions") => publishing::versions(&args[1..]),
        Some("rollback") => publishing::rollback(&args[1..]),
        Some("diff") => publishing::diff(&args[1..]),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        _ => Err(USAGE.to_string()),
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

fn check(args: &[String]) -> Result<(), String> {
    let mut path = "capi.toml".to_string();
    let mut github = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--format" => match it.next().map(String::as_str) {
                Some("human") => github = false,
                Some("github") => github = true,
                _ => return Err("error: --format takes human or github".to_string()),
            },
            other if other.starts_with("--") => {
                return Err(format!("error: unexpected argument \"{other}\"\n{USAGE}"))
            }
            other => path = other.to_string(),
        }
    }
    let path = path.as_str();
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

fn run(args: &[String]) -> Result<(), String> {
    let mut config_path = "capi.toml".to_string();
    let mut hit_path = None;
    let mut trace = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--config" => config_path = it.next().ok_or("error: --config needs a file")?.clone(),
            "--hit" => hit_path = Some(it.next().ok_or("error: --hit needs a file")?.clone()),
            "--trace" => trace = true,
            other => return Err(format!("error: unexpected argument \"{other}\"\n{USAGE}")),
        }
    }
    let hit_path = hit_path.ok_or_else(|| format!("error: run needs --hit FILE\n{USAGE}"))?;
    let source = read(&config_path)?;
    let config = Config::parse(&source).map_err(|errors| {
        errors
            .iter()
            .map(|e| e.render(&config_path, &source))
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    // One hit, an array of hits, or the sample's export (`GET /r/api/sample`: each hit with its source).
    let hits: Vec<Hit> = capi_edge::operations::sample::read_sample(read(&hit_path)?.as_bytes())
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

fn reconcile(args: &[String]) -> Result<(), String> {
    use capi_edge::operations::reconcile::{self, Verdict};
    let (mut orders_path, mut ledger_path, mut days, mut only) =
        (None, "ledger.json".to_string(), 7u32, None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or(format!("error: {a} needs a value"))
        };
        match a.as_str() {
            "--orders" => orders_path = Some(value()?),
            "--ledger" => ledger_path = value()?,
            "--days" => {
                days = value()?
                    .parse()
                    .map_err(|_| "error: --days takes a whole number".to_string())?
            }
            "--destination" => only = Some(value()?),
            other => return Err(format!("error: unexpected argument \"{other}\"\n{USAGE}")),
        }
    }
    let orders_path =
        orders_path.ok_or_else(|| format!("error: reconcile needs --orders FILE\n{USAGE}"))?;
    let orders = reconcile::parse_orders_csv(&read(&orders_path)?)
        .map_err(|e| format!("error: {orders_path}: {e}"))?;
    let ledger = reconcile::parse_ledger_json(&read(&ledger_path)?)
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
fn compile(args: &[String]) -> Result<(), String> {
    let mut path = "capi.toml".to_string();
    let mut out = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--out" => out = Some(it.next().ok_or("error: --out needs a file")?.clone()),
            other => path = other.to_string(),
        }
    }
    let source = if path == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .map_err(|e| format!("error: stdin: {e}"))?;
        s
    } else {
        read(&path)?
    };
    let name = if path == "-" {
        "capi.toml"
    } else {
        path.as_str()
    };
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
fn replay(args: &[String]) -> Result<(), String> {
    let mut url = admin_url();
    let mut request = serde_json::Map::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or(format!("error: {a} needs a value"))
        };
        match a.as_str() {
            "--url" => url = value()?,
            "--destination" => {
                request.insert("destination".into(), value()?.into());
            }
            "--status" => {
                request.insert("status".into(), value()?.into());
            }
            "--since" => {
                request.insert("since".into(), value()?.into());
            }
            "--dry-run" => {
                request.insert("dry_run".into(), true.into());
            }
            other => return Err(format!("error: unexpected argument \"{other}\"\n{USAGE}")),
        }
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
fn erase(args: &[String]) -> Result<(), String> {
    let mut url = admin_url();
    let mut event_id = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--url" => url = it.next().ok_or("error: --url needs a value")?.clone(),
            other if event_id.is_none() && !other.starts_with("--") => {
                event_id = Some(other.to_string())
            }
            other => return Err(format!("error: unexpected argument \"{other}\"\n{USAGE}")),
        }
    }
    let event_id = event_id.ok_or_else(|| format!("error: erase needs an EVENT_ID\n{USAGE}"))?;
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
            "POST",
            "-H",
            "@-",
            "-H",
            "content-type: application/json",
        ])
        .args(["--data-binary", body, "-w", "\n%{http_code}", &url])
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
