//! Analysis time on a generated 1,000-rule playbook. Not a timed assertion
//! (shared CI machines vary): run it and read the figures with
//!
//! ```sh
//! cargo test --release -p stagecraft-lint --test scale -- --ignored --nocapture
//! ```

use std::fmt::Write;
use std::time::Instant;

use stagecraft::Source;
use stagecraft_lint::{lint_source, run_rules, Settings};

struct Rng(u64);

impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// A playbook with `rules` rules over 20 events, 40 metrics, 4 scores, 10
/// segments, 12 stages and 40 transitions.
pub fn generate(rules: usize) -> String {
    let mut r = Rng(7);
    let mut s = String::new();
    s.push_str("playbook \"generated\" { language 1; version \"1\"; subject account }\n");
    s.push_str("traits {\n  plan: enum { starter, growth, business, enterprise } = starter\n  seats: int in 1..100000 = 1\n  arr: money in 0..100000000 = 0\n  timezone: timezone = \"UTC\"\n  renewal: date?\n}\n");
    for e in 0..20 {
        let _ = writeln!(
            s,
            "event \"E{e}\" {{ n: int in 0..1000, kind: enum {{ a, b, c }}, note: string? }}"
        );
    }
    for m in 0..40 {
        let e = m % 20;
        let _ = match m % 4 {
            0 => writeln!(s, "metric m{m} = count \"E{e}\" over {}d", 1 + m % 30),
            1 => writeln!(s, "metric m{m} = sum \"E{e}\".n over 30d"),
            2 => writeln!(s, "metric m{m} = count \"E{e}\" where event.kind == b"),
            _ => writeln!(s, "metric m{m} = latest \"E{e}\".n default 0"),
        };
    }
    for k in 0..4 {
        let _ = writeln!(
            s,
            "score s{k} in 0..100 = 50 \"base\" + 5 * min(m{}, 5) \"a\" - 3 * min(m{}, 5) \"b\"",
            k * 4,
            k * 4 + 2
        );
    }
    for g in 0..10 {
        let _ = writeln!(
            s,
            "segment g{g} = seats >= {} and plan != starter or s{} > {}",
            g * 10,
            g % 4,
            40 + g
        );
    }
    s.push_str("stages {\n");
    for st in 0..12 {
        let flag = match st {
            0 => " initial",
            11 => " terminal",
            _ => "",
        };
        let _ = writeln!(s, "  st{st}{flag},");
    }
    s.push_str("}\n");
    s.push_str("transition any -> st11 on \"E19\"\n");
    for t in 0..39 {
        let from = t % 10;
        let to = from + 1 + (t / 10) % 2;
        let _ = match t % 3 {
            0 => writeln!(
                s,
                "transition st{from} -> st{to} on \"E{}\" where event.n > {}",
                t % 19,
                t * 7
            ),
            1 => writeln!(
                s,
                "transition st{from} -> st{to} when m{} >= {} and s{} < {}",
                t % 40,
                t % 9,
                t % 4,
                30 + t
            ),
            _ => writeln!(
                s,
                "transition st{from} -> st{to} after {}d in stage",
                10 + t
            ),
        };
    }
    for i in 0..rules {
        let e = r.next(19);
        let trigger = match r.next(4) {
            0 => format!(
                "on \"E{e}\" where event.n >= {} and event.kind != c",
                r.next(900)
            ),
            1 => format!(
                "when m{} > {} and (s{} < {} or g{})",
                r.next(40),
                r.next(20),
                r.next(4),
                20 + r.next(60),
                r.next(10)
            ),
            2 => format!("after {}d in stage st{}", 1 + r.next(20), r.next(11)),
            _ => format!("when s{} crosses below {}", r.next(4), 10 + r.next(80)),
        };
        let stage = if r.next(3) == 0 {
            format!(" in stage st{}, st{}", r.next(11), r.next(11))
        } else {
            String::new()
        };
        let seg = if r.next(4) == 0 {
            format!(" for g{}", r.next(10))
        } else {
            String::new()
        };
        let cool = if r.next(2) == 0 {
            format!(" cooldown {}d", 1 + r.next(14))
        } else {
            String::new()
        };
        let action = match r.next(3) {
            0 => format!(
                "send email \"t{i}\" with context(m{}, s{})",
                r.next(40),
                r.next(4)
            ),
            1 => format!(
                "create task for csm \"task {i}\" due 2d with {{ n: m{} }}",
                r.next(40)
            ),
            _ => format!("update crm \"f{i}\" = m{}", r.next(40)),
        };
        let _ = writeln!(
            s,
            "rule r{i} {trigger}{stage}{seg}{cool} {{\n  {action}\n}}"
        );
    }
    s.push_str("policy {\n  cap messages 5 per 7d\n  cap touches 3 per 24h\n  quiet hours 20:00..08:00 local\n}\n");
    s
}

#[test]
fn generated_playbook_checks() {
    let text = generate(50);
    let checked = Source::new("generated.playbook", text).check();
    assert!(checked.is_ok(), "the generator writes a valid playbook");
}

#[test]
#[ignore = "timing: run with --release --ignored --nocapture"]
fn thousand_rules() {
    let text = generate(1000);
    if let Ok(path) = std::env::var("STAGECRAFT_SCALE_OUT") {
        std::fs::write(path, &text).expect("writable");
    }
    let start = Instant::now();
    let checked = match Source::new("generated.playbook", text.clone()).check() {
        Ok(c) => c,
        Err((source, rejection)) => panic!(
            "{}",
            rejection
                .render("generated.playbook", &source.text, false)
                .join("\n")
        ),
    };
    let check_time = start.elapsed();
    let mut best = f64::MAX;
    let mut findings = 0;
    for _ in 0..5 {
        let start = Instant::now();
        findings = run_rules(&checked.ast, &checked.program, &text).len();
        best = best.min(start.elapsed().as_secs_f64());
    }
    let start = Instant::now();
    let report = lint_source("generated.playbook", &text, &Settings::default());
    let total = start.elapsed();
    eprintln!(
        "1,000 rules, {} lines: parse+check {:.1} ms; rules {:.1} ms (best of 5, {findings} findings); whole lint_source {:.1} ms ({} findings after suppressions and levels)",
        text.lines().count(),
        check_time.as_secs_f64() * 1e3,
        best * 1e3,
        total.as_secs_f64() * 1e3,
        report.findings.len()
    );
}
