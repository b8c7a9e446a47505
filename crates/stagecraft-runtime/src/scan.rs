//! The fast path of ingest: a strict single-pass scanner for the usual shape
//! of a call. It builds the [`RawCall`] serde_json would build, borrowing
//! from the line, and gives up (`None`) on anything unusual: an escape in a
//! key or in a string it decodes, an id that is not a string, a duplicate
//! field, deep nesting, a syntax error. The caller then takes the serde_json path, which
//! gives the same answer for the lines accepted here and says what is wrong
//! with the others, so nothing here needs an error message.

use std::borrow::Cow;

use crate::ingest::{Fields, Id, RawCall, RawContext, Stamp};
use crate::time;

/// Containers nested deeper than this are left to serde_json.
const MAX_DEPTH: u32 = 16;

/// Scans one line into `call` (fresh), as serde_json would read it, or
/// gives up with `None`. The call is large, so it is filled in place.
pub(crate) fn call<'a>(line: &'a str, call: &mut RawCall<'a>) -> Option<()> {
    let mut s = Scanner { text: line, pos: 0 };
    s.ws();
    s.call(call)?;
    s.ws();
    (s.pos == line.len()).then_some(())
}

/// The index of the first `"`, `\\` or control character in `bytes`. Eight
/// bytes at a time: strings are most of a line.
fn string_end(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // The high bit of each byte below `n` (exact up to the first one, which
    // is all that is read).
    let below = |word: u64, n: u8| word.wrapping_sub(ONES * u64::from(n)) & !word & HIGHS;
    let mut at = 0;
    while let Some(chunk) = bytes.get(at..at + 8) {
        let word = u64::from_le_bytes(chunk.try_into().ok()?);
        let hits = below(word ^ (ONES * u64::from(b'"')), 1)
            | below(word ^ (ONES * u64::from(b'\\')), 1)
            | below(word, 0x20);
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

struct Scanner<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Scanner<'a> {
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

    /// JSON whitespace only, as serde_json reads it.
    #[inline]
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
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
        let start = self.pos;
        let rest = self.text.as_bytes().get(start..)?;
        let len = string_end(rest)?;
        if rest.get(len) != Some(&b'"') {
            return None;
        }
        self.pos = start + len + 1;
        self.text.get(start..start + len)
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
            self.ws();
            self.eat(b':')?;
            self.ws();
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

    // The readers below write straight into the call's (still empty) field:
    // returning the value and copying it in measured slower.

    #[inline]
    fn opt_str(&mut self, out: &mut Option<Cow<'a, str>>) -> Option<()> {
        if !self.null()? {
            *out = Some(Cow::Borrowed(self.plain_str()?));
        }
        Some(())
    }

    /// A string id, or `null`; numeric ids and the rest go to serde_json.
    #[inline]
    fn id(&mut self, out: &mut Id<'a>) -> Option<()> {
        if !self.null()? {
            out.0 = Some(Cow::Borrowed(self.plain_str()?));
        }
        Some(())
    }

    /// An RFC 3339 string, or epoch milliseconds as a whole number that
    /// fits an `i64` (serde_json reads `-0` as a float, hence no sign).
    fn stamp(&mut self, out: &mut Option<Stamp>) -> Option<()> {
        if self.null()? {
            return Some(());
        }
        *out = Some(if self.peek()? == b'"' {
            let text = self.plain_str()?;
            match time::parse_rfc3339(text) {
                Some(ms) => Stamp::Millis(ms),
                None => Stamp::Invalid(format!("\"{text}\"")),
            }
        } else {
            let text = self.number()?;
            if !text.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            Stamp::Millis(text.parse().ok()?)
        });
        Some(())
    }

    /// `properties` or `traits`: an object (keys plain, values as text) or
    /// `null`.
    fn fields(&mut self, out: &mut Option<Fields<'a>>) -> Option<()> {
        if self.null()? {
            return Some(());
        }
        let fields = out.insert(Fields::default());
        self.object(1, |s, key| {
            fields.pairs.push((Cow::Borrowed(key), s.raw(2)?));
            Some(())
        })
    }

    fn context(&mut self, out: &mut Option<RawContext<'a>>) -> Option<()> {
        if self.null()? {
            return Some(());
        }
        let context = out.insert(RawContext::default());
        let mut seen = false;
        self.object(1, |s, key| {
            if key != "groupId" {
                return s.skip(2);
            }
            if std::mem::replace(&mut seen, true) {
                return None;
            }
            s.id(&mut context.group_id)
        })
    }

    fn flag(&mut self, out: &mut Option<bool>) -> Option<()> {
        if !self.null()? {
            *out = Some(match self.peek()? {
                b't' => self.literal(b"true").map(|()| true)?,
                _ => self.literal(b"false").map(|()| false)?,
            });
        }
        Some(())
    }

    fn call(&mut self, call: &mut RawCall<'a>) -> Option<()> {
        // serde rejects a known field given twice.
        let mut seen = 0u32;
        self.object(0, |s, key| {
            let (bit, read) = match key {
                "type" => (0, s.opt_str(&mut call.kind)),
                "messageId" => (1, s.id(&mut call.message_id)),
                "userId" => (2, s.id(&mut call.user_id)),
                "anonymousId" => (3, s.id(&mut call.anonymous_id)),
                "groupId" => (4, s.id(&mut call.group_id)),
                "event" => (5, s.opt_str(&mut call.event)),
                "name" => (6, s.opt_str(&mut call.name)),
                "properties" => (7, s.fields(&mut call.properties)),
                "traits" => (8, s.fields(&mut call.traits)),
                "context" => (9, s.context(&mut call.context)),
                "timestamp" => (10, s.stamp(&mut call.timestamp)),
                "originalTimestamp" => (11, s.stamp(&mut call.original_timestamp)),
                "receivedAt" => (12, s.stamp(&mut call.received_at)),
                "subject" => (13, s.id(&mut call.subject)),
                "to" => (14, s.opt_str(&mut call.to)),
                "role" => (15, s.opt_str(&mut call.role)),
                "actor" => (16, s.opt_str(&mut call.actor)),
                "reason" => (17, s.opt_str(&mut call.reason)),
                "override" => (18, s.flag(&mut call.override_)),
                "escalation" => (19, s.opt_str(&mut call.escalation)),
                _ => return s.skip(1),
            };
            read?;
            if seen & (1 << bit) != 0 {
                return None;
            }
            seen |= 1 << bit;
            Some(())
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::string_end;

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
