//! SC1021 `holdout-extreme`: a holdout of 0% or 100%.

use stagecraft_syntax::ast::{self, Item, PolicyItem};

use crate::context::LintContext;
use crate::finding::{Finding, Level};
use crate::rule::LintRule;

#[derive(Debug)]
pub struct HoldoutExtreme;

impl LintRule for HoldoutExtreme {
    fn code(&self) -> &'static str {
        "SC1021"
    }
    fn name(&self) -> &'static str {
        "holdout-extreme"
    }
    fn default_level(&self) -> Level {
        Level::Warning
    }
    fn summary(&self) -> &'static str {
        "A holdout of 0% (holds nobody out: no control group) or 100% (holds every subject out: the rule never acts)."
    }
    fn check(&self, cx: &LintContext<'_>, out: &mut Vec<Finding>) {
        let mut holdouts: Vec<(ast::PercentLit, String)> = Vec::new();
        for item in &cx.ast.items {
            match item {
                Item::Rule(r) => {
                    if let Some(h) = r.options.holdout {
                        holdouts.push((h, format!("rule `{}`", r.name.name)));
                    }
                }
                Item::Policy(p) => {
                    for entry in &p.items {
                        if let PolicyItem::Holdout { percent, rules, .. } = entry {
                            let names: Vec<String> =
                                rules.iter().map(|r| format!("`{}`", r.name)).collect();
                            let what = if names.len() == 1 {
                                format!("rule {}", names[0])
                            } else {
                                format!("rules {}", names.join(", "))
                            };
                            holdouts.push((*percent, what));
                        }
                    }
                }
                _ => {}
            }
        }
        for (h, what) in holdouts {
            let message = match h.basis_points {
                0 => format!("`holdout 0%` holds nobody out of {what}: there is no control group"),
                10_000 => {
                    format!("`holdout 100%` holds every subject out of {what}: it never acts")
                }
                _ => continue,
            };
            out.push(self.finding(h.span, message).label("no experiment").help(
                "use a share strictly between 0% and 100% (10% is common), or remove the holdout",
            ));
        }
    }
}
