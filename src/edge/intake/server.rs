//! Server-side ways in: the backend events API, Shopify and WooCommerce order webhooks, and the first-party
//! proxy for the platforms' own browser scripts.

use super::browser::enqueue;
use crate::base::random::random_event_id;
use crate::config::Config;
use crate::edge::js;
use crate::edge::respond::json_error;
use crate::edge::settings;
use crate::intake::respond;
use crate::intake::sources::{self, WebhookKind};
use crate::intake::RequestFacts;
use worker::*;

/// `POST <prefix>/api/events` with `Authorization: Bearer <key>`: a verdict per event.
pub async fn backend(mut req: Request, env: &Env, config: &Config) -> Result<Response> {
    let keys: Vec<String> = config
        .sources
        .backend_key_secrets
        .iter()
        .filter_map(|name| env.secret(name).ok().map(|s| s.to_string()))
        .collect();
    if keys.is_empty() {
        return json_error(
            404,
            "not_configured",
            "the backend events API is off: set [sources] backend_key_secrets",
        );
    }
    if !sources::key_matches(&crate::edge::auth::bearer(&req), &keys) {
        return json_error(
            401,
            "unauthorized",
            "missing or wrong API key (Authorization: Bearer <key>)",
        );
    }
    if req.method() != Method::Post {
        return json_error(405, "method_not_allowed", "use POST");
    }
    let body = req.bytes().await.unwrap_or_default();
    let facts = RequestFacts {
        body: &body,
        max_body_bytes: config.site.max_body_bytes.max(1 << 20),
        ..RequestFacts::default()
    };
    let now = Date::now().as_millis() as i64;
    let mut reply = respond::backend(config, &facts, now, &mut random_event_id);
    if let Err(e) = enqueue(env, std::mem::take(&mut reply.messages)).await {
        console_error!("capi-edge: enqueue failed: {e}");
        return json_error(
            503,
            "unavailable",
            "the events could not be queued; send the batch again",
        );
    }
    write(reply)
}

/// Writes a reply the core decided, as it is.
fn write(reply: respond::Reply) -> Result<Response> {
    let mut resp = Response::from_bytes(reply.body.unwrap_or_default())?.with_status(reply.status);
    for (name, value) in &reply.headers {
        resp.headers_mut().set(name, value)?;
    }
    Ok(resp)
}

/// `POST <prefix>/webhooks/shopify|woocommerce`: verified by HMAC, then an ordinary hit (`source = webhook`).
pub async fn webhook(
    kind_name: &str,
    mut req: Request,
    env: &Env,
    config: &Config,
) -> Result<Response> {
    let Some(kind) = WebhookKind::parse(kind_name) else {
        return json_error(
            404,
            "not_found",
            "webhooks are taken for shopify and woocommerce",
        );
    };
    let secret_name = match kind {
        WebhookKind::Shopify => &config.sources.shopify_secret,
        WebhookKind::WooCommerce => &config.sources.woocommerce_secret,
    };
    let Some(secret) = secret_name
        .as_ref()
        .and_then(|n| env.secret(n).ok())
        .map(|s| s.to_string())
    else {
        return json_error(
            404,
            "not_configured",
            &format!("{kind_name} webhooks are off: set [sources] {kind_name}_secret"),
        );
    };
    let body = req.bytes().await.unwrap_or_default();
    let signature = first_header(&req, kind.signature_headers()).unwrap_or_default();
    let ping = kind == WebhookKind::WooCommerce && body.starts_with(b"webhook_id=");
    if !ping && !sources::verify_signature(&secret, &body, &signature) {
        // Nothing about the body is logged: it holds customer data.
        console_log!("capi-edge: refused a {kind_name} webhook: missing or bad signature");
        return json_error(
            401,
            "bad_signature",
            &format!(
                "the {} header does not match the body",
                kind.signature_headers()[0]
            ),
        );
    }
    let topic = first_header(&req, kind.topic_headers()).unwrap_or_default();
    let shop_url = config.sources.shop_url.clone().or_else(|| {
        first_header(&req, kind.shop_domain_headers())
            .and_then(|d| crate::base::url::shop_base_from_domain(&d))
    });
    let now = Date::now().as_millis() as i64;
    let mut reply = respond::webhook(
        config,
        kind,
        &topic,
        &body,
        shop_url.as_deref(),
        now,
        &mut random_event_id,
    );
    if let Err(e) = enqueue(env, std::mem::take(&mut reply.messages)).await {
        console_error!("capi-edge: enqueue failed: {e}");
        // A non-2xx makes the platform deliver the webhook again later.
        return json_error(
            503,
            "unavailable",
            "the order could not be queued; the platform will retry",
        );
    }
    write(reply)
}

/// The value of the first of `names` the request carries.
fn first_header(req: &Request, names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|name| req.headers().get(name).ok().flatten())
}

/// `GET <prefix><path>` for a `[[proxy]]`: the platform's script from its fixed upstream, cached at the edge;
/// with `pass_requests`, a POST goes on to the same fixed upstream.
pub async fn proxy(
    mut req: Request,
    env: &Env,
    config: &Config,
    path: &str,
) -> Result<Option<Response>> {
    let Some(p) = config.proxies.iter().find(|p| p.path == path) else {
        return Ok(None);
    };
    if req.method() == Method::Post && p.pass_requests {
        return pass_request(&mut req, env, &p.upstream, config.site.max_body_bytes)
            .await
            .map(Some);
    }
    if req.method() != Method::Get && req.method() != Method::Head {
        return json_error(405, "method_not_allowed", "use GET").map(Some);
    }
    let cache = Cache::default();
    if let Some(hit) = cache.get(p.upstream.as_str(), true).await? {
        return Ok(Some(hit));
    }
    let url = settings::upstream_url(env, &p.upstream);
    let upstream = match js::fetch("GET", &url, &[], None, 0).await {
        Ok(r) if r.status == 200 => r,
        Ok(r) => {
            return json_error(
                502,
                "upstream_error",
                &format!("the script's origin answered {}", r.status),
            )
            .map(Some)
        }
        Err(e) => {
            return json_error(
                502,
                "upstream_error",
                &format!("the script's origin did not answer: {e}"),
            )
            .map(Some)
        }
    };
    let content_type = if upstream.content_type.is_empty() {
        "application/javascript".to_string()
    } else {
        upstream.content_type
    };
    let mut resp = Response::from_bytes(upstream.body)?;
    resp.headers_mut().set("content-type", &content_type)?;
    resp.headers_mut().set(
        "cache-control",
        &format!("public, max-age={}", p.cache_seconds),
    )?;
    cache.put(p.upstream.as_str(), resp.cloned()?).await?;
    Ok(Some(resp))
}

/// Forwards a beacon POST to the proxy's fixed upstream: body and content type only, no cookies, no caching.
async fn pass_request(
    req: &mut Request,
    env: &Env,
    upstream: &str,
    max_body: usize,
) -> Result<Response> {
    let body = req.bytes().await.unwrap_or_default();
    if body.len() > max_body {
        return json_error(
            413,
            "body_too_large",
            &format!("the body is {} bytes; the limit is {max_body}", body.len()),
        );
    }
    let url = settings::upstream_url(env, upstream);
    let content_type = req.headers().get("content-type").ok().flatten();
    let headers: Vec<(&str, &str)> = content_type
        .iter()
        .map(|ct| ("content-type", ct.as_str()))
        .collect();
    match js::fetch("POST", &url, &headers, Some(&body), 0).await {
        Ok(r) => Ok(Response::from_bytes(r.body)?.with_status(r.status)),
        Err(e) => json_error(
            502,
            "upstream_error",
            &format!("the pixel's endpoint did not answer: {e}"),
        ),
    }
}
