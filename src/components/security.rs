//! Objects stage, security component: the cluster-scoped security pieces (the seed's
//! "Security Layer"): cert-manager ClusterIssuers, the Vault ClusterSecretStore every
//! ExternalSecret reads from, OPA Gatekeeper policies and the seed's ClusterRoles.
//!
//! The namespaced pieces (default-deny NetworkPolicies, RoleBindings, ExternalSecrets)
//! belong to each environment's build. There is no `network-policies.yaml` here: the
//! seed's Cilium policies would need Cilium as the cluster's CNI, which nothing in the
//! platform installs, and every standard NetworkPolicy is namespaced.

use k8s_openapi::api::rbac::v1::{AggregationRule, ClusterRole, PolicyRule};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::{SECURITY, component_labels, environment_namespaces, metadata};
use crate::descriptor::{Access, Catalog, Role};
use crate::error::Result;
use crate::model::Project;
use crate::object::{Object, object};
use crate::scalar::Name;
use crate::template::Templates;
use crate::tree::File;

/// `components.security` of the catalog.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Settings {
    pub acme: Acme,
    pub vault: Vault,
    pub policies: Policies,
    /// What a `read-only` role may get, list and watch (Secrets deliberately absent).
    pub read_only: Vec<ResourceRule>,
    /// Label of the ClusterRoles a `full` role aggregates: Kubernetes' namespace-admin
    /// set (`rbac.authorization.k8s.io/aggregate-to-admin`), which grows with every CRD
    /// that opts in, with no wildcard rule (no bind, escalate or impersonate).
    pub full_access_aggregate: String,
}

/// Let's Encrypt (ACME) account and the issuers environments name in `clusterIssuer`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Acme {
    pub email: String,
    pub issuers: Vec<Issuer>,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Issuer {
    pub name: Name,
    pub server: String,
}

/// The HashiCorp Vault behind the ClusterSecretStore.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Vault {
    pub server: String,
    /// Mount of the key/value engine.
    pub path: String,
    /// Version of the key/value engine (`v1` or `v2`).
    pub version: String,
    /// Mount of Vault's Kubernetes auth method and the Vault role bound to the operator.
    pub auth_mount_path: String,
    pub role: String,
    /// ServiceAccount of the External Secrets Operator (in its chart's namespace).
    pub service_account: Name,
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Policies {
    /// Gatekeeper's `enforcementAction`: `deny`, `dryrun` or `warn`.
    pub enforcement_action: EnforcementAction,
    /// Resource fields every container must set, as `requests.cpu` or `limits.memory`.
    pub required_resources: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum EnforcementAction {
    Deny,
    Dryrun,
    Warn,
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ResourceRule {
    pub api_groups: Vec<String>,
    pub resources: Vec<String>,
}

/// The constraint kind that refuses unpinned images.
const LATEST_TAG_POLICY: &str = "K8sDisallowLatestTag";

/// Gatekeeper policies of the platform: template file, constraint kind, constraint name.
const POLICIES: [(&str, &str, &str); 3] = [
    ("disallow-latest-tag", LATEST_TAG_POLICY, "no-latest-images"),
    (
        "require-resources",
        "K8sRequiredResources",
        "containers-have-resources",
    ),
    (
        "require-non-root",
        "K8sRequireNonRoot",
        "containers-run-as-non-root",
    ),
];

/// `manifests/security`.
pub fn files(project: &Project, templates: &Templates) -> Result<Vec<File>> {
    let catalog = &project.catalog;
    Ok(vec![
        File::new("cluster-issuers.yaml", cluster_issuers(catalog, templates)?),
        File::new("external-secrets.yaml", secret_store(project, templates)?),
        File::new("policies.yaml", policies(project, templates)?),
        File::new("rbac.yaml", cluster_roles(catalog)),
    ])
}

#[derive(Serialize)]
struct IssuerContext<'a> {
    issuer: &'a Issuer,
    email: &'a str,
    labels: &'a BTreeMap<String, String>,
    ingress_class: &'a str,
}

/// One ACME ClusterIssuer per configured Let's Encrypt endpoint, solving HTTP-01
/// challenges through the Traefik ingress class.
fn cluster_issuers(catalog: &Catalog, templates: &Templates) -> Result<Vec<Object>> {
    let settings = &catalog.components.security.acme;
    let l = component_labels(catalog, SECURITY);
    let mut objects = Vec::new();
    for issuer in &settings.issuers {
        objects.extend(templates.objects(
            "components/security/cluster-issuer.yaml.j2",
            &IssuerContext {
                issuer,
                email: &settings.email,
                labels: &l,
                ingress_class: &catalog.ingress.class_name,
            },
        )?);
    }
    Ok(objects)
}

#[derive(Serialize)]
struct StoreContext<'a> {
    name: &'a str,
    labels: &'a BTreeMap<String, String>,
    vault: &'a Vault,
    operator_namespace: &'a str,
    namespaces: Vec<String>,
}

/// The ClusterSecretStore `vault-backend`, usable only from the namespaces that hold
/// ExternalSecrets: every environment's of its cluster and the monitoring component's
/// (on ArgoCD's own cluster, ArgoCD's for the other clusters' registrations). Vault
/// checks the operator's token against one cluster per auth mount: each cluster has its
/// own.
fn secret_store(project: &Project, templates: &Templates) -> Result<Vec<Object>> {
    let catalog = &project.catalog;
    let site = project.site();
    let mut namespaces = environment_namespaces(project);
    namespaces.push(catalog.security.monitoring_namespace.to_string());
    if site.management && !project.remote_sites().is_empty() {
        namespaces.push(catalog.components.argocd.namespace.to_string());
    }
    let mut vault = catalog.components.security.vault.clone();
    let mount = site.spec.and_then(|c| c.vault_auth_mount_path.clone());
    if let Some(mount) = mount {
        vault.auth_mount_path = mount;
    } else if !site.management {
        vault.auth_mount_path = format!("{}-{}", vault.auth_mount_path, site.name);
    }
    templates.objects(
        "components/security/cluster-secret-store.yaml.j2",
        &StoreContext {
            name: catalog.security.secret_store.as_str(),
            labels: &component_labels(catalog, SECURITY),
            vault: &vault,
            operator_namespace: catalog
                .components
                .argocd
                .charts
                .external_secrets
                .namespace(),
            namespaces,
        },
    )
}

#[derive(Serialize)]
struct PolicyContext<'a> {
    template: String,
    kind: &'a str,
    name: &'a str,
    labels: &'a BTreeMap<String, String>,
    enforcement_action: EnforcementAction,
    namespaces: &'a [String],
    required_resources: &'a [String],
}

/// Each Gatekeeper ConstraintTemplate (real Rego) with its constraint, scoped to the
/// environments' namespaces: no `:latest` or untagged image (except in environments that
/// set `allowUnpinnedImages`, as `platgen validate` does), requests and limits on every
/// container, no container running as root.
fn policies(project: &Project, templates: &Templates) -> Result<Vec<Object>> {
    let catalog = &project.catalog;
    let settings = &catalog.components.security.policies;
    let l = component_labels(catalog, SECURITY);
    let every = environment_namespaces(project);
    let pinned: Vec<String> = (project.environments.iter())
        .filter(|e| !e.allow_unpinned_images)
        .map(|e| e.namespace.to_string())
        .collect();
    let mut objects = Vec::new();
    for (file, kind, name) in POLICIES {
        let namespaces = if kind == LATEST_TAG_POLICY {
            &pinned
        } else {
            &every
        };
        // Gatekeeper reads an empty `namespaces` as every namespace: no constraint then.
        if namespaces.is_empty() {
            continue;
        }
        objects.extend(templates.objects(
            &format!("components/security/policies/{file}.yaml.j2"),
            &PolicyContext {
                template: kind.to_lowercase(),
                kind,
                name,
                labels: &l,
                enforcement_action: settings.enforcement_action,
                namespaces,
                required_resources: &settings.required_resources,
            },
        )?);
    }
    Ok(objects)
}

/// The ClusterRole of one of the seed's roles, `<platform>-<role>`: the bare names would
/// replace Kubernetes' own aggregated `admin` ClusterRole (and claim `operator` and
/// `developer` for the whole cluster).
pub fn cluster_role_name(catalog: &Catalog, role: &Role) -> String {
    format!("{}-{}", catalog.platform.name, role.name)
}

/// The seed's roles as ClusterRoles, bound per namespace by each environment's
/// RoleBindings (no ClusterRoleBinding: no role reaches every namespace). `read-only`:
/// get, list and watch on the catalog's namespaced resources; `full`: everything
/// Kubernetes' namespace admin may do.
fn cluster_roles(catalog: &Catalog) -> Vec<Object> {
    let l = component_labels(catalog, SECURITY);
    let settings = &catalog.components.security;
    catalog
        .security
        .roles
        .iter()
        .map(|role| {
            let metadata = metadata(cluster_role_name(catalog, role), None, &l);
            match role.access {
                Access::ReadOnly => object(&ClusterRole {
                    metadata,
                    rules: Some(
                        settings
                            .read_only
                            .iter()
                            .map(|rule| PolicyRule {
                                api_groups: Some(rule.api_groups.clone()),
                                resources: Some(rule.resources.clone()),
                                verbs: ["get", "list", "watch"].map(String::from).to_vec(),
                                ..Default::default()
                            })
                            .collect(),
                    ),
                    ..Default::default()
                }),
                // No `rules`: the aggregation controller fills them in.
                Access::Full => object(&ClusterRole {
                    metadata,
                    aggregation_rule: Some(AggregationRule {
                        cluster_role_selectors: Some(vec![LabelSelector {
                            match_labels: Some(BTreeMap::from([(
                                settings.full_access_aggregate.clone(),
                                "true".to_owned(),
                            )])),
                            ..Default::default()
                        }]),
                    }),
                    ..Default::default()
                }),
            }
        })
        .collect()
}
