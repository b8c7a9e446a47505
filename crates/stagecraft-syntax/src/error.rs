//! Syntax errors. Codes `SC0001`–`SC0099`.

use miette::Diagnostic;
use thiserror::Error;

use crate::span::Span;

#[derive(Debug, Clone, Error, Diagnostic, PartialEq, Eq)]
pub enum SyntaxError {
    #[error("expected {expected}, found {found}")]
    #[diagnostic(code(SC0001), help("{help}"))]
    Unexpected {
        expected: String,
        found: String,
        help: String,
        #[label("{label}")]
        span: Span,
        label: String,
    },

    #[error("nesting is deeper than {limit} levels")]
    #[diagnostic(
        code(SC0002),
        help("split the expression into named metrics, segments or scores")
    )]
    TooDeep {
        limit: usize,
        #[label("this bracket is too deep")]
        span: Span,
    },

    #[error("unterminated string")]
    #[diagnostic(code(SC0003), help("close the string with `\"` on the same line"))]
    UnterminatedString {
        #[label("this string has no closing quote")]
        span: Span,
    },

    #[error("unknown escape `{escape}` in a string")]
    #[diagnostic(
        code(SC0004),
        help("the escapes are `\\\"`, `\\\\`, `\\n`, `\\t`, `\\r` and `\\u{{...}}`")
    )]
    BadEscape {
        escape: String,
        #[label("not a valid escape")]
        span: Span,
    },

    #[error("number `{text}` is out of range")]
    #[diagnostic(
        code(SC0005),
        help("integers must lie between -9223372036854775808 and 9223372036854775807; decimals have at most 6 digits after the point")
    )]
    NumberOutOfRange {
        text: String,
        #[label("too large or too precise")]
        span: Span,
    },

    #[error("unexpected character `{character}`")]
    #[diagnostic(code(SC0006), help("remove it, or put it inside a quoted string"))]
    UnknownCharacter {
        character: String,
        #[label("not part of the language")]
        span: Span,
    },

    #[error("expression is deeper than {limit} levels")]
    #[diagnostic(
        code(SC0007),
        help("split the expression into named metrics, segments or scores")
    )]
    ExpressionTooDeep {
        limit: usize,
        #[label("this expression is too deep")]
        span: Span,
    },

    #[error("`{text}` is not a time of day")]
    #[diagnostic(code(SC0008), help("write a 24-hour time between `00:00` and `23:59`"))]
    BadClock {
        text: String,
        #[label("not a valid time")]
        span: Span,
    },

    #[error("`{text}` is not a percentage between 0% and 100%")]
    #[diagnostic(
        code(SC0009),
        help("write a percentage such as `10%` or `2.5%` (at most two decimals)")
    )]
    BadPercent {
        text: String,
        #[label("not a valid percentage")]
        span: Span,
    },
}

impl SyntaxError {
    pub fn span(&self) -> Span {
        match self {
            SyntaxError::Unexpected { span, .. }
            | SyntaxError::TooDeep { span, .. }
            | SyntaxError::UnterminatedString { span }
            | SyntaxError::BadEscape { span, .. }
            | SyntaxError::NumberOutOfRange { span, .. }
            | SyntaxError::UnknownCharacter { span, .. }
            | SyntaxError::ExpressionTooDeep { span, .. }
            | SyntaxError::BadClock { span, .. }
            | SyntaxError::BadPercent { span, .. } => *span,
        }
    }
}
