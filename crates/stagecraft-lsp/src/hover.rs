//! Hover text: a declaration as written, its type, and for scores their
//! components; one line of documentation for keywords and built-ins.

use std::fmt::Write as _;

use stagecraft::ir::{Program, Type};
use stagecraft::syntax::ast::{BinOp, Expr, ExprKind, Item, Literal, ScoreDecl};

use crate::analysis::Analysis;
use crate::docs;
use crate::index::{DeclKind, Index};
use crate::nav::Found;

/// The longest declaration excerpt shown, in lines.
const MAX_LINES: usize = 16;

pub fn markdown(found: &Found, analysis: &Analysis, program: Option<&Program>) -> Option<String> {
    match found {
        Found::Builtin { name, .. } => {
            let (signature, doc) = docs::builtin(name)?;
            let mut out = format!("```stagecraft\n{signature}\n```\nbuilt-in");
            if let Some(result) = docs::builtin_result(name) {
                let _ = write!(out, " → `{result}`");
            }
            let _ = write!(out, ": {doc}");
            Some(out)
        }
        Found::Keyword { word, .. } => {
            let doc = docs::keyword(word)?;
            Some(format!("keyword `{word}`: {doc}"))
        }
        Found::Decls { decls, .. } => {
            let index = analysis.index.as_ref()?;
            let decl = *decls.first()?;
            Some(declaration(analysis, index, decl, program))
        }
    }
}

fn type_name(program: &Program, ty: Type) -> String {
    match ty {
        Type::Bool => "bool".into(),
        Type::Int => "int".into(),
        Type::Decimal => "decimal".into(),
        Type::String => "string".into(),
        Type::Duration => "duration".into(),
        Type::Timestamp => "timestamp".into(),
        Type::Date => "date".into(),
        Type::Timezone => "timezone".into(),
        Type::Stage => "stage".into(),
        Type::Enum(i) => match program.enums.get(i as usize) {
            Some(e) => format!("enum {{ {} }}", e.variants.join(", ")),
            None => "enum".into(),
        },
    }
}

/// The first lines of a declaration's text.
fn excerpt(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() <= MAX_LINES {
        return text.to_string();
    }
    let mut out = lines[..MAX_LINES].join("\n");
    out.push_str("\n# …");
    out
}

fn code(text: &str) -> String {
    format!("```stagecraft\n{}\n```", excerpt(text))
}

fn declaration(
    analysis: &Analysis,
    index: &Index,
    decl: usize,
    program: Option<&Program>,
) -> String {
    let d = &index.decls[decl];
    let text = analysis.slice(d.span);
    let parent = d.parent.map(|p| &index.decls[p]);
    let mut out = String::new();
    match d.kind {
        DeclKind::Header => {
            let _ = write!(out, "{}\n\nplaybook `{}`", code(text), d.name);
        }
        DeclKind::Trait => {
            let ty = program
                .and_then(|p| {
                    let t = p.traits.iter().find(|t| t.name == d.name)?;
                    Some(type_name(p, t.ty))
                })
                .unwrap_or_else(|| ast_type(analysis, d.span));
            let _ = write!(out, "{}\n\ntrait `{}`: `{ty}`", code(text), d.name);
        }
        DeclKind::Property => {
            let event = parent.map_or("", |p| p.name.as_str());
            let ty = program
                .and_then(|p| {
                    let e = p.events.iter().find(|e| e.name == event)?;
                    let f = e.props.iter().find(|f| f.name == d.name)?;
                    Some(type_name(p, f.ty))
                })
                .unwrap_or_else(|| ast_type(analysis, d.span));
            let _ = write!(
                out,
                "{}\n\nproperty `{}` of event `\"{event}\"`: `{ty}`",
                code(text),
                d.name
            );
        }
        DeclKind::EnumValue => {
            let (field, field_text) =
                parent.map_or(("", ""), |p| (p.name.as_str(), analysis.slice(p.span)));
            let of = match parent.and_then(|p| p.parent).map(|g| &index.decls[g]) {
                Some(g) if g.kind == DeclKind::Event => {
                    format!("property `{field}` of event `\"{}\"`", g.name)
                }
                _ => format!("trait `{field}`"),
            };
            let _ = write!(out, "{}\n\nvalue `{}` of {of}", code(field_text), d.name);
        }
        DeclKind::Metric => {
            let ty = program.and_then(|p| {
                let m = p.metrics.iter().find(|m| m.name == d.name)?;
                Some(type_name(p, m.ty))
            });
            let _ = write!(out, "{}\n\nmetric `{}`", code(text), d.name);
            if let Some(ty) = ty {
                let _ = write!(out, ": `{ty}`");
            }
        }
        DeclKind::Score => score(&mut out, analysis, d, program),
        DeclKind::Segment => {
            let _ = write!(out, "{}\n\nsegment `{}`: `bool`", code(text), d.name);
        }
        DeclKind::Stage => stage(&mut out, index, decl, text),
        DeclKind::Event => {
            let _ = write!(out, "{}\n\nevent `\"{}\"`", code(text), d.name);
            let props = index
                .children(decl)
                .filter(|(_, c)| c.kind == DeclKind::Property)
                .count();
            let _ = write!(
                out,
                " with {props} propert{}",
                if props == 1 { "y" } else { "ies" }
            );
        }
        DeclKind::Rule | DeclKind::Escalation => {
            // The trigger and options: everything before the block.
            let head = text.find('{').map_or(text, |i| text[..i].trim_end());
            let _ = write!(out, "{}\n\n{} `{}`", code(head), d.kind.describe(), d.name);
            let actions = block_items(analysis, decl, index);
            if let Some(n) = actions {
                let noun = if d.kind == DeclKind::Rule {
                    "action"
                } else {
                    "step"
                };
                let _ = write!(out, " with {n} {noun}{}", if n == 1 { "" } else { "s" });
            }
        }
        DeclKind::Milestone | DeclKind::Transition | DeclKind::Manual => {
            let _ = write!(out, "{}\n\n{}", code(text), d.kind.describe());
            if d.kind == DeclKind::Milestone {
                let _ = write!(out, " `{}`", d.name);
            }
        }
        DeclKind::TraitsBlock | DeclKind::StagesBlock | DeclKind::Policy => {
            let word = analysis.slice(d.name_span);
            let doc = docs::keyword(word).unwrap_or("");
            let _ = write!(out, "keyword `{word}`: {doc}");
        }
    }
    out
}

/// A field's type as written (when there is no checked program).
fn ast_type(analysis: &Analysis, span: stagecraft::syntax::Span) -> String {
    let text = analysis.slice(span);
    let after = text.split_once(':').map_or("", |(_, t)| t).trim();
    let end = after
        .find(" in ")
        .or_else(|| after.find('='))
        .unwrap_or(after.len());
    after[..end].trim().to_string()
}

fn block_items(analysis: &Analysis, decl: usize, index: &Index) -> Option<usize> {
    let span = index.decls[decl].span;
    analysis
        .ast
        .as_ref()?
        .items
        .iter()
        .find_map(|item| match item {
            Item::Rule(r) if r.span == span => Some(r.actions.len()),
            Item::Escalation(e) if e.span == span => Some(1 + e.ladder.len()),
            _ => None,
        })
}

fn stage(out: &mut String, index: &Index, decl: usize, text: &str) {
    let d = &index.decls[decl];
    let siblings: Vec<usize> = index
        .of_kind(DeclKind::Stage)
        .filter(|(_, s)| s.parent == d.parent)
        .map(|(i, _)| i)
        .collect();
    let position = siblings.iter().position(|&i| i == decl).unwrap_or(0) + 1;
    let _ = write!(
        out,
        "{}\n\nstage `{}`, {position} of {} in the declared order",
        code(text),
        d.name,
        siblings.len()
    );
    let mut into = Vec::new();
    let mut out_of = Vec::new();
    for (_, t) in index
        .decls
        .iter()
        .enumerate()
        .filter(|(_, t)| matches!(t.kind, DeclKind::Transition | DeclKind::Manual))
    {
        let Some((from, to)) = t.name.split_once(" -> ") else {
            continue;
        };
        let listed = |list: &str| list.split(", ").any(|s| s == d.name);
        let leaves = match from.strip_prefix("any") {
            Some(rest) => !rest.trim().strip_prefix("except ").is_some_and(listed),
            None => listed(from),
        };
        let entry = format!(
            "`{} {}`",
            if t.kind == DeclKind::Manual {
                "manual"
            } else {
                "transition"
            },
            t.name
        );
        if to == d.name {
            into.push(entry.clone());
        }
        if leaves && to != d.name {
            out_of.push(entry);
        }
    }
    if !into.is_empty() {
        let _ = write!(out, "\n\nentered by: {}", into.join(", "));
    }
    if !out_of.is_empty() {
        let _ = write!(out, "\n\nleft by: {}", out_of.join(", "));
    }
}

fn score(out: &mut String, analysis: &Analysis, d: &crate::index::Decl, program: Option<&Program>) {
    let ast = analysis.ast.as_ref().and_then(|ast| {
        ast.items.iter().find_map(|item| match item {
            Item::Score(s) if s.span == d.span => Some(s),
            _ => None,
        })
    });
    let checked = program.and_then(|p| p.scores.iter().find(|s| s.name == d.name).map(|s| (p, s)));
    let Some(ast) = ast else {
        let _ = write!(
            out,
            "{}\n\nscore `{}`",
            code(analysis.slice(d.span)),
            d.name
        );
        return;
    };
    let _ = write!(
        out,
        "```stagecraft\nscore {} in {}..{}\n```\n\nscore `{}`",
        d.name, ast.low.text, ast.high.text, d.name
    );
    if let Some((p, s)) = checked {
        let _ = write!(out, ": `{}`", type_name(p, s.ty));
    }
    let _ = write!(
        out,
        ", the sum of {} component{}, clamped to {}..{}\n\n",
        ast.terms.len(),
        if ast.terms.len() == 1 { "" } else { "s" },
        ast.low.text,
        ast.high.text
    );
    out.push_str("| component | weight | term |\n|---|---:|---|\n");
    let labels = component_labels(analysis, ast, checked.map(|(_, s)| s));
    for (term, label) in ast.terms.iter().zip(labels) {
        let sign = if term.negate { "-" } else { "+" };
        let weight = match coefficient(analysis, &term.expr) {
            Some(c) => {
                let c = c.strip_prefix('-').map_or_else(
                    || format!("{sign}{c}"),
                    |abs| format!("{}{abs}", if term.negate { "+" } else { "-" }),
                );
                if is_constant(&term.expr) {
                    format!("{c} (constant)")
                } else {
                    c
                }
            }
            None => format!("{sign}1"),
        };
        let term_text = expr_text(analysis, term.expr.span).replace('|', "\\|");
        let _ = writeln!(
            out,
            "| {} | {weight} | `{sign} {term_text}` |",
            label.replace('|', "\\|")
        );
    }
}

/// Labels as the checker assigns them: the written label, `base` for an
/// unlabelled first term, else the term's text.
fn component_labels(
    analysis: &Analysis,
    ast: &ScoreDecl,
    checked: Option<&stagecraft::ir::ScoreDef>,
) -> Vec<String> {
    let checked = checked.filter(|s| s.components.len() == ast.terms.len());
    ast.terms
        .iter()
        .enumerate()
        .map(|(n, t)| match (&t.label, checked) {
            (Some(l), _) => l.value.clone(),
            // The checker's label for an unlabelled term is its text, which
            // can miss a closing parenthesis: show the balanced text.
            (None, Some(s)) if s.components[n].label != analysis.slice(t.expr.span) => {
                s.components[n].label.clone()
            }
            (None, _) if n == 0 => "base".to_string(),
            (None, _) => expr_text(analysis, t.expr.span),
        })
        .collect()
}

/// An expression's text with its parentheses balanced: the span of an
/// operation whose right operand is parenthesized stops before the `)`.
fn expr_text(analysis: &Analysis, span: stagecraft::syntax::Span) -> String {
    let mut text = analysis.slice(span).to_string();
    let rest = analysis.text.get(span.end..).unwrap_or("");
    let mut missing = text
        .matches('(')
        .count()
        .saturating_sub(text.matches(')').count());
    let mut chars = rest.chars();
    while missing > 0 {
        match chars.next() {
            Some(')') => {
                text.push(')');
                missing -= 1;
            }
            Some(c) if c.is_whitespace() => {}
            _ => break,
        }
    }
    text
}

fn is_constant(expr: &Expr) -> bool {
    match &expr.kind {
        ExprKind::Literal(_) => true,
        ExprKind::Neg(inner) => is_constant(inner),
        _ => false,
    }
}

/// The leading numeric factor of a term (`5 * min(x, 6)` → `5`), or the
/// term itself when it is a number.
fn coefficient(analysis: &Analysis, expr: &Expr) -> Option<String> {
    match &expr.kind {
        ExprKind::Literal(Literal::Int(..) | Literal::Decimal(..)) => {
            Some(analysis.slice(expr.span).to_string())
        }
        ExprKind::Neg(inner) => {
            let c = coefficient(analysis, inner)?;
            Some(
                c.strip_prefix('-')
                    .map_or_else(|| format!("-{c}"), str::to_string),
            )
        }
        ExprKind::Binary(BinOp::Mul, left, right) => coefficient(analysis, left).or_else(|| {
            is_constant(right)
                .then(|| coefficient(analysis, right))
                .flatten()
        }),
        ExprKind::Binary(BinOp::Div, left, _) => coefficient(analysis, left),
        _ => None,
    }
}
