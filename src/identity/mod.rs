//! Customer identifiers: normalized per Meta's rules, then SHA-256 (`normalize`), the country table they use,
//! and the first-party click-id cookies.

pub mod click_ids;
pub mod country;
pub mod normalize;
