//! The diagnostics corpus: every file in `tests/invalid/` is a playbook with
//! a realistic mistake. Each file is named `<CODE>-<slug>.playbook` and must
//! be rejected with (at least) that code; its rendered diagnostics and their
//! JSON records are snapshotted. Together the files must cover every code of
//! the syntax and check error enums, and every code must have a page in
//! `docs/diagnostics/`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use stagecraft::{Diagnostic, Rejection, Source};

/// Every diagnostic code of the language. Adding a code to an error enum
/// without adding it here fails `codes_match_the_error_enums`; adding it here
/// without a corpus file or a docs page fails the coverage tests.
const CODES: &[&str] = &[
    // Syntax: SC00xx.
    "SC0001", "SC0002", "SC0003", "SC0004", "SC0005", "SC0006", "SC0007", "SC0008", "SC0009",
    // Names: SC01xx.
    "SC0101", "SC0102", "SC0103", "SC0104", "SC0105", "SC0106", "SC0107", "SC0108", "SC0109",
    "SC0110", "SC0111", "SC0112", "SC0113", // Types: SC02xx.
    "SC0201", "SC0202", "SC0203", "SC0204", "SC0205", "SC0206", "SC0207", "SC0208", "SC0209",
    "SC0210", "SC0211", "SC0212", // Stages and transitions: SC03xx.
    "SC0301", "SC0302", "SC0303", "SC0304", "SC0305", "SC0306", "SC0307", "SC0308", "SC0309",
    // Header, policies, rules and milestones: SC04xx.
    "SC0401", "SC0402", "SC0403", "SC0404", "SC0405", "SC0406", "SC0407", "SC0408", "SC0409",
];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn corpus_files() -> Vec<PathBuf> {
    let dir = workspace_root().join("tests/invalid");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "playbook"))
        .collect();
    files.sort();
    files
}

/// The code a corpus file is named after: `SC0101-unknown-metric.playbook`.
fn code_of(path: &Path) -> String {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let code = name.split('-').next().unwrap_or_default();
    assert!(
        code.len() == 6 && code.starts_with("SC") && code[2..].bytes().all(|b| b.is_ascii_digit()),
        "{name}: corpus files are named `<CODE>-<slug>.playbook`"
    );
    code.to_string()
}

struct Outcome {
    human: String,
    records: Vec<Diagnostic>,
}

/// Runs the pipeline on a corpus file; the file must be rejected.
fn diagnose(path: &Path) -> Outcome {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string();
    let (source, rejection) = match Source::new(file_name.clone(), text).check() {
        Ok(_) => panic!("{file_name} was accepted, but the corpus holds invalid playbooks"),
        Err(rejected) => rejected,
    };
    assert!(!rejection.is_empty(), "{file_name}: empty rejection");
    let human = rejection.render(&file_name, &source.text, false).join("\n");
    let records = rejection.diagnostics(&source.text);
    for record in &records {
        for label in &record.labels {
            assert!(
                label.offset + label.length <= source.text.len(),
                "{file_name}: {} label out of the source",
                record.code
            );
        }
    }
    Outcome { human, records }
}

fn codes_in(records: &[Diagnostic]) -> BTreeSet<String> {
    records.iter().map(|d| d.code.clone()).collect()
}

#[test]
fn corpus_snapshots() {
    insta::glob!("../../../tests/invalid", "*.playbook", |path| {
        let expected = code_of(path);
        let outcome = diagnose(path);
        let seen = codes_in(&outcome.records);
        assert!(
            seen.contains(&expected),
            "{}: expected {expected} among the diagnostics, found {seen:?}\n{}",
            path.display(),
            outcome.human
        );
        insta::assert_snapshot!("human", outcome.human);
        insta::assert_json_snapshot!("json", outcome.records);
    });
}

#[test]
fn corpus_is_large_enough() {
    let files = corpus_files();
    assert!(
        files.len() >= 70,
        "the corpus should hold at least 70 files, found {}",
        files.len()
    );
    let multi = files
        .iter()
        .filter(|p| diagnose(p).records.len() > 1)
        .count();
    assert!(
        multi >= 5,
        "only {multi} corpus files report several errors"
    );
}

#[test]
fn corpus_files_explain_their_mistake() {
    for path in corpus_files() {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            text.starts_with('#'),
            "{}: the first line is a comment that says what the mistake is",
            path.display()
        );
    }
}

#[test]
fn corpus_covers_every_code() {
    let mut seen = BTreeSet::new();
    for path in corpus_files() {
        seen.extend(codes_in(&diagnose(&path).records));
    }
    let missing: Vec<&str> = CODES
        .iter()
        .copied()
        .filter(|c| !seen.contains(*c))
        .collect();
    assert!(
        missing.is_empty(),
        "no corpus file in tests/invalid/ produces {missing:?}"
    );
    let unknown: Vec<&String> = seen
        .iter()
        .filter(|c| !CODES.contains(&c.as_str()))
        .collect();
    assert!(
        unknown.is_empty(),
        "the corpus produces codes missing from CODES: {unknown:?}"
    );
}

/// The codes declared in the two error enums, read from their source.
fn declared_codes() -> BTreeSet<String> {
    let sources = [
        include_str!("../../stagecraft-syntax/src/error.rs"),
        include_str!("../../stagecraft-check/src/error.rs"),
    ];
    let mut codes = BTreeSet::new();
    for source in sources {
        for piece in source.split("code(").skip(1) {
            let code: String = piece.chars().take_while(|c| *c != ')').collect();
            if code.starts_with("SC") {
                codes.insert(code);
            }
        }
    }
    codes
}

#[test]
fn codes_match_the_error_enums() {
    let declared = declared_codes();
    let listed: BTreeSet<String> = CODES.iter().map(|c| c.to_string()).collect();
    assert_eq!(CODES.len(), listed.len(), "CODES lists a code twice");
    assert_eq!(
        declared, listed,
        "CODES and the error enums disagree: update CODES, add a corpus file and a docs page"
    );
}

#[test]
fn every_code_has_a_docs_page() {
    let docs = workspace_root().join("docs/diagnostics");
    let index = std::fs::read_to_string(docs.join("README.md"))
        .unwrap_or_else(|e| panic!("docs/diagnostics/README.md: {e}"));
    for code in CODES {
        let path = docs.join(format!("{code}.md"));
        let page = std::fs::read_to_string(&path)
            .unwrap_or_else(|_| panic!("no docs page {}", path.display()));
        assert!(
            page.starts_with(&format!("# {code}: ")),
            "{code}.md starts with `# {code}: <title>`"
        );
        for section in ["**What**", "**Why**", "**Example**", "**Fix**"] {
            assert!(page.contains(section), "{code}.md has no {section} section");
        }
        assert!(
            index.contains(&format!("[{code}]({code}.md)")),
            "docs/diagnostics/README.md does not link {code}"
        );
    }
}

/// The `playbook` code blocks of a docs page, in order.
fn playbook_blocks(page: &str) -> Vec<String> {
    page.split("```playbook\n")
        .skip(1)
        .filter_map(|rest| rest.split("```").next().map(str::to_string))
        .collect()
}

/// Each page's example triggers its code and its fix checks clean.
#[test]
fn docs_examples_trigger_their_code_and_fixes_check() {
    let docs = workspace_root().join("docs/diagnostics");
    for code in CODES {
        let page = std::fs::read_to_string(docs.join(format!("{code}.md"))).unwrap_or_default();
        let blocks = playbook_blocks(&page);
        assert!(
            blocks.len() >= 2,
            "{code}.md needs an example and a fix `playbook` block"
        );
        let (example, fix) = (&blocks[0], &blocks[blocks.len() - 1]);
        match Source::new("example.playbook", example.as_str()).check() {
            Ok(_) => panic!("the example of {code}.md is accepted"),
            Err((source, rejection)) => {
                let seen = codes_in(&rejection.diagnostics(&source.text));
                assert!(
                    seen.contains(*code),
                    "the example of {code}.md reports {seen:?}"
                );
            }
        }

        if let Err((source, rejection)) = Source::new("fix.playbook", fix.as_str()).check() {
            panic!(
                "the fix in {code}.md is rejected:\n{}",
                rejection
                    .render("fix.playbook", &source.text, false)
                    .join("\n")
            );
        }
    }
}

/// Prints the diagnostics of the files named in `STAGECRAFT_DUMP`
/// (comma-separated paths); a helper for writing corpus files.
#[test]
#[ignore]
fn dump() {
    let list = std::env::var("STAGECRAFT_DUMP").unwrap_or_default();
    for name in list.split(',').filter(|s| !s.is_empty()) {
        let path = workspace_root().join(name);
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        match Source::new(name, text).check() {
            Ok(_) => println!("=== {name}: ACCEPTED"),
            Err((source, rejection)) => {
                let kind = match rejection {
                    Rejection::Syntax(_) => "syntax",
                    Rejection::Check(_) => "check",
                };
                println!("=== {name}: {kind}");
                for d in rejection.render(name, &source.text, false) {
                    println!("{d}");
                }
            }
        }
    }
}
