//! Check stage, reachability: which pod group may open a connection to which, on which
//! ports, as the NetworkPolicies of every target allow it. A connection is allowed when
//! the source's egress allows it and the destination's ingress allows it. For each
//! direction, a pod that no policy of that type selects is unrestricted; a selected pod
//! gets the union of the rules of every policy selecting it (Kubernetes semantics).
//!
//! `ipBlock` peers are taken to mean addresses outside the cluster: they match no pod.

use super::cluster::{Cluster, Labels, PodPort, Workload, selects};
use crate::Platform;
use crate::components::messaging::CLUSTER_LABEL;
use crate::descriptor::EnvironmentFile;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Protocols a NetworkPolicy port can name.
const PROTOCOLS: [&str; 3] = ["TCP", "UDP", "SCTP"];

/// A set of ports per protocol, as sorted disjoint inclusive ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ports(BTreeMap<String, Vec<(u16, u16)>>);

impl Ports {
    /// Every port of every protocol.
    pub fn all() -> Ports {
        Ports(
            PROTOCOLS
                .iter()
                .map(|p| ((*p).to_owned(), vec![(1, u16::MAX)]))
                .collect(),
        )
    }

    pub fn is_empty(&self) -> bool {
        self.0.values().all(Vec::is_empty)
    }

    fn add(&mut self, protocol: &str, from: u16, to: u16) {
        let ranges = self.0.entry(protocol.to_owned()).or_default();
        ranges.push((from.min(to), from.max(to)));
        ranges.sort_unstable();
        let mut merged: Vec<(u16, u16)> = Vec::with_capacity(ranges.len());
        for &(a, b) in ranges.iter() {
            match merged.last_mut() {
                Some(last) if u32::from(a) <= u32::from(last.1) + 1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        *ranges = merged;
    }

    fn union(&mut self, other: &Ports) {
        for (protocol, ranges) in &other.0 {
            for &(a, b) in ranges {
                self.add(protocol, a, b);
            }
        }
    }

    fn intersection(&self, other: &Ports) -> Ports {
        let mut result = Ports::default();
        for (protocol, mine) in &self.0 {
            let Some(theirs) = other.0.get(protocol) else {
                continue;
            };
            for &(a, b) in mine {
                for &(c, d) in theirs {
                    let (from, to) = (a.max(c), b.min(d));
                    if from <= to {
                        result.add(protocol, from, to);
                    }
                }
            }
        }
        result
    }

    /// Whether a TCP port is in the set.
    pub fn allows_tcp(&self, port: u16) -> bool {
        self.0
            .get("TCP")
            .is_some_and(|r| r.iter().any(|&(a, b)| a <= port && port <= b))
    }
}

impl std::fmt::Display for Ports {
    /// `8000`, `4369, 35672-35682`, `53/UDP`, `all/TCP`, `all`, or `.` when empty.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_empty() {
            return f.write_str(".");
        }
        if *self == Ports::all() {
            return f.write_str("all");
        }
        let mut parts = Vec::new();
        for protocol in PROTOCOLS {
            let suffix = if protocol == "TCP" {
                String::new()
            } else {
                format!("/{protocol}")
            };
            for &(a, b) in self.0.get(protocol).into_iter().flatten() {
                parts.push(match (a, b) {
                    (1, u16::MAX) => format!("all/{protocol}"),
                    (a, b) if a == b => format!("{a}{suffix}"),
                    (a, b) => format!("{a}-{b}{suffix}"),
                });
            }
        }
        f.write_str(&parts.join(","))
    }
}

/// A peer outside the environment's namespace: a whole namespace, or the pods of one
/// that carry some labels. A namespace whose pods some target builds stands for those
/// pods; one that no target fills (the ingress controller's) for a pod with no labels.
#[derive(Debug, Clone)]
pub struct External {
    pub namespace: String,
    pub pods: Option<Labels>,
}

/// Pods that the matrix treats as one: the workloads of the environment that share an
/// `app` label, or an external peer. A cell is the union of what its members allow.
#[derive(Debug, Clone)]
pub struct Group {
    pub name: String,
    pub members: Vec<Pod>,
}

/// The pods of one workload, as NetworkPolicies see them.
#[derive(Debug, Clone)]
pub struct Pod {
    pub namespace: String,
    pub labels: Labels,
    pub ports: Vec<PodPort>,
}

/// Who may connect to whom: `cells[source][destination]`, both indexes into `groups`.
#[derive(Debug, Clone)]
pub struct Matrix {
    pub namespace: String,
    pub groups: Vec<Group>,
    pub cells: Vec<Vec<Ports>>,
}

impl Matrix {
    /// The ports `source` may reach `destination` on, by group names.
    pub fn get(&self, source: &str, destination: &str) -> Option<&Ports> {
        let s = self.groups.iter().position(|g| g.name == source)?;
        let d = self.groups.iter().position(|g| g.name == destination)?;
        Some(&self.cells[s][d])
    }
}

/// The matrix of the pod groups of `namespace` and the external peers.
pub fn matrix(cluster: &Cluster, namespace: &str, externals: &[External]) -> Matrix {
    let mut groups = local_groups(cluster, namespace);
    for external in externals {
        groups.push(external_group(cluster, external));
    }
    let cells = groups
        .iter()
        .map(|source| {
            groups
                .iter()
                .map(|destination| {
                    let mut ports = Ports::default();
                    for from in &source.members {
                        for to in &destination.members {
                            let egress = allowed(cluster, from, to, Direction::Egress);
                            let ingress = allowed(cluster, from, to, Direction::Ingress);
                            ports.union(&egress.intersection(&ingress));
                        }
                    }
                    ports
                })
                .collect()
        })
        .collect();
    Matrix {
        namespace: namespace.to_owned(),
        groups,
        cells,
    }
}

/// Workloads of a namespace grouped by `app` label, sorted by name.
fn local_groups(cluster: &Cluster, namespace: &str) -> Vec<Group> {
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    for workload in cluster.workloads_in(namespace) {
        let group = groups
            .entry(workload.app().to_owned())
            .or_insert_with(|| Group {
                name: workload.app().to_owned(),
                members: Vec::new(),
            });
        group.members.push(pod(workload));
    }
    groups.into_values().collect()
}

fn pod(workload: &Workload) -> Pod {
    Pod {
        namespace: workload.namespace.clone(),
        labels: workload.labels.clone(),
        ports: workload.ports.clone(),
    }
}

/// An external peer: the workloads of its namespace (those with its labels) when a
/// target builds them, else one pod known only by its namespace (and labels).
fn external_group(cluster: &Cluster, external: &External) -> Group {
    let ns = &external.namespace;
    let wanted = external.pods.clone().unwrap_or_default();
    let mut members: Vec<Pod> = cluster
        .workloads_in(ns)
        .filter(|w| wanted.iter().all(|(k, v)| w.labels.get(k) == Some(v)))
        .map(pod)
        .collect();
    if members.is_empty() {
        members.push(Pod {
            namespace: ns.clone(),
            labels: wanted,
            ports: Vec::new(),
        });
    }
    let name = match &external.pods {
        Some(pods) => format!(
            "{} ({ns})",
            pods.values().next().map_or(ns.as_str(), String::as_str)
        ),
        None => format!("{ns} (namespace)"),
    };
    Group { name, members }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Ingress,
    Egress,
}

impl Direction {
    fn policy_type(self) -> &'static str {
        match self {
            Direction::Ingress => "Ingress",
            Direction::Egress => "Egress",
        }
    }
    fn rules(self) -> &'static str {
        match self {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        }
    }
    fn peers(self) -> &'static str {
        match self {
            Direction::Ingress => "from",
            Direction::Egress => "to",
        }
    }
}

/// The policy types a policy has: `policyTypes`, or by default Ingress, plus Egress when
/// it has egress rules.
fn policy_types(spec: &Value) -> Vec<String> {
    match spec["policyTypes"].as_array() {
        Some(types) => types
            .iter()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect(),
        None => {
            let mut types = vec!["Ingress".to_owned()];
            if spec.get("egress").is_some_and(|e| !e.is_null()) {
                types.push("Egress".to_owned());
            }
            types
        }
    }
}

/// What one direction allows from `source` to `destination`: egress is the source's
/// policies, ingress the destination's.
fn allowed(cluster: &Cluster, source: &Pod, destination: &Pod, direction: Direction) -> Ports {
    let (subject, peer) = match direction {
        Direction::Egress => (source, destination),
        Direction::Ingress => (destination, source),
    };
    let policies: Vec<&Value> = cluster
        .find("networking.k8s.io", "NetworkPolicy", &subject.namespace)
        .map(|p| &p.object["spec"])
        .filter(|spec| {
            policy_types(spec)
                .iter()
                .any(|t| t == direction.policy_type())
        })
        .filter(|spec| selects(&spec["podSelector"], &subject.labels))
        .collect();
    if policies.is_empty() {
        return Ports::all();
    }
    let mut ports = Ports::default();
    for spec in policies {
        for rule in spec[direction.rules()].as_array().into_iter().flatten() {
            let peers = rule[direction.peers()].as_array().filter(|p| !p.is_empty());
            let matches = peers.is_none_or(|peers| {
                peers
                    .iter()
                    .any(|p| peer_matches(cluster, &subject.namespace, p, peer))
            });
            if matches {
                ports.union(&rule_ports(&rule["ports"], destination));
            }
        }
    }
    ports
}

/// Whether a rule's peer (seen from a policy of `namespace`) covers a group's pods.
fn peer_matches(cluster: &Cluster, namespace: &str, peer: &Value, group: &Pod) -> bool {
    if peer.get("ipBlock").is_some() {
        return false;
    }
    let namespace_selector = peer.get("namespaceSelector");
    let pod_selector = peer.get("podSelector");
    if namespace_selector.is_none() && pod_selector.is_none() {
        return false;
    }
    let namespace_ok = match namespace_selector {
        None => group.namespace == namespace,
        Some(selector) => selects(selector, &cluster.namespace_labels(&group.namespace)),
    };
    let pods_ok = pod_selector.is_none_or(|selector| selects(selector, &group.labels));
    namespace_ok && pods_ok
}

/// The ports of a rule, named ports resolved against the destination's pods; no ports
/// means every port.
fn rule_ports(ports: &Value, destination: &Pod) -> Ports {
    let Some(list) = ports.as_array().filter(|p| !p.is_empty()) else {
        return Ports::all();
    };
    let mut result = Ports::default();
    for port in list {
        let protocol = port["protocol"].as_str().unwrap_or("TCP");
        match &port["port"] {
            Value::Null => result.add(protocol, 1, u16::MAX),
            Value::Number(n) => {
                let from = n.as_u64().and_then(|n| u16::try_from(n).ok()).unwrap_or(0);
                let to = port["endPort"]
                    .as_u64()
                    .and_then(|n| u16::try_from(n).ok())
                    .unwrap_or(from);
                if from > 0 {
                    result.add(protocol, from, to.max(from));
                }
            }
            Value::String(name) => {
                for p in &destination.ports {
                    if p.name.as_deref() == Some(name.as_str()) && p.protocol == protocol {
                        result.add(protocol, p.number, p.number);
                    }
                }
            }
            _ => {}
        }
    }
    result
}

/// The reachability report of one environment: its workloads, and the peers the
/// catalog names outside it (the ingress controller's namespace, the monitoring
/// namespace, the RabbitMQ cluster's pods).
pub fn environment(platform: &Platform, env: &EnvironmentFile) -> String {
    let catalog = &platform.project.catalog;
    let externals = [
        External {
            namespace: catalog.security.ingress_namespace.to_string(),
            pods: None,
        },
        External {
            namespace: catalog.security.monitoring_namespace.to_string(),
            pods: None,
        },
        External {
            namespace: catalog.rabbitmq.namespace.to_string(),
            pods: Some(Labels::from([(
                CLUSTER_LABEL.to_owned(),
                catalog.rabbitmq.cluster_name.to_string(),
            )])),
        },
    ];
    let cluster = super::gather(platform);
    render(
        &matrix(&cluster, env.namespace.as_str(), &externals),
        env.name.as_str(),
    )
}

/// The matrix as text: a numbered table (rows: sources, columns: destinations), then the
/// allowed connections one per line.
pub fn render(matrix: &Matrix, environment: &str) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "Reachability of environment {environment} (namespace {}), as the NetworkPolicies of every target allow it.",
        matrix.namespace
    );
    text.push_str(
        "Rows are sources, columns destinations (by number); a cell lists the ports a source may connect to\n\
         (TCP unless marked; \"all\": every port and protocol; \".\": none).\n\n",
    );
    let n = matrix.groups.len();
    let number_width = n.to_string().len();
    let name_width = matrix
        .groups
        .iter()
        .map(|g| g.name.len())
        .max()
        .unwrap_or(0)
        .max("source \\ destination".len());
    let widths: Vec<usize> = (0..n)
        .map(|d| {
            (0..n)
                .map(|s| matrix.cells[s][d].to_string().len())
                .max()
                .unwrap_or(1)
                .max((d + 1).to_string().len())
        })
        .collect();
    let _ = write!(
        text,
        "{:>number_width$}  {:<name_width$}",
        "", "source \\ destination"
    );
    for (d, width) in widths.iter().enumerate() {
        let _ = write!(text, "  {:>width$}", d + 1);
    }
    text.push('\n');
    for (s, group) in matrix.groups.iter().enumerate() {
        let _ = write!(
            text,
            "{:>number_width$}  {:<name_width$}",
            s + 1,
            group.name
        );
        for (d, width) in widths.iter().enumerate() {
            let _ = write!(text, "  {:>width$}", matrix.cells[s][d].to_string());
        }
        text.push('\n');
    }
    text.push_str("\nAllowed connections:\n");
    for (s, source) in matrix.groups.iter().enumerate() {
        for (d, destination) in matrix.groups.iter().enumerate() {
            let ports = &matrix.cells[s][d];
            if !ports.is_empty() {
                let _ = writeln!(text, "  {} -> {}: {ports}", source.name, destination.name);
            }
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::cluster::Placed;
    use serde_json::json;

    fn cluster(objects: Vec<Value>) -> Cluster {
        Cluster::new(
            objects
                .into_iter()
                .enumerate()
                .map(|(position, object)| Placed {
                    target: "t".into(),
                    target_index: 0,
                    position,
                    object,
                })
                .collect(),
        )
    }

    fn deployment(app: &str, port: u16) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": app, "namespace": "ns"},
            "spec": {"template": {"metadata": {"labels": {"app": app}},
                "spec": {"containers": [{"name": "c",
                    "ports": [{"name": "http", "containerPort": port}]}]}}}})
    }

    fn policy(name: &str, spec: Value) -> Value {
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": "ns"}, "spec": spec})
    }

    #[test]
    fn no_policy_means_unrestricted() {
        let c = cluster(vec![deployment("a", 80), deployment("b", 81)]);
        let m = matrix(&c, "ns", &[]);
        assert_eq!(m.get("a", "b"), Some(&Ports::all()));
    }

    #[test]
    fn both_ends_must_allow_and_rules_unite() {
        let c = cluster(vec![
            deployment("a", 80),
            deployment("b", 8080),
            policy(
                "deny",
                json!({"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
            ),
            // a may send to b on 8080 and 9000 (two policies, united) ...
            policy(
                "a-out",
                json!({"podSelector": {"matchLabels": {"app": "a"}},
                "policyTypes": ["Egress"],
                "egress": [{"to": [{"podSelector": {"matchLabels": {"app": "b"}}}],
                            "ports": [{"port": "http"}]}]}),
            ),
            policy(
                "a-out-2",
                json!({"podSelector": {"matchLabels": {"app": "a"}},
                "policyTypes": ["Egress"],
                "egress": [{"to": [{"podSelector": {"matchLabels": {"app": "b"}}}],
                            "ports": [{"port": 9000, "endPort": 9002}]}]}),
            ),
            // ... but b only accepts 8080 and 9001 from a.
            policy(
                "b-in",
                json!({"podSelector": {"matchLabels": {"app": "b"}},
                "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "a"}}}],
                             "ports": [{"port": 8080}, {"port": 9001, "protocol": "TCP"}]}]}),
            ),
        ]);
        let m = matrix(&c, "ns", &[]);
        assert_eq!(m.get("a", "b").unwrap().to_string(), "8080,9001");
        assert_eq!(m.get("b", "a").unwrap().to_string(), ".");
    }

    #[test]
    fn policies_without_egress_type_leave_egress_open() {
        let c = cluster(vec![
            deployment("a", 80),
            deployment("b", 81),
            policy(
                "b-in",
                json!({"podSelector": {"matchLabels": {"app": "b"}},
                "ingress": [{"from": [{"namespaceSelector": {"matchLabels":
                    {"kubernetes.io/metadata.name": "ns"}}}]}]}),
            ),
        ]);
        let external = External {
            namespace: "elsewhere".into(),
            pods: None,
        };
        let m = matrix(&c, "ns", &[external]);
        assert_eq!(m.get("a", "b"), Some(&Ports::all()));
        assert_eq!(
            m.get("elsewhere (namespace)", "b").unwrap().to_string(),
            "."
        );
        assert_eq!(m.get("b", "elsewhere (namespace)"), Some(&Ports::all()));
    }

    #[test]
    fn namespace_peer_stands_for_its_pods() {
        // In `mon`, only the scraper may leave the namespace; the peer `mon` reaches what
        // the scraper reaches.
        let mut scraper = deployment("scraper", 9090);
        scraper["metadata"]["namespace"] = json!("mon");
        let mut ui = deployment("ui", 3000);
        ui["metadata"]["namespace"] = json!("mon");
        let mut deny = policy(
            "deny",
            json!({"podSelector": {}, "policyTypes": ["Egress"]}),
        );
        deny["metadata"]["namespace"] = json!("mon");
        let mut out = policy(
            "scraper-out",
            json!({"podSelector": {"matchLabels": {"app": "scraper"}},
            "policyTypes": ["Egress"], "egress": [{"ports": [{"port": 8080}]}]}),
        );
        out["metadata"]["namespace"] = json!("mon");
        let c = cluster(vec![deployment("a", 8080), scraper, ui, deny, out]);
        let mon = External {
            namespace: "mon".into(),
            pods: None,
        };
        let m = matrix(&c, "ns", &[mon]);
        assert_eq!(m.get("mon (namespace)", "a").unwrap().to_string(), "8080");
        assert_eq!(m.get("a", "mon (namespace)").unwrap().to_string(), "all");
    }

    #[test]
    fn ports_render_ranges_and_protocols() {
        let mut p = Ports::default();
        p.add("TCP", 35672, 35682);
        p.add("TCP", 4369, 4369);
        p.add("UDP", 53, 53);
        assert_eq!(p.to_string(), "4369,35672-35682,53/UDP");
        assert!(p.allows_tcp(35680));
        assert!(!p.allows_tcp(53));
    }
}
