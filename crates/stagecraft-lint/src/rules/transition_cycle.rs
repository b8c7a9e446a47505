//! SC1008 `transition-cycle`: transitions whose conditions can all hold on
//! one input and that lead back to where they started, so one event (or
//! trait update) bounces the subject around a loop until the runtime stops
//! it with a `cycle` record.

use std::collections::BTreeSet;

use stagecraft_ir::{Expr, StageId, TransitionDef, Trigger};

use crate::context::LintContext;
use crate::finding::{Finding, Level};
use crate::rule::LintRule;

#[derive(Debug)]
pub struct TransitionCycle;

/// Cycles examined per input kind before giving up.
const MAX_CYCLES: usize = 200;

#[derive(Debug, Clone, Copy)]
struct Edge {
    from: StageId,
    to: StageId,
    transition: usize,
}

impl LintRule for TransitionCycle {
    fn code(&self) -> &'static str {
        "SC1008"
    }
    fn name(&self) -> &'static str {
        "transition-cycle"
    }
    fn default_level(&self) -> Level {
        Level::Warning
    }
    fn summary(&self) -> &'static str {
        "Level-triggered (or same-event) transitions that can all hold on one input and lead back to their start: the subject bounces around the loop."
    }

    fn check(&self, cx: &LintContext<'_>, out: &mut Vec<Finding>) {
        let a = cx.analysis();
        let n = cx.program.stages.len();
        // Input kinds: each event type, then trait updates (`None`).
        let mut kinds: Vec<Option<u32>> = (0..cx.program.events.len() as u32).map(Some).collect();
        kinds.push(None);
        let mut reported: BTreeSet<Vec<usize>> = BTreeSet::new();
        for kind in kinds {
            let edges: Vec<Edge> = a
                .transitions
                .iter()
                .filter(|t| match t.ir.trigger {
                    Trigger::When => true,
                    Trigger::Event(e) => Some(e) == kind,
                    _ => false,
                })
                .flat_map(|t| {
                    t.ir.from
                        .iter()
                        .filter(|s| t.fires_from(**s))
                        .map(|s| Edge {
                            from: *s,
                            to: t.ir.to,
                            transition: t.index,
                        })
                        .collect::<Vec<_>>()
                })
                .collect();
            if edges.is_empty() {
                continue;
            }
            let mut cycles = Vec::new();
            for start in 0..n as StageId {
                let mut path = Vec::new();
                find_cycles(&edges, start, start, &mut path, &mut cycles);
                if cycles.len() >= MAX_CYCLES {
                    break;
                }
            }
            for cycle in cycles {
                let mut key: Vec<usize> = cycle.iter().map(|e| e.transition).collect();
                key.sort_unstable();
                if reported.contains(&key) {
                    continue;
                }
                // Every step's condition at once, each read in its own
                // source stage, with the transitions tried before it from
                // that stage (on the same input) false, so it is the one
                // taken.
                let mut conj = Vec::new();
                let mut impossible = false;
                for e in &cycle {
                    let t = &a.transitions[e.transition];
                    let stage = (cx.program.layout.stage, i64::from(e.from));
                    if let Some(x) = condition(cx, t.ir) {
                        conj.push(cx.solver.intern_with(&x, Some(stage)));
                    }
                    for earlier in &a.transitions[..e.transition] {
                        let coincides = match earlier.ir.trigger {
                            Trigger::When => true,
                            Trigger::Event(ev) => Some(ev) == kind,
                            _ => false,
                        };
                        if !coincides
                            || !earlier.ir.from.contains(&e.from)
                            || earlier.dead_at(e.from).is_some()
                        {
                            continue;
                        }
                        match condition(cx, earlier.ir) {
                            Some(x) => conj
                                .push(cx.solver.intern_with(&Expr::Not(Box::new(x)), Some(stage))),
                            None => impossible = true,
                        }
                    }
                }
                if impossible {
                    continue;
                }
                if !cx.solver.can_be_true(&conj, &cx.solver.env(kind)) {
                    continue;
                }
                reported.insert(key);
                out.push(self.report(cx, &cycle, kind));
            }
        }
    }
}

impl TransitionCycle {
    fn report(&self, cx: &LintContext<'_>, cycle: &[Edge], kind: Option<u32>) -> Finding {
        let a = cx.analysis();
        let mut names: Vec<&str> = cycle.iter().map(|e| cx.stage_name(e.from)).collect();
        names.push(cx.stage_name(cycle[0].from));
        let loop_text = names.join("` → `");
        let input = match kind {
            Some(e)
                if cycle
                    .iter()
                    .all(|x| a.transitions[x.transition].ir.trigger == Trigger::Event(e)) =>
            {
                format!("one `{}` event", cx.program.events[e as usize].name)
            }
            _ => "one input".to_string(),
        };
        let first = cycle
            .iter()
            .min_by_key(|e| e.transition)
            .map_or(0, |e| e.transition);
        let mut f = self
            .finding(
                a.transitions[first].span(),
                format!("transitions can loop `{loop_text}` on {input}: every step's condition can hold at the same time"),
            )
            .label("starts the loop")
            .help("the runtime enters each stage at most once per input and stops the loop with a `cycle` record; make the conditions exclusive (hysteresis: leave below 40, come back at 60 or more)");
        for e in cycle {
            if e.transition != first {
                let t = &a.transitions[e.transition];
                f = f.note(
                    t.span(),
                    format!(
                        "then `{} -> {}`",
                        cx.stage_name(e.from),
                        cx.stage_name(e.to)
                    ),
                );
            }
        }
        f
    }
}

/// A transition's segment and condition as one expression (`None`: it
/// always holds).
fn condition(cx: &LintContext<'_>, t: &TransitionDef) -> Option<Expr> {
    let seg = t
        .segment
        .and_then(|s| cx.program.segments.get(s as usize))
        .map(|s| s.cond.expr.clone());
    let guard = t.guard.as_ref().map(|g| g.expr.clone());
    match (seg, guard) {
        (Some(a), Some(b)) => Some(Expr::and(a, b)),
        (a, b) => a.or(b),
    }
}

/// Simple cycles through `start` whose other stages are all after it.
fn find_cycles(
    edges: &[Edge],
    start: StageId,
    at: StageId,
    path: &mut Vec<Edge>,
    out: &mut Vec<Vec<Edge>>,
) {
    if out.len() >= MAX_CYCLES {
        return;
    }
    for e in edges.iter().filter(|e| e.from == at) {
        if e.to == start {
            let mut cycle = path.clone();
            cycle.push(*e);
            out.push(cycle);
            continue;
        }
        if e.to < start || path.iter().any(|p| p.from == e.to) {
            continue;
        }
        path.push(*e);
        find_cycles(edges, start, e.to, path, out);
        path.pop();
    }
}
