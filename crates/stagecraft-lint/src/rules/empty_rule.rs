//! SC1023 `empty-rule`: a rule with no actions.

use stagecraft_syntax::ast::Item;

use crate::context::LintContext;
use crate::finding::{Finding, Level};
use crate::rule::LintRule;

#[derive(Debug)]
pub struct EmptyRule;

impl LintRule for EmptyRule {
    fn code(&self) -> &'static str {
        "SC1023"
    }
    fn name(&self) -> &'static str {
        "empty-rule"
    }
    fn default_level(&self) -> Level {
        Level::Warning
    }
    fn summary(&self) -> &'static str {
        "A rule with no actions: it can fire but does nothing."
    }
    fn check(&self, cx: &LintContext<'_>, out: &mut Vec<Finding>) {
        for item in &cx.ast.items {
            let Item::Rule(r) = item else { continue };
            if r.actions.is_empty() {
                out.push(
                    self.finding(r.name.span, format!("rule `{}` has no actions", r.name.name))
                        .label("does nothing")
                        .help("add an action (`send`, `create task`, `update crm`, ...), or remove the rule"),
                );
            }
        }
    }
}
