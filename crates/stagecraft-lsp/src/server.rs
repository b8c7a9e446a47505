//! The message loop: documents, their analyses, and the request handlers.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use lsp_server::{Connection, ErrorCode, Message, Notification, Request, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument, LogMessage,
    Notification as _, PublishDiagnostics,
};
use lsp_types::request::{
    Completion, DocumentSymbolRequest, Formatting, GotoDefinition, HoverRequest, Request as _,
};
use lsp_types::{
    CodeDescription, CompletionOptions, CompletionParams, CompletionResponse,
    DiagnosticRelatedInformation, DiagnosticSeverity, DidChangeTextDocumentParams,
    DidCloseTextDocumentParams, DidOpenTextDocumentParams, DocumentFormattingParams,
    DocumentSymbolParams, DocumentSymbolResponse, GotoDefinitionParams, GotoDefinitionResponse,
    Hover, HoverContents, HoverParams, HoverProviderCapability, InitializeParams, Location,
    LogMessageParams, MarkupContent, MarkupKind, MessageType, NumberOrString, OneOf, Position,
    PublishDiagnosticsParams, Range, ServerCapabilities, ServerInfo, TextDocumentSyncCapability,
    TextDocumentSyncKind, TextDocumentSyncOptions, TextEdit, Uri,
};
use serde::de::DeserializeOwned;
use stagecraft::syntax::Span;
use stagecraft::{Diagnostic, Severity};

use crate::analysis::Analysis;
use crate::completion::{self, Names};
use crate::line_index::LineIndex;
use crate::nav::{self, Found};
use crate::{hover, symbols, Error, Options, DEFAULT_DOCS_URL};

struct Document {
    version: i32,
    current: Analysis,
    /// The last version that checked, while the current one does not.
    last_good: Option<Analysis>,
}

impl Document {
    /// The newest analysis that checked.
    fn good(&self) -> Option<&Analysis> {
        if self.current.is_good() {
            Some(&self.current)
        } else {
            self.last_good.as_ref()
        }
    }
}

pub(crate) struct Server {
    connection: Connection,
    options: Options,
    documents: HashMap<Uri, Document>,
}

fn capabilities(options: &Options) -> ServerCapabilities {
    ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Options(
            TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(TextDocumentSyncKind::FULL),
                ..TextDocumentSyncOptions::default()
            },
        )),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        definition_provider: Some(OneOf::Left(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec![".".to_string(), "\"".to_string()]),
            ..CompletionOptions::default()
        }),
        document_symbol_provider: Some(OneOf::Left(true)),
        document_formatting_provider: options.format.is_some().then_some(OneOf::Left(true)),
        ..ServerCapabilities::default()
    }
}

impl Server {
    pub(crate) fn run(connection: Connection, mut options: Options) -> Result<(), Error> {
        let (id, params) = connection.initialize_start()?;
        let params: InitializeParams = serde_json::from_value(params).unwrap_or_default();
        if let Some(url) = params
            .initialization_options
            .as_ref()
            .and_then(|o| o.get("diagnosticsDocsUrl"))
            .and_then(|u| u.as_str())
        {
            options.docs_url = Some(url.to_string());
        }
        let result = lsp_types::InitializeResult {
            capabilities: capabilities(&options),
            server_info: Some(ServerInfo {
                name: "stagecraft".to_string(),
                version: Some(env!("CARGO_PKG_VERSION").to_string()),
            }),
        };
        connection.initialize_finish(id, serde_json::to_value(result)?)?;
        let mut server = Server {
            connection,
            options,
            documents: HashMap::new(),
        };
        while let Ok(message) = server.connection.receiver.recv() {
            match message {
                Message::Request(request) => {
                    if server.connection.handle_shutdown(&request)? {
                        return Ok(());
                    }
                    server.request(request)?;
                }
                Message::Notification(notification) => {
                    if notification.method == "exit" {
                        return Ok(());
                    }
                    server.notification(notification)?;
                }
                Message::Response(_) => {}
            }
        }
        Ok(())
    }

    fn send(&self, message: impl Into<Message>) -> Result<(), Error> {
        self.connection.sender.send(message.into())?;
        Ok(())
    }

    fn request(&mut self, request: Request) -> Result<(), Error> {
        let id = request.id.clone();
        let result = match request.method.as_str() {
            HoverRequest::METHOD => params(&request).and_then(|p| self.hover(p).map(json)),
            GotoDefinition::METHOD => params(&request).and_then(|p| self.definition(p).map(json)),
            Completion::METHOD => params(&request).and_then(|p| self.completion(p).map(json)),
            DocumentSymbolRequest::METHOD => {
                params(&request).and_then(|p| self.symbols(p).map(json))
            }
            Formatting::METHOD => params(&request).and_then(|p| self.format(p).map(json)),
            _ => Err((
                ErrorCode::MethodNotFound,
                format!("unsupported request `{}`", request.method),
            )),
        };
        let response = match result {
            Ok(value) => Response::new_ok(id, value),
            Err((code, message)) => Response::new_err(id, code as i32, message),
        };
        self.send(response)
    }

    fn notification(&mut self, notification: Notification) -> Result<(), Error> {
        match notification.method.as_str() {
            DidOpenTextDocument::METHOD => {
                let Ok(p) =
                    notification.extract::<DidOpenTextDocumentParams>(DidOpenTextDocument::METHOD)
                else {
                    return Ok(());
                };
                let doc = p.text_document;
                self.update(doc.uri, doc.version, doc.text.into())
            }
            DidChangeTextDocument::METHOD => {
                let Ok(p) = notification
                    .extract::<DidChangeTextDocumentParams>(DidChangeTextDocument::METHOD)
                else {
                    return Ok(());
                };
                let uri = p.text_document.uri;
                let Some(document) = self.documents.get(&uri) else {
                    return Ok(());
                };
                // Full sync: each change is the whole text; ranged changes
                // (which a client may still send) are applied in order.
                let mut text = document.current.text.to_string();
                for change in p.content_changes {
                    match change.range {
                        None => text = change.text,
                        Some(range) => {
                            let lines = LineIndex::new(&text);
                            let start = lines.offset(&text, range.start);
                            let end = lines.offset(&text, range.end).max(start);
                            text.replace_range(start..end, &change.text);
                        }
                    }
                }
                self.update(uri, p.text_document.version, text.into())
            }
            DidCloseTextDocument::METHOD => {
                let Ok(p) = notification
                    .extract::<DidCloseTextDocumentParams>(DidCloseTextDocument::METHOD)
                else {
                    return Ok(());
                };
                self.documents.remove(&p.text_document.uri);
                self.publish(p.text_document.uri, Vec::new(), None)
            }
            _ => Ok(()),
        }
    }

    fn update(&mut self, uri: Uri, version: i32, text: Arc<str>) -> Result<(), Error> {
        let analysis = Analysis::new(uri.as_str(), text, self.options.lint.as_ref());
        let diagnostics = self.diagnostics(&uri, &analysis);
        match self.documents.get_mut(&uri) {
            Some(document) => {
                let previous = std::mem::replace(&mut document.current, analysis);
                document.version = version;
                if document.current.is_good() {
                    document.last_good = None;
                } else if previous.is_good() {
                    document.last_good = Some(previous);
                }
            }
            None => {
                self.documents.insert(
                    uri.clone(),
                    Document {
                        version,
                        current: analysis,
                        last_good: None,
                    },
                );
            }
        }
        self.publish(uri, diagnostics, Some(version))
    }

    fn publish(
        &self,
        uri: Uri,
        diagnostics: Vec<lsp_types::Diagnostic>,
        version: Option<i32>,
    ) -> Result<(), Error> {
        let params = PublishDiagnosticsParams {
            uri,
            diagnostics,
            version,
        };
        self.send(Notification::new(
            PublishDiagnostics::METHOD.to_string(),
            params,
        ))
    }

    fn diagnostics(&self, uri: &Uri, analysis: &Analysis) -> Vec<lsp_types::Diagnostic> {
        let docs_url = self.docs_url(uri);
        analysis
            .diagnostics
            .iter()
            .map(|d| to_lsp(d, uri, analysis, &docs_url))
            .collect()
    }

    /// Where the pages of diagnostic codes are for this document.
    fn docs_url(&self, uri: &Uri) -> String {
        if let Some(url) = &self.options.docs_url {
            return url.clone();
        }
        file_path(uri.as_str())
            .and_then(|path| {
                path.ancestors()
                    .map(|dir| dir.join("docs").join("diagnostics"))
                    .find(|dir| dir.join("README.md").is_file())
            })
            .map(|dir| format!("{}/", file_uri(&dir)))
            .unwrap_or_else(|| DEFAULT_DOCS_URL.to_string())
    }

    fn document(&self, uri: &Uri) -> Result<&Document, (ErrorCode, String)> {
        self.documents.get(uri).ok_or_else(|| {
            (
                ErrorCode::InvalidParams,
                format!("document `{}` is not open", uri.as_str()),
            )
        })
    }

    /// What is at a position, and the analysis that knows it.
    fn found<'a>(
        &self,
        document: &'a Document,
        position: Position,
    ) -> Option<(Found, &'a Analysis)> {
        let current = &document.current;
        let offset = current.lines.offset(&current.text, position);
        if let Some(index) = &current.index {
            if let Some(found) = nav::find(current, index, offset) {
                return Some((found, current));
            }
        }
        let good = document.good().filter(|g| !std::ptr::eq(*g, current))?;
        let found = nav::find_by_name(&current.text, offset, good.index.as_ref()?)?;
        Some((found, good))
    }

    fn hover(&self, p: HoverParams) -> Result<Option<Hover>, (ErrorCode, String)> {
        let position = p.text_document_position_params;
        let document = self.document(&position.text_document.uri)?;
        let Some((found, analysis)) = self.found(document, position.position) else {
            return Ok(None);
        };
        let program = document.good().and_then(|g| g.program.as_deref());
        let Some(value) = hover::markdown(&found, analysis, program) else {
            return Ok(None);
        };
        let span = match &found {
            Found::Decls { span, .. }
            | Found::Builtin { span, .. }
            | Found::Keyword { span, .. } => *span,
        };
        let current = &document.current;
        Ok(Some(Hover {
            contents: HoverContents::Markup(MarkupContent {
                kind: MarkupKind::Markdown,
                value,
            }),
            range: Some(current.lines.range(&current.text, span)),
        }))
    }

    fn definition(
        &self,
        p: GotoDefinitionParams,
    ) -> Result<Option<GotoDefinitionResponse>, (ErrorCode, String)> {
        let position = p.text_document_position_params;
        let uri = position.text_document.uri;
        let document = self.document(&uri)?;
        let Some((Found::Decls { decls, .. }, analysis)) = self.found(document, position.position)
        else {
            return Ok(None);
        };
        let Some(index) = analysis.index.as_ref() else {
            return Ok(None);
        };
        let current = &document.current;
        let locations: Vec<Location> = decls
            .iter()
            .filter_map(|&d| {
                let span = index.decls[d].name_span;
                let span = if std::ptr::eq(analysis, current) {
                    span
                } else {
                    nav::relocate(&analysis.text, span, &current.text)?
                };
                Some(Location::new(
                    uri.clone(),
                    current.lines.range(&current.text, span),
                ))
            })
            .collect();
        Ok(match locations.len() {
            0 => None,
            1 => locations
                .into_iter()
                .next()
                .map(GotoDefinitionResponse::Scalar),
            _ => Some(GotoDefinitionResponse::Array(locations)),
        })
    }

    fn completion(
        &self,
        p: CompletionParams,
    ) -> Result<Option<CompletionResponse>, (ErrorCode, String)> {
        let position = p.text_document_position;
        let document = self.document(&position.text_document.uri)?;
        let current = &document.current;
        let program = document.good().and_then(|g| g.program.as_deref());
        let mut names = Names::default();
        if let Some(index) = &current.index {
            names.add(index, program);
        }
        if let Some(index) = document.last_good.as_ref().and_then(|g| g.index.as_ref()) {
            names.add(index, program);
        }
        let offset = current.lines.offset(&current.text, position.position);
        let items = completion::complete(&current.text, &current.lines, offset, &names);
        Ok(Some(CompletionResponse::Array(items)))
    }

    fn symbols(
        &self,
        p: DocumentSymbolParams,
    ) -> Result<Option<DocumentSymbolResponse>, (ErrorCode, String)> {
        let document = self.document(&p.text_document.uri)?;
        let current = &document.current;
        let symbols = if let Some(index) = &current.index {
            symbols::document_symbols(index, &current.text, &current.lines, &Some)
        } else if let Some(good) = document.good() {
            let Some(index) = &good.index else {
                return Ok(None);
            };
            let place = |span: Span| nav::relocate(&good.text, span, &current.text);
            symbols::document_symbols(index, &current.text, &current.lines, &place)
        } else {
            return Ok(None);
        };
        Ok(Some(DocumentSymbolResponse::Nested(symbols)))
    }

    fn format(
        &self,
        p: DocumentFormattingParams,
    ) -> Result<Option<Vec<TextEdit>>, (ErrorCode, String)> {
        let document = self.document(&p.text_document.uri)?;
        let Some(format) = &self.options.format else {
            return Err((
                ErrorCode::MethodNotFound,
                "no formatter is installed".to_string(),
            ));
        };
        let current = &document.current;
        match format(&current.text) {
            Ok(formatted) if *formatted == *current.text => Ok(Some(Vec::new())),
            Ok(formatted) => {
                let end = current.lines.position(&current.text, current.text.len());
                Ok(Some(vec![TextEdit::new(
                    Range::new(Position::new(0, 0), end),
                    formatted,
                )]))
            }
            Err(why) => {
                let _ = self.send(Notification::new(
                    LogMessage::METHOD.to_string(),
                    LogMessageParams {
                        typ: MessageType::WARNING,
                        message: format!("stagecraft: cannot format: {why}"),
                    },
                ));
                Ok(None)
            }
        }
    }
}

fn params<P: DeserializeOwned>(request: &Request) -> Result<P, (ErrorCode, String)> {
    serde_json::from_value(request.params.clone())
        .map_err(|e| (ErrorCode::InvalidParams, format!("invalid params: {e}")))
}

fn json<T: serde::Serialize>(value: T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

/// Converts a diagnostic: its first label is the range, the others are
/// related information, its help is appended to the message.
fn to_lsp(d: &Diagnostic, uri: &Uri, analysis: &Analysis, docs_url: &str) -> lsp_types::Diagnostic {
    let text = &analysis.text;
    let range_of = |label: &stagecraft::diagnostics::Label| {
        analysis
            .lines
            .range(text, Span::new(label.offset, label.offset + label.length))
    };
    let primary = d.labels.first();
    let range = primary.map(range_of).unwrap_or_default();
    let mut message = d.message.clone();
    if let Some(label) = primary
        .and_then(|l| l.message.as_deref())
        .filter(|label| !d.message.contains(label))
    {
        message.push_str(&format!("\n{label}"));
    }
    if let Some(help) = &d.help {
        message.push_str(&format!("\nhelp: {help}"));
    }
    let related: Vec<DiagnosticRelatedInformation> = d
        .labels
        .iter()
        .skip(1)
        .map(|label| DiagnosticRelatedInformation {
            location: Location::new(uri.clone(), range_of(label)),
            message: label
                .message
                .clone()
                .unwrap_or_else(|| "related".to_string()),
        })
        .collect();
    let code = (!d.code.is_empty()).then(|| d.code.clone());
    lsp_types::Diagnostic {
        range,
        severity: Some(match d.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
            Severity::Info => DiagnosticSeverity::INFORMATION,
        }),
        code_description: code
            .as_ref()
            .and_then(|c| format!("{docs_url}{c}.md").parse::<Uri>().ok())
            .map(|href| CodeDescription { href }),
        code: code.map(NumberOrString::String),
        source: Some("stagecraft".to_string()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        tags: None,
        data: None,
    }
}

/// The local path of a `file:` URI.
pub(crate) fn file_path(uri: &str) -> Option<PathBuf> {
    let text = uri.strip_prefix("file://")?;
    // Skip an authority (`file://host/path`): the path starts at its `/`.
    let path = &text[text.find('/')?..];
    let bytes = path.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(byte) =
                u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?, 16)
            {
                decoded.push(byte);
                i += 3;
                continue;
            }
        }
        decoded.push(bytes[i]);
        i += 1;
    }
    let path = String::from_utf8(decoded).ok()?;
    // `file:///c:/x` on Windows is the path `c:/x`.
    let path = match path.as_bytes() {
        [b'/', drive, b':', ..] if cfg!(windows) && drive.is_ascii_alphabetic() => {
            path[1..].to_string()
        }
        _ => path,
    };
    Some(PathBuf::from(path))
}

/// A `file:` URI for a local path.
fn file_uri(path: &Path) -> String {
    let text = path.to_string_lossy().replace('\\', "/");
    let mut out = String::from("file://");
    if !text.starts_with('/') {
        out.push('/');
    }
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"/-._~:".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_uris_round_trip() {
        let path = Path::new("/tmp/a b/é.playbook");
        let uri: Uri = file_uri(path).parse().expect("valid uri");
        assert_eq!(uri.as_str(), "file:///tmp/a%20b/%C3%A9.playbook");
        assert_eq!(file_path(uri.as_str()).as_deref(), Some(path));
    }
}
