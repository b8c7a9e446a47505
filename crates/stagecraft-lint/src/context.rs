//! What every rule sees: the AST, the IR program, the source, the domain
//! solver, and the shared flow analysis (which transitions can fire from
//! which stage, which stages are reachable, how long a subject can stay in a
//! stage).

use std::cell::OnceCell;

use stagecraft_ir::{
    EscalationDef, EventId, Program, RuleDef, SourceSpan, StageId, TransitionDef, Trigger, Type,
    TypedExpr,
};
use stagecraft_syntax::ast::{self, ExprKind, Item, Playbook};
use stagecraft_syntax::Span;

use crate::domain::{AbsVal, Env, Node, Origin, Solver, TermId, Vals};
use crate::finding::Note;
use crate::usage::Usage;

pub fn span_of(s: SourceSpan) -> Span {
    Span::new(s.start, s.end)
}

/// One conjunct of a condition, with the source text it came from.
#[derive(Debug, Clone)]
pub struct Clause<'a> {
    pub term: TermId,
    pub text: String,
    pub span: Span,
    /// The segment this clause was read from (`for enterprise`, or a
    /// segment named in the condition).
    pub via: Option<String>,
    pub ast: Option<&'a ast::Expr>,
}

/// A condition as a conjunction of clauses.
#[derive(Debug, Clone, Default)]
pub struct Guard<'a> {
    pub clauses: Vec<Clause<'a>>,
    pub terms: Vec<TermId>,
}

impl<'a> Guard<'a> {
    fn push(&mut self, clause: Clause<'a>) {
        self.terms.push(clause.term);
        self.clauses.push(clause);
    }

    pub fn is_empty(&self) -> bool {
        self.clauses.is_empty()
    }
}

/// Why something can never happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dead {
    /// The condition can never be true; `core` are the indices of the
    /// clauses that conflict (one clause: impossible on its own).
    Guard { core: Vec<usize> },
    /// A stage timer that never fires: an unconditional timer of an earlier
    /// (or equal) deadline always moves the subject out of the stage first.
    Timer {
        stage: StageId,
        exit: usize,
        exit_millis: i64,
    },
    /// It only applies in stages no subject can be in.
    NoStage { stages: Vec<StageId> },
}

#[derive(Debug)]
pub struct TransitionInfo<'a> {
    pub index: usize,
    pub ir: &'a TransitionDef,
    pub ast: Option<&'a ast::TransitionDecl>,
    pub guard: Guard<'a>,
    pub event: Option<EventId>,
    /// Source stages from which it can never fire, and why.
    pub dead_from: Vec<(StageId, Dead)>,
    /// Source stages where an earlier transition always wins: (stage,
    /// earlier transition).
    pub shadowed_at: Vec<(StageId, usize)>,
}

impl TransitionInfo<'_> {
    pub fn dead_at(&self, stage: StageId) -> Option<&Dead> {
        self.dead_from
            .iter()
            .find(|(s, _)| *s == stage)
            .map(|(_, d)| d)
    }

    pub fn shadowed_by(&self, stage: StageId) -> Option<usize> {
        self.shadowed_at
            .iter()
            .find(|(s, _)| *s == stage)
            .map(|(_, t)| *t)
    }

    /// Whether it can move a subject out of `stage`.
    pub fn fires_from(&self, stage: StageId) -> bool {
        self.ir.from.contains(&stage)
            && self.dead_at(stage).is_none()
            && self.shadowed_by(stage).is_none()
    }

    /// `transition FROM -> TO`: the head of the declaration, so labels on
    /// its condition stay readable.
    pub fn span(&self) -> Span {
        match self.ast {
            Some(decl) => Span::new(decl.span.start, decl.to.span.end),
            None => span_of(self.ir.span),
        }
    }

    /// `a, b -> c` / `any except a -> c`, as written.
    pub fn arrow(&self, program: &Program) -> String {
        let to = &program.stages[self.ir.to as usize].name;
        if let Some(decl) = self.ast {
            let from = match &decl.from {
                ast::StageSet::Any { except, .. } if except.is_empty() => "any".to_string(),
                ast::StageSet::Any { except, .. } => format!(
                    "any except {}",
                    except
                        .iter()
                        .map(|i| i.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                ast::StageSet::List(names) => names
                    .iter()
                    .map(|i| i.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            return format!("{from} -> {to}");
        }
        let from: Vec<&str> = self
            .ir
            .from
            .iter()
            .map(|s| program.stages[*s as usize].name.as_str())
            .collect();
        format!("{} -> {to}", from.join(", "))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorKind {
    Rule,
    Escalation,
}

impl ActorKind {
    pub fn word(self) -> &'static str {
        match self {
            ActorKind::Rule => "rule",
            ActorKind::Escalation => "escalation",
        }
    }
}

/// A rule or an escalation.
#[derive(Debug)]
pub struct ActorInfo<'a> {
    pub kind: ActorKind,
    pub index: usize,
    pub name: &'a str,
    pub trigger: Trigger,
    pub span: Span,
    pub name_span: Span,
    pub guard: Guard<'a>,
    pub event: Option<EventId>,
    /// `in stage` (empty: every stage).
    pub in_stages: &'a [StageId],
    pub once: bool,
    pub cooldown_millis: Option<i64>,
    /// The stages it can run in: its restriction among reachable stages.
    pub stages: Vec<StageId>,
    pub dead: Option<Dead>,
    pub rule: Option<&'a RuleDef>,
    pub escalation: Option<&'a EscalationDef>,
    pub ast_options: Option<&'a ast::RuleOptions>,
}

#[derive(Debug)]
pub struct Analysis<'a> {
    pub transitions: Vec<TransitionInfo<'a>>,
    pub actors: Vec<ActorInfo<'a>>,
    pub reachable: Vec<bool>,
    /// Per stage: the longest a subject can stay (an unconditional stage
    /// timer's delay) and that transition.
    pub max_stay: Vec<Option<(i64, usize)>>,
}

/// Everything a rule can look at.
#[derive(Debug)]
pub struct LintContext<'a> {
    pub ast: &'a Playbook,
    pub program: &'a Program,
    pub source: &'a str,
    pub solver: Solver<'a>,
    analysis: OnceCell<Analysis<'a>>,
    usage: OnceCell<Usage>,
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl<'a> LintContext<'a> {
    pub fn new(ast: &'a Playbook, program: &'a Program, source: &'a str) -> LintContext<'a> {
        LintContext {
            ast,
            program,
            source,
            solver: Solver::new(program),
            analysis: OnceCell::new(),
            usage: OnceCell::new(),
        }
    }

    pub fn text(&self, span: Span) -> String {
        collapse(self.source.get(span.start..span.end).unwrap_or(""))
    }

    pub fn stage_name(&self, s: StageId) -> &str {
        self.program
            .stages
            .get(s as usize)
            .map_or("?", |st| st.name.as_str())
    }

    /// The AST of the stage declaration.
    pub fn stage_decl(&self, s: StageId) -> Option<&'a ast::StageDecl> {
        let name = &self.program.stages.get(s as usize)?.name;
        self.ast.items.iter().find_map(|item| match item {
            Item::Stages(block) => block.stages.iter().find(|d| &d.name.name == name),
            _ => None,
        })
    }

    pub fn segment_decl(&self, name: &str) -> Option<&'a ast::SegmentDecl> {
        self.ast.items.iter().find_map(|item| match item {
            Item::Segment(d) if d.name.name == name => Some(d),
            _ => None,
        })
    }

    pub fn analysis(&self) -> &Analysis<'a> {
        self.analysis.get_or_init(|| self.analyse())
    }

    /// What the playbook reads.
    pub fn usage(&self) -> &Usage {
        self.usage
            .get_or_init(|| Usage::compute(self.program, self.ast))
    }

    // ------------------------------------------------------------ clauses

    /// Splits a condition into clauses, pairing the IR with the AST so each
    /// clause has its source text and span. Segments named in the
    /// condition are opened up.
    pub fn clauses(
        &self,
        ast: Option<&'a ast::Expr>,
        ir: &TypedExpr,
        fallback: Span,
        guard: &mut Guard<'a>,
    ) {
        match ast {
            Some(a) => self.split(a, &ir.expr, None, 0, guard),
            None => guard.push(Clause {
                term: self.solver.intern(&ir.expr),
                text: collapse(&ir.source),
                span: fallback,
                via: None,
                ast: None,
            }),
        }
    }

    fn split(
        &self,
        ast: &'a ast::Expr,
        ir: &stagecraft_ir::Expr,
        via: Option<&str>,
        depth: usize,
        guard: &mut Guard<'a>,
    ) {
        use stagecraft_ir::Expr as E;
        if depth < 32 {
            match (&ast.kind, ir) {
                (ExprKind::And(a, b), E::And(x, y)) => {
                    self.split(a, x, via, depth + 1, guard);
                    self.split(b, y, via, depth + 1, guard);
                    return;
                }
                (ExprKind::Name(n), _) => {
                    if let Some(seg) = self.program.segments.iter().find(|s| s.name == n.name) {
                        if seg.cond.expr == *ir {
                            if let Some(decl) = self.segment_decl(&n.name) {
                                self.split(&decl.expr, ir, Some(&n.name), depth + 1, guard);
                                return;
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        guard.push(Clause {
            term: self.solver.intern(ir),
            text: self.text(ast.span),
            span: ast.span,
            via: via.map(str::to_string),
            ast: Some(ast),
        });
    }

    /// The clauses of `for SEGMENT`.
    pub fn segment_clauses(&self, segment: Option<u32>, guard: &mut Guard<'a>, at: Span) {
        let Some(seg) = segment.and_then(|s| self.program.segments.get(s as usize)) else {
            return;
        };
        let decl = self.segment_decl(&seg.name);
        let mut inner = Guard::default();
        match decl {
            Some(d) => self.split(&d.expr, &seg.cond.expr, Some(&seg.name), 0, &mut inner),
            None => self.clauses(None, &seg.cond, at, &mut inner),
        }
        for mut c in inner.clauses {
            c.via = Some(seg.name.clone());
            guard.push(c);
        }
    }

    // ------------------------------------------------------------ analysis

    fn trigger_event(trigger: Trigger) -> Option<EventId> {
        match trigger {
            Trigger::Event(e) => Some(e),
            _ => None,
        }
    }

    fn trigger_filter(trigger: &'a ast::Trigger) -> Option<&'a ast::Expr> {
        match trigger {
            ast::Trigger::OnEvent { filter, .. }
            | ast::Trigger::OnMilestoneMissed { filter, .. }
            | ast::Trigger::AfterInStage { filter, .. }
            | ast::Trigger::AtDate { filter, .. } => filter.as_ref(),
            ast::Trigger::When { cond, .. } => Some(cond),
        }
    }

    /// An environment for a transition tried from `stage`.
    pub fn stage_env(&self, event: Option<EventId>, stage: StageId) -> Env {
        let mut env = self.solver.env(event);
        self.solver.restrict_stages(&mut env, &[stage]);
        env
    }

    /// The clause indices of a minimal conflicting subset: one clause if it
    /// is impossible on its own.
    pub fn core(&self, guard: &Guard<'_>, env: &Env) -> Vec<usize> {
        for (i, t) in guard.terms.iter().enumerate() {
            if !self.solver.can_be_true(&[*t], env) {
                return vec![i];
            }
        }
        let mut keep: Vec<usize> = (0..guard.terms.len()).collect();
        let mut i = 0;
        while i < keep.len() {
            let candidate: Vec<TermId> = keep
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, k)| guard.terms[*k])
                .collect();
            if !self.solver.can_be_true(&candidate, env) {
                keep.remove(i);
            } else {
                i += 1;
            }
        }
        keep
    }

    fn guard_of(
        &self,
        segment: Option<u32>,
        filter: Option<&'a ast::Expr>,
        guard: Option<&TypedExpr>,
        at: Span,
    ) -> Guard<'a> {
        let mut g = Guard::default();
        self.segment_clauses(segment, &mut g, at);
        if let Some(ir) = guard {
            self.clauses(filter, ir, at, &mut g);
        }
        g
    }

    /// Whether a transition always fires when its trigger comes, from
    /// `stage` (no segment or condition that could fail).
    fn unconditional(&self, t: &TransitionInfo<'_>, stage: StageId) -> bool {
        t.guard.is_empty()
            || self
                .solver
                .always_true(&t.guard.terms, &self.stage_env(t.event, stage))
    }

    fn analyse(&self) -> Analysis<'a> {
        let program = self.program;
        let ast_transitions: Vec<&'a ast::TransitionDecl> = self
            .ast
            .items
            .iter()
            .filter_map(|i| match i {
                Item::Transition(t) => Some(t),
                _ => None,
            })
            .collect();
        let paired = ast_transitions.len() == program.transitions.len();
        let mut transitions: Vec<TransitionInfo<'a>> = program
            .transitions
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let ast = if paired {
                    Some(ast_transitions[i])
                } else {
                    None
                };
                let filter = ast.and_then(|a| Self::trigger_filter(&a.trigger));
                let guard = self.guard_of(t.segment, filter, t.guard.as_ref(), span_of(t.span));
                TransitionInfo {
                    index: i,
                    ir: t,
                    ast,
                    guard,
                    event: Self::trigger_event(t.trigger),
                    dead_from: Vec::new(),
                    shadowed_at: Vec::new(),
                }
            })
            .collect();

        // How long a subject can stay in each stage.
        let n = program.stages.len();
        let mut max_stay: Vec<Option<(i64, usize)>> = vec![None; n];
        for t in &transitions {
            let Trigger::AfterInStage { millis, .. } = t.ir.trigger else {
                continue;
            };
            for &s in &t.ir.from {
                if self.unconditional(t, s) {
                    let slot = &mut max_stay[s as usize];
                    if slot.is_none_or(|(m, _)| millis < m) {
                        *slot = Some((millis, t.index));
                    }
                }
            }
        }

        // Liveness per source stage.
        for t in &mut transitions {
            for &s in &t.ir.from.clone() {
                if let (Trigger::AfterInStage { millis, .. }, Some((exit_millis, exit))) =
                    (t.ir.trigger, max_stay[s as usize])
                {
                    if exit != t.index
                        && (exit_millis < millis || (exit_millis == millis && exit < t.index))
                    {
                        t.dead_from.push((
                            s,
                            Dead::Timer {
                                stage: s,
                                exit,
                                exit_millis,
                            },
                        ));
                        continue;
                    }
                }
                let env = self.stage_env(t.event, s);
                if !self.solver.can_be_true(&t.guard.terms, &env) {
                    let core = self.core(&t.guard, &env);
                    t.dead_from.push((s, Dead::Guard { core }));
                }
            }
        }

        // Shadowing: an earlier transition from the same stage that always
        // matches whenever this one does.
        for later in 0..transitions.len() {
            let mut found = Vec::new();
            for &s in &transitions[later].ir.from {
                if transitions[later].dead_at(s).is_some() {
                    continue;
                }
                for earlier in 0..later {
                    let e = &transitions[earlier];
                    if !e.ir.from.contains(&s) || e.dead_at(s).is_some() {
                        continue;
                    }
                    if !covers(e.ir.trigger, transitions[later].ir.trigger) {
                        continue;
                    }
                    let l = &transitions[later];
                    let env = self.stage_env(l.event, s);
                    let envs = self.solver.sat(&l.guard.terms, &env);
                    if envs
                        .iter()
                        .all(|env| !self.solver.can_fail(&e.guard.terms, env))
                    {
                        found.push((s, earlier));
                        break;
                    }
                }
            }
            transitions[later].shadowed_at = found;
        }

        // Reachability from the initial stage.
        let mut reachable = vec![false; n];
        if n > 0 {
            let initial = program.initial_stage() as usize;
            reachable[initial] = true;
            let mut queue = vec![initial as StageId];
            while let Some(s) = queue.pop() {
                let mut next: Vec<StageId> = transitions
                    .iter()
                    .filter(|t| t.fires_from(s))
                    .map(|t| t.ir.to)
                    .collect();
                next.extend(
                    program
                        .manual
                        .iter()
                        .filter(|m| m.from.contains(&s))
                        .map(|m| m.to),
                );
                for to in next {
                    if !reachable[to as usize] {
                        reachable[to as usize] = true;
                        queue.push(to);
                    }
                }
            }
        }

        let actors = self.actors(&reachable, &max_stay);
        Analysis {
            transitions,
            actors,
            reachable,
            max_stay,
        }
    }

    fn actors(&self, reachable: &[bool], max_stay: &[Option<(i64, usize)>]) -> Vec<ActorInfo<'a>> {
        let program = self.program;
        let mut ast_rules = Vec::new();
        let mut ast_escalations = Vec::new();
        for item in &self.ast.items {
            match item {
                Item::Rule(r) => ast_rules.push((&r.trigger, &r.options, r.name.span)),
                Item::Escalation(e) => ast_escalations.push((&e.trigger, &e.options, e.name.span)),
                _ => {}
            }
        }
        let mut out = Vec::new();
        let rules_paired = ast_rules.len() == program.rules.len();
        for (i, r) in program.rules.iter().enumerate() {
            let ast = if rules_paired {
                ast_rules.get(i).copied()
            } else {
                None
            };
            out.push(self.actor(
                ActorKind::Rule,
                i,
                &r.name,
                r.trigger,
                r.segment,
                r.guard.as_ref(),
                &r.in_stages,
                r.once,
                r.cooldown_millis,
                span_of(r.span),
                ast,
                reachable,
                max_stay,
                Some(r),
                None,
            ));
        }
        let esc_paired = ast_escalations.len() == program.escalations.len();
        for (i, e) in program.escalations.iter().enumerate() {
            let ast = if esc_paired {
                ast_escalations.get(i).copied()
            } else {
                None
            };
            out.push(self.actor(
                ActorKind::Escalation,
                i,
                &e.name,
                e.trigger,
                e.segment,
                e.guard.as_ref(),
                &e.in_stages,
                e.once,
                e.cooldown_millis,
                span_of(e.span),
                ast,
                reachable,
                max_stay,
                None,
                Some(e),
            ));
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn actor(
        &self,
        kind: ActorKind,
        index: usize,
        name: &'a str,
        trigger: Trigger,
        segment: Option<u32>,
        guard: Option<&'a TypedExpr>,
        in_stages: &'a [StageId],
        once: bool,
        cooldown_millis: Option<i64>,
        span: Span,
        ast: Option<(&'a ast::Trigger, &'a ast::RuleOptions, Span)>,
        reachable: &[bool],
        max_stay: &[Option<(i64, usize)>],
        rule: Option<&'a RuleDef>,
        escalation: Option<&'a EscalationDef>,
    ) -> ActorInfo<'a> {
        let filter = ast.and_then(|(t, _, _)| Self::trigger_filter(t));
        let name_span = ast.map_or(span, |(_, _, s)| s);
        let g = self.guard_of(segment, filter, guard, name_span);
        let event = Self::trigger_event(trigger);
        let all: Vec<StageId> = (0..self.program.stages.len() as StageId).collect();
        let mut allowed: Vec<StageId> = if in_stages.is_empty() {
            all
        } else {
            in_stages.to_vec()
        };
        if let Trigger::AfterInStage { stage: Some(s), .. } = trigger {
            allowed.retain(|x| *x == s);
        }
        let stages: Vec<StageId> = allowed
            .iter()
            .copied()
            .filter(|s| reachable.get(*s as usize).copied().unwrap_or(false))
            .collect();
        let mut dead = None;
        if stages.is_empty() {
            dead = Some(Dead::NoStage { stages: allowed });
        } else if let Trigger::AfterInStage {
            millis,
            stage: Some(s),
        } = trigger
        {
            if let Some((exit_millis, exit)) = max_stay.get(s as usize).copied().flatten() {
                if exit_millis <= millis {
                    dead = Some(Dead::Timer {
                        stage: s,
                        exit,
                        exit_millis,
                    });
                }
            }
        }
        if dead.is_none() {
            let mut env = self.solver.env(event);
            self.solver.restrict_stages(&mut env, &stages);
            if !self.solver.can_be_true(&g.terms, &env) {
                dead = Some(Dead::Guard {
                    core: self.core(&g, &env),
                });
            }
        }
        ActorInfo {
            kind,
            index,
            name,
            trigger,
            span,
            name_span,
            guard: g,
            event,
            in_stages,
            once,
            cooldown_millis,
            stages,
            dead,
            rule,
            escalation,
            ast_options: ast.map(|(_, o, _)| o),
        }
    }

    /// The environment an actor's condition is evaluated in.
    pub fn actor_env(&self, a: &ActorInfo<'_>) -> Env {
        let mut env = self.solver.env(a.event);
        self.solver.restrict_stages(&mut env, &a.stages);
        env
    }

    // ------------------------------------------------------------ explanations

    /// Renders a value of type `ty`.
    pub fn fmt_value(&self, ty: Option<Type>, v: i64) -> String {
        match ty {
            Some(Type::Enum(e)) => self
                .program
                .enums
                .get(e as usize)
                .and_then(|d| d.variants.get(v as usize))
                .cloned()
                .unwrap_or_else(|| v.to_string()),
            Some(Type::Stage) => self.stage_name(v as StageId).to_string(),
            Some(Type::Bool) => (v != 0).to_string(),
            Some(Type::Decimal) => stagecraft_ir::decimal::format(v),
            Some(Type::Duration) => fmt_duration(v),
            _ => v.to_string(),
        }
    }

    /// "`health` lies in 0..100 (the range of score `health`)", or nothing
    /// when the value is unconstrained.
    pub fn describe(
        &self,
        name: &str,
        ty: Option<Type>,
        v: &AbsVal,
        origin: &Origin,
        is_set_test: bool,
    ) -> Option<String> {
        if is_set_test && !v.missing {
            return Some(format!("`{name}` always has a value"));
        }
        let finite = matches!(ty, Some(Type::Enum(_) | Type::Stage | Type::Bool));
        let text = match &v.vals {
            Vals::Empty if v.missing => format!("`{name}` has no value"),
            Vals::Empty => return None,
            vals if finite || vals.singleton().is_some() => {
                let list = vals.list()?;
                let full = match ty {
                    Some(Type::Bool) => 2,
                    Some(Type::Enum(e)) => self
                        .program
                        .enums
                        .get(e as usize)
                        .map_or(0, |d| d.variants.len()),
                    Some(Type::Stage) => self.program.stages.len(),
                    _ => usize::MAX,
                };
                if list.len() >= full {
                    return None;
                }
                let names: Vec<String> = list
                    .iter()
                    .map(|x| format!("`{}`", self.fmt_value(ty, *x)))
                    .collect();
                if name == "stage" {
                    if names.len() == 1 {
                        format!("the subject is in {} here", names[0])
                    } else {
                        format!("the subject is in one of {} here", names.join(", "))
                    }
                } else if names.len() == 1 {
                    format!("`{name}` is always {}", names[0])
                } else {
                    format!("`{name}` is one of {}", names.join(", "))
                }
            }
            vals => {
                let (lo, hi) = vals.bounds()?;
                match (lo == i64::MIN, hi == i64::MAX) {
                    (true, true) => return None,
                    (false, false) => format!(
                        "`{name}` lies in {}..{}",
                        self.fmt_value(ty, lo),
                        self.fmt_value(ty, hi)
                    ),
                    (false, true) if lo == 0 => format!("`{name}` is never negative"),
                    (false, true) => format!("`{name}` is at least {}", self.fmt_value(ty, lo)),
                    (true, false) => format!("`{name}` is at most {}", self.fmt_value(ty, hi)),
                }
            }
        };
        let suffix = match origin {
            Origin::Score => " (score range and terms)".to_string(),
            Origin::TraitRange | Origin::Property => " (declared range)".to_string(),
            Origin::Count => " (a count)".to_string(),
            _ => String::new(),
        };
        Some(format!("{text}{suffix}"))
    }

    /// Why the clauses `core` of `guard` cannot hold in `env`: the message
    /// and the labels.
    pub fn explain(&self, guard: &Guard<'_>, core: &[usize], env: &Env) -> (String, Vec<Note>) {
        let clauses: Vec<&Clause<'_>> = core.iter().filter_map(|i| guard.clauses.get(*i)).collect();
        let quoted: Vec<String> = clauses.iter().map(|c| format!("`{}`", c.text)).collect();
        let head = match quoted.len() {
            0 => "the condition can never hold".to_string(),
            1 => format!("{} can never hold", quoted[0]),
            2 => format!("{} and {} cannot both hold", quoted[0], quoted[1]),
            _ => format!(
                "{} and {} cannot hold together",
                quoted[..quoted.len() - 1].join(", "),
                quoted[quoted.len() - 1]
            ),
        };
        let terms: Vec<TermId> = clauses.iter().map(|c| c.term).collect();
        let reasons = self.describe_terms_with(&terms, env, quoted.len() == 1);
        let message = if reasons.is_empty() || quoted.len() > 1 && reasons.len() > 2 {
            head
        } else {
            format!("{head}, as {}", join_and(&reasons))
        };
        let mut notes = Vec::new();
        for c in &clauses {
            let text = match &c.via {
                Some(seg) => format!("from segment `{seg}`"),
                None if quoted.len() == 1 => "never true".to_string(),
                None => "conflicts".to_string(),
            };
            notes.push(Note { span: c.span, text });
        }
        (message, notes)
    }

    /// Descriptions of the values `terms` read, where they are constrained.
    pub fn describe_terms(&self, terms: &[TermId], env: &Env) -> Vec<String> {
        self.describe_terms_with(terms, env, false)
    }

    fn describe_terms_with(&self, terms: &[TermId], env: &Env, is_set_ok: bool) -> Vec<String> {
        let mut slots = Vec::new();
        let mut is_set = false;
        {
            let t = self.solver.terms();
            for term in terms {
                t.loads(*term, &mut slots);
                is_set |= has_is_set(&t, *term);
            }
        }
        let mut reasons = Vec::new();
        for slot in slots {
            let Some(info) = self.solver.slot_info(slot, env.event) else {
                continue;
            };
            let term = self.solver.intern(&stagecraft_ir::Expr::Load(slot));
            let v = self.solver.eval(term, env);
            let origin = if slot == self.program.layout.stage {
                Origin::Other
            } else {
                info.origin.clone()
            };
            if let Some(text) = self.describe(&info.name, info.ty, &v, &origin, is_set && is_set_ok)
            {
                if !reasons.contains(&text) {
                    reasons.push(text);
                }
            }
        }
        reasons
    }

    /// The span of an actor's `in stage` option, if written.
    pub fn in_stage_span(&self, a: &ActorInfo<'_>) -> Option<Span> {
        let opts = a.ast_options?;
        let first = opts.in_stages.first()?;
        let last = opts.in_stages.last()?;
        Some(first.span.join(last.span))
    }
}

fn has_is_set(terms: &crate::domain::Terms, t: TermId) -> bool {
    match terms.node(t) {
        Node::IsSet(_) => true,
        Node::Not(a) => has_is_set(terms, *a),
        _ => false,
    }
}

/// `a`, `a and b`, `a, b and c`.
pub fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Whether an input that matches trigger `later` always matches `earlier`.
pub fn covers(earlier: Trigger, later: Trigger) -> bool {
    match (earlier, later) {
        (Trigger::When, Trigger::When | Trigger::Event(_)) => true,
        (Trigger::Event(a), Trigger::Event(b)) => a == b,
        (Trigger::MilestoneMissed(a), Trigger::MilestoneMissed(b)) => a == b,
        _ => false,
    }
}

/// Whether two triggers can match the same input.
pub fn can_coincide(a: Trigger, b: Trigger) -> bool {
    covers(a, b) || covers(b, a)
}

/// `7d`, `48h`, `90m`, `30s`, `250ms` (hours below two days).
pub fn fmt_duration(ms: i64) -> String {
    const DAY: i64 = 86_400_000;
    if ms == 0 {
        return "0s".into();
    }
    if ms % DAY == 0 && ms.abs() >= 2 * DAY {
        return format!("{}d", ms / DAY);
    }
    for (unit, name) in [(3_600_000, "h"), (60_000, "m"), (1_000, "s")] {
        if ms % unit == 0 {
            return format!("{}{name}", ms / unit);
        }
    }
    format!("{ms}ms")
}
