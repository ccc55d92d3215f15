//! Check stage, admission: what the API server's admission chain does with the objects
//! once applied, namespace by namespace — the LimitRanger (defaults, then min, max and
//! ratio per container and pod), the ResourceQuota (the namespace at its peak: every
//! workload at its replicas or autoscaler maximum, plus the rolling-update surge, plus
//! one run of each Job and CronJob), Pod Security (the namespace's enforced level) and
//! the platform's own Gatekeeper constraints, whose Rego runs in a real engine.
//!
//! The namespaces are indexed once (quotas, LimitRanges, autoscaler maxima, the pods of
//! every workload), so the check is linear in the number of objects.

pub mod gatekeeper;
pub mod limit_range;
pub mod pod_security;
pub mod quota;
pub mod resources;

use super::cluster::{Cluster, Placed, Workload};
use super::{Finding, join};
use crate::check::value::Value;
use resources::{LimitItem, Resources};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Findings of the admission checks for `objects` but Gatekeeper's
/// ([`gatekeeper::check`], which `validate` runs on its own: its Rego is the largest part).
pub fn check(cluster: &Cluster, objects: &[&Placed]) -> Vec<Finding> {
    let checked: HashSet<(usize, usize)> = objects
        .iter()
        .map(|p| (p.target_index, p.position))
        .collect();
    let is_checked = |p: &Placed| checked.contains(&(p.target_index, p.position));
    let namespaces = Namespace::index(cluster);
    let mut out = Vec::new();
    for namespace in namespaces.values() {
        for pods in namespace.pods.iter().filter(|p| is_checked(p.placed)) {
            limit_range::check(pods, &namespace.limits, &mut out);
            for quota in &namespace.quotas {
                quota::required(quota, pods, &mut out);
            }
        }
        for claim in namespace.claims.iter().filter(|c| is_checked(c)) {
            limit_range::check_claim(claim, &namespace.limits, &mut out);
        }
        for quota in namespace.quotas.iter().filter(|q| is_checked(q)) {
            quota::check(quota, namespace, &mut out);
        }
        let level = pod_security::Level::of(cluster, &namespace.name);
        for pods in namespace.pods.iter().filter(|p| is_checked(p.placed)) {
            pod_security::check(level, pods.placed, &pods.spec_path, pods.spec, &mut out);
        }
    }
    out
}

/// What admission knows of one namespace.
pub struct Namespace<'a> {
    pub name: String,
    pub quotas: Vec<&'a Placed>,
    /// Items of every LimitRange of the namespace.
    pub limits: Vec<LimitItem<'a>>,
    /// PersistentVolumeClaim objects.
    pub claims: Vec<&'a Placed>,
    /// The pods of every workload with a pod template.
    pub pods: Vec<Pods<'a>>,
}

impl<'a> Namespace<'a> {
    /// Every namespace that holds a workload, a quota, a LimitRange or a claim, indexed
    /// in one pass over the cluster.
    pub fn index(cluster: &'a Cluster) -> BTreeMap<String, Namespace<'a>> {
        let mut namespaces: BTreeMap<String, Namespace<'a>> = BTreeMap::new();
        // Autoscaler maxima by (namespace, kind, name) of the scaled object.
        let mut autoscaled: HashMap<(&str, &str, &str), i64> = HashMap::new();
        for placed in &cluster.objects {
            match (placed.group(), placed.kind()) {
                ("", "ResourceQuota") => {
                    at(&mut namespaces, placed.namespace()).quotas.push(placed)
                }
                ("", "LimitRange") => at(&mut namespaces, placed.namespace())
                    .limits
                    .extend(LimitItem::of(placed)),
                ("", "PersistentVolumeClaim") => {
                    at(&mut namespaces, placed.namespace()).claims.push(placed)
                }
                ("autoscaling", "HorizontalPodAutoscaler") => {
                    let target = &placed.object["spec"]["scaleTargetRef"];
                    if let (Some(kind), Some(name), Some(max)) = (
                        target["kind"].as_str(),
                        target["name"].as_str(),
                        placed.object["spec"]["maxReplicas"].as_i64(),
                    ) {
                        autoscaled.insert((placed.namespace(), kind, name), max);
                    }
                }
                _ => {}
            }
        }
        for workload in &cluster.workloads {
            let Some(template) = workload.template else {
                continue;
            };
            let placed = &cluster.objects[workload.object];
            let Some(spec) = cluster.pod_spec(workload) else {
                continue;
            };
            let scaled = autoscaled
                .get(&(
                    workload.namespace.as_str(),
                    workload.kind.as_str(),
                    workload.name.as_str(),
                ))
                .copied();
            let namespace = at(&mut namespaces, &workload.namespace);
            let defaults: Vec<&resources::Defaults> = namespace
                .limits
                .iter()
                .filter(|i| i.kind == "Container")
                .map(|i| &i.defaults)
                .collect();
            let mut containers = Vec::new();
            for field in ["containers", "initContainers"] {
                for (i, c) in spec[field].as_array().into_iter().flatten().enumerate() {
                    containers.push(Container {
                        name: c["name"].as_str().unwrap_or_default().to_owned(),
                        path: format!("{field}[{i}]"),
                        init: field == "initContainers",
                        sidecar: resources::sidecar(c),
                        own: resources::container(c, &[]),
                        resources: resources::container(c, &defaults),
                    });
                }
            }
            let total = resources::pod(
                containers.iter().filter(|c| !c.init).map(|c| &c.resources),
                containers
                    .iter()
                    .filter(|c| c.init)
                    .map(|c| (c.sidecar, &c.resources)),
                &spec["overhead"],
            );
            namespace.pods.push(Pods {
                placed,
                workload,
                spec_path: join(template.path, "spec"),
                spec,
                containers,
                total,
                peak: Peak::of(placed, workload, scaled),
            });
        }
        namespaces
    }
}

/// The entry of a namespace, created empty on first use.
fn at<'m, 'a>(
    namespaces: &'m mut BTreeMap<String, Namespace<'a>>,
    name: &str,
) -> &'m mut Namespace<'a> {
    namespaces
        .entry(name.to_owned())
        .or_insert_with(|| Namespace {
            name: name.to_owned(),
            quotas: Vec::new(),
            limits: Vec::new(),
            claims: Vec::new(),
            pods: Vec::new(),
        })
}

/// A container of a pod template, with its requests and limits as admitted.
pub struct Container {
    pub name: String,
    /// Path relative to the pod spec (`containers[0]`, `initContainers[1]`).
    pub path: String,
    pub init: bool,
    /// An init container that keeps running (`restartPolicy: Always`).
    pub sidecar: bool,
    /// What the container sets itself (a limit without request also being its request).
    pub own: Resources,
    /// With the LimitRange's defaults.
    pub resources: Resources,
}

/// The pods one workload runs: their template, as admitted, and how many at the peak.
pub struct Pods<'a> {
    pub placed: &'a Placed,
    pub workload: &'a Workload,
    /// Field path of the pod spec in the object (`spec.template.spec`).
    pub spec_path: String,
    pub spec: &'a Value,
    pub containers: Vec<Container>,
    /// One pod's total, as quota counts it.
    pub total: Resources,
    pub peak: Peak,
}

/// How many pods of a workload run at the namespace's peak, by cause.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Peak {
    /// Replicas, or the autoscaler's maximum; 1 for a bare Pod.
    pub running: i64,
    /// Extra pods of a rolling update (a Deployment's `maxSurge`).
    pub surge: i64,
    /// Pods of one run of a Job or CronJob.
    pub run: i64,
    /// Replicas whose count no object states (a DaemonSet runs one per node).
    pub unbounded: bool,
}

impl Peak {
    fn of(placed: &Placed, workload: &Workload, autoscaled: Option<i64>) -> Peak {
        let spec = &placed.object["spec"];
        match workload.kind.as_str() {
            "Deployment" | "StatefulSet" | "ReplicaSet" | "Pod" => {
                let running = autoscaled.or(workload.replicas).unwrap_or(1);
                let surge = if workload.kind == "Deployment" {
                    surge(&spec["strategy"], running)
                } else {
                    // A StatefulSet replaces its pods one by one, with no extra pod.
                    0
                };
                Peak {
                    running,
                    surge,
                    ..Peak::default()
                }
            }
            "Job" => Peak {
                run: job_pods(spec),
                ..Peak::default()
            },
            "CronJob" => Peak {
                run: job_pods(&spec["jobTemplate"]["spec"]),
                ..Peak::default()
            },
            _ => Peak {
                unbounded: true,
                ..Peak::default()
            },
        }
    }

    pub fn pods(self) -> i64 {
        self.running + self.surge + self.run
    }
}

/// Extra pods a Deployment's strategy creates during a rollout: `maxSurge` (default 25%,
/// a percentage rounded up) for `RollingUpdate`, none for `Recreate`.
fn surge(strategy: &Value, replicas: i64) -> i64 {
    if strategy["type"].as_str() == Some("Recreate") {
        return 0;
    }
    let percent = |p: i64| (replicas * p + 99) / 100;
    match &strategy["rollingUpdate"]["maxSurge"] {
        Value::Number(n) => n.as_i64().unwrap_or(0),
        Value::String(s) => s
            .strip_suffix('%')
            .and_then(|p| p.parse().ok())
            .map_or(0, percent),
        _ => percent(25),
    }
}

/// Pods that run at once in one run of a Job: `parallelism` (default 1), at most
/// `completions` when set.
fn job_pods(spec: &Value) -> i64 {
    let parallelism = spec["parallelism"].as_i64().unwrap_or(1);
    match spec["completions"].as_i64() {
        Some(completions) => parallelism.min(completions),
        None => parallelism,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::value::json;

    #[test]
    fn rolling_updates_surge_by_their_strategy() {
        assert_eq!(surge(&json!(null), 1), 1);
        assert_eq!(surge(&json!(null), 15), 4);
        assert_eq!(surge(&json!({"type": "Recreate"}), 8), 0);
        let of = |max: Value| json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": max}});
        assert_eq!(surge(&of(json!(0)), 8), 0);
        assert_eq!(surge(&of(json!(2)), 8), 2);
        assert_eq!(surge(&of(json!("50%")), 3), 2);
    }

    #[test]
    fn a_job_runs_its_parallelism_at_most_its_completions() {
        assert_eq!(job_pods(&json!({})), 1);
        assert_eq!(job_pods(&json!({"parallelism": 4})), 4);
        assert_eq!(job_pods(&json!({"parallelism": 4, "completions": 2})), 2);
    }
}
