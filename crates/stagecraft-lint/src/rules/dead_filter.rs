//! SC1018 `dead-filter`: a metric filter, milestone clause filter or
//! segment that can never hold.

use stagecraft_syntax::ast::{self, Item};

use crate::context::{Guard, LintContext};
use crate::finding::{Finding, Level};
use crate::rule::LintRule;

#[derive(Debug)]
pub struct DeadFilter;

impl LintRule for DeadFilter {
    fn code(&self) -> &'static str {
        "SC1018"
    }
    fn name(&self) -> &'static str {
        "dead-filter"
    }
    fn default_level(&self) -> Level {
        Level::Warning
    }
    fn summary(&self) -> &'static str {
        "A metric `where` filter, a milestone `starts on`/`done on` filter, or a segment that can never hold."
    }

    fn check(&self, cx: &LintContext<'_>, out: &mut Vec<Finding>) {
        let program = cx.program;
        for item in &cx.ast.items {
            match item {
                Item::Metric(decl) => {
                    let filter = match &decl.kind {
                        ast::MetricKind::Count { filter, .. }
                        | ast::MetricKind::Aggregate { filter, .. }
                        | ast::MetricKind::Latest { filter, .. }
                        | ast::MetricKind::Ever { filter, .. } => filter.as_ref(),
                        ast::MetricKind::Sent { .. } => None,
                    };
                    let Some(m) = program.metrics.iter().find(|m| m.name == decl.name.name) else {
                        continue;
                    };
                    let (Some(ast_filter), Some(ir)) = (filter, m.filter.as_ref()) else {
                        continue;
                    };
                    let mut g = Guard::default();
                    cx.clauses(Some(ast_filter), ir, ast_filter.span, &mut g);
                    let env = cx.solver.env(m.event);
                    if let Some((why, notes)) = dead(cx, &g, &env) {
                        let effect = match m.kind {
                            stagecraft_ir::MetricKind::Count
                            | stagecraft_ir::MetricKind::Distinct => "is always 0",
                            stagecraft_ir::MetricKind::Ever => "is always false",
                            _ => "never sees a value",
                        };
                        let mut f = self
                            .finding(decl.name.span, format!("metric `{}` {effect}: its filter never holds, because {why}", m.name))
                            .label("never counts an event")
                            .help("fix the filter (compare with the event's declared property ranges and enum values), or remove it");
                        f.notes = notes;
                        out.push(f);
                    }
                }
                Item::Milestone(decl) => {
                    let Some(m) = program.milestones.iter().find(|m| m.name == decl.name.name)
                    else {
                        continue;
                    };
                    let clauses = [
                        (
                            decl.starts.as_ref(),
                            m.starts_filter.as_ref(),
                            m.starts,
                            "never starts: its `starts on` filter never holds",
                        ),
                        (
                            decl.done.as_ref(),
                            m.done_filter.as_ref(),
                            m.done,
                            "is missed every time it starts: its `done on` filter never holds",
                        ),
                    ];
                    for (ast_clause, ir, event, effect) in clauses {
                        let (Some((_, Some(ast_filter))), Some(ir)) = (ast_clause, ir) else {
                            continue;
                        };
                        let mut g = Guard::default();
                        cx.clauses(Some(ast_filter), ir, ast_filter.span, &mut g);
                        if let Some((why, notes)) = dead(cx, &g, &cx.solver.env(Some(event))) {
                            let mut f = self
                                .finding(
                                    decl.name.span,
                                    format!("milestone `{}` {effect}, because {why}", m.name),
                                )
                                .label("filter never holds")
                                .help("fix the filter, or remove it");
                            f.notes = notes;
                            out.push(f);
                        }
                    }
                }
                Item::Segment(decl) => {
                    let Some(s) = program.segments.iter().find(|s| s.name == decl.name.name) else {
                        continue;
                    };
                    let mut g = Guard::default();
                    cx.clauses(Some(&decl.expr), &s.cond, decl.expr.span, &mut g);
                    let a = cx.analysis();
                    let reachable: Vec<u32> = (0..program.stages.len() as u32)
                        .filter(|s| a.reachable[*s as usize])
                        .collect();
                    let mut env = cx.solver.env(None);
                    cx.solver.restrict_stages(&mut env, &reachable);
                    if let Some((why, notes)) = dead(cx, &g, &env) {
                        let mut f = self
                            .finding(
                                decl.name.span,
                                format!("segment `{}` is always false: {why}", s.name),
                            )
                            .label("no subject is ever in it")
                            .help("fix the condition; everything `for` this segment never runs");
                        f.notes = notes;
                        out.push(f);
                    }
                }
                _ => {}
            }
        }
    }
}

fn dead(
    cx: &LintContext<'_>,
    g: &Guard<'_>,
    env: &crate::domain::Env,
) -> Option<(String, Vec<crate::finding::Note>)> {
    if g.is_empty() || cx.solver.can_be_true(&g.terms, env) {
        return None;
    }
    let core = cx.core(g, env);
    Some(cx.explain(g, &core, env))
}
