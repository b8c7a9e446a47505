//! Every report format on the example scenarios (insta snapshots), and the
//! figures checked against an independent computation written here from the
//! raw outcome records.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use common::{compile, read, SCENARIOS};
use serde_json::Value;
use stagecraft_report::format;
use stagecraft_report::Report;

fn data_block(html: &str) -> String {
    let open = format!(
        "<script type=\"application/json\" id=\"{}\">",
        format::DATA_BLOCK_ID
    );
    let start = html.find(&open).expect("data block") + open.len();
    let end = start + html[start..].find("</script>").expect("end of data block");
    html[start..end].to_string()
}

#[test]
fn snapshots_of_every_format() {
    for s in &SCENARIOS {
        let report = s.report();
        insta::assert_snapshot!(format!("{}_table", s.name), format::table(&report));
        insta::assert_snapshot!(format!("{}_json", s.name), format::json(&report));
        insta::assert_snapshot!(format!("{}_csv", s.name), format::csv(&report));
        let html = format::html(&report);
        let block: Value = serde_json::from_str(&data_block(&html)).expect("data block is JSON");
        insta::assert_snapshot!(
            format!("{}_html_data", s.name),
            serde_json::to_string_pretty(&block).expect("json")
        );
    }
}

#[test]
fn html_data_block_is_the_json_report() {
    for s in &SCENARIOS {
        let report = s.report();
        let html = format::html(&report);
        let from_html: Report = serde_json::from_str(&data_block(&html)).expect("report");
        assert_eq!(from_html, report, "{}", s.name);
        let from_json: Report = serde_json::from_str(&format::json(&report)).expect("report");
        assert_eq!(from_json, report, "{}", s.name);
    }
}

#[test]
fn csv_rows_carry_the_json_figures() {
    for s in &SCENARIOS {
        let report = s.report();
        let csv = format::csv(&report);
        let rows: Vec<Vec<&str>> = csv
            .lines()
            .skip(1)
            .map(|l| l.split(',').collect())
            .collect();
        let find = |section: &str, stage: &str, metric: &str| -> String {
            rows.iter()
                .find(|r| r[0] == section && r[2] == stage && r[3] == metric)
                .map(|r| r[4].to_string())
                .unwrap_or_else(|| panic!("{section} {stage} {metric}"))
        };
        for st in &report.stages {
            assert_eq!(
                find("stages", &st.stage.name, "accounts"),
                st.accounts.to_string()
            );
        }
        for t in &report.time_in_stage.stages {
            if let Some(m) = t.median_ms {
                assert_eq!(find("time_in_stage", &t.stage, "median_ms"), m.to_string());
            }
        }
        assert_eq!(find("report", "", "accounts"), report.accounts.to_string());
    }
}

// ------------------------------------------------------------------ independent

struct Independent {
    /// subject → current stage
    stage: BTreeMap<String, String>,
    /// subject → (time entered current stage)
    since: BTreeMap<String, i64>,
    first_seen: BTreeMap<String, i64>,
    first_stage: BTreeMap<String, String>,
    /// subject → stages ever entered, with first entry time
    entered: BTreeMap<String, BTreeMap<String, i64>>,
    /// stage → completed stay durations
    stays: BTreeMap<String, Vec<i64>>,
    /// (owner, status) → count
    actions: BTreeMap<(String, String), u64>,
    reasons: BTreeMap<(String, String), u64>,
    placed: BTreeMap<String, u64>,
    manual: u64,
    automatic: u64,
    errored: u64,
    held_out: BTreeMap<String, BTreeSet<String>>,
    treated: BTreeMap<String, BTreeSet<String>>,
}

fn ms(text: &str) -> i64 {
    stagecraft::runtime::time::parse_rfc3339(text).expect("time")
}

fn independent(outcomes: &str, at: i64) -> Independent {
    let mut x = Independent {
        stage: BTreeMap::new(),
        since: BTreeMap::new(),
        first_seen: BTreeMap::new(),
        first_stage: BTreeMap::new(),
        entered: BTreeMap::new(),
        stays: BTreeMap::new(),
        actions: BTreeMap::new(),
        reasons: BTreeMap::new(),
        placed: BTreeMap::new(),
        manual: 0,
        automatic: 0,
        errored: 0,
        held_out: BTreeMap::new(),
        treated: BTreeMap::new(),
    };
    for line in outcomes.lines() {
        let r: Value = serde_json::from_str(line).expect("record");
        let t = ms(r["time"].as_str().expect("time"));
        if t > at {
            continue;
        }
        let subject = r["subject"].as_str().expect("subject").to_string();
        let s = |k: &str| r[k].as_str().unwrap_or("").to_string();
        match r["kind"].as_str().expect("kind") {
            "entered" => {
                let stage = s("stage");
                x.stage.insert(subject.clone(), stage.clone());
                x.since.insert(subject.clone(), t);
                x.first_seen.insert(subject.clone(), t);
                x.first_stage.insert(subject.clone(), stage.clone());
                x.entered
                    .entry(subject.clone())
                    .or_default()
                    .entry(stage.clone())
                    .or_insert(t);
                if r["cause"]["by"] == "request" {
                    *x.placed.entry(stage).or_default() += 1;
                }
            }
            "transition" => {
                let (from, to) = (s("from"), s("to"));
                let began = x.since[&subject];
                x.stays.entry(from).or_default().push(t - began);
                x.stage.insert(subject.clone(), to.clone());
                x.since.insert(subject.clone(), t);
                x.entered
                    .entry(subject.clone())
                    .or_default()
                    .entry(to)
                    .or_insert(t);
                if s("rule") == "manual" {
                    x.manual += 1;
                } else {
                    x.automatic += 1;
                }
            }
            "action" => {
                let owner = if r.get("rule").is_some() {
                    s("rule")
                } else {
                    s("escalation")
                };
                let status = s("status");
                *x.actions
                    .entry((owner.clone(), status.clone()))
                    .or_default() += 1;
                if let Some(reason) = r.get("reason").and_then(Value::as_str) {
                    *x.reasons
                        .entry((owner.clone(), reason.to_string()))
                        .or_default() += 1;
                }
                match status.as_str() {
                    "held_out" => {
                        x.held_out.entry(owner).or_default().insert(subject);
                    }
                    "emitted" | "deferred" => {
                        x.treated.entry(owner).or_default().insert(subject);
                    }
                    _ => {}
                }
            }
            "errored" => x.errored += 1,
            _ => {}
        }
    }
    x
}

fn nearest_rank(values: &[i64], p: f64) -> Option<i64> {
    let mut v = values.to_vec();
    v.sort_unstable();
    if v.is_empty() {
        return None;
    }
    let rank = (p * v.len() as f64).ceil() as usize;
    Some(v[rank.max(1) - 1])
}

#[test]
fn figures_match_an_independent_computation() {
    for s in &SCENARIOS {
        let report = s.report();
        let compiled = compile(s.playbook);
        let program = &compiled.program;
        let at = s.at_ms();
        let x = independent(&read(s.outcomes), at);
        let name = s.name;

        // Accounts and the distribution now.
        assert_eq!(report.accounts, x.stage.len() as u64, "{name}: accounts");
        for st in &report.stages {
            let now = x.stage.values().filter(|v| **v == st.stage.name).count() as u64;
            assert_eq!(st.accounts, now, "{name}: accounts in {}", st.stage.name);
            let ever = x
                .entered
                .values()
                .filter(|e| e.contains_key(&st.stage.name))
                .count() as u64;
            assert_eq!(st.reached, ever, "{name}: reached {}", st.stage.name);
        }
        // The last bucket of the distribution over time is "now".
        for series in &report.over_time.series {
            let now = x.stage.values().filter(|v| **v == series.stage).count() as u64;
            assert_eq!(series.counts.last().copied().unwrap_or(0), now, "{name}");
        }

        // Funnel over consecutive declared stages.
        assert_eq!(report.funnel.len(), program.stages.len() - 1);
        for (f, pair) in report.funnel.iter().zip(program.stages.windows(2)) {
            assert_eq!(
                (f.from.as_str(), f.to.as_str()),
                (pair[0].name.as_str(), pair[1].name.as_str())
            );
            let entered = x
                .entered
                .values()
                .filter(|e| e.contains_key(&pair[0].name))
                .count() as u64;
            let converted = x
                .entered
                .values()
                .filter(|e| e.contains_key(&pair[0].name) && e.contains_key(&pair[1].name))
                .count() as u64;
            assert_eq!(
                (f.entered, f.converted),
                (entered, converted),
                "{name}: funnel"
            );
        }

        // Time in stage: nearest-rank median and p90 of completed stays.
        for t in &report.time_in_stage.stages {
            let stays = x.stays.get(&t.stage).cloned().unwrap_or_default();
            assert_eq!(
                t.completed,
                stays.len() as u64,
                "{name}: stays in {}",
                t.stage
            );
            assert_eq!(
                t.median_ms,
                nearest_rank(&stays, 0.5),
                "{name}: median {}",
                t.stage
            );
            assert_eq!(
                t.p90_ms,
                nearest_rank(&stays, 0.9),
                "{name}: p90 {}",
                t.stage
            );
            assert_eq!(t.histogram.iter().sum::<u64>(), t.completed);
        }

        // Time to value: from first entry to the first entry into the value
        // stage, for lifecycles that began before it.
        let ttv = report.time_to_value.as_ref().expect("value stage");
        let value_index = program.stage_id(&ttv.stage).expect("stage");
        let index = |name: &str| program.stage_id(name).expect("stage");
        let mut durations = Vec::new();
        let mut began_before = 0;
        for (subject, first) in &x.first_stage {
            if index(first) < value_index {
                began_before += 1;
                if let Some(t) = x.entered[subject].get(&ttv.stage) {
                    durations.push(t - x.first_seen[subject]);
                }
            }
        }
        assert_eq!(ttv.accounts, began_before, "{name}: ttv accounts");
        assert_eq!(ttv.reached, durations.len() as u64, "{name}: ttv reached");
        assert_eq!(
            ttv.median_ms,
            nearest_rank(&durations, 0.5),
            "{name}: ttv median"
        );
        assert_eq!(ttv.p90_ms, nearest_rank(&durations, 0.9), "{name}: ttv p90");

        // Stuck: non-terminal, in the stage longer than 30 days.
        let terminal: BTreeSet<&str> = program
            .stages
            .iter()
            .filter(|s| s.terminal)
            .map(|s| s.name.as_str())
            .collect();
        let stuck = x
            .stage
            .iter()
            .filter(|(subject, stage)| {
                !terminal.contains(stage.as_str()) && at - x.since[*subject] > 30 * 86_400_000
            })
            .count() as u64;
        assert_eq!(report.stuck.total, stuck, "{name}: stuck");

        // Actions by owner and status.
        for a in &report.actions {
            let n = |status: &str| {
                x.actions
                    .get(&(a.name.clone(), status.to_string()))
                    .copied()
                    .unwrap_or(0)
            };
            assert_eq!(a.emitted, n("emitted"), "{name}: {} emitted", a.name);
            assert_eq!(a.suppressed, n("suppressed"), "{name}: {}", a.name);
            assert_eq!(a.deferred, n("deferred"), "{name}: {}", a.name);
            assert_eq!(a.held_out, n("held_out"), "{name}: {}", a.name);
            for (reason, count) in &a.reasons {
                assert_eq!(
                    Some(count),
                    x.reasons.get(&(a.name.clone(), reason.clone())),
                    "{name}: {} {reason}",
                    a.name
                );
            }
        }
        let total: u64 = report
            .actions
            .iter()
            .map(|a| a.emitted + a.suppressed + a.deferred + a.held_out)
            .sum();
        assert_eq!(
            total,
            x.actions.values().sum::<u64>(),
            "{name}: every action counted"
        );

        // Audit.
        assert_eq!(report.audit.manual_transitions, x.manual, "{name}");
        assert_eq!(report.audit.automatic_transitions, x.automatic, "{name}");
        let errored: u64 = report.audit.errored.iter().map(|e| e.count).sum();
        assert_eq!(errored, x.errored, "{name}: errored");
        for st in &report.stages {
            let flagged = report
                .audit
                .concentration
                .iter()
                .any(|c| c.stage == st.stage.name);
            let share = st.accounts as f64 / report.accounts.max(1) as f64;
            assert_eq!(
                flagged,
                !st.stage.terminal && share > 0.2,
                "{name}: {}",
                st.stage.name
            );
        }

        // Go-live placements.
        let placed: HashMap<String, u64> = report
            .go_live
            .by_stage
            .iter()
            .map(|s| (s.name.clone(), s.count))
            .collect();
        assert_eq!(
            placed,
            x.placed.clone().into_iter().collect::<HashMap<_, _>>()
        );

        // Holdout groups: held out (sticky) vs treated, and where they are.
        for h in &report.holdouts {
            let held = x.held_out.get(&h.rule).cloned().unwrap_or_default();
            let treated: BTreeSet<String> = x
                .treated
                .get(&h.rule)
                .cloned()
                .unwrap_or_default()
                .difference(&held)
                .cloned()
                .collect();
            assert_eq!(h.held_out.accounts, held.len() as u64, "{name}");
            assert_eq!(h.treated.accounts, treated.len() as u64, "{name}");
            let term = |set: &BTreeSet<String>| {
                set.iter()
                    .filter(|a| terminal.contains(x.stage[*a].as_str()))
                    .count() as u64
            };
            assert_eq!(h.held_out.terminal, term(&held), "{name}");
            assert_eq!(h.treated.terminal, term(&treated), "{name}");
        }
    }
}

#[test]
fn the_lifecycle_scenario_covers_every_section() {
    let report = SCENARIOS[1].report();
    assert!(report.go_live.placed > 0);
    assert!(!report.holdouts.is_empty());
    assert!(report.audit.manual_transitions > 0);
    assert!(report.audit.manual_rejected > 0);
    assert!(!report.audit.errored.is_empty());
    let reasons: BTreeSet<&str> = report
        .actions
        .iter()
        .flat_map(|a| a.reasons.keys().map(String::as_str))
        .collect();
    for r in ["cap", "cooldown", "once", "holdout"] {
        assert!(reasons.contains(r), "{r}");
    }
    assert!(report.actions.iter().any(|a| a.deferred > 0));
    assert!(report.stuck.total > 0);
}
