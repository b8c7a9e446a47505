//! `stagecraft run PLAYBOOK --events FILE`: the main job. Outcomes as
//! NDJSON, dead letters to their own file, a summary table on stderr.

use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::path::PathBuf;

use stagecraft::runtime::outcome::SubjectNames;
use stagecraft::runtime::{time, Config, DeadLetter, Engine, Outcome, Record, Sink, Snapshot};

use super::{load_playbook, open_output, Backend};
use crate::exit::Exit;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The playbook to run.
    playbook: PathBuf,
    /// NDJSON events (Segment-spec calls, manual transitions, acks); `-` reads
    /// standard input.
    #[arg(long)]
    events: PathBuf,
    /// Advance event time to this RFC 3339 time at the end, firing every
    /// timer due at or before it.
    #[arg(long)]
    until: Option<String>,
    /// Where outcomes go (`-` for standard output).
    #[arg(long, default_value = "-")]
    out: PathBuf,
    /// Where dead letters go (default: counted in the summary only... and
    /// written to standard error as one line each).
    #[arg(long)]
    dead_letter: Option<PathBuf>,
    /// Resume from a state snapshot.
    #[arg(long)]
    state_in: Option<PathBuf>,
    /// Write the state snapshot at the end. Buffered (late-tolerant) input
    /// stays buffered in the snapshot instead of being flushed.
    #[arg(long)]
    state_out: Option<PathBuf>,
    #[command(flatten)]
    engine: EngineArgs,
    /// Do not print the summary table.
    #[arg(long)]
    quiet: bool,
    /// Go-live: place existing customers in their current stage before the
    /// events. CSV (`account,stage,entered_at,<trait columns>`) or NDJSON
    /// (`.ndjson`/`.jsonl`); bad rows are dead letters (see docs/reports.md).
    #[arg(long)]
    accounts: Option<PathBuf>,
}

pub fn parse_duration(text: &str) -> Result<i64, String> {
    let digits_end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(digits_end);
    let n: i64 = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a duration such as `5m` or `24h`"))?;
    let factor = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 604_800_000,
        _ => return Err(format!("`{text}` has no unit: write `5m`, `24h`, `7d`")),
    };
    n.checked_mul(factor)
        .ok_or_else(|| format!("`{text}` is too long"))
}

struct NdjsonSink<'a> {
    program: std::sync::Arc<stagecraft::ir::Program>,
    out: Box<dyn Write + 'a>,
    dead: Option<Box<dyn Write + 'a>>,
    error: Option<std::io::Error>,
}

impl Sink for NdjsonSink<'_> {
    fn outcome(&mut self, outcome: &Outcome, names: &dyn SubjectNames) {
        let record = Record::render(outcome, &self.program, names);
        let result = serde_json::to_writer(&mut self.out, &record)
            .map_err(std::io::Error::from)
            .and_then(|()| self.out.write_all(b"\n"));
        if let Err(e) = result {
            self.error.get_or_insert(e);
        }
    }

    fn dead_letter(&mut self, dead: DeadLetter) {
        let result = match &mut self.dead {
            Some(out) => serde_json::to_writer(&mut *out, &dead)
                .map_err(std::io::Error::from)
                .and_then(|()| out.write_all(b"\n")),
            None => {
                eprintln!(
                    "dead letter: line {}: {} ({})",
                    dead.line, dead.reason, dead.category
                );
                Ok(())
            }
        };
        if let Err(e) = result {
            self.error.get_or_insert(e);
        }
    }
}

/// How the engine runs: the flags `run`, `explain` and `backtest` share.
#[derive(Debug, clap::Args)]
pub struct EngineArgs {
    /// Allowed lateness, e.g. `5m`: inputs up to this far behind the newest
    /// are reordered by event time; older ones are dead-lettered as late.
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    allowed_lateness: i64,
    /// How long a `messageId` is remembered for de-duplication (`0s` off).
    #[arg(long, default_value = "24h", value_parser = parse_duration)]
    dedupe_window: i64,
    /// Evaluation backend (`explain` evaluates its clauses with the
    /// interpreter either way).
    #[arg(long, value_enum, default_value = "jit")]
    pub backend: Backend,
}

impl EngineArgs {
    pub fn config(&self) -> Config {
        Config {
            allowed_lateness_millis: self.allowed_lateness,
            dedupe_window_millis: self.dedupe_window,
        }
    }
}

pub fn run(args: Args) -> Exit {
    let Some(compiled) = load_playbook(&args.playbook, args.engine.backend) else {
        return Exit::Findings;
    };
    let config = args.engine.config();
    let until = match args.until.as_deref().map(time::parse_rfc3339) {
        Some(None) => {
            eprintln!("error: `--until` is not an RFC 3339 time, e.g. 2026-03-01T00:00:00Z");
            return Exit::Usage;
        }
        Some(Some(t)) => Some(t),
        None => None,
    };
    let mut engine = match &args.state_in {
        Some(path) => {
            let snapshot = std::fs::read_to_string(path)
                .map_err(|e| e.to_string())
                .and_then(|text| Snapshot::from_json(&text).map_err(|e| e.to_string()))
                .and_then(|s| Engine::restore(compiled.clone(), s).map_err(|e| e.to_string()));
            match snapshot {
                Ok(engine) => engine,
                Err(e) => {
                    eprintln!("error: cannot restore `{}`: {e}", path.display());
                    return Exit::Usage;
                }
            }
        }
        None => Engine::new(compiled.clone(), config),
    };
    let input: Box<dyn BufRead> = if args.events.as_os_str() == "-" {
        Box::new(BufReader::new(std::io::stdin()))
    } else {
        match File::open(&args.events) {
            Ok(f) => Box::new(BufReader::with_capacity(1 << 20, f)),
            Err(e) => {
                eprintln!("error: cannot read `{}`: {e}", args.events.display());
                return Exit::Usage;
            }
        }
    };
    let total_bytes = std::fs::metadata(&args.events)
        .map(|m| m.len())
        .unwrap_or(0);
    let out = match open_output(&args.out) {
        Ok(out) => out,
        Err(e) => {
            eprintln!("error: cannot write `{}`: {e}", args.out.display());
            return Exit::Usage;
        }
    };
    let dead = match &args.dead_letter {
        Some(path) => match open_output(path) {
            Ok(out) => Some(out),
            Err(e) => {
                eprintln!("error: cannot write `{}`: {e}", path.display());
                return Exit::Usage;
            }
        },
        None => None,
    };
    let mut sink = NdjsonSink {
        program: compiled.program.clone(),
        out,
        dead,
        error: None,
    };
    if let Some(path) = &args.accounts {
        match stagecraft_report::golive::place_file(engine, path, &mut sink) {
            Ok((placed, summary)) => {
                engine = placed;
                if !args.quiet {
                    eprintln!("{summary}");
                }
            }
            Err(e) => {
                eprintln!("error: go-live: {e}");
                return Exit::Usage;
            }
        }
    }
    let progress = (std::io::stderr().is_terminal() && total_bytes > 8 << 20).then(|| {
        let bar = indicatif::ProgressBar::new(total_bytes);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let read = engine.push_reader(input, &mut sink, |n| {
        if let Some(bar) = &progress {
            bar.inc(n as u64);
        }
    });
    if let Err(e) = read {
        eprintln!("error: reading `{}`: {e}", args.events.display());
        return Exit::Usage;
    }
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    if args.state_out.is_none() {
        engine.finish(&mut sink);
    }
    if let Some(t) = until {
        engine.advance_to(t, &mut sink);
    }
    if let Err(e) = sink.out.flush() {
        sink.error.get_or_insert(e);
    }
    if let Some(d) = &mut sink.dead {
        if let Err(e) = d.flush() {
            sink.error.get_or_insert(e);
        }
    }
    if let Some(e) = sink.error {
        eprintln!("error: writing outcomes: {e}");
        return Exit::Usage;
    }
    if let Some(path) = &args.state_out {
        let written = engine
            .snapshot()
            .to_json()
            .map_err(|e| e.to_string())
            .and_then(|json| std::fs::write(path, json).map_err(|e| e.to_string()));
        if let Err(e) = written {
            eprintln!("error: cannot write state `{}`: {e}", path.display());
            return Exit::Usage;
        }
    }
    if !args.quiet {
        eprintln!("{}", super::summary_table(&engine));
    }
    Exit::Success
}
