//! SC1020 `cooldown-on-once`: a `cooldown` on a `once` rule has no effect.

use stagecraft_syntax::ast::Item;

use crate::context::{fmt_duration, LintContext};
use crate::finding::{Finding, Level};
use crate::rule::LintRule;

#[derive(Debug)]
pub struct CooldownOnOnce;

impl LintRule for CooldownOnOnce {
    fn code(&self) -> &'static str {
        "SC1020"
    }
    fn name(&self) -> &'static str {
        "cooldown-on-once"
    }
    fn default_level(&self) -> Level {
        Level::Warning
    }
    fn summary(&self) -> &'static str {
        "A `cooldown` on a `once` rule or escalation has no effect: `once` already stops it after the first firing."
    }
    fn check(&self, cx: &LintContext<'_>, out: &mut Vec<Finding>) {
        for item in &cx.ast.items {
            let (kind, name, options) = match item {
                Item::Rule(r) => ("rule", &r.name, &r.options),
                Item::Escalation(e) => ("escalation", &e.name, &e.options),
                _ => continue,
            };
            let (Some(once), Some(cooldown)) = (options.once, options.cooldown) else {
                continue;
            };
            out.push(
                self.finding(
                    cooldown.span,
                    format!(
                        "`cooldown {}` has no effect: {kind} `{}` is `once`, so it never fires a second time",
                        fmt_duration(cooldown.millis),
                        name.name
                    ),
                )
                .label("no effect")
                .note(once, "fires at most once per subject")
                .help("remove the `cooldown`, or remove `once` if the rule should fire again after the cooldown"),
            );
        }
    }
}
