//! The events of one document as a serde `Deserializer` that reads them the way
//! serde_yaml reads libyaml's: the same visitor calls for the same text, so that a type
//! cannot tell the two apart. Whatever serde_yaml would refuse, this refuses too, with
//! an error that says only that ([`Rejected`]): the caller asks serde_yaml for the
//! located one.

use super::read::Event;
use serde::de::{self, DeserializeSeed, Visitor};
use std::borrow::Cow;
use std::fmt;

/// The quick reader does not read the document into the type asked for.
#[derive(Debug)]
pub struct Rejected;

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("left to serde_yaml")
    }
}

impl std::error::Error for Rejected {}

impl de::Error for Rejected {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Rejected
    }
}

type Result<T> = std::result::Result<T, Rejected>;

/// A document's events, read from the first.
pub struct Deserializer<'e, 'de> {
    events: &'e [Event<'de>],
    pos: usize,
}

impl<'e, 'de> Deserializer<'e, 'de> {
    pub fn new(events: &'e [Event<'de>]) -> Self {
        Deserializer { events, pos: 0 }
    }

    /// Whether every event was read.
    pub fn done(&self) -> bool {
        self.pos == self.events.len()
    }

    fn peek(&self) -> Result<&'e Event<'de>> {
        self.events.get(self.pos).ok_or(Rejected)
    }

    fn next(&mut self) -> Result<&'e Event<'de>> {
        let event = self.peek()?;
        self.pos += 1;
        Ok(event)
    }

    /// The next event's scalar: its value and whether it is plain.
    fn scalar(&mut self) -> Result<(&'e Cow<'de, str>, bool)> {
        match self.next()? {
            Event::Scalar { value, plain } => Ok((value, *plain)),
            _ => Err(Rejected),
        }
    }

    /// The next plain scalar's value.
    fn plain(&mut self) -> Result<&'e str> {
        match self.scalar()? {
            (value, true) => Ok(value),
            _ => Err(Rejected),
        }
    }

    /// Past one node.
    fn skip(&mut self) -> Result<()> {
        let mut depth = 0usize;
        loop {
            match self.next()? {
                Event::SeqStart | Event::MapStart => depth += 1,
                Event::SeqEnd | Event::MapEnd => depth -= 1,
                Event::Scalar { .. } => {}
            }
            if depth == 0 {
                return Ok(());
            }
        }
    }

    /// A collection's entries, visited; every one must be read.
    fn collection<V: Visitor<'de>>(&mut self, visitor: V, map: bool) -> Result<V::Value> {
        let value = if map {
            visitor.visit_map(Entries { de: self })?
        } else {
            visitor.visit_seq(Entries { de: self })?
        };
        match self.next()? {
            Event::SeqEnd if !map => Ok(value),
            Event::MapEnd if map => Ok(value),
            _ => Err(Rejected),
        }
    }
}

fn visit_str<'de, V: Visitor<'de>>(value: &Cow<'de, str>, visitor: V) -> Result<V::Value> {
    match value {
        Cow::Borrowed(s) => visitor.visit_borrowed_str(s),
        Cow::Owned(s) => visitor.visit_str(s),
    }
}

/// `~`, `null`, `Null`, `NULL`, or nothing.
fn null(s: &str) -> bool {
    matches!(s, "" | "~" | "null" | "Null" | "NULL")
}

fn boolean(s: &str) -> Option<bool> {
    match s {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

/// Digits with a leading zero, signed or not (`007`): a string in YAML 1.2.
fn zero_padded(s: &str) -> bool {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    digits.len() > 1 && digits.starts_with('0') && digits.bytes().all(|b| b.is_ascii_digit())
}

const RADIXES: [(&str, u32); 3] = [("0x", 16), ("0o", 8), ("0b", 2)];

/// A non-negative integer: decimal, or `0x`/`0o`/`0b` after at most one `+`.
fn unsigned<T>(
    s: &str,
    parse: fn(&str, u32) -> std::result::Result<T, std::num::ParseIntError>,
) -> Option<T> {
    let digits = s.strip_prefix('+').unwrap_or(s);
    for (prefix, radix) in RADIXES {
        if let Some(rest) = digits.strip_prefix(prefix) {
            if rest.starts_with(['+', '-']) {
                return None;
            }
            if let Ok(n) = parse(rest, radix) {
                return Some(n);
            }
        }
    }
    if digits.starts_with(['+', '-']) || zero_padded(s) {
        return None;
    }
    parse(digits, 10).ok()
}

/// A negative integer (or a positive one, where `unsigned` read none): `-0x..` and the
/// like, or decimal.
fn negative<T>(
    s: &str,
    parse: fn(&str, u32) -> std::result::Result<T, std::num::ParseIntError>,
) -> Option<T> {
    for (prefix, radix) in RADIXES {
        if let Some(rest) = s.strip_prefix('-').and_then(|r| r.strip_prefix(prefix))
            && let Ok(n) = parse(&format!("-{rest}"), radix)
        {
            return Some(n);
        }
    }
    if zero_padded(s) {
        return None;
    }
    parse(s, 10).ok()
}

/// A signed integer asked for by type: either sign, any radix.
fn signed<T>(
    s: &str,
    parse: fn(&str, u32) -> std::result::Result<T, std::num::ParseIntError>,
) -> Option<T> {
    let digits = match s.strip_prefix('+') {
        Some(rest) if rest.starts_with(['+', '-']) => return None,
        Some(rest) => rest,
        None => s,
    };
    for (prefix, radix) in RADIXES {
        if let Some(rest) = digits.strip_prefix(prefix) {
            if rest.starts_with(['+', '-']) {
                return None;
            }
            if let Ok(n) = parse(rest, radix) {
                return Some(n);
            }
        }
        if let Some(rest) = s.strip_prefix('-').and_then(|r| r.strip_prefix(prefix))
            && let Ok(n) = parse(&format!("-{rest}"), radix)
        {
            return Some(n);
        }
    }
    if zero_padded(s) {
        return None;
    }
    parse(digits, 10).ok()
}

/// A finite float, or `.inf`, `-.inf`, `.nan` in their three spellings.
fn float(s: &str) -> Option<f64> {
    let unsigned = match s.strip_prefix('+') {
        Some(rest) if rest.starts_with(['+', '-']) => return None,
        Some(rest) => rest,
        None => s,
    };
    match (unsigned, s) {
        (".inf" | ".Inf" | ".INF", _) => Some(f64::INFINITY),
        (_, "-.inf" | "-.Inf" | "-.INF") => Some(f64::NEG_INFINITY),
        (_, ".nan" | ".NaN" | ".NAN") => Some(f64::NAN.copysign(1.0)),
        _ => unsigned.parse::<f64>().ok().filter(|f| f.is_finite()),
    }
}

/// An integer of any size serde_yaml reads, visited as the smallest type it takes.
fn visit_integer<'de, V: Visitor<'de>>(
    s: &str,
    visitor: V,
) -> std::result::Result<Result<V::Value>, V> {
    if let Some(n) = unsigned(s, u64::from_str_radix) {
        return Ok(visitor.visit_u64(n));
    }
    if let Some(n) = negative(s, i64::from_str_radix) {
        return Ok(visitor.visit_i64(n));
    }
    if let Some(n) = unsigned(s, u128::from_str_radix) {
        return Ok(visitor.visit_u128(n));
    }
    if let Some(n) = negative(s, i128::from_str_radix) {
        return Ok(visitor.visit_i128(n));
    }
    Err(visitor)
}

/// A plain scalar as whatever it resolves to: null, a boolean, an integer, a float, or
/// a string.
fn visit_plain<'de, V: Visitor<'de>>(value: &Cow<'de, str>, visitor: V) -> Result<V::Value> {
    let s: &str = value;
    match s.as_bytes().first() {
        // Only these can start a null, a boolean or a number.
        None
        | Some(b'~' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'0'..=b'9' | b'+' | b'-' | b'.') =>
            {}
        Some(_) => return visit_str(value, visitor),
    }
    if null(s) {
        return visitor.visit_unit();
    }
    if let Some(b) = boolean(s) {
        return visitor.visit_bool(b);
    }
    let visitor = match visit_integer(s, visitor) {
        Ok(visited) => return visited,
        Err(visitor) => visitor,
    };
    match float(s) {
        Some(f) if !zero_padded(s) => visitor.visit_f64(f),
        _ => visit_str(value, visitor),
    }
}

impl<'de> de::Deserializer<'de> for &mut Deserializer<'_, 'de> {
    type Error = Rejected;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.next()? {
            Event::Scalar { value, plain: true } => visit_plain(value, visitor),
            Event::Scalar { value, .. } => visit_str(value, visitor),
            Event::SeqStart => self.collection(visitor, false),
            Event::MapStart => self.collection(visitor, true),
            Event::SeqEnd | Event::MapEnd => Err(Rejected),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_bool(boolean(self.plain()?).ok_or(Rejected)?)
    }

    fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_i64(visitor)
    }

    fn deserialize_i16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_i64(visitor)
    }

    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_i64(visitor)
    }

    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_i64(signed(self.plain()?, i64::from_str_radix).ok_or(Rejected)?)
    }

    fn deserialize_i128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_i128(signed(self.plain()?, i128::from_str_radix).ok_or(Rejected)?)
    }

    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_u64(visitor)
    }

    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_u64(visitor)
    }

    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_u64(visitor)
    }

    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_u64(unsigned(self.plain()?, u64::from_str_radix).ok_or(Rejected)?)
    }

    fn deserialize_u128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_u128(unsigned(self.plain()?, u128::from_str_radix).ok_or(Rejected)?)
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_f64(float(self.plain()?).ok_or(Rejected)?)
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visit_str(self.scalar()?.0, visitor)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, _: V) -> Result<V::Value> {
        Err(Rejected)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, _: V) -> Result<V::Value> {
        Err(Rejected)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.peek()? {
            Event::Scalar { value, plain: true } if null(value) => {
                self.pos += 1;
                visitor.visit_none()
            }
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        if null(self.plain()?) {
            visitor.visit_unit()
        } else {
            Err(Rejected)
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.next()? {
            Event::SeqStart => self.collection(visitor, false),
            // `key:` with nothing after it is an empty sequence.
            Event::Scalar { value, plain: true } if value.is_empty() => visitor.visit_seq(
                de::value::SeqDeserializer::<_, Rejected>::new(std::iter::empty::<()>()),
            ),
            _ => Err(Rejected),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.next()? {
            Event::MapStart => self.collection(visitor, true),
            // `key:` with nothing after it is an empty mapping.
            Event::Scalar { value, plain: true } if value.is_empty() => visitor.visit_map(
                de::value::MapDeserializer::<_, Rejected>::new(std::iter::empty::<((), ())>()),
            ),
            _ => Err(Rejected),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        // serde_yaml reads a variant without data from a scalar, and a variant with data
        // only from a tag, which this reader leaves to it.
        match self.peek()? {
            Event::Scalar { .. } => visitor.visit_enum(self),
            _ => Err(Rejected),
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.skip()?;
        visitor.visit_unit()
    }
}

/// The entries of a sequence or mapping being visited.
struct Entries<'d, 'e, 'de> {
    de: &'d mut Deserializer<'e, 'de>,
}

impl<'de> de::SeqAccess<'de> for Entries<'_, '_, 'de> {
    type Error = Rejected;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        match self.de.peek()? {
            Event::SeqEnd => Ok(None),
            _ => seed.deserialize(&mut *self.de).map(Some),
        }
    }
}

impl<'de> de::MapAccess<'de> for Entries<'_, '_, 'de> {
    type Error = Rejected;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        match self.de.peek()? {
            Event::MapEnd => Ok(None),
            _ => seed.deserialize(&mut *self.de).map(Some),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value> {
        seed.deserialize(&mut *self.de)
    }
}

impl<'de> de::EnumAccess<'de> for &mut Deserializer<'_, 'de> {
    type Error = Rejected;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self)> {
        Ok((seed.deserialize(&mut *self)?, self))
    }
}

impl<'de> de::VariantAccess<'de> for &mut Deserializer<'_, 'de> {
    type Error = Rejected;

    fn unit_variant(self) -> Result<()> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, _: T) -> Result<T::Value> {
        Err(Rejected)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _: usize, _: V) -> Result<V::Value> {
        Err(Rejected)
    }

    fn struct_variant<V: Visitor<'de>>(self, _: &'static [&'static str], _: V) -> Result<V::Value> {
        Err(Rejected)
    }
}
