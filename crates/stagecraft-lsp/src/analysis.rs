//! Analysis of one version of a document: its diagnostics, and the AST and
//! index that hover, definitions and symbols read.
//!
//! A playbook with syntax errors still gets an AST when the errors are inside
//! top-level declarations: those declarations are blanked out (replaced by
//! spaces, so every other byte keeps its offset) and the rest is parsed again.

use std::sync::Arc;

use stagecraft::ir::Program;
use stagecraft::syntax::ast::Playbook;
use stagecraft::syntax::{Span, SyntaxError};
use stagecraft::{Diagnostic, Parsed, Rejection, Source};

use crate::index::Index;
use crate::line_index::LineIndex;
use crate::LintFn;

#[derive(Debug)]
pub struct Analysis {
    pub text: Arc<str>,
    pub lines: LineIndex,
    /// The AST of this text: the whole playbook, or what error recovery kept.
    pub ast: Option<Playbook>,
    pub index: Option<Index>,
    /// The checked program, when this text checks.
    pub program: Option<Arc<Program>>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Analysis {
    /// Parses, checks and (when it checks, and a linter is installed) lints.
    pub fn new(name: &str, text: Arc<str>, lint: Option<&LintFn>) -> Analysis {
        let lines = LineIndex::new(&text);
        let mut analysis = Analysis {
            text: text.clone(),
            lines,
            ast: None,
            index: None,
            program: None,
            diagnostics: Vec::new(),
        };
        match stagecraft::syntax::parse(&text) {
            Err(errors) => {
                analysis.diagnostics = Rejection::Syntax(errors.clone()).diagnostics(&text);
                analysis.ast = recover(&text, &errors);
            }
            Ok(ast) => {
                analysis.ast = Some(ast.clone());
                let parsed = Parsed {
                    source: Source::new(name, text.clone()),
                    ast,
                };
                match parsed.check() {
                    Ok(checked) => {
                        if let Some(lint) = lint {
                            analysis.diagnostics = lint(&checked);
                        }
                        analysis.program = Some(checked.program.clone());
                    }
                    Err((_, rejection)) => analysis.diagnostics = rejection.diagnostics(&text),
                }
            }
        }
        analysis.index = analysis.ast.as_ref().map(Index::build);
        analysis
    }

    /// Whether this text checked: its AST and program may stand in for a
    /// later version that does not.
    pub fn is_good(&self) -> bool {
        self.program.is_some()
    }

    pub fn slice(&self, span: Span) -> &str {
        self.text.get(span.start..span.end).unwrap_or("")
    }
}

/// Where top-level declarations start, exactly as the parser cuts a file for
/// error recovery.
pub fn item_starts(text: &str) -> Vec<usize> {
    stagecraft::syntax::parser::declaration_starts(text)
}

/// Error recovery: blanks out every top-level declaration that holds a
/// syntax error and parses the rest. `None` when the header is broken or the
/// rest still does not parse.
pub fn recover(text: &str, errors: &[SyntaxError]) -> Option<Playbook> {
    let mut bounds = vec![0];
    bounds.extend(item_starts(text).into_iter().filter(|&s| s > 0));
    bounds.push(text.len());
    bounds.dedup();
    let mut bytes = text.as_bytes().to_vec();
    let mut errors: Vec<Span> = errors.iter().map(SyntaxError::span).collect();
    // A few rounds: blanking a declaration can expose nothing new, but a
    // declaration's error may be reported only once its neighbour is gone.
    for _ in 0..4 {
        for span in &errors {
            let piece = bounds.partition_point(|&b| b <= span.start).max(1) - 1;
            if piece == 0 {
                return None;
            }
            let end = bounds.get(piece + 1).copied().unwrap_or(text.len());
            for byte in &mut bytes[bounds[piece]..end] {
                if !matches!(byte, b'\n' | b'\r') {
                    *byte = b' ';
                }
            }
        }
        let blanked = String::from_utf8(bytes.clone()).ok()?;
        match stagecraft::syntax::parse(&blanked) {
            Ok(ast) => return Some(ast),
            Err(more) => errors = more.iter().map(SyntaxError::span).collect(),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "playbook \"p\" { language 1; subject account }\n\
        event \"Login\" {}\n\
        metric logins = count \"Login\" over 7d\n\
        metric broken = count over\n\
        stages { new initial, done terminal }\n";

    #[test]
    fn recovery_keeps_the_declarations_without_errors() {
        let errors = stagecraft::syntax::parse(TEXT).expect_err("has an error");
        let ast = recover(TEXT, &errors).expect("recovers");
        let index = Index::build(&ast);
        let names: Vec<&str> = index.decls.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(
            names,
            ["p", "Login", "logins", "stages", "new", "done"],
            "the broken metric is left out"
        );
        // Spans are offsets into the original text.
        let stage = &index.decls[4];
        assert_eq!(&TEXT[stage.name_span.start..stage.name_span.end], "new");
    }

    #[test]
    fn a_broken_header_is_not_recovered() {
        let text = "playbook { }\nevent \"Login\" {}\n";
        let errors = stagecraft::syntax::parse(text).expect_err("has an error");
        assert!(recover(text, &errors).is_none());
    }
}
