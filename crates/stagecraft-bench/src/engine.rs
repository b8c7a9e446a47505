//! W1 on the Stagecraft runtime: `examples/w1.playbook` compiled with the
//! interpreter or the JIT, the file through `Engine::push_reader` (the real
//! ingest), outcomes counted by a sink that maps them to W1 kinds.

use std::io::Read;
use std::path::Path;

use stagecraft::runtime::outcome::{Owner, SubjectNames, Why};
use stagecraft::runtime::{
    Compiled, Config, DeadLetter, Engine, Outcome, OutcomeKind, Sink, Status,
};

use crate::w1::{
    self, stage_kind, Counts, Implementation, KindTable, SAVE_PLAY, STAGES, STALLED,
    SUPPRESSED_SAVE_PLAY, SUPPRESSED_STALLED, TRIAGE,
};

/// The W1 playbook (`examples/w1.playbook`), built into the binary.
pub const W1_PLAYBOOK: &str = include_str!("../../../examples/w1.playbook");

const NO_KIND: usize = usize::MAX;

/// A compiled playbook and the tables that map its outcomes to W1 kinds:
/// everything done before the clock starts.
#[derive(Debug, Clone)]
pub struct Prepared {
    compiled: Compiled,
    /// W1 kind of a transition, indexed by `from * stages + to`.
    transitions: Vec<usize>,
    stages: usize,
    /// W1 kinds of a rule's actions: emitted, suppressed by a cap.
    rules: Vec<(usize, usize)>,
}

impl Prepared {
    /// Compiles the W1 playbook for `implementation` (interp or jit).
    pub fn new(implementation: Implementation) -> Result<Prepared, String> {
        Prepared::from_source("w1.playbook", W1_PLAYBOOK, implementation)
    }

    pub fn from_source(
        name: &str,
        text: &str,
        implementation: Implementation,
    ) -> Result<Prepared, String> {
        let backend = match implementation {
            Implementation::Interp => stagecraft::Backend::Interpreter,
            Implementation::Jit => stagecraft::Backend::Jit,
            Implementation::Reference => {
                return Err("the reference does not run on the Stagecraft runtime".into())
            }
        };
        let checked =
            stagecraft::Source::new(name, text)
                .check()
                .map_err(|(source, rejection)| {
                    rejection
                        .render(&source.name, &source.text, false)
                        .join("\n")
                })?;
        let compiled = checked.compile(backend);
        if let Some(why) = compiled.fallback {
            return Err(format!(
                "{} was asked for, but: {why}",
                implementation.name()
            ));
        }
        let compiled = compiled.compiled;
        let program = compiled.program.clone();
        // Engine stage index -> W1 stage id, by name.
        let stage_ids: Vec<Option<u8>> = program
            .stages
            .iter()
            .map(|s| STAGES.iter().position(|w| *w == s.name).map(|i| i as u8))
            .collect();
        let stages = stage_ids.len();
        let mut transitions = vec![NO_KIND; stages * stages];
        for (from, f) in stage_ids.iter().enumerate() {
            for (to, t) in stage_ids.iter().enumerate() {
                if let (Some(f), Some(t)) = (f, t) {
                    transitions[from * stages + to] = stage_kind(*f, *t);
                }
            }
        }
        let rules = program
            .rules
            .iter()
            .map(|r| match r.name.as_str() {
                "triage" => (TRIAGE, NO_KIND),
                "stalled_integration" => (STALLED, SUPPRESSED_STALLED),
                "save_play" => (SAVE_PLAY, SUPPRESSED_SAVE_PLAY),
                _ => (NO_KIND, NO_KIND),
            })
            .collect();
        Ok(Prepared {
            compiled,
            transitions,
            stages,
            rules,
        })
    }

    pub fn backend_name(&self) -> &'static str {
        self.compiled.backend_name()
    }

    /// Runs a stream: every line through `push_reader`, then every timer due
    /// at or before the last line's time.
    pub fn run<R: Read>(&self, input: R) -> Result<Counts, String> {
        let mut engine = Engine::new(self.compiled.clone(), Config::default());
        let mut sink = CountingSink::new(self);
        engine
            .push_reader(input, &mut sink, |_| {})
            .map_err(|e| format!("reading the events: {e}"))?;
        // The engine's clock is the last line's time (lines are sorted).
        if let Some(last) = engine.clock() {
            engine.advance_to(last, &mut sink);
        }
        if let Some(dead) = sink.first_dead {
            return Err(format!(
                "{} dead letter(s); the first, line {}: {} ({})",
                sink.dead_letters, dead.line, dead.reason, dead.category
            ));
        }
        if sink.unexpected > 0 {
            return Err(format!(
                "{} unexpected outcome(s) (errors or cycles); the first: {}",
                sink.unexpected, sink.first_unexpected
            ));
        }
        let summary = engine.summary();
        if !summary.unknown_events.is_empty() || summary.duplicates > 0 {
            eprintln!(
                "warning: the engine skipped {} unknown event name(s) and {} duplicate(s)",
                summary.unknown_events.values().sum::<u64>(),
                summary.duplicates
            );
        }
        let mut counts = sink.counts;
        counts.lines = summary.lines;
        counts.accounts = engine.subjects().len() as u64;
        Ok(counts)
    }

    pub fn run_file(&self, path: &Path) -> Result<Counts, String> {
        self.run(w1::open(path)?)
    }

    /// For profiling: only the engine's ingest (`ingest::parse_line`, the
    /// JSON parse and schema check `push_line` starts with) over every line.
    /// Returns the number of lines parsed into an input.
    pub fn ingest_only<R: Read>(&self, input: R) -> Result<u64, String> {
        let program = &self.compiled.program;
        let mut symbols = stagecraft::runtime::symbols::Symbols::new(&program.strings);
        let mut ok = 0u64;
        w1::for_each_line(input, |line| {
            if stagecraft::runtime::ingest::parse_line(line, program, &mut symbols).is_ok() {
                ok += 1;
            }
            Ok(())
        })?;
        Ok(ok)
    }

    /// For profiling: the whole run with a sink that ignores every outcome.
    pub fn run_null_sink<R: Read>(&self, input: R) -> Result<u64, String> {
        struct Null;
        impl Sink for Null {
            fn outcome(&mut self, _: &Outcome, _: &dyn SubjectNames) {}
            fn dead_letter(&mut self, _: DeadLetter) {}
        }
        let mut engine = Engine::new(self.compiled.clone(), Config::default());
        engine
            .push_reader(input, &mut Null, |_| {})
            .map_err(|e| format!("reading the events: {e}"))?;
        if let Some(last) = engine.clock() {
            engine.advance_to(last, &mut Null);
        }
        Ok(engine.summary().lines)
    }
}

/// Counts outcomes as W1 kinds; formats nothing but the checksum's bytes.
struct CountingSink<'p> {
    prepared: &'p Prepared,
    table: KindTable,
    counts: Counts,
    dead_letters: u64,
    first_dead: Option<DeadLetter>,
    unexpected: u64,
    first_unexpected: String,
}

impl<'p> CountingSink<'p> {
    fn new(prepared: &'p Prepared) -> CountingSink<'p> {
        CountingSink {
            prepared,
            table: KindTable::default(),
            counts: Counts::default(),
            dead_letters: 0,
            first_dead: None,
            unexpected: 0,
            first_unexpected: String::new(),
        }
    }
}

impl Sink for CountingSink<'_> {
    #[inline]
    fn outcome(&mut self, outcome: &Outcome, names: &dyn SubjectNames) {
        let kind = match &outcome.kind {
            OutcomeKind::Transition { from, to, .. } => {
                let (from, to) = (*from as usize, *to as usize);
                if from < self.prepared.stages && to < self.prepared.stages {
                    self.prepared.transitions[from * self.prepared.stages + to]
                } else {
                    NO_KIND
                }
            }
            OutcomeKind::Action {
                owner: Owner::Rule(r),
                status,
                why,
                ..
            } => {
                let (emitted, capped) = self
                    .prepared
                    .rules
                    .get(*r as usize)
                    .copied()
                    .unwrap_or((NO_KIND, NO_KIND));
                match (status, why) {
                    (Status::Emitted, _) => emitted,
                    (Status::Suppressed, Some(Why::Cap(_))) => capped,
                    _ => NO_KIND,
                }
            }
            OutcomeKind::Errored { .. } | OutcomeKind::Cycle { .. } => {
                if self.unexpected == 0 {
                    self.first_unexpected = format!("{:?}", outcome.kind);
                }
                self.unexpected += 1;
                NO_KIND
            }
            _ => NO_KIND,
        };
        if kind != NO_KIND {
            let key = names.subject_key(outcome.subject);
            self.counts.add(&self.table, kind, key, outcome.time);
        }
    }

    fn dead_letter(&mut self, dead: DeadLetter) {
        self.dead_letters += 1;
        if self.first_dead.is_none() {
            self.first_dead = Some(dead);
        }
    }
}
