//! Timestamps: the ISO-8601 basic format of `X-Amz-Date` and the IMF-fixdate of `Date`.

use std::time::{SystemTime, UNIX_EPOCH};

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// First second of year 0000 and last second of year 9999, the range both formats can express.
const MIN_UNIX: i64 = -62_167_219_200;
const MAX_UNIX: i64 = 253_402_300_799;

/// Seconds since the Unix epoch (negative before it), clamped to years 0000..=9999.
pub(crate) fn unix_seconds(t: SystemTime) -> i64 {
    let secs = match t.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => {
            let d = before.duration();
            // Round towards the past so that whole seconds stay whole.
            let whole = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            if d.subsec_nanos() > 0 {
                whole.saturating_add(1).saturating_neg()
            } else {
                whole.saturating_neg()
            }
        }
    };
    secs.clamp(MIN_UNIX, MAX_UNIX)
}

/// Formats Unix seconds as `YYYYMMDDTHHMMSSZ` (clamped to years 0000..=9999).
pub(crate) fn format_amz_date(unix: i64) -> String {
    let unix = unix.clamp(MIN_UNIX, MAX_UNIX);
    match OffsetDateTime::from_unix_timestamp(unix) {
        Ok(t) => format!(
            "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        // Unreachable after the clamp; a fixed value keeps this function total.
        Err(_) => "00000101T000000Z".to_string(),
    }
}

/// Parses `YYYYMMDDTHHMMSSZ` (exactly) into Unix seconds.
pub(crate) fn parse_amz_date(value: &str) -> Option<i64> {
    let b = value.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let year = digits(&b[0..4])?;
    let month = digits(&b[4..6])?;
    let day = digits(&b[6..8])?;
    let hour = digits(&b[9..11])?;
    let minute = digits(&b[11..13])?;
    let second = digits(&b[13..15])?;
    to_unix(year, month, day, hour, minute, second)
}

/// Parses an HTTP date in the preferred IMF-fixdate form, `Sun, 30 Aug 2015 12:36:00 GMT`,
/// into Unix seconds. The weekday is required but not checked against the date.
pub(crate) fn parse_http_date(value: &str) -> Option<i64> {
    let mut parts = value.split_ascii_whitespace();
    let weekday = parts.next()?;
    let day = parts.next()?;
    let month = parts.next()?;
    let year = parts.next()?;
    let clock = parts.next()?;
    let zone = parts.next()?;
    if parts.next().is_some()
        || zone != "GMT"
        || weekday.len() != 4
        || !weekday.ends_with(',')
        || day.len() != 2
        || year.len() != 4
    {
        return None;
    }
    let month = match month {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let c = clock.as_bytes();
    if c.len() != 8 || c[2] != b':' || c[5] != b':' {
        return None;
    }
    to_unix(
        digits(year.as_bytes())?,
        month,
        digits(day.as_bytes())?,
        digits(&c[0..2])?,
        digits(&c[3..5])?,
        digits(&c[6..8])?,
    )
}

fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |acc, &d| {
        d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0'))
    })
}

fn to_unix(year: u32, month: u32, day: u32, hour: u32, minute: u32, second: u32) -> Option<i64> {
    let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
    let date =
        Date::from_calendar_date(i32::try_from(year).ok()?, month, u8::try_from(day).ok()?).ok()?;
    let time = Time::from_hms(
        u8::try_from(hour).ok()?,
        u8::try_from(minute).ok()?,
        u8::try_from(second).ok()?,
    )
    .ok()?;
    Some(
        PrimitiveDateTime::new(date, time)
            .assume_utc()
            .unix_timestamp(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn amz_date_round_trip() {
        let t = parse_amz_date("20150830T123600Z");
        assert_eq!(t, Some(1_440_938_160));
        assert_eq!(format_amz_date(1_440_938_160), "20150830T123600Z");
        assert_eq!(format_amz_date(0), "19700101T000000Z");
        assert_eq!(parse_amz_date("20240229T235959Z"), Some(1_709_251_199));
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
        for bad in [
            "Sun, 30 Aug 2015 12:36:00 UTC",
            "Sunday, 30-Aug-15 12:36:00 GMT",
            "Sun Aug 30 12:36:00 2015",
            "Sun, 30 Aug 2015 12:36:00 GMT extra",
            "Sun, 31 Feb 2015 12:36:00 GMT",
            "Sun, 30 Aug 2015 12:36 GMT",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn system_time_conversion() {
        let t = UNIX_EPOCH + Duration::from_millis(1_440_938_160_900);
        assert_eq!(unix_seconds(t), 1_440_938_160);
        let before = UNIX_EPOCH - Duration::from_millis(1_500);
        assert_eq!(unix_seconds(before), -2);
        assert_eq!(unix_seconds(UNIX_EPOCH - Duration::from_secs(3)), -3);
        assert_eq!(format_amz_date(i64::MAX), "99991231T235959Z");
        assert_eq!(format_amz_date(i64::MIN), "00000101T000000Z");
    }
}
