//! The destination-neutral event: what a tag produces from a hit after mapping, normalization and hashing.
//! Destinations turn it into their own JSON.

use crate::hit::Source;
use crate::normalize::{Identifier, Key};
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
#[derive(Debug, Clone, PartialEq)]
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
