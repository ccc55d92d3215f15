//! Check stage, clusters: with several clusters, an object naming a namespace that only
//! another cluster has (the namespace of an environment there). A NetworkPolicy peer, a
//! monitor's namespaces, a secret store's conditions, a Gatekeeper constraint's match,
//! the RabbitMQ cluster's topology namespaces: each matches namespaces of its own
//! cluster only, so such an entry admits, scrapes or serves nothing.

use super::cluster::Placed;
use super::wiring::controllers::TOPOLOGY_NAMESPACES;
use super::{Family, Finding};
use crate::check::value::Value;
use crate::components::NAMESPACE_LABEL;
use std::collections::BTreeMap;

/// Findings for `objects` of the cluster `here`; `elsewhere` maps each namespace that
/// exists on another cluster only to that cluster's name.
pub fn check(
    objects: &[&Placed],
    here: &str,
    elsewhere: &BTreeMap<String, String>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    if elsewhere.is_empty() {
        return out;
    }
    for placed in objects {
        for (field, namespace) in named_namespaces(placed) {
            if let Some(cluster) = elsewhere.get(&namespace) {
                out.push(Finding::new(
                    Family::References,
                    placed,
                    field,
                    format!(
                        "names namespace `{namespace}`, which is on cluster `{cluster}`, not on \
                         `{here}` where this {} is: it only meets namespaces of its own cluster",
                        placed.kind()
                    ),
                ));
            }
        }
    }
    out
}

/// `(field, namespace)` of every namespace an object names where it means "the objects
/// of that namespace".
fn named_namespaces(placed: &Placed) -> Vec<(String, String)> {
    let object = &placed.object;
    let spec = &object["spec"];
    let mut named = Vec::new();
    let mut list = |field: String, values: &Value| {
        for (i, value) in values.as_array().into_iter().flatten().enumerate() {
            if let Some(namespace) = value.as_str() {
                named.push((format!("{field}[{i}]"), namespace.to_owned()));
            }
        }
    };
    match (placed.group(), placed.kind()) {
        ("networking.k8s.io", "NetworkPolicy") => {
            for (rules, peers) in [("ingress", "from"), ("egress", "to")] {
                let rules_list = spec[rules].as_array().into_iter().flatten().enumerate();
                for (i, rule) in rules_list {
                    for (j, peer) in rule[peers].as_array().into_iter().flatten().enumerate() {
                        let labels = &peer["namespaceSelector"]["matchLabels"];
                        if let Some(namespace) = labels[NAMESPACE_LABEL].as_str() {
                            named.push((
                                format!("spec.{rules}[{i}].{peers}[{j}].namespaceSelector"),
                                namespace.to_owned(),
                            ));
                        }
                    }
                }
            }
        }
        ("monitoring.coreos.com", "ServiceMonitor" | "PodMonitor") => list(
            "spec.namespaceSelector.matchNames".into(),
            &spec["namespaceSelector"]["matchNames"],
        ),
        ("external-secrets.io", "ClusterSecretStore" | "SecretStore") => {
            let conditions = spec["conditions"].as_array().into_iter().flatten();
            for (i, condition) in conditions.enumerate() {
                list(
                    format!("spec.conditions[{i}].namespaces"),
                    &condition["namespaces"],
                );
            }
        }
        ("constraints.gatekeeper.sh", _) => {
            list("spec.match.namespaces".into(), &spec["match"]["namespaces"]);
        }
        ("rabbitmq.com", "RabbitmqCluster") => {
            let annotation = &object["metadata"]["annotations"][TOPOLOGY_NAMESPACES];
            for namespace in annotation.as_str().into_iter().flat_map(|a| a.split(',')) {
                named.push((
                    format!("metadata.annotations.{TOPOLOGY_NAMESPACES}"),
                    namespace.trim().to_owned(),
                ));
            }
        }
        _ => {}
    }
    named
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::value::json;

    #[test]
    fn a_policy_admitting_another_clusters_namespace_is_found() {
        let policy = Placed::first(
            "messaging",
            json!({
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": {"name": "rabbitmq", "namespace": "e-commerce-messaging"},
                "spec": {"ingress": [{"from": [
                    {"namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: "e-commerce-dev"}}},
                    {"namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: "e-commerce-prod-us"}}}
                ]}]}
            }),
        );
        let elsewhere = BTreeMap::from([("e-commerce-prod-us".to_owned(), "us-1".to_owned())]);
        let found = check(&[&policy], "in-cluster", &elsewhere);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].field, "spec.ingress[0].from[1].namespaceSelector");
        assert!(
            found[0]
                .message
                .contains("on cluster `us-1`, not on `in-cluster`")
        );
        assert!(check(&[&policy], "in-cluster", &BTreeMap::new()).is_empty());
    }
}
