//! The text of block YAML as a list of events, or [`Unsupported`] for anything outside
//! the subset this reader knows exactly (see the module's documentation).

use std::borrow::Cow;

/// One node boundary or scalar of a document, as libyaml reports them.
#[derive(Debug)]
pub enum Event<'a> {
    /// A scalar's value; `plain` when it was written without quotes or `|` (only plain
    /// scalars are resolved to null, booleans and numbers).
    Scalar {
        value: Cow<'a, str>,
        plain: bool,
    },
    SeqStart,
    SeqEnd,
    MapStart,
    MapEnd,
}

/// The text uses YAML this reader leaves to libyaml, or is not YAML at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unsupported;

type Read<T = ()> = Result<T, Unsupported>;

/// Deepest nesting read: below serde_yaml's recursion limit (128), so that what it
/// refuses is left to it.
const MAX_DEPTH: usize = 100;

/// Every document of `text`: the events of all of them, and where each one starts.
pub fn documents(text: &str) -> Read<(Vec<Event<'_>>, Vec<usize>)> {
    if !plain_text(text.as_bytes()) {
        return Err(Unsupported);
    }
    let mut reader = Reader {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        events: Vec::with_capacity(text.len() / 8),
        depth: 0,
    };
    let mut starts = Vec::new();
    loop {
        match reader.next_line(reader.pos)? {
            Line::End => break,
            Line::Boundary(next) => reader.pos = next,
            // Content before any `---` is an implicit document; after a document, only
            // a marker may start the next one.
            Line::Content { .. } if starts.is_empty() => {}
            Line::Content { .. } => return Err(Unsupported),
        }
        starts.push(reader.events.len());
        reader.block_node(-1, false)?;
        if let Line::Content { .. } = reader.next_line(reader.pos)? {
            return Err(Unsupported);
        }
    }
    // serde_yaml reads a text without documents as one empty document.
    if starts.is_empty() {
        return Err(Unsupported);
    }
    Ok((reader.events, starts))
}

/// Whether every character of `text` is one this reader takes as it is: no tab, no
/// carriage return or other control character, no byte-order mark, nothing libyaml
/// counts as a line break besides `\n` (U+0085, U+2028, U+2029), no non-character.
fn plain_text(bytes: &[u8]) -> bool {
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b < 0x20 && b != b'\n' || b == 0x7f {
            return false;
        }
        match (b, bytes.get(i + 1), bytes.get(i + 2)) {
            // U+0080..U+009F (C1 controls, U+0085 among them).
            (0xc2, Some(0x80..=0x9f), _)
            // U+2028, U+2029.
            | (0xe2, Some(0x80), Some(0xa8 | 0xa9))
            // U+FEFF, U+FFFE, U+FFFF.
            | (0xef, Some(0xbb), Some(0xbf))
            | (0xef, Some(0xbf), Some(0xbe | 0xbf)) => return false,
            _ => {}
        }
        i += 1;
    }
    true
}

/// What the next line holding something is.
enum Line {
    /// The text ends first.
    End,
    /// A `---` line (with at most a comment); the next document starts at the offset.
    Boundary(usize),
    /// A line of content starting at `start`, indented by `indent` spaces.
    Content { start: usize, indent: usize },
}

struct Reader<'a> {
    text: &'a str,
    bytes: &'a [u8],
    /// Where reading goes on: a line's start, or within a line after what was read.
    pos: usize,
    events: Vec<Event<'a>>,
    depth: usize,
}

fn blank(b: Option<&u8>) -> bool {
    matches!(b, None | Some(b' ' | b'\n'))
}

impl<'a> Reader<'a> {
    fn at(&self, i: usize) -> Option<u8> {
        self.bytes.get(i).copied()
    }

    fn line_end(&self, from: usize) -> usize {
        self.bytes[from..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(self.bytes.len(), |i| from + i)
    }

    /// The offset after the line that `from` is on.
    fn next_line_start(&self, from: usize) -> usize {
        (self.line_end(from) + 1).min(self.bytes.len())
    }

    fn column(&self, pos: usize) -> usize {
        pos - self.bytes[..pos]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1)
    }

    /// The next line from the line start `from` that is neither blank nor a comment.
    /// A `...` line, or a `---` line with more than a comment after the marker, is left
    /// to libyaml.
    fn next_line(&self, mut from: usize) -> Read<Line> {
        while from < self.bytes.len() {
            let indent = self.bytes[from..]
                .iter()
                .position(|&b| b != b' ')
                .unwrap_or(self.bytes.len() - from);
            let first = from + indent;
            let three = &self.bytes[first..(first + 3).min(self.bytes.len())];
            match self.at(first) {
                None => break,
                Some(b'\n' | b'#') => from = self.next_line_start(first),
                _ if indent == 0 && three == b"..." && blank(self.bytes.get(first + 3)) => {
                    return Err(Unsupported);
                }
                _ if indent == 0 && three == b"---" && blank(self.bytes.get(first + 3)) => {
                    let mut after = first + 3;
                    while self.at(after) == Some(b' ') {
                        after += 1;
                    }
                    return match self.at(after) {
                        None | Some(b'\n') => Ok(Line::Boundary(self.next_line_start(after))),
                        Some(b'#') if after > first + 3 => {
                            Ok(Line::Boundary(self.next_line_start(after)))
                        }
                        Some(_) => Err(Unsupported),
                    };
                }
                Some(_) => {
                    return Ok(Line::Content {
                        start: from,
                        indent,
                    });
                }
            }
        }
        Ok(Line::End)
    }

    /// Reads the node that follows `parent`'s line: from the line start `self.pos`,
    /// after the blank and comment lines, a node indented deeper than `parent` (or a
    /// sequence at `parent`'s own indentation, for a mapping's value); an empty plain
    /// scalar when there is none.
    fn block_node(&mut self, parent: isize, map_value: bool) -> Read {
        let Line::Content { start, indent } = self.next_line(self.pos)? else {
            return self.empty();
        };
        let first = start + indent;
        let entry = self.entry_at(first);
        if indent as isize > parent {
            self.pos = first;
            if entry {
                self.block_seq(indent)
            } else {
                self.inline_node(indent, true)
            }
        } else if map_value && indent as isize == parent && entry {
            self.pos = first;
            self.block_seq(indent)
        } else {
            self.empty()
        }
    }

    /// Whether a sequence entry's `-` is at `i`.
    fn entry_at(&self, i: usize) -> bool {
        self.at(i) == Some(b'-') && blank(self.bytes.get(i + 1))
    }

    /// Whether a plain scalar may start at `self.pos`: not with an indicator (`-` only
    /// before something else than a space).
    fn plain_start(&self) -> bool {
        match self.at(self.pos) {
            None => false,
            Some(b'-') => !blank(self.bytes.get(self.pos + 1)),
            Some(b) => !b"[]{},#&*!|>'\"%@`?: \n".contains(&b),
        }
    }

    fn empty(&mut self) -> Read {
        self.events.push(Event::Scalar {
            value: Cow::Borrowed(""),
            plain: true,
        });
        Ok(())
    }

    fn enter(&mut self) -> Read {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Unsupported);
        }
        Ok(())
    }

    /// A block sequence whose entries' `-` are at column `indent`; `self.pos` is at the
    /// first one.
    fn block_seq(&mut self, indent: usize) -> Read {
        self.enter()?;
        self.events.push(Event::SeqStart);
        loop {
            // Past the `-` and the spaces after it.
            self.pos += 1;
            self.skip_spaces();
            if self.rest_is_blank()? {
                self.pos = self.next_line_start(self.pos);
                self.block_node(indent as isize, false)?;
            } else {
                self.inline_node(indent, true)?;
            }
            match self.next_line(self.pos)? {
                Line::Content { start, indent: i } if i == indent => {
                    let first = start + i;
                    if self.entry_at(first) {
                        self.pos = first;
                        continue;
                    }
                    // A mapping's next key, when the sequence is its value.
                    break;
                }
                Line::Content { indent: i, .. } if i > indent => return Err(Unsupported),
                _ => break,
            }
        }
        self.events.push(Event::SeqEnd);
        self.depth -= 1;
        Ok(())
    }

    /// A block mapping whose keys start at column `indent`; `self.pos` is at the first.
    fn block_map(&mut self, indent: usize) -> Read {
        self.enter()?;
        self.events.push(Event::MapStart);
        loop {
            self.key()?;
            self.skip_spaces();
            if self.rest_is_blank()? {
                self.pos = self.next_line_start(self.pos);
                self.block_node(indent as isize, true)?;
            } else {
                self.inline_node(indent, false)?;
            }
            match self.next_line(self.pos)? {
                Line::Content { start, indent: i } if i == indent => {
                    self.pos = start + i;
                    if self.entry_at(self.pos) {
                        return Err(Unsupported);
                    }
                }
                Line::Content { indent: i, .. } if i > indent => return Err(Unsupported),
                _ => break,
            }
        }
        self.events.push(Event::MapEnd);
        self.depth -= 1;
        Ok(())
    }

    /// A mapping's key at `self.pos` and the `:` after it.
    fn key(&mut self) -> Read {
        let key = match self.at(self.pos) {
            Some(b'"' | b'\'') => {
                let key = self.quoted()?;
                self.skip_spaces();
                key
            }
            _ if self.plain_start() => match self.plain_scalar()? {
                (value, true) => Event::Scalar { value, plain: true },
                (_, false) => return Err(Unsupported),
            },
            _ => return Err(Unsupported),
        };
        if self.at(self.pos) != Some(b':') || !blank(self.bytes.get(self.pos + 1)) {
            return Err(Unsupported);
        }
        self.pos += 1;
        self.events.push(key);
        Ok(())
    }

    /// The node at `self.pos`, within a line: `indent` is the column of the collection
    /// holding it (for a block scalar's indentation) or, when `new_collection`, the
    /// column a mapping starting here would have (a sequence entry's or a document's
    /// node; a mapping's value may not be one).
    fn inline_node(&mut self, indent: usize, new_collection: bool) -> Read {
        match self.at(self.pos) {
            _ if self.entry_at(self.pos) => {
                if new_collection {
                    let column = self.column(self.pos);
                    self.block_seq(column)
                } else {
                    Err(Unsupported)
                }
            }
            Some(b'[' | b'{') => {
                self.enter()?;
                self.flow_node()?;
                self.depth -= 1;
                self.end_of_line()
            }
            Some(b'|') => self.literal(indent),
            Some(b'"' | b'\'') => {
                let start = self.pos;
                let scalar = self.quoted()?;
                self.skip_spaces();
                if self.at(self.pos) == Some(b':') && blank(self.bytes.get(self.pos + 1)) {
                    return self.mapping_here(start, new_collection);
                }
                self.events.push(scalar);
                self.end_of_line()
            }
            _ if !self.plain_start() => Err(Unsupported),
            _ => {
                let start = self.pos;
                match self.plain_scalar()? {
                    (_, true) => self.mapping_here(start, new_collection),
                    (value, false) => {
                        self.events.push(Event::Scalar { value, plain: true });
                        self.end_of_line()
                    }
                }
            }
        }
    }

    /// A block mapping whose first key starts at `start`, where one may start.
    fn mapping_here(&mut self, start: usize, allowed: bool) -> Read {
        if !allowed {
            return Err(Unsupported);
        }
        self.pos = start;
        let column = self.column(start);
        self.block_map(column)
    }

    /// Past what follows a value on its line: spaces and a comment at most.
    fn end_of_line(&mut self) -> Read {
        self.skip_spaces();
        if self.rest_is_blank()? {
            self.pos = self.next_line_start(self.pos);
            Ok(())
        } else {
            Err(Unsupported)
        }
    }

    fn skip_spaces(&mut self) {
        while self.at(self.pos) == Some(b' ') {
            self.pos += 1;
        }
    }

    /// Whether the line ends at `self.pos` (spaces skipped), or only a comment follows;
    /// a `#` right after other text is not a comment.
    fn rest_is_blank(&self) -> Read<bool> {
        match self.at(self.pos) {
            None | Some(b'\n') => Ok(true),
            Some(b'#') if self.pos > 0 && self.bytes[self.pos - 1] == b' ' => Ok(true),
            Some(b'#') => Err(Unsupported),
            _ => Ok(false),
        }
    }

    /// A one-line plain scalar in block context at `self.pos`, trimmed, and whether a
    /// `:` and a space (or the line's end) ended it: it is then a mapping's key and
    /// `self.pos` is at the `:`.
    fn plain_scalar(&mut self) -> Read<(Cow<'a, str>, bool)> {
        let start = self.pos;
        let mut end = start;
        let mut i = start;
        let key = loop {
            match self.at(i) {
                None | Some(b'\n') => break false,
                Some(b':') if blank(self.bytes.get(i + 1)) => break true,
                Some(b'#') if self.bytes[i - 1] == b' ' => break false,
                Some(b' ') => {}
                Some(_) => end = i + 1,
            }
            i += 1;
        };
        if end == start {
            return Err(Unsupported);
        }
        self.pos = if key { i } else { end };
        Ok((Cow::Borrowed(&self.text[start..end]), key))
    }

    /// A quoted scalar on one line at `self.pos` (at its quote).
    fn quoted(&mut self) -> Read<Event<'a>> {
        let quote = self.bytes[self.pos];
        let start = self.pos + 1;
        let (mut i, mut from) = (start, start);
        // Only a scalar with escapes is copied.
        let mut owned: Option<String> = None;
        loop {
            match self.at(i) {
                None | Some(b'\n') => return Err(Unsupported),
                Some(b'\'') if quote == b'\'' && self.at(i + 1) == Some(b'\'') => {
                    owned.get_or_insert_default().push_str(&self.text[from..=i]);
                    i += 2;
                    from = i;
                }
                Some(b) if b == quote => break,
                Some(b'\\') if quote == b'"' => {
                    let (c, len) = self.escape(i + 1)?;
                    let s = owned.get_or_insert_default();
                    s.push_str(&self.text[from..i]);
                    s.push(c);
                    i += 1 + len;
                    from = i;
                }
                Some(_) => i += 1,
            }
        }
        self.pos = i + 1;
        let value = match owned {
            Some(mut s) => {
                s.push_str(&self.text[from..i]);
                Cow::Owned(s)
            }
            None => Cow::Borrowed(&self.text[start..i]),
        };
        Ok(Event::Scalar {
            value,
            plain: false,
        })
    }

    /// The character an escape at `i` (after its backslash) stands for, and its length.
    fn escape(&self, i: usize) -> Read<(char, usize)> {
        let hex = |len: usize| -> Read<(char, usize)> {
            let digits = self.text.get(i + 1..i + 1 + len).ok_or(Unsupported)?;
            if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(Unsupported);
            }
            let code = u32::from_str_radix(digits, 16).map_err(|_| Unsupported)?;
            Ok((char::from_u32(code).ok_or(Unsupported)?, 1 + len))
        };
        let c = match self.at(i).ok_or(Unsupported)? {
            b'0' => '\0',
            b'a' => '\x07',
            b'b' => '\x08',
            b't' => '\t',
            b'n' => '\n',
            b'v' => '\x0b',
            b'f' => '\x0c',
            b'r' => '\r',
            b'e' => '\x1b',
            b' ' => ' ',
            b'"' => '"',
            b'/' => '/',
            b'\\' => '\\',
            b'N' => '\u{85}',
            b'_' => '\u{a0}',
            b'L' => '\u{2028}',
            b'P' => '\u{2029}',
            b'x' => return hex(2),
            b'u' => return hex(4),
            b'U' => return hex(8),
            _ => return Err(Unsupported),
        };
        Ok((c, 1))
    }

    /// A flow collection on one line at `self.pos` (at its bracket).
    fn flow_node(&mut self) -> Read {
        let close = match self.bytes[self.pos] {
            b'[' => b']',
            _ => b'}',
        };
        self.events.push(if close == b']' {
            Event::SeqStart
        } else {
            Event::MapStart
        });
        self.pos += 1;
        self.skip_spaces();
        if self.at(self.pos) == Some(close) {
            self.pos += 1;
        } else {
            loop {
                if close == b'}' {
                    self.flow_item(true)?;
                    if self.at(self.pos) != Some(b':') || self.at(self.pos + 1) != Some(b' ') {
                        return Err(Unsupported);
                    }
                    self.pos += 1;
                    self.skip_spaces();
                }
                self.flow_item(false)?;
                match self.at(self.pos) {
                    Some(b',') => {
                        self.pos += 1;
                        self.skip_spaces();
                        // A trailing comma is left to libyaml.
                        if matches!(self.at(self.pos), Some(b']' | b'}')) {
                            return Err(Unsupported);
                        }
                    }
                    Some(b) if b == close => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(Unsupported),
                }
            }
        }
        self.events.push(if close == b']' {
            Event::SeqEnd
        } else {
            Event::MapEnd
        });
        Ok(())
    }

    /// One scalar or collection within a flow collection, and the spaces after it.
    /// A key (`key`) ends at a `:` and a space.
    fn flow_item(&mut self, key: bool) -> Read {
        match self.at(self.pos) {
            Some(b'[' | b'{') if !key => {
                self.enter()?;
                self.flow_node()?;
                self.depth -= 1;
            }
            Some(b'"' | b'\'') => {
                let scalar = self.quoted()?;
                self.events.push(scalar);
            }
            Some(b) if b" \n#,[]{}>|&*!?:%@`-".contains(&b) => return Err(Unsupported),
            None => return Err(Unsupported),
            Some(_) => {
                let start = self.pos;
                let mut end = start;
                loop {
                    match self.at(self.pos) {
                        Some(b',' | b']' | b'}' | b'\n') | None => break,
                        // A `:` before a space ends a key; before another character
                        // of a flow collection libyaml refuses it; else it is text.
                        Some(b':') => match self.at(self.pos + 1) {
                            Some(b' ' | b'\n') | None if key => break,
                            Some(b' ' | b'\n' | b',' | b'?' | b'[' | b']' | b'{' | b'}') | None => {
                                return Err(Unsupported);
                            }
                            Some(_) => end = self.pos + 1,
                        },
                        Some(b'#' | b'[' | b'{') => return Err(Unsupported),
                        Some(b' ') => {}
                        Some(_) => end = self.pos + 1,
                    }
                    self.pos += 1;
                }
                self.pos = end;
                self.events.push(Event::Scalar {
                    value: Cow::Borrowed(&self.text[start..end]),
                    plain: true,
                });
            }
        }
        self.skip_spaces();
        Ok(())
    }

    /// A literal block scalar (`|` or `|-`) at `self.pos`, in a collection at column
    /// `parent`. Its indentation is its first line's; lines of spaces only are empty
    /// lines (one indented deeper than the content is left to libyaml, as are a first
    /// line not deeper than `parent`, `|+`, an indentation indicator, and a last line
    /// without its line break).
    fn literal(&mut self, parent: usize) -> Read {
        self.pos += 1;
        let strip = match self.at(self.pos) {
            Some(b'-') => {
                self.pos += 1;
                true
            }
            Some(b' ' | b'\n') | None => false,
            _ => return Err(Unsupported),
        };
        self.end_of_line()?;
        let mut value = String::new();
        let mut indent = None;
        // Empty lines seen since the last content line: kept only if content follows.
        let mut empty = 0;
        // The deepest empty line: none may be deeper than the content.
        let mut deepest = 0;
        let mut line = self.pos;
        while line < self.bytes.len() {
            let end = self.line_end(line);
            let spaces = self.bytes[line..end]
                .iter()
                .position(|&b| b != b' ')
                .unwrap_or(end - line);
            if line + spaces == end {
                if indent.is_some_and(|indent| spaces > indent) {
                    return Err(Unsupported);
                }
                deepest = deepest.max(spaces);
                empty += 1;
                line = self.next_line_start(end);
                continue;
            }
            let indent = *indent.get_or_insert(spaces);
            if spaces < indent {
                break;
            }
            if indent <= parent || deepest > indent || end == self.bytes.len() {
                return Err(Unsupported);
            }
            for _ in 0..empty {
                value.push('\n');
            }
            empty = 0;
            value.push_str(&self.text[line + indent..end]);
            value.push('\n');
            line = end + 1;
        }
        if indent.is_none() {
            return Err(Unsupported);
        }
        if strip {
            value.pop();
        }
        self.pos = line.min(self.bytes.len());
        self.events.push(Event::Scalar {
            value: Cow::Owned(value),
            plain: false,
        });
        Ok(())
    }
}
