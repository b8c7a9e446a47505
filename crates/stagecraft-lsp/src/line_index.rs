//! Conversions between byte offsets (what the AST's spans hold) and LSP
//! positions, whose `character` counts UTF-16 code units.

use lsp_types::{Position, Range};
use stagecraft::syntax::Span;

/// Where each line of a text starts, for offset ↔ position conversion.
#[derive(Debug, Clone)]
pub struct LineIndex {
    /// Byte offset of the start of each line; the first is 0.
    starts: Vec<usize>,
    len: usize,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex {
            starts,
            len: text.len(),
        }
    }

    /// The LSP position of a byte offset. Offsets past the end, or inside a
    /// multi-byte character, are clamped to a character boundary before them.
    pub fn position(&self, text: &str, offset: usize) -> Position {
        let mut offset = offset.min(self.len);
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|&s| s <= offset) - 1;
        let start = self.starts[line];
        let character = text[start..offset].encode_utf16().count();
        Position::new(line as u32, character as u32)
    }

    pub fn range(&self, text: &str, span: Span) -> Range {
        Range::new(
            self.position(text, span.start),
            self.position(text, span.end),
        )
    }

    /// The byte offset of an LSP position. A line past the end is the end of
    /// the text; a character past the end of its line is the end of the line
    /// (before its line break); a position inside a surrogate pair is the
    /// start of that character.
    pub fn offset(&self, text: &str, position: Position) -> usize {
        let Some(&start) = self.starts.get(position.line as usize) else {
            return self.len;
        };
        let line_end = self
            .starts
            .get(position.line as usize + 1)
            .map_or(self.len, |&next| next - 1);
        let line = &text[start..line_end];
        let line = line.strip_suffix('\r').unwrap_or(line);
        let mut units = 0u32;
        for (i, c) in line.char_indices() {
            let width = c.len_utf16() as u32;
            if units + width > position.character {
                return start + i;
            }
            units += width;
        }
        start + line.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_round_trips() {
        let text = "ab\ncd\n";
        let index = LineIndex::new(text);
        assert_eq!(index.position(text, 4), Position::new(1, 1));
        assert_eq!(index.offset(text, Position::new(1, 1)), 4);
        assert_eq!(index.position(text, 6), Position::new(2, 0));
        assert_eq!(index.offset(text, Position::new(9, 0)), 6);
    }

    #[test]
    fn counts_utf16_code_units() {
        // `é` is 2 bytes and 1 UTF-16 unit; `😀` is 4 bytes and 2 units.
        let text = "# é😀\nx = 1\n";
        let index = LineIndex::new(text);
        let after_emoji = "# é😀".len();
        assert_eq!(index.position(text, after_emoji), Position::new(0, 5));
        assert_eq!(index.offset(text, Position::new(0, 5)), after_emoji);
        assert_eq!(index.offset(text, Position::new(0, 3)), "# é".len());
        // Inside the surrogate pair: the start of the emoji.
        assert_eq!(index.offset(text, Position::new(0, 4)), "# é".len());
        // Past the end of the line: before the line break.
        assert_eq!(index.offset(text, Position::new(0, 40)), after_emoji);
        assert_eq!(index.position(text, after_emoji + 1), Position::new(1, 0));
    }

    #[test]
    fn crlf_lines_end_before_the_carriage_return() {
        let text = "ab\r\ncd";
        let index = LineIndex::new(text);
        assert_eq!(index.offset(text, Position::new(0, 10)), 2);
        assert_eq!(index.offset(text, Position::new(1, 1)), 5);
    }
}
