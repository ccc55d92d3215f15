//! Prometheus and the monitors it scrapes.

use super::*;

#[derive(Serialize)]
struct PrometheusContext<'a> {
    name: &'a str,
    namespace: &'a str,
    labels: &'a BTreeMap<String, String>,
    image: String,
    version: &'a str,
    replicas: i32,
    retention: &'a str,
    scrape_interval: &'a str,
    service_account: String,
    resources: serde_json::Value,
    storage: serde_json::Value,
    security_context: serde_json::Value,
    affinity: serde_json::Value,
    external_labels: Option<BTreeMap<String, String>>,
}

/// Prometheus (2 replicas, 30 days, 50Gi each) with the cluster-wide read access service
/// discovery needs; it selects every monitor and rule of its own namespace, where all of
/// the platform's live (kube-prometheus-stack's node exporter and kube-state-metrics
/// monitors included). With several clusters it labels what it sends out with its
/// cluster, and another cluster's is reachable from the management cluster's Grafana.
pub(super) fn prometheus(project: &Project, templates: &Templates) -> Result<Vec<Object>> {
    let catalog = &project.catalog;
    let settings = &catalog.components.monitoring.prometheus;
    let ns = catalog.security.monitoring_namespace.as_str();
    let l = component_labels(catalog, MONITORING);
    let account = format!("{}-prometheus", instance(catalog));
    let rules = vec![
        PolicyRule {
            api_groups: Some(vec![String::new()]),
            resources: Some(
                ["nodes", "nodes/metrics", "services", "endpoints", "pods"]
                    .map(String::from)
                    .to_vec(),
            ),
            verbs: ["get", "list", "watch"].map(String::from).to_vec(),
            ..Default::default()
        },
        PolicyRule {
            api_groups: Some(vec!["discovery.k8s.io".into()]),
            resources: Some(vec!["endpointslices".into()]),
            verbs: ["get", "list", "watch"].map(String::from).to_vec(),
            ..Default::default()
        },
        PolicyRule {
            api_groups: Some(vec![String::new()]),
            resources: Some(vec!["configmaps".into()]),
            verbs: vec!["get".into()],
            ..Default::default()
        },
        PolicyRule {
            non_resource_urls: Some(vec!["/metrics".into(), "/metrics/slis".into()]),
            verbs: vec!["get".into()],
            ..Default::default()
        },
    ];
    let mut objects = vec![
        object(&ServiceAccount {
            metadata: metadata(&account, Some(ns), &l),
            ..Default::default()
        }),
        object(&ClusterRole {
            metadata: metadata(&account, None, &l),
            rules: Some(rules),
            ..Default::default()
        }),
        object(&cluster_binding(&account, &account, ns, &l)),
    ];
    objects.extend(templates.objects(
        "components/monitoring/prometheus.yaml.j2",
        &PrometheusContext {
            name: instance(catalog),
            namespace: ns,
            labels: &l,
            image: format!("{}:{}", settings.image, settings.version),
            version: &settings.version,
            replicas: settings.replicas,
            retention: &settings.retention,
            scrape_interval: &catalog.components.monitoring.scrape_interval,
            service_account: account.clone(),
            resources: object(&pod::resources(&settings.resources)),
            storage: object(&storage_claim(&settings.storage, &settings.storage_class)),
            security_context: object(&pod::pod_security(settings.run_as_user)),
            affinity: object(&spread("prometheus", instance(catalog))),
            external_labels: clusters::external_labels(project),
        },
    )?);
    objects.extend(clusters::remote_service(project));
    Ok(objects)
}

/// A ServiceMonitor or PodMonitor of the monitoring namespace.
#[derive(Serialize)]
struct Monitor {
    kind: &'static str,
    name: String,
    namespaces: Vec<String>,
    selector: BTreeMap<String, String>,
    endpoints: Vec<Endpoint>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Endpoint {
    port: String,
    path: String,
    interval: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<BTreeMap<String, Vec<String>>>,
}

#[derive(Serialize)]
struct MonitorsContext<'a> {
    namespace: &'a str,
    labels: &'a BTreeMap<String, String>,
    monitors: Vec<Monitor>,
}

/// What Prometheus scrapes besides kube-prometheus-stack's own monitors: the services
/// (the seed's ServiceMonitor, with every environment's namespace), the MySQL exporters,
/// RabbitMQ, MinIO, FluentBit and its relay.
pub(super) fn monitors(project: &Project, templates: &Templates) -> Result<Vec<Object>> {
    let catalog = &project.catalog;
    let interval = catalog.components.monitoring.scrape_interval.clone();
    let endpoint = |port: &str, path: &str| Endpoint {
        port: port.into(),
        path: path.into(),
        interval: interval.clone(),
        params: None,
    };
    let environments = environment_namespaces(project);
    // The seed's list: the base namespace, then each environment's.
    let mut services_namespaces = vec![catalog.platform.name.to_string()];
    services_namespaces.extend(environments.iter().cloned());
    let monitoring_ns = catalog.security.monitoring_namespace.to_string();
    // A cluster that hosts no environment (ArgoCD's, all of them elsewhere) has nothing
    // of theirs to scrape.
    let environments_empty = environments.is_empty();
    let mut monitors = Vec::new();
    if !environments_empty {
        monitors.extend([
            Monitor {
                kind: "ServiceMonitor",
                name: format!("{}-services", catalog.platform.name),
                namespaces: services_namespaces,
                selector: labels([("component", "microservice")]),
                endpoints: vec![endpoint("metrics", "/metrics")],
            },
            Monitor {
                kind: "PodMonitor",
                name: "mysql-exporters".into(),
                namespaces: environments.clone(),
                selector: labels([("component", "database")]),
                endpoints: vec![endpoint("metrics", "/metrics")],
            },
            Monitor {
                kind: "ServiceMonitor",
                name: MINIO.into(),
                namespaces: environments,
                selector: labels([("app", MINIO)]),
                endpoints: vec![endpoint("api", "/minio/v2/metrics/cluster")],
            },
        ]);
    }
    monitors.extend([Monitor {
        kind: "PodMonitor",
        name: "rabbitmq".into(),
        namespaces: vec![catalog.rabbitmq.namespace.to_string()],
        selector: labels([(CLUSTER_LABEL, catalog.rabbitmq.cluster_name.as_str())]),
        endpoints: vec![
            endpoint("prometheus", "/metrics"),
            // Per-queue figures (the backlog alert): the aggregated endpoint has none.
            Endpoint {
                params: Some(BTreeMap::from([(
                    "family".to_owned(),
                    vec!["queue_coarse_metrics".to_owned()],
                )])),
                ..endpoint("prometheus", "/metrics/detailed")
            },
        ],
    }]);
    // FluentBit runs where environments do (see `logging`).
    if !environments_empty {
        monitors.push(Monitor {
            kind: "PodMonitor",
            name: FLUENT_BIT.into(),
            namespaces: vec![monitoring_ns],
            selector: labels([("app.kubernetes.io/name", FLUENT_BIT)]),
            endpoints: vec![
                endpoint("http", "/api/v2/metrics/prometheus"),
                endpoint("relay", "/metrics"),
            ],
        });
    }
    // The MySQL Operator's exporter sidecars, on the servers of the environments that run
    // InnoDB Clusters (labelled by the operator, not `component: database`).
    let clusters: Vec<String> = project
        .environments
        .iter()
        .filter(|e| e.data_layer.mysql.mode == crate::descriptor::MysqlMode::InnodbCluster)
        .map(|e| e.namespace.to_string())
        .collect();
    if !clusters.is_empty() {
        monitors.push(Monitor {
            kind: "PodMonitor",
            name: "mysql-cluster-exporters".into(),
            namespaces: clusters,
            selector: labels([("component", "mysqld"), ("tier", "mysql")]),
            endpoints: vec![endpoint("metrics", "/metrics")],
        });
    }
    templates.objects(
        "components/monitoring/monitors.yaml.j2",
        &MonitorsContext {
            namespace: catalog.security.monitoring_namespace.as_str(),
            labels: &component_labels(catalog, MONITORING),
            monitors,
        },
    )
}
