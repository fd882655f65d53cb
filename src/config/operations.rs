//! The operations settings of `capi.toml`: `[alerts]` (when and where the scheduled check raises an alert) and
//! `[retention]` (how long the ledger keeps what), with each tag's `ledger` mode (a row per event, or counts).

use crate::base::time::DAY_MS;

use crate::base::diagnostic::{suggestion, Diagnostic};
use serde::{Deserialize, Serialize};
use toml::Spanned;

/// `[alerts]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsConfig {
    /// NAME of the Worker secret that holds the alert webhook's URL (a Slack incoming webhook, or anything that
    /// takes Slack's `{"text": …}`), e.g. "ALERT_WEBHOOK_URL". Without it, no alert is sent.
    pub webhook_secret: Option<Spanned<String>>,
    /// The dashboard's address, linked from every alert, e.g. "https://shop.example.com/r/dashboard".
    pub dashboard_url: Option<Spanned<String>>,
    /// Over this share of failed events (failed or dead-lettered, of those that ended), alert. Default 0.1.
    pub failure_share: Option<Spanned<f64>>,
    /// A drop in average match quality (0–10) of at least this much against the week before. Default 2.
    pub quality_drop: Option<Spanned<f64>>,
    /// The recent window the check looks at, in hours. Default 2.
    pub window_hours: Option<Spanned<u32>>,
    /// Fewer events than this in the window (or a day's same window, for silence) is too few to judge. Default 10.
    pub min_events: Option<Spanned<u32>>,
}

/// The checked `[alerts]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alerts {
    pub webhook_secret: Option<String>,
    pub dashboard_url: Option<String>,
    pub failure_share: f64,
    pub quality_drop: f64,
    pub window_hours: u32,
    pub min_events: u32,
}

impl Default for Alerts {
    fn default() -> Self {
        Alerts {
            webhook_secret: None,
            dashboard_url: None,
            failure_share: 0.10,
            quality_drop: 2.0,
            window_hours: 2,
            min_events: 10,
        }
    }
}

pub(crate) const ALERTS_KEYS: &[&str] = &[
    "webhook_secret",
    "dashboard_url",
    "failure_share",
    "quality_drop",
    "window_hours",
    "min_events",
];

/// `[retention]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionConfig {
    /// Days the ledger keeps a row per event (dedup, reconciliation, the list of failures). Default 90.
    pub ledger_days: Option<Spanned<u32>>,
    /// Days the dashboard's counters are kept (no personal data in them). Default 400.
    pub counts_days: Option<Spanned<u32>>,
}

/// The checked `[retention]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Retention {
    pub ledger_days: u32,
    pub counts_days: u32,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            ledger_days: 90,
            counts_days: 400,
        }
    }
}

pub(crate) const RETENTION_KEYS: &[&str] = &["ledger_days", "counts_days"];

/// The platforms take events up to 7 days old; a kept event is replayable that long, and deleted after.
pub const REPLAY_WINDOW_MS: i64 = 7 * DAY_MS;

/// What the ledger keeps of a tag's events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerMode {
    /// A row per event: exact dedup, replay of failures, reconciliation against orders.
    #[default]
    Events,
    /// Counters only (per hour, destination, event, outcome). For high-volume events such as page views, whose
    /// duplicates the platform removes by event_id anyway; a failure is still kept, for replay.
    Counts,
}

impl LedgerMode {
    pub const NAMES: [&'static str; 2] = ["events", "counts"];

    /// A tag's mode as written, or the default for its event: counts for PageView, a row for every other event.
    pub fn for_tag(written: Option<&str>, event: &str) -> Option<LedgerMode> {
        match written {
            Some("events") => Some(LedgerMode::Events),
            Some("counts") => Some(LedgerMode::Counts),
            Some(_) => None,
            None if event == "PageView" => Some(LedgerMode::Counts),
            None => Some(LedgerMode::Events),
        }
    }

    pub fn is_counts(&self) -> bool {
        *self == LedgerMode::Counts
    }
}

/// Checks `[alerts]`: every mistake at its line.
pub fn check_alerts(cfg: &AlertsConfig, errors: &mut Vec<Diagnostic>) -> Alerts {
    let defaults = Alerts::default();
    let webhook_secret = cfg.webhook_secret.as_ref().map(|s| {
        if !crate::destination::is_secret_name(s.get_ref()) {
            errors.push(
                Diagnostic::new("this must be the NAME of a Worker secret, not the webhook's address", Some(s.span()))
                    .with_hint("e.g. webhook_secret = \"ALERT_WEBHOOK_URL\", then `wrangler secret put ALERT_WEBHOOK_URL` and paste the URL"),
            );
        }
        s.get_ref().clone()
    });
    let dashboard_url = cfg.dashboard_url.as_ref().map(|u| {
        let url = u.get_ref();
        let ok = url.starts_with("https://") || url.starts_with("http://");
        if !ok || url.chars().any(|c| c.is_control() || c == ' ') {
            errors.push(
                Diagnostic::new(
                    format!("dashboard_url \"{url}\" is not a web address"),
                    Some(u.span()),
                )
                .with_hint("e.g. dashboard_url = \"https://shop.example.com/r/dashboard\""),
            );
        }
        url.clone()
    });
    let failure_share = match &cfg.failure_share {
        Some(s) if !(s.get_ref() > &0.0 && s.get_ref() < &1.0) => {
            errors.push(
                Diagnostic::new("failure_share must be between 0 and 1", Some(s.span()))
                    .with_hint("e.g. failure_share = 0.1 to alert when over 10% of events fail"),
            );
            defaults.failure_share
        }
        Some(s) => *s.get_ref(),
        None => defaults.failure_share,
    };
    let quality_drop = match &cfg.quality_drop {
        Some(q) if !(q.get_ref() > &0.0 && q.get_ref() <= &10.0) => {
            errors.push(
                Diagnostic::new(
                    "quality_drop is in match-quality points, between 0 and 10",
                    Some(q.span()),
                )
                .with_hint("e.g. quality_drop = 2"),
            );
            defaults.quality_drop
        }
        Some(q) => *q.get_ref(),
        None => defaults.quality_drop,
    };
    let window_hours = match &cfg.window_hours {
        Some(w) if !(1..=24).contains(w.get_ref()) => {
            errors.push(
                Diagnostic::new("window_hours must be from 1 to 24", Some(w.span()))
                    .with_hint("e.g. window_hours = 2"),
            );
            defaults.window_hours
        }
        Some(w) => *w.get_ref(),
        None => defaults.window_hours,
    };
    let min_events = match &cfg.min_events {
        Some(m) if *m.get_ref() == 0 => {
            errors.push(
                Diagnostic::new("min_events must be at least 1", Some(m.span()))
                    .with_hint("e.g. min_events = 10"),
            );
            defaults.min_events
        }
        Some(m) => *m.get_ref(),
        None => defaults.min_events,
    };
    Alerts {
        webhook_secret,
        dashboard_url,
        failure_share,
        quality_drop,
        window_hours,
        min_events,
    }
}

/// Checks `[retention]`.
pub fn check_retention(cfg: &RetentionConfig, errors: &mut Vec<Diagnostic>) -> Retention {
    let defaults = Retention::default();
    let mut days = |value: &Option<Spanned<u32>>, default: u32, key: &str, min: u32| match value {
        Some(d) if *d.get_ref() < min || *d.get_ref() > 3650 => {
            errors.push(
                Diagnostic::new(
                    format!("{key} must be from {min} to 3650 days"),
                    Some(d.span()),
                )
                .with_hint(format!("e.g. {key} = {default}")),
            );
            default
        }
        Some(d) => *d.get_ref(),
        None => default,
    };
    // Replay needs the ledger row for the platforms' whole 7-day window.
    let ledger_days = days(&cfg.ledger_days, defaults.ledger_days, "ledger_days", 7);
    let counts_days = days(&cfg.counts_days, defaults.counts_days, "counts_days", 1);
    Retention {
        ledger_days,
        counts_days,
    }
}

/// A tag's `ledger = …` checked against its event.
pub fn check_ledger_mode(
    written: Option<&Spanned<String>>,
    event: &str,
    errors: &mut Vec<Diagnostic>,
) -> LedgerMode {
    match LedgerMode::for_tag(written.map(|w| w.get_ref().as_str()), event) {
        Some(mode) => mode,
        None => {
            if let Some(w) = written {
                errors.push(
                    Diagnostic::new(format!("unknown ledger mode \"{}\"", w.get_ref()), Some(w.span()))
                        .with_hint(format!(
                            "{} (\"events\" keeps a row per event: dedup, replay, reconciliation; \"counts\" keeps counters only)",
                            suggestion(w.get_ref(), "values", &LedgerMode::NAMES)
                        )),
                );
            }
            LedgerMode::Events
        }
    }
}

/// Reads an erasure request, `{"event_id": "…"}`: the event (an order's id) whose records are deleted.
pub fn erasure_request(body: &[u8]) -> Result<String, String> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Erase {
        event_id: String,
    }
    let erase: Erase =
        serde_json::from_slice(body).map_err(|e| format!("send {{\"event_id\": \"…\"}}: {e}"))?;
    if !crate::base::guard::safe_id(&erase.event_id, 512) {
        return Err("event_id must be 1 to 512 bytes with no control character".into());
    }
    Ok(erase.event_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_erasure_names_one_event() {
        assert_eq!(
            erasure_request(br##"{"event_id":"#1001"}"##),
            Ok("#1001".into())
        );
        for bad in [
            &br#"{"event_id":""}"#[..],
            br#"{"event_id":"a\nb"}"#,
            br#"{"event_id":"1","also":"x"}"#,
            br#"{}"#,
            b"DELETE",
        ] {
            assert!(
                erasure_request(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn page_views_are_counted_and_conversions_get_a_row_unless_the_tag_says_otherwise() {
        assert_eq!(
            LedgerMode::for_tag(None, "PageView"),
            Some(LedgerMode::Counts)
        );
        assert_eq!(
            LedgerMode::for_tag(None, "Purchase"),
            Some(LedgerMode::Events)
        );
        assert_eq!(
            LedgerMode::for_tag(Some("events"), "PageView"),
            Some(LedgerMode::Events)
        );
        assert_eq!(
            LedgerMode::for_tag(Some("counts"), "ViewContent"),
            Some(LedgerMode::Counts)
        );
        assert_eq!(LedgerMode::for_tag(Some("rows"), "Purchase"), None);
    }
}
