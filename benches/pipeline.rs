//! The core pipeline's cost per hit, natively: parse the hit, run every tag of the example config, normalize
//! and hash, build the payloads and the outbound requests. `cargo bench --bench pipeline`.

use capi_edge::config::Config;
use capi_edge::delivery::DeliveryMessage;
use capi_edge::destination::RedactedSecrets;
use capi_edge::hit::Hit;
use std::hint::black_box;
use std::time::Instant;

const HIT: &[u8] = br#"{"event":"Purchase","event_id":"ord-1001","time":1767225540,
  "page":{"url":"https://shop.example.com/thank-you?oppref=opp_abc","referrer":"https://chatgpt.com/"},
  "user":{"email":" Jane.Doe@Example.com ","phone":"+1 (650) 555-1212","first_name":"Jane","last_name":"Doe",
          "city":"San Francisco","zip":"94107","country":"US"},
  "data":{"value":149.0,"currency":"USD","contents":[{"id":"BOOT-42","quantity":1,"price":149.0}]},
  "context":{"ip":"2001:db8::42","user_agent":"Mozilla/5.0 (X11; Linux x86_64)","cookies":{"_fbp":"fb.1.1.2"}}}"#;
const NOW_MS: i64 = 1_767_225_600_000;

/// A batched GA4 request as gtag.js sends it to a server container: shared parameters in the query, one event
/// per body line (page_view, view_item, add_to_cart with an item, a purchase with two items and tax).
const GA4_QUERY: &str =
    "v=2&tid=G-5T0Z13HKP4&gtm=45je5580h2v9219555710za200&_p=1746817938582&gcs=G111\
    &gcd=13r3r3r3r5l1&cid=315691213.1760240992&ul=en-us&sr=1745x982&sid=1746817858&sct=1&seg=1\
    &dl=https%3A%2F%2Fshop.example.com%2Fthank-you%3Foppref%3Dopp_abc&dt=Thank%20you&richsstsse";
const GA4_BODY: &[u8] = b"en=page_view&_et=12\r\n\
en=view_item&cu=USD&epn.value=10.01&pr1=idSKU_12345~nmStan%20and%20Friends%20Tee~brGoogle~caApparel~pr10.01~qt1\r\n\
en=add_to_cart&cu=USD&epn.value=10.01&pr1=idSKU_12345~nmStan%20and%20Friends%20Tee~pr10.01~qt1\r\n\
en=purchase&cu=USD&ep.transaction_id=T-1001&epn.value=38.03&epn.tax=3.6&epn.shipping=5\
&pr1=idSKU_12345~nmStan%20and%20Friends%20Tee~pr10.01~qt3&pr2=idSKU_67890~nmGoogle%20Mug~pr8~qt1\
&em=tv.1~em.McVUPBc00lxyBvX9WRUl0Clb7G_oT_gvlGo0_pcKHmY";

/// The GA4 client's core: parse the batch and turn each of its 4 events into a hit.
fn per_ga4_batch(table: &capi_edge::intake::ga4::EventTable) {
    let request = capi_edge::intake::ga4::parse_collect(black_box(GA4_QUERY), black_box(GA4_BODY))
        .expect("the bench batch parses");
    let hits: Vec<_> = request
        .events
        .iter()
        .flatten()
        .map(|e| capi_edge::intake::ga4::to_hit(e, table))
        .collect();
    assert_eq!(hits.len(), 4);
    black_box(hits);
}

/// Median µs per call of `f` over 15 runs of `n` calls, after a warm-up; and the min and max.
fn measure(n: usize, mut f: impl FnMut()) -> (f64, f64, f64) {
    for _ in 0..n / 2 {
        f();
    }
    let mut samples = Vec::new();
    for _ in 0..15 {
        let t = Instant::now();
        for _ in 0..n {
            f();
        }
        samples.push(t.elapsed().as_secs_f64() * 1e6 / n as f64);
    }
    samples.sort_by(|a, b| a.total_cmp(b));
    (
        samples[samples.len() / 2],
        samples[0],
        samples[samples.len() - 1],
    )
}

fn per_hit(config: &Config) {
    let hit = Hit::from_json(black_box(HIT)).expect("the bench hit parses");
    let outcome =
        capi_edge::pipeline::process(config, &hit, NOW_MS, &mut || "generated".to_string());
    let requests = capi_edge::pipeline::requests(config, outcome.deliveries, &RedactedSecrets);
    assert_eq!(requests.len(), 2);
    black_box(requests);
}

/// What a hit's queue messages cost besides the pipeline. Intake: each delivery as a message, as JSON text.
fn queue_texts(deliveries: &[capi_edge::pipeline::Delivery]) -> Vec<String> {
    deliveries
        .iter()
        .map(|d| DeliveryMessage::send(d, "browser", NOW_MS))
        .map(|m| serde_json::to_string(black_box(&m)).expect("a message serializes"))
        .collect()
}

/// The consumer: each text read back, and its payload parsed for the platform's batch.
fn read_queue_texts(texts: &[String]) {
    for text in texts {
        let m: DeliveryMessage = serde_json::from_str(black_box(text)).expect("a message reads");
        let payload: serde_json::Value =
            serde_json::from_str(m.payload_json()).expect("a payload reads");
        black_box(payload);
    }
}

fn main() {
    let config = Config::parse(include_str!("../capi.toml")).expect("the example config parses");
    let start = Instant::now();
    let parse_runs = 200;
    for _ in 0..parse_runs {
        black_box(Config::parse(black_box(include_str!("../capi.toml"))).ok());
    }
    let parse_us = start.elapsed().as_secs_f64() * 1e6 / parse_runs as f64;

    for _ in 0..2_000 {
        per_hit(&config); // warm-up
    }
    let mut samples = Vec::new();
    for _ in 0..15 {
        let n = 5_000;
        let t = Instant::now();
        for _ in 0..n {
            per_hit(&config);
        }
        samples.push(t.elapsed().as_secs_f64() * 1e6 / n as f64);
    }
    samples.sort_by(|a, b| a.total_cmp(b));
    let median = samples[samples.len() / 2];
    println!("core pipeline, example capi.toml, Purchase → 2 destinations (hit parse, 4 tags, normalize + hash 7 identifiers, 2 requests)");
    println!(
        "  per hit: median {median:.2} µs  (min {:.2}, max {:.2}; 15 runs × 5,000 hits)",
        samples[0],
        samples[samples.len() - 1]
    );
    println!("  config parse + check, natively (the worker loads the compiled JSON instead): {parse_us:.0} µs");
    let table = config.ga4_table();
    let (median, min, max) = measure(5_000, || per_ga4_batch(&table));
    println!("GA4 client, a batched /g/collect request of 4 events (page_view, view_item, add_to_cart, purchase with 2 items)");
    println!("  parse + 4 hits: median {median:.2} µs  (min {min:.2}, max {max:.2}; 15 runs × 5,000 requests)");
    let hit = Hit::from_json(HIT).expect("the bench hit parses");
    let deliveries =
        capi_edge::pipeline::process(&config, &hit, NOW_MS, &mut || "generated".to_string())
            .deliveries;
    assert_eq!(deliveries.len(), 2);
    let (median, min, max) = measure(5_000, || {
        black_box(queue_texts(&deliveries));
    });
    println!("queue messages, the Purchase's 2 deliveries");
    println!("  intake, as JSON texts: median {median:.2} µs  (min {min:.2}, max {max:.2}; 15 runs × 5,000 hits)");
    let texts = queue_texts(&deliveries);
    let (median, min, max) = measure(5_000, || read_queue_texts(&texts));
    println!("  consumer, read back with their payloads: median {median:.2} µs  (min {min:.2}, max {max:.2})");
    if std::env::var_os("BENCH_SPLIT").is_some() {
        let n = 20_000;
        let t = Instant::now();
        for _ in 0..n {
            black_box(Hit::from_json(black_box(HIT)).ok());
        }
        println!(
            "  of which hit parse: {:.2} µs",
            t.elapsed().as_secs_f64() * 1e6 / n as f64
        );
        let hit = Hit::from_json(HIT).unwrap();
        let t = Instant::now();
        for _ in 0..n {
            black_box(capi_edge::pipeline::process(
                &config,
                &hit,
                NOW_MS,
                &mut || "generated".to_string(),
            ));
        }
        println!(
            "  of which process: {:.2} µs",
            t.elapsed().as_secs_f64() * 1e6 / n as f64
        );
        let out =
            capi_edge::pipeline::process(&config, &hit, NOW_MS, &mut || "generated".to_string());
        let t = Instant::now();
        for _ in 0..n {
            black_box(capi_edge::pipeline::requests(
                &config,
                out.deliveries.clone(),
                &RedactedSecrets,
            ));
        }
        println!(
            "  of which requests: {:.2} µs",
            t.elapsed().as_secs_f64() * 1e6 / n as f64
        );
    }
}
