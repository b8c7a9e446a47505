//! A checked playbook: every name resolved, every expression typed, every
//! value laid out in a frame of slots.

use serde::{Deserialize, Serialize};

use crate::expr::{Slot, TypedExpr};
use crate::value::Type;

/// Byte offsets into the playbook source, for diagnostics and explanations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct SourceSpan {
    pub start: usize,
    pub end: usize,
}

pub type StageId = u32;
pub type EventId = u32;
pub type RuleId = u32;
pub type MilestoneId = u32;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Program {
    pub name: String,
    /// The playbook's own version (header `version`), part of idempotency keys.
    pub version: String,
    pub language: u32,
    /// `subject account per "key"`: the event property or trait that splits an
    /// account into several lifecycles.
    pub subject_per: Option<String>,
    pub enums: Vec<EnumDef>,
    /// String constants used by expressions; the runtime seeds its symbol
    /// table with them, so symbol `i` is `strings[i]`.
    pub strings: Vec<String>,
    pub traits: Vec<FieldDef>,
    pub events: Vec<EventDef>,
    pub metrics: Vec<MetricDef>,
    pub scores: Vec<ScoreDef>,
    /// Scores in an order where each comes after the scores it reads.
    pub score_order: Vec<u32>,
    pub segments: Vec<SegmentDef>,
    pub stages: Vec<StageDef>,
    pub transitions: Vec<TransitionDef>,
    pub manual: Vec<ManualDef>,
    pub milestones: Vec<MilestoneDef>,
    pub rules: Vec<RuleDef>,
    pub escalations: Vec<EscalationDef>,
    pub policy: Policy,
    pub crossings: Vec<CrossingDef>,
    /// Per stage: the slot holding when the subject last entered it, for
    /// the stages whose `entered_at` an expression reads.
    pub entered_at_slots: Vec<Option<Slot>>,
    /// Per event type: the slot holding when it last occurred, for the
    /// events whose `since last` an expression reads.
    pub last_seen_slots: Vec<Option<Slot>>,
    pub layout: Layout,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnumDef {
    pub variants: Vec<String>,
}

/// A trait of the subject, or a property of an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldDef {
    pub name: String,
    pub ty: Type,
    pub optional: bool,
    /// Inclusive bounds in the value encoding.
    pub range: Option<(i64, i64)>,
    /// Value before anything sets it (traits); `None` means missing.
    pub default: Option<i64>,
    pub span: SourceSpan,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventDef {
    pub name: String,
    pub props: Vec<FieldDef>,
    pub span: SourceSpan,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MetricKind {
    Count,
    Sum,
    Min,
    Max,
    Avg,
    Distinct,
    Latest,
    First,
    Ever,
    /// Actions emitted by a rule.
    Sent(RuleId),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Window {
    /// Since the subject was first seen.
    All,
    /// Events with time in `(now - millis, now]`.
    Over(i64),
    /// Since the subject entered its current stage.
    InStage,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricDef {
    pub name: String,
    pub ty: Type,
    pub kind: MetricKind,
    /// The event counted or aggregated (`None` for `Sent`).
    pub event: Option<EventId>,
    /// Index of the aggregated property in the event's `props`.
    pub prop: Option<u32>,
    /// Filter over the event (its properties are loaded in the frame).
    pub filter: Option<TypedExpr>,
    pub window: Window,
    /// Value when nothing was observed (`None`: missing; counts are 0).
    pub default: Option<i64>,
    pub span: SourceSpan,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreDef {
    pub name: String,
    pub ty: Type,
    pub low: i64,
    pub high: i64,
    pub components: Vec<ScoreComponent>,
    pub span: SourceSpan,
}

/// One named, signed term of a score; the score is the sum of its components,
/// clamped to `low..=high`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreComponent {
    pub label: String,
    pub negate: bool,
    pub expr: TypedExpr,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentDef {
    pub name: String,
    pub cond: TypedExpr,
    pub span: SourceSpan,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageDef {
    pub name: String,
    pub label: Option<String>,
    pub initial: bool,
    pub terminal: bool,
    pub span: SourceSpan,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Trigger {
    /// A track event of this type.
    Event(EventId),
    /// A milestone's deadline passed.
    MilestoneMissed(MilestoneId),
    /// A level condition, evaluated after every event of the subject.
    When,
    /// A timer: this long after entering the stage (`None`: the transition's
    /// source stage).
    AfterInStage { millis: i64, stage: Option<StageId> },
    /// A timer relative to a date or timestamp trait.
    AtDate {
        trait_index: u32,
        offset_millis: i64,
    },
}

impl Trigger {
    /// Whether the trigger is a timer coming due rather than an event.
    pub fn is_timer(self) -> bool {
        matches!(
            self,
            Trigger::MilestoneMissed(_) | Trigger::AfterInStage { .. } | Trigger::AtDate { .. }
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransitionDef {
    pub from: Vec<StageId>,
    pub to: StageId,
    pub trigger: Trigger,
    /// `where` filter or `when` condition.
    pub guard: Option<TypedExpr>,
    pub segment: Option<u32>,
    pub backward: bool,
    pub source: String,
    pub span: SourceSpan,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManualDef {
    pub from: Vec<StageId>,
    pub to: StageId,
    pub roles: Vec<String>,
    pub requires_reason: bool,
    pub override_roles: Vec<String>,
    pub backward: bool,
    pub span: SourceSpan,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MilestoneDef {
    pub name: String,
    pub starts: EventId,
    pub starts_filter: Option<TypedExpr>,
    pub done: EventId,
    pub done_filter: Option<TypedExpr>,
    pub due_millis: i64,
    pub span: SourceSpan,
}

/// Milestone states, as stored in the milestone's slot.
pub mod milestone_state {
    pub const NOT_STARTED: i64 = 0;
    pub const RUNNING: i64 = 1;
    pub const DONE: i64 = 2;
    pub const MISSED: i64 = 3;
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleDef {
    pub name: String,
    pub trigger: Trigger,
    pub guard: Option<TypedExpr>,
    pub segment: Option<u32>,
    /// Stages the rule applies in; empty means all.
    pub in_stages: Vec<StageId>,
    pub once: bool,
    pub cooldown_millis: Option<i64>,
    /// Share of subjects held out, in basis points.
    pub holdout_basis_points: u32,
    pub actions: Vec<ActionDef>,
    pub source: String,
    pub span: SourceSpan,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ActionKind {
    Send {
        channel: Channel,
        template: String,
    },
    Task {
        owner: String,
        title: String,
        due_millis: Option<i64>,
    },
    Ticket {
        title: String,
        priority: String,
    },
    Crm {
        field: String,
    },
    Webhook {
        url: String,
    },
    HandOff {
        to: String,
    },
    Notify {
        role: String,
    },
}

impl ActionKind {
    /// Messages are what message caps and quiet hours apply to.
    pub fn is_message(&self) -> bool {
        matches!(self, ActionKind::Send { .. })
    }

    /// Human touches: work handed to people.
    pub fn is_touch(&self) -> bool {
        matches!(
            self,
            ActionKind::Task { .. } | ActionKind::HandOff { .. } | ActionKind::Notify { .. }
        )
    }

    pub fn name(&self) -> &'static str {
        match self {
            ActionKind::Send { .. } => "send",
            ActionKind::Task { .. } => "task",
            ActionKind::Ticket { .. } => "ticket",
            ActionKind::Crm { .. } => "crm",
            ActionKind::Webhook { .. } => "webhook",
            ActionKind::HandOff { .. } => "hand_off",
            ActionKind::Notify { .. } => "notify",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionDef {
    pub kind: ActionKind,
    /// For `update crm`: the value written.
    pub value: Option<TypedExpr>,
    /// Named data entries.
    pub data: Vec<(String, TypedExpr)>,
    /// Context package: names of metrics and scores with their slots.
    pub context: Vec<(String, Slot, Type)>,
    pub span: SourceSpan,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EscalationDef {
    pub name: String,
    pub trigger: Trigger,
    pub guard: Option<TypedExpr>,
    pub segment: Option<u32>,
    pub in_stages: Vec<StageId>,
    pub once: bool,
    pub cooldown_millis: Option<i64>,
    /// Step 0 is notified at once; step `i` this long after the first when
    /// nobody acknowledged.
    pub steps: Vec<EscalationStep>,
    pub source: String,
    pub span: SourceSpan,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EscalationStep {
    pub after_millis: i64,
    pub action: ActionDef,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CapTarget {
    Messages,
    Touches,
    Channel(Channel),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cap {
    pub target: CapTarget,
    pub limit: u32,
    pub per_millis: i64,
    pub span: SourceSpan,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum QuietZone {
    Utc,
    /// A `timezone` trait, by index.
    Trait(u32),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuietHours {
    /// Minutes after midnight; the window may wrap past midnight.
    pub start_minute: u32,
    pub end_minute: u32,
    pub zone: QuietZone,
    pub span: SourceSpan,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    pub caps: Vec<Cap>,
    pub quiet_hours: Option<QuietHours>,
}

/// An expression whose previous value an edge condition (`crosses`) needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrossingDef {
    pub value: TypedExpr,
    pub slot: Slot,
}

/// Where each value lives in an evaluation frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Layout {
    pub trait_base: Slot,
    pub metric_base: Slot,
    pub score_base: Slot,
    pub stage: Slot,
    pub stage_entered_at: Slot,
    pub first_seen: Slot,
    /// Per milestone: its state (see [`milestone_state`]).
    pub milestone_base: Slot,
    /// The slots allocated while expressions are typed, only for what they
    /// read: previous values for `crosses`, and the times of the stage
    /// entries and events they ask about. A subject stores no slot nobody
    /// reads.
    pub on_demand_base: Slot,
    /// The event type of the input being processed (missing for timers).
    pub input_event: Slot,
    /// The timer key of the input being processed (missing for events).
    pub input_timer: Slot,
    /// Properties of the event being processed.
    pub prop_base: Slot,
    pub len: u32,
}

impl Program {
    pub fn trait_slot(&self, index: usize) -> Slot {
        self.layout.trait_base + index as Slot
    }

    pub fn metric_slot(&self, index: usize) -> Slot {
        self.layout.metric_base + index as Slot
    }

    pub fn score_slot(&self, index: usize) -> Slot {
        self.layout.score_base + index as Slot
    }

    pub fn initial_stage(&self) -> StageId {
        self.stages.iter().position(|s| s.initial).unwrap_or(0) as StageId
    }

    pub fn stage_id(&self, name: &str) -> Option<StageId> {
        self.stages
            .iter()
            .position(|s| s.name == name)
            .map(|i| i as StageId)
    }

    /// Whether moving from `from` to `to` goes back in the declared order.
    pub fn is_backward(&self, from: StageId, to: StageId) -> bool {
        to <= from
    }
}
