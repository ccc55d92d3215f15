//! `platgen validate`, wiring class: each defect of issue #12 that would break a
//! connection at run time, injected into a scratch project through its descriptors or
//! templates, is reported with its object, field and descriptor entry. (A missing path
//! to cert-manager's HTTP-01 solver is unit-tested in `src/check/wiring/`, on the
//! shipped output without its solver policies.)

use crate::check::{assert_finding, validate};
use crate::support::Scratch;

/// Issue #12 point 6: X-Forwarded-For from an untrusted load balancer is dropped, so a
/// limit keyed on it puts every client in one bucket.
#[test]
fn limit_keyed_on_an_untrusted_forwarded_header_is_found() {
    let project = Scratch::new();
    project.edit(
        "templates/ingress/middlewares.yaml.j2",
        "    amount: {{ rate_limit_burst }}\n",
        "    amount: {{ rate_limit_burst }}\n    sourceCriterion:\n      ipStrategy:\n        depth: 1\n",
    );
    let result = validate(&project, &["production"]).code(1);
    assert_finding(
        &result,
        &[
            "error[wiring]: middleware `inFlightReq` keys clients on X-Forwarded-For, but Traefik trusts no forwarder",
            "--> Middleware/e-commerce-prod/in-flight-limit (target production)",
            "= field: spec.inFlightReq.sourceCriterion.ipStrategy.depth",
            "= descriptor: environments/platform.yaml:",
            ": ingress",
        ],
    );
}

/// Issue #12 point 7: kube-state-metrics exports no Service label that is not
/// allow-listed, so the Services dashboard's variable stays empty.
#[test]
fn dashboard_label_kube_state_metrics_does_not_export_is_found() {
    let project = Scratch::new();
    project.edit(
        "environments/platform.yaml",
        "            metricLabelsAllowlist: [\"services=[component]\"]\n",
        "            metricLabelsAllowlist: [\"services=[layer]\"]\n",
    );
    let result = validate(&project, &["monitoring"]).code(1);
    assert_finding(
        &result,
        &[
            "error[wiring]: reads `label_component` of `kube_service_labels`",
            "(`services=[...]`; it has: services=[layer])",
            "--> ConfigMap/monitoring/grafana-dashboard-services (target monitoring)",
            "= field: data.services.json",
            "= descriptor: environments/platform.yaml:",
            ": components.monitoring",
        ],
    );
}

/// Issue #12 point 4: a cache driver that needs Redis, in a service without Redis.
#[test]
fn driver_without_its_backend_is_found() {
    let project = Scratch::new();
    project.edit(
        "environments/platform.yaml",
        "    database: deliveries_db\n",
        "    database: deliveries_db\n    env: {CACHE_STORE: redis}\n",
    );
    let result = validate(&project, &["staging"]).code(1);
    assert_finding(
        &result,
        &[
            "error[wiring]: `CACHE_STORE=redis` needs the backend `REDIS`, but the container has no `REDIS_HOST`",
            "--> Deployment/e-commerce-staging/deliveries-service (target staging)",
            "= field: spec.template.spec.containers[0].env[",
            "= descriptor: environments/platform.yaml:",
            "services[5] (deliveries-service)",
        ],
    );
}

/// Issue #12 point 5: the OTLP endpoint names the collector Service the Jaeger operator
/// creates for the Jaeger CR; renamed, the services' spans go nowhere.
#[test]
fn otlp_endpoint_without_its_collector_is_found() {
    let project = Scratch::new();
    project.edit(
        "templates/components/monitoring/jaeger.yaml.j2",
        "  name: {{ name | tojson }}\n",
        "  name: \"tracing\"\n",
    );
    let result = validate(&project, &["development"]).code(1);
    assert_finding(
        &result,
        &[
            "error[wiring]: `OTEL_EXPORTER_OTLP_ENDPOINT` (jaeger-collector.monitoring.svc.cluster.local:4318) names Service monitoring/jaeger-collector, which no target builds and no operator creates",
            "--> Deployment/e-commerce-dev/orders-service (target development)",
            "= field: spec.template.spec.containers[0].env[",
            "services[4] (orders-service)",
        ],
    );
}

/// Issue #12 point 5, the NetworkPolicy side: the collector exists but no policy lets
/// the services reach its OTLP port.
#[test]
fn otlp_endpoint_the_network_policies_block_is_found() {
    let project = Scratch::new();
    // The environments' policies open 4317 and 4318 to Jaeger: point one service at the
    // collector's Zipkin port, which they close.
    project.edit(
        "environments/platform.yaml",
        "    port: 8000\n    database: questions_db\n",
        "    port: 8000\n    database: questions_db\n    env: {OTEL_EXPORTER_OTLP_ENDPOINT: \"http://jaeger-collector.monitoring.svc:9411\"}\n",
    );
    let result = validate(&project, &["production"]).code(1);
    assert_finding(
        &result,
        &[
            "error[wiring]: `OTEL_EXPORTER_OTLP_ENDPOINT` (jaeger-collector.monitoring.svc:9411) reaches Service monitoring/jaeger-collector port 9411 (pods jaeger in monitoring), but the NetworkPolicies allow no such connection from this pod",
            "--> Deployment/e-commerce-prod/questions-service (target production)",
            "services[12] (questions-service)",
        ],
    );
}

/// Issue #12 point 3: each service's RabbitMQ user must hold permissions on the
/// environment's virtual host, the one it connects to.
#[test]
fn rabbitmq_user_without_permission_on_its_vhost_is_found() {
    let project = Scratch::new();
    project.edit(
        "templates/messaging/user.yaml.j2",
        "  vhost: {{ vhost | tojson }}\n",
        "  vhost: \"/\"\n",
    );
    let result = validate(&project, &["production"]).code(1);
    assert_finding(
        &result,
        &[
            "error[wiring]: RabbitMQ user `auth-service-rabbitmq` (User/e-commerce-prod/auth-service-rabbitmq) has no Permission on the virtual host `production` the container uses",
            "--> Deployment/e-commerce-prod/auth-service (target production)",
            "= field: spec.template.spec.containers[0].envFrom[0]",
            "services[1] (auth-service)",
        ],
    );
}

/// Issue #12 point 3, the operator's side: topology objects in the environments name a
/// cluster in the messaging namespace, which must allow their namespaces.
#[test]
fn topology_objects_the_cluster_does_not_allow_are_found() {
    let project = Scratch::new();
    project.edit(
        "templates/components/messaging/rabbitmq-cluster.yaml.j2",
        "{{ topology_namespaces | tojson }}",
        "\"e-commerce-prod\"",
    );
    let result = validate(&project, &["staging"]).code(1);
    assert_finding(
        &result,
        &[
            "error[wiring]: RabbitmqCluster e-commerce-messaging/rabbitmq-cluster does not allow topology objects from namespace e-commerce-staging",
            "--> Vhost/e-commerce-staging/rabbitmq-vhost (target staging)",
            "= field: spec.rabbitmqClusterReference",
        ],
    );
}

/// The variables platgen sets from typed settings cannot be set (and silently shadowed)
/// in `config`; the rejection points at the entry.
#[test]
fn generated_variables_in_config_are_rejected_at_their_entry() {
    let project = Scratch::new();
    project.edit(
        "environments/platform.yaml",
        "    QUEUE_CONNECTION: rabbitmq\n",
        "    QUEUE_CONNECTION: rabbitmq\n    CACHE_STORE: redis\n",
    );
    let line = project
        .read("environments/platform.yaml")
        .lines()
        .position(|l| l == "    CACHE_STORE: redis")
        .expect("edited")
        + 1;
    validate(&project, &[])
        .code(1)
        .stderr_has(&format!("environments/platform.yaml:{line}:"))
        .stderr_has(
            "`CACHE_STORE` is set by platgen from `redis` of each service and `workloads.drivers`",
        )
        .stderr_has("(at `workloads.config.CACHE_STORE`)");
}

/// A trusted proxy is an address range; anything else is rejected where it is written.
#[test]
fn trusted_proxy_that_is_no_cidr_is_rejected_at_its_entry() {
    let project = Scratch::new();
    project.edit(
        "environments/platform.yaml",
        "  trustedProxies: []\n",
        "  trustedProxies: [10.0.0.0/8, 10.1.2.300/32]\n",
    );
    let line = project
        .read("environments/platform.yaml")
        .lines()
        .position(|l| l.starts_with("  trustedProxies: [10.0.0.0/8"))
        .expect("edited")
        + 1;
    validate(&project, &[])
        .code(1)
        .stderr_has(&format!("environments/platform.yaml:{line}:"))
        .stderr_has("`10.1.2.300/32` is not an address range (at `ingress.trustedProxies[1]`)");
}
