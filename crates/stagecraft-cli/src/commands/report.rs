//! `stagecraft report --outcomes FILE`: lifecycle figures over a run's
//! outcome records, as a terminal table, JSON, CSV or one self-contained
//! HTML file. See `docs/reports.md`.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;

use stagecraft::runtime::{time, Engine, Snapshot};
use stagecraft_report::format::{self, Format};
use stagecraft_report::{report_from_reader, Bucket, PlaybookInfo, ReportOptions};

use super::{load_playbook, write_output, Backend};
use crate::exit::Exit;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ReportFormat {
    Table,
    Json,
    Csv,
    Html,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum BucketArg {
    /// Days up to 92 days of outcomes, weeks beyond.
    Auto,
    Day,
    Week,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Outcome records: the NDJSON `stagecraft run --out` writes (`-` reads
    /// standard input).
    #[arg(long)]
    outcomes: PathBuf,
    /// The run's state snapshot (`--state-out`): authoritative for where
    /// every account is now. Needs `--playbook`.
    #[arg(long)]
    state: Option<PathBuf>,
    /// The playbook: stage order, terminal stages, value stage, holdout
    /// rules. Without it, stages are ordered as they first appear.
    #[arg(long)]
    playbook: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "table")]
    format: ReportFormat,
    /// Where the report goes (`-`: standard output).
    #[arg(long, default_value = "-")]
    out: PathBuf,
    /// An account in a non-terminal stage longer than this is stuck.
    #[arg(long, default_value = "30d", value_parser = super::run::parse_duration)]
    stuck_after: i64,
    /// How many stuck accounts to list (all are counted).
    #[arg(long, default_value = "20")]
    stuck_limit: usize,
    /// Report as of this time (RFC 3339, or a date for its midnight UTC):
    /// later records are ignored. Default: the state's clock, else the
    /// newest record.
    #[arg(long)]
    at: Option<String>,
    /// The stage time to value is measured to (default: see docs/reports.md).
    #[arg(long)]
    value_stage: Option<String>,
    /// Funnel stages, comma-separated (default: every stage in declared
    /// order).
    #[arg(long, value_delimiter = ',')]
    funnel: Option<Vec<String>>,
    /// Buckets of the distribution over time.
    #[arg(long, value_enum, default_value = "auto")]
    bucket: BucketArg,
}

/// RFC 3339, or `YYYY-MM-DD` for midnight UTC.
fn parse_time(text: &str) -> Option<i64> {
    time::parse_rfc3339(text)
        .or_else(|| time::parse_date(text).map(|d| d.saturating_mul(time::MILLIS_PER_DAY)))
}

/// The value of a time flag (`--at`, `--until`), if given; a value that is
/// not a time is reported and is a usage error.
pub fn time_flag(flag: &str, text: Option<&str>) -> Result<Option<i64>, Exit> {
    match text.map(parse_time) {
        Some(None) => {
            eprintln!(
                "error: `--{flag}` is not an RFC 3339 time or a date, e.g. 2026-03-01T00:00:00Z"
            );
            Err(Exit::Usage)
        }
        parsed => Ok(parsed.flatten()),
    }
}

pub fn run(args: Args) -> Exit {
    let at = match time_flag("at", args.at.as_deref()) {
        Ok(t) => t,
        Err(exit) => return exit,
    };
    if args.state.is_some() && args.playbook.is_none() {
        eprintln!("error: `--state` needs `--playbook` (a snapshot is read with its playbook)");
        return Exit::Usage;
    }
    let compiled = match &args.playbook {
        Some(path) => match load_playbook(path, Backend::Interp) {
            Some(c) => Some(c),
            None => return Exit::Findings,
        },
        None => None,
    };
    let info = compiled
        .as_ref()
        .map(|c| PlaybookInfo::from_program(&c.program));
    let options = ReportOptions {
        at,
        stuck_after_millis: args.stuck_after,
        stuck_limit: args.stuck_limit,
        bucket: match args.bucket {
            BucketArg::Auto => Bucket::Auto,
            BucketArg::Day => Bucket::Day,
            BucketArg::Week => Bucket::Week,
        },
        value_stage: args.value_stage.clone(),
        funnel: args.funnel.clone(),
    };
    let input: Box<dyn BufRead> = if args.outcomes.as_os_str() == "-" {
        Box::new(BufReader::new(std::io::stdin()))
    } else {
        match File::open(&args.outcomes) {
            Ok(f) => Box::new(BufReader::with_capacity(1 << 20, f)),
            Err(e) => {
                eprintln!("error: cannot read `{}`: {e}", args.outcomes.display());
                return Exit::Usage;
            }
        }
    };
    let check = stagecraft_report::ReportBuilder::new(info.clone(), options.clone()).validate();
    if let Err(e) = check {
        eprintln!("error: {e}");
        return Exit::Usage;
    }
    let mut builder = match report_from_reader(input, info, options) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: reading `{}`: {e}", args.outcomes.display());
            return Exit::Usage;
        }
    };
    if let (Some(path), Some(compiled)) = (&args.state, &compiled) {
        let engine = std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|text| Snapshot::from_json(&text).map_err(|e| e.to_string()))
            .and_then(|s| Engine::restore(compiled.clone(), s).map_err(|e| e.to_string()));
        let engine = match engine {
            Ok(engine) => engine,
            Err(e) => {
                eprintln!("error: cannot restore `{}`: {e}", path.display());
                return Exit::Usage;
            }
        };
        let program = engine.program().clone();
        let layout = program.layout;
        let subjects = engine.subjects().iter().filter(|s| s.entered).map(|s| {
            let stage = s
                .get(layout.stage)
                .and_then(|i| program.stages.get(i as usize))
                .map_or("", |d| d.name.as_str());
            (
                &*s.key,
                stage,
                s.get(layout.stage_entered_at),
                s.get(layout.first_seen),
            )
        });
        builder.apply_state(subjects, engine.clock());
    }
    let report = builder.finish();
    let text = format::render(
        &report,
        match args.format {
            ReportFormat::Table => Format::Table,
            ReportFormat::Json => Format::Json,
            ReportFormat::Csv => Format::Csv,
            ReportFormat::Html => Format::Html,
        },
    );
    if let Err(exit) = write_output(&args.out, &text) {
        return exit;
    }
    Exit::Success
}
