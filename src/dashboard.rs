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

const BROWSER: i64 = 1;
const SERVER_OR_WEBHOOK: i64 = 2 | 4;

/// The dashboard's JSON for the rows of the chosen window.
pub fn stats(rows: &[LedgerRow], now_ms: f64, window_ms: f64) -> Value {
    let mut groups: BTreeMap<(&str, &str), Vec<&LedgerRow>> = BTreeMap::new();
    for r in rows {
        groups
            .entry((r.destination.as_str(), r.event_name.as_str()))
            .or_default()
            .push(r);
    }
    let events: Vec<Value> = groups
        .into_iter()
        .map(|((destination, event_name), rows)| {
            let count = |status: &[&str]| rows.iter().filter(|r| status.contains(&r.status.as_str())).count();
            let (sent, failed) = (count(&["sent"]), count(&["failed", "dead_letter"]));
            let error_rate = if sent + failed == 0 { 0.0 } else { failed as f64 / (sent + failed) as f64 };
            let last = rows.iter().map(|r| r.received_ms).fold(0.0, f64::max);
            let status = if now_ms - last > INACTIVE_AFTER_MS {
                "inactive"
            } else if error_rate > WARNING_ERROR_RATE {
                "warning"
            } else {
                "active"
            };
            let scored: Vec<f64> = rows.iter().filter(|r| r.status != "consent_blocked").filter_map(|r| r.match_quality).collect();
            let mut histogram = [0usize; 5];
            for q in &scored {
                histogram[((q / 2.0) as usize).min(4)] += 1;
            }
            let mut missing: BTreeMap<&str, usize> = BTreeMap::new();
            for r in &rows {
                for m in r.missing.as_deref().unwrap_or("").split(',').filter(|m| !m.is_empty()) {
                    *missing.entry(m).or_default() += 1;
                }
            }
            let mut missing: Vec<(&str, usize)> = missing.into_iter().collect();
            missing.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
            let from_server = rows.iter().filter(|r| r.sources & SERVER_OR_WEBHOOK != 0).count();
            let seen_in_both = rows.iter().filter(|r| r.sources & SERVER_OR_WEBHOOK != 0 && r.sources & BROWSER != 0).count();
            let mut failures: Vec<&&LedgerRow> = rows.iter().filter(|r| matches!(r.status.as_str(), "failed" | "dead_letter")).collect();
            failures.sort_by(|a, b| b.updated_ms.total_cmp(&a.updated_ms));
            json!({
                "destination": destination,
                "event_name": event_name,
                "status": status,
                "last_event_ms": last,
                "counts": {
                    "received": rows.len(),
                    "sent": sent,
                    "failed": count(&["failed"]),
                    "dead_letter": count(&["dead_letter"]),
                    "retrying": count(&["queued", "retrying"]),
                    "consent_blocked": count(&["consent_blocked"]),
                    "dropped": count(&["dropped"]),
                    "deduplicated": rows.iter().map(|r| r.duplicates).sum::<i64>(),
                },
                "error_rate": error_rate,
                "match_quality": {
                    "average": if scored.is_empty() { Value::Null } else { json!((scored.iter().sum::<f64>() / scored.len() as f64 * 10.0).round() / 10.0) },
                    "histogram": {"0-2": histogram[0], "2-4": histogram[1], "4-6": histogram[2], "6-8": histogram[3], "8-10": histogram[4]},
                    "most_often_missing": missing.iter().take(4).map(|(k, n)| json!({"identifier": k, "events": n})).collect::<Vec<_>>(),
                },
                "dedup_rate": if from_server == 0 { Value::Null } else { json!(seen_in_both as f64 / from_server as f64) },
                "breakdown": {
                    "browser": rows.iter().filter(|r| r.source == "browser").count(),
                    "server": rows.iter().filter(|r| r.source == "server").count(),
                    "webhook": rows.iter().filter(|r| r.source == "webhook").count(),
                },
                "last_failures": failures.iter().take(5).map(|r| json!({"event_id": r.event_id, "status": r.status, "at_ms": r.updated_ms, "response": r.response})).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({"now_ms": now_ms, "window_ms": window_ms, "events": events})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::too_many_arguments)]
    fn row(
        dest: &str,
        name: &str,
        id: &str,
        source: &str,
        sources: i64,
        status: &str,
        mq: f64,
        missing: &str,
        at: f64,
    ) -> LedgerRow {
        LedgerRow {
            destination: dest.into(),
            event_name: name.into(),
            event_id: id.into(),
            source: source.into(),
            sources,
            status: status.into(),
            duplicates: (sources == 5) as i64,
            match_quality: Some(mq),
            missing: Some(missing.into()),
            received_ms: at,
            updated_ms: at + 1000.0,
            response: (status != "sent").then(|| format!("HTTP 400: bad {id}")),
            value: None,
            currency: None,
        }
    }

    #[test]
    fn counts_rates_and_statuses_per_destination_and_event() {
        let now = 100.0 * 3600.0 * 1000.0;
        let hour = 3600.0 * 1000.0;
        let rows = vec![
            row(
                "openai",
                "order_created",
                "1",
                "browser",
                5,
                "sent",
                9.0,
                "ph",
                now - hour,
            ),
            row(
                "openai",
                "order_created",
                "2",
                "webhook",
                4,
                "sent",
                7.0,
                "ph,click_id",
                now - hour,
            ),
            row(
                "openai",
                "order_created",
                "3",
                "server",
                2,
                "failed",
                3.0,
                "em,ph",
                now - 2.0 * hour,
            ),
            row(
                "openai",
                "order_created",
                "4",
                "browser",
                1,
                "consent_blocked",
                0.0,
                "",
                now - hour,
            ),
            row(
                "openai",
                "lead_created",
                "5",
                "browser",
                1,
                "sent",
                5.0,
                "ph",
                now - 30.0 * hour,
            ),
        ];
        let s = stats(&rows, now, 7.0 * 24.0 * hour);
        let lead = &s["events"][0];
        assert_eq!(
            (lead["event_name"].as_str(), lead["status"].as_str()),
            (Some("lead_created"), Some("inactive"))
        );
        let orders = &s["events"][1];
        assert_eq!(orders["status"], "warning", "1 failed of 3 is over 10%");
        assert_eq!(
            orders["counts"],
            json!({"received": 4, "sent": 2, "failed": 1, "dead_letter": 0, "retrying": 0, "consent_blocked": 1, "dropped": 0, "deduplicated": 1})
        );
        assert_eq!(
            orders["match_quality"]["average"], 6.3,
            "consent-blocked events are not scored"
        );
        assert_eq!(
            orders["match_quality"]["histogram"],
            json!({"0-2": 0, "2-4": 1, "4-6": 0, "6-8": 1, "8-10": 1})
        );
        assert_eq!(
            orders["match_quality"]["most_often_missing"][0],
            json!({"identifier": "ph", "events": 3})
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
    }
}
