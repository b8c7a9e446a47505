//! Differential test: the JIT must agree with the reference interpreter on
//! every expression and frame.

use proptest::prelude::*;
use proptest::test_runner::Config;
use stagecraft_ir::decimal::SCALE;
use stagecraft_ir::{ArithOp, Builtin, CmpOp, EvalPlan, Evaluator, Expr, Frame, Interpreter, Slot};
use stagecraft_jit::JitEvaluator;

/// Frames have this many slots; expressions also read one slot past them,
/// which the interpreter treats as missing.
const FRAME_LEN: usize = 6;

fn value() -> impl Strategy<Value = i64> {
    prop_oneof![
        3 => prop::sample::select(vec![
            i64::MIN,
            i64::MIN + 1,
            -SCALE,
            -1,
            0,
            1,
            2,
            3,
            SCALE / 2,
            SCALE,
            86_400_000,
            i64::MAX - 1,
            i64::MAX,
        ]),
        3 => -100i64..100,
        1 => -(1i64 << 40)..(1i64 << 40),
        1 => any::<i64>(),
    ]
}

fn slot() -> impl Strategy<Value = Slot> {
    0..=FRAME_LEN as Slot
}

fn arith_op() -> impl Strategy<Value = ArithOp> {
    prop::sample::select(vec![
        ArithOp::Add,
        ArithOp::Sub,
        ArithOp::Mul,
        ArithOp::MulDecimal,
        ArithOp::Div,
        ArithOp::DivDecimal,
        ArithOp::DivDecimalByInt,
        ArithOp::Rem,
    ])
}

fn cmp_op() -> impl Strategy<Value = CmpOp> {
    prop::sample::select(vec![
        CmpOp::Eq,
        CmpOp::Ne,
        CmpOp::Lt,
        CmpOp::Le,
        CmpOp::Gt,
        CmpOp::Ge,
    ])
}

fn builtin() -> impl Strategy<Value = Builtin> {
    prop_oneof![
        prop::sample::select(vec![
            Builtin::Min,
            Builtin::Max,
            Builtin::Clamp,
            Builtin::Abs,
            Builtin::ToDecimal,
            Builtin::Round,
            Builtin::DateOf,
            Builtin::DaysUntil,
        ]),
        prop_oneof![Just(1i64), Just(1_000), Just(86_400_000), 1..i64::MAX]
            .prop_map(Builtin::DurationIn),
        value().prop_map(Builtin::DurationOf),
    ]
}

fn arity(builtin: Builtin) -> usize {
    match builtin {
        Builtin::Min | Builtin::Max => 2,
        Builtin::Clamp => 3,
        _ => 1,
    }
}

fn expr() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![
        4 => value().prop_map(Expr::Const),
        4 => slot().prop_map(Expr::Load),
        1 => Just(Expr::Now),
        1 => (slot(), slot()).prop_map(|(ts, fallback)| Expr::Since { ts, fallback }),
        // Errors of both kinds, so that their precedence gets exercised.
        1 => slot().prop_map(|slot| Expr::Arith(ArithOp::Div, Box::new(Expr::Load(slot)), Box::new(Expr::Const(0)))),
        1 => slot().prop_map(|slot| Expr::Arith(ArithOp::Add, Box::new(Expr::Load(slot)), Box::new(Expr::Const(i64::MAX)))),
    ];
    leaf.prop_recursive(6, 48, 3, |inner| {
        let call = (builtin(), prop::collection::vec(inner.clone(), 0..=3), prop::bool::weighted(0.9)).prop_map(
            |(builtin, mut args, exact_arity)| {
                // Mostly the right number of arguments; sometimes too few or
                // too many, which the interpreter also accepts.
                if exact_arity {
                    args.resize(arity(builtin).min(args.len()), Expr::Const(0));
                    while args.len() < arity(builtin) {
                        args.push(Expr::Load(0));
                    }
                }
                Expr::Call(builtin, args)
            },
        );
        prop_oneof![
            1 => inner.clone().prop_map(|a| Expr::Neg(Box::new(a))),
            1 => inner.clone().prop_map(|a| Expr::Not(Box::new(a))),
            1 => inner.clone().prop_map(|a| Expr::IsSet(Box::new(a))),
            2 => (arith_op(), inner.clone(), inner.clone()).prop_map(|(op, a, b)| Expr::Arith(op, Box::new(a), Box::new(b))),
            2 => (cmp_op(), inner.clone(), inner.clone()).prop_map(|(op, a, b)| Expr::Cmp(op, Box::new(a), Box::new(b))),
            2 => (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::And(Box::new(a), Box::new(b))),
            2 => (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::Or(Box::new(a), Box::new(b))),
            2 => call,
            1 => (any::<bool>(), inner.clone(), slot(), inner).prop_map(|(below, value, prev, threshold)| Expr::Crosses {
                below,
                value: Box::new(value),
                prev,
                threshold: Box::new(threshold),
            }),
        ]
    })
}

#[derive(Debug, Clone)]
struct OwnedFrame {
    values: Vec<i64>,
    present: Vec<u8>,
    now: i64,
}

impl OwnedFrame {
    fn frame(&self) -> Frame<'_> {
        Frame {
            values: &self.values,
            present: &self.present,
            now: self.now,
        }
    }
}

fn frame(len: impl Strategy<Value = usize>) -> impl Strategy<Value = OwnedFrame> {
    len.prop_flat_map(|len| {
        (
            prop::collection::vec(value(), len),
            prop::collection::vec(
                prop_oneof![3 => Just(1u8), 1 => Just(0u8), 1 => any::<u8>()],
                len,
            ),
            value(),
        )
    })
    .prop_map(|(values, present, now)| OwnedFrame {
        values,
        present,
        now,
    })
}

/// A plan whose first `standalone.len()` expressions are not in any list
/// (so they get their own function) followed by the guards, each list's
/// guards being fresh copies.
fn plan(standalone: &[Expr], lists: &[Vec<Expr>]) -> EvalPlan {
    let mut plan = EvalPlan::default();
    for expr in standalone {
        plan.add_expr(expr.clone());
    }
    for guards in lists {
        let ids = guards
            .iter()
            .map(|guard| plan.add_expr(guard.clone()))
            .collect();
        plan.add_list(ids);
    }
    plan
}

/// `PROPTEST_CASES` overrides the default, e.g. for a long local run.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

proptest! {
    #![proptest_config(Config { cases: cases(256), ..Config::default() })]

    #[test]
    fn jit_equals_interpreter(
        standalone in prop::collection::vec(expr(), 1..4),
        lists in prop::collection::vec(prop::collection::vec(expr(), 0..5), 0..3),
        frames in prop::collection::vec(frame(Just(FRAME_LEN)), 1..6),
    ) {
        let plan = plan(&standalone, &lists);
        let jit = JitEvaluator::compile(&plan).expect("the plan compiles");
        let interpreter = Interpreter::new(plan.clone());
        for owned in &frames {
            let frame = owned.frame();
            for id in 0..plan.exprs.len() as u32 {
                prop_assert_eq!(jit.eval(id, &frame), interpreter.eval(id, &frame), "expr {} {:?}", id, plan.exprs[id as usize]);
            }
            for list in 0..plan.lists.len() as u32 {
                prop_assert_eq!(jit.first_true(list, &frame), interpreter.first_true(list, &frame), "list {}", list);
            }
        }
    }

}

proptest! {
    // Short frames mostly take the interpreter path; fewer cases suffice.
    #![proptest_config(Config { cases: cases(64), ..Config::default() })]

    #[test]
    fn short_frames_are_evaluated_like_the_interpreter(
        standalone in prop::collection::vec(expr(), 1..3),
        guards in prop::collection::vec(expr(), 1..4),
        frames in prop::collection::vec(frame(0..=FRAME_LEN + 1), 1..6),
    ) {
        let plan = plan(&standalone, &[guards]);
        let jit = JitEvaluator::compile(&plan).expect("the plan compiles");
        let interpreter = Interpreter::new(plan.clone());
        for owned in &frames {
            let frame = owned.frame();
            for id in 0..plan.exprs.len() as u32 {
                prop_assert_eq!(jit.eval(id, &frame), interpreter.eval(id, &frame));
            }
            prop_assert_eq!(jit.first_true(0, &frame), interpreter.first_true(0, &frame));
        }
    }
}
