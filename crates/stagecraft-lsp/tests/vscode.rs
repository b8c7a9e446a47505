//! The VS Code extension in `editors/vscode`: its JSON files parse, the
//! grammar's regexes compile (with `fancy-regex` in Oniguruma mode), every
//! keyword of the language is highlighted, and a small TextMate scanner gives
//! the expected scopes on real playbooks.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use fancy_regex::{Regex, RegexBuilder};
use serde_json::Value;

fn extension_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../editors/vscode")
}

fn load(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

fn grammar() -> Value {
    load(&extension_dir().join("syntaxes/stagecraft.tmLanguage.json"))
}

/// Compiles a pattern as Oniguruma reads it: `^` and `$` are line anchors
/// there (Rust's `(?m)`), whatever the flags.
fn compile(pattern: &str) -> Regex {
    RegexBuilder::new(&format!("(?m){pattern}"))
        .oniguruma_mode(true)
        .build()
        .unwrap_or_else(|e| panic!("`{pattern}` does not compile: {e}"))
}

#[test]
fn package_json_contributes_the_language_grammar_and_settings() {
    let dir = extension_dir();
    let package = load(&dir.join("package.json"));
    let language = &package["contributes"]["languages"][0];
    assert_eq!(language["id"], "stagecraft");
    assert_eq!(language["extensions"], serde_json::json!([".playbook"]));
    let config = load(&dir.join(language["configuration"].as_str().expect("a path")));
    assert_eq!(config["comments"]["lineComment"], "#");
    compile(config["wordPattern"].as_str().expect("a pattern"));
    for pattern in ["increaseIndentPattern", "decreaseIndentPattern"] {
        compile(
            config["indentationRules"][pattern]
                .as_str()
                .expect("a pattern"),
        );
    }
    let contributed = &package["contributes"]["grammars"][0];
    assert_eq!(contributed["language"], "stagecraft");
    let grammar = load(&dir.join(contributed["path"].as_str().expect("a path")));
    assert_eq!(grammar["scopeName"], contributed["scopeName"]);
    let settings = &package["contributes"]["configuration"]["properties"];
    assert_eq!(settings["stagecraft.serverPath"]["default"], "stagecraft");
    assert!(package["dependencies"]["vscode-languageclient"].is_string());
    let main = package["main"].as_str().expect("a main");
    let client = std::fs::read_to_string(dir.join(main)).expect("extension.js");
    assert!(client.contains("'lsp'"), "the client runs `stagecraft lsp`");
    assert!(client.contains("stagecraft.serverPath") || client.contains("'serverPath'"));
    assert!(dir.join("README.md").is_file());
}

/// Every regex in the grammar, with where it is.
fn regexes(value: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let here = format!("{at}/{key}");
                match (key.as_str(), child) {
                    ("match" | "begin" | "end", Value::String(pattern)) => {
                        out.push((here, pattern.clone()))
                    }
                    _ => regexes(child, &here, out),
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                regexes(child, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn every_grammar_regex_compiles_and_every_include_resolves() {
    let grammar = grammar();
    let mut found = Vec::new();
    regexes(&grammar, "", &mut found);
    assert!(found.len() > 30, "{} regexes", found.len());
    for (at, pattern) in &found {
        RegexBuilder::new(pattern)
            .oniguruma_mode(true)
            .build()
            .unwrap_or_else(|e| panic!("{at}: `{pattern}` does not compile: {e}"));
    }
    let text = grammar.to_string();
    for include in text.split("\"include\":\"#").skip(1) {
        let name = &include[..include.find('"').expect("closed")];
        assert!(
            grammar["repository"].get(name).is_some(),
            "#{name} is not in the repository"
        );
    }
}

/// A TextMate scanner, enough for this grammar: `match` rules with
/// captures, `begin`/`end` rules with nested patterns, `include`s of the
/// repository, and the earliest match winning (ties: the first rule, the
/// `end` of the enclosing rule before its patterns).
struct Scanner {
    grammar: Value,
    cache: HashMap<String, Regex>,
}

#[derive(Debug, Clone)]
struct Tok {
    text: String,
    scopes: Vec<String>,
}

impl Scanner {
    fn new() -> Scanner {
        Scanner {
            grammar: grammar(),
            cache: HashMap::new(),
        }
    }

    fn regex(&mut self, pattern: &str) -> Regex {
        self.cache
            .entry(pattern.to_string())
            .or_insert_with(|| compile(pattern))
            .clone()
    }

    fn rules(&self, patterns: &Value) -> Vec<Value> {
        let mut out = Vec::new();
        for p in patterns.as_array().expect("patterns") {
            if let Some(include) = p.get("include").and_then(Value::as_str) {
                let rule = &self.grammar["repository"][&include[1..]];
                if rule.get("match").is_none() && rule.get("begin").is_none() {
                    out.extend(self.rules(&rule["patterns"]));
                } else {
                    out.push(rule.clone());
                }
            } else if p.get("match").is_none() && p.get("begin").is_none() {
                out.extend(self.rules(&p["patterns"]));
            } else {
                out.push(p.clone());
            }
        }
        out
    }

    fn tokenize(&mut self, text: &str) -> Vec<Tok> {
        let mut tokens = Vec::new();
        // Open begin/end rules, innermost last.
        let mut stack: Vec<Value> = Vec::new();
        // The rules in force, kept until the stack changes, and their next
        // match on this line (one found at or after `pos` stays the next).
        let mut rules: Option<Vec<(Regex, Value)>> = None;
        let mut next: Vec<Option<Option<(usize, usize)>>> = Vec::new();
        for line in text.split_inclusive('\n') {
            let line = if line.ends_with('\n') {
                line.to_string()
            } else {
                format!("{line}\n")
            };
            let mut pos = 0;
            next.iter_mut().for_each(|n| *n = None);
            while pos < line.len() {
                let scopes: Vec<String> = stack
                    .iter()
                    .filter_map(|r| r["name"].as_str().map(str::to_string))
                    .collect();
                if rules.is_none() {
                    let patterns = match stack.last() {
                        Some(rule) => rule["patterns"].clone(),
                        None => self.grammar["patterns"].clone(),
                    };
                    let list: Vec<(Regex, Value)> = self
                        .rules(&patterns)
                        .into_iter()
                        .map(|rule| {
                            let pattern = rule
                                .get("match")
                                .or_else(|| rule.get("begin"))
                                .and_then(Value::as_str)
                                .expect("a rule")
                                .to_string();
                            (self.regex(&pattern), rule)
                        })
                        .collect();
                    next = vec![None; list.len()];
                    rules = Some(list);
                }
                let mut best: Option<(usize, usize, Value, bool)> = None;
                if let Some(rule) = stack.last() {
                    let end = self.regex(rule["end"].as_str().expect("end"));
                    if let Ok(Some(m)) = end.find_from_pos(&line, pos) {
                        best = Some((m.start(), m.end(), rule.clone(), true));
                    }
                }
                for (i, (regex, rule)) in rules.as_ref().expect("rules").iter().enumerate() {
                    let found = match next[i] {
                        Some(Some((start, end))) if start >= pos => Some((start, end)),
                        Some(None) => None,
                        _ => {
                            let m = regex
                                .find_from_pos(&line, pos)
                                .ok()
                                .flatten()
                                .map(|m| (m.start(), m.end()));
                            next[i] = Some(m);
                            m
                        }
                    };
                    if let Some((start, end)) = found {
                        if best.as_ref().is_none_or(|b| start < b.0) {
                            best = Some((start, end, rule.clone(), false));
                        }
                    }
                }
                let Some((start, end, rule, is_end)) = best else {
                    tokens.push(Tok {
                        text: line[pos..].to_string(),
                        scopes: scopes.clone(),
                    });
                    break;
                };
                if start > pos {
                    tokens.push(Tok {
                        text: line[pos..start].to_string(),
                        scopes: scopes.clone(),
                    });
                }
                let (pattern, captures_key) = if is_end {
                    (rule["end"].as_str(), "endCaptures")
                } else if rule.get("begin").is_some() {
                    (rule["begin"].as_str(), "beginCaptures")
                } else {
                    (rule["match"].as_str(), "captures")
                };
                let mut own = scopes.clone();
                if !is_end {
                    if let Some(name) = rule["name"].as_str() {
                        own.push(name.to_string());
                    }
                }
                let regex = self.regex(pattern.expect("a pattern"));
                let captures = regex
                    .captures_from_pos(&line, pos)
                    .ok()
                    .flatten()
                    .expect("matched");
                let mut at = start;
                for (i, group) in captures.iter().enumerate().skip(1) {
                    let (Some(group), Some(name)) =
                        (group, rule[captures_key][i.to_string()]["name"].as_str())
                    else {
                        continue;
                    };
                    if group.start() > at {
                        tokens.push(Tok {
                            text: line[at..group.start()].to_string(),
                            scopes: own.clone(),
                        });
                    }
                    let mut scoped = own.clone();
                    scoped.push(name.to_string());
                    tokens.push(Tok {
                        text: group.as_str().to_string(),
                        scopes: scoped,
                    });
                    at = group.end();
                }
                if end > at {
                    let mut scoped = own.clone();
                    if let Some(name) = rule[captures_key]["0"]["name"].as_str() {
                        scoped.push(name.to_string());
                    }
                    tokens.push(Tok {
                        text: line[at..end].to_string(),
                        scopes: scoped,
                    });
                }
                if is_end {
                    stack.pop();
                    rules = None;
                } else if rule.get("begin").is_some() {
                    stack.push(rule);
                    rules = None;
                }
                // An empty match (`$`) must still advance.
                pos = if end > pos { end } else { pos + 1 };
            }
        }
        tokens
    }
}

/// The innermost scope of the first token with this text.
fn scope(tokens: &[Tok], text: &str) -> String {
    tokens
        .iter()
        .find(|t| t.text == text)
        .and_then(|t| t.scopes.last().cloned())
        .unwrap_or_else(|| panic!("no token `{text}` in {tokens:#?}"))
}

#[test]
fn scanner_gives_the_expected_scopes() {
    let mut scanner = Scanner::new();
    let text = "# a comment with \"quotes\"\n\
        playbook \"demo\" { language 1; subject account }\n\
        traits { plan: enum { free, pro } = free }\n\
        event \"Login\" { user_id: string }\n\
        metric logins = count \"Login \\\"x\\\" \\u{1F600}\" where event.user_id != \"\" over 7d\n\
        score health in 0..100 = 50 \"base\" + 2.5 * min(logins, 4)\n\
        stages {\n  trial initial,  # first\n  paid,\n  gone terminal\n}\n\
        transition trial -> paid when logins >= 3 and days(time_in_stage) < 14\n\
        rule nudge on \"Login\" holdout 10% { send email \"hi\" }\n\
        policy { quiet hours 20:00..08:00 local }\n";
    let tokens = scanner.tokenize(text);
    let expect = [
        (
            "# a comment with \"quotes\"",
            "comment.line.number-sign.stagecraft",
        ),
        ("playbook", "storage.type.declaration.stagecraft"),
        ("language", "keyword.other.header.stagecraft"),
        ("plan", "variable.other.property.stagecraft"),
        ("enum", "support.type.stagecraft"),
        ("logins", "entity.name.type.stagecraft"),
        ("count", "support.function.metric.stagecraft"),
        ("\\\"", "constant.character.escape.stagecraft"),
        ("\\u{1F600}", "constant.character.escape.stagecraft"),
        ("user_id", "variable.other.property.stagecraft"),
        ("7d", "constant.numeric.duration.stagecraft"),
        ("health", "entity.name.type.stagecraft"),
        ("..", "keyword.operator.range.stagecraft"),
        ("2.5", "constant.numeric.decimal.stagecraft"),
        ("min", "support.function.builtin.stagecraft"),
        ("trial", "variable.other.enummember.stagecraft"),
        ("initial", "storage.modifier.stagecraft"),
        ("# first", "comment.line.number-sign.stagecraft"),
        ("->", "keyword.operator.arrow.stagecraft"),
        (">=", "keyword.operator.comparison.stagecraft"),
        ("and", "keyword.operator.word.stagecraft"),
        ("days", "support.function.builtin.stagecraft"),
        ("time_in_stage", "support.constant.builtin.stagecraft"),
        ("nudge", "entity.name.function.stagecraft"),
        ("on", "keyword.control.stagecraft"),
        ("10%", "constant.numeric.percent.stagecraft"),
        ("send", "keyword.other.action.stagecraft"),
        ("20:00", "constant.numeric.time.stagecraft"),
    ];
    for (text, expected) in expect {
        assert_eq!(scope(&tokens, text), expected, "scope of `{text}`");
    }
    // `paid` inside the stages block, on a later line, is a stage.
    let paid: Vec<&Tok> = tokens.iter().filter(|t| t.text == "paid").collect();
    assert_eq!(
        paid[0].scopes.last().map(String::as_str),
        Some("variable.other.enummember.stagecraft")
    );
    // An unterminated string ends at the line's end, marked invalid.
    let tokens = scanner.tokenize("rule r on \"Log\nstages { a initial }\n");
    assert!(tokens
        .iter()
        .any(|t| t.scopes.iter().any(|s| s.contains("unterminated"))));
    assert_eq!(scope(&tokens, "a"), "variable.other.enummember.stagecraft");
}

#[test]
fn every_keyword_is_highlighted_and_examples_scan_cleanly() {
    let mut scanner = Scanner::new();
    let pest = include_str!("../../../grammar/playbook.pest");
    for line in pest.lines().filter(|l| l.starts_with("kw_")) {
        let word = line
            .split('"')
            .nth(1)
            .unwrap_or_else(|| panic!("a keyword in `{line}`"));
        // In a neutral position (not a declaration name, not a call).
        let tokens = scanner.tokenize(&format!("{word} "));
        let token = tokens
            .iter()
            .find(|t| t.text == word)
            .unwrap_or_else(|| panic!("`{word}` is split: {tokens:?}"));
        let innermost = token.scopes.last().map(String::as_str).unwrap_or("");
        assert!(
            !innermost.is_empty() && innermost != "variable.other.stagecraft",
            "keyword `{word}` is not highlighted: {innermost:?}"
        );
    }
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut scanned = 0;
    for entry in std::fs::read_dir(examples).expect("examples") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "playbook") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("reads");
        let tokens = scanner.tokenize(&text);
        let rebuilt: String = tokens.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(rebuilt.trim_end(), text.trim_end(), "{}", path.display());
        let invalid: Vec<&Tok> = tokens
            .iter()
            .filter(|t| t.scopes.iter().any(|s| s.starts_with("invalid")))
            .collect();
        assert!(invalid.is_empty(), "{}: {invalid:?}", path.display());
        scanned += 1;
    }
    assert!(scanned >= 5, "{scanned} examples");
}
