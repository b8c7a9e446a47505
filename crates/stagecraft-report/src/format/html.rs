//! The report as one self-contained HTML file: inline CSS, inline SVG charts
//! drawn here (funnel, stage distribution over time, time-in-stage
//! histograms), no scripts, fonts or images from anywhere else. The figures
//! are embedded as JSON in `<script type="application/json"
//! id="report-data">`, equal to the JSON report, and every chart mark
//! carries its figure in `data-*` attributes.
//!
//! The markup is also well-formed XML (every element closed, attributes
//! quoted, text escaped), so tests can read it with an XML parser.

use std::fmt::Write;

use crate::report::{percent, Report};

/// The `id` of the embedded JSON block.
pub const DATA_BLOCK_ID: &str = "report-data";

const PALETTE: [&str; 10] = [
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac",
];

fn color(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

/// Escapes text and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The report JSON, safe inside a `<script>` element: `<`, `>` and `&` only
/// occur in JSON strings, where they are written as `\u` escapes.
fn data_block(r: &Report) -> String {
    serde_json::to_string(r)
        .unwrap_or_else(|_| "{}".into())
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

const STYLE: &str = r#"
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; margin: 0; padding: 24px 32px 48px; color: #1f2933; background: #f7f8fa; }
header h1 { margin: 0 0 4px; font-size: 24px; }
header p { margin: 0; color: #52606d; }
section { background: #fff; border: 1px solid #e4e7eb; border-radius: 8px; padding: 16px 20px; margin-top: 20px; }
h2 { font-size: 17px; margin: 0 0 12px; }
h3 { font-size: 14px; margin: 0 0 6px; color: #323f4b; }
.cards { display: flex; gap: 16px; flex-wrap: wrap; background: none; border: none; padding: 0; }
.card { background: #fff; border: 1px solid #e4e7eb; border-radius: 8px; padding: 12px 16px; min-width: 170px; }
.card .value { font-size: 22px; font-weight: 600; }
.card .label { color: #52606d; font-size: 12px; }
table { border-collapse: collapse; font-size: 13px; margin-top: 8px; }
th, td { padding: 4px 10px; border-bottom: 1px solid #e4e7eb; text-align: left; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
ul.flags { margin: 0; padding-left: 20px; }
ul.flags li { color: #ab091e; margin: 2px 0; }
p.ok { color: #2f8132; margin: 0; }
.note { color: #52606d; font-size: 12px; }
.legend { display: flex; gap: 14px; flex-wrap: wrap; font-size: 12px; margin-top: 6px; }
.legend span.swatch { display: inline-block; width: 10px; height: 10px; margin-right: 4px; border-radius: 2px; }
.grid { display: flex; flex-wrap: wrap; gap: 18px; }
svg text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; fill: #323f4b; }
svg .axis { stroke: #9aa5b1; stroke-width: 1; }
svg .gridline { stroke: #e4e7eb; stroke-width: 1; }
"#;

struct Html(String);

impl Html {
    fn push(&mut self, text: &str) {
        self.0.push_str(text);
    }
}

macro_rules! w {
    ($out:expr, $($arg:tt)*) => {
        let _ = write!($out.0, $($arg)*);
    };
}

fn f1(x: f64) -> String {
    format!("{x:.1}")
}

/// A count with thousands separators: `1,000,000`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// An axis label: `750`, `12.5k`, `1M`.
fn short(n: u64) -> String {
    let (value, unit) = if n >= 1_000_000 {
        (n as f64 / 1_000_000.0, "M")
    } else if n >= 10_000 {
        (n as f64 / 1_000.0, "k")
    } else {
        return n.to_string();
    };
    let text = format!("{value:.1}");
    format!("{}{unit}", text.trim_end_matches('0').trim_end_matches('.'))
}

/// A round step for about four gridlines up to `max`: 1, 2, 2.5 or 5 times
/// a power of ten.
fn nice_step(max: u64) -> u64 {
    let raw = (max as f64 / 4.0).max(1.0);
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude);
    (step.round() as u64).max(1)
}

pub fn html(r: &Report) -> String {
    let mut o = Html(String::with_capacity(64 * 1024));
    let name = r
        .playbook
        .as_ref()
        .map_or_else(String::new, |p| format!(": {}", p.name));
    o.push("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n");
    o.push("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n");
    w!(o, "<title>Lifecycle report{}</title>\n", esc(&name));
    w!(o, "<style>{STYLE}</style>\n</head>\n<body>\n");

    // Header and cards.
    w!(o, "<header><h1>Lifecycle report{}</h1>", esc(&name));
    w!(
        o,
        "<p>as of {}{} &#183; {} accounts &#183; {} outcome records</p></header>\n",
        esc(&r.at),
        r.playbook.as_ref().map_or_else(String::new, |p| format!(
            " &#183; version {}",
            esc(&p.version)
        )),
        r.accounts,
        r.input.records
    );
    o.push("<section class=\"cards\">");
    card(
        &mut o,
        "accounts",
        &r.accounts.to_string(),
        "in the lifecycle",
    );
    card(
        &mut o,
        "stuck",
        &count(r.stuck.total),
        &format!("stuck longer than {}", r.stuck.threshold),
    );
    if let Some(v) = &r.time_to_value {
        card(
            &mut o,
            "time-to-value",
            v.median.as_deref().unwrap_or("-"),
            &format!("median time to {}", v.stage),
        );
    }
    card(
        &mut o,
        "manual-share",
        &percent(r.audit.manual_share),
        "of stage changes were manual",
    );
    card(
        &mut o,
        "placed",
        &count(r.go_live.placed),
        "placed at go-live",
    );
    o.push("</section>\n");

    // Audit.
    o.push("<section id=\"audit\"><h2>Audit</h2>");
    if r.audit.flags.is_empty() {
        o.push("<p class=\"ok\">No red flags.</p>");
    } else {
        o.push("<ul class=\"flags\">");
        for f in &r.audit.flags {
            w!(
                o,
                "<li data-kind=\"{}\">{}</li>",
                esc(&f.kind),
                esc(&f.message)
            );
        }
        o.push("</ul>");
    }
    o.push("</section>\n");

    funnel(&mut o, r);
    distribution(&mut o, r);
    time_in_stage(&mut o, r);

    // Time to value.
    if let Some(v) = &r.time_to_value {
        o.push("<section id=\"time-to-value\"><h2>Time to value</h2>");
        w!(
            o,
            "<p>First entry into <b>{}</b>: {} of {} accounts ({}), median <b>{}</b>, p90 <b>{}</b>.</p>",
            esc(&v.stage),
            count(v.reached),
            count(v.accounts),
            percent(v.share),
            esc(v.median.as_deref().unwrap_or("-")),
            esc(v.p90.as_deref().unwrap_or("-"))
        );
        w!(
            o,
            "<p class=\"note\">{}</p></section>\n",
            esc(&v.definition)
        );
    }

    // Stuck.
    w!(
        o,
        "<section id=\"stuck\"><h2>Stuck accounts</h2><p>{} account(s) in a non-terminal stage for more than {}.</p>",
        count(r.stuck.total),
        esc(&r.stuck.threshold)
    );
    if !r.stuck.oldest.is_empty() {
        o.push("<table><thead><tr><th>account</th><th>stage</th><th>since</th><th class=\"n\">days</th></tr></thead><tbody>");
        for s in &r.stuck.oldest {
            w!(
                o,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
                esc(&s.subject),
                esc(&s.stage),
                esc(&s.since),
                s.days
            );
        }
        o.push("</tbody></table>");
    }
    o.push("</section>\n");

    // Actions.
    if !r.actions.is_empty() {
        o.push("<section id=\"actions\"><h2>Actions by rule</h2><table><thead><tr><th>owner</th><th>name</th><th class=\"n\">emitted</th><th class=\"n\">suppressed</th><th class=\"n\">deferred</th><th class=\"n\">held out</th><th>why not emitted</th></tr></thead><tbody>");
        for a in &r.actions {
            let mut why: Vec<String> = a
                .reasons
                .iter()
                .map(|(reason, n)| format!("{reason} {n}"))
                .collect();
            why.extend(a.caps.iter().map(|(cap, n)| format!("[{cap}: {n}]")));
            w!(
                o,
                "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
                esc(&a.owner),
                esc(&a.name),
                count(a.emitted),
                count(a.suppressed),
                count(a.deferred),
                count(a.held_out),
                esc(&why.join(", "))
            );
        }
        o.push("</tbody></table></section>\n");
    }

    // Holdouts.
    if !r.holdouts.is_empty() {
        o.push("<section id=\"holdouts\"><h2>Holdout vs treatment</h2><table><thead><tr><th>rule</th><th>group</th><th class=\"n\">accounts</th><th class=\"n\">terminal</th><th class=\"n\">terminal share</th><th class=\"n\">reached value</th><th>where they are now</th></tr></thead><tbody>");
        for h in &r.holdouts {
            for (name, g) in [("held out", &h.held_out), ("treated", &h.treated)] {
                w!(
                    o,
                    "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
                    esc(&h.rule),
                    name,
                    count(g.accounts),
                    count(g.terminal),
                    percent(g.terminal_share),
                    count(g.reached_value),
                    esc(&g.by_stage
                        .iter()
                        .map(|s| format!("{} {}", s.name, s.count))
                        .collect::<Vec<_>>()
                        .join(", "))
                );
            }
        }
        o.push("</tbody></table><p class=\"note\">No significance test: compare the group sizes before reading the difference.</p></section>\n");
    }

    // Go-live.
    if r.go_live.placed > 0 {
        w!(
            o,
            "<section id=\"go-live\"><h2>Placed at go-live</h2><p>{} account(s) placed in their current stage before the first event.</p><table><thead><tr><th>stage</th><th class=\"n\">placed</th></tr></thead><tbody>",
            count(r.go_live.placed)
        );
        for s in &r.go_live.by_stage {
            w!(
                o,
                "<tr><td>{}</td><td class=\"n\">{}</td></tr>",
                esc(&s.name),
                count(s.count)
            );
        }
        o.push("</tbody></table></section>\n");
    }

    w!(
        o,
        "<script type=\"application/json\" id=\"{DATA_BLOCK_ID}\">{}</script>\n",
        data_block(r)
    );
    o.push("</body>\n</html>\n");
    o.0
}

fn card(o: &mut Html, id: &str, value: &str, label: &str) {
    w!(
        o,
        "<div class=\"card\" id=\"card-{id}\"><div class=\"value\">{}</div><div class=\"label\">{}</div></div>",
        esc(value),
        esc(label)
    );
}

/// Horizontal bars: accounts that ever entered each funnel stage, with the
/// conversion between consecutive stages.
fn funnel(o: &mut Html, r: &Report) {
    let mut stages: Vec<&str> = Vec::new();
    if let Some(first) = r.funnel.first() {
        stages.push(&first.from);
    }
    stages.extend(r.funnel.iter().map(|f| f.to.as_str()));
    if stages.is_empty() {
        stages.extend(r.stages.iter().map(|s| s.stage.name.as_str()));
    }
    let reached = |name: &str| {
        r.stages
            .iter()
            .find(|s| s.stage.name == name)
            .map_or(0, |s| s.reached)
    };
    let index = |name: &str| {
        r.stages
            .iter()
            .position(|s| s.stage.name == name)
            .unwrap_or(0)
    };
    let max = stages.iter().map(|s| reached(s)).max().unwrap_or(0).max(1);
    let (label_w, bar_w, row_h, gap) = (170.0, 480.0, 30.0, 22.0);
    let width = label_w + bar_w + 90.0;
    let height = stages.len() as f64 * (row_h + gap);
    o.push("<section id=\"funnel\"><h2>Funnel</h2>");
    o.push("<p class=\"note\">Accounts that ever entered each stage; between bars, the share of those in the first stage that also entered the next.</p>");
    w!(
        o,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"Funnel\">",
        f1(width),
        f1(height),
        f1(width),
        f1(height)
    );
    for (i, stage) in stages.iter().enumerate() {
        let y = i as f64 * (row_h + gap);
        let n = reached(stage);
        let w = (n as f64 / max as f64 * bar_w).max(if n > 0 { 2.0 } else { 0.0 });
        w!(
            o,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"13\">{}</text>",
            f1(label_w - 10.0),
            f1(y + row_h / 2.0 + 4.0),
            esc(stage)
        );
        w!(
            o,
            "<rect class=\"funnel-bar\" data-stage=\"{}\" data-reached=\"{}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"3\" fill=\"{}\"/>",
            esc(stage),
            n,
            f1(label_w),
            f1(y),
            f1(w),
            f1(row_h),
            color(index(stage))
        );
        w!(
            o,
            "<text x=\"{}\" y=\"{}\" font-size=\"13\">{}</text>",
            f1(label_w + w + 6.0),
            f1(y + row_h / 2.0 + 4.0),
            count(n)
        );
        if let Some(step) = r.funnel.get(i) {
            w!(
                o,
                "<text class=\"funnel-conversion\" data-from=\"{}\" data-to=\"{}\" data-entered=\"{}\" data-converted=\"{}\" data-conversion=\"{}\" x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"#52606d\">&#8595; {} ({} of {})</text>",
                esc(&step.from),
                esc(&step.to),
                step.entered,
                step.converted,
                step.conversion,
                f1(label_w + 4.0),
                f1(y + row_h + gap / 2.0 + 5.0),
                percent(step.conversion),
                count(step.converted),
                count(step.entered)
            );
        }
    }
    o.push("</svg></section>\n");
}

/// Stacked bars: accounts per stage at the end of each bucket.
fn distribution(o: &mut Html, r: &Report) {
    let ot = &r.over_time;
    o.push("<section id=\"distribution\"><h2>Stage distribution</h2>");
    o.push("<table><thead><tr><th>stage</th><th class=\"n\">accounts now</th><th class=\"n\">share</th><th class=\"n\">ever entered</th></tr></thead><tbody>");
    for (i, s) in r.stages.iter().enumerate() {
        w!(
            o,
            "<tr><td><span style=\"color:{}\">&#9632;</span> {}{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            color(i),
            esc(&s.stage.name),
            if s.stage.terminal { " (terminal)" } else { "" },
            count(s.accounts),
            percent(s.share),
            count(s.reached)
        );
    }
    o.push("</tbody></table>");
    let n = ot.starts.len();
    if n == 0 {
        o.push("<p class=\"note\">No records.</p></section>\n");
        return;
    }
    w!(
        o,
        "<h3>Over time (accounts at the end of each {})</h3>",
        esc(&ot.bucket)
    );
    let (width, height) = (900.0, 320.0);
    let (left, right, top, bottom) = (50.0, 12.0, 12.0, 42.0);
    let plot_w = width - left - right;
    let plot_h = height - top - bottom;
    let totals: Vec<u64> = (0..n)
        .map(|i| {
            ot.series
                .iter()
                .map(|s| s.counts.get(i).copied().unwrap_or(0))
                .sum()
        })
        .collect();
    let step = nice_step(totals.iter().copied().max().unwrap_or(0).max(1));
    let ticks = totals
        .iter()
        .copied()
        .max()
        .unwrap_or(0)
        .max(1)
        .div_ceil(step);
    let max = step * ticks;
    let slot = plot_w / n as f64;
    let bar = (slot * 0.85).max(1.0);
    w!(
        o,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"Stage distribution over time\">",
        f1(width),
        f1(height),
        f1(width),
        f1(height)
    );
    // Grid and y labels.
    for k in 0..=ticks {
        let value = step * k;
        let y = top + plot_h - plot_h * (value as f64) / max as f64;
        w!(
            o,
            "<line class=\"gridline\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>",
            f1(left),
            f1(y),
            f1(left + plot_w),
            f1(y)
        );
        w!(
            o,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"11\">{}</text>",
            f1(left - 6.0),
            f1(y + 4.0),
            short(value)
        );
    }
    for i in 0..n {
        let x = left + slot * i as f64 + (slot - bar) / 2.0;
        let mut base = 0u64;
        for (s, series) in ot.series.iter().enumerate() {
            let count = series.counts.get(i).copied().unwrap_or(0);
            if count == 0 {
                continue;
            }
            let y0 = top + plot_h - plot_h * (base + count) as f64 / max as f64;
            let h = plot_h * count as f64 / max as f64;
            w!(
                o,
                "<rect class=\"dist-bar\" data-bucket=\"{}\" data-stage=\"{}\" data-count=\"{}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"><title>{} {}: {}</title></rect>",
                esc(&ot.starts[i]),
                esc(&series.stage),
                count,
                f1(x),
                f1(y0),
                f1(bar),
                f1(h),
                color(s),
                esc(&ot.starts[i]),
                esc(&series.stage),
                count
            );
            base += count;
        }
    }
    w!(
        o,
        "<line class=\"axis\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>",
        f1(left),
        f1(top + plot_h),
        f1(left + plot_w),
        f1(top + plot_h)
    );
    // X labels: at most 7, evenly spread, always the first and the last.
    let labels = n.min(7);
    let mut shown: Vec<usize> = (0..labels)
        .map(|k| {
            if labels == 1 {
                0
            } else {
                k * (n - 1) / (labels - 1)
            }
        })
        .collect();
    shown.dedup();
    for i in shown {
        let x = left + slot * i as f64 + slot / 2.0;
        let anchor = if n > 1 && i == 0 {
            "start"
        } else if n > 1 && i == n - 1 {
            "end"
        } else {
            "middle"
        };
        let x = match anchor {
            "start" => left + slot * i as f64,
            "end" => left + slot * (i + 1) as f64,
            _ => x,
        };
        w!(
            o,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"{anchor}\" font-size=\"11\">{}</text>",
            f1(x),
            f1(top + plot_h + 16.0),
            esc(&ot.starts[i])
        );
    }
    o.push("</svg><div class=\"legend\">");
    for (i, s) in ot.series.iter().enumerate() {
        w!(
            o,
            "<span><span class=\"swatch\" style=\"background:{}\"></span>{}</span>",
            color(i),
            esc(&s.stage)
        );
    }
    o.push("</div></section>\n");
}

/// Per stage, a histogram of completed stays.
fn time_in_stage(o: &mut Html, r: &Report) {
    let t = &r.time_in_stage;
    o.push("<section id=\"time-in-stage\"><h2>Time in stage</h2>");
    o.push("<table><thead><tr><th>stage</th><th class=\"n\">completed stays</th><th class=\"n\">median</th><th class=\"n\">p90</th><th class=\"n\">in stage now</th></tr></thead><tbody>");
    for s in &t.stages {
        w!(
            o,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(&s.stage),
            count(s.completed),
            esc(s.median.as_deref().unwrap_or("-")),
            esc(s.p90.as_deref().unwrap_or("-")),
            count(s.current)
        );
    }
    o.push("</tbody></table><div class=\"grid\">");
    let (width, height) = (300.0, 170.0);
    let (left, top, bottom) = (10.0, 18.0, 34.0);
    let plot_w = width - 2.0 * left;
    let plot_h = height - top - bottom;
    for (si, s) in t.stages.iter().enumerate() {
        if s.completed == 0 {
            continue;
        }
        let color_index = r
            .stages
            .iter()
            .position(|x| x.stage.name == s.stage)
            .unwrap_or(si);
        let max = s.histogram.iter().copied().max().unwrap_or(0).max(1);
        let k = s.histogram.len().max(1);
        let slot = plot_w / k as f64;
        w!(
            o,
            "<div><h3>{}: median {}, p90 {}</h3>",
            esc(&s.stage),
            esc(s.median.as_deref().unwrap_or("-")),
            esc(s.p90.as_deref().unwrap_or("-"))
        );
        w!(
            o,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"Time in {}\">",
            f1(width),
            f1(height),
            f1(width),
            f1(height),
            esc(&s.stage)
        );
        for (b, count) in s.histogram.iter().enumerate() {
            let h = plot_h * *count as f64 / max as f64;
            let x = left + slot * b as f64 + slot * 0.1;
            let label = t.buckets.get(b).map_or("", String::as_str);
            w!(
                o,
                "<rect class=\"hist-bar\" data-stage=\"{}\" data-bucket=\"{}\" data-count=\"{}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"/>",
                esc(&s.stage),
                esc(label),
                count,
                f1(x),
                f1(top + plot_h - h),
                f1(slot * 0.8),
                f1(h),
                color(color_index)
            );
            if *count > 0 {
                w!(
                    o,
                    "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"10\">{}</text>",
                    f1(x + slot * 0.4),
                    f1(top + plot_h - h - 3.0),
                    count
                );
            }
            w!(
                o,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"9\" transform=\"rotate(-35 {} {})\">{}</text>",
                f1(x + slot * 0.5),
                f1(top + plot_h + 12.0),
                f1(x + slot * 0.5),
                f1(top + plot_h + 12.0),
                esc(label)
            );
        }
        w!(
            o,
            "<line class=\"axis\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>",
            f1(left),
            f1(top + plot_h),
            f1(left + plot_w),
            f1(top + plot_h)
        );
        o.push("</svg></div>");
    }
    o.push("</div></section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_for_people() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(short(750), "750");
        assert_eq!(short(12_500), "12.5k");
        assert_eq!(short(1_000_000), "1M");
        assert_eq!(short(250_000), "250k");
    }

    #[test]
    fn round_gridlines() {
        assert_eq!(nice_step(51), 20);
        assert_eq!(nice_step(1_000_000), 250_000);
        assert_eq!(nice_step(8), 2);
        assert_eq!(nice_step(1), 1);
        assert_eq!(nice_step(13), 5);
    }
}
