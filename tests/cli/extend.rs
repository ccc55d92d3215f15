//! A new service and a new environment are descriptor edits, with no Rust change.

use crate::support::Scratch;

#[test]
fn fourteenth_service_with_its_database_and_a_qa_environment() {
    let project = Scratch::new();
    let catalog = project.read("environments/platform.yaml");
    let catalog = catalog
        .replacen(
            "\ndatabases:\n",
            "  - name: reviews-service\n    layer: business\n    port: 8000\n    database: reviews_db\n\ndatabases:\n  - name: reviews_db\n",
            1,
        );
    project.write("environments/platform.yaml", &catalog);
    let qa = project
        .read("environments/staging.yaml")
        .replace("name: staging", "name: qa")
        .replace("e-commerce-staging", "e-commerce-qa")
        .replace("staging.yourdomain.com", "qa.yourdomain.com");
    project.write("environments/qa.yaml", &qa);

    let targets = project.run(&["targets"]).code(0).stdout;
    assert!(
        targets.contains("qa\tenvironment\toverlays/qa\n"),
        "{targets}"
    );
    let out = project.run(&["build", "qa"]).code(0).stdout;
    for needle in [
        "name: reviews-service\n",
        "name: reviews-service-mysql\n",
        "name: reviews-mysql-init\n",
        "name: reviews-mysql-secret\n",
        "claimName: reviews-mysql-pvc\n",
        "namespace: e-commerce-qa\n",
        "CREATE DATABASE IF NOT EXISTS `reviews_db`",
    ] {
        assert!(out.contains(needle), "qa build lacks {needle}");
    }
    let prod = project.run(&["build", "production"]).code(0).stdout;
    assert!(prod.contains("name: reviews-service-hpa\n"));
}

#[test]
fn enabling_payments_renders_it() {
    let project = Scratch::new();
    project.edit(
        "environments/platform.yaml",
        "    port: 8000\n    enabled: false\n",
        "    port: 8000\n",
    );
    let out = project.run(&["build", "staging"]).code(0).stdout;
    assert!(out.contains("name: payments-service\n"));
}
