//! A subject stores the time of a stage entry or of an event only when an
//! expression reads it.

use stagecraft_ir::{Expr, Program};

fn check(text: &str) -> Program {
    let ast = stagecraft_syntax::parse(text).expect("parses");
    stagecraft_check::check(text, &ast).expect("checks")
}

const BASE: &str = r#"
playbook "layout" { language 1 version "1" subject account }
event "Login" {}
event "Paid" {}
stages { trial initial, paying, lapsed terminal }
transition trial -> paying on "Paid"
"#;

#[test]
fn unread_times_take_no_slot() {
    let program = check(BASE);
    assert_eq!(program.entered_at_slots, [None, None, None]);
    assert_eq!(program.last_seen_slots, [None, None]);
    assert_eq!(program.layout.len, program.layout.on_demand_base);
}

#[test]
fn each_read_time_takes_one_slot_however_often_it_is_read() {
    let text = format!(
        "{BASE}
transition paying -> lapsed when since last \"Paid\" > 30d and entered_at(paying) is set
rule nudge when since last \"Paid\" > 20d {{ send email \"nudge\" }}
"
    );
    let program = check(&text);
    let base = program.layout.on_demand_base;
    let paid = program.last_seen_slots[1].expect("`Paid` is read");
    let paying = program.entered_at_slots[1].expect("`paying` is read");
    assert_eq!(program.last_seen_slots[0], None);
    assert_eq!(
        [program.entered_at_slots[0], program.entered_at_slots[2]],
        [None, None]
    );
    let mut slots = [paid, paying];
    slots.sort_unstable();
    assert_eq!(slots, [base, base + 1]);
    assert_eq!(program.layout.len, base + 2);
    // Both readers of `since last "Paid"` load the same slot.
    let rule = &program.rules[0];
    let mut loads = Vec::new();
    rule.guard
        .as_ref()
        .expect("a `when` rule has a condition")
        .expr
        .walk(&mut |e| {
            if let Expr::Since { ts, .. } = e {
                loads.push(*ts);
            }
        });
    assert_eq!(loads, [paid]);
}
