//! Issue #16: the gateway's circuit breaker and retries, session affinity from the
//! catalog, each environment's virtual host with its dead-lettering, and the alert on a
//! growing dead-letter queue (run through promtool when it is installed).

use crate::check::{assert_finding, validate};
use crate::support::{Scratch, line_col, repo, run_in, skip, which};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

const ENVIRONMENTS: [&str; 3] = ["development", "staging", "production"];

fn build(root: &Path, target: &str) -> Vec<Value> {
    let out = run_in(root, &["build", target]).code(0).stdout;
    serde_yaml::Deserializer::from_str(&out)
        .map(|d| serde::Deserialize::deserialize(d).expect("valid YAML document"))
        .collect()
}

fn of_kind<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects.iter().filter(|o| o["kind"] == kind).collect()
}

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

/// A descriptor of the repository, as JSON.
fn descriptor(name: &str) -> Value {
    let path = repo().join("environments").join(format!("{name}.yaml"));
    serde_yaml::from_str(&std::fs::read_to_string(path).expect("descriptor")).expect("YAML")
}

/// Every environment's gateway Ingress goes through the circuit breaker and the retries,
/// after the limits, each a Middleware of its namespace carrying the environment's values.
#[test]
fn every_gateway_ingress_goes_through_circuit_breaker_and_retries() {
    let mut breakers = Vec::new();
    for env in ENVIRONMENTS {
        let objects = build(&repo(), env);
        let settings = &descriptor(env)["gateway"];
        let ingresses = of_kind(&objects, "Ingress");
        assert_eq!(ingresses.len(), 1, "{env}: one Ingress");
        let namespace = ingresses[0]["metadata"]["namespace"].as_str().expect("ns");
        let chain: Vec<&str> = ingresses[0]["metadata"]["annotations"]
            ["traefik.ingress.kubernetes.io/router.middlewares"]
            .as_str()
            .expect("middlewares")
            .split(',')
            .collect();
        let names: Vec<&str> = chain
            .iter()
            .map(|m| {
                m.strip_prefix(&format!("{namespace}-"))
                    .and_then(|m| m.strip_suffix("@kubernetescrd"))
                    .expect("a Middleware of the Ingress's namespace")
            })
            .collect();
        assert_eq!(
            names,
            [
                "redirect-https",
                "rate-limit",
                "in-flight-limit",
                "circuit-breaker",
                "retry"
            ],
            "{env}"
        );
        for name in &names {
            let middleware = find(&objects, "Middleware", name);
            assert_eq!(middleware["metadata"]["namespace"], namespace, "{env}");
        }
        let breaker = &find(&objects, "Middleware", "circuit-breaker")["spec"]["circuitBreaker"];
        let wanted = &settings["circuitBreaker"];
        assert_eq!(
            breaker["expression"],
            format!(
                "NetworkErrorRatio() > {} || ResponseCodeRatio(500, 600, 0, 600) > {}",
                wanted["networkErrorRatio"], wanted["serverErrorRatio"]
            ),
            "{env}"
        );
        assert_eq!(breaker["fallbackDuration"], wanted["fallbackDuration"]);
        assert_eq!(breaker["recoveryDuration"], wanted["recoveryDuration"]);
        let retry = &find(&objects, "Middleware", "retry")["spec"]["retry"];
        assert_eq!(retry["attempts"], settings["retry"]["attempts"], "{env}");
        assert_eq!(
            retry["initialInterval"],
            settings["retry"]["initialInterval"]
        );
        breakers.push(breaker["expression"].clone());
    }
    // Development loosens production's breaker.
    assert_ne!(breakers[0], breakers[2]);
}

/// The catalog's `sessionAffinity: ClientIP` reaches its service's Service (and only its),
/// with the timeout when one is given.
#[test]
fn session_affinity_from_the_catalog_reaches_its_service() {
    let catalog = descriptor("platform");
    let sticky: Vec<&Value> = catalog["services"]
        .as_array()
        .expect("services")
        .iter()
        .filter(|s| s["sessionAffinity"] == "ClientIP")
        .collect();
    assert!(!sticky.is_empty(), "the catalog sets it on a service");
    let objects = build(&repo(), "production");
    for service in of_kind(&objects, "Service") {
        let name = service["metadata"]["name"].as_str().expect("name");
        let spec = &service["spec"];
        match sticky.iter().find(|s| s["name"] == name) {
            Some(entry) => {
                assert_eq!(spec["sessionAffinity"], "ClientIP", "{name}");
                assert_eq!(
                    spec["sessionAffinityConfig"]["clientIP"]["timeoutSeconds"],
                    entry["sessionAffinityTimeoutSeconds"],
                    "{name}"
                );
            }
            None => assert!(spec.get("sessionAffinity").is_none(), "{name}"),
        }
    }
    // Without a timeout the API server's default applies: none is written.
    let project = Scratch::new();
    project.edit(
        "environments/platform.yaml",
        "    sessionAffinityTimeoutSeconds: 3600\n",
        "",
    );
    let objects = build(project.path(), "production");
    let auth = find(&objects, "Service", "auth-service");
    assert_eq!(auth["spec"]["sessionAffinity"], "ClientIP");
    assert!(auth["spec"].get("sessionAffinityConfig").is_none());
}

/// A bad session affinity is refused by `build` (exit 2) and `validate` (exit 1) at its
/// own line and column, saying what was expected.
#[test]
fn bad_session_affinity_is_refused_at_its_place() {
    let catalog = "environments/platform.yaml";
    // (edit from, edit to, the text the error points into, the value it points at, what
    // the error expects)
    let cases = [
        (
            "    sessionAffinityTimeoutSeconds: 3600\n",
            "    sessionAffinityTimeoutSeconds: 86401\n",
            "sessionAffinityTimeoutSeconds: 86401",
            "86401",
            "expected: 1 to 86400 seconds (the API server's range)",
        ),
        (
            "    sessionAffinityTimeoutSeconds: 3600\n",
            "    sessionAffinityTimeoutSeconds: 0\n",
            "sessionAffinityTimeoutSeconds: 0",
            "0",
            "expected: 1 to 86400 seconds (the API server's range)",
        ),
        (
            "    sessionAffinity: ClientIP\n",
            "    sessionAffinity: Sticky\n",
            "sessionAffinity: Sticky",
            "Sticky",
            "expected: one of `None`, `ClientIP`",
        ),
        (
            "    sessionAffinity: ClientIP\n",
            "    sessionAffinity: None\n",
            "sessionAffinityTimeoutSeconds: 3600",
            "3600",
            "expected: sessionAffinity: ClientIP beside it",
        ),
        (
            "    port: 8100\n    public: true\n",
            "    port: 8100\n    public: true\n    sessionAffinity: ClientIP\n",
            "public: true\n    sessionAffinity: ClientIP",
            "ClientIP",
            "expected: no sessionAffinity on a public service",
        ),
    ];
    for (from, to, anchor, value, expected) in cases {
        let project = Scratch::new();
        project.edit(catalog, from, to);
        let text = project.read(catalog);
        let at = text.find(anchor).expect("anchor") + anchor.find(value).expect("value");
        let (line, col) = line_col(&text, at);
        let location = format!("{catalog}:{line}:{col}");
        project
            .run(&["build", "production"])
            .code(2)
            .stderr_has(&location)
            .stderr_has(expected);
        project.run(&["validate"]).code(1).stderr_has(&location);
    }
}

/// Per environment: one Vhost (quorum queues by default, kept in RabbitMQ when its object
/// is deleted), a User and a Permission on it
/// per service, and the dead letters: a fanout exchange bound to a quorum queue, and a
/// policy on the environment's queues (not the dead-letter queue) with the
/// environment's delivery limit and message TTL.
#[test]
fn every_environment_has_its_vhost_permissions_and_dead_lettering() {
    let catalog = descriptor("platform");
    let services = catalog["services"]
        .as_array()
        .expect("services")
        .iter()
        .filter(|s| s["enabled"] != false)
        .count();
    let dead_letters = &catalog["rabbitmq"]["deadLetters"];
    let (exchange, queue) = (&dead_letters["exchange"], &dead_letters["queue"]);
    for env in ENVIRONMENTS {
        let objects = build(&repo(), env);
        let messaging = &descriptor(env)["messaging"];
        let vhosts = of_kind(&objects, "Vhost");
        assert_eq!(vhosts.len(), 1, "{env}: one Vhost");
        assert_eq!(vhosts[0]["spec"]["name"], env);
        assert_eq!(vhosts[0]["spec"]["defaultQueueType"], "quorum");
        // Deleting the object must not delete the messages.
        assert_eq!(vhosts[0]["spec"]["deletionPolicy"], "retain");
        let permissions = of_kind(&objects, "Permission");
        assert_eq!(
            permissions.len(),
            services,
            "{env}: one Permission per service"
        );
        assert_eq!(of_kind(&objects, "User").len(), services);
        for permission in &permissions {
            assert_eq!(permission["spec"]["vhost"], env);
        }
        let topology = ["Exchange", "Queue", "Binding", "Policy"].map(|kind| {
            let found = of_kind(&objects, kind);
            assert_eq!(found.len(), 1, "{env}: one {kind}");
            assert_eq!(found[0]["spec"]["vhost"], env, "{env}: {kind}");
            &found[0]["spec"]
        });
        let [x, q, binding, policy] = topology;
        assert_eq!((&x["name"], &x["type"]), (exchange, &Value::from("fanout")));
        assert_eq!((&q["name"], &q["type"]), (queue, &Value::from("quorum")));
        assert_eq!(q["deletionPolicy"], "retain");
        assert_eq!(
            (&binding["source"], &binding["destination"]),
            (exchange, queue)
        );
        assert_eq!(policy["applyTo"], "queues");
        let definition = &policy["definition"];
        assert_eq!(&definition["dead-letter-exchange"], exchange);
        assert_eq!(definition["delivery-limit"], messaging["deliveryLimit"]);
        let ttl = messaging["messageTtl"].as_str().expect("ttl");
        let hours: u64 = ttl.strip_suffix('h').expect("hours").parse().expect("n");
        assert_eq!(definition["message-ttl"], hours * 3_600_000, "{env}");
        // RabbitMQ matches the pattern unanchored, PCRE: it takes the application's
        // queues, never the dead-letter queue.
        let pattern =
            fancy_regex::Regex::new(policy["pattern"].as_str().expect("pattern")).expect("regex");
        for name in ["default", "orders", "dead-letters-archive"] {
            assert!(pattern.is_match(name).expect("match"), "{name}");
        }
        assert!(
            !pattern
                .is_match(queue.as_str().expect("queue"))
                .expect("match")
        );
    }
}

/// A policy whose pattern takes its own dead-letter queue makes dead letters loop: a
/// finding at the catalog's pattern.
#[test]
fn policy_taking_its_own_dead_letter_queue_is_found() {
    let project = Scratch::new();
    project.edit(
        "environments/platform.yaml",
        "    pattern: \"^(?!dead-letters$)\"\n",
        "    pattern: \".*\"\n",
    );
    let line = crate::check::line_of(
        &project,
        "environments/platform.yaml",
        "    pattern: \".*\"",
    );
    let result = validate(&project, &["staging"]).code(1);
    assert_finding(
        &result,
        &[
            "error[wiring]: pattern `.*` takes `dead-letters`, the queue its dead letters go to (through exchange `dead-letters`, virtual host `staging`): a message rejected or expired there is dead-lettered back to it, in a loop",
            "--> Policy/e-commerce-staging/rabbitmq-dead-letters (target staging)",
            "= field: spec.pattern",
            &format!(
                "= descriptor: environments/platform.yaml:{line}:14: rabbitmq.deadLetters.pattern"
            ),
        ],
    );
    // A policy of greater priority on the dead-letter queue governs it instead.
    project.write(
        "templates/messaging/dead-letters.yaml.j2",
        &format!(
            "{}\n---\napiVersion: rabbitmq.com/v1beta1\nkind: Policy\nmetadata:\n  name: dead-letter-queue\n  labels: {{{{ labels | tojson }}}}\nspec:\n  name: dead-letter-queue\n  vhost: {{{{ vhost | tojson }}}}\n  pattern: \"^dead-letters$\"\n  applyTo: queues\n  priority: 1\n  definition: {{max-length: 100000}}\n  rabbitmqClusterReference: {{{{ cluster | tojson }}}}\n",
            project.read("templates/messaging/dead-letters.yaml.j2")
        ),
    );
    let result = validate(&project, &["staging"]).code(0);
    assert!(!result.stdout.contains("in a loop"), "{}", result.stdout);
}

/// Dead letters sent to an exchange the virtual host does not declare, or one bound to
/// no queue, are lost: both are findings.
#[test]
fn dead_letters_with_nowhere_to_go_are_found() {
    let template = "templates/messaging/dead-letters.yaml.j2";
    let project = Scratch::new();
    project.edit(
        template,
        "    dead-letter-exchange: {{ exchange | tojson }}\n",
        "    dead-letter-exchange: graveyard\n",
    );
    assert_finding(
        &validate(&project, &["production"]).code(1),
        &[
            "error[wiring]: dead-letter exchange `graveyard` is declared by no Exchange in virtual host `production`: RabbitMQ drops the dead letters",
            "--> Policy/e-commerce-prod/rabbitmq-dead-letters (target production)",
            "= field: spec.definition.dead-letter-exchange",
            "= descriptor: environments/platform.yaml:",
            "rabbitmq.deadLetters.exchange",
        ],
    );
    let project = Scratch::new();
    project.edit(
        template,
        "  source: {{ exchange | tojson }}\n",
        "  source: elsewhere\n",
    );
    assert_finding(
        &validate(&project, &["production"]).code(1),
        &[
            "error[wiring]: dead-letter exchange `dead-letters` of virtual host `production` is bound to no queue: the dead letters go nowhere",
            "--> Policy/e-commerce-prod/rabbitmq-dead-letters (target production)",
        ],
    );
}

/// Every alert rule passes `promtool check rules`, and the dead-letter alert's expression,
/// on the series RabbitMQ's `queue_coarse_metrics` exports, reports a dead-letter queue
/// that grew within its window (once, whichever node reports it), not one that stays the
/// same, nor another queue that grows.
#[test]
fn alert_rules_pass_promtool_and_dead_letter_growth_is_reported() {
    let test = "alert_rules_pass_promtool_and_dead_letter_growth_is_reported";
    let Some(promtool) = which("promtool") else {
        skip(
            test,
            "promtool not installed (apt-get install prometheus)",
            &[],
        );
        return;
    };
    let monitoring = build(&repo(), "monitoring");
    let rules = &of_kind(&monitoring, "PrometheusRule")[0]["spec"];
    let dir = tempfile::tempdir().expect("temp dir");
    let rules_file = dir.path().join("rules.yaml");
    std::fs::write(&rules_file, rules.to_string()).expect("rules");
    let run = |args: &[&str], file: &Path| {
        let out = Command::new(&promtool)
            .args(args)
            .arg(file)
            .output()
            .expect("promtool runs");
        assert!(
            out.status.success(),
            "promtool {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&["check", "rules"], &rules_file);
    let rule = rules["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|g| g["rules"].as_array().into_iter().flatten())
        .find(|r| r["alert"] == "RabbitMQDeadLettersGrowing")
        .expect("dead-letter alert");
    let expr = rule["expr"].as_str().expect("expr");
    let series = |pod: &str, vhost: &str, queue: &str, values: &str| {
        serde_json::json!({
            "series": format!(
                "rabbitmq_detailed_queue_messages{{namespace=\"e-commerce-messaging\", pod=\"{pod}\", vhost=\"{vhost}\", queue=\"{queue}\"}}"
            ),
            "values": values,
        })
    };
    let tests = serde_json::json!({
        "rule_files": [],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": [
                // Production's dead letters: 0, then 3 from minute 20, reported by the
                // leader's node; the leader moves to another node at minute 25.
                series("rabbitmq-cluster-server-0", "production", "dead-letters", "0x19 3x5"),
                series("rabbitmq-cluster-server-1", "production", "dead-letters", "_x24 3x30"),
                // Staging's: 7 all along.
                series("rabbitmq-cluster-server-0", "staging", "dead-letters", "7x60"),
                // An application queue that grows: the backlog alert's business.
                series("rabbitmq-cluster-server-0", "development", "orders", "0+5x60"),
            ],
            "promql_expr_test": [
                {
                    "expr": expr,
                    "eval_time": "25m",
                    "exp_samples": [
                        {"labels": "{vhost=\"production\", queue=\"dead-letters\"}", "value": 3},
                    ],
                },
                // Ten minutes after it stopped growing: quiet again.
                {"expr": expr, "eval_time": "31m", "exp_samples": []},
            ],
        }],
    });
    let tests_file = dir.path().join("tests.yaml");
    std::fs::write(&tests_file, tests.to_string()).expect("tests");
    run(&["test", "rules"], &tests_file);
}
