//! The ingest fast path (`ingest::parse_line_fast`, a scanner) against the
//! serde_json path (`ingest::parse_line_serde`): whenever the scanner takes
//! a line, it must give exactly what serde_json gives, the same input or the
//! same rejection. Lines come from a generator of Segment-like calls (keys
//! in any order, unknown keys with nested values, whitespace, escapes,
//! numbers, nulls, both time formats) and from byte-level edits of them.
//! The scanner must also take the plain W1 lines, or it would be dead code
//! that every test still passes with. Reading a line from a chunk (where it
//! finds the line's end itself) must give what it gives for the line alone.

use std::sync::LazyLock;

use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use stagecraft_ir::Program;
use stagecraft_runtime::ingest::{parse_line, parse_line_at, parse_line_fast, parse_line_serde};
use stagecraft_runtime::symbols::Symbols;

const W1: &str = include_str!("../../../examples/w1.playbook");
const W1_SAMPLE: &str = include_str!("../benches/w1-sample.ndjson");

/// Every field type, optional ones, ranges, and a `per` subject.
const TYPES: &str = r#"playbook "types" {
  language 1
  subject account per "product"
}
traits {
  plan: enum { free, team, business } = free
  seats: int in 1..1000 = 1
  arr: money = 0
  tz: timezone = "UTC"
  renewal: date?
  opted_out: bool = false
  sla: duration = 30d
  started: timestamp?
  label: string?
}
event "Login" { product: string }
event "Order" {
  product: string,
  total: decimal in 0..1000000,
  coupon: string?,
  at: timestamp?,
  count: int?,
  ok: bool?,
  step: enum { a, b, c }?
}
event "Page Viewed" { product: string }
stages { new initial, done terminal }
"#;

fn compile(source: &str) -> Program {
    let ast = stagecraft_syntax::parse(source).expect("parses");
    stagecraft_check::check(source, &ast).expect("checks")
}

static PROGRAMS: LazyLock<[Program; 2]> = LazyLock::new(|| [compile(W1), compile(TYPES)]);

/// Compares both paths on one line for every program: whether the fast
/// path took it, or how they differ. (An error, not a panic, so proptest
/// shrinks a failure quickly.)
fn compare(line: &str) -> Result<bool, String> {
    let mut fast_taken = false;
    for program in PROGRAMS.iter() {
        let mut serde_symbols = Symbols::new(&program.strings);
        let expected = parse_line_serde(line, program, &mut serde_symbols);
        let mut symbols = Symbols::new(&program.strings);
        if let Some(fast) = parse_line_fast(line, program, &mut symbols) {
            fast_taken = true;
            if fast != expected || symbols.len() != serde_symbols.len() {
                return Err(format!(
                    "on {line:?}\nfast path: {fast:?}\nserde_json: {expected:?}"
                ));
            }
        }
        // Read from a chunk, the line up to its first `\n` gives what the
        // fast path gives for it alone, and ends there.
        let first = line.split('\n').next().unwrap_or_default();
        let chunk = format!("{line}\n{{");
        let mut symbols = Symbols::new(&program.strings);
        let alone = parse_line_fast(first, program, &mut symbols);
        let mut symbols = Symbols::new(&program.strings);
        let in_chunk = parse_line_at(&chunk, program, &mut symbols);
        let ending_there = alone.map(|parsed| (first.len(), parsed));
        if in_chunk != ending_there {
            return Err(format!(
                "on {line:?}\nin a chunk: {in_chunk:?}\nalone: {ending_there:?}"
            ));
        }
        let mut symbols = Symbols::new(&program.strings);
        let got = parse_line(line, program, &mut symbols);
        if got != expected {
            return Err(format!(
                "on {line:?}\nparse_line: {got:?}\nserde_json: {expected:?}"
            ));
        }
    }
    Ok(fast_taken)
}

/// [`compare`] for the fixed cases: panics where the paths differ.
fn agree(line: &str) -> bool {
    compare(line).unwrap_or_else(|e| panic!("{e}"))
}

fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 2_000,
        ..Config::default()
    }
}

#[test]
fn w1_lines_take_the_fast_path() {
    let program = &PROGRAMS[0];
    let mut symbols = Symbols::new(&program.strings);
    for line in W1_SAMPLE.lines() {
        let fast = parse_line_fast(line, program, &mut symbols);
        assert!(fast.is_some(), "not on the fast path: {line}");
        assert!(agree(line));
    }
}

#[test]
fn unusual_but_common_shapes_take_the_fast_path() {
    for line in [
        // Whitespace, unknown keys with nested values, escapes in skipped
        // and kept values, nulls, epoch milliseconds.
        " {\"type\" : \"track\",\t\"event\":\"Order\", \"context\": {\"library\": {\"name\": \"a\\\"b\", \"v\": [1, -2.5e-3, true, null, {}]}, \"groupId\": \"a1\", \"ip\": \"\\u00e9\"}, \"properties\": {\"product\": \"x\\ny\", \"total\": \"12.50\", \"at\": 1767225600000}, \"integrations\": {\"All\": true}, \"timestamp\": 1767225600000}\r\n",
        r#"{"type":"group","groupId":"a1","userId":null,"traits":{"plan":"team","arr":19.99,"tz":"Europe/Paris","renewal":"2026-06-30","opted_out":true,"sla":86400000,"started":"2026-01-01T00:00:00+01:00","label":null},"timestamp":"2026-01-01T00:00:00.5+05:30"}"#,
        r#"{"type":"identify","anonymousId":"anon","timestamp":null,"originalTimestamp":"2026-01-01T00:00:00Z"}"#,
        r#"{"type":"page","userId":"u1","properties":{"product":"a"},"receivedAt":"2026-01-01T00:00:00Z"}"#,
        r#"{"type":"manual","subject":"a1","to":"done","role":"csm","actor":"ann","reason":" ","override":true,"timestamp":"2026-01-01T00:00:00Z"}"#,
        r#"{"type":"ack","groupId":"a1","escalation":"e","timestamp":"2026-01-01T00:00:00Z"}"#,
        r#"{"type":"alias","timestamp":"2026-01-01T00:00:00Z"}"#,
        r#"{"type":"track","event":"Login","properties":{"product":"a"},"timestamp":"not a time"}"#,
        // Keys that start with a known key, and times of the usual shape
        // that are not times.
        r#"{"types":1,"type":"track","events":[],"event":"Login","tokens":"x","groupIds":{},"groupId":"a","timestampMs":5,"timestamp":"2026-02-30T00:00:00.000Z"}"#,
        r#"{"type":"track","event":"Login","groupId":"a","timestamp":"2026-01-01T24:00:00.000Z"}"#,
        r#"{"type":"track","event":"Login","groupId":"a","timestamp":"2026-01-01T00:00:00.000Z "}"#,
        r#"{}"#,
    ] {
        assert!(agree(line), "not on the fast path: {line}");
    }
}

#[test]
fn edge_cases_agree() {
    for line in [
        "",
        " ",
        "[]",
        "null",
        r#"{"type":"track"} x"#,
        r#"{"type":"track",}"#,
        r#"{"type":"track" "event":"Login"}"#,
        r#"{"type":"track","type":"group","timestamp":0}"#,
        r#"{"x":1,"x":2,"type":"alias","timestamp":0}"#,
        r#"{"type":"alias","timestamp":-0}"#,
        r#"{"type":"alias","timestamp":-5}"#,
        r#"{"type":"alias","timestamp":01}"#,
        r#"{"type":"alias","timestamp":1.}"#,
        r#"{"type":"alias","timestamp":9223372036854775808}"#,
        r#"{"type":"alias","timestamp":18446744073709551616}"#,
        r#"{"type":"alias","timestamp":1e3}"#,
        r#"{"type":"alias","timestamp":0,"x":01}"#,
        r#"{"type":"alias","timestamp":0,"x":-}"#,
        r#"{"type":"alias","timestamp":0,"x":-01}"#,
        r#"{"type":"alias","timestamp":0,"x":1.e5}"#,
        r#"{"type":"alias","timestamp":0,"x":1e+}"#,
        r#"{"type":"alias","timestamp":0,"x":.5}"#,
        r#"{"type":"alias","timestamp":0,"x":+1}"#,
        r#"{"type":"alias","timestamp":0,"x":1E-07}"#,
        r#"{"type":"alias","timestamp":0,"x":NaN}"#,
        r#"{"type":"track","event":"Order","groupId":"a","properties":{"product":"p","total":00},"timestamp":0}"#,
        r#"{"type":"track","event":"Order","groupId":"a","properties":{"product":"p","total":1 },"timestamp":0}"#,
        r#"{"type":"alias","timestamp":"2026-01-01T00:00:00Z","x":"\ud800"}"#,
        r#"{"type":"alias","timestamp":"2026-01-01T00:00:00Z","x":"\x"}"#,
        r#"{"type":"alias","timestamp":"2026-01-01T00:00:00Z","x":"\u12"}"#,
        r#"{"type":"alias","timestamp":"2026-01-01T00:00:00Z","x":tru}"#,
        r#"{"type":"alias","timestamp":"2026-01-01T00:00:00Z","x":[1,]}"#,
        r#"{"type":"alias","timestamp":"2026-01-01T00:00:00Z","x":{"a" 1}}"#,
        "{\"type\":\"alias\",\"timestamp\":\"2026-01-01T00:00:00Z\",\"x\":\"a\u{1}\"}",
        "{\"type\":\"alias\",\"timestamp\":\"2026-01-01T00:00:00Z\",\"x\":[\"\u{1f}\"]}",
        "{\"type\":\"alias\",\"timestamp\":\"2026-01-01T00:00:00Z\",\"x\":\"\u{7f}\u{85}\"}",
        "{\"type\":\"track\",\"event\":\"Login\",\"groupId\":\"a\u{1f}\",\"timestamp\":0}",
        "{\"type\":\"alias\",\"timestamp\":\"2026-01-01T00:00:00Z\",\"x\"\u{b}:1}",
        "{\"type\":\"alias\",\"timestamp\":\"2026-01-01T00:00:00Z\"}\u{c}",
        r#"{"type":"track","event":"Login","groupId":7,"properties":{"product":"a"},"timestamp":0}"#,
        r#"{"type":"track","event":"Login","groupId":1.5,"properties":{"product":"a"},"timestamp":0}"#,
        r#"{"type":"track","event":"Login","groupId":"a","properties":{"product":1e2},"timestamp":0}"#,
        r#"{"type":"track","event":"Login","groupId":"a","properties":{"product":"a","product":"b"},"timestamp":0}"#,
        r#"{"type":"track","event":"Login","groupId":"a","properties":{"pr\u006fduct":"a"},"timestamp":0}"#,
        r#"{"type":"track","event":"Login","context":{"groupId":"a","groupId":"b"},"timestamp":0}"#,
        r#"{"type":"track","event":"Login","context":[],"timestamp":0}"#,
        r#"{"type":"track","event":"Login","context":"a","timestamp":0}"#,
        r#"{"type":"track","event":"Login","groupId":"a","properties":"x","timestamp":0}"#,
        r#"{"type":"track","event":"Login","groupId":"a","properties":[],"timestamp":0}"#,
        r#"{"type":"track","event":"Log\u0069n","groupId":"a","properties":{"product":"a"},"timestamp":0}"#,
        r#"{"type":"group","groupId":"a","traits":{"seats":1001,"plan":"gold"},"timestamp":0}"#,
        r#"{"type":"manual","subject":"a","to":"done","role":"csm","override":1,"timestamp":0}"#,
        // Compact lines that end oddly, or whose strings do.
        "{\"type\":\"track\",\"event\":\"Login\",\"groupId\":\"a\",\"timestamp\":\"2026-01-01T00:00:00.000Z\"}\r\n",
        "{\"type\":\"track\",\"event\":\"Login\",\"groupId\":\"a\",\"timestamp\":\"2026-01-01T00:00:00.000Z\"} ",
        r#"{"type":"track","event":"Login","groupId":"a\,"timestamp":"2026-01-01T00:00:00.000Z"}"#,
        r#"{"type":"track","event":"Login","groupId":"a\}"#,
        r#"{"type":"track","event":"Login","groupId":"a","properties":{"product":"a\,"x":1},"timestamp":0}"#,
        r#"{"type":"track","event":"Login","groupId":"a","properties":{"product\:"a"},"timestamp":0}"#,
        r#"{"type":"track","event":"Login","groupId":"a","timestamp":"2026-01-01T00:00:00.000Z","timestamp":"2026-01-01T00:00:00.000Z"}"#,
        r#"{"type":"track","event":"Login","groupId":"a","timestamp":"2026-01-01T00:00:00.000Z"}}"#,
        r#"{"type":"track","event":"Login","groupId":"a","timestamp":"2026-01-01T00:00:00.000Z"},"#,
        r#"{"type":"track","event":"Login","groupId":null,"userId":"u","timestamp":"2026-01-01T00:00:00.000Z"}"#,
        r#"{"type":"track","event":"Login","groupId":nul,"timestamp":"2026-01-01T00:00:00.000Z"}"#,
    ] {
        agree(line);
    }
    let deep = format!(
        r#"{{"type":"alias","timestamp":0,"x":{}1{}}}"#,
        "[".repeat(200),
        "]".repeat(200)
    );
    agree(&deep);
}

// ------------------------------------------------------------ generator

/// Values of one kind: the usual ones, and odd ones (escapes, numbers where
/// strings are usual, wrong types, bad times) that the scanner may leave to
/// serde_json.
struct Pool {
    plain: &'static [&'static str],
    odd: &'static [&'static str],
}

impl Pool {
    fn pick(&'static self) -> impl Strategy<Value = String> {
        prop_oneof![
            16 => select(self.plain).prop_map(String::from),
            1 => select(self.odd).prop_map(String::from),
        ]
    }
}

static CALL_TYPES: Pool = Pool {
    plain: &[
        r#""track""#,
        r#""track""#,
        r#""track""#,
        r#""page""#,
        r#""screen""#,
        r#""group""#,
        r#""identify""#,
        r#""alias""#,
        r#""manual""#,
        r#""ack""#,
        r#""other""#,
        "null",
    ],
    odd: &[r#""tr\u0061ck""#, "1", "{}"],
};

static IDS: Pool = Pool {
    plain: &[r#""a1""#, r#""a1""#, r#""u1""#, r#""""#, r#""é ü""#, "null"],
    odd: &[
        r#""a\"q""#,
        "42",
        "-7",
        "-0",
        "1.5",
        "1e2",
        "18446744073709551616",
        "true",
        "{}",
        r#"{"k":[1]}"#,
        "[1]",
    ],
};

static EVENTS: Pool = Pool {
    plain: &[
        r#""Login""#,
        r#""Order""#,
        r#""Page Viewed""#,
        r#""Feature Used""#,
        r#""Export Failed""#,
        r#""Ticket Opened""#,
        r#""NPS Submitted""#,
        r#""Nope""#,
        "null",
    ],
    odd: &[r#""Log\u0069n""#, "3"],
};

static STAMPS: Pool = Pool {
    plain: &[
        r#""2026-01-01T00:00:00Z""#,
        r#""2026-01-01T00:01:20.701Z""#,
        r#""2024-02-29T23:59:59.999Z""#,
        r#""2026-02-29T00:00:00.000Z""#,
        r#""2026-01-01T00:00:00.000Zx""#,
        r#""2026-01-01T00:00:00.123456789Z""#,
        r#""2026-01-01T01:00:00+01:00""#,
        r#""2026-01-01T00:00:00.5-05:30""#,
        r#""2026-01-01t00:00:00z""#,
        r#""2026-13-01T00:00:00Z""#,
        r#""2026-01-01 00:00:00Z""#,
        r#""yesterday""#,
        "1767225600000",
        "0",
        "9223372036854775807",
        "null",
    ],
    odd: &[
        r#""2026-01-01T00:00:00\u005a""#,
        "-0",
        "-5",
        "1.5e12",
        "9223372036854775808",
        "true",
        "{}",
        "[]",
    ],
};

/// Property and trait values: the scanner keeps them as text, so escapes
/// and any number are plain here.
const VALUES: &[&str] = &[
    r#""analytics""#,
    r#""billing""#,
    r#""f1""#,
    r#""high""#,
    r#""low""#,
    r#""timeout""#,
    r#""smb""#,
    r#""enterprise""#,
    r#""team""#,
    r#""a""#,
    r#""d""#,
    "7",
    "-3",
    "0",
    "10",
    "11",
    "2000",
    "12.5",
    r#""12.50""#,
    "1.1234567",
    "1e2",
    "-0",
    "true",
    "false",
    "null",
    r#""2026-06-30""#,
    r#""2026-02-30""#,
    r#""2026-01-01T00:00:00Z""#,
    "1767225600000",
    r#""Europe/Paris""#,
    r#""Mars/Base""#,
    r#""a\nb""#,
    r#""\ud800""#,
    r#""caf\u00e9""#,
    r#""\"q\"""#,
    "[1,2]",
    r#"{"x":1}"#,
];

static FIELD_KEYS: Pool = Pool {
    plain: &[
        "product",
        "product",
        "total",
        "coupon",
        "at",
        "count",
        "ok",
        "step",
        "feature",
        "priority",
        "reason",
        "score",
        "plan",
        "seats",
        "arr",
        "tz",
        "renewal",
        "opted_out",
        "sla",
        "started",
        "label",
        "other",
    ],
    odd: &["pr\\u006fduct", "x\\\"y"],
};

static TEXTS: Pool = Pool {
    plain: &[r#""done""#, r#""csm""#, r#""ann""#, r#""  ""#, "null"],
    odd: &[r#""e\u0031""#, "1"],
};

static OTHER_KEYS: Pool = Pool {
    plain: &[
        "integrations",
        "sentAt",
        "version",
        "",
        "é",
        "types",
        "tokens",
    ],
    odd: &["typ\\u0065", "x\\\"y"],
};

const KNOWN_KEYS: &[&str] = &[
    "type",
    "messageId",
    "userId",
    "anonymousId",
    "groupId",
    "event",
    "name",
    "properties",
    "traits",
    "context",
    "timestamp",
    "originalTimestamp",
    "receivedAt",
    "subject",
    "to",
    "role",
    "actor",
    "reason",
    "override",
    "escalation",
];

fn ws() -> impl Strategy<Value = &'static str> {
    prop_oneof![8 => Just(""), 2 => Just(" "), 1 => Just("\n\t "), 1 => Just("\r\n")]
}

fn object(entries: Vec<(String, &str, String, &str)>) -> String {
    let entries: Vec<String> = entries
        .into_iter()
        .map(|(k, a, v, b)| format!("{a}\"{k}\"{b}:{a}{v}{b}"))
        .collect();
    format!("{{{}}}", entries.join(","))
}

/// Any JSON value, nested a few levels, with whitespace between tokens.
fn value() -> impl Strategy<Value = String> {
    let scalar = prop_oneof![
        select(VALUES).prop_map(String::from),
        IDS.pick(),
        STAMPS.pick()
    ];
    scalar.prop_recursive(4, 24, 4, |inner| {
        let key = prop_oneof![
            FIELD_KEYS.pick(),
            OTHER_KEYS.pick(),
            select(KNOWN_KEYS).prop_map(String::from)
        ];
        prop_oneof![
            prop::collection::vec((ws(), inner.clone(), ws()), 0..4).prop_map(|items| {
                let items: Vec<String> =
                    items.iter().map(|(a, v, b)| format!("{a}{v}{b}")).collect();
                format!("[{}]", items.join(","))
            }),
            prop::collection::vec((key, ws(), inner, ws()), 0..4).prop_map(object),
        ]
    })
}

/// `properties` or `traits`: mostly objects of declared-looking keys.
fn fields() -> impl Strategy<Value = String> {
    let entry = (
        FIELD_KEYS.pick(),
        ws(),
        prop_oneof![6 => select(VALUES).prop_map(String::from), 1 => value()],
        ws(),
    );
    prop_oneof![
        12 => prop::collection::vec(entry, 0..4).prop_map(object),
        1 => select(vec!["null", "[]", "\"x\"", "3"]).prop_map(String::from),
    ]
}

fn context() -> impl Strategy<Value = String> {
    let entry = (
        prop_oneof![
            2 => Just("groupId".to_string()),
            1 => OTHER_KEYS.pick(),
            1 => Just("traits".to_string()),
        ],
        ws(),
        prop_oneof![IDS.pick(), value()],
        ws(),
    );
    prop_oneof![
        12 => prop::collection::vec(entry, 0..4).prop_map(object),
        1 => select(vec!["null", "[]", "\"x\""]).prop_map(String::from),
    ]
}

/// A value for a top-level key, of the kind that key usually has.
fn value_for(key: &str) -> BoxedStrategy<String> {
    let usual = match key {
        "type" => CALL_TYPES.pick().boxed(),
        "messageId" | "userId" | "anonymousId" | "groupId" | "subject" => IDS.pick().boxed(),
        "event" | "name" => EVENTS.pick().boxed(),
        "properties" | "traits" => fields().boxed(),
        "context" => context().boxed(),
        "timestamp" | "originalTimestamp" | "receivedAt" => STAMPS.pick().boxed(),
        "override" => prop_oneof![
            8 => select(vec!["true", "false", "null"]),
            1 => Just("1"),
        ]
        .prop_map(String::from)
        .boxed(),
        "to" | "role" | "actor" | "reason" | "escalation" => TEXTS.pick().boxed(),
        _ => value().boxed(),
    };
    prop_oneof![30 => usual, 1 => value()].boxed()
}

fn entry() -> impl Strategy<Value = (String, String)> {
    prop_oneof![1 => select(KNOWN_KEYS).prop_map(String::from), 2 => OTHER_KEYS.pick()]
        .prop_flat_map(|key| {
            let value = value_for(&key);
            (Just(key), value)
        })
}

/// A Segment-like call: the usual fields most of the time, some others
/// (a known one may come twice), in any order, with whitespace anywhere.
fn line() -> impl Strategy<Value = String> {
    let usual = |key: &'static str, p: f64| {
        prop::option::weighted(p, value_for(key).prop_map(move |v| (key.to_string(), v)))
    };
    (
        (
            usual("type", 0.95),
            usual("timestamp", 0.9),
            usual("messageId", 0.8),
            usual("groupId", 0.7),
            usual("userId", 0.5),
            usual("event", 0.7),
            usual("properties", 0.7),
            usual("traits", 0.3),
            usual("context", 0.3),
        ),
        prop::collection::vec(entry(), 0..3),
    )
        .prop_flat_map(|((a, b, c, d, e, f, g, h, i), extra)| {
            let mut entries: Vec<(String, String)> =
                [a, b, c, d, e, f, g, h, i].into_iter().flatten().collect();
            entries.extend(extra);
            (
                Just(entries).prop_shuffle(),
                prop::collection::vec(ws(), 3),
                prop::collection::vec(ws(), 64),
            )
        })
        .prop_map(|(entries, ends, spaces)| {
            let mut space = spaces.iter().cycle();
            let mut next = || *space.next().unwrap_or(&"");
            let entries: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("{}\"{k}\"{}:{}{v}{}", next(), next(), next(), next()))
                .collect();
            format!("{}{{{}{}}}{}", ends[0], entries.join(","), ends[1], ends[2])
        })
}

/// Edits that break a line in the ways scanners get wrong.
#[derive(Debug, Clone)]
enum Edit {
    Truncate(prop::sample::Index),
    Delete(prop::sample::Index),
    Insert(prop::sample::Index, &'static str),
    Duplicate(
        prop::sample::Index,
        prop::sample::Index,
        prop::sample::Index,
    ),
}

const INSERTS: &[&str] = &[
    "\"",
    "\\",
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    " ",
    "0",
    "-",
    "e",
    ".",
    "n",
    "\t",
    "\u{1}",
    "\u{1f}",
    "\u{7f}",
    "é",
    "\\u",
    "\"type\":\"track\",",
    "\"timestamp\":0,",
    ",\"x\":1",
];

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        any::<prop::sample::Index>().prop_map(Edit::Truncate),
        any::<prop::sample::Index>().prop_map(Edit::Delete),
        (any::<prop::sample::Index>(), select(INSERTS)).prop_map(|(i, s)| Edit::Insert(i, s)),
        (
            any::<prop::sample::Index>(),
            any::<prop::sample::Index>(),
            any::<prop::sample::Index>()
        )
            .prop_map(|(a, b, c)| Edit::Duplicate(a, b, c)),
    ]
}

/// A char boundary of `s` picked by `i` (the end included).
fn boundary(s: &str, i: &prop::sample::Index) -> usize {
    let bounds: Vec<usize> = (0..=s.len()).filter(|&b| s.is_char_boundary(b)).collect();
    bounds[i.index(bounds.len())]
}

fn apply(mut line: String, edits: &[Edit]) -> String {
    for edit in edits {
        match edit {
            Edit::Truncate(i) => line.truncate(boundary(&line, i)),
            Edit::Delete(i) => {
                let at = boundary(&line, i);
                if at < line.len() {
                    line.remove(at);
                }
            }
            Edit::Insert(i, s) => line.insert_str(boundary(&line, i), s),
            Edit::Duplicate(a, b, c) => {
                let (a, b) = (boundary(&line, a), boundary(&line, b));
                let piece = line[a.min(b)..a.max(b)].to_string();
                line.insert_str(boundary(&line, c), &piece);
            }
        }
    }
    line
}

#[test]
fn generated_lines_agree() {
    let mut runner = TestRunner::new(config(3000));
    let taken = std::cell::Cell::new(0u32);
    runner
        .run(&line(), |line| {
            if compare(&line).map_err(TestCaseError::fail)? {
                taken.set(taken.get() + 1);
            }
            Ok(())
        })
        .expect("fast path and serde_json agree");
    // The generator mostly writes lines the scanner should take.
    assert!(taken.get() > 1000, "fast path took {} of 3000", taken.get());
}

/// `line` without whitespace between tokens, as most SDKs write a call: the
/// form the scanner reads on its compact path.
fn compact(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in line.chars() {
        if in_string {
            (in_string, escaped) = (escaped || c != '"', !escaped && c == '\\');
        } else if matches!(c, ' ' | '\t' | '\n' | '\r') {
            continue;
        } else {
            in_string = c == '"';
        }
        out.push(c);
    }
    out
}

#[test]
fn compact_lines_agree() {
    assert_eq!(
        compact(" { \"a\" : \" b\\\" \\\\\" ,\r\n\"c\": [1 , 2] }"),
        "{\"a\":\" b\\\" \\\\\",\"c\":[1,2]}"
    );
    let mut runner = TestRunner::new(config(3000));
    let taken = std::cell::Cell::new(0u32);
    runner
        .run(&line().prop_map(|line| compact(&line)), |line| {
            if compare(&line).map_err(TestCaseError::fail)? {
                taken.set(taken.get() + 1);
            }
            Ok(())
        })
        .expect("fast path and serde_json agree");
    assert!(taken.get() > 1000, "fast path took {} of 3000", taken.get());
}

#[test]
fn edited_compact_lines_agree() {
    let mut runner = TestRunner::new(config(3000));
    runner
        .run(
            &(
                line().prop_map(|line| compact(&line)),
                prop::collection::vec(edit(), 1..4),
            ),
            |(line, edits)| {
                compare(&apply(line, &edits)).map_err(TestCaseError::fail)?;
                Ok(())
            },
        )
        .expect("fast path and serde_json agree");
}

#[test]
fn edited_lines_agree() {
    let mut runner = TestRunner::new(config(3000));
    runner
        .run(
            &(line(), prop::collection::vec(edit(), 1..4)),
            |(line, edits)| {
                compare(&apply(line, &edits)).map_err(TestCaseError::fail)?;
                Ok(())
            },
        )
        .expect("fast path and serde_json agree");
}
