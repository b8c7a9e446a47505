//! Helpers shared by the `unused-*` rules.

use crate::context::LintContext;

/// Declares an `unused-*` rule: a unit struct and its `LintRule` impl.
macro_rules! unused_rule {
    ($ty:ident, $code:literal, $name:literal, $level:expr, $summary:literal, $check:expr) => {
        #[derive(Debug)]
        pub struct $ty;

        impl LintRule for $ty {
            fn code(&self) -> &'static str {
                $code
            }
            fn name(&self) -> &'static str {
                $name
            }
            fn default_level(&self) -> Level {
                $level
            }
            fn summary(&self) -> &'static str {
                $summary
            }
            fn check(&self, cx: &LintContext<'_>, out: &mut Vec<Finding>) {
                let f: fn(&$ty, &LintContext<'_>, &mut Vec<Finding>) = $check;
                f(self, cx, out)
            }
        }
    };
}

pub(crate) fn name_span(
    cx: &LintContext<'_>,
    span: stagecraft_ir::SourceSpan,
    name: &str,
) -> stagecraft_syntax::Span {
    // The name inside the declaration, for a short label.
    let s = super::span(span);
    let text = cx.source.get(s.start..s.end).unwrap_or("");
    let mut from = 0;
    while let Some(i) = text[from..].find(name) {
        let at = from + i;
        let before = text[..at].chars().next_back();
        let after = text[at + name.len()..].chars().next();
        let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        if !word(before) && !word(after) {
            return stagecraft_syntax::Span::new(s.start + at, s.start + at + name.len());
        }
        from = at + name.len();
    }
    s
}

pub(crate) use unused_rule;
