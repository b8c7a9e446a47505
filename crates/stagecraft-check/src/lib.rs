//! Name resolution and type checking: turns a parsed [`Playbook`] into the
//! typed [`Program`] that the interpreter, the JIT and the runtime consume.
//!
//! ```
//! let source = r#"playbook "demo" { language 1; subject account }
//! event "Login" {}
//! metric logins = count "Login" over 7d
//! stages { new initial, active, gone terminal }
//! transition new -> active when logins >= 3"#;
//! let ast = stagecraft_syntax::parse(source).expect("parses");
//! let program = stagecraft_check::check(source, &ast).expect("checks");
//! assert_eq!(program.transitions.len(), 1);
//! ```

mod behaviour;
mod checker;
pub mod error;
mod suggest;
mod typing;

pub use error::CheckError;
use stagecraft_ir::Program;
use stagecraft_syntax::ast::Playbook;

/// Checks a parsed playbook. Every error in the file is reported.
pub fn check(source: &str, playbook: &Playbook) -> Result<Program, Vec<CheckError>> {
    checker::Checker::new(source, playbook).run()
}
