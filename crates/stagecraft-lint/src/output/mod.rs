//! Report formats: human text, JSON, SARIF 2.1.0, GitHub Actions workflow
//! commands, JUnit XML.

mod github;
mod human;
mod json;
mod junit;
mod sarif;

use stagecraft_syntax::span::line_col;

use crate::finding::Finding;
use crate::FileReport;

pub use github::github;
pub use human::human;
pub use json::json;
pub use junit::junit;
pub use sarif::sarif;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
    Sarif,
    Github,
    Junit,
}

/// Renders all reports in one format.
pub fn render(format: Format, reports: &[FileReport], color: bool) -> String {
    match format {
        Format::Human => human(reports, color),
        Format::Json => json(reports),
        Format::Sarif => sarif(reports),
        Format::Github => github(reports),
        Format::Junit => junit(reports),
    }
}

/// One-based start and end (line, column) of a finding's primary span.
pub(crate) fn region(source: &str, f: &Finding) -> ((usize, usize), (usize, usize)) {
    (line_col(source, f.span.start), line_col(source, f.span.end))
}
