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
