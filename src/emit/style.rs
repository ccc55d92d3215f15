//! Emit stage, scalar style: plain, single-quoted, double-quoted or literal, as go-yaml
//! v2 asks for it and libyaml's scalar analysis allows.

use super::resolve::needs_quotes;

/// How a scalar is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
}

/// What libyaml's scalar analysis allows for one string (block context).
#[derive(Debug)]
pub(super) struct Analysis {
    /// Contains a line break (`\n`, `\r`, U+0085, U+2028, U+2029).
    pub(super) multiline: bool,
    /// Contains `\n`, which makes go-yaml ask for a literal block.
    newline: bool,
    plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

impl Analysis {
    pub(super) fn of(s: &str) -> Analysis {
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
            Analysis::of_ascii(s.as_bytes(), markers)
        } else {
            Analysis::of_chars(s, markers)
        }
    }

    fn of_chars(s: &str, markers: bool) -> Analysis {
        let mut scan = Scan::new(markers);
        let mut chars = s.chars().peekable();
        let mut first = true;
        while let Some(c) = chars.next() {
            scan.step(c, chars.peek().copied(), first);
            first = false;
        }
        scan.analysis()
    }

    /// [`Analysis::of_chars`] without UTF-8 decoding (most text: scripts, config): a
    /// printable character past the first other than `#` and `:` changes nothing but
    /// the state of the blanks and breaks before the next one.
    fn of_ascii(bytes: &[u8], markers: bool) -> Analysis {
        let mut scan = Scan::new(markers);
        for (i, &b) in bytes.iter().enumerate() {
            if i > 0 && matches!(b, b'!'..=b'~') && b != b'#' && b != b':' {
                scan.previous_space = false;
                scan.previous_break = false;
                scan.preceded_by_blank = false;
                continue;
            }
            scan.step(
                char::from(b),
                bytes.get(i + 1).map(|&n| char::from(n)),
                i == 0,
            );
        }
        scan.analysis()
    }
}

/// libyaml's scan of a scalar, one character at a time.
#[derive(Default)]
struct Scan {
    indicators: bool,
    special: bool,
    leading_space: bool,
    trailing_space: bool,
    leading_break: bool,
    trailing_break: bool,
    space_then_break: bool,
    break_then_space: bool,
    line_breaks: bool,
    newline: bool,
    previous_space: bool,
    previous_break: bool,
    preceded_by_blank: bool,
}

impl Scan {
    fn new(markers: bool) -> Scan {
        Scan {
            indicators: markers,
            preceded_by_blank: true,
            ..Default::default()
        }
    }

    /// Character `c`, followed by `next` (`None` at the end).
    fn step(&mut self, c: char, next: Option<char>, first: bool) {
        let last = next.is_none();
        let followed_by_blank = matches!(next, None | Some(' ' | '\t'));
        self.indicators |= is_block_indicator(c, first, self.preceded_by_blank, followed_by_blank);
        self.special |= !is_printable(c);
        if c == ' ' {
            self.leading_space |= first;
            self.trailing_space |= last;
            self.break_then_space |= self.previous_break;
            self.previous_space = true;
            self.previous_break = false;
        } else if is_break(c) {
            self.line_breaks = true;
            self.newline |= c == '\n';
            self.leading_break |= first;
            self.trailing_break |= last;
            self.space_then_break |= self.previous_space;
            self.previous_space = false;
            self.previous_break = true;
        } else {
            self.previous_space = false;
            self.previous_break = false;
        }
        self.preceded_by_blank = matches!(c, ' ' | '\t' | '\0') || is_break(c);
    }

    fn analysis(&self) -> Analysis {
        let broken = self.space_then_break || self.special;
        Analysis {
            multiline: self.line_breaks,
            newline: self.newline,
            plain_allowed: !(self.leading_space
                || self.leading_break
                || self.trailing_space
                || self.trailing_break
                || self.break_then_space
                || broken
                || self.line_breaks
                || self.indicators),
            single_quoted_allowed: !(self.break_then_space || broken),
            block_allowed: !(self.trailing_space || broken),
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
pub(super) fn choose_style(s: &str, analysis: &Analysis, simple_key: bool) -> Style {
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
pub(super) fn is_printable(c: char) -> bool {
    matches!(c, '\n' | ' '..='~' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
        && c != '\u{FEFF}'
}

pub(super) fn is_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::document;
    use super::super::tests::value_text;

    proptest::proptest! {
        /// The ASCII scan skips most characters: it must agree with the full one.
        #[test]
        fn the_ascii_scan_agrees_with_the_full_one(s in "[a-c -#:?,.\\[\\]{}'\"\t\n\r\x00\x07|>*&!%@`~]{0,12}") {
            for markers in [false, true] {
                let ascii = super::Analysis::of_ascii(s.as_bytes(), markers);
                let chars = super::Analysis::of_chars(&s, markers);
                proptest::prop_assert_eq!(format!("{ascii:?}"), format!("{chars:?}"));
            }
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
}
