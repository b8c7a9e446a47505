//! What the engine emits: stage changes, actions with their status, errors
//! and rejected requests.
//!
//! Outcomes are compact (indices into the program, times in milliseconds),
//! so a sink that only counts pays nothing for formatting; [`Record`] is the
//! rendered form written as NDJSON. Every record carries the subject, the
//! event time and its cause, so a run can be explained and replayed.

use std::sync::Arc;

use compact_str::CompactString;

use serde::{Deserialize, Serialize};
use stagecraft_ir::{ActionKind, Program};

use crate::time;

/// What made something happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// A track event: its type, `messageId` and input line.
    Event {
        event: u32,
        message_id: Option<CompactString>,
        line: u64,
    },
    /// A timer coming due (its key, see `TimerKey`).
    Timer { key: i64, due: i64 },
    /// A manual transition request or an acknowledgement.
    Request {
        message_id: Option<CompactString>,
        line: u64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Emitted,
    Suppressed,
    Deferred,
    HeldOut,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Emitted => "emitted",
            Status::Suppressed => "suppressed",
            Status::Deferred => "deferred",
            Status::HeldOut => "held_out",
        }
    }
}

/// Why an action was not emitted when asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// The policy cap at this index was full.
    Cap(u32),
    /// The rule fired at `since` and is cooling down until `until`.
    Cooldown { until: i64 },
    /// The rule is `once` and fired at `first`.
    Once { first: i64 },
    /// Quiet hours: delivered at `until`.
    QuietHours { until: i64 },
    /// The subject is in the rule's holdout group.
    Holdout,
}

/// Who asked for an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Owner {
    Rule(u32),
    /// An escalation and the step of its ladder.
    Escalation(u32, u32),
}

#[derive(Debug, Clone, PartialEq)]
pub enum OutcomeKind {
    Entered {
        stage: u32,
    },
    Transition {
        from: u32,
        to: u32,
        /// `None` for manual moves.
        transition: Option<u32>,
        /// When the subject entered `from`.
        entered_from: i64,
        manual: Option<Box<ManualInfo>>,
    },
    Action {
        owner: Owner,
        /// Index of the action in the rule (0 for escalation steps).
        action: u32,
        status: Status,
        why: Option<Why>,
        idempotency_key: u64,
        /// Evaluated `with` data and context package, when the action has any.
        payload: Option<Box<Payload>>,
    },
    MilestoneMissed {
        milestone: u32,
    },
    Errored {
        what: ErrorSite,
        error: stagecraft_ir::EvalError,
    },
    Cycle {
        stage: u32,
    },
    ManualRejected(Box<ManualInfo>),
    Acknowledged {
        escalation: u32,
        actor: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorSite {
    Rule(u32),
    Escalation(u32),
    Transition(u32),
    Score(u32),
    MetricFilter(u32),
    MilestoneFilter(u32),
    Segment(u32),
    Action(u32),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManualInfo {
    pub to: String,
    pub role: String,
    pub actor: Option<String>,
    pub reason: Option<String>,
    /// Why it was rejected, when it was.
    pub rejection: Option<String>,
}

pub type Data = serde_json::Map<String, serde_json::Value>;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Payload {
    pub data: Data,
    pub context: Data,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Subject index (see [`SubjectNames`]).
    pub subject: u32,
    pub time: i64,
    pub cause: Cause,
    pub kind: OutcomeKind,
}

/// Resolves subject indices to keys when rendering.
pub trait SubjectNames {
    fn subject_key(&self, subject: u32) -> &str;
}

/// A line that could not be processed, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub line: u64,
    pub category: String,
    pub reason: String,
    pub raw: String,
}

/// A moment of evaluation a sink may look at (explanations, coverage).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observation {
    /// Metrics and scores are up to date for this input; rules and
    /// escalations are about to be evaluated. `timer` is the key of the timer
    /// being fired, for timer inputs.
    Evaluated {
        subject: u32,
        time: i64,
        timer: Option<i64>,
    },
    /// A cascade step is about to try the transitions leaving `stage`.
    Step { subject: u32, time: i64, stage: u32 },
}

/// Where outcomes go.
pub trait Sink {
    fn outcome(&mut self, outcome: &Outcome, names: &dyn SubjectNames);
    fn dead_letter(&mut self, dead: DeadLetter);

    /// Whether the engine should call [`Sink::observe`]; when false (the
    /// default) observing costs nothing.
    fn wants_observations(&self) -> bool {
        false
    }

    /// Called at each [`Observation`] with the subject's frame at that moment.
    fn observe(
        &mut self,
        _point: Observation,
        _frame: &stagecraft_ir::Frame,
        _names: &dyn SubjectNames,
    ) {
    }
}

/// Collects rendered records in memory (tests, small runs, examples).
#[derive(Debug)]
pub struct RecordSink {
    program: Arc<Program>,
    pub records: Vec<Record>,
    pub dead_letters: Vec<DeadLetter>,
}

impl RecordSink {
    pub fn new(program: Arc<Program>) -> RecordSink {
        RecordSink {
            program,
            records: Vec::new(),
            dead_letters: Vec::new(),
        }
    }
}

impl Sink for RecordSink {
    fn outcome(&mut self, outcome: &Outcome, names: &dyn SubjectNames) {
        self.records
            .push(Record::render(outcome, &self.program, names));
    }

    fn dead_letter(&mut self, dead: DeadLetter) {
        self.dead_letters.push(dead);
    }
}

/// The rendered cause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum CauseRecord {
    Event {
        event: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        message_id: Option<String>,
        line: u64,
    },
    Timer {
        timer: String,
        due: String,
    },
    Request {
        #[serde(skip_serializing_if = "Option::is_none")]
        message_id: Option<String>,
        line: u64,
    },
}

/// One output line. The schema is documented in `docs/semantics.md`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub kind: String,
    pub subject: String,
    pub time: String,
    #[serde(flatten)]
    pub fields: serde_json::Map<String, serde_json::Value>,
    pub cause: CauseRecord,
}

/// The name of a timer key, for records and explanations.
pub fn timer_name(program: &Program, key: i64) -> String {
    use crate::compiled::TimerKey;
    match TimerKey::decode(key, program) {
        Some(TimerKey::Milestone(m)) => {
            format!("milestone {}", program.milestones[m as usize].name)
        }
        Some(TimerKey::Transition(t)) => format!("transition {}", t + 1),
        Some(TimerKey::Rule(r)) => format!("rule {}", program.rules[r as usize].name),
        Some(TimerKey::Escalation(e)) => {
            format!("escalation {}", program.escalations[e as usize].name)
        }
        Some(TimerKey::EscalationStep(e)) => format!(
            "escalation {} (unacknowledged)",
            program.escalations[e as usize].name
        ),
        Some(TimerKey::Delivery) => "quiet hours delivery".into(),
        None => format!("timer {key}"),
    }
}

pub fn owner_name(program: &Program, owner: Owner) -> &str {
    match owner {
        Owner::Rule(r) => &program.rules[r as usize].name,
        Owner::Escalation(e, _) => &program.escalations[e as usize].name,
    }
}

pub fn action_def(
    program: &Program,
    owner: Owner,
    action: u32,
) -> Option<&stagecraft_ir::ActionDef> {
    match owner {
        Owner::Rule(r) => program.rules.get(r as usize)?.actions.get(action as usize),
        Owner::Escalation(e, step) => program
            .escalations
            .get(e as usize)?
            .steps
            .get(step as usize)
            .map(|s| &s.action),
    }
}

pub fn cap_name(program: &Program, cap: u32) -> String {
    program
        .policy
        .caps
        .get(cap as usize)
        .map_or_else(String::new, |c| {
            let target = match c.target {
                stagecraft_ir::CapTarget::Messages => "messages".to_string(),
                stagecraft_ir::CapTarget::Touches => "touches".to_string(),
                stagecraft_ir::CapTarget::Channel(ch) => ch.as_str().to_string(),
            };
            format!(
                "{target} {} per {}",
                c.limit,
                time::format_duration(c.per_millis)
            )
        })
}

impl Record {
    pub fn render(outcome: &Outcome, program: &Program, names: &dyn SubjectNames) -> Record {
        use serde_json::json;
        let stage = |s: u32| {
            program
                .stages
                .get(s as usize)
                .map_or("", |d| d.name.as_str())
                .to_string()
        };
        let mut fields = serde_json::Map::new();
        let mut put = |k: &str, v: serde_json::Value| {
            fields.insert(k.to_string(), v);
        };
        let kind = match &outcome.kind {
            OutcomeKind::Entered { stage: s } => {
                put("stage", json!(stage(*s)));
                "entered"
            }
            OutcomeKind::Transition {
                from,
                to,
                transition,
                entered_from,
                manual,
            } => {
                put("from", json!(stage(*from)));
                put("to", json!(stage(*to)));
                match transition {
                    Some(t) => {
                        put("transition", json!(t + 1));
                        let source = program
                            .transitions
                            .get(*t as usize)
                            .map_or("", |d| d.source.as_str());
                        put("rule", json!(source));
                    }
                    None => put("rule", json!("manual")),
                }
                put(
                    "time_in_from",
                    json!(time::format_duration(
                        outcome.time.saturating_sub(*entered_from)
                    )),
                );
                if let Some(m) = manual {
                    put("role", json!(m.role));
                    put("actor", json!(m.actor));
                    put("reason", json!(m.reason));
                }
                "transition"
            }
            OutcomeKind::Action {
                owner,
                action,
                status,
                why,
                idempotency_key,
                payload,
            } => {
                put(
                    match owner {
                        Owner::Rule(_) => "rule",
                        Owner::Escalation(..) => "escalation",
                    },
                    json!(owner_name(program, *owner)),
                );
                if let Owner::Escalation(_, step) = owner {
                    put("step", json!(step + 1));
                }
                if let Some(def) = action_def(program, *owner, *action) {
                    put("action", json!(def.kind.name()));
                    match &def.kind {
                        ActionKind::Send { channel, template } => {
                            put("channel", json!(channel.as_str()));
                            put("template", json!(template));
                        }
                        ActionKind::Task {
                            owner,
                            title,
                            due_millis,
                        } => {
                            put("owner", json!(owner));
                            put("title", json!(title));
                            if let Some(d) = due_millis {
                                put("due", json!(time::format(outcome.time.saturating_add(*d))));
                            }
                        }
                        ActionKind::Ticket { title, priority } => {
                            put("title", json!(title));
                            put("priority", json!(priority));
                        }
                        ActionKind::Crm { field } => put("field", json!(field)),
                        ActionKind::Webhook { url } => put("url", json!(url)),
                        ActionKind::HandOff { to } => put("to", json!(to)),
                        ActionKind::Notify { role } => put("role", json!(role)),
                    }
                }
                put("status", json!(status.as_str()));
                match why {
                    Some(Why::Cap(c)) => {
                        put("reason", json!("cap"));
                        put("cap", json!(cap_name(program, *c)));
                    }
                    Some(Why::Cooldown { until }) => {
                        put("reason", json!("cooldown"));
                        put("until", json!(time::format(*until)));
                    }
                    Some(Why::Once { first }) => {
                        put("reason", json!("once"));
                        put("first", json!(time::format(*first)));
                    }
                    Some(Why::QuietHours { until }) => {
                        put("reason", json!("quiet_hours"));
                        put("deliver_at", json!(time::format(*until)));
                    }
                    Some(Why::Holdout) => put("reason", json!("holdout")),
                    None => {}
                }
                put("idempotency_key", json!(format!("{idempotency_key:016x}")));
                if let Some(p) = payload {
                    if !p.data.is_empty() {
                        put("data", serde_json::Value::Object(p.data.clone()));
                    }
                    if !p.context.is_empty() {
                        put("context", serde_json::Value::Object(p.context.clone()));
                    }
                }
                "action"
            }
            OutcomeKind::MilestoneMissed { milestone } => {
                put(
                    "milestone",
                    json!(program
                        .milestones
                        .get(*milestone as usize)
                        .map(|m| m.name.as_str())),
                );
                "milestone_missed"
            }
            OutcomeKind::Errored { what, error } => {
                let (site, name) = match *what {
                    ErrorSite::Rule(i) => ("rule", program.rules[i as usize].name.clone()),
                    ErrorSite::Escalation(i) => {
                        ("escalation", program.escalations[i as usize].name.clone())
                    }
                    ErrorSite::Transition(i) => {
                        ("transition", program.transitions[i as usize].source.clone())
                    }
                    ErrorSite::Score(i) => ("score", program.scores[i as usize].name.clone()),
                    ErrorSite::MetricFilter(i) => {
                        ("metric", program.metrics[i as usize].name.clone())
                    }
                    ErrorSite::MilestoneFilter(i) => {
                        ("milestone", program.milestones[i as usize].name.clone())
                    }
                    ErrorSite::Segment(i) => ("segment", program.segments[i as usize].name.clone()),
                    ErrorSite::Action(i) => ("action", program.rules[i as usize].name.clone()),
                };
                put("site", json!(site));
                put("name", json!(name));
                put("error", json!(error.to_string()));
                "errored"
            }
            OutcomeKind::Cycle { stage: s } => {
                put("stage", json!(stage(*s)));
                "cycle"
            }
            OutcomeKind::ManualRejected(m) => {
                put("to", json!(m.to));
                put("role", json!(m.role));
                put("actor", json!(m.actor));
                put("reason", json!(m.rejection));
                "manual_rejected"
            }
            OutcomeKind::Acknowledged { escalation, actor } => {
                put(
                    "escalation",
                    json!(program.escalations[*escalation as usize].name),
                );
                put("actor", json!(actor));
                "acknowledged"
            }
        };
        let cause = match &outcome.cause {
            Cause::Event {
                event,
                message_id,
                line,
            } => CauseRecord::Event {
                event: program
                    .events
                    .get(*event as usize)
                    .map_or_else(String::new, |e| e.name.clone()),
                message_id: message_id.as_deref().map(str::to_string),
                line: *line,
            },
            Cause::Timer { key, due } => CauseRecord::Timer {
                timer: timer_name(program, *key),
                due: time::format(*due),
            },
            Cause::Request { message_id, line } => CauseRecord::Request {
                message_id: message_id.as_deref().map(str::to_string),
                line: *line,
            },
        };
        Record {
            kind: kind.to_string(),
            subject: names.subject_key(outcome.subject).to_string(),
            time: time::format(outcome.time),
            fields,
            cause,
        }
    }
}
