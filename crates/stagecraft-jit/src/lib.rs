//! Cranelift JIT backend for Stagecraft evaluation plans.
//!
//! [`JitEvaluator::compile`] turns an [`EvalPlan`](stagecraft_ir::EvalPlan)
//! into native code, one function per guard list and one per standalone
//! expression, all in one module that is finalized once and freed when the
//! last evaluator sharing it is dropped. Results equal the reference
//! interpreter's on every input; the differential tests check that.
//!
//! Use [`host_supported`] to decide whether to fall back to the interpreter.

mod code;
mod compile;
mod error;
mod evaluator;
mod helpers;
mod lower;

pub use error::{JitError, Unsupported};
pub use evaluator::JitEvaluator;

/// Whether the JIT can generate code for the machine this runs on: one
/// Cranelift supports, whose C calling convention returns a pair of
/// integers in two registers (x86-64 outside Windows, and AArch64), as
/// compiled functions return their payload and status.
pub fn host_supported() -> bool {
    code::C_RETURNS_PAIRS_IN_REGISTERS && cranelift_native::builder().is_ok()
}
