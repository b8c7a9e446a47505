//! `stagecraft lsp`: the language server, over standard input and output.
//! Editors start it; see `docs/editor.md`.

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

/// The server's options: where the lint and format commands plug in.
fn options(args: Args) -> stagecraft_lsp::Options {
    stagecraft_lsp::Options {
        // Extension points: `lint: Some(Arc::new(|checked| ...))` publishes
        // lint findings after the checker's; `format: Some(Arc::new(|text|
        // ...))` turns on `textDocument/formatting`.
        lint: None,
        format: None,
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
