//! FluentBit and its relay, shipping the environments' logs to their Redis Streams.

use super::*;

/// Where the relay sends one environment's logs.
#[derive(Serialize)]
struct RelayOutput {
    namespace: String,
    /// The variable holding the environment's Redis URL (password escaped in it).
    url_env: String,
    /// The environment's Redis is a Redis Cluster: the relay follows its redirections.
    cluster: bool,
}

#[derive(Serialize)]
struct LoggingContext<'a> {
    namespaces: Vec<String>,
    relay_input_port: u16,
    relay_port: u16,
    http_port: u16,
    outputs: Vec<RelayOutput>,
    stream: &'a str,
    max_length: u64,
    drop_after: &'a str,
}

/// `REDIS_URL_<ENVIRONMENT>`: the relay's variable holding an environment's Redis URL.
fn url_env(environment: &str) -> String {
    format!("REDIS_URL_{}", environment.to_uppercase().replace('-', "_"))
}

/// The ESO template of an environment's Redis URL. Benthos substitutes `${VAR}` into
/// its YAML before parsing it, and the URL's user part ends at `@`, `/`, `?` or `#`: the
/// password is percent-encoded (`urlquery`, then `%20` for the space it writes as `+`,
/// which a URL's user part would keep as a plus), so that any password survives both.
fn redis_url_template(password_key: &str, host: &str) -> String {
    format!(
        "redis://:{{{{ index . \"{password_key}\" | urlquery | replace \"+\" \"%20\" }}}}@{host}"
    )
}

/// FluentBit as a DaemonSet reading the environments' container logs from every node,
/// enriching them with Kubernetes metadata, and shipping them through its relay to each
/// environment's Redis Streams; the Redis passwords come from Vault. A cluster hosting no
/// environment (ArgoCD's, when all run elsewhere) has no logs to ship: no FluentBit.
pub(super) fn fluent_bit(project: &Project, templates: &Templates) -> Result<Vec<Object>> {
    if project.environments.is_empty() {
        return Ok(Vec::new());
    }
    let catalog = &project.catalog;
    let settings = &catalog.components.monitoring.fluent_bit;
    let ns = catalog.security.monitoring_namespace.as_str();
    let l = workload_labels(catalog, MONITORING, FLUENT_BIT);
    let context = LoggingContext {
        namespaces: environment_namespaces(project),
        relay_input_port: RELAY_INPUT_PORT,
        relay_port: RELAY_PORT,
        http_port: FLUENT_BIT_PORT,
        outputs: project
            .environments
            .iter()
            .map(|env| RelayOutput {
                namespace: env.namespace.to_string(),
                url_env: url_env(env.name.as_str()),
                cluster: env.data_layer.redis.mode == crate::descriptor::RedisMode::Cluster,
            })
            .collect(),
        stream: &settings.stream,
        max_length: settings.max_length,
        drop_after: &settings.relay_drop_after,
    };
    let config = templates.text(
        "components/monitoring/fluent-bit/fluent-bit.conf.j2",
        &context,
    )?;
    let relay_name = "components/monitoring/fluent-bit/relay.yaml.j2";
    let relay = checked_yaml(relay_name, templates.text(relay_name, &context)?)?;
    let read_only = vec![PolicyRule {
        api_groups: Some(vec![String::new()]),
        resources: Some(vec!["pods".into(), "namespaces".into()]),
        verbs: ["get", "list", "watch"].map(String::from).to_vec(),
        ..Default::default()
    }];
    let collector = Container {
        args: Some(vec![
            "--workdir=/fluent-bit/etc".into(),
            "--config=/fluent-bit/etc/conf/fluent-bit.conf".into(),
        ]),
        ports: Some(vec![container_port("http", i32::from(FLUENT_BIT_PORT))]),
        resources: Some(pod::resources(&settings.resources)),
        liveness_probe: Some(pod::http_probe("/", "http", 10, 10)),
        readiness_probe: Some(pod::http_probe("/api/v1/health", "http", 10, 10)),
        // Root (UID 0) only to read the root-owned log files; no capability, no
        // privilege escalation, nothing written but its own state directory.
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".into()]),
                ..Default::default()
            }),
            privileged: Some(false),
            read_only_root_filesystem: Some(true),
            run_as_user: Some(0),
            run_as_non_root: Some(false),
            seccomp_profile: Some(runtime_default()),
            ..Default::default()
        }),
        volume_mounts: Some(vec![
            pod::mount("varlog", "/var/log", true),
            pod::mount("state", "/var/lib/fluent-bit", false),
            pod::mount("config", "/fluent-bit/etc/conf", true),
        ]),
        ..pod::container(FLUENT_BIT, &settings.image, 0)
    };
    let relay_container = Container {
        args: Some(vec!["-c".into(), "/etc/relay/relay.yaml".into()]),
        ports: Some(vec![container_port("relay", i32::from(RELAY_PORT))]),
        env: Some(
            project
                .environments
                .iter()
                .map(|env| {
                    pod::secret_env(
                        &url_env(env.name.as_str()),
                        FLUENT_BIT_REDIS,
                        env.name.as_str(),
                    )
                })
                .collect(),
        ),
        resources: Some(pod::resources(&settings.relay_resources)),
        liveness_probe: Some(pod::http_probe("/ping", "relay", 10, 10)),
        readiness_probe: Some(pod::http_probe(
            &settings.relay_readiness_path,
            "relay",
            5,
            10,
        )),
        volume_mounts: Some(vec![pod::mount("config", "/etc/relay", true)]),
        ..pod::container(RELAY, &settings.relay_image, settings.relay_run_as_user)
    };
    let host_path = |name: &str, path: &str, type_: &str| Volume {
        name: name.into(),
        host_path: Some(HostPathVolumeSource {
            path: path.into(),
            type_: Some(type_.into()),
        }),
        ..Default::default()
    };
    let mut daemon_set_meta = metadata(FLUENT_BIT, Some(ns), &l);
    daemon_set_meta.annotations = Some(pod::exceptions(&[
        pod::TAG_PINNED,
        // The relay reads the Redis URLs through its configuration's `${VAR}`s.
        pod::SECRET_IN_ENV,
        LOG_READER_ROOT,
        LOG_READER_UID,
        METADATA_TOKEN,
    ]));
    let daemon_set = DaemonSet {
        metadata: daemon_set_meta,
        spec: Some(DaemonSetSpec {
            selector: LabelSelector {
                match_labels: Some(labels([("app.kubernetes.io/name", FLUENT_BIT)])),
                ..Default::default()
            },
            template: PodTemplateSpec {
                metadata: Some(fingerprinted(&l, &format!("{config}{relay}"))),
                spec: Some(PodSpec {
                    service_account_name: Some(FLUENT_BIT.into()),
                    // The kubernetes filter reads pod metadata from the API server.
                    automount_service_account_token: Some(true),
                    security_context: Some(PodSecurityContext {
                        seccomp_profile: Some(runtime_default()),
                        ..Default::default()
                    }),
                    // Every node's logs, control-plane and tainted nodes included.
                    tolerations: Some(vec![Toleration {
                        operator: Some("Exists".into()),
                        ..Default::default()
                    }]),
                    containers: vec![collector, relay_container],
                    volumes: Some(vec![
                        host_path("varlog", "/var/log", "Directory"),
                        host_path("state", "/var/lib/fluent-bit", "DirectoryOrCreate"),
                        pod::config_map_volume("config", FLUENT_BIT),
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
            metadata: metadata(FLUENT_BIT, Some(ns), &l),
            ..Default::default()
        }),
        object(&ClusterRole {
            metadata: metadata(FLUENT_BIT, None, &l),
            rules: Some(read_only),
            ..Default::default()
        }),
        object(&cluster_binding(FLUENT_BIT, FLUENT_BIT, ns, &l)),
        object(&ConfigMap {
            metadata: metadata(FLUENT_BIT, Some(ns), &l),
            data: Some(BTreeMap::from([
                ("fluent-bit.conf".to_owned(), config),
                ("relay.yaml".to_owned(), relay),
            ])),
            ..Default::default()
        }),
        object(&daemon_set),
    ];
    // Each environment's password (`<env>-password`) becomes its URL (`<env>`).
    let urls: BTreeMap<String, String> = project
        .environments
        .iter()
        .map(|env| {
            let host = format!(
                "{REDIS}.{}.svc.cluster.local:{}",
                env.namespace,
                catalog.redis.port.get()
            );
            (
                env.name.to_string(),
                redis_url_template(&format!("{}-password", env.name), &host),
            )
        })
        .collect();
    objects.extend(templated_external_secret(
        catalog,
        templates,
        FLUENT_BIT_REDIS,
        ns,
        &l,
        &project
            .environments
            .iter()
            .map(|env| SecretKey {
                secret_key: format!("{}-password", env.name),
                remote_key: format!(
                    "{}/{}/{REDIS_SECRET}",
                    catalog.security.vault_prefix, env.name
                ),
                property: "password".into(),
            })
            .collect::<Vec<_>>(),
        Some(&urls),
    )?);
    Ok(objects)
}
