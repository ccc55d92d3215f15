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
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule,
    IngressServiceBackend, IngressSpec, IngressTLS, NetworkPolicy, NetworkPolicyEgressRule,
    NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicySpec,
    ServiceBackendPort,
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
use crate::objects::workloads::{REDIS_SECRET, container_port, service_port};
use crate::scalar::{Name, Quantity};
use crate::template::Templates;
use crate::tree::File;

/// `components.monitoring` of the catalog.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Settings {
    pub pod_security: PodSecurityLabels,
    /// Scrape interval of every monitor (the seed's ServiceMonitor: 30s).
    pub scrape_interval: String,
    pub prometheus: Prometheus,
    pub alertmanager: Alertmanager,
    pub alerts: Alerts,
    pub grafana: Grafana,
    /// Dashboards, each `templates/components/monitoring/dashboards/<name>.json.j2`.
    pub dashboards: Vec<Dashboard>,
    pub jaeger: Jaeger,
    pub fluent_bit: FluentBit,
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Prometheus {
    /// Image repository; the tag is `version` (the operator needs both).
    pub image: String,
    pub version: String,
    pub replicas: i32,
    pub retention: String,
    /// Persistent volume of each replica.
    pub storage: Quantity,
    #[serde(default)]
    pub storage_class: Option<Name>,
    pub resources: Resources,
    pub run_as_user: i64,
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Alertmanager {
    pub image: String,
    pub version: String,
    pub replicas: i32,
    pub retention: String,
    pub storage: Quantity,
    #[serde(default)]
    pub storage_class: Option<Name>,
    pub resources: Resources,
    pub run_as_user: i64,
    pub group_wait: String,
    pub group_interval: String,
    pub repeat_interval: String,
    pub email: Email,
    pub slack: Slack,
}

/// Mail of the `critical-alerts` and `warning-alerts` receivers; the SMTP password is
/// the Secret `alertmanager-smtp` (from Vault), never a literal.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Email {
    pub from: String,
    pub smarthost: String,
    pub username: String,
    pub critical_to: String,
    pub warning_to: String,
    pub require_tls: bool,
}

/// Slack channel of `critical-alerts`; the webhook URL is the Secret `alertmanager-slack`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Slack {
    pub channel: String,
}

/// The seed's five alerts: what triggers them, for how long, how severe they are.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Alerts {
    /// Working set above this percentage of the container's memory limit.
    pub high_memory: Threshold,
    pub crash_looping: Duration,
    /// `mysql_up == 0` from the mysqld-exporter sidecar of each database.
    pub database_down: Duration,
    /// Messages ready in one queue.
    pub queue_backlog: Threshold,
    pub api_latency: Latency,
    /// A backup CronJob (dump, binary-log shipping, restore test) whose last run did
    /// not succeed, or whose run is overdue, for this long.
    pub backups: Duration,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Threshold {
    pub threshold: serde_json::Number,
    #[serde(rename = "for")]
    pub for_: String,
    pub severity: Severity,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Duration {
    #[serde(rename = "for")]
    pub for_: String,
    pub severity: Severity,
}

/// Response time from the services' request-duration histogram.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Latency {
    /// Histogram the services expose (`<metric>_bucket` with an `le` label).
    pub metric: String,
    pub threshold_seconds: serde_json::Number,
    #[serde(rename = "for")]
    pub for_: String,
    pub quantiles: Vec<Quantile>,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Quantile {
    pub quantile: f64,
    pub severity: Severity,
}

/// Alert severity, which decides the receiver (seed: "Alert Routing").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    Warning,
    Info,
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Grafana {
    pub image: String,
    pub replicas: i32,
    pub storage: Quantity,
    #[serde(default)]
    pub storage_class: Option<Name>,
    pub resources: Resources,
    pub run_as_user: i64,
    /// External host name, served through the ingress controller with a certificate
    /// from `clusterIssuer`.
    pub host: String,
    pub cluster_issuer: Name,
}

/// A dashboard category.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Dashboard {
    pub name: Name,
    pub title: String,
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Jaeger {
    /// The all-in-one image (collector, query and in-memory storage in one pod).
    pub image: String,
    /// Traces kept in memory before the oldest are dropped.
    pub max_traces: u32,
    pub resources: Resources,
    pub run_as_user: i64,
}

/// FluentBit and its relay to Redis Streams.
///
/// Fluent Bit has no Redis output (fluent/fluent-bit#1767), so each FluentBit pod posts its
/// records with its `http` output to a relay beside it (Benthos, over the pod's loopback),
/// whose `redis_streams` output appends them with XADD to the stream `stream` of the Redis
/// of the environment each record comes from.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FluentBit {
    pub image: String,
    pub resources: Resources,
    pub relay_image: String,
    pub relay_resources: Resources,
    pub relay_run_as_user: i64,
    /// Redis stream every environment's logs go to (in that environment's Redis).
    pub stream: String,
    /// Entries a stream keeps (approximate MAXLEN trimming).
    pub max_length: u64,
    /// How long the relay waits for an environment's Redis before it drops that
    /// environment's records (and, until the Redis is back, drops them at once), so that
    /// one environment's outage never holds up another's logs. Below the relay input's
    /// 5 s timeout, after which FluentBit would post the batch again.
    pub relay_drop_after: String,
    /// The relay's readiness endpoint: `/ping` (it serves). Benthos' `/ready` answers
    /// 200 only once every output is connected, i.e. the Redis of every environment,
    /// some deployed in a later sync wave or by hand: `validate` rejects it.
    pub relay_readiness_path: String,
}

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
    stack.extend(prometheus(catalog, templates)?);
    stack.extend(monitors(project, templates)?);
    Ok(vec![
        File::new("prometheus-stack.yaml", stack),
        File::new("alerting.yaml", alerting(project, templates)?),
        File::new("grafana.yaml", grafana(project, templates)?),
        File::new("grafana-dashboards.yaml", dashboards(project, templates)?),
        File::new("tracing.yaml", jaeger(catalog, templates)?),
        File::new("logging.yaml", fluent_bit(project, templates)?),
        File::new("network-policies.yaml", network_policies(project)),
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

#[derive(Serialize)]
struct PrometheusContext<'a> {
    name: &'a str,
    namespace: &'a str,
    labels: &'a BTreeMap<String, String>,
    image: String,
    version: &'a str,
    replicas: i32,
    retention: &'a str,
    scrape_interval: &'a str,
    service_account: String,
    resources: serde_json::Value,
    storage: serde_json::Value,
    security_context: serde_json::Value,
    affinity: serde_json::Value,
}

/// Prometheus (2 replicas, 30 days, 50Gi each) with the cluster-wide read access service
/// discovery needs; it selects every monitor and rule of its own namespace, where all of
/// the platform's live (kube-prometheus-stack's node exporter and kube-state-metrics
/// monitors included).
fn prometheus(catalog: &Catalog, templates: &Templates) -> Result<Vec<Object>> {
    let settings = &catalog.components.monitoring.prometheus;
    let ns = catalog.security.monitoring_namespace.as_str();
    let l = component_labels(catalog, MONITORING);
    let account = format!("{}-prometheus", instance(catalog));
    let rules = vec![
        PolicyRule {
            api_groups: Some(vec![String::new()]),
            resources: Some(
                ["nodes", "nodes/metrics", "services", "endpoints", "pods"]
                    .map(String::from)
                    .to_vec(),
            ),
            verbs: ["get", "list", "watch"].map(String::from).to_vec(),
            ..Default::default()
        },
        PolicyRule {
            api_groups: Some(vec!["discovery.k8s.io".into()]),
            resources: Some(vec!["endpointslices".into()]),
            verbs: ["get", "list", "watch"].map(String::from).to_vec(),
            ..Default::default()
        },
        PolicyRule {
            api_groups: Some(vec![String::new()]),
            resources: Some(vec!["configmaps".into()]),
            verbs: vec!["get".into()],
            ..Default::default()
        },
        PolicyRule {
            non_resource_urls: Some(vec!["/metrics".into(), "/metrics/slis".into()]),
            verbs: vec!["get".into()],
            ..Default::default()
        },
    ];
    let mut objects = vec![
        object(&ServiceAccount {
            metadata: metadata(&account, Some(ns), &l),
            ..Default::default()
        }),
        object(&ClusterRole {
            metadata: metadata(&account, None, &l),
            rules: Some(rules),
            ..Default::default()
        }),
        object(&cluster_binding(&account, &account, ns, &l)),
    ];
    objects.extend(templates.objects(
        "components/monitoring/prometheus.yaml.j2",
        &PrometheusContext {
            name: instance(catalog),
            namespace: ns,
            labels: &l,
            image: format!("{}:{}", settings.image, settings.version),
            version: &settings.version,
            replicas: settings.replicas,
            retention: &settings.retention,
            scrape_interval: &catalog.components.monitoring.scrape_interval,
            service_account: account.clone(),
            resources: object(&pod::resources(&settings.resources)),
            storage: object(&storage_claim(&settings.storage, &settings.storage_class)),
            security_context: object(&pod::pod_security(settings.run_as_user)),
            affinity: object(&spread("prometheus", instance(catalog))),
        },
    )?);
    Ok(objects)
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

/// A ServiceMonitor or PodMonitor of the monitoring namespace.
#[derive(Serialize)]
struct Monitor {
    kind: &'static str,
    name: String,
    namespaces: Vec<String>,
    selector: BTreeMap<String, String>,
    endpoints: Vec<Endpoint>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Endpoint {
    port: String,
    path: String,
    interval: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<BTreeMap<String, Vec<String>>>,
}

#[derive(Serialize)]
struct MonitorsContext<'a> {
    namespace: &'a str,
    labels: &'a BTreeMap<String, String>,
    monitors: Vec<Monitor>,
}

/// What Prometheus scrapes besides kube-prometheus-stack's own monitors: the services
/// (the seed's ServiceMonitor, with every environment's namespace), the MySQL exporters,
/// RabbitMQ, MinIO, FluentBit and its relay.
fn monitors(project: &Project, templates: &Templates) -> Result<Vec<Object>> {
    let catalog = &project.catalog;
    let interval = catalog.components.monitoring.scrape_interval.clone();
    let endpoint = |port: &str, path: &str| Endpoint {
        port: port.into(),
        path: path.into(),
        interval: interval.clone(),
        params: None,
    };
    let environments = environment_namespaces(project);
    // The seed's list: the base namespace, then each environment's.
    let mut services_namespaces = vec![catalog.platform.name.to_string()];
    services_namespaces.extend(environments.iter().cloned());
    let monitoring_ns = catalog.security.monitoring_namespace.to_string();
    let monitors = vec![
        Monitor {
            kind: "ServiceMonitor",
            name: format!("{}-services", catalog.platform.name),
            namespaces: services_namespaces,
            selector: labels([("component", "microservice")]),
            endpoints: vec![endpoint("metrics", "/metrics")],
        },
        Monitor {
            kind: "PodMonitor",
            name: "mysql-exporters".into(),
            namespaces: environments.clone(),
            selector: labels([("component", "database")]),
            endpoints: vec![endpoint("metrics", "/metrics")],
        },
        Monitor {
            kind: "ServiceMonitor",
            name: MINIO.into(),
            namespaces: environments,
            selector: labels([("app", MINIO)]),
            endpoints: vec![endpoint("api", "/minio/v2/metrics/cluster")],
        },
        Monitor {
            kind: "PodMonitor",
            name: "rabbitmq".into(),
            namespaces: vec![catalog.rabbitmq.namespace.to_string()],
            selector: labels([(CLUSTER_LABEL, catalog.rabbitmq.cluster_name.as_str())]),
            endpoints: vec![
                endpoint("prometheus", "/metrics"),
                // Per-queue figures (the backlog alert): the aggregated endpoint has none.
                Endpoint {
                    params: Some(BTreeMap::from([(
                        "family".to_owned(),
                        vec!["queue_coarse_metrics".to_owned()],
                    )])),
                    ..endpoint("prometheus", "/metrics/detailed")
                },
            ],
        },
        Monitor {
            kind: "PodMonitor",
            name: FLUENT_BIT.into(),
            namespaces: vec![monitoring_ns],
            selector: labels([("app.kubernetes.io/name", FLUENT_BIT)]),
            endpoints: vec![
                endpoint("http", "/api/v2/metrics/prometheus"),
                endpoint("relay", "/metrics"),
            ],
        },
    ];
    templates.objects(
        "components/monitoring/monitors.yaml.j2",
        &MonitorsContext {
            namespace: catalog.security.monitoring_namespace.as_str(),
            labels: &component_labels(catalog, MONITORING),
            monitors,
        },
    )
}

#[derive(Serialize)]
struct AlertingContext<'a> {
    namespace: &'a str,
    labels: &'a BTreeMap<String, String>,
    name: &'a str,
    alerts: &'a Alerts,
    /// Regular expressions of namespaces, for PromQL `=~` matchers.
    environments: String,
    platform: String,
    messaging: &'a str,
    /// The backup CronJobs' names, for PromQL `=~` matchers.
    backup_jobs: String,
}

#[derive(Serialize)]
struct AlertmanagerContext<'a> {
    name: &'a str,
    namespace: &'a str,
    labels: &'a BTreeMap<String, String>,
    image: String,
    version: &'a str,
    replicas: i32,
    retention: &'a str,
    resources: serde_json::Value,
    storage: serde_json::Value,
    security_context: serde_json::Value,
    affinity: serde_json::Value,
    group_wait: &'a str,
    group_interval: &'a str,
    repeat_interval: &'a str,
    email: &'a Email,
    slack: &'a Slack,
    smtp_secret: &'static str,
    slack_secret: &'static str,
    webhook_secret: &'static str,
}

/// `ns1|ns2`: namespaces as a PromQL regular expression (DNS labels need no escaping).
fn alternatives(namespaces: &[String]) -> String {
    namespaces.join("|")
}

/// The seed's alerts (PrometheusRule), Alertmanager (2 replicas, 120h, 5Gi) with its
/// routing (critical: email and Slack, warning: email, info: webhook) and the Secrets of
/// the receivers' credentials, from Vault.
fn alerting(project: &Project, templates: &Templates) -> Result<Vec<Object>> {
    let catalog = &project.catalog;
    let monitoring = &catalog.components.monitoring;
    let settings = &monitoring.alertmanager;
    let ns = catalog.security.monitoring_namespace.as_str();
    let l = component_labels(catalog, MONITORING);
    let environments = environment_namespaces(project);
    let mut platform = environments.clone();
    platform.push(catalog.rabbitmq.namespace.to_string());
    let mut objects = templates.objects(
        "components/monitoring/alert-rules.yaml.j2",
        &AlertingContext {
            namespace: ns,
            labels: &l,
            name: instance(catalog),
            alerts: &monitoring.alerts,
            environments: alternatives(&environments),
            platform: alternatives(&platform),
            messaging: catalog.rabbitmq.namespace.as_str(),
            backup_jobs: crate::objects::backup::cron_job_pattern(),
        },
    )?;
    objects.extend(templates.objects(
        "components/monitoring/alertmanager.yaml.j2",
        &AlertmanagerContext {
            name: instance(catalog),
            namespace: ns,
            labels: &l,
            image: format!("{}:{}", settings.image, settings.version),
            version: &settings.version,
            replicas: settings.replicas,
            retention: &settings.retention,
            resources: object(&pod::resources(&settings.resources)),
            storage: object(&storage_claim(&settings.storage, &settings.storage_class)),
            security_context: object(&pod::pod_security(settings.run_as_user)),
            affinity: object(&spread("alertmanager", instance(catalog))),
            group_wait: &settings.group_wait,
            group_interval: &settings.group_interval,
            repeat_interval: &settings.repeat_interval,
            email: &settings.email,
            slack: &settings.slack,
            smtp_secret: SMTP_SECRET,
            slack_secret: SLACK_SECRET,
            webhook_secret: WEBHOOK_SECRET,
        },
    )?);
    for (secret, key) in [
        (SMTP_SECRET, "password"),
        (SLACK_SECRET, "api-url"),
        (WEBHOOK_SECRET, "url"),
    ] {
        objects.extend(external_secret(
            catalog,
            templates,
            secret,
            ns,
            &l,
            &[SecretKey {
                secret_key: key.into(),
                remote_key: vault_key(catalog, MONITORING, secret),
                property: key.into(),
            }],
        )?);
    }
    Ok(objects)
}

#[derive(Serialize)]
struct DatasourcesContext {
    prometheus: String,
    alertmanager: String,
    jaeger: String,
    scrape_interval: String,
}

#[derive(Serialize)]
struct ProvidersContext<'a> {
    platform: &'a str,
    path: &'static str,
}

/// Parses generated YAML text back, so that a broken template fails the build, not Grafana.
fn checked_yaml(name: &str, text: String) -> Result<String> {
    serde_yaml::from_str::<serde_yaml::Value>(&text).map_err(|source| Error::TemplateOutput {
        name: name.to_owned(),
        source,
    })?;
    Ok(text)
}

/// Grafana (1 replica, 10Gi, the seed's resources) on a read-only root filesystem, its
/// admin credentials from Vault (read as files), Prometheus, Alertmanager and Jaeger as
/// provisioned datasources, every dashboard ConfigMap mounted as a provisioned folder, and
/// its Ingress.
fn grafana(project: &Project, templates: &Templates) -> Result<Vec<Object>> {
    let catalog = &project.catalog;
    let monitoring = &catalog.components.monitoring;
    let settings = &monitoring.grafana;
    let ns = catalog.security.monitoring_namespace.as_str();
    let l = workload_labels(catalog, MONITORING, GRAFANA);
    let datasources_name = "components/monitoring/grafana/datasources.yaml.j2";
    let datasources = checked_yaml(
        datasources_name,
        templates.text(
            datasources_name,
            &DatasourcesContext {
                prometheus: prometheus_url(catalog),
                alertmanager: format!("http://alertmanager-operated.{ns}.svc:{ALERTMANAGER_PORT}"),
                jaeger: format!("http://{JAEGER}-query.{ns}.svc:{JAEGER_QUERY}"),
                scrape_interval: monitoring.scrape_interval.clone(),
            },
        )?,
    )?;
    let providers_name = "components/monitoring/grafana/dashboard-providers.yaml.j2";
    let providers = checked_yaml(
        providers_name,
        templates.text(
            providers_name,
            &ProvidersContext {
                platform: catalog.platform.name.as_str(),
                path: DASHBOARD_DIR,
            },
        )?,
    )?;
    let config_map = |name: &str, key: &str, text: &str| {
        object(&ConfigMap {
            metadata: metadata(name, Some(ns), &l),
            data: Some(BTreeMap::from([(key.to_owned(), text.to_owned())])),
            ..Default::default()
        })
    };
    let projections = monitoring
        .dashboards
        .iter()
        .map(|d| VolumeProjection {
            config_map: Some(ConfigMapProjection {
                name: dashboard_config_map(d),
                items: Some(vec![KeyToPath {
                    key: format!("{}.json", d.name),
                    path: format!("{}.json", d.name),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect();
    let env = vec![
        pod::env(
            "GF_SECURITY_ADMIN_USER__FILE",
            "/etc/grafana/admin/admin-user",
        ),
        pod::env(
            "GF_SECURITY_ADMIN_PASSWORD__FILE",
            "/etc/grafana/admin/admin-password",
        ),
        pod::env("GF_SERVER_ROOT_URL", format!("https://{}", settings.host)),
        pod::env("GF_PATHS_DATA", "/var/lib/grafana"),
        pod::env("GF_LOG_MODE", "console"),
        pod::env("GF_ANALYTICS_REPORTING_ENABLED", "false"),
        pod::env("GF_ANALYTICS_CHECK_FOR_UPDATES", "false"),
        pod::env("GF_AUTH_ANONYMOUS_ENABLED", "false"),
    ];
    let container = Container {
        ports: Some(vec![container_port("http", i32::from(GRAFANA_PORT))]),
        env: Some(env),
        resources: Some(pod::resources(&settings.resources)),
        liveness_probe: Some(pod::http_probe("/api/health", "http", 60, 10)),
        readiness_probe: Some(pod::http_probe("/api/health", "http", 10, 5)),
        volume_mounts: Some(vec![
            pod::mount("storage", "/var/lib/grafana", false),
            pod::mount("datasources", "/etc/grafana/provisioning/datasources", true),
            pod::mount(
                "dashboard-providers",
                "/etc/grafana/provisioning/dashboards",
                true,
            ),
            pod::mount("dashboards", DASHBOARD_DIR, true),
            pod::mount("admin", "/etc/grafana/admin", true),
            pod::mount("tmp", "/tmp", false),
        ]),
        ..pod::container(GRAFANA, &settings.image, settings.run_as_user)
    };
    let selector = labels([("app.kubernetes.io/name", GRAFANA)]);
    let mut deployment_meta = metadata(GRAFANA, Some(ns), &l);
    deployment_meta.annotations = Some(pod::exceptions(&[pod::TAG_PINNED]));
    let deployment = Deployment {
        metadata: deployment_meta,
        spec: Some(DeploymentSpec {
            replicas: Some(settings.replicas),
            // One ReadWriteOnce volume: the old pod lets go before the new one starts.
            strategy: Some(DeploymentStrategy {
                type_: Some("Recreate".into()),
                ..Default::default()
            }),
            selector: LabelSelector {
                match_labels: Some(selector.clone()),
                ..Default::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(l.clone()),
                    annotations: Some(BTreeMap::from([(
                        "platgen.io/config-fingerprint".to_owned(),
                        fingerprint(&format!("{datasources}{providers}")),
                    )])),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    service_account_name: Some(GRAFANA.into()),
                    automount_service_account_token: Some(false),
                    security_context: Some(pod::pod_security(settings.run_as_user)),
                    containers: vec![container],
                    volumes: Some(vec![
                        Volume {
                            name: "storage".into(),
                            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                                claim_name: GRAFANA.into(),
                                ..Default::default()
                            }),
                            ..Default::default()
                        },
                        pod::config_map_volume("datasources", "grafana-datasources"),
                        pod::config_map_volume(
                            "dashboard-providers",
                            "grafana-dashboard-providers",
                        ),
                        Volume {
                            name: "dashboards".into(),
                            projected: Some(ProjectedVolumeSource {
                                sources: Some(projections),
                                ..Default::default()
                            }),
                            ..Default::default()
                        },
                        pod::secret_volume("admin", GRAFANA_ADMIN),
                        pod::empty_dir("tmp"),
                    ]),
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut objects = vec![
        object(&ServiceAccount {
            metadata: metadata(GRAFANA, Some(ns), &l),
            automount_service_account_token: Some(false),
            ..Default::default()
        }),
        config_map("grafana-datasources", "datasources.yaml", &datasources),
        config_map("grafana-dashboard-providers", "dashboards.yaml", &providers),
        object(&PersistentVolumeClaim {
            metadata: metadata(GRAFANA, Some(ns), &l),
            spec: Some(storage_claim(&settings.storage, &settings.storage_class)),
            ..Default::default()
        }),
        object(&deployment),
        object(&Service {
            metadata: metadata(GRAFANA, Some(ns), &l),
            spec: Some(ServiceSpec {
                type_: Some("ClusterIP".into()),
                selector: Some(selector),
                ports: Some(vec![service_port("http", i32::from(GRAFANA_PORT))]),
                ..Default::default()
            }),
            ..Default::default()
        }),
        object(&grafana_ingress(catalog, &l)),
    ];
    objects.extend(external_secret(
        catalog,
        templates,
        GRAFANA_ADMIN,
        ns,
        &l,
        &["admin-user", "admin-password"].map(|key| SecretKey {
            secret_key: key.into(),
            remote_key: vault_key(catalog, MONITORING, GRAFANA_ADMIN),
            property: key.into(),
        }),
    )?);
    Ok(objects)
}

/// Grafana at `https://<host>` (seed: "External: via Ingress"), HTTPS only.
fn grafana_ingress(catalog: &Catalog, l: &BTreeMap<String, String>) -> Ingress {
    let settings = &catalog.components.monitoring.grafana;
    let mut meta = metadata(
        GRAFANA,
        Some(catalog.security.monitoring_namespace.as_str()),
        l,
    );
    meta.annotations = Some(BTreeMap::from([
        (
            "cert-manager.io/cluster-issuer".to_owned(),
            settings.cluster_issuer.to_string(),
        ),
        (
            "traefik.ingress.kubernetes.io/router.entrypoints".to_owned(),
            "websecure".to_owned(),
        ),
        (
            "traefik.ingress.kubernetes.io/router.tls".to_owned(),
            "true".to_owned(),
        ),
    ]));
    Ingress {
        metadata: meta,
        spec: Some(IngressSpec {
            ingress_class_name: Some(catalog.ingress.class_name.clone()),
            tls: Some(vec![IngressTLS {
                hosts: Some(vec![settings.host.clone()]),
                secret_name: Some(format!("{GRAFANA}-tls")),
            }]),
            rules: Some(vec![IngressRule {
                host: Some(settings.host.clone()),
                http: Some(HTTPIngressRuleValue {
                    paths: vec![HTTPIngressPath {
                        path: Some("/".into()),
                        path_type: "Prefix".into(),
                        backend: IngressBackend {
                            service: Some(IngressServiceBackend {
                                name: GRAFANA.into(),
                                port: Some(ServiceBackendPort {
                                    name: Some("http".into()),
                                    ..Default::default()
                                }),
                            }),
                            ..Default::default()
                        },
                    }],
                }),
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn dashboard_config_map(dashboard: &Dashboard) -> String {
    format!("grafana-dashboard-{}", dashboard.name)
}

#[derive(Serialize)]
struct DashboardContext<'a> {
    uid: String,
    title: &'a str,
    platform: &'a str,
    datasource: &'static str,
    /// Every environment's namespace, as a PromQL regular expression.
    environments: String,
    messaging: &'a str,
    rabbitmq_cluster: &'a str,
    latency_metric: &'a str,
    scrape_interval: &'a str,
}

/// One ConfigMap per dashboard category, labelled `grafana_dashboard: "1"` (the
/// convention of Grafana's dashboard sidecar), holding the JSON its template renders.
fn dashboards(project: &Project, templates: &Templates) -> Result<Vec<Object>> {
    let catalog = &project.catalog;
    let monitoring = &catalog.components.monitoring;
    let ns = catalog.security.monitoring_namespace.as_str();
    let mut l = workload_labels(catalog, MONITORING, GRAFANA);
    l.insert("grafana_dashboard".into(), "1".into());
    let environments = alternatives(&environment_namespaces(project));
    monitoring
        .dashboards
        .iter()
        .map(|dashboard| {
            let json = templates.json(
                &format!("{DASHBOARD_TEMPLATES}/{}.json.j2", dashboard.name),
                &DashboardContext {
                    uid: format!("{}-{}", catalog.platform.name, dashboard.name),
                    title: &dashboard.title,
                    platform: catalog.platform.name.as_str(),
                    datasource: "prometheus",
                    environments: environments.clone(),
                    messaging: catalog.rabbitmq.namespace.as_str(),
                    rabbitmq_cluster: catalog.rabbitmq.cluster_name.as_str(),
                    latency_metric: &monitoring.alerts.api_latency.metric,
                    scrape_interval: &monitoring.scrape_interval,
                },
            )?;
            Ok(object(&ConfigMap {
                metadata: metadata(dashboard_config_map(dashboard), Some(ns), &l),
                data: Some(BTreeMap::from([(format!("{}.json", dashboard.name), json)])),
                ..Default::default()
            }))
        })
        .collect()
}

#[derive(Serialize)]
struct JaegerContext<'a> {
    name: &'static str,
    namespace: &'a str,
    labels: &'a BTreeMap<String, String>,
    image: &'a str,
    max_traces: u32,
    resources: serde_json::Value,
    security_context: serde_json::Value,
}

/// Jaeger for distributed tracing, run by the Jaeger operator: the all-in-one strategy
/// (collector, query and storage in one pod) with bounded in-memory storage, which suits
/// traces (short-lived, diagnostic); a storage backend is a descriptor change away.
fn jaeger(catalog: &Catalog, templates: &Templates) -> Result<Vec<Object>> {
    let settings = &catalog.components.monitoring.jaeger;
    templates.objects(
        "components/monitoring/jaeger.yaml.j2",
        &JaegerContext {
            name: JAEGER,
            namespace: catalog.security.monitoring_namespace.as_str(),
            labels: &component_labels(catalog, MONITORING),
            image: &settings.image,
            max_traces: settings.max_traces,
            resources: object(&pod::resources(&settings.resources)),
            security_context: object(&pod::pod_security(settings.run_as_user)),
        },
    )
}

/// Where the relay sends one environment's logs.
#[derive(Serialize)]
struct RelayOutput {
    namespace: String,
    /// The variable holding the environment's Redis URL (password escaped in it).
    url_env: String,
}

#[derive(Serialize)]
struct LoggingContext<'a> {
    namespaces: Vec<String>,
    relay_input_port: u16,
    relay_port: u16,
    http_port: u16,
    outputs: Vec<RelayOutput>,
    stream: &'a str,
    max_length: u64,
    drop_after: &'a str,
}

/// `REDIS_URL_<ENVIRONMENT>`: the relay's variable holding an environment's Redis URL.
fn url_env(environment: &str) -> String {
    format!("REDIS_URL_{}", environment.to_uppercase().replace('-', "_"))
}

/// The ESO template of an environment's Redis URL. Benthos substitutes `${VAR}` into
/// its YAML before parsing it, and the URL's user part ends at `@`, `/`, `?` or `#`: the
/// password is percent-encoded (`urlquery`, then `%20` for the space it writes as `+`,
/// which a URL's user part would keep as a plus), so that any password survives both.
fn redis_url_template(password_key: &str, host: &str) -> String {
    format!(
        "redis://:{{{{ index . \"{password_key}\" | urlquery | replace \"+\" \"%20\" }}}}@{host}"
    )
}

/// FluentBit as a DaemonSet reading the environments' container logs from every node,
/// enriching them with Kubernetes metadata, and shipping them through its relay to each
/// environment's Redis Streams; the Redis passwords come from Vault.
fn fluent_bit(project: &Project, templates: &Templates) -> Result<Vec<Object>> {
    let catalog = &project.catalog;
    let settings = &catalog.components.monitoring.fluent_bit;
    let ns = catalog.security.monitoring_namespace.as_str();
    let l = workload_labels(catalog, MONITORING, FLUENT_BIT);
    let context = LoggingContext {
        namespaces: environment_namespaces(project),
        relay_input_port: RELAY_INPUT_PORT,
        relay_port: RELAY_PORT,
        http_port: FLUENT_BIT_PORT,
        outputs: project
            .environments
            .iter()
            .map(|env| RelayOutput {
                namespace: env.namespace.to_string(),
                url_env: url_env(env.name.as_str()),
            })
            .collect(),
        stream: &settings.stream,
        max_length: settings.max_length,
        drop_after: &settings.relay_drop_after,
    };
    let config = templates.text(
        "components/monitoring/fluent-bit/fluent-bit.conf.j2",
        &context,
    )?;
    let relay_name = "components/monitoring/fluent-bit/relay.yaml.j2";
    let relay = checked_yaml(relay_name, templates.text(relay_name, &context)?)?;
    let read_only = vec![PolicyRule {
        api_groups: Some(vec![String::new()]),
        resources: Some(vec!["pods".into(), "namespaces".into()]),
        verbs: ["get", "list", "watch"].map(String::from).to_vec(),
        ..Default::default()
    }];
    let collector = Container {
        args: Some(vec![
            "--workdir=/fluent-bit/etc".into(),
            "--config=/fluent-bit/etc/conf/fluent-bit.conf".into(),
        ]),
        ports: Some(vec![container_port("http", i32::from(FLUENT_BIT_PORT))]),
        resources: Some(pod::resources(&settings.resources)),
        liveness_probe: Some(pod::http_probe("/", "http", 10, 10)),
        readiness_probe: Some(pod::http_probe("/api/v1/health", "http", 10, 10)),
        // Root (UID 0) only to read the root-owned log files; no capability, no
        // privilege escalation, nothing written but its own state directory.
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".into()]),
                ..Default::default()
            }),
            privileged: Some(false),
            read_only_root_filesystem: Some(true),
            run_as_user: Some(0),
            run_as_non_root: Some(false),
            seccomp_profile: Some(runtime_default()),
            ..Default::default()
        }),
        volume_mounts: Some(vec![
            pod::mount("varlog", "/var/log", true),
            pod::mount("state", "/var/lib/fluent-bit", false),
            pod::mount("config", "/fluent-bit/etc/conf", true),
        ]),
        ..pod::container(FLUENT_BIT, &settings.image, 0)
    };
    let relay_container = Container {
        args: Some(vec!["-c".into(), "/etc/relay/relay.yaml".into()]),
        ports: Some(vec![container_port("relay", i32::from(RELAY_PORT))]),
        env: Some(
            project
                .environments
                .iter()
                .map(|env| {
                    pod::secret_env(
                        &url_env(env.name.as_str()),
                        FLUENT_BIT_REDIS,
                        env.name.as_str(),
                    )
                })
                .collect(),
        ),
        resources: Some(pod::resources(&settings.relay_resources)),
        liveness_probe: Some(pod::http_probe("/ping", "relay", 10, 10)),
        readiness_probe: Some(pod::http_probe(
            &settings.relay_readiness_path,
            "relay",
            5,
            10,
        )),
        volume_mounts: Some(vec![pod::mount("config", "/etc/relay", true)]),
        ..pod::container(RELAY, &settings.relay_image, settings.relay_run_as_user)
    };
    let host_path = |name: &str, path: &str, type_: &str| Volume {
        name: name.into(),
        host_path: Some(HostPathVolumeSource {
            path: path.into(),
            type_: Some(type_.into()),
        }),
        ..Default::default()
    };
    let mut daemon_set_meta = metadata(FLUENT_BIT, Some(ns), &l);
    daemon_set_meta.annotations = Some(pod::exceptions(&[
        pod::TAG_PINNED,
        // The relay reads the Redis URLs through its configuration's `${VAR}`s.
        pod::SECRET_IN_ENV,
        LOG_READER_ROOT,
        LOG_READER_UID,
        METADATA_TOKEN,
    ]));
    let daemon_set = DaemonSet {
        metadata: daemon_set_meta,
        spec: Some(DaemonSetSpec {
            selector: LabelSelector {
                match_labels: Some(labels([("app.kubernetes.io/name", FLUENT_BIT)])),
                ..Default::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(l.clone()),
                    annotations: Some(BTreeMap::from([(
                        "platgen.io/config-fingerprint".to_owned(),
                        fingerprint(&format!("{config}{relay}")),
                    )])),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    service_account_name: Some(FLUENT_BIT.into()),
                    // The kubernetes filter reads pod metadata from the API server.
                    automount_service_account_token: Some(true),
                    security_context: Some(PodSecurityContext {
                        seccomp_profile: Some(runtime_default()),
                        ..Default::default()
                    }),
                    // Every node's logs, control-plane and tainted nodes included.
                    tolerations: Some(vec![Toleration {
                        operator: Some("Exists".into()),
                        ..Default::default()
                    }]),
                    containers: vec![collector, relay_container],
                    volumes: Some(vec![
                        host_path("varlog", "/var/log", "Directory"),
                        host_path("state", "/var/lib/fluent-bit", "DirectoryOrCreate"),
                        pod::config_map_volume("config", FLUENT_BIT),
                    ]),
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut objects = vec![
        object(&ServiceAccount {
            metadata: metadata(FLUENT_BIT, Some(ns), &l),
            ..Default::default()
        }),
        object(&ClusterRole {
            metadata: metadata(FLUENT_BIT, None, &l),
            rules: Some(read_only),
            ..Default::default()
        }),
        object(&cluster_binding(FLUENT_BIT, FLUENT_BIT, ns, &l)),
        object(&ConfigMap {
            metadata: metadata(FLUENT_BIT, Some(ns), &l),
            data: Some(BTreeMap::from([
                ("fluent-bit.conf".to_owned(), config),
                ("relay.yaml".to_owned(), relay),
            ])),
            ..Default::default()
        }),
        object(&daemon_set),
    ];
    // Each environment's password (`<env>-password`) becomes its URL (`<env>`).
    let urls: BTreeMap<String, String> = project
        .environments
        .iter()
        .map(|env| {
            let host = format!(
                "{REDIS}.{}.svc.cluster.local:{}",
                env.namespace,
                catalog.redis.port.get()
            );
            (
                env.name.to_string(),
                redis_url_template(&format!("{}-password", env.name), &host),
            )
        })
        .collect();
    objects.extend(templated_external_secret(
        catalog,
        templates,
        FLUENT_BIT_REDIS,
        ns,
        &l,
        &project
            .environments
            .iter()
            .map(|env| SecretKey {
                secret_key: format!("{}-password", env.name),
                remote_key: format!(
                    "{}/{}/{REDIS_SECRET}",
                    catalog.security.vault_prefix, env.name
                ),
                property: "password".into(),
            })
            .collect::<Vec<_>>(),
        Some(&urls),
    )?);
    Ok(objects)
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

/// One policy per workload of the namespace, each admitting exactly its callers:
/// Grafana from the ingress controller, Prometheus from Grafana, Alertmanager from
/// Prometheus, Grafana and its own replicas, Jaeger's collector from the environments'
/// services and its query from Grafana, FluentBit's metrics from Prometheus.
///
/// Egress is restricted where every destination is in the cluster and known (Grafana,
/// Jaeger). Prometheus scrapes nodes (kubelet, node exporter on the host network) and the
/// API server, whose addresses are the cluster's; Alertmanager reaches the mail server,
/// Slack and the webhook outside it; FluentBit reads the API server: their egress stays
/// open. kube-prometheus-stack's own pods (operator and its admission webhook, called by
/// the API server) are left to that chart.
fn network_policies(project: &Project) -> Vec<Object> {
    let catalog = &project.catalog;
    let ns = catalog.security.monitoring_namespace.as_str();
    let l = component_labels(catalog, MONITORING);
    let name = instance(catalog);
    let prometheus = operator_pods("prometheus", name);
    let alertmanager = operator_pods("alertmanager", name);
    let jaeger = operator_pods(JAEGER, JAEGER);
    let grafana = labels([("app.kubernetes.io/name", GRAFANA)]);
    let fluent_bit = labels([("app.kubernetes.io/name", FLUENT_BIT)]);
    let from =
        |peers: Vec<NetworkPolicyPeer>, ports: Vec<NetworkPolicyPort>| NetworkPolicyIngressRule {
            from: Some(peers),
            ports: Some(ports),
        };
    let to =
        |peers: Vec<NetworkPolicyPeer>, ports: Vec<NetworkPolicyPort>| NetworkPolicyEgressRule {
            to: Some(peers),
            ports: Some(ports),
        };
    let policy = |workload: &str,
                  pods: &BTreeMap<String, String>,
                  ingress: Vec<NetworkPolicyIngressRule>,
                  egress: Option<Vec<NetworkPolicyEgressRule>>| {
        let mut types = vec!["Ingress".to_owned()];
        if egress.is_some() {
            types.push("Egress".to_owned());
        }
        object(&NetworkPolicy {
            metadata: metadata(format!("{workload}-traffic"), Some(ns), &l),
            spec: Some(NetworkPolicySpec {
                pod_selector: Some(selector(pods.clone())),
                policy_types: Some(types),
                ingress: Some(ingress),
                egress,
            }),
        })
    };
    let services: Vec<NetworkPolicyPeer> = environment_namespaces(project)
        .iter()
        .map(|env_ns| in_namespace(env_ns, Some(labels([("component", "microservice")]))))
        .collect();
    vec![
        policy(
            GRAFANA,
            &grafana,
            vec![from(
                vec![in_namespace(
                    catalog.security.ingress_namespace.as_str(),
                    None,
                )],
                vec![tcp(GRAFANA_PORT)],
            )],
            Some(vec![
                dns_egress(),
                to(
                    vec![local_pods(prometheus.clone())],
                    vec![tcp(PROMETHEUS_PORT)],
                ),
                to(
                    vec![local_pods(alertmanager.clone())],
                    vec![tcp(ALERTMANAGER_PORT)],
                ),
                to(vec![local_pods(jaeger.clone())], vec![tcp(JAEGER_QUERY)]),
            ]),
        ),
        policy(
            "prometheus",
            &prometheus,
            vec![from(
                vec![local_pods(grafana.clone())],
                vec![tcp(PROMETHEUS_PORT)],
            )],
            None,
        ),
        policy(
            "alertmanager",
            &alertmanager,
            vec![
                from(
                    vec![local_pods(prometheus.clone()), local_pods(grafana.clone())],
                    vec![tcp(ALERTMANAGER_PORT)],
                ),
                from(
                    vec![local_pods(alertmanager.clone())],
                    vec![tcp(ALERTMANAGER_CLUSTER), udp(ALERTMANAGER_CLUSTER)],
                ),
            ],
            None,
        ),
        policy(
            JAEGER,
            &jaeger,
            vec![
                from(services, JAEGER_COLLECTOR.iter().map(|p| tcp(*p)).collect()),
                from(vec![local_pods(grafana)], vec![tcp(JAEGER_QUERY)]),
            ],
            Some(vec![dns_egress()]),
        ),
        // cert-manager's HTTP-01 solver for Grafana's certificate, from the ingress
        // controller only; it needs no egress.
        policy(
            "acme-http01-solver",
            &labels([ACME_SOLVER_LABEL]),
            vec![from(
                vec![in_namespace(
                    catalog.security.ingress_namespace.as_str(),
                    None,
                )],
                vec![tcp(ACME_SOLVER_PORT)],
            )],
            Some(Vec::new()),
        ),
        policy(
            FLUENT_BIT,
            &fluent_bit,
            vec![from(
                vec![local_pods(prometheus)],
                vec![tcp(FLUENT_BIT_PORT), tcp(RELAY_PORT)],
            )],
            None,
        ),
    ]
}
