//! GA4's event names → capi-edge's event names: GA4's recommended events mapped to the standard ones, with the
//! config's `[ga4] events` on top. The vocabulary the GA4 client (`intake::ga4`) and the pixel's dataLayer bridge
//! name hits by; the config checks its overrides against it.

use crate::hit::MAX_NAME_LEN;
use std::collections::BTreeMap;

/// GA4 recommended events → capi-edge standard events. Any other event keeps its GA4 name.
pub const DEFAULT_EVENT_TABLE: &[(&str, &str)] = &[
    ("add_to_cart", "AddToCart"),
    ("begin_checkout", "InitiateCheckout"),
    ("generate_lead", "Lead"),
    ("page_view", "PageView"),
    ("purchase", "Purchase"),
    ("sign_up", "CompleteRegistration"),
    ("view_item", "ViewContent"),
];

/// GA4 event names → hit event names: `DEFAULT_EVENT_TABLE`, with overrides from the config on top.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventTable {
    overrides: BTreeMap<String, String>,
}

impl EventTable {
    /// The default table with `overrides` (GA4 name → event name) on top; an event name must be 1 to 128
    /// bytes with no control character, as a hit's.
    pub fn new(overrides: BTreeMap<String, String>) -> Result<EventTable, String> {
        for (ga4, event) in &overrides {
            if !crate::base::guard::safe_id(event, MAX_NAME_LEN) {
                return Err(format!(
                    "GA4 event \"{ga4}\" maps to an unusable name: use 1 to {MAX_NAME_LEN} characters, no line breaks"
                ));
            }
        }
        Ok(EventTable { overrides })
    }

    /// The hit's event name for a GA4 event name.
    pub fn event_name<'a>(&'a self, ga4: &'a str) -> &'a str {
        if let Some(name) = self.overrides.get(ga4) {
            return name;
        }
        match DEFAULT_EVENT_TABLE.binary_search_by(|(k, _)| (*k).cmp(ga4)) {
            Ok(i) => DEFAULT_EVENT_TABLE[i].1,
            Err(_) => ga4,
        }
    }
}
