//! The pipeline as types: a [`Source`] is parsed into a [`Parsed`] playbook,
//! which is checked into a [`Checked`] one. No step can be skipped.

use std::sync::Arc;

use stagecraft_check::CheckError;
use stagecraft_ir::Program;
use stagecraft_runtime::Compiled;
use stagecraft_syntax::ast::Playbook;
use stagecraft_syntax::SyntaxError;

use crate::diagnostics::{self, Diagnostic, Severity};

/// A playbook's text and the name it is reported under.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub text: Arc<str>,
}

/// Why a playbook was rejected: every syntax error, or every check error.
#[derive(Debug, Clone)]
pub enum Rejection {
    Syntax(Vec<SyntaxError>),
    Check(Vec<CheckError>),
}

#[derive(Debug, Clone)]
pub struct Parsed {
    pub source: Source,
    pub ast: Playbook,
}

#[derive(Debug, Clone)]
pub struct Checked {
    pub source: Source,
    pub ast: Playbook,
    pub program: Arc<Program>,
}

impl Source {
    pub fn new(name: impl Into<String>, text: impl Into<Arc<str>>) -> Source {
        Source {
            name: name.into(),
            text: text.into(),
        }
    }

    pub fn parse(self) -> Result<Parsed, (Source, Rejection)> {
        match stagecraft_syntax::parse(&self.text) {
            Ok(ast) => Ok(Parsed { source: self, ast }),
            Err(errors) => Err((self, Rejection::Syntax(errors))),
        }
    }

    /// Parses and checks.
    pub fn check(self) -> Result<Checked, (Source, Rejection)> {
        self.parse()?.check()
    }
}

impl Parsed {
    pub fn check(self) -> Result<Checked, (Source, Rejection)> {
        match stagecraft_check::check(&self.source.text, &self.ast) {
            Ok(program) => Ok(Checked {
                source: self.source,
                ast: self.ast,
                program: Arc::new(program),
            }),
            Err(errors) => Err((self.source, Rejection::Check(errors))),
        }
    }
}

impl Rejection {
    /// The errors as data, in source order.
    pub fn diagnostics(&self, source: &str) -> Vec<Diagnostic> {
        let mut out: Vec<Diagnostic> = match self {
            Rejection::Syntax(errors) => errors
                .iter()
                .map(|e| Diagnostic::from_miette(e, Severity::Error, source))
                .collect(),
            Rejection::Check(errors) => errors
                .iter()
                .map(|e| Diagnostic::from_miette(e, Severity::Error, source))
                .collect(),
        };
        out.sort_by_key(|d| d.labels.first().map_or(0, |l| l.offset));
        out
    }

    /// The errors rendered for a person, in source order.
    pub fn render(&self, file_name: &str, source: &str, color: bool) -> Vec<String> {
        let mut rendered: Vec<(usize, String)> = match self {
            Rejection::Syntax(errors) => errors
                .iter()
                .map(|e| {
                    (
                        e.span().start,
                        diagnostics::render(e, file_name, source, color),
                    )
                })
                .collect(),
            Rejection::Check(errors) => errors
                .iter()
                .map(|e| {
                    let offset = miette::Diagnostic::labels(e)
                        .and_then(|mut l| l.next())
                        .map_or(0, |l| l.offset());
                    (offset, diagnostics::render(e, file_name, source, color))
                })
                .collect(),
        };
        rendered.sort_by_key(|(offset, _)| *offset);
        rendered.into_iter().map(|(_, text)| text).collect()
    }

    pub fn len(&self) -> usize {
        match self {
            Rejection::Syntax(e) => e.len(),
            Rejection::Check(e) => e.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Which backend evaluates a playbook's conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The reference interpreter.
    Interpreter,
    /// Native code from Cranelift, where the host supports it; otherwise
    /// the interpreter.
    Jit,
}

/// A compiled playbook and, when the JIT was asked for but not used, why.
#[derive(Debug, Clone)]
pub struct CompiledPlaybook {
    pub compiled: Compiled,
    pub fallback: Option<String>,
}

impl Checked {
    /// Compiles the checked playbook for the runtime.
    pub fn compile(&self, backend: Backend) -> CompiledPlaybook {
        let program = self.program.clone();
        match backend {
            Backend::Interpreter => CompiledPlaybook {
                compiled: Compiled::interpreted(program),
                fallback: None,
            },
            Backend::Jit => jit(program),
        }
    }
}

#[cfg(feature = "jit")]
fn jit(program: Arc<Program>) -> CompiledPlaybook {
    if !stagecraft_jit::host_supported() {
        return CompiledPlaybook {
            compiled: Compiled::interpreted(program),
            fallback: Some("the JIT does not support this host".into()),
        };
    }
    match Compiled::with_backend(program.clone(), stagecraft_jit::JitEvaluator::compile) {
        Ok(compiled) => CompiledPlaybook {
            compiled,
            fallback: None,
        },
        Err(error) => CompiledPlaybook {
            compiled: Compiled::interpreted(program),
            fallback: Some(format!("the JIT could not compile this playbook: {error}")),
        },
    }
}

#[cfg(not(feature = "jit"))]
fn jit(program: Arc<Program>) -> CompiledPlaybook {
    CompiledPlaybook {
        compiled: Compiled::interpreted(program),
        fallback: Some("built without the `jit` feature".into()),
    }
}
