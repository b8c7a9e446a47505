//! A program prepared for evaluation: every condition the engine evaluates
//! becomes one expression of an [`EvalPlan`], so a backend (the interpreter or
//! the JIT) compiles them once.
//!
//! A transition's guard is `trigger ∧ segment ∧ condition`, where the trigger
//! test reads the input slots (`input_event`, `input_timer`); the guards
//! leaving a stage form one list, evaluated first-match-wins.

use std::sync::Arc;

use crate::state::StateLayout;
use stagecraft_ir::{
    ArithOp, Builtin, CmpOp, EvalPlan, Evaluator, Expr, ExprId, Interpreter, ListId, Program,
    Trigger,
};

/// Where each condition of the program lives in the plan.
#[derive(Debug, Clone, Default)]
pub struct PlanIndex {
    /// Per stage: its outgoing transitions (indices into
    /// `program.transitions`) and the guard list that picks among them.
    pub stage_guards: Vec<(Vec<u32>, ListId)>,
    pub scores: Vec<ExprId>,
    /// Per score: the metrics it reads, by bit, when it reads nothing else
    /// (no trait, score, stage data or time), so that its value changes
    /// only when one of theirs does.
    pub score_metrics: Vec<Option<u64>>,
    pub metric_filters: Vec<Option<ExprId>>,
    pub milestone_starts: Vec<Option<ExprId>>,
    pub milestone_done: Vec<Option<ExprId>>,
    pub rules: Vec<ExprId>,
    pub escalations: Vec<ExprId>,
    pub segments: Vec<ExprId>,
    pub crossings: Vec<ExprId>,
    /// Per event type: the rules and escalations that may fire on it (event
    /// trigger for this event, or a level condition), in source order.
    pub rules_on_event: Vec<Vec<u32>>,
    pub escalations_on_event: Vec<Vec<u32>>,
    /// Per event type: the metrics it updates.
    pub metrics_of_event: Vec<Vec<u32>>,
}

/// Timer keys: which declaration a timer belongs to. Keys are laid out as
/// milestones, then transitions, then rules, then escalations, then
/// escalation ladders, then the delivery of deferred messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerKey {
    Milestone(u32),
    Transition(u32),
    Rule(u32),
    Escalation(u32),
    /// The next step of an escalation's ladder.
    EscalationStep(u32),
    Delivery,
}

impl TimerKey {
    pub fn encode(self, program: &Program) -> i64 {
        let m = program.milestones.len() as i64;
        let t = program.transitions.len() as i64;
        let r = program.rules.len() as i64;
        let e = program.escalations.len() as i64;
        match self {
            TimerKey::Milestone(i) => i64::from(i),
            TimerKey::Transition(i) => m + i64::from(i),
            TimerKey::Rule(i) => m + t + i64::from(i),
            TimerKey::Escalation(i) => m + t + r + i64::from(i),
            TimerKey::EscalationStep(i) => m + t + r + e + i64::from(i),
            TimerKey::Delivery => m + t + r + 2 * e,
        }
    }

    pub fn decode(key: i64, program: &Program) -> Option<TimerKey> {
        let m = program.milestones.len() as i64;
        let t = program.transitions.len() as i64;
        let r = program.rules.len() as i64;
        let e = program.escalations.len() as i64;
        let k = u32::try_from(key).ok()?;
        let key = i64::from(k);
        Some(if key < m {
            TimerKey::Milestone(k)
        } else if key < m + t {
            TimerKey::Transition((key - m) as u32)
        } else if key < m + t + r {
            TimerKey::Rule((key - m - t) as u32)
        } else if key < m + t + r + e {
            TimerKey::Escalation((key - m - t - r) as u32)
        } else if key < m + t + r + 2 * e {
            TimerKey::EscalationStep((key - m - t - r - e) as u32)
        } else if key == m + t + r + 2 * e {
            TimerKey::Delivery
        } else {
            return None;
        })
    }
}

/// Which backend evaluates conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    Interpreter,
    Jit,
}

/// A program with its plan and a backend: what an engine runs.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub program: Arc<Program>,
    pub index: Arc<PlanIndex>,
    pub plan: Arc<EvalPlan>,
    pub evaluator: Arc<dyn Evaluator>,
    /// Where each part of a subject's state lives.
    pub state: Arc<StateLayout>,
}

impl Compiled {
    /// Prepares a program with the interpreter backend.
    pub fn interpreted(program: Arc<Program>) -> Compiled {
        let (plan, index) = build_plan(&program);
        let plan = Arc::new(plan);
        Compiled {
            evaluator: Arc::new(Interpreter::new((*plan).clone())),
            state: Arc::new(StateLayout::new(&program)),
            program,
            index: Arc::new(index),
            plan,
        }
    }

    /// Prepares a program with a backend built from its plan (the JIT lives in
    /// another crate; it passes its compiler here).
    pub fn with_backend<E: Evaluator + 'static, Err>(
        program: Arc<Program>,
        build: impl FnOnce(&EvalPlan) -> Result<E, Err>,
    ) -> Result<Compiled, Err> {
        let (plan, index) = build_plan(&program);
        let evaluator = build(&plan)?;
        Ok(Compiled {
            state: Arc::new(StateLayout::new(&program)),
            program,
            index: Arc::new(index),
            plan: Arc::new(plan),
            evaluator: Arc::new(evaluator),
        })
    }

    pub fn backend_name(&self) -> &'static str {
        self.evaluator.name()
    }
}

fn eq(slot: u32, value: i64) -> Expr {
    Expr::Cmp(
        CmpOp::Eq,
        Box::new(Expr::Load(slot)),
        Box::new(Expr::Const(value)),
    )
}

fn all(parts: Vec<Expr>) -> Expr {
    let mut iter = parts.into_iter();
    let Some(first) = iter.next() else {
        return Expr::Const(1);
    };
    iter.fold(first, Expr::and)
}

fn any_of(parts: Vec<Expr>) -> Expr {
    let mut iter = parts.into_iter();
    let Some(first) = iter.next() else {
        return Expr::Const(0);
    };
    iter.fold(first, |a, b| Expr::Or(Box::new(a), Box::new(b)))
}

/// The test that the current input is this trigger.
fn trigger_test(program: &Program, trigger: Trigger, owner: TimerKey) -> Expr {
    let layout = &program.layout;
    match trigger {
        Trigger::Event(e) => eq(layout.input_event, i64::from(e)),
        Trigger::When => Expr::IsSet(Box::new(Expr::Load(layout.input_event))),
        Trigger::MilestoneMissed(m) => {
            eq(layout.input_timer, TimerKey::Milestone(m).encode(program))
        }
        Trigger::AfterInStage { .. } | Trigger::AtDate { .. } => {
            eq(layout.input_timer, owner.encode(program))
        }
    }
}

fn build_plan(program: &Program) -> (EvalPlan, PlanIndex) {
    let mut plan = EvalPlan::default();
    let mut index = PlanIndex::default();
    let layout = &program.layout;
    let segment_expr =
        |segment: Option<u32>| segment.map(|s| program.segments[s as usize].cond.expr.clone());

    for segment in &program.segments {
        index
            .segments
            .push(plan.add_expr(segment.cond.expr.clone()));
    }

    for stage in 0..program.stages.len() as u32 {
        let mut members = Vec::new();
        let mut guards = Vec::new();
        for (i, t) in program.transitions.iter().enumerate() {
            if !t.from.contains(&stage) {
                continue;
            }
            let mut parts = vec![trigger_test(
                program,
                t.trigger,
                TimerKey::Transition(i as u32),
            )];
            parts.extend(segment_expr(t.segment));
            parts.extend(t.guard.as_ref().map(|g| g.expr.clone()));
            members.push(i as u32);
            guards.push(plan.add_expr(all(parts)));
        }
        let list = plan.add_list(guards);
        index.stage_guards.push((members, list));
    }

    for score in &program.scores {
        let mut sum: Option<Expr> = None;
        for c in &score.components {
            let term = c.expr.expr.clone();
            sum = Some(match (sum, c.negate) {
                (None, false) => term,
                (None, true) => Expr::Neg(Box::new(term)),
                (Some(acc), false) => Expr::Arith(ArithOp::Add, Box::new(acc), Box::new(term)),
                (Some(acc), true) => Expr::Arith(ArithOp::Sub, Box::new(acc), Box::new(term)),
            });
        }
        let sum = sum.unwrap_or(Expr::Const(0));
        let clamped = Expr::Call(
            Builtin::Clamp,
            vec![sum, Expr::Const(score.low), Expr::Const(score.high)],
        );
        index.score_metrics.push(metrics_read(&clamped, program));
        index.scores.push(plan.add_expr(clamped));
    }

    index.metrics_of_event = vec![Vec::new(); program.events.len()];
    for (i, m) in program.metrics.iter().enumerate() {
        index
            .metric_filters
            .push(m.filter.as_ref().map(|f| plan.add_expr(f.expr.clone())));
        if let Some(e) = m.event {
            index.metrics_of_event[e as usize].push(i as u32);
        }
    }
    for m in &program.milestones {
        index.milestone_starts.push(
            m.starts_filter
                .as_ref()
                .map(|f| plan.add_expr(f.expr.clone())),
        );
        index.milestone_done.push(
            m.done_filter
                .as_ref()
                .map(|f| plan.add_expr(f.expr.clone())),
        );
    }

    let stage_test = |stages: &[u32]| -> Option<Expr> {
        if stages.is_empty() {
            None
        } else {
            Some(any_of(
                stages
                    .iter()
                    .map(|s| eq(layout.stage, i64::from(*s)))
                    .collect(),
            ))
        }
    };
    index.rules_on_event = vec![Vec::new(); program.events.len()];
    index.escalations_on_event = vec![Vec::new(); program.events.len()];
    for (i, r) in program.rules.iter().enumerate() {
        let mut parts = vec![trigger_test(program, r.trigger, TimerKey::Rule(i as u32))];
        parts.extend(stage_test(&r.in_stages));
        parts.extend(segment_expr(r.segment));
        parts.extend(r.guard.as_ref().map(|g| g.expr.clone()));
        index.rules.push(plan.add_expr(all(parts)));
        register(&mut index.rules_on_event, r.trigger, i as u32);
    }
    for (i, e) in program.escalations.iter().enumerate() {
        let mut parts = vec![trigger_test(
            program,
            e.trigger,
            TimerKey::Escalation(i as u32),
        )];
        parts.extend(stage_test(&e.in_stages));
        parts.extend(segment_expr(e.segment));
        parts.extend(e.guard.as_ref().map(|g| g.expr.clone()));
        index.escalations.push(plan.add_expr(all(parts)));
        register(&mut index.escalations_on_event, e.trigger, i as u32);
    }
    for c in &program.crossings {
        index.crossings.push(plan.add_expr(c.value.expr.clone()));
    }
    (plan, index)
}

fn register(on_event: &mut [Vec<u32>], trigger: Trigger, id: u32) {
    match trigger {
        Trigger::Event(e) => {
            if let Some(list) = on_event.get_mut(e as usize) {
                list.push(id);
            }
        }
        Trigger::When => {
            for list in on_event.iter_mut() {
                list.push(id);
            }
        }
        _ => {}
    }
}

/// The metrics an expression reads, by bit, when it reads no other slot and
/// not the time (`days_until` reads it too); `None` otherwise, or past the
/// metrics a subject tracks ([`TRACKED_METRICS`](crate::state::TRACKED_METRICS)).
fn metrics_read(expr: &Expr, program: &Program) -> Option<u64> {
    let metrics =
        program.layout.metric_base..program.layout.metric_base + program.metrics.len() as u32;
    let mut read = Some(0u64);
    expr.walk(&mut |node| match node {
        Expr::Load(slot) if metrics.contains(slot) => {
            let bit = 1u64.checked_shl(slot - metrics.start);
            read = read.zip(bit).map(|(read, bit)| read | bit);
        }
        Expr::Load(_)
        | Expr::Now
        | Expr::Since { .. }
        | Expr::Crosses { .. }
        | Expr::Call(Builtin::DaysUntil, _) => read = None,
        _ => {}
    });
    read
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `score_metrics` of each score of a playbook, in order.
    fn score_metrics(scores: &str) -> Vec<Option<u64>> {
        let text = format!(
            r#"
playbook "scores" {{ language 1 version "1" subject account }}
traits {{ seats: int = 1 }}
event "Login" {{}}
event "Renewed" {{ on: date }}
metric logins = count "Login"
metric logins_7d = count "Login" over 7d
metric renewed = latest "Renewed".on
stages {{ trial initial }}
{scores}
"#
        );
        let ast = stagecraft_syntax::parse(&text).expect("parses");
        let program = stagecraft_check::check(&text, &ast).expect("checks");
        build_plan(&program).1.score_metrics
    }

    #[test]
    fn a_score_is_tied_to_metrics_only_when_it_reads_nothing_else() {
        let scores = score_metrics(
            r#"
score activity in 0..100 = 2 * logins "logins" + min(logins_7d, 5) "recent"
score per_seat in 0..100 = logins / seats "per seat"
score renewal in 0..1000 = days_until(renewed) "days to renewal"
score on_activity in 0..100 = activity "activity"
"#,
        );
        assert_eq!(scores, [Some(0b011), None, None, None]);
    }
}
