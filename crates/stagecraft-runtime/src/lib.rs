//! The Stagecraft runtime: evaluates a checked playbook over a stream of
//! Segment-spec calls, on event time, deterministically.
//!
//! The engine never reads the wall clock. Feed it lines with
//! [`Engine::push_line`] (or in batches with [`Engine::push_lines`] and
//! [`Engine::push_reader`], which give the same outcomes faster), advance
//! time with [`Engine::advance_to`], release
//! buffered input with [`Engine::finish`], and snapshot or restore it at any
//! point. Outcomes go to a [`Sink`]. See `docs/semantics.md` for the
//! semantics, sentence by sentence.

pub mod compiled;
mod dedupe;
pub mod engine;
pub mod error;
pub mod ingest;
pub mod outcome;
mod prefetch;
pub mod render;
mod scan;
pub mod snapshot;
pub mod state;
pub mod summary;
pub mod symbols;
pub mod time;

pub use compiled::{BackendKind, Compiled};
pub use engine::{Config, Engine};
pub use error::RuntimeError;
pub use outcome::{
    DeadLetter, Observation, Outcome, OutcomeKind, Record, RecordSink, Sink, Status,
};
pub use snapshot::Snapshot;
pub use summary::Summary;
