//! Declarations: collects names, types fields, lays out the frame, and lowers
//! every declaration into the IR. Expressions are typed in `typing.rs`.

use hashbrown::HashMap;
use stagecraft_ir as ir;
use stagecraft_ir::{Slot, Type};
use stagecraft_syntax::ast::{self, Item};
use stagecraft_syntax::Span;

use crate::error::CheckError;
use crate::suggest::did_you_mean;
use crate::typing::Scope;

/// A name usable in expressions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ValueName {
    Trait(u32),
    Metric(u32),
    Score(u32),
    Segment(u32),
}

/// How far a segment or score definition has been checked (for cycles).
#[derive(Debug, Clone)]
pub(crate) enum Resolution<T> {
    Pending,
    InProgress,
    Done(Option<T>),
}

pub(crate) struct Checker<'a> {
    pub source: &'a str,
    pub ast: &'a ast::Playbook,
    pub errors: Vec<CheckError>,
    pub enums: Vec<ir::EnumDef>,
    pub strings: Vec<String>,
    pub string_ids: HashMap<String, i64>,
    pub values: HashMap<String, (ValueName, Span)>,
    pub traits: Vec<ir::FieldDef>,
    pub events: Vec<ir::EventDef>,
    pub event_ids: HashMap<String, u32>,
    pub stages: Vec<ir::StageDef>,
    pub stage_ids: HashMap<String, u32>,
    pub milestone_ids: HashMap<String, u32>,
    pub rule_ids: HashMap<String, u32>,
    pub metric_types: Vec<Option<Type>>,
    pub score_decls: Vec<&'a ast::ScoreDecl>,
    pub score_types: Vec<Resolution<(Type, Vec<ir::ScoreComponent>)>>,
    pub score_deps: Vec<Vec<u32>>,
    pub segment_decls: Vec<&'a ast::SegmentDecl>,
    pub segments: Vec<Resolution<ir::TypedExpr>>,
    /// The score whose components are being typed (to record dependencies).
    pub current_score: Option<u32>,
    pub crossings: Vec<ir::CrossingDef>,
    pub entered_at_slots: Vec<Option<ir::Slot>>,
    pub last_seen_slots: Vec<Option<ir::Slot>>,
    /// Slots allocated after `layout.on_demand_base` so far.
    pub on_demand_slots: u32,
    pub layout: ir::Layout,
    /// Segments and scores being checked, innermost last (to name cycles).
    pub resolving: Vec<String>,
}

/// A time an expression can ask about.
#[derive(Debug, Clone, Copy)]
pub enum TimeOf {
    /// When the subject last entered a stage (`entered_at(stage)`).
    Entry(u32),
    /// When an event last occurred (`since last "Event"`).
    Event(u32),
}

pub(crate) fn sspan(span: Span) -> ir::SourceSpan {
    ir::SourceSpan {
        start: span.start,
        end: span.end,
    }
}

impl<'a> Checker<'a> {
    pub fn new(source: &'a str, ast: &'a ast::Playbook) -> Self {
        Checker {
            source,
            ast,
            errors: Vec::new(),
            enums: Vec::new(),
            strings: Vec::new(),
            string_ids: HashMap::new(),
            values: HashMap::new(),
            traits: Vec::new(),
            events: Vec::new(),
            event_ids: HashMap::new(),
            stages: Vec::new(),
            stage_ids: HashMap::new(),
            milestone_ids: HashMap::new(),
            rule_ids: HashMap::new(),
            metric_types: Vec::new(),
            score_decls: Vec::new(),
            score_types: Vec::new(),
            score_deps: Vec::new(),
            segment_decls: Vec::new(),
            segments: Vec::new(),
            current_score: None,
            crossings: Vec::new(),
            entered_at_slots: Vec::new(),
            last_seen_slots: Vec::new(),
            on_demand_slots: 0,
            layout: ir::Layout::default(),
            resolving: Vec::new(),
        }
    }

    pub fn text(&self, span: Span) -> String {
        self.source
            .get(span.start..span.end)
            .unwrap_or_default()
            .to_string()
    }

    pub fn intern(&mut self, s: &str) -> i64 {
        if let Some(id) = self.string_ids.get(s) {
            return *id;
        }
        let id = self.strings.len() as i64;
        self.strings.push(s.to_string());
        self.string_ids.insert(s.to_string(), id);
        id
    }

    pub fn type_name(&self, ty: Type) -> String {
        match ty {
            Type::Bool => "bool".into(),
            Type::Int => "int".into(),
            Type::Decimal => "decimal".into(),
            Type::String => "string".into(),
            Type::Duration => "duration".into(),
            Type::Timestamp => "timestamp".into(),
            Type::Date => "date".into(),
            Type::Timezone => "timezone".into(),
            Type::Stage => "stage".into(),
            Type::Enum(i) => match self.enums.get(i as usize) {
                Some(e) => format!("enum {{ {} }}", e.variants.join(", ")),
                None => "enum".into(),
            },
        }
    }

    /// Runs every check and builds the program; `None` when errors were found.
    pub fn run(mut self) -> Result<ir::Program, Vec<CheckError>> {
        self.header();
        self.collect();
        self.layout();
        let metrics = self.metrics();
        self.check_segments();
        let (scores, score_order) = self.scores();
        let transitions = self.transitions();
        let manual = self.manual();
        let milestones = self.milestones();
        let mut rules = self.rules();
        let escalations = self.escalations();
        let policy = self.policy(&mut rules);
        if !self.errors.is_empty() {
            return Err(self.errors);
        }
        let segments = self
            .segment_decls
            .iter()
            .zip(&self.segments)
            .filter_map(|(decl, res)| match res {
                Resolution::Done(Some(cond)) => Some(ir::SegmentDef {
                    name: decl.name.name.clone(),
                    cond: cond.clone(),
                    span: sspan(decl.span),
                }),
                _ => None,
            })
            .collect();
        let mut layout = self.layout;
        layout.len = layout.on_demand_base + self.on_demand_slots;
        let header = &self.ast.header;
        Ok(ir::Program {
            name: header.name.value.clone(),
            version: header
                .version
                .as_ref()
                .map_or_else(|| "1".to_string(), |v| v.value.clone()),
            language: header.language.map_or(1, |(v, _)| v),
            subject_per: header
                .subject
                .as_ref()
                .and_then(|s| s.per.as_ref())
                .map(|p| p.value.clone()),
            enums: self.enums,
            strings: self.strings,
            traits: self.traits,
            events: self.events,
            metrics,
            scores,
            score_order,
            segments,
            stages: self.stages,
            transitions,
            manual,
            milestones,
            rules,
            escalations,
            policy,
            crossings: self.crossings,
            entered_at_slots: self.entered_at_slots,
            last_seen_slots: self.last_seen_slots,
            layout,
        })
    }

    fn header(&mut self) {
        let header = &self.ast.header;
        match header.language {
            None => self.errors.push(CheckError::LanguageVersion {
                message: "the playbook header does not say its language version".into(),
                span: header.span,
            }),
            Some((1, _)) => {}
            Some((v, span)) => self.errors.push(CheckError::LanguageVersion {
                message: format!("language version `{v}` is not supported"),
                span,
            }),
        }
    }

    fn duplicate(&mut self, kind: &'static str, name: &ast::Ident, first: Span) {
        self.errors.push(CheckError::Duplicate {
            kind,
            name: name.name.clone(),
            span: name.span,
            first,
        });
    }

    fn declare_value(&mut self, ident: &ast::Ident, value: ValueName) {
        if ident.name.is_empty() {
            return;
        }
        if let Some((_, first)) = self.values.get(&ident.name) {
            let first = *first;
            self.duplicate("name", ident, first);
            return;
        }
        self.values.insert(ident.name.clone(), (value, ident.span));
    }

    /// First pass: every name, so declarations may refer to later ones.
    fn collect(&mut self) {
        let ast = self.ast;
        let mut stage_blocks: Option<Span> = None;
        let mut rule_spans: HashMap<String, Span> = HashMap::new();
        let mut milestone_spans: HashMap<String, Span> = HashMap::new();
        let mut event_spans: HashMap<String, Span> = HashMap::new();
        let mut metric_count = 0u32;
        for item in &ast.items {
            match item {
                Item::Traits(block) => {
                    for field in &block.fields {
                        let index = self.traits.len() as u32;
                        let def = self.field(field, true);
                        self.traits.push(def);
                        self.declare_value(&field.name, ValueName::Trait(index));
                    }
                }
                Item::Event(decl) => {
                    if let Some(first) = event_spans.get(&decl.name.value) {
                        self.errors.push(CheckError::Duplicate {
                            kind: "event",
                            name: decl.name.value.clone(),
                            span: decl.name.span,
                            first: *first,
                        });
                        continue;
                    }
                    event_spans.insert(decl.name.value.clone(), decl.name.span);
                    let mut props: Vec<ir::FieldDef> = Vec::new();
                    let mut seen: HashMap<&str, Span> = HashMap::new();
                    for field in &decl.fields {
                        if let Some(first) = seen.get(field.name.name.as_str()) {
                            let first = *first;
                            self.duplicate("property", &field.name, first);
                            continue;
                        }
                        seen.insert(&field.name.name, field.name.span);
                        props.push(self.field(field, false));
                    }
                    self.event_ids
                        .insert(decl.name.value.clone(), self.events.len() as u32);
                    self.events.push(ir::EventDef {
                        name: decl.name.value.clone(),
                        props,
                        span: sspan(decl.span),
                    });
                }
                Item::Metric(decl) => {
                    self.declare_value(&decl.name, ValueName::Metric(metric_count));
                    metric_count += 1;
                }
                Item::Score(decl) => {
                    let index = self.score_decls.len() as u32;
                    self.score_decls.push(decl);
                    self.score_types.push(Resolution::Pending);
                    self.score_deps.push(Vec::new());
                    self.declare_value(&decl.name, ValueName::Score(index));
                }
                Item::Segment(decl) => {
                    let index = self.segment_decls.len() as u32;
                    self.segment_decls.push(decl);
                    self.segments.push(Resolution::Pending);
                    self.declare_value(&decl.name, ValueName::Segment(index));
                }
                Item::Stages(block) => {
                    if let Some(first) = stage_blocks {
                        self.errors.push(CheckError::Duplicate {
                            kind: "block",
                            name: "stages".into(),
                            span: block.span,
                            first,
                        });
                        continue;
                    }
                    stage_blocks = Some(block.span);
                    self.stage_block(block);
                }
                Item::Milestone(decl) => {
                    if let Some(first) = milestone_spans.get(&decl.name.name) {
                        let first = *first;
                        self.duplicate("milestone", &decl.name, first);
                        continue;
                    }
                    milestone_spans.insert(decl.name.name.clone(), decl.name.span);
                    let index = self.milestone_ids.len() as u32;
                    self.milestone_ids.insert(decl.name.name.clone(), index);
                }
                Item::Rule(ast::RuleDecl { name, .. })
                | Item::Escalation(ast::EscalationDecl { name, .. }) => {
                    if let Some(first) = rule_spans.get(&name.name) {
                        let first = *first;
                        self.duplicate("rule", name, first);
                        continue;
                    }
                    rule_spans.insert(name.name.clone(), name.span);
                    if matches!(item, Item::Rule(_)) {
                        let index = self.rule_ids.len() as u32;
                        self.rule_ids.insert(name.name.clone(), index);
                    }
                }
                _ => {}
            }
        }
        self.metric_types = vec![None; metric_count as usize];
        if stage_blocks.is_none() {
            self.errors.push(CheckError::NoStages {
                span: ast.header.span,
            });
        }
    }

    fn stage_block(&mut self, block: &ast::StagesBlock) {
        let mut first_initial: Option<Span> = None;
        for decl in &block.stages {
            if let Some(&id) = self.stage_ids.get(&decl.name.name) {
                let first = self.ast_stage_span(block, id);
                self.duplicate("stage", &decl.name, first);
                continue;
            }
            if let (Some(i), Some(_)) = (decl.initial, decl.terminal) {
                self.errors.push(CheckError::InitialAndTerminal {
                    name: decl.name.name.clone(),
                    span: i.join(decl.span),
                });
            }
            if let Some(span) = decl.initial {
                match first_initial {
                    Some(first) => self
                        .errors
                        .push(CheckError::MultipleInitial { span, first }),
                    None => first_initial = Some(span),
                }
            }
            self.stage_ids
                .insert(decl.name.name.clone(), self.stages.len() as u32);
            self.stages.push(ir::StageDef {
                name: decl.name.name.clone(),
                label: decl.label.as_ref().map(|l| l.value.clone()),
                initial: decl.initial.is_some(),
                terminal: decl.terminal.is_some(),
                span: sspan(decl.span),
            });
        }
        if first_initial.is_none() {
            self.errors
                .push(CheckError::MissingInitial { span: block.span });
        }
    }

    fn ast_stage_span(&self, block: &ast::StagesBlock, id: u32) -> Span {
        let name = &self.stages[id as usize].name;
        block
            .stages
            .iter()
            .find(|s| &s.name.name == name)
            .map_or(block.span, |s| s.name.span)
    }

    // ------------------------------------------------------------ fields

    fn field_type(&mut self, ty: &ast::TypeExpr) -> Type {
        match ty {
            ast::TypeExpr::Prim(p, _) => match p {
                ast::PrimType::Bool => Type::Bool,
                ast::PrimType::Int => Type::Int,
                ast::PrimType::Decimal | ast::PrimType::Money => Type::Decimal,
                ast::PrimType::String => Type::String,
                ast::PrimType::Duration => Type::Duration,
                ast::PrimType::Timestamp => Type::Timestamp,
                ast::PrimType::Date => Type::Date,
                ast::PrimType::Timezone => Type::Timezone,
            },
            ast::TypeExpr::Enum(variants, _) => {
                let mut names: Vec<String> = Vec::new();
                for v in variants {
                    if names.contains(&v.name) {
                        let first = variants
                            .iter()
                            .find(|x| x.name == v.name)
                            .map_or(v.span, |x| x.span);
                        self.duplicate("enum value", v, first);
                    } else {
                        names.push(v.name.clone());
                    }
                }
                self.enums.push(ir::EnumDef { variants: names });
                Type::Enum(self.enums.len() as u32 - 1)
            }
        }
    }

    fn field(&mut self, field: &ast::FieldDecl, is_trait: bool) -> ir::FieldDef {
        let ty = self.field_type(&field.ty);
        let range = field.range.as_ref().and_then(|r| self.range(r, ty));
        let default = match &field.default {
            Some(lit) if field.optional => {
                self.errors.push(CheckError::OptionalWithDefault {
                    name: field.name.name.clone(),
                    span: lit.span(),
                });
                None
            }
            Some(lit) if !is_trait => {
                self.errors.push(CheckError::NotAllowed {
                    what: "a default on an event property",
                    help: "event properties come from the event; only traits have defaults",
                    span: lit.span(),
                });
                None
            }
            Some(lit) => {
                let value = self.literal_value(lit, ty);
                if let (Some(v), Some((lo, hi))) = (value, range) {
                    if v < lo || v > hi {
                        let r = field.range.as_ref();
                        self.errors.push(CheckError::DefaultOutOfRange {
                            value: self.text(lit.span()),
                            low: r.map_or_else(String::new, |r| r.low.text.clone()),
                            high: r.map_or_else(String::new, |r| r.high.text.clone()),
                            span: lit.span(),
                        });
                    }
                }
                value
            }
            None if is_trait && !field.optional => Some(self.zero_value(ty)),
            None => None,
        };
        ir::FieldDef {
            name: field.name.name.clone(),
            ty,
            optional: field.optional,
            range,
            default,
            span: sspan(field.span),
        }
    }

    /// The value a non-optional trait has when no default is written.
    fn zero_value(&mut self, ty: Type) -> i64 {
        match ty {
            Type::String => self.intern(""),
            Type::Timezone => self.intern("UTC"),
            _ => 0,
        }
    }

    fn range(&mut self, range: &ast::RangeDecl, ty: Type) -> Option<(i64, i64)> {
        if !matches!(ty, Type::Int | Type::Decimal) {
            self.errors.push(CheckError::BadRange {
                low: range.low.text.clone(),
                high: range.high.text.clone(),
                span: range.span,
                reason: format!("a `{}` has no numeric range", self.type_name(ty)),
                help: Some("ranges apply to `int`, `decimal` and `money`".into()),
            });
            return None;
        }
        let lo = self.number_value(&range.low, ty)?;
        let hi = self.number_value(&range.high, ty)?;
        if lo > hi {
            self.errors.push(CheckError::BadRange {
                low: range.low.text.clone(),
                high: range.high.text.clone(),
                span: range.span,
                reason: "the low bound is above the high bound".into(),
                help: Some(format!("write `{}..{}`", range.high.text, range.low.text)),
            });
            return None;
        }
        Some((lo, hi))
    }

    pub fn number_value(&mut self, number: &ast::NumberLit, ty: Type) -> Option<i64> {
        match ty {
            Type::Decimal => {
                let v = ir::decimal::parse(&number.text);
                if v.is_none() {
                    self.errors.push(CheckError::BadLiteral {
                        text: number.text.clone(),
                        what: "decimal",
                        span: number.span,
                        help: Some("decimals have at most 6 digits after the point".into()),
                    });
                }
                v
            }
            _ if number.is_decimal => {
                self.errors.push(CheckError::Mismatch {
                    expected: "int".into(),
                    found: "decimal".into(),
                    span: number.span,
                    help: Some("this bound belongs to an `int`; write a whole number".into()),
                });
                None
            }
            _ => number.text.parse().ok(),
        }
    }

    /// The encoded value of a literal of a known type (defaults).
    pub fn literal_value(&mut self, lit: &ast::Literal, ty: Type) -> Option<i64> {
        let span = lit.span();
        let mismatch = |this: &mut Self, found: &str| {
            let expected = this.type_name(ty);
            this.errors.push(CheckError::Mismatch {
                expected,
                found: found.into(),
                span,
                help: None,
            });
            None
        };
        match (lit, ty) {
            (ast::Literal::Int(v, _), Type::Int) => Some(*v),
            (ast::Literal::Int(v, _), Type::Decimal) => {
                v.checked_mul(ir::decimal::SCALE).or_else(|| {
                    self.errors.push(CheckError::BadLiteral {
                        text: v.to_string(),
                        what: "decimal",
                        span,
                        help: Some("decimals lie within ±9223372036854.775807".into()),
                    });
                    None
                })
            }
            (ast::Literal::Decimal(text, _), Type::Decimal) => {
                let v = ir::decimal::parse(text);
                if v.is_none() {
                    self.errors.push(CheckError::BadLiteral {
                        text: text.clone(),
                        what: "decimal",
                        span,
                        help: Some("decimals have at most 6 digits after the point".into()),
                    });
                }
                v
            }
            (ast::Literal::Negative(inner, _), Type::Decimal | Type::Duration) => {
                self.literal_value(inner, ty).map(|v| -v)
            }
            (ast::Literal::Bool(b, _), Type::Bool) => Some(i64::from(*b)),
            (ast::Literal::Duration(d), Type::Duration) => Some(d.millis),
            (ast::Literal::Str(s), Type::String) => Some(self.intern(&s.value)),
            (ast::Literal::Str(s), Type::Timezone) => self.timezone(&s.value, span),
            (ast::Literal::Str(s), Type::Date) => self.date(&s.value, span),
            (ast::Literal::Str(s), Type::Timestamp) => self.timestamp(&s.value, span),
            (ast::Literal::Name(n), Type::Enum(e)) => self.enum_value(e, n),
            (ast::Literal::Name(n), Type::Stage) => self.stage_value(n),
            (ast::Literal::Int(..), _) => mismatch(self, "int"),
            (ast::Literal::Decimal(..), _) => mismatch(self, "decimal"),
            (ast::Literal::Negative(..), _) => mismatch(self, "negative number"),
            (ast::Literal::Bool(..), _) => mismatch(self, "bool"),
            (ast::Literal::Duration(..), _) => mismatch(self, "duration"),
            (ast::Literal::Str(..), _) => mismatch(self, "string"),
            (ast::Literal::Name(n), _) => {
                let found = n.name.clone();
                mismatch(self, &found)
            }
        }
    }

    pub fn enum_value(&mut self, e: u32, name: &ast::Ident) -> Option<i64> {
        let variants = self.enums.get(e as usize).map(|d| d.variants.clone())?;
        match variants.iter().position(|v| v == &name.name) {
            Some(i) => Some(i as i64),
            None => {
                self.errors.push(CheckError::UnknownEnumValue {
                    name: name.name.clone(),
                    of: format!("`{}`", self.type_name(Type::Enum(e))),
                    span: name.span,
                    help: did_you_mean(&name.name, variants.iter().map(String::as_str)),
                });
                None
            }
        }
    }

    pub fn stage_value(&mut self, name: &ast::Ident) -> Option<i64> {
        self.stage_id(name).map(i64::from)
    }

    pub fn stage_id(&mut self, name: &ast::Ident) -> Option<u32> {
        match self.stage_ids.get(&name.name) {
            Some(id) => Some(*id),
            None => {
                let help = did_you_mean(&name.name, self.stage_ids.keys().map(String::as_str));
                self.errors.push(CheckError::UnknownStage {
                    name: name.name.clone(),
                    span: name.span,
                    help,
                });
                None
            }
        }
    }

    pub fn event_id(&mut self, name: &ast::StrLit) -> Option<u32> {
        match self.event_ids.get(&name.value) {
            Some(id) => Some(*id),
            None => {
                let help = did_you_mean(&name.value, self.event_ids.keys().map(String::as_str))
                    .or_else(|| Some(format!("declare it: `event \"{}\" {{}}`", name.value)));
                self.errors.push(CheckError::UnknownEvent {
                    name: name.value.clone(),
                    span: name.span,
                    help,
                });
                None
            }
        }
    }

    fn timezone(&mut self, name: &str, span: Span) -> Option<i64> {
        if name.parse::<chrono_tz::Tz>().is_ok() {
            Some(self.intern(name))
        } else {
            self.errors.push(CheckError::BadLiteral {
                text: name.into(),
                what: "time zone",
                span,
                help: Some("use an IANA time zone name such as `UTC` or `America/New_York`".into()),
            });
            None
        }
    }

    fn date(&mut self, text: &str, span: Span) -> Option<i64> {
        match chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            Ok(date) => {
                let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?;
                Some((date - epoch).num_days())
            }
            Err(_) => {
                self.errors.push(CheckError::BadLiteral {
                    text: text.into(),
                    what: "date",
                    span,
                    help: Some("write dates as `YYYY-MM-DD`".into()),
                });
                None
            }
        }
    }

    fn timestamp(&mut self, text: &str, span: Span) -> Option<i64> {
        match chrono::DateTime::parse_from_rfc3339(text) {
            Ok(t) => Some(t.timestamp_millis()),
            Err(_) => {
                self.errors.push(CheckError::BadLiteral {
                    text: text.into(),
                    what: "timestamp",
                    span,
                    help: Some("write timestamps in RFC 3339, e.g. `2026-01-01T00:00:00Z`".into()),
                });
                None
            }
        }
    }

    // ------------------------------------------------------------ layout

    fn layout(&mut self) {
        let max_props = self.events.iter().map(|e| e.props.len()).max().unwrap_or(0) as u32;
        let mut next: Slot = 0;
        let mut take = |n: u32| {
            let base = next;
            next += n;
            base
        };
        let traits = take(self.traits.len() as u32);
        let metrics = take(self.metric_types.len() as u32);
        let scores = take(self.score_decls.len() as u32);
        let stage = take(1);
        let stage_entered_at = take(1);
        let first_seen = take(1);
        let milestones = take(self.milestone_ids.len() as u32);
        let input_event = take(1);
        let input_timer = take(1);
        let props = take(max_props);
        self.entered_at_slots = vec![None; self.stages.len()];
        self.last_seen_slots = vec![None; self.events.len()];
        self.layout = ir::Layout {
            trait_base: traits,
            metric_base: metrics,
            score_base: scores,
            stage,
            stage_entered_at,
            first_seen,
            milestone_base: milestones,
            input_event,
            input_timer,
            prop_base: props,
            on_demand_base: next,
            len: next,
        };
    }

    /// A new slot after the fixed ones, for something an expression reads.
    pub fn on_demand_slot(&mut self) -> ir::Slot {
        self.on_demand_slots += 1;
        self.layout.on_demand_base + self.on_demand_slots - 1
    }

    /// The slot holding the time an expression asks about, allocated the
    /// first time one does.
    pub fn time_slot(&mut self, of: TimeOf) -> ir::Slot {
        let known = match of {
            TimeOf::Entry(stage) => self.entered_at_slots[stage as usize],
            TimeOf::Event(event) => self.last_seen_slots[event as usize],
        };
        if let Some(slot) = known {
            return slot;
        }
        let slot = self.on_demand_slot();
        match of {
            TimeOf::Entry(stage) => self.entered_at_slots[stage as usize] = Some(slot),
            TimeOf::Event(event) => self.last_seen_slots[event as usize] = Some(slot),
        }
        slot
    }

    // ------------------------------------------------------------ metrics

    fn metrics(&mut self) -> Vec<ir::MetricDef> {
        let ast = self.ast;
        let mut out = Vec::new();
        for item in &ast.items {
            let Item::Metric(decl) = item else { continue };
            let index = out.len();
            let def = self.metric(decl);
            self.metric_types[index] = Some(def.ty);
            out.push(def);
        }
        out
    }

    fn metric_window(&self, span_kind: &Option<ast::MetricSpan>) -> ir::Window {
        match span_kind {
            None => ir::Window::All,
            Some(ast::MetricSpan::Over(d)) => ir::Window::Over(d.millis),
            Some(ast::MetricSpan::InStage(_)) => ir::Window::InStage,
        }
    }

    fn check_window(&mut self, span_kind: &Option<ast::MetricSpan>) {
        if let Some(ast::MetricSpan::Over(d)) = span_kind {
            if d.millis == 0 {
                self.errors.push(CheckError::Zero {
                    what: "a metric window",
                    span: d.span,
                });
            }
        }
    }

    fn metric_filter(
        &mut self,
        filter: &Option<ast::Expr>,
        event: Option<u32>,
    ) -> Option<ir::TypedExpr> {
        let filter = filter.as_ref()?;
        let scope = Scope::filter(event, "metric");
        self.condition(filter, &scope)
    }

    fn prop_index(&mut self, event: u32, prop: &ast::Ident) -> Option<u32> {
        let def = &self.events[event as usize];
        match def.props.iter().position(|p| p.name == prop.name) {
            Some(i) => Some(i as u32),
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

    fn metric(&mut self, decl: &ast::MetricDecl) -> ir::MetricDef {
        let mut def = ir::MetricDef {
            name: decl.name.name.clone(),
            ty: Type::Int,
            kind: ir::MetricKind::Count,
            event: None,
            prop: None,
            filter: None,
            window: ir::Window::All,
            default: None,
            span: sspan(decl.span),
        };
        match &decl.kind {
            ast::MetricKind::Count {
                event,
                filter,
                span_kind,
            } => {
                def.event = self.event_id(event);
                def.filter = self.metric_filter(filter, def.event);
                self.check_window(span_kind);
                def.window = self.metric_window(span_kind);
                def.default = Some(0);
            }
            ast::MetricKind::Ever { event, filter } => {
                def.kind = ir::MetricKind::Ever;
                def.ty = Type::Bool;
                def.event = self.event_id(event);
                def.filter = self.metric_filter(filter, def.event);
                def.default = Some(0);
            }
            ast::MetricKind::Sent { rule, span_kind } => {
                self.check_window(span_kind);
                def.window = self.metric_window(span_kind);
                def.default = Some(0);
                match self.rule_ids.get(&rule.name) {
                    Some(id) => def.kind = ir::MetricKind::Sent(*id),
                    None => {
                        let help =
                            did_you_mean(&rule.name, self.rule_ids.keys().map(String::as_str));
                        self.errors.push(CheckError::UnknownRule {
                            name: rule.name.clone(),
                            span: rule.span,
                            help,
                        });
                    }
                }
            }
            ast::MetricKind::Aggregate {
                func,
                event,
                prop,
                filter,
                span_kind,
                default,
            } => {
                def.event = self.event_id(event);
                def.filter = self.metric_filter(filter, def.event);
                self.check_window(span_kind);
                def.window = self.metric_window(span_kind);
                let prop_ty = def.event.and_then(|e| {
                    let i = self.prop_index(e, prop)?;
                    def.prop = Some(i);
                    Some(self.events[e as usize].props[i as usize].ty)
                });
                def.kind = match func {
                    ast::AggFunc::Sum => ir::MetricKind::Sum,
                    ast::AggFunc::Min => ir::MetricKind::Min,
                    ast::AggFunc::Max => ir::MetricKind::Max,
                    ast::AggFunc::Avg => ir::MetricKind::Avg,
                    ast::AggFunc::Distinct => ir::MetricKind::Distinct,
                };
                if let Some(ty) = prop_ty {
                    def.ty = self
                        .aggregate_type(*func, ty, prop.span)
                        .unwrap_or(Type::Int);
                }
                def.default = match (default, func) {
                    (Some(lit), _) => self.literal_value(lit, def.ty),
                    (None, ast::AggFunc::Sum | ast::AggFunc::Distinct) => Some(0),
                    (None, _) => None,
                };
            }
            ast::MetricKind::Latest {
                first,
                event,
                prop,
                filter,
                default,
            } => {
                def.kind = if *first {
                    ir::MetricKind::First
                } else {
                    ir::MetricKind::Latest
                };
                def.event = self.event_id(event);
                def.filter = self.metric_filter(filter, def.event);
                if let Some(e) = def.event {
                    if let Some(i) = self.prop_index(e, prop) {
                        def.prop = Some(i);
                        def.ty = self.events[e as usize].props[i as usize].ty;
                    }
                }
                def.default = default
                    .as_ref()
                    .and_then(|lit| self.literal_value(lit, def.ty));
            }
        }
        def
    }

    fn aggregate_type(&mut self, func: ast::AggFunc, ty: Type, span: Span) -> Option<Type> {
        let name = match func {
            ast::AggFunc::Sum => "sum",
            ast::AggFunc::Min => "take the minimum of",
            ast::AggFunc::Max => "take the maximum of",
            ast::AggFunc::Avg => "average",
            ast::AggFunc::Distinct => return Some(Type::Int),
        };
        let ok = match func {
            ast::AggFunc::Sum | ast::AggFunc::Avg => {
                matches!(ty, Type::Int | Type::Decimal | Type::Duration)
            }
            _ => ty.is_ordered(),
        };
        if !ok {
            let ty_name = self.type_name(ty);
            self.errors.push(CheckError::NotAggregatable {
                func: name,
                ty: ty_name,
                help:
                    "aggregate a numeric property, or count the events with `count` or `distinct`"
                        .into(),
                span,
            });
            return None;
        }
        Some(match (func, ty) {
            (ast::AggFunc::Avg, Type::Int) => Type::Decimal,
            _ => ty,
        })
    }

    // ------------------------------------------------------------ scores and segments

    fn check_segments(&mut self) {
        for i in 0..self.segment_decls.len() {
            self.segment(i as u32);
        }
    }

    /// `a → b → a`: the chain of definitions that leads back to `name`.
    fn cycle_of(&self, name: &str) -> String {
        let start = self.resolving.iter().position(|n| n == name).unwrap_or(0);
        let mut chain: Vec<&str> = self.resolving[start..].iter().map(String::as_str).collect();
        chain.push(name);
        format!(
            "`{}` must not depend on itself: {}",
            name,
            chain.join(" → ")
        )
    }

    /// Checks a segment's condition once; reports cycles.
    pub fn segment(&mut self, index: u32) -> Option<ir::TypedExpr> {
        match &self.segments[index as usize] {
            Resolution::Done(result) => return result.clone(),
            Resolution::InProgress => {
                let decl = self.segment_decls[index as usize];
                self.errors.push(CheckError::DefinitionCycle {
                    name: decl.name.name.clone(),
                    cycle: self.cycle_of(&decl.name.name),
                    span: decl.name.span,
                });
                self.segments[index as usize] = Resolution::Done(None);
                return None;
            }
            Resolution::Pending => {}
        }
        self.segments[index as usize] = Resolution::InProgress;
        let decl = self.segment_decls[index as usize];
        self.resolving.push(decl.name.name.clone());
        let result = self.condition(&decl.expr, &Scope::state());
        self.resolving.pop();
        if matches!(self.segments[index as usize], Resolution::InProgress) {
            self.segments[index as usize] = Resolution::Done(result.clone());
        }
        result
    }

    /// A score's type, checking its definition first if needed.
    pub fn score_type(&mut self, index: u32) -> Option<Type> {
        match &self.score_types[index as usize] {
            Resolution::Done(t) => t.as_ref().map(|(ty, _)| *ty),
            Resolution::InProgress => {
                let decl = self.score_decls[index as usize];
                self.errors.push(CheckError::DefinitionCycle {
                    name: decl.name.name.clone(),
                    cycle: self.cycle_of(&decl.name.name),
                    span: decl.name.span,
                });
                self.score_types[index as usize] = Resolution::Done(None);
                None
            }
            Resolution::Pending => {
                self.score_types[index as usize] = Resolution::InProgress;
                let outer = self.current_score.replace(index);
                let name = self.score_decls[index as usize].name.name.clone();
                self.resolving.push(name);
                let result = self.score_components(index);
                self.resolving.pop();
                self.current_score = outer;
                let ty = result.as_ref().map(|(ty, _)| *ty);
                if matches!(self.score_types[index as usize], Resolution::InProgress) {
                    self.score_types[index as usize] = Resolution::Done(result);
                }
                ty
            }
        }
    }

    /// Types a score's components. The score's type comes from its first
    /// component that is not a bare whole number, so `50 + revenue_score`
    /// is a decimal score when `revenue_score` is a decimal.
    fn score_components(&mut self, index: u32) -> Option<(Type, Vec<ir::ScoreComponent>)> {
        let decl = self.score_decls[index as usize];
        let mut typed: Vec<Option<ir::TypedExpr>> = vec![None; decl.terms.len()];
        let mut ty: Option<Type> = None;
        let literal_last = |term: &ast::ScoreTerm| {
            matches!(
                term.expr.kind,
                ast::ExprKind::Literal(ast::Literal::Int(..))
            )
        };
        let order: Vec<usize> = (0..decl.terms.len())
            .filter(|i| !literal_last(&decl.terms[*i]))
            .chain((0..decl.terms.len()).filter(|i| literal_last(&decl.terms[*i])))
            .collect();
        let mut failed = false;
        for i in order {
            let term = &decl.terms[i];
            let Some(t) = self.value_expr(&term.expr, &Scope::state(), ty) else {
                failed = true;
                continue;
            };
            if !t.ty.is_numeric() {
                let found = self.type_name(t.ty);
                self.errors.push(CheckError::Mismatch {
                    expected: "int or decimal".into(),
                    found,
                    span: term.expr.span,
                    help: Some("score components are numbers".into()),
                });
                failed = true;
                continue;
            }
            match ty {
                None => ty = Some(t.ty),
                Some(expected) if expected != t.ty => {
                    let (e, f) = (self.type_name(expected), self.type_name(t.ty));
                    self.errors.push(CheckError::Mismatch {
                        expected: e,
                        found: f,
                        span: term.expr.span,
                        help: Some("all components of a score have the same type; convert with `decimal(...)` or `round(...)`".into()),
                    });
                    failed = true;
                    continue;
                }
                _ => {}
            }
            typed[i] = Some(t);
        }
        if failed {
            return None;
        }
        let components = decl
            .terms
            .iter()
            .zip(typed)
            .enumerate()
            .filter_map(|(n, (term, t))| {
                let label = match &term.label {
                    Some(l) => l.value.clone(),
                    None if n == 0 => "base".to_string(),
                    None => self.text(term.expr.span),
                };
                Some(ir::ScoreComponent {
                    label,
                    negate: term.negate,
                    expr: t?,
                })
            })
            .collect();
        Some((ty.unwrap_or(Type::Int), components))
    }

    fn scores(&mut self) -> (Vec<ir::ScoreDef>, Vec<u32>) {
        let mut out = Vec::new();
        for index in 0..self.score_decls.len() as u32 {
            self.score_type(index);
        }
        for index in 0..self.score_decls.len() {
            let decl = self.score_decls[index];
            let Resolution::Done(Some((ty, components))) = self.score_types[index].clone() else {
                continue;
            };
            let low = self.number_value(&decl.low, ty);
            let high = self.number_value(&decl.high, ty);
            let (Some(low), Some(high)) = (low, high) else {
                continue;
            };
            if low > high {
                self.errors.push(CheckError::BadScoreBounds {
                    low: decl.low.text.clone(),
                    high: decl.high.text.clone(),
                    span: decl.low.span.join(decl.high.span),
                    reason: "the low bound is above the high bound".into(),
                    help: Some(format!("write `in {}..{}`", decl.high.text, decl.low.text)),
                });
                continue;
            }
            out.push(ir::ScoreDef {
                name: decl.name.name.clone(),
                ty,
                low,
                high,
                components,
                span: sspan(decl.span),
            });
        }
        let order = self.score_order();
        (out, order)
    }

    /// Scores ordered so that each follows the scores it reads.
    fn score_order(&self) -> Vec<u32> {
        let n = self.score_decls.len();
        let mut order = Vec::with_capacity(n);
        let mut placed = vec![false; n];
        while order.len() < n {
            let before = order.len();
            for i in 0..n {
                if !placed[i] && self.score_deps[i].iter().all(|d| placed[*d as usize]) {
                    placed[i] = true;
                    order.push(i as u32);
                }
            }
            if order.len() == before {
                // A cycle, already reported; keep the rest in source order.
                order.extend((0..n as u32).filter(|i| !placed[*i as usize]));
                break;
            }
        }
        order
    }
}
