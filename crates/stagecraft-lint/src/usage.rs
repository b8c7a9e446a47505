//! What a playbook reads: slots loaded by any expression or context
//! package, events used as triggers or aggregated, milestones observed,
//! segments named.

use std::collections::BTreeSet;

use stagecraft_ir::{ActionDef, Expr, Program, QuietZone, Slot, Trigger, TypedExpr};
use stagecraft_syntax::ast::{self, ExprKind, Item, Playbook};

#[derive(Debug, Default)]
pub struct Usage {
    pub slots: BTreeSet<Slot>,
    pub events: BTreeSet<u32>,
    pub milestones: BTreeSet<u32>,
    pub segments: BTreeSet<String>,
}

impl Usage {
    pub fn compute(program: &Program, playbook: &Playbook) -> Usage {
        let mut u = Usage::default();
        let layout = program.layout;
        let mut exprs: Vec<&TypedExpr> = Vec::new();
        for m in &program.metrics {
            exprs.extend(m.filter.as_ref());
            if let Some(e) = m.event {
                u.events.insert(e);
            }
        }
        for s in &program.scores {
            exprs.extend(s.components.iter().map(|c| &c.expr));
        }
        for s in &program.segments {
            exprs.push(&s.cond);
        }
        let trigger = |t: Trigger, u: &mut Usage| match t {
            Trigger::Event(e) => {
                u.events.insert(e);
            }
            Trigger::MilestoneMissed(m) => {
                u.milestones.insert(m);
            }
            Trigger::AtDate { trait_index, .. } => {
                u.slots.insert(layout.trait_base + trait_index);
            }
            _ => {}
        };
        for t in &program.transitions {
            exprs.extend(t.guard.as_ref());
            trigger(t.trigger, &mut u);
        }
        let mut actions: Vec<&ActionDef> = Vec::new();
        for r in &program.rules {
            exprs.extend(r.guard.as_ref());
            trigger(r.trigger, &mut u);
            actions.extend(&r.actions);
        }
        for e in &program.escalations {
            exprs.extend(e.guard.as_ref());
            trigger(e.trigger, &mut u);
            actions.extend(e.steps.iter().map(|s| &s.action));
        }
        for m in &program.milestones {
            u.events.insert(m.starts);
            u.events.insert(m.done);
            exprs.extend(m.starts_filter.as_ref());
            exprs.extend(m.done_filter.as_ref());
        }
        for c in &program.crossings {
            exprs.push(&c.value);
        }
        for a in actions {
            exprs.extend(a.value.as_ref());
            exprs.extend(a.data.iter().map(|(_, e)| e));
            for (_, slot, _) in &a.context {
                u.slots.insert(*slot);
            }
        }
        if let Some(q) = &program.policy.quiet_hours {
            if let QuietZone::Trait(i) = q.zone {
                u.slots.insert(layout.trait_base + i);
            }
        }
        if let Some(per) = &program.subject_per {
            if let Some(i) = program.traits.iter().position(|t| &t.name == per) {
                u.slots.insert(layout.trait_base + i as u32);
            }
        }
        for e in exprs {
            e.expr.walk(&mut |x| match x {
                Expr::Load(s) => {
                    u.slots.insert(*s);
                }
                Expr::Since { ts, .. } => {
                    u.slots.insert(*ts);
                }
                Expr::Crosses { prev, .. } => {
                    u.slots.insert(*prev);
                }
                _ => {}
            });
        }
        for (e, slot) in program.last_seen_slots.iter().enumerate() {
            if slot.is_some_and(|slot| u.slots.contains(&slot)) {
                u.events.insert(e as u32);
            }
        }
        for (m, _) in program.milestones.iter().enumerate() {
            if u.slots.contains(&(layout.milestone_base + m as u32)) {
                u.milestones.insert(m as u32);
            }
        }
        u.segments = segment_uses(program, playbook);
        u
    }
}

/// Segments named by `for SEGMENT` or used as conditions. A name that is
/// also an enum value or a stage, written as an operand of a comparison or
/// `in [...]`, is read as that value, as the checker does.
fn segment_uses(program: &Program, playbook: &Playbook) -> BTreeSet<String> {
    let segments: BTreeSet<&str> = program.segments.iter().map(|s| s.name.as_str()).collect();
    let ambiguous = |n: &str| {
        program
            .enums
            .iter()
            .any(|e| e.variants.iter().any(|v| v == n))
            || program.stages.iter().any(|s| s.name == n)
    };
    let mut used = BTreeSet::new();
    let visit_all = |e: &ast::Expr, used: &mut BTreeSet<String>| {
        visit(e, false, &segments, &ambiguous, used);
    };
    let for_segment = |s: &Option<ast::Ident>, used: &mut BTreeSet<String>| {
        if let Some(s) = s {
            used.insert(s.name.clone());
        }
    };
    let trigger_exprs = |t: &ast::Trigger| -> Option<ast::Expr> {
        match t {
            ast::Trigger::OnEvent { filter, .. }
            | ast::Trigger::OnMilestoneMissed { filter, .. }
            | ast::Trigger::AfterInStage { filter, .. }
            | ast::Trigger::AtDate { filter, .. } => filter.clone(),
            ast::Trigger::When { cond, .. } => Some(cond.clone()),
        }
    };
    let with_exprs =
        |w: &ast::WithClause| -> Vec<ast::Expr> { w.data.iter().map(|(_, e)| e.clone()).collect() };
    for item in &playbook.items {
        let mut exprs: Vec<ast::Expr> = Vec::new();
        match item {
            Item::Metric(m) => match &m.kind {
                ast::MetricKind::Count { filter, .. }
                | ast::MetricKind::Aggregate { filter, .. }
                | ast::MetricKind::Latest { filter, .. }
                | ast::MetricKind::Ever { filter, .. } => exprs.extend(filter.clone()),
                ast::MetricKind::Sent { .. } => {}
            },
            Item::Score(s) => exprs.extend(s.terms.iter().map(|t| t.expr.clone())),
            Item::Segment(s) => exprs.push(s.expr.clone()),
            Item::Transition(t) => {
                exprs.extend(trigger_exprs(&t.trigger));
                for_segment(&t.segment, &mut used);
            }
            Item::Rule(r) => {
                exprs.extend(trigger_exprs(&r.trigger));
                for_segment(&r.options.segment, &mut used);
                for a in &r.actions {
                    match a {
                        ast::Action::Send { with, .. }
                        | ast::Action::Task { with, .. }
                        | ast::Action::Ticket { with, .. }
                        | ast::Action::Webhook { with, .. }
                        | ast::Action::HandOff { with, .. } => exprs.extend(with_exprs(with)),
                        ast::Action::Crm { value, .. } => exprs.push(value.clone()),
                    }
                }
            }
            Item::Escalation(e) => {
                exprs.extend(trigger_exprs(&e.trigger));
                for_segment(&e.options.segment, &mut used);
                exprs.extend(with_exprs(&e.first.with));
                for (_, step) in &e.ladder {
                    exprs.extend(with_exprs(&step.with));
                }
            }
            Item::Milestone(m) => {
                for clause in [&m.starts, &m.done].into_iter().flatten() {
                    exprs.extend(clause.1.clone());
                }
            }
            _ => {}
        }
        for e in &exprs {
            visit_all(e, &mut used);
        }
    }
    used
}

fn visit(
    e: &ast::Expr,
    operand: bool,
    segments: &BTreeSet<&str>,
    ambiguous: &dyn Fn(&str) -> bool,
    used: &mut BTreeSet<String>,
) {
    let go = |x: &ast::Expr, operand: bool, used: &mut BTreeSet<String>| {
        visit(x, operand, segments, ambiguous, used)
    };
    match &e.kind {
        ExprKind::Name(n) => {
            if segments.contains(n.name.as_str()) && !(operand && ambiguous(&n.name)) {
                used.insert(n.name.clone());
            }
        }
        ExprKind::Literal(_)
        | ExprKind::EventProp(_)
        | ExprKind::Stage
        | ExprKind::SinceLast(_)
        | ExprKind::MilestoneState(..) => {}
        ExprKind::Call(name, args) => {
            if name.name != "entered_at" {
                for a in args {
                    go(a, true, used);
                }
            }
        }
        ExprKind::Neg(a) => go(a, true, used),
        ExprKind::Not(a) => go(a, false, used),
        ExprKind::Binary(_, a, b) | ExprKind::Compare(_, a, b) => {
            go(a, true, used);
            go(b, true, used);
        }
        ExprKind::And(a, b) | ExprKind::Or(a, b) => {
            go(a, false, used);
            go(b, false, used);
        }
        ExprKind::Crosses {
            value, threshold, ..
        } => {
            go(value, true, used);
            go(threshold, true, used);
        }
        ExprKind::IsSet { value, .. } => go(value, false, used),
        ExprKind::In { value, options, .. } => {
            go(value, true, used);
            for o in options {
                go(o, true, used);
            }
        }
    }
}
