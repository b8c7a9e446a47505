//! Rust functions that JIT-compiled code calls for the operations too
//! awkward to inline: decimal multiplication and division, which need `i128`
//! intermediates and half-to-even rounding.
//!
//! Every helper is `extern "C"` and can never panic: a panic unwinding out
//! of an `extern "C"` function aborts the process. The clippy lints below
//! reject any arithmetic, indexing or unwrapping that could panic, so the
//! arithmetic is done with checked operations that report a status code.

#![deny(
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used
)]

use stagecraft_ir::decimal::SCALE;
use stagecraft_ir::value::STATUS_VALUE;
use stagecraft_ir::EvalError;

use crate::code::RawValue;

/// Signature of a fallible binary helper: `(a, b) -> (payload, status)`,
/// the payload 0 unless the status is [`STATUS_VALUE`].
pub(crate) type BinaryHelper = extern "C" fn(i64, i64) -> RawValue;

/// A helper and the symbol it is registered under in the JIT module.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Helper {
    pub(crate) symbol: &'static str,
    pub(crate) address: *const u8,
}

/// Every helper, for registration with the JIT builder.
pub(crate) fn all() -> [Helper; 4] {
    [
        Helper {
            symbol: DECIMAL_MUL,
            address: decimal_mul as BinaryHelper as *const u8,
        },
        Helper {
            symbol: DECIMAL_DIV,
            address: decimal_div as BinaryHelper as *const u8,
        },
        Helper {
            symbol: DECIMAL_DIV_INT,
            address: decimal_div_int as BinaryHelper as *const u8,
        },
        Helper {
            symbol: DECIMAL_ROUND,
            address: decimal_round as extern "C" fn(i64) -> i64 as *const u8,
        },
    ]
}

pub(crate) const DECIMAL_MUL: &str = "stagecraft_decimal_mul";
pub(crate) const DECIMAL_DIV: &str = "stagecraft_decimal_div";
pub(crate) const DECIMAL_DIV_INT: &str = "stagecraft_decimal_div_int";
pub(crate) const DECIMAL_ROUND: &str = "stagecraft_decimal_round";

/// Decimal × decimal, rounded half to even.
extern "C" fn decimal_mul(a: i64, b: i64) -> RawValue {
    // |a·b| < 2^126, so the i128 product cannot overflow; checked anyway.
    let result = i128::from(a)
        .checked_mul(i128::from(b))
        .ok_or(EvalError::Overflow)
        .and_then(|product| div_round_half_even(product, i128::from(SCALE)));
    raw(result)
}

/// Decimal ÷ decimal, rounded half to even.
extern "C" fn decimal_div(a: i64, b: i64) -> RawValue {
    let result = i128::from(a)
        .checked_mul(i128::from(SCALE))
        .ok_or(EvalError::Overflow)
        .and_then(|scaled| div_round_half_even(scaled, i128::from(b)));
    raw(result)
}

/// Decimal ÷ int, rounded half to even.
extern "C" fn decimal_div_int(a: i64, b: i64) -> RawValue {
    raw(div_round_half_even(i128::from(a), i128::from(b)))
}

/// Rounds a decimal to a whole number, half to even. Cannot fail: dividing
/// by `SCALE` only shrinks the magnitude.
extern "C" fn decimal_round(a: i64) -> i64 {
    div_round_half_even(i128::from(a), i128::from(SCALE)).unwrap_or(0)
}

fn raw(result: Result<i64, EvalError>) -> RawValue {
    match result {
        Ok(payload) => RawValue {
            payload,
            status: STATUS_VALUE,
        },
        Err(error) => RawValue {
            payload: 0,
            status: error.code(),
        },
    }
}

/// `numerator / denominator` rounded half to even, as the interpreter's
/// `decimal` module does, with every step checked.
fn div_round_half_even(numerator: i128, denominator: i128) -> Result<i64, EvalError> {
    if denominator == 0 {
        return Err(EvalError::DivisionByZero);
    }
    let quotient = numerator
        .checked_div(denominator)
        .ok_or(EvalError::Overflow)?;
    let remainder = numerator
        .checked_rem(denominator)
        .ok_or(EvalError::Overflow)?;
    let twice_remainder = remainder
        .checked_abs()
        .and_then(|r| r.checked_mul(2))
        .ok_or(EvalError::Overflow)?;
    let magnitude = denominator.checked_abs().ok_or(EvalError::Overflow)?;
    let round_away = twice_remainder > magnitude
        || (twice_remainder == magnitude && quotient.checked_rem(2) != Some(0));
    let rounded = if !round_away {
        Some(quotient)
    } else if (numerator < 0) != (denominator < 0) {
        quotient.checked_sub(1)
    } else {
        quotient.checked_add(1)
    };
    rounded
        .and_then(|r| i64::try_from(r).ok())
        .ok_or(EvalError::Overflow)
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;
    use stagecraft_ir::decimal;
    use stagecraft_ir::value::Value;

    const EDGES: [i64; 13] = [
        i64::MIN,
        i64::MIN + 1,
        -SCALE * 3 / 2,
        -SCALE,
        -SCALE / 2,
        -3,
        -1,
        0,
        1,
        3,
        SCALE / 2,
        SCALE * 5 / 2,
        i64::MAX,
    ];

    fn call(helper: BinaryHelper, a: i64, b: i64) -> Value {
        let RawValue { payload, status } = helper(a, b);
        Value::decode(status, payload)
    }

    fn expected(result: Result<i64, EvalError>) -> Value {
        result.map_or_else(Value::Err, Value::Val)
    }

    #[test]
    fn helpers_agree_with_the_interpreter_on_edge_values() {
        for a in EDGES {
            for b in EDGES {
                assert_eq!(
                    call(decimal_mul, a, b),
                    expected(decimal::mul(a, b)),
                    "mul {a} {b}"
                );
                assert_eq!(
                    call(decimal_div, a, b),
                    expected(decimal::div(a, b)),
                    "div {a} {b}"
                );
                assert_eq!(
                    call(decimal_div_int, a, b),
                    expected(decimal::div_int(a, b)),
                    "div_int {a} {b}"
                );
            }
            assert_eq!(decimal_round(a), decimal::round(a), "round {a}");
        }
    }
}
