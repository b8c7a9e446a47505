//! What is under the cursor: a reference, a declaration's name, a keyword or
//! a built-in, in the current text or (when it does not parse) by name in the
//! last version that checked.

use stagecraft::syntax::lexer::{self, TokenKind};
use stagecraft::syntax::Span;

use crate::analysis::Analysis;
use crate::docs;
use crate::index::{DeclKind, Index, Target, BUILTIN_VALUES};

/// What the cursor is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// Declarations (of the analysis it was found in), and the span of the
    /// text under the cursor in the current text.
    Decls {
        decls: Vec<usize>,
        span: Span,
    },
    Builtin {
        name: String,
        span: Span,
    },
    Keyword {
        word: String,
        span: Span,
    },
}

/// The word or string token at a byte offset (a cursor just after it counts).
pub fn token_at(text: &str, offset: usize) -> Option<(TokenKind, Span)> {
    let tokens = lexer::tokenize(text);
    let candidates = tokens.iter().filter(|t| {
        matches!(
            t.kind,
            Some(TokenKind::Word | TokenKind::Str | TokenKind::UnterminatedStr)
        ) && t.span.start <= offset
            && offset <= t.span.end
    });
    // Prefer the token that starts at the cursor over the one that ends there.
    candidates
        .max_by_key(|t| t.span.start)
        .and_then(|t| t.kind.map(|k| (k, t.span)))
}

/// Looks up the cursor in an analysis of the current text.
pub fn find(analysis: &Analysis, index: &Index, offset: usize) -> Option<Found> {
    if let Some(reference) = index.reference_at(offset) {
        let decls = index.resolve(&reference.target);
        if !decls.is_empty() {
            return Some(Found::Decls {
                decls,
                span: reference.span,
            });
        }
        match &reference.target {
            Target::Builtin(name) => {
                return Some(Found::Builtin {
                    name: name.clone(),
                    span: reference.span,
                })
            }
            Target::Value(name) if BUILTIN_VALUES.contains(&name.as_str()) => {
                return Some(Found::Builtin {
                    name: name.clone(),
                    span: reference.span,
                })
            }
            _ => return None,
        }
    }
    if let Some(decl) = index.declaration_at(offset) {
        return Some(Found::Decls {
            decls: vec![decl],
            span: index.decls[decl].name_span,
        });
    }
    keyword_at(&analysis.text, offset)
}

fn keyword_at(text: &str, offset: usize) -> Option<Found> {
    let (kind, span) = token_at(text, offset)?;
    if kind != TokenKind::Word {
        return None;
    }
    let word = &text[span.start..span.end];
    let called = text[span.end..].trim_start().starts_with('(');
    if (called || docs::keyword(word).is_none()) && docs::builtin(word).is_some() {
        return Some(Found::Builtin {
            name: word.to_string(),
            span,
        });
    }
    docs::keyword(word).map(|_| Found::Keyword {
        word: word.to_string(),
        span,
    })
}

/// Looks up the cursor of the current text (which does not parse) by name in
/// an older analysis: a string names an event, a word any declaration.
pub fn find_by_name(current: &str, offset: usize, old: &Index) -> Option<Found> {
    let (kind, span) = token_at(current, offset)?;
    let text = &current[span.start..span.end];
    let targets = match kind {
        TokenKind::Str | TokenKind::UnterminatedStr => {
            let name = text.trim_start_matches('"').trim_end_matches('"');
            vec![Target::Event(name.to_string())]
        }
        _ => vec![
            Target::Value(text.to_string()),
            Target::Milestone(text.to_string()),
            Target::Rule(text.to_string()),
        ],
    };
    for target in &targets {
        let decls: Vec<usize> = old
            .resolve(target)
            .into_iter()
            .filter(|&d| old.decls[d].kind != DeclKind::Property)
            .collect();
        if !decls.is_empty() {
            return Some(Found::Decls { decls, span });
        }
    }
    keyword_at(current, offset)
}

/// Where a span of an older text is in the current one: the same place if
/// the text there is unchanged, else the occurrence of its line (trimmed)
/// nearest to where it was.
pub fn relocate(old: &str, span: Span, current: &str) -> Option<Span> {
    let piece = old.get(span.start..span.end)?;
    if current.get(span.start..span.end) == Some(piece) {
        return Some(span);
    }
    let line_start = old[..span.start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = old[span.end..]
        .find('\n')
        .map_or(old.len(), |i| span.end + i);
    let line = old[line_start..line_end].trim();
    if line.is_empty() {
        return None;
    }
    let line_offset = line_start + old[line_start..line_end].find(line)?;
    let into = span.start - line_offset;
    current
        .match_indices(line)
        .map(|(at, _)| at)
        .min_by_key(|&at| at.abs_diff(line_offset))
        .map(|at| Span::new(at + into, at + into + span.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relocates_a_line_that_moved() {
        let old = "a\nmetric x = 1\n";
        let current = "a\n\n# new\nmetric x = 1\n";
        let span = Span::new(9, 10);
        assert_eq!(&old[9..10], "x");
        let moved = relocate(old, span, current).expect("found");
        assert_eq!(&current[moved.start..moved.end], "x");
    }

    #[test]
    fn the_token_starting_at_the_cursor_wins() {
        let text = "a(b)";
        assert_eq!(token_at(text, 0), Some((TokenKind::Word, Span::new(0, 1))));
        assert_eq!(token_at(text, 2), Some((TokenKind::Word, Span::new(2, 3))));
    }
}
