//! `platgen reachability` against an analyzer nobody on this project wrote:
//! network-config-analyzer (`nca`, PyPI, installed by scripts/test) computes the
//! connectivity of each environment from the same objects, and both must agree on every
//! pair of the environment's pods and on what the ingress controller reaches.
//!
//! nca knows the pods of core workloads only. The pods platgen knows from elsewhere are
//! given to it as stand-in Pods with the same labels and ports: the ingress controller
//! (a pod of its namespace with no labels, as `platgen reachability` models it) and
//! cert-manager's HTTP-01 solver in the environment's namespace. Pods that operators
//! create (RabbitMQ, Prometheus, Jaeger) are outside nca's model: pairs with them are
//! not compared.

use crate::support::{Scratch, environments, targets};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::process::Command;

/// The group `platgen reachability` gives the ingress controller's namespace.
const INGRESS_GROUP: &str = "traefik (namespace)";

/// A set of (protocol, first port, last port), or every connection.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Connections {
    All,
    Ports(BTreeSet<(String, u16, u16)>),
}

impl Connections {
    fn union(&mut self, other: Connections) {
        match (&mut *self, other) {
            (Connections::All, _) => {}
            (_, Connections::All) => *self = Connections::All,
            (Connections::Ports(mine), Connections::Ports(theirs)) => mine.extend(theirs),
        }
    }
}

/// `8000`, `4317-4318,53/UDP`, `all/TCP`, `all` (platgen's cells).
fn platgen_ports(text: &str) -> Connections {
    if text == "all" {
        return Connections::All;
    }
    let mut set = BTreeSet::new();
    for part in text.split(',') {
        let (range, protocol) = part.split_once('/').unwrap_or((part, "TCP"));
        let (from, to) = match range {
            "all" => (1, u16::MAX),
            _ => {
                let (a, b) = range.split_once('-').unwrap_or((range, range));
                (a.parse().expect("port"), b.parse().expect("port"))
            }
        };
        set.insert((protocol.to_owned(), from, to));
    }
    Connections::Ports(set)
}

/// `All connections`, `{protocols:TCP,dst_ports:3306}`,
/// `{protocols:TCP, UDP,dst_ports:53,8000-8002};{...}` (nca's).
fn nca_ports(text: &str) -> Connections {
    if text.trim() == "All connections" {
        return Connections::All;
    }
    let mut set = BTreeSet::new();
    for block in text.split(';') {
        let block = block.trim().trim_start_matches('{').trim_end_matches('}');
        let (protocols, ports) = block
            .split_once(",dst_ports:")
            .map_or((block, None), |(p, d)| (p, Some(d)));
        let protocols = protocols.trim_start_matches("protocols:");
        for protocol in protocols.split(',').map(str::trim) {
            match ports {
                None => {
                    set.insert((protocol.to_owned(), 1, u16::MAX));
                }
                Some(ports) => {
                    for range in ports.split(',') {
                        let (a, b) = range.split_once('-').unwrap_or((range, range));
                        set.insert((
                            protocol.to_owned(),
                            a.trim().parse().expect("port"),
                            b.trim().parse().expect("port"),
                        ));
                    }
                }
            }
        }
    }
    Connections::Ports(set)
}

/// Stand-ins for the pods platgen models that no target builds as a workload.
fn stand_ins(namespace: &str) -> String {
    format!(
        "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: traefik\n\
         ---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: ingress-controller\n  namespace: traefik\n\
         spec:\n  containers:\n  - name: traefik\n    image: traefik\n\
         ---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: cm-acme-http-solver\n  namespace: {namespace}\n\
         \x20 labels:\n    acme.cert-manager.io/http01-solver: \"true\"\n\
         spec:\n  containers:\n  - name: acmesolver\n    image: acmesolver\n    ports:\n\
         \x20   - name: http\n      containerPort: 8089\n"
    )
}

/// `(kind, name)` of each workload of `namespace` in a stream, and its pods' `app` label
/// (platgen's group), else its name.
fn groups(stream: &str, namespace: &str) -> HashMap<(String, String), String> {
    let mut groups = HashMap::new();
    for document in serde_yaml::Deserializer::from_str(stream) {
        let object = serde_yaml::Value::deserialize(document).expect("YAML");
        let metadata = &object["metadata"];
        if metadata["namespace"].as_str() != Some(namespace) {
            continue;
        }
        let (Some(kind), Some(name)) = (object["kind"].as_str(), metadata["name"].as_str()) else {
            continue;
        };
        let spec = &object["spec"];
        let template = match kind {
            "CronJob" => &spec["jobTemplate"]["spec"]["template"],
            "Pod" => &object,
            _ => &spec["template"],
        };
        let app = template["metadata"]["labels"]["app"]
            .as_str()
            .unwrap_or(name)
            .to_owned();
        groups.insert((kind.to_owned(), name.to_owned()), app);
    }
    groups
}

/// The name of the Namespace object of a stream.
fn namespace_of(stream: &str) -> String {
    serde_yaml::Deserializer::from_str(stream)
        .map(|d| serde_yaml::Value::deserialize(d).expect("YAML"))
        .find(|o| o["kind"].as_str() == Some("Namespace"))
        .and_then(|o| o["metadata"]["name"].as_str().map(str::to_owned))
        .expect("the environment's namespace")
}

#[test]
fn reachability_agrees_with_network_config_analyzer() {
    let test = "reachability_agrees_with_network_config_analyzer";
    if !crate::conformance::available("nca", test) {
        return;
    }
    let project = Scratch::new();
    let all = targets(project.path());
    let environments = environments(project.path());
    assert!(!environments.is_empty());
    let components: String = all
        .iter()
        .filter(|t| !environments.contains(t))
        .map(|t| format!("---\n{}", project.run(&["build", t]).code(0).stdout))
        .collect();
    for env in &environments {
        let built = project.run(&["build", env]).code(0).stdout;
        let namespace = namespace_of(&built);
        let stream = format!("---\n{built}{components}{}", stand_ins(&namespace));
        let file = project.path().join(format!("nca-{env}.yaml"));
        std::fs::write(&file, &stream).expect("write");
        let output = Command::new("nca")
            .arg("--connectivity")
            .arg(&file)
            .arg("--ns_list")
            .arg(&file)
            .arg("--pod_list")
            .arg(&file)
            .args(["-o", "txt_no_fw_rules", "--output_endpoints", "deployments"])
            .output()
            .expect("nca runs");
        let report = String::from_utf8_lossy(&output.stdout);
        assert!(
            report.contains(" => "),
            "nca printed no connection for {env}:\n{report}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let groups = groups(&stream, &namespace);
        let group = |endpoint: &str| -> Option<String> {
            let (path, kind) = endpoint.strip_suffix(']')?.split_once('[')?;
            let (ns, name) = path.split_once('/')?;
            if ns == "traefik" {
                return Some(INGRESS_GROUP.to_owned());
            }
            (ns == namespace).then(|| groups.get(&(kind.to_owned(), name.to_owned())).cloned())?
        };
        let mut theirs: BTreeMap<(String, String), Connections> = BTreeMap::new();
        for line in report.lines() {
            let Some((pair, connections)) = line.split_once(" : ") else {
                continue;
            };
            let Some((from, to)) = pair.split_once(" => ") else {
                continue;
            };
            if let (Some(from), Some(to)) = (group(from), group(to))
                && from != to
            {
                let entry = theirs
                    .entry((from, to))
                    .or_insert(Connections::Ports(BTreeSet::new()));
                entry.union(nca_ports(connections));
            }
        }
        let ours_report = project.run(&["reachability", env]).code(0).stdout;
        let compared = |g: &str| !g.contains(" (") || g == INGRESS_GROUP;
        let ours: BTreeMap<(String, String), Connections> = ours_report
            .split("Allowed connections:\n")
            .nth(1)
            .expect("connections listed")
            .lines()
            .filter_map(|line| {
                let (from, rest) = line.trim().split_once(" -> ")?;
                let (to, ports) = rest.rsplit_once(": ")?;
                (compared(from) && compared(to) && from != to)
                    .then(|| ((from.to_owned(), to.to_owned()), platgen_ports(ports)))
            })
            .collect();
        assert!(ours.len() > 10, "{ours_report}");
        assert!(
            ours.contains_key(&(INGRESS_GROUP.to_owned(), "cm-acme-http-solver".to_owned())),
            "{ours_report}"
        );
        let pairs: BTreeSet<&(String, String)> = ours.keys().chain(theirs.keys()).collect();
        let disagreements: Vec<String> = pairs
            .into_iter()
            .filter(|pair| ours.get(*pair) != theirs.get(*pair))
            .map(|pair| {
                format!(
                    "{} -> {}: platgen {:?}, nca {:?}",
                    pair.0,
                    pair.1,
                    ours.get(pair),
                    theirs.get(pair)
                )
            })
            .collect();
        assert!(
            disagreements.is_empty(),
            "{env}: platgen reachability and nca disagree:\n{}",
            disagreements.join("\n")
        );
    }
}
