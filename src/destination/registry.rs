//! Every destination kind, one line each. `Kind` is a kind's handle: looked up by name, compared by name, stored
//! by name in the compiled config.

use super::platform::Platform;
use std::fmt;

/// The kinds, in the order `check`'s hints list them. A new kind is its file and one line here.
static PLATFORMS: &[&dyn Platform] = &[
    &super::openai::OpenAi,
    &super::capi::Capi,
    &super::meta::Meta,
    &super::webhook::Webhook,
    &super::ga4::Ga4Forward,
    &super::tiktok::TikTok,
    &super::pinterest::Pinterest,
    &super::snap::Snap,
    &super::reddit::Reddit,
    &super::linkedin::LinkedIn,
    &super::ga4_mp::Ga4Mp,
    &super::google_ads::GoogleAds,
    &super::x::X,
];

/// A destination kind.
#[derive(Clone, Copy)]
pub struct Kind(&'static dyn Platform);

impl Kind {
    /// The kind `[[destination]] kind = "…"` names.
    pub fn parse(name: &str) -> Option<Kind> {
        PLATFORMS
            .iter()
            .find(|p| p.name() == name)
            .map(|p| Kind(*p))
    }

    /// Every kind's name, for hints.
    pub fn names() -> Vec<&'static str> {
        PLATFORMS.iter().map(|p| p.name()).collect()
    }

    pub fn as_str(self) -> &'static str {
        self.0.name()
    }

    pub fn platform(self) -> &'static dyn Platform {
        self.0
    }

    pub fn is_ad_platform(self) -> bool {
        self.0.is_ad_platform()
    }

    /// A kind as a compiled config stored it. Configs compiled before the registry (config store format 1, kept
    /// in KV) spelled the kinds as Rust variants (`OpenAi`, `Ga4`): read both.
    fn from_stored(stored: &str) -> Option<Kind> {
        Kind::parse(stored).or_else(|| {
            PLATFORMS
                .iter()
                .find(|p| p.name().replace('-', "").eq_ignore_ascii_case(stored))
                .map(|p| Kind(*p))
        })
    }
}

impl PartialEq for Kind {
    fn eq(&self, other: &Kind) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Kind {}

impl fmt::Debug for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Kind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Kind {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Kind, D::Error> {
        let stored = String::deserialize(deserializer)?;
        Kind::from_stored(&stored).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown destination kind {stored:?} (this worker knows {})",
                Kind::names().join(", ")
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_is_found_by_its_name_and_names_are_unique() {
        let names = Kind::names();
        for name in &names {
            assert_eq!(Kind::parse(name).map(Kind::as_str), Some(*name));
        }
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len());
        assert!(Kind::parse("opnai").is_none());
    }

    #[test]
    fn kinds_stored_by_earlier_versions_still_read() {
        for (stored, name) in [
            ("OpenAi", "openai"),
            ("Capi", "capi"),
            ("Meta", "meta"),
            ("Webhook", "webhook"),
            ("Ga4", "ga4"),
            ("openai", "openai"),
        ] {
            let kind: Kind = serde_json::from_str(&format!("{stored:?}")).unwrap();
            assert_eq!(kind.as_str(), name);
            assert_eq!(serde_json::to_string(&kind).unwrap(), format!("{name:?}"));
        }
        let err = serde_json::from_str::<Kind>("\"Tiktok2\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown destination kind"), "{err}");
    }
}
