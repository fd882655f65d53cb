//! Alerts: the scheduled check compares each destination's recent hours with its own history, and says which
//! incidents open (with the alert to post) and which close (with the recovery message). One incident per
//! destination: every event and condition of it in one message, so a destination that stops is one alert, not
//! one per event. Pure; the worker (`edge/admin/scheduled.rs`) reads the counters and the open incidents, posts, and
//! records.

use crate::config::operations::Alerts;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Counters summed per (hour, destination, event, status), as the scheduled job reads them.
#[derive(Debug, Clone, Deserialize)]
pub struct HourCount {
    pub hour: f64,
    pub destination: String,
    pub event_name: String,
    pub status: String,
    pub events: f64,
    pub scored: f64,
    pub quality_sum: f64,
}

/// The SQL for `HourCount`s: bind the first hour to read (`first_hour`).
pub const HOUR_COUNTS_SQL: &str =
    "SELECT hour, destination, event_name, status, sum(events) AS events, \
     sum(scored) AS scored, sum(quality_sum) AS quality_sum FROM ledger_counts WHERE hour >= ?1 \
     GROUP BY hour, destination, event_name, status";

/// An incident the worker has open.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Incident {
    pub destination: String,
    pub opened_ms: f64,
    pub summary: String,
    /// 1 once the webhook took the alert.
    pub notified: f64,
}

/// The days of history a check compares with.
pub const HISTORY_DAYS: i64 = 7;

/// The first hour the check needs: the window on each of the history's days.
pub fn first_hour(now_ms: i64, rules: &Alerts) -> i64 {
    now_hour(now_ms) - HISTORY_DAYS * 24 - i64::from(rules.window_hours)
}

fn now_hour(now_ms: i64) -> i64 {
    now_ms.div_euclid(crate::base::time::HOUR_MS)
}

/// What the check found wrong with one destination now, in words (one line per event and condition).
pub fn problems(
    counts: &[HourCount],
    rules: &Alerts,
    now_ms: i64,
) -> BTreeMap<String, Vec<String>> {
    let now = now_hour(now_ms);
    let window = i64::from(rules.window_hours);
    let in_window = |hour: i64, days_ago: i64| {
        let end = now - days_ago * 24;
        hour > end - window && hour <= end
    };
    #[derive(Default)]
    struct Tally {
        recent: BTreeMap<String, f64>,
        /// Events in the same window on each earlier day (index = days ago).
        same_window: [f64; HISTORY_DAYS as usize + 1],
        recent_quality: (f64, f64),
        history_quality: (f64, f64),
    }
    let mut tallies: BTreeMap<(&str, &str), Tally> = BTreeMap::new();
    for c in counts {
        let hour = c.hour as i64;
        let t = tallies
            .entry((c.destination.as_str(), c.event_name.as_str()))
            .or_default();
        let counted = c.status != "consent_blocked";
        if in_window(hour, 0) {
            *t.recent.entry(c.status.clone()).or_default() += c.events;
            t.recent_quality.0 += c.quality_sum;
            t.recent_quality.1 += c.scored;
        } else if hour <= now - window {
            t.history_quality.0 += c.quality_sum;
            t.history_quality.1 += c.scored;
        }
        for days_ago in 1..=HISTORY_DAYS {
            if counted && in_window(hour, days_ago) {
                t.same_window[days_ago as usize] += c.events;
            }
        }
    }
    let min = f64::from(rules.min_events);
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for ((destination, event), t) in tallies {
        let n = |status: &str| t.recent.get(status).copied().unwrap_or(0.0);
        let (sent, failed, dead) = (n("sent"), n("failed"), n("dead_letter"));
        let mut found = Vec::new();
        let hours = rules.window_hours;
        if dead > 0.0 {
            found.push(format!(
                "{event}: {dead} dead-lettered in the last {hours} h (the platform kept failing through every retry; \
                 replay them once it is fixed: capi-edge replay --destination {destination})"
            ));
        }
        let ended = sent + failed + dead;
        if ended >= min && (failed + dead) / ended > rules.failure_share {
            found.push(format!(
                "{event}: {} of {ended} failed in the last {hours} h ({:.0}%, over the {:.0}% threshold)",
                failed + dead,
                (failed + dead) / ended * 100.0,
                rules.failure_share * 100.0
            ));
        }
        let received: f64 = t
            .recent
            .iter()
            .filter(|(s, _)| s.as_str() != "consent_blocked")
            .map(|(_, n)| n)
            .sum();
        let usual = t.same_window[1..].iter().sum::<f64>() / HISTORY_DAYS as f64;
        if received == 0.0 && usual >= min {
            found.push(format!(
                "{event}: no events in the last {hours} h, where the past week averaged {usual:.0}"
            ));
        }
        let (rq, rn) = t.recent_quality;
        let (hq, hn) = t.history_quality;
        if rn >= min && hn >= min && hq / hn - rq / rn >= rules.quality_drop {
            found.push(format!(
                "{event}: match quality fell to {:.1} from {:.1} over the past week",
                rq / rn,
                hq / hn
            ));
        }
        if !found.is_empty() {
            out.entry(destination.to_string())
                .or_default()
                .extend(found);
        }
    }
    out
}

/// What the worker does after a check.
#[derive(Debug, Default, PartialEq)]
pub struct Changes {
    /// Incidents to open (or whose alert never reached the webhook): destination, summary.
    pub alert: Vec<(String, String)>,
    /// Incidents that cleared: destination, the summary they opened with.
    pub recover: Vec<(String, String)>,
}

/// Compares what is wrong now with the incidents already open. An incident is alerted once: a problem that
/// stays is not news. An alert the webhook did not take is tried again.
pub fn changes(
    problems: &BTreeMap<String, Vec<String>>,
    open: &[Incident],
    destinations: &[&str],
) -> Changes {
    let mut c = Changes::default();
    for (destination, found) in problems {
        if !destinations.contains(&destination.as_str()) {
            continue;
        }
        match open.iter().find(|i| &i.destination == destination) {
            Some(i) if i.notified >= 1.0 => {}
            Some(i) => c.alert.push((destination.clone(), i.summary.clone())),
            None => c.alert.push((destination.clone(), found.join("\n"))),
        }
    }
    for i in open {
        if !problems.contains_key(&i.destination) || !destinations.contains(&i.destination.as_str())
        {
            c.recover.push((i.destination.clone(), i.summary.clone()));
        }
    }
    c
}

/// The alert, as Slack's incoming webhooks take it (`text`, mrkdwn).
pub fn alert_message(destination: &str, summary: &str, rules: &Alerts) -> Value {
    let link = rules
        .dashboard_url
        .as_deref()
        .map(|u| format!("\nDashboard: {u}"))
        .unwrap_or_default();
    json!({"text": format!(":rotating_light: capi-edge: *{destination}* needs attention\n{summary}{link}")})
}

/// The recovery message for an incident that cleared.
pub fn recovery_message(destination: &str, summary: &str, rules: &Alerts) -> Value {
    let link = rules
        .dashboard_url
        .as_deref()
        .map(|u| format!("\nDashboard: {u}"))
        .unwrap_or_default();
    let first = summary.lines().next().unwrap_or_default();
    json!({"text": format!(":white_check_mark: capi-edge: *{destination}* recovered (was: {first}){link}")})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::time::HOUR_MS;

    const NOW_HOUR: i64 = 500_000;
    const NOW: i64 = NOW_HOUR * HOUR_MS + 30 * 60 * 1000;

    fn count(
        hours_ago: i64,
        destination: &str,
        status: &str,
        events: f64,
        quality: f64,
    ) -> HourCount {
        HourCount {
            hour: (NOW_HOUR - hours_ago) as f64,
            destination: destination.into(),
            event_name: "Purchase".into(),
            status: status.into(),
            events,
            scored: events,
            quality_sum: events * quality,
        }
    }

    /// A week of 20 purchases an hour, all sent, match quality 7.
    fn usual_week(destination: &str) -> Vec<HourCount> {
        (2..=(HISTORY_DAYS * 24 + 1))
            .map(|h| count(h, destination, "sent", 20.0, 7.0))
            .collect()
    }

    fn rules() -> Alerts {
        Alerts {
            dashboard_url: Some("https://shop.example.com/r/dashboard".into()),
            ..Alerts::default()
        }
    }

    #[test]
    fn a_healthy_week_raises_nothing() {
        let mut counts = usual_week("meta");
        counts.push(count(0, "meta", "sent", 20.0, 7.0));
        counts.push(count(1, "meta", "sent", 19.0, 7.5));
        counts.push(count(1, "meta", "failed", 1.0, 7.0));
        assert!(problems(&counts, &rules(), NOW).is_empty());
    }

    #[test]
    fn failures_over_the_threshold_and_dead_letters_are_one_incident() {
        let mut counts = usual_week("meta");
        counts.push(count(0, "meta", "sent", 10.0, 7.0));
        counts.push(count(0, "meta", "dead_letter", 4.0, 7.0));
        counts.push(count(1, "meta", "failed", 2.0, 7.0));
        let found = problems(&counts, &rules(), NOW);
        let meta = &found["meta"];
        assert_eq!(meta.len(), 2, "{meta:?}");
        assert!(
            meta[0].contains("4 dead-lettered in the last 2 h"),
            "{meta:?}"
        );
        assert!(
            meta[1].contains("6 of 16 failed in the last 2 h (38%, over the 10% threshold)"),
            "{meta:?}"
        );
    }

    #[test]
    fn silence_where_there_used_to_be_events() {
        let counts = usual_week("openai");
        let found = problems(&counts, &rules(), NOW);
        assert_eq!(
            found["openai"],
            ["Purchase: no events in the last 2 h, where the past week averaged 40"]
        );
        // A destination that is quiet at this hour every day is not silent.
        let night: Vec<HourCount> = usual_week("openai")
            .into_iter()
            .filter(|c| (NOW_HOUR - c.hour as i64) % 24 >= 2)
            .collect();
        assert!(problems(&night, &rules(), NOW).is_empty());
    }

    #[test]
    fn a_drop_in_match_quality() {
        let mut counts = usual_week("meta");
        counts.push(count(0, "meta", "sent", 20.0, 4.0));
        counts.push(count(1, "meta", "sent", 20.0, 4.5));
        let found = problems(&counts, &rules(), NOW);
        assert_eq!(
            found["meta"],
            ["Purchase: match quality fell to 4.2 from 7.0 over the past week"]
        );
    }

    #[test]
    fn too_few_events_to_judge_a_share_but_a_dead_letter_always_counts() {
        let counts = vec![count(0, "meta", "failed", 1.0, 5.0)];
        assert!(problems(&counts, &rules(), NOW).is_empty());
        let counts = vec![count(0, "meta", "dead_letter", 1.0, 5.0)];
        assert_eq!(problems(&counts, &rules(), NOW)["meta"].len(), 1);
    }

    #[test]
    fn an_incident_is_alerted_once_and_recovers_once() {
        let dests = ["meta", "openai"];
        let mut problems = BTreeMap::new();
        problems.insert(
            "meta".to_string(),
            vec!["Purchase: 3 dead-lettered".to_string()],
        );
        let first = changes(&problems, &[], &dests);
        assert_eq!(
            first.alert,
            [("meta".to_string(), "Purchase: 3 dead-lettered".to_string())]
        );
        assert!(first.recover.is_empty());
        let open = Incident {
            destination: "meta".into(),
            opened_ms: 0.0,
            summary: "Purchase: 3 dead-lettered".into(),
            notified: 1.0,
        };
        assert_eq!(
            changes(&problems, std::slice::from_ref(&open), &dests),
            Changes::default(),
            "still open: no news"
        );
        let unsent = Incident {
            notified: 0.0,
            ..open.clone()
        };
        assert_eq!(
            changes(&problems, &[unsent], &dests).alert.len(),
            1,
            "the webhook was down: try again"
        );
        let cleared = changes(&BTreeMap::new(), &[open], &dests);
        assert_eq!(
            cleared.recover,
            [("meta".to_string(), "Purchase: 3 dead-lettered".to_string())]
        );
        let text = recovery_message("meta", &cleared.recover[0].1, &rules());
        assert_eq!(
            text["text"],
            ":white_check_mark: capi-edge: *meta* recovered (was: Purchase: 3 dead-lettered)\nDashboard: https://shop.example.com/r/dashboard"
        );
    }
}
