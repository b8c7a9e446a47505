//! Declarations that act: transitions, manual moves, milestones, rules,
//! escalations and policies.

use stagecraft_ir as ir;
use stagecraft_ir::Type;
use stagecraft_syntax::ast::{self, Item};
use stagecraft_syntax::Span;

use crate::checker::{sspan, Checker, ValueName};
use crate::error::CheckError;
use crate::suggest::did_you_mean;
use crate::typing::Scope;

/// A lowered trigger and its `where`/`when` condition.
type CheckedTrigger = (ir::Trigger, Option<ir::TypedExpr>);

/// An action's `with { key: expr }` entries.
type DataEntries = Vec<(String, ir::TypedExpr)>;
/// An action's `with context(...)`: names with their slots and types.
type ContextPackage = Vec<(String, ir::Slot, Type)>;

/// Options a rule or an escalation shares.
struct CheckedOptions {
    in_stages: Vec<ir::StageId>,
    segment: Option<u32>,
    once: bool,
    cooldown_millis: Option<i64>,
    holdout_basis_points: u32,
}

impl Checker<'_> {
    /// Source stages of a transition: a list, or `any` (every non-terminal
    /// stage except the target and the `except` list).
    fn stage_set(&mut self, set: &ast::StageSet, to: Option<u32>) -> Vec<ir::StageId> {
        match set {
            ast::StageSet::List(names) => {
                let mut ids = Vec::new();
                for name in names {
                    if let Some(id) = self.stage_id(name) {
                        if !ids.contains(&id) {
                            ids.push(id);
                        }
                    }
                }
                ids
            }
            ast::StageSet::Any {
                except,
                span: any_span,
            } => {
                let excluded: Vec<u32> = except.iter().filter_map(|n| self.stage_id(n)).collect();
                let ids: Vec<u32> = (0..self.stages.len() as u32)
                    .filter(|id| {
                        !self.stages[*id as usize].terminal
                            && Some(*id) != to
                            && !excluded.contains(id)
                    })
                    .collect();
                if ids.is_empty() && !self.stages.is_empty() {
                    self.errors
                        .push(CheckError::EmptyStageSet { span: *any_span });
                }
                ids
            }
        }
    }

    fn segment_ref(&mut self, name: &Option<ast::Ident>) -> Option<u32> {
        let name = name.as_ref()?;
        match self.values.get(&name.name) {
            Some((ValueName::Segment(i), _)) => Some(*i),
            _ => {
                let candidates: Vec<String> = self
                    .segment_decls
                    .iter()
                    .map(|d| d.name.name.clone())
                    .collect();
                let help = did_you_mean(&name.name, candidates.iter().map(String::as_str));
                self.errors.push(CheckError::UnknownSegment {
                    name: name.name.clone(),
                    span: name.span,
                    help,
                });
                None
            }
        }
    }

    fn milestone_ref(&mut self, name: &ast::Ident) -> Option<u32> {
        match self.milestone_ids.get(&name.name) {
            Some(id) => Some(*id),
            None => {
                let help = did_you_mean(&name.name, self.milestone_ids.keys().map(String::as_str));
                self.errors.push(CheckError::UnknownMilestone {
                    name: name.name.clone(),
                    span: name.span,
                    help,
                });
                None
            }
        }
    }

    /// Lowers a trigger. `is_transition` decides what `after D in stage`
    /// counts from: a transition's own source stage, or a named stage.
    fn trigger(&mut self, trigger: &ast::Trigger, is_transition: bool) -> Option<CheckedTrigger> {
        match trigger {
            ast::Trigger::OnEvent { event, filter, .. } => {
                let id = self.event_id(event);
                let guard = filter
                    .as_ref()
                    .and_then(|f| self.condition(f, &Scope::event(id)));
                Some((ir::Trigger::Event(id?), guard))
            }
            ast::Trigger::OnMilestoneMissed {
                milestone, filter, ..
            } => {
                let id = self.milestone_ref(milestone);
                let guard = filter
                    .as_ref()
                    .and_then(|f| self.condition(f, &Scope::state()));
                Some((ir::Trigger::MilestoneMissed(id?), guard))
            }
            ast::Trigger::When { cond, .. } => {
                let guard = self.condition(cond, &Scope::trigger())?;
                Some((ir::Trigger::When, Some(guard)))
            }
            ast::Trigger::AfterInStage {
                after,
                stage,
                filter,
                span,
            } => {
                if after.millis == 0 {
                    self.errors.push(CheckError::Zero {
                        what: "a stage timer",
                        span: after.span,
                    });
                }
                let stage_id = match (stage, is_transition) {
                    (Some(name), true) => {
                        self.errors.push(CheckError::TimerStage {
                            message: "a transition's timer counts from its own source stage".into(),
                            help: format!(
                                "remove `{}`: write `after {} in stage`",
                                name.name,
                                self.text(after.span)
                            ),
                            span: name.span,
                        });
                        None
                    }
                    (None, false) => {
                        self.errors.push(CheckError::TimerStage {
                            message: "a rule's stage timer must name its stage".into(),
                            help: format!(
                                "write `after {} in stage onboarding`",
                                self.text(after.span)
                            ),
                            span: *span,
                        });
                        return None;
                    }
                    (Some(name), false) => Some(self.stage_id(name)?),
                    (None, true) => None,
                };
                let guard = filter
                    .as_ref()
                    .and_then(|f| self.condition(f, &Scope::state()));
                Some((
                    ir::Trigger::AfterInStage {
                        millis: after.millis,
                        stage: stage_id,
                    },
                    guard,
                ))
            }
            ast::Trigger::AtDate {
                offset,
                before,
                anchor,
                filter,
                ..
            } => {
                let guard = filter
                    .as_ref()
                    .and_then(|f| self.condition(f, &Scope::state()));
                let trait_index = match self.values.get(&anchor.name) {
                    Some((ValueName::Trait(i), _)) => {
                        let ty = self.traits[*i as usize].ty;
                        if !matches!(ty, Type::Date | Type::Timestamp) {
                            let ty = self.type_name(ty);
                            self.errors.push(CheckError::BadDateAnchor {
                                name: anchor.name.clone(),
                                span: anchor.span,
                                what: format!("a trait of type `{ty}`"),
                            });
                            return None;
                        }
                        *i
                    }
                    Some((other, _)) => {
                        let what = match other {
                            ValueName::Metric(_) => "a metric",
                            ValueName::Score(_) => "a score",
                            _ => "a segment",
                        };
                        self.errors.push(CheckError::BadDateAnchor {
                            name: anchor.name.clone(),
                            span: anchor.span,
                            what: what.into(),
                        });
                        return None;
                    }
                    None => {
                        let candidates: Vec<String> =
                            self.traits.iter().map(|t| t.name.clone()).collect();
                        let help =
                            did_you_mean(&anchor.name, candidates.iter().map(String::as_str));
                        self.errors.push(CheckError::UnknownName {
                            name: anchor.name.clone(),
                            span: anchor.span,
                            help,
                        });
                        return None;
                    }
                };
                let offset_millis = if *before {
                    -offset.millis
                } else {
                    offset.millis
                };
                Some((
                    ir::Trigger::AtDate {
                        trait_index,
                        offset_millis,
                    },
                    guard,
                ))
            }
        }
    }

    pub(crate) fn transitions(&mut self) -> Vec<ir::TransitionDef> {
        let ast = self.ast;
        let mut out = Vec::new();
        for item in &ast.items {
            let Item::Transition(decl) = item else {
                continue;
            };
            let to = self.stage_id(&decl.to);
            let from = self.stage_set(&decl.from, to);
            let trigger = self.trigger(&decl.trigger, true);
            let segment = self.segment_ref(&decl.segment);
            let Some(to) = to else { continue };
            if from.contains(&to) {
                self.errors.push(CheckError::SelfTransition {
                    stage: decl.to.name.clone(),
                    span: decl.to.span,
                });
                continue;
            }
            if decl.backward.is_none() {
                for f in &from {
                    if to <= *f {
                        self.errors.push(CheckError::UndeclaredBackward {
                            from: self.stages[*f as usize].name.clone(),
                            to: decl.to.name.clone(),
                            span: decl.to.span,
                        });
                        break;
                    }
                }
            }
            let Some((trigger, guard)) = trigger else {
                continue;
            };
            out.push(ir::TransitionDef {
                from,
                to,
                trigger,
                guard,
                segment,
                backward: decl.backward.is_some(),
                source: self.text(decl.span),
                span: sspan(decl.span),
            });
        }
        out
    }

    pub(crate) fn manual(&mut self) -> Vec<ir::ManualDef> {
        let ast = self.ast;
        let mut out = Vec::new();
        for item in &ast.items {
            let Item::Manual(decl) = item else { continue };
            let to = self.stage_id(&decl.to);
            let from = self.stage_set(&decl.from, to);
            if decl.roles.is_empty() {
                self.errors.push(CheckError::ManualWithoutRoles {
                    to: decl.to.name.clone(),
                    span: decl.span,
                });
                continue;
            }
            let Some(to) = to else { continue };
            if from.contains(&to) {
                self.errors.push(CheckError::SelfTransition {
                    stage: decl.to.name.clone(),
                    span: decl.to.span,
                });
                continue;
            }
            out.push(ir::ManualDef {
                from,
                to,
                roles: decl.roles.iter().map(|r| r.name.clone()).collect(),
                requires_reason: decl.requires_reason,
                override_roles: decl.override_roles.iter().map(|r| r.name.clone()).collect(),
                backward: decl.backward.is_some(),
                span: sspan(decl.span),
            });
        }
        out
    }

    pub(crate) fn milestones(&mut self) -> Vec<ir::MilestoneDef> {
        let ast = self.ast;
        let mut out = Vec::new();
        for item in &ast.items {
            let Item::Milestone(decl) = item else {
                continue;
            };
            let mut complete = true;
            for (present, clause) in [
                (decl.starts.is_some(), "starts on"),
                (decl.done.is_some(), "done on"),
                (decl.due.is_some(), "due"),
            ] {
                if !present {
                    self.errors.push(CheckError::MilestoneIncomplete {
                        name: decl.name.name.clone(),
                        missing: clause,
                        span: decl.span,
                    });
                    complete = false;
                }
            }
            let clause = |this: &mut Self, c: &Option<(ast::StrLit, Option<ast::Expr>)>| {
                let (event, filter) = c.as_ref()?;
                let id = this.event_id(event);
                let guard = filter
                    .as_ref()
                    .and_then(|f| this.condition(f, &Scope::filter(id, "milestone")));
                Some((id?, guard))
            };
            let starts = clause(self, &decl.starts);
            let done = clause(self, &decl.done);
            if let Some(due) = decl.due {
                if due.millis == 0 {
                    self.errors.push(CheckError::Zero {
                        what: "a milestone deadline",
                        span: due.span,
                    });
                }
            }
            let (Some((starts, starts_filter)), Some((done, done_filter)), Some(due), true) =
                (starts, done, decl.due, complete)
            else {
                continue;
            };
            out.push(ir::MilestoneDef {
                name: decl.name.name.clone(),
                starts,
                starts_filter,
                done,
                done_filter,
                due_millis: due.millis,
                span: sspan(decl.span),
            });
        }
        out
    }

    fn options(&mut self, options: &ast::RuleOptions) -> CheckedOptions {
        for span in &options.repeated {
            self.errors.push(CheckError::RepeatedOption { span: *span });
        }
        if let Some(c) = options.cooldown {
            if c.millis == 0 {
                self.errors.push(CheckError::Zero {
                    what: "a cooldown",
                    span: c.span,
                });
            }
        }
        let in_stages = options
            .in_stages
            .iter()
            .filter_map(|s| self.stage_id(s))
            .collect();
        CheckedOptions {
            in_stages,
            segment: self.segment_ref(&options.segment),
            once: options.once.is_some(),
            cooldown_millis: options.cooldown.map(|c| c.millis),
            holdout_basis_points: options.holdout.map_or(0, |h| h.basis_points),
        }
    }

    fn with_clause(
        &mut self,
        with: &ast::WithClause,
        scope: &Scope,
    ) -> (DataEntries, ContextPackage) {
        let mut context = Vec::new();
        match &with.context {
            None => {}
            Some(names) if names.is_empty() => {
                let mut all: Vec<(u32, String, ValueName)> = self
                    .values
                    .iter()
                    .filter(|(_, (v, _))| matches!(v, ValueName::Metric(_) | ValueName::Score(_)))
                    .map(|(name, (v, _))| {
                        let order = match v {
                            ValueName::Metric(i) => *i,
                            ValueName::Score(i) => 1_000_000 + *i,
                            _ => u32::MAX,
                        };
                        (order, name.clone(), *v)
                    })
                    .collect();
                all.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
                for (_, name, value) in all {
                    if let Some(entry) = self.context_entry(&name, value) {
                        context.push(entry);
                    }
                }
            }
            Some(names) => {
                for name in names {
                    match self.values.get(&name.name).copied() {
                        Some((
                            value @ (ValueName::Metric(_)
                            | ValueName::Score(_)
                            | ValueName::Trait(_)),
                            _,
                        )) => {
                            if let Some(entry) = self.context_entry(&name.name, value) {
                                context.push(entry);
                            }
                        }
                        _ => {
                            let help =
                                did_you_mean(&name.name, self.values.keys().map(String::as_str));
                            self.errors.push(CheckError::UnknownName {
                                name: name.name.clone(),
                                span: name.span,
                                help,
                            });
                        }
                    }
                }
            }
        }
        let mut data = Vec::new();
        for (key, expr) in &with.data {
            if let Some(t) = self.value_expr(expr, scope, None) {
                data.push((key.name.clone(), t));
            }
        }
        (data, context)
    }

    fn context_entry(&mut self, name: &str, value: ValueName) -> Option<(String, ir::Slot, Type)> {
        let (slot, ty) = match value {
            ValueName::Metric(i) => (self.layout.metric_base + i, self.metric_types[i as usize]?),
            ValueName::Score(i) => (self.layout.score_base + i, self.score_type(i)?),
            ValueName::Trait(i) => (self.layout.trait_base + i, self.traits[i as usize].ty),
            ValueName::Segment(_) => return None,
        };
        Some((name.to_string(), slot, ty))
    }

    fn action(&mut self, action: &ast::Action, scope: &Scope) -> Option<ir::ActionDef> {
        let empty = ast::WithClause::default();
        let (kind, with, value) = match action {
            ast::Action::Send {
                channel,
                template,
                with,
                ..
            } => (
                ir::ActionKind::Send {
                    channel: channel_of(*channel),
                    template: template.value.clone(),
                },
                with,
                None,
            ),
            ast::Action::Task {
                owner,
                title,
                due,
                with,
                ..
            } => (
                ir::ActionKind::Task {
                    owner: owner.name.clone(),
                    title: title.value.clone(),
                    due_millis: due.map(|d| d.millis),
                },
                with,
                None,
            ),
            ast::Action::Ticket {
                title,
                priority,
                with,
                ..
            } => (
                ir::ActionKind::Ticket {
                    title: title.value.clone(),
                    priority: priority.map_or("normal", |(p, _)| p.as_str()).to_string(),
                },
                with,
                None,
            ),
            ast::Action::Crm { field, value, .. } => {
                let typed = self.value_expr(value, scope, None)?;
                (
                    ir::ActionKind::Crm {
                        field: field.value.clone(),
                    },
                    &empty,
                    Some(typed),
                )
            }
            ast::Action::Webhook { url, with, .. } => (
                ir::ActionKind::Webhook {
                    url: url.value.clone(),
                },
                with,
                None,
            ),
            ast::Action::HandOff { to, with, .. } => (
                ir::ActionKind::HandOff {
                    to: to.name.clone(),
                },
                with,
                None,
            ),
        };
        let (data, context) = self.with_clause(with, scope);
        Some(ir::ActionDef {
            kind,
            value,
            data,
            context,
            span: sspan(action.span()),
        })
    }

    fn trigger_scope(trigger: ir::Trigger) -> Scope {
        match trigger {
            ir::Trigger::Event(e) => Scope::event(Some(e)),
            _ => Scope::state(),
        }
    }

    /// What rules and escalations share: the trigger, the options, and what
    /// their actions may read (the triggering event's properties, if any).
    fn rule_head(
        &mut self,
        trigger: &ast::Trigger,
        options: &ast::RuleOptions,
    ) -> (Option<CheckedTrigger>, CheckedOptions, Scope) {
        let trigger = self.trigger(trigger, false);
        let options = self.options(options);
        let scope = trigger
            .as_ref()
            .map_or(Scope::state(), |(t, _)| Self::trigger_scope(*t));
        (trigger, options, scope)
    }

    pub(crate) fn rules(&mut self) -> Vec<ir::RuleDef> {
        let ast = self.ast;
        let mut out = Vec::new();
        for item in &ast.items {
            let Item::Rule(decl) = item else { continue };
            let (trigger, options, scope) = self.rule_head(&decl.trigger, &decl.options);
            let actions: Vec<ir::ActionDef> = decl
                .actions
                .iter()
                .filter_map(|a| self.action(a, &scope))
                .collect();
            let Some((trigger, guard)) = trigger else {
                continue;
            };
            out.push(ir::RuleDef {
                name: decl.name.name.clone(),
                trigger,
                guard,
                segment: options.segment,
                in_stages: options.in_stages,
                once: options.once,
                cooldown_millis: options.cooldown_millis,
                holdout_basis_points: options.holdout_basis_points,
                actions,
                source: self.text(decl.trigger.span()),
                span: sspan(decl.span),
            });
        }
        out
    }

    pub(crate) fn escalations(&mut self) -> Vec<ir::EscalationDef> {
        let ast = self.ast;
        let mut out = Vec::new();
        for item in &ast.items {
            let Item::Escalation(decl) = item else {
                continue;
            };
            let (trigger, options, scope) = self.rule_head(&decl.trigger, &decl.options);
            if let Some(h) = decl.options.holdout {
                self.errors.push(CheckError::NotAllowed {
                    what: "a holdout on an escalation",
                    help: "escalations reach people and are never held out; use a rule for experiments",
                    span: h.span,
                });
            }
            let mut steps = Vec::new();
            let mut elapsed = 0i64;
            let all = std::iter::once((None, &decl.first))
                .chain(decl.ladder.iter().map(|(d, s)| (Some(*d), s)));
            for (delay, step) in all {
                if let Some(d) = delay {
                    if d.millis == 0 {
                        self.errors.push(CheckError::Zero {
                            what: "an acknowledgement deadline",
                            span: d.span,
                        });
                    }
                    elapsed = elapsed.saturating_add(d.millis);
                }
                let (data, context) = self.with_clause(&step.with, &scope);
                steps.push(ir::EscalationStep {
                    after_millis: elapsed,
                    action: ir::ActionDef {
                        kind: ir::ActionKind::Notify {
                            role: step.role.name.clone(),
                        },
                        value: None,
                        data,
                        context,
                        span: sspan(step.span),
                    },
                });
            }
            let Some((trigger, guard)) = trigger else {
                continue;
            };
            out.push(ir::EscalationDef {
                name: decl.name.name.clone(),
                trigger,
                guard,
                segment: options.segment,
                in_stages: options.in_stages,
                once: options.once,
                cooldown_millis: options.cooldown_millis,
                steps,
                source: self.text(decl.trigger.span()),
                span: sspan(decl.span),
            });
        }
        out
    }

    pub(crate) fn policy(&mut self, rules: &mut [ir::RuleDef]) -> ir::Policy {
        let ast = self.ast;
        let mut policy = ir::Policy::default();
        let mut quiet_span: Option<Span> = None;
        let mut holdout_from_policy: Vec<String> = Vec::new();
        for item in &ast.items {
            let Item::Policy(block) = item else { continue };
            for entry in &block.items {
                match entry {
                    ast::PolicyItem::Cap {
                        target,
                        limit,
                        per,
                        span,
                    } => {
                        if *limit == 0 {
                            self.errors.push(CheckError::Zero {
                                what: "a cap's limit",
                                span: *span,
                            });
                        }
                        if per.millis == 0 {
                            self.errors.push(CheckError::Zero {
                                what: "a cap's window",
                                span: per.span,
                            });
                        }
                        policy.caps.push(ir::Cap {
                            target: match target {
                                ast::CapTarget::Messages => ir::CapTarget::Messages,
                                ast::CapTarget::Touches => ir::CapTarget::Touches,
                                ast::CapTarget::Channel(c) => {
                                    ir::CapTarget::Channel(channel_of(*c))
                                }
                            },
                            limit: *limit,
                            per_millis: per.millis,
                            span: sspan(*span),
                        });
                    }
                    ast::PolicyItem::QuietHours {
                        start_minute,
                        end_minute,
                        zone,
                        span,
                    } => {
                        if let Some(first) = quiet_span {
                            self.errors
                                .push(CheckError::DuplicateQuietHours { span: *span, first });
                            continue;
                        }
                        quiet_span = Some(*span);
                        if start_minute == end_minute {
                            self.errors.push(CheckError::Zero {
                                what: "a quiet-hours window",
                                span: *span,
                            });
                        }
                        let Some(zone) = self.quiet_zone(zone) else {
                            continue;
                        };
                        policy.quiet_hours = Some(ir::QuietHours {
                            start_minute: *start_minute,
                            end_minute: *end_minute,
                            zone,
                            span: sspan(*span),
                        });
                    }
                    ast::PolicyItem::Holdout {
                        percent,
                        rules: names,
                        ..
                    } => {
                        for name in names {
                            match rules.iter_mut().find(|r| r.name == name.name) {
                                Some(rule) => {
                                    if rule.holdout_basis_points > 0
                                        || holdout_from_policy.contains(&name.name)
                                    {
                                        self.errors.push(CheckError::HoldoutTwice {
                                            rule: name.name.clone(),
                                            span: name.span,
                                        });
                                        continue;
                                    }
                                    holdout_from_policy.push(name.name.clone());
                                    rule.holdout_basis_points = percent.basis_points;
                                }
                                None => {
                                    let help = did_you_mean(
                                        &name.name,
                                        self.rule_ids.keys().map(String::as_str),
                                    );
                                    self.errors.push(CheckError::UnknownRule {
                                        name: name.name.clone(),
                                        span: name.span,
                                        help,
                                    });
                                }
                            }
                        }
                    }
                }
            }
        }
        policy
    }

    fn quiet_zone(&mut self, zone: &ast::QuietZone) -> Option<ir::QuietZone> {
        match zone {
            ast::QuietZone::Utc => Some(ir::QuietZone::Utc),
            ast::QuietZone::Local(local_span) => {
                let zones: Vec<u32> = self
                    .traits
                    .iter()
                    .enumerate()
                    .filter(|(_, t)| t.ty == Type::Timezone)
                    .map(|(i, _)| i as u32)
                    .collect();
                match zones.as_slice() {
                    [one] => Some(ir::QuietZone::Trait(*one)),
                    [] => {
                        self.errors.push(CheckError::QuietHoursZone {
                            message: "`local` quiet hours need a time zone trait".into(),
                            help: "declare one in `traits`: `timezone: timezone = \"UTC\"`".into(),
                            span: *local_span,
                        });
                        None
                    }
                    _ => {
                        self.errors.push(CheckError::QuietHoursZone {
                            message: "`local` is ambiguous: several traits are time zones".into(),
                            help: "name the trait: `quiet hours 20:00..08:00 in timezone`".into(),
                            span: *local_span,
                        });
                        None
                    }
                }
            }
            ast::QuietZone::Trait(name) => match self.values.get(&name.name) {
                Some((ValueName::Trait(i), _)) if self.traits[*i as usize].ty == Type::Timezone => {
                    Some(ir::QuietZone::Trait(*i))
                }
                _ => {
                    self.errors.push(CheckError::QuietHoursZone {
                        message: format!("`{}` is not a time zone trait", name.name),
                        help: "quiet hours follow a trait of type `timezone`".into(),
                        span: name.span,
                    });
                    None
                }
            },
        }
    }
}

fn channel_of(channel: ast::Channel) -> ir::Channel {
    match channel {
        ast::Channel::Email => ir::Channel::Email,
        ast::Channel::InApp => ir::Channel::InApp,
        ast::Channel::Push => ir::Channel::Push,
        ast::Channel::Sms => ir::Channel::Sms,
    }
}
