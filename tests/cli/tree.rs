//! `platgen write`: the kustomize tree, proven equal to `platgen build` with the real
//! kustomize, owned by one Application per object, written safely.

use crate::scale::grow_catalog_to;
use crate::support::{Scratch, diff, leftovers, repo, run_in, skip};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// Set in CI: a missing kubectl fails the invariant test instead of skipping it.
const REQUIRE: &str = "PLATGEN_REQUIRE_KUSTOMIZE";

fn kubectl_available() -> bool {
    Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// What `kubectl kustomize <dir>` prints; fails the test, with kubectl's message, when it fails.
fn kubectl_kustomize(dir: &Path) -> String {
    let output = Command::new("kubectl")
        .arg("kustomize")
        .arg(dir)
        .output()
        .expect("kubectl runs");
    assert!(
        output.status.success(),
        "kubectl kustomize {}: {}",
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8")
}

fn target_dirs(root: &Path) -> Vec<(String, String)> {
    run_in(root, &["targets"])
        .code(0)
        .stdout
        .lines()
        .map(|l| {
            let fields: Vec<&str> = l.split('\t').collect();
            (fields[0].to_owned(), fields[2].to_owned())
        })
        .collect()
}

#[test]
fn kubectl_kustomize_prints_exactly_what_build_prints() {
    let test = "kubectl_kustomize_prints_exactly_what_build_prints";
    let project = Scratch::new();
    let mut failures = kustomize_differences(test, &project);
    if !kubectl_available() {
        return; // skipped, as kustomize_differences said
    }
    // An environment in the hydrated layout, in three parts: its overlay holds the final
    // objects only, split into kustomizations ArgoCD builds one by one.
    let hydrated = Scratch::new();
    let staging = "environments/staging.yaml";
    hydrated.write(
        staging,
        &(hydrated.read(staging) + "layout: hydrated\nhydratedParts: 3\n"),
    );
    failures.push_str(&kustomize_differences(test, &hydrated));
    assert!(failures.is_empty(), "{failures}");
    hydrated_overlay_is_the_build_in_order(&hydrated, "staging");
    let parts = ["part-01", "part-02", "part-03"].map(|p| format!("k8s/overlays/staging/{p}"));
    let kustomized = parts
        .each_ref()
        .map(|part| kubectl_kustomize(&hydrated.path().join(part)))
        .join("---\n");
    let built = hydrated.run(&["build", "staging"]).code(0).stdout;
    assert!(
        kustomized == built,
        "{}",
        diff(
            &kustomized,
            &built,
            "staging: its parts kustomized one by one vs build"
        )
    );
    // The environment's Application syncs the parts, each a source.
    let argocd = hydrated.run(&["build", "argocd"]).code(0).stdout;
    let application = serde_yaml::Deserializer::from_str(&argocd)
        .map(|d| <serde_json::Value as serde::Deserialize>::deserialize(d).expect("yaml"))
        .find(|o| o["kind"] == "Application" && o["metadata"]["name"] == "e-commerce-staging")
        .expect("staging's Application");
    let paths: Vec<&str> = (application["spec"]["sources"].as_array())
        .expect("sources")
        .iter()
        .map(|s| s["path"].as_str().expect("a path"))
        .collect();
    assert_eq!(paths, parts);
    assert!(application["spec"]["source"].is_null());
}

/// A larger catalog's production overlay in the hydrated layout (what a large catalog
/// switches to: many objects of each kind per file) prints what `build` prints.
#[test]
fn a_hydrated_overlay_of_a_larger_catalog_builds_as_kubectl_kustomize_does() {
    let test = "a_hydrated_overlay_of_a_larger_catalog_builds_as_kubectl_kustomize_does";
    let project = Scratch::new();
    grow_catalog_to(&project, 60);
    let production = "environments/production.yaml";
    project.write(
        production,
        &(project.read(production) + "layout: hydrated\n"),
    );
    project.run(&["write"]).code(0);
    hydrated_overlay_is_the_build_in_order(&project, "production");
    if !kubectl_available() {
        skip(test, "kubectl not found", &[REQUIRE]);
        return;
    }
    let kustomized = kubectl_kustomize(&project.path().join("k8s/overlays/production"));
    let built = project.run(&["build", "production"]).code(0).stdout;
    assert!(
        kustomized == built,
        "{}",
        diff(&kustomized, &built, "production: kustomize vs build")
    );
}

/// The hydrated overlay of `env`: one file per type, listed in kustomize's order and read
/// in that order (`sortOptions: fifo`), nothing else, or its parts (`part-01`, ...) listed
/// in order, each laid out so: its files, concatenated (part after part), are the build.
fn hydrated_overlay_is_the_build_in_order(project: &Scratch, env: &str) {
    let overlay = project.path().join("k8s/overlays").join(env);
    let listed = hydrated_kustomization(&overlay);
    let parts: Vec<&String> = listed.iter().filter(|r| r.starts_with("part-")).collect();
    let concatenated = if parts.is_empty() {
        hydrated_files_in_order(&overlay, &listed)
    } else {
        assert_eq!(parts.len(), listed.len(), "{}", overlay.display());
        let width = parts.len().to_string().len().max(2);
        let mut bodies = Vec::new();
        for (i, part) in parts.iter().enumerate() {
            assert_eq!(**part, format!("part-{:0width$}", i + 1));
            let folder = overlay.join(part);
            bodies.push(hydrated_files_in_order(
                &folder,
                &hydrated_kustomization(&folder),
            ));
        }
        bodies.retain(|b| !b.is_empty());
        bodies.join("---\n")
    };
    let built = project.run(&["build", env]).code(0).stdout;
    assert!(
        concatenated == built,
        "{}: its files in order are not the build",
        overlay.display()
    );
}

/// The resources of the hydrated kustomization in `folder` (which holds them and
/// nothing else), read in order.
fn hydrated_kustomization(folder: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(folder.join("kustomization.yaml")).expect("written");
    let kustomization: serde_json::Value =
        serde_yaml::from_str(text.split_once("---\n").expect("a marker").1).expect("YAML");
    let listed: Vec<String> = kustomization["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .map(|r| r.as_str().expect("a path").to_owned())
        .collect();
    assert_eq!(
        kustomization,
        serde_json::json!({
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": listed,
            "sortOptions": {"order": "fifo"},
        }),
        "{}",
        folder.display()
    );
    let mut files: Vec<String> = std::fs::read_dir(folder)
        .expect("the folder is written")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    files.sort();
    let mut expected = listed.clone();
    expected.push("kustomization.yaml".into());
    expected.sort();
    assert_eq!(files, expected, "{}", folder.display());
    listed
}

/// The documents of the files `listed` in `folder`, each file holding one type and named
/// after its kind, concatenated in order.
fn hydrated_files_in_order(folder: &Path, listed: &[String]) -> String {
    let text = |name: &str| std::fs::read_to_string(folder.join(name)).expect("a written file");
    let mut concatenated = String::new();
    for name in listed {
        let body = text(name);
        let body = body
            .split_once("\n---\n")
            .expect("a marker, then documents")
            .1;
        let kinds: std::collections::BTreeSet<String> = serde_yaml::Deserializer::from_str(body)
            .map(|d| {
                let o: serde_json::Value = serde::Deserialize::deserialize(d).expect("yaml");
                format!("{}/{}", o["apiVersion"], o["kind"])
            })
            .collect();
        assert_eq!(kinds.len(), 1, "{name} holds {kinds:?}");
        let kind = kinds
            .first()
            .expect("one")
            .rsplit('/')
            .next()
            .expect("a kind");
        assert!(
            name.starts_with(&kind.trim_matches('"').to_lowercase()),
            "{name} holds {kind}"
        );
        if !concatenated.is_empty() {
            concatenated.push_str("---\n");
        }
        concatenated.push_str(body);
    }
    concatenated
}

/// Writes the tree of `project`, then builds every target's folder with `kubectl
/// kustomize`: the diffs from `platgen build` (empty when every target agrees, or when
/// kubectl is missing and the test is skipped).
pub(crate) fn kustomize_differences(test: &str, project: &Scratch) -> String {
    if !kubectl_available() {
        skip(test, "kubectl not found", &[REQUIRE]);
        return String::new();
    }
    project.run(&["write"]).code(0);
    let mut failures = String::new();
    for (target, dir) in target_dirs(project.path()) {
        let built = project.run(&["build", &target]).code(0).stdout;
        let kustomized = kubectl_kustomize(&project.path().join("k8s").join(&dir));
        if kustomized != built {
            failures.push_str(&diff(
                &kustomized,
                &built,
                &format!("{target}: kustomize vs build"),
            ));
        }
    }
    failures
}

#[test]
fn no_object_is_owned_by_two_applications() {
    let mut owners: BTreeMap<(String, String, String, String), String> = BTreeMap::new();
    for (target, _) in target_dirs(&repo()) {
        let out = run_in(&repo(), &["build", &target]).code(0).stdout;
        for doc in serde_yaml::Deserializer::from_str(&out) {
            let o: serde_json::Value = serde::Deserialize::deserialize(doc).expect("yaml");
            let api = o["apiVersion"].as_str().unwrap_or_default();
            let group = api.rsplit_once('/').map_or("", |(g, _)| g).to_owned();
            let id = (
                group,
                o["kind"].as_str().unwrap_or_default().to_owned(),
                o["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                o["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            );
            if let Some(other) = owners.insert(id.clone(), target.clone()) {
                panic!("{id:?} is in both {other} and {target}");
            }
        }
    }
}

#[test]
fn every_generated_file_carries_the_marker_and_the_seed_files_exist() {
    let project = Scratch::new();
    project.run(&["write"]).code(0);
    let k8s = project.path().join("k8s");
    for file in [
        "base/namespace.yaml",
        "base/configmaps/global-config.yaml",
        "base/configmaps/mysql-init-configmap.yaml",
        "base/services/redis.yaml",
        "base/services/rabbitmq.yaml",
        "base/services/auth-mysql.yaml",
        "base/minio-deployment.yaml",
        "base/kustomization.yaml",
        "overlays/development/patches/namespace-dev.yaml",
        "overlays/development/patches/environment-config.yaml",
        "overlays/development/patches/resource-limits.yaml",
        "overlays/development/patches/replica-counts.yaml",
        "overlays/development/replicas-config.yaml",
        "overlays/staging/patches/replica-counts.yaml",
        "overlays/production/patches/resource-limits.yaml",
        "overlays/production/autoscaling.yaml",
        "overlays/production/disruption-budgets.yaml",
        "overlays/production/backups.yaml",
    ] {
        let text =
            std::fs::read_to_string(k8s.join(file)).unwrap_or_else(|_| panic!("{file} missing"));
        assert!(
            text.starts_with("# Generated by platgen"),
            "{file} lacks the marker"
        );
    }
    assert!(
        !k8s.join("base/secrets/secrets-template.yaml").exists(),
        "secrets stay out of Git"
    );
}

#[test]
fn check_reports_drift_and_write_repairs_it() {
    let project = Scratch::new();
    project.run(&["write", "--check"]).code(1);
    project.run(&["write"]).code(0);
    let files = snapshot(&project.path().join("k8s")).len();
    let current = project.run(&["write", "--check"]).code(0).stdout;
    let k8s = project.path().join("k8s");
    assert_eq!(
        current,
        format!("{}/ is current: {files} files\n", k8s.display())
    );

    project.edit("environments/staging.yaml", "replicas: 2", "replicas: 3");
    let stale = "k8s/overlays/staging/old.yaml";
    project.write(stale, "# Generated by platgen from environments/ and templates/. Do not edit: run `platgen write`.\n");
    std::fs::remove_file(project.path().join("k8s/overlays/production/backups.yaml")).expect("rm");
    let report = project.run(&["write", "--check"]).code(1).stdout;
    assert!(
        report.contains("-  replicas: 2") || report.contains("-  replicas: 2\n"),
        "{report}"
    );
    assert!(report.contains("+  replicas: 3"), "{report}");
    // One path style: every path the report names starts with the tree's folder.
    let patch = k8s.join("overlays/staging/patches/replica-counts.yaml");
    for line in [
        format!("changed: {}\n", patch.display()),
        format!("--- {} (on disk)\n", patch.display()),
        format!("+++ {} (generated)\n", patch.display()),
    ] {
        assert!(report.contains(&line), "no `{line}` in:\n{report}");
    }
    assert!(
        report.contains("missing: ") && report.contains("backups.yaml"),
        "{report}"
    );
    assert!(
        report.contains("extra:") && report.contains("old.yaml"),
        "{report}"
    );

    project.run(&["write"]).code(0);
    assert!(
        !project.path().join(stale).exists(),
        "stale generated file pruned"
    );
    project.run(&["write", "--check"]).code(0);
}

#[test]
fn second_write_touches_nothing() {
    let project = Scratch::new();
    project.run(&["write"]).code(0);
    let file = project.path().join("k8s/base/namespace.yaml");
    let before = std::fs::metadata(&file).expect("meta");
    std::thread::sleep(std::time::Duration::from_millis(20));
    let out = project.run(&["write"]).code(0).stdout;
    assert!(out.contains("0 file(s) written, 0 removed"), "{out}");
    let after = std::fs::metadata(&file).expect("meta");
    assert_eq!(
        before.modified().expect("mtime"),
        after.modified().expect("mtime")
    );
}

#[test]
fn hand_written_files_are_never_overwritten_or_deleted() {
    let project = Scratch::new();
    project.run(&["write"]).code(0);
    project.write("k8s/README.md", "hand-written notes\n");
    project.write(
        "k8s/base/namespace.yaml",
        "apiVersion: v1\nkind: Namespace\n",
    );
    let run = project.run(&["write"]).code(2);
    assert!(run.stderr.contains("base/namespace.yaml"), "{}", run.stderr);
    assert_eq!(
        project.read("k8s/base/namespace.yaml"),
        "apiVersion: v1\nkind: Namespace\n"
    );
    // What it had written of the new tree before it found the file goes with it.
    assert_eq!(leftovers(project.path()), Vec::<std::path::PathBuf>::new());
    std::fs::remove_file(project.path().join("k8s/base/namespace.yaml")).expect("rm");
    project.edit("environments/staging.yaml", "replicas: 2", "replicas: 3");
    project.run(&["write"]).code(0);
    assert_eq!(project.read("k8s/README.md"), "hand-written notes\n");
}

#[test]
fn a_failure_part_way_leaves_the_old_tree() {
    let project = Scratch::new();
    project.run(&["write"]).code(0);
    let before = snapshot(&project.path().join("k8s"));
    // A hand-written file inside a folder named like a generated file: staging fails midway.
    project.write("k8s/base/minio-deployment.yaml.d/notes.txt", "x\n");
    std::fs::remove_file(project.path().join("k8s/base/minio-deployment.yaml")).expect("rm");
    std::fs::rename(
        project.path().join("k8s/base/minio-deployment.yaml.d"),
        project.path().join("k8s/base/minio-deployment.yaml"),
    )
    .expect("mv");
    let with_blocker = snapshot(&project.path().join("k8s"));
    project.run(&["write"]).code(2);
    assert_eq!(
        snapshot(&project.path().join("k8s")),
        with_blocker,
        "tree changed by a failed write"
    );
    assert_ne!(before, with_blocker);
    assert!(
        leftovers(project.path()).is_empty(),
        "staging folder left behind"
    );
}

#[test]
fn bad_descriptors_leave_the_tree_untouched() {
    let project = Scratch::new();
    project.run(&["write"]).code(0);
    let before = snapshot(&project.path().join("k8s"));
    project.edit(
        "environments/production.yaml",
        "limits: {cpu: 500m, memory: 1Gi}",
        "limits: {cpu: 500m, memory: 1GB}",
    );
    project
        .run(&["write"])
        .code(2)
        .stderr_has("environments/production.yaml:");
    assert_eq!(snapshot(&project.path().join("k8s")), before);
}

pub(crate) fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).expect("ls") {
            let entry = entry.expect("entry");
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(dir)
                    .expect("inside")
                    .display()
                    .to_string();
                files.insert(rel, std::fs::read(&path).expect("read"));
            }
        }
    }
    files
}

#[test]
fn committed_tree_is_current() {
    // CI fails when someone edits descriptors without regenerating k8s/.
    let run = run_in(&repo(), &["write", "--check"]);
    assert_eq!(
        run.code, 0,
        "k8s/ is stale: run `cargo run -- write`\n{}",
        run.stdout
    );
}

/// `hydratedParts` splits a hydrated overlay: out of range, or on an overlay in the
/// patches layout, it is refused at its place.
#[test]
fn hydrated_parts_out_of_range_or_without_the_hydrated_layout_are_refused() {
    let staging = "environments/staging.yaml";
    let cases = [
        (
            "hydratedParts: 2\n",
            "expected: layout: hydrated, or no hydratedParts",
        ),
        ("layout: hydrated\nhydratedParts: 0\n", "expected: 1 to 256"),
        (
            "layout: hydrated\nhydratedParts: 257\n",
            "expected: 1 to 256",
        ),
    ];
    for (extra, expected) in cases {
        let project = Scratch::new();
        let text = project.read(staging) + extra;
        project.write(staging, &text);
        let at = text.find("hydratedParts").expect("written");
        let (line, col) = crate::support::line_col(&text, at + "hydratedParts: ".len());
        let location = format!("{staging}:{line}:{col}");
        project
            .run(&["build", "staging"])
            .code(2)
            .stderr_has(&location)
            .stderr_has(expected);
    }
}
