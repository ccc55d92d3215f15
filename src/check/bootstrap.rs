//! Check stage, bootstrap: what ArgoCD does with the argocd target on an empty cluster.
//!
//! The root Application syncs its children (the Applications of its folder) wave by
//! wave and, with the platform's health rule for Applications, waits for each wave to be
//! healthy before the next: it is the wave-gated parent. The bootstrap converges when
//! - every Application is permitted by its AppProject: its destination, its source, and
//!   every namespace its manifests write to (the objects of its folder, or the namespaces
//!   the catalog knows its chart writes to under the values it is given);
//! - every custom resource comes after the Application that installs its CRD (a later
//!   wave), or after the object of its own Application that creates it (a later wave of
//!   that Application, with the dry run skipped);
//! - no child of the wave-gated parent can stay unhealthy for good: a manual-sync
//!   Application the health rule does not exempt, a readiness that waits for something
//!   a later wave (or a person) deploys, an object whose health needs an object of a
//!   later wave (an ExternalSecret's store, an Ingress's or Certificate's issuer);
//! - every automated Application retries a failed sync with a backoff;
//! - no Application installs a chart whose images are gone;
//! - an Application deploying to another cluster finds it registered (a cluster Secret
//!   synced in an earlier wave of the root).
//!
//! Each cluster is checked on its own: what an Application deploys there meets only the
//! CRDs, stores and workloads of that cluster.

use super::cluster::{Cluster, Placed, containers};
use super::{Family, Finding};
use crate::Target;
use crate::check::value::Value;
use crate::components::argocd::CLUSTER_SECRET_LABEL;
use crate::components::argocd::Chart;
use crate::descriptor::Catalog;
use crate::model::Site;
use std::collections::BTreeSet;

const ARGOPROJ: &str = "argoproj.io";
const WAVE: &str = "argocd.argoproj.io/sync-wave";
const SYNC_OPTIONS: &str = "argocd.argoproj.io/sync-options";
const SKIP_DRY_RUN: &str = "SkipDryRunOnMissingResource=true";
/// The ArgoCD setting holding the health rule of Applications (Lua).
const HEALTH_RULE: &str = "resource.customizations.health.argoproj.io_Application";
/// The clause of the platform's health rule that reports a manual-sync Application
/// healthy to its parent (the parent must not wait for a person).
const MANUAL_EXEMPT: &str = "obj.spec.syncPolicy.automated == nil";
/// The API the HorizontalPodAutoscalers' resource metrics come from.
const METRICS_API: &str = "metrics.k8s.io";

/// Chart repositories whose charts pull images that no longer exist, and why.
const WITHDRAWN: [(&str, &str); 2] = [
    (
        "https://charts.bitnami.com/bitnami",
        "Bitnami's charts pull docker.io/bitnami images, which have had no tags since Bitnami withdrew its free images (2025): the pods stay in ImagePullBackOff",
    ),
    (
        "oci://registry-1.docker.io/bitnamicharts",
        "Bitnami's charts pull docker.io/bitnami images, which have had no tags since Bitnami withdrew its free images (2025): the pods stay in ImagePullBackOff",
    ),
];

/// Images of programs whose readiness endpoint waits for every output to connect.
const READINESS_WAITS_FOR_OUTPUTS: [(&str, &str); 3] = [
    ("benthos", "/ready"),
    ("redpanda-data/connect", "/ready"),
    ("redpandadata/connect", "/ready"),
];

/// An Application as ArgoCD reads it.
struct App<'a> {
    placed: &'a Placed,
    /// The cluster it deploys to (`spec.destination.server`).
    server: &'a str,
    wave: i64,
    automated: bool,
    /// The target whose folder (or folders: a hydrated overlay's parts) it syncs, for an
    /// Application of the platform's repository.
    target: Option<&'a str>,
    /// Its sources (`spec.source`, or each of `spec.sources`) and their field paths.
    sources: Vec<(String, &'a Value)>,
    /// The catalog's entry of the operator it installs, and its key under `charts`.
    chart: Option<(&'static str, &'a Chart)>,
}

impl App<'_> {
    fn name(&self) -> &str {
        self.placed.name()
    }
    fn spec(&self) -> &Value {
        &self.placed.object["spec"]
    }
}

/// What installs an API: the cluster before the bootstrap, an Application, or an object
/// of an Application (a CRD, a Gatekeeper ConstraintTemplate).
#[derive(Clone, Copy)]
enum Provider<'a> {
    Cluster,
    App(usize),
    Object {
        app: usize,
        wave: i64,
        placed: &'a Placed,
    },
}

/// Findings of the bootstrap checks of the Applications deploying to `site`: `cluster`
/// holds what `site` would hold and every Application (all live in ArgoCD's cluster).
pub fn check(cluster: &Cluster, catalog: &Catalog, targets: &[Target], site: Site) -> Vec<Finding> {
    let mut out = Vec::new();
    let apps = applications(cluster, catalog, targets, &mut out);
    for app in apps.iter().filter(|a| a.server == site.server) {
        permissions(cluster, app, &mut out);
        retry(app, &mut out);
        withdrawn(app, &mut out);
    }
    if site.management {
        parents(cluster, catalog, &apps, &mut out);
        registrations(cluster, &apps, site.server, &mut out);
    }
    let providers = providers(cluster, catalog, &apps, site);
    custom_resources(cluster, &apps, &providers, site.server, &mut out);
    readiness(cluster, &apps, site.server, &mut out);
    later_references(cluster, &apps, site.server, &mut out);
    out
}

/// The sync wave of an object (0 without the annotation).
fn wave(placed: &Placed, out: &mut Vec<Finding>) -> i64 {
    let Some(text) = placed.object["metadata"]["annotations"][WAVE].as_str() else {
        return 0;
    };
    text.trim().parse().unwrap_or_else(|_| {
        out.push(Finding::new(
            Family::Bootstrap,
            placed,
            format!("metadata.annotations.{WAVE}"),
            format!("sync wave `{text}` is not an integer: ArgoCD refuses the sync"),
        ));
        0
    })
}

/// Every Application, with its wave, sync mode and what it deploys.
fn applications<'a>(
    cluster: &'a Cluster,
    catalog: &'a Catalog,
    targets: &'a [Target],
    out: &mut Vec<Finding>,
) -> Vec<App<'a>> {
    let git = &catalog.platform.git;
    let prefix = format!("{}/", git.path.trim_end_matches('/'));
    let charts: Vec<(&str, &Chart)> = catalog.components.argocd.charts.installed().collect();
    let mut apps = Vec::new();
    for placed in &cluster.objects {
        if placed.group() != ARGOPROJ || placed.kind() != "Application" {
            continue;
        }
        let spec = &placed.object["spec"];
        let sources: Vec<(String, &Value)> = match spec["sources"].as_array() {
            Some(sources) => (sources.iter().enumerate())
                .map(|(i, source)| (format!("spec.sources[{i}]"), source))
                .collect(),
            None => vec![("spec.source".to_owned(), &spec["source"])],
        };
        let mut target: Option<&Target> = None;
        let mut parts = Vec::new();
        for (field, source) in &sources {
            let repo = source["repoURL"].as_str().unwrap_or_default();
            if repo != git.repository {
                continue;
            }
            let path = source["path"].as_str().unwrap_or_default();
            let dir = path.strip_prefix(&prefix).map(|d| d.trim_end_matches('/'));
            let found = targets
                .iter()
                .find(|t| dir.is_some_and(|dir| t.dir == dir || t.parts.iter().any(|p| p == dir)));
            match found {
                Some(t) => {
                    target = Some(t);
                    parts.extend(dir.filter(|d| t.parts.iter().any(|p| p == d)));
                }
                None => out.push(Finding::new(
                    Family::Bootstrap,
                    placed,
                    format!("{field}.path"),
                    format!("path `{path}` is no folder of the generated tree: the Application syncs nothing"),
                )),
            }
        }
        // A hydrated overlay's parts: all of them, or ArgoCD prunes the others' objects.
        if let Some(t) = target.filter(|_| !parts.is_empty()) {
            for missing in t.parts.iter().filter(|p| !parts.contains(&p.as_str())) {
                out.push(Finding::new(
                    Family::Bootstrap,
                    placed,
                    "spec.sources",
                    format!(
                        "no source syncs `{prefix}{missing}`, a part of target `{}`: ArgoCD \
                         prunes its objects",
                        t.name
                    ),
                ));
            }
        }
        let source = sources.first().map_or(&Value::Null, |(_, s)| *s);
        let repo = source["repoURL"].as_str().unwrap_or_default();
        // By its source: the same operator is `<name>-<cluster>` on another cluster.
        let chart = charts
            .iter()
            .find(|(_, c)| {
                c.repository == repo
                    && c.chart.as_deref() == source["chart"].as_str()
                    && c.path.as_deref() == source["path"].as_str()
            })
            .copied();
        apps.push(App {
            placed,
            server: placed.object["spec"]["destination"]["server"]
                .as_str()
                .unwrap_or_default(),
            wave: wave(placed, out),
            automated: placed.object["spec"]["syncPolicy"]["automated"].is_object(),
            target: target.map(|t| t.name.as_str()),
            sources,
            chart,
        });
    }
    apps
}

/// Whether a pattern of an AppProject (`*` matches any run of characters) admits `text`.
fn glob(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, rest)) => {
            let Some(text) = text.strip_prefix(head) else {
                return false;
            };
            (0..=text.len())
                .filter(|i| text.is_char_boundary(*i))
                .any(|i| glob(rest, &text[i..]))
        }
    }
}

/// Whether an AppProject's destinations admit a namespace on a server.
fn destination_permitted(project: &Value, server: &str, namespace: &str) -> bool {
    let destinations = project["spec"]["destinations"].as_array();
    destinations.into_iter().flatten().any(|d| {
        let server_ok = d["server"].as_str().is_none_or(|s| glob(s, server));
        let namespace_ok = d["namespace"].as_str().is_some_and(|n| glob(n, namespace));
        server_ok && namespace_ok
    })
}

fn listed(project: &Value, field: &str) -> String {
    let items = project["spec"][field].as_array().into_iter().flatten();
    let names: Vec<String> = items
        .map(|d| match d {
            Value::String(s) => s.to_string(),
            other => other["namespace"].as_str().unwrap_or_default().to_owned(),
        })
        .collect();
    names.join(", ")
}

/// The AppProject an Application names, if some target builds it.
fn project_of<'a>(cluster: &'a Cluster, app: &App) -> Option<&'a Placed> {
    let name = app.spec()["project"].as_str().unwrap_or("default");
    cluster
        .objects
        .iter()
        .find(|p| p.group() == ARGOPROJ && p.kind() == "AppProject" && p.name() == name)
}

/// The Application's destination, source and every namespace it writes to are
/// permitted by its AppProject; ArgoCD refuses the whole sync otherwise.
fn permissions(cluster: &Cluster, app: &App, out: &mut Vec<Finding>) {
    let spec = app.spec();
    let project_name = spec["project"].as_str().unwrap_or("default");
    let Some(project) = project_of(cluster, app) else {
        out.push(Finding::new(
            Family::Bootstrap,
            app.placed,
            "spec.project",
            format!(
                "AppProject `{project_name}` is built by no target: ArgoCD refuses the Application"
            ),
        ));
        return;
    };
    let project = &project.object;
    let server = spec["destination"]["server"].as_str().unwrap_or_default();
    let refuse = |what: String, namespace: &str| {
        format!(
            "{what} namespace `{namespace}`, which AppProject `{project_name}` does not permit \
             (its destinations: {}): ArgoCD refuses the whole sync",
            listed(project, "destinations")
        )
    };
    let destination = spec["destination"]["namespace"]
        .as_str()
        .unwrap_or_default();
    if !destination_permitted(project, server, destination) {
        out.push(Finding::new(
            Family::Bootstrap,
            app.placed,
            "spec.destination.namespace",
            refuse("the Application deploys to".into(), destination),
        ));
    }
    let repos = project["spec"]["sourceRepos"].as_array();
    for (field, source) in &app.sources {
        let repo = source["repoURL"].as_str().unwrap_or_default();
        if !(repos.into_iter().flatten()).any(|r| r.as_str().is_some_and(|r| glob(r, repo))) {
            out.push(Finding::new(
                Family::Bootstrap,
                app.placed,
                format!("{field}.repoURL"),
                format!(
                    "source `{repo}` is not among the sourceRepos of AppProject \
                     `{project_name}` ({}): ArgoCD refuses the Application",
                    listed(project, "sourceRepos")
                ),
            ));
        }
    }
    if let Some(target) = app.target {
        let mut namespaces = BTreeSet::new();
        let mut kinds = BTreeSet::new();
        for placed in cluster.objects.iter().filter(|p| p.target == target) {
            let namespace = placed.namespace();
            if !namespace.is_empty() {
                if namespaces.insert(namespace)
                    && !destination_permitted(project, server, namespace)
                {
                    out.push(Finding::new(
                        Family::Bootstrap,
                        app.placed,
                        "spec.source.path",
                        refuse(
                            format!("its folder writes {} (and more) to", placed.reference()),
                            namespace,
                        ),
                    ));
                }
            } else if kinds.insert((placed.group(), placed.kind()))
                && !cluster_kind_permitted(project, placed.group(), placed.kind())
            {
                out.push(Finding::new(
                    Family::Bootstrap,
                    app.placed,
                    "spec.source.path",
                    format!(
                        "its folder holds the cluster-scoped {}, a kind AppProject \
                         `{project_name}` does not permit (clusterResourceWhitelist): ArgoCD \
                         refuses the whole sync",
                        placed.reference()
                    ),
                ));
            }
        }
    }
    if let Some((_, chart)) = app.chart {
        let values = Some(&spec["source"]["helm"]["valuesObject"])
            .filter(|v| v.is_object())
            .map(Value::to_json);
        for extra in &chart.namespaces {
            let Some(namespace) = extra.effective(values.as_ref()) else {
                continue;
            };
            if destination_permitted(project, server, &namespace) {
                continue;
            }
            let (field, why) = match (&extra.value, &extra.when) {
                (Some(value), _) => (
                    format!("spec.source.helm.valuesObject.{value}"),
                    format!(" (`{value}`; set it to the chart's own namespace)"),
                ),
                (None, Some(when)) => (
                    format!("spec.source.helm.valuesObject.{when}"),
                    format!(" (`{when}` is on; turn it off)"),
                ),
                (None, None) => ("spec.destination".to_owned(), String::new()),
            };
            out.push(Finding::new(
                Family::Bootstrap,
                app.placed,
                field,
                refuse(
                    format!("chart `{}` writes {}{why} to", chart.name, extra.objects),
                    &namespace,
                ),
            ));
        }
    }
}

/// Whether an AppProject's `clusterResourceWhitelist` admits a cluster-scoped kind.
fn cluster_kind_permitted(project: &Value, group: &str, kind: &str) -> bool {
    let list = project["spec"]["clusterResourceWhitelist"].as_array();
    list.into_iter().flatten().any(|entry| {
        entry["group"].as_str().is_some_and(|g| glob(g, group))
            && entry["kind"].as_str().is_some_and(|k| glob(k, kind))
    })
}

/// An automated Application retries a failed sync with a backoff: ArgoCD does not try
/// the same commit again otherwise (a Job racing its secret fails the sync for good).
fn retry(app: &App, out: &mut Vec<Finding>) {
    if !app.automated {
        return;
    }
    let retry = &app.spec()["syncPolicy"]["retry"];
    let limit = retry["limit"].as_i64();
    let problem = if retry.is_null() {
        Some("has no `retry`")
    } else if limit == Some(0) {
        Some("retries 0 times")
    } else if !retry["backoff"].is_object() {
        Some("retries without a backoff")
    } else {
        None
    };
    if let Some(problem) = problem {
        out.push(Finding::new(
            Family::Bootstrap,
            app.placed,
            "spec.syncPolicy.retry",
            format!(
                "automated Application `{}` {problem}: a failed sync is not tried again for the same commit",
                app.name()
            ),
        ));
    }
}

/// No Application installs a chart whose images are gone.
fn withdrawn(app: &App, out: &mut Vec<Finding>) {
    for (field, source) in &app.sources {
        let repo = source["repoURL"].as_str().unwrap_or_default();
        if let Some((_, why)) = WITHDRAWN
            .iter()
            .find(|(r, _)| repo.trim_end_matches('/') == *r)
        {
            out.push(Finding::new(
                Family::Bootstrap,
                app.placed,
                format!("{field}.repoURL"),
                format!("chart repository `{repo}`: {why}"),
            ));
        }
    }
}

/// The wave-gated parents: each Application whose folder holds Applications. Their
/// waves wait for each other only if Applications report their health (the health
/// rule in ArgoCD's settings); a manual-sync child then holds the parent up for good
/// unless the rule exempts it; an AppProject comes before the Applications naming it.
fn parents(cluster: &Cluster, catalog: &Catalog, apps: &[App], out: &mut Vec<Finding>) {
    let argo_cd = &catalog.components.argocd.charts.argo_cd;
    let argo_app = apps.iter().find(|a| a.name() == argo_cd.name.as_str());
    let rule = argo_app.and_then(|a| {
        a.spec()["source"]["helm"]["valuesObject"]["configs"]["cm"][HEALTH_RULE].as_str()
    });
    for parent in apps {
        let Some(target) = parent.target else {
            continue;
        };
        let children: Vec<&App> = apps
            .iter()
            .filter(|a| a.placed.target == target && !std::ptr::eq(*a, parent))
            .collect();
        let waves: BTreeSet<i64> = children.iter().map(|c| c.wave).collect();
        if waves.len() < 2 {
            continue;
        }
        let Some(rule) = rule else {
            let at = argo_app.unwrap_or(parent);
            out.push(Finding::new(
                Family::Bootstrap,
                at.placed,
                format!("spec.source.helm.valuesObject.configs.cm.{HEALTH_RULE}"),
                format!(
                    "Applications report no health (no `{HEALTH_RULE}`): the waves of the \
                     children of `{}` do not wait for each other, and custom resources meet \
                     missing CRDs",
                    parent.name()
                ),
            ));
            continue;
        };
        for child in &children {
            if !child.automated && !rule.contains(MANUAL_EXEMPT) {
                out.push(Finding::new(
                    Family::Bootstrap,
                    child.placed,
                    "spec.syncPolicy",
                    format!(
                        "manual-sync Application `{}` in wave {} of the wave-gated parent \
                         `{}`: its health stays Missing until a person syncs it, so the \
                         parent's sync never finishes (the health rule `{HEALTH_RULE}` does \
                         not exempt manual-sync Applications)",
                        child.name(),
                        child.wave,
                        parent.name()
                    ),
                ));
            }
            if let Some(project) = project_of(cluster, child)
                && project.target == target
            {
                let project_wave = wave(project, &mut Vec::new());
                if project_wave >= child.wave {
                    out.push(Finding::new(
                        Family::Bootstrap,
                        child.placed,
                        "spec.project",
                        format!(
                            "AppProject `{}` syncs in wave {project_wave}, not before this \
                             Application (wave {}): ArgoCD refuses it until then",
                            project.name(),
                            child.wave
                        ),
                    ));
                }
            }
        }
    }
}

/// The cluster Secret registering `server` with ArgoCD: a Secret of the cluster type, or
/// an ExternalSecret whose template makes one.
fn registration<'a>(cluster: &'a Cluster, server: &str) -> Option<&'a Placed> {
    cluster.objects.iter().find(|p| {
        let object = &p.object;
        match (p.group(), p.kind()) {
            ("", "Secret") => {
                object["metadata"]["labels"][CLUSTER_SECRET_LABEL] == "cluster"
                    && object["stringData"]["server"] == server
            }
            ("external-secrets.io", "ExternalSecret") => {
                let template = &object["spec"]["target"]["template"];
                template["metadata"]["labels"][CLUSTER_SECRET_LABEL] == "cluster"
                    && template["data"]["server"] == server
            }
            _ => false,
        }
    })
}

/// An Application deploying to another cluster than ArgoCD's own (`own`) needs that
/// cluster registered, by a cluster Secret its root ancestor's parent syncs in an earlier
/// wave: ArgoCD cannot deploy to an unknown server, and the parent waits for ever.
fn registrations(cluster: &Cluster, apps: &[App], own: &str, out: &mut Vec<Finding>) {
    for app in apps.iter().filter(|a| a.server != own) {
        let Some(secret) = registration(cluster, app.server) else {
            out.push(Finding::new(
                Family::Bootstrap,
                app.placed,
                "spec.destination.server",
                format!(
                    "no cluster Secret (label `{CLUSTER_SECRET_LABEL}: cluster`) registers \
                     server `{}`: ArgoCD cannot deploy Application `{}`",
                    app.server,
                    app.name()
                ),
            ));
            continue;
        };
        // The Application, or the parent it comes with, beside the registration.
        let mut ancestor = app;
        let mut seen = 0;
        while ancestor.placed.target != secret.target && seen < apps.len() {
            let Some(parent) = apps
                .iter()
                .find(|a| a.target == Some(ancestor.placed.target.as_str()))
            else {
                break;
            };
            ancestor = parent;
            seen += 1;
        }
        if ancestor.placed.target != secret.target {
            continue;
        }
        let secret_wave = wave(secret, &mut Vec::new());
        if secret_wave >= ancestor.wave {
            out.push(Finding::new(
                Family::Bootstrap,
                ancestor.placed,
                format!("metadata.annotations.{WAVE}"),
                format!(
                    "Application `{}` (wave {}) deploys to `{}`, registered by {} in wave \
                     {secret_wave}, not before: ArgoCD finds no such cluster and the parent \
                     waits for ever",
                    ancestor.name(),
                    ancestor.wave,
                    app.server,
                    secret.reference()
                ),
            ));
        }
    }
}

/// Every API something installs, and what installs it.
fn providers<'a>(
    cluster: &'a Cluster,
    catalog: &'a Catalog,
    apps: &[App],
    site: Site,
) -> Vec<(String, Provider<'a>)> {
    let charts = &catalog.components.argocd.charts;
    let mut providers = Vec::new();
    for (_, chart) in charts.all() {
        // ArgoCD is installed by hand on its own cluster before the bootstrap; a disabled
        // chart is every cluster's own.
        let argo_cd = std::ptr::eq(chart, &charts.argo_cd);
        let pre_installed = !chart.enabled || (argo_cd && site.management);
        let app = apps.iter().position(|a| {
            a.server == site.server && a.chart.is_some_and(|(_, c)| std::ptr::eq(c, chart))
        });
        let provider = match (pre_installed, app) {
            (true, _) => Provider::Cluster,
            (false, Some(app)) => Provider::App(app),
            (false, None) => continue,
        };
        for api in &chart.apis {
            providers.push((api.clone(), provider));
        }
    }
    for placed in &cluster.objects {
        let api = match (placed.group(), placed.kind()) {
            ("apiextensions.k8s.io", "CustomResourceDefinition") => {
                let spec = &placed.object["spec"];
                format!(
                    "{}/{}",
                    spec["group"].as_str().unwrap_or_default(),
                    spec["names"]["kind"].as_str().unwrap_or_default()
                )
            }
            ("templates.gatekeeper.sh", "ConstraintTemplate") => format!(
                "constraints.gatekeeper.sh/{}",
                placed.object["spec"]["crd"]["spec"]["names"]["kind"]
                    .as_str()
                    .unwrap_or_default()
            ),
            _ => continue,
        };
        if let Some(app) = apps
            .iter()
            .position(|a| a.server == site.server && a.target == Some(placed.target.as_str()))
        {
            let wave = wave(placed, &mut Vec::new());
            providers.push((api, Provider::Object { app, wave, placed }));
        }
    }
    providers
}

/// A group Kubernetes serves itself.
fn built_in(group: &str) -> bool {
    !group.contains('.') || (group.ends_with(".k8s.io") && group != METRICS_API)
}

fn provider_of<'p, 'a>(
    providers: &'p [(String, Provider<'a>)],
    group: &str,
    kind: &str,
) -> Option<&'p Provider<'a>> {
    let qualified = format!("{group}/{kind}");
    providers
        .iter()
        .find(|(api, _)| *api == qualified || api == group)
        .map(|(_, p)| p)
}

/// Something that needs an API: an object of an Application's folder, or an
/// Application's chart (`uses`).
struct Consumer<'a> {
    app: usize,
    /// The object the finding names, and its field.
    placed: &'a Placed,
    field: String,
    /// Its wave inside its Application, and whether its dry run is skipped.
    wave: i64,
    skips_dry_run: bool,
}

/// Every custom resource comes after what installs its CRD; every HorizontalPodAutoscaler
/// reading resource metrics has a metrics API.
fn custom_resources(
    cluster: &Cluster,
    apps: &[App],
    providers: &[(String, Provider)],
    server: &str,
    out: &mut Vec<Finding>,
) {
    for (index, app) in apps.iter().enumerate() {
        if app.server != server {
            continue;
        }
        if let Some((_, chart)) = app.chart {
            for used in &chart.uses {
                let (group, kind) = used.split_once('/').unwrap_or((used, ""));
                let consumer = Consumer {
                    app: index,
                    placed: app.placed,
                    field: format!("metadata.annotations.{WAVE}"),
                    wave: 0,
                    skips_dry_run: false,
                };
                order(apps, providers, &consumer, group, kind, out);
            }
        }
        let Some(target) = app.target else {
            continue;
        };
        for placed in cluster.objects.iter().filter(|p| p.target == target) {
            let consumer = Consumer {
                app: index,
                placed,
                field: "apiVersion".into(),
                wave: wave(placed, &mut Vec::new()),
                skips_dry_run: placed.object["metadata"]["annotations"][SYNC_OPTIONS]
                    .as_str()
                    .is_some_and(|o| o.split(',').any(|o| o.trim() == SKIP_DRY_RUN)),
            };
            if !built_in(placed.group()) {
                order(
                    apps,
                    providers,
                    &consumer,
                    placed.group(),
                    placed.kind(),
                    out,
                );
            }
            if placed.kind() == "HorizontalPodAutoscaler" {
                let metrics = placed.object["spec"]["metrics"].as_array();
                let resource = metrics
                    .into_iter()
                    .flatten()
                    .position(|m| m["type"] == "Resource" || m["type"] == "ContainerResource");
                if let Some(i) = resource {
                    let consumer = Consumer {
                        field: format!("spec.metrics[{i}]"),
                        ..consumer
                    };
                    order(apps, providers, &consumer, METRICS_API, "", out);
                }
            }
        }
    }
}

/// One consumer of `group/kind` against what provides it.
fn order(
    apps: &[App],
    providers: &[(String, Provider)],
    consumer: &Consumer,
    group: &str,
    kind: &str,
    out: &mut Vec<Finding>,
) {
    let app = &apps[consumer.app];
    let what = if kind.is_empty() {
        format!("the API `{group}`")
    } else {
        format!("`{group}/{kind}`")
    };
    let mut finding = |message: String, entry: Option<Vec<&str>>| {
        let found = Finding::new(
            Family::Bootstrap,
            consumer.placed,
            consumer.field.clone(),
            message,
        );
        out.push(match entry {
            Some(keys) => found.at_catalog(&keys),
            None => found,
        });
    };
    let charts = ["components", "argocd", "charts"];
    match provider_of(providers, group, kind) {
        None if group == METRICS_API => finding(
            format!(
                "no Application provides the resource metrics API `{group}` (metrics-server), \
                 nor does the catalog say the cluster has one: the autoscaler reads no \
                 metrics and never scales"
            ),
            Some([&charts[..], &["metricsServer"]].concat()),
        ),
        None => finding(
            format!(
                "no Application installs {what} (nor does the catalog say the cluster has \
                 it): the dry run of Application `{}` fails on a missing kind",
                app.name()
            ),
            None,
        ),
        Some(Provider::Cluster) => {}
        Some(Provider::App(p)) => {
            let provider = &apps[*p];
            let entry = provider
                .chart
                .map(|(key, _)| [&charts[..], &[key, "wave"]].concat());
            if *p != consumer.app && provider.wave >= app.wave {
                finding(
                    format!(
                        "{what} is installed by Application `{}` in wave {}, not before \
                     Application `{}` (wave {}) that needs it: its sync fails until the CRD \
                     exists",
                        provider.name(),
                        provider.wave,
                        app.name(),
                        app.wave
                    ),
                    entry,
                );
            }
        }
        Some(Provider::Object {
            app: p,
            wave,
            placed,
        }) => {
            let provider = &apps[*p];
            if *p != consumer.app {
                if provider.wave >= app.wave {
                    finding(
                        format!(
                            "{what} is created by {} of Application `{}` in wave {}, not before \
                         Application `{}` (wave {})",
                            placed.reference(),
                            provider.name(),
                            provider.wave,
                            app.name(),
                            app.wave
                        ),
                        None,
                    );
                }
            } else if *wave >= consumer.wave || !consumer.skips_dry_run {
                finding(
                    format!(
                        "{what} is created by {} (wave {wave}) of the same Application: this \
                     object needs a later sync wave and `{SYNC_OPTIONS}: {SKIP_DRY_RUN}` \
                     (it has wave {}{})",
                        placed.reference(),
                        consumer.wave,
                        if consumer.skips_dry_run {
                            ""
                        } else {
                            ", no dry-run skip"
                        }
                    ),
                    None,
                );
            }
        }
    }
}

/// A child of a wave-gated parent whose readiness waits for every output to connect, with
/// an output in a namespace only a later wave (or a person) deploys, never gets ready:
/// the parent stops at its wave.
fn readiness(cluster: &Cluster, apps: &[App], server: &str, out: &mut Vec<Finding>) {
    for workload in &cluster.workloads {
        let placed = &cluster.objects[workload.object];
        let Some(app) = apps
            .iter()
            .find(|a| a.server == server && a.target == Some(placed.target.as_str()))
        else {
            continue;
        };
        let Some(spec) = cluster.pod_spec(workload) else {
            continue;
        };
        let base = workload
            .template
            .map_or(String::new(), |t| format!("{}.spec.", t.path));
        for (path, container) in containers(spec) {
            let image = container["image"].as_str().unwrap_or_default();
            let probe_path = container["readinessProbe"]["httpGet"]["path"]
                .as_str()
                .unwrap_or_default();
            let waits = READINESS_WAITS_FOR_OUTPUTS.iter().any(|(program, ready)| {
                image_name(image).ends_with(program) && probe_path == *ready
            });
            if !waits {
                continue;
            }
            for namespace in downstream_namespaces(cluster, placed, spec, container) {
                let deployers: Vec<&App> = apps
                    .iter()
                    .filter(|a| {
                        a.server == server
                            && a.spec()["destination"]["namespace"] == namespace.as_str()
                    })
                    .collect();
                let late = deployers.iter().find(|d| !d.automated || d.wave > app.wave);
                if deployers.is_empty() || late.is_some() {
                    let why = match late {
                        Some(d) if !d.automated => {
                            format!("Application `{}`, synced by hand", d.name())
                        }
                        Some(d) => format!("Application `{}` in wave {}", d.name(), d.wave),
                        None => "no Application".to_owned(),
                    };
                    out.push(Finding::new(
                        Family::Bootstrap,
                        placed,
                        format!("{base}{path}.readinessProbe.httpGet.path"),
                        format!(
                            "readiness `{probe_path}` of `{image}` waits for every output to \
                             connect, and one is in namespace `{namespace}`, deployed by \
                             {why}, after this workload's Application `{}` (wave {}): it \
                             never gets ready and the parent stops at wave {}",
                            app.name(),
                            app.wave,
                            app.wave
                        ),
                    ));
                }
            }
        }
    }
}

/// The repository part of an image reference (no registry port confusion: the tag is
/// what follows the last `:` after the last `/`).
fn image_name(image: &str) -> &str {
    let image = image.split('@').next().unwrap_or(image);
    match image.rfind(':') {
        Some(i) if !image[i..].contains('/') => &image[..i],
        _ => image,
    }
}

/// Namespaces of the Services (`<name>.<namespace>.svc`) a container is configured
/// with: its environment values and the ConfigMaps the pod mounts.
fn downstream_namespaces(
    cluster: &Cluster,
    placed: &Placed,
    spec: &Value,
    container: &Value,
) -> BTreeSet<String> {
    let mut texts: Vec<&str> = Vec::new();
    for variable in container["env"].as_array().into_iter().flatten() {
        texts.extend(variable["value"].as_str());
        // A value an ExternalSecret builds with a template (a URL around a password).
        let from = &variable["valueFrom"]["secretKeyRef"];
        if let (Some(secret), Some(key)) = (from["name"].as_str(), from["key"].as_str())
            && let Some(external) = cluster.get(
                "external-secrets.io",
                "ExternalSecret",
                placed.namespace(),
                secret,
            )
        {
            texts.extend(external.object["spec"]["target"]["template"]["data"][key].as_str());
        }
    }
    let arguments: Vec<&str> = ["command", "args"]
        .iter()
        .flat_map(|f| container[*f].as_array().into_iter().flatten())
        .filter_map(Value::as_str)
        .collect();
    for mount in container["volumeMounts"].as_array().into_iter().flatten() {
        let volume = spec["volumes"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|v| v["name"] == mount["name"]);
        let Some(name) = volume.and_then(|v| v["configMap"]["name"].as_str()) else {
            continue;
        };
        let Some(config_map) = cluster.get("", "ConfigMap", placed.namespace(), name) else {
            continue;
        };
        let data: Vec<(&str, &Value)> = config_map.object["data"]
            .as_object()
            .into_iter()
            .flatten()
            .collect();
        // The files its command line names, when it names some; else all of them.
        let dir = mount["mountPath"]
            .as_str()
            .unwrap_or_default()
            .trim_end_matches('/');
        let named: Vec<&str> = data
            .iter()
            .filter(|(key, _)| {
                arguments
                    .iter()
                    .any(|a| a.contains(&format!("{dir}/{key}")))
            })
            .filter_map(|(_, v)| v.as_str())
            .collect();
        if named.is_empty() {
            texts.extend(data.iter().filter_map(|(_, v)| v.as_str()));
        } else {
            texts.extend(named);
        }
    }
    let mut namespaces = BTreeSet::new();
    for text in texts {
        for (at, _) in text.match_indices(".svc") {
            let host = &text[..at];
            let start = host
                .char_indices()
                .rev()
                .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '.'))
                .map_or(0, |(i, c)| i + c.len_utf8());
            let mut labels = host[start..].rsplit('.');
            // The API server's Service exists before anything is deployed.
            if let (Some(namespace), Some(service)) = (labels.next(), labels.next())
                && (service, namespace) != ("kubernetes", "default")
            {
                namespaces.insert(namespace.to_owned());
            }
        }
    }
    namespaces
}

/// An object whose health needs another object: `(field, group, kind, name, namespaced)`
/// of each reference it makes (an ExternalSecret's store, an Ingress's or a
/// Certificate's issuer).
fn health_references(placed: &Placed) -> Vec<(String, &'static str, &str, &str, bool)> {
    let object = &placed.object;
    let annotations = &object["metadata"]["annotations"];
    let mut references = Vec::new();
    match (placed.group(), placed.kind()) {
        ("external-secrets.io", "ExternalSecret") => {
            let store = &object["spec"]["secretStoreRef"];
            let kind = store["kind"].as_str().unwrap_or("SecretStore");
            if let Some(name) = store["name"].as_str() {
                let field = "spec.secretStoreRef.name".to_owned();
                let namespaced = kind == "SecretStore";
                references.push((field, "external-secrets.io", kind, name, namespaced));
            }
        }
        ("cert-manager.io", "Certificate") => {
            let issuer = &object["spec"]["issuerRef"];
            let kind = issuer["kind"].as_str().unwrap_or("Issuer");
            if let Some(name) = issuer["name"].as_str() {
                let field = "spec.issuerRef.name".to_owned();
                let namespaced = kind == "Issuer";
                references.push((field, "cert-manager.io", kind, name, namespaced));
            }
        }
        ("networking.k8s.io", "Ingress") => {
            for (key, kind, namespaced) in [
                ("cert-manager.io/cluster-issuer", "ClusterIssuer", false),
                ("cert-manager.io/issuer", "Issuer", true),
            ] {
                if let Some(name) = annotations[key].as_str() {
                    references.push((
                        format!("metadata.annotations.{key}"),
                        "cert-manager.io",
                        kind,
                        name,
                        namespaced,
                    ));
                }
            }
        }
        _ => {}
    }
    references
}

/// A child of a wave-gated parent whose health needs an object that a later wave (or a
/// person) deploys never gets healthy: the parent stops at its wave.
fn later_references(cluster: &Cluster, apps: &[App], server: &str, out: &mut Vec<Finding>) {
    let deployer = |placed: &Placed| {
        apps.iter()
            .find(|a| a.server == server && a.target == Some(placed.target.as_str()))
    };
    for placed in &cluster.objects {
        let Some(app) = deployer(placed) else {
            continue;
        };
        for (field, group, kind, name, namespaced) in health_references(placed) {
            let namespace = if namespaced { placed.namespace() } else { "" };
            let found = cluster.get(group, kind, namespace, name);
            let Some((target, by)) = found.and_then(|p| Some((p, deployer(p)?))) else {
                continue;
            };
            let late = by.wave > app.wave || (!by.automated && !std::ptr::eq(by, app));
            if late {
                let when = if by.automated {
                    format!("in wave {}", by.wave)
                } else {
                    "by hand".to_owned()
                };
                out.push(Finding::new(
                    Family::Bootstrap,
                    placed,
                    field,
                    format!(
                        "needs {}, which Application `{}` syncs {when}, after this object's \
                         Application `{}` (wave {}): it stays unhealthy and the parent stops \
                         at wave {}",
                        target.reference(),
                        by.name(),
                        app.name(),
                        app.wave,
                        app.wave
                    ),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::value::json;

    #[test]
    fn project_patterns() {
        assert!(glob("*", "kube-system"));
        assert!(glob("e-commerce-*", "e-commerce-dev"));
        assert!(!glob("e-commerce-*", "monitoring"));
        assert!(glob("a*c*e", "abcde"));
        assert!(!glob("cert-manager", "kube-system"));
    }

    #[test]
    fn image_names_drop_the_tag_only() {
        assert_eq!(image_name("jeffail/benthos:4.27.0"), "jeffail/benthos");
        assert_eq!(image_name("registry:5000/benthos"), "registry:5000/benthos");
        assert_eq!(image_name("a/b@sha256:00"), "a/b");
    }

    #[test]
    fn service_hosts_name_their_namespace() {
        let cluster = Cluster::default();
        let placed = Placed::first("t", json!({"metadata": {"namespace": "monitoring"}}));
        let container = json!({"env": [
            {"name": "A", "value": "redis://:p@redis.e-commerce-dev.svc.cluster.local:6379"},
            {"name": "B", "value": "https://kubernetes.default.svc:443"},
            {"name": "C", "value": "é@jaeger.tracing.svc"},
        ]});
        let found = downstream_namespaces(&cluster, &placed, &Value::Null, &container);
        let found: Vec<&str> = found.iter().map(String::as_str).collect();
        assert_eq!(found, ["e-commerce-dev", "tracing"]);
    }

    #[test]
    fn built_in_groups() {
        assert!(built_in(""));
        assert!(built_in("apps"));
        assert!(built_in("networking.k8s.io"));
        assert!(!built_in(METRICS_API));
        assert!(!built_in("rabbitmq.com"));
    }
}
