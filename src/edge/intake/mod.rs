//! The intake worker (feature `intake`), the hot path: browser and GA4 requests (`browser`), the backend API,
//! order webhooks and the platform-script proxy (`server`).

pub(crate) mod browser;
pub(crate) mod server;
