//! Scripted LSP sessions: the server runs in-process over an in-memory
//! connection; each test plays a client and snapshots the JSON it receives.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use lsp_server::{Connection, Message, Notification, Request, RequestId};
use lsp_types::Position;
use serde_json::{json, Value};
use stagecraft_lsp::{LineIndex, Options};

const TIMEOUT: Duration = Duration::from_secs(20);

struct Client {
    connection: Connection,
    server: Option<JoinHandle<Result<(), stagecraft_lsp::Error>>>,
    next_id: i32,
    /// Notifications that arrived while waiting for a response.
    pending: Vec<Notification>,
    initialize: Value,
}

impl Client {
    fn start(options: Options) -> Client {
        Client::start_with(options, json!(null))
    }

    fn start_with(options: Options, initialization_options: Value) -> Client {
        let (server, connection) = Connection::memory();
        let server = std::thread::spawn(move || stagecraft_lsp::serve(server, options));
        let mut client = Client {
            connection,
            server: Some(server),
            next_id: 0,
            pending: Vec::new(),
            initialize: Value::Null,
        };
        client.initialize = client.request(
            "initialize",
            json!({
                "processId": null,
                "rootUri": null,
                "capabilities": {},
                "initializationOptions": initialization_options,
            }),
        );
        client.notify("initialized", json!({}));
        client
    }

    fn notify(&self, method: &str, params: Value) {
        self.connection
            .sender
            .send(Message::Notification(Notification::new(
                method.into(),
                params,
            )))
            .expect("server is running");
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = RequestId::from(self.next_id);
        self.connection
            .sender
            .send(Message::Request(Request::new(
                id.clone(),
                method.into(),
                params,
            )))
            .expect("server is running");
        loop {
            match self.connection.receiver.recv_timeout(TIMEOUT) {
                Ok(Message::Response(response)) if response.id == id => {
                    match response.response_result {
                        Ok(result) => return result,
                        Err(error) => panic!("{method} failed: {error:?}"),
                    }
                }
                Ok(Message::Notification(n)) => self.pending.push(n),
                Ok(other) => panic!("unexpected message: {other:?}"),
                Err(e) => panic!("no response to {method}: {e}"),
            }
        }
    }

    /// The next `publishDiagnostics` notification.
    fn diagnostics(&mut self) -> Value {
        loop {
            let notification = if self.pending.is_empty() {
                match self.connection.receiver.recv_timeout(TIMEOUT) {
                    Ok(Message::Notification(n)) => n,
                    Ok(other) => panic!("unexpected message: {other:?}"),
                    Err(e) => panic!("no diagnostics: {e}"),
                }
            } else {
                self.pending.remove(0)
            };
            if notification.method == "textDocument/publishDiagnostics" {
                return notification.params;
            }
        }
    }

    fn open(&mut self, uri: &str, text: &str) -> Value {
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": "stagecraft", "version": 1, "text": text } }),
        );
        self.diagnostics()
    }

    fn change(&mut self, uri: &str, version: i32, text: &str) -> Value {
        self.notify(
            "textDocument/didChange",
            json!({
                "textDocument": { "uri": uri, "version": version },
                "contentChanges": [{ "text": text }],
            }),
        );
        self.diagnostics()
    }

    fn at(&mut self, method: &str, uri: &str, position: Position) -> Value {
        self.request(
            method,
            json!({ "textDocument": { "uri": uri }, "position": position }),
        )
    }

    fn shutdown(mut self) {
        let result = self.request("shutdown", Value::Null);
        assert_eq!(result, Value::Null);
        self.notify("exit", Value::Null);
        let server = self.server.take().expect("running");
        server
            .join()
            .expect("server thread did not panic")
            .expect("server stopped cleanly");
    }
}

/// The position of the `nth` occurrence of `needle`, `delta` bytes in.
fn pos(text: &str, needle: &str, nth: usize, delta: usize) -> Position {
    let offset = text
        .match_indices(needle)
        .nth(nth)
        .unwrap_or_else(|| panic!("`{needle}` occurs {} times", nth + 1))
        .0;
    LineIndex::new(text).position(text, offset + delta)
}

/// Labels of completion items, for compact snapshots.
fn labels(completion: &Value) -> Vec<String> {
    let mut items: Vec<(String, String)> = completion
        .as_array()
        .expect("a list")
        .iter()
        .map(|i| {
            (
                i["sortText"].as_str().unwrap_or("").to_string(),
                i["label"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    items.sort();
    items.into_iter().map(|(_, l)| l).collect()
}

/// Document symbols as an outline: kind, name, range, children indented.
fn outline(symbols: &Value, depth: usize, out: &mut Vec<String>) {
    for s in symbols.as_array().expect("a list") {
        let r = &s["range"];
        out.push(format!(
            "{}{} {} {}:{}-{}:{}",
            "  ".repeat(depth),
            s["kind"],
            s["name"].as_str().unwrap_or(""),
            r["start"]["line"],
            r["start"]["character"],
            r["end"]["line"],
            r["end"]["character"],
        ));
        if let Some(children) = s.get("children") {
            outline(children, depth + 1, out);
        }
    }
}

const B2B_URI: &str = "file:///playbooks/b2b-lifecycle.playbook";

#[test]
fn example_playbook_session() {
    let text = include_str!("../../../examples/b2b-lifecycle.playbook");
    let mut client = Client::start(Options::default());
    let capabilities = &client.initialize["capabilities"];
    assert_eq!(capabilities["hoverProvider"], true);
    assert_eq!(capabilities["definitionProvider"], true);
    assert_eq!(capabilities["documentSymbolProvider"], true);
    assert!(
        capabilities.get("documentFormattingProvider").is_none(),
        "no formatter installed, so none offered"
    );

    let diagnostics = client.open(B2B_URI, text);
    assert_eq!(
        diagnostics["diagnostics"],
        json!([]),
        "the example checks clean"
    );

    // Hover: a score with its components, a metric where it is used, a trait,
    // an enum value, a stage, a keyword and a built-in.
    let score = client.at(
        "textDocument/hover",
        B2B_URI,
        pos(text, "score health", 0, 7),
    );
    insta::assert_snapshot!(
        "hover_score",
        score["contents"]["value"].as_str().expect("markdown")
    );
    let metric = client.at(
        "textDocument/hover",
        B2B_URI,
        pos(text, "min(active_users_7d", 0, 6),
    );
    insta::assert_json_snapshot!("hover_metric_use", metric);
    let plan = client.at(
        "textDocument/hover",
        B2B_URI,
        pos(text, "plan == enterprise", 0, 1),
    );
    insta::assert_snapshot!(
        "hover_trait",
        plan["contents"]["value"].as_str().expect("markdown")
    );
    let value = client.at(
        "textDocument/hover",
        B2B_URI,
        pos(text, "plan == enterprise", 0, 10),
    );
    insta::assert_snapshot!(
        "hover_enum_value",
        value["contents"]["value"].as_str().expect("markdown")
    );
    let stage = client.at("textDocument/hover", B2B_URI, pos(text, "-> at_risk", 0, 4));
    insta::assert_snapshot!(
        "hover_stage",
        stage["contents"]["value"].as_str().expect("markdown")
    );
    let property = client.at(
        "textDocument/hover",
        B2B_URI,
        pos(text, "event.role == admin", 0, 7),
    );
    insta::assert_snapshot!(
        "hover_property",
        property["contents"]["value"].as_str().expect("markdown")
    );
    let keyword = client.at("textDocument/hover", B2B_URI, pos(text, "over 7d", 0, 1));
    insta::assert_json_snapshot!("hover_keyword", keyword);
    let builtin = client.at(
        "textDocument/hover",
        B2B_URI,
        pos(text, "days(entered_at", 0, 6),
    );
    insta::assert_json_snapshot!("hover_builtin", builtin);

    // Definitions: an event string, a stage, a milestone, a metric in a
    // context package, an enum value, a property.
    let definitions = [
        ("event string", pos(text, "count \"User Invited\"", 0, 9)),
        (
            "stage in a transition",
            pos(text, "adopting, healthy -> at_risk", 0, 22),
        ),
        (
            "stage in entered_at",
            pos(text, "entered_at(healthy)", 0, 12),
        ),
        (
            "milestone",
            pos(text, "milestone first_integration done", 0, 12),
        ),
        (
            "context name",
            pos(text, "with context(users_invited", 0, 14),
        ),
        ("enum value", pos(text, "event.role == admin", 0, 15)),
        ("property", pos(text, "event.role == admin", 0, 7)),
        ("segment", pos(text, "missed for self_serve", 0, 12)),
        ("declaration itself", pos(text, "metric reports_30d", 0, 8)),
    ];
    let mut found = Vec::new();
    for (what, at) in definitions {
        let location = client.at("textDocument/definition", B2B_URI, at);
        assert_eq!(location["uri"], B2B_URI, "{what}");
        found.push(json!({ "what": what, "range": location["range"].clone() }));
    }
    insta::assert_json_snapshot!("definitions", found);
    // Every definition points at the name it was asked about.
    let lines = LineIndex::new(text);
    let name_at = |range: &Value| {
        let p = |v: &Value| {
            Position::new(
                v["line"].as_u64().expect("line") as u32,
                v["character"].as_u64().expect("character") as u32,
            )
        };
        let start = lines.offset(text, p(&range["start"]));
        let end = lines.offset(text, p(&range["end"]));
        text[start..end].to_string()
    };
    let names: Vec<String> = found.iter().map(|f| name_at(&f["range"])).collect();
    assert_eq!(
        names,
        [
            "\"User Invited\"",
            "at_risk",
            "healthy",
            "first_integration",
            "users_invited",
            "admin",
            "role",
            "self_serve",
            "reports_30d"
        ]
    );

    // Completion: after `->` only stages; inside a string, event names; after
    // `event.` the triggering event's properties; in an action block, action
    // keywords and names.
    let after_arrow = client.at(
        "textDocument/completion",
        B2B_URI,
        pos(text, "-> churned on", 0, 3),
    );
    insta::assert_json_snapshot!("completion_after_arrow", labels(&after_arrow));
    let in_string = client.at(
        "textDocument/completion",
        B2B_URI,
        pos(text, "\"Kickoff Completed\"", 0, 3),
    );
    let events = labels(&in_string);
    assert!(
        events.contains(&"Kickoff Completed".to_string()),
        "{events:?}"
    );
    let edit = &in_string.as_array().expect("items")[0]["textEdit"];
    assert_eq!(
        edit["range"],
        json!({"start": pos(text, "\"Kickoff Completed\"", 0, 1), "end": pos(text, "\"Kickoff Completed\"", 0, 18)}),
        "replaces the string's contents"
    );
    let props = client.at(
        "textDocument/completion",
        B2B_URI,
        pos(text, "event.provider, reason", 0, 6),
    );
    insta::assert_json_snapshot!("completion_event_properties", props);
    let actions = client.at(
        "textDocument/completion",
        B2B_URI,
        pos(text, "  send email \"welcome", 0, 2),
    );
    let action_labels = labels(&actions);
    assert_eq!(
        &action_labels[..4],
        ["call", "context", "create", "crm"],
        "{action_labels:?}"
    );
    assert!(action_labels.contains(&"health".to_string()));
    assert!(action_labels.contains(&"days_until".to_string()));
    let top = client.at(
        "textDocument/completion",
        B2B_URI,
        pos(text, "segment enterprise", 0, 0),
    );
    let top_labels = labels(&top);
    assert_eq!(
        &top_labels[..12],
        [
            "escalation",
            "event",
            "manual",
            "metric",
            "milestone",
            "policy",
            "rule",
            "score",
            "segment",
            "stages",
            "traits",
            "transition"
        ]
    );

    // Document symbols.
    let symbols = client.request(
        "textDocument/documentSymbol",
        json!({ "textDocument": { "uri": B2B_URI } }),
    );
    let mut lines_out = Vec::new();
    outline(&symbols, 0, &mut lines_out);
    insta::assert_snapshot!("symbols", lines_out.join("\n"));

    client.shutdown();
}

/// A playbook with errors after non-ASCII text on the same lines: ranges are
/// in UTF-16 code units.
const BROKEN: &str = "# Ünïcödé ☕ and 😀 in a comment\n\
playbook \"errors\" { language 1; subject account }\n\
event \"Lögin 😀\" { user_id: string }\n\
traits { plan: enum { free, pro } = free }\n\
metric logins = count \"Lögin 😀\" over 7d\n\
metric seen = count \"Lögin 😀\" where event.user_idd == \"x\" # ☕ typo\n\
segment pros = plan == pro and logins > 3\n\
segment pros = logins > 10\n\
stages { trial initial, paid, gone terminal }\n\
transition trial -> paid when pros and since last \"Lögin 😀\" < 7d\n";

const BROKEN_URI: &str = "file:///playbooks/errors.playbook";

#[test]
fn session_with_errors() {
    let mut client = Client::start_with(
        Options::default(),
        json!({ "diagnosticsDocsUrl": "https://docs.example/stagecraft/diagnostics/" }),
    );
    // Check errors: an unknown property (after `😀` on its line) and a
    // duplicate segment (with the first declaration as related information).
    let diagnostics = client.open(BROKEN_URI, BROKEN);
    insta::assert_json_snapshot!("check_errors", diagnostics);
    let first = &diagnostics["diagnostics"][0];
    let start = first["range"]["start"]["character"]
        .as_u64()
        .expect("character");
    let line = BROKEN.lines().nth(5).expect("line 6");
    let byte = line.find("user_idd").expect("there");
    assert_eq!(start as usize, line[..byte].encode_utf16().count());
    assert_ne!(
        start as usize,
        line[..byte].chars().count(),
        "the emoji is two units"
    );

    // Hover works on the current text (it parses).
    let hover = client.at(
        "textDocument/hover",
        BROKEN_URI,
        pos(BROKEN, "logins > 3", 0, 2),
    );
    assert!(
        hover["contents"]["value"]
            .as_str()
            .expect("markdown")
            .contains("metric logins = count"),
        "{hover}"
    );

    // Fixed: no diagnostics.
    let fixed = BROKEN
        .replace("user_idd", "user_id")
        .replace("segment pros = logins > 10\n", "");
    let diagnostics = client.change(BROKEN_URI, 2, &fixed);
    assert_eq!(diagnostics["diagnostics"], json!([]));
    assert_eq!(diagnostics["version"], 2);

    // A syntax error in one declaration: reported with its range; the other
    // declarations still answer hover and definition (error recovery).
    let typing = fixed.replace(
        "metric logins = count \"Lögin 😀\" over 7d",
        "metric logins = count \"Lögin 😀\" ovr 7d",
    );
    let mut diagnostics = client.change(BROKEN_URI, 3, &typing);
    // The parser's wording is its own (and changes): only its gist is checked.
    let message = &mut diagnostics["diagnostics"][0]["message"];
    assert!(
        message.as_str().is_some_and(|m| m.contains("found `ovr`")),
        "{message}"
    );
    *message = json!("[the parser's message]");
    insta::assert_json_snapshot!("syntax_error", diagnostics);
    let definition = client.at(
        "textDocument/definition",
        BROKEN_URI,
        pos(&typing, "when pros", 0, 6),
    );
    assert_eq!(
        definition["range"]["start"],
        json!(pos(&typing, "segment pros", 0, 8))
    );
    // `logins` is declared in the broken declaration: found by name in the
    // last version that checked.
    let definition = client.at(
        "textDocument/definition",
        BROKEN_URI,
        pos(&typing, "logins > 3", 0, 1),
    );
    assert_eq!(
        definition["range"]["start"],
        json!(pos(&typing, "metric logins", 0, 7))
    );
    let hover = client.at(
        "textDocument/hover",
        BROKEN_URI,
        pos(&typing, "logins > 3", 0, 1),
    );
    assert!(
        hover["contents"]["value"]
            .as_str()
            .expect("markdown")
            .contains("metric `logins`: `int`"),
        "{hover}"
    );

    // An unterminated string while typing, with lines inserted above: the
    // header and other declarations still resolve.
    let unterminated = typing.replace(
        "stages {",
        "# a new comment line ☕\nrule nudge on \"Lög\nstages {",
    );
    let diagnostics = client.change(BROKEN_URI, 4, &unterminated);
    let codes: Vec<&str> = diagnostics["diagnostics"]
        .as_array()
        .expect("list")
        .iter()
        .map(|d| d["code"].as_str().expect("code"))
        .collect();
    // The parser reports errors of the token stream alone when there are any.
    assert_eq!(codes, ["SC0003"], "{diagnostics}");
    let definition = client.at(
        "textDocument/definition",
        BROKEN_URI,
        pos(&unterminated, "-> paid", 0, 3),
    );
    assert_eq!(
        definition["range"]["start"],
        json!(pos(&unterminated, "paid, gone", 0, 0))
    );
    // Completion inside the unterminated string: event names.
    let completion = client.at(
        "textDocument/completion",
        BROKEN_URI,
        pos(&unterminated, "\"Lög\n", 0, 4),
    );
    assert_eq!(labels(&completion), ["Lögin 😀"]);
    let edit = &completion[0]["textEdit"];
    assert_eq!(edit["newText"], "Lögin 😀");
    assert_eq!(
        edit["range"]["end"]["character"],
        json!("rule nudge on \"Lög".encode_utf16().count())
    );

    // A broken header: nothing parses; definitions come from the last
    // version that checked, moved to where its lines are now.
    let headless = fixed.replace("playbook \"errors\" {", "playbook {");
    let headless = headless.replace("# Ünïcödé", "\n\n# Ünïcödé");
    let diagnostics = client.change(BROKEN_URI, 5, &headless);
    assert_eq!(
        diagnostics["diagnostics"][0]["code"], "SC0001",
        "{diagnostics}"
    );
    let definition = client.at(
        "textDocument/definition",
        BROKEN_URI,
        pos(&headless, "last \"Lögin 😀\"", 0, 7),
    );
    assert_eq!(
        definition["range"]["start"],
        json!(pos(&headless, "event \"Lögin", 0, 6))
    );
    let symbols = client.request(
        "textDocument/documentSymbol",
        json!({ "textDocument": { "uri": BROKEN_URI } }),
    );
    let mut outline_lines = Vec::new();
    outline(&symbols, 0, &mut outline_lines);
    insta::assert_snapshot!("symbols_from_last_good", outline_lines.join("\n"));

    // Closing clears the diagnostics.
    client.notify(
        "textDocument/didClose",
        json!({ "textDocument": { "uri": BROKEN_URI } }),
    );
    let diagnostics = client.diagnostics();
    assert_eq!(diagnostics["diagnostics"], json!([]));
    client.shutdown();
}

#[test]
fn formatting_and_lint_hooks() {
    let options = Options {
        // Stand-ins for `stagecraft-fmt` and `stagecraft-lint`.
        format: Some(Arc::new(|text: &str| {
            if text.contains("unformattable") {
                return Err("cannot".to_string());
            }
            Ok(text
                .lines()
                .map(str::trim_end)
                .collect::<Vec<_>>()
                .join("\n")
                + "\n")
        })),
        lint: Some(Arc::new(|checked: &stagecraft::Checked| {
            let text = &checked.source.text;
            let offset = text.find("stages").unwrap_or(0);
            vec![stagecraft::Diagnostic {
                code: "SC1001".to_string(),
                severity: stagecraft::Severity::Warning,
                message: format!("{} stages", checked.program.stages.len()),
                help: None,
                labels: vec![stagecraft::diagnostics::Label {
                    message: Some("here".to_string()),
                    offset,
                    length: 6,
                    start: stagecraft::diagnostics::Position { line: 1, column: 1 },
                    end: stagecraft::diagnostics::Position { line: 1, column: 1 },
                }],
            }]
        })),
        docs_url: None,
    };
    let mut client = Client::start(options);
    assert_eq!(
        client.initialize["capabilities"]["documentFormattingProvider"],
        true
    );
    let text =
        "playbook \"f\" { language 1; subject account }   \nstages { a initial, b terminal }  ";
    let diagnostics = client.open("file:///f.playbook", text);
    insta::assert_json_snapshot!("lint_diagnostic", diagnostics);
    let edits = client.request(
        "textDocument/formatting",
        json!({
            "textDocument": { "uri": "file:///f.playbook" },
            "options": { "tabSize": 2, "insertSpaces": true },
        }),
    );
    insta::assert_json_snapshot!("formatting_edits", edits);
    client.shutdown();
}

#[test]
fn completion_fits_the_position() {
    let text = "playbook \"c\" { language 1; subject account }\n\
traits { plan: enum { free, pro } = free, renews: date? }\n\
event \"Login\" { user_id: string }\n\
event \"Paid\" { amount: money }\n\
metric logins = count \"Login\" over 7d\n\
segment payers = plan == pro\n\
stages { trial initial, paid, gone terminal }\n\
milestone first_login { starts on \"Paid\" done on \"Login\" due 2d }\n\
rule hello on \"Login\" { send email \"hi\" }\n\
metric hellos = count sent hello\n";
    let uri = "file:///c.playbook";
    let mut client = Client::start(Options::default());
    let diagnostics = client.open(uri, text);
    assert_eq!(diagnostics["diagnostics"], json!([]), "{diagnostics}");
    // Each case: text inserted at the end of the file, what comes first.
    let cases: &[(&str, &[&str])] = &[
        ("transition trial -> ", &["gone", "paid", "trial"]),
        ("transition trial, ", &["gone", "paid", "trial"]),
        ("rule r after 1d in stage ", &["gone", "paid", "trial"]),
        ("rule r on ", &["\"Login\"", "\"Paid\""]),
        ("rule r on \"Login\" for ", &["payers"]),
        ("metric n = count sent ", &["hello"]),
        ("rule r when milestone ", &["first_login"]),
        ("rule r on \"Paid\" where event.", &["amount"]),
        ("metric m = sum \"Paid\".", &["amount"]),
        (
            "rule r when logins > 1 { create task for csm \"x\" with context(",
            &["hellos", "logins"],
        ),
        (
            "rule r when logins > 1 { send ",
            &["email", "in_app", "push", "sms"],
        ),
        (
            "traits { x: ",
            &[
                "bool",
                "date",
                "decimal",
                "duration",
                "enum",
                "int",
                "money",
                "string",
                "timestamp",
                "timezone",
            ],
        ),
        ("policy { holdout 10% of ", &["hello"]),
    ];
    let mut version = 1;
    for (suffix, expected) in cases {
        version += 1;
        let edited = format!("{text}{suffix}");
        client.change(uri, version, &edited);
        let end = LineIndex::new(&edited).position(&edited, edited.len());
        let items = client.at("textDocument/completion", uri, end);
        let got = labels(&items);
        assert!(
            got.len() >= expected.len() && got[..expected.len()] == expected[..],
            "after `{suffix}`: {got:?}"
        );
    }
    client.shutdown();
}
