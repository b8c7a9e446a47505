//! Per-subject state: the frame of slots expressions read, plus what the
//! frame is derived from (metric windows, rule history, timers, logs).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use stagecraft_ir::{MetricDef, MetricKind, Program, Window};

pub const NEVER: i64 = i64::MIN;

/// What a metric remembers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum MetricState {
    /// Counts since first seen or since stage entry.
    Counter(i64),
    /// Event times within a window.
    Times(VecDeque<i64>),
    /// Event times and values within a window.
    Values(VecDeque<(i64, i64)>),
    /// Running aggregates since first seen or stage entry; `overflow` once a
    /// sum no longer fits.
    Running {
        count: i64,
        sum: i64,
        min: i64,
        max: i64,
        overflow: bool,
    },
    /// Distinct values since first seen or stage entry.
    Distinct(Vec<i64>),
    /// Latest or first value.
    Value(Option<i64>),
    Ever(bool),
}

impl MetricState {
    pub fn new(def: &MetricDef) -> MetricState {
        match (def.kind, def.window) {
            (MetricKind::Ever, _) => MetricState::Ever(false),
            (MetricKind::Latest | MetricKind::First, _) => MetricState::Value(None),
            (MetricKind::Count | MetricKind::Sent(_), Window::Over(_)) => {
                MetricState::Times(VecDeque::new())
            }
            (MetricKind::Count | MetricKind::Sent(_), _) => MetricState::Counter(0),
            (_, Window::Over(_)) => MetricState::Values(VecDeque::new()),
            (MetricKind::Distinct, _) => MetricState::Distinct(Vec::new()),
            _ => MetricState::Running {
                count: 0,
                sum: 0,
                min: i64::MAX,
                max: i64::MIN,
                overflow: false,
            },
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FireHistory {
    pub first: i64,
    pub last: i64,
}

impl Default for FireHistory {
    fn default() -> Self {
        FireHistory {
            first: NEVER,
            last: NEVER,
        }
    }
}

/// An escalation's ladder in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ladder {
    pub started: i64,
    pub next_step: u32,
    /// The firing's idempotency key, shared by its steps.
    pub key: u64,
}

/// A message held back by quiet hours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deferred {
    pub rule: u32,
    pub action: u32,
    pub due: i64,
    pub key: u64,
    pub cause_line: u64,
    pub cause_message: Option<String>,
    pub cause_event: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subject {
    pub key: Box<str>,
    /// Entered its initial stage (has had a track event).
    pub entered: bool,
    /// The frame: one value per slot of the program's layout.
    pub values: Vec<i64>,
    pub present: Vec<u8>,
    pub metrics: Vec<MetricState>,
    pub rules: Vec<FireHistory>,
    pub escalations: Vec<FireHistory>,
    pub ladders: Vec<Option<Ladder>>,
    /// Times and channels of emitted messages, kept as long as a cap needs.
    pub messages: VecDeque<(i64, u8)>,
    /// Times of human touches (tasks, hand-offs).
    pub touches: VecDeque<i64>,
    /// Armed timers: key and deadline.
    pub timers: Vec<(i64, i64)>,
    pub deferred: Vec<Deferred>,
}

impl Subject {
    pub fn new(key: &str, program: &Program) -> Subject {
        let len = program.layout.len as usize;
        let mut subject = Subject {
            key: key.into(),
            entered: false,
            values: vec![0; len],
            present: vec![0; len],
            metrics: program.metrics.iter().map(MetricState::new).collect(),
            rules: vec![FireHistory::default(); program.rules.len()],
            escalations: vec![FireHistory::default(); program.escalations.len()],
            ladders: vec![None; program.escalations.len()],
            messages: VecDeque::new(),
            touches: VecDeque::new(),
            timers: Vec::new(),
            deferred: Vec::new(),
        };
        for (i, t) in program.traits.iter().enumerate() {
            subject.set_default_trait(program, i as u32, t.default);
        }
        for m in 0..program.milestones.len() as u32 {
            subject.set(
                program.layout.milestone_base + m,
                Some(stagecraft_ir::milestone_state::NOT_STARTED),
            );
        }
        subject
    }

    pub fn set(&mut self, slot: u32, value: Option<i64>) {
        let i = slot as usize;
        match value {
            Some(v) => {
                self.values[i] = v;
                self.present[i] = 1;
            }
            None => self.present[i] = 0,
        }
    }

    pub fn get(&self, slot: u32) -> Option<i64> {
        let i = slot as usize;
        (self.present.get(i).copied() == Some(1)).then(|| self.values[i])
    }

    fn set_default_trait(&mut self, program: &Program, index: u32, default: Option<i64>) {
        self.set(program.layout.trait_base + index, default);
    }

    pub fn stage(&self, program: &Program) -> u32 {
        self.values[program.layout.stage as usize] as u32
    }

    /// Arms (or re-arms) the timer with this key.
    pub fn arm(&mut self, key: i64, deadline: i64) {
        match self.timers.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = deadline,
            None => self.timers.push((key, deadline)),
        }
    }

    pub fn disarm(&mut self, key: i64) {
        self.timers.retain(|(k, _)| *k != key);
    }

    /// Whether the timer with this key is armed for exactly this deadline.
    pub fn take_timer(&mut self, key: i64, deadline: i64) -> bool {
        match self.timers.iter().position(|t| *t == (key, deadline)) {
            Some(i) => {
                self.timers.swap_remove(i);
                true
            }
            None => false,
        }
    }
}

/// Evicts window entries at or before `now - window`.
pub fn evict_times(times: &mut VecDeque<i64>, now: i64, window: i64) {
    let cutoff = now.saturating_sub(window);
    while times.front().is_some_and(|t| *t <= cutoff) {
        times.pop_front();
    }
}

pub fn evict_values(values: &mut VecDeque<(i64, i64)>, now: i64, window: i64) {
    let cutoff = now.saturating_sub(window);
    while values.front().is_some_and(|(t, _)| *t <= cutoff) {
        values.pop_front();
    }
}
