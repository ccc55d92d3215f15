//! Objects stage: the users of an environment's MinIO and the Job that sets MinIO up
//! (buckets with their policies, then one user per consumer with its own policy).

use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{Container, PodSpec};
use serde::Serialize;

use super::data::{MINIO, MINIO_SETUP, data_labels};
use super::network::BACKUP_APP;
use super::pod;
use super::workloads::{MINIO_SECRET, minio_user_secret};
use crate::descriptor::{BucketPolicy, Catalog, EnvironmentFile};
use crate::error::Result;
use crate::object::{Object, labels, meta, object};
use crate::template::Templates;

#[derive(Serialize)]
struct SetupContext<'a> {
    endpoint: String,
    root: &'a str,
    buckets: Vec<SetupBucket<'a>>,
    users: Vec<SetupUser>,
}

#[derive(Serialize)]
struct SetupBucket<'a> {
    name: &'a str,
    public_read: bool,
}

/// A MinIO user of the environment, its policy named after it.
#[derive(Serialize)]
struct SetupUser {
    name: String,
    /// Where its `access-key` and `secret-key` are mounted.
    secrets: String,
    /// The IAM policy document (JSON).
    policy: String,
}

/// Where the setup Job mounts MinIO's root credentials and each user's secret.
const MINIO_SECRETS: &str = "/run/secrets/minio";

/// An IAM policy: read and write the objects under `prefix` of `bucket`, list only there.
fn bucket_policy(bucket: &str, prefix: Option<&str>) -> String {
    let (objects, list) = match prefix {
        Some(p) => (
            format!("arn:aws:s3:::{bucket}/{p}/*"),
            serde_json::json!({
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": [format!("arn:aws:s3:::{bucket}")],
                "Condition": {"StringLike": {"s3:prefix": [format!("{p}/*")]}},
            }),
        ),
        None => (
            format!("arn:aws:s3:::{bucket}/*"),
            serde_json::json!({
                "Effect": "Allow",
                "Action": ["s3:ListBucket", "s3:ListBucketMultipartUploads"],
                "Resource": [format!("arn:aws:s3:::{bucket}")],
            }),
        ),
    };
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:GetBucketLocation"],
                "Resource": [format!("arn:aws:s3:::{bucket}")],
            },
            list,
            {
                "Effect": "Allow",
                "Action": [
                    "s3:GetObject",
                    "s3:PutObject",
                    "s3:DeleteObject",
                    "s3:AbortMultipartUpload",
                    "s3:ListMultipartUploadParts",
                ],
                "Resource": [objects],
            },
        ],
    })
    .to_string()
}

/// The MinIO users of an environment and what each may touch: every service with a
/// bucket its own bucket, and where backups run, the backups user its environment's
/// folder of the backup bucket. Nobody but MinIO and the setup Job holds MinIO root.
pub fn users(catalog: &Catalog, env: &EnvironmentFile) -> Vec<(String, String)> {
    let mut users: Vec<(String, String)> = catalog
        .services()
        .filter_map(|view| {
            let bucket = view.bucket?;
            Some((
                view.service.name.to_string(),
                bucket_policy(bucket.name.as_str(), None),
            ))
        })
        .collect();
    if env.storage.backup.is_some() {
        users.push((
            BACKUP_APP.to_owned(),
            bucket_policy(
                catalog.mysql.backup.bucket.as_str(),
                Some(env.name.as_str()),
            ),
        ));
    }
    users
}

/// The setup Job of an environment's MinIO: buckets with the catalog's policies (private
/// stays private), then one user per consumer with its policy. Every credential is read
/// from a mounted secret and handed to `mc` on its standard input, never in argv.
/// An ArgoCD sync hook, so that a changed script replaces the (immutable) Job.
pub fn setup_job(
    catalog: &Catalog,
    env: &EnvironmentFile,
    templates: &Templates,
) -> Result<Object> {
    let m = &catalog.minio;
    let users = users(catalog, env);
    let root = format!("{MINIO_SECRETS}/root");
    let script = templates.text(
        "minio/setup-buckets.sh.j2",
        &SetupContext {
            endpoint: format!("http://{MINIO}:{}", m.api_port.get()),
            root: &root,
            buckets: m
                .buckets
                .iter()
                .map(|b| SetupBucket {
                    name: b.name.as_str(),
                    public_read: b.policy == BucketPolicy::PublicRead,
                })
                .collect(),
            users: users
                .iter()
                .map(|(name, policy)| SetupUser {
                    name: name.clone(),
                    secrets: format!("{MINIO_SECRETS}/{name}"),
                    policy: policy.clone(),
                })
                .collect(),
        },
    )?;
    let l = data_labels(catalog, MINIO_SETUP, "object-storage");
    let mut mounts = vec![
        pod::mount("tmp", "/tmp", false),
        pod::mount("root", &root, true),
    ];
    let mut volumes = vec![
        pod::empty_dir("tmp"),
        pod::secret_volume("root", MINIO_SECRET),
    ];
    for (name, _) in &users {
        let volume = format!("user-{name}");
        mounts.push(pod::mount(
            &volume,
            &format!("{MINIO_SECRETS}/{name}"),
            true,
        ));
        volumes.push(pod::secret_volume(&volume, &minio_user_secret(name)));
    }
    let container = Container {
        command: Some(vec!["/bin/sh".into(), "-c".into(), script]),
        env: Some(vec![pod::env("MC_CONFIG_DIR", "/tmp/.mc")]),
        resources: Some(pod::resources(&m.resources)),
        volume_mounts: Some(mounts),
        ..pod::container("mc", &m.client_image, m.run_as_user)
    };
    let mut metadata = meta(MINIO_SETUP, &l);
    let mut annotations = pod::exceptions(&[pod::TAG_PINNED]);
    annotations.extend(labels([
        ("argocd.argoproj.io/hook", "Sync"),
        (
            "argocd.argoproj.io/hook-delete-policy",
            "BeforeHookCreation",
        ),
    ]));
    metadata.annotations = Some(annotations);
    Ok(object(&Job {
        metadata,
        spec: Some(JobSpec {
            backoff_limit: Some(6),
            template: pod::template(
                &l,
                PodSpec {
                    restart_policy: Some("OnFailure".into()),
                    ..pod::spec(m.run_as_user, vec![container], volumes)
                },
            ),
            ..Default::default()
        }),
        ..Default::default()
    }))
}
