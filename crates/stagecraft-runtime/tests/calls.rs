//! What kind of call a line is decides before anything else, and only an
//! object is a call.

use stagecraft_runtime::ingest::{parse_line, Rejected};
use stagecraft_runtime::symbols::Symbols;

const W1: &str = include_str!("../../../examples/w1.playbook");

fn parse(line: &str) -> Result<(), Rejected> {
    let ast = stagecraft_syntax::parse(W1).expect("parses");
    let program = stagecraft_check::check(W1, &ast).expect("checks");
    let mut symbols = Symbols::new(&program.strings);
    parse_line(line, &program, &mut symbols).map(|_| ())
}

fn category(rejected: Result<(), Rejected>) -> String {
    match rejected {
        Err(Rejected::DeadLetter { category, reason }) => format!("{category}: {reason}"),
        other => format!("{other:?}"),
    }
}

#[test]
fn an_array_is_not_a_call() {
    // Twenty fields by position would otherwise read as a Login for `a1`.
    let line = format!(
        r#"["track","m1",null,null,"a1","Login",null,{{}},null,null,1767225600000{}]"#,
        ",null".repeat(9)
    );
    assert_eq!(
        category(parse(&line)),
        "unparsable: not a JSON object: an array"
    );
}

#[test]
fn the_call_type_is_checked_before_the_time() {
    assert_eq!(
        category(parse(r#"{"type":"alias","userId":"u1","previousId":"x"}"#)),
        r#"Err(Ignored("alias"))"#
    );
    assert_eq!(
        category(parse(r#"{"type":"wave","groupId":"a1"}"#)),
        "bad_payload: unknown call type `wave`"
    );
    assert_eq!(
        category(parse(r#"{"groupId":"a1"}"#)),
        "bad_payload: no `type`"
    );
    assert_eq!(
        category(parse(r#"{"type":"track","event":"Login","groupId":"a1"}"#)),
        "missing_time: no `timestamp`, `originalTimestamp` or `receivedAt`"
    );
}
