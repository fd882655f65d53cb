//! The events dashboard's numbers, from ledger rows: per destination and event, the status (active / inactive /
//! warning), counts by outcome, match quality (average, distribution, what is most often missing), the dedup
//! rate, the browser / server / webhook breakdown, and the last failures; per destination, the status a person
//! reads first (healthy / warning / failing, with why) and the last 24 hours by hour. Pure; the worker reads the
//! rows.

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

/// Events per day per destination (`hour / 24`): sent, failed (with dead letters), blocked by consent, and all.
#[derive(Debug, Clone, Deserialize)]
pub struct TrendRow {
    pub day: f64,
    pub destination: String,
    pub sent: f64,
    #[serde(default)]
    pub failed: f64,
    #[serde(default)]
    pub blocked: f64,
    pub events: f64,
}

/// The same per hour, for the last 24 hours (`HOURLY_SQL`).
#[derive(Debug, Clone, Deserialize)]
pub struct HourRow {
    pub hour: f64,
    pub destination: String,
    pub sent: f64,
    pub failed: f64,
    pub blocked: f64,
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

/// The SQL of the daily bars: bind the first hour of the window.
pub const TREND_SQL: &str = "SELECT hour / 24 AS day, destination, \
     sum(CASE WHEN status = 'sent' THEN events ELSE 0 END) AS sent, \
     sum(CASE WHEN status IN ('failed', 'dead_letter') THEN events ELSE 0 END) AS failed, \
     sum(CASE WHEN status = 'consent_blocked' THEN events ELSE 0 END) AS blocked, sum(events) AS events \
     FROM ledger_counts WHERE hour >= ?1 GROUP BY day, destination ORDER BY day, destination";

/// The SQL of the hourly bars: bind `day_first_hour(now)`. The last 24 hours are never folded by day (that
/// happens after 9 days), so each row is one hour.
pub const HOURLY_SQL: &str = "SELECT hour, destination, \
     sum(CASE WHEN status = 'sent' THEN events ELSE 0 END) AS sent, \
     sum(CASE WHEN status IN ('failed', 'dead_letter') THEN events ELSE 0 END) AS failed, \
     sum(CASE WHEN status = 'consent_blocked' THEN events ELSE 0 END) AS blocked, sum(events) AS events \
     FROM ledger_counts WHERE hour >= ?1 GROUP BY hour, destination ORDER BY hour, destination";

/// The first counter hour of the last 24 hours: the current hour and the 23 before it.
pub fn day_first_hour(now_ms: f64) -> f64 {
    (now_ms / HOUR_MS).floor() - 23.0
}

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
    hourly: &[HourRow],
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
        .map(|t| json!({"day_ms": t.day * 24.0 * HOUR_MS, "destination": t.destination, "sent": whole(t.sent),
                        "failed": whole(t.failed), "blocked": whole(t.blocked), "events": whole(t.events)}))
        .collect();
    let hourly_json: Vec<Value> = hourly
        .iter()
        .map(|h| json!({"hour_ms": h.hour * HOUR_MS, "destination": h.destination, "sent": whole(h.sent),
                        "failed": whole(h.failed), "blocked": whole(h.blocked), "events": whole(h.events)}))
        .collect();
    json!({"now_ms": now_ms, "window_ms": window_ms, "events": events, "trend": trend, "hourly": hourly_json})
}

/// Over this share of failed events in the last 24 hours (and at least as many failed as sent), a destination
/// is failing; over `WARNING_ERROR_RATE`, in warning.
pub const FAILING_ERROR_RATE: f64 = 0.5;

/// Per destination, what the dashboard's first screen says: `healthy`, `warning` or `failing` with the reason
/// in words, the last event, and sent / failed / blocked in the last 24 hours. `events` are `stats`' cards,
/// `incidents` the open alerts (`{destination, summary}`), `configured` the destinations of the config in force
/// (one with no event at all is listed too). Sorted by name, as the cards are.
pub fn destinations(
    events: &[Value],
    hourly: &[HourRow],
    incidents: &[Value],
    configured: &[&str],
    now_ms: f64,
) -> Value {
    let mut names: Vec<&str> = configured.to_vec();
    names.extend(events.iter().filter_map(|e| e["destination"].as_str()));
    names.extend(hourly.iter().map(|h| h.destination.as_str()));
    names.extend(incidents.iter().filter_map(|i| i["destination"].as_str()));
    names.sort_unstable();
    names.dedup();
    let list: Vec<Value> = names
        .into_iter()
        .map(|name| {
            let rows: Vec<&HourRow> = hourly.iter().filter(|h| h.destination == name).collect();
            let sum = |f: fn(&HourRow) -> f64| rows.iter().map(|r| f(r)).sum::<f64>();
            let (sent, failed, blocked, all) = (
                sum(|r| r.sent),
                sum(|r| r.failed),
                sum(|r| r.blocked),
                sum(|r| r.events),
            );
            let last = events
                .iter()
                .filter(|e| e["destination"] == name)
                .filter_map(|e| e["last_event_ms"].as_f64())
                .filter(|ms| *ms > 0.0)
                .fold(None, |m: Option<f64>, ms| Some(m.map_or(ms, |m| m.max(ms))));
            let alerts: Vec<&str> = incidents
                .iter()
                .filter(|i| i["destination"] == name)
                .filter_map(|i| i["summary"].as_str())
                .collect();
            let ended = sent + failed;
            let share = if ended == 0.0 { 0.0 } else { failed / ended };
            let percent = (share * 100.0).round();
            let (status, reason) = if let Some(first) = alerts.first() {
                ("failing", format!("open alert: {}", first.lines().next().unwrap_or_default()))
            } else if failed > 0.0 && share > FAILING_ERROR_RATE {
                ("failing", format!("{} of {} events failed in the last 24 h ({percent}%)", whole(failed), whole(ended)))
            } else if last.is_none() {
                ("warning", "no event yet in this window".to_string())
            } else if last.is_some_and(|l| now_ms - l > INACTIVE_AFTER_MS) {
                ("warning", "no event in the last 24 h".to_string())
            } else if share > WARNING_ERROR_RATE {
                ("warning", format!("{} of {} events failed in the last 24 h ({percent}%)", whole(failed), whole(ended)))
            } else {
                ("healthy", String::new())
            };
            json!({
                "destination": name,
                "status": status,
                "reason": reason,
                "last_event_ms": last,
                "day": {"sent": whole(sent), "failed": whole(failed), "blocked": whole(blocked), "events": whole(all)},
                "alerts": alerts,
            })
        })
        .collect();
    Value::Array(list)
}

/// Names each card's conversion in the tags' words (`conversion`: `Purchase` for OpenAI's `order_created` and
/// Pinterest's `checkout`), so one conversion reads the same on every platform's card; a name no tag or standard
/// event gives (or two give) keeps the platform's own.
pub fn name_conversions(stats: &mut Value, config: &crate::config::Config) {
    let tag_events: Vec<&str> = config.tags.iter().map(|t| t.event.as_str()).collect();
    let Some(cards) = stats.get_mut("events").and_then(Value::as_array_mut) else {
        return;
    };
    for card in cards {
        let (Some(dest), Some(event)) = (
            card.get("destination").and_then(Value::as_str),
            card.get("event_name").and_then(Value::as_str),
        ) else {
            continue;
        };
        let name = config
            .destination(dest)
            .and_then(|d| d.conversion_name(event, &tag_events))
            .unwrap_or_else(|| event.to_string());
        card["conversion"] = name.into();
    }
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
            failed: 0.0,
            blocked: 0.0,
            events: 5.0,
        }];
        let s = stats(&rows, &failures, &trend, &[], now, 7.0 * 24.0 * hour);
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
            json!({"day_ms": 4.0 * 24.0 * hour, "destination": "openai", "sent": 3, "failed": 0, "blocked": 0, "events": 5})
        );
    }

    fn hour(h: f64, dest: &str, sent: f64, failed: f64, blocked: f64) -> HourRow {
        HourRow {
            hour: h,
            destination: dest.into(),
            sent,
            failed,
            blocked,
            events: sent + failed + blocked,
        }
    }

    #[test]
    fn the_last_24_hours_start_23_hours_before_this_one() {
        let now = 100.5 * HOUR_MS;
        assert_eq!(day_first_hour(now), 77.0);
        let s = stats(
            &[],
            &[],
            &[],
            &[hour(99.0, "meta", 2.0, 1.0, 0.0)],
            now,
            HOUR_MS,
        );
        assert_eq!(
            s["hourly"],
            json!([{"hour_ms": 99.0 * HOUR_MS, "destination": "meta", "sent": 2, "failed": 1, "blocked": 0, "events": 3}])
        );
    }

    #[test]
    fn each_destination_is_healthy_warning_or_failing_with_the_reason() {
        let now = 1_000.0 * HOUR_MS;
        let card = |dest: &str, last: f64| json!({"destination": dest, "event_name": "Purchase", "last_event_ms": last});
        let events = [
            card("meta", now - 60_000.0),
            card("openai", now - 2.0 * HOUR_MS),
            card("tiktok", now - 30.0 * HOUR_MS),
            card("pinterest", now - HOUR_MS),
            card("snap", now - HOUR_MS),
            json!({"destination": "openai", "event_name": "Lead", "last_event_ms": now - 60_000.0}),
        ];
        let hourly = [
            hour(999.0, "meta", 90.0, 5.0, 4.0),
            hour(998.0, "meta", 10.0, 0.0, 1.0),
            hour(999.0, "openai", 1.0, 9.0, 0.0),
            hour(999.0, "pinterest", 8.0, 2.0, 0.0),
        ];
        let incidents = [
            json!({"destination": "snap", "summary": "Purchase: 3 dead-lettered in the last 2 h\nmore"}),
        ];
        let d = destinations(&events, &hourly, &incidents, &["reddit", "meta"], now);
        let got: Vec<(String, String, String)> = d
            .as_array()
            .unwrap()
            .iter()
            .map(|x| {
                (
                    x["destination"].as_str().unwrap().into(),
                    x["status"].as_str().unwrap().into(),
                    x["reason"].as_str().unwrap().into(),
                )
            })
            .collect();
        let want = [
            ("meta", "healthy", ""),
            (
                "openai",
                "failing",
                "9 of 10 events failed in the last 24 h (90%)",
            ),
            (
                "pinterest",
                "warning",
                "2 of 10 events failed in the last 24 h (20%)",
            ),
            ("reddit", "warning", "no event yet in this window"),
            (
                "snap",
                "failing",
                "open alert: Purchase: 3 dead-lettered in the last 2 h",
            ),
            ("tiktok", "warning", "no event in the last 24 h"),
        ];
        assert_eq!(
            got,
            want.map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        );
        assert_eq!(
            d[0]["day"],
            json!({"sent": 100, "failed": 5, "blocked": 5, "events": 110})
        );
        assert_eq!(d[0]["last_event_ms"], json!(now - 60_000.0));
        assert_eq!(
            d[1]["last_event_ms"],
            json!(now - 60_000.0),
            "the latest of its event types"
        );
        assert_eq!(d[3]["last_event_ms"], Value::Null);
        assert_eq!(d[4]["alerts"].as_array().unwrap().len(), 1);
    }
}
