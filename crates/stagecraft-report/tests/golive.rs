//! Go-live (`stagecraft run --accounts`): existing customers placed in their
//! stage before the events, bad rows dead-lettered with reasons, and the
//! report counting who was placed where. Also: a report with the run's state
//! snapshot agrees with its outcomes.

mod common;

use common::{compile, read};
use stagecraft::runtime::{Config, Engine, RecordSink, Snapshot};
use stagecraft_report::golive::{category, place_accounts, AccountsFormat};
use stagecraft_report::{report_from_reader, PlaybookInfo, ReportOptions};

const PLAYBOOK: &str = "tests/report/lifecycle/playbook.playbook";

fn trait_name(engine: &Engine, account: &str, name: &str) -> Option<String> {
    let program = engine.program();
    let i = program.traits.iter().position(|t| t.name == name)?;
    let v = engine.subject(account)?.get(program.trait_slot(i))?;
    Some(engine.symbols().name(v).to_string())
}

#[test]
fn csv_rows_are_placed_or_dead_lettered_with_reasons() {
    let compiled = compile(PLAYBOOK);
    let engine = Engine::new(compiled.clone(), Config::default());
    let mut sink = RecordSink::new(compiled.program.clone());
    let csv = "\
account,stage,entered_at,plan,seats,owner,timezone
p-1,active,2025-11-03,enterprise,250,dana,Europe/Paris
p-2,,2026-01-02T09:30:00Z,free,1,,
\"p,3\",onboarding,1767225600000,pro,\"12\",\"lee \"\"the\"\" csm\",
p-4,at_risk,2025-12-01,gold,5,sam,
p-5,dormant,2025-12-01,pro,5,,
p-1,active,2025-11-03,pro,5,,
,active,2025-11-03,pro,5,,
p-6,active,,pro,5,,
p-7,active,yesterday,pro,5,,
p-8,active,2025-12-01,pro,0,,
p-9,active,2025-12-01,pro,5,,Mars/Olympus
";
    let (mut engine, summary) =
        place_accounts(engine, csv, AccountsFormat::Csv, &mut sink).expect("usable file");
    assert_eq!(summary.placed, 3);
    assert_eq!(summary.rejected, 8);
    let by_stage: Vec<(&str, u64)> = summary
        .by_stage
        .iter()
        .map(|(s, n)| (s.as_str(), *n))
        .collect();
    assert_eq!(
        by_stage,
        vec![("active", 1), ("onboarding", 1), ("trial", 1)]
    );

    let dead: Vec<(u64, &str)> = sink
        .dead_letters
        .iter()
        .map(|d| (d.line, d.category.as_str()))
        .collect();
    assert_eq!(
        dead,
        vec![
            (5, category::BAD_TRAIT),
            (6, category::UNKNOWN_STAGE),
            (7, category::DUPLICATE),
            (8, category::MISSING_ACCOUNT),
            (9, category::BAD_TIME),
            (10, category::BAD_TIME),
            (11, category::BAD_TRAIT),
            (12, category::BAD_TRAIT),
        ]
    );
    let reasons: Vec<&str> = sink
        .dead_letters
        .iter()
        .map(|d| d.reason.as_str())
        .collect();
    assert!(reasons[0].contains("`gold` is not one of free, pro, enterprise"));
    assert!(reasons[1].contains("`dormant` is not a stage"));
    assert!(reasons[5].contains("`yesterday`"));
    assert!(reasons[6].contains("seats") && reasons[6].contains("range"));
    assert!(reasons[7].contains("Mars/Olympus"));
    assert_eq!(
        sink.dead_letters[0].raw,
        "p-4,at_risk,2025-12-01,gold,5,sam,"
    );

    // The placed accounts entered their stage at their own time, caused by a
    // request, with their traits (strings included).
    let entered: Vec<(&str, &str, &str)> = sink
        .records
        .iter()
        .filter(|r| r.kind == "entered")
        .map(|r| {
            (
                r.subject.as_str(),
                r.fields["stage"].as_str().unwrap_or(""),
                r.time.as_str(),
            )
        })
        .collect();
    assert_eq!(
        entered,
        vec![
            ("p-1", "active", "2025-11-03T00:00:00.000Z"),
            ("p-2", "trial", "2026-01-02T09:30:00.000Z"),
            ("p,3", "onboarding", "2026-01-01T00:00:00.000Z"),
        ]
    );
    assert!(sink.records.iter().all(|r| matches!(
        r.cause,
        stagecraft::runtime::outcome::CauseRecord::Request { .. }
    )));
    assert_eq!(engine.summary().placed, 3);
    assert_eq!(trait_name(&engine, "p-1", "owner").as_deref(), Some("dana"));
    assert_eq!(
        trait_name(&engine, "p,3", "owner").as_deref(),
        Some("lee \"the\" csm")
    );
    assert_eq!(
        trait_name(&engine, "p-1", "timezone").as_deref(),
        Some("Europe/Paris")
    );
    let seats = engine
        .program()
        .traits
        .iter()
        .position(|t| t.name == "seats")
        .expect("seats");
    let slot = engine.program().trait_slot(seats);
    assert_eq!(engine.subject("p,3").and_then(|s| s.get(slot)), Some(12));
    // p-2 kept the default seats.
    assert_eq!(engine.subject("p-2").and_then(|s| s.get(slot)), Some(1));

    // Events after go-live continue from the placed stage: p-1 is active,
    // so a cancellation moves it from there.
    engine.push_line(
        r#"{"type":"track","groupId":"p-1","event":"Subscription Cancelled","properties":{},"timestamp":"2026-01-10T00:00:00Z"}"#,
        &mut sink,
    );
    let last = sink.records.last().expect("a record");
    assert_eq!(last.kind, "transition");
    assert_eq!(last.fields["from"], "active");
    assert_eq!(last.fields["to"], "churned");
}

#[test]
fn ndjson_rows_and_a_second_go_live() {
    let compiled = compile(PLAYBOOK);
    let engine = Engine::new(compiled.clone(), Config::default());
    let mut sink = RecordSink::new(compiled.program.clone());
    let ndjson = r#"{"account":"n-1","stage":"active","entered_at":"2025-12-01","traits":{"plan":"pro","owner":"kim"}}
{"account":"n-2","entered_at":1767225600000,"traits":{"seats":"many"}}
{"account":"n-3","stage":"onboarding","entered_at":"2025-12-01","traits":{"colour":"red"}}
not json

{"account":"n-4","stage":"trial","entered_at":"2025-12-24T12:00:00Z"}
"#;
    let (engine, summary) =
        place_accounts(engine, ndjson, AccountsFormat::Ndjson, &mut sink).expect("usable");
    assert_eq!(summary.placed, 2);
    assert_eq!(summary.rejected, 3);
    let dead: Vec<(u64, &str)> = sink
        .dead_letters
        .iter()
        .map(|d| (d.line, d.category.as_str()))
        .collect();
    assert_eq!(
        dead,
        vec![
            (2, category::BAD_TRAIT),
            (3, category::BAD_TRAIT),
            (4, category::UNPARSABLE),
        ]
    );
    assert_eq!(trait_name(&engine, "n-1", "owner").as_deref(), Some("kim"));
    // Placing an account already in the lifecycle is refused, not repeated.
    let again = r#"{"account":"n-1","stage":"trial","entered_at":"2025-12-01"}"#;
    let (_, summary) =
        place_accounts(engine, again, AccountsFormat::Ndjson, &mut sink).expect("usable");
    assert_eq!((summary.placed, summary.rejected), (0, 1));
    assert_eq!(
        sink.dead_letters.last().map(|d| d.category.as_str()),
        Some(category::NOT_PLACED)
    );
}

#[test]
fn a_header_with_an_unknown_column_fails_the_file() {
    let compiled = compile(PLAYBOOK);
    let engine = Engine::new(compiled.clone(), Config::default());
    let mut sink = RecordSink::new(compiled.program.clone());
    let err = place_accounts(
        engine,
        "account,stage,entered_at,colour\na,trial,2026-01-01,red\n",
        AccountsFormat::Csv,
        &mut sink,
    )
    .expect_err("unknown column");
    assert!(err.contains("`colour` is not a trait"));
    assert!(sink.records.is_empty());
}

#[test]
fn the_report_counts_who_was_placed_where_and_agrees_with_the_state() {
    // The lifecycle scenario as `stagecraft run --accounts ... --until ...`
    // runs it, with a state snapshot at the end.
    let compiled = compile(PLAYBOOK);
    let engine = Engine::new(compiled.clone(), Config::default());
    let mut sink = RecordSink::new(compiled.program.clone());
    let (mut engine, summary) = place_accounts(
        engine,
        &read("tests/report/lifecycle/accounts.csv"),
        AccountsFormat::Csv,
        &mut sink,
    )
    .expect("usable");
    for line in read("tests/report/lifecycle/events.ndjson").lines() {
        engine.push_line(line, &mut sink);
    }
    let until = stagecraft::runtime::time::parse_rfc3339("2026-03-08T00:00:00Z").expect("time");
    engine.advance_to(until, &mut sink);
    let outcomes: String = sink
        .records
        .iter()
        .map(|r| serde_json::to_string(r).expect("record") + "\n")
        .collect();
    let info = PlaybookInfo::from_program(&compiled.program);
    let mut builder = report_from_reader(outcomes.as_bytes(), Some(info), ReportOptions::default())
        .expect("read");

    // Round-trip the snapshot as `--state` reads it.
    let snapshot = Snapshot::from_json(&engine.snapshot().to_json().expect("json")).expect("parse");
    let restored = Engine::restore(compiled.clone(), snapshot).expect("restore");
    let program = restored.program().clone();
    let layout = program.layout;
    builder.apply_state(
        restored.subjects().iter().filter(|s| s.entered).map(|s| {
            (
                &*s.key,
                s.get(layout.stage)
                    .and_then(|i| program.stages.get(i as usize))
                    .map_or("", |d| d.name.as_str()),
                s.get(layout.stage_entered_at),
                s.get(layout.first_seen),
            )
        }),
        restored.clock(),
    );
    let report = builder.finish();
    let state = report.state.as_ref().expect("state check");
    assert_eq!(state.mismatches, 0);
    assert_eq!(state.only_in_state, 0);
    assert_eq!(state.subjects, report.accounts);
    assert_eq!(report.at, "2026-03-08T00:00:00.000Z", "the state's clock");

    assert_eq!(report.go_live.placed, summary.placed);
    assert_eq!(report.go_live.placed, engine.summary().placed);
    let placed: Vec<(String, u64)> = report
        .go_live
        .by_stage
        .iter()
        .map(|s| (s.name.clone(), s.count))
        .collect();
    let expected: Vec<(String, u64)> = ["trial", "onboarding", "active"]
        .iter()
        .filter_map(|s| summary.by_stage.get(*s).map(|n| (s.to_string(), *n)))
        .collect();
    assert_eq!(placed, expected);
}
