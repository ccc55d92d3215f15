//! Objects stage: what one environment changes, as kustomize patches (partial objects
//! merged into the base) and the environment's own resources.

use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec, MetricSpec,
    MetricTarget, ResourceMetricSource,
};
use k8s_openapi::api::core::v1::{
    LimitRange, LimitRangeItem, LimitRangeSpec, PersistentVolumeClaim, PersistentVolumeClaimSpec,
    ResourceQuota, ResourceQuotaSpec, VolumeResourceRequirements,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::{Value, json};
use std::collections::BTreeMap;

use super::data::{MINIO, MINIO_DATA, MYSQL_DATA, REDIS, REDIS_DATA};
use super::pod;
use super::workloads::{GLOBAL_CONFIG, selector};
use crate::descriptor::{Catalog, EnvironmentFile, PointInTime, Scale};
use crate::model::DatabaseView;
use crate::object::{Object, labels, meta, object};

/// A strategic merge patch of the base object `kind`/`name`.
fn patch(api_version: &str, kind: &str, name: &str, body: Value) -> Object {
    let mut patch = json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": name}});
    if let (Value::Object(p), Value::Object(b)) = (&mut patch, body) {
        for (key, value) in b {
            match (p.get_mut(&key), value) {
                (Some(Value::Object(existing)), Value::Object(more)) => existing.extend(more),
                (_, value) => {
                    p.insert(key, value);
                }
            }
        }
    }
    patch
}

fn deployment_patch(name: &str, spec: Value) -> Object {
    patch("apps/v1", "Deployment", name, json!({"spec": spec}))
}

/// Pod Security admission labels and the environment's name on its namespace.
pub fn namespace_patch(catalog: &Catalog, env: &EnvironmentFile) -> Object {
    let level = env.pod_security.as_str();
    patch(
        "v1",
        "Namespace",
        catalog.platform.name.as_str(),
        json!({"metadata": {"labels": {
            "environment": env.name.as_str(),
            "pod-security.kubernetes.io/enforce": level,
            "pod-security.kubernetes.io/audit": level,
            "pod-security.kubernetes.io/warn": level,
        }}}),
    )
}

/// The environment's entries of `global-config` (APP_ENV, LOG_LEVEL, ...), and the
/// RabbitMQ virtual host every service of the environment uses.
pub fn environment_config(env: &EnvironmentFile) -> Object {
    let mut data = env.config.clone();
    data.insert(
        "RABBITMQ_VHOST".into(),
        super::messaging::vhost_name(env).into(),
    );
    patch("v1", "ConfigMap", GLOBAL_CONFIG, json!({"data": data}))
}

/// Requests and limits of one microservice container.
pub fn resource_limits(service: &str, env: &EnvironmentFile) -> Object {
    let resources = pod::resources(&env.resources);
    deployment_patch(
        service,
        json!({"template": {"spec": {"containers": [{"name": service, "resources": resources}]}}}),
    )
}

/// Replicas of one microservice: the environment's count, or none where an HPA manages it.
pub fn replica_count(service: &str, env: &EnvironmentFile) -> Object {
    let replicas = match env.autoscaling {
        Some(_) => Value::Null,
        None => json!(env.replicas),
    };
    deployment_patch(service, json!({"replicas": replicas}))
}

/// Replicas of a data-layer Deployment: one pod owning its ReadWriteOnce volume (the
/// replicated modes replace the Deployment: see `data_layer`).
pub const SINGLE_INSTANCE: i32 = 1;

/// The replica count of one data-layer Deployment (`replicas-config.yaml`).
pub fn single_instance(deployment: &str) -> Object {
    deployment_patch(deployment, json!({"replicas": SINGLE_INSTANCE}))
}

/// Volumes that move from emptyDir to a PersistentVolumeClaim in a persistent environment:
/// `(deployment, volume, claim, size)`.
pub fn data_volumes(
    catalog: &Catalog,
) -> Vec<(String, &'static str, String, &crate::scalar::Quantity)> {
    let mut volumes: Vec<_> = catalog
        .databases()
        .map(|db| {
            (
                db.deployment(),
                MYSQL_DATA,
                db.pvc(),
                &catalog.mysql.storage,
            )
        })
        .collect();
    volumes.push((
        REDIS.into(),
        REDIS_DATA,
        "redis-pvc".into(),
        &catalog.redis.storage,
    ));
    volumes.push((
        MINIO.into(),
        MINIO_DATA,
        "minio-pvc".into(),
        &catalog.minio.storage,
    ));
    volumes
}

pub fn storage_patch(deployment: &str, volume: &str, claim: &str) -> Object {
    deployment_patch(
        deployment,
        json!({"template": {"spec": {"volumes": [{
            "name": volume,
            "emptyDir": null,
            "persistentVolumeClaim": {"claimName": claim},
        }]}}}),
    )
}

/// Binary logs on in one database's MySQL (point-in-time recovery): its server options
/// with `--log-bin` instead of the base's `--skip-log-bin`.
pub fn binary_logs(catalog: &Catalog, db: &DatabaseView, pitr: &PointInTime) -> Object {
    let args = super::data::mysql_args(catalog, db, Some(pitr));
    deployment_patch(
        &db.deployment(),
        json!({"template": {"spec": {"containers": [{"name": "mysql", "args": args}]}}}),
    )
}

/// A claim whose volume is kept when the claim is deleted (`helm.sh/resource-policy`
/// style protection through ArgoCD: never pruned).
pub fn pvc(
    catalog: &Catalog,
    env: &EnvironmentFile,
    claim: &str,
    app: &str,
    size: &crate::scalar::Quantity,
) -> Object {
    let mut l = labels([
        ("app", app),
        ("app.kubernetes.io/part-of", catalog.platform.name.as_str()),
    ]);
    l.extend(catalog.platform.labels.clone());
    let mut metadata = meta(claim, &l);
    metadata.annotations = Some(labels([(
        "argocd.argoproj.io/sync-options",
        "Prune=false,Delete=false",
    )]));
    object(&PersistentVolumeClaim {
        metadata,
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".into()]),
            storage_class_name: env.storage.storage_class.as_ref().map(|c| c.to_string()),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([(
                    "storage".to_owned(),
                    Quantity(size.to_string()),
                )])),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// The bounds of one workload's autoscaler.
pub fn scale(env: &EnvironmentFile, service: &str) -> Option<Scale> {
    let a = env.autoscaling.as_ref()?;
    Some(a.services.get(service).copied().unwrap_or(a.default))
}

pub fn autoscaler(catalog: &Catalog, env: &EnvironmentFile, service: &str) -> Option<Object> {
    let a = env.autoscaling.as_ref()?;
    let bounds = scale(env, service)?;
    let metric = |name: &str, percent: i32| MetricSpec {
        type_: "Resource".into(),
        resource: Some(ResourceMetricSource {
            name: name.into(),
            target: MetricTarget {
                type_: "Utilization".into(),
                average_utilization: Some(percent),
                ..Default::default()
            },
        }),
        ..Default::default()
    };
    let l = owned_labels(catalog, service);
    Some(object(&HorizontalPodAutoscaler {
        metadata: meta(format!("{service}-hpa"), &l),
        spec: Some(HorizontalPodAutoscalerSpec {
            scale_target_ref: CrossVersionObjectReference {
                api_version: Some("apps/v1".into()),
                kind: "Deployment".into(),
                name: service.into(),
            },
            min_replicas: Some(bounds.min),
            max_replicas: bounds.max,
            metrics: Some(vec![
                metric("cpu", a.cpu_utilization.get()),
                metric("memory", a.memory_utilization.get()),
            ]),
            ..Default::default()
        }),
        ..Default::default()
    }))
}

/// A budget that keeps all but one pod at the minimum scale, so a drain always proceeds:
/// `minAvailable: 2` at min 3 (the seed's example), `maxUnavailable: 1` below that.
pub fn disruption_budget(
    catalog: &Catalog,
    env: &EnvironmentFile,
    service: &str,
) -> Option<Object> {
    let bounds = scale(env, service)?;
    let (min_available, max_unavailable) = if bounds.min >= 3 {
        (Some(IntOrString::Int(bounds.min - 1)), None)
    } else {
        (None, Some(IntOrString::Int(1)))
    };
    let l = owned_labels(catalog, service);
    Some(object(&PodDisruptionBudget {
        metadata: meta(format!("{service}-pdb"), &l),
        spec: Some(PodDisruptionBudgetSpec {
            min_available,
            max_unavailable,
            selector: Some(LabelSelector {
                match_labels: Some(selector(service)),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }))
}

/// Spread across zones, and prefer distinct nodes, for one microservice.
pub fn zone_spread(service: &str) -> Object {
    deployment_patch(
        service,
        json!({"template": {"spec": {
            "topologySpreadConstraints": [{
                "maxSkew": 1,
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": selector(service)},
            }],
            "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{
                "weight": 100,
                "podAffinityTerm": {
                    "topologyKey": "kubernetes.io/hostname",
                    "labelSelector": {"matchLabels": selector(service)},
                },
            }]}},
        }}}),
    )
}

pub fn quota(catalog: &Catalog, env: &EnvironmentFile) -> Vec<Object> {
    let q = &env.quota;
    let mut hard = BTreeMap::new();
    for (prefix, list) in [("requests", &q.requests), ("limits", &q.limits)] {
        hard.insert(format!("{prefix}.cpu"), Quantity(list.cpu.to_string()));
        hard.insert(
            format!("{prefix}.memory"),
            Quantity(list.memory.to_string()),
        );
    }
    hard.insert("pods".into(), Quantity(q.pods.to_string()));
    hard.insert(
        "persistentvolumeclaims".into(),
        Quantity(q.persistent_volume_claims.to_string()),
    );
    hard.insert("requests.storage".into(), Quantity(q.storage.to_string()));
    let mut l = labels([("app.kubernetes.io/part-of", catalog.platform.name.as_str())]);
    l.extend(catalog.platform.labels.clone());
    let lr = &env.limit_range;
    vec![
        object(&ResourceQuota {
            metadata: meta("compute-quota", &l),
            spec: Some(ResourceQuotaSpec {
                hard: Some(hard),
                ..Default::default()
            }),
            ..Default::default()
        }),
        object(&LimitRange {
            metadata: meta("container-limits", &l),
            spec: Some(LimitRangeSpec {
                limits: vec![LimitRangeItem {
                    type_: "Container".into(),
                    default: Some(pod::resource_list(&lr.default)),
                    default_request: Some(pod::resource_list(&lr.default_request)),
                    max: Some(pod::resource_list(&lr.max)),
                    ..Default::default()
                }],
            }),
        }),
    ]
}

fn owned_labels(catalog: &Catalog, app: &str) -> BTreeMap<String, String> {
    let mut l = labels([
        ("app", app),
        ("app.kubernetes.io/part-of", catalog.platform.name.as_str()),
    ]);
    l.extend(catalog.platform.labels.clone());
    l
}
