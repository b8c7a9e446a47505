//! SC1015 `unused-segment`: a segment nothing uses.

use super::common::{name_span, unused_rule};
use crate::context::LintContext;
use crate::finding::{Finding, Level};
use crate::rule::LintRule;

unused_rule!(
    UnusedSegment,
    "SC1015",
    "unused-segment",
    Level::Warning,
    "A segment that nothing uses: no `for SEGMENT` option and no condition names it.",
    |rule, cx, out| {
        let usage = cx.usage();
        for s in &cx.program.segments {
            if usage.segments.contains(&s.name) {
                continue;
            }
            out.push(
                rule.finding(name_span(cx, s.span, &s.name), format!("segment `{}` is never used", s.name))
                    .label("declared here, never used")
                    .help("restrict a rule or transition with `for ...`, use it in a condition, or remove it"),
            );
        }
    }
);
