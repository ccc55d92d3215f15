//! Objects stage, messaging component: the RabbitMQ cluster the app namespaces reach
//! through their `rabbitmq` ExternalName Service, its namespace, its disruption budget
//! and the NetworkPolicies that admit exactly the flows of the seed.

use indexmap::IndexMap;
use k8s_openapi::api::core::v1::{
    Affinity, Container, PodAffinityTerm, PodAntiAffinity, PodSpec, WeightedPodAffinityTerm,
};
use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicySpec,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::{
    MESSAGING, PodSecurityLabels, component_labels, dns_egress, environment_namespaces,
    in_namespace, local_pods, metadata, namespace, selector, tcp, tcp_range,
};
use crate::descriptor::{Catalog, Resources};
use crate::error::Result;
use crate::model::Project;
use crate::object::{Object, labels, object};
use crate::objects::pod;
use crate::scalar::{Name, Port, Quantity};
use crate::template::Templates;
use crate::tree::File;

/// Label the RabbitMQ cluster operator puts on every pod of a cluster (its name).
pub const CLUSTER_LABEL: &str = "app.kubernetes.io/name";
/// Label the operator puts on every RabbitMQ pod, whatever the cluster.
const COMPONENT_LABEL: (&str, &str) = ("app.kubernetes.io/component", "rabbitmq");
/// UID and GID of the rabbitmq image's user (the operator's default).
const RABBITMQ_UID: i64 = 999;
/// RabbitMQ's ports (https://www.rabbitmq.com/docs/networking#ports).
const EPMD: u16 = 4369;
const DISTRIBUTION: u16 = 25672;
const CLI_TOOLS: (u16, u16) = (35672, 35682);
pub const MANAGEMENT: u16 = 15672;
pub const PROMETHEUS: u16 = 15692;

/// `components.messaging` of the catalog; the cluster's name and namespace and the AMQP
/// port are the catalog's `rabbitmq` section, which the app namespaces also use.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Settings {
    pub pod_security: PodSecurityLabels,
    pub replicas: u32,
    pub image: String,
    /// Plugins enabled beside the operator's own (management, prometheus, peer discovery).
    pub plugins: Vec<String>,
    /// `rabbitmq.conf` settings appended after the operator's, in this order.
    pub config: IndexMap<String, String>,
    /// Persistent volume of each replica.
    pub storage: Quantity,
    #[serde(default)]
    pub storage_class: Option<Name>,
    pub resources: Resources,
    /// One replica per node: `required` (quorum survives a node loss) or `preferred`.
    pub anti_affinity: AntiAffinity,
    /// Replicas a voluntary disruption (node drain) may take down at once.
    pub max_unavailable: i32,
    /// Where the peer discovery plugin reaches the Kubernetes API, post-DNAT (the
    /// control-plane addresses): the only egress besides DNS and the cluster members.
    pub kubernetes_api: ApiEndpoint,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AntiAffinity {
    Required,
    Preferred,
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ApiEndpoint {
    pub cidr: String,
    pub ports: Vec<Port>,
}

/// `manifests/messaging`: the cluster in `rabbitmq-cluster.yaml`, its policies in
/// `network-policy.yaml`.
pub fn files(project: &Project, templates: &Templates) -> Result<Vec<File>> {
    let catalog = &project.catalog;
    let settings = &catalog.components.messaging;
    let l = component_labels(catalog, MESSAGING);
    let mut cluster = vec![namespace(
        catalog.rabbitmq.namespace.as_str(),
        settings.pod_security,
        &l,
    )];
    cluster.extend(rabbitmq_cluster(project, templates)?);
    cluster.push(disruption_budget(catalog));
    Ok(vec![
        File::new("rabbitmq-cluster.yaml", cluster),
        File::new("network-policy.yaml", network_policies(project)),
    ])
}

/// The pods of the cluster, as the operator labels them.
fn members(catalog: &Catalog) -> BTreeMap<String, String> {
    labels([
        (CLUSTER_LABEL, catalog.rabbitmq.cluster_name.as_str()),
        COMPONENT_LABEL,
    ])
}

#[derive(Serialize)]
struct Setting<'a> {
    key: &'a str,
    value: &'a str,
}

#[derive(Serialize)]
struct ConfigContext<'a> {
    settings: Vec<Setting<'a>>,
}

#[derive(Serialize)]
struct ClusterContext<'a> {
    name: &'a str,
    namespace: &'a str,
    labels: &'a BTreeMap<String, String>,
    topology_namespaces: String,
    replicas: u32,
    image: &'a str,
    resources: serde_json::Value,
    persistence: serde_json::Value,
    plugins: &'a [String],
    additional_config: String,
    affinity: serde_json::Value,
    pod_spec: serde_json::Value,
}

/// The RabbitmqCluster: the environments' namespaces allowed to declare topology objects
/// (their virtual host and users) against it, the seed's replicas, image, plugins, configuration, storage,
/// resources and anti-affinity, its pods hardened to Pod Security `restricted` through
/// the operator's StatefulSet override (the operator's defaults set no seccomp profile
/// and keep every capability).
fn rabbitmq_cluster(project: &Project, templates: &Templates) -> Result<Vec<Object>> {
    let catalog = &project.catalog;
    let settings = &catalog.components.messaging;
    let config = ConfigContext {
        settings: settings
            .config
            .iter()
            .map(|(key, value)| Setting { key, value })
            .collect(),
    };
    let additional_config = templates.text("components/messaging/rabbitmq.conf.j2", &config)?;
    let mut persistence = serde_json::json!({"storage": settings.storage.as_str()});
    if let Some(class) = &settings.storage_class {
        persistence["storageClassName"] = class.as_str().into();
    }
    let term = PodAffinityTerm {
        label_selector: Some(LabelSelector {
            match_labels: Some(members(catalog)),
            ..Default::default()
        }),
        topology_key: "kubernetes.io/hostname".into(),
        ..Default::default()
    };
    let anti_affinity = match settings.anti_affinity {
        AntiAffinity::Required => PodAntiAffinity {
            required_during_scheduling_ignored_during_execution: Some(vec![term]),
            ..Default::default()
        },
        AntiAffinity::Preferred => PodAntiAffinity {
            preferred_during_scheduling_ignored_during_execution: Some(vec![
                WeightedPodAffinityTerm {
                    pod_affinity_term: term,
                    weight: 100,
                },
            ]),
            ..Default::default()
        },
    };
    let hardened = |name: &str| Container {
        name: name.into(),
        security_context: Some(k8s_openapi::api::core::v1::SecurityContext {
            read_only_root_filesystem: None,
            run_as_user: None,
            run_as_group: None,
            ..pod::container_security(RABBITMQ_UID)
        }),
        ..Default::default()
    };
    let pod_spec = PodSpec {
        security_context: Some(pod::pod_security(RABBITMQ_UID)),
        containers: vec![hardened("rabbitmq")],
        init_containers: Some(vec![hardened("setup-container")]),
        ..Default::default()
    };
    let l = component_labels(catalog, MESSAGING);
    templates.objects(
        "components/messaging/rabbitmq-cluster.yaml.j2",
        &ClusterContext {
            name: catalog.rabbitmq.cluster_name.as_str(),
            namespace: catalog.rabbitmq.namespace.as_str(),
            labels: &l,
            topology_namespaces: environment_namespaces(project).join(","),
            replicas: settings.replicas,
            image: &settings.image,
            resources: object(&pod::resources(&settings.resources)),
            persistence,
            plugins: &settings.plugins,
            additional_config,
            affinity: object(&Affinity {
                pod_anti_affinity: Some(anti_affinity),
                ..Default::default()
            }),
            pod_spec: object(&pod_spec),
        },
    )
}

/// A node drain may take down at most `maxUnavailable` members, so quorum queues keep
/// their majority (the operator creates no budget of its own).
fn disruption_budget(catalog: &Catalog) -> Object {
    let settings = &catalog.components.messaging;
    object(&PodDisruptionBudget {
        metadata: metadata(
            catalog.rabbitmq.cluster_name.as_str(),
            Some(catalog.rabbitmq.namespace.as_str()),
            &component_labels(catalog, MESSAGING),
        ),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(settings.max_unavailable)),
            selector: Some(LabelSelector {
                match_labels: Some(members(catalog)),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// Default deny for the namespace, then one policy holding every flow into and out of the
/// cluster: AMQP from each environment's services, management and metrics from
/// monitoring, the management API from the operators, clustering between members; out:
/// DNS, the members, and the Kubernetes API for peer discovery. Shovels and federation
/// links to other brokers need an egress rule of their own when one is configured.
fn network_policies(project: &Project) -> Vec<Object> {
    let catalog = &project.catalog;
    let ns = catalog.rabbitmq.namespace.as_str();
    let l = component_labels(catalog, MESSAGING);
    let api = &catalog.components.messaging.kubernetes_api;
    // The cluster operator and the topology operator both call the management API.
    let charts = &catalog.components.argocd.charts;
    let mut operator_namespaces = vec![
        charts.rabbitmq_operator.namespace(),
        charts.rabbitmq_topology_operator.namespace(),
    ];
    operator_namespaces.dedup();
    let members_peer = local_pods(members(catalog));
    let clustering = vec![tcp(EPMD), tcp(DISTRIBUTION), tcp_range(CLI_TOOLS)];
    let microservices = labels([("component", "microservice")]);
    let mut ingress: Vec<NetworkPolicyIngressRule> = environment_namespaces(project)
        .iter()
        .map(|env_ns| NetworkPolicyIngressRule {
            from: Some(vec![in_namespace(env_ns, Some(microservices.clone()))]),
            ports: Some(vec![tcp(catalog.rabbitmq.amqp_port.get())]),
        })
        .collect();
    ingress.extend([
        NetworkPolicyIngressRule {
            from: Some(vec![in_namespace(
                catalog.security.monitoring_namespace.as_str(),
                None,
            )]),
            ports: Some(vec![tcp(MANAGEMENT), tcp(PROMETHEUS)]),
        },
        NetworkPolicyIngressRule {
            from: Some(
                operator_namespaces
                    .iter()
                    .map(|ns| in_namespace(ns, None))
                    .collect(),
            ),
            ports: Some(vec![tcp(MANAGEMENT)]),
        },
        NetworkPolicyIngressRule {
            from: Some(vec![members_peer.clone()]),
            ports: Some(clustering.clone()),
        },
    ]);
    let egress = vec![
        dns_egress(),
        NetworkPolicyEgressRule {
            to: Some(vec![members_peer]),
            ports: Some(clustering),
        },
        NetworkPolicyEgressRule {
            to: Some(vec![NetworkPolicyPeer {
                ip_block: Some(IPBlock {
                    cidr: api.cidr.clone(),
                    except: None,
                }),
                ..Default::default()
            }]),
            ports: Some(api.ports.iter().map(|p| tcp(p.get())).collect()),
        },
    ];
    let both = Some(vec!["Ingress".to_owned(), "Egress".to_owned()]);
    vec![
        object(&NetworkPolicy {
            metadata: metadata("default-deny-all", Some(ns), &l),
            spec: Some(NetworkPolicySpec {
                pod_selector: Some(LabelSelector::default()),
                policy_types: both.clone(),
                ..Default::default()
            }),
        }),
        object(&NetworkPolicy {
            metadata: metadata(
                format!("{}-traffic", catalog.rabbitmq.cluster_name),
                Some(ns),
                &l,
            ),
            spec: Some(NetworkPolicySpec {
                pod_selector: Some(selector(members(catalog))),
                policy_types: both,
                ingress: Some(ingress),
                egress: Some(egress),
            }),
        }),
    ]
}
