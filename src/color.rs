//! Emit stage, for people: ANSI styles on diffs and diagnostics.
//!
//! The library always writes the styles; the binary writes through `anstream`, which
//! drops them unless the stream is a terminal (and never with `NO_COLOR` set). Anyone
//! calling `commands::run` in-process strips them the same way, or with [`strip`].

use anstyle::{AnsiColor, Style};

const ERROR: Style = AnsiColor::Red.on_default().bold();
const ADDED: Style = AnsiColor::Green.on_default();
const REMOVED: Style = AnsiColor::Red.on_default();
const HUNK: Style = AnsiColor::Cyan.on_default();
const HEADER: Style = Style::new().bold();

/// Styles the lines of a unified diff (or of a report made of diffs and plain lines):
/// `---`/`+++` headers bold, hunk headers cyan, added lines green, removed lines red.
pub fn diff(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for line in text.split_inclusive('\n') {
        let style = if line.starts_with("+++ ") || line.starts_with("--- ") {
            HEADER
        } else if line.starts_with("@@") {
            HUNK
        } else if line.starts_with('+') {
            ADDED
        } else if line.starts_with('-') {
            REMOVED
        } else {
            Style::new()
        };
        paint(&mut out, line, style);
    }
    out
}

/// A line about something only the new side has, green.
pub fn added(line: &str) -> String {
    let mut out = String::new();
    paint(&mut out, line, ADDED);
    out
}

/// A line about something only the old side has, red.
pub fn removed(line: &str) -> String {
    let mut out = String::new();
    paint(&mut out, line, REMOVED);
    out
}

/// Styles the `error:` prefix of every diagnostic in a text (rustc's red, bold).
pub fn diagnostics(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    for line in text.split_inclusive('\n') {
        match line.strip_prefix("error:") {
            Some(rest) => {
                out.push_str(&format!("{ERROR}error:{ERROR:#}"));
                out.push_str(rest);
            }
            None => out.push_str(line),
        }
    }
    out
}

/// Removes every ANSI style from a text: what a non-terminal reader gets.
pub fn strip(text: &str) -> String {
    anstream::adapter::strip_str(text).to_string()
}

/// Appends `line` in `style`, keeping its line break outside the styled part.
fn paint(out: &mut String, line: &str, style: Style) {
    if style.is_plain() {
        out.push_str(line);
        return;
    }
    let (body, end) = match line.strip_suffix('\n') {
        Some(body) => (body, "\n"),
        None => (line, ""),
    };
    out.push_str(&format!("{style}{body}{style:#}{end}"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn styles_disappear_when_stripped() {
        let text = "--- a\n+++ b\n@@ -1 +1 @@\n-old\n+new\n same\n";
        let styled = diff(text);
        assert_ne!(styled, text);
        assert!(styled.contains("\u{1b}[32m+new\u{1b}[0m\n"), "{styled:?}");
        assert_eq!(strip(&styled), text);
        let message = "error: bad\n  --> x.yaml:1:1\n";
        assert_eq!(strip(&diagnostics(message)), message);
    }
}
