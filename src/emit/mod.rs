//! Emit stage: YAML text exactly as kustomize v5.5 prints it.
//!
//! `kubectl kustomize` turns every resource into JSON and hands it to go-yaml v2
//! (`sigs.k8s.io/yaml.JSONToYAML`), so its output is whatever that encoder
//! decides. This module reproduces those decisions byte for byte, one submodule
//! per decision:
//!
//! * key order: go-yaml v2's "natural" sorter ([`compare_keys`], `go_less`), in
//!   `order`, with Go's Unicode letters and digits in `unicode`;
//! * which strings need quotes: go-yaml v2's YAML 1.1 resolver (`needs_quotes`),
//!   in `resolve`;
//! * plain, single-quoted, double-quoted or literal style: the libyaml scalar
//!   analysis (`Analysis`), in `style`;
//! * folding of long scalars after column 80 and the 2-space block layout
//!   (`Writer`), in `writer`;
//! * numbers as Go prints them after the JSON round trip (`write_number`), in
//!   `number`.
//!
//! Everything is written into one `String`; apart from rare cases (numbers
//! with `_`, non-ASCII digits in keys) the only allocation is one key vector
//! per mapping whose keys `serde_json` does not already hold in kustomize's
//! order (see `order::in_natural_order`).

mod number;
mod order;
mod resolve;
mod style;
mod unicode;
mod writer;

use serde_json::Value;

pub use order::compare_keys;
use writer::Writer;

/// How a rendering is printed: kustomize's YAML stream, or one pretty-printed JSON array
/// of the objects (`build --output json`). Both are emitted one object at a time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Format {
    #[default]
    Yaml,
    Json,
}

impl Format {
    /// The text of one object: a YAML document, or an item of the JSON array (what
    /// `serde_json::to_string_pretty` prints for it inside the array).
    pub fn document(self, value: &Value) -> String {
        match self {
            Format::Yaml => document(value),
            Format::Json => {
                let text = serde_json::to_string_pretty(value).expect("JSON values serialise");
                // JSON escapes line breaks inside strings: every line is the structure's,
                // and an array item is indented one level.
                let mut item = String::with_capacity(text.len() + text.len() / 4);
                for (n, line) in text.lines().enumerate() {
                    if n > 0 {
                        item.push('\n');
                    }
                    item.push_str("  ");
                    item.push_str(line);
                }
                item
            }
        }
    }

    /// Writes documents made by [`Format::document`], in order, as one whole text: the
    /// YAML documents separated by `---`, or the JSON array ending with a line break.
    pub fn write(
        self,
        out: &mut (impl std::io::Write + ?Sized),
        documents: impl IntoIterator<Item = impl AsRef<str>>,
    ) -> std::io::Result<()> {
        let (open, separator, close) = match self {
            Format::Yaml => ("", "---\n", ""),
            Format::Json => ("[\n", ",\n", "\n]\n"),
        };
        let mut documents = documents.into_iter().peekable();
        if documents.peek().is_none() {
            return out.write_all(if self == Format::Json { b"[]\n" } else { b"" });
        }
        out.write_all(open.as_bytes())?;
        for (n, document) in documents.enumerate() {
            if n > 0 {
                out.write_all(separator.as_bytes())?;
            }
            out.write_all(document.as_ref().as_bytes())?;
        }
        out.write_all(close.as_bytes())
    }
}

/// One document, ending with "\n" (no leading `---`).
///
/// This is what `kubectl kustomize` prints for a single resource, so generated
/// manifests can be compared with (and diffed against) kustomize's output.
pub fn document(value: &Value) -> String {
    let mut writer = Writer::default();
    writer.document(value);
    writer.out
}

/// A stream: documents joined by "---\n"; empty slice gives "".
///
/// Same layout as `kubectl kustomize` uses for several resources (no leading
/// separator, every document ends with a newline).
pub fn stream<'a>(values: impl IntoIterator<Item = &'a Value>) -> String {
    let mut writer = Writer::default();
    writer
        .stream(values, |_| Ok(()))
        .expect("emitting into a String cannot fail");
    writer.out
}

/// [`stream`] written to `out` as it is emitted, in chunks of about 64 KiB: the
/// whole text is never held in memory (what `platgen build` prints).
pub fn write_stream<'a>(
    out: &mut (impl std::io::Write + ?Sized),
    values: impl IntoIterator<Item = &'a Value>,
) -> std::io::Result<()> {
    const CHUNK: usize = 64 * 1024;
    let mut writer = Writer::with_capacity(2 * CHUNK);
    writer.stream(values, |text| {
        if text.len() >= CHUNK {
            out.write_all(text.as_bytes())?;
            text.clear();
        }
        Ok(())
    })?;
    out.write_all(writer.out.as_bytes())
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::{Format, document, stream, write_stream};

    /// Emits `{"k": value}` and returns the text after `k:`.
    pub(super) fn value_text(value: Value) -> String {
        let text = document(&json!({ "k": value }));
        text.strip_prefix("k:").expect("single key").to_string()
    }

    #[test]
    fn documents_end_with_newline_and_stream_joins_with_separator() {
        let a = json!({"kind": "A"});
        let b = json!({"kind": "B"});
        assert_eq!(document(&a), "kind: A\n");
        assert_eq!(stream([&a, &b]), "kind: A\n---\nkind: B\n");
        assert_eq!(stream(&[] as &[Value]), "");
        assert_eq!(stream([&a]), "kind: A\n");
    }

    /// Object by object, both formats print what the whole list prints at once.
    #[test]
    fn formats_write_document_by_document_what_the_whole_list_prints() {
        let objects = [
            json!({"kind": "A", "metadata": {"name": "a\nb", "labels": {}}, "data": []}),
            json!({"kind": "B", "spec": {"n": 1.5, "list": [{"x": null}, "y"]}}),
        ];
        for values in [&objects[..], &objects[..1], &[]] {
            let written = |format: Format| {
                let mut out = Vec::new();
                let documents = values.iter().map(|v| format.document(v));
                format.write(&mut out, documents).expect("writes to a Vec");
                String::from_utf8(out).expect("UTF-8")
            };
            assert_eq!(written(Format::Yaml), stream(values));
            let json = serde_json::to_string_pretty(values).expect("serialises") + "\n";
            assert_eq!(written(Format::Json), json);
        }
    }

    #[test]
    fn write_stream_writes_what_stream_returns() {
        let big: Vec<Value> = (0..3000)
            .map(|i| json!({"kind": "ConfigMap", "metadata": {"name": format!("c{i}")}, "data": {"k": "v w"}}))
            .collect();
        for values in [&big[..], &big[..1], &[]] {
            let mut out = Vec::new();
            write_stream(&mut out, values).expect("writes to a Vec");
            assert_eq!(String::from_utf8(out).expect("UTF-8"), stream(values));
        }
    }

    /// Objects with awkward keys and values, for the round trip and kubectl.
    fn tricky_objects() -> Vec<Value> {
        let long_words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau upsilon phi chi psi omega";
        let config_map = json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": "tricky",
                "labels": {"app.kubernetes.io/name": "shop", "app": "web", "tier": "8000"},
                "annotations": {"note": long_words, "empty": "", "yes": "yes", "hash": "#tag"},
            },
            "data": {
                "port80": "80", "port8080": "8080", "port443": "on", "a10": "1e3", "a9": "0755",
                "A": "~", "_x": "- x", "-x": "*ref", "app_version": "1.0", "appVersion": "2024-01-01",
                "12:30": "12:30", "null": "null", "script.sh": "#!/bin/sh\necho \"hi\"\n\n",
                "strip": "no final newline\n  indented", "lead": "  leading spaces\nsecond\n",
                "blank": "\n\nafter blanks\n", "tab": "a\tb\n", "trail": "line \nnext",
                "quote": "it's 'quoted'", "dq": "say \"hi\"", "colon": "key: value",
                "brace": "{{ .Values.x }}", "emoji": "smile \u{1F600}", "accent": "café",
                "bom": "\u{feff}x y", "ctl": "bell\u{7}", "ls": "a\u{2028}b", "ps": "a \u{2029}b",
                "long": format!("{long_words} {long_words}"),
                "longsingle": format!("'{long_words} {long_words}"),
                "longdouble": format!("\t{long_words}  {long_words}"),
                "nospace": "x".repeat(120),
                "k".repeat(130): "long key",
                "multi\nline key": "v",
                "<<": "dropped",
            },
        });
        let deployment = json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {
                        "containers": [{
                            "name": "web",
                            "image": "nginx:1.27",
                            "args": ["--port", "8080", "--flag=true", "-v", "yes", "", "a b"],
                            "command": [["nested", "list"], [], {}],
                            "env": [
                                {"name": "A", "value": "1"},
                                {"name": "B", "value": "true"},
                                {"name": "C", "value": null},
                                {"name": "D", "value": long_words},
                            ],
                            "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                            "resources": {"limits": {"cpu": "500m", "memory": "1Gi"}},
                        }],
                        "weights": [0.5, 1.0, 1e-7, 1e20, 1234567.5, 1.5e15 + 3.25, -0.0, 18446744073709551615u64, -9223372036854775808i64],
                        "flags": {"on": true, "off": false, "none": null, "list": [], "map": {}},
                    },
                },
            },
        });
        vec![config_map, deployment]
    }

    #[test]
    fn round_trips_through_a_yaml_parser() {
        let mut objects = tricky_objects();
        // Leave out what a YAML 1.2 reader cannot get back: line separators
        // (a break in YAML 1.1), the dropped merge key and floats printed as
        // integers.
        let data = objects[0]["data"].as_object_mut().unwrap();
        for key in ["ls", "ps", "<<"] {
            data.remove(key);
        }
        let spec = &mut objects[1]["spec"]["template"]["spec"];
        spec["weights"] = json!([0.5, 1e-7, 1234567.5, 1.5e15 + 3.25]);
        objects.push(json!({"8000": "8000", "y": ["n", "1_000", "0x1F", ".5", "2024-01-01"]}));
        for object in &objects {
            let text = document(object);
            let back: Value = serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
            assert_eq!(&back, object, "{text}");
        }
    }

    #[test]
    fn matches_kubectl_kustomize() {
        let available = std::process::Command::new("kubectl")
            .args(["version", "--client"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !available {
            assert!(
                std::env::var_os("PLATGEN_REQUIRE_KUSTOMIZE").is_none(),
                "PLATGEN_REQUIRE_KUSTOMIZE is set but kubectl is missing"
            );
            // Straight to stderr: `cargo test` would hide an `eprintln!` of a passing test.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED matches_kubectl_kustomize: kubectl not found"
            );
            return;
        }
        let objects = tricky_objects();
        // JSON is YAML; serde_json escapes control characters, but writes
        // U+2028 / U+2029 raw, which kustomize's reader would fold.
        let input: Vec<String> = objects
            .iter()
            .map(|o| {
                serde_json::to_string(o)
                    .unwrap()
                    .replace('\u{2028}', "\\u2028")
                    .replace('\u{2029}', "\\u2029")
            })
            .collect();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("objects.yaml"), input.join("\n---\n")).unwrap();
        std::fs::write(
            dir.path().join("kustomization.yaml"),
            "resources:\n- objects.yaml\n",
        )
        .unwrap();
        let output = std::process::Command::new("kubectl")
            .arg("kustomize")
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let expected = String::from_utf8(output.stdout).unwrap();
        let ours = stream(&objects);
        if ours != expected {
            for (line, (a, b)) in ours.lines().zip(expected.lines()).enumerate() {
                assert_eq!(a, b, "first difference at line {}", line + 1);
            }
        }
        assert_eq!(ours, expected);
    }
}
