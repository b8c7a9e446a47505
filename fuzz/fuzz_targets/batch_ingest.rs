//! Feeds fuzzer bytes to the runtime as an event stream, three ways: one
//! `push_lines` call, `push_reader` over reads of fuzzer-chosen sizes, and
//! (when every line is UTF-8) `push_line` line by line. Nothing may panic,
//! and all three must give the same outcomes, dead letters, order and
//! summary.
//!
//! Run with `cargo +nightly fuzz run batch_ingest` from `fuzz/`. Seeding
//! the corpus with `examples/events/*.ndjson` and `tests/scenarios/*/events.ndjson`
//! reaches deep quickly.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use stagecraft::runtime::outcome::SubjectNames;
use stagecraft::runtime::{Compiled, Config, DeadLetter, Engine, Outcome, Sink};
use stagecraft::{Backend, Source};

fn compiled() -> &'static Compiled {
    static COMPILED: OnceLock<Compiled> = OnceLock::new();
    COMPILED.get_or_init(|| {
        let text = include_str!("../../examples/w1.playbook");
        let checked = Source::new("w1.playbook", text)
            .check()
            .unwrap_or_else(|_| panic!("examples/w1.playbook checks"));
        checked.compile(Backend::Jit).compiled
    })
}

/// Every outcome and dead letter as one text, in the order they came.
struct Log(stagecraft::run::Collect, String);

impl Sink for Log {
    fn outcome(&mut self, outcome: &Outcome, names: &dyn SubjectNames) {
        self.0.outcome(outcome, names);
        let record = self
            .0
            .records
            .last()
            .map(|r| serde_json::to_string(r).unwrap_or_default());
        self.1.push_str(&record.unwrap_or_default());
        self.1.push('\n');
    }

    fn dead_letter(&mut self, dead: DeadLetter) {
        self.1
            .push_str(&serde_json::to_string(&dead).unwrap_or_default());
        self.1.push('\n');
    }
}

fn finish(mut engine: Engine, mut log: Log) -> String {
    engine.finish(&mut log);
    format!("{}{:?}", log.1, engine.summary())
}

fn new() -> (Engine, Log) {
    let compiled = compiled();
    (
        Engine::new(compiled.clone(), Config::default()),
        Log(stagecraft::run::Collect::new(compiled), String::new()),
    )
}

/// Hands out the input `step` bytes at a time.
struct Pieces<'a>(&'a [u8], usize);

impl std::io::Read for Pieces<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.1.min(buf.len()).min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&step, text)) = data.split_first() else {
        return;
    };
    let (mut engine, mut log) = new();
    engine.push_lines(text, &mut log);
    let batch = finish(engine, log);

    let (mut engine, mut log) = new();
    engine
        .push_reader(Pieces(text, usize::from(step).max(1)), &mut log, |_| {})
        .expect("reading a slice cannot fail");
    assert_eq!(
        batch,
        finish(engine, log),
        "push_reader differs from push_lines"
    );

    if let Ok(text) = std::str::from_utf8(text) {
        let (mut engine, mut log) = new();
        // A line ends at LF; one CR before it (or at the very end) is
        // part of the line break (`docs/semantics.md` 1.1).
        for line in text.split_terminator('\n') {
            let line = line.strip_suffix('\r').unwrap_or(line);
            engine.push_line(line, &mut log);
        }
        assert_eq!(
            batch,
            finish(engine, log),
            "push_line differs from push_lines"
        );
    }
});
