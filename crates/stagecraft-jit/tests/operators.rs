//! Each operator and builtin against the interpreter, on boundary values.

use stagecraft_ir::decimal::SCALE;
use stagecraft_ir::{
    ArithOp, Builtin, CmpOp, EvalError, EvalPlan, Evaluator, Expr, FirstMatch, Frame, Interpreter,
    Value,
};
use stagecraft_jit::{host_supported, JitError, JitEvaluator, Unsupported};

const OVERFLOW: Value = Value::Err(EvalError::Overflow);
const DIV_ZERO: Value = Value::Err(EvalError::DivisionByZero);
const NOW: i64 = 1_700_000_000_000;

/// Slot 0 holds a value, slot 1 is missing; see [`frame`].
const PRESENT: u32 = 0;
const MISSING: u32 = 1;

fn frame<'a>(values: &'a [i64], present: &'a [u8]) -> Frame<'a> {
    Frame {
        values,
        present,
        now: NOW,
    }
}

/// Evaluates `expr` with the JIT, both standalone and as the only guard of a
/// list, checks both against the interpreter, and returns the JIT's value.
fn jit(expr: &Expr, frame: &Frame) -> Value {
    let mut plan = EvalPlan::default();
    let standalone = plan.add_expr(expr.clone());
    let guard = plan.add_expr(expr.clone());
    let list = plan.add_list(vec![guard]);
    let jit = JitEvaluator::compile(&plan).expect("the expression compiles");
    let interpreter = Interpreter::new(plan);

    let value = jit.eval(standalone, frame);
    assert_eq!(
        value,
        interpreter.eval(standalone, frame),
        "eval of {expr:?}"
    );
    let first = jit.first_true(list, frame);
    assert_eq!(
        first,
        interpreter.first_true(list, frame),
        "first_true of {expr:?}"
    );
    let expected_first = FirstMatch {
        matched: (value == Value::TRUE).then_some(0),
        errored: matches!(value, Value::Err(_)),
    };
    assert_eq!(first, expected_first, "first_true of {expr:?}");
    value
}

/// Evaluates over a frame where slot 0 is `x` and slot 1 is missing.
fn with_slot(expr: &Expr, x: i64) -> Value {
    jit(expr, &frame(&[x, 0], &[1, 0]))
}

fn c(value: i64) -> Box<Expr> {
    Box::new(Expr::Const(value))
}

fn load(slot: u32) -> Box<Expr> {
    Box::new(Expr::Load(slot))
}

fn arith(op: ArithOp, a: i64, b: i64) -> Value {
    // One operand from the frame, so nothing is constant-folded away.
    with_slot(&Expr::Arith(op, load(PRESENT), c(b)), a)
}

fn cmp(op: CmpOp, a: i64, b: i64) -> Value {
    with_slot(&Expr::Cmp(op, load(PRESENT), c(b)), a)
}

fn call(builtin: Builtin, args: Vec<Expr>, x: i64) -> Value {
    with_slot(&Expr::Call(builtin, args), x)
}

fn div_zero() -> Box<Expr> {
    Box::new(Expr::Arith(ArithOp::Div, load(PRESENT), c(0)))
}

fn overflow() -> Box<Expr> {
    Box::new(Expr::Neg(c(i64::MIN)))
}

const EDGES: [i64; 11] = [
    i64::MIN,
    i64::MIN + 1,
    -SCALE,
    -2,
    -1,
    0,
    1,
    2,
    SCALE,
    i64::MAX - 1,
    i64::MAX,
];

#[test]
fn the_host_is_supported() {
    assert!(host_supported());
}

#[test]
fn constants_loads_and_now() {
    assert_eq!(with_slot(&Expr::Const(i64::MIN), 0), Value::Val(i64::MIN));
    assert_eq!(
        with_slot(&Expr::Load(PRESENT), i64::MAX),
        Value::Val(i64::MAX)
    );
    assert_eq!(with_slot(&Expr::Load(MISSING), 5), Value::Missing);
    assert_eq!(with_slot(&Expr::Now, 0), Value::Val(NOW));
    // Any non-zero presence byte means present.
    assert_eq!(jit(&Expr::Load(0), &frame(&[7], &[0x80])), Value::Val(7));
}

#[test]
fn addition_subtraction_multiplication_overflow_at_the_edges() {
    assert_eq!(arith(ArithOp::Add, i64::MAX, 1), OVERFLOW);
    assert_eq!(arith(ArithOp::Add, i64::MAX, 0), Value::Val(i64::MAX));
    assert_eq!(arith(ArithOp::Sub, i64::MIN, 1), OVERFLOW);
    assert_eq!(arith(ArithOp::Sub, 0, i64::MIN), OVERFLOW);
    assert_eq!(arith(ArithOp::Mul, i64::MAX, 2), OVERFLOW);
    assert_eq!(arith(ArithOp::Mul, i64::MIN, -1), OVERFLOW);
    assert_eq!(arith(ArithOp::Mul, -3, 7), Value::Val(-21));
    for op in [ArithOp::Add, ArithOp::Sub, ArithOp::Mul] {
        for a in EDGES {
            for b in EDGES {
                arith(op, a, b);
            }
        }
    }
}

#[test]
fn division_and_remainder_report_zero_divisors_and_overflow() {
    assert_eq!(arith(ArithOp::Div, 7, 0), DIV_ZERO);
    assert_eq!(arith(ArithOp::Rem, 7, 0), DIV_ZERO);
    assert_eq!(arith(ArithOp::Div, i64::MIN, -1), OVERFLOW);
    // `checked_rem` also refuses `i64::MIN % -1`, although the result is 0.
    assert_eq!(arith(ArithOp::Rem, i64::MIN, -1), OVERFLOW);
    assert_eq!(arith(ArithOp::Div, -7, 2), Value::Val(-3));
    assert_eq!(arith(ArithOp::Rem, -7, 2), Value::Val(-1));
    for op in [ArithOp::Div, ArithOp::Rem] {
        for a in EDGES {
            for b in EDGES {
                arith(op, a, b);
            }
        }
    }
}

#[test]
fn decimal_multiplication_and_division_round_half_to_even() {
    assert_eq!(arith(ArithOp::MulDecimal, 1, SCALE / 2), Value::Val(0));
    assert_eq!(arith(ArithOp::MulDecimal, 3, SCALE / 2), Value::Val(2));
    assert_eq!(arith(ArithOp::MulDecimal, -3, SCALE / 2), Value::Val(-2));
    assert_eq!(arith(ArithOp::MulDecimal, i64::MAX, 2 * SCALE), OVERFLOW);
    assert_eq!(
        arith(ArithOp::DivDecimal, SCALE, 3 * SCALE),
        Value::Val(333_333)
    );
    assert_eq!(arith(ArithOp::DivDecimal, SCALE, 0), DIV_ZERO);
    assert_eq!(arith(ArithOp::DivDecimal, i64::MAX, 1), OVERFLOW);
    assert_eq!(arith(ArithOp::DivDecimalByInt, 5, 2), Value::Val(2));
    assert_eq!(arith(ArithOp::DivDecimalByInt, 7, 2), Value::Val(4));
    assert_eq!(arith(ArithOp::DivDecimalByInt, i64::MIN, -1), OVERFLOW);
    assert_eq!(arith(ArithOp::DivDecimalByInt, 1, 0), DIV_ZERO);
    for op in [
        ArithOp::MulDecimal,
        ArithOp::DivDecimal,
        ArithOp::DivDecimalByInt,
    ] {
        for a in EDGES {
            for b in EDGES {
                arith(op, a, b);
            }
        }
    }
}

#[test]
fn missing_propagates_through_arithmetic_and_beats_nothing_but_values() {
    for op in [
        ArithOp::Add,
        ArithOp::Div,
        ArithOp::MulDecimal,
        ArithOp::Rem,
    ] {
        assert_eq!(
            with_slot(&Expr::Arith(op, load(MISSING), c(0)), 1),
            Value::Missing
        );
        assert_eq!(
            with_slot(&Expr::Arith(op, c(1), load(MISSING)), 1),
            Value::Missing
        );
        // An error on either side wins over missing.
        assert_eq!(
            with_slot(&Expr::Arith(op, load(MISSING), div_zero()), 1),
            DIV_ZERO
        );
        assert_eq!(
            with_slot(&Expr::Arith(op, div_zero(), load(MISSING)), 1),
            DIV_ZERO
        );
    }
    // The left error wins over the right one.
    assert_eq!(
        with_slot(&Expr::Arith(ArithOp::Add, overflow(), div_zero()), 1),
        OVERFLOW
    );
    assert_eq!(
        with_slot(&Expr::Arith(ArithOp::Add, div_zero(), overflow()), 1),
        DIV_ZERO
    );
}

#[test]
fn negation_and_not() {
    assert_eq!(with_slot(&Expr::Neg(load(PRESENT)), i64::MIN), OVERFLOW);
    assert_eq!(
        with_slot(&Expr::Neg(load(PRESENT)), i64::MAX),
        Value::Val(-i64::MAX)
    );
    assert_eq!(with_slot(&Expr::Neg(load(MISSING)), 0), Value::Missing);
    assert_eq!(with_slot(&Expr::Not(load(PRESENT)), 0), Value::TRUE);
    assert_eq!(with_slot(&Expr::Not(load(PRESENT)), 5), Value::FALSE);
    assert_eq!(with_slot(&Expr::Not(load(MISSING)), 0), Value::Missing);
    assert_eq!(with_slot(&Expr::Not(div_zero()), 0), DIV_ZERO);
}

#[test]
fn comparisons_are_signed() {
    assert_eq!(cmp(CmpOp::Lt, i64::MIN, i64::MAX), Value::TRUE);
    assert_eq!(cmp(CmpOp::Gt, -1, 0), Value::FALSE);
    for op in [
        CmpOp::Eq,
        CmpOp::Ne,
        CmpOp::Lt,
        CmpOp::Le,
        CmpOp::Gt,
        CmpOp::Ge,
    ] {
        for a in EDGES {
            for b in EDGES {
                assert_eq!(cmp(op, a, b), Value::bool(op.apply(a, b)));
            }
        }
        assert_eq!(
            with_slot(&Expr::Cmp(op, load(MISSING), c(1)), 0),
            Value::Missing
        );
        assert_eq!(
            with_slot(&Expr::Cmp(op, load(MISSING), overflow()), 0),
            OVERFLOW
        );
    }
}

#[test]
fn and_or_are_three_valued_and_absorb_errors_in_both_orders() {
    let t = || c(1);
    let f = || c(0);
    let missing = || load(MISSING);
    let cases = [
        (Expr::And(f(), div_zero()), Value::FALSE),
        (Expr::And(div_zero(), f()), Value::FALSE),
        (Expr::And(f(), missing()), Value::FALSE),
        (Expr::And(missing(), f()), Value::FALSE),
        (Expr::And(t(), div_zero()), DIV_ZERO),
        (Expr::And(div_zero(), t()), DIV_ZERO),
        (Expr::And(missing(), div_zero()), DIV_ZERO),
        (Expr::And(overflow(), div_zero()), OVERFLOW),
        (Expr::And(div_zero(), overflow()), DIV_ZERO),
        (Expr::And(t(), missing()), Value::Missing),
        (Expr::And(t(), t()), Value::TRUE),
        (Expr::Or(t(), div_zero()), Value::TRUE),
        (Expr::Or(div_zero(), t()), Value::TRUE),
        (Expr::Or(missing(), t()), Value::TRUE),
        (Expr::Or(f(), div_zero()), DIV_ZERO),
        (Expr::Or(div_zero(), f()), DIV_ZERO),
        (Expr::Or(overflow(), div_zero()), OVERFLOW),
        (Expr::Or(div_zero(), missing()), DIV_ZERO),
        (Expr::Or(f(), missing()), Value::Missing),
        (Expr::Or(f(), f()), Value::FALSE),
        // Non-boolean values: `and` treats them as true, `or` as false.
        (Expr::And(c(5), c(7)), Value::TRUE),
        (Expr::Or(c(5), c(7)), Value::FALSE),
    ];
    for (expr, expected) in cases {
        assert_eq!(with_slot(&expr, 1), expected, "{expr:?}");
        // A costly right operand is branched around rather than always
        // evaluated; the result must not change.
        let costly = |e: Box<Expr>| {
            let same = Expr::Call(Builtin::Min, vec![(*e).clone(), *e]);
            Box::new(Expr::Call(Builtin::Max, vec![same.clone(), same]))
        };
        let branching = match expr {
            Expr::And(a, b) => Expr::And(a, costly(b)),
            Expr::Or(a, b) => Expr::Or(a, costly(b)),
            other => other,
        };
        assert_eq!(with_slot(&branching, 1), expected, "{branching:?}");
    }
}

#[test]
fn is_set_distinguishes_missing_from_errors() {
    assert_eq!(with_slot(&Expr::IsSet(load(PRESENT)), 0), Value::TRUE);
    assert_eq!(with_slot(&Expr::IsSet(load(MISSING)), 0), Value::FALSE);
    assert_eq!(with_slot(&Expr::IsSet(div_zero()), 0), DIV_ZERO);
    assert_eq!(with_slot(&Expr::IsSet(c(3)), 0), Value::TRUE);
}

#[test]
fn min_max_clamp_abs() {
    let x = || Expr::Load(PRESENT);
    assert_eq!(
        call(Builtin::Min, vec![x(), Expr::Const(3)], i64::MIN),
        Value::Val(i64::MIN)
    );
    assert_eq!(
        call(Builtin::Max, vec![x(), Expr::Const(3)], i64::MIN),
        Value::Val(3)
    );
    assert_eq!(
        call(Builtin::Min, vec![x(), Expr::Load(MISSING)], 1),
        Value::Missing
    );
    for value in [-5, 0, 50, 100, 150, i64::MIN, i64::MAX] {
        let clamped = call(
            Builtin::Clamp,
            vec![x(), Expr::Const(0), Expr::Const(100)],
            value,
        );
        assert_eq!(clamped, Value::Val(value.clamp(0, 100)));
    }
    // Inverted bounds give the upper one, as the interpreter does.
    assert_eq!(
        call(
            Builtin::Clamp,
            vec![x(), Expr::Const(10), Expr::Const(5)],
            7
        ),
        Value::Val(5)
    );
    assert_eq!(
        call(
            Builtin::Clamp,
            vec![x(), Expr::Load(MISSING), *overflow()],
            7
        ),
        OVERFLOW
    );
    assert_eq!(call(Builtin::Abs, vec![x()], i64::MIN), OVERFLOW);
    assert_eq!(
        call(Builtin::Abs, vec![x()], -i64::MAX),
        Value::Val(i64::MAX)
    );
    // Missing arguments are missing; extra ones are ignored.
    assert_eq!(
        call(Builtin::Clamp, vec![x(), Expr::Const(0)], 7),
        Value::Missing
    );
    assert_eq!(call(Builtin::Abs, vec![], 7), Value::Missing);
    assert_eq!(
        call(Builtin::Abs, vec![x(), *div_zero()], -7),
        Value::Val(7)
    );
}

#[test]
fn decimal_conversions_round_half_to_even() {
    let x = || vec![Expr::Load(PRESENT)];
    assert_eq!(call(Builtin::ToDecimal, x(), 3), Value::Val(3 * SCALE));
    assert_eq!(
        call(Builtin::ToDecimal, x(), i64::MAX / SCALE + 1),
        OVERFLOW
    );
    assert_eq!(
        call(Builtin::Round, x(), 2 * SCALE + SCALE / 2),
        Value::Val(2)
    );
    assert_eq!(
        call(Builtin::Round, x(), 3 * SCALE + SCALE / 2),
        Value::Val(4)
    );
    assert_eq!(call(Builtin::Round, x(), -(SCALE / 2)), Value::Val(0));
    assert_eq!(call(Builtin::Round, x(), -(3 * SCALE / 2)), Value::Val(-2));
    for value in EDGES {
        call(Builtin::Round, x(), value);
        call(Builtin::ToDecimal, x(), value);
    }
}

#[test]
fn durations_dates_and_days() {
    const DAY: i64 = 86_400_000;
    let x = || vec![Expr::Load(PRESENT)];
    assert_eq!(
        call(Builtin::DurationIn(DAY), x(), 3 * DAY + 1),
        Value::Val(3)
    );
    assert_eq!(
        call(Builtin::DurationIn(DAY), x(), -DAY - 1),
        Value::Val(-1)
    );
    assert_eq!(call(Builtin::DurationOf(DAY), x(), 2), Value::Val(2 * DAY));
    assert_eq!(
        call(Builtin::DurationOf(DAY), x(), i64::MAX / DAY + 1),
        OVERFLOW
    );
    assert_eq!(call(Builtin::DurationOf(-1), x(), i64::MIN), OVERFLOW);
    // Dates floor towards negative infinity.
    assert_eq!(call(Builtin::DateOf, x(), -1), Value::Val(-1));
    assert_eq!(call(Builtin::DateOf, x(), DAY), Value::Val(1));
    assert_eq!(call(Builtin::DaysUntil, x(), NOW / DAY + 3), Value::Val(3));
    assert_eq!(call(Builtin::DaysUntil, x(), i64::MIN), OVERFLOW);
    for value in EDGES {
        for builtin in [
            Builtin::DurationIn(1),
            Builtin::DurationIn(7),
            Builtin::DateOf,
            Builtin::DaysUntil,
        ] {
            call(builtin, x(), value);
        }
    }
}

#[test]
fn since_falls_back_when_the_timestamp_is_missing() {
    let since = Expr::Since { ts: 0, fallback: 1 };
    assert_eq!(
        jit(&since, &frame(&[NOW - 5, NOW - 9], &[1, 1])),
        Value::Val(5)
    );
    assert_eq!(
        jit(&since, &frame(&[NOW - 5, NOW - 9], &[0, 1])),
        Value::Val(9)
    );
    assert_eq!(
        jit(&since, &frame(&[NOW - 5, NOW - 9], &[0, 0])),
        Value::Missing
    );
    assert_eq!(jit(&since, &frame(&[i64::MIN, 0], &[1, 1])), OVERFLOW);
}

#[test]
fn crossing_needs_the_previous_value_on_the_other_side() {
    let crosses = |below| Expr::Crosses {
        below,
        value: load(0),
        prev: 1,
        threshold: c(40),
    };
    // slot 0: current value, slot 1: previous value
    assert_eq!(jit(&crosses(true), &frame(&[39, 40], &[1, 1])), Value::TRUE);
    assert_eq!(
        jit(&crosses(true), &frame(&[39, 39], &[1, 1])),
        Value::FALSE
    );
    assert_eq!(
        jit(&crosses(true), &frame(&[40, 45], &[1, 1])),
        Value::FALSE
    );
    assert_eq!(
        jit(&crosses(false), &frame(&[41, 40], &[1, 1])),
        Value::TRUE
    );
    assert_eq!(
        jit(&crosses(false), &frame(&[40, 39], &[1, 1])),
        Value::FALSE
    );
    // No previous value: missing, unless the current side already says no.
    assert_eq!(
        jit(&crosses(true), &frame(&[39, 0], &[1, 0])),
        Value::Missing
    );
    assert_eq!(jit(&crosses(true), &frame(&[45, 0], &[1, 0])), Value::FALSE);
    let erroring = Expr::Crosses {
        below: true,
        value: load(0),
        prev: 1,
        threshold: div_zero(),
    };
    assert_eq!(jit(&erroring, &frame(&[39, 40], &[1, 1])), DIV_ZERO);
}

#[test]
fn first_true_returns_the_first_exact_true_and_reports_earlier_errors() {
    let mut plan = EvalPlan::default();
    let errors = plan.add_expr(*div_zero());
    let missing = plan.add_expr(Expr::Load(MISSING));
    let two = plan.add_expr(Expr::Const(2));
    let holds = plan.add_expr(Expr::Cmp(CmpOp::Gt, load(PRESENT), c(0)));
    let unknown = 99;
    let lists = [
        vec![errors, missing, two, holds, errors],
        vec![holds, errors],
        vec![missing, two],
        vec![unknown, errors, holds],
        vec![],
    ];
    for list in lists.clone() {
        plan.add_list(list);
    }
    let jit = JitEvaluator::compile(&plan).expect("the plan compiles");
    let interpreter = Interpreter::new(plan);
    let f = frame(&[1, 0], &[1, 0]);
    let expected = [
        FirstMatch {
            matched: Some(3),
            errored: true,
        },
        FirstMatch {
            matched: Some(0),
            errored: false,
        },
        FirstMatch {
            matched: None,
            errored: false,
        },
        FirstMatch {
            matched: Some(2),
            errored: true,
        },
        FirstMatch {
            matched: None,
            errored: false,
        },
    ];
    for (list, expected) in (0..).zip(expected) {
        assert_eq!(jit.first_true(list, &f), expected, "list {list}");
        assert_eq!(interpreter.first_true(list, &f), expected, "list {list}");
    }
    // Unknown ids behave like the interpreter's.
    assert_eq!(jit.first_true(17, &f), FirstMatch::default());
    assert_eq!(jit.eval(unknown, &f), Value::Missing);
    // Guards are compiled into lists; evaluating one alone still works.
    assert_eq!(jit.eval(holds, &f), Value::TRUE);
}

#[test]
fn frames_shorter_than_the_slots_read_are_evaluated_like_the_interpreter() {
    let mut plan = EvalPlan::default();
    let far = plan.add_expr(Expr::IsSet(load(5)));
    let guard = plan.add_expr(Expr::Not(Box::new(Expr::IsSet(load(5)))));
    let list = plan.add_list(vec![guard]);
    let jit = JitEvaluator::compile(&plan).expect("the plan compiles");
    let short = frame(&[1, 2], &[1, 1]);
    assert_eq!(jit.eval(far, &short), Value::FALSE);
    assert_eq!(jit.first_true(list, &short).matched, Some(0));
    // Values and presence of different lengths: the shorter one counts.
    let uneven = frame(&[0; 6], &[1; 3]);
    assert_eq!(jit.eval(far, &uneven), Value::FALSE);
}

#[test]
fn unsupported_duration_units_are_compile_errors() {
    let mut plan = EvalPlan::default();
    plan.add_expr(Expr::Const(1));
    plan.add_expr(Expr::Call(Builtin::DurationIn(0), vec![Expr::Const(1)]));
    let error = JitEvaluator::compile(&plan).expect_err("a zero unit is refused");
    assert!(
        matches!(
            error,
            JitError::Unsupported {
                expr: 1,
                reason: Unsupported::DurationUnit(0)
            }
        ),
        "{error}"
    );
    assert_eq!(
        error.to_string(),
        "expression 1 cannot be compiled: duration unit 0 is not a positive number of milliseconds"
    );
}
