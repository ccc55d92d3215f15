//! Check stage, wiring: every connection a pod is configured with works once the objects
//! run. An endpoint a container is given (an environment variable naming a host or a URL,
//! a URL in a ConfigMap it mounts) resolves to a Service some target builds or an
//! operator creates, on a port it serves, whose pods the NetworkPolicies let the
//! container reach (`reachability`), and comes with its credentials; a driver setting
//! that needs a backend (`CACHE_STORE=redis`) has that backend wired; a RabbitMQ user
//! holds permissions on the virtual host the service names. The pods that controllers
//! start and the platform relies on, and what the charts must be told for the platform's
//! objects to work, are `controllers`' part; how RabbitMQ routes dead letters is
//! `dead_letters`'.
//!
//! Every map is built once per run: the check is linear in the number of workloads.

pub(crate) mod controllers;
mod dead_letters;
mod endpoint;

use super::cluster::{
    Cluster, Labels, Placed, ServiceInfo, TargetPort, USER_CREDENTIALS, Workload,
};
use super::reachability::{Engine, Pod};
use super::{Family, Finding, join};
use crate::check::value::Value;
use endpoint::{Endpoint, resolve_host};
use std::collections::{HashMap, HashSet};

/// Prefixes of the variables that name a backend, the variables that must come with
/// them (the programs' Laravel conventions), and the backend's port when none is given.
const BACKENDS: [(&str, &[&str], Option<u16>); 6] = [
    ("DB", &["DB_USERNAME", "DB_PASSWORD"], Some(3306)),
    ("REDIS", &["REDIS_PASSWORD"], Some(6379)),
    (
        "RABBITMQ",
        &["RABBITMQ_USER", "RABBITMQ_PASSWORD"],
        Some(5672),
    ),
    ("MINIO", &["MINIO_ACCESS_KEY", "MINIO_SECRET_KEY"], None),
    ("MAIL", &["MAIL_USERNAME", "MAIL_PASSWORD"], Some(25)),
    ("MEMCACHED", &[], Some(11211)),
];

/// Driver settings that need a backend: `variable=value` needs the backend of `prefix`
/// wired (its `<prefix>_HOST`, or `_ENDPOINT`/`_URL`). Without it Laravel connects to
/// 127.0.0.1, and every call fails.
const DRIVERS: [(&str, &str, &str); 15] = [
    ("CACHE_STORE", "redis", "REDIS"),
    ("CACHE_DRIVER", "redis", "REDIS"),
    ("SESSION_DRIVER", "redis", "REDIS"),
    ("QUEUE_CONNECTION", "redis", "REDIS"),
    ("BROADCAST_CONNECTION", "redis", "REDIS"),
    ("CACHE_STORE", "database", "DB"),
    ("SESSION_DRIVER", "database", "DB"),
    ("QUEUE_CONNECTION", "database", "DB"),
    ("DB_CONNECTION", "mysql", "DB"),
    ("DB_CONNECTION", "mariadb", "DB"),
    ("DB_CONNECTION", "pgsql", "DB"),
    ("QUEUE_CONNECTION", "rabbitmq", "RABBITMQ"),
    ("CACHE_STORE", "memcached", "MEMCACHED"),
    ("SESSION_DRIVER", "memcached", "MEMCACHED"),
    ("OTEL_TRACES_EXPORTER", "otlp", "OTEL_EXPORTER_OTLP"),
];

/// Services every cluster has and no target builds: the API server's and the DNS.
/// Their endpoints are not pods; NetworkPolicies reach them by address (`ipBlock`).
const CLUSTER_SERVICES: [(&str, &str); 2] =
    [("default", "kubernetes"), ("kube-system", "kube-dns")];

/// Suffixes of variables that name an endpoint.
const ENDPOINT_SUFFIXES: [&str; 6] = ["_ENDPOINT", "_URL", "_URI", "_ADDR", "_ADDRESS", "_SERVER"];

/// Findings of the wiring checks for `objects`. `ingress_namespace` is where the ingress
/// controller runs (the catalog's `security.ingressNamespace`).
pub fn check(cluster: &Cluster, objects: &[&Placed], ingress_namespace: &str) -> Vec<Finding> {
    let index = Index::new(cluster, objects);
    let mut out = Vec::new();
    for workload in &cluster.workloads {
        if !index.checked.contains(&workload.object) {
            continue;
        }
        let placed = &cluster.objects[workload.object];
        let Some(spec) = cluster.pod_spec(workload) else {
            continue;
        };
        let base = join(workload.template.map_or("", |t| t.path), "spec");
        let source = Pod::of(workload);
        let pod = PodContext {
            index: &index,
            placed,
            source: &source,
            namespace: &workload.namespace,
        };
        for (path, container) in super::cluster::containers(spec) {
            let field = join(&base, &path);
            let env = index.environment(&workload.namespace, container, &field);
            pod.variables(&env, &mut out);
        }
        for (i, volume) in spec["volumes"].as_array().into_iter().flatten().enumerate() {
            pod.mounted_config(volume, &format!("{base}.volumes[{i}]"), &mut out);
        }
    }
    controllers::check(cluster, &index, ingress_namespace, &mut out);
    dead_letters::check(cluster, &index.checked, &mut out);
    out
}

/// What the checks look up, indexed once.
struct Index<'c> {
    cluster: &'c Cluster,
    /// The NetworkPolicy engine of `platgen reachability`.
    engine: Engine<'c>,
    /// Indexes (into `cluster.objects`) of the objects being checked.
    checked: HashSet<usize>,
    services: HashMap<(&'c str, &'c str), &'c ServiceInfo>,
    config_maps: HashMap<(&'c str, &'c str), &'c Value>,
    /// RabbitMQ topology objects by namespace and name.
    users: HashMap<(&'c str, &'c str), &'c Placed>,
    /// Permissions by namespace and the User they name: (vhost, index of the object).
    permissions: HashMap<(&'c str, &'c str), Vec<(&'c str, usize)>>,
    /// Vhost names declared per RabbitmqCluster (`namespace/name` of the cluster).
    vhosts: HashSet<(String, &'c str)>,
}

impl<'c> Index<'c> {
    fn new(cluster: &'c Cluster, objects: &[&Placed]) -> Index<'c> {
        let positions: HashMap<(usize, usize), usize> = cluster
            .objects
            .iter()
            .enumerate()
            .map(|(i, p)| ((p.target_index, p.position), i))
            .collect();
        let checked = objects
            .iter()
            .filter_map(|p| positions.get(&(p.target_index, p.position)).copied())
            .collect();
        let mut index = Index {
            cluster,
            engine: Engine::new(cluster),
            checked,
            services: HashMap::new(),
            config_maps: HashMap::new(),
            users: HashMap::new(),
            permissions: HashMap::new(),
            vhosts: HashSet::new(),
        };
        for service in &cluster.services {
            index
                .services
                .entry((service.namespace.as_str(), service.name.as_str()))
                .or_insert(service);
        }
        for (i, placed) in cluster.objects.iter().enumerate() {
            let key = (placed.namespace(), placed.name());
            match (placed.group(), placed.kind()) {
                ("", "ConfigMap") => {
                    index
                        .config_maps
                        .entry(key)
                        .or_insert(&placed.object["data"]);
                }
                ("rabbitmq.com", "User") => {
                    index.users.entry(key).or_insert(placed);
                }
                ("rabbitmq.com", "Permission") => {
                    let spec = &placed.object["spec"];
                    if let (Some(user), Some(vhost)) = (
                        spec["userReference"]["name"].as_str(),
                        spec["vhost"].as_str(),
                    ) {
                        index
                            .permissions
                            .entry((placed.namespace(), user))
                            .or_default()
                            .push((vhost, i));
                    }
                }
                ("rabbitmq.com", "Vhost") => {
                    if let Some(vhost) = placed.object["spec"]["name"].as_str() {
                        index.vhosts.insert((cluster_of(placed), vhost));
                    }
                }
                _ => {}
            }
        }
        index
    }

    /// The workloads a Service's selector selects (none for an empty selector, which
    /// Kubernetes reads as "endpoints managed by hand").
    fn selected(&self, service: &'c ServiceInfo) -> Vec<&'c Workload> {
        match &service.selector {
            Some(selector) if selector.as_object().is_some_and(|m| !m.is_empty()) => self
                .cluster
                .map_selected_workloads(&service.namespace, selector)
                .collect(),
            _ => Vec::new(),
        }
    }

    /// A container's environment as the kubelet builds it: `envFrom` ConfigMaps first,
    /// then `env`, later entries winning.
    fn environment(&self, namespace: &str, container: &Value, field: &str) -> Environment {
        let mut env = Environment::default();
        for (i, from) in container["envFrom"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let Some(name) = from["configMapRef"]["name"].as_str() else {
                continue;
            };
            let prefix = from["prefix"].as_str().unwrap_or_default();
            let data = self.config_maps.get(&(namespace, name));
            for (key, value) in data.and_then(|d| d.as_object()).into_iter().flatten() {
                env.set(
                    format!("{prefix}{key}"),
                    Variable {
                        value: value.as_str().map(str::to_owned),
                        secret: None,
                        field: format!("{field}.envFrom[{i}]"),
                        origin: format!(" (ConfigMap `{name}`)"),
                    },
                );
            }
        }
        for (i, variable) in container["env"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let Some(name) = variable["name"].as_str() else {
                continue;
            };
            let secret_ref = &variable["valueFrom"]["secretKeyRef"];
            let config_ref = &variable["valueFrom"]["configMapKeyRef"];
            let value = match variable["value"].as_str() {
                Some(value) => Some(value.to_owned()),
                None => config_ref["name"].as_str().and_then(|cm| {
                    let data = self.config_maps.get(&(namespace, cm))?;
                    Some(data[config_ref["key"].as_str()?].as_str()?.to_owned())
                }),
            };
            let secret = secret_ref["name"].as_str().map(str::to_owned);
            env.set(
                name.to_owned(),
                Variable {
                    value,
                    secret,
                    field: format!("{field}.env[{i}]"),
                    origin: String::new(),
                },
            );
        }
        env
    }
}

/// `namespace/name` of the RabbitmqCluster a topology object names.
fn cluster_of(placed: &Placed) -> String {
    let reference = &placed.object["spec"]["rabbitmqClusterReference"];
    let namespace = reference["namespace"]
        .as_str()
        .unwrap_or(placed.namespace());
    format!(
        "{namespace}/{}",
        reference["name"].as_str().unwrap_or_default()
    )
}

/// One variable of a container's environment.
#[derive(Debug, Clone)]
struct Variable {
    /// Its value, when the objects say it (a literal, or a ConfigMap's entry).
    value: Option<String>,
    /// The Secret it is read from.
    secret: Option<String>,
    field: String,
    /// ` (ConfigMap `name`)` when it comes through `envFrom`.
    origin: String,
}

/// A container's variables, in the order they were first set.
#[derive(Debug, Default)]
struct Environment {
    names: Vec<String>,
    variables: HashMap<String, Variable>,
}

impl Environment {
    fn set(&mut self, name: String, variable: Variable) {
        if self.variables.insert(name.clone(), variable).is_none() {
            self.names.push(name);
        }
    }

    fn get(&self, name: &str) -> Option<&Variable> {
        self.variables.get(name)
    }

    fn iter(&self) -> impl Iterator<Item = (&str, &Variable)> {
        self.names
            .iter()
            .map(|n| (n.as_str(), &self.variables[n.as_str()]))
    }

    /// Whether the backend of `prefix` is wired: a host, an endpoint or a URL for it.
    fn wires(&self, prefix: &str) -> bool {
        std::iter::once("_HOST")
            .chain(ENDPOINT_SUFFIXES)
            .any(|suffix| self.get(&format!("{prefix}{suffix}")).is_some())
    }
}

/// One pod's point of view: where its connections start.
struct PodContext<'a, 'c> {
    index: &'a Index<'c>,
    placed: &'a Placed,
    source: &'a Pod,
    namespace: &'a str,
}

impl<'c> PodContext<'_, 'c> {
    fn finding(&self, field: &str, message: String) -> Finding {
        Finding::new(Family::Wiring, self.placed, field, message)
    }

    /// The endpoints, drivers and credentials of one container's environment.
    fn variables(&self, env: &Environment, out: &mut Vec<Finding>) {
        for (name, variable) in env.iter() {
            let Some(value) = variable.value.as_deref() else {
                continue;
            };
            if let Some(prefix) = name.strip_suffix("_HOST") {
                let port = env
                    .get(&format!("{prefix}_PORT"))
                    .and_then(|p| p.value.as_deref()?.parse().ok())
                    .or_else(|| backend(prefix).and_then(|b| b.2));
                let endpoint = Endpoint::host_port(value, port);
                self.endpoint(name, variable, endpoint, out);
                self.credentials(env, name, prefix, variable, out);
            } else if let Some(suffix) = ENDPOINT_SUFFIXES.iter().find(|s| name.ends_with(*s)) {
                let prefix = &name[..name.len() - suffix.len()];
                if let Some(endpoint) = Endpoint::parse(value) {
                    self.endpoint(name, variable, Some(endpoint), out);
                    self.credentials(env, name, prefix, variable, out);
                }
            }
            for (driver, driver_value, prefix) in DRIVERS {
                if name == driver && value == driver_value && !env.wires(prefix) {
                    out.push(self.finding(
                        &variable.field,
                        format!(
                            "`{name}={value}`{} needs the backend `{prefix}`, but the container \
                             has no `{prefix}_HOST` (or endpoint): the program connects to \
                             127.0.0.1 and fails",
                            variable.origin
                        ),
                    ));
                }
            }
        }
        if env.get("OTEL_SERVICE_NAME").is_some()
            && !env.wires("OTEL_EXPORTER_OTLP")
            && !env.wires("OTEL_EXPORTER_OTLP_TRACES")
        {
            let variable = env.get("OTEL_SERVICE_NAME").expect("present");
            out.push(
                self.finding(
                    &variable.field,
                    "the container names its traces (`OTEL_SERVICE_NAME`) but not where to send \
                 them (`OTEL_EXPORTER_OTLP_ENDPOINT`): the SDK exports to localhost:4318 and \
                 every span is lost"
                        .into(),
                ),
            );
        }
    }

    /// A backend's credentials come with its endpoint, read from a Secret; a RabbitMQ
    /// user of the topology operator holds permissions on the virtual host named.
    fn credentials(
        &self,
        env: &Environment,
        name: &str,
        prefix: &str,
        variable: &Variable,
        out: &mut Vec<Finding>,
    ) {
        let Some((_, needed, _)) = backend(prefix) else {
            return;
        };
        for credential in *needed {
            if env.get(credential).is_none() {
                out.push(self.finding(
                    &variable.field,
                    format!(
                        "`{name}` connects to a backend that asks for credentials, but \
                         `{credential}` is not set: the program cannot sign in"
                    ),
                ));
            }
        }
        if prefix == "RABBITMQ" {
            self.rabbitmq_permission(env, variable, out);
        }
    }

    /// The User whose generated credentials the container reads has a Permission on the
    /// virtual host it names (`RABBITMQ_VHOST`, `/` when unset), and that vhost exists.
    fn rabbitmq_permission(&self, env: &Environment, host: &Variable, out: &mut Vec<Finding>) {
        let Some(secret) = env.get("RABBITMQ_USER").and_then(|u| u.secret.as_deref()) else {
            return;
        };
        let Some(user_name) = secret.strip_suffix(USER_CREDENTIALS) else {
            return;
        };
        let Some(user) = self.index.users.get(&(self.namespace, user_name)) else {
            return;
        };
        let vhost_variable = env.get("RABBITMQ_VHOST");
        let vhost = vhost_variable
            .and_then(|v| v.value.as_deref())
            .unwrap_or("/");
        let field = vhost_variable.map_or(host.field.as_str(), |v| v.field.as_str());
        let granted = self
            .index
            .permissions
            .get(&(self.namespace, user_name))
            .into_iter()
            .flatten()
            .any(|(v, _)| *v == vhost);
        if !granted {
            out.push(self.finding(
                field,
                format!(
                    "RabbitMQ user `{user_name}` (User/{}/{user_name}) has no Permission on \
                     the virtual host `{vhost}` the container uses: the broker refuses the \
                     connection",
                    self.namespace
                ),
            ));
        }
        let cluster = cluster_of(user);
        if vhost != "/" && !self.index.vhosts.contains(&(cluster.clone(), vhost)) {
            out.push(self.finding(
                field,
                format!(
                    "virtual host `{vhost}` is declared by no Vhost on RabbitmqCluster \
                     {cluster}: the broker refuses the connection"
                ),
            ));
        }
    }

    /// The endpoint resolves to a Service serving the port, whose pods this pod may reach.
    fn endpoint(
        &self,
        name: &str,
        variable: &Variable,
        endpoint: Option<Endpoint>,
        out: &mut Vec<Finding>,
    ) {
        let Some(endpoint) = endpoint else {
            return;
        };
        let what = format!("`{name}`{} ({})", variable.origin, endpoint);
        if let Some(problem) = self.reach(&endpoint) {
            out.push(self.finding(&variable.field, format!("{what} {problem}")));
        }
    }

    /// Why this pod cannot use `endpoint`, if it cannot. Hosts outside the cluster's
    /// DNS are not judged.
    fn reach(&self, endpoint: &Endpoint) -> Option<String> {
        let index = self.index;
        let mut namespace = self.namespace.to_owned();
        let mut host = endpoint.host.clone();
        // ExternalName Services are DNS aliases: follow them (a bounded number of hops).
        for _ in 0..4 {
            let (ns, name) = resolve_host(&host, &namespace, &index.cluster.namespaces)?;
            if CLUSTER_SERVICES.contains(&(ns.as_str(), name.as_str())) {
                return None;
            }
            let Some(service) = index.services.get(&(ns.as_str(), name.as_str())) else {
                return Some(format!(
                    "names Service {ns}/{name}, which no target builds and no operator \
                     creates"
                ));
            };
            if let Some(target) = &service.external_name {
                host = target.clone();
                namespace = ns;
                continue;
            }
            return self.serves(service, endpoint.port);
        }
        None
    }

    /// The Service serves `port`, and this pod may reach its pods on the target port.
    fn serves(&self, service: &'c ServiceInfo, port: Option<u16>) -> Option<String> {
        let reference = format!("Service {}/{}", service.namespace, service.name);
        let service_port = match port {
            Some(port) => match service.ports.iter().find(|p| p.port == port) {
                Some(p) => p,
                None => {
                    let ports: Vec<String> =
                        service.ports.iter().map(|p| p.port.to_string()).collect();
                    return Some(format!(
                        "reaches {reference} on port {port}, which it does not serve (its \
                         ports: {})",
                        ports.join(", ")
                    ));
                }
            },
            None => match service.ports.as_slice() {
                [only] => only,
                _ => return None,
            },
        };
        let pods = self.index.selected(service);
        if pods.is_empty() {
            return None;
        }
        let reachable = pods.iter().any(|workload| {
            let target = match &service_port.target {
                TargetPort::Number(n) => Some(*n),
                TargetPort::Name(name) => workload
                    .ports
                    .iter()
                    .find(|p| p.name.as_deref() == Some(name.as_str()))
                    .map(|p| p.number),
            };
            target.is_some_and(|t| {
                (self.index.engine).allows(self.source, &Pod::of(workload), "TCP", t)
            })
        });
        (!reachable).then(|| {
            let apps: Vec<&str> = pods.iter().map(|w| w.app()).collect();
            format!(
                "reaches {reference} port {} (pods {} in {}), but the NetworkPolicies allow \
                 no such connection from this pod",
                service_port.port,
                dedup_join(&apps),
                service.namespace
            )
        })
    }

    /// URLs in the ConfigMap a volume mounts, as this pod reads them.
    fn mounted_config(&self, volume: &Value, field: &str, out: &mut Vec<Finding>) {
        let Some(name) = volume["configMap"]["name"].as_str() else {
            return;
        };
        let Some(data) = self.index.config_maps.get(&(self.namespace, name)) else {
            return;
        };
        for (key, text) in data.as_object().into_iter().flatten() {
            let Some(text) = text.as_str() else {
                continue;
            };
            for endpoint in endpoint::urls(text) {
                if let Some(problem) = self.reach(&endpoint) {
                    out.push(self.finding(
                        field,
                        format!("ConfigMap `{name}` key `{key}` ({endpoint}) {problem}"),
                    ));
                }
            }
        }
    }
}

/// The backend a variable prefix names, if it is one the platform knows.
fn backend(prefix: &str) -> Option<&'static (&'static str, &'static [&'static str], Option<u16>)> {
    BACKENDS.iter().find(|(p, ..)| *p == prefix)
}

fn dedup_join(items: &[&str]) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for item in items {
        if !seen.contains(item) {
            seen.push(item);
        }
    }
    seen.join(", ")
}

/// Labels as `key=value,...`.
fn labels_text(labels: &Labels) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Platform;
    use crate::check::cluster::Placed;

    /// Issue #12 point 2: with `default-deny-all` and no policy admitting the ingress
    /// controller to cert-manager's solver pods, no certificate is ever issued.
    #[test]
    fn solver_the_ingress_controller_cannot_reach_is_found() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let platform = Platform::load(root).expect("the shipped descriptors load");
        let shipped = crate::check::gather(&platform).expect("renders");
        let is_solver_policy =
            |p: &Placed| p.kind() == "NetworkPolicy" && p.name().starts_with("acme-http01-solver");
        assert!(shipped.objects.iter().any(is_solver_policy));
        let objects: Vec<Placed> = shipped
            .objects
            .into_iter()
            .filter(|p| !is_solver_policy(p))
            .collect();
        let cluster = Cluster::new(objects);
        let all: Vec<&Placed> = cluster.objects.iter().collect();
        let ingress_namespace = platform.project.catalog.security.ingress_namespace.as_str();
        let findings = check(&cluster, &all, ingress_namespace);
        // Each environment's gateway Ingress; Grafana's namespace has no default deny.
        let located: Vec<(&str, &str)> = findings
            .iter()
            .map(|f| (f.object.as_str(), f.field.as_str()))
            .collect();
        let field = "metadata.annotations.cert-manager.io/cluster-issuer";
        for namespace in ["e-commerce-dev", "e-commerce-staging", "e-commerce-prod"] {
            let object = format!("Ingress/{namespace}/api-gateway");
            assert!(located.contains(&(object.as_str(), field)), "{findings:#?}");
        }
        assert!(
            findings[0]
                .message
                .contains("solver pods (acme.cert-manager.io/http01-solver=true, port 8089)")
        );
        // The shipped output has the path.
        let shipped = crate::check::gather(&platform).expect("renders");
        let all: Vec<&Placed> = shipped.objects.iter().collect();
        assert!(check(&shipped, &all, ingress_namespace).is_empty());
    }
}
