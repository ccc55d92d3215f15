//! platgen among other tools: pre-commit, the ArgoCD plugin, `diff`, JSON Schemas for
//! editors, shell completions and the man page, Secrets for bootstrapping, `set-image`,
//! JSON output and colour, and the CI example.

use crate::support::{Scratch, copy_dir, repo, run_in, skip, targets, with_stdin};
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_platgen");

/// The objects of a YAML stream.
fn objects(yaml: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(yaml)
        .map(|doc| Value::deserialize(doc).expect("YAML document"))
        .filter(|v| !v.is_null())
        .collect()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `cmd` must succeed; its stdout.
fn succeed(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?} runs: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed\nstdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// Runs git in `dir` with an identity, so commits work on any machine.
fn git(dir: &Path, args: &[&str]) -> String {
    succeed(
        Command::new("git")
            .arg("-C")
            .arg(dir)
            .args([
                "-c",
                "user.name=platgen tests",
                "-c",
                "user.email=tests@platgen.invalid",
            ])
            .args([
                "-c",
                "commit.gpgsign=false",
                "-c",
                "init.defaultBranch=main",
            ])
            .args(args),
    )
}

fn commit_all(dir: &Path, message: &str) {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", message]);
}

/// A folder holding only a `platgen` link to the binary under test, to put on PATH.
fn bin_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::os::unix::fs::symlink(BIN, dir.path().join("platgen")).expect("symlink");
    dir
}

fn path_with(dir: &Path) -> std::ffi::OsString {
    let mut paths = vec![dir.to_owned()];
    paths.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(paths).expect("PATH")
}

/// A scratch project with its tree written, as a Git repository with one commit.
fn committed_project() -> Scratch {
    let project = Scratch::new();
    project.run(&["write"]).code(0);
    git(project.path(), &["init", "-q"]);
    commit_all(project.path(), "descriptors and tree");
    project
}

// ---------------------------------------------------------------------------
// pre-commit

/// Set in CI: a missing pre-commit fails the hook test instead of skipping it.
const REQUIRE_PRECOMMIT: &str = "PLATGEN_REQUIRE_PRECOMMIT";

fn find_pre_commit() -> Option<PathBuf> {
    let on_path = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join("pre-commit"))
        .find(|p| p.is_file());
    on_path.or_else(|| Some(repo().join(".venv-check/bin/pre-commit")).filter(|p| p.is_file()))
}

/// The hook repository as pre-commit clones it: this working tree's crate and hook file,
/// committed in a temporary repository (try-repo only sees committed files).
fn hook_repository() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for file in ["Cargo.toml", "Cargo.lock", ".pre-commit-hooks.yaml"] {
        if repo().join(file).is_file() {
            std::fs::copy(repo().join(file), dir.path().join(file)).expect("copy");
        }
    }
    for folder in ["src", "benches", "examples", "tests"] {
        if repo().join(folder).is_dir() {
            copy_dir(&repo().join(folder), &dir.path().join(folder));
        }
    }
    git(dir.path(), &["init", "-q"]);
    commit_all(dir.path(), "platgen hooks");
    dir
}

/// Runs `pre-commit try-repo <hooks> <hook> --all-files` in `project`.
fn try_repo(pre_commit: &Path, home: &Path, hooks: &Path, hook: &str, project: &Path) -> Output {
    // pre-commit's `language: rust` runs `cargo install --path .` in its clone of the
    // hook repository. Keep its build in this target folder so that only the first run
    // compiles the dependencies, with the release profile cut down to a debug build,
    // and from the crates `cargo test` has already downloaded.
    let target = Path::new(BIN)
        .parent()
        .and_then(Path::parent)
        .expect("target folder")
        .join("pre-commit-hook");
    Command::new(pre_commit)
        .args(["try-repo"])
        .arg(hooks)
        .args([hook, "--all-files", "--color", "never"])
        .current_dir(project)
        .env("PRE_COMMIT_HOME", home)
        .env("CARGO_TARGET_DIR", target)
        .env("CARGO_NET_OFFLINE", "true")
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "0")
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
        .env("CARGO_PROFILE_RELEASE_LTO", "false")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "256")
        .env("CARGO_PROFILE_RELEASE_INCREMENTAL", "true")
        .env_remove("PLATGEN_ROOT")
        .stdin(Stdio::null())
        .output()
        .expect("pre-commit runs")
}

#[test]
fn pre_commit_hooks_pass_on_a_current_tree_and_fail_on_a_drifted_one() {
    let Some(pre_commit) = find_pre_commit() else {
        skip(
            "pre_commit_hooks_pass_on_a_current_tree_and_fail_on_a_drifted_one",
            "pre-commit not found (scripts/test installs it)",
            &[REQUIRE_PRECOMMIT, "PLATGEN_REQUIRE_CHECKERS"],
        );
        return;
    };
    let hooks = hook_repository();
    let home = tempfile::tempdir().expect("temp dir");
    let project = committed_project();
    let run = |hook: &str| {
        let out = try_repo(&pre_commit, home.path(), hooks.path(), hook, project.path());
        (
            out.status.success(),
            format!("{}{}", text(&out.stdout), text(&out.stderr)),
        )
    };

    for hook in ["platgen-check", "platgen-write"] {
        let (ok, output) = run(hook);
        assert!(ok, "{hook} fails on a current tree:\n{output}");
        assert!(output.contains("Passed"), "{output}");
    }

    project.edit("environments/staging.yaml", "replicas: 2", "replicas: 3");
    let (ok, output) = run("platgen-check");
    assert!(!ok, "platgen-check passes on a stale tree:\n{output}");
    assert!(
        output.contains("+  replicas: 3"),
        "the check shows no diff:\n{output}"
    );
    assert!(
        project
            .read("k8s/overlays/staging/patches/replica-counts.yaml")
            .contains("replicas: 2")
    );

    let (ok, output) = run("platgen-write");
    assert!(
        !ok,
        "platgen-write passes although it changed k8s/:\n{output}"
    );
    assert!(
        output.contains("files were modified by this hook"),
        "{output}"
    );
    project.run(&["write", "--check"]).code(0);
    let (ok, output) = run("platgen-write");
    assert!(
        ok,
        "platgen-write fails once the tree is regenerated:\n{output}"
    );
}

// ---------------------------------------------------------------------------
// ArgoCD Config Management Plugin

/// The plugin, run without TARGET in each target's folder of the written tree of
/// `project`, builds that target.
pub(crate) fn plugin_builds_every_folder(project: &Scratch) {
    project.run(&["write"]).code(0);
    let listing = run_in(project.path(), &["targets"]).code(0).stdout;
    for line in listing.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        let (target, folder) = (fields[0], fields[2]);
        let out = generate(&project.path().join("k8s").join(folder), &[]);
        assert!(out.status.success(), "{target}: {}", text(&out.stderr));
        assert_eq!(
            text(&out.stdout),
            project.run(&["build", target]).code(0).stdout,
            "{target}"
        );
    }
}

fn plugin() -> Value {
    let text =
        std::fs::read_to_string(repo().join("deploy/argocd-cmp/plugin.yaml")).expect("plugin.yaml");
    serde_yaml::from_str(&text).expect("plugin.yaml is YAML")
}

/// Runs the plugin's generate command as the repo-server would: in the Application's
/// path, with platgen on PATH and the plugin environment.
fn generate(dir: &Path, env: &[(&str, &str)]) -> Output {
    let spec = &plugin()["spec"]["generate"];
    let command: Vec<String> = spec["command"]
        .as_array()
        .expect("generate.command")
        .iter()
        .chain(spec["args"].as_array().into_iter().flatten())
        .map(|v| v.as_str().expect("string").to_owned())
        .collect();
    let bin = bin_dir();
    Command::new(&command[0])
        .args(&command[1..])
        .current_dir(dir)
        .env("PATH", path_with(bin.path()))
        .env_remove("PLATGEN_ROOT")
        .envs(env.iter().copied())
        .output()
        .expect("generate runs")
}

#[test]
fn argocd_plugin_builds_the_named_target_or_the_one_its_path_names() {
    let p = plugin();
    assert_eq!(p["apiVersion"], "argoproj.io/v1alpha1");
    assert_eq!(p["kind"], "ConfigManagementPlugin");
    assert_eq!(p["metadata"]["name"], "platgen");
    let project = Scratch::new();
    plugin_builds_every_folder(&project);

    let out = generate(project.path(), &[("ARGOCD_ENV_TARGET", "staging")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        project.run(&["build", "staging"]).code(0).stdout
    );

    let out = generate(project.path(), &[("ARGOCD_ENV_TARGET", "stagin")]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("did you mean `staging`?"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn argocd_sidecar_mounts_the_plugin_into_the_repo_server() {
    let text = std::fs::read_to_string(repo().join("deploy/argocd-cmp/repo-server-sidecar.yaml"))
        .expect("sidecar");
    let patch: Value = serde_yaml::from_str(&text).expect("YAML");
    assert_eq!(patch["kind"], "Deployment");
    assert_eq!(patch["metadata"]["name"], "argocd-repo-server");
    let container = &patch["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["command"][0], "/var/run/argocd/argocd-cmp-server");
    let mounts: BTreeMap<&str, &str> = container["volumeMounts"]
        .as_array()
        .expect("mounts")
        .iter()
        .map(|m| {
            (
                m["mountPath"].as_str().unwrap(),
                m["name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        mounts["/home/argocd/cmp-server/config/plugin.yaml"],
        "platgen-cmp"
    );
    assert_eq!(mounts["/var/run/argocd"], "var-files");
    assert_eq!(mounts["/home/argocd/cmp-server/plugins"], "plugins");
}

// ---------------------------------------------------------------------------
// diff

#[test]
fn diff_of_two_environments_matches_objects_across_namespaces() {
    let repo = repo();
    let out = run_in(&repo, &["diff", "staging", "production"])
        .code(1)
        .stdout;
    assert!(
        out.starts_with(
            "namespace e-commerce-staging (staging) is matched with e-commerce-prod (production)\n"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "added:   HorizontalPodAutoscaler.autoscaling e-commerce-prod/api-gateway-hpa\n"
        ),
        "{out}"
    );
    assert!(
        out.contains("changed: ConfigMap e-commerce-prod/global-config\n"),
        "{out}"
    );
    assert!(
        out.contains("-  APP_ENV: staging\n+  APP_ENV: production\n"),
        "{out}"
    );
    // Each side's objects under their own namespace.
    assert!(
        out.contains(
            "--- staging: ConfigMap e-commerce-staging/global-config\n\
             +++ production: ConfigMap e-commerce-prod/global-config\n"
        ),
        "{out}"
    );
    for line in out.lines() {
        let staging_side = line.starts_with("removed: ") || line.starts_with("--- staging: ");
        assert!(
            !staging_side || !line.contains("e-commerce-prod"),
            "a staging object labelled with production's namespace: {line}"
        );
    }
    assert!(
        !out.contains("added:   Namespace") && !out.contains("removed: Namespace"),
        "{out}"
    );
    assert!(
        !out.contains("-  namespace: e-commerce-staging"),
        "namespace-only changes shown:\n{out}"
    );
    assert!(
        out.lines()
            .last()
            .unwrap()
            .starts_with("staging -> production: "),
        "{out}"
    );

    let same = run_in(&repo, &["diff", "staging", "staging"])
        .code(0)
        .stdout;
    assert!(
        same.starts_with("staging and staging hold the same "),
        "{same}"
    );
    run_in(&repo, &["diff", "staging", "nope"])
        .code(2)
        .stderr_has("unknown target `nope`");
}

/// `diff` with one side: the error and `--help` show the same two usages, the second
/// with `--against-ref`.
#[test]
fn diff_usage_is_the_same_in_the_error_and_the_help() {
    let usage =
        "Usage: platgen diff <LEFT> <RIGHT>\n       platgen diff <TARGET> --against-ref <REV>\n";
    let error = run_in(&repo(), &["diff", "staging"]).code(2).stderr;
    assert!(error.contains("<RIGHT|--against-ref <REV>>"), "{error}");
    assert!(error.contains(usage), "{error}");
    let help = run_in(&repo(), &["diff", "--help"]).code(0).stdout;
    assert!(help.contains(usage), "{help}");
    assert!(help.contains("--against-ref <REV>"), "{help}");
}

#[test]
fn diff_against_a_golden_file_shows_the_changed_object() {
    let project = Scratch::new();
    let golden = project.path().join("staging.golden.yaml");
    std::fs::write(&golden, project.run(&["build", "staging"]).code(0).stdout).expect("write");
    let golden = golden.to_str().expect("utf-8 path");
    project.run(&["diff", golden, "staging"]).code(0);

    project.edit("environments/staging.yaml", "replicas: 2", "replicas: 3");
    let out = project.run(&["diff", golden, "staging"]).code(1).stdout;
    assert!(
        out.contains("changed: Deployment.apps e-commerce-staging/auth-service\n"),
        "{out}"
    );
    assert!(out.contains("-  replicas: 2\n+  replicas: 3\n"), "{out}");
    assert!(
        !out.contains("namespace "),
        "one namespace on both sides:\n{out}"
    );
    assert!(!out.contains('\u{1b}'), "colour on a pipe");
}

#[test]
fn diff_masks_secret_data_and_credential_like_env_values() {
    let dir = tempfile::tempdir().expect("temp dir");
    let rendering = |password: &str, level: &str| {
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata: {{name: db, namespace: shop}}\n\
             data: {{password: {password}}}\nstringData: {{user: root-{password}}}\n---\n\
             apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: app, namespace: shop}}\n\
             spec:\n  template:\n    spec:\n      containers:\n        - name: app\n          env:\n\
             \x20           - {{name: DB_PASSWORD, value: pw-{password}}}\n\
             \x20           - {{name: JWT_SECRET, value: jwt-{password}}}\n\
             \x20           - {{name: LOG_LEVEL, value: {level}}}\n"
        )
    };
    let old = dir.path().join("old.yaml");
    let new = dir.path().join("new.yaml");
    std::fs::write(&old, rendering("aHVudGVyMg", "info")).expect("write");
    std::fs::write(&new, rendering("c3dvcmRmaXNo", "debug")).expect("write");
    let out = run_in(
        dir.path(),
        &["diff", old.to_str().unwrap(), new.to_str().unwrap()],
    )
    .code(1)
    .stdout;
    for secret in ["aHVudGVyMg", "c3dvcmRmaXNo"] {
        assert!(!out.contains(secret), "`{secret}` shown:\n{out}");
    }
    assert!(
        out.contains("changed: Secret shop/db\n  (only masked values differ)\n"),
        "{out}"
    );
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with('-') && l.ends_with(" value: info")),
        "{out}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with('+') && l.ends_with(" value: debug")),
        "{out}"
    );
    assert!(out.contains("value: <masked>"), "{out}");
}

#[test]
fn diff_against_a_git_revision_builds_the_descriptors_of_that_revision() {
    let project = committed_project();
    project
        .run(&["diff", "staging", "--against-ref", "HEAD"])
        .code(0);
    project.edit("environments/staging.yaml", "replicas: 2", "replicas: 3");
    let out = project
        .run(&["diff", "staging", "--against-ref", "HEAD"])
        .code(1)
        .stdout;
    assert!(
        out.contains("--- staging@HEAD: Deployment.apps e-commerce-staging/auth-service\n"),
        "{out}"
    );
    assert!(out.contains("+  replicas: 3\n"), "{out}");
    let status = git(project.path(), &["status", "--porcelain"]);
    assert_eq!(
        status, " M environments/staging.yaml\n",
        "the repository changed"
    );
    project
        .run(&["diff", "staging", "--against-ref", "no-such-rev"])
        .code(2)
        .stderr_has("git revision `no-such-rev`");
}

// ---------------------------------------------------------------------------
// JSON Schemas

/// `platgen schema [kind]`, parsed.
fn schema_of(kind: Option<&str>) -> Value {
    let args: Vec<&str> = ["schema"].into_iter().chain(kind).collect();
    serde_json::from_str(&run_in(&repo(), &args).code(0).stdout).expect("JSON")
}

#[test]
fn shipped_schemas_are_current_and_every_descriptor_points_at_its_own() {
    for kind in ["catalog", "environment"] {
        let printed = run_in(&repo(), &["schema", kind]).code(0).stdout;
        let shipped = std::fs::read_to_string(repo().join(format!("schemas/{kind}.json")))
            .expect("shipped schema");
        assert!(
            printed == shipped,
            "schemas/{kind}.json is stale: run `cargo run -- schema {kind} > schemas/{kind}.json`\n{}",
            crate::support::diff(&shipped, &printed, kind)
        );
    }
    for entry in std::fs::read_dir(repo().join("environments")).expect("environments") {
        let path = entry.expect("entry").path();
        let kind = if path.ends_with("platform.yaml") {
            "catalog"
        } else {
            "environment"
        };
        let first = std::fs::read_to_string(&path).expect("descriptor");
        let first = first.lines().next().unwrap_or_default();
        assert_eq!(
            first,
            format!("# yaml-language-server: $schema=../schemas/{kind}.json"),
            "{}",
            path.display()
        );
    }
}

#[test]
fn descriptors_validate_against_the_schema_which_rejects_unknown_fields() {
    let both = schema_of(None);
    let both_validator = jsonschema::validator_for(&both).expect("valid schema");
    let mut checked = 0;
    for (kind, files) in [
        ("catalog", vec!["platform.yaml"]),
        (
            "environment",
            vec!["development.yaml", "production.yaml", "staging.yaml"],
        ),
    ] {
        let validator = jsonschema::validator_for(&schema_of(Some(kind))).expect("valid schema");
        for file in files {
            let text = std::fs::read_to_string(repo().join("environments").join(file))
                .expect("descriptor");
            let instance: Value = serde_yaml::from_str(&text).expect("YAML");
            let errors: Vec<String> = validator
                .iter_errors(&instance)
                .map(|e| e.to_string())
                .collect();
            assert!(errors.is_empty(), "{file}: {errors:#?}");
            assert!(
                both_validator.is_valid(&instance),
                "{file} against the combined schema"
            );
            checked += 1;

            let mut bad = instance.clone();
            bad["replicaz"] = Value::from(2);
            assert!(!validator.is_valid(&bad), "{file}: an unknown field passes");
            let mut bad = instance;
            let nested = if kind == "catalog" {
                "platform"
            } else {
                "sync"
            };
            bad[nested]["autmated"] = Value::from(true);
            assert!(
                !validator.is_valid(&bad),
                "{file}: an unknown nested field passes"
            );
        }
    }
    assert_eq!(checked, 4);
    let env = schema_of(Some("environment"));
    let validator = jsonschema::validator_for(&env).expect("valid schema");
    let text = std::fs::read_to_string(repo().join("environments/staging.yaml")).expect("staging");
    for (from, to) in [
        ("namespace: e-commerce-staging", "namespace: E_Commerce"),
        ("replicas: 2", "replicas: two"),
    ] {
        let instance: Value = serde_yaml::from_str(&text.replace(from, to)).expect("YAML");
        assert!(!validator.is_valid(&instance), "`{to}` passes");
    }
}

// ---------------------------------------------------------------------------
// Completions and man page

#[test]
fn completions_for_three_shells_and_a_man_page() {
    let repo = repo();
    let bash = run_in(&repo, &["completions", "bash"]).code(0).stdout;
    for word in [
        "_platgen()",
        "set-image",
        "secrets-template",
        "--against-ref",
    ] {
        assert!(bash.contains(word), "bash completion lacks `{word}`");
    }
    if let Ok(out) = with_stdin(Command::new("bash").arg("-n"), &bash) {
        assert!(
            out.status.success(),
            "bash -n rejects the script: {}",
            text(&out.stderr)
        );
    }
    assert!(
        run_in(&repo, &["completions", "zsh"])
            .code(0)
            .stdout
            .starts_with("#compdef platgen")
    );
    assert!(
        run_in(&repo, &["completions", "fish"])
            .code(0)
            .stdout
            .contains("complete -c platgen")
    );
    run_in(&repo, &["completions", "tcsh"]).code(2);

    let man = run_in(&repo, &["man"]).code(0).stdout;
    assert!(man.contains(".TH platgen 1"), "{man}");
    for section in [".SH NAME", ".SH SYNOPSIS", ".SH SUBCOMMANDS"] {
        assert!(man.contains(section), "man page lacks {section}");
    }
    assert!(man.contains("secrets\\-template"), "{man}");
}

// ---------------------------------------------------------------------------
// secrets-template

#[test]
fn secrets_template_covers_every_external_secret_and_write_emits_no_secret() {
    let project = Scratch::new();
    for env in ["development", "production", "staging"] {
        let built = objects(&project.run(&["build", env]).code(0).stdout);
        let namespace = built
            .iter()
            .find(|o| o["kind"] == "Namespace")
            .and_then(|o| o["metadata"]["name"].as_str())
            .expect("namespace")
            .to_owned();
        let mut wanted: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for o in built.iter().filter(|o| o["kind"] == "ExternalSecret") {
            let keys = o["spec"]["data"].as_array().expect("data").iter();
            wanted.insert(
                o["spec"]["target"]["name"]
                    .as_str()
                    .expect("target")
                    .to_owned(),
                keys.map(|d| d["secretKey"].as_str().expect("key").to_owned())
                    .collect(),
            );
        }
        let template = project.run(&["secrets-template", env]).code(0).stdout;
        assert!(
            template.starts_with("# Secrets of environment"),
            "{template}"
        );
        let mut given: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for secret in objects(&template) {
            assert_eq!(secret["kind"], "Secret");
            assert_eq!(secret["type"], "Opaque");
            assert_eq!(secret["metadata"]["namespace"], namespace.as_str());
            let data = secret["stringData"].as_object().expect("stringData");
            assert!(data.values().all(|v| v == "CHANGE-ME"), "{secret}");
            given.insert(
                secret["metadata"]["name"]
                    .as_str()
                    .expect("name")
                    .to_owned(),
                data.keys().cloned().collect(),
            );
        }
        assert!(!wanted.is_empty());
        assert_eq!(
            given, wanted,
            "{env}: the template and the ExternalSecrets disagree"
        );
    }
    project
        .run(&["secrets-template", "prod"])
        .code(2)
        .stderr_has("unknown environment `prod`");

    project.run(&["write"]).code(0);
    let mut files = vec![project.path().join("k8s")];
    let mut seen = 0;
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(
                std::fs::read_dir(&path)
                    .expect("dir")
                    .map(|e| e.expect("entry").path()),
            );
        } else if path.extension().is_some_and(|e| e == "yaml") {
            for o in objects(&std::fs::read_to_string(&path).expect("file")) {
                assert_ne!(o["kind"], "Secret", "{} holds a Secret", path.display());
                seen += 1;
            }
        }
    }
    assert!(seen > 100, "only {seen} objects in the tree");
}

// ---------------------------------------------------------------------------
// set-image

#[test]
fn set_image_edits_the_environment_in_place_and_build_follows() {
    let project = Scratch::new();
    let original = project.read("environments/staging.yaml");
    let out = project
        .run(&["set-image", "staging", "auth-service=1.4.2"])
        .code(0)
        .stdout;
    assert!(
        out.contains("staging: auth-service 1.0.0 -> 1.4.2\n"),
        "{out}"
    );
    let edited = project.read("environments/staging.yaml");
    let sep = if original.ends_with('\n') { "" } else { "\n" };
    assert_eq!(
        edited,
        format!("{original}{sep}images:\n  auth-service: 1.4.2\n")
    );
    let built = project.run(&["build", "staging"]).code(0).stdout;
    assert!(
        built.contains("image: registry.yourdomain.com/e-commerce/auth-service:1.4.2\n"),
        "{built}"
    );

    // An images block with comments: the value is replaced, the new entry goes last,
    // every other byte stays.
    let production = project.read("environments/production.yaml");
    let block = "images:\n  # hotfix, see INC-42\n  api-gateway: \"1.0.1\" # pinned\n  orders-service: 1.0.2\n";
    let with_block = production.replacen("config:\n", &format!("{block}config:\n"), 1);
    assert_ne!(with_block, production);
    project.write("environments/production.yaml", &with_block);
    project
        .run(&[
            "set-image",
            "production",
            "api-gateway=1.10",
            "products-service=2.0.0",
        ])
        .code(0);
    let expected = with_block.replacen(
        block,
        "images:\n  # hotfix, see INC-42\n  api-gateway: \"1.10\" # pinned\n  orders-service: 1.0.2\n  products-service: 2.0.0\n",
        1,
    );
    assert_eq!(project.read("environments/production.yaml"), expected);
    let built = project.run(&["build", "production"]).code(0).stdout;
    for image in [
        "api-gateway:1.10\n",
        "products-service:2.0.0\n",
        "orders-service:1.0.2\n",
    ] {
        assert!(
            built.contains(&format!(
                "image: registry.yourdomain.com/e-commerce/{image}"
            )),
            "{image}"
        );
    }

    // Refused edits leave the file alone.
    project
        .run(&["set-image", "production", "orders-servce=3"])
        .code(2)
        .stderr_has("did you mean `orders-service`?");
    project
        .run(&["set-image", "production", "orders-service=-3"])
        .code(2)
        .stderr_has("is not an image tag");
    project
        .run(&["set-image", "productio", "orders-service=3"])
        .code(2)
        .stderr_has("did you mean `production`?");
    assert_eq!(project.read("environments/production.yaml"), expected);
}

// ---------------------------------------------------------------------------
// --output json and colour

#[test]
fn build_output_json_holds_the_objects_of_the_yaml_stream() {
    let repo = repo();
    // An environment (rendered and printed object by object) and a component.
    for target in ["production", "messaging"] {
        let yaml = objects(&run_in(&repo, &["build", target]).code(0).stdout);
        let text = run_in(&repo, &["build", target, "--output", "json"])
            .code(0)
            .stdout;
        let json: Vec<Value> = serde_json::from_str(&text).expect("a JSON array");
        assert_eq!(json.len(), yaml.len());
        assert!(
            json == yaml,
            "the JSON and YAML renderings of {target} hold different objects"
        );
        // Printed as one pretty-printed array, though written one object at a time.
        let whole = serde_json::to_string_pretty(&json).expect("serialises") + "\n";
        assert!(text == whole, "{target}: not the pretty-printed array");
    }
    run_in(&repo, &["build", "production", "--output", "toml"]).code(2);
}

/// Runs the binary with only the given colour variables set.
fn coloured(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.arg("--root")
        .arg(repo())
        .args(args)
        .env_remove("PLATGEN_ROOT");
    for var in ["NO_COLOR", "CLICOLOR", "CLICOLOR_FORCE", "TERM"] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("platgen runs")
}

#[test]
fn colour_only_when_forced_or_on_a_terminal_and_never_with_no_color() {
    const ESC: char = '\u{1b}';
    let forced = coloured(&["build", "stagin"], &[("CLICOLOR_FORCE", "1")]);
    assert!(
        text(&forced.stderr).contains(&format!("{ESC}[")),
        "{:?}",
        text(&forced.stderr)
    );
    let diff = coloured(
        &["diff", "staging", "production"],
        &[("CLICOLOR_FORCE", "1")],
    );
    assert!(
        text(&diff.stdout).contains(&format!("{ESC}[32madded:")),
        "diff not coloured"
    );

    for env in [vec![], vec![("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")]] {
        let out = coloured(&["build", "stagin"], &env);
        assert!(
            text(&out.stderr).starts_with("error: unknown target"),
            "{:?}",
            text(&out.stderr)
        );
        let out = coloured(&["diff", "staging", "production"], &env);
        assert!(!text(&out.stdout).contains(ESC), "colour with {env:?}");
    }
}

// ---------------------------------------------------------------------------
// CI example

/// The workflow of docs/ci-example.md: its first ```yaml block.
fn ci_workflow() -> Value {
    let doc =
        std::fs::read_to_string(repo().join("docs/ci-example.md")).expect("docs/ci-example.md");
    let start = doc.find("```yaml\n").expect("a yaml block") + "```yaml\n".len();
    let end = start + doc[start..].find("```").expect("end of block");
    serde_yaml::from_str(&doc[start..end]).expect("the workflow is YAML")
}

/// Runs every `run:` step of the workflow that calls platgen (not the install), in
/// order, as GitHub's bash would; the names of the failing steps.
fn run_ci_steps(project: &Path) -> Vec<String> {
    let bin = bin_dir();
    let workflow = ci_workflow();
    let steps = workflow["jobs"]["platgen"]["steps"]
        .as_array()
        .expect("steps");
    let mut failed = Vec::new();
    let mut ran = 0;
    for step in steps {
        let Some(script) = step["run"].as_str() else {
            continue;
        };
        if !script.contains("platgen") || script.contains("cargo ") {
            continue;
        }
        let mut cmd = Command::new("bash");
        cmd.args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
            .current_dir(project)
            .env("PATH", path_with(bin.path()))
            .env("NO_COLOR", "1")
            .env_remove("PLATGEN_ROOT");
        if let Some(env) = step["env"].as_object() {
            for (key, value) in env {
                // `${{ github.base_ref }}` and friends: the last commit stands in for the base.
                let value = value.as_str().unwrap_or_default();
                cmd.env(key, if value.contains("${{") { "HEAD" } else { value });
            }
        }
        let out = cmd.output().expect("bash runs");
        ran += 1;
        if !out.status.success() {
            let name = step["name"].as_str().unwrap_or(script).to_owned();
            eprintln!(
                "CI step `{name}` failed:\n{}{}",
                text(&out.stdout),
                text(&out.stderr)
            );
            failed.push(name);
        }
    }
    assert!(ran >= 4, "only {ran} platgen steps in the workflow");
    failed
}

#[test]
fn ci_example_passes_on_a_current_repository_and_catches_drift() {
    let workflow = ci_workflow();
    assert!(workflow["on"].is_object() && workflow["jobs"]["platgen"]["runs-on"].is_string());
    let project = Scratch::new();
    project.run(&["write"]).code(0);
    for target in targets(project.path()) {
        let built = project.run(&["build", &target]).code(0).stdout;
        project.write(&format!("golden/{target}.yaml"), &built);
    }
    git(project.path(), &["init", "-q"]);
    commit_all(project.path(), "current");
    // The validate step fails exactly when `platgen validate` does; whether the shipped
    // descriptors validate clean is `check::shipped_project_validates_clean`'s concern.
    let validate = "Descriptors are valid";
    let invalid = project.run(&["validate"]).code != 0;
    let expect = |steps: &[&str]| -> Vec<String> {
        let mut all: Vec<&str> = if invalid { vec![validate] } else { vec![] };
        all.extend(steps);
        all.into_iter().map(str::to_owned).collect()
    };
    assert_eq!(run_ci_steps(project.path()), expect(&[]));

    project.edit("environments/staging.yaml", "replicas: 2", "replicas: 3");
    assert_eq!(
        run_ci_steps(project.path()),
        expect(&[
            "Regenerate k8s/ and fail when the committed tree is stale",
            "Every target matches its golden file",
        ]),
    );
}
