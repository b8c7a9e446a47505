//! SC1004 `shadowed-transition`: a transition that never wins, because an
//! earlier transition from the same stage always matches first.

use crate::context::LintContext;
use crate::finding::{Finding, Level};
use crate::rule::LintRule;

#[derive(Debug)]
pub struct ShadowedTransition;

impl LintRule for ShadowedTransition {
    fn code(&self) -> &'static str {
        "SC1004"
    }
    fn name(&self) -> &'static str {
        "shadowed-transition"
    }
    fn default_level(&self) -> Level {
        Level::Warning
    }
    fn summary(&self) -> &'static str {
        "A transition that can never win: an earlier transition from the same stage, with a trigger that matches the same inputs, holds whenever it does."
    }

    fn check(&self, cx: &LintContext<'_>, out: &mut Vec<Finding>) {
        let a = cx.analysis();
        for t in &a.transitions {
            let live: Vec<u32> =
                t.ir.from
                    .iter()
                    .copied()
                    .filter(|s| t.dead_at(*s).is_none())
                    .collect();
            if live.is_empty() || !live.iter().all(|s| t.shadowed_by(*s).is_some()) {
                continue;
            }
            let Some(earlier) = t.shadowed_by(live[0]).and_then(|e| a.transitions.get(e)) else {
                continue;
            };
            let (line, _) = stagecraft_syntax::span::line_col(cx.source, earlier.span().start);
            let stages: Vec<String> = live
                .iter()
                .map(|s| format!("`{}`", cx.stage_name(*s)))
                .collect();
            out.push(
                self.finding(
                    t.span(),
                    format!(
                        "transition `{}` never wins: `{}` (line {line}) matches first from {} whenever it holds",
                        t.arrow(cx.program),
                        earlier.arrow(cx.program),
                        stages.join(", ")
                    ),
                )
                .label("never taken")
                .note(earlier.span(), "always matches first")
                .help("transitions are tried in source order and the first match wins: move this one above the other, or narrow the earlier condition"),
            );
        }
    }
}
