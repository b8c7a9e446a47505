//! Reading outcome records (the NDJSON `stagecraft run` writes) without
//! building a JSON tree: only the fields reports use are read, borrowed from
//! the line where possible.

use std::borrow::Cow;

use serde::Deserialize;

/// The fields of one outcome record that reports read. Everything else
/// (payloads, idempotency keys) is skipped.
#[derive(Debug, Clone, Deserialize)]
pub struct RecordView<'a> {
    #[serde(borrow)]
    pub kind: Cow<'a, str>,
    #[serde(borrow)]
    pub subject: Cow<'a, str>,
    #[serde(borrow)]
    pub time: Cow<'a, str>,
    /// `entered`, `cycle`.
    #[serde(borrow, default)]
    pub stage: Option<Cow<'a, str>>,
    /// `transition`.
    #[serde(borrow, default)]
    pub from: Option<Cow<'a, str>>,
    /// `transition`, `manual_rejected`.
    #[serde(borrow, default)]
    pub to: Option<Cow<'a, str>>,
    /// `transition`: the transition's source text, or `manual`;
    /// `action`: the rule's name.
    #[serde(borrow, default)]
    pub rule: Option<Cow<'a, str>>,
    /// `action` by an escalation; `acknowledged`.
    #[serde(borrow, default)]
    pub escalation: Option<Cow<'a, str>>,
    /// `action`: the kind of action (`send`, `task`, ...).
    #[serde(borrow, default)]
    pub action: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub channel: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub template: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub title: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub status: Option<Cow<'a, str>>,
    /// `action`: why it was not emitted; `transition`/`manual_rejected`: the
    /// person's reason or the rejection.
    #[serde(borrow, default)]
    pub reason: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub cap: Option<Cow<'a, str>>,
    /// `errored`: what errored and its name.
    #[serde(borrow, default)]
    pub site: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub error: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub milestone: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub idempotency_key: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub cause: CauseView<'a>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CauseView<'a> {
    #[serde(borrow)]
    pub by: Cow<'a, str>,
}

impl<'a> RecordView<'a> {
    /// Parses one NDJSON line.
    pub fn parse(line: &'a str) -> Result<RecordView<'a>, String> {
        serde_json::from_str(line).map_err(|e| e.to_string())
    }

    /// The record's time in milliseconds.
    pub fn time_millis(&self) -> Option<i64> {
        stagecraft::runtime::time::parse_rfc3339(&self.time)
    }

    /// A view of a rendered record (as a sink produces it).
    pub fn from_record(r: &'a stagecraft::runtime::Record) -> RecordView<'a> {
        let text = |key: &str| -> Option<Cow<'a, str>> {
            r.fields
                .get(key)
                .and_then(serde_json::Value::as_str)
                .map(Cow::Borrowed)
        };
        use stagecraft::runtime::outcome::CauseRecord;
        let by = match &r.cause {
            CauseRecord::Event { .. } => "event",
            CauseRecord::Timer { .. } => "timer",
            CauseRecord::Request { .. } => "request",
        };
        RecordView {
            kind: Cow::Borrowed(&r.kind),
            subject: Cow::Borrowed(&r.subject),
            time: Cow::Borrowed(&r.time),
            stage: text("stage"),
            from: text("from"),
            to: text("to"),
            rule: text("rule"),
            escalation: text("escalation"),
            action: text("action"),
            channel: text("channel"),
            template: text("template"),
            title: text("title"),
            status: text("status"),
            reason: text("reason"),
            cap: text("cap"),
            site: text("site"),
            name: text("name"),
            error: text("error"),
            milestone: text("milestone"),
            idempotency_key: text("idempotency_key"),
            cause: CauseView {
                by: Cow::Borrowed(by),
            },
        }
    }

    /// The owner of an action: `(is_escalation, name)`.
    pub fn owner(&self) -> Option<(bool, &str)> {
        match (&self.rule, &self.escalation) {
            (Some(r), _) => Some((false, r)),
            (None, Some(e)) => Some((true, e)),
            _ => None,
        }
    }
}
