//! `stagecraft explain`, one test per kind of reason, on the lifecycle
//! scenario (`tests/report/lifecycle/`): each `x-*` account there shows one.

mod common;

use common::{compile, read};
use stagecraft::runtime::Config;
use stagecraft_report::explain::{explain, holdout_bucket, human, Entry, Explanation};

const PLAYBOOK: &str = "tests/report/lifecycle/playbook.playbook";
const EVENTS: &str = "tests/report/lifecycle/events.ndjson";

fn run(account: &str) -> Explanation {
    let compiled = compile(PLAYBOOK);
    let events = read(EVENTS);
    let at = stagecraft::runtime::time::parse_rfc3339("2026-03-08T00:00:00Z");
    let (x, _) =
        explain(&compiled, Config::default(), events.as_bytes(), account, at).expect("explain");
    assert!(x.found, "{account} is in the events");
    x
}

fn record_str<'a>(e: &'a Entry, key: &str) -> &'a str {
    e.record
        .as_ref()
        .and_then(|r| r.get(key))
        .and_then(|v| v.as_str())
        .unwrap_or("")
}

fn actions<'a>(x: &'a Explanation, rule: &str) -> Vec<&'a Entry> {
    x.timeline
        .iter()
        .filter(|e| e.kind == "action" && record_str(e, "rule") == rule)
        .collect()
}

#[test]
fn transition_with_the_value_of_every_clause() {
    let x = run("x-transition");
    let t = x
        .timeline
        .iter()
        .find(|e| e.kind == "transition")
        .expect("a transition");
    assert_eq!(record_str(t, "from"), "trial");
    assert_eq!(record_str(t, "to"), "onboarding");
    assert_eq!(t.time, "2026-01-05T12:10:00.000Z");
    let c = t.condition.as_ref().expect("its condition");
    assert_eq!(c.source, "integrated and logins_7d >= 3");
    assert_eq!(c.value.value, true);
    assert_eq!(c.joiner.as_deref(), Some("and"));
    assert_eq!(c.clauses.len(), 2);
    assert_eq!(c.clauses[0].source, "integrated");
    assert_eq!(c.clauses[0].value.value, true);
    let logins = &c.clauses[1];
    assert_eq!(logins.source, "logins_7d >= 3");
    assert_eq!(
        logins.left.as_ref().map(|v| v.value.clone()),
        Some(3.into())
    );
    assert_eq!(logins.op.as_deref(), Some(">="));
    assert_eq!(
        logins.right.as_ref().map(|v| v.value.clone()),
        Some(3.into())
    );
    assert_eq!(logins.line(), "logins_7d >= 3 → 3 >= 3 = true");
    // The transitions tried before it in source order did not match.
    assert!(t
        .passed_over
        .iter()
        .all(|p| p.value.value == false && p.number < 2));
    // The score at that moment, component by component.
    let health = t
        .scores
        .iter()
        .find(|s| s.name == "health")
        .expect("health");
    assert_eq!(health.value.value, 65);
    let parts: Vec<(String, serde_json::Value)> = health
        .components
        .iter()
        .map(|c| (c.label.clone(), c.contribution.value.clone()))
        .collect();
    assert_eq!(
        parts,
        vec![
            ("baseline".to_string(), 50.into()),
            ("recent logins".to_string(), 15.into()),
            ("support tickets".to_string(), 0.into()),
        ]
    );
    // Before the third login it was one login short: a near miss.
    let near = x
        .near_misses
        .iter()
        .find(|n| n.kind == "transition" && n.name.contains("trial -> onboarding"))
        .expect("near miss");
    assert_eq!(near.times, 1);
    assert_eq!(near.misses[0].source, "logins_7d >= 3");
    assert_eq!(near.misses[0].by.value, 1);
    insta::assert_snapshot!("x_transition_human", human(&x));
}

#[test]
fn cap_with_the_cap_and_the_earlier_sends() {
    let x = run("x-cap");
    let tips = actions(&x, "report_tips");
    assert_eq!(tips.len(), 2);
    assert_eq!(record_str(tips[0], "status"), "emitted");
    let capped = tips[1];
    assert_eq!(record_str(capped, "status"), "suppressed");
    let why = capped.why.as_ref().expect("why");
    assert_eq!(why.reason, "cap");
    assert_eq!(why.cap.as_deref(), Some("messages 3 per 1d"));
    assert_eq!(
        why.window_start.as_deref(),
        Some("2026-01-04T13:20:00.000Z")
    );
    let earlier: Vec<(&str, &str, &str)> = why
        .earlier
        .iter()
        .map(|a| (a.time.as_str(), a.owner.as_str(), a.action.as_str()))
        .collect();
    assert_eq!(
        earlier,
        vec![
            (
                "2026-01-05T13:00:00.000Z",
                "welcome",
                "send email \"welcome\""
            ),
            (
                "2026-01-05T13:00:00.000Z",
                "tip",
                "send in_app \"tip-of-the-day\""
            ),
            (
                "2026-01-05T13:10:00.000Z",
                "report_tips",
                "send email \"report-tips\""
            ),
        ]
    );
    // The rule's condition held: it was the cap, not the rule.
    assert!(capped
        .trigger
        .as_deref()
        .unwrap_or("")
        .contains("Report Run"));
}

#[test]
fn once_and_cooldown() {
    let x = run("x-repeat");
    let welcome = actions(&x, "welcome");
    assert_eq!(welcome.len(), 2);
    let once = welcome[1].why.as_ref().expect("why");
    assert_eq!(once.reason, "once");
    assert_eq!(
        once.first_fired.as_deref(),
        Some("2026-01-05T14:00:00.000Z")
    );

    let tip = actions(&x, "tip");
    let cooldown = tip[1].why.as_ref().expect("why");
    assert_eq!(cooldown.reason, "cooldown");
    assert_eq!(
        cooldown.last_fired.as_deref(),
        Some("2026-01-05T14:00:00.000Z")
    );
    assert_eq!(cooldown.until.as_deref(), Some("2026-01-06T14:00:00.000Z"));
    assert!(cooldown.detail.contains("cooldown of 1d"));
}

#[test]
fn quiet_hours_with_the_delivery() {
    let x = run("x-quiet");
    let tips = actions(&x, "report_tips");
    assert_eq!(tips.len(), 2, "deferred, then delivered");
    assert_eq!(record_str(tips[0], "status"), "deferred");
    let why = tips[0].why.as_ref().expect("why");
    assert_eq!(why.reason, "quiet_hours");
    // 22:30 in New York; quiet until 07:00 local (12:00 UTC in January).
    assert_eq!(why.deliver_at.as_deref(), Some("2026-01-06T12:00:00.000Z"));
    assert_eq!(
        why.delivery.as_deref(),
        Some("emitted at 2026-01-06T12:00:00.000Z")
    );
    assert_eq!(record_str(tips[1], "status"), "emitted");
    assert_eq!(
        tips[1].trigger.as_deref(),
        Some("delivery after quiet hours")
    );
}

#[test]
fn holdout_with_the_bucket() {
    let account = "x-holdout-2";
    assert!(
        holdout_bucket("x-holdout", "save_offer") >= 5_000,
        "x-holdout is treated"
    );
    let x = run(account);
    let offer = actions(&x, "save_offer");
    assert_eq!(offer.len(), 1);
    assert_eq!(record_str(offer[0], "status"), "held_out");
    let why = offer[0].why.as_ref().expect("why");
    assert_eq!(why.reason, "holdout");
    assert_eq!(why.holdout_below, Some(5_000));
    let bucket = why.holdout_bucket.expect("bucket");
    assert!(bucket < 5_000);
    assert_eq!(bucket, holdout_bucket(account, "save_offer"));
    // Why the rule fired: health crossed below 40 (50 before, 35 now).
    let c = offer[0].condition.as_ref().expect("condition");
    assert_eq!(c.source, "health crosses below 40");
    assert_eq!(c.before.as_ref().map(|v| v.value.clone()), Some(50.into()));
    assert_eq!(c.left.as_ref().map(|v| v.value.clone()), Some(35.into()));
    assert_eq!(c.value.value, true);
}

#[test]
fn errored_rule_with_the_failing_clause() {
    let x = run("x-errored");
    let e = x
        .timeline
        .iter()
        .find(|e| e.kind == "errored")
        .expect("an errored record");
    assert_eq!(record_str(e, "site"), "rule");
    assert_eq!(record_str(e, "name"), "heavy_usage");
    assert_eq!(record_str(e, "error"), "division by zero");
    let c = e.condition.as_ref().expect("condition");
    assert_eq!(c.source, "usage_total / event.units >= 2");
    assert_eq!(c.value.error.as_deref(), Some("division by zero"));
    assert_eq!(c.right.as_ref().map(|v| v.value.clone()), Some(2.into()));
    assert_eq!(
        c.left.as_ref().and_then(|v| v.error.clone()).as_deref(),
        Some("division by zero")
    );
    assert!(actions(&x, "heavy_usage").is_empty());
}

#[test]
fn manual_moves_and_rejections() {
    let x = run("x-manual");
    let moved = x
        .timeline
        .iter()
        .find(|e| e.kind == "transition")
        .expect("manual move");
    assert_eq!(record_str(moved, "rule"), "manual");
    assert_eq!(
        record_str(moved, "reason"),
        "Signed the annual plan on the call"
    );
    assert!(moved.summary.contains("by hand: csm"));
    let rejected = x
        .timeline
        .iter()
        .find(|e| e.kind == "manual_rejected")
        .expect("rejected");
    assert!(rejected.summary.contains("intern"));
    assert_eq!(x.stage.as_deref(), Some("active"));
}

#[test]
fn an_unknown_account_is_not_found() {
    let compiled = compile(PLAYBOOK);
    let events = read(EVENTS);
    let (x, _) = explain(
        &compiled,
        Config::default(),
        events.as_bytes(),
        "nobody",
        None,
    )
    .expect("explain");
    assert!(!x.found);
    assert!(x.timeline.is_empty());
}

#[test]
fn at_stops_reading_at_that_time() {
    let compiled = compile(PLAYBOOK);
    let events = read(EVENTS);
    // Before its third login, x-transition is still in trial.
    let at = stagecraft::runtime::time::parse_rfc3339("2026-01-05T12:00:00Z");
    let (x, _) = explain(
        &compiled,
        Config::default(),
        events.as_bytes(),
        "x-transition",
        at,
    )
    .expect("explain");
    assert_eq!(x.stage.as_deref(), Some("trial"));
    assert!(x.timeline.iter().all(|e| e.kind != "transition"));
}

#[test]
fn json_round_trips() {
    let x = run("x-cap");
    let text = serde_json::to_string_pretty(&x).expect("json");
    let back: Explanation = serde_json::from_str(&text).expect("parse");
    assert_eq!(back, x);
}
