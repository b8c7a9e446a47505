//! `stagecraft explain PLAYBOOK --events FILE --account ID`: one account's
//! timeline with the reasons: each stage change with the values of its
//! guard's clauses, scores by component, each action with its cause or why
//! it was held back, errored rules, near misses. See `docs/reports.md`.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;

use stagecraft_report::explain::{explain, human};

use super::report::time_flag;
use super::run::EngineArgs;
use super::{load_playbook, write_output};
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
    #[command(flatten)]
    engine: EngineArgs,
}

pub fn run(args: Args) -> Exit {
    let at = match time_flag("at", args.at.as_deref()) {
        Ok(t) => t,
        Err(exit) => return exit,
    };
    let Some(compiled) = load_playbook(&args.playbook, args.engine.backend) else {
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
    let config = args.engine.config();
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
    if let Err(exit) = write_output(&args.out, &text) {
        return exit;
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
