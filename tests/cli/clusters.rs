//! Several clusters: environments on the clusters of the catalog, ArgoCD deploying each
//! to its cluster, every cluster hosting an environment with its own operators and shared
//! components, each listing only its own environments.

use crate::check::{assert_finding, crd_schemas};
use crate::conformance::{assert_checkov_clean, assert_kubernetes_valid};
use crate::ecosystem::plugin_builds_every_folder;
use crate::support::{Run, Scratch, targets};
use crate::tree::kustomize_differences;
use serde_json::Value;

const CATALOG: &str = "environments/platform.yaml";
const EU: &str = "https://eu-1.k8s.yourdomain.com";
const US: &str = "https://us-1.k8s.yourdomain.com";
/// Where the management cluster's Grafana connects from.
const GRAFANA: &str = "203.0.113.0/28";

/// The README's example: clusters `eu-1` and `us-1` besides ArgoCD's own, production on
/// `eu-1`, a copy of it `production-us` on `us-1`; development and staging stay in-cluster.
fn several_clusters() -> Scratch {
    let project = Scratch::new();
    let catalog = project.read(CATALOG);
    project.write(
        CATALOG,
        &format!(
            "{catalog}\nclusters:\n  - name: eu-1\n    server: {EU}\n    region: eu-west-1\n    \
             prometheus: {{host: prometheus.eu-1.internal.yourdomain.com, clients: [{GRAFANA}]}}\n  \
             - name: us-1\n    server: {US}\n    region: us-east-1\n    \
             prometheus: {{host: prometheus.us-1.internal.yourdomain.com, clients: [{GRAFANA}]}}\n"
        ),
    );
    let production = project.read("environments/production.yaml");
    project.write(
        "environments/production.yaml",
        &format!("{production}cluster: eu-1\n"),
    );
    let us = production
        .replacen("name: production\n", "name: production-us\n", 1)
        .replacen(
            "namespace: e-commerce-prod\n",
            "namespace: e-commerce-prod-us\n",
            1,
        )
        .replacen("host: www.yourdomain.com\n", "host: us.yourdomain.com\n", 1);
    project.write(
        "environments/production-us.yaml",
        &format!("{us}cluster: us-1\n"),
    );
    project
}

/// The objects `platgen build <target>` prints.
fn objects(project: &Scratch, target: &str) -> Vec<Value> {
    let out = project.run(&["build", target, "--output", "json"]).code(0);
    serde_json::from_str(&out.stdout).expect("a JSON array")
}

fn named<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

#[test]
fn every_cluster_gets_its_components_as_targets() {
    let project = several_clusters();
    let names = targets(project.path());
    for cluster in ["eu-1", "us-1"] {
        for component in ["messaging", "monitoring", "security", "argocd"] {
            let target = format!("{cluster}/{component}");
            assert!(names.contains(&target), "{target} missing in {names:?}");
        }
    }
    let listed = project.run(&["targets"]).code(0).stdout;
    assert!(listed.contains("us-1/messaging\tcomponent\tclusters/us-1/messaging\n"));
    // ArgoCD's own cluster keeps today's folders.
    assert!(listed.contains("messaging\tcomponent\tmanifests/messaging\n"));
}

#[test]
fn several_clusters_validate_with_the_crd_schemas() {
    let project = several_clusters();
    let mut args = vec!["validate".to_owned()];
    if let Some(dir) = crd_schemas("several_clusters_validate_with_the_crd_schemas") {
        args.extend(["--crd-schemas".to_owned(), dir.display().to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = project.run(&args);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("objects valid: 16 target(s) checked"));
}

#[test]
fn each_environment_deploys_to_its_cluster() {
    let project = several_clusters();
    let us = objects(&project, "us-1/argocd");
    let app = named(&us, "Application", "e-commerce-production-us");
    assert_eq!(app["spec"]["destination"]["server"], US);
    assert_eq!(
        app["spec"]["destination"]["namespace"],
        "e-commerce-prod-us"
    );
    let eu = objects(&project, "eu-1/argocd");
    let app = named(&eu, "Application", "e-commerce-production");
    assert_eq!(app["spec"]["destination"]["server"], EU);
    let own = objects(&project, "argocd");
    let app = named(&own, "Application", "e-commerce-development");
    assert_eq!(
        app["spec"]["destination"]["server"],
        "https://kubernetes.default.svc"
    );
    assert!(
        !own.iter()
            .any(|o| o["metadata"]["name"] == "e-commerce-production-us"),
        "production-us is deployed by us-1's folder only"
    );
    // Each cluster's Applications come with a parent, after the cluster's registration.
    let parent = named(&own, "Application", "cluster-us-1");
    assert_eq!(parent["spec"]["source"]["path"], "k8s/clusters/us-1/argocd");
}

#[test]
fn operators_and_shared_components_reach_both_clusters() {
    let project = several_clusters();
    for (cluster, server) in [("eu-1", EU), ("us-1", US)] {
        let apps = objects(&project, &format!("{cluster}/argocd"));
        for name in [
            format!("platform-messaging-{cluster}"),
            format!("platform-monitoring-{cluster}"),
            format!("platform-security-{cluster}"),
            format!("cert-manager-{cluster}"),
            format!("rabbitmq-cluster-operator-{cluster}"),
            format!("kube-prometheus-stack-{cluster}"),
        ] {
            let app = named(&apps, "Application", &name);
            assert_eq!(app["spec"]["destination"]["server"], server, "{name}");
        }
        let path = named(
            &apps,
            "Application",
            &format!("platform-messaging-{cluster}"),
        )["spec"]["source"]["path"]
            .clone();
        assert_eq!(path, format!("k8s/clusters/{cluster}/messaging"));
        // ArgoCD runs in its own cluster only.
        assert!(!apps.iter().any(|o| o["metadata"]["name"] == "argo-cd-eu-1"));
    }
    // The AppProject permits exactly these clusters' namespaces.
    let own = objects(&project, "argocd");
    let app_project = named(&own, "AppProject", "e-commerce");
    let destinations = app_project["spec"]["destinations"]
        .as_array()
        .expect("destinations");
    let on = |server: &str| -> Vec<&str> {
        destinations
            .iter()
            .filter(|d| d["server"] == server)
            .map(|d| d["namespace"].as_str().expect("namespace"))
            .collect()
    };
    assert_eq!(
        on(US),
        [
            "e-commerce-prod-us",
            "e-commerce-messaging",
            "monitoring",
            "argocd"
        ]
    );
    assert!(!on("https://kubernetes.default.svc").contains(&"e-commerce-prod"));
}

#[test]
fn clusters_are_registered_by_external_secrets_only() {
    let project = several_clusters();
    let own = objects(&project, "argocd");
    let registrations: Vec<&Value> = own
        .iter()
        .filter(|o| {
            o["kind"] == "ExternalSecret"
                && o["spec"]["target"]["template"]["metadata"]["labels"]
                    ["argocd.argoproj.io/secret-type"]
                    == "cluster"
        })
        .collect();
    assert_eq!(registrations.len(), 2);
    for (registration, (name, server)) in registrations.iter().zip([("eu-1", EU), ("us-1", US)]) {
        let data = &registration["spec"]["target"]["template"]["data"];
        assert_eq!(data["name"], name);
        assert_eq!(data["server"], server);
        assert_eq!(data["config"], "{{ .config }}");
        assert_eq!(registration["metadata"]["namespace"], "argocd");
    }
    for target in targets(project.path()) {
        let objects = objects(&project, &target);
        assert!(
            !objects.iter().any(|o| o["kind"] == "Secret"),
            "{target} holds a Secret"
        );
    }
    // The store of ArgoCD's cluster serves ArgoCD's namespace, for the registrations.
    let security = objects(&project, "security");
    let store = named(&security, "ClusterSecretStore", "vault-backend");
    let namespaces = &store["spec"]["conditions"][0]["namespaces"];
    assert!(
        namespaces
            .as_array()
            .expect("list")
            .contains(&"argocd".into())
    );
}

/// The namespaces a NetworkPolicy admits, over all its ingress rules.
fn admitted(policy: &Value) -> Vec<String> {
    let rules = policy["spec"]["ingress"].as_array().into_iter().flatten();
    rules
        .flat_map(|r| r["from"].as_array().into_iter().flatten())
        .filter_map(|peer| {
            peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"].as_str()
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn shared_components_list_only_their_clusters_environments() {
    let project = several_clusters();
    let messaging = objects(&project, "us-1/messaging");
    let policies: Vec<&Value> = messaging
        .iter()
        .filter(|o| o["kind"] == "NetworkPolicy")
        .collect();
    let namespaces: Vec<String> = policies.iter().flat_map(|p| admitted(p)).collect();
    assert!(namespaces.contains(&"e-commerce-prod-us".to_owned()));
    for other in ["e-commerce-dev", "e-commerce-staging", "e-commerce-prod"] {
        assert!(!namespaces.contains(&other.to_owned()), "{other} admitted");
    }
    let own = objects(&project, "messaging");
    let namespaces: Vec<String> = own
        .iter()
        .filter(|o| o["kind"] == "NetworkPolicy")
        .flat_map(admitted)
        .collect();
    assert!(namespaces.contains(&"e-commerce-dev".to_owned()));
    assert!(!namespaces.contains(&"e-commerce-prod-us".to_owned()));
    let security = objects(&project, "eu-1/security");
    let store = named(&security, "ClusterSecretStore", "vault-backend");
    assert_eq!(
        store["spec"]["conditions"][0]["namespaces"],
        serde_json::json!(["e-commerce-prod", "monitoring"])
    );
    // Vault checks each cluster's tokens on a mount of its own.
    assert_eq!(
        store["spec"]["provider"]["vault"]["auth"]["kubernetes"]["mountPath"],
        "kubernetes-eu-1"
    );
    // Reachability is the environment's cluster's: us-1's broker, its own policies.
    let report = project
        .run(&["reachability", "production-us"])
        .code(0)
        .stdout;
    assert!(report.contains("api-gateway -> rabbitmq-cluster (e-commerce-messaging): 5672"));
}

#[test]
fn every_target_builds_as_kubectl_kustomize_does() {
    let project = several_clusters();
    let failures = kustomize_differences("every_target_builds_as_kubectl_kustomize_does", &project);
    assert!(failures.is_empty(), "{failures}");
    let tree = project.path().join("k8s/clusters/us-1");
    for folder in ["messaging", "monitoring", "security", "argocd"] {
        assert!(tree.join(folder).join("kustomization.yaml").is_file());
    }
}

fn validate(project: &Scratch) -> Run {
    project.run(&["validate"])
}

#[test]
fn unknown_cluster_suggests_the_closest() {
    let project = several_clusters();
    project.edit(
        "environments/production-us.yaml",
        "cluster: us-1",
        "cluster: us-2",
    );
    let run = validate(&project).code(1);
    let text = project.read("environments/production-us.yaml");
    let line = text
        .lines()
        .position(|l| l == "cluster: us-2")
        .expect("line")
        + 1;
    for needle in [
        &format!("environments/production-us.yaml:{line}:10") as &str,
        "cluster `us-2` is not defined",
        "one of: in-cluster, eu-1, us-1",
        "did you mean `us-1`?",
    ] {
        assert!(
            run.stderr.contains(needle),
            "{needle} not in:\n{}",
            run.stderr
        );
    }
}

#[test]
fn duplicate_server_and_shared_namespace_on_a_cluster_are_located() {
    let project = several_clusters();
    project.edit(CATALOG, &format!("server: {US}"), &format!("server: {EU}"));
    project.edit(
        "environments/production-us.yaml",
        "namespace: e-commerce-prod-us",
        "namespace: e-commerce-prod",
    );
    // Both on eu-1 now: one namespace, two environments.
    project.edit(
        "environments/production-us.yaml",
        "cluster: us-1",
        "cluster: eu-1",
    );
    let run = validate(&project).code(1);
    for needle in [
        "duplicate cluster server `https://eu-1.k8s.yourdomain.com`",
        // Environment files are read in name order: production-us first.
        "namespace `e-commerce-prod` is already used by environment `production-us` on cluster `eu-1`",
        "environments/production.yaml:5:12",
    ] {
        assert!(
            run.stderr.contains(needle),
            "{needle} not in:\n{}",
            run.stderr
        );
    }
}

#[test]
fn one_namespace_on_two_clusters_is_two_namespaces() {
    let project = several_clusters();
    project.edit(
        "environments/production-us.yaml",
        "namespace: e-commerce-prod-us",
        "namespace: e-commerce-prod",
    );
    let run = validate(&project);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}

#[test]
fn cluster_registered_too_late_is_found() {
    let project = several_clusters();
    project.edit(
        "templates/components/argocd/cluster-secret.yaml.j2",
        "argocd.argoproj.io/sync-wave: {{ wave | tojson }}",
        "argocd.argoproj.io/sync-wave: \"5\"",
    );
    assert_finding(
        &validate(&project).code(1),
        &[
            "error[bootstrap]: Application `cluster-eu-1` (wave 2) deploys to `https://eu-1.k8s.yourdomain.com`, registered by ExternalSecret/argocd/cluster-eu-1 in wave 5, not before",
            "--> Application/argocd/cluster-eu-1 (target argocd)",
            "= descriptor: environments/platform.yaml:",
            "clusters[0] (eu-1)",
        ],
    );
}

#[test]
fn application_to_an_unregistered_cluster_is_found() {
    let project = several_clusters();
    project.edit(
        "templates/components/argocd/cluster-secret.yaml.j2",
        "        server: {{ server | tojson }}",
        "        server: {{ (server ~ \"/x\") | tojson }}",
    );
    assert_finding(
        &validate(&project).code(1),
        &[
            "error[bootstrap]: no cluster Secret (label `argocd.argoproj.io/secret-type: cluster`) registers server `https://us-1.k8s.yourdomain.com`",
            "--> Application/argocd/e-commerce-production-us (target us-1/argocd)",
            "= field: spec.destination.server",
        ],
    );
}

#[test]
fn each_cluster_reports_its_series_to_the_management_grafana() {
    let project = several_clusters();
    let us = objects(&project, "us-1/monitoring");
    let prometheus = named(&us, "Prometheus", "e-commerce");
    assert_eq!(
        prometheus["spec"]["externalLabels"],
        serde_json::json!({"cluster": "us-1", "region": "us-east-1"})
    );
    // Reachable from Grafana's addresses only: the load balancer and the policy agree.
    let service = named(&us, "Service", "prometheus-remote");
    assert_eq!(service["spec"]["type"], "LoadBalancer");
    assert_eq!(
        service["spec"]["loadBalancerSourceRanges"],
        serde_json::json!([GRAFANA])
    );
    let policy = named(&us, "NetworkPolicy", "prometheus-traffic");
    let peers = &policy["spec"]["ingress"][0]["from"];
    assert!(
        peers
            .as_array()
            .expect("peers")
            .iter()
            .any(|p| p["ipBlock"]["cidr"] == GRAFANA),
        "{peers}"
    );
    let own = objects(&project, "monitoring");
    let prometheus = named(&own, "Prometheus", "e-commerce");
    assert_eq!(
        prometheus["spec"]["externalLabels"],
        serde_json::json!({"cluster": "in-cluster"})
    );
    assert!(
        !own.iter()
            .any(|o| o["metadata"]["name"] == "prometheus-remote")
    );
    let datasources = named(&own, "ConfigMap", "grafana-datasources")["data"]["datasources.yaml"]
        .as_str()
        .expect("text");
    let datasources: Value = serde_yaml::from_str(datasources).expect("YAML");
    let urls: Vec<&str> = datasources["datasources"]
        .as_array()
        .expect("list")
        .iter()
        .filter(|d| d["type"] == "prometheus")
        .map(|d| d["url"].as_str().expect("url"))
        .collect();
    assert_eq!(
        urls,
        [
            "http://prometheus-operated.monitoring.svc:9090",
            "http://prometheus.eu-1.internal.yourdomain.com:9090",
            "http://prometheus.us-1.internal.yourdomain.com:9090",
        ]
    );
    // The other clusters' Grafana reads their own Prometheus only.
    let eu = objects(&project, "eu-1/monitoring");
    let text = named(&eu, "ConfigMap", "grafana-datasources")["data"]["datasources.yaml"]
        .as_str()
        .expect("text")
        .to_owned();
    assert!(!text.contains("internal.yourdomain.com"));
}

#[test]
fn another_cluster_hosting_environments_needs_its_prometheus() {
    let project = several_clusters();
    project.edit(
        CATALOG,
        &format!("    prometheus: {{host: prometheus.us-1.internal.yourdomain.com, clients: [{GRAFANA}]}}\n"),
        "",
    );
    validate(&project)
        .code(1)
        .stderr_has("cluster `us-1` hosts production-us but names no `prometheus`");
}

#[test]
fn several_clusters_pass_the_independent_checkers() {
    let test = "several_clusters_pass_the_independent_checkers";
    let project = several_clusters();
    assert_kubernetes_valid(test, &project);
    assert_checkov_clean(test, &project);
}

#[test]
fn argocd_cluster_hosting_no_environment_validates() {
    let project = several_clusters();
    for env in ["development", "staging"] {
        let file = format!("environments/{env}.yaml");
        let text = project.read(&file);
        project.write(&file, &format!("{text}cluster: eu-1\n"));
    }
    let run = validate(&project);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    // Nothing of the environments to scrape or ship on ArgoCD's own cluster.
    let own = objects(&project, "monitoring");
    assert!(!own.iter().any(|o| o["kind"] == "DaemonSet"));
    assert!(
        !own.iter()
            .any(|o| o["metadata"]["name"] == "mysql-exporters")
    );
    let eu = objects(&project, "eu-1/monitoring");
    assert!(eu.iter().any(|o| o["kind"] == "DaemonSet"));
}

#[test]
fn the_argocd_plugin_builds_another_clusters_folders() {
    plugin_builds_every_folder(&several_clusters());
}

#[test]
fn a_namespace_of_another_cluster_is_found() {
    let project = several_clusters();
    project.edit(
        "templates/components/messaging/rabbitmq-cluster.yaml.j2",
        "{{ topology_namespaces | tojson }}",
        "{{ (topology_namespaces ~ \",e-commerce-prod-us\") | tojson }}",
    );
    let run = validate(&project).code(1);
    for target in ["messaging", "eu-1/messaging"] {
        assert_finding(
            &run,
            &[
                "error[references]: names namespace `e-commerce-prod-us`, which is on cluster `us-1`",
                &format!(
                    "--> RabbitmqCluster/e-commerce-messaging/rabbitmq-cluster (target {target})"
                ),
                "= field: metadata.annotations.rabbitmq.com/topology-allowed-namespaces",
                "= descriptor: environments/platform.yaml:",
            ],
        );
    }
    assert!(run.stdout.contains("2 finding(s)"), "{}", run.stdout);
}
