//! capi-edge: a server-side tag for ad platforms' Conversions APIs, at the edge.
//!
//! The pure core (everything but `edge`) runs natively: config → triggers → mappings → normalization and
//! hashing → destination payloads → outbound request values. The `edge` module is the thin Cloudflare Worker
//! shell, the only code that touches the `worker` crate; it is compiled for wasm32 only.
//!
//! The layers, bottom to top; an import only ever points down this list (CONTRIBUTING.md, "Where things live"):
//! `base` < `hit` < `identity` < `event`, `rules` < `destination` < `config` < `pipeline` < `delivery` <
//! `operations` < `intake` < `check` < `edge`.

pub mod base;
pub mod check;
pub mod config;
pub mod delivery;
pub mod destination;
pub mod event;
pub mod hit;
pub mod identity;
pub mod intake;
pub mod operations;
pub mod pipeline;
pub mod rules;

pub use check::check;

#[cfg(all(target_arch = "wasm32", any(feature = "intake", feature = "admin")))]
mod edge;
