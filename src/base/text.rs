//! Unicode case mapping, in one place. ASCII text (nearly all of it) is mapped here; other text by Rust's
//! `str::to_lowercase` natively and in the config checker, and by the runtime's own `String.prototype
//! .toLowerCase` in the edge workers, which then carry no Unicode case tables (about 10 KB of gzip, Wasm size
//! being what a cold start pays for). Both follow Unicode's default case mapping (with the final-sigma rule): the
//! native tests pin the normalized forms of non-ASCII names (src/identity/normalize.rs), and an e2e test expects the same
//! hashes from the worker (tests/e2e/browser-intake.test.mjs).

/// `text.lowercase()` and `text.uppercase()`, for the pipeline's code in place of `to_lowercase` and
/// `to_uppercase`.
pub trait Case {
    fn lowercase(&self) -> String;
    fn uppercase(&self) -> String;
}

impl Case for str {
    fn lowercase(&self) -> String {
        lowercase(self)
    }
    fn uppercase(&self) -> String {
        uppercase(self)
    }
}

/// `s` lowercased, as `str::to_lowercase` does.
pub fn lowercase(s: &str) -> String {
    if s.is_ascii() {
        s.to_ascii_lowercase()
    } else {
        unicode::lowercase(s)
    }
}

/// `s` uppercased, as `str::to_uppercase` does.
pub fn uppercase(s: &str) -> String {
    if s.is_ascii() {
        s.to_ascii_uppercase()
    } else {
        unicode::uppercase(s)
    }
}

#[cfg(not(all(target_arch = "wasm32", any(feature = "intake", feature = "admin"))))]
mod unicode {
    pub fn lowercase(s: &str) -> String {
        s.to_lowercase()
    }
    pub fn uppercase(s: &str) -> String {
        s.to_uppercase()
    }
}

#[cfg(all(target_arch = "wasm32", any(feature = "intake", feature = "admin")))]
mod unicode {
    pub fn lowercase(s: &str) -> String {
        js_sys::JsString::from(s).to_lower_case().into()
    }
    pub fn uppercase(s: &str) -> String {
        js_sys::JsString::from(s).to_upper_case().into()
    }
}

/// Appends a byte as two lowercase hex digits.
pub fn push_hex(out: &mut String, byte: u8) {
    out.push(HEX[(byte >> 4) as usize] as char);
    out.push(HEX[(byte & 15) as usize] as char);
}

const HEX: &[u8; 16] = b"0123456789abcdef";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_and_unicode_map_as_the_standard_library_does() {
        for s in [
            "Jane.Doe@Example.COM",
            "ÉLOÏSE",
            "MÜNCHEN",
            "ΟΔΥΣΣΕΥΣ",
            "İstanbul",
            "straße",
            "",
            "ǅ",
        ] {
            assert_eq!(lowercase(s), s.to_lowercase(), "{s}");
            assert_eq!(uppercase(s), s.to_uppercase(), "{s}");
        }
    }
}
