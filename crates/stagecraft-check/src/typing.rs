//! Typing of expressions and their lowering into IR expressions.
//!
//! No implicit conversions: the only flexibility is that a whole-number
//! literal may stand for a decimal (`revenue > 100`), and a bare name may stand
//! for an enum value or stage where one is expected (`plan == enterprise`).

use stagecraft_ir as ir;
use stagecraft_ir::{ArithOp, Builtin, Expr, Type};
use stagecraft_syntax::ast::{self, ExprKind};
use stagecraft_syntax::Span;

use crate::checker::{Checker, TimeOf, ValueName};
use crate::error::CheckError;
use crate::suggest::did_you_mean;

/// What an expression may read where it stands.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scope {
    /// The event whose properties `event.x` reads.
    pub event: Option<u32>,
    /// `crosses` is allowed (a `when` trigger).
    pub allow_crossing: bool,
    /// Metric and milestone filters read only the event and traits: the kind
    /// of declaration the filter belongs to.
    pub filter_of: Option<&'static str>,
}

impl Scope {
    pub fn state() -> Scope {
        Scope {
            event: None,
            allow_crossing: false,
            filter_of: None,
        }
    }

    /// The `where` of a metric or of a milestone's `starts on`/`done on`.
    pub fn filter(event: Option<u32>, of: &'static str) -> Scope {
        Scope {
            event,
            allow_crossing: false,
            filter_of: Some(of),
        }
    }

    pub fn event(event: Option<u32>) -> Scope {
        Scope {
            event,
            allow_crossing: false,
            filter_of: None,
        }
    }

    pub fn trigger() -> Scope {
        Scope {
            event: None,
            allow_crossing: true,
            filter_of: None,
        }
    }
}

const MILLIS_PER_DAY: i64 = 86_400_000;

/// Built-in functions: name, arity text, usage.
const BUILTINS: &[(&str, &str)] = &[
    ("min", "min(a, b)"),
    ("max", "max(a, b)"),
    ("clamp", "clamp(value, low, high)"),
    ("abs", "abs(x)"),
    ("decimal", "decimal(int)"),
    ("round", "round(decimal)"),
    ("days", "days(duration)"),
    ("hours", "hours(duration)"),
    ("minutes", "minutes(duration)"),
    ("date_of", "date_of(timestamp)"),
    ("days_until", "days_until(date)"),
    ("entered_at", "entered_at(stage)"),
    ("now", "now"),
    ("today", "today"),
    ("time_in_stage", "time_in_stage"),
    ("first_seen", "first_seen"),
];

fn is_int_literal(e: &ast::Expr) -> bool {
    match &e.kind {
        ExprKind::Literal(ast::Literal::Int(..)) => true,
        ExprKind::Neg(inner) => is_int_literal(inner),
        _ => false,
    }
}

/// Whether the expression is a bare name that is not a declared value (an
/// enum value or stage name, resolved against the other operand's type), or
/// a declared value that shares its name with an enum value or stage
/// (`segment enterprise = plan == enterprise`), which the other operand's
/// type decides.
fn is_bare_variant(checker: &Checker, e: &ast::Expr) -> bool {
    match &e.kind {
        ExprKind::Name(n) => {
            if checker.values.contains_key(&n.name) {
                return checker.stage_ids.contains_key(&n.name)
                    || checker.enums.iter().any(|d| d.variants.contains(&n.name));
            }
            !BUILTINS.iter().any(|(b, _)| *b == n.name)
        }
        _ => false,
    }
}

impl Checker<'_> {
    pub(crate) fn condition(&mut self, e: &ast::Expr, scope: &Scope) -> Option<ir::TypedExpr> {
        let typed = self.value_expr(e, scope, Some(Type::Bool))?;
        if typed.ty != Type::Bool {
            let found = self.type_name(typed.ty);
            self.errors.push(CheckError::Mismatch {
                expected: "bool".into(),
                found,
                span: e.span,
                help: Some("a condition is true or false: compare the value, e.g. `x > 0`".into()),
            });
            return None;
        }
        Some(typed)
    }

    pub(crate) fn value_expr(
        &mut self,
        e: &ast::Expr,
        scope: &Scope,
        expected: Option<Type>,
    ) -> Option<ir::TypedExpr> {
        let (expr, ty) = self.expr(e, scope, expected)?;
        Some(ir::TypedExpr {
            expr,
            ty,
            source: self.text(e.span),
        })
    }

    fn mismatch(&mut self, expected: Type, found: Type, span: Span, help: Option<String>) {
        let (expected, found) = (self.type_name(expected), self.type_name(found));
        self.errors.push(CheckError::Mismatch {
            expected,
            found,
            span,
            help,
        });
    }

    /// Types `e`; `expected` lets literals and bare names adapt.
    pub(crate) fn expr(
        &mut self,
        e: &ast::Expr,
        scope: &Scope,
        expected: Option<Type>,
    ) -> Option<(Expr, Type)> {
        match &e.kind {
            ExprKind::Literal(lit) => self.literal_expr(lit, expected),
            ExprKind::Name(name) => self.name_expr(name, scope, expected),
            ExprKind::EventProp(prop) => self.event_prop(prop, scope),
            ExprKind::Stage => {
                self.state_read(scope, e.span, "stage", "built-in")?;
                Some((Expr::Load(self.layout.stage), Type::Stage))
            }
            ExprKind::SinceLast(event) => {
                self.state_read(scope, e.span, "since last", "built-in")?;
                let id = self.event_id(event)?;
                Some((
                    Expr::Since {
                        ts: self.time_slot(TimeOf::Event(id)),
                        fallback: self.layout.first_seen,
                    },
                    Type::Duration,
                ))
            }
            ExprKind::MilestoneState(name, state) => {
                self.state_read(scope, e.span, &name.name, "milestone")?;
                let Some(&id) = self.milestone_ids.get(&name.name) else {
                    let help =
                        did_you_mean(&name.name, self.milestone_ids.keys().map(String::as_str));
                    self.errors.push(CheckError::UnknownMilestone {
                        name: name.name.clone(),
                        span: name.span,
                        help,
                    });
                    return None;
                };
                let value = match state {
                    ast::MilestoneStateKw::Missed => ir::milestone_state::MISSED,
                    ast::MilestoneStateKw::Done => ir::milestone_state::DONE,
                    ast::MilestoneStateKw::Running => ir::milestone_state::RUNNING,
                };
                Some((
                    Expr::Cmp(
                        ir::CmpOp::Eq,
                        Box::new(Expr::Load(self.layout.milestone_base + id)),
                        Box::new(Expr::Const(value)),
                    ),
                    Type::Bool,
                ))
            }
            ExprKind::Call(name, args) => self.call(name, args, scope, e.span),
            ExprKind::Neg(inner) => {
                let (x, ty) = self.expr(inner, scope, expected)?;
                if !matches!(ty, Type::Int | Type::Decimal | Type::Duration) {
                    let found = self.type_name(ty);
                    self.errors.push(CheckError::Mismatch {
                        expected: "int, decimal or duration".into(),
                        found,
                        span: inner.span,
                        help: Some("only numbers and durations can be negated".into()),
                    });
                    return None;
                }
                Some((Expr::Neg(Box::new(x)), ty))
            }
            ExprKind::Not(inner) => {
                let (x, ty) = self.expr(inner, scope, Some(Type::Bool))?;
                if ty != Type::Bool {
                    self.mismatch(
                        Type::Bool,
                        ty,
                        inner.span,
                        Some("`not` applies to conditions".into()),
                    );
                    return None;
                }
                Some((Expr::Not(Box::new(x)), Type::Bool))
            }
            ExprKind::And(a, b) | ExprKind::Or(a, b) => {
                let left = self.expr(a, scope, Some(Type::Bool));
                let right = self.expr(b, scope, Some(Type::Bool));
                let word = if matches!(e.kind, ExprKind::And(..)) {
                    "and"
                } else {
                    "or"
                };
                let (mut ok, mut operands) = (true, Vec::new());
                for (side, operand) in [(left, a), (right, b)] {
                    match side {
                        Some((x, Type::Bool)) => operands.push(x),
                        Some((_, ty)) => {
                            self.mismatch(
                                Type::Bool,
                                ty,
                                operand.span,
                                Some(format!("both sides of `{word}` are conditions")),
                            );
                            ok = false;
                        }
                        None => ok = false,
                    }
                }
                if !ok {
                    return None;
                }
                let b = operands.pop()?;
                let a = operands.pop()?;
                let node = if word == "and" {
                    Expr::And(Box::new(a), Box::new(b))
                } else {
                    Expr::Or(Box::new(a), Box::new(b))
                };
                Some((node, Type::Bool))
            }
            ExprKind::Binary(op, a, b) => self.binary(*op, a, b, scope, e.span, expected),
            ExprKind::Compare(op, a, b) => self.compare(*op, a, b, scope, e.span),
            ExprKind::IsSet { value, negated } => {
                let (x, _) = self.expr(value, scope, None)?;
                let test = Expr::IsSet(Box::new(x));
                Some((
                    if *negated {
                        Expr::Not(Box::new(test))
                    } else {
                        test
                    },
                    Type::Bool,
                ))
            }
            ExprKind::In {
                value,
                negated,
                options,
            } => {
                let (x, ty) = self.expr(value, scope, None)?;
                let mut tests: Vec<Expr> = Vec::new();
                for option in options {
                    let Some((o, oty)) = self.expr(option, scope, Some(ty)) else {
                        continue;
                    };
                    if oty != ty {
                        self.mismatch(
                            ty,
                            oty,
                            option.span,
                            Some("every option of `in [...]` has the type of the value".into()),
                        );
                        continue;
                    }
                    tests.push(Expr::Cmp(ir::CmpOp::Eq, Box::new(x.clone()), Box::new(o)));
                }
                // A balanced tree of `or`s: a list of thousands of options
                // stays shallow for every recursive pass.
                let any = balanced_or(tests)?;
                Some((
                    if *negated {
                        Expr::Not(Box::new(any))
                    } else {
                        any
                    },
                    Type::Bool,
                ))
            }
            ExprKind::Crosses {
                value,
                below,
                threshold,
            } => {
                if !scope.allow_crossing {
                    self.errors
                        .push(CheckError::CrossingOutsideTrigger { span: e.span });
                    return None;
                }
                let (v, vty) = self.expr(value, scope, None)?;
                if !vty.is_ordered() {
                    let ty = self.type_name(vty);
                    self.errors.push(CheckError::NotOrdered {
                        ty,
                        span: value.span,
                        op: "crosses".into(),
                    });
                    return None;
                }
                let (t, tty) = self.expr(threshold, scope, Some(vty))?;
                if tty != vty {
                    self.type_pair_error("crosses", vty, tty, e.span);
                    return None;
                }
                let slot = self.on_demand_slot();
                self.crossings.push(ir::CrossingDef {
                    value: ir::TypedExpr {
                        expr: v.clone(),
                        ty: vty,
                        source: self.text(value.span),
                    },
                    slot,
                });
                Some((
                    Expr::Crosses {
                        below: *below,
                        value: Box::new(v),
                        prev: slot,
                        threshold: Box::new(t),
                    },
                    Type::Bool,
                ))
            }
        }
    }

    /// Rejects reads of derived state inside metric and milestone filters.
    fn state_read(
        &mut self,
        scope: &Scope,
        span: Span,
        name: &str,
        kind: &'static str,
    ) -> Option<()> {
        if let Some(of) = scope.filter_of {
            self.errors.push(CheckError::MetricFilterReadsState {
                span,
                name: name.into(),
                kind,
                of,
            });
            return None;
        }
        Some(())
    }

    fn literal_expr(&mut self, lit: &ast::Literal, expected: Option<Type>) -> Option<(Expr, Type)> {
        let ty = match (lit, expected) {
            (ast::Literal::Int(..), Some(Type::Decimal)) => Type::Decimal,
            (ast::Literal::Int(..), _) => Type::Int,
            (ast::Literal::Decimal(..), _) => Type::Decimal,
            (ast::Literal::Bool(..), _) => Type::Bool,
            (ast::Literal::Duration(..), _) => Type::Duration,
            (ast::Literal::Str(_), Some(t @ (Type::Timezone | Type::Date | Type::Timestamp))) => t,
            (ast::Literal::Str(_), _) => Type::String,
            (ast::Literal::Negative(inner, _), e) => {
                let (x, t) = self.literal_expr(inner, e)?;
                return Some((Expr::Neg(Box::new(x)), t));
            }
            (ast::Literal::Name(_), Some(t)) => t,
            (ast::Literal::Name(_), None) => Type::Int,
        };
        let value = self.literal_value(lit, ty)?;
        Some((Expr::Const(value), ty))
    }

    fn name_expr(
        &mut self,
        name: &ast::Ident,
        scope: &Scope,
        expected: Option<Type>,
    ) -> Option<(Expr, Type)> {
        // Where an enum value or a stage is expected, its name wins over a
        // segment, metric or score of the same name (which could not have that
        // type), so `segment enterprise = plan == enterprise` reads the enum.
        let declared = self.values.get(&name.name).copied();
        let declared_fits = match declared {
            Some((ValueName::Trait(i), _)) => Some(self.traits[i as usize].ty) == expected,
            _ => false,
        };
        if declared.is_some() && !declared_fits {
            match expected {
                Some(Type::Enum(e))
                    if self
                        .enums
                        .get(e as usize)
                        .is_some_and(|d| d.variants.contains(&name.name)) =>
                {
                    return self
                        .enum_value(e, name)
                        .map(|v| (Expr::Const(v), Type::Enum(e)));
                }
                Some(Type::Stage) if self.stage_ids.contains_key(&name.name) => {
                    return self
                        .stage_value(name)
                        .map(|v| (Expr::Const(v), Type::Stage));
                }
                _ => {}
            }
        }
        if let Some((value, _)) = declared {
            return match value {
                ValueName::Trait(i) => Some((
                    Expr::Load(self.layout.trait_base + i),
                    self.traits[i as usize].ty,
                )),
                ValueName::Metric(i) => {
                    self.state_read(scope, name.span, &name.name, "metric")?;
                    Some((
                        Expr::Load(self.layout.metric_base + i),
                        self.metric_type(i)?,
                    ))
                }
                ValueName::Score(i) => {
                    self.state_read(scope, name.span, &name.name, "score")?;
                    if let Some(current) = self.current_score {
                        if !self.score_deps[current as usize].contains(&i) {
                            self.score_deps[current as usize].push(i);
                        }
                    }
                    let ty = self.score_type(i)?;
                    Some((Expr::Load(self.layout.score_base + i), ty))
                }
                ValueName::Segment(i) => {
                    self.state_read(scope, name.span, &name.name, "segment")?;
                    let cond = self.segment(i)?;
                    Some((cond.expr, Type::Bool))
                }
            };
        }
        match expected {
            Some(Type::Enum(e)) => {
                return self
                    .enum_value(e, name)
                    .map(|v| (Expr::Const(v), Type::Enum(e)))
            }
            // An unknown name where a stage is expected is an unknown stage.
            Some(Type::Stage) => {
                return self
                    .stage_value(name)
                    .map(|v| (Expr::Const(v), Type::Stage));
            }
            _ => {}
        }
        match name.name.as_str() {
            "now" => return Some((Expr::Now, Type::Timestamp)),
            "today" => return Some((Expr::Call(Builtin::DateOf, vec![Expr::Now]), Type::Date)),
            "time_in_stage" => {
                self.state_read(scope, name.span, "time_in_stage", "built-in")?;
                return Some((
                    Expr::Arith(
                        ArithOp::Sub,
                        Box::new(Expr::Now),
                        Box::new(Expr::Load(self.layout.stage_entered_at)),
                    ),
                    Type::Duration,
                ));
            }
            "first_seen" => {
                self.state_read(scope, name.span, "first_seen", "built-in")?;
                return Some((Expr::Load(self.layout.first_seen), Type::Timestamp));
            }
            _ => {}
        }
        if self.stage_ids.contains_key(&name.name) {
            self.errors.push(CheckError::UnknownName {
                name: name.name.clone(),
                span: name.span,
                help: Some(format!(
                    "`{}` is a stage: compare it with `stage == {}`",
                    name.name, name.name
                )),
            });
            return None;
        }
        let help = did_you_mean(
            &name.name,
            self.values
                .keys()
                .map(String::as_str)
                .chain(BUILTINS.iter().map(|(b, _)| *b)),
        );
        self.errors.push(CheckError::UnknownName {
            name: name.name.clone(),
            span: name.span,
            help,
        });
        None
    }

    fn metric_type(&mut self, index: u32) -> Option<Type> {
        self.metric_types.get(index as usize).copied().flatten()
    }

    fn event_prop(&mut self, prop: &ast::Ident, scope: &Scope) -> Option<(Expr, Type)> {
        let Some(event) = scope.event else {
            self.errors.push(CheckError::EventPropertyOutsideEvent {
                name: prop.name.clone(),
                span: prop.span,
            });
            return None;
        };
        let def = &self.events[event as usize];
        match def.props.iter().position(|p| p.name == prop.name) {
            Some(i) => Some((
                Expr::Load(self.layout.prop_base + i as u32),
                def.props[i].ty,
            )),
            None => {
                let help = did_you_mean(&prop.name, def.props.iter().map(|p| p.name.as_str()));
                self.errors.push(CheckError::UnknownProperty {
                    event: def.name.clone(),
                    name: prop.name.clone(),
                    span: prop.span,
                    help,
                });
                None
            }
        }
    }

    /// Types two operands, letting a literal or bare name adapt to the other.
    fn operands(
        &mut self,
        a: &ast::Expr,
        b: &ast::Expr,
        scope: &Scope,
        expected: Option<Type>,
    ) -> Option<((Expr, Type), (Expr, Type))> {
        let left_adapts = (is_int_literal(a) && !is_int_literal(b)) || is_bare_variant(self, a);
        // When the side that decides the type failed, a bare name on the
        // other side cannot be resolved either: it is not reported again.
        if left_adapts {
            let right = self.expr(b, scope, expected);
            if right.is_none() && is_bare_variant(self, a) {
                return None;
            }
            let left = self.expr(a, scope, right.as_ref().map(|r| r.1).or(expected));
            Some((left?, right?))
        } else {
            let left = self.expr(a, scope, expected);
            if left.is_none() && is_bare_variant(self, b) {
                return None;
            }
            let right = self.expr(b, scope, left.as_ref().map(|l| l.1).or(expected));
            Some((left?, right?))
        }
    }

    fn type_pair_error(&mut self, op: &str, left: Type, right: Type, span: Span) {
        let (l, r) = (self.type_name(left), self.type_name(right));
        let numberish = |t: Type| matches!(t, Type::Int | Type::Decimal);
        if (left == Type::Duration && numberish(right))
            || (right == Type::Duration && numberish(left))
        {
            self.errors.push(CheckError::UnitMismatch {
                op: op.into(),
                span,
                left: l,
                right: r,
            });
            return;
        }
        let help = match (left, right) {
            (Type::Int, Type::Decimal) | (Type::Decimal, Type::Int) => {
                Some("convert explicitly with `decimal(...)` or `round(...)`".to_string())
            }
            (Type::Timestamp, Type::Date) | (Type::Date, Type::Timestamp) => {
                Some("turn the timestamp into a date with `date_of(...)`".to_string())
            }
            _ => None,
        };
        self.errors.push(CheckError::BadOperands {
            op: op.into(),
            left: l,
            right: r,
            span,
            help,
        });
    }

    fn binary(
        &mut self,
        op: ast::BinOp,
        a: &ast::Expr,
        b: &ast::Expr,
        scope: &Scope,
        span: Span,
        expected: Option<Type>,
    ) -> Option<(Expr, Type)> {
        let numeric_expected = expected.filter(|t| t.is_numeric());
        let ((x, tx), (y, ty)) = self.operands(a, b, scope, numeric_expected)?;
        use ast::BinOp as B;
        use Type::*;
        let result = match (op, tx, ty) {
            (B::Add | B::Sub, Int, Int) => Some((arith_of(op), Int)),
            (B::Add | B::Sub, Decimal, Decimal) => Some((arith_of(op), Decimal)),
            (B::Add | B::Sub, Duration, Duration) => Some((arith_of(op), Duration)),
            (B::Add | B::Sub, Timestamp, Duration) => Some((arith_of(op), Timestamp)),
            (B::Add, Duration, Timestamp) => Some((ArithOp::Add, Timestamp)),
            (B::Sub, Timestamp, Timestamp) => Some((ArithOp::Sub, Duration)),
            (B::Sub, Date, Date) => Some((ArithOp::Sub, Int)),
            (B::Mul, Int, Int) => Some((ArithOp::Mul, Int)),
            (B::Mul, Int, Decimal) | (B::Mul, Decimal, Int) => Some((ArithOp::Mul, Decimal)),
            (B::Mul, Decimal, Decimal) => Some((ArithOp::MulDecimal, Decimal)),
            (B::Mul, Duration, Int) | (B::Mul, Int, Duration) => Some((ArithOp::Mul, Duration)),
            (B::Div, Int, Int) => Some((ArithOp::Div, Int)),
            (B::Div, Decimal, Decimal) => Some((ArithOp::DivDecimal, Decimal)),
            (B::Div, Decimal, Int) => Some((ArithOp::DivDecimalByInt, Decimal)),
            (B::Div, Duration, Int) => Some((ArithOp::Div, Duration)),
            (B::Div, Duration, Duration) => Some((ArithOp::Div, Int)),
            (B::Rem, Int, Int) => Some((ArithOp::Rem, Int)),
            _ => None,
        };
        match result {
            Some((arith, out)) => Some((Expr::Arith(arith, Box::new(x), Box::new(y)), out)),
            None => {
                self.type_pair_error(op.symbol(), tx, ty, span);
                None
            }
        }
    }

    fn compare(
        &mut self,
        op: ast::CmpOp,
        a: &ast::Expr,
        b: &ast::Expr,
        scope: &Scope,
        span: Span,
    ) -> Option<(Expr, Type)> {
        let ((x, tx), (y, ty)) = self.operands(a, b, scope, None)?;
        if tx != ty {
            self.type_pair_error(op.symbol(), tx, ty, span);
            return None;
        }
        let ordering = !matches!(op, ast::CmpOp::Eq | ast::CmpOp::Ne);
        if ordering && !tx.is_ordered() {
            let ty = self.type_name(tx);
            self.errors.push(CheckError::NotOrdered {
                ty,
                span,
                op: op.symbol().into(),
            });
            return None;
        }
        let cmp = match op {
            ast::CmpOp::Eq => ir::CmpOp::Eq,
            ast::CmpOp::Ne => ir::CmpOp::Ne,
            ast::CmpOp::Lt => ir::CmpOp::Lt,
            ast::CmpOp::Le => ir::CmpOp::Le,
            ast::CmpOp::Gt => ir::CmpOp::Gt,
            ast::CmpOp::Ge => ir::CmpOp::Ge,
        };
        Some((Expr::Cmp(cmp, Box::new(x), Box::new(y)), Type::Bool))
    }

    fn call(
        &mut self,
        name: &ast::Ident,
        args: &[ast::Expr],
        scope: &Scope,
        span: Span,
    ) -> Option<(Expr, Type)> {
        let Some((_, usage)) = BUILTINS.iter().find(|(b, _)| *b == name.name) else {
            let help = did_you_mean(&name.name, BUILTINS.iter().map(|(b, _)| *b));
            self.errors.push(CheckError::UnknownFunction {
                name: name.name.clone(),
                span: name.span,
                help,
            });
            return None;
        };
        let arity = match name.name.as_str() {
            "min" | "max" => 2,
            "clamp" => 3,
            "now" | "today" | "time_in_stage" | "first_seen" => 0,
            _ => 1,
        };
        if args.len() != arity {
            self.errors.push(CheckError::WrongArity {
                name: name.name.clone(),
                expected: arity.to_string(),
                found: args.len(),
                usage: format!("write `{usage}`"),
                span,
            });
            return None;
        }
        if arity == 0 {
            return self.name_expr(name, scope, None);
        }
        if name.name == "entered_at" {
            self.state_read(scope, span, "entered_at", "built-in")?;
            let ExprKind::Name(stage) = &args[0].kind else {
                self.errors.push(CheckError::Mismatch {
                    expected: "stage name".into(),
                    found: "expression".into(),
                    span: args[0].span,
                    help: Some("write `entered_at(onboarding)`".into()),
                });
                return None;
            };
            let id = self.stage_id(stage)?;
            let slot = self.time_slot(TimeOf::Entry(id));
            return Some((Expr::Load(slot), Type::Timestamp));
        }
        let first_literal = is_int_literal(&args[0]);
        let mut typed: Vec<(Expr, Type)> = Vec::new();
        let mut hint: Option<Type> = None;
        // Type non-literal arguments first so literals can adapt to them.
        let mut order: Vec<usize> = (0..args.len()).collect();
        if first_literal {
            order.rotate_left(1);
        }
        let mut slots: Vec<Option<(Expr, Type)>> = vec![None; args.len()];
        for i in order {
            let result = self.expr(&args[i], scope, hint);
            if let Some((_, t)) = &result {
                hint = hint.or(Some(*t));
            }
            slots[i] = result;
        }
        for s in slots {
            typed.push(s?);
        }
        let types: Vec<Type> = typed.iter().map(|(_, t)| *t).collect();
        let exprs: Vec<Expr> = typed.into_iter().map(|(e, _)| e).collect();
        let expect = |this: &mut Self, ok: bool, expected: &str, i: usize| -> Option<()> {
            if ok {
                return Some(());
            }
            let found = this.type_name(types[i]);
            this.errors.push(CheckError::Mismatch {
                expected: expected.into(),
                found,
                span: args[i].span,
                help: Some(format!("`{usage}`")),
            });
            None
        };
        let t0 = types[0];
        let (builtin, out) = match name.name.as_str() {
            "min" | "max" | "clamp" => {
                expect(
                    self,
                    t0.is_ordered(),
                    "a number, duration, timestamp or date",
                    0,
                )?;
                if let Some(other) = types.iter().skip(1).find(|t| **t != t0) {
                    self.type_pair_error(&name.name, t0, *other, span);
                    return None;
                }
                let b = match name.name.as_str() {
                    "min" => Builtin::Min,
                    "max" => Builtin::Max,
                    _ => Builtin::Clamp,
                };
                (b, t0)
            }
            "abs" => {
                expect(
                    self,
                    matches!(t0, Type::Int | Type::Decimal | Type::Duration),
                    "int, decimal or duration",
                    0,
                )?;
                (Builtin::Abs, t0)
            }
            "decimal" => {
                expect(self, t0 == Type::Int, "int", 0)?;
                (Builtin::ToDecimal, Type::Decimal)
            }
            "round" => {
                expect(self, t0 == Type::Decimal, "decimal", 0)?;
                (Builtin::Round, Type::Int)
            }
            "days" | "hours" | "minutes" => {
                expect(self, t0 == Type::Duration, "duration", 0)?;
                let unit = match name.name.as_str() {
                    "days" => MILLIS_PER_DAY,
                    "hours" => 3_600_000,
                    _ => 60_000,
                };
                (Builtin::DurationIn(unit), Type::Int)
            }
            "date_of" => {
                expect(self, t0 == Type::Timestamp, "timestamp", 0)?;
                (Builtin::DateOf, Type::Date)
            }
            _ => {
                expect(self, t0 == Type::Date, "date", 0)?;
                (Builtin::DaysUntil, Type::Int)
            }
        };
        Some((Expr::Call(builtin, exprs), out))
    }
}

fn balanced_or(mut tests: Vec<Expr>) -> Option<Expr> {
    match tests.len() {
        0 => None,
        1 => tests.pop(),
        n => {
            let right = tests.split_off(n / 2);
            Some(Expr::Or(
                Box::new(balanced_or(tests)?),
                Box::new(balanced_or(right)?),
            ))
        }
    }
}

fn arith_of(op: ast::BinOp) -> ArithOp {
    if op == ast::BinOp::Sub {
        ArithOp::Sub
    } else {
        ArithOp::Add
    }
}
