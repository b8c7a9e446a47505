//! SC1006 `sink-stage`: a reachable, non-terminal stage with no way out.

use crate::context::LintContext;
use crate::finding::{Finding, Level};
use crate::rule::LintRule;

#[derive(Debug)]
pub struct SinkStage;

impl LintRule for SinkStage {
    fn code(&self) -> &'static str {
        "SC1006"
    }
    fn name(&self) -> &'static str {
        "sink-stage"
    }
    fn default_level(&self) -> Level {
        Level::Warning
    }
    fn summary(&self) -> &'static str {
        "A stage that is not terminal but has no way out: no transition that can fire and no manual move leaves it."
    }

    fn check(&self, cx: &LintContext<'_>, out: &mut Vec<Finding>) {
        let a = cx.analysis();
        for (s, stage) in cx.program.stages.iter().enumerate() {
            let s = s as u32;
            if stage.terminal || !a.reachable[s as usize] {
                continue;
            }
            if a.transitions.iter().any(|t| t.fires_from(s))
                || cx.program.manual.iter().any(|m| m.from.contains(&s))
            {
                continue;
            }
            let span = cx
                .stage_decl(s)
                .map_or(super::span(stage.span), |d| d.name.span);
            let leaving: Vec<_> = a
                .transitions
                .iter()
                .filter(|t| t.ir.from.contains(&s))
                .collect();
            let message = if leaving.is_empty() {
                format!("stage `{}` has no way out: no transition or manual move leaves it, and it is not `terminal`", stage.name)
            } else {
                format!("stage `{}` has no way out: none of the transitions leaving it can fire, and it is not `terminal`", stage.name)
            };
            let mut f = self
                .finding(span, message)
                .label("subjects stay here forever")
                .help(format!(
                    "add a transition (or a `manual` move) out of `{}`, or mark it `terminal` if it is an end of the lifecycle",
                    stage.name
                ));
            for t in leaving.iter().take(4) {
                let text = if t.shadowed_by(s).is_some() {
                    "never wins"
                } else {
                    "never fires"
                };
                f = f.note(t.span(), text);
            }
            out.push(f);
        }
    }
}
