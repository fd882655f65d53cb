//! The browser event endpoint: CORS, size guard, parse, enrich, click-id cookies, pipeline, enqueue, 204.

use super::js::{self, RequestHeaders};
use super::respond::{cors_pairs, error_body, preflight, GIF};
use crate::click_ids;
use crate::config::Config;
use crate::cors::{self, Cors};
use crate::delivery::DeliveryMessage;
use crate::destination::RedactedSecrets;
use crate::intake::{self, RequestFacts};
use crate::preview;
use crate::random::{random_event_id, random_u64};
use std::collections::BTreeMap;
use worker::worker_sys::web_sys;
use worker::*;

/// Request headers triggers may read (`context.headers.<name>`): where the visitor is, in Cloudflare's words.
const EXPOSED_HEADERS: [&str; 4] = ["cf-ipcountry", "cf-region", "cf-ipcity", "accept-language"];
/// Every request header intake reads, fetched in one crossing.
const READ_HEADERS: [&str; 12] = [
    "origin",
    "referer",
    "cf-connecting-ip",
    "content-length",
    "content-type",
    "user-agent",
    "cookie",
    "x-capi-debug",
    EXPOSED_HEADERS[0],
    EXPOSED_HEADERS[1],
    EXPOSED_HEADERS[2],
    EXPOSED_HEADERS[3],
];

/// A browser hit. Every request pays for this path, so it reads the raw JS request and writes the raw JS
/// response through `js` (a few boundary crossings in all), not through the `worker` crate's wrappers.
pub async fn browser(
    req: web_sys::Request,
    raw_url: &str,
    env: &Env,
    config: &Config,
) -> Result<web_sys::Response> {
    let headers = RequestHeaders::read(&req, READ_HEADERS);
    let header = |name: &str| headers.get(name).map(str::to_string);
    let own_origin = cors::origin_of(raw_url).unwrap_or_default();
    let origin = header("origin");
    let referer = header("referer");
    // The origin to echo in CORS headers: none for a same-origin page, which needs none.
    let allowed_origin = match cors::check(
        &config.site,
        origin.as_deref(),
        referer.as_deref(),
        &own_origin,
    ) {
        Cors::Allowed(o) => Some(o),
        Cors::SameOrigin | Cors::NoOrigin => None,
        Cors::Refused(o) => {
            return refuse(
                403,
                "origin_not_allowed",
                &format!("{o} is not in [site] allowed_origins"),
                None,
            );
        }
    };
    let method = req.method();
    if method == "OPTIONS" {
        return preflight(origin.as_deref().unwrap_or("null")).map(Into::into);
    }
    if let Some(retry_after) = rate_limited(env, header("cf-connecting-ip").as_deref()).await {
        let body = error_body(
            "rate_limited",
            "too many events from this address; retry later",
        );
        let retry_after = retry_after.to_string();
        return json_reply(
            429,
            &body,
            allowed_origin.as_deref(),
            &[("retry-after", &retry_after)],
        );
    }
    // Refuse an oversized body before reading it, when the sender says its size.
    let max = config.site.max_body_bytes;
    if let Some(len) = header("content-length").and_then(|l| l.parse::<usize>().ok()) {
        if len > max {
            return refuse(
                413,
                "body_too_large",
                &format!("the body is {len} bytes; the limit is {max}"),
                allowed_origin.as_deref(),
            );
        }
    }
    let body = if method == "POST" {
        js::body_bytes(&req).await.unwrap_or_default()
    } else {
        Vec::new()
    };
    let now = Date::now().as_millis() as i64;
    let exposed: BTreeMap<String, String> = EXPOSED_HEADERS
        .iter()
        .filter_map(|h| header(h).map(|v| (h.to_string(), v)))
        .collect();
    let content_type = header("content-type");
    let query = raw_url
        .split('#')
        .next()
        .and_then(|u| u.split_once('?'))
        .map(|(_, q)| q.to_string());
    let client_ip = header("cf-connecting-ip");
    let user_agent = header("user-agent");
    let cookie_header = header("cookie");
    let facts = RequestFacts {
        method: &method,
        content_type: content_type.as_deref(),
        body: &body,
        query: query.as_deref(),
        client_ip: client_ip.as_deref(),
        user_agent: user_agent.as_deref(),
        cookie_header: cookie_header.as_deref(),
        referer: referer.as_deref(),
        exposed_headers: exposed,
        max_body_bytes: max,
    };
    let hits = match intake::browser_hits(&facts, now) {
        Ok(h) => h,
        Err(refusal) => {
            return json_reply(
                refusal.status,
                &refusal.body(),
                allowed_origin.as_deref(),
                &[],
            )
        }
    };

    let debug = match debug_mode(env, header("x-capi-debug").as_deref()) {
        Ok(d) => d,
        Err(resp) => return resp.map(Into::into),
    };
    let mut messages = Vec::new();
    let mut cookies = Vec::new();
    let mut event_ids = Vec::new();
    let mut traces = Vec::new();
    for mut hit in hits {
        let denied = config.site.consent_denied.matches(&hit);
        if !denied {
            cookies = click_ids::refresh(&mut hit, now, &mut random_u64);
        }
        let source = hit.source.as_str();
        if debug {
            let outcome = config.trace(&hit, now, &mut random_event_id);
            traces.push(preview::trace_json(
                config,
                &hit,
                &outcome,
                &RedactedSecrets,
            ));
            messages.extend(test_messages(config, &outcome, source, now));
            continue;
        }
        let outcome = config.process(&hit, now, &mut random_event_id);
        messages.extend(crate::delivery::messages_for(&outcome, source, now));
        event_ids.extend(outcome.event_ids());
    }
    if !messages.is_empty() {
        if let Err(e) = enqueue(env, messages).await {
            console_error!("capi-edge: enqueue failed: {e}");
            return refuse(
                503,
                "unavailable",
                "the event could not be queued; send it again",
                allowed_origin.as_deref(),
            );
        }
    }

    // Ids are guarded where they are produced (no control character) and encoded here for the header.
    let event_ids = crate::guard::id_list_header(&event_ids);
    let set_cookies: Vec<String> = cookies
        .iter()
        .map(|c| c.header(config.site.cookie_domain.as_deref()))
        .collect();
    let mut out: Vec<(&str, &str)> = cors(allowed_origin.as_deref());
    out.push(("x-capi-event-id", &event_ids));
    if allowed_origin.is_some() {
        out.push(("access-control-expose-headers", "x-capi-event-id"));
    }
    out.extend(set_cookies.iter().map(|c| ("set-cookie", c.as_str())));
    if debug {
        let body = serde_json::json!({"debug": true, "traces": traces});
        json_reply(200, &body, None, &out)
    } else if method == "GET" {
        out.push(("content-type", "image/gif"));
        out.push(("cache-control", "no-store"));
        js::build_response(200, &out, Some(&GIF))
    } else {
        js::build_response(204, &out, None)
    }
}

/// The CORS headers for the origin to echo, if any.
fn cors(origin: Option<&str>) -> Vec<(&'static str, &str)> {
    origin.map(cors_pairs).into_iter().flatten().collect()
}

/// A JSON answer with CORS headers when the origin is allowed (so the page can read it), and `extra` headers.
fn json_reply(
    status: u16,
    body: &serde_json::Value,
    origin: Option<&str>,
    extra: &[(&str, &str)],
) -> Result<web_sys::Response> {
    let body = serde_json::to_vec(body).unwrap_or_default();
    let mut out = vec![("content-type", "application/json")];
    out.extend(cors(origin));
    out.extend_from_slice(extra);
    js::build_response(status, &out, Some(&body))
}

/// A JSON error answer, as `respond::json_error` writes it.
fn refuse(
    status: u16,
    error: &str,
    detail: &str,
    origin: Option<&str>,
) -> Result<web_sys::Response> {
    json_reply(status, &error_body(error, detail), origin, &[])
}

/// The Workers rate-limit binding `INTAKE_LIMITER`, keyed on the visitor's IP (wrangler.toml `[[ratelimits]]`).
/// `Some(seconds to wait)` when over the limit. Without the binding, or if it fails, intake stays open:
/// losing conversions is worse than letting a burst through.
async fn rate_limited(env: &Env, ip: Option<&str>) -> Option<u32> {
    let limiter = env.rate_limiter("INTAKE_LIMITER").ok()?;
    match limiter.limit(ip.unwrap_or("unknown").to_string()).await {
        Ok(outcome) if !outcome.success => Some(RATE_LIMIT_PERIOD_S),
        _ => None,
    }
}

/// The period of the `[[ratelimits]]` rule in wrangler.toml, sent back as Retry-After.
const RATE_LIMIT_PERIOD_S: u32 = 60;

/// Preview mode: `x-capi-debug: <token>` with the token in the `DEBUG_TOKEN` secret. `Ok(false)` without the
/// header; a wrong token or no configured token is refused, so a mistake is visible instead of silently live.
fn debug_mode(env: &Env, presented: Option<&str>) -> std::result::Result<bool, Result<Response>> {
    let Some(presented) = presented else {
        return Ok(false);
    };
    super::settings::authorize_debug(env, presented, "preview mode", "wrong debug token")?;
    Ok(true)
}

/// Debug traffic: only to destinations that have a validation mode, flagged so the consumer uses it and
/// leaves the ledger alone.
fn test_messages(
    config: &Config,
    outcome: &crate::pipeline::Outcome,
    source: &str,
    now: i64,
) -> Vec<DeliveryMessage> {
    outcome
        .deliveries
        .iter()
        .filter(|d| preview::test_mode_refusal(&config.destinations[d.destination]).is_none())
        .map(|d| DeliveryMessage {
            test: true,
            ..DeliveryMessage::send(d, source, now)
        })
        .collect()
}

/// Queues the messages as JSON text, in one `sendBatch` per 100 (the Queues limit).
pub async fn enqueue(env: &Env, messages: Vec<DeliveryMessage>) -> Result<()> {
    let texts: Vec<String> = messages
        .iter()
        .map(|m| serde_json::to_string(m).map_err(|e| Error::RustError(e.to_string())))
        .collect::<Result<_>>()?;
    for chunk in texts.chunks(100) {
        js::send_texts(env, "DELIVERIES", chunk).await?;
    }
    Ok(())
}
