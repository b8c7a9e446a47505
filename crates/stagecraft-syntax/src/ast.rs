//! The abstract syntax tree of a playbook. Every node carries the span of the
//! source text it came from, so later stages can point at it.

use serde::Serialize;

use crate::span::Span;

/// A name as written, with its span.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// A string literal, unescaped, with the span of the quoted text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StrLit {
    pub value: String,
    pub span: Span,
}

/// A duration literal such as `48h`, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DurationLit {
    pub millis: i64,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Playbook {
    pub header: Header,
    pub items: Vec<Item>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Header {
    pub name: StrLit,
    pub language: Option<(u32, Span)>,
    pub version: Option<StrLit>,
    pub description: Option<StrLit>,
    pub subject: Option<Subject>,
    pub span: Span,
}

/// `subject account` or `subject account per "product"`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Subject {
    pub per: Option<StrLit>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Item {
    Traits(TraitsBlock),
    Event(EventDecl),
    Metric(MetricDecl),
    Score(ScoreDecl),
    Segment(SegmentDecl),
    Stages(StagesBlock),
    Transition(TransitionDecl),
    Manual(ManualDecl),
    Milestone(MilestoneDecl),
    Rule(RuleDecl),
    Escalation(EscalationDecl),
    Policy(PolicyBlock),
}

impl Item {
    pub fn span(&self) -> Span {
        match self {
            Item::Traits(x) => x.span,
            Item::Event(x) => x.span,
            Item::Metric(x) => x.span,
            Item::Score(x) => x.span,
            Item::Segment(x) => x.span,
            Item::Stages(x) => x.span,
            Item::Transition(x) => x.span,
            Item::Manual(x) => x.span,
            Item::Milestone(x) => x.span,
            Item::Rule(x) => x.span,
            Item::Escalation(x) => x.span,
            Item::Policy(x) => x.span,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TraitsBlock {
    pub fields: Vec<FieldDecl>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventDecl {
    pub name: StrLit,
    pub fields: Vec<FieldDecl>,
    pub span: Span,
}

/// A typed field: a trait or an event property.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldDecl {
    pub name: Ident,
    pub ty: TypeExpr,
    pub optional: bool,
    pub range: Option<RangeDecl>,
    pub default: Option<Literal>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RangeDecl {
    pub low: NumberLit,
    pub high: NumberLit,
    pub span: Span,
}

/// A signed number as written in a range or a score bound. `text` keeps the
/// exact digits so decimals are never rounded through binary floating point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NumberLit {
    pub text: String,
    pub is_decimal: bool,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum TypeExpr {
    Prim(PrimType, Span),
    Enum(Vec<Ident>, Span),
}

impl TypeExpr {
    pub fn span(&self) -> Span {
        match self {
            TypeExpr::Prim(_, s) | TypeExpr::Enum(_, s) => *s,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum PrimType {
    Bool,
    Int,
    Decimal,
    Money,
    String,
    Duration,
    Timestamp,
    Date,
    Timezone,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricDecl {
    pub name: Ident,
    pub kind: MetricKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum MetricKind {
    /// `count "E" [where ..] [over W | in stage]`
    Count {
        event: StrLit,
        filter: Option<Expr>,
        span_kind: Option<MetricSpan>,
    },
    /// `sum|min|max|avg|distinct "E".prop [where ..] [over W | in stage] [default v]`
    Aggregate {
        func: AggFunc,
        event: StrLit,
        prop: Ident,
        filter: Option<Expr>,
        span_kind: Option<MetricSpan>,
        default: Option<Literal>,
    },
    /// `latest|first "E".prop [where ..] [default v]`
    Latest {
        first: bool,
        event: StrLit,
        prop: Ident,
        filter: Option<Expr>,
        default: Option<Literal>,
    },
    /// `ever "E" [where ..]`
    Ever { event: StrLit, filter: Option<Expr> },
    /// `count sent RULE [over W | in stage]`
    Sent {
        rule: Ident,
        span_kind: Option<MetricSpan>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum AggFunc {
    Sum,
    Min,
    Max,
    Avg,
    Distinct,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum MetricSpan {
    Over(DurationLit),
    InStage(Span),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreDecl {
    pub name: Ident,
    pub low: NumberLit,
    pub high: NumberLit,
    pub terms: Vec<ScoreTerm>,
    pub span: Span,
}

/// One additive component of a score, with its sign and optional label.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreTerm {
    pub negate: bool,
    pub expr: Expr,
    pub label: Option<StrLit>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentDecl {
    pub name: Ident,
    pub expr: Expr,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StagesBlock {
    pub stages: Vec<StageDecl>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageDecl {
    pub name: Ident,
    pub label: Option<StrLit>,
    pub initial: Option<Span>,
    pub terminal: Option<Span>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum StageSet {
    Any { except: Vec<Ident>, span: Span },
    List(Vec<Ident>),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TransitionDecl {
    pub from: StageSet,
    pub to: Ident,
    pub trigger: Trigger,
    pub segment: Option<Ident>,
    pub backward: Option<Span>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ManualDecl {
    pub from: StageSet,
    pub to: Ident,
    pub roles: Vec<Ident>,
    pub requires_reason: bool,
    pub override_roles: Vec<Ident>,
    pub backward: Option<Span>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Trigger {
    /// `on "Event" [where cond]`
    OnEvent {
        event: StrLit,
        filter: Option<Expr>,
        span: Span,
    },
    /// `on milestone M missed [where cond]`
    OnMilestoneMissed {
        milestone: Ident,
        filter: Option<Expr>,
        span: Span,
    },
    /// `when cond`
    When { cond: Expr, span: Span },
    /// `after D in stage [S] [where cond]`
    AfterInStage {
        after: DurationLit,
        stage: Option<Ident>,
        filter: Option<Expr>,
        span: Span,
    },
    /// `at D before|after TRAIT [where cond]`
    AtDate {
        offset: DurationLit,
        before: bool,
        anchor: Ident,
        filter: Option<Expr>,
        span: Span,
    },
}

impl Trigger {
    pub fn span(&self) -> Span {
        match self {
            Trigger::OnEvent { span, .. }
            | Trigger::OnMilestoneMissed { span, .. }
            | Trigger::When { span, .. }
            | Trigger::AfterInStage { span, .. }
            | Trigger::AtDate { span, .. } => *span,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MilestoneDecl {
    pub name: Ident,
    pub starts: Option<(StrLit, Option<Expr>)>,
    pub done: Option<(StrLit, Option<Expr>)>,
    pub due: Option<DurationLit>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleDecl {
    pub name: Ident,
    pub trigger: Trigger,
    pub options: RuleOptions,
    pub actions: Vec<Action>,
    pub span: Span,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RuleOptions {
    pub once: Option<Span>,
    pub cooldown: Option<DurationLit>,
    pub holdout: Option<PercentLit>,
    pub in_stages: Vec<Ident>,
    pub segment: Option<Ident>,
    /// Options given twice, reported by the checker.
    pub repeated: Vec<Span>,
}

/// A percentage in basis points (hundredths of a percent), e.g. `10%` = 1000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PercentLit {
    pub basis_points: u32,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Action {
    Send {
        channel: Channel,
        template: StrLit,
        with: WithClause,
        span: Span,
    },
    Task {
        owner: Ident,
        title: StrLit,
        due: Option<DurationLit>,
        with: WithClause,
        span: Span,
    },
    Ticket {
        title: StrLit,
        priority: Option<(Priority, Span)>,
        with: WithClause,
        span: Span,
    },
    Crm {
        field: StrLit,
        value: Expr,
        span: Span,
    },
    Webhook {
        url: StrLit,
        with: WithClause,
        span: Span,
    },
    HandOff {
        to: Ident,
        with: WithClause,
        span: Span,
    },
}

impl Action {
    pub fn span(&self) -> Span {
        match self {
            Action::Send { span, .. }
            | Action::Task { span, .. }
            | Action::Ticket { span, .. }
            | Action::Crm { span, .. }
            | Action::Webhook { span, .. }
            | Action::HandOff { span, .. } => *span,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Channel {
    Email,
    InApp,
    Push,
    Sms,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::InApp => "in_app",
            Channel::Push => "push",
            Channel::Sms => "sms",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Priority {
    Low,
    Normal,
    High,
    Urgent,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }
}

/// What an action carries: a context package of named metrics and scores,
/// and explicit data entries.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct WithClause {
    /// `None`: no context; `Some(vec![])`: `with context` (all metrics and
    /// scores); `Some(names)`: `with context(a, b)`.
    pub context: Option<Vec<Ident>>,
    pub data: Vec<(Ident, Expr)>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EscalationDecl {
    pub name: Ident,
    pub trigger: Trigger,
    pub options: RuleOptions,
    pub first: NotifyStep,
    pub ladder: Vec<(DurationLit, NotifyStep)>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NotifyStep {
    pub role: Ident,
    pub with: WithClause,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyBlock {
    pub items: Vec<PolicyItem>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum PolicyItem {
    Cap {
        target: CapTarget,
        limit: u32,
        per: DurationLit,
        span: Span,
    },
    QuietHours {
        start_minute: u32,
        end_minute: u32,
        zone: QuietZone,
        span: Span,
    },
    Holdout {
        percent: PercentLit,
        rules: Vec<Ident>,
        span: Span,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CapTarget {
    Messages,
    Touches,
    Channel(Channel),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum QuietZone {
    Utc,
    Local(Span),
    Trait(Ident),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Literal {
    Int(i64, Span),
    /// Exact decimal text, e.g. `12.50`.
    Decimal(String, Span),
    Str(StrLit),
    Bool(bool, Span),
    Duration(DurationLit),
    /// A bare name used as a literal (an enum value in a default).
    Name(Ident),
    /// A negative number in a default: `-5`.
    Negative(Box<Literal>, Span),
}

impl Literal {
    pub fn span(&self) -> Span {
        match self {
            Literal::Int(_, s)
            | Literal::Decimal(_, s)
            | Literal::Bool(_, s)
            | Literal::Negative(_, s) => *s,
            Literal::Str(s) => s.span,
            Literal::Duration(d) => d.span,
            Literal::Name(i) => i.span,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ExprKind {
    Literal(Literal),
    Name(Ident),
    /// `event.prop` inside an event filter.
    EventProp(Ident),
    /// `stage`: the subject's current stage.
    Stage,
    /// `since last "Event"`
    SinceLast(StrLit),
    /// `milestone M missed|done|running`
    MilestoneState(Ident, MilestoneStateKw),
    Call(Ident, Vec<Expr>),
    Neg(Box<Expr>),
    Not(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    Compare(CmpOp, Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    /// `x crosses below|above y`
    Crosses {
        value: Box<Expr>,
        below: bool,
        threshold: Box<Expr>,
    },
    /// `x is set` / `x is not set`
    IsSet {
        value: Box<Expr>,
        negated: bool,
    },
    /// `x in [a, b]` / `x not in [a, b]`
    In {
        value: Box<Expr>,
        negated: bool,
        options: Vec<Expr>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum MilestoneStateKw {
    Missed,
    Done,
    Running,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Rem => "%",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}
