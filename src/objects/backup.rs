//! Objects stage: the MySQL backups of an environment. One CronJob per database dumps it
//! (verified before upload) and uploads the dump to MinIO; one CronJob restores the
//! latest dump of every database into a scratch server and checks it (the restore
//! test); where point-in-time recovery is on, one CronJob ships the binary logs.
//!
//! Every backup pod signs in to MySQL as the backup user (read-only grants) and to
//! MinIO as the backups user (its environment's folder of the bucket only); both
//! passwords are read from mounted secrets, never put in argv.

use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, JobSpec, JobTemplateSpec};
use k8s_openapi::api::core::v1::{Container, PodSpec, Volume, VolumeMount};
use serde::Serialize;
use std::collections::BTreeMap;

use super::data::{MINIO, MYSQL_SECRETS};
use super::network::BACKUP_APP;
use super::pod;
use super::workloads::minio_user_secret;
use crate::descriptor::{Backup, Catalog, EnvironmentFile};
use crate::error::Result;
use crate::model::DatabaseView;
use crate::object::{Object, labels, object};
use crate::template::Templates;

/// Suffix of the per-database dump CronJobs (`<prefix>-mysql-backup`).
pub const DUMP_SUFFIX: &str = "-mysql-backup";
/// The CronJob shipping binary logs.
pub const BINLOG_SHIPPING: &str = "mysql-binlog-shipping";
/// The CronJob of the restore test.
pub const RESTORE_TEST: &str = "mysql-restore-test";
/// The scratch volume of every backup pod.
const SCRATCH: &str = "/backup";
/// Where the backups user's MinIO keys are mounted.
const MINIO_SECRETS: &str = "/run/secrets/minio";

/// The backup CronJobs' names as a PromQL regular expression (the alert on them).
pub fn cron_job_pattern() -> String {
    format!(".+{DUMP_SUFFIX}|{BINLOG_SHIPPING}|{RESTORE_TEST}")
}

/// What the scripts of one environment's backups share.
struct Setting<'a> {
    catalog: &'a Catalog,
    env: &'a EnvironmentFile,
    backup: &'a Backup,
    templates: &'a Templates,
    labels: BTreeMap<String, String>,
    /// The snippet signing in to MinIO, the same in every script.
    login: String,
}

#[derive(Serialize)]
struct LoginContext {
    minio_secrets: &'static str,
    endpoint: String,
}

#[derive(Serialize)]
struct ClientContext<'a> {
    scratch: &'static str,
    secrets: String,
    user: &'a str,
}

/// One database as the scripts see it.
#[derive(Serialize)]
struct DatabaseContext<'a> {
    database: &'a str,
    host: String,
    collation: &'a str,
    /// The client-options snippet signing in as the backup user.
    client: String,
}

#[derive(Serialize)]
struct ScriptContext<'a> {
    scratch: &'static str,
    login: &'a str,
    bucket: &'a str,
    environment: &'a str,
    retention_days: u32,
    databases: &'a [DatabaseContext<'a>],
    /// The dump's database (single-database scripts).
    database: &'a str,
    host: String,
    client: &'a str,
    /// Record the binary-log position in the dump (`--source-data=2`).
    source_data: bool,
}

/// The databases whose dump CronJobs one run of [`cron_jobs`] renders.
const DUMPS_PER_RUN: usize = 64;

/// The backup CronJobs of `env` (none without backups), in runs ([`super::Run`]): the
/// dump CronJobs of [`DUMPS_PER_RUN`] databases at a time, then the restore test,
/// binary-log shipping and the backup pods' NetworkPolicies. The runs share the
/// snippets every script includes, rendered once by the first run that needs them.
pub fn cron_jobs<'a>(
    catalog: &'a Catalog,
    env: &'a EnvironmentFile,
    templates: &'a Templates,
) -> Vec<super::Run<'a>> {
    let Some(backup) = &env.storage.backup else {
        return Vec::new();
    };
    // Each run's (setting, client-options snippet): the first run to need it renders it.
    let shared = std::sync::Arc::new(std::sync::OnceLock::new());
    let setting = move || {
        let mut l = labels([
            ("app", BACKUP_APP),
            ("app.kubernetes.io/part-of", catalog.platform.name.as_str()),
            ("component", "backup"),
        ]);
        l.extend(catalog.platform.labels.clone());
        let setting = Setting {
            catalog,
            env,
            backup,
            templates,
            labels: l,
            login: minio_login(catalog, templates)?,
        };
        let client = setting.client(MYSQL_SECRETS.to_owned())?;
        Ok((setting, client))
    };
    let databases: Vec<_> = catalog.databases().collect();
    let mut runs: Vec<super::Run<'a>> = Vec::new();
    for chunk in databases.chunks(DUMPS_PER_RUN) {
        let (chunk, shared) = (chunk.to_vec(), shared.clone());
        runs.push(Box::new(move || {
            let (setting, client) = crate::init(&shared, setting)?;
            chunk.iter().map(|db| setting.dump(db, client)).collect()
        }));
    }
    runs.push(Box::new(move || {
        let (setting, _) = crate::init(&shared, setting)?;
        let databases = setting.databases()?;
        let mut objects = vec![setting.restore_test(&databases)?];
        if backup.point_in_time.is_some() {
            objects.push(setting.binlog_shipping(&databases)?);
        }
        // The backup pods exist only where backups run, and so does their policy.
        let servers = env.data_layer.mysql.mode != crate::descriptor::MysqlMode::InnodbCluster;
        objects.extend(super::network::backup_policies(catalog, servers));
        Ok(objects)
    }));
    runs
}

/// `/run/secrets/mysql/<prefix>`: where a multi-database pod mounts one database's
/// backup password.
fn secrets_of(db: &DatabaseView) -> String {
    format!("{MYSQL_SECRETS}/{}", db.prefix())
}

/// The backup script `name` (`templates/backup/<name>.sh.j2`).
fn script(templates: &Templates, name: &str, context: &impl Serialize) -> Result<String> {
    templates.text(&format!("backup/{name}.sh.j2"), context)
}

/// The snippet signing in to MinIO.
fn minio_login(catalog: &Catalog, templates: &Templates) -> Result<String> {
    script(
        templates,
        "minio-login",
        &LoginContext {
            minio_secrets: MINIO_SECRETS,
            endpoint: format!("http://{MINIO}:{}", catalog.minio.api_port.get()),
        },
    )
}

impl Setting<'_> {
    fn script(&self, name: &str, context: &impl Serialize) -> Result<String> {
        script(self.templates, name, context)
    }

    fn client(&self, secrets: String) -> Result<String> {
        self.script(
            "mysql-client",
            &ClientContext {
                scratch: SCRATCH,
                secrets,
                user: self.catalog.mysql.backup.user.as_str(),
            },
        )
    }

    fn context<'a>(
        &'a self,
        databases: &'a [DatabaseContext<'a>],
        single: Option<(&'a DatabaseView<'a>, &'a str)>,
    ) -> ScriptContext<'a> {
        let (database, host, client) = match single {
            Some((db, client)) => (db.database.name.as_str(), db.deployment(), client),
            None => ("", String::new(), ""),
        };
        ScriptContext {
            scratch: SCRATCH,
            login: &self.login,
            bucket: self.catalog.mysql.backup.bucket.as_str(),
            environment: self.env.name.as_str(),
            retention_days: self.backup.retention_days,
            databases,
            database,
            host,
            client,
            source_data: self.backup.point_in_time.is_some(),
        }
    }

    /// Every database of the catalog, each signing in with its own secret.
    fn databases(&self) -> Result<Vec<DatabaseContext<'_>>> {
        self.catalog
            .databases()
            .map(|db| {
                Ok(DatabaseContext {
                    database: db.database.name.as_str(),
                    host: db.deployment(),
                    collation: db.database.collation.as_str(),
                    client: self.client(secrets_of(&db))?,
                })
            })
            .collect()
    }

    /// A container of the MySQL image (client tools and server) for backup work.
    fn mysql_container(&self, name: &str, script: String, secrets: Vec<VolumeMount>) -> Container {
        let mysql = &self.catalog.mysql;
        let mut mounts = vec![
            pod::mount("backup", SCRATCH, false),
            pod::mount("tmp", "/tmp", false),
        ];
        mounts.extend(secrets);
        Container {
            command: Some(vec!["/bin/sh".into(), "-c".into(), script]),
            resources: Some(pod::resources(&mysql.resources)),
            volume_mounts: Some(mounts),
            ..pod::container(name, &mysql.image, mysql.run_as_user)
        }
    }

    /// A container of the MinIO client signed in as the backups user.
    fn mc_container(&self, name: &str, script: String) -> Container {
        let minio = &self.catalog.minio;
        Container {
            command: Some(vec!["/bin/sh".into(), "-c".into(), script]),
            env: Some(vec![pod::env("MC_CONFIG_DIR", "/tmp/.mc")]),
            resources: Some(pod::resources(&minio.resources)),
            volume_mounts: Some(vec![
                pod::mount("backup", SCRATCH, false),
                pod::mount("tmp", "/tmp", false),
                pod::mount("minio", MINIO_SECRETS, true),
            ]),
            ..pod::container(name, &minio.client_image, minio.run_as_user)
        }
    }

    /// The volumes of a backup pod: scratch space, the backups user's MinIO keys, and
    /// the given MySQL secrets.
    fn volumes(&self, mysql_secrets: Vec<Volume>) -> Vec<Volume> {
        let mut volumes = vec![
            pod::empty_dir("backup"),
            pod::empty_dir("tmp"),
            pod::secret_volume("minio", &minio_user_secret(BACKUP_APP)),
        ];
        volumes.extend(mysql_secrets);
        volumes
    }

    /// The backup password of one database only: the pod never sees its root password.
    fn backup_password(volume: &str, db: &DatabaseView) -> Volume {
        pod::secret_items_volume(volume, &db.secret(), &["backup-password"])
    }

    /// The multi-database pods' MySQL secrets: one volume and mount per database.
    fn every_backup_password(&self) -> (Vec<Volume>, Vec<VolumeMount>) {
        self.catalog
            .databases()
            .map(|db| {
                let volume = format!("credentials-{}", db.prefix());
                (
                    Self::backup_password(&volume, &db),
                    pod::mount(&volume, &secrets_of(&db), true),
                )
            })
            .unzip()
    }

    /// A CronJob whose pod runs `steps` in order (init containers) and then `last`.
    fn cron_job(
        &self,
        name: String,
        schedule: &str,
        mut steps: Vec<Container>,
        volumes: Vec<Volume>,
    ) -> Object {
        let last = steps.pop().expect("a backup pod has a container");
        let mut metadata = crate::object::meta(name, &self.labels);
        metadata.annotations = Some(pod::exceptions(&[pod::TAG_PINNED]));
        let uid = self.catalog.mysql.run_as_user;
        object(&CronJob {
            metadata,
            spec: Some(CronJobSpec {
                schedule: schedule.to_owned(),
                concurrency_policy: Some("Forbid".into()),
                successful_jobs_history_limit: Some(3),
                failed_jobs_history_limit: Some(3),
                job_template: JobTemplateSpec {
                    spec: Some(JobSpec {
                        backoff_limit: Some(2),
                        template: pod::template(
                            &self.labels,
                            PodSpec {
                                // A failed step fails the pod and the Job shows it; the Job
                                // retries with a new pod (backoffLimit).
                                restart_policy: Some("Never".into()),
                                init_containers: (!steps.is_empty()).then_some(steps),
                                ..pod::spec(uid, vec![last], volumes)
                            },
                        ),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                ..Default::default()
            }),
            ..Default::default()
        })
    }

    /// The daily dump of one database: dumped and verified, then uploaded, then the
    /// dumps past the retention deleted.
    fn dump(&self, db: &DatabaseView, client: &str) -> Result<Object> {
        let context = self.context(&[], Some((db, client)));
        let dump = self.mysql_container(
            "dump",
            self.script("mysql-dump", &context)?,
            vec![pod::mount("credentials", MYSQL_SECRETS, true)],
        );
        let upload = self.mc_container("upload", self.script("upload", &context)?);
        Ok(self.cron_job(
            format!("{}{DUMP_SUFFIX}", db.prefix()),
            &self.backup.schedule,
            vec![dump, upload],
            self.volumes(vec![Self::backup_password("credentials", db)]),
        ))
    }

    /// The restore test: the latest dump of every database restored into a scratch
    /// server in the pod and checked.
    fn restore_test(&self, databases: &[DatabaseContext]) -> Result<Object> {
        let context = self.context(databases, None);
        let fetch = self.mc_container("fetch", self.script("restore-fetch", &context)?);
        let restore = self.mysql_container(
            "restore",
            self.script("restore-test", &context)?,
            Vec::new(),
        );
        Ok(self.cron_job(
            RESTORE_TEST.to_owned(),
            &self.backup.restore_test,
            vec![fetch, restore],
            self.volumes(Vec::new()),
        ))
    }

    /// Binary-log shipping, every `rpoMinutes`: rotate and list (MySQL), find what MinIO
    /// lacks (mc), copy it from the servers (MySQL), upload it (mc).
    fn binlog_shipping(&self, databases: &[DatabaseContext]) -> Result<Object> {
        let rpo = self
            .backup
            .point_in_time
            .as_ref()
            .map_or(60, |p| p.rpo_minutes);
        let context = self.context(databases, None);
        let (volumes, mounts) = self.every_backup_password();
        let steps = vec![
            self.mysql_container(
                "rotate",
                self.script("binlog-rotate", &context)?,
                mounts.clone(),
            ),
            self.mc_container("check", self.script("binlog-check", &context)?),
            self.mysql_container("fetch", self.script("binlog-fetch", &context)?, mounts),
            self.mc_container("upload", self.script("binlog-upload", &context)?),
        ];
        Ok(self.cron_job(
            BINLOG_SHIPPING.to_owned(),
            &format!("*/{rpo} * * * *"),
            steps,
            self.volumes(volumes),
        ))
    }
}
