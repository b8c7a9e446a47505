//! SC1010 `rule-exceeds-cap` (info): a rule that can emit more actions of a
//! capped kind within the cap's window than the cap allows, so some of its
//! firings are suppressed by design.

use stagecraft_ir::{ActionKind, CapTarget, Trigger};

use crate::context::{fmt_duration, LintContext};
use crate::finding::{Finding, Level};
use crate::rule::LintRule;

#[derive(Debug)]
pub struct RuleExceedsCap;

impl LintRule for RuleExceedsCap {
    fn code(&self) -> &'static str {
        "SC1010"
    }
    fn name(&self) -> &'static str {
        "rule-exceeds-cap"
    }
    fn default_level(&self) -> Level {
        Level::Info
    }
    fn summary(&self) -> &'static str {
        "A rule can emit more capped actions within a cap's window than the cap allows: the excess is suppressed."
    }

    fn check(&self, cx: &LintContext<'_>, out: &mut Vec<Finding>) {
        let program = cx.program;
        for a in &cx.analysis().actors {
            let Some(rule) = a.rule else { continue };
            if a.dead.is_some() || rule.holdout_basis_points >= 10_000 {
                continue;
            }
            for cap in &program.policy.caps {
                let counted = rule
                    .actions
                    .iter()
                    .filter(|x| match (cap.target, &x.kind) {
                        (CapTarget::Messages, k) => k.is_message(),
                        (CapTarget::Touches, k) => {
                            matches!(k, ActionKind::Task { .. } | ActionKind::HandOff { .. })
                        }
                        (CapTarget::Channel(c), ActionKind::Send { channel, .. }) => *channel == c,
                        _ => false,
                    })
                    .count() as u64;
                if counted == 0 {
                    continue;
                }
                let limit = u64::from(cap.limit);
                // Firings in one window of the cap.
                let edge = rule.guard.as_ref().is_some_and(|g| {
                    let mut crosses = false;
                    g.expr
                        .walk(&mut |e| crosses |= matches!(e, stagecraft_ir::Expr::Crosses { .. }));
                    crosses
                });
                let firings: Option<u64> = if rule.once {
                    Some(1)
                } else if let Some(c) = rule.cooldown_millis.filter(|c| *c > 0) {
                    Some(((cap.per_millis - 1).max(0) / c) as u64 + 1)
                } else if matches!(rule.trigger, Trigger::Event(_) | Trigger::When) && !edge {
                    None
                } else {
                    // Timers and edges: count one firing.
                    Some(1)
                };
                let target = match cap.target {
                    CapTarget::Messages => "messages".to_string(),
                    CapTarget::Touches => "touches".to_string(),
                    CapTarget::Channel(c) => c.as_str().to_string(),
                };
                let noun = match cap.target {
                    CapTarget::Messages => "messages".to_string(),
                    CapTarget::Touches => "touches".to_string(),
                    CapTarget::Channel(c) => format!("`{}` messages", c.as_str()),
                };
                let cap_text = format!(
                    "cap {target} {} per {}",
                    cap.limit,
                    fmt_duration(cap.per_millis)
                );
                let message = match firings {
                    Some(f) if f * counted > limit => format!(
                        "rule `{}` can emit {} {noun} per {} ({counted} per firing, {f} {} in that window), but `{cap_text}` allows {}: the rest are suppressed",
                        a.name,
                        f * counted,
                        fmt_duration(cap.per_millis),
                        if f == 1 { "firing" } else { "firings" },
                        cap.limit
                    ),
                    None => format!(
                        "rule `{}` can fire on every {} with no `cooldown` or `once`, but `{cap_text}` allows {}: the rest are suppressed",
                        a.name,
                        if rule.trigger == Trigger::When { "event and trait update" } else { "matching event" },
                        cap.limit
                    ),
                    _ => continue,
                };
                out.push(
                    self.finding(a.name_span, message)
                        .label("can exceed the cap")
                        .note(super::span(cap.span), "the cap")
                        .help("add a `cooldown` (or `once`) so the rule stays within the cap, or raise the cap if the volume is intended"),
                );
            }
        }
    }
}
