//! SC1014 `unused-metric`: a metric nothing reads.

use super::common::{name_span, unused_rule};
use crate::context::LintContext;
use crate::finding::{Finding, Level};
use crate::rule::LintRule;

unused_rule!(
    UnusedMetric,
    "SC1014",
    "unused-metric",
    Level::Warning,
    "A metric that nothing reads: no condition, score, segment, action or context package.",
    |rule, cx, out| {
        let usage = cx.usage();
        for (i, m) in cx.program.metrics.iter().enumerate() {
            if usage.slots.contains(&cx.program.metric_slot(i)) {
                continue;
            }
            out.push(
                rule.finding(
                    name_span(cx, m.span, &m.name),
                    format!("metric `{}` is never read", m.name),
                )
                .label("declared here, never used")
                .help(
                    "use it in a condition, a score or a `with context(...)` package, or remove it",
                ),
            );
        }
    }
);
