//! `components.monitoring` of the catalog: the typed settings of the monitoring component.

use super::*;

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
    /// An environment's dead-letter queue holds more messages than `window` ago.
    pub dead_letters: Growth,
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

/// A gauge above its value `window` earlier, for `for`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Growth {
    pub window: String,
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
