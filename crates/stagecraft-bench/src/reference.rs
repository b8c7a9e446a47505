//! The hand-written W1 implementation, exactly per WORKLOAD.md (semantics
//! v2), written for speed: borrowed deserialisation, one struct per account
//! with small queues of timestamps, and a heap of timers invalidated lazily.

use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::io::Read;
use std::path::Path;

use hashbrown::HashMap;
use serde::Deserialize;

use crate::w1::{
    self, stage_kind, Counts, KindTable, ADOPTING, AT_RISK, CHURNED, DAY_MS, HEALTHY, HOUR_MS,
    ONBOARDING, SAVE_PLAY, STALLED, SUPPRESSED_SAVE_PLAY, SUPPRESSED_STALLED, TRIAGE,
};

const NONE: i64 = i64::MIN;
const WINDOW_LOGINS: i64 = 7 * DAY_MS;
const WINDOW_30D: i64 = 30 * DAY_MS;
const WINDOW_EXPORTS: i64 = HOUR_MS;
const INTEGRATION_DUE: i64 = 48 * HOUR_MS;
const TRIAGE_BLOCK: i64 = HOUR_MS;
const CAP: usize = 3;
const CAP_WINDOW: i64 = DAY_MS;

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(rename = "groupId", borrow)]
    group_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    event: Option<Cow<'a, str>>,
    properties: Option<Properties>,
    traits: Option<Traits<'a>>,
    #[serde(borrow)]
    timestamp: Cow<'a, str>,
}

#[derive(Deserialize)]
struct Properties {
    score: Option<i64>,
}

#[derive(Deserialize)]
struct Traits<'a> {
    #[serde(borrow)]
    plan: Option<Cow<'a, str>>,
    seats: Option<i64>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Event {
    Login,
    ReportRun,
    ExportFailed,
    IntegrationStarted,
    IntegrationSucceeded,
    TicketOpened,
    NpsSubmitted,
    SubscriptionCancelled,
    /// `Feature Used`, and events outside the list (clarification 11): no
    /// window changes, but health is recomputed and the rules run.
    Other,
}

fn event_of(name: &str) -> Event {
    match name {
        "Login" => Event::Login,
        "Report Run" => Event::ReportRun,
        "Export Failed" => Event::ExportFailed,
        "Integration Started" => Event::IntegrationStarted,
        "Integration Succeeded" => Event::IntegrationSucceeded,
        "Ticket Opened" => Event::TicketOpened,
        "NPS Submitted" => Event::NpsSubmitted,
        "Subscription Cancelled" => Event::SubscriptionCancelled,
        _ => Event::Other,
    }
}

/// Keeps the times in (t - window, t].
#[inline]
fn evict(times: &mut VecDeque<i64>, t: i64, window: i64) {
    let cutoff = t - window;
    while times.front().is_some_and(|&s| s <= cutoff) {
        times.pop_front();
    }
}

struct Account {
    logins: VecDeque<i64>,
    reports: VecDeque<i64>,
    tickets: VecDeque<i64>,
    exports: VecDeque<i64>,
    /// Times of the last `CAP` sent messages, oldest first (message times of
    /// an account never decrease).
    sent: [i64; CAP],
    last_triage: i64,
    /// Deadline of the armed integration timer, `NONE` when disarmed.
    timer: i64,
    health: i32,
    last_nps: i32,
    integrated: bool,
    entered: bool,
    stage: u8,
    /// Traits (set by `group`, read by no rule).
    plan: u8,
    seats: u32,
}

impl Account {
    fn new() -> Account {
        Account {
            logins: VecDeque::new(),
            reports: VecDeque::new(),
            tickets: VecDeque::new(),
            exports: VecDeque::new(),
            sent: [NONE; CAP],
            last_triage: NONE,
            timer: NONE,
            health: 50,
            last_nps: 5,
            integrated: false,
            entered: false,
            stage: ONBOARDING,
            plan: 0,
            seats: 1,
        }
    }

    /// R5: whether a message at `t` may be sent; records it when it is.
    #[inline]
    fn send(&mut self, t: i64) -> bool {
        // Suppressed when CAP messages were sent in (t - 24h, t]: the
        // oldest of the last CAP is inside the window.
        if self.sent[0] != NONE && self.sent[0] > t - CAP_WINDOW {
            return false;
        }
        self.sent.copy_within(1.., 0);
        self.sent[CAP - 1] = t;
        true
    }
}

/// The reference's state over one stream.
pub struct Reference {
    accounts: Vec<Account>,
    keys: Vec<Box<str>>,
    index: HashMap<Box<str>, u32>,
    /// (deadline, account): invalidated lazily against `Account::timer`.
    timers: BinaryHeap<Reverse<(i64, u32)>>,
    last_time: i64,
    lines: u64,
    table: KindTable,
    counts: Counts,
}

impl Default for Reference {
    fn default() -> Self {
        Reference::new()
    }
}

impl std::fmt::Debug for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reference")
            .field("accounts", &self.accounts.len())
            .field("lines", &self.lines)
            .finish()
    }
}

impl Reference {
    pub fn new() -> Reference {
        Reference {
            accounts: Vec::new(),
            keys: Vec::new(),
            index: HashMap::new(),
            timers: BinaryHeap::new(),
            last_time: NONE,
            lines: 0,
            table: KindTable::default(),
            counts: Counts::default(),
        }
    }

    fn account(&mut self, key: &str) -> u32 {
        if let Some(&i) = self.index.get(key) {
            return i;
        }
        let i = self.accounts.len() as u32;
        self.accounts.push(Account::new());
        self.keys.push(key.into());
        self.index.insert(key.into(), i);
        i
    }

    #[inline]
    fn emit(&mut self, a: u32, kind: usize, t: i64) {
        self.counts
            .add(&self.table, kind, &self.keys[a as usize], t);
    }

    /// Fires the timers with deadline < `t` (or <= `t` when `inclusive`).
    fn fire_timers(&mut self, t: i64, inclusive: bool) {
        while let Some(&Reverse((deadline, a))) = self.timers.peek() {
            if deadline > t || (deadline == t && !inclusive) {
                break;
            }
            self.timers.pop();
            let account = &mut self.accounts[a as usize];
            if account.timer != deadline {
                continue; // re-armed or disarmed since
            }
            account.timer = NONE;
            // R2 fires at its deadline, through R5 (clarification 6).
            let kind = if account.send(deadline) {
                STALLED
            } else {
                SUPPRESSED_STALLED
            };
            self.emit(a, kind, deadline);
        }
    }

    /// Processes one NDJSON line.
    pub fn push_line(&mut self, line: &str) -> Result<(), String> {
        self.lines += 1;
        if line.trim().is_empty() {
            return Ok(());
        }
        let n = self.lines;
        let call: Line =
            serde_json::from_str(line).map_err(|e| format!("line {n}: not a W1 call: {e}"))?;
        let t = w1::parse_timestamp(&call.timestamp)
            .ok_or_else(|| format!("line {n}: bad timestamp `{}`", call.timestamp))?;
        if t < self.last_time {
            return Err(format!("line {n}: timestamp goes back in time"));
        }
        self.last_time = t;
        self.fire_timers(t, false);
        let key = call
            .group_id
            .ok_or_else(|| format!("line {n}: no groupId"))?;
        let a = self.account(&key);
        match call.kind.as_ref() {
            "group" => {
                // Traits only (clarification 3).
                let account = &mut self.accounts[a as usize];
                if let Some(traits) = call.traits {
                    if let Some(plan) = traits.plan {
                        account.plan = match plan.as_ref() {
                            "mid_market" => 1,
                            "enterprise" => 2,
                            _ => 0,
                        };
                    }
                    if let Some(seats) = traits.seats {
                        account.seats = seats.clamp(0, i64::from(u32::MAX)) as u32;
                    }
                }
                Ok(())
            }
            "track" => {
                let event = event_of(call.event.as_deref().unwrap_or(""));
                let score = call.properties.and_then(|p| p.score);
                self.track(a, event, score, t);
                Ok(())
            }
            other => Err(format!("line {n}: unexpected call type `{other}`")),
        }
    }

    fn track(&mut self, a: u32, event: Event, score: Option<i64>, t: i64) {
        // At most: triage, save_play and four transitions.
        let mut emits = [0usize; 8];
        let mut n_emits = 0;
        let mut push = |kind: usize| {
            emits[n_emits] = kind;
            n_emits += 1;
        };
        let account = &mut self.accounts[a as usize];
        if !account.entered {
            account.entered = true;
            account.stage = ONBOARDING;
        }
        match event {
            Event::Login => account.logins.push_back(t),
            Event::ReportRun => account.reports.push_back(t),
            Event::TicketOpened => account.tickets.push_back(t),
            Event::ExportFailed => account.exports.push_back(t),
            Event::NpsSubmitted => {
                if let Some(s) = score {
                    account.last_nps = s as i32;
                }
            }
            Event::IntegrationSucceeded => account.integrated = true,
            _ => {}
        }
        evict(&mut account.logins, t, WINDOW_LOGINS);
        evict(&mut account.reports, t, WINDOW_30D);
        evict(&mut account.tickets, t, WINDOW_30D);
        evict(&mut account.exports, t, WINDOW_EXPORTS);
        let logins_7d = account.logins.len() as i32;
        let reports_30d = account.reports.len();
        let tickets_30d = account.tickets.len() as i32;
        let health = (50 + 5 * logins_7d.min(6) - 10 * tickets_30d.min(3)
            + 2 * (account.last_nps - 5))
            .clamp(0, 100);

        // R1.
        if event == Event::ExportFailed
            && account.exports.len() >= 3
            && (account.last_triage == NONE || t >= account.last_triage + TRIAGE_BLOCK)
        {
            account.last_triage = t;
            push(TRIAGE);
        }
        // R2: timers with deadline < t have fired, so an armed one is on time.
        match event {
            Event::IntegrationStarted => {
                account.timer = t + INTEGRATION_DUE;
                self.timers.push(Reverse((account.timer, a)));
            }
            Event::IntegrationSucceeded => account.timer = NONE,
            _ => {}
        }
        // R3, before R4.
        if account.health >= 40 && health < 40 {
            push(if account.send(t) {
                SAVE_PLAY
            } else {
                SUPPRESSED_SAVE_PLAY
            });
        }
        account.health = health;
        // R4: cascade with the same derived state; each stage entered at
        // most once per event.
        let cancelled = event == Event::SubscriptionCancelled;
        let mut entered: u8 = 0;
        loop {
            let from = account.stage;
            let to = match from {
                CHURNED => break,
                _ if cancelled => CHURNED,
                ONBOARDING if account.integrated && logins_7d >= 3 => ADOPTING,
                ADOPTING if reports_30d >= 5 && health >= 70 => HEALTHY,
                ADOPTING | HEALTHY if health < 40 => AT_RISK,
                AT_RISK if health >= 60 => ADOPTING,
                _ => break,
            };
            if entered & (1 << to) != 0 {
                break;
            }
            entered |= 1 << to;
            account.stage = to;
            push(stage_kind(from, to));
        }
        for &kind in &emits[..n_emits] {
            self.emit(a, kind, t);
        }
    }

    /// End of stream: timers with deadline <= the last line's time fire.
    pub fn finish(mut self) -> Counts {
        if self.last_time != NONE {
            self.fire_timers(self.last_time, true);
        }
        let mut counts = self.counts;
        counts.lines = self.lines;
        counts.accounts = self.accounts.len() as u64;
        counts
    }

    /// Traits of an account, for tests: (plan, seats).
    pub fn traits(&self, key: &str) -> Option<(u8, u32)> {
        let a = self.index.get(key)?;
        let account = &self.accounts[*a as usize];
        Some((account.plan, account.seats))
    }
}

/// For profiling: only the reference's JSON parse and timestamp over every
/// line.
pub fn parse_only<R: Read>(input: R) -> Result<u64, String> {
    let mut sum = 0u64;
    w1::for_each_line(input, |line| {
        let call: Line = serde_json::from_str(line).map_err(|e| e.to_string())?;
        let t = w1::parse_timestamp(&call.timestamp).ok_or("bad timestamp")?;
        sum = sum.wrapping_add(t as u64);
        Ok(())
    })?;
    Ok(sum)
}

pub fn run<R: Read>(input: R) -> Result<Counts, String> {
    let mut reference = Reference::new();
    w1::for_each_line(input, |line| reference.push_line(line))?;
    Ok(reference.finish())
}

pub fn run_file(path: &Path) -> Result<Counts, String> {
    run(w1::open(path)?)
}
