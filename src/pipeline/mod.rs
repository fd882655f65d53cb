//! The pipeline: hit in → each tag whose trigger matches → mapped, normalized, hashed event → per destination,
//! a payload (or the reason it was dropped). Then payloads → outbound request values, in batches.
//! Pure: the caller passes the clock and the id generator.

pub mod preview;

use crate::base::guard;
use crate::base::text::Case;
use crate::base::time;
use crate::config::operations::LedgerMode;
use crate::config::{Config, Tag};
use crate::destination::{OutboundRequest, Secrets};
use crate::event::quality;
use crate::event::{ActionSource, Content, Event, UserData};
use crate::hit::{Hit, MAX_NAME_LEN};
use crate::identity::normalize::{self, Key};
use crate::rules::mapping::{number, Slot, Target, Transform};
use crate::rules::trigger::as_text;
use serde_json::{Map, Value};

/// What happened to one tag for one hit: the debug trace.
#[derive(Debug, Clone)]
pub struct TagTrace {
    pub tag: String,
    pub fired: bool,
    /// When it did not fire, in `pipeline::trace`: the condition that failed, in words.
    pub reason: Option<String>,
    /// When it fired: the event built.
    pub event: Option<Event>,
}

/// One event ready for one destination.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// Index into `Config::destinations`.
    pub destination: usize,
    pub destination_name: String,
    pub tag: String,
    /// The event's name at this destination (`order_created` at OpenAI).
    pub event_name: String,
    pub event_id: String,
    pub payload: Value,
    pub match_quality: f64,
    /// Valuable identifiers the event lacked (`quality::missing`).
    pub missing: Vec<&'static str>,
    pub value: Option<f64>,
    pub currency: Option<String>,
    /// What the ledger keeps of it (the tag's `ledger`).
    pub ledger: LedgerMode,
}

/// An event one destination will not get, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Dropped {
    /// `consent_blocked` or `dropped` (a platform rule, e.g. the timestamp window).
    pub status: &'static str,
    pub event_name: String,
    pub destination_name: String,
    pub tag: String,
    pub event_id: String,
    pub reason: String,
    pub ledger: LedgerMode,
}

/// Everything the pipeline decided for one hit.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub event_id: String,
    /// The hit carries a denied consent signal (see `[site] consent_denied`).
    pub consent_denied: bool,
    pub tags: Vec<TagTrace>,
    pub deliveries: Vec<Delivery>,
    pub dropped: Vec<Dropped>,
    /// Values replaced in the page URL and referrer before any tag saw them (`crate::hit::redact`).
    pub redacted: usize,
}

impl Outcome {
    /// The event ids as sent: a tag may map its own (an order id), so these can differ from `event_id`.
    pub fn event_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = Vec::new();
        let sent = self.deliveries.iter().map(|d| &d.event_id);
        for id in sent.chain(self.dropped.iter().map(|d| &d.event_id)) {
            if !ids.contains(id) {
                ids.push(id.clone());
            }
        }
        if ids.is_empty() {
            ids.push(self.event_id.clone());
        }
        ids
    }

    /// Warnings of every fired tag's event (`em dropped: not an email address`).
    pub fn warnings(&self) -> Vec<String> {
        self.tags
            .iter()
            .filter_map(|t| t.event.as_ref())
            .flat_map(|e| e.warnings.iter().map(move |w| format!("{}: {w}", e.tag)))
            .collect()
    }
}

/// Runs one hit through every tag of `config`. `now_ms` is the clock; `new_id` makes an event_id when the hit has none.
pub fn process(
    config: &Config,
    hit: &Hit,
    now_ms: i64,
    new_id: &mut dyn FnMut() -> String,
) -> Outcome {
    run(config, hit, now_ms, new_id, false)
}

/// Like `process`, and each tag that did not fire says which condition failed (the debug trace).
pub fn trace(
    config: &Config,
    hit: &Hit,
    now_ms: i64,
    new_id: &mut dyn FnMut() -> String,
) -> Outcome {
    run(config, hit, now_ms, new_id, true)
}

fn run(
    config: &Config,
    hit: &Hit,
    now_ms: i64,
    new_id: &mut dyn FnMut() -> String,
    explain: bool,
) -> Outcome {
    // Before anything reads the hit: no tag, payload or trace sees an email or phone number in its URLs.
    let (hit, redacted) = config.site.redact_query.hit(hit);
    let hit = hit.as_ref();
    let event_id = hit.event_id.clone().unwrap_or_else(new_id);
    let mut outcome = Outcome {
        event_id: event_id.clone(),
        consent_denied: config.site.consent_denied.matches(hit),
        redacted,
        ..Outcome::default()
    };
    let consent_denied = outcome.consent_denied;
    for tag in &config.tags {
        let fired = match &tag.trigger {
            Some(condition) => condition.matches(hit),
            None => hit.event == tag.event,
        };
        if !fired {
            let reason = explain.then(|| match &tag.trigger {
                Some(condition) => condition.check(hit).err().unwrap_or_default(),
                None => format!("event equals {:?} (was {:?})", tag.event, hit.event),
            });
            outcome.tags.push(TagTrace {
                tag: tag.name.clone(),
                fired: false,
                reason,
                event: None,
            });
            continue;
        }
        let event = build_event(tag, hit, &event_id, now_ms);
        for &d in &tag.destinations {
            let dest = &config.destinations[d];
            if consent_denied && dest.kind.is_ad_platform() {
                outcome.dropped.push(Dropped {
                    status: "consent_blocked",
                    event_name: dest.event_name(&event),
                    destination_name: dest.name.clone(),
                    tag: tag.name.clone(),
                    event_id: event.event_id.clone(),
                    reason: "the visitor denied consent for ads".into(),
                    ledger: tag.ledger,
                });
                continue;
            }
            match dest.event_payload(&event, now_ms) {
                Ok(payload) => outcome.deliveries.push(Delivery {
                    destination: d,
                    destination_name: dest.name.clone(),
                    tag: tag.name.clone(),
                    event_name: dest.event_name(&event),
                    event_id: event.event_id.clone(),
                    payload,
                    match_quality: event.match_quality,
                    missing: quality::missing(&event.user),
                    value: event.value,
                    currency: event.currency.clone(),
                    ledger: tag.ledger,
                }),
                Err(reason) => outcome.dropped.push(Dropped {
                    status: "dropped",
                    event_name: dest.event_name(&event),
                    destination_name: dest.name.clone(),
                    tag: tag.name.clone(),
                    event_id: event.event_id.clone(),
                    reason,
                    ledger: tag.ledger,
                }),
            }
        }
        outcome.tags.push(TagTrace {
            tag: tag.name.clone(),
            fired: true,
            reason: None,
            event: Some(event),
        });
    }
    outcome
}

/// Takes the deliveries (their payloads move into the requests, uncopied) and groups them per destination
/// (in config order) into requests of at most `max_batch` events.
pub fn requests(
    config: &Config,
    mut deliveries: Vec<Delivery>,
    secrets: &dyn Secrets,
) -> Vec<Result<OutboundRequest, String>> {
    let mut out = Vec::new();
    for (i, dest) in config.destinations.iter().enumerate() {
        let mut payloads = deliveries
            .iter_mut()
            .filter(|d| d.destination == i)
            .map(|d| d.payload.take())
            .peekable();
        while payloads.peek().is_some() {
            let batch: Vec<Value> = payloads.by_ref().take(dest.max_batch).collect();
            out.push(dest.request(batch, secrets));
        }
    }
    out
}

/// Applies the tag's mapping rules to the hit: the destination-neutral event.
fn build_event(tag: &Tag, hit: &Hit, event_id: &str, now_ms: i64) -> Event {
    let mut ev = Event {
        tag: tag.name.clone(),
        name: tag.event.clone(),
        event_id: event_id.to_string(),
        time_ms: hit.time_ms(now_ms),
        source: hit.source,
        action_source: tag.action_source,
        source_url: None,
        user: UserData::default(),
        value: None,
        currency: None,
        contents: Vec::new(),
        order_id: None,
        custom: Map::new(),
        match_quality: 0.0,
        warnings: Vec::new(),
    };
    // The currency first: `minor_units` and the value need it.
    let currency_rule = tag
        .rules
        .iter()
        .find(|r| r.slot == Slot::Fixed(Target::Currency));
    let raw_currency = currency_rule.and_then(|r| r.pick(hit));
    let currency_text = raw_currency
        .as_ref()
        .and_then(as_text)
        .map(|c| c.trim().to_ascii_uppercase());

    // The phone waits for the country (a later rule may map it): a national number needs its calling code.
    let mut phone = None;
    for rule in &tag.rules {
        let Some(raw) = rule.pick(hit) else { continue };
        let label = slot_label(&rule.slot);
        let mut value = raw;
        let mut failed = None;
        for t in &rule.transforms {
            match t.apply(value, currency_text.as_deref()) {
                Ok(v) => value = v,
                Err(reason) => {
                    failed = Some(reason);
                    value = Value::Null;
                    break;
                }
            }
        }
        if let Some(reason) = failed {
            ev.warnings.push(format!("{label} dropped: value {reason}"));
            continue;
        }
        if rule.hash {
            match as_text(&value) {
                Some(t) if !normalize::is_sha256_hex(&t) => {
                    value = Value::String(normalize::sha256_hex(&t))
                }
                _ => {}
            }
        }
        if rule.slot == Slot::Fixed(Target::Identifier(Key::Phone)) {
            phone = Some(value);
        } else if let Err(w) = place(&mut ev, &rule.slot, value) {
            ev.warnings.push(w);
        }
    }
    if let Some(Err(w)) = phone.map(|value| place_phone(&mut ev, &value)) {
        ev.warnings.push(w);
    }
    ev.match_quality = quality::estimate(&ev.user);
    ev
}

fn slot_label(slot: &Slot) -> String {
    match slot {
        Slot::Fixed(Target::Identifier(k)) => k.code().to_string(),
        // The names a marketer writes in [tag.map], so a warning points at the line to look at.
        Slot::Fixed(Target::EventId) => "event_id".to_string(),
        Slot::Fixed(Target::OrderId) => "data.order_id".to_string(),
        Slot::Fixed(Target::Fbc) => "user.fbc".to_string(),
        Slot::Fixed(Target::Fbp) => "user.fbp".to_string(),
        Slot::Fixed(Target::Oppref) => "user.oppref".to_string(),
        Slot::Fixed(Target::ClickId(id)) => format!("user.{}", id.name()),
        Slot::Fixed(t) => format!("{t:?}").lowercase(),
        Slot::Custom(name) => format!("data.{name}"),
    }
}

/// Puts the phone into the event, with the calling code of the event's country (its normalized form).
fn place_phone(ev: &mut Event, value: &Value) -> Result<(), String> {
    let raw = as_text(value)
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .ok_or("ph dropped: expected text")?;
    let country = ev.user.identifiers.get(&Key::Country);
    let country = country.and_then(|id| id.normalized.as_deref());
    let id = normalize::identify_phone(&raw, country).map_err(|e| e.to_string())?;
    ev.user.identifiers.insert(Key::Phone, id);
    Ok(())
}

/// Puts a mapped value into its place in the event, checking its type; the error is the event's warning.
fn place(ev: &mut Event, slot: &Slot, value: Value) -> Result<(), String> {
    let text = || {
        as_text(&value)
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
    };
    let target = match slot {
        Slot::Custom(name) => {
            ev.custom.insert(name.clone(), value);
            return Ok(());
        }
        Slot::Fixed(t) => *t,
    };
    let need_text = || text().ok_or_else(|| format!("{} dropped: expected text", slot_label(slot)));
    match target {
        Target::Identifier(key) => {
            let raw = need_text()?;
            let id = normalize::identify(key, &raw).map_err(|e| e.to_string())?;
            if matches!(key, Key::City | Key::State | Key::Zip | Key::Country) {
                if let Some(plain) = id.plain(key, &raw) {
                    ev.user.plain.insert(key, plain);
                }
            }
            ev.user.identifiers.insert(key, id);
        }
        Target::ClientIp => ev.user.client_ip = Some(need_text()?),
        Target::UserAgent => ev.user.user_agent = Some(need_text()?),
        // Ids travel on into response headers (`x-capi-event-id`), cookies, logs and the ledger: guarded here,
        // where a mapping produces them from any field of the hit, and again where headers are written.
        Target::Fbc => ev.user.fbc = Some(guarded_id(slot, need_text()?, MAX_CLICK_ID_LEN)?),
        Target::Fbp => ev.user.fbp = Some(guarded_id(slot, need_text()?, MAX_CLICK_ID_LEN)?),
        Target::Oppref => ev.user.oppref = Some(guarded_id(slot, need_text()?, MAX_CLICK_ID_LEN)?),
        Target::ClickId(id) => {
            let value = id.from_cookie(&need_text()?);
            ev.user.click_ids.insert(id, guarded_id(slot, value, MAX_CLICK_ID_LEN)?);
        }
        Target::EventId => ev.event_id = guarded_id(slot, need_text()?, MAX_NAME_LEN)?,
        Target::SourceUrl => ev.source_url = Some(need_text()?),
        Target::OrderId => ev.order_id = Some(guarded_id(slot, need_text()?, MAX_NAME_LEN)?),
        Target::ActionSource => {
            let t = need_text()?;
            ev.action_source = ActionSource::from_channel(&t)
                .ok_or_else(|| format!("action_source \"{t}\" is not known; kept the tag's"))?;
        }
        Target::Value => {
            ev.value = Some(number(&value).ok_or("value dropped: not a number")?);
        }
        Target::Currency => {
            let c = Transform::Currency
                .apply(value, None)
                .map_err(|r| format!("currency dropped: value {r}"))?;
            ev.currency = c.as_str().map(str::to_string);
        }
        Target::Contents => ev.contents = contents(&value)?,
        Target::Time => {
            ev.time_ms = time::parse_ms(&value).ok_or(
                "time dropped: not a time (unix seconds, or text such as 2026-11-25T14:28:02-05:00); kept the hit's time",
            )?
        }
    }
    Ok(())
}

/// Longest click id kept (`fbc`, `fbp`, `oppref`), as the cookies that carry them allow.
const MAX_CLICK_ID_LEN: usize = 512;

/// A mapped id, refused (the event keeps the one it had) when it could break a header or log line.
fn guarded_id(slot: &Slot, id: String, max_len: usize) -> Result<String, String> {
    if guard::safe_id(&id, max_len) {
        Ok(id)
    } else {
        Err(format!(
            "{} dropped: an id must be 1 to {max_len} bytes with no control characters (line breaks, tabs)",
            slot_label(slot)
        ))
    }
}

/// Reads product lines from the shapes shops send (`id`/`sku`/`content_id`, `price`/`item_price`, …).
fn contents(value: &Value) -> Result<Vec<Content>, String> {
    let items = value
        .as_array()
        .ok_or("contents dropped: expected a list of items")?;
    let field =
        |obj: &Map<String, Value>, names: &[&str]| names.iter().find_map(|n| obj.get(*n)).cloned();
    let mut out = Vec::new();
    for item in items {
        let Some(obj) = item.as_object() else {
            return Err("contents dropped: each item must be an object with an id".into());
        };
        // A catalogue id first: order line items carry their own line id in `id` (Shopify, WooCommerce).
        let id = [
            "sku",
            "product_id",
            "content_id",
            "id",
            "item_id",
            "variant_id",
        ]
        .iter()
        .find_map(|n| {
            obj.get(*n)
                .and_then(as_text)
                .filter(|t| !t.trim().is_empty())
                .map(|t| t.into_owned())
        })
        .ok_or("contents dropped: an item has no id (or sku)")?;
        out.push(Content {
            id,
            name: field(obj, &["name", "title", "item_name"])
                .and_then(|v| v.as_str().map(str::to_string)),
            quantity: field(obj, &["quantity", "qty"]).and_then(|v| number(&v)),
            price: field(obj, &["price", "item_price", "unit_price"]).and_then(|v| number(&v)),
            category: field(obj, &["category", "content_category"])
                .and_then(|v| v.as_str().map(str::to_string)),
        });
    }
    Ok(out)
}
