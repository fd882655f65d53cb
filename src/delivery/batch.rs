//! One destination's round of sending, pure: the events cut into batches within the platform's limit, a refused
//! batch split until the bad event is alone, a config error failing the rest; then, once the outcomes are
//! written, what to do with each queue message. The consumer (`edge::admin::consumer`) only sends and writes.
//!
//! The order is the guarantee: outcomes are written first, and a message is acked only when its outcome is on
//! disk. Cloudflare keeps an explicit ack even when the invocation dies afterwards, so an ack before the write
//! could leave a row `queued` forever, or lose an event the platform refused. A write that fails leaves every
//! message to the queue's retry: the resend carries the same `event_id` and body, which the platforms dedup.

use super::{backoff_seconds, Verdict};
use std::collections::VecDeque;

/// How one event's attempt in this round ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The platform took it.
    Sent,
    /// Not now (throttling, a server error, a timeout, a missing secret): the queue tries again.
    Retry(String),
    /// The platform refused the event, or the destination's settings are wrong: no retry can help.
    Failed(String),
}

/// What the consumer does with a queue message once the round's write is known.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Settle {
    Ack,
    /// Back to the queue, after this many seconds.
    Retry {
        delay_s: u32,
    },
}

/// One destination's round: which events go together next, and how each ended.
#[derive(Debug)]
pub struct Round {
    pending: VecDeque<Vec<usize>>,
    outcomes: Vec<Option<Outcome>>,
    /// What the log says about the round, one line per notable answer.
    pub notes: Vec<String>,
}

impl Round {
    /// `events` events, sent in batches of at most `max_batch` (at least 1), in their order.
    pub fn new(events: usize, max_batch: usize) -> Round {
        let indices: Vec<usize> = (0..events).collect();
        Round {
            pending: indices
                .chunks(max_batch.max(1))
                .map(<[usize]>::to_vec)
                .collect(),
            outcomes: vec![None; events],
            notes: Vec::new(),
        }
    }

    /// The events of the next request (indices into the round's events), or `None` when every one has ended.
    pub fn next_batch(&mut self) -> Option<Vec<usize>> {
        self.pending.pop_front()
    }

    /// Takes the platform's answer to `batch` (as `next_batch` gave it).
    pub fn answer(&mut self, mut batch: Vec<usize>, verdict: Verdict) {
        match verdict {
            Verdict::Delivered => self.end(&batch, Outcome::Sent),
            Verdict::Retry(reason) => {
                self.notes
                    .push(format!("{} events will be retried: {reason}", batch.len()));
                self.end(&batch, Outcome::Retry(reason));
            }
            // The platform named the bad event: it fails alone, the others go again without it.
            Verdict::Rejected {
                index: Some(bad),
                message,
            } if bad < batch.len() && batch.len() > 1 => {
                let event = batch.remove(bad);
                self.end(&[event], Outcome::Failed(message));
                self.pending.push_front(batch);
            }
            // It did not say which: one by one, so the bad one fails alone.
            Verdict::Rejected { message, .. } if batch.len() > 1 => {
                self.notes.push(format!(
                    "a batch of {} was refused ({message}); sending one by one",
                    batch.len()
                ));
                for event in batch.into_iter().rev() {
                    self.pending.push_front(vec![event]);
                }
            }
            Verdict::Rejected { message, .. } => {
                self.notes.push(format!("an event was refused: {message}"));
                self.end(&batch, Outcome::Failed(message));
            }
            // Taken, but for the events it named: those fail alone, the rest are sent.
            Verdict::Partial(failed) => {
                for (bad, reason) in &failed {
                    if let Some(&event) = batch.get(*bad) {
                        self.end(&[event], Outcome::Failed(reason.clone()));
                    }
                }
                self.notes.push(format!(
                    "{} of {} events were refused",
                    failed.len(),
                    batch.len()
                ));
                let sent: Vec<usize> = batch
                    .into_iter()
                    .enumerate()
                    .filter(|(i, _)| !failed.iter().any(|(bad, _)| bad == i))
                    .map(|(_, e)| e)
                    .collect();
                self.end(&sent, Outcome::Sent);
            }
            // A setting no retry can fix: the destination's other batches would get the same answer.
            Verdict::ConfigError(reason) => {
                let rest: Vec<usize> = batch
                    .into_iter()
                    .chain(self.pending.drain(..).flatten())
                    .collect();
                self.notes
                    .push(format!("{} events failed: {reason}", rest.len()));
                self.end(&rest, Outcome::Failed(reason));
            }
        }
    }

    fn end(&mut self, events: &[usize], outcome: Outcome) {
        for &i in events {
            self.outcomes[i] = Some(outcome.clone());
        }
    }

    /// Each event's outcome, in the round's order. An event no answer reached (the round was cut short) is
    /// retried, so it is never taken for done.
    pub fn outcomes(self) -> Vec<Outcome> {
        self.outcomes
            .into_iter()
            .map(|o| {
                o.unwrap_or_else(|| Outcome::Retry("the round ended before it was sent".into()))
            })
            .collect()
    }
}

/// What to do with a message whose event ended `outcome`, once the round's ledger write `written` (or not):
/// an ack only for an outcome on disk; a retry after the backoff of its `attempts` for a retry; and when the
/// write failed, a retry for every message (after `base` seconds unless its own backoff is longer), so the
/// outcome is found and written again.
pub fn settle(outcome: &Outcome, written: bool, attempts: u32, base: u32) -> Settle {
    match (outcome, written) {
        (Outcome::Retry(_), _) => Settle::Retry {
            delay_s: backoff_seconds(attempts, base),
        },
        (Outcome::Sent | Outcome::Failed(_), true) => Settle::Ack,
        (Outcome::Sent | Outcome::Failed(_), false) => Settle::Retry { delay_s: base },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a round of `n` events against a platform that answers each batch with `answer(batch)`; returns the
    /// requests made (their events) and the outcomes.
    fn run(
        n: usize,
        max_batch: usize,
        answer: impl Fn(&[usize]) -> Verdict,
    ) -> (Vec<Vec<usize>>, Vec<Outcome>) {
        let mut round = Round::new(n, max_batch);
        let mut requests = Vec::new();
        while let Some(batch) = round.next_batch() {
            let verdict = answer(&batch);
            requests.push(batch.clone());
            round.answer(batch, verdict);
        }
        (requests, round.outcomes())
    }

    fn refused(index: Option<usize>) -> Verdict {
        Verdict::Rejected {
            index,
            message: "HTTP 400: bad".into(),
        }
    }

    #[test]
    fn batches_stay_within_the_limit_and_keep_the_order() {
        let (requests, outcomes) = run(5, 2, |_| Verdict::Delivered);
        assert_eq!(requests, [vec![0, 1], vec![2, 3], vec![4]]);
        assert_eq!(outcomes, vec![Outcome::Sent; 5]);
        // A limit of 0 (never configured so, but not a panic or an endless loop): one by one.
        assert_eq!(run(2, 0, |_| Verdict::Delivered).0, [vec![0], vec![1]]);
        assert_eq!(
            run(0, 10, |_| Verdict::Delivered).0,
            Vec::<Vec<usize>>::new()
        );
    }

    #[test]
    fn a_named_bad_event_fails_alone_and_the_others_go_again() {
        // Event 2 is bad; the platform names its position in the batch it was sent.
        let (requests, outcomes) = run(4, 10, |batch| match batch.iter().position(|&e| e == 2) {
            Some(i) => refused(Some(i)),
            None => Verdict::Delivered,
        });
        assert_eq!(requests, [vec![0, 1, 2, 3], vec![0, 1, 3]]);
        assert_eq!(outcomes[2], Outcome::Failed("HTTP 400: bad".into()));
        assert!([0, 1, 3].iter().all(|&i| outcomes[i] == Outcome::Sent));
    }

    #[test]
    fn an_unnamed_refusal_splits_the_batch_until_the_bad_event_is_alone() {
        let (requests, outcomes) = run(3, 10, |batch| {
            if batch.contains(&1) {
                refused(None)
            } else {
                Verdict::Delivered
            }
        });
        assert_eq!(requests, [vec![0, 1, 2], vec![0], vec![1], vec![2]]);
        assert_eq!(
            outcomes,
            [
                Outcome::Sent,
                Outcome::Failed("HTTP 400: bad".into()),
                Outcome::Sent
            ]
        );
        // A position past the batch is not trusted: split instead.
        let (requests, _) = run(2, 10, |b| {
            if b.len() > 1 {
                refused(Some(7))
            } else {
                Verdict::Delivered
            }
        });
        assert_eq!(requests, [vec![0, 1], vec![0], vec![1]]);
    }

    #[test]
    fn a_config_error_fails_every_event_left_without_sending_them() {
        let (requests, outcomes) = run(5, 2, |_| Verdict::ConfigError("unknown pixel".into()));
        assert_eq!(requests, [vec![0, 1]], "one request, then no more");
        assert_eq!(outcomes, vec![Outcome::Failed("unknown pixel".into()); 5]);
    }

    #[test]
    fn a_retry_keeps_its_reason_for_the_ledger() {
        let (_, outcomes) = run(2, 1, |b| {
            if b == [0] {
                Verdict::Retry("HTTP 503: busy".into())
            } else {
                Verdict::Delivered
            }
        });
        assert_eq!(
            outcomes,
            [Outcome::Retry("HTTP 503: busy".into()), Outcome::Sent]
        );
    }

    #[test]
    fn a_message_is_acked_only_when_its_outcome_is_on_disk() {
        let sent = Outcome::Sent;
        let failed = Outcome::Failed("refused".into());
        let retry = Outcome::Retry("busy".into());
        // Written: sent and failed are done; a retry waits its backoff (base 10 s, third attempt: 40 s).
        assert_eq!(settle(&sent, true, 2, 10), Settle::Ack);
        assert_eq!(settle(&failed, true, 2, 10), Settle::Ack);
        assert_eq!(settle(&retry, true, 2, 10), Settle::Retry { delay_s: 40 });
        // Not written: nothing is acked, whatever the platform said; the queue brings each back.
        assert_eq!(settle(&sent, false, 2, 10), Settle::Retry { delay_s: 10 });
        assert_eq!(settle(&failed, false, 2, 10), Settle::Retry { delay_s: 10 });
        assert_eq!(settle(&retry, false, 2, 10), Settle::Retry { delay_s: 40 });
    }

    #[test]
    fn an_event_the_round_never_answered_is_retried_not_taken_for_done() {
        let mut round = Round::new(3, 1);
        let first = round.next_batch().unwrap();
        round.answer(first, Verdict::Delivered);
        // The shell stops early (it never does today, but the outcome must still be safe).
        let outcomes = round.outcomes();
        assert_eq!(outcomes[0], Outcome::Sent);
        assert!(matches!(outcomes[1], Outcome::Retry(_)));
        assert!(matches!(outcomes[2], Outcome::Retry(_)));
    }
}
