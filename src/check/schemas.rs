//! Check stage, custom resources: each one matches the JSON schema of its CRD, read from
//! a folder laid out as `<group>/<kind lower case>_<version>.json` (kubeconform's
//! layout). A custom resource with no schema there is a finding. Gatekeeper constraints
//! have no fixed schema: their `parameters` follow the schema of the ConstraintTemplate
//! that defines their kind, found among the built objects.

use super::cluster::{Cluster, Placed};
use super::{Family, Finding};
use crate::error::{Error, Result};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The API group of Gatekeeper's constraints, whose kinds ConstraintTemplates define.
const CONSTRAINTS_GROUP: &str = "constraints.gatekeeper.sh";
/// Longest schema message kept in a finding (messages quote the offending value).
const MESSAGE_LIMIT: usize = 240;

/// Whether an API group is Kubernetes' own (core, `apps`, `*.k8s.io`): not a custom resource.
pub fn built_in(group: &str) -> bool {
    group.is_empty() || !group.contains('.') || group.ends_with(".k8s.io")
}

/// `<group>/<kind>_<version>.json` of an object.
pub fn schema_file(placed: &Placed) -> String {
    let api_version = placed.api_version();
    let version = api_version.rsplit('/').next().unwrap_or(api_version);
    format!(
        "{}/{}_{version}.json",
        placed.group(),
        placed.kind().to_ascii_lowercase()
    )
}

/// Findings of every custom resource among `objects` against the schemas in `dir`.
pub fn check(dir: &Path, cluster: &Cluster, objects: &[&Placed]) -> Result<Vec<Finding>> {
    if !dir.is_dir() {
        return Err(Error::Read {
            path: dir.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such folder"),
        });
    }
    let mut validators: BTreeMap<PathBuf, Option<jsonschema::Validator>> = BTreeMap::new();
    let mut findings = Vec::new();
    for placed in objects {
        if built_in(placed.group()) {
            continue;
        }
        let file = schema_file(placed);
        if placed.group() == CONSTRAINTS_GROUP {
            match constraint_schema(cluster, placed.kind()) {
                Some(schema) => {
                    let validator = compile(&schema, Path::new(&file))?;
                    findings.extend(validate(
                        &validator,
                        placed,
                        "its ConstraintTemplate's schema",
                    ));
                }
                None => findings.push(Finding::new(
                    Family::Schema,
                    placed,
                    "",
                    format!(
                        "no ConstraintTemplate among the targets defines kind {}",
                        placed.kind()
                    ),
                )),
            }
            continue;
        }
        let path = dir.join(&file);
        if !validators.contains_key(&path) {
            let validator = match std::fs::read_to_string(&path) {
                Ok(text) => {
                    let schema: Value = serde_json::from_str(&text).map_err(|e| Error::Schema {
                        path: path.clone(),
                        message: e.to_string(),
                    })?;
                    Some(compile(&schema, &path)?)
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(source) => return Err(Error::Read { path, source }),
            };
            validators.insert(path.clone(), validator);
        }
        match &validators[&path] {
            Some(validator) => findings.extend(validate(validator, placed, &file)),
            None => findings.push(Finding::new(
                Family::Schema,
                placed,
                "",
                format!(
                    "custom resource has no schema: {file} is missing from {}",
                    dir.display()
                ),
            )),
        }
    }
    Ok(findings)
}

fn compile(schema: &Value, path: &Path) -> Result<jsonschema::Validator> {
    jsonschema::validator_for(schema).map_err(|e| Error::Schema {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

/// A custom resource as its CRD's schema judges it. The API server validates `metadata`
/// as ObjectMeta; a CRD's schema may only restrict `name` and `generateName` there, so
/// a schema converted with `additionalProperties: false` on `metadata` (the MySQL
/// Operator's) sees only those.
fn judged(object: &Value) -> std::borrow::Cow<'_, Value> {
    let Some(metadata) = object.get("metadata").and_then(Value::as_object) else {
        return std::borrow::Cow::Borrowed(object);
    };
    let mut judged = object.clone();
    judged["metadata"] = Value::Object(
        metadata
            .iter()
            .filter(|(k, _)| *k == "name" || *k == "generateName")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    );
    std::borrow::Cow::Owned(judged)
}

fn validate(validator: &jsonschema::Validator, placed: &Placed, schema: &str) -> Vec<Finding> {
    let object = placed.object.to_json();
    validator
        .iter_errors(&judged(&object))
        .map(|error| {
            let mut message = error.to_string();
            if message.len() > MESSAGE_LIMIT {
                let cut = (0..=MESSAGE_LIMIT)
                    .rev()
                    .find(|i| message.is_char_boundary(*i))
                    .unwrap_or(0);
                message.truncate(cut);
                message.push('…');
            }
            Finding::new(
                Family::Schema,
                placed,
                dotted(error.instance_path()),
                format!("does not match {schema}: {message}"),
            )
        })
        .collect()
}

/// A JSON pointer location as a dotted field path (`spec.rules[0].host`).
fn dotted(location: &jsonschema::paths::Location) -> String {
    let mut path = String::new();
    for segment in location.iter() {
        match segment {
            jsonschema::paths::LocationSegment::Property(key) => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&key);
            }
            jsonschema::paths::LocationSegment::Index(i) => {
                path.push_str(&format!("[{i}]"));
            }
        }
    }
    path
}

/// The schema of a Gatekeeper constraint of `kind`: Gatekeeper's fixed `match` and
/// `enforcementAction`, and the ConstraintTemplate's `parameters` schema, made to reject
/// unknown fields as the API server's pruning would silently drop them.
fn constraint_schema(cluster: &Cluster, kind: &str) -> Option<Value> {
    let template = cluster
        .find("templates.gatekeeper.sh", "ConstraintTemplate", "")
        .find(|p| p.object["spec"]["crd"]["spec"]["names"]["kind"].as_str() == Some(kind))?;
    let mut parameters =
        template.object["spec"]["crd"]["spec"]["validation"]["openAPIV3Schema"].to_json();
    if parameters.is_null() {
        parameters = json!({});
    } else {
        reject_unknown_fields(&mut parameters);
    }
    let strings = json!({"type": "array", "items": {"type": "string"}});
    let matcher = json!({
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "kinds": {"type": "array", "items": {
                "type": "object",
                "additionalProperties": false,
                "properties": {"apiGroups": strings, "kinds": strings}
            }},
            "namespaces": strings,
            "excludedNamespaces": strings,
            "labelSelector": {"type": "object"},
            "namespaceSelector": {"type": "object"},
            "scope": {"type": "string", "enum": ["*", "Cluster", "Namespaced"]},
            "source": {"type": "string", "enum": ["All", "Generated", "Original"]},
            "name": {"type": "string"}
        }
    });
    Some(json!({
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "additionalProperties": false,
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": {
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "enforcementAction": {"type": "string"},
                    "scopedEnforcementActions": {"type": "array"},
                    "match": matcher,
                    "parameters": parameters
                }
            }
        }
    }))
}

/// Adds `additionalProperties: false` to every object schema that lists its properties
/// and neither allows extra ones nor preserves unknown fields.
fn reject_unknown_fields(schema: &mut Value) {
    let Some(map) = schema.as_object_mut() else {
        return;
    };
    let preserves = map
        .get("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        == Some(true);
    if map.contains_key("properties") && !map.contains_key("additionalProperties") && !preserves {
        map.insert("additionalProperties".into(), Value::Bool(false));
    }
    for (key, child) in map.iter_mut() {
        match key.as_str() {
            "properties" => {
                for property in child.as_object_mut().into_iter().flatten().map(|(_, v)| v) {
                    reject_unknown_fields(property);
                }
            }
            "items" | "additionalProperties" => reject_unknown_fields(child),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_groups() {
        for group in [
            "",
            "apps",
            "batch",
            "policy",
            "networking.k8s.io",
            "rbac.authorization.k8s.io",
        ] {
            assert!(built_in(group), "{group}");
        }
        for group in [
            "traefik.io",
            "monitoring.coreos.com",
            "constraints.gatekeeper.sh",
        ] {
            assert!(!built_in(group), "{group}");
        }
    }

    #[test]
    fn schema_files_follow_kubeconform_layout() {
        let p = Placed::first(
            "security",
            json!({"apiVersion": "traefik.io/v1alpha1", "kind": "Middleware"}),
        );
        assert_eq!(schema_file(&p), "traefik.io/middleware_v1alpha1.json");
    }

    #[test]
    fn constraints_follow_their_template() {
        let template = json!({"apiVersion": "templates.gatekeeper.sh/v1", "kind": "ConstraintTemplate",
            "metadata": {"name": "k8srequired"},
            "spec": {"crd": {"spec": {"names": {"kind": "K8sRequired"},
                "validation": {"openAPIV3Schema": {"type": "object",
                    "properties": {"resources": {"type": "array", "items": {"type": "string"}}}}}}}}});
        let constraint = json!({"apiVersion": "constraints.gatekeeper.sh/v1beta1", "kind": "K8sRequired",
            "metadata": {"name": "c"},
            "spec": {"match": {"namespaces": ["a"]}, "parameters": {"resource": ["x"]}}});
        let orphan = json!({"apiVersion": "constraints.gatekeeper.sh/v1beta1", "kind": "K8sOther",
            "metadata": {"name": "o"}, "spec": {}});
        let cluster = Cluster::new(vec![
            Placed::first("security", template),
            Placed::new("security", 0, 1, constraint.into()),
            Placed::new("security", 0, 2, orphan.into()),
        ]);
        // The template is part of the cluster; only the constraints are checked (against
        // an empty folder, where the template itself would have no schema).
        let objects: Vec<&Placed> = cluster.objects.iter().skip(1).collect();
        let dir = tempfile::tempdir().expect("temp dir");
        let found: Vec<String> = check(dir.path(), &cluster, &objects)
            .expect("checked")
            .into_iter()
            .map(|f| format!("{} {}: {}", f.object, f.field, f.message))
            .collect();
        assert_eq!(found.len(), 2, "{found:#?}");
        assert!(
            found[0].starts_with(
                "K8sRequired/c spec.parameters: does not match its ConstraintTemplate's schema"
            ),
            "{}",
            found[0]
        );
        assert!(found[0].contains("resource"), "{}", found[0]);
        assert_eq!(
            found[1],
            "K8sOther/o : no ConstraintTemplate among the targets defines kind K8sOther"
        );
    }
}
