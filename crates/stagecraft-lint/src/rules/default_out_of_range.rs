//! SC1026 `default-out-of-range`: a trait whose implicit zero default lies outside its range.

use stagecraft_syntax::ast::Item;

use crate::context::LintContext;
use crate::finding::{Finding, Level};
use crate::rule::LintRule;

#[derive(Debug)]
pub struct DefaultOutOfRange;

impl LintRule for DefaultOutOfRange {
    fn code(&self) -> &'static str {
        "SC1026"
    }
    fn name(&self) -> &'static str {
        "default-out-of-range"
    }
    fn default_level(&self) -> Level {
        Level::Warning
    }
    fn summary(&self) -> &'static str {
        "A trait with a range but no default starts at its type's zero, which lies outside the range."
    }
    fn check(&self, cx: &LintContext<'_>, out: &mut Vec<Finding>) {
        for item in &cx.ast.items {
            let Item::Traits(block) = item else { continue };
            for field in &block.fields {
                if field.optional || field.default.is_some() {
                    continue;
                }
                let (Some(range), Some(t)) = (
                    &field.range,
                    cx.program.traits.iter().find(|t| t.name == field.name.name),
                ) else {
                    continue;
                };
                let (Some((lo, hi)), Some(zero)) = (t.range, t.default) else {
                    continue;
                };
                if lo <= zero && zero <= hi {
                    continue;
                }
                let zero_text = cx.fmt_value(Some(t.ty), zero);
                out.push(
                    self.finding(
                        field.name.span,
                        format!(
                            "trait `{}` starts at {zero_text} until it is set, outside its range {}..{}",
                            t.name, range.low.text, range.high.text
                        ),
                    )
                    .label("no default")
                    .note(range.span, "declared range")
                    .help(format!(
                        "give it a default inside the range (`= {}`), or make it optional (`?`) so it is missing until set",
                        range.low.text
                    )),
                );
            }
        }
    }
}
