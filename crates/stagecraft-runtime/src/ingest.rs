//! Ingest: one NDJSON line of a Segment-spec call (or a manual transition or
//! an acknowledgement) into an [`Input`], checked against the playbook's
//! schema. Every failure is a [`Rejected`] with a reason, never a panic.

use std::borrow::Cow;
use std::fmt;

use compact_str::CompactString;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use smallvec::SmallVec;
use stagecraft_ir::{decimal, FieldDef, Program, Type};

use crate::scan;
use crate::state::same_key;
use crate::symbols::Symbols;
use crate::time::{self, MinuteCache};

/// Key/value pairs of a JSON object, values left as their JSON text. A value
/// that is not an object reads as `not_object`, so the caller can say so.
#[derive(Debug, Default)]
pub struct Fields<'a> {
    pub pairs: SmallVec<[(Cow<'a, str>, &'a str); 4]>,
    pub not_object: bool,
}

impl<'de: 'a, 'a> Deserialize<'de> for Fields<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldsVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for FieldsVisitor<'a> {
            type Value = Fields<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut pairs = SmallVec::new();
                while let Some((k, v)) = map.next_entry::<Cow<'de, str>, &'de RawValue>()? {
                    pairs.push((k, v.get()));
                }
                Ok(Fields {
                    pairs,
                    not_object: false,
                })
            }
            fn visit_seq<S: serde::de::SeqAccess<'de>>(
                self,
                mut seq: S,
            ) -> Result<Self::Value, S::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(not_object())
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(not_object())
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(not_object())
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(not_object())
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(not_object())
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(not_object())
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Fields::default())
            }
        }
        deserializer.deserialize_any(FieldsVisitor(std::marker::PhantomData))
    }
}

fn not_object<'a>() -> Fields<'a> {
    Fields {
        pairs: SmallVec::new(),
        not_object: true,
    }
}

impl<'a> Fields<'a> {
    pub fn get(&self, key: &str) -> Option<&'a str> {
        self.pairs.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }

    /// The pairs as [`from_call`] reads them.
    fn object(&self) -> Object<'_> {
        Object {
            pairs: self.pairs.iter().map(|(k, v)| (k.as_ref(), *v)).collect(),
            not_object: self.not_object,
        }
    }
}

/// An id as SDKs send it: a string, or sometimes a number. Anything else
/// (null, an object) counts as absent.
#[derive(Debug, Default)]
pub(crate) struct Id<'a>(pub(crate) Option<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for Id<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IdVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for IdVisitor<'a> {
            type Value = Id<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or a number")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Id(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Id(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Id(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Id(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Id(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Id(None))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Id(None))
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(Id(None))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                Id::deserialize(d)
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                while map
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(Id(None))
            }
            fn visit_seq<S: serde::de::SeqAccess<'de>>(
                self,
                mut seq: S,
            ) -> Result<Self::Value, S::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Id(None))
            }
        }
        deserializer.deserialize_any(IdVisitor(std::marker::PhantomData))
    }
}

/// A time as read: epoch milliseconds, or the text that did not parse.
#[derive(Debug)]
pub(crate) enum Stamp {
    Millis(i64),
    Invalid(String),
}

impl<'de> Deserialize<'de> for Stamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StampVisitor;
        impl<'de> Visitor<'de> for StampVisitor {
            type Value = Stamp;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an RFC 3339 timestamp or epoch milliseconds")
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(match time::parse_rfc3339(v) {
                    Some(ms) => Stamp::Millis(ms),
                    None => Stamp::Invalid(format!("\"{v}\"")),
                })
            }
            fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
                Ok(i64::try_from(v).map_or_else(|_| Stamp::Invalid(v.to_string()), Stamp::Millis))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Stamp::Millis(v))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Stamp::Invalid(v.to_string()))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Stamp::Invalid(v.to_string()))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Stamp::Invalid("null".into()))
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                while map
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(Stamp::Invalid("an object".into()))
            }
            fn visit_seq<S: serde::de::SeqAccess<'de>>(
                self,
                mut seq: S,
            ) -> Result<Self::Value, S::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Stamp::Invalid("an array".into()))
            }
        }
        deserializer.deserialize_any(StampVisitor)
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawContext<'a> {
    #[serde(rename = "groupId", borrow, default)]
    pub(crate) group_id: Id<'a>,
}

/// The fields of a call we read, in one pass; everything else is skipped.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawCall<'a> {
    #[serde(rename = "type", borrow)]
    pub(crate) kind: Option<Cow<'a, str>>,
    #[serde(rename = "messageId", borrow, default)]
    pub(crate) message_id: Id<'a>,
    #[serde(rename = "userId", borrow, default)]
    pub(crate) user_id: Id<'a>,
    #[serde(rename = "anonymousId", borrow, default)]
    pub(crate) anonymous_id: Id<'a>,
    #[serde(rename = "groupId", borrow, default)]
    pub(crate) group_id: Id<'a>,
    #[serde(borrow)]
    pub(crate) event: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(crate) name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(crate) properties: Option<Fields<'a>>,
    #[serde(borrow)]
    pub(crate) traits: Option<Fields<'a>>,
    #[serde(borrow)]
    pub(crate) context: Option<RawContext<'a>>,
    pub(crate) timestamp: Option<Stamp>,
    #[serde(rename = "originalTimestamp")]
    pub(crate) original_timestamp: Option<Stamp>,
    #[serde(rename = "receivedAt")]
    pub(crate) received_at: Option<Stamp>,
    // Manual transitions and acknowledgements.
    #[serde(borrow, default)]
    pub(crate) subject: Id<'a>,
    #[serde(borrow)]
    pub(crate) to: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(crate) role: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(crate) actor: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(crate) reason: Option<Cow<'a, str>>,
    #[serde(rename = "override")]
    pub(crate) override_: Option<bool>,
    #[serde(borrow)]
    pub(crate) escalation: Option<Cow<'a, str>>,
}

impl Stamp {
    fn time(&self) -> Time<'_> {
        match self {
            Stamp::Millis(ms) => Ok(*ms),
            Stamp::Invalid(text) => Err(text),
        }
    }
}

impl RawCall<'_> {
    /// The call as [`from_call`] reads it.
    fn view(&self) -> Call<'_> {
        Call {
            kind: self.kind.as_deref(),
            message_id: self.message_id.0.as_deref(),
            user_id: self.user_id.0.as_deref(),
            anonymous_id: self.anonymous_id.0.as_deref(),
            group_id: self.group_id.0.as_deref(),
            context_group_id: self.context.as_ref().and_then(|c| c.group_id.0.as_deref()),
            event: self.event.as_deref(),
            name: self.name.as_deref(),
            properties: self.properties.as_ref().map(Fields::object),
            traits: self.traits.as_ref().map(Fields::object),
            timestamp: self.timestamp.as_ref().map(Stamp::time),
            original_timestamp: self.original_timestamp.as_ref().map(Stamp::time),
            received_at: self.received_at.as_ref().map(Stamp::time),
            subject: self.subject.0.as_deref(),
            to: self.to.as_deref(),
            role: self.role.as_deref(),
            actor: self.actor.as_deref(),
            reason: self.reason.as_deref(),
            override_: self.override_,
            escalation: self.escalation.as_deref(),
            minute: MinuteCache::default(),
        }
    }
}

/// A time as read: epoch milliseconds, or the JSON text of a value that is
/// not a time.
pub(crate) type Time<'a> = Result<i64, &'a str>;

/// `properties` or `traits` as read: the key/value pairs of an object,
/// values as JSON text, or `not_object` for any other JSON value.
#[derive(Debug, Default)]
pub(crate) struct Object<'a> {
    pub(crate) pairs: SmallVec<[(&'a str, &'a str); 4]>,
    pub(crate) not_object: bool,
}

impl<'a> Object<'a> {
    /// The first value of `key` (serde_json keeps every duplicate).
    fn get(&self, key: &str) -> Option<&'a str> {
        self.pairs
            .iter()
            .find(|(k, _)| same_key(k, key))
            .map(|(_, v)| *v)
    }
}

/// A call as [`from_call`] checks it, whichever parser read it: the scanner
/// fills it straight from the line, the serde_json path borrows it from a
/// [`RawCall`]. Its strings are borrowed: unlike a `RawCall`, it costs next
/// to nothing to drop.
#[derive(Debug, Default)]
pub(crate) struct Call<'a> {
    pub(crate) kind: Option<&'a str>,
    pub(crate) message_id: Option<&'a str>,
    pub(crate) user_id: Option<&'a str>,
    pub(crate) anonymous_id: Option<&'a str>,
    pub(crate) group_id: Option<&'a str>,
    pub(crate) context_group_id: Option<&'a str>,
    pub(crate) event: Option<&'a str>,
    pub(crate) name: Option<&'a str>,
    pub(crate) properties: Option<Object<'a>>,
    pub(crate) traits: Option<Object<'a>>,
    pub(crate) timestamp: Option<Time<'a>>,
    pub(crate) original_timestamp: Option<Time<'a>>,
    pub(crate) received_at: Option<Time<'a>>,
    pub(crate) subject: Option<&'a str>,
    pub(crate) to: Option<&'a str>,
    pub(crate) role: Option<&'a str>,
    pub(crate) actor: Option<&'a str>,
    pub(crate) reason: Option<&'a str>,
    pub(crate) override_: Option<bool>,
    pub(crate) escalation: Option<&'a str>,
    /// The scanner reads timestamps through this cache; the engine carries
    /// it from one line's call to the next.
    pub(crate) minute: MinuteCache,
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
    pub per: Option<CompactString>,
    /// Inline up to 24 bytes: most ids need no allocation.
    pub message_id: Option<CompactString>,
    pub time: i64,
    pub kind: InputKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubjectRef {
    Account(CompactString),
    /// No account on the call: resolved through the user's last `group` call.
    User(CompactString),
}

fn json_string(text: &str) -> Option<Cow<'_, str>> {
    if text.starts_with('"') {
        // Without escapes a string's value is its text between the quotes.
        let plain = text
            .strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .filter(|t| !t.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20));
        match plain {
            Some(inner) => Some(Cow::Borrowed(inner)),
            None => serde_json::from_str::<Cow<str>>(text).ok(),
        }
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

fn event_time(text: &str) -> Option<i64> {
    if text.starts_with('"') {
        time::parse_rfc3339(&json_string(text)?)
    } else {
        text.parse::<i64>().ok()
    }
}

/// Converts one JSON value, given as its text (`RawValue::get`), to the
/// encoding of a field's type.
pub fn convert(
    text: &str,
    field: &FieldDef,
    program: &Program,
    symbols: &mut Symbols,
) -> Result<Option<i64>, String> {
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
                json_string(text)
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
        Type::Timestamp => event_time(text)
            .ok_or_else(|| expected("an RFC 3339 timestamp or epoch milliseconds"))?,
        Type::Date => {
            let s = json_string(text)
                .filter(|_| text.starts_with('"'))
                .ok_or_else(|| expected("a date `YYYY-MM-DD`"))?;
            time::parse_date(&s).ok_or_else(|| expected("a date `YYYY-MM-DD`"))?
        }
        Type::String => {
            let s = json_string(text)
                .filter(|_| text.starts_with('"'))
                .ok_or_else(|| expected("a string"))?;
            symbols.intern(&s)
        }
        Type::Timezone => {
            let s = json_string(text)
                .filter(|_| text.starts_with('"'))
                .ok_or_else(|| expected("a time zone name"))?;
            if s.parse::<chrono_tz::Tz>().is_err() {
                return Err(format!("unknown time zone `{}`", truncate(&s, 40)));
            }
            symbols.intern(&s)
        }
        Type::Enum(e) => {
            let s = json_string(text)
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
    // `parse_line_fast`, without wrapping the large result in an `Option`
    // only to unwrap it.
    let mut call = Call::default();
    match scan::call(line, &mut call) {
        Some(()) => from_call(&call, program, symbols),
        None => parse_line_serde(line, program, symbols),
    }
}

/// Parses the line that starts `text` (the rest of an NDJSON chunk), when
/// the scanner reads it, and says where it ends: at its `\n`, or at the end
/// of `text`. `None` leaves the line to [`parse_line`] once it is split off.
/// The engine takes the same two steps inline, so that the input it reads
/// ahead is copied once less; this is them for the differential tests.
#[doc(hidden)]
pub fn parse_line_at(
    text: &str,
    program: &Program,
    symbols: &mut Symbols,
) -> Option<(usize, Result<Input, Rejected>)> {
    let mut call = Call::default();
    let end = scan::line_call(text, &mut call)?;
    Some((end, from_call(&call, program, symbols)))
}

/// The fast path alone: `None` when the scanner leaves the line to
/// serde_json. Public for the differential tests and the bench.
#[doc(hidden)]
pub fn parse_line_fast(
    line: &str,
    program: &Program,
    symbols: &mut Symbols,
) -> Option<Result<Input, Rejected>> {
    let mut call = Call::default();
    scan::call(line, &mut call)?;
    Some(from_call(&call, program, symbols))
}

/// The serde_json path alone, which also says why a line is malformed:
/// what the engine reads a line with once the scanner has given up on it.
/// Public for the differential tests and the bench.
#[doc(hidden)]
pub fn parse_line_serde(
    line: &str,
    program: &Program,
    symbols: &mut Symbols,
) -> Result<Input, Rejected> {
    // serde would also read a JSON array as a call, field by position.
    if line.trim_start().starts_with('[') {
        return Err(dead("unparsable", "not a JSON object: an array"));
    }
    let call: RawCall = serde_json::from_str(line)
        .map_err(|e| dead("unparsable", format!("not a JSON object: {e}")))?;
    let call = call.view();
    from_call(&call, program, symbols)
}

/// The call types the runtime uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CallType {
    Track,
    Page,
    Screen,
    Group,
    Identify,
    Manual,
    Ack,
}

/// Checks a call against the playbook, whichever parser read it.
pub(crate) fn from_call(
    call: &Call,
    program: &Program,
    symbols: &mut Symbols,
) -> Result<Input, Rejected> {
    let kind = call.kind.unwrap_or("");
    // What kind of call it is comes first: an ignored call needs no time.
    let call_type = match kind {
        "track" => CallType::Track,
        "page" => CallType::Page,
        "screen" => CallType::Screen,
        "group" => CallType::Group,
        "identify" => CallType::Identify,
        "manual" => CallType::Manual,
        "ack" => CallType::Ack,
        "alias" => return Err(Rejected::Ignored("alias")),
        "" => return Err(dead("bad_payload", "no `type`")),
        other => {
            return Err(dead(
                "bad_payload",
                format!("unknown call type `{}`", truncate(other, 40)),
            ))
        }
    };
    let time = match call
        .timestamp
        .or(call.original_timestamp)
        .or(call.received_at)
    {
        Some(Ok(ms)) => ms,
        Some(Err(text)) => {
            return Err(dead(
                "bad_time",
                format!(
                    "`{}` is not an RFC 3339 timestamp or epoch milliseconds",
                    truncate(text, 60)
                ),
            ))
        }
        None => {
            return Err(dead(
                "missing_time",
                "no `timestamp`, `originalTimestamp` or `receivedAt`",
            ))
        }
    };
    let message_id = call.message_id.map(CompactString::from);
    let account = call.group_id.or(call.context_group_id);
    let user = call.user_id.or(call.anonymous_id);
    if call.properties.as_ref().is_some_and(|p| p.not_object) {
        return Err(dead("bad_payload", "`properties` is not an object"));
    }
    if call.traits.as_ref().is_some_and(|t| t.not_object) {
        return Err(dead("bad_payload", "`traits` is not an object"));
    }
    let property = |key: &str| call.properties.as_ref().and_then(|p| p.get(key));

    match call_type {
        CallType::Track | CallType::Page | CallType::Screen => {
            let name = match call_type {
                CallType::Track => call
                    .event
                    .ok_or_else(|| dead("bad_payload", "a track call without `event`"))?,
                CallType::Page => call.name.unwrap_or("Page Viewed"),
                _ => call.name.unwrap_or("Screen Viewed"),
            };
            // Names compared without a `memcmp` each.
            let event = program.events.iter().position(|e| same_key(&e.name, name));
            let Some(event) = event.map(|i| i as u32) else {
                return Err(Rejected::UnknownEvent(name.to_string()));
            };
            let per = match &program.subject_per {
                None => None,
                Some(per) => {
                    let value = property(per).and_then(json_string).ok_or_else(|| {
                        dead(
                            "missing_subject",
                            format!("no `{per}` property to tell which lifecycle this belongs to"),
                        )
                    })?;
                    Some(value.into_owned())
                }
            };
            let subject = match (account, user) {
                (Some(a), _) => SubjectRef::Account(a.into()),
                (None, Some(u)) => SubjectRef::User(u.into()),
                (None, None) => {
                    return Err(dead(
                        "missing_subject",
                        "no `groupId`, `context.groupId`, `userId` or `anonymousId`",
                    ))
                }
            };
            let def = &program.events[event as usize];
            let mut props: Props = SmallVec::new();
            if !def.props.is_empty() {
                for field in &def.props {
                    let value = match property(&field.name) {
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
                per: per.map(CompactString::from),
                subject,
                message_id,
                time,
                kind: InputKind::Track { event, props },
            })
        }
        CallType::Group | CallType::Identify => {
            let subject = match (account, user) {
                (Some(a), _) => SubjectRef::Account(a.into()),
                (None, Some(u)) if call_type == CallType::Identify => SubjectRef::User(u.into()),
                (None, _) if call_type == CallType::Group => {
                    return Err(dead("missing_subject", "a group call without `groupId`"))
                }
                (None, _) => {
                    return Err(dead(
                        "missing_subject",
                        "an identify call without `userId` or `anonymousId`",
                    ))
                }
            };
            let mut values = Vec::new();
            if let Some(traits) = &call.traits {
                for (i, field) in program.traits.iter().enumerate() {
                    if let Some(raw) = traits.get(&field.name) {
                        let value = convert(raw, field, program, symbols).map_err(|why| {
                            dead("bad_trait", format!("trait `{}`: {why}", field.name))
                        })?;
                        values.push((i as u32, value));
                    }
                }
            }
            let user = if call_type == CallType::Group {
                user.map(Box::from)
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
        CallType::Manual | CallType::Ack => {
            let subject = call.subject.or(account).ok_or_else(|| {
                dead(
                    "missing_subject",
                    format!("a `{kind}` record without `subject`"),
                )
            })?;
            let subject = SubjectRef::Account(subject.into());
            let owned = |text: Option<&str>| text.map(str::to_string);
            let kind = if call_type == CallType::Manual {
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
    }
}
