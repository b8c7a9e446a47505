//! Stagecraft as a library: compile a playbook, then (with the runtime) run
//! it over account events.
//!
//! ```
//! use stagecraft::Source;
//! let text = r#"playbook "demo" { language 1; subject account }
//! stages { new initial, done terminal }
//! transition new -> done on "Finished"
//! event "Finished" {}"#;
//! let checked = Source::new("demo.playbook", text).check().expect("valid");
//! assert_eq!(checked.program.stages.len(), 2);
//! ```

pub mod diagnostics;
pub mod pipeline;
pub mod run;

pub use diagnostics::{Diagnostic, Severity};
pub use pipeline::{Backend, Checked, CompiledPlaybook, Parsed, Rejection, Source};
pub use run::{run, RunOptions, RunOutput};
pub use stagecraft_ir as ir;
pub use stagecraft_runtime as runtime;
pub use stagecraft_syntax as syntax;
