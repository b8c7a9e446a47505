//! `stagecraft lint`: static analysis of checked playbooks.
//!
//! The rules (one file each under `rules/`, listed in [`rule::registry`])
//! read a [`LintContext`]: the AST, the typed IR, the source, a value-domain
//! solver over IR expressions ([`domain`]) and a shared flow analysis
//! (which transitions can fire from which stage, which stages are
//! reachable). [`lint_source`] runs the whole pipeline for one file:
//! parse, check (errors become `SC0xxx` findings), rules, inline
//! suppressions, configured levels. [`output`] writes the reports as human
//! text, JSON, SARIF 2.1.0, GitHub workflow commands or JUnit XML.
//!
//! ```
//! use stagecraft_lint::{lint_source, Settings};
//! let text = r#"playbook "demo" { language 1; subject account }
//! traits { seats: int in 1..100 = 1 }
//! event "Login" {}
//! stages { trial initial, paying, churned terminal }
//! transition trial -> paying on "Login" where seats > 500
//! "#;
//! let report = lint_source("demo.playbook", text, &Settings::default());
//! assert!(report.findings.iter().any(|f| f.code == "SC1002"));
//! ```

pub mod config;
pub mod context;
pub mod domain;
pub mod finding;
pub mod graph;
pub mod output;
pub mod rule;
pub mod rules;
pub mod suppress;
pub mod usage;

use stagecraft::{Rejection, Source};
use stagecraft_ir::Program;
use stagecraft_syntax::ast::Playbook;
use stagecraft_syntax::Span;

pub use config::{Config, Settings};
pub use context::LintContext;
pub use finding::{Finding, Level, Note};
pub use rule::{lookup, registry, LintRule};
pub use suppress::Suppressed;

/// Runs every rule on a checked playbook. Findings carry their rules'
/// default levels, in no particular order.
pub fn run_rules(ast: &Playbook, program: &Program, source: &str) -> Vec<Finding> {
    let cx = LintContext::new(ast, program, source);
    let mut out = Vec::new();
    for rule in registry() {
        rule.check(&cx, &mut out);
    }
    out
}

/// The lint result of one file.
#[derive(Debug, Clone)]
pub struct FileReport {
    pub file: String,
    pub source: String,
    /// Findings at their effective levels (rules turned off removed), in
    /// source order.
    pub findings: Vec<Finding>,
    /// Findings silenced by inline comments, with the reasons given.
    pub suppressed: Vec<Suppressed>,
    pub fail_level: Level,
    /// False when the file did not parse or check: its findings are the
    /// `SC0xxx` errors.
    pub checked: bool,
}

impl FileReport {
    /// Whether the file has findings at or above its fail level.
    pub fn fails(&self) -> bool {
        self.findings.iter().any(|f| f.level >= self.fail_level)
    }

    pub fn count(&self, level: Level) -> usize {
        self.findings.iter().filter(|f| f.level == level).count()
    }
}

/// Parses, checks and lints one playbook.
pub fn lint_source(file: &str, text: &str, settings: &Settings) -> FileReport {
    let mut report = FileReport {
        file: file.to_string(),
        source: text.to_string(),
        findings: Vec::new(),
        suppressed: Vec::new(),
        fail_level: settings.fail_level,
        checked: false,
    };
    match Source::new(file, text).check() {
        Err((_, rejection)) => {
            report.findings = rejection_findings(&rejection);
        }
        Ok(checked) => {
            report.checked = true;
            let findings = run_rules(&checked.ast, &checked.program, text);
            let (suppressions, mut problems) = suppress::parse(text);
            let (kept, suppressed, unused) = suppress::apply(text, findings, &suppressions);
            problems.extend(unused);
            let mut all = kept;
            all.extend(problems);
            for f in &mut all {
                f.level = settings.level(&f.code);
            }
            all.retain(|f| f.level != Level::Off);
            report.findings = all;
            report.suppressed = suppressed;
        }
    }
    report.findings.sort_by(|a, b| {
        (a.span.start, &a.code, &a.message).cmp(&(b.span.start, &b.code, &b.message))
    });
    report
}

/// Parse and check errors as findings (level error, their `SC0xxx` codes).
pub fn rejection_findings(rejection: &Rejection) -> Vec<Finding> {
    let (rule, diags): (&str, Vec<&dyn miette::Diagnostic>) = match rejection {
        Rejection::Syntax(errors) => (
            "syntax",
            errors
                .iter()
                .map(|e| e as &dyn miette::Diagnostic)
                .collect(),
        ),
        Rejection::Check(errors) => (
            "check",
            errors
                .iter()
                .map(|e| e as &dyn miette::Diagnostic)
                .collect(),
        ),
    };
    diags
        .into_iter()
        .map(|d| {
            let mut labels: Vec<miette::LabeledSpan> =
                d.labels().map(|l| l.collect()).unwrap_or_default();
            let primary = if labels.is_empty() {
                None
            } else {
                Some(labels.remove(labels.iter().position(|l| l.primary()).unwrap_or(0)))
            };
            let span = primary.as_ref().map_or(Span::new(0, 0), |l| {
                Span::new(l.offset(), l.offset() + l.len())
            });
            let code = d
                .code()
                .map(|c| c.to_string())
                .unwrap_or_else(|| "SC0000".into());
            let mut f = Finding::new(&code, rule, span, d.to_string());
            f.level = Level::Error;
            f.label = primary.and_then(|l| l.label().map(str::to_string));
            f.help = d.help().map(|h| h.to_string());
            for l in labels {
                f.notes.push(Note {
                    span: Span::new(l.offset(), l.offset() + l.len()),
                    text: l.label().unwrap_or("").to_string(),
                });
            }
            f
        })
        .collect()
}
