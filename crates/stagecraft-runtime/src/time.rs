//! Event time: parsing what SDKs send, formatting what we write, and quiet
//! hours in a subject's time zone. All times are milliseconds since the Unix
//! epoch, UTC.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Timelike};
use chrono_tz::Tz;

pub const MILLIS_PER_MINUTE: i64 = 60_000;
pub const MILLIS_PER_DAY: i64 = 86_400_000;

/// Parses an RFC 3339 timestamp with any offset. The common shape
/// `YYYY-MM-DDTHH:MM:SS[.fff]Z` takes a fast path.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    fast_utc(text.as_bytes()).or_else(|| {
        DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|t| t.timestamp_millis())
    })
}

fn digits(bytes: &[u8]) -> Option<i64> {
    let mut value = 0i64;
    for &b in bytes {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value * 10 + i64::from(b - b'0');
    }
    Some(value)
}

/// Days since 1970-01-01 of a valid proleptic Gregorian date (Howard
/// Hinnant's `days_from_civil`); cheaper than building a chrono date on
/// every input line.
fn days_from_civil(year: i64, month: i64, day: i64) -> Option<i64> {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => return None,
    };
    if !(1..=month_days).contains(&day) {
        return None;
    }
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    Some(era * 146_097 + day_of_era - 719_468)
}

fn fast_utc(b: &[u8]) -> Option<i64> {
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || (b[10] != b'T' && b[10] != b't')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    if *b.last()? != b'Z' {
        return None;
    }
    let year = digits(&b[0..4])?;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    let hour = digits(&b[11..13])?;
    let minute = digits(&b[14..16])?;
    let second = digits(&b[17..19])?;
    let rest = &b[19..b.len() - 1];
    let millis = match rest {
        [] => 0,
        [b'.', frac @ ..] if !frac.is_empty() && frac.len() <= 9 => {
            let mut ms = digits(&frac[..frac.len().min(3)])?;
            for _ in frac.len()..3 {
                ms *= 10;
            }
            digits(frac)?;
            ms
        }
        _ => return None,
    };
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let days = days_from_civil(year, month, day)?;
    Some(
        days * MILLIS_PER_DAY
            + hour * 3_600_000
            + minute * MILLIS_PER_MINUTE
            + second * 1_000
            + millis,
    )
}

/// `2026-01-01T00:00:00.000Z`: the one format outcomes use.
pub fn format(millis: i64) -> String {
    match DateTime::from_timestamp_millis(millis) {
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        None => millis.to_string(),
    }
}

/// Parses a `YYYY-MM-DD` date into days since the epoch.
pub fn parse_date(text: &str) -> Option<i64> {
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    Some(i64::from(date.num_days_from_ce()) - 719_163)
}

pub fn format_date(days: i64) -> String {
    DateTime::from_timestamp_millis(days.saturating_mul(MILLIS_PER_DAY))
        .map_or_else(|| days.to_string(), |t| t.format("%Y-%m-%d").to_string())
}

/// Renders a duration compactly: `2d3h`, `48h` is `2d`, `90s` is `1m30s`.
pub fn format_duration(millis: i64) -> String {
    if millis == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    if millis < 0 {
        out.push('-');
    }
    let mut rest = millis.unsigned_abs();
    for (unit, size) in [
        ("d", 86_400_000u64),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ] {
        if rest >= size {
            out.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    out
}

/// If `at` falls inside the quiet window `[start, end)` (minutes after local
/// midnight; the window may wrap past midnight) in `zone`, the UTC time the
/// window ends; otherwise `None`.
pub fn quiet_until(at: i64, start_minute: u32, end_minute: u32, zone: Tz) -> Option<i64> {
    let local = zone.timestamp_millis_opt(at).single()?;
    let minute = local.hour() * 60 + local.minute();
    let inside = if start_minute <= end_minute {
        minute >= start_minute && minute < end_minute
    } else {
        minute >= start_minute || minute < end_minute
    };
    if !inside {
        return None;
    }
    let mut day = local.date_naive();
    if start_minute > end_minute && minute >= start_minute {
        day = day.succ_opt()?;
    }
    let end = day.and_hms_opt(end_minute / 60, end_minute % 60, 0)?;
    // Where the end falls in a gap (DST), take the first valid instant after.
    let resolved = zone.from_local_datetime(&end).earliest().or_else(|| {
        zone.from_local_datetime(&(end + chrono::Duration::hours(1)))
            .earliest()
    })?;
    Some(resolved.timestamp_millis())
}

#[cfg(test)]
mod tests {
    #[test]
    fn days_from_civil_agrees_with_chrono() {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("date");
        for year in [
            0, 1, 1600, 1899, 1900, 1969, 1970, 2000, 2024, 2026, 2100, 9999,
        ] {
            for month in 0..=13 {
                for day in 0..=32 {
                    let chrono = NaiveDate::from_ymd_opt(year as i32, month as u32, day as u32)
                        .map(|d| (d - epoch).num_days());
                    assert_eq!(
                        super::days_from_civil(year, month, day),
                        chrono,
                        "{year}-{month}-{day}"
                    );
                }
            }
        }
    }

    use super::*;

    #[test]
    fn parses_utc_and_offsets_and_fractions() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("1970-01-01T00:00:01.5Z"), Some(1_500));
        assert_eq!(parse_rfc3339("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(
            parse_rfc3339("2026-01-01T00:00:00.000Z"),
            Some(1_767_225_600_000)
        );
        assert_eq!(parse_rfc3339("2026-02-30T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("yesterday"), None);
    }

    #[test]
    fn formats_round_trip() {
        let t = 1_767_225_600_123;
        assert_eq!(parse_rfc3339(&format(t)), Some(t));
        assert_eq!(format_duration(172_800_000), "2d");
        assert_eq!(format_duration(90_000), "1m30s");
    }

    #[test]
    fn quiet_hours_wrap_midnight_in_local_time() {
        let ny: Tz = "America/New_York".parse().expect("zone");
        // 2026-01-15T02:00:00Z is 21:00 in New York (UTC-5): quiet until 08:00 local = 13:00Z.
        let at = parse_rfc3339("2026-01-15T02:00:00Z").expect("time");
        let until = quiet_until(at, 20 * 60, 8 * 60, ny).expect("quiet");
        assert_eq!(format(until), "2026-01-15T13:00:00.000Z");
        // 14:00Z is 09:00 local: not quiet.
        let day = parse_rfc3339("2026-01-15T14:00:00Z").expect("time");
        assert_eq!(quiet_until(day, 20 * 60, 8 * 60, ny), None);
    }
}
