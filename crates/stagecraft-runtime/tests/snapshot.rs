//! Snapshots restore only into the format and playbook they were taken from.

use std::sync::Arc;

use stagecraft_runtime::outcome::{DeadLetter, Outcome, Sink, SubjectNames};
use stagecraft_runtime::snapshot::FORMAT_VERSION;
use stagecraft_runtime::{Compiled, Config, Engine, RuntimeError, Snapshot};

const PLAYBOOK: &str = r#"
playbook "snap" { language 1 version "1" subject account }
event "Login" {}
metric logins = count "Login" over 1d
stages { new initial, active terminal }
transition new -> active when logins >= 2
"#;

struct Ignore;

impl Sink for Ignore {
    fn outcome(&mut self, _: &Outcome, _: &dyn SubjectNames) {}
    fn dead_letter(&mut self, dead: DeadLetter) {
        panic!("unexpected dead letter: {dead:?}");
    }
}

fn compiled() -> Compiled {
    let ast = stagecraft_syntax::parse(PLAYBOOK).expect("parses");
    let program = stagecraft_check::check(PLAYBOOK, &ast).expect("checks");
    Compiled::interpreted(Arc::new(program))
}

#[test]
fn a_snapshot_of_another_format_is_refused_with_both_numbers() {
    let mut engine = Engine::new(compiled(), Config::default());
    engine.push_line(
        r#"{"type":"track","event":"Login","groupId":"a1","timestamp":1000}"#,
        &mut Ignore,
    );
    let json = engine.snapshot().to_json().expect("serialises");
    let same = Snapshot::from_json(&json).expect("parses");
    let restored = Engine::restore(compiled(), same).expect("restores");
    assert_eq!(restored.subject("a1").map(|s| s.entered), Some(true));

    let current = format!("\"format\":{FORMAT_VERSION}");
    assert!(json.contains(&current), "{json}");
    let old = json.replace(&current, "\"format\":1");
    let snapshot = Snapshot::from_json(&old).expect("parses");
    match Engine::restore(compiled(), snapshot) {
        Err(error @ RuntimeError::SnapshotVersion { found: 1, expected }) => {
            assert_eq!(expected, FORMAT_VERSION);
            assert!(error.to_string().contains('1'), "{error}");
        }
        other => panic!("expected a format error, got {other:?}"),
    }
}
