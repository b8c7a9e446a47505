//! Compilation of a whole plan into one JIT module.

use cranelift_codegen::ir::{types, AbiParam, BlockArg, InstBuilder, Signature};
use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_codegen::Context;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{FuncId, Linkage, Module, ModuleError};
use stagecraft_ir::{EvalPlan, Expr, ExprId, ListId};

use crate::code::{CompiledCode, C_RETURNS_PAIRS_IN_REGISTERS, LIST_ERRORED_SHIFT};
use crate::error::JitError;
use crate::helpers;
use crate::lower::{frame_params, ExprLowering, FrameParams, HelperIds};

/// A defined function and the frame length it needs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Defined {
    pub(crate) id: FuncId,
    pub(crate) min_frame_len: usize,
}

/// The functions of a compiled plan, before their addresses are known.
#[derive(Debug)]
pub(crate) struct CompiledPlan {
    pub(crate) code: CompiledCode,
    /// Per expression id: its function, or `None` when it is evaluated only
    /// as part of guard lists.
    pub(crate) exprs: Vec<Option<Defined>>,
    /// Per list id.
    pub(crate) lists: Vec<Defined>,
}

/// Compiles every guard list into one function, and every expression that
/// no list refers to into its own function, then finalizes the module.
pub(crate) fn compile_plan(plan: &EvalPlan) -> Result<CompiledPlan, JitError> {
    let mut jit_builder =
        JITBuilder::with_isa(native_isa()?, cranelift_module::default_libcall_names());
    for helper in helpers::all() {
        jit_builder.symbol(helper.symbol, helper.address);
    }
    // Owned from the start, so the memory is freed on every error path too.
    let mut code = CompiledCode::new(JITModule::new(jit_builder));

    let in_lists = referenced_by_lists(plan);
    let mut compiler = FunctionCompiler::new(code.module_mut())?;
    let mut exprs = Vec::with_capacity(plan.exprs.len());
    for (id, expr) in (0..).zip(&plan.exprs) {
        let defined = if in_lists.get(id as usize).copied().unwrap_or(false) {
            None
        } else {
            Some(compiler.define_expr(id, expr)?)
        };
        exprs.push(defined);
    }
    let mut lists = Vec::with_capacity(plan.lists.len());
    for (list_id, ids) in (0..).zip(&plan.lists) {
        // `u32::MAX` is the native "no match" answer, so it is no position.
        if u32::try_from(ids.len()).map_or(true, |len| len == u32::MAX) {
            return Err(JitError::ListTooLong(list_id));
        }
        lists.push(compiler.define_list(list_id, plan, ids)?);
    }
    code.finalize()?;
    Ok(CompiledPlan { code, exprs, lists })
}

/// Which expressions appear in some guard list.
fn referenced_by_lists(plan: &EvalPlan) -> Vec<bool> {
    let mut referenced = vec![false; plan.exprs.len()];
    for id in plan.lists.iter().flatten() {
        if let Some(flag) = referenced.get_mut(*id as usize) {
            *flag = true;
        }
    }
    referenced
}

fn native_isa() -> Result<OwnedTargetIsa, JitError> {
    if !C_RETURNS_PAIRS_IN_REGISTERS {
        return Err(JitError::UnsupportedHost(
            "its C calling convention returns two-integer structs through memory".to_owned(),
        ));
    }
    let mut flags = settings::builder();
    let settings = [
        ("opt_level", "speed"),
        // Load forwarding would let the exact path reuse the fast path's
        // loads; see `ExprLowering::load_raw`.
        ("enable_alias_analysis", "false"),
        // cranelift-jit needs non-PIC code; long-range calls to the helpers
        // avoid relocation range limits (see the crate notes).
        ("is_pic", "false"),
        ("use_colocated_libcalls", "false"),
        // The verifier catches lowering bugs in tests; release builds skip
        // it for compile speed.
        (
            "enable_verifier",
            if cfg!(debug_assertions) {
                "true"
            } else {
                "false"
            },
        ),
    ];
    for (setting, value) in settings {
        flags
            .set(setting, value)
            .map_err(|source| JitError::Setting { setting, source })?;
    }
    let isa_builder = cranelift_native::builder()
        .map_err(|reason| JitError::UnsupportedHost(reason.to_owned()))?;
    isa_builder
        .finish(settings::Flags::new(flags))
        .map_err(JitError::Isa)
}

/// Defines functions in a module, reusing its contexts between functions.
struct FunctionCompiler<'m> {
    module: &'m mut JITModule,
    context: Context,
    builder_context: FunctionBuilderContext,
    helpers: HelperIds,
    expr_signature: Signature,
    list_signature: Signature,
}

impl<'m> FunctionCompiler<'m> {
    fn new(module: &'m mut JITModule) -> Result<Self, JitError> {
        let pointer_type = module.target_config().pointer_type();
        // Payload and status, as `RawValue`.
        let raw_value = [AbiParam::new(types::I64), AbiParam::new(types::I8)];
        let mut expr_signature = module.make_signature();
        expr_signature.params.extend(frame_params(pointer_type));
        expr_signature.returns.extend(raw_value);
        let mut list_signature = module.make_signature();
        list_signature.params.extend(frame_params(pointer_type));
        list_signature.returns.push(AbiParam::new(types::I64));

        let mut binary = module.make_signature();
        binary
            .params
            .extend([AbiParam::new(types::I64), AbiParam::new(types::I64)]);
        binary.returns.extend(raw_value);
        let mut unary = module.make_signature();
        unary.params.push(AbiParam::new(types::I64));
        unary.returns.push(AbiParam::new(types::I64));
        let mut import = |symbol: &str, signature: &Signature| {
            module
                .declare_function(symbol, Linkage::Import, signature)
                .map_err(|source| codegen_error(symbol, Box::new(source)))
        };
        let helpers = HelperIds {
            decimal_mul: import(helpers::DECIMAL_MUL, &binary)?,
            decimal_div: import(helpers::DECIMAL_DIV, &binary)?,
            decimal_div_int: import(helpers::DECIMAL_DIV_INT, &binary)?,
            decimal_round: import(helpers::DECIMAL_ROUND, &unary)?,
        };
        Ok(FunctionCompiler {
            context: module.make_context(),
            module,
            builder_context: FunctionBuilderContext::new(),
            helpers,
            expr_signature,
            list_signature,
        })
    }

    /// `(values, present, now) -> (payload, status)`.
    fn define_expr(&mut self, expr_id: ExprId, expr: &Expr) -> Result<Defined, JitError> {
        let name = format!("expression {expr_id}");
        let id = declare(self.module, &name, &self.expr_signature)?;
        let min_frame_len = self.build_expr(expr_id, expr)?;
        self.define(&name, id)?;
        Ok(Defined { id, min_frame_len })
    }

    /// Builds the function of an expression in the context; returns the
    /// frame length it needs.
    fn build_expr(&mut self, expr_id: ExprId, expr: &Expr) -> Result<usize, JitError> {
        self.context.func.signature = self.expr_signature.clone();
        let mut builder = FunctionBuilder::new(&mut self.context.func, &mut self.builder_context);
        let frame = enter(&mut builder);
        let mut lowering = ExprLowering::new(&mut builder, self.module, self.helpers, frame);
        let unsupported = |reason| JitError::Unsupported {
            expr: expr_id,
            reason,
        };
        // The fast path returns a value unless something was missing or
        // failed; then it leaves for the exact path, which recomputes the
        // status.
        let fast = lowering.lower_optimistic(expr).map_err(unsupported)?;
        lowering.return_result(fast.value);
        if let Some(bail) = fast.bail {
            lowering.builder.switch_to_block(bail);
            let exact = lowering.lower(expr).map_err(unsupported)?;
            lowering.return_result(exact);
        }
        let min_frame_len = lowering.min_frame_len();
        builder.finalize(self.module.isa().frontend_config());
        Ok(min_frame_len)
    }

    /// `(values, present, now) -> position | errored << 32`: evaluates the
    /// guards in order and returns at the first that is exactly true.
    fn define_list(
        &mut self,
        list_id: ListId,
        plan: &EvalPlan,
        ids: &[ExprId],
    ) -> Result<Defined, JitError> {
        let name = format!("guard list {list_id}");
        let id = declare(self.module, &name, &self.list_signature)?;
        let min_frame_len = self.build_list(plan, ids)?;
        self.define(&name, id)?;
        Ok(Defined { id, min_frame_len })
    }

    /// Builds the function of a guard list in the context; returns the
    /// frame length it needs.
    fn build_list(&mut self, plan: &EvalPlan, ids: &[ExprId]) -> Result<usize, JitError> {
        self.context.func.signature = self.list_signature.clone();
        let mut builder = FunctionBuilder::new(&mut self.context.func, &mut self.builder_context);
        let frame = enter(&mut builder);
        let exit = builder.create_block();
        let exit_position = builder.append_block_param(exit, types::I32);
        let exit_errored = builder.append_block_param(exit, types::I8);

        let mut lowering = ExprLowering::new(&mut builder, self.module, self.helpers, frame);
        let mut errored = lowering.builder.ins().iconst(types::I8, 0);
        for (position, expr_id) in (0u32..).zip(ids) {
            // An id outside the plan evaluates to missing in the
            // interpreter: it never matches nor errors, so it needs no code.
            let Some(guard) = plan.exprs.get(*expr_id as usize) else {
                continue;
            };
            let unsupported = |reason| JitError::Unsupported {
                expr: *expr_id,
                reason,
            };
            let position = lowering
                .builder
                .ins()
                .iconst(types::I32, i64::from(position));
            let matched_args = [BlockArg::Value(position), BlockArg::Value(errored)];
            let next = lowering.builder.create_block();
            let errored_before_next = lowering.builder.append_block_param(next, types::I8);
            // The fast path decides unless something was missing or failed;
            // then the exact path decides and records errors.
            let fast = lowering.lower_optimistic(guard).map_err(unsupported)?;
            let matched = lowering.is_exactly(fast.value, true);
            lowering.builder.ins().brif(
                matched,
                exit,
                &matched_args,
                next,
                &[BlockArg::Value(errored)],
            );
            if let Some(bail) = fast.bail {
                lowering.builder.switch_to_block(bail);
                let exact = lowering.lower(guard).map_err(unsupported)?;
                let matched = lowering.is_exactly(exact, true);
                let guard_errored = lowering.is_error(exact);
                let errored_after = lowering.builder.ins().bor(errored, guard_errored);
                lowering.builder.ins().brif(
                    matched,
                    exit,
                    &matched_args,
                    next,
                    &[BlockArg::Value(errored_after)],
                );
            }
            lowering.builder.seal_block(next);
            lowering.builder.switch_to_block(next);
            errored = errored_before_next;
        }
        let min_frame_len = lowering.min_frame_len();
        let no_match = builder.ins().iconst(types::I32, i64::from(u32::MAX));
        builder
            .ins()
            .jump(exit, &[BlockArg::Value(no_match), BlockArg::Value(errored)]);
        builder.seal_block(exit);
        builder.switch_to_block(exit);
        let position = builder.ins().uextend(types::I64, exit_position);
        let errored = builder.ins().uextend(types::I64, exit_errored);
        let errored = builder
            .ins()
            .ishl_imm_u(errored, i64::from(LIST_ERRORED_SHIFT));
        let result = builder.ins().bor(position, errored);
        builder.ins().return_(&[result]);
        builder.finalize(self.module.isa().frontend_config());
        Ok(min_frame_len)
    }

    /// Compiles the function built in the context as `id`.
    fn define(&mut self, function: &str, id: FuncId) -> Result<(), JitError> {
        let defined = self.module.define_function(id, &mut self.context);
        self.module.clear_context(&mut self.context);
        defined.map_err(|source| codegen_error(function, Box::new(source)))
    }
}

/// Declares a function to be defined later in the module.
fn declare(
    module: &mut JITModule,
    function: &str,
    signature: &Signature,
) -> Result<FuncId, JitError> {
    module
        .declare_anonymous_function(signature)
        .map_err(|source| codegen_error(function, Box::new(source)))
}

/// Creates the entry block; returns the frame parameters.
fn enter(builder: &mut FunctionBuilder<'_>) -> FrameParams {
    let entry = builder.create_block();
    builder.append_block_params_for_function_params(entry);
    builder.switch_to_block(entry);
    builder.seal_block(entry);
    let params = builder.block_params(entry);
    FrameParams {
        values: params[0],
        present: params[1],
        now: params[2],
    }
}

fn codegen_error(function: &str, source: Box<ModuleError>) -> JitError {
    JitError::Codegen {
        function: function.to_owned(),
        source,
    }
}

/// The lowered CLIF of a few predicates, so that changes to the generated
/// code show in review. Cranelift optimizes it further when compiling.
#[cfg(test)]
mod tests {
    use stagecraft_ir::{ArithOp, Builtin, CmpOp, Expr};

    use super::*;

    fn load(slot: u32) -> Box<Expr> {
        Box::new(Expr::Load(slot))
    }

    fn cmp(op: CmpOp, slot: u32, value: i64) -> Expr {
        Expr::Cmp(op, load(slot), Box::new(Expr::Const(value)))
    }

    fn arith(op: ArithOp, a: Expr, b: Expr) -> Expr {
        Expr::Arith(op, Box::new(a), Box::new(b))
    }

    /// Runs `build` on a fresh compiler and prints the function it built.
    fn clif(build: impl FnOnce(&mut FunctionCompiler<'_>) -> Result<usize, JitError>) -> String {
        let isa = native_isa().expect("the host is supported");
        let mut module = JITModule::new(JITBuilder::with_isa(
            isa,
            cranelift_module::default_libcall_names(),
        ));
        let mut compiler = FunctionCompiler::new(&mut module).expect("helpers declare");
        build(&mut compiler).expect("the predicate lowers");
        compiler.context.func.display().to_string()
    }

    #[test]
    fn a_comparison() {
        insta::assert_snapshot!(clif(|c| c.build_expr(0, &cmp(CmpOp::Lt, 3, 40))));
    }

    #[test]
    fn the_health_score() {
        // clamp(50 + 5*min(logins, 6) - 10*min(tickets, 3) + 2*(nps - 5), 0, 100)
        let min = |slot, cap| Expr::Call(Builtin::Min, vec![Expr::Load(slot), Expr::Const(cap)]);
        let sum = arith(
            ArithOp::Add,
            arith(
                ArithOp::Sub,
                arith(
                    ArithOp::Add,
                    Expr::Const(50),
                    arith(ArithOp::Mul, Expr::Const(5), min(4, 6)),
                ),
                arith(ArithOp::Mul, Expr::Const(10), min(5, 3)),
            ),
            arith(
                ArithOp::Mul,
                Expr::Const(2),
                arith(ArithOp::Sub, Expr::Load(6), Expr::Const(5)),
            ),
        );
        let score = Expr::Call(Builtin::Clamp, vec![sum, Expr::Const(0), Expr::Const(100)]);
        insta::assert_snapshot!(clif(|c| c.build_expr(0, &score)));
    }

    #[test]
    fn a_guard_list() {
        // integrated and logins_7d >= 3; health < 40
        let mut plan = EvalPlan::default();
        let activated = plan.add_expr(Expr::and(Expr::Load(0), cmp(CmpOp::Ge, 1, 3)));
        let at_risk = plan.add_expr(cmp(CmpOp::Lt, 3, 40));
        insta::assert_snapshot!(clif(|c| c.build_list(&plan, &[activated, at_risk])));
    }
}
