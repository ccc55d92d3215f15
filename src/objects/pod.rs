//! Objects stage: pieces every pod spec of the platform shares (hardening, probes,
//! volumes, environment variables).

use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMapVolumeSource, Container, EmptyDirVolumeSource, EnvVar, EnvVarSource,
    ExecAction, HTTPGetAction, KeyToPath, PodSecurityContext, PodSpec, PodTemplateSpec, Probe,
    ResourceRequirements, SeccompProfile, SecretKeySelector, SecretVolumeSource, SecurityContext,
    TCPSocketAction, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::collections::BTreeMap;

use crate::descriptor::{ResourceList, Resources};

/// Pod-level security context that satisfies Pod Security `restricted`.
pub fn pod_security(uid: i64) -> PodSecurityContext {
    PodSecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(uid),
        run_as_group: Some(uid),
        fs_group: Some(uid),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Container-level security context that satisfies Pod Security `restricted`,
/// with a read-only root filesystem (writable paths are emptyDir volumes).
pub fn container_security(uid: i64) -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".into()]),
            ..Default::default()
        }),
        privileged: Some(false),
        read_only_root_filesystem: Some(true),
        run_as_non_root: Some(true),
        run_as_user: Some(uid),
        run_as_group: Some(uid),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn resources(resources: &Resources) -> ResourceRequirements {
    ResourceRequirements {
        requests: Some(resource_list(&resources.requests)),
        limits: Some(resource_list(&resources.limits)),
        ..Default::default()
    }
}

pub fn resource_list(list: &ResourceList) -> BTreeMap<String, Quantity> {
    BTreeMap::from([
        ("cpu".to_owned(), Quantity(list.cpu.to_string())),
        ("memory".to_owned(), Quantity(list.memory.to_string())),
    ])
}

pub fn http_probe(path: &str, port: &str, initial_delay: i32, period: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::String(port.into()),
            ..Default::default()
        }),
        initial_delay_seconds: Some(initial_delay),
        period_seconds: Some(period),
        ..Default::default()
    }
}

pub fn exec_probe(command: &[&str], initial_delay: i32, period: i32) -> Probe {
    Probe {
        exec: Some(ExecAction {
            command: Some(command.iter().map(|s| s.to_string()).collect()),
        }),
        initial_delay_seconds: Some(initial_delay),
        period_seconds: Some(period),
        ..Default::default()
    }
}

pub fn tcp_probe(port: &str, initial_delay: i32, period: i32) -> Probe {
    Probe {
        tcp_socket: Some(TCPSocketAction {
            port: IntOrString::String(port.into()),
            ..Default::default()
        }),
        initial_delay_seconds: Some(initial_delay),
        period_seconds: Some(period),
        ..Default::default()
    }
}

pub fn env(name: &str, value: impl Into<String>) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: Some(value.into()),
        ..Default::default()
    }
}

pub fn secret_env(name: &str, secret: &str, key: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: secret.into(),
                key: key.into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn empty_dir(name: &str) -> Volume {
    Volume {
        name: name.into(),
        empty_dir: Some(EmptyDirVolumeSource::default()),
        ..Default::default()
    }
}

pub fn config_map_volume(name: &str, config_map: &str) -> Volume {
    Volume {
        name: name.into(),
        config_map: Some(ConfigMapVolumeSource {
            name: config_map.into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn secret_volume(name: &str, secret: &str) -> Volume {
    Volume {
        name: name.into(),
        secret: Some(SecretVolumeSource {
            secret_name: Some(secret.into()),
            default_mode: Some(0o400),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A secret volume holding only the given keys (each a file named after it): a pod
/// that needs one credential of a secret does not see the others.
pub fn secret_items_volume(name: &str, secret: &str, keys: &[&str]) -> Volume {
    let mut volume = secret_volume(name, secret);
    if let Some(source) = volume.secret.as_mut() {
        source.items = Some(
            keys.iter()
                .map(|key| KeyToPath {
                    key: (*key).into(),
                    path: (*key).into(),
                    ..Default::default()
                })
                .collect(),
        );
    }
    volume
}

pub fn mount(name: &str, path: &str, read_only: bool) -> VolumeMount {
    VolumeMount {
        name: name.into(),
        mount_path: path.into(),
        read_only: read_only.then_some(true),
        ..Default::default()
    }
}

/// A hardened container: image always pulled, restricted security context.
pub fn container(name: &str, image: &str, uid: i64) -> Container {
    Container {
        name: name.into(),
        image: Some(image.into()),
        image_pull_policy: Some("Always".into()),
        security_context: Some(container_security(uid)),
        ..Default::default()
    }
}

/// A checkov check a workload knowingly does not meet, with the reason (see SECURITY.md).
pub type Exception = (&'static str, &'static str);

/// Images are pinned by tag in the descriptors, not by digest.
pub const TAG_PINNED: Exception = (
    "CKV_K8S_43",
    "images are pinned by tag in the descriptors and retagged by the release step; digests are not tracked",
);

/// The program reads its credentials from environment variables only.
pub const SECRET_IN_ENV: Exception = (
    "CKV_K8S_35",
    "the program reads these credentials from environment variables only; values come from an ExternalSecret",
);

/// `checkov.io/skipN` annotations for the given exceptions.
pub fn exceptions(list: &[Exception]) -> BTreeMap<String, String> {
    list.iter()
        .enumerate()
        .map(|(i, (check, reason))| {
            (
                format!("checkov.io/skip{}", i + 1),
                format!("{check}={reason}"),
            )
        })
        .collect()
}

/// A pod spec every platform pod starts from: no service account token, the restricted
/// pod security context, its containers and volumes.
pub fn spec(uid: i64, containers: Vec<Container>, volumes: Vec<Volume>) -> PodSpec {
    PodSpec {
        automount_service_account_token: Some(false),
        security_context: Some(pod_security(uid)),
        containers,
        volumes: Some(volumes),
        ..Default::default()
    }
}

/// A pod template: the pods carry their workload's labels.
pub fn template(labels: &BTreeMap<String, String>, spec: PodSpec) -> PodTemplateSpec {
    PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(labels.clone()),
            ..Default::default()
        }),
        spec: Some(spec),
    }
}
