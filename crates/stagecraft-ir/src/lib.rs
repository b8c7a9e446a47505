//! The typed intermediate representation of a checked playbook, and the
//! reference interpreter over it.
//!
//! The checker produces a [`Program`]; the runtime evaluates its expressions
//! with [`eval::eval`] or with the JIT, which must agree with it on every
//! input.

pub mod decimal;
pub mod eval;
pub mod expr;
pub mod plan;
pub mod program;
pub mod value;

pub use eval::{eval, Frame};
pub use expr::{ArithOp, Builtin, CmpOp, Expr, Slot, TypedExpr};
pub use plan::{EvalPlan, Evaluator, ExprId, FirstMatch, Interpreter, ListId};
pub use program::*;
pub use value::{EvalError, Type, Value};
