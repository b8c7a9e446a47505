//! Document symbols: every declaration, with traits, event properties and
//! stages as children of their block or event.

use lsp_types::{DocumentSymbol, SymbolKind};
use stagecraft::syntax::Span;

use crate::index::{DeclKind, Index};
use crate::line_index::LineIndex;

fn kind(kind: DeclKind) -> SymbolKind {
    match kind {
        DeclKind::Header => SymbolKind::PACKAGE,
        DeclKind::TraitsBlock => SymbolKind::STRUCT,
        DeclKind::Trait => SymbolKind::FIELD,
        DeclKind::Event => SymbolKind::EVENT,
        DeclKind::Property => SymbolKind::PROPERTY,
        DeclKind::EnumValue => SymbolKind::ENUM_MEMBER,
        DeclKind::Metric => SymbolKind::VARIABLE,
        DeclKind::Score => SymbolKind::NUMBER,
        DeclKind::Segment => SymbolKind::BOOLEAN,
        DeclKind::StagesBlock => SymbolKind::ENUM,
        DeclKind::Stage => SymbolKind::ENUM_MEMBER,
        DeclKind::Transition | DeclKind::Manual => SymbolKind::OPERATOR,
        DeclKind::Milestone => SymbolKind::KEY,
        DeclKind::Rule | DeclKind::Escalation => SymbolKind::FUNCTION,
        DeclKind::Policy => SymbolKind::NAMESPACE,
    }
}

/// The symbols of an index. `place` maps a span of the index's text to the
/// current text (`None`: drop the symbol).
pub fn document_symbols(
    index: &Index,
    text: &str,
    lines: &LineIndex,
    place: &dyn Fn(Span) -> Option<Span>,
) -> Vec<DocumentSymbol> {
    let mut roots = Vec::new();
    for (i, d) in index.decls.iter().enumerate() {
        if d.parent.is_none() {
            if let Some(symbol) = symbol(index, i, text, lines, place) {
                roots.push(symbol);
            }
        }
    }
    roots
}

fn symbol(
    index: &Index,
    decl: usize,
    text: &str,
    lines: &LineIndex,
    place: &dyn Fn(Span) -> Option<Span>,
) -> Option<DocumentSymbol> {
    let d = &index.decls[decl];
    let range = place(d.span)?;
    let selection = place(d.name_span).filter(|s| range.start <= s.start && s.end <= range.end)?;
    let children: Vec<DocumentSymbol> = index
        .children(decl)
        // Enum values are listed in the hover, not as symbols.
        .filter(|(_, c)| c.kind != DeclKind::EnumValue)
        .filter_map(|(c, _)| symbol(index, c, text, lines, place))
        .collect();
    let name = match d.kind {
        DeclKind::Event => format!("\"{}\"", d.name),
        DeclKind::Header => format!("playbook \"{}\"", d.name),
        DeclKind::Transition => format!("transition {}", d.name),
        DeclKind::Manual => format!("manual {}", d.name),
        _ => d.name.clone(),
    };
    let detail = match d.kind {
        DeclKind::Header | DeclKind::Event | DeclKind::Transition | DeclKind::Manual => None,
        DeclKind::TraitsBlock | DeclKind::StagesBlock | DeclKind::Policy => None,
        kind => Some(kind.describe().to_string()),
    };
    #[allow(deprecated)]
    Some(DocumentSymbol {
        name,
        detail,
        kind: kind(d.kind),
        tags: None,
        deprecated: None,
        range: lines.range(text, range),
        selection_range: lines.range(text, selection),
        children: (!children.is_empty()).then_some(children),
    })
}
