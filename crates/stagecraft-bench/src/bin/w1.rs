//! `w1`: the W1 reference workload.
//!
//! ```text
//! w1 gen --out FILE [--seed N] [--accounts N] [--events N]
//! w1 run --impl reference|interp|jit --file FILE
//! w1 bench --file FILE [--runs N]
//! w1 phases --file FILE [--impl interp|jit]
//! ```
//!
//! `run` runs one implementation in this process and prints the output of
//! WORKLOAD.md (clarification 13) and `metric` lines. `bench` runs every
//! implementation as a subprocess (so peak memory is per implementation),
//! checks their counts and checksums against the reference and prints a
//! table.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::Instant;

use stagecraft_bench::gen::{self, Params};
use stagecraft_bench::w1::{self, Implementation};
use stagecraft_bench::{engine, reference};

const USAGE: &str = "usage:
  w1 gen --out FILE [--seed N] [--accounts N] [--events N]
  w1 run --impl reference|interp|jit --file FILE
  w1 bench --file FILE [--runs N]
  w1 phases --file FILE [--impl interp|jit]   (profiling: time per phase)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("gen") => options(&args[1..]).and_then(|o| cmd_gen(&o)),
        Some("run") => options(&args[1..]).and_then(|o| cmd_run(&o)),
        Some("bench") => options(&args[1..]).and_then(|o| cmd_bench(&o)),
        Some("phases") => options(&args[1..]).and_then(|o| cmd_phases(&o)),
        Some("-h" | "--help") => {
            println!("{USAGE}");
            Ok(())
        }
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("w1: {e}");
            ExitCode::FAILURE
        }
    }
}

fn options(args: &[String]) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    let mut iter = args.iter();
    while let Some(a) = iter.next() {
        let name = a
            .strip_prefix("--")
            .ok_or_else(|| format!("unexpected argument `{a}`\n{USAGE}"))?;
        let (name, value) = match name.split_once('=') {
            Some((n, v)) => (n.to_string(), v.to_string()),
            None => (
                name.to_string(),
                iter.next()
                    .ok_or_else(|| format!("--{name} needs a value"))?
                    .clone(),
            ),
        };
        out.insert(name, value);
    }
    Ok(out)
}

fn number(o: &BTreeMap<String, String>, name: &str, default: u64) -> Result<u64, String> {
    match o.get(name) {
        None => Ok(default),
        Some(v) => v
            .replace('_', "")
            .parse()
            .map_err(|_| format!("--{name}: `{v}` is not a number")),
    }
}

fn required<'a>(o: &'a BTreeMap<String, String>, name: &str) -> Result<&'a str, String> {
    o.get(name)
        .map(String::as_str)
        .ok_or_else(|| format!("--{name} is required\n{USAGE}"))
}

fn check_known(o: &BTreeMap<String, String>, known: &[&str]) -> Result<(), String> {
    match o.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(format!("unknown option --{k}\n{USAGE}")),
        None => Ok(()),
    }
}

fn cmd_gen(o: &BTreeMap<String, String>) -> Result<(), String> {
    check_known(o, &["out", "seed", "accounts", "events"])?;
    let defaults = Params::default();
    let params = Params {
        seed: number(o, "seed", defaults.seed)?,
        accounts: number(o, "accounts", defaults.accounts)?,
        events: number(o, "events", defaults.events)?,
    };
    let path = PathBuf::from(required(o, "out")?);
    let started = Instant::now();
    let file = std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let stats = gen::generate(&params, file)?;
    eprintln!(
        "wrote {} lines ({} accounts, seed {}) to {} in {:.2}s, {} .. {}",
        stats.lines,
        stats.accounts,
        params.seed,
        path.display(),
        started.elapsed().as_secs_f64(),
        w1::timestamp_string(stats.first_ms),
        w1::timestamp_string(stats.last_ms)
    );
    Ok(())
}

fn cmd_run(o: &BTreeMap<String, String>) -> Result<(), String> {
    check_known(o, &["impl", "file"])?;
    let name = required(o, "impl")?;
    let implementation = Implementation::parse(name)
        .ok_or_else(|| format!("--impl: `{name}` is not reference, interp or jit"))?;
    let path = PathBuf::from(required(o, "file")?);
    // One-time setup before the clock: compiling the playbook.
    let prepared = match implementation {
        Implementation::Reference => None,
        other => Some(engine::Prepared::new(other)?),
    };
    let rss_start = w1::proc_status_kb("VmRSS").unwrap_or(0);
    let cpu_start = w1::cpu_seconds();
    let started = Instant::now();
    let counts = match &prepared {
        None => reference::run_file(&path)?,
        Some(p) => p.run_file(&path)?,
    };
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = cpu_start
        .zip(w1::cpu_seconds())
        .map(|(a, b)| b - a)
        .filter(|c| *c > 0.0);
    let peak = w1::proc_status_kb("VmHWM").unwrap_or(0);
    print!("{}", counts.render());
    println!("metric lines {}", counts.lines);
    println!("metric accounts {}", counts.accounts);
    println!("metric elapsed_s {elapsed:.3}");
    println!("metric events_per_s {:.0}", counts.lines as f64 / elapsed);
    if let Some(cpu) = cpu {
        // Less sensitive than wall time to a busy shared machine.
        println!("metric cpu_s {cpu:.2}");
        println!("metric events_per_cpu_s {:.0}", counts.lines as f64 / cpu);
    }
    println!("metric rss_start_kb {rss_start}");
    println!("metric peak_rss_kb {peak}");
    println!(
        "metric bytes_per_account {:.0}",
        (peak.saturating_sub(rss_start) * 1024) as f64 / counts.accounts.max(1) as f64
    );
    Ok(())
}

/// One `w1 run` subprocess: the compared output, and the metrics.
struct RunOutput {
    result: String,
    metrics: BTreeMap<String, f64>,
}

fn run_subprocess(implementation: Implementation, file: &str) -> Result<RunOutput, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current executable: {e}"))?;
    let output = Command::new(exe)
        .args(["run", "--impl", implementation.name(), "--file", file])
        .output()
        .map_err(|e| format!("spawning `w1 run`: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "`w1 run --impl {}` failed ({}):\n{}{}",
            implementation.name(),
            output.status,
            stdout,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let mut result = String::new();
    let mut metrics = BTreeMap::new();
    for line in stdout.lines() {
        match line.strip_prefix("metric ") {
            Some(m) => {
                if let Some((k, v)) = m.split_once(' ') {
                    if let Ok(v) = v.parse::<f64>() {
                        metrics.insert(k.to_string(), v);
                    }
                }
            }
            None => {
                result.push_str(line);
                result.push('\n');
            }
        }
    }
    Ok(RunOutput { result, metrics })
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Lines of `a` and `b` that differ, side by side.
fn diff(expected: &str, actual: &str) -> String {
    let parse = |s: &str| -> BTreeMap<String, String> {
        s.lines()
            .filter_map(|l| {
                let (k, v) = l.rsplit_once(' ')?;
                Some((k.to_string(), v.to_string()))
            })
            .collect()
    };
    let (e, a) = (parse(expected), parse(actual));
    let mut keys: Vec<&String> = e.keys().chain(a.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut out = String::new();
    for k in keys {
        let (ev, av) = (e.get(k), a.get(k));
        if ev != av {
            out.push_str(&format!(
                "  {k}: reference {}, got {}\n",
                ev.map_or("-", String::as_str),
                av.map_or("-", String::as_str)
            ));
        }
    }
    out
}

fn machine() -> String {
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let load = std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    format!("{nproc} CPU(s), {model}; load average {load}")
}

fn cmd_bench(o: &BTreeMap<String, String>) -> Result<(), String> {
    check_known(o, &["file", "runs"])?;
    let file = required(o, "file")?;
    let runs = number(o, "runs", 3)?.max(1);
    eprintln!("machine: {}", machine());
    let mut outputs: BTreeMap<&str, Vec<RunOutput>> = BTreeMap::new();
    // Interleaved, so that noise from the shared machine spreads evenly.
    for run in 1..=runs {
        for implementation in Implementation::ALL {
            let out = run_subprocess(implementation, file)?;
            eprintln!(
                "run {run}/{runs} {:<9} {:>10.0} events/s  peak {:>8.0} kB",
                implementation.name(),
                out.metrics.get("events_per_s").copied().unwrap_or(f64::NAN),
                out.metrics.get("peak_rss_kb").copied().unwrap_or(f64::NAN)
            );
            outputs.entry(implementation.name()).or_default().push(out);
        }
    }
    let expected = outputs["reference"][0].result.clone();
    let mut mismatches = String::new();
    for implementation in Implementation::ALL {
        for (i, out) in outputs[implementation.name()].iter().enumerate() {
            if out.result != expected {
                mismatches.push_str(&format!(
                    "{} (run {}) differs from the reference:\n{}",
                    implementation.name(),
                    i + 1,
                    diff(&expected, &out.result)
                ));
            }
        }
    }
    let metric = |name: &str, m: &str| -> f64 {
        median(
            outputs[name]
                .iter()
                .filter_map(|o| o.metrics.get(m).copied())
                .collect(),
        )
    };
    let lines = metric("reference", "lines");
    let accounts = metric("reference", "accounts");
    println!(
        "W1 bench: {file} ({lines:.0} lines, {accounts:.0} accounts), median of {runs} run(s) each"
    );
    println!("machine: {}", machine());
    println!();
    print!("{}", expected);
    println!();
    println!(
        "| impl      |    events/s | vs ref | elapsed s | events/CPU-s | vs ref | peak RSS MB | bytes/account | vs ref |"
    );
    println!(
        "|-----------|------------:|-------:|----------:|-------------:|-------:|------------:|--------------:|-------:|"
    );
    let ref_eps = metric("reference", "events_per_s");
    let ref_bpa = metric("reference", "bytes_per_account");
    let ref_cpu = metric("reference", "events_per_cpu_s");
    for implementation in Implementation::ALL {
        let name = implementation.name();
        let eps = metric(name, "events_per_s");
        let bpa = metric(name, "bytes_per_account");
        let cpu = metric(name, "events_per_cpu_s");
        println!(
            "| {:<9} | {:>11.0} | {:>5.2}x | {:>9.2} | {:>12.0} | {:>5.2}x | {:>11.1} | {:>13.0} | {:>5.2}x |",
            name,
            eps,
            eps / ref_eps,
            metric(name, "elapsed_s"),
            cpu,
            cpu / ref_cpu,
            metric(name, "peak_rss_kb") / 1024.0,
            bpa,
            bpa / ref_bpa
        );
    }
    if mismatches.is_empty() {
        println!();
        println!("all implementations match the reference (counts and checksum)");
        Ok(())
    } else {
        Err(format!("MISMATCH\n{mismatches}"))
    }
}

/// Times the phases of a run separately (CPU and wall), to see where the
/// Stagecraft path spends its time compared with the reference.
fn cmd_phases(o: &BTreeMap<String, String>) -> Result<(), String> {
    check_known(o, &["file", "impl"])?;
    let path = PathBuf::from(required(o, "file")?);
    let name = o.get("impl").map_or("interp", String::as_str);
    let implementation = Implementation::parse(name)
        .filter(|i| *i != Implementation::Reference)
        .ok_or_else(|| format!("--impl: `{name}` is not interp or jit"))?;
    let prepared = engine::Prepared::new(implementation)?;
    let time = |label: &str, f: &dyn Fn() -> Result<u64, String>| -> Result<f64, String> {
        let cpu0 = w1::cpu_seconds().unwrap_or(0.0);
        let started = Instant::now();
        let n = f()?;
        let wall = started.elapsed().as_secs_f64();
        let cpu = w1::cpu_seconds().unwrap_or(0.0) - cpu0;
        println!("{label:<44} cpu {cpu:>7.2}s  wall {wall:>7.2}s  ({n})");
        Ok(cpu)
    };
    let read = time("read lines only", &|| {
        w1::for_each_line(w1::open(&path)?, |_| Ok(()))
    })?;
    let ref_parse = time("reference: JSON parse only", &|| {
        reference::parse_only(w1::open(&path)?)
    })?;
    let reference = time("reference: full run", &|| {
        reference::run_file(&path).map(|c| c.total())
    })?;
    let ingest = time(&format!("{name}: ingest::parse_line only"), &|| {
        prepared.ingest_only(w1::open(&path)?)
    })?;
    let null = time(&format!("{name}: full run, sink ignores outcomes"), &|| {
        prepared.run_null_sink(w1::open(&path)?)
    })?;
    let full = time(&format!("{name}: full run, counting sink"), &|| {
        prepared.run_file(&path).map(|c| c.total())
    })?;
    println!();
    println!(
        "reference: parse {:.2}s, state and rules {:.2}s (CPU, read excluded)",
        ref_parse - read,
        reference - ref_parse
    );
    println!(
        "{name}: ingest {:.2}s, engine after ingest {:.2}s, counting sink {:.2}s (CPU, read excluded)",
        ingest - read,
        null - ingest,
        full - null
    );
    Ok(())
}
