//! The CLI behaves like one: `--help` and `help` exit 0 and list every command, each command has its own usage
//! with an example, `--version` says the version, and an unknown command or flag is an error that suggests the
//! near miss (exit 2, as argument errors are), never a silent run.

use std::process::{Command, Output};

fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_capi-edge"))
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

const COMMANDS: [&str; 11] = [
    "check",
    "compile",
    "normalize",
    "run",
    "reconcile",
    "replay",
    "erase",
    "publish",
    "versions",
    "rollback",
    "diff",
];

#[test]
fn help_lists_every_command_and_exits_0() {
    for args in [&["--help"][..], &["help"], &["-h"]] {
        let o = cli(args);
        assert_eq!(o.status.code(), Some(0), "{args:?}");
        let out = text(&o);
        for c in COMMANDS {
            assert!(
                out.contains(&format!("\n  {c} ")),
                "{args:?} lists {c}:\n{out}"
            );
        }
    }
}

#[test]
fn each_command_has_its_own_usage_with_an_example() {
    for c in COMMANDS {
        let o = cli(&[c, "--help"]);
        assert_eq!(o.status.code(), Some(0), "{c} --help");
        let out = text(&o);
        assert!(
            out.contains(&format!("Usage: capi-edge {c}")),
            "{c}:\n{out}"
        );
        assert!(
            out.contains(&format!("Example:\n  capi-edge {c}")),
            "{c} shows an example:\n{out}"
        );
        assert_eq!(text(&cli(&["help", c])), out, "`help {c}` is `{c} --help`");
    }
    assert!(text(&cli(&["publish", "--help"])).contains("--if-changed"));
}

#[test]
fn version_is_the_crates() {
    let o = cli(&["--version"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        text(&o).trim(),
        format!("capi-edge {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn an_unknown_command_or_flag_is_refused_with_a_suggestion() {
    let o = cli(&["pubish"]);
    assert_eq!(o.status.code(), Some(2));
    let out = text(&o);
    assert!(out.contains("unrecognized subcommand 'pubish'"), "{out}");
    assert!(
        out.contains("similar subcommand exists: 'publish'"),
        "{out}"
    );
    let o = cli(&["check", "--fromat", "github"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("--format"), "{}", text(&o));
    // No command at all: the usage, not a run.
    let o = cli(&[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("Usage: capi-edge <COMMAND>"));
}
