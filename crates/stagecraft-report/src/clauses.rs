//! Conditions taken apart: the value of every clause of a guard at one
//! moment, evaluated with the reference interpreter over the subject's frame,
//! and how close a false condition came to holding.
//!
//! A guard's source text is split at its top-level `and`/`or` and paired with
//! the checked expression's `And`/`Or` operands; where the two do not line up
//! (a segment or `x in [...]` lowered to several operands), the part is shown
//! whole. Comparisons also show both sides (`logins_7d >= 3` → `4 >= 3`).

use serde::{Deserialize, Serialize};
use stagecraft::ir::{eval, CmpOp, EvalError, Expr, Frame, Program, Type, Value};
use stagecraft::runtime::render::value_json;
use stagecraft::runtime::symbols::Symbols;
use stagecraft::syntax::lexer::{tokenize, Token, TokenKind};

/// A value with its type, as evaluated (rendered later, when the symbol
/// table is complete).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Typed {
    pub value: Value,
    pub ty: Type,
}

/// One clause and its value, before rendering.
#[derive(Debug, Clone, PartialEq)]
pub struct RawClause {
    pub source: String,
    pub value: Typed,
    pub detail: Detail,
    /// `and` or `or` when the clause is split further.
    pub joiner: Option<&'static str>,
    pub children: Vec<RawClause>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Detail {
    None,
    Compare {
        op: CmpOp,
        left: Typed,
        right: Typed,
    },
    Crosses {
        below: bool,
        before: Typed,
        now: Typed,
        threshold: Typed,
    },
    Milestone {
        state: Option<i64>,
    },
}

/// A rendered value: the JSON of the value, or why there is none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValueJson {
    pub value: serde_json::Value,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub missing: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ValueJson {
    pub fn text(&self) -> String {
        if let Some(e) = &self.error {
            return format!("error ({e})");
        }
        if self.missing {
            return "missing".into();
        }
        match &self.value {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }
}

/// A rendered clause.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Clause {
    pub source: String,
    #[serde(flatten)]
    pub value: ValueJson,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub left: Option<ValueJson>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub right: Option<ValueJson>,
    /// For `crosses`: the value after the previous event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<ValueJson>,
    /// For milestone tests: the milestone's state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub milestone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub joiner: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clauses: Vec<Clause>,
}

impl Clause {
    /// `logins_7d >= 3 → 4 >= 3 = true`
    pub fn line(&self) -> String {
        let mut out = self.source.clone();
        match (&self.left, &self.op, &self.right) {
            (Some(l), Some(op), Some(r)) => {
                if let Some(b) = &self.before {
                    out.push_str(&format!(
                        " → was {}, now {} (threshold {})",
                        b.text(),
                        l.text(),
                        r.text()
                    ));
                } else {
                    out.push_str(&format!(" → {} {op} {}", l.text(), r.text()));
                }
            }
            _ => {
                if let Some(m) = &self.milestone {
                    out.push_str(&format!(" → milestone is {m}"));
                }
            }
        }
        out.push_str(&format!(" = {}", self.value.text()));
        out
    }
}

pub fn render_value(t: Typed, program: &Program, symbols: &Symbols) -> ValueJson {
    match t.value {
        Value::Val(v) => ValueJson {
            value: value_json(v, t.ty, program, symbols),
            missing: false,
            error: None,
        },
        Value::Missing => ValueJson {
            value: serde_json::Value::Null,
            missing: true,
            error: None,
        },
        Value::Err(e) => ValueJson {
            value: serde_json::Value::Null,
            missing: false,
            error: Some(e.to_string()),
        },
    }
}

fn milestone_state_name(state: Option<i64>) -> &'static str {
    match state {
        Some(stagecraft::ir::milestone_state::RUNNING) => "running",
        Some(stagecraft::ir::milestone_state::DONE) => "done",
        Some(stagecraft::ir::milestone_state::MISSED) => "missed",
        _ => "not started",
    }
}

pub fn render(raw: &RawClause, program: &Program, symbols: &Symbols) -> Clause {
    let mut clause = Clause {
        source: raw.source.clone(),
        value: render_value(raw.value, program, symbols),
        left: None,
        op: None,
        right: None,
        before: None,
        milestone: None,
        joiner: raw.joiner.map(str::to_string),
        clauses: raw
            .children
            .iter()
            .map(|c| render(c, program, symbols))
            .collect(),
    };
    match &raw.detail {
        Detail::None => {}
        Detail::Compare { op, left, right } => {
            clause.left = Some(render_value(*left, program, symbols));
            clause.op = Some(op.symbol().to_string());
            clause.right = Some(render_value(*right, program, symbols));
        }
        Detail::Crosses {
            below,
            before,
            now,
            threshold,
        } => {
            clause.before = Some(render_value(*before, program, symbols));
            clause.left = Some(render_value(*now, program, symbols));
            clause.op = Some(if *below { "<" } else { ">" }.to_string());
            clause.right = Some(render_value(*threshold, program, symbols));
        }
        Detail::Milestone { state } => {
            clause.milestone = Some(milestone_state_name(*state).to_string());
        }
    }
    clause
}

// ------------------------------------------------------------------ typing

/// Where a slot's value comes from, for typing and naming.
pub fn slot_type(program: &Program, slot: u32, event: Option<u32>) -> Option<Type> {
    let l = &program.layout;
    let within = |base: u32, len: usize| slot >= base && slot < base + len as u32;
    if within(l.trait_base, program.traits.len()) {
        return Some(program.traits[(slot - l.trait_base) as usize].ty);
    }
    if within(l.metric_base, program.metrics.len()) {
        return Some(program.metrics[(slot - l.metric_base) as usize].ty);
    }
    if within(l.score_base, program.scores.len()) {
        return Some(program.scores[(slot - l.score_base) as usize].ty);
    }
    if slot == l.stage {
        return Some(Type::Stage);
    }
    if slot == l.stage_entered_at || slot == l.first_seen {
        return Some(Type::Timestamp);
    }
    if program.entered_at_slots.contains(&Some(slot))
        || program.last_seen_slots.contains(&Some(slot))
    {
        return Some(Type::Timestamp);
    }
    if within(l.milestone_base, program.milestones.len()) {
        return Some(Type::Int);
    }
    if let Some(c) = program.crossings.iter().find(|c| c.slot == slot) {
        return Some(c.value.ty);
    }
    if slot >= l.prop_base {
        let e = event?;
        let props = &program.events.get(e as usize)?.props;
        return props.get((slot - l.prop_base) as usize).map(|p| p.ty);
    }
    None
}

/// The static type of an expression, as far as it can be told (constants
/// take the type of what they are compared with).
pub fn infer(expr: &Expr, program: &Program, event: Option<u32>) -> Option<Type> {
    use stagecraft::ir::{ArithOp, Builtin};
    match expr {
        Expr::Const(_) => None,
        Expr::Load(slot) => slot_type(program, *slot, event),
        Expr::Now => Some(Type::Timestamp),
        Expr::Neg(a) => infer(a, program, event),
        Expr::Not(_) | Expr::Cmp(..) | Expr::And(..) | Expr::Or(..) | Expr::IsSet(_) => {
            Some(Type::Bool)
        }
        Expr::Crosses { .. } => Some(Type::Bool),
        Expr::Since { .. } => Some(Type::Duration),
        Expr::Arith(op, a, b) => {
            let (ta, tb) = (infer(a, program, event), infer(b, program, event));
            match op {
                ArithOp::MulDecimal | ArithOp::DivDecimal | ArithOp::DivDecimalByInt => {
                    Some(Type::Decimal)
                }
                ArithOp::Sub if ta == Some(Type::Timestamp) && tb == Some(Type::Timestamp) => {
                    Some(Type::Duration)
                }
                ArithOp::Div if ta == Some(Type::Duration) && tb == Some(Type::Duration) => {
                    Some(Type::Int)
                }
                ArithOp::Mul => match (ta, tb) {
                    (Some(Type::Decimal), _) | (_, Some(Type::Decimal)) => Some(Type::Decimal),
                    (Some(Type::Duration), _) | (_, Some(Type::Duration)) => Some(Type::Duration),
                    _ => ta.or(tb),
                },
                _ => match (ta, tb) {
                    (Some(Type::Timestamp), _) | (_, Some(Type::Timestamp)) => {
                        Some(Type::Timestamp)
                    }
                    _ => ta.or(tb),
                },
            }
        }
        Expr::Call(builtin, args) => {
            let first = || args.iter().find_map(|a| infer(a, program, event));
            match builtin {
                Builtin::Min | Builtin::Max | Builtin::Clamp | Builtin::Abs => first(),
                Builtin::ToDecimal => Some(Type::Decimal),
                Builtin::Round | Builtin::DurationIn(_) | Builtin::DaysUntil => Some(Type::Int),
                Builtin::DurationOf(_) => Some(Type::Duration),
                Builtin::DateOf => Some(Type::Date),
            }
        }
    }
}

// ------------------------------------------------------------------ splitting

/// Strips parentheses that enclose the whole text.
fn strip_parens(text: &str) -> &str {
    let mut t = text.trim();
    loop {
        let tokens = tokenize(t);
        let enclosed = tokens.first().is_some_and(|f| f.kind == Some(TokenKind::LParen))
            && tokens.last().is_some_and(|l| l.kind == Some(TokenKind::RParen))
            // The opening parenthesis closes at the very end.
            && nesting(&tokens).position(|depth| depth == 0) == Some(tokens.len() - 1);
        if !enclosed {
            return t;
        }
        t = t[1..t.len() - 1].trim();
    }
}

/// The nesting depth of parentheses and brackets after each token.
fn nesting(tokens: &[Token]) -> impl Iterator<Item = i32> + '_ {
    tokens.iter().scan(0, |depth, token| {
        match token.kind {
            Some(TokenKind::LParen | TokenKind::LBracket) => *depth += 1,
            Some(TokenKind::RParen | TokenKind::RBracket) => *depth -= 1,
            _ => {}
        }
        Some(*depth)
    })
}

/// Splits at top-level occurrences of the keyword (`and`, `or`): words
/// outside parentheses, brackets, strings and comments.
pub fn split_top<'a>(text: &'a str, keyword: &str) -> Vec<&'a str> {
    let t = strip_parens(text);
    let tokens = tokenize(t);
    let mut parts = Vec::new();
    let mut start = 0;
    for (token, depth) in tokens.iter().zip(nesting(&tokens)) {
        let span = token.span;
        if depth == 0 && token.kind == Some(TokenKind::Word) && &t[span.start..span.end] == keyword
        {
            parts.push(t[start..span.start].trim());
            start = span.end;
        }
    }
    parts.push(t[start..].trim());
    parts
}

fn flatten_left<'e>(expr: &'e Expr, and: bool, out: &mut Vec<&'e Expr>) {
    match (expr, and) {
        (Expr::And(a, b), true) | (Expr::Or(a, b), false) => {
            flatten_left(a, and, out);
            out.push(b);
        }
        _ => out.push(expr),
    }
}

fn flatten_right<'e>(expr: &'e Expr, and: bool, out: &mut Vec<&'e Expr>) {
    match (expr, and) {
        (Expr::And(a, b), true) | (Expr::Or(a, b), false) => {
            out.push(a);
            flatten_right(b, and, out);
        }
        _ => out.push(expr),
    }
}

/// Context for evaluating clauses.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    pub program: &'a Program,
    pub frame: &'a Frame<'a>,
    /// The event whose properties are loaded (for typing `event.p`).
    pub event: Option<u32>,
}

impl Ctx<'_> {
    fn typed(&self, expr: &Expr, fallback: Option<Type>) -> Typed {
        Typed {
            value: eval(expr, self.frame),
            ty: infer(expr, self.program, self.event)
                .or(fallback)
                .unwrap_or(Type::Int),
        }
    }

    /// Evaluates an expression and its clauses.
    pub fn explain(&self, expr: &Expr, source: &str) -> RawClause {
        let source = strip_parens(source).to_string();
        let value = self.typed(expr, Some(Type::Bool));
        let mut clause = RawClause {
            source: source.clone(),
            value,
            detail: Detail::None,
            joiner: None,
            children: Vec::new(),
        };
        match expr {
            Expr::And(..) | Expr::Or(..) => {
                let and = matches!(expr, Expr::And(..));
                let word = if and { "and" } else { "or" };
                let pieces = split_top(&source, word);
                for flatten in [flatten_left, flatten_right] {
                    let mut operands = Vec::new();
                    flatten(expr, and, &mut operands);
                    if operands.len() == pieces.len() && pieces.len() > 1 {
                        clause.joiner = Some(word);
                        clause.children = operands
                            .iter()
                            .zip(&pieces)
                            .map(|(e, s)| self.explain(e, s))
                            .collect();
                        break;
                    }
                }
            }
            Expr::Cmp(op, a, b) => {
                if let (Expr::Load(slot), Expr::Const(_)) = (&**a, &**b) {
                    let l = &self.program.layout;
                    if *slot >= l.milestone_base
                        && *slot < l.milestone_base + self.program.milestones.len() as u32
                    {
                        clause.detail = Detail::Milestone {
                            state: match eval(a, self.frame) {
                                Value::Val(v) => Some(v),
                                _ => None,
                            },
                        };
                        return clause;
                    }
                }
                let (ta, tb) = (
                    infer(a, self.program, self.event),
                    infer(b, self.program, self.event),
                );
                let ty = ta.or(tb);
                clause.detail = Detail::Compare {
                    op: *op,
                    left: self.typed(a, ty),
                    right: self.typed(b, ty),
                };
            }
            Expr::Crosses {
                below,
                value,
                prev,
                threshold,
            } => {
                let ty = infer(value, self.program, self.event);
                let before = match self.frame.present.get(*prev as usize) {
                    Some(p) if *p != 0 => Value::Val(self.frame.values[*prev as usize]),
                    _ => Value::Missing,
                };
                clause.detail = Detail::Crosses {
                    below: *below,
                    before: Typed {
                        value: before,
                        ty: ty.unwrap_or(Type::Int),
                    },
                    now: self.typed(value, ty),
                    threshold: self.typed(threshold, ty),
                };
            }
            _ => {}
        }
        clause
    }
}

// ------------------------------------------------------------------ near misses

/// A comparison that did not hold by a small margin.
#[derive(Debug, Clone, PartialEq)]
pub struct Miss {
    pub source: String,
    pub op: CmpOp,
    pub left: Typed,
    pub right: Typed,
    /// How far the left side is from the nearest value that would satisfy
    /// the comparison (in the value's encoding).
    pub by: i64,
}

/// Near-miss tolerance: 10% of the threshold, or 1 for ints.
pub fn tolerance(threshold: i64, ty: Type) -> i64 {
    let tenth = threshold.unsigned_abs() / 10;
    let tenth = i64::try_from(tenth).unwrap_or(i64::MAX);
    match ty {
        Type::Int => tenth.max(1),
        _ => tenth,
    }
}

/// Whether a false condition came close: every false clause of its
/// top-level `and` is a numeric comparison (`<`, `<=`, `>`, `>=` over int,
/// decimal or duration) that misses by at most [`tolerance`]; for `or`, one
/// close alternative is enough. `None` when the condition is not false or
/// not close.
pub fn near_miss(clause: &RawClause) -> Option<Vec<Miss>> {
    if clause.value.value != Value::FALSE {
        return None;
    }
    match (clause.joiner, &clause.detail) {
        (Some("and"), _) => {
            let mut misses = Vec::new();
            for child in &clause.children {
                match child.value.value {
                    Value::TRUE => {}
                    Value::FALSE => misses.extend(near_miss(child)?),
                    _ => return None,
                }
            }
            (!misses.is_empty()).then_some(misses)
        }
        (Some("or"), _) => clause
            .children
            .iter()
            .filter_map(near_miss)
            .min_by_key(|m| m.len()),
        (_, Detail::Compare { op, left, right }) => {
            let (Value::Val(a), Value::Val(b)) = (left.value, right.value) else {
                return None;
            };
            if !matches!(left.ty, Type::Int | Type::Decimal | Type::Duration) {
                return None;
            }
            let by = match op {
                CmpOp::Ge => b.checked_sub(a)?,
                CmpOp::Gt => b.checked_sub(a)?.checked_add(1)?,
                CmpOp::Le => a.checked_sub(b)?,
                CmpOp::Lt => a.checked_sub(b)?.checked_add(1)?,
                _ => return None,
            };
            (by > 0 && by <= tolerance(b, left.ty)).then(|| {
                vec![Miss {
                    source: clause.source.clone(),
                    op: *op,
                    left: *left,
                    right: *right,
                    by,
                }]
            })
        }
        _ => None,
    }
}

/// The error a value carries, if any.
pub fn error_of(value: Value) -> Option<EvalError> {
    match value {
        Value::Err(e) => Some(e),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_top_level_only() {
        assert_eq!(
            split_top("integrated and logins_7d >= 3", "and"),
            vec!["integrated", "logins_7d >= 3"]
        );
        assert_eq!(split_top("(a or b) and c", "and"), vec!["(a or b)", "c"]);
        assert_eq!(split_top("(a and b)", "and"), vec!["a", "b"]);
        assert_eq!(
            split_top("brand == \"x and y\" and sand", "and"),
            vec!["brand == \"x and y\"", "sand"]
        );
        assert_eq!(split_top("(a) or (b)", "or"), vec!["(a)", "(b)"]);
    }

    #[test]
    fn tolerance_is_a_tenth_or_one_for_ints() {
        assert_eq!(tolerance(3, Type::Int), 1);
        assert_eq!(tolerance(40, Type::Int), 4);
        assert_eq!(tolerance(5_000_000, Type::Decimal), 500_000);
    }
}
