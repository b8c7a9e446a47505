//! Lowering of [`Expr`] trees to Cranelift IR.
//!
//! Every expression lowers to a pair: a status (`i8`, the codes of
//! [`Value::encode`](stagecraft_ir::Value::encode): 0 value, 1 missing, 2
//! overflow, 3 division by zero) and an `i64` payload that is meaningful only
//! when the status is 0. Statuses known at compile time stay constants, so an
//! operator over constants and `now` emits no status code at all.
//!
//! Each compiled function first runs an optimistic lowering that assumes
//! every sub-expression is a value and branches to the exact lowering at
//! each missing slot or failed operation it meets; when it reaches the end
//! its result is exact. The exact lowering tracks every status with the
//! interpreter's precedence. Values are the common case, so this keeps the
//! usual path short: a check costs a test and a branch that is not taken,
//! and needs no register to remember it. A comparison of loads and
//! constants is the exception: its exact lowering is as short and has no
//! branch at all, so it is all the fast path emits (see
//! `exact_path_is_enough`).
//!
//! Apart from those checks the code is straight-line, except for
//! `and`/`or`, which branch around a right operand that is not trivially
//! cheap when the left one decides.
//! Operations that could trap in hardware (division by zero,
//! `i64::MIN / -1`) get a safe divisor and report the error through the
//! status instead.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{self, types, AbiParam, BlockArg, InstBuilder, MemFlagsData};
use cranelift_frontend::FunctionBuilder;
use cranelift_module::{FuncId, Module};
use stagecraft_ir::decimal::SCALE;
use stagecraft_ir::{ArithOp, Builtin, CmpOp, EvalError, Expr, Slot};

use crate::error::Unsupported;

const STATUS_MISSING: u8 = stagecraft_ir::value::STATUS_MISSING;
const MILLIS_PER_DAY: i64 = 86_400_000;

/// Bytes in one frame value.
const VALUE_SIZE: i64 = 8;

/// The helpers of [`crate::helpers`], declared in the module being built.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HelperIds {
    pub(crate) decimal_mul: FuncId,
    pub(crate) decimal_div: FuncId,
    pub(crate) decimal_div_int: FuncId,
    pub(crate) decimal_round: FuncId,
}

/// Whether a result is a value, missing or an error: a constant when
/// compile time knows, else an `i8` code and whether it can be an error at
/// all (a status of only 0 or 1 needs fewer instructions to combine).
#[derive(Debug, Clone, Copy)]
enum Status {
    Known(u8),
    Dynamic { code: ir::Value, can_error: bool },
}

impl Status {
    fn can_error(self) -> bool {
        match self {
            Status::Known(code) => code > STATUS_MISSING,
            Status::Dynamic { can_error, .. } => can_error,
        }
    }

    /// A status computed at run time that may be any code.
    fn any(code: ir::Value) -> Status {
        Status::Dynamic {
            code,
            can_error: true,
        }
    }
}

const VALUE: Status = Status::Known(stagecraft_ir::value::STATUS_VALUE);

/// How sub-expressions are lowered.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// Statuses as the interpreter computes them.
    Exact,
    /// Assuming every sub-expression is a value and leaving for the exact
    /// path where that does not hold: fewer instructions.
    Optimistic,
}

/// A fast-path result: a value, exact when the fast path reaches it; or,
/// without a bail, the exact result.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Optimistic {
    pub(crate) value: Lowered,
    /// Where the fast path leaves when something is missing or fails
    /// (sealed, and empty for the caller to fill with the exact path), or
    /// `None` when nothing can be.
    pub(crate) bail: Option<ir::Block>,
}

/// A lowered expression: its status and payload.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lowered {
    status: Status,
    payload: ir::Value,
    /// When the payload is a boolean: the same as an `i8`, which tests and
    /// logic use directly rather than the widened payload.
    flag: Option<ir::Value>,
}

impl Lowered {
    fn new(status: Status, payload: ir::Value) -> Lowered {
        Lowered {
            status,
            payload,
            flag: None,
        }
    }

    /// The same payload with another status.
    fn with_status(self, status: Status) -> Lowered {
        Lowered { status, ..self }
    }
}

/// The frame parameters shared by every compiled function.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FrameParams {
    pub(crate) values: ir::Value,
    pub(crate) present: ir::Value,
    pub(crate) now: ir::Value,
}

/// Lowers expressions into the function under construction.
pub(crate) struct ExprLowering<'a, 'f, M: Module> {
    pub(crate) builder: &'a mut FunctionBuilder<'f>,
    module: &'a mut M,
    helpers: HelperIds,
    frame: FrameParams,
    /// Helpers already imported into this function.
    imported: Vec<(FuncId, ir::FuncRef)>,
    /// One past the highest slot read: the frame length the function needs.
    min_frame_len: usize,
    mode: Mode,
    /// Where the optimistic lowering in progress leaves for the exact path;
    /// created at the first check.
    bail: Option<ir::Block>,
}

impl<'a, 'f, M: Module> ExprLowering<'a, 'f, M> {
    pub(crate) fn new(
        builder: &'a mut FunctionBuilder<'f>,
        module: &'a mut M,
        helpers: HelperIds,
        frame: FrameParams,
    ) -> Self {
        ExprLowering {
            builder,
            module,
            helpers,
            frame,
            imported: Vec::new(),
            min_frame_len: 0,
            mode: Mode::Exact,
            bail: None,
        }
    }

    pub(crate) fn min_frame_len(&self) -> usize {
        self.min_frame_len
    }

    /// Lowers `expr` with exact statuses.
    pub(crate) fn lower(&mut self, expr: &Expr) -> Result<Lowered, Unsupported> {
        let enclosing = std::mem::replace(&mut self.mode, Mode::Exact);
        let lowered = self.node(expr);
        self.mode = enclosing;
        lowered
    }

    /// Lowers `expr` for the fast path: the result is a value, exact when
    /// the fast path gets past every check to it; otherwise it branches to
    /// the returned block, where the caller must take the exact path. An
    /// expression whose exact path is enough is lowered exactly, with no
    /// bail: it cannot fail, so its result is never an error.
    pub(crate) fn lower_optimistic(&mut self, expr: &Expr) -> Result<Optimistic, Unsupported> {
        if exact_path_is_enough(expr) {
            return Ok(Optimistic {
                value: self.lower(expr)?,
                bail: None,
            });
        }
        let enclosing_mode = std::mem::replace(&mut self.mode, Mode::Optimistic);
        self.bail = None;
        let lowered = self.node(expr);
        self.mode = enclosing_mode;
        let lowered = lowered?;
        self.note_trouble(lowered.status);
        let bail = self.bail.take();
        if let Some(bail) = bail {
            self.builder.seal_block(bail);
        }
        Ok(Optimistic {
            value: lowered.with_status(VALUE),
            bail,
        })
    }

    /// A sub-expression: exact, or in optimistic mode a value, the fast path
    /// having left where it was not.
    fn child(&mut self, expr: &Expr) -> Result<Lowered, Unsupported> {
        let lowered = self.node(expr)?;
        Ok(match self.mode {
            Mode::Exact => lowered,
            Mode::Optimistic => {
                self.note_trouble(lowered.status);
                lowered.with_status(VALUE)
            }
        })
    }

    /// On the fast path, leaves for the exact path unless `status` is a
    /// value.
    fn note_trouble(&mut self, status: Status) {
        let code = match status {
            Status::Known(0) => return,
            status => self.materialize(status),
        };
        let bail = match self.bail {
            Some(bail) => bail,
            None => *self.bail.insert(self.builder.create_block()),
        };
        let next = self.builder.create_block();
        self.builder.ins().brif(code, bail, &[], next, &[]);
        self.builder.seal_block(next);
        self.builder.switch_to_block(next);
    }

    /// In exact mode, a node's status follows the interpreter; in
    /// optimistic mode it covers only the node's own failure (or, for a
    /// leaf, missingness): its children are values, the fast path having
    /// left where they were not.
    fn node(&mut self, expr: &Expr) -> Result<Lowered, Unsupported> {
        Ok(match expr {
            Expr::Const(value) => self.constant(*value),
            Expr::Load(slot) => self.load(*slot)?,
            Expr::Now => Lowered::new(VALUE, self.frame.now),
            Expr::Neg(operand) => {
                let operand = self.child(operand)?;
                let x = operand.payload;
                let is_min = self.builder.ins().icmp_imm_s(IntCC::Equal, x, i64::MIN);
                let failure = self.failure_if(is_min, EvalError::Overflow);
                let payload = self.builder.ins().ineg(x);
                self.fallible(operand.status, failure, payload)
            }
            Expr::Not(operand) => {
                let operand = self.child(operand)?;
                let is_zero = self
                    .builder
                    .ins()
                    .icmp_imm_s(IntCC::Equal, operand.payload, 0);
                self.boolean(operand.status, is_zero)
            }
            Expr::Arith(op, left, right) => {
                let left = self.child(left)?;
                let right = self.child(right)?;
                self.arith(*op, left, right)
            }
            Expr::Cmp(op, left, right) => {
                let left = self.child(left)?;
                let right = self.child(right)?;
                let holds = self
                    .builder
                    .ins()
                    .icmp(int_cc(*op), left.payload, right.payload);
                let status = self.combine(left.status, right.status);
                self.boolean(status, holds)
            }
            Expr::And(left, right) => self.short_circuit(Junction::And, left, right)?,
            Expr::Or(left, right) => self.short_circuit(Junction::Or, left, right)?,
            Expr::IsSet(operand) => {
                let operand = self.child(operand)?;
                self.is_set(operand)
            }
            Expr::Call(builtin, args) => self.call(*builtin, args)?,
            Expr::Since { ts, fallback } => self.since(*ts, *fallback)?,
            Expr::Crosses {
                below,
                value,
                prev,
                threshold,
            } => {
                let value = self.child(value)?;
                let threshold = self.child(threshold)?;
                let before = self.load(*prev)?;
                // Below: was at or above, is now under; above: the mirror.
                let (before_cc, after_cc) = if *below {
                    (IntCC::SignedGreaterThanOrEqual, IntCC::SignedLessThan)
                } else {
                    (IntCC::SignedLessThanOrEqual, IntCC::SignedGreaterThan)
                };
                let crossed = self.compare(before_cc, before, threshold);
                let after = self.compare(after_cc, value, threshold);
                let (status, flag) = self.junction_of(Junction::And, crossed, after);
                self.boolean(status, flag)
            }
        })
    }

    /// `1` exactly when `lowered` is the boolean value `expected`, as an
    /// `i8`.
    pub(crate) fn is_exactly(&mut self, lowered: Lowered, expected: bool) -> ir::Value {
        let status = match lowered.status {
            Status::Known(0) => None,
            Status::Known(_) => return self.builder.ins().iconst(types::I8, 0),
            Status::Dynamic { code, .. } => Some(code),
        };
        let equal = match lowered.flag {
            Some(flag) if expected => flag,
            Some(flag) => self.builder.ins().icmp_imm_s(IntCC::Equal, flag, 0),
            None => {
                self.builder
                    .ins()
                    .icmp_imm_s(IntCC::Equal, lowered.payload, i64::from(expected))
            }
        };
        match status {
            None => equal,
            Some(status) => {
                let is_value = self.builder.ins().icmp_imm_s(IntCC::Equal, status, 0);
                self.builder.ins().band(is_value, equal)
            }
        }
    }

    /// `1` when `lowered` is an error, as an `i8`.
    pub(crate) fn is_error(&mut self, lowered: Lowered) -> ir::Value {
        match lowered.status {
            Status::Dynamic {
                code,
                can_error: true,
            } => self.builder.ins().icmp_imm_s(
                IntCC::UnsignedGreaterThan,
                code,
                i64::from(STATUS_MISSING),
            ),
            status => {
                let can_error = status.can_error();
                self.builder.ins().iconst(types::I8, i64::from(can_error))
            }
        }
    }

    /// Returns the payload and the status.
    pub(crate) fn return_result(&mut self, lowered: Lowered) {
        let status = self.materialize(lowered.status);
        self.builder.ins().return_(&[lowered.payload, status]);
    }

    fn constant(&mut self, value: i64) -> Lowered {
        let payload = self.builder.ins().iconst(types::I64, value);
        Lowered::new(VALUE, payload)
    }

    fn missing(&mut self) -> Lowered {
        let payload = self.builder.ins().iconst(types::I64, 0);
        Lowered::new(Status::Known(STATUS_MISSING), payload)
    }

    /// A boolean result from an `i8` flag.
    fn boolean(&mut self, status: Status, flag: ir::Value) -> Lowered {
        Lowered {
            status,
            payload: self.widen_bool(flag),
            flag: Some(flag),
        }
    }

    /// Loads a slot; callers guarantee the frame holds at least
    /// `min_frame_len` slots, so loads never go out of bounds.
    fn load(&mut self, slot: Slot) -> Result<Lowered, Unsupported> {
        let (present, value) = self.load_raw(slot)?;
        let is_missing = self.builder.ins().icmp_imm_s(IntCC::Equal, present, 0);
        // `icmp` yields 1 for missing, which is exactly the missing status.
        let status = Status::Dynamic {
            code: is_missing,
            can_error: false,
        };
        Ok(Lowered::new(status, value))
    }

    /// The presence byte and the value of a slot.
    fn load_raw(&mut self, slot: Slot) -> Result<(ir::Value, ir::Value), Unsupported> {
        let value_offset = i64::from(slot)
            .checked_mul(VALUE_SIZE)
            .and_then(|offset| i32::try_from(offset).ok())
            .ok_or(Unsupported::SlotTooHigh(slot))?;
        let present_offset = i32::try_from(slot).map_err(|_| Unsupported::SlotTooHigh(slot))?;
        let needed = usize::try_from(slot)
            .ok()
            .and_then(|slot| slot.checked_add(1))
            .ok_or(Unsupported::SlotTooHigh(slot))?;
        self.min_frame_len = self.min_frame_len.max(needed);
        // The frame is borrowed immutably for the whole call and its length
        // is checked before the call, so loads neither trap nor see writes.
        // The exact path loads afresh rather than reuse the fast path's
        // loads, which would keep them alive (and spilled) across it.
        let flags = match self.mode {
            Mode::Optimistic => MemFlagsData::trusted().with_readonly().with_can_move(),
            Mode::Exact => MemFlagsData::trusted(),
        };
        let present = self
            .builder
            .ins()
            .load(types::I8, flags, self.frame.present, present_offset);
        let value = self
            .builder
            .ins()
            .load(types::I64, flags, self.frame.values, value_offset);
        Ok((present, value))
    }

    fn materialize(&mut self, status: Status) -> ir::Value {
        match status {
            Status::Known(code) => self.builder.ins().iconst(types::I8, i64::from(code)),
            Status::Dynamic { code, .. } => code,
        }
    }

    /// The status of an operation over two operands, as the interpreter's
    /// `map2`: the left error, else the right error, else missing if either
    /// is missing, else a value.
    fn combine(&mut self, left: Status, right: Status) -> Status {
        match (left, right) {
            (Status::Known(0), other) | (other, Status::Known(0)) => other,
            (Status::Known(left), _) if left > STATUS_MISSING => Status::Known(left),
            (Status::Known(left), Status::Known(right)) => Status::Known(left.max(right)),
            // Missing on the left, and no error on the right: missing.
            (Status::Known(left), right) if !right.can_error() => Status::Known(left),
            (left, right) if !left.can_error() && !right.can_error() => {
                let left = self.materialize(left);
                let right = self.materialize(right);
                Status::Dynamic {
                    code: self.builder.ins().bor(left, right),
                    can_error: false,
                }
            }
            (left, right) => {
                let left = self.materialize(left);
                let right = self.materialize(right);
                let left_is_error = self.builder.ins().icmp_imm_s(
                    IntCC::UnsignedGreaterThan,
                    left,
                    i64::from(STATUS_MISSING),
                );
                // With no left error both are 0 or 1 or the right is an error:
                // the larger code is the answer.
                let larger = self.builder.ins().umax(left, right);
                Status::any(self.builder.ins().select(left_is_error, left, larger))
            }
        }
    }

    /// The status code `error` when `condition` holds, else 0.
    fn failure_if(&mut self, condition: ir::Value, error: EvalError) -> ir::Value {
        // Optimistic statuses of failing operations only decide whether to
        // leave the fast path, for which any non-zero code will do.
        if let Mode::Optimistic = self.mode {
            return condition;
        }
        let code = self
            .builder
            .ins()
            .iconst(types::I8, i64::from(error.code()));
        let ok = self.builder.ins().iconst(types::I8, 0);
        self.builder.ins().select(condition, code, ok)
    }

    /// An operation whose operands have status `inputs` and that itself
    /// failed with status code `failure` (0 when it succeeded). The
    /// operation's own failure counts only when the operands were values.
    fn fallible(&mut self, inputs: Status, failure: ir::Value, payload: ir::Value) -> Lowered {
        let status = match inputs {
            Status::Known(0) => Status::any(failure),
            known @ Status::Known(_) => known,
            Status::Dynamic { code, .. } => {
                Status::any(self.builder.ins().select(code, code, failure))
            }
        };
        Lowered::new(status, payload)
    }

    fn widen_bool(&mut self, flag: ir::Value) -> ir::Value {
        self.builder.ins().uextend(types::I64, flag)
    }

    fn compare(&mut self, cc: IntCC, left: Lowered, right: Lowered) -> Lowered {
        let holds = self.builder.ins().icmp(cc, left.payload, right.payload);
        let status = self.combine(left.status, right.status);
        self.boolean(status, holds)
    }

    /// A two-operand operation that cannot fail.
    fn total(&mut self, left: Lowered, right: Lowered, payload: ir::Value) -> Lowered {
        let status = self.combine(left.status, right.status);
        Lowered::new(status, payload)
    }

    fn arith(&mut self, op: ArithOp, left: Lowered, right: Lowered) -> Lowered {
        let inputs = self.combine(left.status, right.status);
        let (x, y) = (left.payload, right.payload);
        let (payload, failure) = match op {
            ArithOp::Add => self.with_overflow_flag(|ins| ins.sadd_overflow(x, y)),
            ArithOp::Sub => self.with_overflow_flag(|ins| ins.ssub_overflow(x, y)),
            ArithOp::Mul => self.with_overflow_flag(|ins| ins.smul_overflow(x, y)),
            ArithOp::Div | ArithOp::Rem => self.checked_division(op, x, y),
            ArithOp::MulDecimal => self.call_fallible_helper(self.helpers.decimal_mul, x, y),
            ArithOp::DivDecimal => self.call_fallible_helper(self.helpers.decimal_div, x, y),
            ArithOp::DivDecimalByInt => {
                self.call_fallible_helper(self.helpers.decimal_div_int, x, y)
            }
        };
        self.fallible(inputs, failure, payload)
    }

    /// Runs an `*_overflow` instruction; returns its result and the
    /// overflow status code.
    fn with_overflow_flag(
        &mut self,
        emit: impl FnOnce(cranelift_frontend::FuncInstBuilder<'_, 'f>) -> (ir::Value, ir::Value),
    ) -> (ir::Value, ir::Value) {
        let (result, overflowed) = emit(self.builder.ins());
        let failure = self.failure_if(overflowed, EvalError::Overflow);
        (result, failure)
    }

    /// Truncating division or remainder that reports division by zero and
    /// `i64::MIN / -1` (also for `%`, as `checked_rem` does) instead of
    /// trapping.
    fn checked_division(
        &mut self,
        op: ArithOp,
        x: ir::Value,
        y: ir::Value,
    ) -> (ir::Value, ir::Value) {
        let ins = self.builder.ins();
        let by_zero = ins.icmp_imm_s(IntCC::Equal, y, 0);
        let x_is_min = self.builder.ins().icmp_imm_s(IntCC::Equal, x, i64::MIN);
        let y_is_minus_one = self.builder.ins().icmp_imm_s(IntCC::Equal, y, -1);
        let overflows = self.builder.ins().band(x_is_min, y_is_minus_one);
        let unsafe_divisor = self.builder.ins().bor(by_zero, overflows);
        let one = self.builder.ins().iconst(types::I64, 1);
        let divisor = self.builder.ins().select(unsafe_divisor, one, y);
        let result = if op == ArithOp::Rem {
            self.builder.ins().srem(x, divisor)
        } else {
            self.builder.ins().sdiv(x, divisor)
        };
        let overflow = self.failure_if(overflows, EvalError::Overflow);
        let division_by_zero = self
            .builder
            .ins()
            .iconst(types::I8, i64::from(EvalError::DivisionByZero.code()));
        let failure = self
            .builder
            .ins()
            .select(by_zero, division_by_zero, overflow);
        (result, failure)
    }

    fn helper_ref(&mut self, helper: FuncId) -> ir::FuncRef {
        if let Some((_, func_ref)) = self.imported.iter().find(|(id, _)| *id == helper) {
            return *func_ref;
        }
        let func_ref = self.module.declare_func_in_func(helper, self.builder.func);
        self.imported.push((helper, func_ref));
        func_ref
    }

    /// Calls `helper(x, y) -> (payload, status)`.
    fn call_fallible_helper(
        &mut self,
        helper: FuncId,
        x: ir::Value,
        y: ir::Value,
    ) -> (ir::Value, ir::Value) {
        let func_ref = self.helper_ref(helper);
        let call = self.builder.ins().call(func_ref, &[x, y]);
        let results = self.builder.inst_results(call);
        (results[0], results[1])
    }

    fn short_circuit(
        &mut self,
        junction: Junction,
        left: &Expr,
        right: &Expr,
    ) -> Result<Lowered, Unsupported> {
        // Evaluating a cheap right operand costs less than a branch that the
        // CPU may mispredict; both orders give the same result.
        if is_cheap(right) {
            let left = self.child(left)?;
            let right = self.child(right)?;
            let (status, flag) = self.junction_of(junction, left, right);
            return Ok(self.boolean(status, flag));
        }
        if let Mode::Optimistic = self.mode {
            return self.optimistic_short_circuit(junction, left, right);
        }
        let left = self.lower(left)?;
        let decides = self.is_exactly(left, junction.deciding_value());
        let right_block = self.builder.create_block();
        let done = self.builder.create_block();
        let status = self.builder.append_block_param(done, types::I8);
        let flag = self.builder.append_block_param(done, types::I8);

        let value_status = self.builder.ins().iconst(types::I8, 0);
        let deciding_flag = self
            .builder
            .ins()
            .iconst(types::I8, i64::from(junction.deciding_value()));
        self.builder.ins().brif(
            decides,
            done,
            &[
                BlockArg::Value(value_status),
                BlockArg::Value(deciding_flag),
            ],
            right_block,
            &[],
        );
        self.builder.seal_block(right_block);

        self.builder.switch_to_block(right_block);
        let right = self.lower(right)?;
        let (result_status, result_flag) = self.junction_of(junction, left, right);
        let can_error = result_status.can_error();
        let result_status = self.materialize(result_status);
        self.builder.ins().jump(
            done,
            &[BlockArg::Value(result_status), BlockArg::Value(result_flag)],
        );
        self.builder.seal_block(done);

        self.builder.switch_to_block(done);
        let status = Status::Dynamic {
            code: status,
            can_error,
        };
        Ok(self.boolean(status, flag))
    }

    /// `and`/`or` on the fast path: a left operand that decides skips the
    /// right one.
    fn optimistic_short_circuit(
        &mut self,
        junction: Junction,
        left: &Expr,
        right: &Expr,
    ) -> Result<Lowered, Unsupported> {
        let left = self.child(left)?;
        let decides = self.is_exactly(left, junction.deciding_value());
        let right_block = self.builder.create_block();
        let done = self.builder.create_block();
        let flag = self.builder.append_block_param(done, types::I8);
        let deciding_flag = self
            .builder
            .ins()
            .iconst(types::I8, i64::from(junction.deciding_value()));
        self.builder.ins().brif(
            decides,
            done,
            &[BlockArg::Value(deciding_flag)],
            right_block,
            &[],
        );
        self.builder.seal_block(right_block);

        self.builder.switch_to_block(right_block);
        let right = self.child(right)?;
        // Both operands are values here.
        let (_, result_flag) = self.junction_of(junction, left, right);
        self.builder
            .ins()
            .jump(done, &[BlockArg::Value(result_flag)]);
        self.builder.seal_block(done);

        self.builder.switch_to_block(done);
        Ok(self.boolean(VALUE, flag))
    }

    /// Three-valued `and`/`or` of two evaluated operands, as the
    /// interpreter's `and`/`or`: the deciding value wins from either side;
    /// otherwise the left error, the right error, missing, or the other
    /// boolean. Returns the status and the boolean as an `i8`.
    fn junction_of(
        &mut self,
        junction: Junction,
        left: Lowered,
        right: Lowered,
    ) -> (Status, ir::Value) {
        let status = self.combine(left.status, right.status);
        if let (Status::Known(0), Some(left), Some(right)) = (status, left.flag, right.flag) {
            // Two booleans: plain logic.
            let flag = match junction {
                Junction::And => self.builder.ins().band(left, right),
                Junction::Or => self.builder.ins().bor(left, right),
            };
            return (VALUE, flag);
        }
        let deciding = junction.deciding_value();
        let left_decides = self.is_exactly(left, deciding);
        let right_decides = self.is_exactly(right, deciding);
        let decided = self.builder.ins().bor(left_decides, right_decides);
        let status = match status {
            Status::Known(0) => VALUE,
            undecided => {
                let can_error = undecided.can_error();
                let undecided = self.materialize(undecided);
                let value = self.builder.ins().iconst(types::I8, 0);
                Status::Dynamic {
                    code: self.builder.ins().select(decided, value, undecided),
                    can_error,
                }
            }
        };
        // Decided: the deciding value; otherwise its opposite.
        let flag = match junction {
            Junction::And => self.builder.ins().bxor_imm_s(decided, 1),
            Junction::Or => decided,
        };
        (status, flag)
    }

    fn is_set(&mut self, operand: Lowered) -> Lowered {
        match operand.status {
            Status::Known(code) if code > STATUS_MISSING => operand,
            Status::Known(code) => {
                let set = self.builder.ins().iconst(types::I8, i64::from(code == 0));
                self.boolean(VALUE, set)
            }
            Status::Dynamic {
                code: status,
                can_error: false,
            } => {
                let is_value = self.builder.ins().icmp_imm_s(IntCC::Equal, status, 0);
                self.boolean(VALUE, is_value)
            }
            Status::Dynamic { code: status, .. } => {
                let is_error = self.builder.ins().icmp_imm_s(
                    IntCC::UnsignedGreaterThan,
                    status,
                    i64::from(STATUS_MISSING),
                );
                let value = self.builder.ins().iconst(types::I8, 0);
                let is_value = self.builder.ins().icmp_imm_s(IntCC::Equal, status, 0);
                let status = Status::any(self.builder.ins().select(is_error, status, value));
                self.boolean(status, is_value)
            }
        }
    }

    fn call(&mut self, builtin: Builtin, args: &[Expr]) -> Result<Lowered, Unsupported> {
        // Like the interpreter: an absent argument is missing, extra ones
        // are ignored.
        let arity = match builtin {
            Builtin::Min | Builtin::Max => 2,
            Builtin::Clamp => 3,
            _ => 1,
        };
        let mut lowered = Vec::with_capacity(arity);
        for position in 0..arity {
            lowered.push(match args.get(position) {
                Some(arg) => self.child(arg)?,
                None => self.missing(),
            });
        }
        let first = lowered[0];
        let x = first.payload;
        Ok(match builtin {
            Builtin::Min => {
                let payload = self.builder.ins().smin(x, lowered[1].payload);
                self.total(first, lowered[1], payload)
            }
            Builtin::Max => {
                let payload = self.builder.ins().smax(x, lowered[1].payload);
                self.total(first, lowered[1], payload)
            }
            Builtin::Clamp => {
                // The interpreter's order: the lower bound is min(lo, hi),
                // then max with x, then min with hi.
                let (lo, hi) = (lowered[1], lowered[2]);
                let bound = self.builder.ins().smin(lo.payload, hi.payload);
                let bound = self.total(lo, hi, bound);
                let raised = self.builder.ins().smax(x, bound.payload);
                let raised = self.total(first, bound, raised);
                let clamped = self.builder.ins().smin(raised.payload, hi.payload);
                self.total(raised, hi, clamped)
            }
            Builtin::Abs => {
                let is_min = self.builder.ins().icmp_imm_s(IntCC::Equal, x, i64::MIN);
                let failure = self.failure_if(is_min, EvalError::Overflow);
                let payload = self.builder.ins().iabs(x);
                self.fallible(first.status, failure, payload)
            }
            Builtin::ToDecimal => self.multiply_by_constant(first, SCALE),
            Builtin::DurationOf(unit) => self.multiply_by_constant(first, unit),
            Builtin::Round => {
                let func_ref = self.helper_ref(self.helpers.decimal_round);
                let call = self.builder.ins().call(func_ref, &[x]);
                let payload = self.builder.inst_results(call)[0];
                Lowered::new(first.status, payload)
            }
            Builtin::DurationIn(unit) => {
                // A unit of 0 or -1 would make the interpreter panic; units
                // are milliseconds per unit, so only positive ones are valid.
                if unit < 1 {
                    return Err(Unsupported::DurationUnit(unit));
                }
                let payload = self.builder.ins().sdiv_imm_s(x, unit);
                Lowered::new(first.status, payload)
            }
            Builtin::DateOf => {
                let payload = self.day_of(x);
                Lowered::new(first.status, payload)
            }
            Builtin::DaysUntil => {
                let today = self.day_of(self.frame.now);
                let (payload, failure) = self.with_overflow_flag(|ins| ins.ssub_overflow(x, today));
                self.fallible(first.status, failure, payload)
            }
        })
    }

    fn multiply_by_constant(&mut self, operand: Lowered, factor: i64) -> Lowered {
        let factor = self.builder.ins().iconst(types::I64, factor);
        let x = operand.payload;
        let (payload, failure) = self.with_overflow_flag(|ins| ins.smul_overflow(x, factor));
        self.fallible(operand.status, failure, payload)
    }

    /// `millis.div_euclid(MILLIS_PER_DAY)`: truncating division, one less
    /// when a negative remainder shows it rounded up.
    fn day_of(&mut self, millis: ir::Value) -> ir::Value {
        let quotient = self.builder.ins().sdiv_imm_s(millis, MILLIS_PER_DAY);
        let remainder = self.builder.ins().srem_imm_s(millis, MILLIS_PER_DAY);
        let rounded_up = self
            .builder
            .ins()
            .icmp_imm_s(IntCC::SignedLessThan, remainder, 0);
        let correction = self.widen_bool(rounded_up);
        self.builder.ins().isub(quotient, correction)
    }

    /// `now - ts`, with the fallback slot when `ts` is missing.
    fn since(&mut self, ts: Slot, fallback: Slot) -> Result<Lowered, Unsupported> {
        let (ts_present, ts_value) = self.load_raw(ts)?;
        let (fallback_present, fallback_value) = self.load_raw(fallback)?;
        let time = self
            .builder
            .ins()
            .select(ts_present, ts_value, fallback_value);
        let either_present = self.builder.ins().bor(ts_present, fallback_present);
        let missing = self
            .builder
            .ins()
            .icmp_imm_s(IntCC::Equal, either_present, 0);
        let now = self.frame.now;
        let (payload, failure) = self.with_overflow_flag(|ins| ins.ssub_overflow(now, time));
        let inputs = Status::Dynamic {
            code: missing,
            can_error: false,
        };
        Ok(self.fallible(inputs, failure, payload))
    }
}

#[derive(Debug, Clone, Copy)]
enum Junction {
    And,
    Or,
}

impl Junction {
    /// The operand value that decides the result on its own.
    fn deciding_value(self) -> bool {
        match self {
            Junction::And => false,
            Junction::Or => true,
        }
    }
}

/// Whether an expression is a few inline instructions: small, and calling
/// no helper.
fn is_cheap(expr: &Expr) -> bool {
    const CHEAP_NODES: usize = 4;
    let mut nodes = 0;
    let mut calls_helper = false;
    expr.walk(&mut |node| {
        nodes += 1;
        calls_helper |= matches!(
            node,
            Expr::Arith(
                ArithOp::MulDecimal | ArithOp::DivDecimal | ArithOp::DivDecimalByInt,
                ..
            ) | Expr::Call(Builtin::Round, _)
        );
    });
    nodes <= CHEAP_NODES && !calls_helper
}

fn int_cc(op: CmpOp) -> IntCC {
    match op {
        CmpOp::Eq => IntCC::Equal,
        CmpOp::Ne => IntCC::NotEqual,
        CmpOp::Lt => IntCC::SignedLessThan,
        CmpOp::Le => IntCC::SignedLessThanOrEqual,
        CmpOp::Gt => IntCC::SignedGreaterThan,
        CmpOp::Ge => IntCC::SignedGreaterThanOrEqual,
    }
}

/// Signature parameters shared by expression and list functions: `values`,
/// `present` and `now`.
pub(crate) fn frame_params(pointer_type: ir::Type) -> [AbiParam; 3] {
    [
        AbiParam::new(pointer_type),
        AbiParam::new(pointer_type),
        AbiParam::new(types::I64),
    ]
}

/// Whether an expression needs no fast path: a comparison of loads and
/// constants (or its negation, or a presence test) cannot fail, and its
/// exact lowering is a few instructions without a branch, where a fast path
/// would add a branch on the presence bytes that mispredicts whenever a
/// value is missing.
fn exact_path_is_enough(expr: &Expr) -> bool {
    let mut enough = true;
    expr.walk(&mut |node| {
        enough &= matches!(
            node,
            Expr::Const(_)
                | Expr::Load(_)
                | Expr::Now
                | Expr::Cmp(..)
                | Expr::Not(_)
                | Expr::IsSet(_)
        );
    });
    enough
}
