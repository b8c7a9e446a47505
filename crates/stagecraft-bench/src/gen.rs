//! The deterministic W1 stream generator.
//!
//! Every account draws from its own splitmix64 stream (seeded from `--seed`
//! and its index), so the output depends on the parameters only, never on
//! the machine: integer arithmetic throughout, no floating point. An account
//! gets one `group` call, then a `Login`, then a mix of single events and
//! scripted episodes that make every W1 rule fire: `Export Failed` bursts,
//! integrations that succeed (some exactly at 48h), stall, or restart at the
//! deadline, ticket and low-NPS troubles, NPS storms that hit the message cap
//! (some just before an integration deadline), login and report streaks,
//! and cancellations. All lines are then sorted by (time, account) and
//! written as NDJSON.

use std::io::Write;

use crate::w1::{self, DAY_MS, HOUR_MS, T0_MS};

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    pub seed: u64,
    pub accounts: u64,
    /// Lines, `group` calls included.
    pub events: u64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            seed: 1,
            accounts: 100_000,
            events: 5_000_000,
        }
    }
}

/// What was generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    pub lines: u64,
    pub accounts: u64,
    pub first_ms: i64,
    pub last_ms: i64,
}

/// splitmix64.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    /// True with probability `per_mille / 1000`.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    /// An index drawn with the given weights.
    pub fn pick(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|w| u64::from(*w)).sum();
        let mut x = self.below(total.max(1));
        for (i, w) in weights.iter().enumerate() {
            if x < u64::from(*w) {
                return i;
            }
            x -= u64::from(*w);
        }
        weights.len() - 1
    }
}

/// Event codes of a generated line.
mod code {
    pub const GROUP: u8 = 0;
    pub const LOGIN: u8 = 1;
    pub const FEATURE: u8 = 2;
    pub const REPORT: u8 = 3;
    pub const EXPORT_FAILED: u8 = 4;
    pub const INTEGRATION_STARTED: u8 = 5;
    pub const INTEGRATION_SUCCEEDED: u8 = 6;
    pub const TICKET: u8 = 7;
    pub const NPS: u8 = 8;
    pub const CANCELLED: u8 = 9;
}

const EVENT_NAMES: [&str; 10] = [
    "",
    "Login",
    "Feature Used",
    "Report Run",
    "Export Failed",
    "Integration Started",
    "Integration Succeeded",
    "Ticket Opened",
    "NPS Submitted",
    "Subscription Cancelled",
];
const PLANS: [&str; 3] = ["smb", "mid_market", "enterprise"];
const REASONS: [&str; 3] = ["timeout", "quota", "format"];
const PRIORITIES: [&str; 3] = ["low", "normal", "high"];

const ACCOUNT_BITS: u32 = 24;
const SPAN_MS: i64 = 90 * DAY_MS;
const MINUTE_MS: i64 = 60_000;

/// One line before sorting: `(time - T0) << 24 | account`, event, property.
#[derive(Debug, Clone, Copy)]
struct Rec {
    key: u64,
    event: u8,
    prop: u8,
}

fn account_seed(seed: u64, account: u64) -> u64 {
    let mut r = Rng::new(seed ^ account.wrapping_mul(0xd6e8_feb8_6659_fd93));
    r.next_u64()
}

/// The seats trait of an account (1..=500), derived so it need not be
/// stored.
fn seats(seed: u64, account: u64) -> u64 {
    Rng::new(account_seed(seed, account) ^ 0x5ea7).below(500) + 1
}

/// Kinds of account, with their single-event weights: login, feature,
/// report, export failed, integration started, integration succeeded,
/// ticket, NPS.
#[derive(Debug, Clone, Copy)]
struct Archetype {
    weights: [u32; 8],
    /// NPS score range.
    nps: (i64, i64),
    /// Per mille per step: login streak, report streak, export burst,
    /// integration attempt, trouble, storm, storm before a stall.
    episodes: [u64; 7],
}

const POWER: Archetype = Archetype {
    weights: [40, 25, 20, 4, 1, 1, 1, 4],
    nps: (6, 10),
    episodes: [60, 50, 15, 15, 5, 2, 1],
};
const NORMAL: Archetype = Archetype {
    weights: [30, 30, 10, 5, 1, 1, 5, 6],
    nps: (0, 10),
    episodes: [40, 20, 20, 20, 15, 5, 3],
};
const TROUBLED: Archetype = Archetype {
    weights: [18, 22, 5, 10, 1, 1, 12, 9],
    nps: (0, 6),
    episodes: [25, 10, 40, 25, 40, 15, 10],
};
const VOLATILE: Archetype = Archetype {
    weights: [25, 20, 8, 6, 1, 1, 8, 12],
    nps: (0, 10),
    episodes: [35, 15, 25, 30, 25, 60, 40],
};

/// Generates one account's lines.
struct AccountGen<'a> {
    rng: Rng,
    account: u64,
    archetype: Archetype,
    /// Track events still to create (pending ones already counted).
    remaining: u64,
    last: i64,
    end: i64,
    /// Events scheduled ahead, by time.
    pending: Vec<(i64, u8, u8)>,
    /// Index of the track event to be a cancellation, if any.
    cancel_at: Option<u64>,
    /// Index before which the first integration attempt starts.
    integrate_by: u64,
    integrating: bool,
    made: u64,
    out: &'a mut Vec<Rec>,
}

impl AccountGen<'_> {
    fn push(&mut self, t: i64, event: u8, prop: u8) {
        debug_assert!(t > self.last && t <= self.end);
        self.last = t;
        self.made += 1;
        self.out.push(Rec {
            key: (((t - T0_MS) as u64) << ACCOUNT_BITS) | self.account,
            event,
            prop,
        });
    }

    /// Emits an event at `t` (or just after the last one), after every
    /// pending event due by then.
    fn emit(&mut self, t: i64, event: u8, prop: u8) {
        let mut t = t.max(self.last + 1);
        while let Some(&(pt, pe, pp)) = self.pending.first() {
            if pt > t {
                break;
            }
            self.pending.remove(0);
            self.push(pt, pe, pp);
            if pt == t {
                t += 1;
            }
        }
        // Leave a second for every event still to come.
        let t = t
            .min(self.end - self.remaining as i64 * 1_000)
            .max(self.last + 1);
        self.remaining -= 1;
        self.push(t, event, prop);
    }

    /// Schedules an event at exactly `t` (a later free millisecond if taken);
    /// false when it would fall after the end or no events are left.
    fn schedule(&mut self, t: i64, event: u8, prop: u8) -> bool {
        if self.remaining == 0 || t > self.end || t <= self.last {
            return false;
        }
        let mut t = t;
        while self.pending.iter().any(|p| p.0 == t) {
            t += 1;
        }
        let at = self.pending.partition_point(|p| p.0 < t);
        self.pending.insert(at, (t, event, prop));
        self.remaining -= 1;
        true
    }

    /// The next time after a gap: uniform with a mean of half the time left
    /// per remaining event, so an account never runs out of time.
    fn next_time(&mut self) -> i64 {
        let left = (self.end - self.last).max(1);
        let per = left / (self.remaining as i64 + 2);
        self.last + 1 + self.rng.range(0, per.max(1))
    }

    fn after(&mut self, lo: i64, hi: i64) -> i64 {
        self.last + self.rng.range(lo, hi)
    }

    fn prop_for(&mut self, event: u8) -> u8 {
        match event {
            code::FEATURE => self.rng.below(8) as u8,
            code::EXPORT_FAILED | code::TICKET => self.rng.below(3) as u8,
            code::NPS => {
                let (lo, hi) = self.archetype.nps;
                self.rng.range(lo, hi) as u8
            }
            _ => 0,
        }
    }

    fn single(&mut self) {
        let event = [
            code::LOGIN,
            code::FEATURE,
            code::REPORT,
            code::EXPORT_FAILED,
            code::INTEGRATION_STARTED,
            code::INTEGRATION_SUCCEEDED,
            code::TICKET,
            code::NPS,
        ][self.rng.pick(&self.archetype.weights)];
        let prop = self.prop_for(event);
        let t = self.next_time();
        self.emit(t, event, prop);
    }

    /// `k` events of one type with gaps in `gap`.
    fn streak(&mut self, event: u8, k: u64, gap: (i64, i64)) {
        let t = self.next_time();
        let prop = self.prop_for(event);
        self.emit(t, event, prop);
        for _ in 1..k.min(self.remaining + 1) {
            if self.remaining == 0 {
                break;
            }
            let t = self.after(gap.0, gap.1);
            let prop = self.prop_for(event);
            self.emit(t, event, prop);
        }
    }

    /// Failed exports: a quick burst, or a long one whose last export comes
    /// exactly an hour after the third (triage allowed again at s + 1h).
    fn export_burst(&mut self) {
        if self.remaining < 3 {
            return self.single();
        }
        if self.remaining >= 6 && self.rng.chance(250) {
            let s = self.next_time();
            self.emit(s - 2 * MINUTE_MS, code::EXPORT_FAILED, 0);
            self.emit(s - MINUTE_MS, code::EXPORT_FAILED, 1);
            let s = self.last + MINUTE_MS;
            self.emit(s, code::EXPORT_FAILED, 2);
            let (a, b) = (self.rng.range(1, 20), self.rng.range(21, 59));
            self.emit(s + a * MINUTE_MS, code::EXPORT_FAILED, 0);
            self.emit(s + b * MINUTE_MS, code::EXPORT_FAILED, 1);
            self.emit(s + HOUR_MS, code::EXPORT_FAILED, 2);
            return;
        }
        let k = self.rng.range(3, 6) as u64;
        self.streak(code::EXPORT_FAILED, k, (MINUTE_MS, 25 * MINUTE_MS));
    }

    /// An integration attempt and how it ends.
    fn integration(&mut self) {
        let s = self.next_time();
        if self.remaining < 3 || self.end - s < 4 * DAY_MS {
            return self.single();
        }
        self.integrating = true;
        self.emit(s, code::INTEGRATION_STARTED, 0);
        let s = self.last;
        let due = s + 48 * HOUR_MS;
        match self.rng.pick(&[40, 10, 6, 5, 14, 25]) {
            // On time.
            0 => {
                let at = s + self.rng.range(10 * MINUTE_MS, 47 * HOUR_MS);
                self.schedule(at, code::INTEGRATION_SUCCEEDED, 0);
            }
            // Exactly at the deadline: on time.
            1 => {
                self.schedule(due, code::INTEGRATION_SUCCEEDED, 0);
            }
            // Started again exactly at the deadline: re-armed, the first
            // timer never fires; the second attempt sometimes succeeds.
            2 => {
                let restarted = self.schedule(due, code::INTEGRATION_STARTED, 0);
                if restarted && self.rng.chance(500) {
                    let at = due + self.rng.range(HOUR_MS, 40 * HOUR_MS);
                    self.schedule(at, code::INTEGRATION_SUCCEEDED, 0);
                }
            }
            // One millisecond late: the timer fired first.
            3 => {
                self.schedule(due + 1, code::INTEGRATION_SUCCEEDED, 0);
            }
            // Stalled, succeeds days later.
            4 => {
                let at = due + self.rng.range(HOUR_MS, 5 * DAY_MS);
                self.schedule(at, code::INTEGRATION_SUCCEEDED, 0);
            }
            // Stalled for good.
            _ => {}
        }
    }

    /// Tickets and a low NPS: health drops.
    fn trouble(&mut self) {
        let k = self.rng.range(2, 3) as u64;
        self.streak(code::TICKET, k, (HOUR_MS, 12 * HOUR_MS));
        if self.remaining > 0 {
            let t = self.after(HOUR_MS, 6 * HOUR_MS);
            let score = self.rng.range(0, 4) as u8;
            self.emit(t, code::NPS, score);
        }
    }

    /// A few logins and tickets, then NPS swinging between 10 and 0 within
    /// hours: health crosses 40 again and again and the cap suppresses.
    fn storm(&mut self, start: Option<i64>) {
        if self.remaining < 8 {
            return self.single();
        }
        let t = start.unwrap_or_else(|| self.next_time());
        let logins = self.rng.range(1, 3);
        for i in 0..logins {
            self.emit(t + i * 10 * MINUTE_MS, code::LOGIN, 0);
        }
        let tickets = self.rng.range(1, 2);
        for _ in 0..tickets {
            let t = self.after(5 * MINUTE_MS, 30 * MINUTE_MS);
            let prop = self.prop_for(code::TICKET);
            self.emit(t, code::TICKET, prop);
        }
        let swings = self.rng.range(6, 9).min(self.remaining as i64);
        for i in 0..swings {
            let t = self.after(5 * MINUTE_MS, 60 * MINUTE_MS);
            let score = if i % 2 == 0 {
                10
            } else {
                self.rng.range(0, 1) as u8
            };
            self.emit(t, code::NPS, score);
        }
    }

    /// An integration that stalls, with a storm in the day before its
    /// deadline: the stall is suppressed by the cap.
    fn stall_storm(&mut self) {
        let s = self.next_time();
        if self.remaining < 12 || self.end - s < 4 * DAY_MS {
            return self.single();
        }
        self.integrating = true;
        self.emit(s, code::INTEGRATION_STARTED, 0);
        let s = self.last;
        let storm_at = s + 48 * HOUR_MS - self.rng.range(14, 20) * HOUR_MS;
        self.storm(Some(storm_at));
    }

    fn run(&mut self, start: i64) {
        self.emit(start, code::LOGIN, 0);
        while self.remaining > 0 {
            if self.cancel_at == Some(self.made) {
                let t = self.next_time();
                self.emit(t, code::CANCELLED, 0);
                continue;
            }
            if !self.integrating && self.made >= self.integrate_by {
                self.integration();
                continue;
            }
            let e = self.archetype.episodes;
            let roll = self.rng.below(1000);
            let mut acc = 0;
            let mut which = usize::MAX;
            for (i, p) in e.iter().enumerate() {
                acc += p;
                if roll < acc {
                    which = i;
                    break;
                }
            }
            match which {
                0 => {
                    let k = self.rng.range(3, 6) as u64;
                    self.streak(code::LOGIN, k, (2 * HOUR_MS, 20 * HOUR_MS));
                }
                1 => {
                    let k = self.rng.range(3, 6) as u64;
                    self.streak(code::REPORT, k, (HOUR_MS, 2 * DAY_MS));
                }
                2 => self.export_burst(),
                3 => self.integration(),
                4 => self.trouble(),
                5 => self.storm(None),
                6 => self.stall_storm(),
                _ => self.single(),
            }
        }
        while !self.pending.is_empty() {
            let (t, e, p) = self.pending.remove(0);
            self.push(t, e, p);
        }
    }
}

/// Track events per account: weights in 1..=4, scaled to the total.
fn budgets(rng: &mut Rng, accounts: u64, track: u64) -> Vec<u64> {
    let weights: Vec<u64> = (0..accounts).map(|_| 2 + rng.below(7)).collect();
    let total_w: u64 = weights.iter().sum();
    let spare = track - accounts; // every account gets at least one
    let mut budgets: Vec<u64> = weights
        .iter()
        .map(|w| 1 + (u128::from(spare) * u128::from(*w) / u128::from(total_w)) as u64)
        .collect();
    let mut left = track - budgets.iter().sum::<u64>();
    let mut i = 0;
    while left > 0 {
        budgets[i % accounts as usize] += 1;
        left -= 1;
        i += 1;
    }
    budgets
}

/// Generates the stream and writes it as NDJSON.
pub fn generate<W: Write>(params: &Params, out: W) -> Result<Stats, String> {
    let Params {
        seed,
        accounts,
        events,
    } = *params;
    if accounts == 0 || accounts >= (1 << ACCOUNT_BITS) {
        return Err(format!("--accounts must be in 1..{}", 1u64 << ACCOUNT_BITS));
    }
    if events < 2 * accounts {
        return Err(format!(
            "--events ({events}) must be at least twice --accounts ({accounts}): a group call and a login each"
        ));
    }
    let mut rng = Rng::new(seed);
    let budgets = budgets(&mut rng, accounts, events - accounts);
    let mut recs: Vec<Rec> = Vec::with_capacity(events as usize);
    for (a, &budget) in budgets.iter().enumerate() {
        let a = a as u64;
        let mut r = Rng::new(account_seed(seed, a));
        let kind = r.pick(&[25, 45, 20, 10]);
        let archetype = [POWER, NORMAL, TROUBLED, VOLATILE][kind];
        let start = T0_MS + MINUTE_MS + r.range(0, 55 * DAY_MS);
        let end = T0_MS + SPAN_MS - 1;
        let group_at = start - r.range(1, MINUTE_MS);
        let plan = r.below(3) as u8;
        let cancel_at = if r.chance(200) && budget > 1 {
            // Some early, before the account is integrated.
            Some(if r.chance(300) {
                1 + r.below(budget.min(4))
            } else if kind == 0 {
                // Power users cancel late, often from `healthy`.
                budget / 2 + r.below(budget - budget / 2)
            } else {
                1 + r.below(budget)
            })
        } else {
            None
        };
        let integrate_by = if r.chance(850) { r.below(8) } else { u64::MAX };
        recs.push(Rec {
            key: (((group_at - T0_MS) as u64) << ACCOUNT_BITS) | a,
            event: code::GROUP,
            prop: plan,
        });
        let mut g = AccountGen {
            rng: r,
            account: a,
            archetype,
            remaining: budget,
            last: group_at,
            end,
            pending: Vec::new(),
            cancel_at,
            integrate_by,
            integrating: false,
            made: 0,
            out: &mut recs,
        };
        g.run(start);
    }
    recs.sort_unstable_by_key(|r| r.key);
    if let Some(last) = recs.last() {
        if (last.key >> ACCOUNT_BITS) as i64 >= SPAN_MS {
            return Err("internal error: an event falls after the 90 days".into());
        }
    }
    write(params, &recs, out)
}

fn write<W: Write>(params: &Params, recs: &[Rec], out: W) -> Result<Stats, String> {
    let mut out = std::io::BufWriter::with_capacity(1 << 20, out);
    let mut line: Vec<u8> = Vec::with_capacity(256);
    let mut num = [0u8; 24];
    let mut ts = [0u8; 24];
    let mut stats = Stats {
        accounts: params.accounts,
        ..Stats::default()
    };
    let mask = (1u64 << ACCOUNT_BITS) - 1;
    for (i, rec) in recs.iter().enumerate() {
        let account = rec.key & mask;
        let t = T0_MS + (rec.key >> ACCOUNT_BITS) as i64;
        if i == 0 {
            stats.first_ms = t;
        }
        stats.last_ms = t;
        w1::format_timestamp(t, &mut ts);
        line.clear();
        let mut int = |line: &mut Vec<u8>, v: u64| {
            let n = w1::format_int(v as i64, &mut num);
            line.extend_from_slice(&num[..n]);
        };
        if rec.event == code::GROUP {
            line.extend_from_slice(b"{\"type\":\"group\",\"messageId\":\"g");
            int(&mut line, account);
            line.extend_from_slice(b"\",\"groupId\":\"a");
            int(&mut line, account);
            line.extend_from_slice(b"\",\"traits\":{\"plan\":\"");
            line.extend_from_slice(PLANS[rec.prop as usize].as_bytes());
            line.extend_from_slice(b"\",\"seats\":");
            int(&mut line, seats(params.seed, account));
            line.extend_from_slice(b"},\"timestamp\":\"");
        } else {
            line.extend_from_slice(b"{\"type\":\"track\",\"messageId\":\"m");
            int(&mut line, i as u64);
            line.extend_from_slice(b"\",\"userId\":\"u");
            int(&mut line, account);
            line.push(b'-');
            int(&mut line, u64::from(rec.prop % 3));
            line.extend_from_slice(b"\",\"groupId\":\"a");
            int(&mut line, account);
            line.extend_from_slice(b"\",\"event\":\"");
            line.extend_from_slice(EVENT_NAMES[rec.event as usize].as_bytes());
            line.extend_from_slice(b"\",\"properties\":{");
            match rec.event {
                code::FEATURE => {
                    line.extend_from_slice(b"\"feature\":\"f");
                    int(&mut line, u64::from(rec.prop) + 1);
                    line.push(b'"');
                }
                code::EXPORT_FAILED => {
                    line.extend_from_slice(b"\"reason\":\"");
                    line.extend_from_slice(REASONS[rec.prop as usize % 3].as_bytes());
                    line.push(b'"');
                }
                code::TICKET => {
                    line.extend_from_slice(b"\"priority\":\"");
                    line.extend_from_slice(PRIORITIES[rec.prop as usize % 3].as_bytes());
                    line.push(b'"');
                }
                code::NPS => {
                    line.extend_from_slice(b"\"score\":");
                    int(&mut line, u64::from(rec.prop));
                }
                _ => {}
            }
            line.extend_from_slice(b"},\"timestamp\":\"");
        }
        line.extend_from_slice(&ts);
        line.extend_from_slice(b"\"}\n");
        out.write_all(&line).map_err(|e| e.to_string())?;
        stats.lines += 1;
    }
    out.flush().map_err(|e| e.to_string())?;
    Ok(stats)
}
