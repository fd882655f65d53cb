//! Normalization through the whole pipeline: what reaches the platform for a hit, where it depends on more
//! than one field (a phone's calling code comes from the billing country).

use capi_edge::config::Config;
use capi_edge::hit::Hit;
use capi_edge::identity::normalize::sha256_hex;

/// 2026-01-01T00:00:00Z.
const NOW_MS: i64 = 1_767_225_600_000;

/// A Meta tag that maps the phone before the country, as a shop's order webhook might.
const CONFIG: &str = r#"
[[destination]]
name = "meta"
kind = "meta"
pixel_id = "1234567890"
token_secret = "META_ACCESS_TOKEN"

[[tag]]
name = "purchase"
destination = "meta"
event = "Purchase"
action_source = "website"
[tag.map]
"user.ph" = { from = "data.billing.phone" }
"user.country" = { from = "data.billing.country" }
"#;

/// The `ph` hashes Meta receives for one hit.
fn phone_hashes(billing: &str) -> (Vec<String>, Vec<String>) {
    let config = Config::parse(CONFIG).unwrap_or_else(|e| panic!("{e:?}"));
    let hit = format!(
        r#"{{"event": "Purchase", "page": {{"url": "https://shop.example.com/thanks"}},
            "data": {{"billing": {billing}, "value": 10, "currency": "USD"}}, "context": {{"ip": "198.51.100.4", "user_agent": "Mozilla/5.0"}}}}"#
    );
    let hit = Hit::from_json(hit.as_bytes()).unwrap();
    let outcome = capi_edge::pipeline::process(&config, &hit, NOW_MS, &mut || "id-1".to_string());
    let delivery = outcome.deliveries.first().expect("one delivery");
    let ph = delivery.payload["user_data"]["ph"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let warnings = outcome
        .tags
        .iter()
        .filter_map(|t| t.event.as_ref())
        .flat_map(|e| e.warnings.iter().cloned())
        .collect();
    (ph, warnings)
}

/// Meta: "Phone numbers must include a country code to be used for matching (e.g., the number 1 must
/// precede a phone number in the United States)" (conversions-api/parameters/customer-information-parameters).
#[test]
fn a_national_phone_from_a_us_billing_address_hashes_with_its_country_code() {
    let (ph, _) = phone_hashes(r#"{"phone": "(312) 555-0148", "country": "US"}"#);
    assert_eq!(ph, [sha256_hex("13125550148")]);
    let (ph, _) = phone_hashes(r#"{"phone": "020 7946 0018", "country": "United Kingdom"}"#);
    assert_eq!(ph, [sha256_hex("442079460018")]);
    // Written with +: its own code, whatever the address.
    let (ph, _) = phone_hashes(r#"{"phone": "+44 20 7946 0018", "country": "US"}"#);
    assert_eq!(ph, [sha256_hex("442079460018")]);
    // No country: the digits as typed, as before.
    let (ph, _) = phone_hashes(r#"{"phone": "(312) 555-0148"}"#);
    assert_eq!(ph, [sha256_hex("3125550148")]);
}

#[test]
fn a_refused_phone_still_warns_as_before() {
    let (ph, warnings) = phone_hashes(r#"{"phone": "555-555-SHIP", "country": "US"}"#);
    assert!(ph.is_empty());
    assert_eq!(
        warnings,
        ["ph dropped: a phone number needs 7 to 15 digits with the country code"]
    );
}
