//! Check stage, wiring: what controllers and charts do with the platform's objects.
//!
//! - cert-manager's HTTP-01 solver pods, started in an Ingress's namespace, are reachable
//!   from the ingress controller (else no certificate is ever issued);
//! - the messaging topology operator reconciles a topology object against a
//!   RabbitmqCluster of another namespace only when the cluster allows that namespace;
//! - a Traefik middleware that limits per client keys on an address Traefik really sees
//!   (the chart's `service.spec.externalTrafficPolicy`, `ports.*.forwardedHeaders`);
//! - a dashboard reading `kube_<resource>_labels{label_<name>=...}` gets that label from
//!   kube-state-metrics (its `metricLabelsAllowlist`).

use super::{Index, labels_text};
use crate::check::cluster::{ACME_SOLVER_POD, Cluster, Labels, Placed};
use crate::check::reachability::Pod;
use crate::check::value::Value;
use crate::check::{Family, Finding};

/// The annotation listing the namespaces whose topology objects may name a cluster.
pub(crate) const TOPOLOGY_NAMESPACES: &str = "rabbitmq.com/topology-allowed-namespaces";

pub(super) fn check(
    cluster: &Cluster,
    index: &Index,
    ingress_namespace: &str,
    out: &mut Vec<Finding>,
) {
    let charts = Charts::find(cluster, ingress_namespace);
    solvers(cluster, index, ingress_namespace, out);
    for &i in &index.checked {
        let placed = &cluster.objects[i];
        match (placed.group(), placed.kind()) {
            (
                "rabbitmq.com",
                "Vhost" | "User" | "Permission" | "Queue" | "Exchange" | "Binding" | "Policy",
            ) => {
                topology_namespace(cluster, placed, out);
            }
            ("traefik.io", "Middleware") => {
                if let Some(traefik) = charts.traefik {
                    client_key(placed, traefik, out);
                }
            }
            ("", "ConfigMap") => {
                if let Some(allowlist) = charts.allowlist {
                    dashboard_labels(placed, allowlist, out);
                }
            }
            _ => {}
        }
    }
}

/// The values of the charts whose behaviour the platform's objects rely on.
#[derive(Default)]
struct Charts<'c> {
    /// Traefik's, installed in the ingress controller's namespace.
    traefik: Option<&'c Value>,
    /// kube-state-metrics' `metricLabelsAllowlist` (its own chart's, or through
    /// kube-prometheus-stack's `kube-state-metrics` values).
    allowlist: Option<&'c Value>,
}

impl<'c> Charts<'c> {
    fn find(cluster: &'c Cluster, ingress_namespace: &str) -> Charts<'c> {
        let mut charts = Charts::default();
        for placed in &cluster.objects {
            if (placed.group(), placed.kind()) != ("argoproj.io", "Application") {
                continue;
            }
            let spec = &placed.object["spec"];
            let source = &spec["source"];
            let values = &source["helm"]["valuesObject"];
            match source["chart"].as_str() {
                Some("traefik")
                    if spec["destination"]["namespace"].as_str() == Some(ingress_namespace) =>
                {
                    charts.traefik = Some(values);
                }
                Some("kube-prometheus-stack") => {
                    charts.allowlist = Some(&values["kube-state-metrics"]["metricLabelsAllowlist"]);
                }
                Some("kube-state-metrics") => {
                    charts.allowlist = Some(&values["metricLabelsAllowlist"]);
                }
                _ => {}
            }
        }
        charts
    }
}

/// Each namespace that cert-manager starts HTTP-01 solver pods in lets the ingress
/// controller reach them on their port.
fn solvers(cluster: &Cluster, index: &Index, ingress_namespace: &str, out: &mut Vec<Finding>) {
    let controller: Vec<Pod> = {
        let pods: Vec<Pod> = cluster
            .workloads_in(ingress_namespace)
            .map(Pod::of)
            .collect();
        if pods.is_empty() {
            vec![Pod {
                namespace: ingress_namespace.to_owned(),
                labels: Labels::new(),
                ports: Vec::new(),
            }]
        } else {
            pods
        }
    };
    for solver in &cluster.workloads {
        if solver.name != ACME_SOLVER_POD || !index.checked.contains(&solver.object) {
            continue;
        }
        let pod = Pod::of(solver);
        let port = solver.ports.first().map_or(0, |p| p.number);
        if controller
            .iter()
            .any(|from| index.engine.allows(from, &pod, "TCP", port))
        {
            continue;
        }
        let placed = &cluster.objects[solver.object];
        let annotations = &placed.object["metadata"]["annotations"];
        let key = if annotations.get("cert-manager.io/cluster-issuer").is_some() {
            "cert-manager.io/cluster-issuer"
        } else {
            "cert-manager.io/issuer"
        };
        out.push(Finding::new(
            Family::Wiring,
            placed,
            format!("metadata.annotations.{key}"),
            format!(
                "cert-manager answers this Ingress's HTTP-01 challenge from solver pods ({}, \
                 port {port}) in {}, but the NetworkPolicies keep the ingress controller \
                 (namespace {ingress_namespace}) from reaching them: no certificate is issued",
                labels_text(&solver.labels),
                solver.namespace
            ),
        ));
    }
}

/// A topology object naming a RabbitmqCluster of another namespace is reconciled only
/// when that cluster lists the object's namespace (or `*`) in its annotation.
fn topology_namespace(cluster: &Cluster, placed: &Placed, out: &mut Vec<Finding>) {
    let reference = &placed.object["spec"]["rabbitmqClusterReference"];
    let (Some(name), Some(namespace)) =
        (reference["name"].as_str(), reference["namespace"].as_str())
    else {
        return;
    };
    if namespace == placed.namespace() {
        return;
    }
    let Some(rabbitmq) = cluster.get("rabbitmq.com", "RabbitmqCluster", namespace, name) else {
        return;
    };
    let allowed = rabbitmq.object["metadata"]["annotations"][TOPOLOGY_NAMESPACES]
        .as_str()
        .unwrap_or_default();
    if !allowed
        .split(',')
        .any(|ns| ns == "*" || ns == placed.namespace())
    {
        out.push(Finding::new(
            Family::Wiring,
            placed,
            "spec.rabbitmqClusterReference",
            format!(
                "RabbitmqCluster {namespace}/{name} does not allow topology objects from \
                 namespace {} (annotation {TOPOLOGY_NAMESPACES}: `{allowed}`): the operator \
                 never declares this {}",
                placed.namespace(),
                placed.kind()
            ),
        ));
    }
}

/// A per-client limit keys on an address Traefik really has: the connection's peer only
/// when its Service keeps client addresses and no proxy stands in front, else the
/// X-Forwarded-For entries of trusted proxies.
fn client_key(placed: &Placed, traefik: &Value, out: &mut Vec<Finding>) {
    let spec = &placed.object["spec"];
    for limit in ["rateLimit", "inFlightReq"] {
        let Some(middleware) = spec.get(limit) else {
            continue;
        };
        let criterion = &middleware["sourceCriterion"];
        if criterion.get("requestHeaderName").is_some() || criterion.get("requestHost").is_some() {
            continue;
        }
        let strategy = &criterion["ipStrategy"];
        let depth = strategy["depth"].as_i64().unwrap_or(0);
        let excluded = strategy["excludedIPs"]
            .as_array()
            .is_some_and(|e| !e.is_empty());
        let trusted = ["web", "websecure"].iter().all(|entry| {
            let headers = &traefik["ports"][entry]["forwardedHeaders"];
            headers["insecure"].as_bool() == Some(true)
                || headers["trustedIPs"]
                    .as_array()
                    .is_some_and(|t| !t.is_empty())
        });
        let local = traefik["service"]["spec"]["externalTrafficPolicy"].as_str() == Some("Local");
        let (field, problem) = if depth > 0 || excluded {
            let field = if depth > 0 { "depth" } else { "excludedIPs" };
            (
                format!("spec.{limit}.sourceCriterion.ipStrategy.{field}"),
                (!trusted).then_some(
                    "keys clients on X-Forwarded-For, but Traefik trusts no forwarder \
                     (`ports.web`/`websecure.forwardedHeaders.trustedIPs` of its chart) and \
                     drops that header: every client shares one key",
                ),
            )
        } else {
            (
                format!("spec.{limit}"),
                if trusted {
                    Some(
                        "keys clients on the connection's address, which is a trusted proxy's \
                         (Traefik's chart trusts forwarders): every client behind it shares \
                         one key",
                    )
                } else if !local {
                    Some(
                        "keys clients on the connection's address, which kube-proxy rewrites \
                         to a node's unless Traefik's Service keeps it \
                         (`service.spec.externalTrafficPolicy: Local` in its chart): clients \
                         share keys",
                    )
                } else {
                    None
                },
            )
        };
        if let Some(problem) = problem {
            out.push(Finding::new(
                Family::Wiring,
                placed,
                field,
                format!("middleware `{limit}` {problem}"),
            ));
        }
    }
}

/// `kube_<resource>_labels{... label_<name> ...}` in a ConfigMap (a dashboard) reads a
/// label kube-state-metrics exports only when allow-listed for the resource.
fn dashboard_labels(placed: &Placed, allowlist: &Value, out: &mut Vec<Finding>) {
    let entries: Vec<&str> = allowlist
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    for (key, text) in placed.object["data"].as_object().into_iter().flatten() {
        let Some(text) = text.as_str() else {
            continue;
        };
        for (resource, label) in label_reads(text) {
            let plural = format!("{resource}s");
            let allowed = entries.iter().any(|entry| {
                let Some((resources, labels)) = entry.split_once('=') else {
                    return false;
                };
                let labels = labels.trim_start_matches('[').trim_end_matches(']');
                (resources == plural || resources == "*")
                    && labels
                        .split(',')
                        .any(|l| l == "*" || sanitize(l.trim()) == label)
            });
            if !allowed {
                out.push(Finding::new(
                    Family::Wiring,
                    placed,
                    format!("data.{key}"),
                    format!(
                        "reads `label_{label}` of `kube_{resource}_labels`, which \
                         kube-state-metrics exports only for labels its \
                         metricLabelsAllowlist names (`{plural}=[...]`; it has: {}): the \
                         query returns nothing",
                        if entries.is_empty() {
                            "none".to_owned()
                        } else {
                            entries.join(" ")
                        }
                    ),
                ));
            }
        }
    }
}

/// A Kubernetes label name as kube-state-metrics writes it in a metric label.
fn sanitize(label: &str) -> String {
    label
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// `(resource, label)` for each `label_<label>` inside the braces of a
/// `kube_<resource>_labels{...}` selector, in order, without repeats.
fn label_reads(text: &str) -> Vec<(String, String)> {
    let mut reads: Vec<(String, String)> = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("kube_") {
        let after = &rest[at + 5..];
        let name_end = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        let name = &after[..name_end];
        rest = &after[name_end..];
        let Some(resource) = name.strip_suffix("_labels") else {
            continue;
        };
        let Some(selector) = rest.strip_prefix('{').and_then(|s| s.split_once('}')) else {
            continue;
        };
        let mut body = selector.0;
        while let Some(at) = body.find("label_") {
            let preceded = body[..at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
            let after = &body[at + 6..];
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            let read = (resource.to_owned(), after[..end].to_owned());
            if !preceded && !read.1.is_empty() && !reads.contains(&read) {
                reads.push(read);
            }
            body = &after[end..];
        }
    }
    reads
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_reads_finds_labels_of_info_metrics() {
        let text = r#"{"query": "label_values(kube_service_labels{namespace=\"$namespace\", label_component=\"microservice\"}, service)"}"#;
        assert_eq!(
            label_reads(text),
            vec![("service".to_owned(), "component".to_owned())]
        );
        assert!(label_reads("kube_pod_info{pod=\"x\"}").is_empty());
        assert_eq!(sanitize("app.kubernetes.io/name"), "app_kubernetes_io_name");
    }
}
