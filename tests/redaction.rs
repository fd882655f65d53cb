//! No email address or phone number written in a page URL leaves the worker: over generated URLs, through the
//! shipped capi.toml and every browser way in (the pixel's POST, its GET beacon's `u=`, the Referer fallback, a
//! site's GA4 hit with `dl`/`dr`) and the backend API, nothing the worker queues, stores or sends (the queue
//! messages, kept as they are for replay; each outbound request's URL, headers and body; the response) holds
//! the value in any encoding. The attribution parameters are still there.

use capi_edge::config::Config;
use capi_edge::delivery::Action;
use capi_edge::destination::Secrets;
use capi_edge::intake::respond::{self, Context, Reply};
use capi_edge::intake::RequestFacts;
use proptest::prelude::*;

const NOW_MS: i64 = 1_767_225_600_000;

fn shipped_config() -> Config {
    let src = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/capi.toml")).unwrap();
    Config::parse(&src).expect("the shipped capi.toml is valid")
}

struct TestSecrets;
impl Secrets for TestSecrets {
    fn secret(&self, name: &str) -> Option<String> {
        Some(format!("secret-{name}"))
    }
}

/// Everything the worker would queue, store, send and answer for a reply, as text.
fn everything_written(config: &Config, reply: &Reply) -> Vec<String> {
    let mut out = Vec::new();
    for m in &reply.messages {
        out.push(serde_json::to_string(m).unwrap());
        if m.action != Action::Send {
            continue;
        }
        let dest = config
            .destination(&m.destination)
            .expect("a configured destination");
        let payload: serde_json::Value = serde_json::from_str(m.payload_json()).unwrap();
        let request = dest
            .request_with(vec![payload], &TestSecrets, false)
            .unwrap();
        out.push(request.url.clone());
        out.extend(request.headers.iter().map(|(k, v)| format!("{k}: {v}")));
        out.push(request.body_text());
    }
    out.extend(reply.headers.iter().map(|(k, v)| format!("{k}: {v}")));
    out.extend(
        reply
            .body
            .as_ref()
            .map(|b| String::from_utf8_lossy(b).into_owned()),
    );
    out
}

/// The text with percent-encoding undone (as often as it was applied) and only letters and digits kept, so an
/// email or phone number is found whatever its encoding or separators.
fn flattened(text: &str) -> String {
    let mut t = text.to_string();
    for _ in 0..3 {
        t = decode(&t);
    }
    t.chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase()
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn encode(s: &str) -> String {
    capi_edge::hit::field::percent_encode(s)
}

fn ctx(config: &Config) -> Context<'_> {
    Context {
        config,
        cors_origin: None,
        debug: false,
        now_ms: NOW_MS,
    }
}

fn facts<'a>(
    method: &'a str,
    body: &'a [u8],
    query: Option<&'a str>,
    referer: Option<&'a str>,
) -> RequestFacts<'a> {
    RequestFacts {
        method,
        content_type: Some("text/plain"),
        body,
        query,
        user_agent: Some("Mozilla/5.0 test"),
        client_ip: Some("203.0.113.9"),
        referer,
        max_body_bytes: 1 << 16,
        ..RequestFacts::default()
    }
}

/// The replies of every way in for a page URL and referrer.
fn replies(config: &Config, url: &str, referrer: &str) -> Vec<Reply> {
    let mut out = Vec::new();
    let hit = serde_json::json!({"event": "Purchase", "event_id": "ord-1",
        "page": {"url": url, "referrer": referrer}, "data": {"value": 10, "currency": "USD"}});
    let body = hit.to_string();
    out.push(respond::browser(
        &ctx(config),
        &facts("POST", body.as_bytes(), None, None),
        &mut || "id".into(),
        &mut || 7,
    ));
    // The GET beacon: `u=` is the page URL.
    let query = format!(
        "n=Purchase&i=ord-2&u={}&d.value=10&d.currency=USD",
        encode(url)
    );
    out.push(respond::browser(
        &ctx(config),
        &facts("GET", b"", Some(&query), None),
        &mut || "id".into(),
        &mut || 7,
    ));
    // No page URL in the hit: the Referer header stands in.
    let bare = r#"{"event":"Purchase","event_id":"ord-3","data":{"value":10,"currency":"USD"}}"#;
    out.push(respond::browser(
        &ctx(config),
        &facts("POST", bare.as_bytes(), None, Some(url)),
        &mut || "id".into(),
        &mut || 7,
    ));
    // A site's own GA4 hit.
    let ga4 = format!(
        "v=2&tid=G-TEST123&cid=1.2&en=purchase&ep.transaction_id=ord-4&epn.value=10&cu=USD&dl={}&dr={}",
        encode(url),
        encode(referrer)
    );
    out.push(respond::ga4(
        &ctx(config),
        &facts("POST", b"", Some(&ga4), None),
        &mut || "id".into(),
        &mut || 7,
    ));
    // The backend API.
    let backend = serde_json::json!({"events": [hit]}).to_string();
    let mut backend_facts = facts("POST", backend.as_bytes(), None, None);
    backend_facts.content_type = Some("application/json");
    out.push(respond::backend(
        config,
        &backend_facts,
        NOW_MS,
        &mut || "id".into(),
    ));
    out
}

/// Ways a person or a form writes an email and a phone into a URL's parameter value.
fn written_forms(local: &str, phone_tail: &str) -> Vec<(String, String, String)> {
    let email = format!("{local}@example.com");
    let phone = format!("+4477009{phone_tail}");
    let spaced = format!("+44 7700 9{phone_tail}");
    vec![
        (email.clone(), encode(&email), phone.clone()),
        (email.clone(), email.replace('@', "%40"), encode(&phone)),
        (email.clone(), encode(&email), encode(&spaced)),
        (email.clone(), email.clone(), phone.clone()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn no_email_or_phone_from_a_url_leaves_the_worker(
        local in "leak[a-z]{6}",
        phone_tail in "[0-9]{5}",
        email_param in prop::sample::select(vec!["email", "e", "customer", "x", "contact_email", "to"]),
        phone_param in prop::sample::select(vec!["phone", "tel", "p", "mobile", "number"]),
        other in "[a-z]{1,8}",
        form in 0usize..4,
        in_fragment in any::<bool>(),
    ) {
        let config = shipped_config();
        let (email, email_written, phone_written) = written_forms(&local, &phone_tail).swap_remove(form);
        let params = format!("{email_param}={email_written}&{phone_param}={phone_written}&{other}=1&fbclid=IwAR1&utm_source=news");
        let url = if in_fragment {
            format!("https://shop.example.com/thank-you?o=1#{params}")
        } else {
            format!("https://shop.example.com/thank-you?{params}")
        };
        let referrer = format!("https://mail.example/read?{email_param}={email_written}");
        let phone_digits = format!("4477009{phone_tail}");
        let mut sent_somewhere = false;
        for reply in replies(&config, &url, &referrer) {
            prop_assert!(reply.status < 400, "refused: {:?}", reply.body.as_ref().map(|b| String::from_utf8_lossy(b).into_owned()));
            for text in everything_written(&config, &reply) {
                let flat = flattened(&text);
                prop_assert!(!flat.contains(&local), "the email {email} leaves in: {text}");
                prop_assert!(!flat.contains(&phone_digits), "the phone {phone_written} leaves in: {text}");
                if text.contains("fbclid=IwAR1") || text.contains("fbclid%3DIwAR1") {
                    sent_somewhere = true;
                }
            }
        }
        prop_assert!(sent_somewhere, "the click id is kept in what is sent");
    }
}

#[test]
fn the_page_url_reaches_the_platforms_with_its_personal_values_replaced() {
    let config = shipped_config();
    let url = "https://shop.example.com/thank-you?email=jane%40example.com&phone=%2B16505551212&o=1&oppref=opp_1";
    let reply = &replies(&config, url, "https://chatgpt.com/")[0];
    let payloads: Vec<serde_json::Value> = reply
        .messages
        .iter()
        .filter(|m| m.action == Action::Send)
        .map(|m| serde_json::from_str(m.payload_json()).unwrap())
        .collect();
    let expected =
        "https://shop.example.com/thank-you?email=(redacted)&phone=(redacted)&o=1&oppref=opp_1";
    let urls: Vec<&str> = payloads
        .iter()
        .filter_map(|p| p["source_url"].as_str().or(p["event_source_url"].as_str()))
        .collect();
    assert_eq!(
        urls,
        [expected, expected],
        "OpenAI's source_url and Meta's event_source_url"
    );
    // Counted for the dashboard.
    let tally = reply
        .messages
        .iter()
        .find(|m| m.action == Action::Tally)
        .expect("a tally message");
    assert_eq!(
        capi_edge::operations::tally::Tally::from_payload(tally.payload_json()).redacted,
        2
    );
}
