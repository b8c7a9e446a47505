//! `stagecraft graph`: the stage diagram as Mermaid or Graphviz DOT.
//!
//! Stages appear in declared order (the initial one marked with an entry
//! arrow and a rounded/stadium shape, terminal ones with a double border).
//! Automatic transitions are solid edges labelled with their trigger and
//! condition as written (`for SEGMENT` appended); manual moves are dashed
//! edges labelled with the roles allowed to make them; backward and
//! reactivation moves are marked `↺` and drawn in grey.

use stagecraft_ir::Program;
use stagecraft_syntax::ast::{Item, Playbook};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphFormat {
    Mermaid,
    Dot,
}

/// One edge of the diagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    pub from: u32,
    pub to: u32,
    pub label: String,
    pub manual: bool,
    pub backward: bool,
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The edges, automatic transitions first (in source order), then manual
/// moves.
pub fn edges(ast: &Playbook, program: &Program, source: &str) -> Vec<Edge> {
    let ast_transitions: Vec<_> = ast
        .items
        .iter()
        .filter_map(|i| match i {
            Item::Transition(t) => Some(t),
            _ => None,
        })
        .collect();
    let mut out = Vec::new();
    for (i, t) in program.transitions.iter().enumerate() {
        let label = match ast_transitions
            .get(i)
            .filter(|_| ast_transitions.len() == program.transitions.len())
        {
            Some(decl) => {
                let span = decl.trigger.span();
                let mut text = collapse(source.get(span.start..span.end).unwrap_or(""));
                if let Some(seg) = &decl.segment {
                    text.push_str(&format!(" for {}", seg.name));
                }
                text
            }
            None => collapse(&t.source),
        };
        for &from in &t.from {
            out.push(Edge {
                from,
                to: t.to,
                label: label.clone(),
                manual: false,
                backward: t.backward,
            });
        }
    }
    for m in &program.manual {
        let mut label = format!("manual: {}", m.roles.join(", "));
        if !m.override_roles.is_empty() {
            label.push_str(&format!(" (override: {})", m.override_roles.join(", ")));
        }
        if m.requires_reason {
            label.push_str(", reason required");
        }
        for &from in &m.from {
            out.push(Edge {
                from,
                to: m.to,
                label: label.clone(),
                manual: true,
                backward: m.backward,
            });
        }
    }
    out
}

pub fn render(ast: &Playbook, program: &Program, source: &str, format: GraphFormat) -> String {
    let edges = edges(ast, program, source);
    match format {
        GraphFormat::Mermaid => mermaid(program, &edges),
        GraphFormat::Dot => dot(program, &edges),
    }
}

fn stage_label(program: &Program, s: usize) -> String {
    let stage = &program.stages[s];
    stage.label.clone().unwrap_or_else(|| stage.name.clone())
}

/// Text inside a Mermaid `"..."` string.
fn mermaid_text(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '#' => out.push_str("#35;"),
            '|' => out.push_str("#124;"),
            c => out.push(c),
        }
    }
    out
}

fn mermaid(program: &Program, edges: &[Edge]) -> String {
    let mut out = String::new();
    out.push_str("flowchart LR\n");
    out.push_str(&format!(
        "  %% stage diagram of playbook \"{}\"\n",
        program.name.replace('\n', " ")
    ));
    out.push_str("  start((\" \")) --> s");
    out.push_str(&program.initial_stage().to_string());
    out.push('\n');
    for (i, stage) in program.stages.iter().enumerate() {
        let label = mermaid_text(&stage_label(program, i));
        let node = if stage.initial {
            format!("s{i}([\"{label}\"])")
        } else if stage.terminal {
            format!("s{i}(((\"{label}\")))")
        } else {
            format!("s{i}[\"{label}\"]")
        };
        out.push_str(&format!("  {node}\n"));
    }
    let mut backward_links = Vec::new();
    for (n, e) in edges.iter().enumerate() {
        let mut label = e.label.clone();
        if e.backward {
            label = format!("↺ {label}");
            backward_links.push(n);
        }
        let arrow = if e.manual { "-.->" } else { "-->" };
        out.push_str(&format!(
            "  s{} {arrow}|\"{}\"| s{}\n",
            e.from,
            mermaid_text(&label),
            e.to
        ));
    }
    // Link 0 is the entry arrow.
    for n in backward_links {
        out.push_str(&format!("  linkStyle {} stroke:#888888\n", n + 1));
    }
    out
}

fn dot_text(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn dot(program: &Program, edges: &[Edge]) -> String {
    let mut out = String::new();
    out.push_str(&format!("digraph \"{}\" {{\n", dot_text(&program.name)));
    out.push_str("  rankdir=LR;\n");
    out.push_str("  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n");
    out.push_str("  edge [fontname=\"Helvetica\", fontsize=10];\n");
    out.push_str("  start [shape=point, width=0.15, label=\"\"];\n");
    out.push_str(&format!("  start -> s{};\n", program.initial_stage()));
    for (i, stage) in program.stages.iter().enumerate() {
        let mut attrs = vec![format!("label=\"{}\"", dot_text(&stage_label(program, i)))];
        if stage.initial {
            attrs.push("style=\"rounded,bold\"".into());
        }
        if stage.terminal {
            attrs.push("peripheries=2".into());
        }
        out.push_str(&format!("  s{i} [{}];\n", attrs.join(", ")));
    }
    for e in edges {
        let mut label = e.label.clone();
        let mut attrs = Vec::new();
        if e.backward {
            label = format!("↺ {label}");
            attrs.push("color=\"gray50\"".to_string());
            attrs.push("fontcolor=\"gray40\"".to_string());
            attrs.push("constraint=false".to_string());
        }
        if e.manual {
            attrs.push("style=dashed".to_string());
        }
        attrs.insert(0, format!("label=\"{}\"", dot_text(&label)));
        out.push_str(&format!(
            "  s{} -> s{} [{}];\n",
            e.from,
            e.to,
            attrs.join(", ")
        ));
    }
    out.push_str("}\n");
    out
}
