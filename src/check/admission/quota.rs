//! Check stage, admission: ResourceQuota. The quota must hold its namespace at its peak —
//! every workload at its replicas or autoscaler maximum, a rolling update of every
//! Deployment at once (ArgoCD syncs a release everywhere), and one run of each Job and
//! CronJob — counted as the quota controller counts pods (init containers and sidecars
//! included, LimitRange defaults applied); and every container must state each compute
//! resource the quota tracks, or its pods are rejected.
//!
//! Quota scopes are not modelled: a scoped quota is checked as if it counted every pod,
//! which can only overcount. DaemonSet pods (one per node) are not counted.

use super::resources::Amount;
use super::{Namespace, Pods};
use crate::check::cluster::Placed;
use crate::check::{Family, Finding, join};

/// What a key of a quota's `spec.hard` counts.
enum Counted {
    /// `requests.<resource>` or `limits.<resource>` of the pods (`cpu` is `requests.cpu`).
    Compute(String),
    Pods,
    Claims,
    Storage,
}

fn counted(key: &str) -> Option<Counted> {
    match key {
        "pods" | "count/pods" => Some(Counted::Pods),
        "persistentvolumeclaims" | "count/persistentvolumeclaims" => Some(Counted::Claims),
        "requests.storage" => Some(Counted::Storage),
        "cpu" | "memory" | "ephemeral-storage" => Some(Counted::Compute(format!("requests.{key}"))),
        _ if key.starts_with("requests.") || key.starts_with("limits.") => {
            Some(Counted::Compute(key.to_owned()))
        }
        _ => None,
    }
}

/// A quota's use at the peak, by cause.
#[derive(Default)]
struct Use {
    running: Amount,
    surge: Amount,
    run: Amount,
    pods: [i64; 3],
}

impl Use {
    fn total(&self) -> Amount {
        self.running + self.surge + self.run
    }

    fn add(&mut self, pods: &Pods, amount: Amount) {
        let peak = pods.peak;
        self.running = self.running + amount.times(peak.running);
        self.surge = self.surge + amount.times(peak.surge);
        self.run = self.run + amount.times(peak.run);
        self.pods[0] += peak.running;
        self.pods[1] += peak.surge;
        self.pods[2] += peak.run;
    }

    /// `40 pods (26 at their replicas or autoscaler maximum, ...)`.
    fn pods(&self) -> String {
        let causes = [
            (self.pods[0], "at their replicas or autoscaler maximum"),
            (self.pods[1], "of rolling-update surge"),
            (self.pods[2], "of one run of each Job and CronJob"),
        ];
        let parts: Vec<String> = causes
            .iter()
            .filter(|(pods, _)| *pods > 0)
            .map(|(pods, why)| format!("{pods} {why}"))
            .collect();
        let total: i64 = self.pods.iter().sum();
        format!("{total} pods ({})", parts.join(", "))
    }

    /// `9800m: 8300m for 40 pods at their replicas or autoscaler maximum, ...`.
    fn breakdown(&self, unit: &str) -> String {
        let causes = [
            (
                self.running,
                self.pods[0],
                "at their replicas or autoscaler maximum",
            ),
            (self.surge, self.pods[1], "of rolling-update surge"),
            (self.run, self.pods[2], "of one run of each Job and CronJob"),
        ];
        let parts: Vec<String> = causes
            .iter()
            .filter(|(amount, pods, _)| !amount.is_zero() && *pods > 0)
            .map(|(amount, pods, why)| {
                let s = if *pods == 1 { "" } else { "s" };
                format!("{} for {pods} pod{s} {why}", amount.show(unit))
            })
            .collect();
        format!("{} ({})", self.total().show(unit), parts.join(", "))
    }
}

/// The quota holds its namespace at the peak, for every key it limits.
pub fn check(quota: &Placed, namespace: &Namespace, out: &mut Vec<Finding>) {
    let hard = quota.object["spec"]["hard"].as_object();
    for (key, value) in hard.into_iter().flatten() {
        let (Some(allowed), Some(counted)) = (Amount::parse(value), counted(key)) else {
            continue;
        };
        let (needed, what) = match &counted {
            Counted::Compute(resource) => {
                let mut used = Use::default();
                for pods in &namespace.pods {
                    used.add(pods, pods.total.get(resource).unwrap_or_default());
                }
                (
                    used.total(),
                    format!("needs {resource} {}", used.breakdown(resource)),
                )
            }
            Counted::Pods => {
                let mut used = Use::default();
                for pods in &namespace.pods {
                    used.add(pods, Amount::count(1));
                }
                (used.total(), format!("runs {}", used.pods()))
            }
            Counted::Claims | Counted::Storage => {
                let (claims, storage) = claims(namespace);
                match counted {
                    Counted::Claims => (
                        Amount::count(claims),
                        format!("holds {claims} PersistentVolumeClaims"),
                    ),
                    _ => (
                        storage,
                        format!(
                            "requests {} of storage for its PersistentVolumeClaims",
                            storage.show("storage")
                        ),
                    ),
                }
            }
        };
        if needed > allowed {
            out.push(Finding::new(
                Family::Admission,
                quota,
                format!("spec.hard[{key}]"),
                format!(
                    "at its peak namespace {} {what}, above the quota's {}: pods beyond it \
                     are rejected (`exceeded quota`) and rollouts stall",
                    namespace.name,
                    allowed.show(key)
                ),
            ));
        }
    }
}

/// PersistentVolumeClaims of the namespace at the peak (the claim objects, and one
/// claim per template and replica of every StatefulSet), and the storage they request.
fn claims(namespace: &Namespace) -> (i64, Amount) {
    let storage = |claim: &crate::check::value::Value| {
        Amount::parse(&claim["spec"]["resources"]["requests"]["storage"]).unwrap_or_default()
    };
    let mut count = 0;
    let mut total = Amount::default();
    for claim in &namespace.claims {
        count += 1;
        total = total + storage(&claim.object);
    }
    for pods in namespace
        .pods
        .iter()
        .filter(|p| p.workload.kind == "StatefulSet")
    {
        let templates = pods.placed.object["spec"]["volumeClaimTemplates"].as_array();
        for template in templates.into_iter().flatten() {
            count += pods.peak.running;
            total = total + storage(template).times(pods.peak.running);
        }
    }
    (count, total)
}

/// Every container states each compute resource the quota tracks (its own value or the
/// LimitRange's default): the quota rejects a pod that leaves one unset.
pub fn required(quota: &Placed, pods: &Pods, out: &mut Vec<Finding>) {
    let hard = quota.object["spec"]["hard"].as_object();
    for key in hard.into_iter().flatten().map(|(k, _)| k) {
        let Some(Counted::Compute(resource)) = counted(key) else {
            continue;
        };
        let (part, name) = resource.split_once('.').expect("`requests.` or `limits.`");
        let singular = part.trim_end_matches('s');
        for container in pods
            .containers
            .iter()
            .filter(|c| c.resources.get(&resource).is_none())
        {
            out.push(Finding::new(
                Family::Admission,
                pods.placed,
                join(
                    &format!("{}.{}", pods.spec_path, container.path),
                    &format!("resources.{part}.{name}"),
                ),
                format!(
                    "ResourceQuota `{}` counts {resource}, but container `{}` sets no {name} \
                     {singular} and no LimitRange gives it one: its pods are rejected (`must \
                     specify {resource}`)",
                    quota.name(),
                    container.name
                ),
            ));
        }
    }
}
