//! SC1019 `constant-condition` (info): a condition that always holds.

use stagecraft_ir::Trigger;
use stagecraft_syntax::ast::{self, Item};

use crate::context::{Guard, LintContext};
use crate::finding::{Finding, Level};
use crate::rule::LintRule;

#[derive(Debug)]
pub struct ConstantCondition;

impl LintRule for ConstantCondition {
    fn code(&self) -> &'static str {
        "SC1019"
    }
    fn name(&self) -> &'static str {
        "constant-condition"
    }
    fn default_level(&self) -> Level {
        Level::Info
    }
    fn summary(&self) -> &'static str {
        "A `where` filter or `when` condition that always holds, given the declared types, ranges and enum values: it filters nothing."
    }

    fn check(&self, cx: &LintContext<'_>, out: &mut Vec<Finding>) {
        let a = cx.analysis();
        for t in &a.transitions {
            let (Some(ast), Some(ir)) = (t.ast, t.ir.guard.as_ref()) else {
                continue;
            };
            let Some(filter) = trigger_filter(&ast.trigger) else {
                continue;
            };
            let mut g = Guard::default();
            cx.clauses(Some(filter), ir, filter.span, &mut g);
            let live: Vec<u32> =
                t.ir.from
                    .iter()
                    .copied()
                    .filter(|s| t.dead_at(*s).is_none())
                    .collect();
            if live.is_empty()
                || !live
                    .iter()
                    .all(|s| cx.solver.always_true(&g.terms, &cx.stage_env(t.event, *s)))
            {
                continue;
            }
            let extra = if t.ir.trigger == Trigger::When {
                ": the transition is taken at the first event or trait update in its source stage"
            } else {
                ""
            };
            out.push(self.report(cx, filter, &g, &cx.stage_env(t.event, live[0]), extra));
        }
        let mut filters = Vec::new();
        for item in &cx.ast.items {
            match item {
                Item::Rule(r) => filters.push(trigger_filter(&r.trigger)),
                Item::Escalation(e) => filters.push(trigger_filter(&e.trigger)),
                _ => {}
            }
        }
        if filters.len() == a.actors.len() {
            for (actor, filter) in a.actors.iter().zip(filters) {
                let guard = actor.rule.map_or_else(
                    || actor.escalation.and_then(|e| e.guard.as_ref()),
                    |r| r.guard.as_ref(),
                );
                let (Some(filter), Some(ir), None) = (filter, guard, &actor.dead) else {
                    continue;
                };
                let mut g = Guard::default();
                cx.clauses(Some(filter), ir, filter.span, &mut g);
                let env = cx.actor_env(actor);
                if !cx.solver.always_true(&g.terms, &env) {
                    continue;
                }
                let extra = if actor.trigger == Trigger::When
                    && !actor.once
                    && actor.cooldown_millis.is_none()
                {
                    ": with no `once` or `cooldown`, it fires after every event and trait update"
                } else {
                    ""
                };
                out.push(self.report(cx, filter, &g, &env, extra));
            }
        }
        for item in &cx.ast.items {
            let Item::Metric(decl) = item else { continue };
            let filter = match &decl.kind {
                ast::MetricKind::Count { filter, .. }
                | ast::MetricKind::Aggregate { filter, .. }
                | ast::MetricKind::Latest { filter, .. }
                | ast::MetricKind::Ever { filter, .. } => filter.as_ref(),
                ast::MetricKind::Sent { .. } => None,
            };
            let Some(m) = cx.program.metrics.iter().find(|m| m.name == decl.name.name) else {
                continue;
            };
            let (Some(filter), Some(ir)) = (filter, m.filter.as_ref()) else {
                continue;
            };
            let mut g = Guard::default();
            cx.clauses(Some(filter), ir, filter.span, &mut g);
            let env = cx.solver.env(m.event);
            if cx.solver.always_true(&g.terms, &env) {
                out.push(self.report(cx, filter, &g, &env, ""));
            }
        }
    }
}

impl ConstantCondition {
    fn report(
        &self,
        cx: &LintContext<'_>,
        filter: &ast::Expr,
        g: &Guard<'_>,
        env: &crate::domain::Env,
        extra: &str,
    ) -> Finding {
        let reasons = cx.describe_terms(&g.terms, env);
        let why = if reasons.is_empty() {
            String::new()
        } else {
            format!(", as {}", crate::context::join_and(&reasons))
        };
        self.finding(
            filter.span,
            format!("`{}` always holds{why}{extra}", cx.text(filter.span)),
        )
        .label("always true")
        .help("remove the condition, or fix it if it was meant to filter something")
    }
}

fn trigger_filter(t: &ast::Trigger) -> Option<&ast::Expr> {
    match t {
        ast::Trigger::OnEvent { filter, .. }
        | ast::Trigger::OnMilestoneMissed { filter, .. }
        | ast::Trigger::AfterInStage { filter, .. }
        | ast::Trigger::AtDate { filter, .. } => filter.as_ref(),
        ast::Trigger::When { cond, .. } => Some(cond),
    }
}
