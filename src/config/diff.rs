//! What changed between two configs, per block: `[site]`, each `[[destination]]`, `[[tag]]`, `[[proxy]]` and
//! `[[test]]` by its name, and within a block each setting, as `key: old → new`. Deterministic (blocks in the
//! file's order of kinds, then by name; keys sorted), for `capi-edge diff A B`.
//!
//! It compares the configs as written (TOML read into a tree), which is what a marketer edits and recognises. A
//! stored version keeps its TOML beside the compiled config; one without it is compared in its compiled form.

use serde_json::Value;
use std::collections::BTreeMap;

/// A config as a tree to compare: its TOML, or (for a stored version without one) its compiled JSON.
pub fn tree_from_toml(source: &str) -> Result<Value, String> {
    let table: toml::Table = source.parse().map_err(|e| format!("not TOML: {e}"))?;
    serde_json::to_value(table).map_err(|e| e.to_string())
}

/// The blocks' kinds, in the order a diff lists them; both the TOML names and the compiled ones.
const KINDS: [(&str, &str); 12] = [
    ("site", "[site]"),
    ("sources", "[sources]"),
    ("ga4", "[ga4]"),
    ("ga4_events", "[ga4] events"),
    ("destination", "destination"),
    ("destinations", "destination"),
    ("tag", "tag"),
    ("tags", "tag"),
    ("proxy", "proxy"),
    ("proxies", "proxy"),
    ("test", "test"),
    ("tests", "test"),
];

type Block = BTreeMap<String, String>;

/// Every block of a config: (kind's rank, its label) → its settings flattened to `path → value`.
fn blocks(doc: &Value) -> BTreeMap<(usize, String), Block> {
    let mut out = BTreeMap::new();
    let Some(top) = doc.as_object() else {
        return out;
    };
    for (key, value) in top {
        let (rank, kind) = KINDS
            .iter()
            .position(|(k, _)| k == key)
            .map_or((KINDS.len(), key.as_str()), |i| (i / 2 * 2, KINDS[i].1));
        match value {
            Value::Array(items) if items.iter().all(Value::is_object) => {
                let names = destination_names(top);
                for (i, item) in items.iter().enumerate() {
                    let name = ["name", "path"]
                        .iter()
                        .find_map(|f| item.get(*f).and_then(Value::as_str))
                        .map_or(format!("#{}", i + 1), |n| format!("{n:?}"));
                    let mut block = Block::new();
                    flatten("", item, &mut block);
                    // A compiled tag names its destinations by index; show the names.
                    if kind == "tag" {
                        if let Some(Value::Array(idx)) = item.get("destinations") {
                            if idx.iter().all(Value::is_u64) && !names.is_empty() {
                                let named: Vec<Value> = idx
                                    .iter()
                                    .filter_map(|i| names.get(i.as_u64()? as usize).cloned())
                                    .collect();
                                block.insert("destinations".into(), Value::from(named).to_string());
                            }
                        }
                    }
                    out.insert((rank, format!("{kind} {name}")), block);
                }
            }
            Value::Object(_) => {
                let mut block = Block::new();
                flatten("", value, &mut block);
                out.insert((rank, kind.to_string()), block);
            }
            other => {
                let block = out
                    .entry((KINDS.len() + 1, "top level".into()))
                    .or_default();
                block.insert(key.clone(), other.to_string());
            }
        }
    }
    out
}

fn destination_names(top: &serde_json::Map<String, Value>) -> Vec<Value> {
    top.get("destinations")
        .and_then(Value::as_array)
        .map(|ds| ds.iter().filter_map(|d| d.get("name").cloned()).collect())
        .unwrap_or_default()
}

/// Tables become dotted paths (a key with a dot in it is quoted); anything else is one value, as compact JSON.
fn flatten(prefix: &str, value: &Value, out: &mut Block) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                let k = if k.contains('.') || k.is_empty() {
                    format!("{k:?}")
                } else {
                    k.clone()
                };
                let path = if prefix.is_empty() {
                    k
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&path, v, out);
            }
        }
        _ => {
            out.insert(prefix.to_string(), value.to_string());
        }
    }
}

/// The differences, one block per paragraph; empty when the configs say the same.
pub fn diff(old: &Value, new: &Value) -> Vec<String> {
    let (a, b) = (blocks(old), blocks(new));
    let mut labels: Vec<&(usize, String)> = a.keys().chain(b.keys()).collect();
    labels.sort();
    labels.dedup();
    let mut out = Vec::new();
    for label in labels {
        match (a.get(label), b.get(label)) {
            (Some(_), None) => out.push(format!("- {}: removed", label.1)),
            (None, Some(block)) => {
                let mut s = format!("+ {}: added", label.1);
                for (k, v) in block {
                    s.push_str(&format!("\n    {k} = {v}"));
                }
                out.push(s);
            }
            (Some(x), Some(y)) if x != y => {
                let mut s = format!("~ {}:", label.1);
                let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
                keys.sort();
                keys.dedup();
                for k in keys {
                    match (x.get(k), y.get(k)) {
                        (Some(o), Some(n)) if o == n => {}
                        (o, n) => s.push_str(&format!(
                            "\n    {k}: {} → {}",
                            o.map_or("(unset)", String::as_str),
                            n.map_or("(unset)", String::as_str)
                        )),
                    }
                }
                out.push(s);
            }
            _ => {}
        }
    }
    out
}

/// `diff` as a report: the changes, then a count.
pub fn render(old_name: &str, new_name: &str, old: &Value, new: &Value) -> String {
    let changes = diff(old, new);
    if changes.is_empty() {
        return format!("{old_name} → {new_name}: no differences");
    }
    format!(
        "{old_name} → {new_name}\n{}\n{} block{} changed",
        changes.join("\n"),
        changes.len(),
        if changes.len() == 1 { "" } else { "s" }
    )
}

/// `diff` for the dashboard's config page: each changed block (`"change"`: `added`, `removed` or `changed`, its
/// `block` label and its `lines`), and `render`'s text. The page writes these as text, never as HTML.
pub fn diff_json(old_name: &str, new_name: &str, old: &Value, new: &Value) -> Value {
    let blocks: Vec<Value> = diff(old, new)
        .iter()
        .map(|paragraph| {
            let mut lines = paragraph.lines();
            let head = lines.next().unwrap_or_default();
            let (change, rest) = match head.split_at(head.len().min(2)) {
                ("+ ", r) => ("added", r),
                ("- ", r) => ("removed", r),
                (_, r) => ("changed", r),
            };
            let block = rest
                .trim_end_matches(": added")
                .trim_end_matches(": removed")
                .trim_end_matches(':');
            serde_json::json!({
                "change": change,
                "block": block,
                "lines": lines.map(str::trim).collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::json!({"blocks": blocks, "text": render(old_name, new_name, old, new)})
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = r#"
[site]
path_prefix = "/r"
allowed_origins = ["https://shop.example.com"]

[[destination]]
name = "openai"
kind = "openai"
pixel_id = "px_123"

[[destination]]
name = "meta"
kind = "meta"
pixel_id = "1234"

[[tag]]
name = "purchase"
destinations = ["openai", "meta"]
event = "Purchase"
trigger = { field = "page.path", starts_with = "/thank-you" }
[tag.map]
"data.value" = { from = "data.total", as = "number" }

[[tag]]
name = "lead"
destinations = ["openai"]
"#;

    const NEW: &str = r#"
[site]
path_prefix = "/r"
allowed_origins = ["https://shop.example.com", "https://www.example.com"]

[[destination]]
name = "openai"
kind = "openai"
pixel_id = "px_123"

[[tag]]
name = "purchase"
destinations = ["openai"]
event = "Purchase"
trigger = { field = "page.path", starts_with = "/order/done" }
[tag.map]
"data.value" = { from = "data.total" }

[[tag]]
name = "lead"
destinations = ["openai"]

[[tag]]
name = "signup"
destinations = ["openai"]
event = "CompleteRegistration"
"#;

    #[test]
    fn a_readable_diff_per_block_and_setting() {
        let (old, new) = (tree_from_toml(OLD).unwrap(), tree_from_toml(NEW).unwrap());
        let expected = r#"v1 → v2
~ [site]:
    allowed_origins: ["https://shop.example.com"] → ["https://shop.example.com","https://www.example.com"]
- destination "meta": removed
~ tag "purchase":
    destinations: ["openai","meta"] → ["openai"]
    map."data.value".as: "number" → (unset)
    trigger.starts_with: "/thank-you" → "/order/done"
+ tag "signup": added
    destinations = ["openai"]
    event = "CompleteRegistration"
    name = "signup"
4 blocks changed"#;
        assert_eq!(render("v1", "v2", &old, &new), expected);
        assert_eq!(render("a", "a", &old, &old), "a → a: no differences");
    }

    #[test]
    fn compiled_configs_compare_too_with_tag_destinations_by_name() {
        let compile =
            |s: &str| serde_json::to_value(crate::config::Config::parse(s).unwrap()).unwrap();
        let base = "[[destination]]\nname = \"openai\"\nkind = \"openai\"\npixel_id = \"px_1\"\ntoken_secret = \"K\"\n\
                    [[destination]]\nname = \"hook\"\nkind = \"webhook\"\nendpoint = \"https://example.com/h\"\n";
        let a = compile(&format!("{base}[[tag]]\nname = \"purchase\"\nevent = \"Purchase\"\ndestinations = [\"openai\"]\n"));
        let b = compile(&format!("{base}[[tag]]\nname = \"purchase\"\nevent = \"Purchase\"\ndestinations = [\"openai\", \"hook\"]\n"));
        let changes = diff(&a, &b);
        assert_eq!(
            changes,
            vec![
                "~ tag \"purchase\":\n    destinations: [\"openai\"] → [\"openai\",\"hook\"]"
                    .to_string()
            ]
        );
    }

    #[test]
    fn diff_json_lists_each_block_with_its_change_and_lines() {
        let old = tree_from_toml(OLD).unwrap();
        let new =
            tree_from_toml(&OLD.replace("pixel_id = \"1234\"", "pixel_id = \"5678\"")).unwrap();
        let d = diff_json("live", "draft", &old, &new);
        assert_eq!(
            d["blocks"],
            serde_json::json!([{"change": "changed", "block": "destination \"meta\"", "lines": ["pixel_id: \"1234\" → \"5678\""]}])
        );
        assert_eq!(d["text"], render("live", "draft", &old, &new));
        let added = diff_json("nothing", "draft", &Value::Null, &old);
        assert!(added["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["change"] == "added"));
        assert_eq!(
            diff_json("a", "b", &old, &old)["blocks"],
            serde_json::json!([])
        );
    }
}
