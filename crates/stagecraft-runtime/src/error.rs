//! Errors of the runtime's own operations (snapshots, configuration).
//! Problems with input lines are dead letters, not errors.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum RuntimeError {
    #[error("snapshot format version {found} is not supported (expected {expected})")]
    SnapshotVersion { found: u32, expected: u32 },
    #[error("snapshot was taken with playbook `{found}`, not `{expected}`")]
    SnapshotPlaybook { found: String, expected: String },
    #[error("snapshot was taken with a different version of playbook `{name}` (fingerprint {found}, expected {expected})")]
    SnapshotFingerprint {
        name: String,
        found: String,
        expected: String,
    },
    #[error("the new version of `{name}` keeps state differently ({what} changed); restart it from a fresh run instead")]
    IncompatibleVersion { name: String, what: &'static str },
    #[error("snapshot is not valid: {0}")]
    SnapshotFormat(#[from] serde_json::Error),
}
