//! Where lines break: directives for the token stream, derived from the AST.
//!
//! The AST says what each token is part of (a field, an action, a stage, the
//! `and` of a condition); the layout turns that into directives on tokens:
//! start a line here at this indentation, drop this optional separator, add
//! a trailing comma after this one, pad to this column. Optional line breaks
//! come in groups (a stage list, a `with { ... }` map, the `and`/`or` chain
//! of a condition) that the printer expands one at a time while a line is
//! too long.

use std::collections::HashSet;

use stagecraft_syntax::ast::*;
use stagecraft_syntax::lexer::TokenKind;

use crate::tokens::Stream;

/// Lines longer than this are wrapped where the layout allows.
pub const WIDTH: usize = 100;
/// One level of indentation.
pub const INDENT: usize = 2;
/// Continuation lines of a statement.
pub const CONTINUATION: usize = 4;

/// A line break before a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Brk {
    pub indent: usize,
    /// A blank line from the source may be kept before the token.
    pub blank: bool,
    /// Where own-line comments before the token go, and whether a blank line
    /// may precede them.
    pub comment_indent: usize,
    pub comment_blank: bool,
    /// Indentation of lines a comment forces to break after this one.
    pub cont: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dir {
    pub brk: Option<Brk>,
    /// An optional separator the canonical layout leaves out.
    pub drop: bool,
    /// Write a `,` after this token (a trailing comma in a list laid out one
    /// entry per line).
    pub comma_after: bool,
    /// Pad with spaces to this column before the token (score labels).
    pub pad_to: Option<usize>,
}

/// Optional line breaks taken together, over a range of tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Group {
    pub first: usize,
    pub last: usize,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub dirs: Vec<Dir>,
    pub groups: Vec<Group>,
    /// `-` tokens that are binary operators (the others are unary).
    pub binary_minus: HashSet<usize>,
    /// `(` tokens that open a call's arguments.
    pub call_paren: HashSet<usize>,
}

struct L<'a> {
    s: &'a Stream,
    expanded: &'a [bool],
    plan: Plan,
}

/// Computes the directives for a playbook, with the groups in `expanded`
/// (by id) laid out one entry per line.
pub fn plan(s: &Stream, ast: &Playbook, expanded: &[bool]) -> Plan {
    let mut l = L {
        s,
        expanded,
        plan: Plan {
            dirs: vec![Dir::default(); s.toks.len()],
            groups: Vec::new(),
            binary_minus: HashSet::new(),
            call_paren: HashSet::new(),
        },
    };
    // Every `;` is an optional separator.
    for (i, t) in s.toks.iter().enumerate() {
        if t.kind == TokenKind::Semi {
            l.plan.dirs[i].drop = true;
        }
    }
    l.header(&ast.header);
    for item in &ast.items {
        l.item(item);
    }
    l.plan
}

impl L<'_> {
    fn tok(&self, offset: usize) -> usize {
        self.s.at(offset)
    }

    fn last(&self, end: usize) -> usize {
        self.s.last_before(end)
    }

    fn set_brk(&mut self, i: usize, brk: Brk) {
        if let Some(d) = self.plan.dirs.get_mut(i) {
            d.brk = Some(brk);
        }
    }

    /// The start of an entry (a declaration, a field, an action).
    fn entry(&mut self, i: usize, indent: usize) {
        self.set_brk(
            i,
            Brk {
                indent,
                blank: true,
                comment_indent: indent,
                comment_blank: true,
                cont: indent + CONTINUATION,
            },
        );
    }

    /// The `}` that closes a block laid out one entry per line.
    fn close(&mut self, i: usize, indent: usize) {
        self.set_brk(
            i,
            Brk {
                indent,
                blank: false,
                comment_indent: indent + INDENT,
                comment_blank: true,
                cont: indent + CONTINUATION,
            },
        );
    }

    /// A continuation line of a statement.
    fn cont(&mut self, i: usize, indent: usize) {
        self.set_brk(
            i,
            Brk {
                indent,
                blank: false,
                comment_indent: indent,
                comment_blank: false,
                cont: indent,
            },
        );
    }

    fn drop_tok(&mut self, i: usize) {
        if let Some(d) = self.plan.dirs.get_mut(i) {
            d.drop = true;
        }
    }

    /// Registers a group; returns whether it is expanded.
    fn group(&mut self, first: usize, last: usize, forced: bool) -> bool {
        let id = self.plan.groups.len();
        self.plan.groups.push(Group { first, last });
        forced || self.expanded.get(id).copied().unwrap_or(false)
    }

    /// Whether a comment sits strictly inside the tokens `first..=last`.
    fn has_comments(&self, first: usize, last: usize) -> bool {
        (first..=last).any(|i| {
            let t = &self.s.toks[i];
            (i > first && !t.leading.is_empty()) || (i < last && t.trailing.is_some())
        })
    }

    /// The block-level tokens of a brace block `open..=close` satisfying
    /// `pred` (nested brackets excluded).
    fn block_level(&self, open: usize, close: usize, kind: TokenKind) -> Vec<usize> {
        let depth = self.s.toks[open].depth + 1;
        (open + 1..close)
            .filter(|&i| self.s.toks[i].kind == kind && self.s.toks[i].depth == depth)
            .collect()
    }

    /// The first `{` at the nesting level of `from`, within the offsets.
    fn open_brace(&self, from: usize, to: usize) -> Option<usize> {
        let depth = self.s.toks[self.tok(from)].depth;
        self.s.find(from, to, |t| {
            t.kind == TokenKind::LBrace && t.depth == depth
        })
    }

    // ------------------------------------------------------------ header

    fn header(&mut self, h: &Header) {
        let first = self.tok(h.span.start);
        self.entry(first, 0);
        let close = self.last(h.span.end);
        let mut fields = Vec::new();
        if let Some((_, span)) = h.language {
            fields.push(self.tok(span.start).saturating_sub(1));
        }
        for s in [&h.version, &h.description].into_iter().flatten() {
            fields.push(self.tok(s.span.start).saturating_sub(1));
        }
        if let Some(subject) = &h.subject {
            fields.push(self.tok(subject.span.start));
        }
        self.block(close, &fields);
    }

    // ------------------------------------------------------------ items

    fn item(&mut self, item: &Item) {
        // Spacing facts first: the score layout measures terms with them.
        self.walk_item(item);
        let span = item.span();
        let first = self.tok(span.start);
        self.entry(first, 0);
        let close = self.last(span.end);
        match item {
            Item::Traits(t) => self.fields(span, &t.fields, close),
            Item::Event(e) => self.fields(span, &e.fields, close),
            Item::Metric(m) => match &m.kind {
                MetricKind::Count { filter, .. }
                | MetricKind::Aggregate { filter, .. }
                | MetricKind::Latest { filter, .. }
                | MetricKind::Ever { filter, .. } => {
                    if let Some(f) = filter {
                        self.expr(f, CONTINUATION);
                    }
                }
                MetricKind::Sent { .. } => {}
            },
            Item::Score(s) => self.score(s),
            Item::Segment(s) => self.expr(&s.expr, CONTINUATION),
            Item::Stages(s) => self.stages(s, close),
            Item::Transition(t) => self.trigger(&t.trigger),
            Item::Manual(_) => {}
            Item::Milestone(m) => self.milestone(m, close),
            Item::Rule(r) => {
                self.trigger(&r.trigger);
                if self.open_brace(r.span.start, r.span.end).is_some() {
                    let starts: Vec<usize> =
                        r.actions.iter().map(|a| self.tok(a.span().start)).collect();
                    self.block(close, &starts);
                }
                for a in &r.actions {
                    self.action(a);
                }
            }
            Item::Escalation(e) => {
                self.trigger(&e.trigger);
                if self.open_brace(e.span.start, e.span.end).is_some() {
                    let mut starts = vec![self.tok(e.first.span.start)];
                    for (d, _) in &e.ladder {
                        starts.push(self.tok(d.span.start).saturating_sub(1));
                    }
                    self.block(close, &starts);
                }
                self.with(&e.first.with, e.first.span, INDENT);
                for (_, step) in &e.ladder {
                    self.with(&step.with, step.span, INDENT);
                }
            }
            Item::Policy(p) => {
                if self.open_brace(p.span.start, p.span.end).is_some() {
                    let starts: Vec<usize> = p
                        .items
                        .iter()
                        .map(|i| {
                            let span = match i {
                                PolicyItem::Cap { span, .. }
                                | PolicyItem::QuietHours { span, .. }
                                | PolicyItem::Holdout { span, .. } => *span,
                            };
                            self.tok(span.start)
                        })
                        .collect();
                    self.block(close, &starts);
                }
            }
        }
    }

    /// A block of entries, one per line, when it has any.
    fn block(&mut self, close: usize, starts: &[usize]) {
        if starts.is_empty() {
            // `{}` stays on one line, unless a comment sits inside.
            let commented = !self.s.toks[close].leading.is_empty()
                || close
                    .checked_sub(1)
                    .is_some_and(|i| self.s.toks[i].trailing.is_some());
            if commented {
                self.close(close, 0);
            }
            return;
        }
        for s in starts {
            self.entry(*s, INDENT);
        }
        self.close(close, 0);
    }

    /// Traits and event fields: one per line, without separators.
    fn fields(&mut self, span: stagecraft_syntax::Span, fields: &[FieldDecl], close: usize) {
        let Some(open) = self.open_brace(span.start, span.end) else {
            return;
        };
        for sep in self
            .block_level(open, close, TokenKind::Comma)
            .into_iter()
            .chain(self.block_level(open, close, TokenKind::Semi))
        {
            self.drop_tok(sep);
        }
        let starts: Vec<usize> = fields.iter().map(|f| self.tok(f.span.start)).collect();
        self.block(close, &starts);
        for f in fields {
            if let TypeExpr::Enum(_, espan) = &f.ty {
                // `enum { a, b }` stays on one line, without a trailing comma.
                let eclose = self.last(espan.end);
                if self.s.toks[eclose.saturating_sub(1)].kind == TokenKind::Comma {
                    self.drop_tok(eclose - 1);
                }
            }
        }
    }

    fn score(&mut self, s: &ScoreDecl) {
        if s.terms.len() < 2 {
            return;
        }
        let first_term = self.tok(s.terms[0].span.start);
        let last = self.last(s.span.end);
        let commented = self.has_comments(first_term, last);
        let mut widths = Vec::new();
        for (i, term) in s.terms.iter().enumerate() {
            let start = self.tok(term.span.start);
            if i == 0 {
                self.cont(start, CONTINUATION);
            } else {
                let sign = start.saturating_sub(1);
                self.cont(sign, INDENT);
            }
            if let Some(label) = &term.label {
                let label_tok = self.tok(label.span.start);
                widths.push((
                    label_tok,
                    self.flat_width(start, label_tok.saturating_sub(1)),
                ));
            }
        }
        if !commented {
            let longest = widths.iter().map(|(_, w)| *w).max().unwrap_or(0);
            for (label_tok, _) in widths {
                self.plan.dirs[label_tok].pad_to = Some(CONTINUATION + longest + 1);
            }
        }
    }

    /// Width of tokens `first..=last` on one line, spaced canonically.
    fn flat_width(&self, first: usize, last: usize) -> usize {
        let mut width = 0;
        for i in first..=last {
            if i > first && crate::render::space(self.s, &self.plan, i - 1, i) {
                width += 1;
            }
            width += self.s.toks[i].text.chars().count();
        }
        width
    }

    fn stages(&mut self, s: &StagesBlock, close: usize) {
        let Some(open) = self.open_brace(s.span.start, s.span.end) else {
            return;
        };
        let commented = self.has_comments(open, close);
        let expanded = self.group(open, close, commented);
        let trailing = (close > open + 1 && self.s.toks[close - 1].kind == TokenKind::Comma)
            .then_some(close - 1);
        if expanded {
            for st in &s.stages {
                let i = self.tok(st.span.start);
                self.entry(i, INDENT);
            }
            self.close(close, 0);
            if trailing.is_none() {
                self.plan.dirs[close - 1].comma_after = true;
            }
        } else if let Some(t) = trailing {
            self.drop_tok(t);
        }
    }

    fn milestone(&mut self, m: &MilestoneDecl, close: usize) {
        if self.open_brace(m.span.start, m.span.end).is_none() {
            return;
        };
        let mut starts = Vec::new();
        for (event, filter) in [&m.starts, &m.done].into_iter().flatten() {
            starts.push(self.tok(event.span.start).saturating_sub(2));
            if let Some(f) = filter {
                self.expr(f, INDENT + CONTINUATION);
            }
        }
        if let Some(d) = &m.due {
            starts.push(self.tok(d.span.start).saturating_sub(1));
        }
        starts.sort_unstable();
        self.block(close, &starts);
    }

    fn trigger(&mut self, t: &Trigger) {
        match t {
            Trigger::OnEvent { filter, .. }
            | Trigger::OnMilestoneMissed { filter, .. }
            | Trigger::AfterInStage { filter, .. }
            | Trigger::AtDate { filter, .. } => {
                if let Some(f) = filter {
                    self.expr(f, CONTINUATION);
                }
            }
            Trigger::When { cond, .. } => self.expr(cond, CONTINUATION),
        }
    }

    fn action(&mut self, a: &Action) {
        match a {
            Action::Crm { value, .. } => self.expr(value, INDENT + CONTINUATION),
            Action::Send { with, span, .. }
            | Action::Task { with, span, .. }
            | Action::Ticket { with, span, .. }
            | Action::Webhook { with, span, .. }
            | Action::HandOff { with, span, .. } => self.with(with, *span, INDENT),
        }
    }

    /// A `with { key: value, ... }` map: on one line, or one entry per line.
    fn with(&mut self, with: &WithClause, span: stagecraft_syntax::Span, indent: usize) {
        let Some(open) = self
            .s
            .find(span.start, span.end, |t| t.kind == TokenKind::LBrace)
        else {
            return;
        };
        let close = self.last(span.end);
        if self.s.toks[close].kind != TokenKind::RBrace || with.data.is_empty() {
            return;
        }
        let commented = self.has_comments(open, close);
        let expanded = self.group(open, close, commented);
        let trailing = (self.s.toks[close - 1].kind == TokenKind::Comma).then_some(close - 1);
        if expanded {
            for (key, _) in &with.data {
                let i = self.tok(key.span.start);
                self.entry(i, indent + INDENT);
            }
            self.close(close, indent);
            if trailing.is_none() {
                self.plan.dirs[close - 1].comma_after = true;
            }
        } else if let Some(t) = trailing {
            self.drop_tok(t);
        }
        for (_, value) in &with.data {
            self.expr(value, indent + INDENT + CONTINUATION);
        }
    }

    // ------------------------------------------------------------ expressions

    /// A condition wraps before the `and`/`or` of its top-level chain, then
    /// before those of chains inside it.
    fn expr(&mut self, e: &Expr, indent: usize) {
        let mut operands = Vec::new();
        let mut ops = Vec::new();
        self.chain(e, &mut operands, &mut ops);
        if ops.is_empty() {
            return;
        }
        let first = self.tok(e.span.start);
        let last = self.last(e.span.end);
        if self.group(first, last, false) {
            for op in &ops {
                self.cont(*op, indent);
            }
        }
        for operand in operands {
            self.expr(operand, indent + INDENT);
        }
    }

    /// Flattens the left spine of an `and` (or `or`) chain.
    fn chain<'e>(&self, e: &'e Expr, operands: &mut Vec<&'e Expr>, ops: &mut Vec<usize>) {
        let (a, b, word) = match &e.kind {
            ExprKind::And(a, b) => (a, b, "and"),
            ExprKind::Or(a, b) => (a, b, "or"),
            _ => {
                operands.push(e);
                return;
            }
        };
        let same = |x: &Expr| {
            matches!(
                (&x.kind, word),
                (ExprKind::And(..), "and") | (ExprKind::Or(..), "or")
            )
        };
        if same(a) {
            self.chain(a, operands, ops);
        } else {
            operands.push(a);
        }
        if let Some(op) = self.s.find(a.span.end, b.span.start, |t| t.text == word) {
            ops.push(op);
        }
        operands.push(b);
    }

    // ------------------------------------------------------------ spacing facts

    /// Records binary minus signs and call parentheses of every expression
    /// of an item.
    fn walk_item(&mut self, item: &Item) {
        let mut exprs: Vec<&Expr> = Vec::new();
        match item {
            Item::Metric(m) => match &m.kind {
                MetricKind::Count { filter, .. }
                | MetricKind::Aggregate { filter, .. }
                | MetricKind::Latest { filter, .. }
                | MetricKind::Ever { filter, .. } => exprs.extend(filter),
                MetricKind::Sent { .. } => {}
            },
            Item::Score(s) => {
                for (i, term) in s.terms.iter().enumerate() {
                    exprs.push(&term.expr);
                    if i > 0 {
                        let sign = self.tok(term.span.start).saturating_sub(1);
                        self.plan.binary_minus.insert(sign);
                    }
                }
            }
            Item::Segment(s) => exprs.push(&s.expr),
            Item::Transition(t) => exprs.extend(trigger_expr(&t.trigger)),
            Item::Milestone(m) => {
                for (_, f) in [&m.starts, &m.done].into_iter().flatten() {
                    exprs.extend(f);
                }
            }
            Item::Rule(r) => {
                exprs.extend(trigger_expr(&r.trigger));
                for a in &r.actions {
                    match a {
                        Action::Crm { value, .. } => exprs.push(value),
                        Action::Send { with, .. }
                        | Action::Task { with, .. }
                        | Action::Ticket { with, .. }
                        | Action::Webhook { with, .. }
                        | Action::HandOff { with, .. } => {
                            exprs.extend(with.data.iter().map(|(_, e)| e))
                        }
                    }
                }
            }
            Item::Escalation(e) => {
                exprs.extend(trigger_expr(&e.trigger));
                exprs.extend(e.first.with.data.iter().map(|(_, e)| e));
                for (_, step) in &e.ladder {
                    exprs.extend(step.with.data.iter().map(|(_, e)| e));
                }
            }
            Item::Traits(_)
            | Item::Event(_)
            | Item::Stages(_)
            | Item::Manual(_)
            | Item::Policy(_) => {}
        }
        for e in exprs {
            self.walk(e);
        }
    }

    fn walk(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::Binary(op, a, b) => {
                if *op == BinOp::Sub {
                    if let Some(i) = self
                        .s
                        .find(a.span.end, b.span.start, |t| t.kind == TokenKind::Minus)
                    {
                        self.plan.binary_minus.insert(i);
                    }
                }
                self.walk(a);
                self.walk(b);
            }
            ExprKind::Call(name, args) => {
                let paren = self.tok(name.span.end);
                if self
                    .s
                    .toks
                    .get(paren)
                    .is_some_and(|t| t.kind == TokenKind::LParen)
                {
                    self.plan.call_paren.insert(paren);
                }
                for a in args {
                    self.walk(a);
                }
            }
            ExprKind::Neg(a) | ExprKind::Not(a) => self.walk(a),
            ExprKind::Compare(_, a, b) | ExprKind::And(a, b) | ExprKind::Or(a, b) => {
                self.walk(a);
                self.walk(b);
            }
            ExprKind::Crosses {
                value, threshold, ..
            } => {
                self.walk(value);
                self.walk(threshold);
            }
            ExprKind::IsSet { value, .. } => self.walk(value),
            ExprKind::In { value, options, .. } => {
                self.walk(value);
                for o in options {
                    self.walk(o);
                }
                // `[a, b,]`: no trailing comma.
                let close = self.last(e.span.end);
                if self.s.toks[close].kind == TokenKind::RBracket
                    && self.s.toks[close - 1].kind == TokenKind::Comma
                {
                    self.drop_tok(close - 1);
                }
            }
            ExprKind::Literal(_)
            | ExprKind::Name(_)
            | ExprKind::EventProp(_)
            | ExprKind::Stage
            | ExprKind::SinceLast(_)
            | ExprKind::MilestoneState(..) => {}
        }
    }
}

fn trigger_expr(t: &Trigger) -> Option<&Expr> {
    match t {
        Trigger::OnEvent { filter, .. }
        | Trigger::OnMilestoneMissed { filter, .. }
        | Trigger::AfterInStage { filter, .. }
        | Trigger::AtDate { filter, .. } => filter.as_ref(),
        Trigger::When { cond, .. } => Some(cond),
    }
}
