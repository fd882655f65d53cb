//! The events dashboard's numbers, from ledger rows: per destination and event, the status (active / inactive /
//! warning), counts by outcome, match quality (average, distribution, what is most often missing), the dedup
//! rate, the browser / server / webhook breakdown, and the last failures. Pure; the worker reads the rows.

use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// A ledger row as the dashboard reads it (`SELECT … FROM ledger`).
#[derive(Debug, Clone, Deserialize)]
pub struct LedgerRow {
    pub destination: String,
    pub event_name: String,
    pub event_id: String,
    pub source: String,
    #[serde(default)]
    pub sources: i64,
    pub status: String,
    #[serde(default)]
    pub duplicates: i64,
    pub match_quality: Option<f64>,
    pub missing: Option<String>,
    pub received_ms: f64,
    pub updated_ms: f64,
    pub response: Option<String>,
    #[serde(default)]
    pub value: Option<f64>,
    #[serde(default)]
    pub currency: Option<String>,
}

/// An event type with no event for this long is inactive.
pub const INACTIVE_AFTER_MS: f64 = 24.0 * 3600.0 * 1000.0;
/// Over this share of failed or dead-lettered events, an event type is in warning.
pub const WARNING_ERROR_RATE: f64 = 0.10;

/// A count as JSON: a whole number (D1 sums come back as floats).
fn whole(n: f64) -> Value {
    json!(n.round() as i64)
}

/// The counters of one (destination, event, status, source) over the window, as the worker's query sums them
/// from `ledger_counts` (migrations/0003_operations.sql).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CountRow {
    pub destination: String,
    pub event_name: String,
    pub status: String,
    pub source: String,
    pub events: f64,
    pub duplicates: f64,
    pub from_server: f64,
    pub seen_in_both: f64,
    pub scored: f64,
    pub quality_sum: f64,
    pub q0: f64,
    pub q2: f64,
    pub q4: f64,
    pub q6: f64,
    pub q8: f64,
    pub miss_em: f64,
    pub miss_ph: f64,
    pub miss_external_id: f64,
    pub miss_click_id: f64,
    pub miss_client_ip_address: f64,
    pub miss_client_user_agent: f64,
    pub last_ms: f64,
}

impl CountRow {
    fn missing(&self) -> [(&'static str, f64); 6] {
        [
            ("em", self.miss_em),
            ("ph", self.miss_ph),
            ("external_id", self.miss_external_id),
            ("click_id", self.miss_click_id),
            ("client_ip_address", self.miss_client_ip_address),
            ("client_user_agent", self.miss_client_user_agent),
        ]
    }
}

/// One of the latest failures (`SELECT … FROM ledger WHERE status IN ('failed', 'dead_letter')`).
#[derive(Debug, Clone, Deserialize)]
pub struct FailureRow {
    pub destination: String,
    pub event_name: String,
    pub event_id: String,
    pub status: String,
    pub updated_ms: f64,
    pub response: Option<String>,
}

/// Events per day per destination (`hour / 24`), split into sent and the rest, for the trend plot.
#[derive(Debug, Clone, Deserialize)]
pub struct TrendRow {
    pub day: f64,
    pub destination: String,
    pub sent: f64,
    pub events: f64,
}

/// The SQL that sums the counters for `stats`: bind the first hour of the window.
pub const COUNTS_SQL: &str = "SELECT destination, event_name, status, source, sum(events) AS events, \
     sum(duplicates) AS duplicates, sum(from_server) AS from_server, sum(seen_in_both) AS seen_in_both, \
     sum(scored) AS scored, sum(quality_sum) AS quality_sum, sum(q0) AS q0, sum(q2) AS q2, sum(q4) AS q4, \
     sum(q6) AS q6, sum(q8) AS q8, sum(miss_em) AS miss_em, sum(miss_ph) AS miss_ph, \
     sum(miss_external_id) AS miss_external_id, sum(miss_click_id) AS miss_click_id, \
     sum(miss_client_ip_address) AS miss_client_ip_address, sum(miss_client_user_agent) AS miss_client_user_agent, \
     max(CASE WHEN events > 0 THEN last_ms ELSE 0 END) AS last_ms \
     FROM ledger_counts WHERE hour >= ?1 GROUP BY destination, event_name, status, source";

/// The SQL of the trend plot: bind the first hour of the window.
pub const TREND_SQL: &str = "SELECT hour / 24 AS day, destination, \
     sum(CASE WHEN status = 'sent' THEN events ELSE 0 END) AS sent, sum(events) AS events \
     FROM ledger_counts WHERE hour >= ?1 GROUP BY day, destination ORDER BY day, destination";

/// The SQL of the latest failures: bind the window's start (ms). A failure is as recent as its last attempt.
/// One newest-first read of the (status, updated_ms) index per status, merged: `status IN (…) ORDER BY` would
/// instead sort every failure in the ledger (53 ms at 21,000 failures in a 1,000,000-row ledger, 3 ms this way).
pub const FAILURES_SQL: &str = "SELECT * FROM (SELECT destination, event_name, event_id, status, updated_ms, response \
     FROM ledger WHERE status = 'failed' AND received_ms >= ?1 ORDER BY updated_ms DESC LIMIT 200) \
     UNION ALL SELECT * FROM (SELECT destination, event_name, event_id, status, updated_ms, response \
     FROM ledger WHERE status = 'dead_letter' AND received_ms >= ?1 ORDER BY updated_ms DESC LIMIT 200) \
     ORDER BY updated_ms DESC LIMIT 200";

pub const HOUR_MS: f64 = 3600.0 * 1000.0;

/// The first counter hour a window starting at `since_ms` reads. Where the window starts in a day whose counters
/// are folded into its first hour (`counters::fold_before_hour`), the whole day is read: a folded day is counted
/// whole or not at all, and a window that cut it would drop it.
pub fn first_hour(since_ms: f64, now_ms: f64) -> f64 {
    let hour = (since_ms / HOUR_MS).floor();
    if hour < crate::operations::counters::fold_before_hour(now_ms as i64) as f64 {
        hour - hour.rem_euclid(24.0)
    } else {
        hour
    }
}

/// The dashboard's JSON for the window, from the summed counters: its cost does not grow with the ledger.
pub fn stats(
    counts: &[CountRow],
    failures: &[FailureRow],
    trend: &[TrendRow],
    now_ms: f64,
    window_ms: f64,
) -> Value {
    let mut groups: BTreeMap<(&str, &str), Vec<&CountRow>> = BTreeMap::new();
    for r in counts.iter().filter(|r| r.events > 0.0) {
        groups
            .entry((r.destination.as_str(), r.event_name.as_str()))
            .or_default()
            .push(r);
    }
    let events: Vec<Value> = groups
        .into_iter()
        .map(|((destination, event_name), rows)| {
            let sum = |f: &dyn Fn(&CountRow) -> f64| rows.iter().map(|r| f(r)).sum::<f64>();
            let count = |status: &[&str]| sum(&|r| if status.contains(&r.status.as_str()) { r.events } else { 0.0 });
            let (sent, failed) = (count(&["sent"]), count(&["failed", "dead_letter"]));
            let error_rate = if sent + failed == 0.0 { 0.0 } else { failed / (sent + failed) };
            let last = rows.iter().map(|r| r.last_ms).fold(0.0, f64::max);
            let status = if now_ms - last > INACTIVE_AFTER_MS {
                "inactive"
            } else if error_rate > WARNING_ERROR_RATE {
                "warning"
            } else {
                "active"
            };
            let scored = sum(&|r| r.scored);
            let mut missing: Vec<(&str, f64)> = Vec::new();
            for r in &rows {
                for (code, n) in r.missing() {
                    match missing.iter_mut().find(|(c, _)| *c == code) {
                        Some(entry) => entry.1 += n,
                        None => missing.push((code, n)),
                    }
                }
            }
            missing.retain(|(_, n)| *n > 0.0);
            missing.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
            let from_server = sum(&|r| r.from_server);
            let by_source = |source: &str| sum(&|r| if r.source == source { r.events } else { 0.0 });
            let last_failures: Vec<Value> = failures
                .iter()
                .filter(|f| f.destination == destination && f.event_name == event_name)
                .take(5)
                .map(|f| json!({"event_id": f.event_id, "status": f.status, "at_ms": f.updated_ms, "response": f.response}))
                .collect();
            json!({
                "destination": destination,
                "event_name": event_name,
                "status": status,
                "last_event_ms": last,
                "counts": {
                    "received": whole(sum(&|r| r.events)),
                    "sent": whole(sent),
                    "failed": whole(count(&["failed"])),
                    "dead_letter": whole(count(&["dead_letter"])),
                    "retrying": whole(count(&["queued", "retrying", "replaying"])),
                    "consent_blocked": whole(count(&["consent_blocked"])),
                    "dropped": whole(count(&["dropped"])),
                    "deduplicated": whole(sum(&|r| r.duplicates)),
                },
                "error_rate": error_rate,
                "match_quality": {
                    "average": if scored == 0.0 { Value::Null } else { json!((sum(&|r| r.quality_sum) / scored * 10.0).round() / 10.0) },
                    "histogram": {"0-2": whole(sum(&|r| r.q0)), "2-4": whole(sum(&|r| r.q2)), "4-6": whole(sum(&|r| r.q4)), "6-8": whole(sum(&|r| r.q6)), "8-10": whole(sum(&|r| r.q8))},
                    "most_often_missing": missing.iter().take(4).map(|(k, n)| json!({"identifier": k, "events": whole(*n)})).collect::<Vec<_>>(),
                },
                "dedup_rate": if from_server == 0.0 { Value::Null } else { json!(sum(&|r| r.seen_in_both) / from_server) },
                "breakdown": {
                    "browser": whole(by_source("browser")),
                    "server": whole(by_source("server")),
                    "webhook": whole(by_source("webhook")),
                },
                "last_failures": last_failures,
            })
        })
        .collect();
    let trend: Vec<Value> = trend
        .iter()
        .map(|t| json!({"day_ms": t.day * 24.0 * HOUR_MS, "destination": t.destination, "sent": whole(t.sent), "events": whole(t.events)}))
        .collect();
    json!({"now_ms": now_ms, "window_ms": window_ms, "events": events, "trend": trend})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_reads_a_folded_day_whole_and_recent_hours_as_they_are() {
        let now = 1_790_000_000_000.0;
        let thirty_days_ago = now - 30.0 * 24.0 * HOUR_MS;
        let hour = (thirty_days_ago / HOUR_MS).floor();
        assert_ne!(hour.rem_euclid(24.0), 0.0, "the example starts mid-day");
        let first = first_hour(thirty_days_ago, now);
        assert_eq!(first.rem_euclid(24.0), 0.0);
        assert!(first <= hour && hour - first < 24.0);
        let two_hours_ago = now - 2.0 * HOUR_MS;
        assert_eq!(
            first_hour(two_hours_ago, now),
            (two_hours_ago / HOUR_MS).floor()
        );
    }

    fn counts(dest: &str, name: &str, status: &str, source: &str, events: f64) -> CountRow {
        CountRow {
            destination: dest.into(),
            event_name: name.into(),
            status: status.into(),
            source: source.into(),
            events,
            ..CountRow::default()
        }
    }

    #[test]
    fn counts_rates_and_statuses_per_destination_and_event() {
        let hour = HOUR_MS;
        let now = 100.0 * hour;
        let sent_browser = CountRow {
            duplicates: 1.0,
            from_server: 1.0,
            seen_in_both: 1.0,
            scored: 1.0,
            quality_sum: 9.0,
            q8: 1.0,
            miss_ph: 1.0,
            last_ms: now - hour,
            ..counts("openai", "order_created", "sent", "browser", 1.0)
        };
        let sent_webhook = CountRow {
            from_server: 1.0,
            scored: 1.0,
            quality_sum: 7.0,
            q6: 1.0,
            miss_ph: 1.0,
            miss_click_id: 1.0,
            last_ms: now - hour,
            ..counts("openai", "order_created", "sent", "webhook", 1.0)
        };
        let failed_server = CountRow {
            from_server: 1.0,
            scored: 1.0,
            quality_sum: 3.0,
            q2: 1.0,
            miss_em: 1.0,
            miss_ph: 1.0,
            last_ms: now - 2.0 * hour,
            ..counts("openai", "order_created", "failed", "server", 1.0)
        };
        let blocked = CountRow {
            last_ms: now - hour,
            ..counts("openai", "order_created", "consent_blocked", "browser", 1.0)
        };
        // A counter an update emptied (the event moved on to another status) counts for nothing.
        let emptied = CountRow {
            last_ms: now,
            ..counts("openai", "order_created", "queued", "browser", 0.0)
        };
        let lead = CountRow {
            scored: 1.0,
            quality_sum: 5.0,
            last_ms: now - 30.0 * hour,
            ..counts("openai", "lead_created", "sent", "browser", 1.0)
        };
        let rows = [
            sent_browser,
            sent_webhook,
            failed_server,
            blocked,
            emptied,
            lead,
        ];
        let failures = [FailureRow {
            destination: "openai".into(),
            event_name: "order_created".into(),
            event_id: "3".into(),
            status: "failed".into(),
            updated_ms: now,
            response: Some("HTTP 400: bad 3".into()),
        }];
        let trend = [TrendRow {
            day: 4.0,
            destination: "openai".into(),
            sent: 3.0,
            events: 5.0,
        }];
        let s = stats(&rows, &failures, &trend, now, 7.0 * 24.0 * hour);
        let lead = &s["events"][0];
        assert_eq!(
            (lead["event_name"].as_str(), lead["status"].as_str()),
            (Some("lead_created"), Some("inactive"))
        );
        assert!(lead["last_failures"].as_array().unwrap().is_empty());
        let orders = &s["events"][1];
        assert_eq!(orders["status"], "warning", "1 failed of 3 is over 10%");
        assert_eq!(
            orders["counts"],
            json!({"received": 4, "sent": 2, "failed": 1, "dead_letter": 0, "retrying": 0, "consent_blocked": 1, "dropped": 0, "deduplicated": 1})
        );
        assert_eq!(
            orders["last_event_ms"],
            json!(now - hour),
            "the emptied counter's time is not the last event"
        );
        assert_eq!(orders["match_quality"]["average"], 6.3);
        assert_eq!(
            orders["match_quality"]["histogram"],
            json!({"0-2": 0, "2-4": 1, "4-6": 0, "6-8": 1, "8-10": 1})
        );
        assert_eq!(
            orders["match_quality"]["most_often_missing"],
            json!([{"identifier": "ph", "events": 3}, {"identifier": "click_id", "events": 1}, {"identifier": "em", "events": 1}])
        );
        assert_eq!(
            orders["dedup_rate"],
            json!(1.0 / 3.0),
            "of 3 server/webhook events, 1 was also seen from the browser"
        );
        assert_eq!(
            orders["breakdown"],
            json!({"browser": 2, "server": 1, "webhook": 1})
        );
        assert_eq!(orders["last_failures"][0]["response"], "HTTP 400: bad 3");
        assert_eq!(
            s["trend"][0],
            json!({"day_ms": 4.0 * 24.0 * hour, "destination": "openai", "sent": 3, "events": 5})
        );
    }
}
