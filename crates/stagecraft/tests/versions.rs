//! Replacing a running playbook with a new version keeps every account's
//! state; a version that keeps state differently is refused.

use stagecraft::run::Collect;
use stagecraft::runtime::{Config, Engine};
use stagecraft::{Backend, Source};

fn w1(edit: impl Fn(String) -> String, backend: Backend) -> stagecraft::runtime::Compiled {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/w1.playbook");
    let text = edit(std::fs::read_to_string(path).expect("w1"));
    Source::new("w1.playbook", text)
        .check()
        .map_err(|(_, r)| r.len())
        .expect("checks")
        .compile(backend)
        .compiled
}

fn track(id: u32, event: &str, props: &str, minute: u32) -> String {
    format!(
        r#"{{"type":"track","messageId":"m{id}","groupId":"a1","event":"{event}","properties":{{{props}}},"timestamp":"2026-01-01T00:{minute:02}:00Z"}}"#
    )
}

/// One account of W1. Its health after the last line is
/// 50 + 5 * 3 logins - 10 * 2 tickets + 2 * (NPS 3 - 5) = 41: not below 40
/// (version 1), below 45 (version 2).
fn lines() -> Vec<String> {
    vec![
        track(1, "Login", "", 0),
        track(2, "Login", "", 1),
        track(3, "Login", "", 2),
        // Integrated with 3 logins: onboarding -> adopting, health 65.
        track(4, "Integration Succeeded", "", 3),
        track(5, "Ticket Opened", r#""priority":"high""#, 4),
        track(6, "NPS Submitted", r#""score":1"#, 5),
        track(7, "NPS Submitted", r#""score":3"#, 6),
        track(8, "Ticket Opened", r#""priority":"high""#, 7),
    ]
}

fn stage_after(engine: &Engine) -> String {
    let subject = engine.subject("a1").expect("a1");
    engine.program().stages[subject.stage(engine.program()) as usize]
        .name
        .clone()
}

#[test]
fn a_new_threshold_applies_from_the_next_event_and_state_is_kept() {
    for backend in [Backend::Interpreter, Backend::Jit] {
        let v1 = w1(|t| t, backend);
        let v2 = w1(
            |t| t.replace("when health < 40", "when health < 45"),
            backend,
        );
        let mut engine = Engine::new(v1.clone(), Config::default());
        let mut sink = Collect::new(&v1);
        let lines = lines();
        for line in &lines[..7] {
            engine.push_line(line, &mut sink);
        }
        assert_eq!(stage_after(&engine), "adopting");
        engine.replace_playbook(v2).expect("compatible version");
        drop(v1);
        engine.push_line(&lines[7], &mut sink);
        // Health 41: not below 40 (version 1), below 45 (version 2).
        assert_eq!(stage_after(&engine), "at_risk", "{backend:?}");
        assert_eq!(engine.summary().lines, 8, "state and counters are kept");

        // Control: staying on version 1, the same account stays adopting.
        let v1 = w1(|t| t, backend);
        let mut control = Engine::new(v1.clone(), Config::default());
        let mut sink = Collect::new(&v1);
        for line in &lines {
            control.push_line(line, &mut sink);
        }
        assert_eq!(stage_after(&control), "adopting", "{backend:?}");
    }
}

#[test]
fn a_version_that_keeps_state_differently_is_refused() {
    let v1 = w1(|t| t, Backend::Interpreter);
    let v3 = w1(
        |t| {
            t.replace(
                "metric integrated",
                "metric logins_30d = count \"Login\" over 30d\nmetric integrated",
            )
        },
        Backend::Interpreter,
    );
    let mut engine = Engine::new(v1, Config::default());
    let error = engine
        .replace_playbook(v3)
        .expect_err("a new metric changes the state");
    assert!(error.to_string().contains("changed"), "{error}");
}

#[test]
fn a_new_score_formula_applies_from_the_next_event_even_one_no_metric_counts() {
    for backend in [Backend::Interpreter, Backend::Jit] {
        let v1 = w1(|t| t, backend);
        let v2 = w1(
            |t| t.replace("+ 2 * (last_nps - 5)", "+ 3 * (last_nps - 5)"),
            backend,
        );
        let health = |engine: &Engine| {
            let program = engine.program();
            let health = program.scores.iter().position(|s| s.name == "health");
            let slot = program.layout.score_base + health.expect("health") as u32;
            engine.subject("a1").expect("a1").get(slot)
        };
        let mut engine = Engine::new(v1.clone(), Config::default());
        let mut sink = Collect::new(&v1);
        for line in &lines()[..7] {
            engine.push_line(line, &mut sink);
        }
        // 50 + 5 * 3 logins - 10 * 1 ticket + 2 * (NPS 3 - 5)
        assert_eq!(health(&engine), Some(51), "{backend:?}");
        engine.replace_playbook(v2).expect("compatible version");
        drop(v1);
        engine.push_line(&track(8, "Feature Used", r#""feature":"x""#, 7), &mut sink);
        // The same metrics, the new formula: 3 * (NPS 3 - 5).
        assert_eq!(health(&engine), Some(49), "{backend:?}");
    }
}
