//! Objects stage: the data layer's replicated modes of an environment (`dataLayer`).
//! Each replaces a single-instance Deployment of the base by a StatefulSet running the
//! same pod under the same name and labels, so that the base's client Service (the
//! `*_HOST` every consumer has) and NetworkPolicies keep selecting it: one MySQL
//! StatefulSet per database, a distributed MinIO, a Redis Cluster. The overlay deletes
//! the Deployment (`$patch: delete`) and adds these.

use serde::Serialize;
use serde_json::{Value, json};

use super::data::{self, MINIO, MINIO_DATA, MYSQL_DATA, REDIS, REDIS_DATA, data_labels};
use super::pod;
use super::workloads::{REDIS_SECRET, selector};
use crate::descriptor::{Catalog, EnvironmentFile, MysqlMode, RedisMode};
use crate::error::Result;
use crate::object::{self, Object, labels};
use crate::template::Templates;
use crate::tree::File;

/// Redis Cluster: three masters, each with one replica (the seed's six nodes).
pub const REDIS_MASTERS: u32 = 3;
pub const REDIS_REPLICAS_PER_MASTER: u32 = 1;
/// The cluster bus port of every Redis node (gossip and failover between nodes).
pub const REDIS_BUS_PORT: u16 = 16379;
/// The Job that forms the Redis Cluster.
pub const REDIS_CLUSTER_CREATE: &str = "redis-cluster-create";
/// Where a Redis pod keeps its data and `nodes.conf`.
const REDIS_DIR: &str = "/data";

/// The Service giving each pod of a StatefulSet its DNS name (`<pod>.<service>`).
pub fn headless(name: &str) -> String {
    format!("{name}-headless")
}

/// The base Deployments an environment's modes replace.
pub fn replaced(catalog: &Catalog, env: &EnvironmentFile) -> Vec<String> {
    let layer = &env.data_layer;
    let mut names = Vec::new();
    if layer.mysql.mode != MysqlMode::Deployment {
        names.extend(catalog.databases().map(|db| db.deployment()));
    }
    if layer.redis.mode == RedisMode::Cluster {
        names.push(REDIS.to_owned());
    }
    if layer.minio.distributed().is_some() {
        names.push(MINIO.to_owned());
    }
    names
}

/// One patch file per replaced object, deleting it: kustomize refuses a file holding
/// several `$patch: delete` documents. The replaced Deployments, and with InnoDB
/// Clusters the databases' Services too: the operator creates its router's Service
/// under the same name.
pub fn delete_patches(catalog: &Catalog, env: &EnvironmentFile) -> Vec<File> {
    let delete = |api_version: &str, kind: &str, name: &str, file: String| {
        let patch = json!({
            "$patch": "delete",
            "apiVersion": api_version,
            "kind": kind,
            "metadata": {"name": name},
        });
        File::new(file, vec![patch])
    };
    let mut files: Vec<File> = replaced(catalog, env)
        .into_iter()
        .map(|name| {
            delete(
                "apps/v1",
                "Deployment",
                &name,
                format!("patches/replace-{name}.yaml"),
            )
        })
        .collect();
    if env.data_layer.mysql.mode == MysqlMode::InnodbCluster {
        files.extend(catalog.databases().map(|db| {
            let name = db.deployment();
            delete(
                "v1",
                "Service",
                &name,
                format!("patches/replace-{name}-service.yaml"),
            )
        }));
    }
    files
}

/// Environment variables the services with Redis get in cluster mode: Laravel's
/// `REDIS_CLUSTER` option (`redis`: the client's own cluster support, following the
/// cluster's redirections), as a patch of each such service.
pub fn redis_client_patches(catalog: &Catalog, env: &EnvironmentFile) -> Vec<Object> {
    if env.data_layer.redis.mode != RedisMode::Cluster {
        return Vec::new();
    }
    catalog
        .services()
        .filter(|s| s.service.redis)
        .map(|s| {
            let name = s.service.name.as_str();
            json!({
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": name},
                "spec": {"template": {"spec": {"containers": [{
                    "name": name,
                    "env": [{"name": "REDIS_CLUSTER", "value": "redis"}],
                }]}}},
            })
        })
        .collect()
}

/// The objects of the environment's replicated modes, in a stable order.
pub fn objects(
    catalog: &Catalog,
    env: &EnvironmentFile,
    templates: &Templates,
) -> Result<Vec<Object>> {
    let layer = &env.data_layer;
    let mut objects = Vec::new();
    if layer.mysql.mode == MysqlMode::Statefulset {
        let pitr = env
            .storage
            .backup
            .as_ref()
            .and_then(|b| b.point_in_time.as_ref());
        for db in catalog.databases() {
            let base = data::mysql(catalog, &db);
            let mut set = Set::new(env, &base[0], MYSQL_DATA, &catalog.mysql.storage);
            set.replicas = 1;
            let mut sts = set.build();
            container(&mut sts, "mysql")["args"] = json!(data::mysql_args(catalog, &db, pitr));
            let name = db.deployment();
            let l = data_labels(catalog, &name, "database");
            objects.push(sts);
            objects.push(headless_service(&name, &l, &[("mysql", 3306)], false));
            objects.push(disruption_budget(&name, &l));
        }
    }
    if layer.mysql.mode == MysqlMode::InnodbCluster {
        objects.extend(super::innodb::objects(catalog, env, templates)?);
    }
    if let Some(nodes) = layer.minio.distributed() {
        objects.extend(minio(catalog, env, nodes));
    }
    if layer.redis.mode == RedisMode::Cluster {
        objects.extend(redis(catalog, env, templates)?);
    }
    Ok(objects)
}

/// A StatefulSet running the pod of a base Deployment: same name, labels, selector and
/// pod; its data volume a claim per pod that outlives the set (`Retain`), so that
/// neither a scale-down nor a deleted set (a mode switched back) takes data with it.
struct Set<'a> {
    env: &'a EnvironmentFile,
    deployment: &'a Object,
    volume: &'a str,
    size: &'a crate::scalar::Quantity,
    replicas: u32,
    /// Start every pod at once (members that must see each other to become ready)
    /// rather than one after the other.
    parallel: bool,
    spread: bool,
}

impl<'a> Set<'a> {
    fn new(
        env: &'a EnvironmentFile,
        deployment: &'a Object,
        volume: &'a str,
        size: &'a crate::scalar::Quantity,
    ) -> Set<'a> {
        Set {
            env,
            deployment,
            volume,
            size,
            replicas: 1,
            parallel: false,
            spread: false,
        }
    }

    fn build(&self) -> Object {
        let d = self.deployment;
        let name = object::name(d);
        let mut template = d["spec"]["template"].clone();
        if let Some(volumes) = template["spec"]["volumes"].as_array_mut() {
            volumes.retain(|v| v["name"] != self.volume);
        }
        if self.spread {
            template["spec"]["topologySpreadConstraints"] = spread(name);
        }
        let claim_labels = d["metadata"]["labels"].clone();
        let mut claim_spec = json!({
            "accessModes": ["ReadWriteOnce"],
            "volumeMode": "Filesystem",
            "resources": {"requests": {"storage": self.size.to_string()}},
        });
        if let Some(class) = &self.env.storage.storage_class {
            claim_spec["storageClassName"] = json!(class.as_str());
        }
        json!({
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": d["metadata"].clone(),
            "spec": {
                "serviceName": headless(name),
                "replicas": self.replicas,
                "podManagementPolicy": if self.parallel { "Parallel" } else { "OrderedReady" },
                "updateStrategy": {"type": "RollingUpdate"},
                "persistentVolumeClaimRetentionPolicy": {
                    "whenDeleted": "Retain",
                    "whenScaled": "Retain",
                },
                "selector": d["spec"]["selector"].clone(),
                "template": template,
                // apiVersion and kind as the API server stores them, so that ArgoCD's
                // diff of the set does not flap.
                "volumeClaimTemplates": [{
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "metadata": {
                        "name": self.volume,
                        "labels": claim_labels,
                        "annotations": {
                            "argocd.argoproj.io/sync-options": "Prune=false,Delete=false",
                        },
                    },
                    "spec": claim_spec,
                }],
            },
        })
    }
}

/// The container `name` of a workload's pod template.
fn container<'o>(workload: &'o mut Object, name: &str) -> &'o mut Value {
    workload["spec"]["template"]["spec"]["containers"]
        .as_array_mut()
        .and_then(|cs| cs.iter_mut().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("the pod has a container `{name}`"))
}

/// Members of a replicated set on distinct nodes (two on one node only when there are
/// fewer nodes than members), and across zones where the cluster has them.
fn spread(name: &str) -> Value {
    let select = json!({"matchLabels": selector(name)});
    json!([
        {
            "maxSkew": 1,
            "topologyKey": "kubernetes.io/hostname",
            "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": select,
        },
        {
            "maxSkew": 1,
            "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": select,
        },
    ])
}

/// `<name>-headless`: a DNS name per pod. `publish_not_ready`: before they are ready,
/// as members that find each other to start up need.
fn headless_service(
    name: &str,
    l: &std::collections::BTreeMap<String, String>,
    ports: &[(&str, u16)],
    publish_not_ready: bool,
) -> Object {
    let ports: Vec<Value> = ports
        .iter()
        .map(|(port_name, port)| {
            json!({"name": port_name, "port": port, "protocol": "TCP", "targetPort": port_name})
        })
        .collect();
    let mut spec = json!({
        "clusterIP": "None",
        "selector": selector(name),
        "ports": ports,
    });
    if publish_not_ready {
        spec["publishNotReadyAddresses"] = json!(true);
    }
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": headless(name), "labels": l},
        "spec": spec,
    })
}

/// At most one member down by choice (a drain): a MinIO erasure set keeps its write
/// quorum, a Redis master keeps its replica. A single-instance database gets the same
/// budget, which lets a drain move it (the project refuses budgets that block drains).
fn disruption_budget(name: &str, l: &std::collections::BTreeMap<String, String>) -> Object {
    json!({
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": format!("{name}-pdb"), "labels": l},
        "spec": {
            "maxUnavailable": 1,
            "selector": {"matchLabels": selector(name)},
        },
    })
}

/// The peer of a NetworkPolicy rule: the pods of the namespace with these labels.
pub(super) fn pods(labels: &[(&str, &str)]) -> Value {
    let labels: serde_json::Map<String, Value> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!(v)))
        .collect();
    json!({"podSelector": {"matchLabels": labels}})
}

/// The pods labelled `app: <name>`, as a rule's peer.
pub(super) fn app(name: &str) -> Value {
    pods(&[("app", name)])
}

/// A rule's peers and TCP ports; no peers: any destination.
pub(super) type Rule<'r> = (Vec<Value>, &'r [u16]);

/// A NetworkPolicy over the pods `selected` (a peer, see [`pods`]): `ingress` and
/// `egress` rules, with no policy type it does not list.
pub(super) fn policy(
    catalog: &Catalog,
    policy_name: &str,
    selected: &Value,
    ingress: &[Rule],
    egress: &[Rule],
) -> Object {
    let mut l = labels([("app.kubernetes.io/part-of", catalog.platform.name.as_str())]);
    l.extend(catalog.platform.labels.clone());
    let rules = |rules: &[Rule], side: &str| -> Vec<Value> {
        rules
            .iter()
            .map(|(peers, ports)| {
                let ports: Vec<Value> = ports
                    .iter()
                    .map(|p| json!({"port": p, "protocol": "TCP"}))
                    .collect();
                let mut rule = json!({"ports": ports});
                if !peers.is_empty() {
                    rule[side] = json!(peers);
                }
                rule
            })
            .collect()
    };
    let mut types = Vec::new();
    let mut spec = json!({"podSelector": selected["podSelector"].clone()});
    if !ingress.is_empty() {
        types.push("Ingress");
        spec["ingress"] = json!(rules(ingress, "from"));
    }
    if !egress.is_empty() {
        types.push("Egress");
        spec["egress"] = json!(rules(egress, "to"));
    }
    spec["policyTypes"] = json!(types);
    json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": policy_name, "labels": l},
        "spec": spec,
    })
}

/// `<pod>.<headless service>.<namespace>.svc.cluster.local`
fn pod_host(env: &EnvironmentFile, pod: &str, set: &str) -> String {
    format!(
        "{pod}.{}.{}.svc.cluster.local",
        headless(set),
        env.namespace
    )
}

/// MinIO on `nodes` servers with a drive each, one erasure set: every server is given
/// the whole set (`{0...N-1}`, MinIO's own expansion) and finds itself in it.
fn minio(catalog: &Catalog, env: &EnvironmentFile, nodes: u32) -> Vec<Object> {
    let m = &catalog.minio;
    let base = data::minio(catalog);
    let mut set = Set::new(env, &base[0], MINIO_DATA, &m.storage);
    set.replicas = nodes;
    set.parallel = true;
    set.spread = true;
    let mut sts = set.build();
    let (api, console) = (m.api_port.get(), m.console_port.get());
    let servers = format!(
        "http://{}/data",
        pod_host(env, &format!("{MINIO}-{{0...{}}}", nodes - 1), MINIO)
    );
    container(&mut sts, "minio")["args"] = json!([
        "server",
        servers,
        "--address",
        format!(":{api}"),
        "--console-address",
        format!(":{console}"),
    ]);
    let l = data_labels(catalog, MINIO, "object-storage");
    vec![
        sts,
        headless_service(MINIO, &l, &[("api", api)], true),
        disruption_budget(MINIO, &l),
        // The servers talk to each other on the API port (storage RPC and locks).
        policy(
            catalog,
            "minio-distributed",
            &app(MINIO),
            &[(vec![app(MINIO)], &[api])],
            &[(vec![app(MINIO)], &[api])],
        ),
    ]
}

#[derive(Serialize)]
struct NodesContext {
    data: &'static str,
}

#[derive(Serialize)]
struct CreateContext {
    nodes: Vec<String>,
    port: u16,
    masters: u32,
    replicas_per_master: u32,
}

/// Redis Cluster: six pods in cluster mode announcing their stable host names, their
/// `nodes.conf` on their volume with addresses refreshed at start, the Job that forms
/// the cluster, and the policies for replication and the cluster bus.
fn redis(catalog: &Catalog, env: &EnvironmentFile, templates: &Templates) -> Result<Vec<Object>> {
    let r = &catalog.redis;
    let port = r.port.get();
    let members = REDIS_MASTERS * (1 + REDIS_REPLICAS_PER_MASTER);
    let base = data::redis(catalog);
    let mut set = Set::new(env, &base[0], REDIS_DATA, &r.storage);
    set.replicas = members;
    set.parallel = true;
    set.spread = true;
    let mut sts = set.build();
    let host = pod_host(env, "$(POD_NAME)", REDIS);
    {
        let server = container(&mut sts, "redis");
        server["command"] = json!([
            "redis-server",
            "--port",
            port.to_string(),
            "--requirepass",
            "$(REDIS_PASSWORD)",
            "--masterauth",
            "$(REDIS_PASSWORD)",
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            format!("{REDIS_DIR}/nodes.conf"),
            "--cluster-port",
            REDIS_BUS_PORT.to_string(),
            "--cluster-announce-ip",
            "$(POD_IP)",
            "--cluster-announce-hostname",
            host,
            "--cluster-preferred-endpoint-type",
            "hostname",
        ]);
        let env_list = server["env"].as_array_mut().expect("redis has env");
        env_list.splice(
            0..0,
            [
                field_env("POD_NAME", "metadata.name"),
                field_env("POD_IP", "status.podIP"),
            ],
        );
        server["ports"]
            .as_array_mut()
            .expect("redis has ports")
            .push(
                json!({"containerPort": REDIS_BUS_PORT, "name": "cluster-bus", "protocol": "TCP"}),
            );
    }
    let refresh = templates.text(
        "redis/cluster-nodes.sh.j2",
        &NodesContext { data: REDIS_DIR },
    )?;
    let init = {
        let c = pod::container("nodes-conf", &r.image, r.run_as_user);
        let mut c = serde_json::to_value(c).expect("a container serializes");
        c["command"] = json!(["/bin/sh", "-c", refresh]);
        c["env"] = json!([field_env("POD_IP", "status.podIP")]);
        c["resources"] = serde_json::to_value(pod::resources(&r.resources)).expect("resources");
        c["volumeMounts"] = json!([{"mountPath": REDIS_DIR, "name": REDIS_DATA}]);
        c
    };
    sts["spec"]["template"]["spec"]["initContainers"] = json!([init]);
    let l = data_labels(catalog, REDIS, "cache");
    let nodes = (0..members)
        .map(|i| pod_host(env, &format!("{REDIS}-{i}"), REDIS))
        .collect();
    let script = templates.text(
        "redis/cluster-create.sh.j2",
        &CreateContext {
            nodes,
            port,
            masters: REDIS_MASTERS,
            replicas_per_master: REDIS_REPLICAS_PER_MASTER,
        },
    )?;
    Ok(vec![
        sts,
        headless_service(
            REDIS,
            &l,
            &[("redis", port), ("cluster-bus", REDIS_BUS_PORT)],
            true,
        ),
        disruption_budget(REDIS, &l),
        cluster_create_job(catalog, script),
        // Replicas follow their master on the client port; failure detection and
        // failover go over the bus. The Job forming the cluster reaches every node.
        policy(
            catalog,
            "redis-cluster",
            &app(REDIS),
            &[
                (vec![app(REDIS)], &[port, REDIS_BUS_PORT]),
                (vec![app(REDIS_CLUSTER_CREATE)], &[port]),
            ],
            &[(vec![app(REDIS)], &[port, REDIS_BUS_PORT])],
        ),
        policy(
            catalog,
            &format!("{REDIS_CLUSTER_CREATE}-traffic"),
            &app(REDIS_CLUSTER_CREATE),
            &[],
            &[(vec![app(REDIS)], &[port])],
        ),
    ])
}

fn field_env(name: &str, path: &str) -> Value {
    json!({"name": name, "valueFrom": {"fieldRef": {"fieldPath": path}}})
}

/// The Job forming the Redis Cluster, after every sync (an ArgoCD PostSync hook: the
/// set's pods are up by then); it only checks a cluster formed before.
fn cluster_create_job(catalog: &Catalog, script: String) -> Object {
    let r = &catalog.redis;
    let l = data_labels(catalog, REDIS_CLUSTER_CREATE, "cache");
    let c = pod::container("redis-cli", &r.image, r.run_as_user);
    let mut c = serde_json::to_value(c).expect("a container serializes");
    c["command"] = json!(["/bin/sh", "-c", script]);
    c["env"] =
        json!([
            serde_json::to_value(pod::secret_env("REDISCLI_AUTH", REDIS_SECRET, "password"))
                .expect("env")
        ]);
    c["resources"] = serde_json::to_value(pod::resources(&r.resources)).expect("resources");
    let mut spec = serde_json::to_value(pod::spec(r.run_as_user, Vec::new(), Vec::new()))
        .expect("a pod spec serializes");
    spec["containers"] = json!([c]);
    spec["restartPolicy"] = json!("Never");
    if let Some(map) = spec.as_object_mut() {
        map.remove("volumes");
    }
    let mut annotations = pod::exceptions(&[pod::TAG_PINNED, pod::SECRET_IN_ENV]);
    annotations.extend(labels([
        ("argocd.argoproj.io/hook", "PostSync"),
        (
            "argocd.argoproj.io/hook-delete-policy",
            "BeforeHookCreation",
        ),
    ]));
    json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": REDIS_CLUSTER_CREATE, "labels": l, "annotations": annotations},
        "spec": {
            "backoffLimit": 3,
            "activeDeadlineSeconds": 900,
            "template": {"metadata": {"labels": l}, "spec": spec},
        },
    })
}
