//! Exact decimal numbers as fixed-point integers.
//!
//! A `decimal` (or `money`) value is an `i64` counting millionths: `12.50` is
//! `12_500_000`. Addition, subtraction and comparison are exact integer
//! operations; multiplication and division round half to even at the sixth
//! decimal place. Overflow is an error, never a wrap.

use crate::value::EvalError;

/// Fractional digits of a decimal.
pub const SCALE_DIGITS: u32 = 6;
/// `10^SCALE_DIGITS`.
pub const SCALE: i64 = 1_000_000;

/// Parses `-12.5` or `3` exactly; `None` when it has more than six
/// fractional digits or does not fit.
pub fn parse(text: &str) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() || frac.len() > SCALE_DIGITS as usize {
        return None;
    }
    if !whole.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let frac_scaled: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<6}").parse().ok()?
    };
    let magnitude = whole.checked_mul(SCALE)?.checked_add(frac_scaled)?;
    Some(if negative { -magnitude } else { magnitude })
}

/// Renders with the fewest digits that are exact: `12.5`, `3`, `-0.000001`.
pub fn format(value: i64) -> String {
    let negative = value < 0;
    let magnitude = value.unsigned_abs();
    let whole = magnitude / SCALE as u64;
    let frac = magnitude % SCALE as u64;
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    out.push_str(&whole.to_string());
    if frac != 0 {
        let digits = format!("{frac:06}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
    out
}

/// Converts an `f64` read from JSON; `None` if it is not exactly a decimal
/// with at most six fractional digits within range.
pub fn from_json_number(text: &str) -> Option<i64> {
    if text.contains(['e', 'E']) {
        return None;
    }
    parse(text)
}

/// `numerator / denominator` rounded half to even.
fn div_round_half_even(numerator: i128, denominator: i128) -> Result<i64, EvalError> {
    if denominator == 0 {
        return Err(EvalError::DivisionByZero);
    }
    let quotient = numerator / denominator;
    let remainder = numerator % denominator;
    let twice = remainder.abs() * 2;
    let den = denominator.abs();
    let away = twice > den || (twice == den && quotient % 2 != 0);
    let result = if away {
        if (numerator < 0) != (denominator < 0) {
            quotient - 1
        } else {
            quotient + 1
        }
    } else {
        quotient
    };
    i64::try_from(result).map_err(|_| EvalError::Overflow)
}

/// Decimal × decimal.
pub fn mul(a: i64, b: i64) -> Result<i64, EvalError> {
    div_round_half_even(i128::from(a) * i128::from(b), i128::from(SCALE))
}

/// Decimal ÷ decimal.
pub fn div(a: i64, b: i64) -> Result<i64, EvalError> {
    div_round_half_even(i128::from(a) * i128::from(SCALE), i128::from(b))
}

/// Decimal ÷ int.
pub fn div_int(a: i64, b: i64) -> Result<i64, EvalError> {
    div_round_half_even(i128::from(a), i128::from(b))
}

/// Rounds a decimal to the nearest whole number, half to even.
pub fn round(a: i64) -> i64 {
    // Cannot fail: dividing by SCALE only shrinks the magnitude.
    div_round_half_even(i128::from(a), i128::from(SCALE)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_format_round_trip() {
        for text in ["0", "12.5", "-3.000001", "9223372036854.775807"] {
            let value = parse(text).expect(text);
            assert_eq!(format(value), text);
        }
        assert_eq!(parse("1.0000001"), None);
        assert_eq!(parse("9223372036855"), None);
        assert_eq!(parse("1e3"), None);
    }

    #[test]
    fn multiplication_rounds_half_to_even() {
        // 0.000001 * 0.5 = 0.0000005 -> 0 (even), 0.000003 * 0.5 -> 0.000002
        assert_eq!(mul(1, 500_000), Ok(0));
        assert_eq!(mul(3, 500_000), Ok(2));
        assert_eq!(mul(-3, 500_000), Ok(-2));
        assert_eq!(
            mul(parse("19.99").unwrap_or(0), parse("3").unwrap_or(0)),
            Ok(59_970_000)
        );
    }

    #[test]
    fn division_by_zero_and_overflow_are_errors() {
        assert_eq!(div(SCALE, 0), Err(EvalError::DivisionByZero));
        assert_eq!(mul(i64::MAX, 2 * SCALE), Err(EvalError::Overflow));
        assert_eq!(div(SCALE, 3 * SCALE), Ok(333_333));
    }
}
