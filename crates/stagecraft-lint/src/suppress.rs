//! Inline suppressions: `# stagecraft: ignore[SC1004] reason text`.
//!
//! A comment alone on its line applies to the next line with code (so
//! several can be stacked); a comment at the end of a line applies to that
//! line. The codes may be codes or rule names, separated by commas. The
//! reason is mandatory: a suppression without one still suppresses, but is
//! reported (`SC1024`), and so is one that suppresses nothing (`SC1025`).

use stagecraft_syntax::lexer::{tokenize, TokenKind};
use stagecraft_syntax::span::line_col;
use stagecraft_syntax::Span;

use crate::finding::Finding;
use crate::rule::{lookup, LintRule};
use crate::rules::invalid_suppression::InvalidSuppression;
use crate::rules::unused_suppression::UnusedSuppression;

/// One suppression comment.
#[derive(Debug, Clone)]
pub struct Suppression {
    /// The line (one-based) whose findings it suppresses.
    pub line: usize,
    /// Rule codes (normalized to `SC1xxx`) with the span of each as written.
    pub codes: Vec<(String, Span)>,
    pub reason: Option<String>,
    pub span: Span,
}

const PREFIX: &str = "stagecraft:";

/// Finds every suppression comment. Malformed ones become findings.
pub fn parse(source: &str) -> (Vec<Suppression>, Vec<Finding>) {
    let tokens = tokenize(source);
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        if token.kind != Some(TokenKind::Comment) {
            continue;
        }
        let text = &source[token.span.start..token.span.end];
        let body = text.trim_start_matches('#').trim_start();
        let Some(rest) = body.strip_prefix(PREFIX) else {
            continue;
        };
        let rest_offset = token.span.start + (text.len() - body.len()) + PREFIX.len();
        let trimmed = rest.trim_start();
        let directive_offset = rest_offset + (rest.len() - trimmed.len());
        // Which line it applies to.
        let trailing = tokens[..i]
            .iter()
            .rev()
            .take_while(|t| t.kind != Some(TokenKind::Newline))
            .any(|t| t.kind != Some(TokenKind::Comment));
        let line = if trailing {
            line_col(source, token.span.start).0
        } else {
            let next = tokens[i + 1..]
                .iter()
                .find(|t| !matches!(t.kind, Some(TokenKind::Comment | TokenKind::Newline)));
            match next {
                Some(t) => line_col(source, t.span.start).0,
                None => line_col(source, token.span.start).0 + 1,
            }
        };
        let Some(after) = trimmed.strip_prefix("ignore[") else {
            problems.push(invalid(
                token.span,
                "malformed suppression comment: expected `# stagecraft: ignore[CODE] reason`"
                    .into(),
            ));
            continue;
        };
        let Some(close) = after.find(']') else {
            problems.push(invalid(
                token.span,
                "malformed suppression comment: `ignore[` has no closing `]`".into(),
            ));
            continue;
        };
        let list_offset = directive_offset + "ignore[".len();
        let mut codes = Vec::new();
        let mut offset = 0;
        let mut ok = true;
        for piece in after[..close].split(',') {
            let start = list_offset + offset + (piece.len() - piece.trim_start().len());
            let name = piece.trim();
            offset += piece.len() + 1;
            let span = Span::new(start, start + name.len());
            match lookup(name) {
                Some(rule) if rule.code().starts_with("SC1") => {
                    codes.push((rule.code().to_string(), span))
                }
                _ => {
                    ok = false;
                    problems.push(invalid(
                        span,
                        if name.is_empty() {
                            "empty code in a suppression comment".to_string()
                        } else {
                            format!("`{name}` is not a lint rule code or name")
                        },
                    ));
                }
            }
        }
        let reason = after[close + 1..]
            .trim()
            .trim_start_matches(['-', ':', '—'])
            .trim()
            .to_string();
        let reason = (!reason.is_empty()).then_some(reason);
        if reason.is_none() && ok {
            problems.push(
                invalid(token.span, "suppression without a reason".into())
                    .help("say why the finding does not apply: `# stagecraft: ignore[SC1004] order is the priority on purpose`"),
            );
        }
        if codes.is_empty() {
            continue;
        }
        out.push(Suppression {
            line,
            codes,
            reason,
            span: token.span,
        });
    }
    (out, problems)
}

fn invalid(span: Span, message: String) -> Finding {
    InvalidSuppression
        .finding(span, message)
        .label("here")
        .help("write `# stagecraft: ignore[SC1004] why this finding does not apply`, on the line before the finding or at its end")
}

/// A finding a suppression matched, with the reason.
#[derive(Debug, Clone)]
pub struct Suppressed {
    pub finding: Finding,
    pub reason: Option<String>,
}

/// Splits findings into kept and suppressed; reports suppressions that
/// matched nothing.
pub fn apply(
    source: &str,
    findings: Vec<Finding>,
    suppressions: &[Suppression],
) -> (Vec<Finding>, Vec<Suppressed>, Vec<Finding>) {
    let mut used = vec![vec![false; 0]; suppressions.len()];
    for (u, s) in used.iter_mut().zip(suppressions) {
        *u = vec![false; s.codes.len()];
    }
    let mut kept = Vec::new();
    let mut suppressed = Vec::new();
    for f in findings {
        let line = line_col(source, f.span.start).0;
        let mut hit = None;
        for (i, s) in suppressions.iter().enumerate() {
            if s.line != line {
                continue;
            }
            if let Some(j) = s.codes.iter().position(|(c, _)| *c == f.code) {
                used[i][j] = true;
                hit = Some(s.reason.clone());
            }
        }
        match hit {
            Some(reason) => suppressed.push(Suppressed { finding: f, reason }),
            None => kept.push(f),
        }
    }
    let mut unused = Vec::new();
    for (s, u) in suppressions.iter().zip(&used) {
        for ((code, span), used) in s.codes.iter().zip(u) {
            if !used {
                unused.push(
                    UnusedSuppression
                        .finding(*span, format!("`ignore[{code}]` suppresses nothing: no `{code}` finding on line {}", s.line))
                        .label("unused")
                        .help("remove it (the finding it was for is gone), or move it to the line the finding is reported on"),
                );
            }
        }
    }
    (kept, suppressed, unused)
}
