//! `platgen build` and `platgen targets` on the shipped descriptors; golden files.

use crate::support::{Scratch, diff, repo, run_from, run_in, targets};
use serde_json::Value;
use std::collections::BTreeSet;

/// Rewrite golden files instead of comparing them (set by a person, never by CI).
const UPDATE: &str = "PLATGEN_UPDATE_GOLDEN";

fn documents(stream: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(stream)
        .map(|d| serde::Deserialize::deserialize(d).expect("valid YAML document"))
        .collect()
}

fn kinds(stream: &str) -> Vec<(String, String, String)> {
    documents(stream)
        .iter()
        .map(|o| {
            (
                o["kind"].as_str().unwrap_or_default().to_owned(),
                o["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                o["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect()
}

#[test]
fn targets_lists_every_environment_with_its_overlay() {
    let out = run_in(&repo(), &["targets"]).code(0).stdout;
    for env in ["development", "staging", "production"] {
        assert!(
            out.contains(&format!("{env}\tenvironment\toverlays/{env}\n")),
            "{out}"
        );
    }
}

/// Like git finding `.git`: from a folder inside the project, platgen finds its root.
#[test]
fn the_project_root_is_found_from_a_folder_inside_it() {
    let project = Scratch::new();
    project.run(&["write"]).code(0);
    let inside = project.path().join("k8s/overlays");
    let from_inside = run_from(&inside, &["targets"]).code(0).stdout;
    assert_eq!(from_inside, project.run(&["targets"]).code(0).stdout);
    // Paths in messages are relative to where the command runs.
    let current = run_from(&inside, &["write", "--check"]).code(0).stdout;
    assert!(current.starts_with("../../k8s/ is current: "), "{current}");
}

/// Outside any project, the error says what was looked for and how to name the root.
#[test]
fn outside_a_project_the_error_mentions_root() {
    let empty = tempfile::tempdir().expect("temp dir");
    let run = run_from(empty.path(), &["targets"]).code(2);
    assert!(
        run.stderr.contains("no environments/platform.yaml in ")
            && run.stderr.contains("or any folder above it")
            && run.stderr.contains("--root DIR"),
        "{}",
        run.stderr
    );
    // What reads no project runs anywhere.
    run_from(empty.path(), &["schema", "catalog"]).code(0);
}

#[test]
fn golden_files_match_every_target() {
    let root = repo();
    let golden = root.join("golden");
    let update = std::env::var_os(UPDATE).is_some();
    let mut expected_files = BTreeSet::new();
    let mut failures = String::new();
    // Every target, then the example environments kept out of the shipped ones
    // (`examples/<name>.yaml`), built in a copy of the project they are added to.
    let shipped = targets(&root);
    let with_examples = Scratch::with_examples();
    let builds = shipped
        .iter()
        .map(|t| (t.clone(), run_in(&root, &["build", t]).code(0).stdout))
        .chain(
            targets(with_examples.path())
                .into_iter()
                .filter(|t| !shipped.contains(t))
                .map(|t| {
                    let out = with_examples.run(&["build", &t]).code(0).stdout;
                    (t, out)
                }),
        );
    for (target, out) in builds {
        let file = format!("{target}.yaml");
        expected_files.insert(file.clone());
        let path = golden.join(&file);
        if update {
            std::fs::create_dir_all(&golden).expect("golden dir");
            std::fs::write(&path, &out).expect("write golden");
            continue;
        }
        let want = std::fs::read_to_string(&path).unwrap_or_default();
        if want != out {
            failures.push_str(&diff(&want, &out, &format!("golden/{file}")));
        }
    }
    let present: BTreeSet<String> = std::fs::read_dir(&golden)
        .expect("golden/ exists")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    for extra in present.difference(&expected_files) {
        failures.push_str(&format!("golden/{extra} belongs to no target\n"));
    }
    assert!(
        failures.is_empty(),
        "golden files differ (rerun with {UPDATE}=1 to accept):\n{failures}"
    );
}

#[test]
fn build_is_deterministic_across_runs_and_copies() {
    let a = Scratch::new();
    let b = Scratch::new();
    for target in targets(a.path()) {
        let first = a.run(&["build", &target]).code(0).stdout;
        let second = a.run(&["build", &target]).code(0).stdout;
        let elsewhere = b.run(&["build", &target]).code(0).stdout;
        assert_eq!(first, second, "{target} differs between runs");
        assert_eq!(first, elsewhere, "{target} differs between copies");
        assert!(
            !first.contains(&a.path().display().to_string()),
            "absolute path in output"
        );
    }
}

#[test]
fn emitted_yaml_round_trips() {
    // Guards the emitter: parsing the output and emitting it again changes nothing.
    for target in targets(&repo()) {
        let out = run_in(&repo(), &["build", &target]).code(0).stdout;
        let again = platgen::emit::stream(&documents(&out));
        assert_eq!(out, again, "{target} does not round-trip");
    }
}

#[test]
fn environments_carry_their_values() {
    let cases = [
        ("development", "e-commerce-dev", "dev.yourdomain.com"),
        ("staging", "e-commerce-staging", "staging.yourdomain.com"),
        ("production", "e-commerce-prod", "www.yourdomain.com"),
    ];
    for (env, namespace, _host) in cases {
        let out = run_in(&repo(), &["build", env]).code(0).stdout;
        let objects = kinds(&out);
        let count = |kind: &str| objects.iter().filter(|o| o.0 == kind).count();
        assert_eq!(count("Namespace"), 1);
        assert!(
            objects
                .iter()
                .filter(|o| o.0 != "Namespace")
                .all(|o| o.2 == namespace)
        );
        // 13 workloads (gateway + 12 services), 11 databases, Redis, MinIO.
        assert_eq!(count("ServiceAccount"), 13, "{env}");
        assert_eq!(count("Deployment"), 13 + 11 + 2, "{env}");
        assert_eq!(count("ConfigMap"), 1 + 11, "{env}");
        assert_eq!(count("Job"), 1, "{env}");
        assert!(objects.contains(&("Service".into(), "rabbitmq".into(), namespace.into())));
        assert!(!out.contains("adminpass123"));
        assert!(!out.contains(":latest"));
    }
}

#[test]
fn replicas_resources_and_storage_follow_each_environment() {
    let deployment = |env: &str, name: &str| -> Value {
        let out = run_in(&repo(), &["build", env]).code(0).stdout;
        documents(&out)
            .into_iter()
            .find(|o| o["kind"] == "Deployment" && o["metadata"]["name"] == name)
            .expect("deployment present")
    };
    let dev = deployment("development", "auth-service");
    assert_eq!(dev["spec"]["replicas"], 1);
    let limits = &dev["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"];
    assert_eq!(limits["memory"], "256Mi");
    assert_eq!(limits["cpu"], "100m");
    let staging = deployment("staging", "auth-service");
    assert_eq!(staging["spec"]["replicas"], 2);
    let prod = deployment("production", "auth-service");
    assert!(
        prod["spec"].get("replicas").is_none(),
        "HPA-managed: no replicas"
    );
    let limits = &prod["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"];
    assert_eq!(limits["memory"], "1Gi");

    let volume = |env: &str| {
        deployment(env, "auth-service-mysql")["spec"]["template"]["spec"]["volumes"][0].clone()
    };
    assert!(volume("development").get("emptyDir").is_some());
    assert_eq!(
        volume("staging")["persistentVolumeClaim"]["claimName"],
        "auth-mysql-pvc"
    );
    assert!(volume("staging").get("emptyDir").is_none());
}

#[test]
fn closed_stdout_is_not_a_crash() {
    // `platgen build production | head -1` must not panic on the closed pipe.
    use std::io::Read;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_platgen"))
        .args(["--root"])
        .arg(repo())
        .args(["build", "production"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut first = [0u8; 16];
    child
        .stdout
        .as_mut()
        .expect("stdout")
        .read_exact(&mut first)
        .expect("some output");
    drop(child.stdout.take());
    let mut stderr = String::new();
    child
        .stderr
        .as_mut()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("stderr");
    let status = child.wait().expect("exit");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(status.code().is_some(), "killed by a signal: {status:?}");
}

#[test]
fn every_template_renders_for_every_environment() {
    // A template that nothing renders is dead text that reviewers would still read. The
    // example environments count: the data layer's modes render their own templates.
    let with_examples = Scratch::with_examples();
    let root = with_examples.path();
    let mut project = platgen::model::Project::load(root).expect("shipped descriptors load");
    let templates = platgen::template::Templates::load(root).expect("templates load");
    platgen::objects::tree(&project, &templates).expect("every template renders");
    assert!(project.environments.len() >= 3);
    // The registration of another cluster renders only when there is one.
    let name = platgen::scalar::Name::parse("eu-1").expect("a name");
    project.catalog.clusters.push(platgen::descriptor::Cluster {
        name: name.clone(),
        server: "https://eu-1.example.com".into(),
        region: "eu-west-1".into(),
        labels: Default::default(),
        prometheus: None,
        vault_auth_mount_path: None,
    });
    project.environments[0].cluster = Some(name);
    platgen::objects::tree(&project, &templates).expect("every template renders");
    assert_eq!(
        templates.unrendered().expect("the template folder reads"),
        Vec::<String>::new(),
        "templates nothing renders"
    );
}
