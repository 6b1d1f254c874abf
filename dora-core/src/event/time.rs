//! Instants as microseconds since the Unix epoch, and a strict RFC 3339 parser.

use chrono::{DateTime, NaiveDateTime, Utc};

/// An instant, in microseconds since 1970-01-01T00:00:00Z.
pub type Micros = i64;

/// Microseconds in one second.
pub const MICROS_PER_SECOND: i64 = 1_000_000;

/// Converts a chrono time to microseconds.
pub fn to_micros(t: &DateTime<Utc>) -> Micros {
    t.timestamp_micros()
}

/// Converts microseconds back to a chrono time (always in range for values
/// this crate produced).
pub fn from_micros(t: Micros) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Why a time string was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeError {
    /// A date and time without `Z` or `±HH:MM`.
    NoOffset,
    /// Not an RFC 3339 time at all.
    Malformed,
    /// Outside the years the engine handles (microseconds in an i64).
    OutOfRange,
}

impl TimeError {
    /// A user-facing explanation.
    pub fn describe(self, text: &str) -> String {
        match self {
            TimeError::NoOffset => format!(
                "time {text:?} has no UTC offset (RFC 3339 needs `Z` or `±HH:MM`, e.g. 2026-03-02T14:05:00Z)"
            ),
            TimeError::Malformed => {
                format!("{text:?} is not an RFC 3339 time (e.g. 2026-03-02T14:05:00Z)")
            }
            TimeError::OutOfRange => format!("time {text:?} is out of range"),
        }
    }
}

fn digits<const N: usize>(b: &[u8], at: usize) -> Option<u32> {
    let mut v = 0u32;
    for i in 0..N {
        let d = b.get(at + i)?.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + d as u32;
    }
    Some(v)
}

const fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

/// The first year of [`YEAR_STARTS`].
const TABLE_FROM: i64 = 1970;

/// Days from 1970-01-01 to January 1st of each year from [`TABLE_FROM`],
/// for 200 years (one more entry ends the last year).
const YEAR_STARTS: [i32; 201] = {
    let mut table = [0i32; 201];
    let mut i = 1;
    while i < table.len() {
        let year = TABLE_FROM + i as i64 - 1;
        table[i] = table[i - 1] + if is_leap(year) { 366 } else { 365 };
        i += 1;
    }
    table
};

/// Days before the first of each month in a common year.
const MONTH_STARTS: [u16; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];

/// Days from 1970-01-01 to a proleptic Gregorian date: from tables for
/// 1970 to 2169 (every time parsed is there in practice), by H. Hinnant's
/// algorithm otherwise.
#[inline]
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let year = usize::try_from(y - TABLE_FROM).ok().and_then(|i| YEAR_STARTS.get(i..i + 2));
    if let Some(&[start, next]) = year {
        let leap_day = i64::from(m > 2 && next - start == 366);
        return i64::from(start) + i64::from(MONTH_STARTS[(m - 1) as usize % 12]) + leap_day + i64::from(d)
            - 1;
    }
    days_from_civil_hinnant(y, m, d)
}

/// Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil_hinnant(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DDTHH:MM:SS` (a valid date and time of day): seconds since the
/// epoch, as if in UTC.
#[inline]
fn civil_seconds(b: &[u8; 19]) -> Option<i64> {
    let (date, time) = civil_fields(b)?;
    let [year, month, day] = date;
    let [hour, minute, second] = time;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(i64::from(year), month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    Some(
        days_from_civil(i64::from(year), month, day) * 86_400 + i64::from(hour * 3600 + minute * 60 + second),
    )
}

/// The digits of `YYYY-MM-DDTHH:MM:SS` as numbers (year, month, day; hour,
/// minute, second), unchecked beyond being digits and separators: eight
/// bytes at a time (the plain reading, byte by byte, is
/// [`tests::civil_fields_bytewise`]).
#[inline]
fn civil_fields(b: &[u8; 19]) -> Option<([u32; 3], [u32; 3])> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    // The separators' places and bytes in `YYYY-MM-` and `DDTHH:MM`.
    const SEP0: (u64, u64) = (0xff00_00ff_0000_0000, 0x2d00_002d_0000_0000);
    const SEP1: (u64, u64) = (0x0000_ff00_00ff_0000, 0x0000_3a00_0054_0000);
    let word = |at: usize, (mask, seps): (u64, u64)| -> Option<u64> {
        let w = u64::from_le_bytes(b[at..at + 8].try_into().ok()?);
        if w & mask != seps {
            return None;
        }
        // Separators read as `0`; then every byte must be a digit: its
        // high nibble 3, and still 3 after adding 6 (so at most `9`).
        let w = (w & !mask) | ((ONES * u64::from(b'0')) & mask);
        let high = ONES * 0xf0;
        if (w & high) | ((w.wrapping_add(ONES * 6) & high) >> 4) != ONES * 0x33 {
            return None;
        }
        // Each byte k: ten times digit k plus digit k + 1.
        let d = w - ONES * u64::from(b'0');
        Some(d * 10 + (d >> 8))
    };
    let (pairs0, pairs1) = (word(0, SEP0)?, word(8, SEP1)?);
    let pair = |w: u64, k: u32| ((w >> (8 * k)) & 0xff) as u32;
    let d = |i: usize| u32::from(b[i].wrapping_sub(b'0'));
    if b[16] != b':' || d(17) > 9 || d(18) > 9 {
        return None;
    }
    let date = [pair(pairs0, 0) * 100 + pair(pairs0, 2), pair(pairs0, 5), pair(pairs1, 0)];
    Some((date, [pair(pairs1, 3), pair(pairs1, 6), d(17) * 10 + d(18)]))
}

/// The common layout `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` at the
/// start of `b`, without allocating: the instant and how many bytes it
/// took. `None` means "not this layout here".
#[inline]
pub(crate) fn parse_fast_prefix(b: &[u8]) -> Option<(Micros, usize)> {
    let secs = civil_seconds(b.first_chunk::<19>()?)?;
    let mut i = 19;
    let mut micros = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        let mut scale = 100_000i64;
        while let Some(&c) = b.get(i) {
            if !c.is_ascii_digit() {
                break;
            }
            micros += (c - b'0') as i64 * scale;
            scale /= 10;
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    let (offset_seconds, end) = match *b.get(i)? {
        b'Z' => (0i64, i + 1),
        sign @ (b'+' | b'-') if b.get(i + 3) == Some(&b':') => {
            let oh = digits::<2>(b, i + 1)?;
            let om = digits::<2>(b, i + 4)?;
            if oh > 23 || om > 59 {
                return None;
            }
            let o = (oh * 3600 + om * 60) as i64;
            (if sign == b'-' { -o } else { o }, i + 6)
        }
        _ => return None,
    };
    Some(((secs - offset_seconds) * MICROS_PER_SECOND + micros, end))
}

/// [`parse_fast_prefix`] over the whole of `s`.
fn parse_fast(s: &str) -> Option<Micros> {
    parse_fast_prefix(s.as_bytes()).filter(|&(_, n)| n == s.len()).map(|(t, _)| t)
}

/// Parses an RFC 3339 time with an offset into microseconds since the epoch.
///
/// Fractions finer than a microsecond are truncated.
pub fn parse_rfc3339(s: &str) -> Result<Micros, TimeError> {
    if let Some(t) = parse_fast(s) {
        return Ok(t);
    }
    match DateTime::parse_from_rfc3339(s) {
        Ok(t) => {
            let t = t.with_timezone(&Utc);
            let secs = t.timestamp();
            secs.checked_mul(MICROS_PER_SECOND)
                .and_then(|m| m.checked_add(i64::from(t.timestamp_subsec_micros())))
                .ok_or(TimeError::OutOfRange)
        }
        Err(_) => {
            let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f"))
                .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M"));
            if naive.is_ok() { Err(TimeError::NoOffset) } else { Err(TimeError::Malformed) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chrono_micros(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp_micros()
    }

    /// The plain reading of [`civil_fields`], byte by byte.
    pub(super) fn civil_fields_bytewise(b: &[u8; 19]) -> Option<([u32; 3], [u32; 3])> {
        if b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
            return None;
        }
        let d = |i: usize| u32::from(b[i].wrapping_sub(b'0'));
        if [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18].iter().any(|&i| d(i) > 9) {
            return None;
        }
        let two = |i: usize| d(i) * 10 + d(i + 1);
        Some(([two(0) * 100 + two(2), two(5), two(8)], [two(11), two(14), two(17)]))
    }

    #[test]
    fn civil_fields_agree_with_the_bytewise_reading() {
        let base = *b"2026-03-02T14:05:59";
        assert_eq!(civil_fields(&base), Some(([2026, 3, 2], [14, 5, 59])));
        // Every byte of the layout replaced by every byte value.
        for at in 0..19 {
            for byte in 0..=255u8 {
                let mut b = base;
                b[at] = byte;
                assert_eq!(civil_fields(&b), civil_fields_bytewise(&b), "{:?}", String::from_utf8_lossy(&b));
            }
        }
        // Every digit in every place, and pairs of odd bytes.
        for at in 0..19 {
            for other in 0..19 {
                for (x, y) in [(b'9', b'0'), (b'/', b':'), (0xfa, b'9'), (0xff, 0xff), (b'0' - 1, b'9' + 1)] {
                    let mut b = base;
                    b[at] = x;
                    b[other] = y;
                    assert_eq!(
                        civil_fields(&b),
                        civil_fields_bytewise(&b),
                        "{:?}",
                        String::from_utf8_lossy(&b)
                    );
                }
            }
        }
    }

    #[test]
    fn day_tables_agree_with_the_algorithm() {
        for y in 1960..2200 {
            for m in 1..=12 {
                for d in 1..=days_in_month(y, m) {
                    assert_eq!(days_from_civil(y, m, d), days_from_civil_hinnant(y, m, d), "{y}-{m}-{d}");
                }
            }
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2026, 3, 2), 20_514);
    }

    #[test]
    fn fast_path_agrees_with_chrono() {
        for s in [
            "2026-03-02T14:05:00Z",
            "2026-03-02T15:05:00+01:00",
            "2026-03-01T23:05:00-05:30",
            "2024-02-29T00:00:00.5Z",
            "1969-12-31T23:59:59.999999Z",
            "2026-03-02T14:05:00.123456789+00:00",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
        ] {
            assert_eq!(parse_fast(s), Some(chrono_micros(s)), "{s}");
            assert_eq!(parse_rfc3339(s), Ok(chrono_micros(s)), "{s}");
        }
    }

    #[test]
    fn the_fast_layout_agrees_with_the_general_parser() {
        let mut checked = 0;
        for y in ["0000", "0001", "1969", "1970", "2024", "2026", "2100", "2169", "2170", "9999"] {
            for m in ["00", "01", "02", "09", "12", "13"] {
                for d in ["00", "01", "28", "29", "30", "31", "32"] {
                    for hms in ["00:00:00", "23:59:59", "24:00:00", "12:60:00", "12:00:60", "07:3a:00"] {
                        for zone in
                            ["Z", "+05:30", "-05:00", "+00:00", ".000Z", ".5-01:00", "+24:00", "+01:60"]
                        {
                            let s = format!("{y}-{m}-{d}T{hms}{zone}");
                            // As it stands in a line: the closing quote after it.
                            let quoted = format!("{s}\",");
                            match (parse_fast_prefix(quoted.as_bytes()), parse_rfc3339(&s)) {
                                (Some((t, n)), general) => {
                                    assert_eq!(n, s.len(), "{s}");
                                    assert_eq!(Ok(t), general, "{s}");
                                }
                                // Left to the general parser: chrono's leap seconds.
                                (None, general) => assert!(general.is_err() || hms.ends_with(":60"), "{s}"),
                            }
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert_eq!(checked, 10 * 6 * 7 * 6 * 8);
        for s in [
            "2026-03-02T14:05:00+0",
            "2026-03-02t14:05:00Z",
            "2026-03-02 14:05:00Z",
            "2026-03-02T14:05:00z",
            "2026-03-02T14:05:00.",
        ] {
            assert_eq!(parse_fast_prefix(s.as_bytes()), None, "{s}");
        }
    }

    #[test]
    fn general_forms_fall_back_to_chrono() {
        assert_eq!(parse_rfc3339("2026-03-02t14:05:00z"), Ok(chrono_micros("2026-03-02T14:05:00Z")));
        assert_eq!(parse_rfc3339("2026-03-02 14:05:00Z"), Ok(chrono_micros("2026-03-02T14:05:00Z")));
    }

    #[test]
    fn refuses_what_is_not_an_instant() {
        assert_eq!(parse_rfc3339("2026-03-02T14:05:00"), Err(TimeError::NoOffset));
        assert_eq!(parse_rfc3339("2026-03-02 14:05:00"), Err(TimeError::NoOffset));
        assert_eq!(parse_rfc3339("2026-02-30T14:05:00Z"), Err(TimeError::Malformed));
        assert_eq!(parse_rfc3339("2026-03-02"), Err(TimeError::Malformed));
        assert_eq!(parse_rfc3339("yesterday"), Err(TimeError::Malformed));
        assert_eq!(parse_rfc3339("2026-03-02T24:00:00Z"), Err(TimeError::Malformed));
        assert_eq!(parse_rfc3339(""), Err(TimeError::Malformed));
    }
}
