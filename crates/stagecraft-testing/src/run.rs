//! Running one case: its inputs as NDJSON, on both backends, then its
//! expectations against the outcome records.

use std::sync::Arc;

use serde_json::{json, Map, Value};
use stagecraft::ir::Frame;
use stagecraft::runtime::outcome::SubjectNames;
use stagecraft::runtime::{
    time, Compiled, Config, DeadLetter, Engine, Observation, Outcome, Record, Sink,
};

use crate::coverage::{Hits, Model};
use crate::spec::{parse_time, Case, Expect, TestFile, TransitionPattern};

/// The default start of a case: a Monday, 09:00 UTC.
pub const DEFAULT_START: &str = "2026-03-02T09:00:00Z";
/// The default account of a case.
pub const DEFAULT_ACCOUNT: &str = "acct-1";

/// A case turned into input, ready to run.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub lines: Vec<String>,
    pub until: i64,
    pub subject: String,
    pub start: i64,
}

/// Builds the NDJSON input of a case.
pub fn prepare(file: &TestFile, case: &Case, per: Option<&str>) -> Result<Prepared, String> {
    let start_text = case
        .start
        .as_deref()
        .or(file.start.as_deref())
        .unwrap_or(DEFAULT_START);
    let start = parse_time(start_text, 0)?;
    let account = case
        .account
        .clone()
        .or_else(|| file.account.clone())
        .unwrap_or_else(|| DEFAULT_ACCOUNT.to_string());
    let subject = match &case.key {
        Some(key) => format!("{account}/{key}"),
        None => account.clone(),
    };
    let mut lines = Vec::new();
    let ts = |t: i64| Value::String(time::format(t));
    let mut traits = file.traits.clone();
    traits.extend(case.traits.clone());
    let mut initial: Vec<(String, Map<String, Value>)> = Vec::new();
    if !traits.is_empty() {
        initial.push((account.clone(), traits));
    }
    for (other, traits) in &case.accounts {
        initial.push((other.clone(), traits.clone()));
    }
    for (acct, traits) in initial {
        lines.push(json!({
            "type": "group",
            "groupId": acct,
            "userId": format!("user-{acct}"),
            "traits": traits,
            "timestamp": ts(start),
        }));
    }
    let mut now = start;
    let mut last = start;
    for (n, step) in case.timeline.iter().enumerate() {
        let at = match &step.at {
            Some(text) => parse_time(text, start).map_err(|e| format!("step {}: {e}", n + 1))?,
            None => now,
        };
        if at < now {
            return Err(format!(
                "step {}: {} is before the previous step ({}); the timeline must be in time order",
                n + 1,
                time::format(at),
                time::format(now)
            ));
        }
        now = at;
        last = last.max(at);
        let acct = step.account.clone().unwrap_or_else(|| account.clone());
        let user = step.user.clone().unwrap_or_else(|| format!("user-{acct}"));
        let kinds = [
            step.event.is_some(),
            step.traits.is_some(),
            step.manual.is_some(),
            step.ack.is_some(),
            step.raw.is_some(),
        ]
        .iter()
        .filter(|k| **k)
        .count();
        if kinds != 1 {
            return Err(format!(
                "step {}: give exactly one of `event`, `traits`, `manual`, `ack` and `raw`",
                n + 1
            ));
        }
        let line = if let Some(event) = &step.event {
            let mut props = step.properties.clone();
            if let (Some(per), Some(key)) = (per, &case.key) {
                props
                    .entry(per.to_string())
                    .or_insert_with(|| Value::String(key.clone()));
            }
            json!({
                "type": "track",
                "userId": user,
                "groupId": acct,
                "event": event,
                "properties": props,
                "timestamp": ts(at),
            })
        } else if let Some(traits) = &step.traits {
            json!({
                "type": "group",
                "userId": user,
                "groupId": acct,
                "traits": traits,
                "timestamp": ts(at),
            })
        } else if let Some(m) = &step.manual {
            let subject = match (&step.account, &case.key) {
                (None, Some(key)) => format!("{acct}/{key}"),
                _ => acct.clone(),
            };
            json!({
                "type": "manual",
                "subject": subject,
                "to": m.to,
                "role": m.role,
                "actor": m.actor.clone().unwrap_or_else(|| format!("{}@example.com", m.role)),
                "reason": m.reason,
                "override": m.override_,
                "timestamp": ts(at),
            })
        } else if let Some(escalation) = &step.ack {
            let subject = match (&step.account, &case.key) {
                (None, Some(key)) => format!("{acct}/{key}"),
                _ => acct.clone(),
            };
            json!({
                "type": "ack",
                "subject": subject,
                "escalation": escalation,
                "actor": step.actor.clone().unwrap_or_else(|| "someone@example.com".into()),
                "timestamp": ts(at),
            })
        } else {
            let mut raw = step.raw.clone().unwrap_or(Value::Null);
            match raw.as_object_mut() {
                Some(obj) => {
                    if !obj.contains_key("timestamp") {
                        obj.insert("timestamp".into(), ts(at));
                    }
                }
                None => return Err(format!("step {}: `raw` must be an object", n + 1)),
            }
            raw
        };
        lines.push(line);
    }
    let mut until = last;
    for e in &case.expect {
        if let Some(at) = &e.at {
            until = until.max(parse_time(at, start)?);
        }
    }
    if let Some(text) = &case.until {
        until = parse_time(text, start).map_err(|e| format!("until: {e}"))?;
    }
    Ok(Prepared {
        lines: lines.iter().map(Value::to_string).collect(),
        until,
        subject,
        start,
    })
}

/// What a run produced.
#[derive(Debug, Clone, Default)]
pub struct Output {
    pub records: Vec<Record>,
    pub dead_letters: Vec<DeadLetter>,
    pub unknown_events: Vec<String>,
}

struct CaseSink<'a> {
    program: Arc<stagecraft::ir::Program>,
    records: Vec<Record>,
    dead_letters: Vec<DeadLetter>,
    coverage: Option<(&'a Model, &'a Compiled, &'a mut Hits)>,
}

impl Sink for CaseSink<'_> {
    fn outcome(&mut self, outcome: &Outcome, names: &dyn SubjectNames) {
        self.records
            .push(Record::render(outcome, &self.program, names));
    }

    fn dead_letter(&mut self, dead: DeadLetter) {
        self.dead_letters.push(dead);
    }

    fn wants_observations(&self) -> bool {
        self.coverage.is_some()
    }

    fn observe(&mut self, point: Observation, frame: &Frame, _names: &dyn SubjectNames) {
        if let Some((model, compiled, hits)) = &mut self.coverage {
            model.observe(compiled, hits, point, frame);
        }
    }
}

/// Runs the prepared input on one compiled playbook; with `coverage`, the
/// observations go to it.
pub fn execute(
    compiled: &Compiled,
    prepared: &Prepared,
    coverage: Option<(&Model, &mut Hits)>,
) -> Output {
    let mut engine = Engine::new(compiled.clone(), Config::default());
    let mut sink = CaseSink {
        program: compiled.program.clone(),
        records: Vec::new(),
        dead_letters: Vec::new(),
        coverage: coverage.map(|(model, hits)| (model, compiled, hits)),
    };
    for line in &prepared.lines {
        engine.push_line(line, &mut sink);
    }
    engine.finish(&mut sink);
    engine.advance_to(prepared.until, &mut sink);
    let (records, dead_letters) = (sink.records, sink.dead_letters);
    let unknown_events = engine.summary().unknown_events.keys().cloned().collect();
    Output {
        records,
        dead_letters,
        unknown_events,
    }
}

/// The first difference between two backends' records, described.
pub fn disagreement(interp: &[Record], jit: &[Record]) -> Option<String> {
    let first = interp
        .iter()
        .zip(jit)
        .position(|(a, b)| a != b)
        .or_else(|| (interp.len() != jit.len()).then(|| interp.len().min(jit.len())))?;
    let show = |r: Option<&Record>| {
        r.map_or_else(
            || "(no record)".to_string(),
            |r| serde_json::to_string(r).unwrap_or_default(),
        )
    };
    Some(format!(
        "the interpreter and the JIT disagree at record {}:\n      interpreter: {}\n      jit:         {}",
        first + 1,
        show(interp.get(first)),
        show(jit.get(first))
    ))
}

fn field<'r>(r: &'r Record, key: &str) -> Option<&'r str> {
    r.fields.get(key).and_then(Value::as_str)
}

fn record_time(r: &Record) -> i64 {
    time::parse_rfc3339(&r.time).unwrap_or(i64::MIN)
}

/// Checks every expectation of a case; returns the failures.
pub fn check(
    case: &Case,
    prepared: &Prepared,
    program: &stagecraft::ir::Program,
    output: &Output,
) -> Vec<String> {
    let mut failures = Vec::new();
    for dead in &output.dead_letters {
        failures.push(format!(
            "input line {} was rejected ({}): {}",
            dead.line, dead.category, dead.reason
        ));
    }
    for name in &output.unknown_events {
        failures.push(format!(
            "the playbook declares no event `{name}` (the input was skipped)"
        ));
    }
    let expects_errors = case.expect.iter().any(|e| e.errored.is_some());
    if !expects_errors {
        for r in output.records.iter().filter(|r| r.kind == "errored") {
            failures.push(format!(
                "unexpected evaluation error at {}: {} `{}`: {}",
                r.time,
                field(r, "site").unwrap_or("?"),
                field(r, "name").unwrap_or("?"),
                field(r, "error").unwrap_or("?")
            ));
        }
    }
    for (n, e) in case.expect.iter().enumerate() {
        if let Err(why) = expectation(e, prepared, program, &output.records) {
            failures.push(format!("expectation {}: {why}", n + 1));
        }
    }
    failures
}

fn expectation(
    e: &Expect,
    prepared: &Prepared,
    program: &stagecraft::ir::Program,
    records: &[Record],
) -> Result<(), String> {
    let subject = e.subject.as_deref().unwrap_or(&prepared.subject);
    let at = match &e.at {
        Some(text) => Some(parse_time(text, prepared.start)?),
        None => None,
    };
    let mine = records.iter().filter(|r| r.subject == subject);
    let kinds = [
        e.stage.is_some(),
        e.action.is_some(),
        e.no_action.is_some(),
        e.transition.is_some(),
        e.no_transition.is_some(),
        e.milestone_missed.is_some(),
        e.no_milestone_missed.is_some(),
        e.manual_rejected.is_some(),
        e.errored.is_some(),
    ]
    .iter()
    .filter(|k| **k)
    .count();
    if kinds != 1 {
        return Err("give exactly one of `stage`, `action`, `no_action`, `transition`, `no_transition`, `milestone_missed`, `no_milestone_missed`, `manual_rejected` and `errored`".into());
    }
    let known_stage = |name: &str| {
        if program.stage_id(name).is_some() {
            Ok(())
        } else {
            Err(format!("the playbook has no stage `{name}`"))
        }
    };
    let when = |t: Option<i64>| {
        t.map_or_else(
            || "at the end".to_string(),
            |t| format!("at {}", time::format(t)),
        )
    };
    let time_ok = |r: &Record| at.is_none_or(|t| record_time(r) == t);

    if let Some(stage) = &e.stage {
        known_stage(stage)?;
        let limit = at.unwrap_or(prepared.until);
        let found = mine
            .filter(|r| record_time(r) <= limit)
            .filter_map(|r| match r.kind.as_str() {
                "entered" => field(r, "stage"),
                "transition" => field(r, "to"),
                _ => None,
            })
            .next_back();
        return match found {
            Some(s) if s == stage => Ok(()),
            Some(s) => Err(format!(
                "expected `{subject}` in stage `{stage}` {}, found `{s}`",
                when(Some(limit))
            )),
            None => Err(format!(
                "expected `{subject}` in stage `{stage}` {}, but it has not entered the lifecycle",
                when(Some(limit))
            )),
        };
    }
    if let Some(name) = e.action.as_ref().or(e.no_action.as_ref()) {
        if !program.rules.iter().any(|r| &r.name == name)
            && !program.escalations.iter().any(|r| &r.name == name)
        {
            return Err(format!("the playbook has no rule or escalation `{name}`"));
        }
        let matching: Vec<&Record> = mine
            .filter(|r| r.kind == "action")
            .filter(|r| field(r, "rule") == Some(name) || field(r, "escalation") == Some(name))
            .filter(|r| {
                e.status
                    .as_deref()
                    .is_none_or(|s| field(r, "status") == Some(s))
            })
            .filter(|r| {
                e.reason
                    .as_deref()
                    .is_none_or(|s| field(r, "reason") == Some(s))
            })
            .filter(|r| {
                e.template
                    .as_deref()
                    .is_none_or(|s| field(r, "template") == Some(s))
            })
            .filter(|r| {
                e.step
                    .is_none_or(|s| r.fields.get("step").and_then(Value::as_u64) == Some(s))
            })
            .filter(|r| time_ok(r))
            .collect();
        let mut what = format!("action(s) of `{name}`");
        for (k, v) in [
            ("status", e.status.as_deref()),
            ("reason", e.reason.as_deref()),
            ("template", e.template.as_deref()),
        ] {
            if let Some(v) = v {
                what.push_str(&format!(" with {k} `{v}`"));
            }
        }
        if let Some(s) = e.step {
            what.push_str(&format!(" at step {s}"));
        }
        if let Some(t) = at {
            what.push_str(&format!(" at {}", time::format(t)));
        }
        let expected = if e.no_action.is_some() {
            Some(0)
        } else {
            e.count
        };
        return count_check(&what, subject, expected, &matching, |r| {
            let status = field(r, "status").unwrap_or("?");
            match field(r, "reason") {
                Some(reason) => format!("{} {status} ({reason})", r.time),
                None => format!("{} {status}", r.time),
            }
        });
    }
    if let Some(pattern) = e.transition.as_ref().or(e.no_transition.as_ref()) {
        for name in [&pattern.from, &pattern.to].into_iter().flatten() {
            known_stage(name)?;
        }
        let matching: Vec<&Record> = mine
            .filter(|r| r.kind == "transition" && transition_matches(r, pattern) && time_ok(r))
            .collect();
        let what = format!(
            "transition(s) {} -> {}{}",
            pattern.from.as_deref().unwrap_or("*"),
            pattern.to.as_deref().unwrap_or("*"),
            at.map(|t| format!(" at {}", time::format(t)))
                .unwrap_or_default()
        );
        let expected = if e.no_transition.is_some() {
            Some(0)
        } else {
            e.count
        };
        return count_check(&what, subject, expected, &matching, |r| {
            format!(
                "{} {} -> {}",
                r.time,
                field(r, "from").unwrap_or("?"),
                field(r, "to").unwrap_or("?")
            )
        });
    }
    if let Some(name) = e
        .milestone_missed
        .as_ref()
        .or(e.no_milestone_missed.as_ref())
    {
        if !program.milestones.iter().any(|m| &m.name == name) {
            return Err(format!("the playbook has no milestone `{name}`"));
        }
        let matching: Vec<&Record> = mine
            .filter(|r| {
                r.kind == "milestone_missed" && field(r, "milestone") == Some(name) && time_ok(r)
            })
            .collect();
        let expected = if e.no_milestone_missed.is_some() {
            Some(0)
        } else {
            e.count
        };
        return count_check(
            &format!("miss(es) of milestone `{name}`"),
            subject,
            expected,
            &matching,
            |r| r.time.clone(),
        );
    }
    if let Some(to) = &e.manual_rejected {
        let matching: Vec<&Record> = mine
            .filter(|r| r.kind == "manual_rejected" && field(r, "to") == Some(to) && time_ok(r))
            .collect();
        return count_check(
            &format!("refused manual move(s) to `{to}`"),
            subject,
            e.count,
            &matching,
            |r| format!("{} ({})", r.time, field(r, "reason").unwrap_or("?")),
        );
    }
    if let Some(name) = &e.errored {
        let matching: Vec<&Record> = mine
            .filter(|r| r.kind == "errored" && field(r, "name") == Some(name) && time_ok(r))
            .collect();
        return count_check(
            &format!("error(s) of `{name}`"),
            subject,
            e.count,
            &matching,
            |r| format!("{} ({})", r.time, field(r, "error").unwrap_or("?")),
        );
    }
    Ok(())
}

fn transition_matches(r: &Record, p: &TransitionPattern) -> bool {
    p.from
        .as_deref()
        .is_none_or(|f| field(r, "from") == Some(f))
        && p.to.as_deref().is_none_or(|t| field(r, "to") == Some(t))
        && p.manual
            .is_none_or(|m| (field(r, "rule") == Some("manual")) == m)
}

fn count_check(
    what: &str,
    subject: &str,
    expected: Option<usize>,
    matching: &[&Record],
    describe: impl Fn(&Record) -> String,
) -> Result<(), String> {
    let found = matching.len();
    let ok = match expected {
        Some(n) => found == n,
        None => found > 0,
    };
    if ok {
        return Ok(());
    }
    let wanted = match expected {
        Some(0) => "no".to_string(),
        Some(n) => format!("exactly {n}"),
        None => "at least one".to_string(),
    };
    let mut message = format!("expected {wanted} {what} for `{subject}`, found {found}");
    if found > 0 {
        let list: Vec<String> = matching.iter().take(5).map(|r| describe(r)).collect();
        message.push_str(&format!(": {}", list.join("; ")));
        if found > 5 {
            message.push_str("; ...");
        }
    }
    Err(message)
}

/// A one-line summary of a record, for failure reports.
pub fn describe(r: &Record) -> String {
    let f = |k: &str| field(r, k).unwrap_or("");
    let what = match r.kind.as_str() {
        "entered" => format!("entered {}", f("stage")),
        "transition" => {
            let by = if f("rule") == "manual" {
                " (manual)"
            } else {
                ""
            };
            format!("transition {} -> {}{by}", f("from"), f("to"))
        }
        "action" => {
            let owner = if r.fields.contains_key("escalation") {
                format!("escalation {}", f("escalation"))
            } else {
                format!("rule {}", f("rule"))
            };
            let mut s = format!("{owner}: {}", f("action"));
            if !f("template").is_empty() {
                s.push_str(&format!(" \"{}\"", f("template")));
            }
            if !f("title").is_empty() {
                s.push_str(&format!(" \"{}\"", f("title")));
            }
            s.push_str(&format!(" {}", f("status")));
            if !f("reason").is_empty() {
                s.push_str(&format!(" ({})", f("reason")));
            }
            s
        }
        "milestone_missed" => format!("milestone {} missed", f("milestone")),
        "errored" => format!("error in {} {}: {}", f("site"), f("name"), f("error")),
        "manual_rejected" => format!("manual move to {} refused: {}", f("to"), f("reason")),
        "acknowledged" => format!("escalation {} acknowledged", f("escalation")),
        other => other.to_string(),
    };
    format!("{} {} {what}", r.time, r.subject)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: &str, time: &str) -> Record {
        Record {
            kind: kind.into(),
            subject: "acct-1".into(),
            time: time.into(),
            fields: Map::new(),
            cause: stagecraft::runtime::outcome::CauseRecord::Request {
                message_id: None,
                line: 1,
            },
        }
    }

    #[test]
    fn backends_that_disagree_are_reported_at_the_first_difference() {
        let a = vec![record("entered", "t0"), record("action", "t1")];
        let b = vec![record("entered", "t0"), record("action", "t2")];
        let why = disagreement(&a, &b).expect("they differ");
        assert!(why.contains("at record 2"), "{why}");
        assert!(disagreement(&a, &a).is_none());
        let shorter = disagreement(&a, &a[..1]).expect("lengths differ");
        assert!(shorter.contains("at record 2") && shorter.contains("(no record)"));
    }

    #[test]
    fn a_step_is_exactly_one_input() {
        let file: TestFile = crate::spec::parse(
            "cases:\n  - name: x\n    timeline:\n      - { event: A, ack: B }\n",
        )
        .expect("parses");
        let error = prepare(&file, &file.cases[0], None).expect_err("two inputs in one step");
        assert!(error.contains("exactly one of"), "{error}");
    }
}
