//! Builds an evaluation plan and frames from fuzzer input and checks that the
//! JIT agrees with the reference interpreter.
//!
//! Run with `cargo +nightly fuzz run jit_vs_interp` from `fuzz/`.

#![no_main]

use arbitrary::{Arbitrary, Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use stagecraft_ir::{ArithOp, Builtin, CmpOp, EvalPlan, Evaluator, Expr, Frame, Interpreter};
use stagecraft_jit::JitEvaluator;

const MAX_DEPTH: u32 = 6;
const FRAME_LEN: u32 = 6;

fn value(u: &mut Unstructured) -> Result<i64> {
    const EDGES: [i64; 8] = [
        i64::MIN,
        i64::MIN + 1,
        -1,
        0,
        1,
        1_000_000,
        i64::MAX - 1,
        i64::MAX,
    ];
    Ok(if u.ratio(1, 2)? {
        *u.choose(&EDGES)?
    } else {
        i64::arbitrary(u)?
    })
}

fn slot(u: &mut Unstructured) -> Result<u32> {
    // One past the frame: the interpreter treats it as missing.
    u.int_in_range(0..=FRAME_LEN)
}

fn boxed(u: &mut Unstructured, depth: u32) -> Result<Box<Expr>> {
    Ok(Box::new(expr(u, depth)?))
}

fn builtin(u: &mut Unstructured) -> Result<Builtin> {
    Ok(match u.int_in_range(0..=9)? {
        0 => Builtin::Min,
        1 => Builtin::Max,
        2 => Builtin::Clamp,
        3 => Builtin::Abs,
        4 => Builtin::ToDecimal,
        5 => Builtin::Round,
        // Units are positive millisecond counts; the JIT refuses others.
        6 => Builtin::DurationIn(u.int_in_range(1..=i64::MAX)?),
        7 => Builtin::DurationOf(value(u)?),
        8 => Builtin::DateOf,
        _ => Builtin::DaysUntil,
    })
}

fn expr(u: &mut Unstructured, depth: u32) -> Result<Expr> {
    let variants = if depth >= MAX_DEPTH { 4 } else { 13 };
    let next = depth + 1;
    Ok(match u.choose_index(variants)? {
        0 => Expr::Const(value(u)?),
        1 => Expr::Load(slot(u)?),
        2 => Expr::Now,
        3 => Expr::Since {
            ts: slot(u)?,
            fallback: slot(u)?,
        },
        4 => Expr::Neg(boxed(u, next)?),
        5 => Expr::Not(boxed(u, next)?),
        6 => Expr::IsSet(boxed(u, next)?),
        7 => {
            let ops = [
                ArithOp::Add,
                ArithOp::Sub,
                ArithOp::Mul,
                ArithOp::MulDecimal,
                ArithOp::Div,
                ArithOp::DivDecimal,
                ArithOp::DivDecimalByInt,
                ArithOp::Rem,
            ];
            Expr::Arith(*u.choose(&ops)?, boxed(u, next)?, boxed(u, next)?)
        }
        8 => {
            let ops = [
                CmpOp::Eq,
                CmpOp::Ne,
                CmpOp::Lt,
                CmpOp::Le,
                CmpOp::Gt,
                CmpOp::Ge,
            ];
            Expr::Cmp(*u.choose(&ops)?, boxed(u, next)?, boxed(u, next)?)
        }
        9 => Expr::And(boxed(u, next)?, boxed(u, next)?),
        10 => Expr::Or(boxed(u, next)?, boxed(u, next)?),
        11 => {
            let builtin = builtin(u)?;
            let count = u.int_in_range(0..=3)?;
            let args = (0..count).map(|_| expr(u, next)).collect::<Result<_>>()?;
            Expr::Call(builtin, args)
        }
        _ => Expr::Crosses {
            below: bool::arbitrary(u)?,
            value: boxed(u, next)?,
            prev: slot(u)?,
            threshold: boxed(u, next)?,
        },
    })
}

fn check(u: &mut Unstructured) -> Result<()> {
    let mut plan = EvalPlan::default();
    for _ in 0..u.int_in_range(1..=3)? {
        plan.add_expr(expr(u, 0)?);
    }
    let guards = (0..u.int_in_range(0..=4)?)
        .map(|_| expr(u, 0).map(|guard| plan.add_expr(guard)))
        .collect::<Result<Vec<_>>>()?;
    let list = plan.add_list(guards);

    let jit = JitEvaluator::compile(&plan).expect("well-formed plans compile");
    let interpreter = Interpreter::new(plan.clone());
    let len = FRAME_LEN as usize;
    for _ in 0..u.int_in_range(1..=4)? {
        let values = (0..len).map(|_| value(u)).collect::<Result<Vec<_>>>()?;
        let present = (0..len)
            .map(|_| u8::arbitrary(u))
            .collect::<Result<Vec<_>>>()?;
        let frame = Frame {
            values: &values,
            present: &present,
            now: value(u)?,
        };
        for id in 0..plan.exprs.len() as u32 {
            assert_eq!(
                jit.eval(id, &frame),
                interpreter.eval(id, &frame),
                "{:?}",
                plan.exprs[id as usize]
            );
        }
        assert_eq!(
            jit.first_true(list, &frame),
            interpreter.first_true(list, &frame),
            "{plan:?}"
        );
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    // Running out of input just ends the case early.
    let _ = check(&mut Unstructured::new(data));
});
