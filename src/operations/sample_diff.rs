//! What a config change would do to recent traffic: every hit of the sample (`crate::operations::sample`) through config A
//! and config B, with the same clock and ids, compared per destination and event: which hits are sent
//! differently, and how the outbound payloads differ, field by field. `capi-edge diff A B --hits FILE` prints it.

use crate::config::Config;
use crate::hit::Hit;
use crate::pipeline::Outcome;
use serde_json::Value;
use std::collections::BTreeMap;

/// One hit to compare, with the time it was received (its clock in both runs).
pub struct SampleHit {
    pub hit: Hit,
    pub now_ms: i64,
}

/// (destination, event name at the destination).
type Key = (String, String);

/// What A and B did with the sample, per destination and event.
#[derive(Debug, Default, PartialEq)]
pub struct SampleDiff {
    pub hits: usize,
    pub per_event: BTreeMap<Key, EventDiff>,
}

#[derive(Debug, Default, PartialEq)]
pub struct EventDiff {
    /// Hits sent to this destination as this event by A, B, or both.
    pub hits: usize,
    /// Sent by A, not by B: why not, in B's words → hits.
    pub only_a: BTreeMap<String, usize>,
    /// Sent by B, not by A: why not, in A's words → hits.
    pub only_b: BTreeMap<String, usize>,
    /// Sent by both, with different payloads.
    pub payload_differs: usize,
    /// Field changes in those payloads.
    pub fields: BTreeMap<String, FieldChanges>,
}

#[derive(Debug, Default, PartialEq)]
pub struct FieldChanges {
    /// The value B added (as JSON) → hits.
    pub added: BTreeMap<String, usize>,
    /// The value A had (as JSON) → hits.
    pub removed: BTreeMap<String, usize>,
    /// (old, new) as JSON → hits.
    pub changed: BTreeMap<(String, String), usize>,
}

impl EventDiff {
    pub fn differing(&self) -> usize {
        self.only_a.values().sum::<usize>()
            + self.only_b.values().sum::<usize>()
            + self.payload_differs
    }
}

/// Runs every hit through both configs. Each hit gets the same event id in both runs when it has none
/// (`sample-<n>`), and its own receive time as the clock.
pub fn compare(a: &Config, b: &Config, hits: &[SampleHit]) -> SampleDiff {
    let mut diff = SampleDiff {
        hits: hits.len(),
        ..SampleDiff::default()
    };
    for (i, s) in hits.iter().enumerate() {
        let id = format!("sample-{}", i + 1);
        let run_a = crate::pipeline::trace(a, &s.hit, s.now_ms, &mut || id.clone());
        let run_b = crate::pipeline::trace(b, &s.hit, s.now_ms, &mut || id.clone());
        let (sent_a, sent_b) = (sent(&run_a), sent(&run_b));
        let keys: std::collections::BTreeSet<&Key> = sent_a.keys().chain(sent_b.keys()).collect();
        for key in keys {
            let entry = diff.per_event.entry(key.clone()).or_default();
            entry.hits += 1;
            match (sent_a.get(key), sent_b.get(key)) {
                (Some(pa), Some(pb)) => {
                    if pa != pb {
                        entry.payload_differs += 1;
                        let mut changes = BTreeMap::new();
                        for n in 0..pa.len().max(pb.len()) {
                            let prefix = if pa.len().max(pb.len()) > 1 {
                                format!("[{n}]")
                            } else {
                                String::new()
                            };
                            field_changes(
                                &prefix,
                                pa.get(n).copied(),
                                pb.get(n).copied(),
                                &mut changes,
                            );
                        }
                        // Counted once per hit.
                        for (path, change) in changes {
                            let f = entry.fields.entry(path).or_default();
                            match change {
                                Change::Added(v) => *f.added.entry(v).or_default() += 1,
                                Change::Removed(v) => *f.removed.entry(v).or_default() += 1,
                                Change::Changed(old, new) => {
                                    *f.changed.entry((old, new)).or_default() += 1
                                }
                            }
                        }
                    }
                }
                (Some(_), None) => {
                    *entry
                        .only_a
                        .entry(why_not(&run_a, &run_b, key))
                        .or_default() += 1
                }
                (None, Some(_)) => {
                    *entry
                        .only_b
                        .entry(why_not(&run_b, &run_a, key))
                        .or_default() += 1
                }
                (None, None) => {}
            }
        }
    }
    diff
}

/// The payloads an outcome sends, per destination and event.
fn sent(outcome: &Outcome) -> BTreeMap<Key, Vec<&Value>> {
    let mut out: BTreeMap<Key, Vec<&Value>> = BTreeMap::new();
    for d in &outcome.deliveries {
        out.entry((d.destination_name.clone(), d.event_name.clone()))
            .or_default()
            .push(&d.payload);
    }
    out
}

/// Why `other` did not send what `sent` did: the tag's failing condition, its absence, or the drop's reason.
fn why_not(sent: &Outcome, other: &Outcome, key: &Key) -> String {
    // The first tag that sent it here (one, almost always).
    let Some(tag) = sent
        .deliveries
        .iter()
        .find(|d| d.destination_name == key.0 && d.event_name == key.1)
        .map(|d| d.tag.as_str())
    else {
        return "not sent".into();
    };
    if let Some(d) = other
        .dropped
        .iter()
        .find(|d| d.tag == tag && d.destination_name == key.0)
    {
        return format!("dropped: {}", d.reason);
    }
    match other.tags.iter().find(|t| t.tag == tag) {
        None => format!("no tag {tag:?}"),
        Some(t) if !t.fired => format!(
            "tag {tag:?} did not fire: {}",
            t.reason.as_deref().unwrap_or("its trigger did not match")
        ),
        Some(_)
            if other
                .deliveries
                .iter()
                .any(|d| d.tag == tag && d.destination_name == key.0) =>
        {
            format!("tag {tag:?} sends it under another name")
        }
        Some(_) => format!("tag {tag:?} does not send to {:?}", key.0),
    }
}

enum Change {
    Added(String),
    Removed(String),
    Changed(String, String),
}

/// Leaf by leaf: `user_data.em[0]`, `custom_data.value`.
fn field_changes(
    prefix: &str,
    a: Option<&Value>,
    b: Option<&Value>,
    out: &mut BTreeMap<String, Change>,
) {
    let mut leaves_a = BTreeMap::new();
    let mut leaves_b = BTreeMap::new();
    if let Some(a) = a {
        leaves(prefix, a, &mut leaves_a);
    }
    if let Some(b) = b {
        leaves(prefix, b, &mut leaves_b);
    }
    for (path, va) in &leaves_a {
        match leaves_b.get(path) {
            None => {
                out.insert(path.clone(), Change::Removed(shown_value(va)));
            }
            Some(vb) if vb != va => {
                out.insert(
                    path.clone(),
                    Change::Changed(shown_value(va), shown_value(vb)),
                );
            }
            Some(_) => {}
        }
    }
    for (path, vb) in &leaves_b {
        if !leaves_a.contains_key(path) {
            out.insert(path.clone(), Change::Added(shown_value(vb)));
        }
    }
}

/// A value as JSON (escaped: no control character shows raw); a SHA-256 shortened to its first 8 characters.
fn shown_value(v: &Value) -> String {
    match v.as_str() {
        Some(s) if crate::identity::normalize::is_sha256_hex(s) => format!("\"{}…\"", &s[..8]),
        _ => v.to_string(),
    }
}

fn leaves<'v>(path: &str, value: &'v Value, out: &mut BTreeMap<String, &'v Value>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                leaves(&join(path, k), v, out);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for (i, v) in items.iter().enumerate() {
                leaves(&format!("{path}[{i}]"), v, out);
            }
        }
        leaf => {
            out.insert(path.to_string(), leaf);
        }
    }
}

/// `a.b`, or `a["odd key"]` for a key that is not a plain name (quoted as JSON: no control character shows raw).
fn join(path: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'$'));
    match (plain, path.is_empty()) {
        (true, true) => key.to_string(),
        (true, false) => format!("{path}.{key}"),
        (false, _) => format!("{path}[{}]", Value::from(key)),
    }
}

/// The diff as the dashboard's config page shows it: per destination and event, the hits seen, how many fire
/// differently, sent by A only / B only, and the fields that change; with `render`'s text.
pub fn summary_json(diff: &SampleDiff) -> Value {
    let events: Vec<Value> = diff
        .per_event
        .iter()
        .map(|((destination, event), e)| {
            serde_json::json!({
                "destination": destination,
                "event": event,
                "hits": e.hits,
                "differing": e.differing(),
                "only_live": e.only_a.values().sum::<usize>(),
                "only_draft": e.only_b.values().sum::<usize>(),
                "payload_differs": e.payload_differs,
                "fields": e.fields.keys().collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::json!({"hits": diff.hits, "events": events, "text": render(diff)})
}

/// At most this many distinct old → new pairs per field; the rest are counted.
const MAX_VALUES_SHOWN: usize = 3;

/// The report, in a fixed order (destination, event, field), every line free of control characters.
pub fn render(diff: &SampleDiff) -> String {
    let mut out = String::new();
    let mut differing = 0;
    for ((destination, event), e) in &diff.per_event {
        let n = e.differing();
        let name = format!("{} {}", shown(destination), shown(event));
        if n == 0 {
            out.push_str(&format!("  {name}: same payloads ({})\n", hit_s(e.hits)));
            continue;
        }
        differing += 1;
        out.push_str(&format!(
            "~ {name}: {n} of {} fire differently\n",
            hit_s(e.hits)
        ));
        for (label, reasons) in [
            ("sent with A only", &e.only_a),
            ("sent with B only", &e.only_b),
        ] {
            let total: usize = reasons.values().sum();
            if total == 0 {
                continue;
            }
            out.push_str(&format!("    {label}: {}\n", hit_s(total)));
            for (reason, count) in reasons {
                out.push_str(&format!("      {} ({})\n", one_line(reason), hit_s(*count)));
            }
        }
        if e.payload_differs > 0 {
            out.push_str(&format!(
                "    sent by both, payload differs: {}\n",
                hit_s(e.payload_differs)
            ));
        }
        for (path, f) in &e.fields {
            for (sign, what, values) in [("+", "added", &f.added), ("-", "removed", &f.removed)] {
                if values.is_empty() {
                    continue;
                }
                let total: usize = values.values().sum();
                out.push_str(&format!("      {sign} {path} ({what}, {})\n", hit_s(total)));
                let values = values.iter().map(|(v, n)| (v.clone(), *n)).collect();
                push_values(&mut out, values);
            }
            if !f.changed.is_empty() {
                let total: usize = f.changed.values().sum();
                out.push_str(&format!("      ~ {path} (changed, {})\n", hit_s(total)));
                let values = f
                    .changed
                    .iter()
                    .map(|((old, new), n)| (format!("{old} → {new}"), *n))
                    .collect();
                push_values(&mut out, values);
            }
        }
    }
    let head = format!(
        "{} sampled: what A and B send differs for {differing} of {} destination events\n",
        hit_s(diff.hits),
        diff.per_event.len()
    );
    escape_controls(&(head + &out))
}

fn hit_s(n: usize) -> String {
    if n == 1 {
        "1 hit".to_string()
    } else {
        format!("{n} hits")
    }
}

/// The most frequent values first (then in order), at most `MAX_VALUES_SHOWN`, the rest counted.
fn push_values(out: &mut String, mut values: Vec<(String, usize)>) {
    values.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
    for (value, count) in values.iter().take(MAX_VALUES_SHOWN) {
        out.push_str(&format!("          {value} ({})\n", hit_s(*count)));
    }
    if values.len() > MAX_VALUES_SHOWN {
        let rest: usize = values[MAX_VALUES_SHOWN..].iter().map(|(_, c)| c).sum();
        out.push_str(&format!(
            "          and {} other values ({})\n",
            values.len() - MAX_VALUES_SHOWN,
            hit_s(rest)
        ));
    }
}

/// A name as it is when it is printable, else quoted as JSON.
fn shown(name: &str) -> String {
    if !name.is_empty() && !name.chars().any(|c| c.is_control() || c == ' ' || c == '"') {
        name.to_string()
    } else {
        Value::from(name).to_string()
    }
}

/// Every control character written as `\u{…}`, line breaks included.
fn one_line(text: &str) -> String {
    escape_controls(text).replace('\n', "\\u{a}")
}

/// Control characters other than the line breaks between lines, written as `\u{…}`: a hit's value must not
/// move the cursor, clear the terminal or forge a line.
fn escape_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() && c != '\n' {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_counts_each_event_as_the_report_does() {
        let mut changed = EventDiff {
            hits: 4,
            payload_differs: 1,
            ..EventDiff::default()
        };
        changed.only_b.insert("tag \"lead\" fired".into(), 2);
        changed
            .fields
            .insert("user_data.em".into(), FieldChanges::default());
        let mut diff = SampleDiff {
            hits: 6,
            ..SampleDiff::default()
        };
        diff.per_event
            .insert(("meta".into(), "Lead".into()), changed);
        diff.per_event.insert(
            ("meta".into(), "Purchase".into()),
            EventDiff {
                hits: 2,
                ..EventDiff::default()
            },
        );
        let s = summary_json(&diff);
        assert_eq!(s["hits"], 6);
        assert_eq!(
            s["events"][0],
            serde_json::json!({"destination": "meta", "event": "Lead", "hits": 4, "differing": 3, "only_live": 0,
                               "only_draft": 2, "payload_differs": 1, "fields": ["user_data.em"]})
        );
        assert_eq!(s["events"][1]["differing"], 0);
        assert_eq!(s["text"], render(&diff));
    }
}
