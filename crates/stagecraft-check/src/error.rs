//! Errors of name resolution and type checking. Codes `SC0101`–`SC0499`:
//! `SC01xx` names, `SC02xx` types, `SC03xx` stages and transitions, `SC04xx`
//! the header, policies, rules and milestones.

use miette::Diagnostic;
use stagecraft_syntax::Span;
use thiserror::Error;

#[derive(Debug, Clone, Error, Diagnostic, PartialEq, Eq)]
pub enum CheckError {
    #[error("unknown name `{name}`")]
    #[diagnostic(code(SC0101))]
    UnknownName {
        name: String,
        #[label("not a trait, metric, score or segment")]
        span: Span,
        #[help]
        help: Option<String>,
    },

    #[error("{kind} `{name}` is declared twice")]
    #[diagnostic(code(SC0102), help("rename one of them, or remove the duplicate"))]
    Duplicate {
        kind: &'static str,
        name: String,
        #[label("second declaration")]
        span: Span,
        #[label("first declared here")]
        first: Span,
    },

    #[error("unknown event `{name}`")]
    #[diagnostic(code(SC0103))]
    UnknownEvent {
        name: String,
        #[label("no `event \"{name}\"` declaration")]
        span: Span,
        #[help]
        help: Option<String>,
    },

    #[error("unknown stage `{name}`")]
    #[diagnostic(code(SC0104))]
    UnknownStage {
        name: String,
        #[label("not in the `stages` block")]
        span: Span,
        #[help]
        help: Option<String>,
    },

    #[error("event `{event}` has no property `{name}`")]
    #[diagnostic(code(SC0105))]
    UnknownProperty {
        event: String,
        name: String,
        #[label("not a property of this event")]
        span: Span,
        #[help]
        help: Option<String>,
    },

    #[error("`{name}` is not a value of {of}")]
    #[diagnostic(code(SC0106))]
    UnknownEnumValue {
        name: String,
        of: String,
        #[label("not one of the declared values")]
        span: Span,
        #[help]
        help: Option<String>,
    },

    #[error("unknown function `{name}`")]
    #[diagnostic(code(SC0107))]
    UnknownFunction {
        name: String,
        #[label("not a built-in function")]
        span: Span,
        #[help]
        help: Option<String>,
    },

    #[error("`{name}` takes {expected} argument(s), found {found}")]
    #[diagnostic(code(SC0108), help("{usage}"))]
    WrongArity {
        name: String,
        expected: String,
        found: usize,
        usage: String,
        #[label("wrong number of arguments")]
        span: Span,
    },

    #[error("unknown milestone `{name}`")]
    #[diagnostic(code(SC0109))]
    UnknownMilestone {
        name: String,
        #[label("no `milestone {name}` declaration")]
        span: Span,
        #[help]
        help: Option<String>,
    },

    #[error("unknown rule `{name}`")]
    #[diagnostic(code(SC0110))]
    UnknownRule {
        name: String,
        #[label("no `rule {name}` declaration")]
        span: Span,
        #[help]
        help: Option<String>,
    },

    #[error("unknown segment `{name}`")]
    #[diagnostic(code(SC0111))]
    UnknownSegment {
        name: String,
        #[label("no `segment {name}` declaration")]
        span: Span,
        #[help]
        help: Option<String>,
    },

    #[error("`event.{name}` is only available where an event triggers")]
    #[diagnostic(
        code(SC0112),
        help("read event properties in `on \"Event\" where ...`, in a metric's `where`, or in a milestone's `starts on`/`done on` clause")
    )]
    EventPropertyOutsideEvent {
        name: String,
        #[label("no event here")]
        span: Span,
    },

    #[error("`{name}` is defined in terms of itself")]
    #[diagnostic(code(SC0113), help("break the cycle: {cycle}"))]
    DefinitionCycle {
        name: String,
        cycle: String,
        #[label("this definition reads itself")]
        span: Span,
    },

    #[error("`{op}` cannot be applied to `{left}` and `{right}`")]
    #[diagnostic(code(SC0201))]
    BadOperands {
        op: String,
        left: String,
        right: String,
        #[label("`{left}` {op} `{right}`")]
        span: Span,
        #[help]
        help: Option<String>,
    },

    #[error("expected `{expected}`, found `{found}`")]
    #[diagnostic(code(SC0202))]
    Mismatch {
        expected: String,
        found: String,
        #[label("this is `{found}`")]
        span: Span,
        #[help]
        help: Option<String>,
    },

    #[error("`{op}` mixes a duration with a number")]
    #[diagnostic(
        code(SC0203),
        help("durations carry a unit: write `7d`, `48h`, `30m`; to turn a duration into a number use `days(...)` or `hours(...)`")
    )]
    UnitMismatch {
        op: String,
        #[label("`{left}` {op} `{right}`")]
        span: Span,
        left: String,
        right: String,
    },

    #[error("`{ty}` values have no order")]
    #[diagnostic(
        code(SC0204),
        help("compare `{ty}` values with `==`, `!=` or `in [...]`")
    )]
    NotOrdered {
        ty: String,
        #[label("`{op}` needs numbers, durations, timestamps or dates")]
        span: Span,
        op: String,
    },

    #[error("default `{value}` is outside the range {low}..{high}")]
    #[diagnostic(code(SC0205), help("change the default or widen the range"))]
    DefaultOutOfRange {
        value: String,
        low: String,
        high: String,
        #[label("outside the declared range")]
        span: Span,
    },

    #[error("invalid range {low}..{high}")]
    #[diagnostic(code(SC0206))]
    BadRange {
        low: String,
        high: String,
        #[label("{reason}")]
        span: Span,
        reason: String,
        #[help]
        help: Option<String>,
    },

    #[error("optional field `{name}` cannot have a default")]
    #[diagnostic(
        code(SC0207),
        help("an optional field is missing until set; remove `?` to use a default, or remove the default")
    )]
    OptionalWithDefault {
        name: String,
        #[label("default of an optional field")]
        span: Span,
    },

    #[error("`{text}` is not a valid {what}")]
    #[diagnostic(code(SC0208))]
    BadLiteral {
        text: String,
        what: &'static str,
        #[label("invalid {what}")]
        span: Span,
        #[help]
        help: Option<String>,
    },

    #[error("`crosses` is only allowed in a `when` trigger")]
    #[diagnostic(
        code(SC0209),
        help("an edge compares the value before and after an event, so it can only trigger a rule, transition or escalation: `rule save when health crosses below 40 {{ ... }}`")
    )]
    CrossingOutsideTrigger {
        #[label("edge condition here")]
        span: Span,
    },

    #[error("cannot {func} `{ty}` values")]
    #[diagnostic(code(SC0210), help("{help}"))]
    NotAggregatable {
        func: &'static str,
        ty: String,
        help: String,
        #[label("property of type `{ty}`")]
        span: Span,
    },

    #[error("the filter of a {of} may read only the event and the subject's traits")]
    #[diagnostic(
        code(SC0211),
        help("a {of}'s filter is evaluated as the event arrives, before metrics and scores are recomputed; move this condition into the rule or transition that reads the {of}")
    )]
    MetricFilterReadsState {
        #[label("`{name}` is a {kind}")]
        span: Span,
        name: String,
        kind: &'static str,
        of: &'static str,
    },

    #[error("score bounds {low}..{high} are invalid")]
    #[diagnostic(code(SC0212))]
    BadScoreBounds {
        low: String,
        high: String,
        #[label("{reason}")]
        span: Span,
        reason: String,
        #[help]
        help: Option<String>,
    },

    #[error("no initial stage")]
    #[diagnostic(
        code(SC0301),
        help("mark the stage every subject starts in: `stages {{ new_customer initial, ... }}`")
    )]
    MissingInitial {
        #[label("no stage here is `initial`")]
        span: Span,
    },

    #[error("more than one initial stage")]
    #[diagnostic(
        code(SC0302),
        help("a subject starts in exactly one stage: keep one `initial`")
    )]
    MultipleInitial {
        #[label("second `initial`")]
        span: Span,
        #[label("first `initial`")]
        first: Span,
    },

    #[error("transition from `{from}` to `{to}` goes backward")]
    #[diagnostic(
        code(SC0303),
        help("stages are ordered as declared; a move to an earlier stage must say so: add `backward` (or `reactivation`) at the end of the transition")
    )]
    UndeclaredBackward {
        from: String,
        to: String,
        #[label("`{to}` comes before `{from}`")]
        span: Span,
    },

    #[error("manual transition to `{to}` names no role")]
    #[diagnostic(
        code(SC0304),
        help("say who may perform it: `manual any -> {to} by csm requires reason`")
    )]
    ManualWithoutRoles {
        to: String,
        #[label("add `by ROLE`")]
        span: Span,
    },

    #[error("transition from `{stage}` to itself")]
    #[diagnostic(
        code(SC0305),
        help("a transition must change the stage; use a rule to act without moving")
    )]
    SelfTransition {
        stage: String,
        #[label("`{stage}` -> `{stage}`")]
        span: Span,
    },

    #[error("no `stages` block")]
    #[diagnostic(
        code(SC0306),
        help(
            "declare the lifecycle: `stages {{ onboarding initial, adopting, churned terminal }}`"
        )
    )]
    NoStages {
        #[label("this playbook declares no stages")]
        span: Span,
    },

    #[error("this transition leaves no stage")]
    #[diagnostic(
        code(SC0307),
        help("the `except` list removes every stage `any` would cover")
    )]
    EmptyStageSet {
        #[label("empty set of source stages")]
        span: Span,
    },

    #[error("{message}")]
    #[diagnostic(code(SC0308), help("{help}"))]
    TimerStage {
        message: String,
        help: String,
        #[label("here")]
        span: Span,
    },

    #[error("stage `{name}` is both initial and terminal")]
    #[diagnostic(
        code(SC0309),
        help("a subject would start and end in the same stage: remove one of the flags")
    )]
    InitialAndTerminal {
        name: String,
        #[label("both flags")]
        span: Span,
    },

    #[error("{message}")]
    #[diagnostic(
        code(SC0401),
        help("write `language 1` in the playbook header; version 1 is the only language version")
    )]
    LanguageVersion {
        message: String,
        #[label("here")]
        span: Span,
    },

    #[error("quiet hours are declared twice")]
    #[diagnostic(code(SC0402), help("keep one `quiet hours` line"))]
    DuplicateQuietHours {
        #[label("second declaration")]
        span: Span,
        #[label("first declared here")]
        first: Span,
    },

    #[error("rule `{rule}` has two holdouts")]
    #[diagnostic(
        code(SC0403),
        help("keep either the rule's `holdout` option or the policy's `holdout ... of {rule}`")
    )]
    HoldoutTwice {
        rule: String,
        #[label("second holdout")]
        span: Span,
    },

    #[error("{message}")]
    #[diagnostic(code(SC0404), help("{help}"))]
    QuietHoursZone {
        message: String,
        help: String,
        #[label("here")]
        span: Span,
    },

    #[error("{what} must be greater than zero")]
    #[diagnostic(code(SC0405), help("give a positive value, or remove it"))]
    Zero {
        what: &'static str,
        #[label("zero")]
        span: Span,
    },

    #[error("milestone `{name}` has no `{missing}` clause")]
    #[diagnostic(
        code(SC0406),
        help("a milestone needs all three: `starts on \"Event\"`, `done on \"Event\"` and `due DURATION`")
    )]
    MilestoneIncomplete {
        name: String,
        missing: &'static str,
        #[label("incomplete milestone")]
        span: Span,
    },

    #[error("`{name}` is not a date or timestamp trait")]
    #[diagnostic(
        code(SC0407),
        help("`at 60d before NAME` counts from a trait of type `date` or `timestamp`")
    )]
    BadDateAnchor {
        name: String,
        #[label("this is {what}")]
        span: Span,
        what: String,
    },

    #[error("option given twice")]
    #[diagnostic(code(SC0408), help("remove the repeated option"))]
    RepeatedOption {
        #[label("repeated")]
        span: Span,
    },

    #[error("{what} is not allowed here")]
    #[diagnostic(code(SC0409), help("{help}"))]
    NotAllowed {
        what: &'static str,
        help: &'static str,
        #[label("not allowed")]
        span: Span,
    },
}
