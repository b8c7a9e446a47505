//! De-duplication against a plain model: an id is a duplicate when the same
//! id was last accepted within the window and not before the horizon (the
//! newest input time minus the window). Enough ids pass through the engine
//! that its table is swept many times.

use std::collections::HashMap;
use std::sync::Arc;

use stagecraft_runtime::outcome::{DeadLetter, Outcome, Sink, SubjectNames};
use stagecraft_runtime::{Compiled, Config, Engine};

const PLAYBOOK: &str = r#"
playbook "dedupe" { language 1 version "1" subject account }
event "Login" {}
stages { new initial, done terminal }
transition new -> done on "Login"
"#;

struct Ignore;

impl Sink for Ignore {
    fn outcome(&mut self, _: &Outcome, _: &dyn SubjectNames) {}
    fn dead_letter(&mut self, dead: DeadLetter) {
        panic!("unexpected dead letter: {dead:?}");
    }
}

fn line(id: u64, time: i64) -> String {
    format!(
        r#"{{"type":"track","event":"Login","groupId":"a{}","messageId":"m{id}","timestamp":{time}}}"#,
        id % 7
    )
}

#[test]
fn duplicates_match_a_plain_model_while_the_table_is_swept() {
    let ast = stagecraft_syntax::parse(PLAYBOOK).expect("parses");
    let program = stagecraft_check::check(PLAYBOOK, &ast).expect("checks");
    let compiled = Compiled::interpreted(Arc::new(program));
    let window = 1_000;
    let config = Config {
        allowed_lateness_millis: 50,
        dedupe_window_millis: window,
    };
    let mut engine = Engine::new(compiled, config);
    let mut model: HashMap<u64, i64> = HashMap::new();
    let mut newest = i64::MIN;
    let mut expected = 0;
    // A deterministic mix: fresh ids, ids repeated soon (duplicates), ids
    // repeated after the window (not duplicates), slightly out of order.
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    for step in 0..60_000i64 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let time = step * 10 - (state % 5) as i64;
        let id = match state % 10 {
            0..=5 => step as u64 + 1_000_000,
            6..=7 => (step as u64).saturating_sub(state % 80) + 1_000_000,
            _ => (step as u64).saturating_sub(150 + state % 50) + 1_000_000,
        };
        // The engine drops input behind its watermark before de-duplicating.
        if newest != i64::MIN && time < newest - 50 {
            continue;
        }
        let horizon = newest.max(time) - window;
        let duplicate = model
            .get(&id)
            .is_some_and(|&seen| seen >= horizon && seen.abs_diff(time) <= window as u64);
        newest = newest.max(time);
        if duplicate {
            expected += 1;
        } else {
            model.insert(id, time);
        }
        engine.push_line(&line(id, time), &mut Ignore);
    }
    engine.finish(&mut Ignore);
    assert!(expected > 1_000, "the mix has duplicates: {expected}");
    assert_eq!(engine.summary().duplicates, expected);
}
