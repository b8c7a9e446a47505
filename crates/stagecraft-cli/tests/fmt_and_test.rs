//! `stagecraft fmt` and `stagecraft test` as a user runs them: output and
//! exit codes (0 success, 1 findings, 2 usage or I/O).

mod common;

use common::{code, repo, scratch, stagecraft, text};

fn stdout(out: &std::process::Output) -> String {
    text(&out.stdout)
}

const MESSY: &str = "playbook \"p\" { language 1; subject account }  # header\nstages { a initial , b }\nevent \"E\" { n: int, tag: string? }\ntransition a->b on \"E\" where event.n>2 and event.tag is set\n";

#[test]
fn fmt_reads_standard_input_and_writes_standard_output() {
    let out = stagecraft(&["fmt", "-"], &repo(), Some(MESSY.as_bytes()));
    assert_eq!(code(&out), 0);
    assert_eq!(
        stdout(&out),
        "playbook \"p\" {\n  language 1\n  subject account\n} # header\nstages { a initial, b }\nevent \"E\" {\n  n: int\n  tag: string?\n}\ntransition a -> b on \"E\" where event.n > 2 and event.tag is set\n"
    );
}

#[test]
fn fmt_check_and_diff_exit_1_when_a_file_would_change() {
    let dir = scratch("check");
    let file = dir.join("messy.playbook");
    std::fs::write(&file, MESSY).expect("written");
    let out = stagecraft(&["fmt", "--check", "messy.playbook"], &dir, None);
    assert_eq!(code(&out), 1);
    assert_eq!(stdout(&out), "would reformat messy.playbook\n");
    let out = stagecraft(&["fmt", "--diff", "messy.playbook"], &dir, None);
    assert_eq!(code(&out), 1);
    assert!(
        stdout(&out).contains("-transition a->b on"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("+transition a -> b on"));
    assert_eq!(
        std::fs::read_to_string(&file).expect("read"),
        MESSY,
        "--check and --diff write nothing"
    );

    let out = stagecraft(&["fmt", "."], &dir, None);
    assert_eq!(code(&out), 0);
    assert_ne!(std::fs::read_to_string(&file).expect("read"), MESSY);
    let out = stagecraft(&["fmt", "--check", "."], &dir, None);
    assert_eq!(code(&out), 0, "formatted files pass the check");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn fmt_refuses_a_file_with_syntax_errors_and_reports_missing_files() {
    let out = stagecraft(
        &["fmt", "-"],
        &repo(),
        Some(b"playbook \"p\" { language 1 }\nrule r {"),
    );
    assert_eq!(code(&out), 1);
    assert!(stdout(&out).is_empty());
    let out = stagecraft(&["fmt", "no/such/file.playbook"], &repo(), None);
    assert_eq!(code(&out), 2);
}

#[test]
fn test_passes_on_the_examples_with_the_ci_minimum() {
    let out = stagecraft(
        &["test", "--min-coverage", "85", "examples/"],
        &repo(),
        None,
    );
    let text = stdout(&out);
    assert_eq!(code(&out), 0, "{text}");
    assert!(
        text.trim_end().ends_with("0 failed; 0 filtered out"),
        "{text}"
    );
}

#[test]
fn test_exits_1_on_failures_and_low_coverage_and_2_without_tests() {
    let fixtures = repo().join("crates/stagecraft-testing/tests/fixtures");
    let out = stagecraft(&["test", "failing"], &fixtures, None);
    assert_eq!(code(&out), 1);
    assert!(stdout(&out).ends_with("test result: FAILED. 1 passed; 4 failed; 0 filtered out\n"));

    let out = stagecraft(&["test", "--filter", "passes", "failing"], &fixtures, None);
    assert_eq!(code(&out), 0);
    assert!(stdout(&out).ends_with("test result: ok. 1 passed; 0 failed; 4 filtered out\n"));

    let out = stagecraft(
        &["test", "--min-coverage", "80", "coverage"],
        &fixtures,
        None,
    );
    assert_eq!(code(&out), 1, "73.3% is below 80%");
    let out = stagecraft(
        &["test", "--min-coverage", "70", "coverage"],
        &fixtures,
        None,
    );
    assert_eq!(code(&out), 0);

    let out = stagecraft(&["test", "--format", "junit", "coverage"], &fixtures, None);
    assert_eq!(code(&out), 0);
    assert!(stdout(&out).starts_with("<?xml"));

    let empty = scratch("empty");
    let out = stagecraft(&["test", "."], &empty, None);
    assert_eq!(code(&out), 2);
    let out = stagecraft(&["test", "no-such-dir"], &empty, None);
    assert_eq!(code(&out), 2);
    let _ = std::fs::remove_dir_all(empty);
}
