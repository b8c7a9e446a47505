//! One-line documentation of keywords and built-in functions, for hover and
//! completion. The reference is `docs/language.md`.

/// Keywords of the language with a one-line description.
pub const KEYWORDS: &[(&str, &str)] = &[
    // header
    ("playbook", "Starts the header: `playbook \"name\" { language 1; subject account }`."),
    ("language", "Header: the language version the playbook is written in (`language 1`)."),
    ("version", "Header: the playbook's own version, part of action idempotency keys."),
    ("description", "Header: a description of the playbook."),
    ("subject", "Header: what a lifecycle follows: `subject account` or `subject account per \"key\"`."),
    ("account", "The subject of a lifecycle: an account (`subject account`)."),
    ("per", "`subject account per \"key\"` splits an account into lifecycles; `cap ... per D` is a cap's window."),
    // declarations
    ("traits", "Declares what is known about the subject: `traits { name: type [= default] }`."),
    ("event", "Declares an event and its properties; in an expression, `event.prop` reads the triggering event."),
    ("metric", "Declares a value derived from events: `metric name = count \"Event\" over 7d`."),
    ("score", "Declares a bounded sum of labelled components: `score name in 0..100 = a \"label\" + b`."),
    ("segment", "Declares a named condition on the subject: `segment name = condition`."),
    ("stages", "Declares the lifecycle stages in order, one `initial`, some `terminal`."),
    ("transition", "Moves the subject between stages: `transition a -> b on \"Event\" | when cond | after D in stage`."),
    ("manual", "A transition people request: `manual a -> b by role [requires reason] [override by role]`."),
    ("milestone", "Declares a deadline between two events (`starts on`, `done on`, `due`); in expressions, `milestone m missed|done|running`."),
    ("rule", "Declares what the playbook does: `rule name TRIGGER [options] { actions }`."),
    ("escalation", "Notifies a role, then the next ones while nobody acknowledges: `escalation name TRIGGER { notify role; unacknowledged 4h -> notify role }`."),
    ("policy", "Declares caps, quiet hours and holdouts for every rule."),
    // types
    ("enum", "A type with named values: `enum { starter, growth }`."),
    ("bool", "Type: `true` or `false`."),
    ("int", "Type: a whole number."),
    ("decimal", "Type: an exact decimal number; as a function, `decimal(int)` converts an int."),
    ("money", "Type: an amount of money (an exact decimal)."),
    ("string", "Type: text."),
    ("duration", "Type: a length of time (`48h`, `7d`)."),
    ("timestamp", "Type: an instant in time."),
    ("date", "Type: a calendar day."),
    ("timezone", "Type: an IANA time zone name, used by `quiet hours ... local`."),
    // metrics
    ("count", "Metric: how many events (`count \"E\"`), or actions a rule sent (`count sent rule`)."),
    ("sum", "Metric: the sum of an event property: `sum \"E\".prop`."),
    ("min", "Metric: the least value of an event property; as a function, `min(a, b)`."),
    ("max", "Metric: the greatest value of an event property; as a function, `max(a, b)`."),
    ("avg", "Metric: the average of an event property: `avg \"E\".prop`."),
    ("distinct", "Metric: how many different values of an event property: `distinct \"E\".prop`."),
    ("latest", "Metric: the property of the most recent event: `latest \"E\".prop`."),
    ("first", "Metric: the property of the first event: `first \"E\".prop`."),
    ("ever", "Metric: whether the event ever happened: `ever \"E\"`."),
    ("sent", "`count sent rule`: how many actions a rule emitted."),
    ("over", "A metric's sliding window: `over 30d`."),
    ("default", "A metric's value when nothing was observed: `default 0`."),
    ("where", "A filter: `on \"E\" where event.plan == pro`, `count \"E\" where ...`."),
    // stages and transitions
    ("stage", "The subject's current stage; `in stage` (a metric's window, a rule's stages, a stage timer)."),
    ("initial", "Marks the stage a subject enters with its first event."),
    ("terminal", "Marks a stage no automatic transition leaves."),
    ("any", "`any` stage, or `any except a, b`, as a transition's source."),
    ("except", "`any except a, b`: every stage but these."),
    ("backward", "Allows a transition to move back in the declared stage order."),
    ("reactivation", "Allows a transition out of a terminal stage (implies backward)."),
    ("for", "`for segment`: only subjects in the segment; `create task for role`."),
    ("by", "`manual a -> b by role`: who may request the move."),
    ("requires", "`requires reason`: a manual move must give a reason."),
    ("reason", "`requires reason`: a manual move must give a reason."),
    ("override", "`override by role`: who may force a manual move its guard refuses."),
    // triggers
    ("on", "Trigger: on an event (`on \"E\" [where ...]`) or a missed milestone (`on milestone m missed`)."),
    ("missed", "A milestone whose deadline passed before it was done."),
    ("running", "A milestone that started and is neither done nor missed."),
    ("done", "`done on \"E\"`: the event that completes a milestone; `milestone m done` in expressions."),
    ("when", "Trigger: a level condition, evaluated after every input of the subject."),
    ("after", "Trigger: a stage timer, `after 3d in stage [name]`; or `at D after date_trait`."),
    ("before", "`at 60d before renewal_date`: a timer relative to a date trait."),
    ("at", "Trigger: a timer relative to a date or timestamp trait: `at 30d before renewal_date`."),
    ("starts", "`starts on \"E\"`: the event that starts a milestone's clock."),
    ("due", "A milestone's deadline after it starts (`due 48h`); a task's due time."),
    // rule options
    ("once", "Rule option: fire at most once per subject."),
    ("cooldown", "Rule option: fire at most once per this duration (`cooldown 7d`)."),
    ("holdout", "Hold out a share of subjects from a rule (`holdout 10%`) or, in a policy, from rules."),
    // actions
    ("send", "Action: send a message: `send email|in_app|push|sms \"template\"`."),
    ("email", "Channel: email."),
    ("in_app", "Channel: an in-app message."),
    ("push", "Channel: a push notification."),
    ("sms", "Channel: a text message."),
    ("create", "Action: `create task for role \"title\" [due D]`."),
    ("task", "Action: `create task for role \"title\" [due D]`: work for a person."),
    ("open", "Action: `open ticket \"title\" [priority p]`."),
    ("ticket", "Action: `open ticket \"title\" [priority low|normal|high|urgent]`."),
    ("priority", "A ticket's priority: `low`, `normal`, `high` or `urgent`."),
    ("low", "Ticket priority: low."),
    ("normal", "Ticket priority: normal."),
    ("high", "Ticket priority: high."),
    ("urgent", "Ticket priority: urgent."),
    ("update", "Action: write a CRM field: `update crm \"field\" = expr`."),
    ("crm", "Action: write a CRM field: `update crm \"field\" = expr`."),
    ("call", "Action: `call webhook \"url\"`."),
    ("webhook", "Action: `call webhook \"url\" [with ...]`."),
    ("hand", "Action: `hand off to role`."),
    ("off", "Action: `hand off to role`."),
    ("to", "Action: `hand off to role`."),
    ("with", "What an action carries: `with context(a, b)` and/or `with { key: expr }`."),
    ("context", "`with context` carries every metric and score; `with context(a, b)` only these."),
    ("notify", "Escalation step: notify a role."),
    ("unacknowledged", "Escalation ladder: `unacknowledged 4h -> notify role`."),
    // policy
    ("cap", "Policy: at most N actions per window: `cap messages|touches|email 3 per 24h`."),
    ("messages", "Cap target: every `send` action."),
    ("touches", "Cap target: tasks, hand-offs and notifications."),
    ("quiet", "Policy: `quiet hours 20:00..08:00 [local | in tz_trait]`: messages wait until the end."),
    ("hours", "`quiet hours`; as a function, `hours(duration)` is whole hours."),
    ("local", "Quiet hours in the subject's `timezone` trait."),
    ("of", "`holdout 10% of rule_a, rule_b`."),
    // expressions
    ("and", "Boolean and."),
    ("or", "Boolean or."),
    ("not", "Boolean negation; `is not set`, `not in [...]`."),
    ("crosses", "Edge condition: `x crosses below|above y` is true when x passes y at this input."),
    ("below", "`x crosses below y`."),
    ("above", "`x crosses above y`."),
    ("is", "`x is set` / `x is not set`: whether an optional value is present."),
    ("set", "`x is set` / `x is not set`: whether an optional value is present."),
    ("in", "`x in [a, b]`; `in stage`; a range `in 0..100`."),
    ("since", "`since last \"E\"`: the time since the event last happened (or since first seen)."),
    ("last", "`since last \"E\"`: the time since the event last happened (or since first seen)."),
    ("true", "The boolean true."),
    ("false", "The boolean false."),
];

/// Keywords that start a top-level declaration.
pub use stagecraft::syntax::parser::ITEM_KEYWORDS;

/// Built-in functions and values: name, signature, description.
pub const BUILTINS: &[(&str, &str, &str)] = &[
    (
        "min",
        "min(a, b)",
        "The lesser of two values of one ordered type.",
    ),
    (
        "max",
        "max(a, b)",
        "The greater of two values of one ordered type.",
    ),
    (
        "clamp",
        "clamp(x, lo, hi)",
        "`max(lo, min(x, hi))`; `hi` if `lo > hi`.",
    ),
    (
        "abs",
        "abs(x)",
        "Absolute value of an int, decimal or duration.",
    ),
    ("decimal", "decimal(n)", "Converts an int to a decimal."),
    (
        "round",
        "round(x)",
        "Rounds a decimal to an int, half to even.",
    ),
    (
        "days",
        "days(d)",
        "Whole days in a duration, truncated toward zero.",
    ),
    (
        "hours",
        "hours(d)",
        "Whole hours in a duration, truncated toward zero.",
    ),
    (
        "minutes",
        "minutes(d)",
        "Whole minutes in a duration, truncated toward zero.",
    ),
    ("date_of", "date_of(t)", "The UTC day of a timestamp."),
    (
        "days_until",
        "days_until(d)",
        "Days from today to a date; negative once past.",
    ),
    (
        "entered_at",
        "entered_at(stage)",
        "When the subject last entered the stage; missing if never.",
    ),
    (
        "now",
        "now",
        "The time of the input being processed (a timer's deadline, for a timer).",
    ),
    ("today", "today", "`date_of(now)`."),
    (
        "time_in_stage",
        "time_in_stage",
        "`now - entered_at(stage)`: time in the current stage.",
    ),
    (
        "first_seen",
        "first_seen",
        "The time of the subject's first event.",
    ),
];

pub fn keyword(word: &str) -> Option<&'static str> {
    KEYWORDS.iter().find(|(k, _)| *k == word).map(|(_, d)| *d)
}

pub fn builtin(name: &str) -> Option<(&'static str, &'static str)> {
    BUILTINS
        .iter()
        .find(|(b, _, _)| *b == name)
        .map(|(_, sig, doc)| (*sig, *doc))
}

/// The result type of a built-in, when it does not depend on its arguments.
pub fn builtin_result(name: &str) -> Option<&'static str> {
    Some(match name {
        "decimal" => "decimal",
        "round" | "days" | "hours" | "minutes" | "days_until" => "int",
        "date_of" | "today" => "date",
        "entered_at" | "now" | "first_seen" => "timestamp",
        "time_in_stage" => "duration",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_keyword_of_the_grammar_has_a_doc() {
        let grammar = include_str!("../../../grammar/playbook.pest");
        let mut missing = Vec::new();
        for line in grammar.lines() {
            let Some(rest) = line.strip_prefix("kw_") else {
                continue;
            };
            let Some(start) = rest.find("@{ \"") else {
                continue;
            };
            let word = &rest[start + 4..];
            let word = &word[..word.find('"').unwrap_or(0)];
            if keyword(word).is_none() {
                missing.push(word.to_string());
            }
        }
        assert!(missing.is_empty(), "keywords without a doc: {missing:?}");
    }
}
