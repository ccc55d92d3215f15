//! Objects stage: the namespaced security pieces of an environment: RoleBindings of the
//! seed's roles, ExternalSecrets for every Secret a pod reads, the gateway's Ingress and
//! its Traefik middlewares (the limits in the base, the circuit breaker and retries with
//! each environment's values).

use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule,
    IngressServiceBackend, IngressSpec, IngressTLS, ServiceBackendPort,
};
use k8s_openapi::api::rbac::v1::{RoleBinding, RoleRef, Subject};
use serde::Serialize;
use std::collections::BTreeMap;

use super::workloads::{MINIO_SECRET, REDIS_SECRET, minio_user_secret};
use crate::descriptor::{Catalog, EnvironmentFile};
use crate::error::Result;
use crate::object::{Object, labels, meta, object};
use crate::template::Templates;

fn platform_labels(catalog: &Catalog) -> BTreeMap<String, String> {
    let mut l = labels([("app.kubernetes.io/part-of", catalog.platform.name.as_str())]);
    l.extend(catalog.platform.labels.clone());
    l
}

/// One RoleBinding per role the environment grants, to the role's group.
pub fn role_bindings(catalog: &Catalog, env: &EnvironmentFile) -> Vec<Object> {
    let l = platform_labels(catalog);
    env.access
        .iter()
        .filter_map(|name| {
            catalog
                .security
                .roles
                .iter()
                .find(|r| r.name.as_str() == name)
        })
        .map(|role| {
            object(&RoleBinding {
                metadata: meta(format!("{}-binding", role.name), &l),
                role_ref: RoleRef {
                    api_group: "rbac.authorization.k8s.io".into(),
                    kind: "ClusterRole".into(),
                    name: crate::components::security::cluster_role_name(catalog, role),
                },
                subjects: Some(vec![Subject {
                    api_group: Some("rbac.authorization.k8s.io".into()),
                    kind: "Group".into(),
                    name: role.group.clone(),
                    ..Default::default()
                }]),
            })
        })
        .collect()
}

/// Every Secret a pod of the environment reads, with its keys.
pub fn secrets(catalog: &Catalog, env: &EnvironmentFile) -> Vec<(String, Vec<&'static str>)> {
    let mut secrets: Vec<(String, Vec<&'static str>)> = catalog
        .databases()
        .map(|db| {
            (
                db.secret(),
                vec![
                    "root-password",
                    "username",
                    "password",
                    "exporter-password",
                    "backup-password",
                ],
            )
        })
        .collect();
    secrets.push((REDIS_SECRET.into(), vec!["password"]));
    secrets.push((MINIO_SECRET.into(), vec!["root-user", "root-password"]));
    for (user, _) in super::minio::users(catalog, env) {
        secrets.push((minio_user_secret(&user), vec!["access-key", "secret-key"]));
    }
    secrets
}

#[derive(Serialize)]
struct ExternalSecretContext<'a> {
    name: &'a str,
    labels: &'a BTreeMap<String, String>,
    refresh_interval: &'a str,
    store: &'a str,
    remote_key: String,
    keys: &'a [&'static str],
}

/// An ExternalSecret per Secret, read from Vault at `<prefix>/<environment>/<secret>`.
pub fn external_secrets(
    catalog: &Catalog,
    env: &EnvironmentFile,
    templates: &Templates,
) -> Result<Vec<Object>> {
    let s = &catalog.security;
    let l = platform_labels(catalog);
    let mut objects = Vec::new();
    for (name, keys) in secrets(catalog, env) {
        objects.extend(templates.objects(
            "security/external-secret.yaml.j2",
            &ExternalSecretContext {
                name: &name,
                labels: &l,
                refresh_interval: &s.refresh_interval,
                store: s.secret_store.as_str(),
                remote_key: format!("{}/{}/{name}", s.vault_prefix, env.name),
                keys: &keys,
            },
        )?);
    }
    Ok(objects)
}

#[derive(Serialize)]
struct MiddlewareContext<'a> {
    labels: &'a BTreeMap<String, String>,
    rate_limit_average: u32,
    rate_limit_burst: u32,
    trusted_proxies: &'a [String],
}

/// The middlewares the gateway's Ingress goes through (same in every environment).
pub fn middlewares(catalog: &Catalog, templates: &Templates) -> Result<Vec<Object>> {
    templates.objects(
        "ingress/middlewares.yaml.j2",
        &MiddlewareContext {
            labels: &platform_labels(catalog),
            rate_limit_average: catalog.ingress.rate_limit_average,
            rate_limit_burst: catalog.ingress.rate_limit_burst,
            trusted_proxies: &catalog.ingress.trusted_proxies,
        },
    )
}

/// The environment's circuit breaker and retry middlewares in front of the gateway.
pub const CIRCUIT_BREAKER: &str = "circuit-breaker";
pub const RETRY: &str = "retry";

#[derive(Serialize)]
struct ResilienceContext<'a> {
    labels: &'a BTreeMap<String, String>,
    circuit_breaker_name: &'static str,
    retry_name: &'static str,
    breaker: &'a crate::descriptor::CircuitBreaker,
    retry: &'a crate::descriptor::Retry,
}

/// The circuit breaker and retry middlewares, with the environment's values.
pub fn gateway_middlewares(
    catalog: &Catalog,
    env: &EnvironmentFile,
    templates: &Templates,
) -> Result<Vec<Object>> {
    templates.objects(
        "ingress/resilience.yaml.j2",
        &ResilienceContext {
            labels: &platform_labels(catalog),
            circuit_breaker_name: CIRCUIT_BREAKER,
            retry_name: RETRY,
            breaker: &env.gateway.circuit_breaker,
            retry: &env.gateway.retry,
        },
    )
}

/// Traefik's chart values that make a client's address what the middlewares key on: its
/// Service keeps the source address (`externalTrafficPolicy: Local`, no SNAT to a node's
/// address), and both entry points keep `X-Forwarded-For` from the catalog's trusted
/// proxies only (from anyone else Traefik drops it).
pub fn traefik_values(catalog: &Catalog) -> serde_json::Value {
    let trusted = &catalog.ingress.trusted_proxies;
    let entry_point = serde_json::json!({"forwardedHeaders": {"trustedIPs": trusted}});
    serde_json::json!({
        "service": {"spec": {"externalTrafficPolicy": "Local"}},
        "ports": {"web": entry_point, "websecure": entry_point},
    })
}

/// The gateway's Ingress: the environment's host, TLS from cert-manager, and the middlewares.
pub fn ingress(catalog: &Catalog, env: &EnvironmentFile) -> Object {
    let gateway = catalog.gateway();
    let ns = env.namespace.as_str();
    // The circuit breaker outside the retries: it judges what the client gets and, open,
    // answers at once instead of each retry waiting for its 503.
    let chain = [
        "redirect-https",
        "rate-limit",
        "in-flight-limit",
        CIRCUIT_BREAKER,
        RETRY,
    ]
    .map(|m| format!("{ns}-{m}@kubernetescrd"))
    .join(",");
    let mut metadata = meta(gateway.name.as_str(), &platform_labels(catalog));
    metadata.annotations = Some(BTreeMap::from([
        (
            "cert-manager.io/cluster-issuer".to_owned(),
            env.cluster_issuer.to_string(),
        ),
        (
            "traefik.ingress.kubernetes.io/router.entrypoints".to_owned(),
            "web,websecure".to_owned(),
        ),
        (
            "traefik.ingress.kubernetes.io/router.middlewares".to_owned(),
            chain,
        ),
    ]));
    object(&Ingress {
        metadata,
        spec: Some(IngressSpec {
            ingress_class_name: Some(catalog.ingress.class_name.clone()),
            tls: Some(vec![IngressTLS {
                hosts: Some(vec![env.host.clone()]),
                secret_name: Some(format!("{}-tls", gateway.name)),
            }]),
            rules: Some(vec![IngressRule {
                host: Some(env.host.clone()),
                http: Some(everything_to(gateway.name.as_str())),
            }]),
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// An Ingress rule's paths: every path (prefix `/`) to the named Service's port `http`.
pub fn everything_to(service: &str) -> HTTPIngressRuleValue {
    HTTPIngressRuleValue {
        paths: vec![HTTPIngressPath {
            path: Some("/".into()),
            path_type: "Prefix".into(),
            backend: IngressBackend {
                service: Some(IngressServiceBackend {
                    name: service.to_owned(),
                    port: Some(ServiceBackendPort {
                        name: Some("http".into()),
                        ..Default::default()
                    }),
                }),
                ..Default::default()
            },
        }],
    }
}
