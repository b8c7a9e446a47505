//! Report generation for 1,000,000 accounts.
//!
//! ```sh
//! cargo bench -p stagecraft-report --bench report_1m            # 1,000,000 accounts
//! cargo bench -p stagecraft-report --bench report_1m -- 100000  # fewer
//! ```
//!
//! Writes a synthetic outcomes file (the lifecycle playbook of
//! `tests/report/lifecycle/`: entries, automatic and manual stage changes,
//! actions emitted, suppressed, deferred and held out, errored rules, go-live
//! placements) in event-time order, then times one streaming report over it
//! and each rendering. The file is kept in the target directory, so the
//! same file can be given to `stagecraft report` (the path is printed).
//! It measures; it asserts nothing about time.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use stagecraft_report::format;
use stagecraft_report::{report_from_reader, PlaybookInfo, ReportOptions};

const DAY: i64 = 86_400_000;
const T0: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One record to write: time, account, what.
#[derive(Clone, Copy)]
struct Item {
    time: i64,
    account: u32,
    what: u8,
}

// What: 0 entered trial, 1 placed active, 2 trial->onboarding,
// 3 onboarding->active, 4 active->at_risk, 5 at_risk->churned,
// 6 manual trial->active, 7 welcome emitted, 8 tip suppressed (cooldown),
// 9 report tips suppressed (cap), 10 save offer held out, 11 save offer
// deferred, 12 errored, 13 onboarding->at_risk.
fn generate(accounts: u32, path: &PathBuf) -> std::io::Result<u64> {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut items: Vec<Item> = Vec::with_capacity(accounts as usize * 6);
    for a in 0..accounts {
        let mut t = T0 + rng.below(150 * DAY as u64) as i64;
        let push = |items: &mut Vec<Item>, time: i64, what: u8| {
            items.push(Item {
                time,
                account: a,
                what,
            })
        };
        if rng.below(50) == 0 {
            push(&mut items, t - rng.below(200 * DAY as u64) as i64, 1);
            continue;
        }
        push(&mut items, t, 0);
        push(&mut items, t, 7);
        if rng.below(4) == 0 {
            push(&mut items, t + 3_600_000, 8);
        }
        let r = rng.below(100);
        if r < 3 {
            push(&mut items, t + DAY, 6);
            continue;
        }
        if r < 25 {
            if rng.below(20) == 0 {
                push(&mut items, t + 2 * DAY, 12);
            }
            continue; // stays in trial
        }
        t += 3_600_000 + rng.below(10 * DAY as u64) as i64;
        push(&mut items, t, 2);
        if rng.below(10) == 0 {
            push(&mut items, t + 600_000, 9);
        }
        t += 3_600_000 + rng.below(20 * DAY as u64) as i64;
        if r < 85 {
            push(&mut items, t, 3);
            if r < 60 {
                continue;
            }
            t += rng.below(40 * DAY as u64) as i64;
            push(&mut items, t, 4);
        } else {
            push(&mut items, t, 13);
        }
        push(&mut items, t, if rng.below(2) == 0 { 10 } else { 11 });
        if rng.below(2) == 0 {
            t += rng.below(30 * DAY as u64) as i64;
            push(&mut items, t, 5);
        }
    }
    items.sort_by_key(|i| (i.time, i.account));
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let fmt = stagecraft::runtime::time::format;
    let mut line = 0u64;
    for i in &items {
        line += 1;
        let subject = format!("acct-{:07}", i.account);
        let time = fmt(i.time);
        let event = |name: &str| {
            format!(
                "{{\"by\":\"event\",\"event\":\"{name}\",\"message_id\":\"m{line}\",\"line\":{line}}}"
            )
        };
        let key = format!("{:016x}", (u64::from(i.account) << 20) ^ line);
        let text = match i.what {
            0 => format!("{{\"kind\":\"entered\",\"subject\":\"{subject}\",\"time\":\"{time}\",\"stage\":\"trial\",\"cause\":{}}}", event("Login")),
            1 => format!("{{\"kind\":\"entered\",\"subject\":\"{subject}\",\"time\":\"{time}\",\"stage\":\"active\",\"cause\":{{\"by\":\"request\",\"line\":{line}}}}}"),
            2 => format!("{{\"kind\":\"transition\",\"subject\":\"{subject}\",\"time\":\"{time}\",\"from\":\"trial\",\"rule\":\"transition trial -> onboarding when integrated and logins_7d >= 3\",\"time_in_from\":\"2d\",\"to\":\"onboarding\",\"transition\":2,\"cause\":{}}}", event("Login")),
            3 => format!("{{\"kind\":\"transition\",\"subject\":\"{subject}\",\"time\":\"{time}\",\"from\":\"onboarding\",\"rule\":\"transition onboarding -> active when reports_30d >= 2 and health >= 60\",\"time_in_from\":\"5d\",\"to\":\"active\",\"transition\":3,\"cause\":{}}}", event("Report Run")),
            4 => format!("{{\"kind\":\"transition\",\"subject\":\"{subject}\",\"time\":\"{time}\",\"from\":\"active\",\"rule\":\"transition trial, onboarding, active -> at_risk when health < 40\",\"time_in_from\":\"9d\",\"to\":\"at_risk\",\"transition\":4,\"cause\":{}}}", event("Ticket Opened")),
            13 => format!("{{\"kind\":\"transition\",\"subject\":\"{subject}\",\"time\":\"{time}\",\"from\":\"onboarding\",\"rule\":\"transition trial, onboarding, active -> at_risk when health < 40\",\"time_in_from\":\"9d\",\"to\":\"at_risk\",\"transition\":4,\"cause\":{}}}", event("Ticket Opened")),
            5 => format!("{{\"kind\":\"transition\",\"subject\":\"{subject}\",\"time\":\"{time}\",\"from\":\"at_risk\",\"rule\":\"transition any -> churned on \\\"Subscription Cancelled\\\"\",\"time_in_from\":\"3d\",\"to\":\"churned\",\"transition\":1,\"cause\":{}}}", event("Subscription Cancelled")),
            6 => format!("{{\"kind\":\"transition\",\"subject\":\"{subject}\",\"time\":\"{time}\",\"from\":\"trial\",\"rule\":\"manual\",\"time_in_from\":\"1d\",\"to\":\"active\",\"role\":\"csm\",\"actor\":\"dana@example.com\",\"reason\":\"Kick-off done\",\"cause\":{{\"by\":\"request\",\"line\":{line}}}}}"),
            7 => format!("{{\"kind\":\"action\",\"subject\":\"{subject}\",\"time\":\"{time}\",\"action\":\"send\",\"channel\":\"email\",\"idempotency_key\":\"{key}\",\"rule\":\"welcome\",\"status\":\"emitted\",\"template\":\"welcome\",\"cause\":{}}}", event("Login")),
            8 => format!("{{\"kind\":\"action\",\"subject\":\"{subject}\",\"time\":\"{time}\",\"action\":\"send\",\"channel\":\"in_app\",\"idempotency_key\":\"{key}\",\"reason\":\"cooldown\",\"rule\":\"tip\",\"status\":\"suppressed\",\"template\":\"tip-of-the-day\",\"until\":\"{time}\",\"cause\":{}}}", event("Login")),
            9 => format!("{{\"kind\":\"action\",\"subject\":\"{subject}\",\"time\":\"{time}\",\"action\":\"send\",\"cap\":\"messages 3 per 1d\",\"channel\":\"email\",\"idempotency_key\":\"{key}\",\"reason\":\"cap\",\"rule\":\"report_tips\",\"status\":\"suppressed\",\"template\":\"report-tips\",\"cause\":{}}}", event("Report Run")),
            10 => format!("{{\"kind\":\"action\",\"subject\":\"{subject}\",\"time\":\"{time}\",\"action\":\"send\",\"channel\":\"email\",\"idempotency_key\":\"{key}\",\"reason\":\"holdout\",\"rule\":\"save_offer\",\"status\":\"held_out\",\"template\":\"save-offer\",\"cause\":{}}}", event("Ticket Opened")),
            11 => format!("{{\"kind\":\"action\",\"subject\":\"{subject}\",\"time\":\"{time}\",\"action\":\"send\",\"channel\":\"email\",\"deliver_at\":\"{time}\",\"idempotency_key\":\"{key}\",\"reason\":\"quiet_hours\",\"rule\":\"save_offer\",\"status\":\"deferred\",\"template\":\"save-offer\",\"cause\":{}}}", event("Ticket Opened")),
            _ => format!("{{\"kind\":\"errored\",\"subject\":\"{subject}\",\"time\":\"{time}\",\"error\":\"division by zero\",\"name\":\"heavy_usage\",\"site\":\"rule\",\"cause\":{}}}", event("Usage")),
        };
        out.write_all(text.as_bytes())?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(line)
}

fn main() {
    let accounts: u32 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let dir = target.join("report-bench");
    std::fs::create_dir_all(&dir).expect("target dir");
    let path = dir.join(format!("outcomes-{accounts}.ndjson"));
    let started = Instant::now();
    let records = generate(accounts, &path).expect("write outcomes");
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!(
        "generated {records} records for {accounts} accounts ({:.0} MiB) in {:.1}s: {}",
        size as f64 / 1_048_576.0,
        started.elapsed().as_secs_f64(),
        path.display()
    );

    let playbook = root.join("tests/report/lifecycle/playbook.playbook");
    let text = std::fs::read_to_string(&playbook).expect("playbook");
    let checked = stagecraft::Source::new(playbook.display().to_string(), text)
        .check()
        .expect("playbook checks");
    let info = PlaybookInfo::from_program(&checked.program);

    let started = Instant::now();
    let file = std::fs::File::open(&path).expect("open");
    let reader = std::io::BufReader::with_capacity(1 << 20, file);
    let builder = report_from_reader(reader, Some(info), ReportOptions::default()).expect("read");
    let read = started.elapsed().as_secs_f64();
    let report = builder.finish();
    let total = started.elapsed().as_secs_f64();
    println!(
        "report: {} accounts, {} records: read {read:.2}s, figures {:.2}s, total {total:.2}s",
        report.accounts,
        report.input.records,
        total - read
    );
    for (name, f) in [
        ("table", format::Format::Table),
        ("json", format::Format::Json),
        ("csv", format::Format::Csv),
        ("html", format::Format::Html),
    ] {
        let started = Instant::now();
        let text = format::render(&report, f);
        println!(
            "  {name}: {} KiB in {:.3}s",
            text.len() / 1024,
            started.elapsed().as_secs_f64()
        );
    }
    println!(
        "the command: stagecraft report --outcomes {} --playbook {} --format html --out report.html",
        path.display(),
        playbook.display()
    );
}
