//! A large synthetic catalog (300 services, each with its own database): everything
//! still validates, builds, writes and round-trips. Correctness only: the timings live
//! in `scripts/bench --scale`, never in the test suite.

use crate::support::{Scratch, environments};
use serde_json::Value;
use std::path::Path;

/// Services in the synthetic catalog, the shipped ones included.
const SERVICES: usize = 300;

/// Appends synthetic services (each owning a database; some with Redis or a bucket)
/// until the catalog lists `SERVICES`, and raises the environments' quotas to match;
/// returns the names added.
pub(crate) fn grow_catalog(project: &Scratch) -> Vec<String> {
    grow_catalog_to(project, SERVICES)
}

/// [`grow_catalog`] up to `total` services.
pub(crate) fn grow_catalog_to(project: &Scratch, total: usize) -> Vec<String> {
    let catalog = project.read("environments/platform.yaml");
    let shipped = catalog
        .split("\ndatabases:\n")
        .next()
        .expect("a databases block")
        .matches("\n  - name: ")
        .count();
    let layers = ["core", "business", "support"];
    let (mut services, mut databases, mut names) = (String::new(), String::new(), Vec::new());
    for i in 1..=total - shipped {
        let name = format!("synth-{i:04}-service");
        services.push_str(&format!(
            "  - name: {name}\n    layer: {}\n    port: 8000\n    database: synth_{i:04}_db\n",
            layers[i % layers.len()]
        ));
        if i % 3 == 0 {
            services.push_str("    redis: true\n");
        }
        if i % 5 == 0 {
            services.push_str("    bucket: products\n");
        }
        databases.push_str(&format!("  - name: synth_{i:04}_db\n"));
        names.push(name);
    }
    project.edit(
        "environments/platform.yaml",
        "\ndatabases:\n",
        &format!("{services}\ndatabases:\n{databases}"),
    );
    // Twenty times the workloads need a quota to match (validate checks the peak).
    for env in ["development", "staging", "production"] {
        let file = format!("environments/{env}.yaml");
        let text = project.read(&file);
        let (head, rest) = text.split_once("\nquota:\n").expect("a quota block");
        let tail = rest
            .split_once("\nlimitRange:")
            .expect("limitRange after quota")
            .1;
        project.write(
            &file,
            &format!(
                "{head}\nquota:\n  requests: {{cpu: \"4000\", memory: 8000Gi}}\n  \
                 limits: {{cpu: \"8000\", memory: 16000Gi}}\n  pods: 20000\n  \
                 persistentVolumeClaims: 2000\n  storage: {}\nlimitRange:{tail}",
                if env == "development" {
                    "0Gi"
                } else {
                    "20000Gi"
                }
            ),
        );
    }
    names
}

fn documents(stream: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(stream)
        .map(|d| serde::Deserialize::deserialize(d).expect("valid YAML document"))
        .collect()
}

fn count(objects: &[Value], kind: &str, name: &str) -> usize {
    objects
        .iter()
        .filter(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .count()
}

/// Every file under `dir`, relative to it.
fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).expect("readable folder") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

#[test]
fn three_hundred_services_validate_build_write_and_round_trip() {
    let project = Scratch::new();
    let added = grow_catalog(&project);
    assert!(added.len() > 250, "only {} services added", added.len());

    let valid = project.run(&["validate"]).code(0).stdout;
    assert!(valid.contains("descriptors valid"), "{valid}");

    let environments = environments(project.path());
    assert_eq!(environments.len(), 3, "{environments:?}");
    for env in &environments {
        let out = project.run(&["build", env]).code(0).stdout;
        let objects = documents(&out);
        // Each synthetic service is rendered once, with its database.
        for name in [&added[0], &added[added.len() / 2], &added[added.len() - 1]] {
            assert_eq!(count(&objects, "Deployment", name), 1, "{env}: {name}");
            assert_eq!(
                count(&objects, "Deployment", &format!("{name}-mysql")),
                1,
                "{env}: {name}-mysql"
            );
            assert_eq!(
                count(&objects, "NetworkPolicy", &format!("{name}-traffic")),
                1,
                "{env}: {name}-traffic"
            );
        }
        let deployments = objects.iter().filter(|o| o["kind"] == "Deployment").count();
        assert!(
            deployments >= 2 * added.len(),
            "{env}: {deployments} deployments"
        );
        // Every patch found its target: the overlay's values reached every workload.
        let workloads = objects
            .iter()
            .filter(|o| o["kind"] == "Deployment")
            .filter(|o| {
                o["metadata"]["name"]
                    .as_str()
                    .is_some_and(|n| added.iter().any(|a| a == n))
            });
        for workload in workloads {
            let container = &workload["spec"]["template"]["spec"]["containers"][0];
            assert!(
                container["resources"]["limits"].is_object(),
                "{env}: {} has no limits",
                workload["metadata"]["name"]
            );
            assert!(
                container["image"]
                    .as_str()
                    .is_some_and(|i| i.rsplit_once(':').is_some()),
                "{env}: untagged image"
            );
        }
        assert_eq!(
            platgen::emit::stream(&objects),
            out,
            "{env} does not round-trip"
        );
    }

    let written = project.run(&["write"]).code(0).stdout;
    assert!(written.contains("file(s) written"), "{written}");
    let current = format!("{}/ is current: ", project.path().join("k8s").display());
    let check = project.run(&["write", "--check"]).code(0);
    assert!(
        check.stdout.starts_with(&current),
        "write --check after write reports drift:\n{}",
        check.stdout
    );
    project.run(&["write"]).code(0);
    let check = project.run(&["write", "--check"]).code(0);
    assert!(
        check.stdout.starts_with(&current),
        "a second write changed the tree:\n{}",
        check.stdout
    );

    let tree = project.path().join("k8s");
    let written = files(&tree);
    for name in [&added[0], &added[added.len() - 1]] {
        assert!(
            written.contains(&tree.join(format!("base/workloads/{name}.yaml"))),
            "no file for {name}"
        );
    }
    for path in &written {
        let text = std::fs::read_to_string(path).expect("readable file");
        let body = text
            .split_once('\n')
            .map(|(marker, body)| {
                assert!(marker.starts_with("# Generated by platgen"), "{path:?}");
                body
            })
            .expect("a marker line");
        let body = body.strip_prefix("---\n").unwrap_or(body);
        let objects = documents(body);
        assert_eq!(
            platgen::emit::stream(&objects),
            body,
            "{} does not round-trip",
            path.display()
        );
    }
}
