//! Check stage, admission: Pod Security. The API server's PodSecurity admission applies
//! the level a namespace enforces (`pod-security.kubernetes.io/enforce`; `privileged`
//! when unlabelled) to every pod, and to the pod template of every workload: `baseline`
//! forbids the known privilege escalations, `restricted` adds the hardening rules.

use crate::check::cluster::{Cluster, Placed, containers};
use crate::check::value::Value;
use crate::check::{Family, Finding, join};

/// Namespace label of the Pod Security level the API server enforces.
pub const ENFORCE_LABEL: &str = "pod-security.kubernetes.io/enforce";

/// A Pod Security Standards level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Privileged,
    Baseline,
    Restricted,
}

impl Level {
    /// The level a namespace enforces.
    pub fn of(cluster: &Cluster, namespace: &str) -> Level {
        match cluster
            .namespaces
            .get(namespace)
            .and_then(|l| l.get(ENFORCE_LABEL))
        {
            Some(level) if level == "restricted" => Level::Restricted,
            Some(level) if level == "baseline" => Level::Baseline,
            _ => Level::Privileged,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Level::Privileged => "privileged",
            Level::Baseline => "baseline",
            Level::Restricted => "restricted",
        }
    }
}

/// Volume types the restricted profile admits.
const RESTRICTED_VOLUMES: [&str; 8] = [
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

/// Sysctls the baseline profile admits.
const SAFE_SYSCTLS: [&str; 10] = [
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
];

/// Capabilities the baseline profile lets a container add.
const BASELINE_CAPABILITIES: [&str; 13] = [
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

const SELINUX_TYPES: [&str; 4] = [
    "container_t",
    "container_init_t",
    "container_kvm_t",
    "container_engine_t",
];

/// The namespace's level on one pod spec (at field path `base` of `placed`).
pub fn check(level: Level, placed: &Placed, base: &str, spec: &Value, out: &mut Vec<Finding>) {
    if level == Level::Privileged {
        return;
    }
    let restricted = level == Level::Restricted;
    let mut violation = |field: String, rule: &str| {
        out.push(Finding::new(
            Family::Admission,
            placed,
            field,
            format!(
                "Pod Security `{}` (enforced on namespace {}): {rule}",
                level.as_str(),
                placed.namespace()
            ),
        ));
    };
    for host in ["hostNetwork", "hostPID", "hostIPC"] {
        if spec[host].as_bool() == Some(true) {
            violation(join(base, host), "host namespaces are not allowed");
        }
    }
    for (i, volume) in spec["volumes"].as_array().into_iter().flatten().enumerate() {
        for key in volume.as_object().into_iter().flatten().map(|(k, _)| k) {
            let allowed = if restricted {
                key == "name" || RESTRICTED_VOLUMES.contains(&key)
            } else {
                key != "hostPath"
            };
            if !allowed {
                violation(
                    format!("{base}.volumes[{i}].{key}"),
                    &format!("volume type `{key}` is not allowed"),
                );
            }
        }
    }
    let pod = &spec["securityContext"];
    for (i, sysctl) in pod["sysctls"].as_array().into_iter().flatten().enumerate() {
        let name = sysctl["name"].as_str().unwrap_or_default();
        if !SAFE_SYSCTLS.contains(&name) {
            violation(
                format!("{base}.securityContext.sysctls[{i}].name"),
                &format!("sysctl `{name}` is not allowed"),
            );
        }
    }
    let pod_field = join(base, "securityContext");
    common_security(restricted, &pod_field, pod, &mut violation);
    let pod_non_root = pod["runAsNonRoot"].as_bool() == Some(true);
    let pod_seccomp = seccomp_confined(pod);
    for (path, container) in containers(spec) {
        let field = format!("{base}.{path}.securityContext");
        let context = &container["securityContext"];
        common_security(restricted, &field, context, &mut violation);
        if context["privileged"].as_bool() == Some(true) {
            violation(
                join(&field, "privileged"),
                "privileged containers are not allowed",
            );
        }
        let capabilities = &context["capabilities"];
        for (i, added) in capabilities["add"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let name = added.as_str().unwrap_or_default();
            if restricted && name != "NET_BIND_SERVICE" {
                violation(
                    format!("{field}.capabilities.add[{i}]"),
                    &format!("capability `{name}` may not be added (only NET_BIND_SERVICE)"),
                );
            } else if !BASELINE_CAPABILITIES.contains(&name) {
                violation(
                    format!("{field}.capabilities.add[{i}]"),
                    &format!("capability `{name}` may not be added"),
                );
            }
        }
        if context["procMount"]
            .as_str()
            .is_some_and(|p| p != "Default")
        {
            violation(join(&field, "procMount"), "procMount must be Default");
        }
        for (i, port) in container["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            if port["hostPort"].as_i64().is_some_and(|p| p != 0) {
                violation(
                    format!("{base}.{path}.ports[{i}].hostPort"),
                    "host ports are not allowed",
                );
            }
        }
        if !restricted {
            continue;
        }
        match context["runAsNonRoot"].as_bool() {
            Some(false) => violation(join(&field, "runAsNonRoot"), "runAsNonRoot must be true"),
            None if !pod_non_root => violation(
                join(&field, "runAsNonRoot"),
                "runAsNonRoot must be true (here or in the pod's securityContext)",
            ),
            _ => {}
        }
        if context["seccompProfile"].is_null() && !pod_seccomp {
            violation(
                join(&field, "seccompProfile.type"),
                "seccompProfile must be RuntimeDefault or Localhost (here or in the pod's securityContext)",
            );
        }
        if context["allowPrivilegeEscalation"].as_bool() != Some(false) {
            violation(
                join(&field, "allowPrivilegeEscalation"),
                "allowPrivilegeEscalation must be false",
            );
        }
        let drops_all = capabilities["drop"]
            .as_array()
            .is_some_and(|d| d.iter().any(|c| c.as_str() == Some("ALL")));
        if !drops_all {
            violation(
                join(&field, "capabilities.drop"),
                "capabilities.drop must contain ALL",
            );
        }
    }
}

/// Rules that hold alike for the pod's and each container's securityContext.
fn common_security(
    restricted: bool,
    field: &str,
    context: &Value,
    violation: &mut dyn FnMut(String, &str),
) {
    if restricted && context["runAsUser"].as_i64() == Some(0) {
        violation(join(field, "runAsUser"), "runAsUser must not be 0 (root)");
    }
    let seccomp = context["seccompProfile"]["type"].as_str();
    if restricted && !context["seccompProfile"].is_null() && !seccomp_confined(context) {
        violation(
            join(field, "seccompProfile.type"),
            "seccompProfile must be RuntimeDefault or Localhost",
        );
    } else if seccomp == Some("Unconfined") {
        violation(
            join(field, "seccompProfile.type"),
            "seccompProfile must not be Unconfined",
        );
    }
    if context["appArmorProfile"]["type"].as_str() == Some("Unconfined") {
        violation(
            join(field, "appArmorProfile.type"),
            "appArmorProfile must not be Unconfined",
        );
    }
    if context["windowsOptions"]["hostProcess"].as_bool() == Some(true) {
        violation(
            join(field, "windowsOptions.hostProcess"),
            "host processes are not allowed",
        );
    }
    let selinux = &context["seLinuxOptions"];
    if let Some(kind) = selinux["type"].as_str()
        && !kind.is_empty()
        && !SELINUX_TYPES.contains(&kind)
    {
        violation(
            join(field, "seLinuxOptions.type"),
            "this SELinux type is not allowed",
        );
    }
    for key in ["user", "role"] {
        if selinux[key].as_str().is_some_and(|v| !v.is_empty()) {
            violation(
                format!("{field}.seLinuxOptions.{key}"),
                "custom SELinux users and roles are not allowed",
            );
        }
    }
}

fn seccomp_confined(context: &Value) -> bool {
    matches!(
        context["seccompProfile"]["type"].as_str(),
        Some("RuntimeDefault" | "Localhost")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::value::json;

    fn findings(level: Level, spec: Value) -> Vec<String> {
        let placed = Placed::first(
            "t",
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "web", "namespace": "ns"}}),
        );
        let mut out = Vec::new();
        check(level, &placed, "spec.template.spec", &spec, &mut out);
        let mut found: Vec<String> = out
            .into_iter()
            .map(|f| format!("{}: {}", f.field, f.message))
            .collect();
        found.sort();
        found
    }

    #[test]
    fn restricted_adds_hardening_to_baseline() {
        let hardened = json!({"name": "web", "image": "web:1",
            "securityContext": {"allowPrivilegeEscalation": false, "runAsNonRoot": true,
                "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}});
        let loose = json!({"name": "side", "image": "side:1",
            "securityContext": {"runAsUser": 0, "capabilities": {"add": ["SYS_ADMIN"]}},
            "ports": [{"containerPort": 80, "hostPort": 80}]});
        let spec = json!({"containers": [hardened, loose],
            "volumes": [{"name": "logs", "hostPath": {"path": "/var/log"}}]});
        let s = "spec.template.spec";
        let rule = |level: &str, r: &str| {
            format!("Pod Security `{level}` (enforced on namespace ns): {r}")
        };
        assert_eq!(
            findings(Level::Restricted, spec.clone()),
            [
                format!(
                    "{s}.containers[1].ports[0].hostPort: {}",
                    rule("restricted", "host ports are not allowed")
                ),
                format!(
                    "{s}.containers[1].securityContext.allowPrivilegeEscalation: {}",
                    rule("restricted", "allowPrivilegeEscalation must be false")
                ),
                format!(
                    "{s}.containers[1].securityContext.capabilities.add[0]: {}",
                    rule(
                        "restricted",
                        "capability `SYS_ADMIN` may not be added (only NET_BIND_SERVICE)"
                    )
                ),
                format!(
                    "{s}.containers[1].securityContext.capabilities.drop: {}",
                    rule("restricted", "capabilities.drop must contain ALL")
                ),
                format!(
                    "{s}.containers[1].securityContext.runAsNonRoot: {}",
                    rule(
                        "restricted",
                        "runAsNonRoot must be true (here or in the pod's securityContext)"
                    )
                ),
                format!(
                    "{s}.containers[1].securityContext.runAsUser: {}",
                    rule("restricted", "runAsUser must not be 0 (root)")
                ),
                format!(
                    "{s}.containers[1].securityContext.seccompProfile.type: {}",
                    rule(
                        "restricted",
                        "seccompProfile must be RuntimeDefault or Localhost (here or in the pod's securityContext)"
                    )
                ),
                format!(
                    "{s}.volumes[0].hostPath: {}",
                    rule("restricted", "volume type `hostPath` is not allowed")
                ),
            ]
        );
        // Baseline: only the escalations (root and missing hardening are fine).
        assert_eq!(
            findings(Level::Baseline, spec.clone()),
            [
                format!(
                    "{s}.containers[1].ports[0].hostPort: {}",
                    rule("baseline", "host ports are not allowed")
                ),
                format!(
                    "{s}.containers[1].securityContext.capabilities.add[0]: {}",
                    rule("baseline", "capability `SYS_ADMIN` may not be added")
                ),
                format!(
                    "{s}.volumes[0].hostPath: {}",
                    rule("baseline", "volume type `hostPath` is not allowed")
                ),
            ]
        );
        assert!(findings(Level::Privileged, spec).is_empty());
    }
}
