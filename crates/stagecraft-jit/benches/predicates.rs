//! Predicate evaluation: the interpreter, the JIT, and hand-written Rust
//! closures with the same semantics; and JIT compile time by plan size.
//!
//! Each iteration evaluates the predicate once for every account of a fixed
//! population (one frame per account: two vectors, as the runtime keeps per
//! subject) and the reported time is the iteration's divided by the number
//! of accounts: "ns per account per event". Criterion's per-iteration cost
//! and hiding the input from the optimizer are thus paid once per
//! population, as an engine would not pay them per account, instead of
//! once per evaluation, where they outweighed the smallest predicates.
//! All three backends run in the same loop over the same frames, each
//! called once per account (the interpreter and the JIT through their
//! concrete types, the closures through `Box<dyn Fn>`), and every result is
//! handed to `black_box` as scalars.

use std::hint::black_box;
use std::time::Instant;

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion};
use stagecraft_ir::{
    ArithOp, Builtin, CmpOp, EvalError, EvalPlan, Evaluator, Expr, ExprId, FirstMatch, Frame,
    Interpreter, ListId, Value,
};
use stagecraft_jit::JitEvaluator;

// Frame layout of the W1-like playbook.
const INTEGRATED: u32 = 0;
const LOGINS_7D: u32 = 1;
const REPORTS_30D: u32 = 2;
const HEALTH: u32 = 3;
const LOGINS: u32 = 4;
const TICKETS: u32 = 5;
const NPS: u32 = 6;
const SLOTS: usize = 7;

/// Accounts per iteration: enough that branch predictors cannot learn the
/// sequence of results, few enough that the frames stay in the L1 cache.
const ACCOUNTS: usize = 256;

fn load(slot: u32) -> Box<Expr> {
    Box::new(Expr::Load(slot))
}

fn c(value: i64) -> Box<Expr> {
    Box::new(Expr::Const(value))
}

fn cmp(op: CmpOp, slot: u32, value: i64) -> Expr {
    Expr::Cmp(op, load(slot), c(value))
}

fn arith(op: ArithOp, a: Expr, b: Expr) -> Expr {
    Expr::Arith(op, Box::new(a), Box::new(b))
}

/// `integrated and logins_7d >= 3`
fn activated() -> Expr {
    Expr::and(Expr::Load(INTEGRATED), cmp(CmpOp::Ge, LOGINS_7D, 3))
}

/// `reports_30d >= 5 and health >= 70`
fn engaged() -> Expr {
    Expr::and(cmp(CmpOp::Ge, REPORTS_30D, 5), cmp(CmpOp::Ge, HEALTH, 70))
}

/// `health < 40`
fn at_risk() -> Expr {
    cmp(CmpOp::Lt, HEALTH, 40)
}

/// `clamp(50 + 5*min(l,6) - 10*min(t,3) + 2*(nps-5), 0, 100)`
fn health_score() -> Expr {
    let min = |slot, cap| Expr::Call(Builtin::Min, vec![Expr::Load(slot), Expr::Const(cap)]);
    let sum = arith(
        ArithOp::Add,
        arith(
            ArithOp::Sub,
            arith(
                ArithOp::Add,
                Expr::Const(50),
                arith(ArithOp::Mul, Expr::Const(5), min(LOGINS, 6)),
            ),
            arith(ArithOp::Mul, Expr::Const(10), min(TICKETS, 3)),
        ),
        arith(
            ArithOp::Mul,
            Expr::Const(2),
            arith(ArithOp::Sub, Expr::Load(NPS), Expr::Const(5)),
        ),
    );
    Expr::Call(Builtin::Clamp, vec![sum, Expr::Const(0), Expr::Const(100)])
}

type Closure = Box<dyn Fn(&Frame) -> Value>;

fn read(frame: &Frame, slot: u32) -> Option<i64> {
    let slot = slot as usize;
    match (frame.values.get(slot), frame.present.get(slot)) {
        (Some(value), Some(present)) if *present != 0 => Some(*value),
        _ => None,
    }
}

/// Three-valued `and` over `Option<bool>` (`None` = missing); these
/// predicates cannot error.
fn and(left: Option<bool>, right: impl FnOnce() -> Option<bool>) -> Value {
    if left == Some(false) {
        return Value::FALSE;
    }
    match (left, right()) {
        (_, Some(false)) => Value::FALSE,
        (Some(true), Some(true)) => Value::TRUE,
        _ => Value::Missing,
    }
}

fn closures() -> [(&'static str, Expr, Closure); 4] {
    [
        (
            "activated",
            activated(),
            Box::new(|f: &Frame| {
                and(read(f, INTEGRATED).map(|v| v != 0), || {
                    read(f, LOGINS_7D).map(|v| v >= 3)
                })
            }),
        ),
        (
            "engaged",
            engaged(),
            Box::new(|f: &Frame| {
                and(read(f, REPORTS_30D).map(|v| v >= 5), || {
                    read(f, HEALTH).map(|v| v >= 70)
                })
            }),
        ),
        (
            "at_risk",
            at_risk(),
            Box::new(|f: &Frame| read(f, HEALTH).map_or(Value::Missing, |v| Value::bool(v < 40))),
        ),
        (
            "health_score",
            health_score(),
            Box::new(|f: &Frame| {
                let (Some(l), Some(t), Some(nps)) =
                    (read(f, LOGINS), read(f, TICKETS), read(f, NPS))
                else {
                    return Value::Missing;
                };
                let score = 5i64
                    .checked_mul(l.min(6))
                    .and_then(|logins| 50i64.checked_add(logins))
                    .and_then(|s| {
                        10i64
                            .checked_mul(t.min(3))
                            .and_then(|tickets| s.checked_sub(tickets))
                    })
                    .and_then(|s| {
                        nps.checked_sub(5)
                            .and_then(|n| n.checked_mul(2))
                            .and_then(|n| s.checked_add(n))
                    });
                score.map_or(Value::Err(EvalError::Overflow), |s| {
                    Value::Val(s.clamp(0, 100))
                })
            }),
        ),
    ]
}

/// Realistic frames: mostly present values in everyday ranges.
fn frames() -> Vec<(Vec<i64>, Vec<u8>)> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = |bound: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % bound) as i64
    };
    (0..ACCOUNTS)
        .map(|_| {
            let values = vec![
                next(2),
                next(10),
                next(12),
                next(101),
                next(10),
                next(5),
                next(11),
            ];
            let present = (0..SLOTS).map(|_| u8::from(next(20) != 0)).collect();
            (values, present)
        })
        .collect()
}

fn frame(owned: &(Vec<i64>, Vec<u8>)) -> Frame<'_> {
    Frame {
        values: &owned.0,
        present: &owned.1,
        now: 0,
    }
}

fn predicates(c: &mut Criterion) {
    let closures = closures();
    // Each predicate alone (evaluated with `eval`), then the three guards
    // as one list (evaluated with `first_true`).
    let mut plan = EvalPlan::default();
    let ids: Vec<ExprId> = closures
        .iter()
        .map(|(_, expr, _)| plan.add_expr(expr.clone()))
        .collect();
    let guards = [activated(), engaged(), at_risk()].map(|guard| plan.add_expr(guard));
    let list: ListId = plan.add_list(guards.to_vec());

    let interpreter = Interpreter::new(plan.clone());
    let jit = JitEvaluator::compile(&plan).expect("the benchmark plan compiles");
    let frames = frames();
    for owned in &frames {
        let f = frame(owned);
        for ((name, _, closure), id) in closures.iter().zip(&ids) {
            let expected = interpreter.eval(*id, &f);
            assert_eq!(jit.eval(*id, &f), expected, "{name}");
            assert_eq!(closure(&f), expected, "{name}");
        }
        assert_eq!(jit.first_true(list, &f), interpreter.first_true(list, &f));
        assert_eq!(
            closure_first_true(&closures, &f),
            interpreter.first_true(list, &f)
        );
    }

    // Results are consumed as plain scalars, as a caller inspecting them
    // would: handing a `Value` itself to `black_box` makes rustc copy it
    // through memory with overlapping moves whose store-forwarding stalls
    // outweigh the evaluation and vary with inlining.
    let mut group = c.benchmark_group("eval");
    for ((name, _, closure), id) in closures.iter().zip(&ids) {
        per_frame(&mut group, name, "interp", &frames, |f| {
            interpreter.eval(*id, f).encode()
        });
        per_frame(&mut group, name, "jit", &frames, |f| {
            jit.eval(*id, f).encode()
        });
        per_frame(&mut group, name, "closure", &frames, |f| {
            closure(f).encode()
        });
    }
    let list_name = "first_true_of_3";
    per_frame(&mut group, list_name, "interp", &frames, |f| {
        scalars(interpreter.first_true(list, f))
    });
    per_frame(&mut group, list_name, "jit", &frames, |f| {
        scalars(jit.first_true(list, f))
    });
    per_frame(&mut group, list_name, "closure", &frames, |f| {
        scalars(closure_first_true(&closures, f))
    });
    group.finish();
}

fn scalars(first: FirstMatch) -> (u32, bool) {
    (first.matched.unwrap_or(u32::MAX), first.errored)
}

/// Benchmarks one evaluation per account per iteration; reports the time
/// per account.
fn per_frame<R>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    backend: &str,
    frames: &[(Vec<i64>, Vec<u8>)],
    evaluate: impl Fn(&Frame) -> R,
) {
    group.bench_function(BenchmarkId::new(name, backend), |b| {
        b.iter_custom(|iterations| {
            let start = Instant::now();
            for _ in 0..iterations {
                for owned in black_box(frames) {
                    black_box(evaluate(&frame(owned)));
                }
            }
            start.elapsed() / ACCOUNTS as u32
        })
    });
}

/// The three guard closures as a list, with `first_true` semantics.
fn closure_first_true(closures: &[(&'static str, Expr, Closure); 4], frame: &Frame) -> FirstMatch {
    let mut result = FirstMatch::default();
    for (position, (_, _, guard)) in (0..).zip(&closures[..3]) {
        match guard(frame) {
            Value::TRUE => {
                result.matched = Some(position);
                return result;
            }
            Value::Err(_) => result.errored = true,
            _ => {}
        }
    }
    result
}

/// A plan of `guards` distinct guards, in lists of ten (the guards leaving
/// one stage), or as standalone expressions (one function each).
fn plan_of(guards: usize, in_lists: bool) -> EvalPlan {
    let mut plan = EvalPlan::default();
    let ids: Vec<ExprId> = (0..guards as i64)
        .map(|k| {
            plan.add_expr(Expr::Or(
                Box::new(Expr::and(
                    cmp(CmpOp::Ge, REPORTS_30D, k),
                    cmp(CmpOp::Ge, HEALTH, 70 + k),
                )),
                Box::new(cmp(CmpOp::Lt, HEALTH, 40 - k)),
            ))
        })
        .collect();
    if in_lists {
        for chunk in ids.chunks(10) {
            plan.add_list(chunk.to_vec());
        }
    }
    plan
}

fn compile_time(c: &mut Criterion) {
    let mut group = c.benchmark_group("compile");
    group.sample_size(10);
    for guards in [10, 100, 1_000, 10_000] {
        for (shape, in_lists) in [("lists_of_10", true), ("standalone", false)] {
            let plan = plan_of(guards, in_lists);
            group.bench_with_input(BenchmarkId::new(shape, guards), &plan, |b, plan| {
                b.iter(|| JitEvaluator::compile(plan).expect("the plan compiles"))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, predicates, compile_time);
criterion_main!(benches);
