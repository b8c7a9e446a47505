//! `stagecraft backtest OLD NEW --events FILE`: replays the events through
//! two versions of a playbook and diffs the outcomes: accounts whose final
//! stage differs, actions added and removed by rule, funnel and velocity.
//! See `docs/reports.md`.

use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;

use stagecraft_report::backtest::{backtest, human, BacktestOptions};

use super::report::time_flag;
use super::run::EngineArgs;
use super::{load_playbook, write_output};
use crate::exit::Exit;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum BacktestFormat {
    Human,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The playbook as it is.
    old: PathBuf,
    /// The playbook as proposed.
    new: PathBuf,
    /// NDJSON events (history) replayed through both; a file, read twice.
    #[arg(long)]
    events: PathBuf,
    /// Advance both runs to this time at the end (RFC 3339 or a date),
    /// firing every timer due by then.
    #[arg(long)]
    until: Option<String>,
    #[arg(long, value_enum, default_value = "human")]
    format: BacktestFormat,
    /// Examples listed per difference.
    #[arg(long, default_value = "5")]
    examples: usize,
    /// Where the diff goes (`-`: standard output).
    #[arg(long, default_value = "-")]
    out: PathBuf,
    #[command(flatten)]
    engine: EngineArgs,
}

pub fn run(args: Args) -> Exit {
    let until = match time_flag("until", args.until.as_deref()) {
        Ok(t) => t,
        Err(exit) => return exit,
    };
    if args.events.as_os_str() == "-" {
        eprintln!("error: `--events` must be a file: it is read once per playbook");
        return Exit::Usage;
    }
    let (Some(old), Some(new)) = (
        load_playbook(&args.old, args.engine.backend),
        load_playbook(&args.new, args.engine.backend),
    ) else {
        return Exit::Findings;
    };
    let options = BacktestOptions {
        config: args.engine.config(),
        until,
        examples: args.examples,
    };
    let open = || File::open(&args.events).map(|f| BufReader::with_capacity(1 << 20, f));
    let result = match backtest(&old, &new, open, &options) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: reading `{}`: {e}", args.events.display());
            return Exit::Usage;
        }
    };
    let text = match args.format {
        BacktestFormat::Human => human(&result),
        BacktestFormat::Json => serde_json::to_string_pretty(&result).unwrap_or_default() + "\n",
    };
    if let Err(exit) = write_output(&args.out, &text) {
        return exit;
    }
    Exit::Success
}
