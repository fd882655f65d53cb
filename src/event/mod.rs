//! The destination-neutral event: what a tag produces from a hit after mapping, normalization and hashing.
//! Destinations turn it into their own JSON.

pub mod ga4_names;
pub mod quality;
pub mod standard;

use crate::hit::Source;
use crate::identity::click_ids::ClickId;
use crate::identity::normalize::{Identifier, Key};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Where the conversion happened, in the platforms' shared vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum ActionSource {
    #[default]
    Website,
    App,
    Email,
    PhoneCall,
    PhysicalStore,
    Offline,
    Chat,
    Other,
}

impl ActionSource {
    pub const NAMES: [&'static str; 8] = [
        "website",
        "app",
        "email",
        "phone_call",
        "physical_store",
        "offline",
        "chat",
        "other",
    ];

    pub fn parse(s: &str) -> Option<ActionSource> {
        Some(match s {
            "website" | "web" => ActionSource::Website,
            "app" | "mobile_app" => ActionSource::App,
            "email" => ActionSource::Email,
            "phone_call" => ActionSource::PhoneCall,
            "physical_store" => ActionSource::PhysicalStore,
            "offline" | "system_generated" => ActionSource::Offline,
            "chat" | "business_messaging" => ActionSource::Chat,
            "other" => ActionSource::Other,
            _ => return None,
        })
    }

    /// An order's sales channel as shops name it: Shopify's `source_name`, WooCommerce's `created_via`. A
    /// point-of-sale order happened in a store, a subscription renewal was made by the system, a staff-created
    /// order (a draft, an admin order) is `other`. Unknown channels (an app's id, `rest-api`) give `None`.
    pub fn from_channel(channel: &str) -> Option<ActionSource> {
        Some(match channel.trim().to_ascii_lowercase().as_str() {
            "web" | "checkout" | "store-api" | "online_store" => ActionSource::Website,
            "pos" | "pos-rest-api" => ActionSource::PhysicalStore,
            "subscription" => ActionSource::Offline,
            "shopify_draft_order" | "admin" => ActionSource::Other,
            "phone" => ActionSource::PhoneCall,
            other => return ActionSource::parse(other),
        })
    }

    /// Meta's names.
    pub fn meta(self) -> &'static str {
        match self {
            ActionSource::Website => "website",
            ActionSource::App => "app",
            ActionSource::Email => "email",
            ActionSource::PhoneCall => "phone_call",
            ActionSource::PhysicalStore => "physical_store",
            ActionSource::Offline => "system_generated",
            ActionSource::Chat => "chat",
            ActionSource::Other => "other",
        }
    }

    /// OpenAI's names.
    pub fn openai(self) -> &'static str {
        match self {
            ActionSource::Website => "web",
            ActionSource::App => "mobile_app",
            ActionSource::Email => "email",
            ActionSource::PhoneCall => "phone_call",
            ActionSource::PhysicalStore => "physical_store",
            ActionSource::Offline => "offline",
            ActionSource::Chat | ActionSource::Other => "other",
        }
    }
}

/// Customer information after normalization and hashing, plus the never-hashed signals.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserData {
    /// Hashed identifiers; `plain` holds the unhashed geography OpenAI asks for (city, state, zip, country).
    pub identifiers: BTreeMap<Key, Identifier>,
    pub plain: BTreeMap<Key, String>,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    pub fbc: Option<String>,
    pub fbp: Option<String>,
    pub oppref: Option<String>,
    /// The other platforms' click ids and browser ids (`ttclid`, `_ttp`, `gclid`, …).
    pub click_ids: BTreeMap<ClickId, String>,
}

/// One product line.
#[derive(Debug, Clone, PartialEq)]
pub struct Content {
    pub id: String,
    pub name: Option<String>,
    pub quantity: Option<f64>,
    /// Unit price in major units (149.0 = $149).
    pub price: Option<f64>,
    pub category: Option<String>,
}

/// An event ready for any destination.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Event {
    pub tag: String,
    /// The tag's event name (`Purchase`, or a custom name).
    pub name: String,
    pub event_id: String,
    pub time_ms: i64,
    pub source: Source,
    pub action_source: ActionSource,
    pub source_url: Option<String>,
    pub user: UserData,
    pub value: Option<f64>,
    pub currency: Option<String>,
    pub contents: Vec<Content>,
    pub order_id: Option<String>,
    /// Custom `data.<name>` fields the tag maps.
    pub custom: Map<String, Value>,
    /// Match quality estimate, 0–10 (see `match_quality`).
    pub match_quality: f64,
    /// Values dropped on the way, in words (`em dropped: not an email address`).
    pub warnings: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_orders_channel_gives_its_action_source() {
        // Shopify Order `source_name` (shopify.dev, REST Order resource); WooCommerce `created_via`
        // (WC_Order::get_created_via: checkout, admin, rest-api, store-api, subscription).
        let cases = [
            ("web", Some(ActionSource::Website)),
            ("checkout", Some(ActionSource::Website)),
            ("store-api", Some(ActionSource::Website)),
            ("pos", Some(ActionSource::PhysicalStore)),
            ("POS", Some(ActionSource::PhysicalStore)),
            ("shopify_draft_order", Some(ActionSource::Other)),
            ("admin", Some(ActionSource::Other)),
            ("subscription", Some(ActionSource::Offline)),
            ("physical_store", Some(ActionSource::PhysicalStore)),
            ("580111", None),
            ("rest-api", None),
        ];
        for (channel, expected) in cases {
            assert_eq!(ActionSource::from_channel(channel), expected, "{channel}");
        }
        assert_eq!(ActionSource::PhysicalStore.meta(), "physical_store");
    }
}
