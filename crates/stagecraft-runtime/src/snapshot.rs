//! Snapshots: the whole state of an engine as a versioned JSON document, so
//! a run can stop and resume with exactly the output of one run.

use serde::{Deserialize, Serialize};

use crate::compiled::Compiled;
use crate::engine::{Engine, EngineState};
use crate::error::RuntimeError;

/// Bumped whenever the layout of [`Snapshot`] changes.
pub const FORMAT_VERSION: u32 = 3;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Snapshot {
    pub format: u32,
    pub playbook: String,
    pub version: String,
    /// Identifies the compiled program: a snapshot only restores into the
    /// playbook it was taken from.
    pub fingerprint: String,
    pub(crate) engine: EngineState,
}

/// A hash of the checked program, so a snapshot of one playbook version is
/// never restored into another.
pub fn fingerprint(compiled: &Compiled) -> String {
    let text = serde_json::to_string(&*compiled.program).unwrap_or_default();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

impl Engine {
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            format: FORMAT_VERSION,
            playbook: self.program().name.clone(),
            version: self.program().version.clone(),
            fingerprint: fingerprint(self.compiled()),
            engine: self.state(),
        }
    }

    pub fn restore(compiled: Compiled, snapshot: Snapshot) -> Result<Engine, RuntimeError> {
        if snapshot.format != FORMAT_VERSION {
            return Err(RuntimeError::SnapshotVersion {
                found: snapshot.format,
                expected: FORMAT_VERSION,
            });
        }
        if snapshot.playbook != compiled.program.name {
            return Err(RuntimeError::SnapshotPlaybook {
                found: snapshot.playbook,
                expected: compiled.program.name.clone(),
            });
        }
        let expected = fingerprint(&compiled);
        if snapshot.fingerprint != expected {
            return Err(RuntimeError::SnapshotFingerprint {
                name: snapshot.playbook,
                found: snapshot.fingerprint,
                expected,
            });
        }
        Ok(Engine::from_state(compiled, snapshot.engine))
    }
}

impl Snapshot {
    pub fn to_json(&self) -> Result<String, RuntimeError> {
        Ok(serde_json::to_string(self)?)
    }

    pub fn from_json(text: &str) -> Result<Snapshot, RuntimeError> {
        Ok(serde_json::from_str(text)?)
    }
}
