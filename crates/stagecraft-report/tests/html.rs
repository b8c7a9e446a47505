//! The HTML report, read back with an XML parser: it is self-contained (no
//! scripts, styles, fonts or images from anywhere else) and the figures the
//! charts draw (`data-*` attributes) are the JSON report's.
//!
//! A second test renders it in headless Chromium; it runs only when the
//! crate is built with `STAGECRAFT_CHROMIUM` set (see `build.rs`).

mod common;

use std::collections::BTreeMap;

use common::SCENARIOS;
use quick_xml::events::Event;
use quick_xml::Reader;
use stagecraft_report::{format, Report};

/// Every element: name and attributes; and the text of each script.
struct Parsed {
    elements: Vec<(String, BTreeMap<String, String>)>,
    scripts: Vec<(BTreeMap<String, String>, String)>,
    styles: Vec<String>,
}

fn parse(html: &str) -> Parsed {
    let mut reader = Reader::from_str(html);
    reader.config_mut().check_end_names = true;
    let mut parsed = Parsed {
        elements: Vec::new(),
        scripts: Vec::new(),
        styles: Vec::new(),
    };
    let mut open: Vec<String> = Vec::new();
    loop {
        match reader.read_event().expect("well-formed markup") {
            ev @ (Event::Start(_) | Event::Empty(_)) => {
                let (e, empty) = match ev {
                    Event::Start(e) => (e, false),
                    Event::Empty(e) => (e, true),
                    _ => unreachable!(),
                };
                let name = String::from_utf8(e.name().as_ref().to_vec()).expect("utf-8");
                let attrs: BTreeMap<String, String> = e
                    .attributes()
                    .map(|a| {
                        let a = a.expect("attribute");
                        (
                            String::from_utf8(a.key.as_ref().to_vec()).expect("utf-8"),
                            a.unescape_value().expect("value").to_string(),
                        )
                    })
                    .collect();
                parsed.elements.push((name.clone(), attrs.clone()));
                if name == "script" {
                    parsed.scripts.push((attrs, String::new()));
                }
                if !empty {
                    open.push(name);
                }
            }
            Event::Text(t) => {
                let text = String::from_utf8(t.to_vec()).expect("utf-8");
                match open.last().map(String::as_str) {
                    Some("script") => {
                        if let Some(s) = parsed.scripts.last_mut() {
                            s.1.push_str(&text);
                        }
                    }
                    Some("style") => parsed.styles.push(text),
                    _ => {}
                }
            }
            Event::End(_) => {
                open.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    parsed
}

fn attr<'a>(attrs: &'a BTreeMap<String, String>, key: &str) -> &'a str {
    attrs.get(key).map_or("", String::as_str)
}

#[test]
fn html_is_self_contained_and_its_numbers_are_the_json_report() {
    for s in &SCENARIOS {
        let report = s.report();
        let html = format::html(&report);
        assert!(html.starts_with("<!DOCTYPE html>"));
        let parsed = parse(&html);

        // Nothing is loaded from elsewhere.
        for (name, attrs) in &parsed.elements {
            assert!(
                !matches!(
                    name.as_str(),
                    "link" | "img" | "iframe" | "object" | "embed"
                ),
                "{}: <{name}>",
                s.name
            );
            for key in ["src", "href", "srcset", "xlink:href", "action"] {
                if let Some(v) = attrs.get(key) {
                    assert!(
                        v.starts_with('#'),
                        "{}: <{name} {key}=\"{v}\"> points outside the file",
                        s.name
                    );
                }
            }
        }
        for style in &parsed.styles {
            assert!(
                !style.contains("@import") && !style.contains("url("),
                "{}",
                s.name
            );
        }
        for (i, _) in html.match_indices("http") {
            let around = &html[i.saturating_sub(7)..i];
            assert!(
                around.ends_with("xmlns=\""),
                "{}: a URL other than the SVG namespace at {i}",
                s.name
            );
        }

        // One script: the JSON data, equal to the report.
        assert_eq!(parsed.scripts.len(), 1, "{}", s.name);
        let (attrs, text) = &parsed.scripts[0];
        assert_eq!(attr(attrs, "type"), "application/json");
        assert_eq!(attr(attrs, "id"), format::DATA_BLOCK_ID);
        let data: Report = serde_json::from_str(text).expect("data block");
        assert_eq!(data, report, "{}", s.name);

        // The funnel bars: accounts that ever entered each stage.
        let bars: Vec<&BTreeMap<String, String>> = parsed
            .elements
            .iter()
            .filter(|(n, a)| n == "rect" && attr(a, "class") == "funnel-bar")
            .map(|(_, a)| a)
            .collect();
        assert_eq!(bars.len(), report.stages.len(), "{}", s.name);
        for (bar, stage) in bars.iter().zip(&report.stages) {
            assert_eq!(attr(bar, "data-stage"), stage.stage.name);
            assert_eq!(attr(bar, "data-reached"), stage.reached.to_string());
        }
        let conversions: Vec<&BTreeMap<String, String>> = parsed
            .elements
            .iter()
            .filter(|(n, a)| n == "text" && attr(a, "class") == "funnel-conversion")
            .map(|(_, a)| a)
            .collect();
        assert_eq!(conversions.len(), report.funnel.len());
        for (c, f) in conversions.iter().zip(&report.funnel) {
            assert_eq!(attr(c, "data-from"), f.from);
            assert_eq!(attr(c, "data-to"), f.to);
            assert_eq!(attr(c, "data-entered"), f.entered.to_string());
            assert_eq!(attr(c, "data-converted"), f.converted.to_string());
            assert_eq!(
                attr(c, "data-conversion").parse::<f64>().expect("number"),
                f.conversion
            );
        }

        // The distribution over time: one segment per non-zero count.
        let mut drawn: BTreeMap<(String, String), u64> = BTreeMap::new();
        for (n, a) in &parsed.elements {
            if n == "rect" && attr(a, "class") == "dist-bar" {
                let count: u64 = attr(a, "data-count").parse().expect("count");
                drawn.insert(
                    (
                        attr(a, "data-bucket").to_string(),
                        attr(a, "data-stage").to_string(),
                    ),
                    count,
                );
            }
        }
        let mut expected = BTreeMap::new();
        for series in &report.over_time.series {
            for (start, n) in report.over_time.starts.iter().zip(&series.counts) {
                if *n > 0 {
                    expected.insert((start.clone(), series.stage.clone()), *n);
                }
            }
        }
        assert_eq!(drawn, expected, "{}", s.name);

        // Time-in-stage histograms, for stages with completed stays.
        let mut hist: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        for (n, a) in &parsed.elements {
            if n == "rect" && attr(a, "class") == "hist-bar" {
                hist.entry(attr(a, "data-stage").to_string())
                    .or_default()
                    .push(attr(a, "data-count").parse().expect("count"));
            }
        }
        let expected: BTreeMap<String, Vec<u64>> = report
            .time_in_stage
            .stages
            .iter()
            .filter(|t| t.completed > 0)
            .map(|t| (t.stage.clone(), t.histogram.clone()))
            .collect();
        assert_eq!(hist, expected, "{}", s.name);
    }
}

#[test]
fn text_is_escaped() {
    let mut report = SCENARIOS[0].report();
    report
        .stuck
        .oldest
        .push(stagecraft_report::report::StuckAccount {
            subject: "<script>alert(\"x\")</script> & co".into(),
            stage: "onboarding".into(),
            since: "2026-01-01T00:00:00.000Z".into(),
            days: 40,
        });
    let html = format::html(&report);
    assert!(!html.contains("<script>alert"));
    let parsed = parse(&html);
    assert_eq!(parsed.scripts.len(), 1);
    let data: Report = serde_json::from_str(&parsed.scripts[0].1).expect("data block");
    assert_eq!(data, report);
}

/// Renders the HTML in headless Chromium: it must load without errors, keep
/// every chart (the DOM Chromium builds has the same marks), and the
/// screenshot must not be blank. With `STAGECRAFT_CHROMIUM=artifact`, the
/// screenshot is written to `tests/report/artifacts/report.png`.
#[test]
#[cfg_attr(
    not(stagecraft_chromium),
    ignore = "needs Chromium: build with STAGECRAFT_CHROMIUM=1 (apt-get install chromium)"
)]
fn renders_in_headless_chromium() {
    let s = &SCENARIOS[1];
    let report = s.report();
    let html = format::html(&report);
    let dir = std::env::temp_dir().join(format!("stagecraft-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let page = dir.join("report.html");
    std::fs::write(&page, &html).expect("write");
    let browser = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            std::process::Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .expect("a Chromium on PATH");
    let url = format!("file://{}", page.display());
    let common = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--hide-scrollbars",
    ];
    let dom = std::process::Command::new(browser)
        .args(common)
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .expect("chromium runs");
    assert!(dom.status.success());
    let dom = String::from_utf8_lossy(&dom.stdout);
    for class in ["funnel-bar", "dist-bar", "hist-bar"] {
        let needle = format!("class=\"{class}\"");
        assert_eq!(
            dom.matches(&needle).count(),
            html.matches(&needle).count(),
            "{class}"
        );
    }
    assert!(dom.contains(format::DATA_BLOCK_ID));

    let shot = dir.join("report.png");
    let status = std::process::Command::new(browser)
        .args(common)
        .arg("--window-size=1200,2300")
        .arg(format!("--screenshot={}", shot.display()))
        .arg(&url)
        .output()
        .expect("chromium runs");
    assert!(status.status.success());
    let png = std::fs::read(&shot).expect("screenshot");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    // A blank page of this size compresses to a few kilobytes; charts and
    // tables do not.
    assert!(png.len() > 40_000, "screenshot of {} bytes", png.len());
    if std::env::var("STAGECRAFT_CHROMIUM").as_deref() == Ok("artifact") {
        let target = common::root().join("tests/report/artifacts/report.png");
        std::fs::copy(&shot, target).expect("copy screenshot");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
