//! The fast path of ingest: a strict single-pass scanner for the usual shape
//! of a call. It fills the [`Call`] that serde_json's [`RawCall`] would give,
//! borrowing from the line, and gives up (`None`) on anything unusual: an
//! escape in a key or in a string it decodes, an id that is not a string, a
//! duplicate field, deep nesting, a syntax error. The caller then takes the
//! serde_json path, which gives the same answer for the lines accepted here
//! and says what is wrong with the others, so nothing here needs an error
//! message.
//!
//! [`RawCall`]: crate::ingest::RawCall

use crate::ingest::{Call, Object, Time};
use crate::time::{self, MinuteCache};

/// Containers nested deeper than this are left to serde_json.
const MAX_DEPTH: u32 = 16;

/// Scans one line into `call` (fresh), as serde_json would read it, or
/// gives up with `None`. The call is large, so it is filled in place.
pub(crate) fn call<'a>(line: &'a str, call: &mut Call<'a>) -> Option<()> {
    if compact_call(line, call) == Some(line.len()) {
        return Some(());
    }
    start_over(call);
    let mut s = Scanner::<false> { text: line, pos: 0 };
    s.ws();
    s.call(call)?;
    s.ws();
    (s.pos == line.len()).then_some(())
}

/// Scans the line that starts `text` (NDJSON: the rest of a chunk) into
/// `call` (fresh), as [`call`] scans that line alone, and returns where the
/// line ends: at its `\n`, or at the end of `text`. Finding the end while
/// scanning saves searching each line for it first. A line the scanner
/// gives up on is `None`, and the caller splits it off the usual way.
pub(crate) fn line_call<'a>(text: &'a str, call: &mut Call<'a>) -> Option<usize> {
    if let Some(end) = compact_call(text, call) {
        return Some(end);
    }
    start_over(call);
    let mut s = Scanner::<true> { text, pos: 0 };
    s.ws();
    s.call(call)?;
    s.ws();
    match s.peek() {
        None | Some(b'\n') => Some(s.pos),
        Some(_) => None,
    }
}

/// Empties what [`compact_call`] may have filled in before it gave up; the
/// timestamp cache stays.
fn start_over(call: &mut Call) {
    *call = Call {
        minute: call.minute,
        ..Call::default()
    };
}

/// A call written compactly, as SDKs and pipelines write it: no whitespace,
/// only known keys, plain strings, and timestamps of the usual shape. Read
/// with one index into the bytes, it costs a fraction of what the general
/// [`Scanner`] costs. Returns where the line ends (its `\n`, or the end of
/// `text`), or `None` on anything else, and the caller reads the line again
/// with the general scanner; where both take a line, they agree.
fn compact_call<'a>(text: &'a str, call: &mut Call<'a>) -> Option<usize> {
    let bytes = text.as_bytes();
    if bytes.first() != Some(&b'{') {
        return None;
    }
    let mut pos = 1;
    // serde rejects a known field given twice.
    let mut seen = 0u32;
    loop {
        if bytes.get(pos) != Some(&b'"') {
            return None;
        }
        let field = Field::at_start_of(bytes.get(pos + 1..)?)?;
        pos += 1 + field.quoted_key().len();
        if bytes.get(pos) != Some(&b':') {
            return None;
        }
        pos += 1;
        let bit = 1 << field as u32;
        if seen & bit != 0 {
            return None;
        }
        seen |= bit;
        match field {
            // One arm per timestamp field: one shared arm that looked up the
            // field's place in `call` cost 38 more instructions a W1 line.
            Field::Timestamp => {
                let ms = usual_stamp(bytes, &mut pos, &mut call.minute)?;
                call.timestamp = Some(Ok(ms));
            }
            Field::OriginalTimestamp => {
                let ms = usual_stamp(bytes, &mut pos, &mut call.minute)?;
                call.original_timestamp = Some(Ok(ms));
            }
            Field::ReceivedAt => {
                let ms = usual_stamp(bytes, &mut pos, &mut call.minute)?;
                call.received_at = Some(Ok(ms));
            }
            Field::Properties => pos = compact_fields(text, pos, &mut call.properties)?,
            Field::Traits => pos = compact_fields(text, pos, &mut call.traits)?,
            Field::Context | Field::Override => return None,
            _ => {
                let value = if bytes.get(pos) == Some(&b'"') {
                    let (value, end) = plain_at(text, pos + 1)?;
                    pos = end;
                    Some(value)
                } else if bytes.get(pos..pos + 4) == Some(b"null") {
                    pos += 4;
                    None
                } else {
                    return None;
                };
                *field.string_in(call)? = value;
            }
        }
        match bytes.get(pos) {
            Some(b',') => pos += 1,
            Some(b'}') => break,
            _ => return None,
        }
    }
    pos += 1;
    match bytes.get(pos) {
        None | Some(b'\n') => Some(pos),
        Some(_) => None,
    }
}

/// The text of a string without escapes whose opening quote ends at
/// `start`, and the position after its closing quote.
#[inline(always)]
fn plain_at(text: &str, start: usize) -> Option<(&str, usize)> {
    let bytes = text.as_bytes();
    let len = string_end(bytes.get(start..)?)?;
    if bytes.get(start + len) != Some(&b'"') {
        return None;
    }
    Some((text.get(start..start + len)?, start + len + 1))
}

/// A timestamp of the usual shape, `"YYYY-MM-DDTHH:MM:SS.mmmZ"` (quotes
/// included), at `pos`. What the fast parser takes has no escape, quote or
/// control character, so this is the whole string and needs no scan.
#[inline]
fn usual_stamp(bytes: &[u8], pos: &mut usize, minute: &mut MinuteCache) -> Option<i64> {
    let [b'"', usual @ .., b'"'] = bytes.get(*pos..*pos + 26)? else {
        return None;
    };
    let ms = time::fast_utc_cached(usual, minute)?;
    *pos += 26;
    Some(ms)
}

/// `properties` or `traits` written compactly, at `pos`: an object with
/// plain keys and any values, which the general scanner reads. Returns the
/// position after the object.
fn compact_fields<'a>(
    text: &'a str,
    mut pos: usize,
    out: &mut Option<Object<'a>>,
) -> Option<usize> {
    let bytes = text.as_bytes();
    if bytes.get(pos) != Some(&b'{') {
        return None;
    }
    let pairs = &mut out.insert(Object::default()).pairs;
    pos += 1;
    if bytes.get(pos) == Some(&b'}') {
        return Some(pos + 1);
    }
    loop {
        if bytes.get(pos) != Some(&b'"') {
            return None;
        }
        let (key, end) = plain_at(text, pos + 1)?;
        pos = end;
        if bytes.get(pos) != Some(&b':') {
            return None;
        }
        let mut value = Scanner::<true> { text, pos: pos + 1 };
        pairs.push((key, value.raw(2)?));
        pos = value.pos;
        match bytes.get(pos) {
            Some(b',') => pos += 1,
            Some(b'}') => return Some(pos + 1),
            _ => return None,
        }
    }
}

/// The index of the first `"`, `\\` or control character in `bytes`, read a
/// word (eight bytes) at a time: strings are most of a line. Inlined: as a
/// call it cost 40 instructions a W1 line.
#[inline]
fn string_end(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // The high bit of each byte below `n` (exact up to the first one, which
    // is all that is read).
    let below = |word: u64, n: u8| word.wrapping_sub(ONES * u64::from(n)) & !word & HIGHS;
    let hits = |word: &[u8; 8]| {
        let word = u64::from_le_bytes(*word);
        below(word ^ (ONES * u64::from(b'"')), 1)
            | below(word ^ (ONES * u64::from(b'\\')), 1)
            | below(word, 0x20)
    };
    let mut at = 0;
    // Most strings end within sixteen bytes: both words are read, and where
    // the string ends is picked without a branch (the loop below, leaving
    // after one word or after two, mispredicted on most strings).
    if let Some((first, second)) = bytes.first_chunk::<16>().map(|c| c.split_at(8)) {
        let first = hits(first.try_into().ok()?).trailing_zeros() as usize / 8;
        let second = hits(second.try_into().ok()?).trailing_zeros() as usize / 8;
        let len = if first < 8 { first } else { 8 + second };
        if len < 16 {
            return Some(len);
        }
        at = 16;
    }
    while let Some(chunk) = bytes.get(at..at + 8) {
        let hits = hits(chunk.try_into().ok()?);
        if hits != 0 {
            return Some(at + hits.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    let tail = bytes.get(at..)?;
    let len = tail
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
    Some(at + len)
}

/// The fields of a call that are read; any other key is skipped.
#[derive(Debug, Clone, Copy)]
enum Field {
    Type,
    MessageId,
    UserId,
    AnonymousId,
    GroupId,
    Event,
    Name,
    Properties,
    Traits,
    Context,
    Timestamp,
    OriginalTimestamp,
    ReceivedAt,
    Subject,
    To,
    Role,
    Actor,
    Reason,
    Override,
    Escalation,
}

impl Field {
    /// The key as it follows its opening quote, closing quote included, so
    /// that a longer key never matches it.
    const fn quoted_key(self) -> &'static [u8] {
        match self {
            Field::Type => b"type\"",
            Field::MessageId => b"messageId\"",
            Field::UserId => b"userId\"",
            Field::AnonymousId => b"anonymousId\"",
            Field::GroupId => b"groupId\"",
            Field::Event => b"event\"",
            Field::Name => b"name\"",
            Field::Properties => b"properties\"",
            Field::Traits => b"traits\"",
            Field::Context => b"context\"",
            Field::Timestamp => b"timestamp\"",
            Field::OriginalTimestamp => b"originalTimestamp\"",
            Field::ReceivedAt => b"receivedAt\"",
            Field::Subject => b"subject\"",
            Field::To => b"to\"",
            Field::Role => b"role\"",
            Field::Actor => b"actor\"",
            Field::Reason => b"reason\"",
            Field::Override => b"override\"",
            Field::Escalation => b"escalation\"",
        }
    }

    /// Where the value of a string field goes; `None` for the others.
    #[inline(always)]
    fn string_in<'c, 'a>(self, call: &'c mut Call<'a>) -> Option<&'c mut Option<&'a str>> {
        Some(match self {
            Field::Type => &mut call.kind,
            Field::MessageId => &mut call.message_id,
            Field::UserId => &mut call.user_id,
            Field::AnonymousId => &mut call.anonymous_id,
            Field::GroupId => &mut call.group_id,
            Field::Event => &mut call.event,
            Field::Name => &mut call.name,
            Field::Subject => &mut call.subject,
            Field::To => &mut call.to,
            Field::Role => &mut call.role,
            Field::Actor => &mut call.actor,
            Field::Reason => &mut call.reason,
            Field::Escalation => &mut call.escalation,
            Field::Properties
            | Field::Traits
            | Field::Context
            | Field::Timestamp
            | Field::OriginalTimestamp
            | Field::ReceivedAt
            | Field::Override => return None,
        })
    }

    /// The field whose key starts `text` (just after the opening quote).
    /// The first byte picks the candidates, and each comparison has a
    /// constant length, so it compiles to a load or two and no `memcmp`.
    /// Always inlined: as a call, once per key, it cost 90 instructions a
    /// W1 line.
    #[inline(always)]
    fn at_start_of(text: &[u8]) -> Option<Field> {
        let is = |field: Field| text.starts_with(field.quoted_key());
        Some(match *text.first()? {
            b't' if is(Field::Type) => Field::Type,
            b't' if is(Field::Timestamp) => Field::Timestamp,
            b't' if is(Field::Traits) => Field::Traits,
            b't' if is(Field::To) => Field::To,
            b'm' if is(Field::MessageId) => Field::MessageId,
            b'u' if is(Field::UserId) => Field::UserId,
            b'g' if is(Field::GroupId) => Field::GroupId,
            b'e' if is(Field::Event) => Field::Event,
            b'e' if is(Field::Escalation) => Field::Escalation,
            b'p' if is(Field::Properties) => Field::Properties,
            b'a' if is(Field::AnonymousId) => Field::AnonymousId,
            b'a' if is(Field::Actor) => Field::Actor,
            b'n' if is(Field::Name) => Field::Name,
            b'c' if is(Field::Context) => Field::Context,
            b'o' if is(Field::OriginalTimestamp) => Field::OriginalTimestamp,
            b'o' if is(Field::Override) => Field::Override,
            b'r' if is(Field::ReceivedAt) => Field::ReceivedAt,
            b'r' if is(Field::Role) => Field::Role,
            b'r' if is(Field::Reason) => Field::Reason,
            b's' if is(Field::Subject) => Field::Subject,
            _ => return None,
        })
    }
}

/// `IN_CHUNK`: the text runs on past the line being read, so a `\n` ends
/// the line instead of being whitespace.
struct Scanner<'a, const IN_CHUNK: bool> {
    text: &'a str,
    pos: usize,
}

impl<'a, const IN_CHUNK: bool> Scanner<'a, IN_CHUNK> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    #[inline]
    fn bump(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }

    #[inline]
    fn eat(&mut self, expected: u8) -> Option<()> {
        (self.bump()? == expected).then_some(())
    }

    /// JSON whitespace, as serde_json reads it (in a chunk, but for `\n`).
    #[inline]
    fn ws(&mut self) {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\r') => self.pos += 1,
                Some(b'\n') if !IN_CHUNK => self.pos += 1,
                _ => return,
            }
        }
    }

    #[inline]
    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.pos + word.len();
        if self.text.as_bytes().get(self.pos..end)? != word {
            return None;
        }
        self.pos = end;
        Some(())
    }

    /// Whether the value is `null` (and then reads it).
    #[inline]
    fn null(&mut self) -> Option<bool> {
        if self.peek()? != b'n' {
            return Some(false);
        }
        self.literal(b"null")?;
        Some(true)
    }

    /// A string without escapes, so its text is its value.
    #[inline]
    fn plain_str(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        self.plain_body()
    }

    /// The text after an opening quote up to the closing one, which must
    /// come before any escape.
    #[inline]
    fn plain_body(&mut self) -> Option<&'a str> {
        let (text, end) = plain_at(self.text, self.pos)?;
        self.pos = end;
        Some(text)
    }

    /// A string that is skipped or kept as JSON text: escapes are checked as
    /// serde_json checks them when it skips a value (a `\u` needs four hex
    /// digits, not a valid code point).
    fn skip_str(&mut self) -> Option<()> {
        self.eat(b'"')?;
        loop {
            self.pos += string_end(self.text.as_bytes().get(self.pos..)?)?;
            match self.bump()? {
                b'"' => return Some(()),
                b'\\' => match self.bump()? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                    b'u' => {
                        for _ in 0..4 {
                            if !self.bump()?.is_ascii_hexdigit() {
                                return None;
                            }
                        }
                    }
                    _ => return None,
                },
                _ => return None,
            }
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        self.pos - start
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, as text.
    fn number(&mut self) -> Option<&'a str> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.bump()? {
            b'0' => {}
            b'1'..=b'9' => {
                self.digits();
            }
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return None;
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return None;
            }
        }
        self.text.get(start..self.pos)
    }

    /// An object whose keys are plain strings, each value read by `entry`
    /// (which leaves the position after the value).
    fn object(
        &mut self,
        depth: u32,
        mut entry: impl FnMut(&mut Self, &'a str) -> Option<()>,
    ) -> Option<()> {
        if depth >= MAX_DEPTH {
            return None;
        }
        self.eat(b'{')?;
        self.ws();
        if self.peek()? == b'}' {
            self.pos += 1;
            return Some(());
        }
        loop {
            let key = self.plain_str()?;
            self.colon()?;
            entry(self, key)?;
            self.ws();
            match self.bump()? {
                b',' => self.ws(),
                b'}' => return Some(()),
                _ => return None,
            }
        }
    }

    /// Any value, checked strictly and not kept. `depth` counts the
    /// containers around it.
    fn skip(&mut self, depth: u32) -> Option<()> {
        match self.peek()? {
            b'"' => self.skip_str(),
            b'{' => self.object(depth, |s, _| s.skip(depth + 1)),
            b'[' => {
                if depth >= MAX_DEPTH {
                    return None;
                }
                self.pos += 1;
                self.ws();
                if self.peek()? == b']' {
                    self.pos += 1;
                    return Some(());
                }
                loop {
                    self.skip(depth + 1)?;
                    self.ws();
                    match self.bump()? {
                        b',' => self.ws(),
                        b']' => return Some(()),
                        _ => return None,
                    }
                }
            }
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => self.number().map(drop),
        }
    }

    /// The text of any value, as `RawValue::get` gives it.
    fn raw(&mut self, depth: u32) -> Option<&'a str> {
        let start = self.pos;
        self.skip(depth)?;
        self.text.get(start..self.pos)
    }

    /// A plain string or `null`. Ids too: numeric ids and the rest go to
    /// serde_json.
    #[inline(always)]
    fn nullable_str(&mut self) -> Option<Option<&'a str>> {
        if self.null()? {
            return Some(None);
        }
        self.plain_str().map(Some)
    }

    /// An RFC 3339 string, or epoch milliseconds as a whole number that
    /// fits an `i64` (serde_json reads `-0` as a float, hence no sign).
    fn stamp(&mut self, minute: &mut MinuteCache) -> Option<Option<Time<'a>>> {
        if self.null()? {
            return Some(None);
        }
        if self.peek()? == b'"' {
            let start = self.pos;
            if let Some(ms) = usual_stamp(self.text.as_bytes(), &mut self.pos, minute) {
                return Some(Some(Ok(ms)));
            }
            let text = self.plain_str()?;
            // Without escapes, the JSON text is the value in quotes, as
            // the serde_json path quotes it.
            let quoted = self.text.get(start..self.pos)?;
            return Some(Some(time::parse_rfc3339(text).ok_or(quoted)));
        }
        let text = self.number()?;
        if !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(Some(Ok(text.parse().ok()?)))
    }

    /// `properties` or `traits`: an object (keys plain, values as text) or
    /// `null`. Filled in place: the pairs are kept inline, and moving them
    /// would copy them.
    fn fields(&mut self, out: &mut Option<Object<'a>>) -> Option<()> {
        if self.null()? {
            return Some(());
        }
        let pairs = &mut out.insert(Object::default()).pairs;
        self.object(1, |s, key| {
            pairs.push((key, s.raw(2)?));
            Some(())
        })
    }

    /// The `groupId` of `context`, which may be `null`.
    fn context_group_id(&mut self) -> Option<Option<&'a str>> {
        if self.null()? {
            return Some(None);
        }
        let mut group_id = None;
        let mut seen = false;
        self.object(1, |s, key| {
            if key != "groupId" {
                return s.skip(2);
            }
            if std::mem::replace(&mut seen, true) {
                return None;
            }
            group_id = s.nullable_str()?;
            Some(())
        })?;
        Some(group_id)
    }

    fn flag(&mut self) -> Option<Option<bool>> {
        if self.null()? {
            return Some(None);
        }
        Some(Some(match self.peek()? {
            b't' => self.literal(b"true").map(|()| true)?,
            _ => self.literal(b"false").map(|()| false)?,
        }))
    }

    /// `:` and the whitespace around it.
    #[inline]
    fn colon(&mut self) -> Option<()> {
        // Usually no whitespace comes first: checking for the colon alone
        // measured cheaper than starting with `ws`.
        if self.peek()? != b':' {
            self.ws();
        }
        self.eat(b':')?;
        self.ws();
        Some(())
    }

    /// The value of a known field, into its place in `call`. The strings
    /// share one reader, inlined once.
    #[inline(always)]
    fn field(&mut self, field: Field, call: &mut Call<'a>) -> Option<()> {
        if let Some(string) = field.string_in(call) {
            *string = self.nullable_str()?;
            return Some(());
        }
        match field {
            Field::Properties => self.fields(&mut call.properties),
            Field::Traits => self.fields(&mut call.traits),
            Field::Context => {
                call.context_group_id = self.context_group_id()?;
                Some(())
            }
            Field::Timestamp => {
                call.timestamp = self.stamp(&mut call.minute)?;
                Some(())
            }
            Field::OriginalTimestamp => {
                call.original_timestamp = self.stamp(&mut call.minute)?;
                Some(())
            }
            Field::ReceivedAt => {
                call.received_at = self.stamp(&mut call.minute)?;
                Some(())
            }
            Field::Override => {
                call.override_ = self.flag()?;
                Some(())
            }
            // The string fields, read above.
            _ => None,
        }
    }

    fn call(&mut self, call: &mut Call<'a>) -> Option<()> {
        self.eat(b'{')?;
        self.ws();
        if self.peek()? == b'}' {
            self.pos += 1;
            return Some(());
        }
        // serde rejects a known field given twice.
        let mut seen = 0u32;
        // As `object`, but a known key is matched in place, before (and
        // instead of) reading it as a string.
        loop {
            self.eat(b'"')?;
            let rest = self.text.as_bytes().get(self.pos..)?;
            if let Some(field) = Field::at_start_of(rest) {
                self.pos += field.quoted_key().len();
                let bit = 1 << field as u32;
                if seen & bit != 0 {
                    return None;
                }
                seen |= bit;
                self.colon()?;
                self.field(field, call)?;
            } else {
                self.plain_body()?;
                self.colon()?;
                self.skip(1)?;
            }
            self.ws();
            match self.bump()? {
                b',' => self.ws(),
                b'}' => return Some(()),
                _ => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{compact_call, string_end, Scanner};
    use crate::ingest::Call;

    /// The compact path takes the W1 lines, and reads each as the general
    /// scanner does (compared as debug text: a call has no `PartialEq`).
    #[test]
    fn w1_lines_take_the_compact_path() {
        for line in include_str!("../benches/w1-sample.ndjson").lines() {
            let mut compact = Call::default();
            assert_eq!(compact_call(line, &mut compact), Some(line.len()), "{line}");
            let mut general = Call::default();
            let mut scanner = Scanner::<true> { text: line, pos: 0 };
            assert!(scanner.call(&mut general).is_some(), "{line}");
            assert_eq!(format!("{compact:?}"), format!("{general:?}"));
        }
    }

    proptest! {
        #[test]
        fn string_end_finds_the_first_special_byte(
            bytes in prop::collection::vec(
                prop::sample::select(vec![b'a', b' ', b'"', b'\\', 0, 0x1f, 0x20, 0x7f, 0x80, 0xa2, 0xdc, 0xff]),
                0..40,
            )
        ) {
            let expected = bytes.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20);
            prop_assert_eq!(string_end(&bytes), expected);
        }
    }
}
