//! Check stage, reachability: the NetworkPolicy engine. Pods with the same namespace,
//! labels and declared ports are one *class* (NetworkPolicies cannot tell them apart);
//! policies are indexed by namespace and by one label they select, and rule peers by the
//! classes they match, so evaluating a whole namespace costs what its policies allow,
//! not pods x pods x policies.
//!
//! The API other checks use: [`Engine::new`] over a [`Cluster`], then
//! [`Engine::ports`] / [`Engine::allows`] for "may pod A open a connection to pod B on
//! port P", or [`Engine::connections`] for every allowed connection among many classes.
//!
//! Semantics (Kubernetes): a connection is allowed when the source's egress allows it
//! and the destination's ingress allows it. For each direction, a pod that no policy of
//! that type selects is unrestricted; a selected pod gets the union of the rules of
//! every policy selecting it. `ipBlock` peers are taken to mean addresses outside the
//! cluster: they match no pod.

use super::ports::Ports;
use crate::check::cluster::{Cluster, Labels, PodPort, Workload, selects};
use crate::check::value::Value;
use std::collections::{BTreeMap, HashMap};

/// The pods of one class, as NetworkPolicies see them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pod {
    pub namespace: String,
    pub labels: Labels,
    /// Declared ports: named ports of a rule resolve against them.
    pub ports: Vec<PodPort>,
}

impl Pod {
    /// The pods of a workload.
    pub fn of(workload: &Workload) -> Pod {
        Pod {
            namespace: workload.namespace.clone(),
            labels: workload.labels.clone(),
            ports: workload.ports.clone(),
        }
    }
}

/// A direction of traffic, as a NetworkPolicy names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
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

/// The policies of one namespace and direction, by the labels they select.
#[derive(Default)]
struct Policies<'c> {
    /// Specs whose `podSelector` has no `matchLabels` (every pod, or expressions only).
    unlabelled: Vec<&'c Value>,
    /// Specs by one `(key, value)` of their `matchLabels`: a pod without it cannot match.
    by_label: HashMap<(&'c str, &'c str), Vec<&'c Value>>,
}

/// The rules of one policy and direction, by a label their peers select: a policy that
/// lists many rules (the gateway's egress to every public service, a shared store's
/// ingress from each of its clients) would otherwise be read whole for every
/// connection, quadratic in the catalog.
#[derive(Default)]
struct Rules<'c> {
    /// Rules a peer of any labels may match (no peers, or a peer without `matchLabels`).
    any: Vec<usize>,
    /// Rules by one `(key, value)` of a peer's `podSelector.matchLabels`.
    by_label: HashMap<(&'c str, &'c str), Vec<usize>>,
}

/// From how many rules a policy's rules are indexed.
const RULE_INDEX_FROM: usize = 16;

/// The NetworkPolicies of a cluster, indexed for evaluation.
pub struct Engine<'c> {
    cluster: &'c Cluster,
    policies: HashMap<(&'c str, Direction), Policies<'c>>,
    /// The rules of policies with many, by the address of the policy's spec.
    rules: HashMap<(*const Value, Direction), Rules<'c>>,
}

impl<'c> Engine<'c> {
    /// Indexes every NetworkPolicy of the cluster (one pass over its objects).
    pub fn new(cluster: &'c Cluster) -> Engine<'c> {
        let mut policies: HashMap<(&str, Direction), Policies> = HashMap::new();
        let mut rules = HashMap::new();
        for placed in &cluster.objects {
            if (placed.group(), placed.kind()) != ("networking.k8s.io", "NetworkPolicy") {
                continue;
            }
            let spec = &placed.object["spec"];
            for direction in [Direction::Ingress, Direction::Egress] {
                if !has_type(spec, direction) {
                    continue;
                }
                let index = policies.entry((placed.namespace(), direction)).or_default();
                let first = spec["podSelector"]["matchLabels"]
                    .as_object()
                    .and_then(|m| m.iter().find_map(|(k, v)| Some((k, v.as_str()?))));
                match first {
                    Some(pair) => index.by_label.entry(pair).or_default().push(spec),
                    None => index.unlabelled.push(spec),
                }
                let listed = spec[direction.rules()].as_array().unwrap_or_default();
                if listed.len() >= RULE_INDEX_FROM {
                    rules.insert(
                        (spec as *const Value, direction),
                        Rules::new(listed, direction),
                    );
                }
            }
        }
        Engine {
            cluster,
            policies,
            rules,
        }
    }

    /// The specs of the policies of `direction` that select `pod`; `None` when none does
    /// (the pod is unrestricted in that direction).
    fn selecting(&self, pod: &Pod, direction: Direction) -> Option<Vec<&'c Value>> {
        let index = self.policies.get(&(pod.namespace.as_str(), direction))?;
        let labelled = pod
            .labels
            .iter()
            .filter_map(|(k, v)| index.by_label.get(&(k.as_str(), v.as_str())))
            .flatten();
        let found: Vec<&Value> = index
            .unlabelled
            .iter()
            .chain(labelled)
            .filter(|spec| selects(&spec["podSelector"], &pod.labels))
            .copied()
            .collect();
        (!found.is_empty()).then_some(found)
    }

    /// What `direction` allows from `source` to `destination`: egress is the source's
    /// policies, ingress the destination's.
    pub fn allowed(&self, source: &Pod, destination: &Pod, direction: Direction) -> Ports {
        let (subject, peer) = match direction {
            Direction::Egress => (source, destination),
            Direction::Ingress => (destination, source),
        };
        let Some(policies) = self.selecting(subject, direction) else {
            return Ports::all();
        };
        let mut ports = Ports::default();
        for spec in policies {
            let listed = spec[direction.rules()].as_array().unwrap_or_default();
            // The rules a peer with these labels may match (a union of ports: their
            // order does not matter), else every rule.
            let candidates: Vec<&Value> = match self.rules.get(&(spec as *const Value, direction)) {
                Some(index) => index.candidates(&peer.labels).map(|r| &listed[r]).collect(),
                None => listed.iter().collect(),
            };
            for rule in candidates {
                let matches = match rule_peers(rule, direction) {
                    None => true,
                    Some(peers) => peers
                        .iter()
                        .any(|p| self.peer_matches(&subject.namespace, p, peer)),
                };
                if matches {
                    ports.union(&rule_ports(&rule["ports"], destination));
                }
            }
        }
        ports
    }

    /// The ports `source` may open connections to `destination` on: what the source's
    /// egress and the destination's ingress both allow.
    pub fn ports(&self, source: &Pod, destination: &Pod) -> Ports {
        let egress = self.allowed(source, destination, Direction::Egress);
        if egress.is_empty() {
            return egress;
        }
        egress.intersection(&self.allowed(source, destination, Direction::Ingress))
    }

    /// Whether `source` may open a connection to `destination` on `port` of `protocol`
    /// (`TCP`, `UDP`, `SCTP`).
    pub fn allows(&self, source: &Pod, destination: &Pod, protocol: &str, port: u16) -> bool {
        self.ports(source, destination).allows(protocol, port)
    }

    /// Whether a rule's peer (seen from a policy of `namespace`) covers a pod.
    fn peer_matches(&self, namespace: &str, peer: &Value, pod: &Pod) -> bool {
        let Some((namespaces, pods)) = peer_selectors(peer) else {
            return false;
        };
        let namespace_ok = match namespaces {
            None => pod.namespace == namespace,
            Some(selector) => {
                let labels = self.cluster.namespace_labels(&pod.namespace);
                selects(selector, &labels)
            }
        };
        namespace_ok && pods.is_none_or(|selector| selects(selector, &pod.labels))
    }

    /// Every allowed connection among `classes` (indexes into it), with its ports:
    /// evaluated from the policies' side, class to class, so the cost follows the rules
    /// and the connections they allow rather than the square of the classes.
    pub fn connections(&self, classes: &[Pod]) -> BTreeMap<(usize, usize), Ports> {
        let universe = Universe::new(self.cluster, classes);
        let egress: Vec<Option<HashMap<usize, Ports>>> = (0..classes.len())
            .map(|c| self.reach(&universe, c, Direction::Egress))
            .collect();
        let ingress: Vec<Option<HashMap<usize, Ports>>> = (0..classes.len())
            .map(|c| self.reach(&universe, c, Direction::Ingress))
            .collect();
        let open_ingress: Vec<usize> = (0..classes.len())
            .filter(|&d| ingress[d].is_none())
            .collect();
        // Sources that only ingress restricts: the destinations whose ingress names them.
        let mut admitted: Vec<Vec<usize>> = vec![Vec::new(); classes.len()];
        for (d, sources) in ingress.iter().enumerate() {
            for &s in sources.iter().flat_map(|m| m.keys()) {
                admitted[s].push(d);
            }
        }
        let mut cells = BTreeMap::new();
        for s in 0..classes.len() {
            let candidates: Vec<usize> = match &egress[s] {
                Some(destinations) => destinations.keys().copied().collect(),
                None => open_ingress.iter().chain(&admitted[s]).copied().collect(),
            };
            for d in candidates {
                let out = egress[s].as_ref().map(|m| &m[&d]);
                let into = ingress[d].as_ref().map(|m| m.get(&s));
                let ports = match (out, into) {
                    (_, Some(None)) => continue,
                    (None, None) => Ports::all(),
                    (Some(out), None) => out.clone(),
                    (None, Some(Some(into))) => into.clone(),
                    (Some(out), Some(Some(into))) => out.intersection(into),
                };
                if !ports.is_empty() {
                    cells.insert((s, d), ports);
                }
            }
        }
        cells
    }

    /// What the policies selecting class `c` allow in `direction`, by peer class (the
    /// destination in egress, the source in ingress); `None` when unrestricted.
    fn reach(
        &self,
        universe: &Universe,
        c: usize,
        direction: Direction,
    ) -> Option<HashMap<usize, Ports>> {
        let subject = &universe.classes[c];
        let policies = self.selecting(subject, direction)?;
        let mut reach: HashMap<usize, Ports> = HashMap::new();
        for spec in policies {
            for rule in spec[direction.rules()].as_array().into_iter().flatten() {
                let peers = universe.rule_peers(self, &subject.namespace, rule, direction);
                for &peer in &peers {
                    let destination = match direction {
                        Direction::Egress => &universe.classes[peer],
                        Direction::Ingress => subject,
                    };
                    let ports = rule_ports(&rule["ports"], destination);
                    reach.entry(peer).or_default().union(&ports);
                }
            }
        }
        Some(reach)
    }
}

/// The classes a whole evaluation considers, indexed by namespace and label.
struct Universe<'a> {
    classes: &'a [Pod],
    by_namespace: HashMap<&'a str, Vec<usize>>,
    by_label: HashMap<(&'a str, &'a str, &'a str), Vec<usize>>,
    namespaces: HashMap<&'a str, Labels>,
}

impl<'a> Universe<'a> {
    fn new(cluster: &Cluster, classes: &'a [Pod]) -> Universe<'a> {
        let mut universe = Universe {
            classes,
            by_namespace: HashMap::new(),
            by_label: HashMap::new(),
            namespaces: HashMap::new(),
        };
        for (c, pod) in classes.iter().enumerate() {
            let ns = pod.namespace.as_str();
            universe.by_namespace.entry(ns).or_default().push(c);
            for (k, v) in &pod.labels {
                let key = (ns, k.as_str(), v.as_str());
                universe.by_label.entry(key).or_default().push(c);
            }
            universe
                .namespaces
                .entry(ns)
                .or_insert_with(|| cluster.namespace_labels(ns));
        }
        universe
    }

    /// The classes a rule's peers match (every class when the rule names no peer).
    fn rule_peers(
        &self,
        engine: &Engine,
        namespace: &str,
        rule: &Value,
        direction: Direction,
    ) -> Vec<usize> {
        let Some(peers) = rule_peers(rule, direction) else {
            return (0..self.classes.len()).collect();
        };
        let mut matched: Vec<usize> = Vec::new();
        for peer in peers {
            let Some((namespaces, pods)) = peer_selectors(peer) else {
                continue;
            };
            let in_namespaces: Vec<&str> = match namespaces {
                None => vec![namespace],
                Some(selector) => self
                    .namespaces
                    .iter()
                    .filter(|(_, labels)| selects(selector, labels))
                    .map(|(ns, _)| *ns)
                    .collect(),
            };
            for ns in in_namespaces {
                let candidates = pods
                    .and_then(|selector| selector["matchLabels"].as_object())
                    .and_then(|m| m.iter().find_map(|(k, v)| Some((k, v.as_str()?))))
                    .map(|(k, v)| self.by_label.get(&(ns, k, v)))
                    .unwrap_or_else(|| self.by_namespace.get(ns));
                for &c in candidates.into_iter().flatten() {
                    let pod = &self.classes[c];
                    if engine.peer_matches(namespace, peer, pod) {
                        matched.push(c);
                    }
                }
            }
        }
        matched.sort_unstable();
        matched.dedup();
        matched
    }
}

impl<'c> Rules<'c> {
    fn new(listed: &'c [Value], direction: Direction) -> Rules<'c> {
        let mut rules = Rules::default();
        for (r, rule) in listed.iter().enumerate() {
            let Some(peers) = rule_peers(rule, direction) else {
                rules.any.push(r);
                continue;
            };
            for (_, pods) in peers.iter().filter_map(peer_selectors) {
                let first = pods
                    .and_then(|pods| pods["matchLabels"].as_object())
                    .and_then(|m| m.iter().find_map(|(k, v)| Some((k, v.as_str()?))));
                match first {
                    Some(pair) => rules.by_label.entry(pair).or_default().push(r),
                    None => rules.any.push(r),
                }
            }
        }
        rules
    }

    /// The rules whose peers may select pods with these labels, in rule order.
    fn candidates(&self, labels: &Labels) -> impl Iterator<Item = usize> + use<> {
        let mut found = self.any.clone();
        for (k, v) in labels {
            if let Some(rules) = self.by_label.get(&(k.as_str(), v.as_str())) {
                found.extend(rules);
            }
        }
        found.sort_unstable();
        found.dedup();
        found.into_iter()
    }
}

/// Whether a policy has this type: `policyTypes`, or by default Ingress, plus Egress
/// when it has egress rules.
fn has_type(spec: &Value, direction: Direction) -> bool {
    match spec["policyTypes"].as_array() {
        Some(types) => types
            .iter()
            .any(|t| t.as_str() == Some(direction.policy_type())),
        None => match direction {
            Direction::Ingress => true,
            Direction::Egress => spec.get("egress").is_some_and(|e| !e.is_null()),
        },
    }
}

/// The peers of a rule; `None` when it names none (it matches every pod).
fn rule_peers(rule: &Value, direction: Direction) -> Option<&[Value]> {
    rule[direction.peers()].as_array().filter(|p| !p.is_empty())
}

/// A peer's `namespaceSelector` and `podSelector` (each optional); `None` for a peer
/// that matches no pod (an `ipBlock`, or neither selector).
fn peer_selectors(peer: &Value) -> Option<(Option<&Value>, Option<&Value>)> {
    if peer.get("ipBlock").is_some() {
        return None;
    }
    let namespaces = peer.get("namespaceSelector");
    let pods = peer.get("podSelector");
    (namespaces.is_some() || pods.is_some()).then_some((namespaces, pods))
}

/// The ports of a rule, named ports resolved against the destination's pods; no ports
/// means every port.
pub(super) fn rule_ports(ports: &Value, destination: &Pod) -> Ports {
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
                    if p.name.as_deref() == Some(&**name) && p.protocol == protocol {
                        result.add(protocol, p.number, p.number);
                    }
                }
            }
            _ => {}
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::cluster::Placed;
    use serde_json::json;

    /// The index of a policy's many rules finds what reading every rule finds.
    #[test]
    fn indexed_rules_allow_what_every_rule_allows() {
        let pod = |app: &str, tier: &str| {
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": app, "namespace": "ns"},
                "spec": {"template": {"metadata": {"labels": {"app": app, "tier": tier}},
                    "spec": {"containers": [{"name": "c", "ports": [
                        {"name": "http", "containerPort": 8080}]}]}}}})
        };
        let mut rules: Vec<serde_json::Value> = (0..20)
            .map(|i| {
                json!({"to": [{"podSelector": {"matchLabels": {"app": format!("s{i}")}}}],
                "ports": [{"port": 8000 + i}]})
            })
            .collect();
        rules.push(
            json!({"to": [{"podSelector": {"matchLabels": {"tier": "db"}}},
            {"podSelector": {"matchLabels": {"app": "s3"}}}], "ports": [{"port": "http"}]}),
        );
        rules.push(json!({"to": [{"namespaceSelector": {}}], "ports": [{"port": 53}]}));
        rules.push(json!({"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}));
        rules.push(json!({"to": [{"podSelector": {"matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["cache"]}]}}]}));
        rules.push(json!({"ports": [{"port": 9090}]}));
        let policy = json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "gateway", "namespace": "ns"},
            "spec": {"podSelector": {"matchLabels": {"app": "gateway"}},
                "policyTypes": ["Egress"], "egress": rules}});
        let mut objects = vec![pod("gateway", "edge"), policy];
        for (app, tier) in [
            ("s3", "web"),
            ("s7", "db"),
            ("s19", "cache"),
            ("x", "db"),
            ("y", "web"),
        ] {
            objects.push(pod(app, tier));
        }
        let placed = (objects.into_iter().enumerate())
            .map(|(position, object)| Placed::new("t", 0, position, object.into()))
            .collect();
        let cluster = Cluster::new(placed);
        let indexed = Engine::new(&cluster);
        assert_eq!(indexed.rules.len(), 1);
        let mut whole = Engine::new(&cluster);
        whole.rules.clear();
        let pods: Vec<Pod> = cluster.workloads.iter().map(Pod::of).collect();
        for source in &pods {
            for destination in &pods {
                for direction in [Direction::Egress, Direction::Ingress] {
                    assert_eq!(
                        indexed.allowed(source, destination, direction),
                        whole.allowed(source, destination, direction),
                        "{:?} -> {:?}",
                        source.labels,
                        destination.labels
                    );
                }
            }
        }
    }
}
