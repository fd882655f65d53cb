//! GA4 hits: reads what gtag.js sends to `<prefix>/g/collect` (one event in the query, or a batch of body lines)
//! and turns each GA4 event into a hit, so the same triggers and mappings apply. Pure: the shell passes the query
//! and the body, already size-limited.

use crate::base::number::parse_f64;
use crate::hit::field::percent_decode;
use crate::hit::{Hit, Page, Source, MAX_NAME_LEN};
use crate::intake::Refusal;
use base64::Engine;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Most events accepted in one request, as for the pixel's batches (`intake::MAX_HITS_PER_REQUEST`).
pub const MAX_EVENTS_PER_REQUEST: usize = 100;

/// Items are `pr1` to `pr200`: GA4 takes up to 200 items per event.
pub const MAX_ITEMS: u16 = 200;

/// Warnings kept per event; a hostile line cannot grow the trace without bound.
const MAX_WARNINGS: usize = 20;

/// A refused request: the same status, code and sentence as the pixel's endpoint.
pub type Ga4Refusal = Refusal;

/// One `/g/collect` request, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Ga4Request {
    /// One entry per event, in order; a bad line is an `Err` with its reason and does not drop the others.
    pub events: Vec<Result<Ga4Event, String>>,
    /// The body lines joined by `\n` (empty for a single-event hit): with the original query, what Google's
    /// endpoint takes when the hit is forwarded.
    pub forward_body: String,
}

/// One GA4 event: the request's shared parameters with its own line's on top.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ga4Event {
    /// `en`: the event name, e.g. `purchase`.
    pub name: String,
    /// `tid`: the measurement id, e.g. `G-5T0Z13HKP4`.
    pub measurement_id: Option<String>,
    /// `cid`: GA's client id (`<random>.<first visit, unix s>`).
    pub client_id: Option<String>,
    /// `sid`: the session id.
    pub session_id: Option<String>,
    /// `uid`: the site's own user id, when it sets one.
    pub user_id: Option<String>,
    /// `dl`, `dr`, `dt`: the page's location, referrer and title.
    pub page_url: Option<String>,
    pub page_referrer: Option<String>,
    pub page_title: Option<String>,
    /// `cu`: the currency.
    pub currency: Option<String>,
    /// `ep.<name>`: text parameters, without the ones that hold personal data.
    pub params: BTreeMap<String, String>,
    /// `epn.<name>`: number parameters, without the ones that hold personal data.
    pub numbers: BTreeMap<String, f64>,
    /// `pr1`…`pr200`, in item order; malformed items are left out with a warning.
    pub items: Vec<Ga4Item>,
    /// `gcs` and `gcd` (Consent Mode v2).
    pub consent: Ga4Consent,
    /// `em`: the SHA-256 hashes of the user-provided data, as lowercase hex.
    pub user_data: Ga4UserData,
    /// What was dropped or ignored, and why: for the trace.
    pub warnings: Vec<String>,
    /// The event's own body line as received (empty for a single-event hit, whose parameters are the query).
    pub raw: String,
}

/// One `pr<N>` item.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ga4Item {
    /// `id` item_id, `nm` item_name, `br` brand, `ca` category, `va` variant, `cp` coupon.
    pub id: Option<String>,
    pub name: Option<String>,
    pub brand: Option<String>,
    pub category: Option<String>,
    pub variant: Option<String>,
    pub coupon: Option<String>,
    /// `pr` price, `qt` quantity, `ds` discount.
    pub price: Option<f64>,
    pub quantity: Option<f64>,
    pub discount: Option<f64>,
    /// Custom item parameters, `k<n>name~v<n>value`.
    pub custom: Vec<(String, String)>,
}

/// A Consent Mode signal's state. Unknown or unset signals are `None` where this is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentState {
    Granted,
    Denied,
}

impl ConsentState {
    /// Consent Mode's own words, as `context.consent.<signal>` holds them.
    pub fn as_str(self) -> &'static str {
        match self {
            ConsentState::Granted => "granted",
            ConsentState::Denied => "denied",
        }
    }
}

/// The four Consent Mode v2 signals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ga4Consent {
    pub ad_storage: Option<ConsentState>,
    pub analytics_storage: Option<ConsentState>,
    pub ad_user_data: Option<ConsentState>,
    pub ad_personalization: Option<ConsentState>,
}

impl Ga4Consent {
    /// `(signal name, state)` for the signals that are set.
    pub fn signals(&self) -> impl Iterator<Item = (&'static str, ConsentState)> {
        [
            ("ad_storage", self.ad_storage),
            ("analytics_storage", self.analytics_storage),
            ("ad_user_data", self.ad_user_data),
            ("ad_personalization", self.ad_personalization),
        ]
        .into_iter()
        .filter_map(|(k, v)| Some((k, v?)))
    }
}

/// Hashed user-provided data (enhanced conversions), each a lowercase hex SHA-256. Plain values are never kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ga4UserData {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub zip: Option<String>,
    pub country: Option<String>,
}

pub use crate::event::ga4_names::{EventTable, DEFAULT_EVENT_TABLE};

/// Parses a `/g/collect` request: `query` without `?`, and the body (empty for a single-event hit).
pub fn parse_collect(query: &str, body: &[u8]) -> Result<Ga4Request, Ga4Refusal> {
    let body = std::str::from_utf8(body)
        .map_err(|e| Refusal::new(400, "invalid_utf8", format!("the body is not UTF-8: {e}")))?;
    if has_binary(query) || has_binary(body) {
        return Err(Refusal::new(
            400,
            "invalid_hit",
            "the request holds control characters; gtag.js sends URL-encoded text",
        ));
    }
    let lines: Vec<&str> = body
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .filter(|l| !l.trim().is_empty())
        .take(MAX_EVENTS_PER_REQUEST + 1)
        .collect();
    if lines.len() > MAX_EVENTS_PER_REQUEST {
        return Err(Refusal::new(
            413,
            "too_many_events",
            format!("the body holds more than {MAX_EVENTS_PER_REQUEST} events, one per line; send at most {MAX_EVENTS_PER_REQUEST}"),
        ));
    }
    let mut shared = Raw::default();
    for (key, value) in pairs(query) {
        shared.set(key, value);
    }
    if lines.is_empty() {
        if shared.en.is_none() {
            return Err(Refusal::new(
                400,
                "invalid_hit",
                "no event: the query has no en (event name) and the body no event lines",
            ));
        }
        let event = shared.into_event(String::new());
        return Ok(Ga4Request {
            events: vec![event],
            forward_body: String::new(),
        });
    }
    let events = lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let mut raw = shared.clone();
            for (key, value) in pairs(line) {
                raw.set(key, value);
            }
            raw.into_event((*line).to_string())
                .map_err(|e| format!("event {i}: {e}"))
        })
        .collect();
    Ok(Ga4Request {
        events,
        forward_body: lines.join("\n"),
    })
}

/// Control characters other than line breaks and tabs: a binary body, or a forged one.
fn has_binary(text: &str) -> bool {
    text.chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

/// `k=v&k=v` → (decoded key, still-encoded value). Items are split before their values are decoded.
fn pairs(text: &str) -> impl Iterator<Item = (Cow<'_, str>, &str)> {
    text.split('&').filter(|p| !p.is_empty()).map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (decode(k), v)
    })
}

/// Percent-decodes, borrowing when there is nothing to decode.
fn decode(s: &str) -> Cow<'_, str> {
    if s.contains(['%', '+']) {
        Cow::Owned(percent_decode(s))
    } else {
        Cow::Borrowed(s)
    }
}

/// The parameters of one event as received, last one wins; read into a `Ga4Event` at the end, so a body line
/// overrides the query for every kind of parameter alike.
#[derive(Debug, Clone, Default)]
struct Raw<'a> {
    en: Option<&'a str>,
    tid: Option<&'a str>,
    cid: Option<&'a str>,
    sid: Option<&'a str>,
    uid: Option<&'a str>,
    dl: Option<&'a str>,
    dr: Option<&'a str>,
    dt: Option<&'a str>,
    cu: Option<&'a str>,
    gcs: Option<&'a str>,
    gcd: Option<&'a str>,
    em: Option<&'a str>,
    ep: BTreeMap<Cow<'a, str>, &'a str>,
    epn: BTreeMap<Cow<'a, str>, &'a str>,
    items: BTreeMap<u16, &'a str>,
    ignored_items: Vec<Cow<'a, str>>,
}

impl<'a> Raw<'a> {
    fn set(&mut self, key: Cow<'a, str>, value: &'a str) {
        let slot = match key.as_ref() {
            "en" => &mut self.en,
            "tid" => &mut self.tid,
            "cid" => &mut self.cid,
            "sid" => &mut self.sid,
            "uid" => &mut self.uid,
            "dl" => &mut self.dl,
            "dr" => &mut self.dr,
            "dt" => &mut self.dt,
            "cu" => &mut self.cu,
            "gcs" => &mut self.gcs,
            "gcd" => &mut self.gcd,
            "em" => &mut self.em,
            k => {
                if let Some(name) = suffix(&key, "ep.") {
                    self.ep.insert(name, value);
                } else if let Some(name) = suffix(&key, "epn.") {
                    self.epn.insert(name, value);
                } else if let Some(n) = item_number(k) {
                    if (1..=MAX_ITEMS).contains(&n) {
                        self.items.insert(n, value);
                    } else if self.ignored_items.len() < MAX_WARNINGS {
                        self.ignored_items.push(key);
                    }
                }
                // Request metadata (`v`, `_p`, `gtm`, `uaa`, …), user properties and unknown keys are not read.
                return;
            }
        };
        *slot = Some(value);
    }

    fn into_event(self, raw: String) -> Result<Ga4Event, String> {
        let name = text(self.en.ok_or("no event name (en)")?);
        if !crate::base::guard::safe_id(&name, MAX_NAME_LEN) {
            return Err(format!(
                "the event name (en) must be 1 to {MAX_NAME_LEN} bytes with no control characters"
            ));
        }
        let mut ev = Ga4Event {
            name,
            measurement_id: self.tid.map(text),
            client_id: self.cid.map(text),
            session_id: self.sid.map(text),
            user_id: self.uid.map(text).filter(|s| !s.trim().is_empty()),
            page_url: self.dl.map(text).filter(|s| !s.is_empty()),
            page_referrer: self.dr.map(text).filter(|s| !s.is_empty()),
            page_title: self.dt.map(text).filter(|s| !s.is_empty()),
            currency: self.cu.map(text).filter(|s| !s.trim().is_empty()),
            raw,
            ..Ga4Event::default()
        };
        let mut warnings = Warnings::default();
        // These reach `data` too: an email there (a broken tag's `cu`) is dropped like one in `ep.*`.
        for (key, slot) in [("cu", &mut ev.currency), ("tid", &mut ev.measurement_id)] {
            if slot.as_deref().is_some_and(looks_like_email) {
                *slot = None;
                warnings.push(format!(
                    "{key} dropped: its value looks like an email address"
                ));
            }
        }
        for key in &self.ignored_items {
            warnings.push(format!(
                "{} ignored: items are numbered pr1 to pr{MAX_ITEMS}",
                short(key)
            ));
        }
        if let Some(em) = self.em {
            ev.user_data = user_data(&text(em), &mut warnings);
        }
        for (name, value) in &self.ep {
            let value = text(value);
            if let Some(reason) = personal_data(name, &value) {
                adopt_hash(&mut ev.user_data, name, &value);
                warnings.push(format!("ep.{} dropped: {reason}", short(name)));
            } else {
                ev.params.insert(name.to_string(), value);
            }
        }
        for (name, value) in &self.epn {
            let value = text(value);
            if let Some(reason) = personal_data(name, "") {
                warnings.push(format!("epn.{} dropped: {reason}", short(name)));
            } else {
                match parse_f64(value.trim()) {
                    Some(x) => {
                        ev.numbers.insert(name.to_string(), x);
                    }
                    None => warnings.push(format!("epn.{} dropped: not a number", short(name))),
                }
            }
        }
        for (n, value) in &self.items {
            match item(value) {
                Ok(item) => ev.items.push(item),
                Err(reason) => warnings.push(format!("item pr{n} skipped: {reason}")),
            }
        }
        ev.consent = consent(self.gcs, self.gcd, &mut warnings);
        ev.warnings = warnings.finish();
        Ok(ev)
    }
}

/// The name after `prefix`, borrowed from the request when the key needed no decoding: a batch copies the
/// query's parameters into every line's event.
fn suffix<'a>(key: &Cow<'a, str>, prefix: &str) -> Option<Cow<'a, str>> {
    let name = match key {
        Cow::Borrowed(k) => Cow::Borrowed(k.strip_prefix(prefix)?),
        Cow::Owned(k) => Cow::Owned(k.strip_prefix(prefix)?.to_string()),
    };
    (!name.is_empty()).then_some(name)
}

/// `pr<N>` → N. `pr` alone, or with more than digits after it, is no item.
fn item_number(key: &str) -> Option<u16> {
    let digits = key.strip_prefix("pr")?;
    if digits.is_empty() || digits.len() > 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// A value as text: percent-decoded, invalid UTF-8 replaced.
fn text(value: &str) -> String {
    decode(value).into_owned()
}

/// A name from the request as a warning shows it: at most 40 characters, control characters replaced. Warnings
/// name what was dropped, never the value, so the trace holds no personal data.
fn short(name: &str) -> String {
    if looks_like_email(name) {
        return "(a name that looks like an email address)".into();
    }
    let mut out: String = name
        .chars()
        .take(40)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if name.chars().nth(40).is_some() {
        out.push('…');
    }
    out
}

/// Warnings, capped: a hostile line cannot make the trace grow without bound.
#[derive(Default)]
struct Warnings {
    list: Vec<String>,
    more: usize,
}

impl Warnings {
    fn push(&mut self, w: String) {
        if self.list.len() < MAX_WARNINGS {
            self.list.push(w);
        } else {
            self.more += 1;
        }
    }

    fn finish(mut self) -> Vec<String> {
        if self.more > 0 {
            self.list.push(format!("and {} more warnings", self.more));
        }
        self.list
    }
}

/// One item string, `id…~nm…~pr…`: tokens of a two-letter key and its value, split before decoding so an
/// encoded `~` stays in its value. (Google's ecommerce-migration-helper; d8a `pkg/protocol/ga4/columns_items.go`.)
fn item(raw: &str) -> Result<Ga4Item, String> {
    let mut item = Ga4Item::default();
    let mut custom_keys: Vec<(u8, String)> = Vec::new();
    let mut custom_values: Vec<(u8, String)> = Vec::new();
    for token in raw.split('~').filter(|t| !t.is_empty()) {
        if token.len() < 2 || !token.is_char_boundary(2) {
            return Err(format!("malformed token \"{}\"", short(token)));
        }
        let (key, value) = token.split_at(2);
        let value = text(value);
        let number = |what: &str| {
            parse_f64(value.trim()).ok_or_else(|| format!("its {what} is not a number"))
        };
        match key {
            "id" => item.id = Some(value),
            "nm" => item.name = Some(value),
            "br" => item.brand = Some(value),
            "ca" => item.category = Some(value),
            "va" => item.variant = Some(value),
            "cp" => item.coupon = Some(value),
            "pr" => item.price = Some(number("price")?),
            "qt" => item.quantity = Some(number("quantity")?),
            "ds" => item.discount = Some(number("discount")?),
            _ => match key.as_bytes() {
                [b'k', d] if d.is_ascii_digit() => custom_keys.push((*d, value)),
                [b'v', d] if d.is_ascii_digit() => custom_values.push((*d, value)),
                _ => {} // af, lp, c2–c5, li, ln, lo, pi, pn, cn, cs: kept in the forwarded hit, not read here
            },
        }
    }
    for (d, key) in custom_keys {
        if let Some((_, value)) = custom_values.iter().find(|(dv, _)| *dv == d) {
            item.custom.push((key, value.clone()));
        }
    }
    let named = |s: &Option<String>| s.as_deref().is_some_and(|s| !s.trim().is_empty());
    if !named(&item.id) && !named(&item.name) {
        return Err("it has no id or name (truncated?)".into());
    }
    Ok(item)
}

/// Consent from `gcs` (`G1<ad_storage><analytics_storage>`) and `gcd` (Consent Mode v2). Where both speak of a
/// signal and disagree, denied wins.
fn consent(gcs: Option<&str>, gcd: Option<&str>, warnings: &mut Warnings) -> Ga4Consent {
    let mut c = Ga4Consent::default();
    if let Some(gcd) = gcd {
        match decode_gcd(gcd) {
            Some(states) => {
                [
                    c.ad_storage,
                    c.analytics_storage,
                    c.ad_user_data,
                    c.ad_personalization,
                ] = states;
            }
            None => warnings.push("gcd ignored: not a Consent Mode v2 string".into()),
        }
    }
    if let Some(gcs) = gcs {
        match decode_gcs(gcs) {
            Some((ad, analytics)) => {
                c.ad_storage = stricter(c.ad_storage, ad);
                c.analytics_storage = stricter(c.analytics_storage, analytics);
            }
            None => warnings.push("gcs ignored: expected G1 and two of 1, 0 or -".into()),
        }
    }
    c
}

fn stricter(a: Option<ConsentState>, b: Option<ConsentState>) -> Option<ConsentState> {
    match (a, b) {
        (Some(ConsentState::Denied), _) | (_, Some(ConsentState::Denied)) => {
            Some(ConsentState::Denied)
        }
        (a, b) => a.or(b),
    }
}

/// `G100` → (ad_storage, analytics_storage); `1` granted, `0` denied, `-` unknown.
fn decode_gcs(gcs: &str) -> Option<(Option<ConsentState>, Option<ConsentState>)> {
    let state = |b: u8| match b {
        b'1' => Some(Some(ConsentState::Granted)),
        b'0' => Some(Some(ConsentState::Denied)),
        b'-' => Some(None),
        _ => None,
    };
    match gcs.as_bytes() {
        [b'G', b'1', ad, analytics] => Some((state(*ad)?, state(*analytics)?)),
        _ => None,
    }
}

/// `gcd`, e.g. `13r3r3r2r5l1`: a letter for each of ad_storage, analytics_storage, ad_user_data and
/// ad_personalization at bytes 2, 4, 6 and 8, digits between. A letter's index in the base64url alphabet holds
/// the default state in bits 2–3 and the update in bits 0–1 (1 unset, 2 denied, 3 granted); the update wins.
/// So `l` is unset, `p` denied by default, `q` denied then denied, `r` denied then granted, `t` granted by
/// default, `m`/`n` denied/granted by an update only, `u` granted then denied, `v` granted then granted.
fn decode_gcd(gcd: &str) -> Option<[Option<ConsentState>; 4]> {
    let b = gcd.as_bytes();
    if b.len() < 10 || !b[..2].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut out = [None; 4];
    for (slot, pos) in out.iter_mut().zip([2, 4, 6, 8]) {
        if !b[pos].is_ascii_alphabetic() || !b[pos + 1].is_ascii_digit() {
            return None;
        }
        let v = base64url_index(b[pos])?;
        let state = |bits: u8| match bits {
            2 => Some(ConsentState::Denied),
            3 => Some(ConsentState::Granted),
            _ => None,
        };
        *slot = state(v & 3).or(state((v >> 2) & 3));
    }
    Some(out)
}

/// The letter's index in gtag's alphabet `0-9a-zA-Z-_`.
fn base64url_index(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'z' => Some(c - b'a' + 10),
        b'A'..=b'Z' => Some(c - b'A' + 36),
        b'-' => Some(62),
        b'_' => Some(63),
        _ => None,
    }
}

/// `tv.1~em.<hash>~pn.<hash>~fn0.<hash>~ln0.<hash>~ct0.…~rg0.…~pc0.…~co0.…`: only values that are SHA-256
/// hashes are taken; the first of each kind wins. Postal code and country are sent plain by gtag and are not
/// taken. (Google's confidential-match `EnhancedMatchMapperTest`.)
fn user_data(em: &str, warnings: &mut Warnings) -> Ga4UserData {
    let mut out = Ga4UserData::default();
    let mut tokens = em.split('~');
    if tokens.next() != Some("tv.1") {
        warnings.push("em ignored: user-provided data must start with tv.1".into());
        return out;
    }
    for token in tokens {
        let Some((key, value)) = token.split_once('.') else {
            continue;
        };
        let kind = key.trim_end_matches(|c: char| c.is_ascii_digit());
        let slot = match kind {
            "em" => &mut out.email,
            "pn" => &mut out.phone,
            "fn" => &mut out.first_name,
            "ln" => &mut out.last_name,
            "ct" => &mut out.city,
            "rg" => &mut out.state,
            "pc" => &mut out.zip,
            "co" => &mut out.country,
            _ => continue,
        };
        match sha256_hex(value) {
            Some(hash) => {
                slot.get_or_insert(hash);
            }
            None if matches!(kind, "em" | "pn" | "fn" | "ln") => {
                warnings.push(format!("em: {} ignored: not a SHA-256 hash", short(key)))
            }
            None => {}
        }
    }
    out
}

/// A SHA-256 as 64 hex digits, or as base64url without padding (43 characters), → lowercase hex.
pub fn sha256_hex(value: &str) -> Option<String> {
    if crate::identity::normalize::is_sha256_hex(value) {
        return Some(value.to_ascii_lowercase());
    }
    if value.len() != 43 {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(value)
        .ok()?;
    let mut out = String::with_capacity(64);
    for b in bytes {
        crate::base::text::push_hex(&mut out, b);
    }
    (out.len() == 64).then_some(out)
}

/// A query or body line as it goes on to Google: every event parameter (`ep.*`, `epn.*`) that `to_hit` would drop
/// as personal data in clear text is left out here too, so no destination gets it raw; the rest stays as the
/// browser wrote it.
pub fn without_personal_data(text: &str) -> String {
    text.split('&')
        .filter(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let key = decode(k);
            let param = suffix(&key, "ep.").or_else(|| suffix(&key, "epn."));
            param.is_none_or(|name| personal_data(&name, &decode(v)).is_none())
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Why a parameter holds personal data, if it does: by its name (`user_data.*`, `email`, `phone`, names,
/// address) or, for text, by a value that looks like an email address.
fn personal_data(name: &str, value: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    const NAMES: &[&str] = &[
        "user_data",
        "email",
        "e_mail",
        "phone",
        "first_name",
        "last_name",
        "firstname",
        "lastname",
        "street",
        "address",
        "postal_code",
        "birth",
    ];
    if NAMES.iter().any(|n| lower.contains(n)) {
        return Some("its name says it holds personal data, which is sent hashed or not at all");
    }
    if looks_like_email(value) || looks_like_email(name) {
        return Some("its value looks like an email address, which is sent hashed or not at all");
    }
    None
}

fn looks_like_email(value: &str) -> bool {
    let v = value.trim();
    match v.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && domain.contains('.') && !v.contains(char::is_whitespace)
        }
        None => false,
    }
}

/// A dropped parameter that already holds a hash (`ep.user_data.sha256_email_address`) still identifies the
/// user: taken as the email or phone hash when `em` gave none.
fn adopt_hash(user: &mut Ga4UserData, name: &str, value: &str) {
    let Some(hash) = sha256_hex(value.trim()) else {
        return;
    };
    let lower = name.to_ascii_lowercase();
    if lower.contains("email") {
        user.email.get_or_insert(hash);
    } else if lower.contains("phone") {
        user.phone.get_or_insert(hash);
    }
}

/// A GA4 event as a hit, and what was left out on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct Ga4Hit {
    pub hit: Hit,
    pub warnings: Vec<String>,
}

/// Translates one GA4 event into a hit: the event name through `table`; `dl`/`dr`/`dt` → `page`; `cu`, `epn.value`,
/// the items and `ep.transaction_id` → `data.currency`, `data.value`, `data.contents`, `data.order_id` (and the
/// `event_id` of a Purchase); other `ep.*`/`epn.*` → `data.<name>`; consent → `context.consent`; hashes →
/// `user`; `data.client = "ga4"` and `data.measurement_id` name where the hit came from. The edge adds the
/// visitor's IP, user agent and cookies, as for the pixel's hits.
pub fn to_hit(event: &Ga4Event, table: &EventTable) -> Ga4Hit {
    let mut warnings = event.warnings.clone();
    let name = table.event_name(&event.name).to_string();
    let mut data = Map::new();
    for (k, v) in &event.params {
        insert_data(&mut data, k, Value::String(v.clone()));
    }
    for (k, v) in &event.numbers {
        insert_data(&mut data, k, number(*v));
    }
    if let Some(cu) = event.currency.as_ref().or(event.params.get("currency")) {
        data.insert("currency".into(), Value::String(cu.trim().to_string()));
    }
    let contents = contents(&event.items, &mut warnings);
    if !contents.is_empty() {
        data.insert("contents".into(), Value::Array(contents));
    }
    let mut event_id = None;
    if let Some(tx) = event
        .params
        .get("transaction_id")
        .filter(|t| !t.trim().is_empty())
    {
        data.insert("order_id".into(), Value::String(tx.clone()));
        if name == "Purchase" {
            if crate::base::guard::safe_id(tx, MAX_NAME_LEN) {
                event_id = Some(tx.clone());
            } else {
                warnings.push(format!(
                    "ep.transaction_id is not used as the event_id: an id must be 1 to {MAX_NAME_LEN} bytes with no control characters"
                ));
            }
        }
    }
    if let Some(tid) = &event.measurement_id {
        data.insert("measurement_id".into(), Value::String(tid.clone()));
    }
    data.insert("client".into(), Value::String("ga4".into()));

    let u = &event.user_data;
    let mut hit = Hit {
        event: name,
        event_id,
        page: Page {
            url: event.page_url.clone(),
            referrer: event.page_referrer.clone(),
            title: event.page_title.clone(),
        },
        data,
        source: Source::Browser,
        ..Hit::default()
    };
    hit.user.email = u.email.clone();
    hit.user.phone = u.phone.clone();
    hit.user.first_name = u.first_name.clone();
    hit.user.last_name = u.last_name.clone();
    hit.user.city = u.city.clone();
    hit.user.state = u.state.clone();
    hit.user.zip = u.zip.clone();
    hit.user.country = u.country.clone();
    // The site's own user id: normalized and hashed like any external_id before it leaves.
    hit.user.external_id = event.user_id.clone();
    for (signal, state) in event.consent.signals() {
        hit.context
            .consent
            .insert(signal.into(), Value::String(state.as_str().into()));
    }
    Ga4Hit { hit, warnings }
}

/// Items as `data.contents`, the shape `pipeline::contents` reads. An item with a name but no id cannot be a
/// content (every platform keys contents by id), so it is left out with a warning.
fn contents(items: &[Ga4Item], warnings: &mut Vec<String>) -> Vec<Value> {
    let mut out = Vec::with_capacity(items.len());
    let mut nameless = 0;
    for item in items {
        let Some(id) = item.id.as_ref().filter(|id| !id.trim().is_empty()) else {
            nameless += 1;
            continue;
        };
        let mut obj = Map::new();
        obj.insert("id".into(), Value::String(id.clone()));
        let mut text = |k: &str, v: &Option<String>| {
            if let Some(v) = v {
                obj.insert(k.into(), Value::String(v.clone()));
            }
        };
        text("name", &item.name);
        text("category", &item.category);
        text("brand", &item.brand);
        text("variant", &item.variant);
        text("coupon", &item.coupon);
        for (k, v) in [
            ("price", item.price),
            ("quantity", item.quantity),
            ("discount", item.discount),
        ] {
            if let Some(v) = v {
                obj.insert(k.into(), number(v));
            }
        }
        out.push(Value::Object(obj));
    }
    if nameless > 0 {
        warnings.push(format!(
            "{nameless} item(s) without an id left out of data.contents: platforms key products by id"
        ));
    }
    out
}

/// `a.b` → `data.a.b` nested, so a trigger's `data.a.b` finds it; a name with an empty part stays flat.
fn insert_data(data: &mut Map<String, Value>, name: &str, value: Value) {
    if !name.contains('.') || name.split('.').any(str::is_empty) {
        data.insert(name.to_string(), value);
        return;
    }
    let mut parts = name.split('.');
    let mut map = data;
    let mut part = parts.next().unwrap_or_default();
    for next in parts {
        let slot = map
            .entry(part.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        // `ep.a=x` and `ep.a.b=y` together: the first keeps `data.a`.
        let Value::Object(inner) = slot else { return };
        map = inner;
        part = next;
    }
    map.insert(part.to_string(), value);
}

/// A whole number as an integer (`2`, not `2.0`), anything else as a float.
fn number(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 9.0e15 {
        Value::from(x as i64)
    } else {
        serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    /// A purchase as gtag.js sends it to a server container: every parameter in the query, an empty body, the
    /// bare `richsstsse` flag last. Request keys from d8a's capture (`pkg/columns/columntests/testutils.go`),
    /// the items from Google's ecommerce guide, in the `pr<N>` shape of d8a's `columns_items_test.go`.
    const PURCHASE: &str = "v=2&tid=G-5T0Z13HKP4&gtm=45je5580h2v9219555710za200&_p=1746817938582&gcs=G111\
        &gcd=13r3r3r3r5l1&npa=0&dma=1&cid=315691213.1760240992&ul=en-us&sr=1745x982&_s=3&sid=1746817858&sct=1\
        &seg=1&dl=https%3A%2F%2Fshop.example.com%2Fthank-you%3Forder%3DT-1001&dr=https%3A%2F%2Fshop.example.com\
        %2Fcheckout&dt=Thank%20you&en=purchase&_c=1&_ee=1\
        &pr1=idSKU_12345~nmStan%20and%20Friends%20Tee~afGoogle%20Store~brGoogle~caApparel~c2Adult~vagreen~pr10.01~qt3\
        &pr2=idSKU_67890~nmGoogle%20Mug~caHome~pr8~qt1~k0engraving~v0Hello%7EWorld\
        &cu=USD&ep.transaction_id=T-1001&ep.coupon=SUMMER_FUN&epn.value=38.03&epn.tax=3.6&epn.shipping=5\
        &em=tv.1~em.McVUPBc00lxyBvX9WRUl0Clb7G_oT_gvlGo0_pcKHmY~co0.US&tfd=565&richsstsse";

    /// `example@example.com`: Google's own vector, as base64url (what gtag sends) and hex
    /// (google-ads-confidential-computing/confidential-match, `EnhancedMatchMapperTest.java`, hashesClass test).
    const EXAMPLE_EMAIL_B64: &str = "McVUPBc00lxyBvX9WRUl0Clb7G_oT_gvlGo0_pcKHmY";
    const EXAMPLE_EMAIL_HEX: &str =
        "31c5543c1734d25c7206f5fd591525d0295bec6fe84ff82f946a34fe970a1e66";

    fn one(query: &str, body: &[u8]) -> Ga4Event {
        let req = parse_collect(query, body).unwrap();
        assert_eq!(req.events.len(), 1);
        req.events.into_iter().next().unwrap().unwrap()
    }

    #[test]
    fn a_purchase_with_two_items_and_tax_becomes_a_purchase_hit() {
        let ev = one(PURCHASE, b"");
        assert_eq!(ev.name, "purchase");
        assert_eq!(ev.measurement_id.as_deref(), Some("G-5T0Z13HKP4"));
        assert_eq!(ev.client_id.as_deref(), Some("315691213.1760240992"));
        assert_eq!(ev.numbers["tax"], 3.6);
        assert_eq!(ev.items.len(), 2);
        assert_eq!(ev.items[0].name.as_deref(), Some("Stan and Friends Tee"));
        // An encoded `~` stays inside its value: items are split before they are decoded.
        assert_eq!(
            ev.items[1].custom,
            vec![("engraving".to_string(), "Hello~World".to_string())]
        );
        assert!(ev.warnings.is_empty(), "{:?}", ev.warnings);
        assert_eq!(ev.raw, "", "a single-event hit's parameters are the query");

        let Ga4Hit { hit, warnings } = to_hit(&ev, &EventTable::default());
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(hit.event, "Purchase");
        assert_eq!(
            hit.event_id.as_deref(),
            Some("T-1001"),
            "the transaction id deduplicates"
        );
        assert_eq!(
            hit.page.url.as_deref(),
            Some("https://shop.example.com/thank-you?order=T-1001")
        );
        assert_eq!(
            hit.page.referrer.as_deref(),
            Some("https://shop.example.com/checkout")
        );
        assert_eq!(hit.page.title.as_deref(), Some("Thank you"));
        assert_eq!(hit.user.email.as_deref(), Some(EXAMPLE_EMAIL_HEX));
        assert_eq!(
            hit.user.country, None,
            "co0 is plain text: only hashes are taken"
        );
        let expected = serde_json::json!({
            "client": "ga4", "measurement_id": "G-5T0Z13HKP4",
            "value": 38.03, "currency": "USD", "tax": 3.6, "shipping": 5,
            "order_id": "T-1001", "transaction_id": "T-1001", "coupon": "SUMMER_FUN",
            "contents": [
                {"id": "SKU_12345", "name": "Stan and Friends Tee", "brand": "Google", "category": "Apparel",
                 "variant": "green", "price": 10.01, "quantity": 3},
                {"id": "SKU_67890", "name": "Google Mug", "category": "Home", "price": 8, "quantity": 1},
            ],
        });
        assert_eq!(Value::Object(hit.data.clone()), expected);
        assert_eq!(hit.context.consent["ad_storage"], "granted");
        assert_eq!(hit.context.consent["ad_user_data"], "granted");
        // The hit keeps the JSON contract: it round-trips through the pixel's own parser.
        let json = serde_json::to_vec(&hit).unwrap();
        assert_eq!(Hit::from_json(&json).unwrap().data, hit.data);
    }

    #[test]
    fn the_example_config_sends_a_ga4_purchase_with_the_email_hash_unchanged() {
        let config = Config::parse(include_str!("../../capi.toml")).unwrap();
        let Ga4Hit { mut hit, .. } = to_hit(&one(PURCHASE, b""), &EventTable::default());
        // What the edge adds, as for the pixel's hits (`intake::browser_hits`).
        hit.context.user_agent = Some("Mozilla/5.0 (X11; Linux x86_64) Chrome/122.0.0.0".into());
        hit.context.ip = Some("2001:db8::1".into());
        let outcome =
            crate::pipeline::process(&config, &hit, 1_764_000_000_000, &mut || "generated".into());
        let sent: Vec<&str> = outcome
            .deliveries
            .iter()
            .map(|d| d.destination_name.as_str())
            .collect();
        assert_eq!(sent, ["openai", "meta"], "{:?}", outcome.dropped);
        for d in &outcome.deliveries {
            assert_eq!(d.event_id, "T-1001");
            assert_eq!(d.value, Some(38.03));
            let payload = d.payload.to_string();
            assert!(payload.contains(EXAMPLE_EMAIL_HEX), "{payload}");
            assert!(payload.contains("SKU_12345"), "{payload}");
        }
    }

    /// A batch: the shared parameters in the query (no `en`), one event per body line, `\n` or `\r\n`; a line's
    /// parameters override the query's. (d8a `js/ga4-duplicator/src/ga4-duplicator.test.ts` multi-line bodies;
    /// Stape's GA4 tag splits on `\n`.)
    #[test]
    fn a_batched_body_gives_one_event_per_line_with_the_lines_on_top() {
        let query = "v=2&tid=G-5T0Z13HKP4&cid=ag9&sid=1746817858&gcs=G111\
            &dl=https%3A%2F%2Fshop.example.com%2Fp%2Ftee&dt=Stan%20and%20Friends%20Tee&cu=EUR&richsstsse";
        let body = "en=page_view&_et=3674&_ee=1\n\
            en=view_item&_et=799&pr1=idSKU_12345~nmStan%20and%20Friends%20Tee~pr10.01~qt1&epn.value=10.01\r\n\
            en=add_to_cart&_et=150&pr1=idSKU_12345~pr10.01~qt2&epn.value=20.02&dt=Cart&cu=USD\r\n";
        let req = parse_collect(query, body.as_bytes()).unwrap();
        let events: Vec<Ga4Event> = req.events.into_iter().map(Result::unwrap).collect();
        let table = EventTable::default();
        let cases = [
            ("PageView", Some("Stan and Friends Tee"), Some("EUR"), None),
            (
                "ViewContent",
                Some("Stan and Friends Tee"),
                Some("EUR"),
                Some(10.01),
            ),
            ("AddToCart", Some("Cart"), Some("USD"), Some(20.02)),
        ];
        assert_eq!(events.len(), cases.len());
        for (ev, (event, title, currency, value)) in events.iter().zip(cases) {
            let hit = to_hit(ev, &table).hit;
            assert_eq!(hit.event, event);
            assert_eq!(hit.page.title.as_deref(), title, "{event}");
            assert_eq!(
                hit.data.get("currency").and_then(Value::as_str),
                currency,
                "{event}"
            );
            assert_eq!(
                hit.data.get("value").and_then(Value::as_f64),
                value,
                "{event}"
            );
            assert_eq!(
                hit.page.url.as_deref(),
                Some("https://shop.example.com/p/tee")
            );
            assert_eq!(hit.context.consent["ad_storage"], "granted");
        }
        assert_eq!(events[2].items[0].quantity, Some(2.0));
        assert_eq!(events[1].raw, "en=view_item&_et=799&pr1=idSKU_12345~nmStan%20and%20Friends%20Tee~pr10.01~qt1&epn.value=10.01");
        // Forwarded to Google as lines joined by `\n` (Stape's GA4 tag), the `\r` gone.
        assert_eq!(req.forward_body.lines().count(), 3);
        assert!(!req.forward_body.contains('\r'));
    }

    #[test]
    fn one_bad_line_does_not_drop_the_others() {
        let body = b"en=page_view\n_et=12&ep.x=no_name\nen=%0Aevil\nen=add_to_cart";
        let req = parse_collect("v=2&tid=G-1", body).unwrap();
        let got: Vec<Result<&str, &str>> = req
            .events
            .iter()
            .map(|e| e.as_ref().map(|e| e.name.as_str()).map_err(String::as_str))
            .collect();
        assert_eq!(
            got,
            [
                Ok("page_view"),
                Err("event 1: no event name (en)"),
                Err("event 2: the event name (en) must be 1 to 128 bytes with no control characters"),
                Ok("add_to_cart"),
            ]
        );
    }

    /// `gcs=G1<ad_storage><analytics_storage>`: 1 granted, 0 denied, - unknown (Google's consent mode docs;
    /// adriennevermorel.com/notes/consent-mode-debugging-network-parameters). `gcd` letters: Simo Ahava's
    /// Consent Mode v2 guide (simoahava.com/analytics/consent-mode-v2-google-tags), the same table in d8a
    /// `js/web-tracker/src/ga4/consent_wire.ts`, and the bit layout of Analytics Debugger's "Google Consent
    /// Parser" sGTM template, which also reads `Z` (seen in a live capture, `13t3t3Z2t5l1`, in
    /// UtekosKristoffer/utekos-headless `GOOGLEANALYTICS/HITS`) as granted by default.
    #[test]
    fn consent_is_read_from_gcs_and_gcd() {
        use ConsentState::{Denied as D, Granted as G};
        let cases: &[(&str, [Option<ConsentState>; 4])] = &[
            ("gcs=G100", [Some(D), Some(D), None, None]),
            ("gcs=G101", [Some(D), Some(G), None, None]),
            ("gcs=G1--", [None, None, None, None]),
            ("gcd=13l3l3l2l1l1", [None, None, None, None]),
            ("gcd=11p1p1p1p5", [Some(D), Some(D), Some(D), Some(D)]),
            ("gcd=13r3r3r2r5l1", [Some(G), Some(G), Some(G), Some(G)]),
            ("gcd=11p1q1m1n5", [Some(D), Some(D), Some(D), Some(G)]),
            ("gcd=11t1u1v1l5", [Some(G), Some(D), Some(G), None]),
            ("gcd=13t3t3Z2t5l1", [Some(G), Some(G), Some(G), Some(G)]),
            // Both speak of ad_storage and disagree: denied wins.
            (
                "gcs=G101&gcd=13r3r3r2r5l1",
                [Some(D), Some(G), Some(G), Some(G)],
            ),
            // A garbled gcd is ignored, never read at the wrong offsets.
            ("gcs=G110&gcd=13", [Some(G), Some(D), None, None]),
            ("gcs=G2&gcd=1rrrrrrrrr", [None, None, None, None]),
        ];
        for (params, want) in cases {
            let ev = one(&format!("en=page_view&{params}"), b"");
            let c = ev.consent;
            let got = [
                c.ad_storage,
                c.analytics_storage,
                c.ad_user_data,
                c.ad_personalization,
            ];
            assert_eq!(&got, want, "{params}");
        }
        let ev = one("en=page_view&gcs=G2&gcd=13", b"");
        assert_eq!(ev.warnings.len(), 2, "{:?}", ev.warnings);
    }

    #[test]
    fn a_denied_consent_hit_goes_to_no_ad_platform() {
        let denied = PURCHASE.replace("gcs=G111&gcd=13r3r3r3r5l1", "gcs=G100");
        let hit = to_hit(&one(&denied, b""), &EventTable::default()).hit;
        assert_eq!(hit.context.consent["ad_storage"], "denied");
        let config = Config::parse(include_str!("../../capi.toml")).unwrap();
        let outcome =
            crate::pipeline::process(&config, &hit, 1_764_000_000_000, &mut || "generated".into());
        assert!(outcome.consent_denied);
        assert!(outcome.deliveries.is_empty(), "{:?}", outcome.deliveries);
        assert!(outcome
            .dropped
            .iter()
            .all(|d| d.status == "consent_blocked"));
    }

    /// `em=tv.1~em.<hash>~pn.<hash>~fn0.…`: SHA-256 as base64url without padding or as hex
    /// (confidential-match `EnhancedMatchMapperTest.java`; captures: `em=tv.1~em.BI-OMq6…` from a Google Ads hit,
    /// `em=tv.1~em.4x8WFpk…~co0.NO` from utekos-headless). The hex below is the decoded digest.
    #[test]
    fn user_provided_data_hashes_become_lowercase_hex() {
        let phone_b64 = "kQpiXEuhR7VE5r0vJn4TCuFMWRtrqcJcuFczIt7b69A"; // SHA-256("+15555555555")
        let phone_hex = "910a625c4ba147b544e6bd2f267e130ae14c591b6ba9c25cb8573322dedbebd0";
        let cases: &[(String, Option<&str>, Option<&str>, usize)] = &[
            (
                format!("tv.1~em.{EXAMPLE_EMAIL_B64}"),
                Some(EXAMPLE_EMAIL_HEX),
                None,
                0,
            ),
            (
                format!("tv.1~em.{}", EXAMPLE_EMAIL_HEX.to_uppercase()),
                Some(EXAMPLE_EMAIL_HEX),
                None,
                0,
            ),
            (
                format!("tv.1~em.{EXAMPLE_EMAIL_B64}~pn.{phone_b64}"),
                Some(EXAMPLE_EMAIL_HEX),
                Some(phone_hex),
                0,
            ),
            (
                format!("tv.1~pn.{phone_hex}~em.{EXAMPLE_EMAIL_HEX}"),
                Some(EXAMPLE_EMAIL_HEX),
                Some(phone_hex),
                0,
            ),
            (
                "tv.1~em.BI-OMq6JiBzU0PMlTnMSc3kiYbq8Gp00VKYUN-xHfqA".into(),
                Some("048f8e32ae89881cd4d0f3254e731273792261babc1a9d3454a61437ec477ea0"),
                None,
                0,
            ),
            (
                "tv.1~em.4x8WFpkYUiISoDaC9zQnW4M-xxMNPal-E3vq2kbfQCI~co0.NO".into(),
                Some("e31f16169918522212a03682f734275b833ec7130d3da97e137beada46df4022"),
                None,
                0,
            ),
            // Error codes and plain text are not hashes: ignored, with a warning.
            ("tv.1~em.e2~pn.jane".into(), None, None, 2),
            // gtag with no user data set sends an empty value.
            ("tv.1~em.".into(), None, None, 1),
            // A tag version we do not know: nothing taken.
            (format!("tv.2~em.{EXAMPLE_EMAIL_B64}"), None, None, 1),
            // 43 characters that are not base64url.
            (format!("tv.1~em.{}", "*".repeat(43)), None, None, 1),
        ];
        for (em, email, phone, warnings) in cases {
            let query = format!(
                "en=generate_lead&em={}",
                crate::hit::field::percent_encode(em)
            );
            let ev = one(&query, b"");
            assert_eq!(ev.user_data.email.as_deref(), *email, "{em}");
            assert_eq!(ev.user_data.phone.as_deref(), *phone, "{em}");
            assert_eq!(ev.warnings.len(), *warnings, "{em}: {:?}", ev.warnings);
            let hit = to_hit(&ev, &EventTable::default()).hit;
            assert_eq!(hit.event, "Lead");
            assert_eq!(hit.user.email.as_deref(), *email);
        }
    }

    /// Some sites push raw PII as `ep.user_data.email=…` (reference: browser-traffic.md, GA4 user-provided
    /// data). It must never reach `data`, whatever the parameter is called.
    #[test]
    fn raw_personal_data_in_event_parameters_is_dropped_with_a_warning() {
        let query = "en=generate_lead&dl=https%3A%2F%2Fshop.example.com%2Fcontact\
            &ep.user_data.email=jane.doe%40example.com&ep.user_data.phone_number=%2B15555550148\
            &ep.customer=jane.doe%40example.com&ep.jane%40example.com=1&cu=jane.doe%40example.com&epn.phone=15555550148&ep.form_id=contact&epn.score=3\
            &ep.user_data.sha256_email_address=31c5543c1734d25c7206f5fd591525d0295bec6fe84ff82f946a34fe970a1e66";
        let ev = one(query, b"");
        assert_eq!(ev.params.keys().collect::<Vec<_>>(), ["form_id"]);
        assert_eq!(ev.numbers.keys().collect::<Vec<_>>(), ["score"]);
        assert_eq!(ev.warnings.len(), 7, "{:?}", ev.warnings);
        assert!(ev
            .warnings
            .iter()
            .any(|w| w.starts_with("ep.user_data.email dropped")));
        assert_eq!(
            ev.user_data.email.as_deref(),
            Some(EXAMPLE_EMAIL_HEX),
            "a hash still identifies"
        );
        let Ga4Hit { hit, warnings } = to_hit(&ev, &EventTable::default());
        assert_eq!(warnings.len(), 7, "the trace shows what was dropped");
        assert!(
            !warnings.concat().contains("jane"),
            "and never the value: {warnings:?}"
        );
        let json = serde_json::to_string(&hit).unwrap();
        for raw in ["jane", "5555550148", "%40"] {
            assert!(!json.contains(raw), "{raw} leaked: {json}");
        }
        assert_eq!(hit.data["form_id"], "contact");
    }

    /// Items: Google's ecommerce-migration-helper keys; d8a `columns_items_test.go` for the full set.
    #[test]
    fn a_truncated_or_malformed_item_is_skipped_not_the_event() {
        let cases: &[(&str, usize, &str)] = &[
            ("pr1=idSKU_1~nmTee~pr10~qt1", 1, ""),
            (
                "pr1=idSKU_1~nmTee~pr10~qt1&pr2=i",
                1,
                "item pr2 skipped: malformed token \"i\"",
            ),
            (
                "pr1=idSKU_1&pr2=nmMug~prten",
                1,
                "item pr2 skipped: its price is not a number",
            ),
            (
                "pr1=idSKU_1&pr2=qt2~pr5",
                1,
                "item pr2 skipped: it has no id or name",
            ),
            (
                "pr1=&pr2=idSKU_2",
                1,
                "item pr1 skipped: it has no id or name",
            ),
            ("pr0=idA&pr201=idB&pr1=idC", 1, "pr0 ignored"),
            // A name-only item is an item, though it cannot become a content.
            ("pr1=nmGift%20card~pr25", 1, ""),
        ];
        for (items, count, warning) in cases {
            let ev = one(&format!("en=view_item&{items}"), b"");
            assert_eq!(ev.items.len(), *count, "{items}");
            if warning.is_empty() {
                assert!(ev.warnings.is_empty(), "{items}: {:?}", ev.warnings);
            } else {
                assert!(
                    ev.warnings.iter().any(|w| w.starts_with(warning)),
                    "{items}: {:?}",
                    ev.warnings
                );
            }
        }
        let ev = one("en=view_item&pr1=nmGift%20card~pr25&pr2=idSKU_2~pr5", b"");
        let Ga4Hit { hit, warnings } = to_hit(&ev, &EventTable::default());
        assert_eq!(hit.data["contents"].as_array().map(Vec::len), Some(1));
        assert!(warnings[0].contains("without an id"), "{warnings:?}");
    }

    #[test]
    fn unknown_keys_are_ignored_and_dotted_names_nest() {
        let ev = one(
            "en=select_promotion&zz=1&_fplc=abc&sst.tft=1&up.plan=pro&ep.promo.id=P1&ep.promo.name=Sale&ep.a..b=x",
            b"",
        );
        assert!(ev.warnings.is_empty());
        let hit = to_hit(&ev, &EventTable::default()).hit;
        assert_eq!(
            hit.event, "select_promotion",
            "an event not in the table keeps its GA4 name"
        );
        let id = crate::hit::field::FieldPath::parse("data.promo.id").unwrap();
        assert_eq!(
            id.resolve(&hit).map(|v| v.into_owned()),
            Some(Value::from("P1"))
        );
        assert_eq!(hit.data["a..b"], "x");
        assert!(
            !hit.data.contains_key("plan"),
            "user properties are not event data"
        );
    }

    #[test]
    fn the_event_table_maps_recommended_events_and_takes_overrides() {
        let defaults = EventTable::default();
        for (ga4, name) in [
            ("purchase", "Purchase"),
            ("add_to_cart", "AddToCart"),
            ("begin_checkout", "InitiateCheckout"),
            ("view_item", "ViewContent"),
            ("generate_lead", "Lead"),
            ("sign_up", "CompleteRegistration"),
            ("page_view", "PageView"),
            ("view_cart", "view_cart"),
        ] {
            assert_eq!(defaults.event_name(ga4), name);
        }
        assert!(
            DEFAULT_EVENT_TABLE.windows(2).all(|w| w[0].0 < w[1].0),
            "sorted for binary search"
        );
        let table = EventTable::new(BTreeMap::from([
            ("view_cart".to_string(), "ViewCart".to_string()),
            ("page_view".to_string(), "Visit".to_string()),
        ]))
        .unwrap();
        assert_eq!(table.event_name("view_cart"), "ViewCart");
        assert_eq!(table.event_name("page_view"), "Visit");
        assert_eq!(table.event_name("purchase"), "Purchase");
        assert!(EventTable::new(BTreeMap::from([("x".to_string(), "a\nb".to_string())])).is_err());
    }

    #[test]
    fn a_purchase_id_that_could_break_a_header_is_no_event_id() {
        let ev = one(
            "en=purchase&ep.transaction_id=T%0D%0ASet-Cookie%3A%20a",
            b"",
        );
        let Ga4Hit { hit, warnings } = to_hit(&ev, &EventTable::default());
        assert_eq!(hit.event_id, None);
        assert!(
            warnings.iter().any(|w| w.contains("event_id")),
            "{warnings:?}"
        );
    }

    #[test]
    fn bad_requests_are_refused_with_a_reason() {
        let many = "en=scroll\n".repeat(101);
        let ten_thousand = "en=scroll&epn.percent_scrolled=90\n".repeat(10_000);
        let cases: &[(&str, &[u8], u16, &str)] = &[
            ("en=page_view", b"\xff\xfe\x00binary", 400, "invalid_utf8"),
            ("en=page_view", b"en=x\x00\x01\x02", 400, "invalid_hit"),
            ("v=2&tid=G-1", b"", 400, "invalid_hit"),
            ("v=2&tid=G-1", b"\r\n\n", 400, "invalid_hit"),
            ("v=2", many.as_bytes(), 413, "too_many_events"),
            ("v=2", ten_thousand.as_bytes(), 413, "too_many_events"),
        ];
        for (query, body, status, error) in cases {
            let r = parse_collect(query, body).unwrap_err();
            assert_eq!((r.status, r.error), (*status, *error), "{}", r.detail);
        }
        let hundred = "en=scroll\n".repeat(100);
        assert_eq!(
            parse_collect("v=2", hundred.as_bytes())
                .unwrap()
                .events
                .len(),
            100
        );
    }

    #[test]
    fn warnings_are_capped() {
        let items: String = (1..=200).map(|n| format!("&pr{n}=x")).collect();
        let ev = one(&format!("en=view_item_list{items}"), b"");
        assert_eq!(ev.warnings.len(), MAX_WARNINGS + 1);
        assert_eq!(
            ev.warnings.last().map(String::as_str),
            Some("and 180 more warnings")
        );
    }

    #[test]
    fn what_goes_on_to_google_carries_no_email_or_phone_in_clear_text() {
        let query = "v=2&tid=G-1&en=purchase&ep.user_data.email=jane%40example.com&ep.coupon=X\
                     &ep.contact=jane%40example.com&epn.phone=5550148&epn.value=5";
        assert_eq!(
            without_personal_data(query),
            "v=2&tid=G-1&en=purchase&ep.coupon=X&epn.value=5"
        );
        assert_eq!(
            without_personal_data("en=page_view&_et=3"),
            "en=page_view&_et=3"
        );
    }
}
