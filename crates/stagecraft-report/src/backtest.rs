//! `stagecraft backtest OLD NEW --events FILE`: the same history through
//! two versions of a playbook, and what the change does: accounts whose
//! final stage differs, actions added and removed by rule, and the funnel and
//! velocity figures side by side.

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;

use serde::{Deserialize, Serialize};
use stagecraft::runtime::outcome::SubjectNames;
use stagecraft::runtime::{Compiled, Config, DeadLetter, Engine, Outcome, Record, Sink};

use crate::model::PlaybookInfo;
use crate::records::RecordView;
use crate::report::{human_duration, percent, PlaybookRef, Report, ReportBuilder, ReportOptions};

#[derive(Debug, Clone)]
pub struct BacktestOptions {
    pub config: Config,
    /// Advance both runs to this time at the end (fires timers due by then).
    pub until: Option<i64>,
    /// Examples listed per difference.
    pub examples: usize,
}

impl Default for BacktestOptions {
    fn default() -> Self {
        BacktestOptions {
            config: Config::default(),
            until: None,
            examples: 5,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Backtest {
    pub old: PlaybookRef,
    pub new: PlaybookRef,
    /// Accounts that entered the lifecycle in either run.
    pub accounts: u64,
    pub stage_changes: StageChanges,
    pub actions: Vec<ActionDiff>,
    pub stages: Vec<StageDiff>,
    pub funnel: Vec<FunnelDiff>,
    pub velocity: Vec<VelocityDiff>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_to_value: Option<TimeToValueDiff>,
    pub dead_letters: SideCounts,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageChanges {
    /// Accounts whose final stage differs.
    pub changed: u64,
    pub unchanged: u64,
    /// By (old final stage, new final stage), most frequent first.
    pub moves: Vec<Move>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Move {
    /// `(not entered)` when the account never entered in that run.
    pub from: String,
    pub to: String,
    pub count: u64,
    pub examples: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionDiff {
    pub owner: String,
    pub name: String,
    /// Emitted actions in each run.
    pub old: u64,
    pub new: u64,
    /// Emitted in the new run and not the old (same account, time and
    /// action), and the reverse.
    pub added: u64,
    pub removed: u64,
    pub added_examples: Vec<ActionExample>,
    pub removed_examples: Vec<ActionExample>,
    pub old_suppressed: u64,
    pub new_suppressed: u64,
    pub old_held_out: u64,
    pub new_held_out: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionExample {
    pub subject: String,
    pub time: String,
    pub action: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageDiff {
    pub stage: String,
    pub old: u64,
    pub new: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunnelDiff {
    pub from: String,
    pub to: String,
    pub old_entered: u64,
    pub old_converted: u64,
    pub old_conversion: f64,
    pub new_entered: u64,
    pub new_converted: u64,
    pub new_conversion: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VelocityDiff {
    pub stage: String,
    pub old_completed: u64,
    pub new_completed: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_median_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_median_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_p90_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_p90_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeToValueDiff {
    pub old_stage: String,
    pub new_stage: String,
    pub old_reached: u64,
    pub new_reached: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_median_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_median_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SideCounts {
    pub old: u64,
    pub new: u64,
}

/// An emitted action's identity across runs.
type ActionKey = (String, bool, String, String, String);

struct Side {
    program: std::sync::Arc<stagecraft::ir::Program>,
    builder: ReportBuilder,
    /// Final stage per account.
    stages: HashMap<String, String>,
    /// (subject, escalation?, owner, time, action) → count.
    emitted: HashMap<ActionKey, u64>,
    dead: u64,
}

impl Sink for Side {
    fn outcome(&mut self, outcome: &Outcome, names: &dyn SubjectNames) {
        let record = Record::render(outcome, &self.program, names);
        let view = RecordView::from_record(&record);
        self.builder.push(&view);
        match record.kind.as_str() {
            "entered" => {
                if let Some(s) = &view.stage {
                    self.stages.insert(record.subject.clone(), s.to_string());
                }
            }
            "transition" => {
                if let Some(s) = &view.to {
                    self.stages.insert(record.subject.clone(), s.to_string());
                }
            }
            "action" if view.status.as_deref() == Some("emitted") => {
                if let Some((escalation, owner)) = view.owner() {
                    let action = describe(&view);
                    *self
                        .emitted
                        .entry((
                            record.subject.clone(),
                            escalation,
                            owner.to_string(),
                            record.time.clone(),
                            action,
                        ))
                        .or_default() += 1;
                }
            }
            _ => {}
        }
    }

    fn dead_letter(&mut self, _dead: DeadLetter) {
        self.dead += 1;
    }
}

fn describe(view: &RecordView) -> String {
    let kind = view.action.as_deref().unwrap_or("action");
    match (&view.channel, &view.template, &view.title) {
        (Some(c), Some(t), _) => format!("{kind} {c} \"{t}\""),
        (_, _, Some(t)) => format!("{kind} \"{t}\""),
        _ => kind.to_string(),
    }
}

fn run_side<R: BufRead>(
    compiled: &Compiled,
    events: R,
    options: &BacktestOptions,
) -> std::io::Result<(Side, Report)> {
    let info = PlaybookInfo::from_program(&compiled.program);
    let mut side = Side {
        program: compiled.program.clone(),
        builder: ReportBuilder::new(
            Some(info),
            ReportOptions {
                at: options.until,
                ..ReportOptions::default()
            },
        ),
        stages: HashMap::new(),
        emitted: HashMap::new(),
        dead: 0,
    };
    let mut engine = Engine::new(compiled.clone(), options.config);
    engine.push_reader(events, &mut side, |_| {})?;
    engine.finish(&mut side);
    if let Some(until) = options.until {
        engine.advance_to(until, &mut side);
    }
    let builder = std::mem::replace(
        &mut side.builder,
        ReportBuilder::new(None, ReportOptions::default()),
    );
    let report = builder.finish();
    Ok((side, report))
}

const NOT_ENTERED: &str = "(not entered)";

/// Replays the events through both playbooks. `open` is called once per run
/// and must yield the same events each time.
pub fn backtest<R: BufRead>(
    old: &Compiled,
    new: &Compiled,
    open: impl Fn() -> std::io::Result<R>,
    options: &BacktestOptions,
) -> std::io::Result<Backtest> {
    let (a, ra) = run_side(old, open()?, options)?;
    let (b, rb) = run_side(new, open()?, options)?;

    // Final stages.
    let mut subjects: Vec<&String> = a.stages.keys().chain(b.stages.keys()).collect();
    subjects.sort();
    subjects.dedup();
    let mut moves: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    let mut unchanged = 0;
    for s in &subjects {
        let from = a.stages.get(*s).map_or(NOT_ENTERED, String::as_str);
        let to = b.stages.get(*s).map_or(NOT_ENTERED, String::as_str);
        if from == to {
            unchanged += 1;
        } else {
            moves
                .entry((from.to_string(), to.to_string()))
                .or_default()
                .push((*s).clone());
        }
    }
    let mut moves: Vec<Move> = moves
        .into_iter()
        .map(|((from, to), subjects)| Move {
            from,
            to,
            count: subjects.len() as u64,
            examples: subjects.into_iter().take(options.examples).collect(),
        })
        .collect();
    moves.sort_by(|x, y| {
        y.count
            .cmp(&x.count)
            .then_with(|| (&x.from, &x.to).cmp(&(&y.from, &y.to)))
    });
    let changed = moves.iter().map(|m| m.count).sum();

    // Actions by owner.
    let mut owners: BTreeMap<(bool, String), ActionDiff> = BTreeMap::new();
    let mut diff_side =
        |from: &HashMap<ActionKey, u64>, other: &HashMap<ActionKey, u64>, added: bool| {
            let mut keys: Vec<&ActionKey> = from.keys().collect();
            keys.sort();
            for key in keys {
                let n = from[key];
                let m = other.get(key).copied().unwrap_or(0);
                let row = owners
                    .entry((key.1, key.2.clone()))
                    .or_insert_with(|| ActionDiff {
                        owner: if key.1 { "escalation" } else { "rule" }.into(),
                        name: key.2.clone(),
                        ..ActionDiff::default()
                    });
                if added {
                    row.new += n;
                } else {
                    row.old += n;
                }
                if n > m {
                    let example = ActionExample {
                        subject: key.0.clone(),
                        time: key.3.clone(),
                        action: key.4.clone(),
                    };
                    if added {
                        row.added += n - m;
                        if row.added_examples.len() < options.examples {
                            row.added_examples.push(example);
                        }
                    } else {
                        row.removed += n - m;
                        if row.removed_examples.len() < options.examples {
                            row.removed_examples.push(example);
                        }
                    }
                }
            }
        };
    diff_side(&a.emitted, &b.emitted, false);
    diff_side(&b.emitted, &a.emitted, true);
    for (report, old) in [(&ra, true), (&rb, false)] {
        for row in &report.actions {
            let entry = owners
                .entry((row.owner == "escalation", row.name.clone()))
                .or_insert_with(|| ActionDiff {
                    owner: row.owner.clone(),
                    name: row.name.clone(),
                    ..ActionDiff::default()
                });
            if old {
                entry.old_suppressed = row.suppressed;
                entry.old_held_out = row.held_out;
            } else {
                entry.new_suppressed = row.suppressed;
                entry.new_held_out = row.held_out;
            }
        }
    }
    let actions: Vec<ActionDiff> = owners.into_values().collect();

    // Stages now, funnel and velocity by stage name.
    let mut stage_names: Vec<String> = ra.stages.iter().map(|s| s.stage.name.clone()).collect();
    for s in &rb.stages {
        if !stage_names.contains(&s.stage.name) {
            stage_names.push(s.stage.name.clone());
        }
    }
    let count = |r: &Report, name: &str| {
        r.stages
            .iter()
            .find(|s| s.stage.name == name)
            .map_or(0, |s| s.accounts)
    };
    let stages = stage_names
        .iter()
        .map(|name| StageDiff {
            stage: name.clone(),
            old: count(&ra, name),
            new: count(&rb, name),
        })
        .collect();
    let mut pairs: Vec<(String, String)> = ra
        .funnel
        .iter()
        .map(|f| (f.from.clone(), f.to.clone()))
        .collect();
    for f in &rb.funnel {
        let pair = (f.from.clone(), f.to.clone());
        if !pairs.contains(&pair) {
            pairs.push(pair);
        }
    }
    let step = |r: &Report, from: &str, to: &str| {
        r.funnel
            .iter()
            .find(|f| f.from == from && f.to == to)
            .map_or((0, 0, 0.0), |f| (f.entered, f.converted, f.conversion))
    };
    let funnel = pairs
        .iter()
        .map(|(from, to)| {
            let (oe, oc, ox) = step(&ra, from, to);
            let (ne, nc, nx) = step(&rb, from, to);
            FunnelDiff {
                from: from.clone(),
                to: to.clone(),
                old_entered: oe,
                old_converted: oc,
                old_conversion: ox,
                new_entered: ne,
                new_converted: nc,
                new_conversion: nx,
            }
        })
        .collect();
    let time = |r: &Report, name: &str| {
        r.time_in_stage
            .stages
            .iter()
            .find(|s| s.stage == name)
            .cloned()
    };
    let velocity = stage_names
        .iter()
        .map(|name| {
            let (o, n) = (time(&ra, name), time(&rb, name));
            VelocityDiff {
                stage: name.clone(),
                old_completed: o.as_ref().map_or(0, |s| s.completed),
                new_completed: n.as_ref().map_or(0, |s| s.completed),
                old_median_ms: o.as_ref().and_then(|s| s.median_ms),
                new_median_ms: n.as_ref().and_then(|s| s.median_ms),
                old_p90_ms: o.as_ref().and_then(|s| s.p90_ms),
                new_p90_ms: n.as_ref().and_then(|s| s.p90_ms),
            }
        })
        .collect();
    let time_to_value = match (&ra.time_to_value, &rb.time_to_value) {
        (Some(o), Some(n)) => Some(TimeToValueDiff {
            old_stage: o.stage.clone(),
            new_stage: n.stage.clone(),
            old_reached: o.reached,
            new_reached: n.reached,
            old_median_ms: o.median_ms,
            new_median_ms: n.median_ms,
        }),
        _ => None,
    };
    Ok(Backtest {
        old: PlaybookRef {
            name: old.program.name.clone(),
            version: old.program.version.clone(),
        },
        new: PlaybookRef {
            name: new.program.name.clone(),
            version: new.program.version.clone(),
        },
        accounts: subjects.len() as u64,
        stage_changes: StageChanges {
            changed,
            unchanged,
            moves,
        },
        actions,
        stages,
        funnel,
        velocity,
        time_to_value,
        dead_letters: SideCounts {
            old: a.dead,
            new: b.dead,
        },
    })
}

fn delta(old: u64, new: u64) -> String {
    match new.cmp(&old) {
        std::cmp::Ordering::Greater => format!("+{}", new - old),
        std::cmp::Ordering::Less => format!("-{}", old - new),
        std::cmp::Ordering::Equal => "=".into(),
    }
}

fn dur(ms: Option<i64>) -> String {
    ms.map_or_else(|| "-".into(), human_duration)
}

/// The backtest for people (and for a pull-request comment).
pub fn human(b: &Backtest) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Backtest: {} (version {}) -> {} (version {}), {} accounts",
        b.old.name, b.old.version, b.new.name, b.new.version, b.accounts
    );
    let _ = writeln!(
        out,
        "\nFinal stage differs for {} account(s) ({} unchanged)",
        b.stage_changes.changed, b.stage_changes.unchanged
    );
    for m in &b.stage_changes.moves {
        let more = if m.count as usize > m.examples.len() {
            ", ..."
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  {} -> {}: {} ({}{more})",
            m.from,
            m.to,
            m.count,
            m.examples.join(", ")
        );
    }
    let _ = writeln!(out, "\nAccounts by stage now (old -> new)");
    for s in &b.stages {
        if s.old != s.new {
            let _ = writeln!(
                out,
                "  {}: {} -> {} ({})",
                s.stage,
                s.old,
                s.new,
                delta(s.old, s.new)
            );
        } else {
            let _ = writeln!(out, "  {}: {} (unchanged)", s.stage, s.old);
        }
    }
    let _ = writeln!(out, "\nEmitted actions by rule (old -> new)");
    let mut any = false;
    for a in &b.actions {
        if a.added == 0
            && a.removed == 0
            && a.old_suppressed == a.new_suppressed
            && a.old_held_out == a.new_held_out
        {
            continue;
        }
        any = true;
        let _ = writeln!(
            out,
            "  {} {}: {} -> {} (+{} added, -{} removed); suppressed {} -> {}; held out {} -> {}",
            a.owner,
            a.name,
            a.old,
            a.new,
            a.added,
            a.removed,
            a.old_suppressed,
            a.new_suppressed,
            a.old_held_out,
            a.new_held_out
        );
        for e in &a.added_examples {
            let _ = writeln!(out, "      + {} {} {}", e.subject, e.time, e.action);
        }
        for e in &a.removed_examples {
            let _ = writeln!(out, "      - {} {} {}", e.subject, e.time, e.action);
        }
    }
    if !any {
        let _ = writeln!(out, "  no change");
    }
    let _ = writeln!(out, "\nFunnel (old -> new)");
    for f in &b.funnel {
        let _ = writeln!(
            out,
            "  {} -> {}: {} ({} of {}) -> {} ({} of {})",
            f.from,
            f.to,
            percent(f.old_conversion),
            f.old_converted,
            f.old_entered,
            percent(f.new_conversion),
            f.new_converted,
            f.new_entered
        );
    }
    let _ = writeln!(out, "\nVelocity: time in stage, median / p90 (old -> new)");
    for v in &b.velocity {
        let _ = writeln!(
            out,
            "  {}: {} / {} -> {} / {} ({} -> {} completed stays)",
            v.stage,
            dur(v.old_median_ms),
            dur(v.old_p90_ms),
            dur(v.new_median_ms),
            dur(v.new_p90_ms),
            v.old_completed,
            v.new_completed
        );
    }
    if let Some(t) = &b.time_to_value {
        let _ = writeln!(
            out,
            "\nTime to value: {} reached `{}`, median {} -> {} reached `{}`, median {}",
            t.old_reached,
            t.old_stage,
            dur(t.old_median_ms),
            t.new_reached,
            t.new_stage,
            dur(t.new_median_ms)
        );
    }
    if b.dead_letters.old + b.dead_letters.new > 0 {
        let _ = writeln!(
            out,
            "\nDead letters: {} -> {}",
            b.dead_letters.old, b.dead_letters.new
        );
    }
    out
}
