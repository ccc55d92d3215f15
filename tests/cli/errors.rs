//! One test per class of bad input in the spec's "Bad input" list: a non-zero exit and a
//! message naming file, line, column and what was expected; nothing panics.

use crate::support::Scratch;

/// Runs `build production` on a scratch project with one edit and checks the report.
fn rejects(file: &str, from: &str, to: &str, expect: &[&str]) {
    let project = Scratch::new();
    project.edit(file, from, to);
    let run = project.run(&["build", "production"]).code(2);
    assert!(
        run.stdout.is_empty(),
        "nothing printed on stdout: {}",
        run.stdout
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    for needle in expect {
        assert!(
            run.stderr.contains(needle),
            "stderr lacks `{needle}`:\n{}",
            run.stderr
        );
    }
}

/// [`rejects`], the report first naming the `path:line:col` of `needle` inside `to`.
fn rejects_at(file: &str, from: &str, to: &str, needle: &str, expect: &[&str]) {
    let at = edited_location(file, from, to, needle);
    rejects(file, from, to, &[&[at.as_str()], expect].concat());
}

/// The `path:line:col` of `needle` inside the replacement text `to`, once `from` is
/// replaced by it in `file`.
fn edited_location(file: &str, from: &str, to: &str, needle: &str) -> String {
    let text = Scratch::new().read(file);
    let start = text.find(from).expect("edit target present");
    let offset = start + to.find(needle).expect("needle inside the replacement");
    let edited = text.replacen(from, to, 1);
    let before = &edited[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .unwrap_or_default()
        .chars()
        .count()
        + 1;
    format!("{file}:{line}:{col}")
}

#[test]
fn bad_yaml_is_located() {
    let file = "environments/staging.yaml";
    let at = edited_location(file, "replicas: 2", "replicas: [2", "replicas");
    let line = at.split(':').nth(1).expect("line").to_owned();
    rejects(
        file,
        "replicas: 2",
        "replicas: [2",
        &[&format!("{file}:"), "error:", &line],
    );
}

#[test]
fn unknown_field_suggests_the_right_one() {
    let file = "environments/production.yaml";
    rejects_at(
        file,
        "zoneSpread: true",
        "zoneSpred: true",
        "zoneSpred",
        &["unknown field `zoneSpred`", "zoneSpread"],
    );
}

#[test]
fn wrong_type_is_located() {
    let file = "environments/staging.yaml";
    rejects_at(
        file,
        "replicas: 2",
        "replicas: two",
        "two",
        &["invalid type"],
    );
}

#[test]
fn bad_quantity_names_the_expected_form() {
    let file = "environments/production.yaml";
    let from = "limits: {cpu: 500m, memory: 1Gi}";
    let to = "limits: {cpu: 500m, memory: 512Mb}";
    rejects_at(
        file,
        from,
        to,
        "512Mb",
        &["`512Mb` is not a Kubernetes quantity", "512Mi"],
    );
}

#[test]
fn duplicate_service_is_located_at_the_second_entry() {
    let file = "environments/platform.yaml";
    let from = "  - name: contacts-service\n";
    let to = "  - name: sav-service\n";
    let project = Scratch::new();
    let text = project.read(file).replacen(from, to, 1);
    let second = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains("name: sav-service"))
        .nth(1)
        .expect("twice")
        .0;
    rejects(
        file,
        from,
        to,
        &[
            &format!("{file}:{}:", second + 1),
            "duplicate service `sav-service`",
        ],
    );
}

#[test]
fn name_that_is_not_a_dns_label() {
    let file = "environments/platform.yaml";
    rejects_at(
        file,
        "name: questions-service",
        "name: Questions_Service",
        "Questions_Service",
        &["not a DNS-1123 label"],
    );
}

#[test]
fn undefined_database_reference_suggests_the_closest() {
    let file = "environments/platform.yaml";
    rejects_at(
        file,
        "database: orders_db",
        "database: order_db",
        "order_db",
        &[
            "database `order_db` is not defined",
            "did you mean `orders_db`?",
        ],
    );
}

#[test]
fn undefined_bucket_reference() {
    let file = "environments/platform.yaml";
    rejects_at(
        file,
        "bucket: sav\n",
        "bucket: save\n",
        "save",
        &["bucket `save` is not defined", "did you mean `sav`?"],
    );
}

#[test]
fn min_replicas_above_max() {
    let file = "environments/production.yaml";
    let from = "api-gateway: {min: 3, max: 15}";
    let to = "api-gateway: {min: 30, max: 15}";
    rejects_at(
        file,
        from,
        to,
        "30",
        &["min replicas 30 is above max replicas 15", "min <= max"],
    );
}

#[test]
fn request_above_its_limit() {
    let file = "environments/staging.yaml";
    let from = "requests: {cpu: 100m, memory: 256Mi}";
    let to = "requests: {cpu: 400m, memory: 256Mi}";
    rejects_at(
        file,
        from,
        to,
        "400m",
        &["cpu 400m is above", "at most 250m"],
    );
}

#[test]
fn port_out_of_range() {
    let file = "environments/platform.yaml";
    rejects_at(
        file,
        "port: 8100",
        "port: 81000",
        "81000",
        &["a port number from 1 to 65535"],
    );
}

#[test]
fn unknown_environment_name_suggests_the_closest() {
    let project = Scratch::new();
    project
        .run(&["build", "prodution"])
        .code(2)
        .stderr_has("unknown target `prodution`")
        .stderr_has("did you mean `production`?");
}

#[test]
fn environment_file_named_differently_from_its_name() {
    let file = "environments/staging.yaml";
    rejects_at(
        file,
        "name: staging",
        "name: stagin",
        "stagin",
        &["does not match its file `staging.yaml`"],
    );
}

#[test]
fn unknown_workload_in_an_environment() {
    let file = "environments/production.yaml";
    rejects_at(
        file,
        "auth-service: {min: 3",
        "auth-servic: {min: 3",
        "auth-servic",
        &[
            "workload `auth-servic` is not defined",
            "did you mean `auth-service`?",
        ],
    );
}

#[test]
fn validate_reports_problems_with_exit_1() {
    let project = Scratch::new();
    project.edit("environments/staging.yaml", "replicas: 2", "replicas: 0");
    project
        .run(&["validate"])
        .code(1)
        .stderr_has("environments/staging.yaml:")
        .stderr_has("at least 1");
    Scratch::new().run(&["validate"]).code(0);
}

#[test]
fn every_problem_is_reported_at_once() {
    let project = Scratch::new();
    project.edit("environments/staging.yaml", "replicas: 2", "replicas: 0");
    project.edit(
        "environments/production.yaml",
        "{min: 3, max: 15}",
        "{min: 30, max: 15}",
    );
    project
        .run(&["build", "staging"])
        .code(2)
        .stderr_has("environments/staging.yaml:")
        .stderr_has("environments/production.yaml:")
        .stderr_has("2 problem(s)");
}

#[test]
fn a_chart_namespace_that_differs_from_the_catalog_is_located() {
    let file = "environments/platform.yaml";
    let from = "        chart: traefik\n        version: 37.3.0\n        namespace: traefik\n";
    let to = "        chart: traefik\n        version: 37.3.0\n        namespace: ingress\n";
    rejects_at(
        file,
        from,
        to,
        "ingress",
        &[
            "the traefik chart installs into `ingress`",
            "expected: `traefik`, the namespace security.ingressNamespace names",
        ],
    );
}

#[test]
fn a_dashboard_without_its_template_is_located() {
    let file = "environments/platform.yaml";
    let from = "{name: rabbitmq, title: RabbitMQ messaging}";
    let to = "{name: rabbitmg, title: RabbitMQ messaging}";
    rejects_at(
        file,
        from,
        to,
        "rabbitmg",
        &[
            "dashboard template (components/monitoring/dashboards/<name>.json.j2) `rabbitmg` is not defined",
            "did you mean `rabbitmq`?",
        ],
    );
}
