//! What intake saw that no ledger row shows: hits whose event fired no tag (a typo such as `Purchse` on the
//! site would otherwise be answered 204 and seen nowhere), per event name, and values redacted from page URLs.
//! Counted per request, carried to the consumer in one queue message with the request's others, and summed
//! per hour in `intake_counts` (migrations/0007_intake_counts.sql), which the dashboard and the stats API read.

use crate::config::Config;
use crate::delivery::DeliveryMessage;
use crate::hit::Hit;
use crate::pipeline::Outcome;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Distinct event names one message carries; the rest are counted under `OTHER_NAMES`. Event names come from
/// the page, so an attacker could invent a new one per hit: this, and `MAX_NAMES_PER_HOUR` where they are
/// written, keep the table small whatever is sent.
pub const MAX_NAMES_PER_MESSAGE: usize = 20;
/// Distinct names kept per hour in `intake_counts`; later new names add to `OTHER_NAMES`.
pub const MAX_NAMES_PER_HOUR: u32 = 200;
pub const OTHER_NAMES: &str = "(other names)";

/// The counts of one request (or one consumer batch, summed).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tally {
    /// Hits whose event fired no tag, per event name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unmatched: BTreeMap<String, u32>,
    /// Values replaced in page URLs and referrers (`crate::hit::redact`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub redacted: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Tally {
    /// Counts one hit's outcome. A hit that fired no tag counts only when its event is one no tag is for: a page
    /// view, or a `Lead` a tag's trigger passed over, is traffic as expected, and costs no queue message; a
    /// `Purchse` is the mistake worth seeing.
    pub fn add(&mut self, config: &Config, hit: &Hit, outcome: &Outcome) {
        self.redacted = self.redacted.saturating_add(outcome.redacted as u32);
        if outcome.tags.iter().any(|t| t.fired) || config.expects_event(&hit.event) {
            return;
        }
        let name = if self.unmatched.contains_key(&hit.event)
            || self.unmatched.len() < MAX_NAMES_PER_MESSAGE
        {
            hit.event.clone()
        } else {
            OTHER_NAMES.to_string()
        };
        let n = self.unmatched.entry(name).or_default();
        *n = n.saturating_add(1);
    }

    /// Adds another tally (the consumer sums a batch's messages).
    pub fn merge(&mut self, other: Tally) {
        self.redacted = self.redacted.saturating_add(other.redacted);
        for (name, n) in other.unmatched {
            let sum = self.unmatched.entry(name).or_default();
            *sum = sum.saturating_add(n);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.unmatched.is_empty() && self.redacted == 0
    }

    /// The queue message that carries it, when there is anything to count.
    pub fn message(&self, received_ms: i64) -> Option<DeliveryMessage> {
        if self.is_empty() {
            return None;
        }
        let payload = serde_json::to_value(self).ok()?;
        Some(DeliveryMessage::tally(&payload, received_ms))
    }

    /// Reads a tally message's payload; a payload that is not one counts nothing.
    pub fn from_payload(json: &str) -> Tally {
        serde_json::from_str(json).unwrap_or_default()
    }

    /// The rows it adds to `intake_counts`: (kind, name, hits), `no_tag` per event name and `redacted` once.
    pub fn rows(&self) -> Vec<(&'static str, &str, u32)> {
        let mut rows: Vec<(&'static str, &str, u32)> = self
            .unmatched
            .iter()
            .map(|(name, n)| ("no_tag", name.as_str(), *n))
            .collect();
        if self.redacted > 0 {
            rows.push(("redacted", "", self.redacted));
        }
        rows
    }
}

/// Adds one row of a tally to its hour's counter; a name new this hour past `MAX_NAMES_PER_HOUR` adds to
/// `OTHER_NAMES` instead. Binds ?1 hour, ?2 kind, ?3 name, ?4 hits, ?5 last_ms, ?6 the cap, ?7 `OTHER_NAMES`.
pub const ADD_SQL: &str = "INSERT INTO intake_counts (hour, kind, name, hits, last_ms) VALUES (?1, ?2, \
     CASE WHEN EXISTS (SELECT 1 FROM intake_counts WHERE hour = ?1 AND kind = ?2 AND name = ?3) \
       OR (SELECT count(*) FROM intake_counts WHERE hour = ?1 AND kind = ?2) < ?6 THEN ?3 ELSE ?7 END, ?4, ?5) \
     ON CONFLICT (hour, kind, name) DO UPDATE SET hits = hits + excluded.hits, last_ms = max(last_ms, excluded.last_ms)";

/// The window's counts, most hits first (binds ?1, the first hour).
pub const WINDOW_SQL: &str =
    "SELECT kind, name, sum(hits) AS hits, max(last_ms) AS last_ms FROM intake_counts \
     WHERE hour >= ?1 GROUP BY kind, name ORDER BY hits DESC LIMIT 50";

/// One row of `WINDOW_SQL`.
#[derive(Debug, Clone, Deserialize)]
pub struct WindowRow {
    pub kind: String,
    pub name: String,
    pub hits: f64,
    pub last_ms: f64,
}

/// The stats API's `intake` section: hits that fired no tag, by event name (with the tag event it most likely
/// meant), and the values redacted from URLs.
pub fn window_json(rows: &[WindowRow], config: Option<&Config>) -> serde_json::Value {
    let no_tag: Vec<serde_json::Value> = rows
        .iter()
        .filter(|r| r.kind == "no_tag")
        .map(|r| {
            let meant = config.and_then(|c| likely_meant(c, &r.name));
            serde_json::json!({"event": r.name, "hits": r.hits.round() as i64, "last_ms": r.last_ms as i64,
                               "did_you_mean": meant})
        })
        .collect();
    let redacted: f64 = rows
        .iter()
        .filter(|r| r.kind == "redacted")
        .map(|r| r.hits)
        .sum();
    serde_json::json!({"no_tag_fired": no_tag, "redacted_url_values": redacted.round() as i64})
}

pub use crate::pipeline::preview::{likely_meant, no_tag_note};

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str =
        "[[destination]]\nname = \"w\"\nkind = \"webhook\"\nendpoint = \"https://x\"\n\n\
        [[tag]]\nname = \"purchase\"\ndestination = \"w\"\nevent = \"Purchase\"\n";

    fn outcome(config: &Config, hit: &Hit) -> Outcome {
        crate::pipeline::process(config, hit, 0, &mut || "id".into())
    }

    fn hit(event: &str, url: &str) -> Hit {
        let mut h = Hit {
            event: event.into(),
            ..Hit::default()
        };
        h.page.url = Some(url.into());
        h
    }

    #[test]
    fn a_hit_that_fires_no_tag_is_counted_by_its_event_name() {
        let config = Config::parse(CONFIG).unwrap();
        let mut tally = Tally::default();
        for h in [
            hit("Purchse", "https://s.example/t"),
            hit("Purchse", "https://s.example/t?email=jane%40example.com"),
            hit("Purchase", "https://s.example/t?phone=%2B16505551212"),
        ] {
            tally.add(&config, &h, &outcome(&config, &h));
        }
        assert_eq!(
            tally.unmatched,
            BTreeMap::from([("Purchse".to_string(), 2)])
        );
        assert_eq!(tally.redacted, 2, "one email, one phone");
        assert_eq!(
            tally.rows(),
            [("no_tag", "Purchse", 2), ("redacted", "", 2)]
        );
        // Through the queue and back.
        let m = tally.message(7).unwrap();
        assert_eq!(Tally::from_payload(m.payload_json()), tally);
        assert_eq!(likely_meant(&config, "Purchse"), Some("Purchase"));
        assert!(
            no_tag_note(&config, &hit("Purchse", "")).ends_with("Did the site mean \"Purchase\"?")
        );
        assert_eq!(
            Tally::default().message(7),
            None,
            "nothing to count: no message"
        );
    }

    #[test]
    fn expected_traffic_that_fires_nothing_is_not_counted_and_sends_no_message() {
        let config = Config::parse(&format!(
            "{CONFIG}trigger = {{ field = \"data.value\", gt = 0 }}\n"
        ))
        .unwrap();
        let mut tally = Tally::default();
        for h in [
            hit("PageView", "https://s.example/"),
            hit("Purchase", "https://s.example/t"),
        ] {
            let o = outcome(&config, &h);
            assert!(o.tags.iter().all(|t| !t.fired), "nothing fired");
            tally.add(&config, &h, &o);
        }
        assert!(tally.is_empty(), "{tally:?}");
        assert_eq!(tally.message(7), None, "a page view costs no queue message");
    }

    #[test]
    fn invented_event_names_cannot_grow_a_message_without_bound() {
        let config = Config::parse(CONFIG).unwrap();
        let mut tally = Tally::default();
        for i in 0..100 {
            let h = hit(&format!("e{i}"), "https://s.example/");
            tally.add(&config, &h, &outcome(&config, &h));
        }
        assert_eq!(tally.unmatched.len(), MAX_NAMES_PER_MESSAGE + 1);
        assert_eq!(
            tally.unmatched[OTHER_NAMES],
            100 - MAX_NAMES_PER_MESSAGE as u32
        );
        assert_eq!(tally.unmatched.values().sum::<u32>(), 100);
        let mut sum = tally.clone();
        sum.merge(tally);
        assert_eq!(sum.unmatched.values().sum::<u32>(), 200);
    }
}
