//! Normalization and SHA-256 hashing of customer information, per Meta's customer-information rules
//! (which OpenAI's CAPI follows). Invalid values are refused, never hashed: a hash of garbage matches nobody
//! and lowers the event's quality.

use crate::base::text::Case;
use crate::identity::country;
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
                .lowercase(),
            Key::Country => normalized.to_ascii_uppercase(),
            _ => normalized,
        })
    }
}

/// Normalizes and hashes; a value that is already a SHA-256 (64 hex characters) passes through unchanged.
pub fn identify(key: Key, raw: &str) -> Result<Identifier, Invalid> {
    hashed(raw, |value| normalize(key, value))
}

/// Like `identify(Key::Phone, raw)`, but a national number gets the calling code of `country` (an ISO
/// 3166-1 alpha-2 code in any case; the billing address's): Meta asks for the country code always, so
/// `(312) 555-0148` from a US address is `13125550148`. See `phone_in` for the rules.
pub fn identify_phone(raw: &str, country: Option<&str>) -> Result<Identifier, Invalid> {
    hashed(raw, |value| {
        let invalid = |reason| Invalid {
            key: Key::Phone,
            reason,
        };
        if value.is_empty() {
            return Err(invalid("empty"));
        }
        phone(value, country).ok_or(invalid(PHONE_REFUSED))
    })
}

fn hashed(
    raw: &str,
    normalize: impl FnOnce(&str) -> Result<String, Invalid>,
) -> Result<Identifier, Invalid> {
    let trimmed = raw.trim();
    if is_sha256_hex(trimmed) {
        return Ok(Identifier {
            normalized: None,
            sha256: trimmed.to_ascii_lowercase(),
        });
    }
    let normalized = normalize(trimmed)?;
    Ok(Identifier {
        sha256: sha256_hex(&normalized),
        normalized: Some(normalized),
    })
}

const PHONE_REFUSED: &str = "a phone number needs 7 to 15 digits with the country code";

/// The platform's normal form of a value, before hashing.
pub fn normalize(key: Key, raw: &str) -> Result<String, Invalid> {
    let invalid = |reason| Invalid { key, reason };
    let value = raw.trim();
    if value.is_empty() {
        return Err(invalid("empty"));
    }
    let out = match key {
        Key::Email => email(value).ok_or(invalid("not an email address"))?,
        Key::Phone => phone(value, None).ok_or(invalid(PHONE_REFUSED))?,
        Key::FirstName | Key::LastName => {
            let n: String = value
                .lowercase()
                .chars()
                .filter(|c| c.is_alphanumeric())
                .collect();
            non_empty(n).ok_or(invalid("no letters"))?
        }
        Key::DateOfBirth => date(value).ok_or(invalid("not a valid date (use YYYY-MM-DD)"))?,
        Key::Gender => match value.lowercase().as_str() {
            "f" | "female" => "f".to_string(),
            "m" | "male" => "m".to_string(),
            _ => return Err(invalid("gender must be f/female or m/male")),
        },
        Key::City => {
            let c: String = value
                .lowercase()
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
        // Meta's normalizer (capi-param-builder) lowercases and removes all whitespace.
        Key::ExternalId => value
            .lowercase()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect(),
    };
    Ok(out)
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

/// Trim and lowercase, then require one `@` with a local part and a dotted domain, and no spaces.
fn email(value: &str) -> Option<String> {
    let e = value.lowercase();
    let (local, domain) = e.split_once('@')?;
    let ok = !local.is_empty()
        && domain.contains('.')
        && !domain.contains('@')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !e.chars().any(char::is_whitespace);
    ok.then_some(e)
}

/// Digits only, 7 to 15 of them (E.164), with the country code; a number with letters is refused (a typo'd
/// number matches nobody). A number written with `+` or `00` keeps its own code; `+44 (0)20…` drops the
/// `(0)`. Without a country, leading zeros are dropped and the digits are taken as international (as Meta's
/// SDKs do); with one, a national number gets its calling code (`phone_in`).
fn phone(value: &str, country: Option<&str>) -> Option<String> {
    if value.chars().any(char::is_alphabetic) {
        return None;
    }
    let value = value.replace("(0)", "");
    let plus = value
        .chars()
        .take_while(|c| !c.is_ascii_digit())
        .any(|c| c == '+');
    let digits: String = value.chars().filter(char::is_ascii_digit).collect();
    let out = match country.and_then(country::dialing) {
        Some(dialing) if !plus && !digits.starts_with("00") => phone_in(&digits, dialing),
        _ => digits.trim_start_matches('0').to_string(),
    };
    (7..=15).contains(&out.len()).then_some(out)
}

/// A number typed without `+`/`00` in a country that is known. The heuristic, in order:
/// 1. NANP (`+1`): `011` is the international prefix, so `011 44 20…` keeps `44`.
/// 2. It starts with the trunk prefix (`0` in most countries, `8` in RU/KZ/BY, `06` in HU, `1` in the
///    NANP): a national number; the prefix (and any further leading zeros) gives way to the calling code:
///    `020 7946 0018` in GB is `442079460018`, `1 312 555 0148` in the US is `13125550148`.
/// 3. Where the table knows the longest national number (the NANP: 10 digits; countries without a trunk
///    prefix, such as IT, ES, NO): a longer number is already international and is kept (`4712345678` in NO,
///    `442079460018` in the US); a shorter one gets the code, leading zeros kept (`06…` in IT is `3906…`).
/// 4. Elsewhere (a trunk prefix, which people type): digits that start with the calling code and have at
///    least 6 more are already international (`442079460018` in GB); others get the code.
fn phone_in(digits: &str, dialing: country::Dialing) -> String {
    let country::Dialing {
        code,
        trunk,
        max_national,
    } = dialing;
    if code == "1" {
        if let Some(international) = digits.strip_prefix("011") {
            return international.trim_start_matches('0').to_string();
        }
    }
    let national = match digits.strip_prefix(trunk) {
        Some(rest) if !trunk.is_empty() => rest.trim_start_matches('0'),
        _ => {
            let international = match max_national {
                Some(max) => digits.len() > max,
                None => digits.starts_with(code) && digits.len() >= code.len() + 6,
            };
            if international {
                return digits.trim_start_matches('0').to_string();
            }
            if trunk.is_empty() {
                digits
            } else {
                digits.trim_start_matches('0')
            }
        }
    };
    format!("{code}{national}")
}

/// `YYYYMMDD` from `YYYY-MM-DD`, `YYYY/MM/DD`, `YYYY.MM.DD` or `YYYYMMDD`, or from a day and month before
/// the year (`31-12-1990`, `12/31/1990`); a time after the date (`T…` or a space) is ignored, and the
/// separators must agree. A first part above 12 can only be the day and a second part above 12 only the day.
/// When both could be the month (`01/02/1990`), the separator decides: `/` and `-` put the month first (the
/// US order of Meta's docs, and what Meta's normalizer does for every separator), `.` puts the day first (the
/// European dotted form). Impossible dates are refused: month 13, April 31, February 29 outside leap years
/// (`1900-02-29`), and years outside 1900 to 2100.
fn date(value: &str) -> Option<String> {
    let value = value.split(['T', ' ']).next()?;
    let mut separators = value.chars().filter(|c| matches!(c, '-' | '/' | '.'));
    let separator = separators.next();
    if separators.any(|c| Some(c) != separator) {
        return None;
    }
    let num = |s: &str, width: std::ops::RangeInclusive<usize>| -> Option<u32> {
        let ok = width.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
        ok.then(|| s.parse().ok()).flatten()
    };
    let parts: Vec<&str> = value.split(['-', '/', '.']).collect();
    let (y, m, d) = match parts.as_slice() {
        [ymd] => (
            num(ymd.get(..4)?, 4..=4)?,
            num(ymd.get(4..6)?, 2..=2)?,
            num(ymd.get(6..)?, 2..=2)?,
        ),
        [y, m, d] if y.len() == 4 => (num(y, 4..=4)?, num(m, 1..=2)?, num(d, 1..=2)?),
        [a, b, y] => {
            let (a, b, y) = (num(a, 1..=2)?, num(b, 1..=2)?, num(y, 4..=4)?);
            let day_first = a > 12 || (b <= 12 && separator == Some('.'));
            if day_first {
                (y, b, a)
            } else {
                (y, a, b)
            }
        }
        _ => return None,
    };
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    let ok = (1900..=2100).contains(&y) && (1..=days).contains(&d);
    ok.then(|| format!("{y:04}{m:02}{d:02}"))
}

/// Two-letter code lowercased; a US state's name becomes its code; else lowercase letters only.
fn state(value: &str) -> Option<String> {
    let letters: String = value
        .lowercase()
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
        .lowercase()
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

/// ISO 3166-1 alpha-2, lowercase, checked against the ISO list; a name, alias or big market's alpha-3 code
/// maps to its code. Case, separators and accents do not matter (`United-States`, `U.K.`, `España`).
fn country(value: &str) -> Option<String> {
    let mut letters = String::new();
    for c in value.lowercase().replace('&', "and").chars() {
        if c.is_ascii_lowercase() {
            letters.push(c);
        } else if let Some(plain) = unaccented(c) {
            letters.push(plain);
        } else if c.is_alphabetic() {
            return None;
        }
    }
    if letters.len() == 2 && country::is_alpha2(&letters) {
        return Some(letters);
    }
    country::from_name(&letters).map(str::to_string)
}

/// The plain letter under a Latin accented one, for country names typed in their own language.
fn unaccented(c: char) -> Option<char> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
        'ç' => 'c',
        'è' | 'é' | 'ê' | 'ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' => 'i',
        'ñ' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' => 'o',
        'ù' | 'ú' | 'û' | 'ü' => 'u',
        'ý' | 'ÿ' => 'y',
        _ => return None,
    })
}

pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Lowercase hex SHA-256 of the UTF-8 bytes.
pub fn sha256_hex(s: &str) -> String {
    let digest = Sha256::digest(s.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest {
        crate::base::text::push_hex(&mut out, b);
    }
    out
}

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

#[cfg(test)]
mod tests {
    use super::*;

    /// Non-ASCII text through the case mapping (`crate::base::text`); tests/e2e/browser-intake.test.mjs expects the
    /// same forms from the worker, whose case mapping is the runtime's.
    #[test]
    fn non_ascii_names_cities_and_emails_are_lowercased() {
        assert_eq!(
            normalize(Key::Email, "JOSÉ@Example.COM").unwrap(),
            "josé@example.com"
        );
        assert_eq!(normalize(Key::FirstName, "ÉLOÏSE").unwrap(), "éloïse");
        // Greek: the last sigma takes its final form.
        assert_eq!(normalize(Key::LastName, "ΟΔΥΣΣΕΥΣ").unwrap(), "οδυσσευς");
        // Turkish dotted capital I: `i` and a combining dot, which the city's letters-only rule drops.
        assert_eq!(normalize(Key::City, "İZMİR").unwrap(), "izmir");
    }

    /// Meta's SDK does not hash a value that is already a SHA-256; neither do we, for every key (a sampled hit's
    /// identifiers are hashes, and must reach the payload unchanged).
    #[test]
    fn an_already_hashed_value_passes_through_for_every_key() {
        let hash = sha256_hex("jane.doe@example.com");
        for input in [
            hash.clone(),
            hash.to_ascii_uppercase(),
            format!("  {hash}\n"),
        ] {
            for key in Key::ALL {
                let id = identify(key, &input).unwrap();
                assert_eq!(id.sha256, hash, "{key:?} {input:?}");
                assert_eq!(id.normalized, None, "{key:?}");
            }
            for country in [None, Some("US"), Some("gb")] {
                assert_eq!(identify_phone(&input, country).unwrap().sha256, hash);
            }
        }
        // 63 or 65 hex characters are not a hash: a phone of digits, hashed as usual.
        let digits = "1".repeat(63);
        assert_ne!(identify(Key::ExternalId, &digits).unwrap().sha256, digits);
    }

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
        (
            Key::ExternalId,
            "USER456",
            "user456",
            "c670f7b23c1bf997ec890e9d23ea7c016e12b243bdbd151f08baf5f0b86a7c5e",
            "facebook/capi-param-builder nodejs tests/externalIDUtil.test.js (hash from sha256sum)",
        ),
        (
            Key::ExternalId,
            "user 123 id",
            "user123id",
            "8efe14adcaa49442f32f5292f2d8abc71fbbb7fa2aea663a201db21af978e6bd",
            "facebook/capi-param-builder nodejs tests/externalIDUtil.test.js (hash from sha256sum)",
        ),
        (
            Key::ExternalId,
            "abc-12345 ",
            "abc-12345",
            "5fd46f3eb53076b2ee80c6a585a4c9ac06d522efa27b8957f79e24aece2820b6",
            "facebook/capi-param-builder nodejs tests/externalIDUtil.test.js (hash from sha256sum)",
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
            (Key::ExternalId, " User-42 ", "user-42"),
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

    /// Meta: "Phone numbers must include a country code to be used for matching (e.g., the number 1 must
    /// precede a phone number in the United States)" (conversions-api/parameters/customer-information-parameters;
    /// Business Help Centre 2082575038703844, "even if all of your data is from the same country"). Calling codes
    /// per ITU-T E.164, trunk prefixes per libphonenumber's PhoneNumberMetadata.xml. Hashes from sha256sum.
    #[test]
    fn a_national_phone_gets_the_calling_code_of_its_country() {
        let hashed: &[(&str, &str, &str, &str)] = &[
            (
                "(312) 555-0148",
                "US",
                "13125550148",
                "ab9158234b798733503c53348515ce95ad03205e8ad7cf3f790699f6b81a1104",
            ),
            (
                "020 7946 0018",
                "gb",
                "442079460018",
                "99a4599795d24445a5be21117f375c1bbe9e795daf7f62666686ce081e1f32dc",
            ),
            (
                "030 123456",
                "DE",
                "4930123456",
                "ac75546db905289f50bd750fd5648fec0719074ce391521b2372abeae9110668",
            ),
            (
                "06 1234 5678",
                "IT",
                "390612345678",
                "472e1123cd4e2f66f1df06bd488dc6135dab8f80cbfcc4af144d042c005f0fb2",
            ),
        ];
        for (raw, country, normalized, hash) in hashed {
            let id = identify_phone(raw, Some(country)).unwrap();
            assert_eq!(
                id.normalized.as_deref(),
                Some(*normalized),
                "{raw} in {country}"
            );
            assert_eq!(id.sha256, *hash, "{raw} in {country}");
        }
        let cases: &[(&str, &str, &str)] = &[
            // Written with + or 00: its own code, whatever the address says.
            ("+44 20 7946 0018", "US", "442079460018"),
            ("0044 20 7946 0018", "US", "442079460018"),
            ("+44 (0)20 7946 0018", "GB", "442079460018"),
            ("+1 312 555 0148", "GB", "13125550148"),
            // The NANP: the leading 1 is the country code; 011 is the international prefix.
            ("1 (312) 555-0148", "us", "13125550148"),
            ("13125550148", "CA", "13125550148"),
            ("011 44 20 7946 0018", "US", "442079460018"),
            // Longer than a US number: already international, only the + is missing.
            ("44 20 7946 0018", "US", "442079460018"),
            // The calling code without the +, in a country whose numbers are typed with the trunk 0.
            ("44 20 7946 0018", "GB", "442079460018"),
            ("49 30 123456", "DE", "4930123456"),
            // Trunk prefixes other than 0.
            ("8 (912) 345-67-89", "RU", "79123456789"),
            ("912 345 67 89", "RU", "79123456789"),
            ("7 912 345 67 89", "RU", "79123456789"),
            ("06 30 123 4567", "HU", "36301234567"),
            ("8 029 123-45-67", "BY", "375291234567"),
            // No trunk prefix: a leading 0 is part of the number; a national number may start like the code.
            ("3931234567", "IT", "393931234567"),
            ("39 393 1234567", "IT", "393931234567"),
            ("47 12 34 56", "NO", "4747123456"),
            ("47 47 12 34 56", "NO", "4747123456"),
            ("612 34 56 78", "ES", "34612345678"),
            // Brazilians often leave out the trunk 0 before the area code (55 is also an area code).
            ("(55) 99123-4567", "BR", "5555991234567"),
            ("0 11 99123-4567", "BR", "5511991234567"),
            // An unknown or missing country: today's rule, digits as typed minus leading zeros.
            ("020 7946 0018", "UU", "2079460018"),
            ("020 7946 0018", "", "2079460018"),
            ("020 7946 0018", "BV", "2079460018"),
        ];
        for (raw, country, expected) in cases {
            assert_eq!(
                identify_phone(raw, Some(country)).map(|id| id.normalized),
                Ok(Some(expected.to_string())),
                "{raw} in {country}"
            );
        }
        assert_eq!(
            identify_phone("(312) 555-0148", None)
                .unwrap()
                .normalized
                .as_deref(),
            Some("3125550148"),
            "without a country, as normalize() does"
        );
        for (raw, country) in [
            ("555-555-SHIP", "US"),
            ("12", "US"),
            ("", "US"),
            ("+1 31255501481234567", "US"),
        ] {
            assert!(
                identify_phone(raw, Some(country)).is_err(),
                "{raw:?} should be refused"
            );
        }
        let h = "AB9158234B798733503C53348515CE95AD03205E8AD7CF3F790699F6B81A1104";
        assert_eq!(
            identify_phone(h, Some("US")).unwrap().sha256,
            h.to_ascii_lowercase()
        );
    }

    /// Meta's normalizer (facebook/capi-param-builder nodejs tests/countryUtil.test.js) maps names typed with
    /// any case or separator; ISO 3166-1 (tzdata iso3166.tab) decides which two letters are a country. Meta's
    /// normalizer keeps `uk` and any two letters (`uu`) and truncates unknown names (`unknown` → `un`): we map
    /// `uk` to ISO's `gb` and refuse the rest, as garbage matches nobody.
    #[test]
    fn countries_are_iso_codes_or_known_names() {
        let ok: &[(&str, &str)] = &[
            ("United-States", "us"),
            ("united_states", "us"),
            ("United.States", "us"),
            ("UNITED STATES", "us"),
            ("U.S.A.", "us"),
            ("U.S.", "us"),
            ("USA", "us"),
            ("UK", "gb"),
            ("U.K.", "gb"),
            ("United   Kingdom", "gb"),
            ("Great Britain", "gb"),
            ("England", "gb"),
            ("GBR", "gb"),
            ("Russia", "ru"),
            ("Russian Federation", "ru"),
            ("South-Korea", "kr"),
            ("New Zealand", "nz"),
            ("Deutschland", "de"),
            ("DEU", "de"),
            ("España", "es"),
            ("Côte d'Ivoire", "ci"),
            ("Trinidad & Tobago", "tt"),
            ("Türkiye", "tr"),
            ("Georgia", "ge"),
            ("ss", "ss"),
            ("SX", "sx"),
        ];
        for (input, expected) in ok {
            assert_eq!(
                normalize(Key::Country, input).as_deref(),
                Ok(*expected),
                "{input:?}"
            );
        }
        for bad in [
            "uu",
            "zz",
            "xk",
            "eu",
            "Atlantis",
            "unknown",
            "U",
            "Россия",
            "123",
        ] {
            assert!(
                normalize(Key::Country, bad).is_err(),
                "{bad:?} should be refused"
            );
        }
    }

    /// Meta asks for `YYYYMMDD` (customer-information-parameters, db); Meta's normalizer
    /// (facebook/capi-param-builder nodejs tests/dobUtil.test.js) reads a part above 12 as the day and an
    /// ambiguous pair month first. We read an ambiguous dotted date day first (the European form) and refuse
    /// dates that do not exist, which Meta's normalizer accepts (it checks only day <= 31).
    #[test]
    fn dates_of_birth_unambiguous_forms_and_impossible_days() {
        let ok: &[(&str, &str)] = &[
            ("31-12-1990", "19901231"),
            ("31/12/1990", "19901231"),
            ("31.12.1990", "19901231"),
            ("12-31-1990", "19901231"),
            ("12/31/1990", "19901231"),
            ("1990/12/31", "19901231"),
            ("1990.12.31", "19901231"),
            ("16-2-1997", "19970216"),
            ("2/16/1997", "19970216"),
            ("13-02-1990", "19900213"),
            ("02-13-1990", "19900213"),
            // Ambiguous: slash and dash month first (Meta's docs and normalizer), dot day first.
            ("01/02/1990", "19900102"),
            ("01-02-1990", "19900102"),
            ("01.02.1990", "19900201"),
            ("2000-02-29", "20000229"),
            ("29-02-2000", "20000229"),
            ("02/29/2000", "20000229"),
            ("1996-02-29", "19960229"),
            ("1990-12-31 23:59", "19901231"),
        ];
        for (input, expected) in ok {
            assert_eq!(
                normalize(Key::DateOfBirth, input).as_deref(),
                Ok(*expected),
                "{input:?}"
            );
        }
        let bad = [
            "1900-02-29",
            "2001-02-29",
            "29/02/2001",
            "1990-04-31",
            "31/04/1990",
            "1991-13-01",
            "13/13/1990",
            "1990-00-10",
            "1990-01-00",
            "1899-12-31",
            "1990.12-31",
            "19901331",
            "1990-1a-01",
            "1990-+1-01",
            "1990年1月1日",
            "12345678é",
        ];
        for input in bad {
            assert!(
                normalize(Key::DateOfBirth, input).is_err(),
                "{input:?} should be refused"
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
