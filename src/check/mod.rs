//! Check stage: judges the rendered objects of the targets, after the descriptors have
//! passed their own checks. Each family of checks is a module of small functions over
//! the objects of every target (`cluster`): cross-references (`references`), policy
//! (`policy`), what the API server's admission does with them (`admission`: quotas,
//! LimitRanges, Pod Security, Gatekeeper), custom resources against their JSON schemas
//! (`schemas`), names and labels against the limits of the API server (`names`),
//! connections that would fail at run time (`wiring`), the ArgoCD bootstrap from an
//! empty cluster (`bootstrap`), namespaces of another cluster named where only the
//! object's own count (`clusters`). `reachability` evaluates the NetworkPolicies into who
//! may connect to whom. With several clusters each is checked on its own.
//!
//! A finding names the object and target, the field, and the descriptor entry behind it
//! (`origin`); findings print in a fixed order, one block each.

pub mod admission;
pub mod bootstrap;
pub mod cluster;
pub mod clusters;
pub mod names;
pub mod origin;
pub mod policy;
pub mod reachability;
pub mod references;
pub mod schemas;
pub mod value;
pub mod wiring;

use crate::error::Result;
use crate::{Platform, Target};
use cluster::{Cluster, Placed};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// The family a finding belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Family {
    /// A reference from one object to another that does not resolve.
    References,
    /// A rule of the platform's policy is broken (images, resources, secrets, Pod
    /// Security, network isolation).
    Policy,
    /// The API server's admission rejects the object or its pods (ResourceQuota,
    /// LimitRange, Pod Security, Gatekeeper constraints).
    Admission,
    /// A custom resource does not match its CRD's schema, or has none.
    Schema,
    /// A name or label the API server refuses (too long for its kind, malformed).
    Names,
    /// A connection a pod is configured with, or one a controller needs, would fail at
    /// run time (unresolved endpoint, unserved port, blocked by NetworkPolicies, missing
    /// credentials or backend).
    Wiring,
    /// The ArgoCD bootstrap from an empty cluster does not converge: an Application its
    /// AppProject refuses, a custom resource before its CRD, a wave that never gets
    /// healthy, a sync never retried, images that are gone.
    Bootstrap,
}

impl Family {
    pub fn as_str(self) -> &'static str {
        match self {
            Family::References => "references",
            Family::Policy => "policy",
            Family::Admission => "admission",
            Family::Schema => "schema",
            Family::Names => "names",
            Family::Wiring => "wiring",
            Family::Bootstrap => "bootstrap",
        }
    }
}

/// One problem in one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub family: Family,
    pub target: String,
    /// `Kind/namespace/name` (`Kind/name` when cluster-scoped).
    pub object: String,
    /// Dotted field path inside the object (`spec.template.spec.containers[0].image`).
    pub field: String,
    pub message: String,
    /// The descriptor entry behind the object or field, with its position.
    pub descriptor: Option<String>,
    /// The catalog entry to name instead of the object's own (keys from the root), when
    /// what to change is another object's setting (the operator's wave, the chart).
    pub catalog_entry: Option<Vec<String>>,
    /// `(target index, position in the target's build)`: the report order.
    order: (usize, usize),
}

impl Finding {
    pub fn new(
        family: Family,
        placed: &Placed,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Finding {
        Finding {
            family,
            target: placed.target.clone(),
            object: placed.reference(),
            field: field.into(),
            message: message.into(),
            descriptor: None,
            catalog_entry: None,
            order: (placed.target_index, placed.position),
        }
    }

    /// Names the catalog entry at `keys` as the descriptor behind the finding.
    pub fn at_catalog(mut self, keys: &[&str]) -> Finding {
        self.catalog_entry = Some(keys.iter().map(|k| (*k).to_owned()).collect());
        self
    }
}

impl fmt::Display for Finding {
    /// ```text
    /// error[policy]: image `registry/auth-service:latest` has the tag `latest`: pin a version (...)
    ///   --> Deployment/e-commerce-staging/auth-service (target staging)
    ///    = field: spec.template.spec.containers[0].image
    ///    = descriptor: environments/staging.yaml:31:17: images.auth-service
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error[{}]: {}", self.family.as_str(), self.message)?;
        writeln!(f, "  --> {} (target {})", self.object, self.target)?;
        if !self.field.is_empty() {
            writeln!(f, "   = field: {}", self.field)?;
        }
        if let Some(descriptor) = &self.descriptor {
            writeln!(f, "   = descriptor: {descriptor}")?;
        }
        Ok(())
    }
}

/// What `validate` checks beyond the objects themselves.
#[derive(Debug, Clone, Default)]
pub struct Options<'a> {
    /// Folder of the custom resources' JSON schemas (`<group>/<kind>_<version>.json`).
    pub crd_schemas: Option<&'a Path>,
}

/// Every object of every target of the platform: the cluster the checks reason about.
/// Cross-target references (a ServiceMonitor in `monitoring`, the Services it scrapes in
/// the environments) resolve whichever targets are being checked.
pub fn gather(platform: &Platform) -> Result<Cluster> {
    gather_targets(platform, |_| true, Some)
}

/// What one Kubernetes cluster would hold: the objects of the targets applied to it that
/// `only` accepts, keeping only what `keep` makes of each object (`None`: nothing) as
/// each target is rendered, so that a check that needs few targets, kinds or fields
/// renders and holds no more. A NetworkPolicy, a selector, a store's conditions only
/// ever meet objects of their own cluster.
pub fn gather_cluster(
    platform: &Platform,
    cluster: &str,
    only: impl Fn(&Target) -> bool,
    keep: impl Fn(Placed) -> Option<Placed> + Sync,
) -> Result<Cluster> {
    gather_targets(platform, |t| t.cluster == cluster && only(t), keep)
}

/// The objects of the targets `which` accepts, in the order of the project's targets
/// (each keeps its index in that list), as `keep` makes them.
fn gather_targets(
    platform: &Platform,
    which: impl Fn(&Target) -> bool,
    keep: impl Fn(Placed) -> Option<Placed> + Sync,
) -> Result<Cluster> {
    let chosen = platform
        .targets
        .iter()
        .enumerate()
        .filter(|(_, t)| which(t));
    // Each target is rendered on its own core; the order of the list stays the targets'.
    let builds = crate::parallel::map(chosen, |(index, target)| {
        let kept = platform.objects_with(target, |object| {
            keep(Placed::new(&target.name, index, 0, object.into()))
        })?;
        Ok::<_, crate::error::Error>(kept.into_iter().map(|(position, mut placed)| {
            placed.position = position;
            placed
        }))
    });
    let mut objects = Vec::new();
    for build in builds {
        objects.extend(build?);
    }
    Ok(Cluster::new(objects))
}

/// What `validate` found, and what it could not check.
#[derive(Debug, Clone, Default)]
pub struct Validation {
    /// Findings in report order.
    pub findings: Vec<Finding>,
    /// Custom resources not checked against a schema: no schema folder was given.
    pub unchecked_custom_resources: usize,
}

/// From how many checked objects Gatekeeper's evaluation is split in two jobs.
const GATEKEEPER_SPLIT: usize = 2_000;

/// Checks the rendered objects of `targets`, cluster by cluster: each check sees what its
/// cluster would hold. The bootstrap reads, besides, the Applications deploying to the
/// cluster (all in ArgoCD's own).
pub fn validate(platform: &Platform, targets: &[&Target], options: &Options) -> Result<Validation> {
    let project = &platform.project;
    let origins = origin::Origins::load(project)?;
    let mut findings = Vec::new();
    let mut unchecked_custom_resources = 0;
    for site in project.clusters() {
        if !platform.targets.iter().any(|t| t.cluster == site.name) {
            continue;
        }
        let own = project.management().name;
        let applications = |t: &Target| {
            t.kind == crate::TargetKind::Component
                && crate::components::of_target(project, &t.name).1 == crate::components::ARGOCD
        };
        let cluster = gather_targets(
            platform,
            |t| t.cluster == site.name || (t.cluster == own && applications(t)),
            Some,
        )?;
        let checked = |p: &&Placed| {
            platform.targets[p.target_index].cluster == site.name
                && targets.iter().any(|t| t.name == p.target)
        };
        let objects: Vec<&Placed> = cluster.objects.iter().filter(checked).collect();
        let unpinned_allowed = (project.environments.iter())
            .filter(|e| e.allow_unpinned_images)
            .map(|e| e.namespace.as_str())
            .collect();
        let ingress_namespace = project.catalog.security.ingress_namespace.as_str();
        // The families only read the cluster: they run side by side on every core, the
        // longest first so that no long one starts last (at 1,000 services: Gatekeeper
        // 32 % of the CPU time, wiring 9 %, references 7 %, the others 2 to 4 %); the
        // report's order comes from sorting, not from the jobs'. Gatekeeper's Rego runs
        // as two jobs over every other object (each compiles the templates: on a small
        // catalog, that would cost more than it saves).
        let halves: [Vec<&Placed>; 2] = if objects.len() < GATEKEEPER_SPLIT {
            [objects.clone(), Vec::new()]
        } else {
            [0, 1].map(|half| objects.iter().skip(half).step_by(2).copied().collect())
        };
        let elsewhere = elsewhere(project, site.name);
        let jobs: Vec<Box<dyn FnOnce() -> Vec<Finding> + Send + '_>> = vec![
            Box::new(|| admission::gatekeeper::check(&cluster, &halves[0])),
            Box::new(|| admission::gatekeeper::check(&cluster, &halves[1])),
            Box::new(|| wiring::check(&cluster, &objects, ingress_namespace)),
            Box::new(|| references::check(&cluster, &objects)),
            Box::new(|| policy::check(&cluster, &objects, &unpinned_allowed)),
            Box::new(|| names::check(&objects)),
            Box::new(|| admission::check(&cluster, &objects)),
            Box::new(|| {
                let bootstrap =
                    bootstrap::check(&cluster, &project.catalog, &platform.targets, site);
                (bootstrap.into_iter())
                    .filter(|f| targets.iter().any(|t| t.name == f.target))
                    .collect()
            }),
            Box::new(|| clusters::check(&objects, site.name, &elsewhere)),
        ];
        let mut found: Vec<Finding> = crate::parallel::map(jobs, |job| job())
            .into_iter()
            .flatten()
            .collect();
        match options.crd_schemas {
            Some(dir) => found.extend(schemas::check(dir, &cluster, &objects)?),
            None => {
                unchecked_custom_resources += (objects.iter())
                    .filter(|p| !schemas::built_in(p.group()))
                    .count();
            }
        }
        for finding in &mut found {
            let placed = cluster
                .at(finding.order.0, finding.order.1)
                .expect("a finding names an object of the cluster");
            finding.descriptor = match &finding.catalog_entry {
                Some(keys) => Some(origins.describe_catalog(keys)),
                None => origins.describe(placed, &finding.field),
            };
        }
        findings.extend(found);
        drop((objects, halves));
        // Freeing every object takes a tenth of the time at 1,000 services: it happens
        // beside the rest (a process that prints the report and exits never waits for it).
        std::thread::spawn(move || drop(cluster));
    }
    findings.sort_by(|a, b| {
        (a.order, &a.field, a.family, &a.message).cmp(&(b.order, &b.field, b.family, &b.message))
    });
    findings.dedup();
    Ok(Validation {
        findings,
        unchecked_custom_resources,
    })
}

/// The namespaces of environments on other clusters than `cluster` that no environment
/// of `cluster` has, each with its cluster.
fn elsewhere(project: &crate::model::Project, cluster: &str) -> BTreeMap<String, String> {
    let on = |e: &&crate::descriptor::EnvironmentFile| project.cluster_of(e).name == cluster;
    let here: Vec<&str> = (project.environments.iter().filter(on))
        .map(|e| e.namespace.as_str())
        .collect();
    (project.environments.iter())
        .filter(|e| !on(e) && !here.contains(&e.namespace.as_str()))
        .map(|e| {
            (
                e.namespace.to_string(),
                project.cluster_of(e).name.to_owned(),
            )
        })
        .collect()
}

/// The report: one block per finding, a note on what went unchecked, a summary line.
pub fn report(validation: &Validation, targets: &[&Target]) -> String {
    let findings = &validation.findings;
    let mut text = String::new();
    for finding in findings {
        text.push_str(&finding.to_string());
        text.push('\n');
    }
    let unchecked = validation.unchecked_custom_resources;
    if unchecked > 0 {
        text.push_str(&format!(
            "note: {unchecked} custom resource(s) not checked against their CRD schemas: \
             give the schemas with --crd-schemas DIR (or $PLATGEN_CRD_SCHEMAS)\n"
        ));
    }
    let names: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
    if findings.is_empty() {
        text.push_str(&format!(
            "objects valid: {} target(s) checked ({})\n",
            targets.len(),
            names.join(", ")
        ));
    } else {
        let mut with_findings: Vec<&str> = findings.iter().map(|f| f.target.as_str()).collect();
        with_findings.dedup();
        text.push_str(&format!(
            "{} finding(s) in {} of {} target(s) checked ({})\n",
            findings.len(),
            with_findings.len(),
            targets.len(),
            with_findings.join(", ")
        ));
    }
    text
}

/// `base.key`, or `key` at the root.
pub(crate) fn join(base: &str, key: &str) -> String {
    if base.is_empty() {
        key.to_owned()
    } else {
        format!("{base}.{key}")
    }
}
