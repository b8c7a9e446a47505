//! The rule interface and the registry of every rule.

use stagecraft_syntax::Span;

use crate::context::LintContext;
use crate::finding::{Finding, Level};
use crate::rules;

/// One lint rule: a stable code, a name, a default level, and a check over
/// a checked playbook.
pub trait LintRule: Sync {
    /// `SC1001`: stable, never reused.
    fn code(&self) -> &'static str;
    /// `unreachable-stage`: accepted wherever a code is.
    fn name(&self) -> &'static str;
    fn default_level(&self) -> Level;
    /// One sentence: what the rule finds.
    fn summary(&self) -> &'static str;
    fn check(&self, cx: &LintContext<'_>, out: &mut Vec<Finding>);

    /// A finding of this rule at its default level.
    fn finding(&self, span: Span, message: String) -> Finding
    where
        Self: Sized,
    {
        let mut f = Finding::new(self.code(), self.name(), span, message);
        f.level = self.default_level();
        f
    }
}

/// Every rule, in code order.
pub fn registry() -> &'static [&'static dyn LintRule] {
    rules::ALL
}

/// The rule with this code or name.
pub fn lookup(code_or_name: &str) -> Option<&'static dyn LintRule> {
    let key = code_or_name.trim();
    registry()
        .iter()
        .copied()
        .find(|r| r.code().eq_ignore_ascii_case(key) || r.name() == key)
}
