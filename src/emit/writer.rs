//! Emit stage, block layout: libyaml's placement of every token, the 2-space block
//! layout, escapes, and the folding of long scalars after column 80.

use std::fmt::Write as _;

use serde_json::{Number, Value};

use super::number::write_number;
use super::order::{map_in_natural_order, sorted_entries};
use super::style::{Analysis, Style, choose_style, is_break, is_printable};

/// Column after which go-yaml folds a long scalar at its next space.
const BEST_WIDTH: usize = 80;
/// Indentation step of nested block collections and scalars.
const INDENT: usize = 2;
/// Longest key (in bytes) written as `key: value`; longer ones become `? key`.
const MAX_SIMPLE_KEY_BYTES: usize = 128;

/// Output buffer plus the little state libyaml keeps to place the next token.
pub(super) struct Writer {
    pub(super) out: String,
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

impl Writer {
    /// A writer whose buffer starts with room for `capacity` bytes.
    pub(super) fn with_capacity(capacity: usize) -> Writer {
        Writer {
            out: String::with_capacity(capacity),
            ..Writer::default()
        }
    }

    /// The documents joined by "---\n", `after` called with the text so far after each
    /// (to write it out and clear it).
    pub(super) fn stream<'a>(
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

    pub(super) fn document(&mut self, value: &Value) {
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::document;
    use super::super::tests::value_text;

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
}
