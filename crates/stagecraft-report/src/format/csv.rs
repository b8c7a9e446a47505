//! The report as one long CSV table: `section,item,stage,metric,value`, one
//! figure per row, ready for a spreadsheet pivot.

use std::fmt::Write;

use crate::report::Report;

fn field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

struct Rows(String);

impl Rows {
    fn row(&mut self, section: &str, item: &str, stage: &str, metric: &str, value: impl ToString) {
        let _ = writeln!(
            self.0,
            "{},{},{},{},{}",
            field(section),
            field(item),
            field(stage),
            field(metric),
            field(&value.to_string())
        );
    }
}

pub fn csv(r: &Report) -> String {
    let mut out = Rows("section,item,stage,metric,value\n".to_string());
    let o = &mut out;
    if let Some(p) = &r.playbook {
        o.row("report", "", "", "playbook", &p.name);
        o.row("report", "", "", "version", &p.version);
    }
    o.row("report", "", "", "at", &r.at);
    o.row("report", "", "", "accounts", r.accounts);
    o.row("report", "", "", "records", r.input.records);
    o.row("report", "", "", "unreadable", r.input.unreadable);
    o.row(
        "report",
        "",
        "",
        "after_report_time",
        r.input.after_report_time,
    );
    for s in &r.stages {
        o.row("stages", "", &s.stage.name, "accounts", s.accounts);
        o.row("stages", "", &s.stage.name, "share", s.share);
        o.row("stages", "", &s.stage.name, "reached", s.reached);
    }
    for series in &r.over_time.series {
        for (start, n) in r.over_time.starts.iter().zip(&series.counts) {
            o.row(
                &format!("over_time_{}", r.over_time.bucket),
                start,
                &series.stage,
                "accounts",
                n,
            );
        }
    }
    for f in &r.funnel {
        let item = format!("{} -> {}", f.from, f.to);
        o.row("funnel", &item, &f.from, "entered", f.entered);
        o.row("funnel", &item, &f.to, "converted", f.converted);
        o.row("funnel", &item, "", "conversion", f.conversion);
    }
    for f in &r.transitions {
        let item = format!("{} -> {}", f.from, f.to);
        o.row("transitions", &item, "", "automatic", f.automatic);
        o.row("transitions", &item, "", "manual", f.manual);
    }
    for s in &r.time_in_stage.stages {
        o.row("time_in_stage", "", &s.stage, "completed", s.completed);
        o.row("time_in_stage", "", &s.stage, "current", s.current);
        if let (Some(m), Some(p)) = (s.median_ms, s.p90_ms) {
            o.row("time_in_stage", "", &s.stage, "median_ms", m);
            o.row("time_in_stage", "", &s.stage, "p90_ms", p);
        }
        for (label, n) in r.time_in_stage.buckets.iter().zip(&s.histogram) {
            o.row("time_in_stage_histogram", label, &s.stage, "stays", n);
        }
    }
    if let Some(t) = &r.time_to_value {
        o.row("time_to_value", "", &t.stage, "accounts", t.accounts);
        o.row("time_to_value", "", &t.stage, "reached", t.reached);
        o.row("time_to_value", "", &t.stage, "share", t.share);
        if let (Some(m), Some(p)) = (t.median_ms, t.p90_ms) {
            o.row("time_to_value", "", &t.stage, "median_ms", m);
            o.row("time_to_value", "", &t.stage, "p90_ms", p);
        }
        o.row(
            "time_to_value",
            "",
            &t.stage,
            "started_at_or_after",
            t.started_at_or_after,
        );
    }
    o.row("stuck", "", "", "threshold_ms", r.stuck.threshold_ms);
    o.row("stuck", "", "", "total", r.stuck.total);
    for s in &r.stuck.by_stage {
        o.row("stuck", "", &s.name, "accounts", s.count);
    }
    for s in &r.stuck.oldest {
        o.row("stuck_accounts", &s.subject, &s.stage, "days", s.days);
    }
    for f in &r.audit.flags {
        o.row("audit_flags", &f.kind, "", "message", &f.message);
    }
    o.row(
        "audit",
        "",
        "",
        "automatic_transitions",
        r.audit.automatic_transitions,
    );
    o.row(
        "audit",
        "",
        "",
        "manual_transitions",
        r.audit.manual_transitions,
    );
    o.row("audit", "", "", "manual_share", r.audit.manual_share);
    o.row("audit", "", "", "manual_rejected", r.audit.manual_rejected);
    for c in &r.audit.concentration {
        o.row("audit_concentration", "", &c.stage, "share", c.share);
    }
    for e in &r.audit.errored {
        let item = format!("{} {}: {}", e.site, e.name, e.error);
        o.row("audit_errored", &item, "", "count", e.count);
        o.row("audit_errored", &item, "", "accounts", e.accounts);
    }
    for a in &r.actions {
        let item = format!("{} {}", a.owner, a.name);
        o.row("actions", &item, "", "emitted", a.emitted);
        o.row("actions", &item, "", "suppressed", a.suppressed);
        o.row("actions", &item, "", "deferred", a.deferred);
        o.row("actions", &item, "", "held_out", a.held_out);
        for (reason, n) in &a.reasons {
            o.row("actions", &item, "", &format!("reason:{reason}"), n);
        }
        for (cap, n) in &a.caps {
            o.row("actions", &item, "", &format!("cap:{cap}"), n);
        }
    }
    for h in &r.holdouts {
        for (name, g) in [("held_out", &h.held_out), ("treated", &h.treated)] {
            o.row(
                "holdouts",
                &h.rule,
                "",
                &format!("{name}.accounts"),
                g.accounts,
            );
            o.row(
                "holdouts",
                &h.rule,
                "",
                &format!("{name}.terminal"),
                g.terminal,
            );
            o.row(
                "holdouts",
                &h.rule,
                "",
                &format!("{name}.terminal_share"),
                g.terminal_share,
            );
            o.row(
                "holdouts",
                &h.rule,
                "",
                &format!("{name}.reached_value"),
                g.reached_value,
            );
            for s in &g.by_stage {
                o.row(
                    "holdouts",
                    &h.rule,
                    &s.name,
                    &format!("{name}.accounts"),
                    s.count,
                );
            }
        }
        o.row(
            "holdouts",
            &h.rule,
            "",
            "terminal_difference_pp",
            h.terminal_difference_pp,
        );
    }
    o.row("go_live", "", "", "placed", r.go_live.placed);
    for s in &r.go_live.by_stage {
        o.row("go_live", "", &s.name, "placed", s.count);
    }
    for m in &r.milestones_missed {
        o.row("milestones_missed", &m.name, "", "count", m.count);
    }
    if let Some(s) = &r.state {
        o.row("state", "", "", "subjects", s.subjects);
        o.row("state", "", "", "mismatches", s.mismatches);
        o.row("state", "", "", "only_in_state", s.only_in_state);
    }
    out.0
}
