//! The compiled code lives exactly as long as something can call it.

use std::sync::Arc;
use std::thread;

use stagecraft_ir::{ArithOp, CmpOp, EvalPlan, Evaluator, Expr, Frame, Value};
use stagecraft_jit::JitEvaluator;

fn threshold_plan(threshold: i64) -> EvalPlan {
    let mut plan = EvalPlan::default();
    plan.add_expr(Expr::Arith(
        ArithOp::Add,
        Box::new(Expr::Load(0)),
        Box::new(Expr::Const(threshold)),
    ));
    let guard = plan.add_expr(Expr::Cmp(
        CmpOp::Ge,
        Box::new(Expr::Load(0)),
        Box::new(Expr::Const(threshold)),
    ));
    plan.add_list(vec![guard]);
    plan
}

fn frame(values: &[i64]) -> Frame<'_> {
    Frame {
        values,
        present: &[1],
        now: 0,
    }
}

#[test]
fn a_new_plan_compiles_while_the_old_one_is_in_use_and_survives_its_drop() {
    let old = JitEvaluator::compile(&threshold_plan(10)).expect("the old plan compiles");
    assert_eq!(old.eval(0, &frame(&[1])), Value::Val(11));
    let new = JitEvaluator::compile(&threshold_plan(20)).expect("the new plan compiles");
    assert_eq!(old.first_true(0, &frame(&[15])).matched, Some(0));
    drop(old);
    assert_eq!(new.eval(0, &frame(&[1])), Value::Val(21));
    assert_eq!(new.first_true(0, &frame(&[15])).matched, None);
    assert_eq!(new.first_true(0, &frame(&[25])).matched, Some(0));
}

#[test]
fn clones_share_the_code_and_keep_it_alive() {
    let original = JitEvaluator::compile(&threshold_plan(3)).expect("the plan compiles");
    let clone = original.clone();
    drop(original);
    assert_eq!(clone.eval(0, &frame(&[4])), Value::Val(7));
}

#[test]
fn evaluators_are_shared_across_threads_and_replaced_repeatedly() {
    let mut current =
        Arc::new(JitEvaluator::compile(&threshold_plan(0)).expect("the plan compiles"));
    for generation in 1..50 {
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let evaluator = Arc::clone(&current);
                thread::spawn(move || {
                    (0..1_000)
                        .map(|i| evaluator.eval(0, &frame(&[i])))
                        .filter(|value| matches!(value, Value::Val(_)))
                        .count()
                })
            })
            .collect();
        // Replace the plan while the readers still run; the old code is freed
        // when the last reader drops its handle.
        current = Arc::new(
            JitEvaluator::compile(&threshold_plan(generation)).expect("the plan compiles"),
        );
        for reader in readers {
            assert_eq!(reader.join().expect("the reader finishes"), 1_000);
        }
        assert_eq!(current.eval(0, &frame(&[1])), Value::Val(1 + generation));
    }
}
