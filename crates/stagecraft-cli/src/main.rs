//! `stagecraft`: the command-line interface.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod commands;
mod exit;

use exit::Exit;

#[derive(Debug, Parser)]
#[command(
    name = "stagecraft",
    version,
    about = "Compile and run customer-lifecycle playbooks"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Parse and type-check playbooks.
    Check(commands::check::Args),
    /// Run a playbook over an NDJSON event stream.
    Run(commands::run::Args),
    /// Format playbooks in the canonical layout (comments kept).
    Fmt(commands::fmt::Args),
    /// Run the playbook tests next to playbooks, with coverage.
    Test(commands::test::Args),
    /// Find bugs in playbooks: dead stages, transitions and rules, shadowing,
    /// cycles, unused declarations (human, JSON, SARIF, GitHub, JUnit).
    Lint(commands::lint::Args),
    /// Draw the stage diagram (Mermaid or Graphviz DOT).
    Graph(commands::graph::Args),
    /// Lifecycle figures over a run's outcomes (table, JSON, CSV, HTML).
    Report(commands::report::Args),
    /// Why one account is where it is: its timeline, clause by clause.
    Explain(commands::explain::Args),
    /// Replay history through two playbook versions and diff the outcomes.
    Backtest(commands::backtest::Args),
    /// Language server over stdio, for editors (see docs/editor.md).
    Lsp(commands::lsp::Args),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let code = if error.use_stderr() {
                Exit::Usage
            } else {
                Exit::Success
            };
            let _ = error.print();
            return code.into();
        }
    };
    let exit = match cli.command {
        Command::Check(args) => commands::check::run(args),
        Command::Run(args) => commands::run::run(args),
        Command::Fmt(args) => commands::fmt::run(args),
        Command::Test(args) => commands::test::run(args),
        Command::Lint(args) => commands::lint::run(args),
        Command::Graph(args) => commands::graph::run(args),
        Command::Report(args) => commands::report::run(args),
        Command::Explain(args) => commands::explain::run(args),
        Command::Backtest(args) => commands::backtest::run(args),
        Command::Lsp(args) => commands::lsp::run(args),
    };
    exit.into()
}
