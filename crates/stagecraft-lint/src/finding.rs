//! A lint finding: a miette diagnostic with a code, a severity, a primary
//! span, secondary labels and a help text.

use std::fmt;

use serde::{Deserialize, Serialize};
use stagecraft_syntax::Span;

/// How serious a finding is. `Off` is only a configuration value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Off,
    Info,
    Warning,
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Off => "off",
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }

    pub fn parse(text: &str) -> Option<Level> {
        match text.trim().to_ascii_lowercase().as_str() {
            "off" | "none" => Some(Level::Off),
            "info" | "note" => Some(Level::Info),
            "warning" | "warn" => Some(Level::Warning),
            "error" => Some(Level::Error),
            _ => None,
        }
    }

    /// The facade's severity (`Off` never reaches output).
    pub fn severity(self) -> stagecraft::Severity {
        match self {
            Level::Off | Level::Info => stagecraft::Severity::Info,
            Level::Warning => stagecraft::Severity::Warning,
            Level::Error => stagecraft::Severity::Error,
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A secondary location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub span: Span,
    pub text: String,
}

/// One finding of one rule (or a parse/check error carried through the
/// same outputs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// `SC1001`, or an `SC0xxx` code for parse and check errors.
    pub code: String,
    /// The rule's name (`unreachable-stage`), or `syntax`/`check`.
    pub rule: String,
    pub level: Level,
    pub message: String,
    pub span: Span,
    /// The text of the primary label.
    pub label: Option<String>,
    pub notes: Vec<Note>,
    pub help: Option<String>,
}

impl Finding {
    pub fn new(code: &str, rule: &str, span: Span, message: impl Into<String>) -> Finding {
        Finding {
            code: code.into(),
            rule: rule.into(),
            level: Level::Warning,
            message: message.into(),
            span,
            label: None,
            notes: Vec::new(),
            help: None,
        }
    }

    pub fn label(mut self, text: impl Into<String>) -> Finding {
        self.label = Some(text.into());
        self
    }

    pub fn note(mut self, span: Span, text: impl Into<String>) -> Finding {
        self.notes.push(Note {
            span,
            text: text.into(),
        });
        self
    }

    pub fn help(mut self, text: impl Into<String>) -> Finding {
        self.help = Some(text.into());
        self
    }

    /// As a serializable record over `source` (code, severity, message,
    /// help, labels with lines and columns).
    pub fn to_diagnostic(&self, source: &str) -> stagecraft::Diagnostic {
        stagecraft::Diagnostic::from_miette(self, self.level.severity(), source)
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Finding {}

impl miette::Diagnostic for Finding {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(&self.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.level {
            Level::Error => miette::Severity::Error,
            Level::Warning => miette::Severity::Warning,
            Level::Info | Level::Off => miette::Severity::Advice,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        let primary = miette::LabeledSpan::new_primary_with_span(self.label.clone(), self.span);
        let rest = self
            .notes
            .iter()
            .map(|n| miette::LabeledSpan::new_with_span(Some(n.text.clone()), n.span));
        Some(Box::new(std::iter::once(primary).chain(rest)))
    }
}
