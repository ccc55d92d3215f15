//! `platgen validate`, admission: what the API server would reject once the output is
//! applied — pods beyond the ResourceQuota at the namespace's peak, containers outside the
//! LimitRange, pods below the namespace's Pod Security level, and objects the platform's
//! own Gatekeeper constraints deny (their Rego run by a real engine). Each mistake is
//! injected through the descriptors of a scratch project.

use crate::check::{assert_finding, line_of, validate};
use crate::support::Scratch;

#[test]
fn quota_too_small_for_the_peak_is_found() {
    // Development's quota before issue #12: 8 CPUs of limits and 60 pods (here 30).
    let project = Scratch::new();
    let file = "environments/development.yaml";
    project.edit(
        file,
        "  limits: {cpu: \"12\", memory: 20Gi}\n",
        "  limits: {cpu: \"8\", memory: 20Gi}\n",
    );
    project.edit(file, "  pods: 60\n", "  pods: 30\n");
    let result = validate(&project, &["development"]).code(1);
    let quota = line_of(&project, file, "quota:") + 2;
    assert_finding(
        &result,
        &[
            "error[admission]: at its peak namespace e-commerce-dev needs limits.cpu 9800m \
             (8300m for 26 pods at their replicas or autoscaler maximum, 1300m for 13 pods of \
             rolling-update surge, 200m for 1 pod of one run of each Job and CronJob), above \
             the quota's 8: pods beyond it are rejected (`exceeded quota`) and rollouts stall",
            "--> ResourceQuota/e-commerce-dev/compute-quota (target development)",
            "= field: spec.hard[limits.cpu]",
            &format!("= descriptor: {file}:{quota}:17: quota.limits.cpu"),
        ],
    );
    assert_finding(
        &result,
        &[
            "error[admission]: at its peak namespace e-commerce-dev runs 40 pods (26 at their \
             replicas or autoscaler maximum, 13 of rolling-update surge, 1 of one run of each \
             Job and CronJob), above the quota's 30",
            "= field: spec.hard[pods]",
            &format!("= descriptor: {file}:{}:9: quota.pods", quota + 1),
        ],
    );
}

#[test]
fn production_peak_counts_autoscaler_maxima_and_backup_jobs() {
    // At 88.7 CPUs of limits production needs more than 80: autoscaled gateway (15 + 4
    // surge), eleven backup CronJobs that start together.
    let project = Scratch::new();
    project.edit(
        "environments/production.yaml",
        "  limits: {cpu: \"110\", memory: 200Gi}\n",
        "  limits: {cpu: \"80\", memory: 200Gi}\n",
    );
    assert_finding(
        &validate(&project, &["production"]).code(1),
        &[
            "error[admission]: at its peak namespace e-commerce-prod needs limits.cpu 88700m \
             (66500m for 132 pods at their replicas or autoscaler maximum, 15500m for 31 pods \
             of rolling-update surge, 6700m for 14 pods of one run of each Job and CronJob), \
             above the quota's 80",
            "--> ResourceQuota/e-commerce-prod/compute-quota (target production)",
        ],
    );
}

#[test]
fn limit_range_max_below_the_containers_limits_is_found() {
    let project = Scratch::new();
    let file = "environments/staging.yaml";
    project.edit(file, "  default: {cpu: 250m,", "  default: {cpu: 200m,");
    project.edit(file, "  max: {cpu: \"2\",", "  max: {cpu: 200m,");
    let result = validate(&project, &["staging"]).code(1);
    assert_finding(
        &result,
        &[
            "error[admission]: limit cpu 250m is above the maximum 200m per Container of \
             LimitRange `container-limits` (spec.limits[0]): its pods are rejected",
            "--> Deployment/e-commerce-staging/auth-service (target staging)",
            "= field: spec.template.spec.containers[0].resources.limits.cpu",
            &format!(
                "= descriptor: {file}:{}:3: resources",
                line_of(&project, file, "resources:") + 1
            ),
        ],
    );
    // The MySQL exporter sidecar's 100m fits; the database's 500m does not.
    assert_finding(
        &result,
        &[
            "error[admission]: limit cpu 500m is above the maximum 200m per Container",
            "--> Deployment/e-commerce-staging/auth-service-mysql (target staging)",
            "= field: spec.template.spec.containers[0].resources.limits.cpu",
        ],
    );
    assert!(
        !result
            .stdout
            .contains("= field: spec.template.spec.containers[1].resources.limits.cpu"),
        "{}",
        result.stdout
    );
}

#[test]
fn gatekeeper_constraints_deny_latest_untagged_and_root() {
    let project = Scratch::new();
    let staging = project.read("environments/staging.yaml");
    project.write(
        "environments/staging.yaml",
        &format!("{staging}images:\n  auth-service: latest\n"),
    );
    let catalog = "environments/platform.yaml";
    project.edit(catalog, "  image: redis:8.8.2-alpine\n", "  image: redis\n");
    let redis = line_of(&project, catalog, "redis:");
    project.edit(
        catalog,
        "  storage: 1Gi\n  runAsUser: 10001\n",
        "  storage: 1Gi\n  runAsUser: 0\n",
    );
    let result = validate(&project, &["staging"]).code(1);
    assert_finding(
        &result,
        &[
            "error[admission]: Gatekeeper constraint K8sDisallowLatestTag/no-latest-images \
             denies it: container <auth-service> uses image \
             <registry.yourdomain.com/e-commerce/auth-service:latest>: pin a tag other than \
             latest, or a digest",
            "--> Deployment/e-commerce-staging/auth-service (target staging)",
            "= field: spec.template.spec.containers[0].image",
            &format!(
                "= descriptor: environments/staging.yaml:{}:17: images.auth-service",
                staging.lines().count() + 2
            ),
        ],
    );
    assert_finding(
        &result,
        &[
            "error[admission]: Gatekeeper constraint K8sDisallowLatestTag/no-latest-images \
             denies it: container <redis> uses image <redis>",
            "--> Deployment/e-commerce-staging/redis (target staging)",
            "= field: spec.template.spec.containers[0].image",
            &format!("= descriptor: {catalog}:{}:3: redis", redis + 1),
        ],
    );
    assert_finding(
        &result,
        &[
            "error[admission]: Gatekeeper constraint K8sRequireNonRoot/containers-run-as-non-root \
             denies it: container <redis> runs as UID 0",
            "--> Deployment/e-commerce-staging/redis (target staging)",
            "= field: spec.template.spec.containers[0]",
        ],
    );
    // Staging enforces Pod Security `restricted`, which forbids root as well.
    assert_finding(
        &result,
        &[
            "error[admission]: Pod Security `restricted` (enforced on namespace \
             e-commerce-staging): runAsUser must not be 0 (root)",
            "--> Deployment/e-commerce-staging/redis (target staging)",
            "= field: spec.template.spec.securityContext.runAsUser",
        ],
    );
}

#[test]
fn pod_security_follows_the_level_a_namespace_enforces() {
    // FluentBit reads host logs as root: fine under `privileged`; `baseline` forbids its
    // hostPath volume, `restricted` also its running as root.
    let project = Scratch::new();
    let privileged = "podSecurity: {enforce: privileged, warn: restricted}";
    project.edit(
        "environments/platform.yaml",
        privileged,
        "podSecurity: {enforce: restricted, warn: restricted}",
    );
    let result = validate(&project, &["monitoring"]).code(1);
    let rule = "Pod Security `restricted` (enforced on namespace monitoring)";
    assert_finding(
        &result,
        &[
            &format!("error[admission]: {rule}: volume type `hostPath` is not allowed"),
            "--> DaemonSet/monitoring/fluent-bit (target monitoring)",
            "= field: spec.template.spec.volumes[0].hostPath",
        ],
    );
    assert_finding(
        &result,
        &[
            &format!("error[admission]: {rule}: runAsUser must not be 0 (root)"),
            "--> DaemonSet/monitoring/fluent-bit (target monitoring)",
            "= field: spec.template.spec.containers[0].securityContext.runAsUser",
        ],
    );
    let project = Scratch::new();
    project.edit(
        "environments/platform.yaml",
        privileged,
        "podSecurity: {enforce: baseline, warn: restricted}",
    );
    let result = validate(&project, &["monitoring"]).code(1);
    assert_finding(
        &result,
        &[
            "error[admission]: Pod Security `baseline` (enforced on namespace monitoring): \
             volume type `hostPath` is not allowed",
            "--> DaemonSet/monitoring/fluent-bit (target monitoring)",
        ],
    );
    assert!(!result.stdout.contains("runAsUser"), "{}", result.stdout);
}

#[test]
fn gatekeeper_denies_missing_limits_while_it_enforces() {
    // Every container sets cpu and memory; none sets ephemeral-storage.
    let project = Scratch::new();
    let catalog = "environments/platform.yaml";
    project.edit(
        catalog,
        "requiredResources: [requests.cpu, requests.memory, limits.cpu, limits.memory]",
        "requiredResources: [requests.cpu, limits.cpu, limits.ephemeral-storage]",
    );
    let result = validate(&project, &["production"]).code(1);
    assert_finding(
        &result,
        &[
            "error[admission]: Gatekeeper constraint K8sRequiredResources/containers-have-resources \
             denies it: container <auth-service> does not set resources.limits.ephemeral-storage",
            "--> Deployment/e-commerce-prod/auth-service (target production)",
            "= field: spec.template.spec.containers[0]",
        ],
    );
    // The backup CronJobs' init container is judged too.
    assert_finding(
        &result,
        &[
            "does not set resources.limits.ephemeral-storage",
            "--> CronJob/e-commerce-prod/auth-mysql-backup (target production)",
        ],
    );
    assert!(
        !result.stdout.contains("resources.limits.cpu"),
        "{}",
        result.stdout
    );
    // In `dryrun` Gatekeeper only records violations: nothing is rejected.
    project.edit(
        catalog,
        "enforcementAction: deny",
        "enforcementAction: dryrun",
    );
    validate(&project, &["production"]).code(0);
}
