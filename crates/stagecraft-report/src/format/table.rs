//! The report for a terminal: one comfy-table per section.

use std::fmt::Write;

use comfy_table::{presets, CellAlignment, Table};

use crate::report::{percent, Report};

fn new_table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table.load_preset(presets::UTF8_FULL_CONDENSED);
    table.set_header(header.to_vec());
    table
}

/// Right-aligns the number columns `from..to` (`to`: exclusive, or every
/// column after `from` when `None`).
fn right(table: &mut Table, from: usize, to: Option<usize>) {
    let n = to.unwrap_or(table.column_count());
    for c in from..n {
        if let Some(col) = table.column_mut(c) {
            col.set_cell_alignment(CellAlignment::Right);
        }
    }
}

fn or_dash(value: Option<&String>) -> String {
    value.cloned().unwrap_or_else(|| "-".into())
}

pub fn table(r: &Report) -> String {
    let mut out = String::new();
    let title = match &r.playbook {
        Some(p) => format!("Lifecycle report: {} (version {})", p.name, p.version),
        None => "Lifecycle report".to_string(),
    };
    let _ = writeln!(out, "{title}");
    let _ = writeln!(
        out,
        "as of {}: {} accounts, {} records{}{}",
        r.at,
        r.accounts,
        r.input.records,
        if r.input.unreadable > 0 {
            format!(", {} unreadable lines", r.input.unreadable)
        } else {
            String::new()
        },
        if r.input.after_report_time > 0 {
            format!(
                ", {} records after the report time ignored",
                r.input.after_report_time
            )
        } else {
            String::new()
        }
    );

    let _ = writeln!(out, "\nAudit");
    if r.audit.flags.is_empty() {
        let _ = writeln!(out, "  no red flags");
    }
    for f in &r.audit.flags {
        let _ = writeln!(out, "  ! {}", f.message);
    }
    let _ = writeln!(
        out,
        "  manual transitions: {} of {} ({})",
        r.audit.manual_transitions,
        r.audit.manual_transitions + r.audit.automatic_transitions,
        percent(r.audit.manual_share)
    );

    let _ = writeln!(out, "\nStages now");
    let mut t = new_table(&["stage", "accounts", "share", "ever entered", ""]);
    for s in &r.stages {
        let mut flags = Vec::new();
        if s.stage.initial {
            flags.push("initial");
        }
        if s.stage.terminal {
            flags.push("terminal");
        }
        t.add_row(vec![
            s.stage.name.clone(),
            s.accounts.to_string(),
            percent(s.share),
            s.reached.to_string(),
            flags.join(", "),
        ]);
    }
    right(&mut t, 1, Some(4));
    let _ = writeln!(out, "{t}");

    if !r.funnel.is_empty() {
        let _ = writeln!(
            out,
            "\nFunnel (of the accounts that entered a stage, those that also entered the next)"
        );
        let mut t = new_table(&["from", "to", "entered", "converted", "conversion"]);
        for f in &r.funnel {
            t.add_row(vec![
                f.from.clone(),
                f.to.clone(),
                f.entered.to_string(),
                f.converted.to_string(),
                percent(f.conversion),
            ]);
        }
        right(&mut t, 2, None);
        let _ = writeln!(out, "{t}");
    }

    let _ = writeln!(out, "\nTime in stage (completed stays)");
    let mut t = new_table(&["stage", "completed", "median", "p90", "in stage now"]);
    for s in &r.time_in_stage.stages {
        t.add_row(vec![
            s.stage.clone(),
            s.completed.to_string(),
            or_dash(s.median.as_ref()),
            or_dash(s.p90.as_ref()),
            s.current.to_string(),
        ]);
    }
    right(&mut t, 1, None);
    let _ = writeln!(out, "{t}");

    if let Some(v) = &r.time_to_value {
        let _ = writeln!(out, "\nTime to value: first entry into `{}`", v.stage);
        let _ = writeln!(out, "  ({})", v.definition);
        let _ = writeln!(
            out,
            "  {} of {} accounts reached it ({}); median {}, p90 {}{}",
            v.reached,
            v.accounts,
            percent(v.share),
            or_dash(v.median.as_ref()),
            or_dash(v.p90.as_ref()),
            if v.started_at_or_after > 0 {
                format!(
                    "; {} began at or after it and are not measured",
                    v.started_at_or_after
                )
            } else {
                String::new()
            }
        );
    }

    let _ = writeln!(
        out,
        "\nStuck: {} account(s) in a non-terminal stage for more than {}",
        r.stuck.total, r.stuck.threshold
    );
    if !r.stuck.oldest.is_empty() {
        let mut t = new_table(&["account", "stage", "since", "days"]);
        for s in &r.stuck.oldest {
            t.add_row(vec![
                s.subject.clone(),
                s.stage.clone(),
                s.since.clone(),
                s.days.to_string(),
            ]);
        }
        right(&mut t, 3, None);
        let _ = writeln!(out, "{t}");
        if r.stuck.total > r.stuck.oldest.len() as u64 {
            let _ = writeln!(
                out,
                "  ... and {} more",
                r.stuck.total - r.stuck.oldest.len() as u64
            );
        }
    }

    if !r.actions.is_empty() {
        let _ = writeln!(out, "\nActions by rule");
        let mut t = new_table(&[
            "owner",
            "name",
            "emitted",
            "suppressed",
            "deferred",
            "held out",
            "why not emitted",
        ]);
        for a in &r.actions {
            let mut why: Vec<String> = a
                .reasons
                .iter()
                .map(|(reason, n)| format!("{reason} {n}"))
                .collect();
            why.extend(a.caps.iter().map(|(cap, n)| format!("[{cap}: {n}]")));
            t.add_row(vec![
                a.owner.clone(),
                a.name.clone(),
                a.emitted.to_string(),
                a.suppressed.to_string(),
                a.deferred.to_string(),
                a.held_out.to_string(),
                why.join(", "),
            ]);
        }
        right(&mut t, 2, Some(6));
        let _ = writeln!(out, "{t}");
    }

    if !r.holdouts.is_empty() {
        let _ = writeln!(out, "\nHoldout vs treatment (where the accounts are now)");
        let mut t = new_table(&[
            "rule",
            "group",
            "accounts",
            "terminal",
            "terminal share",
            "reached value",
            "by stage",
        ]);
        for h in &r.holdouts {
            for (name, g) in [("held out", &h.held_out), ("treated", &h.treated)] {
                t.add_row(vec![
                    h.rule.clone(),
                    name.to_string(),
                    g.accounts.to_string(),
                    g.terminal.to_string(),
                    percent(g.terminal_share),
                    format!("{} ({})", g.reached_value, percent(g.reached_value_share)),
                    g.by_stage
                        .iter()
                        .map(|s| format!("{} {}", s.name, s.count))
                        .collect::<Vec<_>>()
                        .join(", "),
                ]);
            }
        }
        right(&mut t, 2, Some(6));
        let _ = writeln!(out, "{t}");
    }

    if r.go_live.placed > 0 {
        let _ = writeln!(out, "\nPlaced at go-live: {}", r.go_live.placed);
        let mut t = new_table(&["stage", "placed"]);
        for s in &r.go_live.by_stage {
            t.add_row(vec![s.name.clone(), s.count.to_string()]);
        }
        right(&mut t, 1, None);
        let _ = writeln!(out, "{t}");
    }

    if !r.over_time.starts.is_empty() {
        let _ = writeln!(
            out,
            "\nStage distribution over time (accounts at the end of each {})",
            r.over_time.bucket
        );
        let mut header = vec![r.over_time.bucket.as_str()];
        header.extend(r.over_time.series.iter().map(|s| s.stage.as_str()));
        let mut t = new_table(&header);
        for (i, start) in r.over_time.starts.iter().enumerate() {
            let mut row = vec![start.clone()];
            row.extend(
                r.over_time
                    .series
                    .iter()
                    .map(|s| s.counts.get(i).copied().unwrap_or(0).to_string()),
            );
            t.add_row(row);
        }
        right(&mut t, 1, None);
        let _ = writeln!(out, "{t}");
    }

    if !r.milestones_missed.is_empty() {
        let _ = writeln!(out, "\nMilestones missed");
        for m in &r.milestones_missed {
            let _ = writeln!(out, "  {}: {}", m.name, m.count);
        }
    }
    if let Some(s) = &r.state {
        let _ = writeln!(
            out,
            "\nState snapshot: {} accounts, {} in a different stage than the outcomes say, {} only in the state",
            s.subjects, s.mismatches, s.only_in_state
        );
    }
    out
}
