//! The `capi-edge` command: check a config, normalize a value, dry-run hits, publish config versions. For people
//! and for scripts.

mod publishing;

use capi_edge::config::Config;
use capi_edge::destination::RedactedSecrets;
use capi_edge::hit::Hit;
use capi_edge::normalize::{self, Key};
use capi_edge::random::random_event_id;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

const USAGE: &str = "usage:
  capi-edge check [CONFIG]                     validate a config and run its [[test]] blocks (default capi.toml)
  capi-edge compile [CONFIG|-] [--out FILE]    check a config (tests included) and write it as the worker's JSON
  capi-edge normalize KEY VALUE                print the normalized value and its SHA-256, tab-separated
                                               KEY: em, ph, fn, ln, db, ge, ct, st, zp, country, external_id
    capi-edge run [--config CONFIG] --hit FILE [--trace]
                                               print each outbound request as one JSON line (secrets redacted);
                                               --trace: the debug trace of each hit instead (tags, fields, bodies)
  capi-edge reconcile --orders ORDERS.csv [--ledger LEDGER.json] [--days 7] [--destination NAME]
                                               compare the shop's orders with what reached each destination;
                                               exit 1 on FAIL (over 10% apart)
  capi-edge publish [CONFIG] [--message TEXT] [--draft] [--by NAME] [--if-changed]
                                               check (tests included), then store as a new version in the worker's
                                               KV namespace and make it live; --draft stores it without;
                                               --if-changed: nothing when it is the live version already
  capi-edge versions                           the published versions, newest first; * marks the live one
  capi-edge rollback N                         make version N live again
  capi-edge diff A B                           what changed between two configs: versions (3, live, draft) or files
    publish, versions, rollback and diff call wrangler: remote by default; --local for `make dev`'s state
    (--persist-to DIR for another folder); --wrangler-config FILE; CAPI_EDGE_WRANGLER names wrangler";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("check") => check(args.get(1).map_or("capi.toml", String::as_str)),
        Some("normalize") if args.len() == 3 => normalize_cmd(&args[1], &args[2]),
        Some("run") => run(&args[1..]),
        Some("compile") => compile(&args[1..]),
        Some("reconcile") => reconcile(&args[1..]),
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

fn check(path: &str) -> Result<(), String> {
    let source = read(path)?;
    match capi_edge::check(&source) {
        Ok(config) => {
            println!(
                "{path}: ok ({} destinations, {} tags, {} tests passed)",
                config.destinations.len(),
                config.tags.len(),
                config.tests.len()
            );
            Ok(())
        }
        Err(errors) => {
            let rendered: Vec<String> = errors.iter().map(|e| e.render(path, &source)).collect();
            let count = errors.len();
            Err(format!(
                "{}\n{path}: {count} error{}",
                rendered.join("\n"),
                if count == 1 { "" } else { "s" }
            ))
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
    let hits = Hit::many_from_json(read(&hit_path)?.as_bytes())
        .map_err(|e| format!("error: {hit_path}: {e}"))?;
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let mut deliveries = Vec::new();
    for hit in &hits {
        if trace {
            let outcome = config.trace(hit, now_ms, &mut random_event_id);
            let json = capi_edge::preview::trace_json(&config, hit, &outcome, &RedactedSecrets);
            println!(
                "{}",
                serde_json::to_string_pretty(&json).unwrap_or_default()
            );
            continue;
        }
        let outcome = config.process(hit, now_ms, &mut random_event_id);
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
    for request in config.requests(deliveries, &RedactedSecrets) {
        let request = request.map_err(|e| format!("error: {e}"))?;
        println!("{}", request.summary());
    }
    Ok(())
}

fn reconcile(args: &[String]) -> Result<(), String> {
    use capi_edge::reconcile::{self, Verdict};
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
