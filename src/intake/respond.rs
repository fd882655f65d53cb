//! Intake in the core, one step per way in: a request's facts in; the messages to queue and the exact response
//! out (status, headers, body). For browser hits, consent, click-id cookies, the debug trace and the response
//! headers are decided here; for the backend API and order webhooks, the verdicts. A native test reaches all of
//! it. The edge shell (`edge::intake::browser`, `edge::intake::server`) reads the request, checks what needs a secret or a binding
//! (the rate limit, the debug token, API keys, webhook signatures), queues the messages and writes this answer.

use crate::base::guard;
use crate::config::operations::LedgerMode;
use crate::config::Config;
use crate::delivery::{self, DeliveryMessage};
use crate::destination::RedactedSecrets;
use crate::hit::Hit;
use crate::identity::click_ids;
use crate::intake::{self, RequestFacts};
use crate::operations::sample;
use crate::pipeline::preview;
use crate::pipeline::Outcome;
use serde_json::{json, Value};

/// A transparent 1×1 GIF, the answer to an image beacon.
pub const GIF: [u8; 43] = [
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
];

/// What the shell knows besides the request itself.
pub struct Context<'a> {
    pub config: &'a Config,
    /// The page's origin to echo in CORS headers; `None` for a same-origin page, which needs none.
    pub cors_origin: Option<&'a str>,
    /// Preview mode: the debug token was presented and is right.
    pub debug: bool,
    pub now_ms: i64,
}

/// The answer to one browser request.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// To queue before answering; if that fails, the shell answers 503 instead.
    pub messages: Vec<DeliveryMessage>,
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<Vec<u8>>,
}

/// Turns a browser request (the pixel's hits) into its messages and its response. `new_id` makes event ids,
/// `random` the random part of a new `_fbp`.
pub fn browser(
    ctx: &Context,
    facts: &RequestFacts,
    new_id: &mut dyn FnMut() -> String,
    random: &mut dyn FnMut() -> u64,
) -> Reply {
    let hits = match intake::browser_hits(facts, ctx.now_ms) {
        Ok(h) => h,
        Err(refusal) => return json_reply(refusal.status, &refusal.body(), ctx.cors_origin),
    };
    // GA4 events the pixel's bridge read from the dataLayer get their names from the GA4 client's table (built
    // only for them: most hits are the pixel's own).
    let mut table = None;
    let hits = hits
        .into_iter()
        .map(|mut hit| {
            if hit.data.get("client").and_then(Value::as_str) == Some("datalayer") {
                let table = table.get_or_insert_with(|| ctx.config.ga4_table());
                hit.event = table.event_name(&hit.event).to_string();
            }
            (hit, Vec::new())
        })
        .collect();
    let answer = if facts.method == "GET" {
        Answer::Gif
    } else {
        Answer::NoContent
    };
    respond(ctx, answer, hits, Vec::new(), new_id, random)
}

/// The GA4 client: a site's own gtag.js hits at `<prefix>/g/collect` (one event in the query, or a batch of
/// lines in the body). Each event becomes a hit through the same tags as every other source, named by the
/// `[ga4] events` table, with `data.client = "ga4"`; every `ga4` destination gets the request as it came, for
/// Google. Answered as Google answers: 204.
pub fn ga4(
    ctx: &Context,
    facts: &RequestFacts,
    new_id: &mut dyn FnMut() -> String,
    random: &mut dyn FnMut() -> u64,
) -> Reply {
    let query = facts.query.unwrap_or("");
    let parsed = intake::check_size(facts)
        .and_then(|()| crate::intake::ga4::parse_collect(query, facts.body));
    let request = match parsed {
        Ok(r) => r,
        Err(r) => return json_reply(r.status, &r.body(), ctx.cors_origin),
    };
    let table = ctx.config.ga4_table();
    let mut hits = Vec::new();
    let mut unreadable = Vec::new();
    let mut analytics_denied = false;
    for event in &request.events {
        match event {
            Ok(event) => {
                analytics_denied |= event.consent.analytics_storage
                    == Some(crate::intake::ga4::ConsentState::Denied);
                let ga4_hit = crate::intake::ga4::to_hit(event, &table);
                hits.push((ga4_hit.hit, ga4_hit.warnings));
            }
            // One bad line does not drop the others; a preview's trace names it.
            Err(reason) if ctx.debug => hits.push((refused_line(), vec![reason.clone()])),
            Err(reason) => unreadable.push(reason.clone()),
        }
    }
    intake::enrich(hits.iter_mut().map(|(hit, _)| hit), facts, ctx.now_ms);
    // Google gets the request as it came, unless this is preview traffic (GA4 has no validation mode).
    let ga4_destinations = ctx
        .config
        .destinations
        .iter()
        .filter(|d| d.kind.platform().forwards_ga4_hits());
    // A line no one could read is counted where the site's GA4 traffic shows in the dashboard: as dropped, with
    // its reason (which names no value).
    let refused: Vec<DeliveryMessage> = ga4_destinations
        .clone()
        .flat_map(|d| unreadable.iter().map(move |reason| (d, reason)))
        .map(|(d, reason)| {
            let dropped = crate::pipeline::Dropped {
                status: "dropped",
                event_name: "ga4_unreadable_line".into(),
                destination_name: d.name.clone(),
                tag: String::new(),
                event_id: new_id(),
                reason: format!("a GA4 line was refused: {reason}"),
                // A row, so its reason shows (rare: each line a site's gtag could not have written).
                ledger: LedgerMode::Events,
            };
            DeliveryMessage::record(&dropped, "browser", ctx.now_ms)
        })
        .collect();
    let mut forward = None;
    let forwards = if ctx.debug {
        Vec::new()
    } else {
        ga4_destinations
            .map(|d| {
                // Built once, and only when there is a ga4 destination to forward to.
                let payload = forward.get_or_insert_with(|| {
                    // Google forbids personal data in GA4: no raw email in a parameter, none in a URL.
                    let redact = &ctx.config.site.redact_query;
                    let body: Vec<String> = request
                        .forward_body
                        .split('\n')
                        .map(|line| {
                            redact.ga4_params(&crate::intake::ga4::without_personal_data(line))
                        })
                        .collect();
                    crate::destination::ga4::forward_payload(
                        &redact.ga4_params(&crate::intake::ga4::without_personal_data(query)),
                        &body.join("\n"),
                        facts.client_ip.filter(|_| !analytics_denied),
                        facts.user_agent,
                    )
                });
                DeliveryMessage::forward(
                    &d.name,
                    "ga4_collect",
                    new_id(),
                    payload.clone(),
                    ctx.now_ms,
                )
            })
            .collect()
    };
    let mut messages = forwards;
    messages.extend(refused);
    respond(ctx, Answer::Ga4, hits, messages, new_id, random)
}

/// The stand-in for a GA4 line that could not be read: it fires nothing, and its trace says why.
fn refused_line() -> Hit {
    let mut hit = Hit {
        event: "(unreadable GA4 line)".into(),
        ..Hit::default()
    };
    hit.data.insert("client".into(), "ga4".into());
    hit
}

/// How a browser request is answered when nothing was wrong with it.
#[derive(Clone, Copy, PartialEq)]
enum Answer {
    /// The pixel's POST: 204.
    NoContent,
    /// An image beacon: a 1×1 GIF.
    Gif,
    /// A GA4 hit: 204, as Google answers, not to be cached.
    Ga4,
}

/// The per-hit work every browser path shares: consent, click-id cookies, the pipeline (or the preview trace),
/// the messages, and the response headers. `hits` carry the warnings of the client that took them.
fn respond(
    ctx: &Context,
    answer: Answer,
    hits: Vec<(Hit, Vec<String>)>,
    mut messages: Vec<DeliveryMessage>,
    new_id: &mut dyn FnMut() -> String,
    random: &mut dyn FnMut() -> u64,
) -> Reply {
    let config = ctx.config;
    let mut cookies = Vec::new();
    let mut event_ids = Vec::new();
    let mut traces = Vec::new();
    let mut tally = crate::operations::tally::Tally::default();
    for (mut hit, client_warnings) in hits {
        if !config.site.consent_denied.matches(&hit) {
            cookies = click_ids::refresh(&mut hit, ctx.now_ms, random);
        }
        let source = hit.source.as_str();
        if ctx.debug {
            let outcome = crate::pipeline::trace(config, &hit, ctx.now_ms, new_id);
            let mut trace = preview::trace_json(config, &hit, &outcome, &RedactedSecrets);
            // Which client took the hit (the pixel, GA4, the dataLayer or a platform pixel's bridge), and what it
            // left out on the way (a raw email in a GA4 parameter, an unreadable item).
            trace["client"] = hit.data.get("client").cloned().unwrap_or("pixel".into());
            trace["client_warnings"] = json!(client_warnings);
            traces.push(trace);
            messages.extend(test_messages(config, &outcome, source, ctx.now_ms));
            continue;
        }
        let outcome = crate::pipeline::process(config, &hit, ctx.now_ms, new_id);
        messages.extend(delivery::messages_for(&outcome, source, ctx.now_ms));
        messages.extend(sample::message(config, &hit, &outcome.event_id, ctx.now_ms));
        event_ids.extend(outcome.event_ids());
        tally.add(config, &hit, &outcome);
    }
    messages.extend(tally.message(ctx.now_ms));

    let mut headers = cors_headers(ctx.cors_origin);
    // Ids are guarded where they are produced (no control character) and encoded here for the header.
    headers.push(("x-capi-event-id", guard::id_list_header(&event_ids)));
    if ctx.cors_origin.is_some() {
        headers.push(("access-control-expose-headers", "x-capi-event-id".into()));
    }
    let domain = config.site.cookie_domain.as_deref();
    // A page that only the wildcard allows is another site's: it gets no first-party cookie of this one.
    if ctx.cors_origin != Some(ANY_ORIGIN) {
        headers.extend(cookies.iter().map(|c| ("set-cookie", c.header(domain))));
    }
    let (status, body) = if ctx.debug {
        headers.push(("content-type", "application/json".into()));
        let body = json!({"debug": true, "traces": traces});
        (200, Some(serde_json::to_vec(&body).unwrap_or_default()))
    } else {
        match answer {
            Answer::Gif => {
                headers.push(("content-type", "image/gif".into()));
                headers.push(("cache-control", "no-store".into()));
                (200, Some(GIF.to_vec()))
            }
            Answer::Ga4 => {
                headers.push((
                    "cache-control",
                    "no-cache, no-store, must-revalidate".into(),
                ));
                (204, None)
            }
            Answer::NoContent => (204, None),
        }
    };
    Reply {
        messages,
        status,
        headers,
        body,
    }
}

/// The backend events API's answer (`POST <prefix>/api/events`, the key already checked): a verdict per event,
/// so one bad event does not sink the others, and a message per delivery.
pub fn backend(
    config: &Config,
    facts: &RequestFacts,
    now_ms: i64,
    new_id: &mut dyn FnMut() -> String,
) -> Reply {
    let events = match crate::intake::sources::backend_hits(facts, now_ms) {
        Ok(e) => e,
        Err(r) => return json_reply(r.status, &r.body(), None),
    };
    let mut messages = Vec::new();
    let mut results = Vec::new();
    let mut tally = crate::operations::tally::Tally::default();
    for (index, event) in events.into_iter().enumerate() {
        match event {
            Ok(hit) => {
                let outcome = crate::pipeline::process(config, &hit, now_ms, new_id);
                results.push(accepted(index, &outcome));
                messages.extend(delivery::messages_for(&outcome, "server", now_ms));
                messages.extend(sample::message(config, &hit, &outcome.event_id, now_ms));
                tally.add(config, &hit, &outcome);
            }
            Err(reason) => {
                results.push(json!({"index": index, "status": "rejected", "reason": reason}))
            }
        }
    }
    messages.extend(tally.message(now_ms));
    let accepted_count = results.iter().filter(|r| r["status"] == "accepted").count();
    let body = json!({"accepted": accepted_count, "rejected": results.len() - accepted_count, "results": results});
    Reply {
        messages,
        ..json_reply(200, &body, None)
    }
}

/// A verified order webhook's answer (the signature already checked): the order as a hit, its messages, and a
/// 200 naming the event id. WooCommerce's setup ping only needs the 200.
pub fn webhook(
    config: &Config,
    kind: crate::intake::sources::WebhookKind,
    topic: &str,
    body: &[u8],
    shop_url: Option<&str>,
    now_ms: i64,
    new_id: &mut dyn FnMut() -> String,
) -> Reply {
    let hit = match crate::intake::sources::webhook_hit(kind, topic, body, now_ms, shop_url) {
        Ok(Some(hit)) => hit,
        Ok(None) => return json_reply(200, &json!({"ok": true, "ping": true}), None),
        Err(r) => return json_reply(r.status, &r.body(), None),
    };
    let outcome = crate::pipeline::process(config, &hit, now_ms, new_id);
    let fired = outcome.tags.iter().filter(|t| t.fired).count();
    let body = json!({"ok": true, "event_id": outcome.event_ids().join(","), "tags_fired": fired});
    let mut messages = delivery::messages_for(&outcome, "webhook", now_ms);
    messages.extend(sample::message(config, &hit, &outcome.event_id, now_ms));
    let mut tally = crate::operations::tally::Tally::default();
    tally.add(config, &hit, &outcome);
    messages.extend(tally.message(now_ms));
    Reply {
        messages,
        ..json_reply(200, &body, None)
    }
}

/// One accepted backend event: where it goes, what was dropped and why, and its warnings.
fn accepted(index: usize, outcome: &Outcome) -> Value {
    let destinations: Vec<&str> = outcome
        .deliveries
        .iter()
        .map(|d| d.destination_name.as_str())
        .collect();
    let dropped: Vec<Value> = outcome
        .dropped
        .iter()
        .map(|d| json!({"destination": d.destination_name, "status": d.status, "reason": d.reason}))
        .collect();
    json!({"index": index, "status": "accepted", "event_id": outcome.event_ids().join(","), "destinations": destinations,
           "dropped": dropped, "warnings": outcome.warnings()})
}

/// A JSON answer (an error, a refusal) with CORS headers when the origin is allowed, so the page can read it.
pub fn json_reply(status: u16, body: &Value, cors_origin: Option<&str>) -> Reply {
    let mut headers = vec![("content-type", "application/json".to_string())];
    headers.extend(cors_headers(cors_origin));
    Reply {
        messages: Vec::new(),
        status,
        headers,
        body: Some(serde_json::to_vec(body).unwrap_or_default()),
    }
}

/// The CORS origin of a request allowed only by `allowed_origins = ["*"]` (`cors::Cors::AnyOrigin`).
pub const ANY_ORIGIN: &str = "*";

/// CORS headers for an allowed origin; credentials are allowed so the first-party cookies travel, except for
/// the wildcard, which allows any page without them.
pub fn cors_headers(origin: Option<&str>) -> Vec<(&'static str, String)> {
    match origin {
        Some(ANY_ORIGIN) => vec![("access-control-allow-origin", ANY_ORIGIN.into())],
        Some(o) => vec![
            ("access-control-allow-origin", o.to_string()),
            ("access-control-allow-credentials", "true".into()),
            ("vary", "Origin".into()),
        ],
        None => Vec::new(),
    }
}

/// Debug traffic: only to destinations that have a validation mode, flagged so the consumer uses it and
/// leaves the ledger alone.
fn test_messages(
    config: &Config,
    outcome: &Outcome,
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

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"
[site]
allowed_origins = ["https://shop.example.com"]

[[destination]]
name = "openai"
kind = "openai"
pixel_id = "px_1"
token_secret = "OPENAI_CAPI_KEY"

[[tag]]
name = "purchase"
destination = "openai"
event = "Purchase"
[tag.map]
"event_id" = { from = ["data.order_id", "event_id"] }
"#;

    fn reply(config: &Config, method: &str, body: &str, query: Option<&str>, debug: bool) -> Reply {
        let facts = RequestFacts {
            method,
            content_type: Some("application/json"),
            body: body.as_bytes(),
            query,
            user_agent: Some("UA"),
            max_body_bytes: 1 << 16,
            ..RequestFacts::default()
        };
        let ctx = Context {
            config,
            cors_origin: Some("https://shop.example.com"),
            debug,
            now_ms: 1_767_225_600_000,
        };
        browser(&ctx, &facts, &mut || "gen-1".to_string(), &mut || 7)
    }

    #[test]
    fn a_chosen_hit_rides_the_queue_to_the_sample_and_a_denied_one_does_not() {
        let config =
            Config::parse(&CONFIG.replace("[site]\n", "[site]\nsample_one_in = 1\n")).unwrap();
        let body = r#"[{"event":"Purchase","event_id":"o-1","user":{"email":"Jane@Example.com"},"context":{"ip":"198.51.100.7"}},
                       {"event":"Purchase","event_id":"o-2","context":{"consent":{"ad_storage":"denied"}}}]"#;
        let r = reply(&config, "POST", body, None, false);
        let samples: Vec<&DeliveryMessage> = r
            .messages
            .iter()
            .filter(|m| m.action == delivery::Action::Sample)
            .collect();
        assert_eq!(samples.len(), 1, "{:?}", r.messages);
        assert_eq!(samples[0].source, "browser");
        assert_eq!(samples[0].event_name, "Purchase");
        let hit: Value = serde_json::from_str(samples[0].payload.json()).unwrap();
        assert_eq!(hit["event_id"], "o-1");
        assert_eq!(
            hit["user"]["email"],
            crate::identity::normalize::sha256_hex("jane@example.com")
        );
        assert_eq!(
            hit["context"]["user_agent"],
            crate::operations::sample::PLACEHOLDER
        );
        assert!(
            !samples[0].payload.json().contains("Jane")
                && !samples[0].payload.json().contains("198.51")
        );
        // The default, and preview traffic: nothing sampled (7 hits in 20 would be a coincidence).
        let default = Config::parse(CONFIG).unwrap();
        let r = reply(
            &default,
            "POST",
            r#"{"event":"Purchase","event_id":"o-1"}"#,
            None,
            false,
        );
        assert_eq!(
            default.site.sample_one_in,
            crate::operations::sample::DEFAULT_SAMPLE_ONE_IN
        );
        assert!(
            r.messages
                .iter()
                .all(|m| m.action != delivery::Action::Sample)
                || crate::operations::sample::chosen(20, "o-1")
        );
        let r = reply(
            &config,
            "POST",
            r#"{"event":"Purchase","event_id":"o-1"}"#,
            None,
            true,
        );
        assert!(r
            .messages
            .iter()
            .all(|m| m.action != delivery::Action::Sample));
    }

    fn header<'a>(r: &'a Reply, name: &str) -> Vec<&'a str> {
        r.headers
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    #[test]
    fn a_page_only_the_wildcard_allows_gets_no_credentials_and_no_cookie() {
        let config = Config::parse(&CONFIG.replace(
            "allowed_origins = [\"https://shop.example.com\"]",
            "allowed_origins = [\"*\"]",
        ))
        .unwrap();
        let facts = RequestFacts {
            method: "POST",
            body: br#"{"event":"Purchase","data":{"order_id":"ord-w"},"page":{"url":"https://other.example/?fbclid=Ab"}}"#,
            cookie_header: Some("_fbp=fb.1.1.1"),
            max_body_bytes: 1 << 16,
            ..RequestFacts::default()
        };
        let ctx = Context {
            config: &config,
            cors_origin: Some(ANY_ORIGIN),
            debug: false,
            now_ms: 1_767_225_600_000,
        };
        let r = browser(&ctx, &facts, &mut || "gen-1".to_string(), &mut || 7);
        assert_eq!(r.status, 204);
        assert_eq!(header(&r, "access-control-allow-origin"), ["*"]);
        assert!(header(&r, "access-control-allow-credentials").is_empty());
        assert!(
            header(&r, "set-cookie").is_empty(),
            "no first-party cookie for another site's page"
        );
        assert_eq!(r.messages.len(), 1, "the event itself is taken");
        // A refusal's answer says the same.
        let refused = json_reply(400, &json!({}), Some(ANY_ORIGIN));
        assert!(header(&refused, "access-control-allow-credentials").is_empty());
    }

    #[test]
    fn a_hit_is_answered_with_its_ids_its_cookies_and_cors_and_queued() {
        let config = Config::parse(CONFIG).unwrap();
        let r = reply(
            &config,
            "POST",
            r#"{"event":"Purchase","data":{"order_id":"ord-9"},"page":{"url":"https://shop.example.com/?fbclid=Ab"}}"#,
            None,
            false,
        );
        assert_eq!((r.status, r.body.as_deref()), (204, None));
        assert_eq!(header(&r, "x-capi-event-id"), ["ord-9"]);
        assert_eq!(
            header(&r, "access-control-allow-origin"),
            ["https://shop.example.com"]
        );
        assert_eq!(
            header(&r, "access-control-expose-headers"),
            ["x-capi-event-id"]
        );
        let cookies = header(&r, "set-cookie");
        assert!(
            cookies
                .iter()
                .any(|c| c.starts_with("_fbc=fb.1.1767225600000.Ab;")),
            "{cookies:?}"
        );
        assert!(
            cookies
                .iter()
                .any(|c| c.starts_with("_fbp=fb.1.1767225600000.7;")),
            "{cookies:?}"
        );
        assert_eq!(r.messages.len(), 1);
        assert_eq!(r.messages[0].event_id, "ord-9");
    }

    #[test]
    fn a_get_beacon_gets_a_gif_and_a_bad_hit_a_json_reason_with_cors() {
        let config = Config::parse(CONFIG).unwrap();
        let r = reply(
            &config,
            "GET",
            "",
            Some("event=Purchase&data.order_id=o1"),
            false,
        );
        assert_eq!((r.status, r.body.as_deref()), (200, Some(&GIF[..])));
        assert_eq!(header(&r, "content-type"), ["image/gif"]);
        let bad = reply(&config, "POST", r#"{"evnt":"x"}"#, None, false);
        assert_eq!(bad.status, 400);
        assert!(bad.messages.is_empty());
        assert_eq!(
            header(&bad, "access-control-allow-origin"),
            ["https://shop.example.com"]
        );
        let body: Value = serde_json::from_slice(bad.body.as_deref().unwrap()).unwrap();
        assert_eq!(body["error"], "invalid_hit");
    }

    #[test]
    fn every_header_of_every_reply_can_be_written_whatever_the_hit_holds() {
        // The reproduced response splitting: a mapped order id with a line break, by POST and by GET.
        let config = Config::parse(CONFIG).unwrap();
        let cases = [
            (
                "POST",
                r#"{"event":"Purchase","event_id":"e1","data":{"order_id":"1\r\nset-cookie:sid=x"}}"#,
                None,
            ),
            (
                "GET",
                "",
                Some("event=Purchase&data.order_id=1%0D%0Aset-cookie%3Asid%3Dx"),
            ),
            (
                "POST",
                r#"{"event":"Purchase","data":{"order_id":"注文-1"}}"#,
                None,
            ),
            (
                "POST",
                r#"{"event":"Purchase","context":{"cookies":{"_fbc":"x\nset-cookie:sid=x"}}}"#,
                None,
            ),
        ];
        for (method, body, query) in cases {
            let r = reply(&config, method, body, query, false);
            let pairs: Vec<(&str, &str)> =
                r.headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
            assert!(
                guard::header_lines(&pairs).is_ok(),
                "{method} {body} {query:?}: {pairs:?}"
            );
            assert!(!pairs.iter().any(|(_, v)| v.contains("sid=x")), "{pairs:?}");
        }
        let r = reply(
            &config,
            "POST",
            r#"{"event":"Purchase","data":{"order_id":"注文-1"}}"#,
            None,
            false,
        );
        assert_eq!(header(&r, "x-capi-event-id"), ["%E6%B3%A8%E6%96%87-1"]);
    }

    #[test]
    fn datalayer_events_from_the_bridge_are_named_by_the_ga4_table_and_only_they() {
        let config = Config::parse(CONFIG).unwrap();
        let from_bridge = r#"{"event":"purchase","data":{"client":"datalayer","order_id":"T-1"}}"#;
        let r = reply(&config, "POST", from_bridge, None, false);
        assert_eq!(
            r.messages.len(),
            1,
            "purchase → Purchase fires the purchase tag"
        );
        assert_eq!(r.messages[0].event_id, "T-1");
        let own = reply(
            &config,
            "POST",
            r#"{"event":"purchase","data":{"order_id":"T-2"}}"#,
            None,
            false,
        );
        // The pixel's own hits keep their names: "purchase" fires no tag, and is counted as such.
        assert_eq!(own.messages.len(), 1);
        assert_eq!(own.messages[0].action, delivery::Action::Tally);
        let tally = crate::operations::tally::Tally::from_payload(own.messages[0].payload_json());
        assert_eq!(tally.unmatched.get("purchase"), Some(&1));
    }

    #[test]
    fn denied_consent_sets_no_cookie_and_preview_answers_the_trace() {
        let config = Config::parse(CONFIG).unwrap();
        let denied = reply(
            &config,
            "POST",
            r#"{"event":"Purchase","page":{"url":"https://shop.example.com/?fbclid=Ab"},"context":{"consent":{"ad_storage":"denied"}}}"#,
            None,
            false,
        );
        assert!(header(&denied, "set-cookie").is_empty());
        let debug = reply(&config, "POST", r#"{"event":"Purchase"}"#, None, true);
        assert_eq!(debug.status, 200);
        let body: Value = serde_json::from_slice(debug.body.as_deref().unwrap()).unwrap();
        assert_eq!(body["debug"], true);
        assert_eq!(body["traces"][0]["tags"][0]["fired"], true);
        assert!(
            debug.messages.iter().all(|m| m.test),
            "debug traffic is flagged for validation modes"
        );
    }

    #[test]
    fn the_backend_api_and_webhooks_answer_a_verdict_and_queue_their_messages() {
        let config = Config::parse(CONFIG).unwrap();
        let body = r#"{"events":[{"event":"Purchase","event_id":"o1","page":{"url":"https://s.example/ty"}},{"evnt":"x"}]}"#;
        let facts = RequestFacts {
            body: body.as_bytes(),
            max_body_bytes: 1 << 16,
            ..RequestFacts::default()
        };
        let r = backend(&config, &facts, 1_767_225_600_000, &mut || "g".into());
        let answer: Value = serde_json::from_slice(r.body.as_deref().unwrap()).unwrap();
        assert_eq!(
            (r.status, &answer["accepted"], &answer["rejected"]),
            (200, &json!(1), &json!(1))
        );
        assert_eq!(answer["results"][0]["destinations"], json!(["openai"]));
        assert_eq!(
            r.messages.len(),
            1,
            "the good event is queued, the bad one is not"
        );
        let bad = RequestFacts {
            body: b"[]",
            max_body_bytes: 1 << 16,
            ..RequestFacts::default()
        };
        assert_eq!(backend(&config, &bad, 0, &mut || "g".into()).status, 400);

        let kind = crate::intake::sources::WebhookKind::WooCommerce;
        let ping = webhook(&config, kind, "", b"webhook_id=3", None, 0, &mut || {
            "g".into()
        });
        assert_eq!((ping.status, ping.messages.len()), (200, 0));
        let not_json = webhook(&config, kind, "order.created", b"{", None, 0, &mut || {
            "g".into()
        });
        assert_eq!((not_json.status, not_json.messages.len()), (400, 0));
    }

    const GA4_CONFIG: &str = r#"
[[destination]]
name = "openai"
kind = "openai"
pixel_id = "px_1"
token_secret = "OPENAI_CAPI_KEY"

[[destination]]
name = "google"
kind = "ga4"

[[tag]]
name = "purchase"
destination = "openai"
event = "Purchase"

[[tag]]
name = "add-to-cart"
destination = "openai"
event = "AddToCart"
"#;

    fn ga4_reply(query: &str, body: &str, debug: bool) -> Reply {
        let config = Config::parse(GA4_CONFIG).unwrap();
        let facts = RequestFacts {
            method: "POST",
            body: body.as_bytes(),
            query: Some(query),
            client_ip: Some("203.0.113.9"),
            user_agent: Some("Mozilla/5.0"),
            max_body_bytes: 1 << 16,
            ..RequestFacts::default()
        };
        let ctx = Context {
            config: &config,
            cors_origin: Some("https://shop.example.com"),
            debug,
            now_ms: 1_767_225_600_000,
        };
        let mut n = 0;
        ga4(
            &ctx,
            &facts,
            &mut || {
                n += 1;
                format!("id-{n}")
            },
            &mut || 7,
        )
    }

    #[test]
    fn a_ga4_purchase_reaches_the_tags_and_the_request_goes_on_to_google_as_it_came() {
        // gtag.js's single-event hit to a server container: every parameter in the query, an empty body.
        let query = "v=2&tid=G-1&cid=1.2&gcs=G111&dl=https%3A%2F%2Fshop.example.com%2Fty&en=purchase\
                     &cu=USD&ep.transaction_id=T-1&epn.value=38.03&pr1=idSKU_1~nmTee~pr10~qt2&_uip=6.6.6.6";
        let r = ga4_reply(query, "", false);
        assert_eq!(
            (r.status, r.body.as_deref()),
            (204, None),
            "answered as Google answers"
        );
        assert_eq!(
            header(&r, "cache-control"),
            ["no-cache, no-store, must-revalidate"]
        );
        assert_eq!(header(&r, "access-control-allow-credentials"), ["true"]);
        let sent: Vec<(&str, &str, &str)> = r
            .messages
            .iter()
            .map(|m| {
                (
                    m.destination.as_str(),
                    m.event_name.as_str(),
                    m.event_id.as_str(),
                )
            })
            .collect();
        assert_eq!(sent[0], ("google", "ga4_collect", "id-1"), "{sent:?}");
        assert_eq!(
            sent[1],
            ("openai", "order_created", "T-1"),
            "transaction_id is the event id"
        );
        let forward: Value = serde_json::from_str(r.messages[0].payload.json()).unwrap();
        assert_eq!(forward["query"], query);
        assert_eq!(
            (forward["ip"].as_str(), forward["user_agent"].as_str()),
            (Some("203.0.113.9"), Some("Mozilla/5.0"))
        );
        let purchase: Value = serde_json::from_str(r.messages[1].payload.json()).unwrap();
        assert_eq!(purchase["data"]["amount"], 3803);
        assert_eq!(purchase["data"]["contents"][0]["id"], "SKU_1");
    }

    #[test]
    fn a_batch_with_a_bad_line_keeps_the_others_and_denied_consent_keeps_the_ip_from_google() {
        // Batched: shared parameters in the query, one event per body line (\n or \r\n).
        let query = "v=2&tid=G-1&cid=1.2&gcs=G100&dl=https%3A%2F%2Fshop.example.com%2Fp";
        let body =
            "en=page_view\r\nen=add_to_cart&cu=USD&epn.value=5&pr1=idA~qt1\nen=\nen=view_item";
        let r = ga4_reply(query, body, false);
        assert_eq!(r.status, 204);
        let forward: Value = serde_json::from_str(r.messages[0].payload.json()).unwrap();
        assert_eq!(
            forward["ip"],
            Value::Null,
            "analytics_storage denied: Google does not get the IP"
        );
        assert_eq!(
            forward["body"],
            "en=page_view\nen=add_to_cart&cu=USD&epn.value=5&pr1=idA~qt1\nen=\nen=view_item"
        );
        let unreadable: Vec<_> = r
            .messages
            .iter()
            .filter(|m| m.event_name == "ga4_unreadable_line")
            .collect();
        assert_eq!(
            unreadable.len(),
            1,
            "the bad line is counted in the dashboard"
        );
        assert!(
            matches!(&unreadable[0].action, crate::delivery::Action::Record { status, reason }
            if status == "dropped" && reason.contains("event 2"))
        );
        // ad_storage denied: the add_to_cart reaches no ad platform; it is recorded as consent-blocked.
        let blocked: Vec<_> = r
            .messages
            .iter()
            .filter(|m| m.destination == "openai")
            .collect();
        assert_eq!(blocked.len(), 1);
        assert!(
            matches!(&blocked[0].action, crate::delivery::Action::Record { status, .. } if status == "consent_blocked")
        );

        let preview = ga4_reply(query, body, true);
        let trace: Value = serde_json::from_slice(preview.body.as_deref().unwrap()).unwrap();
        let traces = trace["traces"].as_array().unwrap();
        assert_eq!(traces.len(), 4, "every line, the unreadable one included");
        assert!(traces.iter().all(|t| t["client"] == "ga4"));
        assert!(
            traces.iter().any(|t| t["client_warnings"]
                .to_string()
                .contains("event 2: the event name")),
            "{trace}"
        );
        assert!(
            preview.messages.iter().all(|m| m.destination != "google"),
            "preview traffic is not forwarded"
        );
    }

    #[test]
    fn a_tag_cannot_send_to_a_ga4_destination() {
        let src = format!(
            "{GA4_CONFIG}\n[[tag]]\nname = \"x\"\ndestination = \"google\"\nevent = \"Lead\"\n"
        );
        let errors = Config::parse(&src).unwrap_err();
        assert!(
            errors
                .iter()
                .any(|e| e.message.contains("a ga4 destination")),
            "{errors:?}"
        );
    }
}
