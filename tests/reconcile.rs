//! `capi-edge reconcile` on fixture exports with known answers, one per verdict. The fixtures: a ledger (as
//! `wrangler d1 execute --json` prints it) with orders 1001–1100 sent except 1098 (failed) and 1099 (dead
//! letter), three conversions matching orders 2001–2003 only by value and time, a test conversion with no
//! order, a wrong value for 1005, and rows outside the 7-day window or not purchases; three order exports; and
//! a Shopify-shaped export (`orders-statuses.csv`) with refunded, cancelled, voided, unpaid and test orders.

use std::process::Command;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/reconcile");

fn reconcile(orders: &str) -> (i32, String) {
    reconcile_file(&format!("{DIR}/{orders}"))
}

fn reconcile_file(orders: &str) -> (i32, String) {
    let dir = DIR;
    let out = Command::new(env!("CARGO_BIN_EXE_capi-edge"))
        .args([
            "reconcile",
            "--orders",
            orders,
            "--ledger",
            &format!("{dir}/ledger.json"),
            "--days",
            "7",
        ])
        .output()
        .expect("the CLI runs");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn pass_when_within_five_percent() {
    let (code, out) = reconcile("orders-pass.csv");
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("destination openai: 103 orders in the last 7 days"),
        "{out}"
    );
    assert!(
        out.contains("matched orders                101   (98 by event_id, 3 by value and time)"),
        "{out}"
    );
    assert!(out.contains("orders missing from CAPI        2"), "{out}");
    assert!(out.contains("CAPI conversions, no order      1"), "{out}");
    assert!(out.contains("value differences               1"), "{out}");
    assert!(
        out.contains("discrepancy                  2.9%  PASS"),
        "{out}"
    );
    assert!(
        out.contains("1098 ") && out.contains("failed: HTTP 400: Invalid event at events[0]"),
        "the ledger's reason is shown: {out}"
    );
    assert!(out.contains("dead_letter: HTTP 503"), "{out}");
    assert!(out.contains("test-123"), "{out}");
    assert!(out.contains("1005           49.20 USD → 139.00"), "{out}");
    assert!(out.ends_with("overall: PASS\n"), "{out}");
}

#[test]
fn warn_between_five_and_ten_percent() {
    let (code, out) = reconcile("orders-warn.csv");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("108 orders"), "{out}");
    assert!(out.contains("orders missing from CAPI        7"), "{out}");
    assert!(
        out.contains("discrepancy                  7.4%  WARN"),
        "{out}"
    );
    assert!(
        out.contains("1101 ") && out.contains("never received by the worker"),
        "{out}"
    );
}

#[test]
fn fail_over_ten_percent_exits_one() {
    let (code, out) = reconcile("orders-fail.csv");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("118 orders"), "{out}");
    assert!(out.contains("orders missing from CAPI       17"), "{out}");
    assert!(
        out.contains("discrepancy                 15.3%  FAIL"),
        "{out}"
    );
    assert!(out.contains("overall: FAIL"), "{out}");
}

/// `orders-statuses.csv`: the PASS fixture's orders as Shopify exports them, where 1010, 1020 (refunded) and 1030
/// (partially refunded) were sent; 1050 was sent, then cancelled and refunded; 1101–1104 were voided (1101 and
/// 1102 cancelled too), 1105–1106 pending (bank deposit, cash on delivery), 1107 authorized, 1108 expired, 1109 a
/// Bogus Gateway test order, none of them sent; and 1110 was paid, refunded and never sent.
#[test]
fn orders_never_paid_are_left_out_and_refunded_ones_still_count() {
    let (code, out) = reconcile("orders-statuses.csv");
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("destination openai: 103 orders in the last 7 days"),
        "{out}"
    );
    assert!(
        out.contains("  left out: 10 orders (1 test, 3 cancelled, 2 voided, 4 unpaid); 1 of them had a conversion sent, not counted as \"no order\"\n"),
        "{out}"
    );
    assert!(
        out.contains("matched orders                100   (97 by event_id, 3 by value and time)"),
        "the refunded orders 1010, 1020 and 1030 still match: {out}"
    );
    assert!(out.contains("orders missing from CAPI        3"), "{out}");
    assert!(
        out.contains("    1110                70.00 USD  never received by the worker"),
        "a refunded order was paid: its missing conversion counts: {out}"
    );
    assert!(
        out.contains("CAPI conversions, no order      1"),
        "1050's conversion is not an extra: {out}"
    );
    assert!(
        out.contains("discrepancy                  3.9%  PASS"),
        "{out}"
    );
    assert!(!out.contains("not recognised"), "{out}");

    // The same export without its payment columns is read as before: every order counts, and the verdict flips.
    let csv = std::fs::read_to_string(format!("{DIR}/orders-statuses.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let keep: Vec<usize> = (0..header.len())
        .filter(|&i| !["Financial Status", "Cancelled at", "Payment Method"].contains(&header[i]))
        .collect();
    let stripped: String = csv
        .lines()
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            keep.iter().map(|&i| cells[i]).collect::<Vec<_>>().join(",") + "\n"
        })
        .collect();
    let path = std::env::temp_dir().join(format!("capi-edge-orders-{}.csv", std::process::id()));
    std::fs::write(&path, stripped).unwrap();
    let (code, out) = reconcile_file(path.to_str().unwrap());
    let _ = std::fs::remove_file(&path);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("113 orders"), "{out}");
    assert!(out.contains("orders missing from CAPI       12"), "{out}");
    assert!(
        out.contains("discrepancy                 11.5%  FAIL"),
        "{out}"
    );
    assert!(!out.contains("left out"), "{out}");
}

fn reconcile_against(orders: &str, ledger: &str) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_capi-edge"))
        .args([
            "reconcile",
            "--orders",
            &format!("{DIR}/{orders}"),
            "--ledger",
            &format!("{DIR}/{ledger}"),
        ])
        .output()
        .expect("the CLI runs");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

/// `orders-ids.csv`: a Shopify export with both its `Id` column (5123456789012…) and its `Name` column
/// (#1001…), four orders, one of them on two line-item rows. `ledger-ids.json` sent 1001–1003 under the `Id`
/// (as a webhook tag does), `ledger-names.json` under the `Name` (as a pixel reading the order name does).
#[test]
fn an_export_with_both_id_and_name_matches_a_ledger_keyed_by_the_id() {
    let (code, out) = reconcile_against("orders-ids.csv", "ledger-ids.json");
    assert_eq!(code, 1, "1 of 4 missing is a FAIL: {out}");
    assert!(
        out.contains("destination openai: 4 orders in the last 7 days"),
        "{out}"
    );
    assert!(
        out.contains(
            "  matched orders                  3   (3 by event_id, 0 by value and time)\n    matched on Id: 3\n"
        ),
        "{out}"
    );
    assert!(out.contains("orders missing from CAPI        1"), "{out}");
    assert!(out.contains("CAPI conversions, no order      0"), "{out}");
}

#[test]
fn an_export_with_both_id_and_name_matches_a_ledger_keyed_by_the_name() {
    let (code, out) = reconcile_against("orders-ids.csv", "ledger-names.json");
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(
            "  matched orders                  3   (3 by event_id, 0 by value and time)\n    matched on Name (#1001 style): 3\n"
        ),
        "{out}"
    );
    assert!(out.contains("orders missing from CAPI        1"), "{out}");
    assert!(out.contains("CAPI conversions, no order      0"), "{out}");
}

#[test]
fn the_name_only_fixture_says_it_matched_on_name() {
    let (_, out) = reconcile("orders-pass.csv");
    assert!(
        out.contains(
            "(98 by event_id, 3 by value and time)\n    matched on Name (#1001 style): 98\n"
        ),
        "{out}"
    );
}
