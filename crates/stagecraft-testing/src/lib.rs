//! Playbook tests: named cases in a `NAME.tests.yaml` file next to
//! `NAME.playbook`, each a timeline of inputs with expectations on the
//! outcomes. Every case runs on the interpreter and on the JIT (and fails if
//! they disagree); coverage of transitions, rules, milestones and clauses is
//! collected on the way. The format is documented in `docs/testing.md`.

pub mod coverage;
pub mod report;
pub mod run;
pub mod spec;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use stagecraft::{Backend, Source};

/// The suffix of test files.
pub const SUFFIX: &str = ".tests.yaml";

/// What to run.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Run only cases whose full name (`FILE::CASE`) contains this.
    pub filter: Option<String>,
    /// Collect coverage.
    pub coverage: bool,
}

/// The result of one case.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    pub name: String,
    /// `FILE::CASE`, where `FILE` is the test file's name without the suffix.
    pub full_name: String,
    pub passed: bool,
    pub failures: Vec<String>,
    /// The outcome records of a failed case, one line each.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub records: Vec<String>,
}

/// The result of one test file.
#[derive(Debug, Clone, Serialize)]
pub struct FileResult {
    pub test_file: String,
    pub playbook: String,
    /// Why the file could not run at all (a malformed test file, a playbook
    /// with errors).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// A note, e.g. the JIT was not available.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub cases: Vec<CaseResult>,
    pub filtered_out: usize,
}

/// Everything a `stagecraft test` run found.
#[derive(Debug, Clone, Serialize)]
pub struct SuiteResult {
    pub files: Vec<FileResult>,
    /// Coverage per playbook (with [`Options::coverage`]), including
    /// playbooks found without tests (at 0%).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub coverage: Vec<coverage::Report>,
    /// Playbooks found next to no test file.
    pub untested: Vec<String>,
}

impl SuiteResult {
    pub fn passed(&self) -> usize {
        self.cases().filter(|c| c.passed).count()
    }

    pub fn failed(&self) -> usize {
        self.cases().filter(|c| !c.passed).count() + self.errors()
    }

    /// Test files that could not run.
    pub fn errors(&self) -> usize {
        self.files.iter().filter(|f| f.error.is_some()).count()
    }

    pub fn filtered_out(&self) -> usize {
        self.files.iter().map(|f| f.filtered_out).sum()
    }

    pub fn cases(&self) -> impl Iterator<Item = &CaseResult> {
        self.files.iter().flat_map(|f| f.cases.iter())
    }

    /// Playbooks whose coverage is below `min` percent.
    pub fn below(&self, min: f64) -> Vec<&coverage::Report> {
        self.coverage
            .iter()
            .filter(|r| (r.covered() as f64) * 100.0 < min * r.total() as f64)
            .collect()
    }
}

/// The test files and playbooks under `paths`: directories are searched
/// (hidden directories and `target` skipped), a playbook stands for its test
/// file, a test file for itself.
pub fn discover(paths: &[PathBuf]) -> std::io::Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let mut tests = Vec::new();
    let mut playbooks = Vec::new();
    for path in paths {
        if path.is_dir() {
            collect(path, &mut tests, &mut playbooks)?;
        } else if path.extension().is_some_and(|e| e == "playbook") {
            playbooks.push(path.clone());
            let sibling = test_file_of(path);
            if sibling.is_file() {
                tests.push(sibling);
            }
        } else if path.is_file() {
            tests.push(path.clone());
        } else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("`{}` does not exist", path.display()),
            ));
        }
    }
    tests.sort();
    tests.dedup();
    playbooks.sort();
    playbooks.dedup();
    Ok((tests, playbooks))
}

fn collect(
    dir: &Path,
    tests: &mut Vec<PathBuf>,
    playbooks: &mut Vec<PathBuf>,
) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if path.is_dir() {
            if !name.starts_with('.') && name != "target" {
                collect(&path, tests, playbooks)?;
            }
        } else if name.ends_with(SUFFIX) {
            tests.push(path);
        } else if path.extension().is_some_and(|e| e == "playbook") {
            playbooks.push(path);
        }
    }
    Ok(())
}

/// `x/NAME.playbook` → `x/NAME.tests.yaml`.
pub fn test_file_of(playbook: &Path) -> PathBuf {
    let stem = playbook
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    playbook.with_file_name(format!("{stem}{SUFFIX}"))
}

/// `x/NAME.tests.yaml` → `NAME`.
pub fn test_stem(test_file: &Path) -> String {
    let name = test_file
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    name.strip_suffix(SUFFIX)
        .or_else(|| name.strip_suffix(".yaml"))
        .or_else(|| name.strip_suffix(".yml"))
        .unwrap_or(name)
        .to_string()
}

struct Loaded {
    checked: stagecraft::Checked,
    model: coverage::Model,
}

/// Runs test files and collects coverage.
pub fn run_suite(test_files: &[PathBuf], playbooks: &[PathBuf], options: &Options) -> SuiteResult {
    let mut files = Vec::new();
    let mut cov: BTreeMap<String, (coverage::Model, coverage::Hits)> = BTreeMap::new();
    let mut tested: Vec<PathBuf> = Vec::new();
    for path in test_files {
        let (result, loaded) = run_file(path, options, &mut cov);
        if let Some(p) = loaded {
            tested.push(p);
        }
        files.push(result);
    }
    let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let tested: Vec<PathBuf> = tested.iter().map(|p| canonical(p)).collect();
    let mut untested = Vec::new();
    for p in playbooks {
        if tested.contains(&canonical(p)) {
            continue;
        }
        let name = p.display().to_string();
        untested.push(name.clone());
        if options.coverage {
            if let Ok(text) = std::fs::read_to_string(p) {
                if let Ok(checked) = Source::new(name.clone(), text).check() {
                    let model = coverage::Model::new(
                        checked.program.clone(),
                        &checked.ast,
                        &checked.source.text,
                    );
                    let hits = model.empty_hits();
                    cov.entry(name).or_insert((model, hits));
                }
            }
        }
    }
    let coverage = if options.coverage {
        cov.iter()
            .map(|(name, (model, hits))| model.report(name, hits))
            .collect()
    } else {
        Vec::new()
    };
    SuiteResult {
        files,
        coverage,
        untested,
    }
}

fn run_file(
    path: &Path,
    options: &Options,
    cov: &mut BTreeMap<String, (coverage::Model, coverage::Hits)>,
) -> (FileResult, Option<PathBuf>) {
    let test_file = path.display().to_string();
    let stem = test_stem(path);
    let mut result = FileResult {
        test_file: test_file.clone(),
        playbook: String::new(),
        error: None,
        note: None,
        cases: Vec::new(),
        filtered_out: 0,
    };
    let sibling = path.with_file_name(format!("{stem}.playbook"));
    let spec = match std::fs::read_to_string(path) {
        Err(e) => Err(format!("cannot read the test file: {e}")),
        Ok(text) => spec::parse(&text).map_err(|e| format!("invalid test file: {e}")),
    };
    let spec = match spec {
        Ok(spec) => spec,
        Err(e) => {
            result.playbook = sibling.display().to_string();
            result.error = Some(e);
            return (result, Some(sibling));
        }
    };
    let playbook_path = match &spec.playbook {
        Some(p) => path.parent().unwrap_or(Path::new(".")).join(p),
        None => sibling,
    };
    result.playbook = playbook_path.display().to_string();
    let loaded = match load(&playbook_path) {
        Ok(l) => l,
        Err(e) => {
            result.error = Some(e);
            return (result, Some(playbook_path));
        }
    };
    let interp = loaded.checked.compile(Backend::Interpreter).compiled;
    let jit = loaded.checked.compile(Backend::Jit);
    result.note = jit
        .fallback
        .as_ref()
        .map(|why| format!("the JIT is not used ({why}): both runs use the interpreter"));
    let jit = jit.compiled;
    let key = result.playbook.clone();
    let (model, hits) = cov.entry(key).or_insert_with(|| {
        let hits = loaded.model.empty_hits();
        (loaded.model.clone(), hits)
    });
    let program = loaded.checked.program.clone();
    let per = program.subject_per.clone();
    for case in &spec.cases {
        let full_name = format!("{stem}::{}", case.name);
        if options
            .filter
            .as_deref()
            .is_some_and(|f| !full_name.contains(f))
        {
            result.filtered_out += 1;
            continue;
        }
        let mut failures = Vec::new();
        let mut records = Vec::new();
        match run::prepare(&spec, case, per.as_deref()) {
            Err(e) => failures.push(format!("the case is malformed: {e}")),
            Ok(prepared) => {
                let mut case_hits = model.empty_hits();
                let interp_out = run::execute(
                    &interp,
                    &prepared,
                    options.coverage.then_some((&*model, &mut case_hits)),
                );
                let jit_out = run::execute(&jit, &prepared, None);
                if let Some(why) = run::disagreement(&interp_out.records, &jit_out.records) {
                    failures.push(why);
                }
                failures.extend(run::check(case, &prepared, &program, &interp_out));
                if options.coverage {
                    model.record_outcomes(&mut case_hits, &interp_out.records);
                    merge(hits, &case_hits);
                }
                if !failures.is_empty() {
                    records = interp_out.records.iter().map(run::describe).collect();
                }
            }
        }
        result.cases.push(CaseResult {
            name: case.name.clone(),
            full_name,
            passed: failures.is_empty(),
            failures,
            records,
        });
    }
    (result, Some(playbook_path))
}

fn load(path: &Path) -> Result<Loaded, String> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read `{name}`: {e}"))?;
    match Source::new(name.clone(), text).check() {
        Ok(checked) => {
            let model =
                coverage::Model::new(checked.program.clone(), &checked.ast, &checked.source.text);
            Ok(Loaded { checked, model })
        }
        Err((source, rejection)) => {
            let rendered = rejection.render(&name, &source.text, false).join("");
            Err(format!(
                "`{name}` has {} error(s); run `stagecraft check {name}`\n{rendered}",
                rejection.len()
            ))
        }
    }
}

fn merge(into: &mut coverage::Hits, from: &coverage::Hits) {
    let or = |a: &mut Vec<bool>, b: &Vec<bool>| a.iter_mut().zip(b).for_each(|(x, y)| *x |= *y);
    or(&mut into.transitions, &from.transitions);
    or(&mut into.rules, &from.rules);
    or(&mut into.escalations, &from.escalations);
    or(&mut into.milestones_done, &from.milestones_done);
    or(&mut into.milestones_missed, &from.milestones_missed);
    for (a, b) in into.clauses.iter_mut().zip(&from.clauses) {
        for (x, y) in a.iter_mut().zip(b) {
            x.0 |= y.0;
            x.1 |= y.1;
        }
    }
}
