//! The test suite itself: a test that cannot run says so where a developer looks.

use std::process::Command;

/// The tests that skip when a tool or folder is missing, by their full names.
const SKIPPING: [&str; 13] = [
    "tree::kubectl_kustomize_prints_exactly_what_build_prints",
    "conformance::kubernetes_validate_strict_1_28_finds_nothing",
    "conformance::checkov_finds_no_failed_check",
    "conformance::yamllint_finds_nothing_in_the_tree_and_the_streams",
    "check::every_custom_resource_matches_its_schema",
    "check::unknown_field_in_a_custom_resource_is_found",
    "backup::rendered_scripts_pass_shellcheck",
    "backup::init_dump_binlog_and_restore_scripts_run_against_a_real_server",
    "backup::backup_alerts_report_failed_never_successful_and_overdue_cron_jobs",
    "data_layer::data_layer_scripts_pass_shellcheck",
    "data_layer::nodes_conf_gets_the_current_addresses_of_the_announced_host_names",
    "data_layer::cluster_create_forms_a_new_cluster_once_and_refuses_a_partial_one",
    "data_layer::redis_cluster_forms_and_survives_new_addresses_for_every_node",
];

/// `cargo test` hides what a passing test prints with `eprintln!`: a skip printed that
/// way reads as a pass. Runs this test binary as `cargo test` does, with no tool on the
/// PATH, and looks for every skip notice in its default output.
#[test]
fn skipped_tests_say_so_in_the_default_output() {
    let empty = tempfile::tempdir().expect("temp dir");
    let output = Command::new(std::env::current_exe().expect("this test binary"))
        .args(SKIPPING)
        .arg("--exact")
        .env("PATH", empty.path())
        .env_remove("RUST_TEST_NOCAPTURE")
        .env_remove("PLATGEN_CRD_SCHEMAS")
        .env_remove("PLATGEN_REQUIRE_KUSTOMIZE")
        .env_remove("PLATGEN_REQUIRE_CHECKERS")
        .output()
        .expect("the test binary runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{text}");
    assert!(
        text.contains(&format!("{} passed", SKIPPING.len())),
        "{text}"
    );
    for test in SKIPPING {
        let name = test.rsplit("::").next().expect("a name");
        assert!(
            text.contains(&format!("SKIPPED {name}: ")),
            "no skip notice for {test}:\n{text}"
        );
    }
}
