//! Front-end fuzz target: arbitrary bytes, read as UTF-8 (lossily), are
//! parsed and, when they parse, checked. Neither step may panic, and every
//! reported error must point inside the source on character boundaries.
//!
//! Run from the repository root with `cargo fuzz run parse_check`; seed the
//! corpus with `examples/*.playbook` and `tests/invalid/*.playbook`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fn assert_span(source: &str, start: usize, end: usize, code: &str) {
    assert!(
        start <= end && end <= source.len(),
        "{code}: span {start}..{end} is outside the source ({} bytes)",
        source.len()
    );
    assert!(
        source.is_char_boundary(start) && source.is_char_boundary(end),
        "{code}: span {start}..{end} splits a character"
    );
}

fn code_of(diagnostic: &dyn miette::Diagnostic) -> String {
    diagnostic.code().map(|c| c.to_string()).unwrap_or_default()
}

fuzz_target!(|data: &[u8]| {
    let source = String::from_utf8_lossy(data);
    let source: &str = &source;
    match stagecraft_syntax::parse(source) {
        Err(errors) => {
            assert!(!errors.is_empty(), "a failed parse reports an error");
            for error in &errors {
                let span = error.span();
                assert_span(source, span.start, span.end, &code_of(error));
            }
        }
        Ok(playbook) => {
            if let Err(errors) = stagecraft_check::check(source, &playbook) {
                assert!(!errors.is_empty(), "a failed check reports an error");
                for error in &errors {
                    let code = code_of(error);
                    for label in miette::Diagnostic::labels(error).into_iter().flatten() {
                        assert_span(source, label.offset(), label.offset() + label.len(), &code);
                    }
                }
            }
        }
    }
});
