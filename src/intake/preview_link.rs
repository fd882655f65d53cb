//! Preview links: the config page's "preview the draft in your browser", like GTM's preview mode. The page asks
//! the admin worker for a token (`POST /api/config/preview-link`, behind the debug token); the link carries it in
//! the URL's fragment (`https://shop.example.com/#capi-preview=<token>`: never sent to a server, never in a
//! Referer); the pixel keeps it for that tab and sends it as `x-capi-preview` on each hit, which then runs the
//! draft in preview mode (traces back to the page, debug traffic to the platforms' test modes, nothing claimed).
//!
//! The token is `<expiry, unix seconds>.<HMAC-SHA256 of it under the DEBUG_TOKEN secret, hex>`: it grants previews
//! until it expires and nothing else (not the dashboard, not publishing), and needs no storage.

use crate::identity::normalize::sha256_hex;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How long a preview link works.
pub const LIFETIME_S: i64 = 3600;
/// The longest a token may claim to live: a token far in the future was not made here.
const MAX_LIFETIME_S: i64 = 24 * 3600;

fn signature(secret: &str, expires_s: i64) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(format!("capi-edge preview link:{expires_s}").as_bytes());
    let mut out = String::with_capacity(64);
    for b in mac.finalize().into_bytes() {
        crate::base::text::push_hex(&mut out, b);
    }
    out
}

/// A token that works until `now_s + LIFETIME_S`.
pub fn token(secret: &str, now_s: i64) -> String {
    let expires = now_s + LIFETIME_S;
    format!("{expires}.{}", signature(secret, expires))
}

/// Why a presented token does not open a preview, if it does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not a token at all, or signed with another secret.
    Invalid,
    /// It was good, and its hour is over.
    Expired,
}

/// Checks a presented token against the secret, in constant time for its signature.
pub fn verify(secret: &str, presented: &str, now_s: i64) -> Result<(), Refusal> {
    if secret.is_empty() || presented.len() > 100 {
        return Err(Refusal::Invalid);
    }
    let (expires, sig) = presented.split_once('.').ok_or(Refusal::Invalid)?;
    let expires: i64 = expires
        .parse()
        .ok()
        .filter(|_| expires.bytes().all(|b| b.is_ascii_digit()))
        .ok_or(Refusal::Invalid)?;
    let expected = signature(secret, expires);
    // Compared through their hashes: equal length, and no early exit on the first differing byte.
    let same = sha256_hex(sig) == sha256_hex(&expected) && !expected.is_empty();
    if !same || expires > now_s + MAX_LIFETIME_S {
        return Err(Refusal::Invalid);
    }
    if expires < now_s {
        return Err(Refusal::Expired);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_opens_previews_for_its_hour_and_nothing_forged_does() {
        let t = token("debug-secret", 1_000);
        assert_eq!(verify("debug-secret", &t, 1_000), Ok(()));
        assert_eq!(verify("debug-secret", &t, 1_000 + LIFETIME_S), Ok(()));
        assert_eq!(
            verify("debug-secret", &t, 1_001 + LIFETIME_S),
            Err(Refusal::Expired)
        );
        assert_eq!(
            verify("another-secret", &t, 1_000),
            Err(Refusal::Invalid),
            "signed with another secret"
        );
        // A later expiry with the old signature, a far-future one signed right, garbage, and no secret at all.
        let (_, sig) = t.split_once('.').unwrap();
        assert_eq!(
            verify("debug-secret", &format!("999999.{sig}"), 1_000),
            Err(Refusal::Invalid)
        );
        let far = 1_000 + 30 * 24 * 3600;
        let forged_far = format!("{far}.{}", signature("debug-secret", far));
        assert_eq!(
            verify("debug-secret", &forged_far, 1_000),
            Err(Refusal::Invalid)
        );
        for bad in [
            "",
            ".",
            "abc",
            "12.",
            "-5.00",
            "+5.00",
            "5.zz",
            &"9".repeat(200),
        ] {
            assert_eq!(
                verify("debug-secret", bad, 1_000),
                Err(Refusal::Invalid),
                "{bad:?}"
            );
        }
        assert_eq!(verify("", &t, 1_000), Err(Refusal::Invalid));
        assert!(
            t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.'),
            "it travels in a URL fragment and a header as it is"
        );
    }
}
