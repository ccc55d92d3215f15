//! Descriptor stage, when a file does not deserialise: every problem of its shape at
//! once, located.
//!
//! serde stops at the first problem of a file. When it does, the file is read again as
//! a plain YAML value and walked field by field along the JSON Schema of its type (the
//! one `platgen schema` prints, derived from the same types), so that one run reports
//! every unknown field, missing field and bad value, each at its own line and column.
//! The validated scalars (`Name`, `Quantity`, ...) are checked by their own parsers, so
//! the messages are the ones serde would give. The walk is lenient where unsure: serde's
//! own first error is always reported too, unless the walk found a problem at that place.

use crate::source::{KeyPath, Pos, Source, closest, explain, in_words, render_serde_error};
use serde_json::Value as Schema;
use serde_yaml::Value;

/// One problem of a file, ready to render.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    pub pos: Pos,
    pub message: String,
    pub expected: Option<String>,
    pub help: Option<String>,
}

impl Problem {
    pub fn render(&self, source: &Source) -> String {
        source.render(
            self.pos,
            &self.message,
            self.expected.as_deref(),
            self.help.as_deref(),
        )
    }
}

/// Every problem of a file that serde rejected with `err`, rendered, in file order.
/// `schema` is the JSON Schema of the file's type.
pub fn problems(source: &Source, err: &serde_yaml::Error, schema: &Schema) -> Vec<String> {
    let value = match serde_yaml::from_str::<Value>(source.text()) {
        Ok(value) => value,
        Err(syntax) => return vec![crate::syntax::syntax_error(source, &syntax)],
    };
    let first = render_serde_error(source, err);
    let mut walk = Walk {
        source,
        definitions: &schema["definitions"],
        problems: Vec::new(),
    };
    walk.value(schema, &value, &KeyPath::root());
    let mut problems = walk.problems;
    problems.sort();
    problems.dedup();
    let serde_pos = err.location().map(|l| Pos {
        line: l.line().max(1),
        col: l.column().max(1),
    });
    let mut rendered: Vec<(Pos, String)> =
        problems.iter().map(|p| (p.pos, p.render(source))).collect();
    if !problems.iter().any(|p| Some(p.pos) == serde_pos) {
        rendered.push((serde_pos.unwrap_or(Pos::START), first));
        rendered.sort_by_key(|(pos, _)| *pos);
    }
    rendered.into_iter().map(|(_, text)| text).collect()
}

struct Walk<'a> {
    source: &'a Source,
    definitions: &'a Schema,
    problems: Vec<Problem>,
}

impl<'a> Walk<'a> {
    fn report(&mut self, pos: Pos, path: &KeyPath, message: String, expected: String) {
        self.report_with_help(pos, path, message, Some(expected), None);
    }

    fn report_with_help(
        &mut self,
        pos: Pos,
        path: &KeyPath,
        message: String,
        expected: Option<String>,
        help: Option<String>,
    ) {
        // serde's way of naming the place: `services[0].port: invalid type ...`.
        let message = if path.is_empty() {
            message
        } else {
            format!("{path}: {message}")
        };
        self.problems.push(Problem {
            pos,
            message,
            expected,
            help,
        });
    }

    /// `schema` with `$ref` followed and one-element `allOf` (a documented reference)
    /// unwrapped, and the name of the definition it came from.
    fn resolve(&self, mut schema: &'a Schema) -> (&'a Schema, Option<&'a str>) {
        let definitions = self.definitions;
        let mut name = None;
        for _ in 0..16 {
            if let Some(reference) = schema["$ref"].as_str() {
                let def = reference.rsplit('/').next().unwrap_or_default();
                name = Some(def);
                schema = &definitions[def];
            } else if let Some([only]) = schema["allOf"].as_array().map(Vec::as_slice) {
                schema = only;
            } else {
                break;
            }
        }
        (schema, name)
    }

    fn value(&mut self, schema: &'a Schema, value: &Value, path: &KeyPath) {
        let value = match value {
            Value::Tagged(tagged) => &tagged.value,
            other => other,
        };
        let (schema, definition) = self.resolve(schema);
        if let Some(result) = definition.and_then(|d| crate::scalar::check(d, value)) {
            if let Err(message) = result {
                let pos = self.source.locate(path);
                let explained = explain(&message);
                self.report_with_help(
                    pos,
                    path,
                    explained.message,
                    explained.expected,
                    explained.help,
                );
            }
            return;
        }
        if let Some(branches) = schema["anyOf"].as_array() {
            return self.any_of(branches, value, path);
        }
        if let Some(variants) = schema["enum"].as_array() {
            return self.variant(variants, value, path);
        }
        let types: Vec<&str> = match &schema["type"] {
            Schema::String(t) => vec![t.as_str()],
            Schema::Array(ts) => ts.iter().filter_map(Schema::as_str).collect(),
            _ => return, // any value (Helm values)
        };
        if value.is_null() && types.contains(&"null") {
            return;
        }
        match value {
            Value::Mapping(map) if types.contains(&"object") => self.mapping(schema, map, path),
            Value::Sequence(items) if types.contains(&"array") => {
                for (i, item) in items.iter().enumerate() {
                    self.value(&schema["items"], item, &path.index(i));
                }
            }
            Value::Number(n) if types.contains(&"integer") => self.integer(schema, n, path),
            Value::Number(_) if types.contains(&"number") => {}
            Value::Bool(_) if types.contains(&"boolean") => {}
            // serde reads any scalar written without quotes as a string where it wants one.
            Value::String(_) | Value::Number(_) | Value::Bool(_) | Value::Null
                if types.contains(&"string") => {}
            _ => {
                let pos = self.source.locate(path);
                let expected = match types.iter().find(|t| **t != "null") {
                    Some(&"object") => "a mapping".to_owned(),
                    Some(&"array") => "a list".to_owned(),
                    Some(&"integer") => integer_words(schema),
                    Some(&"number") => "a number".to_owned(),
                    Some(&"boolean") => "true or false".to_owned(),
                    Some(&"string") => "a string".to_owned(),
                    _ => "a value".to_owned(),
                };
                self.report(
                    pos,
                    path,
                    format!("invalid type: {}", unexpected(value)),
                    expected,
                );
            }
        }
    }

    /// An optional value (`[X, null]`), or one of several shapes: fine when one fits.
    fn any_of(&mut self, branches: &'a [Schema], value: &Value, path: &KeyPath) {
        if value.is_null() && branches.iter().any(|b| b["type"] == "null") {
            return;
        }
        let mut first = None;
        for branch in branches.iter().filter(|b| b["type"] != "null") {
            let before = self.problems.len();
            self.value(branch, value, path);
            let found: Vec<Problem> = self.problems.drain(before..).collect();
            if found.is_empty() {
                return;
            }
            first.get_or_insert(found);
        }
        self.problems.extend(first.unwrap_or_default());
    }

    fn variant(&mut self, variants: &[Schema], value: &Value, path: &KeyPath) {
        let names: Vec<&str> = variants.iter().filter_map(Schema::as_str).collect();
        let listed = names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let expected = format!("one of {listed}");
        let pos = self.source.locate(path);
        match value {
            Value::String(s) if names.contains(&s.as_str()) => {}
            Value::String(s) => {
                let help =
                    closest(s, names.iter().copied()).map(|c| format!("did you mean `{c}`?"));
                let message = format!("unknown variant `{s}`");
                self.report_with_help(pos, path, message, Some(expected), help);
            }
            other => self.report(
                pos,
                path,
                format!("invalid type: {}", unexpected(other)),
                expected,
            ),
        }
    }

    fn mapping(&mut self, schema: &'a Schema, map: &serde_yaml::Mapping, path: &KeyPath) {
        let properties = schema["properties"].as_object();
        let known: Vec<&str> = properties
            .map(|p| p.keys().map(String::as_str).collect())
            .unwrap_or_default();
        for (key, value) in map {
            let Some(name) = key_text(key) else {
                let pos = self.source.locate(path);
                self.report(
                    pos,
                    path,
                    format!("invalid key: {}", unexpected(key)),
                    "a name".into(),
                );
                continue;
            };
            let at = path.key(&name);
            if let Some(property) = properties.and_then(|p| p.get(&name)) {
                self.value(property, value, &at);
            } else if schema["additionalProperties"] == false {
                let pos = self.source.locate_key(&at);
                let listed = known.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>();
                let help =
                    closest(&name, known.iter().copied()).map(|c| format!("did you mean `{c}`?"));
                self.report_with_help(
                    pos,
                    path,
                    format!("unknown field `{name}`"),
                    Some(format!("one of {}", listed.join(", "))),
                    help,
                );
            } else if schema["additionalProperties"].is_object() {
                self.value(&schema["additionalProperties"], value, &at);
            }
        }
        for required in schema["required"].as_array().into_iter().flatten() {
            let Some(name) = required.as_str() else {
                continue;
            };
            let present = map.keys().any(|k| key_text(k).as_deref() == Some(name));
            if !present {
                let pos = self.source.locate(path);
                self.report(
                    pos,
                    path,
                    format!("missing field `{name}`"),
                    format!("the required field `{name}`"),
                );
            }
        }
    }

    fn integer(&mut self, schema: &Schema, n: &serde_yaml::Number, path: &KeyPath) {
        let (low, high) = integer_range(schema);
        let fits = match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i128::from(i) >= low && i128::from(i) <= high,
            (None, Some(u)) => i128::from(u) <= high,
            _ => false,
        };
        if !fits {
            let pos = self.source.locate(path);
            let kind = if n.is_f64() {
                format!("invalid type: floating point `{n}`")
            } else {
                format!("invalid value: integer `{n}`")
            };
            self.report(pos, path, kind, integer_words(schema));
        }
    }
}

/// The range of an integer schema, from its `format` (schemars names the Rust type).
fn integer_range(schema: &Schema) -> (i128, i128) {
    let (low, high) = match schema["format"].as_str().unwrap_or_default() {
        "uint8" => (0, u8::MAX.into()),
        "uint16" => (0, u16::MAX.into()),
        "uint32" => (0, u32::MAX.into()),
        "uint64" | "uint" => (0, u64::MAX.into()),
        "int8" => (i8::MIN.into(), i8::MAX.into()),
        "int16" => (i16::MIN.into(), i16::MAX.into()),
        "int32" => (i32::MIN.into(), i32::MAX.into()),
        _ => (i64::MIN.into(), u64::MAX.into()),
    };
    let bound = |key: &str, default: i128| schema[key].as_i64().map_or(default, i128::from);
    (bound("minimum", low), bound("maximum", high))
}

/// What an integer schema expects, in the words serde's errors get (see `in_words`);
/// its own `minimum` and `maximum` when it states them.
fn integer_words(schema: &Schema) -> String {
    let (low, high) = integer_range(schema);
    match (schema["minimum"].is_number(), schema["maximum"].is_number()) {
        (true, true) => return format!("a whole number from {low} to {high}"),
        (true, false) => return format!("a whole number >= {low}"),
        _ => {}
    }
    let rust = match schema["format"].as_str().unwrap_or_default() {
        "uint8" => "u8",
        "uint16" => "u16",
        "uint32" | "uint64" | "uint" => "u32",
        _ => "i64",
    };
    in_words(rust)
}

/// A mapping key as the index of `Source` names it: scalars by their text.
fn key_text(key: &Value) -> Option<String> {
    match key {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A value as serde's errors describe it.
fn unexpected(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("boolean `{b}`"),
        Value::Number(n) if n.is_f64() => format!("floating point `{n}`"),
        Value::Number(n) => format!("integer `{n}`"),
        Value::String(s) => format!("string {s:?}"),
        Value::Sequence(_) => "sequence".to_owned(),
        Value::Mapping(_) => "map".to_owned(),
        Value::Tagged(t) => unexpected(&t.value),
    }
}
