//! The token stream of a playbook, comments and line breaks included.
//!
//! The pest grammar decides what a playbook means; this lexer serves the
//! tools that need every character accounted for: the formatter (comments
//! stay in place), friendly error reporting (what token was found), and the
//! nesting-depth guard that runs before the parser.

use logos::Logos;

use crate::span::Span;

#[derive(Logos, Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[logos(skip r"[ \t\r]+")]
pub enum TokenKind {
    #[regex(r"#[^\n]*", allow_greedy = true)]
    Comment,
    #[token("\n")]
    Newline,
    #[regex(r"[A-Za-z_][A-Za-z0-9_]*")]
    Word,
    #[regex(r#""([^"\\\n]|\\.)*""#)]
    Str,
    #[regex(r#""([^"\\\n]|\\.)*"#)]
    UnterminatedStr,
    #[regex(r"[0-9]+(ms|s|m|h|d|w)", priority = 3)]
    Duration,
    #[regex(r"[0-9]+(\.[0-9]+)?%")]
    Percent,
    #[regex(r"[0-9]{2}:[0-9]{2}")]
    Clock,
    #[regex(r"[0-9]+\.[0-9]+")]
    Decimal,
    #[regex(r"[0-9]+")]
    Int,
    #[token("{")]
    LBrace,
    #[token("}")]
    RBrace,
    #[token("(")]
    LParen,
    #[token(")")]
    RParen,
    #[token("[")]
    LBracket,
    #[token("]")]
    RBracket,
    #[token(",")]
    Comma,
    #[token(";")]
    Semi,
    #[token(":")]
    Colon,
    #[token("..")]
    DotDot,
    #[token(".")]
    Dot,
    #[token("->")]
    Arrow,
    #[token("==")]
    EqEq,
    #[token("!=")]
    NotEq,
    #[token("<=")]
    Le,
    #[token(">=")]
    Ge,
    #[token("<")]
    Lt,
    #[token(">")]
    Gt,
    #[token("=")]
    Assign,
    #[token("+")]
    Plus,
    #[token("-")]
    Minus,
    #[token("*")]
    Star,
    #[token("/")]
    Slash,
    #[token("%")]
    PercentSign,
    #[token("?")]
    Question,
}

/// A token: its kind and where it is. Characters the lexer does not know
/// become `None` kinds with their span, so callers can report them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub kind: Option<TokenKind>,
    pub span: Span,
}

/// Lexes the whole source. Never fails: unknown characters are tokens with
/// no kind.
pub fn tokenize(source: &str) -> Vec<Token> {
    let mut lexer = TokenKind::lexer(source);
    let mut tokens = Vec::new();
    while let Some(result) = lexer.next() {
        let range = lexer.span();
        tokens.push(Token {
            kind: result.ok(),
            span: Span::new(range.start, range.end),
        });
    }
    tokens
}

/// The deepest nesting of brackets of any kind, and where it first reaches
/// `limit` (if it does).
pub fn nesting_over(tokens: &[Token], limit: usize) -> Option<Span> {
    let mut depth = 0usize;
    for token in tokens {
        match token.kind {
            Some(TokenKind::LBrace | TokenKind::LParen | TokenKind::LBracket) => {
                depth += 1;
                if depth > limit {
                    return Some(token.span);
                }
            }
            Some(TokenKind::RBrace | TokenKind::RParen | TokenKind::RBracket) => {
                depth = depth.saturating_sub(1);
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(source: &str) -> Vec<Option<TokenKind>> {
        tokenize(source).into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn comments_and_newlines_are_tokens() {
        assert_eq!(
            kinds("a # note\n48h"),
            vec![
                Some(TokenKind::Word),
                Some(TokenKind::Comment),
                Some(TokenKind::Newline),
                Some(TokenKind::Duration)
            ]
        );
    }

    #[test]
    fn ranges_are_not_decimals() {
        assert_eq!(
            kinds("1..10 2.5"),
            vec![
                Some(TokenKind::Int),
                Some(TokenKind::DotDot),
                Some(TokenKind::Int),
                Some(TokenKind::Decimal)
            ]
        );
    }

    #[test]
    fn unknown_characters_are_kept() {
        let tokens = tokenize("a @ b");
        assert_eq!(tokens[1].kind, None);
        assert_eq!(tokens[1].span, Span::new(2, 3));
    }

    #[test]
    fn nesting_guard_reports_the_first_bracket_past_the_limit() {
        let source = "((((x))))";
        assert_eq!(nesting_over(&tokenize(source), 3), Some(Span::new(3, 4)));
        assert_eq!(nesting_over(&tokenize(source), 4), None);
    }
}
