//! The data layer's replicated modes (`dataLayer`), each switched on in the production of
//! a scratch copy: the objects it builds and their sizes, `validate --crd-schemas` clean,
//! the services still reaching their data through Services the NetworkPolicies admit,
//! `kubectl kustomize` of the written tree printing the build, the diff a reviewer sees;
//! the located errors; the Redis Cluster scripts run under stand-ins and shellcheck.

use crate::check::crd_schemas;
use crate::support::{Scratch, diff, skip, which, with_stdin};
use serde::Deserialize;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn objects(yaml: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(yaml)
        .map(|doc| Value::deserialize(doc).expect("YAML document"))
        .filter(|v| !v.is_null())
        .collect()
}

/// A scratch project whose production runs the given `dataLayer` entries.
fn production_with(entries: &str) -> Scratch {
    let project = Scratch::new();
    let text = project.read("environments/production.yaml");
    project.write(
        "environments/production.yaml",
        &format!("{text}dataLayer:\n{entries}"),
    );
    project
}

fn find<'o>(objects: &'o [Value], kind: &str, name: &str) -> Option<&'o Value> {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
}

fn get<'o>(objects: &'o [Value], kind: &str, name: &str) -> &'o Value {
    find(objects, kind, name).unwrap_or_else(|| panic!("{kind} {name} is built"))
}

fn container<'o>(workload: &'o Value, name: &str) -> &'o Value {
    workload["spec"]["template"]["spec"]["containers"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("container {name}"))
}

/// The checks every mode must pass: validate (with the CRD schemas where CI has them),
/// the written tree through kubectl kustomize equal to the build.
fn validates_and_round_trips(project: &Scratch, test: &str) {
    if let Some(dir) = crd_schemas(test) {
        let dir = dir.display().to_string();
        let out = project
            .run(&["validate", "--crd-schemas", &dir])
            .code(0)
            .stdout;
        assert!(!out.contains("not checked"), "{out}");
    } else {
        project.run(&["validate"]).code(0);
    }
    project.run(&["write"]).code(0);
    let kubectl = Command::new("kubectl")
        .arg("kustomize")
        .arg(project.path().join("k8s/overlays/production"))
        .output();
    match kubectl {
        Ok(output) if output.status.success() => {
            let kustomized = String::from_utf8(output.stdout).expect("utf-8");
            let built = project.run(&["build", "production"]).code(0).stdout;
            assert!(
                kustomized == built,
                "{}",
                diff(&kustomized, &built, "kustomize vs build")
            );
        }
        Ok(output) => panic!(
            "kubectl kustomize: {}",
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(_) => skip(test, "kubectl not found", &["PLATGEN_REQUIRE_KUSTOMIZE"]),
    }
}

/// The claim template of a StatefulSet: its volume name and size, and that ArgoCD would
/// never prune a claim made from it.
fn claim(set: &Value) -> (String, String) {
    let t = &set["spec"]["volumeClaimTemplates"][0];
    assert_eq!(
        t["metadata"]["annotations"]["argocd.argoproj.io/sync-options"],
        "Prune=false,Delete=false"
    );
    assert_eq!(
        set["spec"]["persistentVolumeClaimRetentionPolicy"],
        serde_json::json!({"whenDeleted": "Retain", "whenScaled": "Retain"})
    );
    (
        t["metadata"]["name"].as_str().expect("name").to_owned(),
        t["spec"]["resources"]["requests"]["storage"]
            .as_str()
            .expect("size")
            .to_owned(),
    )
}

fn reachability(project: &Scratch) -> String {
    project.run(&["reachability", "production"]).code(0).stdout
}

#[test]
fn absent_or_default_modes_change_nothing() {
    let plain = Scratch::new();
    let before = plain.run(&["build", "production"]).code(0).stdout;
    let defaults = production_with(
        "  mysql: {mode: deployment}\n  minio: {mode: standalone}\n  redis: {mode: standalone}\n",
    );
    assert!(defaults.run(&["build", "production"]).code(0).stdout == before);
}

#[test]
fn mysql_statefulset_mode_runs_one_set_per_database_behind_the_same_service() {
    let project = production_with("  mysql: {mode: statefulset}\n");
    let built = objects(&project.run(&["build", "production"]).code(0).stdout);
    let databases = ["auth", "orders", "products", "websites"];
    for prefix in databases {
        let name = format!("{prefix}-service-mysql");
        assert!(find(&built, "Deployment", &name).is_none(), "{name}");
        assert!(
            find(
                &built,
                "PersistentVolumeClaim",
                &format!("{prefix}-mysql-pvc")
            )
            .is_none()
        );
        let set = get(&built, "StatefulSet", &name);
        assert_eq!(set["spec"]["replicas"], 1);
        assert_eq!(set["spec"]["podManagementPolicy"], "OrderedReady");
        assert_eq!(set["spec"]["serviceName"], format!("{name}-headless"));
        assert_eq!(claim(set), ("mysql-storage".to_owned(), "10Gi".to_owned()));
        // Production's point-in-time recovery: binary logs on in the set's server.
        let args = container(set, "mysql")["args"].to_string();
        assert!(args.contains("--log-bin=binlog"), "{args}");
        assert!(container(set, "exporter").is_object());
        let headless = get(&built, "Service", &format!("{name}-headless"));
        assert_eq!(headless["spec"]["clusterIP"], "None");
        // The client Service of DB_HOST is the base's, selecting the set's pods.
        let client = get(&built, "Service", &name);
        assert_eq!(client["spec"]["selector"]["app"], name.as_str());
        assert_eq!(
            set["spec"]["template"]["metadata"]["labels"]["app"],
            name.as_str()
        );
        assert_eq!(
            get(&built, "PodDisruptionBudget", &format!("{name}-pdb"))["spec"]["maxUnavailable"],
            1
        );
        // Backups dump through the same Service.
        let backup = get(&built, "CronJob", &format!("{prefix}-mysql-backup")).to_string();
        assert!(backup.contains(&format!("--host={name}")), "{prefix}");
    }
    let reach = reachability(&project);
    assert!(
        reach.contains("orders-service -> orders-service-mysql: 3306\n"),
        "{reach}"
    );
    validates_and_round_trips(
        &project,
        "mysql_statefulset_mode_runs_one_set_per_database_behind_the_same_service",
    );
}

#[test]
fn minio_distributed_mode_runs_an_erasure_set_behind_the_same_service() {
    let plain = objects(&Scratch::new().run(&["build", "production"]).code(0).stdout);
    let project = production_with("  minio: {mode: distributed, nodes: 6}\n");
    let built = objects(&project.run(&["build", "production"]).code(0).stdout);
    assert!(find(&built, "Deployment", "minio").is_none());
    assert!(find(&built, "PersistentVolumeClaim", "minio-pvc").is_none());
    let set = get(&built, "StatefulSet", "minio");
    assert_eq!(set["spec"]["replicas"], 6);
    assert_eq!(set["spec"]["podManagementPolicy"], "Parallel");
    assert_eq!(claim(set), ("minio-data".to_owned(), "10Gi".to_owned()));
    assert_eq!(
        container(set, "minio")["args"][1],
        "http://minio-{0...5}.minio-headless.e-commerce-prod.svc.cluster.local/data"
    );
    let spread = set["spec"]["template"]["spec"]["topologySpreadConstraints"].to_string();
    assert!(spread.contains("topology.kubernetes.io/zone"), "{spread}");
    let headless = get(&built, "Service", "minio-headless");
    assert_eq!(headless["spec"]["publishNotReadyAddresses"], true);
    assert_eq!(
        get(&built, "PodDisruptionBudget", "minio-pdb")["spec"]["maxUnavailable"],
        1
    );
    // The clients and the bucket setup are those of the standalone MinIO.
    assert_eq!(
        get(&built, "Job", "minio-setup-buckets"),
        get(&plain, "Job", "minio-setup-buckets")
    );
    assert_eq!(
        get(&built, "Service", "minio"),
        get(&plain, "Service", "minio")
    );
    let reach = reachability(&project);
    assert!(reach.contains("minio -> minio: 9000\n"), "{reach}");
    assert!(
        reach.contains("products-service -> minio: 9000\n"),
        "{reach}"
    );
    validates_and_round_trips(
        &project,
        "minio_distributed_mode_runs_an_erasure_set_behind_the_same_service",
    );
}

#[test]
fn redis_cluster_mode_runs_six_nodes_and_tells_the_clients() {
    let project = production_with("  redis: {mode: cluster}\n");
    let built = objects(&project.run(&["build", "production"]).code(0).stdout);
    assert!(find(&built, "Deployment", "redis").is_none());
    let set = get(&built, "StatefulSet", "redis");
    assert_eq!(set["spec"]["replicas"], 6);
    assert_eq!(claim(set), ("redis-data".to_owned(), "1Gi".to_owned()));
    let command = container(set, "redis")["command"].to_string();
    for option in [
        "\"--cluster-enabled\",\"yes\"",
        "\"--masterauth\",\"$(REDIS_PASSWORD)\"",
        "\"--cluster-config-file\",\"/data/nodes.conf\"",
        "$(POD_NAME).redis-headless.e-commerce-prod.svc.cluster.local",
    ] {
        assert!(command.contains(option), "{option}: {command}");
    }
    let init = &set["spec"]["template"]["spec"]["initContainers"][0];
    assert_eq!(init["volumeMounts"][0]["mountPath"], "/data");
    let job = get(&built, "Job", "redis-cluster-create");
    assert_eq!(
        job["metadata"]["annotations"]["argocd.argoproj.io/hook"],
        "PostSync"
    );
    for service in [
        "auth-service",
        "products-service",
        "baskets-service",
        "orders-service",
    ] {
        let env = container(get(&built, "Deployment", service), service)["env"].to_string();
        assert!(
            env.contains("{\"name\":\"REDIS_CLUSTER\",\"value\":\"redis\"}")
                && env.contains("\"REDIS_HOST\"")
                && env.contains("\"REDIS_PASSWORD\""),
            "{service}: {env}"
        );
    }
    let monitoring = project.run(&["build", "monitoring"]).code(0).stdout;
    assert!(
        monitoring.contains("kind: cluster"),
        "the relay is not told"
    );
    let reach = reachability(&project);
    for line in [
        "redis -> redis: 6379,16379\n",
        "redis-cluster-create -> redis: 6379\n",
        "auth-service -> redis: 6379\n",
    ] {
        assert!(reach.contains(line), "{line}{reach}");
    }
    validates_and_round_trips(
        &project,
        "redis_cluster_mode_runs_six_nodes_and_tells_the_clients",
    );
}

#[test]
fn replicated_modes_without_volumes_and_small_erasure_sets_are_located_errors() {
    let project = Scratch::new();
    let text = project.read("environments/development.yaml");
    project.write(
        "environments/development.yaml",
        &format!("{text}dataLayer:\n  redis: {{mode: cluster}}\n  minio: {{mode: distributed, nodes: 3}}\n"),
    );
    let lines = text.lines().count();
    let err = project.run(&["validate"]).code(1).stderr;
    for (line, col, what) in [
        (lines + 2, 17, "this redis mode keeps its data on volumes"),
        (lines + 3, 17, "this minio mode keeps its data on volumes"),
        (lines + 3, 37, "a distributed MinIO of 3 nodes"),
    ] {
        assert!(
            err.contains(what)
                && err.contains(&format!("environments/development.yaml:{line}:{col}")),
            "{what} at {line}:{col}:\n{err}"
        );
    }
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A mode switch as a reviewer sees it: the Deployment replaced by the set, and the old
/// claim gone from the rendering but kept by ArgoCD.
#[test]
fn diff_against_a_revision_shows_a_mode_switch_and_the_kept_claim() {
    let project = Scratch::new();
    git(project.path(), &["init", "-q"]);
    git(project.path(), &["add", "environments", "templates"]);
    git(project.path(), &["commit", "-q", "-m", "before"]);
    let text = project.read("environments/production.yaml");
    project.write(
        "environments/production.yaml",
        &format!("{text}dataLayer:\n  mysql: {{mode: statefulset}}\n"),
    );
    let out = project
        .run(&["diff", "production", "--against-ref", "HEAD"])
        .code(1)
        .stdout;
    for line in [
        "added:   StatefulSet.apps e-commerce-prod/auth-service-mysql\n",
        "added:   Service e-commerce-prod/auth-service-mysql-headless\n",
        "removed: Deployment.apps e-commerce-prod/auth-service-mysql\n",
        "removed: PersistentVolumeClaim e-commerce-prod/auth-mysql-pvc (ArgoCD keeps it: Prune=false",
    ] {
        assert!(out.contains(line), "{line}\n{out}");
    }
}

// --- the Redis Cluster scripts ----------------------------------------------------

fn script(objects: &[Value], kind: &str, name: &str, init: bool) -> String {
    let spec = &get(objects, kind, name)["spec"]["template"]["spec"];
    let c = if init {
        &spec["initContainers"][0]
    } else {
        &spec["containers"][0]
    };
    assert_eq!(c["command"][0], "/bin/sh");
    c["command"][2].as_str().expect("script").to_owned()
}

fn redis_scripts() -> (String, String) {
    let project = production_with("  redis: {mode: cluster}\n");
    let built = objects(&project.run(&["build", "production"]).code(0).stdout);
    (
        script(&built, "StatefulSet", "redis", true),
        script(&built, "Job", "redis-cluster-create", false),
    )
}

fn executable(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write stand-in");
    let mut perms = std::fs::metadata(path).expect("stat").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(path, perms).expect("chmod");
}

/// Runs `script` under dash with `bin/` first on PATH; `/data` moved into `dir`.
fn run(dir: &Path, script: &str, env: &[(&str, &str)]) -> std::process::Output {
    let script = script.replace("/data/", &format!("{}/data/", dir.display()));
    let path = format!(
        "{}:{}",
        dir.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new("dash")
        .arg("-c")
        .arg(script)
        .env("PATH", path)
        .envs(env.iter().copied())
        .output()
        .expect("dash runs")
}

#[test]
fn data_layer_scripts_pass_shellcheck() {
    if which("shellcheck").is_none() {
        skip(
            "data_layer_scripts_pass_shellcheck",
            "shellcheck not found",
            &[],
        );
        return;
    }
    let (nodes, create) = redis_scripts();
    let project = innodb_production();
    let built = objects(&project.run(&["build", "production"]).code(0).stdout);
    let users = script(&built, "Job", "auth-mysql-users", false);
    for (name, text) in [
        ("nodes-conf", nodes),
        ("cluster-create", create),
        ("mysql-users", users),
    ] {
        let out = with_stdin(Command::new("shellcheck").args(["-s", "sh", "-"]), &text)
            .expect("shellcheck runs");
        assert!(
            out.status.success(),
            "{name}:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

/// After a restart every address of nodes.conf is looked up again by the host name the
/// node announced; this pod's own is POD_IP; an unknown name keeps its address.
#[test]
fn nodes_conf_gets_the_current_addresses_of_the_announced_host_names() {
    if which("dash").is_none() {
        skip(
            "nodes_conf_gets_the_current_addresses_of_the_announced_host_names",
            "no dash",
            &[],
        );
        return;
    }
    let (nodes, _) = redis_scripts();
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("bin")).expect("mkdir");
    std::fs::create_dir_all(dir.path().join("data")).expect("mkdir");
    // No nodes.conf: a new node, nothing written.
    let out = run(dir.path(), &nodes, &[("POD_IP", "10.0.0.1")]);
    assert!(out.status.success());
    assert!(!dir.path().join("data/nodes.conf").exists());
    executable(
        &dir.path().join("bin/getent"),
        "#!/bin/sh\n[ \"$1\" = hosts ] || exit 9\ncase \"$2\" in\n  redis-1.h) echo '10.0.0.11       redis-1.h' ;;\n  *) exit 2 ;;\nesac\n",
    );
    let conf = "\
a1 10.9.9.10:6379@16379,redis-0.h,tls-port=0,shard-id=s1 myself,master - 0 0 1 connected 0-5460
b2 10.9.9.11:6379@16379,redis-1.h,tls-port=0,shard-id=s2 master - 0 1700000000000 2 connected 5461-10922
c3 10.9.9.12:6379@16379,redis-2.h slave b2 0 1700000000000 2 connected
d4 10.9.9.13:6379@16379 slave a1 0 1700000000000 1 connected
vars currentEpoch 6 lastVoteEpoch 0
";
    std::fs::write(dir.path().join("data/nodes.conf"), conf).expect("write");
    let out = run(dir.path(), &nodes, &[("POD_IP", "10.0.0.1")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = conf
        .replace("10.9.9.10:", "10.0.0.1:")
        .replace("10.9.9.11:", "10.0.0.11:");
    let written = std::fs::read_to_string(dir.path().join("data/nodes.conf")).expect("read");
    assert_eq!(written, expected);
}

/// A stand-in redis-cli: `ping` answers, `cluster info` reports the known nodes of
/// each host from `known/<host>`, `--cluster` calls are logged to `calls` and fail when
/// `fail-create` exists.
const REDIS_CLI: &str = r#"#!/bin/sh
dir=$(dirname "$0")/..
host=
while [ $# -gt 0 ]; do
  case "$1" in
    -h) host=$2; shift 2 ;;
    -p) shift 2 ;;
    --cluster) echo "$*" >> "$dir/calls"; [ ! -e "$dir/fail-create" ] || exit 1; for f in "$dir"/known/*; do echo 6 > "$f"; done; exit 0 ;;
    ping) echo PONG; exit 0 ;;
    cluster) printf 'cluster_state:%s\r\ncluster_known_nodes:%s\r\n' "$( [ "$(cat "$dir/known/$host")" -gt 1 ] && echo ok || echo fail)" "$(cat "$dir/known/$host")"; exit 0 ;;
    *) shift ;;
  esac
done
"#;

fn cluster_sandbox(create: &str, known: &[u32]) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    for sub in ["bin", "known"] {
        std::fs::create_dir_all(dir.path().join(sub)).expect("mkdir");
    }
    executable(&dir.path().join("bin/redis-cli"), REDIS_CLI);
    executable(&dir.path().join("bin/sleep"), "#!/bin/sh\nexit 0\n");
    for (i, n) in known.iter().enumerate() {
        let host = format!("redis-{i}.redis-headless.e-commerce-prod.svc.cluster.local");
        std::fs::write(dir.path().join("known").join(host), n.to_string()).expect("write");
    }
    (dir, create.to_owned())
}

#[test]
fn cluster_create_forms_a_new_cluster_once_and_refuses_a_partial_one() {
    if which("dash").is_none() {
        skip(
            "cluster_create_forms_a_new_cluster_once_and_refuses_a_partial_one",
            "no dash",
            &[],
        );
        return;
    }
    let (_, create) = redis_scripts();
    // Six new nodes: one `--cluster create` of all six, one replica each.
    let (dir, script) = cluster_sandbox(&create, &[1; 6]);
    let out = run(dir.path(), &script, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let calls = std::fs::read_to_string(dir.path().join("calls")).expect("calls");
    assert_eq!(calls.lines().count(), 1, "{calls}");
    assert!(
        calls.starts_with(
            "--cluster create redis-0.redis-headless.e-commerce-prod.svc.cluster.local:6379 "
        ),
        "{calls}"
    );
    assert!(calls.contains("redis-5.redis-headless.e-commerce-prod.svc.cluster.local:6379 --cluster-replicas 1 --cluster-yes"), "{calls}");
    // Formed before: checked, not created again.
    let out = run(dir.path(), &script, &[]);
    assert!(out.status.success());
    let calls = std::fs::read_to_string(dir.path().join("calls")).expect("calls");
    assert_eq!(calls.lines().count(), 1, "{calls}");
    // redis-cli failing: the Job fails.
    let (dir, script) = cluster_sandbox(&create, &[1; 6]);
    std::fs::write(dir.path().join("fail-create"), "").expect("write");
    assert!(!run(dir.path(), &script, &[]).status.success());
    // One node lost its volume: named, never re-created over the others.
    let (dir, script) = cluster_sandbox(&create, &[6, 6, 1, 6, 6, 6]);
    let out = run(dir.path(), &script, &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not members: redis-2.redis-headless"), "{err}");
    assert!(!dir.path().join("calls").exists());
}

/// A redis-server of the test, killed with the test.
struct Node(std::process::Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The Redis Cluster as the pods run it, with real redis-server processes on loopback
/// addresses: the server options of the built StatefulSet, the creation Job's script,
/// then a restart of all six nodes on new addresses (as pods rescheduled at once) with
/// the init container's nodes.conf refresh before it: the cluster comes back, and its
/// redirections name the nodes' host names. Without the refresh it stays down.
#[test]
fn redis_cluster_forms_and_survives_new_addresses_for_every_node() {
    let test = "redis_cluster_forms_and_survives_new_addresses_for_every_node";
    if ["redis-server", "redis-cli", "dash"]
        .iter()
        .any(|p| which(p).is_none())
    {
        skip(test, "redis-server, redis-cli or dash not found", &[]);
        return;
    }
    let project = production_with("  redis: {mode: cluster}\n");
    let built = objects(&project.run(&["build", "production"]).code(0).stdout);
    let set = get(&built, "StatefulSet", "redis");
    let options: Vec<String> = container(set, "redis")["command"]
        .as_array()
        .expect("command")
        .iter()
        .skip(1)
        .map(|a| a.as_str().expect("argument").to_owned())
        .collect();
    let (nodes_conf, create) = redis_scripts();
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("bin")).expect("mkdir");
    // Ports of this run, so that concurrent runs and real servers do not meet.
    let port = 20_000 + (std::process::id() % 20_000) as u16;
    let host = |i: usize| format!("redis-{i}.redis-headless.e-commerce-prod.svc.cluster.local");
    let address =
        |generation: usize, i: usize| format!("127.{}.{generation}.{}", 100 + port % 100, 10 + i);
    let start = |generation: usize| -> Vec<Node> {
        (0..6)
            .map(|i| {
                let data = dir.path().join(format!("data/n{i}"));
                std::fs::create_dir_all(&data).expect("mkdir");
                let ip = address(generation, i);
                let args: Vec<String> = options
                    .iter()
                    .map(|a| {
                        a.replace("$(REDIS_PASSWORD)", "secret")
                            .replace("$(POD_IP)", &ip)
                            .replace("$(POD_NAME)", &format!("redis-{i}"))
                            .replace("/data/", &format!("{}/", data.display()))
                            .replace("16379", &(port + 10_000).to_string())
                            .replace("6379", &port.to_string())
                    })
                    .collect();
                let child = Command::new("redis-server")
                    .args(&args)
                    .args(["--bind", &ip, "--dir", &data.display().to_string()])
                    .stdout(std::process::Stdio::null())
                    .spawn()
                    .expect("redis-server starts");
                Node(child)
            })
            .collect()
    };
    let cli = |ip: &str, args: &[&str]| -> String {
        let out = Command::new("redis-cli")
            .args(["-h", ip, "-p", &port.to_string()])
            .args(args)
            .env("REDISCLI_AUTH", "secret")
            .output()
            .expect("redis-cli runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // Every node serves its slots and holds a live link to each of the other five (a
    // node reports `cluster_state:ok` for a while before it notices peers are gone).
    let state_ok = |generation: usize| {
        (0..60).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(500));
            (0..6).all(|i| {
                let ip = address(generation, i);
                let nodes = cli(&ip, &["cluster", "nodes"]);
                cli(&ip, &["cluster", "info"]).contains("cluster_state:ok")
                    && nodes.lines().count() == 6
                    && nodes
                        .lines()
                        .all(|l| l.split(' ').nth(7) == Some("connected") && !l.contains("fail"))
            })
        })
    };
    // The Job's script, the pods' host names replaced by this run's addresses.
    let mut create = create.replace("port=6379", &format!("port={port}"));
    for i in 0..6 {
        create = create.replace(&host(i), &address(0, i));
    }
    let first = start(0);
    let out = run(dir.path(), &create, &[("REDISCLI_AUTH", "secret")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(state_ok(0), "the cluster did not form");
    // Run again (the Job after the next sync): checked, not created again.
    let again = run(dir.path(), &create, &[("REDISCLI_AUTH", "secret")]);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    for i in 0..6 {
        cli(&address(0, i), &["shutdown", "nosave"]);
    }
    drop(first);
    // Every pod rescheduled at once: new addresses. The init container first.
    let resolver: String = (0..6)
        .map(|i| format!("  {}) echo '{} {}' ;;\n", host(i), address(1, i), host(i)))
        .collect();
    executable(
        &dir.path().join("bin/getent"),
        &format!("#!/bin/sh\ncase \"$2\" in\n{resolver}  *) exit 2 ;;\nesac\n"),
    );
    for i in 0..6 {
        // `run` moves `/data/` into the sandbox: node i's folder there.
        let script = nodes_conf.replace("/data/", &format!("/data/n{i}/"));
        let out = run(dir.path(), &script, &[("POD_IP", &address(1, i))]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let _second = start(1);
    assert!(
        state_ok(1),
        "the cluster did not come back on its new addresses"
    );
    let moved = (0..20)
        .map(|k| cli(&address(1, 0), &["set", &format!("key-{k}"), "v"]))
        .find(|reply| reply.starts_with("MOVED"))
        .expect("some key lives on another master");
    assert!(
        moved.contains(".redis-headless.e-commerce-prod.svc.cluster.local:"),
        "{moved}"
    );
}

/// Production with InnoDB Clusters: without binary-log shipping, Pod Security `baseline`
/// (both refused with them, see the errors test).
fn innodb_production() -> Scratch {
    let project = production_with("  mysql: {mode: innodb-cluster}\n");
    project.edit(
        "environments/production.yaml",
        "    pointInTime: {rpoMinutes: 15}\n",
        "",
    );
    project.edit(
        "environments/production.yaml",
        "podSecurity: restricted",
        "podSecurity: baseline",
    );
    project
}

#[test]
fn mysql_innodb_cluster_mode_runs_an_operator_cluster_per_database_behind_the_same_host() {
    let test =
        "mysql_innodb_cluster_mode_runs_an_operator_cluster_per_database_behind_the_same_host";
    // Binary-log shipping is refused with InnoDB Clusters (see the errors test).
    let project = innodb_production();
    let built = objects(&project.run(&["build", "production"]).code(0).stdout);
    for prefix in ["auth", "orders", "websites"] {
        let name = format!("{prefix}-service-mysql");
        // The operator creates the router's Service under the database's Service name.
        assert!(find(&built, "Deployment", &name).is_none(), "{name}");
        assert!(find(&built, "Service", &name).is_none(), "{name}");
        let cluster = &get(&built, "InnoDBCluster", &name)["spec"];
        assert_eq!(cluster["instances"], 3);
        assert_eq!(cluster["router"]["instances"], 2);
        assert_eq!(
            cluster["secretName"],
            format!("{prefix}-mysql-cluster-secret")
        );
        assert_eq!(
            cluster["datadirVolumeClaimTemplate"]["resources"]["requests"]["storage"],
            "10Gi"
        );
        assert_eq!(cluster["podLabels"]["app"], name.as_str());
        assert!(
            cluster["mycnf"]
                .as_str()
                .expect("mycnf")
                .contains("collation-server=utf8mb4_unicode_ci")
        );
        let secret = &get(
            &built,
            "ExternalSecret",
            &format!("{prefix}-mysql-cluster-secret"),
        )["spec"];
        let keys: Vec<&str> = secret["target"]["template"]["data"]
            .as_object()
            .expect("template")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["rootHost", "rootPassword", "rootUser"]);
        let job = get(&built, "Job", &format!("{prefix}-mysql-users"));
        assert_eq!(
            job["metadata"]["annotations"]["argocd.argoproj.io/hook"],
            "PostSync"
        );
    }
    let env = container(
        get(&built, "Deployment", "orders-service"),
        "orders-service",
    )["env"]
        .to_string();
    for pair in [
        "{\"name\":\"DB_HOST\",\"value\":\"orders-service-mysql\"}",
        "{\"name\":\"DB_READ_HOST\",\"value\":\"orders-service-mysql\"}",
        "{\"name\":\"DB_READ_PORT\",\"value\":\"6447\"}",
    ] {
        assert!(env.contains(pair), "{pair}: {env}");
    }
    // The operator is bootstrapped a wave before the environments, and only for them.
    let argocd = objects(&project.run(&["build", "argocd"]).code(0).stdout);
    let wave = |o: &Value| -> i64 {
        o["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]
            .as_str()
            .and_then(|w| w.parse().ok())
            .expect("a sync wave")
    };
    let operator = get(&argocd, "Application", "mysql-operator");
    assert_eq!(operator["spec"]["source"]["chart"], "mysql-operator");
    assert!(wave(operator) < wave(get(&argocd, "Application", "e-commerce-production")));
    let plain = objects(&Scratch::new().run(&["build", "argocd"]).code(0).stdout);
    assert!(find(&plain, "Application", "mysql-operator").is_none());
    // The operator's exporter sidecars are scraped where clusters run.
    let monitoring = objects(&project.run(&["build", "monitoring"]).code(0).stdout);
    let monitor = &get(&monitoring, "PodMonitor", "mysql-cluster-exporters")["spec"];
    assert_eq!(
        monitor["namespaceSelector"]["matchNames"],
        serde_json::json!(["e-commerce-prod"])
    );
    assert_eq!(monitor["selector"]["matchLabels"]["component"], "mysqld");
    let reach = reachability(&project);
    for line in [
        "orders-service -> orders-service-mysql-router: 6446-6447\n",
        "mysql-backup -> orders-service-mysql-router: 6446\n",
        "orders-service-mysql -> orders-service-mysql: 3306,33060-33061\n",
    ] {
        assert!(reach.contains(line), "{line}{reach}");
    }
    validates_and_round_trips(&project, test);
}

#[test]
fn innodb_cluster_with_binary_log_shipping_or_restricted_pods_is_a_located_error() {
    let project = production_with("  mysql: {mode: innodb-cluster}\n");
    let lines = Scratch::new()
        .read("environments/production.yaml")
        .lines()
        .count();
    let err = project.run(&["validate"]).code(1).stderr;
    for what in [
        "binary-log shipping follows one server",
        "Pod Security `restricted` refuses them",
    ] {
        assert!(
            err.contains(what)
                && err.contains(&format!("environments/production.yaml:{}:17", lines + 2)),
            "{what}: {err}"
        );
    }
}
