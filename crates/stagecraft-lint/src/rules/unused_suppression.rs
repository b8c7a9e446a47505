//! SC1025 `unused-suppression`: reported by the driver (`crate::suppress`);
//! registered here for configuration, SARIF metadata and documentation.

use crate::context::LintContext;
use crate::finding::{Finding, Level};
use crate::rule::LintRule;

#[derive(Debug)]
pub struct UnusedSuppression;

impl LintRule for UnusedSuppression {
    fn code(&self) -> &'static str {
        "SC1025"
    }
    fn name(&self) -> &'static str {
        "unused-suppression"
    }
    fn default_level(&self) -> Level {
        Level::Warning
    }
    fn summary(&self) -> &'static str {
        "A `# stagecraft: ignore[...]` comment that suppresses nothing: no finding with that code on its line."
    }
    fn check(&self, _cx: &LintContext<'_>, _out: &mut Vec<Finding>) {}
}
