//! Check stage, policy: rules every rendered object must follow — pinned images (except
//! in environments that allow unpinned ones), requests within limits, no credentials in
//! objects, and a NetworkPolicy of its own for every workload. (Pod Security, which the
//! API server enforces, is an admission check.)

use super::cluster::{Cluster, Labels, Placed, Workload};
use super::{Family, Finding, join};
use crate::check::value::Value;
use crate::scalar::Quantity;
use std::collections::{BTreeSet, HashSet};
use std::fmt::Write as _;

/// Findings of every policy check for `objects`. `unpinned_allowed` holds the namespaces
/// of the environments whose descriptor sets `allowUnpinnedImages`.
pub fn check(
    cluster: &Cluster,
    objects: &[&Placed],
    unpinned_allowed: &BTreeSet<&str>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for placed in objects {
        let opaque = placed.group().is_empty() && matches!(placed.kind(), "ConfigMap" | "Secret");
        if !opaque {
            let pinned = !unpinned_allowed.contains(placed.namespace());
            visit(
                &placed.object,
                &mut String::new(),
                &mut |path, key, value| {
                    if pinned && key == "image" {
                        image(placed, path, value, &mut out);
                    }
                    if key == "resources" {
                        resources(placed, path, value, &mut out);
                    }
                    if key == "env" {
                        environment(placed, path, value, &mut out);
                    }
                    if key == "command" || key == "args" {
                        arguments(placed, path, value, &mut out);
                    }
                },
            );
        }
        secret_literal(placed, &mut out);
    }
    let checked: HashSet<usize> = objects.iter().filter_map(|o| cluster.index_of(o)).collect();
    let isolated = Isolation::new(cluster);
    for workload in &cluster.workloads {
        if !checked.contains(&workload.object) {
            continue;
        }
        let placed = &cluster.objects[workload.object];
        isolated.check(cluster, placed, workload, &mut out);
    }
    out
}

/// Calls `f(path, key, value)` for every value under `value` that sits at a mapping key,
/// skipping `metadata` (labels and annotations hold no such settings).
fn visit(value: &Value, path: &mut String, f: &mut dyn FnMut(&str, &str, &Value)) {
    // One path buffer for the whole walk: pushed on the way down, cut on the way up.
    let len = path.len();
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                if len == 0 && key == "metadata" {
                    continue;
                }
                if len > 0 {
                    path.push('.');
                }
                path.push_str(key);
                f(path, key, child);
                visit(child, path, f);
                path.truncate(len);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                let _ = write!(path, "[{i}]");
                visit(child, path, f);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// Why an image reference is not pinned, if it is not: no tag, or `latest`.
pub fn unpinned(image: &str) -> Option<&'static str> {
    if image.contains('@') {
        return None;
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        None => Some("has no tag (so it runs `latest`)"),
        Some((_, "latest")) => Some("has the tag `latest`"),
        Some(_) => None,
    }
}

fn image(placed: &Placed, path: &str, value: &Value, out: &mut Vec<Finding>) {
    let Some(image) = value.as_str() else {
        return;
    };
    if let Some(why) = unpinned(image) {
        out.push(Finding::new(
            Family::Policy,
            placed,
            path,
            format!(
                "image `{image}` {why}: pin a version (only an environment with \
                 `allowUnpinnedImages: true` runs unpinned images)"
            ),
        ));
    }
}

/// Every request of a `resources` block is within its limit.
fn resources(placed: &Placed, path: &str, value: &Value, out: &mut Vec<Finding>) {
    let (Some(requests), Some(limits)) =
        (value["requests"].as_object(), value["limits"].as_object())
    else {
        return;
    };
    for (resource, request) in requests {
        let Some(limit) = limits.get(resource) else {
            continue;
        };
        let (Some(request), Some(limit)) = (quantity(request), quantity(limit)) else {
            continue;
        };
        if request.value() > limit.value() {
            out.push(Finding::new(
                Family::Policy,
                placed,
                format!("{path}.requests.{resource}"),
                format!(
                    "request {resource} {} is above its limit {}",
                    request.as_str(),
                    limit.as_str()
                ),
            ));
        }
    }
}

fn quantity(value: &Value) -> Option<Quantity> {
    match value {
        Value::String(text) => Quantity::parse(text).ok(),
        Value::Number(n) => Quantity::parse(&n.to_string()).ok(),
        _ => None,
    }
}

/// A core `Secret` with literal content: secrets come from the vault through
/// ExternalSecrets, never from the repository.
fn secret_literal(placed: &Placed, out: &mut Vec<Finding>) {
    if !(placed.group().is_empty() && placed.kind() == "Secret") {
        return;
    }
    for field in ["data", "stringData"] {
        if let Some(map) = placed.object[field].as_object().filter(|m| !m.is_empty()) {
            let keys: Vec<&str> = map.keys().collect();
            out.push(Finding::new(
                Family::Policy,
                placed,
                field,
                format!(
                    "Secret carries literal {field} (keys: {}): deliver it through an ExternalSecret",
                    keys.join(", ")
                ),
            ));
        }
    }
}

/// Words that make a variable or option name a credential's.
const CREDENTIAL_WORDS: [&str; 11] = [
    "PASSWORD",
    "PASSWD",
    "PASS",
    "PWD",
    "SECRET",
    "TOKEN",
    "KEY",
    "APIKEY",
    "CREDENTIAL",
    "CREDENTIALS",
    "PRIVATEKEY",
];

/// Last words that make a name a path to a credential, not the credential itself
/// (`MYSQL_PASSWORD_FILE`, `GF_SECURITY_ADMIN_PASSWORD__FILE`).
const PATH_WORDS: [&str; 4] = ["FILE", "FILES", "PATH", "DIR"];

/// Whether an environment variable's name says it holds a credential.
pub fn credential_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    let words: Vec<&str> = upper
        .split(['_', '-', '.'])
        .filter(|w| !w.is_empty())
        .collect();
    if words.last().is_some_and(|w| PATH_WORDS.contains(w)) {
        return false;
    }
    words.iter().any(|w| CREDENTIAL_WORDS.contains(w))
}

/// Whether a value only refers to something else: empty, `$(VAR)`, `$VAR`, `${VAR}`,
/// `$(cat file)`, or a `printf` placeholder.
fn reference(value: &str) -> bool {
    let value = value.trim_start_matches(['"', '\'']);
    value.is_empty()
        || value.starts_with('$')
        || value.starts_with('%')
        || value.starts_with(char::is_whitespace)
}

fn environment(placed: &Placed, path: &str, value: &Value, out: &mut Vec<Finding>) {
    for (i, variable) in value.as_array().into_iter().flatten().enumerate() {
        let (Some(name), Some(literal)) = (variable["name"].as_str(), variable["value"].as_str())
        else {
            continue;
        };
        if credential_name(name) && !reference(literal) {
            out.push(Finding::new(
                Family::Policy,
                placed,
                format!("{path}[{i}].value"),
                format!(
                    "environment variable `{name}` holds a literal credential: take it from a \
                     Secret (valueFrom.secretKeyRef) or a mounted file"
                ),
            ));
        }
    }
}

/// `name=` forms in arguments and scripts that pass a credential.
const CREDENTIAL_ASSIGNMENTS: [&str; 10] = [
    "password=",
    "passwd=",
    "pass=",
    "token=",
    "apikey=",
    "api-key=",
    "api_key=",
    "secret-key=",
    "secret_key=",
    "access_key=",
];

/// Options whose next argument is a credential (`--requirepass X`, `--password X`).
fn credential_option(argument: &str) -> bool {
    let Some(option) = argument.strip_prefix("--") else {
        return false;
    };
    let option = option.to_ascii_lowercase();
    ["pass", "password", "passwd", "token", "apikey", "api-key"]
        .iter()
        .any(|word| option.ends_with(word))
}

fn arguments(placed: &Placed, path: &str, value: &Value, out: &mut Vec<Finding>) {
    let Some(list) = value.as_array() else {
        return;
    };
    let mut literal = |i: usize, shown: &str| {
        out.push(Finding::new(
            Family::Policy,
            placed,
            format!("{path}[{i}]"),
            format!(
                "passes a literal credential (`{shown}…`): read it from a Secret (an environment \
                 variable or a mounted file)"
            ),
        ));
    };
    for (i, argument) in list.iter().enumerate() {
        let Some(text) = argument.as_str() else {
            continue;
        };
        let lower = text.to_ascii_lowercase();
        for word in CREDENTIAL_ASSIGNMENTS {
            let mut from = 0;
            while let Some(at) = lower[from..].find(word) {
                let start = from + at;
                let end = start + word.len();
                let preceded = lower[..start].chars().next_back();
                let whole_word = preceded.is_none_or(|c| !c.is_ascii_alphanumeric());
                if whole_word && !reference(&text[end..]) {
                    literal(i, &text[start..end]);
                }
                from = end;
            }
        }
        if credential_option(text)
            && let Some(next) = list.get(i + 1).and_then(Value::as_str)
            && !reference(next)
            && !next.starts_with('-')
        {
            literal(i + 1, text);
        }
    }
}

/// Which workloads a NetworkPolicy of their own selects, computed once from the
/// policies' side (each policy's selected workloads come from the label index).
struct Isolation {
    /// Objects (indexes into the cluster) of the workloads some policy names.
    named: HashSet<usize>,
}

impl Isolation {
    fn new(cluster: &Cluster) -> Isolation {
        let mut named = HashSet::new();
        let namespaces: HashSet<&str> = cluster
            .workloads
            .iter()
            .map(|w| w.namespace.as_str())
            .collect();
        for ns in namespaces {
            for policy in cluster.find("networking.k8s.io", "NetworkPolicy", ns) {
                let selector = &policy.object["spec"]["podSelector"];
                if selector_is_empty(selector) {
                    continue;
                }
                named.extend(cluster.selected_workloads(ns, selector).map(|w| w.object));
            }
        }
        Isolation { named }
    }

    /// Every workload's pods are selected by a NetworkPolicy that names them: policies
    /// that select every pod of the namespace (default deny, DNS) do not say what the
    /// workload needs.
    fn check(
        &self,
        cluster: &Cluster,
        placed: &Placed,
        workload: &Workload,
        out: &mut Vec<Finding>,
    ) {
        if !self.named.contains(&workload.object) {
            network_isolation(cluster, placed, workload, out);
        }
    }
}

/// The finding of a workload no policy of its own selects.
fn network_isolation(
    cluster: &Cluster,
    placed: &Placed,
    workload: &Workload,
    out: &mut Vec<Finding>,
) {
    let ns = workload.namespace.as_str();
    let policies: Vec<&Placed> = cluster
        .find("networking.k8s.io", "NetworkPolicy", ns)
        .collect();
    let field = match workload.template {
        Some(template) => join(template.path, "metadata.labels"),
        None => String::new(),
    };
    let message = if policies.is_empty() {
        format!(
            "no NetworkPolicy in namespace {ns} selects its pods ({}): their traffic is unrestricted",
            labels_text(&workload.labels)
        )
    } else {
        let names: Vec<&str> = policies.iter().map(|p| p.name()).collect();
        format!(
            "no NetworkPolicy of its own selects its pods ({}); namespace {ns} has only {}",
            labels_text(&workload.labels),
            names.join(", ")
        )
    };
    out.push(Finding::new(Family::Policy, placed, field, message));
}

fn selector_is_empty(selector: &Value) -> bool {
    selector.as_object().is_none_or(|s| {
        s.values().all(|v| {
            v.as_object().is_some_and(|m| m.is_empty())
                || v.as_array().is_some_and(|a| a.is_empty())
        })
    })
}

/// The label that names a pod group (`app`, else `app.kubernetes.io/name`), or all.
fn labels_text(labels: &Labels) -> String {
    let naming = ["app", "app.kubernetes.io/name"]
        .into_iter()
        .find_map(|key| labels.get(key).map(|value| format!("{key}={value}")));
    match naming {
        Some(text) => text,
        None => labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(","),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::cluster::Placed;
    use crate::check::value::json;

    fn findings(objects: Vec<Value>) -> Vec<String> {
        findings_allowing(objects, &[])
    }

    /// The findings, with unpinned images allowed in the namespaces `unpinned`.
    fn findings_allowing(objects: Vec<Value>, unpinned: &[&str]) -> Vec<String> {
        let cluster = Cluster::new(
            objects
                .into_iter()
                .enumerate()
                .map(|(i, o)| Placed::new("t", 0, i, o))
                .collect(),
        );
        let all: Vec<&Placed> = cluster.objects.iter().collect();
        let allowed = unpinned.iter().copied().collect();
        let mut found: Vec<(String, String)> = check(&cluster, &all, &allowed)
            .into_iter()
            .map(|f| (f.field, f.message))
            .collect();
        // The report's order is by field; the checks' own order is the objects' key order.
        found.sort();
        found
            .into_iter()
            .map(|(field, message)| format!("{field}: {message}"))
            .collect()
    }

    fn own_policy(app: &str) -> Value {
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": format!("{app}-traffic"), "namespace": "ns"},
            "spec": {"podSelector": {"matchLabels": {"app": app}}, "policyTypes": ["Ingress"]}})
    }

    fn deployment(container: Value) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "ns"},
            "spec": {"template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [container]}}}})
    }

    #[test]
    fn unpinned_images() {
        assert_eq!(unpinned("redis"), Some("has no tag (so it runs `latest`)"));
        assert_eq!(
            unpinned("registry:5000/team/app"),
            Some("has no tag (so it runs `latest`)")
        );
        assert_eq!(unpinned("quay.io/x/y:latest"), Some("has the tag `latest`"));
        assert_eq!(unpinned("registry:5000/app:1.2"), None);
        assert_eq!(unpinned("app@sha256:abc"), None);
    }

    #[test]
    fn request_above_limit_is_found() {
        let web = deployment(json!({"name": "web", "image": "web:1",
            "resources": {"requests": {"cpu": "2", "memory": "1Gi"},
                          "limits": {"cpu": "500m", "memory": "1Gi"}}}));
        assert_eq!(
            findings(vec![web, own_policy("web")]),
            [
                "spec.template.spec.containers[0].resources.requests.cpu: request cpu 2 is above its limit 500m"
            ]
        );
    }

    #[test]
    fn literal_secret_is_found() {
        let secret = json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "db", "namespace": "ns"},
            "stringData": {"password": "hunter2"}});
        assert_eq!(
            findings(vec![secret]),
            [
                "stringData: Secret carries literal stringData (keys: password): deliver it through an ExternalSecret"
            ]
        );
    }

    #[test]
    fn literal_credentials_in_environment_and_arguments_are_found() {
        let web = deployment(json!({"name": "web", "image": "web:1",
            "env": [
                {"name": "DB_PASSWORD", "value": "hunter2"},
                {"name": "MYSQL_PASSWORD_FILE", "value": "/run/secrets/db/password"},
                {"name": "API_TOKEN", "value": "$(TOKEN)"},
                {"name": "LOG_LEVEL", "value": "debug"},
            ],
            "command": ["redis-server", "--requirepass", "hunter2"],
            "args": ["--user=root", "--password=\"$(cat /run/secrets/p)\"",
                     "printf 'password=%s' x", "mysql -u root --password=hunter2"]}));
        let found = findings(vec![web, own_policy("web")]);
        let c = "spec.template.spec.containers[0]";
        assert_eq!(
            found,
            [
                format!(
                    "{c}.args[3]: passes a literal credential (`password=…`): read it from a Secret (an environment variable or a mounted file)"
                ),
                format!(
                    "{c}.command[2]: passes a literal credential (`--requirepass…`): read it from a Secret (an environment variable or a mounted file)"
                ),
                format!(
                    "{c}.env[0].value: environment variable `DB_PASSWORD` holds a literal credential: take it from a Secret (valueFrom.secretKeyRef) or a mounted file"
                ),
            ]
        );
    }

    #[test]
    fn credential_names() {
        assert!(credential_name("DB_PASSWORD"));
        assert!(credential_name("APP_KEY"));
        assert!(credential_name("slack-api-token"));
        assert!(!credential_name("GF_SECURITY_ADMIN_PASSWORD__FILE"));
        assert!(!credential_name("MINIO_PROMETHEUS_AUTH_TYPE"));
        assert!(!credential_name("KEYCLOAK_URL"));
    }

    #[test]
    fn latest_images_only_where_the_environment_allows_them() {
        let web = deployment(json!({"name": "web", "image": "web:latest"}));
        let objects = vec![web, own_policy("web")];
        assert!(findings_allowing(objects.clone(), &["ns"]).is_empty());
        assert_eq!(
            findings_allowing(objects, &["other"]),
            [
                "spec.template.spec.containers[0].image: image `web:latest` has the tag `latest`: pin a version (only an environment with `allowUnpinnedImages: true` runs unpinned images)"
            ]
        );
    }

    #[test]
    fn workload_without_a_policy_of_its_own_is_found() {
        let web = deployment(json!({"name": "web", "image": "web:1"}));
        let deny = json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "default-deny-all", "namespace": "ns"},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}});
        assert_eq!(
            findings(vec![web.clone(), deny.clone()]),
            [
                "spec.template.metadata.labels: no NetworkPolicy of its own selects its pods (app=web); namespace ns has only default-deny-all"
            ]
        );
        assert!(findings(vec![web, deny, own_policy("web")]).is_empty());
    }
}
