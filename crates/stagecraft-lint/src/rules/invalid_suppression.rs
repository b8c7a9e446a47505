//! SC1024 `invalid-suppression`: reported by the driver (`crate::suppress`);
//! registered here for configuration, SARIF metadata and documentation.

use crate::context::LintContext;
use crate::finding::{Finding, Level};
use crate::rule::LintRule;

#[derive(Debug)]
pub struct InvalidSuppression;

impl LintRule for InvalidSuppression {
    fn code(&self) -> &'static str {
        "SC1024"
    }
    fn name(&self) -> &'static str {
        "invalid-suppression"
    }
    fn default_level(&self) -> Level {
        Level::Warning
    }
    fn summary(&self) -> &'static str {
        "A `# stagecraft: ignore[...]` comment without a reason, with an unknown code, or malformed."
    }
    fn check(&self, _cx: &LintContext<'_>, _out: &mut Vec<Finding>) {}
}
