//! Every example playbook lints clean at `--fail-level warning`.

use std::path::{Path, PathBuf};

use stagecraft_lint::{lint_source, output, Level, Settings};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn examples() -> Vec<PathBuf> {
    let dir = workspace_root().join("examples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "playbook"))
        .collect();
    files.sort();
    files
}

#[test]
fn examples_lint_clean_at_warning() {
    let files = examples();
    assert!(
        files.len() >= 5,
        "expected the example playbooks, found {files:?}"
    );
    let settings = Settings {
        fail_level: Level::Warning,
        ..Settings::default()
    };
    let mut unexpected = Vec::new();
    for path in files {
        let file = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let name = format!("examples/{file}");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut report = lint_source(&name, &text, &settings);
        assert!(report.checked, "{name} must check clean");
        report.findings.retain(|f| f.level >= Level::Warning);
        if !report.findings.is_empty() {
            unexpected.push(report);
        }
    }
    assert!(
        unexpected.is_empty(),
        "example playbooks must lint clean at `warning`:\n\n{}",
        output::human(&unexpected, false)
    );
}
