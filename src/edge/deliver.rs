//! The queue consumer: claims each event in the ledger (dedup), sends per destination in batches, and acts on
//! the platform's answer: ack, retry with backoff, split out a bad event, or record a dead letter.

use super::js;
use super::ledger::{self, Claim};
use super::settings::{self, WorkerSecrets};
use crate::delivery::{
    backoff_seconds, classify, Action, DeliveryMessage, Verdict, BACKOFF_BASE_S,
    UPSTREAM_TIMEOUT_MS,
};
use crate::destination::{Destination, OutboundRequest};
use std::collections::{BTreeMap, VecDeque};
use wasm_bindgen::JsValue;
use worker::*;

/// One message on its way, with the attempts the ledger counted so far.
struct Item {
    message: Queued,
    attempts: u32,
}

/// A queue message with its body read. Intake sends JSON text (`collect::enqueue`); an object body is what an
/// earlier version queued, and is read too, so an upgrade strands nothing in flight.
struct Queued {
    raw: RawMessage,
    body: DeliveryMessage,
}

impl Queued {
    fn read(raw: RawMessage) -> std::result::Result<Queued, (RawMessage, String)> {
        let value = raw.body();
        // `JSON.stringify` gives `undefined` for some values: checked, never unwrapped.
        let text = value.as_string().or_else(|| {
            js_sys::JSON::stringify(&value)
                .ok()
                .and_then(|t| t.as_string())
        });
        let Some(text) = text else {
            return Err((raw, "the body is neither text nor JSON".into()));
        };
        match serde_json::from_slice(text.as_bytes()) {
            Ok(body) => Ok(Queued { raw, body }),
            Err(e) => Err((raw, e.to_string())),
        }
    }

    fn body(&self) -> &DeliveryMessage {
        &self.body
    }

    fn ack(&self) {
        self.raw.ack()
    }

    fn retry(&self) {
        self.raw.retry()
    }

    fn retry_with_options(&self, options: &QueueRetryOptions) {
        self.raw.retry_with_options(options)
    }
}

pub async fn batch(batch: MessageBatch<JsValue>, env: &Env) {
    let now = Date::now().as_millis() as i64;
    let dead_letter_queue = batch.queue().ends_with("-dlq");
    let mut messages = Vec::new();
    for raw in batch.raw_iter() {
        match Queued::read(raw) {
            Ok(m) => messages.push(m),
            // Not expected (intake writes every body). Retried, in case the read itself failed; in the DLQ, where
            // nothing comes after, it is logged with its body for a person to replay, and acked.
            Err((raw, e)) if dead_letter_queue => {
                console_error!(
                    "capi-edge: unreadable dead letter {} dropped ({e}): {:?}",
                    raw.id(),
                    raw.body()
                );
                raw.ack();
            }
            Err((raw, e)) => {
                console_error!(
                    "capi-edge: unreadable queue message {}, retrying: {e}",
                    raw.id()
                );
                raw.retry();
            }
        }
    }
    let db = ledger::open(env);
    if dead_letter_queue {
        return dead_letters(messages, db.as_ref(), now).await;
    }
    let config = match settings::config(env).await {
        Ok(c) => c,
        Err(e) => {
            console_error!("capi-edge: {e}");
            messages
                .iter()
                .for_each(|m| m.retry_with_options(&delay(60)));
            return;
        }
    };
    let base = env
        .var("RETRY_BASE_SECONDS")
        .ok()
        .and_then(|v| v.to_string().parse().ok())
        .unwrap_or(BACKOFF_BASE_S);
    // Debug traffic travels apart: its requests go to the platform's validation mode.
    let mut groups: BTreeMap<(String, bool), Vec<Queued>> = BTreeMap::new();
    for m in messages {
        groups
            .entry((m.body().destination.clone(), m.body().test))
            .or_default()
            .push(m);
    }
    for ((name, test), group) in groups {
        let Some(dest) = config.destination(&name) else {
            console_error!("capi-edge: destination {name} is no longer in the config; {} messages dropped to the DLQ", group.len());
            group
                .iter()
                .for_each(|m| m.retry_with_options(&delay(base)));
            continue;
        };
        let items = if test {
            group
                .into_iter()
                .map(|message| Item {
                    message,
                    attempts: 0,
                })
                .collect()
        } else {
            admit(group, db.as_ref(), base).await
        };
        let db = if test { None } else { db.as_ref() };
        send_all(dest, items, env, db, base, now, test).await;
    }
}

/// Claims each event in the ledger, in one round trip. Returns what to send: not the record-only messages,
/// the duplicates (another message owns the event) or the events already final.
async fn admit(messages: Vec<Queued>, db: Option<&D1Database>, base: u32) -> Vec<Item> {
    let is_send = |m: &Queued| matches!(m.body().action, Action::Send);
    let Some(db) = db else {
        // Without a ledger there is no dedup; still deliver rather than lose.
        return messages
            .into_iter()
            .filter(is_send)
            .map(|message| Item {
                message,
                attempts: 0,
            })
            .collect();
    };
    let statements: Result<Vec<D1PreparedStatement>> = messages
        .iter()
        .map(|m| {
            let body = m.body();
            match &body.action {
                Action::Send => ledger::claim(db, body, "queued", None),
                Action::Record { status, reason } => {
                    ledger::claim(db, body, status, Some(reason.as_str()))
                }
            }
        })
        .collect();
    let results = match statements {
        Ok(s) => db.batch(s).await,
        Err(e) => Err(e),
    };
    let results = match results {
        Ok(r) => r,
        Err(e) => {
            // Sending without the claim could double-send; wait for the ledger instead.
            console_error!(
                "capi-edge: ledger unavailable, retrying {} messages: {e}",
                messages.len()
            );
            messages
                .iter()
                .for_each(|m| m.retry_with_options(&delay(base)));
            return Vec::new();
        }
    };
    let mut items = Vec::new();
    for (message, result) in messages.into_iter().zip(results) {
        let claim = result
            .results::<Claim>()
            .ok()
            .and_then(|rows| rows.into_iter().next());
        match claim {
            Some(Claim {
                intake_id,
                status,
                attempts,
            }) if intake_id == message.body().intake_id
                && !matches!(status.as_str(), "sent" | "failed")
                && is_send(&message) =>
            {
                items.push(Item { message, attempts })
            }
            Some(_) => message.ack(),
            None if is_send(&message) => items.push(Item {
                message,
                attempts: 0,
            }),
            None => message.ack(),
        }
    }
    items
}

/// Sends in batches within the destination's limit; a refused batch is split until the bad event is alone.
#[allow(clippy::too_many_arguments)]
async fn send_all(
    dest: &Destination,
    items: Vec<Item>,
    env: &Env,
    db: Option<&D1Database>,
    base: u32,
    now: i64,
    test: bool,
) {
    let mut pending: VecDeque<Vec<Item>> = VecDeque::new();
    let mut items = items;
    while !items.is_empty() {
        let rest = items.split_off(items.len().min(dest.max_batch));
        pending.push_back(items);
        items = rest;
    }
    let mut statements = Vec::new();
    while let Some(mut group) = pending.pop_front() {
        let payloads: Vec<serde_json::Value> = group
            .iter()
            .map(|i| {
                serde_json::from_slice(i.message.body().payload.as_bytes())
                    .unwrap_or(serde_json::Value::Null)
            })
            .collect();
        let verdict = match dest.request_with(payloads, &WorkerSecrets(env), test) {
            Ok(request) => {
                let (status, text) = send(&request, env).await;
                classify(dest, status, &text)
            }
            Err(missing_secret) => Verdict::Retry(missing_secret),
        };
        match verdict {
            Verdict::Delivered => {
                for i in &group {
                    record(&mut statements, db, i, "sent", "accepted", now);
                    i.message.ack();
                }
                console_log!("capi-edge: {} delivered {} events", dest.name, group.len());
            }
            Verdict::Retry(reason) => {
                for i in &group {
                    record(&mut statements, db, i, "retrying", &reason, now);
                    i.message
                        .retry_with_options(&delay(backoff_seconds(i.attempts, base)));
                }
                console_log!(
                    "capi-edge: {} will retry {} events: {reason:?}",
                    dest.name,
                    group.len()
                );
            }
            Verdict::Rejected {
                index: Some(bad),
                message,
            } if bad < group.len() && group.len() > 1 => {
                let item = group.remove(bad);
                record(&mut statements, db, &item, "failed", &message, now);
                item.message.ack();
                pending.push_front(group);
            }
            Verdict::Rejected { message, .. } if group.len() > 1 => {
                console_log!(
                    "capi-edge: {} refused a batch of {} ({message:?}); sending one by one",
                    dest.name,
                    group.len()
                );
                for i in group.into_iter().rev() {
                    pending.push_front(vec![i]);
                }
            }
            Verdict::Rejected { message, .. } => {
                for i in &group {
                    record(&mut statements, db, i, "failed", &message, now);
                    i.message.ack();
                }
                console_log!("capi-edge: {} refused an event: {message:?}", dest.name);
            }
            Verdict::ConfigError(reason) => {
                // A setting no retry can fix: this destination's other groups would get the same answer.
                let failed: Vec<Item> = group
                    .into_iter()
                    .chain(pending.drain(..).flatten())
                    .collect();
                for i in &failed {
                    record(&mut statements, db, i, "failed", &reason, now);
                    i.message.ack();
                }
                console_error!(
                    "capi-edge: {} failed {} events: {reason}",
                    dest.name,
                    failed.len()
                );
            }
        }
    }
    if let (Some(db), false) = (db, statements.is_empty()) {
        if let Err(e) = db.batch(statements).await {
            console_error!("capi-edge: ledger update failed: {e}");
        }
    }
}

fn record(
    statements: &mut Vec<D1PreparedStatement>,
    db: Option<&D1Database>,
    item: &Item,
    status: &str,
    response: &str,
    now: i64,
) {
    let Some(db) = db else { return };
    let response: String = response.chars().take(500).collect();
    match ledger::outcome(db, item.message.body(), status, &response, now) {
        Ok(s) => statements.push(s),
        Err(e) => console_error!("capi-edge: ledger statement failed: {e}"),
    }
}

async fn dead_letters(messages: Vec<Queued>, db: Option<&D1Database>, now: i64) {
    let mut statements = Vec::new();
    for m in &messages {
        let body = m.body();
        // Debug-quoted: an id a page chose can't start a log line of its own (guarded at intake too).
        console_error!(
            "capi-edge: dead letter: {} {:?} {:?}",
            body.destination,
            body.event_name,
            body.event_id
        );
        if let Some(s) = db.and_then(|db| ledger::dead_letter(db, body, now).ok()) {
            statements.push(s);
        }
    }
    if let Some(db) = db {
        if !statements.is_empty() {
            if let Err(e) = db.batch(statements).await {
                console_error!("capi-edge: ledger update failed: {e}");
                messages.iter().for_each(|m| m.retry());
                return;
            }
        }
    }
    messages.iter().for_each(|m| m.ack());
}

/// POSTs the request; `(None, reason)` on a timeout or a network error.
async fn send(request: &OutboundRequest, env: &Env) -> (Option<u16>, String) {
    let url = settings::upstream_url(env, &request.url);
    let headers: Vec<(&str, &str)> = request
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let body = request.body_text();
    match js::fetch(
        "POST",
        &url,
        &headers,
        Some(body.as_bytes()),
        UPSTREAM_TIMEOUT_MS,
    )
    .await
    {
        Ok(answer) => (
            Some(answer.status),
            String::from_utf8_lossy(&answer.body).into_owned(),
        ),
        Err(e) => (
            None,
            format!("no response within {UPSTREAM_TIMEOUT_MS} ms or network error: {e}"),
        ),
    }
}

fn delay(seconds: u32) -> QueueRetryOptions {
    QueueRetryOptionsBuilder::new()
        .with_delay_seconds(seconds)
        .build()
}
