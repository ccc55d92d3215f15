//! One test per class of bad input in the spec's "Bad input" list: a non-zero exit and a
//! message naming file, line, column and what was expected; nothing panics.

use crate::support::{Scratch, line_col};

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
    let (line, col) = line_col(&text.replacen(from, to, 1), offset);
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

/// `file:line:col` of the first `needle` in a file of the project as it is now.
fn located(project: &Scratch, file: &str, needle: &str) -> String {
    let text = project.read(file);
    let (line, col) = line_col(&text, text.find(needle).expect("needle in the file"));
    format!("{file}:{line}:{col}")
}

#[test]
fn every_problem_of_a_file_is_reported_in_one_run() {
    // Three mistakes in one file took three runs to see; two missing fields showed one.
    let project = Scratch::new();
    let staging = "environments/staging.yaml";
    project.edit(staging, "replicas: 2", "replcias: 2");
    project.edit(
        staging,
        "limits: {cpu: 250m, memory: 512Mi}",
        "limits: {cpu: 250m, memory: 512Mb}",
    );
    project.edit(staging, "pods: 100", "pods: -5");
    let production = "environments/production.yaml";
    let text = project.read(production);
    let without: String = text
        .lines()
        .filter(|l| !l.starts_with("namespace:") && !l.starts_with("host:"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(without.lines().count() + 2, text.lines().count());
    project.write(production, &without);
    let run = project.run(&["validate"]).code(1);
    for expected in [
        located(&project, staging, "replcias"),
        "unknown field `replcias`".into(),
        "did you mean `replicas`?".into(),
        located(&project, staging, "512Mb"),
        "`512Mb` is not a Kubernetes quantity".into(),
        located(&project, staging, "-5"),
        "quota.pods: invalid value: integer `-5`".into(),
        "expected: a whole number >= 0".into(),
        "missing field `namespace`".into(),
        "missing field `host`".into(),
        "5 problem(s)".into(),
    ] {
        assert!(
            run.stderr.contains(&expected),
            "stderr lacks `{expected}`:\n{}",
            run.stderr
        );
    }
    assert!(!run.stderr.contains("u32"), "{}", run.stderr);
    // build and write still say "error" with exit 2.
    project
        .run(&["build", "staging"])
        .code(2)
        .stderr_has("5 problem(s)");
}

#[test]
fn a_byte_that_is_not_utf8_is_located_and_validate_exits_1() {
    let project = Scratch::new();
    let file = "environments/staging.yaml";
    let at = located(&project, file, "info");
    let text = project.read(file).replacen("info", "in\u{0}fo", 1);
    let bytes: Vec<u8> = text
        .bytes()
        .map(|b| if b == 0 { 0xff } else { b })
        .collect();
    std::fs::write(project.path().join(file), bytes).expect("write");
    let col: usize = at.rsplit(':').next().expect("col").parse().expect("number");
    let at = format!("{}:{}", at.rsplit_once(':').expect("col").0, col + 2);
    project
        .run(&["validate"])
        .code(1)
        .stderr_has(&at)
        .stderr_has("not UTF-8 text: byte(s) 0xff")
        .stderr_has("expected: UTF-8 text");
    project.run(&["build", "staging"]).code(2).stderr_has(&at);
}

#[test]
fn an_unclosed_quote_is_located_where_it_opens() {
    // libyaml reported the place ten lines further down where the runaway value ended.
    let project = Scratch::new();
    let file = "environments/staging.yaml";
    project.edit(file, "APP_DEBUG: \"false\"", "APP_DEBUG: \"false");
    let at = located(&project, file, "\"false");
    project
        .run(&["validate"])
        .code(1)
        .stderr_has(&format!("--> {at}\n"))
        .stderr_has("this quoted value is not closed on its line")
        .stderr_has("expected: a closing `\"`");
}

#[test]
fn tabs_and_control_characters_are_located_with_words() {
    let project = Scratch::new();
    let file = "environments/staging.yaml";
    project.edit(file, "  LOG_LEVEL: info", "\tLOG_LEVEL: info");
    let at = located(&project, file, "\tLOG_LEVEL");
    project
        .run(&["validate"])
        .code(1)
        .stderr_has(&at)
        .stderr_has("a tab character")
        .stderr_has("expected: spaces");

    let project = Scratch::new();
    project.edit(file, "LOG_LEVEL: info", "LOG_LEVEL: in\u{7}fo");
    let at = located(&project, file, "\u{7}");
    project
        .run(&["validate"])
        .code(1)
        .stderr_has(&at)
        .stderr_has("the character U+0007 is not allowed in YAML")
        .stderr_has("expected: printable characters");
}

#[test]
fn an_environment_file_ending_in_yml_is_refused_with_the_reason() {
    // It was silently ignored: an environment that looked defined was never built.
    let project = Scratch::new();
    let text = project.read("environments/staging.yaml");
    project.write(
        "environments/qa.yml",
        &text.replacen("name: staging", "name: qa", 1),
    );
    project
        .run(&["validate"])
        .code(1)
        .stderr_has("environments/qa.yml:1:1")
        .stderr_has("descriptors end in `.yaml`")
        .stderr_has("expected: `qa.yaml` (rename the file)");
}

#[test]
fn an_alias_bomb_is_refused_at_its_alias() {
    // 600 bytes of anchors rendered a 14 MB Application that validate passed.
    let project = Scratch::new();
    let file = "environments/platform.yaml";
    let text = project.read(file);
    let values = text.find("        values:\n").expect("a chart with values");
    let mut bomb = String::from("          a0: &a0 [\"lolololololololololol\"]\n");
    for i in 1..=8 {
        let j = i - 1;
        let items = vec![format!("*a{j}"); 9].join(",");
        bomb.push_str(&format!("          a{i}: &a{i} [{items}]\n"));
    }
    assert!(bomb.len() < 700, "{}", bomb.len());
    let at = values + "        values:\n".len();
    project.write(file, &format!("{}{bomb}{}", &text[..at], &text[at..]));
    let run = project.run(&["validate"]).code(1);
    assert!(
        run.stderr.contains("aliases repeat more than 65536 bytes"),
        "{}",
        run.stderr
    );
    let line = text[..at].matches('\n').count() + 5; // a4's line: the budget runs out there
    assert!(
        run.stderr.contains(&format!("{file}:{line}:")),
        "{}",
        run.stderr
    );
}

#[test]
fn set_image_refuses_what_validate_rejects() {
    // It wrote `latest` into production, which validate then refused.
    let project = Scratch::new();
    let file = "environments/production.yaml";
    let before = project.read(file);
    project
        .run(&["set-image", "production", "auth-service=latest"])
        .code(1)
        .stderr_has("was undone: validation rejects it")
        .stderr_has("has the tag `latest`");
    assert_eq!(project.read(file), before, "file changed by a refused edit");
    project.run(&["validate"]).code(0);
}

#[test]
fn validate_exits_1_for_every_kind_of_bad_descriptor() {
    let file = "environments/staging.yaml";
    for (from, to) in [
        ("replicas: 2", "replicas: [2"),
        ("replicas: 2", "replicas: two"),
        ("replicas: 2", "replicas: 2\nreplicas: 3"),
        ("name: staging", "name: Staging"),
        ("replicas: 2", "replicas: 0"),
        ("LOG_LEVEL: info", "LOG_LEVEL: \u{1b}"),
    ] {
        let project = Scratch::new();
        project.edit(file, from, to);
        let run = project.run(&["validate"]).code(1);
        assert!(
            run.stderr.contains(&format!("--> {file}:")),
            "{to}: {}",
            run.stderr
        );
        assert!(run.stderr.contains("= expected: "), "{to}: {}", run.stderr);
        project.run(&["build", "staging"]).code(2);
    }
}

/// `*/N` in a cron minute field runs evenly only when N divides 60: an RPO of 7 minutes
/// would leave a 4-minute and a 7-minute gap, so it is refused where it is written.
#[test]
fn recovery_point_objective_must_divide_an_hour() {
    let file = "environments/production.yaml";
    rejects_at(
        file,
        "pointInTime: {rpoMinutes: 15}",
        "pointInTime: {rpoMinutes: 7}",
        "7",
        &["RPO of 7 minutes", "a divisor of 60"],
    );
}
