//! The browser event endpoint: CORS, size guard, parse, enrich, click-id cookies, pipeline, enqueue, 204.

use super::respond::{cors_headers, gif, json_error, no_content, preflight};
use crate::click_ids;
use crate::config::Config;
use crate::cors::{self, Cors};
use crate::delivery::DeliveryMessage;
use crate::destination::RedactedSecrets;
use crate::intake::{self, RequestFacts};
use crate::pipeline::random_event_id;
use crate::preview;
use std::collections::BTreeMap;
use worker::*;

/// Request headers triggers may read (`context.headers.<name>`): where the visitor is, in Cloudflare's words.
const EXPOSED_HEADERS: [&str; 4] = ["cf-ipcountry", "cf-region", "cf-ipcity", "accept-language"];

pub async fn browser(
    mut req: Request,
    env: &Env,
    _ctx: &Context,
    config: &Config,
) -> Result<Response> {
    // Read the headers through a handle to the JS request: `Headers::clone` would copy the whole Headers object.
    let js_headers = req.inner().headers();
    let header = |name: &str| js_headers.get(name).ok().flatten();
    // The raw URL string, split by hand: `req.url()` would link the `url` crate's IDNA tables (~200 KB of Wasm).
    let raw_url = req.inner().url();
    let own_origin = cors::origin_of(&raw_url).unwrap_or_default();
    let origin = header("origin");
    let referer = header("referer");
    let allowed_origin = match cors::check(
        &config.site,
        origin.as_deref(),
        referer.as_deref(),
        &own_origin,
    ) {
        Cors::Allowed(o) => Some(o),
        Cors::NoOrigin => None,
        Cors::Refused(o) => {
            return json_error(
                403,
                "origin_not_allowed",
                &format!("{o} is not in [site] allowed_origins"),
            );
        }
    };
    let method = req.method();
    if method == Method::Options {
        return preflight(allowed_origin.as_deref().unwrap_or("null"));
    }
    if let Some(retry_after) = rate_limited(env, header("cf-connecting-ip").as_deref()).await {
        let mut r = json_error(
            429,
            "rate_limited",
            "too many events from this address; retry later",
        )?;
        r.headers_mut()
            .set("retry-after", &retry_after.to_string())?;
        if let Some(o) = &allowed_origin {
            cors_headers(r.headers_mut(), o)?;
        }
        return Ok(r);
    }
    // Refuse an oversized body before reading it, when the sender says its size.
    let max = config.site.max_body_bytes;
    if let Some(len) = header("content-length").and_then(|l| l.parse::<usize>().ok()) {
        if len > max {
            return json_error(
                413,
                "body_too_large",
                &format!("the body is {len} bytes; the limit is {max}"),
            );
        }
    }
    let body = if method == Method::Post {
        req.bytes().await.unwrap_or_default()
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
        method: method.as_ref(),
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
            let mut r = Response::from_json(&refusal.body())?.with_status(refusal.status);
            if let Some(o) = &allowed_origin {
                cors_headers(r.headers_mut(), o)?;
            }
            return Ok(r);
        }
    };

    let debug = match debug_mode(env, header("x-capi-debug").as_deref()) {
        Ok(d) => d,
        Err(resp) => return resp,
    };
    let mut messages = Vec::new();
    let mut cookies = Vec::new();
    let mut event_ids = Vec::new();
    let mut traces = Vec::new();
    for mut hit in hits {
        let denied = config.site.consent_denied.matches(&hit);
        if !denied {
            cookies = click_ids::refresh(&mut hit, now, &mut || random_u64());
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
            return json_error(
                503,
                "unavailable",
                "the event could not be queued; send it again",
            );
        }
    }

    let mut resp = if debug {
        Response::from_json(&serde_json::json!({"debug": true, "traces": traces}))?
    } else if method == Method::Get {
        gif()?
    } else {
        no_content()?
    };
    let h = resp.headers_mut();
    if let Some(o) = &allowed_origin {
        cors_headers(h, o)?;
    }
    // Hits refuse control characters in ids, so this cannot fail; if it ever did, the event is queued already.
    let _ = h.set("x-capi-event-id", &event_ids.join(","));
    if allowed_origin.is_some() {
        h.set("access-control-expose-headers", "x-capi-event-id")?;
    }
    for c in &cookies {
        h.append(
            "set-cookie",
            &c.header(config.site.cookie_domain.as_deref()),
        )?;
    }
    Ok(resp)
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

/// Queues accept at most 100 messages per `sendBatch`.
pub async fn enqueue(env: &Env, messages: Vec<DeliveryMessage>) -> Result<()> {
    let queue = env.queue("DELIVERIES")?;
    for chunk in messages.chunks(100) {
        queue.send_batch(chunk.to_vec()).await?;
    }
    Ok(())
}

fn random_u64() -> u64 {
    let mut b = [0u8; 8];
    let _ = getrandom::getrandom(&mut b);
    u64::from_le_bytes(b)
}
