//! The syntax of Stagecraft playbooks: a logos lexer that keeps every token
//! (comments included), the pest grammar in `grammar/playbook.pest`, and the
//! AST the rest of the pipeline consumes.
//!
//! ```
//! let source = r#"playbook "demo" { language 1; subject account }
//! stages { new initial, done terminal }
//! transition new -> done on "Finished""#;
//! let playbook = stagecraft_syntax::parse(source).expect("valid playbook");
//! assert_eq!(playbook.items.len(), 2);
//! ```

pub mod ast;
pub mod error;
pub mod lexer;
pub mod parser;
pub mod span;

pub use error::SyntaxError;
pub use parser::parse;
pub use span::Span;
