//! Objects stage: the NetworkPolicies of an app namespace, derived from one list of
//! allowed flows (the seed's "Selective Allow Rules"): default deny, DNS, then one
//! policy per workload holding exactly the flows into and out of it.

use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::collections::{BTreeMap, HashMap};

use super::data::{MINIO, MINIO_SETUP, REDIS};
use crate::descriptor::{Catalog, Layer};
use crate::object::{Object, labels, meta, object};

/// Label of the backup jobs' pods, which may read every database of their namespace.
pub const BACKUP_APP: &str = "mysql-backup";
/// Label the RabbitMQ operator puts on the cluster's pods.
const RABBITMQ_POD_LABEL: &str = "app.kubernetes.io/name";
/// Label of the Jaeger collector's pods (the Jaeger operator's instance label).
const JAEGER_POD_LABEL: (&str, &str) = ("app.kubernetes.io/instance", "jaeger");
/// OTLP over gRPC and HTTP: where the services send their traces.
const TRACE_PORTS: [u16; 2] = [4317, 4318];
/// The namespace label Kubernetes sets on every namespace itself.
const NAMESPACE_LABEL: &str = "kubernetes.io/metadata.name";
/// The label cert-manager puts on the HTTP-01 solver pods it starts in an Ingress's
/// namespace while an ACME order is pending, and the port they answer the challenge on.
pub const ACME_SOLVER_LABEL: (&str, &str) = ("acme.cert-manager.io/http01-solver", "true");
pub const ACME_SOLVER_PORT: u16 = 8089;

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
    let jaeger = Peer::Namespace {
        namespace: security.monitoring_namespace.to_string(),
        pod: Some((JAEGER_POD_LABEL.0.into(), JAEGER_POD_LABEL.1.into())),
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
        for port in TRACE_PORTS {
            flow(local(name), jaeger.clone(), port);
        }
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
        flow(
            monitoring.clone(),
            local(&db.deployment()),
            catalog.mysql.exporter.port.get(),
        );
    }
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
    names.extend([REDIS, MINIO, MINIO_SETUP].map(String::from));
    names
}

/// `default-deny-all`, `allow-dns`, the ACME solver's, and one `<workload>-traffic`
/// policy per workload, in runs ([`super::Run`]) of [`POLICIES_PER_RUN`] workloads.
pub fn policies(catalog: &Catalog) -> Vec<super::Run<'_>> {
    // Each workload's flows (indices into `flows`, in flow order), made once by the first
    // run: one pass instead of a scan per workload.
    type Index = (Vec<Flow>, HashMap<String, (Vec<usize>, Vec<usize>)>);
    let shared: std::sync::Arc<std::sync::OnceLock<Index>> = Default::default();
    let index = move || {
        let flows = flows(catalog);
        let mut by_workload: HashMap<String, (Vec<usize>, Vec<usize>)> = HashMap::new();
        for (i, f) in flows.iter().enumerate() {
            if let Peer::Local(app) = &f.to {
                by_workload.entry(app.clone()).or_default().0.push(i);
            }
            if let Peer::Local(app) = &f.from {
                by_workload.entry(app.clone()).or_default().1.push(i);
            }
        }
        (flows, by_workload)
    };
    let mut runs: Vec<super::Run> = vec![Box::new(move || Ok(catch_all(catalog)))];
    for chunk in workloads(catalog).chunks(POLICIES_PER_RUN) {
        let (chunk, shared) = (chunk.to_vec(), shared.clone());
        runs.push(Box::new(move || {
            let (flows, by_workload) = shared.get_or_init(index);
            let of = |indices: &[usize]| indices.iter().map(|&i| &flows[i]).collect::<Vec<_>>();
            Ok(chunk
                .iter()
                .map(|workload| {
                    let (into, out_of) = by_workload
                        .get(workload.as_str())
                        .map_or((Vec::new(), Vec::new()), |(i, o)| (of(i), of(o)));
                    workload_policy(catalog, &into, &out_of, workload)
                })
                .collect())
        }));
    }
    runs
}

/// The workloads whose NetworkPolicies one run of [`policies`] renders.
const POLICIES_PER_RUN: usize = 128;

/// The policies of every pod: `default-deny-all`, `allow-dns` and the ACME solver's.
fn catch_all(catalog: &Catalog) -> Vec<Object> {
    let mut l = labels([("app.kubernetes.io/part-of", catalog.platform.name.as_str())]);
    l.extend(catalog.platform.labels.clone());
    let all_pods = LabelSelector::default();
    vec![
        object(&NetworkPolicy {
            metadata: meta("default-deny-all", &l),
            spec: Some(NetworkPolicySpec {
                pod_selector: Some(all_pods.clone()),
                policy_types: Some(vec!["Ingress".to_owned(), "Egress".to_owned()]),
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
        acme_solver_policy(catalog, &l),
    ]
}

/// `acme-http01-solver`: the ACME server's challenge reaches cert-manager's solver pods
/// through the ingress controller; without this, `default-deny-all` keeps every
/// certificate from being issued. The solver needs no egress.
fn acme_solver_policy(catalog: &Catalog, l: &BTreeMap<String, String>) -> Object {
    let ingress_controller = Peer::Namespace {
        namespace: catalog.security.ingress_namespace.to_string(),
        pod: None,
    };
    object(&NetworkPolicy {
        metadata: meta("acme-http01-solver", l),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(match_labels(ACME_SOLVER_LABEL.0, ACME_SOLVER_LABEL.1)),
            policy_types: Some(vec!["Ingress".to_owned(), "Egress".to_owned()]),
            ingress: Some(vec![NetworkPolicyIngressRule {
                from: Some(vec![peer(&ingress_controller)]),
                ports: Some(vec![port("TCP", ACME_SOLVER_PORT)]),
            }]),
            egress: Some(Vec::new()),
        }),
    })
}

/// Where backups run: their pods reach every database and MinIO, and nothing else.
/// Environment-specific, so that no policy of an environment without backups names
/// pods that do not exist. `servers`: the databases' own pods serve the dumps (not
/// InnoDB Clusters' routers, whose policy is theirs).
pub fn backup_policies(catalog: &Catalog, servers: bool) -> Vec<Object> {
    let mut l = labels([("app.kubernetes.io/part-of", catalog.platform.name.as_str())]);
    l.extend(catalog.platform.labels.clone());
    let minio_port = catalog.minio.api_port.get();
    let databases = match_labels("component", "database");
    let policy = |name: &str, selector: LabelSelector, types: &[&str], ingress, egress| {
        object(&NetworkPolicy {
            metadata: meta(name, &l),
            spec: Some(NetworkPolicySpec {
                pod_selector: Some(selector),
                policy_types: Some(types.iter().map(|t| t.to_string()).collect()),
                ingress,
                egress,
            }),
        })
    };
    let backup_pods = NetworkPolicyPeer {
        pod_selector: Some(match_labels("app", BACKUP_APP)),
        ..Default::default()
    };
    let from_backups = |port_number| {
        Some(vec![NetworkPolicyIngressRule {
            from: Some(vec![backup_pods.clone()]),
            ports: Some(vec![port("TCP", port_number)]),
        }])
    };
    let to_databases = NetworkPolicyEgressRule {
        to: Some(vec![NetworkPolicyPeer {
            pod_selector: Some(databases.clone()),
            ..Default::default()
        }]),
        ports: Some(vec![port("TCP", 3306)]),
    };
    let to_minio = NetworkPolicyEgressRule {
        to: Some(vec![peer(&local(MINIO))]),
        ports: Some(vec![port("TCP", minio_port)]),
    };
    let egress = if servers {
        vec![to_databases, to_minio]
    } else {
        vec![to_minio]
    };
    let mut policies = vec![policy(
        &format!("{BACKUP_APP}-traffic"),
        match_labels("app", BACKUP_APP),
        &["Ingress", "Egress"],
        Some(Vec::new()),
        Some(egress),
    )];
    if servers {
        policies.push(policy(
            &format!("{BACKUP_APP}-to-databases"),
            databases,
            &["Ingress"],
            from_backups(3306),
            None,
        ));
    }
    policies.push(policy(
        &format!("{BACKUP_APP}-to-minio"),
        match_labels("app", MINIO),
        &["Ingress"],
        from_backups(minio_port),
        None,
    ));
    policies
}

/// `<workload>-traffic`: exactly the flows into and out of one workload's pods.
/// `into` and `out_of` are the flows to and from it, in flow order.
fn workload_policy(catalog: &Catalog, into: &[&Flow], out_of: &[&Flow], workload: &str) -> Object {
    let mut l = labels([("app.kubernetes.io/part-of", catalog.platform.name.as_str())]);
    l.extend(catalog.platform.labels.clone());
    let ingress: Vec<NetworkPolicyIngressRule> = into
        .iter()
        .map(|f| NetworkPolicyIngressRule {
            from: Some(vec![peer(&f.from)]),
            ports: Some(vec![port("TCP", f.port)]),
        })
        .collect();
    let egress: Vec<NetworkPolicyEgressRule> = out_of
        .iter()
        .map(|f| NetworkPolicyEgressRule {
            to: Some(vec![peer(&f.to)]),
            ports: Some(vec![port("TCP", f.port)]),
        })
        .collect();
    object(&NetworkPolicy {
        metadata: meta(format!("{workload}-traffic"), &l),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(match_labels("app", workload)),
            policy_types: Some(vec!["Ingress".to_owned(), "Egress".to_owned()]),
            ingress: Some(ingress),
            egress: Some(egress),
        }),
    })
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
