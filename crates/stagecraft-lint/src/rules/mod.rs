//! One file per rule. Codes are stable: a retired code is never reused.

mod common;
mod constant_condition;
mod cooldown_on_once;
mod dead_filter;
mod dead_rule;
mod dead_transition;
mod default_out_of_range;
mod empty_rule;
mod holdout_extreme;
pub(crate) mod invalid_suppression;
mod overlapping_transitions;
mod quiet_hours_all_day;
mod rule_exceeds_cap;
mod sent_count_of_silent_rule;
mod shadowed_transition;
mod sink_stage;
mod terminal_exit;
mod timer_outlives_stage;
mod transition_cycle;
mod unreachable_stage;
mod unused_event;
mod unused_metric;
mod unused_milestone;
mod unused_score;
mod unused_segment;
pub(crate) mod unused_suppression;
mod unused_trait;

use stagecraft_ir::SourceSpan;
use stagecraft_syntax::Span;

use crate::rule::LintRule;

pub(crate) fn span(s: SourceSpan) -> Span {
    crate::context::span_of(s)
}

pub(crate) static ALL: &[&dyn LintRule] = &[
    &unreachable_stage::UnreachableStage,
    &dead_transition::DeadTransition,
    &dead_rule::DeadRule,
    &shadowed_transition::ShadowedTransition,
    &overlapping_transitions::OverlappingTransitions,
    &sink_stage::SinkStage,
    &terminal_exit::TerminalExit,
    &transition_cycle::TransitionCycle,
    &timer_outlives_stage::TimerOutlivesStage,
    &rule_exceeds_cap::RuleExceedsCap,
    &sent_count_of_silent_rule::SentCountOfSilentRule,
    &unused_trait::UnusedTrait,
    &unused_event::UnusedEvent,
    &unused_metric::UnusedMetric,
    &unused_segment::UnusedSegment,
    &unused_score::UnusedScore,
    &unused_milestone::UnusedMilestone,
    &dead_filter::DeadFilter,
    &constant_condition::ConstantCondition,
    &cooldown_on_once::CooldownOnOnce,
    &holdout_extreme::HoldoutExtreme,
    &quiet_hours_all_day::QuietHoursAllDay,
    &empty_rule::EmptyRule,
    &invalid_suppression::InvalidSuppression,
    &unused_suppression::UnusedSuppression,
    &default_out_of_range::DefaultOutOfRange,
];
