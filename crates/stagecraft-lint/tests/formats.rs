//! Snapshots of every output format, and of the stage diagram.

use std::path::Path;

use stagecraft::Source;
use stagecraft_lint::graph::{render, GraphFormat};
use stagecraft_lint::{lint_source, output, FileReport, Settings};

const PLAYBOOK: &str = r#"playbook "formats" { language 1; subject account }
traits { seats: int in 1..100 = 1, note: string = "" }
event "Login" {}
event "Cancelled" {}
metric logins_7d = count "Login" over 7d
stages { trial initial, paying, churned terminal }
transition any -> churned on "Cancelled"
transition trial -> paying when logins_7d >= 3
# stagecraft: ignore[SC1005] paying wins on purpose
transition trial -> churned when seats < 5
transition paying -> churned when seats > 500 and logins_7d < 1
"#;

const BROKEN: &str =
    "playbook \"broken\" { language 1 }\nstages { a initial }\ntransition a -> -> b\n";

fn reports() -> Vec<FileReport> {
    vec![
        lint_source("playbooks/formats.playbook", PLAYBOOK, &Settings::default()),
        lint_source("playbooks/broken.playbook", BROKEN, &Settings::default()),
    ]
}

#[test]
fn human() {
    insta::assert_snapshot!(output::human(&reports(), false));
}

#[test]
fn json() {
    insta::assert_snapshot!(output::json(&reports()));
}

#[test]
fn sarif() {
    let text = output::sarif(&reports());
    // The rule table is long and listed in the docs; keep the snapshot to
    // the results.
    let log: serde_json::Value = serde_json::from_str(&text).expect("json");
    insta::assert_json_snapshot!(log["runs"][0]["results"]);
}

#[test]
fn github() {
    insta::assert_snapshot!(output::github(&reports()));
}

#[test]
fn junit() {
    insta::assert_snapshot!(output::junit(&reports()));
}

fn graph(format: GraphFormat) -> String {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/lint/graph/lifecycle.playbook");
    let text = std::fs::read_to_string(path).expect("fixture");
    let checked = Source::new("lifecycle.playbook", text)
        .check()
        .expect("checks");
    render(&checked.ast, &checked.program, &checked.source.text, format)
}

#[test]
fn graph_mermaid() {
    insta::assert_snapshot!(graph(GraphFormat::Mermaid));
}

#[test]
fn graph_dot() {
    insta::assert_snapshot!(graph(GraphFormat::Dot));
}
