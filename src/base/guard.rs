//! Guards for values on their way from a request to a response header, a `Set-Cookie`, a log line, an outbound
//! request or SQL. Each such value is checked where it is produced (`safe_id`, used by the pipeline for mapped
//! ids and by the hit for its own) and again where the header is written (`header_lines`, used for every
//! response and outbound request the edge builds): a value that could end a header line is refused, never
//! stripped. The README's threat model lists every path and its guard.

use std::fmt;

/// Whether `s` can serve as an id that travels into headers, cookies and logs: not blank, at most `max_len`
/// bytes, and no control character (CR, LF, NUL, tab, DEL and the C1 range), so it can end no line.
pub fn safe_id(s: &str, max_len: usize) -> bool {
    !s.trim().is_empty() && s.len() <= max_len && !s.chars().any(char::is_control)
}

/// Ids as one header value (`x-capi-event-id`), comma-separated. A header value is bytes, and the runtime refuses
/// a character above U+00FF, so any byte of an id outside visible ASCII, and the `,` and `%` the list itself
/// uses, is percent-encoded: an order id such as `注文-1` is still reported, and plain ids are unchanged.
pub fn id_list_header(ids: &[String]) -> String {
    let mut out = String::new();
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        for b in id.bytes() {
            if (0x21..=0x7e).contains(&b) && b != b',' && b != b'%' {
                out.push(b as char);
            } else {
                out.push('%');
                out.push_str(&format!("{b:02X}"));
            }
        }
    }
    out
}

/// A header the edge refused to write.
#[derive(Debug, Clone, PartialEq)]
pub struct UnsafeHeader {
    pub name: String,
}

impl fmt::Display for UnsafeHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "refused to write header {:?}: its name is not a token or its value holds a control character",
            self.name
        )
    }
}

/// Headers as one `name:value` line each: the form in which the edge hands a whole header list to JS in one
/// crossing (`edge::js`). A line break inside a value would start a header of the sender's choosing, so every
/// name must be an HTTP token and no value may hold a control character other than tab; otherwise nothing is
/// written.
pub fn header_lines(headers: &[(&str, &str)]) -> Result<String, UnsafeHeader> {
    let mut lines = String::new();
    for (name, value) in headers {
        let name_ok = !name.is_empty() && name.bytes().all(is_token_byte);
        let value_ok = !value.chars().any(|c| c.is_control() && c != '\t');
        if !name_ok || !value_ok {
            return Err(UnsafeHeader {
                name: name.to_string(),
            });
        }
        lines.push_str(name);
        lines.push(':');
        lines.push_str(value);
        lines.push('\n');
    }
    Ok(lines)
}

/// RFC 9110 `tchar`.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_that_could_end_a_line_are_not_safe() {
        let cases = [
            ("ord-1001", true),
            ("820982911946154508", true),
            ("Bestellung 7 / ü", true),
            ("1\nset-cookie:sid=evil", false),
            ("1\r\nset-cookie:sid=evil", false),
            ("1\rx", false),
            ("a\u{0}b", false),
            ("tab\there", false),
            ("del\u{7f}", false),
            ("c1\u{85}next-line", false),
            ("", false),
            ("   ", false),
        ];
        for (id, ok) in cases {
            assert_eq!(safe_id(id, 128), ok, "{id:?}");
        }
        assert!(!safe_id(&"x".repeat(129), 128), "over the length limit");
    }

    #[test]
    fn ids_in_a_header_are_bytes_a_runtime_accepts_and_the_list_stays_unambiguous() {
        let ids = |v: &[&str]| id_list_header(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            ids(&["ord-1001", "820982911946154508"]),
            "ord-1001,820982911946154508"
        );
        assert_eq!(ids(&["注文-1"]), "%E6%B3%A8%E6%96%87-1");
        assert_eq!(ids(&["a,b", "50%", "ord 1"]), "a%2Cb,50%25,ord%201");
        assert_eq!(ids(&["1\u{2028}set-cookie:x"]), "1%E2%80%A8set-cookie:x");
        assert!(header_lines(&[("x-capi-event-id", &ids(&["1\r\nx", "é"]))]).is_ok());
    }

    #[test]
    fn header_lines_refuse_a_line_break_anywhere_rather_than_strip_it() {
        assert_eq!(
            header_lines(&[
                ("x-capi-event-id", "a,b"),
                ("set-cookie", "_fbp=fb.1.2.3; Path=/")
            ])
            .unwrap(),
            "x-capi-event-id:a,b\nset-cookie:_fbp=fb.1.2.3; Path=/\n"
        );
        for hostile in [
            "1\nset-cookie:sid=evil",
            "1\r\nset-cookie:sid=evil",
            "1\rset-cookie:sid=evil",
            "1\u{0}",
            "1\u{85}",
        ] {
            let err = header_lines(&[("content-type", "text/plain"), ("x-capi-event-id", hostile)])
                .unwrap_err();
            assert_eq!(err.name, "x-capi-event-id", "{hostile:?}");
        }
        for bad_name in ["", "x:y", "x y", "x\nset-cookie"] {
            assert!(header_lines(&[(bad_name, "v")]).is_err(), "{bad_name:?}");
        }
        assert!(
            header_lines(&[("authorization", "Bearer\tabc")]).is_ok(),
            "a tab is legal in a value"
        );
    }
}
