//! Descriptor stage: the YAML files under `environments/` as typed structs.
//!
//! `platform.yaml` is the catalog (what the platform is made of); every other
//! `*.yaml` file is one environment (what that environment changes). Unknown
//! fields are rejected; scalars validate themselves (see `scalar`), and the
//! checks that span several fields live in `model`.

use crate::scalar::{Name, Percent, Period, Port, Quantity, Tag};
use indexmap::IndexMap;
use serde::Deserialize;

/// `environments/platform.yaml`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Catalog {
    pub platform: Platform,
    /// What every microservice workload shares.
    pub workloads: Workloads,
    pub services: Vec<Service>,
    pub databases: Vec<Database>,
    pub mysql: Mysql,
    pub redis: Redis,
    pub minio: Minio,
    pub rabbitmq: Rabbitmq,
    pub security: Security,
    pub ingress: Ingress,
    /// Settings of the shared components (messaging, monitoring, security, argocd).
    pub components: crate::components::Settings,
    /// The Kubernetes clusters environments run on (`cluster:` of an environment). Without
    /// them there is one, ArgoCD's own (`components.argocd.server`), named `in-cluster`;
    /// an entry with that server names it, every other entry is a cluster ArgoCD
    /// registers and deploys the operators and shared components to.
    #[serde(default)]
    pub clusters: Vec<Cluster>,
}

/// One Kubernetes cluster ArgoCD deploys to.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Cluster {
    pub name: Name,
    /// URL of its API server, as ArgoCD's `destination.server` names it.
    pub server: String,
    /// Where it runs: a label of its ArgoCD cluster Secret and of its Prometheus series.
    pub region: String,
    /// More labels of its ArgoCD cluster Secret (for ApplicationSet cluster generators).
    #[serde(default)]
    pub labels: IndexMap<String, String>,
    /// How the management cluster's Grafana reads this cluster's Prometheus: needed for
    /// another cluster than ArgoCD's own that hosts environments.
    #[serde(default)]
    pub prometheus: Option<ClusterPrometheus>,
    /// Mount of Vault's Kubernetes auth method that checks this cluster's service
    /// account tokens (one mount per cluster: each verifies against its own API server);
    /// default `<components.security.vault.authMountPath>-<name>` for a remote cluster.
    #[serde(default)]
    pub vault_auth_mount_path: Option<String>,
}

/// A cluster's Prometheus as the management cluster's Grafana reads it: through the
/// load balancer `prometheus-remote` of that cluster, open to Grafana's addresses only.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClusterPrometheus {
    /// The DNS name of the load balancer's address: Grafana reads
    /// `http://<host>:9090` (plain HTTP, as Prometheus serves it: over a private network).
    pub host: String,
    /// The addresses Grafana connects from (CIDRs of the management cluster's nodes or
    /// NAT gateway): the load balancer's source ranges and the NetworkPolicy's peers.
    pub clients: Vec<String>,
}

/// Facts that hold for the whole platform.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Platform {
    /// Name of the platform; also the base namespace before an overlay renames it.
    pub name: Name,
    pub domain: String,
    /// Registry prefix of the platform's own images: `<registry>/<workload>:<tag>`.
    pub registry: String,
    /// Default tag of the platform's own images; environments may override it.
    pub tag: Tag,
    pub git: Git,
    /// Common labels put on every object.
    #[serde(default)]
    pub labels: IndexMap<String, String>,
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Git {
    pub repository: String,
    pub revision: String,
    /// Folder of the generated tree inside the repository (ArgoCD source paths).
    pub path: String,
}

/// Settings every microservice workload shares.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Workloads {
    /// UID the application containers run as.
    pub run_as_user: i64,
    /// Paths the application writes to (emptyDir volumes under a read-only root).
    pub writable_paths: Vec<String>,
    /// HTTP path of the liveness and readiness probes.
    pub health_path: String,
    /// Port every workload exposes metrics on (port name `metrics`).
    pub metrics_port: Port,
    /// Requests and limits in the base, before an environment's patch.
    pub resources: Resources,
    /// ConfigMap `global-config` entries shared by every environment.
    pub config: IndexMap<String, String>,
    /// Cache and session drivers of the services without Redis (`redis: false`); the
    /// services with Redis keep both in Redis.
    pub drivers: Drivers,
}

/// Drivers that work without any backend, for the services that have no Redis.
#[derive(Debug, Clone, Copy, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Drivers {
    /// `CACHE_STORE`: `file` (the pod's writable storage) or `array` (per request).
    pub cache: CacheStore,
    /// `SESSION_DRIVER`: `cookie` (encrypted in the client's cookie, shared by every
    /// replica), `file` (one pod's storage) or `array` (no session across requests).
    pub session: SessionDriver,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CacheStore {
    File,
    Array,
}

impl CacheStore {
    pub fn as_str(self) -> &'static str {
        match self {
            CacheStore::File => "file",
            CacheStore::Array => "array",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SessionDriver {
    Cookie,
    File,
    Array,
}

impl SessionDriver {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionDriver::Cookie => "cookie",
            SessionDriver::File => "file",
            SessionDriver::Array => "array",
        }
    }
}

/// Layers of the seed's application diagram.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Layer {
    Gateway,
    Core,
    Business,
    Support,
}

/// One microservice of the catalog.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Service {
    pub name: Name,
    pub layer: Layer,
    pub port: Port,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Name of its database in `databases` (database-per-service: one owner each).
    #[serde(default)]
    pub database: Option<String>,
    #[serde(default)]
    pub redis: bool,
    /// Name of its bucket in `minio.buckets`.
    #[serde(default)]
    pub bucket: Option<String>,
    /// Reachable from the ingress controller (the gateway).
    #[serde(default)]
    pub public: bool,
    /// Extra environment variables, in order.
    #[serde(default)]
    pub env: IndexMap<String, String>,
    /// `ClientIP`: kube-proxy sends the connections of one client address to the same pod
    /// (the Service's `sessionAffinity`). The address is the calling pod's; Traefik routes
    /// to the pods directly, so a public service cannot have it.
    #[serde(default)]
    pub session_affinity: SessionAffinity,
    /// How long a client sticks to its pod after its last connection (the API server's
    /// default, 10800, when unset); only with `sessionAffinity: ClientIP`.
    #[serde(default)]
    #[schemars(range(min = 1, max = 86400))]
    pub session_affinity_timeout_seconds: Option<u32>,
}

/// A Service's `sessionAffinity`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
pub enum SessionAffinity {
    #[default]
    None,
    #[serde(rename = "ClientIP")]
    ClientIp,
}

fn one() -> i32 {
    1
}

fn yes() -> bool {
    true
}

/// A MySQL database; its objects are named after its prefix (`auth_db` -> `auth`).
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Database {
    pub name: String,
    #[serde(default = "utf8mb4")]
    pub charset: String,
    #[serde(default = "utf8mb4_unicode_ci")]
    pub collation: String,
}

fn utf8mb4() -> String {
    "utf8mb4".into()
}

fn utf8mb4_unicode_ci() -> String {
    "utf8mb4_unicode_ci".into()
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Resources {
    pub requests: ResourceList,
    pub limits: ResourceList,
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ResourceList {
    pub cpu: Quantity,
    pub memory: Quantity,
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Mysql {
    pub image: String,
    pub args: Vec<String>,
    pub resources: Resources,
    pub storage: Quantity,
    /// UID the server runs as (restricted Pod Security needs non-root).
    pub run_as_user: i64,
    pub backup: BackupImage,
    /// The mysqld-exporter sidecar Prometheus scrapes on its `metrics` port.
    pub exporter: Exporter,
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Exporter {
    pub image: String,
    pub port: Port,
    /// The MySQL user the exporter signs in as: created at database initialisation with
    /// status privileges only, its password the secret's `exporter-password`.
    pub user: Name,
    pub resources: Resources,
}

/// Where the database backups go and who takes them.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BackupImage {
    /// The MinIO bucket; an environment's dumps and binary logs live under `<environment>/`.
    pub bucket: Name,
    /// The MySQL user of the dumps and of binary-log shipping: created at database
    /// initialisation with read-only grants, its password the secret's `backup-password`.
    pub user: Name,
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Redis {
    pub image: String,
    pub port: Port,
    pub resources: Resources,
    pub storage: Quantity,
    pub run_as_user: i64,
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Minio {
    pub image: String,
    pub client_image: String,
    pub api_port: Port,
    pub console_port: Port,
    pub resources: Resources,
    pub storage: Quantity,
    pub run_as_user: i64,
    pub buckets: Vec<Bucket>,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum BucketPolicy {
    Private,
    PublicRead,
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Bucket {
    pub name: Name,
    pub policy: BucketPolicy,
}

/// How the app namespaces reach the RabbitMQ cluster of the messaging component.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Rabbitmq {
    pub namespace: Name,
    pub cluster_name: Name,
    pub amqp_port: Port,
    /// Dead-lettering in every environment's virtual host.
    pub dead_letters: DeadLetters,
}

/// What a queue rejects past its delivery limit, or lets expire, goes to `exchange`
/// (fanout), bound to the quorum queue `queue`, through the policy on the queues whose
/// name matches `pattern`; that queue must not match it (its dead letters would loop).
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DeadLetters {
    /// Regular expression (RabbitMQ's, PCRE) of the queue names the policy applies to.
    pub pattern: String,
    pub exchange: Name,
    pub queue: Name,
}

/// Security settings that every environment's build uses.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Security {
    /// The (Cluster)SecretStore every ExternalSecret reads from.
    pub secret_store: Name,
    /// Vault path prefix; each secret is `<prefix>/<environment>/<secret>`.
    pub vault_prefix: String,
    pub refresh_interval: String,
    /// The cluster roles of the seed and the group bound to each.
    pub roles: Vec<Role>,
    /// Namespace of the ingress controller.
    pub ingress_namespace: Name,
    /// Namespace Prometheus scrapes from.
    pub monitoring_namespace: Name,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Access {
    ReadOnly,
    Full,
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Role {
    pub name: Name,
    pub group: String,
    pub access: Access,
}

/// Traefik ingress for the gateway.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Ingress {
    pub class_name: String,
    /// Rate limit of the gateway's middleware: average requests per second and burst.
    pub rate_limit_average: u32,
    pub rate_limit_burst: u32,
    /// Address ranges (CIDR) of proxies in front of Traefik whose `X-Forwarded-For` is
    /// trusted (a CDN, an L7 load balancer). Empty: clients connect through an L4 load
    /// balancer and Traefik sees their own address (`externalTrafficPolicy: Local`).
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
}

/// `environments/<name>.yaml`: what one environment changes.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EnvironmentFile {
    /// Must equal the file name without `.yaml`.
    pub name: Name,
    pub namespace: Name,
    pub host: String,
    /// The Let's Encrypt issuer of the ingress certificate (a ClusterIssuer name).
    pub cluster_issuer: Name,
    pub pod_security: PodSecurity,
    /// Tag of the platform's images in this environment (default: the catalog's).
    #[serde(default)]
    pub tag: Option<Tag>,
    /// Per-workload tag overrides: the release step of the GitOps workflow.
    #[serde(default)]
    pub images: IndexMap<String, Tag>,
    /// Tolerate images without a tag or tagged `latest` (a development environment that
    /// follows the newest builds); `platgen validate` refuses them everywhere else.
    #[serde(default)]
    pub allow_unpinned_images: bool,
    /// Data of ConfigMap `global-config` (APP_ENV, LOG_LEVEL, ...).
    pub config: IndexMap<String, String>,
    /// Replicas of every microservice when the environment does not autoscale.
    #[serde(default = "one")]
    pub replicas: i32,
    /// Requests and limits of every microservice container.
    pub resources: Resources,
    pub storage: Storage,
    #[serde(default)]
    pub autoscaling: Option<Autoscaling>,
    /// Spread microservices across zones and prefer distinct nodes.
    #[serde(default)]
    pub zone_spread: bool,
    pub quota: Quota,
    pub limit_range: LimitRange,
    /// Cluster roles bound in this namespace (names from `security.roles`).
    pub access: Vec<String>,
    pub sync: Sync,
    /// Traefik's circuit breaker and retries in front of the gateway.
    pub gateway: Gateway,
    /// The environment's queues on the shared RabbitMQ cluster.
    pub messaging: Messaging,
    /// The cluster it runs on, a name of the catalog's `clusters` (default: ArgoCD's own).
    #[serde(default)]
    pub cluster: Option<Name>,
    /// How MySQL, MinIO and Redis run (the seed's high-availability modes); absent, as
    /// the catalog's single instances.
    #[serde(default)]
    pub data_layer: DataLayer,
    /// How `platgen write` lays out `overlays/<name>/` (both print the same objects).
    #[serde(default)]
    pub layout: Layout,
    /// With `layout: hydrated`, the number of kustomizations (`overlays/<name>/part-01`
    /// ...) the overlay's objects are split into, each listed as a source of the
    /// environment's Application: ArgoCD builds each on its own, and kustomize's cost
    /// grows with the square of one build's objects.
    #[serde(default = "one_part")]
    #[schemars(range(min = 1, max = 256))]
    pub hydrated_parts: u16,
}

fn one_part() -> u16 {
    1
}

#[derive(Debug, Clone, Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Gateway {
    pub circuit_breaker: CircuitBreaker,
    pub retry: Retry,
}

/// Opens (Traefik answers 503 without calling the gateway) when either ratio of the
/// requests it saw is exceeded (checked every 100ms).
#[derive(Debug, Clone, Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CircuitBreaker {
    /// Requests that got no response (connection refused or reset, timeout), 0 to 1.
    #[schemars(range(min = 0, max = 1))]
    pub network_error_ratio: f64,
    /// Responses with a 5xx status among all responses, 0 to 1.
    #[schemars(range(min = 0, max = 1))]
    pub server_error_ratio: f64,
    /// How long it stays open before trying to recover.
    pub fallback_duration: Period,
    /// How long it lets a growing share of requests through before closing again.
    pub recovery_duration: Period,
}

/// Requests the gateway did not receive (no connection) are sent again, with exponential
/// backoff; a request that got any response is never retried.
#[derive(Debug, Clone, Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Retry {
    /// Tries in all (the first included), 1 to 5: each multiplies the load on a failing
    /// gateway.
    #[schemars(range(min = 1, max = 5))]
    pub attempts: u32,
    /// Wait before the first retry; it doubles up to twice this.
    pub initial_interval: Period,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Messaging {
    /// Deliveries of a message to consumers of a quorum queue (a poison message that
    /// crashes its consumer is requeued) before it is dead-lettered.
    #[schemars(range(min = 1))]
    pub delivery_limit: u32,
    /// A message not consumed within this time is dead-lettered (at most 2^32-1 ms).
    pub message_ttl: Period,
}

/// The data layer's mode per backend. Every mode but the defaults needs
/// `storage.persistent: true`.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DataLayer {
    #[serde(default)]
    pub mysql: MysqlLayer,
    #[serde(default)]
    pub minio: MinioLayer,
    #[serde(default)]
    pub redis: RedisLayer,
}

#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MysqlLayer {
    #[serde(default)]
    pub mode: MysqlMode,
}

/// `deployment`: one Deployment per database (the base). `statefulset`: one StatefulSet
/// per database, its volume from a claim template. `innodb-cluster`: one InnoDBCluster
/// of the MySQL Operator per database (three servers in group replication, MySQL Router).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum MysqlMode {
    #[default]
    Deployment,
    Statefulset,
    InnodbCluster,
}

#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MinioLayer {
    #[serde(default)]
    pub mode: MinioMode,
    /// Servers of the distributed mode, one drive each, erasure-coded (4 to 16; default 4).
    #[serde(default)]
    pub nodes: Option<u32>,
}

/// Servers of a distributed MinIO when `nodes` is not given (the seed's plan).
pub const MINIO_NODES: u32 = 4;

impl MinioLayer {
    /// Servers of the distributed mode; `None` when standalone.
    pub fn distributed(&self) -> Option<u32> {
        (self.mode == MinioMode::Distributed).then(|| self.nodes.unwrap_or(MINIO_NODES))
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum MinioMode {
    #[default]
    Standalone,
    Distributed,
}

#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RedisLayer {
    #[serde(default)]
    pub mode: RedisMode,
}

/// `cluster`: Redis Cluster of 3 masters, each with one replica (the seed's plan).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RedisMode {
    #[default]
    Standalone,
    Cluster,
}

/// The files of an environment's overlay.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// `base` plus this environment's patches, namespace and image tags: what the
    /// environment changes, for people to read.
    #[default]
    Patches,
    /// The final objects (what `platgen build` prints), one file per kind in kustomize's
    /// order (`deployment.yaml`, ...), read in that order (`sortOptions: {order: fifo}`):
    /// kustomize neither patches nor sorts, for large catalogs.
    Hydrated,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum PodSecurity {
    Privileged,
    Baseline,
    Restricted,
}

impl PodSecurity {
    pub fn as_str(self) -> &'static str {
        match self {
            PodSecurity::Privileged => "privileged",
            PodSecurity::Baseline => "baseline",
            PodSecurity::Restricted => "restricted",
        }
    }
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Storage {
    /// PersistentVolumeClaims (kept on delete) instead of emptyDir.
    pub persistent: bool,
    #[serde(default)]
    pub storage_class: Option<Name>,
    #[serde(default)]
    pub backup: Option<Backup>,
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Backup {
    /// Cron schedule of the daily MySQL dump.
    pub schedule: String,
    /// Dumps and binary logs older than this are deleted from MinIO.
    pub retention_days: u32,
    /// Cron schedule of the restore test: the latest dump of every database restored
    /// into a scratch MySQL and checked (monthly, as the seed asks).
    pub restore_test: String,
    /// Point-in-time recovery: binary logs on, shipped to MinIO.
    #[serde(default)]
    pub point_in_time: Option<PointInTime>,
}

/// Binary logging and its shipping to MinIO.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PointInTime {
    /// Recovery point objective: at most this many minutes of writes are lost with the
    /// database's volume. Binary logs are rotated and shipped this often (divides 60).
    pub rpo_minutes: u32,
    /// How long the server keeps its binary logs (shipped or not) before purging them.
    #[serde(default = "seven")]
    pub keep_on_server_days: u32,
}

fn seven() -> u32 {
    7
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Autoscaling {
    pub default: Scale,
    /// Per-workload bounds that differ from the default.
    #[serde(default)]
    pub services: IndexMap<String, Scale>,
    pub cpu_utilization: Percent,
    pub memory_utilization: Percent,
}

#[derive(Debug, Clone, Copy, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Scale {
    pub min: i32,
    pub max: i32,
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Quota {
    pub requests: ResourceList,
    pub limits: ResourceList,
    pub pods: u32,
    pub persistent_volume_claims: u32,
    pub storage: Quantity,
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LimitRange {
    pub default: ResourceList,
    pub default_request: ResourceList,
    pub max: ResourceList,
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Sync {
    pub automated: bool,
    #[serde(default)]
    pub prune: bool,
    #[serde(default)]
    pub self_heal: bool,
    /// Approval gate: syncs are allowed only in this window (ArgoCD sync window).
    #[serde(default)]
    pub window: Option<SyncWindow>,
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SyncWindow {
    pub schedule: String,
    pub duration: String,
}
