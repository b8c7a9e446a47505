//! Every lint rule has a page in `docs/diagnostics/` with the fixed
//! sections, listed in the index; the page's example triggers the rule, and
//! its fix lints clean.

use std::path::{Path, PathBuf};

use stagecraft_lint::{lint_source, registry, Settings};

fn docs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs")
}

fn playbook_blocks(page: &str) -> Vec<String> {
    page.split("```playbook\n")
        .skip(1)
        .filter_map(|rest| rest.split("```").next().map(str::to_string))
        .collect()
}

#[test]
fn every_rule_has_a_page() {
    let dir = docs().join("diagnostics");
    let index = std::fs::read_to_string(dir.join("README.md")).expect("index");
    let guide = std::fs::read_to_string(docs().join("lint.md")).expect("docs/lint.md");
    for rule in registry() {
        let code = rule.code();
        let page = std::fs::read_to_string(dir.join(format!("{code}.md")))
            .unwrap_or_else(|_| panic!("no page docs/diagnostics/{code}.md"));
        assert!(
            page.starts_with(&format!("# {code}: ")),
            "{code}.md starts with `# {code}: <title>`"
        );
        for section in [
            "**What**",
            "**Why**",
            "**Example**",
            "**Fix**",
            "**Configuration**",
        ] {
            assert!(page.contains(section), "{code}.md has no {section} section");
        }
        assert!(
            page.contains(&format!(
                "Rule `{}`, default level **{}**",
                rule.name(),
                rule.default_level()
            )),
            "{code}.md states the rule name and default level"
        );
        assert!(
            index.contains(&format!("[{code}]({code}.md)")),
            "the index does not link {code}"
        );
        assert!(guide.contains(code), "docs/lint.md does not list {code}");
        let blocks = playbook_blocks(&page);
        assert!(
            blocks.len() >= 2,
            "{code}.md needs an example and a fix `playbook` block"
        );
        let example = lint_source("example.playbook", &blocks[0], &Settings::default());
        assert!(
            example.findings.iter().any(|f| f.code == code),
            "the example of {code}.md does not report {code}: {:?}",
            example.findings
        );
        let fix = lint_source(
            "fix.playbook",
            &blocks[blocks.len() - 1],
            &Settings::default(),
        );
        assert!(
            fix.checked && fix.findings.is_empty(),
            "the fix in {code}.md is not clean: {:?}",
            fix.findings
        );
    }
}
