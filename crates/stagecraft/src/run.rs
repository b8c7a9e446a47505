//! Running a compiled playbook over a whole input in one call: what tests,
//! examples and small tools want.

use stagecraft_runtime::outcome::SubjectNames;
use stagecraft_runtime::{
    Compiled, Config, DeadLetter, Engine, Outcome, Record, RuntimeError, Sink, Snapshot, Summary,
};

/// Everything a run produced.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutput {
    pub records: Vec<Record>,
    pub dead_letters: Vec<DeadLetter>,
    pub summary: Summary,
}

impl RunOutput {
    /// The records as NDJSON, exactly as `stagecraft run` writes them.
    pub fn records_ndjson(&self) -> String {
        ndjson(&self.records)
    }

    pub fn dead_letters_ndjson(&self) -> String {
        ndjson(&self.dead_letters)
    }
}

fn ndjson<T: serde::Serialize>(items: &[T]) -> String {
    let mut out = String::new();
    for item in items {
        out.push_str(&serde_json::to_string(item).unwrap_or_default());
        out.push('\n');
    }
    out
}

/// A sink that renders records.
#[derive(Debug)]
pub struct Collect {
    program: std::sync::Arc<stagecraft_ir::Program>,
    pub records: Vec<Record>,
    pub dead_letters: Vec<DeadLetter>,
}

impl Collect {
    pub fn new(compiled: &Compiled) -> Collect {
        Collect {
            program: compiled.program.clone(),
            records: Vec::new(),
            dead_letters: Vec::new(),
        }
    }
}

impl Sink for Collect {
    fn outcome(&mut self, outcome: &Outcome, names: &dyn SubjectNames) {
        self.records
            .push(Record::render(outcome, &self.program, names));
    }

    fn dead_letter(&mut self, dead: DeadLetter) {
        self.dead_letters.push(dead);
    }
}

/// How one run is driven.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub config: Config,
    /// Advance event time to this (ms) at the end.
    pub until: Option<i64>,
    /// Take a snapshot after these line counts and continue from a restored
    /// engine (proves snapshots change nothing).
    pub snapshot_after: Vec<usize>,
}

/// Runs `input` (NDJSON) to its end, in batches ([`Engine::push_lines`])
/// cut at the requested snapshots. Fails only if a requested snapshot
/// cannot be restored.
pub fn run(
    compiled: &Compiled,
    input: impl AsRef<[u8]>,
    options: &RunOptions,
) -> Result<RunOutput, RuntimeError> {
    let mut engine = Engine::new(compiled.clone(), options.config);
    let mut sink = Collect::new(compiled);
    let mut rest = input.as_ref();
    let mut lines_read = 0;
    let mut cuts: Vec<usize> = options.snapshot_after.clone();
    cuts.sort_unstable();
    cuts.dedup();
    for cut in cuts {
        // The bytes up to the end of line `cut`.
        let mut end = 0;
        while lines_read < cut && end < rest.len() {
            end = memchr::memchr(b'\n', &rest[end..]).map_or(rest.len(), |i| end + i + 1);
            lines_read += 1;
        }
        if lines_read < cut {
            break;
        }
        engine.push_lines(&rest[..end], &mut sink);
        rest = &rest[end..];
        engine = restore_round_trip(compiled, &engine)?;
    }
    engine.push_lines(rest, &mut sink);
    engine.finish(&mut sink);
    if let Some(until) = options.until {
        engine.advance_to(until, &mut sink);
    }
    Ok(RunOutput {
        records: sink.records,
        dead_letters: sink.dead_letters,
        summary: engine.summary().clone(),
    })
}

/// Serialises an engine's snapshot to JSON and restores it.
pub fn restore_round_trip(compiled: &Compiled, engine: &Engine) -> Result<Engine, RuntimeError> {
    let json = engine.snapshot().to_json()?;
    Engine::restore(compiled.clone(), Snapshot::from_json(&json)?)
}
