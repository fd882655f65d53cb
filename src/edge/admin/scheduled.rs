//! The scheduled job (a Cron Trigger, every 5 minutes): the rows left in flight, alerts, then retention. It holds a lease in D1, so a
//! run that overlaps the previous one does nothing; the alert webhook is called from here only, never from
//! delivery, so a webhook that is down delays nothing but its own message (tried again on the next run).

use super::ledger;
use crate::base::time::DAY_MS;
use crate::config::operations::REPLAY_WINDOW_MS;
use crate::edge::{js, settings};
use crate::operations::alerts::{self, HourCount, Incident};
use crate::operations::counters;
use wasm_bindgen::JsValue;
use worker::*;

/// A run holds the lease this long at most (a run that died frees it then).
const LEASE_MS: i64 = 4 * 60 * 1000;
/// Rows one retention statement deletes; a run repeats it a few times, the next run goes on.
const DELETE_CHUNK: u32 = 5_000;
const DELETE_ROUNDS: u32 = 10;
const WEBHOOK_TIMEOUT_MS: u32 = 5_000;
/// Days of hourly counters one run folds (each a few thousand rows at most).
const FOLD_DAYS_PER_RUN: u32 = 7;

pub async fn run_job(now: i64, env: &Env) {
    let Some(db) = ledger::open(env) else {
        console_error!("capi-edge: scheduled job: no LEDGER binding");
        return;
    };
    match take_lease(&db, now).await {
        Ok(true) => {}
        Ok(false) => {
            console_log!(
                "capi-edge: scheduled job: the previous run still holds the lease; skipped"
            );
            return;
        }
        Err(e) => {
            console_error!("capi-edge: scheduled job: ledger unavailable: {e}");
            return;
        }
    }
    let config = match settings::config(env).await {
        Ok(c) => c,
        Err(e) => {
            console_error!("capi-edge: scheduled job: {e}");
            release(&db).await;
            return;
        }
    };
    // First, so the alerts and the dashboard see what it finished.
    if let Err(e) = finish_in_flight(&db, now).await {
        console_error!("capi-edge: finishing the rows left in flight failed: {e}");
    }
    if let Err(e) = check_alerts(&db, env, &config, now).await {
        console_error!("capi-edge: alerts check failed: {e}");
    }
    if let Err(e) = retention(&db, &config.retention, now).await {
        console_error!("capi-edge: retention failed: {e}");
    }
    if let Err(e) = fold_counters(&db, now).await {
        console_error!("capi-edge: folding the counters by day failed: {e}");
    }
    release(&db).await;
}

async fn take_lease(db: &D1Database, now: i64) -> Result<bool> {
    let rows = db
        .prepare(
            "INSERT INTO jobs (name, lease_until, last_run_ms) VALUES ('scheduled', ?1, ?2) \
             ON CONFLICT (name) DO UPDATE SET lease_until = excluded.lease_until, last_run_ms = excluded.last_run_ms \
             WHERE jobs.lease_until < ?2 RETURNING name",
        )
        .bind(&[((now + LEASE_MS) as f64).into(), (now as f64).into()])?
        .all()
        .await?
        .results::<serde_json::Value>()?;
    Ok(!rows.is_empty())
}

async fn release(db: &D1Database) {
    let done = db
        .prepare("UPDATE jobs SET lease_until = 0 WHERE name = 'scheduled'")
        .run()
        .await;
    if let Err(e) = done {
        console_error!("capi-edge: scheduled job: lease not released (it expires by itself): {e}");
    }
}

async fn check_alerts(
    db: &D1Database,
    env: &Env,
    config: &crate::config::Config,
    now: i64,
) -> Result<()> {
    let rules = &config.alerts;
    let counts = db
        .prepare(alerts::HOUR_COUNTS_SQL)
        .bind(&[(alerts::first_hour(now, rules) as f64).into()])?
        .all()
        .await?
        .results::<HourCount>()?;
    let open = db
        .prepare("SELECT destination, opened_ms, summary, notified FROM incidents")
        .all()
        .await?
        .results::<Incident>()?;
    let problems = alerts::problems(&counts, rules, now);
    let names: Vec<&str> = config
        .destinations
        .iter()
        .map(|d| d.name.as_str())
        .collect();
    let changes = alerts::changes(&problems, &open, &names);
    let webhook = rules
        .webhook_secret
        .as_deref()
        .and_then(|name| env.secret(name).ok())
        .map(|s| s.to_string());
    for (destination, summary) in &changes.alert {
        // The incident first (once), then the message: a run that dies in between tries the message again.
        db.prepare(
            "INSERT INTO incidents (destination, opened_ms, summary, notified) VALUES (?1, ?2, ?3, 0) \
             ON CONFLICT (destination) DO NOTHING",
        )
        .bind(&[destination.as_str().into(), (now as f64).into(), summary.as_str().into()])?
        .run()
        .await?;
        console_error!("capi-edge: alert: {destination:?}: {summary:?}");
        let message = alerts::alert_message(destination, summary, rules);
        if post(webhook.as_deref(), &message).await {
            db.prepare("UPDATE incidents SET notified = 1 WHERE destination = ?1")
                .bind(&[destination.as_str().into()])?
                .run()
                .await?;
        }
    }
    for (destination, summary) in &changes.recover {
        console_log!("capi-edge: recovered: {destination:?}");
        let message = alerts::recovery_message(destination, summary, rules);
        // Closed once the message is out (or when there is no webhook): otherwise the next run tries again.
        if webhook.is_none() || post(webhook.as_deref(), &message).await {
            db.prepare("DELETE FROM incidents WHERE destination = ?1")
                .bind(&[destination.as_str().into()])?
                .run()
                .await?;
        }
    }
    Ok(())
}

/// Posts a message to the alert webhook; true when it took it (2xx).
async fn post(webhook: Option<&str>, message: &serde_json::Value) -> bool {
    let Some(url) = webhook else { return false };
    let body = message.to_string();
    let headers = [("content-type", "application/json")];
    match js::fetch(
        "POST",
        url,
        &headers,
        Some(body.as_bytes()),
        WEBHOOK_TIMEOUT_MS,
    )
    .await
    {
        Ok(answer) if (200..300).contains(&answer.status) => true,
        Ok(answer) => {
            console_error!("capi-edge: the alert webhook answered {}", answer.status);
            false
        }
        Err(e) => {
            console_error!("capi-edge: the alert webhook is unreachable: {e}");
            false
        }
    }
}

/// Finishes the rows that stayed `queued` or `retrying` past the lease (`ledger::finish_stale`): a consumer
/// stopped between the platform's answer and the ledger write leaves one. A few chunks a run; the next run goes on.
async fn finish_in_flight(db: &D1Database, now: i64) -> Result<()> {
    for _ in 0..DELETE_ROUNDS {
        let results = db.batch(ledger::finish_stale(db, now)?).await?;
        // Rows, not `changes` (which counts the counters' trigger writes too).
        let finished = match results.last() {
            Some(r) => r.results::<serde_json::Value>()?.len(),
            None => 0,
        };
        if finished > 0 {
            console_error!(
                "capi-edge: {finished} events had no outcome recorded {} minutes after their last attempt; now dead_letter, replayable",
                ledger::IN_FLIGHT_LEASE_MS / 60_000
            );
        }
        if finished < ledger::FINISH_CHUNK as usize {
            break;
        }
    }
    Ok(())
}

/// Folds the hourly counters of the oldest days past the alerts' history into one row per day (a few days per
/// run; a backlog goes on at the next run). Each day is one D1 batch, so a fold is all or nothing.
async fn fold_counters(db: &D1Database, now: i64) -> Result<()> {
    let before = JsValue::from_f64(counters::fold_before_hour(now) as f64);
    let days = db
        .prepare(counters::DAYS_TO_FOLD_SQL)
        .bind(&[before, JsValue::from(FOLD_DAYS_PER_RUN)])?
        .all()
        .await?
        .results::<DayRow>()?;
    for DayRow { day } in days {
        let day = [JsValue::from_f64(day)];
        db.batch(vec![
            db.prepare(counters::FOLD_SQL).bind(&day)?,
            db.prepare(counters::FOLD_DELETE_SQL).bind(&day)?,
        ])
        .await?;
    }
    Ok(())
}

#[derive(serde::Deserialize)]
struct DayRow {
    day: f64,
}

/// Deletes what is past its time: ledger rows, kept events (past the platforms' window, a day of margin), and
/// counters. In chunks, so a long backlog never makes one long statement; the next run goes on.
async fn retention(
    db: &D1Database,
    retention: &crate::config::operations::Retention,
    now: i64,
) -> Result<()> {
    let ledger_before = now - i64::from(retention.ledger_days) * DAY_MS;
    let kept_before = now - REPLAY_WINDOW_MS - DAY_MS;
    let counts_before_hour =
        (now - i64::from(retention.counts_days) * DAY_MS) / crate::base::time::HOUR_MS;
    let jobs = [
        (
            "DELETE FROM ledger WHERE rowid IN (SELECT rowid FROM ledger WHERE received_ms < ?1 LIMIT ?2)",
            ledger_before,
        ),
        (
            "DELETE FROM kept_events WHERE rowid IN (SELECT rowid FROM kept_events WHERE kept_ms < ?1 LIMIT ?2)",
            kept_before,
        ),
        (
            // The table has no rowid: chunked by its key.
            "DELETE FROM ledger_counts WHERE (hour, destination, event_name, status, source) IN \
             (SELECT hour, destination, event_name, status, source FROM ledger_counts WHERE hour < ?1 LIMIT ?2)",
            counts_before_hour,
        ),
        (
            "DELETE FROM intake_counts WHERE (hour, kind, name) IN \
             (SELECT hour, kind, name FROM intake_counts WHERE hour < ?1 LIMIT ?2)",
            counts_before_hour,
        ),
        // The hit sample (the consumer trims it as it writes; this covers the days no hit is sampled).
        (
            "DELETE FROM hit_samples WHERE rowid IN (SELECT rowid FROM hit_samples WHERE received_ms < ?1 LIMIT ?2)",
            now - crate::operations::sample::KEEP_MS,
        ),
    ];
    for (sql, before) in jobs {
        for _ in 0..DELETE_ROUNDS {
            let result = db
                .prepare(sql)
                .bind(&[(before as f64).into(), JsValue::from(DELETE_CHUNK)])?
                .run()
                .await?;
            let deleted = result.meta()?.and_then(|m| m.changes).unwrap_or(0);
            if deleted < DELETE_CHUNK as usize {
                break;
            }
        }
    }
    Ok(())
}
