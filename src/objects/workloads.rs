//! Objects stage: the microservices (ServiceAccount, Deployment, Service each).

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{
    ClientIPConfig, ConfigMapEnvSource, Container, ContainerPort, EnvFromSource, EnvVar, PodSpec,
    Service, ServiceAccount, ServicePort, ServiceSpec, SessionAffinityConfig,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::collections::BTreeMap;

use super::pod;
use crate::descriptor::{Catalog, SessionAffinity};
use crate::model::ServiceView;
use crate::object::{Object, labels, meta, object};

pub const GLOBAL_CONFIG: &str = "global-config";
/// Configuration keys platgen sets itself (per service, or per environment in
/// `global-config`), and the settings they come from.
pub const GENERATED_CONFIG: [(&str, &str); 10] = [
    (
        "CACHE_STORE",
        "`redis` of each service and `workloads.drivers`",
    ),
    (
        "SESSION_DRIVER",
        "`redis` of each service and `workloads.drivers`",
    ),
    ("DB_CONNECTION", "`database` of each service"),
    (
        "RABBITMQ_VHOST",
        "the environment's name (its virtual host)",
    ),
    ("OTEL_SERVICE_NAME", "each service's name"),
    ("OTEL_EXPORTER_OTLP_ENDPOINT", "the Jaeger collector"),
    ("OTEL_EXPORTER_OTLP_PROTOCOL", "the Jaeger collector"),
    ("REDIS_CLUSTER", "the environment's `dataLayer.redis.mode`"),
    ("DB_READ_HOST", "the environment's `dataLayer.mysql.mode`"),
    ("DB_READ_PORT", "the environment's `dataLayer.mysql.mode`"),
];
pub const REDIS_SECRET: &str = "redis-secret";
/// MinIO's root credentials: read by MinIO and its setup Job only.
pub const MINIO_SECRET: &str = "minio-secret";

/// The secret of one MinIO user (`access-key`, `secret-key`): a service with a bucket,
/// or the backups.
pub fn minio_user_secret(user: &str) -> String {
    format!("{user}-minio-secret")
}

/// Labels of a microservice's objects and pods; `component: microservice` is what the
/// ServiceMonitor and the NetworkPolicies select.
pub fn service_labels(catalog: &Catalog, view: &ServiceView) -> BTreeMap<String, String> {
    let name = view.service.name.as_str();
    let layer = serde_json::to_value(view.service.layer).expect("layer serialises");
    let mut l = labels([
        ("app", name),
        ("app.kubernetes.io/name", name),
        ("app.kubernetes.io/part-of", catalog.platform.name.as_str()),
        ("component", "microservice"),
        ("layer", layer.as_str().unwrap_or_default()),
    ]);
    l.extend(catalog.platform.labels.clone());
    l
}

/// The objects of one microservice, in the file `workloads/<name>.yaml` of the base.
pub fn workload(catalog: &Catalog, view: &ServiceView) -> Vec<Object> {
    let name = view.service.name.as_str();
    let labels = service_labels(catalog, view);
    vec![
        object(&ServiceAccount {
            metadata: meta(name, &labels),
            automount_service_account_token: Some(false),
            ..Default::default()
        }),
        object(&deployment(catalog, view, &labels)),
        object(&Service {
            metadata: meta(name, &labels),
            spec: Some(ServiceSpec {
                type_: Some("ClusterIP".into()),
                selector: Some(selector(name)),
                ports: Some(vec![
                    service_port("http", i32::from(view.service.port.get())),
                    service_port("metrics", i32::from(catalog.workloads.metrics_port.get())),
                ]),
                ..session_affinity(view.service)
            }),
            ..Default::default()
        }),
    ]
}

/// The Service's `sessionAffinity` and its timeout, as the catalog asks for them.
fn session_affinity(service: &crate::descriptor::Service) -> ServiceSpec {
    if service.session_affinity != SessionAffinity::ClientIp {
        return ServiceSpec::default();
    }
    let timeout = service.session_affinity_timeout_seconds;
    ServiceSpec {
        session_affinity: Some("ClientIP".into()),
        session_affinity_config: timeout.map(|seconds| SessionAffinityConfig {
            client_ip: Some(ClientIPConfig {
                timeout_seconds: Some(i32::try_from(seconds).unwrap_or(i32::MAX)),
            }),
        }),
        ..Default::default()
    }
}

/// `app: <name>`: the selector of a workload's pods.
pub fn selector(name: &str) -> BTreeMap<String, String> {
    labels([("app", name)])
}

pub fn service_port(name: &str, port: i32) -> ServicePort {
    ServicePort {
        name: Some(name.into()),
        port,
        target_port: Some(IntOrString::String(name.into())),
        protocol: Some("TCP".into()),
        ..Default::default()
    }
}

fn deployment(
    catalog: &Catalog,
    view: &ServiceView,
    labels: &BTreeMap<String, String>,
) -> Deployment {
    let w = &catalog.workloads;
    let name = view.service.name.as_str();
    let uid = w.run_as_user;
    let scratch: Vec<(String, &String)> = w
        .writable_paths
        .iter()
        .enumerate()
        .map(|(i, path)| (format!("writable-{i}"), path))
        .collect();
    let image = format!(
        "{}:{}",
        catalog.image_name(&view.service.name),
        catalog.platform.tag
    );
    let container = Container {
        ports: Some(vec![
            container_port("http", i32::from(view.service.port.get())),
            container_port("metrics", i32::from(w.metrics_port.get())),
        ]),
        env_from: Some(vec![EnvFromSource {
            config_map_ref: Some(ConfigMapEnvSource {
                name: GLOBAL_CONFIG.into(),
                ..Default::default()
            }),
            ..Default::default()
        }]),
        env: Some(service_env(catalog, view)),
        resources: Some(pod::resources(&w.resources)),
        liveness_probe: Some(pod::http_probe(&w.health_path, "http", 30, 10)),
        readiness_probe: Some(pod::http_probe(&w.health_path, "http", 10, 5)),
        volume_mounts: Some(
            scratch
                .iter()
                .map(|(volume, path)| pod::mount(volume, path, false))
                .collect(),
        ),
        ..pod::container(name, &image, uid)
    };
    let mut metadata = meta(name, labels);
    metadata.annotations = Some(pod::exceptions(&[pod::TAG_PINNED, pod::SECRET_IN_ENV]));
    Deployment {
        metadata,
        spec: Some(DeploymentSpec {
            replicas: Some(1),
            selector: LabelSelector {
                match_labels: Some(selector(name)),
                ..Default::default()
            },
            template: pod::template(
                labels,
                PodSpec {
                    service_account_name: Some(name.into()),
                    ..pod::spec(
                        uid,
                        vec![container],
                        scratch.iter().map(|(v, _)| pod::empty_dir(v)).collect(),
                    )
                },
            ),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn container_port(name: &str, port: i32) -> ContainerPort {
    ContainerPort {
        name: Some(name.into()),
        container_port: port,
        protocol: Some("TCP".into()),
        ..Default::default()
    }
}

/// The per-service configuration of the spec: its database, RabbitMQ (its own user; the
/// virtual host is the environment's, in `global-config`), Redis or the drivers that work
/// without it, MinIO, and where its traces go.
fn service_env(catalog: &Catalog, view: &ServiceView) -> Vec<EnvVar> {
    let name = view.service.name.as_str();
    let mut env = Vec::new();
    if let Some(db) = &view.database {
        let secret = db.secret();
        env.push(pod::env("DB_CONNECTION", "mysql"));
        env.push(pod::env("DB_HOST", db.deployment()));
        env.push(pod::env("DB_PORT", "3306"));
        env.push(pod::env("DB_DATABASE", db.database.name.as_str()));
        env.push(pod::secret_env("DB_USERNAME", &secret, "username"));
        env.push(pod::secret_env("DB_PASSWORD", &secret, "password"));
    }
    env.push(pod::env("RABBITMQ_HOST", super::data::RABBITMQ_SERVICE));
    env.push(pod::env(
        "RABBITMQ_PORT",
        catalog.rabbitmq.amqp_port.get().to_string(),
    ));
    let credentials = super::messaging::credentials_secret(name);
    env.push(pod::secret_env("RABBITMQ_USER", &credentials, "username"));
    env.push(pod::secret_env(
        "RABBITMQ_PASSWORD",
        &credentials,
        "password",
    ));
    if view.service.redis {
        env.push(pod::env("REDIS_HOST", super::data::REDIS));
        env.push(pod::env("REDIS_PORT", catalog.redis.port.get().to_string()));
        env.push(pod::secret_env("REDIS_PASSWORD", REDIS_SECRET, "password"));
        env.push(pod::env("CACHE_STORE", "redis"));
        env.push(pod::env("SESSION_DRIVER", "redis"));
    } else {
        let drivers = catalog.workloads.drivers;
        env.push(pod::env("CACHE_STORE", drivers.cache.as_str()));
        env.push(pod::env("SESSION_DRIVER", drivers.session.as_str()));
    }
    if let Some(bucket) = view.bucket {
        env.push(pod::env(
            "MINIO_ENDPOINT",
            format!(
                "http://{}:{}",
                super::data::MINIO,
                catalog.minio.api_port.get()
            ),
        ));
        env.push(pod::env("MINIO_BUCKET", bucket.name.as_str()));
        // Its own MinIO user, allowed its bucket only (the setup Job creates it).
        let secret = minio_user_secret(view.service.name.as_str());
        env.push(pod::secret_env("MINIO_ACCESS_KEY", &secret, "access-key"));
        env.push(pod::secret_env("MINIO_SECRET_KEY", &secret, "secret-key"));
    }
    env.push(pod::env("OTEL_SERVICE_NAME", name));
    env.push(pod::env(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        crate::components::monitoring::otlp_endpoint(catalog),
    ));
    env.push(pod::env("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"));
    env.extend(
        view.service
            .env
            .iter()
            .map(|(k, v)| pod::env(k, v.as_str())),
    );
    env
}
