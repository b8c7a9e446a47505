//! The domain solver never claims more than is true: on random conditions
//! over small traits, every state is enumerated and evaluated with the
//! reference interpreter. When the solver says a condition can never hold,
//! no state makes it true; when it says a condition always holds, every
//! state makes it true.

use stagecraft::Source;
use stagecraft_ir::{eval, Frame, Value};
use stagecraft_lint::domain::Solver;

const HEADER: &str = r#"playbook "soundness" { language 1; subject account }
traits {
  a: int in -3..3 = 0
  b: int? in 0..4
  c: enum { x, y, z } = x
  d: bool = false
}
stages { s initial, t terminal }
"#;

/// A small deterministic generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

fn number(r: &mut Rng) -> String {
    let atoms = [
        "a",
        "b",
        "a + b",
        "a * 2",
        "a - 1",
        "min(a, b)",
        "max(a, 1)",
        "abs(a)",
        "a % 2",
        "b / 2",
        "-a",
        "clamp(a, 0, 2)",
        "2 - b",
    ];
    atoms[r.next(atoms.len() as u64) as usize].to_string()
}

fn atom(r: &mut Rng) -> String {
    match r.next(7) {
        0..=2 => {
            let ops = ["==", "!=", "<", "<=", ">", ">="];
            let op = ops[r.next(6) as usize];
            let k = r.next(12) as i64 - 5;
            if r.next(3) == 0 {
                format!("{} {op} {}", number(r), number(r))
            } else {
                format!("{} {op} {k}", number(r))
            }
        }
        3 => {
            if r.next(2) == 0 {
                "b is set".into()
            } else {
                "b is not set".into()
            }
        }
        4 => ["c == x", "c != y", "c in [y, z]", "c not in [x]"][r.next(4) as usize].to_string(),
        5 => {
            if r.next(2) == 0 {
                "d".into()
            } else {
                "not d".into()
            }
        }
        _ => format!("{} in [1, 3]", number(r)),
    }
}

fn condition(r: &mut Rng, depth: u32) -> String {
    if depth == 0 || r.next(3) == 0 {
        return atom(r);
    }
    match r.next(3) {
        0 => format!(
            "({} and {})",
            condition(r, depth - 1),
            condition(r, depth - 1)
        ),
        1 => format!(
            "({} or {})",
            condition(r, depth - 1),
            condition(r, depth - 1)
        ),
        _ => format!("not ({})", condition(r, depth - 1)),
    }
}

#[test]
fn solver_claims_hold_on_every_state() {
    let mut r = Rng(std::env::var("SOUNDNESS_SEED")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(42));
    let mut checked = 0;
    let (mut never, mut always) = (0, 0);
    for _ in 0..std::env::var("SOUNDNESS_N")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(600)
    {
        let cond = condition(&mut r, 3);
        let text = format!(
            "{HEADER}segment g = {cond}\nrule use_g when g {{ update crm \"g\" = true }}\n"
        );
        let Ok(checked_pb) = Source::new("s.playbook", text.clone()).check() else {
            continue;
        };
        let program = &checked_pb.program;
        let expr = &program.segments[0].cond.expr;
        let solver = Solver::new(program);
        let term = solver.intern(expr);
        let env = solver.env(None);
        let can = solver.can_be_true(&[term], &env);
        let all = solver.always_true(&[term], &env);
        let base = program.layout.trait_base as usize;
        let len = program.layout.len as usize;
        let mut values = vec![0i64; len];
        let mut present = vec![0u8; len];
        let mut any_true = false;
        let mut all_true = true;
        for a in -3..=3 {
            for b in -1..=4 {
                for c in 0..3 {
                    for d in 0..2 {
                        values[base] = a;
                        present[base] = 1;
                        values[base + 1] = b;
                        present[base + 1] = u8::from(b >= 0);
                        values[base + 2] = c;
                        present[base + 2] = 1;
                        values[base + 3] = d;
                        present[base + 3] = 1;
                        let frame = Frame {
                            values: &values,
                            present: &present,
                            now: 0,
                        };
                        let v = eval(expr, &frame);
                        any_true |= v == Value::TRUE;
                        all_true &= v == Value::TRUE;
                    }
                }
            }
        }
        assert!(
            can || !any_true,
            "said never true, but a state makes it true: {cond}"
        );
        assert!(
            !all || all_true,
            "said always true, but a state does not: {cond}"
        );
        never += usize::from(!can);
        always += usize::from(all);
        checked += 1;
    }
    assert!(checked > 300, "too few conditions type-checked: {checked}");
    eprintln!("checked {checked}: never {never}, always {always}");
    // The solver is not vacuous: it decides a share of them.
    assert!(
        never > 10 && always > 10,
        "never: {never}, always: {always} of {checked}"
    );
}
