//! Normalization and SHA-256 hashing of customer information, per Meta's customer-information rules
//! (which OpenAI's CAPI follows). Invalid values are refused, never hashed: a hash of garbage matches nobody
//! and lowers the event's quality.

use sha2::{Digest, Sha256};
use std::fmt;

/// The customer-information keys the platforms define.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Key {
    Email,
    Phone,
    FirstName,
    LastName,
    DateOfBirth,
    Gender,
    City,
    State,
    Zip,
    Country,
    ExternalId,
}

impl Key {
    pub const ALL: [Key; 11] = [
        Key::Email,
        Key::Phone,
        Key::FirstName,
        Key::LastName,
        Key::DateOfBirth,
        Key::Gender,
        Key::City,
        Key::State,
        Key::Zip,
        Key::Country,
        Key::ExternalId,
    ];

    /// The platforms' short name (`em`, `ph`, …), used in configs, the CLI and Meta-style payloads.
    pub fn code(self) -> &'static str {
        match self {
            Key::Email => "em",
            Key::Phone => "ph",
            Key::FirstName => "fn",
            Key::LastName => "ln",
            Key::DateOfBirth => "db",
            Key::Gender => "ge",
            Key::City => "ct",
            Key::State => "st",
            Key::Zip => "zp",
            Key::Country => "country",
            Key::ExternalId => "external_id",
        }
    }

    /// Accepts the short code or a readable name (`email`, `phone`, `first_name`, …).
    pub fn parse(name: &str) -> Option<Key> {
        Key::ALL.into_iter().find(|k| {
            k.code() == name
                || matches!(
                    (k, name),
                    (Key::Email, "email")
                        | (Key::Phone, "phone")
                        | (Key::FirstName, "first_name" | "name")
                        | (Key::LastName, "last_name")
                        | (Key::DateOfBirth, "date_of_birth" | "date")
                        | (Key::Gender, "gender")
                        | (Key::City, "city")
                        | (Key::State, "state")
                        | (Key::Zip, "zip")
                )
        })
    }
}

/// Why a value was refused. The text is shown to the user as the event's warning.
#[derive(Debug, Clone, PartialEq)]
pub struct Invalid {
    pub key: Key,
    pub reason: &'static str,
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} dropped: {}", self.key.code(), self.reason)
    }
}

/// A customer identifier ready to send: its hash, and the normalized form for the places that want it raw
/// (OpenAI's geography) and for debug traces. `normalized` is `None` when the input was already a hash.
#[derive(Debug, Clone, PartialEq)]
pub struct Identifier {
    pub normalized: Option<String>,
    pub sha256: String,
}

impl Identifier {
    /// The form to send where a platform wants the value unhashed (OpenAI's `cities`, `regions`, …): the
    /// normalized value, except that a city keeps its spaces (`san francisco`, not `sanfrancisco`).
    pub fn plain(&self, key: Key, raw: &str) -> Option<String> {
        let normalized = self.normalized.clone()?;
        Some(match key {
            Key::City => raw
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_lowercase(),
            Key::Country => normalized.to_ascii_uppercase(),
            _ => normalized,
        })
    }
}

/// Normalizes and hashes; a value that is already a SHA-256 (64 hex characters) passes through unchanged.
pub fn identify(key: Key, raw: &str) -> Result<Identifier, Invalid> {
    let trimmed = raw.trim();
    if is_sha256_hex(trimmed) {
        return Ok(Identifier {
            normalized: None,
            sha256: trimmed.to_ascii_lowercase(),
        });
    }
    let normalized = normalize(key, trimmed)?;
    Ok(Identifier {
        sha256: sha256_hex(&normalized),
        normalized: Some(normalized),
    })
}

/// The platform's normal form of a value, before hashing.
pub fn normalize(key: Key, raw: &str) -> Result<String, Invalid> {
    let invalid = |reason| Invalid { key, reason };
    let value = raw.trim();
    if value.is_empty() {
        return Err(invalid("empty"));
    }
    let out = match key {
        Key::Email => email(value).ok_or(invalid("not an email address"))?,
        Key::Phone => phone(value).ok_or(invalid(
            "a phone number needs 7 to 15 digits with the country code",
        ))?,
        Key::FirstName | Key::LastName => {
            let n: String = value
                .to_lowercase()
                .chars()
                .filter(|c| c.is_alphanumeric())
                .collect();
            non_empty(n).ok_or(invalid("no letters"))?
        }
        Key::DateOfBirth => date(value).ok_or(invalid("not a date (use YYYY-MM-DD)"))?,
        Key::Gender => match value.to_lowercase().as_str() {
            "f" | "female" => "f".to_string(),
            "m" | "male" => "m".to_string(),
            _ => return Err(invalid("gender must be f/female or m/male")),
        },
        Key::City => {
            let c: String = value
                .to_lowercase()
                .chars()
                .filter(|c| c.is_alphabetic())
                .collect();
            non_empty(c).ok_or(invalid("no letters"))?
        }
        Key::State => state(value).ok_or(invalid("no letters"))?,
        Key::Zip => zip(value).ok_or(invalid("not a postal code"))?,
        Key::Country => country(value).ok_or(invalid(
            "not an ISO 3166-1 two-letter country code or a known country name",
        ))?,
        Key::ExternalId => value.to_string(),
    };
    Ok(out)
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

/// Trim and lowercase, then require one `@` with a local part and a dotted domain, and no spaces.
fn email(value: &str) -> Option<String> {
    let e = value.to_lowercase();
    let (local, domain) = e.split_once('@')?;
    let ok = !local.is_empty()
        && domain.contains('.')
        && !domain.contains('@')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !e.chars().any(char::is_whitespace);
    ok.then_some(e)
}

/// Digits only, international prefix (`+` or `00`) and leading zeros dropped, 7 to 15 digits (E.164).
fn phone(value: &str) -> Option<String> {
    if value.chars().any(|c| c.is_alphabetic()) {
        return None;
    }
    let digits: String = value.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_start_matches('0');
    (7..=15).contains(&digits.len()).then(|| digits.to_string())
}

/// `YYYYMMDD` from `YYYY-MM-DD`, `YYYY/MM/DD`, `YYYYMMDD`, `MM/DD/YYYY` (the US order Meta's docs use) or
/// `DD.MM.YYYY`; a time after the date (`T…` or a space) is ignored.
fn date(value: &str) -> Option<String> {
    let value = value.split(['T', ' ']).next()?;
    let parts: Vec<&str> = value.split(['-', '/', '.']).collect();
    let (y, m, d) = match parts.as_slice() {
        [ymd] if ymd.len() == 8 => (&ymd[..4], &ymd[4..6], &ymd[6..]),
        [y, m, d] if y.len() == 4 => (*y, *m, *d),
        [m, d, y] if y.len() == 4 && value.contains('/') => (*y, *m, *d),
        [d, m, y] if y.len() == 4 && value.contains('.') => (*y, *m, *d),
        _ => return None,
    };
    let (y, m, d): (u32, u32, u32) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    let ok = (1900..=2100).contains(&y) && (1..=12).contains(&m) && (1..=31).contains(&d);
    ok.then(|| format!("{y:04}{m:02}{d:02}"))
}

/// Two-letter code lowercased; a US state's name becomes its code; else lowercase letters only.
fn state(value: &str) -> Option<String> {
    let letters: String = value
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphabetic())
        .collect();
    if letters.is_empty() {
        return None;
    }
    Some(
        US_STATES
            .iter()
            .find(|(_, name)| name.replace(' ', "") == letters)
            .map_or(letters, |(code, _)| code.to_string()),
    )
}

/// Lowercase without spaces; the part before a dash; a US ZIP+4 (`94025-1234`, `940251234`) keeps 5 digits.
fn zip(value: &str) -> Option<String> {
    let z: String = value
        .to_lowercase()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let z = z.split('-').next().unwrap_or("").to_string();
    if z.is_empty() || !z.chars().all(|c| c.is_alphanumeric()) {
        return None;
    }
    if z.len() == 9 && z.chars().all(|c| c.is_ascii_digit()) {
        return Some(z[..5].to_string());
    }
    Some(z)
}

/// ISO 3166-1 alpha-2, lowercase; common English names map to their codes.
fn country(value: &str) -> Option<String> {
    let lower = value.to_lowercase();
    let letters: String = lower
        .chars()
        .filter(|c| c.is_alphabetic() || *c == ' ')
        .collect();
    let letters = letters.trim();
    if letters.len() == 2 && letters.chars().all(|c| c.is_ascii_lowercase()) {
        return Some(letters.to_string());
    }
    COUNTRIES
        .iter()
        .find(|(_, names)| names.split('|').any(|n| n == letters))
        .map(|(code, _)| code.to_string())
}

pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Lowercase hex SHA-256 of the UTF-8 bytes.
pub fn sha256_hex(s: &str) -> String {
    let digest = Sha256::digest(s.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest {
        push_hex(&mut out, b);
    }
    out
}

/// Appends a byte as two lowercase hex digits.
pub fn push_hex(out: &mut String, byte: u8) {
    out.push(HEX[(byte >> 4) as usize] as char);
    out.push(HEX[(byte & 15) as usize] as char);
}

const HEX: &[u8; 16] = b"0123456789abcdef";

const US_STATES: [(&str, &str); 51] = [
    ("al", "alabama"),
    ("ak", "alaska"),
    ("az", "arizona"),
    ("ar", "arkansas"),
    ("ca", "california"),
    ("co", "colorado"),
    ("ct", "connecticut"),
    ("de", "delaware"),
    ("dc", "district of columbia"),
    ("fl", "florida"),
    ("ga", "georgia"),
    ("hi", "hawaii"),
    ("id", "idaho"),
    ("il", "illinois"),
    ("in", "indiana"),
    ("ia", "iowa"),
    ("ks", "kansas"),
    ("ky", "kentucky"),
    ("la", "louisiana"),
    ("me", "maine"),
    ("md", "maryland"),
    ("ma", "massachusetts"),
    ("mi", "michigan"),
    ("mn", "minnesota"),
    ("ms", "mississippi"),
    ("mo", "missouri"),
    ("mt", "montana"),
    ("ne", "nebraska"),
    ("nv", "nevada"),
    ("nh", "new hampshire"),
    ("nj", "new jersey"),
    ("nm", "new mexico"),
    ("ny", "new york"),
    ("nc", "north carolina"),
    ("nd", "north dakota"),
    ("oh", "ohio"),
    ("ok", "oklahoma"),
    ("or", "oregon"),
    ("pa", "pennsylvania"),
    ("ri", "rhode island"),
    ("sc", "south carolina"),
    ("sd", "south dakota"),
    ("tn", "tennessee"),
    ("tx", "texas"),
    ("ut", "utah"),
    ("vt", "vermont"),
    ("va", "virginia"),
    ("wa", "washington"),
    ("wv", "west virginia"),
    ("wi", "wisconsin"),
    ("wy", "wyoming"),
];

/// Country names customers and shops commonly send, `|`-separated aliases.
const COUNTRIES: [(&str, &str); 40] = [
    ("us", "united states|united states of america|usa|america"),
    (
        "gb",
        "united kingdom|uk|great britain|england|scotland|wales",
    ),
    ("ca", "canada"),
    ("au", "australia"),
    ("nz", "new zealand"),
    ("ie", "ireland"),
    ("de", "germany|deutschland"),
    ("fr", "france"),
    ("es", "spain|españa"),
    ("it", "italy|italia"),
    ("nl", "netherlands|the netherlands|holland"),
    ("be", "belgium"),
    ("ch", "switzerland"),
    ("at", "austria"),
    ("se", "sweden"),
    ("no", "norway"),
    ("dk", "denmark"),
    ("fi", "finland"),
    ("pl", "poland"),
    ("pt", "portugal"),
    ("gr", "greece"),
    ("cz", "czech republic|czechia"),
    ("hu", "hungary"),
    ("ro", "romania"),
    ("tr", "turkey|türkiye"),
    ("il", "israel"),
    ("ae", "united arab emirates|uae"),
    ("sa", "saudi arabia"),
    ("in", "india"),
    ("cn", "china"),
    ("jp", "japan"),
    ("kr", "south korea|korea"),
    ("sg", "singapore"),
    ("hk", "hong kong"),
    ("br", "brazil|brasil"),
    ("mx", "mexico|méxico"),
    ("ar", "argentina"),
    ("cl", "chile"),
    ("za", "south africa"),
    ("ng", "nigeria"),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// (key, input, normalized, sha256, source of the vector).
    const VECTORS: &[(Key, &str, &str, &str, &str)] = &[
        (
            Key::Phone,
            "12345678901",
            "12345678901",
            "254aa248acb47dd654ca3ea53f48c2c26d641d23d7e2e93a1ec56258df7674c4",
            "Meta docs, conversions-api/using-the-api, ph[0]",
        ),
        (
            Key::Phone,
            "14251234567",
            "14251234567",
            "6f4fcb9deaeadc8f9746ae76d97ce1239e98b404efe5da3ee0b7149740f89ad6",
            "Meta docs, conversions-api/using-the-api, ph[1]",
        ),
        (
            Key::Email,
            "user@example.com",
            "user@example.com",
            "b4c9a289323b21a01c3e940f150eb9b8c542587f1abfd8f0e1cc1ffc5e475514",
            "OpenAI docs, ads/conversions-api, email_sha256 example",
        ),
        (
            Key::ExternalId,
            "customer_12345",
            "customer_12345",
            "73d83a078369bb4f0971b317aa7797a91cf5c0df1b62161c2e47d75c33ab5b6e",
            "OpenAI docs, ads/conversions-api, external_id_sha256 example",
        ),
        (
            Key::LastName,
            "  Eg  ",
            "eg",
            "d8c59e8348e0c03f9d2105eed9791438f9aea9586381b79deadbc857eef89d78",
            "facebook-nodejs-business-sdk tests/utils_tests.js",
        ),
        (
            Key::Phone,
            "123-456-7890",
            "1234567890",
            "c775e7b757ede630cd0aa1113bd102661ab38829ca52a6422ab782862f268646",
            "facebook-php-business-sdk ServerSideNormalizeTest.php",
        ),
        (
            Key::Phone,
            "777 747 (3515)",
            "7777473515",
            "01ba19215e2efbb53182cce7f28d13acc75c841a0654653928bd58cff211d0ed",
            "facebook-php-business-sdk ServerSideNormalizeTest.php",
        ),
        (
            Key::Phone,
            "+442071838750",
            "442071838750",
            "8d5f937f3a5590634cbe975951a6aa1543170671ce6e73cce4062f4e8c288417",
            "facebook-php-business-sdk ServerSideNormalizeTest.php",
        ),
        (
            Key::Zip,
            "  98121",
            "98121",
            "a77c0363c8e376696caa1c871266c54476d5ac554bfd6eeb4f42f6a8d607e8fe",
            "facebook-php-business-sdk ServerSideNormalizeTest.php",
        ),
        (
            Key::Zip,
            "98121-4892",
            "98121",
            "a77c0363c8e376696caa1c871266c54476d5ac554bfd6eeb4f42f6a8d607e8fe",
            "facebook-php-business-sdk ServerSideNormalizeTest.php",
        ),
        (
            Key::Zip,
            "NR9 5AL",
            "nr95al",
            "1d62287dd0994fc3728f000dea1ee560d7a81120de2a911871adbad59d64701d",
            "facebook-php-business-sdk ServerSideNormalizeTest.php",
        ),
        (
            Key::City,
            "Menlo Park",
            "menlopark",
            "0007a3d64c01e23d5075203c5977c14e4f7e01a3fc570686fcc50b5e1dd42685",
            "facebook-php-business-sdk ServerSideNormalizeTest.php",
        ),
        (
            Key::City,
            "Seattle-98121",
            "seattle",
            "3151a8f227c0e11fd9a7fd1aa24ebfee734503dea095c22c3b2fae09d62eeb25",
            "facebook-php-business-sdk ServerSideNormalizeTest.php",
        ),
        (
            Key::City,
            "Washington D.C",
            "washingtondc",
            "911fa18df8b2a4ff2652c32a0efa25516115d6fb0170849a41f38113e5371fe0",
            "facebook-php-business-sdk ServerSideNormalizeTest.php",
        ),
        (
            Key::Country,
            "   US   ",
            "us",
            "79adb2a2fce5c6ba215fe5f27f532d4e7edbac4b6a5e09e1ef3a08084a904621",
            "facebook-php-business-sdk ServerSideNormalizeTest.php",
        ),
        (
            Key::FirstName,
            "John",
            "john",
            "96d9632f363564cc3032521409cf22a852f2032eec099ed5967c0d000cec607a",
            "facebookincubator ConversionsAPI-Tag-for-GoogleTagManager template.tpl tests",
        ),
        (
            Key::Email,
            "Person@Example.com",
            "person@example.com",
            "542d240129883c019e106e3b1b2d3f3cb3537c43c425364de8e951d5a3083345",
            "Snap Conversions API docs print 542d2401…3345; full digest from sha256sum",
        ),
        (
            Key::Phone,
            "+44 844 412 4653",
            "448444124653",
            "dc008fda46e2e64002cf2f82a4906236282d431c4f75e5b60bfe79fc48546383",
            "Snap Conversions API docs (same rules)",
        ),
    ];

    #[test]
    fn official_vectors_normalize_and_hash_exactly() {
        for (key, input, normalized, hash, source) in VECTORS {
            let id = identify(*key, input).unwrap_or_else(|e| panic!("{input:?} ({source}): {e}"));
            assert_eq!(
                id.normalized.as_deref(),
                Some(*normalized),
                "{input:?} ({source})"
            );
            assert_eq!(id.sha256, *hash, "{input:?} ({source})");
        }
    }

    #[test]
    fn normalization_rules_per_key() {
        let ok: &[(Key, &str, &str)] = &[
            (
                Key::Email,
                " Jane.Doe+ads@Example.COM ",
                "jane.doe+ads@example.com",
            ),
            (Key::Phone, "0044 20 7183 8750", "442071838750"),
            (Key::Phone, "(650) 555-1212", "6505551212"),
            (Key::FirstName, "Valéry", "valéry"),
            (Key::FirstName, "Mary-Ann", "maryann"),
            (Key::LastName, "O'Brien", "obrien"),
            (Key::DateOfBirth, "1991-05-26", "19910526"),
            (Key::DateOfBirth, "1991/5/26", "19910526"),
            (Key::DateOfBirth, "05/26/1991", "19910526"),
            (Key::DateOfBirth, "26.05.1991", "19910526"),
            (Key::DateOfBirth, "19910526", "19910526"),
            (Key::DateOfBirth, "1991-05-26T00:00:00Z", "19910526"),
            (Key::Gender, "Female", "f"),
            (Key::Gender, " M ", "m"),
            (Key::City, "San Francisco", "sanfrancisco"),
            (Key::State, "California", "ca"),
            (Key::State, "CA", "ca"),
            (Key::State, "New York", "ny"),
            (Key::State, "Île-de-France", "îledefrance"),
            (Key::Zip, "94025-1234", "94025"),
            (Key::Zip, "940251234", "94025"),
            (Key::Zip, "SW1A 1AA", "sw1a1aa"),
            (Key::Country, "United States", "us"),
            (Key::Country, "Deutschland", "de"),
            (Key::Country, "FR", "fr"),
            (Key::ExternalId, " User-42 ", "User-42"),
        ];
        for (key, input, expected) in ok {
            assert_eq!(
                normalize(*key, input).as_deref(),
                Ok(*expected),
                "{key:?} {input:?}"
            );
        }
    }

    #[test]
    fn garbage_is_refused_not_hashed() {
        let bad: &[(Key, &str)] = &[
            (Key::Email, "not-an-email"),
            (Key::Email, "a@b"),
            (Key::Email, "a b@c.com"),
            (Key::Email, "@example.com"),
            (Key::Phone, "12345"),
            (Key::Phone, "1234567890123456"),
            // The PHP SDK strips the letter (→ 4412390821300); we refuse: a typo'd number matches nobody.
            (Key::Phone, "44-12390821300A"),
            (Key::FirstName, "..."),
            (Key::DateOfBirth, "1991-13-01"),
            (Key::DateOfBirth, "yesterday"),
            (Key::Gender, "x"),
            (Key::Country, "Atlantis"),
            (Key::Zip, "!!"),
            (Key::Email, "   "),
        ];
        for (key, input) in bad {
            assert!(
                identify(*key, input).is_err(),
                "{key:?} {input:?} should be refused"
            );
        }
    }

    #[test]
    fn an_existing_sha256_passes_through_unchanged() {
        let h = "B4C9A289323B21A01C3E940F150EB9B8C542587F1ABFD8F0E1CC1FFC5E475514";
        for key in Key::ALL {
            let id = identify(key, h).unwrap();
            assert_eq!(id.sha256, h.to_ascii_lowercase());
            assert_eq!(id.normalized, None);
        }
    }

    #[test]
    fn plain_geography_keeps_what_openai_wants_readable() {
        let city = identify(Key::City, "  San   Francisco ").unwrap();
        assert_eq!(
            city.plain(Key::City, "  San   Francisco ").as_deref(),
            Some("san francisco")
        );
        let country = identify(Key::Country, "us").unwrap();
        assert_eq!(country.plain(Key::Country, "us").as_deref(), Some("US"));
    }
}
