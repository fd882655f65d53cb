//! Reconciliation: the setup article's 7-day validation, done for you. The shop's orders against what the
//! ledger says reached each destination: matched, missing from CAPI (with the reason when the ledger knows it),
//! CAPI conversions with no order, value differences, and a PASS (≤ 5%) / WARN (≤ 10%) / FAIL verdict. Orders
//! that were never paid (voided, cancelled, unpaid, failed, test) are left out and counted apart.

use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;

/// One order from the shop's export.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    /// The first of `ids`, without a leading `#`: how the report names the order.
    pub id: String,
    /// Every id the export gives the order, one per id column, in the order of `ID_COLUMNS`. Shopify's export
    /// has two: `Id` (5123456789012) and `Name` (#1001); a ledger's event ids may be either.
    pub ids: Vec<OrderId>,
    pub time_ms: Option<i64>,
    pub value: Option<f64>,
    pub currency: Option<String>,
    /// The payment or order status as the export spells it, lowercased (`paid`, `voided`, `processing`, …).
    pub status: Option<String>,
    /// Why the order is not a conversion, when it is not one.
    pub left_out: Option<LeftOut>,
}

/// One of an order's ids, and the export column it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderId {
    /// The column's name as the export writes it (`Id`, `Name`).
    pub column: String,
    /// The id as written (`#1001`).
    pub written: String,
}

impl OrderId {
    /// What an event id is compared with: `#1001` and `1001` are the same order.
    pub fn key(&self) -> String {
        order_key(&self.written)
    }
}

/// Why an order in the export is left out of the count: it was never a paid sale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LeftOut {
    /// A test order (a `test` column that says so, or Shopify's Bogus Gateway).
    Test,
    /// Cancelled: a non-empty `Cancelled at`, or the status `cancelled` (WooCommerce) or `trash`.
    Cancelled,
    /// Shopify's `voided`: the authorization was released, no money moved.
    Voided,
    /// WooCommerce's `failed`: the payment was declined.
    Failed,
    /// Not paid yet: `pending`, `authorized`, `expired`, `on-hold`, drafts.
    Unpaid,
}

impl LeftOut {
    pub fn as_str(self) -> &'static str {
        match self {
            LeftOut::Test => "test",
            LeftOut::Cancelled => "cancelled",
            LeftOut::Voided => "voided",
            LeftOut::Failed => "failed",
            LeftOut::Unpaid => "unpaid",
        }
    }
}

/// Statuses that mean the money was taken, after `status_key`. A refund comes later: the order was still a
/// sale the ad platform should have seen. Shopify's financial statuses (Admin API `OrderDisplayFinancialStatus`)
/// and WooCommerce's order statuses (`Automattic\WooCommerce\Enums\OrderStatus`).
const PAID_STATUSES: &str =
    " paid partially_paid partially_refunded refunded processing completed ";
/// Statuses of orders with no payment, and why. Shopify's `authorized` has not been captured (and may expire);
/// WooCommerce's `on-hold` awaits a bank transfer or cheque; `checkout-draft` is a checkout never placed.
const UNPAID_STATUSES: &str =
    " pending pending_payment authorized expired unpaid on_hold checkout_draft draft auto_draft ";
const CANCELLED_STATUSES: &str = " cancelled canceled trash ";

/// `Partially refunded`, `partially_refunded`, `wc-on-hold` and `On hold` are spelled alike here.
fn status_key(status: &str) -> String {
    let s = status.trim().to_lowercase();
    let s = s.strip_prefix("wc-").unwrap_or(&s);
    s.replace([' ', '-'], "_")
}

/// What a payment status says about an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentStatus {
    Paid,
    LeftOut(LeftOut),
    /// A status this table does not know: the order is counted, as one without a status is.
    Unknown,
}

pub fn classify_status(status: &str) -> PaymentStatus {
    let key = format!(" {} ", status_key(status));
    let has = |list: &str| list.contains(&key);
    match key.as_str() {
        _ if has(PAID_STATUSES) => PaymentStatus::Paid,
        _ if has(UNPAID_STATUSES) => PaymentStatus::LeftOut(LeftOut::Unpaid),
        _ if has(CANCELLED_STATUSES) => PaymentStatus::LeftOut(LeftOut::Cancelled),
        " voided " => PaymentStatus::LeftOut(LeftOut::Voided),
        " failed " => PaymentStatus::LeftOut(LeftOut::Failed),
        _ => PaymentStatus::Unknown,
    }
}

/// The order's fate from its export columns. A test order is left out whatever its status, and a cancelled
/// one even when it was paid and refunded: the shop does not count it as a sale.
pub fn left_out_reason(
    status: Option<&str>,
    cancelled_at: Option<&str>,
    test: Option<&str>,
    payment_method: Option<&str>,
) -> Option<LeftOut> {
    let yes = |v: &str| matches!(v.trim().to_lowercase().as_str(), "true" | "yes" | "1");
    let bogus = |m: &str| m.to_lowercase().contains("bogus");
    if test.is_some_and(yes) || payment_method.is_some_and(bogus) {
        return Some(LeftOut::Test);
    }
    if cancelled_at.is_some_and(|c| !c.trim().is_empty()) {
        return Some(LeftOut::Cancelled);
    }
    match status.map(classify_status) {
        Some(PaymentStatus::LeftOut(why)) => Some(why),
        _ => None,
    }
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
/// Shopify's `Financial Status` first; WooCommerce's order `status` otherwise.
const STATUS_COLUMNS: [&str; 7] = [
    "financial status",
    "financial_status",
    "payment status",
    "payment_status",
    "status",
    "order status",
    "order_status",
];
const CANCELLED_COLUMNS: [&str; 4] = ["cancelled at", "cancelled_at", "canceled at", "canceled_at"];
const TEST_COLUMNS: [&str; 2] = ["test", "test order"];
const PAYMENT_METHOD_COLUMNS: [&str; 4] = [
    "payment method",
    "payment_method",
    "gateway",
    "payment gateway",
];

/// Parses an orders CSV. The first row names the columns; see `ID_COLUMNS` etc. for what is recognised. Every
/// order is returned; `Order::left_out` says which ones `reconcile` leaves out of the count.
pub fn parse_orders_csv(text: &str) -> Result<Vec<Order>, String> {
    let mut rows = parse_csv(text).into_iter();
    let written_header: Vec<String> = rows
        .next()
        .ok_or("the orders file is empty")?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let header: Vec<String> = written_header.iter().map(|h| h.to_lowercase()).collect();
    let find = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| header.iter().position(|h| h == n))
    };
    // Every id column there is, not just the first: the ledger may use any of them (see `OrderId`).
    let id_cols: Vec<usize> = ID_COLUMNS
        .iter()
        .filter_map(|n| header.iter().position(|h| h == n))
        .collect();
    if id_cols.is_empty() {
        return Err(format!(
            "no order id column; name one of: {} (found: {})",
            ID_COLUMNS.join(", "),
            header.join(", ")
        ));
    }
    let (time_col, value_col, cur_col) = (
        find(&TIME_COLUMNS),
        find(&VALUE_COLUMNS),
        find(&CURRENCY_COLUMNS),
    );
    let (status_col, cancelled_col, test_col, method_col) = (
        find(&STATUS_COLUMNS),
        find(&CANCELLED_COLUMNS),
        find(&TEST_COLUMNS),
        find(&PAYMENT_METHOD_COLUMNS),
    );
    let mut orders: Vec<Order> = Vec::new();
    let mut seen = HashSet::new();
    for (n, row) in rows.enumerate() {
        let cell = |i: Option<usize>| {
            i.and_then(|i| row.get(i))
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
        };
        let ids: Vec<OrderId> = id_cols
            .iter()
            .filter_map(|&i| {
                cell(Some(i)).map(|written| OrderId {
                    column: written_header[i].clone(),
                    written: written.to_string(),
                })
            })
            .collect();
        let Some(first) = ids.first() else {
            continue;
        };
        let id = first.key();
        // Exports repeat the order on each line item's row (Shopify), some with only some of the ids: keep the
        // first row.
        let keys: Vec<(String, String)> = ids.iter().map(|i| (i.column.clone(), i.key())).collect();
        if keys.iter().any(|k| seen.contains(k)) {
            continue;
        }
        seen.extend(keys);
        let time_ms = match cell(time_col) {
            Some(t) => Some(
                parse_time(t)
                    .ok_or_else(|| format!("row {}: cannot read the time {t:?}", n + 2))?,
            ),
            None => None,
        };
        let value = cell(value_col)
            .and_then(|v| crate::rules::mapping::number(&Value::String(v.to_string())));
        let status = cell(status_col);
        orders.push(Order {
            id,
            ids,
            time_ms,
            value,
            currency: cell(cur_col).map(|c| c.to_ascii_uppercase()),
            status: status.map(str::to_lowercase),
            left_out: left_out_reason(
                status,
                cell(cancelled_col),
                cell(test_col),
                cell(method_col),
            ),
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
    /// Of those matched by id: how many on each id column, by its label (`Id`, `Name (#1001 style)`), in the
    /// order of `ID_COLUMNS`.
    pub matched_on: Vec<(String, usize)>,
    pub matched_by_value_time: usize,
    /// Orders with no conversion sent, with the ledger's reason when it has one.
    pub missing: Vec<(Order, Option<String>)>,
    /// Sent conversions with no order.
    pub extra: Vec<Conversion>,
    /// Matched orders whose value differs: (order, what was sent).
    pub value_differences: Vec<(Order, f64)>,
    pub discrepancy_pct: f64,
    pub verdict: Verdict,
    /// Orders in the window that were never paid sales, left out of every number above.
    pub left_out: Vec<Order>,
    /// How many of those had a conversion sent anyway (counted neither as matched nor as "no order").
    pub left_out_sent: usize,
    /// Counted orders whose status this tool does not know, by status: check they were paid.
    pub unknown_statuses: BTreeMap<String, usize>,
}

impl Report {
    /// `left out: 3 orders (2 voided, 1 cancelled)`, or `None` when nothing was left out.
    pub fn left_out_summary(&self) -> Option<String> {
        if self.left_out.is_empty() {
            return None;
        }
        let parts: Vec<String> = self
            .left_out_by_reason()
            .iter()
            .map(|(why, n)| format!("{n} {}", why.as_str()))
            .collect();
        let n = self.left_out.len();
        let mut line = format!(
            "left out: {n} order{} ({})",
            if n == 1 { "" } else { "s" },
            parts.join(", ")
        );
        if self.left_out_sent > 0 {
            let _ = write!(
                line,
                "; {} of them had a conversion sent, not counted as \"no order\"",
                self.left_out_sent
            );
        }
        Some(line)
    }

    /// (reason, count) in a fixed order: test, cancelled, voided, failed, unpaid.
    pub fn left_out_by_reason(&self) -> Vec<(LeftOut, usize)> {
        let mut counts: BTreeMap<LeftOut, usize> = BTreeMap::new();
        for o in &self.left_out {
            if let Some(why) = o.left_out {
                *counts.entry(why).or_default() += 1;
            }
        }
        counts.into_iter().collect()
    }
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
    let (left_out, orders): (Vec<&Order>, Vec<&Order>) = orders
        .iter()
        .filter(|o| in_window(o.time_ms))
        .partition(|o| o.left_out.is_some());
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
            one_destination(dest, &orders, &left_out, &rows)
        })
        .collect()
}

fn one_destination(
    dest: &str,
    orders: &[&Order],
    left_out: &[&Order],
    rows: &[&Conversion],
) -> Report {
    let sent: Vec<&Conversion> = rows
        .iter()
        .copied()
        .filter(|c| c.status == "sent")
        .collect();
    // Event ids as orders' ids are compared: `#1001` is `1001` (the worker's own ledger rows keep the `#`).
    let by_id: BTreeMap<String, &Conversion> =
        sent.iter().map(|c| (order_key(&c.event_id), *c)).collect();
    let any_row: BTreeMap<String, &Conversion> =
        rows.iter().map(|c| (order_key(&c.event_id), *c)).collect();
    let mut used: HashSet<String> = HashSet::new();
    let (mut matched_by_id, mut matched_by_value_time) = (0, 0);
    // Column → (orders matched on it, the first id matched, for the label).
    let mut matched_on: Vec<(&str, usize, &str)> = Vec::new();
    let mut missing = Vec::new();
    let mut value_differences = Vec::new();
    let mut unmatched: Vec<&Order> = Vec::new();
    for o in orders {
        match find_by_id(o, &by_id, &used) {
            Some((id, key, c)) => {
                used.insert(key);
                matched_by_id += 1;
                match matched_on.iter_mut().find(|(col, ..)| *col == id.column) {
                    Some((_, n, _)) => *n += 1,
                    None => matched_on.push((&id.column, 1, &id.written)),
                }
                if let (Some(ov), Some(cv)) = (o.value, c.value) {
                    if (ov - cv).abs() > 0.005 {
                        value_differences.push(((*o).clone(), cv));
                    }
                }
            }
            None => unmatched.push(o),
        }
    }
    // A conversion sent for a voided or cancelled order is no "conversion with no order": the pixel fired
    // at checkout, before the payment fell through. Set those aside, by id first.
    let mut left_out_sent = 0;
    let mut left_unmatched: Vec<&Order> = Vec::new();
    for o in left_out {
        match find_by_id(o, &by_id, &used) {
            Some((_, key, _)) => {
                used.insert(key);
                left_out_sent += 1;
            }
            None => left_unmatched.push(o),
        }
    }
    let known_ids: HashSet<String> = orders
        .iter()
        .chain(left_out)
        .flat_map(|o| o.ids.iter().map(OrderId::key))
        .collect();
    let by_value_time = |o: &Order, used: &HashSet<String>| {
        sent.iter().copied().find(|c| {
            let key = order_key(&c.event_id);
            !used.contains(&key)
                && !known_ids.contains(&key)
                && matches!((o.value, c.value), (Some(a), Some(b)) if (a - b).abs() <= 0.005)
                && o.time_ms
                    .is_some_and(|t| (t - c.received_ms).abs() <= TIME_TOLERANCE_MS)
        })
    };
    // Sites that do not use the order id as event_id: match on the amount and the time instead.
    for o in unmatched {
        let candidate = by_value_time(o, &used);
        match candidate {
            Some(c) => {
                used.insert(order_key(&c.event_id));
                matched_by_value_time += 1;
            }
            None => {
                let row = o.ids.iter().find_map(|i| any_row.get(&i.key()));
                let reason = row.map(|c| {
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
    for o in left_unmatched {
        if let Some(c) = by_value_time(o, &used) {
            used.insert(order_key(&c.event_id));
            left_out_sent += 1;
        }
    }
    let mut unknown_statuses: BTreeMap<String, usize> = BTreeMap::new();
    for o in orders {
        if let Some(s) = o
            .status
            .as_deref()
            .filter(|s| classify_status(s) == PaymentStatus::Unknown)
        {
            *unknown_statuses.entry(s.to_string()).or_default() += 1;
        }
    }
    let extra: Vec<Conversion> = sent
        .iter()
        .filter(|c| !used.contains(&order_key(&c.event_id)))
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
    // Columns in `ID_COLUMNS` order, whatever order the orders matched in.
    let rank = |col: &str| {
        ID_COLUMNS
            .iter()
            .position(|c| col.eq_ignore_ascii_case(c))
            .unwrap_or(usize::MAX)
    };
    matched_on.sort_by_key(|(col, ..)| rank(col));
    Report {
        destination: dest.to_string(),
        orders: orders.len(),
        matched_by_id,
        matched_on: matched_on
            .into_iter()
            .map(|(col, n, example)| (column_label(col, example), n))
            .collect(),
        matched_by_value_time,
        missing,
        extra,
        value_differences,
        discrepancy_pct,
        verdict: Verdict::from_discrepancy(discrepancy_pct),
        left_out: left_out.iter().map(|o| (*o).clone()).collect(),
        left_out_sent,
        unknown_statuses,
    }
}

/// The first of the order's ids (in `ID_COLUMNS` order) that a conversion not matched yet was sent under, with
/// its key and that conversion.
fn find_by_id<'o, 'c>(
    o: &'o Order,
    by_id: &BTreeMap<String, &'c Conversion>,
    used: &HashSet<String>,
) -> Option<(&'o OrderId, String, &'c Conversion)> {
    o.ids.iter().find_map(|i| {
        let key = i.key();
        match by_id.get(&key) {
            Some(c) if !used.contains(&key) => Some((i, key, *c)),
            _ => None,
        }
    })
}

/// An id column as the report names it: `Id`, or `Name (#1001 style)` when its ids are written with a `#`.
fn column_label(column: &str, example: &str) -> String {
    if example.starts_with('#') {
        format!("{column} ({example} style)")
    } else {
        column.to_string()
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
    if let Some(line) = r.left_out_summary() {
        let _ = writeln!(out, "  {line}");
    }
    if !r.unknown_statuses.is_empty() {
        let list: Vec<String> = r
            .unknown_statuses
            .iter()
            .map(|(s, n)| format!("{n} {s}"))
            .collect();
        let _ = writeln!(
            out,
            "  counted, status not recognised: {} (check these were paid)",
            list.join(", ")
        );
    }
    let _ = writeln!(
        out,
        "  matched orders              {:>5}   ({} by event_id, {} by value and time)",
        r.matched_by_id + r.matched_by_value_time,
        r.matched_by_id,
        r.matched_by_value_time
    );
    if !r.matched_on.is_empty() {
        let on: Vec<String> = r
            .matched_on
            .iter()
            .map(|(label, n)| format!("{label}: {n}"))
            .collect();
        let _ = writeln!(out, "    matched on {}", on.join(", "));
    }
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

/// The report as JSON, for `POST /api/reconcile`: the fields the dashboard reads (`destination`, `verdict`,
/// `discrepancy_pct`, `text`) and the counts behind them, the orders left out by reason among them.
pub fn report_json(r: &Report, days: u32) -> Value {
    let by_reason: serde_json::Map<String, Value> = r
        .left_out_by_reason()
        .into_iter()
        .map(|(why, n)| (why.as_str().to_string(), Value::from(n)))
        .collect();
    json!({
        "destination": r.destination,
        "verdict": format!("{:?}", r.verdict).to_uppercase(),
        "discrepancy_pct": r.discrepancy_pct,
        "orders": r.orders,
        "matched": r.matched_by_id + r.matched_by_value_time,
        "matched_by_id": r.matched_by_id,
        "matched_on": r.matched_on.iter().map(|(label, n)| json!({"column": label, "orders": n})).collect::<Vec<_>>(),
        "matched_by_value_time": r.matched_by_value_time,
        "missing": r.missing.len(),
        "extra": r.extra.len(),
        "left_out": {"orders": r.left_out.len(), "by_reason": by_reason, "with_conversion": r.left_out_sent},
        "text": render(r, days),
    })
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
    if let Some(n) = crate::base::number::parse_f64(s) {
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
    let sec: f64 = t.next().map_or(Some(0.0), crate::base::number::parse_f64)?;
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
                ids: vec![OrderId {
                    column: "Name".into(),
                    written: "#1001".into()
                }],
                time_ms: Some(1_795_600_800_000),
                value: Some(1249.0),
                currency: Some("USD".into()),
                status: None,
                left_out: None,
            }
        );
        assert!(parse_orders_csv("foo,bar\n1,2\n")
            .unwrap_err()
            .contains("no order id column"));
    }

    /// Shopify: Admin GraphQL `OrderDisplayFinancialStatus` (https://shopify.dev/docs/api/admin-graphql/unstable/enums/OrderDisplayFinancialStatus);
    /// the CSV export writes the REST spelling (`partially_refunded`). WooCommerce: `Automattic\WooCommerce\Enums\OrderStatus`
    /// (https://woocommerce.github.io/code-reference/classes/Automattic-WooCommerce-Enums-OrderStatus.html).
    #[test]
    fn payment_statuses_from_shopify_and_woocommerce() {
        use LeftOut::*;
        use PaymentStatus::{LeftOut as Out, Paid, Unknown};
        let cases: [(&str, PaymentStatus); 27] = [
            // Shopify: money taken, refunded later or not.
            ("paid", Paid),
            ("partially_paid", Paid),
            ("partially_refunded", Paid),
            ("Partially refunded", Paid),
            ("refunded", Paid),
            ("REFUNDED", Paid),
            // Shopify: no money taken.
            ("pending", Out(Unpaid)),
            ("authorized", Out(Unpaid)),
            ("expired", Out(Unpaid)),
            ("voided", Out(Voided)),
            (" Voided ", Out(Voided)),
            // WooCommerce: paid.
            ("processing", Paid),
            ("completed", Paid),
            ("wc-completed", Paid),
            // WooCommerce: not paid, or not an order.
            ("pending", Out(Unpaid)),
            ("Pending payment", Out(Unpaid)),
            ("on-hold", Out(Unpaid)),
            ("On hold", Out(Unpaid)),
            ("wc-on-hold", Out(Unpaid)),
            ("checkout-draft", Out(Unpaid)),
            ("failed", Out(Failed)),
            ("cancelled", Out(Cancelled)),
            ("canceled", Out(Cancelled)),
            ("trash", Out(Cancelled)),
            // Unknown: counted, and named in the report.
            ("shipped", Unknown),
            ("paid_extra", Unknown),
            ("", Unknown),
        ];
        for (status, expected) in cases {
            assert_eq!(classify_status(status), expected, "{status:?}");
        }
    }

    #[test]
    fn test_orders_and_cancellations_win_over_the_status() {
        use LeftOut::*;
        let cases = [
            // (status, cancelled at, test, payment method) → left out?
            (Some("paid"), None, None, None, None),
            (None, None, None, None, None),
            (Some("shipped"), None, None, None, None),
            (Some("voided"), None, None, None, Some(Voided)),
            // Shopify cancels a paid order by refunding it: still no sale.
            (
                Some("refunded"),
                Some("2026-11-20 10:00:00 +0000"),
                None,
                None,
                Some(Cancelled),
            ),
            (Some("paid"), Some("  "), None, None, None),
            (Some("paid"), None, Some("true"), None, Some(Test)),
            (Some("paid"), None, Some("FALSE"), None, None),
            // Shopify's Bogus Gateway (payment_gateway_names: ["bogus"] in its webhook sample).
            (Some("paid"), None, None, Some("bogus"), Some(Test)),
            (Some("paid"), None, None, Some("Shopify Payments"), None),
            (
                Some("voided"),
                Some("2026-11-20"),
                Some("yes"),
                None,
                Some(Test),
            ),
        ];
        for (status, cancelled, test, method, expected) in cases {
            assert_eq!(
                left_out_reason(status, cancelled, test, method),
                expected,
                "{status:?} {cancelled:?} {test:?} {method:?}"
            );
        }
    }

    #[test]
    fn a_shopify_export_keeps_status_from_the_first_line_item_row() {
        let csv = "Name,Financial Status,Created at,Total,Currency,Cancelled at,Payment Method\n\
                   #1,paid,2026-11-20 10:00:00 +0000,10.00,USD,,Shopify Payments\n\
                   #1,,2026-11-20 10:00:00 +0000,,,,\n\
                   #2,voided,2026-11-20 11:00:00 +0000,20.00,USD,2026-11-20 12:00:00 +0000,Shopify Payments\n\
                   #3,paid,2026-11-20 12:00:00 +0000,30.00,USD,,bogus\n";
        let orders = parse_orders_csv(csv).unwrap();
        let fates: Vec<(&str, Option<&str>, Option<LeftOut>)> = orders
            .iter()
            .map(|o| (o.id.as_str(), o.status.as_deref(), o.left_out))
            .collect();
        assert_eq!(
            fates,
            [
                ("1", Some("paid"), None),
                ("2", Some("voided"), Some(LeftOut::Cancelled)),
                ("3", Some("paid"), Some(LeftOut::Test)),
            ]
        );
    }

    fn order(id: &str, minute: i64, value: f64, left_out: Option<LeftOut>) -> Order {
        Order {
            id: id.into(),
            ids: vec![OrderId {
                column: "order_id".into(),
                written: id.into(),
            }],
            time_ms: Some(1_795_600_800_000 + minute * 60_000),
            value: Some(value),
            currency: Some("USD".into()),
            status: None,
            left_out,
        }
    }

    fn sent(event_id: &str, minute: i64, value: f64) -> Conversion {
        Conversion {
            destination: "openai".into(),
            event_name: "Purchase".into(),
            event_id: event_id.into(),
            received_ms: 1_795_600_800_000 + minute * 60_000,
            value: Some(value),
            currency: Some("USD".into()),
            status: "sent".into(),
            response: None,
        }
    }

    #[test]
    fn left_out_orders_count_neither_as_missing_nor_their_conversions_as_extra() {
        use LeftOut::*;
        let orders = [
            order("1", 0, 10.0, None),
            order("2", 10, 20.0, None),
            order("3", 20, 30.0, None), // refunded and never sent: still missing
            order("4", 30, 40.0, Some(Voided)), // sent by id before the payment fell through
            order("5", 40, 50.0, Some(Cancelled)), // sent under a random event_id: matched on value and time
            order("6", 50, 60.0, Some(Unpaid)),    // never sent
        ];
        let ledger = [
            sent("1", 0, 10.0),
            sent("2", 10, 20.0),
            sent("4", 30, 40.0),
            sent("uuid-5", 41, 50.0),
        ];
        let r = &reconcile(&orders, &ledger, 7)[0];
        assert_eq!(r.orders, 3);
        assert_eq!(r.matched_by_id, 2);
        assert_eq!(r.matched_by_value_time, 0);
        assert_eq!(
            r.missing
                .iter()
                .map(|(o, _)| o.id.as_str())
                .collect::<Vec<_>>(),
            ["3"]
        );
        assert!(r.extra.is_empty(), "{:?}", r.extra);
        assert_eq!(r.left_out_sent, 2);
        assert_eq!(
            r.left_out_by_reason(),
            [(Cancelled, 1), (Voided, 1), (Unpaid, 1)]
        );
        // 1 missing of 3 paid orders; counting the three unpaid ones would have given 2 missing of 6.
        assert!((r.discrepancy_pct - 100.0 / 3.0).abs() < 1e-9);
        assert_eq!(
            r.left_out_summary().as_deref(),
            Some("left out: 3 orders (1 cancelled, 1 voided, 1 unpaid); 2 of them had a conversion sent, not counted as \"no order\"")
        );
        let json = report_json(r, 7);
        assert_eq!(json["left_out"]["orders"], 3);
        assert_eq!(json["left_out"]["by_reason"]["voided"], 1);
        assert_eq!(json["left_out"]["with_conversion"], 2);
        assert_eq!(json["verdict"], "FAIL");
        assert!(json["text"]
            .as_str()
            .unwrap()
            .contains("left out: 3 orders"));
    }

    #[test]
    fn an_export_without_a_status_column_counts_every_order() {
        let orders = parse_orders_csv("order_id,total\n1,10\n2,20\n").unwrap();
        assert!(orders.iter().all(|o| o.left_out.is_none()));
        let r = &reconcile(&orders, &[sent("1", 0, 10.0)], 7)[0];
        assert_eq!(r.orders, 2);
        assert_eq!(r.left_out_summary(), None);
        assert!(!render(r, 7).contains("left out"));
    }

    #[test]
    fn an_export_with_id_and_name_matches_a_ledger_that_mixes_the_two() {
        // Shopify: the webhook tag sends the order's Id, the pixel its Name; the export has both columns.
        let csv = "Name,Created at,Total,Currency,Id\n\
                   #1001,2026-11-25 10:00:00 +0000,10.00,USD,5123456789012\n\
                   #1001,2026-11-25 10:00:00 +0000,,,\n\
                   #1002,2026-11-25 10:10:00 +0000,20.00,USD,5123456789013\n\
                   #1003,2026-11-25 10:20:00 +0000,30.00,USD,5123456789014\n";
        let orders = parse_orders_csv(csv).unwrap();
        assert_eq!(orders.len(), 3, "{orders:?}");
        assert_eq!(
            orders[0].ids,
            [
                OrderId {
                    column: "Id".into(),
                    written: "5123456789012".into()
                },
                OrderId {
                    column: "Name".into(),
                    written: "#1001".into()
                }
            ]
        );
        // The worker's own ledger rows keep the `#` (the dashboard's path); the CLI's reader drops it.
        let ledger = [
            sent("#1001", 0, 10.0),
            sent("5123456789013", 10, 20.0),
            sent("5123456789014", 20, 30.0),
        ];
        let r = &reconcile(&orders, &ledger, 7)[0];
        assert_eq!((r.matched_by_id, r.matched_by_value_time), (3, 0));
        assert_eq!(
            r.matched_on,
            [("Id".to_string(), 2), ("Name (#1001 style)".to_string(), 1)]
        );
        assert!(r.missing.is_empty() && r.extra.is_empty(), "{r:?}");
        let json = report_json(r, 7);
        assert_eq!(
            json["matched_on"],
            json!([{"column": "Id", "orders": 2}, {"column": "Name (#1001 style)", "orders": 1}])
        );
        assert_eq!(json["matched_by_id"], 3);
        assert!(
            json["text"]
                .as_str()
                .unwrap()
                .contains("    matched on Id: 2, Name (#1001 style): 1\n"),
            "{json}"
        );
        // An export with one id column says which one it is.
        let one = parse_orders_csv("order_id,total\n1,10\n").unwrap();
        let r = &reconcile(&one, &[sent("1", 0, 10.0)], 7)[0];
        assert_eq!(r.matched_on, [("order_id".to_string(), 1)]);
    }
}
