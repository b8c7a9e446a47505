//! Value-domain analysis over IR expressions.
//!
//! Every IR value is an `i64` (see `stagecraft_ir::value`), so one abstract
//! domain serves every type: a set of possible values ([`Vals`]: an interval
//! or, for enums, booleans and stages, a small finite set) plus whether the
//! value may be *missing* and whether its evaluation may *error*.
//!
//! Expressions are interned into [`Terms`] (hash-consed, so `plan` in two
//! clauses is one term). [`Solver::sat`] decides whether a conjunction of
//! conditions can be true: it walks the three-valued logic of
//! `docs/semantics.md` §7 exactly (`x and y` is true iff both are true, false
//! iff either is false; `not x` is true iff `x` is false; a comparison is true
//! or false only when both sides have values), refining the domain of every
//! term it constrains ([`Env`]). Disjunctions split the search into several
//! environments (up to [`MAX_ENVS`], then they are joined). The result is an
//! over-approximation: when `sat` finds no environment, no state of any
//! subject can make the condition true. That is the only claim the lint
//! rules make from it ("never cry wolf").

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use stagecraft_ir::decimal::SCALE;
use stagecraft_ir::{
    ArithOp, Builtin, CmpOp, EventId, Expr, MetricKind, Program, Slot, StageId, Type,
};

pub type TermId = u32;

const MIN: i64 = i64::MIN;
const MAX: i64 = i64::MAX;
/// Finite sets larger than this become intervals.
const SET_MAX: usize = 64;
/// Disjunctive environments kept apart before they are joined.
pub const MAX_ENVS: usize = 48;

/// A hash-consed expression node; children are term ids.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Node {
    Const(i64),
    Load(Slot),
    Now,
    Neg(TermId),
    Not(TermId),
    Arith(ArithOp, TermId, TermId),
    Cmp(CmpOp, TermId, TermId),
    And(TermId, TermId),
    Or(TermId, TermId),
    IsSet(TermId),
    Call(Builtin, Vec<TermId>),
    Since {
        ts: Slot,
        fallback: Slot,
    },
    Crosses {
        below: bool,
        value: TermId,
        prev: Slot,
        threshold: TermId,
    },
}

/// The interned expressions of one program.
#[derive(Debug, Default)]
pub struct Terms {
    nodes: Vec<Node>,
    types: Vec<Option<Type>>,
    index: HashMap<Node, TermId>,
}

impl Terms {
    pub fn node(&self, t: TermId) -> &Node {
        &self.nodes[t as usize]
    }

    pub fn ty(&self, t: TermId) -> Option<Type> {
        self.types[t as usize]
    }

    fn add(&mut self, node: Node, ty: Option<Type>) -> TermId {
        if let Some(id) = self.index.get(&node) {
            return *id;
        }
        let id = self.nodes.len() as TermId;
        self.nodes.push(node.clone());
        self.types.push(ty);
        self.index.insert(node, id);
        id
    }

    /// Every `Load` slot below `t` (and the slots `Since` reads).
    pub fn loads(&self, t: TermId, out: &mut Vec<Slot>) {
        match self.node(t) {
            Node::Const(_) | Node::Now => {}
            Node::Load(s) => {
                if !out.contains(s) {
                    out.push(*s);
                }
            }
            Node::Since { ts, .. } => {
                if !out.contains(ts) {
                    out.push(*ts);
                }
            }
            Node::Neg(a) | Node::Not(a) | Node::IsSet(a) => self.loads(*a, out),
            Node::Arith(_, a, b) | Node::Cmp(_, a, b) | Node::And(a, b) | Node::Or(a, b) => {
                self.loads(*a, out);
                self.loads(*b, out);
            }
            Node::Call(_, args) => args.iter().for_each(|a| self.loads(*a, out)),
            Node::Crosses {
                value, threshold, ..
            } => {
                self.loads(*value, out);
                self.loads(*threshold, out);
            }
        }
    }
}

/// Possible values: none, an inclusive interval, or a small sorted set.
/// `i64::MIN` and `i64::MAX` double as "unbounded".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Vals {
    Empty,
    Range(i64, i64),
    Set(Vec<i64>),
}

impl Vals {
    pub fn full() -> Vals {
        Vals::Range(MIN, MAX)
    }

    pub fn range(lo: i64, hi: i64) -> Vals {
        if lo > hi {
            Vals::Empty
        } else {
            Vals::Range(lo, hi)
        }
    }

    fn range128(lo: i128, hi: i128) -> (Vals, bool) {
        let overflow = lo < i128::from(MIN) || hi > i128::from(MAX);
        let clamp = |x: i128| x.clamp(i128::from(MIN), i128::from(MAX)) as i64;
        (Vals::range(clamp(lo), clamp(hi)), overflow)
    }

    pub fn set(mut values: Vec<i64>) -> Vals {
        values.sort_unstable();
        values.dedup();
        if values.is_empty() {
            Vals::Empty
        } else if values.len() > SET_MAX {
            Vals::Range(values[0], values[values.len() - 1])
        } else {
            Vals::Set(values)
        }
    }

    pub fn is_empty(&self) -> bool {
        matches!(self, Vals::Empty)
    }

    pub fn bounds(&self) -> Option<(i64, i64)> {
        match self {
            Vals::Empty => None,
            Vals::Range(lo, hi) => Some((*lo, *hi)),
            Vals::Set(v) => Some((v[0], v[v.len() - 1])),
        }
    }

    pub fn singleton(&self) -> Option<i64> {
        match self {
            Vals::Range(lo, hi) if lo == hi => Some(*lo),
            Vals::Set(v) if v.len() == 1 => Some(v[0]),
            _ => None,
        }
    }

    pub fn contains(&self, x: i64) -> bool {
        match self {
            Vals::Empty => false,
            Vals::Range(lo, hi) => *lo <= x && x <= *hi,
            Vals::Set(v) => v.binary_search(&x).is_ok(),
        }
    }

    /// The values as a list, when there are few.
    pub fn list(&self) -> Option<Vec<i64>> {
        match self {
            Vals::Empty => Some(Vec::new()),
            Vals::Set(v) => Some(v.clone()),
            Vals::Range(lo, hi) if (*hi as i128) - (*lo as i128) < 16 => {
                Some((*lo..=*hi).collect())
            }
            Vals::Range(..) => None,
        }
    }

    pub fn join(&self, other: &Vals) -> Vals {
        match (self, other) {
            (Vals::Empty, x) | (x, Vals::Empty) => x.clone(),
            (Vals::Set(a), Vals::Set(b)) => Vals::set(a.iter().chain(b).copied().collect()),
            _ => {
                let (a, b) = (self.bounds(), other.bounds());
                match (a, b) {
                    (Some((l1, h1)), Some((l2, h2))) => Vals::Range(l1.min(l2), h1.max(h2)),
                    _ => Vals::Empty,
                }
            }
        }
    }

    pub fn meet_range(&self, lo: i64, hi: i64) -> Vals {
        match self {
            Vals::Empty => Vals::Empty,
            Vals::Range(a, b) => Vals::range((*a).max(lo), (*b).min(hi)),
            Vals::Set(v) => Vals::set(v.iter().copied().filter(|x| lo <= *x && *x <= hi).collect()),
        }
    }

    pub fn meet(&self, other: &Vals) -> Vals {
        match (self, other) {
            (Vals::Empty, _) | (_, Vals::Empty) => Vals::Empty,
            (Vals::Set(a), b) | (b, Vals::Set(a)) => {
                Vals::set(a.iter().copied().filter(|x| b.contains(*x)).collect())
            }
            (Vals::Range(l, h), b) => b.meet_range(*l, *h),
        }
    }

    pub fn remove(&self, x: i64) -> Vals {
        match self {
            Vals::Empty => Vals::Empty,
            Vals::Range(lo, hi) if *lo == x && *hi == x => Vals::Empty,
            Vals::Range(lo, hi) if *lo == x => Vals::Range(x + 1, *hi),
            Vals::Range(lo, hi) if *hi == x => Vals::Range(*lo, x - 1),
            Vals::Range(..) => self.clone(),
            Vals::Set(v) => Vals::set(v.iter().copied().filter(|y| *y != x).collect()),
        }
    }

    /// Applies a function to each value of a small set; `None` for ranges.
    fn map_set(&self, f: impl Fn(i64) -> Option<i64>) -> Option<(Vals, bool)> {
        let Vals::Set(v) = self else { return None };
        let mut out = Vec::new();
        let mut error = false;
        for x in v {
            match f(*x) {
                Some(y) => out.push(y),
                None => error = true,
            }
        }
        Some((Vals::set(out), error))
    }
}

/// What an expression may evaluate to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbsVal {
    pub vals: Vals,
    pub missing: bool,
    pub error: bool,
}

impl AbsVal {
    pub fn of(vals: Vals) -> AbsVal {
        AbsVal {
            vals,
            missing: false,
            error: false,
        }
    }

    pub fn konst(v: i64) -> AbsVal {
        AbsVal::of(Vals::Set(vec![v]))
    }

    pub fn full_maybe_missing() -> AbsVal {
        AbsVal {
            vals: Vals::full(),
            missing: true,
            error: false,
        }
    }

    pub fn can_be(&self, b: bool) -> bool {
        self.vals.contains(i64::from(b))
    }

    /// Whether it is always a value, never missing or an error.
    pub fn certain(&self) -> bool {
        !self.missing && !self.error && !self.vals.is_empty()
    }

    fn join(&self, other: &AbsVal) -> AbsVal {
        AbsVal {
            vals: self.vals.join(&other.vals),
            missing: self.missing || other.missing,
            error: self.error || other.error,
        }
    }

    fn bool_of(t: bool, f: bool, missing: bool, error: bool) -> AbsVal {
        let mut v = Vec::new();
        if f {
            v.push(0);
        }
        if t {
            v.push(1);
        }
        AbsVal {
            vals: Vals::set(v),
            missing,
            error,
        }
    }
}

/// Where a slot's domain comes from, for explanations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    TraitRange,
    Enum,
    Score,
    Count,
    Flag,
    Stage,
    Property,
    Other,
}

/// A slot's static domain and what the slot is.
#[derive(Debug, Clone)]
pub struct SlotInfo {
    pub name: String,
    pub ty: Option<Type>,
    pub value: AbsVal,
    pub origin: Origin,
}

/// Refinements of term domains along one path of the search.
#[derive(Debug, Clone, Default)]
pub struct Env {
    /// The event whose properties the `prop` slots hold.
    pub event: Option<EventId>,
    refined: BTreeMap<TermId, AbsVal>,
}

impl Env {
    fn join(&self, other: &Env) -> Env {
        let mut refined = BTreeMap::new();
        for (k, v) in &self.refined {
            if let Some(w) = other.refined.get(k) {
                refined.insert(*k, v.join(w));
            }
        }
        Env {
            event: self.event,
            refined,
        }
    }
}

fn join_all(envs: Vec<Env>) -> Vec<Env> {
    let mut iter = envs.into_iter();
    let Some(first) = iter.next() else {
        return Vec::new();
    };
    vec![iter.fold(first, |acc, e| acc.join(&e))]
}

fn cap(envs: Vec<Env>) -> Vec<Env> {
    if envs.len() > MAX_ENVS {
        join_all(envs)
    } else {
        envs
    }
}

pub fn negate(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Eq => CmpOp::Ne,
        CmpOp::Ne => CmpOp::Eq,
        CmpOp::Lt => CmpOp::Ge,
        CmpOp::Le => CmpOp::Gt,
        CmpOp::Gt => CmpOp::Le,
        CmpOp::Ge => CmpOp::Lt,
    }
}

/// Whether `x op y` holds for some `x` in `a` and `y` in `b`.
pub fn can_hold(op: CmpOp, a: &Vals, b: &Vals) -> bool {
    let (Some((alo, ahi)), Some((blo, bhi))) = (a.bounds(), b.bounds()) else {
        return false;
    };
    match op {
        CmpOp::Eq => !a.meet(b).is_empty(),
        CmpOp::Ne => !(a.singleton().is_some() && a.singleton() == b.singleton()),
        CmpOp::Lt => alo < bhi,
        CmpOp::Le => alo <= bhi,
        CmpOp::Gt => ahi > blo,
        CmpOp::Ge => ahi >= blo,
    }
}

/// Narrows both sides to the values that can satisfy `x op y`.
fn narrow(op: CmpOp, a: &Vals, b: &Vals) -> (Vals, Vals) {
    let (Some((alo, ahi)), Some((blo, bhi))) = (a.bounds(), b.bounds()) else {
        return (Vals::Empty, Vals::Empty);
    };
    match op {
        CmpOp::Lt => (
            a.meet_range(MIN, bhi.saturating_sub(1)),
            b.meet_range(alo.saturating_add(1), MAX),
        ),
        CmpOp::Le => (a.meet_range(MIN, bhi), b.meet_range(alo, MAX)),
        CmpOp::Gt => (
            a.meet_range(blo.saturating_add(1), MAX),
            b.meet_range(MIN, ahi.saturating_sub(1)),
        ),
        CmpOp::Ge => (a.meet_range(blo, MAX), b.meet_range(MIN, ahi)),
        CmpOp::Eq => {
            let m = a.meet(b);
            (m.clone(), m)
        }
        CmpOp::Ne => {
            let na = b.singleton().map_or_else(|| a.clone(), |k| a.remove(k));
            let nb = a.singleton().map_or_else(|| b.clone(), |k| b.remove(k));
            (na, nb)
        }
    }
}

fn div_trunc(a: i128, b: i128) -> i128 {
    a / b
}

fn floor_div(a: i128, b: i128) -> i128 {
    let q = a / b;
    if (a % b != 0) && ((a < 0) != (b < 0)) {
        q - 1
    } else {
        q
    }
}

fn ceil_div(a: i128, b: i128) -> i128 {
    -floor_div(-a, b)
}

/// Interval of `f(x, y)` over the corners, for functions monotone in each
/// argument on the given boxes.
fn corners(a: (i64, i64), b: (i64, i64), f: impl Fn(i128, i128) -> i128) -> (i128, i128) {
    let vals = [
        f(a.0 as i128, b.0 as i128),
        f(a.0 as i128, b.1 as i128),
        f(a.1 as i128, b.0 as i128),
        f(a.1 as i128, b.1 as i128),
    ];
    let lo = vals.iter().copied().min().unwrap_or(0);
    let hi = vals.iter().copied().max().unwrap_or(0);
    (lo, hi)
}

/// The parts of a divisor's interval without zero.
fn nonzero_parts(b: (i64, i64)) -> Vec<(i64, i64)> {
    let mut parts = Vec::new();
    if b.0 < 0 {
        parts.push((b.0, b.1.min(-1)));
    }
    if b.1 > 0 {
        parts.push((b.0.max(1), b.1));
    }
    parts
}

fn arith_vals(op: ArithOp, a: &Vals, b: &Vals) -> (Vals, bool) {
    // Small sets: exact, with the interpreter's own arithmetic.
    if let (Vals::Set(x), Vals::Set(y)) = (a, b) {
        if x.len() * y.len() <= SET_MAX {
            let mut out = Vec::new();
            let mut error = false;
            for p in x {
                for q in y {
                    match stagecraft_ir::eval::arith(op, *p, *q) {
                        Ok(v) => out.push(v),
                        Err(_) => error = true,
                    }
                }
            }
            return (Vals::set(out), error);
        }
    }
    let (Some(ab), Some(bb)) = (a.bounds(), b.bounds()) else {
        return (Vals::Empty, false);
    };
    let s = i128::from(SCALE);
    match op {
        ArithOp::Add => Vals::range128(ab.0 as i128 + bb.0 as i128, ab.1 as i128 + bb.1 as i128),
        ArithOp::Sub => Vals::range128(ab.0 as i128 - bb.1 as i128, ab.1 as i128 - bb.0 as i128),
        ArithOp::Mul => {
            let (lo, hi) = corners(ab, bb, |x, y| x * y);
            Vals::range128(lo, hi)
        }
        ArithOp::MulDecimal => {
            let (lo, hi) = corners(ab, bb, |x, y| x * y);
            Vals::range128(floor_div(lo, s) - 1, ceil_div(hi, s) + 1)
        }
        ArithOp::Div | ArithOp::DivDecimal | ArithOp::DivDecimalByInt => {
            let mut error = bb.0 <= 0 && bb.1 >= 0;
            let mut out = Vals::Empty;
            for part in nonzero_parts(bb) {
                let (lo, hi) = match op {
                    ArithOp::Div => corners(ab, part, div_trunc),
                    ArithOp::DivDecimal => {
                        let (lo, hi) = corners(ab, part, |x, y| div_trunc(x * s, y));
                        (lo - 1, hi + 1)
                    }
                    _ => {
                        let (lo, hi) = corners(ab, part, div_trunc);
                        (lo - 1, hi + 1)
                    }
                };
                let (v, overflow) = Vals::range128(lo, hi);
                error |= overflow;
                out = out.join(&v);
            }
            (out, error)
        }
        ArithOp::Rem => {
            let error = bb.0 <= 0 && bb.1 >= 0;
            let m = (bb.0 as i128).abs().max((bb.1 as i128).abs()) - 1;
            let lo = if ab.0 >= 0 { 0 } else { (ab.0 as i128).max(-m) };
            let hi = if ab.1 <= 0 { 0 } else { (ab.1 as i128).min(m) };
            let (v, _) = Vals::range128(lo, hi);
            (v, error)
        }
    }
}

/// The static information the solver needs about a program.
#[derive(Debug)]
pub struct Solver<'p> {
    pub program: &'p Program,
    terms: RefCell<Terms>,
    slots: Vec<SlotInfo>,
    /// Per event: the domains of its property slots.
    props: Vec<Vec<SlotInfo>>,
    stage_term: TermId,
}

impl<'p> Solver<'p> {
    pub fn new(program: &'p Program) -> Solver<'p> {
        let layout = program.layout;
        let len = layout.len.max(layout.prop_base + 64) as usize;
        let unknown = SlotInfo {
            name: "value".into(),
            ty: None,
            value: AbsVal::full_maybe_missing(),
            origin: Origin::Other,
        };
        let mut solver = Solver {
            program,
            terms: RefCell::new(Terms::default()),
            slots: vec![unknown; len],
            props: Vec::new(),
            stage_term: 0,
        };
        solver.stage_term = solver
            .terms
            .borrow_mut()
            .add(Node::Load(layout.stage), Some(Type::Stage));
        solver.init_slots();
        solver
    }

    fn type_vals(&self, ty: Type, range: Option<(i64, i64)>) -> (Vals, Origin) {
        match ty {
            Type::Bool => (Vals::Set(vec![0, 1]), Origin::Flag),
            Type::Enum(e) => {
                let n = self
                    .program
                    .enums
                    .get(e as usize)
                    .map_or(0, |d| d.variants.len());
                (Vals::set((0..n as i64).collect()), Origin::Enum)
            }
            Type::Stage => (
                Vals::set((0..self.program.stages.len() as i64).collect()),
                Origin::Stage,
            ),
            _ => match range {
                Some((lo, hi)) => (Vals::range(lo, hi), Origin::TraitRange),
                None => (Vals::full(), Origin::Other),
            },
        }
    }

    fn field_info(&self, f: &stagecraft_ir::FieldDef, is_trait: bool, prefix: &str) -> SlotInfo {
        let (mut vals, origin) = self.type_vals(f.ty, f.range);
        if let Some(d) = f.default {
            vals = vals.join(&Vals::Set(vec![d]));
        }
        let missing = f.optional || (is_trait && f.default.is_none());
        SlotInfo {
            name: format!("{prefix}{}", f.name),
            ty: Some(f.ty),
            value: AbsVal {
                vals,
                missing,
                error: false,
            },
            origin: if is_trait || origin != Origin::TraitRange {
                origin
            } else {
                Origin::Property
            },
        }
    }

    fn set_slot(&mut self, slot: Slot, info: SlotInfo) {
        if let Some(s) = self.slots.get_mut(slot as usize) {
            *s = info;
        }
    }

    fn init_slots(&mut self) {
        let program = self.program;
        let layout = program.layout;
        for (i, t) in program.traits.iter().enumerate() {
            let info = self.field_info(t, true, "");
            self.set_slot(layout.trait_base + i as Slot, info);
        }
        self.props = program
            .events
            .iter()
            .map(|e| {
                e.props
                    .iter()
                    .map(|p| self.field_info(p, false, "event."))
                    .collect()
            })
            .collect();
        for (i, m) in program.metrics.iter().enumerate() {
            let prop = m
                .event
                .zip(m.prop)
                .and_then(|(e, p)| program.events.get(e as usize)?.props.get(p as usize));
            let prop_vals = prop.map_or_else(Vals::full, |p| self.type_vals(p.ty, p.range).0);
            let (vals, missing, origin) = match m.kind {
                MetricKind::Count | MetricKind::Distinct | MetricKind::Sent(_) => {
                    (Vals::Range(0, MAX), false, Origin::Count)
                }
                MetricKind::Ever => (Vals::Set(vec![0, 1]), false, Origin::Flag),
                MetricKind::Sum => {
                    let vals = match prop_vals.bounds() {
                        Some((lo, _)) if lo >= 0 => Vals::Range(0, MAX),
                        Some((_, hi)) if hi <= 0 => Vals::Range(MIN, 0),
                        _ => Vals::full(),
                    };
                    // A sum that overflows reads as missing.
                    (vals, true, Origin::Other)
                }
                MetricKind::Avg => {
                    let scaled = prop.is_some_and(|p| p.ty == Type::Int) && m.ty == Type::Decimal;
                    let vals = match prop_vals.bounds() {
                        Some((lo, hi)) if scaled => {
                            let (v, _) = Vals::range128(
                                lo as i128 * SCALE as i128,
                                hi as i128 * SCALE as i128,
                            );
                            v
                        }
                        Some((lo, hi)) => Vals::range(lo, hi),
                        None => Vals::full(),
                    };
                    (vals, true, Origin::Other)
                }
                MetricKind::Min | MetricKind::Max => (prop_vals, true, Origin::Other),
                MetricKind::Latest | MetricKind::First => {
                    (prop_vals, m.default.is_none(), Origin::Other)
                }
            };
            let vals = match m.default {
                Some(d) => vals.join(&Vals::Set(vec![d])),
                None => vals,
            };
            let info = SlotInfo {
                name: m.name.clone(),
                ty: Some(m.ty),
                value: AbsVal {
                    vals,
                    missing,
                    error: false,
                },
                origin,
            };
            self.set_slot(layout.metric_base + i as Slot, info);
        }
        let (stages, _) = self.type_vals(Type::Stage, None);
        self.set_slot(
            layout.stage,
            SlotInfo {
                name: "stage".into(),
                ty: Some(Type::Stage),
                value: AbsVal::of(stages),
                origin: Origin::Stage,
            },
        );
        let timestamp = |name: &str, missing: bool| SlotInfo {
            name: name.into(),
            ty: Some(Type::Timestamp),
            value: AbsVal {
                vals: Vals::full(),
                missing,
                error: false,
            },
            origin: Origin::Other,
        };
        self.set_slot(layout.stage_entered_at, timestamp("time_in_stage", false));
        self.set_slot(layout.first_seen, timestamp("first_seen", false));
        for (s, slot) in program.stages.iter().zip(&program.entered_at_slots) {
            if let Some(slot) = *slot {
                self.set_slot(slot, timestamp(&format!("entered_at({})", s.name), true));
            }
        }
        for (e, slot) in program.events.iter().zip(&program.last_seen_slots) {
            if let Some(slot) = *slot {
                self.set_slot(slot, timestamp(&format!("since last \"{}\"", e.name), true));
            }
        }
        for (i, m) in program.milestones.iter().enumerate() {
            self.set_slot(
                layout.milestone_base + i as Slot,
                SlotInfo {
                    name: format!("milestone {}", m.name),
                    ty: None,
                    value: AbsVal {
                        vals: Vals::Set(vec![1, 2, 3]),
                        missing: true,
                        error: false,
                    },
                    origin: Origin::Other,
                },
            );
        }
        // Scores, each after the scores it reads.
        let order: Vec<u32> = if program.score_order.len() == program.scores.len() {
            program.score_order.clone()
        } else {
            (0..program.scores.len() as u32).collect()
        };
        for i in order {
            let score = &program.scores[i as usize];
            let mut sum: Option<AbsVal> = None;
            let env = Env::default();
            for c in &score.components {
                let t = self.intern(&c.expr.expr);
                let v = self.eval(t, &env);
                let v = if c.negate { neg(&v) } else { v };
                sum = Some(match sum {
                    None => v,
                    Some(acc) => arith(ArithOp::Add, &acc, &v),
                });
            }
            let sum = sum.unwrap_or_else(|| AbsVal::konst(0));
            let (lo, hi) = sum.vals.bounds().map_or((score.low, score.high), |(a, b)| {
                (
                    a.clamp(score.low, score.high),
                    b.clamp(score.low, score.high),
                )
            });
            let info = SlotInfo {
                name: score.name.clone(),
                ty: Some(score.ty),
                value: AbsVal {
                    vals: Vals::range(lo, hi),
                    missing: sum.missing || sum.error || sum.vals.is_empty(),
                    error: false,
                },
                origin: Origin::Score,
            };
            self.set_slot(layout.score_base + i as Slot, info);
        }
        for c in &program.crossings {
            let t = self.intern(&c.value.expr);
            let v = self.eval(t, &Env::default());
            self.set_slot(
                c.slot,
                SlotInfo {
                    name: format!("the previous value of `{}`", c.value.source),
                    ty: Some(c.value.ty),
                    value: AbsVal {
                        vals: v.vals,
                        missing: true,
                        error: false,
                    },
                    origin: Origin::Other,
                },
            );
        }
    }

    /// The slot's static information, for the event in `env`.
    pub fn slot_info(&self, slot: Slot, event: Option<EventId>) -> Option<&SlotInfo> {
        let base = self.program.layout.prop_base;
        if slot >= base {
            let i = (slot - base) as usize;
            return match event {
                Some(e) => self.props.get(e as usize)?.get(i),
                None => self.slots.get(slot as usize),
            };
        }
        self.slots.get(slot as usize)
    }

    pub fn terms(&self) -> std::cell::Ref<'_, Terms> {
        self.terms.borrow()
    }

    pub fn stage_term(&self) -> TermId {
        self.stage_term
    }

    fn slot_type(&self, slot: Slot) -> Option<Type> {
        self.slots.get(slot as usize).and_then(|s| s.ty)
    }

    /// Interns an IR expression.
    pub fn intern(&self, e: &Expr) -> TermId {
        self.intern_with(e, None)
    }

    /// Interns an IR expression with one slot replaced by a constant (the
    /// current stage, for a transition tried from a known stage).
    pub fn intern_with(&self, e: &Expr, subst: Option<(Slot, i64)>) -> TermId {
        let (node, ty) = match e {
            Expr::Const(v) => (Node::Const(*v), None),
            Expr::Load(s) => match subst {
                Some((slot, v)) if slot == *s => (Node::Const(v), self.slot_type(*s)),
                _ => (Node::Load(*s), self.slot_type(*s)),
            },
            Expr::Now => (Node::Now, Some(Type::Timestamp)),
            Expr::Neg(a) => {
                let a = self.intern_with(a, subst);
                (Node::Neg(a), self.terms.borrow().ty(a))
            }
            Expr::Not(a) => (Node::Not(self.intern_with(a, subst)), Some(Type::Bool)),
            Expr::Arith(op, a, b) => {
                let (a, b) = (self.intern_with(a, subst), self.intern_with(b, subst));
                let terms = self.terms.borrow();
                let (ta, tb) = (terms.ty(a), terms.ty(b));
                let ty = match op {
                    ArithOp::Sub if ta == Some(Type::Timestamp) && tb == Some(Type::Timestamp) => {
                        Some(Type::Duration)
                    }
                    ArithOp::Sub if ta == Some(Type::Date) => Some(Type::Int),
                    ArithOp::Div if ta == Some(Type::Duration) && tb == Some(Type::Duration) => {
                        Some(Type::Int)
                    }
                    ArithOp::MulDecimal | ArithOp::DivDecimal | ArithOp::DivDecimalByInt => {
                        Some(Type::Decimal)
                    }
                    _ => ta.or(tb),
                };
                (Node::Arith(*op, a, b), ty)
            }
            Expr::Cmp(op, a, b) => (
                Node::Cmp(*op, self.intern_with(a, subst), self.intern_with(b, subst)),
                Some(Type::Bool),
            ),
            Expr::And(a, b) => (
                Node::And(self.intern_with(a, subst), self.intern_with(b, subst)),
                Some(Type::Bool),
            ),
            Expr::Or(a, b) => (
                Node::Or(self.intern_with(a, subst), self.intern_with(b, subst)),
                Some(Type::Bool),
            ),
            Expr::IsSet(a) => (Node::IsSet(self.intern_with(a, subst)), Some(Type::Bool)),
            Expr::Call(b, args) => {
                let args: Vec<TermId> = args.iter().map(|a| self.intern_with(a, subst)).collect();
                let first = args.first().and_then(|a| self.terms.borrow().ty(*a));
                let ty = match b {
                    Builtin::Min | Builtin::Max | Builtin::Clamp | Builtin::Abs => first,
                    Builtin::ToDecimal => Some(Type::Decimal),
                    Builtin::Round | Builtin::DurationIn(_) | Builtin::DaysUntil => Some(Type::Int),
                    Builtin::DurationOf(_) => Some(Type::Duration),
                    Builtin::DateOf => Some(Type::Date),
                };
                (Node::Call(*b, args), ty)
            }
            Expr::Since { ts, fallback } => (
                Node::Since {
                    ts: *ts,
                    fallback: *fallback,
                },
                Some(Type::Duration),
            ),
            Expr::Crosses {
                below,
                value,
                prev,
                threshold,
            } => (
                Node::Crosses {
                    below: *below,
                    value: self.intern_with(value, subst),
                    prev: *prev,
                    threshold: self.intern_with(threshold, subst),
                },
                Some(Type::Bool),
            ),
        };
        self.terms.borrow_mut().add(node, ty)
    }

    /// An environment for conditions evaluated with this event's properties
    /// loaded (`None`: no event).
    pub fn env(&self, event: Option<EventId>) -> Env {
        Env {
            event,
            refined: BTreeMap::new(),
        }
    }

    /// Restricts the current stage to `stages`.
    pub fn restrict_stages(&self, env: &mut Env, stages: &[StageId]) {
        let vals = Vals::set(stages.iter().map(|s| i64::from(*s)).collect());
        let current = self.eval(self.stage_term, env);
        env.refined
            .insert(self.stage_term, AbsVal::of(current.vals.meet(&vals)));
    }

    /// The abstract value of a term.
    pub fn eval(&self, t: TermId, env: &Env) -> AbsVal {
        let terms = self.terms.borrow();
        self.eval_in(&terms, t, env)
    }

    fn load(&self, slot: Slot, env: &Env) -> AbsVal {
        self.slot_info(slot, env.event)
            .map_or_else(AbsVal::full_maybe_missing, |s| s.value.clone())
    }

    /// Whether `slot` holds a time at or before `now`.
    fn is_past_time(&self, slot: Slot) -> bool {
        let l = &self.program.layout;
        slot == l.stage_entered_at
            || slot == l.first_seen
            || self.program.entered_at_slots.contains(&Some(slot))
            || self.program.last_seen_slots.contains(&Some(slot))
    }

    fn eval_in(&self, terms: &Terms, t: TermId, env: &Env) -> AbsVal {
        if let Some(v) = env.refined.get(&t) {
            return v.clone();
        }
        match terms.node(t) {
            Node::Const(v) => AbsVal::konst(*v),
            Node::Load(s) => self.load(*s, env),
            Node::Now => AbsVal::of(Vals::full()),
            Node::Neg(a) => neg(&self.eval_in(terms, *a, env)),
            Node::Not(a) => {
                let a = self.eval_in(terms, *a, env);
                AbsVal::bool_of(a.can_be(false), a.can_be(true), a.missing, a.error)
            }
            Node::Arith(op, a, b) => {
                // `now - t` for a time already past is never negative.
                if let (ArithOp::Sub, Node::Now, Node::Load(s)) =
                    (op, terms.node(*a), terms.node(*b))
                {
                    if self.is_past_time(*s) {
                        let l = self.eval_in(terms, *b, env);
                        return AbsVal {
                            vals: if l.vals.is_empty() {
                                Vals::Empty
                            } else {
                                Vals::Range(0, MAX)
                            },
                            missing: l.missing,
                            error: false,
                        };
                    }
                }
                let (a, b) = (self.eval_in(terms, *a, env), self.eval_in(terms, *b, env));
                arith(*op, &a, &b)
            }
            Node::Cmp(op, a, b) => {
                let (a, b) = (self.eval_in(terms, *a, env), self.eval_in(terms, *b, env));
                let t = can_hold(*op, &a.vals, &b.vals);
                let f = can_hold(negate(*op), &a.vals, &b.vals);
                AbsVal::bool_of(t, f, a.missing || b.missing, a.error || b.error)
            }
            Node::And(a, b) => {
                let (a, b) = (self.eval_in(terms, *a, env), self.eval_in(terms, *b, env));
                and3(&a, &b)
            }
            Node::Or(a, b) => {
                let (a, b) = (self.eval_in(terms, *a, env), self.eval_in(terms, *b, env));
                or3(&a, &b)
            }
            Node::IsSet(a) => {
                let a = self.eval_in(terms, *a, env);
                AbsVal::bool_of(!a.vals.is_empty(), a.missing, false, a.error)
            }
            Node::Call(b, args) => {
                let args: Vec<AbsVal> = args.iter().map(|a| self.eval_in(terms, *a, env)).collect();
                call(*b, &args)
            }
            Node::Since { ts, .. } => {
                // The event being processed was recorded before anything
                // is evaluated: `since last` it is 0.
                let current = env
                    .event
                    .is_some_and(|e| self.program.last_seen_slots[e as usize] == Some(*ts));
                AbsVal::of(if current {
                    Vals::Set(vec![0])
                } else {
                    Vals::Range(0, MAX)
                })
            }
            Node::Crosses {
                below,
                value,
                prev,
                threshold,
            } => {
                let v = self.eval_in(terms, *value, env);
                let th = self.eval_in(terms, *threshold, env);
                let p = self.load(*prev, env);
                let (before, after) = if *below {
                    (CmpOp::Ge, CmpOp::Lt)
                } else {
                    (CmpOp::Le, CmpOp::Gt)
                };
                let crossed = AbsVal::bool_of(
                    can_hold(before, &p.vals, &th.vals),
                    can_hold(negate(before), &p.vals, &th.vals),
                    p.missing || th.missing,
                    p.error || th.error,
                );
                let now = AbsVal::bool_of(
                    can_hold(after, &v.vals, &th.vals),
                    can_hold(negate(after), &v.vals, &th.vals),
                    v.missing || th.missing,
                    v.error || th.error,
                );
                and3(&crossed, &now)
            }
        }
    }

    /// Environments in which every term of `conj` is true. Empty: the
    /// conjunction can never hold.
    pub fn sat(&self, conj: &[TermId], env: &Env) -> Vec<Env> {
        let terms = self.terms.borrow();
        let mut envs = vec![env.clone()];
        for t in conj {
            let mut next = Vec::new();
            for e in &envs {
                next.extend(self.sat_in(&terms, *t, true, e));
            }
            envs = cap(next);
            if envs.is_empty() {
                break;
            }
        }
        envs
    }

    pub fn can_be_true(&self, conj: &[TermId], env: &Env) -> bool {
        !self.sat(conj, env).is_empty()
    }

    /// Whether the conjunction can be anything but true (false, missing or
    /// an error) in `env`.
    pub fn can_fail(&self, conj: &[TermId], env: &Env) -> bool {
        let terms = self.terms.borrow();
        conj.iter().any(|t| {
            let v = self.eval_in(&terms, *t, env);
            v.missing || v.error || !self.sat_in(&terms, *t, false, env).is_empty()
        })
    }

    /// Whether the conjunction is true in every state of `env`.
    pub fn always_true(&self, conj: &[TermId], env: &Env) -> bool {
        !self.can_fail(conj, env)
    }

    fn sat_in(&self, terms: &Terms, t: TermId, want: bool, env: &Env) -> Vec<Env> {
        match terms.node(t) {
            Node::And(a, b) | Node::Or(a, b) => {
                let conj = matches!(terms.node(t), Node::And(..)) == want;
                if conj {
                    // Both sides must take `want`.
                    let mut out = Vec::new();
                    for e in self.sat_in(terms, *a, want, env) {
                        out.extend(self.sat_in(terms, *b, want, &e));
                    }
                    cap(out)
                } else {
                    let mut out = self.sat_in(terms, *a, want, env);
                    out.extend(self.sat_in(terms, *b, want, env));
                    cap(out)
                }
            }
            Node::Not(a) => self.sat_in(terms, *a, !want, env),
            Node::Cmp(op, a, b) => self
                .refine_cmp(terms, *op, *a, *b, want, env)
                .into_iter()
                .collect(),
            Node::IsSet(a) => {
                let v = self.eval_in(terms, *a, env);
                let mut e = env.clone();
                let ok = if want {
                    !v.vals.is_empty() && self.refine(terms, &mut e, *a, AbsVal::of(v.vals.clone()))
                } else {
                    v.missing
                        && self.refine(
                            terms,
                            &mut e,
                            *a,
                            AbsVal {
                                vals: Vals::Empty,
                                missing: true,
                                error: false,
                            },
                        )
                };
                if ok {
                    vec![e]
                } else {
                    Vec::new()
                }
            }
            Node::Crosses {
                below,
                value,
                prev,
                threshold,
            } => {
                let (before, after) = if *below {
                    (CmpOp::Ge, CmpOp::Lt)
                } else {
                    (CmpOp::Le, CmpOp::Gt)
                };
                let prev_can = |e: &Env, want: bool| {
                    let p = self.load(*prev, e);
                    let th = self.eval_in(terms, *threshold, e);
                    let op = if want { before } else { negate(before) };
                    can_hold(op, &p.vals, &th.vals)
                };
                if want {
                    self.refine_cmp(terms, after, *value, *threshold, true, env)
                        .filter(|e| prev_can(e, true))
                        .into_iter()
                        .collect()
                } else {
                    let mut out: Vec<Env> = self
                        .refine_cmp(terms, after, *value, *threshold, false, env)
                        .into_iter()
                        .collect();
                    if prev_can(env, false) {
                        out.push(env.clone());
                    }
                    out
                }
            }
            _ => {
                let v = self.eval_in(terms, t, env);
                if !v.can_be(want) {
                    return Vec::new();
                }
                let mut e = env.clone();
                if self.refine(terms, &mut e, t, AbsVal::konst(i64::from(want))) {
                    vec![e]
                } else {
                    Vec::new()
                }
            }
        }
    }

    fn refine_cmp(
        &self,
        terms: &Terms,
        op: CmpOp,
        a: TermId,
        b: TermId,
        want: bool,
        env: &Env,
    ) -> Option<Env> {
        let op = if want { op } else { negate(op) };
        let va = self.eval_in(terms, a, env);
        let vb = self.eval_in(terms, b, env);
        if !can_hold(op, &va.vals, &vb.vals) {
            return None;
        }
        let (na, nb) = narrow(op, &va.vals, &vb.vals);
        let mut e = env.clone();
        if !self.refine(terms, &mut e, a, AbsVal::of(na)) {
            return None;
        }
        // `a` may occur in `b` (`x < x + 1`): re-read `b`.
        let vb2 = self.eval_in(terms, b, &e);
        let nb = nb.meet(&vb2.vals);
        if !self.refine(terms, &mut e, b, AbsVal::of(nb)) {
            return None;
        }
        Some(e)
    }

    /// Records that term `t` takes a value in `v`; propagates to the operand
    /// of invertible operations. False when no value is left.
    fn refine(&self, terms: &Terms, env: &mut Env, t: TermId, v: AbsVal) -> bool {
        let current = self.eval_in(terms, t, env);
        let vals = current.vals.meet(&v.vals);
        let missing = current.missing && v.missing;
        if vals.is_empty() && !missing {
            return false;
        }
        match terms.node(t) {
            Node::Const(_) => return true,
            Node::Arith(op, x, y) => {
                let (cx, cy) = (terms.node(*x), terms.node(*y));
                let inverse = match (op, cx, cy) {
                    (ArithOp::Add, _, Node::Const(c)) => Some((*x, shift(&vals, -(*c as i128)))),
                    (ArithOp::Add, Node::Const(c), _) => Some((*y, shift(&vals, -(*c as i128)))),
                    (ArithOp::Sub, _, Node::Const(c)) => Some((*x, shift(&vals, *c as i128))),
                    (ArithOp::Sub, Node::Const(c), _) => {
                        Some((*y, shift(&neg_vals(&vals), *c as i128)))
                    }
                    (ArithOp::Mul, _, Node::Const(c)) if *c != 0 => Some((*x, unscale(&vals, *c))),
                    (ArithOp::Mul, Node::Const(c), _) if *c != 0 => Some((*y, unscale(&vals, *c))),
                    _ => None,
                };
                if let Some((child, cv)) = inverse {
                    if !vals.is_empty() && !self.refine(terms, env, child, AbsVal::of(cv)) {
                        return false;
                    }
                }
            }
            Node::Neg(x)
                if !vals.is_empty()
                    && !self.refine(terms, env, *x, AbsVal::of(neg_vals(&vals))) =>
            {
                return false;
            }
            Node::Call(Builtin::ToDecimal, args)
                if args.len() == 1
                    && !vals.is_empty()
                    && !self.refine(terms, env, args[0], AbsVal::of(unscale(&vals, SCALE))) =>
            {
                return false;
            }
            _ => {}
        }
        env.refined.insert(
            t,
            AbsVal {
                vals,
                missing,
                error: current.error && v.error,
            },
        );
        true
    }
}

fn shift(v: &Vals, c: i128) -> Vals {
    let f = |x: i64| -> i64 {
        if x == MIN || x == MAX {
            x
        } else {
            (x as i128 + c).clamp(MIN as i128, MAX as i128) as i64
        }
    };
    match v {
        Vals::Empty => Vals::Empty,
        Vals::Range(lo, hi) => Vals::range(f(*lo), f(*hi)),
        Vals::Set(s) => Vals::set(s.iter().map(|x| f(*x)).collect()),
    }
}

fn neg_vals(v: &Vals) -> Vals {
    let f = |x: i64| x.checked_neg().unwrap_or(MAX);
    match v {
        Vals::Empty => Vals::Empty,
        Vals::Range(lo, hi) => Vals::range(f(*hi), f(*lo)),
        Vals::Set(s) => Vals::set(s.iter().map(|x| f(*x)).collect()),
    }
}

/// The `x` with `x * c` in `v` (an interval).
fn unscale(v: &Vals, c: i64) -> Vals {
    let Some((lo, hi)) = v.bounds() else {
        return Vals::Empty;
    };
    let c = c as i128;
    let edge = |x: i64, up: bool| -> i128 {
        if x == MIN {
            if c > 0 {
                MIN as i128
            } else {
                MAX as i128
            }
        } else if x == MAX {
            if c > 0 {
                MAX as i128
            } else {
                MIN as i128
            }
        } else if up {
            ceil_div(x as i128, c)
        } else {
            floor_div(x as i128, c)
        }
    };
    let (a, b) = if c > 0 {
        (edge(lo, true), edge(hi, false))
    } else {
        (edge(hi, true), edge(lo, false))
    };
    Vals::range128(a, b).0
}

fn neg(a: &AbsVal) -> AbsVal {
    let error = a.error || a.vals.contains(MIN);
    AbsVal {
        vals: neg_vals(&a.vals),
        missing: a.missing,
        error,
    }
}

fn arith(op: ArithOp, a: &AbsVal, b: &AbsVal) -> AbsVal {
    let (vals, error) = arith_vals(op, &a.vals, &b.vals);
    AbsVal {
        vals,
        missing: a.missing || b.missing,
        error: error || a.error || b.error,
    }
}

/// Three-valued `and` (`docs/semantics.md` §7.3).
fn and3(a: &AbsVal, b: &AbsVal) -> AbsVal {
    let (at, af, ao, ae) = (a.can_be(true), a.can_be(false), a.missing, a.error);
    let (bt, bf, bo, be) = (b.can_be(true), b.can_be(false), b.missing, b.error);
    AbsVal::bool_of(
        at && bt,
        af || bf,
        (ao && (bt || bo)) || (bo && (at || ao)),
        (ae && (bt || bo || be)) || (be && (at || ao || ae)),
    )
}

/// Three-valued `or`.
fn or3(a: &AbsVal, b: &AbsVal) -> AbsVal {
    let (at, af, ao, ae) = (a.can_be(true), a.can_be(false), a.missing, a.error);
    let (bt, bf, bo, be) = (b.can_be(true), b.can_be(false), b.missing, b.error);
    AbsVal::bool_of(
        at || bt,
        af && bf,
        (ao && (bf || bo)) || (bo && (af || ao)),
        (ae && (bf || bo || be)) || (be && (af || ao || ae)),
    )
}

fn monotone(a: &AbsVal, f: impl Fn(i64) -> Option<i64>) -> AbsVal {
    if let Some((vals, error)) = a.vals.map_set(&f) {
        return AbsVal {
            vals,
            missing: a.missing,
            error: a.error || error,
        };
    }
    match a.vals.bounds() {
        None => AbsVal {
            vals: Vals::Empty,
            missing: a.missing,
            error: a.error,
        },
        Some((lo, hi)) => {
            let (l, h) = (f(lo), f(hi));
            AbsVal {
                vals: Vals::range(l.unwrap_or(MIN), h.unwrap_or(MAX)),
                missing: a.missing,
                error: a.error || l.is_none() || h.is_none(),
            }
        }
    }
}

fn min_max(a: &AbsVal, b: &AbsVal, max: bool) -> AbsVal {
    let missing = a.missing || b.missing;
    let error = a.error || b.error;
    let vals = match (a.vals.bounds(), b.vals.bounds()) {
        (Some((al, ah)), Some((bl, bh))) => {
            if let (Vals::Set(x), Vals::Set(y)) = (&a.vals, &b.vals) {
                if x.len() * y.len() <= SET_MAX {
                    let mut out = Vec::new();
                    for p in x {
                        for q in y {
                            out.push(if max { *p.max(q) } else { *p.min(q) });
                        }
                    }
                    return AbsVal {
                        vals: Vals::set(out),
                        missing,
                        error,
                    };
                }
            }
            if max {
                Vals::range(al.max(bl), ah.max(bh))
            } else {
                Vals::range(al.min(bl), ah.min(bh))
            }
        }
        _ => Vals::Empty,
    };
    AbsVal {
        vals,
        missing,
        error,
    }
}

fn call(b: Builtin, args: &[AbsVal]) -> AbsVal {
    let missing_arg = AbsVal::full_maybe_missing();
    let arg = |i: usize| args.get(i).unwrap_or(&missing_arg);
    match b {
        Builtin::Min => min_max(arg(0), arg(1), false),
        Builtin::Max => min_max(arg(0), arg(1), true),
        Builtin::Clamp => {
            let bounds = arg(1).join(arg(2));
            let bounds = AbsVal {
                missing: arg(1).missing || arg(2).missing,
                ..bounds
            };
            let r = min_max(arg(0), &bounds, true);
            min_max(&r, arg(2), false)
        }
        Builtin::Abs => {
            let a = arg(0);
            match a.vals.bounds() {
                Some((lo, _)) if lo >= 0 => a.clone(),
                Some((_, hi)) if hi <= 0 => neg(a),
                Some((lo, hi)) => AbsVal {
                    vals: Vals::range(0, lo.checked_neg().unwrap_or(MAX).max(hi)),
                    missing: a.missing,
                    error: a.error || lo == MIN,
                },
                None => a.clone(),
            }
        }
        Builtin::ToDecimal => monotone(arg(0), |x| x.checked_mul(SCALE)),
        Builtin::Round => monotone(arg(0), |x| Some(stagecraft_ir::decimal::round(x))),
        Builtin::DurationIn(u) => monotone(arg(0), |x| Some(x / u.max(1))),
        Builtin::DurationOf(u) => monotone(arg(0), |x| x.checked_mul(u)),
        Builtin::DateOf => monotone(arg(0), |x| Some(x.div_euclid(86_400_000))),
        Builtin::DaysUntil => AbsVal {
            vals: if arg(0).vals.is_empty() {
                Vals::Empty
            } else {
                Vals::full()
            },
            missing: arg(0).missing,
            error: arg(0).error,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrowing_intervals() {
        let a = Vals::Range(0, 100);
        let b = Vals::Set(vec![100]);
        assert!(!can_hold(CmpOp::Gt, &a, &b));
        assert!(can_hold(CmpOp::Ge, &a, &b));
        let (na, _) = narrow(CmpOp::Lt, &a, &Vals::Set(vec![10]));
        assert_eq!(na, Vals::Range(0, 9));
    }

    #[test]
    fn unscale_rounds_inward() {
        assert_eq!(unscale(&Vals::Range(5, 9), 2), Vals::Range(3, 4));
        assert_eq!(unscale(&Vals::Range(-9, -5), 2), Vals::Range(-4, -3));
        assert_eq!(unscale(&Vals::Range(4, 8), -2), Vals::Range(-4, -2));
    }

    #[test]
    fn division_by_a_range_with_zero_may_error() {
        let (v, err) = arith_vals(ArithOp::Div, &Vals::Range(10, 20), &Vals::Range(-1, 2));
        assert!(err);
        assert_eq!(v.bounds(), Some((-20, 20)));
    }
}
