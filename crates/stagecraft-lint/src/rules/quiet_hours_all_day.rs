//! SC1022 `quiet-hours-all-day`: quiet hours that leave almost no time to send.

use stagecraft_syntax::ast::{Item, PolicyItem};

use crate::context::LintContext;
use crate::finding::{Finding, Level};
use crate::rule::LintRule;

#[derive(Debug)]
pub struct QuietHoursAllDay;

/// Quiet windows this long (minutes) leave less than an hour to send.
const ALL_DAY: u32 = 23 * 60;

impl LintRule for QuietHoursAllDay {
    fn code(&self) -> &'static str {
        "SC1022"
    }
    fn name(&self) -> &'static str {
        "quiet-hours-all-day"
    }
    fn default_level(&self) -> Level {
        Level::Warning
    }
    fn summary(&self) -> &'static str {
        "Quiet hours that cover 23 hours or more of the day: every message is deferred into the remaining minutes."
    }
    fn check(&self, cx: &LintContext<'_>, out: &mut Vec<Finding>) {
        for item in &cx.ast.items {
            let Item::Policy(p) = item else { continue };
            for entry in &p.items {
                let PolicyItem::QuietHours {
                    start_minute,
                    end_minute,
                    span,
                    ..
                } = entry
                else {
                    continue;
                };
                let quiet = (end_minute + 1440 - start_minute) % 1440;
                if quiet < ALL_DAY {
                    continue;
                }
                let open = 1440 - quiet;
                out.push(
                    self.finding(
                        *span,
                        format!(
                            "quiet hours cover {}h{:02} of the day: messages can only go out in {open} minute(s), from {} to {}",
                            quiet / 60,
                            quiet % 60,
                            clock(*end_minute),
                            clock(*start_minute)
                        ),
                    )
                    .label("almost the whole day")
                    .help("quiet hours are the hours NOT to send (`20:00..08:00` is the night); check that start and end are not swapped"),
                );
            }
        }
    }
}

fn clock(m: u32) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}
