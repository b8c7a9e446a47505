//! What the cases of a playbook exercised: transitions taken, rules and
//! escalations fired, milestones done and missed, and each clause (an
//! operand of `and`/`or` in a rule's or transition's condition) seen true
//! and seen false.
//!
//! Transitions, rules and missed milestones are read from the outcome
//! records. Done milestones and clauses are observed through the runtime's
//! observation hook: whenever the engine is about to evaluate rules (after
//! an input's metrics and scores are up to date) or to try the transitions
//! leaving a stage, every rule or transition whose trigger matches the input
//! (and whose `in stage` and `for` restrictions hold) has each of its
//! clauses evaluated on its own with the reference interpreter.

use serde::Serialize;
use stagecraft::ir::{self, eval, milestone_state, Frame, Program, Trigger, Value};
use stagecraft::runtime::compiled::TimerKey;
use stagecraft::runtime::{Compiled, Observation, Record};
use stagecraft_syntax::ast;

/// A clause of a condition.
#[derive(Debug, Clone)]
pub struct Clause {
    /// The clause as written.
    pub text: String,
    pub expr: ir::Expr,
}

/// Whose condition a clause belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    Rule(u32),
    Escalation(u32),
    Transition(u32),
}

/// The coverable parts of one playbook.
#[derive(Debug, Clone)]
pub struct Model {
    pub program: std::sync::Arc<Program>,
    /// Clauses of each owner with two or more.
    pub clauses: Vec<(Owner, Vec<Clause>)>,
}

/// What has been seen so far, for one playbook.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hits {
    pub transitions: Vec<bool>,
    pub rules: Vec<bool>,
    pub escalations: Vec<bool>,
    pub milestones_done: Vec<bool>,
    pub milestones_missed: Vec<bool>,
    /// Per clause group, per clause: (seen true, seen false).
    pub clauses: Vec<Vec<(bool, bool)>>,
}

impl Model {
    pub fn new(program: std::sync::Arc<Program>, playbook: &ast::Playbook, source: &str) -> Model {
        let mut clauses = Vec::new();
        let ast_rules: Vec<&ast::RuleDecl> = playbook
            .items
            .iter()
            .filter_map(|i| match i {
                ast::Item::Rule(r) => Some(r),
                _ => None,
            })
            .collect();
        let ast_escalations: Vec<&ast::EscalationDecl> = playbook
            .items
            .iter()
            .filter_map(|i| match i {
                ast::Item::Escalation(e) => Some(e),
                _ => None,
            })
            .collect();
        let ast_transitions: Vec<&ast::TransitionDecl> = playbook
            .items
            .iter()
            .filter_map(|i| match i {
                ast::Item::Transition(t) => Some(t),
                _ => None,
            })
            .collect();
        for (i, rule) in program.rules.iter().enumerate() {
            let decl = ast_rules.iter().find(|r| r.name.name == rule.name);
            if let (Some(decl), Some(guard)) = (decl, &rule.guard) {
                push_clauses(
                    &mut clauses,
                    Owner::Rule(i as u32),
                    &decl.trigger,
                    &guard.expr,
                    source,
                );
            }
        }
        for (i, esc) in program.escalations.iter().enumerate() {
            let decl = ast_escalations.iter().find(|e| e.name.name == esc.name);
            if let (Some(decl), Some(guard)) = (decl, &esc.guard) {
                push_clauses(
                    &mut clauses,
                    Owner::Escalation(i as u32),
                    &decl.trigger,
                    &guard.expr,
                    source,
                );
            }
        }
        for (i, t) in program.transitions.iter().enumerate() {
            let decl = ast_transitions
                .iter()
                .find(|d| d.span.start == t.span.start)
                .or_else(|| ast_transitions.get(i));
            if let (Some(decl), Some(guard)) = (decl, &t.guard) {
                push_clauses(
                    &mut clauses,
                    Owner::Transition(i as u32),
                    &decl.trigger,
                    &guard.expr,
                    source,
                );
            }
        }
        Model { program, clauses }
    }

    pub fn empty_hits(&self) -> Hits {
        let p = &self.program;
        Hits {
            transitions: vec![false; p.transitions.len()],
            rules: vec![false; p.rules.len()],
            escalations: vec![false; p.escalations.len()],
            milestones_done: vec![false; p.milestones.len()],
            milestones_missed: vec![false; p.milestones.len()],
            clauses: self
                .clauses
                .iter()
                .map(|(_, c)| vec![(false, false); c.len()])
                .collect(),
        }
    }

    /// Records what the outcome records show.
    pub fn record_outcomes(&self, hits: &mut Hits, records: &[Record]) {
        let p = &self.program;
        for r in records {
            match r.kind.as_str() {
                "transition" => {
                    if let Some(n) = r.fields.get("transition").and_then(|v| v.as_u64()) {
                        if let Some(h) = hits.transitions.get_mut(n as usize - 1) {
                            *h = true;
                        }
                    }
                }
                "action" => {
                    if let Some(name) = r.fields.get("rule").and_then(|v| v.as_str()) {
                        if let Some(i) = p.rules.iter().position(|x| x.name == name) {
                            hits.rules[i] = true;
                        }
                    }
                    if let Some(name) = r.fields.get("escalation").and_then(|v| v.as_str()) {
                        if let Some(i) = p.escalations.iter().position(|x| x.name == name) {
                            hits.escalations[i] = true;
                        }
                    }
                }
                "milestone_missed" => {
                    if let Some(name) = r.fields.get("milestone").and_then(|v| v.as_str()) {
                        if let Some(i) = p.milestones.iter().position(|x| x.name == name) {
                            hits.milestones_missed[i] = true;
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// Records what an observation shows (see the module documentation).
    pub fn observe(&self, compiled: &Compiled, hits: &mut Hits, point: Observation, frame: &Frame) {
        let p = &self.program;
        let layout = p.layout;
        let load = |slot: u32| match eval(&ir::Expr::Load(slot), frame) {
            Value::Val(v) => Some(v),
            _ => None,
        };
        let input_event = load(layout.input_event);
        let input_timer = load(layout.input_timer);
        let stage = load(layout.stage);
        let segment_holds = |segment: Option<u32>| {
            segment.is_none_or(|s| {
                p.segments
                    .get(s as usize)
                    .is_some_and(|d| eval(&d.cond.expr, frame) == Value::TRUE)
            })
        };
        let triggered = |trigger: Trigger, own_timer: TimerKey| match trigger {
            Trigger::Event(e) => input_event == Some(i64::from(e)),
            Trigger::When => input_event.is_some(),
            Trigger::MilestoneMissed(m) => input_timer == Some(TimerKey::Milestone(m).encode(p)),
            Trigger::AfterInStage { .. } | Trigger::AtDate { .. } => {
                input_timer == Some(own_timer.encode(p))
            }
        };
        match point {
            Observation::Evaluated { .. } => {
                for (m, done) in hits.milestones_done.iter_mut().enumerate() {
                    if load(layout.milestone_base + m as u32) == Some(milestone_state::DONE) {
                        *done = true;
                    }
                }
                for (g, (owner, clauses)) in self.clauses.iter().enumerate() {
                    let applies = match *owner {
                        Owner::Rule(r) => {
                            let def = &p.rules[r as usize];
                            triggered(def.trigger, TimerKey::Rule(r))
                                && in_stages(&def.in_stages, stage)
                                && segment_holds(def.segment)
                        }
                        Owner::Escalation(e) => {
                            let def = &p.escalations[e as usize];
                            triggered(def.trigger, TimerKey::Escalation(e))
                                && in_stages(&def.in_stages, stage)
                                && segment_holds(def.segment)
                        }
                        Owner::Transition(_) => false,
                    };
                    if applies {
                        see(&mut hits.clauses[g], clauses, frame);
                    }
                }
            }
            Observation::Step { stage, .. } => {
                let Some((members, list)) = compiled.index.stage_guards.get(stage as usize) else {
                    return;
                };
                let ids = compiled
                    .plan
                    .lists
                    .get(*list as usize)
                    .cloned()
                    .unwrap_or_default();
                for (position, t) in members.iter().enumerate() {
                    let def = &p.transitions[*t as usize];
                    if triggered(def.trigger, TimerKey::Transition(*t))
                        && segment_holds(def.segment)
                    {
                        if let Some(g) = self
                            .clauses
                            .iter()
                            .position(|(o, _)| *o == Owner::Transition(*t))
                        {
                            see(&mut hits.clauses[g], &self.clauses[g].1, frame);
                        }
                    }
                    let matched = ids
                        .get(position)
                        .and_then(|id| compiled.plan.exprs.get(*id as usize))
                        .is_some_and(|e| eval(e, frame) == Value::TRUE);
                    if matched {
                        break;
                    }
                }
            }
        }
    }

    /// The coverage report of `hits`.
    pub fn report(&self, file: &str, hits: &Hits) -> Report {
        let p = &self.program;
        let mut transitions = Vec::new();
        for (i, t) in p.transitions.iter().enumerate() {
            transitions.push(Item {
                name: format!(
                    "transition {}: {}",
                    i + 1,
                    one_line(
                        t.source
                            .trim_start()
                            .trim_start_matches("transition")
                            .trim_start()
                    )
                ),
                covered: hits.transitions[i],
            });
        }
        let mut rules = Vec::new();
        for (i, r) in p.rules.iter().enumerate() {
            rules.push(Item {
                name: format!("rule {}", r.name),
                covered: hits.rules[i],
            });
        }
        for (i, e) in p.escalations.iter().enumerate() {
            rules.push(Item {
                name: format!("escalation {}", e.name),
                covered: hits.escalations[i],
            });
        }
        let mut milestones = Vec::new();
        for (i, m) in p.milestones.iter().enumerate() {
            milestones.push(Item {
                name: format!("milestone {} done", m.name),
                covered: hits.milestones_done[i],
            });
            milestones.push(Item {
                name: format!("milestone {} missed", m.name),
                covered: hits.milestones_missed[i],
            });
        }
        let mut clauses = Vec::new();
        for (g, (owner, list)) in self.clauses.iter().enumerate() {
            let owner_name = match *owner {
                Owner::Rule(r) => format!("rule {}", p.rules[r as usize].name),
                Owner::Escalation(e) => format!("escalation {}", p.escalations[e as usize].name),
                Owner::Transition(t) => format!("transition {}", t + 1),
            };
            for (c, clause) in list.iter().enumerate() {
                let (t, f) = hits.clauses[g][c];
                for (value, seen) in [("true", t), ("false", f)] {
                    clauses.push(Item {
                        name: format!("{owner_name}: `{}` {value}", one_line(&clause.text)),
                        covered: seen,
                    });
                }
            }
        }
        Report {
            playbook: file.to_string(),
            transitions: Category::new(transitions),
            rules: Category::new(rules),
            milestones: Category::new(milestones),
            clauses: Category::new(clauses),
        }
    }
}

fn in_stages(stages: &[u32], stage: Option<i64>) -> bool {
    stages.is_empty() || stage.is_some_and(|s| stages.iter().any(|x| i64::from(*x) == s))
}

fn see(hits: &mut [(bool, bool)], clauses: &[Clause], frame: &Frame) {
    for (h, c) in hits.iter_mut().zip(clauses) {
        match eval(&c.expr, frame) {
            Value::TRUE => h.0 = true,
            Value::FALSE => h.1 = true,
            _ => {}
        }
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn push_clauses(
    out: &mut Vec<(Owner, Vec<Clause>)>,
    owner: Owner,
    trigger: &ast::Trigger,
    guard: &ir::Expr,
    source: &str,
) {
    let cond = match trigger {
        ast::Trigger::OnEvent { filter, .. }
        | ast::Trigger::OnMilestoneMissed { filter, .. }
        | ast::Trigger::AfterInStage { filter, .. }
        | ast::Trigger::AtDate { filter, .. } => filter.as_ref(),
        ast::Trigger::When { cond, .. } => Some(cond),
    };
    let Some(cond) = cond else {
        return;
    };
    let mut list = Vec::new();
    split(cond, guard, source, &mut list);
    if list.len() >= 2 {
        out.push((owner, list));
    }
}

/// The leaves of the `and`/`or` tree, walking the AST and the IR together
/// (where they differ in shape, the node is one clause).
fn split(a: &ast::Expr, e: &ir::Expr, source: &str, out: &mut Vec<Clause>) {
    match (&a.kind, e) {
        (ast::ExprKind::And(x, y), ir::Expr::And(p, q))
        | (ast::ExprKind::Or(x, y), ir::Expr::Or(p, q)) => {
            split(x, p, source, out);
            split(y, q, source, out);
        }
        (ast::ExprKind::Not(x), ir::Expr::Not(p))
            if matches!(x.kind, ast::ExprKind::And(..) | ast::ExprKind::Or(..)) =>
        {
            split(x, p, source, out)
        }
        _ => out.push(Clause {
            text: source
                .get(a.span.start..a.span.end)
                .unwrap_or("?")
                .to_string(),
            expr: e.clone(),
        }),
    }
}

/// One coverable thing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    pub name: String,
    pub covered: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Category {
    pub covered: usize,
    pub total: usize,
    pub percent: f64,
    pub items: Vec<Item>,
}

impl Category {
    fn new(items: Vec<Item>) -> Category {
        let covered = items.iter().filter(|i| i.covered).count();
        let total = items.len();
        Category {
            covered,
            total,
            percent: percent(covered, total),
            items,
        }
    }
}

/// Covered share in percent, rounded to one decimal; 100 when there is
/// nothing to cover.
pub fn percent(covered: usize, total: usize) -> f64 {
    if total == 0 {
        100.0
    } else {
        (covered as f64 * 1000.0 / total as f64).floor() / 10.0
    }
}

/// The coverage of one playbook.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub playbook: String,
    pub transitions: Category,
    pub rules: Category,
    pub milestones: Category,
    pub clauses: Category,
}

impl Report {
    pub fn categories(&self) -> [(&'static str, &Category); 4] {
        [
            ("transitions", &self.transitions),
            ("rules", &self.rules),
            ("milestones", &self.milestones),
            ("clauses", &self.clauses),
        ]
    }

    pub fn covered(&self) -> usize {
        self.categories().iter().map(|(_, c)| c.covered).sum()
    }

    pub fn total(&self) -> usize {
        self.categories().iter().map(|(_, c)| c.total).sum()
    }

    /// Everything counted together.
    pub fn percent(&self) -> f64 {
        percent(self.covered(), self.total())
    }
}
