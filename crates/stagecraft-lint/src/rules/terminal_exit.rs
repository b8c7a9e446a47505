//! SC1007 `terminal-exit`: a terminal stage left by a transition or manual
//! move that is not marked `reactivation` (or `backward`).

use crate::context::LintContext;
use crate::finding::{Finding, Level};
use crate::rule::LintRule;

#[derive(Debug)]
pub struct TerminalExit;

impl LintRule for TerminalExit {
    fn code(&self) -> &'static str {
        "SC1007"
    }
    fn name(&self) -> &'static str {
        "terminal-exit"
    }
    fn default_level(&self) -> Level {
        Level::Warning
    }
    fn summary(&self) -> &'static str {
        "A terminal stage has an exit that is not marked `reactivation` (or `backward`): the end of the lifecycle is not an end."
    }

    fn check(&self, cx: &LintContext<'_>, out: &mut Vec<Finding>) {
        let program = cx.program;
        let terminal = |s: &u32| {
            program
                .stages
                .get(*s as usize)
                .is_some_and(|st| st.terminal)
        };
        for t in &cx.analysis().transitions {
            if t.ir.backward {
                continue;
            }
            for s in t.ir.from.iter().filter(|s| terminal(s)) {
                out.push(self.exit(
                    cx,
                    "transition",
                    &t.arrow(program),
                    cx.stage_name(*s),
                    t.span(),
                ));
            }
        }
        for m in &program.manual {
            if m.backward {
                continue;
            }
            for s in m.from.iter().filter(|s| terminal(s)) {
                let arrow = format!("{} -> {}", cx.stage_name(*s), cx.stage_name(m.to));
                out.push(self.exit(
                    cx,
                    "manual move",
                    &arrow,
                    cx.stage_name(*s),
                    super::span(m.span),
                ));
            }
        }
    }
}

impl TerminalExit {
    fn exit(
        &self,
        _cx: &LintContext<'_>,
        what: &str,
        arrow: &str,
        stage: &str,
        span: stagecraft_syntax::Span,
    ) -> Finding {
        self.finding(
            span,
            format!("{what} `{arrow}` leaves terminal stage `{stage}` without `reactivation`"),
        )
        .label("exit from an end stage")
        .help(format!(
            "a terminal stage ends the lifecycle: if subjects may come back, mark the move `reactivation`; if `{stage}` is not an end, remove `terminal`"
        ))
    }
}
