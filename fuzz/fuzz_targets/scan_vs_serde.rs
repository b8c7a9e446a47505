//! The ingest scanner against serde_json on fuzzer-made lines: whenever the
//! scanner (its compact path or its general one) takes a line, it must give
//! exactly what serde_json gives, and reading the line from a chunk must
//! give what reading it alone gives, ending at its `\n`. Nothing may panic.
//!
//! Run with `cargo +nightly fuzz run scan_vs_serde` from `fuzz/`. Seeding
//! the corpus with `examples/events/*.ndjson` (split into lines or not)
//! reaches the usual shapes at once.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use stagecraft::ir::Program;
use stagecraft::runtime::ingest::{parse_line_at, parse_line_fast, parse_line_serde};
use stagecraft::runtime::symbols::Symbols;
use stagecraft::Source;

/// W1, and a playbook whose events carry money, enums, ints and strings.
fn programs() -> &'static [Program; 2] {
    static PROGRAMS: OnceLock<[Program; 2]> = OnceLock::new();
    PROGRAMS.get_or_init(|| {
        let check = |name: &str, text: &str| {
            let checked = Source::new(name, text)
                .check()
                .unwrap_or_else(|_| panic!("{name} checks"));
            (*checked.program).clone()
        };
        [
            check("w1.playbook", include_str!("../../examples/w1.playbook")),
            check(
                "ecommerce-lifecycle.playbook",
                include_str!("../../examples/ecommerce-lifecycle.playbook"),
            ),
        ]
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let line = text.split('\n').next().unwrap_or_default();
    for program in programs() {
        let mut serde_symbols = Symbols::new(&program.strings);
        let expected = parse_line_serde(line, program, &mut serde_symbols);
        let mut symbols = Symbols::new(&program.strings);
        let alone = parse_line_fast(line, program, &mut symbols);
        if let Some(fast) = &alone {
            assert_eq!(fast, &expected, "scanner and serde_json differ on {line:?}");
            assert_eq!(
                symbols.len(),
                serde_symbols.len(),
                "symbols differ on {line:?}"
            );
        }
        let mut symbols = Symbols::new(&program.strings);
        let in_chunk = parse_line_at(text, program, &mut symbols);
        assert_eq!(
            in_chunk,
            alone.map(|parsed| (line.len(), parsed)),
            "a chunk and the line alone differ on {text:?}"
        );
    }
});
