//! Triggers: conditions on a hit that decide whether a tag fires. Built once from the config, then pure.

use crate::base::diagnostic::Diagnostic;
use crate::hit::field::FieldPath;
use crate::hit::Hit;
use serde::Deserialize;
use serde_json::Value;
use std::borrow::Cow;
use toml::Spanned;

/// A condition as written in `capi.toml`. Exactly one of `all`, `any`, `not`, or `field` with one operator.
///
/// ```toml
/// trigger = { all = [ { field = "event", equals = "Purchase" },
///                     { field = "page.path", starts_with = "/thank-you" } ] }
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionConfig {
    /// Every condition in the list must hold.
    pub all: Option<Vec<Spanned<ConditionConfig>>>,
    /// At least one condition in the list must hold.
    pub any: Option<Vec<Spanned<ConditionConfig>>>,
    /// The condition must not hold.
    pub not: Option<Box<Spanned<ConditionConfig>>>,
    /// The part of the hit to test, e.g. `event`, `page.url`, `data.value`, `context.headers.cf-ipcountry`.
    pub field: Option<Spanned<String>>,
    /// The field equals this value (text compares exactly; numbers compare as numbers).
    pub equals: Option<Spanned<Value>>,
    /// The field does not equal this value (a missing field counts as not equal).
    pub not_equals: Option<Spanned<Value>>,
    /// The field's text contains this text.
    pub contains: Option<Spanned<String>>,
    /// The field's text starts with this text.
    pub starts_with: Option<Spanned<String>>,
    /// The field's text ends with this text.
    pub ends_with: Option<Spanned<String>>,
    /// The field's text matches this regular expression (Rust `regex` syntax, unanchored).
    pub matches: Option<Spanned<String>>,
    /// `true`: the field is present and not empty; `false`: it is absent or empty.
    pub exists: Option<Spanned<bool>>,
    /// The field equals one of these values.
    #[serde(rename = "in")]
    pub in_: Option<Spanned<Vec<Value>>>,
    /// The field is a number greater than this.
    pub gt: Option<Spanned<f64>>,
    /// The field is a number greater than or equal to this.
    pub gte: Option<Spanned<f64>>,
    /// The field is a number less than this.
    pub lt: Option<Spanned<f64>>,
    /// The field is a number less than or equal to this.
    pub lte: Option<Spanned<f64>>,
}

/// A checked condition, ready to evaluate.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum Condition {
    All(Vec<Condition>),
    Any(Vec<Condition>),
    Not(Box<Condition>),
    Test {
        field: FieldPath,
        field_text: String,
        op: Op,
    },
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum Op {
    Equals(Value),
    NotEquals(Value),
    Contains(String),
    StartsWith(String),
    EndsWith(String),
    Matches(#[serde(with = "regex_text")] regex_lite::Regex),
    Exists(bool),
    In(Vec<Value>),
    Gt(f64),
    Gte(f64),
    Lt(f64),
    Lte(f64),
}

/// Every key a condition takes: the combinators, `field`, then the operators (also `config::unknown_keys`'s list).
pub(crate) const CONDITION_KEYS: [&str; 16] = [
    "all",
    "any",
    "not",
    "field",
    "equals",
    "not_equals",
    "contains",
    "starts_with",
    "ends_with",
    "matches",
    "exists",
    "in",
    "gt",
    "gte",
    "lt",
    "lte",
];

/// The operators, for hints.
const OPERATORS: &[&str] = CONDITION_KEYS.split_at(4).1;

impl Condition {
    /// Checks a condition from the config; every problem found goes to `errors`.
    pub fn build(
        config: &Spanned<ConditionConfig>,
        errors: &mut Vec<Diagnostic>,
    ) -> Option<Condition> {
        let c = config.get_ref();
        let span = config.span();
        let ops = operators(c);
        let shapes = [
            c.all.is_some(),
            c.any.is_some(),
            c.not.is_some(),
            c.field.is_some(),
        ];
        if shapes.iter().filter(|s| **s).count() != 1 {
            errors.push(
                Diagnostic::new("a condition needs exactly one of `all`, `any`, `not` or `field`", Some(span))
                    .with_hint("write { field = \"event\", equals = \"Purchase\" }, or combine conditions with { all = [ … ] }"),
            );
            return None;
        }
        let list = |items: &Vec<Spanned<ConditionConfig>>, errors: &mut Vec<Diagnostic>| {
            let built: Vec<Option<Condition>> =
                items.iter().map(|i| Condition::build(i, errors)).collect();
            built.into_iter().collect::<Option<Vec<_>>>()
        };
        if !ops.is_empty() && c.field.is_none() {
            errors.push(Diagnostic::new(
                format!("`{}` needs a `field` in the same condition", ops[0].0),
                Some(ops[0].1.clone()),
            ));
            return None;
        }
        if let Some(items) = &c.all {
            return list(items, errors).map(Condition::All);
        }
        if let Some(items) = &c.any {
            return list(items, errors).map(Condition::Any);
        }
        if let Some(inner) = &c.not {
            return Condition::build(inner, errors).map(|c| Condition::Not(Box::new(c)));
        }
        let field = c.field.as_ref()?;
        let path = match FieldPath::parse(field.get_ref()) {
            Ok(p) => Some(p),
            Err(hint) => {
                errors.push(
                    Diagnostic::new(
                        format!("unknown field \"{}\"", field.get_ref()),
                        Some(field.span()),
                    )
                    .with_hint(hint),
                );
                None
            }
        };
        if ops.len() != 1 {
            let message = if ops.is_empty() {
                format!("condition on \"{}\" has no operator", field.get_ref())
            } else {
                format!(
                    "condition on \"{}\" has {} operators; use one per condition",
                    field.get_ref(),
                    ops.len()
                )
            };
            errors.push(Diagnostic::new(message, Some(span)).with_hint(format!(
                "operators: {}. Combine several with all = [ … ]",
                OPERATORS.join(", ")
            )));
            return None;
        }
        let op = build_op(c, errors)?;
        Some(Condition::Test {
            field: path?,
            field_text: field.get_ref().clone(),
            op,
        })
    }

    /// Whether the hit satisfies the condition: the hot path, which builds no explanation.
    pub fn matches(&self, hit: &Hit) -> bool {
        match self {
            Condition::All(items) => items.iter().all(|c| c.matches(hit)),
            Condition::Any(items) => items.iter().any(|c| c.matches(hit)),
            Condition::Not(inner) => !inner.matches(hit),
            Condition::Test { field, op, .. } => op.holds(field.resolve(hit).as_deref()),
        }
    }

    /// `Ok` when the hit satisfies the condition; otherwise the condition that failed, in words.
    pub fn check(&self, hit: &Hit) -> Result<(), String> {
        match self {
            Condition::All(items) => items.iter().try_for_each(|c| c.check(hit)),
            Condition::Any(items) => {
                let mut reasons = Vec::new();
                for c in items {
                    match c.check(hit) {
                        Ok(()) => return Ok(()),
                        Err(r) => reasons.push(r),
                    }
                }
                Err(format!("none of: {}", reasons.join("; ")))
            }
            Condition::Not(inner) => match inner.check(hit) {
                Ok(()) => Err(format!("not ({})", inner.describe())),
                Err(_) => Ok(()),
            },
            Condition::Test {
                field,
                field_text,
                op,
            } => {
                let value = field.resolve(hit);
                if op.holds(value.as_deref()) {
                    Ok(())
                } else {
                    let was = match &value {
                        Some(v) => format!("was {}", short(v)),
                        None => "field is missing".to_string(),
                    };
                    Err(format!("{field_text} {} ({was})", op.describe()))
                }
            }
        }
    }

    /// The condition in words, e.g. `page.url contains "/thank-you"`.
    pub fn describe(&self) -> String {
        let join = |items: &[Condition], word: &str| {
            items
                .iter()
                .map(Condition::describe)
                .collect::<Vec<_>>()
                .join(word)
        };
        match self {
            Condition::All(items) => format!("({})", join(items, " and ")),
            Condition::Any(items) => format!("({})", join(items, " or ")),
            Condition::Not(inner) => format!("not {}", inner.describe()),
            Condition::Test { field_text, op, .. } => format!("{field_text} {}", op.describe()),
        }
    }
}

fn operators(c: &ConditionConfig) -> Vec<(&'static str, std::ops::Range<usize>)> {
    let mut found = Vec::new();
    let mut add = |name: &'static str, span: Option<std::ops::Range<usize>>| {
        if let Some(s) = span {
            found.push((name, s));
        }
    };
    add("equals", c.equals.as_ref().map(Spanned::span));
    add("not_equals", c.not_equals.as_ref().map(Spanned::span));
    add("contains", c.contains.as_ref().map(Spanned::span));
    add("starts_with", c.starts_with.as_ref().map(Spanned::span));
    add("ends_with", c.ends_with.as_ref().map(Spanned::span));
    add("matches", c.matches.as_ref().map(Spanned::span));
    add("exists", c.exists.as_ref().map(Spanned::span));
    add("in", c.in_.as_ref().map(Spanned::span));
    add("gt", c.gt.as_ref().map(Spanned::span));
    add("gte", c.gte.as_ref().map(Spanned::span));
    add("lt", c.lt.as_ref().map(Spanned::span));
    add("lte", c.lte.as_ref().map(Spanned::span));
    found
}

fn build_op(c: &ConditionConfig, errors: &mut Vec<Diagnostic>) -> Option<Op> {
    let s = |v: &Option<Spanned<String>>| v.as_ref().map(|v| v.get_ref().clone());
    let n = |v: &Option<Spanned<f64>>| v.as_ref().map(|v| *v.get_ref());
    if let Some(v) = &c.equals {
        return Some(Op::Equals(v.get_ref().clone()));
    }
    if let Some(v) = &c.not_equals {
        return Some(Op::NotEquals(v.get_ref().clone()));
    }
    if let Some(v) = s(&c.contains) {
        return Some(Op::Contains(v));
    }
    if let Some(v) = s(&c.starts_with) {
        return Some(Op::StartsWith(v));
    }
    if let Some(v) = s(&c.ends_with) {
        return Some(Op::EndsWith(v));
    }
    if let Some(pattern) = &c.matches {
        return match regex_lite::Regex::new(pattern.get_ref()) {
            Ok(re) => Some(Op::Matches(re)),
            Err(e) => {
                let detail = e.to_string();
                let detail = detail.lines().last().unwrap_or("").trim().to_string();
                errors.push(
                    Diagnostic::new(format!("invalid regular expression: {detail}"), Some(pattern.span()))
                        .with_hint("escape special characters with a backslash (in TOML, write \"\\\\.\" or use 'single quotes')"),
                );
                None
            }
        };
    }
    if let Some(v) = &c.exists {
        return Some(Op::Exists(*v.get_ref()));
    }
    if let Some(v) = &c.in_ {
        return Some(Op::In(v.get_ref().clone()));
    }
    n(&c.gt)
        .map(Op::Gt)
        .or_else(|| n(&c.gte).map(Op::Gte))
        .or_else(|| n(&c.lt).map(Op::Lt))
        .or_else(|| n(&c.lte).map(Op::Lte))
}

impl Op {
    fn holds(&self, value: Option<&Value>) -> bool {
        let text = value.and_then(as_text);
        let number = value.and_then(as_number);
        match self {
            Op::Equals(expected) => value.is_some_and(|v| loosely_equal(v, expected)),
            Op::NotEquals(expected) => !value.is_some_and(|v| loosely_equal(v, expected)),
            Op::Contains(s) => text.is_some_and(|t| t.contains(s.as_str())),
            Op::StartsWith(s) => text.is_some_and(|t| t.starts_with(s.as_str())),
            Op::EndsWith(s) => text.is_some_and(|t| t.ends_with(s.as_str())),
            Op::Matches(re) => text.is_some_and(|t| re.is_match(&t)),
            Op::Exists(want) => *want == value.is_some_and(|v| !is_empty(v)),
            Op::In(options) => value.is_some_and(|v| options.iter().any(|o| loosely_equal(v, o))),
            Op::Gt(n) => number.is_some_and(|x| x > *n),
            Op::Gte(n) => number.is_some_and(|x| x >= *n),
            Op::Lt(n) => number.is_some_and(|x| x < *n),
            Op::Lte(n) => number.is_some_and(|x| x <= *n),
        }
    }

    fn describe(&self) -> String {
        match self {
            Op::Equals(v) => format!("equals {v}"),
            Op::NotEquals(v) => format!("not_equals {v}"),
            Op::Contains(s) => format!("contains {s:?}"),
            Op::StartsWith(s) => format!("starts_with {s:?}"),
            Op::EndsWith(s) => format!("ends_with {s:?}"),
            Op::Matches(re) => format!("matches {:?}", re.as_str()),
            Op::Exists(true) => "exists".to_string(),
            Op::Exists(false) => "does not exist".to_string(),
            Op::In(v) => format!("in {}", Value::Array(v.clone())),
            Op::Gt(n) => format!("> {n}"),
            Op::Gte(n) => format!(">= {n}"),
            Op::Lt(n) => format!("< {n}"),
            Op::Lte(n) => format!("<= {n}"),
        }
    }
}

/// Text of a scalar value (numbers and booleans as written), `None` for lists, objects and null.
pub fn as_text(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::String(s) => Some(Cow::Borrowed(s)),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Bool(b) => Some(Cow::Owned(b.to_string())),
        _ => None,
    }
}

/// A number, or text that reads as one (`"149.00"`).
pub fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => crate::base::number::parse_f64(s.trim()),
        _ => None,
    }
}

fn loosely_equal(a: &Value, b: &Value) -> bool {
    if a == b {
        return true;
    }
    match (as_number(a), as_number(b), a.is_number() || b.is_number()) {
        (Some(x), Some(y), true) => x == y,
        _ => false,
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 80 {
        format!("{}…", s.chars().take(80).collect::<String>())
    } else {
        s
    }
}

/// A regex travels in the compiled config as its pattern, compiled again when the worker loads it.
mod regex_text {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(re: &regex_lite::Regex, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(re.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<regex_lite::Regex, D::Error> {
        let pattern = String::deserialize(d)?;
        regex_lite::Regex::new(&pattern).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn condition(toml_src: &str) -> Result<Condition, Vec<Diagnostic>> {
        #[derive(Deserialize)]
        struct Wrap {
            trigger: Spanned<ConditionConfig>,
        }
        let w: Wrap = toml::from_str(toml_src).expect("test TOML parses");
        let mut errors = Vec::new();
        let c = Condition::build(&w.trigger, &mut errors);
        match c {
            Some(c) if errors.is_empty() => Ok(c),
            _ => Err(errors),
        }
    }

    fn hit() -> Hit {
        Hit::from_json(
            br#"{"event":"Purchase","page":{"url":"https://shop.example.com/thank-you?oppref=x"},
                "data":{"value":"149.00","tier":"gold","items":[]},"context":{"headers":{"cf-ipcountry":"US"}}}"#,
        )
        .unwrap()
    }

    #[test]
    fn each_operator_passes_and_fails_as_expected() {
        let h = hit();
        let cases = [
            (r#"{ field = "event", equals = "Purchase" }"#, true),
            (r#"{ field = "event", equals = "purchase" }"#, false),
            (r#"{ field = "event", not_equals = "Lead" }"#, true),
            (r#"{ field = "data.missing", not_equals = "x" }"#, true),
            (r#"{ field = "page.url", contains = "/thank-you" }"#, true),
            (r#"{ field = "page.path", starts_with = "/thank" }"#, true),
            (r#"{ field = "page.path", ends_with = "/cart" }"#, false),
            (
                r#"{ field = "page.url", matches = 'thank-you\?oppref=\w+$' }"#,
                true,
            ),
            (r#"{ field = "page.query.oppref", exists = true }"#, true),
            (r#"{ field = "data.items", exists = true }"#, false),
            (r#"{ field = "data.items", exists = false }"#, true),
            (r#"{ field = "data.tier", in = ["silver", "gold"] }"#, true),
            (r#"{ field = "data.value", gt = 100 }"#, true),
            (r#"{ field = "data.value", gte = 149 }"#, true),
            (r#"{ field = "data.value", lt = 149 }"#, false),
            (r#"{ field = "data.value", lte = 149.0 }"#, true),
            (r#"{ field = "data.value", equals = 149 }"#, true),
            (r#"{ field = "data.tier", gt = 1 }"#, false),
            (
                r#"{ field = "context.headers.cf-ipcountry", equals = "US" }"#,
                true,
            ),
            (
                r#"{ any = [ { field = "event", equals = "Lead" }, { field = "data.tier", equals = "gold" } ] }"#,
                true,
            ),
            (
                r#"{ all = [ { field = "event", equals = "Purchase" }, { field = "data.tier", equals = "silver" } ] }"#,
                false,
            ),
            (
                r#"{ not = { field = "event", equals = "Purchase" } }"#,
                false,
            ),
        ];
        for (src, expected) in cases {
            let c = condition(&format!("trigger = {src}")).unwrap();
            assert_eq!(c.check(&h).is_ok(), expected, "{src}");
            assert_eq!(
                c.matches(&h),
                expected,
                "matches() agrees with check(): {src}"
            );
        }
    }

    #[test]
    fn a_failed_check_names_the_failing_condition() {
        let c = condition(
            r#"trigger = { all = [ { field = "event", equals = "Purchase" }, { field = "page.url", contains = "/checkout" } ] }"#,
        )
        .unwrap();
        let reason = c.check(&hit()).unwrap_err();
        assert_eq!(
            reason,
            r#"page.url contains "/checkout" (was "https://shop.example.com/thank-you?oppref=x")"#
        );
    }

    #[test]
    fn config_mistakes_are_reported_with_spans() {
        let cases = [
            (r#"{ field = "event" }"#, "has no operator"),
            (
                r#"{ field = "event", equals = "A", contains = "B" }"#,
                "has 2 operators",
            ),
            (
                r#"{ field = "pag.url", equals = "A" }"#,
                "unknown field \"pag.url\"",
            ),
            (
                r#"{ field = "page.url", matches = "(" }"#,
                "invalid regular expression",
            ),
            (r#"{ equals = "A" }"#, "needs exactly one of"),
            (
                r#"{ all = [ { field = "event", equals = "A" } ], field = "event" }"#,
                "needs exactly one of",
            ),
        ];
        for (src, expected) in cases {
            let errors = condition(&format!("trigger = {src}")).unwrap_err();
            assert!(
                errors[0].message.contains(expected),
                "{src}: {:?}",
                errors[0].message
            );
            assert!(errors[0].span.is_some(), "{src}");
        }
    }
}
