//! Event times from the forms senders use: unix seconds or milliseconds, and ISO 8601 / RFC 3339 text with or
//! without an offset (Shopify's `2026-11-25T14:28:02-05:00`, WooCommerce's `date_created_gmt`,
//! `2026-11-25T19:28:02`, which is UTC with no offset written). The platforms attribute by event time, so an
//! order must carry its own time, not the time its webhook arrived.

/// An hour and a day, in milliseconds (counters are kept per UTC hour since 1970).
pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 24 * HOUR_MS;

use serde_json::Value;

/// A time in unix milliseconds. Numbers (or numeric text) are seconds, or milliseconds above 10^11, as in the hit.
/// Text without an offset is taken as UTC.
pub fn parse_ms(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => from_number(n.as_f64()?),
        Value::String(s) => {
            let s = s.trim();
            if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
                return from_number(crate::base::number::parse_f64(s)?);
            }
            parse_iso(s)
        }
        _ => None,
    }
}

fn from_number(t: f64) -> Option<i64> {
    if !t.is_finite() || t <= 0.0 {
        return None;
    }
    Some(if t > 1e11 {
        t as i64
    } else {
        (t * 1000.0) as i64
    })
}

/// `YYYY-MM-DD[(T| )hh:mm[:ss[.fff]]][Z|±hh:mm|±hhmm]`.
fn parse_iso(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = b.get(from..from + len)?;
        part.iter()
            .all(u8::is_ascii_digit)
            .then(|| part.iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0')))
    };
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let mut ms = days_from_civil(year, month, day) * 86_400_000;
    let mut i = 10;
    if matches!(b.get(i), Some(b'T' | b't' | b' ')) {
        let (hour, minute) = (num(i + 1, 2)?, num(i + 4, 2)?);
        if b.get(i + 3) != Some(&b':') || hour > 23 || minute > 59 {
            return None;
        }
        ms += (hour * 3600 + minute * 60) * 1000;
        i += 6;
        if b.get(i) == Some(&b':') {
            let second = num(i + 1, 2)?;
            if second > 60 {
                return None;
            }
            ms += second.min(59) * 1000;
            i += 3;
            if matches!(b.get(i), Some(b'.' | b',')) {
                let digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
                if digits == 0 {
                    return None;
                }
                let frac = &s[i + 1..i + 1 + digits.min(3)];
                ms += frac.parse::<i64>().ok()? * 10i64.pow(3 - frac.len() as u32);
                i += 1 + digits;
            }
        }
    }
    let offset_ms = match &s[i..] {
        "" | "Z" | "z" => 0,
        rest => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let hm = rest[1..].replace(':', "");
            if hm.len() != 4 || !hm.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let (h, m): (i64, i64) = (hm[..2].parse().ok()?, hm[2..].parse().ok()?);
            if h > 23 || m > 59 {
                return None;
            }
            sign * (h * 3600 + m * 60) * 1000
        }
    };
    Some(ms - offset_ms)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn times_in_the_forms_shops_send() {
        // Expected values from `date -u -d <time> +%s%3N`.
        let cases: Vec<(Value, Option<i64>)> = vec![
            // Shopify's order webhook: local time with its offset (shopify.dev, Order resource).
            (json!("2026-11-25T14:28:02-05:00"), Some(1_795_634_882_000)),
            (json!("2026-11-25T19:28:02Z"), Some(1_795_634_882_000)),
            (
                json!("2026-11-25T19:28:02.250+00:00"),
                Some(1_795_634_882_250),
            ),
            (json!("2026-11-26T04:58:02+0930"), Some(1_795_634_882_000)),
            // WooCommerce's date_created_gmt: UTC, no offset written (woocommerce.github.io/woocommerce-rest-api-docs).
            (json!("2026-11-25T19:28:02"), Some(1_795_634_882_000)),
            (json!("2026-11-25 19:28:02"), Some(1_795_634_882_000)),
            (json!("2026-11-25"), Some(1_795_564_800_000)),
            (json!("2000-02-29T00:00:00Z"), Some(951_782_400_000)),
            (json!(1_795_634_882), Some(1_795_634_882_000)),
            (json!(1_795_634_882_123_i64), Some(1_795_634_882_123)),
            (json!("1795634882"), Some(1_795_634_882_000)),
            (json!(1_795_634_882.5), Some(1_795_634_882_500)),
            (json!("2026-02-29T00:00:00Z"), None),
            (json!("2026-13-01"), None),
            (json!("2026-11-25T25:00:00Z"), None),
            (json!("2026-11-25T19:28:02+5"), None),
            (json!("2026-11-25T19:28:02 EST"), None),
            (json!("yesterday"), None),
            (json!(""), None),
            (json!(-5), None),
            (json!(null), None),
            (json!({"t": 1}), None),
            (json!("２０２６-11-25"), None),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_ms(&input), expected, "{input}");
        }
    }
}

/// A unix time in ms as its UTC calendar parts: (year, month, day, hour, minute, second, millisecond).
pub fn utc_parts(ms: i64) -> (i64, u32, u32, u32, u32, u32, u32) {
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, rest) = (in_day / 3_600_000, in_day % 3_600_000);
    let (mi, rest) = (rest / 60_000, rest % 60_000);
    (
        year,
        month,
        day,
        h as u32,
        mi as u32,
        (rest / 1000) as u32,
        (rest % 1000) as u32,
    )
}

/// `2026-08-22T12:34:56.789Z`: ISO 8601 in UTC with milliseconds.
pub fn iso8601_ms(ms: i64) -> String {
    let (y, mo, d, h, mi, s, milli) = utc_parts(ms);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z")
}

#[cfg(test)]
mod calendar_tests {
    use super::*;

    #[test]
    fn unix_times_become_their_utc_calendar_dates() {
        assert_eq!(iso8601_ms(0), "1970-01-01T00:00:00.000Z");
        // 2026-01-01T00:00:00Z, and a leap day with milliseconds.
        assert_eq!(iso8601_ms(1_767_225_600_000), "2026-01-01T00:00:00.000Z");
        assert_eq!(iso8601_ms(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(iso8601_ms(1_787_402_096_789), "2026-08-22T12:34:56.789Z");
        assert_eq!(iso8601_ms(-1), "1969-12-31T23:59:59.999Z");
    }
}
