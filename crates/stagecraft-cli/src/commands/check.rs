//! `stagecraft check FILE...`: parse and type-check playbooks.

use std::path::PathBuf;

use clap::ValueEnum;
use serde::Serialize;
use stagecraft::{Diagnostic, Source};

use super::{playbook_files, read_input, use_color};
use crate::exit::Exit;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Playbook files or directories (`-` reads standard input).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human", env = "STAGECRAFT_FORMAT")]
    format: Format,
}

#[derive(Debug, Serialize)]
struct FileReport {
    file: String,
    ok: bool,
    diagnostics: Vec<Diagnostic>,
}

pub fn run(args: Args) -> Exit {
    let files = match playbook_files(&args.files) {
        Ok(files) => files,
        Err(error) => {
            eprintln!("error: cannot list playbooks: {error}");
            return Exit::Usage;
        }
    };
    let mut exit = Exit::Success;
    let mut reports = Vec::new();
    for path in files {
        let name = path.display().to_string();
        let text = match read_input(&path) {
            Ok(text) => text,
            Err(error) => {
                eprintln!("error: cannot read `{name}`: {error}");
                return Exit::Usage;
            }
        };
        match Source::new(name.clone(), text).check() {
            Ok(_) => {
                if matches!(args.format, Format::Human) {
                    eprintln!("{name}: ok");
                }
                reports.push(FileReport {
                    file: name,
                    ok: true,
                    diagnostics: Vec::new(),
                });
            }
            Err((source, rejection)) => {
                exit = Exit::Findings;
                match args.format {
                    Format::Human => {
                        for text in rejection.render(&name, &source.text, use_color()) {
                            eprint!("{text}");
                        }
                        eprintln!("{name}: {} error(s)", rejection.len());
                    }
                    Format::Json => reports.push(FileReport {
                        file: name,
                        ok: false,
                        diagnostics: rejection.diagnostics(&source.text),
                    }),
                }
            }
        }
    }
    if matches!(args.format, Format::Json) {
        match serde_json::to_string_pretty(&reports) {
            Ok(json) => println!("{json}"),
            Err(error) => {
                eprintln!("error: cannot write JSON: {error}");
                return Exit::Usage;
            }
        }
    }
    exit
}
