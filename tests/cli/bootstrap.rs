//! `platgen validate`, bootstrap class: each defect that kept the ArgoCD bootstrap from
//! converging on an empty cluster, injected into a scratch copy of the descriptors (or a
//! template), must come back as a located finding. The shipped project passes
//! (`check::shipped_project_validates_clean`).

use crate::check::assert_finding;
use crate::support::{Run, Scratch, line_col, run_in};

const CATALOG: &str = "environments/platform.yaml";

/// `line:col` (1-based) of the first occurrence of `needle` in a project file.
fn position(project: &Scratch, file: &str, needle: &str) -> String {
    let text = project.read(file);
    let (line, col) = line_col(&text, text.find(needle).expect("needle present"));
    format!("{line}:{col}")
}

fn validate(project: &Scratch) -> Run {
    run_in(project.path(), &["validate"]).code(1)
}

/// Audit point 1: cert-manager's leader-election Role and RoleBinding default to
/// kube-system, which the operators' AppProject does not permit.
#[test]
fn cert_manager_leader_election_in_kube_system_is_found() {
    let project = Scratch::new();
    project.edit(
        CATALOG,
        "          global: {leaderElection: {namespace: cert-manager}}\n",
        "",
    );
    // The deepest entry that exists: the chart's `values`, whose value starts at `crds`.
    let at = position(&project, CATALOG, "crds: {enabled: true}");
    assert_finding(
        &validate(&project),
        &[
            "error[bootstrap]: chart `cert-manager` writes leader-election Roles and RoleBindings of the controller and cainjector (`global.leaderElection.namespace`; set it to the chart's own namespace) to namespace `kube-system`, which AppProject `e-commerce-operators` does not permit",
            "--> Application/argocd/cert-manager (target argocd)",
            "= field: spec.source.helm.valuesObject.global.leaderElection.namespace",
            &format!(
                "= descriptor: {CATALOG}:{at}: components.argocd.charts.certManager.values.global.leaderElection.namespace (cert-manager)"
            ),
        ],
    );
}

/// Audit point 2: kube-prometheus-stack's control-plane exporters put Services in
/// kube-system unless switched off.
#[test]
fn kube_prometheus_stack_exporter_in_kube_system_is_found() {
    let project = Scratch::new();
    project.edit(CATALOG, "          kubeProxy: {enabled: false}\n", "");
    assert_finding(
        &validate(&project),
        &[
            "error[bootstrap]: chart `kube-prometheus-stack` writes kube-proxy exporter Service, Endpoints and ServiceMonitor (`kubeProxy.enabled` is on; turn it off) to namespace `kube-system`, which AppProject `e-commerce-operators` does not permit",
            "--> Application/argocd/kube-prometheus-stack (target argocd)",
            "= field: spec.source.helm.valuesObject.kubeProxy.enabled",
            "= descriptor: environments/platform.yaml:",
            ": components.argocd.charts.prometheusOperator.values.kubeProxy.enabled (kube-prometheus-stack)",
        ],
    );
}

/// Audit point 3: Bitnami's RabbitMQ operator chart pulls images that no longer exist.
#[test]
fn bitnami_operator_chart_is_found() {
    let project = Scratch::new();
    project.edit(
        CATALOG,
        "        repository: https://github.com/rabbitmq/cluster-operator.git\n        path: config/installation\n        images: [rabbitmqoperator/cluster-operator-dev=rabbitmqoperator/cluster-operator:2.19.2]\n        version: v2.19.2\n",
        "        repository: https://charts.bitnami.com/bitnami\n        chart: rabbitmq-cluster-operator\n        version: 4.4.34\n",
    );
    // The namespace patch is a kustomize setting: a Helm chart has none.
    let text = project.read(CATALOG);
    let start = text
        .find("        # Upstream's manifests hold the Namespace: Pod Security")
        .expect("patch");
    let end = start
        + text[start..]
            .find("        apis: [rabbitmq.com/RabbitmqCluster]")
            .expect("apis");
    project.write(CATALOG, &format!("{}{}", &text[..start], &text[end..]));
    assert_finding(
        &validate(&project),
        &[
            "error[bootstrap]: chart repository `https://charts.bitnami.com/bitnami`: Bitnami's charts pull docker.io/bitnami images, which have had no tags since Bitnami withdrew its free images (2025)",
            "--> Application/argocd/rabbitmq-cluster-operator (target argocd)",
            "= field: spec.source.repoURL",
            ": components.argocd.charts.rabbitmqOperator.repository (rabbitmq-cluster-operator)",
        ],
    );
}

/// Audit point 4: the relay's `/ready` waits for every environment's Redis, deployed in
/// a later wave (development only by hand): the monitoring wave never gets healthy.
#[test]
fn relay_readiness_waiting_for_later_waves_is_found() {
    let project = Scratch::new();
    project.edit(
        CATALOG,
        "relayReadinessPath: /ping",
        "relayReadinessPath: /ready",
    );
    let at = position(&project, CATALOG, "/ready\n");
    let result = validate(&project);
    assert_finding(
        &result,
        &[
            "error[bootstrap]: readiness `/ready` of `jeffail/benthos:4.27.0` waits for every output to connect, and one is in namespace `e-commerce-dev`, deployed by Application `e-commerce-development`, synced by hand, after this workload's Application `platform-monitoring` (wave 1)",
            "--> DaemonSet/monitoring/fluent-bit (target monitoring)",
            "= field: spec.template.spec.containers[1].readinessProbe.httpGet.path",
            &format!(
                "= descriptor: {CATALOG}:{at}: components.monitoring.fluentBit.relayReadinessPath"
            ),
        ],
    );
    assert_finding(
        &result,
        &[
            "namespace `e-commerce-prod`, deployed by Application `e-commerce-production` in wave 2",
            "--> DaemonSet/monitoring/fluent-bit (target monitoring)",
        ],
    );
}

/// Audit point 5: a manual-sync environment in the wave-gated parent keeps the parent's
/// sync from finishing unless the health rule exempts it.
#[test]
fn manual_sync_child_of_the_wave_gated_parent_is_found() {
    let project = Scratch::new();
    project.edit(
        CATALOG,
        "                if obj.spec.syncPolicy == nil or obj.spec.syncPolicy.automated == nil then\n",
        "                if false then\n",
    );
    let at = position(
        &project,
        "environments/development.yaml",
        "automated: false",
    );
    let at = at.replace(":3", ":14");
    assert_finding(
        &validate(&project),
        &[
            "error[bootstrap]: manual-sync Application `e-commerce-development` in wave 2 of the wave-gated parent `platform-argocd`: its health stays Missing until a person syncs it",
            "--> Application/argocd/e-commerce-development (target argocd)",
            "= field: spec.syncPolicy",
            &format!("= descriptor: environments/development.yaml:{at}: sync.automated"),
        ],
    );
}

/// Audit point 6: without `retry` a failed first sync is never tried again.
#[test]
fn automated_application_without_retry_is_found() {
    let project = Scratch::new();
    project.edit(
        CATALOG,
        "    retry:\n      limit: 5\n      backoff: {duration: 10s, factor: 2, maxDuration: 5m}\n",
        "",
    );
    let result = validate(&project);
    assert_finding(
        &result,
        &[
            "error[bootstrap]: automated Application `e-commerce-production` has no `retry`: a failed sync is not tried again for the same commit",
            "--> Application/argocd/e-commerce-production (target argocd)",
            "= field: spec.syncPolicy.retry",
            ": components.argocd.retry",
        ],
    );
    // Development syncs by hand: no finding of this kind for it.
    assert!(
        !result
            .stdout
            .contains("automated Application `e-commerce-development`"),
        "{}",
        result.stdout
    );
}

/// Audit point 7: the production autoscalers need the resource metrics API.
#[test]
fn autoscaler_without_a_metrics_api_is_found() {
    let project = Scratch::new();
    let text = project.read(CATALOG);
    let start = text
        .find("      # The resource metrics the HorizontalPodAutoscalers")
        .expect("metrics server");
    project.write(CATALOG, &text[..start]);
    assert_finding(
        &validate(&project),
        &[
            "error[bootstrap]: no Application provides the resource metrics API `metrics.k8s.io` (metrics-server), nor does the catalog say the cluster has one: the autoscaler reads no metrics and never scales",
            "--> HorizontalPodAutoscaler/e-commerce-prod/api-gateway-hpa (target production)",
            "= field: spec.metrics[0]",
            ": components.argocd.charts.metricsServer",
        ],
    );
}

/// The catalog switch for a cluster that ships its own metrics-server: no Application,
/// no AppProject for it, and the autoscalers still have their API.
#[test]
fn cluster_with_its_own_metrics_server_passes() {
    let project = Scratch::new();
    project.edit(
        CATALOG,
        "        project: e-commerce-metrics-server\n",
        "        project: e-commerce-metrics-server\n        enabled: false\n",
    );
    run_in(project.path(), &["validate"]).code(0);
    let argocd = run_in(project.path(), &["build", "argocd"]).code(0).stdout;
    assert!(!argocd.contains("metrics-server"), "{argocd}");
}

/// A custom resource in the same wave as the Application installing its CRD: the dry run
/// of its Application fails (the RabbitMQ topology CRs of the environments follow the
/// same rule).
#[test]
fn custom_resource_not_after_its_operator_is_found() {
    let project = Scratch::new();
    project.edit(
        CATALOG,
        "        namespace: observability\n        wave: -1\n",
        "        namespace: observability\n        wave: 1\n",
    );
    let at = position(
        &project,
        CATALOG,
        "1\n        podSecurity: {enforce: baseline",
    );
    assert_finding(
        &validate(&project),
        &[
            "error[bootstrap]: `jaegertracing.io/Jaeger` is installed by Application `jaeger-operator` in wave 1, not before Application `platform-monitoring` (wave 1) that needs it",
            "--> Jaeger/monitoring/jaeger (target monitoring)",
            "= field: apiVersion",
            &format!("= descriptor: {CATALOG}:{at}: components.argocd.charts.jaegerOperator.wave"),
        ],
    );
}

/// The topology operator's webhook certificate needs cert-manager's CRDs first.
#[test]
fn operator_using_cert_manager_in_its_wave_is_found() {
    let project = Scratch::new();
    project.edit(
        CATALOG,
        "        namespace: rabbitmq-system\n        wave: -1\n",
        "        namespace: rabbitmq-system\n        wave: -2\n",
    );
    assert_finding(
        &validate(&project),
        &[
            "error[bootstrap]: `cert-manager.io/Issuer` is installed by Application `cert-manager` in wave -2, not before Application `messaging-topology-operator` (wave -2) that needs it",
            "--> Application/argocd/messaging-topology-operator (target argocd)",
            "= field: metadata.annotations.argocd.argoproj.io/sync-wave",
            ": components.argocd.charts.certManager.wave",
        ],
    );
}

/// A Gatekeeper constraint's kind exists only once its template is read: it needs a
/// later wave of the same Application and a skipped dry run.
#[test]
fn constraint_without_dry_run_skip_is_found() {
    let project = Scratch::new();
    project.edit(
        "templates/components/security/policies/_match.yaml.j2",
        "    argocd.argoproj.io/sync-options: SkipDryRunOnMissingResource=true\n",
        "",
    );
    assert_finding(
        &validate(&project),
        &[
            "error[bootstrap]: `constraints.gatekeeper.sh/K8sDisallowLatestTag` is created by ConstraintTemplate/k8sdisallowlatesttag (wave 0) of the same Application",
            "(it has wave 1, no dry-run skip)",
            "(target security)",
            "= field: apiVersion",
        ],
    );
}

/// An AppProject that does not permit where an Application deploys and writes.
#[test]
fn destination_outside_the_project_is_found() {
    let project = Scratch::new();
    project.edit(
        "templates/components/argocd/app-project.yaml.j2",
        "      namespace: {{ destination.namespace | tojson }}",
        "      namespace: {{ (destination.namespace ~ \"-x\") | tojson }}",
    );
    let result = validate(&project);
    assert_finding(
        &result,
        &[
            "error[bootstrap]: the Application deploys to namespace `monitoring`, which AppProject `e-commerce` does not permit",
            "--> Application/argocd/platform-monitoring (target argocd)",
            "= field: spec.destination.namespace",
        ],
    );
    assert_finding(
        &result,
        &[
            "error[bootstrap]: its folder writes ",
            "/monitoring/",
            "(and more) to namespace `monitoring`, which AppProject `e-commerce` does not permit",
            "--> Application/argocd/platform-monitoring (target argocd)",
            "= field: spec.source.path",
        ],
    );
}

/// An operator's source is a Helm chart or a kustomize folder, never both; `uses` names
/// kinds: located descriptor errors.
#[test]
fn operator_sources_and_apis_are_checked_where_written() {
    let project = Scratch::new();
    project.edit(
        CATALOG,
        "        path: config/installation\n        images: [rabbitmqoperator/cluster-operator-dev",
        "        chart: rabbitmq-cluster-operator\n        path: config/installation\n        images: [rabbitmqoperator/cluster-operator-dev",
    );
    project.edit(
        CATALOG,
        "        uses: [cert-manager.io/Issuer, cert-manager.io/Certificate]\n      # The Prometheus",
        "        uses: [cert-manager.io, cert-manager.io/Certificate]\n      # The Prometheus",
    );
    let at = position(
        &project,
        CATALOG,
        "cert-manager.io, cert-manager.io/Certificate]",
    );
    run_in(project.path(), &["validate"])
        .code(1)
        .stderr_has("error: the rabbitmqOperator operator has both `chart` and `path` (at `components.argocd.charts.rabbitmqOperator`)")
        .stderr_has("error: `cert-manager.io` is no API (at `components.argocd.charts.rabbitmqTopologyOperator.uses[0]`)")
        .stderr_has(&format!("--> {CATALOG}:{at}"))
        .stderr_has("= expected: `group/Kind`, e.g. `cert-manager.io/Certificate`");
}

/// Objects whose health needs an object of a later wave: the ExternalSecrets of the
/// monitoring component (wave 1) with the secret store of a security component moved
/// after it.
#[test]
fn object_needing_a_later_wave_is_found() {
    let project = Scratch::new();
    project.edit(
        CATALOG,
        "waves: {security: 0, components: 1, environments: 2}",
        "waves: {security: 2, components: 1, environments: 3}",
    );
    assert_finding(
        &validate(&project),
        &[
            "error[bootstrap]: needs ClusterSecretStore/vault-backend, which Application `platform-security` syncs in wave 2, after this object's Application `platform-monitoring` (wave 1): it stays unhealthy and the parent stops at wave 1",
            "--> ExternalSecret/monitoring/",
            "(target monitoring)",
            "= field: spec.secretStoreRef.name",
        ],
    );
}

/// An environment in hydrated parts: its Application's sources are the parts, each a
/// folder of the tree (validate is clean), and one it leaves out would be pruned.
#[test]
fn an_application_missing_a_hydrated_part_is_found() {
    let project = Scratch::new();
    let staging = "environments/staging.yaml";
    project.write(
        staging,
        &(project.read(staging) + "layout: hydrated\nhydratedParts: 3\n"),
    );
    run_in(project.path(), &["validate"]).code(0);
    let template = "templates/components/argocd/application.yaml.j2";
    project.edit(
        template,
        "sources: {{ sources | tojson }}",
        "sources: {{ sources[:2] | tojson }}",
    );
    assert_finding(
        &validate(&project),
        &[
            "error[bootstrap]: no source syncs `k8s/overlays/staging/part-03`, a part of target `staging`: ArgoCD prunes its objects",
            "--> Application/argocd/e-commerce-staging (target argocd)",
            "= field: spec.sources",
        ],
    );
}
