//! The logos token stream, regrouped for layout: significant tokens with the
//! comments around them and whether a blank line came before.

use stagecraft_syntax::lexer::{tokenize, TokenKind};

/// A comment as written (trailing whitespace removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub text: String,
    /// A blank line came before it.
    pub blank_before: bool,
}

/// A token that is not a comment or a line break.
#[derive(Debug, Clone)]
pub struct Tok {
    pub kind: TokenKind,
    pub start: usize,
    pub end: usize,
    pub text: String,
    /// A blank line came before it (after the previous token or comment).
    pub blank_before: bool,
    /// Comments on their own lines before this token.
    pub leading: Vec<Comment>,
    /// A comment on the same line right after this token.
    pub trailing: Option<Comment>,
    /// Bracket depth before this token (all kinds of brackets).
    pub depth: usize,
}

/// The significant tokens of a source and the comments after the last one.
#[derive(Debug, Clone)]
pub struct Stream {
    pub toks: Vec<Tok>,
    pub tail: Vec<Comment>,
}

impl Stream {
    /// Lexes `source`. Returns `None` if the lexer finds characters it does
    /// not know (the parser rejects those anyway).
    pub fn new(source: &str) -> Option<Stream> {
        let mut toks: Vec<Tok> = Vec::new();
        let mut pending: Vec<Comment> = Vec::new();
        let mut newlines = 0usize;
        // Whether anything (a token or a comment) is on the current line.
        let mut line_has_token = false;
        let mut depth = 0usize;
        for token in tokenize(source) {
            let kind = token.kind?;
            let text = &source[token.span.start..token.span.end];
            match kind {
                TokenKind::Newline => {
                    newlines += 1;
                    line_has_token = false;
                }
                TokenKind::Comment => {
                    let comment = Comment {
                        text: text.trim_end().to_string(),
                        blank_before: newlines >= 2,
                    };
                    let trailing_slot = line_has_token
                        && pending.is_empty()
                        && toks.last().is_some_and(|t| t.trailing.is_none());
                    if trailing_slot {
                        if let Some(last) = toks.last_mut() {
                            last.trailing = Some(comment);
                        }
                    } else {
                        pending.push(comment);
                    }
                    newlines = 0;
                    line_has_token = true;
                }
                _ => {
                    let blank_before = newlines >= 2;
                    toks.push(Tok {
                        kind,
                        start: token.span.start,
                        end: token.span.end,
                        text: text.to_string(),
                        blank_before,
                        leading: std::mem::take(&mut pending),
                        trailing: None,
                        depth,
                    });
                    match kind {
                        TokenKind::LBrace | TokenKind::LParen | TokenKind::LBracket => depth += 1,
                        TokenKind::RBrace | TokenKind::RParen | TokenKind::RBracket => {
                            depth = depth.saturating_sub(1)
                        }
                        _ => {}
                    }
                    newlines = 0;
                    line_has_token = true;
                }
            }
        }
        Some(Stream {
            toks,
            tail: pending,
        })
    }

    /// Index of the token starting at `offset` (or the first one after it).
    pub fn at(&self, offset: usize) -> usize {
        self.toks.partition_point(|t| t.start < offset)
    }

    /// Index of the last token ending at or before `offset`.
    pub fn last_before(&self, offset: usize) -> usize {
        self.toks
            .partition_point(|t| t.end <= offset)
            .saturating_sub(1)
    }

    /// The first token in `from..to` (offsets) of this kind and text.
    pub fn find(&self, from: usize, to: usize, pred: impl Fn(&Tok) -> bool) -> Option<usize> {
        let mut i = self.at(from);
        while i < self.toks.len() && self.toks[i].start < to {
            if pred(&self.toks[i]) {
                return Some(i);
            }
            i += 1;
        }
        None
    }
}

/// Every comment of a source, in order, without trailing whitespace: what
/// the formatter must preserve.
pub fn comments(source: &str) -> Vec<String> {
    tokenize(source)
        .into_iter()
        .filter(|t| t.kind == Some(TokenKind::Comment))
        .map(|t| source[t.span.start..t.span.end].trim_end().to_string())
        .collect()
}
