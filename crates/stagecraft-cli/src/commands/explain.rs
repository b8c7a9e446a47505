//! `stagecraft explain PLAYBOOK --events FILE --account ID`: one account's
//! timeline with the reasons: each stage change with the values of its
//! guard's clauses, scores by component, each action with its cause or why
//! it was held back, errored rules, near misses. See `docs/reports.md`.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;

use stagecraft::runtime::Config;
use stagecraft_report::explain::{explain, human};

use super::report::parse_time;
use super::{load_playbook, open_output, Backend};
use crate::exit::Exit;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ExplainFormat {
    Human,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The playbook.
    playbook: PathBuf,
    /// NDJSON events, as for `stagecraft run` (`-` reads standard input).
    #[arg(long)]
    events: PathBuf,
    /// The account (subject key) to explain.
    #[arg(long)]
    account: String,
    /// Explain as of this time (RFC 3339, or a date for its midnight UTC):
    /// later inputs are not read, timers due by then fire.
    #[arg(long)]
    at: Option<String>,
    #[arg(long, value_enum, default_value = "human")]
    format: ExplainFormat,
    /// Where the explanation goes (`-`: standard output).
    #[arg(long, default_value = "-")]
    out: PathBuf,
    /// Allowed lateness, as for `stagecraft run`.
    #[arg(long, default_value = "0s", value_parser = super::run::parse_duration)]
    allowed_lateness: i64,
    /// De-duplication window, as for `stagecraft run`.
    #[arg(long, default_value = "24h", value_parser = super::run::parse_duration)]
    dedupe_window: i64,
    /// Backend that runs the playbook (clauses are always evaluated with the
    /// interpreter).
    #[arg(long, value_enum, default_value = "jit")]
    backend: Backend,
}

pub fn run(args: Args) -> Exit {
    let at = match args.at.as_deref().map(parse_time) {
        Some(None) => {
            eprintln!("error: `--at` is not an RFC 3339 time or a date, e.g. 2026-03-01T00:00:00Z");
            return Exit::Usage;
        }
        Some(Some(t)) => Some(t),
        None => None,
    };
    let Some(compiled) = load_playbook(&args.playbook, args.backend) else {
        return Exit::Findings;
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
    let config = Config {
        allowed_lateness_millis: args.allowed_lateness,
        dedupe_window_millis: args.dedupe_window,
    };
    let (explanation, dead) = match explain(&compiled, config, input, &args.account, at) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: reading `{}`: {e}", args.events.display());
            return Exit::Usage;
        }
    };
    for d in &dead {
        eprintln!(
            "dead letter mentioning `{}`: line {}: {} ({})",
            args.account, d.line, d.reason, d.category
        );
    }
    let text = match args.format {
        ExplainFormat::Human => human(&explanation),
        ExplainFormat::Json => {
            serde_json::to_string_pretty(&explanation).unwrap_or_default() + "\n"
        }
    };
    let written = open_output(&args.out).and_then(|mut out| {
        out.write_all(text.as_bytes())?;
        out.flush()
    });
    if let Err(e) = written {
        eprintln!("error: cannot write `{}`: {e}", args.out.display());
        return Exit::Usage;
    }
    if !explanation.found {
        eprintln!(
            "note: `{}` never entered the lifecycle in `{}`",
            args.account,
            args.events.display()
        );
    }
    Exit::Success
}
