//! Numbers read from text (`"149.00"`, `"1e3"`, `"-2.5"`). Rust's `str::parse::<f64>` links core's correctly
//! rounded parser and its table of powers of five into the Wasm (17 KB, 14 KB of it after gzip); serde_json's
//! float parser, linked anyway for JSON bodies, reads the decimal numbers this worker sees (amounts,
//! quantities, times, day counts) as well, so the text is rewritten into JSON's number grammar and handed to it.
//! Every `f64` parse in code the worker links must come here, or the table comes back.

/// A finite decimal number: an optional sign, digits with an optional fraction, an optional exponent. Accepts
/// the finite decimals `str::parse::<f64>` accepts, `+1`, `.5`, `5.` and `007` included; `inf` and `NaN` are
/// `None`. Like `str::parse`, it does not trim.
pub fn parse_f64(text: &str) -> Option<f64> {
    let (sign, rest) = split_sign(text);
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !digits(int) || !digits(frac) {
        return None;
    }
    // JSON's grammar: no `+`, no leading zeros, a digit on both sides of the point.
    let int = int.trim_start_matches('0');
    let mut json = String::with_capacity(text.len() + 2);
    json.push_str(sign);
    json.push_str(if int.is_empty() { "0" } else { int });
    if !frac.is_empty() {
        json.push('.');
        json.push_str(frac);
    }
    if let Some(e) = exponent {
        let (e_sign, e_digits) = split_sign(e);
        if e_digits.is_empty() || !digits(e_digits) {
            return None;
        }
        json.push('e');
        json.push_str(e_sign);
        json.push_str(e_digits);
    }
    serde_json::from_slice::<f64>(json.as_bytes())
        .ok()
        .filter(|x| x.is_finite())
}

/// `("-", rest)` for a minus, `("", rest)` for a plus or no sign.
fn split_sign(text: &str) -> (&'static str, &str) {
    match text.as_bytes().first() {
        Some(b'-') => ("-", &text[1..]),
        Some(b'+') => ("", &text[1..]),
        _ => ("", text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Within a few units in the last place of Rust's own correctly rounded parse: serde_json's default
    /// parser is best-effort in the last digit, which no amount or quantity here can see.
    fn close(a: f64, b: f64) -> bool {
        a == b || (a - b).abs() <= 4.0 * f64::EPSILON * a.abs().max(b.abs())
    }

    #[test]
    fn reads_what_str_parse_reads() {
        for text in [
            "0",
            "1",
            "-1",
            "+1",
            "149",
            "149.00",
            "149.5",
            "-2.5",
            ".5",
            "-.5",
            "5.",
            "007",
            "00.50",
            "1e3",
            "1E3",
            "1e+3",
            "2.5e-3",
            "-0",
            "0.1",
            "123456789012345678",
            "1.7976931348623157e308",
            "4.9e-324",
            "0.000001",
            "19.99",
        ] {
            let ours = parse_f64(text);
            let std = text.parse::<f64>().ok();
            assert!(
                matches!((ours, std), (Some(a), Some(b)) if close(a, b)),
                "{text}: {ours:?} vs {std:?}"
            );
        }
    }

    #[test]
    fn refuses_what_is_not_a_finite_decimal() {
        for text in [
            "", "-", "+", ".", "e3", "1e", "1e+", "1.2.3", "1,5", " 1", "1 ", "0x10", "inf",
            "-inf", "NaN", "infinity", "1e400", "--1", "+-1", "1_000", "١٢", "$5",
        ] {
            assert_eq!(parse_f64(text), None, "{text}");
        }
    }

    proptest! {
        #[test]
        fn agrees_with_str_parse_on_formatted_floats(x in proptest::num::f64::NORMAL | proptest::num::f64::ZERO) {
            for text in [format!("{x}"), format!("{x:e}"), format!("{x:.2}"), format!("{x:+.6e}")] {
                let ours = parse_f64(&text);
                let std = text.parse::<f64>().ok().filter(|v| v.is_finite());
                prop_assert!(
                    match (ours, std) { (Some(a), Some(b)) => close(a, b), (None, None) => true, _ => false },
                    "{} -> {:?} vs {:?}", text, ours, std
                );
            }
        }
    }
}
