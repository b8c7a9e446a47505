//! Diagnostics as data: any error of the pipeline becomes a [`Diagnostic`]
//! record (for JSON, SARIF, the language server) or a rendered report.

use miette::{Diagnostic as MietteDiagnostic, GraphicalReportHandler, GraphicalTheme, NamedSource};
use serde::Serialize;
use stagecraft_syntax::span::line_col;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// A position in a file: one-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Label {
    pub message: Option<String>,
    pub offset: usize,
    pub length: usize,
    pub start: Position,
    pub end: Position,
}

/// One finding, with everything a tool needs to show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub code: String,
    pub severity: Severity,
    pub message: String,
    pub help: Option<String>,
    /// The primary location first.
    pub labels: Vec<Label>,
}

impl Diagnostic {
    /// Converts any miette diagnostic over `source`.
    pub fn from_miette(
        diagnostic: &dyn MietteDiagnostic,
        severity: Severity,
        source: &str,
    ) -> Diagnostic {
        let labels = diagnostic
            .labels()
            .map(|labels| {
                labels
                    .map(|l| {
                        let offset = l.offset();
                        let end = offset + l.len();
                        let (sl, sc) = line_col(source, offset);
                        let (el, ec) = line_col(source, end);
                        Label {
                            message: l.label().map(str::to_string),
                            offset,
                            length: l.len(),
                            start: Position {
                                line: sl,
                                column: sc,
                            },
                            end: Position {
                                line: el,
                                column: ec,
                            },
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        Diagnostic {
            code: diagnostic.code().map(|c| c.to_string()).unwrap_or_default(),
            severity,
            message: diagnostic.to_string(),
            help: diagnostic.help().map(|h| h.to_string()),
            labels,
        }
    }

    pub fn start(&self) -> Position {
        self.labels
            .first()
            .map_or(Position { line: 1, column: 1 }, |l| l.start)
    }
}

/// Renders one diagnostic as text with the source excerpt. `color` selects
/// ANSI colours (terminals); without it the output is stable for snapshots.
pub fn render(
    diagnostic: &dyn MietteDiagnostic,
    file_name: &str,
    source: &str,
    color: bool,
) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
    let wrapped = WithSource {
        inner: diagnostic,
        source: NamedSource::new(file_name, source.to_string()),
    };
    let mut out = String::new();
    if handler.render_report(&mut out, &wrapped).is_err() {
        out = format!("{}: {}\n", file_name, diagnostic);
    }
    out
}

/// Attaches source code to a diagnostic for rendering.
struct WithSource<'a> {
    inner: &'a dyn MietteDiagnostic,
    source: NamedSource<String>,
}

impl std::fmt::Debug for WithSource<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.inner, f)
    }
}

impl std::fmt::Display for WithSource<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self.inner, f)
    }
}

impl std::error::Error for WithSource<'_> {}

impl MietteDiagnostic for WithSource<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn std::fmt::Display + 'b>> {
        self.inner.code()
    }
    fn severity(&self) -> Option<miette::Severity> {
        self.inner.severity()
    }
    fn help<'b>(&'b self) -> Option<Box<dyn std::fmt::Display + 'b>> {
        self.inner.help()
    }
    fn url<'b>(&'b self) -> Option<Box<dyn std::fmt::Display + 'b>> {
        self.inner.url()
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        self.inner.labels()
    }
}
