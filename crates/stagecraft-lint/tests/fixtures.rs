//! The rule fixtures in `tests/lint/`: `SC1xxx-name.playbook` must trigger
//! its rule, `SC1xxx-name.ok.playbook` (the near miss) must lint clean, and
//! the rendered output of both is snapshot-tested.

use std::path::{Path, PathBuf};

use stagecraft_lint::{lint_source, output, registry, Settings};

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/lint")
}

fn fixtures() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures_dir())
        .expect("tests/lint exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "playbook"))
        .collect();
    files.sort();
    files
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default()
}

#[test]
fn every_rule_has_a_trigger_and_a_near_miss() {
    let names: Vec<String> = fixtures().iter().map(|p| file_name(p)).collect();
    for rule in registry() {
        let stem = format!("{}-{}", rule.code(), rule.name());
        assert!(
            names.contains(&format!("{stem}.playbook")),
            "no fixture tests/lint/{stem}.playbook"
        );
        assert!(
            names.contains(&format!("{stem}.ok.playbook")),
            "no near-miss fixture tests/lint/{stem}.ok.playbook"
        );
    }
}

#[test]
fn fixtures_trigger_their_rule_and_near_misses_are_clean() {
    let mut problems = Vec::new();
    for path in fixtures() {
        let name = file_name(&path);
        let code = &name[..6];
        let text = std::fs::read_to_string(&path).expect("readable");
        let report = lint_source(&format!("tests/lint/{name}"), &text, &Settings::default());
        if !report.checked {
            problems.push(format!(
                "{name} must check clean:\n{}",
                output::human(&[report], false)
            ));
            continue;
        }
        if name.ends_with(".ok.playbook") {
            if !report.findings.is_empty() {
                problems.push(format!(
                    "{name} must lint clean:\n{}",
                    output::human(&[report], false)
                ));
            }
        } else if !report.findings.iter().any(|f| f.code == code) {
            problems.push(format!(
                "{name} must report {code}:\n{}",
                output::human(&[report], false)
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn rendered_fixtures() {
    for path in fixtures() {
        let name = file_name(&path);
        let text = std::fs::read_to_string(&path).expect("readable");
        let report = lint_source(&format!("tests/lint/{name}"), &text, &Settings::default());
        let snapshot = name.trim_end_matches(".playbook").to_string();
        insta::assert_snapshot!(snapshot, output::human(&[report], false));
    }
}
