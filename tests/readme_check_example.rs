//! The README's `make check` example is what `capi-edge check` prints for the config shown above it, to the
//! letter: the manual never shows output the product no longer gives.

use std::process::Command;

fn block_after<'a>(text: &'a str, marker: &str, fence: &str) -> &'a str {
    let start = text
        .find(marker)
        .unwrap_or_else(|| panic!("README has {marker:?}"));
    let rest = &text[start..];
    let open = rest.find(fence).expect("a fenced block follows") + fence.len();
    let body = &rest[open..];
    let body = body.strip_prefix('\n').unwrap_or(body);
    &body[..body.find("\n```").expect("the block closes") + 1]
}

#[test]
fn the_readme_check_example_is_what_check_prints() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let config = block_after(&readme, "has three mistakes", "```toml");
    let expected = block_after(&readme, "`check` says (exit 1):", "```");
    let expected = expected
        .strip_prefix("$ capi-edge check capi.toml\n")
        .expect("the block starts with the command");
    let dir = std::env::temp_dir().join(format!("capi-edge-readme-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("capi.toml"), config).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_capi-edge"))
        .args(["check", "capi.toml"])
        .current_dir(&dir)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(out.status.code(), Some(1));
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(printed, expected);
}
