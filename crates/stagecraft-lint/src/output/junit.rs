//! JUnit XML: one test case per file; each finding at or above the file's
//! fail level is a `<failure>`; findings below it are listed in the test
//! case's `<system-out>`.

use super::region;
use crate::FileReport;

fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

pub fn junit(reports: &[FileReport]) -> String {
    let tests = reports.len();
    let failures: usize = reports.iter().filter(|r| r.fails()).count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites name=\"stagecraft lint\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\">\n"
    ));
    out.push_str(&format!(
        "  <testsuite name=\"stagecraft lint\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\">\n"
    ));
    for r in reports {
        out.push_str(&format!(
            "    <testcase name=\"{}\" classname=\"stagecraft.lint\">\n",
            xml(&r.file)
        ));
        let mut below = Vec::new();
        for f in &r.findings {
            let ((line, col), _) = region(&r.source, f);
            let mut body = format!(
                "{}:{line}:{col}: {} {} ({}): {}",
                r.file, f.level, f.code, f.rule, f.message
            );
            if let Some(help) = &f.help {
                body.push_str("\nhelp: ");
                body.push_str(help);
            }
            if f.level >= r.fail_level {
                out.push_str(&format!(
                    "      <failure message=\"{}\" type=\"{}\">{}</failure>\n",
                    xml(&format!("{}: {}", f.code, f.message)),
                    xml(&f.code),
                    xml(&body)
                ));
            } else {
                below.push(body);
            }
        }
        if !below.is_empty() {
            out.push_str(&format!(
                "      <system-out>{}</system-out>\n",
                xml(&below.join("\n"))
            ));
        }
        out.push_str("    </testcase>\n");
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}
