//! Layout stage: the kustomize tree as data (which file of which kustomization holds
//! each object or patch), and the build of one kustomization exactly as kustomize
//! performs it: resources, then patches, then `namespace:`, then `images:`, then sort.
//!
//! `platgen build` runs this build; `platgen write` emits the same data as files for
//! `kubectl kustomize`. Both read one `Tree`, so they agree by construction; the
//! integration tests prove it against the real kustomize.

use crate::object::{self, Object};
use serde_json::{Map, Value};

/// One YAML file of a kustomization: its path inside the kustomization's folder.
#[derive(Debug, Clone)]
pub struct File {
    pub path: String,
    pub objects: Vec<Object>,
}

impl File {
    pub fn new(path: impl Into<String>, objects: Vec<Object>) -> File {
        File {
            path: path.into(),
            objects,
        }
    }
}

/// `images:` entry: every container image named `name` gets `new_tag`.
#[derive(Debug, Clone)]
pub struct ImageTag {
    pub name: String,
    pub new_tag: String,
}

/// One kustomization folder of the tree.
#[derive(Debug, Clone, Default)]
pub struct Kustomization {
    /// Folder relative to the tree root: `base`, `overlays/production`, `manifests/monitoring`.
    pub dir: String,
    /// Other kustomizations of the tree it builds on (tree-root relative folders).
    pub bases: Vec<String>,
    pub namespace: Option<String>,
    pub resources: Vec<File>,
    /// Strategic merge patches; each document patches the object of the same kind and name.
    pub patches: Vec<File>,
    pub images: Vec<ImageTag>,
}

/// The whole tree `platgen write` lays out.
#[derive(Debug, Clone, Default)]
pub struct Tree {
    pub kustomizations: Vec<Kustomization>,
}

impl Tree {
    pub fn get(&self, dir: &str) -> Option<&Kustomization> {
        self.kustomizations.iter().find(|k| k.dir == dir)
    }

    /// What `kubectl kustomize <root>/<dir>` prints, as objects in kustomize's order.
    pub fn build(&self, dir: &str) -> Vec<Object> {
        let mut objects = self.accumulate(dir);
        object::sort(&mut objects);
        objects
    }

    fn accumulate(&self, dir: &str) -> Vec<Object> {
        let k = self
            .get(dir)
            .unwrap_or_else(|| panic!("the tree has no kustomization `{dir}`"));
        let mut objects: Vec<Object> = k.bases.iter().flat_map(|b| self.accumulate(b)).collect();
        objects.extend(k.resources.iter().flat_map(|f| f.objects.iter().cloned()));
        for patch in k.patches.iter().flat_map(|f| &f.objects) {
            let target = objects
                .iter_mut()
                .find(|o| same_target(o, patch))
                .unwrap_or_else(|| {
                    panic!(
                        "patch {} {} matches nothing",
                        object::kind(patch),
                        object::name(patch)
                    )
                });
            merge(target, patch);
        }
        if let Some(ns) = &k.namespace {
            for o in &mut objects {
                set_namespace(o, ns);
            }
        }
        for image in &k.images {
            for o in &mut objects {
                retag(o, image);
            }
        }
        objects
    }
}

fn same_target(object: &Object, patch: &Object) -> bool {
    object::kind(object) == object::kind(patch)
        && object::name(object) == object::name(patch)
        && object::namespace(object) == object::namespace(patch)
}

/// Kinds kustomize's namespace transformer leaves alone (Namespace itself is renamed).
const CLUSTER_SCOPED: [&str; 9] = [
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "PersistentVolume",
    "StorageClass",
    "PriorityClass",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "IngressClass",
];

fn set_namespace(object: &mut Object, namespace: &str) {
    let kind = object::kind(object);
    if CLUSTER_SCOPED.contains(&kind) {
        return;
    }
    let key = if kind == "Namespace" {
        "name"
    } else {
        "namespace"
    };
    object["metadata"][key] = Value::String(namespace.to_owned());
}

/// The key that identifies items of a list when a strategic merge patch merges it,
/// for the lists platgen patches (from the Kubernetes API's patch strategies).
fn merge_key(field: &str) -> Option<&'static str> {
    match field {
        "containers" | "initContainers" | "env" | "volumes" | "imagePullSecrets" => Some("name"),
        "volumeMounts" => Some("mountPath"),
        "ports" => Some("containerPort"),
        _ => None,
    }
}

/// Strategic merge: maps merge per key, `null` deletes, keyed lists merge item by item
/// (patch items first, in patch order, then the untouched originals), other lists are replaced.
pub fn merge(target: &mut Value, patch: &Value) {
    let (Value::Object(target), Value::Object(patch)) = (target, patch) else {
        return;
    };
    for (key, value) in patch {
        match (target.get_mut(key), value) {
            (_, Value::Null) => {
                target.remove(key);
            }
            (Some(t @ Value::Object(_)), Value::Object(_)) => merge(t, value),
            (Some(Value::Array(t)), Value::Array(p)) if merge_key(key).is_some() => {
                *t = merge_list(std::mem::take(t), p, merge_key(key).unwrap_or_default());
            }
            _ => {
                target.insert(key.clone(), without_nulls(value));
            }
        }
    }
}

fn merge_list(original: Vec<Value>, patch: &[Value], key: &str) -> Vec<Value> {
    let mut remaining: Vec<Option<Value>> = original.into_iter().map(Some).collect();
    let mut merged = Vec::with_capacity(remaining.len() + patch.len());
    for item in patch {
        let found = remaining
            .iter_mut()
            .find(|o| o.as_ref().is_some_and(|o| o.get(key) == item.get(key)));
        match found.and_then(Option::take) {
            Some(mut original) => {
                merge(&mut original, item);
                merged.push(original);
            }
            None => merged.push(without_nulls(item)),
        }
    }
    merged.extend(remaining.into_iter().flatten());
    merged
}

fn without_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect::<Map<_, _>>(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

/// The images transformer: rewrites the tag of every container image named `image.name`.
fn retag(value: &mut Value, image: &ImageTag) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if key == "containers" || key == "initContainers" {
                    for container in child.as_array_mut().into_iter().flatten() {
                        if let Some(Value::String(current)) = container.get_mut("image") {
                            if image_name(current) == image.name {
                                *current = format!("{}:{}", image.name, image.new_tag);
                            }
                        }
                    }
                } else {
                    retag(child, image);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| retag(i, image)),
        _ => {}
    }
}

/// `registry:5000/app:1.0` -> `registry:5000/app` (a port is not a tag).
fn image_name(image: &str) -> &str {
    let image = image.split('@').next().unwrap_or(image);
    match image.rfind(':') {
        Some(i) if !image[i..].contains('/') => &image[..i],
        _ => image,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keyed_lists_put_patch_items_first() {
        let mut target =
            json!({"volumes": [{"name": "data", "emptyDir": {}}, {"name": "tmp", "emptyDir": {}}]});
        merge(
            &mut target,
            &json!({"volumes": [{"name": "tmp", "emptyDir": null, "persistentVolumeClaim": {"claimName": "c"}}]}),
        );
        assert_eq!(
            target,
            json!({"volumes": [{"name": "tmp", "persistentVolumeClaim": {"claimName": "c"}}, {"name": "data", "emptyDir": {}}]})
        );
    }

    #[test]
    fn null_deletes_and_plain_lists_are_replaced() {
        let mut target = json!({"spec": {"replicas": 2, "args": ["a", "b"]}});
        merge(
            &mut target,
            &json!({"spec": {"replicas": null, "args": ["c"]}}),
        );
        assert_eq!(target, json!({"spec": {"args": ["c"]}}));
    }

    #[test]
    fn image_names_ignore_registry_ports_and_digests() {
        assert_eq!(image_name("reg:5000/a/b:1.2"), "reg:5000/a/b");
        assert_eq!(image_name("reg:5000/a/b"), "reg:5000/a/b");
        assert_eq!(image_name("a@sha256:00"), "a");
    }
}
