//! SC1011 `sent-count-of-silent-rule`: `count sent RULE` of a rule that can
//! never send anything, so the metric is always 0.

use stagecraft_ir::MetricKind;

use crate::context::LintContext;
use crate::finding::{Finding, Level};
use crate::rule::LintRule;

#[derive(Debug)]
pub struct SentCountOfSilentRule;

impl LintRule for SentCountOfSilentRule {
    fn code(&self) -> &'static str {
        "SC1011"
    }
    fn name(&self) -> &'static str {
        "sent-count-of-silent-rule"
    }
    fn default_level(&self) -> Level {
        Level::Warning
    }
    fn summary(&self) -> &'static str {
        "`count sent RULE` of a rule that never emits an action (no actions, can never fire, or holds every subject out): the metric is always 0."
    }

    fn check(&self, cx: &LintContext<'_>, out: &mut Vec<Finding>) {
        let a = cx.analysis();
        for m in &cx.program.metrics {
            let MetricKind::Sent(r) = m.kind else {
                continue;
            };
            let Some(rule) = cx.program.rules.get(r as usize) else {
                continue;
            };
            let actor = a
                .actors
                .iter()
                .find(|x| x.rule.is_some() && x.index == r as usize);
            let why = if rule.actions.is_empty() {
                "it has no actions".to_string()
            } else if actor.is_some_and(|x| x.dead.is_some()) {
                "it can never fire".to_string()
            } else if rule.holdout_basis_points >= 10_000 {
                "its holdout is 100%".to_string()
            } else {
                continue;
            };
            let mut f = self
                .finding(
                    super::span(m.span),
                    format!(
                        "metric `{}` counts what rule `{}` sends, but {why}: it is always 0",
                        m.name, rule.name
                    ),
                )
                .label("always 0")
                .help(format!(
                    "count a rule that sends, or fix rule `{}`",
                    rule.name
                ));
            if let Some(x) = actor {
                f = f.note(x.name_span, "this rule");
            }
            out.push(f);
        }
    }
}
