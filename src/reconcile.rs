//! Reconciliation: the setup article's 7-day validation, done for you. The shop's orders against what the
//! ledger says reached each destination: matched, missing from CAPI (with the reason when the ledger knows it),
//! CAPI conversions with no order, value differences, and a PASS (≤ 5%) / WARN (≤ 10%) / FAIL verdict.

use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;

/// One order from the shop's export.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub id: String,
    pub time_ms: Option<i64>,
    pub value: Option<f64>,
    pub currency: Option<String>,
}

/// One ledger row: an event for one destination and what became of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversion {
    pub destination: String,
    pub event_name: String,
    pub event_id: String,
    pub received_ms: i64,
    pub value: Option<f64>,
    pub currency: Option<String>,
    pub status: String,
    pub response: Option<String>,
}

/// Column names that common exports use (Shopify, WooCommerce, generic), compared case-insensitively.
const ID_COLUMNS: [&str; 9] = [
    "order_id",
    "order id",
    "id",
    "name",
    "order number",
    "order_number",
    "number",
    "transaction_id",
    "order",
];
const TIME_COLUMNS: [&str; 9] = [
    "created_at",
    "created at",
    "date",
    "order date",
    "date_created",
    "date_created_gmt",
    "time",
    "timestamp",
    "paid at",
];
const VALUE_COLUMNS: [&str; 8] = [
    "total",
    "total_price",
    "order total",
    "order_total",
    "value",
    "amount",
    "revenue",
    "grand total",
];
const CURRENCY_COLUMNS: [&str; 3] = ["currency", "order currency", "order_currency"];

/// Parses an orders CSV. The first row names the columns; see `ID_COLUMNS` etc. for what is recognised.
pub fn parse_orders_csv(text: &str) -> Result<Vec<Order>, String> {
    let mut rows = parse_csv(text).into_iter();
    let header: Vec<String> = rows
        .next()
        .ok_or("the orders file is empty")?
        .iter()
        .map(|h| h.trim().to_lowercase())
        .collect();
    let find = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| header.iter().position(|h| h == n))
    };
    let id_col = find(&ID_COLUMNS).ok_or_else(|| {
        format!(
            "no order id column; name one of: {} (found: {})",
            ID_COLUMNS.join(", "),
            header.join(", ")
        )
    })?;
    let (time_col, value_col, cur_col) = (
        find(&TIME_COLUMNS),
        find(&VALUE_COLUMNS),
        find(&CURRENCY_COLUMNS),
    );
    let mut orders: Vec<Order> = Vec::new();
    let mut seen = HashSet::new();
    for (n, row) in rows.enumerate() {
        let cell = |i: Option<usize>| {
            i.and_then(|i| row.get(i))
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
        };
        let Some(id) = cell(Some(id_col)).map(order_key) else {
            continue;
        };
        // Exports repeat the order on each line item's row (Shopify): keep the first.
        if !seen.insert(id.clone()) {
            continue;
        }
        let time_ms = match cell(time_col) {
            Some(t) => Some(
                parse_time(t)
                    .ok_or_else(|| format!("row {}: cannot read the time {t:?}", n + 2))?,
            ),
            None => None,
        };
        let value =
            cell(value_col).and_then(|v| crate::mapping::number(&Value::String(v.to_string())));
        orders.push(Order {
            id,
            time_ms,
            value,
            currency: cell(cur_col).map(|c| c.to_ascii_uppercase()),
        });
    }
    Ok(orders)
}

/// `#1001` and `1001` are the same order.
fn order_key(id: &str) -> String {
    id.trim().trim_start_matches('#').to_string()
}

/// Reads the ledger: the worker's export (`GET /r/api/ledger`, a JSON list of rows) or the output of
/// `wrangler d1 execute capi-edge-ledger --remote --json --command "SELECT * FROM ledger"`.
pub fn parse_ledger_json(text: &str) -> Result<Vec<Conversion>, String> {
    let v: Value = serde_json::from_slice(text.as_bytes())
        .map_err(|e| format!("the ledger file is not JSON: {e}"))?;
    let rows: Vec<Value> = match v {
        Value::Array(items) if items.first().is_some_and(|i| i.get("results").is_some()) => items
            .into_iter()
            .flat_map(|i| i["results"].as_array().cloned().unwrap_or_default())
            .collect(),
        Value::Array(items) => items,
        Value::Object(mut o) => match o.remove("rows").or_else(|| o.remove("results")) {
            Some(Value::Array(items)) => items,
            _ => return Err("the ledger file has no rows".into()),
        },
        _ => return Err("the ledger file has no rows".into()),
    };
    rows.iter()
        .enumerate()
        .map(|(i, r)| {
            let text = |k: &str| {
                r.get(k).and_then(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .or_else(|| v.as_i64().map(|n| n.to_string()))
                })
            };
            Ok(Conversion {
                destination: text("destination")
                    .ok_or(format!("ledger row {i} has no destination"))?,
                event_name: text("event_name").unwrap_or_default(),
                event_id: order_key(
                    &text("event_id").ok_or(format!("ledger row {i} has no event_id"))?,
                ),
                received_ms: r.get("received_ms").and_then(Value::as_f64).unwrap_or(0.0) as i64,
                value: r.get("value").and_then(Value::as_f64),
                currency: text("currency"),
                status: text("status").unwrap_or_default(),
                response: text("response"),
            })
        })
        .collect()
}

/// The verdict the setup article asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Warn,
    Fail,
}

impl Verdict {
    pub fn from_discrepancy(pct: f64) -> Verdict {
        if pct <= 5.0 {
            Verdict::Pass
        } else if pct <= 10.0 {
            Verdict::Warn
        } else {
            Verdict::Fail
        }
    }
}

/// The result for one destination.
#[derive(Debug, Clone)]
pub struct Report {
    pub destination: String,
    pub orders: usize,
    pub matched_by_id: usize,
    pub matched_by_value_time: usize,
    /// Orders with no conversion sent, with the ledger's reason when it has one.
    pub missing: Vec<(Order, Option<String>)>,
    /// Sent conversions with no order.
    pub extra: Vec<Conversion>,
    /// Matched orders whose value differs: (order, what was sent).
    pub value_differences: Vec<(Order, f64)>,
    pub discrepancy_pct: f64,
    pub verdict: Verdict,
}

/// Events that stand for an order.
const PURCHASE_EVENTS: [&str; 2] = ["Purchase", "order_created"];
/// Matching on value and time: the amount to the cent, the time within 15 minutes.
const TIME_TOLERANCE_MS: i64 = 15 * 60 * 1000;

/// Reconciles `orders` within the `days` before the newest order against each destination in the ledger.
pub fn reconcile(orders: &[Order], ledger: &[Conversion], days: u32) -> Vec<Report> {
    let until = orders.iter().filter_map(|o| o.time_ms).max();
    let from = until.map(|u| u - days as i64 * 24 * 3600 * 1000);
    let in_window = |t: Option<i64>| match (t, from, until) {
        (Some(t), Some(f), Some(u)) => t >= f - TIME_TOLERANCE_MS && t <= u + TIME_TOLERANCE_MS,
        _ => true,
    };
    let orders: Vec<&Order> = orders.iter().filter(|o| in_window(o.time_ms)).collect();
    let mut destinations: Vec<&str> = ledger.iter().map(|c| c.destination.as_str()).collect();
    destinations.sort_unstable();
    destinations.dedup();
    destinations
        .into_iter()
        .map(|dest| {
            let rows: Vec<&Conversion> = ledger
                .iter()
                .filter(|c| {
                    c.destination == dest
                        && PURCHASE_EVENTS.contains(&c.event_name.as_str())
                        && in_window(Some(c.received_ms))
                })
                .collect();
            one_destination(dest, &orders, &rows)
        })
        .collect()
}

fn one_destination(dest: &str, orders: &[&Order], rows: &[&Conversion]) -> Report {
    let sent: Vec<&Conversion> = rows
        .iter()
        .copied()
        .filter(|c| c.status == "sent")
        .collect();
    let by_id: BTreeMap<&str, &Conversion> =
        sent.iter().map(|c| (c.event_id.as_str(), *c)).collect();
    let any_row: BTreeMap<&str, &Conversion> =
        rows.iter().map(|c| (c.event_id.as_str(), *c)).collect();
    let mut used: HashSet<&str> = HashSet::new();
    let (mut matched_by_id, mut matched_by_value_time) = (0, 0);
    let mut missing = Vec::new();
    let mut value_differences = Vec::new();
    let mut unmatched: Vec<&Order> = Vec::new();
    for o in orders {
        match by_id.get(o.id.as_str()) {
            Some(c) => {
                used.insert(c.event_id.as_str());
                matched_by_id += 1;
                if let (Some(ov), Some(cv)) = (o.value, c.value) {
                    if (ov - cv).abs() > 0.005 {
                        value_differences.push(((*o).clone(), cv));
                    }
                }
            }
            None => unmatched.push(o),
        }
    }
    // Sites that do not use the order id as event_id: match on the amount and the time instead.
    for o in unmatched {
        let candidate = sent.iter().find(|c| {
            !used.contains(c.event_id.as_str())
                && !orders.iter().any(|other| other.id == c.event_id)
                && matches!((o.value, c.value), (Some(a), Some(b)) if (a - b).abs() <= 0.005)
                && o.time_ms
                    .is_some_and(|t| (t - c.received_ms).abs() <= TIME_TOLERANCE_MS)
        });
        match candidate {
            Some(c) => {
                used.insert(c.event_id.as_str());
                matched_by_value_time += 1;
            }
            None => {
                let reason = any_row.get(o.id.as_str()).map(|c| {
                    format!(
                        "{}{}",
                        c.status,
                        c.response
                            .as_deref()
                            .map(|r| format!(": {r}"))
                            .unwrap_or_default()
                    )
                });
                missing.push(((*o).clone(), reason));
            }
        }
    }
    let extra: Vec<Conversion> = sent
        .iter()
        .filter(|c| !used.contains(c.event_id.as_str()))
        .map(|c| (*c).clone())
        .collect();
    let discrepancy_pct = if orders.is_empty() {
        if extra.is_empty() {
            0.0
        } else {
            100.0
        }
    } else {
        (missing.len() + extra.len()) as f64 * 100.0 / orders.len() as f64
    };
    Report {
        destination: dest.to_string(),
        orders: orders.len(),
        matched_by_id,
        matched_by_value_time,
        missing,
        extra,
        value_differences,
        discrepancy_pct,
        verdict: Verdict::from_discrepancy(discrepancy_pct),
    }
}

/// The report in plain words, as the CLI prints it.
pub fn render(r: &Report, days: u32) -> String {
    let mut out = String::new();
    let verdict = match r.verdict {
        Verdict::Pass => "PASS (within 5%)",
        Verdict::Warn => "WARN (5–10%: look at the missing orders below)",
        Verdict::Fail => "FAIL (over 10%: events are not firing, not matching, or double-counted)",
    };
    let _ = writeln!(
        out,
        "destination {}: {} orders in the last {days} days",
        r.destination, r.orders
    );
    let _ = writeln!(
        out,
        "  matched orders              {:>5}   ({} by event_id, {} by value and time)",
        r.matched_by_id + r.matched_by_value_time,
        r.matched_by_id,
        r.matched_by_value_time
    );
    let _ = writeln!(out, "  orders missing from CAPI    {:>5}", r.missing.len());
    let _ = writeln!(out, "  CAPI conversions, no order  {:>5}", r.extra.len());
    let _ = writeln!(
        out,
        "  value differences           {:>5}",
        r.value_differences.len()
    );
    let _ = writeln!(
        out,
        "  discrepancy                {:>5.1}%  {verdict}",
        r.discrepancy_pct
    );
    let list = |out: &mut String, title: &str, lines: Vec<String>| {
        if !lines.is_empty() {
            let _ = writeln!(out, "  {title}:");
            for l in lines.iter().take(20) {
                let _ = writeln!(out, "    {l}");
            }
            if lines.len() > 20 {
                let _ = writeln!(out, "    … and {} more", lines.len() - 20);
            }
        }
    };
    let money = |v: Option<f64>, c: &Option<String>| {
        v.map(|v| format!("{v:.2} {}", c.as_deref().unwrap_or("")))
            .unwrap_or_default()
    };
    list(
        &mut out,
        "missing from CAPI",
        r.missing
            .iter()
            .map(|(o, why)| {
                format!(
                    "{:<14} {:>14}  {}",
                    o.id,
                    money(o.value, &o.currency),
                    why.as_deref()
                        .map_or("never received by the worker".to_string(), |w| w
                            .to_string())
                )
            })
            .collect(),
    );
    list(
        &mut out,
        "sent with no order",
        r.extra
            .iter()
            .map(|c| format!("{:<14} {:>14}", c.event_id, money(c.value, &c.currency)))
            .collect(),
    );
    list(
        &mut out,
        "value differences (order → sent)",
        r.value_differences
            .iter()
            .map(|(o, sent)| format!("{:<14} {} → {sent:.2}", o.id, money(o.value, &o.currency)))
            .collect(),
    );
    out
}

/// A tiny RFC 4180 reader: commas, quoted fields with commas, doubled quotes, CRLF.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.trim_start_matches('\u{feff}').chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            ('"', false) if field.is_empty() => quoted = true,
            (',', false) => row.push(std::mem::take(&mut field)),
            ('\n', false) => {
                row.push(std::mem::take(&mut field));
                if row.iter().any(|f| !f.trim().is_empty()) {
                    rows.push(std::mem::take(&mut row));
                }
                row.clear();
            }
            ('\r', false) => {}
            (c, _) => field.push(c),
        }
    }
    row.push(field);
    if row.iter().any(|f| !f.trim().is_empty()) {
        rows.push(row);
    }
    rows
}

/// Unix ms from ISO 8601 (`2026-11-25T19:00:00-05:00`, `2026-11-25 19:00:00 -0500`, `2026-11-25`), or unix s/ms.
pub fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Some(n) = crate::number::parse_f64(s) {
        return Some(if n > 1e11 {
            n as i64
        } else {
            (n * 1000.0) as i64
        });
    }
    let (date, rest) = s.split_at(s.find(['T', ' ']).unwrap_or(s.len()));
    let mut d = date.split('-');
    let (y, m, day): (i64, i64, i64) = (
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
        d.next()?.parse().ok()?,
    );
    let rest = rest.trim_start_matches(['T', ' ']).trim();
    let (clock, zone) = match rest.find(['Z', '+', '-', ' ']) {
        Some(i) => (&rest[..i], rest[i..].trim()),
        None => (rest, ""),
    };
    let mut t = clock.split(':');
    let h: i64 = t
        .next()
        .filter(|x| !x.is_empty())
        .map_or(Some(0), |x| x.parse().ok())?;
    let min: i64 = t.next().map_or(Some(0), |x| x.parse().ok())?;
    let sec: f64 = t.next().map_or(Some(0.0), crate::number::parse_f64)?;
    let offset_min = match zone {
        "" | "Z" | "UTC" => 0,
        z => {
            let sign = if z.starts_with('-') { -1 } else { 1 };
            let digits: String = z.chars().filter(char::is_ascii_digit).collect();
            if digits.len() != 4 {
                return None;
            }
            sign * (digits[..2].parse::<i64>().ok()? * 60 + digits[2..].parse::<i64>().ok()?)
        }
    };
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) || h > 23 || min > 59 {
        return None;
    }
    let days = days_from_civil(y, m, day);
    Some(((days * 86400 + h * 3600 + min * 60 - offset_min * 60) * 1000) + (sec * 1000.0) as i64)
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_from_common_exports() {
        let cases = [
            ("2026-11-25T19:00:00-05:00", Some(1_795_651_200_000)),
            ("2026-11-26T00:00:00Z", Some(1_795_651_200_000)),
            ("2026-11-25 19:00:00 -0500", Some(1_795_651_200_000)),
            ("2026-11-26", Some(1_795_651_200_000)),
            ("1795651200", Some(1_795_651_200_000)),
            ("1795651200000", Some(1_795_651_200_000)),
            ("1970-01-01T00:00:01.5Z", Some(1500)),
            ("25/11/2026", None),
            ("2026-13-01", None),
        ];
        for (s, expected) in cases {
            assert_eq!(parse_time(s), expected, "{s}");
        }
    }

    #[test]
    fn csv_with_quotes_and_line_items() {
        let csv = "\u{feff}Name,Created at,Total,Currency,Note\r\n#1001,2026-11-25 10:00:00 +0000,\"1,249.00\",usd,\"said \"\"hi\"\", left\"\r\n#1001,2026-11-25 10:00:00 +0000,,,second item\r\n#1002,2026-11-25 11:00:00 +0000,10,USD,\n";
        let orders = parse_orders_csv(csv).unwrap();
        assert_eq!(orders.len(), 2, "the repeated line-item row is one order");
        assert_eq!(
            orders[0],
            Order {
                id: "1001".into(),
                time_ms: Some(1_795_600_800_000),
                value: Some(1249.0),
                currency: Some("USD".into())
            }
        );
        assert!(parse_orders_csv("foo,bar\n1,2\n")
            .unwrap_err()
            .contains("no order id column"));
    }
}
