//! Descriptor stage, before the fields: what must hold of a descriptor's text, and YAML
//! syntax errors told where they start.
//!
//! libyaml reports control characters without a position and a runaway quoted value
//! where it happens to end; a file of a few hundred bytes can use anchors and aliases
//! to expand into megabytes (an "alias bomb") that would be rendered into objects. These
//! checks run on the text first, each problem located and said in words.

use crate::shape::Problem;
use crate::source::{Pos, Source, render_serde_error, strip_marks};
use std::collections::HashMap;
use yaml_rust2::parser::{Event, Parser};

/// Longest scalar a descriptor may hold, in bytes: descriptors name settings; long
/// content belongs in `templates/`.
pub const MAX_SCALAR: usize = 64 * 1024;
/// What aliases may add to a file, in bytes of the values they repeat, at least: more is
/// allowed up to the size of the file itself.
pub const MIN_ALIAS_BUDGET: usize = 64 * 1024;
/// Deepest nesting of values serde_yaml reads (its recursion limit).
pub const MAX_DEPTH: usize = 128;
/// Problems of one kind reported per file: enough to see the pattern of binary junk.
const MAX_REPORTED: usize = 10;

/// Problems of the text found before it is read as YAML: characters YAML forbids,
/// values longer than [`MAX_SCALAR`], nesting deeper than [`MAX_DEPTH`], and aliases
/// that repeat more than the file holds.
pub fn problems(source: &Source) -> Vec<Problem> {
    let mut problems = forbidden_characters(source);
    if problems.is_empty() {
        problems.extend(expansion(source));
    }
    problems
}

/// Whether [`problems`] cannot find anything in a file that serde reads without an
/// error: it has no forbidden character, is no longer than [`MAX_SCALAR`] (so no value
/// is), and anchors no value (so no alias repeats one); serde's own recursion limit is
/// [`MAX_DEPTH`]. Such a file needs no walk of its events (a tenth of loading the
/// shipped descriptors) unless serde fails, when the walk locates the problem.
pub fn beyond_serde_impossible(source: &Source) -> bool {
    let text = source.text();
    text.len() <= MAX_SCALAR && !text.contains('&') && forbidden_characters(source).is_empty()
}

/// The UTF-8 error of a file's bytes as a located problem; `text` is the file read lossily.
pub fn encoding(display: &str, bytes: &[u8], err: &std::str::Utf8Error) -> (Source, Problem) {
    let source = Source::new(display, String::from_utf8_lossy(bytes).into_owned());
    let valid = &bytes[..err.valid_up_to()];
    // The lossy text equals the bytes up to the first invalid one.
    let pos = source.pos_at(valid.len());
    let bad = bytes[valid.len()..]
        .iter()
        .take(err.error_len().unwrap_or(bytes.len() - valid.len()).max(1))
        .map(|b| format!("0x{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ");
    let problem = Problem {
        pos,
        message: format!("the file is not UTF-8 text: byte(s) {bad} here"),
        expected: Some("UTF-8 text (save the file with UTF-8 encoding)".into()),
        help: None,
    };
    (source, problem)
}

/// Characters outside YAML's printable set (its control characters, a byte-order mark
/// past the start), each at its line and column.
fn forbidden_characters(source: &Source) -> Vec<Problem> {
    let text = source.text();
    let mut found = Vec::new();
    for (at, c) in text.char_indices() {
        if is_printable(c) || (c == '\u{feff}' && at == 0) {
            continue;
        }
        found.push(Problem {
            pos: source.pos_at(at),
            message: format!(
                "the character U+{:04X} is not allowed in YAML",
                u32::from(c)
            ),
            expected: Some(format!(
                "printable characters (inside a double-quoted value, write it as \"\\u{:04X}\")",
                u32::from(c)
            )),
            help: None,
        });
        if found.len() == MAX_REPORTED {
            break;
        }
    }
    found
}

/// YAML 1.2's printable characters (what libyaml accepts), line breaks and tabs included.
fn is_printable(c: char) -> bool {
    matches!(c,
        '\t' | '\n' | '\r' | ' '..='~' | '\u{85}' | '\u{a0}'..='\u{d7ff}' | '\u{10000}'..='\u{10ffff}'
    ) || (('\u{e000}'..='\u{fffd}').contains(&c) && c != '\u{feff}')
}

/// An anchored value being read: its size so far, in bytes of scalars plus one per node.
struct Open {
    anchor: usize,
    size: usize,
}

/// Walks the events of the first document: scalars too long, nesting too deep, and
/// aliases that repeat more than the file holds (the first alias past the budget).
fn expansion(source: &Source) -> Vec<Problem> {
    let text = source.text();
    let budget = text.len().max(MIN_ALIAS_BUDGET);
    let mut parser = Parser::new_from_str(text);
    let mut sizes: HashMap<usize, usize> = HashMap::new();
    let mut open: Vec<Open> = Vec::new();
    let mut added = 0usize;
    let mut problems = Vec::new();
    let at = |marker: &yaml_rust2::scanner::Marker| Pos {
        line: marker.line().max(1),
        col: marker.col() + 1,
    };
    // Every event consumes input but empty scalars, at most two per character.
    for _ in 0..text.len().saturating_mul(4).saturating_add(64) {
        let Ok((event, marker)) = parser.next_token() else {
            break;
        };
        let size = match event {
            Event::StreamEnd | Event::DocumentEnd => break,
            Event::Scalar(value, _, anchor, _) => {
                if value.len() > MAX_SCALAR && problems.len() < MAX_REPORTED {
                    problems.push(Problem {
                        pos: at(&marker),
                        message: format!("a value of {} bytes", value.len()),
                        expected: Some(format!(
                            "at most {MAX_SCALAR} bytes per value (long content belongs in templates/)"
                        )),
                        help: None,
                    });
                }
                if anchor != 0 {
                    sizes.insert(anchor, value.len() + 1);
                }
                value.len() + 1
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                open.push(Open { anchor, size: 1 });
                if open.len() > MAX_DEPTH {
                    problems.push(Problem {
                        pos: at(&marker),
                        message: format!("values nested more than {MAX_DEPTH} levels deep"),
                        expected: Some(format!("at most {MAX_DEPTH} levels of nesting")),
                        help: None,
                    });
                    break;
                }
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(done) = open.pop() else { break };
                if done.anchor != 0 {
                    sizes.insert(done.anchor, done.size);
                }
                done.size
            }
            Event::Alias(anchor) => {
                let size = sizes.get(&anchor).copied().unwrap_or(1);
                added = added.saturating_add(size);
                if added > budget {
                    problems.push(Problem {
                        pos: at(&marker),
                        message: format!(
                            "aliases repeat more than {budget} bytes of values in this file \
                             (this one {size})"
                        ),
                        expected: Some(format!(
                            "aliases that repeat at most as much as the file holds, and at least \
                             {MIN_ALIAS_BUDGET} bytes (an alias bomb would render into huge objects)"
                        )),
                        help: None,
                    });
                    break;
                }
                size
            }
            Event::Nothing | Event::StreamStart | Event::DocumentStart => continue,
        };
        if let Some(parent) = open.last_mut() {
            parent.size = parent.size.saturating_add(size);
        }
    }
    problems
}

/// A YAML syntax error, located where its cause is when that is elsewhere: a tab, a
/// quoted value that runs on past its line, a bracket never closed, nesting too deep.
pub fn syntax_error(source: &Source, err: &serde_yaml::Error) -> String {
    let message = err.to_string();
    if message.contains("recursion limit exceeded")
        && let Some(deep) = expansion(source).into_iter().next()
    {
        return deep.render(source);
    }
    let Some(loc) = err.location() else {
        return render_serde_error(source, err);
    };
    let pos = Pos {
        line: loc.line().max(1),
        col: loc.column().max(1),
    };
    let problem = source
        .offset(pos)
        .and_then(|offset| {
            tab_at(source, pos, offset).or_else(|| runaway_quote(source, pos, offset))
        })
        .or_else(|| unclosed_flow(&message, pos));
    match problem {
        Some(problem) => problem.render(source),
        None => render_serde_error(source, err),
    }
}

/// A flow list or mapping opened on an earlier line than the error: its closing bracket
/// is missing, and the caret goes where it opens.
fn unclosed_flow(message: &str, pos: Pos) -> Option<Problem> {
    let (what, close) = if message.contains("while parsing a flow sequence") {
        ("list", ']')
    } else if message.contains("while parsing a flow mapping") {
        ("mapping", '}')
    } else {
        return None;
    };
    let (_, marks) = strip_marks(message);
    let open = marks.into_iter().find(|m| m.line < pos.line)?;
    Some(Problem {
        pos: open,
        message: format!("this {what} is not closed: `{close}` is missing"),
        expected: Some(format!(
            "`{close}` closing the {what} opened here, with `,` between its items"
        )),
        help: None,
    })
}

/// A tab where the error is: YAML indents with spaces only.
fn tab_at(source: &Source, pos: Pos, offset: usize) -> Option<Problem> {
    (source.text()[offset..].starts_with('\t')).then(|| Problem {
        pos,
        message: "a tab character where YAML expects indentation or a value".into(),
        expected: Some("spaces: YAML does not allow tabs for indentation".into()),
        help: None,
    })
}

/// A quoted value opened on an earlier line and closed just before the error: a quote
/// left open, which swallowed the lines up to the next quote of its kind.
fn runaway_quote(source: &Source, pos: Pos, offset: usize) -> Option<Problem> {
    let text = source.text();
    let before = text[..offset].trim_end_matches([' ', '\t']);
    let quote = before
        .chars()
        .next_back()
        .filter(|c| *c == '"' || *c == '\'')?;
    let close = before.len() - 1;
    let open = opening_quote(&text[..close], quote)?;
    let start = source.pos_at(open);
    (start.line < pos.line).then(|| Problem {
        pos: start,
        message: format!(
            "this quoted value is not closed on its line: it runs on to line {}",
            source.pos_at(close).line
        ),
        expected: Some(format!("a closing `{quote}` on line {}", start.line)),
        help: None,
    })
}

/// The offset of the quote that opens a quoted value whose content is `text` up to its
/// closing quote: the previous quote of the kind that is not escaped (`\"` in double
/// quotes, `''` in single quotes).
fn opening_quote(text: &str, quote: char) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = text.len();
    while i > 0 {
        i -= 1;
        if bytes[i] != quote as u8 {
            continue;
        }
        if quote == '"' {
            let backslashes = bytes[..i].iter().rev().take_while(|&&b| b == b'\\').count();
            if backslashes % 2 == 0 {
                return Some(i);
            }
        } else if i > 0 && bytes[i - 1] == b'\'' {
            i -= 1;
        } else {
            return Some(i);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems_of(text: &str) -> Vec<Problem> {
        problems(&Source::new("t.yaml", text))
    }

    #[test]
    fn control_characters_are_located() {
        let found = problems_of("a: 1\nb: x\u{7}y\n\u{feff}c: 2\n");
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].pos, Pos { line: 2, col: 5 });
        assert!(found[0].message.contains("U+0007"));
        assert_eq!(found[1].pos, Pos { line: 3, col: 1 });
        assert!(problems_of("\u{feff}a: \"\tb\"\r\n").is_empty());
    }

    #[test]
    fn an_alias_bomb_is_stopped_at_the_alias_past_the_budget() {
        let mut text = String::from("a0: &a0 [\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"]\n");
        for i in 1..12 {
            let j = i - 1;
            text.push_str(&format!("a{i}: &a{i} [*a{j}, *a{j}, *a{j}, *a{j}]\n"));
        }
        let found = problems_of(&text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].message.starts_with("aliases repeat more than"),
            "{found:?}"
        );
        // Fourfold per level (a0 weighs 32, a5 33109): the budget runs out at the first
        // alias of a6, on line 7.
        assert_eq!(found[0].pos, Pos { line: 7, col: 10 }, "{found:?}");
        // A few aliases of a small value are fine.
        assert!(problems_of("d: &d {cpu: 1}\na: *d\nb: *d\n").is_empty());
    }

    #[test]
    fn long_values_and_deep_nesting_are_located() {
        let long = format!("a: 1\nb: {}\n", "x".repeat(MAX_SCALAR + 1));
        let found = problems_of(&long);
        assert_eq!(found[0].pos, Pos { line: 2, col: 4 });
        let deep = format!(
            "a: {}{}\n",
            "[".repeat(MAX_DEPTH + 1),
            "]".repeat(MAX_DEPTH + 1)
        );
        let found = problems_of(&deep);
        assert!(found[0].message.contains("nested more than"), "{found:?}");
    }

    #[test]
    fn a_runaway_quote_is_located_at_its_opening() {
        let text = "a: \"x\nb: 1\nc: {d: \"8\"}\n";
        let err = serde_yaml::from_str::<serde_yaml::Value>(text).unwrap_err();
        let out = syntax_error(&Source::new("q.yaml", text), &err);
        assert!(out.contains("--> q.yaml:1:4\n"), "{out}");
        assert!(out.contains("runs on to line 3"), "{out}");
        assert_eq!(opening_quote("a 'it''s", '\''), Some(2));
        assert_eq!(opening_quote("a \"x\\\"y", '"'), Some(2));
    }

    #[test]
    fn non_utf8_is_located() {
        let bytes = b"a: 1\nb: x\xffy\n".to_vec();
        let err = String::from_utf8(bytes).unwrap_err();
        let (source, problem) = encoding("e.yaml", err.as_bytes(), &err.utf8_error());
        assert_eq!(problem.pos, Pos { line: 2, col: 5 });
        assert!(problem.render(&source).contains("0xff"));
    }
}
