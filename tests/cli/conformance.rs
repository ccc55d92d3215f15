//! Independent checkers nobody on this project wrote, run on every target:
//! kubernetes-validate (schemas of built-in kinds, Kubernetes 1.28, strict), checkov
//! (security policy) and yamllint (the configuration of validation.md); the example
//! environments (`examples/`) included.

use crate::support::{Scratch, skip, targets};
use std::path::Path;
use std::process::Command;

/// Set in CI: a missing checker fails instead of skipping.
const REQUIRE: &str = "PLATGEN_REQUIRE_CHECKERS";

const YAMLLINT_CONFIG: &str = "extends: default
rules:
  document-start: {present: true}
  document-end: disable
  indentation: {spaces: 2, indent-sequences: whatever, check-multi-line-strings: false}
  line-length: disable
  truthy: {allowed-values: ['true', 'false'], check-keys: true}
  key-duplicates: enable
  octal-values: {forbid-implicit-octal: true, forbid-explicit-octal: true}
  empty-values: disable
  quoted-strings: disable
";

/// True when `tool` runs; otherwise says visibly that the test is skipped.
pub(crate) fn available(tool: &str, test: &str) -> bool {
    let found = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        let why = format!("`{tool}` not found (scripts/test installs it)");
        skip(test, &why, &[REQUIRE]);
    }
    found
}

/// Every target's stream in one file, each stream starting with `---`.
fn all_targets(project: &Scratch) -> std::path::PathBuf {
    let mut text = String::new();
    for target in targets(project.path()) {
        text.push_str("---\n");
        text.push_str(&project.run(&["build", &target]).code(0).stdout);
    }
    let path = project.path().join("all-targets.yaml");
    std::fs::write(&path, text).expect("write");
    path
}

fn run(tool: &str, args: &[&str], file: &Path) -> (i32, String) {
    let out = Command::new(tool)
        .args(args)
        .arg(file)
        .env("CKV_SKIP_PACKAGE_UPDATE_CHECK", "true")
        .output()
        .expect("checker runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn kubernetes_validate_strict_1_28_finds_nothing() {
    let test = "kubernetes_validate_strict_1_28_finds_nothing";
    assert_kubernetes_valid(test, &Scratch::with_examples());
}

/// kubernetes-validate finds nothing in any target of `project`.
pub(crate) fn assert_kubernetes_valid(test: &str, project: &Scratch) {
    if !available("kubernetes-validate", test) {
        return;
    }
    let file = all_targets(project);
    let (code, out) = run(
        "kubernetes-validate",
        &["-k", "1.28", "--strict", "--quiet", "--no-warn"],
        &file,
    );
    assert_eq!(code, 0, "kubernetes-validate found errors:\n{out}");
}

#[test]
fn checkov_finds_no_failed_check() {
    assert_checkov_clean("checkov_finds_no_failed_check", &Scratch::with_examples());
}

/// checkov fails no check in any target of `project`.
pub(crate) fn assert_checkov_clean(test: &str, project: &Scratch) {
    if !available("checkov", test) {
        return;
    }
    let file = all_targets(project);
    let (code, out) = run(
        "checkov",
        &[
            "--framework",
            "kubernetes",
            "--skip-download",
            "--quiet",
            "--compact",
            "-o",
            "json",
            "-f",
        ],
        &file,
    );
    let report: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("checkov output: {e}\n{out}"));
    let report = if report.is_array() {
        report[0].clone()
    } else {
        report
    };
    let summary = &report["summary"];
    assert!(
        summary["resource_count"].as_u64().unwrap_or(0) > 200,
        "checkov read nothing: {summary}"
    );
    let failed: Vec<String> = report["results"]["failed_checks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| format!("{} {} {}", f["check_id"], f["resource"], f["check_name"]))
        .collect();
    assert!(
        failed.is_empty() && code == 0,
        "checkov failed checks:\n{}",
        failed.join("\n")
    );
}

#[test]
fn yamllint_finds_nothing_in_the_tree_and_the_streams() {
    if !available(
        "yamllint",
        "yamllint_finds_nothing_in_the_tree_and_the_streams",
    ) {
        return;
    }
    let project = Scratch::with_examples();
    project.run(&["write"]).code(0);
    let config = project.path().join("yamllint.yaml");
    std::fs::write(&config, YAMLLINT_CONFIG).expect("config");
    let file = all_targets(&project);
    for path in [project.path().join("k8s"), file] {
        let out = Command::new("yamllint")
            .args(["--strict", "-f", "parsable", "-c"])
            .arg(&config)
            .arg(&path)
            .output()
            .expect("yamllint runs");
        assert!(
            out.status.success(),
            "yamllint:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}
