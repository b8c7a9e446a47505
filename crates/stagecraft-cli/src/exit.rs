//! Exit codes, documented in `docs/cli.md`.

use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything checked clean / the run completed.
    Success = 0,
    /// Findings: a playbook has errors (or lint findings at the fail level,
    /// or failing playbook tests).
    Findings = 1,
    /// Usage or I/O error: a file could not be read or written, bad flags.
    Usage = 2,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit as u8)
    }
}
