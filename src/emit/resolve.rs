//! Emit stage, quoting: go-yaml v2's YAML 1.1 resolver, which decides the strings
//! that would read back as another type and must be double-quoted.

/// True when go-yaml v2 would read the unquoted text as something other than
/// a string (bool, null, int, float, timestamp) or as a base-60 number.
pub(super) fn needs_quotes(s: &str) -> bool {
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::document;
    use super::super::tests::value_text;

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
}
