//! The verification endpoints, behind the `DEBUG_TOKEN` secret (`Authorization: Bearer <token>`): the
//! dashboard's numbers, a ledger export for `capi-edge reconcile`, and reconciliation of an uploaded orders CSV.

use super::ledger;
use crate::edge::respond::json_error;
use crate::operations::dashboard::{self, CountRow, FailureRow, HourRow, LedgerRow, TrendRow};
use crate::operations::reconcile::{self, Conversion};
use serde_json::json;
use wasm_bindgen::JsValue;
use worker::*;

const DAY_MS: f64 = 24.0 * 3600.0 * 1000.0;
/// The most rows the ledger export and reconciliation read (the dashboard reads the counters instead).
const MAX_ROWS: u32 = 50_000;

pub async fn handle(mut req: Request, env: &Env, route: &str) -> Result<Response> {
    let presented = crate::edge::auth::bearer(&req);
    let how = "send the debug token: Authorization: Bearer <token>";
    if let Err(refusal) = crate::edge::auth::authorize_debug(env, &presented, "the dashboard", how)
    {
        // Read what was sent before refusing: a client still sending its body when the answer comes may see the
        // connection reset instead of the 401 (seen with Node's fetch under load).
        let _ = req.bytes().await;
        return refusal;
    }
    let Some(db) = ledger::open(env) else {
        return json_error(503, "no_ledger", "the LEDGER D1 binding is missing");
    };
    let now = Date::now().as_millis() as f64;
    let query = req.inner().url();
    let param = |name: &str| {
        query.split_once('?').and_then(|(_, q)| {
            q.split('&')
                .find_map(|p| p.strip_prefix(&format!("{name}=")).map(str::to_string))
        })
    };
    let days: f64 = param("days")
        .and_then(|d| crate::base::number::parse_f64(&d))
        .filter(|d: &f64| *d > 0.0 && *d <= 90.0)
        .unwrap_or(7.0);
    let since = now - days * DAY_MS;
    match (req.method(), route) {
        (Method::Get, "/api/stats") => {
            // Six reads in one round trip (a D1 batch); each is small whatever the ledger's size.
            let first_hour = JsValue::from_f64(dashboard::first_hour(since, now));
            let day_hour = JsValue::from_f64(dashboard::day_first_hour(now));
            let results = db
                .batch(vec![
                    db.prepare(dashboard::COUNTS_SQL)
                        .bind(std::slice::from_ref(&first_hour))?,
                    db.prepare(dashboard::TREND_SQL).bind(std::slice::from_ref(&first_hour))?,
                    db.prepare(dashboard::FAILURES_SQL)
                        .bind(&[JsValue::from_f64(since)])?,
                    db.prepare("SELECT destination, opened_ms, summary, notified FROM incidents"),
                    db.prepare(crate::operations::tally::WINDOW_SQL).bind(std::slice::from_ref(&first_hour))?,
                    db.prepare(dashboard::HOURLY_SQL).bind(&[day_hour])?,
                ])
                .await?;
            let [counts, trend, failures, incidents, intake, hourly] = <[D1Result; 6]>::try_from(results)
                .map_err(|_| Error::RustError("a D1 batch of 6 answered otherwise".into()))?;
            let counts = counts.results::<CountRow>()?;
            let trend = trend.results::<TrendRow>()?;
            let failures = failures.results::<FailureRow>()?;
            let hourly = hourly.results::<HourRow>()?;
            let incidents = incidents.results::<serde_json::Value>()?;
            let mut stats = dashboard::stats(&counts, &failures, &trend, &hourly, now, days * DAY_MS);
            // Hits that fired no tag, with the tag event each most likely meant (from the config in force).
            let intake = intake.results::<crate::operations::tally::WindowRow>()?;
            let config = crate::edge::settings::config(env).await.ok();
            stats["intake"] = crate::operations::tally::window_json(&intake, config.as_deref());
            if let Some(c) = config.as_deref() {
                dashboard::name_conversions(&mut stats, c);
            }
            // The destinations a tag sends to (a GA4 pass-through that no tag names has no events of its own).
            let configured: Vec<&str> = config
                .as_deref()
                .map(|c| {
                    c.destinations
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| c.tags.iter().any(|t| t.destinations.contains(i)))
                        .map(|(_, d)| d.name.as_str())
                        .collect()
                })
                .unwrap_or_default();
            let cards = stats["events"].as_array().cloned().unwrap_or_default();
            stats["destinations"] = dashboard::destinations(&cards, &hourly, &incidents, &configured, now);
            stats["incidents"] = incidents.into();
            Response::from_json(&stats)
        }
        (Method::Get, "/api/ledger") => {
            let rows = rows_since(&db, since).await?;
            let conversions: Vec<_> = rows.iter().map(export_row).collect();
            Response::from_json(&conversions)
        }
        // The rolling sample of recent hits (hashed, placeholders), for `capi-edge diff A B --hits`.
        (Method::Get, "/api/sample") => Response::from_json(&ledger::samples(&db).await?),
        (Method::Post, "/api/reconcile") => {
            let csv = req.text().await.unwrap_or_default();
            let orders = match reconcile::parse_orders_csv(&csv) {
                Ok(o) => o,
                Err(e) => return json_error(400, "invalid_orders", &e),
            };
            let rows = rows_since(&db, since).await?;
            let ledger: Vec<Conversion> = rows.iter().map(conversion).collect();
            let reports: Vec<_> = reconcile::reconcile(&orders, &ledger, days as u32)
                .iter()
                .map(|r| reconcile::report_json(r, days as u32))
                .collect();
            Response::from_json(&json!({"orders": orders.len(), "reports": reports}))
        }
        (Method::Post, "/api/replay") => {
            let body = req.bytes().await.unwrap_or_default();
            super::replay::handle(&body, env, &db, now as i64).await
        }
        // The scheduled job (alerts, retention) now, as the Cron Trigger runs it: for `make dev`, where crons do
        // not fire, and for an operator who wants the checks at once. Its lease keeps it from running twice.
        (Method::Post, "/api/scheduled") => {
            super::scheduled::run_job(now as i64, env).await;
            Response::from_json(&json!({"ran": true}))
        }
        (Method::Post, "/api/erase") => {
            let body = req.bytes().await.unwrap_or_default();
            erase(&body, &db).await
        }
        _ => json_error(
            404,
            "not_found",
            "the verification endpoints are GET /api/stats, GET /api/ledger, GET /api/sample, POST /api/reconcile, POST /api/replay, POST /api/erase and POST /api/scheduled",
        ),
    }
}

/// `POST /api/erase {"event_id": "…"}`: deletes an event's ledger rows and kept events, every destination (a
/// customer's erasure request names their order; the order id is the event id of its purchase).
async fn erase(body: &[u8], db: &D1Database) -> Result<Response> {
    let event_id = match crate::config::operations::erasure_request(body) {
        Ok(id) => id,
        Err(e) => return json_error(400, "invalid_erase", &e),
    };
    let id = JsValue::from_str(&event_id);
    let results = db
        .batch(vec![
            db.prepare("DELETE FROM ledger WHERE event_id = ?1")
                .bind(std::slice::from_ref(&id))?,
            db.prepare("DELETE FROM kept_events WHERE event_id = ?1")
                .bind(&[id])?,
        ])
        .await?;
    let deleted: Vec<usize> = results
        .iter()
        .map(|r| r.meta().ok().flatten().and_then(|m| m.changes).unwrap_or(0))
        .collect();
    Response::from_json(
        &json!({"event_id": event_id, "ledger_rows": deleted[0], "kept_events": deleted.get(1).copied().unwrap_or(0)}),
    )
}

async fn rows_since(db: &D1Database, since_ms: f64) -> Result<Vec<LedgerRow>> {
    db.prepare(
        "SELECT destination, event_name, event_id, source, sources, status, duplicates, match_quality, missing, \
         received_ms, updated_ms, response, value, currency FROM ledger WHERE received_ms >= ?1 ORDER BY received_ms DESC LIMIT ?2",
    )
    .bind(&[JsValue::from_f64(since_ms), JsValue::from_f64(MAX_ROWS as f64)])?
    .all()
    .await?
    .results::<LedgerRow>()
}

fn conversion(r: &LedgerRow) -> Conversion {
    Conversion {
        destination: r.destination.clone(),
        event_name: r.event_name.clone(),
        event_id: r.event_id.clone(),
        received_ms: r.received_ms as i64,
        value: r.value,
        currency: r.currency.clone(),
        status: r.status.clone(),
        response: r.response.clone(),
    }
}

fn export_row(r: &LedgerRow) -> serde_json::Value {
    json!({"destination": r.destination, "event_name": r.event_name, "event_id": r.event_id, "source": r.source,
           "status": r.status, "received_ms": r.received_ms, "response": r.response, "match_quality": r.match_quality,
           "value": r.value, "currency": r.currency})
}
