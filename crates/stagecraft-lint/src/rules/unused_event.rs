//! SC1013 `unused-event` (info): an event nothing uses.

use super::common::{name_span, unused_rule};
use crate::context::LintContext;
use crate::finding::{Finding, Level};
use crate::rule::LintRule;

unused_rule!(
    UnusedEvent,
    "SC1013",
    "unused-event",
    Level::Info,
    "An event that nothing uses: no trigger, metric, milestone or `since last` reads it, so the playbook ignores it.",
    |rule, cx, out| {
        let usage = cx.usage();
        for (i, e) in cx.program.events.iter().enumerate() {
            if usage.events.contains(&(i as u32)) {
                continue;
            }
            out.push(
                rule.finding(name_span(cx, e.span, &format!("\"{}\"", e.name)), format!("event `{}` is never used", e.name))
                    .label("declared here, never used")
                    .help("trigger a rule or transition on it, count it in a metric, or remove it"),
            );
        }
    }
);
