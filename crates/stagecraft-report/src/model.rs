//! What a report knows about the playbook: its stages in declared order,
//! which are initial and terminal, the value stage, and the order of rules.

use serde::{Deserialize, Serialize};
use stagecraft::ir::Program;

/// One stage, as declared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageInfo {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub initial: bool,
    pub terminal: bool,
}

/// The parts of a playbook a report uses. Without a playbook, stages are
/// taken in the order they first appear in the outcomes, and none is known
/// to be terminal.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PlaybookInfo {
    pub name: String,
    pub version: String,
    pub stages: Vec<StageInfo>,
    /// The value stage and why it was chosen.
    pub value_stage: Option<(String, String)>,
    /// Rules with a holdout, in source order.
    pub holdout_rules: Vec<String>,
    /// Rules, then escalations, in source order.
    pub rules: Vec<String>,
    pub escalations: Vec<String>,
}

impl PlaybookInfo {
    pub fn from_program(program: &Program) -> PlaybookInfo {
        PlaybookInfo {
            name: program.name.clone(),
            version: program.version.clone(),
            stages: program
                .stages
                .iter()
                .map(|s| StageInfo {
                    name: s.name.clone(),
                    label: s.label.clone(),
                    initial: s.initial,
                    terminal: s.terminal,
                })
                .collect(),
            value_stage: default_value_stage(program),
            holdout_rules: program
                .rules
                .iter()
                .filter(|r| r.holdout_basis_points > 0)
                .map(|r| r.name.clone())
                .collect(),
            rules: program.rules.iter().map(|r| r.name.clone()).collect(),
            escalations: program.escalations.iter().map(|e| e.name.clone()).collect(),
        }
    }
}

/// The stage time to value is measured to, when `--value-stage` does not
/// name one:
///
/// 1. the earliest-declared non-initial stage that an automatic `backward`
///    transition (one not leaving a terminal stage) leads to: the stage
///    recovering accounts return to, which the playbook thereby treats as
///    the good state (`at_risk -> healthy ... backward` makes `healthy` the
///    value stage);
/// 2. otherwise the first non-initial, non-terminal stage in declared order.
pub fn default_value_stage(program: &Program) -> Option<(String, String)> {
    let initial = program.initial_stage();
    let recovered = program
        .transitions
        .iter()
        .filter(|t| {
            t.backward
                && t.to != initial
                && !t
                    .from
                    .iter()
                    .any(|f| program.stages.get(*f as usize).is_some_and(|s| s.terminal))
        })
        .min_by_key(|t| t.to);
    if let Some(t) = recovered {
        let name = program.stages[t.to as usize].name.clone();
        return Some((
            name.clone(),
            format!(
                "`{name}` is where recovering accounts return (`{}`)",
                t.source
            ),
        ));
    }
    program
        .stages
        .iter()
        .enumerate()
        .find(|(i, s)| *i as u32 != initial && !s.terminal && !s.initial)
        .map(|(_, s)| {
            (
                s.name.clone(),
                format!(
                    "no backward transition names a recovery stage, so the first stage after the initial one, `{}`",
                    s.name
                ),
            )
        })
}
