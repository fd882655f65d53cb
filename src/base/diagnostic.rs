//! Errors for the person who caused them: a message, the place in the file (line, column, caret) and a hint.

use std::fmt::Write as _;
use std::ops::Range;

/// One problem found in a config file, with where it is and how to fix it.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub message: String,
    /// Byte range in the source; `None` when the problem has no single place (for example a missing section).
    pub span: Option<Range<usize>>,
    pub hint: Option<String>,
    /// What else the reader should know, e.g. that the other checks did not run.
    pub note: Option<String>,
    pub severity: Severity,
}

/// An error fails the check; a warning is printed and does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Severity {
    #[default]
    Error,
    Warning,
}

impl Severity {
    /// The word that starts the rendered diagnostic (and names GitHub's workflow command).
    pub fn word(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

impl Diagnostic {
    pub fn new(message: impl Into<String>, span: Option<Range<usize>>) -> Self {
        Diagnostic {
            message: message.into(),
            span,
            hint: None,
            note: None,
            severity: Severity::Error,
        }
    }

    /// A problem that does not fail the check.
    pub fn warning(message: impl Into<String>, span: Option<Range<usize>>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::new(message, span)
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }

    /// 1-based line and column (in characters) of the start of the span.
    pub fn line_col(&self, source: &str) -> Option<(usize, usize)> {
        let span = self.span.as_ref()?;
        let start = floor_char_boundary(source, span.start.min(source.len()));
        let before = &source[..start];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = source[line_start..start].chars().count() + 1;
        Some((line, col))
    }

    /// Renders the diagnostic the way rustc and toml do: message, `--> file:line:col`, the line and a caret.
    pub fn render(&self, file_name: &str, source: &str) -> String {
        let mut out = format!("{}: {}\n", self.severity.word(), self.message);
        if let (Some(span), Some((line, col))) = (&self.span, self.line_col(source)) {
            let text = source.lines().nth(line - 1).unwrap_or("");
            let gutter = " ".repeat(line.to_string().len());
            let start = floor_char_boundary(source, span.start.min(source.len()));
            let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
            let line_end = line_start + text.len();
            let end = floor_char_boundary(source, span.end.clamp(start, line_end));
            let width = source[start..end].chars().count().max(1);
            let _ = writeln!(out, "{gutter}--> {file_name}:{line}:{col}");
            let _ = writeln!(out, "{gutter} |");
            let _ = writeln!(out, "{line} | {text}");
            let _ = writeln!(
                out,
                "{gutter} | {}{}",
                " ".repeat(col - 1),
                "^".repeat(width)
            );
        } else {
            let _ = writeln!(out, " --> {file_name}");
        }
        if let Some(hint) = &self.hint {
            let _ = writeln!(out, "hint: {hint}");
        }
        if let Some(note) = &self.note {
            let _ = writeln!(out, "note: {note}");
        }
        out
    }

    /// Renders the diagnostic as one GitHub Actions workflow command, so the runner shows it as an annotation
    /// on its line of the pull request: `::error file=capi.toml,line=12,col=3,title=capi-edge check::message`.
    /// The hint (and the note) follow the message on lines of their own in the annotation; a warning is a
    /// `::warning` command. Everything taken from the file is escaped (see [`escape_command_data`]): a value
    /// with a line break can't start a second command.
    pub fn render_github(&self, file_name: &str, source: &str) -> String {
        let file = file_name.strip_prefix("./").unwrap_or(file_name);
        let mut properties = format!("file={}", escape_command_property(file));
        if let Some((line, col)) = self.line_col(source) {
            let _ = write!(properties, ",line={line},col={col}");
        }
        properties.push_str(",title=capi-edge check");
        let mut message = self.message.clone();
        if let Some(hint) = &self.hint {
            message.push_str("\nhint: ");
            message.push_str(hint);
        }
        if let Some(note) = &self.note {
            message.push_str("\nnote: ");
            message.push_str(note);
        }
        format!(
            "::{} {properties}::{}\n",
            self.severity.word(),
            escape_command_data(&message)
        )
    }
}

/// A workflow command's message, as GitHub's runner (and `@actions/core`) reads it back: `%`, CR and LF are
/// percent-encoded. The runner splits its log into lines first, so an unescaped line break would let the
/// rest of a config value be read as a command of its own.
pub fn escape_command_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command's property value: like the message, plus `:` and `,`, which end a value.
pub fn escape_command_property(s: &str) -> String {
    escape_command_data(s)
        .replace(':', "%3A")
        .replace(',', "%2C")
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The candidate closest to `word` by edit distance, when it is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(2);
    candidates
        .into_iter()
        .map(|c| (edit_distance(&word.to_lowercase(), &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// A hint naming the closest candidate, or listing them all when none is close. A candidate written twice
/// (a name defined twice, which is reported on its own) is listed once.
pub fn suggestion(word: &str, what: &str, candidates: &[&str]) -> String {
    let listed = quoted_list(candidates);
    match did_you_mean(word, candidates.iter().copied()) {
        Some(best) => format!("{what}: {listed}. Did you mean \"{best}\"?"),
        None => format!("{what}: {listed}."),
    }
}

/// `"a", "b", "c"`: each name once, in the order first written.
pub fn quoted_list(names: &[&str]) -> String {
    let mut seen = Vec::new();
    for n in names {
        if !seen.contains(n) {
            seen.push(*n);
        }
    }
    seen.iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(row[j]).min(row[j + 1])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_line_column_and_caret_under_the_span() {
        let src = "[[tag]]\nname = \"purchase\"\ndestination = \"opnai\"\n";
        let start = src.find("\"opnai\"").unwrap();
        let d = Diagnostic::new(
            "unknown destination \"opnai\" in tag \"purchase\"",
            Some(start..start + 7),
        )
        .with_hint("did you mean \"openai\"?");
        let out = d.render("capi.toml", src);
        assert_eq!(
            out,
            "error: unknown destination \"opnai\" in tag \"purchase\"\n --> capi.toml:3:15\n  |\n3 | destination = \"opnai\"\n  |               ^^^^^^^\nhint: did you mean \"openai\"?\n"
        );
    }

    #[test]
    fn column_counts_characters_not_bytes() {
        let src = "name = \"Valéry\" x";
        let start = src.find('x').unwrap();
        let d = Diagnostic::new("m", Some(start..start + 1));
        assert_eq!(d.line_col(src), Some((1, 17)));
    }

    #[test]
    fn suggests_only_close_candidates() {
        let cases = [
            ("opnai", Some("openai")),
            ("meat", Some("meta")),
            ("zzzzzzzz", None),
            ("OpenAI", Some("openai")),
        ];
        for (word, expected) in cases {
            assert_eq!(
                did_you_mean(word, ["openai", "meta", "capi"]),
                expected,
                "{word}"
            );
        }
    }

    #[test]
    fn github_annotation_names_file_line_and_column_and_carries_the_hint() {
        let src = "[[tag]]\nname = \"purchase\"\ndestination = \"opnai\"\n";
        let start = src.find("\"opnai\"").unwrap();
        let d = Diagnostic::new("unknown destination \"opnai\"", Some(start..start + 7))
            .with_hint("did you mean \"openai\"?");
        assert_eq!(
            d.render_github("./capi.toml", src),
            "::error file=capi.toml,line=3,col=15,title=capi-edge check::unknown destination \"opnai\"%0Ahint: did you mean \"openai\"?\n"
        );
        let whole_file = Diagnostic::new("missing [site]", None);
        assert_eq!(
            whole_file.render_github("capi.toml", src),
            "::error file=capi.toml,title=capi-edge check::missing [site]\n"
        );
    }

    #[test]
    fn a_value_with_line_breaks_cannot_start_a_second_workflow_command() {
        let hostile = "x\n::error file=README.md,line=1::pwned\r\n::add-mask::%0A";
        let d = Diagnostic::new(format!("unknown destination \"{hostile}\""), Some(0..1))
            .with_hint(hostile);
        let out = d.render_github("dir,a:b/capi.toml", "x");
        assert_eq!(out.lines().count(), 1, "{out}");
        assert!(out.ends_with('\n') && !out.contains('\r'));
        assert_eq!(
            out,
            "::error file=dir%2Ca%3Ab/capi.toml,line=1,col=1,title=capi-edge check::\
             unknown destination \"x%0A::error file=README.md,line=1::pwned%0D%0A::add-mask::%250A\"\
             %0Ahint: x%0A::error file=README.md,line=1::pwned%0D%0A::add-mask::%250A\n"
        );
    }

    #[test]
    fn a_warning_and_a_note_render_in_both_formats() {
        let src = "allowed_origins = [\"*\"]\n";
        let w = Diagnostic::warning("any website", Some(19..22))
            .with_hint("list them")
            .with_note("no credentials");
        assert_eq!(
            w.render("capi.toml", src),
            "warning: any website\n --> capi.toml:1:20\n  |\n1 | allowed_origins = [\"*\"]\n  |                    ^^^\nhint: list them\nnote: no credentials\n"
        );
        assert_eq!(
            w.render_github("capi.toml", src),
            "::warning file=capi.toml,line=1,col=20,title=capi-edge check::any website%0Ahint: list them%0Anote: no credentials\n"
        );
    }

    #[test]
    fn a_name_written_twice_is_listed_once_in_a_hint() {
        assert_eq!(
            suggestion("purchse", "tags", &["purchase", "lead", "purchase"]),
            "tags: \"purchase\", \"lead\". Did you mean \"purchase\"?"
        );
    }

    #[test]
    fn command_escaping_follows_the_runner() {
        assert_eq!(escape_command_data("50% a:b,c\r\n"), "50%25 a:b,c%0D%0A");
        assert_eq!(
            escape_command_property("50% a:b,c\r\n"),
            "50%25 a%3Ab%2Cc%0D%0A"
        );
    }
}
