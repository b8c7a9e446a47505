//! The runner itself: exact coverage of a small fixture, and the reports of a
//! failing test file (human, JUnit, JSON) as snapshots.

use std::path::PathBuf;

use stagecraft_testing::report::{self, CoverageView};
use stagecraft_testing::{discover, run_suite, Options, SuiteResult};

fn suite(dir: &str, coverage: bool, filter: Option<&str>) -> SuiteResult {
    let (tests, playbooks) = discover(&[PathBuf::from(dir)]).expect("fixtures are readable");
    run_suite(
        &tests,
        &playbooks,
        &Options {
            filter: filter.map(str::to_string),
            coverage,
        },
    )
}

#[test]
fn coverage_of_the_small_fixture_is_exact() {
    let suite = suite("tests/fixtures/coverage", true, None);
    assert_eq!((suite.passed(), suite.failed()), (2, 0));
    assert_eq!(suite.coverage.len(), 1);
    let r = &suite.coverage[0];
    assert_eq!(r.playbook, "tests/fixtures/coverage/signup.playbook");
    let counts: Vec<(&str, usize, usize)> = r
        .categories()
        .iter()
        .map(|(name, c)| (*name, c.covered, c.total))
        .collect();
    assert_eq!(
        counts,
        vec![
            ("transitions", 1, 2),
            ("rules", 2, 3),
            ("milestones", 1, 2),
            ("clauses", 7, 8),
        ]
    );
    assert_eq!((r.covered(), r.total()), (11, 15));
    assert_eq!(r.percent(), 73.3);
    assert_eq!(r.rules.percent, 66.6, "percentages round down");
    let missing: Vec<&str> = r
        .categories()
        .iter()
        .flat_map(|(_, c)| c.items.iter())
        .filter(|i| !i.covered)
        .map(|i| i.name.as_str())
        .collect();
    assert_eq!(
        missing,
        vec![
            "transition 2: active -> paying on \"Paid\"",
            "rule nudge",
            "milestone activation missed",
            "rule upsell: `activations >= 2` true",
        ]
    );
    assert!(suite.below(73.4).len() == 1 && suite.below(73.3).is_empty());
}

#[test]
fn coverage_adds_up_over_cases() {
    // One case alone covers less than both together.
    let one = suite("tests/fixtures/coverage", true, Some("a free signup"));
    assert_eq!(one.filtered_out(), 1);
    let r = &one.coverage[0];
    assert_eq!((r.covered(), r.total()), (6, 15));
}

#[test]
fn a_failing_test_file_reports_like_cargo_test() {
    let suite = suite("tests/fixtures/failing", false, None);
    assert_eq!((suite.passed(), suite.failed()), (1, 4));
    let text = report::human(
        &suite,
        CoverageView {
            details: false,
            min: None,
        },
    );
    insta::assert_snapshot!("failing-human", text);
}

#[test]
fn a_failing_test_file_as_junit() {
    let suite = suite("tests/fixtures/failing", false, None);
    insta::assert_snapshot!("failing-junit", report::junit(&suite));
}

#[test]
fn a_failing_test_file_as_json() {
    let suite = suite("tests/fixtures/failing", false, Some("stage"));
    insta::assert_snapshot!("failing-json", report::json(&suite, None));
}

#[test]
fn coverage_report_with_a_minimum() {
    let suite = suite("tests/fixtures/coverage", true, None);
    let text = report::human(
        &suite,
        CoverageView {
            details: true,
            min: Some(80.0),
        },
    );
    insta::assert_snapshot!("coverage-human", text);
}

#[test]
fn every_example_playbook_has_passing_tests() {
    let (tests, playbooks) = discover(&[PathBuf::from("../../examples")]).expect("examples");
    let suite = run_suite(&tests, &playbooks, &Options::default());
    assert!(suite.untested.is_empty(), "untested: {:?}", suite.untested);
    let failed: Vec<&str> = suite
        .cases()
        .filter(|c| !c.passed)
        .map(|c| c.full_name.as_str())
        .collect();
    assert!(failed.is_empty(), "failing: {failed:?}");
    assert!(suite.passed() >= 100);
}

#[test]
fn the_example_in_docs_testing_md_is_a_valid_test_file() {
    let doc = std::fs::read_to_string("../../docs/testing.md").expect("docs/testing.md");
    let start = doc.find("```yaml\n").expect("a yaml block") + "```yaml\n".len();
    let end = start + doc[start..].find("```").expect("closed");
    let file = stagecraft_testing::spec::parse(&doc[start..end]).expect("parses");
    assert_eq!(file.cases.len(), 2);
}
