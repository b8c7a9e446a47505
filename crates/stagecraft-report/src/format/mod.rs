//! Renderings of a [`Report`]: a terminal table, JSON, CSV and one
//! self-contained HTML file.

mod csv;
mod html;
mod table;

pub use csv::csv;
pub use html::{html, DATA_BLOCK_ID};
pub use table::table;

use crate::report::Report;

/// Output formats of `stagecraft report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Csv,
    Html,
}

/// The report as pretty-printed JSON (the schema of [`Report`]).
pub fn json(report: &Report) -> String {
    let mut text = serde_json::to_string_pretty(report).unwrap_or_else(|_| "{}".into());
    text.push('\n');
    text
}

/// Renders in one of the formats.
pub fn render(report: &Report, format: Format) -> String {
    match format {
        Format::Table => table(report),
        Format::Json => json(report),
        Format::Csv => csv(report),
        Format::Html => html(report),
    }
}
