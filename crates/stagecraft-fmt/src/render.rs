//! Prints the token stream under a [`Plan`]: canonical spacing between
//! tokens, line breaks and indentation from the directives, comments where
//! they were.

use stagecraft_syntax::lexer::TokenKind;

use crate::layout::{Plan, CONTINUATION};
use crate::tokens::{Comment, Stream};

/// One printed line and the tokens on it.
#[derive(Debug, Clone, Default)]
pub struct Line {
    pub text: String,
    pub toks: Vec<usize>,
}

#[derive(Debug, Clone)]
pub struct Rendered {
    pub lines: Vec<Line>,
}

impl Rendered {
    pub fn text(&self) -> String {
        let mut out = String::new();
        for line in &self.lines {
            out.push_str(line.text.trim_end());
            out.push('\n');
        }
        out
    }
}

/// Whether a space goes between two tokens on one line.
pub fn space(s: &Stream, plan: &Plan, prev: usize, next: usize) -> bool {
    let (p, n) = (&s.toks[prev], &s.toks[next]);
    match n.kind {
        TokenKind::Comma
        | TokenKind::Semi
        | TokenKind::Colon
        | TokenKind::Dot
        | TokenKind::DotDot
        | TokenKind::RParen
        | TokenKind::RBracket
        | TokenKind::Question => return false,
        TokenKind::LParen if plan.call_paren.contains(&next) || p.text == "context" => {
            return false
        }
        TokenKind::RBrace if p.kind == TokenKind::LBrace => return false,
        _ => {}
    }
    match p.kind {
        TokenKind::LParen | TokenKind::LBracket | TokenKind::Dot | TokenKind::DotDot => false,
        TokenKind::Minus => plan.binary_minus.contains(&prev),
        _ => true,
    }
}

/// Comments and blank lines as the printer sees them once dropped tokens
/// are gone: a dropped token's comments move to its neighbours.
struct Effective {
    leading: Vec<Vec<Comment>>,
    trailing: Vec<Option<Comment>>,
    blank: Vec<bool>,
    tail: Vec<Comment>,
}

fn effective(s: &Stream, plan: &Plan) -> Effective {
    let n = s.toks.len();
    let mut e = Effective {
        leading: vec![Vec::new(); n],
        trailing: vec![None; n],
        blank: vec![false; n],
        tail: Vec::new(),
    };
    let mut carry: Vec<Comment> = Vec::new();
    let mut carry_blank = false;
    let mut last: Option<usize> = None;
    for (i, t) in s.toks.iter().enumerate() {
        if plan.dirs[i].drop {
            if t.leading.is_empty() {
                carry_blank |= t.blank_before;
            } else {
                let mut leading = t.leading.clone();
                if carry.is_empty() {
                    leading[0].blank_before |= carry_blank;
                }
                carry.extend(leading);
                carry_blank = t.blank_before;
            }
            if let Some(c) = &t.trailing {
                match last {
                    Some(j) if carry.is_empty() && e.trailing[j].is_none() => {
                        e.trailing[j] = Some(c.clone());
                    }
                    _ => {
                        carry.push(Comment {
                            text: c.text.clone(),
                            blank_before: false,
                        });
                        carry_blank = false;
                    }
                }
            }
            continue;
        }
        let mut leading = std::mem::take(&mut carry);
        let own = t.leading.clone();
        let mut blank = t.blank_before;
        if leading.is_empty() {
            if let Some(first) = own.first() {
                let mut own = own.clone();
                own[0].blank_before = first.blank_before || carry_blank;
                leading = own;
            } else {
                blank |= carry_blank;
            }
        } else if own.is_empty() {
            blank |= carry_blank;
        } else {
            let mut own = own;
            own[0].blank_before |= carry_blank;
            leading.extend(own);
        }
        carry_blank = false;
        e.leading[i] = leading;
        e.blank[i] = blank;
        e.trailing[i] = t.trailing.clone();
        last = Some(i);
    }
    let mut tail = carry;
    let mut own = s.tail.clone();
    if let Some(first) = own.first_mut() {
        if tail.is_empty() {
            first.blank_before |= carry_blank;
        }
    }
    tail.extend(own);
    e.tail = tail;
    e
}

struct Printer {
    lines: Vec<Line>,
    cur: Line,
}

impl Printer {
    fn flush(&mut self) {
        if !self.cur.text.is_empty() {
            self.lines.push(std::mem::take(&mut self.cur));
        }
    }

    /// A blank line, unless at the start of the file or of a block.
    fn blank(&mut self) {
        if let Some(last) = self.lines.last() {
            if !last.text.is_empty() && !last.text.trim_end().ends_with('{') {
                self.lines.push(Line::default());
            }
        }
    }

    fn comment(&mut self, indent: usize, c: &Comment) {
        self.lines.push(Line {
            text: format!("{}{}", " ".repeat(indent), c.text),
            toks: Vec::new(),
        });
    }
}

pub fn render(s: &Stream, plan: &Plan) -> Rendered {
    let e = effective(s, plan);
    let mut p = Printer {
        lines: Vec::new(),
        cur: Line::default(),
    };
    let mut need_newline = false;
    let mut cont = CONTINUATION;
    let mut prev: Option<usize> = None;
    for (i, t) in s.toks.iter().enumerate() {
        let d = &plan.dirs[i];
        if d.drop {
            continue;
        }
        for c in &e.leading[i] {
            p.flush();
            let (indent, blank) = match d.brk {
                Some(b) => (b.comment_indent, b.comment_blank),
                None => (cont, false),
            };
            if c.blank_before && blank {
                p.blank();
            }
            p.comment(indent, c);
            need_newline = true;
        }
        if d.brk.is_some() || need_newline || p.cur.text.is_empty() {
            p.flush();
            let indent = match d.brk {
                Some(b) => {
                    if e.blank[i] && b.blank {
                        p.blank();
                    }
                    cont = b.cont;
                    b.indent
                }
                None => cont,
            };
            p.cur.text = " ".repeat(indent);
        } else if let Some(column) = d.pad_to {
            let width = p.cur.text.chars().count();
            p.cur
                .text
                .push_str(&" ".repeat(column.saturating_sub(width).max(1)));
        } else if prev.is_some_and(|j| space(s, plan, j, i)) {
            p.cur.text.push(' ');
        }
        p.cur.text.push_str(&t.text);
        p.cur.toks.push(i);
        if d.comma_after {
            p.cur.text.push(',');
        }
        need_newline = false;
        if let Some(c) = &e.trailing[i] {
            p.cur.text.push(' ');
            p.cur.text.push_str(&c.text);
            need_newline = true;
        }
        prev = Some(i);
    }
    p.flush();
    for c in &e.tail {
        if c.blank_before {
            p.blank();
        }
        p.comment(0, c);
    }
    Rendered { lines: p.lines }
}
