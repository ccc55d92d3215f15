//! The quick reader against serde_yaml: what one reads, the other reads the same.

use super::read::{self, Unsupported};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::path::Path;

/// serde_yaml's documents of `text` as JSON values, or `None` when it refuses one.
fn serde_yaml_documents(text: &str) -> Option<Vec<Value>> {
    serde_yaml::Deserializer::from_str(text)
        .map(Value::deserialize)
        .collect::<Result<_, _>>()
        .ok()
}

/// Reads `text` quickly (it must be within the subset) and compares with serde_yaml.
fn same(text: &str) {
    if read::documents(text).is_err() {
        // The first top-level entry the reader leaves to serde_yaml, to tell which.
        let mut prefix = String::new();
        for line in text.split_inclusive('\n') {
            let entry = !line.starts_with([' ', '#', '\n']);
            if entry && prefix.contains(':') && read::documents(&prefix).is_err() {
                break;
            }
            prefix.push_str(line);
        }
        panic!(
            "left to serde_yaml:\n{}",
            &prefix[prefix.len().saturating_sub(600)..]
        );
    }
    assert_eq!(
        super::documents::<Value>(text),
        serde_yaml_documents(text),
        "{text}"
    );
}

#[test]
fn the_subset_reads_as_serde_yaml_reads_it() {
    for text in [
        "a: 1\n",
        "a: 1",
        "a:\n  b: c\n  d:\n    - e\n    - f: g\n      h: i\n",
        "list:\n- a\n- b\nnext: c\n",
        "- - a\n  - b\n- c\n",
        "-\n- b\n",
        "- a: 1\n  b:\n  - 2\n  - 3\n- x\n",
        "key:\nother: 1\n",
        "key:    \n  # comment\n  deeper: 1\n",
        "a: b # comment\nc: d#not a comment\n",
        "url: http://x:80/y?z=1#frag\n",
        "'quoted key': 1\n\"double\": 2\n",
        "s: 'it''s'\nd: \"tab\\there \\\"q\\\" \\u00e9 \\x41 \\U0001F600 \\\\ \\/ \\N \\_\"\n",
        "empty: ''\nalso: \"\"\n",
        "images: [a/b=a/b:1.2, x:y]\nflow: [a, 'b', \"c\", [d, e], {f: g}]\nmap: {a: 1, 'b': [2]}\nnone: []\nnothing: {}\n",
        "script: |\n  #!/bin/sh\n  echo hi   \n\n    indented\n\n\nafter: 1\n",
        "strip: |-\n  one\n  two\n\nkeep: x\n",
        "- |\n  in a sequence\n- b\n",
        "a:\n  - |\n    deeper\n  - |-\n    x\n",
        "---\na: 1\n---\nb: 2\n",
        "--- # comment\na: 1\n",
        "a: 1\n---\n",
        "---\n---\n",
        "ünïcödé: ✓ ok\n",
        "nested:\n    four: spaces\n    list:\n      - x\n",
        "k: v   \n",
        "k: a b  c\n",
        "k: -1\n",
        "on: yes\noff: no\ny: n\n",
        "port: 80\nratio: 0.5\nbig: 18446744073709551616\nneg: -9223372036854775809\n",
        "hex: 0x1F\noct: 0o17\nbin: 0b101\nsigned: +12\nzero: 007\nexp: 1e3\ninf: -.inf\n",
        "null: ~\nNull: Null\nempty:\nt: True\nf: FALSE\n",
        "\"80\": quoted\n80: plain\n",
    ] {
        same(text);
    }
}

#[test]
fn what_it_does_not_know_is_left_to_serde_yaml() {
    for text in [
        "",
        "# only a comment\n",
        "a: &anchor 1\nb: *anchor\n",
        "a: !tag 1\n",
        "? complex\n: key\n",
        "a: >\n  folded\n",
        "a: |+\n  kept\n\n",
        "a: |2\n   explicit\n",
        "a: plain\n  continued\n",
        "a: 'multi\n  line'\n",
        "a: \"multi\n  line\"\n",
        "a: \"continued \\\n  line\"\n",
        "a:\tb\n",
        "a: b\r\n",
        "\u{feff}a: b\n",
        "a: b\u{2028}c\n",
        "%YAML 1.2\n---\na: b\n",
        "a: b\n...\n",
        "--- a\n",
        "a: 1\nb\n",
        "a: b: c\n",
        "a: [b,\n  c]\n",
        "a: [b, ]\n",
        "a: {b}\n",
        "a: [b: c]\n",
        "a: [x:]\n",
        "a: [x:, y]\n",
        "a: |\n  last line without a break",
        "a: |\n\n      deeper blank first\n    text\n",
        "- a\n  - b\n",
        "a: 1\n - b\n",
        "a: 1\n- b\n",
        "a: \"\\q\"\n",
        "a: \"\\ud800\"\n",
        "a: 'x'y\n",
        "a: [b] c\n",
        "a: b\nc: d\n  e: f\n",
        "- a\nb: c\n",
        "@a: b\n",
    ] {
        assert_eq!(read::documents(text).err(), Some(Unsupported), "{text:?}");
    }
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Typed<T> {
    k: T,
}

/// `k: <scalar>` read as `Typed<T>` by both: the same value, or both refuse it.
fn typed_same<T: DeserializeOwned + Debug + PartialEq>(text: &str) {
    let quick = super::from_str::<Typed<T>>(text);
    let slow = serde_yaml::from_str::<Typed<T>>(text).ok();
    if read::documents(text).is_ok() {
        assert_eq!(quick, slow, "{text:?} as {}", std::any::type_name::<T>());
    } else {
        assert_eq!(quick, None);
    }
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "lowercase")]
enum Mode {
    Patches,
    Hydrated,
}

/// Every scalar of `k: <s>`, `k: '<s>'` and `k: "<s>"` read as every type the
/// descriptors use; floats compared by their bits (NaN).
fn scalar_same(s: &str) {
    for text in [
        format!("k: {s}\n"),
        format!("k: '{s}'\n"),
        format!("k: \"{s}\"\n"),
    ] {
        if read::documents(&text).is_ok() {
            same(&text);
        }
        typed_same::<u64>(&text);
        typed_same::<u32>(&text);
        typed_same::<i64>(&text);
        typed_same::<i32>(&text);
        typed_same::<u128>(&text);
        typed_same::<i128>(&text);
        typed_same::<bool>(&text);
        typed_same::<String>(&text);
        typed_same::<Option<String>>(&text);
        typed_same::<Option<u16>>(&text);
        typed_same::<()>(&text);
        typed_same::<Mode>(&text);
        typed_same::<Vec<String>>(&text);
        typed_same::<BTreeMap<String, String>>(&text);
        let bits = |t: Option<Typed<f64>>| t.map(|t| t.k.to_bits());
        if read::documents(&text).is_ok() {
            assert_eq!(
                bits(super::from_str(&text)),
                bits(serde_yaml::from_str(&text).ok()),
                "{text:?}"
            );
        }
    }
}

#[test]
fn scalars_resolve_as_serde_yaml_resolves_them() {
    for s in [
        "",
        "~",
        "null",
        "Null",
        "NULL",
        "nULL",
        "true",
        "True",
        "TRUE",
        "tRUE",
        "false",
        "yes",
        "no",
        "on",
        "off",
        "y",
        "0",
        "-0",
        "+0",
        "00",
        "007",
        "-007",
        "+007",
        "08",
        "0.5",
        "00.5",
        "-.5",
        "5.",
        "1e3",
        "1E-3",
        "+1e3",
        "1_000",
        "12",
        "+12",
        "-12",
        "++12",
        "+-12",
        "--12",
        "0x1F",
        "0X1F",
        "+0x1F",
        "-0x1F",
        "0x-1",
        "0x+1",
        "0x",
        "0o17",
        "-0o17",
        "0o8",
        "0b101",
        "-0b101",
        "0b2",
        "18446744073709551615",
        "18446744073709551616",
        "-9223372036854775808",
        "-9223372036854775809",
        "340282366920938463463374607431768211456",
        "1e400",
        "-1e400",
        ".inf",
        ".Inf",
        ".INF",
        "+.inf",
        "-.inf",
        "-.Inf",
        ".nan",
        ".NaN",
        ".NAN",
        "+.nan",
        "-.nan",
        "inf",
        "nan",
        "NaN",
        "infinity",
        "patches",
        "hydrated",
        "Hydrated",
        "1.2.3",
        "v1",
        "10Gi",
        "500m",
        "1:2",
        "a b",
    ] {
        scalar_same(s);
    }
}

proptest::proptest! {
    #[test]
    fn any_scalar_resolves_as_serde_yaml_resolves_it(s in "[-+0-9.eExXoObBaAfFnNuUlLtTrRsSiI_~ ]{0,8}") {
        scalar_same(&s);
    }

    /// Any text: left to serde_yaml, or read as it reads it (the debug check inside
    /// `documents` panics otherwise), and never a panic of the reader's own.
    #[test]
    fn any_text_is_read_as_serde_yaml_reads_it_or_left_to_it(s in YAMLISH) {
        let _ = super::documents::<Value>(&s);
        let _ = super::from_str::<BTreeMap<String, Option<String>>>(&s);
    }

    #[test]
    fn any_value_serde_yaml_writes_reads_back_the_same(value in json_value()) {
        let text = serde_yaml::to_string(&value).expect("serialises");
        if let Some(quick) = super::documents::<Value>(&text) {
            proptest::prop_assert_eq!(Some(quick), serde_yaml_documents(&text));
        }
    }
}

/// Text of YAML's indicators, spaces, breaks and a few letters, digits and a non-ASCII one.
const YAMLISH: &str = "([a-c0-9.~é]{0,3}[:#|>'\"\\ \n\\-\\[\\]{},!&*?]{0,2}){0,12}";

/// JSON values with the keys and strings YAML quotes, indents and folds differently.
fn json_value() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        "[a-z0-9 :#'\"\\-|>\n]{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map("[a-z0-9 :#'\"\\-]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// The project's own YAML: every descriptor and example is within the subset and reads
/// as serde_yaml reads it; so does most every document of the golden outputs
/// (platgen's emitter folds long plain scalars over lines, which is left to serde_yaml).
#[test]
fn the_projects_yaml_reads_quickly_and_the_same() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = |dir: &str| {
        let mut texts = Vec::new();
        for entry in std::fs::read_dir(root.join(dir)).expect("the folder is there") {
            let path = entry.expect("listed").path();
            if path.extension().is_some_and(|e| e == "yaml") {
                texts.push(std::fs::read_to_string(&path).expect("UTF-8"));
            }
        }
        texts
    };
    let descriptors = [files("environments"), files("examples")].concat();
    assert!(descriptors.len() >= 6, "{} descriptors", descriptors.len());
    for text in &descriptors {
        same(text);
    }
    let (mut quick, mut all) = (0, 0);
    for text in files("golden") {
        for document in text.split("\n---\n") {
            all += 1;
            if read::documents(document).is_ok() {
                same(document);
                quick += 1;
            }
        }
    }
    assert!(
        quick * 5 >= all * 4,
        "{quick} of {all} golden documents read quickly"
    );
}
