//! `capi-edge check --format github`, as the workflow template runs it on a pull request: every error as one
//! workflow command on stdout, at its line, exit 1; and a config value can't smuggle in a command of its own.

use std::path::{Path, PathBuf};
use std::process::Command;

const EXAMPLE: &str = include_str!("../capi.toml");

/// Writes `source` as `capi.toml` in a fresh directory and runs `capi-edge check capi.toml <args>` there.
fn check(name: &str, source: &str, args: &[&str]) -> (i32, String, String) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("capi.toml"), source).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_capi-edge"))
        .current_dir(Path::new(&dir))
        .args(["check", "capi.toml"])
        .args(args)
        .output()
        .expect("the CLI runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The example with `from` replaced once, and the 1-based line where that happened.
fn with_typo(source: &str, from: &str, to: &str) -> (String, usize) {
    let at = source
        .find(from)
        .unwrap_or_else(|| panic!("{from} is in capi.toml"));
    let line = source[..at].matches('\n').count() + 1;
    (source.replacen(from, to, 1), line)
}

#[test]
fn every_error_is_an_annotation_at_its_line() {
    let (source, field_line) = with_typo(EXAMPLE, "\"page.path\"", "\"page.pth\"");
    let (source, dest_line) = with_typo(
        &source,
        "destination = \"openai\"",
        "destination = \"opnai\"",
    );
    let (code, stdout, stderr) = check("two-errors", &source, &["--format", "github"]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(
        lines[0].starts_with(&format!(
            "::error file=capi.toml,line={field_line},col=13,title=capi-edge check::unknown field \"page.pth\"%0Ahint: did you mean \"page.path\"?"
        )),
        "{stdout}"
    );
    assert!(
        lines[1].starts_with(&format!(
            "::error file=capi.toml,line={dest_line},col=15,title=capi-edge check::unknown destination \"opnai\""
        )),
        "{stdout}"
    );
    assert_eq!(stderr, "capi.toml: 2 errors\n");

    // The default is still the human format, on stderr.
    let (code, stdout, stderr) = check("two-errors-human", &source, &[]);
    assert_eq!((code, stdout.as_str()), (1, ""));
    assert!(
        stderr.starts_with("error: unknown field \"page.pth\"\n")
            && stderr.contains(&format!("--> capi.toml:{field_line}:13\n")),
        "{stderr}"
    );
    assert!(stderr.ends_with("capi.toml: 2 errors\n"), "{stderr}");
}

#[test]
fn a_clean_config_passes() {
    let (code, stdout, _) = check("clean", EXAMPLE, &["--format", "github"]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.starts_with("capi.toml: ok ("), "{stdout}");
    assert!(!stdout.contains("::"), "{stdout}");
}

#[test]
fn a_value_with_a_line_break_cannot_inject_a_workflow_command() {
    // A TOML escape puts a real line break into the name, which the error message quotes.
    let payload = r#"op\n::error file=README.md,line=1::injected\r\n::add-mask::secret"#;
    let (source, line) = with_typo(
        EXAMPLE,
        "destination = \"openai\"",
        &format!("destination = \"{payload}\""),
    );
    let (code, stdout, _) = check("hostile", &source, &["--format", "github"]);
    assert_eq!(code, 1, "{stdout}");
    let commands: Vec<&str> = stdout.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert_eq!(commands.len(), 1, "{stdout}");
    assert!(!stdout.contains('\r'), "{stdout}");
    assert!(
        commands[0].starts_with(&format!(
            "::error file=capi.toml,line={line},col=15,title=capi-edge check::unknown destination \
             \"op%0A::error file=README.md,line=1::injected%0D%0A::add-mask::secret\""
        )),
        "{stdout}"
    );
}

#[test]
fn an_unknown_format_is_refused() {
    let (code, _, stderr) = check("bad-format", EXAMPLE, &["--format", "sarif"]);
    assert_eq!(code, 1);
    assert_eq!(stderr, "error: --format takes human or github\n");
}

#[test]
fn a_wildcard_origin_is_a_warning_that_does_not_fail_the_check() {
    let (source, line) = with_typo(EXAMPLE, "allowed_origins = [", "allowed_origins = [\"*\", ");
    let (code, stdout, stderr) = check("wildcard-github", &source, &["--format", "github"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(
        lines[0].starts_with(&format!(
            "::warning file=capi.toml,line={line},col=20,title=capi-edge check::allowed_origins \"*\" lets any website send events to this worker%0Ahint: "
        )) && lines[0].contains("without credentials"),
        "{stdout}"
    );
    assert!(
        lines[1].starts_with("capi.toml: ok (") && lines[1].ends_with("), 1 warning"),
        "{stdout}"
    );

    let (code, stdout, stderr) = check("wildcard-human", &source, &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stderr.starts_with(
            "warning: allowed_origins \"*\" lets any website send events to this worker\n"
        ) && stderr.contains(&format!("--> capi.toml:{line}:20\n")),
        "{stderr}"
    );
    assert!(stdout.ends_with("), 1 warning\n"), "{stdout}");
}
