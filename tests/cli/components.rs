//! The shared components (`platgen build messaging|monitoring|security|argocd`): the
//! seed's figures, and environments that reach them from their descriptors alone.

use crate::support::{Scratch, repo, run_in};
use serde_json::Value;
use std::path::Path;

const ENVIRONMENTS: [(&str, &str); 3] = [
    ("development", "e-commerce-dev"),
    ("staging", "e-commerce-staging"),
    ("production", "e-commerce-prod"),
];

fn build(root: &Path, target: &str) -> Vec<Value> {
    let out = run_in(root, &["build", target]).code(0).stdout;
    serde_yaml::Deserializer::from_str(&out)
        .map(|d| serde::Deserialize::deserialize(d).expect("valid YAML document"))
        .collect()
}

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

fn of_kind<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects.iter().filter(|o| o["kind"] == kind).collect()
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {value}"))
        .iter()
        .map(|v| v.as_str().expect("string"))
        .collect()
}

#[test]
fn rabbitmq_cluster_has_the_seeds_figures() {
    let objects = build(&repo(), "messaging");
    let cluster = find(&objects, "RabbitmqCluster", "rabbitmq-cluster");
    assert_eq!(cluster["apiVersion"], "rabbitmq.com/v1beta1");
    assert_eq!(cluster["metadata"]["namespace"], "e-commerce-messaging");
    let spec = &cluster["spec"];
    assert_eq!(spec["replicas"], 3);
    assert_eq!(spec["image"], "rabbitmq:4.2.9-management");
    assert_eq!(
        strings(&spec["rabbitmq"]["additionalPlugins"]),
        [
            "rabbitmq_management",
            "rabbitmq_prometheus",
            "rabbitmq_peer_discovery_k8s",
            "rabbitmq_federation",
            "rabbitmq_shovel"
        ]
    );
    let config = spec["rabbitmq"]["additionalConfig"]
        .as_str()
        .expect("config");
    for line in [
        "heartbeat = 60",
        "frame_max = 131072",
        "channel_max = 2047",
        "queue_leader_locator = balanced",
        "vm_memory_high_watermark.relative = 0.8",
        "disk_free_limit.relative = 2.0",
        "cluster_partition_handling = autoheal",
        "default_queue_type = quorum",
    ] {
        assert!(
            config.lines().any(|l| l == line),
            "additionalConfig lacks `{line}`:\n{config}"
        );
    }
    assert_eq!(spec["persistence"]["storage"], "20Gi");
    assert_eq!(spec["resources"]["requests"]["cpu"], "500m");
    assert_eq!(spec["resources"]["requests"]["memory"], "1Gi");
    assert_eq!(spec["resources"]["limits"]["cpu"], "1000m");
    assert_eq!(spec["resources"]["limits"]["memory"], "2Gi");
    let anti =
        &spec["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0];
    assert_eq!(anti["topologyKey"], "kubernetes.io/hostname");
    let namespace = find(&objects, "Namespace", "e-commerce-messaging");
    assert_eq!(
        namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
        "restricted"
    );
}

#[test]
fn rabbitmq_admits_amqp_from_every_environment_and_metrics_from_monitoring() {
    let objects = build(&repo(), "messaging");
    let policy = find(&objects, "NetworkPolicy", "rabbitmq-cluster-traffic");
    let ingress = policy["spec"]["ingress"].as_array().expect("ingress");
    let admits = |namespace: &str, port: i64| {
        ingress.iter().any(|rule| {
            rule["from"].as_array().into_iter().flatten().any(|peer| {
                peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] == namespace
            }) && rule["ports"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|p| p["port"] == port)
        })
    };
    for (_, namespace) in ENVIRONMENTS {
        assert!(admits(namespace, 5672), "{namespace} cannot reach AMQP");
        assert!(
            !admits(namespace, 15672),
            "{namespace} reaches the management UI"
        );
    }
    assert!(admits("monitoring", 15692));
    assert!(admits("monitoring", 15672));
    let egress = serde_json::to_string(&policy["spec"]["egress"]).expect("json");
    assert!(egress.contains("kube-dns") && egress.contains("25672") && egress.contains("4369"));
    assert!(
        find(&objects, "NetworkPolicy", "default-deny-all")["spec"]["podSelector"]
            == serde_json::json!({})
    );
}

#[test]
fn prometheus_alertmanager_and_the_seeds_service_monitor() {
    let objects = build(&repo(), "monitoring");
    let prometheus = &of_kind(&objects, "Prometheus")[0]["spec"];
    assert_eq!(prometheus["replicas"], 2);
    assert_eq!(prometheus["retention"], "30d");
    assert_eq!(
        prometheus["storage"]["volumeClaimTemplate"]["spec"]["resources"]["requests"]["storage"],
        "50Gi"
    );
    assert_eq!(prometheus["resources"]["requests"]["cpu"], "1");
    assert_eq!(prometheus["resources"]["limits"]["memory"], "4Gi");
    assert!(
        prometheus["serviceMonitorSelector"].is_object() && prometheus["ruleSelector"].is_object()
    );
    let alertmanager = &of_kind(&objects, "Alertmanager")[0]["spec"];
    assert_eq!(alertmanager["replicas"], 2);
    assert_eq!(alertmanager["retention"], "120h");
    assert_eq!(
        alertmanager["storage"]["volumeClaimTemplate"]["spec"]["resources"]["requests"]["storage"],
        "5Gi"
    );

    let monitor = find(&objects, "ServiceMonitor", "e-commerce-services");
    assert_eq!(
        monitor["spec"]["selector"]["matchLabels"],
        serde_json::json!({"component": "microservice"})
    );
    assert_eq!(
        monitor["spec"]["endpoints"],
        serde_json::json!([{"port": "metrics", "path": "/metrics", "interval": "30s"}])
    );
    let namespaces = strings(&monitor["spec"]["namespaceSelector"]["matchNames"]);
    assert!(namespaces.contains(&"e-commerce"), "{namespaces:?}");
    for (_, namespace) in ENVIRONMENTS {
        assert!(
            namespaces.contains(&namespace),
            "{namespace} not scraped: {namespaces:?}"
        );
    }
    let mysql = find(&objects, "PodMonitor", "mysql-exporters");
    assert_eq!(
        mysql["spec"]["selector"]["matchLabels"]["component"],
        "database"
    );
    assert_eq!(mysql["spec"]["podMetricsEndpoints"][0]["port"], "metrics");
    let rabbitmq = find(&objects, "PodMonitor", "rabbitmq");
    assert_eq!(
        rabbitmq["spec"]["podMetricsEndpoints"][0]["port"],
        "prometheus"
    );
    let minio = find(&objects, "ServiceMonitor", "minio");
    assert_eq!(
        minio["spec"]["endpoints"][0]["path"],
        "/minio/v2/metrics/cluster"
    );
}

#[test]
fn alerts_route_by_severity_with_credentials_from_vault() {
    let objects = build(&repo(), "monitoring");
    let rules = &of_kind(&objects, "PrometheusRule")[0]["spec"]["groups"];
    let alerts: Vec<&Value> = rules
        .as_array()
        .expect("groups")
        .iter()
        .flat_map(|g| g["rules"].as_array().expect("rules"))
        .collect();
    let names: Vec<&str> = alerts
        .iter()
        .map(|a| a["alert"].as_str().expect("name"))
        .collect();
    for name in [
        "HighMemoryUsage",
        "PodCrashLooping",
        "DatabaseConnectionFailure",
        "RabbitMQQueueBacklog",
        "ApiResponseTimeP95",
        "ApiResponseTimeP99",
    ] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }
    for alert in &alerts {
        assert!(
            ["critical", "warning", "info"]
                .contains(&alert["labels"]["severity"].as_str().unwrap_or(""))
        );
        assert!(alert["annotations"]["summary"].is_string());
    }
    let latency = alerts
        .iter()
        .find(|a| a["alert"] == "ApiResponseTimeP95")
        .expect("p95");
    let expr = latency["expr"].as_str().expect("expr");
    assert!(
        expr.contains("histogram_quantile(0.95")
            && expr.contains("_bucket")
            && expr.trim_end().ends_with("> 1")
    );
    let database = alerts
        .iter()
        .find(|a| a["alert"] == "DatabaseConnectionFailure")
        .expect("db");
    assert!(
        database["expr"]
            .as_str()
            .expect("expr")
            .contains("mysql_up")
    );

    let routing = &of_kind(&objects, "AlertmanagerConfig")[0]["spec"];
    let receivers = routing["receivers"].as_array().expect("receivers");
    let receiver = |name: &str| {
        receivers
            .iter()
            .find(|r| r["name"] == name)
            .expect("receiver")
    };
    assert!(receiver("critical-alerts")["emailConfigs"].is_array());
    assert!(receiver("critical-alerts")["slackConfigs"].is_array());
    assert!(receiver("warning-alerts")["emailConfigs"].is_array());
    assert!(receiver("warning-alerts").get("slackConfigs").is_none());
    assert!(receiver("web.hook")["webhookConfigs"].is_array());
    let routes = routing["route"]["routes"].as_array().expect("routes");
    for (severity, name) in [
        ("critical", "critical-alerts"),
        ("warning", "warning-alerts"),
        ("info", "web.hook"),
    ] {
        assert!(
            routes
                .iter()
                .any(|r| r["receiver"] == name && r["matchers"][0]["value"] == severity),
            "{severity} does not go to {name}"
        );
    }
    // Credentials are references to Secrets that ExternalSecrets deliver.
    let secrets: Vec<&str> = of_kind(&objects, "ExternalSecret")
        .iter()
        .map(|o| o["metadata"]["name"].as_str().expect("name"))
        .collect();
    let smtp = &receiver("critical-alerts")["emailConfigs"][0]["authPassword"]["name"];
    let slack = &receiver("critical-alerts")["slackConfigs"][0]["apiURL"]["name"];
    let webhook = &receiver("web.hook")["webhookConfigs"][0]["urlSecret"]["name"];
    for secret in [smtp, slack, webhook] {
        assert!(
            secrets.contains(&secret.as_str().expect("name")),
            "{secret} has no ExternalSecret"
        );
    }
    for store in of_kind(&objects, "ExternalSecret") {
        assert_eq!(
            store["spec"]["secretStoreRef"],
            serde_json::json!({"kind": "ClusterSecretStore", "name": "vault-backend"})
        );
    }
}

#[test]
fn five_dashboard_categories_each_valid_grafana_json() {
    let objects = build(&repo(), "monitoring");
    let dashboards: Vec<&Value> = of_kind(&objects, "ConfigMap")
        .into_iter()
        .filter(|o| o["metadata"]["labels"]["grafana_dashboard"] == "1")
        .collect();
    assert_eq!(dashboards.len(), 5);
    let mut titles = Vec::new();
    for config_map in dashboards {
        let data = config_map["data"].as_object().expect("data");
        assert_eq!(data.len(), 1);
        let (key, text) = data.iter().next().expect("one dashboard");
        assert!(key.ends_with(".json"));
        let json: Value =
            serde_json::from_str(text.as_str().expect("text")).expect("dashboard JSON parses");
        assert!(
            json["uid"].is_string() && json["panels"].as_array().is_some_and(|p| !p.is_empty())
        );
        titles.push(json["title"].as_str().expect("title").to_owned());
    }
    for category in [
        "overview",
        "services",
        "RabbitMQ",
        "MySQL",
        "Infrastructure",
    ] {
        assert!(
            titles.iter().any(|t| t.contains(category)),
            "no {category} dashboard in {titles:?}"
        );
    }
    let grafana = find(&objects, "Deployment", "grafana");
    assert_eq!(grafana["spec"]["replicas"], 1);
    let container = &grafana["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["resources"]["requests"]["cpu"], "250m");
    assert_eq!(container["resources"]["limits"]["memory"], "512Mi");
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(
        find(&objects, "PersistentVolumeClaim", "grafana")["spec"]["resources"]["requests"]["storage"],
        "10Gi"
    );
    let datasources =
        find(&objects, "ConfigMap", "grafana-datasources")["data"]["datasources.yaml"]
            .as_str()
            .expect("datasources");
    assert!(datasources.contains("type: prometheus"));
}

#[test]
fn tracing_and_log_shipping_to_every_environments_redis() {
    let objects = build(&repo(), "monitoring");
    assert_eq!(
        of_kind(&objects, "Jaeger")[0]["apiVersion"],
        "jaegertracing.io/v1"
    );
    let fluent_bit = find(&objects, "DaemonSet", "fluent-bit");
    assert_eq!(fluent_bit["metadata"]["namespace"], "monitoring");
    let config = find(&objects, "ConfigMap", "fluent-bit");
    let relay = config["data"]["relay.yaml"].as_str().expect("relay");
    let relay: Value = serde_yaml::from_str(relay).expect("relay config parses");
    let cases = relay["output"]["switch"]["cases"]
        .as_array()
        .expect("cases");
    assert_eq!(cases.len(), ENVIRONMENTS.len());
    // Each case's URL is a variable of the relay, from a key of `fluent-bit-redis`,
    // whose ExternalSecret builds the URL with the password percent-encoded: Benthos
    // substitutes it into its YAML, so the raw password must never be there.
    let relay_env = fluent_bit["spec"]["template"]["spec"]["containers"]
        .as_array()
        .expect("containers")
        .iter()
        .find(|c| c["name"] == "relay")
        .expect("relay container")["env"]
        .as_array()
        .expect("env")
        .clone();
    let secret = find(&objects, "ExternalSecret", "fluent-bit-redis");
    let urls = &secret["spec"]["target"]["template"]["data"];
    for (_, namespace) in ENVIRONMENTS {
        let found = cases.iter().any(|c| {
            let url = c["output"]["drop_on"]["output"]["redis_streams"]["url"]
                .as_str()
                .unwrap_or("");
            let Some(var) = url.strip_prefix("${").and_then(|u| u.strip_suffix('}')) else {
                return false;
            };
            let key = relay_env
                .iter()
                .find(|e| e["name"] == var)
                .and_then(|e| e["valueFrom"]["secretKeyRef"]["key"].as_str())
                .unwrap_or("");
            urls[key].as_str().is_some_and(|u| {
                u.contains(&format!("@redis.{namespace}.svc")) && u.contains("| urlquery |")
            })
        });
        assert!(found, "no stream for {namespace}: {urls}");
    }
    // One environment's Redis outage holds up no other's logs, and the relay is ready
    // without any of them (some come in a later sync wave or by hand).
    for case in cases {
        assert_eq!(case["output"]["drop_on"]["error"], true);
        assert!(case["output"]["drop_on"]["back_pressure"].is_string());
    }
    let relay_container = &fluent_bit["spec"]["template"]["spec"]["containers"][1];
    assert_eq!(relay_container["name"], "relay");
    assert_eq!(
        relay_container["readinessProbe"]["httpGet"]["path"],
        "/ping"
    );
    find(&objects, "ClusterRoleBinding", "fluent-bit");
    let namespace = find(&objects, "Namespace", "monitoring");
    assert_eq!(
        namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
        "privileged"
    );
    assert_eq!(
        namespace["metadata"]["labels"]["pod-security.kubernetes.io/warn"],
        "restricted"
    );
}

#[test]
fn security_holds_issuers_policies_roles_and_the_vault_store() {
    let objects = build(&repo(), "security");
    for issuer in ["letsencrypt-staging", "letsencrypt-production"] {
        let solver = &find(&objects, "ClusterIssuer", issuer)["spec"]["acme"]["solvers"][0];
        assert_eq!(solver["http01"]["ingress"]["ingressClassName"], "traefik");
    }
    assert_eq!(of_kind(&objects, "ConstraintTemplate").len(), 3);
    let constraints: Vec<&Value> = objects
        .iter()
        .filter(|o| o["apiVersion"] == "constraints.gatekeeper.sh/v1beta1")
        .collect();
    assert_eq!(constraints.len(), 3);
    for constraint in constraints {
        let namespaces = strings(&constraint["spec"]["match"]["namespaces"]);
        // Unpinned images are admitted where the environment allows them, as validate does.
        let latest = constraint["kind"] == "K8sDisallowLatestTag";
        for (env, namespace) in ENVIRONMENTS {
            let judged = !(latest && env == "development");
            assert_eq!(namespaces.contains(&namespace), judged, "{constraint}");
        }
    }
    for template in of_kind(&objects, "ConstraintTemplate") {
        let rego = template["spec"]["targets"][0]["rego"]
            .as_str()
            .expect("rego");
        assert!(rego.contains("violation[{\"msg\": msg}]"), "{rego}");
    }
    let roles = of_kind(&objects, "ClusterRole");
    assert_eq!(roles.len(), 3);
    let developer = find(&objects, "ClusterRole", "e-commerce-developer");
    for rule in developer["rules"].as_array().expect("rules") {
        assert_eq!(strings(&rule["verbs"]), ["get", "list", "watch"]);
        assert!(!strings(&rule["resources"]).contains(&"secrets"));
    }
    // Full access is Kubernetes' namespace admin, aggregated: no wildcard rule.
    for full in ["e-commerce-operator", "e-commerce-admin"] {
        let role = find(&objects, "ClusterRole", full);
        assert!(role.get("rules").is_none(), "{full} lists rules of its own");
        assert_eq!(
            role["aggregationRule"]["clusterRoleSelectors"][0]["matchLabels"],
            serde_json::json!({"rbac.authorization.k8s.io/aggregate-to-admin": "true"})
        );
    }
    assert!(
        of_kind(&objects, "ClusterRoleBinding").is_empty(),
        "bindings belong to the environments"
    );
    let store = find(&objects, "ClusterSecretStore", "vault-backend");
    assert_eq!(store["apiVersion"], "external-secrets.io/v1");
    assert!(store["spec"]["provider"]["vault"]["server"].is_string());
    assert_eq!(
        store["spec"]["provider"]["vault"]["auth"]["kubernetes"]["role"],
        "external-secrets"
    );
}

#[test]
fn applications_follow_each_environments_sync_policy() {
    let objects = build(&repo(), "argocd");
    let applications = of_kind(&objects, "Application");
    for (env, namespace) in ENVIRONMENTS {
        let app = find(&objects, "Application", &format!("e-commerce-{env}"));
        assert_eq!(app["metadata"]["namespace"], "argocd");
        assert_eq!(app["spec"]["source"]["path"], format!("k8s/overlays/{env}"));
        assert_eq!(app["spec"]["destination"]["namespace"], namespace);
        assert!(
            strings(&app["spec"]["syncPolicy"]["syncOptions"]).contains(&"CreateNamespace=true")
        );
    }
    let policy = |env: &str| {
        find(&objects, "Application", &format!("e-commerce-{env}"))["spec"]["syncPolicy"].clone()
    };
    assert!(
        policy("development").get("automated").is_none(),
        "development syncs by hand"
    );
    for env in ["staging", "production"] {
        assert_eq!(
            policy(env)["automated"],
            serde_json::json!({"prune": true, "selfHeal": true})
        );
    }
    let project = &of_kind(&objects, "AppProject")[0]["spec"];
    let windows = project["syncWindows"].as_array().expect("windows");
    assert_eq!(windows.len(), 1);
    assert_eq!(windows[0]["kind"], "allow");
    assert_eq!(
        strings(&windows[0]["applications"]),
        ["e-commerce-production"]
    );
    assert_eq!(windows[0]["schedule"], "0 8 * * 1-5");
    for component in ["messaging", "monitoring", "security", "argocd"] {
        let app = find(&objects, "Application", &format!("platform-{component}"));
        assert_eq!(
            app["spec"]["source"]["path"],
            format!("k8s/manifests/{component}")
        );
    }
    // Every Application of the platform reads the catalog's repository at its revision.
    for app in applications
        .iter()
        .filter(|a| a["spec"]["project"] == "e-commerce")
    {
        assert_eq!(
            app["spec"]["source"]["repoURL"],
            "https://github.com/yourorg/e-commerce-back.git"
        );
        assert_eq!(app["spec"]["source"]["targetRevision"], "main");
    }
    // Operators are pinned charts or upstream manifests at a tag, each in an operators'
    // AppProject naming its source, ordered before the components and the environments.
    let wave = |app: &Value| -> i64 {
        app["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]
            .as_str()
            .expect("wave")
            .parse()
            .expect("number")
    };
    let operators: Vec<&&Value> = applications
        .iter()
        .filter(|a| a["spec"]["project"] != "e-commerce")
        .collect();
    assert_eq!(operators.len(), 10);
    for operator in &operators {
        let source = &operator["spec"]["source"];
        let revision = source["targetRevision"].as_str().expect("version");
        assert!(!revision.is_empty() && revision != "main" && revision != "HEAD");
        let project = find(
            &objects,
            "AppProject",
            operator["spec"]["project"].as_str().expect("project"),
        );
        let sources = serde_json::to_string(&project["spec"]["sourceRepos"]).expect("json");
        assert!(sources.contains(source["repoURL"].as_str().expect("repo")));
        assert!(wave(operator) < wave(find(&objects, "Application", "platform-security")));
    }
    // The RabbitMQ operators from upstream's images, pinned.
    for (name, image) in [
        (
            "rabbitmq-cluster-operator",
            "=rabbitmqoperator/cluster-operator:2.19.2",
        ),
        (
            "messaging-topology-operator",
            "=rabbitmqoperator/messaging-topology-operator:1.20.1",
        ),
    ] {
        let app = find(&objects, "Application", name);
        assert!(strings(&app["spec"]["source"]["kustomize"]["images"])[0].ends_with(image));
    }
    assert!(
        wave(find(&objects, "Application", "platform-monitoring"))
            < wave(find(&objects, "Application", "e-commerce-production"))
    );
}

#[test]
fn components_carry_explicit_namespaces_and_no_secret_data() {
    for component in ["messaging", "monitoring", "security", "argocd"] {
        let out = run_in(&repo(), &["build", component]).code(0).stdout;
        assert!(!out.contains(":latest"), "{component} pins a :latest image");
        let objects = build(&repo(), component);
        assert!(
            of_kind(&objects, "Secret").is_empty(),
            "{component} has a Secret"
        );
        for o in &objects {
            let cluster_scoped = [
                "Namespace",
                "ClusterRole",
                "ClusterRoleBinding",
                "ClusterIssuer",
                "ClusterSecretStore",
                "ConstraintTemplate",
            ]
            .contains(&o["kind"].as_str().unwrap_or(""))
                || o["apiVersion"] == "constraints.gatekeeper.sh/v1beta1";
            assert_eq!(
                o["metadata"].get("namespace").is_some(),
                !cluster_scoped,
                "{component}: {} {}",
                o["kind"],
                o["metadata"]["name"]
            );
        }
    }
}

#[test]
fn a_new_environment_reaches_every_component_without_code() {
    let project = Scratch::new();
    let qa = project
        .read("environments/staging.yaml")
        .replace("name: staging", "name: qa")
        .replace("e-commerce-staging", "e-commerce-qa")
        .replace("staging.yourdomain.com", "qa.yourdomain.com");
    project.write("environments/qa.yaml", &qa);

    let argocd = build(project.path(), "argocd");
    let app = find(&argocd, "Application", "e-commerce-qa");
    assert_eq!(app["spec"]["destination"]["namespace"], "e-commerce-qa");
    assert_eq!(app["spec"]["source"]["path"], "k8s/overlays/qa");
    assert!(app["spec"]["syncPolicy"]["automated"]["selfHeal"] == true);
    let project_spec = &of_kind(&argocd, "AppProject")[0]["spec"];
    assert!(
        serde_json::to_string(&project_spec["destinations"])
            .expect("json")
            .contains("\"e-commerce-qa\"")
    );

    let monitoring = build(project.path(), "monitoring");
    let monitor = find(&monitoring, "ServiceMonitor", "e-commerce-services");
    assert!(
        strings(&monitor["spec"]["namespaceSelector"]["matchNames"]).contains(&"e-commerce-qa")
    );
    let relay = find(&monitoring, "ConfigMap", "fluent-bit")["data"]["relay.yaml"]
        .as_str()
        .expect("relay")
        .to_owned();
    assert!(relay.contains("${REDIS_URL_QA}"), "{relay}");
    let urls = &find(&monitoring, "ExternalSecret", "fluent-bit-redis")["spec"]["target"]["template"]
        ["data"];
    assert!(
        urls["qa"]
            .as_str()
            .is_some_and(|u| u.contains("@redis.e-commerce-qa.svc")),
        "{urls}"
    );

    let messaging = serde_json::to_string(&build(project.path(), "messaging")).expect("json");
    assert!(messaging.contains("\"e-commerce-qa\""));
    let security = build(project.path(), "security");
    let store = find(&security, "ClusterSecretStore", "vault-backend");
    assert!(strings(&store["spec"]["conditions"][0]["namespaces"]).contains(&"e-commerce-qa"));
}

#[test]
fn monitoring_workloads_admit_only_their_callers() {
    let objects = build(&repo(), "monitoring");
    for workload in [
        "grafana",
        "prometheus",
        "alertmanager",
        "jaeger",
        "fluent-bit",
    ] {
        find(&objects, "NetworkPolicy", &format!("{workload}-traffic"));
    }
    let grafana = find(&objects, "NetworkPolicy", "grafana-traffic");
    assert_eq!(
        grafana["spec"]["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
        "traefik"
    );
    assert_eq!(grafana["spec"]["ingress"][0]["ports"][0]["port"], 3000);
    let jaeger = find(&objects, "NetworkPolicy", "jaeger-traffic");
    let collectors = serde_json::to_string(&jaeger["spec"]["ingress"][0]).expect("json");
    assert!(collectors.contains("4317"));
    for (_, namespace) in ENVIRONMENTS {
        assert!(
            collectors.contains(&format!("\"{namespace}\"")),
            "{namespace} cannot send traces"
        );
    }
}
