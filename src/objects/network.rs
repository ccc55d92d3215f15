//! Objects stage: the NetworkPolicies of an app namespace, derived from one list of
//! allowed flows (the seed's "Selective Allow Rules"): default deny, DNS, then one
//! policy per workload holding exactly the flows into and out of it.

use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::collections::BTreeMap;

use super::data::{MINIO, MINIO_SETUP, REDIS};
use crate::descriptor::{Catalog, Layer};
use crate::object::{Object, labels, meta, object};

/// Label of the backup jobs' pods, which may read every database of their namespace.
pub const BACKUP_APP: &str = "mysql-backup";
/// Label the RabbitMQ operator puts on the cluster's pods.
const RABBITMQ_POD_LABEL: &str = "app.kubernetes.io/name";
/// The namespace label Kubernetes sets on every namespace itself.
const NAMESPACE_LABEL: &str = "kubernetes.io/metadata.name";

/// One end of a flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Peer {
    /// A workload of the app namespace, by its `app` label.
    Local(String),
    /// Pods of another namespace, optionally narrowed by a label.
    Namespace {
        namespace: String,
        pod: Option<(String, String)>,
    },
}

/// An allowed connection: `from` may open TCP connections to `to` on `port`.
#[derive(Debug, Clone)]
pub struct Flow {
    pub from: Peer,
    pub to: Peer,
    pub port: u16,
}

fn local(app: &str) -> Peer {
    Peer::Local(app.to_owned())
}

/// Every flow the platform allows inside and across an app namespace.
pub fn flows(catalog: &Catalog) -> Vec<Flow> {
    let security = &catalog.security;
    let monitoring = Peer::Namespace {
        namespace: security.monitoring_namespace.to_string(),
        pod: None,
    };
    let rabbitmq = Peer::Namespace {
        namespace: catalog.rabbitmq.namespace.to_string(),
        pod: Some((
            RABBITMQ_POD_LABEL.into(),
            catalog.rabbitmq.cluster_name.to_string(),
        )),
    };
    let metrics = catalog.workloads.metrics_port.get();
    let minio_port = catalog.minio.api_port.get();
    let redis_port = catalog.redis.port.get();
    let gateway = catalog.gateway().name.as_str();
    let mut flows = Vec::new();
    let mut flow = |from: Peer, to: Peer, port: u16| flows.push(Flow { from, to, port });
    for view in catalog.services() {
        let name = view.service.name.as_str();
        let port = view.service.port.get();
        if view.service.layer == Layer::Gateway {
            let traefik = Peer::Namespace {
                namespace: security.ingress_namespace.to_string(),
                pod: None,
            };
            flow(traefik, local(name), port);
        } else {
            flow(local(gateway), local(name), port);
        }
        flow(monitoring.clone(), local(name), metrics);
        flow(
            local(name),
            rabbitmq.clone(),
            catalog.rabbitmq.amqp_port.get(),
        );
        if let Some(db) = view.database {
            flow(local(name), local(&db.deployment()), 3306);
        }
        if view.service.redis {
            flow(local(name), local(REDIS), redis_port);
        }
        if view.bucket.is_some() {
            flow(local(name), local(MINIO), minio_port);
        }
    }
    for db in catalog.databases() {
        flow(local(BACKUP_APP), local(&db.deployment()), 3306);
        flow(
            monitoring.clone(),
            local(&db.deployment()),
            catalog.mysql.exporter.port.get(),
        );
    }
    flow(local(BACKUP_APP), local(MINIO), minio_port);
    flow(local(MINIO_SETUP), local(MINIO), minio_port);
    flow(monitoring.clone(), local(MINIO), minio_port);
    // FluentBit forwards logs to Redis Streams from the monitoring namespace.
    flow(monitoring, local(REDIS), redis_port);
    flows
}

/// Workloads that get a policy of their own, in a stable order.
fn workloads(catalog: &Catalog) -> Vec<String> {
    let mut names: Vec<String> = catalog
        .services()
        .map(|s| s.service.name.to_string())
        .collect();
    names.extend(catalog.databases().map(|d| d.deployment()));
    names.extend([REDIS, MINIO, MINIO_SETUP, BACKUP_APP].map(String::from));
    names
}

/// `default-deny-all`, `allow-dns`, and one `<workload>-traffic` policy per workload.
pub fn policies(catalog: &Catalog) -> Vec<Object> {
    let mut l = labels([("app.kubernetes.io/part-of", catalog.platform.name.as_str())]);
    l.extend(catalog.platform.labels.clone());
    let all_pods = LabelSelector::default();
    let both = Some(vec!["Ingress".to_owned(), "Egress".to_owned()]);
    let mut objects = vec![
        object(&NetworkPolicy {
            metadata: meta("default-deny-all", &l),
            spec: Some(NetworkPolicySpec {
                pod_selector: Some(all_pods.clone()),
                policy_types: both.clone(),
                ..Default::default()
            }),
        }),
        object(&NetworkPolicy {
            metadata: meta("allow-dns", &l),
            spec: Some(NetworkPolicySpec {
                pod_selector: Some(all_pods),
                policy_types: Some(vec!["Egress".into()]),
                egress: Some(vec![NetworkPolicyEgressRule {
                    to: Some(vec![NetworkPolicyPeer {
                        namespace_selector: Some(match_labels(NAMESPACE_LABEL, "kube-system")),
                        pod_selector: Some(match_labels("k8s-app", "kube-dns")),
                        ..Default::default()
                    }]),
                    ports: Some(vec![port("UDP", 53), port("TCP", 53)]),
                }]),
                ..Default::default()
            }),
        }),
    ];
    let flows = flows(catalog);
    for workload in workloads(catalog) {
        let me = local(&workload);
        let ingress: Vec<NetworkPolicyIngressRule> = flows
            .iter()
            .filter(|f| f.to == me)
            .map(|f| NetworkPolicyIngressRule {
                from: Some(vec![peer(&f.from)]),
                ports: Some(vec![port("TCP", f.port)]),
            })
            .collect();
        let egress: Vec<NetworkPolicyEgressRule> = flows
            .iter()
            .filter(|f| f.from == me)
            .map(|f| NetworkPolicyEgressRule {
                to: Some(vec![peer(&f.to)]),
                ports: Some(vec![port("TCP", f.port)]),
            })
            .collect();
        objects.push(object(&NetworkPolicy {
            metadata: meta(format!("{workload}-traffic"), &l),
            spec: Some(NetworkPolicySpec {
                pod_selector: Some(match_labels("app", &workload)),
                policy_types: both.clone(),
                ingress: Some(ingress),
                egress: Some(egress),
            }),
        }));
    }
    objects
}

fn match_labels(key: &str, value: &str) -> LabelSelector {
    LabelSelector {
        match_labels: Some(BTreeMap::from([(key.to_owned(), value.to_owned())])),
        ..Default::default()
    }
}

fn peer(peer: &Peer) -> NetworkPolicyPeer {
    match peer {
        Peer::Local(app) => NetworkPolicyPeer {
            pod_selector: Some(match_labels("app", app)),
            ..Default::default()
        },
        Peer::Namespace { namespace, pod } => NetworkPolicyPeer {
            namespace_selector: Some(match_labels(NAMESPACE_LABEL, namespace)),
            pod_selector: pod.as_ref().map(|(k, v)| match_labels(k, v)),
            ..Default::default()
        },
    }
}

fn port(protocol: &str, number: u16) -> NetworkPolicyPort {
    NetworkPolicyPort {
        protocol: Some(protocol.into()),
        port: Some(IntOrString::Int(i32::from(number))),
        ..Default::default()
    }
}
