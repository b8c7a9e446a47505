//! The reference interpreter: evaluates an [`Expr`] over a frame.
//!
//! Semantics shared with the JIT, which is tested against this:
//! - `Missing` propagates through arithmetic, comparisons and calls;
//! - `and`/`or` are three-valued and absorb errors: `false and x` is false
//!   and `true or x` is true whatever `x` is, in either order;
//! - overflow and division by zero are errors, never wraps or panics.

use crate::decimal;
use crate::expr::{ArithOp, Builtin, Expr};
use crate::value::{EvalError, Value};

/// Values visible to an expression. `present[i]` is false when slot `i` is
/// missing.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    pub values: &'a [i64],
    pub present: &'a [u8],
    pub now: i64,
}

impl Frame<'_> {
    fn load(&self, slot: u32) -> Value {
        let i = slot as usize;
        match (self.values.get(i), self.present.get(i)) {
            (Some(v), Some(p)) if *p != 0 => Value::Val(*v),
            _ => Value::Missing,
        }
    }
}

const MILLIS_PER_DAY: i64 = 86_400_000;

pub fn eval(expr: &Expr, frame: &Frame) -> Value {
    match expr {
        Expr::Const(v) => Value::Val(*v),
        Expr::Load(slot) => frame.load(*slot),
        Expr::Now => Value::Val(frame.now),
        Expr::Neg(a) => map1(eval(a, frame), |x| {
            x.checked_neg().ok_or(EvalError::Overflow)
        }),
        Expr::Not(a) => map1(eval(a, frame), |x| Ok(i64::from(x == 0))),
        Expr::Arith(op, a, b) => {
            let (a, b) = (eval(a, frame), eval(b, frame));
            map2(a, b, |x, y| arith(*op, x, y))
        }
        Expr::Cmp(op, a, b) => {
            let (a, b) = (eval(a, frame), eval(b, frame));
            map2(a, b, |x, y| Ok(i64::from(op.apply(x, y))))
        }
        Expr::And(a, b) => {
            let a = eval(a, frame);
            if a == Value::FALSE {
                return Value::FALSE;
            }
            and(a, eval(b, frame))
        }
        Expr::Or(a, b) => {
            let a = eval(a, frame);
            if a == Value::TRUE {
                return Value::TRUE;
            }
            or(a, eval(b, frame))
        }
        Expr::IsSet(a) => match eval(a, frame) {
            Value::Val(_) => Value::TRUE,
            Value::Missing => Value::FALSE,
            err => err,
        },
        Expr::Call(builtin, args) => call(*builtin, args, frame),
        Expr::Since { ts, fallback } => {
            let since = match frame.load(*ts) {
                Value::Missing => frame.load(*fallback),
                v => v,
            };
            map1(since, |t| {
                frame.now.checked_sub(t).ok_or(EvalError::Overflow)
            })
        }
        Expr::Crosses {
            below,
            value,
            prev,
            threshold,
        } => {
            let now_value = eval(value, frame);
            let threshold = eval(threshold, frame);
            let before = frame.load(*prev);
            let crossed = map2(before, threshold, |p, t| {
                Ok(i64::from(if *below { p >= t } else { p <= t }))
            });
            let after = map2(now_value, threshold, |v, t| {
                Ok(i64::from(if *below { v < t } else { v > t }))
            });
            and(crossed, after)
        }
    }
}

/// Three-valued `and` of two evaluated operands.
pub fn and(a: Value, b: Value) -> Value {
    match (a, b) {
        (Value::FALSE, _) | (_, Value::FALSE) => Value::FALSE,
        (Value::Err(e), _) | (_, Value::Err(e)) => Value::Err(e),
        (Value::Missing, _) | (_, Value::Missing) => Value::Missing,
        _ => Value::TRUE,
    }
}

/// Three-valued `or` of two evaluated operands.
pub fn or(a: Value, b: Value) -> Value {
    match (a, b) {
        (Value::TRUE, _) | (_, Value::TRUE) => Value::TRUE,
        (Value::Err(e), _) | (_, Value::Err(e)) => Value::Err(e),
        (Value::Missing, _) | (_, Value::Missing) => Value::Missing,
        _ => Value::FALSE,
    }
}

fn map1(a: Value, f: impl FnOnce(i64) -> Result<i64, EvalError>) -> Value {
    match a {
        Value::Val(x) => f(x).map_or_else(Value::Err, Value::Val),
        other => other,
    }
}

fn map2(a: Value, b: Value, f: impl FnOnce(i64, i64) -> Result<i64, EvalError>) -> Value {
    match (a, b) {
        (Value::Val(x), Value::Val(y)) => f(x, y).map_or_else(Value::Err, Value::Val),
        (Value::Err(e), _) | (_, Value::Err(e)) => Value::Err(e),
        _ => Value::Missing,
    }
}

/// Arithmetic on encoded values; the operation decides the units.
pub fn arith(op: ArithOp, x: i64, y: i64) -> Result<i64, EvalError> {
    match op {
        ArithOp::Add => x.checked_add(y).ok_or(EvalError::Overflow),
        ArithOp::Sub => x.checked_sub(y).ok_or(EvalError::Overflow),
        ArithOp::Mul => x.checked_mul(y).ok_or(EvalError::Overflow),
        ArithOp::MulDecimal => decimal::mul(x, y),
        ArithOp::Div => {
            if y == 0 {
                Err(EvalError::DivisionByZero)
            } else {
                x.checked_div(y).ok_or(EvalError::Overflow)
            }
        }
        ArithOp::DivDecimal => decimal::div(x, y),
        ArithOp::DivDecimalByInt => decimal::div_int(x, y),
        ArithOp::Rem => {
            if y == 0 {
                Err(EvalError::DivisionByZero)
            } else {
                x.checked_rem(y).ok_or(EvalError::Overflow)
            }
        }
    }
}

fn call(builtin: Builtin, args: &[Expr], frame: &Frame) -> Value {
    let arg = |i: usize| args.get(i).map_or(Value::Missing, |a| eval(a, frame));
    match builtin {
        Builtin::Min => map2(arg(0), arg(1), |x, y| Ok(x.min(y))),
        Builtin::Max => map2(arg(0), arg(1), |x, y| Ok(x.max(y))),
        Builtin::Clamp => {
            let bounds = map2(arg(1), arg(2), |lo, hi| Ok(if lo <= hi { lo } else { hi }));
            let hi = arg(2);
            map2(map2(arg(0), bounds, |x, lo| Ok(x.max(lo))), hi, |x, hi| {
                Ok(x.min(hi))
            })
        }
        Builtin::Abs => map1(arg(0), |x| x.checked_abs().ok_or(EvalError::Overflow)),
        Builtin::ToDecimal => map1(arg(0), |x| {
            x.checked_mul(decimal::SCALE).ok_or(EvalError::Overflow)
        }),
        Builtin::Round => map1(arg(0), |x| Ok(decimal::round(x))),
        Builtin::DurationIn(unit) => map1(arg(0), |x| Ok(x / unit)),
        Builtin::DurationOf(unit) => {
            map1(arg(0), |x| x.checked_mul(unit).ok_or(EvalError::Overflow))
        }
        Builtin::DateOf => map1(arg(0), |x| Ok(x.div_euclid(MILLIS_PER_DAY))),
        Builtin::DaysUntil => map1(arg(0), |date| {
            date.checked_sub(frame.now.div_euclid(MILLIS_PER_DAY))
                .ok_or(EvalError::Overflow)
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::CmpOp;

    fn frame<'a>(values: &'a [i64], present: &'a [u8]) -> Frame<'a> {
        Frame {
            values,
            present,
            now: 1_000,
        }
    }

    fn c(v: i64) -> Box<Expr> {
        Box::new(Expr::Const(v))
    }

    #[test]
    fn missing_propagates_and_and_absorbs() {
        let f = frame(&[7], &[0]);
        let missing_cmp = Expr::Cmp(CmpOp::Gt, Box::new(Expr::Load(0)), c(3));
        assert_eq!(eval(&missing_cmp, &f), Value::Missing);
        let guarded = Expr::And(c(0), Box::new(missing_cmp.clone()));
        assert_eq!(eval(&guarded, &f), Value::FALSE);
        let reversed = Expr::And(Box::new(missing_cmp), c(0));
        assert_eq!(eval(&reversed, &f), Value::FALSE);
    }

    #[test]
    fn errors_are_absorbed_by_the_deciding_side() {
        let f = frame(&[], &[]);
        let div0 = Expr::Arith(ArithOp::Div, c(1), c(0));
        assert_eq!(eval(&div0, &f), Value::Err(EvalError::DivisionByZero));
        let or = Expr::Or(Box::new(div0.clone()), c(1));
        assert_eq!(eval(&or, &f), Value::TRUE);
        let and = Expr::And(Box::new(div0), c(1));
        assert_eq!(eval(&and, &f), Value::Err(EvalError::DivisionByZero));
    }

    #[test]
    fn overflow_is_an_error() {
        let f = frame(&[], &[]);
        let e = Expr::Arith(ArithOp::Mul, c(i64::MAX), c(2));
        assert_eq!(eval(&e, &f), Value::Err(EvalError::Overflow));
        let e = Expr::Arith(ArithOp::Div, c(i64::MIN), c(-1));
        assert_eq!(eval(&e, &f), Value::Err(EvalError::Overflow));
        assert_eq!(
            eval(&Expr::Neg(c(i64::MIN)), &f),
            Value::Err(EvalError::Overflow)
        );
    }

    #[test]
    fn since_falls_back_to_first_seen() {
        let f = frame(&[0, 400], &[0, 1]);
        let e = Expr::Since { ts: 0, fallback: 1 };
        assert_eq!(eval(&e, &f), Value::Val(600));
    }

    #[test]
    fn crossing_below_needs_before_at_or_above_and_after_below() {
        // slot 0: current value, slot 1: previous value
        let crosses = Expr::Crosses {
            below: true,
            value: Box::new(Expr::Load(0)),
            prev: 1,
            threshold: c(40),
        };
        assert_eq!(eval(&crosses, &frame(&[39, 40], &[1, 1])), Value::TRUE);
        assert_eq!(eval(&crosses, &frame(&[39, 39], &[1, 1])), Value::FALSE);
        assert_eq!(eval(&crosses, &frame(&[40, 45], &[1, 1])), Value::FALSE);
    }
}
