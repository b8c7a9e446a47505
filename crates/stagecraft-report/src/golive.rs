//! Go-live: placing existing customers in their current stage before the
//! first event (`stagecraft run --accounts FILE`).
//!
//! The accounts file is CSV with a header (`account`, `stage`, `entered_at`
//! and one column per trait, in any order) or NDJSON
//! (`{"account": .., "stage": .., "entered_at": .., "traits": {..}}`). Every
//! row is checked before anything is placed: a row that cannot be placed is
//! a dead letter with its line number and reason, never skipped silently.
//! `stage` may be empty (the initial stage); `entered_at` (RFC 3339, a date
//! for its midnight UTC, or epoch milliseconds) is required. Trait values are
//! checked like `group` traits (type, range, enum values); an empty CSV cell
//! leaves the trait at its default.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use serde_json::value::RawValue;
use stagecraft::ir::{FieldDef, Program, Type};
use stagecraft::runtime::symbols::Symbols;
use stagecraft::runtime::{ingest, time, DeadLetter, Engine, Sink};

/// What go-live did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GoLive {
    pub placed: u64,
    pub by_stage: BTreeMap<String, u64>,
    /// Rows written as dead letters.
    pub rejected: u64,
}

impl std::fmt::Display for GoLive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let stages: Vec<String> = self
            .by_stage
            .iter()
            .map(|(s, n)| format!("{s} {n}"))
            .collect();
        write!(
            f,
            "go-live: placed {} account(s){}; {} row(s) dead-lettered",
            self.placed,
            if stages.is_empty() {
                String::new()
            } else {
                format!(" ({})", stages.join(", "))
            },
            self.rejected
        )
    }
}

/// Dead-letter categories of go-live rows.
pub mod category {
    pub const UNPARSABLE: &str = "account_unparsable";
    pub const MISSING_ACCOUNT: &str = "account_missing";
    pub const DUPLICATE: &str = "account_duplicate";
    pub const UNKNOWN_STAGE: &str = "account_unknown_stage";
    pub const BAD_TIME: &str = "account_bad_time";
    pub const BAD_TRAIT: &str = "account_bad_trait";
    pub const NOT_PLACED: &str = "account_not_placed";
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountsFormat {
    Csv,
    Ndjson,
}

impl AccountsFormat {
    /// By extension: `.ndjson`/`.jsonl`/`.json` are NDJSON, anything else CSV.
    pub fn of(path: &Path) -> AccountsFormat {
        match path.extension().and_then(|e| e.to_str()) {
            Some("ndjson" | "jsonl" | "json") => AccountsFormat::Ndjson,
            _ => AccountsFormat::Csv,
        }
    }
}

/// A row as read, before checking.
#[derive(Debug, Clone)]
struct Row {
    line: u64,
    raw: String,
    account: Option<String>,
    stage: Option<String>,
    entered_at: Option<Result<i64, String>>,
    /// Trait name and its value as JSON text.
    traits: Vec<(String, String)>,
}

/// A checked row, ready to place.
#[derive(Debug, Clone)]
struct Placement {
    line: u64,
    raw: String,
    account: String,
    stage: Option<String>,
    entered_at: i64,
    traits: Vec<(u32, Option<i64>)>,
}

/// Splits CSV text into records (quoted fields may hold commas, quotes as
/// `""` and line breaks), each with the line it starts on.
pub fn parse_csv(text: &str) -> Result<Vec<(u64, Vec<String>)>, String> {
    let mut rows = Vec::new();
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut line = 1u64;
    let mut start = 1u64;
    let mut chars = text.chars().peekable();
    let mut at_field_start = true;
    let mut any = false;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                '\n' => {
                    line += 1;
                    field.push(c);
                }
                c => field.push(c),
            }
            continue;
        }
        match c {
            '"' if at_field_start => {
                quoted = true;
                at_field_start = false;
                any = true;
            }
            ',' => {
                fields.push(std::mem::take(&mut field));
                at_field_start = true;
                any = true;
            }
            '\r' => {}
            '\n' => {
                if any || !field.is_empty() {
                    fields.push(std::mem::take(&mut field));
                    rows.push((start, std::mem::take(&mut fields)));
                }
                line += 1;
                start = line;
                at_field_start = true;
                any = false;
            }
            c => {
                field.push(c);
                at_field_start = false;
                any = true;
            }
        }
    }
    if quoted {
        return Err(format!(
            "a quoted field opened on line {start} is never closed"
        ));
    }
    if any || !field.is_empty() {
        fields.push(field);
        rows.push((start, fields));
    }
    Ok(rows)
}

/// RFC 3339, a date (its midnight UTC) or epoch milliseconds.
fn parse_entered_at(text: &str) -> Result<i64, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("`entered_at` is required".into());
    }
    if let Some(ms) = time::parse_rfc3339(t) {
        return Ok(ms);
    }
    if let Some(d) = time::parse_date(t) {
        return Ok(d.saturating_mul(time::MILLIS_PER_DAY));
    }
    if let Ok(ms) = t.parse::<i64>() {
        return Ok(ms);
    }
    Err(format!(
        "`entered_at` `{}` is not an RFC 3339 time, a date or epoch milliseconds",
        ingest::truncate(t, 40)
    ))
}

/// The JSON text of a CSV cell for a trait of this type.
fn cell_json(cell: &str, ty: Type) -> String {
    let quoted = || serde_json::Value::String(cell.to_string()).to_string();
    let number = |s: &str| {
        let digits = s.strip_prefix('-').unwrap_or(s);
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
    };
    match ty {
        Type::Bool if cell == "true" || cell == "false" => cell.to_string(),
        Type::Int | Type::Duration | Type::Timestamp if number(cell) => cell.to_string(),
        _ => quoted(),
    }
}

fn read_csv(text: &str, program: &Program) -> Result<Vec<Row>, String> {
    let records = parse_csv(text)?;
    let Some(((_, header), rows)) = records.split_first() else {
        return Ok(Vec::new());
    };
    let header: Vec<String> = header.iter().map(|h| h.trim().to_string()).collect();
    let column = |name: &str| header.iter().position(|h| h == name);
    let account = column("account").ok_or("the header has no `account` column")?;
    let (stage, entered_at) = (column("stage"), column("entered_at"));
    let mut traits = Vec::new();
    let mut seen = HashSet::new();
    for (i, h) in header.iter().enumerate() {
        if !seen.insert(h.as_str()) {
            return Err(format!("the header names `{h}` twice"));
        }
        if matches!(h.as_str(), "account" | "stage" | "entered_at") {
            continue;
        }
        match program.traits.iter().position(|t| t.name == *h) {
            Some(t) => traits.push((i, t)),
            None => {
                return Err(format!(
                    "column `{h}` is not a trait of this playbook (traits: {})",
                    program
                        .traits
                        .iter()
                        .map(|t| t.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            }
        }
    }
    let lines: Vec<&str> = text.lines().collect();
    Ok(rows
        .iter()
        .map(|(line, cells)| {
            let cell = |i: Option<usize>| {
                i.and_then(|i| cells.get(i))
                    .map(|c| c.trim().to_string())
                    .filter(|c| !c.is_empty())
            };
            Row {
                line: *line,
                raw: lines
                    .get((*line - 1) as usize)
                    .map_or_else(String::new, |l| ingest::truncate(l, 1_000)),
                account: cell(Some(account)),
                stage: cell(stage),
                entered_at: Some(parse_entered_at(&cell(entered_at).unwrap_or_default())),
                traits: traits
                    .iter()
                    .filter_map(|(i, t)| {
                        let def = &program.traits[*t];
                        cell(Some(*i)).map(|v| (def.name.clone(), cell_json(&v, def.ty)))
                    })
                    .collect(),
            }
        })
        .collect())
}

fn read_ndjson(text: &str) -> Vec<Result<Row, DeadLetter>> {
    #[derive(serde::Deserialize)]
    struct Raw<'a> {
        account: Option<String>,
        stage: Option<String>,
        #[serde(borrow)]
        entered_at: Option<&'a RawValue>,
        #[serde(borrow)]
        traits: Option<std::collections::BTreeMap<String, &'a RawValue>>,
    }
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let line = i as u64 + 1;
            let raw: Raw = serde_json::from_str(l).map_err(|e| DeadLetter {
                line,
                category: category::UNPARSABLE.into(),
                reason: format!("not an accounts record: {e}"),
                raw: ingest::truncate(l, 1_000),
            })?;
            let entered_at = raw.entered_at.map(|v| {
                let text = v.get();
                match serde_json::from_str::<serde_json::Value>(text) {
                    Ok(serde_json::Value::String(s)) => parse_entered_at(&s),
                    Ok(serde_json::Value::Number(n)) => n
                        .as_i64()
                        .ok_or_else(|| format!("`entered_at` {n} is not epoch milliseconds")),
                    _ => Err(format!(
                        "`entered_at` {} is not a time",
                        ingest::truncate(text, 40)
                    )),
                }
            });
            Ok(Row {
                line,
                raw: ingest::truncate(l, 1_000),
                account: raw.account.filter(|a| !a.is_empty()),
                stage: raw.stage.filter(|s| !s.is_empty()),
                entered_at: Some(entered_at.unwrap_or_else(|| parse_entered_at(""))),
                traits: raw
                    .traits
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k, v.get().to_string()))
                    .collect(),
            })
        })
        .collect()
}

fn check(
    row: Row,
    program: &Program,
    symbols: &mut Symbols,
    seen: &mut HashSet<String>,
) -> Result<Placement, DeadLetter> {
    let dead = |category: &str, reason: String| DeadLetter {
        line: row.line,
        category: category.to_string(),
        reason,
        raw: row.raw.clone(),
    };
    let Some(account) = row.account.clone() else {
        return Err(dead(category::MISSING_ACCOUNT, "no account".into()));
    };
    if !seen.insert(account.clone()) {
        return Err(dead(
            category::DUPLICATE,
            format!("`{account}` is listed more than once"),
        ));
    }
    if let Some(stage) = &row.stage {
        if program.stage_id(stage).is_none() {
            return Err(dead(
                category::UNKNOWN_STAGE,
                format!(
                    "`{stage}` is not a stage of this playbook (stages: {})",
                    program
                        .stages
                        .iter()
                        .map(|s| s.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
    }
    let entered_at = match row.entered_at.clone() {
        Some(Ok(t)) => t,
        Some(Err(e)) => return Err(dead(category::BAD_TIME, e)),
        None => return Err(dead(category::BAD_TIME, "`entered_at` is required".into())),
    };
    let mut traits = Vec::new();
    for (name, json) in &row.traits {
        let Some(index) = program.traits.iter().position(|t| t.name == *name) else {
            return Err(dead(
                category::BAD_TRAIT,
                format!("`{name}` is not a trait of this playbook"),
            ));
        };
        let def: &FieldDef = &program.traits[index];
        let raw = RawValue::from_string(json.clone()).map_err(|e| {
            dead(
                category::BAD_TRAIT,
                format!("trait `{name}`: not a JSON value: {e}"),
            )
        })?;
        match ingest::convert(raw.get(), def, program, symbols) {
            Ok(value) => traits.push((index as u32, value)),
            Err(e) => return Err(dead(category::BAD_TRAIT, format!("trait `{name}`: {e}"))),
        }
    }
    Ok(Placement {
        line: row.line,
        raw: row.raw,
        account,
        stage: row.stage,
        entered_at,
        traits,
    })
}

/// Checks every row, writes the bad ones as dead letters, and places the
/// rest. Fails (before placing anything) only when the file as a whole is
/// unusable (a CSV header naming an unknown trait, an unclosed quote).
pub fn place_accounts(
    engine: Engine,
    text: &str,
    format: AccountsFormat,
    sink: &mut dyn Sink,
) -> Result<(Engine, GoLive), String> {
    let program = engine.program().clone();
    let rows: Vec<Result<Row, DeadLetter>> = match format {
        AccountsFormat::Csv => read_csv(text, &program)?.into_iter().map(Ok).collect(),
        AccountsFormat::Ndjson => read_ndjson(text),
    };
    let mut symbols = engine.symbols().clone();
    let mut seen = HashSet::new();
    let entered: HashSet<&str> = engine
        .subjects()
        .iter()
        .filter(|s| s.entered)
        .map(|s| &*s.key)
        .collect();
    let mut summary = GoLive::default();
    let mut placements = Vec::new();
    for row in rows {
        let checked = row.and_then(|r| {
            if r.account.as_deref().is_some_and(|a| entered.contains(a)) {
                return Err(DeadLetter {
                    line: r.line,
                    category: category::NOT_PLACED.into(),
                    reason: format!(
                        "`{}` is already in the lifecycle",
                        r.account.as_deref().unwrap_or("")
                    ),
                    raw: r.raw.clone(),
                });
            }
            check(r, &program, &mut symbols, &mut seen)
        });
        match checked {
            Ok(p) => placements.push(p),
            Err(dead) => {
                summary.rejected += 1;
                sink.dead_letter(dead);
            }
        }
    }
    drop(entered);
    let mut engine = engine;
    // The rows' strings were interned into a copy of the engine's table,
    // which only grew: it replaces the engine's.
    *engine.symbols_mut() = symbols;
    for p in placements {
        match engine.place(
            &p.account,
            &p.traits,
            p.stage.as_deref(),
            p.entered_at,
            sink,
        ) {
            Ok(()) => {
                summary.placed += 1;
                let stage = p.stage.clone().unwrap_or_else(|| {
                    program.stages[program.initial_stage() as usize]
                        .name
                        .clone()
                });
                *summary.by_stage.entry(stage).or_default() += 1;
            }
            Err(reason) => {
                summary.rejected += 1;
                sink.dead_letter(DeadLetter {
                    line: p.line,
                    category: category::NOT_PLACED.into(),
                    reason,
                    raw: p.raw,
                });
            }
        }
    }
    Ok((engine, summary))
}

/// Reads the accounts file (format by extension) and places its accounts.
pub fn place_file(
    engine: Engine,
    path: &Path,
    sink: &mut dyn Sink,
) -> Result<(Engine, GoLive), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    place_accounts(engine, &text, AccountsFormat::of(path), sink)
        .map_err(|e| format!("`{}`: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_commas_and_line_breaks() {
        let rows =
            parse_csv("a,b\n\"x, y\",\"say \"\"hi\"\"\"\n\n\"two\nlines\",z\r\n").expect("csv");
        assert_eq!(
            rows,
            vec![
                (1, vec!["a".to_string(), "b".to_string()]),
                (2, vec!["x, y".to_string(), "say \"hi\"".to_string()]),
                (4, vec!["two\nlines".to_string(), "z".to_string()]),
            ]
        );
        assert!(parse_csv("a\n\"open").is_err());
    }
}
