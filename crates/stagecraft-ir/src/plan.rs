//! What a backend evaluates: a table of expressions and ordered guard lists.
//!
//! The runtime turns a [`Program`](crate::Program) into an [`EvalPlan`]; a
//! backend (the interpreter here, or the JIT) compiles the plan once and then
//! evaluates by id. A guard list is "the guards leaving a stage, in source
//! order": the backend returns the first that holds, which is what lets the
//! JIT compile one function per list instead of one per guard.

use serde::{Deserialize, Serialize};

use crate::eval::{eval, Frame};
use crate::expr::Expr;
use crate::value::Value;

pub type ExprId = u32;
pub type ListId = u32;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EvalPlan {
    pub exprs: Vec<Expr>,
    /// Each list holds expression ids, evaluated in order.
    pub lists: Vec<Vec<ExprId>>,
}

impl EvalPlan {
    pub fn add_expr(&mut self, expr: Expr) -> ExprId {
        self.exprs.push(expr);
        (self.exprs.len() - 1) as ExprId
    }

    pub fn add_list(&mut self, list: Vec<ExprId>) -> ListId {
        self.lists.push(list);
        (self.lists.len() - 1) as ListId
    }
}

/// The result of evaluating a guard list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FirstMatch {
    /// Position in the list of the first guard that is true.
    pub matched: Option<u32>,
    /// Whether a guard before the match (or any guard, when none matched)
    /// evaluated to an error. The caller finds which with the interpreter.
    pub errored: bool,
}

/// A backend: evaluates the expressions and guard lists of one plan.
pub trait Evaluator: Send + Sync + std::fmt::Debug {
    fn eval(&self, id: ExprId, frame: &Frame) -> Value;
    fn first_true(&self, list: ListId, frame: &Frame) -> FirstMatch;
    /// A short name for reports: `interp` or `jit`.
    fn name(&self) -> &'static str;
}

/// The reference backend.
#[derive(Debug, Clone)]
pub struct Interpreter {
    plan: EvalPlan,
}

impl Interpreter {
    pub fn new(plan: EvalPlan) -> Self {
        Interpreter { plan }
    }

    pub fn plan(&self) -> &EvalPlan {
        &self.plan
    }
}

impl Evaluator for Interpreter {
    fn eval(&self, id: ExprId, frame: &Frame) -> Value {
        match self.plan.exprs.get(id as usize) {
            Some(expr) => eval(expr, frame),
            None => Value::Missing,
        }
    }

    fn first_true(&self, list: ListId, frame: &Frame) -> FirstMatch {
        let mut result = FirstMatch::default();
        let Some(ids) = self.plan.lists.get(list as usize) else {
            return result;
        };
        for (position, id) in ids.iter().enumerate() {
            match self.eval(*id, frame) {
                Value::TRUE => {
                    result.matched = Some(position as u32);
                    return result;
                }
                Value::Err(_) => result.errored = true,
                _ => {}
            }
        }
        result
    }

    fn name(&self) -> &'static str {
        "interp"
    }
}
