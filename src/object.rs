//! Objects stage, shared part: the generic object tree every family produces, the
//! helpers every constructor uses, and kustomize's resource order.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// A Kubernetes object as a generic tree: what templates and typed structs both become.
pub type Object = Value;

/// Serialises a typed object (k8s-openapi) into the generic tree.
pub fn object<T: Serialize>(typed: &T) -> Object {
    serde_json::to_value(typed).expect("k8s-openapi types serialise to JSON")
}

/// Metadata with a name and labels; namespaces are set by the overlay, not here.
pub fn meta(name: impl Into<String>, labels: &BTreeMap<String, String>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        labels: Some(labels.clone()),
        ..Default::default()
    }
}

/// Labels from `(key, value)` pairs.
pub fn labels<const N: usize>(pairs: [(&str, &str); N]) -> BTreeMap<String, String> {
    pairs
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

pub fn api_version(object: &Object) -> &str {
    object["apiVersion"].as_str().unwrap_or_default()
}

pub fn kind(object: &Object) -> &str {
    object["kind"].as_str().unwrap_or_default()
}

pub fn name(object: &Object) -> &str {
    object["metadata"]["name"].as_str().unwrap_or_default()
}

pub fn namespace(object: &Object) -> &str {
    object["metadata"]["namespace"].as_str().unwrap_or_default()
}

/// `group` of an `apiVersion` (`apps/v1` -> `apps`, `v1` -> ``).
pub fn group(object: &Object) -> &str {
    api_version(object)
        .rsplit_once('/')
        .map_or("", |(group, _)| group)
}

/// An object's type: its API group (empty for the core group), version and kind.
pub type Type<'a> = (&'a str, &'a str, &'a str);

/// The [`Type`] of `object`.
pub fn type_of(object: &Object) -> Type<'_> {
    let api_version = api_version(object);
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    (group, version, kind(object))
}

/// `(group, kind, namespace, name)`: what makes an object distinct in a cluster.
pub fn identity(object: &Object) -> (String, String, String, String) {
    (
        group(object).to_owned(),
        kind(object).to_owned(),
        namespace(object).to_owned(),
        name(object).to_owned(),
    )
}

/// Kinds kustomize's legacy order puts first, in that order.
const FIRST: [&str; 22] = [
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];

/// Kinds kustomize's legacy order puts last.
const LAST: [&str; 2] = [
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// Sorts a build as kustomize's default (`legacy`) order does: listed kinds first, then
/// every other kind by group (core last), version and kind, then by `namespace|name`.
pub fn sort(objects: &mut [Object]) {
    objects.sort_by_cached_key(sort_key);
}

pub type SortKey = (u8, usize, bool, String, String, String, bool, String);

pub fn sort_key(object: &Object) -> SortKey {
    let (group, version, kind) = type_of(object);
    let (rank, index) = if let Some(i) = FIRST.iter().position(|k| *k == kind) {
        (0, i)
    } else if let Some(i) = LAST.iter().position(|k| *k == kind) {
        (2, i)
    } else {
        (1, 0)
    };
    let ns = namespace(object);
    (
        rank,
        index,
        group.is_empty(),
        group.to_owned(),
        version.to_owned(),
        kind.to_owned(),
        ns.is_empty(),
        format!("{ns}|{}", name(object)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(api: &str, kind: &str, ns: &str, name: &str) -> Object {
        json!({"apiVersion": api, "kind": kind, "metadata": {"name": name, "namespace": ns}})
    }

    #[test]
    fn legacy_order() {
        let mut objects = vec![
            obj("v1", "Pod", "a", "p"),
            obj("networking.k8s.io/v1", "NetworkPolicy", "a", "n"),
            obj("apps/v1", "Deployment", "a", "d"),
            obj("v1", "Namespace", "", "a"),
            obj(
                "admissionregistration.k8s.io/v1",
                "ValidatingWebhookConfiguration",
                "",
                "w",
            ),
            obj("autoscaling/v2", "HorizontalPodAutoscaler", "a", "h"),
            obj("v1", "Service", "b", "s"),
            obj("v1", "Service", "a", "s"),
        ];
        sort(&mut objects);
        let order: Vec<String> = objects
            .iter()
            .map(|o| format!("{}/{}/{}", kind(o), namespace(o), name(o)))
            .collect();
        assert_eq!(
            order,
            [
                "Namespace//a",
                "Service/a/s",
                "Service/b/s",
                "Deployment/a/d",
                "HorizontalPodAutoscaler/a/h",
                "NetworkPolicy/a/n",
                "Pod/a/p",
                "ValidatingWebhookConfiguration//w",
            ]
        );
    }
}
