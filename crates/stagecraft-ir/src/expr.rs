//! Typed expressions over a frame of slots.

use serde::{Deserialize, Serialize};

use crate::value::Type;

/// Index of a slot in an evaluation frame.
pub type Slot = u32;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub fn apply(self, a: i64, b: i64) -> bool {
        match self {
            CmpOp::Eq => a == b,
            CmpOp::Ne => a != b,
            CmpOp::Lt => a < b,
            CmpOp::Le => a <= b,
            CmpOp::Gt => a > b,
            CmpOp::Ge => a >= b,
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// Arithmetic on the `i64` encoding. The type checker picks the variant, so
/// evaluation never needs to look at types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ArithOp {
    /// Checked addition: ints, decimals, durations, timestamp + duration.
    Add,
    /// Checked subtraction: likewise, and timestamp − timestamp.
    Sub,
    /// Checked multiplication: int × int, int × decimal, int × duration.
    Mul,
    /// Decimal × decimal, rounded half to even.
    MulDecimal,
    /// Truncating division: int ÷ int, duration ÷ int, duration ÷ duration.
    Div,
    /// Decimal ÷ decimal, rounded half to even.
    DivDecimal,
    /// Decimal ÷ int, rounded half to even.
    DivDecimalByInt,
    /// Remainder of int ÷ int (sign of the dividend).
    Rem,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Builtin {
    Min,
    Max,
    /// `clamp(x, lo, hi)`
    Clamp,
    Abs,
    /// Int → decimal.
    ToDecimal,
    /// Decimal → int, half to even.
    Round,
    /// Duration → whole units (truncating): argument is the unit in ms.
    DurationIn(i64),
    /// Int → duration of that many units (ms per unit).
    DurationOf(i64),
    /// Timestamp → date (UTC day).
    DateOf,
    /// Whole days from the date of `now` to a date.
    DaysUntil,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Expr {
    Const(i64),
    /// A value of the frame (trait, metric, score, stage data, event property).
    Load(Slot),
    /// The time of the input being evaluated.
    Now,
    Neg(Box<Expr>),
    Not(Box<Expr>),
    Arith(ArithOp, Box<Expr>, Box<Expr>),
    Cmp(CmpOp, Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    IsSet(Box<Expr>),
    Call(Builtin, Vec<Expr>),
    /// `now - ts`, where a missing `ts` falls back to `fallback` (the time the
    /// subject was first seen): time since the last occurrence of an event.
    Since {
        ts: Slot,
        fallback: Slot,
    },
    /// `value crosses below|above threshold`: `prev` holds `value` as it was
    /// after the subject's previous event.
    Crosses {
        below: bool,
        value: Box<Expr>,
        prev: Slot,
        threshold: Box<Expr>,
    },
}

impl Expr {
    pub fn and(a: Expr, b: Expr) -> Expr {
        Expr::And(Box::new(a), Box::new(b))
    }

    /// Visits every sub-expression, this one first.
    pub fn walk<'a>(&'a self, f: &mut impl FnMut(&'a Expr)) {
        f(self);
        match self {
            Expr::Const(_) | Expr::Load(_) | Expr::Now | Expr::Since { .. } => {}
            Expr::Neg(a) | Expr::Not(a) | Expr::IsSet(a) => a.walk(f),
            Expr::Arith(_, a, b) | Expr::Cmp(_, a, b) | Expr::And(a, b) | Expr::Or(a, b) => {
                a.walk(f);
                b.walk(f);
            }
            Expr::Call(_, args) => args.iter().for_each(|a| a.walk(f)),
            Expr::Crosses {
                value, threshold, ..
            } => {
                value.walk(f);
                threshold.walk(f);
            }
        }
    }
}

/// An expression with its static type and the source text it came from (for
/// explanations and reports).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TypedExpr {
    pub expr: Expr,
    pub ty: Type,
    pub source: String,
}
