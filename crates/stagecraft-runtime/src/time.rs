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

/// Days before each month (1 to 12) in a year that starts in March, as
/// `days_from_civil` counts: (153 * ((month + 9) % 12) + 2) / 5.
const DAYS_BEFORE_MONTH_FROM_MARCH: [u32; 13] =
    [0, 306, 337, 0, 31, 61, 92, 122, 153, 184, 214, 245, 275];

const DAYS_IN_MONTH: [u32; 13] = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/// Days since 1970-01-01 of a valid proleptic Gregorian date in the years 0
/// to 9999 (Howard Hinnant's `days_from_civil`); cheaper than building a
/// chrono date on every input line.
fn days_from_civil(year: u32, month: u32, day: u32) -> Option<i64> {
    let month_days = *DAYS_IN_MONTH.get(month as usize).filter(|&&d| d > 0)?;
    if day == 0 || day > month_days {
        return None;
    }
    // The table allows 29 February in every year.
    if month == 2 && day == 29 && !(year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) {
        return None;
    }
    // A year that starts in March puts the leap day last. One 400-year era
    // (146,097 days) is added so that year 0's January stays unsigned.
    let shifted_year = year + 400 - u32::from(month <= 2);
    let days = shifted_year * 365 + shifted_year / 4 - shifted_year / 100
        + shifted_year / 400
        + DAYS_BEFORE_MONTH_FROM_MARCH[month as usize]
        + day
        - 1;
    Some(i64::from(days) - 719_468 - 146_097)
}

/// What eight bytes, read as a little-endian word, must look like: built
/// from a pattern where `0` stands for any ASCII digit, `T` for `T` or `t`,
/// and any other byte for itself.
struct Shape {
    mask: u64,
    expected: u64,
    digit_sixes: u64,
    digit_high_nibbles: u64,
}

impl Shape {
    const fn of(pattern: &[u8; 8]) -> Shape {
        let mut shape = Shape {
            mask: 0,
            expected: 0,
            digit_sixes: 0,
            digit_high_nibbles: 0,
        };
        let mut i = 0;
        while i < 8 {
            let shift = 8 * i;
            let (mask, expected) = match pattern[i] {
                b'0' => (0xf0, b'0'),
                b'T' => (0xdf, b'T'),
                other => (0xff, other),
            };
            shape.mask |= (mask as u64) << shift;
            shape.expected |= (expected as u64) << shift;
            if pattern[i] == b'0' {
                shape.digit_sixes |= 0x06 << shift;
                shape.digit_high_nibbles |= 0xf0 << shift;
            }
            i += 1;
        }
        shape
    }

    /// Whether `word` has this shape. A digit's high nibble is 3, and stays
    /// 3 when 6 is added (at most `9`); once the first test holds, adding 6
    /// carries into no other byte.
    #[inline]
    fn matches(&self, word: u64) -> bool {
        word & self.mask == self.expected
            && word.wrapping_add(self.digit_sixes) & self.digit_high_nibbles
                == self.expected & self.digit_high_nibbles
    }
}

const DATE: Shape = Shape::of(b"0000-00-");
const DAY_HOUR_MINUTE: Shape = Shape::of(b"00T00:00");
const SECOND_MILLIS: Shape = Shape::of(b":00.000Z");

/// The two-digit numbers starting at each byte of a word of checked digits:
/// byte `i` becomes 10 × digit `i` + digit `i + 1` (at most 165 where a
/// separator follows, so no byte carries into the next).
#[inline]
fn two_digit_numbers(word: u64) -> u64 {
    let digits = word & 0x0f0f_0f0f_0f0f_0f0f;
    digits * 10 + (digits >> 8)
}

#[inline]
fn byte(word: u64, at: u32) -> u32 {
    (word >> (8 * at)) as u32 & 0xff
}

fn word(bytes: &[u8; 8]) -> u64 {
    u64::from_le_bytes(*bytes)
}

/// `YYYY-MM-DDTHH:MM` (`T` or `t`) as minutes since the epoch, the digits
/// checked and read eight bytes at a time.
fn date_time_minutes(b: &[u8; 16]) -> Option<i64> {
    let date = word(b.first_chunk()?);
    let day_hour_minute = word(b.last_chunk()?);
    if !(DATE.matches(date) && DAY_HOUR_MINUTE.matches(day_hour_minute)) {
        return None;
    }
    let date = two_digit_numbers(date);
    let day_hour_minute = two_digit_numbers(day_hour_minute);
    let (hour, minute) = (byte(day_hour_minute, 3), byte(day_hour_minute, 6));
    if hour > 23 || minute > 59 {
        return None;
    }
    let year = byte(date, 0) * 100 + byte(date, 2);
    let days = days_from_civil(year, byte(date, 5), byte(day_hour_minute, 0))?;
    Some(days * 1_440 + i64::from(hour * 60 + minute))
}

/// The date and minute of the last timestamp [`fast_utc_cached`] read, and
/// its minutes since the epoch: in a stream most timestamps share their
/// minute with the one before, and reading the date is most of the work.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MinuteCache {
    date_time: [u8; 16],
    minutes: i64,
}

impl Default for MinuteCache {
    fn default() -> Self {
        MinuteCache {
            date_time: *b"1970-01-01T00:00",
            minutes: 0,
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.f]Z`, the fraction of one to nine digits. What it
/// accepts is ASCII digits and `-:.TtZ` only, so the ingest scanner may try
/// it on the bytes of a JSON string before it finds the string's end.
pub(crate) fn fast_utc(b: &[u8]) -> Option<i64> {
    fast_utc_cached(b, &mut MinuteCache::default())
}

/// [`fast_utc`], taking the date and minute from `cache` when they are the
/// cached ones, and caching them otherwise.
#[inline]
pub(crate) fn fast_utc_cached(b: &[u8], cache: &mut MinuteCache) -> Option<i64> {
    let (date_time, rest) = b.split_first_chunk::<16>()?;
    let millis_of_minute = if let Ok(second_millis) = <&[u8; 8]>::try_from(rest) {
        // The usual `:SS.mmmZ`, checked and read as one word.
        let second_millis = word(second_millis);
        if !SECOND_MILLIS.matches(second_millis) {
            return None;
        }
        let numbers = two_digit_numbers(second_millis);
        let millis = byte(numbers, 4) * 10 + (byte(second_millis, 6) & 0xf);
        byte(numbers, 1) * 1_000 + millis
    } else {
        let [b':', tens, ones, ref fraction @ .., b'Z'] = *rest else {
            return None;
        };
        let (tens, ones) = (tens.wrapping_sub(b'0'), ones.wrapping_sub(b'0'));
        if tens > 9 || ones > 9 {
            return None;
        }
        let millis = match *fraction {
            [] => 0,
            [b'.', ref frac @ ..] if !frac.is_empty() && frac.len() <= 9 => {
                let mut ms = digits(&frac[..frac.len().min(3)])?;
                for _ in frac.len()..3 {
                    ms *= 10;
                }
                digits(frac)?;
                ms
            }
            _ => return None,
        };
        u32::from(tens * 10 + ones) * 1_000 + u32::try_from(millis).ok()?
    };
    if millis_of_minute >= 60_000 {
        return None;
    }
    if *date_time != cache.date_time {
        *cache = MinuteCache {
            date_time: *date_time,
            minutes: date_time_minutes(date_time)?,
        };
    }
    Some(cache.minutes * MILLIS_PER_MINUTE + i64::from(millis_of_minute))
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
            0, 1, 4, 100, 400, 1600, 1899, 1900, 1969, 1970, 2000, 2024, 2026, 2100, 9996, 9999,
        ] {
            for month in 0..=13 {
                for day in 0..=32 {
                    let chrono = NaiveDate::from_ymd_opt(year as i32, month, day)
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

    use proptest::prelude::*;

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

    /// chrono's reading, which the fast path must match.
    fn chrono_millis(text: &str) -> Option<i64> {
        DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|t| t.timestamp_millis())
    }

    #[test]
    fn the_fast_path_agrees_with_chrono_at_the_edges() {
        for text in [
            "2024-02-29T00:00:00Z",
            "2000-02-29T23:59:59.999Z",
            "2100-02-29T00:00:00Z",
            "1900-02-29T00:00:00.000Z",
            "0000-02-29T00:00:00Z",
            "0000-01-01T00:00:00.000Z",
            "0001-02-28T12:00:00Z",
            "9999-12-31T23:59:59.999Z",
            "1969-12-31T23:59:59.999Z",
            "2026-01-12T11:12:12.081Z",
            "2026-04-31T00:00:00Z",
            "2026-00-10T00:00:00Z",
            "2026-13-10T00:00:00Z",
            "2026-01-00T00:00:00Z",
            "2026-01-32T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01T23:60:00Z",
            "2026-01-01T23:59:60Z",
            "2026-01-01T23:59:60.999Z",
            "2026-01-01T00:00:00.Z",
            "2026-01-01T00:00:00.1Z",
            "2026-01-01T00:00:00.12Z",
            "2026-01-01T00:00:00.1239Z",
            "2026-01-01T00:00:00.123456789Z",
            "2026-01-01T00:00:00.1234567890Z",
            "2026-01-01t00:00:00.000Z",
            "2026-01-01T00:00:00.000z",
            "2026-01-01 00:00:00Z",
            "2026-01-01V00:00:00.000Z",
            "2026-01-01\u{14}00:00:00.000Z",
            "2026-01-01T00:00:00.000+00:00",
            "2026-01-01T00:00:00.000-05:30",
            "2026-1-01T00:00:00Z",
            "+2026-01-01T00:00:00Z",
            "2026/01/01T00:00:00Z",
            "2026-01-01T00-00-00Z",
            "2026-01-01T00:00:0aZ",
            "2026-01-01T00:00:00.0a0Z",
            "2026-01-01T00:00:00.:00Z",
            "2026-01-01T00:00:00.0:0Z",
            "2026-01-01T00:00:00.00:Z",
            "2026-01-01T00:00:00.00/Z",
            "2026-01-01T0:00:00.000Z",
            "2026-01-0:T00:00:00Z",
            "2026-01-01T00:00:00",
            "\u{ff12}026-01-01T00:00:00Z",
        ] {
            assert_eq!(parse_rfc3339(text), chrono_millis(text), "{text}");
        }
        for usual in ["2026-01-12T11:12:12.081Z", "2026-01-12T11:12:12Z"] {
            assert!(fast_utc(usual.as_bytes()).is_some(), "{usual}");
            assert_eq!(fast_utc(usual.as_bytes()), chrono_millis(usual));
        }
    }

    /// Timestamps of the usual shape with every field in and past its
    /// range, other fractions, zones and separators.
    fn stamp() -> impl Strategy<Value = String> {
        let fraction = prop_oneof![
            2 => (0u32..1000).prop_map(|ms| format!(".{ms:03}")),
            1 => Just(String::new()),
            1 => "\\.[0-9]{0,10}",
        ];
        let zone = prop_oneof![
            8 => Just("Z"),
            1 => Just("z"),
            1 => Just("+00:00"),
            1 => Just("-05:30"),
        ];
        let separator = prop_oneof![8 => Just('T'), 1 => Just('t'), 1 => Just(' ')];
        (
            (0u32..=9999, 0u32..=13, 0u32..=32),
            (0u32..=25, 0u32..=61, 0u32..=61),
            fraction,
            zone,
            separator,
        )
            .prop_map(|((y, mo, d), (h, mi, s), fraction, zone, separator)| {
                format!("{y:04}-{mo:02}-{d:02}{separator}{h:02}:{mi:02}:{s:02}{fraction}{zone}")
            })
    }

    proptest! {
        #[test]
        fn parses_as_chrono_does(text in stamp()) {
            prop_assert_eq!(parse_rfc3339(&text), chrono_millis(&text));
        }

        #[test]
        fn parses_edited_stamps_as_chrono_does(
            text in stamp(),
            edits in prop::collection::vec(
                (any::<prop::sample::Index>(), prop::sample::select(b"09/:-.+TZa \x7f".to_vec())),
                1..3,
            ),
        ) {
            let mut bytes = text.into_bytes();
            for (at, byte) in edits {
                let at = at.index(bytes.len());
                bytes[at] = byte;
            }
            let text = String::from_utf8(bytes).expect("ASCII");
            prop_assert_eq!(parse_rfc3339(&text), chrono_millis(&text));
        }

        #[test]
        fn a_cached_minute_reads_as_a_fresh_one(
            stamps in prop::collection::vec((stamp(), prop::sample::select(vec![0, 11, 16])), 1..20),
        ) {
            let mut cache = MinuteCache::default();
            let mut previous = String::new();
            for (text, shared) in stamps {
                // Most stamps share their date, or their minute, with the
                // one before.
                let text = match (previous.get(..shared), text.get(shared..)) {
                    (Some(start), Some(rest)) => format!("{start}{rest}"),
                    _ => text,
                };
                let cached = fast_utc_cached(text.as_bytes(), &mut cache);
                prop_assert_eq!(cached, fast_utc(text.as_bytes()), "{}", text);
                previous = text;
            }
        }
    }

    #[test]
    fn the_empty_cache_holds_the_epoch() {
        let mut cache = MinuteCache::default();
        let at = |text: &str, cache: &mut MinuteCache| fast_utc_cached(text.as_bytes(), cache);
        assert_eq!(at("1970-01-01T00:00:05.000Z", &mut cache), Some(5_000));
        assert_eq!(at("1970-01-01T00:01:05.000Z", &mut cache), Some(65_000));
        assert_eq!(at("1970-01-01T00:01:60.000Z", &mut cache), None);
        assert_eq!(at("1970-01-01T00:61:05.000Z", &mut cache), None);
        assert_eq!(at("1970-01-01T00:01:06.000Z", &mut cache), Some(66_000));
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
