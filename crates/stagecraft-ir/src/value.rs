//! Types and runtime values.
//!
//! Every value is an `i64` whose meaning the static type gives: a bool is 0
//! or 1, a decimal counts millionths, a duration or timestamp counts
//! milliseconds, a date counts days since 1970-01-01, an enum value or stage
//! is its index, a string or time zone is a symbol id. Evaluation yields a
//! [`Value`]: a number, `Missing` (an optional trait not set, an event with no
//! such property), or an error.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Type {
    Bool,
    Int,
    Decimal,
    String,
    Duration,
    Timestamp,
    Date,
    Timezone,
    /// An enum declared in the playbook, by index into `Program::enums`.
    Enum(u32),
    /// The playbook's stages.
    Stage,
}

impl Type {
    /// Types whose values have an order (`<`, `min`, ranges).
    pub fn is_ordered(self) -> bool {
        matches!(
            self,
            Type::Int | Type::Decimal | Type::Duration | Type::Timestamp | Type::Date
        )
    }

    /// Types that take part in arithmetic.
    pub fn is_numeric(self) -> bool {
        matches!(self, Type::Int | Type::Decimal)
    }
}

/// Why an evaluation failed. Errors are values: they propagate through
/// operators, `and`/`or` absorb them when the other side decides, and a rule
/// whose condition errors is reported as errored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum EvalError {
    #[error("integer overflow")]
    Overflow,
    #[error("division by zero")]
    DivisionByZero,
}

impl EvalError {
    /// The status code the JIT returns for this error.
    pub fn code(self) -> u8 {
        match self {
            EvalError::Overflow => 2,
            EvalError::DivisionByZero => 3,
        }
    }

    pub fn from_code(code: u8) -> Option<EvalError> {
        match code {
            2 => Some(EvalError::Overflow),
            3 => Some(EvalError::DivisionByZero),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Value {
    Val(i64),
    Missing,
    Err(EvalError),
}

/// Status codes shared by the interpreter and the JIT.
pub const STATUS_VALUE: u8 = 0;
pub const STATUS_MISSING: u8 = 1;

impl Value {
    pub const TRUE: Value = Value::Val(1);
    pub const FALSE: Value = Value::Val(0);

    pub fn bool(b: bool) -> Value {
        Value::Val(i64::from(b))
    }

    /// A condition holds only when it evaluates to true; missing is false.
    pub fn is_true(self) -> bool {
        self == Value::TRUE
    }

    /// `(status, payload)`: the encoding the JIT returns.
    pub fn encode(self) -> (u8, i64) {
        match self {
            Value::Val(v) => (STATUS_VALUE, v),
            Value::Missing => (STATUS_MISSING, 0),
            Value::Err(e) => (e.code(), 0),
        }
    }

    pub fn decode(status: u8, payload: i64) -> Value {
        match status {
            STATUS_VALUE => Value::Val(payload),
            STATUS_MISSING => Value::Missing,
            code => Value::Err(EvalError::from_code(code).unwrap_or(EvalError::Overflow)),
        }
    }
}
