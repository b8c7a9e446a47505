//! The JIT backend of the [`Evaluator`] interface.

// Calling JIT-compiled functions.
#![allow(unsafe_code)]

use std::sync::Arc;

use stagecraft_ir::value::STATUS_VALUE;
use stagecraft_ir::{EvalPlan, Evaluator, ExprId, FirstMatch, Frame, Interpreter, ListId, Value};

use crate::code::{CompiledCode, ExprFn, ListFn, RawValue, LIST_ERRORED_SHIFT};
use crate::compile::compile_plan;
use crate::error::JitError;

/// Evaluates one plan with native code.
///
/// Compiled functions read frame slots without bounds checks, so each call
/// first checks that the frame is long enough for the slots the function
/// reads; a shorter frame (whose extra slots the interpreter treats as
/// missing) is evaluated by the interpreter instead. Expressions that appear
/// in guard lists are compiled into their lists only, and [`Evaluator::eval`]
/// on one of them runs the interpreter: the runtime evaluates guards through
/// [`Evaluator::first_true`] and a single guard only to explain a result.
///
/// Cloning shares the compiled code, which is freed when the last clone is
/// dropped.
#[derive(Debug, Clone)]
pub struct JitEvaluator {
    exprs: Vec<Option<Native<ExprFn>>>,
    lists: Vec<Native<ListFn>>,
    interpreter: Arc<Interpreter>,
    /// Keeps the code the function pointers point into alive.
    _code: Arc<CompiledCode>,
}

/// A compiled function and the frame length it needs.
#[derive(Debug, Clone, Copy)]
struct Native<F> {
    function: F,
    min_frame_len: usize,
}

impl<F> Native<F> {
    fn accepts(&self, frame: &Frame) -> bool {
        frame.values.len() >= self.min_frame_len && frame.present.len() >= self.min_frame_len
    }
}

impl JitEvaluator {
    /// Compiles every guard list and standalone expression of `plan` into
    /// one finalized module.
    pub fn compile(plan: &EvalPlan) -> Result<JitEvaluator, JitError> {
        let compiled = compile_plan(plan)?;
        let mut code = compiled.code;
        let exprs = compiled
            .exprs
            .into_iter()
            .map(|defined| {
                defined.map(|defined| Native {
                    function: code.expr_fn(defined.id),
                    min_frame_len: defined.min_frame_len,
                })
            })
            .collect();
        let lists = compiled
            .lists
            .into_iter()
            .map(|defined| Native {
                function: code.list_fn(defined.id),
                min_frame_len: defined.min_frame_len,
            })
            .collect();
        Ok(JitEvaluator {
            exprs,
            lists,
            interpreter: Arc::new(Interpreter::new(plan.clone())),
            _code: Arc::new(code),
        })
    }
}

impl JitEvaluator {
    // The fallbacks are kept out of line so that the native path stays
    // small enough to inline.
    #[cold]
    #[inline(never)]
    fn interpret(&self, id: ExprId, frame: &Frame) -> Value {
        self.interpreter.eval(id, frame)
    }

    #[cold]
    #[inline(never)]
    fn interpret_list(&self, list: ListId, frame: &Frame) -> FirstMatch {
        self.interpreter.first_true(list, frame)
    }

    /// A result that is not a value. Out of line, so that the inlined
    /// native path tests for a value once and builds nothing else.
    #[cold]
    #[inline(never)]
    fn not_a_value(status: u8) -> Value {
        Value::decode(status, 0)
    }
}

// Inlinable, so that callers holding a concrete `JitEvaluator` pay no
// extra call and keep the result in registers.
impl Evaluator for JitEvaluator {
    #[inline]
    fn eval(&self, id: ExprId, frame: &Frame) -> Value {
        match self.exprs.get(id as usize) {
            Some(Some(native)) if native.accepts(frame) => {
                // SAFETY: the function was compiled for the `ExprFn`
                // signature and its code lives as long as `self._code`. It
                // reads slots below `min_frame_len` of `values` and
                // `present`, which `accepts` checked are in bounds. It
                // cannot unwind: helpers it calls never panic.
                let RawValue { payload, status } = unsafe {
                    (native.function)(frame.values.as_ptr(), frame.present.as_ptr(), frame.now)
                };
                if status == STATUS_VALUE {
                    Value::Val(payload)
                } else {
                    Self::not_a_value(status)
                }
            }
            _ => self.interpret(id, frame),
        }
    }

    #[inline]
    fn first_true(&self, list: ListId, frame: &Frame) -> FirstMatch {
        match self.lists.get(list as usize) {
            Some(native) if native.accepts(frame) => {
                // SAFETY: as in `eval`, for the `ListFn` signature.
                let result = unsafe {
                    (native.function)(frame.values.as_ptr(), frame.present.as_ptr(), frame.now)
                };
                // The low half is the position; truncation is the intent.
                let position = result as u32;
                FirstMatch {
                    matched: (position != u32::MAX).then_some(position),
                    errored: result >> LIST_ERRORED_SHIFT != 0,
                }
            }
            _ => self.interpret_list(list, frame),
        }
    }

    fn name(&self) -> &'static str {
        "jit"
    }
}
