//! `stagecraft fmt [--check] [--diff] FILE|DIR...`: the canonical layout.
//!
//! Exit codes (see `docs/fmt.md`): 0 when every file is (now) formatted; 1
//! when `--check`/`--diff` finds a file that would change, or a file cannot
//! be formatted (syntax errors, or the soundness check refused); 2 for usage
//! and I/O errors.

use std::io::Write;
use std::path::PathBuf;

use stagecraft::Source;

use super::{playbook_files, read_input, use_color};
use crate::exit::Exit;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Playbook files or directories (searched for `*.playbook`); `-` formats
    /// standard input to standard output.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Write nothing; list the files that would change and exit 1 if any.
    #[arg(long)]
    check: bool,
    /// Write nothing; print a unified diff of each file that would change
    /// and exit 1 if any.
    #[arg(long)]
    diff: bool,
}

enum Outcome {
    Unchanged,
    Changed,
}

pub fn run(args: Args) -> Exit {
    let stdin = args.files.iter().any(|f| f.as_os_str() == "-");
    if stdin && args.files.len() > 1 {
        eprintln!("error: `-` (standard input) cannot be combined with other files");
        return Exit::Usage;
    }
    let files = match playbook_files(&args.files) {
        Ok(files) => files,
        Err(error) => {
            eprintln!("error: cannot list playbooks: {error}");
            return Exit::Usage;
        }
    };
    let mut changed = 0usize;
    let mut failed = 0usize;
    for path in &files {
        let name = if stdin {
            "<stdin>".to_string()
        } else {
            path.display().to_string()
        };
        let text = match read_input(path) {
            Ok(text) => text,
            Err(error) => {
                eprintln!("error: cannot read `{name}`: {error}");
                return Exit::Usage;
            }
        };
        let formatted = match stagecraft_fmt::format(&text) {
            Ok(formatted) => formatted,
            Err(error) => {
                report(&name, &text, &error);
                failed += 1;
                continue;
            }
        };
        let outcome = if formatted == text {
            Outcome::Unchanged
        } else {
            Outcome::Changed
        };
        if args.diff {
            if matches!(outcome, Outcome::Changed) {
                print!("{}", stagecraft_fmt::unified_diff(&text, &formatted, &name));
            }
        } else if args.check {
            if matches!(outcome, Outcome::Changed) {
                println!("would reformat {name}");
            }
        } else if stdin {
            let mut out = std::io::stdout().lock();
            if let Err(error) = out
                .write_all(formatted.as_bytes())
                .and_then(|()| out.flush())
            {
                eprintln!("error: cannot write standard output: {error}");
                return Exit::Usage;
            }
        } else if matches!(outcome, Outcome::Changed) {
            if let Err(error) = std::fs::write(path, &formatted) {
                eprintln!("error: cannot write `{name}`: {error}");
                return Exit::Usage;
            }
            eprintln!("formatted {name}");
        }
        match outcome {
            Outcome::Changed => changed += 1,
            Outcome::Unchanged => {}
        }
    }
    if (args.check || args.diff) && !stdin {
        eprintln!(
            "{} file(s) checked: {} would be reformatted, {} could not be formatted",
            files.len(),
            changed,
            failed
        );
    }
    if failed > 0 || ((args.check || args.diff) && changed > 0) {
        Exit::Findings
    } else {
        Exit::Success
    }
}

fn report(name: &str, text: &str, error: &stagecraft_fmt::FormatError) {
    match error {
        stagecraft_fmt::FormatError::Syntax(_) => {
            if let Err((source, rejection)) = Source::new(name, text.to_string()).parse() {
                for rendered in rejection.render(name, &source.text, use_color()) {
                    eprint!("{rendered}");
                }
            }
            eprintln!("{name}: not formatted: {error}");
        }
        stagecraft_fmt::FormatError::Unsound(_) => eprintln!("error: {name}: {error}"),
    }
}
