//! Scenario tests: `tests/scenarios/<name>/` holds a playbook, an event
//! stream and the expected outcomes. Each scenario runs on the interpreter
//! and on the JIT, in one piece and with snapshot/restore round trips, and
//! every run must produce exactly the expected files.
//!
//! Files of a scenario:
//! - `scenario.json`: `{"playbook": "<path relative to the scenario>",
//!   "until": "<RFC 3339>"?, "allowed_lateness": "<duration>"?,
//!   "dedupe_window": "<duration>"?, "about": "<what it proves>"}`
//! - `events.ndjson`: the input;
//! - `expected.ndjson`: the outcome records;
//! - `expected-dead-letters.ndjson`: the dead letters (may be empty).
//!
//! `STAGECRAFT_BLESS=1 cargo test --test scenarios` writes the expected files
//! from the interpreter's output; read every changed line before committing.

use std::path::{Path, PathBuf};

use stagecraft::runtime::{time, Config};
use stagecraft::{run, Backend, RunOptions, Source};

#[derive(Debug, serde::Deserialize)]
struct Scenario {
    playbook: String,
    #[serde(default)]
    until: Option<String>,
    #[serde(default)]
    allowed_lateness: Option<String>,
    #[serde(default)]
    dedupe_window: Option<String>,
    #[allow(dead_code, reason = "documentation for readers of scenario.json")]
    about: String,
}

fn duration(text: &str) -> i64 {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (n, unit) = text.split_at(split);
    let n: i64 = n.parse().expect("duration number");
    n * match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        other => panic!("unknown unit {other}"),
    }
}

fn scenario_dirs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/scenarios");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("tests/scenarios exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("scenario.json").exists())
        .collect();
    dirs.sort();
    dirs
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

#[test]
fn scenarios_produce_the_expected_outcomes_on_both_backends() {
    let dirs = scenario_dirs();
    assert!(
        dirs.len() >= 40,
        "expected the scenario corpus under tests/scenarios"
    );
    let bless = std::env::var_os("STAGECRAFT_BLESS").is_some();
    let mut failures = Vec::new();
    for dir in &dirs {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let scenario: Scenario =
            serde_json::from_str(&read(&dir.join("scenario.json"))).expect("scenario.json");
        let playbook_path = dir.join(&scenario.playbook);
        let checked = Source::new(playbook_path.display().to_string(), read(&playbook_path))
            .check()
            .unwrap_or_else(|(_, r)| panic!("{name}: playbook has {} error(s)", r.len()));
        // Bytes: a scenario may hold lines that are not UTF-8.
        let events_path = dir.join("events.ndjson");
        let events = std::fs::read(&events_path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", events_path.display()));
        let mut options = RunOptions {
            config: Config::default(),
            until: scenario
                .until
                .as_deref()
                .map(|u| time::parse_rfc3339(u).expect("until")),
            snapshot_after: Vec::new(),
        };
        if let Some(l) = &scenario.allowed_lateness {
            options.config.allowed_lateness_millis = duration(l);
        }
        if let Some(d) = &scenario.dedupe_window {
            options.config.dedupe_window_millis = duration(d);
        }
        let interp = checked.compile(Backend::Interpreter).compiled;
        let reference = run(&interp, &events, &options).expect("run");
        let expected_path = dir.join("expected.ndjson");
        let dead_path = dir.join("expected-dead-letters.ndjson");
        if bless {
            std::fs::write(&expected_path, reference.records_ndjson()).expect("write expected");
            std::fs::write(&dead_path, reference.dead_letters_ndjson())
                .expect("write dead letters");
        }
        let expected = read(&expected_path);
        let expected_dead = read(&dead_path);
        let jit = checked.compile(Backend::Jit);
        assert!(
            jit.fallback.is_none(),
            "{name}: JIT fell back: {:?}",
            jit.fallback
        );
        let lines = events.split(|b| *b == b'\n').count();
        let every_third: Vec<usize> = (1..lines).step_by(3).collect();
        let runs = [
            ("interp", &interp, Vec::new()),
            ("jit", &jit.compiled, Vec::new()),
            ("interp+snapshots", &interp, every_third.clone()),
            ("jit+snapshots", &jit.compiled, every_third),
        ];
        for (label, compiled, snapshots) in runs {
            let options = RunOptions {
                snapshot_after: snapshots,
                ..options.clone()
            };
            let output = run(compiled, &events, &options).expect("run");
            if output.records_ndjson() != expected {
                failures.push(format!(
                    "{name} ({label}): outcomes differ\n--- expected\n{expected}--- actual\n{}",
                    output.records_ndjson()
                ));
            }
            if output.dead_letters_ndjson() != expected_dead {
                failures.push(format!(
                    "{name} ({label}): dead letters differ\n--- expected\n{expected_dead}--- actual\n{}",
                    output.dead_letters_ndjson()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
