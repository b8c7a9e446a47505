//! `stagecraft explain`: one account's timeline, with the reasons.
//!
//! The playbook runs over the events as `stagecraft run` would, with a sink
//! that watches one account: at each observation point (metrics and scores
//! up to date, before rules; before each cascade step) it evaluates, with the
//! reference interpreter, the clauses of every rule and transition that was
//! tried, and attaches them to the outcomes that follow. Suppressed, deferred
//! and held-out actions get their reason spelled out (the cap and the earlier
//! sends in its window, the cooldown's end, the delivery time, the holdout
//! bucket, the first firing). False conditions that missed by a little are
//! collected as near misses (see [`crate::clauses::near_miss`]).

use std::collections::HashMap;
use std::io::BufRead;

use serde::{Deserialize, Serialize};
use stagecraft::ir::{eval, ActionKind, CapTarget, Frame, Program, Trigger, Type, Value};
use stagecraft::runtime::compiled::TimerKey;
use stagecraft::runtime::outcome::{
    action_def, cap_name, owner_name, timer_name, Cause, ErrorSite, Owner, SubjectNames, Why,
};
use stagecraft::runtime::symbols::Symbols;
use stagecraft::runtime::{
    time, Compiled, Config, DeadLetter, Engine, Observation, Outcome, OutcomeKind, Record, Sink,
    Status,
};

use crate::clauses::{self, near_miss, render, render_value, Clause, Ctx, Miss, RawClause, Typed};

// ------------------------------------------------------------------ output

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    pub account: String,
    pub playbook: String,
    pub version: String,
    /// Explained as of this time (inputs after it are not read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// Whether the account appears in the events.
    pub found: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_stage_since: Option<String>,
    pub timeline: Vec<Entry>,
    /// Scores at the last evaluation, by component.
    pub scores: Vec<ScoreView>,
    /// Rules and transitions that were close to firing.
    pub near_misses: Vec<NearMissView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub time: String,
    /// An outcome kind (`entered`, `transition`, `action`, ...) or `score`.
    pub kind: String,
    /// One line for people.
    pub summary: String,
    /// The outcome record, as `stagecraft run` writes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<serde_json::Value>,
    /// How the input matched the trigger.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<String>,
    /// The condition (`when`/`where`) with the value of every clause.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Clause>,
    /// The `for SEGMENT` test.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<Clause>,
    /// Transitions tried before the one that fired, in source order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub passed_over: Vec<PassedOver>,
    /// Why an action was not emitted (or was deferred).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<WhyDetail>,
    /// Scores at this moment (stage changes and score changes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scores: Vec<ScoreView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PassedOver {
    pub number: u32,
    pub transition: String,
    #[serde(flatten)]
    pub value: clauses::ValueJson,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Clause>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct WhyDetail {
    /// `cap`, `cooldown`, `once`, `quiet_hours`, `holdout`.
    pub reason: String,
    /// The reason in a sentence.
    pub detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap: Option<String>,
    /// The actions that filled the cap, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub earlier: Vec<EarlierAction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_start: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_fired: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_fired: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deliver_at: Option<String>,
    /// What happened at `deliver_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holdout_bucket: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holdout_below: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EarlierAction {
    pub time: String,
    pub owner: String,
    pub action: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreView {
    pub name: String,
    #[serde(flatten)]
    pub value: clauses::ValueJson,
    pub range: String,
    pub components: Vec<ComponentView>,
    /// The sum before clamping, when clamping changed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unclamped: Option<clauses::ValueJson>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComponentView {
    pub label: String,
    pub source: String,
    /// Signed: what the component adds to the score.
    pub contribution: clauses::ValueJson,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NearMissView {
    /// `rule`, `transition` or `escalation`.
    pub kind: String,
    pub name: String,
    /// Inputs at which it was close.
    pub times: u64,
    pub first: String,
    pub last: String,
    /// The clauses that missed, at the last time.
    pub misses: Vec<MissView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MissView {
    pub source: String,
    pub left: clauses::ValueJson,
    pub op: String,
    pub right: clauses::ValueJson,
    pub by: clauses::ValueJson,
}

// ------------------------------------------------------------------ raw state

#[derive(Debug, Clone)]
struct RawScore {
    score: u32,
    value: Value,
    components: Vec<(String, String, Value)>,
    unclamped: Option<Value>,
}

#[derive(Debug, Clone)]
struct Tried {
    /// The full guard's value, as the engine computes it.
    value: Value,
    trigger: bool,
    stage_ok: bool,
    segment: Option<RawClause>,
    condition: Option<RawClause>,
}

#[derive(Debug, Clone, Default)]
struct EvalPoint {
    time: i64,
    rules: HashMap<u32, Tried>,
    escalations: HashMap<u32, Tried>,
    scores: Vec<RawScore>,
    input: String,
}

#[derive(Debug, Clone, Default)]
struct StepPoint {
    time: i64,
    /// Transitions leaving the stage, in source order.
    tried: Vec<(u32, Tried)>,
    input: String,
}

#[derive(Debug, Clone)]
struct RawEntry {
    time: i64,
    kind: String,
    record: Option<Record>,
    outcome: Option<Outcome>,
    trigger: Option<String>,
    condition: Option<RawClause>,
    segment: Option<RawClause>,
    passed_over: Vec<(u32, Tried)>,
    why: Option<WhyDetail>,
    scores: Vec<RawScore>,
}

impl RawEntry {
    fn new(time: i64, kind: &str) -> RawEntry {
        RawEntry {
            time,
            kind: kind.to_string(),
            record: None,
            outcome: None,
            trigger: None,
            condition: None,
            segment: None,
            passed_over: Vec::new(),
            why: None,
            scores: Vec::new(),
        }
    }
}

#[derive(Debug, Clone)]
struct RawNear {
    kind: &'static str,
    name: String,
    time: i64,
    misses: Vec<Miss>,
}

/// The sink that watches one account.
#[derive(Debug)]
pub struct ExplainSink {
    compiled: Compiled,
    account: String,
    target: Option<u32>,
    entries: Vec<RawEntry>,
    eval: Option<EvalPoint>,
    step: Option<StepPoint>,
    near: Vec<RawNear>,
    last_scores: Vec<Option<Value>>,
    /// Emitted actions: time, owner name, kind.
    emitted: Vec<(i64, String, ActionKind)>,
    /// Deferred actions by idempotency key: index of their entry.
    deferred: HashMap<u64, usize>,
    pub dead_letters: Vec<DeadLetter>,
}

pub use stagecraft::runtime::engine::holdout_bucket;

fn trigger_matches(program: &Program, trigger: Trigger, owner: TimerKey, frame: &Frame) -> bool {
    let layout = &program.layout;
    let load = |slot: u32| {
        let i = slot as usize;
        (frame.present.get(i).copied() == Some(1)).then(|| frame.values[i])
    };
    match trigger {
        Trigger::Event(e) => load(layout.input_event) == Some(i64::from(e)),
        Trigger::When => load(layout.input_event).is_some(),
        Trigger::MilestoneMissed(m) => {
            load(layout.input_timer) == Some(TimerKey::Milestone(m).encode(program))
        }
        Trigger::AfterInStage { .. } | Trigger::AtDate { .. } => {
            load(layout.input_timer) == Some(owner.encode(program))
        }
    }
}

fn describe_trigger(program: &Program, trigger: Trigger) -> String {
    match trigger {
        Trigger::Event(e) => format!("on \"{}\"", program.events[e as usize].name),
        Trigger::When => "when (a level condition)".into(),
        Trigger::MilestoneMissed(m) => {
            format!(
                "on milestone {} missed",
                program.milestones[m as usize].name
            )
        }
        Trigger::AfterInStage { millis, stage } => match stage {
            Some(s) => format!(
                "after {} in stage {}",
                time::format_duration(millis),
                program.stages[s as usize].name
            ),
            None => format!("after {} in stage", time::format_duration(millis)),
        },
        Trigger::AtDate {
            trait_index,
            offset_millis,
        } => format!(
            "at {} {} {}",
            time::format_duration(offset_millis.abs()),
            if offset_millis < 0 { "before" } else { "after" },
            program.traits[trait_index as usize].name
        ),
    }
}

impl ExplainSink {
    pub fn new(compiled: &Compiled, account: &str) -> ExplainSink {
        ExplainSink {
            compiled: compiled.clone(),
            account: account.to_string(),
            target: None,
            entries: Vec::new(),
            eval: None,
            step: None,
            near: Vec::new(),
            last_scores: vec![None; compiled.program.scores.len()],
            emitted: Vec::new(),
            deferred: HashMap::new(),
            dead_letters: Vec::new(),
        }
    }

    fn is_target(&mut self, subject: u32, names: &dyn SubjectNames) -> bool {
        match self.target {
            Some(t) => t == subject,
            None => {
                if names.subject_key(subject) == self.account {
                    self.target = Some(subject);
                    true
                } else {
                    false
                }
            }
        }
    }

    fn input_event(&self, frame: &Frame) -> Option<u32> {
        let slot = self.compiled.program.layout.input_event as usize;
        (frame.present.get(slot).copied() == Some(1))
            .then(|| frame.values[slot])
            .and_then(|v| u32::try_from(v).ok())
    }

    fn describe_input(&self, frame: &Frame) -> String {
        let program = &self.compiled.program;
        let layout = &program.layout;
        let load = |slot: u32| {
            let i = slot as usize;
            (frame.present.get(i).copied() == Some(1)).then(|| frame.values[i])
        };
        match (load(layout.input_event), load(layout.input_timer)) {
            (Some(-1), _) => "a trait update".into(),
            (Some(e), _) => format!(
                "event \"{}\"",
                program
                    .events
                    .get(e as usize)
                    .map_or("?", |d| d.name.as_str())
            ),
            (None, Some(k)) => format!("timer {}", timer_name(program, k)),
            _ => "an input".into(),
        }
    }

    fn segment(&self, ctx: &Ctx, segment: Option<u32>) -> Option<RawClause> {
        let program = &self.compiled.program;
        segment.map(|s| {
            let def = &program.segments[s as usize];
            let mut clause = ctx.explain(&def.cond.expr, &def.cond.source);
            clause.source = format!("{} ({})", def.name, clause.source);
            clause
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn try_rule(
        &self,
        ctx: &Ctx,
        trigger: Trigger,
        owner: TimerKey,
        in_stages: &[u32],
        segment: Option<u32>,
        guard: Option<&stagecraft::ir::TypedExpr>,
        plan_expr: u32,
    ) -> Option<Tried> {
        let program = &self.compiled.program;
        if !trigger_matches(program, trigger, owner, ctx.frame) {
            return None;
        }
        let stage = ctx.frame.values[program.layout.stage as usize] as u32;
        let value = self
            .compiled
            .plan
            .exprs
            .get(plan_expr as usize)
            .map_or(Value::Missing, |e| eval(e, ctx.frame));
        Some(Tried {
            value,
            trigger: true,
            stage_ok: in_stages.is_empty() || in_stages.contains(&stage),
            segment: self.segment(ctx, segment),
            condition: guard.map(|g| ctx.explain(&g.expr, &g.source)),
        })
    }

    fn scores(&self, frame: &Frame) -> Vec<RawScore> {
        let program = &self.compiled.program;
        program
            .scores
            .iter()
            .enumerate()
            .map(|(i, def)| {
                let slot = program.layout.score_base + i as u32;
                let value = match frame.present.get(slot as usize) {
                    Some(1) => Value::Val(frame.values[slot as usize]),
                    _ => Value::Missing,
                };
                let mut sum = Value::Val(0);
                let components: Vec<(String, String, Value)> = def
                    .components
                    .iter()
                    .map(|c| {
                        let v = eval(&c.expr.expr, frame);
                        let contribution = match (v, c.negate) {
                            (Value::Val(x), true) => x.checked_neg().map_or(
                                Value::Err(stagecraft::ir::EvalError::Overflow),
                                Value::Val,
                            ),
                            (v, _) => v,
                        };
                        sum = match (sum, contribution) {
                            (Value::Val(a), Value::Val(b)) => a.checked_add(b).map_or(
                                Value::Err(stagecraft::ir::EvalError::Overflow),
                                Value::Val,
                            ),
                            (Value::Val(_), other) => other,
                            (s, _) => s,
                        };
                        (c.label.clone(), c.expr.source.clone(), contribution)
                    })
                    .collect();
                RawScore {
                    score: i as u32,
                    value,
                    components,
                    unclamped: (sum != value && matches!(sum, Value::Val(_))).then_some(sum),
                }
            })
            .collect()
    }

    fn on_evaluated(&mut self, frame: &Frame, time: i64) {
        let program = self.compiled.program.clone();
        let index = self.compiled.index.clone();
        let ctx = Ctx {
            program: &program,
            frame,
            event: self.input_event(frame),
        };
        let mut point = EvalPoint {
            time,
            input: self.describe_input(frame),
            ..EvalPoint::default()
        };
        for (r, rule) in program.rules.iter().enumerate() {
            let r = r as u32;
            if let Some(tried) = self.try_rule(
                &ctx,
                rule.trigger,
                TimerKey::Rule(r),
                &rule.in_stages,
                rule.segment,
                rule.guard.as_ref(),
                index.rules[r as usize],
            ) {
                self.note_near("rule", &rule.name, time, &tried);
                point.rules.insert(r, tried);
            }
        }
        for (e, esc) in program.escalations.iter().enumerate() {
            let e = e as u32;
            if let Some(tried) = self.try_rule(
                &ctx,
                esc.trigger,
                TimerKey::Escalation(e),
                &esc.in_stages,
                esc.segment,
                esc.guard.as_ref(),
                index.escalations[e as usize],
            ) {
                self.note_near("escalation", &esc.name, time, &tried);
                point.escalations.insert(e, tried);
            }
        }
        point.scores = self.scores(frame);
        // A score entry whenever a score changes.
        let changed: Vec<RawScore> = point
            .scores
            .iter()
            .filter(|s| self.last_scores[s.score as usize] != Some(s.value))
            .cloned()
            .collect();
        if !changed.is_empty() {
            for s in &changed {
                self.last_scores[s.score as usize] = Some(s.value);
            }
            let mut entry = RawEntry::new(time, "score");
            entry.trigger = Some(point.input.clone());
            entry.scores = changed;
            self.entries.push(entry);
        }
        self.eval = Some(point);
    }

    fn note_near(&mut self, kind: &'static str, name: &str, time: i64, tried: &Tried) {
        if tried.value == Value::TRUE || !tried.trigger || !tried.stage_ok {
            return;
        }
        if tried
            .segment
            .as_ref()
            .is_some_and(|s| s.value.value != Value::TRUE)
        {
            return;
        }
        if let Some(misses) = tried.condition.as_ref().and_then(near_miss) {
            self.near.push(RawNear {
                kind,
                name: name.to_string(),
                time,
                misses,
            });
        }
    }

    fn on_step(&mut self, frame: &Frame, time: i64, stage: u32) {
        let program = self.compiled.program.clone();
        let index = self.compiled.index.clone();
        let ctx = Ctx {
            program: &program,
            frame,
            event: self.input_event(frame),
        };
        let mut point = StepPoint {
            time,
            input: self.describe_input(frame),
            ..StepPoint::default()
        };
        let Some((members, list)) = index.stage_guards.get(stage as usize) else {
            return;
        };
        let plan = self.compiled.plan.clone();
        let ids = &plan.lists[*list as usize];
        for (position, t) in members.iter().enumerate() {
            let def = &program.transitions[*t as usize];
            let matched = trigger_matches(&program, def.trigger, TimerKey::Transition(*t), frame);
            let value = ids
                .get(position)
                .and_then(|id| plan.exprs.get(*id as usize))
                .map_or(Value::Missing, |e| eval(e, frame));
            let tried = Tried {
                value,
                trigger: matched,
                stage_ok: true,
                segment: if matched {
                    self.segment(&ctx, def.segment)
                } else {
                    None
                },
                condition: if matched {
                    def.guard.as_ref().map(|g| ctx.explain(&g.expr, &g.source))
                } else {
                    None
                },
            };
            if matched {
                self.note_near("transition", &def.source, time, &tried);
            }
            point.tried.push((*t, tried));
        }
        self.step = Some(point);
    }

    fn on_outcome(&mut self, outcome: &Outcome, names: &dyn SubjectNames) {
        let program = self.compiled.program.clone();
        let record = Record::render(outcome, &program, names);
        let mut entry = RawEntry::new(outcome.time, &record.kind);
        let eval_now = self
            .eval
            .as_ref()
            .filter(|e| e.time == outcome.time)
            .cloned();
        match &outcome.kind {
            OutcomeKind::Transition {
                transition: Some(t),
                ..
            } => {
                if let Some(step) = self.step.as_ref().filter(|s| s.time == outcome.time) {
                    entry.trigger = Some(format!(
                        "{}, at {}",
                        describe_trigger(&program, program.transitions[*t as usize].trigger),
                        step.input
                    ));
                    for (u, tried) in &step.tried {
                        if u == t {
                            entry.condition = tried.condition.clone();
                            entry.segment = tried.segment.clone();
                            break;
                        }
                        if tried.trigger {
                            entry.passed_over.push((*u, tried.clone()));
                        }
                    }
                }
                if let Some(e) = &eval_now {
                    entry.scores = e.scores.clone();
                }
            }
            OutcomeKind::Transition { .. } => {
                if let Some(e) = &eval_now {
                    entry.scores = e.scores.clone();
                }
            }
            OutcomeKind::Action {
                owner,
                action,
                status,
                why,
                idempotency_key,
                ..
            } => {
                let delivery = matches!(
                    outcome.cause,
                    Cause::Timer { key, .. } if TimerKey::decode(key, &program) == Some(TimerKey::Delivery)
                );
                if delivery {
                    entry.trigger = Some("delivery after quiet hours".into());
                    if let Some(i) = self.deferred.get(idempotency_key).copied() {
                        if let Some(w) = self.entries[i].why.as_mut() {
                            w.delivery = Some(match why {
                                Some(Why::Cap(c)) => format!(
                                    "suppressed at {} by the cap {}",
                                    time::format(outcome.time),
                                    cap_name(&program, *c)
                                ),
                                _ => {
                                    format!("{} at {}", status.as_str(), time::format(outcome.time))
                                }
                            });
                        }
                    }
                } else {
                    let tried = match (owner, &eval_now) {
                        (Owner::Rule(r), Some(e)) => e.rules.get(r).cloned(),
                        (Owner::Escalation(x, 0), Some(e)) => e.escalations.get(x).cloned(),
                        _ => None,
                    };
                    if let Some(tried) = tried {
                        let trigger = match owner {
                            Owner::Rule(r) => program.rules[*r as usize].trigger,
                            Owner::Escalation(x, _) => program.escalations[*x as usize].trigger,
                        };
                        entry.trigger = eval_now.as_ref().map(|e| {
                            format!("{}, at {}", describe_trigger(&program, trigger), e.input)
                        });
                        entry.condition = tried.condition;
                        entry.segment = tried.segment;
                    } else if let Owner::Escalation(_, step) = owner {
                        if *step > 0 {
                            entry.trigger =
                                Some(format!("step {} after no acknowledgement", step + 1));
                        }
                    }
                }
                if let Some(w) = why {
                    entry.why = Some(self.why(outcome, *owner, *w, names));
                    if *status == Status::Deferred {
                        self.deferred.insert(*idempotency_key, self.entries.len());
                    }
                }
                if *status == Status::Emitted {
                    if let Some(def) = action_def(&program, *owner, *action) {
                        self.emitted.push((
                            outcome.time,
                            owner_name(&program, *owner).to_string(),
                            def.kind.clone(),
                        ));
                    }
                }
            }
            OutcomeKind::Errored { what, .. } => {
                let tried = match (what, &eval_now) {
                    (ErrorSite::Rule(r), Some(e)) => e.rules.get(r).cloned(),
                    (ErrorSite::Escalation(x), Some(e)) => e.escalations.get(x).cloned(),
                    (ErrorSite::Transition(t), _) => self
                        .step
                        .as_ref()
                        .filter(|s| s.time == outcome.time)
                        .and_then(|s| s.tried.iter().find(|(u, _)| u == t))
                        .map(|(_, tried)| tried.clone()),
                    _ => None,
                };
                if let Some(tried) = tried {
                    entry.condition = tried.condition;
                    entry.segment = tried.segment;
                }
                if let (ErrorSite::Score(s), Some(e)) = (what, &eval_now) {
                    entry.scores = e.scores.iter().filter(|x| x.score == *s).cloned().collect();
                }
                if let Some(e) = &eval_now {
                    entry.trigger = Some(e.input.clone());
                }
            }
            _ => {}
        }
        entry.record = Some(record);
        entry.outcome = Some(outcome.clone());
        self.entries.push(entry);
    }

    fn why(
        &self,
        outcome: &Outcome,
        owner: Owner,
        why: Why,
        names: &dyn SubjectNames,
    ) -> WhyDetail {
        let program = &self.compiled.program;
        let t = outcome.time;
        match why {
            Why::Cap(c) => {
                let cap = &program.policy.caps[c as usize];
                let from = t.saturating_sub(cap.per_millis);
                let counts = |kind: &ActionKind| match (cap.target, kind) {
                    (CapTarget::Messages, ActionKind::Send { .. }) => true,
                    (CapTarget::Channel(ch), ActionKind::Send { channel, .. }) => ch == *channel,
                    (CapTarget::Touches, k) => k.is_touch(),
                    _ => false,
                };
                let earlier: Vec<EarlierAction> = self
                    .emitted
                    .iter()
                    .filter(|(at, _, kind)| *at > from && *at <= t && counts(kind))
                    .map(|(at, owner, kind)| EarlierAction {
                        time: time::format(*at),
                        owner: owner.clone(),
                        action: describe_action(kind),
                    })
                    .collect();
                let name = cap_name(program, c);
                WhyDetail {
                    reason: "cap".into(),
                    detail: format!(
                        "the cap `{name}` was full: {} counted in ({}, {}]",
                        earlier.len(),
                        time::format(from),
                        time::format(t)
                    ),
                    cap: Some(name),
                    earlier,
                    window_start: Some(time::format(from)),
                    ..WhyDetail::default()
                }
            }
            Why::Cooldown { until } => {
                let cooldown = match owner {
                    Owner::Rule(r) => program.rules[r as usize].cooldown_millis,
                    Owner::Escalation(e, _) => program.escalations[e as usize].cooldown_millis,
                }
                .unwrap_or(0);
                let last = until.saturating_sub(cooldown);
                WhyDetail {
                    reason: "cooldown".into(),
                    detail: format!(
                        "the rule last fired at {}; its cooldown of {} runs until {}",
                        time::format(last),
                        time::format_duration(cooldown),
                        time::format(until)
                    ),
                    last_fired: Some(time::format(last)),
                    until: Some(time::format(until)),
                    ..WhyDetail::default()
                }
            }
            Why::Once { first } => WhyDetail {
                reason: "once".into(),
                detail: format!(
                    "the rule is `once` and already fired at {}",
                    time::format(first)
                ),
                first_fired: Some(time::format(first)),
                ..WhyDetail::default()
            },
            Why::QuietHours { until } => WhyDetail {
                reason: "quiet_hours".into(),
                detail: format!(
                    "inside the quiet hours in the account's time zone; delivered at {} unless a cap is full then",
                    time::format(until)
                ),
                deliver_at: Some(time::format(until)),
                ..WhyDetail::default()
            },
            Why::Holdout => {
                let rule = owner_name(program, owner);
                let bucket = holdout_bucket(names.subject_key(outcome.subject), rule);
                let below = match owner {
                    Owner::Rule(r) => u64::from(program.rules[r as usize].holdout_basis_points),
                    Owner::Escalation(..) => 0,
                };
                WhyDetail {
                    reason: "holdout".into(),
                    detail: format!(
                        "the account is in the rule's holdout group: its sticky bucket {bucket} (of 10000) is below {below} ({}%)",
                        below as f64 / 100.0
                    ),
                    holdout_bucket: Some(bucket),
                    holdout_below: Some(below),
                    ..WhyDetail::default()
                }
            }
        }
    }

    /// The explanation, rendered with the engine's symbol table.
    pub fn finish(self, engine: &Engine, at: Option<i64>) -> Explanation {
        let program = engine.program().clone();
        let symbols = engine.symbols();
        let subject = engine.subject(&self.account);
        let found = subject.is_some_and(|s| s.entered);
        let layout = program.layout;
        let stage = subject
            .filter(|s| s.entered)
            .and_then(|s| s.get(layout.stage))
            .and_then(|s| program.stages.get(s as usize))
            .map(|s| s.name.clone());
        let since = subject
            .filter(|s| s.entered)
            .and_then(|s| s.get(layout.stage_entered_at))
            .map(time::format);
        let scores = self
            .eval
            .as_ref()
            .map(|e| {
                e.scores
                    .iter()
                    .map(|s| score_view(s, &program, symbols))
                    .collect()
            })
            .unwrap_or_default();
        let timeline = self
            .entries
            .iter()
            .map(|e| entry_view(e, &program, symbols))
            .collect();
        // Near misses, grouped by what missed; the clauses of the last time.
        let mut groups: Vec<(String, String, u64, i64, i64, Vec<Miss>)> = Vec::new();
        for n in &self.near {
            match groups.iter_mut().find(|g| g.0 == n.kind && g.1 == n.name) {
                Some(g) => {
                    g.2 += 1;
                    g.4 = n.time;
                    g.5 = n.misses.clone();
                }
                None => groups.push((
                    n.kind.to_string(),
                    n.name.clone(),
                    1,
                    n.time,
                    n.time,
                    n.misses.clone(),
                )),
            }
        }
        let near_misses = groups
            .into_iter()
            .map(|(kind, name, times, first, last, misses)| NearMissView {
                kind,
                name,
                times,
                first: time::format(first),
                last: time::format(last),
                misses: misses
                    .iter()
                    .map(|m| MissView {
                        source: m.source.clone(),
                        left: render_value(m.left, &program, symbols),
                        op: m.op.symbol().to_string(),
                        right: render_value(m.right, &program, symbols),
                        by: render_value(
                            Typed {
                                value: Value::Val(m.by),
                                ty: m.left.ty,
                            },
                            &program,
                            symbols,
                        ),
                    })
                    .collect(),
            })
            .collect();
        Explanation {
            account: self.account.clone(),
            playbook: program.name.clone(),
            version: program.version.clone(),
            at: at.map(time::format),
            found,
            stage,
            in_stage_since: since,
            timeline,
            scores,
            near_misses,
        }
    }
}

fn describe_action(kind: &ActionKind) -> String {
    match kind {
        ActionKind::Send { channel, template } => {
            format!("send {} \"{template}\"", channel.as_str())
        }
        ActionKind::Task { owner, title, .. } => format!("task for {owner} \"{title}\""),
        ActionKind::Ticket { title, .. } => format!("ticket \"{title}\""),
        ActionKind::Crm { field } => format!("update crm \"{field}\""),
        ActionKind::Webhook { url } => format!("webhook {url}"),
        ActionKind::HandOff { to } => format!("hand off to {to}"),
        ActionKind::Notify { role } => format!("notify {role}"),
    }
}

fn score_view(s: &RawScore, program: &Program, symbols: &Symbols) -> ScoreView {
    let def = &program.scores[s.score as usize];
    let typed = |value: Value| Typed { value, ty: def.ty };
    ScoreView {
        name: def.name.clone(),
        value: render_value(typed(s.value), program, symbols),
        range: format!(
            "{}..{}",
            render_value(typed(Value::Val(def.low)), program, symbols).text(),
            render_value(typed(Value::Val(def.high)), program, symbols).text()
        ),
        components: s
            .components
            .iter()
            .map(|(label, source, v)| ComponentView {
                label: label.clone(),
                source: source.clone(),
                contribution: render_value(typed(*v), program, symbols),
            })
            .collect(),
        unclamped: s
            .unclamped
            .map(|v| render_value(typed(v), program, symbols)),
    }
}

fn entry_view(e: &RawEntry, program: &Program, symbols: &Symbols) -> Entry {
    let summary = summary(e, program);
    Entry {
        time: time::format(e.time),
        kind: e.kind.clone(),
        summary,
        record: e.record.as_ref().and_then(|r| serde_json::to_value(r).ok()),
        trigger: e.trigger.clone(),
        condition: e.condition.as_ref().map(|c| render(c, program, symbols)),
        segment: e.segment.as_ref().map(|c| render(c, program, symbols)),
        passed_over: e
            .passed_over
            .iter()
            .map(|(t, tried)| PassedOver {
                number: t + 1,
                transition: program.transitions[*t as usize].source.clone(),
                value: render_value(
                    Typed {
                        value: tried.value,
                        ty: Type::Bool,
                    },
                    program,
                    symbols,
                ),
                condition: tried
                    .condition
                    .as_ref()
                    .map(|c| render(c, program, symbols)),
            })
            .collect(),
        why: e.why.clone(),
        scores: e
            .scores
            .iter()
            .map(|s| score_view(s, program, symbols))
            .collect(),
    }
}

fn cause_text(outcome: &Outcome, program: &Program) -> String {
    match &outcome.cause {
        Cause::Event { event, line, .. } => format!(
            "event \"{}\", line {line}",
            program
                .events
                .get(*event as usize)
                .map_or("?", |e| e.name.as_str())
        ),
        Cause::Timer { key, .. } => format!("timer {}", timer_name(program, *key)),
        Cause::Request { line, .. } => format!("request, line {line}"),
    }
}

fn summary(e: &RawEntry, program: &Program) -> String {
    let Some(outcome) = &e.outcome else {
        return match e.kind.as_str() {
            "score" => {
                e.scores
                    .iter()
                    .map(|s| program.scores[s.score as usize].name.clone())
                    .collect::<Vec<_>>()
                    .join(", ")
                    + " changed"
            }
            other => other.to_string(),
        };
    };
    let stage = |s: u32| {
        program
            .stages
            .get(s as usize)
            .map_or("?", |d| d.name.as_str())
            .to_string()
    };
    let cause = cause_text(outcome, program);
    match &outcome.kind {
        OutcomeKind::Entered { stage: s } => match outcome.cause {
            Cause::Request { .. } => format!("placed in {} at go-live", stage(*s)),
            _ => format!("entered {} ({cause})", stage(*s)),
        },
        OutcomeKind::Transition {
            from,
            to,
            transition,
            manual,
            ..
        } => match (transition, manual) {
            (Some(t), _) => format!(
                "{} -> {} by transition {} ({cause})",
                stage(*from),
                stage(*to),
                t + 1
            ),
            (None, Some(m)) => format!(
                "{} -> {} by hand: {} {}{} ({cause})",
                stage(*from),
                stage(*to),
                m.role,
                m.actor.as_deref().unwrap_or(""),
                m.reason
                    .as_deref()
                    .map_or_else(String::new, |r| format!(", \"{r}\""))
            ),
            _ => format!("{} -> {} ({cause})", stage(*from), stage(*to)),
        },
        OutcomeKind::Action {
            owner,
            action,
            status,
            why,
            ..
        } => {
            let what = action_def(program, *owner, *action)
                .map_or_else(|| "action".to_string(), |d| describe_action(&d.kind));
            let by = match owner {
                Owner::Rule(r) => format!("rule {}", program.rules[*r as usize].name),
                Owner::Escalation(x, step) => format!(
                    "escalation {} step {}",
                    program.escalations[*x as usize].name,
                    step + 1
                ),
            };
            let reason = match why {
                Some(Why::Cap(_)) => " (cap)",
                Some(Why::Cooldown { .. }) => " (cooldown)",
                Some(Why::Once { .. }) => " (once)",
                Some(Why::QuietHours { .. }) => " (quiet hours)",
                Some(Why::Holdout) => " (holdout)",
                None => "",
            };
            format!("{by}: {what} {}{reason} ({cause})", status.as_str())
        }
        OutcomeKind::MilestoneMissed { milestone } => format!(
            "milestone {} missed",
            program.milestones[*milestone as usize].name
        ),
        OutcomeKind::Errored { what, error } => {
            let site = match what {
                ErrorSite::Rule(i) => format!("rule {}", program.rules[*i as usize].name),
                ErrorSite::Escalation(i) => {
                    format!("escalation {}", program.escalations[*i as usize].name)
                }
                ErrorSite::Transition(i) => {
                    format!("transition {}", program.transitions[*i as usize].source)
                }
                ErrorSite::Score(i) => format!("score {}", program.scores[*i as usize].name),
                ErrorSite::MetricFilter(i) => {
                    format!("metric {}", program.metrics[*i as usize].name)
                }
                ErrorSite::MilestoneFilter(i) => {
                    format!("milestone {}", program.milestones[*i as usize].name)
                }
                ErrorSite::Segment(i) => format!("segment {}", program.segments[*i as usize].name),
                ErrorSite::Action(i) => {
                    format!("action data of rule {}", program.rules[*i as usize].name)
                }
            };
            format!("{site} errored: {error} ({cause})")
        }
        OutcomeKind::Cycle { stage: s } => {
            format!("cycle: {} entered twice in one input", stage(*s))
        }
        OutcomeKind::ManualRejected(m) => format!(
            "manual move to {} by {} rejected: {}",
            m.to,
            m.role,
            m.rejection.as_deref().unwrap_or("")
        ),
        OutcomeKind::Acknowledged { escalation, actor } => format!(
            "escalation {} acknowledged{}",
            program.escalations[*escalation as usize].name,
            actor
                .as_deref()
                .map_or_else(String::new, |a| format!(" by {a}"))
        ),
    }
}

impl Sink for ExplainSink {
    fn outcome(&mut self, outcome: &Outcome, names: &dyn SubjectNames) {
        if self.is_target(outcome.subject, names) {
            self.on_outcome(outcome, names);
        }
    }

    fn dead_letter(&mut self, dead: DeadLetter) {
        if dead.raw.contains(&self.account) {
            self.dead_letters.push(dead);
        }
    }

    fn wants_observations(&self) -> bool {
        true
    }

    fn observe(&mut self, point: Observation, frame: &Frame, names: &dyn SubjectNames) {
        match point {
            Observation::Evaluated { subject, time, .. } => {
                if self.is_target(subject, names) {
                    self.on_evaluated(frame, time);
                }
            }
            Observation::Step {
                subject,
                time,
                stage,
            } => {
                if self.is_target(subject, names) {
                    self.on_step(frame, time, stage);
                }
            }
        }
    }
}

#[derive(serde::Deserialize)]
struct LineTime<'a> {
    #[serde(borrow)]
    timestamp: Option<&'a serde_json::value::RawValue>,
    #[serde(rename = "originalTimestamp", borrow)]
    original_timestamp: Option<&'a serde_json::value::RawValue>,
    #[serde(rename = "receivedAt", borrow)]
    received_at: Option<&'a serde_json::value::RawValue>,
}

/// The event time of an input line, if it has one.
pub fn line_time(line: &str) -> Option<i64> {
    let t: LineTime = serde_json::from_str(line).ok()?;
    let raw = t.timestamp.or(t.original_timestamp).or(t.received_at)?;
    let text = raw.get();
    if let Some(s) = text.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        time::parse_rfc3339(s)
    } else {
        text.parse().ok()
    }
}

/// Runs the playbook over the events and explains one account. With `at`,
/// inputs after it are not read and timers due by then fire.
pub fn explain(
    compiled: &Compiled,
    config: Config,
    events: impl BufRead,
    account: &str,
    at: Option<i64>,
) -> std::io::Result<(Explanation, Vec<DeadLetter>)> {
    let mut engine = Engine::new(compiled.clone(), config);
    let mut sink = ExplainSink::new(compiled, account);
    let mut events = events;
    let mut line = String::new();
    loop {
        line.clear();
        if events.read_line(&mut line)? == 0 {
            break;
        }
        let text = line.trim_end_matches(['\n', '\r']);
        if let (Some(at), Some(t)) = (at, line_time(text)) {
            if t > at {
                continue;
            }
        }
        engine.push_line(text, &mut sink);
    }
    engine.finish(&mut sink);
    if let Some(at) = at {
        engine.advance_to(at, &mut sink);
    }
    let dead = std::mem::take(&mut sink.dead_letters);
    Ok((sink.finish(&engine, at), dead))
}

/// The explanation for people.
pub fn human(x: &Explanation) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Account {} (playbook {} version {}){}",
        x.account,
        x.playbook,
        x.version,
        x.at.as_deref()
            .map_or_else(String::new, |a| format!(", as of {a}"))
    );
    if !x.found {
        let _ = writeln!(
            out,
            "The account has not entered the lifecycle in these events."
        );
    }
    if let (Some(stage), Some(since)) = (&x.stage, &x.in_stage_since) {
        let _ = writeln!(out, "Now in `{stage}` since {since}.");
    }
    let _ = writeln!(out);
    for e in &x.timeline {
        let _ = writeln!(out, "{}  {}", e.time, e.summary);
        if let Some(t) = &e.trigger {
            if e.kind != "score" {
                let _ = writeln!(out, "    trigger: {t}");
            }
        }
        for p in &e.passed_over {
            let _ = writeln!(
                out,
                "    passed over transition {} ({}): {}",
                p.number,
                p.transition,
                p.value.text()
            );
        }
        if let Some(r) = &e.record {
            if e.kind == "transition" {
                if let Some(src) = r.get("rule").and_then(|v| v.as_str()) {
                    if src != "manual" {
                        let _ = writeln!(out, "    {src}");
                    }
                }
            }
        }
        if let Some(s) = &e.segment {
            clause_lines(&mut out, s, 4, "for ");
        }
        if let Some(c) = &e.condition {
            clause_lines(&mut out, c, 4, "");
        }
        if let Some(w) = &e.why {
            let _ = writeln!(out, "    why: {}", w.detail);
            for a in &w.earlier {
                let _ = writeln!(out, "      earlier: {} {} ({})", a.time, a.action, a.owner);
            }
            if let Some(d) = &w.delivery {
                let _ = writeln!(out, "      delivery: {d}");
            }
        }
        for s in &e.scores {
            let _ = writeln!(out, "    {}", score_line(s));
        }
    }
    if !x.near_misses.is_empty() {
        let _ = writeln!(
            out,
            "\nClose to firing (a false clause missed by at most 10%, or by 1 for counts):"
        );
        for n in &x.near_misses {
            let misses: Vec<String> = n
                .misses
                .iter()
                .map(|m| {
                    format!(
                        "{} ({} {} {}, missed by {})",
                        m.source,
                        m.left.text(),
                        m.op,
                        m.right.text(),
                        m.by.text()
                    )
                })
                .collect();
            let name = if n.name.starts_with(&n.kind) {
                n.name.clone()
            } else {
                format!("{} {}", n.kind, n.name)
            };
            let _ = writeln!(
                out,
                "  {}: {} time(s), {} .. {}: {}",
                name,
                n.times,
                n.first,
                n.last,
                misses.join("; ")
            );
        }
    }
    if !x.scores.is_empty() {
        let _ = writeln!(out, "\nScores at the last evaluation:");
        for s in &x.scores {
            let _ = writeln!(out, "  {}", score_line(s));
        }
    }
    out
}

fn score_line(s: &ScoreView) -> String {
    let parts: Vec<String> = s
        .components
        .iter()
        .map(|c| {
            let label = if c.label.is_empty() {
                c.source.clone()
            } else {
                c.label.clone()
            };
            format!("{label} {}", c.contribution.text())
        })
        .collect();
    format!(
        "{} = {} [{}]{}",
        s.name,
        s.value.text(),
        parts.join(", "),
        s.unclamped.as_ref().map_or_else(String::new, |u| format!(
            " (sum {} clamped to {})",
            u.text(),
            s.range
        ))
    )
}

fn clause_lines(out: &mut String, c: &Clause, indent: usize, prefix: &str) {
    use std::fmt::Write;
    let pad = " ".repeat(indent);
    if c.clauses.is_empty() {
        let _ = writeln!(out, "{pad}{prefix}{}", c.line());
        return;
    }
    let _ = writeln!(out, "{pad}{prefix}{} = {}", c.source, c.value.text());
    for child in &c.clauses {
        clause_lines(out, child, indent + 2, "");
    }
}
