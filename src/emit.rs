//! Emit stage: YAML text exactly as kustomize v5.5 prints it.
//!
//! `kubectl kustomize` turns every resource into JSON and hands it to go-yaml v2
//! (`sigs.k8s.io/yaml.JSONToYAML`), so its output is whatever that encoder
//! decides. This module reproduces those decisions byte for byte:
//!
//! * key order: go-yaml v2's "natural" sorter ([`compare_keys`], `go_less`);
//! * which strings need quotes: go-yaml v2's YAML 1.1 resolver (`needs_quotes`);
//! * plain, single-quoted, double-quoted or literal style: the libyaml scalar
//!   analysis (`Analysis`);
//! * folding of long scalars after column 80 and the 2-space block layout
//!   (`Writer`);
//! * numbers as Go prints them after the JSON round trip (`write_number`).
//!
//! Everything is written into one `String`; apart from rare cases (numbers
//! with `_`, non-ASCII digits in keys) the only allocation is one key vector
//! per mapping whose keys `serde_json` does not already hold in kustomize's
//! order (see [`in_natural_order`]).

use std::cmp::Ordering;
use std::fmt::Write as _;

use serde_json::{Map, Number, Value};

/// Column after which go-yaml folds a long scalar at its next space.
const BEST_WIDTH: usize = 80;
/// Indentation step of nested block collections and scalars.
const INDENT: usize = 2;
/// Longest key (in bytes) written as `key: value`; longer ones become `? key`.
const MAX_SIMPLE_KEY_BYTES: usize = 128;
/// The YAML merge key; kustomize leaves such entries out of its output.
const MERGE_KEY: &str = "<<";

/// How a rendering is printed: kustomize's YAML stream, or one pretty-printed JSON array
/// of the objects (`build --output json`). Both are emitted one object at a time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Format {
    #[default]
    Yaml,
    Json,
}

impl Format {
    /// The text of one object: a YAML document, or an item of the JSON array (what
    /// `serde_json::to_string_pretty` prints for it inside the array).
    pub fn document(self, value: &Value) -> String {
        match self {
            Format::Yaml => document(value),
            Format::Json => {
                let text = serde_json::to_string_pretty(value).expect("JSON values serialise");
                // JSON escapes line breaks inside strings: every line is the structure's,
                // and an array item is indented one level.
                let mut item = String::with_capacity(text.len() + text.len() / 4);
                for (n, line) in text.lines().enumerate() {
                    if n > 0 {
                        item.push('\n');
                    }
                    item.push_str("  ");
                    item.push_str(line);
                }
                item
            }
        }
    }

    /// Writes documents made by [`Format::document`], in order, as one whole text: the
    /// YAML documents separated by `---`, or the JSON array ending with a line break.
    pub fn write(
        self,
        out: &mut (impl std::io::Write + ?Sized),
        documents: impl IntoIterator<Item = impl AsRef<str>>,
    ) -> std::io::Result<()> {
        let (open, separator, close) = match self {
            Format::Yaml => ("", "---\n", ""),
            Format::Json => ("[\n", ",\n", "\n]\n"),
        };
        let mut documents = documents.into_iter().peekable();
        if documents.peek().is_none() {
            return out.write_all(if self == Format::Json { b"[]\n" } else { b"" });
        }
        out.write_all(open.as_bytes())?;
        for (n, document) in documents.enumerate() {
            if n > 0 {
                out.write_all(separator.as_bytes())?;
            }
            out.write_all(document.as_ref().as_bytes())?;
        }
        out.write_all(close.as_bytes())
    }
}

/// One document, ending with "\n" (no leading `---`).
///
/// This is what `kubectl kustomize` prints for a single resource, so generated
/// manifests can be compared with (and diffed against) kustomize's output.
pub fn document(value: &Value) -> String {
    let mut writer = Writer::default();
    writer.document(value);
    writer.out
}

/// A stream: documents joined by "---\n"; empty slice gives "".
///
/// Same layout as `kubectl kustomize` uses for several resources (no leading
/// separator, every document ends with a newline).
pub fn stream<'a>(values: impl IntoIterator<Item = &'a Value>) -> String {
    let mut writer = Writer::default();
    writer
        .stream(values, |_| Ok(()))
        .expect("emitting into a String cannot fail");
    writer.out
}

/// [`stream`] written to `out` as it is emitted, in chunks of about 64 KiB: the
/// whole text is never held in memory (what `platgen build` prints).
pub fn write_stream<'a>(
    out: &mut (impl std::io::Write + ?Sized),
    values: impl IntoIterator<Item = &'a Value>,
) -> std::io::Result<()> {
    const CHUNK: usize = 64 * 1024;
    let mut writer = Writer {
        out: String::with_capacity(2 * CHUNK),
        ..Writer::default()
    };
    writer.stream(values, |text| {
        if text.len() >= CHUNK {
            out.write_all(text.as_bytes())?;
            text.clear();
        }
        Ok(())
    })?;
    out.write_all(writer.out.as_bytes())
}

/// Kustomize's map-key order (go-yaml v2 natural order), made total (see below).
///
/// Keys are compared as sequences of tokens: a symbol (any non-letter,
/// non-digit character) < a run of digits < a letter; symbols and letters by
/// code point, digit runs by numeric value, then fewer leading zeros first.
/// "Letter" and "digit" mean Go's `unicode.IsLetter` / `unicode.IsDigit`.
///
/// This equals go-yaml's own comparator on every pair of keys except one
/// kind: keys sharing a prefix that ends in digits, where one continues with a
/// letter and the other with a digit (`v1alpha1`/`v10`). There go-yaml
/// compares the letter with the digit, which makes its order cyclic
/// (`v1alpha1 < v2 < v10 < v1alpha1`), so no total order can agree with it;
/// this function keeps whole numbers together instead (`v1alpha1 < v10`).
/// (Go's wrapping 64-bit arithmetic on digit runs of 19+ digits and its
/// values for non-ASCII digits inside numbers can make them differ too.)
/// It is a total order, safe for `sort_by`. The emitter itself additionally
/// applies go-yaml's exact comparator, so its output matches kustomize on every
/// key set that kustomize sorts deterministically.
pub fn compare_keys(a: &str, b: &str) -> Ordering {
    let mut left = Tokens { rest: a };
    let mut right = Tokens { rest: b };
    loop {
        match (left.next(), right.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => match x.cmp_with(&y) {
                Ordering::Equal => {}
                order => return order,
            },
        }
    }
}

// ---------------------------------------------------------------------------
// Block layout
// ---------------------------------------------------------------------------

/// Output buffer plus the little state libyaml keeps to place the next token.
struct Writer {
    out: String,
    /// Characters (not bytes) written on the current line.
    column: usize,
    /// The last thing written was whitespace (or the line start).
    whitespace: bool,
    /// Only indentation and indicators (`- `, `? `, `: `) are on this line.
    indention: bool,
}

impl Default for Writer {
    fn default() -> Self {
        Writer {
            out: String::with_capacity(1024),
            column: 0,
            whitespace: true,
            indention: true,
        }
    }
}

/// How a scalar is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
}

impl Writer {
    /// The documents joined by "---\n", `after` called with the text so far after each
    /// (to write it out and clear it).
    fn stream<'a>(
        &mut self,
        values: impl IntoIterator<Item = &'a Value>,
        mut after: impl FnMut(&mut String) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self.out.push_str("---\n");
            }
            self.document(value);
            after(&mut self.out)?;
        }
        Ok(())
    }

    fn document(&mut self, value: &Value) {
        self.column = 0;
        self.whitespace = true;
        self.indention = true;
        self.node(value, None, false);
        // Document end: finish the last line.
        self.write_indent(0);
    }

    /// Writes any node. `parent` is the indentation of the enclosing
    /// collection (`None` at the root); `in_mapping` says the node is a
    /// mapping value, which lets a sequence start at its key's column.
    fn node(&mut self, value: &Value, parent: Option<usize>, in_mapping: bool) {
        let scalar_indent = parent.map_or(INDENT, |p| p + INDENT);
        match value {
            Value::Null => self.plain_token("null"),
            Value::Bool(b) => self.plain_token(if *b { "true" } else { "false" }),
            Value::Number(n) => self.number(n),
            Value::String(s) => self.scalar(s, &Analysis::of(s), scalar_indent, false),
            Value::Array(items) if items.is_empty() => self.empty_collection("[", "]"),
            Value::Array(items) => {
                // After `key:` the dashes line up with the key ("indentless").
                let indent = match parent {
                    None => 0,
                    Some(p) if in_mapping && !self.indention => p,
                    Some(p) => p + INDENT,
                };
                self.sequence(items, indent);
            }
            Value::Object(map) => {
                let indent = parent.map_or(0, |p| p + INDENT);
                if map_in_natural_order(map) {
                    // The common case: the map's own order is kustomize's, no sort needed.
                    if map.is_empty() {
                        self.empty_collection("{", "}");
                    } else {
                        self.mapping(map.iter().map(|(k, v)| (k.as_str(), v)), indent);
                    }
                } else {
                    let entries = sorted_entries(map);
                    if entries.is_empty() {
                        self.empty_collection("{", "}");
                    } else {
                        self.mapping(entries.into_iter(), indent);
                    }
                }
            }
        }
    }

    fn sequence(&mut self, items: &[Value], indent: usize) {
        for item in items {
            self.write_indent(indent);
            self.indicator("-", true, false, true);
            self.node(item, Some(indent), false);
        }
    }

    fn mapping<'v>(&mut self, entries: impl Iterator<Item = (&'v str, &'v Value)>, indent: usize) {
        for (key, value) in entries {
            self.write_indent(indent);
            let analysis = Analysis::of(key);
            if !analysis.multiline && key.len() <= MAX_SIMPLE_KEY_BYTES {
                self.scalar(key, &analysis, indent + INDENT, true);
                self.indicator(":", false, false, false);
            } else {
                // Multi-line or very long keys use the explicit `? key` form.
                self.indicator("?", true, false, true);
                self.scalar(key, &analysis, indent + INDENT, false);
                self.write_indent(indent);
                self.indicator(":", true, false, true);
            }
            self.node(value, Some(indent), true);
        }
    }

    fn empty_collection(&mut self, open: &str, close: &str) {
        self.indicator(open, true, true, false);
        self.indicator(close, false, false, false);
    }

    /// Starts a line at `indent` unless the cursor already sits there after
    /// indentation or an indicator (libyaml's `write_indent`).
    fn write_indent(&mut self, indent: usize) {
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.out.push('\n');
            self.column = 0;
        }
        if self.column < indent {
            self.out
                .extend(std::iter::repeat_n(' ', indent - self.column));
            self.column = indent;
        }
        self.whitespace = true;
        self.indention = true;
    }

    /// Writes an ASCII indicator such as `-`, `:`, `?`, `{`, `"` or `|`.
    fn indicator(&mut self, text: &str, need_space: bool, is_space: bool, is_indention: bool) {
        if need_space && !self.whitespace {
            self.put(' ');
        }
        self.out.push_str(text);
        self.column += text.len();
        self.whitespace = is_space;
        self.indention &= is_indention;
    }

    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    /// A line break that is part of a scalar's text.
    fn write_break(&mut self, c: char) {
        self.out.push(c);
        self.column = 0;
        self.indention = true;
    }

    /// A plain token without spaces (number, boolean, null).
    fn plain_token(&mut self, text: &str) {
        if !self.whitespace {
            self.put(' ');
        }
        self.out.push_str(text);
        self.column += text.len();
        self.whitespace = false;
        self.indention = false;
    }

    fn number(&mut self, n: &Number) {
        if !self.whitespace {
            self.put(' ');
        }
        let start = self.out.len();
        write_number(&mut self.out, n);
        self.column += self.out.len() - start;
        self.whitespace = false;
        self.indention = false;
    }

    /// Writes a string scalar; `indent` is where folded or block lines go.
    fn scalar(&mut self, s: &str, analysis: &Analysis, indent: usize, simple_key: bool) {
        let allow_breaks = !simple_key;
        match choose_style(s, analysis, simple_key) {
            Style::Plain => self.plain(s, indent, allow_breaks),
            Style::SingleQuoted => self.single_quoted(s, indent, allow_breaks),
            Style::DoubleQuoted => self.double_quoted(s, indent, allow_breaks),
            Style::Literal => self.literal(s, indent),
        }
    }

    /// Plain scalar, folded at a single space once past column 80.
    fn plain(&mut self, s: &str, indent: usize, allow_breaks: bool) {
        if !s.is_empty() && !self.whitespace {
            self.put(' ');
        }
        if !allow_breaks || self.column + s.len() <= BEST_WIDTH + 1 {
            // No space can come after column 80: copy in one go.
            self.out.push_str(s);
            self.column += char_count(s);
        } else {
            let bytes = s.as_bytes();
            let mut after_space = false;
            for (i, c) in s.char_indices() {
                if c == ' ' {
                    let next_is_space = bytes.get(i + 1) == Some(&b' ');
                    if !after_space && self.column > BEST_WIDTH && !next_is_space {
                        self.write_indent(indent);
                    } else {
                        self.put(' ');
                    }
                    after_space = true;
                } else {
                    self.put(c);
                    self.indention = false;
                    after_space = false;
                }
            }
        }
        if !s.is_empty() {
            self.whitespace = false;
        }
        self.indention = false;
    }

    /// `'text'`, quotes doubled, folded like plain scalars.
    fn single_quoted(&mut self, s: &str, indent: usize, allow_breaks: bool) {
        self.indicator("'", true, false, false);
        let bytes = s.as_bytes();
        let mut after_space = false;
        let mut after_break = false;
        for (i, c) in s.char_indices() {
            if c == ' ' {
                let inner = i > 0 && i + 1 < s.len();
                let next_is_space = bytes.get(i + 1) == Some(&b' ');
                if allow_breaks
                    && !after_space
                    && self.column > BEST_WIDTH
                    && inner
                    && !next_is_space
                {
                    self.write_indent(indent);
                } else {
                    self.put(' ');
                }
                after_space = true;
            } else if is_break(c) {
                // Only U+2028 / U+2029 get here: text with '\n' is never
                // single-quoted.
                self.write_break(c);
                after_break = true;
            } else {
                if after_break {
                    self.write_indent(indent);
                }
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                self.indention = false;
                after_space = false;
                after_break = false;
            }
        }
        self.indicator("'", false, false, false);
    }

    /// `"text"` with backslash escapes, folded at spaces past column 80.
    fn double_quoted(&mut self, s: &str, indent: usize, allow_breaks: bool) {
        self.indicator("\"", true, false, false);
        // go-yaml tests for a byte order mark at the start of the whole
        // string instead of at each character, so such a string is escaped
        // from end to end.
        let escape_all = s.starts_with('\u{FEFF}');
        let bytes = s.as_bytes();
        let mut after_space = false;
        for (i, c) in s.char_indices() {
            if escape_all || !is_printable(c) || is_break(c) || c == '"' || c == '\\' {
                self.escape(c);
                after_space = false;
            } else if c == ' ' {
                let inner = i > 0 && i + 1 < s.len();
                if allow_breaks && !after_space && self.column > BEST_WIDTH && inner {
                    self.write_indent(indent);
                    if bytes.get(i + 1) == Some(&b' ') {
                        self.put('\\');
                    }
                } else {
                    self.put(' ');
                }
                after_space = true;
            } else {
                self.put(c);
                after_space = false;
            }
        }
        self.indicator("\"", false, false, false);
    }

    fn escape(&mut self, c: char) {
        let short = match c {
            '\0' => Some('0'),
            '\u{7}' => Some('a'),
            '\u{8}' => Some('b'),
            '\t' => Some('t'),
            '\n' => Some('n'),
            '\u{B}' => Some('v'),
            '\u{C}' => Some('f'),
            '\r' => Some('r'),
            '\u{1B}' => Some('e'),
            '"' => Some('"'),
            '\\' => Some('\\'),
            '\u{85}' => Some('N'),
            '\u{A0}' => Some('_'),
            '\u{2028}' => Some('L'),
            '\u{2029}' => Some('P'),
            _ => None,
        };
        let start = self.out.len();
        match short {
            Some(letter) => {
                self.out.push('\\');
                self.out.push(letter);
            }
            None => {
                let code = u32::from(c);
                let _ = match code {
                    0..=0xFF => write!(self.out, "\\x{code:02X}"),
                    0x100..=0xFFFF => write!(self.out, "\\u{code:04X}"),
                    _ => write!(self.out, "\\U{code:08X}"),
                };
            }
        }
        self.column += self.out.len() - start;
    }

    /// `|` block: indentation hint `2` when the text starts with a space or
    /// a line break; chomping `-` (no final break), none (one), `+` (more).
    fn literal(&mut self, s: &str, indent: usize) {
        self.indicator("|", true, false, false);
        if s.starts_with(|c: char| c == ' ' || is_break(c)) {
            self.indicator("2", false, false, false);
        }
        let mut from_end = s.chars().rev();
        let chomp = match (from_end.next(), from_end.next()) {
            (Some(last), _) if !is_break(last) => Some("-"),
            (None, _) => Some("-"),
            (Some(_), None) => Some("+"),
            (Some(_), Some(before)) if is_break(before) => Some("+"),
            _ => None,
        };
        if let Some(hint) = chomp {
            self.indicator(hint, false, false, false);
        }
        self.write_break('\n');
        self.whitespace = true;
        // Copy line by line; blank lines get no indentation.
        let mut line_start = 0;
        for (i, c) in s.char_indices() {
            if is_break(c) {
                self.literal_line(&s[line_start..i], indent);
                self.write_break(c);
                line_start = i + c.len_utf8();
            }
        }
        self.literal_line(&s[line_start..], indent);
    }

    fn literal_line(&mut self, line: &str, indent: usize) {
        if !line.is_empty() {
            self.write_indent(indent);
            self.out.push_str(line);
            self.column += char_count(line);
            self.indention = false;
        }
    }
}

fn char_count(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().count()
    }
}

// ---------------------------------------------------------------------------
// Scalar style
// ---------------------------------------------------------------------------

/// What libyaml's scalar analysis allows for one string (block context).
#[derive(Debug)]
struct Analysis {
    /// Contains a line break (`\n`, `\r`, U+0085, U+2028, U+2029).
    multiline: bool,
    /// Contains `\n`, which makes go-yaml ask for a literal block.
    newline: bool,
    plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

impl Analysis {
    fn of(s: &str) -> Analysis {
        if s.is_empty() {
            return Analysis {
                multiline: false,
                newline: false,
                plain_allowed: true,
                single_quoted_allowed: true,
                block_allowed: false,
            };
        }
        if is_simple_word(s) {
            return Analysis {
                multiline: false,
                newline: false,
                plain_allowed: true,
                single_quoted_allowed: true,
                block_allowed: true,
            };
        }
        // "---" and "..." at the start look like document markers.
        let markers = s.starts_with("---") || s.starts_with("...");
        if s.is_ascii() {
            // Same analysis without UTF-8 decoding (most text: scripts, config).
            Analysis::of_chars(s.bytes().map(char::from), markers)
        } else {
            Analysis::of_chars(s.chars(), markers)
        }
    }

    fn of_chars(chars: impl Iterator<Item = char>, markers: bool) -> Analysis {
        let mut indicators = markers;
        let mut special = false;
        let (mut leading_space, mut trailing_space) = (false, false);
        let (mut leading_break, mut trailing_break) = (false, false);
        let (mut space_then_break, mut break_then_space) = (false, false);
        let (mut line_breaks, mut newline) = (false, false);
        let (mut previous_space, mut previous_break) = (false, false);
        let mut preceded_by_blank = true;

        let mut chars = chars.peekable();
        let mut first = true;
        while let Some(c) = chars.next() {
            let next = chars.peek().copied();
            let last = next.is_none();
            let followed_by_blank = matches!(next, None | Some(' ' | '\t'));
            indicators |= is_block_indicator(c, first, preceded_by_blank, followed_by_blank);
            special |= !is_printable(c);
            if c == ' ' {
                leading_space |= first;
                trailing_space |= last;
                break_then_space |= previous_break;
                previous_space = true;
                previous_break = false;
            } else if is_break(c) {
                line_breaks = true;
                newline |= c == '\n';
                leading_break |= first;
                trailing_break |= last;
                space_then_break |= previous_space;
                previous_space = false;
                previous_break = true;
            } else {
                previous_space = false;
                previous_break = false;
            }
            preceded_by_blank = matches!(c, ' ' | '\t' | '\0') || is_break(c);
            first = false;
        }

        let broken = space_then_break || special;
        Analysis {
            multiline: line_breaks,
            newline,
            plain_allowed: !(leading_space
                || leading_break
                || trailing_space
                || trailing_break
                || break_then_space
                || broken
                || line_breaks
                || indicators),
            single_quoted_allowed: !(break_then_space || broken),
            block_allowed: !(trailing_space || broken),
        }
    }
}

/// Fast path for the most common text (names, labels, images, paths):
/// ASCII letters and digits, then also `-`, `.`, `_`, `/`.
fn is_simple_word(s: &str) -> bool {
    let bytes = s.as_bytes();
    bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'/'))
}

/// A character that would make plain text read as YAML syntax: most
/// indicators at the start, `: ` and ` #` anywhere.
fn is_block_indicator(c: char, first: bool, after_blank: bool, before_blank: bool) -> bool {
    match c {
        '#' => first || after_blank,
        ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"' | '%' | '@'
        | '`' => first,
        '?' | '-' => first && before_blank,
        ':' => before_blank,
        _ => false,
    }
}

/// go-yaml asks for a literal block when the text has a newline, for double
/// quotes when the plain text would read as another type, else for plain;
/// libyaml then falls back plain -> single -> double and literal -> double.
fn choose_style(s: &str, analysis: &Analysis, simple_key: bool) -> Style {
    if simple_key && analysis.multiline {
        return Style::DoubleQuoted;
    }
    let requested = if analysis.newline {
        Style::Literal
    } else if needs_quotes(s) {
        Style::DoubleQuoted
    } else {
        Style::Plain
    };
    match requested {
        Style::Plain if analysis.plain_allowed => Style::Plain,
        Style::Plain if analysis.single_quoted_allowed => Style::SingleQuoted,
        Style::Literal if analysis.block_allowed && !simple_key => Style::Literal,
        _ => Style::DoubleQuoted,
    }
}

/// libyaml's printable set (with `\n`); everything else forces double quotes.
fn is_printable(c: char) -> bool {
    matches!(c, '\n' | ' '..='~' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
        && c != '\u{FEFF}'
}

fn is_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

// ---------------------------------------------------------------------------
// YAML 1.1 resolver: strings that must be quoted
// ---------------------------------------------------------------------------

/// True when go-yaml v2 would read the unquoted text as something other than
/// a string (bool, null, int, float, timestamp) or as a base-60 number.
fn needs_quotes(s: &str) -> bool {
    let Some(&first) = s.as_bytes().first() else {
        return true; // "" reads as null
    };
    match first {
        b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~' => is_keyword(s),
        b'.' => is_keyword(s) || is_go_dot_float(s),
        b'+' | b'-' | b'0'..=b'9' => {
            is_keyword(s) || is_timestamp(s) || is_number(s) || is_base60_float(s)
        }
        _ => false,
    }
}

/// The fixed words of go-yaml v2's resolve table.
const KEYWORDS: &[&str] = &[
    "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", "n", "N", "no", "No",
    "NO", "false", "False", "FALSE", "off", "Off", "OFF", "~", "null", "Null", "NULL", ".nan",
    ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF",
];

fn is_keyword(s: &str) -> bool {
    KEYWORDS.contains(&s)
}

/// Text starting with a sign or digit: an int in Go syntax (after dropping
/// every `_`) that fits 64 bits, a YAML-style float that is finite, or `0b`
/// followed by a signed binary int (a quirk of go-yaml v2: `0b-10` is -2).
fn is_number(s: &str) -> bool {
    let plain: std::borrow::Cow<str> = if s.contains('_') {
        s.replace('_', "").into()
    } else {
        s.into()
    };
    is_go_int(&plain, None)
        || (is_yaml_float_syntax(plain.as_bytes()) && is_finite_float(&plain))
        || plain
            .strip_prefix("0b")
            .is_some_and(|rest| is_go_int(rest, Some(2)))
}

/// Go's `ParseInt(s, radix, 64)` or `ParseUint(s, radix, 64)` succeeds;
/// `None` is Go's base 0 (prefixes `0x`, `0o`, `0b`, `0`).
fn is_go_int(s: &str, radix: Option<u32>) -> bool {
    let (sign, body) = match s.as_bytes().first() {
        Some(b'+') => (Some(false), &s[1..]),
        Some(b'-') => (Some(true), &s[1..]),
        _ => (None, s),
    };
    let (radix, digits) = match (radix, body.as_bytes()) {
        (_, []) => return false,
        (Some(radix), _) => (radix, body),
        (None, [b'0', b'x' | b'X', _, ..]) => (16, &body[2..]),
        (None, [b'0', b'o' | b'O', _, ..]) => (8, &body[2..]),
        (None, [b'0', b'b' | b'B', _, ..]) => (2, &body[2..]),
        (None, [b'0', ..]) => (8, &body[1..]),
        (None, _) => (10, body),
    };
    let mut value: u64 = 0;
    for c in digits.chars() {
        let Some(digit) = c.to_digit(radix) else {
            return false;
        };
        let next = value
            .checked_mul(u64::from(radix))
            .and_then(|v| v.checked_add(u64::from(digit)));
        let Some(next) = next else {
            return false;
        };
        value = next;
    }
    match sign {
        None => true,
        Some(false) => value <= i64::MAX as u64,
        Some(true) => value <= 1 << 63,
    }
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn is_yaml_float_syntax(s: &[u8]) -> bool {
    let digits_from = |i: usize| {
        s[i.min(s.len())..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count()
    };
    let mut i = usize::from(matches!(s.first(), Some(b'+' | b'-')));
    let whole = digits_from(i);
    i += whole;
    if s.get(i) == Some(&b'.') {
        let fraction = digits_from(i + 1);
        if whole == 0 && fraction == 0 {
            return false;
        }
        i += 1 + fraction;
    } else if whole == 0 {
        return false;
    }
    if matches!(s.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(s.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exponent = digits_from(i);
        if exponent == 0 {
            return false;
        }
        i += exponent;
    }
    i == s.len()
}

/// Go's `ParseFloat` reports no range error (overflow to infinity).
fn is_finite_float(s: &str) -> bool {
    s.parse::<f64>().is_ok_and(f64::is_finite)
}

/// Go's `ParseFloat` accepts text starting with `.`: `.5`, `.5e3`, `.5_0`.
fn is_go_dot_float(s: &str) -> bool {
    let b = s.as_bytes();
    let digits_or_underscores = |i: usize| {
        b[i.min(b.len())..]
            .iter()
            .take_while(|c| c.is_ascii_digit() || **c == b'_')
            .count()
    };
    let mut i = 1;
    let mantissa = digits_or_underscores(i);
    if !b[i..i + mantissa].iter().any(u8::is_ascii_digit) {
        return false;
    }
    i += mantissa;
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !b.get(i).is_some_and(u8::is_ascii_digit) {
            return false;
        }
        i += digits_or_underscores(i);
    }
    // Underscores must sit between two digits.
    let underscores_ok = b.iter().enumerate().all(|(k, &c)| {
        let digit_at = |j: Option<usize>| j.and_then(|j| b.get(j)).is_some_and(u8::is_ascii_digit);
        c != b'_' || (digit_at(k.checked_sub(1)) && digit_at(Some(k + 1)))
    });
    i == b.len() && underscores_ok && is_finite_float(&s.replace('_', ""))
}

/// YAML 1.1 sexagesimal numbers (`12:30`, `1:20:30.5`), which go-yaml quotes
/// for older parsers: `^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?$`.
fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    if !b.get(i).is_some_and(u8::is_ascii_digit) {
        return false;
    }
    i += 1;
    while b.get(i).is_some_and(|c| c.is_ascii_digit() || *c == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while b.get(i) == Some(&b':') {
        match (b.get(i + 1), b.get(i + 2)) {
            (Some(b'0'..=b'5'), Some(d)) if d.is_ascii_digit() => i += 3,
            (Some(d), _) if d.is_ascii_digit() => i += 2,
            _ => return false,
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while b.get(i).is_some_and(|c| c.is_ascii_digit() || *c == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

/// go-yaml v2's timestamp check: Go's `time.Parse` with the layouts
/// `2006-1-2T15:4:5.999999999Z07:00` (also with `t`),
/// `2006-1-2 15:4:5.999999999` and `2006-1-2`, fields range-checked.
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return false;
    }
    let year = b[..4].iter().fold(0, |y, d| y * 10 + u32::from(d - b'0'));
    let mut p = Cursor { b, i: 5 };
    let Some(month) = p.number(false) else {
        return false;
    };
    if !(1..=12).contains(&month) || !p.eat(b'-') {
        return false;
    }
    let Some(day) = p.number(false) else {
        return false;
    };
    if day < 1 || day > days_in_month(month, year) {
        return false;
    }
    match p.next() {
        None => true,
        Some(b'T' | b't') => p.clock() && p.zone() && p.done(),
        Some(b' ') => {
            while p.peek() == Some(b' ') {
                p.i += 1;
            }
            p.clock() && p.done()
        }
        Some(_) => false,
    }
}

fn days_in_month(month: u32, year: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A tiny reader for the timestamp layouts.
struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let c = self.peek();
        self.i += usize::from(c.is_some());
        c
    }

    fn eat(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        self.i += usize::from(hit);
        hit
    }

    fn done(&self) -> bool {
        self.i == self.b.len()
    }

    /// Go's `getnum`: one or two digits (exactly two when `fixed`).
    fn number(&mut self, fixed: bool) -> Option<u32> {
        let digit = |c: Option<&u8>| {
            c.filter(|c| c.is_ascii_digit())
                .map(|c| u32::from(c - b'0'))
        };
        let first = digit(self.b.get(self.i))?;
        match digit(self.b.get(self.i + 1)) {
            Some(second) => {
                self.i += 2;
                Some(first * 10 + second)
            }
            None if fixed => None,
            None => {
                self.i += 1;
                Some(first)
            }
        }
    }

    /// `15:4:5` plus an optional fraction `.999999999` (`,` also accepted).
    fn clock(&mut self) -> bool {
        let fields = [(24, true), (60, true), (60, false)];
        for (limit, colon_follows) in fields {
            match self.number(false) {
                Some(v) if v < limit => {}
                _ => return false,
            }
            if colon_follows && !self.eat(b':') {
                return false;
            }
        }
        if matches!(self.peek(), Some(b'.' | b','))
            && self.b.get(self.i + 1).is_some_and(u8::is_ascii_digit)
        {
            self.i += 1;
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.i += 1;
            }
        }
        true
    }

    /// `Z07:00`: `Z` or `±hh:mm` with hh <= 24, mm <= 60.
    fn zone(&mut self) -> bool {
        if self.eat(b'Z') {
            return true;
        }
        if !matches!(self.next(), Some(b'+' | b'-')) {
            return false;
        }
        let Some(hours) = self.number(true) else {
            return false;
        };
        if !self.eat(b':') {
            return false;
        }
        matches!(self.number(true), Some(minutes) if hours <= 24 && minutes <= 60)
    }
}

// ---------------------------------------------------------------------------
// Numbers
// ---------------------------------------------------------------------------

/// Writes a JSON number as kustomize prints it. Kustomize goes through Go's
/// `json.Marshal` and go-yaml's resolver: a whole float below 1e21 is written
/// with its shortest digits padded with zeros and read back as an integer
/// when that fits 64 bits (`1.0` -> `1`, `1e19` -> `10000000000000000000`);
/// any other float uses Go's shortest `%g` form (`1e-07`, `1.2345675e+06`).
fn write_number(out: &mut String, n: &Number) {
    if let Some(i) = n.as_i64() {
        let _ = write!(out, "{i}");
    } else if let Some(u) = n.as_u64() {
        let _ = write!(out, "{u}");
    } else if let Some(f) = n.as_f64() {
        write_go_float(out, f);
    }
}

fn write_go_float(out: &mut String, x: f64) {
    if !x.is_finite() {
        out.push_str(if x.is_nan() {
            ".nan"
        } else if x > 0.0 {
            ".inf"
        } else {
            "-.inf"
        });
        return;
    }
    let negative = x < 0.0;
    let shortest = Shortest::of(x.abs());
    let digits = shortest.digits.as_str();
    let exponent = shortest.exponent;
    if x.fract() == 0.0 && x.abs() < 1e21 {
        let whole = shortest.whole_value();
        let fits = if negative {
            whole <= 1 << 63
        } else {
            whole <= u128::from(u64::MAX)
        };
        if fits {
            let _ = write!(out, "{}{whole}", if negative { "-" } else { "" });
            return;
        }
    }
    if negative {
        out.push('-');
    }
    if !(-4..6).contains(&exponent) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let sign = if exponent < 0 { '-' } else { '+' };
        let _ = write!(out, "e{sign}{:02}", exponent.unsigned_abs());
    } else if exponent < 0 {
        out.push_str("0.");
        for _ in 0..(-exponent - 1) {
            out.push('0');
        }
        out.push_str(digits);
    } else {
        // 0 <= exponent < 6 and not a whole number: the point falls inside.
        let point = exponent as usize + 1;
        out.push_str(&digits[..point]);
        out.push('.');
        out.push_str(&digits[point..]);
    }
}

/// Shortest round-trip decimal digits of a non-negative float, as Go's
/// `strconv` picks them: the fewest digits that read back as the same float,
/// correctly rounded with ties to even, and the power of ten of the first one.
struct Shortest {
    digits: StackText,
    exponent: i32,
}

impl Shortest {
    fn of(x: f64) -> Shortest {
        // Rust's shortest form has the right length, but breaks exact ties
        // upwards; its fixed-precision form rounds ties to even like Go.
        let shortest = Shortest::parse(format_args!("{x:e}"));
        let precision = shortest.digits.len.saturating_sub(1);
        let rounded = Shortest::parse(format_args!("{x:.precision$e}"));
        if rounded.value() == x {
            rounded
        } else {
            shortest
        }
    }

    /// Reads Rust's `{:e}` output, such as `1.2345e-7`.
    fn parse(formatted: std::fmt::Arguments) -> Shortest {
        let mut text = StackText::default();
        let _ = text.write_fmt(formatted);
        let (mantissa, exponent) = text.as_str().split_once('e').unwrap_or(("0", "0"));
        let mut digits = StackText::default();
        for c in mantissa.chars().filter(char::is_ascii_digit) {
            let _ = digits.write_char(c);
        }
        Shortest {
            digits,
            exponent: exponent.parse().unwrap_or(0),
        }
    }

    fn value(&self) -> f64 {
        let mut text = StackText::default();
        let _ = write!(
            text,
            "{}e{}",
            self.digits.as_str(),
            self.exponent + 1 - self.digits.len as i32
        );
        text.as_str().parse().unwrap_or(f64::NAN)
    }

    /// The digits padded with zeros up to the decimal point (below 1e21).
    fn whole_value(&self) -> u128 {
        let digits = self.digits.as_str();
        let zeros = (self.exponent + 1 - digits.len() as i32).max(0);
        let mantissa: u128 = digits.parse().unwrap_or(0);
        (0..zeros).fold(mantissa, |v, _| v.saturating_mul(10))
    }
}

/// A small fixed buffer so float formatting does not allocate.
struct StackText {
    bytes: [u8; 40],
    len: usize,
}

impl Default for StackText {
    fn default() -> Self {
        StackText {
            bytes: [0; 40],
            len: 0,
        }
    }
}

impl StackText {
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or("")
    }
}

impl std::fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        if end > self.bytes.len() {
            return Err(std::fmt::Error);
        }
        self.bytes[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Key order
// ---------------------------------------------------------------------------

/// The entries of a mapping in kustomize's order, without `<<` keys (kustomize
/// drops YAML merge keys, whatever their value).
///
/// First a total pre-order ([`compare_keys`]), then an insertion pass with
/// go-yaml's exact comparator: wherever that comparator is consistent on the
/// key set, the result is the one sorted order kustomize prints; where it is
/// cyclic (kustomize's own output then depends on Go's map iteration), the
/// result is still deterministic, and nothing can panic.
fn sorted_entries(map: &Map<String, Value>) -> Vec<(&str, &Value)> {
    let mut entries: Vec<(&str, &Value)> = map
        .iter()
        .filter(|(k, _)| k.as_str() != MERGE_KEY)
        .map(|(k, v)| (k.as_str(), v))
        .collect();
    entries.sort_unstable_by(|x, y| compare_keys(x.0, y.0));
    for i in 1..entries.len() {
        let mut j = i;
        while j > 0 && go_less(entries[j].0, entries[j - 1].0) {
            entries.swap(j, j - 1);
            j -= 1;
        }
    }
    entries
}

/// The map's own iteration order is already the one [`sorted_entries`] returns,
/// checked cheaply on consecutive keys; `false` only means "sort to find out".
fn map_in_natural_order(map: &Map<String, Value>) -> bool {
    let mut keys = map.keys();
    let Some(mut previous) = keys.next() else {
        return true;
    };
    if previous == MERGE_KEY {
        return false;
    }
    for key in keys {
        if key == MERGE_KEY || !in_natural_order(previous, key) {
            return false;
        }
        previous = key;
    }
    true
}

/// `a` sorts strictly before `b` both by [`compare_keys`] and by `go_less`
/// (`!go_less(b, a)`), decided from bytes alone. When it returns `true` for
/// every consecutive pair of a key list, sorting it is a no-op (the first pass
/// finds it strictly increasing, the insertion pass moves nothing). It returns
/// `false` whenever the first difference involves a digit or non-ASCII text,
/// which leaves those keys to the exact comparators.
///
/// At the first differing byte, when both bytes are ASCII non-digits, the
/// shared prefix tokenizes identically in both keys (a digit run in it ends
/// at that byte in both), so both comparators reduce to: non-letter before
/// letter, then code point. A strict prefix sorts first under both.
fn in_natural_order(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let shared = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    match (a.get(shared), b.get(shared)) {
        (None, Some(_)) => true,
        (Some(&x), Some(&y)) => {
            let plain = |c: u8| c.is_ascii() && !c.is_ascii_digit();
            plain(x) && plain(y) && (x.is_ascii_alphabetic(), x) < (y.is_ascii_alphabetic(), y)
        }
        _ => false,
    }
}

/// go-yaml v2's `keyList.Less` for two string keys, exactly. At the first
/// differing character: two letters compare by code point, a non-letter sorts
/// before a letter, otherwise the digit runs starting there compare by value
/// (a zero after other shared digits counts as significant), then by length,
/// then by code point. It is not transitive.
fn go_less(a: &str, b: &str) -> bool {
    let mut left = a.chars();
    let mut right = b.chars();
    // The shared digits just before this point include a non-'0'.
    let mut significant_digits_before = false;
    loop {
        let (rest_a, rest_b) = (left.as_str(), right.as_str());
        match (left.next(), right.next()) {
            (Some(x), Some(y)) if x == y => {
                significant_digits_before = if is_go_digit(x) {
                    significant_digits_before || x != '0'
                } else {
                    false
                };
            }
            (Some(x), Some(y)) => {
                let (x_letter, y_letter) = (is_go_letter(x), is_go_letter(y));
                if x_letter && y_letter {
                    return x < y;
                }
                if x_letter || y_letter {
                    return y_letter;
                }
                let carry = significant_digits_before && (x == '0' || y == '0');
                let (x_value, x_len) = go_digit_run(rest_a, carry);
                let (y_value, y_len) = go_digit_run(rest_b, carry);
                if x_value != y_value {
                    return x_value < y_value;
                }
                if x_len != y_len {
                    return x_len < y_len;
                }
                return x < y;
            }
            (None, Some(_)) => return true,
            _ => return false,
        }
    }
}

/// Value and length of the digit run at the start of `s`, with Go's int64
/// arithmetic (wrapping, digits worth `c - '0'`), starting from 1 if `carry`.
fn go_digit_run(s: &str, carry: bool) -> (i64, usize) {
    let mut value = i64::from(carry);
    let mut len = 0;
    for c in s.chars().take_while(|&c| is_go_digit(c)) {
        value = value
            .wrapping_mul(10)
            .wrapping_add(i64::from(u32::from(c)) - i64::from(b'0'));
        len += 1;
    }
    (value, len)
}

/// One unit of [`compare_keys`]: a whole digit run or a single character.
enum Token<'a> {
    Symbol(char),
    Digits(&'a str),
    Letter(char),
}

impl Token<'_> {
    fn rank(&self) -> u8 {
        match self {
            Token::Symbol(_) => 0,
            Token::Digits(_) => 1,
            Token::Letter(_) => 2,
        }
    }

    fn cmp_with(&self, other: &Token) -> Ordering {
        match (self, other) {
            (Token::Digits(x), Token::Digits(y)) => compare_digit_runs(x, y),
            (Token::Symbol(x), Token::Symbol(y)) | (Token::Letter(x), Token::Letter(y)) => x.cmp(y),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

struct Tokens<'a> {
    rest: &'a str,
}

impl<'a> Iterator for Tokens<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        let c = self.rest.chars().next()?;
        if is_go_digit(c) {
            let end = self
                .rest
                .find(|c: char| !is_go_digit(c))
                .unwrap_or(self.rest.len());
            let (run, rest) = self.rest.split_at(end);
            self.rest = rest;
            return Some(Token::Digits(run));
        }
        self.rest = &self.rest[c.len_utf8()..];
        Some(if is_go_letter(c) {
            Token::Letter(c)
        } else {
            Token::Symbol(c)
        })
    }
}

/// By numeric value, then fewer leading zeros, then code points.
fn compare_digit_runs(x: &str, y: &str) -> Ordering {
    let by_value = if x.is_ascii() && y.is_ascii() {
        let (x_sig, y_sig) = (x.trim_start_matches('0'), y.trim_start_matches('0'));
        x_sig.len().cmp(&y_sig.len()).then_with(|| x_sig.cmp(y_sig))
    } else {
        let (x_dec, y_dec) = (go_digits_in_decimal(x), go_digits_in_decimal(y));
        x_dec
            .len()
            .cmp(&y_dec.len())
            .then_with(|| x_dec.cmp(&y_dec))
    };
    by_value
        .then_with(|| x.chars().count().cmp(&y.chars().count()))
        .then_with(|| x.cmp(y))
}

/// The value Go gives a run of non-ASCII digits (each worth `c - '0'`), as
/// decimal digits without leading zeros; exact, so the order stays total.
fn go_digits_in_decimal(run: &str) -> Vec<u8> {
    let mut digits: Vec<u64> = run
        .chars()
        .map(|c| u64::from(u32::from(c)) - u64::from(b'0'))
        .collect();
    let mut carry = 0;
    for d in digits.iter_mut().rev() {
        let total = *d + carry;
        *d = total % 10;
        carry = total / 10;
    }
    let mut head = Vec::new();
    while carry > 0 {
        head.push((carry % 10) as u8);
        carry /= 10;
    }
    head.reverse();
    head.extend(digits.iter().map(|&d| d as u8));
    let zeros = head.iter().take_while(|&&d| d == 0).count();
    head.split_off(zeros)
}

/// Go's `unicode.IsLetter`.
fn is_go_letter(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphabetic()
    } else {
        in_ranges(GO_LETTERS, u32::from(c))
    }
}

/// Go's `unicode.IsDigit`.
fn is_go_digit(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_digit()
    } else {
        in_ranges(GO_DIGITS, u32::from(c))
    }
}

/// Binary search in a sorted list of inclusive `start, end` pairs.
fn in_ranges(pairs: &[u32], code: u32) -> bool {
    let (mut low, mut high) = (0, pairs.len() / 2);
    while low < high {
        let mid = (low + high) / 2;
        if pairs[2 * mid] <= code {
            low = mid + 1;
        } else {
            high = mid;
        }
    }
    low > 0 && code <= pairs[2 * (low - 1) + 1]
}

// Unicode 15.0 tables (the version of Go's `unicode` package that kubectl 1.32
// is built with), generated from the Unicode Character Database.

/// Non-ASCII letters (Unicode 15.0 category L), as inclusive `start, end` pairs.
const GO_LETTERS: &[u32] = &[
    0xAA, 0xAA, 0xB5, 0xB5, 0xBA, 0xBA, 0xC0, 0xD6, 0xD8, 0xF6, 0xF8, 0x2C1, 0x2C6, 0x2D1, 0x2E0,
    0x2E4, 0x2EC, 0x2EC, 0x2EE, 0x2EE, 0x370, 0x374, 0x376, 0x377, 0x37A, 0x37D, 0x37F, 0x37F,
    0x386, 0x386, 0x388, 0x38A, 0x38C, 0x38C, 0x38E, 0x3A1, 0x3A3, 0x3F5, 0x3F7, 0x481, 0x48A,
    0x52F, 0x531, 0x556, 0x559, 0x559, 0x560, 0x588, 0x5D0, 0x5EA, 0x5EF, 0x5F2, 0x620, 0x64A,
    0x66E, 0x66F, 0x671, 0x6D3, 0x6D5, 0x6D5, 0x6E5, 0x6E6, 0x6EE, 0x6EF, 0x6FA, 0x6FC, 0x6FF,
    0x6FF, 0x710, 0x710, 0x712, 0x72F, 0x74D, 0x7A5, 0x7B1, 0x7B1, 0x7CA, 0x7EA, 0x7F4, 0x7F5,
    0x7FA, 0x7FA, 0x800, 0x815, 0x81A, 0x81A, 0x824, 0x824, 0x828, 0x828, 0x840, 0x858, 0x860,
    0x86A, 0x870, 0x887, 0x889, 0x88E, 0x8A0, 0x8C9, 0x904, 0x939, 0x93D, 0x93D, 0x950, 0x950,
    0x958, 0x961, 0x971, 0x980, 0x985, 0x98C, 0x98F, 0x990, 0x993, 0x9A8, 0x9AA, 0x9B0, 0x9B2,
    0x9B2, 0x9B6, 0x9B9, 0x9BD, 0x9BD, 0x9CE, 0x9CE, 0x9DC, 0x9DD, 0x9DF, 0x9E1, 0x9F0, 0x9F1,
    0x9FC, 0x9FC, 0xA05, 0xA0A, 0xA0F, 0xA10, 0xA13, 0xA28, 0xA2A, 0xA30, 0xA32, 0xA33, 0xA35,
    0xA36, 0xA38, 0xA39, 0xA59, 0xA5C, 0xA5E, 0xA5E, 0xA72, 0xA74, 0xA85, 0xA8D, 0xA8F, 0xA91,
    0xA93, 0xAA8, 0xAAA, 0xAB0, 0xAB2, 0xAB3, 0xAB5, 0xAB9, 0xABD, 0xABD, 0xAD0, 0xAD0, 0xAE0,
    0xAE1, 0xAF9, 0xAF9, 0xB05, 0xB0C, 0xB0F, 0xB10, 0xB13, 0xB28, 0xB2A, 0xB30, 0xB32, 0xB33,
    0xB35, 0xB39, 0xB3D, 0xB3D, 0xB5C, 0xB5D, 0xB5F, 0xB61, 0xB71, 0xB71, 0xB83, 0xB83, 0xB85,
    0xB8A, 0xB8E, 0xB90, 0xB92, 0xB95, 0xB99, 0xB9A, 0xB9C, 0xB9C, 0xB9E, 0xB9F, 0xBA3, 0xBA4,
    0xBA8, 0xBAA, 0xBAE, 0xBB9, 0xBD0, 0xBD0, 0xC05, 0xC0C, 0xC0E, 0xC10, 0xC12, 0xC28, 0xC2A,
    0xC39, 0xC3D, 0xC3D, 0xC58, 0xC5A, 0xC5D, 0xC5D, 0xC60, 0xC61, 0xC80, 0xC80, 0xC85, 0xC8C,
    0xC8E, 0xC90, 0xC92, 0xCA8, 0xCAA, 0xCB3, 0xCB5, 0xCB9, 0xCBD, 0xCBD, 0xCDD, 0xCDE, 0xCE0,
    0xCE1, 0xCF1, 0xCF2, 0xD04, 0xD0C, 0xD0E, 0xD10, 0xD12, 0xD3A, 0xD3D, 0xD3D, 0xD4E, 0xD4E,
    0xD54, 0xD56, 0xD5F, 0xD61, 0xD7A, 0xD7F, 0xD85, 0xD96, 0xD9A, 0xDB1, 0xDB3, 0xDBB, 0xDBD,
    0xDBD, 0xDC0, 0xDC6, 0xE01, 0xE30, 0xE32, 0xE33, 0xE40, 0xE46, 0xE81, 0xE82, 0xE84, 0xE84,
    0xE86, 0xE8A, 0xE8C, 0xEA3, 0xEA5, 0xEA5, 0xEA7, 0xEB0, 0xEB2, 0xEB3, 0xEBD, 0xEBD, 0xEC0,
    0xEC4, 0xEC6, 0xEC6, 0xEDC, 0xEDF, 0xF00, 0xF00, 0xF40, 0xF47, 0xF49, 0xF6C, 0xF88, 0xF8C,
    0x1000, 0x102A, 0x103F, 0x103F, 0x1050, 0x1055, 0x105A, 0x105D, 0x1061, 0x1061, 0x1065, 0x1066,
    0x106E, 0x1070, 0x1075, 0x1081, 0x108E, 0x108E, 0x10A0, 0x10C5, 0x10C7, 0x10C7, 0x10CD, 0x10CD,
    0x10D0, 0x10FA, 0x10FC, 0x1248, 0x124A, 0x124D, 0x1250, 0x1256, 0x1258, 0x1258, 0x125A, 0x125D,
    0x1260, 0x1288, 0x128A, 0x128D, 0x1290, 0x12B0, 0x12B2, 0x12B5, 0x12B8, 0x12BE, 0x12C0, 0x12C0,
    0x12C2, 0x12C5, 0x12C8, 0x12D6, 0x12D8, 0x1310, 0x1312, 0x1315, 0x1318, 0x135A, 0x1380, 0x138F,
    0x13A0, 0x13F5, 0x13F8, 0x13FD, 0x1401, 0x166C, 0x166F, 0x167F, 0x1681, 0x169A, 0x16A0, 0x16EA,
    0x16F1, 0x16F8, 0x1700, 0x1711, 0x171F, 0x1731, 0x1740, 0x1751, 0x1760, 0x176C, 0x176E, 0x1770,
    0x1780, 0x17B3, 0x17D7, 0x17D7, 0x17DC, 0x17DC, 0x1820, 0x1878, 0x1880, 0x1884, 0x1887, 0x18A8,
    0x18AA, 0x18AA, 0x18B0, 0x18F5, 0x1900, 0x191E, 0x1950, 0x196D, 0x1970, 0x1974, 0x1980, 0x19AB,
    0x19B0, 0x19C9, 0x1A00, 0x1A16, 0x1A20, 0x1A54, 0x1AA7, 0x1AA7, 0x1B05, 0x1B33, 0x1B45, 0x1B4C,
    0x1B83, 0x1BA0, 0x1BAE, 0x1BAF, 0x1BBA, 0x1BE5, 0x1C00, 0x1C23, 0x1C4D, 0x1C4F, 0x1C5A, 0x1C7D,
    0x1C80, 0x1C88, 0x1C90, 0x1CBA, 0x1CBD, 0x1CBF, 0x1CE9, 0x1CEC, 0x1CEE, 0x1CF3, 0x1CF5, 0x1CF6,
    0x1CFA, 0x1CFA, 0x1D00, 0x1DBF, 0x1E00, 0x1F15, 0x1F18, 0x1F1D, 0x1F20, 0x1F45, 0x1F48, 0x1F4D,
    0x1F50, 0x1F57, 0x1F59, 0x1F59, 0x1F5B, 0x1F5B, 0x1F5D, 0x1F5D, 0x1F5F, 0x1F7D, 0x1F80, 0x1FB4,
    0x1FB6, 0x1FBC, 0x1FBE, 0x1FBE, 0x1FC2, 0x1FC4, 0x1FC6, 0x1FCC, 0x1FD0, 0x1FD3, 0x1FD6, 0x1FDB,
    0x1FE0, 0x1FEC, 0x1FF2, 0x1FF4, 0x1FF6, 0x1FFC, 0x2071, 0x2071, 0x207F, 0x207F, 0x2090, 0x209C,
    0x2102, 0x2102, 0x2107, 0x2107, 0x210A, 0x2113, 0x2115, 0x2115, 0x2119, 0x211D, 0x2124, 0x2124,
    0x2126, 0x2126, 0x2128, 0x2128, 0x212A, 0x212D, 0x212F, 0x2139, 0x213C, 0x213F, 0x2145, 0x2149,
    0x214E, 0x214E, 0x2183, 0x2184, 0x2C00, 0x2CE4, 0x2CEB, 0x2CEE, 0x2CF2, 0x2CF3, 0x2D00, 0x2D25,
    0x2D27, 0x2D27, 0x2D2D, 0x2D2D, 0x2D30, 0x2D67, 0x2D6F, 0x2D6F, 0x2D80, 0x2D96, 0x2DA0, 0x2DA6,
    0x2DA8, 0x2DAE, 0x2DB0, 0x2DB6, 0x2DB8, 0x2DBE, 0x2DC0, 0x2DC6, 0x2DC8, 0x2DCE, 0x2DD0, 0x2DD6,
    0x2DD8, 0x2DDE, 0x2E2F, 0x2E2F, 0x3005, 0x3006, 0x3031, 0x3035, 0x303B, 0x303C, 0x3041, 0x3096,
    0x309D, 0x309F, 0x30A1, 0x30FA, 0x30FC, 0x30FF, 0x3105, 0x312F, 0x3131, 0x318E, 0x31A0, 0x31BF,
    0x31F0, 0x31FF, 0x3400, 0x4DBF, 0x4E00, 0xA48C, 0xA4D0, 0xA4FD, 0xA500, 0xA60C, 0xA610, 0xA61F,
    0xA62A, 0xA62B, 0xA640, 0xA66E, 0xA67F, 0xA69D, 0xA6A0, 0xA6E5, 0xA717, 0xA71F, 0xA722, 0xA788,
    0xA78B, 0xA7CA, 0xA7D0, 0xA7D1, 0xA7D3, 0xA7D3, 0xA7D5, 0xA7D9, 0xA7F2, 0xA801, 0xA803, 0xA805,
    0xA807, 0xA80A, 0xA80C, 0xA822, 0xA840, 0xA873, 0xA882, 0xA8B3, 0xA8F2, 0xA8F7, 0xA8FB, 0xA8FB,
    0xA8FD, 0xA8FE, 0xA90A, 0xA925, 0xA930, 0xA946, 0xA960, 0xA97C, 0xA984, 0xA9B2, 0xA9CF, 0xA9CF,
    0xA9E0, 0xA9E4, 0xA9E6, 0xA9EF, 0xA9FA, 0xA9FE, 0xAA00, 0xAA28, 0xAA40, 0xAA42, 0xAA44, 0xAA4B,
    0xAA60, 0xAA76, 0xAA7A, 0xAA7A, 0xAA7E, 0xAAAF, 0xAAB1, 0xAAB1, 0xAAB5, 0xAAB6, 0xAAB9, 0xAABD,
    0xAAC0, 0xAAC0, 0xAAC2, 0xAAC2, 0xAADB, 0xAADD, 0xAAE0, 0xAAEA, 0xAAF2, 0xAAF4, 0xAB01, 0xAB06,
    0xAB09, 0xAB0E, 0xAB11, 0xAB16, 0xAB20, 0xAB26, 0xAB28, 0xAB2E, 0xAB30, 0xAB5A, 0xAB5C, 0xAB69,
    0xAB70, 0xABE2, 0xAC00, 0xD7A3, 0xD7B0, 0xD7C6, 0xD7CB, 0xD7FB, 0xF900, 0xFA6D, 0xFA70, 0xFAD9,
    0xFB00, 0xFB06, 0xFB13, 0xFB17, 0xFB1D, 0xFB1D, 0xFB1F, 0xFB28, 0xFB2A, 0xFB36, 0xFB38, 0xFB3C,
    0xFB3E, 0xFB3E, 0xFB40, 0xFB41, 0xFB43, 0xFB44, 0xFB46, 0xFBB1, 0xFBD3, 0xFD3D, 0xFD50, 0xFD8F,
    0xFD92, 0xFDC7, 0xFDF0, 0xFDFB, 0xFE70, 0xFE74, 0xFE76, 0xFEFC, 0xFF21, 0xFF3A, 0xFF41, 0xFF5A,
    0xFF66, 0xFFBE, 0xFFC2, 0xFFC7, 0xFFCA, 0xFFCF, 0xFFD2, 0xFFD7, 0xFFDA, 0xFFDC, 0x10000,
    0x1000B, 0x1000D, 0x10026, 0x10028, 0x1003A, 0x1003C, 0x1003D, 0x1003F, 0x1004D, 0x10050,
    0x1005D, 0x10080, 0x100FA, 0x10280, 0x1029C, 0x102A0, 0x102D0, 0x10300, 0x1031F, 0x1032D,
    0x10340, 0x10342, 0x10349, 0x10350, 0x10375, 0x10380, 0x1039D, 0x103A0, 0x103C3, 0x103C8,
    0x103CF, 0x10400, 0x1049D, 0x104B0, 0x104D3, 0x104D8, 0x104FB, 0x10500, 0x10527, 0x10530,
    0x10563, 0x10570, 0x1057A, 0x1057C, 0x1058A, 0x1058C, 0x10592, 0x10594, 0x10595, 0x10597,
    0x105A1, 0x105A3, 0x105B1, 0x105B3, 0x105B9, 0x105BB, 0x105BC, 0x10600, 0x10736, 0x10740,
    0x10755, 0x10760, 0x10767, 0x10780, 0x10785, 0x10787, 0x107B0, 0x107B2, 0x107BA, 0x10800,
    0x10805, 0x10808, 0x10808, 0x1080A, 0x10835, 0x10837, 0x10838, 0x1083C, 0x1083C, 0x1083F,
    0x10855, 0x10860, 0x10876, 0x10880, 0x1089E, 0x108E0, 0x108F2, 0x108F4, 0x108F5, 0x10900,
    0x10915, 0x10920, 0x10939, 0x10980, 0x109B7, 0x109BE, 0x109BF, 0x10A00, 0x10A00, 0x10A10,
    0x10A13, 0x10A15, 0x10A17, 0x10A19, 0x10A35, 0x10A60, 0x10A7C, 0x10A80, 0x10A9C, 0x10AC0,
    0x10AC7, 0x10AC9, 0x10AE4, 0x10B00, 0x10B35, 0x10B40, 0x10B55, 0x10B60, 0x10B72, 0x10B80,
    0x10B91, 0x10C00, 0x10C48, 0x10C80, 0x10CB2, 0x10CC0, 0x10CF2, 0x10D00, 0x10D23, 0x10E80,
    0x10EA9, 0x10EB0, 0x10EB1, 0x10F00, 0x10F1C, 0x10F27, 0x10F27, 0x10F30, 0x10F45, 0x10F70,
    0x10F81, 0x10FB0, 0x10FC4, 0x10FE0, 0x10FF6, 0x11003, 0x11037, 0x11071, 0x11072, 0x11075,
    0x11075, 0x11083, 0x110AF, 0x110D0, 0x110E8, 0x11103, 0x11126, 0x11144, 0x11144, 0x11147,
    0x11147, 0x11150, 0x11172, 0x11176, 0x11176, 0x11183, 0x111B2, 0x111C1, 0x111C4, 0x111DA,
    0x111DA, 0x111DC, 0x111DC, 0x11200, 0x11211, 0x11213, 0x1122B, 0x1123F, 0x11240, 0x11280,
    0x11286, 0x11288, 0x11288, 0x1128A, 0x1128D, 0x1128F, 0x1129D, 0x1129F, 0x112A8, 0x112B0,
    0x112DE, 0x11305, 0x1130C, 0x1130F, 0x11310, 0x11313, 0x11328, 0x1132A, 0x11330, 0x11332,
    0x11333, 0x11335, 0x11339, 0x1133D, 0x1133D, 0x11350, 0x11350, 0x1135D, 0x11361, 0x11400,
    0x11434, 0x11447, 0x1144A, 0x1145F, 0x11461, 0x11480, 0x114AF, 0x114C4, 0x114C5, 0x114C7,
    0x114C7, 0x11580, 0x115AE, 0x115D8, 0x115DB, 0x11600, 0x1162F, 0x11644, 0x11644, 0x11680,
    0x116AA, 0x116B8, 0x116B8, 0x11700, 0x1171A, 0x11740, 0x11746, 0x11800, 0x1182B, 0x118A0,
    0x118DF, 0x118FF, 0x11906, 0x11909, 0x11909, 0x1190C, 0x11913, 0x11915, 0x11916, 0x11918,
    0x1192F, 0x1193F, 0x1193F, 0x11941, 0x11941, 0x119A0, 0x119A7, 0x119AA, 0x119D0, 0x119E1,
    0x119E1, 0x119E3, 0x119E3, 0x11A00, 0x11A00, 0x11A0B, 0x11A32, 0x11A3A, 0x11A3A, 0x11A50,
    0x11A50, 0x11A5C, 0x11A89, 0x11A9D, 0x11A9D, 0x11AB0, 0x11AF8, 0x11C00, 0x11C08, 0x11C0A,
    0x11C2E, 0x11C40, 0x11C40, 0x11C72, 0x11C8F, 0x11D00, 0x11D06, 0x11D08, 0x11D09, 0x11D0B,
    0x11D30, 0x11D46, 0x11D46, 0x11D60, 0x11D65, 0x11D67, 0x11D68, 0x11D6A, 0x11D89, 0x11D98,
    0x11D98, 0x11EE0, 0x11EF2, 0x11F02, 0x11F02, 0x11F04, 0x11F10, 0x11F12, 0x11F33, 0x11FB0,
    0x11FB0, 0x12000, 0x12399, 0x12480, 0x12543, 0x12F90, 0x12FF0, 0x13000, 0x1342F, 0x13441,
    0x13446, 0x14400, 0x14646, 0x16800, 0x16A38, 0x16A40, 0x16A5E, 0x16A70, 0x16ABE, 0x16AD0,
    0x16AED, 0x16B00, 0x16B2F, 0x16B40, 0x16B43, 0x16B63, 0x16B77, 0x16B7D, 0x16B8F, 0x16E40,
    0x16E7F, 0x16F00, 0x16F4A, 0x16F50, 0x16F50, 0x16F93, 0x16F9F, 0x16FE0, 0x16FE1, 0x16FE3,
    0x16FE3, 0x17000, 0x187F7, 0x18800, 0x18CD5, 0x18D00, 0x18D08, 0x1AFF0, 0x1AFF3, 0x1AFF5,
    0x1AFFB, 0x1AFFD, 0x1AFFE, 0x1B000, 0x1B122, 0x1B132, 0x1B132, 0x1B150, 0x1B152, 0x1B155,
    0x1B155, 0x1B164, 0x1B167, 0x1B170, 0x1B2FB, 0x1BC00, 0x1BC6A, 0x1BC70, 0x1BC7C, 0x1BC80,
    0x1BC88, 0x1BC90, 0x1BC99, 0x1D400, 0x1D454, 0x1D456, 0x1D49C, 0x1D49E, 0x1D49F, 0x1D4A2,
    0x1D4A2, 0x1D4A5, 0x1D4A6, 0x1D4A9, 0x1D4AC, 0x1D4AE, 0x1D4B9, 0x1D4BB, 0x1D4BB, 0x1D4BD,
    0x1D4C3, 0x1D4C5, 0x1D505, 0x1D507, 0x1D50A, 0x1D50D, 0x1D514, 0x1D516, 0x1D51C, 0x1D51E,
    0x1D539, 0x1D53B, 0x1D53E, 0x1D540, 0x1D544, 0x1D546, 0x1D546, 0x1D54A, 0x1D550, 0x1D552,
    0x1D6A5, 0x1D6A8, 0x1D6C0, 0x1D6C2, 0x1D6DA, 0x1D6DC, 0x1D6FA, 0x1D6FC, 0x1D714, 0x1D716,
    0x1D734, 0x1D736, 0x1D74E, 0x1D750, 0x1D76E, 0x1D770, 0x1D788, 0x1D78A, 0x1D7A8, 0x1D7AA,
    0x1D7C2, 0x1D7C4, 0x1D7CB, 0x1DF00, 0x1DF1E, 0x1DF25, 0x1DF2A, 0x1E030, 0x1E06D, 0x1E100,
    0x1E12C, 0x1E137, 0x1E13D, 0x1E14E, 0x1E14E, 0x1E290, 0x1E2AD, 0x1E2C0, 0x1E2EB, 0x1E4D0,
    0x1E4EB, 0x1E7E0, 0x1E7E6, 0x1E7E8, 0x1E7EB, 0x1E7ED, 0x1E7EE, 0x1E7F0, 0x1E7FE, 0x1E800,
    0x1E8C4, 0x1E900, 0x1E943, 0x1E94B, 0x1E94B, 0x1EE00, 0x1EE03, 0x1EE05, 0x1EE1F, 0x1EE21,
    0x1EE22, 0x1EE24, 0x1EE24, 0x1EE27, 0x1EE27, 0x1EE29, 0x1EE32, 0x1EE34, 0x1EE37, 0x1EE39,
    0x1EE39, 0x1EE3B, 0x1EE3B, 0x1EE42, 0x1EE42, 0x1EE47, 0x1EE47, 0x1EE49, 0x1EE49, 0x1EE4B,
    0x1EE4B, 0x1EE4D, 0x1EE4F, 0x1EE51, 0x1EE52, 0x1EE54, 0x1EE54, 0x1EE57, 0x1EE57, 0x1EE59,
    0x1EE59, 0x1EE5B, 0x1EE5B, 0x1EE5D, 0x1EE5D, 0x1EE5F, 0x1EE5F, 0x1EE61, 0x1EE62, 0x1EE64,
    0x1EE64, 0x1EE67, 0x1EE6A, 0x1EE6C, 0x1EE72, 0x1EE74, 0x1EE77, 0x1EE79, 0x1EE7C, 0x1EE7E,
    0x1EE7E, 0x1EE80, 0x1EE89, 0x1EE8B, 0x1EE9B, 0x1EEA1, 0x1EEA3, 0x1EEA5, 0x1EEA9, 0x1EEAB,
    0x1EEBB, 0x20000, 0x2A6DF, 0x2A700, 0x2B739, 0x2B740, 0x2B81D, 0x2B820, 0x2CEA1, 0x2CEB0,
    0x2EBE0, 0x2F800, 0x2FA1D, 0x30000, 0x3134A, 0x31350, 0x323AF,
];
/// Non-ASCII decimal digits (Unicode 15.0 category Nd), as inclusive `start, end` pairs.
const GO_DIGITS: &[u32] = &[
    0x660, 0x669, 0x6F0, 0x6F9, 0x7C0, 0x7C9, 0x966, 0x96F, 0x9E6, 0x9EF, 0xA66, 0xA6F, 0xAE6,
    0xAEF, 0xB66, 0xB6F, 0xBE6, 0xBEF, 0xC66, 0xC6F, 0xCE6, 0xCEF, 0xD66, 0xD6F, 0xDE6, 0xDEF,
    0xE50, 0xE59, 0xED0, 0xED9, 0xF20, 0xF29, 0x1040, 0x1049, 0x1090, 0x1099, 0x17E0, 0x17E9,
    0x1810, 0x1819, 0x1946, 0x194F, 0x19D0, 0x19D9, 0x1A80, 0x1A89, 0x1A90, 0x1A99, 0x1B50, 0x1B59,
    0x1BB0, 0x1BB9, 0x1C40, 0x1C49, 0x1C50, 0x1C59, 0xA620, 0xA629, 0xA8D0, 0xA8D9, 0xA900, 0xA909,
    0xA9D0, 0xA9D9, 0xA9F0, 0xA9F9, 0xAA50, 0xAA59, 0xABF0, 0xABF9, 0xFF10, 0xFF19, 0x104A0,
    0x104A9, 0x10D30, 0x10D39, 0x11066, 0x1106F, 0x110F0, 0x110F9, 0x11136, 0x1113F, 0x111D0,
    0x111D9, 0x112F0, 0x112F9, 0x11450, 0x11459, 0x114D0, 0x114D9, 0x11650, 0x11659, 0x116C0,
    0x116C9, 0x11730, 0x11739, 0x118E0, 0x118E9, 0x11950, 0x11959, 0x11C50, 0x11C59, 0x11D50,
    0x11D59, 0x11DA0, 0x11DA9, 0x11F50, 0x11F59, 0x16A60, 0x16A69, 0x16AC0, 0x16AC9, 0x16B50,
    0x16B59, 0x1D7CE, 0x1D7FF, 0x1E140, 0x1E149, 0x1E2F0, 0x1E2F9, 0x1E4F0, 0x1E4F9, 0x1E950,
    0x1E959, 0x1FBF0, 0x1FBF9,
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Emits `{"k": value}` and returns the text after `k:`.
    fn value_text(value: Value) -> String {
        let text = document(&json!({ "k": value }));
        text.strip_prefix("k:").expect("single key").to_string()
    }

    fn sorted(keys: &[&str]) -> Vec<String> {
        let map: Map<String, Value> = keys.iter().map(|k| (k.to_string(), Value::Null)).collect();
        sorted_entries(&map)
            .into_iter()
            .map(|(k, _)| k.to_string())
            .collect()
    }

    /// A small deterministic generator of awkward keys.
    fn pseudo_random_keys(count: usize) -> Vec<String> {
        const PIECES: &[&str] = &[
            "0",
            "00",
            "1",
            "2",
            "9",
            "10",
            "01",
            "a",
            "b",
            "A",
            "Z",
            "-",
            "_",
            ".",
            "é",
            "٣",
            "Ⅻ",
            "v",
            "alpha",
            "99999999999999999999",
        ];
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = move |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        (0..count)
            .map(|_| {
                (0..1 + next(4))
                    .map(|_| PIECES[next(PIECES.len())])
                    .collect()
            })
            .collect()
    }

    #[test]
    fn documents_end_with_newline_and_stream_joins_with_separator() {
        let a = json!({"kind": "A"});
        let b = json!({"kind": "B"});
        assert_eq!(document(&a), "kind: A\n");
        assert_eq!(stream([&a, &b]), "kind: A\n---\nkind: B\n");
        assert_eq!(stream(&[] as &[Value]), "");
        assert_eq!(stream([&a]), "kind: A\n");
    }

    /// Object by object, both formats print what the whole list prints at once.
    #[test]
    fn formats_write_document_by_document_what_the_whole_list_prints() {
        let objects = [
            json!({"kind": "A", "metadata": {"name": "a\nb", "labels": {}}, "data": []}),
            json!({"kind": "B", "spec": {"n": 1.5, "list": [{"x": null}, "y"]}}),
        ];
        for values in [&objects[..], &objects[..1], &[]] {
            let written = |format: Format| {
                let mut out = Vec::new();
                let documents = values.iter().map(|v| format.document(v));
                format.write(&mut out, documents).expect("writes to a Vec");
                String::from_utf8(out).expect("UTF-8")
            };
            assert_eq!(written(Format::Yaml), stream(values));
            let json = serde_json::to_string_pretty(values).expect("serialises") + "\n";
            assert_eq!(written(Format::Json), json);
        }
    }

    #[test]
    fn write_stream_writes_what_stream_returns() {
        let big: Vec<Value> = (0..3000)
            .map(|i| json!({"kind": "ConfigMap", "metadata": {"name": format!("c{i}")}, "data": {"k": "v w"}}))
            .collect();
        for values in [&big[..], &big[..1], &[]] {
            let mut out = Vec::new();
            write_stream(&mut out, values).expect("writes to a Vec");
            assert_eq!(String::from_utf8(out).expect("UTF-8"), stream(values));
        }
    }

    #[test]
    fn every_map_is_sorted_top_level_included() {
        let config_map = json!({
            "metadata": {"name": "x", "labels": {"b": "1", "a": "2"}},
            "kind": "ConfigMap",
            "data": {"z": "1", "a": "2"},
            "apiVersion": "v1",
        });
        assert_eq!(
            document(&config_map),
            "apiVersion: v1\ndata:\n  a: \"2\"\n  z: \"1\"\nkind: ConfigMap\nmetadata:\n  \
             labels:\n    a: \"2\"\n    b: \"1\"\n  name: x\n"
        );
    }

    #[test]
    fn key_order_is_go_yaml_natural_order() {
        let expected = [
            "-x",
            "_x",
            "1",
            "2",
            "10",
            "A",
            "Zed",
            "a",
            "a1",
            "a9",
            "a10",
            "aB",
            "ab",
            "app",
            "app-version",
            "app.kubernetes.io/name",
            "app_version",
            "app2",
            "app10",
            "appVersion",
            "port80",
            "port443",
            "port8080",
        ];
        assert_eq!(sorted(&expected), expected);
        // Measured with kubectl kustomize: leading zeros, split numbers and
        // Go's Unicode classes (U+0345 is no letter, Arabic-Indic three is a
        // digit worth 0x663 - '0').
        let cases: &[&[&str]] = &[
            &["0", "00", "000", "1", "01", "001", "10", "010"],
            &["a1", "a1b", "a01", "a01b", "a001"],
            &["port8", "port80", "port8a"],
            &["a10", "a1x"],
            &["x-", "x5", "x٣", "x٤", "xa"],
            &["a-", "a\u{345}", "a1", "aa", "aÅ"],
        ];
        for keys in cases {
            let mut shuffled = keys.to_vec();
            shuffled.reverse();
            assert_eq!(sorted(&shuffled), *keys);
        }
    }

    #[test]
    fn cyclic_key_sets_still_sort_without_panicking() {
        // go-yaml: v1alpha1 < v2 < v10 < v1alpha1, so kustomize's own order
        // varies between runs; ours is fixed.
        let keys = sorted(&["v10", "v2", "v1alpha1"]);
        assert_eq!(keys.len(), 3);
        assert_eq!(keys, sorted(&["v1alpha1", "v2", "v10"]));
        let many = pseudo_random_keys(2000);
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        let once = sorted(&refs);
        let mut reversed = refs.clone();
        reversed.reverse();
        assert_eq!(once, sorted(&reversed));
    }

    #[test]
    fn the_natural_order_shortcut_agrees_with_both_comparators() {
        let mut keys = pseudo_random_keys(400);
        keys.extend(
            [
                "", "<<", "a", "a-b", "a_b", "aB", "A_", "AZ", "a~", "a{", "a1", "a/b", "ab",
            ]
            .map(String::from),
        );
        for a in &keys {
            for b in &keys {
                if in_natural_order(a, b) {
                    assert_eq!(compare_keys(a, b), Ordering::Less, "{a:?} {b:?}");
                    assert!(!go_less(b, a), "{a:?} {b:?}");
                }
            }
        }
        // Where the shortcut applies, the emitter writes exactly the sorted order.
        for chunk in keys.chunks(7) {
            let map: Map<String, Value> = chunk.iter().map(|k| (k.clone(), json!(1))).collect();
            let expected: Vec<String> = sorted_entries(&map)
                .into_iter()
                .map(|(k, _)| document(&json!({ k: 1 })))
                .collect();
            assert_eq!(
                document(&Value::Object(map)),
                expected.concat(),
                "{chunk:?}"
            );
        }
    }

    #[test]
    fn compare_keys_is_a_total_order() {
        let keys = pseudo_random_keys(120);
        for a in &keys {
            assert_eq!(compare_keys(a, a), Ordering::Equal);
            for b in &keys {
                assert_eq!(compare_keys(a, b), compare_keys(b, a).reverse());
                assert_eq!(compare_keys(a, b) == Ordering::Equal, a == b);
                for c in &keys {
                    if compare_keys(a, b).is_le() && compare_keys(b, c).is_le() {
                        assert!(compare_keys(a, c).is_le(), "{a:?} {b:?} {c:?}");
                    }
                }
            }
        }
        let mut many = pseudo_random_keys(5000);
        many.sort_by(|a, b| compare_keys(a, b));
        assert!(many.windows(2).all(|w| compare_keys(&w[0], &w[1]).is_le()));
    }

    #[test]
    fn compare_keys_agrees_with_go_yaml_except_split_numbers() {
        // go-yaml compares a letter with a digit when a shared number goes on
        // in only one key (v1alpha1 / v10); everywhere else the orders agree,
        // as long as numbers are ASCII and fit 64 bits.
        let split_number = |a: &str, b: &str| {
            let shared: Vec<(char, char)> = a
                .chars()
                .zip(b.chars())
                .take_while(|(x, y)| x == y)
                .collect();
            let differ = (a.chars().nth(shared.len()), b.chars().nth(shared.len()));
            let after_digit = shared.last().is_some_and(|(c, _)| is_go_digit(*c));
            let letter_digit = match differ {
                (Some(x), Some(y)) => {
                    (is_go_letter(x) && is_go_digit(y)) || (is_go_digit(x) && is_go_letter(y))
                }
                _ => false,
            };
            after_digit && letter_digit
        };
        let keys: Vec<String> = pseudo_random_keys(300)
            .into_iter()
            .filter(|k| !k.contains("99999999999999999999") && !k.contains('٣'))
            .collect();
        for a in &keys {
            for b in &keys {
                if a != b && !split_number(a, b) {
                    assert_eq!(compare_keys(a, b).is_lt(), go_less(a, b), "{a:?} {b:?}");
                }
            }
        }
        assert!(go_less("v10", "v1alpha1"));
        assert_eq!(compare_keys("v1alpha1", "v10"), Ordering::Less);
    }

    #[test]
    fn block_layout() {
        let value = json!({
            "list": ["a", "b"],
            "maps": [{"name": "x", "image": "y"}, {"z": {"deep": 1}}],
            "lists": [[1, 2], [], [[3]], {}, [{"x": 1, "y": []}]],
            "empty_map": {},
            "empty_list": [],
            "nothing": null,
            "flags": [true, false],
        });
        assert_eq!(
            document(&value),
            "empty_list: []\n\
             empty_map: {}\n\
             flags:\n\
             - true\n\
             - false\n\
             list:\n\
             - a\n\
             - b\n\
             lists:\n\
             - - 1\n  - 2\n\
             - []\n\
             - - - 3\n\
             - {}\n\
             - - x: 1\n    \"y\": []\n\
             maps:\n\
             - image: \"y\"\n  name: x\n\
             - z:\n    deep: 1\n\
             nothing: null\n"
        );
    }

    #[test]
    fn strings_that_read_as_other_types_are_double_quoted() {
        let quoted = [
            "8000",
            "true",
            "True",
            "TRUE",
            "false",
            "on",
            "On",
            "ON",
            "off",
            "Off",
            "OFF",
            "yes",
            "Yes",
            "YES",
            "y",
            "Y",
            "n",
            "N",
            "no",
            "No",
            "NO",
            "null",
            "Null",
            "NULL",
            "~",
            "",
            "1e3",
            "1E3",
            "0755",
            "08",
            "0o17",
            "0b101",
            "0x1F",
            "0X1F",
            "-0b1",
            "0b-10",
            "+1",
            "-1",
            "1_000",
            "1__0",
            "1_",
            "+_1",
            ".5",
            ".5e3",
            ".5_0",
            "+.5",
            "5.",
            "0.",
            "1.0",
            "1.5e-3",
            "1e-400",
            ".inf",
            ".Inf",
            "-.inf",
            "+.INF",
            ".nan",
            ".NaN",
            "123456789012345678901234567890",
            "18446744073709551615",
            "0xFFFFFFFFFFFFFFFF",
            "-0x8000000000000000",
            "2024-01-01",
            "2024-1-1",
            "2024-02-29",
            "0000-01-01",
            "2024-01-01T10:00:00Z",
            "2024-01-01t10:00:00Z",
            "2024-01-01T1:2:3Z",
            "2024-01-01T10:00:00+01:00",
            "2024-01-01T10:00:00.1234567891Z",
            "2024-01-01T10:00:00,5Z",
            "2024-01-01 10:00:00",
            "2024-01-01   10:00:00.5",
            "2024-01-01T10:00:00+24:60",
            "12:30",
            "1:20:30",
            "1:59",
            "-1:30",
            "1_0:30",
            "12:30.5",
            "190:20:30.15",
        ];
        for s in quoted {
            assert_eq!(value_text(json!(s)), format!(" \"{s}\"\n"), "{s:?}");
            assert_eq!(
                document(&json!({ s: 1 })),
                format!("\"{s}\": 1\n"),
                "key {s:?}"
            );
        }
        let plain = [
            "tRue",
            "oN",
            "yEs",
            "nUll",
            "1e",
            "e3",
            "0x",
            "0b",
            "0o",
            "2024-02-30",
            "2024-13-01",
            "2024-01-01T25:00:00Z",
            "2024-01-01T10:00:00",
            "2024-01-01T10:00:00+25:00",
            "2024-01-01 10:00:60",
            "2023-02-29",
            "1:60",
            "_1",
            "+",
            ".",
            ".iNf",
            "inf",
            "nan",
            "Infinity",
            "<<",
            "=",
            "1e+",
            "0x1p3",
            "._5",
            ".e3",
            ".5e",
            "1e999",
            "0x1FFFFFFFFFFFFFFFF",
            "+0xFFFFFFFFFFFFFFFF",
            "-0x8000000000000001",
            "1..2",
            "1.2.3",
            "0.0.0.0",
            "1:2.3.4",
            "--",
            "-- a",
            "a ---",
            "é",
            "naïve",
            "日本",
        ];
        for s in plain {
            assert_eq!(value_text(json!(s)), format!(" {s}\n"), "{s:?}");
        }
    }

    #[test]
    fn indicators_and_edge_spaces_are_single_quoted() {
        let single = [
            (" a", "' a'"),
            ("a ", "'a '"),
            (" ", "' '"),
            ("*foo", "'*foo'"),
            ("#x", "'#x'"),
            ("a #b", "'a #b'"),
            ("a: b", "'a: b'"),
            ("a:", "'a:'"),
            (": a", "': a'"),
            (":", "':'"),
            ("?", "'?'"),
            ("? a", "'? a'"),
            ("- x", "'- x'"),
            ("-", "'-'"),
            ("---", "'---'"),
            ("...", "'...'"),
            ("---a", "'---a'"),
            ("{{ .x }}", "'{{ .x }}'"),
            ("[a]", "'[a]'"),
            (",a", "',a'"),
            ("]", "']'"),
            ("}", "'}'"),
            ("&a", "'&a'"),
            ("!a", "'!a'"),
            ("|a", "'|a'"),
            (">a", "'>a'"),
            ("'a", "'''a'"),
            ("\"a", "'\"a'"),
            ("%a", "'%a'"),
            ("@a", "'@a'"),
            ("`a", "'`a'"),
            ("x: y # z", "'x: y # z'"),
            ("12:30:", "'12:30:'"),
        ];
        for (s, expected) in single {
            assert_eq!(value_text(json!(s)), format!(" {expected}\n"), "{s:?}");
        }
        let plain = [
            "a  b",
            "a#b",
            "a:b",
            ":a",
            "?a",
            "a?",
            "-x",
            "a[b]",
            "a,b",
            "a%",
            "a@",
            "it's",
            "a\"b",
            "a\\b",
            "a=b",
            "<a",
            "a\u{a0}#b",
        ];
        for s in plain {
            assert_eq!(value_text(json!(s)), format!(" {s}\n"), "{s:?}");
        }
        assert_eq!(document(&json!({"- a": 1, " a": 2})), "' a': 2\n'- a': 1\n");
    }

    #[test]
    fn special_characters_force_double_quotes_with_escapes() {
        let cases = [
            ("a\tb", r#""a\tb""#),
            ("a\rb", r#""a\rb""#),
            ("\u{1}", r#""\x01""#),
            ("\u{1b}", r#""\e""#),
            ("\0", r#""\0""#),
            ("\u{7f}", r#""\x7F""#),
            ("\u{85}", r#""\N""#),
            ("\u{9f}", r#""\x9F""#),
            ("\u{fffe}", r#""\uFFFE""#),
            ("\u{1F600}", r#""\U0001F600""#),
            ("a\u{feff}", r#""a\uFEFF""#),
            ("a b\u{feff} c", r#""a b\uFEFF c""#),
            // A leading byte order mark makes go-yaml escape everything.
            (
                "\u{feff}a b\u{e9}\u{a0}\u{1F600}",
                r#""\uFEFF\x61\x20\x62\xE9\_\U0001F600""#,
            ),
            ("a \u{2028}b", r#""a \Lb""#),
            ("a\u{2029} b", r#""a\P b""#),
            ("k: \u{2028}", r#""k: \L""#),
        ];
        for (s, expected) in cases {
            assert_eq!(value_text(json!(s)), format!(" {expected}\n"), "{s:?}");
        }
        // Printable non-ASCII of the BMP stays as is.
        assert_eq!(value_text(json!("é \u{a0}x \u{ad}")), " é \u{a0}x \u{ad}\n");
        // U+2028 is a line break to YAML 1.1: single quotes, indented after it.
        assert_eq!(value_text(json!("a\u{2028}b")), " 'a\u{2028}  b'\n");
        assert_eq!(value_text(json!("a\u{2028}")), " 'a\u{2028}'\n");
    }

    #[test]
    fn multiline_strings_use_literal_blocks() {
        let list =
            json!({"l": ["a\nb", "a\n", "a\n\n", " a\nb", "\nx\n", "\n", "\n\n", "a\n\n\nb"]});
        assert_eq!(
            document(&list),
            "l:\n\
             - |-\n  a\n  b\n\
             - |\n  a\n\
             - |+\n  a\n\n\
             - |2-\n   a\n  b\n\
             - |2\n\n  x\n\
             - |2+\n\n\
             - |2+\n\n\n\
             - |-\n  a\n\n\n  b\n"
        );
        let nested = json!({"m": {"keep": "x\n\n\n", "clip": "line one\n\nline three\n", "strip": "no newline\nat end"}});
        assert_eq!(
            document(&nested),
            "m:\n  clip: |\n    line one\n\n    line three\n  keep: |+\n    x\n\n\n  \
             strip: |-\n    no newline\n    at end\n"
        );
        // A block at the very end of the document adds no extra newline.
        assert_eq!(document(&json!({"z": "a\n\n"})), "z: |+\n  a\n\n");
        // Trailing spaces on a line, tabs or special characters: double quotes.
        assert_eq!(
            value_text(json!("trailing \nspace")),
            r#" "trailing \nspace""#.to_owned() + "\n"
        );
        assert_eq!(
            value_text(json!("a\tb\n")),
            r#" "a\tb\n""#.to_owned() + "\n"
        );
        assert_eq!(value_text(json!("a\nb ")), r#" "a\nb ""#.to_owned() + "\n");
        assert_eq!(value_text(json!(" \n")), r#" " \n""#.to_owned() + "\n");
        assert_eq!(
            value_text(json!("é\n\u{1F600}")),
            r#" "é\n\U0001F600""#.to_owned() + "\n"
        );
        // U+2029 breaks a literal block like a newline does.
        assert_eq!(
            value_text(json!("a\u{2029}b\nc")),
            " |-\n  a\u{2029}  b\n  c\n"
        );
    }

    #[test]
    fn long_scalars_fold_after_column_80() {
        let greek = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi";
        let value = json!({"spec": {
            "plain": format!("{greek} omicron pi rho sigma tau upsilon"),
            "items": [
                format!("{greek} omicron pi rho sigma"),
                {"deep": {"deeper": "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen"}},
            ],
            "nospace": "x".repeat(100),
            "single": format!("#{greek} omicron pi rho sigma"),
            "double": "tab\there beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron  pi rho sigma tau",
            "twospaces": "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicro  pi rho sigma tau",
            "d": format!("\t{}  b c", "a".repeat(80)),
        }});
        let expected = format!(
            "spec:\n  d: \"\\t{a80}\n    \\ b c\"\n  double: \"tab\\there beta gamma delta epsilon zeta eta theta iota kappa lambda mu\n    nu xi omicron  pi rho sigma tau\"\n  items:\n  - alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron\n    pi rho sigma\n  - deep:\n      deeper: one two three four five six seven eight nine ten eleven twelve thirteen\n        fourteen fifteen\n  nospace: {x100}\n  plain: alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi\n    omicron pi rho sigma tau upsilon\n  single: '#alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu\n    xi omicron pi rho sigma'\n  twospaces: alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu\n    xi omicro  pi rho sigma tau\n",
            a80 = "a".repeat(80),
            x100 = "x".repeat(100),
        );
        assert_eq!(document(&value), expected);
    }

    #[test]
    fn long_and_multiline_keys_use_the_explicit_form() {
        let long = "k".repeat(129);
        let limit = "k".repeat(128);
        let value =
            json!({ &long: "v", &limit: "w", "a\nb": "c", "m\nm": [1, 2], "n\nn": {"x": 1} });
        assert_eq!(
            document(&value),
            format!(
                "? |-\n  a\n  b\n: c\n{limit}: w\n? {long}\n: v\n? |-\n  m\n  m\n: - 1\n  - 2\n? |-\n  n\n  n\n: x: 1\n"
            )
        );
        // Byte length counts: 64 × 'é' is 128 bytes, 65 are too many.
        let e64 = "é".repeat(64);
        let e65 = "é".repeat(65);
        assert_eq!(document(&json!({ &e64: 1 })), format!("{e64}: 1\n"));
        assert_eq!(document(&json!({ &e65: 1 })), format!("? {e65}\n: 1\n"));
    }

    #[test]
    fn numbers_print_like_go_after_the_json_round_trip() {
        let cases: &[(Value, &str)] = &[
            (json!(0), "0"),
            (json!(-42), "-42"),
            (json!(i64::MIN), "-9223372036854775808"),
            (json!(u64::MAX), "18446744073709551615"),
            (json!(1.0), "1"),
            (json!(-0.0), "0"),
            (json!(0.5), "0.5"),
            (json!(0.1), "0.1"),
            (json!(12.375), "12.375"),
            (json!(1e-7), "1e-07"),
            (json!(0.0001), "0.0001"),
            (json!(0.00001), "1e-05"),
            (json!(123456.5), "123456.5"),
            (json!(1234567.5), "1.2345675e+06"),
            (json!(1e6), "1000000"),
            (json!(1e15), "1000000000000000"),
            (json!(1e19), "10000000000000000000"),
            (json!(1e20), "1e+20"),
            (json!(1e21), "1e+21"),
            (json!(1.5e300), "1.5e+300"),
            (json!(-2.5e-300), "-2.5e-300"),
            (json!(1595045547040606720.0), "1595045547040606700"),
            (json!(-9223372036854775808.0), "-9.223372036854776e+18"),
            (json!(18446744073709551616.0), "1.8446744073709552e+19"),
            // Exact ties between two shortest forms go to the even digit.
            (json!(1.5e15 + 3.25), "1.5000000000000032e+15"),
            (json!(1.5e15 + 1.75), "1.5000000000000018e+15"),
            (json!(true), "true"),
        ];
        for (number, expected) in cases {
            assert_eq!(
                value_text(number.clone()),
                format!(" {expected}\n"),
                "{number}"
            );
        }
    }

    #[test]
    fn merge_keys_are_left_out_like_kustomize_does() {
        let value = json!({"a": {"<<": {"x": 1}, "k": 1}, "b": {"<<": "x"}});
        assert_eq!(document(&value), "a:\n  k: 1\nb: {}\n");
    }

    /// Objects with awkward keys and values, for the round trip and kubectl.
    fn tricky_objects() -> Vec<Value> {
        let long_words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau upsilon phi chi psi omega";
        let config_map = json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": "tricky",
                "labels": {"app.kubernetes.io/name": "shop", "app": "web", "tier": "8000"},
                "annotations": {"note": long_words, "empty": "", "yes": "yes", "hash": "#tag"},
            },
            "data": {
                "port80": "80", "port8080": "8080", "port443": "on", "a10": "1e3", "a9": "0755",
                "A": "~", "_x": "- x", "-x": "*ref", "app_version": "1.0", "appVersion": "2024-01-01",
                "12:30": "12:30", "null": "null", "script.sh": "#!/bin/sh\necho \"hi\"\n\n",
                "strip": "no final newline\n  indented", "lead": "  leading spaces\nsecond\n",
                "blank": "\n\nafter blanks\n", "tab": "a\tb\n", "trail": "line \nnext",
                "quote": "it's 'quoted'", "dq": "say \"hi\"", "colon": "key: value",
                "brace": "{{ .Values.x }}", "emoji": "smile \u{1F600}", "accent": "café",
                "bom": "\u{feff}x y", "ctl": "bell\u{7}", "ls": "a\u{2028}b", "ps": "a \u{2029}b",
                "long": format!("{long_words} {long_words}"),
                "longsingle": format!("'{long_words} {long_words}"),
                "longdouble": format!("\t{long_words}  {long_words}"),
                "nospace": "x".repeat(120),
                "k".repeat(130): "long key",
                "multi\nline key": "v",
                "<<": "dropped",
            },
        });
        let deployment = json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {
                        "containers": [{
                            "name": "web",
                            "image": "nginx:1.27",
                            "args": ["--port", "8080", "--flag=true", "-v", "yes", "", "a b"],
                            "command": [["nested", "list"], [], {}],
                            "env": [
                                {"name": "A", "value": "1"},
                                {"name": "B", "value": "true"},
                                {"name": "C", "value": null},
                                {"name": "D", "value": long_words},
                            ],
                            "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                            "resources": {"limits": {"cpu": "500m", "memory": "1Gi"}},
                        }],
                        "weights": [0.5, 1.0, 1e-7, 1e20, 1234567.5, 1.5e15 + 3.25, -0.0, 18446744073709551615u64, -9223372036854775808i64],
                        "flags": {"on": true, "off": false, "none": null, "list": [], "map": {}},
                    },
                },
            },
        });
        vec![config_map, deployment]
    }

    #[test]
    fn round_trips_through_a_yaml_parser() {
        let mut objects = tricky_objects();
        // Leave out what a YAML 1.2 reader cannot get back: line separators
        // (a break in YAML 1.1), the dropped merge key and floats printed as
        // integers.
        let data = objects[0]["data"].as_object_mut().unwrap();
        for key in ["ls", "ps", "<<"] {
            data.remove(key);
        }
        let spec = &mut objects[1]["spec"]["template"]["spec"];
        spec["weights"] = json!([0.5, 1e-7, 1234567.5, 1.5e15 + 3.25]);
        objects.push(json!({"8000": "8000", "y": ["n", "1_000", "0x1F", ".5", "2024-01-01"]}));
        for object in &objects {
            let text = document(object);
            let back: Value = serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
            assert_eq!(&back, object, "{text}");
        }
    }

    #[test]
    fn matches_kubectl_kustomize() {
        let available = std::process::Command::new("kubectl")
            .args(["version", "--client"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !available {
            assert!(
                std::env::var_os("PLATGEN_REQUIRE_KUSTOMIZE").is_none(),
                "PLATGEN_REQUIRE_KUSTOMIZE is set but kubectl is missing"
            );
            // Straight to stderr: `cargo test` would hide an `eprintln!` of a passing test.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED matches_kubectl_kustomize: kubectl not found"
            );
            return;
        }
        let objects = tricky_objects();
        // JSON is YAML; serde_json escapes control characters, but writes
        // U+2028 / U+2029 raw, which kustomize's reader would fold.
        let input: Vec<String> = objects
            .iter()
            .map(|o| {
                serde_json::to_string(o)
                    .unwrap()
                    .replace('\u{2028}', "\\u2028")
                    .replace('\u{2029}', "\\u2029")
            })
            .collect();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("objects.yaml"), input.join("\n---\n")).unwrap();
        std::fs::write(
            dir.path().join("kustomization.yaml"),
            "resources:\n- objects.yaml\n",
        )
        .unwrap();
        let output = std::process::Command::new("kubectl")
            .arg("kustomize")
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let expected = String::from_utf8(output.stdout).unwrap();
        let ours = stream(&objects);
        if ours != expected {
            for (line, (a, b)) in ours.lines().zip(expected.lines()).enumerate() {
                assert_eq!(a, b, "first difference at line {}", line + 1);
            }
        }
        assert_eq!(ours, expected);
    }
}
