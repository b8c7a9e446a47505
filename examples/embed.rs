//! Embedding Stagecraft in a service: compile a playbook once, feed events
//! as they arrive, react to outcomes, snapshot the state, and resume.
//!
//! Run it with `cargo run -p stagecraft --example embed`.

use std::sync::Arc;

use stagecraft::ir::Program;
use stagecraft::runtime::outcome::{OutcomeKind, Status, SubjectNames};
use stagecraft::runtime::{Config, DeadLetter, Engine, Outcome, Record, Sink, Snapshot};
use stagecraft::{Backend, Source};

const PLAYBOOK: &str = r#"
playbook "embed-demo" { language 1; subject account }

event "Login" {}
event "Export Failed" { reason: enum { timeout, quota, format } }

metric logins_7d = count "Login" over 7d
metric failed_exports_1h = count "Export Failed" over 1h

stages { trial initial, active, churned terminal }
transition trial -> active when logins_7d >= 2

rule triage on "Export Failed" where failed_exports_1h >= 2 cooldown 1h {
  open ticket "export-failures" priority high with context(failed_exports_1h)
}
"#;

/// A sink a service would write: act on emitted actions, log the rest.
struct Service {
    program: Arc<Program>,
    tickets_opened: usize,
}

impl Sink for Service {
    fn outcome(&mut self, outcome: &Outcome, names: &dyn SubjectNames) {
        if let OutcomeKind::Action {
            status: Status::Emitted,
            ..
        } = outcome.kind
        {
            // A real service would call its ticketing API here, passing the
            // idempotency key so retries never open a second ticket.
            self.tickets_opened += 1;
        }
        let record = Record::render(outcome, &self.program, names);
        println!("{}", serde_json::to_string(&record).unwrap_or_default());
    }

    fn dead_letter(&mut self, dead: DeadLetter) {
        eprintln!("dead letter at line {}: {}", dead.line, dead.reason);
    }
}

fn main() {
    let checked = match Source::new("embed-demo.playbook", PLAYBOOK).check() {
        Ok(checked) => checked,
        Err((source, rejection)) => {
            for text in rejection.render("embed-demo.playbook", &source.text, false) {
                eprint!("{text}");
            }
            std::process::exit(1);
        }
    };
    let compiled = checked.compile(Backend::Jit).compiled;
    let mut service = Service {
        program: compiled.program.clone(),
        tickets_opened: 0,
    };

    let mut engine = Engine::new(compiled.clone(), Config::default());
    for line in [
        r#"{"type":"track","messageId":"1","groupId":"a1","event":"Login","timestamp":"2026-03-01T09:00:00Z"}"#,
        r#"{"type":"track","messageId":"2","groupId":"a1","event":"Login","timestamp":"2026-03-02T09:00:00Z"}"#,
        r#"{"type":"track","messageId":"3","groupId":"a1","event":"Export Failed","properties":{"reason":"quota"},"timestamp":"2026-03-02T10:00:00Z"}"#,
    ] {
        engine.push_line(line, &mut service);
    }

    // Persist the state (e.g. at shutdown) and resume from it later.
    let saved = engine.snapshot().to_json().unwrap_or_default();
    let restored = Snapshot::from_json(&saved).and_then(|s| Engine::restore(compiled.clone(), s));
    let mut engine = match restored {
        Ok(engine) => engine,
        Err(error) => {
            eprintln!("cannot restore: {error}");
            std::process::exit(2);
        }
    };
    engine.push_line(
        r#"{"type":"track","messageId":"4","groupId":"a1","event":"Export Failed","properties":{"reason":"timeout"},"timestamp":"2026-03-02T10:20:00Z"}"#,
        &mut service,
    );
    engine.finish(&mut service);

    let account = engine.subject("a1").map(|s| s.stage(engine.program()));
    let stage = account.map_or("unknown", |s| {
        engine.program().stages[s as usize].name.as_str()
    });
    eprintln!(
        "a1 is in stage `{stage}`; tickets opened: {}",
        service.tickets_opened
    );
}
