//! Random ids and numbers from the platform's CSPRNG (Linux's getrandom natively, `crypto.getRandomValues` in
//! Workers), read in bulk: each read from Wasm crosses into JS and allocates a typed array, and a browser hit
//! needs a few ids (an event id, one per queued message, a new `_fbp`). The bytes are the CSPRNG's own; they
//! are only fetched 256 at a time and used once each.

use std::cell::RefCell;

const POOL_BYTES: usize = 256;

struct Pool {
    bytes: [u8; POOL_BYTES],
    used: usize,
}

thread_local! {
    static POOL: RefCell<Pool> = const { RefCell::new(Pool { bytes: [0; POOL_BYTES], used: POOL_BYTES }) };
}

/// Fills `out` with random bytes.
pub fn fill(out: &mut [u8]) {
    POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        let mut written = 0;
        while written < out.len() {
            if pool.used == POOL_BYTES {
                // Cannot fail where we run; never worth a panic.
                let _ = getrandom::getrandom(&mut pool.bytes);
                pool.used = 0;
            }
            let n = (out.len() - written).min(POOL_BYTES - pool.used);
            let start = pool.used;
            out[written..written + n].copy_from_slice(&pool.bytes[start..start + n]);
            // Each byte is handed out once.
            pool.bytes[start..start + n].fill(0);
            pool.used += n;
            written += n;
        }
    })
}

pub fn random_u64() -> u64 {
    let mut b = [0u8; 8];
    fill(&mut b);
    u64::from_le_bytes(b)
}

/// A random event id (UUID v4 form) for hits that bring none.
pub fn random_event_id() -> String {
    let mut b = [0u8; 16];
    fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let mut id = String::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            id.push('-');
        }
        crate::base::text::push_hex(&mut id, *byte);
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn event_ids_are_uuid_v4_and_distinct_across_pool_refills() {
        // 100 ids use 1,600 bytes: several refills of the 256-byte pool.
        let ids: Vec<String> = (0..100).map(|_| random_event_id()).collect();
        for id in &ids {
            let parts: Vec<&str> = id.split('-').collect();
            assert_eq!(
                parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
                [8, 4, 4, 4, 12],
                "{id}"
            );
            assert!(id
                .chars()
                .all(|c| c == '-' || c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
            assert_eq!(&id[14..15], "4", "version nibble: {id}");
            assert!(
                matches!(&id[19..20], "8" | "9" | "a" | "b"),
                "variant: {id}"
            );
        }
        assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len());
    }

    #[test]
    fn a_fill_larger_than_the_pool_is_all_random() {
        let mut big = [0u8; 3 * POOL_BYTES + 7];
        fill(&mut big);
        // A stretch of 64 zero bytes from a CSPRNG has probability 2^-512: it would mean unfilled output.
        assert!(big.chunks(64).all(|c| c.iter().any(|b| *b != 0)));
        assert_ne!(random_u64(), random_u64());
    }
}
