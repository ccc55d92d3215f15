//! Objects stage: MySQL as InnoDB Clusters (`dataLayer.mysql.mode: innodb-cluster`).
//! One `InnoDBCluster` of the MySQL Operator per database, named as the database's
//! Service was: the operator creates its router's Service under that name (port 3306
//! read-write, 6447 read-only), so `DB_HOST` is unchanged and the base's Service is
//! deleted. Its root credentials come from the database's Vault entry through an
//! ExternalSecret; a PostSync Job creates the database and its users through the router.

use serde::Serialize;
use serde_json::{Value, json};

use super::data::{MYSQL_SECRETS, data_labels};
use super::data_layer::{Rule, app, pods, policy};
use super::network::BACKUP_APP;
use super::pod;
use crate::descriptor::{Catalog, EnvironmentFile, MysqlMode};
use crate::error::Result;
use crate::model::DatabaseView;
use crate::object::{Object, labels};
use crate::template::Templates;

/// Servers per cluster (the seed's three nodes) and MySQL Routers in front of them.
pub const INSTANCES: u32 = 3;
pub const ROUTERS: u32 = 2;
/// The router's read-write and read-only ports (its Service maps 3306 to the first).
pub const ROUTER_RW: u16 = 6446;
pub const ROUTER_RO: u16 = 6447;
/// The servers' classic and X protocol ports, and group replication's.
const MYSQL: u16 = 3306;
const MYSQLX: u16 = 33060;
const GROUP_REPLICATION: u16 = 33061;
/// The label the operator puts on every pod of a cluster (servers and routers).
pub const CLUSTER_LABEL: &str = "mysql.oracle.com/cluster";
/// The label the chart puts on the operator's pod.
const OPERATOR_POD: (&str, &str) = ("name", "mysql-operator");
/// The Kubernetes API: the servers' sidecar watches its cluster and pods.
const API_PORTS: [u16; 2] = [443, 6443];

/// The Secret the operator reads the cluster's root account from.
fn cluster_secret(db: &DatabaseView) -> String {
    format!("{}-mysql-cluster-secret", db.prefix())
}

/// The Job creating a cluster's database and users.
fn users_job(db: &DatabaseView) -> String {
    format!("{}-mysql-users", db.prefix())
}

/// The `app` label of a cluster's routers.
pub fn router_app(db: &DatabaseView) -> String {
    format!("{}-router", db.deployment())
}

/// The read-only endpoint for the services with a database: Laravel's `read` connection
/// (`DB_READ_HOST`, `DB_READ_PORT`), served by the router's read-only port.
pub fn client_patches(catalog: &Catalog, env: &EnvironmentFile) -> Vec<Object> {
    if env.data_layer.mysql.mode != MysqlMode::InnodbCluster {
        return Vec::new();
    }
    catalog
        .services()
        .filter_map(|s| {
            let db = s.database?;
            let name = s.service.name.as_str();
            Some(json!({
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": name},
                "spec": {"template": {"spec": {"containers": [{
                    "name": name,
                    "env": [
                        {"name": "DB_READ_HOST", "value": db.deployment()},
                        {"name": "DB_READ_PORT", "value": ROUTER_RO.to_string()},
                    ],
                }]}}},
            }))
        })
        .collect()
}

#[derive(Serialize)]
struct UsersContext<'a> {
    host: String,
    port: u16,
    database: &'a str,
    charset: &'a str,
    collation: &'a str,
    backup_user: &'a str,
    secrets: &'static str,
}

/// Every database's cluster, its credentials, users Job and policies; the services'
/// and the backups' way to the routers.
pub fn objects(
    catalog: &Catalog,
    env: &EnvironmentFile,
    templates: &Templates,
) -> Result<Vec<Object>> {
    let operator = catalog
        .components
        .argocd
        .charts
        .mysql_operator
        .as_ref()
        .map_or_else(String::new, |c| c.namespace.to_string());
    let mut objects = Vec::new();
    for view in catalog.services() {
        let Some(db) = view.database else { continue };
        let service = view.service.name.as_str();
        let name = db.deployment();
        let members = pods(&[(CLUSTER_LABEL, &name)]);
        let servers = pods(&[(CLUSTER_LABEL, &name), ("component", "mysqld")]);
        let routers = app(&router_app(&db));
        objects.push(external_secret(catalog, env, &db));
        objects.push(cluster(catalog, env, &db));
        objects.push(users(catalog, templates, &db)?);
        // Servers and routers among themselves: clone and recovery on the classic port,
        // group replication, the routers' metadata and X protocol connections; the
        // operator's pod manages the servers.
        objects.push(policy(
            catalog,
            &format!("{name}-cluster"),
            &members,
            &[
                (vec![members.clone()], &[MYSQL, MYSQLX, GROUP_REPLICATION]),
                (
                    vec![json!({
                        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": operator}},
                        "podSelector": {"matchLabels": {OPERATOR_POD.0: OPERATOR_POD.1}},
                    })],
                    &[MYSQL, MYSQLX],
                ),
            ],
            &[(vec![members.clone()], &[MYSQL, MYSQLX, GROUP_REPLICATION])],
        ));
        // The servers' sidecar reads the Kubernetes API, whose address is the cluster's.
        objects.push(policy(
            catalog,
            &format!("{name}-api"),
            &servers,
            &[],
            &[(Vec::new(), &API_PORTS)],
        ));
        let mut clients: Vec<Rule> = vec![
            (vec![app(service)], &[ROUTER_RW, ROUTER_RO]),
            (vec![app(&users_job(&db))], &[ROUTER_RW]),
        ];
        if env.storage.backup.is_some() {
            clients.push((vec![app(BACKUP_APP)], &[ROUTER_RW]));
        }
        objects.push(policy(
            catalog,
            &format!("{}-clients", router_app(&db)),
            &routers,
            &clients,
            &[],
        ));
        objects.push(policy(
            catalog,
            &format!("{service}-to-mysql-router"),
            &app(service),
            &[],
            &[(vec![routers.clone()], &[ROUTER_RW, ROUTER_RO])],
        ));
        objects.push(policy(
            catalog,
            &format!("{}-traffic", users_job(&db)),
            &app(&users_job(&db)),
            &[],
            &[(vec![routers], &[ROUTER_RW])],
        ));
    }
    if env.storage.backup.is_some() {
        objects.push(policy(
            catalog,
            &format!("{BACKUP_APP}-to-mysql-routers"),
            &app(BACKUP_APP),
            &[],
            &[(vec![pods(&[("component", "mysqlrouter")])], &[ROUTER_RW])],
        ));
    }
    Ok(objects)
}

/// The operator reads `rootUser`, `rootHost` and `rootPassword`: the root password of
/// the database's own Vault entry, the account reachable from the routers.
fn external_secret(catalog: &Catalog, env: &EnvironmentFile, db: &DatabaseView) -> Object {
    let s = &catalog.security;
    let name = cluster_secret(db);
    let mut l = labels([("app.kubernetes.io/part-of", catalog.platform.name.as_str())]);
    l.extend(catalog.platform.labels.clone());
    json!({
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": {"name": name, "labels": l},
        "spec": {
            "refreshInterval": s.refresh_interval,
            "secretStoreRef": {"kind": "ClusterSecretStore", "name": s.secret_store.as_str()},
            "target": {
                "name": name,
                "creationPolicy": "Owner",
                "template": {"data": {
                    "rootUser": "root",
                    "rootHost": "%",
                    "rootPassword": "{{ .rootPassword }}",
                }},
            },
            "data": [{
                "secretKey": "rootPassword",
                "remoteRef": {
                    "key": format!("{}/{}/{}", s.vault_prefix, env.name, db.secret()),
                    "property": "root-password",
                },
            }],
        },
    })
}

/// The tag of an image reference (`mysql:8.4.6` -> `8.4.6`).
fn tag(image: &str) -> &str {
    image.rsplit_once(':').map_or(image, |(_, t)| t)
}

/// One database's cluster: three servers with the catalog's resources and the
/// database's character set, two routers, a volume per server of the catalog's size,
/// the operator's mysqld-exporter sidecar (port 9104, user `mysqlmetrics`). The servers
/// and routers carry the `app` labels of the database and of its routers; `component`
/// stays the operator's, which its own selectors use.
fn cluster(catalog: &Catalog, env: &EnvironmentFile, db: &DatabaseView) -> Object {
    let m = &catalog.mysql;
    let name = db.deployment();
    let mut claim = json!({
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": m.storage.to_string()}},
    });
    if let Some(class) = &env.storage.storage_class {
        claim["storageClassName"] = json!(class.as_str());
    }
    let resources = serde_json::to_value(pod::resources(&m.resources)).expect("resources");
    json!({
        "apiVersion": "mysql.oracle.com/v2",
        "kind": "InnoDBCluster",
        "metadata": {"name": name, "labels": data_labels(catalog, &name, "database")},
        "spec": {
            "secretName": cluster_secret(db),
            "tlsUseSelfSigned": true,
            "instances": INSTANCES,
            "version": tag(&m.image),
            "mycnf": format!(
                "[mysqld]\ncharacter-set-server={}\ncollation-server={}\n",
                db.database.charset, db.database.collation
            ),
            "podLabels": {"app": name},
            "podSpec": {"containers": [{"name": "mysql", "resources": resources}]},
            "datadirVolumeClaimTemplate": claim,
            "router": {"instances": ROUTERS, "podLabels": {"app": router_app(db)}},
            "metrics": {"enable": true, "image": m.exporter.image, "monitor": false},
        },
    })
}

/// The database, the application user and the backup user, created (or their
/// passwords updated) through the router as root after every sync: the operator
/// creates only its own accounts. It waits for the cluster to serve, which ArgoCD
/// cannot see (an InnoDBCluster has no health check there).
fn users(catalog: &Catalog, templates: &Templates, db: &DatabaseView) -> Result<Object> {
    let m = &catalog.mysql;
    let name = users_job(db);
    let script = templates.text(
        "mysql/cluster-users.sh.j2",
        &UsersContext {
            host: db.deployment(),
            port: MYSQL,
            database: &db.database.name,
            charset: &db.database.charset,
            collation: &db.database.collation,
            backup_user: m.backup.user.as_str(),
            secrets: MYSQL_SECRETS,
        },
    )?;
    let l = data_labels(catalog, &name, "database-setup");
    let container = k8s_openapi::api::core::v1::Container {
        command: Some(vec!["/bin/sh".into(), "-c".into(), script]),
        resources: Some(pod::resources(&m.resources)),
        volume_mounts: Some(vec![
            pod::mount("tmp", "/tmp", false),
            pod::mount("credentials", MYSQL_SECRETS, true),
        ]),
        ..pod::container("users", &m.image, m.run_as_user)
    };
    let spec = k8s_openapi::api::core::v1::PodSpec {
        restart_policy: Some("Never".into()),
        ..pod::spec(
            m.run_as_user,
            vec![container],
            vec![
                pod::empty_dir("tmp"),
                pod::secret_items_volume(
                    "credentials",
                    &db.secret(),
                    &["root-password", "username", "password", "backup-password"],
                ),
            ],
        )
    };
    let mut annotations = pod::exceptions(&[pod::TAG_PINNED]);
    annotations.extend(labels([
        ("argocd.argoproj.io/hook", "PostSync"),
        (
            "argocd.argoproj.io/hook-delete-policy",
            "BeforeHookCreation",
        ),
    ]));
    let template: Value =
        serde_json::to_value(pod::template(&l, spec)).expect("a pod template serializes");
    Ok(json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "labels": l, "annotations": annotations},
        "spec": {"backoffLimit": 3, "activeDeadlineSeconds": 1200, "template": template},
    }))
}
