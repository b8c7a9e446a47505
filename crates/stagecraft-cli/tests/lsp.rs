//! `stagecraft lsp` over real pipes: the framing an editor uses.

use std::io::{Read, Write};
use std::process::{Command, Stdio};

use serde_json::{json, Value};

fn frame(message: Value) -> Vec<u8> {
    let body = message.to_string();
    format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
}

/// Splits the server's output into its JSON messages.
fn messages(mut output: &[u8]) -> Vec<Value> {
    let mut out = Vec::new();
    while !output.is_empty() {
        let text = String::from_utf8_lossy(output);
        let header_end = text.find("\r\n\r\n").expect("a header");
        let length: usize = text[..header_end]
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .expect("a length")
            .trim()
            .parse()
            .expect("a number");
        let body = &output[header_end + 4..header_end + 4 + length];
        out.push(serde_json::from_slice(body).expect("json"));
        output = &output[header_end + 4 + length..];
    }
    out
}

/// Runs a session: the messages are sent, then the server's replies read.
fn session(args: &[&str], requests: Vec<Value>) -> Vec<Value> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stagecraft"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let mut stdin = child.stdin.take().expect("stdin");
    for message in requests {
        stdin.write_all(&frame(message)).expect("writes");
    }
    drop(stdin);
    let status = child.wait().expect("exits");
    let mut output = Vec::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_end(&mut output)
        .expect("reads");
    assert!(status.success(), "{status}");
    messages(&output)
}

#[test]
fn lint_findings_and_formatting() {
    let text = "playbook \"demo\" { language 1; subject account }\n\
                traits { seats: int in 1..100 = 1 }\n\
                event \"Login\" {}\n\
                stages { trial initial, paying terminal }\n\
                transition   trial -> paying on \"Login\" where seats > 500\n";
    let uri = "file:///tmp/demo.playbook";
    let messages = session(
        &["lsp"],
        vec![
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}}),
            json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}),
            json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
                "uri": uri, "languageId": "stagecraft", "version": 1, "text": text}}}),
            json!({"jsonrpc": "2.0", "id": 2, "method": "textDocument/formatting", "params": {
                "textDocument": {"uri": uri}, "options": {"tabSize": 2, "insertSpaces": true}}}),
            json!({"jsonrpc": "2.0", "id": 3, "method": "shutdown", "params": null}),
            json!({"jsonrpc": "2.0", "method": "exit", "params": null}),
        ],
    );
    assert_eq!(
        messages[0]["result"]["capabilities"]["documentFormattingProvider"],
        true
    );
    // `stagecraft lint` finds the transition that can never fire.
    let diagnostics = messages[1]["params"]["diagnostics"]
        .as_array()
        .expect("a list");
    assert!(
        diagnostics
            .iter()
            .any(|d| d["code"] == "SC1002" && d["severity"] == 2),
        "{diagnostics:?}"
    );
    // `stagecraft fmt` lays the file out.
    let edit = &messages[2]["result"][0];
    let formatted = edit["newText"].as_str().expect("text");
    assert!(
        formatted.contains("\ntransition trial -> paying on"),
        "{formatted}"
    );
    assert_eq!(edit["range"]["start"], json!({"line": 0, "character": 0}));
}

#[test]
fn lsp_over_stdio() {
    let text = "# ☕ naïve\nplaybook \"p\" { language 1; subject account }\n\
                stages { a initial, b terminal }\n\
                transition a -> c on \"Gone\"\n";
    let uri = "file:///tmp/p.playbook";
    let messages = session(
        &["lsp", "--stdio", "--docs-url", "https://docs.example/"],
        vec![
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}}),
            json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}),
            json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
                "uri": uri, "languageId": "stagecraft", "version": 1, "text": text}}}),
            json!({"jsonrpc": "2.0", "id": 2, "method": "textDocument/hover", "params": {
                "textDocument": {"uri": uri}, "position": {"line": 3, "character": 11}}}),
            json!({"jsonrpc": "2.0", "id": 3, "method": "shutdown", "params": null}),
            json!({"jsonrpc": "2.0", "method": "exit", "params": null}),
        ],
    );
    assert_eq!(messages.len(), 4, "{messages:?}");
    assert_eq!(messages[0]["result"]["serverInfo"]["name"], "stagecraft");
    let diagnostics = &messages[1]["params"]["diagnostics"];
    let codes: Vec<&str> = diagnostics
        .as_array()
        .expect("a list")
        .iter()
        .map(|d| d["code"].as_str().expect("a code"))
        .collect();
    assert_eq!(codes, ["SC0104", "SC0103"], "{diagnostics}");
    assert_eq!(
        diagnostics[0]["codeDescription"]["href"],
        "https://docs.example/SC0104.md"
    );
    // Line 3 (after a line with non-ASCII text): `c` at character 16.
    assert_eq!(
        diagnostics[0]["range"],
        json!({"start": {"line": 3, "character": 16}, "end": {"line": 3, "character": 17}})
    );
    // Hover on `a`: the stage.
    let hover = messages[2]["result"]["contents"]["value"]
        .as_str()
        .expect("markdown");
    assert!(hover.contains("stage `a`, 1 of 2"), "{hover}");
    assert_eq!(messages[3]["result"], Value::Null);
}
