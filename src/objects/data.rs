//! Objects stage: the data layer of an app namespace (MySQL per database, Redis,
//! MinIO and its bucket setup, the RabbitMQ alias) and the namespace's shared config.

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy};
use k8s_openapi::api::core::v1::{
    ConfigMap, Container, Namespace, Service, ServicePort, ServiceSpec, Volume,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use serde::Serialize;
use std::collections::BTreeMap;

use super::pod;
use super::workloads::{
    GLOBAL_CONFIG, MINIO_SECRET, REDIS_SECRET, container_port, selector, service_port,
};
use crate::descriptor::{Catalog, PointInTime};
use crate::error::Result;
use crate::model::DatabaseView;
use crate::object::{Object, labels, meta, object};
use crate::template::Templates;

pub const REDIS: &str = "redis";
pub const MINIO: &str = "minio";
pub const MINIO_SETUP: &str = "minio-setup-buckets";
pub const RABBITMQ_SERVICE: &str = "rabbitmq";
/// Volume names whose source an environment switches between emptyDir and a PVC.
pub const MYSQL_DATA: &str = "mysql-storage";
pub const REDIS_DATA: &str = "redis-data";
pub const MINIO_DATA: &str = "minio-data";

pub(super) fn data_labels(
    catalog: &Catalog,
    app: &str,
    component: &str,
) -> BTreeMap<String, String> {
    let mut l = labels([
        ("app", app),
        ("app.kubernetes.io/name", app),
        ("app.kubernetes.io/part-of", catalog.platform.name.as_str()),
        ("component", component),
    ]);
    l.extend(catalog.platform.labels.clone());
    l
}

/// The app namespace as the base names it; overlays rename it and label it.
pub fn namespace(catalog: &Catalog) -> Object {
    let mut l = labels([("app.kubernetes.io/part-of", catalog.platform.name.as_str())]);
    l.extend(catalog.platform.labels.clone());
    object(&Namespace {
        metadata: meta(catalog.platform.name.as_str(), &l),
        ..Default::default()
    })
}

/// ConfigMap `global-config`: what every microservice reads through envFrom.
pub fn global_config(catalog: &Catalog) -> Object {
    let l = data_labels(catalog, GLOBAL_CONFIG, "config");
    let data = catalog
        .workloads
        .config
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    object(&ConfigMap {
        metadata: meta(GLOBAL_CONFIG, &l),
        data: Some(data),
        ..Default::default()
    })
}

#[derive(Serialize)]
struct InitContext<'a> {
    database: &'a str,
    charset: &'a str,
    collation: &'a str,
    exporter_user: &'a str,
    backup_user: &'a str,
    secrets: &'a str,
}

/// Where a MySQL pod mounts its database secret.
pub(super) const MYSQL_SECRETS: &str = "/run/secrets/mysql";

/// One init ConfigMap per database: each instance creates only its own database.
pub fn mysql_init(catalog: &Catalog, templates: &Templates, db: &DatabaseView) -> Result<Object> {
    let context = InitContext {
        database: &db.database.name,
        charset: &db.database.charset,
        collation: &db.database.collation,
        exporter_user: catalog.mysql.exporter.user.as_str(),
        backup_user: catalog.mysql.backup.user.as_str(),
        secrets: MYSQL_SECRETS,
    };
    // The entrypoint runs these in name order, once, on an empty data directory.
    let data = BTreeMap::from([
        (
            "01-init.sql".to_owned(),
            templates.text("mysql/init.sql.j2", &context)?,
        ),
        (
            "02-exporter-user.sh".to_owned(),
            templates.text("mysql/exporter-user.sh.j2", &context)?,
        ),
        (
            "03-backup-user.sh".to_owned(),
            templates.text("mysql/backup-user.sh.j2", &context)?,
        ),
    ]);
    let l = data_labels(catalog, &db.deployment(), "database");
    Ok(object(&ConfigMap {
        metadata: meta(db.init_config_map(), &l),
        data: Some(data),
        ..Default::default()
    }))
}

/// Binary log files of a MySQL server: `binlog.000001`, ... in its data directory.
pub const BINLOG_BASENAME: &str = "binlog";

/// The server options of one database's MySQL: the catalog's, then its character set
/// and collation (the entrypoint creates the database with the server's defaults, so
/// these decide them), then binary logging: off, or on and kept `keep_days` days.
pub fn mysql_args(
    catalog: &Catalog,
    db: &DatabaseView,
    binlog: Option<&PointInTime>,
) -> Vec<String> {
    let mut args = catalog.mysql.args.clone();
    args.push(format!("--character-set-server={}", db.database.charset));
    args.push(format!("--collation-server={}", db.database.collation));
    match binlog {
        None => args.push("--skip-log-bin".into()),
        Some(pitr) => {
            args.push(format!("--log-bin={BINLOG_BASENAME}"));
            args.push(format!(
                "--binlog-expire-logs-seconds={}",
                u64::from(pitr.keep_on_server_days) * 86_400
            ));
        }
    }
    args
}

/// Deployment and Service of one MySQL database; data on emptyDir until an overlay
/// switches it to its PVC, binary logs off until an overlay turns them on.
pub fn mysql(catalog: &Catalog, db: &DatabaseView) -> Vec<Object> {
    let m = &catalog.mysql;
    let name = db.deployment();
    let l = data_labels(catalog, &name, "database");
    let container = Container {
        args: Some(mysql_args(catalog, db, None)),
        env: Some(vec![
            pod::env(
                "MYSQL_ROOT_PASSWORD_FILE",
                format!("{MYSQL_SECRETS}/root-password"),
            ),
            pod::env("MYSQL_DATABASE", db.database.name.as_str()),
            pod::env("MYSQL_USER_FILE", format!("{MYSQL_SECRETS}/username")),
            pod::env("MYSQL_PASSWORD_FILE", format!("{MYSQL_SECRETS}/password")),
        ]),
        ports: Some(vec![container_port("mysql", 3306)]),
        resources: Some(pod::resources(&m.resources)),
        liveness_probe: Some(pod::exec_probe(
            &["mysqladmin", "ping", "-h", "localhost"],
            60,
            10,
        )),
        readiness_probe: Some(pod::tcp_probe("mysql", 45, 10)),
        volume_mounts: Some(vec![
            pod::mount(MYSQL_DATA, "/var/lib/mysql", false),
            pod::mount("init-script", "/docker-entrypoint-initdb.d", true),
            pod::mount("credentials", MYSQL_SECRETS, true),
            pod::mount("run", "/var/run/mysqld", false),
            pod::mount("tmp", "/tmp", false),
        ]),
        ..pod::container("mysql", &m.image, m.run_as_user)
    };
    let exporter = mysql_exporter(catalog);
    let volumes = vec![
        pod::empty_dir(MYSQL_DATA),
        pod::config_map_volume("init-script", &db.init_config_map()),
        pod::secret_volume("credentials", &db.secret()),
        pod::empty_dir("run"),
        pod::empty_dir("tmp"),
    ];
    let mut deployment = single_instance(
        &name,
        &l,
        m.run_as_user,
        &[pod::TAG_PINNED],
        container,
        volumes,
    );
    if let Some(spec) = deployment
        .spec
        .as_mut()
        .and_then(|s| s.template.spec.as_mut())
    {
        spec.containers.push(exporter);
    }
    vec![
        object(&deployment),
        object(&cluster_ip(&name, &l, vec![service_port("mysql", 3306)])),
    ]
}

/// The mysqld-exporter sidecar, signed in as the exporter user (status privileges
/// only). The password goes from the mounted secret into `MYSQLD_EXPORTER_PASSWORD`
/// (read by the exporter since v0.15.0 with `--mysqld.username`): no configuration
/// file parses it, so every character is taken as it is, and none is in the pod spec.
fn mysql_exporter(catalog: &Catalog) -> Container {
    let e = &catalog.mysql.exporter;
    let script = format!(
        "MYSQLD_EXPORTER_PASSWORD=\"$(cat {MYSQL_SECRETS}/exporter-password)\" && \
         export MYSQLD_EXPORTER_PASSWORD && \
         exec /bin/mysqld_exporter --mysqld.username={} --mysqld.address=127.0.0.1:3306 \
         --web.listen-address=:{}",
        e.user,
        e.port.get()
    );
    Container {
        command: Some(vec!["/bin/sh".into(), "-c".into(), script]),
        ports: Some(vec![container_port("metrics", i32::from(e.port.get()))]),
        resources: Some(pod::resources(&e.resources)),
        liveness_probe: Some(pod::http_probe("/", "metrics", 10, 10)),
        readiness_probe: Some(pod::http_probe("/", "metrics", 5, 10)),
        volume_mounts: Some(vec![pod::mount("credentials", MYSQL_SECRETS, true)]),
        ..pod::container("exporter", &e.image, catalog.mysql.run_as_user)
    }
}

/// Redis: password from `redis-secret`, probes that authenticate (REDISCLI_AUTH).
pub fn redis(catalog: &Catalog) -> Vec<Object> {
    let r = &catalog.redis;
    let l = data_labels(catalog, REDIS, "cache");
    let ping = ["sh", "-c", "redis-cli ping | grep -q PONG"];
    let container = Container {
        command: Some(
            ["redis-server", "--requirepass", "$(REDIS_PASSWORD)"]
                .map(String::from)
                .to_vec(),
        ),
        env: Some(vec![
            pod::secret_env("REDIS_PASSWORD", REDIS_SECRET, "password"),
            pod::secret_env("REDISCLI_AUTH", REDIS_SECRET, "password"),
        ]),
        ports: Some(vec![container_port("redis", i32::from(r.port.get()))]),
        resources: Some(pod::resources(&r.resources)),
        liveness_probe: Some(pod::exec_probe(&ping, 30, 10)),
        readiness_probe: Some(pod::exec_probe(&ping, 5, 5)),
        volume_mounts: Some(vec![pod::mount(REDIS_DATA, "/data", false)]),
        ..pod::container("redis", &r.image, r.run_as_user)
    };
    vec![
        object(&single_instance(
            REDIS,
            &l,
            r.run_as_user,
            &[pod::TAG_PINNED, pod::SECRET_IN_ENV],
            container,
            vec![pod::empty_dir(REDIS_DATA)],
        )),
        object(&cluster_ip(
            REDIS,
            &l,
            vec![service_port("redis", i32::from(r.port.get()))],
        )),
    ]
}

/// MinIO, its root credentials only from `minio-secret`.
pub fn minio(catalog: &Catalog) -> Vec<Object> {
    let m = &catalog.minio;
    let l = data_labels(catalog, MINIO, "object-storage");
    let (api, console) = (i32::from(m.api_port.get()), i32::from(m.console_port.get()));
    let server = Container {
        args: Some(vec![
            "server".into(),
            "/data".into(),
            "--address".into(),
            format!(":{api}"),
            "--console-address".into(),
            format!(":{console}"),
        ]),
        env: Some(vec![
            pod::secret_env("MINIO_ROOT_USER", MINIO_SECRET, "root-user"),
            pod::secret_env("MINIO_ROOT_PASSWORD", MINIO_SECRET, "root-password"),
            pod::env("MINIO_PROMETHEUS_AUTH_TYPE", "public"),
        ]),
        ports: Some(vec![
            container_port("api", api),
            container_port("console", console),
        ]),
        resources: Some(pod::resources(&m.resources)),
        liveness_probe: Some(pod::http_probe("/minio/health/live", "api", 30, 10)),
        readiness_probe: Some(pod::http_probe("/minio/health/ready", "api", 10, 5)),
        volume_mounts: Some(vec![
            pod::mount(MINIO_DATA, "/data", false),
            pod::mount("tmp", "/tmp", false),
        ]),
        ..pod::container("minio", &m.image, m.run_as_user)
    };
    let deployment = single_instance(
        MINIO,
        &l,
        m.run_as_user,
        &[pod::TAG_PINNED, pod::SECRET_IN_ENV],
        server,
        vec![pod::empty_dir(MINIO_DATA), pod::empty_dir("tmp")],
    );
    let service = cluster_ip(
        MINIO,
        &l,
        vec![service_port("api", api), service_port("console", console)],
    );
    vec![object(&deployment), object(&service)]
}

/// Service `rabbitmq`: the app namespace's name for the cluster in the messaging namespace.
pub fn rabbitmq_alias(catalog: &Catalog) -> Object {
    let r = &catalog.rabbitmq;
    let l = data_labels(catalog, RABBITMQ_SERVICE, "messaging");
    object(&Service {
        metadata: meta(RABBITMQ_SERVICE, &l),
        spec: Some(ServiceSpec {
            type_: Some("ExternalName".into()),
            external_name: Some(format!(
                "{}.{}.svc.cluster.local",
                r.cluster_name, r.namespace
            )),
            ports: Some(vec![ServicePort {
                name: Some("amqp".into()),
                port: i32::from(r.amqp_port.get()),
                protocol: Some("TCP".into()),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// A one-replica Deployment whose pod owns its volume: `Recreate`, never two at once.
fn single_instance(
    name: &str,
    labels: &BTreeMap<String, String>,
    uid: i64,
    exceptions: &[pod::Exception],
    container: Container,
    volumes: Vec<Volume>,
) -> Deployment {
    let mut metadata = meta(name, labels);
    metadata.annotations = Some(pod::exceptions(exceptions));
    Deployment {
        metadata,
        spec: Some(DeploymentSpec {
            strategy: Some(DeploymentStrategy {
                type_: Some("Recreate".into()),
                ..Default::default()
            }),
            selector: LabelSelector {
                match_labels: Some(selector(name)),
                ..Default::default()
            },
            template: pod::template(labels, pod::spec(uid, vec![container], volumes)),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn cluster_ip(name: &str, labels: &BTreeMap<String, String>, ports: Vec<ServicePort>) -> Service {
    Service {
        metadata: meta(name, labels),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            selector: Some(selector(name)),
            ports: Some(ports),
            ..Default::default()
        }),
        ..Default::default()
    }
}
