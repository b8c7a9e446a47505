//! Robustness of the front end: whatever the input, `parse` and then `check`
//! return (they never panic and never overflow the stack), and every error
//! they report points inside the source, on character boundaries.
//!
//! Inputs come from three generators: a grammar-aware token soup, random
//! but well-formed playbooks (so the checker sees many declarations), and
//! random edits of `examples/w1.playbook` and of the `tests/invalid/` corpus.

use std::path::Path;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use stagecraft_syntax::SyntaxError;

/// Runs the front end on `source` and checks every reported span.
fn front_end(source: &str) {
    match stagecraft_syntax::parse(source) {
        Err(errors) => {
            assert!(!errors.is_empty(), "a failed parse reports an error");
            for error in &errors {
                assert_span(
                    source,
                    error.span().start,
                    error.span().end,
                    &error_code(error),
                );
            }
        }
        Ok(playbook) => {
            if let Err(errors) = stagecraft_check::check(source, &playbook) {
                assert!(!errors.is_empty(), "a failed check reports an error");
                for error in &errors {
                    let code = miette::Diagnostic::code(error)
                        .map(|c| c.to_string())
                        .unwrap_or_default();
                    let labels = miette::Diagnostic::labels(error);
                    for label in labels.into_iter().flatten() {
                        assert_span(source, label.offset(), label.offset() + label.len(), &code);
                    }
                }
            }
        }
    }
}

fn error_code(error: &SyntaxError) -> String {
    miette::Diagnostic::code(error)
        .map(|c| c.to_string())
        .unwrap_or_default()
}

fn assert_span(source: &str, start: usize, end: usize, code: &str) {
    assert!(
        start <= end && end <= source.len(),
        "{code}: span {start}..{end} is outside the source ({} bytes):\n{source}",
        source.len()
    );
    assert!(
        source.is_char_boundary(start) && source.is_char_boundary(end),
        "{code}: span {start}..{end} splits a character:\n{source}"
    );
}

fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

// ------------------------------------------------------------ token soup

const KEYWORDS: &[&str] = &[
    "playbook",
    "language",
    "version",
    "description",
    "subject",
    "account",
    "per",
    "traits",
    "event",
    "in",
    "enum",
    "bool",
    "int",
    "decimal",
    "money",
    "string",
    "duration",
    "timestamp",
    "date",
    "timezone",
    "metric",
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
    "stage",
    "default",
    "where",
    "score",
    "segment",
    "stages",
    "initial",
    "terminal",
    "transition",
    "any",
    "except",
    "backward",
    "reactivation",
    "for",
    "manual",
    "by",
    "requires",
    "reason",
    "override",
    "on",
    "milestone",
    "missed",
    "running",
    "when",
    "after",
    "before",
    "at",
    "starts",
    "done",
    "due",
    "rule",
    "once",
    "cooldown",
    "holdout",
    "send",
    "email",
    "in_app",
    "push",
    "sms",
    "create",
    "task",
    "open",
    "ticket",
    "priority",
    "low",
    "normal",
    "high",
    "urgent",
    "update",
    "crm",
    "call",
    "webhook",
    "hand",
    "off",
    "to",
    "with",
    "context",
    "escalation",
    "notify",
    "unacknowledged",
    "policy",
    "cap",
    "messages",
    "touches",
    "quiet",
    "hours",
    "local",
    "of",
    "or",
    "and",
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
    "now",
    "today",
    "time_in_stage",
    "first_seen",
    "days",
    "hours",
    "round",
    "clamp",
    "entered_at",
];

const PUNCTUATION: &[&str] = &[
    "{", "}", "(", ")", "[", "]", ",", ";", ":", "..", ".", "->", "==", "!=", "<=", ">=", "<", ">",
    "=", "+", "-", "*", "/", "%", "?", "!", "&", "$", "@", "\u{201c}", "\u{e9}", "\t",
];

fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop::sample::select(KEYWORDS).prop_map(str::to_string),
        4 => "[a-z_][a-z0-9_]{0,8}",
        3 => "\"[A-Za-z ]{0,10}\"",
        1 => "\"[A-Za-z\\\\\"{}u0-9]{0,8}\"?",
        3 => "[0-9]{1,4}",
        1 => "[0-9]{15,22}",
        1 => "[0-9]{1,3}\\.[0-9]{1,8}",
        2 => "[0-9]{1,4}(ms|s|m|h|d|w)",
        1 => "[0-9]{1,3}(\\.[0-9]{1,3})?%",
        1 => "[0-9]{2}:[0-9]{2}",
        6 => prop::sample::select(PUNCTUATION).prop_map(str::to_string),
        1 => "# [a-z ]{0,12}\n",
        2 => Just("\n".to_string()),
        1 => (1usize..40).prop_map(|n| "(".repeat(n)),
        1 => (1usize..40).prop_map(|n| ")".repeat(n)),
        1 => (1usize..40).prop_map(|n| "[{(".repeat(n)),
    ]
}

const HEADER: &str = "playbook \"p\" { language 1; subject account }\n";

fn token_soup() -> impl Strategy<Value = String> {
    (
        any::<bool>(),
        prop::collection::vec(
            (token(), prop::sample::select(&[" ", " ", "", "\n"][..])),
            0..120,
        ),
    )
        .prop_map(|(with_header, tokens)| {
            let mut out = if with_header {
                HEADER.to_string()
            } else {
                String::new()
            };
            for (t, sep) in tokens {
                out.push_str(&t);
                out.push_str(sep);
            }
            out
        })
}

// ------------------------------------------------------------ well-formed playbooks

const NAMES: &[&str] = &[
    "a", "b", "logins", "health", "plan", "seats", "vip", "smb", "x",
];
const STAGES: &[&str] = &["new", "active", "risk", "gone", "ghost"];
const EVENTS: &[&str] = &["\"Login\"", "\"Paid\"", "\"Nope\""];

fn pick(list: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop::sample::select(list).prop_map(str::to_string)
}

fn atom() -> impl Strategy<Value = String> {
    prop_oneof![
        pick(NAMES),
        "[0-9]{1,3}",
        "[0-9]{1,2}\\.[0-9]{1,2}",
        "[0-9]{1,3}(h|d|w)",
        Just("true".to_string()),
        Just("\"text\"".to_string()),
        pick(EVENTS).prop_map(|e| format!("since last {e}")),
        Just("stage".to_string()),
        Just("event.score".to_string()),
        Just("now".to_string()),
        Just("time_in_stage".to_string()),
        pick(NAMES).prop_map(|n| format!("milestone {n} done")),
    ]
}

fn expr() -> impl Strategy<Value = String> {
    atom().prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            (
                inner.clone(),
                pick(&["+", "-", "*", "/", "%"]),
                inner.clone()
            )
                .prop_map(|(a, op, b)| format!("{a} {op} {b}")),
            (
                inner.clone(),
                pick(&["==", "!=", "<", ">=", "crosses below", "crosses above"]),
                inner.clone()
            )
                .prop_map(|(a, op, b)| format!("({a}) {op} ({b})")),
            (inner.clone(), pick(&["and", "or"]), inner.clone())
                .prop_map(|(a, op, b)| format!("{a} {op} {b}")),
            inner.clone().prop_map(|a| format!("not ({a})")),
            inner.clone().prop_map(|a| format!("-({a})")),
            inner.clone().prop_map(|a| format!("({a}) is not set")),
            (inner.clone(), prop::collection::vec(inner.clone(), 1..3))
                .prop_map(|(a, opts)| format!("({a}) in [{}]", opts.join(", "))),
            (
                pick(&[
                    "min",
                    "max",
                    "clamp",
                    "abs",
                    "round",
                    "days",
                    "decimal",
                    "entered_at",
                    "nope"
                ]),
                prop::collection::vec(inner.clone(), 0..4)
            )
                .prop_map(|(f, args)| format!("{f}({})", args.join(", "))),
        ]
    })
}

fn type_expr() -> impl Strategy<Value = String> {
    prop_oneof![
        pick(&[
            "bool",
            "int",
            "decimal",
            "money",
            "string",
            "duration",
            "timestamp",
            "date",
            "timezone"
        ]),
        Just("enum { smb, mid, vip, smb }".to_string()),
    ]
}

fn field() -> impl Strategy<Value = String> {
    (
        pick(NAMES),
        type_expr(),
        any::<bool>(),
        prop::option::of(("-?[0-9]{1,3}", "-?[0-9]{1,3}(\\.[0-9])?")),
        prop::option::of(prop_oneof![
            atom(),
            Just("\"UTC\"".to_string()),
            Just("\"2025-02-30\"".to_string())
        ]),
    )
        .prop_map(|(name, ty, optional, range, default)| {
            let mut f = format!("{name}: {ty}");
            if optional {
                f.push('?');
            }
            if let Some((lo, hi)) = range {
                f.push_str(&format!(" in {lo}..{hi}"));
            }
            if let Some(d) = default {
                f.push_str(&format!(" = {d}"));
            }
            f
        })
}

fn stage_set() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(pick(STAGES), 1..3).prop_map(|s| s.join(", ")),
        Just("any".to_string()),
        prop::collection::vec(pick(STAGES), 1..4)
            .prop_map(|s| format!("any except {}", s.join(", "))),
    ]
}

fn trigger() -> impl Strategy<Value = String> {
    prop_oneof![
        transition_trigger(),
        ("[0-9]{1,2}d", pick(NAMES)).prop_map(|(d, n)| format!("at {d} before {n}")),
    ]
}

fn transition_trigger() -> impl Strategy<Value = String> {
    prop_oneof![
        (pick(EVENTS), prop::option::of(expr())).prop_map(|(e, w)| match w {
            Some(w) => format!("on {e} where {w}"),
            None => format!("on {e}"),
        }),
        expr().prop_map(|e| format!("when {e}")),
        ("[0-9]{1,2}(h|d)", prop::option::of(pick(STAGES)))
            .prop_map(|(d, s)| format!("after {d} in stage {}", s.unwrap_or_default())),
        pick(NAMES).prop_map(|m| format!("on milestone {m} missed")),
    ]
}

fn action() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("send email \"hi\"".to_string()),
        expr().prop_map(|e| format!("update crm \"f\" = {e}")),
        (pick(NAMES), expr()).prop_map(|(n, e)| format!(
            "open ticket \"t\" priority high with context({n}) {{ k: {e} }}"
        )),
        Just("create task for csm \"call\" due 0d with context".to_string()),
    ]
}

fn item() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(field(), 0..4).prop_map(|f| format!("traits {{ {} }}", f.join(", "))),
        (pick(EVENTS), prop::collection::vec(field(), 0..3))
            .prop_map(|(e, f)| format!("event {e} {{ {} }}", f.join(", "))),
        (
            pick(NAMES),
            pick(EVENTS),
            prop::option::of(expr()),
            pick(&["", " over 7d", " over 0d", " in stage"])
        )
            .prop_map(|(n, e, w, span)| match w {
                Some(w) => format!("metric {n} = count {e} where {w}{span}"),
                None => format!("metric {n} = count {e}{span}"),
            }),
        (
            pick(NAMES),
            pick(&["sum", "min", "max", "avg", "distinct", "latest", "first"]),
            pick(EVENTS),
            pick(NAMES)
        )
            .prop_map(|(n, f, e, p)| format!("metric {n} = {f} {e}.{p}")),
        (pick(NAMES), pick(NAMES))
            .prop_map(|(n, r)| format!("metric {n} = count sent {r} over 7d")),
        (
            pick(NAMES),
            "-?[0-9]{1,3}",
            "[0-9]{1,3}",
            prop::collection::vec(expr(), 1..4)
        )
            .prop_map(|(n, lo, hi, terms)| {
                let terms: Vec<String> = terms.iter().map(|t| format!("({t}) \"label\"")).collect();
                format!("score {n} in {lo}..{hi} = {}", terms.join(" + "))
            }),
        (pick(NAMES), expr()).prop_map(|(n, e)| format!("segment {n} = {e}")),
        prop::collection::vec(
            (
                pick(STAGES),
                pick(&["", " initial", " terminal", " initial terminal"])
            ),
            1..5
        )
        .prop_map(|s| format!(
            "stages {{ {} }}",
            s.into_iter()
                .map(|(a, b)| a + &b)
                .collect::<Vec<_>>()
                .join(", ")
        )),
        (
            stage_set(),
            pick(STAGES),
            transition_trigger(),
            pick(&["", " backward", " for vip"])
        )
            .prop_map(|(f, t, tr, o)| format!("transition {f} -> {t} {tr}{o}")),
        (stage_set(), pick(STAGES))
            .prop_map(|(f, t)| format!("manual {f} -> {t} by csm requires reason")),
        (pick(NAMES), pick(EVENTS), pick(EVENTS), "[0-9]{1,2}h").prop_map(
            |(n, s, d, due)| format!("milestone {n} {{ starts on {s} done on {d} due {due} }}")
        ),
        (
            pick(NAMES),
            trigger(),
            pick(&[
                "",
                " once",
                " cooldown 1h",
                " holdout 10%",
                " in stage new",
                " once once"
            ]),
            prop::collection::vec(action(), 0..3)
        )
            .prop_map(|(n, t, o, a)| format!("rule {n} {t}{o} {{ {} }}", a.join("; "))),
        (pick(NAMES), trigger()).prop_map(|(n, t)| format!(
            "escalation {n} {t} {{ notify csm; unacknowledged 1h -> notify boss }}"
        )),
        (pick(&[
            "cap messages 0 per 1d",
            "cap sms 3 per 7d",
            "quiet hours 20:00..08:00 local",
            "quiet hours 20:00..20:00 in plan",
            "holdout 5% of a, b"
        ]))
        .prop_map(|p| format!("policy {{ {p} }}")),
    ]
}

fn playbook() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(item(), 0..10),
        pick(&["1", "1", "1", "1", "2"]),
    )
        .prop_map(|(items, language)| {
            let mut out = format!("playbook \"p\" {{ language {language}; subject account }}\n");
            for i in items {
                out.push_str(&i);
                out.push('\n');
            }
            out
        })
}

// ------------------------------------------------------------ mutations of real files

fn seeds() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut seeds =
        vec![std::fs::read_to_string(root.join("examples/w1.playbook"))
            .expect("examples/w1.playbook")];
    for dir in ["examples", "tests/invalid"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        let mut paths: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "playbook"))
            .collect();
        paths.sort();
        seeds.extend(paths.iter().filter_map(|p| std::fs::read_to_string(p).ok()));
    }
    seeds
}

#[derive(Debug, Clone)]
enum Edit {
    Delete(prop::sample::Index, usize),
    Duplicate(prop::sample::Index, usize),
    Swap(prop::sample::Index, prop::sample::Index),
    Insert(prop::sample::Index, String),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<prop::sample::Index>(), 1usize..12).prop_map(|(i, n)| Edit::Delete(i, n)),
        (any::<prop::sample::Index>(), 1usize..40).prop_map(|(i, n)| Edit::Duplicate(i, n)),
        (any::<prop::sample::Index>(), any::<prop::sample::Index>())
            .prop_map(|(i, j)| Edit::Swap(i, j)),
        (
            any::<prop::sample::Index>(),
            prop_oneof![token(), any::<char>().prop_map(String::from)]
        )
            .prop_map(|(i, s)| Edit::Insert(i, s)),
    ]
}

/// Applies edits on characters, so the result is always valid UTF-8.
fn mutate(seed: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = seed.chars().collect();
    for e in edits {
        let len = chars.len().max(1);
        match e {
            Edit::Delete(i, n) => {
                let at = i.index(len).min(chars.len());
                let end = (at + n).min(chars.len());
                chars.drain(at..end);
            }
            Edit::Duplicate(i, n) => {
                let at = i.index(len).min(chars.len());
                let end = (at + n).min(chars.len());
                let copy: Vec<char> = chars[at..end].to_vec();
                chars.splice(at..at, copy);
            }
            Edit::Swap(i, j) => {
                if !chars.is_empty() {
                    let (a, b) = (i.index(chars.len()), j.index(chars.len()));
                    chars.swap(a, b);
                }
            }
            Edit::Insert(i, s) => {
                let at = i.index(len + 1).min(chars.len());
                chars.splice(at..at, s.chars());
            }
        }
    }
    chars.into_iter().collect()
}

// ------------------------------------------------------------ properties

#[test]
fn token_soup_never_panics() {
    let mut runner = TestRunner::new(config(200));
    runner
        .run(&token_soup(), |source| {
            front_end(&source);
            Ok(())
        })
        .unwrap();
}

#[test]
fn generated_playbooks_never_panic() {
    let mut runner = TestRunner::new(config(300));
    runner
        .run(&playbook(), |source| {
            front_end(&source);
            Ok(())
        })
        .unwrap();
}

#[test]
fn mutated_files_never_panic() {
    let seeds = seeds();
    let strategy = (
        prop::sample::select(seeds),
        prop::collection::vec(edit(), 1..6),
    );
    let mut runner = TestRunner::new(config(400));
    runner
        .run(&strategy, |(seed, edits)| {
            front_end(&mutate(&seed, &edits));
            Ok(())
        })
        .unwrap();
}

#[test]
fn every_seed_file_runs_clean() {
    for seed in seeds() {
        front_end(&seed);
    }
}

// ------------------------------------------------------------ deep inputs

/// Runs `f` on a thread with a 2 MiB stack: deep inputs must be rejected
/// with a diagnostic, not by overflowing the stack.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(f)
        .expect("spawn")
        .join()
        .expect("no panic, no overflow")
}

fn syntax_codes(source: String) -> Vec<String> {
    on_small_stack(move || match stagecraft_syntax::parse(&source) {
        Ok(_) => Vec::new(),
        Err(errors) => {
            for e in &errors {
                assert_span(&source, e.span().start, e.span().end, &error_code(e));
            }
            errors.iter().map(error_code).collect()
        }
    })
}

const TRAITS: &str = "traits { a: int = 1, flag: bool = true }\nstages { s initial, t terminal }\n";

#[test]
fn ten_thousand_open_brackets_are_too_deep() {
    let n = 10_000;
    let source = format!(
        "{HEADER}{TRAITS}segment deep = {}a{} > 0\n",
        "(".repeat(n),
        ")".repeat(n)
    );
    assert_eq!(syntax_codes(source), ["SC0002"]);
    // Unbalanced, and brackets of every kind.
    let source = format!("{HEADER}{TRAITS}segment deep = {}\n", "([{".repeat(n));
    assert_eq!(syntax_codes(source), ["SC0002"]);
}

#[test]
fn hundred_thousand_term_sum_is_too_deep() {
    let terms = vec!["a"; 100_000].join(" + ");
    let source = format!("{HEADER}{TRAITS}segment long = {terms} > 0\n");
    assert_eq!(syntax_codes(source), ["SC0007"]);
}

#[test]
fn fifty_thousand_nots_are_too_deep() {
    let source = format!(
        "{HEADER}{TRAITS}segment negated = {}flag\n",
        "not ".repeat(50_000)
    );
    assert_eq!(syntax_codes(source), ["SC0007"]);
}

#[test]
fn long_flat_inputs_check_on_a_small_stack() {
    // Flat, not deep: these must be accepted or rejected without recursion
    // proportional to their length.
    let sources = [
        format!("{HEADER}{TRAITS}{}", "segment s = a > 0\n".repeat(2_000)),
        format!(
            "{HEADER}{TRAITS}score big in 0..1000000 = {}\n",
            vec!["a"; 5_000].join(" + ")
        ),
        format!("{HEADER}{TRAITS}{}", "# comment\n".repeat(50_000)),
    ];
    for source in sources {
        on_small_stack(move || front_end(&source));
    }
}

/// Known bug: `x in [...]` is one expression node to the parser's depth
/// guard, but the checker lowers it to a chain of `or`s one level deep per
/// option, and recursive passes over that chain (its `Clone` in
/// `Checker::segment`, its `Drop`, the evaluators) overflow the stack from
/// about 10,000 options (a pasted list of account ids). Ignored until the
/// checker bounds or flattens it; run with `--ignored` to reproduce.
#[test]
fn ten_thousand_option_membership_checks_on_a_small_stack() {
    let options = vec!["1"; 10_000].join(", ");
    let source = format!("{HEADER}{TRAITS}segment listed = a in [{options}]\n");
    on_small_stack(move || front_end(&source));
}
