//! The lifecycle report: one streaming pass over a run's outcome records
//! (and optionally its state snapshot) into [`Report`], the figures every
//! output format renders.
//!
//! Memory is one small entry per account plus one number per completed stay
//! in a stage (for exact medians); nothing else grows with the input. Records
//! are never kept.

use std::collections::BTreeMap;
use std::hash::BuildHasher;

use hashbrown::HashTable;
use serde::{Deserialize, Serialize};
use stagecraft::runtime::time;

use crate::model::{PlaybookInfo, StageInfo};
use crate::records::RecordView;

const NEVER: i64 = i64::MIN;
const NO_STAGE: u16 = u16::MAX;
const DAY: i64 = time::MILLIS_PER_DAY;

/// Share of accounts in one non-terminal stage above which the audit flags it.
pub const CONCENTRATION_FLAG: f64 = 0.20;
/// Share of manual transitions above which the audit flags it.
pub const MANUAL_SHARE_FLAG: f64 = 0.10;

/// Upper bounds (exclusive) of the time-in-stage histogram buckets; the last
/// bucket is open.
pub const HISTOGRAM_BOUNDS: [(i64, &str); 8] = [
    (3_600_000, "<1h"),
    (DAY, "1h-1d"),
    (3 * DAY, "1d-3d"),
    (7 * DAY, "3d-7d"),
    (14 * DAY, "7d-14d"),
    (30 * DAY, "14d-30d"),
    (60 * DAY, "30d-60d"),
    (90 * DAY, "60d-90d"),
];
pub const HISTOGRAM_LAST: &str = "90d+";

/// How the stage distribution over time is bucketed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Bucket {
    /// Days when the outcomes span at most 92 days, weeks otherwise.
    #[default]
    Auto,
    Day,
    /// ISO weeks, starting on Monday.
    Week,
}

#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// Report as of this time (ms): later records are ignored. Default: the
    /// state's clock, else the newest record.
    pub at: Option<i64>,
    /// An account in a non-terminal stage for longer than this is stuck.
    pub stuck_after_millis: i64,
    /// How many stuck accounts to list (all are counted).
    pub stuck_limit: usize,
    pub bucket: Bucket,
    /// Overrides the playbook's value stage.
    pub value_stage: Option<String>,
    /// Stages of the funnel, in order (default: every stage, in declared
    /// order).
    pub funnel: Option<Vec<String>>,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            at: None,
            stuck_after_millis: 30 * DAY,
            stuck_limit: 20,
            bucket: Bucket::Auto,
            value_stage: None,
            funnel: None,
        }
    }
}

// ------------------------------------------------------------------ output

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub playbook: Option<PlaybookRef>,
    /// The report time: distribution "now", stuck accounts and time in the
    /// current stage are measured at it.
    pub at: String,
    pub at_ms: i64,
    pub input: InputCounts,
    /// Accounts in the lifecycle (entered a stage) at the report time.
    pub accounts: u64,
    /// Per stage, in declared order: accounts now and ever.
    pub stages: Vec<StageRow>,
    pub over_time: OverTime,
    pub funnel: Vec<FunnelStep>,
    /// Stage changes by pair of stages.
    pub transitions: Vec<Flow>,
    pub time_in_stage: TimeInStage,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_to_value: Option<TimeToValue>,
    pub stuck: Stuck,
    pub audit: Audit,
    pub actions: Vec<ActionRow>,
    pub holdouts: Vec<HoldoutRow>,
    pub go_live: GoLive,
    pub milestones_missed: Vec<NameCount>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<StateCheck>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaybookRef {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct InputCounts {
    /// Outcome records read (up to the report time).
    pub records: u64,
    /// Lines that are not outcome records (counted, skipped).
    pub unreadable: u64,
    /// Records after the report time (skipped).
    pub after_report_time: u64,
    /// Accounts whose first record is not `entered` (their lifecycle began
    /// before these outcomes): counted in their stage from then on.
    pub entered_before_outcomes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageRow {
    #[serde(flatten)]
    pub stage: StageInfo,
    /// Accounts in the stage at the report time.
    pub accounts: u64,
    pub share: f64,
    /// Accounts that ever entered the stage.
    pub reached: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverTime {
    /// `day` or `week` (ISO, from Monday).
    pub bucket: String,
    /// First day of each bucket.
    pub starts: Vec<String>,
    /// Per stage (declared order): accounts in it at the end of each bucket
    /// (the last bucket: at the report time).
    pub series: Vec<Series>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Series {
    pub stage: String,
    pub counts: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunnelStep {
    pub from: String,
    pub to: String,
    /// Accounts that ever entered `from`.
    pub entered: u64,
    /// Of those, accounts that also entered `to`.
    pub converted: u64,
    pub conversion: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flow {
    pub from: String,
    pub to: String,
    pub automatic: u64,
    pub manual: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeInStage {
    /// Labels of the histogram buckets.
    pub buckets: Vec<String>,
    pub stages: Vec<StageTime>,
}

/// Completed stays in a stage (entered, then left); the accounts still in
/// it are counted in `current`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageTime {
    pub stage: String,
    pub completed: u64,
    pub current: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p90_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p90: Option<String>,
    pub histogram: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeToValue {
    pub stage: String,
    pub definition: String,
    /// Accounts whose lifecycle began in a stage before the value stage.
    pub accounts: u64,
    /// Of those, accounts that reached the value stage.
    pub reached: u64,
    pub share: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p90_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p90: Option<String>,
    /// Accounts whose lifecycle began at or after the value stage (placed
    /// there at go-live): not measured.
    pub started_at_or_after: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stuck {
    pub threshold: String,
    pub threshold_ms: i64,
    pub total: u64,
    pub by_stage: Vec<NameCount>,
    /// The longest-stuck accounts, longest first (up to the list limit).
    pub oldest: Vec<StuckAccount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StuckAccount {
    pub subject: String,
    pub stage: String,
    pub since: String,
    pub days: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameCount {
    pub name: String,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Audit {
    /// Red flags, most important first.
    pub flags: Vec<Flag>,
    /// Non-terminal stages holding more than 20% of accounts.
    pub concentration: Vec<Concentration>,
    pub automatic_transitions: u64,
    pub manual_transitions: u64,
    pub manual_share: f64,
    pub manual_rejected: u64,
    pub errored: Vec<Errored>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flag {
    /// `concentration`, `manual_share`, `errored`, `manual_rejected`,
    /// `state_mismatch`.
    pub kind: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Concentration {
    pub stage: String,
    pub accounts: u64,
    pub share: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Errored {
    pub site: String,
    pub name: String,
    pub error: String,
    pub count: u64,
    pub accounts: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ActionRow {
    /// `rule` or `escalation`.
    pub owner: String,
    pub name: String,
    pub emitted: u64,
    pub suppressed: u64,
    pub deferred: u64,
    pub held_out: u64,
    /// Suppressed (and held-out) actions by reason.
    pub reasons: BTreeMap<String, u64>,
    /// Actions suppressed by each cap.
    pub caps: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HoldoutRow {
    pub rule: String,
    pub held_out: Group,
    pub treated: Group,
    /// Treated terminal share minus held-out terminal share, in percentage
    /// points (negative: fewer treated accounts ended in a terminal stage).
    pub terminal_difference_pp: f64,
}

/// Accounts of one side of a holdout and where they are at the report time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub accounts: u64,
    pub by_stage: Vec<NameCount>,
    /// In a terminal stage (churned, lapsed, ...).
    pub terminal: u64,
    pub terminal_share: f64,
    /// Ever reached the value stage.
    pub reached_value: u64,
    pub reached_value_share: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoLive {
    /// Accounts placed at go-live (`entered` records caused by a request).
    pub placed: u64,
    pub by_stage: Vec<NameCount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateCheck {
    /// Accounts in the lifecycle according to the state snapshot.
    pub subjects: u64,
    /// Accounts whose stage in the state differs from the outcomes'.
    pub mismatches: u64,
    /// Accounts in the state that no outcome mentions.
    pub only_in_state: u64,
}

// ------------------------------------------------------------------ builder

#[derive(Debug, Clone, Copy)]
struct Account {
    stage: u16,
    entered_at: i64,
    first_seen: i64,
    value_at: i64,
    /// Stages ever entered (stage `i` is bit `i`, up to 64 stages).
    reached: u64,
    /// The stage the lifecycle began in.
    first_stage: u16,
}

impl Account {
    fn new() -> Account {
        Account {
            stage: NO_STAGE,
            entered_at: NEVER,
            first_seen: NEVER,
            value_at: NEVER,
            reached: 0,
            first_stage: NO_STAGE,
        }
    }
}

fn bit(stage: u16) -> u64 {
    if stage < 64 {
        1u64 << stage
    } else {
        0
    }
}

#[derive(Debug, Default, Clone)]
struct ErrorCount {
    count: u64,
    accounts: hashbrown::HashSet<u32>,
}

const TREATED: u8 = 1;
const HELD_OUT: u8 = 2;

/// Accumulates records into a [`Report`].
#[derive(Debug)]
pub struct ReportBuilder {
    info: Option<PlaybookInfo>,
    options: ReportOptions,
    stages: Vec<StageInfo>,
    value_stage: Option<(String, String)>,
    hasher: hashbrown::DefaultHashBuilder,
    keys: Vec<Box<str>>,
    index: HashTable<u32>,
    accounts: Vec<Account>,
    input: InputCounts,
    newest: i64,
    /// Per day: change of accounts per stage.
    deltas: BTreeMap<i64, Vec<i64>>,
    stays: Vec<Vec<i64>>,
    flows: BTreeMap<(u16, u16), (u64, u64)>,
    actions: BTreeMap<(bool, String), ActionRow>,
    errored: BTreeMap<(String, String, String), ErrorCount>,
    manual_rejected: u64,
    milestones: BTreeMap<String, u64>,
    placed: BTreeMap<u16, u64>,
    /// Per rule: per account, treated or held out.
    groups: BTreeMap<String, Vec<u8>>,
    state: Option<StateCheck>,
    state_clock: Option<i64>,
}

impl ReportBuilder {
    pub fn new(info: Option<PlaybookInfo>, options: ReportOptions) -> ReportBuilder {
        let stages = info.as_ref().map(|i| i.stages.clone()).unwrap_or_default();
        let value_stage = match (&options.value_stage, &info) {
            (Some(name), _) => Some((name.clone(), "chosen with `--value-stage`".to_string())),
            (None, Some(info)) => info.value_stage.clone(),
            (None, None) => None,
        };
        let mut groups = BTreeMap::new();
        if let Some(info) = &info {
            for rule in &info.holdout_rules {
                groups.insert(rule.clone(), Vec::new());
            }
        }
        ReportBuilder {
            stays: vec![Vec::new(); stages.len()],
            stages,
            value_stage,
            info,
            options,
            hasher: hashbrown::DefaultHashBuilder::default(),
            keys: Vec::new(),
            index: HashTable::new(),
            accounts: Vec::new(),
            input: InputCounts::default(),
            newest: NEVER,
            deltas: BTreeMap::new(),
            flows: BTreeMap::new(),
            actions: BTreeMap::new(),
            errored: BTreeMap::new(),
            manual_rejected: 0,
            milestones: BTreeMap::new(),
            placed: BTreeMap::new(),
            groups,
            state: None,
            state_clock: None,
        }
    }

    /// Checks options against the stages: a value or funnel stage must be
    /// one of the playbook's (when it is known).
    pub fn validate(&self) -> Result<(), String> {
        if self.info.is_none() {
            return Ok(());
        }
        let known = |name: &str| self.stages.iter().any(|s| s.name == name);
        if let Some((name, _)) = &self.value_stage {
            if !known(name) {
                return Err(format!("`{name}` is not a stage of this playbook"));
            }
        }
        for name in self.options.funnel.iter().flatten() {
            if !known(name) {
                return Err(format!("`{name}` is not a stage of this playbook"));
            }
        }
        Ok(())
    }

    fn stage_id(&mut self, name: &str) -> u16 {
        if let Some(i) = self.stages.iter().position(|s| s.name == name) {
            return i as u16;
        }
        // Without a playbook, stages are learnt in order of appearance.
        self.stages.push(StageInfo {
            name: name.to_string(),
            label: None,
            initial: self.stages.is_empty(),
            terminal: false,
        });
        self.stays.push(Vec::new());
        (self.stages.len() - 1) as u16
    }

    fn account(&mut self, key: &str) -> u32 {
        let hash = self.hasher.hash_one(key);
        let keys = &self.keys;
        if let Some(i) = self.index.find(hash, |&i| &*keys[i as usize] == key) {
            return *i;
        }
        let i = self.keys.len() as u32;
        self.keys.push(key.into());
        self.accounts.push(Account::new());
        let keys = &self.keys;
        let hasher = &self.hasher;
        self.index
            .insert_unique(hash, i, |&j| hasher.hash_one(&*keys[j as usize]));
        i
    }

    fn delta(&mut self, t: i64, stage: u16, change: i64) {
        let n = self.stages.len();
        let day = self.deltas.entry(t.div_euclid(DAY)).or_default();
        if day.len() < n {
            day.resize(n, 0);
        }
        day[stage as usize] += change;
    }

    fn is_value(&self, stage: u16) -> bool {
        self.value_stage.as_ref().is_some_and(|(name, _)| {
            self.stages
                .get(stage as usize)
                .is_some_and(|s| &s.name == name)
        })
    }

    /// Reads one NDJSON line; a line that is not an outcome record is counted
    /// as unreadable.
    pub fn push_line(&mut self, line: &str) {
        if line.trim().is_empty() {
            return;
        }
        match RecordView::parse(line) {
            Ok(record) => self.push(&record),
            Err(_) => self.input.unreadable += 1,
        }
    }

    /// Adds one record.
    pub fn push(&mut self, r: &RecordView) {
        let Some(t) = r.time_millis() else {
            self.input.unreadable += 1;
            return;
        };
        if self.options.at.is_some_and(|at| t > at) {
            self.input.after_report_time += 1;
            return;
        }
        self.input.records += 1;
        self.newest = self.newest.max(t);
        match &*r.kind {
            "entered" => {
                let Some(stage) = r.stage.as_deref() else {
                    return;
                };
                let s = self.stage_id(stage);
                let a = self.account(&r.subject);
                if self.accounts[a as usize].stage != NO_STAGE {
                    // Entered twice: treat as a move.
                    self.move_to(a, s, t);
                    return;
                }
                self.delta(t, s, 1);
                let is_value = self.is_value(s);
                let acc = &mut self.accounts[a as usize];
                acc.stage = s;
                acc.entered_at = t;
                acc.first_seen = t;
                acc.first_stage = s;
                acc.reached |= bit(s);
                if is_value {
                    acc.value_at = t;
                }
                if r.cause.by == "request" {
                    *self.placed.entry(s).or_default() += 1;
                }
            }
            "transition" => {
                let (Some(from), Some(to)) = (r.from.as_deref(), r.to.as_deref()) else {
                    return;
                };
                let f = self.stage_id(from);
                let g = self.stage_id(to);
                let a = self.account(&r.subject);
                if self.accounts[a as usize].stage == NO_STAGE {
                    self.input.entered_before_outcomes += 1;
                    self.delta(t, f, 1);
                    let acc = &mut self.accounts[a as usize];
                    acc.stage = f;
                    acc.first_stage = f;
                    acc.reached |= bit(f);
                }
                let manual = r.rule.as_deref() == Some("manual");
                let flow = self.flows.entry((f, g)).or_default();
                if manual {
                    flow.1 += 1;
                } else {
                    flow.0 += 1;
                }
                self.move_to(a, g, t);
            }
            "action" => self.action(r),
            "errored" => {
                let a = self.account(&r.subject);
                let key = (
                    r.site.as_deref().unwrap_or("").to_string(),
                    r.name.as_deref().unwrap_or("").to_string(),
                    r.error.as_deref().unwrap_or("").to_string(),
                );
                let entry = self.errored.entry(key).or_default();
                entry.count += 1;
                entry.accounts.insert(a);
            }
            "milestone_missed" => {
                let name = r.milestone.as_deref().unwrap_or("").to_string();
                *self.milestones.entry(name).or_default() += 1;
            }
            "manual_rejected" => self.manual_rejected += 1,
            _ => {}
        }
    }

    fn move_to(&mut self, a: u32, g: u16, t: i64) {
        let acc = self.accounts[a as usize];
        let from = acc.stage;
        if acc.entered_at != NEVER {
            self.stays[from as usize].push(t - acc.entered_at);
        }
        self.delta(t, from, -1);
        self.delta(t, g, 1);
        let is_value = self.is_value(g);
        let acc = &mut self.accounts[a as usize];
        acc.stage = g;
        acc.entered_at = t;
        acc.reached |= bit(g);
        if is_value && acc.value_at == NEVER {
            acc.value_at = t;
        }
    }

    fn action(&mut self, r: &RecordView) {
        let Some((escalation, name)) = r.owner() else {
            return;
        };
        let status = r.status.as_deref().unwrap_or("");
        let row = self
            .actions
            .entry((escalation, name.to_string()))
            .or_insert_with(|| ActionRow {
                owner: if escalation { "escalation" } else { "rule" }.to_string(),
                name: name.to_string(),
                ..ActionRow::default()
            });
        match status {
            "emitted" => row.emitted += 1,
            "suppressed" => row.suppressed += 1,
            "deferred" => row.deferred += 1,
            "held_out" => row.held_out += 1,
            _ => {}
        }
        if matches!(status, "suppressed" | "held_out") {
            if let Some(reason) = r.reason.as_deref() {
                *row.reasons.entry(reason.to_string()).or_default() += 1;
            }
            if let Some(cap) = r.cap.as_deref() {
                *row.caps.entry(cap.to_string()).or_default() += 1;
            }
        }
        if escalation {
            return;
        }
        let group = match status {
            "held_out" => HELD_OUT,
            "emitted" | "deferred" => TREATED,
            _ => return,
        };
        let tracked = self.info.is_none() || self.groups.contains_key(name);
        if !tracked {
            return;
        }
        let a = self.account(&r.subject) as usize;
        let groups = self.groups.entry(name.to_string()).or_default();
        if groups.len() <= a {
            groups.resize(a + 1, 0);
        }
        // Holdouts are sticky; a held-out account stays held out.
        if groups[a] != HELD_OUT {
            groups[a] = group;
        }
    }

    /// Takes the accounts' current stages from a state snapshot, which is
    /// authoritative for "now": `(key, stage, entered its stage at, first
    /// seen)`, and the engine's clock.
    pub fn apply_state<'k>(
        &mut self,
        subjects: impl IntoIterator<Item = (&'k str, &'k str, Option<i64>, Option<i64>)>,
        clock: Option<i64>,
    ) {
        let mut check = StateCheck {
            subjects: 0,
            mismatches: 0,
            only_in_state: 0,
        };
        for (key, stage, entered_at, first_seen) in subjects {
            check.subjects += 1;
            let s = self.stage_id(stage);
            let known = self
                .index
                .find(self.hasher.hash_one(key), |&i| {
                    &*self.keys[i as usize] == key
                })
                .is_some();
            let a = self.account(key);
            let acc = &mut self.accounts[a as usize];
            if !known || acc.stage == NO_STAGE {
                check.only_in_state += 1;
                acc.first_stage = s;
                acc.first_seen = first_seen.unwrap_or(NEVER);
            } else if acc.stage != s {
                check.mismatches += 1;
            }
            acc.stage = s;
            acc.reached |= bit(s);
            acc.entered_at = entered_at.unwrap_or(NEVER);
        }
        self.state = Some(check);
        self.state_clock = clock;
    }

    /// The report.
    pub fn finish(mut self) -> Report {
        let at = self
            .options
            .at
            .or(self.state_clock.map(|c| c.max(self.newest)))
            .unwrap_or(if self.newest == NEVER { 0 } else { self.newest });
        let n_stages = self.stages.len();
        let terminal: Vec<bool> = self.stages.iter().map(|s| s.terminal).collect();
        let value = self
            .value_stage
            .as_ref()
            .and_then(|(name, _)| self.stages.iter().position(|s| &s.name == name))
            .map(|v| v as u16);

        // Per account: now, ever, stuck, time to value.
        let mut now = vec![0u64; n_stages];
        let mut ever = vec![0u64; n_stages];
        let mut stuck: Vec<(i64, u32)> = Vec::new();
        let mut stuck_by_stage = vec![0u64; n_stages];
        let mut ttv: Vec<i64> = Vec::new();
        let mut ttv_accounts = 0u64;
        let mut ttv_after = 0u64;
        let mut accounts = 0u64;
        for (i, acc) in self.accounts.iter().enumerate() {
            if acc.stage == NO_STAGE {
                continue;
            }
            accounts += 1;
            now[acc.stage as usize] += 1;
            for (s, e) in ever.iter_mut().enumerate() {
                if acc.reached & bit(s as u16) != 0 {
                    *e += 1;
                }
            }
            if !terminal[acc.stage as usize]
                && acc.entered_at != NEVER
                && at - acc.entered_at > self.options.stuck_after_millis
            {
                stuck.push((acc.entered_at, i as u32));
                stuck_by_stage[acc.stage as usize] += 1;
            }
            if let Some(v) = value {
                if acc.first_stage != NO_STAGE && acc.first_stage < v && acc.first_seen != NEVER {
                    ttv_accounts += 1;
                    if acc.value_at != NEVER {
                        ttv.push(acc.value_at - acc.first_seen);
                    }
                } else {
                    ttv_after += 1;
                }
            }
        }

        let stage_name = |s: usize| self.stages[s].name.clone();
        let stages: Vec<StageRow> = (0..n_stages)
            .map(|s| StageRow {
                stage: self.stages[s].clone(),
                accounts: now[s],
                share: ratio(now[s], accounts),
                reached: ever[s],
            })
            .collect();

        // Funnel between consecutive stages.
        let funnel_stages: Vec<usize> = match &self.options.funnel {
            Some(names) => names
                .iter()
                .filter_map(|n| self.stages.iter().position(|s| &s.name == n))
                .collect(),
            None => (0..n_stages).collect(),
        };
        let funnel: Vec<FunnelStep> = funnel_stages
            .windows(2)
            .map(|w| {
                let (a, b) = (bit(w[0] as u16), bit(w[1] as u16));
                let entered = self.accounts.iter().filter(|x| x.reached & a != 0).count() as u64;
                let converted = self
                    .accounts
                    .iter()
                    .filter(|x| x.reached & a != 0 && x.reached & b != 0)
                    .count() as u64;
                FunnelStep {
                    from: stage_name(w[0]),
                    to: stage_name(w[1]),
                    entered,
                    converted,
                    conversion: ratio(converted, entered),
                }
            })
            .collect();

        let over_time = self.over_time(at);

        let transitions: Vec<Flow> = self
            .flows
            .iter()
            .map(|((f, g), (auto, manual))| Flow {
                from: stage_name(*f as usize),
                to: stage_name(*g as usize),
                automatic: *auto,
                manual: *manual,
            })
            .collect();
        let automatic_transitions: u64 = self.flows.values().map(|f| f.0).sum();
        let manual_transitions: u64 = self.flows.values().map(|f| f.1).sum();

        let mut stays = std::mem::take(&mut self.stays);
        let time_in_stage = TimeInStage {
            buckets: HISTOGRAM_BOUNDS
                .iter()
                .map(|(_, l)| l.to_string())
                .chain(std::iter::once(HISTOGRAM_LAST.to_string()))
                .collect(),
            stages: stays
                .iter_mut()
                .enumerate()
                .map(|(s, v)| {
                    let mut histogram = vec![0u64; HISTOGRAM_BOUNDS.len() + 1];
                    for d in v.iter() {
                        histogram[histogram_bucket(*d)] += 1;
                    }
                    let median = percentile(v, 0.5);
                    let p90 = percentile(v, 0.9);
                    StageTime {
                        stage: stage_name(s),
                        completed: v.len() as u64,
                        current: now[s],
                        median_ms: median,
                        p90_ms: p90,
                        median: median.map(human_duration),
                        p90: p90.map(human_duration),
                        histogram,
                    }
                })
                .collect(),
        };

        let time_to_value = self.value_stage.as_ref().and_then(|(name, why)| {
            value?;
            let median = percentile(&mut ttv, 0.5);
            let p90 = percentile(&mut ttv, 0.9);
            Some(TimeToValue {
                stage: name.clone(),
                definition: why.clone(),
                accounts: ttv_accounts,
                reached: ttv.len() as u64,
                share: ratio(ttv.len() as u64, ttv_accounts),
                median_ms: median,
                p90_ms: p90,
                median: median.map(human_duration),
                p90: p90.map(human_duration),
                started_at_or_after: ttv_after,
            })
        });

        let total_stuck = stuck.len() as u64;
        let limit = self.options.stuck_limit.min(stuck.len());
        let by_key = |x: &(i64, u32), y: &(i64, u32)| {
            x.0.cmp(&y.0)
                .then_with(|| self.keys[x.1 as usize].cmp(&self.keys[y.1 as usize]))
        };
        if limit > 0 && limit < stuck.len() {
            stuck.select_nth_unstable_by(limit - 1, by_key);
            stuck.truncate(limit);
        }
        stuck.sort_unstable_by(by_key);
        stuck.truncate(limit);
        let stuck = Stuck {
            threshold: human_duration(self.options.stuck_after_millis),
            threshold_ms: self.options.stuck_after_millis,
            total: total_stuck,
            by_stage: (0..n_stages)
                .filter(|s| stuck_by_stage[*s] > 0)
                .map(|s| NameCount {
                    name: stage_name(s),
                    count: stuck_by_stage[s],
                })
                .collect(),
            oldest: stuck
                .iter()
                .map(|(since, a)| StuckAccount {
                    subject: self.keys[*a as usize].to_string(),
                    stage: stage_name(self.accounts[*a as usize].stage as usize),
                    since: time::format(*since),
                    days: (at - since).div_euclid(DAY),
                })
                .collect(),
        };

        // Audit.
        let mut flags = Vec::new();
        let concentration: Vec<Concentration> = (0..n_stages)
            .filter(|s| !terminal[*s] && ratio_raw(now[*s], accounts) > CONCENTRATION_FLAG)
            .map(|s| Concentration {
                stage: stage_name(s),
                accounts: now[s],
                share: ratio(now[s], accounts),
            })
            .collect();
        let errored: Vec<Errored> = self
            .errored
            .iter()
            .map(|((site, name, error), c)| Errored {
                site: site.clone(),
                name: name.clone(),
                error: error.clone(),
                count: c.count,
                accounts: c.accounts.len() as u64,
            })
            .collect();
        for e in &errored {
            flags.push(Flag {
                kind: "errored".into(),
                message: format!(
                    "{} `{}` errored {} time(s) for {} account(s): {}",
                    e.site, e.name, e.count, e.accounts, e.error
                ),
            });
        }
        if let Some(state) = &self.state {
            if state.mismatches > 0 {
                flags.push(Flag {
                    kind: "state_mismatch".into(),
                    message: format!(
                        "{} account(s) are in a different stage in the state snapshot than in the outcomes",
                        state.mismatches
                    ),
                });
            }
        }
        for c in &concentration {
            flags.push(Flag {
                kind: "concentration".into(),
                message: format!(
                    "{} of accounts ({} of {}) are in `{}` (flagged above {})",
                    percent(c.share),
                    c.accounts,
                    accounts,
                    c.stage,
                    percent(CONCENTRATION_FLAG)
                ),
            });
        }
        let manual_share = ratio(
            manual_transitions,
            manual_transitions + automatic_transitions,
        );
        if ratio_raw(
            manual_transitions,
            manual_transitions + automatic_transitions,
        ) > MANUAL_SHARE_FLAG
        {
            flags.push(Flag {
                kind: "manual_share".into(),
                message: format!(
                    "{} of stage changes were manual ({} of {}; flagged above {})",
                    percent(manual_share),
                    manual_transitions,
                    manual_transitions + automatic_transitions,
                    percent(MANUAL_SHARE_FLAG)
                ),
            });
        }
        if self.manual_rejected > 0 {
            flags.push(Flag {
                kind: "manual_rejected".into(),
                message: format!(
                    "{} manual transition request(s) were rejected",
                    self.manual_rejected
                ),
            });
        }
        let audit = Audit {
            flags,
            concentration,
            automatic_transitions,
            manual_transitions,
            manual_share,
            manual_rejected: self.manual_rejected,
            errored,
        };

        // Actions, in source order when the playbook is known.
        let mut actions: Vec<ActionRow> = self.actions.values().cloned().collect();
        if let Some(info) = &self.info {
            let position = |row: &ActionRow| {
                let list = if row.owner == "rule" {
                    &info.rules
                } else {
                    &info.escalations
                };
                (
                    row.owner != "rule",
                    list.iter()
                        .position(|n| *n == row.name)
                        .unwrap_or(usize::MAX),
                    row.name.clone(),
                )
            };
            actions.sort_by_key(position);
        }

        let holdouts = self.holdouts(&terminal, value);

        let go_live = GoLive {
            placed: self.placed.values().sum(),
            by_stage: self
                .placed
                .iter()
                .map(|(s, n)| NameCount {
                    name: stage_name(*s as usize),
                    count: *n,
                })
                .collect(),
        };

        Report {
            playbook: self.info.as_ref().map(|i| PlaybookRef {
                name: i.name.clone(),
                version: i.version.clone(),
            }),
            at: time::format(at),
            at_ms: at,
            input: self.input.clone(),
            accounts,
            stages,
            over_time,
            funnel,
            transitions,
            time_in_stage,
            time_to_value,
            stuck,
            audit,
            actions,
            holdouts,
            go_live,
            milestones_missed: self
                .milestones
                .iter()
                .map(|(name, count)| NameCount {
                    name: name.clone(),
                    count: *count,
                })
                .collect(),
            state: self.state.clone(),
        }
    }

    fn over_time(&self, at: i64) -> OverTime {
        let n = self.stages.len();
        let first = self.deltas.keys().next().copied();
        let Some(first) = first else {
            return OverTime {
                bucket: "day".into(),
                starts: Vec::new(),
                series: self
                    .stages
                    .iter()
                    .map(|s| Series {
                        stage: s.name.clone(),
                        counts: Vec::new(),
                    })
                    .collect(),
            };
        };
        let last = at
            .div_euclid(DAY)
            .max(self.deltas.keys().next_back().copied().unwrap_or(first));
        let weekly = match self.options.bucket {
            Bucket::Day => false,
            Bucket::Week => true,
            Bucket::Auto => last - first + 1 > 92,
        };
        // Days since the epoch: 1970-01-01 was a Thursday.
        let start_of = |day: i64| {
            if weekly {
                day - (day + 3).rem_euclid(7)
            } else {
                day
            }
        };
        let mut starts = Vec::new();
        let mut counts: Vec<Vec<u64>> = vec![Vec::new(); n];
        let mut current = vec![0i64; n];
        let mut deltas = self.deltas.range(first..).peekable();
        let mut bucket = start_of(first);
        loop {
            let end = if weekly { bucket + 6 } else { bucket };
            while let Some((day, change)) = deltas.peek() {
                if **day > end {
                    break;
                }
                for (c, d) in current.iter_mut().zip(change.iter()) {
                    *c += d;
                }
                deltas.next();
            }
            starts.push(time::format_date(bucket));
            for (s, series) in counts.iter_mut().enumerate() {
                series.push(current[s].max(0) as u64);
            }
            if end >= last {
                break;
            }
            bucket = end + 1;
        }
        OverTime {
            bucket: if weekly { "week" } else { "day" }.into(),
            starts,
            series: self
                .stages
                .iter()
                .zip(counts)
                .map(|(s, counts)| Series {
                    stage: s.name.clone(),
                    counts,
                })
                .collect(),
        }
    }

    fn holdouts(&self, terminal: &[bool], value: Option<u16>) -> Vec<HoldoutRow> {
        let mut rows = Vec::new();
        let order = |name: &str| {
            self.info
                .as_ref()
                .and_then(|i| i.rules.iter().position(|r| r == name))
                .unwrap_or(usize::MAX)
        };
        let mut rules: Vec<(&String, &Vec<u8>)> = self.groups.iter().collect();
        rules.sort_by_key(|(name, _)| (order(name), (*name).clone()));
        for (rule, groups) in rules {
            if !groups.contains(&HELD_OUT) {
                continue;
            }
            let group = |which: u8| {
                let mut by_stage = vec![0u64; self.stages.len()];
                let mut accounts = 0;
                let mut term = 0;
                let mut reached_value = 0;
                for (a, g) in groups.iter().enumerate() {
                    let acc = &self.accounts[a];
                    if *g != which || acc.stage == NO_STAGE {
                        continue;
                    }
                    accounts += 1;
                    by_stage[acc.stage as usize] += 1;
                    if terminal[acc.stage as usize] {
                        term += 1;
                    }
                    if value.is_some_and(|v| acc.reached & bit(v) != 0) {
                        reached_value += 1;
                    }
                }
                Group {
                    accounts,
                    by_stage: by_stage
                        .iter()
                        .enumerate()
                        .filter(|(_, n)| **n > 0)
                        .map(|(s, n)| NameCount {
                            name: self.stages[s].name.clone(),
                            count: *n,
                        })
                        .collect(),
                    terminal: term,
                    terminal_share: ratio(term, accounts),
                    reached_value,
                    reached_value_share: ratio(reached_value, accounts),
                }
            };
            let held_out = group(HELD_OUT);
            let treated = group(TREATED);
            let difference = round4(
                (ratio_raw(treated.terminal, treated.accounts)
                    - ratio_raw(held_out.terminal, held_out.accounts))
                    * 100.0,
            );
            rows.push(HoldoutRow {
                rule: rule.clone(),
                held_out,
                treated,
                terminal_difference_pp: difference,
            });
        }
        rows
    }
}

fn histogram_bucket(d: i64) -> usize {
    HISTOGRAM_BOUNDS
        .iter()
        .position(|(bound, _)| d < *bound)
        .unwrap_or(HISTOGRAM_BOUNDS.len())
}

/// Nearest-rank percentile: the smallest value with at least `p` of the
/// values at or below it (`p` = 0.5: the lower median).
pub fn percentile(values: &mut [i64], p: f64) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    let rank = ((p * values.len() as f64).ceil() as usize).clamp(1, values.len());
    let (_, v, _) = values.select_nth_unstable(rank - 1);
    Some(*v)
}

fn ratio_raw(n: u64, d: u64) -> f64 {
    if d == 0 {
        0.0
    } else {
        n as f64 / d as f64
    }
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// `n / d` rounded to four decimals (0 when `d` is 0).
pub fn ratio(n: u64, d: u64) -> f64 {
    round4(ratio_raw(n, d))
}

pub fn percent(share: f64) -> String {
    let p = share * 100.0;
    if (p - p.round()).abs() < 1e-9 {
        format!("{}%", p.round() as i64)
    } else {
        format!("{p:.1}%")
    }
}

/// A duration for people: `3d 4h`, `5h 12m`, `12m`, `45s`.
pub fn human_duration(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "" };
    let ms = ms.unsigned_abs();
    let (d, h, m, s) = (
        ms / 86_400_000,
        ms / 3_600_000 % 24,
        ms / 60_000 % 60,
        ms / 1_000 % 60,
    );
    let text = if d > 0 {
        if h > 0 {
            format!("{d}d {h}h")
        } else {
            format!("{d}d")
        }
    } else if h > 0 {
        if m > 0 {
            format!("{h}h {m}m")
        } else {
            format!("{h}h")
        }
    } else if m > 0 {
        format!("{m}m")
    } else {
        format!("{s}s")
    };
    format!("{sign}{text}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let mut v = vec![5, 1, 4, 2, 3];
        assert_eq!(percentile(&mut v, 0.5), Some(3));
        let mut v = vec![4, 1, 3, 2];
        assert_eq!(percentile(&mut v, 0.5), Some(2));
        assert_eq!(percentile(&mut v, 0.9), Some(4));
        assert_eq!(percentile(&mut [], 0.5), None);
    }

    #[test]
    fn durations_for_people() {
        assert_eq!(human_duration(0), "0s");
        assert_eq!(human_duration(90_000), "1m");
        assert_eq!(human_duration(3 * 86_400_000 + 4 * 3_600_000 + 5), "3d 4h");
        assert_eq!(human_duration(5 * 3_600_000 + 12 * 60_000), "5h 12m");
    }
}
