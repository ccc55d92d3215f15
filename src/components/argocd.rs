//! Objects stage, argocd component: the GitOps layer (seed: "GitOps with ArgoCD").
//!
//! - `argocd-install.yaml`: the `argocd` namespace and ArgoCD itself as an Application of
//!   its Helm chart, so that ArgoCD manages its own upgrades;
//! - `operators.yaml`: an Application per operator the platform relies on (Traefik,
//!   cert-manager, External Secrets, Gatekeeper, the RabbitMQ cluster and topology
//!   operators, kube-prometheus-stack for the Prometheus operator, the Jaeger operator,
//!   metrics-server), each a Helm chart or upstream's own manifests at a pinned version,
//!   nothing fetched at build time;
//! - `applications.yaml`: the two AppProjects (the platform's, the operators'), an
//!   Application per shared component (this one included: it is the root "app of apps")
//!   and one per environment.
//!
//! Sync waves order a bootstrap from Git alone: operators and their CRDs first, then the
//! security component (issuers, secret store, policies), then the other components, then
//! the environments. Bootstrapping a new cluster is: install the argo-cd chart once by
//! hand (same release name and namespace), then `kubectl apply -k manifests/argocd`.
//! `platgen validate` checks that this order converges (`check::bootstrap`).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::{
    ARGOCD, MESSAGING, MONITORING, NAMES, PodSecurityLabels, SECURITY, component_labels,
    environment_namespaces, namespace,
};
use crate::descriptor::{Catalog, EnvironmentFile, Sync};
use crate::error::Result;
use crate::model::{Project, Site};
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
    /// The AppProject of the environments' and shared components' Applications.
    pub project: Name,
    /// The AppProject of the operators' Applications: their sources and exactly the
    /// namespaces their manifests write to (`charts.*.namespaces`).
    pub operator_project: Name,
    /// The cluster the Applications deploy to.
    pub server: String,
    pub waves: Waves,
    /// Sync policy of the shared components' Applications (environments have their own).
    pub component_sync: Sync,
    /// Sync policy of the operators' Applications.
    pub operator_sync: Sync,
    /// Retries of a failed sync, on every Application (a CRD or a secret may arrive late);
    /// without it a failed first sync is not tried again for the same commit.
    #[serde(default)]
    pub retry: Option<Retry>,
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

/// The operators the platform relies on, each at a pinned version.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Charts {
    /// ArgoCD itself; its namespace is `components.argocd.namespace`. Installed once by
    /// hand before the bootstrap, then managed by its own Application.
    pub argo_cd: Chart,
    /// The ingress controller; its namespace is `security.ingressNamespace`.
    pub traefik: Chart,
    pub cert_manager: Chart,
    pub external_secrets: Chart,
    pub gatekeeper: Chart,
    /// The RabbitMQ cluster operator (`RabbitmqCluster`).
    pub rabbitmq_operator: Chart,
    /// The RabbitMQ messaging topology operator (`Vhost`, `User`, `Permission`, ...); in
    /// the cluster operator's namespace, which the messaging NetworkPolicy admits.
    pub rabbitmq_topology_operator: Chart,
    /// kube-prometheus-stack, for the Prometheus operator, node exporter and kube-state-metrics.
    pub prometheus_operator: Chart,
    pub jaeger_operator: Chart,
    /// The resource metrics API the HorizontalPodAutoscalers read; `enabled: false` on a
    /// cluster that ships its own.
    #[serde(default)]
    pub metrics_server: Option<Chart>,
    /// The MySQL Operator (`InnoDBCluster`): installed only while an environment runs
    /// `dataLayer.mysql.mode: innodb-cluster` (see `Project::load`).
    #[serde(default)]
    pub mysql_operator: Option<Chart>,
}

impl Charts {
    /// Every chart, ArgoCD first.
    pub fn all(&self) -> Vec<(&'static str, &Chart)> {
        let mut all = vec![
            ("argoCd", &self.argo_cd),
            ("traefik", &self.traefik),
            ("certManager", &self.cert_manager),
            ("externalSecrets", &self.external_secrets),
            ("gatekeeper", &self.gatekeeper),
            ("rabbitmqOperator", &self.rabbitmq_operator),
            ("rabbitmqTopologyOperator", &self.rabbitmq_topology_operator),
            ("prometheusOperator", &self.prometheus_operator),
            ("jaegerOperator", &self.jaeger_operator),
        ];
        all.extend(self.metrics_server.as_ref().map(|c| ("metricsServer", c)));
        all.extend(self.mysql_operator.as_ref().map(|c| ("mysqlOperator", c)));
        all
    }

    /// The charts this platform installs (not those the cluster already has).
    pub fn installed(&self) -> impl Iterator<Item = (&'static str, &Chart)> {
        self.all().into_iter().filter(|(_, c)| c.enabled)
    }
}

/// One operator installed by an Application: a Helm chart (`chart`), or a folder of
/// upstream's own Git repository built by kustomize (`path`, with `images` pinning what
/// upstream leaves at `latest`).
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Chart {
    /// Name of the Application (and Helm release, unless `releaseName` says otherwise).
    pub name: Name,
    /// Helm repository URL, or Git repository URL with `path`.
    pub repository: String,
    /// The Helm chart; exactly one of `chart` and `path`.
    #[serde(default)]
    pub chart: Option<String>,
    /// The kustomize folder of the Git repository; exactly one of `chart` and `path`.
    #[serde(default)]
    pub path: Option<String>,
    /// kustomize image overrides (`name=newName:tag`) for a `path` source.
    #[serde(default)]
    pub images: Vec<String>,
    /// kustomize patches for a `path` source, as ArgoCD's `kustomize.patches` takes them
    /// (`{target, patch}`): labels upstream lacks, objects another Application owns.
    #[serde(default)]
    pub patches: Vec<serde_json::Value>,
    /// Chart version, or Git tag for a `path` source.
    pub version: String,
    pub namespace: Name,
    /// Its AppProject, when it must write where no other operator may (default:
    /// `operatorProject`).
    #[serde(default)]
    pub project: Option<Name>,
    #[serde(default)]
    pub release_name: Option<Name>,
    pub wave: i32,
    /// `false` when the cluster already runs it: no Application, its APIs count as
    /// present from the start.
    #[serde(default = "enabled")]
    pub enabled: bool,
    /// Pod Security labels of the namespace ArgoCD creates for the chart; none where a
    /// component owns the namespace object.
    #[serde(default)]
    pub pod_security: Option<PodSecurityLabels>,
    /// Helm values (`valuesObject`), as the chart documents them.
    #[serde(default)]
    pub values: Option<serde_json::Value>,
    /// Namespaces the chart's templates write to besides `namespace` (read from its
    /// templates at this version): the operators' AppProject must permit each one the
    /// values leave on.
    #[serde(default)]
    pub namespaces: Vec<ChartNamespace>,
    /// API groups (or `group/Kind`) it installs: CRDs, aggregated APIs. Custom resources
    /// of these come in a later sync wave.
    #[serde(default)]
    pub apis: Vec<String>,
    /// Custom resources its own manifests hold (`group/Kind`): their operator's
    /// Application comes in an earlier wave.
    #[serde(default)]
    pub uses: Vec<String>,
}

fn enabled() -> bool {
    true
}

/// A namespace a chart writes to besides its own, and the values that move or drop it.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ChartNamespace {
    /// The chart's default.
    pub namespace: Name,
    /// Dotted values path whose value replaces the namespace when set.
    #[serde(default)]
    pub value: Option<String>,
    /// Dotted values path of the switch that renders these objects at all.
    #[serde(default)]
    pub when: Option<String>,
    /// The switch's default in the chart.
    #[serde(default = "enabled")]
    pub default: bool,
    /// What the chart puts there.
    pub objects: String,
}

impl ChartNamespace {
    /// The namespace this entry writes to under `values`, or `None` when they switch it off.
    pub fn effective(&self, values: Option<&serde_json::Value>) -> Option<String> {
        let at = |path: &str| {
            path.split('.')
                .try_fold(values?, |v, key| v.get(key))
                .filter(|v| !v.is_null())
        };
        let on = match &self.when {
            Some(path) => at(path).and_then(|v| v.as_bool()).unwrap_or(self.default),
            None => true,
        };
        if !on {
            return None;
        }
        let moved = self.value.as_deref().and_then(at).and_then(|v| v.as_str());
        Some(moved.unwrap_or(self.namespace.as_str()).to_owned())
    }
}

impl Chart {
    pub fn namespace(&self) -> &str {
        self.namespace.as_str()
    }

    /// The namespaces its AppProject permits: its own, and those the chart writes to
    /// whatever its values say. A namespace values can move or switch off is not
    /// permitted: the values must keep the chart out of it.
    pub fn permitted_namespaces(&self) -> Vec<String> {
        let mut all = vec![self.namespace().to_owned()];
        for extra in &self.namespaces {
            if extra.value.is_none() && extra.when.is_none() {
                all.push(extra.namespace.to_string());
            }
        }
        dedup(&mut all);
        all
    }

    /// The AppProject of its Application.
    pub fn project<'a>(&'a self, settings: &'a Settings) -> &'a str {
        self.project
            .as_ref()
            .unwrap_or(&settings.operator_project)
            .as_str()
    }
}

/// `manifests/argocd`: ArgoCD, the operators, the AppProjects and the Applications of
/// its own cluster; with other clusters hosting environments, their registrations
/// (`clusters.yaml`) and one Application per cluster syncing `clusters/<cluster>/argocd`.
pub fn files(project: &Project, templates: &Templates) -> Result<Vec<File>> {
    let catalog = &project.catalog;
    let settings = &catalog.components.argocd;
    let own = project.management();
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
        own,
    )?);
    let mut operators = Vec::new();
    for (_, chart) in settings.charts.installed().skip(1) {
        operators.extend(chart_application(catalog, templates, chart, own)?);
    }
    let mut applications = app_project(project, templates)?;
    applications.extend(operator_projects(project, templates)?);
    for component in NAMES {
        applications.extend(component_application(project, templates, own, component)?);
    }
    for env in &project.environments {
        if project.cluster_of(env).management {
            applications.extend(environment_application(project, templates, env)?);
        }
    }
    let mut files = vec![
        File::new("argocd-install.yaml", install),
        File::new("operators.yaml", operators),
        File::new("applications.yaml", applications),
    ];
    let mut clusters = Vec::new();
    for site in project.remote_sites() {
        clusters.extend(registration(catalog, templates, site)?);
        clusters.extend(cluster_application(project, templates, site)?);
    }
    if !clusters.is_empty() {
        files.push(File::new("clusters.yaml", clusters));
    }
    Ok(files)
}

/// `clusters/<cluster>/argocd`: the Applications that deploy to another cluster (they
/// live in ArgoCD's namespace of its own cluster): the operators but ArgoCD, the shared
/// components of that cluster and its environments, in the waves of ArgoCD's own cluster.
pub fn cluster_files(project: &Project, templates: &Templates, cluster: &str) -> Result<Vec<File>> {
    let catalog = &project.catalog;
    let settings = &catalog.components.argocd;
    let site = *project
        .clusters()
        .iter()
        .find(|s| s.name == cluster)
        .expect("a cluster of the project");
    let mut operators = Vec::new();
    for (_, chart) in settings.charts.installed().skip(1) {
        operators.extend(chart_application(catalog, templates, chart, site)?);
    }
    let mut applications = Vec::new();
    for component in [SECURITY, MESSAGING, MONITORING] {
        applications.extend(component_application(project, templates, site, component)?);
    }
    for env in &project.environments {
        if project.cluster_of(env).name == cluster {
            applications.extend(environment_application(project, templates, env)?);
        }
    }
    Ok(vec![
        File::new("operators.yaml", operators),
        File::new("applications.yaml", applications),
    ])
}

#[derive(Serialize)]
struct RegistrationContext<'a> {
    name: String,
    namespace: &'a str,
    labels: &'a BTreeMap<String, String>,
    wave: String,
    refresh_interval: &'a str,
    store: &'a str,
    secret_labels: BTreeMap<String, String>,
    cluster: &'a str,
    server: &'a str,
    remote_key: String,
}

/// The label that makes a Secret of ArgoCD's namespace a cluster registration.
pub const CLUSTER_SECRET_LABEL: &str = "argocd.argoproj.io/secret-type";

/// The registration of another cluster with ArgoCD: its cluster Secret (`name`,
/// `server`, and `config`, the credentials ArgoCD connects with), built by the External
/// Secrets operator from Vault (`<vaultPrefix>/argocd/cluster-<name>`, property
/// `config`), so that no credential is in Git; in the components' wave, after the
/// secret store, before the cluster's Application.
fn registration(catalog: &Catalog, templates: &Templates, site: Site) -> Result<Vec<Object>> {
    let settings = &catalog.components.argocd;
    let spec = site.spec.expect("another cluster is a catalog entry");
    let mut secret_labels = component_labels(catalog, ARGOCD);
    secret_labels.insert(CLUSTER_SECRET_LABEL.into(), "cluster".into());
    secret_labels.insert(REGION_LABEL.into(), spec.region.clone());
    secret_labels.extend(spec.labels.clone());
    let name = registration_name(site.name);
    templates.objects(
        "components/argocd/cluster-secret.yaml.j2",
        &RegistrationContext {
            remote_key: super::vault_key(catalog, ARGOCD, &name),
            name,
            namespace: settings.namespace.as_str(),
            labels: &component_labels(catalog, ARGOCD),
            wave: settings.waves.components.to_string(),
            refresh_interval: &catalog.security.refresh_interval,
            store: catalog.security.secret_store.as_str(),
            secret_labels,
            cluster: site.name,
            server: site.server,
        },
    )
}

/// The label of a cluster Secret naming the cluster's region.
pub const REGION_LABEL: &str = "topology.kubernetes.io/region";

/// `cluster-<name>`: the registration's ExternalSecret and Secret.
pub fn registration_name(cluster: &str) -> String {
    format!("cluster-{cluster}")
}

/// The Application syncing `clusters/<cluster>/argocd` into ArgoCD's namespace: the
/// wave-gated parent of that cluster's Applications, after its registration.
fn cluster_application(
    project: &Project,
    templates: &Templates,
    site: Site,
) -> Result<Vec<Object>> {
    let catalog = &project.catalog;
    let settings = &catalog.components.argocd;
    let folder = super::component_dir(project, site.name, ARGOCD);
    application(
        templates,
        &ApplicationContext {
            name: &registration_name(site.name),
            namespace: settings.namespace.as_str(),
            labels: &component_labels(catalog, ARGOCD),
            wave: settings.waves.environments.to_string(),
            project: settings.project.as_str(),
            sources: vec![git_source(catalog, &folder)],
            server: project.management().server,
            destination: settings.namespace.as_str(),
            sync_policy: SyncPolicy::from(
                &settings.component_sync,
                Vec::new(),
                settings.retry.as_ref(),
            ),
        },
    )
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
    #[serde(skip_serializing_if = "Option::is_none")]
    kustomize: Option<Kustomize<'a>>,
}

#[derive(Serialize)]
struct Kustomize<'a> {
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    images: &'a [String],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    patches: &'a [serde_json::Value],
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
    /// One source renders as `spec.source`, more as `spec.sources`.
    sources: Vec<Source<'a>>,
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
    site: Site,
) -> Result<Vec<Object>> {
    let settings = &catalog.components.argocd;
    let mut sync_policy = SyncPolicy::from(
        &settings.operator_sync,
        vec!["CreateNamespace=true", "ServerSideApply=true"],
        settings.retry.as_ref(),
    );
    sync_policy.managed_namespace_metadata = chart.pod_security.map(|level| ManagedNamespace {
        labels: pod_security_labels(level),
    });
    let source = match &chart.path {
        Some(path) => Source {
            repo_url: &chart.repository,
            target_revision: &chart.version,
            path: Some(path.clone()),
            chart: None,
            helm: None,
            kustomize: (!chart.images.is_empty() || !chart.patches.is_empty()).then_some(
                Kustomize {
                    images: &chart.images,
                    patches: &chart.patches,
                },
            ),
        },
        None => Source {
            repo_url: &chart.repository,
            target_revision: &chart.version,
            path: None,
            chart: chart.chart.as_deref(),
            helm: Some(Helm {
                release_name: chart.release_name.as_ref().unwrap_or(&chart.name).as_str(),
                values_object: chart_values(catalog, chart),
            }),
            kustomize: None,
        },
    };
    application(
        templates,
        &ApplicationContext {
            name: &on_site(chart.name.as_str(), site),
            namespace: settings.namespace.as_str(),
            labels: &component_labels(catalog, ARGOCD),
            wave: chart.wave.to_string(),
            project: chart.project(settings),
            sources: vec![source],
            server: site.server,
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
        kustomize: None,
    }
}

/// Name of a shared component's Application (`platform-<component>`: never the name of an
/// environment's `<platform>-<environment>`).
pub fn component_application_name(component: &str) -> String {
    format!("platform-{component}")
}

/// The name of an Application of ArgoCD's own cluster, or `<name>-<cluster>` for the same
/// Application deploying to another cluster (all live in ArgoCD's namespace).
pub fn on_site(name: &str, site: Site) -> String {
    if site.management {
        name.to_owned()
    } else {
        format!("{name}-{}", site.name)
    }
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
    project: &Project,
    templates: &Templates,
    site: Site,
    component: &str,
) -> Result<Vec<Object>> {
    let catalog = &project.catalog;
    let settings = &catalog.components.argocd;
    let wave = if component == SECURITY {
        settings.waves.security
    } else {
        settings.waves.components
    };
    // Security's objects are cluster-scoped: on another cluster, no namespace to create.
    let sync_options = if site.management || component != SECURITY {
        vec!["CreateNamespace=true"]
    } else {
        Vec::new()
    };
    application(
        templates,
        &ApplicationContext {
            name: &on_site(&component_application_name(component), site),
            namespace: settings.namespace.as_str(),
            labels: &component_labels(catalog, ARGOCD),
            wave: wave.to_string(),
            project: settings.project.as_str(),
            sources: vec![git_source(
                catalog,
                &super::component_dir(project, site.name, component),
            )],
            server: site.server,
            destination: component_namespace(catalog, component),
            sync_policy: SyncPolicy::from(
                &settings.component_sync,
                sync_options,
                settings.retry.as_ref(),
            ),
        },
    )
}

/// An environment's Application: its overlay, its namespace on its cluster, its own sync
/// policy.
fn environment_application(
    project: &Project,
    templates: &Templates,
    env: &EnvironmentFile,
) -> Result<Vec<Object>> {
    let catalog = &project.catalog;
    let settings = &catalog.components.argocd;
    // A hydrated overlay in parts: the repo-server builds each on its own, one
    // Application still syncs (waves, health, prune) all of the environment's objects.
    let mut folders = crate::objects::part_dirs(env);
    if folders.is_empty() {
        folders.push(crate::objects::overlay_dir(env.name.as_str()));
    }
    application(
        templates,
        &ApplicationContext {
            name: &environment_application_name(catalog, env),
            namespace: settings.namespace.as_str(),
            labels: &component_labels(catalog, ARGOCD),
            wave: settings.waves.environments.to_string(),
            project: settings.project.as_str(),
            sources: folders.iter().map(|f| git_source(catalog, f)).collect(),
            server: project.cluster_of(env).server,
            destination: env.namespace.as_str(),
            sync_policy: SyncPolicy::from(
                &env.sync,
                vec!["CreateNamespace=true"],
                settings.retry.as_ref(),
            ),
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
    destinations: Vec<Destination<'a>>,
    sync_windows: Vec<SyncWindow<'a>>,
}

/// A namespace of a cluster an AppProject permits.
#[derive(Serialize, PartialEq, Clone)]
struct Destination<'a> {
    server: &'a str,
    namespace: String,
}

/// The platform's AppProject: the catalog's repository as the only source, on each
/// cluster its environments' and the components' namespaces (and on ArgoCD's own, its
/// namespace for the other clusters' Applications) as destinations, and each
/// environment's sync window (the production approval gate: automated syncs only inside
/// it).
fn app_project(project: &Project, templates: &Templates) -> Result<Vec<Object>> {
    let catalog = &project.catalog;
    let settings = &catalog.components.argocd;
    let mut destinations = Vec::new();
    for site in super::sites(project) {
        let server = (project.clusters().iter())
            .find(|s| s.name == site)
            .expect("a cluster")
            .server;
        let mut namespaces = environment_namespaces(&project.scoped(site));
        namespaces.extend(
            NAMES
                .iter()
                .map(|c| component_namespace(catalog, c).to_owned()),
        );
        destinations.extend(
            namespaces
                .into_iter()
                .map(|namespace| Destination { server, namespace }),
        );
    }
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
                "The {} platform: its environments and shared components",
                catalog.platform.name
            ),
            source_repos: vec![catalog.platform.git.repository.as_str()],
            destinations,
            sync_windows,
        },
    )
}

/// The operators' AppProjects (`operatorProject`, and each a chart names): their
/// charts' repositories as sources, and as destinations, on every cluster the chart is
/// installed on (ArgoCD's own everywhere, the others but ArgoCD itself), each chart's
/// namespace and those its templates write to whatever the values
/// (`charts.*.namespaces`), nothing more.
fn operator_projects(project: &Project, templates: &Templates) -> Result<Vec<Object>> {
    let catalog = &project.catalog;
    let settings = &catalog.components.argocd;
    let mut names: Vec<&str> = settings
        .charts
        .installed()
        .map(|(_, c)| c.project(settings))
        .collect();
    dedup(&mut names);
    let mut sites = vec![project.management()];
    sites.extend(project.remote_sites());
    let mut objects = Vec::new();
    for name in names {
        let mut source_repos = Vec::new();
        let mut destinations = Vec::new();
        let charts: Vec<&Chart> = (settings.charts.installed())
            .map(|(_, c)| c)
            .filter(|c| c.project(settings) == name)
            .collect();
        for chart in &charts {
            source_repos.push(chart.repository.as_str());
        }
        for site in &sites {
            for chart in &charts {
                let argo_cd = std::ptr::eq(*chart, &settings.charts.argo_cd);
                if site.management || !argo_cd {
                    destinations.extend(chart.permitted_namespaces().into_iter().map(
                        |namespace| Destination {
                            server: site.server,
                            namespace,
                        },
                    ));
                }
            }
        }
        dedup(&mut source_repos);
        dedup(&mut destinations);
        let operators: Vec<&str> = charts.iter().map(|c| c.name.as_str()).collect();
        objects.extend(templates.objects(
            "components/argocd/app-project.yaml.j2",
            &ProjectContext {
                name,
                namespace: settings.namespace.as_str(),
                labels: &component_labels(catalog, ARGOCD),
                description: format!(
                    "Operators of the {} platform ({}), in the namespaces they write to",
                    catalog.platform.name,
                    operators.join(", ")
                ),
                source_repos,
                destinations,
                sync_windows: Vec::new(),
            },
        )?);
    }
    Ok(objects)
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(value: Option<&str>, when: Option<&str>, default: bool) -> ChartNamespace {
        ChartNamespace {
            namespace: Name::parse("kube-system").expect("a name"),
            value: value.map(str::to_owned),
            when: when.map(str::to_owned),
            default,
            objects: "objects".into(),
        }
    }

    #[test]
    fn a_value_moves_the_namespace_and_a_switch_drops_it() {
        let moved = entry(Some("global.leaderElection.namespace"), None, true);
        assert_eq!(moved.effective(None).as_deref(), Some("kube-system"));
        let values = json!({"global": {"leaderElection": {"namespace": "cert-manager"}}});
        assert_eq!(
            moved.effective(Some(&values)).as_deref(),
            Some("cert-manager")
        );
        let switched = entry(None, Some("kubeProxy.enabled"), true);
        assert_eq!(switched.effective(None).as_deref(), Some("kube-system"));
        let off = json!({"kubeProxy": {"enabled": false}});
        assert_eq!(switched.effective(Some(&off)), None);
        let off_by_default = entry(None, Some("kubeDns.enabled"), false);
        assert_eq!(off_by_default.effective(Some(&off)), None);
        let on = json!({"kubeDns": {"enabled": true}});
        assert_eq!(
            off_by_default.effective(Some(&on)).as_deref(),
            Some("kube-system")
        );
    }
}
