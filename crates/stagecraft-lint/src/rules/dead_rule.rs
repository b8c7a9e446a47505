//! SC1003 `dead-rule`: a rule or escalation that can never fire.

use crate::context::{Dead, LintContext};
use crate::finding::{Finding, Level};
use crate::rule::LintRule;

#[derive(Debug)]
pub struct DeadRule;

impl LintRule for DeadRule {
    fn code(&self) -> &'static str {
        "SC1003"
    }
    fn name(&self) -> &'static str {
        "dead-rule"
    }
    fn default_level(&self) -> Level {
        Level::Warning
    }
    fn summary(&self) -> &'static str {
        "A rule or escalation that can never fire: its condition can never be true, or it only runs in stages no subject can be in."
    }

    fn check(&self, cx: &LintContext<'_>, out: &mut Vec<Finding>) {
        for a in &cx.analysis().actors {
            let word = a.kind.word();
            match &a.dead {
                Some(Dead::Guard { core }) => {
                    let (why, notes) = cx.explain(&a.guard, core, &cx.actor_env(a));
                    let mut f = self
                        .finding(a.name_span, format!("{word} `{}` can never fire: {why}", a.name))
                        .label("never fires")
                        .help("fix the condition (compare with the declared ranges and enum values), or remove it");
                    f.notes = notes;
                    out.push(f);
                }
                Some(Dead::NoStage { stages }) => {
                    let names: Vec<String> = stages
                        .iter()
                        .map(|s| format!("`{}`", cx.stage_name(*s)))
                        .collect();
                    let why = if stages.is_empty() {
                        "its stage timer and its `in stage` option name different stages"
                            .to_string()
                    } else if names.len() == 1 {
                        format!(
                            "it only runs in stage {}, which no subject can reach",
                            names[0]
                        )
                    } else {
                        format!(
                            "it only runs in stages {}, which no subject can reach",
                            names.join(", ")
                        )
                    };
                    let mut f = self
                        .finding(a.name_span, format!("{word} `{}` can never fire: {why}", a.name))
                        .label("never fires")
                        .help("make the stage reachable (see `unreachable-stage`), or change the stages it runs in");
                    if let Some(span) = cx.in_stage_span(a) {
                        f = f.note(span, "only in these stages");
                    }
                    out.push(f);
                }
                _ => {}
            }
        }
    }
}
