//! From source text to [`Playbook`]: the pest grammar, its lowering into the
//! AST, and the translation of pest errors into messages a person can act on.

use pest::error::{ErrorVariant, InputLocation};
use pest::iterators::Pair;
use pest::Parser as _;
use pest_derive::Parser;

use crate::ast::*;
use crate::error::SyntaxError;
use crate::lexer::{self, Token, TokenKind};
use crate::span::Span;

#[derive(Parser)]
#[grammar = "../../../grammar/playbook.pest"]
struct PestParser;

/// Deepest bracket nesting accepted before parsing.
pub const MAX_NESTING: usize = 32;
/// Deepest expression tree accepted.
pub const MAX_EXPR_DEPTH: usize = 128;

/// Parses a playbook. On failure, every syntax error found is returned (the
/// file is cut at top-level declarations, so one mistake does not hide the
/// next).
pub fn parse(source: &str) -> Result<Playbook, Vec<SyntaxError>> {
    let tokens = lexer::tokenize(source);
    let mut errors = token_errors(source, &tokens);
    if let Some(span) = lexer::nesting_over(&tokens, MAX_NESTING) {
        errors.push(SyntaxError::TooDeep {
            limit: MAX_NESTING,
            span,
        });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    match PestParser::parse(Rule::file, source) {
        Ok(mut pairs) => {
            let file = pairs.next().map(|p| (p.as_span(), p.into_inner()));
            let Some((file_span, inner)) = file else {
                return Err(vec![unexpected_end(source)]);
            };
            let mut lower = Lower {
                base: 0,
                errors: Vec::new(),
            };
            let mut header = None;
            let mut items = Vec::new();
            for pair in inner {
                match pair.as_rule() {
                    Rule::header => header = Some(lower.header(pair)),
                    Rule::EOI => {}
                    _ => items.push(lower.item(pair)),
                }
            }
            if !lower.errors.is_empty() {
                return Err(lower.errors);
            }
            match header {
                Some(header) => Ok(Playbook {
                    header,
                    items,
                    span: file_span.into(),
                }),
                None => Err(vec![unexpected_end(source)]),
            }
        }
        Err(_) => parse_in_pieces(source, &tokens),
    }
}

/// Errors visible in the token stream alone: unknown characters and strings
/// without a closing quote.
fn token_errors(source: &str, tokens: &[Token]) -> Vec<SyntaxError> {
    let mut errors = Vec::new();
    for token in tokens {
        match token.kind {
            None => errors.push(SyntaxError::UnknownCharacter {
                character: source[token.span.start..token.span.end].to_string(),
                span: token.span,
            }),
            Some(TokenKind::UnterminatedStr) => {
                errors.push(SyntaxError::UnterminatedString { span: token.span })
            }
            _ => {}
        }
    }
    errors
}

fn unexpected_end(source: &str) -> SyntaxError {
    let end = source.len();
    SyntaxError::Unexpected {
        expected: "a playbook header".into(),
        found: "the end of the file".into(),
        help: "a playbook starts with `playbook \"name\" { language 1; subject account }`".into(),
        span: Span::new(end, end),
        label: "here".into(),
    }
}

/// Keywords that start a top-level declaration.
pub const ITEM_KEYWORDS: &[&str] = &[
    "traits",
    "event",
    "metric",
    "score",
    "segment",
    "stages",
    "transition",
    "manual",
    "milestone",
    "rule",
    "escalation",
    "policy",
];

/// Where the top-level declarations of `source` start (byte offsets), as the
/// parser cuts a file to report every error: for tools that recover from
/// errors the same way (the language server).
pub fn declaration_starts(source: &str) -> Vec<usize> {
    item_starts(source, &lexer::tokenize(source))
}

/// Where top-level declarations start, by the token stream: an item keyword at
/// bracket depth zero (`event` only before a string, `milestone` only before a
/// name and `{`, since both also occur inside expressions).
fn item_starts(source: &str, tokens: &[Token]) -> Vec<usize> {
    let significant: Vec<&Token> = tokens
        .iter()
        .filter(|t| !matches!(t.kind, Some(TokenKind::Comment | TokenKind::Newline)))
        .collect();
    let mut depth = 0usize;
    let mut starts = Vec::new();
    for (i, token) in significant.iter().enumerate() {
        match token.kind {
            Some(TokenKind::LBrace | TokenKind::LParen | TokenKind::LBracket) => depth += 1,
            Some(TokenKind::RBrace | TokenKind::RParen | TokenKind::RBracket) => {
                depth = depth.saturating_sub(1)
            }
            Some(TokenKind::Word) if depth == 0 => {
                let word = &source[token.span.start..token.span.end];
                if !ITEM_KEYWORDS.contains(&word) {
                    continue;
                }
                let previous = i.checked_sub(1).and_then(|j| significant[j].kind);
                let next = significant.get(i + 1).and_then(|t| t.kind);
                let after = significant.get(i + 2).and_then(|t| t.kind);
                let is_item = previous != Some(TokenKind::Dot)
                    && match word {
                        "event" => next == Some(TokenKind::Str),
                        "milestone" => {
                            next == Some(TokenKind::Word) && after == Some(TokenKind::LBrace)
                        }
                        "traits" | "stages" | "policy" => next == Some(TokenKind::LBrace),
                        _ => next == Some(TokenKind::Word),
                    };
                if is_item {
                    starts.push(token.span.start);
                }
            }
            _ => {}
        }
    }
    starts
}

/// Error recovery: parse the header and each declaration on its own, and
/// report the errors of every piece.
///
/// When every piece parses, the file is the header followed by those
/// declarations: the whole-file parse failed only because an optional name at
/// the end of one declaration swallowed the keyword that starts the next
/// (`transition a -> b after 30d in stage` followed by `rule ...`). A
/// declaration ends where the next one starts, so the pieces are the playbook.
fn parse_in_pieces(source: &str, tokens: &[Token]) -> Result<Playbook, Vec<SyntaxError>> {
    let mut bounds = vec![0];
    bounds.extend(item_starts(source, tokens).into_iter().filter(|&s| s > 0));
    bounds.push(source.len());
    bounds.dedup();
    let mut errors = Vec::new();
    let mut header = None;
    let mut items = Vec::new();
    for (index, window) in bounds.windows(2).enumerate() {
        let (start, end) = (window[0], window[1]);
        let piece = &source[start..end];
        let rule = if index == 0 {
            Rule::header_entry
        } else {
            Rule::item_entry
        };
        if index == 0 && piece.trim().is_empty() {
            errors.push(unexpected_end(source));
            continue;
        }
        match PestParser::parse(rule, piece) {
            Ok(pairs) => {
                let mut lower = Lower {
                    base: start,
                    errors: Vec::new(),
                };
                for pair in pairs.flatten() {
                    match pair.as_rule() {
                        Rule::header => header = Some(lower.header(pair)),
                        r if is_item_rule(r) => items.push(lower.item(pair)),
                        _ => {}
                    }
                }
                errors.extend(lower.errors);
            }
            Err(error) => errors.push(translate_error(source, tokens, start, end, &error)),
        }
    }
    match header {
        Some(header) if errors.is_empty() => Ok(Playbook {
            header,
            items,
            span: Span::new(0, source.len()),
        }),
        _ if errors.is_empty() => Err(vec![unexpected_end(source)]),
        _ => Err(errors),
    }
}

fn is_item_rule(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::traits_block
            | Rule::event_decl
            | Rule::metric_decl
            | Rule::score_decl
            | Rule::segment_decl
            | Rule::stages_block
            | Rule::transition_decl
            | Rule::manual_decl
            | Rule::milestone_decl
            | Rule::rule_decl
            | Rule::escalation_decl
            | Rule::policy_block
    )
}

fn translate_error(
    source: &str,
    tokens: &[Token],
    base: usize,
    piece_end: usize,
    error: &pest::error::Error<Rule>,
) -> SyntaxError {
    let position = base
        + match error.location {
            InputLocation::Pos(p) => p,
            InputLocation::Span((s, _)) => s,
        };
    let found_token = tokens.iter().find(|t| {
        t.span.start >= position
            && t.span.start < piece_end
            && !matches!(t.kind, Some(TokenKind::Comment | TokenKind::Newline))
    });
    let (found, span) = match found_token {
        Some(t) => (format!("`{}`", &source[t.span.start..t.span.end]), t.span),
        None if piece_end >= source.len() => (
            "the end of the file".to_string(),
            Span::new(position, position),
        ),
        None => {
            // The piece ended early: name the token that starts the next one.
            let next = tokens.iter().find(|t| {
                t.span.start >= piece_end
                    && !matches!(t.kind, Some(TokenKind::Comment | TokenKind::Newline))
            });
            match next {
                Some(t) => (format!("`{}`", &source[t.span.start..t.span.end]), t.span),
                None => (
                    "the end of the file".to_string(),
                    Span::new(position, position),
                ),
            }
        }
    };
    let previous = tokens
        .iter()
        .rev()
        .find(|t| {
            t.span.end <= position
                && !matches!(t.kind, Some(TokenKind::Comment | TokenKind::Newline))
        })
        .map(|t| &source[t.span.start..t.span.end]);
    let expected = match &error.variant {
        ErrorVariant::ParsingError { positives, .. } => describe_expected(positives),
        ErrorVariant::CustomError { message } => message.clone(),
    };
    let expected_with_context = match previous {
        Some(prev) => format!("{expected} after `{prev}`"),
        None => expected.clone(),
    };
    SyntaxError::Unexpected {
        help: help_for(&expected, previous),
        label: if expected.len() <= 48 {
            format!("expected {expected}")
        } else {
            "not expected here".to_string()
        },
        expected: expected_with_context,
        found,
        span,
    }
}

fn help_for(expected: &str, previous: Option<&str>) -> String {
    if expected.contains("declaration") {
        return "a playbook is a header followed by declarations: `traits`, `event`, `metric`, `score`, `segment`, `stages`, `transition`, `manual`, `milestone`, `rule`, `escalation` and `policy`".into();
    }
    match previous {
        Some("->") => "a transition names its target stage after `->`, e.g. `transition onboarding -> adopting when ...`".into(),
        Some("on") => "`on` takes a quoted event name, e.g. `on \"Login\"`, or `on milestone NAME missed`".into(),
        Some("transition") => "a transition starts with the stages it leaves: a list of stage names or `any`".into(),
        _ => format!("see docs/language.md for the form of this declaration; the parser expected {expected}"),
    }
}

/// Turns the grammar rules pest was trying into words.
fn describe_expected(positives: &[Rule]) -> String {
    let mut words: Vec<String> = Vec::new();
    let keywords_of_items = positives
        .iter()
        .any(|r| matches!(r, Rule::kw_rule | Rule::kw_traits));
    if keywords_of_items {
        return "a declaration".into();
    }
    // "the end of the file" is only worth saying when nothing else fits.
    let alternatives = positives.iter().filter(|r| **r != Rule::EOI).count();
    for rule in positives {
        if *rule == Rule::EOI && alternatives > 0 {
            continue;
        }
        let word = describe_rule(*rule);
        if !words.contains(&word) {
            words.push(word);
        }
    }
    match words.len() {
        0 => "something else".into(),
        1 => words.remove(0),
        _ => {
            let last = words.pop().unwrap_or_default();
            format!("{} or {}", words.join(", "), last)
        }
    }
}

fn describe_rule(rule: Rule) -> String {
    let name = format!("{rule:?}");
    if let Some(keyword) = name.strip_prefix("kw_") {
        return format!("`{keyword}`");
    }
    match rule {
        Rule::EOI => "the end of the file",
        Rule::ident | Rule::role_list => "a name",
        Rule::stage_target | Rule::stage_list | Rule::stage_set | Rule::stage_decl => {
            "a stage name"
        }
        Rule::string | Rule::event_name => "a quoted string",
        Rule::int => "a whole number",
        Rule::signed_number => "a number",
        Rule::decimal => "a decimal number",
        Rule::duration => "a duration such as `48h` or `7d`",
        Rule::percent => "a percentage such as `10%`",
        Rule::clock => "a time of day such as `20:00`",
        Rule::expr
        | Rule::or_expr
        | Rule::and_expr
        | Rule::not_expr
        | Rule::cmp_expr
        | Rule::add_expr
        | Rule::mul_expr
        | Rule::unary
        | Rule::score_term => "an expression",
        Rule::cmp_op => "a comparison",
        Rule::add_op | Rule::mul_op => "an operator",
        Rule::type_expr | Rule::prim_type | Rule::enum_type => "a type",
        Rule::field_decl => "a field such as `seats: int`",
        Rule::header => "a playbook header",
        Rule::channel => "a channel (`email`, `in_app`, `push` or `sms`)",
        Rule::priority => "a priority (`low`, `normal`, `high` or `urgent`)",
        Rule::action => "an action",
        Rule::prop_ref => "an event property such as `\"NPS Submitted\".score`",
        Rule::agg_fn => "an aggregate",
        Rule::cap_target => "what to cap (`messages`, `touches` or a channel)",
        Rule::notify_step => "`notify`",
        Rule::ladder_step => "`unacknowledged`",
        Rule::data_map => "`{`",
        Rule::data_entry => "a data entry such as `plan: plan`",
        Rule::with_clause => "`with`",
        Rule::boolean => "`true` or `false`",
        Rule::not_op => "`not`",
        Rule::neg_op => "`-`",
        Rule::call => "a function call",
        Rule::membership => "`in [...]`",
        Rule::crossing => "`crosses below` or `crosses above`",
        Rule::is_set_test => "`is set`",
        Rule::comparison => "a comparison",
        Rule::action_block => "a `{ ... }` block of actions",
        Rule::backward_mark => "`backward` or `reactivation`",
        Rule::for_segment => "`for SEGMENT`",
        Rule::where_clause => "`where`",
        _ => return format!("`{}`", name.replace('_', " ")),
    }
    .to_string()
}

/// Lowering from pest pairs to the AST. `base` shifts spans when a piece of
/// the file is parsed alone; errors found while lowering (numbers out of range,
/// bad escapes, too deep expressions) are collected.
struct Lower {
    base: usize,
    errors: Vec<SyntaxError>,
}

type P<'a> = Pair<'a, Rule>;

impl Lower {
    /// The span of a pair, without the whitespace and comments pest skipped
    /// after its last token.
    fn sp(&self, pair: &P) -> Span {
        let s = pair.as_span();
        let end = s.start() + trim_trailing(s.as_str()).len();
        Span::new(self.base + s.start(), self.base + end)
    }

    fn ident(&self, pair: P) -> Ident {
        Ident {
            name: pair.as_str().to_string(),
            span: self.sp(&pair),
        }
    }

    fn string(&mut self, pair: P) -> StrLit {
        let span = self.sp(&pair);
        let raw = pair.as_str();
        let inner = raw
            .strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
            .unwrap_or(raw);
        let value = self.unescape(inner, span.start + 1);
        StrLit { value, span }
    }

    fn unescape(&mut self, text: &str, offset: usize) -> String {
        let mut out = String::with_capacity(text.len());
        let mut chars = text.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            let start = offset + i;
            match chars.next() {
                Some((_, '"')) => out.push('"'),
                Some((_, '\\')) => out.push('\\'),
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                Some((_, 'r')) => out.push('\r'),
                Some((_, 'u')) => {
                    let mut hex = String::new();
                    let mut closed = false;
                    if chars.peek().map(|(_, c)| *c) == Some('{') {
                        chars.next();
                        for (_, c) in chars.by_ref() {
                            if c == '}' {
                                closed = true;
                                break;
                            }
                            hex.push(c);
                        }
                    }
                    match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                        Some(ch) if closed => out.push(ch),
                        _ => self.errors.push(SyntaxError::BadEscape {
                            escape: format!("\\u{{{hex}}}"),
                            span: Span::new(start, start + 4 + hex.len()),
                        }),
                    }
                }
                Some((j, other)) => self.errors.push(SyntaxError::BadEscape {
                    escape: format!("\\{other}"),
                    span: Span::new(start, offset + j + other.len_utf8()),
                }),
                None => self.errors.push(SyntaxError::BadEscape {
                    escape: "\\".into(),
                    span: Span::new(start, start + 1),
                }),
            }
        }
        out
    }

    fn int_value(&mut self, pair: &P) -> i64 {
        match pair.as_str().parse::<i64>() {
            Ok(v) => v,
            Err(_) => {
                self.errors.push(SyntaxError::NumberOutOfRange {
                    text: pair.as_str().into(),
                    span: self.sp(pair),
                });
                0
            }
        }
    }

    fn duration(&mut self, pair: P) -> DurationLit {
        let span = self.sp(&pair);
        let text = pair.as_str();
        let digits_end = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (digits, unit) = text.split_at(digits_end);
        let factor: i64 = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => 604_800_000,
        };
        let millis = digits
            .parse::<i64>()
            .ok()
            .and_then(|n| n.checked_mul(factor));
        match millis {
            Some(millis) => DurationLit { millis, span },
            None => {
                self.errors.push(SyntaxError::NumberOutOfRange {
                    text: text.into(),
                    span,
                });
                DurationLit { millis: 0, span }
            }
        }
    }

    fn percent(&mut self, pair: P) -> PercentLit {
        let span = self.sp(&pair);
        let text = pair.as_str().trim_end_matches('%');
        let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
        let points = if frac.len() <= 2 {
            let frac_points = format!("{frac:0<2}").parse::<u32>().ok();
            whole
                .parse::<u32>()
                .ok()
                .and_then(|w| w.checked_mul(100))
                .zip(frac_points)
                .map(|(w, f)| w + f)
                .filter(|p| *p <= 10_000)
        } else {
            None
        };
        match points {
            Some(basis_points) => PercentLit { basis_points, span },
            None => {
                self.errors.push(SyntaxError::BadPercent {
                    text: pair.as_str().into(),
                    span,
                });
                PercentLit {
                    basis_points: 0,
                    span,
                }
            }
        }
    }

    fn clock(&mut self, pair: P) -> u32 {
        let text = pair.as_str();
        let hours = text[..2].parse::<u32>().unwrap_or(99);
        let minutes = text[3..].parse::<u32>().unwrap_or(99);
        if hours > 23 || minutes > 59 {
            self.errors.push(SyntaxError::BadClock {
                text: text.into(),
                span: self.sp(&pair),
            });
            return 0;
        }
        hours * 60 + minutes
    }

    fn number(&mut self, pair: P) -> NumberLit {
        let span = self.sp(&pair);
        // The sign and the digits, without what may stand between them
        // (spaces, comments).
        let negative = pair.as_str().starts_with('-');
        let digits = match pair.clone().into_inner().next() {
            Some(inner) => inner.as_str().to_string(),
            None => pair.as_str().to_string(),
        };
        let text = if negative {
            format!("-{digits}")
        } else {
            digits
        };
        let is_decimal = text.contains('.');
        if is_decimal {
            let frac = text.split('.').nth(1).map_or(0, str::len);
            if frac > 6 {
                self.errors.push(SyntaxError::NumberOutOfRange {
                    text: text.clone(),
                    span,
                });
            }
        } else if text.parse::<i64>().is_err() {
            self.errors.push(SyntaxError::NumberOutOfRange {
                text: text.clone(),
                span,
            });
        }
        NumberLit {
            text,
            is_decimal,
            span,
        }
    }

    // ------------------------------------------------------------ header

    fn header(&mut self, pair: P) -> Header {
        let span = self.sp(&pair);
        let mut name = None;
        let mut language = None;
        let mut version = None;
        let mut description = None;
        let mut subject = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::string => name = Some(self.string(p)),
                Rule::language_decl => {
                    if let Some(n) = p.into_inner().find(|x| x.as_rule() == Rule::int) {
                        let value = self.int_value(&n);
                        language = Some((u32::try_from(value).unwrap_or(u32::MAX), self.sp(&n)));
                    }
                }
                Rule::version_decl => {
                    version = p
                        .into_inner()
                        .find(|x| x.as_rule() == Rule::string)
                        .map(|s| self.string(s))
                }
                Rule::description_decl => {
                    description = p
                        .into_inner()
                        .find(|x| x.as_rule() == Rule::string)
                        .map(|s| self.string(s))
                }
                Rule::subject_decl => {
                    let span = self.sp(&p);
                    let per = p
                        .into_inner()
                        .find(|x| x.as_rule() == Rule::string)
                        .map(|s| self.string(s));
                    subject = Some(Subject { per, span });
                }
                _ => {}
            }
        }
        Header {
            name: name.unwrap_or(StrLit {
                value: String::new(),
                span,
            }),
            language,
            version,
            description,
            subject,
            span,
        }
    }

    // ------------------------------------------------------------ items

    fn item(&mut self, pair: P) -> Item {
        match pair.as_rule() {
            Rule::traits_block => Item::Traits(TraitsBlock {
                span: self.sp(&pair),
                fields: pair
                    .into_inner()
                    .filter(|p| p.as_rule() == Rule::field_decl)
                    .map(|p| self.field(p))
                    .collect(),
            }),
            Rule::event_decl => {
                let span = self.sp(&pair);
                let mut inner = pair.into_inner().filter(|p| p.as_rule() != Rule::kw_event);
                let name = match inner.next() {
                    Some(p) => self.string(p),
                    None => StrLit {
                        value: String::new(),
                        span,
                    },
                };
                let fields = inner.map(|p| self.field(p)).collect();
                Item::Event(EventDecl { name, fields, span })
            }
            Rule::metric_decl => Item::Metric(self.metric(pair)),
            Rule::score_decl => Item::Score(self.score(pair)),
            Rule::segment_decl => {
                let span = self.sp(&pair);
                let mut name = None;
                let mut expr = None;
                for p in pair.into_inner() {
                    match p.as_rule() {
                        Rule::ident => name = Some(self.ident(p)),
                        Rule::expr => expr = Some(self.expr(p)),
                        _ => {}
                    }
                }
                Item::Segment(SegmentDecl {
                    name: name.unwrap_or_else(|| missing_ident(span)),
                    expr: expr.unwrap_or_else(|| missing_expr(span)),
                    span,
                })
            }
            Rule::stages_block => Item::Stages(StagesBlock {
                span: self.sp(&pair),
                stages: pair
                    .into_inner()
                    .filter(|p| p.as_rule() == Rule::stage_decl)
                    .map(|p| self.stage(p))
                    .collect(),
            }),
            Rule::transition_decl => Item::Transition(self.transition(pair)),
            Rule::manual_decl => Item::Manual(self.manual(pair)),
            Rule::milestone_decl => Item::Milestone(self.milestone(pair)),
            Rule::rule_decl => Item::Rule(self.rule(pair)),
            Rule::escalation_decl => Item::Escalation(self.escalation(pair)),
            _ => Item::Policy(self.policy(pair)),
        }
    }

    fn field(&mut self, pair: P) -> FieldDecl {
        let span = self.sp(&pair);
        let mut name = None;
        let mut ty = None;
        let mut optional = false;
        let mut range = None;
        let mut default = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::ident => name = Some(self.ident(p)),
                Rule::type_expr => ty = Some(self.type_expr(p)),
                Rule::optional_mark => optional = true,
                Rule::range => {
                    let rspan = self.sp(&p);
                    let mut nums = p
                        .into_inner()
                        .filter(|x| x.as_rule() == Rule::signed_number);
                    if let (Some(lo), Some(hi)) = (nums.next(), nums.next()) {
                        range = Some(RangeDecl {
                            low: self.number(lo),
                            high: self.number(hi),
                            span: rspan,
                        });
                    }
                }
                Rule::default_value => {
                    default = p.into_inner().next().map(|l| self.literal(l));
                }
                _ => {}
            }
        }
        FieldDecl {
            name: name.unwrap_or_else(|| missing_ident(span)),
            ty: ty.unwrap_or(TypeExpr::Prim(PrimType::Int, span)),
            optional,
            range,
            default,
            span,
        }
    }

    fn type_expr(&mut self, pair: P) -> TypeExpr {
        let span = self.sp(&pair);
        let Some(inner) = pair.into_inner().next() else {
            return TypeExpr::Prim(PrimType::Int, span);
        };
        match inner.as_rule() {
            Rule::enum_type => TypeExpr::Enum(
                inner
                    .into_inner()
                    .filter(|p| p.as_rule() == Rule::ident)
                    .map(|p| self.ident(p))
                    .collect(),
                span,
            ),
            _ => {
                let kw = inner.into_inner().next().map(|p| p.as_rule());
                let prim = match kw {
                    Some(Rule::kw_bool) => PrimType::Bool,
                    Some(Rule::kw_decimal) => PrimType::Decimal,
                    Some(Rule::kw_money) => PrimType::Money,
                    Some(Rule::kw_string) => PrimType::String,
                    Some(Rule::kw_duration) => PrimType::Duration,
                    Some(Rule::kw_timestamp) => PrimType::Timestamp,
                    Some(Rule::kw_date) => PrimType::Date,
                    Some(Rule::kw_timezone) => PrimType::Timezone,
                    _ => PrimType::Int,
                };
                TypeExpr::Prim(prim, span)
            }
        }
    }

    fn literal(&mut self, pair: P) -> Literal {
        let span = self.sp(&pair);
        match pair.as_rule() {
            Rule::int => Literal::Int(self.int_value(&pair), span),
            Rule::decimal => {
                let n = self.number(pair);
                Literal::Decimal(n.text, span)
            }
            Rule::string => Literal::Str(self.string(pair)),
            Rule::boolean => Literal::Bool(
                pair.into_inner().next().map(|p| p.as_rule()) == Some(Rule::kw_true),
                span,
            ),
            Rule::duration => Literal::Duration(self.duration(pair)),
            Rule::ident => Literal::Name(self.ident(pair)),
            Rule::negative_literal => match pair.into_inner().next() {
                Some(inner) => {
                    let lit = self.literal(inner);
                    match lit {
                        Literal::Int(v, _) if v.checked_neg().is_some() => Literal::Int(-v, span),
                        other => Literal::Negative(Box::new(other), span),
                    }
                }
                None => Literal::Int(0, span),
            },
            _ => Literal::Int(0, span),
        }
    }

    fn metric(&mut self, pair: P) -> MetricDecl {
        let span = self.sp(&pair);
        let mut inner = pair.into_inner().filter(|p| p.as_rule() != Rule::kw_metric);
        let name = inner
            .next()
            .map(|p| self.ident(p))
            .unwrap_or_else(|| missing_ident(span));
        let Some(body) = inner.next() else {
            return MetricDecl {
                name,
                kind: MetricKind::Ever {
                    event: StrLit {
                        value: String::new(),
                        span,
                    },
                    filter: None,
                },
                span,
            };
        };
        let rule = body.as_rule();
        let mut event = None;
        let mut prop = None;
        let mut filter = None;
        let mut span_kind = None;
        let mut default = None;
        let mut func = AggFunc::Sum;
        let mut first = false;
        let mut sent_rule = None;
        for p in body.into_inner() {
            match p.as_rule() {
                Rule::string => event = Some(self.string(p)),
                Rule::ident => sent_rule = Some(self.ident(p)),
                Rule::kw_first => first = true,
                Rule::prop_ref => {
                    for q in p.into_inner() {
                        match q.as_rule() {
                            Rule::string => event = Some(self.string(q)),
                            Rule::ident => prop = Some(self.ident(q)),
                            _ => {}
                        }
                    }
                }
                Rule::agg_fn => {
                    func = match p.into_inner().next().map(|q| q.as_rule()) {
                        Some(Rule::kw_min) => AggFunc::Min,
                        Some(Rule::kw_max) => AggFunc::Max,
                        Some(Rule::kw_avg) => AggFunc::Avg,
                        Some(Rule::kw_distinct) => AggFunc::Distinct,
                        _ => AggFunc::Sum,
                    }
                }
                Rule::where_clause => filter = self.where_clause(p),
                Rule::metric_span => span_kind = Some(self.metric_span(p)),
                Rule::default_clause => default = p.into_inner().nth(1).map(|l| self.literal(l)),
                _ => {}
            }
        }
        let event = event.unwrap_or(StrLit {
            value: String::new(),
            span,
        });
        let prop = prop.unwrap_or_else(|| missing_ident(span));
        let kind = match rule {
            Rule::count_metric => MetricKind::Count {
                event,
                filter,
                span_kind,
            },
            Rule::agg_metric => MetricKind::Aggregate {
                func,
                event,
                prop,
                filter,
                span_kind,
                default,
            },
            Rule::latest_metric => MetricKind::Latest {
                first,
                event,
                prop,
                filter,
                default,
            },
            Rule::sent_metric => MetricKind::Sent {
                rule: sent_rule.unwrap_or_else(|| missing_ident(span)),
                span_kind,
            },
            _ => MetricKind::Ever { event, filter },
        };
        MetricDecl { name, kind, span }
    }

    fn metric_span(&mut self, pair: P) -> MetricSpan {
        let span = self.sp(&pair);
        match pair.into_inner().next() {
            Some(p) if p.as_rule() == Rule::over_window => {
                match p.into_inner().find(|q| q.as_rule() == Rule::duration) {
                    Some(d) => MetricSpan::Over(self.duration(d)),
                    None => MetricSpan::InStage(span),
                }
            }
            _ => MetricSpan::InStage(span),
        }
    }

    fn where_clause(&mut self, pair: P) -> Option<Expr> {
        pair.into_inner()
            .find(|p| p.as_rule() == Rule::expr)
            .map(|p| self.expr(p))
    }

    fn score(&mut self, pair: P) -> ScoreDecl {
        let span = self.sp(&pair);
        let mut name = None;
        let mut bounds = Vec::new();
        let mut terms = Vec::new();
        let mut negate_next = false;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::ident => name = Some(self.ident(p)),
                Rule::signed_number => bounds.push(self.number(p)),
                Rule::add_op => negate_next = p.as_str() == "-",
                Rule::score_term => {
                    let tspan = self.sp(&p);
                    let mut expr = None;
                    let mut label = None;
                    for q in p.into_inner() {
                        match q.as_rule() {
                            Rule::mul_expr => expr = Some(self.mul_expr(q)),
                            Rule::string => label = Some(self.string(q)),
                            _ => {}
                        }
                    }
                    terms.push(ScoreTerm {
                        negate: negate_next,
                        expr: expr.unwrap_or_else(|| missing_expr(tspan)),
                        label,
                        span: tspan,
                    });
                    negate_next = false;
                }
                _ => {}
            }
        }
        let mut bounds = bounds.into_iter();
        let zero = |span| NumberLit {
            text: "0".into(),
            is_decimal: false,
            span,
        };
        ScoreDecl {
            name: name.unwrap_or_else(|| missing_ident(span)),
            low: bounds.next().unwrap_or_else(|| zero(span)),
            high: bounds.next().unwrap_or_else(|| zero(span)),
            terms,
            span,
        }
    }

    fn stage(&mut self, pair: P) -> StageDecl {
        let span = self.sp(&pair);
        let mut name = None;
        let mut label = None;
        let mut initial = None;
        let mut terminal = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::ident => name = Some(self.ident(p)),
                Rule::string => label = Some(self.string(p)),
                Rule::stage_flag => {
                    let fspan = self.sp(&p);
                    if p.into_inner().next().map(|q| q.as_rule()) == Some(Rule::kw_initial) {
                        initial = Some(fspan);
                    } else {
                        terminal = Some(fspan);
                    }
                }
                _ => {}
            }
        }
        StageDecl {
            name: name.unwrap_or_else(|| missing_ident(span)),
            label,
            initial,
            terminal,
            span,
        }
    }

    fn stage_set(&mut self, pair: P) -> StageSet {
        let Some(inner) = pair.into_inner().next() else {
            return StageSet::List(Vec::new());
        };
        match inner.as_rule() {
            Rule::any_stage => {
                let span = self.sp(&inner);
                let except = inner
                    .into_inner()
                    .filter(|p| p.as_rule() == Rule::stage_list)
                    .flat_map(|p| p.into_inner())
                    .map(|p| self.ident(p))
                    .collect();
                StageSet::Any { except, span }
            }
            _ => StageSet::List(self.ident_list(inner)),
        }
    }

    fn ident_list(&mut self, pair: P) -> Vec<Ident> {
        pair.into_inner()
            .filter(|p| p.as_rule() == Rule::ident)
            .map(|p| self.ident(p))
            .collect()
    }

    fn stage_target(&mut self, pair: P) -> Ident {
        let span = self.sp(&pair);
        pair.into_inner()
            .next()
            .map(|p| self.ident(p))
            .unwrap_or_else(|| missing_ident(span))
    }

    fn transition(&mut self, pair: P) -> TransitionDecl {
        let span = self.sp(&pair);
        let mut from = StageSet::List(Vec::new());
        let mut to = None;
        let mut trigger = None;
        let mut segment = None;
        let mut backward = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::stage_set => from = self.stage_set(p),
                Rule::stage_target => to = Some(self.stage_target(p)),
                Rule::on_trigger | Rule::after_trigger | Rule::when_trigger => {
                    trigger = Some(self.trigger(p))
                }
                Rule::for_segment => segment = self.for_segment(p),
                Rule::backward_mark => backward = Some(self.sp(&p)),
                _ => {}
            }
        }
        TransitionDecl {
            from,
            to: to.unwrap_or_else(|| missing_ident(span)),
            trigger: trigger.unwrap_or(Trigger::When {
                cond: missing_expr(span),
                span,
            }),
            segment,
            backward,
            span,
        }
    }

    fn for_segment(&mut self, pair: P) -> Option<Ident> {
        pair.into_inner()
            .find(|p| p.as_rule() == Rule::ident)
            .map(|p| self.ident(p))
    }

    fn manual(&mut self, pair: P) -> ManualDecl {
        let span = self.sp(&pair);
        let mut decl = ManualDecl {
            from: StageSet::List(Vec::new()),
            to: missing_ident(span),
            roles: Vec::new(),
            requires_reason: false,
            override_roles: Vec::new(),
            backward: None,
            span,
        };
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::stage_set => decl.from = self.stage_set(p),
                Rule::stage_target => decl.to = self.stage_target(p),
                Rule::role_list => decl.roles = self.ident_list(p),
                Rule::requires_reason => decl.requires_reason = true,
                Rule::override_clause => {
                    if let Some(list) = p.into_inner().find(|q| q.as_rule() == Rule::role_list) {
                        decl.override_roles = self.ident_list(list);
                    }
                }
                Rule::backward_mark => decl.backward = Some(self.sp(&p)),
                _ => {}
            }
        }
        decl
    }

    fn trigger(&mut self, pair: P) -> Trigger {
        let span = self.sp(&pair);
        let rule = pair.as_rule();
        let mut event = None;
        let mut milestone = None;
        let mut filter = None;
        let mut cond = None;
        let mut duration = None;
        let mut ident = None;
        let mut before = false;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::event_name => {
                    event = p.into_inner().next().map(|s| self.string(s));
                }
                Rule::milestone_missed => {
                    milestone = p
                        .into_inner()
                        .find(|q| q.as_rule() == Rule::ident)
                        .map(|q| self.ident(q));
                }
                Rule::where_clause => filter = self.where_clause(p),
                Rule::expr => cond = Some(self.expr(p)),
                Rule::duration => duration = Some(self.duration(p)),
                Rule::ident => ident = Some(self.ident(p)),
                Rule::kw_before => before = true,
                _ => {}
            }
        }
        let zero = DurationLit { millis: 0, span };
        match rule {
            Rule::on_trigger => match milestone {
                Some(milestone) => Trigger::OnMilestoneMissed {
                    milestone,
                    filter,
                    span,
                },
                None => Trigger::OnEvent {
                    event: event.unwrap_or(StrLit {
                        value: String::new(),
                        span,
                    }),
                    filter,
                    span,
                },
            },
            Rule::when_trigger => Trigger::When {
                cond: cond.unwrap_or_else(|| missing_expr(span)),
                span,
            },
            Rule::after_trigger => Trigger::AfterInStage {
                after: duration.unwrap_or(zero),
                stage: ident,
                filter,
                span,
            },
            _ => Trigger::AtDate {
                offset: duration.unwrap_or(zero),
                before,
                anchor: ident.unwrap_or_else(|| missing_ident(span)),
                filter,
                span,
            },
        }
    }

    fn milestone(&mut self, pair: P) -> MilestoneDecl {
        let span = self.sp(&pair);
        let mut decl = MilestoneDecl {
            name: missing_ident(span),
            starts: None,
            done: None,
            due: None,
            span,
        };
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::ident => decl.name = self.ident(p),
                Rule::starts_clause | Rule::done_clause => {
                    let is_start = p.as_rule() == Rule::starts_clause;
                    let mut event = None;
                    let mut filter = None;
                    for q in p.into_inner() {
                        match q.as_rule() {
                            Rule::event_name => {
                                event = q.into_inner().next().map(|s| self.string(s))
                            }
                            Rule::where_clause => filter = self.where_clause(q),
                            _ => {}
                        }
                    }
                    let clause = event.map(|e| (e, filter));
                    if is_start {
                        decl.starts = clause;
                    } else {
                        decl.done = clause;
                    }
                }
                Rule::due_clause => {
                    decl.due = p
                        .into_inner()
                        .find(|q| q.as_rule() == Rule::duration)
                        .map(|d| self.duration(d));
                }
                _ => {}
            }
        }
        decl
    }

    fn rule_option(&mut self, pair: P, options: &mut RuleOptions) {
        let span = self.sp(&pair);
        match pair.as_rule() {
            Rule::once_option => {
                if options.once.is_some() {
                    options.repeated.push(span);
                }
                options.once = Some(span);
            }
            Rule::cooldown_option => {
                if options.cooldown.is_some() {
                    options.repeated.push(span);
                }
                options.cooldown = pair
                    .into_inner()
                    .find(|q| q.as_rule() == Rule::duration)
                    .map(|d| self.duration(d));
            }
            Rule::holdout_option => {
                if options.holdout.is_some() {
                    options.repeated.push(span);
                }
                options.holdout = pair
                    .into_inner()
                    .find(|q| q.as_rule() == Rule::percent)
                    .map(|d| self.percent(d));
            }
            Rule::in_stages => {
                if !options.in_stages.is_empty() {
                    options.repeated.push(span);
                }
                if let Some(list) = pair.into_inner().find(|q| q.as_rule() == Rule::stage_list) {
                    options.in_stages = self.ident_list(list);
                }
            }
            Rule::for_segment => {
                if options.segment.is_some() {
                    options.repeated.push(span);
                }
                options.segment = self.for_segment(pair);
            }
            _ => {}
        }
    }

    fn rule(&mut self, pair: P) -> RuleDecl {
        let span = self.sp(&pair);
        let mut name = missing_ident(span);
        let mut trigger = None;
        let mut options = RuleOptions::default();
        let mut actions = Vec::new();
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::ident => name = self.ident(p),
                Rule::on_trigger | Rule::at_trigger | Rule::after_trigger | Rule::when_trigger => {
                    trigger = Some(self.trigger(p))
                }
                Rule::action_block => {
                    actions = p
                        .into_inner()
                        .filter(|q| q.as_rule() != Rule::EOI)
                        .map(|q| self.action(q))
                        .collect()
                }
                _ => self.rule_option(p, &mut options),
            }
        }
        RuleDecl {
            name,
            trigger: trigger.unwrap_or(Trigger::When {
                cond: missing_expr(span),
                span,
            }),
            options,
            actions,
            span,
        }
    }

    fn with_clause(&mut self, pair: Option<P>) -> WithClause {
        let mut with = WithClause::default();
        let Some(pair) = pair else {
            return with;
        };
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::context_clause => {
                    with.context = Some(
                        p.into_inner()
                            .filter(|q| q.as_rule() == Rule::ident)
                            .map(|q| self.ident(q))
                            .collect(),
                    )
                }
                Rule::data_map => {
                    for entry in p.into_inner().filter(|q| q.as_rule() == Rule::data_entry) {
                        let mut key = None;
                        let mut value = None;
                        for q in entry.into_inner() {
                            match q.as_rule() {
                                Rule::ident => key = Some(self.ident(q)),
                                Rule::expr => value = Some(self.expr(q)),
                                _ => {}
                            }
                        }
                        if let (Some(k), Some(v)) = (key, value) {
                            with.data.push((k, v));
                        }
                    }
                }
                _ => {}
            }
        }
        with
    }

    fn action(&mut self, pair: P) -> Action {
        let span = self.sp(&pair);
        let rule = pair.as_rule();
        let mut strings = Vec::new();
        let mut idents = Vec::new();
        let mut duration = None;
        let mut with = None;
        let mut channel = Channel::Email;
        let mut priority = None;
        let mut value = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::string => strings.push(self.string(p)),
                Rule::ident => idents.push(self.ident(p)),
                Rule::duration => duration = Some(self.duration(p)),
                Rule::with_clause => with = Some(p),
                Rule::expr => value = Some(self.expr(p)),
                Rule::channel => {
                    channel = match p.into_inner().next().map(|q| q.as_rule()) {
                        Some(Rule::kw_in_app) => Channel::InApp,
                        Some(Rule::kw_push) => Channel::Push,
                        Some(Rule::kw_sms) => Channel::Sms,
                        _ => Channel::Email,
                    }
                }
                Rule::priority => {
                    let pspan = self.sp(&p);
                    let level = match p.into_inner().next().map(|q| q.as_rule()) {
                        Some(Rule::kw_low) => Priority::Low,
                        Some(Rule::kw_high) => Priority::High,
                        Some(Rule::kw_urgent) => Priority::Urgent,
                        _ => Priority::Normal,
                    };
                    priority = Some((level, pspan));
                }
                _ => {}
            }
        }
        let with = self.with_clause(with);
        let mut strings = strings.into_iter();
        let text = strings.next().unwrap_or(StrLit {
            value: String::new(),
            span,
        });
        let who = idents
            .into_iter()
            .next()
            .unwrap_or_else(|| missing_ident(span));
        match rule {
            Rule::send_action => Action::Send {
                channel,
                template: text,
                with,
                span,
            },
            Rule::task_action => Action::Task {
                owner: who,
                title: text,
                due: duration,
                with,
                span,
            },
            Rule::ticket_action => Action::Ticket {
                title: text,
                priority,
                with,
                span,
            },
            Rule::crm_action => Action::Crm {
                field: text,
                value: value.unwrap_or_else(|| missing_expr(span)),
                span,
            },
            Rule::webhook_action => Action::Webhook {
                url: text,
                with,
                span,
            },
            _ => Action::HandOff {
                to: who,
                with,
                span,
            },
        }
    }

    fn notify(&mut self, pair: P) -> NotifyStep {
        let span = self.sp(&pair);
        let mut role = missing_ident(span);
        let mut with = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::ident => role = self.ident(p),
                Rule::with_clause => with = Some(p),
                _ => {}
            }
        }
        NotifyStep {
            role,
            with: self.with_clause(with),
            span,
        }
    }

    fn escalation(&mut self, pair: P) -> EscalationDecl {
        let span = self.sp(&pair);
        let mut name = missing_ident(span);
        let mut trigger = None;
        let mut options = RuleOptions::default();
        let mut first = None;
        let mut ladder = Vec::new();
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::ident => name = self.ident(p),
                Rule::on_trigger | Rule::at_trigger | Rule::after_trigger | Rule::when_trigger => {
                    trigger = Some(self.trigger(p))
                }
                Rule::notify_step => first = Some(self.notify(p)),
                Rule::ladder_step => {
                    let mut after = None;
                    let mut step = None;
                    for q in p.into_inner() {
                        match q.as_rule() {
                            Rule::duration => after = Some(self.duration(q)),
                            Rule::notify_step => step = Some(self.notify(q)),
                            _ => {}
                        }
                    }
                    if let (Some(a), Some(s)) = (after, step) {
                        ladder.push((a, s));
                    }
                }
                Rule::kw_escalation => {}
                _ => self.rule_option(p, &mut options),
            }
        }
        EscalationDecl {
            name: name.clone(),
            trigger: trigger.unwrap_or(Trigger::When {
                cond: missing_expr(span),
                span,
            }),
            options,
            first: first.unwrap_or(NotifyStep {
                role: name,
                with: WithClause::default(),
                span,
            }),
            ladder,
            span,
        }
    }

    fn policy(&mut self, pair: P) -> PolicyBlock {
        let span = self.sp(&pair);
        let mut items = Vec::new();
        for p in pair.into_inner() {
            let ispan = self.sp(&p);
            match p.as_rule() {
                Rule::cap_policy => {
                    let mut target = CapTarget::Messages;
                    let mut limit = 0;
                    let mut per = DurationLit {
                        millis: 0,
                        span: ispan,
                    };
                    for q in p.into_inner() {
                        match q.as_rule() {
                            Rule::cap_target => {
                                let inner = q.into_inner().next();
                                target = match inner.as_ref().map(|r| r.as_rule()) {
                                    Some(Rule::kw_touches) => CapTarget::Touches,
                                    Some(Rule::channel) => {
                                        let ch = inner
                                            .and_then(|c| c.into_inner().next())
                                            .map(|c| c.as_rule());
                                        CapTarget::Channel(match ch {
                                            Some(Rule::kw_in_app) => Channel::InApp,
                                            Some(Rule::kw_push) => Channel::Push,
                                            Some(Rule::kw_sms) => Channel::Sms,
                                            _ => Channel::Email,
                                        })
                                    }
                                    _ => CapTarget::Messages,
                                };
                            }
                            Rule::int => {
                                let v = self.int_value(&q);
                                limit = u32::try_from(v).unwrap_or_else(|_| {
                                    self.errors.push(SyntaxError::NumberOutOfRange {
                                        text: q.as_str().into(),
                                        span: self.sp(&q),
                                    });
                                    0
                                });
                            }
                            Rule::duration => per = self.duration(q),
                            _ => {}
                        }
                    }
                    items.push(PolicyItem::Cap {
                        target,
                        limit,
                        per,
                        span: ispan,
                    });
                }
                Rule::quiet_policy => {
                    let mut clocks = Vec::new();
                    let mut zone = QuietZone::Utc;
                    for q in p.into_inner() {
                        match q.as_rule() {
                            Rule::clock => clocks.push(self.clock(q)),
                            Rule::quiet_zone => {
                                let zspan = self.sp(&q);
                                zone = match q.into_inner().find(|r| r.as_rule() == Rule::ident) {
                                    Some(name) => QuietZone::Trait(self.ident(name)),
                                    None => QuietZone::Local(zspan),
                                };
                            }
                            _ => {}
                        }
                    }
                    items.push(PolicyItem::QuietHours {
                        start_minute: clocks.first().copied().unwrap_or(0),
                        end_minute: clocks.get(1).copied().unwrap_or(0),
                        zone,
                        span: ispan,
                    });
                }
                Rule::holdout_policy => {
                    let mut percent = PercentLit {
                        basis_points: 0,
                        span: ispan,
                    };
                    let mut rules = Vec::new();
                    for q in p.into_inner() {
                        match q.as_rule() {
                            Rule::percent => percent = self.percent(q),
                            Rule::ident => rules.push(self.ident(q)),
                            _ => {}
                        }
                    }
                    items.push(PolicyItem::Holdout {
                        percent,
                        rules,
                        span: ispan,
                    });
                }
                _ => {}
            }
        }
        PolicyBlock { items, span }
    }

    // ------------------------------------------------------------ expressions

    /// Builds a node, refusing to go deeper than [`MAX_EXPR_DEPTH`] so that no
    /// later recursive pass can overflow the stack.
    fn node(&mut self, kind: ExprKind, span: Span, depth_of_children: usize) -> Expr {
        if depth_of_children + 1 > MAX_EXPR_DEPTH {
            self.push_depth_error(span);
            return missing_expr(span);
        }
        Expr { kind, span }
    }

    fn push_depth_error(&mut self, span: Span) {
        let already = self
            .errors
            .iter()
            .any(|e| matches!(e, SyntaxError::ExpressionTooDeep { .. }));
        if !already {
            self.errors.push(SyntaxError::ExpressionTooDeep {
                limit: MAX_EXPR_DEPTH,
                span,
            });
        }
    }

    fn expr(&mut self, pair: P) -> Expr {
        let span = self.sp(&pair);
        match pair.into_inner().next() {
            Some(or) => self.or_expr(or),
            None => missing_expr(span),
        }
    }

    fn fold_chain(
        &mut self,
        pair: P,
        operand: fn(&mut Self, P) -> Expr,
        combine: fn(Option<&str>, Box<Expr>, Box<Expr>) -> ExprKind,
    ) -> Expr {
        let span = self.sp(&pair);
        let mut inner = pair.into_inner();
        let Some(first) = inner.next() else {
            return missing_expr(span);
        };
        let mut acc = operand(self, first);
        let mut op: Option<String> = None;
        for p in inner {
            match p.as_rule() {
                Rule::add_op | Rule::mul_op => op = Some(p.as_str().to_string()),
                Rule::kw_or | Rule::kw_and => op = None,
                _ => {
                    let rhs = operand(self, p);
                    let depth = depth(&acc).max(depth(&rhs));
                    let joined = acc.span.join(rhs.span);
                    let kind = combine(op.as_deref(), Box::new(acc), Box::new(rhs));
                    acc = self.node(kind, joined, depth);
                }
            }
        }
        acc
    }

    fn or_expr(&mut self, pair: P) -> Expr {
        self.fold_chain(pair, Self::and_expr, |_, a, b| ExprKind::Or(a, b))
    }

    fn and_expr(&mut self, pair: P) -> Expr {
        self.fold_chain(pair, Self::not_expr, |_, a, b| ExprKind::And(a, b))
    }

    fn not_expr(&mut self, pair: P) -> Expr {
        let mut nots = Vec::new();
        let mut body = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::not_op => nots.push(self.sp(&p)),
                _ => body = Some(self.cmp_expr(p)),
            }
        }
        let mut expr = body.unwrap_or_else(|| missing_expr(Span::default()));
        for not_span in nots.into_iter().rev() {
            let span = not_span.join(expr.span);
            let d = depth(&expr);
            expr = self.node(ExprKind::Not(Box::new(expr)), span, d);
        }
        expr
    }

    fn cmp_expr(&mut self, pair: P) -> Expr {
        let span = self.sp(&pair);
        let mut inner = pair.into_inner();
        let Some(first) = inner.next() else {
            return missing_expr(span);
        };
        let lhs = self.add_expr(first);
        let Some(tail) = inner.next() else {
            return lhs;
        };
        let tail_rule = tail.as_rule();
        let mut negated = false;
        let mut below = false;
        let mut cmp = CmpOp::Eq;
        let mut operands = Vec::new();
        for p in tail.into_inner() {
            match p.as_rule() {
                Rule::not_op => negated = true,
                Rule::kw_below => below = true,
                Rule::cmp_op => {
                    cmp = match p.as_str() {
                        "!=" => CmpOp::Ne,
                        "<" => CmpOp::Lt,
                        "<=" => CmpOp::Le,
                        ">" => CmpOp::Gt,
                        ">=" => CmpOp::Ge,
                        _ => CmpOp::Eq,
                    }
                }
                Rule::add_expr => operands.push(self.add_expr(p)),
                _ => {}
            }
        }
        let d = operands
            .iter()
            .map(depth)
            .max()
            .unwrap_or(0)
            .max(depth(&lhs));
        let lhs = Box::new(lhs);
        let kind = match tail_rule {
            Rule::comparison => ExprKind::Compare(
                cmp,
                lhs,
                Box::new(operands.pop().unwrap_or_else(|| missing_expr(span))),
            ),
            Rule::crossing => ExprKind::Crosses {
                value: lhs,
                below,
                threshold: Box::new(operands.pop().unwrap_or_else(|| missing_expr(span))),
            },
            Rule::is_set_test => ExprKind::IsSet {
                value: lhs,
                negated,
            },
            _ => ExprKind::In {
                value: lhs,
                negated,
                options: operands,
            },
        };
        self.node(kind, span, d)
    }

    fn add_expr(&mut self, pair: P) -> Expr {
        self.fold_chain(pair, Self::mul_expr, |op, a, b| {
            let op = if op == Some("-") {
                BinOp::Sub
            } else {
                BinOp::Add
            };
            ExprKind::Binary(op, a, b)
        })
    }

    fn mul_expr(&mut self, pair: P) -> Expr {
        self.fold_chain(pair, Self::unary, |op, a, b| {
            let op = match op {
                Some("/") => BinOp::Div,
                Some("%") => BinOp::Rem,
                _ => BinOp::Mul,
            };
            ExprKind::Binary(op, a, b)
        })
    }

    fn unary(&mut self, pair: P) -> Expr {
        // The whole operand as written, parentheses included: a parenthesised
        // primary arrives here as its inner expression.
        let whole = self.sp(&pair);
        let mut negs = Vec::new();
        let mut body = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::neg_op => negs.push(self.sp(&p)),
                _ => body = Some(self.primary(p)),
            }
        }
        let mut expr = body.unwrap_or_else(|| missing_expr(Span::default()));
        for neg_span in negs.into_iter().rev() {
            let span = neg_span.join(expr.span);
            // `-5` is a literal, so that `i64::MIN` can be written.
            if let ExprKind::Literal(Literal::Int(v, _)) = &expr.kind {
                if let Some(n) = v.checked_neg() {
                    expr = Expr {
                        kind: ExprKind::Literal(Literal::Int(n, span)),
                        span,
                    };
                    continue;
                }
            }
            let d = depth(&expr);
            expr = self.node(ExprKind::Neg(Box::new(expr)), span, d);
        }
        expr.span = whole;
        expr
    }

    fn primary(&mut self, pair: P) -> Expr {
        let span = self.sp(&pair);
        let kind = match pair.as_rule() {
            Rule::expr => return self.expr(pair),
            Rule::ident => ExprKind::Name(self.ident(pair)),
            Rule::stage_ref => ExprKind::Stage,
            Rule::event_prop => match pair.into_inner().find(|p| p.as_rule() == Rule::ident) {
                Some(p) => ExprKind::EventProp(self.ident(p)),
                None => return missing_expr(span),
            },
            Rule::since_last => {
                match pair
                    .into_inner()
                    .find(|p| p.as_rule() == Rule::event_name)
                    .and_then(|p| p.into_inner().next())
                {
                    Some(s) => ExprKind::SinceLast(self.string(s)),
                    None => return missing_expr(span),
                }
            }
            Rule::milestone_state => {
                let mut name = None;
                let mut state = MilestoneStateKw::Missed;
                for p in pair.into_inner() {
                    match p.as_rule() {
                        Rule::ident => name = Some(self.ident(p)),
                        Rule::kw_done => state = MilestoneStateKw::Done,
                        Rule::kw_running => state = MilestoneStateKw::Running,
                        _ => {}
                    }
                }
                ExprKind::MilestoneState(name.unwrap_or_else(|| missing_ident(span)), state)
            }
            Rule::call => {
                let mut inner = pair.into_inner();
                let name = match inner.next() {
                    Some(p) => self.ident(p),
                    None => missing_ident(span),
                };
                let args: Vec<Expr> = inner.map(|p| self.expr(p)).collect();
                let d = args.iter().map(depth).max().unwrap_or(0);
                return self.node(ExprKind::Call(name, args), span, d);
            }
            _ => ExprKind::Literal(self.literal(pair)),
        };
        Expr { kind, span }
    }
}

/// `text` without trailing whitespace and `#` comments.
fn trim_trailing(text: &str) -> &str {
    let mut text = text.trim_end();
    loop {
        let line_start = text.rfind('\n').map_or(0, |i| i + 1);
        let Some(comment) = comment_start(&text[line_start..]) else {
            return text;
        };
        text = text[..line_start + comment].trim_end();
    }
}

/// Where a `#` comment starts on a line, outside string literals.
fn comment_start(line: &str) -> Option<usize> {
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            '#' if !in_string => return Some(i),
            _ => {}
        }
    }
    None
}

/// A placeholder for a part the parser already reported as missing.
fn missing_expr(span: Span) -> Expr {
    Expr {
        kind: ExprKind::Literal(Literal::Bool(false, span)),
        span,
    }
}

fn missing_ident(span: Span) -> Ident {
    Ident {
        name: String::new(),
        span,
    }
}

/// Depth of an expression tree (a leaf is 1).
pub fn depth(expr: &Expr) -> usize {
    let children: Vec<&Expr> = match &expr.kind {
        ExprKind::Neg(a) | ExprKind::Not(a) => vec![a],
        ExprKind::IsSet { value, .. } => vec![value],
        ExprKind::Binary(_, a, b)
        | ExprKind::Compare(_, a, b)
        | ExprKind::And(a, b)
        | ExprKind::Or(a, b) => {
            vec![a, b]
        }
        ExprKind::Crosses {
            value, threshold, ..
        } => vec![value, threshold],
        ExprKind::In { value, options, .. } => {
            let mut v = vec![value.as_ref()];
            v.extend(options.iter());
            v
        }
        ExprKind::Call(_, args) => args.iter().collect(),
        _ => vec![],
    };
    // Children were depth-checked when built, so this recursion is bounded.
    1 + children.into_iter().map(depth).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_exclude_trailing_whitespace_and_comments() {
        assert_eq!(trim_trailing("a -> b  # note\n\n# more\n  "), "a -> b");
        assert_eq!(trim_trailing("x == \"#1\"  \n"), "x == \"#1\"");
        assert_eq!(trim_trailing("x == \"a\\\"#\" # c"), "x == \"a\\\"#\"");
    }

    #[test]
    fn a_comment_inside_a_signed_number_is_not_part_of_it() {
        let source = "playbook \"p\" { language 1 }\ntraits { n: int in - # lowest\n 5..10 = 0 }\n";
        let playbook = parse(source).expect("parses");
        let Item::Traits(traits) = &playbook.items[0] else {
            panic!("traits")
        };
        let range = traits.fields[0].range.as_ref().expect("a range");
        assert_eq!(range.low.text, "-5");
    }

    #[test]
    fn parenthesised_operands_keep_their_parentheses() {
        let source = "playbook \"p\" { language 1 }\nscore s in 0..100 = 1 + 2 * (m - 7)\n";
        let playbook = parse(source).expect("parses");
        let Item::Score(score) = &playbook.items[0] else {
            panic!("a score")
        };
        let span = score.terms[1].expr.span;
        assert_eq!(&source[span.start..span.end], "2 * (m - 7)");
    }

    #[test]
    fn item_spans_end_at_their_last_token() {
        let source = "playbook \"p\" { language 1 }\nstages { a initial, b }\ntransition a -> b on \"E\"  # why\n\n";
        let playbook = parse(source).expect("parses");
        let span = playbook.items[1].span();
        assert_eq!(&source[span.start..span.end], "transition a -> b on \"E\"");
    }
}

#[cfg(test)]
mod after_in_stage_tests {
    use super::*;

    #[test]
    fn a_stage_timer_does_not_swallow_the_next_word() {
        let source = "playbook \"p\" { language 1 }\nstages { a initial, b }\n\
            transition b -> a after 30d in stage backward\n\
            transition a -> b after 3d in stage\n\
            rule r after 2d in stage a once { send email \"x\" }\n";
        let playbook = parse(source).expect("parses as a whole");
        let Item::Transition(first) = &playbook.items[1] else {
            panic!("a transition")
        };
        assert!(first.backward.is_some());
        assert!(matches!(
            first.trigger,
            Trigger::AfterInStage { stage: None, .. }
        ));
        let Item::Rule(rule) = &playbook.items[3] else {
            panic!("a rule")
        };
        assert!(rule.options.once.is_some());
        assert!(
            matches!(&rule.trigger, Trigger::AfterInStage { stage: Some(s), .. } if s.name == "a")
        );
    }
}
