//! `stagecraft graph FILE`: the stage diagram as Mermaid or Graphviz DOT.

use std::io::Write;
use std::path::PathBuf;

use clap::ValueEnum;
use stagecraft::Source;
use stagecraft_lint::graph::{render, GraphFormat};

use super::{read_input, use_color};
use crate::exit::Exit;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// A Mermaid flowchart (renders in GitHub, GitLab, Notion, ...).
    Mermaid,
    /// Graphviz DOT (`dot -Tsvg`).
    Dot,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The playbook (`-` reads standard input).
    file: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "mermaid")]
    format: Format,
    /// Write the diagram to FILE instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
}

pub fn run(args: Args) -> Exit {
    let name = args.file.display().to_string();
    let text = match read_input(&args.file) {
        Ok(text) => text,
        Err(error) => {
            eprintln!("error: cannot read `{name}`: {error}");
            return Exit::Usage;
        }
    };
    let checked = match Source::new(name.clone(), text).check() {
        Ok(checked) => checked,
        Err((source, rejection)) => {
            for text in rejection.render(&name, &source.text, use_color()) {
                eprint!("{text}");
            }
            eprintln!("{name}: {} error(s)", rejection.len());
            return Exit::Findings;
        }
    };
    let format = match args.format {
        Format::Mermaid => GraphFormat::Mermaid,
        Format::Dot => GraphFormat::Dot,
    };
    let diagram = render(&checked.ast, &checked.program, &checked.source.text, format);
    let written = match &args.output {
        Some(path) => std::fs::write(path, diagram.as_bytes()),
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(diagram.as_bytes()).and_then(|_| out.flush())
        }
    };
    match written {
        Ok(()) => Exit::Success,
        Err(error) => {
            eprintln!("error: cannot write the diagram: {error}");
            Exit::Usage
        }
    }
}
