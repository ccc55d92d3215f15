//! Check stage, cross-references: every name one object gives to reach another (a
//! selector, a Secret, a ConfigMap, a claim, a scale target, a backend, an issuer)
//! resolves to an object some target builds, with the key or port it asks for.

use super::cluster::{self, Cluster, Keys, Placed, Workload, containers, selector_text, selects};
use super::{Family, Finding, join};
use crate::check::value::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// Findings of every reference check for `objects`, resolved against the whole cluster.
pub fn check(cluster: &Cluster, objects: &[&Placed]) -> Vec<Finding> {
    let mut out = Findings::default();
    for placed in objects {
        match (placed.group(), placed.kind()) {
            ("", "Service") => service(cluster, placed, &mut out),
            ("autoscaling", "HorizontalPodAutoscaler") => autoscaler(cluster, placed, &mut out),
            ("policy", "PodDisruptionBudget") => disruption_budget(cluster, placed, &mut out),
            ("networking.k8s.io", "NetworkPolicy") => network_policy(cluster, placed, &mut out),
            ("networking.k8s.io", "Ingress") => ingress(cluster, placed, &mut out),
            ("monitoring.coreos.com", "ServiceMonitor") => {
                service_monitor(cluster, placed, &mut out);
            }
            ("monitoring.coreos.com", "PodMonitor") => pod_monitor(cluster, placed, &mut out),
            ("external-secrets.io", "ExternalSecret") => {
                external_secret(cluster, placed, &mut out);
            }
            _ => {}
        }
        if let Some(workload) = cluster.workload_of(placed) {
            pod(cluster, placed, workload, &mut out);
        }
    }
    out.0
}

#[derive(Default)]
struct Findings(Vec<Finding>);

impl Findings {
    fn add(&mut self, placed: &Placed, field: impl Into<String>, message: impl Into<String>) {
        self.0
            .push(Finding::new(Family::References, placed, field, message));
    }
}

fn str_at<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

fn items(value: &Value) -> impl Iterator<Item = (usize, &Value)> {
    value.as_array().into_iter().flatten().enumerate()
}

/// A Service's selector selects pods, which declare every named `targetPort`.
fn service(cluster: &Cluster, placed: &Placed, out: &mut Findings) {
    let spec = &placed.object["spec"];
    let selector = &spec["selector"];
    if str_at(spec, "type") == Some("ExternalName")
        || selector.as_object().is_none_or(|s| s.is_empty())
    {
        return;
    }
    let ns = placed.namespace();
    let selected: Vec<&Workload> = cluster.map_selected_workloads(ns, selector).collect();
    if selected.is_empty() {
        out.add(
            placed,
            "spec.selector",
            format!(
                "Service selector `{}` selects no pod in namespace {ns}",
                selector_text(selector)
            ),
        );
        return;
    }
    for (i, port) in items(&spec["ports"]) {
        let Some(target) = str_at(port, "targetPort") else {
            continue;
        };
        for workload in &selected {
            if !workload
                .ports
                .iter()
                .any(|p| p.name.as_deref() == Some(target))
            {
                out.add(
                    placed,
                    format!("spec.ports[{i}].targetPort"),
                    format!(
                        "targetPort `{target}` is no port of the pods of {}/{ns}/{} (their ports: {})",
                        workload.kind,
                        workload.name,
                        port_names(workload)
                    ),
                );
            }
        }
    }
}

fn port_names(workload: &Workload) -> String {
    let names: Vec<String> = workload
        .ports
        .iter()
        .map(|p| match &p.name {
            Some(name) => format!("{name} {}", p.number),
            None => p.number.to_string(),
        })
        .collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

/// The workload an autoscaler scales, by kind and name in its namespace.
fn scale_target<'a>(cluster: &'a Cluster, hpa: &Placed) -> Option<&'a Workload> {
    let target = &hpa.object["spec"]["scaleTargetRef"];
    let kind = str_at(target, "kind")?;
    let name = str_at(target, "name")?;
    cluster.workload_named(hpa.namespace(), kind, name)
}

fn autoscaler(cluster: &Cluster, placed: &Placed, out: &mut Findings) {
    if scale_target(cluster, placed).is_none() {
        let target = &placed.object["spec"]["scaleTargetRef"];
        out.add(
            placed,
            "spec.scaleTargetRef",
            format!(
                "scales {}/{}, which no target builds in namespace {}",
                str_at(target, "kind").unwrap_or("?"),
                str_at(target, "name").unwrap_or("?"),
                placed.namespace()
            ),
        );
    }
}

/// How many pods a workload runs when nothing disrupts it: its autoscaler's
/// `minReplicas` when one scales it, else its `replicas`.
fn resting_replicas(cluster: &Cluster, workload: &Workload) -> Option<(i64, String)> {
    match cluster.autoscaler_of(workload) {
        Some(hpa) => {
            let min = hpa.object["spec"]["minReplicas"].as_i64().unwrap_or(1);
            Some((min, format!("minReplicas {min} of {}", hpa.reference())))
        }
        None => workload.replicas.map(|r| {
            (
                r,
                format!(
                    "replicas {r} of {}/{}/{}",
                    workload.kind, workload.namespace, workload.name
                ),
            )
        }),
    }
}

/// An int-or-percent of a PodDisruptionBudget, scaled to `total` pods (rounded up, as
/// the disruption controller does).
fn scaled(value: &Value, total: i64) -> Option<i64> {
    if let Some(n) = value.as_i64() {
        return Some(n);
    }
    let percent: i64 = value.as_str()?.strip_suffix('%')?.parse().ok()?;
    Some((total * percent + 99) / 100)
}

/// How many pods a PodDisruptionBudget lets a drain evict when `total` pods are healthy.
pub fn allowed_disruptions(spec: &Value, total: i64) -> Option<i64> {
    if let Some(min) = spec.get("minAvailable").and_then(|v| scaled(v, total)) {
        return Some(total - min);
    }
    let max = spec.get("maxUnavailable").and_then(|v| scaled(v, total))?;
    Some(max.min(total))
}

fn disruption_budget(cluster: &Cluster, placed: &Placed, out: &mut Findings) {
    let spec = &placed.object["spec"];
    let ns = placed.namespace();
    let selected: Vec<&Workload> = cluster.selected_workloads(ns, &spec["selector"]).collect();
    if selected.is_empty() {
        out.add(
            placed,
            "spec.selector",
            format!(
                "PodDisruptionBudget selector `{}` selects no pod in namespace {ns}",
                selector_text(&spec["selector"])
            ),
        );
        return;
    }
    let mut total = 0;
    let mut how = Vec::new();
    for workload in &selected {
        let Some((replicas, why)) = resting_replicas(cluster, workload) else {
            return;
        };
        total += replicas;
        how.push(why);
    }
    let field = if spec.get("minAvailable").is_some() {
        "spec.minAvailable"
    } else {
        "spec.maxUnavailable"
    };
    if let Some(allowed) = allowed_disruptions(spec, total)
        && allowed < 1
    {
        out.add(
            placed,
            field,
            format!(
                "allows no voluntary disruption at {total} pod(s) ({}): draining a node would block",
                how.join(", ")
            ),
        );
    }
}

fn network_policy(cluster: &Cluster, placed: &Placed, out: &mut Findings) {
    let spec = &placed.object["spec"];
    let ns = placed.namespace();
    let selector = &spec["podSelector"];
    if cluster.selected_workloads(ns, selector).next().is_none() {
        let message = if selector.as_object().is_none_or(|s| s.is_empty()) {
            format!("podSelector {{}} selects every pod of namespace {ns}, which runs none")
        } else {
            format!(
                "podSelector `{}` selects no pod in namespace {ns}",
                selector_text(selector)
            )
        };
        out.add(placed, "spec.podSelector", message);
    }
    for (rules, peers) in [("ingress", "from"), ("egress", "to")] {
        for (i, rule) in items(&spec[rules]) {
            for (j, peer) in items(&rule[peers]) {
                let field = format!("spec.{rules}[{i}].{peers}[{j}]");
                rule_peer(cluster, placed, peer, &field, out);
            }
        }
    }
}

/// A peer of a rule that names pods (a `podSelector`) selects some, wherever the
/// namespaces it names are built by a target (namespaces of no target are outside).
fn rule_peer(cluster: &Cluster, placed: &Placed, peer: &Value, field: &str, out: &mut Findings) {
    let Some(pod_selector) = peer.get("podSelector") else {
        return;
    };
    let namespaces: Vec<&str> = match peer.get("namespaceSelector") {
        None => vec![placed.namespace()],
        Some(selector) => cluster
            .namespaces
            .iter()
            .filter(|(_, labels)| selects(selector, labels))
            .map(|(ns, _)| ns.as_str())
            .collect(),
    };
    if namespaces.is_empty() {
        return;
    }
    let found = namespaces.iter().any(|ns| {
        cluster
            .selected_workloads(ns, pod_selector)
            .next()
            .is_some()
    });
    if !found {
        out.add(
            placed,
            join(field, "podSelector"),
            format!(
                "rule peer `{}` selects no pod in namespace {}",
                selector_text(pod_selector),
                namespaces.join(", ")
            ),
        );
    }
}

fn ingress(cluster: &Cluster, placed: &Placed, out: &mut Findings) {
    let ns = placed.namespace();
    let annotations = &placed.object["metadata"]["annotations"];
    if let Some(issuer) = str_at(annotations, "cert-manager.io/cluster-issuer")
        && cluster
            .get("cert-manager.io", "ClusterIssuer", "", issuer)
            .is_none()
    {
        out.add(
            placed,
            "metadata.annotations[cert-manager.io/cluster-issuer]",
            format!("certificate issuer `{issuer}` is a ClusterIssuer no target builds"),
        );
    }
    if let Some(issuer) = str_at(annotations, "cert-manager.io/issuer")
        && cluster
            .get("cert-manager.io", "Issuer", ns, issuer)
            .is_none()
    {
        out.add(
            placed,
            "metadata.annotations[cert-manager.io/issuer]",
            format!(
                "certificate issuer `{issuer}` is an Issuer no target builds in namespace {ns}"
            ),
        );
    }
    let key = "traefik.ingress.kubernetes.io/router.middlewares";
    for reference in str_at(annotations, key)
        .into_iter()
        .flat_map(|m| m.split(','))
    {
        let reference = reference.trim();
        let Some(qualified) = reference.strip_suffix("@kubernetescrd") else {
            continue;
        };
        let exists = cluster.objects.iter().any(|m| {
            m.group() == "traefik.io"
                && m.kind() == "Middleware"
                && format!("{}-{}", m.namespace(), m.name()) == qualified
        });
        if !exists {
            out.add(
                placed,
                format!("metadata.annotations[{key}]"),
                format!("middleware `{reference}` is a Middleware no target builds"),
            );
        }
    }
    let spec = &placed.object["spec"];
    let mut backends = vec![("spec.defaultBackend".to_owned(), &spec["defaultBackend"])];
    for (i, rule) in items(&spec["rules"]) {
        for (j, path) in items(&rule["http"]["paths"]) {
            backends.push((
                format!("spec.rules[{i}].http.paths[{j}].backend"),
                &path["backend"],
            ));
        }
    }
    for (field, backend) in backends {
        let service = &backend["service"];
        if let Some(name) = str_at(service, "name") {
            backend_service(
                cluster,
                placed,
                &join(&field, "service"),
                name,
                &service["port"],
                out,
            );
        }
    }
}

fn backend_service(
    cluster: &Cluster,
    placed: &Placed,
    field: &str,
    name: &str,
    port: &Value,
    out: &mut Findings,
) {
    let ns = placed.namespace();
    let Some(service) = cluster.get("", "Service", ns, name) else {
        out.add(
            placed,
            join(field, "name"),
            format!("backend Service `{name}` is built by no target in namespace {ns}"),
        );
        return;
    };
    let ports = service.object["spec"]["ports"].as_array();
    let ports = ports.into_iter().flatten();
    if let Some(port_name) = str_at(port, "name") {
        if !ports.clone().any(|p| str_at(p, "name") == Some(port_name)) {
            out.add(
                placed,
                join(field, "port.name"),
                format!("Service `{name}` has no port named `{port_name}`"),
            );
        }
    } else if let Some(number) = port["number"].as_i64()
        && !ports.clone().any(|p| p["port"].as_i64() == Some(number))
    {
        out.add(
            placed,
            join(field, "port.number"),
            format!("Service `{name}` has no port {number}"),
        );
    }
}

/// The namespaces a monitor's `namespaceSelector` names (its own when it has none).
fn monitored_namespaces(cluster: &Cluster, placed: &Placed) -> Vec<String> {
    let selector = &placed.object["spec"]["namespaceSelector"];
    if selector["any"].as_bool() == Some(true) {
        return cluster.namespaces.keys().cloned().collect();
    }
    match selector["matchNames"].as_array() {
        Some(names) => names
            .iter()
            .filter_map(|n| n.as_str().map(str::to_owned))
            .collect(),
        None => vec![placed.namespace().to_owned()],
    }
}

/// A ServiceMonitor selects Services, each with the port every endpoint scrapes.
fn service_monitor(cluster: &Cluster, placed: &Placed, out: &mut Findings) {
    let spec = &placed.object["spec"];
    let namespaces = monitored_namespaces(cluster, placed);
    let services: Vec<&Placed> = namespaces
        .iter()
        .flat_map(|ns| cluster.find("", "Service", ns))
        .filter(|s| {
            selects(
                &spec["selector"],
                &cluster::labels_of(&s.object["metadata"]["labels"]),
            )
        })
        .collect();
    if services.is_empty() {
        out.add(
            placed,
            "spec.selector",
            format!(
                "selector `{}` selects no Service in namespace(s) {}",
                selector_text(&spec["selector"]),
                namespaces.join(", ")
            ),
        );
        return;
    }
    for (i, endpoint) in items(&spec["endpoints"]) {
        let Some(port) = str_at(endpoint, "port") else {
            continue;
        };
        for service in &services {
            let ports = service.object["spec"]["ports"]
                .as_array()
                .into_iter()
                .flatten();
            if !ports.clone().any(|p| str_at(p, "name") == Some(port)) {
                out.add(
                    placed,
                    format!("spec.endpoints[{i}].port"),
                    format!(
                        "scrapes port `{port}`, which selected {} (target {}) does not have",
                        service.reference(),
                        service.target
                    ),
                );
            }
        }
    }
}

/// A PodMonitor selects pods, each declaring the port every endpoint scrapes.
fn pod_monitor(cluster: &Cluster, placed: &Placed, out: &mut Findings) {
    let spec = &placed.object["spec"];
    let namespaces = monitored_namespaces(cluster, placed);
    let pods: Vec<&Workload> = cluster
        .workloads
        .iter()
        .filter(|w| namespaces.contains(&w.namespace))
        .filter(|w| selects(&spec["selector"], &w.labels))
        .collect();
    if pods.is_empty() {
        out.add(
            placed,
            "spec.selector",
            format!(
                "selector `{}` selects no pod in namespace(s) {}",
                selector_text(&spec["selector"]),
                namespaces.join(", ")
            ),
        );
        return;
    }
    for (i, endpoint) in items(&spec["podMetricsEndpoints"]) {
        let Some(port) = str_at(endpoint, "port") else {
            continue;
        };
        for workload in &pods {
            if !workload
                .ports
                .iter()
                .any(|p| p.name.as_deref() == Some(port))
            {
                out.add(
                    placed,
                    format!("spec.podMetricsEndpoints[{i}].port"),
                    format!(
                        "scrapes port `{port}`, which the pods of selected {}/{}/{} do not declare (their ports: {})",
                        workload.kind,
                        workload.namespace,
                        workload.name,
                        port_names(workload)
                    ),
                );
            }
        }
    }
}

/// An ExternalSecret's store exists and, for a ClusterSecretStore with conditions,
/// serves the ExternalSecret's namespace.
fn external_secret(cluster: &Cluster, placed: &Placed, out: &mut Findings) {
    let store_ref = &placed.object["spec"]["secretStoreRef"];
    let Some(name) = str_at(store_ref, "name") else {
        return;
    };
    let ns = placed.namespace();
    let kind = str_at(store_ref, "kind").unwrap_or("SecretStore");
    let store_ns = if kind == "ClusterSecretStore" { "" } else { ns };
    let Some(store) = cluster.get("external-secrets.io", kind, store_ns, name) else {
        out.add(
            placed,
            "spec.secretStoreRef.name",
            format!("secret store `{name}` is a {kind} no target builds"),
        );
        return;
    };
    let Some(conditions) = store.object["spec"]["conditions"].as_array() else {
        return;
    };
    let labels = cluster.namespace_labels(ns);
    let served = conditions.iter().any(|condition| {
        let named = condition["namespaces"]
            .as_array()
            .is_some_and(|names| names.iter().any(|n| n.as_str() == Some(ns)));
        let selected = condition
            .get("namespaceSelector")
            .is_some_and(|s| selects(s, &labels));
        named || selected || condition.get("namespaceRegexes").is_some()
    });
    if !served {
        out.add(
            placed,
            "spec.secretStoreRef.name",
            format!(
                "{} does not serve namespace {ns} (see its spec.conditions)",
                store.reference()
            ),
        );
    }
}

/// What a pod spec refers to: its ServiceAccount, Secrets (and their keys, including
/// files read from a mounted Secret), ConfigMaps and PersistentVolumeClaims.
fn pod(cluster: &Cluster, placed: &Placed, workload: &Workload, out: &mut Findings) {
    let Some(spec) = cluster.pod_spec(workload) else {
        return;
    };
    let base = join(workload.template.map_or("", |t| t.path), "spec");
    let ns = placed.namespace();
    let refs = Refs {
        cluster,
        placed,
        ns,
    };
    if let Some(account) = str_at(spec, "serviceAccountName")
        && account != "default"
        && cluster.get("", "ServiceAccount", ns, account).is_none()
    {
        out.add(
            placed,
            join(&base, "serviceAccountName"),
            format!("ServiceAccount `{account}` is built by no target in namespace {ns}"),
        );
    }
    for (i, secret) in items(&spec["imagePullSecrets"]) {
        if let Some(name) = str_at(secret, "name") {
            refs.secret(
                &format!("{base}.imagePullSecrets[{i}].name"),
                name,
                &[],
                out,
            );
        }
    }
    for (i, volume) in items(&spec["volumes"]) {
        let field = format!("{base}.volumes[{i}]");
        refs.volume_source(&field, volume, out);
        if let Some(claim) = str_at(&volume["persistentVolumeClaim"], "claimName")
            && cluster
                .get("", "PersistentVolumeClaim", ns, claim)
                .is_none()
        {
            out.add(
                placed,
                join(&field, "persistentVolumeClaim.claimName"),
                format!("PersistentVolumeClaim `{claim}` is built by no target in namespace {ns}"),
            );
        }
        for (j, source) in items(&volume["projected"]["sources"]) {
            refs.volume_source(&format!("{field}.projected.sources[{j}]"), source, out);
        }
    }
    for (path, container) in containers(spec) {
        let field = join(&base, &path);
        refs.container(&field, spec, container, out);
    }
}

/// Resolves the references of one pod spec.
struct Refs<'a> {
    cluster: &'a Cluster,
    placed: &'a Placed,
    ns: &'a str,
}

impl Refs<'_> {
    /// A Secret (and the keys asked of it) is delivered in the namespace.
    fn secret(&self, field: &str, name: &str, keys: &[(String, &str)], out: &mut Findings) {
        match self.cluster.secret_keys(self.ns, name) {
            None => out.add(
                self.placed,
                field,
                format!(
                    "Secret `{name}` is delivered by no ExternalSecret in namespace {}",
                    self.ns
                ),
            ),
            Some(available) => missing_keys("Secret", name, &available, keys, self.placed, out),
        }
    }

    fn config_map(&self, field: &str, name: &str, keys: &[(String, &str)], out: &mut Findings) {
        match self.cluster.config_map_keys(self.ns, name) {
            None => out.add(
                self.placed,
                field,
                format!(
                    "ConfigMap `{name}` is built by no target in namespace {}",
                    self.ns
                ),
            ),
            Some(available) => missing_keys("ConfigMap", name, &available, keys, self.placed, out),
        }
    }

    /// A `secret` or `configMap` source of a volume or of a projected volume.
    fn volume_source(&self, field: &str, source: &Value, out: &mut Findings) {
        for (kind, name_key) in [("secret", "secretName"), ("configMap", "name")] {
            let reference = &source[kind];
            if reference["optional"].as_bool() == Some(true) {
                continue;
            }
            // A projected source names its Secret `name`, a volume `secretName`.
            let Some(name) = str_at(reference, name_key).or_else(|| str_at(reference, "name"))
            else {
                continue;
            };
            let keys: Vec<(String, &str)> = items(&reference["items"])
                .filter_map(|(k, item)| {
                    Some((
                        format!("{field}.{kind}.items[{k}].key"),
                        str_at(item, "key")?,
                    ))
                })
                .collect();
            let name_field = format!(
                "{field}.{kind}.{}",
                if reference.get(name_key).is_some() {
                    name_key
                } else {
                    "name"
                }
            );
            if kind == "secret" {
                self.secret(&name_field, name, &keys, out);
            } else {
                self.config_map(&name_field, name, &keys, out);
            }
        }
    }

    fn container(&self, field: &str, spec: &Value, container: &Value, out: &mut Findings) {
        for (j, env) in items(&container["env"]) {
            let env_field = format!("{field}.env[{j}].valueFrom");
            let value_from = &env["valueFrom"];
            for (kind, key_ref) in [("Secret", "secretKeyRef"), ("ConfigMap", "configMapKeyRef")] {
                let reference = &value_from[key_ref];
                if reference["optional"].as_bool() == Some(true) {
                    continue;
                }
                let (Some(name), Some(key)) = (str_at(reference, "name"), str_at(reference, "key"))
                else {
                    continue;
                };
                let reference_field = format!("{env_field}.{key_ref}");
                let keys = [(join(&reference_field, "key"), key)];
                if kind == "Secret" {
                    self.secret(&join(&reference_field, "name"), name, &keys, out);
                } else {
                    self.config_map(&join(&reference_field, "name"), name, &keys, out);
                }
            }
        }
        for (k, from) in items(&container["envFrom"]) {
            for (kind, reference) in [("Secret", "secretRef"), ("ConfigMap", "configMapRef")] {
                let target = &from[reference];
                let Some(name) = str_at(target, "name") else {
                    continue;
                };
                if target["optional"].as_bool() == Some(true) {
                    continue;
                }
                let name_field = format!("{field}.envFrom[{k}].{reference}.name");
                if kind == "Secret" {
                    self.secret(&name_field, name, &[], out);
                } else {
                    self.config_map(&name_field, name, &[], out);
                }
            }
        }
        self.secret_files(field, spec, container, out);
    }

    /// Paths under a mounted Secret that the container's environment or command reads
    /// (`MYSQL_PASSWORD_FILE=/run/secrets/mysql/password`, `cat /run/secrets/...`) name
    /// keys the Secret holds.
    fn secret_files(&self, field: &str, spec: &Value, container: &Value, out: &mut Findings) {
        let mut mounts = Vec::new();
        for mount in container["volumeMounts"].as_array().into_iter().flatten() {
            let (Some(volume), Some(path)) = (str_at(mount, "name"), str_at(mount, "mountPath"))
            else {
                continue;
            };
            if mount.get("subPath").is_some() {
                continue;
            }
            let secret = spec["volumes"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|v| str_at(v, "name") == Some(volume))
                .map(|v| &v["secret"])
                .filter(|s| s.get("items").is_none());
            if let Some(name) = secret.and_then(|s| str_at(s, "secretName")) {
                mounts.push((path.trim_end_matches('/').to_owned(), name));
            }
        }
        if mounts.is_empty() {
            return;
        }
        let mut texts: Vec<(String, &str)> = Vec::new();
        for (j, env) in items(&container["env"]) {
            if let Some(value) = str_at(env, "value") {
                texts.push((format!("{field}.env[{j}].value"), value));
            }
        }
        for list in ["command", "args"] {
            for (j, text) in items(&container[list]) {
                if let Some(text) = text.as_str() {
                    texts.push((format!("{field}.{list}[{j}]"), text));
                }
            }
        }
        let dirs: Vec<&str> = mounts.iter().map(|(path, _)| path.as_str()).collect();
        for (text_field, text) in texts {
            let read = keys_read_under(text, &dirs);
            for (path, secret) in &mounts {
                for key in &read[path.as_str()] {
                    let keys = [(text_field.clone(), key.as_str())];
                    if let Some(available) = self.cluster.secret_keys(self.ns, secret) {
                        missing_keys("Secret", secret, &available, &keys, self.placed, out);
                    }
                }
            }
        }
    }
}

/// The file names a text reads right under each of `dirs` (`dir/name`), as [`keys_read`]
/// finds them, in one pass over the text's `/`: the binary log shipping job mounts every
/// database's Secret and its script names them all, so a pass per folder was quadratic
/// in the catalog.
fn keys_read_under<'d>(text: &str, dirs: &[&'d str]) -> HashMap<&'d str, BTreeSet<String>> {
    let mut by_length: BTreeMap<usize, HashSet<&str>> = BTreeMap::new();
    for dir in dirs {
        by_length.entry(dir.len()).or_default().insert(dir);
    }
    let mut found: HashMap<&str, BTreeSet<String>> =
        dirs.iter().map(|dir| (*dir, BTreeSet::new())).collect();
    // Where each folder's last `dir/` ended: as `find` on the rest of the text, the next
    // one starts there or later.
    let mut free: HashMap<&str, usize> = HashMap::new();
    for (slash, _) in text.match_indices('/') {
        for (length, candidates) in &by_length {
            let Some(dir) = slash
                .checked_sub(*length)
                .and_then(|start| text.get(start..slash))
            else {
                continue;
            };
            let Some(dir) = candidates.get(dir).copied() else {
                continue;
            };
            let next = free.entry(dir).or_insert(0);
            if slash - length < *next {
                continue;
            }
            *next = slash + 1;
            let key = file_name(&text[slash + 1..]);
            if !key.is_empty() {
                found.get_mut(dir).expect("every dir").insert(key);
            }
        }
    }
    found
}

/// The file name a path continues with.
fn file_name(after: &str) -> String {
    after
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || "-._".contains(*c))
        .collect()
}

/// The file names a text reads right under `dir` (`dir/name`), one folder at a time: the
/// oracle of [`keys_read_under`].
#[cfg(test)]
fn keys_read(text: &str, dir: &str) -> BTreeSet<String> {
    let prefix = format!("{dir}/");
    let mut keys = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find(&prefix) {
        let after = &rest[at + prefix.len()..];
        let key = file_name(after);
        if !key.is_empty() {
            keys.insert(key);
        }
        rest = after;
    }
    keys
}

fn missing_keys(
    kind: &str,
    name: &str,
    available: &Keys,
    keys: &[(String, &str)],
    placed: &Placed,
    out: &mut Findings,
) {
    for (field, key) in keys {
        if !available.contains(key) {
            out.add(
                placed,
                field.clone(),
                format!(
                    "{kind} `{name}` has no key `{key}` (its keys: {})",
                    available.list()
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::cluster::Placed;
    use crate::check::value::json as compact;
    use serde_json::{Value, json};

    fn cluster(objects: Vec<Value>) -> Cluster {
        Cluster::new(
            objects
                .into_iter()
                .enumerate()
                .map(|(position, object)| Placed::new("t", 0, position, object.into()))
                .collect(),
        )
    }

    fn messages(cluster: &Cluster) -> Vec<String> {
        let all: Vec<&Placed> = cluster.objects.iter().collect();
        check(cluster, &all)
            .into_iter()
            .map(|f| format!("{} {}: {}", f.object, f.field, f.message))
            .collect()
    }

    fn deployment(name: &str, replicas: i64) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "ns"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                "template": {"metadata": {"labels": {"app": name}},
                    "spec": {"containers": [{"name": "c", "image": "x:1",
                        "ports": [{"name": "http", "containerPort": 80}]}]}}}})
    }

    #[test]
    fn budget_blocking_drain_is_found() {
        let pdb = json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": "web-pdb", "namespace": "ns"},
            "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}}});
        let hpa = json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web-hpa", "namespace": "ns"},
            "spec": {"minReplicas": 2, "maxReplicas": 5,
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}}});
        let found = messages(&cluster(vec![deployment("web", 3), pdb.clone(), hpa]));
        assert_eq!(
            found,
            [
                "PodDisruptionBudget/ns/web-pdb spec.minAvailable: allows no voluntary disruption \
              at 2 pod(s) (minReplicas 2 of HorizontalPodAutoscaler/ns/web-hpa): draining a node would block"
            ]
        );
        // Without the autoscaler, the Deployment's 3 replicas leave room for one eviction.
        assert!(messages(&cluster(vec![deployment("web", 3), pdb])).is_empty());
    }

    #[test]
    fn disruptions_scale_percentages_up() {
        assert_eq!(
            allowed_disruptions(&compact!({"maxUnavailable": 1}), 1),
            Some(1)
        );
        assert_eq!(
            allowed_disruptions(&compact!({"maxUnavailable": 0}), 3),
            Some(0)
        );
        assert_eq!(
            allowed_disruptions(&compact!({"minAvailable": "50%"}), 3),
            Some(1)
        );
        assert_eq!(
            allowed_disruptions(&compact!({"minAvailable": "100%"}), 3),
            Some(0)
        );
        assert_eq!(
            allowed_disruptions(&compact!({"maxUnavailable": "10%"}), 3),
            Some(1)
        );
        assert_eq!(allowed_disruptions(&compact!({}), 3), None);
    }

    #[test]
    fn autoscaler_of_a_missing_workload_is_found() {
        let hpa = json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "h", "namespace": "ns"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "gone"}}});
        assert_eq!(
            messages(&cluster(vec![deployment("web", 1), hpa])),
            [
                "HorizontalPodAutoscaler/ns/h spec.scaleTargetRef: scales Deployment/gone, \
              which no target builds in namespace ns"
            ]
        );
    }

    #[test]
    fn secret_keys_and_files_resolve_against_external_secrets() {
        let external = json!({"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
            "metadata": {"name": "db", "namespace": "ns"},
            "spec": {"data": [{"secretKey": "password"}]}});
        let mut web = deployment("web", 1);
        web["spec"]["template"]["spec"]["volumes"] =
            json!([{"name": "creds", "secret": {"secretName": "db"}}]);
        web["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] =
            json!([{"name": "creds", "mountPath": "/run/secrets/db"}]);
        web["spec"]["template"]["spec"]["containers"][0]["env"] = json!([
            {"name": "PASSWORD_FILE", "value": "/run/secrets/db/pasword"},
            {"name": "USER", "valueFrom": {"secretKeyRef": {"name": "db", "key": "user"}}},
            {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "api", "key": "token"}}},
        ]);
        let found = messages(&cluster(vec![web, external]));
        let field = "spec.template.spec.containers[0].env";
        assert_eq!(
            found,
            [
                format!(
                    "Deployment/ns/web {field}[1].valueFrom.secretKeyRef.key: Secret `db` has no key `user` (its keys: password)"
                ),
                format!(
                    "Deployment/ns/web {field}[2].valueFrom.secretKeyRef.name: Secret `api` is delivered by no ExternalSecret in namespace ns"
                ),
                format!(
                    "Deployment/ns/web {field}[0].value: Secret `db` has no key `pasword` (its keys: password)"
                ),
            ]
        );
    }

    #[test]
    fn service_selecting_nothing_or_a_missing_port_is_found() {
        let service = |name: &str, app: &str, target_port: &str| {
            json!({"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": name, "namespace": "ns"},
                "spec": {"selector": {"app": app},
                    "ports": [{"name": "http", "port": 80, "targetPort": target_port}]}})
        };
        let found = messages(&cluster(vec![
            deployment("web", 1),
            service("web", "web", "http"),
            service("typo", "wbe", "http"),
            service("port", "web", "metrics"),
        ]));
        assert_eq!(
            found,
            [
                "Service/ns/typo spec.selector: Service selector `app=wbe` selects no pod in namespace ns",
                "Service/ns/port spec.ports[0].targetPort: targetPort `metrics` is no port of the pods \
                 of Deployment/ns/web (their ports: http 80)",
            ]
        );
    }

    #[test]
    fn config_maps_and_claims_must_exist() {
        let config = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "settings", "namespace": "ns"}, "data": {"LEVEL": "info"}});
        let claim = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": "data", "namespace": "ns"}});
        let mut web = deployment("web", 1);
        web["spec"]["template"]["spec"]["volumes"] = json!([
            {"name": "a", "configMap": {"name": "settings", "items": [{"key": "LEVL", "path": "x"}]}},
            {"name": "b", "persistentVolumeClaim": {"claimName": "data"}},
            {"name": "c", "persistentVolumeClaim": {"claimName": "gone"}},
            {"name": "d", "configMap": {"name": "optional", "optional": true}},
        ]);
        web["spec"]["template"]["spec"]["containers"][0]["envFrom"] =
            json!([{"configMapRef": {"name": "global"}}]);
        let found = messages(&cluster(vec![web, config, claim]));
        let s = "spec.template.spec";
        assert_eq!(
            found,
            [
                format!(
                    "Deployment/ns/web {s}.volumes[0].configMap.items[0].key: ConfigMap `settings` has no key `LEVL` (its keys: LEVEL)"
                ),
                format!(
                    "Deployment/ns/web {s}.volumes[2].persistentVolumeClaim.claimName: PersistentVolumeClaim `gone` is built by no target in namespace ns"
                ),
                format!(
                    "Deployment/ns/web {s}.containers[0].envFrom[0].configMapRef.name: ConfigMap `global` is built by no target in namespace ns"
                ),
            ]
        );
    }

    #[test]
    fn ingress_backend_must_exist_with_its_port() {
        let service = json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web", "namespace": "ns"},
            "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}});
        let backend = |name: &str, port: Value| {
            json!({"path": "/", "pathType": "Prefix",
            "backend": {"service": {"name": name, "port": port}}})
        };
        let ingress = json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": "in", "namespace": "ns",
            "annotations": {"cert-manager.io/cluster-issuer": "letsencrypt"}},
        "spec": {"rules": [{"http": {"paths": [
            backend("web", json!({"name": "http"})),
            backend("web", json!({"name": "https"})),
            backend("web", json!({"number": 8080})),
            backend("api", json!({"number": 80})),
        ]}}]}});
        let found = messages(&cluster(vec![deployment("web", 1), service, ingress]));
        let p = "spec.rules[0].http.paths";
        assert_eq!(
            found,
            [
                "Ingress/ns/in metadata.annotations[cert-manager.io/cluster-issuer]: certificate issuer `letsencrypt` is a ClusterIssuer no target builds".to_owned(),
                format!("Ingress/ns/in {p}[1].backend.service.port.name: Service `web` has no port named `https`"),
                format!("Ingress/ns/in {p}[2].backend.service.port.number: Service `web` has no port 8080"),
                format!("Ingress/ns/in {p}[3].backend.service.name: backend Service `api` is built by no target in namespace ns"),
            ]
        );
    }

    #[test]
    fn network_policy_must_select_pods() {
        let policy = |name: &str, selector: Value| {
            json!({"apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy", "metadata": {"name": name, "namespace": "ns"},
            "spec": {"podSelector": selector,
                "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "gone"}}}]}]}})
        };
        let found = messages(&cluster(vec![
            deployment("web", 1),
            policy("all", json!({})),
            policy("none", json!({"matchLabels": {"app": "api"}})),
        ]));
        assert_eq!(
            found,
            [
                "NetworkPolicy/ns/all spec.ingress[0].from[0].podSelector: rule peer `app=gone` selects no pod in namespace ns",
                "NetworkPolicy/ns/none spec.podSelector: podSelector `app=api` selects no pod in namespace ns",
                "NetworkPolicy/ns/none spec.ingress[0].from[0].podSelector: rule peer `app=gone` selects no pod in namespace ns",
            ]
        );
    }

    #[test]
    fn keys_read_under_a_folder() {
        let text = "x=$(cat /run/s/root-password) y=/run/s/user /run/sx/no";
        let keys: Vec<String> = keys_read(text, "/run/s").into_iter().collect();
        assert_eq!(keys, ["root-password", "user"]);
    }

    #[test]
    fn keys_read_under_every_folder_at_once_agree_with_one_at_a_time() {
        let dirs = ["/run/s", "/run", "/a", "", "/run/s/x", "/é"];
        for text in [
            "x=$(cat /run/s/root-password) y=/run/s/user /run/sx/no /run/s/x/deep",
            "/a/a/x /a//a/y //z /é/k /run/s/",
            "/a/a/a/a/x",
            "no slash at all",
            "é/é/ü/run/s/p",
        ] {
            let all = keys_read_under(text, &dirs);
            for dir in dirs {
                assert_eq!(all[dir], keys_read(text, dir), "{dir:?} in {text:?}");
            }
        }
    }
}
