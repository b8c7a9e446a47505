//! Ingest cost per line over a sample of W1 lines: `parse_line` (the
//! scanner, falling back to serde_json) against the serde_json path alone,
//! for the ratio. `w1-sample.ndjson` is every 100th line of
//! `w1 gen --accounts 2000 --events 100000`; one iteration parses all 1000
//! lines, so the time per line is the reported time / 1000.
//!
//! `cargo bench -p stagecraft-runtime --bench ingest -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use stagecraft_ir::Program;
use stagecraft_runtime::ingest::{self, Input, Rejected};
use stagecraft_runtime::symbols::Symbols;

const PLAYBOOK: &str = include_str!("../../../examples/w1.playbook");
const SAMPLE: &str = include_str!("w1-sample.ndjson");

type Parse = fn(&str, &Program, &mut Symbols) -> Result<Input, Rejected>;

fn bench(c: &mut Criterion) {
    let ast = stagecraft_syntax::parse(PLAYBOOK).expect("w1 parses");
    let program = stagecraft_check::check(PLAYBOOK, &ast).expect("w1 checks");
    let lines: Vec<&str> = SAMPLE.lines().collect();
    let mut group = c.benchmark_group("ingest");
    group.throughput(Throughput::Elements(lines.len() as u64));
    let candidates: [(&str, Parse); 2] = [
        ("serde_json", ingest::parse_line_serde),
        ("parse_line", ingest::parse_line),
    ];
    for (name, parse) in candidates {
        let mut symbols = Symbols::new(&program.strings);
        group.bench_function(name, |b| {
            b.iter(|| {
                for line in &lines {
                    // By reference: moving the large result would be timed too.
                    black_box(&parse(black_box(line), &program, &mut symbols));
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
