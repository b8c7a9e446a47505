//! SC1017 `unused-milestone` (info): a milestone nothing reacts to.

use super::common::{name_span, unused_rule};
use crate::context::LintContext;
use crate::finding::{Finding, Level};
use crate::rule::LintRule;

unused_rule!(
    UnusedMilestone,
    "SC1017",
    "unused-milestone",
    Level::Info,
    "A milestone nothing reacts to: no `on milestone M missed` trigger and no `milestone M ...` condition (its `milestone_missed` records are still written).",
    |rule, cx, out| {
        let usage = cx.usage();
        for (i, m) in cx.program.milestones.iter().enumerate() {
            if usage.milestones.contains(&(i as u32)) {
                continue;
            }
            out.push(
                rule.finding(name_span(cx, m.span, &m.name), format!("milestone `{}` is never observed", m.name))
                    .label("no rule, escalation or transition reacts to it")
                    .help(format!("react to it with `on milestone {} missed`, or remove it if the `milestone_missed` records are not needed", m.name)),
            );
        }
    }
);
