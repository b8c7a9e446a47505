//! SC1009 `timer-outlives-stage`: a deadline that can never be observed,
//! because every subject has left the stage before it comes due.
//!
//! - a stage timer (`after D in stage S`) of a transition, rule or
//!   escalation, when an unconditional stage timer of `S` with a delay of at
//!   most `D` always moves the subject out first;
//! - an `on milestone M missed` trigger that only applies in stages every
//!   subject enters when `M` starts (so `M` is armed on entry) and leaves,
//!   by an unconditional stage timer, before `M`'s deadline.

use stagecraft_ir::{StageId, Trigger};

use crate::context::{fmt_duration, ActorInfo, Analysis, Dead, LintContext};
use crate::finding::{Finding, Level};
use crate::rule::LintRule;

#[derive(Debug)]
pub struct TimerOutlivesStage;

impl LintRule for TimerOutlivesStage {
    fn code(&self) -> &'static str {
        "SC1009"
    }
    fn name(&self) -> &'static str {
        "timer-outlives-stage"
    }
    fn default_level(&self) -> Level {
        Level::Warning
    }
    fn summary(&self) -> &'static str {
        "A stage timer or milestone deadline that can never be observed: every subject has left the stage, by an unconditional stage timer, before it comes due."
    }

    fn check(&self, cx: &LintContext<'_>, out: &mut Vec<Finding>) {
        let a = cx.analysis();
        for t in &a.transitions {
            let timer_dead = !t.ir.from.is_empty()
                && t.ir
                    .from
                    .iter()
                    .all(|s| matches!(t.dead_at(*s), Some(Dead::Timer { .. })));
            if timer_dead {
                if let (
                    Trigger::AfterInStage { millis, .. },
                    Some(Dead::Timer {
                        stage,
                        exit,
                        exit_millis,
                    }),
                ) = (t.ir.trigger, t.dead_at(t.ir.from[0]))
                {
                    out.push(self.timer(
                        cx,
                        a,
                        &format!("transition `{}`", t.arrow(cx.program)),
                        t.span(),
                        millis,
                        *stage,
                        *exit,
                        *exit_millis,
                    ));
                }
            }
            if let Trigger::MilestoneMissed(m) = t.ir.trigger {
                let stages: Vec<StageId> =
                    t.ir.from
                        .iter()
                        .copied()
                        .filter(|s| t.fires_from(*s) && a.reachable[*s as usize])
                        .collect();
                if let Some(f) = self.milestone(
                    cx,
                    a,
                    m,
                    &stages,
                    &format!("transition `{}`", t.arrow(cx.program)),
                    t.span(),
                ) {
                    out.push(f);
                }
            }
        }
        for actor in &a.actors {
            let what = format!("{} `{}`", actor.kind.word(), actor.name);
            if let (
                Trigger::AfterInStage { millis, .. },
                Some(Dead::Timer {
                    stage,
                    exit,
                    exit_millis,
                }),
            ) = (actor.trigger, &actor.dead)
            {
                out.push(self.timer(
                    cx,
                    a,
                    &what,
                    actor.name_span,
                    millis,
                    *stage,
                    *exit,
                    *exit_millis,
                ));
            }
            if let (Trigger::MilestoneMissed(m), None) = (actor.trigger, &actor.dead) {
                if let Some(f) =
                    self.milestone(cx, a, m, &actor_stages(actor), &what, actor.name_span)
                {
                    out.push(f);
                }
            }
        }
    }
}

fn actor_stages(a: &ActorInfo<'_>) -> Vec<StageId> {
    if a.in_stages.is_empty() {
        Vec::new()
    } else {
        a.stages.clone()
    }
}

impl TimerOutlivesStage {
    #[allow(clippy::too_many_arguments)]
    fn timer(
        &self,
        cx: &LintContext<'_>,
        a: &Analysis<'_>,
        what: &str,
        span: stagecraft_syntax::Span,
        millis: i64,
        stage: StageId,
        exit: usize,
        exit_millis: i64,
    ) -> Finding {
        let name = cx.stage_name(stage);
        let exit_t = &a.transitions[exit];
        self.finding(
            span,
            format!(
                "{what} waits {} in stage `{name}`, but every subject leaves `{name}` after {} (`{}`)",
                fmt_duration(millis),
                fmt_duration(exit_millis),
                exit_t.arrow(cx.program)
            ),
        )
        .label("never comes due")
        .note(exit_t.span(), "always fires first")
        .help(format!(
            "shorten the timer below {}, or make the exit from `{name}` conditional",
            fmt_duration(exit_millis)
        ))
    }

    /// A milestone observer restricted to `stages` (empty: any stage, which
    /// is never reported).
    fn milestone(
        &self,
        cx: &LintContext<'_>,
        a: &Analysis<'_>,
        m: u32,
        stages: &[StageId],
        what: &str,
        span: stagecraft_syntax::Span,
    ) -> Option<Finding> {
        let program = cx.program;
        let ms = program.milestones.get(m as usize)?;
        if stages.is_empty() || ms.starts_filter.is_some() {
            return None;
        }
        let initial = program.initial_stage();
        let mut longest = (0i64, 0usize);
        for &s in stages {
            let (stay, exit) = a.max_stay.get(s as usize).copied().flatten()?;
            if stay >= ms.due_millis || s == initial || program.manual.iter().any(|x| x.to == s) {
                return None;
            }
            // Every way into `s` is the milestone's start event.
            let entries: Vec<_> = a.transitions.iter().filter(|t| t.ir.to == s).collect();
            if entries.is_empty()
                || entries
                    .iter()
                    .any(|t| t.ir.trigger != Trigger::Event(ms.starts))
            {
                return None;
            }
            if stay >= longest.0 {
                longest = (stay, exit);
            }
        }
        let names: Vec<String> = stages
            .iter()
            .map(|s| format!("`{}`", cx.stage_name(*s)))
            .collect();
        let exit_t = &a.transitions[longest.1];
        Some(
            self.finding(
                span,
                format!(
                    "{what} can never see milestone `{}` missed: subjects enter {} when it starts and leave within {}, before its {} deadline",
                    ms.name,
                    names.join(", "),
                    fmt_duration(longest.0),
                    fmt_duration(ms.due_millis)
                ),
            )
            .label("never observed")
            .note(super::span(ms.span), format!("due {} after `{}`", fmt_duration(ms.due_millis), program.events[ms.starts as usize].name))
            .note(exit_t.span(), "leaves the stage first")
            .help("observe the milestone where subjects still are at its deadline (drop the stage restriction), or shorten its `due`"),
        )
    }
}
