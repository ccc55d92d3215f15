//! Check stage, shared part: the compact tree each rendered object is held as while the
//! checks run. `validate` holds every object of every target of a cluster at once (38,700
//! at 1,000 services); as a `serde_json::Value` each map is a `BTreeMap` whose first node
//! takes 640 bytes whatever it holds (2.8 entries on average), most of the memory. Here a
//! map is one exact-size slice of its fields sorted by key (`BTreeMap`'s order, so every
//! walk visits the fields in the order it always did), and keys and strings are interned
//! `&'static str`s: the same fields and values in a fifth of the memory.
//! The API is `serde_json::Value`'s, the part the checks use; what needs a real
//! `serde_json::Value` (JSON schemas) gets one with [`Value::to_json`] or through
//! `Serialize`, field for field the same (Gatekeeper builds its Rego input from the tree).

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Number;
use std::collections::HashSet;
use std::sync::{LazyLock, Mutex};

/// A JSON value: what a rendered object and each of its fields are.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Number(Number),
    String(&'static str),
    Array(Box<[Value]>),
    Object(Map),
}

/// A JSON object: its fields sorted by key, each key once.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Map(Box<[(&'static str, Value)]>);

static NULL: Value = Value::Null;

impl Value {
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_object()?.get(key)
    }
    pub fn as_object(&self) -> Option<&Map> {
        match self {
            Value::Object(map) => Some(map),
            _ => None,
        }
    }
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }
    pub fn as_array_mut(&mut self) -> Option<&mut [Value]> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(text) => Some(*text),
            _ => None,
        }
    }
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Number(n) => n.as_i64(),
            _ => None,
        }
    }
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Number(n) => n.as_u64(),
            _ => None,
        }
    }
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
    pub fn is_object(&self) -> bool {
        matches!(self, Value::Object(_))
    }

    /// The value at a JSON pointer (`/spec/template/spec`, `/containers/0`), as
    /// `serde_json::Value::pointer` finds it.
    pub fn pointer(&self, pointer: &str) -> Option<&Value> {
        pointer_tokens(pointer)?.try_fold(self, |value, token| match value {
            Value::Object(map) => map.get(&token),
            Value::Array(items) => items.get(array_index(&token)?),
            _ => None,
        })
    }

    /// The value at a JSON pointer, to change it.
    pub fn pointer_mut(&mut self, pointer: &str) -> Option<&mut Value> {
        pointer_tokens(pointer)?.try_fold(self, |value, token| match value {
            Value::Object(map) => map.get_mut(&token),
            Value::Array(items) => items.get_mut(array_index(&token)?),
            _ => None,
        })
    }

    /// The same value as a `serde_json::Value`.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => serde_json::Value::Number(n.clone()),
            Value::String(text) => serde_json::Value::String(text.to_string()),
            Value::Array(items) => {
                serde_json::Value::Array(items.iter().map(Value::to_json).collect())
            }
            Value::Object(map) => serde_json::Value::Object(
                map.iter()
                    .map(|(k, v)| (k.to_owned(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

/// An array index of a JSON pointer: digits, no leading zero.
/// The unescaped reference tokens of a JSON pointer (none for `""`), or `None` when it
/// does not start with `/`.
fn pointer_tokens(pointer: &str) -> Option<impl Iterator<Item = String> + '_> {
    let rest = match pointer {
        "" => None,
        _ => Some(pointer.strip_prefix('/')?),
    };
    Some(
        rest.into_iter()
            .flat_map(|rest| rest.split('/'))
            .map(|token| token.replace("~1", "/").replace("~0", "~")),
    )
}

fn array_index(token: &str) -> Option<usize> {
    if token.starts_with('+') || (token.starts_with('0') && token.len() > 1) {
        return None;
    }
    token.parse().ok()
}

impl Map {
    pub fn get(&self, key: &str) -> Option<&Value> {
        Some(&self.0[self.position(key)?].1)
    }
    /// Where `key` is: most maps hold a few fields, where comparing lengths first finds
    /// it sooner than a binary search comparing bytes.
    fn position(&self, key: &str) -> Option<usize> {
        if self.0.len() <= 8 {
            self.0.iter().position(|(k, _)| *k == key)
        } else {
            self.0.binary_search_by(|(k, _)| (*k).cmp(key)).ok()
        }
    }
    fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        let i = self.position(key)?;
        Some(&mut self.0[i].1)
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Fields in key order.
    pub fn iter(
        &self,
    ) -> impl DoubleEndedIterator<Item = (&'static str, &Value)> + ExactSizeIterator {
        self.0.iter().map(|(k, v)| (*k, v))
    }
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &'static str> + ExactSizeIterator + '_ {
        self.0.iter().map(|(k, _)| *k)
    }
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &Value> + ExactSizeIterator {
        self.0.iter().map(|(_, v)| v)
    }
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut Value> {
        self.0.iter_mut().map(|(_, v)| v)
    }
    /// Keeps the fields `keep` accepts.
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &mut Value) -> bool) {
        let mut fields = std::mem::take(&mut self.0).into_vec();
        fields.retain_mut(|(k, v)| keep(k, v));
        self.0 = fields.into_boxed_slice();
    }
}

impl<'a> IntoIterator for &'a Map {
    type Item = (&'static str, &'a Value);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (&'static str, Value)>,
        fn(&'a (&'static str, Value)) -> (&'static str, &'a Value),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (*k, v))
    }
}

impl FromIterator<(String, Value)> for Map {
    /// A map of these fields; of a key given twice, the last value counts (as in a
    /// `BTreeMap`).
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(fields: I) -> Map {
        let mut fields: Vec<(&'static str, Value)> =
            fields.into_iter().map(|(k, v)| (intern(&k), v)).collect();
        if !fields.is_sorted_by(|a, b| a.0 < b.0) {
            fields.reverse();
            fields.sort_by(|a, b| a.0.cmp(b.0));
            fields.dedup_by(|later, first| later.0 == first.0);
        }
        Map(fields.into_boxed_slice())
    }
}

/// Field names, label keys and most values repeat from object to object (at 1,000
/// services: 1.07 million strings, 24,852 distinct, 7 MB): each distinct one is kept once,
/// for the life of the process.
pub(crate) fn intern(text: &str) -> &'static str {
    type Set = HashSet<&'static str, foldhash::fast::RandomState>;
    static ALL: LazyLock<Mutex<Set>> = LazyLock::new(Mutex::default);
    thread_local! {
        static SEEN: std::cell::RefCell<Set> = std::cell::RefCell::default();
    }
    SEEN.with_borrow_mut(|seen| {
        if let Some(found) = seen.get(text) {
            return *found;
        }
        let mut all = ALL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let found = match all.get(text) {
            Some(found) => *found,
            None => {
                let leaked: &'static str = Box::leak(text.into());
                all.insert(leaked);
                leaked
            }
        };
        seen.insert(found);
        found
    })
}

impl From<serde_json::Value> for Value {
    /// Converts a rendered object, freeing its `serde_json` tree as it goes.
    fn from(value: serde_json::Value) -> Value {
        match value {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => Value::Number(n),
            serde_json::Value::String(text) => Value::String(intern(&text)),
            serde_json::Value::Array(items) => {
                Value::Array(items.into_iter().map(Value::from).collect())
            }
            // Already in key order, each key once.
            serde_json::Value::Object(map) => Value::Object(Map(map
                .into_iter()
                .map(|(k, v)| (intern(&k), Value::from(v)))
                .collect())),
        }
    }
}

/// What indexes a value: a field name, or an array position.
pub trait Key {
    fn find<'v>(&self, value: &'v Value) -> Option<&'v Value>;
}

impl Key for str {
    fn find<'v>(&self, value: &'v Value) -> Option<&'v Value> {
        value.get(self)
    }
}

impl Key for usize {
    fn find<'v>(&self, value: &'v Value) -> Option<&'v Value> {
        value.as_array()?.get(*self)
    }
}

impl<K: Key + ?Sized> Key for &K {
    fn find<'v>(&self, value: &'v Value) -> Option<&'v Value> {
        (**self).find(value)
    }
}

impl<K: Key> std::ops::Index<K> for Value {
    type Output = Value;
    /// The field or item, or `null` when there is none (as in serde_json).
    fn index(&self, key: K) -> &Value {
        key.find(self).unwrap_or(&NULL)
    }
}

impl PartialEq<&str> for Value {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == Some(*other)
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => serializer.serialize_unit(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Number(n) => n.serialize(serializer),
            Value::String(text) => serializer.serialize_str(text),
            Value::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Value::Object(map) => {
                let mut fields = serializer.serialize_map(Some(map.len()))?;
                for (k, v) in map {
                    fields.serialize_entry(k, v)?;
                }
                fields.end()
            }
        }
    }
}

/// `serde_json::json!`, held compact: the checks' unit tests build their objects with it.
#[cfg(test)]
macro_rules! compact_json {
    ($($json:tt)+) => {
        $crate::check::value::Value::from(serde_json::json!($($json)+))
    };
}
#[cfg(test)]
pub(crate) use compact_json as json;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn holds_and_gives_back_the_same_json() {
        let json =
            json!({"spec": {"b": [1, -2, 2.5, "x", null, true], "a": {"~k/": {}}}, "kind": "K"});
        let value = Value::from(json.clone());
        assert_eq!(value.to_json(), json);
        assert_eq!(serde_json::to_value(&value).unwrap(), json);
        let keys: Vec<&str> = value["spec"].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["a", "b"]);
    }

    #[test]
    fn lookups_answer_as_serde_json_does() {
        let json = json!({"spec": {"b": [1, "x"], "a": {"~k/": {"n": 3}}}, "kind": "K"});
        let value = Value::from(json.clone());
        for pointer in [
            "",
            "/spec",
            "/spec/b/1",
            "/spec/b/01",
            "/spec/a/~0k~1/n",
            "/x",
            "/spec/b/2",
            "spec",
        ] {
            assert_eq!(
                value.pointer(pointer).map(Value::to_json).as_ref(),
                json.pointer(pointer),
                "{pointer}"
            );
        }
        assert_eq!(value["kind"], "K");
        assert!(value["missing"]["deeper"][3].is_null());
        assert_eq!(value["spec"]["b"][0].as_i64(), Some(1));
    }

    #[test]
    fn a_map_from_unsorted_fields_is_sorted_and_keeps_the_last_of_a_key() {
        let map: Map = [("b", 1), ("a", 2), ("b", 3)]
            .map(|(k, v)| (k.to_owned(), Value::Number(v.into())))
            .into_iter()
            .collect();
        let fields: Vec<(&str, i64)> = map.iter().map(|(k, v)| (k, v.as_i64().unwrap())).collect();
        assert_eq!(fields, [("a", 2), ("b", 3)]);
    }
}
