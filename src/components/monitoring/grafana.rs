//! Grafana, its datasources and dashboards.

use super::*;

#[derive(Serialize)]
struct DatasourcesContext {
    prometheus: String,
    /// The other clusters' Prometheus (on the management cluster).
    clusters: Vec<clusters::ClusterDatasource>,
    alertmanager: String,
    jaeger: String,
    scrape_interval: String,
}

#[derive(Serialize)]
struct ProvidersContext<'a> {
    platform: &'a str,
    path: &'static str,
}

/// Grafana (1 replica, 10Gi, the seed's resources) on a read-only root filesystem, its
/// admin credentials from Vault (read as files), Prometheus, Alertmanager and Jaeger as
/// provisioned datasources, every dashboard ConfigMap mounted as a provisioned folder, and
/// its Ingress.
pub(super) fn grafana(project: &Project, templates: &Templates) -> Result<Vec<Object>> {
    let catalog = &project.catalog;
    let monitoring = &catalog.components.monitoring;
    let settings = &monitoring.grafana;
    let ns = catalog.security.monitoring_namespace.as_str();
    let l = workload_labels(catalog, MONITORING, GRAFANA);
    let datasources_name = "components/monitoring/grafana/datasources.yaml.j2";
    let datasources = checked_yaml(
        datasources_name,
        templates.text(
            datasources_name,
            &DatasourcesContext {
                prometheus: prometheus_url(catalog),
                clusters: clusters::datasources(project),
                alertmanager: format!("http://alertmanager-operated.{ns}.svc:{ALERTMANAGER_PORT}"),
                jaeger: format!("http://{JAEGER}-query.{ns}.svc:{JAEGER_QUERY}"),
                scrape_interval: monitoring.scrape_interval.clone(),
            },
        )?,
    )?;
    let providers_name = "components/monitoring/grafana/dashboard-providers.yaml.j2";
    let providers = checked_yaml(
        providers_name,
        templates.text(
            providers_name,
            &ProvidersContext {
                platform: catalog.platform.name.as_str(),
                path: DASHBOARD_DIR,
            },
        )?,
    )?;
    let config_map = |name: &str, key: &str, text: &str| {
        object(&ConfigMap {
            metadata: metadata(name, Some(ns), &l),
            data: Some(BTreeMap::from([(key.to_owned(), text.to_owned())])),
            ..Default::default()
        })
    };
    let projections = monitoring
        .dashboards
        .iter()
        .map(|d| VolumeProjection {
            config_map: Some(ConfigMapProjection {
                name: dashboard_config_map(d),
                items: Some(vec![KeyToPath {
                    key: format!("{}.json", d.name),
                    path: format!("{}.json", d.name),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect();
    let env = vec![
        pod::env(
            "GF_SECURITY_ADMIN_USER__FILE",
            "/etc/grafana/admin/admin-user",
        ),
        pod::env(
            "GF_SECURITY_ADMIN_PASSWORD__FILE",
            "/etc/grafana/admin/admin-password",
        ),
        pod::env("GF_SERVER_ROOT_URL", format!("https://{}", settings.host)),
        pod::env("GF_PATHS_DATA", "/var/lib/grafana"),
        pod::env("GF_LOG_MODE", "console"),
        pod::env("GF_ANALYTICS_REPORTING_ENABLED", "false"),
        pod::env("GF_ANALYTICS_CHECK_FOR_UPDATES", "false"),
        pod::env("GF_AUTH_ANONYMOUS_ENABLED", "false"),
    ];
    let container = Container {
        ports: Some(vec![container_port("http", i32::from(GRAFANA_PORT))]),
        env: Some(env),
        resources: Some(pod::resources(&settings.resources)),
        liveness_probe: Some(pod::http_probe("/api/health", "http", 60, 10)),
        readiness_probe: Some(pod::http_probe("/api/health", "http", 10, 5)),
        volume_mounts: Some(vec![
            pod::mount("storage", "/var/lib/grafana", false),
            pod::mount("datasources", "/etc/grafana/provisioning/datasources", true),
            pod::mount(
                "dashboard-providers",
                "/etc/grafana/provisioning/dashboards",
                true,
            ),
            pod::mount("dashboards", DASHBOARD_DIR, true),
            pod::mount("admin", "/etc/grafana/admin", true),
            pod::mount("tmp", "/tmp", false),
        ]),
        ..pod::container(GRAFANA, &settings.image, settings.run_as_user)
    };
    let selector = labels([("app.kubernetes.io/name", GRAFANA)]);
    let mut deployment_meta = metadata(GRAFANA, Some(ns), &l);
    deployment_meta.annotations = Some(pod::exceptions(&[pod::TAG_PINNED]));
    let deployment = Deployment {
        metadata: deployment_meta,
        spec: Some(DeploymentSpec {
            replicas: Some(settings.replicas),
            // One ReadWriteOnce volume: the old pod lets go before the new one starts.
            strategy: Some(DeploymentStrategy {
                type_: Some("Recreate".into()),
                ..Default::default()
            }),
            selector: LabelSelector {
                match_labels: Some(selector.clone()),
                ..Default::default()
            },
            template: PodTemplateSpec {
                metadata: Some(fingerprinted(&l, &format!("{datasources}{providers}"))),
                spec: Some(PodSpec {
                    service_account_name: Some(GRAFANA.into()),
                    automount_service_account_token: Some(false),
                    security_context: Some(pod::pod_security(settings.run_as_user)),
                    containers: vec![container],
                    volumes: Some(vec![
                        Volume {
                            name: "storage".into(),
                            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                                claim_name: GRAFANA.into(),
                                ..Default::default()
                            }),
                            ..Default::default()
                        },
                        pod::config_map_volume("datasources", "grafana-datasources"),
                        pod::config_map_volume(
                            "dashboard-providers",
                            "grafana-dashboard-providers",
                        ),
                        Volume {
                            name: "dashboards".into(),
                            projected: Some(ProjectedVolumeSource {
                                sources: Some(projections),
                                ..Default::default()
                            }),
                            ..Default::default()
                        },
                        pod::secret_volume("admin", GRAFANA_ADMIN),
                        pod::empty_dir("tmp"),
                    ]),
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut objects = vec![
        object(&ServiceAccount {
            metadata: metadata(GRAFANA, Some(ns), &l),
            automount_service_account_token: Some(false),
            ..Default::default()
        }),
        config_map("grafana-datasources", "datasources.yaml", &datasources),
        config_map("grafana-dashboard-providers", "dashboards.yaml", &providers),
        object(&PersistentVolumeClaim {
            metadata: metadata(GRAFANA, Some(ns), &l),
            spec: Some(storage_claim(&settings.storage, &settings.storage_class)),
            ..Default::default()
        }),
        object(&deployment),
        object(&Service {
            metadata: metadata(GRAFANA, Some(ns), &l),
            spec: Some(ServiceSpec {
                type_: Some("ClusterIP".into()),
                selector: Some(selector),
                ports: Some(vec![service_port("http", i32::from(GRAFANA_PORT))]),
                ..Default::default()
            }),
            ..Default::default()
        }),
        object(&grafana_ingress(catalog, &l)),
    ];
    objects.extend(external_secret(
        catalog,
        templates,
        GRAFANA_ADMIN,
        ns,
        &l,
        &["admin-user", "admin-password"].map(|key| SecretKey {
            secret_key: key.into(),
            remote_key: vault_key(catalog, MONITORING, GRAFANA_ADMIN),
            property: key.into(),
        }),
    )?);
    Ok(objects)
}

/// Grafana at `https://<host>` (seed: "External: via Ingress"), HTTPS only.
fn grafana_ingress(catalog: &Catalog, l: &BTreeMap<String, String>) -> Ingress {
    let settings = &catalog.components.monitoring.grafana;
    let mut meta = metadata(
        GRAFANA,
        Some(catalog.security.monitoring_namespace.as_str()),
        l,
    );
    meta.annotations = Some(BTreeMap::from([
        (
            "cert-manager.io/cluster-issuer".to_owned(),
            settings.cluster_issuer.to_string(),
        ),
        (
            "traefik.ingress.kubernetes.io/router.entrypoints".to_owned(),
            "websecure".to_owned(),
        ),
        (
            "traefik.ingress.kubernetes.io/router.tls".to_owned(),
            "true".to_owned(),
        ),
    ]));
    Ingress {
        metadata: meta,
        spec: Some(IngressSpec {
            ingress_class_name: Some(catalog.ingress.class_name.clone()),
            tls: Some(vec![IngressTLS {
                hosts: Some(vec![settings.host.clone()]),
                secret_name: Some(format!("{GRAFANA}-tls")),
            }]),
            rules: Some(vec![IngressRule {
                host: Some(settings.host.clone()),
                http: Some(everything_to(GRAFANA)),
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn dashboard_config_map(dashboard: &Dashboard) -> String {
    format!("grafana-dashboard-{}", dashboard.name)
}

#[derive(Serialize)]
struct DashboardContext<'a> {
    uid: String,
    title: &'a str,
    platform: &'a str,
    datasource: &'static str,
    /// Every environment's namespace, as a PromQL regular expression.
    environments: String,
    messaging: &'a str,
    rabbitmq_cluster: &'a str,
    latency_metric: &'a str,
    scrape_interval: &'a str,
}

/// One ConfigMap per dashboard category, labelled `grafana_dashboard: "1"` (the
/// convention of Grafana's dashboard sidecar), holding the JSON its template renders.
pub(super) fn dashboards(project: &Project, templates: &Templates) -> Result<Vec<Object>> {
    let catalog = &project.catalog;
    let monitoring = &catalog.components.monitoring;
    let ns = catalog.security.monitoring_namespace.as_str();
    let mut l = workload_labels(catalog, MONITORING, GRAFANA);
    l.insert("grafana_dashboard".into(), "1".into());
    let environments = alternatives(&environment_namespaces(project));
    monitoring
        .dashboards
        .iter()
        .map(|dashboard| {
            let json = templates.json(
                &format!("{DASHBOARD_TEMPLATES}/{}.json.j2", dashboard.name),
                &DashboardContext {
                    uid: format!("{}-{}", catalog.platform.name, dashboard.name),
                    title: &dashboard.title,
                    platform: catalog.platform.name.as_str(),
                    datasource: "prometheus",
                    environments: environments.clone(),
                    messaging: catalog.rabbitmq.namespace.as_str(),
                    rabbitmq_cluster: catalog.rabbitmq.cluster_name.as_str(),
                    latency_metric: &monitoring.alerts.api_latency.metric,
                    scrape_interval: &monitoring.scrape_interval,
                },
            )?;
            Ok(object(&ConfigMap {
                metadata: metadata(dashboard_config_map(dashboard), Some(ns), &l),
                data: Some(BTreeMap::from([(format!("{}.json", dashboard.name), json)])),
                ..Default::default()
            }))
        })
        .collect()
}
