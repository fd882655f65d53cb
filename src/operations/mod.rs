//! Running it: what the ledger tells, and what to do about it: counters, alerts, the dashboard's numbers,
//! replay, reconciliation, the hit sample and its diff, and intake's tallies.

pub mod alerts;
pub mod counters;
pub mod dashboard;
pub mod reconcile;
pub mod replay;
pub mod sample;
pub mod sample_diff;
pub mod tally;
