//! Reports, explanations and backtests over Stagecraft runs.
//!
//! - [`report`]: one streaming pass over a run's outcome records into the
//!   lifecycle figures (distribution, funnel, velocity, time to value, stuck
//!   accounts, audit flags, actions, holdouts, go-live), rendered by
//!   [`format`] as a terminal table, JSON, CSV or one self-contained HTML
//!   file.
//! - [`explain`]: why one account is where it is: every stage change with
//!   the values of its guard's clauses, scores by component, every action
//!   with its cause or the reason it was held back, near misses.
//! - [`backtest`]: the same history through two versions of a playbook, and
//!   what changes.
//! - [`golive`]: placing existing customers in their current stage before
//!   the first event.
//!
//! See `docs/reports.md`.

pub mod backtest;
pub mod clauses;
pub mod explain;
pub mod format;
pub mod golive;
pub mod model;
pub mod records;
pub mod report;

pub use model::PlaybookInfo;
pub use report::{Bucket, Report, ReportBuilder, ReportOptions};

/// Builds a report from NDJSON outcome records read line by line.
pub fn report_from_reader(
    reader: impl std::io::BufRead,
    info: Option<PlaybookInfo>,
    options: ReportOptions,
) -> std::io::Result<ReportBuilder> {
    let mut builder = ReportBuilder::new(info, options);
    let mut reader = reader;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        builder.push_line(line.trim_end_matches(['\n', '\r']));
    }
    Ok(builder)
}
