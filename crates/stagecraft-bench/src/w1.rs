//! What every W1 implementation shares: the action kinds, the checksum, the
//! output format (WORKLOAD.md clarifications 12 and 13), timestamps, and
//! how input is read (the same for every implementation).

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// The W1 stages, in the order of WORKLOAD.md (ids used by [`stage_kind`]).
pub const STAGES: [&str; 5] = ["onboarding", "adopting", "healthy", "at_risk", "churned"];
pub const ONBOARDING: u8 = 0;
pub const ADOPTING: u8 = 1;
pub const HEALTHY: u8 = 2;
pub const AT_RISK: u8 = 3;
pub const CHURNED: u8 = 4;

pub const TRIAGE: usize = 0;
pub const STALLED: usize = 1;
pub const SAVE_PLAY: usize = 2;
pub const SUPPRESSED_STALLED: usize = 3;
pub const SUPPRESSED_SAVE_PLAY: usize = 4;
/// Kinds: the five rule kinds, then `stage:<from>-><to>` for every pair.
pub const KINDS: usize = 5 + STAGES.len() * STAGES.len();

/// The kind id of `stage:<from>-><to>`.
pub const fn stage_kind(from: u8, to: u8) -> usize {
    5 + from as usize * STAGES.len() + to as usize
}

/// The name of every kind id.
pub fn kind_names() -> Vec<String> {
    let mut names: Vec<String> = [
        "triage",
        "stalled_integration",
        "save_play",
        "suppressed:stalled_integration",
        "suppressed:save_play",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for from in STAGES {
        for to in STAGES {
            names.push(format!("stage:{from}->{to}"));
        }
    }
    names
}

/// The kinds a W1 run can emit: the rule kinds and the nine transitions of
/// R4. The equivalence test asserts the generator makes each of them appear.
pub fn reachable_kinds() -> Vec<&'static str> {
    vec![
        "save_play",
        "stage:adopting->at_risk",
        "stage:adopting->churned",
        "stage:adopting->healthy",
        "stage:at_risk->adopting",
        "stage:at_risk->churned",
        "stage:healthy->at_risk",
        "stage:healthy->churned",
        "stage:onboarding->adopting",
        "stage:onboarding->churned",
        "stalled_integration",
        "suppressed:save_play",
        "suppressed:stalled_integration",
        "triage",
    ]
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0100_0000_01b3;

#[inline]
fn fnv_bytes(mut hash: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(FNV_PRIME);
    }
    hash
}

/// fnv1a64 of `<key>|<kind>|<ms>` (clarification 12), without building the
/// string.
#[inline]
pub fn action_hash(key: &[u8], kind: &[u8], ms: i64) -> u64 {
    let mut hash = fnv_bytes(FNV_OFFSET, key);
    hash = fnv_bytes(hash, b"|");
    hash = fnv_bytes(hash, kind);
    hash = fnv_bytes(hash, b"|");
    let mut digits = [0u8; 24];
    let n = format_int(ms, &mut digits);
    fnv_bytes(hash, &digits[..n])
}

/// Writes `v` in decimal at the start of `out`, returns the length.
#[inline]
pub fn format_int(v: i64, out: &mut [u8; 24]) -> usize {
    let mut tmp = [0u8; 24];
    let mut i = tmp.len();
    let negative = v < 0;
    let mut u = v.unsigned_abs();
    loop {
        i -= 1;
        tmp[i] = b'0' + (u % 10) as u8;
        u /= 10;
        if u == 0 {
            break;
        }
    }
    if negative {
        i -= 1;
        tmp[i] = b'-';
    }
    let n = tmp.len() - i;
    out[..n].copy_from_slice(&tmp[i..]);
    n
}

/// Counts per kind and the checksum: what every implementation produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counts {
    pub counts: [u64; KINDS],
    pub checksum: u64,
    /// Lines read (not part of the comparison).
    pub lines: u64,
    /// Distinct accounts (not part of the comparison).
    pub accounts: u64,
}

impl Default for Counts {
    fn default() -> Self {
        Counts {
            counts: [0; KINDS],
            checksum: 0,
            lines: 0,
            accounts: 0,
        }
    }
}

/// The kind names as bytes, indexed by kind id, for the checksum.
#[derive(Debug, Clone)]
pub struct KindTable {
    names: Vec<String>,
}

impl Default for KindTable {
    fn default() -> Self {
        KindTable {
            names: kind_names(),
        }
    }
}

impl KindTable {
    #[inline]
    pub fn name(&self, kind: usize) -> &[u8] {
        self.names[kind].as_bytes()
    }
}

impl Counts {
    /// Counts one action of `kind` for account `key` at `ms`.
    #[inline]
    pub fn add(&mut self, table: &KindTable, kind: usize, key: &str, ms: i64) {
        self.counts[kind] += 1;
        self.checksum =
            self.checksum
                .wrapping_add(action_hash(key.as_bytes(), table.name(kind), ms));
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    pub fn count(&self, kind: &str) -> u64 {
        kind_names()
            .iter()
            .position(|k| k == kind)
            .map_or(0, |i| self.counts[i])
    }

    /// The output of clarification 13: `count <kind> <n>` for every kind with
    /// n > 0 sorted bytewise by kind, then `total` and `checksum`.
    pub fn render(&self) -> String {
        let names = kind_names();
        let mut rows: Vec<(&str, u64)> = names
            .iter()
            .zip(self.counts.iter())
            .filter(|(_, n)| **n > 0)
            .map(|(k, n)| (k.as_str(), *n))
            .collect();
        rows.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        let mut out = String::new();
        for (kind, n) in rows {
            let _ = writeln!(out, "count {kind} {n}");
        }
        let _ = writeln!(out, "total {}", self.total());
        let _ = writeln!(out, "checksum {:016x}", self.checksum);
        out
    }
}

/// The implementations the bench knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Implementation {
    /// The hand-written reference (`reference.rs`).
    Reference,
    /// Stagecraft with the interpreter backend.
    Interp,
    /// Stagecraft with the Cranelift JIT backend.
    Jit,
}

impl Implementation {
    pub const ALL: [Implementation; 3] = [
        Implementation::Reference,
        Implementation::Interp,
        Implementation::Jit,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Implementation::Reference => "reference",
            Implementation::Interp => "interp",
            Implementation::Jit => "jit",
        }
    }

    pub fn parse(name: &str) -> Option<Implementation> {
        Implementation::ALL.into_iter().find(|i| i.name() == name)
    }
}

// ---------------------------------------------------------------- time

/// 2026-01-01T00:00:00Z in epoch milliseconds.
pub const T0_MS: i64 = 1_767_225_600_000;
pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 24 * HOUR_MS;

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[inline]
fn num(b: &[u8]) -> Option<i64> {
    let mut v = 0i64;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(c - b'0');
    }
    Some(v)
}

/// Parses an RFC 3339 UTC timestamp `YYYY-MM-DDTHH:MM:SS[.fff…]Z` (or with a
/// `±HH:MM` offset) to epoch milliseconds.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (y, mo, d) = (num(&b[0..4])?, num(&b[5..7])?, num(&b[8..10])?);
    let (h, mi, sec) = (num(&b[11..13])?, num(&b[14..16])?, num(&b[17..19])?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut rest = &b[19..];
    let mut ms = 0;
    if let [b'.', frac @ ..] = rest {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        let mut v = num(&frac[..n.min(3)])?;
        for _ in n..3 {
            v *= 10;
        }
        ms = v;
        rest = &frac[n..];
    }
    let offset_ms = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), oh1, oh2, b':', om1, om2] => {
            let v = (num(&[*oh1, *oh2])? * 60 + num(&[*om1, *om2])?) * 60_000;
            if *sign == b'+' {
                v
            } else {
                -v
            }
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo, d);
    Some(days * DAY_MS + h * HOUR_MS + mi * 60_000 + sec * 1_000 + ms - offset_ms)
}

/// Writes `ms` as `YYYY-MM-DDTHH:MM:SS.fffZ` (24 bytes).
pub fn format_timestamp(ms: i64, out: &mut [u8; 24]) {
    let days = ms.div_euclid(DAY_MS);
    let rem = ms.rem_euclid(DAY_MS);
    let (y, m, d) = civil_from_days(days);
    let put = |out: &mut [u8; 24], at: usize, v: i64, width: usize| {
        let mut v = v;
        for i in (0..width).rev() {
            out[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(out, 0, y, 4);
    out[4] = b'-';
    put(out, 5, m, 2);
    out[7] = b'-';
    put(out, 8, d, 2);
    out[10] = b'T';
    put(out, 11, rem / HOUR_MS, 2);
    out[13] = b':';
    put(out, 14, rem / 60_000 % 60, 2);
    out[16] = b':';
    put(out, 17, rem / 1_000 % 60, 2);
    out[19] = b'.';
    put(out, 20, rem % 1_000, 3);
    out[23] = b'Z';
}

pub fn timestamp_string(ms: i64) -> String {
    let mut buf = [0u8; 24];
    format_timestamp(ms, &mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

// ---------------------------------------------------------------- input

/// Reads `input` line by line through one reused buffer (1 MiB reads), and
/// calls `f` with each line without its line ending. Every implementation
/// reads its input this way. Returns the number of lines.
pub fn for_each_line<R: Read>(
    input: R,
    mut f: impl FnMut(&str) -> Result<(), String>,
) -> Result<u64, String> {
    let mut reader = BufReader::with_capacity(1 << 20, input);
    let mut buf: Vec<u8> = Vec::with_capacity(1024);
    let mut lines = 0u64;
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| format!("reading line {}: {e}", lines + 1))?;
        if n == 0 {
            return Ok(lines);
        }
        lines += 1;
        let mut end = buf.len();
        while end > 0 && matches!(buf[end - 1], b'\n' | b'\r') {
            end -= 1;
        }
        let line = std::str::from_utf8(&buf[..end])
            .map_err(|e| format!("line {lines} is not UTF-8: {e}"))?;
        f(line)?;
    }
}

pub fn open(path: &Path) -> Result<std::fs::File, String> {
    std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// CPU time (user + system) of this process in seconds, from
/// `/proc/self/stat` (assuming the usual 100 clock ticks per second).
pub fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// A field of `/proc/self/status` in kB (`VmRSS`, `VmHWM`); `None` where
/// there is no procfs.
pub fn proc_status_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|l| {
        let rest = l.strip_prefix(field)?.strip_prefix(':')?;
        rest.trim().trim_end_matches("kB").trim().parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip() {
        assert_eq!(parse_timestamp("2026-01-01T00:00:00.000Z"), Some(T0_MS));
        assert_eq!(parse_timestamp("2026-01-01T00:00:00Z"), Some(T0_MS));
        assert_eq!(
            parse_timestamp("2026-01-01T01:00:00.5+01:00"),
            Some(T0_MS + 500)
        );
        for ms in [T0_MS, T0_MS + 1, T0_MS + 90 * DAY_MS - 1, 951_782_400_123] {
            assert_eq!(parse_timestamp(&timestamp_string(ms)), Some(ms));
        }
        assert_eq!(
            timestamp_string(T0_MS + 59 * DAY_MS),
            "2026-03-01T00:00:00.000Z"
        );
    }

    #[test]
    fn checksum_matches_a_plain_fnv() {
        let text = b"a42|triage|1767225600000";
        let mut h = FNV_OFFSET;
        for b in text {
            h ^= u64::from(*b);
            h = h.wrapping_mul(FNV_PRIME);
        }
        assert_eq!(action_hash(b"a42", b"triage", 1_767_225_600_000), h);
        let mut buf = [0u8; 24];
        let n = format_int(-45, &mut buf);
        assert_eq!(&buf[..n], b"-45");
    }
}
