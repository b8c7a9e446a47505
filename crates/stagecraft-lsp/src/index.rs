//! What a playbook declares and where it names those declarations: the
//! tables behind hover, go to definition, completion and document symbols.
//!
//! Built from an AST alone (no type information), so it is available for a
//! playbook that parses but does not check, and for the declarations that
//! survive error recovery.

use stagecraft::syntax::ast::{
    self, Action, Expr, ExprKind, FieldDecl, Item, Literal, MetricKind, PolicyItem, QuietZone,
    RuleOptions, StageSet, Trigger, TypeExpr, WithClause,
};
use stagecraft::syntax::Span;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DeclKind {
    Header,
    TraitsBlock,
    Trait,
    Event,
    Property,
    EnumValue,
    Metric,
    Score,
    Segment,
    StagesBlock,
    Stage,
    Transition,
    Manual,
    Milestone,
    Rule,
    Escalation,
    Policy,
}

impl DeclKind {
    pub fn describe(self) -> &'static str {
        match self {
            DeclKind::Header => "playbook",
            DeclKind::TraitsBlock => "traits block",
            DeclKind::Trait => "trait",
            DeclKind::Event => "event",
            DeclKind::Property => "event property",
            DeclKind::EnumValue => "enum value",
            DeclKind::Metric => "metric",
            DeclKind::Score => "score",
            DeclKind::Segment => "segment",
            DeclKind::StagesBlock => "stages block",
            DeclKind::Stage => "stage",
            DeclKind::Transition => "transition",
            DeclKind::Manual => "manual transition",
            DeclKind::Milestone => "milestone",
            DeclKind::Rule => "rule",
            DeclKind::Escalation => "escalation",
            DeclKind::Policy => "policy",
        }
    }

    /// Kinds whose names a reference can point at.
    pub fn is_named(self) -> bool {
        !matches!(
            self,
            DeclKind::Header
                | DeclKind::TraitsBlock
                | DeclKind::StagesBlock
                | DeclKind::Transition
                | DeclKind::Manual
                | DeclKind::Policy
        )
    }
}

/// One declaration.
#[derive(Debug, Clone)]
pub struct Decl {
    pub kind: DeclKind,
    /// The name as a reference spells it (an event's name without quotes);
    /// for unnamed declarations, a short title.
    pub name: String,
    /// The name (or keyword) only: the selection range.
    pub name_span: Span,
    /// The whole declaration.
    pub span: Span,
    /// The enclosing declaration: a trait's traits block, a property's event,
    /// a stage's stages block, an enum value's trait or property.
    pub parent: Option<usize>,
}

/// What a reference names, as far as the syntax tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A bare name in an expression: a trait, metric, score or segment, else
    /// a stage, an enum value or a built-in value (`now`).
    Value(String),
    /// An enum value compared with (or defaulting) the enum-typed field
    /// declared at this index.
    EnumValue {
        field: usize,
        name: String,
    },
    Stage(String),
    Event(String),
    /// A property of an event (`None`: the event is not known here).
    Property {
        event: Option<String>,
        name: String,
    },
    Milestone(String),
    /// A rule or an escalation.
    Rule(String),
    Segment(String),
    /// A metric or score named in `with context(...)`.
    Context(String),
    /// A built-in function called by name.
    Builtin(String),
}

#[derive(Debug, Clone)]
pub struct Reference {
    pub span: Span,
    pub target: Target,
}

#[derive(Debug, Clone, Default)]
pub struct Index {
    pub decls: Vec<Decl>,
    pub refs: Vec<Reference>,
}

/// Built-in values that may be written as bare names.
pub const BUILTIN_VALUES: &[&str] = &["now", "today", "time_in_stage", "first_seen"];

impl Index {
    pub fn build(playbook: &ast::Playbook) -> Index {
        // Declarations first, so references can be resolved against names
        // declared further down (enum-typed fields, for enum values).
        let mut builder = Builder {
            index: Index::default(),
            references: false,
            next_decl: 0,
        };
        builder.playbook(playbook);
        builder.references = true;
        builder.playbook(playbook);
        builder.index
    }

    /// Declarations a target resolves to, best first.
    pub fn resolve(&self, target: &Target) -> Vec<usize> {
        let by = |kinds: &[DeclKind], name: &str| -> Vec<usize> {
            let mut found: Vec<usize> = Vec::new();
            for kind in kinds {
                found.extend(
                    self.decls
                        .iter()
                        .enumerate()
                        .filter(|(_, d)| d.kind == *kind && d.name == name)
                        .map(|(i, _)| i),
                );
            }
            found
        };
        match target {
            Target::Value(name) => {
                let values = by(
                    &[
                        DeclKind::Trait,
                        DeclKind::Metric,
                        DeclKind::Score,
                        DeclKind::Segment,
                    ],
                    name,
                );
                if !values.is_empty() {
                    return values;
                }
                let stages = by(&[DeclKind::Stage], name);
                if !stages.is_empty() {
                    return stages;
                }
                // Enum values of traits first, then of event properties.
                let mut values = by(&[DeclKind::EnumValue], name);
                values.sort_by_key(|&i| {
                    let parent = self.decls[i].parent.map(|p| self.decls[p].kind);
                    parent != Some(DeclKind::Trait)
                });
                values
            }
            Target::EnumValue { field, name } => self
                .decls
                .iter()
                .enumerate()
                .filter(|(_, d)| {
                    d.kind == DeclKind::EnumValue && d.parent == Some(*field) && d.name == *name
                })
                .map(|(i, _)| i)
                .collect(),
            Target::Stage(name) => by(&[DeclKind::Stage], name),
            Target::Event(name) => by(&[DeclKind::Event], name),
            Target::Property { event, name } => {
                let events: Vec<usize> = match event {
                    Some(event) => by(&[DeclKind::Event], event),
                    None => Vec::new(),
                };
                self.decls
                    .iter()
                    .enumerate()
                    .filter(|(_, d)| {
                        d.kind == DeclKind::Property
                            && d.name == *name
                            && (event.is_none() || d.parent.is_some_and(|p| events.contains(&p)))
                    })
                    .map(|(i, _)| i)
                    .collect()
            }
            Target::Milestone(name) => by(&[DeclKind::Milestone], name),
            Target::Rule(name) => by(&[DeclKind::Rule, DeclKind::Escalation], name),
            Target::Segment(name) => by(&[DeclKind::Segment], name),
            Target::Context(name) => by(&[DeclKind::Metric, DeclKind::Score], name),
            Target::Builtin(_) => Vec::new(),
        }
    }

    /// The innermost reference at a byte offset (a cursor just after a name
    /// still counts).
    pub fn reference_at(&self, offset: usize) -> Option<&Reference> {
        self.refs
            .iter()
            .filter(|r| r.span.start <= offset && offset <= r.span.end)
            .min_by_key(|r| (r.span.len(), r.span.start))
    }

    /// The declaration whose name is at a byte offset.
    pub fn declaration_at(&self, offset: usize) -> Option<usize> {
        self.decls
            .iter()
            .enumerate()
            .filter(|(_, d)| {
                d.kind.is_named() && d.name_span.start <= offset && offset <= d.name_span.end
            })
            .min_by_key(|(_, d)| d.name_span.len())
            .map(|(i, _)| i)
    }

    /// Declarations of a kind, in source order.
    pub fn of_kind(&self, kind: DeclKind) -> impl Iterator<Item = (usize, &Decl)> {
        self.decls
            .iter()
            .enumerate()
            .filter(move |(_, d)| d.kind == kind)
    }

    /// The children of a declaration.
    pub fn children(&self, parent: usize) -> impl Iterator<Item = (usize, &Decl)> {
        self.decls
            .iter()
            .enumerate()
            .filter(move |(_, d)| d.parent == Some(parent))
    }
}

struct Builder {
    index: Index,
    /// First pass: declarations only; second pass: references only.
    references: bool,
    next_decl: usize,
}

/// Where an expression is: the event whose properties `event.x` reads.
#[derive(Clone, Copy)]
struct Ctx<'a> {
    event: Option<&'a str>,
}

impl Builder {
    fn decl(
        &mut self,
        kind: DeclKind,
        name: impl Into<String>,
        name_span: Span,
        span: Span,
        parent: Option<usize>,
    ) -> usize {
        if self.references {
            self.next_decl += 1;
            return self.next_decl - 1;
        }
        self.index.decls.push(Decl {
            kind,
            name: name.into(),
            name_span,
            span,
            parent,
        });
        self.index.decls.len() - 1
    }

    fn reference(&mut self, span: Span, target: Target) {
        if !self.references {
            return;
        }
        self.index.refs.push(Reference { span, target });
    }

    fn playbook(&mut self, playbook: &ast::Playbook) {
        let header = &playbook.header;
        self.decl(
            DeclKind::Header,
            header.name.value.clone(),
            header.name.span,
            header.span,
            None,
        );
        for item in &playbook.items {
            self.item(item);
        }
    }

    /// The span of a declaration's leading keyword.
    fn keyword(span: Span, keyword: &str) -> Span {
        Span::new(span.start, span.start + keyword.len())
    }

    fn item(&mut self, item: &Item) {
        match item {
            Item::Traits(block) => {
                let parent = self.decl(
                    DeclKind::TraitsBlock,
                    "traits",
                    Self::keyword(block.span, "traits"),
                    block.span,
                    None,
                );
                for field in &block.fields {
                    self.field(DeclKind::Trait, field, parent);
                }
            }
            Item::Event(event) => {
                let parent = self.decl(
                    DeclKind::Event,
                    event.name.value.clone(),
                    event.name.span,
                    event.span,
                    None,
                );
                for field in &event.fields {
                    self.field(DeclKind::Property, field, parent);
                }
            }
            Item::Metric(metric) => {
                self.decl(
                    DeclKind::Metric,
                    metric.name.name.clone(),
                    metric.name.span,
                    metric.span,
                    None,
                );
                self.metric(&metric.kind);
            }
            Item::Score(score) => {
                self.decl(
                    DeclKind::Score,
                    score.name.name.clone(),
                    score.name.span,
                    score.span,
                    None,
                );
                for term in &score.terms {
                    self.expr(&term.expr, Ctx { event: None });
                }
            }
            Item::Segment(segment) => {
                self.decl(
                    DeclKind::Segment,
                    segment.name.name.clone(),
                    segment.name.span,
                    segment.span,
                    None,
                );
                self.expr(&segment.expr, Ctx { event: None });
            }
            Item::Stages(block) => {
                let parent = self.decl(
                    DeclKind::StagesBlock,
                    "stages",
                    Self::keyword(block.span, "stages"),
                    block.span,
                    None,
                );
                for stage in &block.stages {
                    self.decl(
                        DeclKind::Stage,
                        stage.name.name.clone(),
                        stage.name.span,
                        stage.span,
                        Some(parent),
                    );
                }
            }
            Item::Transition(transition) => {
                let title = format!(
                    "{} -> {}",
                    stage_set_text(&transition.from),
                    transition.to.name
                );
                self.decl(
                    DeclKind::Transition,
                    title,
                    Self::keyword(transition.span, "transition"),
                    transition.span,
                    None,
                );
                self.stage_set(&transition.from);
                self.reference(
                    transition.to.span,
                    Target::Stage(transition.to.name.clone()),
                );
                self.trigger(&transition.trigger);
                if let Some(segment) = &transition.segment {
                    self.reference(segment.span, Target::Segment(segment.name.clone()));
                }
            }
            Item::Manual(manual) => {
                let title = format!("{} -> {}", stage_set_text(&manual.from), manual.to.name);
                self.decl(
                    DeclKind::Manual,
                    title,
                    Self::keyword(manual.span, "manual"),
                    manual.span,
                    None,
                );
                self.stage_set(&manual.from);
                self.reference(manual.to.span, Target::Stage(manual.to.name.clone()));
            }
            Item::Milestone(milestone) => {
                self.decl(
                    DeclKind::Milestone,
                    milestone.name.name.clone(),
                    milestone.name.span,
                    milestone.span,
                    None,
                );
                for (event, filter) in [&milestone.starts, &milestone.done].into_iter().flatten() {
                    self.reference(event.span, Target::Event(event.value.clone()));
                    if let Some(filter) = filter {
                        self.expr(
                            filter,
                            Ctx {
                                event: Some(&event.value),
                            },
                        );
                    }
                }
            }
            Item::Rule(rule) => {
                self.decl(
                    DeclKind::Rule,
                    rule.name.name.clone(),
                    rule.name.span,
                    rule.span,
                    None,
                );
                let ctx = self.trigger(&rule.trigger);
                self.options(&rule.options);
                for action in &rule.actions {
                    self.action(action, ctx);
                }
            }
            Item::Escalation(escalation) => {
                self.decl(
                    DeclKind::Escalation,
                    escalation.name.name.clone(),
                    escalation.name.span,
                    escalation.span,
                    None,
                );
                let ctx = self.trigger(&escalation.trigger);
                self.options(&escalation.options);
                self.with(&escalation.first.with, ctx);
                for (_, step) in &escalation.ladder {
                    self.with(&step.with, ctx);
                }
            }
            Item::Policy(policy) => {
                self.decl(
                    DeclKind::Policy,
                    "policy",
                    Self::keyword(policy.span, "policy"),
                    policy.span,
                    None,
                );
                for item in &policy.items {
                    match item {
                        PolicyItem::QuietHours {
                            zone: QuietZone::Trait(name),
                            ..
                        } => self.reference(name.span, Target::Value(name.name.clone())),
                        PolicyItem::Holdout { rules, .. } => {
                            for rule in rules {
                                self.reference(rule.span, Target::Rule(rule.name.clone()));
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
    }

    fn field(&mut self, kind: DeclKind, field: &FieldDecl, parent: usize) {
        let index = self.decl(
            kind,
            field.name.name.clone(),
            field.name.span,
            field.span,
            Some(parent),
        );
        if let TypeExpr::Enum(values, _) = &field.ty {
            for value in values {
                self.decl(
                    DeclKind::EnumValue,
                    value.name.clone(),
                    value.span,
                    value.span,
                    Some(index),
                );
            }
            if let Some(Literal::Name(name)) = &field.default {
                self.reference(
                    name.span,
                    Target::EnumValue {
                        field: index,
                        name: name.name.clone(),
                    },
                );
            }
        }
    }

    fn metric(&mut self, kind: &MetricKind) {
        match kind {
            MetricKind::Count { event, filter, .. } | MetricKind::Ever { event, filter } => {
                self.reference(event.span, Target::Event(event.value.clone()));
                if let Some(filter) = filter {
                    self.expr(
                        filter,
                        Ctx {
                            event: Some(&event.value),
                        },
                    );
                }
            }
            MetricKind::Aggregate {
                event,
                prop,
                filter,
                ..
            }
            | MetricKind::Latest {
                event,
                prop,
                filter,
                ..
            } => {
                self.reference(event.span, Target::Event(event.value.clone()));
                self.reference(
                    prop.span,
                    Target::Property {
                        event: Some(event.value.clone()),
                        name: prop.name.clone(),
                    },
                );
                if let Some(filter) = filter {
                    self.expr(
                        filter,
                        Ctx {
                            event: Some(&event.value),
                        },
                    );
                }
            }
            MetricKind::Sent { rule, .. } => {
                self.reference(rule.span, Target::Rule(rule.name.clone()));
            }
        }
    }

    fn stage_set(&mut self, set: &StageSet) {
        let names = match set {
            StageSet::Any { except, .. } => except,
            StageSet::List(names) => names,
        };
        for name in names {
            self.reference(name.span, Target::Stage(name.name.clone()));
        }
    }

    /// Records a trigger's references; returns the context its event gives.
    fn trigger<'a>(&mut self, trigger: &'a Trigger) -> Ctx<'a> {
        match trigger {
            Trigger::OnEvent { event, filter, .. } => {
                self.reference(event.span, Target::Event(event.value.clone()));
                let ctx = Ctx {
                    event: Some(&event.value),
                };
                if let Some(filter) = filter {
                    self.expr(filter, ctx);
                }
                ctx
            }
            Trigger::OnMilestoneMissed {
                milestone, filter, ..
            } => {
                self.reference(milestone.span, Target::Milestone(milestone.name.clone()));
                if let Some(filter) = filter {
                    self.expr(filter, Ctx { event: None });
                }
                Ctx { event: None }
            }
            Trigger::When { cond, .. } => {
                self.expr(cond, Ctx { event: None });
                Ctx { event: None }
            }
            Trigger::AfterInStage { stage, filter, .. } => {
                if let Some(stage) = stage {
                    self.reference(stage.span, Target::Stage(stage.name.clone()));
                }
                if let Some(filter) = filter {
                    self.expr(filter, Ctx { event: None });
                }
                Ctx { event: None }
            }
            Trigger::AtDate { anchor, filter, .. } => {
                self.reference(anchor.span, Target::Value(anchor.name.clone()));
                if let Some(filter) = filter {
                    self.expr(filter, Ctx { event: None });
                }
                Ctx { event: None }
            }
        }
    }

    fn options(&mut self, options: &RuleOptions) {
        for stage in &options.in_stages {
            self.reference(stage.span, Target::Stage(stage.name.clone()));
        }
        if let Some(segment) = &options.segment {
            self.reference(segment.span, Target::Segment(segment.name.clone()));
        }
    }

    fn action(&mut self, action: &Action, ctx: Ctx<'_>) {
        match action {
            Action::Send { with, .. }
            | Action::Task { with, .. }
            | Action::Ticket { with, .. }
            | Action::Webhook { with, .. }
            | Action::HandOff { with, .. } => self.with(with, ctx),
            Action::Crm { value, .. } => self.expr(value, ctx),
        }
    }

    fn with(&mut self, with: &WithClause, ctx: Ctx<'_>) {
        for name in with.context.iter().flatten() {
            self.reference(name.span, Target::Context(name.name.clone()));
        }
        for (_, value) in &with.data {
            self.expr(value, ctx);
        }
    }

    fn expr(&mut self, expr: &Expr, ctx: Ctx<'_>) {
        match &expr.kind {
            ExprKind::Literal(_) | ExprKind::Stage => {}
            ExprKind::Name(name) => self.reference(name.span, Target::Value(name.name.clone())),
            ExprKind::EventProp(name) => self.reference(
                name.span,
                Target::Property {
                    event: ctx.event.map(str::to_string),
                    name: name.name.clone(),
                },
            ),
            ExprKind::SinceLast(event) => {
                self.reference(event.span, Target::Event(event.value.clone()))
            }
            ExprKind::MilestoneState(name, _) => {
                self.reference(name.span, Target::Milestone(name.name.clone()))
            }
            ExprKind::Call(name, args) => {
                self.reference(name.span, Target::Builtin(name.name.clone()));
                if name.name == "entered_at" {
                    if let [Expr {
                        kind: ExprKind::Name(stage),
                        ..
                    }] = args.as_slice()
                    {
                        self.reference(stage.span, Target::Stage(stage.name.clone()));
                        return;
                    }
                }
                for arg in args {
                    self.expr(arg, ctx);
                }
            }
            ExprKind::Neg(inner) | ExprKind::Not(inner) => self.expr(inner, ctx),
            ExprKind::IsSet { value, .. } => self.expr(value, ctx),
            ExprKind::Binary(_, a, b) | ExprKind::And(a, b) | ExprKind::Or(a, b) => {
                self.expr(a, ctx);
                self.expr(b, ctx);
            }
            ExprKind::Crosses {
                value, threshold, ..
            } => {
                self.expr(value, ctx);
                self.expr(threshold, ctx);
            }
            ExprKind::Compare(_, a, b) => {
                self.compared(a, std::slice::from_ref(b.as_ref()), ctx);
                self.compared(b, std::slice::from_ref(a.as_ref()), ctx);
            }
            ExprKind::In { value, options, .. } => {
                self.expr(value, ctx);
                let field = self.enum_field(value, ctx);
                for option in options {
                    self.maybe_variant(option, field, ctx);
                }
            }
        }
    }

    /// One side of a comparison: an enum value when the other side is an
    /// enum-typed field with that value.
    fn compared(&mut self, side: &Expr, others: &[Expr], ctx: Ctx<'_>) {
        let field = others.iter().find_map(|o| self.enum_field(o, ctx));
        self.maybe_variant(side, field, ctx);
    }

    fn maybe_variant(&mut self, expr: &Expr, field: Option<usize>, ctx: Ctx<'_>) {
        if let (ExprKind::Name(name), Some(field)) = (&expr.kind, field) {
            let target = Target::EnumValue {
                field,
                name: name.name.clone(),
            };
            if !self.index.resolve(&target).is_empty() {
                self.reference(name.span, target);
                return;
            }
        }
        self.expr(expr, ctx);
    }

    /// The enum-typed trait or property an expression reads directly.
    fn enum_field(&self, expr: &Expr, ctx: Ctx<'_>) -> Option<usize> {
        let target = match &expr.kind {
            ExprKind::Name(name) => Target::Value(name.name.clone()),
            ExprKind::EventProp(name) => Target::Property {
                event: ctx.event.map(str::to_string),
                name: name.name.clone(),
            },
            _ => return None,
        };
        let index = &self.index;
        index.resolve(&target).into_iter().find(|&i| {
            matches!(index.decls[i].kind, DeclKind::Trait | DeclKind::Property)
                && index
                    .children(i)
                    .any(|(_, d)| d.kind == DeclKind::EnumValue)
        })
    }
}

pub fn stage_set_text(set: &StageSet) -> String {
    match set {
        StageSet::Any { except, .. } if except.is_empty() => "any".to_string(),
        StageSet::Any { except, .. } => format!(
            "any except {}",
            except
                .iter()
                .map(|i| i.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        StageSet::List(names) => names
            .iter()
            .map(|i| i.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    }
}
