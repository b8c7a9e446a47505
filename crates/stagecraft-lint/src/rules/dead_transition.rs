//! SC1002 `dead-transition`: a transition whose condition can never hold.

use crate::context::{Dead, LintContext};
use crate::finding::{Finding, Level};
use crate::rule::LintRule;

#[derive(Debug)]
pub struct DeadTransition;

impl LintRule for DeadTransition {
    fn code(&self) -> &'static str {
        "SC1002"
    }
    fn name(&self) -> &'static str {
        "dead-transition"
    }
    fn default_level(&self) -> Level {
        Level::Warning
    }
    fn summary(&self) -> &'static str {
        "A transition whose condition (with its segment and source stage) can never be true, given the declared types, ranges and enum values."
    }

    fn check(&self, cx: &LintContext<'_>, out: &mut Vec<Finding>) {
        for t in &cx.analysis().transitions {
            let all_guard_dead = !t.ir.from.is_empty()
                && t.ir
                    .from
                    .iter()
                    .all(|s| matches!(t.dead_at(*s), Some(Dead::Guard { .. })));
            if !all_guard_dead {
                continue;
            }
            let s = t.ir.from[0];
            let Some(Dead::Guard { core }) = t.dead_at(s) else {
                continue;
            };
            let env = cx.stage_env(t.event, s);
            let (why, notes) = cx.explain(&t.guard, core, &env);
            let mut f = self
                .finding(
                    t.span(),
                    format!("transition `{}` can never fire: {why}", t.arrow(cx.program)),
                )
                .label("never fires")
                .help("fix the condition (compare with the declared ranges and enum values), or remove the transition");
            f.notes = notes;
            out.push(f);
        }
    }
}
