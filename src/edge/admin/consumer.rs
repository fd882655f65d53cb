//! The queue consumer: claims each event in the ledger (dedup), sends per destination in batches, and acts on
//! the platform's answer: ack, retry with backoff, split out a bad event, or record a dead letter.

use super::ledger::{self, Claim};
use crate::delivery::batch::{settle, Outcome, Round, Settle};
use crate::delivery::{
    classify, Action, DeliveryMessage, Verdict, BACKOFF_BASE_S, UPSTREAM_TIMEOUT_MS,
};
use crate::destination::{Destination, OutboundRequest};
use crate::edge::js;
use crate::edge::settings::{self, WorkerSecrets};
use crate::operations::counters::Counters;
use crate::operations::replay::Replayed;
use crate::operations::tally::Tally;
use std::collections::BTreeMap;
use wasm_bindgen::JsValue;
use worker::*;

/// One message on its way, with the attempts the ledger counted so far.
pub(crate) struct Item {
    message: Queued,
    attempts: u32,
    /// A replay's event: the status it had, restored (with the new answer) if the platform still fails.
    restore: Option<String>,
}

impl Item {
    /// A kept event a replay sends again (no queue message behind it).
    pub(crate) fn replay(body: DeliveryMessage, status: String) -> Item {
        Item {
            message: Queued { raw: None, body },
            attempts: 0,
            restore: Some(status),
        }
    }

    fn queued(message: Queued, attempts: u32) -> Item {
        Item {
            message,
            attempts,
            restore: None,
        }
    }

    /// A replay's event and the status it had.
    pub(crate) fn replayed(&self) -> (&DeliveryMessage, &str) {
        (
            self.message.body(),
            self.restore.as_deref().unwrap_or("dead_letter"),
        )
    }

    fn counts_only(&self) -> bool {
        self.message.body().ledger.is_counts()
    }
}

/// A queue message with its body read. Intake sends JSON text (`edge::intake::browser::enqueue`); an object body is what an
/// earlier version queued, and is read too, so an upgrade strands nothing in flight. A replay's event has no
/// queue message: acking and retrying it do nothing.
struct Queued {
    raw: Option<RawMessage>,
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
            Ok(body) => Ok(Queued {
                raw: Some(raw),
                body,
            }),
            Err(e) => Err((raw, e.to_string())),
        }
    }

    fn body(&self) -> &DeliveryMessage {
        &self.body
    }

    fn ack(&self) {
        if let Some(raw) = &self.raw {
            raw.ack()
        }
    }

    fn retry(&self) {
        if let Some(raw) = &self.raw {
            raw.retry()
        }
    }

    fn retry_with_options(&self, options: &QueueRetryOptions) {
        if let Some(raw) = &self.raw {
            raw.retry_with_options(options)
        }
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
    // Sampled hits go to no destination: kept, then acked, whatever happens (a sample is worth no retry).
    let (samples, messages): (Vec<Queued>, Vec<Queued>) = messages
        .into_iter()
        .partition(|m| m.body().action == Action::Sample);
    if !samples.is_empty() {
        if let (Some(db), false) = (db.as_ref(), dead_letter_queue) {
            keep_samples(db, &samples, now).await;
        }
        samples.iter().for_each(Queued::ack);
    }
    // Intake's tallies (hits that fired no tag, values redacted): summed into their hour's counters, then acked.
    let (tallies, messages): (Vec<Queued>, Vec<Queued>) = messages
        .into_iter()
        .partition(|m| m.body().action == Action::Tally);
    if !tallies.is_empty() {
        keep_tallies(db.as_ref(), &tallies, dead_letter_queue).await;
    }
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
            group.into_iter().map(|m| Item::queued(m, 0)).collect()
        } else {
            admit(group, db.as_ref(), base, now).await
        };
        let db = if test { None } else { db.as_ref() };
        send_all(dest, items, env, db, base, now, test).await;
    }
}

/// Adds the tallies of a batch to `intake_counts` in one statement per (kind, name), then acks them; when the
/// write fails they go back to the queue (in the DLQ, where nothing comes after, they are dropped: counts only).
async fn keep_tallies(db: Option<&D1Database>, tallies: &[Queued], dead_letter_queue: bool) {
    let Some(db) = db else {
        tallies.iter().for_each(Queued::ack);
        return;
    };
    let mut sum = Tally::default();
    let mut last_ms = 0;
    for m in tallies {
        sum.merge(Tally::from_payload(m.body().payload.json()));
        last_ms = last_ms.max(m.body().received_ms);
    }
    let hour = (last_ms.max(0) / crate::base::time::HOUR_MS) as f64;
    let statements: Result<Vec<D1PreparedStatement>> = sum
        .rows()
        .into_iter()
        .map(|(kind, name, hits)| {
            db.prepare(crate::operations::tally::ADD_SQL).bind(&[
                hour.into(),
                kind.into(),
                name.into(),
                hits.into(),
                (last_ms as f64).into(),
                crate::operations::tally::MAX_NAMES_PER_HOUR.into(),
                crate::operations::tally::OTHER_NAMES.into(),
            ])
        })
        .collect();
    let written = match statements {
        Ok(s) => run(db, s).await,
        Err(e) => Err(e),
    };
    match written {
        Ok(()) => tallies.iter().for_each(Queued::ack),
        Err(e) if dead_letter_queue => {
            console_error!("capi-edge: {} intake tallies dropped: {e}", tallies.len());
            tallies.iter().for_each(Queued::ack);
        }
        Err(e) => {
            console_error!("capi-edge: intake tallies not counted, retrying: {e}");
            tallies
                .iter()
                .for_each(|m| m.retry_with_options(&delay(60)));
        }
    }
}

/// Writes the sampled hits and trims the table to the newest `KEEP_ROWS` of the last `KEEP_MS`, in one batch.
async fn keep_samples(db: &D1Database, samples: &[Queued], now: i64) {
    let statements: Result<Vec<D1PreparedStatement>> = samples
        .iter()
        .map(|m| ledger::keep_sample(db, m.body()))
        .chain(std::iter::once(ledger::trim_samples(db, now)))
        .collect();
    let written = match statements {
        Ok(s) => run(db, s).await,
        Err(e) => Err(e),
    };
    if let Err(e) = written {
        console_error!("capi-edge: {} sampled hits not kept: {e}", samples.len());
    }
}

/// Claims each event in the ledger, in one round trip. Returns what to send: not the record-only messages,
/// the duplicates (another message owns the event) or the events already final. Events of counts-only tags
/// are not claimed: their records are counted here, and they are sent as they come (the platform removes
/// duplicates by event_id). A record-only message is acked once what it records is written.
async fn admit(messages: Vec<Queued>, db: Option<&D1Database>, base: u32, now: i64) -> Vec<Item> {
    let is_send = |m: &Queued| matches!(m.body().action, Action::Send);
    let (counted, messages): (Vec<Queued>, Vec<Queued>) = messages
        .into_iter()
        .partition(|m| m.body().ledger.is_counts());
    let mut items = Vec::new();
    let mut records = Counters::default();
    let mut recorded = Vec::new();
    for m in counted {
        match &m.body().action {
            Action::Send => items.push(Item::queued(m, 0)),
            Action::Record { status, .. } => {
                records.add(m.body(), status);
                recorded.push(m);
            }
            Action::Sample | Action::Tally => m.ack(),
        }
    }
    let counted = match db {
        Some(db) => run(db, counter_statements(records, db)).await,
        None => Ok(()),
    };
    match counted {
        Ok(()) => recorded.iter().for_each(Queued::ack),
        Err(e) => {
            console_error!(
                "capi-edge: counters not updated, {} records go back to the queue: {e}",
                recorded.len()
            );
            recorded
                .iter()
                .for_each(|m| m.retry_with_options(&delay(base)));
        }
    }
    let Some(db) = db else {
        // Without a ledger there is no dedup; still deliver rather than lose.
        items.extend(
            messages
                .into_iter()
                .filter(is_send)
                .map(|m| Item::queued(m, 0)),
        );
        return items;
    };
    if messages.is_empty() {
        return items;
    }
    let statements: Result<Vec<D1PreparedStatement>> = messages
        .iter()
        .map(|m| {
            let body = m.body();
            match &body.action {
                Action::Send => ledger::claim(db, body, "queued", None, now),
                Action::Record { status, reason } => {
                    ledger::claim(db, body, status, Some(reason.as_str()), now)
                }
                // Taken out before (`batch`): never claimed.
                Action::Sample | Action::Tally => {
                    ledger::claim(db, body, "dropped", Some("not an event"), now)
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
            return items;
        }
    };
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
                items.push(Item::queued(message, attempts))
            }
            Some(_) => message.ack(),
            None if is_send(&message) => items.push(Item::queued(message, 0)),
            None => message.ack(),
        }
    }
    items
}

/// Sends in batches within the destination's limit (`delivery::batch::Round`: a refused batch is split until the
/// bad event is alone), writes every outcome in one ledger batch, and only then acks or retries each message:
/// an ack never comes before its outcome is on disk. Returns how each replayed item ended (queue items answer
/// through their messages).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn send_all(
    dest: &Destination,
    items: Vec<Item>,
    env: &Env,
    db: Option<&D1Database>,
    base: u32,
    now: i64,
    test: bool,
) -> Vec<Replayed> {
    let mut round = Round::new(items.len(), dest.max_batch);
    let mut secrets = WorkerSecrets::new(env);
    match access_token(dest, env, now).await {
        Ok(token) => secrets.access_token = token.map(|t| (dest.name.clone(), t)),
        Err(verdict) => {
            if let Some(batch) = round.next_batch() {
                round.answer(batch, verdict);
            }
            // Every batch gets the same answer: the exchange stands before all of them.
            while let Some(batch) = round.next_batch() {
                round.answer(batch, Verdict::Retry("the token exchange failed".into()));
            }
        }
    }
    while let Some(batch) = round.next_batch() {
        let payloads: Vec<serde_json::Value> = batch
            .iter()
            .map(|&i| {
                serde_json::from_str(items[i].message.body().payload.json())
                    .unwrap_or(serde_json::Value::Null)
            })
            .collect();
        let verdict = match dest.request_with(payloads, &secrets, test) {
            Ok(request) => {
                let (status, text) = send(&request, env).await;
                classify(dest, status, &text)
            }
            Err(missing_secret) => Verdict::Retry(missing_secret),
        };
        if verdict == Verdict::Delivered {
            console_log!("capi-edge: {} delivered {} events", dest.name, batch.len());
        }
        round.answer(batch, verdict);
    }
    for note in std::mem::take(&mut round.notes) {
        console_log!("capi-edge: {}: {note}", dest.name);
    }
    let outcomes = round.outcomes();
    let mut book = Book::new(db, now);
    for (item, outcome) in items.iter().zip(&outcomes) {
        match outcome {
            Outcome::Sent => book.delivered(item),
            Outcome::Retry(reason) => book.retrying(item, reason),
            Outcome::Failed(reason) => book.failed(item, reason),
        }
    }
    let written = book.write().await;
    if let Err(e) = &written {
        console_error!(
            "capi-edge: {}: the ledger did not take the outcomes of {} events; they go back to the queue: {e}",
            dest.name,
            items.len()
        );
    }
    for (item, outcome) in items.iter().zip(&outcomes) {
        match settle(outcome, written.is_ok(), item.attempts, base) {
            Settle::Ack => item.message.ack(),
            Settle::Retry { delay_s } => item.message.retry_with_options(&delay(delay_s)),
        }
    }
    let mut replayed = book.replayed;
    if let Err(e) = written {
        // The rows stay taken by this replay; once the claim is stale, a later replay takes them again.
        for r in &mut replayed {
            r.response = format!(
                "{}; not recorded in the ledger ({e}): a replay after {} minutes sends it again",
                r.response,
                crate::operations::replay::STALE_CLAIM_MS / 60_000
            );
        }
    }
    replayed
}

/// The ledger statements of one round of sending, written in one batch before any message is acked, and the
/// replay results.
/// Events of ledger tags update their row (the counters follow through the triggers); events of counts-only
/// tags add to the counters, and get a row only when they fail (so they can be replayed).
struct Book<'a> {
    db: Option<&'a D1Database>,
    now: i64,
    statements: Vec<D1PreparedStatement>,
    counters: Counters,
    replayed: Vec<Replayed>,
    /// Why a statement could not be built, if one could not.
    unbuilt: Option<String>,
}

impl<'a> Book<'a> {
    fn new(db: Option<&'a D1Database>, now: i64) -> Self {
        Book {
            db,
            now,
            statements: Vec::new(),
            counters: Counters::default(),
            replayed: Vec::new(),
            unbuilt: None,
        }
    }

    /// A statement that could not be built fails the whole write, so no message is acked without its row.
    fn push(&mut self, statement: Result<D1PreparedStatement>) {
        match statement {
            Ok(s) => self.statements.push(s),
            Err(e) => {
                console_error!("capi-edge: ledger statement failed: {e}");
                self.unbuilt.get_or_insert_with(|| e.to_string());
            }
        }
    }

    fn delivered(&mut self, item: &Item) {
        if item.restore.is_some() {
            self.result(item, "sent", "accepted");
        }
        let Some(db) = self.db else { return };
        let body = item.message.body();
        if item.counts_only() && item.restore.is_none() {
            self.counters.add(body, "sent");
        } else {
            self.push(ledger::outcome(db, body, "sent", "accepted", self.now));
        }
        if item.restore.is_some() {
            self.push(ledger::forget_kept(db, body));
        }
    }

    fn retrying(&mut self, item: &Item, reason: &str) {
        let reason = short(reason);
        let body = item.message.body();
        match (&item.restore, self.db) {
            // A replay's event goes back where it was, with the platform's new answer.
            (Some(status), db) => {
                if let Some(db) = db {
                    self.push(ledger::outcome(db, body, status, &reason, self.now));
                }
                let status = status.clone();
                self.result(item, &status, &reason);
            }
            // The queue retries it; a counts-only event has no row to update.
            (None, Some(db)) if !item.counts_only() => {
                self.push(ledger::outcome(db, body, "retrying", &reason, self.now))
            }
            (None, _) => {}
        }
    }

    fn failed(&mut self, item: &Item, reason: &str) {
        let reason = short(reason);
        if item.restore.is_some() {
            self.result(item, "failed", &reason);
        }
        let Some(db) = self.db else { return };
        let body = item.message.body();
        if item.counts_only() && item.restore.is_none() {
            self.push(ledger::record_final(db, body, "failed", &reason, self.now));
        } else {
            self.push(ledger::outcome(db, body, "failed", &reason, self.now));
        }
        // Kept, so that once the cause is fixed (a pixel id, a token) it can be sent again.
        self.push(ledger::keep(db, body, self.now));
    }

    fn result(&mut self, item: &Item, status: &str, response: &str) {
        let body = item.message.body();
        self.replayed.push(Replayed {
            destination: body.destination.clone(),
            event_name: body.event_name.clone(),
            event_id: body.event_id.clone(),
            status: status.to_string(),
            response: response.to_string(),
        });
    }

    /// Writes the round's statements in one batch (one transaction): all of them, or none.
    async fn write(&mut self) -> std::result::Result<(), String> {
        let Some(db) = self.db else { return Ok(()) };
        if let Some(e) = self.unbuilt.take() {
            return Err(e);
        }
        let mut statements = std::mem::take(&mut self.statements);
        statements.extend(counter_statements(std::mem::take(&mut self.counters), db));
        run(db, statements).await.map_err(|e| e.to_string())
    }
}

/// The platform's answer as the ledger keeps it: 500 characters at most.
fn short(response: &str) -> String {
    response.chars().take(500).collect()
}

/// Runs statements in one batch (nothing to do for none).
pub(crate) async fn run(db: &D1Database, statements: Vec<D1PreparedStatement>) -> Result<()> {
    if statements.is_empty() {
        return Ok(());
    }
    db.batch(statements).await.map(|_| ())
}

/// One upsert per counter the batch summed (`counters::Counters`: counts-only events).
fn counter_statements(counters: Counters, db: &D1Database) -> Vec<D1PreparedStatement> {
    counters
        .into_rows()
        .iter()
        .filter_map(|row| match ledger::add_counts(db, row) {
            Ok(s) => Some(s),
            Err(e) => {
                console_error!("capi-edge: counter statement failed: {e}");
                None
            }
        })
        .collect()
}

/// The dead-letter queue's messages: each gets its row, with the last reason, and its outbound event is kept for
/// `capi-edge replay`, in one batch; acked only once written. A record-only message (consent-blocked, dropped)
/// that reached the DLQ because its claim kept failing is written as the record it is.
async fn dead_letters(messages: Vec<Queued>, db: Option<&D1Database>, now: i64) {
    let mut statements: Vec<Result<D1PreparedStatement>> = Vec::new();
    for m in &messages {
        let body = m.body();
        // Debug-quoted: an id a page chose can't start a log line of its own (guarded at intake too).
        console_error!(
            "capi-edge: dead letter: {} {:?} {:?}",
            body.destination,
            body.event_name,
            body.event_id
        );
        let Some(db) = db else { continue };
        match &body.action {
            Action::Record { status, reason } => {
                statements.push(ledger::claim(db, body, status, Some(reason.as_str()), now))
            }
            Action::Send if body.ledger.is_counts() => {
                // No row until now: the last answer is in the consumer's log only.
                statements.push(ledger::record_final(
                    db,
                    body,
                    "dead_letter",
                    ledger::GAVE_UP,
                    now,
                ));
                statements.push(ledger::keep(db, body, now));
            }
            Action::Send => {
                statements.push(ledger::dead_letter(db, body, now));
                statements.push(ledger::keep(db, body, now));
            }
            Action::Sample | Action::Tally => {}
        }
    }
    if let Some(db) = db {
        let written = match statements.into_iter().collect::<Result<Vec<_>>>() {
            Ok(statements) => run(db, statements).await,
            Err(e) => Err(e),
        };
        if let Err(e) = written {
            console_error!("capi-edge: dead letters not recorded, retrying: {e}");
            messages.iter().for_each(|m| m.retry());
            return;
        }
    }
    messages.iter().for_each(|m| m.ack());
}

thread_local! {
    /// Access tokens from token exchanges, by destination: (token, expires at ms). Per isolate; a new isolate
    /// exchanges again. Never logged.
    static ACCESS_TOKENS: std::cell::RefCell<std::collections::HashMap<String, (String, i64)>> =
        Default::default();
}

/// The access token `dest` is sent with, when its kind exchanges one (Google's OAuth refresh): the cached one
/// until a minute before it expires, else a fresh exchange. The verdict for every event when the exchange fails:
/// a refused refresh token is a config error (fix the secret, then replay); anything else is retried.
async fn access_token(
    dest: &Destination,
    env: &Env,
    now: i64,
) -> std::result::Result<Option<String>, Verdict> {
    let exchange = match dest.token_request(&WorkerSecrets::new(env)) {
        Ok(Some(exchange)) => exchange,
        Ok(None) => return Ok(None),
        Err(missing_secret) => return Err(Verdict::Retry(missing_secret)),
    };
    // Keyed by the exchange's secrets too (hashed), so a rotated refresh token is exchanged at once.
    let key = format!(
        "{}\n{}",
        dest.name,
        crate::identity::normalize::sha256_hex(&exchange.form)
    );
    let cached = ACCESS_TOKENS.with(|t| t.borrow().get(&key).cloned());
    if let Some((token, _)) = cached.filter(|(_, expires)| *expires > now + 60_000) {
        return Ok(Some(token));
    }
    let url = settings::upstream_url(env, &exchange.url);
    let headers = [("content-type", "application/x-www-form-urlencoded")];
    let answer = js::fetch(
        "POST",
        &url,
        &headers,
        Some(exchange.form.as_bytes()),
        UPSTREAM_TIMEOUT_MS,
    )
    .await;
    let answer =
        answer.map_err(|e| Verdict::Retry(format!("the token exchange got no answer: {e}")))?;
    let body: serde_json::Value = serde_json::from_slice(&answer.body).unwrap_or_default();
    match dest.kind.platform().read_token(answer.status, &body) {
        Ok((token, lifetime_s)) => {
            ACCESS_TOKENS.with(|t| {
                t.borrow_mut()
                    .insert(key, (token.clone(), now + lifetime_s * 1000));
            });
            Ok(Some(token))
        }
        Err(reason) if matches!(answer.status, 400 | 401 | 403) => {
            Err(Verdict::ConfigError(reason))
        }
        Err(reason) => Err(Verdict::Retry(reason)),
    }
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
        // What is kept of the answer (the ledger, the dashboard) never holds the request's secrets.
        Ok(answer) => (
            Some(answer.status),
            request.scrub(&String::from_utf8_lossy(&answer.body)),
        ),
        Err(e) => (
            None,
            request.scrub(&format!(
                "no response within {UPSTREAM_TIMEOUT_MS} ms or network error: {e}"
            )),
        ),
    }
}

fn delay(seconds: u32) -> QueueRetryOptions {
    QueueRetryOptionsBuilder::new()
        .with_delay_seconds(seconds)
        .build()
}
