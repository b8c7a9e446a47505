//! Ingest: one NDJSON line of a Segment-spec call (or a manual transition or
//! an acknowledgement) into an [`Input`], checked against the playbook's
//! schema. Every failure is a [`Rejected`] with a reason, never a panic.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use smallvec::SmallVec;
use stagecraft_ir::{decimal, FieldDef, Program, Type};

use crate::symbols::Symbols;
use crate::time;

/// Key/value pairs of a JSON object, values left unparsed.
#[derive(Debug, Default)]
pub struct Fields<'a>(pub SmallVec<[(Cow<'a, str>, &'a RawValue); 4]>);

impl<'de: 'a, 'a> Deserialize<'de> for Fields<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldsVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for FieldsVisitor<'a> {
            type Value = Fields<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut out = SmallVec::new();
                while let Some((k, v)) = map.next_entry::<Cow<'de, str>, &'de RawValue>()? {
                    out.push((k, v));
                }
                Ok(Fields(out))
            }
        }
        deserializer.deserialize_map(FieldsVisitor(std::marker::PhantomData))
    }
}

impl<'a> Fields<'a> {
    pub fn get(&self, key: &str) -> Option<&'a RawValue> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }
}

#[derive(Debug, Deserialize)]
struct RawContext<'a> {
    #[serde(rename = "groupId", borrow)]
    group_id: Option<&'a RawValue>,
}

/// The fields of a call we read; everything else is ignored.
#[derive(Debug, Deserialize)]
struct RawCall<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(rename = "messageId", borrow)]
    message_id: Option<&'a RawValue>,
    #[serde(rename = "userId", borrow)]
    user_id: Option<&'a RawValue>,
    #[serde(rename = "anonymousId", borrow)]
    anonymous_id: Option<&'a RawValue>,
    #[serde(rename = "groupId", borrow)]
    group_id: Option<&'a RawValue>,
    #[serde(borrow)]
    event: Option<Cow<'a, str>>,
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    properties: Option<&'a RawValue>,
    #[serde(borrow)]
    traits: Option<&'a RawValue>,
    #[serde(borrow)]
    context: Option<RawContext<'a>>,
    #[serde(borrow)]
    timestamp: Option<&'a RawValue>,
    #[serde(rename = "originalTimestamp", borrow)]
    original_timestamp: Option<&'a RawValue>,
    #[serde(rename = "receivedAt", borrow)]
    received_at: Option<&'a RawValue>,
    // Manual transitions and acknowledgements.
    #[serde(borrow)]
    subject: Option<&'a RawValue>,
    #[serde(borrow)]
    to: Option<Cow<'a, str>>,
    #[serde(borrow)]
    role: Option<Cow<'a, str>>,
    #[serde(borrow)]
    actor: Option<Cow<'a, str>>,
    #[serde(borrow)]
    reason: Option<Cow<'a, str>>,
    #[serde(rename = "override")]
    override_: Option<bool>,
    #[serde(borrow)]
    escalation: Option<Cow<'a, str>>,
}

/// Why a line was not processed. `DeadLetter` reasons are written to the
/// dead-letter output; the others are counted in the summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejected {
    /// A malformed or invalid line: written as a dead letter.
    DeadLetter {
        category: &'static str,
        reason: String,
    },
    /// A valid call for an event the playbook does not declare.
    UnknownEvent(String),
    /// A call type the runtime does not use (`alias`, or an identify that
    /// names no account).
    Ignored(&'static str),
}

fn dead(category: &'static str, reason: impl Into<String>) -> Rejected {
    Rejected::DeadLetter {
        category,
        reason: reason.into(),
    }
}

/// Property values in the order of the event's declaration; `None` missing.
pub type Props = SmallVec<[Option<i64>; 4]>;

#[derive(Debug, Clone, PartialEq)]
pub enum InputKind {
    /// A track (or page/screen) call of a declared event.
    Track { event: u32, props: Props },
    /// Trait upserts from group or identify: `None` resets to the default.
    Traits {
        values: Vec<(u32, Option<i64>)>,
        user: Option<Box<str>>,
    },
    /// A manual transition request.
    Manual {
        to: String,
        role: String,
        actor: Option<String>,
        reason: Option<String>,
        override_: bool,
    },
    /// An escalation was acknowledged.
    Ack {
        escalation: String,
        actor: Option<String>,
    },
}

/// A validated input. The subject is the account key (plus the `per` key),
/// or the user whose account is resolved through an earlier `group` call.
#[derive(Debug, Clone, PartialEq)]
pub struct Input {
    pub subject: SubjectRef,
    /// With `subject account per "key"`: the value of the key; the subject
    /// is the account's lifecycle for that value (`a42/analytics`).
    pub per: Option<Box<str>>,
    pub message_id: Option<std::sync::Arc<str>>,
    pub time: i64,
    pub kind: InputKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubjectRef {
    Account(Box<str>),
    /// No account on the call: resolved through the user's last `group` call.
    User(Box<str>),
}

fn json_string(raw: &RawValue) -> Option<Cow<'_, str>> {
    let text = raw.get();
    if text.starts_with('"') {
        serde_json::from_str::<Cow<str>>(text).ok()
    } else if text
        .bytes()
        .next()
        .is_some_and(|b| b == b'-' || b.is_ascii_digit())
    {
        // Some SDKs send numeric ids.
        Some(Cow::Borrowed(text))
    } else {
        None
    }
}

fn event_time(raw: &RawValue) -> Option<i64> {
    let text = raw.get();
    if text.starts_with('"') {
        let s = serde_json::from_str::<Cow<str>>(text).ok()?;
        time::parse_rfc3339(&s)
    } else {
        text.parse::<i64>().ok()
    }
}

/// Converts one JSON value to the encoding of a field's type.
pub fn convert(
    raw: &RawValue,
    field: &FieldDef,
    program: &Program,
    symbols: &mut Symbols,
) -> Result<Option<i64>, String> {
    let text = raw.get();
    if text == "null" {
        return Ok(None);
    }
    let expected = |what: &str| format!("expected {what}, found `{}`", truncate(text, 40));
    let value = match field.ty {
        Type::Bool => match text {
            "true" => 1,
            "false" => 0,
            _ => return Err(expected("true or false")),
        },
        Type::Int => text
            .parse::<i64>()
            .map_err(|_| expected("a whole number"))?,
        Type::Decimal => {
            let s = if text.starts_with('"') {
                json_string(raw)
                    .map(Cow::into_owned)
                    .ok_or_else(|| expected("a decimal"))?
            } else {
                text.to_string()
            };
            decimal::from_json_number(&s)
                .ok_or_else(|| expected("a decimal with at most 6 digits after the point"))?
        }
        Type::Duration => text
            .parse::<i64>()
            .map_err(|_| expected("a duration in milliseconds"))?,
        Type::Timestamp => event_time(raw)
            .ok_or_else(|| expected("an RFC 3339 timestamp or epoch milliseconds"))?,
        Type::Date => {
            let s = json_string(raw)
                .filter(|_| text.starts_with('"'))
                .ok_or_else(|| expected("a date `YYYY-MM-DD`"))?;
            time::parse_date(&s).ok_or_else(|| expected("a date `YYYY-MM-DD`"))?
        }
        Type::String => {
            let s = json_string(raw)
                .filter(|_| text.starts_with('"'))
                .ok_or_else(|| expected("a string"))?;
            symbols.intern(&s)
        }
        Type::Timezone => {
            let s = json_string(raw)
                .filter(|_| text.starts_with('"'))
                .ok_or_else(|| expected("a time zone name"))?;
            if s.parse::<chrono_tz::Tz>().is_err() {
                return Err(format!("unknown time zone `{}`", truncate(&s, 40)));
            }
            symbols.intern(&s)
        }
        Type::Enum(e) => {
            let s = json_string(raw)
                .filter(|_| text.starts_with('"'))
                .ok_or_else(|| expected("a string"))?;
            let variants = &program.enums[e as usize].variants;
            match variants.iter().position(|v| *v == s) {
                Some(i) => i as i64,
                None => {
                    return Err(format!(
                        "`{}` is not one of {}",
                        truncate(&s, 40),
                        variants.join(", ")
                    ))
                }
            }
        }
        Type::Stage => return Err(expected("a value")),
    };
    if let Some((lo, hi)) = field.range {
        if value < lo || value > hi {
            return Err(format!(
                "{} is outside the declared range",
                truncate(text, 40)
            ));
        }
    }
    Ok(Some(value))
}

pub fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// Parses one line. `symbols` interns string values so they compare as
/// integers.
pub fn parse_line(line: &str, program: &Program, symbols: &mut Symbols) -> Result<Input, Rejected> {
    let call: RawCall = serde_json::from_str(line)
        .map_err(|e| dead("unparsable", format!("not a JSON object: {e}")))?;
    let kind = call.kind.as_deref().unwrap_or("");
    let time_source = call
        .timestamp
        .or(call.original_timestamp)
        .or(call.received_at)
        .ok_or_else(|| {
            dead(
                "missing_time",
                "no `timestamp`, `originalTimestamp` or `receivedAt`",
            )
        })?;
    let time = event_time(time_source).ok_or_else(|| {
        dead(
            "bad_time",
            format!(
                "`{}` is not an RFC 3339 timestamp or epoch milliseconds",
                truncate(time_source.get(), 60)
            ),
        )
    })?;
    let message_id = call
        .message_id
        .and_then(json_string)
        .map(|m| std::sync::Arc::from(m.as_ref()));
    let account = call
        .group_id
        .or_else(|| call.context.as_ref().and_then(|c| c.group_id))
        .and_then(json_string);
    let user = call.user_id.or(call.anonymous_id).and_then(json_string);

    let per_key = |fields: Option<&RawValue>| -> Result<Option<String>, Rejected> {
        let Some(per) = &program.subject_per else {
            return Ok(None);
        };
        let fields = match fields {
            Some(raw) => serde_json::from_str::<Fields>(raw.get())
                .map_err(|_| dead("bad_payload", "`properties` is not an object"))?,
            None => Fields::default(),
        };
        let value = fields.get(per).and_then(json_string).ok_or_else(|| {
            dead(
                "missing_subject",
                format!("no `{per}` property to tell which lifecycle this belongs to"),
            )
        })?;
        Ok(Some(value.into_owned()))
    };
    let subject_of = |account: Option<Cow<str>>| -> Result<SubjectRef, Rejected> {
        match (account, &user) {
            (Some(a), _) => Ok(SubjectRef::Account(a.as_ref().into())),
            (None, Some(u)) => Ok(SubjectRef::User(u.as_ref().into())),
            (None, None) => Err(dead(
                "missing_subject",
                "no `groupId`, `context.groupId`, `userId` or `anonymousId`",
            )),
        }
    };

    match kind {
        "track" | "page" | "screen" => {
            let name: Cow<str> = match kind {
                "track" => call
                    .event
                    .clone()
                    .ok_or_else(|| dead("bad_payload", "a track call without `event`"))?,
                "page" => call.name.clone().unwrap_or(Cow::Borrowed("Page Viewed")),
                _ => call.name.clone().unwrap_or(Cow::Borrowed("Screen Viewed")),
            };
            let Some(event) = program.event_id(&name) else {
                return Err(Rejected::UnknownEvent(name.into_owned()));
            };
            let per = per_key(call.properties)?;
            let subject = subject_of(account)?;
            let def = &program.events[event as usize];
            let mut props: Props = SmallVec::new();
            if !def.props.is_empty() {
                let fields = match call.properties {
                    Some(raw) => serde_json::from_str::<Fields>(raw.get())
                        .map_err(|_| dead("bad_payload", "`properties` is not an object"))?,
                    None => Fields::default(),
                };
                for field in &def.props {
                    let value = match fields.get(&field.name) {
                        Some(raw) => convert(raw, field, program, symbols).map_err(|why| {
                            dead(
                                "bad_property",
                                format!("property `{}` of `{}`: {why}", field.name, def.name),
                            )
                        })?,
                        None => None,
                    };
                    if value.is_none() && !field.optional {
                        return Err(dead(
                            "missing_property",
                            format!("`{}` requires property `{}`", def.name, field.name),
                        ));
                    }
                    props.push(value);
                }
            }
            Ok(Input {
                per: per.map(Box::from),
                subject,
                message_id,
                time,
                kind: InputKind::Track { event, props },
            })
        }
        "group" | "identify" => {
            if kind == "identify" && account.is_none() && user.is_none() {
                return Err(dead(
                    "missing_subject",
                    "an identify call without `userId` or `anonymousId`",
                ));
            }
            if kind == "group" && account.is_none() {
                return Err(dead("missing_subject", "a group call without `groupId`"));
            }
            let per = per_key(None).ok().flatten();
            let subject = match (account.clone(), per) {
                (Some(a), _) => SubjectRef::Account(a.as_ref().into()),
                (None, _) => match &user {
                    Some(u) => SubjectRef::User(u.as_ref().into()),
                    None => return Err(Rejected::Ignored("identify without account")),
                },
            };
            let mut values = Vec::new();
            if let Some(raw) = call.traits {
                let fields = serde_json::from_str::<Fields>(raw.get())
                    .map_err(|_| dead("bad_payload", "`traits` is not an object"))?;
                for (i, field) in program.traits.iter().enumerate() {
                    if let Some(raw) = fields.get(&field.name) {
                        let value = convert(raw, field, program, symbols).map_err(|why| {
                            dead("bad_trait", format!("trait `{}`: {why}", field.name))
                        })?;
                        values.push((i as u32, value));
                    }
                }
            }
            let user = if kind == "group" {
                user.map(|u| Box::from(u.as_ref()))
            } else {
                None
            };
            Ok(Input {
                per: None,
                subject,
                message_id,
                time,
                kind: InputKind::Traits { values, user },
            })
        }
        "manual" | "ack" => {
            let subject = call
                .subject
                .or(call.group_id)
                .and_then(json_string)
                .ok_or_else(|| {
                    dead(
                        "missing_subject",
                        format!("a `{kind}` record without `subject`"),
                    )
                })?;
            let subject = SubjectRef::Account(subject.as_ref().into());
            let owned = |c: Option<Cow<str>>| c.map(Cow::into_owned);
            let kind = if kind == "manual" {
                InputKind::Manual {
                    to: owned(call.to)
                        .ok_or_else(|| dead("bad_payload", "a `manual` record without `to`"))?,
                    role: owned(call.role)
                        .ok_or_else(|| dead("bad_payload", "a `manual` record without `role`"))?,
                    actor: owned(call.actor),
                    reason: owned(call.reason).filter(|r| !r.trim().is_empty()),
                    override_: call.override_.unwrap_or(false),
                }
            } else {
                InputKind::Ack {
                    escalation: owned(call.escalation).ok_or_else(|| {
                        dead("bad_payload", "an `ack` record without `escalation`")
                    })?,
                    actor: owned(call.actor),
                }
            };
            Ok(Input {
                per: None,
                subject,
                message_id,
                time,
                kind,
            })
        }
        "alias" => Err(Rejected::Ignored("alias")),
        "" => Err(dead("bad_payload", "no `type`")),
        other => Err(dead(
            "bad_payload",
            format!("unknown call type `{}`", truncate(other, 40)),
        )),
    }
}
