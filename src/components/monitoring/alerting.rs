//! The seed's alert rules and Alertmanager's routing.

use super::*;

#[derive(Serialize)]
struct AlertingContext<'a> {
    namespace: &'a str,
    labels: &'a BTreeMap<String, String>,
    name: &'a str,
    alerts: &'a Alerts,
    /// Regular expressions of namespaces, for PromQL `=~` matchers.
    environments: String,
    platform: String,
    messaging: &'a str,
    /// The environments' virtual hosts and their dead-letter queue, for PromQL matchers.
    vhosts: String,
    dead_letter_queue: &'a str,
    /// The backup CronJobs' names, for PromQL `=~` matchers.
    backup_jobs: String,
}

#[derive(Serialize)]
struct AlertmanagerContext<'a> {
    name: &'a str,
    namespace: &'a str,
    labels: &'a BTreeMap<String, String>,
    image: String,
    version: &'a str,
    replicas: i32,
    retention: &'a str,
    resources: serde_json::Value,
    storage: serde_json::Value,
    security_context: serde_json::Value,
    affinity: serde_json::Value,
    group_wait: &'a str,
    group_interval: &'a str,
    repeat_interval: &'a str,
    email: &'a Email,
    slack: &'a Slack,
    smtp_secret: &'static str,
    slack_secret: &'static str,
    webhook_secret: &'static str,
}

/// The seed's alerts (PrometheusRule), Alertmanager (2 replicas, 120h, 5Gi) with its
/// routing (critical: email and Slack, warning: email, info: webhook) and the Secrets of
/// the receivers' credentials, from Vault.
pub(super) fn alerting(project: &Project, templates: &Templates) -> Result<Vec<Object>> {
    let catalog = &project.catalog;
    let monitoring = &catalog.components.monitoring;
    let settings = &monitoring.alertmanager;
    let ns = catalog.security.monitoring_namespace.as_str();
    let l = component_labels(catalog, MONITORING);
    let environments = environment_namespaces(project);
    let mut platform = environments.clone();
    platform.push(catalog.rabbitmq.namespace.to_string());
    let vhosts: Vec<String> = (project.environments.iter())
        .map(|env| crate::objects::messaging::vhost_name(env).to_owned())
        .collect();
    let mut objects = templates.objects(
        "components/monitoring/alert-rules.yaml.j2",
        &AlertingContext {
            namespace: ns,
            labels: &l,
            name: instance(catalog),
            alerts: &monitoring.alerts,
            environments: alternatives(&environments),
            platform: alternatives(&platform),
            messaging: catalog.rabbitmq.namespace.as_str(),
            vhosts: alternatives(&vhosts),
            dead_letter_queue: catalog.rabbitmq.dead_letters.queue.as_str(),
            backup_jobs: crate::objects::backup::cron_job_pattern(),
        },
    )?;
    objects.extend(templates.objects(
        "components/monitoring/alertmanager.yaml.j2",
        &AlertmanagerContext {
            name: instance(catalog),
            namespace: ns,
            labels: &l,
            image: format!("{}:{}", settings.image, settings.version),
            version: &settings.version,
            replicas: settings.replicas,
            retention: &settings.retention,
            resources: object(&pod::resources(&settings.resources)),
            storage: object(&storage_claim(&settings.storage, &settings.storage_class)),
            security_context: object(&pod::pod_security(settings.run_as_user)),
            affinity: object(&spread("alertmanager", instance(catalog))),
            group_wait: &settings.group_wait,
            group_interval: &settings.group_interval,
            repeat_interval: &settings.repeat_interval,
            email: &settings.email,
            slack: &settings.slack,
            smtp_secret: SMTP_SECRET,
            slack_secret: SLACK_SECRET,
            webhook_secret: WEBHOOK_SECRET,
        },
    )?);
    for (secret, key) in [
        (SMTP_SECRET, "password"),
        (SLACK_SECRET, "api-url"),
        (WEBHOOK_SECRET, "url"),
    ] {
        objects.extend(external_secret(
            catalog,
            templates,
            secret,
            ns,
            &l,
            &[SecretKey {
                secret_key: key.into(),
                remote_key: vault_key(catalog, MONITORING, secret),
                property: key.into(),
            }],
        )?);
    }
    Ok(objects)
}
