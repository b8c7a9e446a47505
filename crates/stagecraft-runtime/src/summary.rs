//! Counts of everything that happened in a run: every input line lands in
//! exactly one category.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::outcome::{OutcomeKind, Status};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub lines: u64,
    pub blank_lines: u64,
    /// Track, page and screen calls of declared events.
    pub events: u64,
    /// Group and identify calls.
    pub trait_updates: u64,
    pub manual_requests: u64,
    pub duplicates: u64,
    /// Calls of events the playbook does not declare, by name.
    pub unknown_events: BTreeMap<String, u64>,
    /// Calls the playbook has no use for, by reason.
    pub ignored: BTreeMap<String, u64>,
    /// Dead letters by category.
    pub dead_letters: BTreeMap<String, u64>,
    pub subjects: u64,
    /// Subjects placed in a stage at go-live (`Engine::place`).
    pub placed: u64,
    pub timers_fired: u64,
    pub transitions: u64,
    pub manual_transitions: u64,
    pub manual_rejected: u64,
    pub milestones_missed: u64,
    pub errors: u64,
    pub cycles: u64,
    pub acknowledged: u64,
    /// Actions by status.
    pub actions: BTreeMap<Status, u64>,
}

/// Distinct unknown event names remembered; beyond, they are counted under
/// one entry so a stream of junk names cannot grow memory.
const MAX_UNKNOWN_NAMES: usize = 1_000;

impl Summary {
    pub fn count_unknown_event(&mut self, name: &str) {
        if let Some(n) = self.unknown_events.get_mut(name) {
            *n += 1;
        } else if self.unknown_events.len() < MAX_UNKNOWN_NAMES {
            self.unknown_events.insert(name.to_string(), 1);
        } else {
            *self
                .unknown_events
                .entry("(other names)".to_string())
                .or_default() += 1;
        }
    }

    pub fn count_outcome(&mut self, kind: &OutcomeKind) {
        match kind {
            OutcomeKind::Transition { manual: None, .. } => self.transitions += 1,
            OutcomeKind::Transition {
                manual: Some(_), ..
            } => self.manual_transitions += 1,
            OutcomeKind::Action { status, .. } => *self.actions.entry(*status).or_default() += 1,
            OutcomeKind::MilestoneMissed { .. } => self.milestones_missed += 1,
            OutcomeKind::Errored { .. } => self.errors += 1,
            OutcomeKind::Cycle { .. } => self.cycles += 1,
            OutcomeKind::ManualRejected(_) => self.manual_rejected += 1,
            OutcomeKind::Acknowledged { .. } => self.acknowledged += 1,
            OutcomeKind::Entered { .. } => {}
        }
    }

    pub fn unknown_event_count(&self) -> u64 {
        self.unknown_events.values().sum()
    }

    pub fn ignored_count(&self) -> u64 {
        self.ignored.values().sum()
    }

    pub fn dead_letter_count(&self) -> u64 {
        self.dead_letters.values().sum()
    }
}
