//! Who may use the debug token's doors (preview, the dashboard, its API): the `Authorization: Bearer` header,
//! checked against the `DEBUG_TOKEN` secret in constant time.

use super::respond::json_error;
use worker::{Env, Request, Response, Result};

/// Checks a debug token against the `DEBUG_TOKEN` secret: `what` is off (404) without the secret; a wrong
/// token gets 401 with `how` (how to send it). `Err` carries the response to answer with.
pub fn authorize_debug(
    env: &Env,
    presented: &str,
    what: &str,
    how: &str,
) -> std::result::Result<(), Result<Response>> {
    let Some(token) = env.secret("DEBUG_TOKEN").ok().map(|s| s.to_string()) else {
        return Err(json_error(
            404,
            "debug_off",
            &format!("{what} is off: set the DEBUG_TOKEN secret"),
        ));
    };
    if !crate::intake::sources::key_matches(presented, &[token]) {
        return Err(json_error(401, "unauthorized", how));
    }
    Ok(())
}

/// The token of an `Authorization: Bearer <token>` header, or "".
pub fn bearer(req: &Request) -> String {
    let auth = req
        .headers()
        .get("authorization")
        .ok()
        .flatten()
        .unwrap_or_default();
    auth.strip_prefix("Bearer ").unwrap_or("").to_string()
}
