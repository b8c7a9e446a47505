//! The engine: feeds inputs to subjects in event-time order and emits
//! outcomes. The semantics it implements are written down, sentence by
//! sentence, in `docs/semantics.md`.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::Read;
use std::sync::Arc;

use compact_str::CompactString;
use hashbrown::HashMap;
use serde::{Deserialize, Serialize};
use stagecraft_ir::{
    eval, milestone_state, ActionKind, CapTarget, EvalError, EvalPlan, Expr, Frame, MetricKind,
    Program, QuietZone, Trigger, Type, Value,
};

use crate::compiled::{Compiled, PlanIndex, TimerKey};
use crate::dedupe::SeenIds;
use crate::error::RuntimeError;
use crate::ingest::{self, Input, InputKind, Rejected, SubjectRef};
use crate::outcome::{
    Cause, DeadLetter, ErrorSite, ManualInfo, Observation, Outcome, OutcomeKind, Owner, Payload,
    Sink, Status, SubjectNames, Why,
};
use crate::scan;
use crate::state::{
    Deferred, FireHistory, Ladder, Lookahead, MetricStore, StaleMetrics, StateLayout, Subject,
    Subjects, NEVER, PREFETCH_STEPS,
};
use crate::summary::Summary;
use crate::symbols::Symbols;
use crate::time::{self, MinuteCache};

/// How the engine treats its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// How far behind the newest input an input may arrive and still be
    /// processed in event-time order.
    pub allowed_lateness_millis: i64,
    /// How long (in event time) a `messageId` is remembered for
    /// de-duplication; 0 turns de-duplication off.
    pub dedupe_window_millis: i64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            allowed_lateness_millis: 0,
            dedupe_window_millis: 86_400_000,
        }
    }
}

/// The traits of an account whose lifecycles are split per key.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct AccountTraits {
    pub values: Vec<(u32, Option<i64>)>,
    pub subjects: Vec<u32>,
}

/// An input waiting in the reorder buffer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Pending {
    time: i64,
    seq: u64,
    line: u64,
    #[serde(with = "pending_input")]
    input: Input,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        (self.time, self.seq) == (other.time, other.seq)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.time, self.seq).cmp(&(other.time, other.seq))
    }
}

/// Everything an engine holds, as one serialisable value.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct EngineState {
    pub config: Config,
    pub subjects: Vec<Subject>,
    pub user_accounts: Vec<(CompactString, CompactString)>,
    pub accounts: Vec<(CompactString, AccountTraits)>,
    pub symbols: Symbols,
    /// Armed timers: deadline, subject, key.
    pub timers: Vec<(i64, u32, i64)>,
    /// Remembered message ids: time last seen and hash, oldest first.
    pub seen_messages: Vec<(i64, u64)>,
    pub pending: Vec<Pending>,
    pub clock: i64,
    pub newest: i64,
    pub line: u64,
    pub seq: u64,
    pub summary: Summary,
    /// Messages held back by quiet hours: subject, messages.
    #[serde(default)]
    pub deferred: Vec<(u32, Vec<Deferred>)>,
}

/// Runs one playbook over a stream of inputs.
#[derive(Debug)]
pub struct Engine {
    compiled: Compiled,
    core: Core,
}

/// [`Engine::push_reader`] holds lines shorter than this (64 MiB) in
/// memory; a longer one is a dead letter.
pub const MAX_LINE_BYTES: usize = 64 << 20;

/// A line read ahead of processing (see `Core::push_lines`).
struct Ahead<'t> {
    input: Input,
    number: u64,
    line: &'t str,
    hints: Hints,
}

/// What reading a line ahead already worked out about its input, so that
/// processing it does not work it out again.
#[derive(Debug, Clone, Copy, Default)]
struct Hints {
    /// The message id's hash, when de-duplication is on.
    message: Option<u64>,
    /// Where the account's subject is, for an account without a `per` key.
    subject: Option<Lookahead>,
}

/// The lines read ahead, oldest first, in a fixed ring: a parsed input is
/// written into its place once and dropped there, never moved (an input is
/// some 200 bytes).
struct AheadRing<'t> {
    slots: [Option<Ahead<'t>>; PREFETCH_STEPS + 1],
    oldest: usize,
    len: usize,
}

impl<'t> AheadRing<'t> {
    fn new() -> AheadRing<'t> {
        AheadRing {
            slots: std::array::from_fn(|_| None),
            oldest: 0,
            len: 0,
        }
    }

    /// Adds the newest line; the ring must have room.
    #[inline(always)]
    fn push(&mut self, ahead: Ahead<'t>) {
        let at = (self.oldest + self.len) % self.slots.len();
        self.slots[at] = Some(ahead);
        self.len += 1;
    }

    /// The line `back` places before the newest.
    fn back_mut(&mut self, back: usize) -> Option<&mut Ahead<'t>> {
        let at = (self.oldest + self.len.checked_sub(back + 1)?) % self.slots.len();
        self.slots[at].as_mut()
    }

    fn oldest(&self) -> Option<&Ahead<'t>> {
        self.slots[self.oldest].as_ref().filter(|_| self.len > 0)
    }

    fn drop_oldest(&mut self) {
        if self.len > 0 {
            self.slots[self.oldest] = None;
            self.oldest = (self.oldest + 1) % self.slots.len();
            self.len -= 1;
        }
    }
}

/// The engine's mutable state. Its methods take the compiled playbook by
/// reference, so that processing an input touches no reference count.
#[derive(Debug)]
struct Core {
    config: Config,
    subjects: Subjects,
    user_accounts: HashMap<CompactString, CompactString>,
    /// With `subject account per "key"`: each account's traits and its
    /// per-key subjects.
    accounts: HashMap<CompactString, AccountTraits>,
    symbols: Symbols,
    timers: BinaryHeap<Reverse<(i64, u32, i64)>>,
    /// Message-id hashes (already hashes: the table uses them as is) and
    /// when each was last seen.
    seen: SeenIds,
    pending: BinaryHeap<Reverse<Pending>>,
    /// Time of the last processed input (or timer).
    clock: i64,
    /// Newest input time seen.
    newest: i64,
    line: u64,
    seq: u64,
    summary: Summary,
    zones: HashMap<i64, chrono_tz::Tz>,
    /// Messages held back by quiet hours, per subject.
    deferred: HashMap<u32, Vec<Deferred>>,
    /// The subject and time of the last first event: its initial stage
    /// counts as entered for that input's cascade.
    entered_now: Option<(u32, i64)>,
    /// The last timestamp's minute, from line to line of `push_lines`.
    minute: MinuteCache,
}

struct Names<'a>(&'a [Subject]);

impl SubjectNames for Names<'_> {
    fn subject_key(&self, subject: u32) -> &str {
        self.0.get(subject as usize).map_or("", |s| &s.key)
    }
}

/// The read-only view of the engine a sink is given.
impl SubjectNames for Engine {
    fn subject_key(&self, subject: u32) -> &str {
        self.core
            .subjects
            .get(subject as usize)
            .map_or("", |s| &s.key)
    }
}

/// 64-bit FNV-1a over parts, with a separator byte between parts so that
/// ("ab", "c") and ("a", "bc") differ.
struct Fnv1a(u64);

impl Fnv1a {
    fn new() -> Fnv1a {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }

    fn bytes(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn separator(&mut self) {
        self.bytes(&[0xff]);
    }

    /// A number in decimal, as `format!` writes it.
    fn decimal(&mut self, n: i64) {
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        let mut rest = n.unsigned_abs();
        loop {
            at -= 1;
            digits[at] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        if n < 0 {
            self.bytes(b"-");
        }
        self.bytes(&digits[at..]);
    }
}

fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut hash = Fnv1a::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            hash.separator();
        }
        hash.bytes(part);
    }
    hash.0
}

/// The 64-bit hash of a message id, eight bytes at a time (the byte-wise
/// FNV-1a used for keys costs a multiply per byte on every input).
fn message_hash(id: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut hash = (id.len() as u64).wrapping_mul(K);
    let mut chunks = id.chunks_exact(8);
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        hash = (hash ^ word).wrapping_mul(K).rotate_left(29);
    }
    let mut tail = [0u8; 8];
    tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
    hash = (hash ^ u64::from_le_bytes(tail)).wrapping_mul(K);
    // The finaliser of MurmurHash3: every input bit reaches every output bit.
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    hash ^ (hash >> 33)
}

/// The holdout bucket (0..10000) of a subject for a rule: the subject is held
/// out of a rule whose holdout in basis points is above its bucket
/// (`docs/semantics.md` 4.4).
pub fn holdout_bucket(subject: &str, rule: &str) -> u64 {
    fnv1a(&[subject.as_bytes(), rule.as_bytes()]) % 10_000
}

/// Hashes what identifies a cause, `m:<messageId>`, `l:<line>` or
/// `t:<key>@<due>`, without building the text.
fn hash_cause(hash: &mut Fnv1a, cause: &Cause) {
    match cause {
        Cause::Event {
            message_id: Some(m),
            ..
        }
        | Cause::Request {
            message_id: Some(m),
            ..
        } => {
            hash.bytes(b"m:");
            hash.bytes(m.as_bytes());
        }
        Cause::Event { line, .. } | Cause::Request { line, .. } => {
            hash.bytes(b"l:");
            hash.decimal(i64::try_from(*line).unwrap_or(i64::MAX));
        }
        Cause::Timer { key, due } => {
            hash.bytes(b"t:");
            hash.decimal(*key);
            hash.bytes(b"@");
            hash.decimal(*due);
        }
    }
}

impl Engine {
    pub fn new(compiled: Compiled, config: Config) -> Engine {
        let core = Core {
            symbols: Symbols::new(&compiled.program.strings),
            config,
            subjects: Subjects::default(),
            user_accounts: HashMap::new(),
            accounts: HashMap::new(),
            timers: BinaryHeap::new(),
            seen: SeenIds::default(),
            pending: BinaryHeap::new(),
            clock: NEVER,
            newest: NEVER,
            line: 0,
            seq: 0,
            summary: Summary::default(),
            zones: HashMap::new(),
            deferred: HashMap::new(),
            entered_now: None,
            minute: MinuteCache::default(),
        };
        Engine { compiled, core }
    }

    pub fn program(&self) -> &Arc<Program> {
        &self.compiled.program
    }

    pub fn compiled(&self) -> &Compiled {
        &self.compiled
    }

    pub fn summary(&self) -> &Summary {
        &self.core.summary
    }

    pub fn symbols(&self) -> &Symbols {
        &self.core.symbols
    }

    /// The symbol table, to intern string and time-zone values of inputs
    /// built by hand (`Engine::push`, `Engine::place`). Symbols are only ever
    /// added, so existing values keep their ids.
    pub fn symbols_mut(&mut self) -> &mut Symbols {
        &mut self.core.symbols
    }

    /// The subjects, in the order they were first seen.
    pub fn subjects(&self) -> &[Subject] {
        &self.core.subjects
    }

    pub fn subject(&self, key: &str) -> Option<&Subject> {
        self.core
            .subjects
            .find(key)
            .map(|i| &self.core.subjects[i as usize])
    }

    /// The time of the last processed input.
    pub fn clock(&self) -> Option<i64> {
        (self.core.clock != NEVER).then_some(self.core.clock)
    }

    pub fn config(&self) -> Config {
        self.core.config
    }

    /// Feeds one NDJSON line. Lines are numbered by the engine, across
    /// chunks and restores.
    pub fn push_line(&mut self, line: &str, sink: &mut dyn Sink) {
        self.core.push_line(&self.compiled, line, sink);
    }

    /// Feeds a chunk of NDJSON: whole lines, the last one with or without
    /// its line break. Gives the same outcomes as feeding each line to
    /// [`Engine::push_line`], all of them before it returns, and is faster:
    /// it reads each line before processing the one before it, and starts
    /// loading that line's subject state meanwhile. A line that is not
    /// UTF-8 is a dead letter.
    pub fn push_lines(&mut self, text: &[u8], sink: &mut dyn Sink) {
        self.core.push_lines(&self.compiled, text, sink);
    }

    /// Feeds everything `reader` yields, as NDJSON, in chunks of whole lines
    /// (see [`Engine::push_lines`]); `progress` is called with the bytes of
    /// each chunk. A line of [`MAX_LINE_BYTES`] or more is a dead letter
    /// (`unparsable`) and is skipped without being held in memory. Stops at
    /// the end of the input or at a read error.
    pub fn push_reader(
        &mut self,
        reader: impl Read,
        sink: &mut dyn Sink,
        progress: impl FnMut(usize),
    ) -> std::io::Result<()> {
        self.push_reader_with_limit(reader, sink, progress, MAX_LINE_BYTES)
    }

    fn push_reader_with_limit(
        &mut self,
        mut reader: impl Read,
        sink: &mut dyn Sink,
        mut progress: impl FnMut(usize),
        max_line: usize,
    ) -> std::io::Result<()> {
        const CHUNK: usize = 1 << 20;
        let mut buf = vec![0u8; CHUNK.min(max_line)];
        // Bytes at the start of `buf` that are a line still being read.
        let mut carried = 0;
        // Inside a line too long to hold: its bytes are dropped up to its end.
        let mut skipping = false;
        loop {
            if carried == buf.len() {
                if buf.len() < max_line {
                    buf.resize((buf.len() * 2).min(max_line), 0);
                } else {
                    self.core.line_too_long(&buf[..carried], max_line, sink);
                    progress(carried);
                    carried = 0;
                    skipping = true;
                }
            }
            let n = match reader.read(&mut buf[carried..]) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            let mut filled = carried + n;
            if skipping {
                let Some(end) = memchr::memchr(b'\n', &buf[..filled]) else {
                    progress(filled);
                    carried = 0;
                    continue;
                };
                progress(end + 1);
                buf.copy_within(end + 1..filled, 0);
                filled -= end + 1;
                skipping = false;
            }
            match memchr::memrchr(b'\n', &buf[..filled]) {
                Some(last) => {
                    let end = last + 1;
                    self.push_lines(&buf[..end], sink);
                    progress(end);
                    buf.copy_within(end..filled, 0);
                    carried = filled - end;
                }
                None => carried = filled,
            }
        }
        if carried > 0 && !skipping {
            self.push_lines(&buf[..carried], sink);
            progress(carried);
        }
        Ok(())
    }

    /// Feeds a validated input (the library entry point for callers that
    /// build inputs themselves).
    pub fn push(&mut self, input: Input, sink: &mut dyn Sink) {
        self.core.push(&self.compiled, input, sink);
    }

    /// Releases buffered inputs (end of input).
    pub fn finish(&mut self, sink: &mut dyn Sink) {
        self.core.finish(&self.compiled, sink);
    }

    /// Advances event time to `until`: releases buffered inputs up to it and
    /// fires every timer due at or before it.
    pub fn advance_to(&mut self, until: i64, sink: &mut dyn Sink) {
        self.core.advance_to(&self.compiled, until, sink);
    }

    /// Go-live: places an existing customer before any event, with its
    /// traits and (optionally) its current stage entered at `entered_at`, so
    /// the playbook starts from where the account really is. Fails if the
    /// subject was already placed or has events, or the stage is unknown.
    pub fn place(
        &mut self,
        key: &str,
        traits: &[(u32, Option<i64>)],
        stage: Option<&str>,
        entered_at: i64,
        sink: &mut dyn Sink,
    ) -> Result<(), String> {
        self.core
            .place(&self.compiled, key, traits, stage, entered_at, sink)
    }

    /// Replaces the running playbook with a new version while keeping every
    /// subject's state, timers and buffered input. Allowed when the new
    /// version keeps state the same way: the same traits, events, metrics,
    /// stages, milestones, rules, escalations and frame layout, so only
    /// conditions, thresholds, scores' formulas, actions and policies changed.
    /// The old version's compiled code is freed once nothing uses it.
    pub fn replace_playbook(&mut self, compiled: Compiled) -> Result<(), RuntimeError> {
        let old = &self.compiled.program;
        let new = &compiled.program;
        let fields = |f: &[stagecraft_ir::FieldDef]| -> Vec<(String, Type)> {
            f.iter().map(|d| (d.name.clone(), d.ty)).collect()
        };
        let events = |p: &Program| -> Vec<(String, Vec<(String, Type)>)> {
            p.events
                .iter()
                .map(|e| (e.name.clone(), fields(&e.props)))
                .collect()
        };
        let metrics = |p: &Program| -> Vec<_> {
            p.metrics
                .iter()
                .map(|m| (m.kind, m.window, m.event, m.prop, m.ty))
                .collect()
        };
        let names = |v: Vec<&String>| -> Vec<String> { v.into_iter().cloned().collect() };
        let checks: [(&'static str, bool); 8] = [
            ("the frame layout", old.layout == new.layout),
            ("the traits", fields(&old.traits) == fields(&new.traits)),
            ("the events", events(old) == events(new)),
            ("the metrics", metrics(old) == metrics(new)),
            (
                "the stages",
                names(old.stages.iter().map(|s| &s.name).collect())
                    == names(new.stages.iter().map(|s| &s.name).collect()),
            ),
            (
                "the milestones",
                names(old.milestones.iter().map(|m| &m.name).collect())
                    == names(new.milestones.iter().map(|m| &m.name).collect()),
            ),
            (
                "the rules",
                names(old.rules.iter().map(|r| &r.name).collect())
                    == names(new.rules.iter().map(|r| &r.name).collect())
                    && old.transitions.len() == new.transitions.len(),
            ),
            (
                "the escalations",
                old.escalations
                    .iter()
                    .map(|e| (&e.name, e.steps.len()))
                    .eq(new.escalations.iter().map(|e| (&e.name, e.steps.len()))),
            ),
        ];
        if let Some((what, _)) = checks.iter().find(|(_, same)| !same) {
            return Err(RuntimeError::IncompatibleVersion {
                name: new.name.clone(),
                what,
            });
        }
        self.compiled = compiled;
        self.core.zones.clear();
        // Metrics keep their values (their definitions are the same), but a
        // score's formula may have changed.
        for subject in self.core.subjects.iter_mut() {
            subject.forget_scores();
        }
        Ok(())
    }

    pub(crate) fn state(&self) -> EngineState {
        self.core.state()
    }

    pub(crate) fn from_state(compiled: Compiled, mut state: EngineState) -> Engine {
        state.symbols.reindex();
        let mut seen = SeenIds::default();
        for (t, h) in &state.seen_messages {
            seen.remember(*h, *t);
        }
        let core = Core {
            config: state.config,
            subjects: Subjects::new(state.subjects),
            user_accounts: state.user_accounts.into_iter().collect(),
            accounts: state.accounts.into_iter().collect(),
            symbols: state.symbols,
            timers: state.timers.into_iter().map(Reverse).collect(),
            seen,
            pending: state.pending.into_iter().map(Reverse).collect(),
            clock: state.clock,
            newest: state.newest,
            line: state.line,
            seq: state.seq,
            summary: state.summary,
            zones: HashMap::new(),
            deferred: state.deferred.into_iter().collect(),
            entered_now: None,
            minute: MinuteCache::default(),
        };
        Engine { compiled, core }
    }
}

// Every step takes the compiled playbook, the subject, the time, the cause and
// the sink; bundling them would only move the list into a struct.
#[allow(clippy::too_many_arguments)]
impl Core {
    // ------------------------------------------------------------ input

    /// Feeds whole NDJSON lines, reading three ahead of the one processed
    /// (`PREFETCH_STEPS`): the outcomes of `push_line` over each line.
    fn push_lines(&mut self, c: &Compiled, text: &[u8], sink: &mut dyn Sink) {
        // Lines read ahead: parsed, their state being loaded, not yet
        // accepted. Anything that reaches the sink first accepts them all,
        // so outcomes and dead letters keep the order of the lines.
        let mut ahead = AheadRing::new();
        // A chunk is usually valid UTF-8 as a whole: then it is checked once,
        // not line by line, and the scanner finds where each line ends.
        let valid = simdutf8::basic::from_utf8(text).ok();
        let mut start = 0;
        while start < text.len() {
            let number = self.next_line();
            if let Some(valid) = valid {
                let rest = &valid[start..];
                let mut call = ingest::Call {
                    minute: self.minute,
                    ..Default::default()
                };
                let read = scan::line_call(rest, &mut call);
                self.minute = call.minute;
                if let Some(end) = read {
                    let parsed = ingest::from_call(&call, &c.program, &mut self.symbols);
                    let line = &rest[..end];
                    start += end + 1;
                    let line = line.strip_suffix('\r').unwrap_or(line);
                    self.queue(c, &mut ahead, number, line, parsed, sink);
                    continue;
                }
            }
            let end = memchr::memchr(b'\n', &text[start..]).map_or(text.len(), |i| start + i);
            let bytes = &text[start..end];
            let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
            // The fast check first; the standard one finds where it fails.
            let utf8 = match valid {
                Some(valid) => Ok(&valid[start..start + bytes.len()]),
                None => simdutf8::basic::from_utf8(bytes).or_else(|_| std::str::from_utf8(bytes)),
            };
            start = end + 1;
            match utf8 {
                Ok(line) => {
                    // A line the scanner gave up on in the chunk, it gives
                    // up on alone too (tests/scan.rs): straight to serde.
                    let scanned = valid.is_some();
                    if let Some(parsed) = self.parse(c, line, scanned) {
                        self.queue(c, &mut ahead, number, line, parsed, sink);
                    }
                }
                Err(e) => {
                    let rejected = Rejected::DeadLetter {
                        category: "unparsable",
                        reason: format!(
                            "not UTF-8: invalid byte at column {}",
                            e.valid_up_to() + 1
                        ),
                    };
                    while ahead.len > 0 {
                        self.accept_oldest(c, &mut ahead, sink);
                    }
                    self.reject(number, &String::from_utf8_lossy(bytes), rejected, sink);
                }
            }
        }
        while ahead.len > 0 {
            self.accept_oldest(c, &mut ahead, sink);
        }
    }

    /// Reads a parsed line ahead, or rejects it once every line read ahead
    /// of it is accepted, so that outcomes keep the order of the lines.
    #[inline(always)]
    fn queue<'t>(
        &mut self,
        c: &Compiled,
        ahead: &mut AheadRing<'t>,
        number: u64,
        line: &'t str,
        parsed: Result<Input, Rejected>,
        sink: &mut dyn Sink,
    ) {
        match parsed {
            Ok(input) => {
                self.read_ahead(ahead, input, number, line);
                if ahead.len > PREFETCH_STEPS {
                    self.accept_oldest(c, ahead, sink);
                }
            }
            Err(rejected) => {
                while ahead.len > 0 {
                    self.accept_oldest(c, ahead, sink);
                }
                self.reject(number, line, rejected, sink);
            }
        }
    }

    fn accept_oldest(&mut self, c: &Compiled, ahead: &mut AheadRing, sink: &mut dyn Sink) {
        if let Some(next) = ahead.oldest() {
            self.accept(c, &next.input, next.hints, next.number, next.line, sink);
        }
        ahead.drop_oldest();
    }

    /// Queues a parsed line and moves every line read ahead one step closer
    /// to having its state loaded. Inlined, like `AheadRing::push`: as calls
    /// they cost 35 instructions a W1 line more.
    #[inline(always)]
    fn read_ahead<'t>(&self, ahead: &mut AheadRing<'t>, input: Input, number: u64, line: &'t str) {
        let subject = match (&input.subject, &input.per) {
            (SubjectRef::Account(key), None) => Some(self.subjects.lookahead(key)),
            _ => None,
        };
        let message = input
            .message_id
            .as_ref()
            .filter(|_| self.config.dedupe_window_millis > 0)
            .map(|id| message_hash(id.as_bytes()));
        if let Some(hash) = message {
            self.seen.prefetch(hash);
        }
        ahead.push(Ahead {
            input,
            number,
            line,
            hints: Hints { message, subject },
        });
        for back in 1..PREFETCH_STEPS {
            if let Some(subject) = ahead.back_mut(back).and_then(|a| a.hints.subject.as_mut()) {
                self.subjects.prefetch(subject, PREFETCH_STEPS - back);
            }
        }
    }

    /// Feeds one NDJSON line. Lines are numbered by the engine, across
    /// chunks and restores.
    fn push_line(&mut self, c: &Compiled, line: &str, sink: &mut dyn Sink) {
        let number = self.next_line();
        match self.parse(c, line, false) {
            // By reference: the input stays where parsing wrote it.
            Some(Ok(ref input)) => self.accept(c, input, Hints::default(), number, line, sink),
            Some(Err(rejected)) => self.reject(number, line, rejected, sink),
            None => {}
        }
    }

    /// Numbers and counts the next line.
    fn next_line(&mut self) -> u64 {
        self.line += 1;
        self.summary.lines += 1;
        self.line
    }

    /// Parses a line; `None` for a blank one, counted as such.
    /// Parses a line, or counts it blank. `scanned`: the scanner already
    /// gave up on it, so only serde_json is left to read it.
    fn parse(
        &mut self,
        c: &Compiled,
        line: &str,
        scanned: bool,
    ) -> Option<Result<Input, Rejected>> {
        if line.trim().is_empty() {
            self.summary.blank_lines += 1;
            return None;
        }
        let (program, symbols) = (&c.program, &mut self.symbols);
        Some(if scanned {
            ingest::parse_line_serde(line, program, symbols)
        } else {
            ingest::parse_line(line, program, symbols)
        })
    }

    fn reject(&mut self, number: u64, line: &str, rejected: Rejected, sink: &mut dyn Sink) {
        match rejected {
            Rejected::UnknownEvent(name) => self.summary.count_unknown_event(&name),
            Rejected::Ignored(why) => {
                *self.summary.ignored.entry(why.to_string()).or_default() += 1
            }
            Rejected::DeadLetter { category, reason } => {
                self.dead_letter(number, category, reason, line, sink)
            }
        }
    }

    /// Counts a line longer than the reader holds and writes it as a dead
    /// letter with its first bytes.
    fn line_too_long(&mut self, start: &[u8], max_line: usize, sink: &mut dyn Sink) {
        let number = self.next_line();
        let reason = format!("the line is {max_line} bytes or longer");
        let mut shown = String::from_utf8_lossy(&start[..start.len().min(1_000)]).into_owned();
        shown.push('…');
        self.dead_letter(number, "unparsable", reason, &shown, sink);
    }

    fn dead_letter(
        &mut self,
        line: u64,
        category: &str,
        reason: String,
        raw: &str,
        sink: &mut dyn Sink,
    ) {
        *self
            .summary
            .dead_letters
            .entry(category.to_string())
            .or_default() += 1;
        sink.dead_letter(DeadLetter {
            line,
            category: category.to_string(),
            reason,
            raw: ingest::truncate(raw, 1_000),
        });
    }

    /// Feeds a validated input (the library entry point for callers that
    /// build inputs themselves).
    fn push(&mut self, c: &Compiled, input: Input, sink: &mut dyn Sink) {
        let number = self.next_line();
        self.accept(c, &input, Hints::default(), number, "", sink);
    }

    fn accept(
        &mut self,
        c: &Compiled,
        input: &Input,
        hints: Hints,
        line: u64,
        raw: &str,
        sink: &mut dyn Sink,
    ) {
        let watermark = self.watermark();
        if watermark != NEVER && input.time < watermark {
            let reason = format!(
                "event time {} is before the watermark {} (allowed lateness {})",
                time::format(input.time),
                time::format(watermark),
                time::format_duration(self.config.allowed_lateness_millis)
            );
            self.dead_letter(line, "late", reason, raw, sink);
            return;
        }
        if let Some(id) = input
            .message_id
            .as_ref()
            .filter(|_| self.config.dedupe_window_millis > 0)
        {
            let hash = hints.message.unwrap_or_else(|| message_hash(id.as_bytes()));
            if self.is_duplicate(hash, input.time) {
                self.summary.duplicates += 1;
                return;
            }
        }
        self.newest = self.newest.max(input.time);
        self.seq += 1;
        if self.config.allowed_lateness_millis == 0 {
            self.process(c, input, hints.subject, line, sink);
            return;
        }
        self.pending.push(Reverse(Pending {
            time: input.time,
            seq: self.seq,
            line,
            input: input.clone(),
        }));
        let release = self.watermark();
        self.release(c, release, sink);
    }

    fn watermark(&self) -> i64 {
        if self.newest == NEVER {
            NEVER
        } else {
            self.newest
                .saturating_sub(self.config.allowed_lateness_millis)
        }
    }

    fn release(&mut self, c: &Compiled, upto: i64, sink: &mut dyn Sink) {
        while self.pending.peek().is_some_and(|Reverse(p)| p.time <= upto) {
            if let Some(Reverse(p)) = self.pending.pop() {
                self.process(c, &p.input, None, p.line, sink);
            }
        }
    }

    /// Whether a message id was seen within the dedupe window. An id is
    /// remembered until it falls behind the horizon (the newest input time
    /// minus the window); forgotten ids are swept out whenever the table
    /// would otherwise grow.
    fn is_duplicate(&mut self, hash: u64, at: i64) -> bool {
        let horizon = self
            .newest
            .max(at)
            .saturating_sub(self.config.dedupe_window_millis);
        let window = self.config.dedupe_window_millis.unsigned_abs();
        self.seen.check(hash, at, horizon, window)
    }

    /// Releases buffered inputs (end of input).
    fn finish(&mut self, c: &Compiled, sink: &mut dyn Sink) {
        self.release(c, i64::MAX, sink);
    }

    /// Advances event time to `until`: releases buffered inputs up to it and
    /// fires every timer due at or before it.
    fn advance_to(&mut self, c: &Compiled, until: i64, sink: &mut dyn Sink) {
        self.release(c, until, sink);
        self.fire_timers(c, until, true, sink);
        self.clock = self.clock.max(until);
        self.newest = self.newest.max(until);
    }

    /// Go-live: places an existing customer before any event, with its
    /// traits and (optionally) its current stage entered at `entered_at`, so
    /// the playbook starts from where the account really is. Fails if the
    /// subject was already placed or has events, or the stage is unknown.
    pub fn place(
        &mut self,
        c: &Compiled,
        key: &str,
        traits: &[(u32, Option<i64>)],
        stage: Option<&str>,
        entered_at: i64,
        sink: &mut dyn Sink,
    ) -> Result<(), String> {
        let program: &Program = &c.program;
        let layout = program.layout;
        if self
            .subjects
            .find(key)
            .is_some_and(|s| self.subjects[s as usize].entered)
        {
            return Err(format!("`{key}` is already in the lifecycle"));
        }
        let stage = match stage {
            Some(name) => program
                .stage_id(name)
                .ok_or_else(|| format!("`{name}` is not a stage of this playbook"))?,
            None => program.initial_stage(),
        };
        // A placement is not an input line: its cause has line 0, and the
        // lines of the input that follows keep their numbers.
        let cause = Cause::Request {
            message_id: None,
            line: 0,
        };
        let s = self.subject_index(c, key, None);
        {
            let subject = &mut self.subjects[s as usize];
            for (index, value) in traits {
                let def = &program.traits[*index as usize];
                subject.set(layout.trait_base + index, value.or(def.default));
            }
            subject.entered = true;
            subject.set(layout.first_seen, Some(entered_at));
            subject.set(layout.stage, Some(i64::from(stage)));
            subject.set(layout.stage_entered_at, Some(entered_at));
            if let Some(slot) = program.entered_at_slots[stage as usize] {
                subject.set(slot, Some(entered_at));
            }
        }
        self.summary.placed += 1;
        self.emit(s, entered_at, &cause, OutcomeKind::Entered { stage }, sink);
        self.arm_stage_timers(c, s, stage, entered_at);
        self.arm_date_timers(c, s, None, entered_at);
        self.set_input(c, s, None, None);
        let refreshed = self.refresh_metrics(c, s, entered_at, &cause, sink);
        self.compute_scores(c, s, entered_at, refreshed, &cause, sink);
        self.store_crossings(c, s, entered_at);
        Ok(())
    }

    // ------------------------------------------------------------ processing

    /// The subject `key` names, added if new; `ahead` is a lookahead of
    /// the same key, if one was taken.
    fn subject_index(&mut self, c: &Compiled, key: &str, ahead: Option<&Lookahead>) -> u32 {
        if let Some(i) = self.subjects.find_ahead(key, ahead) {
            return i;
        }
        let index = self
            .subjects
            .insert(Subject::new(key, &c.program, &c.state));
        self.summary.subjects += 1;
        index
    }

    fn process(
        &mut self,
        c: &Compiled,
        input: &Input,
        subject: Option<Lookahead>,
        line: u64,
        sink: &mut dyn Sink,
    ) {
        self.fire_timers(c, input.time, false, sink);
        self.clock = self.clock.max(input.time);
        // Borrowed from the input, the usual case; a user's account is
        // copied out of the table that `self` holds.
        let user_account;
        let account = match &input.subject {
            SubjectRef::Account(key) => Some(key),
            SubjectRef::User(user) => {
                user_account = self.user_accounts.get(user).cloned();
                user_account.as_ref()
            }
        };
        let Some(account) = account else {
            if matches!(input.kind, InputKind::Traits { .. }) {
                *self
                    .summary
                    .ignored
                    .entry("identify without account".into())
                    .or_default() += 1;
            } else {
                let reason =
                    "no `groupId`, and the user was not linked to an account by a `group` call";
                self.dead_letter(line, "missing_subject", reason.to_string(), "", sink);
            }
            return;
        };
        let t = input.time;
        match &input.kind {
            &InputKind::Track { event, ref props } => {
                self.summary.events += 1;
                let s = match &input.per {
                    Some(per) => {
                        let s = self.subject_index(c, &format!("{account}/{per}"), None);
                        self.join_account(c, account, s);
                        s
                    }
                    None => self.subject_index(c, account, subject.as_ref()),
                };
                let cause = Cause::Event {
                    event,
                    message_id: input.message_id.clone(),
                    line,
                };
                self.on_track(c, s, event, props, t, &cause, sink);
            }
            InputKind::Traits { values, user } => {
                self.summary.trait_updates += 1;
                if let Some(user) = user {
                    self.user_accounts
                        .insert(CompactString::from(&**user), account.clone());
                }
                if c.program.subject_per.is_some() {
                    // The account's traits belong to all its lifecycles.
                    let entry = self.accounts.entry(account.clone()).or_default();
                    for (index, value) in values {
                        entry.values.retain(|(i, _)| i != index);
                        entry.values.push((*index, *value));
                    }
                    let subjects = entry.subjects.clone();
                    for s in subjects {
                        self.on_traits(c, s, values, t);
                    }
                } else {
                    let s = self.subject_index(c, account, subject.as_ref());
                    self.on_traits(c, s, values, t);
                }
            }
            InputKind::Manual {
                to,
                role,
                actor,
                reason,
                override_,
            } => {
                self.summary.manual_requests += 1;
                let cause = Cause::Request {
                    message_id: input.message_id.clone(),
                    line,
                };
                let info = ManualInfo {
                    to: to.clone(),
                    role: role.clone(),
                    actor: actor.clone(),
                    reason: reason.clone(),
                    rejection: None,
                };
                match self.subjects.find(account) {
                    Some(s) => self.on_manual(c, s, info, *override_, t, &cause, sink),
                    None => self.dead_letter(
                        line,
                        "unknown_subject",
                        format!("manual transition for `{account}`, which has no events yet"),
                        "",
                        sink,
                    ),
                }
            }
            InputKind::Ack { escalation, actor } => {
                let cause = Cause::Request {
                    message_id: input.message_id.clone(),
                    line,
                };
                self.on_ack(c, account, escalation, actor.clone(), t, &cause, line, sink);
            }
        }
    }

    fn emit(
        &mut self,
        subject: u32,
        time: i64,
        cause: &Cause,
        kind: OutcomeKind,
        sink: &mut dyn Sink,
    ) {
        self.summary.count_outcome(&kind);
        let outcome = Outcome {
            subject,
            time,
            cause: cause.clone(),
            kind,
        };
        sink.outcome(&outcome, &Names(&self.subjects));
    }

    fn observe(&self, point: Observation, s: u32, t: i64, sink: &mut dyn Sink) {
        if sink.wants_observations() {
            sink.observe(point, &self.frame(s, t), &Names(&self.subjects));
        }
    }

    /// Links a per-key subject to its account the first time it is seen,
    /// giving it the account's traits.
    fn join_account(&mut self, c: &Compiled, account: &str, s: u32) {
        let program: &Program = &c.program;
        let entry = self.accounts.entry(account.into()).or_default();
        if entry.subjects.contains(&s) {
            return;
        }
        entry.subjects.push(s);
        let subject = &mut self.subjects[s as usize];
        for (index, value) in &entry.values {
            let def = &program.traits[*index as usize];
            subject.set(program.layout.trait_base + index, value.or(def.default));
        }
    }

    fn frame(&self, s: u32, now: i64) -> Frame<'_> {
        self.subjects[s as usize].frame(now)
    }

    fn set_input(&mut self, c: &Compiled, s: u32, event: Option<i64>, timer: Option<i64>) {
        let layout = c.program.layout;
        let subject = &mut self.subjects[s as usize];
        subject.set(layout.input_event, event);
        subject.set(layout.input_timer, timer);
    }

    /// A subject's first track event: it enters the initial stage, and the
    /// values edges compare against are taken from its initial state.
    fn enter(&mut self, c: &Compiled, s: u32, t: i64, cause: &Cause, sink: &mut dyn Sink) {
        let program: &Program = &c.program;
        let layout = program.layout;
        let initial = program.initial_stage();
        self.entered_now = Some((s, t));
        {
            let subject = &mut self.subjects[s as usize];
            subject.entered = true;
            subject.set(layout.first_seen, Some(t));
            subject.set(layout.stage, Some(i64::from(initial)));
            subject.set(layout.stage_entered_at, Some(t));
            if let Some(slot) = program.entered_at_slots[initial as usize] {
                subject.set(slot, Some(t));
            }
        }
        self.emit(s, t, cause, OutcomeKind::Entered { stage: initial }, sink);
        self.arm_stage_timers(c, s, initial, t);
        self.arm_date_timers(c, s, None, t);
        self.set_input(c, s, None, None);
        let refreshed = self.refresh_metrics(c, s, t, cause, sink);
        self.compute_scores(c, s, t, refreshed, cause, sink);
        self.store_crossings(c, s, t);
    }

    fn on_track(
        &mut self,
        c: &Compiled,
        s: u32,
        event: u32,
        props: &ingest::Props,
        t: i64,
        cause: &Cause,
        sink: &mut dyn Sink,
    ) {
        let program: &Program = &c.program;
        let layout = program.layout;
        if !self.subjects[s as usize].entered {
            self.enter(c, s, t, cause, sink);
        }
        {
            let subject = &mut self.subjects[s as usize];
            subject.set(layout.input_event, Some(i64::from(event)));
            subject.set(layout.input_timer, None);
            for (i, value) in props.iter().enumerate() {
                subject.set(layout.prop_base + i as u32, *value);
            }
            if let Some(slot) = program.last_seen_slots[event as usize] {
                subject.set(slot, Some(t));
            }
        }
        self.update_metrics(c, s, event, props, t, cause, sink);
        self.update_milestones(c, s, event, t, cause, sink);
        self.evaluate(c, s, event, t, cause, sink);
    }

    /// A trait update sets traits and re-arms date timers; conditions see
    /// the new values at the subject's next event.
    fn on_traits(&mut self, c: &Compiled, s: u32, values: &[(u32, Option<i64>)], t: i64) {
        let program: &Program = &c.program;
        let mut changed_dates = Vec::new();
        {
            let subject = &mut self.subjects[s as usize];
            for (index, value) in values {
                let def = &program.traits[*index as usize];
                let value = value.or(def.default);
                subject.set(program.layout.trait_base + index, value);
                if matches!(def.ty, Type::Date | Type::Timestamp) {
                    changed_dates.push(*index);
                }
            }
        }
        if !self.subjects[s as usize].entered {
            return;
        }
        if !changed_dates.is_empty() {
            self.arm_date_timers(c, s, Some(&changed_dates), t);
        }
    }

    /// After an event: metrics, scores, rules, transitions, then the values
    /// edges will compare against next time.
    fn evaluate(
        &mut self,
        c: &Compiled,
        s: u32,
        event: u32,
        t: i64,
        cause: &Cause,
        sink: &mut dyn Sink,
    ) {
        let index: &PlanIndex = &c.index;
        let refreshed = self.refresh_metrics(c, s, t, cause, sink);
        self.compute_scores(c, s, t, refreshed, cause, sink);
        self.observe(
            Observation::Evaluated {
                subject: s,
                time: t,
                timer: None,
            },
            s,
            t,
            sink,
        );
        let rules = &index.rules_on_event[event as usize];
        for r in rules {
            self.try_rule(c, s, *r, t, cause, sink);
        }
        let escalations = &index.escalations_on_event[event as usize];
        for e in escalations {
            self.try_escalation(c, s, *e, t, cause, sink);
        }
        self.cascade(c, s, t, cause, sink);
        self.store_crossings(c, s, t);
    }

    fn report_error(
        &mut self,
        s: u32,
        t: i64,
        cause: &Cause,
        site: ErrorSite,
        error: EvalError,
        sink: &mut dyn Sink,
    ) {
        self.emit(
            s,
            t,
            cause,
            OutcomeKind::Errored { what: site, error },
            sink,
        );
    }

    fn update_metrics(
        &mut self,
        c: &Compiled,
        s: u32,
        event: u32,
        props: &ingest::Props,
        t: i64,
        cause: &Cause,
        sink: &mut dyn Sink,
    ) {
        let program: &Program = &c.program;
        let index: &PlanIndex = &c.index;
        for &m in &index.metrics_of_event[event as usize] {
            if let Some(filter) = index.metric_filters[m as usize] {
                match c.evaluator.eval(filter, &self.frame(s, t)) {
                    Value::TRUE => {}
                    Value::Err(e) => {
                        self.report_error(s, t, cause, ErrorSite::MetricFilter(m), e, sink);
                        continue;
                    }
                    _ => continue,
                }
            }
            let value = program.metrics[m as usize]
                .prop
                .and_then(|p| props.get(p as usize).copied().flatten());
            self.subjects[s as usize].record(&c.state, m, t, value);
        }
    }

    /// Writes every metric's value at time `t` into the frame: those whose
    /// slot is out of date, which at most events is the one the event
    /// counts. Returns the metrics it wrote, by bit (all of them when there
    /// are too many to track).
    fn refresh_metrics(
        &mut self,
        c: &Compiled,
        s: u32,
        t: i64,
        cause: &Cause,
        sink: &mut dyn Sink,
    ) -> u64 {
        let layout = &c.state;
        let base = c.program.layout.metric_base;
        let mut errors = Vec::new();
        let subject = &mut self.subjects[s as usize];
        let mut refresh = |subject: &mut Subject, m: u32, window_moves_at: &mut i64| -> bool {
            match metric_value(subject, layout, m, t, window_moves_at) {
                Ok(v) => {
                    subject.set(base + m, v);
                    false
                }
                Err(e) => {
                    subject.set(base + m, None);
                    errors.push((m, e));
                    true
                }
            }
        };
        let mut window_moves_at = i64::MAX;
        let written = match subject.stale_metrics(layout, t) {
            Some(StaleMetrics {
                mut due,
                windows_moved,
            }) => {
                let written = due;
                let mut failed = 0;
                while due != 0 {
                    let m = due.trailing_zeros();
                    due &= due - 1;
                    if refresh(subject, m, &mut window_moves_at) {
                        failed |= 1 << m;
                    }
                }
                subject.refreshed(failed, window_moves_at, windows_moved);
                written
            }
            None => {
                for m in 0..layout.metrics.len() as u32 {
                    refresh(subject, m, &mut window_moves_at);
                }
                u64::MAX
            }
        };
        for (m, e) in errors {
            self.report_error(s, t, cause, ErrorSite::MetricFilter(m), e, sink);
        }
        written
    }

    /// Computes the scores into the frame, after a refresh that wrote the
    /// `refreshed` metrics: a score that reads only metrics, none of them
    /// refreshed, keeps the value it has.
    fn compute_scores(
        &mut self,
        c: &Compiled,
        s: u32,
        t: i64,
        refreshed: u64,
        cause: &Cause,
        sink: &mut dyn Sink,
    ) {
        let program: &Program = &c.program;
        let index: &PlanIndex = &c.index;
        for &score in &program.score_order {
            let unchanged =
                index.score_metrics[score as usize].is_some_and(|metrics| metrics & refreshed == 0);
            if unchanged && self.subjects[s as usize].score_is_current(score) {
                continue;
            }
            let value = c
                .evaluator
                .eval(index.scores[score as usize], &self.frame(s, t));
            let slot = program.layout.score_base + score;
            let subject = &mut self.subjects[s as usize];
            subject.score_computed(score, matches!(value, Value::Err(_)));
            match value {
                Value::Val(v) => subject.set(slot, Some(v)),
                Value::Missing => subject.set(slot, None),
                Value::Err(e) => {
                    subject.set(slot, None);
                    self.report_error(s, t, cause, ErrorSite::Score(score), e, sink);
                }
            }
        }
    }

    fn store_crossings(&mut self, c: &Compiled, s: u32, t: i64) {
        let program: &Program = &c.program;
        let index: &PlanIndex = &c.index;
        for (crossing, def) in program.crossings.iter().enumerate() {
            // Most crossings watch a score or metric: copy its slot.
            let stored = match def.value.expr {
                Expr::Load(slot) => self.subjects[s as usize].get(slot),
                _ => match c
                    .evaluator
                    .eval(index.crossings[crossing], &self.frame(s, t))
                {
                    Value::Val(v) => Some(v),
                    _ => None,
                },
            };
            self.subjects[s as usize].set(def.slot, stored);
        }
    }

    fn update_milestones(
        &mut self,
        c: &Compiled,
        s: u32,
        event: u32,
        t: i64,
        cause: &Cause,
        sink: &mut dyn Sink,
    ) {
        let program: &Program = &c.program;
        let index: &PlanIndex = &c.index;
        for (m, def) in program.milestones.iter().enumerate() {
            let m = m as u32;
            let slot = program.layout.milestone_base + m;
            let key = TimerKey::Milestone(m).encode(program);
            let mut passes = |this: &mut Self, filter: Option<u32>| -> bool {
                match filter {
                    None => true,
                    Some(f) => match c.evaluator.eval(f, &this.frame(s, t)) {
                        Value::TRUE => true,
                        Value::Err(e) => {
                            this.report_error(s, t, cause, ErrorSite::MilestoneFilter(m), e, sink);
                            false
                        }
                        _ => false,
                    },
                }
            };
            let state = self.subjects[s as usize]
                .get(slot)
                .unwrap_or(milestone_state::NOT_STARTED);
            if def.done == event
                && state == milestone_state::RUNNING
                && passes(self, index.milestone_done[m as usize])
            {
                let subject = &mut self.subjects[s as usize];
                subject.set(slot, Some(milestone_state::DONE));
                subject.disarm(&c.state, key);
            }
            if def.starts == event && passes(self, index.milestone_starts[m as usize]) {
                let deadline = t.saturating_add(def.due_millis);
                self.subjects[s as usize].set(slot, Some(milestone_state::RUNNING));
                self.arm(c, s, key, deadline);
            }
        }
    }

    fn arm(&mut self, c: &Compiled, s: u32, key: i64, deadline: i64) {
        self.subjects[s as usize].arm(&c.state, key, deadline);
        self.timers.push(Reverse((deadline, s, key)));
    }

    /// Arms the `after D in stage` timers of transitions leaving `stage` and
    /// of rules and escalations counting from it.
    fn arm_stage_timers(&mut self, c: &Compiled, s: u32, stage: u32, t: i64) {
        for (key, millis) in stage_timers(&c.program, stage) {
            self.arm(c, s, key, t.saturating_add(millis));
        }
    }

    fn disarm_stage_timers(&mut self, c: &Compiled, s: u32, stage: u32) {
        for (key, _) in stage_timers(&c.program, stage) {
            self.subjects[s as usize].disarm(&c.state, key);
        }
    }

    /// Arms `at D before|after TRAIT` timers. A deadline already past is
    /// not armed: date rules fire for dates that come due while running.
    fn arm_date_timers(&mut self, c: &Compiled, s: u32, only: Option<&[u32]>, t: i64) {
        let program: &Program = &c.program;
        let owners = program
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| (r.trigger, TimerKey::Rule(i as u32)))
            .chain(
                program
                    .escalations
                    .iter()
                    .enumerate()
                    .map(|(i, e)| (e.trigger, TimerKey::Escalation(i as u32))),
            );
        for (trigger, owner) in owners {
            let Trigger::AtDate {
                trait_index,
                offset_millis,
            } = trigger
            else {
                continue;
            };
            if only.is_some_and(|o| !o.contains(&trait_index)) {
                continue;
            }
            let key = owner.encode(program);
            let def = &program.traits[trait_index as usize];
            let anchor = self.subjects[s as usize].get(program.layout.trait_base + trait_index);
            let anchor_millis = anchor.map(|a| match def.ty {
                Type::Date => a.saturating_mul(time::MILLIS_PER_DAY),
                _ => a,
            });
            match anchor_millis.map(|a| a.saturating_add(offset_millis)) {
                Some(deadline) if deadline >= t => self.arm(c, s, key, deadline),
                _ => self.subjects[s as usize].disarm(&c.state, key),
            }
        }
    }

    // ------------------------------------------------------------ timers

    /// Fires timers due before `t` (or at `t` too when `inclusive`), in
    /// deadline order, then subject, then key.
    fn fire_timers(&mut self, c: &Compiled, t: i64, inclusive: bool, sink: &mut dyn Sink) {
        while let Some(&Reverse((deadline, s, key))) = self.timers.peek() {
            let due = if inclusive {
                deadline <= t
            } else {
                deadline < t
            };
            if !due {
                break;
            }
            self.timers.pop();
            if !self.subjects[s as usize].take_timer(&c.state, key, deadline) {
                continue;
            }
            self.clock = self.clock.max(deadline);
            self.summary.timers_fired += 1;
            self.on_timer(c, s, key, deadline, sink);
        }
    }

    fn on_timer(&mut self, c: &Compiled, s: u32, key: i64, due: i64, sink: &mut dyn Sink) {
        let program: &Program = &c.program;
        let cause = Cause::Timer { key, due };
        self.set_input(c, s, None, Some(key));
        {
            let layout = program.layout;
            let subject = &mut self.subjects[s as usize];
            for i in layout.prop_base..layout.on_demand_base {
                subject.set(i, None);
            }
        }
        // Conditions of timer-triggered rules and transitions see metrics and
        // scores at the timer's time; edges keep comparing event to event.
        let refreshed = self.refresh_metrics(c, s, due, &cause, sink);
        self.compute_scores(c, s, due, refreshed, &cause, sink);
        self.observe(
            Observation::Evaluated {
                subject: s,
                time: due,
                timer: Some(key),
            },
            s,
            due,
            sink,
        );
        match TimerKey::decode(key, program) {
            Some(TimerKey::Milestone(m)) => {
                let slot = program.layout.milestone_base + m;
                self.subjects[s as usize].set(slot, Some(milestone_state::MISSED));
                self.emit(
                    s,
                    due,
                    &cause,
                    OutcomeKind::MilestoneMissed { milestone: m },
                    sink,
                );
                for (r, rule) in program.rules.iter().enumerate() {
                    if rule.trigger == Trigger::MilestoneMissed(m) {
                        self.try_rule(c, s, r as u32, due, &cause, sink);
                    }
                }
                for (e, esc) in program.escalations.iter().enumerate() {
                    if esc.trigger == Trigger::MilestoneMissed(m) {
                        self.try_escalation(c, s, e as u32, due, &cause, sink);
                    }
                }
                self.cascade(c, s, due, &cause, sink);
            }
            Some(TimerKey::Transition(_)) => self.cascade(c, s, due, &cause, sink),
            Some(TimerKey::Rule(r)) => self.try_rule(c, s, r, due, &cause, sink),
            Some(TimerKey::Escalation(e)) => self.try_escalation(c, s, e, due, &cause, sink),
            Some(TimerKey::EscalationStep(e)) => self.escalation_step(c, s, e, due, &cause, sink),
            Some(TimerKey::Delivery) => self.deliver(c, s, due, sink),
            None => {}
        }
    }

    // ------------------------------------------------------------ transitions

    /// First matching transition from the current stage, repeated from each
    /// new stage; a stage entered twice in one input is a cycle.
    fn cascade(&mut self, c: &Compiled, s: u32, t: i64, cause: &Cause, sink: &mut dyn Sink) {
        let program: &Program = &c.program;
        let index: &PlanIndex = &c.index;
        let mut entered: smallvec::SmallVec<[u32; 4]> = smallvec::SmallVec::new();
        if self.entered_now == Some((s, t)) {
            entered.push(program.initial_stage());
        }
        loop {
            let stage = self.subjects[s as usize].stage(program);
            let Some((members, list)) = index.stage_guards.get(stage as usize) else {
                return;
            };
            if members.is_empty() {
                return;
            }
            self.observe(
                Observation::Step {
                    subject: s,
                    time: t,
                    stage,
                },
                s,
                t,
                sink,
            );
            let found = c.evaluator.first_true(*list, &self.frame(s, t));
            if found.errored {
                self.report_guard_errors(c, s, stage, found.matched, t, cause, sink);
            }
            let Some(position) = found.matched else {
                return;
            };
            let transition = members[position as usize];
            let to = program.transitions[transition as usize].to;
            if entered.contains(&to) {
                self.emit(s, t, cause, OutcomeKind::Cycle { stage: to }, sink);
                return;
            }
            entered.push(to);
            self.move_to(c, s, to, Some(transition), None, t, cause, sink);
        }
    }

    /// Finds which guards before the match errored, with the interpreter.
    fn report_guard_errors(
        &mut self,
        c: &Compiled,
        s: u32,
        stage: u32,
        matched: Option<u32>,
        t: i64,
        cause: &Cause,
        sink: &mut dyn Sink,
    ) {
        let index: &PlanIndex = &c.index;
        let plan: &EvalPlan = &c.plan;
        let (members, list) = &index.stage_guards[stage as usize];
        let ids = &plan.lists[*list as usize];
        let end = matched.map_or(ids.len(), |m| m as usize);
        for (position, id) in ids.iter().take(end).enumerate() {
            if let Value::Err(e) = eval(&plan.exprs[*id as usize], &self.frame(s, t)) {
                self.report_error(
                    s,
                    t,
                    cause,
                    ErrorSite::Transition(members[position]),
                    e,
                    sink,
                );
            }
        }
    }

    fn move_to(
        &mut self,
        c: &Compiled,
        s: u32,
        to: u32,
        transition: Option<u32>,
        manual: Option<Box<ManualInfo>>,
        t: i64,
        cause: &Cause,
        sink: &mut dyn Sink,
    ) {
        let program: &Program = &c.program;
        let layout = program.layout;
        let (from, entered_from) = {
            let subject = &self.subjects[s as usize];
            (subject.stage(program), subject.raw(layout.stage_entered_at))
        };
        self.emit(
            s,
            t,
            cause,
            OutcomeKind::Transition {
                from,
                to,
                transition,
                entered_from,
                manual,
            },
            sink,
        );
        self.disarm_stage_timers(c, s, from);
        {
            let subject = &mut self.subjects[s as usize];
            subject.set(layout.stage, Some(i64::from(to)));
            subject.set(layout.stage_entered_at, Some(t));
            if let Some(slot) = program.entered_at_slots[to as usize] {
                subject.set(slot, Some(t));
            }
            for (m, plan) in (0..).zip(&c.state.metrics) {
                if plan.in_stage {
                    subject.reset_metric(&c.state, m);
                }
            }
        }
        self.arm_stage_timers(c, s, to, t);
    }

    fn on_manual(
        &mut self,
        c: &Compiled,
        s: u32,
        mut info: ManualInfo,
        override_: bool,
        t: i64,
        cause: &Cause,
        sink: &mut dyn Sink,
    ) {
        let program: &Program = &c.program;
        let rejection = self.manual_rejection(c, s, &info, override_);
        match rejection {
            Err(why) => {
                info.rejection = Some(why);
                self.emit(
                    s,
                    t,
                    cause,
                    OutcomeKind::ManualRejected(Box::new(info)),
                    sink,
                );
            }
            Ok(to) => {
                let _ = program;
                self.move_to(c, s, to, None, Some(Box::new(info)), t, cause, sink);
            }
        }
    }

    fn manual_rejection(
        &self,
        c: &Compiled,
        s: u32,
        info: &ManualInfo,
        override_: bool,
    ) -> Result<u32, String> {
        let program: &Program = &c.program;
        let subject = &self.subjects[s as usize];
        if !subject.entered {
            return Err("the subject has not entered the lifecycle yet".into());
        }
        let Some(to) = program.stage_id(&info.to) else {
            return Err(format!("`{}` is not a stage of this playbook", info.to));
        };
        let from = subject.stage(program);
        let from_name = &program.stages[from as usize].name;
        let candidates: Vec<&stagecraft_ir::ManualDef> = program
            .manual
            .iter()
            .filter(|m| m.to == to && m.from.contains(&from))
            .collect();
        if candidates.is_empty() {
            return Err(format!(
                "no manual transition from `{from_name}` to `{}`",
                info.to
            ));
        }
        let allowed = candidates
            .iter()
            .find(|m| m.roles.contains(&info.role) || m.override_roles.contains(&info.role));
        let Some(def) = allowed else {
            let roles: Vec<&str> = candidates
                .iter()
                .flat_map(|m| m.roles.iter().map(String::as_str))
                .collect();
            return Err(format!(
                "role `{}` may not move to `{}` (allowed: {})",
                info.role,
                info.to,
                roles.join(", ")
            ));
        };
        if def.requires_reason && info.reason.is_none() {
            return Err("a reason is required".into());
        }
        if program.is_backward(from, to) && !def.backward {
            let may_override = override_ && def.override_roles.contains(&info.role);
            if !may_override {
                return Err(format!(
                    "moving back from `{from_name}` to `{}` needs `backward` in the playbook or an override by {}",
                    info.to,
                    if def.override_roles.is_empty() {
                        "nobody (no `override by` roles)".to_string()
                    } else {
                        def.override_roles.join(", ")
                    }
                ));
            }
        }
        Ok(to)
    }

    // ------------------------------------------------------------ rules and actions

    fn condition(
        &mut self,
        c: &Compiled,
        s: u32,
        expr: u32,
        site: ErrorSite,
        t: i64,
        cause: &Cause,
        sink: &mut dyn Sink,
    ) -> bool {
        match c.evaluator.eval(expr, &self.frame(s, t)) {
            Value::TRUE => true,
            Value::Err(e) => {
                self.report_error(s, t, cause, site, e, sink);
                false
            }
            _ => false,
        }
    }

    fn in_holdout(&self, s: u32, rule: &str, basis_points: u32) -> bool {
        basis_points > 0
            && holdout_bucket(&self.subjects[s as usize].key, rule) < u64::from(basis_points)
    }

    fn idempotency_key(
        &self,
        c: &Compiled,
        s: u32,
        owner: &str,
        action: u32,
        cause: &Cause,
    ) -> u64 {
        let program: &Program = &c.program;
        let mut hash = Fnv1a::new();
        for part in [
            program.name.as_bytes(),
            program.version.as_bytes(),
            self.subjects[s as usize].key.as_bytes(),
            owner.as_bytes(),
            &action.to_le_bytes(),
        ] {
            hash.bytes(part);
            hash.separator();
        }
        hash_cause(&mut hash, cause);
        hash.0
    }

    fn try_rule(
        &mut self,
        c: &Compiled,
        s: u32,
        r: u32,
        t: i64,
        cause: &Cause,
        sink: &mut dyn Sink,
    ) {
        let program: &Program = &c.program;
        let expr = c.index.rules[r as usize];
        if !self.condition(c, s, expr, ErrorSite::Rule(r), t, cause, sink) {
            return;
        }
        let rule = &program.rules[r as usize];
        let history = self.subjects[s as usize].history(&c.state, r);
        let blocked = if self.in_holdout(s, &rule.name, rule.holdout_basis_points) {
            Some((Status::HeldOut, Why::Holdout))
        } else if rule.once && history.first != NEVER {
            Some((
                Status::Suppressed,
                Why::Once {
                    first: history.first,
                },
            ))
        } else {
            history
                .cooling_until(rule.cooldown_millis, t)
                .map(|until| (Status::Suppressed, Why::Cooldown { until }))
        };
        // A level rule's condition can hold for many events in a row: what
        // blocks it is recorded once, not at every event.
        if rule.trigger == Trigger::When {
            match blocked {
                Some((Status::HeldOut, _)) if history.first != NEVER => return,
                Some((Status::HeldOut, _)) => self.subjects[s as usize].set_history(
                    &c.state,
                    r,
                    FireHistory {
                        first: t,
                        ..history
                    },
                ),
                Some(_) => return,
                None => {}
            }
        }
        let mut fired = false;
        for a in 0..rule.actions.len() as u32 {
            let key = self.idempotency_key(c, s, &rule.name, a, cause);
            let (status, why) = match blocked {
                Some((status, why)) => (status, Some(why)),
                None => self.gate(c, s, &rule.actions[a as usize].kind, t),
            };
            if matches!(status, Status::Emitted | Status::Deferred) {
                fired = true;
            }
            match status {
                Status::Emitted => self.record_emitted(c, s, &rule.actions[a as usize].kind, t),
                Status::Deferred => {
                    if let Some(Why::QuietHours { until }) = why {
                        self.defer(c, s, r, a, until, key, cause);
                    }
                }
                _ => {}
            }
            let payload = if matches!(status, Status::Emitted | Status::Deferred) {
                self.payload(c, s, &rule.actions[a as usize], t, r, cause, sink)
            } else {
                None
            };
            self.emit(
                s,
                t,
                cause,
                OutcomeKind::Action {
                    owner: Owner::Rule(r),
                    action: a,
                    status,
                    why,
                    idempotency_key: key,
                    payload,
                },
                sink,
            );
        }
        if fired {
            let subject = &mut self.subjects[s as usize];
            let history = subject.history(&c.state, r).fired_at(t);
            subject.set_history(&c.state, r, history);
            for (m, plan) in (0..).zip(&c.state.metrics) {
                if plan.kind == MetricKind::Sent(r) {
                    subject.record(&c.state, m, t, None);
                }
            }
        }
    }

    /// Caps and quiet hours: what happens to an action asked for at `t`.
    fn gate(&mut self, c: &Compiled, s: u32, kind: &ActionKind, t: i64) -> (Status, Option<Why>) {
        if let Some(cap) = self.full_cap(c, s, kind, t) {
            return (Status::Suppressed, Some(Why::Cap(cap)));
        }
        if kind.is_message() {
            if let Some(until) = self.quiet_until(c, s, t) {
                return (Status::Deferred, Some(Why::QuietHours { until }));
            }
        }
        (Status::Emitted, None)
    }

    fn full_cap(&self, c: &Compiled, s: u32, kind: &ActionKind, t: i64) -> Option<u32> {
        let program: &Program = &c.program;
        let subject = &self.subjects[s as usize];
        let kept = |segment: Option<u32>| segment.map_or(&[][..], |k| subject.segment(&c.state, k));
        let messages = kept(c.state.messages);
        let touches = kept(c.state.touches);
        for (index, cap) in program.policy.caps.iter().enumerate() {
            let from = t.saturating_sub(cap.per_millis);
            // Messages are (time, channel) pairs.
            let count = match (cap.target, kind) {
                (CapTarget::Messages, ActionKind::Send { .. }) => {
                    messages.chunks_exact(2).filter(|m| m[0] > from).count()
                }
                (CapTarget::Channel(ch), ActionKind::Send { channel, .. }) if ch == *channel => {
                    messages
                        .chunks_exact(2)
                        .filter(|m| m[0] > from && m[1] == channel_code(ch))
                        .count()
                }
                (CapTarget::Touches, k) if k.is_touch() => {
                    touches.iter().filter(|at| **at > from).count()
                }
                _ => continue,
            };
            if count >= cap.limit as usize {
                return Some(index as u32);
            }
        }
        None
    }

    fn record_emitted(&mut self, c: &Compiled, s: u32, kind: &ActionKind, t: i64) {
        let longest = c
            .program
            .policy
            .caps
            .iter()
            .map(|cap| cap.per_millis)
            .max()
            .unwrap_or(0);
        let layout = &c.state;
        let subject = &mut self.subjects[s as usize];
        // Kept as long as the longest cap looks back.
        match kind {
            ActionKind::Send { channel, .. } => {
                if let Some(messages) = layout.messages {
                    subject.push(layout, messages, &[t, channel_code(*channel)]);
                    subject.evict(layout, messages, t, longest);
                }
            }
            k if k.is_touch() => {
                if let Some(touches) = layout.touches {
                    subject.push(layout, touches, &[t]);
                    subject.evict(layout, touches, t, longest);
                }
            }
            _ => {}
        }
    }

    fn quiet_until(&mut self, c: &Compiled, s: u32, t: i64) -> Option<i64> {
        let program: &Program = &c.program;
        let quiet = program.policy.quiet_hours.as_ref()?;
        let zone = match quiet.zone {
            QuietZone::Utc => chrono_tz::Tz::UTC,
            QuietZone::Trait(i) => {
                let symbol = self.subjects[s as usize].get(program.layout.trait_base + i)?;
                match self.zones.get(&symbol) {
                    Some(z) => *z,
                    None => {
                        let zone = self
                            .symbols
                            .name(symbol)
                            .parse()
                            .unwrap_or(chrono_tz::Tz::UTC);
                        self.zones.insert(symbol, zone);
                        zone
                    }
                }
            }
        };
        time::quiet_until(t, quiet.start_minute, quiet.end_minute, zone)
    }

    fn defer(
        &mut self,
        c: &Compiled,
        s: u32,
        rule: u32,
        action: u32,
        due: i64,
        key: u64,
        cause: &Cause,
    ) {
        let program: &Program = &c.program;
        let (cause_line, cause_message, cause_event) = match cause {
            Cause::Event {
                event,
                message_id,
                line,
            } => (
                *line,
                message_id.as_deref().map(str::to_string),
                Some(*event),
            ),
            Cause::Request { message_id, line } => {
                (*line, message_id.as_deref().map(str::to_string), None)
            }
            Cause::Timer { .. } => (0, None, None),
        };
        let deferred = self.deferred.entry(s).or_default();
        deferred.push(Deferred {
            rule,
            action,
            due,
            key,
            cause_line,
            cause_message,
            cause_event,
        });
        let next = deferred.iter().map(|d| d.due).min().unwrap_or(due);
        self.arm(c, s, TimerKey::Delivery.encode(program), next);
    }

    /// Delivers deferred messages that are due, re-checking caps.
    fn deliver(&mut self, c: &Compiled, s: u32, now: i64, sink: &mut dyn Sink) {
        let program: &Program = &c.program;
        let due: Vec<Deferred> = {
            let (ready, waiting): (Vec<Deferred>, Vec<Deferred>) = self
                .deferred
                .remove(&s)
                .unwrap_or_default()
                .into_iter()
                .partition(|d| d.due <= now);
            if !waiting.is_empty() {
                self.deferred.insert(s, waiting);
            }
            ready
        };
        for d in due {
            let cause = Cause::Timer {
                key: TimerKey::Delivery.encode(program),
                due: d.due,
            };
            let kind = &program.rules[d.rule as usize].actions[d.action as usize].kind;
            let (status, why) = match self.full_cap(c, s, kind, now) {
                Some(cap) => (Status::Suppressed, Some(Why::Cap(cap))),
                None => (Status::Emitted, None),
            };
            if status == Status::Emitted {
                self.record_emitted(c, s, kind, now);
            }
            let payload = if status == Status::Emitted {
                self.payload(
                    c,
                    s,
                    &program.rules[d.rule as usize].actions[d.action as usize],
                    now,
                    d.rule,
                    &cause,
                    sink,
                )
            } else {
                None
            };
            self.emit(
                s,
                now,
                &cause,
                OutcomeKind::Action {
                    owner: Owner::Rule(d.rule),
                    action: d.action,
                    status,
                    why,
                    idempotency_key: d.key,
                    payload,
                },
                sink,
            );
        }
        let next = self
            .deferred
            .get(&s)
            .and_then(|d| d.iter().map(|d| d.due).min());
        if let Some(next) = next {
            self.arm(c, s, TimerKey::Delivery.encode(program), next);
        }
    }

    /// Evaluates an action's data and context package.
    fn payload(
        &mut self,
        c: &Compiled,
        s: u32,
        action: &stagecraft_ir::ActionDef,
        t: i64,
        rule: u32,
        cause: &Cause,
        sink: &mut dyn Sink,
    ) -> Option<Box<Payload>> {
        if action.data.is_empty() && action.context.is_empty() && action.value.is_none() {
            return None;
        }
        let program: &Program = &c.program;
        let mut payload = Payload::default();
        let frame_value = |this: &Self, slot: u32, ty: Type| -> serde_json::Value {
            match this.subjects[s as usize].get(slot) {
                Some(v) => crate::render::value_json(v, ty, program, &this.symbols),
                None => serde_json::Value::Null,
            }
        };
        for (name, slot, ty) in &action.context {
            let v = frame_value(self, *slot, *ty);
            payload.context.insert(name.clone(), v);
        }
        let mut entries: Vec<(String, &stagecraft_ir::TypedExpr)> =
            action.data.iter().map(|(k, e)| (k.clone(), e)).collect();
        if let Some(value) = &action.value {
            entries.push(("value".to_string(), value));
        }
        for (key, expr) in entries {
            match eval(&expr.expr, &self.frame(s, t)) {
                Value::Val(v) => {
                    let json = crate::render::value_json(v, expr.ty, program, &self.symbols);
                    payload.data.insert(key, json);
                }
                Value::Missing => {
                    payload.data.insert(key, serde_json::Value::Null);
                }
                Value::Err(e) => {
                    payload.data.insert(key, serde_json::Value::Null);
                    self.report_error(s, t, cause, ErrorSite::Action(rule), e, sink);
                }
            }
        }
        Some(Box::new(payload))
    }

    fn try_escalation(
        &mut self,
        c: &Compiled,
        s: u32,
        e: u32,
        t: i64,
        cause: &Cause,
        sink: &mut dyn Sink,
    ) {
        let program: &Program = &c.program;
        let expr = c.index.escalations[e as usize];
        if !self.condition(c, s, expr, ErrorSite::Escalation(e), t, cause, sink) {
            return;
        }
        let esc = &program.escalations[e as usize];
        let history = self.subjects[s as usize].escalation_history(&c.state, e);
        if self.subjects[s as usize].ladder(&c.state, e).is_some() {
            return;
        }
        if esc.once && history.first != NEVER {
            return;
        }
        if history.cooling_until(esc.cooldown_millis, t).is_some() {
            return;
        }
        let key = self.idempotency_key(c, s, &esc.name, 0, cause);
        {
            let subject = &mut self.subjects[s as usize];
            subject.set_escalation_history(&c.state, e, history.fired_at(t));
            subject.set_ladder(
                &c.state,
                e,
                Some(Ladder {
                    started: t,
                    next_step: 0,
                    key,
                }),
            );
        }
        self.escalation_step(c, s, e, t, cause, sink);
    }

    /// Notifies the ladder's next step and arms the one after it.
    fn escalation_step(
        &mut self,
        c: &Compiled,
        s: u32,
        e: u32,
        t: i64,
        cause: &Cause,
        sink: &mut dyn Sink,
    ) {
        let program: &Program = &c.program;
        let Some(ladder) = self.subjects[s as usize].ladder(&c.state, e) else {
            return;
        };
        let esc = &program.escalations[e as usize];
        let step = ladder.next_step;
        let Some(def) = esc.steps.get(step as usize) else {
            self.subjects[s as usize].set_ladder(&c.state, e, None);
            return;
        };
        self.record_emitted(c, s, &def.action.kind, t);
        let payload = self.payload(c, s, &def.action, t, 0, cause, sink);
        self.emit(
            s,
            t,
            cause,
            OutcomeKind::Action {
                owner: Owner::Escalation(e, step),
                action: 0,
                status: Status::Emitted,
                why: None,
                idempotency_key: ladder.key ^ u64::from(step),
                payload,
            },
            sink,
        );
        match esc.steps.get(step as usize + 1) {
            Some(next) => {
                self.subjects[s as usize].set_ladder(
                    &c.state,
                    e,
                    Some(Ladder {
                        next_step: step + 1,
                        ..ladder
                    }),
                );
                let key = TimerKey::EscalationStep(e).encode(program);
                self.arm(c, s, key, ladder.started.saturating_add(next.after_millis));
            }
            None => self.subjects[s as usize].set_ladder(&c.state, e, None),
        }
    }

    fn on_ack(
        &mut self,
        c: &Compiled,
        account: &str,
        escalation: &str,
        actor: Option<String>,
        t: i64,
        cause: &Cause,
        line: u64,
        sink: &mut dyn Sink,
    ) {
        let program: &Program = &c.program;
        let s = self.subjects.find(account);
        let e = program
            .escalations
            .iter()
            .position(|x| x.name == escalation);
        match (s, e) {
            (Some(s), Some(e))
                if self.subjects[s as usize]
                    .ladder(&c.state, e as u32)
                    .is_some() =>
            {
                let subject = &mut self.subjects[s as usize];
                subject.set_ladder(&c.state, e as u32, None);
                subject.disarm(&c.state, TimerKey::EscalationStep(e as u32).encode(program));
                self.emit(
                    s,
                    t,
                    cause,
                    OutcomeKind::Acknowledged {
                        escalation: e as u32,
                        actor,
                    },
                    sink,
                );
            }
            (_, None) => self.dead_letter(
                line,
                "bad_ack",
                format!("no escalation named `{escalation}`"),
                "",
                sink,
            ),
            _ => self.dead_letter(
                line,
                "stale_ack",
                format!("escalation `{escalation}` is not in progress for `{account}`"),
                "",
                sink,
            ),
        }
    }

    // ------------------------------------------------------------ new versions

    // ------------------------------------------------------------ snapshots

    fn state(&self) -> EngineState {
        let mut user_accounts: Vec<(CompactString, CompactString)> = self
            .user_accounts
            .iter()
            .map(|(u, a)| (u.clone(), a.clone()))
            .collect();
        user_accounts.sort();
        let mut accounts: Vec<(CompactString, AccountTraits)> = self
            .accounts
            .iter()
            .map(|(a, t)| (a.clone(), t.clone()))
            .collect();
        accounts.sort_by(|a, b| a.0.cmp(&b.0));
        let mut timers: Vec<(i64, u32, i64)> = self.timers.iter().map(|Reverse(t)| *t).collect();
        timers.sort_unstable();
        let mut pending: Vec<Pending> = self.pending.iter().map(|Reverse(p)| p.clone()).collect();
        pending.sort();
        EngineState {
            config: self.config,
            subjects: self.subjects.to_vec(),
            user_accounts,
            accounts,
            symbols: self.symbols.clone(),
            timers,
            seen_messages: {
                let horizon = self.newest.saturating_sub(self.config.dedupe_window_millis);
                self.seen.remembered(horizon)
            },
            pending,
            clock: self.clock,
            newest: self.newest,
            line: self.line,
            seq: self.seq,
            summary: self.summary.clone(),
            deferred: {
                let mut deferred: Vec<(u32, Vec<Deferred>)> =
                    self.deferred.iter().map(|(s, d)| (*s, d.clone())).collect();
                deferred.sort_by_key(|(s, _)| *s);
                deferred
            },
        }
    }
}

/// The timers that count from entering `stage`: `after D in stage` of the
/// transitions leaving it and of the rules and escalations naming it, as
/// (timer key, delay).
fn stage_timers(program: &Program, stage: u32) -> Vec<(i64, i64)> {
    let transitions = program
        .transitions
        .iter()
        .enumerate()
        .filter_map(|(i, tr)| match tr.trigger {
            Trigger::AfterInStage { millis, .. } if tr.from.contains(&stage) => {
                Some((TimerKey::Transition(i as u32), millis))
            }
            _ => None,
        });
    let named = |trigger: Trigger| match trigger {
        Trigger::AfterInStage {
            millis,
            stage: Some(st),
        } if st == stage => Some(millis),
        _ => None,
    };
    let rules = program
        .rules
        .iter()
        .enumerate()
        .filter_map(|(i, r)| named(r.trigger).map(|m| (TimerKey::Rule(i as u32), m)));
    let escalations = program
        .escalations
        .iter()
        .enumerate()
        .filter_map(|(i, e)| named(e.trigger).map(|m| (TimerKey::Escalation(i as u32), m)));
    transitions
        .chain(rules)
        .chain(escalations)
        .map(|(key, millis)| (key.encode(program), millis))
        .collect()
}

fn channel_code(channel: stagecraft_ir::Channel) -> i64 {
    match channel {
        stagecraft_ir::Channel::Email => 0,
        stagecraft_ir::Channel::InApp => 1,
        stagecraft_ir::Channel::Push => 2,
        stagecraft_ir::Channel::Sms => 3,
    }
}

/// A windowed aggregate over values.
/// Metric `m`'s value at time `now`, after dropping the entries that have
/// left its window; lowers `window_moves_at` to when the next one leaves.
fn metric_value(
    subject: &mut Subject,
    layout: &StateLayout,
    m: u32,
    now: i64,
    window_moves_at: &mut i64,
) -> Result<Option<i64>, EvalError> {
    let plan = &layout.metrics[m as usize];
    match plan.store {
        MetricStore::Counter { word } => Ok(Some(subject.word(word))),
        MetricStore::Times { segment, window } => {
            // One word per entry.
            let left = subject.evict(layout, segment, now, window);
            *window_moves_at =
                (*window_moves_at).min(subject.window_leaves_at(layout, segment, window));
            Ok(Some(left as i64))
        }
        MetricStore::Ever { word } => Ok(Some(subject.word(word))),
        MetricStore::Value { word } => Ok(if subject.word(word) == 0 {
            plan.default
        } else {
            Some(subject.word(word + 1))
        }),
        MetricStore::Distinct { segment } => {
            Ok(Some(subject.segment(layout, segment).len() as i64))
        }
        MetricStore::Values { segment, window } => {
            subject.evict(layout, segment, now, window);
            *window_moves_at =
                (*window_moves_at).min(subject.window_leaves_at(layout, segment, window));
            let pairs = subject.segment(layout, segment);
            aggregate(
                plan.kind,
                plan.ty,
                plan.prop_ty,
                pairs.iter().skip(1).step_by(2).copied(),
                (pairs.len() / 2) as i64,
            )
            .map(|v| v.or(plan.default))
        }
        MetricStore::Running { word } => {
            let [count, sum, min, max, overflow] = subject.running(word);
            // Only a sum or an average reads the running sum.
            if overflow != 0 && matches!(plan.kind, MetricKind::Sum | MetricKind::Avg) {
                Err(EvalError::Overflow)
            } else {
                Ok(
                    running(plan.kind, plan.ty, plan.prop_ty, count, sum, min, max)
                        .or(plan.default),
                )
            }
        }
    }
}

fn aggregate(
    kind: MetricKind,
    ty: Type,
    prop_ty: Option<Type>,
    values: impl Iterator<Item = i64> + Clone,
    count: i64,
) -> Result<Option<i64>, EvalError> {
    match kind {
        MetricKind::Sum | MetricKind::Avg => {
            let mut sum: i64 = 0;
            for v in values {
                sum = sum.checked_add(v).ok_or(EvalError::Overflow)?;
            }
            if kind == MetricKind::Sum {
                return Ok(Some(sum));
            }
            average(sum, count, ty, prop_ty)
        }
        MetricKind::Min => Ok(values.min()),
        MetricKind::Max => Ok(values.max()),
        MetricKind::Distinct => {
            let mut all: Vec<i64> = values.collect();
            all.sort_unstable();
            all.dedup();
            Ok(Some(all.len() as i64))
        }
        _ => Ok(None),
    }
}

fn running(
    kind: MetricKind,
    ty: Type,
    prop_ty: Option<Type>,
    count: i64,
    sum: i64,
    min: i64,
    max: i64,
) -> Option<i64> {
    match kind {
        MetricKind::Sum => Some(sum),
        MetricKind::Avg => average(sum, count, ty, prop_ty).ok().flatten(),
        MetricKind::Min if count > 0 => Some(min),
        MetricKind::Max if count > 0 => Some(max),
        _ => None,
    }
}

/// `sum / count` in the metric's type; an int property averages to a
/// decimal, rounded half to even.
fn average(
    sum: i64,
    count: i64,
    ty: Type,
    prop_ty: Option<Type>,
) -> Result<Option<i64>, EvalError> {
    if count == 0 {
        return Ok(None);
    }
    let scaled = if ty == Type::Decimal && prop_ty == Some(Type::Int) {
        sum.checked_mul(stagecraft_ir::decimal::SCALE)
            .ok_or(EvalError::Overflow)?
    } else {
        sum
    };
    match ty {
        Type::Decimal => stagecraft_ir::decimal::div_int(scaled, count).map(Some),
        _ => Ok(Some(scaled / count)),
    }
}

mod pending_input {
    //! Inputs in the reorder buffer, serialised for snapshots.
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::ingest::{Input, InputKind, SubjectRef};

    #[derive(Serialize, Deserialize)]
    struct Stored {
        #[serde(default)]
        per: Option<String>,
        account: Option<String>,
        user: Option<String>,
        message_id: Option<String>,
        time: i64,
        kind: serde_json::Value,
    }

    pub fn serialize<S: Serializer>(input: &Input, serializer: S) -> Result<S::Ok, S::Error> {
        let (account, user) = match &input.subject {
            SubjectRef::Account(a) => (Some(a.to_string()), None),
            SubjectRef::User(u) => (None, Some(u.to_string())),
        };
        let kind = match &input.kind {
            InputKind::Track { event, props } => {
                serde_json::json!({"track": event, "props": props.to_vec()})
            }
            InputKind::Traits { values, user } => {
                serde_json::json!({"traits": values, "user": user.as_deref()})
            }
            InputKind::Manual {
                to,
                role,
                actor,
                reason,
                override_,
            } => {
                serde_json::json!({"manual": to, "role": role, "actor": actor, "reason": reason, "override": override_})
            }
            InputKind::Ack { escalation, actor } => {
                serde_json::json!({"ack": escalation, "actor": actor})
            }
        };
        Stored {
            per: input.per.as_deref().map(str::to_string),
            account,
            user,
            message_id: input.message_id.as_deref().map(str::to_string),
            time: input.time,
            kind,
        }
        .serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Input, D::Error> {
        use serde::de::Error;
        let stored = Stored::deserialize(deserializer)?;
        let k = &stored.kind;
        let text = |v: &serde_json::Value| v.as_str().map(str::to_string);
        let kind = if let Some(event) = k.get("track") {
            let props: Vec<Option<i64>> =
                serde_json::from_value(k["props"].clone()).map_err(D::Error::custom)?;
            InputKind::Track {
                event: event
                    .as_u64()
                    .ok_or_else(|| D::Error::custom("bad event"))? as u32,
                props: props.into_iter().collect(),
            }
        } else if let Some(values) = k.get("traits") {
            InputKind::Traits {
                values: serde_json::from_value(values.clone()).map_err(D::Error::custom)?,
                user: k.get("user").and_then(text).map(Into::into),
            }
        } else if let Some(to) = k.get("manual") {
            InputKind::Manual {
                to: text(to).unwrap_or_default(),
                role: k.get("role").and_then(text).unwrap_or_default(),
                actor: k.get("actor").and_then(text),
                reason: k.get("reason").and_then(text),
                override_: k
                    .get("override")
                    .and_then(serde_json::Value::as_bool)
                    .unwrap_or(false),
            }
        } else {
            InputKind::Ack {
                escalation: k.get("ack").and_then(text).unwrap_or_default(),
                actor: k.get("actor").and_then(text),
            }
        };
        let subject = match (stored.account, stored.user) {
            (Some(a), _) => SubjectRef::Account(a.into()),
            (None, Some(u)) => SubjectRef::User(u.into()),
            (None, None) => return Err(D::Error::custom("pending input without subject")),
        };
        Ok(Input {
            per: stored.per.map(Into::into),
            subject,
            message_id: stored.message_id.map(Into::into),
            time: stored.time,
            kind,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records dead letters; counts outcomes.
    #[derive(Default)]
    struct Recorded {
        dead: Vec<DeadLetter>,
        outcomes: usize,
    }

    impl Sink for Recorded {
        fn outcome(&mut self, _: &Outcome, _: &dyn SubjectNames) {
            self.outcomes += 1;
        }
        fn dead_letter(&mut self, dead: DeadLetter) {
            self.dead.push(dead);
        }
    }

    /// Hands out the input `step` bytes at a time.
    struct Pieces<'a>(&'a [u8], usize);

    impl Read for Pieces<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.1.min(buf.len()).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn login_engine() -> Engine {
        let text = r#"
playbook "p" { language 1 version "1" subject account }
event "Login" {}
stages { new initial, done terminal }
transition new -> done on "Login"
"#;
        let ast = stagecraft_syntax::parse(text).expect("parses");
        let program = stagecraft_check::check(text, &ast).expect("checks");
        Engine::new(Compiled::interpreted(Arc::new(program)), Config::default())
    }

    #[test]
    fn a_line_too_long_to_hold_is_a_dead_letter_and_reading_goes_on() {
        let login = |account: &str, time: i64| {
            format!(
                r#"{{"type":"track","event":"Login","groupId":"{account}","timestamp":{time}}}"#
            )
        };
        let long = "x".repeat(1_000);
        for (ending, step) in [("\n", 7), ("\n", 300), ("", 7), ("", 4_096)] {
            for long_last in [false, true] {
                let mut lines = [login("a1", 1_000), long.clone(), login("a2", 2_000)];
                if long_last {
                    lines.swap(1, 2);
                }
                let text = lines.join("\n") + ending;
                let mut engine = login_engine();
                let mut sink = Recorded::default();
                let mut progress = 0;
                engine
                    .push_reader_with_limit(
                        Pieces(text.as_bytes(), step),
                        &mut sink,
                        |n| progress += n,
                        256,
                    )
                    .expect("reads");
                let case = format!("ending {ending:?}, step {step}, long line last: {long_last}");
                assert_eq!(progress, text.len(), "{case}");
                assert_eq!(engine.summary().lines, 3, "{case}");
                assert_eq!(engine.summary().events, 2, "{case}");
                // Each login enters a stage and moves on: two outcomes.
                assert_eq!(sink.outcomes, 4, "{case}");
                assert_eq!(sink.dead.len(), 1, "{case}");
                let dead = &sink.dead[0];
                assert_eq!(dead.line, if long_last { 3 } else { 2 }, "{case}");
                assert_eq!(dead.category, "unparsable");
                assert_eq!(dead.reason, "the line is 256 bytes or longer");
                assert!(
                    dead.raw.starts_with("xxx") && dead.raw.ends_with('…'),
                    "{case}"
                );
            }
        }
    }

    #[test]
    fn hashed_numbers_are_the_decimal_text() {
        for n in [0, 7, -7, 10, 1_767_225_600_000, i64::MAX, i64::MIN] {
            let mut streamed = Fnv1a::new();
            streamed.decimal(n);
            let mut text = Fnv1a::new();
            text.bytes(n.to_string().as_bytes());
            assert_eq!(streamed.0, text.0, "{n}");
        }
    }
}
