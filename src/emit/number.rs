//! Emit stage, numbers: JSON numbers printed as kustomize prints them after Go's JSON
//! round trip.

use std::fmt::Write as _;

use serde_json::Number;

/// Writes a JSON number as kustomize prints it. Kustomize goes through Go's
/// `json.Marshal` and go-yaml's resolver: a whole float below 1e21 is written
/// with its shortest digits padded with zeros and read back as an integer
/// when that fits 64 bits (`1.0` -> `1`, `1e19` -> `10000000000000000000`);
/// any other float uses Go's shortest `%g` form (`1e-07`, `1.2345675e+06`).
pub(super) fn write_number(out: &mut String, n: &Number) {
    if let Some(i) = n.as_i64() {
        let _ = write!(out, "{i}");
    } else if let Some(u) = n.as_u64() {
        let _ = write!(out, "{u}");
    } else if let Some(f) = n.as_f64() {
        write_go_float(out, f);
    }
}

fn write_go_float(out: &mut String, x: f64) {
    if !x.is_finite() {
        out.push_str(if x.is_nan() {
            ".nan"
        } else if x > 0.0 {
            ".inf"
        } else {
            "-.inf"
        });
        return;
    }
    let negative = x < 0.0;
    let shortest = Shortest::of(x.abs());
    let digits = shortest.digits.as_str();
    let exponent = shortest.exponent;
    if x.fract() == 0.0 && x.abs() < 1e21 {
        let whole = shortest.whole_value();
        let fits = if negative {
            whole <= 1 << 63
        } else {
            whole <= u128::from(u64::MAX)
        };
        if fits {
            let _ = write!(out, "{}{whole}", if negative { "-" } else { "" });
            return;
        }
    }
    if negative {
        out.push('-');
    }
    if !(-4..6).contains(&exponent) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let sign = if exponent < 0 { '-' } else { '+' };
        let _ = write!(out, "e{sign}{:02}", exponent.unsigned_abs());
    } else if exponent < 0 {
        out.push_str("0.");
        for _ in 0..(-exponent - 1) {
            out.push('0');
        }
        out.push_str(digits);
    } else {
        // 0 <= exponent < 6 and not a whole number: the point falls inside.
        let point = exponent as usize + 1;
        out.push_str(&digits[..point]);
        out.push('.');
        out.push_str(&digits[point..]);
    }
}

/// Shortest round-trip decimal digits of a non-negative float, as Go's
/// `strconv` picks them: the fewest digits that read back as the same float,
/// correctly rounded with ties to even, and the power of ten of the first one.
struct Shortest {
    digits: StackText,
    exponent: i32,
}

impl Shortest {
    fn of(x: f64) -> Shortest {
        // Rust's shortest form has the right length, but breaks exact ties
        // upwards; its fixed-precision form rounds ties to even like Go.
        let shortest = Shortest::parse(format_args!("{x:e}"));
        let precision = shortest.digits.len.saturating_sub(1);
        let rounded = Shortest::parse(format_args!("{x:.precision$e}"));
        if rounded.value() == x {
            rounded
        } else {
            shortest
        }
    }

    /// Reads Rust's `{:e}` output, such as `1.2345e-7`.
    fn parse(formatted: std::fmt::Arguments) -> Shortest {
        let mut text = StackText::default();
        let _ = text.write_fmt(formatted);
        let (mantissa, exponent) = text.as_str().split_once('e').unwrap_or(("0", "0"));
        let mut digits = StackText::default();
        for c in mantissa.chars().filter(char::is_ascii_digit) {
            let _ = digits.write_char(c);
        }
        Shortest {
            digits,
            exponent: exponent.parse().unwrap_or(0),
        }
    }

    fn value(&self) -> f64 {
        let mut text = StackText::default();
        let _ = write!(
            text,
            "{}e{}",
            self.digits.as_str(),
            self.exponent + 1 - self.digits.len as i32
        );
        text.as_str().parse().unwrap_or(f64::NAN)
    }

    /// The digits padded with zeros up to the decimal point (below 1e21).
    fn whole_value(&self) -> u128 {
        let digits = self.digits.as_str();
        let zeros = (self.exponent + 1 - digits.len() as i32).max(0);
        let mantissa: u128 = digits.parse().unwrap_or(0);
        (0..zeros).fold(mantissa, |v, _| v.saturating_mul(10))
    }
}

/// A small fixed buffer so float formatting does not allocate.
struct StackText {
    bytes: [u8; 40],
    len: usize,
}

impl Default for StackText {
    fn default() -> Self {
        StackText {
            bytes: [0; 40],
            len: 0,
        }
    }
}

impl StackText {
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or("")
    }
}

impl std::fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        if end > self.bytes.len() {
            return Err(std::fmt::Error);
        }
        self.bytes[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::super::tests::value_text;

    #[test]
    fn numbers_print_like_go_after_the_json_round_trip() {
        let cases: &[(Value, &str)] = &[
            (json!(0), "0"),
            (json!(-42), "-42"),
            (json!(i64::MIN), "-9223372036854775808"),
            (json!(u64::MAX), "18446744073709551615"),
            (json!(1.0), "1"),
            (json!(-0.0), "0"),
            (json!(0.5), "0.5"),
            (json!(0.1), "0.1"),
            (json!(12.375), "12.375"),
            (json!(1e-7), "1e-07"),
            (json!(0.0001), "0.0001"),
            (json!(0.00001), "1e-05"),
            (json!(123456.5), "123456.5"),
            (json!(1234567.5), "1.2345675e+06"),
            (json!(1e6), "1000000"),
            (json!(1e15), "1000000000000000"),
            (json!(1e19), "10000000000000000000"),
            (json!(1e20), "1e+20"),
            (json!(1e21), "1e+21"),
            (json!(1.5e300), "1.5e+300"),
            (json!(-2.5e-300), "-2.5e-300"),
            (json!(1595045547040606720.0), "1595045547040606700"),
            (json!(-9223372036854775808.0), "-9.223372036854776e+18"),
            (json!(18446744073709551616.0), "1.8446744073709552e+19"),
            // Exact ties between two shortest forms go to the even digit.
            (json!(1.5e15 + 3.25), "1.5000000000000032e+15"),
            (json!(1.5e15 + 1.75), "1.5000000000000018e+15"),
            (json!(true), "true"),
        ];
        for (number, expected) in cases {
            assert_eq!(
                value_text(number.clone()),
                format!(" {expected}\n"),
                "{number}"
            );
        }
    }
}
