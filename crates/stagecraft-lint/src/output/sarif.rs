//! SARIF 2.1.0 (validated against the OASIS schema by
//! `tests/sarif.rs`). Parse and check errors are results too, with their
//! `SC0xxx` codes, so a broken file still yields a valid log; findings
//! silenced by inline comments are results with an `inSource` suppression.

use serde_json::{json, Map, Value};

use super::region;
use crate::finding::{Finding, Level};
use crate::rule::registry;
use crate::FileReport;

const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

fn level(l: Level) -> &'static str {
    match l {
        Level::Error => "error",
        Level::Warning => "warning",
        Level::Info | Level::Off => "note",
    }
}

/// The project's home, an absolute URI.
fn home() -> &'static str {
    match env!("CARGO_PKG_REPOSITORY") {
        "" => "https://example.invalid/stagecraft",
        repo => repo.trim_end_matches('/'),
    }
}

fn docs_uri(code: &str) -> String {
    format!("{}/blob/main/docs/diagnostics/{code}.md", home())
}

/// A relative path as a URI reference: `/` separators, percent-encoded.
pub fn uri(path: &str) -> String {
    let path = path.replace('\\', "/");
    let mut out = String::new();
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn location(file: &str, source: &str, f: &Finding) -> Value {
    let ((sl, sc), (el, ec)) = region(source, f);
    json!({
        "physicalLocation": {
            "artifactLocation": { "uri": uri(file) },
            "region": { "startLine": sl, "startColumn": sc, "endLine": el, "endColumn": ec }
        }
    })
}

pub fn sarif(reports: &[FileReport]) -> String {
    // Rules: every lint rule, then each SC0xxx code that occurs.
    let mut rules: Vec<Value> = registry()
        .iter()
        .map(|r| {
            json!({
                "id": r.code(),
                "name": r.name(),
                "shortDescription": { "text": r.summary() },
                "helpUri": docs_uri(r.code()),
                "defaultConfiguration": { "level": level(r.default_level()) }
            })
        })
        .collect();
    let mut ids: Vec<String> = registry().iter().map(|r| r.code().to_string()).collect();
    let all_findings = reports.iter().flat_map(|r| {
        r.findings
            .iter()
            .chain(r.suppressed.iter().map(|s| &s.finding))
    });
    for f in all_findings {
        if !ids.contains(&f.code) {
            ids.push(f.code.clone());
            rules.push(json!({
                "id": f.code,
                "name": if f.rule == "syntax" { "syntax-error" } else { "check-error" },
                "shortDescription": { "text": format!("{} error {} (see the diagnostics reference)", f.rule, f.code) },
                "helpUri": docs_uri(&f.code),
                "defaultConfiguration": { "level": "error" }
            }));
        }
    }
    let mut results = Vec::new();
    for r in reports {
        let mut push = |f: &Finding, suppressed: Option<Option<&str>>| {
            let mut result = Map::new();
            result.insert("ruleId".into(), json!(f.code));
            result.insert(
                "ruleIndex".into(),
                json!(ids.iter().position(|c| *c == f.code).unwrap_or(0)),
            );
            result.insert("level".into(), json!(level(f.level)));
            result.insert("message".into(), json!({ "text": f.message }));
            result.insert("locations".into(), json!([location(&r.file, &r.source, f)]));
            if !f.notes.is_empty() {
                let related: Vec<Value> = f
                    .notes
                    .iter()
                    .enumerate()
                    .map(|(i, n)| {
                        let mut loc = location(
                            &r.file,
                            &r.source,
                            &Finding::new(&f.code, &f.rule, n.span, String::new()),
                        );
                        if let Value::Object(m) = &mut loc {
                            m.insert("id".into(), json!(i));
                            if !n.text.is_empty() {
                                m.insert("message".into(), json!({ "text": n.text }));
                            }
                        }
                        loc
                    })
                    .collect();
                result.insert("relatedLocations".into(), Value::Array(related));
            }
            if let Some(reason) = suppressed {
                let mut s = Map::new();
                s.insert("kind".into(), json!("inSource"));
                if let Some(reason) = reason {
                    s.insert("justification".into(), json!(reason));
                }
                result.insert("suppressions".into(), json!([Value::Object(s)]));
            }
            if let Some(help) = &f.help {
                result.insert("properties".into(), json!({ "help": help, "rule": f.rule }));
            }
            results.push(Value::Object(result));
        };
        for f in &r.findings {
            push(f, None);
        }
        for s in &r.suppressed {
            push(&s.finding, Some(s.reason.as_deref()));
        }
    }
    let artifacts: Vec<Value> = reports
        .iter()
        .map(|r| json!({ "location": { "uri": uri(&r.file) } }))
        .collect();
    let log = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "stagecraft",
                    "version": env!("CARGO_PKG_VERSION"),
                    "informationUri": home(),
                    "rules": rules
                }
            },
            "columnKind": "unicodeCodePoints",
            "artifacts": artifacts,
            "results": results
        }]
    });
    let mut text = serde_json::to_string_pretty(&log).unwrap_or_else(|_| "{}".into());
    text.push('\n');
    text
}
