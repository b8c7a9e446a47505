//! The example playbooks in `examples/` are documentation that must stay
//! true: every one of them parses and checks clean.

use std::path::{Path, PathBuf};

use stagecraft::Source;

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

fn example_files() -> Vec<PathBuf> {
    let dir = examples_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "playbook"))
        .collect();
    files.sort();
    files
}

#[test]
fn there_are_at_least_five_examples() {
    let files = example_files();
    assert!(
        files.len() >= 5,
        "expected at least 5 example playbooks in {}, found {}: {files:?}",
        examples_dir().display(),
        files.len()
    );
}

#[test]
fn every_example_checks_clean() {
    let mut failures = Vec::new();
    for path in example_files() {
        let name = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        if let Err((source, rejection)) = Source::new(name.clone(), text).check() {
            let rendered = rejection.render(&name, &source.text, false).concat();
            failures.push(format!("{name}: {} error(s)\n{rendered}", rejection.len()));
        }
    }
    assert!(
        failures.is_empty(),
        "example playbooks must check clean:\n\n{}",
        failures.join("\n")
    );
}

#[test]
fn every_example_declares_a_lifecycle() {
    for path in example_files() {
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let name = path.display().to_string();
        let Ok(checked) = Source::new(name.clone(), text).check() else {
            // Reported by `every_example_checks_clean`.
            continue;
        };
        let program = &checked.program;
        assert!(
            program.stages.len() >= 2,
            "{name}: an example shows a lifecycle of at least two stages"
        );
        assert!(
            !program.transitions.is_empty(),
            "{name}: an example shows at least one transition"
        );
    }
}

/// A fenced `playbook` code block of the language reference.
struct DocBlock {
    line: usize,
    invalid: bool,
    text: String,
}

fn doc_blocks() -> Vec<DocBlock> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/language.md");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut blocks = Vec::new();
    let mut current: Option<DocBlock> = None;
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        match current.take() {
            None => {
                if let Some(info) = trimmed.strip_prefix("```") {
                    let mut words = info.split_whitespace();
                    if words.next() == Some("playbook") {
                        current = Some(DocBlock {
                            line: index + 1,
                            invalid: words.any(|w| w == "invalid"),
                            text: String::new(),
                        });
                    }
                }
            }
            Some(mut block) => {
                if trimmed.starts_with("```") {
                    blocks.push(block);
                } else {
                    block.text.push_str(line);
                    block.text.push('\n');
                    current = Some(block);
                }
            }
        }
    }
    blocks
}

fn is_complete(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .is_some_and(|l| l.starts_with("playbook"))
}

/// The first diagnostic code (`SC0303`) a block's text mentions.
fn mentioned_code(text: &str) -> Option<&str> {
    text.match_indices("SC").find_map(|(i, _)| {
        let code = text.get(i..i + 6)?;
        code[2..]
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then_some(code)
    })
}

/// Every `playbook` block of `docs/language.md` is valid: a complete playbook
/// on its own, a fragment appended to the first block (the running example).
/// Blocks fenced as `playbook invalid` must be rejected, with the code their
/// comment names.
#[test]
fn language_reference_examples_check() {
    let blocks = doc_blocks();
    assert!(
        blocks.len() >= 10,
        "docs/language.md should show its examples in `playbook` blocks"
    );
    let prelude = &blocks[0];
    assert!(
        is_complete(&prelude.text) && !prelude.invalid,
        "the first `playbook` block of docs/language.md is the complete running example"
    );
    let mut failures = Vec::new();
    for block in &blocks {
        let text = if is_complete(&block.text) {
            block.text.clone()
        } else {
            format!("{}\n{}", prelude.text, block.text)
        };
        let name = format!("docs/language.md:{}", block.line);
        match (Source::new(name.clone(), text).check(), block.invalid) {
            (Ok(_), false) => {}
            (Err((source, rejection)), true) => {
                if let Some(code) = mentioned_code(&block.text) {
                    let codes: Vec<String> = rejection
                        .diagnostics(&source.text)
                        .into_iter()
                        .map(|d| d.code)
                        .collect();
                    if !codes.iter().any(|c| c == code) {
                        failures.push(format!("{name}: expected {code}, found {codes:?}"));
                    }
                }
            }
            (Ok(_), true) => failures.push(format!("{name}: marked invalid but checks clean")),
            (Err((source, rejection)), false) => {
                let rendered = rejection.render(&name, &source.text, false).concat();
                failures.push(format!("{name}: {} error(s)\n{rendered}", rejection.len()));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "examples in docs/language.md must be valid:\n\n{}",
        failures.join("\n")
    );
}
