//! Why a plan could not be compiled.

use cranelift_module::ModuleError;
use stagecraft_ir::{ExprId, ListId, Slot};

#[derive(Debug, thiserror::Error)]
pub enum JitError {
    #[error("cranelift does not support this host: {0}")]
    UnsupportedHost(String),
    #[error("invalid cranelift setting `{setting}`")]
    Setting {
        setting: &'static str,
        #[source]
        source: cranelift_codegen::settings::SetError,
    },
    #[error("cranelift could not build an instruction set for this host")]
    Isa(#[source] cranelift_codegen::CodegenError),
    #[error("expression {expr} cannot be compiled: {reason}")]
    Unsupported { expr: ExprId, reason: Unsupported },
    #[error("guard list {0} has too many guards to number them")]
    ListTooLong(ListId),
    #[error("cranelift could not compile {function}")]
    Codegen {
        function: String,
        #[source]
        source: Box<ModuleError>,
    },
    #[error("cranelift could not finalize the compiled code")]
    Finalize(#[source] Box<ModuleError>),
}

/// An expression the JIT does not compile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unsupported {
    #[error("slot {0} is beyond the largest frame the jit addresses")]
    SlotTooHigh(Slot),
    #[error("duration unit {0} is not a positive number of milliseconds")]
    DurationUnit(i64),
}
