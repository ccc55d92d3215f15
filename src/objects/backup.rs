//! Objects stage: the daily MySQL backups of an environment, one CronJob per database:
//! `mysqldump` into a scratch volume, then upload to MinIO and expire old dumps.

use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, JobSpec, JobTemplateSpec};
use k8s_openapi::api::core::v1::{Container, PodSpec};
use serde::Serialize;

use super::data::{MINIO, MYSQL_SECRETS};
use super::network::BACKUP_APP;
use super::pod;
use super::workloads::MINIO_SECRET;
use crate::descriptor::{Backup, Catalog, EnvironmentFile};
use crate::error::Result;
use crate::model::DatabaseView;
use crate::object::{Object, labels, object};
use crate::template::Templates;

#[derive(Serialize)]
struct BackupContext<'a> {
    host: String,
    database: &'a str,
    endpoint: String,
    bucket: &'a str,
    environment: &'a str,
    retention_days: u32,
    secrets: &'a str,
}

pub fn cron_jobs(
    catalog: &Catalog,
    env: &EnvironmentFile,
    templates: &Templates,
) -> Result<Vec<Object>> {
    let Some(backup) = &env.storage.backup else {
        return Ok(Vec::new());
    };
    let mut objects = catalog
        .databases()
        .map(|db| cron_job(catalog, env, backup, templates, &db))
        .collect::<Result<Vec<_>>>()?;
    // The backup pods exist only where backups run, and so does their policy.
    objects.extend(super::network::backup_policies(catalog));
    Ok(objects)
}

fn cron_job(
    catalog: &Catalog,
    env: &EnvironmentFile,
    backup: &Backup,
    templates: &Templates,
    db: &DatabaseView,
) -> Result<Object> {
    let context = BackupContext {
        host: db.deployment(),
        database: &db.database.name,
        endpoint: format!("http://{MINIO}:{}", catalog.minio.api_port.get()),
        bucket: catalog.mysql.backup.bucket.as_str(),
        environment: env.name.as_str(),
        retention_days: backup.retention_days,
        secrets: MYSQL_SECRETS,
    };
    let dump_script = templates.text("backup/mysql-dump.sh.j2", &context)?;
    let upload_script = templates.text("backup/upload.sh.j2", &context)?;
    let mysql = &catalog.mysql;
    let minio = &catalog.minio;
    let dump = Container {
        command: Some(vec!["/bin/sh".into(), "-c".into(), dump_script]),
        resources: Some(pod::resources(&mysql.resources)),
        volume_mounts: Some(vec![
            pod::mount("backup", "/backup", false),
            pod::mount("credentials", MYSQL_SECRETS, true),
        ]),
        ..pod::container("dump", &mysql.image, mysql.run_as_user)
    };
    let upload = Container {
        command: Some(vec!["/bin/sh".into(), "-c".into(), upload_script]),
        env: Some(vec![
            pod::secret_env("MINIO_ROOT_USER", MINIO_SECRET, "root-user"),
            pod::secret_env("MINIO_ROOT_PASSWORD", MINIO_SECRET, "root-password"),
            pod::env("MC_CONFIG_DIR", "/tmp/.mc"),
        ]),
        resources: Some(pod::resources(&minio.resources)),
        volume_mounts: Some(vec![
            pod::mount("backup", "/backup", true),
            pod::mount("tmp", "/tmp", false),
        ]),
        ..pod::container("upload", &minio.client_image, minio.run_as_user)
    };
    let mut l = labels([
        ("app", BACKUP_APP),
        ("app.kubernetes.io/part-of", catalog.platform.name.as_str()),
        ("component", "backup"),
    ]);
    l.extend(catalog.platform.labels.clone());
    let name = format!("{}-mysql-backup", db.prefix());
    let mut metadata = crate::object::meta(name, &l);
    metadata.annotations = Some(pod::exceptions(&[pod::TAG_PINNED, pod::SECRET_IN_ENV]));
    Ok(object(&CronJob {
        metadata,
        spec: Some(CronJobSpec {
            schedule: backup.schedule.clone(),
            concurrency_policy: Some("Forbid".into()),
            successful_jobs_history_limit: Some(3),
            failed_jobs_history_limit: Some(3),
            job_template: JobTemplateSpec {
                spec: Some(JobSpec {
                    backoff_limit: Some(2),
                    template: pod::template(
                        &l,
                        PodSpec {
                            restart_policy: Some("OnFailure".into()),
                            init_containers: Some(vec![dump]),
                            ..pod::spec(
                                mysql.run_as_user,
                                vec![upload],
                                vec![
                                    pod::empty_dir("backup"),
                                    pod::empty_dir("tmp"),
                                    pod::secret_volume("credentials", &db.secret()),
                                ],
                            )
                        },
                    ),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        }),
        ..Default::default()
    }))
}
