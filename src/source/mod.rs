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
//!
//! One submodule per concern: `index` walks the parser's events into the key-path
//! index, `render` draws a diagnostic block, `serde_error` turns serde_yaml's errors
//! into such blocks, `key_path` builds the paths, `suggest` finds the "did you mean".

mod index;
mod key_path;
mod render;
mod serde_error;
mod suggest;

use std::fmt;

use yaml_rust2::scanner::Marker;

use index::{Index, Node, build_index};
pub use key_path::KeyPath;
pub use serde_error::render_serde_error;
pub(crate) use serde_error::{explain, in_words, strip_marks};
pub use suggest::closest;

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

#[cfg(test)]
mod tests {
    use super::{Pos, Source, render_serde_error};

    pub(super) const DESCRIPTOR: &str = "\
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

    pub(super) fn pos(line: usize, col: usize) -> Pos {
        Pos { line, col }
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
