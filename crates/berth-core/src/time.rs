//! Time: instants as counts since the Unix epoch, and the text forms AWS writes and reads.
//!
//! Every conversion berth makes between a [`SystemTime`], a count of seconds and a date's text
//! lives here, on the `time` crate:
//!
//! - [`epoch_secs`], [`unix_secs`], [`epoch_nanos`]: a [`SystemTime`] as a count.
//! - [`start_of_day`], [`add_days`]: whole UTC days on Unix seconds.
//! - [`iso8601`] / [`parse_iso8601`]: `2026-11-29T01:02:03Z`, the Query APIs' timestamps.
//! - [`iso8601_nanos`]: the same with nine digits of fraction when there is one, the text of a
//!   date in an IAM policy condition.
//! - [`amz_date`] / [`parse_amz_date`]: `20150830T123600Z`, SigV4's `X-Amz-Date`.
//! - [`parse_http_date`]: `Sun, 30 Aug 2015 12:36:00 GMT`, the HTTP `Date` header.
//! - [`parse_policy_date`]: a value of IAM's `Date…` condition operators.
//!
//! The `time` crate's dates reach from year -9999 to 9999; IAM policy dates reach much further
//! (AWS accepts a year of -292275054). The Gregorian calendar repeats every 400 years, so the
//! forms that need more range place an instant within its 400-year era for the `time` crate and
//! count the eras apart.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use time::format_description::BorrowedFormatItem;
use time::macros::{date, format_description};
use time::{Date, Duration, Month, PrimitiveDateTime, Time, UtcDateTime, UtcOffset};

/// Nanoseconds in a second.
pub const NANOS_PER_SEC: i128 = 1_000_000_000;

/// Years after which the Gregorian calendar repeats, and the seconds they last.
const ERA_YEARS: i128 = 400;
const ERA_SECS: i128 = 146_097 * SECS_PER_DAY as i128;

/// First and last second that a four-digit year can write: 0000-01-01 and 9999-12-31.
const MIN_FOUR_DIGIT: i64 =
    UtcDateTime::new(date!(0000 - 01 - 01), Time::MIDNIGHT).unix_timestamp();
const MAX_FOUR_DIGIT: i64 = UtcDateTime::new(date!(9999 - 12 - 31), Time::MAX).unix_timestamp();

const ISO8601: &[BorrowedFormatItem<'_>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
const AMZ_DATE: &[BorrowedFormatItem<'_>] =
    format_description!("[year][month][day]T[hour][minute][second]Z");
/// IMF-fixdate; the weekday must be there but is not checked against the date.
const HTTP_DATE: &[BorrowedFormatItem<'_>] = format_description!(
    "[ignore count:3], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
);

/// Whole seconds since the Unix epoch; 0 for an instant before it.
pub fn epoch_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Seconds since the Unix epoch with their fraction (ECS's timestamps); 0 before it.
pub fn epoch_secs_f64(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Whole seconds since the Unix epoch now, on the system clock.
pub fn now_secs() -> u64 {
    epoch_secs(SystemTime::now())
}

/// Whole seconds since the Unix epoch, negative before it and rounded towards the past (1.5 s
/// before the epoch is -2), saturating at the ends of `i64`.
pub fn unix_secs(t: SystemTime) -> i64 {
    let secs = epoch_nanos(t).div_euclid(NANOS_PER_SEC);
    i64::try_from(secs).unwrap_or(if secs < 0 { i64::MIN } else { i64::MAX })
}

/// Nanoseconds since the Unix epoch, negative before it.
pub fn epoch_nanos(t: SystemTime) -> i128 {
    // A `Duration` holds at most 2^64 seconds, about 1.8e28 ns: well inside `i128`.
    match t.duration_since(UNIX_EPOCH) {
        Ok(after) => i128::try_from(after.as_nanos()).unwrap_or(i128::MAX),
        Err(before) => -i128::try_from(before.duration().as_nanos()).unwrap_or(i128::MAX),
    }
}

/// Seconds in a day: Unix time has no leap seconds.
pub const SECS_PER_DAY: u64 = 86_400;

/// The first second of the UTC day that holds `secs`.
pub fn start_of_day(secs: u64) -> u64 {
    secs - secs % SECS_PER_DAY
}

/// `days` whole days after `secs` (saturating).
pub fn add_days(secs: u64, days: u64) -> u64 {
    secs.saturating_add(days.saturating_mul(SECS_PER_DAY))
}

/// `2026-11-29T01:02:03Z` for Unix seconds, as the Query APIs write timestamps.
pub fn iso8601(secs: u64) -> String {
    iso(i128::from(secs), 0)
}

/// Parses what [`iso8601`] writes (exactly: four-digit year, upper-case `T` and `Z`) into Unix
/// seconds; `None` for anything else or an instant before the epoch.
pub fn parse_iso8601(text: &str) -> Option<u64> {
    let t = PrimitiveDateTime::parse(text, ISO8601).ok()?;
    u64::try_from(t.assume_utc().unix_timestamp()).ok()
}

/// `2020-01-01T00:00:00Z` for nanoseconds since the epoch, or `2020-01-01T00:00:00.500000000Z`
/// (nine digits) when the instant is not a whole second: how a date condition value reads
/// as text.
pub fn iso8601_nanos(nanos: i128) -> String {
    let frac = u32::try_from(nanos.rem_euclid(NANOS_PER_SEC)).unwrap_or(0);
    iso(nanos.div_euclid(NANOS_PER_SEC), frac)
}

fn iso(secs: i128, frac_nanos: u32) -> String {
    let (year, t) = civil(secs);
    let mut out = format!(
        "{year:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    if frac_nanos != 0 {
        let _ = write!(out, ".{frac_nanos:09}");
    }
    out.push('Z');
    out
}

/// The year of `secs` since the epoch (UTC), and the instant at the same place of the calendar
/// within 1970..=2369 for its month, day and clock.
fn civil(secs: i128) -> (i128, UtcDateTime) {
    let era = secs.div_euclid(ERA_SECS);
    // Within 0..ERA_SECS, i.e. 1970..=2369: always a `UtcDateTime`.
    let within = i64::try_from(secs.rem_euclid(ERA_SECS))
        .ok()
        .and_then(|s| UtcDateTime::from_unix_timestamp(s).ok())
        .unwrap_or(UtcDateTime::UNIX_EPOCH);
    (i128::from(within.year()) + era * ERA_YEARS, within)
}

/// `20150830T123600Z` (ISO 8601 basic, SigV4's `X-Amz-Date`) for Unix seconds, clamped to
/// years 0000..=9999.
pub fn amz_date(secs: i64) -> String {
    let (year, t) = civil(i128::from(secs.clamp(MIN_FOUR_DIGIT, MAX_FOUR_DIGIT)));
    format!(
        "{year:04}{:02}{:02}T{:02}{:02}{:02}Z",
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Parses `YYYYMMDDTHHMMSSZ` (exactly) into Unix seconds.
pub fn parse_amz_date(text: &str) -> Option<i64> {
    // Sixteen bytes leave no room for a sign in front of the year.
    if text.len() != 16 {
        return None;
    }
    let t = PrimitiveDateTime::parse(text, AMZ_DATE).ok()?;
    Some(t.assume_utc().unix_timestamp())
}

/// Parses an HTTP date in the preferred IMF-fixdate form, `Sun, 30 Aug 2015 12:36:00 GMT`,
/// into Unix seconds. The weekday is required but not checked against the date; runs of
/// white space between the parts count as one space.
pub fn parse_http_date(text: &str) -> Option<i64> {
    let text = text.split_ascii_whitespace().collect::<Vec<_>>().join(" ");
    let t = PrimitiveDateTime::parse(&text, HTTP_DATE).ok()?;
    Some(t.assume_utc().unix_timestamp())
}

/// Parses a value of IAM's `Date…` condition operators into nanoseconds since the epoch.
///
/// A value containing `T` or `-` is the W3C profile of ISO 8601 (`2020`, `2020-01`,
/// `2020-01-01`, `2020-01-01T10:00Z`, `2020-01-01T10:00:00.5+02:00`, …; missing parts default
/// to the start of the period, a missing zone means UTC, `t` and `z` may be lower case), as
/// leniently as AWS reads it: any number of year digits, one-digit hours, a day up to 31 in any
/// month (running on into the next) and second 60. Anything else is epoch seconds, optionally
/// with a fraction (`1577836800`, `1.25`).
pub fn parse_policy_date(text: &str) -> Option<i128> {
    if text.is_empty() {
        return None;
    }
    if text.contains(['t', 'T', '-']) {
        parse_w3c(text)
    } else {
        parse_epoch(text)
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
    let n: i128 = s.parse().ok()?;
    Some(n * 10i128.pow(9 - s.len() as u32))
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
    Some(secs * NANOS_PER_SEC + frac)
}

fn parse_w3c(s: &str) -> Option<i128> {
    let (date, clock) = match s.find(['t', 'T']) {
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
    if parts.next().is_some() || !(1..=31).contains(&day) {
        return None;
    }
    // The range of Java's millisecond dates, which AWS's policy engine reads into.
    if !(-292_275_054..=292_278_993).contains(&year) {
        return None;
    }
    let mut hms = (0, 0, 0);
    let mut frac = 0;
    let mut offset = 0;
    if let Some(clock) = clock.filter(|c| !c.is_empty()) {
        let (clock, zone) = split_zone(clock)?;
        offset = zone;
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
                let (whole, f) = match sec.split_once('.') {
                    Some((w, f)) => (w, Some(f)),
                    None => (sec, None),
                };
                if let Some(f) = f {
                    frac = fraction_nanos(f)?;
                }
                digits(whole)?
            }
            None => 0,
        };
        if fields.next().is_some() || second > 60 {
            return None;
        }
        hms = (hour, minute, second);
    }
    let secs = calendar_secs(year, month, day, hms, offset)?;
    Some(secs * NANOS_PER_SEC + frac)
}

/// Splits `hh:mm:ss[.f](Z|±hh[:mm]|±hhmm)?` into the clock and the zone offset in seconds east
/// of UTC.
fn split_zone(clock: &str) -> Option<(&str, i32)> {
    if let Some(rest) = clock.strip_suffix(['Z', 'z']) {
        return Some((rest, 0));
    }
    let Some(i) = clock.find(['+', '-']) else {
        return Some((clock, 0));
    };
    let sign = if clock[i..].starts_with('-') { -1 } else { 1 };
    let zone = &clock[i + 1..];
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
    Some((&clock[..i], sign * i32::try_from(h * 3600 + m * 60).ok()?))
}

/// Unix seconds of a calendar date and clock at `offset` seconds east of UTC, for any year.
/// A day past the month's end runs on into the next month, second 60 into the next minute.
fn calendar_secs(
    year: i64,
    month: i64,
    day: i64,
    (hour, minute, second): (i64, i64, i64),
    offset: i32,
) -> Option<i128> {
    // The same date in the era 2000..=2399, which the `time` crate can hold.
    let era = (i128::from(year) - 2000).div_euclid(ERA_YEARS);
    let year_in_era = i32::try_from(i128::from(year) - era * ERA_YEARS).ok()?;
    let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
    let date = Date::from_calendar_date(year_in_era, month, 1)
        .ok()?
        .checked_add(Duration::days(day - 1))?;
    let leap = second == 60;
    let clock = Time::from_hms(
        u8::try_from(hour).ok()?,
        u8::try_from(minute).ok()?,
        u8::try_from(if leap { 59 } else { second }).ok()?,
    )
    .ok()?;
    let offset = UtcOffset::from_whole_seconds(offset).ok()?;
    let secs = PrimitiveDateTime::new(date, clock)
        .assume_offset(offset)
        .unix_timestamp();
    Some(i128::from(secs) + i128::from(leap) + era * ERA_SECS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration as StdDuration;

    fn secs(s: &str) -> Option<i128> {
        parse_policy_date(s).map(|n| n.div_euclid(NANOS_PER_SEC))
    }

    #[test]
    fn known_instants() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso8601(1_795_914_123), "2026-11-29T01:02:03Z");
        assert_eq!(iso8601(4_107_542_400), "2100-03-01T00:00:00Z");
        assert_eq!(iso8601(253_402_300_799), "9999-12-31T23:59:59Z");
        assert_eq!(iso8601(253_402_300_800), "10000-01-01T00:00:00Z");
        assert_eq!(iso8601(u64::MAX), "584554051223-11-09T07:00:15Z");
    }

    #[test]
    fn iso8601_parses_back() {
        for secs in [
            0,
            951_782_400,
            1_795_914_123,
            4_107_542_400,
            253_402_300_799,
        ] {
            assert_eq!(parse_iso8601(&iso8601(secs)), Some(secs));
        }
        for bad in [
            "",
            "2015-08-30T12:36:00",
            "2015-08-30t12:36:00Z",
            "2015-08-30T12:36:00.5Z",
            "2015-02-30T12:36:00Z",
            "1969-12-31T23:59:59Z",
        ] {
            assert_eq!(parse_iso8601(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn system_time_counts() {
        let t = UNIX_EPOCH + StdDuration::from_millis(1_440_938_160_900);
        assert_eq!(epoch_secs(t), 1_440_938_160);
        assert_eq!(unix_secs(t), 1_440_938_160);
        assert_eq!(epoch_nanos(t), 1_440_938_160_900_000_000);
        let before = UNIX_EPOCH - StdDuration::from_millis(1_500);
        assert_eq!(epoch_secs(before), 0);
        assert_eq!(unix_secs(before), -2);
        assert_eq!(epoch_nanos(before), -1_500_000_000);
        assert_eq!(unix_secs(UNIX_EPOCH - StdDuration::from_secs(3)), -3);
        assert_eq!(epoch_secs(UNIX_EPOCH), 0);
    }

    #[test]
    fn whole_days() {
        assert_eq!(start_of_day(1_795_914_123), 1_795_910_400);
        assert_eq!(iso8601(start_of_day(1_795_914_123)), "2026-11-29T00:00:00Z");
        assert_eq!(start_of_day(86_400), 86_400);
        assert_eq!(add_days(100, 30), 100 + 30 * 86_400);
        assert_eq!(add_days(u64::MAX - 1, 1), u64::MAX);
    }

    #[test]
    fn amz_date_round_trip() {
        assert_eq!(parse_amz_date("20150830T123600Z"), Some(1_440_938_160));
        assert_eq!(amz_date(1_440_938_160), "20150830T123600Z");
        assert_eq!(amz_date(0), "19700101T000000Z");
        assert_eq!(parse_amz_date("20240229T235959Z"), Some(1_709_251_199));
        assert_eq!(amz_date(i64::MAX), "99991231T235959Z");
        assert_eq!(amz_date(i64::MIN), "00000101T000000Z");
        assert_eq!(parse_amz_date("99991231T235959Z"), Some(MAX_FOUR_DIGIT));
        assert_eq!(parse_amz_date("00000101T000000Z"), Some(MIN_FOUR_DIGIT));
    }

    #[test]
    fn amz_date_rejects_bad_values() {
        for bad in [
            "",
            "20150830",
            "20150830T123600",
            "20150830T123600z",
            "20150830 123600Z",
            "2015083OT123600Z",
            "20150230T123600Z",
            "20151301T000000Z",
            "20150830T246000Z",
            "20150830T123660Z",
            "+2015830T123600Z",
            "+20150830T123600Z",
            "-20150830T123600Z",
            "20150830T12360\u{e9}",
        ] {
            assert_eq!(parse_amz_date(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn http_dates() {
        assert_eq!(
            parse_http_date("Sun, 30 Aug 2015 12:36:00 GMT"),
            Some(1_440_938_160)
        );
        // The weekday is not checked; white space runs count as one space.
        assert_eq!(
            parse_http_date(" Mon,  30 Aug 2015\t12:36:00 GMT "),
            Some(1_440_938_160)
        );
        for bad in [
            "Sun, 30 Aug 2015 12:36:00 UTC",
            "Sunday, 30-Aug-15 12:36:00 GMT",
            "Sun Aug 30 12:36:00 2015",
            "Sun, 30 Aug 2015 12:36:00 GMT extra",
            "Sun, 31 Feb 2015 12:36:00 GMT",
            "Sun, 30 Aug 2015 12:36 GMT",
            "Sun, 30 aug 2015 12:36:00 GMT",
            "Sun, 3 Aug 2015 12:36:00 GMT",
            "Sun, 30 Aug +015 12:36:00 GMT",
            "Sun, 30 Aug 2015 12:36:60 GMT",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn policy_iso_forms() {
        assert_eq!(secs("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(secs("2020-01-01T00:00:00Z"), Some(1_577_836_800));
        assert_eq!(secs("2020-01-01"), Some(1_577_836_800));
        assert_eq!(secs("2020-01"), Some(1_577_836_800));
        assert_eq!(secs("2020-01-01T02:00:00+02:00"), Some(1_577_836_800));
        assert_eq!(secs("2019-12-31T22:00-02:00"), Some(1_577_836_800));
        assert_eq!(secs("2019-12-31T22:00-0200"), Some(1_577_836_800));
        assert_eq!(secs("2020-01-01t00:00:00z"), Some(1_577_836_800));
        assert_eq!(secs("2020-01-01T00:00:00.5Z"), Some(1_577_836_800));
        assert_eq!(
            parse_policy_date("2020-01-01T00:00:00.5Z"),
            Some(1_577_836_800 * NANOS_PER_SEC + 500_000_000)
        );
        assert_eq!(
            secs("2016-12-13T21:20:37.593194+00:00"),
            Some(1_481_664_037)
        );
        assert!(parse_policy_date("2016-12-13t2:00:00.593194+23").is_some());
        assert!(parse_policy_date("2016-12-13t2:00:00.593194+1").is_none());
        assert!(parse_policy_date("2016-12-13t2:00:00.1999999999+10:59").is_none());
        assert!(parse_policy_date("2016-12-13T24:00:00Z").is_none());
        assert!(parse_policy_date("2016-12-13T23:60:00Z").is_none());
        assert!(parse_policy_date("2016-12-13T23:59:61Z").is_none());
        assert!(parse_policy_date("2016-12-13T23:00:00+24:00").is_none());
        assert!(parse_policy_date("2016-12-32").is_none());
        assert!(parse_policy_date("2016-12-00").is_none());
        assert!(parse_policy_date("234-13").is_none());
        assert!(parse_policy_date("sdfdsf").is_none());
        assert!(parse_policy_date("").is_none());
        assert_eq!(secs("01T"), Some(-62_135_596_800));
    }

    #[test]
    fn policy_lenient_calendar() {
        // A day past the month's end runs on; second 60 is the next minute.
        assert_eq!(secs("2015-02-31"), secs("2015-03-03"));
        assert_eq!(secs("2016-02-30"), secs("2016-03-01"));
        assert_eq!(secs("2015-12-31T23:59:60Z"), secs("2016-01-01"));
        // Leap years across eras: 2000 and 2400 are leap years, 2100 and 1900 are not.
        assert_eq!(secs("2400-02-29"), Some(13_574_563_200));
        assert_eq!(secs("2100-02-29"), secs("2100-03-01"));
        assert_eq!(secs("1900-03-01"), Some(-2_203_891_200));
        // Java's range of dates, far beyond four-digit years.
        assert_eq!(secs("-292275054"), Some(-9_223_372_017_043_200));
        assert_eq!(secs("292278993-12-31"), Some(9_223_372_017_043_200));
        assert!(parse_policy_date("-292275055").is_none());
        assert!(parse_policy_date("292278994-01-01").is_none());
    }

    #[test]
    fn policy_epoch_forms() {
        assert_eq!(secs("1577836800"), Some(1_577_836_800));
        assert_eq!(parse_policy_date("1.25"), Some(1_250_000_000));
        assert!(parse_policy_date("9223372036854775808").is_none());
        assert!(parse_policy_date("1.").is_none());
        assert!(parse_policy_date("1.1234567890").is_none());
    }

    #[test]
    fn iso8601_nanos_forms() {
        for s in [
            "2020-02-29T12:34:56Z",
            "1999-12-31T23:59:59Z",
            "1970-01-01T00:00:00Z",
            "2400-02-29T00:00:00Z",
            "2020-01-01T00:00:00.500000000Z",
            "2020-01-01T00:00:00.000000001Z",
        ] {
            assert_eq!(parse_policy_date(s).map(iso8601_nanos).as_deref(), Some(s));
        }
        assert_eq!(iso8601_nanos(-NANOS_PER_SEC), "1969-12-31T23:59:59Z");
        assert_eq!(iso8601_nanos(-1), "1969-12-31T23:59:59.999999999Z");
        assert_eq!(
            iso8601_nanos(-62_135_596_800 * NANOS_PER_SEC),
            "0001-01-01T00:00:00Z"
        );
        assert_eq!(
            iso8601_nanos(-62_135_596_801 * NANOS_PER_SEC),
            "0000-12-31T23:59:59Z"
        );
        assert_eq!(
            iso8601_nanos(-62_167_219_201 * NANOS_PER_SEC),
            "-001-12-31T23:59:59Z"
        );
    }
}
