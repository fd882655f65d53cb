//! `capi-edge reconcile` on fixture exports with known answers, one per verdict. The fixtures: a ledger (as
//! `wrangler d1 execute --json` prints it) with orders 1001–1100 sent except 1098 (failed) and 1099 (dead
//! letter), three conversions matching orders 2001–2003 only by value and time, a test conversion with no
//! order, a wrong value for 1005, and rows outside the 7-day window or not purchases; and three order exports.

use std::process::Command;

fn reconcile(orders: &str) -> (i32, String) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/reconcile");
    let out = Command::new(env!("CARGO_BIN_EXE_capi-edge"))
        .args([
            "reconcile",
            "--orders",
            &format!("{dir}/{orders}"),
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
