//! Every example playbook lints clean at `--fail-level warning`, except for
//! the known findings below: genuine issues in the examples, reported to
//! their owner. When one is fixed, remove it from `KNOWN`.

use std::path::{Path, PathBuf};

use stagecraft_lint::{lint_source, output, Level, Settings};

/// (example file, code, text the message contains).
const KNOWN: &[(&str, &str, &str)] = &[
    (
        "ecommerce-lifecycle.playbook",
        "SC1014",
        "`largest_order_365d`",
    ),
    (
        "ecommerce-lifecycle.playbook",
        "SC1014",
        "`lowest_rating_90d`",
    ),
    ("ecommerce-lifecycle.playbook", "SC1014", "`has_signed_up`"),
    (
        "micro-engagement.playbook",
        "SC1014",
        "`automation_uses_in_stage`",
    ),
    (
        "micro-engagement.playbook",
        "SC1014",
        "`dashboards_opened_3d`",
    ),
    ("product-trials.playbook", "SC1014", "`mrr`"),
];

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
    let mut seen = Vec::new();
    for path in files {
        let file = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let name = format!("examples/{file}");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut report = lint_source(&name, &text, &settings);
        assert!(report.checked, "{name} must check clean");
        report.findings.retain(|f| {
            if f.level < Level::Warning {
                return false;
            }
            match KNOWN.iter().position(|(k, code, text)| {
                *k == file && f.code == *code && f.message.contains(text)
            }) {
                Some(i) => {
                    seen.push(i);
                    false
                }
                None => true,
            }
        });
        if !report.findings.is_empty() {
            unexpected.push(report);
        }
    }
    assert!(
        unexpected.is_empty(),
        "example playbooks must lint clean at `warning`:\n\n{}",
        output::human(&unexpected, false)
    );
    let fixed: Vec<_> = (0..KNOWN.len())
        .filter(|i| !seen.contains(i))
        .map(|i| KNOWN[i])
        .collect();
    assert!(
        fixed.is_empty(),
        "fixed in the examples, remove from KNOWN: {fixed:?}"
    );
}
