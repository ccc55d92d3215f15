//! Objects and layout stages: every object of the platform, placed in the file of the
//! kustomize tree it belongs to (base, one overlay per environment, one folder per
//! shared component).

pub mod backup;
pub mod data;
pub mod data_layer;
pub mod innodb;
pub mod messaging;
pub mod minio;
pub mod network;
pub mod overlay;
pub mod pod;
pub mod security;
pub mod workloads;

use crate::descriptor::{Catalog, EnvironmentFile, Layout};
use crate::error::Result;
use crate::model::Project;
use crate::template::Templates;
use crate::tree::{File, ImageTag, Kustomization, Order, Tree};
use std::sync::Arc;

/// Folder of the environment-neutral objects.
pub const BASE: &str = "base";

/// Folder of an environment's overlay.
pub fn overlay_dir(env: &str) -> String {
    format!("overlays/{env}")
}

/// The shared components, each a target built from `manifests/<name>`.
pub fn components() -> &'static [&'static str] {
    &crate::components::NAMES
}

pub fn component_dir(name: &str) -> String {
    format!("manifests/{name}")
}

/// The whole tree of a project.
pub fn tree(project: &Project, templates: &Templates) -> Result<Tree> {
    let catalog = &project.catalog;
    let mut kustomizations = vec![base(catalog, templates)?];
    for env in &project.environments {
        kustomizations.push(overlay(catalog, env, templates)?);
    }
    kustomizations.extend(crate::components::kustomizations(project, templates)?);
    let mut tree = Tree { kustomizations };
    for env in &project.environments {
        if env.layout == Layout::Hydrated {
            let dir = overlay_dir(env.name.as_str());
            let objects = tree.build(&dir);
            let at = (tree.kustomizations.iter())
                .position(|k| k.dir == dir)
                .expect("every environment has its overlay");
            let hydrated = hydrated(env, objects, crate::object::type_of).into_iter();
            let hydrated = hydrated.map(|(mut k, runs)| {
                for (file, run) in k.resources.iter_mut().zip(runs) {
                    file.objects = run;
                }
                k
            });
            tree.kustomizations.splice(at..=at, hydrated);
        }
    }
    Ok(tree)
}

/// The most parts a hydrated overlay is split into (`hydratedParts`).
pub const MAX_PARTS: u16 = 256;

/// The folders of a hydrated overlay's parts, in order (`overlays/<env>/part-01`, ...):
/// none when it is one kustomization.
pub fn part_dirs(env: &EnvironmentFile) -> Vec<String> {
    let parts = usize::from(env.hydrated_parts);
    if env.layout != Layout::Hydrated || parts < 2 {
        return Vec::new();
    }
    let width = parts.to_string().len().max(2);
    (1..=parts)
        .map(|i| format!("{}/part-{i:0width$}", overlay_dir(env.name.as_str())))
        .collect()
}

/// The kustomizations of `overlays/<env>/` in the hydrated layout, over `items` (the
/// environment's final objects in kustomize's order), each with the runs of items of its
/// files (aligned with its `resources`, whose objects are left empty). One part: the
/// overlay itself holds the files ([`hydrated_files`]), read in that order (`sortOptions:
/// {order: fifo}`): nothing for kustomize to patch, namespace, retag or sort. More
/// ([`part_dirs`]): each part holds a contiguous run of nearly equal length, laid out
/// the same way, and the overlay lists the parts in order: built one by one and
/// concatenated, or built together, they print the environment.
pub fn hydrated<T>(
    env: &EnvironmentFile,
    items: Vec<T>,
    type_of: impl Fn(&T) -> crate::object::Type<'_>,
) -> Vec<(Kustomization, Vec<Vec<T>>)> {
    let folder = |dir: String, items: Vec<T>| {
        let (paths, runs): (Vec<_>, Vec<_>) = hydrated_files(items, &type_of).into_iter().unzip();
        let k = Kustomization {
            dir,
            resources: paths
                .into_iter()
                .map(|p| File::new(p, Vec::new()))
                .collect(),
            order: Order::Fifo,
            ..Default::default()
        };
        (k, runs)
    };
    let dirs = part_dirs(env);
    if dirs.is_empty() {
        return vec![folder(overlay_dir(env.name.as_str()), items)];
    }
    let top = Kustomization {
        dir: overlay_dir(env.name.as_str()),
        bases: dirs.clone(),
        order: Order::Fifo,
        ..Default::default()
    };
    let mut kustomizations = vec![(top, Vec::new())];
    let (count, parts) = (items.len(), dirs.len());
    let mut items = items.into_iter();
    for (i, dir) in dirs.into_iter().enumerate() {
        // The first `count % parts` parts take one more.
        let len = count / parts + usize::from(i < count % parts);
        kustomizations.push(folder(dir, items.by_ref().take(len).collect()));
    }
    kustomizations
}

/// The files of a hydrated overlay: `items` (an environment's objects in kustomize's
/// order) cut where their type changes, one file per type named after its kind
/// (`deployment.yaml`), or after kind, version and group (`policy.v1beta1.rabbitmq.com.yaml`)
/// when two types share a kind. Read in this order, they print kustomize's order.
///
/// Why not one file: kustomize checks each object it loads from a file against every
/// object loaded before from that file, and again against every object of the build
/// when it adds the file's objects: per file, that first check is quadratic in the file's
/// objects.
pub fn hydrated_files<T>(
    items: Vec<T>,
    type_of: impl Fn(&T) -> crate::object::Type<'_>,
) -> Vec<(String, Vec<T>)> {
    let mut runs: Vec<((String, String, String), Vec<T>)> = Vec::new();
    for item in items {
        let (group, version, kind) = type_of(&item);
        match runs.last_mut() {
            Some(((g, v, k), run))
                if (g.as_str(), v.as_str(), k.as_str()) == (group, version, kind) =>
            {
                run.push(item)
            }
            _ => runs.push(((group.into(), version.into(), kind.into()), vec![item])),
        }
    }
    let shared = |kind: &str| {
        (runs.iter())
            .filter(|((_, _, k), _)| k.to_lowercase() == kind)
            .nth(1)
            .is_some()
    };
    let paths: Vec<String> = (runs.iter())
        .map(|((group, version, kind), _)| {
            let kind = kind.to_lowercase();
            match (shared(&kind), group.is_empty()) {
                (false, _) => format!("{kind}.yaml"),
                (true, true) => format!("{kind}.{version}.yaml"),
                (true, false) => format!("{kind}.{version}.{group}.yaml"),
            }
        })
        .collect();
    paths
        .into_iter()
        .zip(runs.into_iter().map(|(_, run)| run))
        .collect()
}

/// `base/`: the app namespace as the catalog describes it, with no environment's values,
/// laid out as the seed's "Kustomize Structure" names it.
fn base(catalog: &Catalog, templates: &Templates) -> Result<Kustomization> {
    let mut resources = Vec::new();
    in_order(base_files(catalog, templates), &mut |file| {
        crate::tree::push_file(&mut resources, file);
        Ok(())
    })?;
    Ok(Kustomization {
        dir: BASE.into(),
        resources,
        ..Default::default()
    })
}

/// The rendering of one resource file of a kustomization folder, run when the caller
/// needs it: in order ([`in_order`]) or side by side ([`crate::tree::accumulate`]).
pub type FileJob<'a> = crate::tree::FileJob<'a, crate::error::Error>;

/// Runs `jobs` one after the other, handing each file to `sink` as soon as it is
/// rendered (so that a caller can emit and drop it before the next one).
pub fn in_order(jobs: Vec<FileJob>, sink: &mut dyn FnMut(File) -> Result<()>) -> Result<()> {
    for job in jobs {
        if let Some(file) = job()? {
            sink(file)?;
        }
    }
    Ok(())
}

/// A resource file that is always laid out.
fn file<'a>(
    path: impl Into<String>,
    objects: impl FnOnce() -> Result<Vec<crate::object::Object>> + Send + 'a,
) -> FileJob<'a> {
    let path = path.into();
    Box::new(move || Ok(Some(File::new(path, objects()?))))
}

/// A resource file that is left out when it holds nothing.
fn unless_empty<'a>(
    path: &'a str,
    objects: impl FnOnce() -> Result<Vec<crate::object::Object>> + Send + 'a,
) -> FileJob<'a> {
    Box::new(move || {
        let objects = objects()?;
        Ok((!objects.is_empty()).then(|| File::new(path, objects)))
    })
}

/// The rendering of one run of a file's objects ([`in_runs`]).
pub type Run<'a> = Box<dyn FnOnce() -> Result<Vec<crate::object::Object>> + Send + 'a>;

/// A resource file rendered in runs of objects, one job each, that follow one another
/// in the file (left out when they hold nothing): no job holds more than its run's
/// objects, where one job would hold the whole of a large catalog's largest file.
/// Whoever lays the jobs' files out joins consecutive files of one path
/// ([`crate::tree::push_file`]).
fn in_runs<'a>(path: &'a str, runs: Vec<Run<'a>>) -> impl Iterator<Item = FileJob<'a>> {
    runs.into_iter().map(move |run| unless_empty(path, run))
}

/// The resource files of `base/`, in order.
pub fn base_files<'a>(catalog: &'a Catalog, templates: &'a Templates) -> Vec<FileJob<'a>> {
    let mut jobs = vec![
        file("namespace.yaml", || Ok(vec![data::namespace(catalog)])),
        file("configmaps/global-config.yaml", || {
            Ok(vec![data::global_config(catalog)])
        }),
        file("configmaps/mysql-init-configmap.yaml", || {
            catalog
                .databases()
                .map(|db| data::mysql_init(catalog, templates, &db))
                .collect()
        }),
        file("services/redis.yaml", || Ok(data::redis(catalog))),
        file("services/rabbitmq.yaml", || {
            Ok(vec![data::rabbitmq_alias(catalog)])
        }),
    ];
    for db in catalog.databases() {
        let path = format!("services/{}-mysql.yaml", db.prefix());
        jobs.push(file(path, move || Ok(data::mysql(catalog, &db))));
    }
    jobs.push(file("minio-deployment.yaml", || Ok(data::minio(catalog))));
    for view in catalog.services() {
        let path = format!("workloads/{}.yaml", view.service.name);
        jobs.push(file(path, move || Ok(workloads::workload(catalog, &view))));
    }
    jobs.extend(in_runs(
        "security/network-policies.yaml",
        network::policies(catalog),
    ));
    jobs.push(file("ingress/middlewares.yaml", || {
        security::middlewares(catalog, templates)
    }));
    jobs
}

/// `overlays/<env>/`: the environment's namespace, image tags, patches and own resources.
fn overlay(
    catalog: &Catalog,
    env: &EnvironmentFile,
    templates: &Templates,
) -> Result<Kustomization> {
    let mut k = overlay_kustomization(catalog, env);
    k.patches = overlay_patches(catalog, env);
    in_order(overlay_resources(catalog, env, templates), &mut |file| {
        crate::tree::push_file(&mut k.resources, file);
        Ok(())
    })?;
    Ok(k)
}

/// The kustomization of `overlays/<env>/` without its files: base, namespace, images.
pub fn overlay_kustomization(catalog: &Catalog, env: &EnvironmentFile) -> Kustomization {
    let tag = env.tag.as_ref().unwrap_or(&catalog.platform.tag);
    let images = catalog
        .services()
        .map(|s| ImageTag {
            name: catalog.image_name(&s.service.name),
            new_tag: env
                .images
                .get(s.service.name.as_str())
                .unwrap_or(tag)
                .to_string(),
        })
        .collect();
    Kustomization {
        dir: overlay_dir(env.name.as_str()),
        bases: vec![BASE.into()],
        namespace: Some(env.namespace.to_string()),
        images,
        ..Default::default()
    }
}

/// The patch files of `overlays/<env>/` (none empty).
pub fn overlay_patches(catalog: &Catalog, env: &EnvironmentFile) -> Vec<File> {
    (overlay_patch_files(catalog, env).into_iter())
        .map(|patches| patches())
        .filter(|f| !f.objects.is_empty())
        .collect()
}

/// The rendering of one patch file ([`overlay_patch_files`]).
pub type PatchFile<'a> = Box<dyn FnOnce() -> File + Send + 'a>;

/// The patch files of `overlays/<env>/` in order, each rendered when the caller needs
/// it (so that it can lay one out and drop it before the next); empty ones are left out
/// of the overlay.
pub fn overlay_patch_files<'a>(
    catalog: &'a Catalog,
    env: &'a EnvironmentFile,
) -> Vec<PatchFile<'a>> {
    let mut patches: Vec<PatchFile> = Vec::new();
    let services: Arc<[&str]> = catalog
        .services()
        .map(|s| s.service.name.as_str())
        .collect();
    let suffix = env
        .namespace
        .as_str()
        .strip_prefix(&format!("{}-", catalog.platform.name))
        .unwrap_or(env.name.as_str());
    patches.push(Box::new(move || {
        File::new(
            format!("patches/namespace-{suffix}.yaml"),
            vec![overlay::namespace_patch(catalog, env)],
        )
    }));
    patches.push(Box::new(move || {
        File::new(
            "patches/environment-config.yaml",
            vec![overlay::environment_config(env)],
        )
    }));
    let limits = services.clone();
    patches.push(Box::new(move || {
        File::new(
            "patches/resource-limits.yaml",
            limits
                .iter()
                .map(|s| overlay::resource_limits(s, env))
                .collect(),
        )
    }));
    let replicas = services.clone();
    patches.push(Box::new(move || {
        File::new(
            "patches/replica-counts.yaml",
            replicas
                .iter()
                .map(|s| overlay::replica_count(s, env))
                .collect(),
        )
    }));
    // The Deployments a replicated mode replaces are deleted, not patched.
    let replaced = data_layer::replaced(catalog, env);
    let data_layer: Arc<[_]> = overlay::data_volumes(catalog)
        .into_iter()
        .filter(|(deployment, ..)| !replaced.contains(deployment))
        .collect();
    let volumes = data_layer.clone();
    patches.push(Box::new(move || {
        File::new(
            "replicas-config.yaml",
            volumes
                .iter()
                .map(|(deployment, ..)| overlay::single_instance(deployment))
                .collect(),
        )
    }));
    if env.storage.persistent {
        patches.push(Box::new(move || {
            File::new(
                "patches/storage.yaml",
                data_layer
                    .iter()
                    .map(|(deployment, volume, claim, _)| {
                        overlay::storage_patch(deployment, volume, claim)
                    })
                    .collect(),
            )
        }));
    }
    if let Some(pitr) = env
        .storage
        .backup
        .as_ref()
        .and_then(|b| b.point_in_time.as_ref())
    {
        patches.push(Box::new(move || {
            File::new(
                "patches/binary-logs.yaml",
                catalog
                    .databases()
                    .filter(|db| !replaced.contains(&db.deployment()))
                    .map(|db| overlay::binary_logs(catalog, &db, pitr))
                    .collect(),
            )
        }));
    }
    if env.zone_spread {
        let spread = services.clone();
        patches.push(Box::new(move || {
            File::new(
                "patches/zone-spread.yaml",
                spread.iter().map(|s| overlay::zone_spread(s)).collect(),
            )
        }));
    }
    patches.push(Box::new(move || {
        File::new(
            "patches/redis-cluster-clients.yaml",
            data_layer::redis_client_patches(catalog, env),
        )
    }));
    patches.push(Box::new(move || {
        File::new(
            "patches/innodb-cluster-clients.yaml",
            innodb::client_patches(catalog, env),
        )
    }));
    for delete in data_layer::delete_patches(catalog, env) {
        patches.push(Box::new(move || delete));
    }
    patches
}

/// The resource files of `overlays/<env>/`, in order. An environment that grants no
/// role (or has no backups) gets no empty file.
pub fn overlay_resources<'a>(
    catalog: &'a Catalog,
    env: &'a EnvironmentFile,
    templates: &'a Templates,
) -> Vec<FileJob<'a>> {
    let mut jobs = vec![
        unless_empty("quota.yaml", || Ok(overlay::quota(catalog, env))),
        unless_empty("access.yaml", || Ok(security::role_bindings(catalog, env))),
        unless_empty("external-secrets.yaml", || {
            security::external_secrets(catalog, env, templates)
        }),
        unless_empty("ingress.yaml", || {
            let mut ingress = vec![security::ingress(catalog, env)];
            ingress.extend(security::gateway_middlewares(catalog, env, templates)?);
            Ok(ingress)
        }),
        unless_empty("messaging.yaml", || {
            messaging::topology(catalog, env, templates)
        }),
        unless_empty("minio-setup.yaml", || {
            Ok(vec![minio::setup_job(catalog, env, templates)?])
        }),
    ];
    if env.storage.persistent {
        jobs.push(unless_empty("persistent-volumes.yaml", || {
            // A replaced Deployment's claim is left to ArgoCD's prune protection (README,
            // "Data layer modes"): the replacing set claims its own volumes.
            let replaced = data_layer::replaced(catalog, env);
            Ok(overlay::data_volumes(catalog)
                .into_iter()
                .filter(|(deployment, ..)| !replaced.contains(deployment))
                .map(|(deployment, _, claim, size)| {
                    overlay::pvc(catalog, env, &claim, &deployment, size)
                })
                .collect())
        }));
    }
    if env.autoscaling.is_some() {
        jobs.push(unless_empty("autoscaling.yaml", || {
            Ok(catalog
                .services()
                .filter_map(|s| overlay::autoscaler(catalog, env, s.service.name.as_str()))
                .collect())
        }));
        jobs.push(unless_empty("disruption-budgets.yaml", || {
            Ok(catalog
                .services()
                .filter_map(|s| overlay::disruption_budget(catalog, env, s.service.name.as_str()))
                .collect())
        }));
    }
    jobs.push(unless_empty("data-layer.yaml", || {
        data_layer::objects(catalog, env, templates)
    }));
    jobs.extend(in_runs(
        "backups.yaml",
        backup::cron_jobs(catalog, env, templates),
    ));
    jobs
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One file per run of a type, named after its kind; kinds two types share are told
    /// apart by version and group.
    #[test]
    fn hydrated_files_cut_where_the_type_changes() {
        let types = [
            ("", "v1", "Namespace"),
            ("", "v1", "Service"),
            ("", "v1", "Service"),
            ("apps", "v1", "Deployment"),
            ("rabbitmq.com", "v1beta1", "Policy"),
            ("kyverno.io", "v1", "Policy"),
        ];
        let files = hydrated_files(types.to_vec(), |t| *t);
        let paths: Vec<(&str, usize)> = files
            .iter()
            .map(|(p, run)| (p.as_str(), run.len()))
            .collect();
        assert_eq!(
            paths,
            [
                ("namespace.yaml", 1),
                ("service.yaml", 2),
                ("deployment.yaml", 1),
                ("policy.v1beta1.rabbitmq.com.yaml", 1),
                ("policy.v1.kyverno.io.yaml", 1),
            ]
        );
    }
}
