//! The delivery ledger in D1 (schema: migrations/0001_ledger.sql). It is also the dedup: the row's primary key
//! (destination, event_name, event_id) admits one owner, and only the owner's message is ever sent.

use crate::delivery::DeliveryMessage;
use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, Env, Result};

/// The row as the claim sees it.
#[derive(Debug, Deserialize)]
pub struct Claim {
    pub intake_id: String,
    pub status: String,
    pub attempts: u32,
}

pub fn open(env: &Env) -> Option<D1Database> {
    env.d1("LEDGER").ok()
}

fn source_bit(source: &str) -> f64 {
    match source {
        "browser" => 1.0,
        "server" => 2.0,
        _ => 4.0,
    }
}

fn opt_f64(v: Option<f64>) -> JsValue {
    v.map_or(JsValue::NULL, JsValue::from_f64)
}

fn opt_str(v: Option<&str>) -> JsValue {
    v.map_or(JsValue::NULL, JsValue::from_str)
}

/// Inserts the row, or counts a duplicate on the existing one; the statement returns who owns the row afterwards.
/// Run many in one `db.batch`: D1 runs them in order, in one transaction, so two copies of an event in the
/// same batch still get one owner.
pub fn claim(
    db: &D1Database,
    m: &DeliveryMessage,
    status: &str,
    response: Option<&str>,
) -> Result<D1PreparedStatement> {
    db.prepare(
        "INSERT INTO ledger (destination, event_name, event_id, tag, source, sources, intake_id, received_ms, \
         updated_ms, status, response, value, currency, match_quality, missing) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9, ?10, ?11, ?12, ?13, ?14) \
         ON CONFLICT (destination, event_name, event_id) DO UPDATE SET \
           duplicates = ledger.duplicates + (ledger.intake_id != excluded.intake_id), \
           sources = ledger.sources | excluded.sources \
         RETURNING intake_id, status, attempts",
    )
    .bind(&[
        m.destination.as_str().into(),
        m.event_name.as_str().into(),
        m.event_id.as_str().into(),
        m.tag.as_str().into(),
        m.source.as_str().into(),
        source_bit(&m.source).into(),
        m.intake_id.as_str().into(),
        (m.received_ms as f64).into(),
        status.into(),
        opt_str(response),
        opt_f64(m.value),
        opt_str(m.currency.as_deref()),
        m.match_quality.into(),
        opt_str(Some(m.missing.as_str()).filter(|s| !s.is_empty())),
    ])
}

/// Sets the outcome of an attempt on a row.
pub fn outcome(
    db: &D1Database,
    m: &DeliveryMessage,
    status: &str,
    response: &str,
    now_ms: i64,
) -> Result<D1PreparedStatement> {
    db.prepare(
        "UPDATE ledger SET status = ?1, response = ?2, attempts = attempts + 1, updated_ms = ?3 \
         WHERE destination = ?4 AND event_name = ?5 AND event_id = ?6 AND status != 'sent'",
    )
    .bind(&[
        status.into(),
        response.into(),
        (now_ms as f64).into(),
        m.destination.as_str().into(),
        m.event_name.as_str().into(),
        m.event_id.as_str().into(),
    ])
}

/// Marks a message the queue gave up on.
pub fn dead_letter(
    db: &D1Database,
    m: &DeliveryMessage,
    now_ms: i64,
) -> Result<D1PreparedStatement> {
    db.prepare(
        "UPDATE ledger SET status = 'dead_letter', updated_ms = ?1 \
         WHERE destination = ?2 AND event_name = ?3 AND event_id = ?4 AND status NOT IN ('sent', 'failed')",
    )
    .bind(&[(now_ms as f64).into(), m.destination.as_str().into(), m.event_name.as_str().into(), m.event_id.as_str().into()])
}
