//! `stagecraft test [PATH...]`: the playbook tests next to playbooks (see
//! `docs/testing.md`), on the interpreter and the JIT, with coverage.
//!
//! Exit codes: 0 when every case passes (and coverage reaches
//! `--min-coverage`); 1 when a case fails, a test file or its playbook
//! cannot be loaded, or coverage is below the minimum; 2 for usage and I/O
//! errors (a path that does not exist, no test files found).

use std::path::PathBuf;

use clap::ValueEnum;
use stagecraft_testing::report::{self, CoverageView};
use stagecraft_testing::Options;

use crate::exit::Exit;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// cargo-test style, on standard output.
    Human,
    /// One JSON document.
    Json,
    /// JUnit XML, for CI test reports.
    Junit,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Test files (`*.tests.yaml`), playbooks (their sibling test file) or
    /// directories to search (default: the current directory).
    paths: Vec<PathBuf>,
    /// Run only the cases whose name (`FILE::CASE`) contains this.
    #[arg(long)]
    filter: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// Report coverage: transitions, rules, milestones and clauses
    /// exercised, per playbook, with what was not covered.
    #[arg(long)]
    coverage: bool,
    /// Fail (exit 1) when a playbook's coverage is below this percentage
    /// (implies coverage).
    #[arg(long, value_name = "PERCENT", value_parser = parse_percent)]
    min_coverage: Option<f64>,
}

fn parse_percent(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("`{text}` is not a percentage such as `60`"))?;
    if (0.0..=100.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("`{text}` is not between 0 and 100"))
    }
}

pub fn run(args: Args) -> Exit {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let (tests, playbooks) = match stagecraft_testing::discover(&paths) {
        Ok(found) => found,
        Err(error) => {
            eprintln!("error: {error}");
            return Exit::Usage;
        }
    };
    if tests.is_empty() {
        let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        eprintln!(
            "error: no playbook tests (`*{}`) found in {}",
            stagecraft_testing::SUFFIX,
            shown.join(", ")
        );
        return Exit::Usage;
    }
    let options = Options {
        filter: args.filter.clone(),
        coverage: args.coverage || args.min_coverage.is_some(),
    };
    let suite = stagecraft_testing::run_suite(&tests, &playbooks, &options);
    let text = match args.format {
        Format::Human => report::human(
            &suite,
            CoverageView {
                details: args.coverage,
                min: args.min_coverage,
            },
        ),
        Format::Json => report::json(&suite, args.min_coverage),
        Format::Junit => report::junit(&suite),
    };
    print!("{text}");
    let below = args
        .min_coverage
        .is_some_and(|min| !suite.below(min).is_empty());
    if suite.failed() > 0 || below {
        Exit::Findings
    } else {
        Exit::Success
    }
}
