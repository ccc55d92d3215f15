//! Check stage, admission: OPA Gatekeeper. The platform's ConstraintTemplates (rendered
//! by the security component) are compiled with a real Rego engine (`regorus`, Rego v0
//! as Gatekeeper's `rego` field is), and each Constraint whose `enforcementAction` is
//! `deny` judges every object its `match` selects, with the input Gatekeeper's validating
//! webhook gives it: `input.review` (the object, its kind, name, namespace, a CREATE)
//! and `input.parameters` (the constraint's). Every `violation` is a rejected object.

use crate::check::cluster::{Cluster, Labels, Placed, containers, labels_of, selects, template_of};
use crate::check::value::Value;
use crate::check::{Family, Finding, join};
use regorus::Engine;
use std::collections::{BTreeMap, HashMap};

const TEMPLATE_GROUP: &str = "templates.gatekeeper.sh";
const CONSTRAINT_GROUP: &str = "constraints.gatekeeper.sh";
/// The target of a template that Gatekeeper's validating webhook evaluates.
const ADMISSION_TARGET: &str = "admission.k8s.gatekeeper.sh";

/// A ConstraintTemplate's Rego, compiled: the engine and the rule that lists violations.
struct Template {
    kind: String,
    engine: Engine,
    /// `data.<package>.violation`.
    rule: String,
}

/// A Constraint that rejects what it matches.
struct Constraint<'a> {
    placed: &'a Placed,
    template: usize,
    parameters: regorus::Value,
}

/// Findings of the platform's Gatekeeper constraints on `objects`.
pub fn check(cluster: &Cluster, objects: &[&Placed]) -> Vec<Finding> {
    let mut out = Vec::new();
    if objects.is_empty() {
        return out;
    }
    let mut templates = Vec::new();
    for placed in cluster
        .objects
        .iter()
        .filter(|p| p.group() == TEMPLATE_GROUP && p.kind() == "ConstraintTemplate")
    {
        match compile(placed) {
            Ok(Some(template)) => templates.push(template),
            Ok(None) => {}
            Err((field, error)) => {
                if objects.iter().any(|o| std::ptr::eq(*o, placed)) {
                    out.push(Finding::new(
                        Family::Admission,
                        placed,
                        field,
                        format!("the template's Rego does not compile, so Gatekeeper cannot enforce it: {error}"),
                    ));
                }
            }
        }
    }
    let by_kind: HashMap<&str, usize> = templates
        .iter()
        .enumerate()
        .map(|(i, t)| (t.kind.as_str(), i))
        .collect();
    let constraints: Vec<Constraint> = cluster
        .objects
        .iter()
        .filter(|p| p.group() == CONSTRAINT_GROUP)
        .filter(|p| {
            p.object["spec"]["enforcementAction"]
                .as_str()
                .unwrap_or("deny")
                == "deny"
        })
        .filter_map(|placed| {
            Some(Constraint {
                placed,
                template: *by_kind.get(placed.kind())?,
                parameters: (placed.object["spec"].get("parameters"))
                    .map_or_else(regorus::Value::new_object, rego_value),
            })
        })
        .collect();
    if constraints.is_empty() {
        return out;
    }
    let mut namespace_labels: HashMap<&str, Labels> = HashMap::new();
    for placed in objects {
        let labels = (namespace_labels.entry(placed.namespace()))
            .or_insert_with(|| cluster.namespace_labels(placed.namespace()));
        let mut review = None;
        for constraint in constraints
            .iter()
            .filter(|c| matches(&c.placed.object["spec"]["match"], placed, labels))
        {
            let review = review.get_or_insert_with(|| review_of(placed));
            let template = &mut templates[constraint.template];
            for message in violations(template, review, &constraint.parameters) {
                out.push(Finding::new(
                    Family::Admission,
                    placed,
                    located(placed, &message),
                    format!(
                        "Gatekeeper constraint {}/{} denies it: {message}",
                        constraint.placed.kind(),
                        constraint.placed.name()
                    ),
                ));
            }
        }
    }
    out
}

/// The template's Rego, compiled; `None` when it has no Rego for the admission target.
/// A template Gatekeeper cannot compile is `Err((field, error))`.
fn compile(placed: &Placed) -> Result<Option<Template>, (String, String)> {
    let spec = &placed.object["spec"];
    let Some(kind) = spec["crd"]["spec"]["names"]["kind"].as_str() else {
        return Ok(None);
    };
    let targets = spec["targets"].as_array().unwrap_or_default();
    let Some((i, target)) = targets
        .iter()
        .enumerate()
        .find(|(_, t)| t["target"].as_str() == Some(ADMISSION_TARGET))
    else {
        return Ok(None);
    };
    let Some(rego) = target["rego"].as_str() else {
        return Ok(None);
    };
    let field = format!("spec.targets[{i}].rego");
    let mut engine = Engine::new();
    engine.set_rego_v0(true);
    engine
        .add_policy(format!("{}.rego", placed.name()), rego.to_owned())
        .map_err(|e| (field.clone(), e.to_string()))?;
    for (j, lib) in target["libs"].as_array().into_iter().flatten().enumerate() {
        let lib = lib.as_str().unwrap_or_default().to_owned();
        engine
            .add_policy(format!("{}-lib{j}.rego", placed.name()), lib)
            .map_err(|e| (format!("spec.targets[{i}].libs[{j}]"), e.to_string()))?;
    }
    let package = engine
        .get_packages()
        .map_err(|e| (field.clone(), e.to_string()))?
        .into_iter()
        .next()
        .ok_or_else(|| (field.clone(), "no package".to_owned()))?;
    Ok(Some(Template {
        kind: kind.to_owned(),
        engine,
        rule: format!("{package}.violation"),
    }))
}

/// `input.review` as Gatekeeper builds it for the creation of `placed`.
fn review_of(placed: &Placed) -> regorus::Value {
    let api_version = placed.api_version();
    let version = api_version.rsplit('/').next().unwrap_or(api_version);
    let kind = rego_object([
        ("group", placed.group().into()),
        ("version", version.into()),
        ("kind", placed.kind().into()),
    ]);
    rego_object([
        ("kind", kind),
        ("name", placed.name().into()),
        ("namespace", placed.namespace().into()),
        ("operation", "CREATE".into()),
        ("object", rego_value(&placed.object)),
    ])
}

/// A Rego object of these fields.
fn rego_object<'k>(fields: impl IntoIterator<Item = (&'k str, regorus::Value)>) -> regorus::Value {
    (fields.into_iter())
        .map(|(key, value)| (regorus::Value::from(key), value))
        .collect::<BTreeMap<_, _>>()
        .into()
}

/// `value` as the Rego engine holds it, built directly: the same value as regorus's own
/// conversion from JSON, without first copying the object into a new JSON tree and
/// reading that copy back through serde (a quarter of Gatekeeper's time).
fn rego_value(value: &Value) -> regorus::Value {
    match value {
        Value::Null => regorus::Value::Null,
        Value::Bool(b) => regorus::Value::from(*b),
        Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => regorus::Value::from(u),
            (_, Some(i), _) => regorus::Value::from(i),
            (_, _, Some(f)) => regorus::Value::from(f),
            _ => regorus::Value::Undefined,
        },
        Value::String(text) => regorus::Value::from(*text),
        Value::Array(items) => {
            regorus::Value::from(items.iter().map(rego_value).collect::<Vec<_>>())
        }
        Value::Object(map) => rego_object(map.iter().map(|(key, value)| (key, rego_value(value)))),
    }
}

/// The `msg` of every violation the template finds with this review and parameters.
/// An evaluation error is a violation too: Gatekeeper fails closed on it.
fn violations(
    template: &mut Template,
    review: &regorus::Value,
    parameters: &regorus::Value,
) -> Vec<String> {
    template.engine.set_input(rego_object([
        ("review", review.clone()),
        ("parameters", parameters.clone()),
    ]));
    let result = match template.engine.eval_rule(template.rule.clone()) {
        Ok(result) => result,
        Err(error) => return vec![format!("the policy fails to evaluate: {error}")],
    };
    let found: Vec<&regorus::Value> = match &result {
        regorus::Value::Set(set) => set.iter().collect(),
        regorus::Value::Array(items) => items.iter().collect(),
        _ => Vec::new(),
    };
    let mut messages: Vec<String> = (found.into_iter())
        .map(|violation| match &violation["msg"] {
            regorus::Value::String(msg) => msg.to_string(),
            _ => serde_json::to_value(violation)
                .map_or_else(|_| "null".to_owned(), |v| v.to_string()),
        })
        .collect();
    messages.sort();
    messages
}

/// Whether a constraint's `spec.match` selects the object: kinds, scope, namespaces and
/// excluded namespaces (with Gatekeeper's `prefix*` and `*suffix` wildcards), name, and
/// label and namespace selectors.
fn matches(criteria: &Value, placed: &Placed, namespace_labels: &Labels) -> bool {
    let group = placed.group();
    let kind = placed.kind();
    let any = |list: &Value, wanted: &str| {
        list.as_array().is_none_or(|l| {
            l.is_empty()
                || l.iter()
                    .any(|v| matches!(v.as_str(), Some(s) if s == "*" || s == wanted))
        })
    };
    let kinds = criteria["kinds"].as_array().unwrap_or_default();
    if !kinds.is_empty()
        && !kinds
            .iter()
            .any(|k| any(&k["apiGroups"], group) && any(&k["kinds"], kind))
    {
        return false;
    }
    let namespace = placed.namespace();
    let namespaced = !namespace.is_empty();
    match criteria["scope"].as_str() {
        Some("Cluster") if namespaced => return false,
        Some("Namespaced") if !namespaced => return false,
        _ => {}
    }
    if let Some(name) = criteria["name"].as_str()
        && !wildcard(name, placed.name())
    {
        return false;
    }
    // A Namespace is judged by its own name; other cluster-scoped objects by none.
    let own_namespace = if kind == "Namespace" && group.is_empty() {
        Some(placed.name())
    } else {
        namespaced.then_some(namespace)
    };
    if let Some(ns) = own_namespace {
        let listed = |field: &str| {
            criteria[field]
                .as_array()
                .map(|l| l.iter().filter_map(Value::as_str).any(|p| wildcard(p, ns)))
        };
        if listed("namespaces") == Some(false) || listed("excludedNamespaces") == Some(true) {
            return false;
        }
        let selector = &criteria["namespaceSelector"];
        if !selector.is_null() && !selects(selector, namespace_labels) {
            return false;
        }
    }
    let selector = &criteria["labelSelector"];
    selector.is_null() || selects(selector, &labels_of(&placed.object["metadata"]["labels"]))
}

/// Gatekeeper's wildcard: `prefix*`, `*suffix`, or the exact name.
fn wildcard(pattern: &str, name: &str) -> bool {
    if let Some(prefix) = pattern.strip_suffix('*') {
        name.starts_with(prefix)
    } else if let Some(suffix) = pattern.strip_prefix('*') {
        name.ends_with(suffix)
    } else {
        pattern == name
    }
}

/// The field a violation is about: the one container its message names (and that
/// container's image when the message quotes it), else the pod spec, else the object.
fn located(placed: &Placed, message: &str) -> String {
    let Some(template) = template_of(placed.kind()) else {
        return String::new();
    };
    let base = join(template.path, "spec");
    let Some(spec) = placed.object.pointer(&format!("{}/spec", template.pointer)) else {
        return String::new();
    };
    let named: Vec<(String, &Value)> = containers(spec)
        .filter(|(_, c)| {
            c["name"]
                .as_str()
                .is_some_and(|name| mentions(message, name) > 0)
        })
        .collect();
    match named.as_slice() {
        [(path, container)] => {
            let field = format!("{base}.{path}");
            let name = container["name"].as_str().unwrap_or_default();
            // An image named like its container (`redis`) must be mentioned twice.
            let quoted = |image: &str| mentions(message, image) > usize::from(image == name);
            match container["image"].as_str() {
                Some(image) if quoted(image) => join(&field, "image"),
                _ => field,
            }
        }
        _ => base,
    }
}

/// How often `text` holds `word` as a whole name (not inside a longer name).
fn mentions(text: &str, word: &str) -> usize {
    let part_of_name =
        |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    text.match_indices(word)
        .filter(|(at, _)| {
            !part_of_name(text[..*at].chars().next_back())
                && !part_of_name(text[at + word.len()..].chars().next())
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::value::json;

    #[test]
    fn rego_values_are_the_ones_regorus_reads_from_json() {
        let value = serde_json::json!({"spec": {"replicas": 3, "ratio": 0.5, "offset": -2,
            "big": 18_446_744_073_709_551_615u64, "items": ["a", null, true, {}, []],
            "empty": {}, "name": "caf\u{e9}"}, "": 0});
        assert_eq!(
            rego_value(&Value::from(value.clone())),
            regorus::Value::from(value)
        );
    }

    #[test]
    fn match_follows_gatekeeper() {
        let deployment = Placed::first(
            "t",
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "e-commerce-prod", "labels": {"app": "web"}}}),
        );
        let labels = Labels::new();
        let kinds = json!({"kinds": [{"apiGroups": ["apps"], "kinds": ["Deployment"]}]});
        assert!(matches(&kinds, &deployment, &labels));
        assert!(matches(&json!({}), &deployment, &labels));
        assert!(!matches(
            &json!({"kinds": [{"apiGroups": [""], "kinds": ["Pod"]}]}),
            &deployment,
            &labels
        ));
        assert!(matches(
            &json!({"namespaces": ["e-commerce-*"]}),
            &deployment,
            &labels
        ));
        assert!(!matches(
            &json!({"namespaces": ["monitoring"]}),
            &deployment,
            &labels
        ));
        assert!(!matches(
            &json!({"excludedNamespaces": ["*-prod"]}),
            &deployment,
            &labels
        ));
        assert!(!matches(&json!({"scope": "Cluster"}), &deployment, &labels));
        assert!(!matches(
            &json!({"labelSelector": {"matchLabels": {"app": "api"}}}),
            &deployment,
            &labels
        ));
    }

    #[test]
    fn violations_are_located_at_the_container_they_name() {
        let deployment = Placed::first(
            "t",
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "ns"},
            "spec": {"template": {"spec": {"containers": [
                {"name": "web", "image": "web:latest"},
                {"name": "web-exporter", "image": "exporter:1"}]}}}}),
        );
        assert_eq!(
            located(&deployment, "container <web> uses image <web:latest>"),
            "spec.template.spec.containers[0].image"
        );
        assert_eq!(
            located(&deployment, "container <web-exporter> runs as root"),
            "spec.template.spec.containers[1]"
        );
        assert_eq!(located(&deployment, "no labels"), "spec.template.spec");
        let redis = Placed::first(
            "t",
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "spec": {"template": {"spec": {"containers": [{"name": "redis", "image": "redis"}]}}}}),
        );
        assert_eq!(
            located(&redis, "container <redis> runs as UID 0"),
            "spec.template.spec.containers[0]"
        );
        assert_eq!(
            located(&redis, "container <redis> uses image <redis>"),
            "spec.template.spec.containers[0].image"
        );
    }

    #[test]
    fn rego_v0_sees_the_review_and_the_parameters() {
        let template = Placed::first(
            "t",
            json!({"apiVersion": "templates.gatekeeper.sh/v1",
            "kind": "ConstraintTemplate", "metadata": {"name": "k8srequiredlabels"},
            "spec": {"crd": {"spec": {"names": {"kind": "K8sRequiredLabels"}}},
                "targets": [{"target": ADMISSION_TARGET, "rego": "package k8srequiredlabels\n\
                    violation[{\"msg\": msg}] {\n\
                      label := input.parameters.labels[_]\n\
                      not input.review.object.metadata.labels[label]\n\
                      msg := sprintf(\"%v <%v> lacks label <%v>\", [input.review.kind.kind, input.review.name, label])\n\
                    }\n"}]}}),
        );
        let mut compiled = compile(&template).expect("compiles").expect("has Rego");
        let object = Placed::first(
            "t",
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "ns", "labels": {"app": "web"}}}),
        );
        let parameters = regorus::Value::from(serde_json::json!({"labels": ["app", "team"]}));
        assert_eq!(
            violations(&mut compiled, &review_of(&object), &parameters),
            ["Deployment <web> lacks label <team>"]
        );
        let broken = Placed::first(
            "t",
            json!({"apiVersion": "templates.gatekeeper.sh/v1",
            "kind": "ConstraintTemplate", "metadata": {"name": "broken"},
            "spec": {"crd": {"spec": {"names": {"kind": "Broken"}}},
                "targets": [{"target": ADMISSION_TARGET, "rego": "package broken\nviolation[{\"msg\": msg}] {"}]}}),
        );
        let Err((field, _)) = compile(&broken) else {
            panic!("unbalanced Rego compiles");
        };
        assert_eq!(field, "spec.targets[0].rego");
    }
}
