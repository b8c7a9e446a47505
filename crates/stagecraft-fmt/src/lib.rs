//! `stagecraft fmt`: the one canonical layout of a playbook.
//!
//! The formatter prints the logos token stream (so every comment survives,
//! in order and in place) under a layout derived from the AST, then proves
//! itself: the output is parsed again, and its AST (spans aside) and its
//! comments must equal the input's, or nothing is returned.
//!
//! ```
//! let source = "playbook \"demo\" { language 1; subject account }\n\
//!               stages { new initial , done terminal, }  # the lifecycle\n\
//!               event \"Finished\" {}\n\
//!               transition new->done on \"Finished\"\n";
//! let formatted = stagecraft_fmt::format(source).expect("formats");
//! assert_eq!(
//!     formatted,
//!     "playbook \"demo\" {\n  language 1\n  subject account\n}\n\
//!      stages { new initial, done terminal } # the lifecycle\n\
//!      event \"Finished\" {}\n\
//!      transition new -> done on \"Finished\"\n"
//! );
//! assert_eq!(stagecraft_fmt::format(&formatted).expect("formats"), formatted);
//! ```
//!
//! The layout is documented in `docs/fmt.md`.

pub mod layout;
pub mod render;
pub mod tokens;

use stagecraft_syntax::ast::Playbook;
use stagecraft_syntax::SyntaxError;

pub use layout::WIDTH;

/// Why a source was not formatted.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// The source does not parse: nothing to format.
    #[error("the playbook has {} syntax error(s)", .0.len())]
    Syntax(Vec<SyntaxError>),
    /// The formatter would have changed the meaning or lost a comment (a bug
    /// in the formatter): the source is left as it is.
    #[error(
        "refusing to format: {0} (this is a bug in `stagecraft fmt`; the file was left unchanged)"
    )]
    Unsound(String),
}

/// Formats a playbook and checks the result (see [`check_sound`]).
pub fn format(source: &str) -> Result<String, FormatError> {
    let ast = stagecraft_syntax::parse(source).map_err(FormatError::Syntax)?;
    let formatted = format_parsed(source, &ast)?;
    check_sound(source, &ast, &formatted)?;
    Ok(formatted)
}

/// Lays out an already parsed playbook, without the soundness check.
pub fn format_parsed(source: &str, ast: &Playbook) -> Result<String, FormatError> {
    let stream = tokens::Stream::new(source)
        .ok_or_else(|| FormatError::Unsound("the lexer found an unknown character".into()))?;
    let mut expanded: Vec<bool> = Vec::new();
    loop {
        let plan = layout::plan(&stream, ast, &expanded);
        expanded.resize(plan.groups.len(), false);
        let rendered = render::render(&stream, &plan);
        // Each line that is too long gets its outermost group not yet
        // expanded; lines are independent, so they are all done at once.
        let mut changed = false;
        for line in &rendered.lines {
            if line.text.trim_end().chars().count() <= layout::WIDTH {
                continue;
            }
            let candidate = plan.groups.iter().enumerate().find(|(id, g)| {
                !expanded[*id] && line.toks.iter().any(|t| g.first <= *t && *t <= g.last)
            });
            if let Some((id, _)) = candidate {
                expanded[id] = true;
                changed = true;
            }
        }
        if !changed {
            return Ok(rendered.text());
        }
    }
}

/// The soundness check: `formatted` parses, to the AST of `source` (spans
/// aside), and has the same comments in the same order.
pub fn check_sound(source: &str, ast: &Playbook, formatted: &str) -> Result<(), FormatError> {
    let after = stagecraft_syntax::parse(formatted).map_err(|errors| {
        FormatError::Unsound(format!(
            "the formatted text does not parse ({} syntax error(s))",
            errors.len()
        ))
    })?;
    if let Some(path) = ast_difference(ast, &after) {
        return Err(FormatError::Unsound(format!(
            "the formatted text means something else (the ASTs differ at {path})"
        )));
    }
    let (before_comments, after_comments) = (tokens::comments(source), tokens::comments(formatted));
    if before_comments != after_comments {
        let at = before_comments
            .iter()
            .zip(&after_comments)
            .position(|(a, b)| a != b)
            .unwrap_or(before_comments.len().min(after_comments.len()));
        return Err(FormatError::Unsound(format!(
            "the comments changed (comment {} of {})",
            at + 1,
            before_comments.len()
        )));
    }
    Ok(())
}

/// The AST as JSON without positions: every `span`, `start` and `end` key is
/// removed, so two playbooks that differ only in layout compare equal.
pub fn ast_without_spans(ast: &Playbook) -> serde_json::Value {
    let mut value = serde_json::to_value(ast).unwrap_or(serde_json::Value::Null);
    strip_spans(&mut value);
    value
}

fn strip_spans(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            map.retain(|k, _| !matches!(k.as_str(), "span" | "start" | "end"));
            map.values_mut().for_each(strip_spans);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(strip_spans),
        _ => {}
    }
}

/// Whether two ASTs are equal, spans aside.
pub fn ast_equal(a: &Playbook, b: &Playbook) -> bool {
    ast_difference(a, b).is_none()
}

/// Where two ASTs first differ (a JSON path), spans aside.
pub fn ast_difference(a: &Playbook, b: &Playbook) -> Option<String> {
    first_difference(&ast_without_spans(a), &ast_without_spans(b), "$")
}

fn first_difference(a: &serde_json::Value, b: &serde_json::Value, path: &str) -> Option<String> {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                match y.get(k) {
                    Some(w) => {
                        if let Some(p) = first_difference(v, w, &format!("{path}.{k}")) {
                            return Some(p);
                        }
                    }
                    None => return Some(format!("{path}.{k}")),
                }
            }
            y.keys()
                .find(|k| !x.contains_key(*k))
                .map(|k| format!("{path}.{k}"))
        }
        (Value::Array(x), Value::Array(y)) => {
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                if let Some(p) = first_difference(v, w, &format!("{path}[{i}]")) {
                    return Some(p);
                }
            }
            (x.len() != y.len()).then(|| format!("{path} (length {} vs {})", x.len(), y.len()))
        }
        _ => (a != b).then(|| path.to_string()),
    }
}

/// Whether formatting would change `source` (it must parse).
pub fn is_formatted(source: &str) -> Result<bool, FormatError> {
    Ok(format(source)? == source)
}

/// A unified diff from `old` to `new` (3 lines of context), for `--diff`.
pub fn unified_diff(old: &str, new: &str, name: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(
            &format!("{name} (original)"),
            &format!("{name} (formatted)"),
        )
        .to_string()
}
