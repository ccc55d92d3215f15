//! `platgen validate` on the rendered objects (references, policy, CRD schemas) and
//! `platgen reachability`. Each mistake is injected into a scratch project through its
//! descriptors or templates; mistakes that descriptor validation already forbids are
//! unit-tested on hand-built objects in `src/check/`.

use crate::support::{Run, Scratch, repo, run_in, skip};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// Asserts that the report holds a finding block with every one of `lines`, in order.
pub(crate) fn assert_finding(run: &Run, lines: &[&str]) {
    let found = run.stdout.split("\n\n").any(|block| {
        let mut rest = block;
        lines.iter().all(|line| match rest.find(line) {
            Some(at) => {
                rest = &rest[at + line.len()..];
                true
            }
            None => false,
        })
    });
    assert!(found, "no finding with {lines:#?} in:\n{}", run.stdout);
}

/// 1-based number of the first line of a project file that starts with `prefix`.
pub(crate) fn line_of(project: &Scratch, file: &str, prefix: &str) -> usize {
    let text = project.read(file);
    text.lines()
        .position(|l| l.starts_with(prefix))
        .expect("line present")
        + 1
}

pub(crate) fn validate(project: &Scratch, args: &[&str]) -> Run {
    let mut all = vec!["validate"];
    all.extend_from_slice(args);
    run_in(project.path(), &all)
}

#[test]
fn shipped_project_validates_clean() {
    let result = validate(&Scratch::new(), &[]);
    assert_eq!(
        result.code, 0,
        "findings in the shipped project:\n{}{}",
        result.stdout, result.stderr
    );
    // Every target is checked when none is named.
    let targets = crate::support::targets(&repo()).join(", ");
    let summary = format!("target(s) checked ({targets})\n");
    assert!(result.stdout.ends_with(&summary), "{}", result.stdout);
}

/// Without schemas, validate says that the custom resources went unchecked.
#[test]
fn custom_resources_unchecked_without_schemas_are_said() {
    let result = validate(&Scratch::new(), &["monitoring"]);
    let note = result
        .stdout
        .lines()
        .find(|l| l.starts_with("note: "))
        .unwrap_or_else(|| panic!("no note:\n{}", result.stdout));
    let count: usize = note["note: ".len()..]
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in `{note}`"));
    assert!(count > 0, "{note}");
    assert!(
        note.ends_with(
            " custom resource(s) not checked against their CRD schemas: \
             give the schemas with --crd-schemas DIR (or $PLATGEN_CRD_SCHEMAS)"
        ),
        "{note}"
    );
}

#[test]
fn unknown_target_is_an_error() {
    validate(&Scratch::new(), &["prod"])
        .code(2)
        .stderr_has("unknown target `prod`");
}

#[test]
fn report_is_deterministic() {
    let project = Scratch::new();
    project.edit(
        "templates/ingress/middlewares.yaml.j2",
        "  name: rate-limit\n",
        "  name: rate-limiter\n",
    );
    let first = validate(&project, &[]).code(1).stdout;
    assert_eq!(first, validate(&project, &[]).code(1).stdout);
}

// --- cross-references -------------------------------------------------------------

#[test]
fn secret_key_missing_from_the_external_secret_is_found() {
    let project = Scratch::new();
    project.edit(
        "templates/security/external-secret.yaml.j2",
        "  - secretKey: {{ key }}\n",
        "  - secretKey: {{ key | replace(\"password\", \"passwd\") }}\n",
    );
    let result = validate(&project, &["production"]).code(1);
    // A key asked through secretKeyRef ...
    assert_finding(
        &result,
        &[
            "error[references]: Secret `auth-mysql-secret` has no key `password` (its keys: backup-passwd, exporter-passwd, passwd, root-passwd, username)",
            "--> Deployment/e-commerce-prod/auth-service (target production)",
            "= field: spec.template.spec.containers[0].env[5].valueFrom.secretKeyRef.key",
            "= descriptor: environments/platform.yaml:",
            "services[1] (auth-service)",
        ],
    );
    // ... and a file read from the mounted Secret.
    assert_finding(
        &result,
        &[
            "error[references]: Secret `auth-mysql-secret` has no key `root-password`",
            "--> Deployment/e-commerce-prod/auth-service-mysql (target production)",
            "= field: spec.template.spec.containers[0].env[0].value",
            "databases[0] (auth_db)",
        ],
    );
}

#[test]
fn secret_no_external_secret_delivers_is_found() {
    let project = Scratch::new();
    project.edit(
        "templates/security/external-secret.yaml.j2",
        "    name: {{ name }}\n    creationPolicy",
        "    name: {{ name ~ \"-renamed\" }}\n    creationPolicy",
    );
    let result = validate(&project, &["staging"]).code(1);
    assert_finding(
        &result,
        &[
            "error[references]: Secret `redis-secret` is delivered by no ExternalSecret in namespace e-commerce-staging",
            "--> Deployment/e-commerce-staging/redis (target staging)",
            "= field: spec.template.spec.containers[0].env[0].valueFrom.secretKeyRef.name",
            "= descriptor: environments/platform.yaml:",
            ": redis",
        ],
    );
}

#[test]
fn ingress_middleware_that_no_target_builds_is_found() {
    let project = Scratch::new();
    project.edit(
        "templates/ingress/middlewares.yaml.j2",
        "  name: rate-limit\n",
        "  name: rate-limiter\n",
    );
    let result = validate(&project, &["production"]).code(1);
    assert_finding(
        &result,
        &[
            "error[references]: middleware `e-commerce-prod-rate-limit@kubernetescrd` is a Middleware no target builds",
            "--> Ingress/e-commerce-prod/api-gateway (target production)",
            "= field: metadata.annotations[traefik.ingress.kubernetes.io/router.middlewares]",
            &format!(
                "= descriptor: environments/production.yaml:{}:7: host",
                line_of(&project, "environments/production.yaml", "host:")
            ),
        ],
    );
}

#[test]
fn network_policy_and_budget_selecting_no_pod_are_found() {
    // The operator labels the cluster's pods with the cluster's name: renamed in the
    // template only, the policy, the disruption budget and the environments' rules
    // toward RabbitMQ all select nothing.
    let project = Scratch::new();
    project.edit(
        "templates/components/messaging/rabbitmq-cluster.yaml.j2",
        "  name: {{ name | tojson }}",
        "  name: rabbitmq",
    );
    let result = validate(&project, &[]).code(1);
    let selector = "app.kubernetes.io/component=rabbitmq,app.kubernetes.io/name=rabbitmq-cluster";
    assert_finding(
        &result,
        &[
            &format!(
                "error[references]: podSelector `{selector}` selects no pod in namespace e-commerce-messaging"
            ),
            "--> NetworkPolicy/e-commerce-messaging/rabbitmq-cluster-traffic (target messaging)",
            "= field: spec.podSelector",
            "= descriptor: environments/platform.yaml:",
            "components.messaging",
        ],
    );
    assert_finding(
        &result,
        &[
            &format!(
                "error[references]: PodDisruptionBudget selector `{selector}` selects no pod in namespace e-commerce-messaging"
            ),
            "--> PodDisruptionBudget/e-commerce-messaging/rabbitmq-cluster (target messaging)",
            "= field: spec.selector",
        ],
    );
    assert_finding(
        &result,
        &[
            "error[references]: rule peer `app.kubernetes.io/name=rabbitmq-cluster` selects no pod in namespace e-commerce-messaging",
            "--> NetworkPolicy/e-commerce-prod/auth-service-traffic (target production)",
            "= field: spec.egress[",
        ],
    );
}

#[test]
fn service_monitor_port_missing_from_the_services_is_found() {
    // The ServiceMonitor lives in `monitoring`; the Services it scrapes in the environments.
    let project = Scratch::new();
    project.edit(
        "templates/components/monitoring/monitors.yaml.j2",
        "  endpoints: {{ monitor.endpoints | tojson }}",
        "  endpoints: [{\"port\": \"metric\", \"path\": \"/metrics\"}]",
    );
    let result = validate(&project, &["monitoring"]).code(1);
    assert_finding(
        &result,
        &[
            "error[references]: scrapes port `metric`, which selected Service/e-commerce-prod/auth-service (target production) does not have",
            "--> ServiceMonitor/monitoring/e-commerce-services (target monitoring)",
            "= field: spec.endpoints[0].port",
            "= descriptor: environments/platform.yaml:",
            "components.monitoring",
        ],
    );
}

// --- policy -----------------------------------------------------------------------

#[test]
fn latest_image_is_found_where_the_environment_does_not_allow_it() {
    let project = Scratch::new();
    let staging = project.read("environments/staging.yaml");
    project.write(
        "environments/staging.yaml",
        &format!("{staging}images:\n  auth-service: latest\n"),
    );
    let line = staging.lines().count() + 2;
    let result = validate(&project, &[]).code(1);
    assert_finding(
        &result,
        &[
            "error[policy]: image `registry.yourdomain.com/e-commerce/auth-service:latest` has the tag `latest`: pin a version (only an environment with `allowUnpinnedImages: true` runs unpinned images)",
            "--> Deployment/e-commerce-staging/auth-service (target staging)",
            "= field: spec.template.spec.containers[0].image",
            &format!("= descriptor: environments/staging.yaml:{line}:17: images.auth-service"),
        ],
    );
}

/// Whether `latest` is tolerated is the environment's descriptor's say, not its name's:
/// a `sandbox` copy of development tolerates it, development without the flag does not.
#[test]
fn latest_image_is_tolerated_where_the_environment_allows_it() {
    let project = Scratch::new();
    let development = project.read("environments/development.yaml");
    let sandbox = development
        .replace("name: development", "name: sandbox")
        .replace("namespace: e-commerce-dev", "namespace: e-commerce-sandbox")
        .replace("host: dev.yourdomain.com", "host: sandbox.yourdomain.com");
    assert!(sandbox.contains("allowUnpinnedImages: true\n"), "{sandbox}");
    project.write(
        "environments/sandbox.yaml",
        &format!("{sandbox}images:\n  auth-service: latest\n"),
    );
    let result = validate(&project, &["sandbox"]);
    assert!(!result.stdout.contains(":latest"), "{}", result.stdout);
    // Admission agrees: Gatekeeper's no-latest constraint leaves the sandbox alone.
    let judged = || {
        let security = project.run(&["build", "security"]).code(0).stdout;
        let constraint = security
            .split("\n---\n")
            .find(|d| d.contains("kind: K8sDisallowLatestTag\n"))
            .expect("the no-latest constraint")
            .to_owned();
        constraint.contains("- e-commerce-sandbox\n")
    };
    assert!(!judged());

    project.write(
        "environments/sandbox.yaml",
        &format!(
            "{}images:\n  auth-service: latest\n",
            sandbox.replace("allowUnpinnedImages: true\n", "")
        ),
    );
    assert_finding(
        &validate(&project, &["sandbox"]).code(1),
        &[
            "has the tag `latest`: pin a version",
            "--> Deployment/e-commerce-sandbox/auth-service (target sandbox)",
        ],
    );
    assert!(judged());
}

// --- names -------------------------------------------------------------------------

/// A database name valid on its own yields a backup CronJob name over the 52 characters
/// Kubernetes allows CronJobs: found, at the database's entry.
#[test]
fn a_derived_name_over_the_limit_of_its_kind_is_found_at_its_entry() {
    let project = Scratch::new();
    let long = format!("{}_db", "a".repeat(45));
    let catalog = project.read("environments/platform.yaml");
    project.write(
        "environments/platform.yaml",
        &catalog.replace("auth_db", &long),
    );
    let line = line_of(
        &project,
        "environments/platform.yaml",
        &format!("  - name: {long}"),
    );
    let cron_job = format!("{}-mysql-backup", "a".repeat(45));
    let result = validate(&project, &["production"]).code(1);
    assert_finding(
        &result,
        &[
            &format!(
                "error[names]: CronJob name `{cron_job}` is 58 characters long, over the 52 allowed: the API server refuses it"
            ),
            &format!("--> CronJob/e-commerce-prod/{cron_job} (target production)"),
            "= field: metadata.name",
            &format!("= descriptor: environments/platform.yaml:{line}:5: databases[0] ({long})"),
        ],
    );
}

#[test]
fn untagged_image_of_a_component_is_found() {
    let project = Scratch::new();
    project.edit(
        "templates/components/messaging/rabbitmq-cluster.yaml.j2",
        "  image: {{ image | tojson }}",
        "  image: rabbitmq",
    );
    assert_finding(
        &validate(&project, &["messaging"]).code(1),
        &[
            "error[policy]: image `rabbitmq` has no tag (so it runs `latest`): pin a version (only an environment with `allowUnpinnedImages: true` runs unpinned images)",
            "--> RabbitmqCluster/e-commerce-messaging/rabbitmq-cluster (target messaging)",
            "= field: spec.image",
            "= descriptor: environments/platform.yaml:",
            "components.messaging",
        ],
    );
}

#[test]
fn request_above_limit_is_found() {
    // Descriptor validation forbids it; a template can still write it.
    let project = Scratch::new();
    project.edit(
        "templates/components/monitoring/jaeger.yaml.j2",
        "    resources: {{ resources | tojson }}",
        "    resources: {\"requests\": {\"cpu\": \"2\"}, \"limits\": {\"cpu\": \"500m\"}}",
    );
    assert_finding(
        &validate(&project, &["monitoring"]).code(1),
        &[
            "error[policy]: request cpu 2 is above its limit 500m",
            "--> Jaeger/monitoring/jaeger (target monitoring)",
            "= field: spec.allInOne.resources.requests.cpu",
        ],
    );
}

#[test]
fn literal_secret_is_found() {
    let project = Scratch::new();
    let template = project.read("templates/security/external-secret.yaml.j2");
    project.write(
        "templates/security/external-secret.yaml.j2",
        &format!(
            "{template}\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: {{{{ name ~ \"-literal\" }}}}\nstringData:\n  password: hunter2\n"
        ),
    );
    assert_finding(
        &validate(&project, &["production"]).code(1),
        &[
            "error[policy]: Secret carries literal stringData (keys: password): deliver it through an ExternalSecret",
            "--> Secret/e-commerce-prod/redis-secret-literal (target production)",
            "= field: stringData",
        ],
    );
}

#[test]
fn literal_credential_in_environment_is_found() {
    let project = Scratch::new();
    project.edit(
        "templates/components/monitoring/jaeger.yaml.j2",
        "    image: {{ image | tojson }}",
        "    image: {{ image | tojson }}\n    env: [{\"name\": \"ADMIN_PASSWORD\", \"value\": \"hunter2\"}]\n    args: [\"--es.password=hunter2\"]",
    );
    let result = validate(&project, &["monitoring"]).code(1);
    assert_finding(
        &result,
        &[
            "error[policy]: environment variable `ADMIN_PASSWORD` holds a literal credential",
            "--> Jaeger/monitoring/jaeger (target monitoring)",
            "= field: spec.allInOne.env[0].value",
        ],
    );
    assert_finding(
        &result,
        &[
            "error[policy]: passes a literal credential (`password=…`)",
            "= field: spec.allInOne.args[0]",
        ],
    );
    assert!(
        !result.stdout.contains("hunter2"),
        "the report shows no credential"
    );
}

// --- custom resources against their schemas ------------------------------------------

/// The schema folder CI provides through `PLATGEN_CRD_SCHEMAS`, when it is there.
pub(crate) fn crd_schemas(test: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("PLATGEN_CRD_SCHEMAS")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .map(|d| if d.is_relative() { repo().join(d) } else { d });
    match dir {
        Some(dir) if dir.is_dir() => Some(dir),
        other => {
            let why = match other {
                None => "PLATGEN_CRD_SCHEMAS not set".to_owned(),
                Some(dir) => format!("PLATGEN_CRD_SCHEMAS folder {} is absent", dir.display()),
            };
            skip(test, &why, &[]);
            None
        }
    }
}

#[test]
fn every_custom_resource_matches_its_schema() {
    let Some(dir) = crd_schemas("every_custom_resource_matches_its_schema") else {
        return;
    };
    let project = Scratch::new();
    let result = run_in(
        project.path(),
        &["validate", "--crd-schemas", &dir.display().to_string()],
    );
    // Findings of other families do not concern this test; an error would.
    assert_ne!(result.code, 2, "validate failed:\n{}", result.stderr);
    assert!(result.stdout.contains("objects valid") || result.stdout.contains("finding(s)"));
    assert!(!result.stdout.contains("not checked"), "{}", result.stdout);
    let schema_findings: Vec<&str> = result
        .stdout
        .split("\n\n")
        .filter(|block| block.contains("error[schema]"))
        .collect();
    assert!(
        schema_findings.is_empty(),
        "{}",
        schema_findings.join("\n\n")
    );
}

#[test]
fn unknown_field_in_a_custom_resource_is_found() {
    let Some(dir) = crd_schemas("unknown_field_in_a_custom_resource_is_found") else {
        return;
    };
    let project = Scratch::new();
    project.edit(
        "templates/ingress/middlewares.yaml.j2",
        "    scheme: https\n",
        "    scheme: https\n    colour: blue\n",
    );
    let dir = dir.display().to_string();
    let result = run_in(
        project.path(),
        &["validate", "production", "--crd-schemas", &dir],
    )
    .code(1);
    assert_finding(
        &result,
        &[
            "error[schema]: does not match traefik.io/middleware_v1alpha1.json: Additional properties are not allowed ('colour' was unexpected)",
            "--> Middleware/e-commerce-prod/redirect-https (target production)",
            "= field: spec.redirectScheme",
            "= descriptor: environments/platform.yaml:",
            ": ingress",
        ],
    );
}

#[test]
fn custom_resource_without_a_schema_is_found() {
    // Needs no schema folder: an empty one has no schema for anything.
    let empty = tempfile::tempdir().expect("temp dir");
    let project = Scratch::new();
    let dir = empty.path().display().to_string();
    let result = run_in(
        project.path(),
        &["validate", "messaging", "--crd-schemas", &dir],
    )
    .code(1);
    assert_finding(
        &result,
        &[
            "error[schema]: custom resource has no schema: rabbitmq.com/rabbitmqcluster_v1beta1.json is missing from",
            "--> RabbitmqCluster/e-commerce-messaging/rabbitmq-cluster (target messaging)",
        ],
    );
}

#[test]
fn missing_schema_folder_is_an_error() {
    let project = Scratch::new();
    let result = run_in(
        project.path(),
        &["validate", "--crd-schemas", "/nonexistent/schemas"],
    );
    result
        .code(2)
        .stderr_has("cannot read /nonexistent/schemas");
}

// --- reachability -------------------------------------------------------------------

/// `source -> destination: ports` lines of the report, as a map.
fn connections(report: &str) -> BTreeMap<(String, String), BTreeSet<String>> {
    let list = report
        .split("Allowed connections:\n")
        .nth(1)
        .expect("a list of connections");
    list.lines()
        .map(|line| {
            let (pair, ports) = line.trim().rsplit_once(": ").expect("`a -> b: ports`");
            let (from, to) = pair.split_once(" -> ").expect("`a -> b`");
            let ports = ports.split(',').map(str::to_owned).collect();
            ((from.to_owned(), to.to_owned()), ports)
        })
        .collect()
}

#[test]
fn production_reachability_follows_the_seed() {
    let project = Scratch::new();
    let report = run_in(project.path(), &["reachability", "production"])
        .code(0)
        .stdout;
    let allowed = connections(&report);
    let reaches = |from: &str, to: &str| allowed.get(&(from.to_owned(), to.to_owned()));
    let platform = project.read("environments/platform.yaml");
    let catalog: serde_yaml::Value = serde_yaml::from_str(&platform).expect("catalog");
    let services: Vec<(String, bool)> = catalog["services"]
        .as_sequence()
        .expect("services")
        .iter()
        .filter(|s| s["enabled"].as_bool() != Some(false))
        .map(|s| {
            let name = s["name"].as_str().expect("name").to_owned();
            (name, s["database"].as_str().is_some())
        })
        .collect();
    let gateway = "api-gateway";
    let traefik = "traefik (namespace)";
    let monitoring = "monitoring (namespace)";
    for (service, has_database) in &services {
        // Each service reaches its own database, and no other service's.
        for (other, _) in &services {
            let database = format!("{other}-mysql");
            let expected =
                (other == service && *has_database).then(|| BTreeSet::from(["3306".to_owned()]));
            assert_eq!(
                reaches(service, &database),
                expected.as_ref(),
                "{service} -> {database}"
            );
        }
        // Services do not call each other; only the gateway calls them.
        for (other, _) in &services {
            let expected = (service == gateway && other != gateway)
                .then(|| BTreeSet::from(["8000".to_owned()]));
            assert_eq!(
                reaches(service, other),
                expected.as_ref(),
                "{service} -> {other}"
            );
        }
        // Only the gateway is reachable from traefik.
        let from_traefik = reaches(traefik, service);
        assert_eq!(
            from_traefik.is_some(),
            service == gateway,
            "{traefik} -> {service}: {from_traefik:?}"
        );
    }
    // Monitoring reaches every workload's metrics port: the services' and the MySQL exporters'.
    let metrics = catalog["workloads"]["metricsPort"]
        .as_u64()
        .expect("metricsPort")
        .to_string();
    let exporter = catalog["mysql"]["exporter"]["port"]
        .as_u64()
        .expect("exporter port")
        .to_string();
    for (service, has_database) in &services {
        let ports = reaches(monitoring, service);
        assert!(
            ports.is_some_and(|p| p.contains(&metrics)),
            "{monitoring} -> {service}: {ports:?}"
        );
        if *has_database {
            let database = format!("{service}-mysql");
            let ports = reaches(monitoring, &database);
            assert!(
                ports.is_some_and(|p| p.contains(&exporter)),
                "{monitoring} -> {database}: {ports:?}"
            );
        }
    }
    // Traefik reaches nothing else of the environment but cert-manager's HTTP-01 solver,
    // on its port only.
    let from_traefik: Vec<&String> = allowed
        .keys()
        .filter(|(from, to)| from == traefik && !to.contains("(namespace)"))
        .map(|(_, to)| to)
        .collect();
    assert_eq!(from_traefik, [gateway, "cm-acme-http-solver"]);
    assert_eq!(
        reaches(traefik, "cm-acme-http-solver"),
        Some(&BTreeSet::from(["8089".to_owned()]))
    );
}

#[test]
fn reachability_of_an_unknown_environment_is_an_error() {
    run_in(Scratch::new().path(), &["reachability", "prod"])
        .code(2)
        .stderr_has("unknown environment `prod`");
}

/// A component is a target but not an environment: say so rather than guess a name.
#[test]
fn reachability_of_a_component_says_it_takes_an_environment() {
    let result = run_in(Scratch::new().path(), &["reachability", "messaging"])
        .code(2)
        .stderr_has("`messaging` is a shared component, not an environment");
    assert!(!result.stderr.contains("did you mean"), "{}", result.stderr);
}

/// The report stays readable: its width follows the names, not the number of groups
/// (it was one row of 29 port cells, 277 columns wide).
#[test]
fn reachability_report_is_narrow() {
    let report = run_in(Scratch::new().path(), &["reachability", "production"])
        .code(0)
        .stdout;
    let widest = report.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    assert!(widest <= 120, "a line of {widest} columns:\n{report}");
    assert!(report.contains("Pod groups ("), "{report}");
}
