//! The dashboard's counters for events that keep no ledger row (`ledger = "counts"`, page views by default):
//! summed in memory over one queue batch, so a batch of a hundred page views is one statement, not a hundred.
//! The buckets are the ones the ledger's triggers fill for the other events (migrations/0003_operations.sql).

use crate::delivery::DeliveryMessage;
use std::collections::BTreeMap;

pub use crate::base::time::HOUR_MS;

/// Counters of a day older than this many hours are folded into one row per day (at the day's first hour) by the
/// scheduled job: the alerts compare the last `window_hours` (at most 24) with the same hours on each of the
/// past `alerts::HISTORY_DAYS` days, and need hours; the dashboard does not.
pub const FOLD_AFTER_HOURS: i64 = (crate::operations::alerts::HISTORY_DAYS + 2) * 24;

/// The first hour that stays hourly: days wholly before it may be folded.
pub fn fold_before_hour(now_ms: i64) -> i64 {
    let keep_from = now_ms.div_euclid(HOUR_MS) - FOLD_AFTER_HOURS;
    keep_from - keep_from.rem_euclid(24)
}

/// The tail of an upsert into `ledger_counts` that adds the new row to an existing counter: every count summed,
/// the latest time kept. One text for the consumer's counts (`edge::ledger::add_counts`) and the fold (`FOLD_SQL`);
/// the triggers (migrations 0003, 0005) say the same in SQL.
macro_rules! add_to_counter {
    () => {
        " ON CONFLICT (hour, destination, event_name, status, source) DO UPDATE SET \
       events = events + excluded.events, duplicates = duplicates + excluded.duplicates, \
       from_server = from_server + excluded.from_server, seen_in_both = seen_in_both + excluded.seen_in_both, \
       scored = scored + excluded.scored, quality_sum = quality_sum + excluded.quality_sum, \
       q0 = q0 + excluded.q0, q2 = q2 + excluded.q2, q4 = q4 + excluded.q4, q6 = q6 + excluded.q6, \
       q8 = q8 + excluded.q8, miss_em = miss_em + excluded.miss_em, miss_ph = miss_ph + excluded.miss_ph, \
       miss_external_id = miss_external_id + excluded.miss_external_id, \
       miss_click_id = miss_click_id + excluded.miss_click_id, \
       miss_client_ip_address = miss_client_ip_address + excluded.miss_client_ip_address, \
       miss_client_user_agent = miss_client_user_agent + excluded.miss_client_user_agent, \
       last_ms = max(last_ms, excluded.last_ms)"
    };
}
pub(crate) use add_to_counter;

/// The days with hourly counters left to fold: bind `fold_before_hour` and how many days to take.
pub const DAYS_TO_FOLD_SQL: &str = "SELECT DISTINCT hour / 24 AS day FROM ledger_counts \
     WHERE hour < ?1 AND hour % 24 != 0 ORDER BY day LIMIT ?2";

/// Folds one day's hourly counters (bind the day) into its first hour's row. Sums are added, so a counter
/// written after a fold (a late status change: the update trigger's negated contribution) folds in later.
/// Run with `FOLD_DELETE_SQL` in one D1 batch (one transaction).
pub const FOLD_SQL: &str = concat!(
    "INSERT INTO ledger_counts (hour, destination, event_name, status, source, events, \
     duplicates, from_server, seen_in_both, scored, quality_sum, q0, q2, q4, q6, q8, miss_em, miss_ph, \
     miss_external_id, miss_click_id, miss_client_ip_address, miss_client_user_agent, last_ms) \
     SELECT ?1 * 24, destination, event_name, status, source, sum(events), sum(duplicates), sum(from_server), \
     sum(seen_in_both), sum(scored), sum(quality_sum), sum(q0), sum(q2), sum(q4), sum(q6), sum(q8), sum(miss_em), \
     sum(miss_ph), sum(miss_external_id), sum(miss_click_id), sum(miss_client_ip_address), \
     sum(miss_client_user_agent), max(last_ms) \
     FROM ledger_counts WHERE hour > ?1 * 24 AND hour < ?1 * 24 + 24 \
     GROUP BY destination, event_name, status, source \
     ",
    crate::operations::counters::add_to_counter!()
);

/// Drops the hourly rows `FOLD_SQL` took in (bind the day).
pub const FOLD_DELETE_SQL: &str =
    "DELETE FROM ledger_counts WHERE hour > ?1 * 24 AND hour < ?1 * 24 + 24";

/// The identifiers the counters track as missing, as `match_quality::missing` names them.
pub const MISSING: [&str; 6] = [
    "em",
    "ph",
    "external_id",
    "click_id",
    "client_ip_address",
    "client_user_agent",
];

/// One counter's key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    pub hour: i64,
    pub destination: String,
    pub event_name: String,
    pub status: String,
    pub source: String,
}

/// What one batch adds to a counter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Delta {
    pub events: i64,
    pub from_server: i64,
    pub scored: i64,
    pub quality_sum: f64,
    /// Match quality 0–2, 2–4, 4–6, 6–8, 8–10.
    pub quality_buckets: [i64; 5],
    /// Per `MISSING` code.
    pub missing: [i64; 6],
    pub last_ms: i64,
}

/// Counters being summed.
#[derive(Debug, Default)]
pub struct Counters(BTreeMap<Key, Delta>);

impl Counters {
    /// Counts one event that ended in `status`.
    pub fn add(&mut self, m: &DeliveryMessage, status: &str) {
        let key = Key {
            hour: m.received_ms.div_euclid(HOUR_MS),
            destination: m.destination.clone(),
            event_name: m.event_name.clone(),
            status: status.to_string(),
            source: m.source.clone(),
        };
        let d = self.0.entry(key).or_default();
        d.events += 1;
        d.from_server += i64::from(m.source != "browser");
        if status != "consent_blocked" {
            d.scored += 1;
            d.quality_sum += m.match_quality;
            let bucket = ((m.match_quality / 2.0).floor().max(0.0) as usize).min(4);
            d.quality_buckets[bucket] += 1;
        }
        for code in m.missing.split(',') {
            if let Some(i) = MISSING.iter().position(|c| *c == code) {
                d.missing[i] += 1;
            }
        }
        d.last_ms = d.last_ms.max(m.received_ms);
    }

    pub fn into_rows(self) -> Vec<(Key, Delta)> {
        self.0.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn folding_keeps_every_hour_the_alerts_read_and_folds_whole_days_only() {
        use crate::config::operations::Alerts;
        let now = 1_790_000_000_000_i64 + 17 * 60 * 1000;
        let before = fold_before_hour(now);
        assert_eq!(before.rem_euclid(24), 0, "a fold takes whole days");
        let widest = Alerts {
            window_hours: 24,
            ..Alerts::default()
        };
        assert!(
            before <= crate::operations::alerts::first_hour(now, &widest),
            "the alerts read hour {} but hours before {before} are folded",
            crate::operations::alerts::first_hour(now, &widest)
        );
        // And it does fold: nothing older than ten days stays hourly.
        assert!(before >= now.div_euclid(HOUR_MS) - 10 * 24);
    }

    use super::*;
    use crate::delivery::Action;

    fn page_view(at: i64, quality: f64, missing: &str, source: &str) -> DeliveryMessage {
        DeliveryMessage {
            destination: "meta".into(),
            event_name: "PageView".into(),
            event_id: format!("pv-{at}"),
            tag: "page_view".into(),
            source: source.into(),
            received_ms: at,
            payload: crate::delivery::Payload::new(&serde_json::json!({})),
            match_quality: quality,
            value: None,
            currency: None,
            action: Action::Send,
            intake_id: "i".into(),
            missing: missing.into(),
            test: false,
            ledger: crate::config::operations::LedgerMode::Counts,
        }
    }

    #[test]
    fn a_batch_becomes_one_counter_per_hour_status_and_source() {
        let mut c = Counters::default();
        let h = 500_000 * HOUR_MS;
        c.add(
            &page_view(h + 10, 1.5, "em,ph,external_id", "browser"),
            "sent",
        );
        c.add(&page_view(h + 20, 8.0, "ph", "browser"), "sent");
        c.add(&page_view(h + 30, 4.0, "", "server"), "sent");
        c.add(&page_view(h + HOUR_MS, 3.0, "em", "browser"), "sent");
        c.add(&page_view(h + 40, 9.0, "em", "browser"), "consent_blocked");
        let rows = c.into_rows();
        assert_eq!(rows.len(), 4);
        let (key, first) = &rows[0];
        assert_eq!(
            (key.hour, key.status.as_str()),
            (500_000, "consent_blocked")
        );
        assert_eq!(
            (first.events, first.scored, first.missing[0]),
            (1, 0, 1),
            "a consent block is counted, not scored"
        );
        let (key, sent) = &rows[1];
        assert_eq!(
            (key.status.as_str(), key.source.as_str()),
            ("sent", "browser")
        );
        assert_eq!(sent.events, 2);
        assert_eq!(sent.quality_sum, 9.5);
        assert_eq!(sent.quality_buckets, [1, 0, 0, 0, 1]);
        assert_eq!(sent.missing, [1, 2, 1, 0, 0, 0]);
        assert_eq!(sent.last_ms, h + 20);
        assert_eq!(rows[2].0.source, "server");
        assert_eq!(rows[2].1.from_server, 1);
        assert_eq!(rows[3].0.hour, 500_001, "the next hour is its own counter");
    }
}
