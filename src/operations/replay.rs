//! Replay: sending again the events that ended `dead_letter` or `failed`, once the cause is fixed. Pure: what a
//! replay request asks for, which kept events are still inside the platforms' window, and the report. The
//! worker (`edge/admin/replay.rs`) claims the rows, sends through the consumer's own batching, and records outcomes.

use crate::config::operations::REPLAY_WINDOW_MS;
use crate::delivery::DeliveryMessage;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The statuses a replay takes.
pub const REPLAYABLE: [&str; 2] = ["dead_letter", "failed"];
/// The most events one replay call sends; the report says when more are waiting.
pub const MAX_PER_CALL: u32 = 500;
/// Margin inside the 7-day window: an event this close to its end may be too old by the time it arrives.
pub const WINDOW_MARGIN_MS: i64 = 10 * 60 * 1000;
/// A row a replay took but never finished (the worker was stopped mid-way) is free again after this long.
pub const STALE_CLAIM_MS: i64 = 10 * 60 * 1000;

/// A replay request (`POST <prefix>/api/replay`, and `capi-edge replay`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayRequest {
    /// Only this destination's events.
    #[serde(default)]
    pub destination: Option<String>,
    /// `dead_letter`, `failed`, or both (the default).
    #[serde(default)]
    pub status: Option<String>,
    /// Only events received at or after this time (ISO 8601 or unix time).
    #[serde(default)]
    pub since: Option<Value>,
    /// List what would be sent; send nothing, change nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// At most this many events (default and maximum 500).
    #[serde(default)]
    pub limit: Option<u32>,
}

/// A checked replay request.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    pub destination: Option<String>,
    pub statuses: Vec<&'static str>,
    pub since_ms: i64,
    pub dry_run: bool,
    pub limit: u32,
}

impl ReplayRequest {
    /// Reads and checks a request body (an empty body replays everything replayable).
    pub fn parse(body: &[u8], now_ms: i64) -> Result<Selection, String> {
        let request: ReplayRequest = if body.iter().all(u8::is_ascii_whitespace) {
            ReplayRequest::default()
        } else {
            serde_json::from_slice(body)
                .map_err(|e| format!("the replay request is not valid: {e}"))?
        };
        request.check(now_ms)
    }

    fn check(self, now_ms: i64) -> Result<Selection, String> {
        let statuses: Vec<&'static str> = match self.status.as_deref() {
            None | Some("all") => REPLAYABLE.to_vec(),
            Some(s) => match REPLAYABLE.iter().find(|r| **r == s) {
                Some(r) => vec![*r],
                None => {
                    return Err(format!(
                        "status must be dead_letter, failed or all, not {s:?}"
                    ))
                }
            },
        };
        if let Some(d) = &self.destination {
            if !crate::base::guard::safe_id(d, 128) {
                return Err("destination must be a destination's name".into());
            }
        }
        let oldest = now_ms - REPLAY_WINDOW_MS;
        let since_ms = match &self.since {
            None => oldest,
            Some(v) => crate::base::time::parse_ms(v)
                .ok_or("since must be a time: ISO 8601 (2026-11-27T10:00:00Z) or unix seconds")?,
        };
        let limit = self.limit.unwrap_or(MAX_PER_CALL);
        if limit == 0 || limit > MAX_PER_CALL {
            return Err(format!("limit must be from 1 to {MAX_PER_CALL}"));
        }
        Ok(Selection {
            destination: self.destination,
            statuses,
            // Anything older than the window is reported, not sent: look a day further back to find it.
            since_ms: since_ms.max(oldest - crate::base::time::DAY_MS),
            dry_run: self.dry_run,
            limit,
        })
    }
}

/// A kept event as the worker reads it (`ledger` joined with `kept_events`).
#[derive(Debug, Clone, Deserialize)]
pub struct Candidate {
    pub destination: String,
    pub event_name: String,
    pub event_id: String,
    pub status: String,
    pub received_ms: f64,
    pub message: String,
}

/// What a replay will do with each candidate.
#[derive(Debug, Default)]
pub struct Plan {
    /// Inside the window: sent again (their status before, to restore if the platform still fails).
    pub send: Vec<(DeliveryMessage, String)>,
    /// Past the window: reported, not sent, left as they are.
    pub too_old: Vec<Value>,
    /// A kept event that no longer reads (written by a future version, or damaged): reported, left as is.
    pub unreadable: Vec<Value>,
}

/// The event's own time: the payload's (`event_time` in seconds, or `timestamp_ms`), else when it came in.
pub fn event_time_ms(message: &DeliveryMessage) -> i64 {
    let payload: Value = serde_json::from_str(message.payload.json()).unwrap_or(Value::Null);
    payload
        .get("timestamp_ms")
        .and_then(Value::as_i64)
        .or_else(|| {
            payload
                .get("event_time")
                .and_then(Value::as_i64)
                .map(|s| s * 1000)
        })
        .unwrap_or(message.received_ms)
}

/// Sorts candidates into sent, too old and unreadable.
pub fn plan(candidates: Vec<Candidate>, now_ms: i64) -> Plan {
    let mut plan = Plan::default();
    for c in candidates {
        let key = json!({"destination": c.destination, "event_name": c.event_name, "event_id": c.event_id,
                         "status": c.status});
        match serde_json::from_str::<DeliveryMessage>(&c.message) {
            Ok(message) => {
                let at = event_time_ms(&message);
                if now_ms - at > REPLAY_WINDOW_MS - WINDOW_MARGIN_MS {
                    let mut entry = key;
                    entry["event_time_ms"] = at.into();
                    entry["reason"] = "older than the platforms' 7-day window: not sent".into();
                    plan.too_old.push(entry);
                } else {
                    plan.send.push((message, c.status));
                }
            }
            Err(e) => {
                let mut entry = key;
                entry["reason"] = format!("the kept event does not read: {e}").into();
                plan.unreadable.push(entry);
            }
        }
    }
    plan
}

/// How one replayed event ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Replayed {
    pub destination: String,
    pub event_name: String,
    pub event_id: String,
    /// `sent`, or the status it was left in (its old one) with the platform's new answer.
    pub status: String,
    pub response: String,
}

/// The replay's report, for the CLI and the dashboard.
pub fn report(
    selection: &Selection,
    plan: &Plan,
    results: &[Replayed],
    taken_elsewhere: usize,
    more: bool,
) -> Value {
    let sent = results.iter().filter(|r| r.status == "sent").count();
    let would_send: Vec<Value> = if selection.dry_run {
        plan.send
            .iter()
            .map(|(m, status)| {
                json!({"destination": m.destination, "event_name": m.event_name,
                                      "event_id": m.event_id, "status": status})
            })
            .collect()
    } else {
        Vec::new()
    };
    json!({
        "dry_run": selection.dry_run,
        "selected": plan.send.len() + plan.too_old.len() + plan.unreadable.len(),
        "would_send": would_send,
        "sent": sent,
        "still_failing": results.iter().filter(|r| r.status != "sent").collect::<Vec<_>>(),
        "too_old": plan.too_old,
        "unreadable": plan.unreadable,
        "taken_by_another_replay": taken_elsewhere,
        "more": more,
    })
}

/// The report in words, for `capi-edge replay`; and whether nothing still fails.
pub fn report_text(r: &Value) -> (String, bool) {
    let list = |key: &str| r[key].as_array().cloned().unwrap_or_default();
    let line = |e: &Value, extra: &str| {
        format!(
            "  {} {} {}{extra}",
            e["destination"].as_str().unwrap_or("?"),
            e["event_name"].as_str().unwrap_or("?"),
            e["event_id"].as_str().unwrap_or("?")
        )
    };
    let mut out = Vec::new();
    let (failing, too_old, unreadable) =
        (list("still_failing"), list("too_old"), list("unreadable"));
    if r["dry_run"] == true {
        let would = list("would_send");
        out.push(format!(
            "dry run: {} would be sent, {} too old (not sent), {} unreadable",
            would.len(),
            too_old.len(),
            unreadable.len()
        ));
        out.extend(
            would
                .iter()
                .map(|e| line(e, &format!(" ({})", e["status"].as_str().unwrap_or("")))),
        );
    } else {
        out.push(format!(
            "replay: {} sent, {} still failing, {} too old (not sent), {} unreadable, {} taken by another replay",
            r["sent"].as_u64().unwrap_or(0),
            failing.len(),
            too_old.len(),
            unreadable.len(),
            r["taken_by_another_replay"].as_u64().unwrap_or(0)
        ));
        out.extend(failing.iter().map(|e| {
            line(
                e,
                &format!(
                    ": still {}: {}",
                    e["status"].as_str().unwrap_or(""),
                    e["response"].as_str().unwrap_or("")
                ),
            )
        }));
    }
    out.extend(
        too_old
            .iter()
            .map(|e| line(e, ": older than the platforms' 7-day window, not sent")),
    );
    out.extend(
        unreadable
            .iter()
            .map(|e| line(e, &format!(": {}", e["reason"].as_str().unwrap_or("")))),
    );
    if r["more"] == true {
        out.push(format!(
            "more are waiting: run it again (at most {MAX_PER_CALL} per call)"
        ));
    }
    (out.join("\n"), failing.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::Action;

    const NOW: i64 = 1_800_000_000_000;

    fn message(id: &str, payload: Value, received_ms: i64) -> DeliveryMessage {
        DeliveryMessage {
            destination: "meta".into(),
            event_name: "Purchase".into(),
            event_id: id.into(),
            tag: "purchase".into(),
            source: "browser".into(),
            received_ms,
            payload: crate::delivery::Payload::new(&payload),
            match_quality: 7.0,
            value: Some(10.0),
            currency: Some("EUR".into()),
            action: Action::Send,
            intake_id: "i".into(),
            missing: String::new(),
            test: false,
            ledger: Default::default(),
        }
    }

    fn candidate(m: &DeliveryMessage) -> Candidate {
        Candidate {
            destination: m.destination.clone(),
            event_name: m.event_name.clone(),
            event_id: m.event_id.clone(),
            status: "dead_letter".into(),
            received_ms: m.received_ms as f64,
            message: serde_json::to_string(m).unwrap(),
        }
    }

    #[test]
    fn the_window_is_the_events_own_time_not_when_it_was_kept() {
        let day = crate::base::time::DAY_MS;
        // Received yesterday, but the order it reports is 8 days old (a late webhook): too old.
        let old_order = message(
            "A",
            json!({"event_time": (NOW - 8 * day) / 1000}),
            NOW - day,
        );
        let fresh = message("B", json!({"timestamp_ms": NOW - 2 * day}), NOW - 2 * day);
        // No time in the payload (a GA4 forward): when it came in.
        let forward = message("C", json!({}), NOW - 6 * day);
        let at_the_edge = message(
            "D",
            json!({"event_time": (NOW - 7 * day + 60_000) / 1000}),
            NOW,
        );
        let plan = plan(
            [&old_order, &fresh, &forward, &at_the_edge]
                .into_iter()
                .map(candidate)
                .collect(),
            NOW,
        );
        let sent: Vec<&str> = plan.send.iter().map(|(m, _)| m.event_id.as_str()).collect();
        assert_eq!(sent, ["B", "C"]);
        let old: Vec<&str> = plan
            .too_old
            .iter()
            .filter_map(|v| v["event_id"].as_str())
            .collect();
        assert_eq!(
            old,
            ["A", "D"],
            "within the margin of the window's end counts as too old"
        );
        assert_eq!(plan.send[0].1, "dead_letter", "the status to restore");
    }

    #[test]
    fn a_kept_event_that_does_not_read_is_reported_not_dropped() {
        let bad = Candidate {
            destination: "meta".into(),
            event_name: "Purchase".into(),
            event_id: "X".into(),
            status: "failed".into(),
            received_ms: NOW as f64,
            message: "{\"not\":\"a message\"}".into(),
        };
        let plan = plan(vec![bad], NOW);
        assert!(plan.send.is_empty());
        assert_eq!(plan.unreadable[0]["event_id"], "X");
    }

    #[test]
    fn requests_are_checked() {
        let s = ReplayRequest::parse(b"", NOW).unwrap();
        assert_eq!(s.statuses, ["dead_letter", "failed"]);
        assert!(!s.dry_run);
        assert_eq!(s.limit, MAX_PER_CALL);
        let s = ReplayRequest::parse(
            br#"{"destination":"meta","status":"failed","dry_run":true,"since":"2027-01-14T00:00:00Z"}"#,
            NOW,
        )
        .unwrap();
        assert_eq!(
            (s.destination.as_deref(), s.statuses, s.dry_run),
            (Some("meta"), vec!["failed"], true)
        );
        assert_eq!(
            s.since_ms,
            crate::base::time::parse_ms(&json!("2027-01-14T00:00:00Z")).unwrap()
        );
        for bad in [
            &br#"{"status":"sent"}"#[..],
            br#"{"destination":"a\r\nb"}"#,
            br#"{"since":"yesterday"}"#,
            br#"{"limit":0}"#,
            br#"{"limit":100000}"#,
            br#"{"everything":true}"#,
            b"not json",
        ] {
            assert!(
                ReplayRequest::parse(bad, NOW).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn the_report_in_words() {
        let r = json!({"dry_run": false, "sent": 2, "taken_by_another_replay": 0, "more": true, "unreadable": [],
            "still_failing": [{"destination": "meta", "event_name": "Purchase", "event_id": "9", "status": "dead_letter",
                               "response": "HTTP 503: down"}],
            "too_old": [{"destination": "meta", "event_name": "Purchase", "event_id": "1"}]});
        let (text, clean) = report_text(&r);
        assert!(!clean);
        assert_eq!(
            text,
            "replay: 2 sent, 1 still failing, 1 too old (not sent), 0 unreadable, 0 taken by another replay\n  \
             meta Purchase 9: still dead_letter: HTTP 503: down\n  \
             meta Purchase 1: older than the platforms' 7-day window, not sent\n\
             more are waiting: run it again (at most 500 per call)"
        );
    }

    #[test]
    fn a_dry_run_lists_what_it_would_send() {
        let m = message("B", json!({"timestamp_ms": NOW}), NOW);
        let selection = ReplayRequest::parse(br#"{"dry_run":true}"#, NOW).unwrap();
        let plan = plan(vec![candidate(&m)], NOW);
        let r = report(&selection, &plan, &[], 0, false);
        assert_eq!(r["would_send"][0]["event_id"], "B");
        assert_eq!(r["sent"], 0);
        assert_eq!(r["selected"], 1);
    }
}
