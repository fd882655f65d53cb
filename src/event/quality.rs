//! The match quality estimate: how likely a platform is to tie the event to a person, 0–10.
//!
//! Derivation. Meta's help pages rank identifiers by how much they lift Event Match Quality: high = email and
//! the click id (`fbc`; OpenAI's equivalent is `oppref`), medium = phone, external_id, date of birth, country
//! and the browser id (`fbp`), low = names, city, state, zip and gender. Each identifier present adds its
//! weight below; IP address and user agent together add 1 (each alone 0.5), since platforms need both for
//! probabilistic matching. The sum is capped at 10 and rounded to one decimal. Email + click id + phone +
//! IP/UA already reaches 8, which is how an event earns the "aim for 7+" the setup article asks for.
//! An event whose only user data is one of Meta's invalid combinations ((ct, country, st, zp, ge, UA),
//! (db, UA), (fn, ge), (ln, ge) and their subsets) scores 0: the platform discards it.
//! This is an estimate from what we send, not the platform's score, which also depends on its own matching.

use crate::event::UserData;
use crate::identity::normalize::Key;

const WEIGHTS: [(Key, f64); 11] = [
    (Key::Email, 3.0),
    (Key::Phone, 2.0),
    (Key::ExternalId, 1.0),
    (Key::DateOfBirth, 0.5),
    (Key::Country, 0.5),
    (Key::FirstName, 0.25),
    (Key::LastName, 0.25),
    (Key::City, 0.25),
    (Key::State, 0.25),
    (Key::Zip, 0.5),
    (Key::Gender, 0.1),
];
const CLICK_ID: f64 = 2.0;
const BROWSER_ID: f64 = 0.5;
const IP: f64 = 0.5;
const USER_AGENT: f64 = 0.5;

/// The estimate for one event's user data.
pub fn estimate(user: &UserData) -> f64 {
    if is_invalid_combination(user) {
        return 0.0;
    }
    let mut score: f64 = WEIGHTS
        .iter()
        .filter(|(k, _)| user.identifiers.contains_key(k))
        .map(|(_, w)| w)
        .sum();
    if user.fbc.is_some() || user.oppref.is_some() {
        score += CLICK_ID;
    }
    if user.fbp.is_some() {
        score += BROWSER_ID;
    }
    if user.client_ip.is_some() {
        score += IP;
    }
    if user.user_agent.is_some() {
        score += USER_AGENT;
    }
    (score.min(10.0) * 10.0).round() / 10.0
}

/// Identifiers that are commonly missing from the event, most valuable first (for the dashboard and traces).
pub fn missing(user: &UserData) -> Vec<&'static str> {
    let mut out = Vec::new();
    for key in [Key::Email, Key::Phone, Key::ExternalId] {
        if !user.identifiers.contains_key(&key) {
            out.push(key.code());
        }
    }
    if user.fbc.is_none() && user.oppref.is_none() {
        out.push("click_id");
    }
    if user.client_ip.is_none() {
        out.push("client_ip_address");
    }
    if user.user_agent.is_none() {
        out.push("client_user_agent");
    }
    out
}

fn is_invalid_combination(user: &UserData) -> bool {
    use Key::*;
    let strong = user.client_ip.is_some()
        || user.fbc.is_some()
        || user.fbp.is_some()
        || user.oppref.is_some();
    if strong {
        return false;
    }
    let keys: Vec<Key> = user.identifiers.keys().copied().collect();
    let only = |allowed: &[Key], ua_ok: bool| {
        (!keys.is_empty() || user.user_agent.is_some())
            && keys.iter().all(|k| allowed.contains(k))
            && (ua_ok || user.user_agent.is_none())
    };
    only(&[City, Country, State, Zip, Gender], true)
        || only(&[DateOfBirth], true)
        || only(&[FirstName, Gender], false)
        || only(&[LastName, Gender], false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::normalize::identify;

    fn user(keys: &[(Key, &str)], ip: bool, ua: bool, fbc: bool) -> UserData {
        let mut u = UserData::default();
        for (k, v) in keys {
            u.identifiers.insert(*k, identify(*k, v).unwrap());
        }
        u.client_ip = ip.then(|| "1.2.3.4".into());
        u.user_agent = ua.then(|| "UA".into());
        u.fbc = fbc.then(|| "fb.1.1.x".into());
        u
    }

    #[test]
    fn weights_add_up_and_cap_at_ten() {
        let cases = [
            (user(&[], false, false, false), 0.0),
            (user(&[(Key::Email, "a@b.co")], false, false, false), 3.0),
            (
                user(
                    &[(Key::Email, "a@b.co"), (Key::Phone, "16505551212")],
                    true,
                    true,
                    true,
                ),
                8.0,
            ),
            (user(&[], true, true, false), 1.0),
            (
                user(
                    &[
                        (Key::Email, "a@b.co"),
                        (Key::Phone, "16505551212"),
                        (Key::ExternalId, "u1"),
                        (Key::DateOfBirth, "1990-01-01"),
                        (Key::Country, "us"),
                        (Key::Zip, "94025"),
                        (Key::FirstName, "a"),
                        (Key::LastName, "b"),
                    ],
                    true,
                    true,
                    true,
                ),
                10.0,
            ),
        ];
        for (u, expected) in cases {
            assert_eq!(
                estimate(&u),
                expected,
                "{:?}",
                u.identifiers.keys().collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn metas_invalid_combinations_score_zero() {
        assert_eq!(
            estimate(&user(
                &[(Key::City, "Paris"), (Key::Zip, "75001")],
                false,
                true,
                false
            )),
            0.0
        );
        assert_eq!(
            estimate(&user(
                &[(Key::DateOfBirth, "1990-01-01")],
                false,
                true,
                false
            )),
            0.0
        );
        assert_eq!(
            estimate(&user(
                &[(Key::FirstName, "ann"), (Key::Gender, "f")],
                false,
                false,
                false
            )),
            0.0
        );
        // The same data plus an IP is matchable.
        assert!(
            estimate(&user(
                &[(Key::FirstName, "ann"), (Key::Gender, "f")],
                true,
                false,
                false
            )) > 0.0
        );
    }

    #[test]
    fn missing_lists_the_most_valuable_gaps() {
        assert_eq!(
            missing(&user(&[(Key::Email, "a@b.co")], true, false, false)),
            vec!["ph", "external_id", "click_id", "client_user_agent"]
        );
    }
}
