//! Every example, fixture and parseable test playbook formats to the same AST
//! with the same comments, and formatting twice changes nothing more.

use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn playbooks(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "playbook") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Formats, checks stability, and returns the output.
fn format_stably(path: &Path, source: &str) -> String {
    let once = stagecraft_fmt::format(source).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let twice = stagecraft_fmt::format(&once)
        .unwrap_or_else(|e| panic!("{} (second pass): {e}", path.display()));
    assert_eq!(
        once,
        twice,
        "{}: formatting is not idempotent",
        path.display()
    );
    let before = stagecraft_syntax::parse(source).expect("parses");
    let after = stagecraft_syntax::parse(&once).expect("formatted parses");
    assert!(
        stagecraft_fmt::ast_equal(&before, &after),
        "{}",
        path.display()
    );
    assert_eq!(
        stagecraft_fmt::tokens::comments(source),
        stagecraft_fmt::tokens::comments(&once),
        "{}",
        path.display()
    );
    once
}

#[test]
fn examples_format_stably_with_snapshots() {
    let files = playbooks(&repo().join("examples"));
    assert!(files.len() >= 6, "the examples are found");
    for path in files {
        let formatted = format_stably(&path, &read(&path));
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        insta::assert_snapshot!(format!("example-{name}"), formatted);
    }
}

#[test]
fn fixtures_format_stably_with_snapshots() {
    let files = playbooks(&repo().join("tests/fmt"));
    assert!(!files.is_empty(), "the fixtures are found");
    for path in files {
        let formatted = format_stably(&path, &read(&path));
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        insta::assert_snapshot!(format!("fixture-{name}"), formatted);
    }
}

/// Playbooks under `tests/` that parse (scenarios, and the invalid ones whose
/// errors are semantic) format stably too.
#[test]
fn every_parseable_test_playbook_formats_stably() {
    let mut count = 0;
    for path in playbooks(&repo().join("tests")) {
        let source = read(&path);
        if stagecraft_syntax::parse(&source).is_ok() {
            format_stably(&path, &source);
            count += 1;
        }
    }
    assert!(count > 20, "only {count} parseable playbooks found");
}

#[test]
fn formatted_examples_are_a_fixed_point_of_the_checker() {
    // Formatting keeps the checked program (names, types, lowering) except
    // for the source text of declarations, which records carry.
    for path in playbooks(&repo().join("examples")) {
        let source = read(&path);
        let formatted = stagecraft_fmt::format(&source).expect("formats");
        let before = stagecraft_syntax::parse(&source).expect("parses");
        let after = stagecraft_syntax::parse(&formatted).expect("parses");
        assert_eq!(
            stagecraft_fmt::ast_without_spans(&before),
            stagecraft_fmt::ast_without_spans(&after)
        );
    }
}

#[test]
fn syntax_errors_are_reported_not_formatted() {
    let result = stagecraft_fmt::format("playbook \"x\" { language 1 }\nrule r {");
    assert!(matches!(
        result,
        Err(stagecraft_fmt::FormatError::Syntax(_))
    ));
}

#[test]
fn string_literals_keep_their_exact_text() {
    let source = "playbook \"p\\u{41}\" { language 1 }\nstages { a initial }\nrule r when true { send email \"a\\tb\\\"c\\\\\" }\n";
    let formatted = stagecraft_fmt::format(source).expect("formats");
    assert!(formatted.contains("\"p\\u{41}\""));
    assert!(formatted.contains("\"a\\tb\\\"c\\\\\""));
}

#[test]
fn the_ast_comparison_sees_a_changed_meaning() {
    let a = stagecraft_syntax::parse("playbook \"p\" { language 1 }\nstages { a initial, b }\n")
        .expect("parses");
    let b = stagecraft_syntax::parse(
        "playbook \"p\" { language 1 }\nstages {\n  b initial,\n  a,\n}\n",
    )
    .expect("parses");
    let same = stagecraft_syntax::parse(
        "playbook \"p\" {\n  language 1\n}\nstages {\n  a initial,\n  b,\n}\n",
    )
    .expect("parses");
    assert!(!stagecraft_fmt::ast_equal(&a, &b));
    assert!(stagecraft_fmt::ast_equal(&a, &same));
    assert!(stagecraft_fmt::ast_difference(&a, &b).is_some());
}

#[test]
fn check_sound_refuses_a_lost_comment_or_a_changed_meaning() {
    let source = "playbook \"p\" { language 1 } # note\nstages { a initial, b }\n";
    let ast = stagecraft_syntax::parse(source).expect("parses");
    let lost = "playbook \"p\" {\n  language 1\n}\nstages { a initial, b }\n";
    assert!(matches!(
        stagecraft_fmt::check_sound(source, &ast, lost),
        Err(stagecraft_fmt::FormatError::Unsound(_))
    ));
    let changed = "playbook \"p\" {\n  language 1\n} # note\nstages { b initial, a }\n";
    assert!(matches!(
        stagecraft_fmt::check_sound(source, &ast, changed),
        Err(stagecraft_fmt::FormatError::Unsound(_))
    ));
}
