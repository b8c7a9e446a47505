//! Determinism: the same playbook and events give byte-identical outcomes
//! in one run or many chunks, with snapshot/restore between chunks, with the
//! input shuffled within the allowed lateness, and on either backend.

use proptest::prelude::*;
use stagecraft::runtime::outcome::SubjectNames;
use stagecraft::runtime::{Config, DeadLetter, Engine, Outcome, Sink};
use stagecraft::{run, Backend, RunOptions, Source};

/// A small W1-style stream: distinct timestamps, several accounts, every
/// rule of `examples/w1.playbook` reachable.
fn stream(seed: u64, accounts: u32, lines: u32) -> Vec<String> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let start = 1_767_225_600_000i64; // 2026-01-01T00:00:00Z
    let mut out = Vec::new();
    let mut t = start;
    for a in 0..accounts {
        t += 1_000;
        out.push(format!(
            r#"{{"type":"group","messageId":"g{a}","groupId":"a{a}","traits":{{"plan":"smb","seats":{}}},"timestamp":{t}}}"#,
            1 + a % 400
        ));
    }
    let events = [
        ("Login", ""),
        ("Login", ""),
        ("Report Run", ""),
        ("Export Failed", r#""reason":"quota""#),
        ("Integration Started", ""),
        ("Integration Succeeded", ""),
        ("Ticket Opened", r#""priority":"high""#),
        ("NPS Submitted", r#""score":2"#),
        ("Subscription Cancelled", ""),
    ];
    for i in 0..lines {
        t += 60_000 + (next() % 3_600_000) as i64;
        let a = next() % u64::from(accounts);
        let r = next() % 100;
        let (name, props) = match r {
            0..=29 => events[0],
            30..=39 => events[2],
            40..=54 => events[3],
            55..=62 => events[4],
            63..=66 => events[5],
            67..=80 => events[6],
            81..=93 => events[7],
            94 => events[8],
            _ => events[1],
        };
        // Failed exports come in bursts, so triage fires.
        let repeat = if name == "Export Failed" { 3 } else { 1 };
        for k in 0..repeat {
            t += k * 60_000;
            out.push(format!(
                r#"{{"type":"track","messageId":"m{i}-{k}","userId":"u{a}","groupId":"a{a}","event":"{name}","properties":{{{props}}},"timestamp":{t}}}"#
            ));
        }
    }
    out
}

fn compiled(backend: Backend) -> stagecraft::runtime::Compiled {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/w1.playbook");
    let text = std::fs::read_to_string(path).expect("w1 playbook");
    Source::new("w1.playbook", text)
        .check()
        .map_err(|(_, r)| r.len())
        .expect("w1 checks")
        .compile(backend)
        .compiled
}

/// Records without input line numbers (which change when lines move).
fn without_lines(ndjson: &str) -> Vec<serde_json::Value> {
    ndjson
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).expect("record");
            if let Some(cause) = v.get_mut("cause").and_then(|c| c.as_object_mut()) {
                cause.remove("line");
            }
            v
        })
        .collect()
}

#[test]
fn generated_stream_exercises_every_w1_rule() {
    let input = stream(7, 12, 3_000).join("\n");
    let output = run(
        &compiled(Backend::Interpreter),
        &input,
        &RunOptions::default(),
    )
    .expect("run");
    let text = output.records_ndjson();
    for needle in [
        r#""rule":"triage""#,
        r#""rule":"save_play""#,
        r#""rule":"stalled_integration""#,
        r#""kind":"transition""#,
        r#""to":"churned""#,
    ] {
        assert!(text.contains(needle), "the stream never produced {needle}");
    }
}

#[test]
fn jit_and_interpreter_give_identical_bytes() {
    let input = stream(11, 20, 4_000).join("\n");
    let options = RunOptions {
        until: Some(1_800_000_000_000),
        ..RunOptions::default()
    };
    let interp = run(&compiled(Backend::Interpreter), &input, &options).expect("run");
    let jit = run(&compiled(Backend::Jit), &input, &options).expect("run");
    assert_eq!(interp.records_ndjson(), jit.records_ndjson());
    assert_eq!(interp.summary, jit.summary);
}

/// Every line through `push_line`, one at a time: what batches must match.
fn line_by_line(backend: Backend, lines: &[String]) -> String {
    let compiled = compiled(backend);
    let mut engine = Engine::new(compiled.clone(), Config::default());
    let mut sink = InOrder::new(&compiled);
    for line in lines {
        engine.push_line(line, &mut sink);
    }
    engine.finish(&mut sink);
    output(sink, &engine)
}

/// The lines in batches (`push_lines`) cut before each line in `cuts`, with
/// a snapshot and restore at every cut.
fn chunked(backend: Backend, lines: &[String], cuts: &[usize]) -> String {
    let compiled = compiled(backend);
    let mut engine = Engine::new(compiled.clone(), Config::default());
    let mut sink = InOrder::new(&compiled);
    let mut batch = String::new();
    for (i, line) in lines.iter().enumerate() {
        if cuts.contains(&i) {
            engine.push_lines(batch.as_bytes(), &mut sink);
            batch.clear();
            engine = stagecraft::run::restore_round_trip(&compiled, &engine).expect("restore");
        }
        batch.push_str(line);
        batch.push('\n');
    }
    engine.push_lines(batch.as_bytes(), &mut sink);
    engine.finish(&mut sink);
    output(sink, &engine)
}

/// A restore forgets which metrics and scores are up to date, so restoring
/// before every line computes every one of them at every input: what
/// computing only those that can have changed must match.
#[test]
fn restoring_before_every_line_changes_nothing() {
    let lines = stream(23, 40, 1_500);
    let every_line: Vec<usize> = (1..lines.len()).collect();
    for backend in [Backend::Interpreter, Backend::Jit] {
        assert_eq!(
            line_by_line(backend, &lines),
            chunked(backend, &lines, &every_line),
            "{backend:?}"
        );
    }
}

/// Everything through `push_reader`, from a reader that hands out at most
/// `step` bytes per read, so lines arrive split anywhere.
fn read_in_pieces(backend: Backend, text: &[u8], step: usize) -> String {
    struct Pieces<'a>(&'a [u8], usize);
    impl std::io::Read for Pieces<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.1.min(buf.len()).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }
    let compiled = compiled(backend);
    let mut engine = Engine::new(compiled.clone(), Config::default());
    let mut sink = InOrder::new(&compiled);
    let mut progress = 0;
    engine
        .push_reader(Pieces(text, step), &mut sink, |n| progress += n)
        .expect("read");
    assert_eq!(progress, text.len(), "progress reports every byte once");
    engine.finish(&mut sink);
    output(sink, &engine)
}

/// Collects outcomes and dead letters and notes the order they came in:
/// a dead letter must arrive after the outcomes of the lines before it.
struct InOrder {
    collect: stagecraft::run::Collect,
    order: String,
}

impl InOrder {
    fn new(compiled: &stagecraft::runtime::Compiled) -> InOrder {
        InOrder {
            collect: stagecraft::run::Collect::new(compiled),
            order: String::new(),
        }
    }
}

impl Sink for InOrder {
    fn outcome(&mut self, outcome: &Outcome, names: &dyn SubjectNames) {
        self.order.push('o');
        self.collect.outcome(outcome, names);
    }

    fn dead_letter(&mut self, dead: DeadLetter) {
        self.order.push_str(&format!(" dead letter {} ", dead.line));
        self.collect.dead_letter(dead);
    }
}

/// Outcomes, dead letters, their order and the summary, as one text.
fn output(sink: InOrder, engine: &Engine) -> String {
    let output = stagecraft::RunOutput {
        records: sink.collect.records,
        dead_letters: sink.collect.dead_letters,
        summary: engine.summary().clone(),
    };
    format!(
        "{}{}{}\n{:?}",
        output.records_ndjson(),
        output.dead_letters_ndjson(),
        sink.order,
        output.summary
    )
}

/// Lines that are not events, mixed into a stream: each is rejected or
/// skipped, in its place, whatever the batching. An entry with a `\n` is
/// inserted as that many lines, one after the other.
const ODD_LINES: [&str; 9] = [
    "not json",
    "",
    "   ",
    "[1]",
    r#"{"type":"track","messageId":"x","groupId":"a1","event":"Nope","properties":{},"timestamp":"2026-01-01T00:00:00.000Z"}"#,
    r#"{"type":"track","messageId":"y","groupId":"a1","event":"Login","properties":{},"timestamp":"soon"}"#,
    // A call with something after it, and one with only whitespace after it.
    r#"{"type":"track","messageId":"v","groupId":"a1","event":"Login","properties":{},"timestamp":"2026-01-01T00:00:00.000Z"} x"#,
    "{\"type\":\"track\",\"messageId\":\"w\",\"groupId\":\"a2\",\"event\":\"Login\",\"properties\":{},\"timestamp\":\"2026-01-01T00:00:00.000Z\"} \t ",
    // A call cut in two lines is two malformed lines, not one call.
    "{\"type\":\"track\",\"messageId\":\"z\",\"groupId\":\"a3\",\n\"event\":\"Login\",\"properties\":{},\"timestamp\":\"2026-01-01T00:00:00.000Z\"}",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn chunks_with_snapshots_equal_one_run(seed in 0u64..1_000, cuts in proptest::collection::vec(1usize..1_500, 1..6)) {
        let lines = stream(seed, 8, 1_500);
        let whole = line_by_line(Backend::Interpreter, &lines);
        prop_assert_eq!(&whole, &chunked(Backend::Interpreter, &lines, &[]));
        prop_assert_eq!(&whole, &chunked(Backend::Interpreter, &lines, &cuts));
        prop_assert_eq!(&whole, &chunked(Backend::Jit, &lines, &cuts));
    }

    #[test]
    fn batches_and_reads_of_any_size_equal_line_by_line(
        seed in 0u64..1_000,
        odd in proptest::collection::vec((0usize..600, 0usize..ODD_LINES.len()), 0..12),
        cuts in proptest::collection::vec(1usize..600, 0..4),
        step in 1usize..400,
        crlf in any::<bool>(),
    ) {
        let mut lines = stream(seed, 5, 600);
        for (at, which) in odd {
            let at = at.min(lines.len());
            lines.splice(at..at, ODD_LINES[which].split('\n').map(String::from));
        }
        let whole = line_by_line(Backend::Interpreter, &lines);
        prop_assert_eq!(&whole, &chunked(Backend::Jit, &lines, &cuts));
        let text = lines.join(if crlf { "\r\n" } else { "\n" });
        prop_assert_eq!(&whole, &read_in_pieces(Backend::Interpreter, text.as_bytes(), step));
        prop_assert_eq!(&whole, &read_in_pieces(Backend::Jit, text.as_bytes(), step));
    }

    #[test]
    fn shuffles_within_the_allowed_lateness_change_nothing(seed in 0u64..1_000) {
        let lateness = 2 * 3_600_000i64;
        let lines = stream(seed, 8, 1_500);
        // Arrival order: event time plus a jitter below the lateness, so no
        // input arrives after one more than `lateness` newer.
        let mut jitter_state = seed | 1;
        let mut keyed: Vec<(i64, usize, &String)> = lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                jitter_state = jitter_state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                let t: i64 = l.rsplit("\"timestamp\":").next().and_then(|s| s.trim_end_matches('}').parse().ok()).unwrap_or(0);
                (t + (jitter_state >> 33) as i64 % lateness, i, l)
            })
            .collect();
        keyed.sort();
        let shuffled: Vec<String> = keyed.iter().map(|(_, _, l)| (*l).clone()).collect();
        prop_assume!(shuffled != lines);
        let options = RunOptions {
            config: Config { allowed_lateness_millis: lateness, ..Config::default() },
            ..RunOptions::default()
        };
        let compiled = compiled(Backend::Interpreter);
        let ordered = run(&compiled, lines.join("\n"), &options).expect("run");
        let reordered = run(&compiled, shuffled.join("\n"), &options).expect("run");
        prop_assert!(reordered.dead_letters.is_empty(), "{:?}", reordered.dead_letters);
        prop_assert_eq!(without_lines(&ordered.records_ndjson()), without_lines(&reordered.records_ndjson()));
    }
}
