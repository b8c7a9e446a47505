//! Per-subject state, stored compactly: every fixed-size part (the frame
//! expressions read, its presence bytes, metric counters, rule history,
//! armed timers) first in one array of words, then every variable-size part
//! (window entries, distinct values, sent messages) as segments after it. A
//! subject is its inline key and that one allocation, so an event touches
//! few cache lines. [`StateLayout`] says where each part lives; it is
//! computed once per program.

use std::hash::BuildHasher;

use compact_str::CompactString;
use hashbrown::DefaultHashBuilder;
use serde::{Deserialize, Serialize};
use stagecraft_ir::{
    milestone_state, CapTarget, Frame, MetricKind, Program, Trigger, Type, Window,
};

use crate::compiled::TimerKey;
use crate::prefetch;

pub const NEVER: i64 = i64::MIN;

/// Where a metric keeps what it remembers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricStore {
    /// A count since first seen or since stage entry: one word.
    Counter {
        word: u32,
    },
    /// Event times within a window: a segment of times.
    Times {
        segment: u32,
        window: i64,
    },
    /// Event times and values within a window: a segment of pairs.
    Values {
        segment: u32,
        window: i64,
    },
    /// Running aggregates since first seen or stage entry: count, sum, min,
    /// max and an overflow flag, five words.
    Running {
        word: u32,
    },
    /// Distinct values since first seen or stage entry: a sorted segment.
    Distinct {
        segment: u32,
    },
    /// Latest or first value: a presence word and the value.
    Value {
        word: u32,
    },
    Ever {
        word: u32,
    },
}

/// What a metric needs at every refresh, looked up once.
#[derive(Debug, Clone, Copy)]
pub struct MetricPlan {
    pub store: MetricStore,
    pub kind: MetricKind,
    pub ty: Type,
    /// The type of the aggregated property.
    pub prop_ty: Option<Type>,
    pub default: Option<i64>,
    pub in_stage: bool,
}

/// Where each part of a subject's state lives.
#[derive(Debug, Clone)]
pub struct StateLayout {
    frame_len: usize,
    pub metrics: Vec<MetricPlan>,
    /// Every metric, by bit, when there are at most [`TRACKED_METRICS`].
    all_metrics: u64,
    /// The metrics over a window of time, by bit, likewise.
    windowed: u64,
    /// Per rule that has `once`, a cooldown or a holdout: the first of two
    /// words (first and last firing). Other rules keep no history.
    rule_words: Vec<Option<u32>>,
    /// Two words per escalation (first and last firing).
    escalations_base: usize,
    /// Three words per escalation's ladder: started (`NEVER` when idle),
    /// next step, idempotency key.
    ladders_base: usize,
    /// Per timer key: the word holding its armed deadline, for the keys a
    /// program can arm.
    timer_words: Vec<Option<u32>>,
    /// First of one word per segment: where its entries end.
    segment_ends_base: usize,
    /// Words per entry, per segment.
    segment_widths: Vec<u8>,
    pub messages: Option<u32>,
    pub touches: Option<u32>,
    words: usize,
}

const WORD_BYTES: usize = 8;

/// Cache lines of a subject's words loaded ahead of its input: the frame,
/// its presence bytes, the fixed words and the first window entries.
const PREFETCH_LINES: usize = 12;

impl StateLayout {
    pub fn new(program: &Program) -> StateLayout {
        let frame_len = program.layout.len as usize;
        // The frame's values, then its presence bytes, eight to a word.
        let mut next = frame_len + frame_len.div_ceil(WORD_BYTES);
        let mut take = |n: usize| {
            let at = next;
            next += n;
            at as u32
        };
        let mut segment_widths = Vec::new();
        let mut segment = |width: u8| {
            segment_widths.push(width);
            (segment_widths.len() - 1) as u32
        };
        let metrics = program
            .metrics
            .iter()
            .map(|def| {
                let store = match (def.kind, def.window) {
                    (MetricKind::Ever, _) => MetricStore::Ever { word: take(1) },
                    (MetricKind::Latest | MetricKind::First, _) => {
                        MetricStore::Value { word: take(2) }
                    }
                    (MetricKind::Count | MetricKind::Sent(_), Window::Over(window)) => {
                        MetricStore::Times {
                            segment: segment(1),
                            window,
                        }
                    }
                    (MetricKind::Count | MetricKind::Sent(_), _) => {
                        MetricStore::Counter { word: take(1) }
                    }
                    (_, Window::Over(window)) => MetricStore::Values {
                        segment: segment(2),
                        window,
                    },
                    (MetricKind::Distinct, _) => MetricStore::Distinct {
                        segment: segment(1),
                    },
                    _ => MetricStore::Running { word: take(5) },
                };
                MetricPlan {
                    store,
                    kind: def.kind,
                    ty: def.ty,
                    prop_ty: def
                        .event
                        .zip(def.prop)
                        .map(|(e, p)| program.events[e as usize].props[p as usize].ty),
                    default: def.default,
                    in_stage: def.window == Window::InStage,
                }
            })
            .collect();
        // Sent messages and touches are kept only for the caps that count them.
        let caps =
            |wanted: fn(CapTarget) -> bool| program.policy.caps.iter().any(|c| wanted(c.target));
        let messages =
            caps(|t| matches!(t, CapTarget::Messages | CapTarget::Channel(_))).then(|| segment(2));
        let touches = caps(|t| t == CapTarget::Touches).then(|| segment(1));
        let rule_words = program
            .rules
            .iter()
            .map(|r| {
                (r.once || r.cooldown_millis.is_some() || r.holdout_basis_points > 0)
                    .then(|| take(2))
            })
            .collect();
        let escalations_base = take(2 * program.escalations.len()) as usize;
        let ladders_base = take(3 * program.escalations.len()) as usize;
        let keys = TimerKey::Delivery.encode(program) as usize + 1;
        let mut timer_words = vec![None; keys];
        for key in 0..keys as i64 {
            let armable = match TimerKey::decode(key, program) {
                Some(TimerKey::Milestone(_) | TimerKey::EscalationStep(_)) => true,
                Some(TimerKey::Transition(i)) => matches!(
                    program.transitions[i as usize].trigger,
                    Trigger::AfterInStage { .. }
                ),
                Some(TimerKey::Rule(i)) => timed(program.rules[i as usize].trigger),
                Some(TimerKey::Escalation(i)) => timed(program.escalations[i as usize].trigger),
                Some(TimerKey::Delivery) => program.policy.quiet_hours.is_some(),
                None => false,
            };
            if armable {
                timer_words[key as usize] = Some(take(1));
            }
        }
        let segment_ends_base = take(segment_widths.len()) as usize;
        let bits = |wanted: fn(&MetricPlan) -> bool| {
            (0..TRACKED_METRICS)
                .zip(&metrics)
                .filter(|&(_, plan)| wanted(plan))
                .fold(0u64, |bits, (m, _)| bits | 1 << m)
        };
        let all_metrics = bits(|_| true);
        let windowed = bits(|plan| {
            matches!(
                plan.store,
                MetricStore::Times { .. } | MetricStore::Values { .. }
            )
        });
        StateLayout {
            frame_len,
            metrics,
            all_metrics,
            windowed,
            rule_words,
            escalations_base,
            ladders_base,
            timer_words,
            segment_ends_base,
            segment_widths,
            messages,
            touches,
            words: next,
        }
    }

    /// The words holding armed deadlines.
    fn deadline_words(&self) -> impl Iterator<Item = usize> + '_ {
        self.timer_words.iter().flatten().map(|w| *w as usize)
    }
}

fn timed(trigger: Trigger) -> bool {
    matches!(
        trigger,
        Trigger::AfterInStage { .. } | Trigger::AtDate { .. }
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FireHistory {
    pub first: i64,
    pub last: i64,
}

impl FireHistory {
    /// The history after a firing at `t`.
    pub fn fired_at(self, t: i64) -> FireHistory {
        FireHistory {
            first: if self.first == NEVER { t } else { self.first },
            last: t,
        }
    }

    /// Until when a cooldown after the last firing blocks a firing at `t`
    /// (exclusive), if it does.
    pub fn cooling_until(self, cooldown: Option<i64>, t: i64) -> Option<i64> {
        let until = self.last.saturating_add(cooldown?);
        (self.last != NEVER && t < until).then_some(until)
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

/// Aligned to a cache line, which it fills: processing an input reads every
/// field, so one line holds all of them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[repr(align(64))]
pub struct Subject {
    pub key: CompactString,
    /// Entered its initial stage (has had a track event).
    pub entered: bool,
    /// Slots in the frame.
    frame_len: u32,
    /// The fixed-size state, laid out by [`StateLayout`], then the
    /// variable-size state: segments, one after the other, then room to
    /// grow. It starts with the frame: one value per slot, then the slots'
    /// presence bytes.
    words: Box<[i64]>,
    /// Which metrics' frame slots may be out of date, so that a refresh
    /// rewrites only those (see [`Subject::stale_metrics`]). Not saved: a
    /// restored subject refreshes every metric once.
    #[serde(skip, default = "Staleness::all")]
    staleness: Staleness,
}

const _: () = assert!(std::mem::size_of::<Subject>() == 64);

/// Which of a subject's metric slots may differ from what a refresh would
/// write now.
#[derive(Debug, Clone, Copy)]
struct Staleness {
    /// Bit `m`: metric `m` was recorded or reset, or its refresh failed.
    metrics: u32,
    /// Bit `k`: score `k` has not been computed, or its computation failed.
    scores: u32,
    /// When the oldest entry of a windowed metric leaves its window: until
    /// then, time passing changes no metric.
    window_moves_at: i64,
}

impl Staleness {
    fn all() -> Staleness {
        Staleness {
            metrics: u32::MAX,
            scores: u32::MAX,
            window_moves_at: i64::MIN,
        }
    }
}

/// Metrics, by bit, that [`Subject::stale_metrics`] tracks one by one (32
/// bits keep a subject within a cache line); a program with more refreshes
/// all of them every time. Scores likewise.
pub const TRACKED_METRICS: usize = 32;

/// The metrics a refresh must rewrite.
#[derive(Debug, Clone, Copy)]
pub struct StaleMetrics {
    /// Bit `m` for metric `m`.
    pub due: u64,
    /// An entry of a windowed metric has left its window: every windowed
    /// metric is due.
    pub windows_moved: bool,
}

impl Subject {
    pub fn new(key: &str, program: &Program, layout: &StateLayout) -> Subject {
        let mut subject = Subject {
            key: key.into(),
            entered: false,
            frame_len: layout.frame_len as u32,
            words: vec![0; layout.words].into_boxed_slice(),
            staleness: Staleness::all(),
        };
        let histories = layout.rule_words.iter().flatten().map(|w| *w as usize);
        for w in histories.chain((layout.escalations_base..layout.ladders_base).step_by(2)) {
            subject.words[w] = NEVER;
            subject.words[w + 1] = NEVER;
        }
        for e in 0..program.escalations.len() {
            subject.words[layout.ladders_base + 3 * e] = NEVER;
        }
        for word in layout.deadline_words() {
            subject.words[word] = NEVER;
        }
        for (i, t) in program.traits.iter().enumerate() {
            subject.set(program.layout.trait_base + i as u32, t.default);
        }
        for m in 0..program.milestones.len() as u32 {
            subject.set(
                program.layout.milestone_base + m,
                Some(milestone_state::NOT_STARTED),
            );
        }
        for plan in &layout.metrics {
            if let MetricStore::Running { word } = plan.store {
                subject.reset_running(word as usize);
            }
        }
        subject
    }

    fn frame_len(&self) -> usize {
        self.frame_len as usize
    }

    fn present(&self, layout_len: usize) -> &[u8] {
        let words = &self.words[layout_len..layout_len + layout_len.div_ceil(WORD_BYTES)];
        &bytemuck::cast_slice(words)[..layout_len]
    }

    /// The frame expressions are evaluated against.
    pub fn frame(&self, now: i64) -> Frame<'_> {
        let len = self.frame_len();
        Frame {
            values: &self.words[..len],
            present: self.present(len),
            now,
        }
    }

    /// Sets a slot's value and presence byte (the presence bytes follow the
    /// values, as the frame's `present` slice sees them).
    pub fn set(&mut self, slot: u32, value: Option<i64>) {
        let len = self.frame_len();
        let i = slot as usize;
        debug_assert!(i < len, "slot {i} outside a frame of {len}");
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut self.words[..]);
        bytes[len * WORD_BYTES + i] = u8::from(value.is_some());
        if let Some(v) = value {
            self.words[i] = v;
        }
    }

    /// The value of a frame slot, `None` when missing.
    pub fn get(&self, slot: u32) -> Option<i64> {
        let len = self.frame_len();
        let i = slot as usize;
        let bytes: &[u8] = bytemuck::cast_slice(&self.words[..]);
        (i < len && bytes[len * WORD_BYTES + i] == 1).then(|| self.words[i])
    }

    /// The raw value of a slot, whether or not present.
    pub fn raw(&self, slot: u32) -> i64 {
        self.words[slot as usize]
    }

    pub fn stage(&self, program: &Program) -> u32 {
        self.words[program.layout.stage as usize] as u32
    }

    pub fn word(&self, word: u32) -> i64 {
        self.words[word as usize]
    }

    fn word_mut(&mut self, word: u32) -> &mut i64 {
        &mut self.words[word as usize]
    }

    fn reset_running(&mut self, word: usize) {
        self.words[word..word + 5].copy_from_slice(&[0, 0, i64::MAX, i64::MIN, 0]);
    }

    /// Records one occurrence for metric `m`: an event it counts (with the
    /// aggregated property's value, if any) or a firing it counts.
    pub fn record(&mut self, layout: &StateLayout, m: u32, t: i64, value: Option<i64>) {
        let plan = &layout.metrics[m as usize];
        // Its refresh, which a stale metric always gets, works out when its
        // window next moves.
        self.mark_stale(m);
        match (plan.store, value) {
            (MetricStore::Counter { word }, _) => {
                let n = self.word_mut(word);
                *n = n.saturating_add(1);
            }
            (MetricStore::Times { segment, .. }, _) => self.push(layout, segment, &[t]),
            (MetricStore::Ever { word }, _) => *self.word_mut(word) = 1,
            (MetricStore::Value { word }, Some(v)) => {
                if plan.kind == MetricKind::Latest || self.word(word) == 0 {
                    *self.word_mut(word) = 1;
                    *self.word_mut(word + 1) = v;
                }
            }
            (MetricStore::Values { segment, .. }, Some(v)) => self.push(layout, segment, &[t, v]),
            (MetricStore::Running { word }, Some(v)) => self.add_running(word, v),
            (MetricStore::Distinct { segment }, Some(v)) => {
                self.insert_distinct(layout, segment, v)
            }
            (_, None) => {}
        }
    }

    /// Running aggregates: count, sum, min, max, overflow.
    pub fn running(&self, word: u32) -> [i64; 5] {
        let w = word as usize;
        [
            self.words[w],
            self.words[w + 1],
            self.words[w + 2],
            self.words[w + 3],
            self.words[w + 4],
        ]
    }

    fn add_running(&mut self, word: u32, value: i64) {
        let w = word as usize;
        self.words[w] += 1;
        match self.words[w + 1].checked_add(value) {
            Some(total) => self.words[w + 1] = total,
            None => self.words[w + 4] = 1,
        }
        self.words[w + 2] = self.words[w + 2].min(value);
        self.words[w + 3] = self.words[w + 3].max(value);
    }

    /// Forgets what metric `m` counted (a metric `in stage`, at stage entry).
    pub fn reset_metric(&mut self, layout: &StateLayout, m: u32) {
        self.mark_stale(m);
        match layout.metrics[m as usize].store {
            MetricStore::Counter { word } | MetricStore::Ever { word } => {
                self.words[word as usize] = 0
            }
            MetricStore::Value { word } => {
                self.words[word as usize] = 0;
                self.words[word as usize + 1] = 0;
            }
            MetricStore::Running { word } => self.reset_running(word as usize),
            MetricStore::Times { segment, .. }
            | MetricStore::Values { segment, .. }
            | MetricStore::Distinct { segment } => {
                let width = usize::from(layout.segment_widths[segment as usize]);
                let entries = self.segment(layout, segment).len() / width;
                self.drop_front(layout, segment, entries);
            }
        }
    }

    fn mark_stale(&mut self, m: u32) {
        if let Some(bit) = 1u32.checked_shl(m) {
            self.staleness.metrics |= bit;
        }
    }

    /// The metrics whose slots a refresh at `now` must rewrite; `None` when
    /// the program has too many metrics to track.
    ///
    /// Every other metric's slot already holds what a refresh at `now`
    /// would write: its state has not changed since the slot was written,
    /// and no entry of a windowed metric has left its window since.
    pub fn stale_metrics(&self, layout: &StateLayout, now: i64) -> Option<StaleMetrics> {
        if layout.metrics.len() > TRACKED_METRICS {
            return None;
        }
        let windows_moved = now >= self.staleness.window_moves_at;
        let moved = if windows_moved { layout.windowed } else { 0 };
        Some(StaleMetrics {
            due: u64::from(self.staleness.metrics) & layout.all_metrics | moved,
            windows_moved,
        })
    }

    /// After a refresh: `failed` metrics stay stale (their error is
    /// reported again at the next refresh), and windows next move at
    /// `window_moves_at`, or at the earlier time already known when the
    /// refresh left some windowed metrics alone (`all_windows` false).
    pub fn refreshed(&mut self, failed: u64, window_moves_at: i64, all_windows: bool) {
        // Only tracked metrics are refreshed one by one: `failed` fits.
        self.staleness.metrics = failed as u32;
        let at = &mut self.staleness.window_moves_at;
        *at = if all_windows {
            window_moves_at
        } else {
            (*at).min(window_moves_at)
        };
    }

    /// Whether score `k`'s slot holds its value as of its last computation,
    /// which did not fail (scores past the 32nd are never taken as such).
    pub fn score_is_current(&self, k: u32) -> bool {
        self.staleness
            .scores
            .checked_shr(k)
            .is_some_and(|bits| bits & 1 == 0)
    }

    /// Every score is computed afresh at the next evaluation.
    pub fn forget_scores(&mut self) {
        self.staleness.scores = u32::MAX;
    }

    /// Score `k` was computed; a failure is reported again next time.
    pub fn score_computed(&mut self, k: u32, failed: bool) {
        if let Some(bit) = 1u32.checked_shl(k) {
            if failed {
                self.staleness.scores |= bit;
            } else {
                self.staleness.scores &= !bit;
            }
        }
    }

    /// When the oldest entry of a windowed segment leaves its window.
    pub fn window_leaves_at(&self, layout: &StateLayout, segment: u32, window: i64) -> i64 {
        self.segment(layout, segment)
            .first()
            .map_or(i64::MAX, |&oldest| oldest.saturating_add(window))
    }

    // ------------------------------------------------------------ history

    pub fn history(&self, layout: &StateLayout, rule: u32) -> FireHistory {
        match layout.rule_words[rule as usize] {
            Some(w) => self.history_at(w as usize),
            None => FireHistory {
                first: NEVER,
                last: NEVER,
            },
        }
    }

    pub fn set_history(&mut self, layout: &StateLayout, rule: u32, history: FireHistory) {
        if let Some(w) = layout.rule_words[rule as usize] {
            self.set_history_at(w as usize, history);
        }
    }

    pub fn escalation_history(&self, layout: &StateLayout, escalation: u32) -> FireHistory {
        self.history_at(layout.escalations_base + 2 * escalation as usize)
    }

    pub fn set_escalation_history(
        &mut self,
        layout: &StateLayout,
        escalation: u32,
        history: FireHistory,
    ) {
        self.set_history_at(layout.escalations_base + 2 * escalation as usize, history);
    }

    fn history_at(&self, w: usize) -> FireHistory {
        FireHistory {
            first: self.words[w],
            last: self.words[w + 1],
        }
    }

    fn set_history_at(&mut self, w: usize, history: FireHistory) {
        self.words[w] = history.first;
        self.words[w + 1] = history.last;
    }

    pub fn ladder(&self, layout: &StateLayout, escalation: u32) -> Option<Ladder> {
        let w = layout.ladders_base + 3 * escalation as usize;
        (self.words[w] != NEVER).then(|| Ladder {
            started: self.words[w],
            next_step: self.words[w + 1] as u32,
            key: self.words[w + 2] as u64,
        })
    }

    pub fn set_ladder(&mut self, layout: &StateLayout, escalation: u32, ladder: Option<Ladder>) {
        let w = layout.ladders_base + 3 * escalation as usize;
        match ladder {
            Some(l) => {
                self.words[w] = l.started;
                self.words[w + 1] = i64::from(l.next_step);
                self.words[w + 2] = l.key as i64;
            }
            None => self.words[w] = NEVER,
        }
    }

    // ------------------------------------------------------------ timers

    /// Arms (or re-arms) the timer with this key.
    pub fn arm(&mut self, layout: &StateLayout, key: i64, deadline: i64) {
        if let Some(w) = timer_word(layout, key) {
            self.words[w] = deadline;
        }
    }

    pub fn disarm(&mut self, layout: &StateLayout, key: i64) {
        if let Some(w) = timer_word(layout, key) {
            self.words[w] = NEVER;
        }
    }

    /// Whether the timer with this key is armed for exactly this deadline;
    /// disarms it if so.
    pub fn take_timer(&mut self, layout: &StateLayout, key: i64, deadline: i64) -> bool {
        match timer_word(layout, key) {
            Some(w) if self.words[w] == deadline && deadline != NEVER => {
                self.words[w] = NEVER;
                true
            }
            _ => false,
        }
    }

    // ------------------------------------------------------------ segments

    /// Where a segment's entries are in `segments`: the words hold each
    /// segment's end, so a segment starts where the one before it ends.
    #[inline]
    fn segment_range(&self, layout: &StateLayout, segment: u32) -> (usize, usize) {
        let k = layout.segment_ends_base + segment as usize;
        let start = if segment == 0 { 0 } else { self.words[k - 1] };
        (
            layout.words + start as usize,
            layout.words + self.words[k] as usize,
        )
    }

    /// Moves the ends of `segment` and of every segment after it.
    fn shift_ends(&mut self, layout: &StateLayout, segment: u32, by: i64) {
        let first = layout.segment_ends_base + segment as usize;
        let last = layout.segment_ends_base + layout.segment_widths.len();
        for end in &mut self.words[first..last] {
            *end += by;
        }
    }

    /// A segment's entries, flattened (pairs take two words).
    pub fn segment(&self, layout: &StateLayout, segment: u32) -> &[i64] {
        let (start, end) = self.segment_range(layout, segment);
        &self.words[start..end]
    }

    /// Words in use: the fixed words, then the segments up to the last
    /// one's end. The rest of `words` is room to grow.
    fn used(&self, layout: &StateLayout) -> usize {
        match layout.segment_widths.len() {
            0 => layout.words,
            n => layout.words + self.words[layout.segment_ends_base + n - 1] as usize,
        }
    }

    /// Makes room for `extra` more words. Inlined: at most pushes there is
    /// room, and checking takes two loads.
    #[inline]
    fn reserve(&mut self, layout: &StateLayout, extra: usize) {
        let used = self.used(layout);
        if used + extra > self.words.len() {
            self.grow(layout, used, extra);
        }
    }

    /// Grows by half the segments' words: most subjects keep a few entries
    /// (a boxed slice has no spare header), and growing by less reallocates
    /// every few events.
    #[cold]
    #[inline(never)]
    fn grow(&mut self, layout: &StateLayout, used: usize, extra: usize) {
        let len = used + extra + (used - layout.words) / 2 + 4;
        let mut words = std::mem::take(&mut self.words).into_vec();
        words.reserve_exact(len - words.len());
        words.resize(len, 0);
        self.words = words.into_boxed_slice();
    }

    /// Appends one entry (of the segment's width) at the end of a segment.
    pub fn push(&mut self, layout: &StateLayout, segment: u32, entry: &[i64]) {
        let width = entry.len();
        self.reserve(layout, width);
        let used = self.used(layout);
        let (_, end) = self.segment_range(layout, segment);
        // The last segment's push, or the first ever, moves nothing.
        if end < used {
            self.words.copy_within(end..used, end + width);
        }
        self.words[end..end + width].copy_from_slice(entry);
        self.shift_ends(layout, segment, width as i64);
    }

    /// Removes the first `count` entries of a segment.
    fn drop_front(&mut self, layout: &StateLayout, segment: u32, count: usize) {
        if count == 0 {
            return;
        }
        let used = self.used(layout);
        let (start, _) = self.segment_range(layout, segment);
        let gap = count * usize::from(layout.segment_widths[segment as usize]);
        self.words.copy_within(start + gap..used, start);
        self.shift_ends(layout, segment, -(gap as i64));
        // Give back room a burst left behind.
        let used = used - gap;
        if self.words.len() > 2 * used - layout.words + 16 {
            let mut words = std::mem::take(&mut self.words).into_vec();
            words.truncate(used + 4);
            self.words = words.into_boxed_slice();
        }
    }

    /// Drops the entries whose time (first word) is at or before
    /// `now - window` (the window is `(now - window, now]`); returns the
    /// words left. Inlined: at most events nothing leaves the window.
    #[inline]
    pub fn evict(&mut self, layout: &StateLayout, segment: u32, now: i64, window: i64) -> usize {
        let cutoff = now.saturating_sub(window);
        let (start, end) = self.segment_range(layout, segment);
        if start == end || self.words[start] > cutoff {
            return end - start;
        }
        self.evict_from(layout, segment, start, end, cutoff)
    }

    #[inline(never)]
    fn evict_from(
        &mut self,
        layout: &StateLayout,
        segment: u32,
        start: usize,
        end: usize,
        cutoff: i64,
    ) -> usize {
        let width = usize::from(layout.segment_widths[segment as usize]);
        let mut first_kept = start;
        while first_kept < end && self.words[first_kept] <= cutoff {
            first_kept += width;
        }
        self.drop_front(layout, segment, (first_kept - start) / width);
        end - first_kept
    }

    /// Inserts a value into a sorted segment of distinct values.
    fn insert_distinct(&mut self, layout: &StateLayout, segment: u32, value: i64) {
        let (start, end) = self.segment_range(layout, segment);
        if let Err(pos) = self.words[start..end].binary_search(&value) {
            self.reserve(layout, 1);
            let used = self.used(layout);
            self.words.copy_within(start + pos..used, start + pos + 1);
            self.words[start + pos] = value;
            self.shift_ends(layout, segment, 1);
        }
    }
}

/// The subjects in the order they were first seen, found by key.
///
/// The table is open addressing with linear probing over `slots`: a slot
/// holds the upper half of the key's hash and the subject's index plus one
/// (0 is an empty slot), so each key is stored once, in its subject, and a
/// slot's address follows from the hash alone. That is what lets a batch of
/// lines load a subject's state in stages ahead of its input (see
/// [`Subjects::prefetch`]) without waiting on any of the loads.
#[derive(Debug, Default)]
pub struct Subjects {
    list: Vec<Subject>,
    slots: Vec<u64>,
    hasher: DefaultHashBuilder,
}

/// Where an input's subject state is, found ahead of processing it: the
/// key's hash, then the index of the first subject whose slot matches the
/// hash (not compared with the key: a hint only).
#[derive(Debug, Clone, Copy)]
pub struct Lookahead {
    hash: u64,
    candidate: Option<u32>,
}

/// How many steps ahead of its input [`Subjects::prefetch`] is first
/// called for it: one step per dependent load (slot, subject, state).
pub const PREFETCH_STEPS: usize = 3;

impl Subjects {
    pub fn new(list: Vec<Subject>) -> Subjects {
        let mut subjects = Subjects::default();
        for subject in list {
            subjects.insert(subject);
        }
        subjects
    }

    pub fn find(&self, key: &str) -> Option<u32> {
        self.find_ahead(key, None)
    }

    /// As [`Subjects::find`], from what [`Subjects::lookahead`] of the same
    /// `key` found: its candidate if that is the subject, else a probe from
    /// its hash, so the key is not hashed twice.
    pub fn find_ahead(&self, key: &str, ahead: Option<&Lookahead>) -> Option<u32> {
        let is_key = |index: u32| same_key(&self.list[index as usize].key, key);
        match ahead {
            Some(ahead) => ahead
                .candidate
                .filter(|&index| (index as usize) < self.list.len() && is_key(index))
                .or_else(|| self.probe(ahead.hash, is_key)),
            None => self.probe(self.hasher.hash_one(key), is_key),
        }
    }

    /// The first subject whose slot matches `hash`, without comparing keys.
    fn candidate(&self, hash: u64) -> Option<u32> {
        self.probe(hash, |_| true)
    }

    /// Walks the slots from `hash`'s home to the first empty one; returns
    /// the first subject whose slot holds `hash`'s upper half and `is_it`
    /// accepts.
    #[inline]
    fn probe(&self, hash: u64, mut is_it: impl FnMut(u32) -> bool) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut at = hash as usize & mask;
        loop {
            let slot = self.slots[at];
            if slot == 0 {
                return None;
            }
            let index = (slot as u32).wrapping_sub(1);
            if slot >> 32 == hash >> 32 && is_it(index) {
                return Some(index);
            }
            at = (at + 1) & mask;
        }
    }

    /// Starts looking up `key` for an input [`PREFETCH_STEPS`] inputs ahead.
    pub fn lookahead(&self, key: &str) -> Lookahead {
        let hash = self.hasher.hash_one(key);
        if !self.slots.is_empty() {
            prefetch::line_of(&self.slots[hash as usize & (self.slots.len() - 1)]);
        }
        Lookahead {
            hash,
            candidate: None,
        }
    }

    /// One step of loading a subject's state ahead of its input, with
    /// `steps_left` inputs to go before it is processed: first the table
    /// slot ([`Subjects::lookahead`]), then the subject, then its words.
    pub fn prefetch(&self, ahead: &mut Lookahead, steps_left: usize) {
        match steps_left {
            2 => {
                ahead.candidate = self.candidate(ahead.hash);
                if let Some(subject) = ahead.candidate.and_then(|i| self.list.get(i as usize)) {
                    // Processing reads every field; they share a line.
                    prefetch::line_of(subject);
                }
            }
            1 => {
                if let Some(subject) = ahead.candidate.and_then(|i| self.list.get(i as usize)) {
                    prefetch::lines_of(&subject.words, PREFETCH_LINES);
                }
            }
            _ => {}
        }
    }

    /// Adds a subject whose key is not yet known; returns its index.
    pub fn insert(&mut self, subject: Subject) -> u32 {
        let index = self.list.len() as u32;
        if self.list.len() == self.list.capacity() {
            // A quarter more at a time: doubling would leave up to half of
            // a large list unused.
            self.list.reserve_exact(self.list.len() / 4 + 64);
        }
        // At most three quarters of the slots in use, so probes stay short.
        if 4 * (self.list.len() + 1) > 3 * self.slots.len() {
            self.grow_slots();
        }
        let hash = self.hasher.hash_one(&*subject.key);
        self.place(hash, index);
        self.list.push(subject);
        index
    }

    fn place(&mut self, hash: u64, index: u32) {
        let mask = self.slots.len() - 1;
        let mut at = hash as usize & mask;
        while self.slots[at] != 0 {
            at = (at + 1) & mask;
        }
        self.slots[at] = (hash >> 32 << 32) | u64::from(index + 1);
    }

    fn grow_slots(&mut self) {
        self.slots = vec![0; (self.slots.len() * 2).max(16)];
        for index in 0..self.list.len() {
            let hash = self.hasher.hash_one(&*self.list[index].key);
            self.place(hash, index as u32);
        }
    }
}

impl std::ops::Deref for Subjects {
    type Target = [Subject];
    fn deref(&self) -> &[Subject] {
        &self.list
    }
}

impl std::ops::DerefMut for Subjects {
    fn deref_mut(&mut self) -> &mut [Subject] {
        &mut self.list
    }
}

/// Key equality without a call to `memcmp`: account keys and event names
/// are short, and comparing them is on the path of every event.
pub(crate) fn same_key(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let n = a.len();
    if n != b.len() {
        return false;
    }
    // Two overlapping reads cover 8 to 16 bytes, or 4 to 8.
    let word = |s: &[u8], at: usize| u64::from_le_bytes(s[at..at + 8].try_into().unwrap_or([0; 8]));
    let half = |s: &[u8], at: usize| u32::from_le_bytes(s[at..at + 4].try_into().unwrap_or([0; 4]));
    match n {
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        4..=7 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        _ => a == b,
    }
}

fn timer_word(layout: &StateLayout, key: i64) -> Option<usize> {
    let key = usize::try_from(key).ok()?;
    layout
        .timer_words
        .get(key)
        .copied()
        .flatten()
        .map(|w| w as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program(text: &str) -> Program {
        let ast = stagecraft_syntax::parse(text).expect("parses");
        stagecraft_check::check(text, &ast).expect("checks")
    }

    const PLAYBOOK: &str = r#"
playbook "segments" { language 1 version "1" subject account }
event "Paid" { amount: int, plan: string }
stages { trial initial, paying }
metric paid_7d = count "Paid" over 7d
metric amount_7d = sum "Paid".amount over 7d
metric plans = distinct "Paid".plan in stage
metric amounts = sum "Paid".amount over 1d
transition trial -> paying on "Paid"
"#;

    #[test]
    fn stale_metrics_are_those_recorded_failed_or_whose_window_moved() {
        const DAY: i64 = 86_400_000;
        let program = program(PLAYBOOK);
        let layout = StateLayout::new(&program);
        let mut subject = Subject::new("a", &program, &layout);
        let stale = |subject: &Subject, now| {
            subject
                .stale_metrics(&layout, now)
                .map(|stale| (stale.due, stale.windows_moved))
        };
        // Metrics 0, 1 and 3 are over a window; 2 (distinct, in stage) is not.
        assert_eq!(stale(&subject, 0), Some((0b1111, true)), "a new subject");
        subject.refreshed(0, i64::MAX, true);
        assert_eq!(stale(&subject, 0), Some((0, false)));

        subject.record(&layout, 2, 10, Some(7));
        assert_eq!(stale(&subject, 10), Some((0b0100, false)));
        subject.record(&layout, 3, 10, Some(5));
        assert_eq!(stale(&subject, 10), Some((0b1100, false)));
        // As a refresh of metrics 2 and 3 at 10 reports it: the entry of 3
        // leaves its one-day window at 10 + DAY.
        let MetricStore::Values { segment, window } = layout.metrics[3].store else {
            panic!("metric 3 keeps values over a window");
        };
        subject.refreshed(0, subject.window_leaves_at(&layout, segment, window), false);
        assert_eq!(stale(&subject, 10 + DAY - 1), Some((0, false)));
        assert_eq!(stale(&subject, 10 + DAY), Some((0b1011, true)));

        subject.refreshed(0b0010, i64::MAX, true);
        assert_eq!(stale(&subject, 10 + DAY), Some((0b0010, false)), "failed");
        subject.reset_metric(&layout, 0);
        assert_eq!(stale(&subject, 10 + DAY), Some((0b0011, false)), "reset");

        let many: String = (0..TRACKED_METRICS)
            .map(|m| format!("metric extra_{m} = count \"Paid\" over 1d\n"))
            .collect();
        let program = self::program(&format!("{PLAYBOOK}{many}"));
        let layout = StateLayout::new(&program);
        let subject = Subject::new("a", &program, &layout);
        assert!(
            subject.stale_metrics(&layout, 0).is_none(),
            "too many to track"
        );
    }

    #[test]
    fn segments_of_different_widths_stay_apart() {
        let program = program(PLAYBOOK);
        let layout = StateLayout::new(&program);
        let mut subject = Subject::new("a", &program, &layout);
        let [times, pairs, distinct, day] = [0, 1, 2, 3].map(|m| match layout.metrics[m].store {
            MetricStore::Times { segment, .. }
            | MetricStore::Values { segment, .. }
            | MetricStore::Distinct { segment } => segment,
            other => panic!("unexpected store {other:?}"),
        });
        for t in 1..=4 {
            subject.push(&layout, times, &[t]);
            subject.push(&layout, pairs, &[t, 10 * t]);
            subject.insert_distinct(&layout, distinct, 5 - t);
            subject.insert_distinct(&layout, distinct, 1);
            subject.push(&layout, day, &[t, -t]);
        }
        assert_eq!(subject.segment(&layout, times), &[1, 2, 3, 4]);
        assert_eq!(
            subject.segment(&layout, pairs),
            &[1, 10, 2, 20, 3, 30, 4, 40]
        );
        assert_eq!(subject.segment(&layout, distinct), &[1, 2, 3, 4]);
        assert_eq!(subject.segment(&layout, day), &[1, -1, 2, -2, 3, -3, 4, -4]);

        // The window is (now - window, now]: at 5 with window 3, times <= 2 go.
        subject.evict(&layout, pairs, 5, 3);
        assert_eq!(subject.segment(&layout, pairs), &[3, 30, 4, 40]);
        assert_eq!(subject.segment(&layout, times), &[1, 2, 3, 4]);
        assert_eq!(subject.segment(&layout, day), &[1, -1, 2, -2, 3, -3, 4, -4]);

        subject.reset_metric(&layout, 1);
        assert_eq!(subject.segment(&layout, pairs), &[] as &[i64]);
        assert_eq!(subject.segment(&layout, distinct), &[1, 2, 3, 4]);
        assert_eq!(subject.segment(&layout, day), &[1, -1, 2, -2, 3, -3, 4, -4]);
        subject.reset_metric(&layout, 2);
        assert_eq!(subject.segment(&layout, distinct), &[] as &[i64]);
        assert_eq!(subject.segment(&layout, times), &[1, 2, 3, 4]);
        assert_eq!(subject.segment(&layout, day), &[1, -1, 2, -2, 3, -3, 4, -4]);
    }

    #[test]
    fn frame_slots_and_timers_round_trip() {
        let program = program(PLAYBOOK);
        let layout = StateLayout::new(&program);
        let mut subject = Subject::new("a", &program, &layout);
        let slot = program.layout.stage;
        assert_eq!(subject.get(slot), None);
        subject.set(slot, Some(-7));
        assert_eq!(subject.get(slot), Some(-7));
        assert_eq!(subject.frame(0).present[slot as usize], 1);
        subject.set(slot, None);
        assert_eq!(subject.get(slot), None);
        assert_eq!(subject.raw(slot), -7);
        // The playbook arms no timer: arming is ignored.
        subject.arm(&layout, 0, 10);
        assert!(!subject.take_timer(&layout, 0, 10));
    }

    #[test]
    fn keys_are_equal_only_when_their_text_is() {
        let keys = [
            "",
            "a",
            "ab",
            "abc",
            "abcd",
            "abce",
            "bbcd",
            "abcdefg",
            "abcdefh",
            "bbcdefg",
            "a66802",
            "a66803",
            "abcdefgh",
            "abcdefgi",
            "bbcdefgh",
            "abcdefghijklmnop",
            "abcdefghijklmnoq",
            "abcdefghXjklmnop",
            "abcdefghijklmnopq",
            "abcdefghijklmnopr",
            "Integration Started",
            "Integration Succeeded",
            "Integration Xucceeded",
            "abcdefghijklmnopqrstuvwx",
            "abcdefghijklmnopQrstuvwx",
            "abcdefghijklmnopqrstuvwxyz012345",
            "abcdefghijklmnopqrstuVwxyz012345",
            "abcdefghijklmnopqrstuvwxyz0123456",
            "abcdefghijklmnopqrstuvwxyz0123457",
        ];
        for a in keys {
            for b in keys {
                assert_eq!(same_key(a, b), a == b, "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn subjects_are_found_by_key() {
        let program = program(PLAYBOOK);
        let layout = StateLayout::new(&program);
        let mut subjects = Subjects::default();
        for key in ["a", "b", "c"] {
            subjects.insert(Subject::new(key, &program, &layout));
        }
        assert_eq!(subjects.find("b"), Some(1));
        assert_eq!(subjects.find("d"), None);
        let restored = Subjects::new(subjects.to_vec());
        assert_eq!(restored.find("c"), Some(2));
    }

    #[test]
    fn subjects_stay_found_as_the_table_grows() {
        let program = program(PLAYBOOK);
        let layout = StateLayout::new(&program);
        let mut subjects = Subjects::default();
        for i in 0..5_000u32 {
            let key = format!("acct-{i}");
            assert_eq!(subjects.find(&key), None, "{key} before it is added");
            assert_eq!(subjects.insert(Subject::new(&key, &program, &layout)), i);
            // A key that differs in its last byte only is another subject.
            assert_eq!(subjects.find(&format!("{key}x")), None);
        }
        for i in (0..5_000u32).step_by(7) {
            let key = format!("acct-{i}");
            assert_eq!(subjects.find(&key), Some(i));
            // The hint finds the same subject (or, rarely, another with the
            // same hash prefix), never anything out of range.
            let mut ahead = subjects.lookahead(&key);
            for steps_left in (1..PREFETCH_STEPS).rev() {
                subjects.prefetch(&mut ahead, steps_left);
            }
            assert!(ahead.candidate.is_some_and(|c| c < 5_000));
            assert_eq!(subjects.find_ahead(&key, Some(&ahead)), Some(i));
        }
        // A lookahead taken before its subject existed still finds it.
        let ahead = subjects.lookahead("late");
        assert_eq!(subjects.find_ahead("late", Some(&ahead)), None);
        let late = subjects.insert(Subject::new("late", &program, &layout));
        assert_eq!(subjects.find_ahead("late", Some(&ahead)), Some(late));
        assert!(4 * subjects.len() <= 3 * subjects.slots.len());
    }
}
