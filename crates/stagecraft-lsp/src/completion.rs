//! Completion: declared names, keywords that fit the position (an
//! approximation from the tokens before the cursor), and built-ins.

use lsp_types::{
    CompletionItem, CompletionItemKind, CompletionTextEdit, Documentation, MarkupContent,
    MarkupKind, Range, TextEdit,
};
use stagecraft::ir::Program;
use stagecraft::syntax::lexer::{self, Token, TokenKind};
use stagecraft::syntax::Span;

use crate::docs;
use crate::index::{DeclKind, Index};
use crate::line_index::LineIndex;

/// A declared name that completion can offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    pub kind: DeclKind,
    pub name: String,
    /// The event of a property, the field of an enum value.
    pub parent: Option<String>,
    pub detail: String,
}

/// The names of one or more analyses, without repeats.
#[derive(Debug, Clone, Default)]
pub struct Names(pub Vec<Name>);

impl Names {
    pub fn add(&mut self, index: &Index, program: Option<&Program>) {
        for d in &index.decls {
            if !d.kind.is_named() {
                continue;
            }
            let parent = d.parent.map(|p| index.decls[p].name.clone());
            if self
                .0
                .iter()
                .any(|n| n.kind == d.kind && n.name == d.name && n.parent == parent)
            {
                continue;
            }
            let ty = program.and_then(|p| type_of(p, d.kind, &d.name, parent.as_deref()));
            let detail = match (d.kind, &parent, ty) {
                (DeclKind::Property, Some(event), Some(ty)) => {
                    format!("property of \"{event}\": {ty}")
                }
                (DeclKind::Property, Some(event), None) => format!("property of \"{event}\""),
                (DeclKind::EnumValue, Some(field), _) => format!("value of {field}"),
                (kind, _, Some(ty)) => format!("{}: {ty}", kind.describe()),
                (kind, _, None) => kind.describe().to_string(),
            };
            self.0.push(Name {
                kind: d.kind,
                name: d.name.clone(),
                parent,
                detail,
            });
        }
    }

    fn of<'a>(&'a self, kinds: &'a [DeclKind]) -> impl Iterator<Item = &'a Name> + 'a {
        self.0.iter().filter(move |n| kinds.contains(&n.kind))
    }
}

fn type_of(program: &Program, kind: DeclKind, name: &str, parent: Option<&str>) -> Option<String> {
    use stagecraft::ir::Type;
    let show = |ty: Type| match ty {
        Type::Bool => "bool".to_string(),
        Type::Int => "int".to_string(),
        Type::Decimal => "decimal".to_string(),
        Type::String => "string".to_string(),
        Type::Duration => "duration".to_string(),
        Type::Timestamp => "timestamp".to_string(),
        Type::Date => "date".to_string(),
        Type::Timezone => "timezone".to_string(),
        Type::Stage => "stage".to_string(),
        Type::Enum(i) => program
            .enums
            .get(i as usize)
            .map_or("enum".to_string(), |e| {
                format!("enum {{ {} }}", e.variants.join(", "))
            }),
    };
    match kind {
        DeclKind::Trait => program
            .traits
            .iter()
            .find(|t| t.name == name)
            .map(|t| show(t.ty)),
        DeclKind::Metric => program
            .metrics
            .iter()
            .find(|m| m.name == name)
            .map(|m| show(m.ty)),
        DeclKind::Score => program
            .scores
            .iter()
            .find(|s| s.name == name)
            .map(|s| show(s.ty)),
        DeclKind::Segment => Some("bool".to_string()),
        DeclKind::Property => program
            .events
            .iter()
            .find(|e| Some(e.name.as_str()) == parent)?
            .props
            .iter()
            .find(|p| p.name == name)
            .map(|p| show(p.ty)),
        _ => None,
    }
}

/// Where the cursor is, as far as completion cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    TopLevel,
    Header,
    Fields,
    Enum,
    Stages,
    Milestone,
    Actions,
    Escalation,
    Policy,
    /// `with { ... }` maps, parentheses and brackets: expressions.
    Expression,
}

const TYPE_KEYWORDS: &[&str] = &[
    "bool",
    "int",
    "decimal",
    "money",
    "string",
    "duration",
    "timestamp",
    "date",
    "timezone",
    "enum",
];
const HEADER_KEYWORDS: &[&str] = &[
    "language",
    "version",
    "description",
    "subject",
    "account",
    "per",
];
const MILESTONE_KEYWORDS: &[&str] = &["starts", "done", "on", "due", "where"];
const ACTION_KEYWORDS: &[&str] = &[
    "send", "email", "in_app", "push", "sms", "create", "task", "for", "due", "open", "ticket",
    "priority", "low", "normal", "high", "urgent", "update", "crm", "call", "webhook", "hand",
    "off", "to", "with", "context",
];
const ESCALATION_KEYWORDS: &[&str] = &["notify", "unacknowledged", "with", "context"];
const POLICY_KEYWORDS: &[&str] = &[
    "cap", "messages", "touches", "email", "in_app", "push", "sms", "per", "quiet", "hours",
    "local", "in", "holdout", "of",
];
const TOP_LEVEL_KEYWORDS: &[&str] = &[
    // triggers and options
    "on",
    "when",
    "after",
    "at",
    "before",
    "in",
    "stage",
    "where",
    "for",
    "once",
    "cooldown",
    "holdout",
    "backward",
    "reactivation",
    "any",
    "except",
    "by",
    "requires",
    "reason",
    "override",
    "milestone",
    "missed",
    "done",
    "running", // metrics
    "count",
    "sum",
    "min",
    "max",
    "avg",
    "distinct",
    "latest",
    "first",
    "ever",
    "sent",
    "over",
    "default", // expressions
    "and",
    "or",
    "not",
    "crosses",
    "below",
    "above",
    "is",
    "set",
    "since",
    "last",
    "true",
    "false",
    "event",
];
const EXPRESSION_KEYWORDS: &[&str] = &[
    "and",
    "or",
    "not",
    "crosses",
    "below",
    "above",
    "is",
    "set",
    "in",
    "since",
    "last",
    "true",
    "false",
    "event",
    "stage",
    "milestone",
    "missed",
    "done",
    "running",
];

const VALUE_KINDS: &[DeclKind] = &[
    DeclKind::Trait,
    DeclKind::Metric,
    DeclKind::Score,
    DeclKind::Segment,
];

struct Items {
    items: Vec<CompletionItem>,
    /// The range a completion replaces: the word before the cursor.
    replace: Range,
}

impl Items {
    fn push(
        &mut self,
        label: &str,
        kind: CompletionItemKind,
        detail: &str,
        rank: u8,
        insert: Option<String>,
    ) {
        if self
            .items
            .iter()
            .any(|i| i.label == label && i.kind == Some(kind))
        {
            return;
        }
        let new_text = insert.unwrap_or_else(|| label.to_string());
        self.items.push(CompletionItem {
            label: label.to_string(),
            kind: Some(kind),
            detail: Some(detail.to_string()),
            sort_text: Some(format!("{rank}{label}")),
            filter_text: Some(new_text.clone()),
            text_edit: Some(CompletionTextEdit::Edit(TextEdit::new(
                self.replace,
                new_text,
            ))),
            ..CompletionItem::default()
        });
    }

    fn keywords(&mut self, words: &[&str], rank: u8) {
        for word in words {
            let doc = docs::keyword(word).unwrap_or("");
            self.push(word, CompletionItemKind::KEYWORD, doc, rank, None);
        }
    }

    fn names(&mut self, names: &Names, kinds: &[DeclKind], rank: u8) {
        for n in names.of(kinds) {
            let kind = match n.kind {
                DeclKind::Trait => CompletionItemKind::FIELD,
                DeclKind::Metric => CompletionItemKind::VARIABLE,
                DeclKind::Score => CompletionItemKind::VALUE,
                DeclKind::Segment => CompletionItemKind::CONSTANT,
                DeclKind::Stage => CompletionItemKind::ENUM_MEMBER,
                DeclKind::EnumValue => CompletionItemKind::ENUM_MEMBER,
                DeclKind::Event => CompletionItemKind::EVENT,
                DeclKind::Property => CompletionItemKind::PROPERTY,
                DeclKind::Milestone => CompletionItemKind::REFERENCE,
                _ => CompletionItemKind::FUNCTION,
            };
            if n.kind == DeclKind::Event {
                let quoted = quote(&n.name);
                self.push(&quoted, kind, &n.detail, rank, Some(quoted.clone()));
            } else {
                self.push(&n.name, kind, &n.detail, rank, None);
            }
        }
    }

    fn builtins(&mut self, rank: u8) {
        for (name, signature, doc) in docs::BUILTINS {
            let kind = if signature.contains('(') {
                CompletionItemKind::FUNCTION
            } else {
                CompletionItemKind::CONSTANT
            };
            self.push(name, kind, signature, rank, None);
            if let Some(item) = self.items.last_mut().filter(|i| i.label == *name) {
                item.documentation = Some(Documentation::MarkupContent(MarkupContent {
                    kind: MarkupKind::Markdown,
                    value: doc.to_string(),
                }));
            }
        }
    }
}

/// A string literal for an event name.
fn quote(name: &str) -> String {
    let mut out = String::from("\"");
    for c in name.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

pub fn complete(
    text: &str,
    lines: &LineIndex,
    offset: usize,
    names: &Names,
) -> Vec<CompletionItem> {
    let offset = offset.min(text.len());
    let tokens: Vec<Token> = lexer::tokenize(text)
        .into_iter()
        .filter(|t| t.kind != Some(TokenKind::Newline))
        .collect();
    // Inside a string: event names, replacing the string's contents.
    if let Some(string) = tokens.iter().find(|t| {
        matches!(t.kind, Some(TokenKind::Str | TokenKind::UnterminatedStr))
            && t.span.start < offset
            && (offset < t.span.end
                || (t.kind == Some(TokenKind::UnterminatedStr) && offset == t.span.end))
    }) {
        let end = if string.kind == Some(TokenKind::Str) {
            string.span.end - 1
        } else {
            string.span.end
        };
        let replace = lines.range(text, Span::new(string.span.start + 1, end));
        let mut items = Items {
            items: Vec::new(),
            replace,
        };
        for n in names.of(&[DeclKind::Event]) {
            let quoted = quote(&n.name);
            let inner = quoted[1..quoted.len() - 1].to_string();
            items.push(
                &n.name,
                CompletionItemKind::EVENT,
                &n.detail,
                0,
                Some(inner),
            );
        }
        return items.items;
    }
    if tokens.iter().any(|t| {
        t.kind == Some(TokenKind::Comment) && t.span.start < offset && offset <= t.span.end
    }) {
        return Vec::new();
    }
    // The word being typed.
    let before = &text[..offset];
    let word_start = before
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_ascii_alphanumeric() || *c == '_')
        .last()
        .map_or(offset, |(i, _)| i);
    let mut items = Items {
        items: Vec::new(),
        replace: lines.range(text, Span::new(word_start, offset)),
    };
    let previous: Vec<&Token> = tokens
        .iter()
        .filter(|t| t.span.end <= word_start && t.kind != Some(TokenKind::Comment))
        .collect();
    let word = |t: Option<&&Token>| -> &str {
        match t {
            Some(t) if t.kind == Some(TokenKind::Word) => &text[t.span.start..t.span.end],
            _ => "",
        }
    };
    let kind = |t: Option<&&Token>| t.and_then(|t| t.kind);
    let last = previous.last();
    let second = previous.len().checked_sub(2).and_then(|i| previous.get(i));

    // After a dot: properties.
    if kind(last) == Some(TokenKind::Dot) {
        let event = match second {
            Some(t) if t.kind == Some(TokenKind::Str) => {
                Some(unquote(&text[t.span.start..t.span.end]))
            }
            Some(t) if word(Some(t)) == "event" => context_event(text, &previous, names),
            _ => return Vec::new(),
        };
        for n in names.of(&[DeclKind::Property]) {
            if event.is_none() || n.parent == event {
                items.push(&n.name, CompletionItemKind::PROPERTY, &n.detail, 0, None);
            }
        }
        return items.items;
    }

    let block = block_at(text, &previous);
    let last_word = word(last);
    let stage_position = kind(last) == Some(TokenKind::Arrow)
        || matches!(last_word, "transition" | "manual" | "except")
        || (last_word == "stage" && word(second) == "in" && block != Block::Expression)
        || (kind(last) == Some(TokenKind::Comma) && in_stage_list(text, &previous));
    if stage_position {
        items.names(names, &[DeclKind::Stage], 0);
        if matches!(last_word, "transition" | "manual") {
            items.keywords(&["any"], 1);
        }
        return items.items;
    }
    match last_word {
        "on" => {
            items.names(names, &[DeclKind::Event], 0);
            if block != Block::Milestone {
                items.keywords(&["milestone"], 1);
            }
            return items.items;
        }
        "milestone" if !starts_declaration(text, block, last) => {
            items.names(names, &[DeclKind::Milestone], 0);
            return items.items;
        }
        "for" if word(second) != "task" => {
            items.names(names, &[DeclKind::Segment], 0);
            return items.items;
        }
        "sent" => {
            items.names(names, &[DeclKind::Rule], 0);
            return items.items;
        }
        "send" => {
            items.keywords(&["email", "in_app", "push", "sms"], 0);
            return items.items;
        }
        "since" => {
            items.keywords(&["last"], 0);
            return items.items;
        }
        "last" | "count" | "ever" | "sum" | "min" | "max" | "avg" | "distinct" | "latest"
        | "first"
            if block == Block::TopLevel && kind(last) == Some(TokenKind::Word) =>
        {
            items.names(names, &[DeclKind::Event], 0);
            if last_word == "count" {
                items.keywords(&["sent"], 1);
            }
            if last_word != "last" {
                // `min(` and `max(` are functions too.
                items.names(names, VALUE_KINDS, 2);
                items.builtins(3);
            }
            return items.items;
        }
        _ => {}
    }
    if in_context_list(text, &previous) {
        items.names(names, &[DeclKind::Metric, DeclKind::Score], 0);
        return items.items;
    }
    match block {
        Block::Header => items.keywords(HEADER_KEYWORDS, 0),
        Block::Fields => {
            if kind(last) == Some(TokenKind::Colon) {
                items.keywords(TYPE_KEYWORDS, 0);
            }
        }
        Block::Enum => {}
        Block::Stages => items.keywords(&["initial", "terminal"], 0),
        Block::Milestone => {
            items.keywords(MILESTONE_KEYWORDS, 0);
            expression(&mut items, names, 1);
        }
        Block::Actions => {
            items.keywords(ACTION_KEYWORDS, 0);
            expression(&mut items, names, 1);
        }
        Block::Escalation => items.keywords(ESCALATION_KEYWORDS, 0),
        Block::Policy => match (last_word, kind(last)) {
            ("of", _) | (_, Some(TokenKind::Comma)) => {
                items.names(names, &[DeclKind::Rule], 0);
            }
            ("in", _) => items.names(names, &[DeclKind::Trait], 0),
            _ => items.keywords(POLICY_KEYWORDS, 0),
        },
        Block::Expression => expression(&mut items, names, 0),
        Block::TopLevel => {
            let starts_line = text[..word_start]
                .rsplit('\n')
                .next()
                .is_some_and(|l| l.trim().is_empty());
            items.keywords(docs::ITEM_KEYWORDS, if starts_line { 0 } else { 3 });
            items.keywords(TOP_LEVEL_KEYWORDS, 2);
            if last.is_none() {
                items.keywords(&["playbook"], 0);
            }
            expression(&mut items, names, if starts_line { 1 } else { 0 });
        }
    }
    items.items
}

/// Whether a token is a word at the start of its line at the top level: a
/// declaration keyword, so the name after it is new.
fn starts_declaration(text: &str, block: Block, token: Option<&&Token>) -> bool {
    let Some(token) = token else {
        return false;
    };
    block == Block::TopLevel
        && text[..token.span.start]
            .rsplit('\n')
            .next()
            .is_some_and(|l| l.trim().is_empty())
}

fn expression(items: &mut Items, names: &Names, rank: u8) {
    items.names(names, VALUE_KINDS, rank);
    items.builtins(rank + 1);
    items.keywords(EXPRESSION_KEYWORDS, rank + 2);
    items.names(names, &[DeclKind::Stage, DeclKind::EnumValue], rank + 2);
}

fn unquote(s: &str) -> String {
    s.trim_start_matches('"').trim_end_matches('"').to_string()
}

/// The innermost open bracket before the cursor, classified by the words
/// before it.
fn block_at(text: &str, previous: &[&Token]) -> Block {
    let mut stack: Vec<Block> = Vec::new();
    let mut declaration = "";
    for (i, token) in previous.iter().enumerate() {
        match token.kind {
            Some(TokenKind::Word) if stack.is_empty() => {
                let w = &text[token.span.start..token.span.end];
                let after_dot = i > 0 && previous[i - 1].kind == Some(TokenKind::Dot);
                if (docs::ITEM_KEYWORDS.contains(&w) || w == "playbook") && !after_dot {
                    declaration = w;
                }
            }
            Some(TokenKind::LBrace) => {
                let before = i.checked_sub(1).map(|j| previous[j]);
                let before_word = before
                    .filter(|t| t.kind == Some(TokenKind::Word))
                    .map(|t| &text[t.span.start..t.span.end]);
                let block = if before_word == Some("enum") {
                    Block::Enum
                } else if before_word == Some("with")
                    || before.and_then(|t| t.kind) == Some(TokenKind::RParen)
                    || !stack.is_empty()
                {
                    Block::Expression
                } else {
                    match declaration {
                        "playbook" => Block::Header,
                        "traits" | "event" => Block::Fields,
                        "stages" => Block::Stages,
                        "milestone" => Block::Milestone,
                        "rule" => Block::Actions,
                        "escalation" => Block::Escalation,
                        "policy" => Block::Policy,
                        _ => Block::Expression,
                    }
                };
                stack.push(block);
            }
            Some(TokenKind::LParen | TokenKind::LBracket) => stack.push(Block::Expression),
            Some(TokenKind::RBrace | TokenKind::RParen | TokenKind::RBracket) => {
                stack.pop();
            }
            _ => {}
        }
    }
    stack.last().copied().unwrap_or(Block::TopLevel)
}

/// Whether the comma before the cursor continues a list of stages
/// (`transition a, b`, `any except a, b`, `in stage a, b`).
fn in_stage_list(text: &str, previous: &[&Token]) -> bool {
    let mut i = previous.len();
    while i >= 2 {
        let (comma, name) = (previous[i - 1], previous[i - 2]);
        if comma.kind != Some(TokenKind::Comma) || name.kind != Some(TokenKind::Word) {
            return false;
        }
        i -= 2;
        let Some(head) = i.checked_sub(1).map(|j| previous[j]) else {
            return false;
        };
        let w = &text[head.span.start..head.span.end];
        match head.kind {
            Some(TokenKind::Word) if matches!(w, "transition" | "manual" | "except") => {
                return true
            }
            Some(TokenKind::Word) if w == "stage" => {
                return i >= 2
                    && &text[previous[i - 2].span.start..previous[i - 2].span.end] == "in"
            }
            Some(TokenKind::Comma) => {}
            _ => return false,
        }
    }
    false
}

/// Whether the cursor is inside `context( ... )`.
fn in_context_list(text: &str, previous: &[&Token]) -> bool {
    for (i, token) in previous.iter().enumerate().rev() {
        match token.kind {
            Some(TokenKind::Word | TokenKind::Comma) => {}
            Some(TokenKind::LParen) => {
                return i > 0
                    && &text[previous[i - 1].span.start..previous[i - 1].span.end] == "context"
            }
            _ => return false,
        }
    }
    false
}

/// The event a rule, metric or milestone clause is about: the nearest event
/// name before the cursor in the same declaration.
fn context_event(text: &str, previous: &[&Token], names: &Names) -> Option<String> {
    let mut depth = 0i32;
    for token in previous.iter().rev() {
        match token.kind {
            Some(TokenKind::RBrace | TokenKind::RParen | TokenKind::RBracket) => depth += 1,
            Some(TokenKind::LBrace | TokenKind::LParen | TokenKind::LBracket) => depth -= 1,
            Some(TokenKind::Str) => {
                let name = unquote(&text[token.span.start..token.span.end]);
                if names.of(&[DeclKind::Event]).any(|n| n.name == name) {
                    return Some(name);
                }
            }
            Some(TokenKind::Word) if depth <= 0 => {
                let w = &text[token.span.start..token.span.end];
                if docs::ITEM_KEYWORDS.contains(&w) && w != "event" && w != "milestone" {
                    return None;
                }
            }
            _ => {}
        }
    }
    None
}
