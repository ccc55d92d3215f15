//! Emit stage, key order: the order kustomize prints mapping keys in, go-yaml v2's
//! "natural" sort made total, and the cheap check that a map already holds it.

use std::cmp::Ordering;

use serde_json::{Map, Value};

use super::unicode::{is_go_digit, is_go_letter};

/// The YAML merge key; kustomize leaves such entries out of its output.
const MERGE_KEY: &str = "<<";

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

/// The entries of a mapping in kustomize's order, without `<<` keys (kustomize
/// drops YAML merge keys, whatever their value).
///
/// First a total pre-order ([`compare_keys`]), then an insertion pass with
/// go-yaml's exact comparator: wherever that comparator is consistent on the
/// key set, the result is the one sorted order kustomize prints; where it is
/// cyclic (kustomize's own output then depends on Go's map iteration), the
/// result is still deterministic, and nothing can panic.
pub(super) fn sorted_entries(map: &Map<String, Value>) -> Vec<(&str, &Value)> {
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
pub(super) fn map_in_natural_order(map: &Map<String, Value>) -> bool {
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

#[cfg(test)]
mod tests {
    use std::cmp::Ordering;

    use serde_json::{Map, Value, json};

    use super::super::document;
    use super::super::unicode::{is_go_digit, is_go_letter};
    use super::{compare_keys, go_less, in_natural_order, sorted_entries};

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
    fn merge_keys_are_left_out_like_kustomize_does() {
        let value = json!({"a": {"<<": {"x": 1}, "k": 1}, "b": {"<<": "x"}});
        assert_eq!(document(&value), "a:\n  k: 1\nb: {}\n");
    }
}
