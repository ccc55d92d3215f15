//! Descriptor source text, serde_yaml errors: their message split into what went
//! wrong, what was expected and a suggestion, rendered at their location.

use super::suggest::closest;
use super::{Pos, Source};

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
    use std::collections::HashMap;
    use std::fmt;

    use serde::Deserialize;

    use super::super::Source;
    use super::super::tests::pos;
    use super::{explain, render_serde_error, strip_marks};

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
}
