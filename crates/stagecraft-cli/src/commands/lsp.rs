//! `stagecraft lsp`: the language server, over standard input and output.
//! Editors start it; see `docs/editor.md`.
//!
//! The server publishes `stagecraft lint` findings with the checker's
//! diagnostics (with the `stagecraft.toml` found next to the playbook, as the
//! lint command reads it), and formats with `stagecraft fmt`.

use std::sync::Arc;

use stagecraft_lint::{Config, Settings};

use crate::exit::Exit;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Talk over standard input and output (the only transport, and the
    /// default; accepted because editor clients pass it).
    #[arg(long)]
    stdio: bool,
    /// Base URL of the diagnostic pages: a diagnostic links to
    /// `{URL}{CODE}.md`. Default: the `docs/diagnostics/` of the checkout a
    /// playbook is in, else the repository's.
    #[arg(long, value_name = "URL", env = "STAGECRAFT_DOCS_URL")]
    docs_url: Option<String>,
}

/// Lint findings for a playbook that checks, at the levels its
/// `stagecraft.toml` sets (defaults without one, or when it is invalid).
fn lint(checked: &stagecraft::Checked) -> Vec<stagecraft::Diagnostic> {
    let source = &checked.source;
    let config = stagecraft_lsp::document_path(&source.name)
        .and_then(|path| Config::discover(path.parent()?))
        .and_then(|file| Config::load(&file).ok());
    let settings = Settings::resolve(config.as_ref(), &Config::default());
    let report = stagecraft_lint::lint_source(&source.name, &source.text, &settings);
    if !report.checked {
        return Vec::new();
    }
    report
        .findings
        .iter()
        .map(|finding| finding.to_diagnostic(&source.text))
        .collect()
}

fn options(args: Args) -> stagecraft_lsp::Options {
    stagecraft_lsp::Options {
        lint: Some(Arc::new(lint)),
        format: Some(Arc::new(|text: &str| {
            stagecraft_fmt::format(text).map_err(|error| error.to_string())
        })),
        docs_url: args.docs_url,
    }
}

pub fn run(args: Args) -> Exit {
    let _ = args.stdio;
    match stagecraft_lsp::run_stdio(options(args)) {
        Ok(()) => Exit::Success,
        Err(error) => {
            eprintln!("error: stagecraft lsp: {error}");
            Exit::Usage
        }
    }
}
