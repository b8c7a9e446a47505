//! SC1005 `overlapping-transitions` (info): two transitions from the same
//! stage to different stages whose conditions can hold at once.

use std::collections::BTreeMap;

use stagecraft_ir::Trigger;

use crate::context::{covers, LintContext};
use crate::finding::{Finding, Level};
use crate::rule::LintRule;

#[derive(Debug)]
pub struct OverlappingTransitions;

impl LintRule for OverlappingTransitions {
    fn code(&self) -> &'static str {
        "SC1005"
    }
    fn name(&self) -> &'static str {
        "overlapping-transitions"
    }
    fn default_level(&self) -> Level {
        Level::Info
    }
    fn summary(&self) -> &'static str {
        "Two transitions from the same stage to different stages can hold on the same input; source order decides which wins."
    }

    fn check(&self, cx: &LintContext<'_>, out: &mut Vec<Finding>) {
        let a = cx.analysis();
        // (earlier, later) -> stages where both can hold.
        let mut pairs: BTreeMap<(usize, usize), Vec<u32>> = BTreeMap::new();
        for s in 0..cx.program.stages.len() as u32 {
            let from: Vec<_> = a.transitions.iter().filter(|t| t.fires_from(s)).collect();
            for (j, later) in from.iter().enumerate() {
                for earlier in &from[..j] {
                    if earlier.ir.to == later.ir.to {
                        continue;
                    }
                    // The same trigger, or a level condition that comes
                    // first and so beats an event-specific transition.
                    let same = earlier.ir.trigger == later.ir.trigger
                        && !matches!(
                            earlier.ir.trigger,
                            Trigger::AfterInStage { .. } | Trigger::AtDate { .. }
                        );
                    let level_first = earlier.ir.trigger == Trigger::When
                        && covers(earlier.ir.trigger, later.ir.trigger);
                    if !same && !level_first {
                        continue;
                    }
                    let event = later.event.or(earlier.event);
                    let env = cx.stage_env(event, s);
                    let mut conj = earlier.guard.terms.clone();
                    conj.extend(&later.guard.terms);
                    if cx.solver.can_be_true(&conj, &env) {
                        pairs
                            .entry((earlier.index, later.index))
                            .or_default()
                            .push(s);
                    }
                }
            }
        }
        for ((e, l), stages) in pairs {
            let (earlier, later) = (&a.transitions[e], &a.transitions[l]);
            let names: Vec<String> = stages
                .iter()
                .map(|s| format!("`{}`", cx.stage_name(*s)))
                .collect();
            let (line, _) = stagecraft_syntax::span::line_col(cx.source, earlier.span().start);
            out.push(
                self.finding(
                    later.span(),
                    format!(
                        "transitions `{}` and `{}` can both hold from {}: `{}` wins because it comes first (line {line})",
                        earlier.arrow(cx.program),
                        later.arrow(cx.program),
                        names.join(", "),
                        earlier.arrow(cx.program),
                    ),
                )
                .label("loses when both hold")
                .note(earlier.span(), "wins: earlier in the file")
                .help("if source order is the priority you want, nothing to do; otherwise make the conditions exclusive or reorder the transitions"),
            );
        }
    }
}
