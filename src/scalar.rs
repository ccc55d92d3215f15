//! Descriptor stage: scalar types that validate themselves while the YAML is parsed,
//! so a bad value is reported at its own line and column.

use serde::de::{self, Deserializer, Unexpected};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

/// A DNS-1123 label: the shape of every Kubernetes object name platgen derives from the catalog.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name(String);

impl Name {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Checks a string against DNS-1123 label rules; the error says what was expected.
    pub fn parse(text: &str) -> Result<Name, String> {
        let valid_chars = text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        let alnum_ends = text
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
            && text
                .bytes()
                .last()
                .is_some_and(|b| b.is_ascii_alphanumeric());
        if text.is_empty() || text.len() > 63 || !valid_chars || !alnum_ends {
            return Err(format!(
                "`{text}` is not a DNS-1123 label: expected at most 63 lower-case letters, digits \
                 and '-', starting and ending with a letter or digit"
            ));
        }
        Ok(Name(text.to_owned()))
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        parse_in_visitor(deserializer, "a DNS-1123 label", Accepts::Text, Name::parse)
    }
}

impl Serialize for Name {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// A Kubernetes resource quantity (`250m`, `512Mi`, `1`), kept as written and as a number
/// so that requests can be compared with limits.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantity {
    text: String,
    value: f64,
}

impl Quantity {
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The quantity in base units (cores, bytes), for comparisons only.
    pub fn value(&self) -> f64 {
        self.value
    }

    pub fn parse(text: &str) -> Result<Quantity, String> {
        let expected = || {
            format!(
                "`{text}` is not a Kubernetes quantity: expected a number with an optional suffix \
                 (m, k, M, G, T, Ki, Mi, Gi, Ti), such as 250m, 512Mi or 2"
            )
        };
        let split = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
            .unwrap_or(text.len());
        let (number, suffix) = text.split_at(split);
        let unsigned = number.strip_prefix(['+', '-']).unwrap_or(number);
        let digits_ok = !unsigned.is_empty()
            && unsigned.bytes().filter(|b| *b == b'.').count() <= 1
            && unsigned.bytes().any(|b| b.is_ascii_digit())
            && unsigned.bytes().all(|b| b.is_ascii_digit() || b == b'.');
        let multiplier = match suffix {
            "" => 1.0,
            "m" => 1e-3,
            "k" => 1e3,
            "M" => 1e6,
            "G" => 1e9,
            "T" => 1e12,
            "P" => 1e15,
            "E" => 1e18,
            "Ki" => 1024f64,
            "Mi" => 1024f64.powi(2),
            "Gi" => 1024f64.powi(3),
            "Ti" => 1024f64.powi(4),
            "Pi" => 1024f64.powi(5),
            "Ei" => 1024f64.powi(6),
            _ => return Err(expected()),
        };
        if !digits_ok || number.starts_with('-') {
            return Err(expected());
        }
        let value: f64 = unsigned.parse().map_err(|_| expected())?;
        Ok(Quantity {
            text: text.to_owned(),
            value: value * multiplier,
        })
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        parse_in_visitor(
            deserializer,
            "a Kubernetes quantity",
            Accepts::TextOrNumber,
            Quantity::parse,
        )
    }
}

impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

/// A TCP port, 1 to 65535.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Port(u16);

impl Port {
    pub fn get(self) -> u16 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Port {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        parse_in_visitor(
            deserializer,
            "a port number from 1 to 65535",
            Accepts::Integer,
            |text| match text.parse::<u16>() {
                Ok(p) if p > 0 => Ok(Port(p)),
                _ => Err(format!(
                    "`{text}` is not a port: expected a port number from 1 to 65535"
                )),
            },
        )
    }
}

/// A percentage from 1 to 100 (autoscaling targets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Percent(u8);

impl Percent {
    pub fn get(self) -> i32 {
        i32::from(self.0)
    }
}

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        parse_in_visitor(
            deserializer,
            "a percentage from 1 to 100",
            Accepts::Integer,
            |text| match text.parse::<u8>() {
                Ok(p) if (1..=100).contains(&p) => Ok(Percent(p)),
                _ => Err(format!(
                    "`{text}` is not a percentage: expected a percentage from 1 to 100"
                )),
            },
        )
    }
}

/// An image tag as the OCI distribution spec allows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tag(String);

impl Tag {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn parse(text: &str) -> Result<Tag, String> {
        let mut bytes = text.bytes();
        let first_ok = bytes
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_');
        let rest_ok = bytes.all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
        if first_ok && rest_ok && text.len() <= 128 {
            Ok(Tag(text.to_owned()))
        } else {
            Err(format!(
                "`{text}` is not an image tag: expected up to 128 letters, digits, '_', '.' and \
                 '-', not starting with '.' or '-'"
            ))
        }
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Tag {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        parse_in_visitor(
            deserializer,
            "an image tag",
            Accepts::TextOrNumber,
            Tag::parse,
        )
    }
}

/// A span of time as Traefik and Go write it, one number and one unit (`100ms`, `10s`,
/// `5m`, `24h`), kept as written and in milliseconds (RabbitMQ's `message-ttl`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    text: String,
    millis: u64,
}

impl Period {
    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn millis(&self) -> u64 {
        self.millis
    }

    pub fn parse(text: &str) -> Result<Period, String> {
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let factor = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            _ => 0,
        };
        let millis = number
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(factor))
            .filter(|ms| *ms > 0);
        match millis {
            Some(millis) => Ok(Period {
                text: text.to_owned(),
                millis,
            }),
            None => Err(format!(
                "`{text}` is not a duration: expected a positive whole number and a unit \
                 (ms, s, m or h), such as 100ms, 10s or 24h"
            )),
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        parse_in_visitor(deserializer, "a duration", Accepts::Text, Period::parse)
    }
}

impl Serialize for Period {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

/// Checks a YAML value as the validated scalar that the JSON Schema definition
/// `definition` describes, with the message serde would give; `None` when no validated
/// scalar has that name (see `shape`).
pub fn check(definition: &str, value: &serde_yaml::Value) -> Option<Result<(), String>> {
    fn as_<T: serde::de::DeserializeOwned>(value: &serde_yaml::Value) -> Result<(), String> {
        serde_yaml::from_value::<T>(value.clone())
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
    Some(match definition {
        "Name" => as_::<Name>(value),
        "Quantity" => as_::<Quantity>(value),
        "Port" => as_::<Port>(value),
        "Percent" => as_::<Percent>(value),
        "Tag" => as_::<Tag>(value),
        "Period" => as_::<Period>(value),
        _ => return None,
    })
}

/// Which YAML scalars a validated type accepts before its own check.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Accepts {
    /// Strings only (names).
    Text,
    /// Strings and numbers, numbers taken as their text (`cpu: 1`, `tag: 2`).
    TextOrNumber,
    /// Integers only (ports, percentages).
    Integer,
}

/// Deserialises a scalar and validates it inside the visitor, so that the parser still
/// knows the value's line and column when the error is raised.
fn parse_in_visitor<'de, D, T>(
    deserializer: D,
    expecting: &'static str,
    accepts: Accepts,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
{
    struct Visitor<F> {
        expecting: &'static str,
        accepts: Accepts,
        parse: F,
    }
    impl<T, F: Fn(&str) -> Result<T, String>> Visitor<F> {
        fn number<E: de::Error>(self, text: String, unexpected: Unexpected) -> Result<T, E> {
            if self.accepts == Accepts::Text {
                return Err(E::invalid_type(unexpected, &self));
            }
            (self.parse)(&text).map_err(E::custom)
        }
    }
    impl<T, F: Fn(&str) -> Result<T, String>> de::Visitor<'_> for Visitor<F> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.expecting)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
            if self.accepts == Accepts::Integer {
                return Err(E::invalid_type(Unexpected::Str(v), &self));
            }
            (self.parse)(v).map_err(E::custom)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
            self.number(v.to_string(), Unexpected::Unsigned(v))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
            self.number(v.to_string(), Unexpected::Signed(v))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
            if self.accepts != Accepts::TextOrNumber {
                return Err(E::invalid_type(Unexpected::Float(v), &self));
            }
            (self.parse)(&v.to_string()).map_err(E::custom)
        }
    }
    deserializer.deserialize_any(Visitor {
        expecting,
        accepts,
        parse,
    })
}

/// JSON Schemas of the validated scalars (`platgen schema`), mirroring their `parse` rules
/// so that an editor flags a bad value before platgen runs.
mod schema {
    use super::{Name, Percent, Period, Port, Quantity, Tag};
    use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
    use std::borrow::Cow;

    impl JsonSchema for Name {
        fn schema_name() -> Cow<'static, str> {
            "Name".into()
        }
        fn json_schema(_: &mut SchemaGenerator) -> Schema {
            json_schema!({
                "description": "A DNS-1123 label: at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit.",
                "type": "string",
                "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
                "maxLength": 63
            })
        }
    }

    impl JsonSchema for Quantity {
        fn schema_name() -> Cow<'static, str> {
            "Quantity".into()
        }
        fn json_schema(_: &mut SchemaGenerator) -> Schema {
            json_schema!({
                "description": "A Kubernetes quantity: a number with an optional suffix (m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei), such as 250m, 512Mi or 2.",
                "anyOf": [
                    {
                        "type": "string",
                        "pattern": "^[+]?([0-9]+[.]?[0-9]*|[.][0-9]+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$"
                    },
                    {"type": "number", "minimum": 0}
                ]
            })
        }
    }

    impl JsonSchema for Port {
        fn schema_name() -> Cow<'static, str> {
            "Port".into()
        }
        fn json_schema(_: &mut SchemaGenerator) -> Schema {
            json_schema!({
                "description": "A TCP port, 1 to 65535.",
                "type": "integer",
                "minimum": 1,
                "maximum": 65535
            })
        }
    }

    impl JsonSchema for Percent {
        fn schema_name() -> Cow<'static, str> {
            "Percent".into()
        }
        fn json_schema(_: &mut SchemaGenerator) -> Schema {
            json_schema!({
                "description": "A percentage, 1 to 100.",
                "type": "integer",
                "minimum": 1,
                "maximum": 100
            })
        }
    }

    impl JsonSchema for Period {
        fn schema_name() -> Cow<'static, str> {
            "Period".into()
        }
        fn json_schema(_: &mut SchemaGenerator) -> Schema {
            json_schema!({
                "description": "A duration: a positive whole number and a unit (ms, s, m or h), such as 100ms, 10s or 24h.",
                "type": "string",
                "pattern": "^[0-9]*[1-9][0-9]*(ms|s|m|h)$"
            })
        }
    }

    impl JsonSchema for Tag {
        fn schema_name() -> Cow<'static, str> {
            "Tag".into()
        }
        fn json_schema(_: &mut SchemaGenerator) -> Schema {
            json_schema!({
                "description": "An image tag: up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'. Quote tags such as \"1.10\" that YAML would read as a number.",
                "anyOf": [
                    {"type": "string", "pattern": "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"},
                    {"type": "number", "minimum": 0}
                ]
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_labels() {
        assert!(Name::parse("auth-service").is_ok());
        assert!(Name::parse("a").is_ok());
        for bad in ["", "Auth", "auth_db", "-a", "a-", &"a".repeat(64)] {
            assert!(Name::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn quantities_parse_and_compare() {
        assert_eq!(Quantity::parse("250m").unwrap().value(), 0.25);
        assert_eq!(Quantity::parse("1Gi").unwrap().value(), 1073741824.0);
        assert!(Quantity::parse("512Mi").unwrap().value() < Quantity::parse("1G").unwrap().value());
        for bad in ["512Mb", "", "Mi", "1.2.3", "-1", "1 Gi", "abc"] {
            assert!(Quantity::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn periods_in_milliseconds() {
        assert_eq!(Period::parse("100ms").unwrap().millis(), 100);
        assert_eq!(Period::parse("24h").unwrap().millis(), 86_400_000);
        for bad in ["", "10", "0s", "1.5s", "-1s", "10d", "1h30m", "s"] {
            assert!(Period::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn tags() {
        assert!(Tag::parse("1.4.2").is_ok());
        assert!(Tag::parse("v1_rc-2").is_ok());
        assert!(Tag::parse(".x").is_err());
        assert!(Tag::parse("a:b").is_err());
    }
}
