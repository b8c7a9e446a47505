//! The Stagecraft language server: `stagecraft lsp` speaks the Language
//! Server Protocol over standard input and output.
//!
//! - diagnostics from the checker (and a linter, when one is installed with
//!   [`Options::lint`]) as the document changes, each with its code, a link
//!   to its page under `docs/diagnostics/` and the other labels as related
//!   information;
//! - hover: a declaration as written with its type (a score with its
//!   components, labels and weights), one line of documentation for keywords
//!   and built-in functions;
//! - go to definition from any name, event string or stage to its
//!   declaration;
//! - completion of declared names, keywords and built-ins;
//! - document symbols;
//! - formatting, when a formatter is installed with [`Options::format`].
//!
//! Positions are converted between byte offsets and UTF-16 code units. While
//! a document has errors, hover and definitions use what error recovery keeps
//! of it and, for the rest, the last version of it that checked.
//!
//! ```
//! use lsp_server::Connection;
//! let (server, client) = Connection::memory();
//! let thread = std::thread::spawn(move || stagecraft_lsp::serve(server, Default::default()));
//! # drop(client);
//! # let _ = thread.join();
//! ```

use std::sync::Arc;

use lsp_server::Connection;
use stagecraft::{Checked, Diagnostic};

mod analysis;
mod completion;
mod docs;
mod hover;
mod index;
mod line_index;
mod nav;
mod server;
mod symbols;

pub use line_index::LineIndex;

/// A linter: the findings for a playbook that checks. Its diagnostics are
/// published after the checker's (which a playbook that checks has none of).
pub type LintFn = Arc<dyn Fn(&Checked) -> Vec<Diagnostic> + Send + Sync>;

/// A formatter: the formatted text, or why the text cannot be formatted.
pub type FormatFn = Arc<dyn Fn(&str) -> Result<String, String> + Send + Sync>;

/// The repository's page for each diagnostic code: `{url}{CODE}.md`.
pub const DEFAULT_DOCS_URL: &str =
    concat!(env!("CARGO_PKG_REPOSITORY"), "/blob/main/docs/diagnostics/");

/// What the server can do beyond checking: extension points for the lint and
/// format commands, which live in their own crates.
#[derive(Clone, Default)]
pub struct Options {
    /// Lints a playbook that checks (the `stagecraft lint` rules).
    pub lint: Option<LintFn>,
    /// Formats a playbook (`stagecraft fmt`); without it the server does not
    /// offer formatting.
    pub format: Option<FormatFn>,
    /// Where diagnostic pages are: `{docs_url}SC0101.md`. Without it (and
    /// without the client's `initializationOptions.diagnosticsDocsUrl`), a
    /// playbook inside a checkout links to the checkout's
    /// `docs/diagnostics/`, any other to [`DEFAULT_DOCS_URL`].
    pub docs_url: Option<String>,
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("lint", &self.lint.is_some())
            .field("format", &self.format.is_some())
            .field("docs_url", &self.docs_url)
            .finish()
    }
}

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// The local path of a document, from its `file:` URI (a hook's
/// `Checked::source.name`), for hooks that read configuration next to it.
pub fn document_path(uri: &str) -> Option<std::path::PathBuf> {
    server::file_path(uri)
}

/// Runs the server over a connection until the client shuts it down (or the
/// connection closes).
pub fn serve(connection: Connection, options: Options) -> Result<(), Error> {
    server::Server::run(connection, options)
}

/// Runs the server over standard input and output.
pub fn run_stdio(options: Options) -> Result<(), Error> {
    let (connection, io_threads) = Connection::stdio();
    serve(connection, options)?;
    io_threads.join()?;
    Ok(())
}
