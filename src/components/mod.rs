//! Descriptor and objects stages of the shared components (messaging, monitoring,
//! security, argocd): their settings in the catalog and their kustomizations.
//!
//! Each component is one folder `manifests/<name>` with no kustomize `namespace:`:
//! every namespaced object carries its own `metadata.namespace`, cluster-scoped ones
//! none. One module per family builds the files of its folder.

pub mod argocd;
pub mod messaging;
pub mod monitoring;
pub mod security;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::networking::v1::{
    NetworkPolicyEgressRule, NetworkPolicyPeer, NetworkPolicyPort,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::descriptor::{Catalog, PodSecurity};
use crate::error::Result;
use crate::model::Project;
use crate::object::{Object, labels, object};
use crate::template::Templates;
use crate::tree::Kustomization;

/// The shared components, each a target built from `manifests/<name>`.
pub const NAMES: [&str; 4] = [MESSAGING, MONITORING, SECURITY, ARGOCD];

pub const MESSAGING: &str = "messaging";
pub const MONITORING: &str = "monitoring";
pub const SECURITY: &str = "security";
pub const ARGOCD: &str = "argocd";

/// The `components` section of the catalog: every figure of the shared components a
/// platform team would change (images, sizes, receivers, chart versions, ...).
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Settings {
    pub messaging: messaging::Settings,
    pub monitoring: monitoring::Settings,
    pub security: security::Settings,
    pub argocd: argocd::Settings,
}

/// Pod Security admission of a component's namespace: `enforce` is what admission
/// rejects, `warn` (also used for `audit`) what it reports, so that a namespace that
/// must admit one privileged workload still reports every other deviation.
#[derive(Debug, Clone, Copy, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PodSecurityLabels {
    pub enforce: PodSecurity,
    pub warn: PodSecurity,
}

/// The kustomization of the component `name` (one of `NAMES`) of `cluster`, rendering
/// only it: ArgoCD's own cluster's in `manifests/<name>`, another cluster's in
/// `clusters/<cluster>/<name>`, each seeing only the environments of its cluster. The
/// argocd folder of another cluster holds the Applications that deploy to it (they live
/// in ArgoCD's own cluster).
pub fn kustomization(
    project: &Project,
    templates: &Templates,
    cluster: &str,
    name: &str,
) -> Result<Kustomization> {
    let scoped = project.scoped(cluster);
    let management = project.management().name == cluster;
    let resources = match name {
        MESSAGING => messaging::files(&scoped, templates)?,
        MONITORING => monitoring::files(&scoped, templates)?,
        SECURITY => security::files(&scoped, templates)?,
        ARGOCD if management => argocd::files(project, templates)?,
        ARGOCD => argocd::cluster_files(project, templates, cluster)?,
        _ => unreachable!("`{name}` is not a shared component"),
    };
    Ok(Kustomization {
        dir: component_dir(project, cluster, name),
        resources,
        ..Default::default()
    })
}

/// The folder of the component `name` of `cluster`.
pub fn component_dir(project: &Project, cluster: &str, name: &str) -> String {
    if project.management().name == cluster {
        crate::objects::component_dir(name)
    } else {
        format!("clusters/{cluster}/{name}")
    }
}

/// The target of the component `name` of `cluster`: `<name>` on ArgoCD's own cluster,
/// `<cluster>/<name>` on another.
pub fn target_name(project: &Project, cluster: &str, name: &str) -> String {
    if project.management().name == cluster {
        name.to_owned()
    } else {
        format!("{cluster}/{name}")
    }
}

/// The cluster and component a component target names (see [`target_name`]).
pub fn of_target<'p>(project: &'p Project, target: &'p str) -> (&'p str, &'p str) {
    target
        .split_once('/')
        .unwrap_or((project.management().name, target))
}

/// One kustomization per shared component of every cluster that has them (ArgoCD's own,
/// then each other cluster hosting an environment), in `NAMES` order.
pub fn kustomizations(project: &Project, templates: &Templates) -> Result<Vec<Kustomization>> {
    let mut all = Vec::new();
    for site in sites(project) {
        for name in NAMES {
            all.push(kustomization(project, templates, site, name)?);
        }
    }
    Ok(all)
}

/// The clusters with shared components: ArgoCD's own, then each other one that hosts an
/// environment.
pub fn sites(project: &Project) -> Vec<&str> {
    let mut sites = vec![project.management().name];
    sites.extend(project.remote_sites().iter().map(|s| s.name));
    sites
}

/// Labels of every object of a component: the platform's, plus which component owns it.
pub fn component_labels(catalog: &Catalog, component: &str) -> BTreeMap<String, String> {
    let mut l = labels([
        ("app.kubernetes.io/part-of", catalog.platform.name.as_str()),
        ("app.kubernetes.io/component", component),
    ]);
    l.extend(catalog.platform.labels.clone());
    l
}

/// Labels of one workload of a component: the component's plus `app.kubernetes.io/name`.
pub fn workload_labels(catalog: &Catalog, component: &str, name: &str) -> BTreeMap<String, String> {
    let mut l = component_labels(catalog, component);
    l.insert("app.kubernetes.io/name".into(), name.into());
    l
}

/// Metadata with an explicit namespace (`None` for cluster-scoped objects).
pub fn metadata(
    name: impl Into<String>,
    namespace: Option<&str>,
    labels: &BTreeMap<String, String>,
) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        namespace: namespace.map(str::to_owned),
        labels: Some(labels.clone()),
        ..Default::default()
    }
}

/// A component's namespace with its Pod Security admission labels.
pub fn namespace(
    name: &str,
    security: PodSecurityLabels,
    labels: &BTreeMap<String, String>,
) -> Object {
    let mut l = labels.clone();
    l.extend([
        (
            "pod-security.kubernetes.io/enforce".to_owned(),
            security.enforce.as_str().to_owned(),
        ),
        (
            "pod-security.kubernetes.io/audit".to_owned(),
            security.warn.as_str().to_owned(),
        ),
        (
            "pod-security.kubernetes.io/warn".to_owned(),
            security.warn.as_str().to_owned(),
        ),
    ]);
    object(&Namespace {
        metadata: metadata(name, None, &l),
        ..Default::default()
    })
}

/// The app namespace of every environment, in the project's (name) order (of a scoped
/// project: every environment of its cluster).
pub fn environment_namespaces(project: &Project) -> Vec<String> {
    project
        .environments
        .iter()
        .map(|e| e.namespace.to_string())
        .collect()
}

/// The namespace label Kubernetes sets on every namespace itself.
pub const NAMESPACE_LABEL: &str = "kubernetes.io/metadata.name";

/// A selector matching exactly these labels.
pub fn selector(pairs: BTreeMap<String, String>) -> LabelSelector {
    LabelSelector {
        match_labels: Some(pairs),
        ..Default::default()
    }
}

/// Pods of another namespace (all of them, or those with `pods` labels).
pub fn in_namespace(namespace: &str, pods: Option<BTreeMap<String, String>>) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        namespace_selector: Some(selector(labels([(NAMESPACE_LABEL, namespace)]))),
        pod_selector: pods.map(selector),
        ..Default::default()
    }
}

/// Pods of the policy's own namespace with these labels.
pub fn local_pods(pods: BTreeMap<String, String>) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        pod_selector: Some(selector(pods)),
        ..Default::default()
    }
}

pub fn tcp(port: u16) -> NetworkPolicyPort {
    NetworkPolicyPort {
        protocol: Some("TCP".into()),
        port: Some(IntOrString::Int(i32::from(port))),
        ..Default::default()
    }
}

pub fn udp(port: u16) -> NetworkPolicyPort {
    NetworkPolicyPort {
        protocol: Some("UDP".into()),
        ..tcp(port)
    }
}

pub fn tcp_range((from, to): (u16, u16)) -> NetworkPolicyPort {
    NetworkPolicyPort {
        end_port: Some(i32::from(to)),
        ..tcp(from)
    }
}

/// Egress to the cluster DNS (kube-system's kube-dns pods), as the environments allow it.
pub fn dns_egress() -> NetworkPolicyEgressRule {
    NetworkPolicyEgressRule {
        to: Some(vec![in_namespace(
            "kube-system",
            Some(labels([("k8s-app", "kube-dns")])),
        )]),
        ports: Some(vec![udp(53), tcp(53)]),
    }
}

/// One key of a Secret delivered by an ExternalSecret: where Vault keeps it.
#[derive(Debug, Clone, Serialize)]
pub struct SecretKey {
    pub secret_key: String,
    pub remote_key: String,
    pub property: String,
}

#[derive(Serialize)]
struct ExternalSecretContext<'a> {
    name: &'a str,
    namespace: &'a str,
    labels: &'a BTreeMap<String, String>,
    refresh_interval: &'a str,
    store: &'a str,
    data: &'a [SecretKey],
    /// Keys of the Secret built from the data with ESO's template engine (the data keys
    /// themselves are then not in the Secret).
    template: Option<&'a BTreeMap<String, String>>,
}

/// An ExternalSecret of a component: the Secret `name` in `namespace`, read through the
/// catalog's ClusterSecretStore, so that no Secret with data is ever in Git.
pub fn external_secret(
    catalog: &Catalog,
    templates: &Templates,
    name: &str,
    namespace: &str,
    labels: &BTreeMap<String, String>,
    data: &[SecretKey],
) -> Result<Vec<Object>> {
    templated_external_secret(catalog, templates, name, namespace, labels, data, None)
}

/// [`external_secret`] whose Secret holds `template`'s keys, each an ESO template (Go
/// text/template with Sprig) over the data keys: a value derived from Vault's, such as a
/// URL with a password escaped for it, without the raw value reaching the pod.
pub fn templated_external_secret(
    catalog: &Catalog,
    templates: &Templates,
    name: &str,
    namespace: &str,
    labels: &BTreeMap<String, String>,
    data: &[SecretKey],
    template: Option<&BTreeMap<String, String>>,
) -> Result<Vec<Object>> {
    templates.objects(
        "components/external-secret.yaml.j2",
        &ExternalSecretContext {
            name,
            namespace,
            labels,
            refresh_interval: &catalog.security.refresh_interval,
            store: catalog.security.secret_store.as_str(),
            data,
            template,
        },
    )
}

/// Vault path of a component's own secret: `<prefix>/<component>/<secret>`, beside the
/// environments' `<prefix>/<environment>/<secret>`.
pub fn vault_key(catalog: &Catalog, component: &str, secret: &str) -> String {
    format!("{}/{component}/{secret}", catalog.security.vault_prefix)
}

/// FNV-1a (64 bit) of a text, as 16 hex digits: a stable fingerprint of generated
/// configuration, put on pod templates so that a changed ConfigMap rolls its pods.
pub fn fingerprint(text: &str) -> String {
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_is_fnv1a() {
        // Reference values of the FNV-1a 64-bit test suite.
        assert_eq!(fingerprint(""), "cbf29ce484222325");
        assert_eq!(fingerprint("a"), "af63dc4c8601ec8c");
    }
}
