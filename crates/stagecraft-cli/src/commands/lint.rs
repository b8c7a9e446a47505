//! `stagecraft lint FILE|DIR...`: static analysis of playbooks, with CI
//! output formats. See `docs/lint.md`.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::ValueEnum;
use stagecraft_lint::config::{parse_fail_level, parse_rule_flag, Config};
use stagecraft_lint::output::{self, Format as OutputFormat};
use stagecraft_lint::{lint_source, Settings};

use super::{playbook_files, read_input, use_color};
use crate::exit::Exit;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// Rendered findings with source excerpts.
    Human,
    /// One JSON array: `[{file, ok, diagnostics, suppressed}]`.
    Json,
    /// SARIF 2.1.0 (code scanning).
    Sarif,
    /// GitHub Actions workflow commands (annotations).
    Github,
    /// JUnit XML: one test case per file.
    Junit,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FailLevel {
    Error,
    Warning,
    Info,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Playbook files or directories (searched for `*.playbook`; `-` reads
    /// standard input).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// Exit with 1 when a finding is at or above this level (default:
    /// `warning`, or `[lint] fail-level` of the config file).
    #[arg(long, value_enum)]
    fail_level: Option<FailLevel>,
    /// Set a rule's level: `SC1005=off`, `unused-trait=error` (repeatable;
    /// overrides the config file).
    #[arg(long = "rule", value_name = "CODE=LEVEL")]
    rules: Vec<String>,
    /// Use this config file instead of the `stagecraft.toml` found from each
    /// playbook's directory upwards.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
}

pub fn run(args: Args) -> Exit {
    let mut cli = Config::default();
    for flag in &args.rules {
        match parse_rule_flag(flag) {
            Ok((code, level)) => {
                cli.rules.insert(code, level);
            }
            Err(message) => {
                eprintln!("error: --rule {message}");
                return Exit::Usage;
            }
        }
    }
    if let Some(level) = args.fail_level {
        let text = match level {
            FailLevel::Error => "error",
            FailLevel::Warning => "warning",
            FailLevel::Info => "info",
        };
        cli.fail_level = parse_fail_level(text).ok();
    }
    let explicit = match &args.config {
        Some(path) => match Config::load(path) {
            Ok(c) => Some(c),
            Err(error) => {
                eprintln!("error: {error}");
                return Exit::Usage;
            }
        },
        None => None,
    };
    let files = match playbook_files(&args.files) {
        Ok(files) => files,
        Err(error) => {
            eprintln!("error: cannot list playbooks: {error}");
            return Exit::Usage;
        }
    };
    if files.is_empty() {
        eprintln!("error: no `.playbook` files found");
        return Exit::Usage;
    }
    let mut discovered: HashMap<PathBuf, Option<Config>> = HashMap::new();
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
        let file_config = match &explicit {
            Some(c) => Some(c.clone()),
            None => match config_for(&path, &mut discovered) {
                Ok(c) => c,
                Err(error) => {
                    eprintln!("error: {error}");
                    return Exit::Usage;
                }
            },
        };
        let settings = Settings::resolve(file_config.as_ref(), &cli);
        reports.push(lint_source(&name, &text, &settings));
    }
    let format = match args.format {
        Format::Human => OutputFormat::Human,
        Format::Json => OutputFormat::Json,
        Format::Sarif => OutputFormat::Sarif,
        Format::Github => OutputFormat::Github,
        Format::Junit => OutputFormat::Junit,
    };
    let color = args.output.is_none() && matches!(format, OutputFormat::Human) && use_color();
    let text = output::render(format, &reports, color);
    let written = match &args.output {
        Some(path) => std::fs::write(path, text.as_bytes()),
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes()).and_then(|_| out.flush())
        }
    };
    if let Err(error) = written {
        eprintln!("error: cannot write the report: {error}");
        return Exit::Usage;
    }
    if reports.iter().any(|r| r.fails()) {
        Exit::Findings
    } else {
        Exit::Success
    }
}

/// The config file that applies to a playbook (cached per directory).
fn config_for(
    path: &Path,
    cache: &mut HashMap<PathBuf, Option<Config>>,
) -> Result<Option<Config>, stagecraft_lint::config::ConfigError> {
    let dir = if path.as_os_str() == "-" {
        std::env::current_dir().unwrap_or_default()
    } else {
        let parent = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let parent = if parent.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            parent
        };
        parent.canonicalize().unwrap_or(parent)
    };
    if let Some(c) = cache.get(&dir) {
        return Ok(c.clone());
    }
    let config = match Config::discover(&dir) {
        Some(file) => Some(Config::load(&file)?),
        None => None,
    };
    cache.insert(dir, config.clone());
    Ok(config)
}
