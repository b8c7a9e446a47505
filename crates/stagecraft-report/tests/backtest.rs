//! `stagecraft backtest`: one-line changes to the W1 playbook move a known
//! set of accounts (`tests/report/backtest/events.ndjson` is written so that
//! exactly `b-moves-1` and `b-moves-2` have two logins in a week and an
//! integration, and only `b-exports` has exactly two failed exports in an
//! hour).

mod common;

use common::{compile, compile_text, read};
use stagecraft_report::backtest::{backtest, human, BacktestOptions};

const EVENTS: &str = "tests/report/backtest/events.ndjson";

/// The W1 playbook with one line changed; the change must hit exactly one
/// line.
fn changed(from: &str, to: &str) -> String {
    let old = read("examples/w1.playbook");
    assert_eq!(old.matches(from).count(), 1, "`{from}` occurs once");
    let new = old.replace(from, to);
    let differing = old.lines().zip(new.lines()).filter(|(a, b)| a != b).count();
    assert_eq!(differing, 1, "a one-line change");
    new
}

fn options() -> BacktestOptions {
    BacktestOptions {
        until: stagecraft::runtime::time::parse_rfc3339("2026-02-20T00:00:00Z"),
        ..BacktestOptions::default()
    }
}

#[test]
fn a_looser_login_threshold_moves_exactly_the_accounts_with_two_logins() {
    let old = compile("examples/w1.playbook");
    let new = compile_text(
        "w1-logins-2.playbook",
        &changed("logins_7d >= 3", "logins_7d >= 2"),
    );
    let events = read(EVENTS);
    let b = backtest(&old, &new, || Ok(events.as_bytes()), &options()).expect("backtest");
    assert_eq!(b.accounts, 7);
    assert_eq!(b.stage_changes.changed, 2);
    assert_eq!(b.stage_changes.moves.len(), 1);
    let m = &b.stage_changes.moves[0];
    assert_eq!(
        (m.from.as_str(), m.to.as_str(), m.count),
        ("onboarding", "adopting", 2)
    );
    assert_eq!(m.examples, vec!["b-moves-1", "b-moves-2"]);
    // The funnel step the change is about.
    let f = b
        .funnel
        .iter()
        .find(|f| f.from == "onboarding" && f.to == "adopting")
        .expect("funnel step");
    assert_eq!((f.old_entered, f.old_converted), (7, 1));
    assert_eq!((f.new_entered, f.new_converted), (7, 3));
    // Stages now.
    let adopting = b
        .stages
        .iter()
        .find(|s| s.stage == "adopting")
        .expect("adopting");
    assert_eq!((adopting.old, adopting.new), (1, 3));
    // Velocity: two more completed stays in onboarding.
    let v = b
        .velocity
        .iter()
        .find(|v| v.stage == "onboarding")
        .expect("velocity");
    assert_eq!((v.old_completed, v.new_completed), (1, 3));
    // No action changes: the rules do not depend on the stage.
    assert!(b.actions.iter().all(|a| a.added == 0 && a.removed == 0));
    insta::assert_snapshot!("logins_2_human", human(&b));
}

#[test]
fn a_looser_rule_threshold_adds_actions_for_exactly_the_known_account() {
    let old = compile("examples/w1.playbook");
    let new = compile_text(
        "w1-exports-2.playbook",
        &changed(
            "where exports_failed_1h >= 3",
            "where exports_failed_1h >= 2",
        ),
    );
    let events = read(EVENTS);
    let b = backtest(&old, &new, || Ok(events.as_bytes()), &options()).expect("backtest");
    assert_eq!(b.stage_changes.changed, 0);
    let triage = b
        .actions
        .iter()
        .find(|a| a.name == "triage")
        .expect("triage");
    assert_eq!(
        (triage.old, triage.new, triage.added, triage.removed),
        (0, 1, 1, 0)
    );
    assert_eq!(triage.added_examples.len(), 1);
    let e = &triage.added_examples[0];
    assert_eq!(e.subject, "b-exports");
    assert_eq!(e.time, "2026-02-02T10:30:00.000Z");
    assert_eq!(e.action, "ticket \"export-failures\"");
}

#[test]
fn the_same_playbook_changes_nothing() {
    let old = compile("examples/w1.playbook");
    let events = read("examples/events/w1-sample.ndjson");
    let b = backtest(&old, &old, || Ok(events.as_bytes()), &options()).expect("backtest");
    assert_eq!(b.stage_changes.changed, 0);
    assert!(b
        .actions
        .iter()
        .all(|a| a.added == 0 && a.removed == 0 && a.old == a.new));
    assert!(b
        .funnel
        .iter()
        .all(|f| f.old_converted == f.new_converted && f.old_entered == f.new_entered));
    let json = serde_json::to_string(&b).expect("json");
    let back: stagecraft_report::backtest::Backtest = serde_json::from_str(&json).expect("parse");
    assert_eq!(back, b);
}
