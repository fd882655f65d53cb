//! The new platform kinds beyond their golden requests: how each reads its platform's answers (retry, a config
//! error for a bad token or account, the bad event of a batch, per-event failures), what `check` says about
//! their settings, and that secrets are asked for by name and never written into the config.

use capi_edge::config::Config;
use capi_edge::delivery::batch::{Outcome, Round};
use capi_edge::delivery::{classify, Verdict};
use capi_edge::destination::{Destination, RedactedSecrets, Secrets};
use std::collections::HashMap;
use std::path::Path;

/// The kind's fixture block (`tests/fixtures/platforms/<kind>.toml`), checked, with one tag.
fn destination(kind: &str) -> Destination {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/platforms");
    let block = std::fs::read_to_string(dir.join(format!("{kind}.toml"))).unwrap();
    let config = Config::parse(&format!(
        "{block}\n[[tag]]\nname = \"t\"\ndestination = \"ads\"\nevent = \"Purchase\"\n"
    ))
    .unwrap_or_else(|e| panic!("{kind}: {e:?}"));
    config.destination("ads").unwrap().clone()
}

fn errors(src: &str) -> Vec<String> {
    match Config::parse(src) {
        Ok(_) => Vec::new(),
        Err(errors) => errors
            .into_iter()
            .map(|d| format!("{} | {}", d.message, d.hint.unwrap_or_default()))
            .collect(),
    }
}

fn is_config_error(v: &Verdict, words: &str) -> bool {
    matches!(v, Verdict::ConfigError(reason) if reason.contains(words))
}

#[test]
fn tiktok_reads_its_code_not_the_http_status() {
    let d = destination("tiktok");
    assert_eq!(
        classify(
            &d,
            Some(200),
            r#"{"code":0,"message":"OK","request_id":"r1","data":{}}"#
        ),
        Verdict::Delivered
    );
    assert!(matches!(
        classify(&d, Some(200), r#"{"code":40100,"message":"Too many requests. Please retry in some time."}"#),
        Verdict::Retry(r) if r.contains("40100")
    ));
    let no_permission =
        r#"{"code":40001,"message":"No permission to operate pixel code: CXXXXXXXXXXXXXXXXXXX."}"#;
    assert!(is_config_error(
        &classify(&d, Some(200), no_permission),
        "pixel_code"
    ));
    assert!(is_config_error(
        &classify(
            &d,
            Some(200),
            r#"{"code":40105,"message":"Access token is invalid"}"#
        ),
        "TIKTOK_ACCESS_TOKEN"
    ));
    assert_eq!(
        classify(
            &d,
            Some(200),
            r#"{"code":40002,"message":"data.2.properties.contents.0.content_id: Not a valid string"}"#
        ),
        Verdict::Rejected {
            index: Some(2),
            message:
                "TikTok code 40002: data.2.properties.contents.0.content_id: Not a valid string"
                    .into()
        }
    );
    assert!(matches!(
        classify(&d, Some(502), "<html>bad gateway</html>"),
        Verdict::Retry(_)
    ));
}

#[test]
fn pinterest_fails_only_the_events_it_names() {
    let d = destination("pinterest");
    let partly = r#"{"num_events_received":3,"num_events_processed":2,"events":[
        {"status":"processed","error_message":null},{"status":"failed","error_message":"event_time is too old"},{"status":"processed"}]}"#;
    assert_eq!(
        classify(&d, Some(200), partly),
        Verdict::Partial(vec![(1, "Pinterest: event_time is too old".into())])
    );
    assert_eq!(
        classify(&d, Some(422), partly),
        Verdict::Partial(vec![(1, "Pinterest: event_time is too old".into())])
    );
    let all =
        r#"{"num_events_received":1,"num_events_processed":1,"events":[{"status":"processed"}]}"#;
    assert_eq!(classify(&d, Some(200), all), Verdict::Delivered);
    assert!(is_config_error(
        &classify(
            &d,
            Some(401),
            r#"{"code":2,"message":"Authentication failed."}"#
        ),
        "PINTEREST_TOKEN"
    ));
    assert!(is_config_error(
        &classify(
            &d,
            Some(403),
            r#"{"code":29,"message":"You are not permitted to access that resource."}"#
        ),
        "549755885175"
    ));
    assert!(matches!(
        classify(&d, Some(429), r#"{"code":8,"message":"rate limit"}"#),
        Verdict::Retry(_)
    ));

    // The round: event 1 fails alone, 0 and 2 are sent, nothing is sent again.
    let mut round = Round::new(3, 1000);
    let batch = round.next_batch().unwrap();
    round.answer(batch, classify(&d, Some(200), partly));
    assert!(round.next_batch().is_none());
    assert_eq!(
        round.outcomes(),
        vec![
            Outcome::Sent,
            Outcome::Failed("Pinterest: event_time is too old".into()),
            Outcome::Sent
        ]
    );
}

#[test]
fn snap_reads_invalid_even_with_200() {
    let d = destination("snap");
    assert_eq!(
        classify(&d, Some(200), r#"{"status":"VALID","reason":"ok"}"#),
        Verdict::Delivered
    );
    assert_eq!(
        classify(
            &d,
            Some(400),
            r#"{"status":"INVALID","reason":"Timestamp invalid or out of range","event":1,"errors":{"codes":["E1"],"error_msgs":["event_time"]}}"#
        ),
        Verdict::Rejected {
            index: Some(1),
            message: "Snap: Timestamp invalid or out of range (event_time)".into()
        }
    );
    assert!(matches!(
        classify(
            &d,
            Some(200),
            r#"{"status":"INVALID","reason":"Unhashed PII"}"#
        ),
        Verdict::Rejected { index: None, .. }
    ));
    assert!(is_config_error(
        &classify(
            &d,
            Some(401),
            r#"{"status":"INVALID","reason":"invalid token"}"#
        ),
        "SNAP_CAPI_TOKEN"
    ));
}

#[test]
fn reddit_names_the_bad_event_of_a_refused_batch() {
    let d = destination("reddit");
    let refused = r#"{"error":{"code":400,"message":"There were 1 invalid conversion events. None were processed.","fields":[{"field":"$.data.events[2].user.UUID","message":"invalid UUID"}]}}"#;
    assert!(
        matches!(classify(&d, Some(400), refused), Verdict::Rejected { index: Some(2), message } if message.contains("invalid UUID"))
    );
    assert!(is_config_error(
        &classify(
            &d,
            Some(401),
            r#"{"error":{"code":401,"message":"UNAUTHORIZED"}}"#
        ),
        "REDDIT_CONVERSION_TOKEN"
    ));
    assert!(is_config_error(
        &classify(
            &d,
            Some(403),
            r#"{"error":{"code":403,"message":"You're not authorized to post conversions to Pixel ID a2_abc123."}}"#
        ),
        "a2_abc123"
    ));
    assert_eq!(
        classify(
            &d,
            Some(200),
            r#"{"data":{"message":"Successfully processed 3 conversion events."}}"#
        ),
        Verdict::Delivered
    );
}

#[test]
fn linkedin_reads_index_messages_and_retired_versions() {
    let d = destination("linkedin");
    let bad = r#"{"message":"Index: 1, ERROR :: /conversionValue/amount :: field is required but not found and has no default value\n","status":422}"#;
    assert!(matches!(
        classify(&d, Some(422), bad),
        Verdict::Rejected { index: Some(1), .. }
    ));
    assert!(is_config_error(
        &classify(
            &d,
            Some(401),
            r#"{"status":401,"serviceErrorCode":65601,"code":"REVOKED_ACCESS_TOKEN","message":"The token used in the request has been revoked by the user"}"#
        ),
        "60 days"
    ));
    assert!(is_config_error(
        &classify(
            &d,
            Some(426),
            r#"{"status":426,"message":"version 202605 is not active"}"#
        ),
        "api_version"
    ));
    let not_capi = r#"{"message":"Incorrect conversions information provided. Conversion's method should be CONVERSIONS_API, indices [0] (0-indexed)","status":400}"#;
    assert!(is_config_error(
        &classify(&d, Some(400), not_capi),
        "Conversions API rule"
    ));
    assert_eq!(
        classify(&d, Some(200), r#"{"elements":[{"status":201}]}"#),
        Verdict::Delivered
    );
}

#[test]
fn ga4_mp_debug_answers_refuse_and_collect_answers_pass() {
    let d = destination("ga4-mp");
    assert_eq!(classify(&d, Some(204), ""), Verdict::Delivered);
    assert_eq!(
        classify(&d, Some(200), r#"{"validationMessages":[]}"#),
        Verdict::Delivered
    );
    let invalid = r#"{"validationMessages":[{"fieldPath":"events","description":"Event at index: [0] has invalid name [_bad].","validationCode":"NAME_INVALID"}]}"#;
    assert!(
        matches!(classify(&d, Some(200), invalid), Verdict::Rejected { message, .. } if message.contains("NAME_INVALID"))
    );
}

#[test]
fn google_ads_partial_failures_by_index_and_resends_already_taken() {
    let d = destination("google-ads");
    let partial = r#"{"results":[{"gclid":"a"},{},{}],"partialFailureError":{"code":3,"message":"Request contains an invalid argument.","details":[{"@type":"type.googleapis.com/google.ads.googleads.v26.errors.GoogleAdsFailure","errors":[
        {"errorCode":{"conversionUploadError":"UNPARSEABLE_GCLID"},"message":"The imported gclid could not be decoded.","location":{"fieldPathElements":[{"fieldName":"conversions","index":1},{"fieldName":"gclid"}]}},
        {"errorCode":{"conversionUploadError":"ORDER_ID_ALREADY_IN_USE"},"message":"already","location":{"fieldPathElements":[{"fieldName":"conversions","index":2}]}}]}]}}"#;
    assert_eq!(
        classify(&d, Some(200), partial),
        Verdict::Partial(vec![(
            1,
            "Google Ads UNPARSEABLE_GCLID: The imported gclid could not be decoded.".into()
        )]),
        "a conversion Google already has (a resend) counts as sent"
    );
    let too_early = r#"{"partialFailureError":{"details":[{"errors":[{"errorCode":{"conversionUploadError":"TOO_RECENT_EVENT"},"message":"Retry after 6 hours","location":{"fieldPathElements":[{"fieldName":"conversions","index":0}]}}]}]}}"#;
    assert!(
        matches!(classify(&d, Some(200), too_early), Verdict::Retry(r) if r.contains("TOO_RECENT_EVENT"))
    );
    assert_eq!(
        classify(&d, Some(200), r#"{"results":[{"gclid":"a"}],"jobId":"1"}"#),
        Verdict::Delivered
    );
    let expired = r#"{"error":{"code":401,"message":"expired","status":"UNAUTHENTICATED","details":[{"errors":[{"errorCode":{"authenticationError":"OAUTH_TOKEN_EXPIRED"},"message":"expired"}]}]}}"#;
    assert!(matches!(
        classify(&d, Some(401), expired),
        Verdict::Retry(_)
    ));
    let revoked = r#"{"error":{"code":401,"message":"revoked","status":"UNAUTHENTICATED","details":[{"errors":[{"errorCode":{"authenticationError":"OAUTH_TOKEN_REVOKED"},"message":"revoked"}]}]}}"#;
    assert!(is_config_error(
        &classify(&d, Some(401), revoked),
        "oauth_secrets"
    ));
}

#[test]
fn google_ads_trades_the_refresh_token_and_reads_the_answer() {
    let d = destination("google-ads");
    let secrets = Named(HashMap::from([
        ("GOOGLE_ADS_CLIENT_ID", "id-1.apps.googleusercontent.com"),
        ("GOOGLE_ADS_CLIENT_SECRET", "s&cret"),
        ("GOOGLE_ADS_REFRESH_TOKEN", "1//rt"),
    ]));
    let exchange = d.token_request(&secrets).unwrap().unwrap();
    assert_eq!(exchange.url, "https://oauth2.googleapis.com/token");
    assert_eq!(
        exchange.form,
        "grant_type=refresh_token&client_id=id-1.apps.googleusercontent.com&client_secret=s%26cret&refresh_token=1%2F%2Frt"
    );
    let platform = d.kind.platform();
    assert_eq!(
        platform.read_token(
            200,
            &serde_json::json!({"access_token":"ya29.x","expires_in":3599,"token_type":"Bearer"})
        ),
        Ok(("ya29.x".to_string(), 3599))
    );
    let refused = platform.read_token(400, &serde_json::json!({"error":"invalid_grant","error_description":"Token has been expired or revoked."})).unwrap_err();
    assert!(refused.contains("invalid_grant"), "{refused}");
    // A missing secret is named, with the command that sets it.
    let missing = d.token_request(&Named(HashMap::new())).unwrap_err();
    assert!(
        missing.contains("wrangler secret put GOOGLE_ADS_CLIENT_ID"),
        "{missing}"
    );
}

#[test]
fn x_answers_by_status_and_signs_each_request_afresh() {
    let d = destination("x");
    assert!(is_config_error(
        &classify(
            &d,
            Some(401),
            r#"{"errors":[{"code":"UNAUTHORIZED_ACCESS","message":"This request is not properly authenticated"}]}"#
        ),
        "oauth_secrets"
    ));
    assert!(is_config_error(
        &classify(
            &d,
            Some(404),
            r#"{"errors":[{"code":"NOT_FOUND","message":"event_id (abc) does not belong to provided account","parameter":"event_id"}]}"#
        ),
        "event_id"
    ));
    assert!(matches!(
        classify(
            &d,
            Some(400),
            r#"{"errors":[{"code":"INVALID_PARAMETER","message":"At least one user identifier must be provided"}]}"#
        ),
        Verdict::Rejected { index: None, .. }
    ));
    assert!(matches!(
        classify(
            &d,
            Some(200),
            r#"{"errors":[{"code":"INVALID_PARAMETER","message":"bad"}]}"#
        ),
        Verdict::Rejected { .. }
    ));
    assert_eq!(
        classify(
            &d,
            Some(200),
            r#"{"data":{"conversions_processed":1,"debug_id":"d"}}"#
        ),
        Verdict::Delivered
    );

    let mut secrets = Named(HashMap::from([
        ("X_CONSUMER_KEY", "ck"),
        ("X_CONSUMER_SECRET", "cs"),
        ("X_ACCESS_TOKEN", "at"),
        ("X_ACCESS_TOKEN_SECRET", "ats"),
    ]));
    let first = d
        .request(
            vec![serde_json::json!({"event_id": "tw-o8z6j-o87ne"})],
            &secrets,
        )
        .unwrap();
    secrets.0.insert("X_ACCESS_TOKEN", "at2");
    let second = d
        .request(
            vec![serde_json::json!({"event_id": "tw-o8z6j-o87ne"})],
            &secrets,
        )
        .unwrap();
    let auth = |r: &capi_edge::destination::OutboundRequest| {
        r.headers
            .iter()
            .find(|(k, _)| k == "authorization")
            .unwrap()
            .1
            .clone()
    };
    assert!(auth(&first).starts_with("OAuth oauth_consumer_key=\"ck\""));
    assert_ne!(
        auth(&first),
        auth(&second),
        "the signature covers the token"
    );
    assert!(
        !auth(&first).contains("cs") && !auth(&first).contains("ats"),
        "the secrets sign; they are not sent"
    );
}

#[test]
fn settings_of_another_kind_and_missing_settings_are_told_with_a_fix() {
    let block = |kind_and_settings: &str| {
        format!("[[destination]]\nname = \"ads\"\n{kind_and_settings}\n[[tag]]\nname = \"t\"\ndestination = \"ads\"\nevent = \"Purchase\"\n")
    };
    let e = errors(&block(
        "kind = \"tiktok\"\npixel_id = \"C1\"\ntoken_secret = \"T\"",
    ));
    assert!(
        e.iter().any(
            |m| m.contains("names its account with pixel_code, not pixel_id")
                && m.contains("pixel_code = \"C1\"")
        ),
        "{e:?}"
    );
    let e = errors(&block(
        "kind = \"snap\"\npixel_id = \"p\"\ntoken_secret = \"T\"\nad_account_id = \"1\"",
    ));
    assert!(
        e.iter()
            .any(|m| m.contains("ad_account_id is not a setting of a snap destination")),
        "{e:?}"
    );
    let e = errors(&block(
        "kind = \"pinterest\"\nad_account_id = \"acct-1\"\ntoken_secret = \"T\"",
    ));
    assert!(
        e.iter()
            .any(|m| m.contains("is not a Pinterest ad account id")),
        "{e:?}"
    );
    let e = errors(&block(
        "kind = \"ga4-mp\"\nmeasurement_id = \"UA-1\"\napi_secret_secret = \"abc123secretvalue\"",
    ));
    assert!(
        e.iter().any(|m| m.contains("not a GA4 measurement id")),
        "{e:?}"
    );
    assert!(
        e.iter()
            .any(|m| m.contains("api_secret_secret must be the NAME of a Worker secret")),
        "{e:?}"
    );
    let e = errors(&block(
        "kind = \"x\"\npixel_id = \"o8z6j\"\noauth_secrets = { consumer_key = \"K\" }",
    ));
    assert!(
        e.iter()
            .any(|m| m.contains("needs oauth_secrets with consumer_secret, token, token_secret")),
        "{e:?}"
    );
    assert!(e.iter().any(|m| m.contains("needs event_id")), "{e:?}");
    let e = errors(&block(
        "kind = \"linkedin\"\ntoken_secret = \"T\"\nconversion_rule = \"abc\"",
    ));
    assert!(
        e.iter()
            .any(|m| m.contains("is not a LinkedIn conversion rule id")),
        "{e:?}"
    );
    let e = errors(&block("kind = \"google-ads\"\ncustomer_id = \"12-34\""));
    assert!(
        e.iter()
            .any(|m| m.contains("is not a Google Ads customer id")),
        "{e:?}"
    );
    assert!(
        e.iter().any(|m| m.contains("needs a conversion_action")),
        "{e:?}"
    );
    assert!(e.iter().any(|m| m.contains("needs oauth_secrets with client_id, client_secret, refresh_token")), "{e:?}");
}

#[test]
fn dry_runs_show_where_each_secret_goes_without_knowing_it() {
    for kind in [
        "tiktok",
        "pinterest",
        "snap",
        "reddit",
        "linkedin",
        "ga4-mp",
        "google-ads",
        "x",
    ] {
        let d = destination(kind);
        let r = d
            .request(vec![serde_json::json!({})], &RedactedSecrets)
            .unwrap();
        let text = format!("{} {:?} {}", r.url, r.headers, r.body_text());
        assert!(
            text.contains("secret") || text.contains("access token of"),
            "{kind}: {text}"
        );
    }
}

struct Named(HashMap<&'static str, &'static str>);

impl Secrets for Named {
    fn secret(&self, name: &str) -> Option<String> {
        self.0.get(name).map(|s| s.to_string())
    }
}

#[test]
fn what_the_ledger_keeps_of_an_answer_never_holds_the_requests_secrets() {
    let secrets = Named(HashMap::from([
        ("SNAP_CAPI_TOKEN", "snap-secret-token-123"),
        ("GA4_API_SECRET", "ga4 secret/value+1"),
    ]));
    let snap = destination("snap")
        .request(vec![serde_json::json!({})], &secrets)
        .unwrap();
    let echoed = format!(
        "network error: fetch to {} failed (token snap-secret-token-123)",
        snap.url
    );
    let kept = snap.scrub(&echoed);
    assert!(!kept.contains("snap-secret-token-123"), "{kept}");
    assert!(
        kept.contains("https://tr.snapchat.com/v3/"),
        "the rest stays readable: {kept}"
    );
    let ga4 = destination("ga4-mp")
        .request(vec![serde_json::json!({})], &secrets)
        .unwrap();
    assert!(
        ga4.url.contains("api_secret=ga4%20secret%2Fvalue%2B1"),
        "{}",
        ga4.url
    );
    let kept = ga4.scrub(&format!("{} ga4 secret/value+1", ga4.url));
    assert!(
        !kept.contains("ga4 secret/value+1") && !kept.contains("ga4%20secret"),
        "{kept}"
    );
    let x = destination("x")
        .request(
            vec![serde_json::json!({})],
            &Named(HashMap::from([
                ("X_CONSUMER_KEY", "consumer-key-abcdef"),
                ("X_CONSUMER_SECRET", "cs"),
                ("X_ACCESS_TOKEN", "access-token-abcdef"),
                ("X_ACCESS_TOKEN_SECRET", "ts"),
            ])),
        )
        .unwrap();
    let kept = x.scrub("refused oauth_token=\"access-token-abcdef\"");
    assert!(!kept.contains("access-token-abcdef"), "{kept}");
}

/// The README's "one example each" block is a valid config with every kind that takes tags.
#[test]
fn the_readmes_example_of_each_kind_checks() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let at = readme
        .find("One example each")
        .expect("the README lists the kinds");
    let start = readme[at..].find("```toml").unwrap() + at + 7;
    let block = &readme[start..start + readme[start..].find("```").unwrap()];
    let names: Vec<&str> = block
        .lines()
        .filter_map(|l| l.strip_prefix("name = \""))
        .map(|l| l.trim_end_matches('"'))
        .collect();
    let src =
        format!("{block}\n[[tag]]\nname = \"p\"\ndestinations = {names:?}\nevent = \"Purchase\"\n");
    let config = Config::parse(&src).unwrap_or_else(|e| panic!("the README's example: {e:?}"));
    let mut shown: Vec<&str> = config
        .destinations
        .iter()
        .map(|d| d.kind.as_str())
        .collect();
    shown.sort();
    let mut kinds: Vec<&str> = capi_edge::destination::Kind::names()
        .into_iter()
        .filter(|k| !matches!(*k, "ga4" | "capi"))
        .collect();
    kinds.sort();
    assert_eq!(shown, kinds, "one example of every kind that takes tags");
}
