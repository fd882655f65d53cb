//! The `capi-edge` command: check a config, normalize a value, dry-run hits. For people and for scripts.

use capi_edge::config::Config;
use capi_edge::destination::RedactedSecrets;
use capi_edge::hit::Hit;
use capi_edge::normalize::{self, Key};
use capi_edge::pipeline::random_event_id;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

const USAGE: &str = "usage:
  capi-edge check [CONFIG]                     validate a config and run its [[test]] blocks (default capi.toml)
  capi-edge normalize KEY VALUE                print the normalized value and its SHA-256, tab-separated
                                               KEY: em, ph, fn, ln, db, ge, ct, st, zp, country, external_id
    capi-edge run [--config CONFIG] --hit FILE [--trace]
                                               print each outbound request as one JSON line (secrets redacted);
                                               --trace: the debug trace of each hit instead (tags, fields, bodies)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("check") => check(args.get(1).map_or("capi.toml", String::as_str)),
        Some("normalize") if args.len() == 3 => normalize_cmd(&args[1], &args[2]),
        Some("run") => run(&args[1..]),
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
