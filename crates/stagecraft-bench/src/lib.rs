//! The W1 reference workload (`shared/bench/WORKLOAD.md`, semantics v2):
//! a deterministic stream generator ([`gen`]), a hand-written reference
//! implementation ([`reference`]), the Stagecraft runtime driven over the
//! same stream ([`engine`]), and what they share: action kinds, the
//! checksum, the output format and input reading ([`w1`]).
//!
//! The `w1` binary (`src/bin/w1.rs`) generates streams, runs one
//! implementation, or benches all of them against each other.

pub mod engine;
pub mod gen;
pub mod reference;
pub mod w1;

pub use w1::{Counts, Implementation};

/// Runs one implementation over a file, from opening it to the final counts.
pub fn run_file(implementation: Implementation, path: &std::path::Path) -> Result<Counts, String> {
    match implementation {
        Implementation::Reference => reference::run_file(path),
        Implementation::Interp | Implementation::Jit => {
            let prepared = engine::Prepared::new(implementation)?;
            prepared.run_file(path)
        }
    }
}
