//! Descriptor source text: where each key sits, and diagnostics that point into it.
//!
//! A [`Source`] indexes a YAML descriptor once, with yaml-rust2's event parser (which
//! reports a marker for every node), so that errors found after deserialization and
//! known only by a key path such as `services[3].port` can name file, line and column
//! and show the offending line with a caret. [`render_serde_error`] does the same for
//! the errors serde_yaml reports itself.
//!
//! Positions are 1-based; columns count characters (not bytes), exactly as serde_yaml's
//! `Location::column` does, so the two can be mixed freely. A byte-order mark at the
//! start of the text counts as a character of line 1 for both.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt::{self, Write as _};
use std::ops::Deref;
use std::panic::{self, AssertUnwindSafe};

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

const BOM: char = '\u{feff}';

/// A position in a source file, 1-based line and column (column counted in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

impl Pos {
    /// The first character of the file, where everything falls back to.
    pub const START: Pos = Pos { line: 1, col: 1 };

    /// yaml-rust2 markers have 1-based lines and 0-based columns, counted in characters.
    fn from_marker(marker: &Marker) -> Pos {
        Pos {
            line: marker.line().max(1),
            col: marker.col() + 1,
        }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// Where one node of the document sits.
#[derive(Debug, Clone, Copy)]
struct Node {
    /// The key it is the value of, when it is the value of a mapping entry.
    key: Option<Pos>,
    /// The value itself.
    value: Pos,
}

/// One descriptor file: its display path (as given, e.g. `environments/production.yaml`),
/// its text, and where each key path sits.
#[derive(Debug, Clone)]
pub struct Source {
    path: String,
    text: String,
    /// Byte range of each line's content, line break excluded (`\n`, `\r\n` and `\r` all break lines, as in YAML).
    lines: Vec<(usize, usize)>,
    /// Where each key path sits: built on first use, i.e. only when a problem is reported
    /// (a valid file is never parsed a second time).
    index: std::sync::OnceLock<Index>,
}

impl Source {
    /// Index the text. Never panics, whatever the text; on a YAML syntax error the index
    /// covers what comes before it (serde_yaml reports syntax errors itself). Only the
    /// first document is indexed.
    pub fn new(display_path: impl Into<String>, text: impl Into<String>) -> Source {
        let text = text.into();
        let lines = line_table(&text);
        Source {
            path: display_path.into(),
            text,
            lines,
            index: std::sync::OnceLock::new(),
        }
    }

    fn index(&self) -> &Index {
        self.index.get_or_init(|| build_index(self))
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Position of the VALUE at a key path (`services[3].port`, `name`, `a.b[0]`; `""` is
    /// the document root). For a path that does not exist, the position of the deepest
    /// existing ancestor (so a missing `services[3].database` points at `services[3]`);
    /// 1:1 at worst.
    ///
    /// A mapping's position is that of its first key (for a flow mapping, its `{`), a
    /// sequence's that of its first `-` (or `[`), a block scalar's that of its `|` or `>`
    /// indicator, and an empty value's the column right after its key's `:`: the same
    /// places serde_yaml reports. serde_yaml's own paths are accepted too (`.` for the
    /// root, `.[0]` for an item of a root sequence). When a key occurs twice in one
    /// mapping, the first occurrence is indexed.
    pub fn locate(&self, key_path: &str) -> Pos {
        self.find(key_path)
            .map_or(Pos::START, |(node, _)| node.value)
    }

    /// Position of the KEY itself at a key path (for "unknown field" style errors).
    ///
    /// A node that is no mapping value (a sequence item, the root) has no key: its value
    /// position is given. A path that does not exist gives the value position of its
    /// deepest existing ancestor, exactly as `locate` does.
    pub fn locate_key(&self, key_path: &str) -> Pos {
        match self.find(key_path) {
            Some((node, true)) => node.key.unwrap_or(node.value),
            Some((node, false)) => node.value,
            None => Pos::START,
        }
    }

    /// Render a full diagnostic block, rustc style:
    ///
    /// ```text
    /// error: replicas.min (5) is above replicas.max (3)
    ///   --> environments/production.yaml:14:12
    ///    |
    /// 14 |       min: 5
    ///    |            ^
    ///    = expected: min <= max
    ///    = help: did you mean `x`?
    /// ```
    ///
    /// The `= expected:` line comes when `expected` is given, the `= help:` line (the
    /// caller's text after `help: `) when `help` is. The gutter is as wide as the line
    /// number. There are as many carets as the scalar starting at `pos` has characters
    /// when it sits on that line (so `512Mb` gets 5, `"80"` 4), else one. Every line of
    /// the block ends with `\n`.
    ///
    /// The line is shown with tabs kept (the caret line copies them, so it stays aligned),
    /// a byte-order mark dropped and other control characters shown as `\u{fffd}`. A
    /// column past the end of the line puts the caret just after its last character; a
    /// line past the end of the file is shown empty. Characters are assumed one terminal
    /// cell wide.
    pub fn render(
        &self,
        pos: Pos,
        message: &str,
        expected: Option<&str>,
        help: Option<&str>,
    ) -> String {
        let line_no = pos.line.max(1);
        let col = pos.col.max(1);
        let line = self.line(line_no).unwrap_or("");
        let gutter = " ".repeat(line_no.to_string().len());

        let mut shown = String::with_capacity(line.len());
        let mut indent = String::new();
        for (i, c) in line.chars().enumerate() {
            let c = match c {
                BOM => continue,
                '\t' => '\t',
                c if c.is_control() => '\u{fffd}',
                c => c,
            };
            shown.push(c);
            if i + 1 < col {
                indent.push(if c == '\t' { '\t' } else { ' ' });
            }
        }
        let carets = "^".repeat(
            self.index()
                .spans
                .get(&Pos { line: line_no, col })
                .copied()
                .unwrap_or(1)
                .max(1),
        );

        let mut out = format!(
            "error: {message}\n{gutter}--> {path}:{line_no}:{col}\n{gutter} |\n{line_no} |",
            path = self.path,
        );
        if !shown.is_empty() {
            out.push(' ');
            out.push_str(&shown);
        }
        let _ = write!(out, "\n{gutter} | {indent}{carets}\n");
        if let Some(expected) = expected {
            let _ = writeln!(out, "{gutter} = expected: {expected}");
        }
        if let Some(help) = help {
            let _ = writeln!(out, "{gutter} = help: {help}");
        }
        out
    }

    /// The byte offset of a position; a column past the end of its line gives the end
    /// of the line.
    pub fn offset(&self, pos: Pos) -> Option<usize> {
        let &(start, end) = self.lines.get(pos.line.checked_sub(1)?)?;
        let line = &self.text[start..end];
        match line.char_indices().nth(pos.col.checked_sub(1)?) {
            Some((at, _)) => Some(start + at),
            None => Some(end),
        }
    }

    /// The position of a byte offset (the character it falls in).
    pub fn pos_at(&self, offset: usize) -> Pos {
        let index = self.lines.partition_point(|&(start, _)| start <= offset);
        let line = index.max(1);
        let (start, end) = self.lines[line - 1];
        let upto = offset.clamp(start, end);
        let col = self.text.get(start..upto).map_or(0, |t| t.chars().count()) + 1;
        Pos { line, col }
    }

    /// The text of a 1-based line, line break excluded.
    fn line(&self, line: usize) -> Option<&str> {
        let &(start, end) = self.lines.get(line.checked_sub(1)?)?;
        self.text.get(start..end)
    }

    /// The rest of the line from a position on (empty just past its last character).
    fn rest_at(&self, pos: Pos) -> Option<&str> {
        let line = self.line(pos.line)?;
        let skip = pos.col.checked_sub(1)?;
        let mut chars = line.char_indices();
        match chars.nth(skip) {
            Some((at, _)) => Some(&line[at..]),
            None if line.chars().count() == skip => Some(""),
            None => None,
        }
    }

    /// Whether a position lies after the last non-blank character of the text.
    fn is_past_content(&self, pos: Pos) -> bool {
        let last = (1..=self.lines.len()).rev().find_map(|n| {
            let line = self.line(n)?.trim_end();
            (!line.is_empty()).then(|| Pos {
                line: n,
                col: line.chars().count(),
            })
        });
        last.is_none_or(|last| pos > last)
    }

    /// The node at a key path, or at its deepest existing ancestor (then `false`).
    fn find(&self, key_path: &str) -> Option<(&Node, bool)> {
        let mut path = key_path.strip_prefix('.').unwrap_or(key_path);
        let mut exact = true;
        loop {
            if let Some(node) = self.index().nodes.get(path) {
                return Some((node, exact));
            }
            if path.is_empty() {
                return None;
            }
            path = parent_path(path);
            exact = false;
        }
    }
}

/// The key path one level up: "a.b[2]" -> "a.b" -> "a" -> "". Always strictly shorter.
fn parent_path(path: &str) -> &str {
    if path.ends_with(']')
        && let Some(open) = path.rfind('[')
    {
        return &path[..open];
    }
    match path.rfind('.') {
        Some(dot) => &path[..dot],
        None => "",
    }
}

/// Byte ranges of the lines of a text, breaks excluded.
fn line_table(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut lines = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                lines.push((start, i));
                i += 1;
                start = i;
            }
            b'\r' => {
                lines.push((start, i));
                i += if bytes.get(i + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                start = i;
            }
            _ => i += 1,
        }
    }
    lines.push((start, bytes.len()));
    lines
}

// ---------------------------------------------------------------------------
// Indexing

#[derive(Debug, Clone)]
struct Index {
    /// Each key path of the first document, and where its key and value sit.
    nodes: HashMap<String, Node>,
    spans: HashMap<Pos, usize>,
    #[cfg_attr(not(test), allow(dead_code))]
    panicked: bool,
}

fn build_index(source: &Source) -> Index {
    let mut indexer = Indexer {
        source,
        nodes: HashMap::new(),
        spans: HashMap::new(),
        stack: Vec::new(),
    };
    // yaml-rust2 has not been seen to panic (see the fuzz test), but an index is a
    // nicety: should it ever panic, keep what was indexed rather than fail the run.
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| indexer.run()));
    Index {
        nodes: indexer.nodes,
        spans: indexer.spans,
        panicked: outcome.is_err(),
    }
}

/// The key of the mapping entry whose value comes next.
#[derive(Debug, Clone)]
struct PendingKey {
    /// Its text, when it is a scalar (numbers and booleans index by their text too).
    text: Option<String>,
    pos: Pos,
    /// Length in characters, when it is a scalar on one line.
    span: Option<usize>,
}

enum Frame {
    Map {
        /// `None` inside a complex key (a collection used as a key): not indexed.
        path: Option<String>,
        /// `None` while the next node is a key, `Some` while it is that key's value.
        key: Option<PendingKey>,
        /// A block mapping: its marker is unreliable, so its position becomes its first key's.
        position_from_first_key: Option<String>,
    },
    Seq {
        path: Option<String>,
        next: usize,
    },
}

enum NodeKind<'e> {
    Scalar {
        value: &'e str,
        style: TScalarStyle,
        /// Neither anchor nor tag.
        bare: bool,
    },
    Alias,
    Seq,
    Map,
}

enum Slot {
    Key,
    Value {
        path: Option<String>,
        key: Option<PendingKey>,
    },
}

struct Indexer<'s> {
    source: &'s Source,
    nodes: HashMap<String, Node>,
    spans: HashMap<Pos, usize>,
    stack: Vec<Frame>,
}

impl Indexer<'_> {
    /// Walk the events of the first document. Stops quietly at the first syntax error.
    fn run(&mut self) {
        let mut parser = Parser::new_from_str(&self.source.text);
        // Every event but the empty scalars consumes input, and there are at most two of
        // those per character: a bound that only a parser bug could reach.
        let budget = self.source.text.len().saturating_mul(4).saturating_add(64);
        for _ in 0..budget {
            let Ok((event, marker)) = parser.next_token() else {
                return;
            };
            let mut pos = Pos::from_marker(&marker);
            match event {
                Event::StreamEnd | Event::DocumentEnd => return,
                Event::Nothing | Event::StreamStart | Event::DocumentStart => {}
                Event::Scalar(value, style, anchor, tag) => {
                    // yaml-rust2 reads a byte-order mark as part of the first plain
                    // scalar; libyaml skips it but counts it as a column, as Pos does.
                    let value = match value.strip_prefix(BOM) {
                        Some(rest) => {
                            pos.col += 1;
                            rest
                        }
                        None => &value,
                    };
                    let bare = anchor == 0 && tag.is_none();
                    self.node(pos, NodeKind::Scalar { value, style, bare });
                }
                Event::Alias(_) => self.node(pos, NodeKind::Alias),
                Event::SequenceStart(..) => self.node(pos, NodeKind::Seq),
                Event::MappingStart(..) => self.node(pos, NodeKind::Map),
                Event::SequenceEnd | Event::MappingEnd => {
                    self.stack.pop();
                }
            }
        }
    }

    fn node(&mut self, marker: Pos, kind: NodeKind<'_>) {
        let slot = match self.stack.last_mut() {
            None => Slot::Value {
                path: Some(String::new()),
                key: None,
            },
            Some(Frame::Seq { path, next }) => {
                let item = path.as_ref().map(|parent| format!("{parent}[{next}]"));
                *next += 1;
                Slot::Value {
                    path: item,
                    key: None,
                }
            }
            Some(Frame::Map {
                path,
                key,
                position_from_first_key,
            }) => match key.take() {
                Some(pending) => Slot::Value {
                    path: match (path.as_ref(), pending.text.as_ref()) {
                        (Some(parent), Some(text)) if parent.is_empty() => Some(text.clone()),
                        (Some(parent), Some(text)) => Some(format!("{parent}.{text}")),
                        _ => None,
                    },
                    key: Some(pending),
                },
                None => {
                    if let Some(owner) = position_from_first_key.take()
                        && let Some(node) = self.nodes.get_mut(&owner)
                    {
                        node.value = marker;
                    }
                    Slot::Key
                }
            },
        };

        match slot {
            Slot::Key => self.key(marker, kind),
            Slot::Value { path, key } => self.value(marker, kind, path, key),
        }
    }

    fn key(&mut self, pos: Pos, kind: NodeKind<'_>) {
        let (text, span) = match &kind {
            NodeKind::Scalar { value, style, .. } => (
                Some((*value).to_owned()),
                self.scalar_span(pos, value, *style),
            ),
            NodeKind::Alias | NodeKind::Seq | NodeKind::Map => (None, None),
        };
        if let Some(span) = span {
            self.spans.insert(pos, span);
        }
        if let Some(Frame::Map { key, .. }) = self.stack.last_mut() {
            *key = Some(PendingKey { text, pos, span });
        }
        if matches!(kind, NodeKind::Seq | NodeKind::Map) {
            // A complex key: its inside has no key path.
            self.push_collection(&kind, None, false);
        }
    }

    fn value(
        &mut self,
        marker: Pos,
        kind: NodeKind<'_>,
        path: Option<String>,
        key: Option<PendingKey>,
    ) {
        let mut pos = marker;
        let mut span = None;
        let mut flow_map = false;
        match kind {
            NodeKind::Scalar { value, style, bare } => match style {
                TScalarStyle::Literal | TScalarStyle::Folded => {
                    // yaml-rust2 marks the first content line; serde_yaml the indicator.
                    pos = self.block_indicator(marker, key.as_ref()).unwrap_or(marker);
                }
                TScalarStyle::Plain if value.is_empty() && bare => {
                    // yaml-rust2 marks whatever follows an empty value (often the next
                    // key); serde_yaml the column right after the key's colon.
                    if let Some(key) = &key {
                        pos = self.after_colon(key).unwrap_or(key.pos);
                    }
                }
                _ => span = self.scalar_span(marker, value, style),
            },
            NodeKind::Map => {
                flow_map = self
                    .source
                    .rest_at(marker)
                    .is_some_and(|r| r.starts_with('{'))
            }
            NodeKind::Seq | NodeKind::Alias => {}
        }
        if let Some(span) = span {
            self.spans.insert(pos, span);
        }

        let mut fresh = false;
        if let Some(path) = &path
            && let Entry::Vacant(entry) = self.nodes.entry(path.clone())
        {
            entry.insert(Node {
                key: key.map(|k| k.pos),
                value: pos,
            });
            fresh = true;
        }
        if matches!(kind, NodeKind::Seq | NodeKind::Map) {
            let from_first_key = fresh && !flow_map;
            self.push_collection(&kind, path, from_first_key);
        }
    }

    fn push_collection(&mut self, kind: &NodeKind<'_>, path: Option<String>, from_first_key: bool) {
        let frame = match kind {
            NodeKind::Map => Frame::Map {
                position_from_first_key: if from_first_key { path.clone() } else { None },
                path,
                key: None,
            },
            _ => Frame::Seq { path, next: 0 },
        };
        self.stack.push(frame);
    }

    /// Length in characters of a scalar that starts at `pos` and ends on the same line.
    fn scalar_span(&self, pos: Pos, value: &str, style: TScalarStyle) -> Option<usize> {
        let rest = self.source.rest_at(pos)?;
        match style {
            TScalarStyle::Plain => {
                (!value.is_empty() && rest.starts_with(value)).then(|| value.chars().count())
            }
            TScalarStyle::SingleQuoted => quoted_len(rest, '\''),
            TScalarStyle::DoubleQuoted => quoted_len(rest, '"'),
            _ => None,
        }
    }

    /// The column right after the `:` that follows a key on its line.
    fn after_colon(&self, key: &PendingKey) -> Option<Pos> {
        let after_key = Pos {
            line: key.pos.line,
            col: key.pos.col + key.span?,
        };
        let rest = self.source.rest_at(after_key)?;
        let blanks = rest.chars().take_while(|c| matches!(c, ' ' | '\t')).count();
        rest.chars().nth(blanks).filter(|&c| c == ':').map(|_| Pos {
            line: after_key.line,
            col: after_key.col + blanks + 1,
        })
    }

    /// The `|` or `>` of a block scalar whose content yaml-rust2 marked at `content`: on
    /// the nearest non-blank line above, after the key when the key is on that line.
    fn block_indicator(&self, content: Pos, key: Option<&PendingKey>) -> Option<Pos> {
        let header = (1..content.line)
            .rev()
            .find(|&n| self.source.line(n).is_some_and(|l| !l.trim().is_empty()))?;
        let line = self.source.line(header)?;
        let from = match key {
            Some(key) if key.pos.line == header => key.pos.col + key.span.unwrap_or(1),
            _ => 1,
        };
        let mut prev = None;
        for (i, c) in line.chars().enumerate() {
            let col = i + 1;
            if col >= from {
                let after_blank = prev.is_none_or(|p: char| p == ' ' || p == '\t');
                if after_blank && c == '#' {
                    return None;
                }
                if after_blank && (c == '|' || c == '>') {
                    return Some(Pos { line: header, col });
                }
            }
            prev = Some(c);
        }
        None
    }
}

/// Length in characters of a quoted scalar at the start of `rest`, quotes included,
/// when it closes on that line.
fn quoted_len(rest: &str, quote: char) -> Option<usize> {
    let mut chars = rest.chars().peekable();
    if chars.next()? != quote {
        return None;
    }
    let mut len = 1;
    while let Some(c) = chars.next() {
        len += 1;
        if quote == '"' && c == '\\' {
            chars.next()?;
            len += 1;
        } else if c == quote {
            if quote == '\'' && chars.peek() == Some(&'\'') {
                chars.next();
                len += 1;
            } else {
                return Some(len);
            }
        }
    }
    None
}

// ---------------------------------------------------------------------------
// Key paths

/// Key path builder, so callers build paths without string bugs:
/// `KeyPath::root().key("services").index(3).key("port").to_string() == "services[3].port"`.
///
/// It dereferences to `str`, so `source.locate(&path)` works as is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct KeyPath(String);

impl KeyPath {
    /// The document root, "".
    #[must_use]
    pub fn root() -> Self {
        KeyPath(String::new())
    }

    /// The value of key `k` in the mapping at this path.
    #[must_use]
    pub fn key(&self, k: &str) -> Self {
        if self.0.is_empty() {
            KeyPath(k.to_owned())
        } else {
            KeyPath(format!("{}.{k}", self.0))
        }
    }

    /// Item `i` (0-based) of the sequence at this path.
    #[must_use]
    pub fn index(&self, i: usize) -> Self {
        KeyPath(format!("{}[{i}]", self.0))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Deref for KeyPath {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for KeyPath {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

// ---------------------------------------------------------------------------
// Did you mean

/// The closest candidate by edit distance, when it is close enough to be a plausible
/// typo: for "did you mean".
///
/// The distance counts insertions, deletions, substitutions and swaps of two adjacent
/// characters. A candidate qualifies when the distance is at most `max(1, len/3)`, `len`
/// being the word's length in characters, and below the longer one's length (so `x` does
/// not suggest `a`). Ties go to the earliest candidate.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word: Vec<char> = word.chars().collect();
    let limit = (word.len() / 3).max(1);
    let mut best: Option<(usize, &'a str)> = None;
    for candidate in candidates {
        let chars: Vec<char> = candidate.chars().collect();
        let d = edit_distance(&word, &chars);
        if d <= limit && d < word.len().max(chars.len()) && best.is_none_or(|(b, _)| d < b) {
            best = Some((d, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}

/// Optimal string alignment distance (Levenshtein plus adjacent transpositions).
fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(before[j - 2] + 1);
            }
            cur[j] = d;
        }
        std::mem::swap(&mut before, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

// ---------------------------------------------------------------------------
// serde_yaml errors

/// Turn a serde_yaml error on this source into a rendered diagnostic (see [`Source::render`]).
///
/// The message loses serde_yaml's " at line X column Y" parts. For "unknown field `x`,
/// expected one of `a`, `b`" (and unknown variants) the expected line lists the valid
/// names and a help line suggests the [`closest`] one, if any is close; for "missing field
/// `x`" the expected line names the required field; for "invalid type: string \"abc\",
/// expected u16" (and invalid values and lengths) the expectation moves to the expected
/// line. An error without a location points at 1:1.
///
/// serde_yaml's `Location` is already 1-based in both line and column, and its column
/// counts characters, as [`Pos`] does: it is used as is. An unknown field points at its
/// key, a bad value at the value, a missing or duplicate field at the mapping (its first
/// key). The path serde_yaml puts in front of the message (`services[0]: ...`) is kept.
/// A syntax error found only at the end of the text (an unclosed quote or bracket) points
/// at where the unfinished construct starts, when serde_yaml says where that is.
pub fn render_serde_error(source: &Source, err: &serde_yaml::Error) -> String {
    let (message, marks) = strip_marks(&err.to_string());
    let mut pos = err.location().map_or(Pos::START, |loc| Pos {
        line: loc.line().max(1),
        col: loc.column().max(1),
    });
    if source.is_past_content(pos)
        && let Some(&context) = marks.iter().rev().find(|&&m| m != pos)
    {
        pos = context;
    }
    let explained = explain(&message);
    source.render(
        pos,
        &explained.message,
        explained.expected.as_deref(),
        explained.help.as_deref(),
    )
}

/// Remove every " at line X column Y" (collecting the positions, in order) and
/// " at position N" from a serde_yaml message.
pub(crate) fn strip_marks(message: &str) -> (String, Vec<Pos>) {
    let mut out = String::with_capacity(message.len());
    let mut marks = Vec::new();
    let mut rest = message;
    while let Some(at) = rest.find(" at ") {
        let tail = &rest[at + 4..];
        if let Some((pos, used)) = parse_line_column(tail) {
            out.push_str(&rest[..at]);
            marks.push(pos);
            rest = &tail[used..];
        } else if let Some(used) = parse_prefixed_number(tail, "position ") {
            out.push_str(&rest[..at]);
            rest = &tail[used..];
        } else {
            out.push_str(&rest[..at + 4]);
            rest = tail;
        }
    }
    out.push_str(rest);
    (out, marks)
}

/// "line 3 column 11..." -> (3:11, bytes used).
fn parse_line_column(s: &str) -> Option<(Pos, usize)> {
    let used_line = parse_prefixed_number(s, "line ")?;
    let line = s[5..used_line].parse().ok()?;
    let rest = &s[used_line..];
    let used_col = parse_prefixed_number(rest, " column ")?;
    let col = rest[8..used_col].parse().ok()?;
    Some((Pos { line, col }, used_line + used_col))
}

/// Bytes used by `prefix` and the digits right after it, when there is at least one.
fn parse_prefixed_number(s: &str, prefix: &str) -> Option<usize> {
    let digits = s
        .strip_prefix(prefix)?
        .bytes()
        .take_while(u8::is_ascii_digit)
        .count();
    (digits > 0).then_some(prefix.len() + digits)
}

pub(crate) struct Explained {
    pub message: String,
    pub expected: Option<String>,
    pub help: Option<String>,
}

/// Split a serde message into what went wrong, what was expected, and a suggestion.
pub(crate) fn explain(message: &str) -> Explained {
    for phrase in ["unknown field `", "unknown variant `"] {
        let Some(at) = message.find(phrase) else {
            continue;
        };
        let name_start = at + phrase.len();
        let Some(name_len) = message[name_start..].find('`') else {
            continue;
        };
        let name = &message[name_start..name_start + name_len];
        let head_end = name_start + name_len + 1;
        let options = backticked(&message[head_end..]);
        if options.is_empty() {
            break;
        }
        let listed: Vec<String> = options.iter().map(|o| format!("`{o}`")).collect();
        let expected = if listed.len() == 1 {
            listed[0].clone()
        } else {
            format!("one of {}", listed.join(", "))
        };
        return Explained {
            message: message[..head_end].to_owned(),
            expected: Some(expected),
            help: closest(name, options.iter().copied()).map(|c| format!("did you mean `{c}`?")),
        };
    }

    if let Some(at) = message.find("missing field `") {
        let name_start = at + "missing field `".len();
        if let Some(name_len) = message[name_start..].find('`') {
            let name = &message[name_start..name_start + name_len];
            return Explained {
                message: message.to_owned(),
                expected: Some(format!("the required field `{name}`")),
                help: None,
            };
        }
    }

    // The validated scalars say "`x` is not a ...: expected ...".
    if !message.starts_with("invalid ")
        && let Some(split) = find_unquoted(message, 0, ": expected ")
    {
        return Explained {
            message: message[..split].to_owned(),
            expected: Some(message[split + ": expected ".len()..].to_owned()),
            help: None,
        };
    }

    for phrase in ["invalid type: ", "invalid value: ", "invalid length "] {
        if let Some(at) = message.find(phrase)
            && let Some(split) = find_unquoted(message, at + phrase.len(), ", expected ")
        {
            return Explained {
                message: message[..split].to_owned(),
                expected: Some(in_words(&message[split + ", expected ".len()..])),
                help: None,
            };
        }
    }

    Explained {
        message: message.to_owned(),
        expected: syntax_expectation(message),
        help: None,
    }
}

/// What libyaml wanted where it stopped, in words (its messages say what it found).
fn syntax_expectation(message: &str) -> Option<String> {
    const EXPECTATIONS: [(&str, &str); 18] = [
        (
            "while scanning a quoted scalar",
            "a closing quote for the value that starts here",
        ),
        (
            "did not find expected key",
            "a `key: value` at the indentation of its mapping",
        ),
        (
            "mapping values are not allowed",
            "one `key: value` per line; quote a value containing `: `",
        ),
        (
            "did not find expected ',' or ']'",
            "`,` between the items of the list and `]` to close it",
        ),
        (
            "did not find expected ',' or '}'",
            "`,` between the entries of the mapping and `}` to close it",
        ),
        ("could not find expected ':'", "`:` after the key"),
        (
            "unknown escape character",
            "an escape such as \\\\, \\\", \\n, \\t or \\uXXXX, or single quotes",
        ),
        (
            "cannot start any token",
            "a key, a value or `- `; quote a value starting with `@` or a backquote",
        ),
        (
            "block sequence entries are not allowed",
            "a list item `- ` on a line of its own under its key",
        ),
        (
            "did not find expected '-' indicator",
            "every item of the list starting with `- ` at one indentation",
        ),
        ("duplicate entry", "each key once in its mapping"),
        (
            "found undefined tag handle",
            "a tag such as `!!str`, or none",
        ),
        (
            "unknown anchor",
            "an alias `*name` of an anchor `&name` defined above it",
        ),
        ("did not find expected node content", "a value"),
        (
            "tab character",
            "spaces: YAML does not allow tabs for indentation",
        ),
        ("recursion limit exceeded", "at most 128 levels of nesting"),
        (
            "repetition limit exceeded",
            "aliases that repeat fewer values",
        ),
        ("end of stream", "the rest of the document"),
    ];
    let (_, expected) = EXPECTATIONS
        .iter()
        .find(|(found, _)| message.contains(found))?;
    Some((*expected).to_owned())
}

/// What serde expected, said as a person would: `u32` is "a whole number >= 0".
pub(crate) fn in_words(expected: &str) -> String {
    match expected {
        "u8" => "a whole number from 0 to 255",
        "u16" => "a whole number from 0 to 65535",
        "u32" | "u64" | "usize" => "a whole number >= 0",
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number",
        "f32" | "f64" => "a number",
        "a boolean" => "true or false",
        "a sequence" => "a list",
        "a map" => "a mapping",
        other if other.starts_with("struct ") => "a mapping",
        other => other,
    }
    .to_owned()
}

/// The contents of each closed `...` in a text.
fn backticked(text: &str) -> Vec<&str> {
    let parts: Vec<&str> = text.split('`').collect();
    (1..parts.len().saturating_sub(1))
        .step_by(2)
        .map(|i| parts[i])
        .collect()
}

/// Byte offset of `needle` in `text` from `from` on, outside "..." (with backslash
/// escapes) and `...`, where serde puts the values it quotes.
fn find_unquoted(text: &str, from: usize, needle: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in text.char_indices().filter(|&(i, _)| i >= from) {
        match quote {
            Some(_) if escaped => escaped = false,
            Some('"') if c == '\\' => escaped = true,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '`' => quote = Some(c),
            None if text[i..].starts_with(needle) => return Some(i),
            None => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    const DESCRIPTOR: &str = "\
name: shop
replicas:
  min: 5
  max: 3
services:
  - name: api
    port: 8080
    env: [A, B]
  - name: web
    port: \"80\"
    resources: {limits: {memory: 512Mb, cpu: 2}}
";

    fn pos(line: usize, col: usize) -> Pos {
        Pos { line, col }
    }

    #[test]
    fn locate_block_maps() {
        let s = Source::new("d.yaml", DESCRIPTOR);
        assert_eq!(s.locate("name"), pos(1, 7));
        assert_eq!(s.locate("replicas.min"), pos(3, 8));
        assert_eq!(s.locate("replicas.max"), pos(4, 8));
        // A block mapping sits at its first key.
        assert_eq!(s.locate("replicas"), pos(3, 3));
        assert_eq!(s.locate(""), pos(1, 1));
        assert_eq!(s.locate("."), pos(1, 1));
    }

    #[test]
    fn locate_nested_lists_of_maps() {
        let s = Source::new("d.yaml", DESCRIPTOR);
        assert_eq!(s.locate("services"), pos(6, 3));
        assert_eq!(s.locate("services[0]"), pos(6, 5));
        assert_eq!(s.locate("services[0].port"), pos(7, 11));
        assert_eq!(s.locate("services[1].name"), pos(9, 11));
        assert_eq!(s.locate("services[1].port"), pos(10, 11));
        let path = KeyPath::root().key("services").index(1).key("port");
        assert_eq!(s.locate(&path), pos(10, 11));

        let nested = Source::new("n.yaml", "a:\n- - x\n  - y\n- b:\n  - 1\n");
        assert_eq!(nested.locate("a[0]"), pos(2, 3));
        assert_eq!(nested.locate("a[0][1]"), pos(3, 5));
        assert_eq!(nested.locate("a[1].b[0]"), pos(5, 5));
    }

    #[test]
    fn locate_flow_style() {
        let s = Source::new("d.yaml", DESCRIPTOR);
        assert_eq!(s.locate("services[0].env"), pos(8, 10));
        assert_eq!(s.locate("services[0].env[1]"), pos(8, 14));
        assert_eq!(s.locate("services[1].resources"), pos(11, 16));
        assert_eq!(s.locate("services[1].resources.limits"), pos(11, 25));
        assert_eq!(s.locate("services[1].resources.limits.memory"), pos(11, 34));
        assert_eq!(s.locate("services[1].resources.limits.cpu"), pos(11, 46));

        let root = Source::new("f.yaml", "{a: [1, {b: 2}], 3: x, true: y}");
        assert_eq!(root.locate(""), pos(1, 1));
        assert_eq!(root.locate("a[1].b"), pos(1, 13));
        // Keys that are not strings index by their text.
        assert_eq!(root.locate("3"), pos(1, 21));
        assert_eq!(root.locate_key("true"), pos(1, 24));
        let list = Source::new("l.yaml", "[1, [2, 3]]");
        assert_eq!(list.locate("[1][0]"), pos(1, 6));
        // serde_yaml spells an item of a root sequence ".[1]".
        assert_eq!(list.locate(".[1]"), pos(1, 5));
    }

    #[test]
    fn missing_path_falls_back_to_ancestor() {
        let s = Source::new("d.yaml", DESCRIPTOR);
        assert_eq!(s.locate("services[1].database"), s.locate("services[1]"));
        assert_eq!(s.locate("services[1].database.host[2]"), pos(9, 5));
        assert_eq!(s.locate("services[7].port"), s.locate("services"));
        assert_eq!(s.locate("nothing.at.all"), pos(1, 1));
        assert_eq!(s.locate_key("services[1].database"), pos(9, 5));
        // Keys with dots in them still resolve, exactly or through an ancestor.
        let k8s = Source::new("l.yaml", "labels:\n  app.kubernetes.io/name: shop\n");
        assert_eq!(k8s.locate("labels.app.kubernetes.io/name"), pos(2, 27));
        assert_eq!(k8s.locate("labels.app.kubernetes.io/version"), pos(2, 3));
        // Nothing indexed at all: the root.
        assert_eq!(Source::new("e.yaml", "").locate("a.b"), Pos::START);
    }

    #[test]
    fn locate_key_vs_locate() {
        let s = Source::new("d.yaml", DESCRIPTOR);
        assert_eq!(s.locate_key("replicas.min"), pos(3, 3));
        assert_eq!(s.locate("replicas.min"), pos(3, 8));
        assert_eq!(
            s.locate_key("services[1].resources.limits.memory"),
            pos(11, 26)
        );
        // A sequence item has no key: its value position.
        assert_eq!(s.locate_key("services[1]"), s.locate("services[1]"));
        assert_eq!(s.locate_key(""), pos(1, 1));
    }

    #[test]
    fn empty_block_and_aliased_values() {
        let text = "a:\nb: |\n  text\nc: >-\n\n  folded\nd: &x 1\ne: *x\nf: !!str 5\n";
        let s = Source::new("v.yaml", text);
        // An empty value sits right after its key's colon, where serde_yaml points.
        assert_eq!(s.locate("a"), pos(1, 3));
        assert_eq!(s.locate("b"), pos(2, 4));
        assert_eq!(s.locate("c"), pos(4, 4));
        assert_eq!(s.locate("d"), pos(7, 7));
        assert_eq!(s.locate("e"), pos(8, 4));
        assert_eq!(s.locate("f"), pos(9, 10));
        // Anchored collections and complex keys do not disturb the rest.
        let s = Source::new(
            "a.yaml",
            "base: &b {x: 1}\n? [k]\n: v\nnext: &l\n  - 1\nlast: *b\n",
        );
        assert_eq!(s.locate("base.x"), pos(1, 14));
        assert_eq!(s.locate("next[0]"), pos(5, 5));
        assert_eq!(s.locate("last"), pos(6, 7));
    }

    #[test]
    fn multibyte_characters_count_as_one_column() {
        let s = Source::new("m.yaml", "héllo: wörld\n\"ü\": {ä: ✓, b: 日本}\n");
        assert_eq!(s.locate("héllo"), pos(1, 8));
        assert_eq!(s.locate_key("ü"), pos(2, 1));
        assert_eq!(s.locate("ü.ä"), pos(2, 10));
        assert_eq!(s.locate("ü.b"), pos(2, 16));
        let out = s.render(s.locate("ü.b"), "bad", None, None);
        assert!(
            out.ends_with("2 | \"ü\": {ä: ✓, b: 日本}\n  |                ^^\n"),
            "{out}"
        );
    }

    #[test]
    fn crlf_and_bom() {
        // The byte-order mark counts as a column, as it does for serde_yaml.
        let s = Source::new("w.yaml", "\u{feff}a: 1\r\nb:\r\n  c: two\r\n");
        assert_eq!(s.locate_key("a"), pos(1, 2));
        assert_eq!(s.locate(""), pos(1, 2));
        assert_eq!(s.locate("a"), pos(1, 5));
        assert_eq!(s.locate("b.c"), pos(3, 6));
        let out = s.render(s.locate("a"), "m", None, None);
        assert!(out.ends_with("1 | a: 1\n  |    ^\n"), "{out:?}");
        let out = s.render(s.locate_key("a"), "m", None, None);
        assert!(out.ends_with("1 | a: 1\n  | ^\n"), "{out:?}");
        let text = "\u{feff}zz: 1\n";
        let err = serde_yaml::from_str::<Descriptor>(text).unwrap_err();
        let loc = err.location().unwrap();
        assert_eq!(
            pos(loc.line(), loc.column()),
            Source::new("b.yaml", text).locate_key("zz")
        );
    }

    #[test]
    fn render_exact_output() {
        let text = "\
name: shop
image: shop:1.2
# production overrides
env:
  LOG: info
  REGION: eu
ports:
  - 80
  - 443
domain: shop.example
tls: true
autoscaling:
  replicas:
      min: 5
      max: 3
";
        let s = Source::new("environments/production.yaml", text);
        let at = s.locate("autoscaling.replicas.min");
        assert_eq!(at, pos(14, 12));
        let out = s.render(
            at,
            "replicas.min (5) is above replicas.max (3)",
            Some("min <= max"),
            None,
        );
        assert_eq!(
            out,
            "error: replicas.min (5) is above replicas.max (3)
  --> environments/production.yaml:14:12
   |
14 |       min: 5
   |            ^
   = expected: min <= max
"
        );
        // One-digit line numbers get a narrower gutter, and help comes last.
        let out = s.render(
            s.locate_key("image"),
            "bad image",
            Some("a tag"),
            Some("did you mean `shop:1.3`?"),
        );
        assert_eq!(
            out,
            "error: bad image
 --> environments/production.yaml:2:1
  |
2 | image: shop:1.2
  | ^^^^^
  = expected: a tag
  = help: did you mean `shop:1.3`?
"
        );
    }

    #[test]
    fn render_caret_length() {
        let s = Source::new("d.yaml", DESCRIPTOR);
        let carets = |p: Pos| {
            let out = s.render(p, "m", None, None);
            let last = out.lines().last().unwrap().to_owned();
            last.chars().filter(|&c| c == '^').count()
        };
        assert_eq!(carets(s.locate("services[1].resources.limits.memory")), 5); // 512Mb
        assert_eq!(carets(s.locate("services[1].port")), 4); // "80", quotes included
        assert_eq!(carets(s.locate_key("services")), 8);
        assert_eq!(carets(s.locate("replicas")), 3); // the first key, `min`
        assert_eq!(carets(s.locate("services[0].env")), 1); // a collection
        assert_eq!(carets(pos(7, 12)), 1); // inside a scalar, not at its start
        assert_eq!(carets(pos(99, 3)), 1); // past the end of the file

        let q = Source::new(
            "q.yaml",
            "a: 'it''s'\nb: \"x\\\"y\"\nc: plain # comment\nd: two\n  lines\n",
        );
        assert_eq!(q.index().spans.get(&q.locate("a")), Some(&7));
        assert_eq!(q.index().spans.get(&q.locate("b")), Some(&6));
        assert_eq!(q.index().spans.get(&q.locate("c")), Some(&5));
        assert_eq!(q.index().spans.get(&q.locate("d")), None);

        // Tabs are kept in the caret line so that it stays aligned; a far column is clamped.
        let t = Source::new("t.yaml", "a:\t[x,\ty]\n");
        assert!(
            t.render(t.locate("a[1]"), "m", None, None)
                .ends_with("1 | a:\t[x,\ty]\n  |   \t   \t^\n")
        );
        assert!(
            t.render(pos(1, usize::MAX), "m", None, None)
                .ends_with("  |   \t   \t  ^\n")
        );
    }

    #[test]
    fn offsets_and_positions_count_characters() {
        let text = "é: 1\r\nab: 2\n";
        let s = Source::new("o.yaml", text);
        assert_eq!(s.offset(pos(2, 5)), Some(text.find('2').unwrap()));
        assert_eq!(s.offset(pos(1, 4)), Some(text.find('1').unwrap()));
        assert_eq!(s.pos_at(text.find('2').unwrap()), pos(2, 5));
        assert_eq!(s.pos_at(text.find('1').unwrap()), pos(1, 4));
        assert_eq!(s.pos_at(0), pos(1, 1));
        assert_eq!(s.pos_at(text.len()), pos(3, 1));
    }

    #[test]
    fn key_path_display() {
        let p = KeyPath::root().key("services").index(3).key("port");
        assert_eq!(p.to_string(), "services[3].port");
        assert_eq!(KeyPath::root().to_string(), "");
        assert_eq!(
            KeyPath::root().index(0).index(2).key("a").to_string(),
            "[0][2].a"
        );
        assert_eq!(
            KeyPath::root()
                .key("autoscaling")
                .key("overrides")
                .index(0)
                .key("max")
                .as_str(),
            "autoscaling.overrides[0].max"
        );
        assert_eq!(KeyPath::default(), KeyPath::root());
    }

    #[test]
    fn closest_hits_and_misses() {
        let fields = ["name", "port", "replicas", "resources", "image"];
        assert_eq!(closest("nme", fields), Some("name"));
        assert_eq!(closest("prot", fields), Some("port")); // swap
        assert_eq!(closest("replcia", fields), Some("replicas"));
        assert_eq!(closest("resorces", fields), Some("resources"));
        assert_eq!(closest("Image", fields), Some("image"));
        assert_eq!(closest("name", fields), Some("name"));
        assert_eq!(closest("database", fields), None);
        assert_eq!(closest("x", ["a", "b"]), None);
        assert_eq!(closest("", ["a"]), None);
        assert_eq!(closest("portt", Vec::<&str>::new()), None);
        assert_eq!(closest("imgae", fields), Some("image"));
        assert_eq!(closest("repl", fields), None);
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Service {
        name: String,
        port: u16,
        #[serde(default)]
        memory: Option<Memory>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Descriptor {
        name: String,
        services: Vec<Service>,
    }

    /// A quantity like `512Mi`, checked by a hand-written Deserialize inside its
    /// visitor: serde_yaml then reports the error at the value.
    #[derive(Debug)]
    #[allow(dead_code)]
    struct Memory(u64);

    impl<'de> Deserialize<'de> for Memory {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct Quantity;
            impl serde::de::Visitor<'_> for Quantity {
                type Value = Memory;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a quantity such as 512Mi")
                }
                fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Memory, E> {
                    s.strip_suffix("Mi")
                        .and_then(|n| n.parse().ok())
                        .map(Memory)
                        .ok_or_else(|| E::custom(format!("bad memory quantity `{s}`")))
                }
            }
            d.deserialize_str(Quantity)
        }
    }

    /// The same check made after `String::deserialize` returned: serde_yaml no longer
    /// knows where the value was, and reports the enclosing mapping.
    #[derive(Debug)]
    #[allow(dead_code)]
    struct LateMemory(u64);

    impl<'de> Deserialize<'de> for LateMemory {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let s = String::deserialize(d)?;
            s.strip_suffix("Mi")
                .and_then(|n| n.parse().ok())
                .map(LateMemory)
                .ok_or_else(|| serde::de::Error::custom(format!("bad memory quantity `{s}`")))
        }
    }

    fn serde_error(text: &str) -> (Source, serde_yaml::Error) {
        let err = serde_yaml::from_str::<Descriptor>(text).unwrap_err();
        (Source::new("svc.yaml", text), err)
    }

    #[test]
    fn serde_unknown_field_with_did_you_mean() {
        let (s, err) = serde_error("name: shop\nservices:\n  - name: api\n    prot: 80\n");
        // serde_yaml points at the unknown key: the same place as locate_key.
        assert_eq!(s.locate_key("services[0].prot"), pos(4, 5));
        assert_eq!(
            render_serde_error(&s, &err),
            "error: services[0]: unknown field `prot`
 --> svc.yaml:4:5
  |
4 |     prot: 80
  |     ^^^^
  = expected: one of `name`, `port`, `memory`
  = help: did you mean `port`?
"
        );
        let (s, err) = serde_error("nmae: shop\nservices: []\n");
        let out = render_serde_error(&s, &err);
        assert!(
            out.starts_with("error: unknown field `nmae`\n --> svc.yaml:1:1\n"),
            "{out}"
        );
        assert!(
            out.contains("  = expected: `name` or `services`")
                || out.contains("  = expected: one of `name`, `services`\n"),
            "{out}"
        );
        assert!(out.ends_with("  = help: did you mean `name`?\n"), "{out}");
        // No plausible candidate: no help line.
        let (s, err) = serde_error("name: shop\nservices: []\nzzz: 1\n");
        let out = render_serde_error(&s, &err);
        assert!(out.contains("3 | zzz: 1\n  | ^^^\n"), "{out}");
        assert!(!out.contains("help"), "{out}");
    }

    #[test]
    fn serde_missing_field() {
        let (s, err) = serde_error("name: shop\nservices:\n  - name: api\n");
        let out = render_serde_error(&s, &err);
        assert_eq!(
            out,
            "error: services[0]: missing field `port`
 --> svc.yaml:3:5
  |
3 |   - name: api
  |     ^^^^
  = expected: the required field `port`
"
        );
        assert_eq!(s.locate("services[0]"), pos(3, 5));
    }

    #[test]
    fn serde_wrong_type() {
        let (s, err) = serde_error("name: shop\nservices:\n  - {name: api, port: \"eighty\"}\n");
        assert_eq!(s.locate("services[0].port"), pos(3, 23));
        assert_eq!(
            render_serde_error(&s, &err),
            "error: services[0].port: invalid type: string \"eighty\"
 --> svc.yaml:3:23
  |
3 |   - {name: api, port: \"eighty\"}
  |                       ^^^^^^^^
  = expected: a whole number from 0 to 65535
"
        );
        let (s, err) = serde_error("name: shop\nservices:\n  - name: api\n    port: 70000\n");
        let out = render_serde_error(&s, &err);
        assert!(
            out.starts_with(
                "error: services[0].port: invalid value: integer `70000`\n --> svc.yaml:4:11\n"
            ),
            "{out}"
        );
        assert!(
            out.ends_with("  |           ^^^^^\n  = expected: a whole number from 0 to 65535\n"),
            "{out}"
        );
        // A ", expected " inside the quoted value does not split the message.
        let (s, err) =
            serde_error("name: shop\nservices:\n  - name: api\n    port: 'a, expected b'\n");
        let out = render_serde_error(&s, &err);
        assert!(
            out.starts_with("error: services[0].port: invalid type: string \"a, expected b\"\n"),
            "{out}"
        );
        assert!(
            out.ends_with("  = expected: a whole number from 0 to 65535\n"),
            "{out}"
        );
    }

    #[test]
    fn serde_custom_error_points_at_value_like_locate() {
        let text = "name: shop\nservices:\n  - name: api\n    port: 80\n    memory: 512Mb\n";
        let (s, err) = serde_error(text);
        let loc = err.location().unwrap();
        assert_eq!(
            pos(loc.line(), loc.column()),
            s.locate("services[0].memory")
        );
        let out = render_serde_error(&s, &err);
        assert!(
            out.starts_with(
                "error: services[0].memory: bad memory quantity `512Mb`\n --> svc.yaml:5:13\n"
            ),
            "{out}"
        );
        assert!(
            out.ends_with("5 |     memory: 512Mb\n  |             ^^^^^\n"),
            "{out}"
        );
        // A block scalar: serde_yaml and locate both point at the indicator.
        let text =
            "name: shop\nservices:\n  - name: api\n    port: 80\n    memory: |\n      512Mb\n";
        let (s, err) = serde_error(text);
        let loc = err.location().unwrap();
        assert_eq!(
            pos(loc.line(), loc.column()),
            s.locate("services[0].memory")
        );
        assert_eq!(s.locate("services[0].memory"), pos(5, 13));
        // An empty value: both right after the colon.
        let (s, err) = serde_error("name: shop\nservices:\n  - name: api\n    port:\n");
        let loc = err.location().unwrap();
        assert_eq!(pos(loc.line(), loc.column()), s.locate("services[0].port"));
    }

    #[test]
    fn serde_custom_error_after_deserialize_points_at_mapping() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Limits {
            cpu: u8,
            memory: LateMemory,
        }
        let text = "limits:\n  cpu: 2\n  memory: 512Mb\n";
        let err = serde_yaml::from_str::<HashMap<String, Limits>>(text).unwrap_err();
        let s = Source::new("late.yaml", text);
        // Path and position are those of the mapping holding the value, not the value's.
        let loc = err.location().unwrap();
        assert_eq!(pos(loc.line(), loc.column()), s.locate("limits"));
        let out = render_serde_error(&s, &err);
        assert!(
            out.starts_with("error: limits: bad memory quantity `512Mb`\n --> late.yaml:2:3\n"),
            "{out}"
        );
        // The caller can still point at the value by its key path.
        assert_eq!(s.locate("limits.memory"), pos(3, 11));
    }

    #[test]
    fn serde_syntax_errors() {
        // Bad indentation.
        let text = "name: shop\nservices:\n  - name: api\n   port: 80\n";
        let err = serde_yaml::from_str::<serde_yaml::Value>(text).unwrap_err();
        let s = Source::new("bad.yaml", text);
        let out = render_serde_error(&s, &err);
        assert!(out.starts_with("error: "), "{out}");
        assert!(!out.contains(" at line "), "{out}");
        assert!(out.contains("\n --> bad.yaml:4:"), "{out}");
        assert!(out.contains("4 |    port: 80\n"), "{out}");

        // An unclosed quote: serde_yaml reports the end of the text, and says where the
        // quoted scalar started; the caret goes there.
        let text = "name: shop\nservices:\n  - name: \"api\n    port: 80\n";
        let err = serde_yaml::from_str::<serde_yaml::Value>(text).unwrap_err();
        let s = Source::new("bad.yaml", text);
        assert_eq!(
            render_serde_error(&s, &err),
            "error: found unexpected end of stream, while scanning a quoted scalar
 --> bad.yaml:3:11
  |
3 |   - name: \"api
  |           ^
  = expected: a closing quote for the value that starts here
"
        );

        // No location at all: 1:1.
        let text = "a: 1\n---\nb: 2\n";
        let err = serde_yaml::from_str::<serde_yaml::Value>(text).unwrap_err();
        assert!(err.location().is_none());
        let out = render_serde_error(&Source::new("multi.yaml", text), &err);
        assert!(out.contains(" --> multi.yaml:1:1\n"), "{out}");
    }

    #[test]
    fn strip_marks_and_explain() {
        let (m, marks) = strip_marks("x at line 4 column 1, while y at line 3 column 11");
        assert_eq!(m, "x, while y");
        assert_eq!(marks, vec![pos(4, 1), pos(3, 11)]);
        let (m, marks) = strip_marks("look at this at position 12");
        assert_eq!(m, "look at this");
        assert!(marks.is_empty());
        let e = explain("unknown variant `Deploymnt`, expected `Deployment` or `Job`");
        assert_eq!(e.message, "unknown variant `Deploymnt`");
        assert_eq!(e.expected.as_deref(), Some("one of `Deployment`, `Job`"));
        assert_eq!(e.help.as_deref(), Some("did you mean `Deployment`?"));
        let e = explain("unknown field `a`, there are no fields");
        assert_eq!(e.message, "unknown field `a`, there are no fields");
        assert_eq!(e.expected, None);
    }

    /// A small deterministic xorshift64 generator.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    #[test]
    fn fuzz_never_panics() {
        let seeds: [&[u8]; 6] = [
            DESCRIPTOR.as_bytes(),
            b"a: &x {b: [1, 2, *x]}\n? [k]\n: v\nc: |\n  t\n",
            b"- {a: 1, 'b': \"c\\\"\"}\n- [x, y]\n- !!str 5\n",
            "\u{feff}é: ü\r\nk:\r  - 日本\n".as_bytes(),
            b"---\na: 1\n...\n---\nb: 2\n",
            b"",
        ];
        let specials = b"-:?[]{},&*!|>'\"#%@`\n\r\t \\";
        let paths = [
            "",
            ".",
            "a",
            "a.b",
            "services[0].port",
            "[0]",
            "k[0]",
            "a[",
            "]",
            "a..b",
            "[99][0]",
        ];
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        for case in 0..2000 {
            let mut bytes = seeds[case % seeds.len()].to_vec();
            if case % 7 == 6 {
                bytes = (0..rng.below(80)).map(|_| rng.next() as u8).collect();
            }
            for _ in 0..rng.below(6) {
                let at = rng.below(bytes.len() + 1);
                match rng.below(5) {
                    0 if at < bytes.len() => bytes[at] = rng.next() as u8,
                    1 => bytes.insert(at, specials[rng.below(specials.len())]),
                    2 if at < bytes.len() => {
                        bytes.remove(at);
                    }
                    3 => bytes.truncate(at),
                    _ => {
                        let end = (at + rng.below(12)).min(bytes.len());
                        let chunk = bytes[at..end].to_vec();
                        bytes.splice(at..at, chunk);
                    }
                }
            }
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let s = Source::new("fuzz.yaml", text.clone());
            assert!(!s.index().panicked, "yaml-rust2 panicked on {text:?}");
            for path in paths {
                let _ = s.render(s.locate(path), "m", Some("e"), Some("h"));
                let _ = s.render(s.locate_key(path), "m", None, None);
            }
            for node in s.index().nodes.values() {
                let _ = s.render(node.value, "m", None, None);
            }
            let odd = pos(rng.below(20), rng.below(200));
            let _ = s.render(odd, "m", None, None);
            if let Err(err) = serde_yaml::from_str::<serde_yaml::Value>(&text) {
                let _ = render_serde_error(&s, &err);
            }
        }
    }
}
