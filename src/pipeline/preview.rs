//! Preview: the debug trace of a hit, GTM's preview mode at the edge. For each tag, whether it fired and which
//! condition failed if not; the mapped fields with their normalized forms and hashes; the outbound bodies; every
//! warning and drop. Shown only to holders of the debug token (or by `capi-edge run --trace`).

use crate::config::Config;
use crate::destination::{Destination, Secrets};
use crate::event::quality;
use crate::hit::Hit;
use crate::pipeline::Outcome;
use serde_json::{json, Map, Value};

/// Debug traffic goes to the platforms' validation modes only: OpenAI's `validate_only`, and for the
/// Meta-style layouts a `test_event_code`. Without one, a Meta-style destination would count it as real. Each
/// kind says (`Platform::test_mode_refusal`).
pub fn test_mode_refusal(dest: &Destination) -> Option<String> {
    dest.test_mode_refusal()
}

/// The trace of one hit through `pipeline::trace`. Outbound bodies are built in test mode with `secrets`
/// (redacted in the CLI); destinations that cannot take test traffic are listed as not sent.
pub fn trace_json(config: &Config, hit: &Hit, outcome: &Outcome, secrets: &dyn Secrets) -> Value {
    let tags: Vec<Value> = outcome
        .tags
        .iter()
        .map(|t| match &t.event {
            None => json!({"tag": t.tag, "fired": false, "reason": t.reason}),
            Some(ev) => {
                let identifiers: Map<String, Value> = ev
                    .user
                    .identifiers
                    .iter()
                    .map(|(k, id)| (k.code().to_string(), json!({"normalized": id.normalized, "sha256": id.sha256})))
                    .collect();
                json!({
                    "tag": t.tag,
                    "fired": true,
                    "event": {
                        "name": ev.name,
                        "event_id": ev.event_id,
                        "time_ms": ev.time_ms,
                        "source_url": ev.source_url,
                        "identifiers": identifiers,
                        "signals": {"client_ip_address": ev.user.client_ip, "client_user_agent": ev.user.user_agent,
                                    "fbc": ev.user.fbc, "fbp": ev.user.fbp, "oppref": ev.user.oppref},
                        "value": ev.value,
                        "currency": ev.currency,
                        "contents": ev.contents.len(),
                        "custom": ev.custom,
                        "match_quality": ev.match_quality,
                        "missing_identifiers": quality::missing(&ev.user),
                        "warnings": ev.warnings,
                    }
                })
            }
        })
        .collect();
    let mut not_sent: Vec<Value> = outcome
        .dropped
        .iter()
        .map(|d| json!({"destination": d.destination_name, "tag": d.tag, "status": d.status, "reason": d.reason}))
        .collect();
    let mut outbound = Vec::new();
    for (i, dest) in config.destinations.iter().enumerate() {
        let payloads: Vec<Value> = outcome
            .deliveries
            .iter()
            .filter(|d| d.destination == i)
            .map(|d| d.payload.clone())
            .collect();
        if payloads.is_empty() {
            continue;
        }
        if let Some(reason) = test_mode_refusal(dest) {
            not_sent
                .push(json!({"destination": dest.name, "status": "not_sent", "reason": reason}));
            continue;
        }
        match dest.request_with(payloads, secrets, true) {
            Ok(r) => outbound.push(r.summary()),
            Err(e) => {
                not_sent.push(json!({"destination": dest.name, "status": "not_sent", "reason": e}))
            }
        }
    }
    // The hit as the tags saw it: emails and phone numbers in its URLs replaced (`crate::hit::redact`).
    let (hit, _) = config.site.redact_query.hit(hit);
    let redacted = (outcome.redacted > 0).then(|| {
        format!(
            "{} value(s) that looked like an email address or a phone number, or that [site] redact_query names, \
             were replaced with {} in the page URL and referrer before any tag read them",
            outcome.redacted,
            crate::hit::redact::PLACEHOLDER
        )
    });
    let no_tag_fired = (!outcome.tags.iter().any(|t| t.fired)).then(|| no_tag_note(config, &hit));
    json!({
        "event_ids": outcome.event_ids(),
        "consent_denied": outcome.consent_denied,
        "redacted": redacted,
        "no_tag_fired": no_tag_fired,
        "hit": hit,
        "source": hit.source.as_str(),
        "tags": tags,
        "outbound": outbound,
        "not_sent": not_sent,
    })
}

/// The tag event closest to an event name that fired nothing, when it is close enough to be a typo.
pub fn likely_meant<'c>(config: &'c Config, event: &str) -> Option<&'c str> {
    let events: Vec<&str> = config
        .tags
        .iter()
        .map(|t| t.event.as_str())
        .filter(|e| *e != event)
        .collect();
    crate::base::diagnostic::did_you_mean(event, events)
}

/// The trace's line for a hit that fired no tag.
pub fn no_tag_note(config: &Config, hit: &Hit) -> String {
    let mut events: Vec<&str> = config.tags.iter().map(|t| t.event.as_str()).collect();
    events.dedup();
    let mut note = if config.expects_event(&hit.event) {
        format!(
            "no tag fired for event {:?}: the hit is answered and nothing is sent (no tag's conditions matched it)",
            hit.event
        )
    } else {
        format!(
            "no tag fired for event {:?}: the hit is answered but nothing is sent, and the dashboard counts it under \"hits that fired no tag\"",
            hit.event
        )
    };
    if let Some(meant) = likely_meant(config, &hit.event) {
        note.push_str(&format!(". Did the site mean \"{meant}\"?"));
    }
    note
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::destination::RedactedSecrets;

    #[test]
    fn the_trace_shows_what_fired_what_did_not_and_why_and_what_would_be_sent() {
        let config = Config::parse(include_str!("../../capi.toml")).unwrap();
        let hit = Hit::from_json(
            br#"{"event":"Purchase","event_id":"ord-9","page":{"url":"https://shop.example.com/thank-you"},
                "user":{"email":" Jane.Doe@Example.com ","phone":"12"},"data":{"value":10,"currency":"USD"},
                "context":{"user_agent":"UA","ip":"203.0.113.1"}}"#,
        )
        .unwrap();
        let outcome = crate::pipeline::trace(&config, &hit, 1_767_225_600_000, &mut || "x".into());
        let t = trace_json(&config, &hit, &outcome, &RedactedSecrets);
        let purchase = &t["tags"][0];
        assert_eq!(purchase["fired"], true);
        assert_eq!(
            purchase["event"]["identifiers"]["em"]["normalized"],
            "jane.doe@example.com"
        );
        assert_eq!(
            purchase["event"]["identifiers"]["em"]["sha256"],
            "86e0b9e56c17cc4d12387e1949b85053fbe73bc3ce5a1188713a9d300cc6133d"
        );
        assert_eq!(
            purchase["event"]["warnings"][0],
            "ph dropped: a phone number needs 7 to 15 digits with the country code"
        );
        let lead = t["tags"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["tag"] == "lead")
            .unwrap();
        assert_eq!(lead["fired"], false);
        assert_eq!(
            lead["reason"],
            r#"event in ["Lead","Contact","NewsletterSignup"] (was "Purchase")"#
        );
        // Test mode: OpenAI validates only; the capi destination has no test_event_code, so it is not sent.
        assert_eq!(t["outbound"].as_array().unwrap().len(), 1);
        assert_eq!(t["outbound"][0]["body"]["validate_only"], true);
        assert!(t["not_sent"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("test_event_code"));
    }
}

/// A debug answer (`{"debug": true, "traces": […]}`) with the config version it ran with under `"config"`. A body
/// that is not a JSON object is returned as it is.
pub fn with_config(body: Vec<u8>, config: Value) -> Vec<u8> {
    match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(mut map)) => {
            map.insert("config".into(), config);
            serde_json::to_vec(&map).unwrap_or(body)
        }
        _ => body,
    }
}

/// What a trace says of the live config (`config_store::LiveState::status_json`): its version (`null` for the one
/// compiled into the worker), and that it is the live one.
pub fn serving_note(status: Value) -> Value {
    json!({"version": status.get("version").cloned().unwrap_or(Value::Null),
           "source": status.get("source").cloned().unwrap_or(Value::Null),
           "selected": "live", "live": true})
}

#[cfg(test)]
mod config_note_tests {
    use super::*;

    #[test]
    fn a_debug_answer_names_the_config_it_ran_with() {
        let body = br#"{"debug":true,"traces":[]}"#.to_vec();
        let note = json!({"version": 3, "selected": "draft", "live": false});
        let out: Value = serde_json::from_slice(&with_config(body, note.clone())).unwrap();
        assert_eq!(out, json!({"debug": true, "traces": [], "config": note}));
        assert_eq!(
            with_config(b"not json".to_vec(), note),
            b"not json".to_vec()
        );
        let live = serving_note(json!({"version": null, "source": "embedded", "refused": null}));
        assert_eq!(
            live,
            json!({"version": null, "source": "embedded", "selected": "live", "live": true})
        );
    }
}
