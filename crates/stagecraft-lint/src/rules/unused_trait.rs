//! SC1012 `unused-trait` (info): a trait nothing reads.

use super::common::{name_span, unused_rule};
use crate::context::LintContext;
use crate::finding::{Finding, Level};
use crate::rule::LintRule;

unused_rule!(
    UnusedTrait,
    "SC1012",
    "unused-trait",
    Level::Info,
    "A trait that nothing reads: no condition, score, segment, metric filter, action, context package, date trigger or quiet-hours zone.",
    |rule, cx, out| {
        let usage = cx.usage();
        for (i, t) in cx.program.traits.iter().enumerate() {
            if usage.slots.contains(&cx.program.trait_slot(i)) {
                continue;
            }
            out.push(
                rule.finding(name_span(cx, t.span, &t.name), format!("trait `{}` is never read", t.name))
                    .label("declared here, never used")
                    .help("use it in a condition or a `with context(...)` package, or remove it"),
            );
        }
    }
);
