//! The browser event endpoint's shell: CORS refusal, preflight, rate limit, size guard, the debug token, then the
//! core's answer (`crate::intake::respond`: consent, cookies, pipeline, messages, response headers), queued and written.

use crate::base::random::{random_event_id, random_u64};
use crate::config::Config;
use crate::delivery::DeliveryMessage;
use crate::edge::js::{self, RequestHeaders};
use crate::edge::respond::{error_body, preflight};
use crate::intake::cors::{self, Cors};
use crate::intake::RequestFacts;
use std::collections::BTreeMap;
use worker::worker_sys::web_sys;
use worker::*;

/// Request headers triggers may read (`context.headers.<name>`): where the visitor is, in Cloudflare's words.
const EXPOSED_HEADERS: [&str; 4] = ["cf-ipcountry", "cf-region", "cf-ipcity", "accept-language"];
/// Every request header intake reads, fetched in one crossing.
const READ_HEADERS: [&str; 14] = [
    "origin",
    "referer",
    "cf-connecting-ip",
    "content-length",
    "content-type",
    "user-agent",
    "cookie",
    "x-capi-debug",
    "x-capi-config",
    "x-capi-preview",
    EXPOSED_HEADERS[0],
    EXPOSED_HEADERS[1],
    EXPOSED_HEADERS[2],
    EXPOSED_HEADERS[3],
];

/// Which browser client a request is for.
#[derive(Clone, Copy, PartialEq)]
pub enum Client {
    /// The first-party pixel's hits (`/e`).
    Pixel,
    /// A site's own GA4 hits (`/g/collect`).
    Ga4,
}

/// A browser hit. Every request pays for this path, so it reads the raw JS request and writes the raw JS
/// response through `js` (a few boundary crossings in all), not through the `worker` crate's wrappers.
pub async fn browser(
    req: web_sys::Request,
    raw_url: &str,
    env: &Env,
    config: &Config,
    client: Client,
) -> Result<web_sys::Response> {
    let headers = RequestHeaders::read(&req, READ_HEADERS);
    let header = |name: &str| headers.get(name).map(str::to_string);
    let own_origin = crate::base::url::origin_of(raw_url).unwrap_or_default();
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
        Cors::AnyOrigin => Some(crate::intake::respond::ANY_ORIGIN.to_string()),
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
        let echo = allowed_origin.as_deref().or(origin.as_deref());
        return preflight(echo.unwrap_or("null")).map(Into::into);
    }
    if let Some(retry_after) = rate_limited(env, header("cf-connecting-ip").as_deref()).await {
        let body = error_body(
            "rate_limited",
            "too many events from this address; retry later",
        );
        let mut reply = crate::intake::respond::json_reply(429, &body, allowed_origin.as_deref());
        reply.headers.push(("retry-after", retry_after.to_string()));
        return write(&reply);
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
    let debug = match debug_mode(env, header("x-capi-debug").as_deref()) {
        Ok(d) => d,
        Err(resp) => return resp.map(Into::into),
    };
    // A preview link's token (`x-capi-preview`, from the config page): this browser's hits run the draft in
    // preview mode. A token that does not verify is refused in words, so the preview shows it ended.
    let link = match header("x-capi-preview") {
        Some(token) => {
            if let Err(refusal) = preview_link(env, &token, allowed_origin.as_deref()) {
                return refusal;
            }
            true
        }
        None => false,
    };
    let debug = debug || link;
    // A preview of another config version (`x-capi-config: <N|draft|live>`), for the debug token's holder only:
    // without the token the header is ignored, so no request chooses the config that serves.
    let selector = header("x-capi-config").or_else(|| link.then(|| "draft".to_string()));
    let preview = match (debug, selector) {
        (true, Some(selector)) => {
            let selector = match crate::config::store::parse_selector(&selector) {
                Ok(s) => s,
                Err(e) => {
                    return refuse(400, "invalid_config_version", &e, allowed_origin.as_deref())
                }
            };
            match crate::edge::config_store::preview(env, selector).await {
                Ok(p) => Some(p),
                Err(resp) => return resp.map(Into::into),
            }
        }
        _ => None,
    };
    let live = config;
    let config = preview.as_ref().map_or(config, |(c, _)| c.as_ref());
    let exposed: BTreeMap<String, String> = EXPOSED_HEADERS
        .iter()
        .filter_map(|h| header(h).map(|v| (h.to_string(), v)))
        .collect();
    let query = raw_url
        .split('#')
        .next()
        .and_then(|u| u.split_once('?'))
        .map(|(_, q)| q);
    let facts = RequestFacts {
        method: &method,
        content_type: headers.get("content-type"),
        body: &body,
        query,
        client_ip: headers.get("cf-connecting-ip"),
        user_agent: headers.get("user-agent"),
        cookie_header: headers.get("cookie"),
        referer: referer.as_deref(),
        exposed_headers: exposed,
        max_body_bytes: max,
    };
    let ctx = crate::intake::respond::Context {
        config,
        cors_origin: allowed_origin.as_deref(),
        debug,
        now_ms: Date::now().as_millis() as i64,
    };
    let mut reply = match client {
        Client::Pixel => {
            crate::intake::respond::browser(&ctx, &facts, &mut random_event_id, &mut random_u64)
        }
        Client::Ga4 => {
            crate::intake::respond::ga4(&ctx, &facts, &mut random_event_id, &mut random_u64)
        }
    };
    if debug {
        // The trace says which config version ran.
        let ran = match preview {
            Some((_, mut note)) => {
                // The queue consumer sends with the live config's destinations: a destination only in the previewed
                // version is traced but not queued.
                let (queued, skipped): (Vec<_>, Vec<_>) = std::mem::take(&mut reply.messages)
                    .into_iter()
                    .partition(|m| live.destination(&m.destination).is_some());
                reply.messages = queued;
                if !skipped.is_empty() {
                    let mut names: Vec<String> =
                        skipped.into_iter().map(|m| m.destination).collect();
                    names.dedup();
                    note["not_sent"] = names.into();
                }
                note
            }
            None => crate::pipeline::preview::serving_note(crate::edge::config_store::status()),
        };
        if let Some(body) = reply.body.take() {
            reply.body = Some(crate::pipeline::preview::with_config(body, ran));
        }
    }
    if !reply.messages.is_empty() {
        if let Err(e) = enqueue(env, std::mem::take(&mut reply.messages)).await {
            console_error!("capi-edge: enqueue failed: {e}");
            return refuse(
                503,
                "unavailable",
                "the event could not be queued; send it again",
                allowed_origin.as_deref(),
            );
        }
    }
    write(&reply)
}

/// Writes a reply the core decided, as it is.
fn write(reply: &crate::intake::respond::Reply) -> Result<web_sys::Response> {
    let pairs: Vec<(&str, &str)> = reply
        .headers
        .iter()
        .map(|(n, v)| (*n, v.as_str()))
        .collect();
    js::build_response(reply.status, &pairs, reply.body.as_deref())
}

/// A JSON error answer, with CORS headers for an allowed origin (so the page can read it).
fn refuse(
    status: u16,
    error: &str,
    detail: &str,
    origin: Option<&str>,
) -> Result<web_sys::Response> {
    write(&crate::intake::respond::json_reply(
        status,
        &error_body(error, detail),
        origin,
    ))
}

/// The Workers rate-limit binding `INTAKE_LIMITER`, keyed on the visitor's IP (wrangler.toml `[[ratelimits]]`).
/// `Some(seconds to wait)` when over the limit. Without the binding, or if it fails, intake stays open:
/// losing conversions is worse than letting a burst through.
async fn rate_limited(env: &Env, ip: Option<&str>) -> Option<u32> {
    let over = js::over_rate_limit(env, "INTAKE_LIMITER", ip.unwrap_or("unknown")).await?;
    over.then_some(RATE_LIMIT_PERIOD_S)
}

/// The period of the `[[ratelimits]]` rule in wrangler.toml, sent back as Retry-After.
const RATE_LIMIT_PERIOD_S: u32 = 60;

/// Preview mode: `x-capi-debug: <token>` with the token in the `DEBUG_TOKEN` secret. `Ok(false)` without the
/// header; a wrong token or no configured token is refused, so a mistake is visible instead of silently live.
fn debug_mode(env: &Env, presented: Option<&str>) -> std::result::Result<bool, Result<Response>> {
    let Some(presented) = presented else {
        return Ok(false);
    };
    crate::edge::auth::authorize_debug(env, presented, "preview mode", "wrong debug token")?;
    Ok(true)
}

/// Checks a preview link's token against the `DEBUG_TOKEN` secret (`crate::intake::preview_link`).
fn preview_link(
    env: &Env,
    token: &str,
    origin: Option<&str>,
) -> std::result::Result<(), Result<web_sys::Response>> {
    use crate::intake::preview_link::{verify, Refusal};
    let secret = env
        .secret("DEBUG_TOKEN")
        .map(|s| s.to_string())
        .unwrap_or_default();
    let now_s = (Date::now().as_millis() / 1000) as i64;
    match verify(&secret, token, now_s) {
        Ok(()) => Ok(()),
        Err(Refusal::Expired) => Err(refuse(
            401,
            "preview_link_expired",
            "this preview link has expired: make a new one on the config page",
            origin,
        )),
        Err(Refusal::Invalid) => Err(refuse(
            401,
            "preview_link_invalid",
            "this is not a preview link of this worker: make one on the config page",
            origin,
        )),
    }
}

/// Queues the messages as JSON text, in one `sendBatch` per 100 (the Queues limit).
pub async fn enqueue(env: &Env, messages: Vec<DeliveryMessage>) -> Result<()> {
    let texts: Vec<String> = messages
        .iter()
        .map(|m| serde_json::to_string(m).map_err(|e| Error::RustError(e.to_string())))
        .collect::<Result<_>>()?;
    for chunk in texts.chunks(100) {
        js::send_texts(env, crate::edge::settings::delivery_queue(env), chunk).await?;
    }
    Ok(())
}
