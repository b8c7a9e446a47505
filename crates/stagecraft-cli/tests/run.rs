//! `stagecraft run` as a user runs it: the README's main command, input on
//! standard input with bad lines, a run split by a state snapshot, and exit
//! codes (0 the run completed, 2 usage or I/O; `docs/cli.md`).

mod common;

use std::path::Path;

use common::{code, repo, scratch, text};

fn stagecraft(args: &[&str], stdin: &[u8]) -> std::process::Output {
    common::stagecraft(args, &repo(), Some(stdin))
}

const W1: &str = "examples/w1.playbook";
const SAMPLE: &str = "examples/events/w1-sample.ndjson";
const UNTIL: &str = "2026-02-01T00:00:00Z";

#[test]
fn the_readme_command_prints_outcomes_and_a_summary() {
    let out = stagecraft(&["run", W1, "--events", SAMPLE, "--until", UNTIL], b"");
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    insta::assert_snapshot!("readme_outcomes", text(&out.stdout));
    insta::assert_snapshot!("readme_summary", text(&out.stderr));
}

#[test]
fn bad_lines_on_standard_input_are_dead_letters_in_place() {
    let dir = scratch("dead");
    let dead = dir.join("dead.ndjson");
    let mut events = Vec::new();
    events.extend_from_slice(br#"{"type":"group","messageId":"g1","groupId":"a1","traits":{"plan":"smb","seats":3},"timestamp":"2026-01-01T00:00:00.000Z"}"#);
    events.extend_from_slice(b"\r\n");
    events.extend_from_slice(b"not json\n");
    events.extend_from_slice(b"{\"type\":\"track\",\"messageId\":\"m1\",\"groupId\":\"a1\",\"event\":\"Login\",\"properties\":{\"x\":\"\xff\"},\"timestamp\":\"2026-01-01T00:01:00.000Z\"}\n");
    events.extend_from_slice(b"\n");
    events.extend_from_slice(br#"{"type":"track","messageId":"m2","groupId":"a1","event":"Login","properties":{},"timestamp":"2026-01-01T00:02:00.000Z"}"#);
    let out = stagecraft(
        &[
            "run",
            W1,
            "--events",
            "-",
            "--dead-letter",
            dead.to_str().expect("path"),
            "--quiet",
        ],
        &events,
    );
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    insta::assert_snapshot!("stdin_outcomes", text(&out.stdout));
    let dead = std::fs::read_to_string(&dead).expect("dead letters written");
    insta::assert_snapshot!("stdin_dead_letters", dead);
}

#[test]
fn a_run_split_by_a_state_snapshot_equals_one_run() {
    let dir = scratch("split");
    let lines: Vec<String> = std::fs::read_to_string(repo().join(SAMPLE))
        .expect("sample")
        .lines()
        .map(str::to_string)
        .collect();
    let half = lines.len() / 2;
    let (first, second) = (dir.join("first.ndjson"), dir.join("second.ndjson"));
    std::fs::write(&first, lines[..half].join("\n")).expect("first half");
    std::fs::write(&second, lines[half..].join("\n")).expect("second half");
    let state = dir.join("state.json");
    let path = |p: &Path| p.to_str().expect("path").to_string();

    let whole = stagecraft(
        &["run", W1, "--events", SAMPLE, "--until", UNTIL, "--quiet"],
        b"",
    );
    let one = stagecraft(
        &[
            "run",
            W1,
            "--events",
            &path(&first),
            "--state-out",
            &path(&state),
            "--quiet",
        ],
        b"",
    );
    let two = stagecraft(
        &[
            "run",
            W1,
            "--events",
            &path(&second),
            "--state-in",
            &path(&state),
            "--until",
            UNTIL,
            "--quiet",
        ],
        b"",
    );
    for out in [&whole, &one, &two] {
        assert_eq!(code(out), 0, "{}", text(&out.stderr));
    }
    assert!(!whole.stdout.is_empty());
    assert_eq!(text(&whole.stdout), text(&one.stdout) + &text(&two.stdout));
}

#[test]
fn an_events_file_that_cannot_be_read_exits_2() {
    let out = stagecraft(&["run", W1, "--events", "no/such/events.ndjson"], b"");
    assert_eq!(code(&out), 2);
    assert!(
        text(&out.stderr).contains("no/such/events.ndjson"),
        "{}",
        text(&out.stderr)
    );
}
