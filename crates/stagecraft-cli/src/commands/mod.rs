//! One module per subcommand.

pub mod backtest;
pub mod check;
pub mod explain;
pub mod fmt;
pub mod graph;
pub mod lint;
pub mod lsp;
pub mod report;
pub mod run;
pub mod test;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// Reads a file, or standard input for `-`.
pub fn read_input(path: &Path) -> std::io::Result<String> {
    if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())
    } else {
        std::fs::read_to_string(path)
    }
}

/// Expands directories into the `.playbook` files below them, sorted.
pub fn playbook_files(paths: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found = Vec::new();
            collect(path, &mut found)?;
            found.sort();
            out.extend(found);
        } else {
            out.push(path.clone());
        }
    }
    Ok(out)
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "playbook") {
            out.push(path);
        }
    }
    Ok(())
}

/// Whether to colour human output: only on a terminal, never under NO_COLOR.
pub fn use_color() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// The `--backend` flag.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Backend {
    /// The reference interpreter.
    Interp,
    /// Cranelift native code (falls back to the interpreter where
    /// unsupported, with a note on stderr).
    Jit,
}

/// Reads, checks and compiles a playbook, printing its diagnostics when it
/// has errors.
pub fn load_playbook(path: &Path, backend: Backend) -> Option<stagecraft::runtime::Compiled> {
    let name = path.display().to_string();
    let text = match read_input(path) {
        Ok(text) => text,
        Err(error) => {
            eprintln!("error: cannot read `{name}`: {error}");
            return None;
        }
    };
    match stagecraft::Source::new(name.clone(), text).check() {
        Ok(checked) => {
            let backend = match backend {
                Backend::Interp => stagecraft::Backend::Interpreter,
                Backend::Jit => stagecraft::Backend::Jit,
            };
            let compiled = checked.compile(backend);
            if let Some(why) = compiled.fallback {
                eprintln!("note: using the interpreter: {why}");
            }
            Some(compiled.compiled)
        }
        Err((source, rejection)) => {
            for text in rejection.render(&name, &source.text, use_color()) {
                eprint!("{text}");
            }
            eprintln!("{name}: {} error(s)", rejection.len());
            None
        }
    }
}

/// A file, or standard output for `-`.
pub fn open_output(path: &Path) -> std::io::Result<Box<dyn std::io::Write>> {
    if path.as_os_str() == "-" {
        Ok(Box::new(std::io::BufWriter::new(std::io::stdout().lock())))
    } else {
        Ok(Box::new(std::io::BufWriter::with_capacity(
            1 << 20,
            std::fs::File::create(path)?,
        )))
    }
}

/// Writes a whole text to a file or standard output; a failure is reported
/// and is a usage error.
pub fn write_output(path: &Path, text: &str) -> Result<(), crate::exit::Exit> {
    let written = open_output(path).and_then(|mut out| {
        out.write_all(text.as_bytes())?;
        out.flush()
    });
    written.map_err(|e| {
        eprintln!("error: cannot write `{}`: {e}", path.display());
        crate::exit::Exit::Usage
    })
}

/// The end-of-run summary: every input line in one category, transitions,
/// actions by status.
pub fn summary_table(engine: &stagecraft::runtime::Engine) -> String {
    let s = engine.summary();
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_BORDERS_ONLY);
    table.set_header(vec!["", "count"]);
    let mut row = |name: String, n: u64| {
        table.add_row(vec![name, n.to_string()]);
    };
    row("lines".into(), s.lines);
    row("  events (track/page/screen)".into(), s.events);
    row("  trait updates (group/identify)".into(), s.trait_updates);
    row("  manual requests".into(), s.manual_requests);
    row("  duplicates (messageId)".into(), s.duplicates);
    row("  unknown events".into(), s.unknown_event_count());
    row("  ignored".into(), s.ignored_count());
    row("  dead letters".into(), s.dead_letter_count());
    row("  blank".into(), s.blank_lines);
    for (category, n) in &s.dead_letters {
        row(format!("    dead: {category}"), *n);
    }
    row("subjects".into(), s.subjects);
    row("transitions".into(), s.transitions);
    row("manual transitions".into(), s.manual_transitions);
    row("manual rejected".into(), s.manual_rejected);
    row("milestones missed".into(), s.milestones_missed);
    for (status, n) in &s.actions {
        row(format!("actions {}", status.as_str()), *n);
    }
    row("errors".into(), s.errors);
    row("cycles".into(), s.cycles);
    table.to_string()
}
