//! `POST <prefix>/api/replay` (behind the debug token): sends again the kept events of `dead_letter` and
//! `failed` rows, once the cause is fixed. Each row is first taken in one atomic UPDATE (status `replaying`,
//! owned by this replay's id), so two replays that overlap never send the same event; a replay's outcome is
//! written as the consumer writes its own (`consumer::send_all`).

use super::consumer::{self, Item};
use crate::edge::respond::json_error;
use crate::edge::settings;
use crate::operations::replay::{
    self, Candidate, ReplayRequest, Replayed, Selection, STALE_CLAIM_MS,
};
use std::collections::BTreeMap;
use wasm_bindgen::JsValue;
use worker::*;

pub async fn handle(body: &[u8], env: &Env, db: &D1Database, now: i64) -> Result<Response> {
    let selection = match ReplayRequest::parse(body, now) {
        Ok(s) => s,
        Err(e) => return json_error(400, "invalid_replay", &e),
    };
    let config = match settings::config(env).await {
        Ok(c) => c,
        Err(e) => return json_error(500, "config_invalid", &e),
    };
    if let Some(name) = &selection.destination {
        if config.destination(name).is_none() {
            return json_error(
                400,
                "unknown_destination",
                &format!("no destination {name:?} in the config"),
            );
        }
    }
    let candidates = select(db, &selection, now).await?;
    let more = candidates.len() > selection.limit as usize;
    let candidates: Vec<Candidate> = candidates
        .into_iter()
        .take(selection.limit as usize)
        .collect();
    let plan = replay::plan(candidates, now);
    if selection.dry_run {
        return Response::from_json(&replay::report(&selection, &plan, &[], 0, more));
    }
    let replay_id = format!("replay-{}", crate::base::random::random_event_id());
    let owned = take(db, &plan, &replay_id, now).await?;
    let taken_elsewhere = plan.send.len() - owned.len();
    let mut by_destination: BTreeMap<String, Vec<Item>> = BTreeMap::new();
    for (message, status) in owned {
        by_destination
            .entry(message.destination.clone())
            .or_default()
            .push(Item::replay(message, status));
    }
    let base = 0;
    let mut results: Vec<Replayed> = Vec::new();
    for (name, items) in by_destination {
        match config.destination(&name) {
            Some(dest) => results
                .extend(consumer::send_all(dest, items, env, Some(db), base, now, false).await),
            None => {
                // Taken, but its destination left the config: give the rows back as they were.
                let mut statements = Vec::new();
                for item in &items {
                    let (m, status) = item.replayed();
                    statements.extend(
                        super::ledger::outcome(
                            db,
                            m,
                            status,
                            "its destination is no longer in the config",
                            now,
                        )
                        .ok(),
                    );
                    results.push(Replayed {
                        destination: m.destination.clone(),
                        event_name: m.event_name.clone(),
                        event_id: m.event_id.clone(),
                        status: status.to_string(),
                        response: "its destination is no longer in the config".into(),
                    });
                }
                consumer::run(db, statements).await?;
            }
        }
    }
    console_log!(
        "capi-edge: replay {replay_id}: {} sent, {} still failing, {} too old",
        results.iter().filter(|r| r.status == "sent").count(),
        results.iter().filter(|r| r.status != "sent").count(),
        plan.too_old.len()
    );
    Response::from_json(&replay::report(
        &selection,
        &plan,
        &results,
        taken_elsewhere,
        more,
    ))
}

/// The kept events of the selected rows, oldest first, one more than the limit (to tell whether more wait).
async fn select(db: &D1Database, s: &Selection, now: i64) -> Result<Vec<Candidate>> {
    let statuses = s.statuses.join(",");
    db.prepare(
        "SELECT l.destination, l.event_name, l.event_id, \
           CASE WHEN l.status = 'replaying' THEN 'dead_letter' ELSE l.status END AS status, \
           l.received_ms, k.message \
         FROM ledger l JOIN kept_events k USING (destination, event_name, event_id) \
         WHERE (instr(',' || ?1 || ',', ',' || l.status || ',') > 0 OR (l.status = 'replaying' AND l.updated_ms < ?2)) \
           AND (?3 IS NULL OR l.destination = ?3) AND l.received_ms >= ?4 \
         ORDER BY l.received_ms LIMIT ?5",
    )
    .bind(&[
        statuses.into(),
        ((now - STALE_CLAIM_MS) as f64).into(),
        s.destination
            .as_deref()
            .map_or(JsValue::NULL, JsValue::from_str),
        (s.since_ms as f64).into(),
        (f64::from(s.limit) + 1.0).into(),
    ])?
    .all()
    .await?
    .results::<Candidate>()
}

/// Takes each row for this replay: `replaying`, owned by `replay_id`, in one transaction. Returns the events it
/// got; a row another replay took first (or that changed since it was read) is not among them.
async fn take(
    db: &D1Database,
    plan: &replay::Plan,
    replay_id: &str,
    now: i64,
) -> Result<Vec<(crate::delivery::DeliveryMessage, String)>> {
    if plan.send.is_empty() {
        return Ok(Vec::new());
    }
    let statements: Result<Vec<D1PreparedStatement>> = plan
        .send
        .iter()
        .map(|(m, status)| {
            db.prepare(
                "UPDATE ledger SET status = 'replaying', intake_id = ?1, updated_ms = ?2 \
                 WHERE destination = ?3 AND event_name = ?4 AND event_id = ?5 \
                   AND (status = ?6 OR (status = 'replaying' AND updated_ms < ?7)) \
                 RETURNING event_id",
            )
            .bind(&[
                replay_id.into(),
                (now as f64).into(),
                m.destination.as_str().into(),
                m.event_name.as_str().into(),
                m.event_id.as_str().into(),
                status.as_str().into(),
                ((now - STALE_CLAIM_MS) as f64).into(),
            ])
        })
        .collect();
    let results = db.batch(statements?).await?;
    let mut owned = Vec::new();
    for ((m, status), result) in plan.send.iter().zip(results) {
        let got = result
            .results::<serde_json::Value>()
            .map(|rows| !rows.is_empty())
            .unwrap_or(false);
        if got {
            owned.push((m.clone(), status.clone()));
        }
    }
    Ok(owned)
}
