//! Objects stage, monitoring component (seed: "Monitoring Stack"), all in the monitoring
//! namespace: Prometheus and Alertmanager (run by the Prometheus operator that the argocd
//! component installs with kube-prometheus-stack), what they scrape, the seed's alerts and
//! their routing, Grafana with its datasources and dashboards, Jaeger, and FluentBit
//! shipping the environments' logs to their Redis Streams.
//!
//! Pod Security: the namespace enforces `privileged` and warns/audits at `restricted`.
//! FluentBit must read the nodes' log files (hostPath), and kube-prometheus-stack's node
//! exporter needs the host's network and PID namespaces: no lower level admits either.
//! Every pod platgen writes here other than FluentBit meets `restricted`, which the audit
//! and warn labels keep checking. The namespace stays the contract's (`monitoring`) because
//! the environments' NetworkPolicies admit scraping and FluentBit's Redis traffic from it.

use k8s_openapi::api::apps::v1::{
    DaemonSet, DaemonSetSpec, Deployment, DeploymentSpec, DeploymentStrategy,
};
use k8s_openapi::api::core::v1::{
    Affinity, Capabilities, ConfigMap, ConfigMapProjection, Container, HostPathVolumeSource,
    KeyToPath, PersistentVolumeClaim, PersistentVolumeClaimSpec, PersistentVolumeClaimVolumeSource,
    PodAffinityTerm, PodAntiAffinity, PodSecurityContext, PodSpec, PodTemplateSpec,
    ProjectedVolumeSource, SeccompProfile, SecurityContext, Service, ServiceAccount, ServiceSpec,
    Toleration, Volume, VolumeProjection, VolumeResourceRequirements, WeightedPodAffinityTerm,
};
use k8s_openapi::api::networking::v1::{
    Ingress, IngressRule, IngressSpec, IngressTLS, NetworkPolicy, NetworkPolicyEgressRule,
    NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::messaging::CLUSTER_LABEL;
use super::{
    MONITORING, PodSecurityLabels, SecretKey, component_labels, dns_egress, environment_namespaces,
    external_secret, fingerprint, in_namespace, local_pods, metadata, namespace, selector, tcp,
    templated_external_secret, udp, vault_key, workload_labels,
};
use crate::descriptor::{Catalog, Resources};
use crate::error::{Error, Result};
use crate::model::Project;
use crate::object::{Object, labels, object};
use crate::objects::data::{MINIO, REDIS};
use crate::objects::network::{ACME_SOLVER_LABEL, ACME_SOLVER_PORT};
use crate::objects::pod;
use crate::objects::security::everything_to;
use crate::objects::workloads::{REDIS_SECRET, container_port, service_port};
use crate::scalar::{Name, Quantity};
use crate::template::Templates;
use crate::tree::File;

mod alerting;
mod clusters;
mod grafana;
mod logging;
mod network;
mod prometheus;
mod settings;
mod tracing;

pub use settings::*;

const PROMETHEUS_PORT: u16 = 9090;
const ALERTMANAGER_PORT: u16 = 9093;
const GRAFANA: &str = "grafana";
const GRAFANA_PORT: u16 = 3000;
const GRAFANA_ADMIN: &str = "grafana-admin";
const DASHBOARD_DIR: &str = "/etc/grafana/dashboards";

/// The folder under `templates/` of the dashboards, one `<name>.json.j2` each.
pub const DASHBOARD_TEMPLATES: &str = "components/monitoring/dashboards";
const JAEGER: &str = "jaeger";
/// Jaeger's collector ports (OTLP gRPC and HTTP, Jaeger gRPC and HTTP) and its query port.
const JAEGER_COLLECTOR: [u16; 4] = [4317, OTLP_HTTP, 14250, 14268];
/// OTLP over HTTP (protobuf): the OpenTelemetry SDKs' default protocol.
const OTLP_HTTP: u16 = 4318;
const JAEGER_QUERY: u16 = 16686;
/// Alertmanager's cluster gossip between replicas (TCP and UDP).
const ALERTMANAGER_CLUSTER: u16 = 9094;
pub const FLUENT_BIT: &str = "fluent-bit";
/// The relay's container in the FluentBit pods.
pub const RELAY: &str = "relay";
const FLUENT_BIT_REDIS: &str = "fluent-bit-redis";
const FLUENT_BIT_PORT: u16 = 2020;
/// The relay's HTTP input, on the pod's loopback only.
const RELAY_INPUT_PORT: u16 = 4196;
/// The relay's own HTTP server (probes and metrics).
const RELAY_PORT: u16 = 4195;
/// FluentBit reads the nodes' root-owned container logs: it runs as UID 0 (with no
/// capability, no privilege escalation and a read-only root filesystem).
const LOG_READER_ROOT: pod::Exception = (
    "CKV_K8S_23",
    "FluentBit reads the root-owned container log files of its node; it runs as UID 0 with no capability and a read-only root filesystem",
);
const LOG_READER_UID: pod::Exception = (
    "CKV_K8S_40",
    "FluentBit runs as UID 0 to read the root-owned container log files of its node",
);
/// The kubernetes filter reads pod metadata from the API server with the pod's token.
const METADATA_TOKEN: pod::Exception = (
    "CKV_K8S_38",
    "FluentBit's kubernetes filter reads pod and namespace metadata from the API server (read-only ClusterRole)",
);
const SMTP_SECRET: &str = "alertmanager-smtp";
const SLACK_SECRET: &str = "alertmanager-slack";
const WEBHOOK_SECRET: &str = "alertmanager-webhook";

/// `manifests/monitoring`.
pub fn files(project: &Project, templates: &Templates) -> Result<Vec<File>> {
    let catalog = &project.catalog;
    let settings = &catalog.components.monitoring;
    let ns = catalog.security.monitoring_namespace.as_str();
    let l = component_labels(catalog, MONITORING);
    let mut stack = vec![namespace(ns, settings.pod_security, &l)];
    stack.extend(prometheus::prometheus(project, templates)?);
    stack.extend(prometheus::monitors(project, templates)?);
    Ok(vec![
        File::new("prometheus-stack.yaml", stack),
        File::new("alerting.yaml", alerting::alerting(project, templates)?),
        File::new("grafana.yaml", grafana::grafana(project, templates)?),
        File::new(
            "grafana-dashboards.yaml",
            grafana::dashboards(project, templates)?,
        ),
        File::new("tracing.yaml", tracing::jaeger(catalog, templates)?),
        File::new("logging.yaml", logging::fluent_bit(project, templates)?),
        File::new("network-policies.yaml", network::network_policies(project)),
    ])
}

/// Where workloads send their traces: the Service `<name>-collector` that the Jaeger
/// operator creates for the Jaeger CR (OTLP is on by default), by its cluster DNS name.
pub fn otlp_endpoint(catalog: &Catalog) -> String {
    format!(
        "http://{JAEGER}-collector.{}.svc.cluster.local:{OTLP_HTTP}",
        catalog.security.monitoring_namespace
    )
}

/// Name of the Prometheus and Alertmanager of the platform (the platform's name).
fn instance(catalog: &Catalog) -> &str {
    catalog.platform.name.as_str()
}

/// The Service the operator puts in front of Prometheus (`prometheus-operated`).
fn prometheus_url(catalog: &Catalog) -> String {
    let ns = &catalog.security.monitoring_namespace;
    format!("http://prometheus-operated.{ns}.svc:{PROMETHEUS_PORT}")
}

fn storage_claim(size: &Quantity, class: &Option<Name>) -> PersistentVolumeClaimSpec {
    PersistentVolumeClaimSpec {
        access_modes: Some(vec!["ReadWriteOnce".into()]),
        storage_class_name: class.as_ref().map(|c| c.to_string()),
        resources: Some(VolumeResourceRequirements {
            requests: Some(BTreeMap::from([(
                "storage".to_owned(),
                K8sQuantity(size.to_string()),
            )])),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Preferred anti-affinity on the node: the replicas of an operator-run StatefulSet on
/// different nodes where the cluster has them.
fn spread(app: &str, instance: &str) -> Affinity {
    Affinity {
        pod_anti_affinity: Some(PodAntiAffinity {
            preferred_during_scheduling_ignored_during_execution: Some(vec![
                WeightedPodAffinityTerm {
                    weight: 100,
                    pod_affinity_term: PodAffinityTerm {
                        label_selector: Some(LabelSelector {
                            match_labels: Some(labels([
                                ("app.kubernetes.io/name", app),
                                ("app.kubernetes.io/instance", instance),
                            ])),
                            ..Default::default()
                        }),
                        topology_key: "kubernetes.io/hostname".into(),
                        ..Default::default()
                    },
                },
            ]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn cluster_binding(
    name: &str,
    role: &str,
    namespace: &str,
    l: &BTreeMap<String, String>,
) -> ClusterRoleBinding {
    ClusterRoleBinding {
        metadata: metadata(name, None, l),
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "ClusterRole".into(),
            name: role.into(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: name.into(),
            namespace: Some(namespace.into()),
            ..Default::default()
        }]),
    }
}

/// `ns1|ns2`: namespaces as a PromQL regular expression (DNS labels need no escaping).
fn alternatives(namespaces: &[String]) -> String {
    namespaces.join("|")
}

/// Parses generated YAML text back, so that a broken template fails the build, not Grafana.
fn checked_yaml(name: &str, text: String) -> Result<String> {
    if crate::yaml::from_str::<serde_yaml::Value>(&text).is_none() {
        serde_yaml::from_str::<serde_yaml::Value>(&text).map_err(|source| {
            Error::TemplateOutput {
                name: name.to_owned(),
                source,
            }
        })?;
    }
    Ok(text)
}

/// A pod template's metadata: its labels and the fingerprint of the configuration it
/// reads, so that a configuration change rolls the pods.
fn fingerprinted(labels: &BTreeMap<String, String>, config: &str) -> ObjectMeta {
    ObjectMeta {
        labels: Some(labels.clone()),
        annotations: Some(BTreeMap::from([(
            "platgen.io/config-fingerprint".to_owned(),
            fingerprint(config),
        )])),
        ..Default::default()
    }
}

fn runtime_default() -> SeccompProfile {
    SeccompProfile {
        type_: "RuntimeDefault".into(),
        ..Default::default()
    }
}

/// Pods of the operator-run Prometheus, Alertmanager and Jaeger, as their operators
/// label them.
fn operator_pods(app: &str, instance: &str) -> BTreeMap<String, String> {
    labels([
        ("app.kubernetes.io/name", app),
        ("app.kubernetes.io/instance", instance),
    ])
}
