//! Check stage, reachability: which pod group of an environment may open a connection to
//! which, on which ports, as the NetworkPolicies of every target of its cluster allow it.
//! The engine (`engine`: pod classes, policies indexed by the labels they select)
//! evaluates class to class; this module groups the classes for people (by `app` label,
//! plus the peers outside the environment) and prints the result in a size that follows
//! the allowed connections, not the square of the catalog.

pub mod engine;
pub mod ports;

pub use engine::{Direction, Engine, Pod};
pub use ports::Ports;

use super::cluster::{Cluster, Labels, Placed, shapes_traffic, template_of};
use crate::Platform;
use crate::check::value::Value;
use crate::components::messaging::CLUSTER_LABEL;
use crate::descriptor::EnvironmentFile;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

/// A peer outside the environment's namespace: a whole namespace, or the pods of one
/// that carry some labels. A namespace whose pods some target builds stands for those
/// pods; one that no target fills (the ingress controller's) for a pod with no labels.
#[derive(Debug, Clone)]
pub struct External {
    pub namespace: String,
    pub pods: Option<Labels>,
}

/// Pods that the report treats as one: the workloads of the environment that share an
/// `app` label, or an external peer. A connection of groups is the union of what their
/// members allow.
#[derive(Debug, Clone)]
pub struct Group {
    pub name: String,
    pub members: Vec<Pod>,
}

/// Who may connect to whom: the allowed connections by `(source, destination)`, both
/// indexes into `groups`; a pair that is absent may not connect.
#[derive(Debug, Clone)]
pub struct Matrix {
    pub namespace: String,
    pub groups: Vec<Group>,
    pub cells: BTreeMap<(usize, usize), Ports>,
}

impl Matrix {
    /// The ports `source` may reach `destination` on, by group names (empty when none);
    /// `None` when a name is no group.
    pub fn get(&self, source: &str, destination: &str) -> Option<Ports> {
        let s = self.groups.iter().position(|g| g.name == source)?;
        let d = self.groups.iter().position(|g| g.name == destination)?;
        Some(self.cells.get(&(s, d)).cloned().unwrap_or_default())
    }
}

/// The matrix of the pod groups of `namespace` and the external peers.
pub fn matrix(cluster: &Cluster, namespace: &str, externals: &[External]) -> Matrix {
    let mut groups = local_groups(cluster, namespace);
    for external in externals {
        groups.push(external_group(cluster, external));
    }
    // The classes of every member, and the groups each class belongs to.
    let mut classes: Vec<Pod> = Vec::new();
    let mut class_of: HashMap<Pod, usize> = HashMap::new();
    let mut groups_of: Vec<Vec<usize>> = Vec::new();
    for (g, group) in groups.iter().enumerate() {
        for pod in &group.members {
            let c = *class_of.entry(pod.clone()).or_insert_with(|| {
                classes.push(pod.clone());
                groups_of.push(Vec::new());
                classes.len() - 1
            });
            if !groups_of[c].contains(&g) {
                groups_of[c].push(g);
            }
        }
    }
    let mut cells: BTreeMap<(usize, usize), Ports> = BTreeMap::new();
    for ((s, d), ports) in Engine::new(cluster).connections(&classes) {
        for &gs in &groups_of[s] {
            for &gd in &groups_of[d] {
                cells.entry((gs, gd)).or_default().union(&ports);
            }
        }
    }
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
        group.members.push(Pod::of(workload));
    }
    groups.into_values().collect()
}

/// An external peer: the workloads of its namespace (those with its labels) when a
/// target builds them, else one pod known only by its namespace (and labels).
fn external_group(cluster: &Cluster, external: &External) -> Group {
    let ns = &external.namespace;
    let wanted = external.pods.clone().unwrap_or_default();
    let mut members: Vec<Pod> = cluster
        .workloads_in(ns)
        .filter(|w| wanted.iter().all(|(k, v)| w.labels.get(k) == Some(v)))
        .map(Pod::of)
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

/// The reachability report of one environment: its workloads, and the peers the
/// catalog names outside it (the ingress controller's namespace, the monitoring
/// namespace, the RabbitMQ cluster's pods).
///
/// Only the policies and pods of the environment's own cluster count; and a
/// NetworkPolicy selects pods of its own namespace only: the other environments' targets
/// (in other namespaces) cannot change the report, and are not rendered.
pub fn environment(platform: &Platform, env: &EnvironmentFile) -> crate::error::Result<String> {
    let site = platform.project.cluster_of(env).name;
    let others = |t: &crate::Target| {
        t.kind == crate::TargetKind::Environment
            && (platform.project.environment(&t.name))
                .is_some_and(|other| other.namespace != env.namespace)
    };
    let cluster = super::gather_cluster(
        platform,
        site,
        |t| !others(t),
        |placed| shapes_traffic(&placed).then(|| traffic_only(placed)),
    )?;
    Ok(render(
        &matrix(&cluster, env.namespace.as_str(), &externals(platform)),
        env.name.as_str(),
    ))
}

/// The fields of a workload's pod spec that shape traffic: its containers' ports.
const POD_FIELDS: [&str; 3] = ["containers", "initContainers", "ephemeralContainers"];

/// An object that shapes traffic with only what the evaluation reads of it: a
/// workload's pod spec keeps its containers' names and ports (not their commands,
/// environment, probes...: most of a workload's size); the rest stays whole.
fn traffic_only(mut placed: Placed) -> Placed {
    let Some(template) = template_of(placed.kind()) else {
        return placed;
    };
    let pointer = format!("{}/spec", template.pointer);
    if let Some(Value::Object(spec)) = placed.object.pointer_mut(&pointer) {
        spec.retain(|field, _| POD_FIELDS.contains(&field));
        for container in spec.values_mut().filter_map(Value::as_array_mut).flatten() {
            if let Value::Object(container) = container {
                container.retain(|field, _| field == "name" || field == "ports");
            }
        }
    }
    placed
}

/// The peers outside an environment that the catalog names.
fn externals(platform: &Platform) -> [External; 3] {
    let catalog = &platform.project.catalog;
    [
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
    ]
}

/// The report as text: one line per pod group with how many groups it may connect to
/// and be reached from (an isolated group shows at a glance), then every allowed
/// connection on its own line. Its size follows the groups and the connections.
pub fn render(matrix: &Matrix, environment: &str) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "Reachability of environment {environment} (namespace {}), as its cluster's NetworkPolicies allow it.",
        matrix.namespace
    );
    text.push_str("Ports are TCP unless marked (\"all\": every port and protocol).\n\n");
    let n = matrix.groups.len();
    let (mut reaches, mut reached) = (vec![0usize; n], vec![0usize; n]);
    for &(s, d) in matrix.cells.keys() {
        reaches[s] += 1;
        reached[d] += 1;
    }
    let header = "pod group";
    let width = matrix
        .groups
        .iter()
        .map(|g| g.name.len())
        .chain([header.len()])
        .max()
        .unwrap_or(0);
    let _ = writeln!(text, "Pod groups ({n}):");
    let _ = writeln!(text, "  {header:<width$}  reaches  reached by");
    for (g, group) in matrix.groups.iter().enumerate() {
        let _ = writeln!(
            text,
            "  {:<width$}  {:>7}  {:>10}",
            group.name, reaches[g], reached[g]
        );
    }
    text.push_str("\nAllowed connections:\n");
    for (&(s, d), ports) in &matrix.cells {
        let (source, destination) = (&matrix.groups[s].name, &matrix.groups[d].name);
        let _ = writeln!(text, "  {source} -> {destination}: {ports}");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::cluster::Placed;
    use serde_json::{Value, json};

    fn cluster(objects: Vec<Value>) -> Cluster {
        Cluster::new(
            objects
                .into_iter()
                .enumerate()
                .map(|(position, object)| Placed::new("t", 0, position, object.into()))
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
        assert_eq!(m.get("a", "b"), Some(Ports::all()));
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
        assert_eq!(m.get("a", "b"), Some(Ports::all()));
        assert_eq!(
            m.get("elsewhere (namespace)", "b").unwrap().to_string(),
            "."
        );
        assert_eq!(m.get("b", "elsewhere (namespace)"), Some(Ports::all()));
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

    /// The engine's answer on the shipped project equals the naive evaluation (every
    /// member pod x every member pod x every policy of the namespace), pair by pair, for
    /// every environment; and the per-pair API agrees with the whole evaluation.
    #[test]
    fn class_engine_agrees_with_the_naive_evaluation_on_the_shipped_project() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let platform = Platform::load(root).expect("the shipped descriptors load");
        let cluster = crate::check::gather(&platform).expect("renders");
        let engine = Engine::new(&cluster);
        let mut connections = 0;
        for env in &platform.project.environments {
            let m = matrix(&cluster, env.namespace.as_str(), &externals(&platform));
            for (s, source) in m.groups.iter().enumerate() {
                for (d, destination) in m.groups.iter().enumerate() {
                    let mut expected = Ports::default();
                    let mut per_pair = Ports::default();
                    for from in &source.members {
                        for to in &destination.members {
                            expected.union(&naive::ports(&cluster, from, to));
                            per_pair.union(&engine.ports(from, to));
                        }
                    }
                    let found = m.cells.get(&(s, d)).cloned().unwrap_or_default();
                    let pair = format!("{}: {} -> {}", env.name, source.name, destination.name);
                    assert_eq!(found, expected, "{pair}");
                    assert_eq!(per_pair, expected, "{pair}");
                    connections += usize::from(!found.is_empty());
                }
            }
        }
        assert!(connections > 100, "the shipped policies allow connections");
    }

    /// `reachability` renders no other environment, and keeps only the objects that
    /// shape traffic, trimmed to the fields the evaluation reads: its report equals the
    /// one over every object of every target of its cluster, whole.
    #[test]
    fn the_trimmed_gathering_reports_what_every_whole_object_does() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let platform = Platform::load(root).expect("the shipped descriptors load");
        for env in &platform.project.environments {
            let site = platform.project.cluster_of(env).name;
            let cluster =
                crate::check::gather_cluster(&platform, site, |_| true, Some).expect("renders");
            let m = matrix(&cluster, env.namespace.as_str(), &externals(&platform));
            let whole = render(&m, env.name.as_str());
            let trimmed = environment(&platform, env).expect("renders");
            assert!(trimmed == whole, "{}:\n{trimmed}\n---\n{whole}", env.name);
        }
    }

    /// The evaluation before pod classes and policy indexes, kept as the oracle: for each
    /// pair of pods, every policy of the namespace is tried.
    mod naive {
        use super::*;
        use crate::check::cluster::selects;
        use crate::check::value::Value;

        pub fn ports(cluster: &Cluster, from: &Pod, to: &Pod) -> Ports {
            let egress = allowed(cluster, from, to, Direction::Egress);
            egress.intersection(&allowed(cluster, from, to, Direction::Ingress))
        }

        fn allowed(
            cluster: &Cluster,
            source: &Pod,
            destination: &Pod,
            direction: Direction,
        ) -> Ports {
            let (subject, peer) = match direction {
                Direction::Egress => (source, destination),
                Direction::Ingress => (destination, source),
            };
            let (kind, rules, peers) = match direction {
                Direction::Egress => ("Egress", "egress", "to"),
                Direction::Ingress => ("Ingress", "ingress", "from"),
            };
            let policies: Vec<&Value> = cluster
                .find("networking.k8s.io", "NetworkPolicy", &subject.namespace)
                .map(|p| &p.object["spec"])
                .filter(|spec| match spec["policyTypes"].as_array() {
                    Some(types) => types.iter().any(|t| t.as_str() == Some(kind)),
                    None => kind == "Ingress" || spec.get("egress").is_some_and(|e| !e.is_null()),
                })
                .filter(|spec| selects(&spec["podSelector"], &subject.labels))
                .collect();
            if policies.is_empty() {
                return Ports::all();
            }
            let mut ports = Ports::default();
            for spec in policies {
                for rule in spec[rules].as_array().into_iter().flatten() {
                    let listed = rule[peers].as_array().filter(|p| !p.is_empty());
                    let matches = listed.is_none_or(|listed| {
                        listed
                            .iter()
                            .any(|p| peer_matches(cluster, &subject.namespace, p, peer))
                    });
                    if matches {
                        ports.union(&engine::rule_ports(&rule["ports"], destination));
                    }
                }
            }
            ports
        }

        fn peer_matches(cluster: &Cluster, namespace: &str, peer: &Value, pod: &Pod) -> bool {
            if peer.get("ipBlock").is_some() {
                return false;
            }
            let namespace_selector = peer.get("namespaceSelector");
            let pod_selector = peer.get("podSelector");
            if namespace_selector.is_none() && pod_selector.is_none() {
                return false;
            }
            let namespace_ok = match namespace_selector {
                None => pod.namespace == namespace,
                Some(selector) => selects(selector, &cluster.namespace_labels(&pod.namespace)),
            };
            namespace_ok && pod_selector.is_none_or(|selector| selects(selector, &pod.labels))
        }
    }

    #[test]
    fn report_lists_groups_and_connections_compactly() {
        let c = cluster(vec![
            deployment("a", 80),
            deployment("b", 8080),
            policy(
                "deny",
                json!({"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
            ),
            policy(
                "a-out",
                json!({"podSelector": {"matchLabels": {"app": "a"}}, "policyTypes": ["Egress"],
                "egress": [{"to": [{"podSelector": {"matchLabels": {"app": "b"}}}]}]}),
            ),
            policy(
                "b-in",
                json!({"podSelector": {"matchLabels": {"app": "b"}},
                "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "a"}}}],
                             "ports": [{"port": "http"}]}]}),
            ),
        ]);
        let text = render(&matrix(&c, "ns", &[]), "dev");
        let body = text.split_once("\n\n").expect("a header").1;
        assert_eq!(
            body,
            "Pod groups (2):\n  pod group  reaches  reached by\n  a                1           0\n  \
             b                0           1\n\nAllowed connections:\n  a -> b: 8080\n"
        );
    }
}
