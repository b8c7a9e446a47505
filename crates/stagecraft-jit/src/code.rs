//! Ownership of the machine code of one compiled plan.

// Freeing JIT memory and turning code addresses into function pointers.
#![allow(unsafe_code)]

use std::fmt;
use std::mem::ManuallyDrop;
use std::sync::{Mutex, PoisonError};

use cranelift_jit::JITModule;
use cranelift_module::FuncId;

use crate::error::JitError;

/// What a compiled expression or a helper returns: its payload and its
/// status, which is meaningful only when the status is
/// [`STATUS_VALUE`](stagecraft_ir::value::STATUS_VALUE).
///
/// Returned in two registers, where Cranelift returns a function's two
/// results (`rax` and `rdx`, `x0` and `x1`): the C convention of the hosts
/// the JIT accepts ([`C_RETURNS_PAIRS_IN_REGISTERS`]) returns a 16-byte
/// struct of two integers there. The status fills the low byte of the
/// second register; the other bytes are padding and never read.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawValue {
    pub(crate) payload: i64,
    pub(crate) status: u8,
}

/// Whether the host's C calling convention returns [`RawValue`] in the two
/// registers where Cranelift returns two results: System V on x86-64 and
/// AAPCS64 on AArch64 do; Windows on x86-64 returns it through memory.
pub(crate) const C_RETURNS_PAIRS_IN_REGISTERS: bool = cfg!(any(
    all(target_arch = "x86_64", not(windows)),
    target_arch = "aarch64"
));

/// A compiled expression: `(values, present, now) -> (payload, status)`.
pub(crate) type ExprFn =
    unsafe extern "C" fn(values: *const i64, present: *const u8, now: i64) -> RawValue;

/// A compiled guard list: `(values, present, now) -> result`, with the
/// position of the first guard that holds in the low 32 bits (`u32::MAX`
/// when none does) and whether an earlier guard errored in bit 32.
pub(crate) type ListFn =
    unsafe extern "C" fn(values: *const i64, present: *const u8, now: i64) -> u64;

/// Where a [`ListFn`] result keeps the errored flag.
pub(crate) const LIST_ERRORED_SHIFT: u32 = 32;

/// Owns the JIT module of one plan and frees its memory on drop.
///
/// Function pointers into the module are only handed out together with an
/// `Arc` of this owner, so the memory is freed only after the last holder
/// is gone and nothing can call into it any more.
pub(crate) struct CompiledCode {
    // The module is `!Sync` (it keeps a `RefCell` symbol cache) and is never
    // used after finalization except to free it, so the mutex is never
    // contended; it only makes the owner shareable across threads.
    module: Mutex<ManuallyDrop<JITModule>>,
}

impl CompiledCode {
    pub(crate) fn new(module: JITModule) -> Self {
        CompiledCode {
            module: Mutex::new(ManuallyDrop::new(module)),
        }
    }

    /// The module, for defining functions before finalization.
    pub(crate) fn module_mut(&mut self) -> &mut JITModule {
        self.module
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn finalize(&mut self) -> Result<(), JitError> {
        self.module_mut()
            .finalize_definitions()
            .map_err(|source| JitError::Finalize(Box::new(source)))
    }

    /// The native entry point of an expression function.
    ///
    /// `id` must have been defined with the expression signature; the
    /// pointer is valid while `self` lives. Cranelift panics if the module
    /// has not been finalized.
    pub(crate) fn expr_fn(&mut self, id: FuncId) -> ExprFn {
        let address = self.module_mut().get_finalized_function(id);
        // SAFETY: `address` is the entry of a finalized function that was
        // declared with the signature `(ptr, ptr, i64) -> (i64, i8)` in the
        // host's default (C) calling convention, which is `ExprFn` on the
        // hosts `native_isa` accepts (see `RawValue`).
        unsafe { std::mem::transmute::<*const u8, ExprFn>(address) }
    }

    /// The native entry point of a guard list function; as [`Self::expr_fn`].
    pub(crate) fn list_fn(&mut self, id: FuncId) -> ListFn {
        let address = self.module_mut().get_finalized_function(id);
        // SAFETY: `address` is the entry of a finalized function that was
        // declared with the signature `(ptr, ptr, i64) -> i64` in the
        // host's default (C) calling convention, which is `ListFn`.
        unsafe { std::mem::transmute::<*const u8, ListFn>(address) }
    }
}

impl Drop for CompiledCode {
    fn drop(&mut self) {
        let module = self
            .module
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        // SAFETY: `drop` runs once and nothing touches the module after it.
        let module = unsafe { ManuallyDrop::take(module) };
        // SAFETY: function pointers into this module live only in
        // evaluators holding an `Arc` of this owner; the last one is gone,
        // so no compiled function is running or can be called again.
        unsafe { module.free_memory() };
    }
}

impl fmt::Debug for CompiledCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompiledCode").finish_non_exhaustive()
    }
}
