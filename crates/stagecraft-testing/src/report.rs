//! Test results for people (cargo-test style), as JSON, and as JUnit XML.

use std::fmt::Write as _;

use crate::coverage::Report;
use crate::SuiteResult;

/// How much coverage detail the human report shows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CoverageView {
    /// List what is not covered.
    pub details: bool,
    /// The `--min-coverage` threshold.
    pub min: Option<f64>,
}

/// The cargo-test-like report.
pub fn human(suite: &SuiteResult, view: CoverageView) -> String {
    let mut out = String::new();
    for file in &suite.files {
        let _ = writeln!(
            out,
            "\nrunning {} test{} from {} ({})",
            file.cases.len(),
            if file.cases.len() == 1 { "" } else { "s" },
            file.test_file,
            if file.playbook.is_empty() {
                "?"
            } else {
                &file.playbook
            }
        );
        if let Some(note) = &file.note {
            let _ = writeln!(out, "note: {note}");
        }
        if let Some(error) = &file.error {
            let _ = writeln!(out, "error: {}", error.trim_end());
        }
        for case in &file.cases {
            let _ = writeln!(
                out,
                "test {} ... {}",
                case.full_name,
                if case.passed { "ok" } else { "FAILED" }
            );
        }
    }
    let failed: Vec<_> = suite.cases().filter(|c| !c.passed).collect();
    if !failed.is_empty() {
        out.push_str("\nfailures:\n");
        for case in &failed {
            let _ = writeln!(out, "\n---- {} ----", case.full_name);
            for f in &case.failures {
                let _ = writeln!(out, "  {f}");
            }
            if !case.records.is_empty() {
                out.push_str("  outcomes:\n");
                for r in &case.records {
                    let _ = writeln!(out, "    {r}");
                }
            }
        }
        out.push_str("\nfailures:\n");
        for case in &failed {
            let _ = writeln!(out, "    {}", case.full_name);
        }
    }
    for file in suite.files.iter().filter(|f| f.error.is_some()) {
        let _ = writeln!(out, "\nerror: {} could not run", file.test_file);
    }
    if !suite.untested.is_empty() {
        out.push('\n');
        for p in &suite.untested {
            let _ = writeln!(
                out,
                "note: {p} has no tests (expected {})",
                crate::test_file_of(std::path::Path::new(p)).display()
            );
        }
    }
    let mut below_min = false;
    if !suite.coverage.is_empty() {
        out.push_str("\ncoverage:\n");
        for report in &suite.coverage {
            coverage_block(&mut out, report, view.details);
        }
        if let Some(min) = view.min {
            let below = suite.below(min);
            if below.is_empty() {
                let _ = writeln!(out, "every playbook reaches the minimum coverage of {min}%");
            } else {
                below_min = true;
                for r in below {
                    let _ = writeln!(
                        out,
                        "error: {} is covered {}%, below the minimum of {min}%",
                        r.playbook,
                        r.percent()
                    );
                }
            }
        }
    }
    let ok = suite.failed() == 0 && !below_min;
    let _ = writeln!(
        out,
        "\ntest result: {}. {} passed; {} failed; {} filtered out",
        if ok { "ok" } else { "FAILED" },
        suite.passed(),
        suite.failed(),
        suite.filtered_out()
    );
    out
}

fn coverage_block(out: &mut String, r: &Report, details: bool) {
    let _ = writeln!(
        out,
        "  {}: {}% ({}/{})",
        r.playbook,
        r.percent(),
        r.covered(),
        r.total()
    );
    for (name, c) in r.categories() {
        let _ = writeln!(
            out,
            "    {name:<12} {:>7}  {:>5}%",
            format!("{}/{}", c.covered, c.total),
            c.percent
        );
    }
    if details {
        let missing: Vec<&str> = r
            .categories()
            .iter()
            .flat_map(|(_, c)| c.items.iter())
            .filter(|i| !i.covered)
            .map(|i| i.name.as_str())
            .collect();
        if !missing.is_empty() {
            out.push_str("    not covered:\n");
            for m in missing {
                let _ = writeln!(out, "      {m}");
            }
        }
    }
}

/// The whole result as JSON.
pub fn json(suite: &SuiteResult, min: Option<f64>) -> String {
    let mut value = serde_json::to_value(suite).unwrap_or_default();
    if let Some(obj) = value.as_object_mut() {
        obj.insert("passed".into(), suite.passed().into());
        obj.insert("failed".into(), suite.failed().into());
        obj.insert("filtered_out".into(), suite.filtered_out().into());
        if let Some(min) = min {
            obj.insert("min_coverage".into(), min.into());
            let below: Vec<&str> = suite
                .below(min)
                .iter()
                .map(|r| r.playbook.as_str())
                .collect();
            obj.insert("below_min_coverage".into(), below.into());
        }
    }
    serde_json::to_string_pretty(&value).unwrap_or_default() + "\n"
}

fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// JUnit XML: one `testsuite` per test file, one `testcase` per case.
pub fn junit(suite: &SuiteResult) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let tests = suite.cases().count() + suite.errors();
    let _ = writeln!(
        out,
        "<testsuites name=\"stagecraft\" tests=\"{tests}\" failures=\"{}\" errors=\"{}\">",
        suite.cases().filter(|c| !c.passed).count(),
        suite.errors()
    );
    for file in &suite.files {
        let failures = file.cases.iter().filter(|c| !c.passed).count();
        let errors = usize::from(file.error.is_some());
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{}\">",
            xml(&file.test_file),
            file.cases.len() + errors,
            file.filtered_out
        );
        let classname = xml(&crate::test_stem(std::path::Path::new(&file.test_file)));
        if let Some(error) = &file.error {
            let _ = writeln!(
                out,
                "    <testcase classname=\"{classname}\" name=\"(load)\">\n      <error message=\"cannot run\">{}</error>\n    </testcase>",
                xml(error)
            );
        }
        for case in &file.cases {
            if case.passed {
                let _ = writeln!(
                    out,
                    "    <testcase classname=\"{classname}\" name=\"{}\"/>",
                    xml(&case.name)
                );
            } else {
                let mut body = case.failures.join("\n");
                if !case.records.is_empty() {
                    body.push_str("\noutcomes:\n");
                    body.push_str(&case.records.join("\n"));
                }
                let _ = writeln!(
                    out,
                    "    <testcase classname=\"{classname}\" name=\"{}\">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                    xml(&case.name),
                    xml(case.failures.first().map_or("", String::as_str)),
                    xml(&body)
                );
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}
