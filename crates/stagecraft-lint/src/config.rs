//! Configuration: `stagecraft.toml` and command-line overrides.
//!
//! ```toml
//! [lint]
//! fail-level = "warning"          # error | warning | info
//!
//! [lint.rules]
//! SC1005 = "off"                  # off | info | warning | error
//! unused-trait = "info"           # rule names work too
//! ```
//!
//! Precedence, highest first: an inline `# stagecraft: ignore[...]`
//! comment, `--rule CODE=LEVEL` on the command line, the config file, the
//! rule's default.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::finding::Level;
use crate::rule::{lookup, registry};

/// The name searched for from a playbook's directory upwards.
pub const FILE_NAME: &str = "stagecraft.toml";

/// The default fail level.
pub const DEFAULT_FAIL_LEVEL: Level = Level::Warning;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read `{path}`: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("`{path}` is not valid: {message}")]
    Invalid { path: String, message: String },
}

/// What a config file (or the command line) sets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    pub fail_level: Option<Level>,
    /// Rule code → level.
    pub rules: BTreeMap<String, Level>,
    /// Where it was read from, for messages.
    pub path: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
struct File {
    lint: Option<LintTable>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LintTable {
    #[serde(rename = "fail-level")]
    fail_level: Option<String>,
    rules: Option<BTreeMap<String, String>>,
}

impl Config {
    /// Parses the text of a `stagecraft.toml` (other tables are ignored).
    pub fn parse(text: &str, path: &str) -> Result<Config, ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            path: path.to_string(),
            message,
        };
        let file: File = toml::from_str(text).map_err(|e| invalid(e.message().to_string()))?;
        let mut config = Config {
            path: Some(PathBuf::from(path)),
            ..Config::default()
        };
        let Some(lint) = file.lint else {
            return Ok(config);
        };
        if let Some(level) = lint.fail_level {
            config.fail_level = Some(parse_fail_level(&level).map_err(invalid)?);
        }
        for (key, value) in lint.rules.unwrap_or_default() {
            let (code, level) = parse_rule_setting(&key, &value).map_err(invalid)?;
            config.rules.insert(code, level);
        }
        Ok(config)
    }

    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: path.display().to_string(),
            error,
        })?;
        Config::parse(&text, &path.display().to_string())
    }

    /// The `stagecraft.toml` in `dir` or the nearest directory above it.
    pub fn discover(dir: &Path) -> Option<PathBuf> {
        let mut at = Some(dir);
        while let Some(d) = at {
            let candidate = d.join(FILE_NAME);
            if candidate.is_file() {
                return Some(candidate);
            }
            at = d.parent();
        }
        None
    }
}

pub fn parse_fail_level(text: &str) -> Result<Level, String> {
    match Level::parse(text) {
        Some(Level::Off) | None => Err(format!(
            "`{text}` is not a fail level: use `error`, `warning` or `info`"
        )),
        Some(level) => Ok(level),
    }
}

/// `SC1004` / `shadowed-transition` and `off`/`info`/`warning`/`error`.
pub fn parse_rule_setting(key: &str, value: &str) -> Result<(String, Level), String> {
    let rule = lookup(key).ok_or_else(|| {
        format!("`{key}` is not a lint rule: use a code such as `SC1001` or a name such as `unreachable-stage`")
    })?;
    let level = Level::parse(value).ok_or_else(|| {
        format!("`{value}` is not a level for `{key}`: use `off`, `info`, `warning` or `error`")
    })?;
    Ok((rule.code().to_string(), level))
}

/// `--rule SC1004=off`.
pub fn parse_rule_flag(flag: &str) -> Result<(String, Level), String> {
    let (key, value) = flag
        .split_once('=')
        .ok_or_else(|| format!("`{flag}` is not `CODE=LEVEL` (e.g. `SC1005=off`)"))?;
    parse_rule_setting(key.trim(), value.trim())
}

/// The effective settings for one file: defaults, then the config file,
/// then the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub fail_level: Level,
    pub levels: BTreeMap<String, Level>,
}

impl Settings {
    pub fn resolve(file: Option<&Config>, cli: &Config) -> Settings {
        let mut levels: BTreeMap<String, Level> = registry()
            .iter()
            .map(|r| (r.code().to_string(), r.default_level()))
            .collect();
        for config in [file, Some(cli)].into_iter().flatten() {
            for (code, level) in &config.rules {
                levels.insert(code.clone(), *level);
            }
        }
        let fail_level = cli
            .fail_level
            .or(file.and_then(|f| f.fail_level))
            .unwrap_or(DEFAULT_FAIL_LEVEL);
        Settings { fail_level, levels }
    }

    /// The level of a rule (parse and check errors are always errors).
    pub fn level(&self, code: &str) -> Level {
        self.levels.get(code).copied().unwrap_or(Level::Error)
    }
}

impl Default for Settings {
    fn default() -> Settings {
        Settings::resolve(None, &Config::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_levels_by_code_and_name() {
        let c = Config::parse(
            "[lint]\nfail-level = \"error\"\n[lint.rules]\nSC1005 = \"off\"\nunused-trait = \"info\"\n[other]\nx = 1\n",
            "stagecraft.toml",
        )
        .expect("valid");
        assert_eq!(c.fail_level, Some(Level::Error));
        assert_eq!(c.rules.get("SC1005"), Some(&Level::Off));
        assert_eq!(c.rules.get("SC1012"), Some(&Level::Info));
    }

    #[test]
    fn rejects_unknown_rules_and_levels() {
        assert!(Config::parse("[lint.rules]\nSC9999 = \"off\"\n", "x").is_err());
        assert!(Config::parse("[lint.rules]\nSC1001 = \"loud\"\n", "x").is_err());
        assert!(Config::parse("[lint]\nfail-levle = \"error\"\n", "x").is_err());
    }

    #[test]
    fn command_line_wins_over_the_file() {
        let file = Config::parse(
            "[lint]\nfail-level = \"info\"\n[lint.rules]\nSC1001 = \"off\"\n",
            "x",
        )
        .expect("valid");
        let mut cli = Config::default();
        cli.rules.insert("SC1001".into(), Level::Error);
        let s = Settings::resolve(Some(&file), &cli);
        assert_eq!(s.level("SC1001"), Level::Error);
        assert_eq!(s.fail_level, Level::Info);
    }
}
