//! Date values for the `Date...` condition operators: the W3C profile of
//! ISO 8601 (`2020`, `2020-01`, `2020-01-01`, `2020-01-01T10:00Z`,
//! `2020-01-01T10:00:00.5+02:00`, ...; missing parts default to the start of
//! the period, a missing zone means UTC) or epoch seconds (`1577836800`).
//!
//! Values are nanoseconds since the Unix epoch.

const NANOS: i128 = 1_000_000_000;

/// Parses a policy or context date. A value containing `T` or `-` is
/// ISO 8601, anything else epoch seconds (optionally with a fraction).
pub(crate) fn parse(s: &str) -> Option<i128> {
    if s.is_empty() {
        return None;
    }
    if s.contains(['t', 'T', '-']) {
        parse_iso(s)
    } else {
        parse_epoch(s)
    }
}

fn digits(s: &str) -> Option<i64> {
    if s.is_empty() || s.len() > 18 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn fraction_nanos(s: &str) -> Option<i128> {
    if s.is_empty() || s.len() > 9 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut n: i128 = s.parse().ok()?;
    for _ in s.len()..9 {
        n *= 10;
    }
    Some(n)
}

fn parse_epoch(s: &str) -> Option<i128> {
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    let secs = i128::from(digits(int)?);
    let frac = match frac {
        Some(f) => fraction_nanos(f)?,
        None => 0,
    };
    Some(secs * NANOS + frac)
}

fn parse_iso(s: &str) -> Option<i128> {
    let (date, time) = match s.find(['t', 'T']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let (negative, date) = match date.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, date),
    };
    let mut parts = date.split('-');
    let year = digits(parts.next()?)?;
    let year = if negative { -year } else { year };
    let month = match parts.next() {
        Some(m) => digits(m)?,
        None => 1,
    };
    let day = match parts.next() {
        Some(d) => digits(d)?,
        None => 1,
    };
    if parts.next().is_some() || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    if !(-292_275_054..=292_278_993).contains(&year) {
        return None;
    }
    let mut secs = i128::from(days_from_civil(year, month, day)) * 86_400;
    let mut nanos = 0i128;
    if let Some(time) = time.filter(|t| !t.is_empty()) {
        let (clock, offset) = split_zone(time)?;
        let mut fields = clock.split(':');
        let hour = match fields.next() {
            Some(h) if !h.is_empty() => digits(h)?,
            _ => 0,
        };
        let minute = match fields.next() {
            Some(m) => digits(m)?,
            None => 0,
        };
        let second = match fields.next() {
            Some(sec) => {
                let (whole, frac) = match sec.split_once('.') {
                    Some((w, f)) => (w, Some(f)),
                    None => (sec, None),
                };
                if let Some(f) = frac {
                    nanos = fraction_nanos(f)?;
                }
                digits(whole)?
            }
            None => 0,
        };
        if fields.next().is_some() || hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        secs += i128::from(hour * 3600 + minute * 60 + second) - i128::from(offset);
    }
    Some(secs * NANOS + nanos)
}

/// Splits `hh:mm:ss[.f](Z|±hh[:mm]|±hhmm)?` into the clock and the zone
/// offset in seconds east of UTC.
fn split_zone(time: &str) -> Option<(&str, i64)> {
    if let Some(clock) = time.strip_suffix(['Z', 'z']) {
        return Some((clock, 0));
    }
    let Some(i) = time.find(['+', '-']) else {
        return Some((time, 0));
    };
    let sign = if time[i..].starts_with('-') { -1 } else { 1 };
    let zone = &time[i + 1..];
    let (h, m) = match zone.split_once(':') {
        Some((h, m)) => (h, m),
        None if zone.len() == 4 => (&zone[..2], &zone[2..]),
        None => (zone, "00"),
    };
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m) = (digits(h)?, digits(m)?);
    if h > 23 || m > 59 {
        return None;
    }
    Some((&time[..i], sign * (h * 3600 + m * 60)))
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `YYYY-MM-DDTHH:MM:SS[.fffffffff]Z`.
pub(crate) fn format_iso(ns: i128) -> String {
    let secs = ns.div_euclid(NANOS);
    let frac = ns.rem_euclid(NANOS);
    let days = i64::try_from(secs.div_euclid(86_400)).unwrap_or(0);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let (hh, mm, ss) = (rem / 3600, rem % 3600 / 60, rem % 60);
    if frac == 0 {
        format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
    } else {
        format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{frac:09}Z")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn secs(s: &str) -> Option<i128> {
        parse(s).map(|n| n / NANOS)
    }

    #[test]
    fn iso_forms() {
        assert_eq!(secs("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(secs("2020-01-01T00:00:00Z"), Some(1_577_836_800));
        assert_eq!(secs("2020-01-01"), Some(1_577_836_800));
        assert_eq!(secs("2020-01"), Some(1_577_836_800));
        assert_eq!(secs("2020-01-01T02:00:00+02:00"), Some(1_577_836_800));
        assert_eq!(secs("2019-12-31T22:00-02:00"), Some(1_577_836_800));
        assert_eq!(secs("2020-01-01t00:00:00z"), Some(1_577_836_800));
        assert_eq!(secs("2020-01-01T00:00:00.5Z"), Some(1_577_836_800));
        assert_eq!(
            parse("2020-01-01T00:00:00.5Z"),
            Some(1_577_836_800 * NANOS + 500_000_000)
        );
        assert_eq!(
            secs("2016-12-13T21:20:37.593194+00:00"),
            Some(1_481_664_037)
        );
        assert!(parse("2016-12-13t2:00:00.593194+23").is_some());
        assert!(parse("2016-12-13t2:00:00.593194+1").is_none());
        assert!(parse("2016-12-13t2:00:00.1999999999+10:59").is_none());
        assert!(parse("234-13").is_none());
        assert!(parse("sdfdsf").is_none());
        assert!(parse("01T").is_some());
    }

    #[test]
    fn epoch_forms() {
        assert_eq!(secs("1577836800"), Some(1_577_836_800));
        assert_eq!(parse("1.25"), Some(1_250_000_000));
        assert!(parse("9223372036854775808").is_none());
        assert!(parse("").is_none());
    }

    #[test]
    fn round_trip() {
        for s in [
            "2020-02-29T12:34:56Z",
            "1999-12-31T23:59:59Z",
            "1970-01-01T00:00:00Z",
        ] {
            assert_eq!(format_iso(parse(s).unwrap()), s);
        }
        assert_eq!(format_iso(-NANOS), "1969-12-31T23:59:59Z");
    }
}
