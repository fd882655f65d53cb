//! `capi-edge diff A B --hits SAMPLE` on a fixture sample with known changes: B tightens the purchase trigger (the
//! thank-you page only) and adds a mapping (the lead's form). The output must be exactly the expected text, its
//! order fixed, and a hostile value (an escape sequence and a line break in a field) printed escaped.

use std::process::Command;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/samples");

fn diff(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_capi-edge"))
        .current_dir(DIR)
        .args(["diff"])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn a_tightened_trigger_and_an_added_mapping_on_the_sample() {
    let (ok, stdout, stderr) = diff(&["a.toml", "b.toml", "--hits", "recent.json"]);
    assert!(ok, "{stderr}");
    let expected = std::fs::read_to_string(format!("{DIR}/expected.txt")).unwrap();
    if stdout != expected && std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(format!("{DIR}/expected.txt"), &stdout).unwrap();
    }
    assert_eq!(stdout, expected);
    assert!(
        !stdout.contains('\u{1b}'),
        "a raw escape reached the terminal"
    );
}

#[test]
fn without_hits_diff_is_the_config_diff_alone() {
    let (ok, stdout, _) = diff(&["a.toml", "b.toml"]);
    assert!(ok);
    let expected = std::fs::read_to_string(format!("{DIR}/expected.txt")).unwrap();
    let config_part = expected.split("the sampled hits of").next().unwrap();
    assert_eq!(stdout, config_part);
}

#[test]
fn the_same_config_on_the_sample_differs_nowhere() {
    let (ok, stdout, _) = diff(&["a.toml", "a.toml", "--hits", "recent.json"]);
    assert!(ok);
    assert!(
        stdout.contains("differs for 0 of 2 destination events"),
        "{stdout}"
    );
    assert!(
        stdout.contains("  meta Purchase: same payloads (3 hits)"),
        "{stdout}"
    );
}

#[test]
fn a_bad_sample_is_an_error_naming_the_row() {
    let dir = std::env::temp_dir().join(format!("capi-edge-sample-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.json");
    std::fs::write(&bad, r#"[{"event":"Lead"},{"event":"Lead","evnt":1}]"#).unwrap();
    let (ok, _, stderr) = diff(&["a.toml", "b.toml", "--hits", bad.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        stderr.contains("sample [1]: unknown field `evnt`"),
        "{stderr}"
    );
}
