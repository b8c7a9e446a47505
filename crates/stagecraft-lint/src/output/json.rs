//! `[{file, ok, checked, fail_level, diagnostics: [...], suppressed: [...]}]`:
//! the shape of `stagecraft check --format json`, with each diagnostic's
//! rule name.

use serde::Serialize;
use stagecraft_syntax::span::line_col;

use crate::FileReport;

#[derive(Serialize)]
struct FileJson<'a> {
    file: &'a str,
    ok: bool,
    checked: bool,
    fail_level: &'a str,
    diagnostics: Vec<DiagnosticJson<'a>>,
    suppressed: Vec<SuppressedJson<'a>>,
}

#[derive(Serialize)]
struct DiagnosticJson<'a> {
    rule: &'a str,
    #[serde(flatten)]
    diagnostic: stagecraft::Diagnostic,
}

#[derive(Serialize)]
struct SuppressedJson<'a> {
    code: &'a str,
    rule: &'a str,
    message: &'a str,
    line: usize,
    reason: Option<&'a str>,
}

pub fn json(reports: &[FileReport]) -> String {
    let files: Vec<FileJson<'_>> = reports
        .iter()
        .map(|r| FileJson {
            file: &r.file,
            ok: !r.fails(),
            checked: r.checked,
            fail_level: r.fail_level.as_str(),
            diagnostics: r
                .findings
                .iter()
                .map(|f| DiagnosticJson {
                    rule: &f.rule,
                    diagnostic: f.to_diagnostic(&r.source),
                })
                .collect(),
            suppressed: r
                .suppressed
                .iter()
                .map(|s| SuppressedJson {
                    code: &s.finding.code,
                    rule: &s.finding.rule,
                    message: &s.finding.message,
                    line: line_col(&r.source, s.finding.span.start).0,
                    reason: s.reason.as_deref(),
                })
                .collect(),
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&files).unwrap_or_else(|_| "[]".into());
    text.push('\n');
    text
}
