//! The monitoring namespace's NetworkPolicies.

use super::*;

/// One policy per workload of the namespace, each admitting exactly its callers:
/// Grafana from the ingress controller, Prometheus from Grafana, Alertmanager from
/// Prometheus, Grafana and its own replicas, Jaeger's collector from the environments'
/// services and its query from Grafana, FluentBit's metrics from Prometheus. With
/// several clusters (`clusters`): another cluster's Prometheus admits the management
/// cluster's Grafana, whose egress reaches out to them.
///
/// Egress is restricted where every destination is in the cluster and known (Grafana,
/// Jaeger). Prometheus scrapes nodes (kubelet, node exporter on the host network) and the
/// API server, whose addresses are the cluster's; Alertmanager reaches the mail server,
/// Slack and the webhook outside it; FluentBit reads the API server: their egress stays
/// open. kube-prometheus-stack's own pods (operator and its admission webhook, called by
/// the API server) are left to that chart.
pub(super) fn network_policies(project: &Project) -> Vec<Object> {
    let catalog = &project.catalog;
    let ns = catalog.security.monitoring_namespace.as_str();
    let l = component_labels(catalog, MONITORING);
    let name = instance(catalog);
    let prometheus = operator_pods("prometheus", name);
    let alertmanager = operator_pods("alertmanager", name);
    let jaeger = operator_pods(JAEGER, JAEGER);
    let grafana = labels([("app.kubernetes.io/name", GRAFANA)]);
    let fluent_bit = labels([("app.kubernetes.io/name", FLUENT_BIT)]);
    let from =
        |peers: Vec<NetworkPolicyPeer>, ports: Vec<NetworkPolicyPort>| NetworkPolicyIngressRule {
            from: Some(peers),
            ports: Some(ports),
        };
    let to =
        |peers: Vec<NetworkPolicyPeer>, ports: Vec<NetworkPolicyPort>| NetworkPolicyEgressRule {
            to: Some(peers),
            ports: Some(ports),
        };
    let policy = |workload: &str,
                  pods: &BTreeMap<String, String>,
                  ingress: Vec<NetworkPolicyIngressRule>,
                  egress: Option<Vec<NetworkPolicyEgressRule>>| {
        let mut types = vec!["Ingress".to_owned()];
        if egress.is_some() {
            types.push("Egress".to_owned());
        }
        object(&NetworkPolicy {
            metadata: metadata(format!("{workload}-traffic"), Some(ns), &l),
            spec: Some(NetworkPolicySpec {
                pod_selector: Some(selector(pods.clone())),
                policy_types: Some(types),
                ingress: Some(ingress),
                egress,
            }),
        })
    };
    let services: Vec<NetworkPolicyPeer> = environment_namespaces(project)
        .iter()
        .map(|env_ns| in_namespace(env_ns, Some(labels([("component", "microservice")]))))
        .collect();
    let mut policies = vec![
        policy(
            GRAFANA,
            &grafana,
            vec![from(
                vec![in_namespace(
                    catalog.security.ingress_namespace.as_str(),
                    None,
                )],
                vec![tcp(GRAFANA_PORT)],
            )],
            Some(
                [
                    dns_egress(),
                    to(
                        vec![local_pods(prometheus.clone())],
                        vec![tcp(PROMETHEUS_PORT)],
                    ),
                    to(
                        vec![local_pods(alertmanager.clone())],
                        vec![tcp(ALERTMANAGER_PORT)],
                    ),
                    to(vec![local_pods(jaeger.clone())], vec![tcp(JAEGER_QUERY)]),
                ]
                .into_iter()
                .chain(clusters::grafana_egress(project))
                .collect(),
            ),
        ),
        policy(
            "prometheus",
            &prometheus,
            vec![from(
                [local_pods(grafana.clone())]
                    .into_iter()
                    .chain(clusters::prometheus_clients(project))
                    .collect(),
                vec![tcp(PROMETHEUS_PORT)],
            )],
            None,
        ),
        policy(
            "alertmanager",
            &alertmanager,
            vec![
                from(
                    vec![local_pods(prometheus.clone()), local_pods(grafana.clone())],
                    vec![tcp(ALERTMANAGER_PORT)],
                ),
                from(
                    vec![local_pods(alertmanager.clone())],
                    vec![tcp(ALERTMANAGER_CLUSTER), udp(ALERTMANAGER_CLUSTER)],
                ),
            ],
            None,
        ),
        policy(
            JAEGER,
            &jaeger,
            vec![
                from(services, JAEGER_COLLECTOR.iter().map(|p| tcp(*p)).collect()),
                from(vec![local_pods(grafana)], vec![tcp(JAEGER_QUERY)]),
            ],
            Some(vec![dns_egress()]),
        ),
        // cert-manager's HTTP-01 solver for Grafana's certificate, from the ingress
        // controller only; it needs no egress.
        policy(
            "acme-http01-solver",
            &labels([ACME_SOLVER_LABEL]),
            vec![from(
                vec![in_namespace(
                    catalog.security.ingress_namespace.as_str(),
                    None,
                )],
                vec![tcp(ACME_SOLVER_PORT)],
            )],
            Some(Vec::new()),
        ),
    ];
    // FluentBit runs where environments do (see `logging`).
    if !project.environments.is_empty() {
        policies.push(policy(
            FLUENT_BIT,
            &fluent_bit,
            vec![from(
                vec![local_pods(prometheus)],
                vec![tcp(FLUENT_BIT_PORT), tcp(RELAY_PORT)],
            )],
            None,
        ));
    }
    policies
}
