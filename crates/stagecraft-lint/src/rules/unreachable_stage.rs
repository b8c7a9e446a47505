//! SC1001 `unreachable-stage`: a stage no subject can ever enter.

use crate::context::{Dead, LintContext};
use crate::finding::{Finding, Level};
use crate::rule::LintRule;

#[derive(Debug)]
pub struct UnreachableStage;

impl LintRule for UnreachableStage {
    fn code(&self) -> &'static str {
        "SC1001"
    }
    fn name(&self) -> &'static str {
        "unreachable-stage"
    }
    fn default_level(&self) -> Level {
        Level::Warning
    }
    fn summary(&self) -> &'static str {
        "A stage that no subject can ever enter: no transition that can fire, and no manual move, leads to it from the initial stage."
    }

    fn check(&self, cx: &LintContext<'_>, out: &mut Vec<Finding>) {
        let a = cx.analysis();
        let program = cx.program;
        let initial = program
            .stages
            .get(program.initial_stage() as usize)
            .map_or("", |s| s.name.as_str());
        for (s, stage) in program.stages.iter().enumerate() {
            if a.reachable[s] {
                continue;
            }
            let span = cx
                .stage_decl(s as u32)
                .map_or(super::span(stage.span), |d| d.name.span);
            let incoming: Vec<_> = a
                .transitions
                .iter()
                .filter(|t| t.ir.to as usize == s)
                .collect();
            let manual = program.manual.iter().any(|m| m.to as usize == s);
            if incoming.is_empty() && !manual {
                out.push(
                    self.finding(
                        span,
                        format!(
                            "stage `{}` is unreachable: no transition or manual move leads to it",
                            stage.name
                        ),
                    )
                    .label("never entered")
                    .help(format!(
                        "add a transition into `{}` (or a `manual` move), or remove the stage",
                        stage.name
                    )),
                );
                continue;
            }
            let mut f = self
                .finding(
                    span,
                    format!(
                        "stage `{}` is unreachable: no transition that can fire leads to it from `{initial}`",
                        stage.name
                    ),
                )
                .label("never entered")
                .help(format!(
                    "fix the transitions into `{}` (see the labels), or add a `manual` move into it",
                    stage.name
                ));
            for t in incoming.iter().take(4) {
                let mut why = Vec::new();
                for &from in &t.ir.from {
                    let name = cx.stage_name(from);
                    if !a.reachable[from as usize] {
                        why.push(format!("`{name}` is unreachable"));
                    } else if let Some(d) = t.dead_at(from) {
                        why.push(match d {
                            Dead::Timer { .. } => format!("its timer never fires in `{name}`"),
                            _ => format!("never fires from `{name}`"),
                        });
                    } else if t.shadowed_by(from).is_some() {
                        why.push(format!("never wins from `{name}`"));
                    }
                }
                why.dedup();
                if why.len() > 3 {
                    why.truncate(3);
                    why.push("...".into());
                }
                f = f.note(t.span(), why.join(", "));
            }
            out.push(f);
        }
    }
}
