//! SC1016 `unused-score`: a score nothing reads.

use super::common::{name_span, unused_rule};
use crate::context::LintContext;
use crate::finding::{Finding, Level};
use crate::rule::LintRule;

unused_rule!(
    UnusedScore,
    "SC1016",
    "unused-score",
    Level::Warning,
    "A score that nothing reads: no condition, other score, segment, action or context package.",
    |rule, cx, out| {
        let usage = cx.usage();
        for (i, s) in cx.program.scores.iter().enumerate() {
            if usage.slots.contains(&cx.program.score_slot(i)) {
                continue;
            }
            out.push(
                rule.finding(
                    name_span(cx, s.span, &s.name),
                    format!("score `{}` is never read", s.name),
                )
                .label("declared here, never used")
                .help("use it in a condition or a `with context(...)` package, or remove it"),
            );
        }
    }
);
