//! Objects stage, argocd component: the GitOps layer (seed: "GitOps with ArgoCD").
//!
//! - `argocd-install.yaml`: the `argocd` namespace and ArgoCD itself as an Application of
//!   its Helm chart, so that ArgoCD manages its own upgrades;
//! - `operators.yaml`: an Application per operator the platform relies on (Traefik,
//!   cert-manager, External Secrets, Gatekeeper, the RabbitMQ cluster operator,
//!   kube-prometheus-stack for the Prometheus operator, the Jaeger operator), each a Helm
//!   chart at a pinned version, nothing fetched at build time;
//! - `applications.yaml`: the AppProject, an Application per shared component (this one
//!   included: it is the root "app of apps") and one per environment.
//!
//! Sync waves order a bootstrap from Git alone: operators and their CRDs first, then the
//! security component (issuers, secret store, policies), then the other components, then
//! the environments. Bootstrapping a new cluster is: install the argo-cd chart once by
//! hand (same release name and namespace), then `kubectl apply -k manifests/argocd`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::{
    ARGOCD, MESSAGING, MONITORING, NAMES, PodSecurityLabels, SECURITY, component_labels,
    environment_namespaces, namespace,
};
use crate::descriptor::{Catalog, EnvironmentFile, Sync};
use crate::error::Result;
use crate::model::Project;
use crate::object::Object;
use crate::scalar::Name;
use crate::template::Templates;
use crate::tree::File;

/// `components.argocd` of the catalog.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Settings {
    /// Namespace of ArgoCD and of every Application and AppProject.
    pub namespace: Name,
    pub pod_security: PodSecurityLabels,
    /// The AppProject every Application of the platform belongs to.
    pub project: Name,
    /// The cluster the Applications deploy to.
    pub server: String,
    pub waves: Waves,
    /// Sync policy of the shared components' Applications (environments have their own).
    pub component_sync: Sync,
    /// Sync policy of the operators' Applications.
    pub operator_sync: Sync,
    /// Retries of a failed sync (operators and components: a CRD may arrive late).
    pub retry: Retry,
    pub charts: Charts,
}

/// `argocd.argoproj.io/sync-wave` of each group of Applications (lower syncs first).
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Waves {
    pub security: i32,
    pub components: i32,
    pub environments: i32,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Retry {
    pub limit: i32,
    pub backoff: Backoff,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Backoff {
    pub duration: String,
    pub factor: i32,
    pub max_duration: String,
}

/// The Helm charts of the operators the seed assumes, each at a pinned version.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Charts {
    /// ArgoCD itself; its namespace is `components.argocd.namespace`.
    pub argo_cd: Chart,
    /// The ingress controller; its namespace is `security.ingressNamespace`.
    pub traefik: Chart,
    pub cert_manager: Chart,
    pub external_secrets: Chart,
    pub gatekeeper: Chart,
    pub rabbitmq_operator: Chart,
    /// kube-prometheus-stack, for the Prometheus operator, node exporter and kube-state-metrics.
    pub prometheus_operator: Chart,
    pub jaeger_operator: Chart,
}

impl Charts {
    /// Every chart, ArgoCD first.
    pub fn all(&self) -> [&Chart; 8] {
        [
            &self.argo_cd,
            &self.traefik,
            &self.cert_manager,
            &self.external_secrets,
            &self.gatekeeper,
            &self.rabbitmq_operator,
            &self.prometheus_operator,
            &self.jaeger_operator,
        ]
    }
}

/// One Helm chart installed by an Application.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Chart {
    /// Name of the Application (and Helm release, unless `releaseName` says otherwise).
    pub name: Name,
    /// Helm repository URL.
    pub repository: String,
    pub chart: String,
    pub version: String,
    pub namespace: Name,
    #[serde(default)]
    pub release_name: Option<Name>,
    pub wave: i32,
    /// Pod Security labels of the namespace ArgoCD creates for the chart; none where a
    /// component owns the namespace object.
    #[serde(default)]
    pub pod_security: Option<PodSecurityLabels>,
    /// Helm values (`valuesObject`), as the chart documents them.
    #[serde(default)]
    pub values: Option<serde_json::Value>,
}

impl Chart {
    pub fn namespace(&self) -> &str {
        self.namespace.as_str()
    }
}

/// `manifests/argocd`.
pub fn files(project: &Project, templates: &Templates) -> Result<Vec<File>> {
    let catalog = &project.catalog;
    let settings = &catalog.components.argocd;
    let l = component_labels(catalog, ARGOCD);
    let mut install = vec![namespace(
        settings.namespace.as_str(),
        settings.pod_security,
        &l,
    )];
    install.extend(chart_application(
        catalog,
        templates,
        &settings.charts.argo_cd,
    )?);
    let mut operators = Vec::new();
    for chart in &settings.charts.all()[1..] {
        operators.extend(chart_application(catalog, templates, chart)?);
    }
    let mut applications = app_project(project, templates)?;
    for component in NAMES {
        applications.extend(component_application(catalog, templates, component)?);
    }
    for env in &project.environments {
        applications.extend(environment_application(catalog, templates, env)?);
    }
    Ok(vec![
        File::new("argocd-install.yaml", install),
        File::new("operators.yaml", operators),
        File::new("applications.yaml", applications),
    ])
}

/// The Application of the Git-sourced folder `path` or of a Helm chart.
#[derive(Serialize)]
struct Source<'a> {
    #[serde(rename = "repoURL")]
    repo_url: &'a str,
    #[serde(rename = "targetRevision")]
    target_revision: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    chart: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    helm: Option<Helm<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Helm<'a> {
    release_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    values_object: Option<serde_json::Value>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SyncPolicy<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    automated: Option<Automated>,
    sync_options: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    managed_namespace_metadata: Option<ManagedNamespace>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry: Option<&'a Retry>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Automated {
    prune: bool,
    self_heal: bool,
}

#[derive(Serialize)]
struct ManagedNamespace {
    labels: BTreeMap<String, String>,
}

impl<'a> SyncPolicy<'a> {
    /// Automated (with prune and self-heal as the descriptor says) or manual: no
    /// `automated` block at all, so nothing syncs without a person.
    fn from(
        sync: &Sync,
        sync_options: Vec<&'static str>,
        retry: Option<&'a Retry>,
    ) -> SyncPolicy<'a> {
        SyncPolicy {
            automated: sync.automated.then_some(Automated {
                prune: sync.prune,
                self_heal: sync.self_heal,
            }),
            sync_options,
            managed_namespace_metadata: None,
            retry,
        }
    }
}

#[derive(Serialize)]
struct ApplicationContext<'a> {
    name: &'a str,
    namespace: &'a str,
    labels: &'a BTreeMap<String, String>,
    wave: String,
    project: &'a str,
    source: Source<'a>,
    server: &'a str,
    destination: &'a str,
    sync_policy: SyncPolicy<'a>,
}

fn application(templates: &Templates, context: &ApplicationContext) -> Result<Vec<Object>> {
    templates.objects("components/argocd/application.yaml.j2", context)
}

/// A chart's Application: server-side apply (large CRDs exceed the client-side
/// annotation limit), its namespace created and labelled for Pod Security.
fn chart_application(
    catalog: &Catalog,
    templates: &Templates,
    chart: &Chart,
) -> Result<Vec<Object>> {
    let settings = &catalog.components.argocd;
    let mut sync_policy = SyncPolicy::from(
        &settings.operator_sync,
        vec!["CreateNamespace=true", "ServerSideApply=true"],
        Some(&settings.retry),
    );
    sync_policy.managed_namespace_metadata = chart.pod_security.map(|level| ManagedNamespace {
        labels: pod_security_labels(level),
    });
    application(
        templates,
        &ApplicationContext {
            name: chart.name.as_str(),
            namespace: settings.namespace.as_str(),
            labels: &component_labels(catalog, ARGOCD),
            wave: chart.wave.to_string(),
            project: settings.project.as_str(),
            source: Source {
                repo_url: &chart.repository,
                target_revision: &chart.version,
                path: None,
                chart: Some(&chart.chart),
                helm: Some(Helm {
                    release_name: chart.release_name.as_ref().unwrap_or(&chart.name).as_str(),
                    values_object: chart_values(catalog, chart),
                }),
            },
            server: &settings.server,
            destination: chart.namespace(),
            sync_policy,
        },
    )
}

/// A chart's values: the catalog's, and for the ingress controller the values the
/// platform's middlewares rely on (merged over the catalog's).
fn chart_values(catalog: &Catalog, chart: &Chart) -> Option<serde_json::Value> {
    if !std::ptr::eq(chart, &catalog.components.argocd.charts.traefik) {
        return chart.values.clone();
    }
    let mut values = chart
        .values
        .clone()
        .unwrap_or_else(|| serde_json::json!({}));
    merge(
        &mut values,
        crate::objects::security::traefik_values(catalog),
    );
    Some(values)
}

/// Merges `more` into `base`: mappings key by key, anything else replaced.
fn merge(base: &mut serde_json::Value, more: serde_json::Value) {
    match (base, more) {
        (serde_json::Value::Object(base), serde_json::Value::Object(more)) => {
            for (key, value) in more {
                match base.get_mut(&key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (base, more) => *base = more,
    }
}

fn pod_security_labels(level: PodSecurityLabels) -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            "pod-security.kubernetes.io/enforce".to_owned(),
            level.enforce.as_str().to_owned(),
        ),
        (
            "pod-security.kubernetes.io/audit".to_owned(),
            level.warn.as_str().to_owned(),
        ),
        (
            "pod-security.kubernetes.io/warn".to_owned(),
            level.warn.as_str().to_owned(),
        ),
    ])
}

/// A Git-sourced Application: the catalog's repository and revision, `<git.path>/<folder>`.
fn git_source<'a>(catalog: &'a Catalog, folder: &str) -> Source<'a> {
    let git = &catalog.platform.git;
    Source {
        repo_url: &git.repository,
        target_revision: &git.revision,
        path: Some(format!("{}/{folder}", git.path.trim_end_matches('/'))),
        chart: None,
        helm: None,
    }
}

/// Name of a shared component's Application (`platform-<component>`: never the name of an
/// environment's `<platform>-<environment>`).
pub fn component_application_name(component: &str) -> String {
    format!("platform-{component}")
}

/// Name of an environment's Application, as the seed names it.
pub fn environment_application_name(catalog: &Catalog, env: &EnvironmentFile) -> String {
    format!("{}-{}", catalog.platform.name, env.name)
}

/// The namespace a component's Application deploys to (security's objects are all
/// cluster-scoped: it gets ArgoCD's own).
fn component_namespace<'a>(catalog: &'a Catalog, component: &str) -> &'a str {
    match component {
        MESSAGING => catalog.rabbitmq.namespace.as_str(),
        MONITORING => catalog.security.monitoring_namespace.as_str(),
        _ => catalog.components.argocd.namespace.as_str(),
    }
}

fn component_application(
    catalog: &Catalog,
    templates: &Templates,
    component: &str,
) -> Result<Vec<Object>> {
    let settings = &catalog.components.argocd;
    let wave = if component == SECURITY {
        settings.waves.security
    } else {
        settings.waves.components
    };
    application(
        templates,
        &ApplicationContext {
            name: &component_application_name(component),
            namespace: settings.namespace.as_str(),
            labels: &component_labels(catalog, ARGOCD),
            wave: wave.to_string(),
            project: settings.project.as_str(),
            source: git_source(catalog, &crate::objects::component_dir(component)),
            server: &settings.server,
            destination: component_namespace(catalog, component),
            sync_policy: SyncPolicy::from(
                &settings.component_sync,
                vec!["CreateNamespace=true"],
                Some(&settings.retry),
            ),
        },
    )
}

/// An environment's Application: its overlay, its namespace, its own sync policy.
fn environment_application(
    catalog: &Catalog,
    templates: &Templates,
    env: &EnvironmentFile,
) -> Result<Vec<Object>> {
    let settings = &catalog.components.argocd;
    application(
        templates,
        &ApplicationContext {
            name: &environment_application_name(catalog, env),
            namespace: settings.namespace.as_str(),
            labels: &component_labels(catalog, ARGOCD),
            wave: settings.waves.environments.to_string(),
            project: settings.project.as_str(),
            source: git_source(catalog, &crate::objects::overlay_dir(env.name.as_str())),
            server: &settings.server,
            destination: env.namespace.as_str(),
            sync_policy: SyncPolicy::from(&env.sync, vec!["CreateNamespace=true"], None),
        },
    )
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SyncWindow<'a> {
    kind: &'static str,
    schedule: &'a str,
    duration: &'a str,
    applications: Vec<String>,
    /// A person may still sync outside the window: the approval is theirs.
    manual_sync: bool,
}

#[derive(Serialize)]
struct ProjectContext<'a> {
    name: &'a str,
    namespace: &'a str,
    labels: &'a BTreeMap<String, String>,
    description: String,
    source_repos: Vec<&'a str>,
    server: &'a str,
    destinations: Vec<String>,
    sync_windows: Vec<SyncWindow<'a>>,
}

/// The AppProject: the catalog's repository and the charts' repositories as sources, the
/// platform's namespaces as destinations, and each environment's sync window (the
/// production approval gate: automated syncs only inside it).
fn app_project(project: &Project, templates: &Templates) -> Result<Vec<Object>> {
    let catalog = &project.catalog;
    let settings = &catalog.components.argocd;
    let mut source_repos = vec![catalog.platform.git.repository.as_str()];
    let mut destinations = environment_namespaces(project);
    destinations.extend(
        NAMES
            .iter()
            .map(|c| component_namespace(catalog, c).to_owned()),
    );
    for chart in settings.charts.all() {
        source_repos.push(&chart.repository);
        destinations.push(chart.namespace().to_owned());
    }
    dedup(&mut source_repos);
    dedup(&mut destinations);
    let sync_windows = project
        .environments
        .iter()
        .filter_map(|env| {
            env.sync.window.as_ref().map(|w| SyncWindow {
                kind: "allow",
                schedule: &w.schedule,
                duration: &w.duration,
                applications: vec![environment_application_name(catalog, env)],
                manual_sync: true,
            })
        })
        .collect();
    templates.objects(
        "components/argocd/app-project.yaml.j2",
        &ProjectContext {
            name: settings.project.as_str(),
            namespace: settings.namespace.as_str(),
            labels: &component_labels(catalog, ARGOCD),
            description: format!(
                "The {} platform: its environments, shared components and operators",
                catalog.platform.name
            ),
            source_repos,
            server: &settings.server,
            destinations,
            sync_windows,
        },
    )
}

/// Removes repeated items, keeping the first of each.
fn dedup<T: PartialEq + Clone>(items: &mut Vec<T>) {
    let mut seen: Vec<T> = Vec::with_capacity(items.len());
    items.retain(|item| {
        if seen.contains(item) {
            false
        } else {
            seen.push(item.clone());
            true
        }
    });
}
