//! Rendered diagnostics with source excerpts, then a summary line per file.

use crate::finding::Level;
use crate::FileReport;

pub fn human(reports: &[FileReport], color: bool) -> String {
    let mut out = String::new();
    for r in reports {
        for f in &r.findings {
            out.push_str(&stagecraft::diagnostics::render(
                f, &r.file, &r.source, color,
            ));
        }
        out.push_str(&summary(r));
        out.push('\n');
    }
    out
}

/// `FILE: ok` or `FILE: 1 error, 2 warnings, 1 info (fails at warning)`.
pub fn summary(r: &FileReport) -> String {
    if r.findings.is_empty() {
        return format!("{}: ok", r.file);
    }
    let mut parts = Vec::new();
    for (level, one, many) in [
        (Level::Error, "error", "errors"),
        (Level::Warning, "warning", "warnings"),
        (Level::Info, "info", "info"),
    ] {
        let n = r.count(level);
        if n > 0 {
            parts.push(format!("{n} {}", if n == 1 { one } else { many }));
        }
    }
    let verdict = if r.fails() {
        format!("fails at `{}`", r.fail_level)
    } else {
        format!("passes at `{}`", r.fail_level)
    };
    let suppressed = if r.suppressed.is_empty() {
        String::new()
    } else {
        format!(", {} suppressed", r.suppressed.len())
    };
    format!("{}: {}{suppressed} ({verdict})", r.file, parts.join(", "))
}
