//! Go-live placements come before the input and do not shift its line
//! numbers.

use stagecraft::run::Collect;
use stagecraft::runtime::{Config, Engine};
use stagecraft::{Backend, Source};

#[test]
fn placements_keep_input_line_numbers() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/w1.playbook");
    let text = std::fs::read_to_string(path).expect("w1");
    let compiled = Source::new("w1.playbook", text)
        .check()
        .map_err(|(_, r)| r.len())
        .expect("checks")
        .compile(Backend::Interpreter)
        .compiled;
    let mut engine = Engine::new(compiled.clone(), Config::default());
    let mut sink = Collect::new(&compiled);
    for account in ["a1", "a2", "a3"] {
        engine
            .place(account, &[], Some("adopting"), 1_767_225_600_000, &mut sink)
            .expect("placed");
    }
    engine.push_line(
        r#"{"type":"track","messageId":"m1","groupId":"a4","event":"Login","timestamp":"2026-01-02T00:00:00Z"}"#,
        &mut sink,
    );
    let last = sink.records.last().expect("a4 entered");
    let cause = serde_json::to_value(&last.cause).expect("cause");
    assert_eq!(cause["line"], 1, "{cause}");
    assert_eq!(engine.summary().placed, 3);
}
