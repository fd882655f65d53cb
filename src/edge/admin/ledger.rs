//! The delivery ledger in D1 (schema: migrations/0001_ledger.sql). It is also the dedup: the row's primary key
//! (destination, event_name, event_id) admits one owner, and only the owner's message is ever sent.

use crate::delivery::{Action, DeliveryMessage};
use crate::operations::counters::{Delta, Key};
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

/// Keeps one sampled hit (migrations/0004_hit_samples.sql).
pub fn keep_sample(db: &D1Database, m: &DeliveryMessage) -> Result<D1PreparedStatement> {
    db.prepare(
        "INSERT INTO hit_samples (received_ms, source, event_name, hit) VALUES (?1, ?2, ?3, ?4)",
    )
    .bind(&[
        JsValue::from_f64(m.received_ms as f64),
        m.source.as_str().into(),
        m.event_name.as_str().into(),
        m.payload.json().into(),
    ])
}

/// Keeps the newest `sample::KEEP_ROWS` sampled hits of the last `sample::KEEP_MS`.
pub fn trim_samples(db: &D1Database, now_ms: i64) -> Result<D1PreparedStatement> {
    db.prepare(
        "DELETE FROM hit_samples WHERE id <= (SELECT max(id) FROM hit_samples) - ?1 OR received_ms < ?2",
    )
    .bind(&[
        JsValue::from_f64(crate::operations::sample::KEEP_ROWS as f64),
        JsValue::from_f64((now_ms - crate::operations::sample::KEEP_MS) as f64),
    ])
}

/// The sampled hits, oldest first, as `GET <prefix>/api/sample` exports them.
pub async fn samples(db: &D1Database) -> Result<Vec<crate::operations::sample::SampledHit>> {
    #[derive(Deserialize)]
    struct Row {
        received_ms: f64,
        source: String,
        hit: String,
    }
    let rows: Vec<Row> = db
        .prepare("SELECT received_ms, source, hit FROM hit_samples ORDER BY id LIMIT ?1")
        .bind(&[JsValue::from_f64(
            crate::operations::sample::KEEP_ROWS as f64 * 2.0,
        )])?
        .all()
        .await?
        .results()?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(crate::operations::sample::SampledHit {
                received_ms: r.received_ms as i64,
                source: serde_json::from_value(serde_json::Value::String(r.source)).ok()?,
                hit: serde_json::from_str(&r.hit).ok()?,
            })
        })
        .collect())
}

/// The columns an inserted row takes, in the order both inserts below bind them (?1 … ?15): destination,
/// event_name, event_id, tag, source, sources, intake_id, received_ms, updated_ms, status, response, value,
/// currency, match_quality, missing.
macro_rules! row_columns {
    () => {
        "destination, event_name, event_id, tag, source, sources, intake_id, received_ms, updated_ms, status, \
         response, value, currency, match_quality, missing"
    };
}

fn row_values(
    m: &DeliveryMessage,
    updated_ms: i64,
    status: &str,
    response: Option<&str>,
) -> [JsValue; 15] {
    [
        m.destination.as_str().into(),
        m.event_name.as_str().into(),
        m.event_id.as_str().into(),
        m.tag.as_str().into(),
        m.source.as_str().into(),
        source_bit(&m.source).into(),
        m.intake_id.as_str().into(),
        (m.received_ms as f64).into(),
        (updated_ms as f64).into(),
        status.into(),
        opt_str(response),
        opt_f64(m.value),
        opt_str(m.currency.as_deref()),
        m.match_quality.into(),
        opt_str(Some(m.missing.as_str()).filter(|s| !s.is_empty())),
    ]
}

/// Inserts the row, or counts a duplicate on the existing one; the statement returns who owns the row afterwards.
/// Run many in one `db.batch`: D1 runs them in order, in one transaction, so two copies of an event in the
/// same batch still get one owner. A message to send is kept on its row while it is in flight (`message`), so
/// the scheduled job can finish a row no consumer finished (`finish_stale`).
pub fn claim(
    db: &D1Database,
    m: &DeliveryMessage,
    status: &str,
    response: Option<&str>,
    now_ms: i64,
) -> Result<D1PreparedStatement> {
    let message = match m.action {
        Action::Send => JsValue::from(message_json(m)?),
        _ => JsValue::NULL,
    };
    let [a, b, c, d, e, f, g, h, i, j, k, l, n, o, p] = row_values(m, now_ms, status, response);
    db.prepare(concat!(
        "INSERT INTO ledger (",
        row_columns!(),
        ", message) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16) \
         ON CONFLICT (destination, event_name, event_id) DO UPDATE SET \
           duplicates = ledger.duplicates + (ledger.intake_id != excluded.intake_id), \
           sources = ledger.sources | excluded.sources \
         RETURNING intake_id, status, attempts"
    ))
    .bind(&[a, b, c, d, e, f, g, h, i, j, k, l, n, o, p, message])
}

/// The queue message as JSON, as intake wrote it: what `kept_events` and a row in flight keep.
fn message_json(m: &DeliveryMessage) -> Result<String> {
    serde_json::to_string(m).map_err(|e| worker::Error::RustError(e.to_string()))
}

/// Sets the outcome of an attempt on a row. A final outcome drops the in-flight copy of the message (a failed
/// event is kept in `kept_events` by the same batch).
pub fn outcome(
    db: &D1Database,
    m: &DeliveryMessage,
    status: &str,
    response: &str,
    now_ms: i64,
) -> Result<D1PreparedStatement> {
    db.prepare(
        "UPDATE ledger SET status = ?1, response = ?2, attempts = attempts + 1, updated_ms = ?3, \
           message = CASE WHEN ?1 IN ('sent', 'failed', 'dead_letter') THEN NULL ELSE message END \
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

/// Why the queue gave up, when no answer of the platform was recorded for the event.
pub const GAVE_UP: &str =
    "the queue gave up after its retries; no attempt reached the platform, or none was recorded";

/// A message the queue gave up on: its row becomes `dead_letter`, keeping the platform's last answer (the
/// status says the queue gave up), or, with `GAVE_UP`, when none was recorded; or the row is made
/// now, with the reason, when no claim ever reached the ledger (D1 refused every one). A row another message
/// owns and is still sending, or one that already ended, is left as it is.
pub fn dead_letter(
    db: &D1Database,
    m: &DeliveryMessage,
    now_ms: i64,
) -> Result<D1PreparedStatement> {
    db.prepare(concat!(
        "INSERT INTO ledger (",
        row_columns!(),
        ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) \
         ON CONFLICT (destination, event_name, event_id) DO UPDATE SET status = 'dead_letter', \
           updated_ms = excluded.updated_ms, message = NULL, \
           response = coalesce(nullif(ledger.response, ''), excluded.response) \
         WHERE ledger.status IN ('queued', 'retrying') AND ledger.intake_id = excluded.intake_id"
    ))
    .bind(&row_values(m, now_ms, "dead_letter", Some(GAVE_UP)))
}

/// How long a row may stay `queued` or `retrying` with no news before the scheduled job finishes it. Longer than
/// the longest wait between two attempts (`delivery::backoff_seconds`: 15 minutes), so a row the queue is still
/// retrying is never taken.
pub const IN_FLIGHT_LEASE_MS: i64 = 30 * 60 * 1000;
/// Rows one run of the scheduled job finishes; the next run goes on.
pub const FINISH_CHUNK: u32 = 500;

/// The reason a finished row gives (then whether it can be replayed, and the last answer recorded).
pub const NO_OUTCOME: &str =
    "no outcome was recorded within 30 minutes of the last attempt: the consumer was \
     stopped, or the ledger failed, at the wrong moment, and the platform may have the event";

/// Rows in flight past the lease, oldest first: the scheduled job's `finish_stale` takes these.
const STALE_ROWS: &str =
    "SELECT rowid FROM ledger WHERE status IN ('queued', 'retrying') AND updated_ms < ?1 \
     ORDER BY updated_ms LIMIT ?2";

/// Finishes the rows no consumer finished: each becomes `dead_letter` with the reason, and its in-flight message
/// is kept for replay. Two statements for one `db.batch` (one transaction), over the same rows.
pub fn finish_stale(db: &D1Database, now_ms: i64) -> Result<Vec<D1PreparedStatement>> {
    let cutoff = JsValue::from_f64((now_ms - IN_FLIGHT_LEASE_MS) as f64);
    let now = JsValue::from_f64(now_ms as f64);
    let chunk = JsValue::from(FINISH_CHUNK);
    Ok(vec![
        db.prepare(format!(
            "INSERT INTO kept_events (destination, event_name, event_id, message, kept_ms) \
             SELECT destination, event_name, event_id, message, ?3 FROM ledger \
             WHERE rowid IN ({STALE_ROWS}) AND message IS NOT NULL \
             ON CONFLICT (destination, event_name, event_id) DO UPDATE SET message = excluded.message, \
               kept_ms = excluded.kept_ms"
        ))
        .bind(&[cutoff.clone(), chunk.clone(), now.clone()])?,
        db.prepare(format!(
            "UPDATE ledger SET status = 'dead_letter', updated_ms = ?3, message = NULL, \
               response = ?4 || CASE WHEN message IS NULL THEN '; no copy of it was kept, so it cannot be replayed' \
                 ELSE '; a replay sends it again (the platform deduplicates it by event_id)' END \
                 || CASE WHEN coalesce(response, '') = '' THEN '' ELSE '. The last answer: ' || response END \
             WHERE rowid IN ({STALE_ROWS}) RETURNING event_id"
        ))
        .bind(&[cutoff, chunk, now, NO_OUTCOME.into()])?,
    ])
}

/// Makes sure an event has a row in `status` (an event of a counts-only tag has none until it fails), or
/// sets it on the existing row unless the row already ended.
pub fn record_final(
    db: &D1Database,
    m: &DeliveryMessage,
    status: &str,
    response: &str,
    now_ms: i64,
) -> Result<D1PreparedStatement> {
    db.prepare(concat!(
        "INSERT INTO ledger (",
        row_columns!(),
        ", attempts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, 1) \
         ON CONFLICT (destination, event_name, event_id) DO UPDATE SET status = excluded.status, \
           response = excluded.response, updated_ms = excluded.updated_ms, attempts = ledger.attempts + 1 \
         WHERE ledger.status NOT IN ('sent', 'failed')"
    ))
    .bind(&row_values(m, now_ms, status, Some(response)))
}

/// Keeps the outbound event of an event that failed or was dead-lettered, for replay.
pub fn keep(db: &D1Database, m: &DeliveryMessage, now_ms: i64) -> Result<D1PreparedStatement> {
    let message = message_json(m)?;
    db.prepare(
        "INSERT INTO kept_events (destination, event_name, event_id, message, kept_ms) VALUES (?1, ?2, ?3, ?4, ?5) \
         ON CONFLICT (destination, event_name, event_id) DO UPDATE SET message = excluded.message, kept_ms = excluded.kept_ms",
    )
    .bind(&[
        m.destination.as_str().into(),
        m.event_name.as_str().into(),
        m.event_id.as_str().into(),
        message.into(),
        (now_ms as f64).into(),
    ])
}

/// Drops a kept event once a replay delivered it.
pub fn forget_kept(db: &D1Database, m: &DeliveryMessage) -> Result<D1PreparedStatement> {
    db.prepare(
        "DELETE FROM kept_events WHERE destination = ?1 AND event_name = ?2 AND event_id = ?3",
    )
    .bind(&[
        m.destination.as_str().into(),
        m.event_name.as_str().into(),
        m.event_id.as_str().into(),
    ])
}

/// Adds a batch's sums to one counter (`counters::Counters`).
pub fn add_counts(db: &D1Database, (key, d): &(Key, Delta)) -> Result<D1PreparedStatement> {
    db.prepare(concat!(
        "INSERT INTO ledger_counts (hour, destination, event_name, status, source, events, from_server, scored, \
         quality_sum, q0, q2, q4, q6, q8, miss_em, miss_ph, miss_external_id, miss_click_id, miss_client_ip_address, \
         miss_client_user_agent, last_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)",
        crate::operations::counters::add_to_counter!()
    ))
    .bind(&[
        (key.hour as f64).into(),
        key.destination.as_str().into(),
        key.event_name.as_str().into(),
        key.status.as_str().into(),
        key.source.as_str().into(),
        (d.events as f64).into(),
        (d.from_server as f64).into(),
        (d.scored as f64).into(),
        d.quality_sum.into(),
        (d.quality_buckets[0] as f64).into(),
        (d.quality_buckets[1] as f64).into(),
        (d.quality_buckets[2] as f64).into(),
        (d.quality_buckets[3] as f64).into(),
        (d.quality_buckets[4] as f64).into(),
        (d.missing[0] as f64).into(),
        (d.missing[1] as f64).into(),
        (d.missing[2] as f64).into(),
        (d.missing[3] as f64).into(),
        (d.missing[4] as f64).into(),
        (d.missing[5] as f64).into(),
        (d.last_ms as f64).into(),
    ])
}
