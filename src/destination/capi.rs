//! The Meta-style CAPI layout the setup article shows for OpenAI:
//! `POST https://ads-api.openai.com/v1/events` with `{"pixel_id", "access_token", "data": [...]}`.
//! Its events and errors are Meta's (`meta_style`).

use super::meta_style;
use super::platform::{
    object, Auth, Destination, DestinationConfig, ErrorReading, Parts, Platform,
};
use crate::event::Event;
use serde_json::Value;

pub const DEFAULT_ENDPOINT: &str = "https://ads-api.openai.com/v1/events";

pub struct Capi;

impl Platform for Capi {
    fn name(&self) -> &'static str {
        "capi"
    }

    fn default_endpoint(&self, _config: &DestinationConfig, _pixel_id: &str) -> Option<String> {
        Some(DEFAULT_ENDPOINT.to_string())
    }

    fn event_json(&self, _dest: &Destination, event: &Event) -> Result<Value, String> {
        meta_style::event_json(event)
    }

    fn request(&self, dest: &Destination, events: Vec<Value>, auth: &Auth, _test: bool) -> Parts {
        let body = object([
            ("pixel_id", dest.pixel_id.clone().into()),
            ("access_token", auth.token().into()),
            ("data", Value::Array(events)),
        ]);
        (
            dest.endpoint.clone(),
            Vec::new(),
            meta_style::with_test_event_code(body, dest),
        )
    }

    fn read_error(
        &self,
        _dest: &Destination,
        status: u16,
        error: &Value,
        message: &str,
    ) -> Option<ErrorReading> {
        meta_style::read_error(status, error, message)
    }

    fn test_mode_refusal(&self, dest: &Destination) -> Option<String> {
        meta_style::test_mode_refusal(dest)
    }
}
