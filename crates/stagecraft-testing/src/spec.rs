//! The test file format (`NAME.tests.yaml` next to `NAME.playbook`),
//! documented in `docs/testing.md`.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

/// One test file: cases for one playbook.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestFile {
    /// The playbook, relative to the test file (default: the test file's
    /// name with `.playbook` instead of `.tests.yaml`).
    #[serde(default)]
    pub playbook: Option<String>,
    /// Default start time of every case (RFC 3339).
    #[serde(default)]
    pub start: Option<String>,
    /// Default account of every case.
    #[serde(default)]
    pub account: Option<String>,
    /// Traits every case's account starts with (a case's own `traits` are
    /// merged over them).
    #[serde(default)]
    pub traits: Map<String, Value>,
    pub cases: Vec<Case>,
}

/// One named case: given traits and a timeline, expect outcomes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    /// When the case starts; relative times count from here.
    #[serde(default)]
    pub start: Option<String>,
    /// The account the timeline is about (default `acct-1`).
    #[serde(default)]
    pub account: Option<String>,
    /// With `subject account per "KEY"`: the value of `KEY` added to every
    /// event that does not carry it; the subject becomes `ACCOUNT/KEY`.
    #[serde(default)]
    pub key: Option<String>,
    /// The account's traits, set by a `group` call at the start.
    #[serde(default)]
    pub traits: Map<String, Value>,
    /// Other accounts and their traits, also set at the start.
    #[serde(default)]
    pub accounts: BTreeMap<String, Map<String, Value>>,
    #[serde(default)]
    pub timeline: Vec<Step>,
    /// Advance time to here at the end (default: the last step or the last
    /// time an expectation names).
    #[serde(default)]
    pub until: Option<String>,
    #[serde(default)]
    pub expect: Vec<Expect>,
}

/// One input of the timeline. Exactly one of `event`, `traits`, `manual`,
/// `ack` and `raw`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// `+2d`, `+1d12h`, `+90m` from the case start, or RFC 3339 (default:
    /// the previous step's time).
    #[serde(default)]
    pub at: Option<String>,
    /// Another account than the case's.
    #[serde(default)]
    pub account: Option<String>,
    /// The `userId` of the call (default `user-ACCOUNT`).
    #[serde(default)]
    pub user: Option<String>,
    /// A `track` call of this event.
    #[serde(default)]
    pub event: Option<String>,
    #[serde(default)]
    pub properties: Map<String, Value>,
    /// A `group` call with these traits.
    #[serde(default)]
    pub traits: Option<Map<String, Value>>,
    /// A manual transition request.
    #[serde(default)]
    pub manual: Option<Manual>,
    /// An acknowledgement of this escalation.
    #[serde(default)]
    pub ack: Option<String>,
    /// Who acknowledged (with `ack`).
    #[serde(default)]
    pub actor: Option<String>,
    /// A raw input line (a Segment call or a manual/ack record); `timestamp`
    /// is added from `at` when it has none.
    #[serde(default)]
    pub raw: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manual {
    pub to: String,
    pub role: String,
    #[serde(default)]
    pub actor: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default, rename = "override")]
    pub override_: bool,
}

/// One expectation. Exactly one of `stage`, `action`, `no_action`,
/// `transition`, `no_transition`, `milestone_missed`,
/// `no_milestone_missed`, `manual_rejected` and `errored`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// For `stage`: the time to look at (default: the end). For the others:
    /// the exact time of the outcome.
    #[serde(default)]
    pub at: Option<String>,
    /// The subject (default: the case's account, or `ACCOUNT/KEY`).
    #[serde(default)]
    pub subject: Option<String>,

    /// The subject's stage at `at`.
    #[serde(default)]
    pub stage: Option<String>,
    /// Actions of this rule or escalation.
    #[serde(default)]
    pub action: Option<String>,
    /// No actions of this rule or escalation (with the qualifiers below).
    #[serde(default)]
    pub no_action: Option<String>,
    #[serde(default)]
    pub transition: Option<TransitionPattern>,
    #[serde(default)]
    pub no_transition: Option<TransitionPattern>,
    #[serde(default)]
    pub milestone_missed: Option<String>,
    #[serde(default)]
    pub no_milestone_missed: Option<String>,
    /// A refused manual transition to this stage.
    #[serde(default)]
    pub manual_rejected: Option<String>,
    /// An evaluation error reported for this rule, transition, score, ...
    /// (by name). A case with an error it does not expect fails.
    #[serde(default)]
    pub errored: Option<String>,

    /// Action qualifiers: `emitted`, `suppressed`, `deferred`, `held_out`.
    #[serde(default)]
    pub status: Option<String>,
    /// Why: `cap`, `cooldown`, `once`, `quiet_hours`, `holdout`.
    #[serde(default)]
    pub reason: Option<String>,
    /// The template of a `send`.
    #[serde(default)]
    pub template: Option<String>,
    /// The escalation step (1 is the first notification).
    #[serde(default)]
    pub step: Option<u64>,
    /// Exactly this many matching outcomes (default: at least one).
    #[serde(default)]
    pub count: Option<usize>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransitionPattern {
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
    /// Only manual moves (`true`) or only automatic ones (`false`).
    #[serde(default)]
    pub manual: Option<bool>,
}

/// Parses a test file.
pub fn parse(text: &str) -> Result<TestFile, String> {
    serde_norway::from_str(text).map_err(|e| e.to_string())
}

/// A time: `+D` relative to `start` (`D` is one or more of `Nms`, `Ns`,
/// `Nm`, `Nh`, `Nd`, `Nw`, e.g. `+1d12h`), `-D` before it, or RFC 3339.
pub fn parse_time(text: &str, start: i64) -> Result<i64, String> {
    let text = text.trim();
    if let Some(rest) = text.strip_prefix('+') {
        return Ok(start.saturating_add(parse_duration(rest)?));
    }
    if let Some(rest) = text.strip_prefix('-') {
        return Ok(start.saturating_sub(parse_duration(rest)?));
    }
    stagecraft::runtime::time::parse_rfc3339(text)
        .ok_or_else(|| format!("`{text}` is not a time: write `+2d`, `+1d12h` or an RFC 3339 time"))
}

/// `1d12h`, `90m`, `0s`: milliseconds.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let bad = || format!("`{text}` is not a duration such as `2d`, `1d12h` or `90m`");
    if text.is_empty() {
        return Err(bad());
    }
    let mut total: i64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(bad());
        }
        let n: i64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        total = n
            .checked_mul(factor)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times() {
        assert_eq!(parse_time("+0s", 1000), Ok(1000));
        assert_eq!(parse_time("+1d12h", 0), Ok(129_600_000));
        assert_eq!(parse_time("+90m", 0), Ok(5_400_000));
        assert_eq!(parse_time("-1h", 3_600_000), Ok(0));
        assert_eq!(parse_time("2026-01-01T00:00:00Z", 0), Ok(1_767_225_600_000));
        assert!(parse_time("+2 days", 0).is_err());
        assert!(parse_time("+d", 0).is_err());
        assert!(parse_time("tomorrow", 0).is_err());
    }
}
