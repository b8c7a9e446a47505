//! Shared by the report tests: fixture paths and loading.
#![allow(dead_code)]

use std::path::PathBuf;

use stagecraft::runtime::Compiled;
use stagecraft_report::{report_from_reader, PlaybookInfo, Report, ReportOptions};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub fn compile(path: &str) -> Compiled {
    let text = read(path);
    let checked = stagecraft::Source::new(path, text)
        .check()
        .unwrap_or_else(|(_, r)| panic!("{path}: {} errors", r.len()));
    checked.compile(stagecraft::Backend::Interpreter).compiled
}

pub fn compile_text(name: &str, text: &str) -> Compiled {
    let checked = stagecraft::Source::new(name, text.to_string())
        .check()
        .unwrap_or_else(|(_, r)| panic!("{name}: {} errors", r.len()));
    checked.compile(stagecraft::Backend::Interpreter).compiled
}

/// A report scenario: a playbook, its run's outcomes, the report time.
pub struct Scenario {
    pub name: &'static str,
    pub playbook: &'static str,
    pub outcomes: &'static str,
    pub at: &'static str,
}

pub const SCENARIOS: [Scenario; 2] = [
    Scenario {
        name: "w1",
        playbook: "examples/w1.playbook",
        outcomes: "tests/report/w1/outcomes.ndjson",
        at: "2026-02-01T00:00:00.000Z",
    },
    Scenario {
        name: "lifecycle",
        playbook: "tests/report/lifecycle/playbook.playbook",
        outcomes: "tests/report/lifecycle/outcomes.ndjson",
        at: "2026-03-08T00:00:00.000Z",
    },
];

impl Scenario {
    pub fn at_ms(&self) -> i64 {
        stagecraft::runtime::time::parse_rfc3339(self.at).expect("time")
    }

    pub fn report(&self) -> Report {
        let compiled = compile(self.playbook);
        let options = ReportOptions {
            at: Some(self.at_ms()),
            ..ReportOptions::default()
        };
        let text = read(self.outcomes);
        report_from_reader(
            text.as_bytes(),
            Some(PlaybookInfo::from_program(&compiled.program)),
            options,
        )
        .expect("read")
        .finish()
    }
}
