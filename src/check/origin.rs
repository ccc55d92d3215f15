//! Check stage, attribution: the descriptor entry behind a rendered object or field, so
//! a finding points at what to change (`environments/platform.yaml:57:5: services[1]
//! (auth-service)`). Objects are traced through their `app` label, their name and the
//! catalog's order; values an environment sets (image tags, resources, replicas, quota)
//! are traced to the environment's file.

use super::cluster::Placed;
use crate::check::value::Value;
use crate::components::argocd::{component_application_name, environment_application_name};
use crate::components::monitoring::{FLUENT_BIT, RELAY};
use crate::components::{ARGOCD, NAMES, SECURITY};
use crate::descriptor::EnvironmentFile;
use crate::error::{Error, Result};
use crate::model::{CATALOG_FILE, DESCRIPTOR_DIR, Project};
use crate::objects::data::{MINIO, MINIO_SETUP, RABBITMQ_SERVICE, REDIS};
use crate::objects::network::BACKUP_APP;
use crate::objects::security::{CIRCUIT_BREAKER, RETRY};
use crate::objects::workloads::{GLOBAL_CONFIG, MINIO_SECRET, REDIS_SECRET};
use crate::source::{KeyPath, Source};
use std::collections::BTreeMap;

/// The descriptor files, indexed for positions, and the project they describe.
pub struct Origins<'a> {
    project: &'a Project,
    catalog: Source,
    environments: BTreeMap<String, Source>,
}

/// One descriptor entry: which file, which key path, and a name to show beside it.
struct Entry<'s> {
    source: &'s Source,
    path: KeyPath,
    label: Option<String>,
}

impl Origins<'_> {
    pub fn load(project: &Project) -> Result<Origins<'_>> {
        let read = |file: &str| -> Result<Source> {
            let relative = format!("{DESCRIPTOR_DIR}/{file}");
            let path = project.root.join(&relative);
            let text =
                std::fs::read_to_string(&path).map_err(|source| Error::Read { path, source })?;
            Ok(Source::new(relative, text))
        };
        let catalog = read(CATALOG_FILE)?;
        let mut environments = BTreeMap::new();
        for env in &project.environments {
            environments.insert(env.name.to_string(), read(&format!("{}.yaml", env.name))?);
        }
        Ok(Origins {
            project,
            catalog,
            environments,
        })
    }

    /// `file:line:col: key.path (name)` of the entry behind `field` of `placed`.
    pub fn describe(&self, placed: &Placed, field: &str) -> Option<String> {
        let entry = self.entry(placed, field)?;
        let pos = entry.source.locate(&entry.path);
        let label = entry.label.map(|l| format!(" ({l})")).unwrap_or_default();
        Some(format!(
            "{}:{pos}: {}{label}",
            entry.source.path(),
            entry.path
        ))
    }

    fn catalog_entry(&self, path: KeyPath, label: Option<String>) -> Entry<'_> {
        Entry {
            source: &self.catalog,
            path,
            label,
        }
    }

    fn entry(&self, placed: &Placed, field: &str) -> Option<Entry<'_>> {
        let root = KeyPath::root();
        let (_, component) = crate::components::of_target(self.project, &placed.target);
        if component == ARGOCD {
            return self.argocd(placed, field);
        }
        let Some(env) = self.project.environment(&placed.target) else {
            // A shared component (of any cluster): its settings in the catalog.
            let component = root.key("components").key(component);
            if placed.name() == FLUENT_BIT
                && field.ends_with("readinessProbe.httpGet.path")
                && container_name(&placed.object, field) == Some(RELAY)
            {
                let path = component.key("fluentBit").key("relayReadinessPath");
                return Some(self.catalog_entry(path, None));
            }
            return Some(self.catalog_entry(component, None));
        };
        let source = self.environments.get(env.name.as_str())?;
        let env_entry = |path: KeyPath| Entry {
            source,
            path,
            label: None,
        };
        // A name is traced to the entry it is derived from (`<database>-mysql-backup`).
        if field == "metadata.name" {
            if placed.name() == env.namespace.as_str() {
                return Some(env_entry(root.key("namespace")));
            }
            if let Some(entry) = self.named(placed.name()) {
                return Some(entry);
            }
        }
        let app = app_label(&placed.object);
        let service = app.as_deref().and_then(|a| self.service(a));
        if let Some(service) = &service {
            if field.ends_with(".image") {
                return Some(image_entry(env, source, self, service));
            }
            if field.contains(".resources") {
                return Some(env_entry(root.key("resources")));
            }
            if field.starts_with("spec.replicas") {
                let key = if env.autoscaling.is_some() {
                    "autoscaling"
                } else {
                    "replicas"
                };
                return Some(env_entry(root.key(key)));
            }
        }
        let kind = placed.kind();
        let name = placed.name();
        let by_kind = match kind {
            "Namespace" => Some(env_entry(root.key(if field.is_empty() {
                "namespace"
            } else {
                "podSecurity"
            }))),
            "ResourceQuota" => Some(env_entry(quota_key(field))),
            "LimitRange" => Some(env_entry(root.key("limitRange"))),
            "RoleBinding" => Some(env_entry(root.key("access"))),
            "Ingress" => Some(env_entry(root.key("host"))),
            "PersistentVolumeClaim" => Some(env_entry(root.key("storage"))),
            "Middleware" => Some(match name {
                CIRCUIT_BREAKER => env_entry(root.key("gateway").key("circuitBreaker")),
                RETRY => env_entry(root.key("gateway").key("retry")),
                _ => self.catalog_entry(root.key("ingress"), None),
            }),
            "Policy" | "Exchange" | "Queue" | "Binding" => {
                Some(match dead_letter_key(kind, field) {
                    Ok(key) => {
                        self.catalog_entry(root.key("rabbitmq").key("deadLetters").key(key), None)
                    }
                    Err(key) => env_entry(root.key("messaging").key(key)),
                })
            }
            "HorizontalPodAutoscaler" | "PodDisruptionBudget" => {
                let scaled = app.as_deref().unwrap_or_default();
                let path = root.key("autoscaling");
                Some(match env.autoscaling.as_ref() {
                    Some(a) if a.services.contains_key(scaled) => {
                        env_entry(path.key("services").key(scaled))
                    }
                    Some(_) => env_entry(path.key("default")),
                    None => env_entry(path),
                })
            }
            "NetworkPolicy" => match name.strip_suffix("-traffic") {
                Some(workload) => self.workload(workload, env, source),
                None => Some(self.catalog_entry(root.key("security"), None)),
            },
            "ExternalSecret" => self.secret(name),
            "ConfigMap" if name == GLOBAL_CONFIG => Some(env_entry(root.key("config"))),
            _ => None,
        };
        by_kind.or_else(|| self.workload(app.as_deref()?, env, source))
    }

    /// The catalog entry a derived name comes from: the database whose prefix or owner
    /// starts `<prefix>-mysql-...` or `<owner>-mysql`, else the service whose name starts
    /// it, the longest such start winning.
    fn named(&self, name: &str) -> Option<Entry<'_>> {
        let starts = |start: &str| name == start || name.starts_with(&format!("{start}-"));
        let mut candidates: Vec<(usize, Entry<'_>)> = Vec::new();
        for db in self.project.catalog.databases() {
            for start in [format!("{}-mysql", db.prefix()), db.deployment()] {
                if starts(&start) {
                    let entry = self.database_of(db.owner.name.as_str());
                    candidates.extend(entry.map(|e| (start.len(), e)));
                }
            }
        }
        for (i, service) in self.project.catalog.services.iter().enumerate() {
            let start = service.name.as_str();
            if starts(start) {
                let path = KeyPath::root().key("services").index(i);
                let entry = self.catalog_entry(path, Some(start.to_owned()));
                candidates.push((start.len(), entry));
            }
        }
        // The longest start; the first of equals (databases before services).
        let longest = candidates.iter().map(|(l, _)| *l).max()?;
        candidates
            .into_iter()
            .find(|(l, _)| *l == longest)
            .map(|(_, entry)| entry)
    }

    /// The entry behind an object of the argocd target: an operator's chart, the waves
    /// and sync policies of the components, an environment's `sync`, the AppProjects.
    fn argocd(&self, placed: &Placed, field: &str) -> Option<Entry<'_>> {
        let catalog = &self.project.catalog;
        let settings = &catalog.components.argocd;
        let argocd = KeyPath::root().key("components").key(ARGOCD);
        // Another cluster's Applications are `<name>-<cluster>`; its registration and
        // its parent Application `cluster-<cluster>` come from its catalog entry.
        let (site, _) = crate::components::of_target(self.project, &placed.target);
        let suffix = format!("-{site}");
        let name = match placed.target.contains('/') {
            true => placed.name().strip_suffix(&suffix).unwrap_or(placed.name()),
            false => placed.name(),
        };
        let registered = catalog
            .clusters
            .iter()
            .position(|c| name == crate::components::argocd::registration_name(c.name.as_str()));
        if let Some(i) = registered {
            let path = KeyPath::root().key("clusters").index(i);
            let label = Some(catalog.clusters[i].name.to_string());
            return Some(self.catalog_entry(path, label));
        }
        let wave = field.starts_with("metadata.annotations");
        let retry = field.starts_with("spec.syncPolicy.retry");
        if placed.kind() == "AppProject" {
            let chart = settings
                .charts
                .all()
                .into_iter()
                .find(|(_, c)| c.project.as_ref().is_some_and(|p| p.as_str() == name));
            let path = match chart {
                Some((key, _)) => argocd.key("charts").key(key).key("project"),
                None if name == settings.project.as_str() => argocd.key("project"),
                None => argocd.key("operatorProject"),
            };
            return Some(self.catalog_entry(path, None));
        }
        if retry {
            return Some(self.catalog_entry(argocd.key("retry"), None));
        }
        if let Some((key, chart)) =
            (settings.charts.all().into_iter()).find(|(_, c)| c.name.as_str() == name)
        {
            let at = argocd.key("charts").key(key);
            let path = if wave {
                at.key("wave")
            } else if let Some(rest) = field.strip_prefix("spec.source.helm.valuesObject.") {
                rest.split('.').fold(at.key("values"), |p, k| p.key(k))
            } else if field.starts_with("spec.source.repoURL") {
                at.key("repository")
            } else if field.starts_with("spec.destination") {
                at.key("namespace")
            } else if field.starts_with("spec.project") && chart.project.is_none() {
                argocd.key("operatorProject")
            } else {
                at
            };
            return Some(self.catalog_entry(path, Some(chart.name.to_string())));
        }
        for component in NAMES {
            if name == component_application_name(component) {
                let path = if wave {
                    let group = if component == SECURITY {
                        "security"
                    } else {
                        "components"
                    };
                    argocd.key("waves").key(group)
                } else if field.starts_with("spec.syncPolicy") {
                    argocd.key("componentSync")
                } else {
                    argocd
                };
                return Some(self.catalog_entry(path, None));
            }
        }
        for env in &self.project.environments {
            if placed.name() == environment_application_name(catalog, env) {
                if wave {
                    return Some(self.catalog_entry(argocd.key("waves").key("environments"), None));
                }
                let source = self.environments.get(env.name.as_str())?;
                let path = if field.starts_with("spec.syncPolicy") {
                    KeyPath::root().key("sync").key("automated")
                } else {
                    KeyPath::root().key("namespace")
                };
                return Some(Entry {
                    source,
                    path,
                    label: None,
                });
            }
        }
        Some(self.catalog_entry(argocd, None))
    }

    /// `file:line:col: key.path` of a catalog entry given by its keys.
    pub fn describe_catalog(&self, keys: &[String]) -> String {
        let path = keys.iter().fold(KeyPath::root(), |p, k| p.key(k));
        let pos = self.catalog.locate(&path);
        format!("{}:{pos}: {path}", self.catalog.path())
    }

    /// Index and name of a service of the catalog.
    fn service(&self, name: &str) -> Option<(usize, String)> {
        let services = &self.project.catalog.services;
        let i = services.iter().position(|s| s.name.as_str() == name)?;
        Some((i, name.to_owned()))
    }

    /// The entry of a workload by its `app` label.
    fn workload<'s>(
        &'s self,
        app: &str,
        env: &EnvironmentFile,
        source: &'s Source,
    ) -> Option<Entry<'s>> {
        let root = KeyPath::root();
        if let Some((i, name)) = self.service(app) {
            return Some(self.catalog_entry(root.key("services").index(i), Some(name)));
        }
        if let Some(owner) = app.strip_suffix("-mysql")
            && let Some(entry) = self.database_of(owner)
        {
            return Some(entry);
        }
        let catalog_key = match app {
            REDIS => "redis",
            MINIO | MINIO_SETUP => "minio",
            RABBITMQ_SERVICE => "rabbitmq",
            BACKUP_APP => {
                let has_backup = env.storage.backup.is_some();
                let path = if has_backup {
                    root.key("storage").key("backup")
                } else {
                    root.key("storage")
                };
                return Some(Entry {
                    source,
                    path,
                    label: None,
                });
            }
            GLOBAL_CONFIG => {
                return Some(Entry {
                    source,
                    path: root.key("config"),
                    label: None,
                });
            }
            _ => return None,
        };
        Some(self.catalog_entry(root.key(catalog_key), None))
    }

    /// The database entry owned by a service.
    fn database_of(&self, owner: &str) -> Option<Entry<'_>> {
        let catalog = &self.project.catalog;
        let service = catalog.services.iter().find(|s| s.name.as_str() == owner)?;
        let database = service.database.as_deref()?;
        let j = catalog.databases.iter().position(|d| d.name == database)?;
        Some(self.catalog_entry(
            KeyPath::root().key("databases").index(j),
            Some(database.to_string()),
        ))
    }

    /// The entry behind an ExternalSecret, by the secret's name.
    fn secret(&self, name: &str) -> Option<Entry<'_>> {
        let root = KeyPath::root();
        match name {
            REDIS_SECRET => return Some(self.catalog_entry(root.key("redis"), None)),
            MINIO_SECRET => return Some(self.catalog_entry(root.key("minio"), None)),
            _ => {}
        }
        let owner = self
            .project
            .catalog
            .databases()
            .find(|db| db.secret() == name)?
            .owner;
        self.database_of(owner.name.as_str())
    }
}

/// The environment entry that sets a service's image tag: its own `images.<service>`,
/// else the environment's `tag`, else the catalog's `platform.tag`.
fn image_entry<'s>(
    env: &EnvironmentFile,
    source: &'s Source,
    origins: &'s Origins<'_>,
    (_, service): &(usize, String),
) -> Entry<'s> {
    let root = KeyPath::root();
    if env.images.contains_key(service.as_str()) {
        Entry {
            source,
            path: root.key("images").key(service),
            label: None,
        }
    } else if env.tag.is_some() {
        Entry {
            source,
            path: root.key("tag"),
            label: None,
        }
    } else {
        origins.catalog_entry(root.key("platform").key("tag"), None)
    }
}

/// The name of the container a field path of a pod template points into.
fn container_name<'o>(object: &'o Value, field: &str) -> Option<&'o str> {
    let (_, rest) = field.split_once(".containers[")?;
    let (index, _) = rest.split_once(']')?;
    let index: usize = index.parse().ok()?;
    object["spec"]["template"]["spec"]["containers"][index]["name"].as_str()
}

/// The entry behind a field of the dead-letter topology: `Ok` a key of the catalog's
/// `rabbitmq.deadLetters`, `Err` a key of the environment's `messaging`.
fn dead_letter_key(kind: &str, field: &str) -> std::result::Result<&'static str, &'static str> {
    match (kind, field) {
        ("Policy", "spec.definition.delivery-limit") => Err("deliveryLimit"),
        ("Policy", "spec.definition.message-ttl") => Err("messageTtl"),
        ("Policy", "spec.definition.dead-letter-exchange") | ("Exchange", _) => Ok("exchange"),
        ("Binding", "spec.source") => Ok("exchange"),
        ("Policy", _) => Ok("pattern"),
        _ => Ok("queue"),
    }
}

/// The quota entry behind a key of the ResourceQuota (`spec.hard[limits.cpu]` ->
/// `quota.limits.cpu`), else the whole quota.
fn quota_key(field: &str) -> KeyPath {
    let quota = KeyPath::root().key("quota");
    let key = field
        .strip_prefix("spec.hard[")
        .and_then(|k| k.strip_suffix(']'));
    match key {
        Some("pods") => quota.key("pods"),
        Some("persistentvolumeclaims") => quota.key("persistentVolumeClaims"),
        Some("requests.storage") => quota.key("storage"),
        Some(key) => match key.split_once('.') {
            Some((part @ ("requests" | "limits"), resource @ ("cpu" | "memory"))) => {
                quota.key(part).key(resource)
            }
            _ => quota,
        },
        None => quota,
    }
}

/// The `app` label of an object, or of its pod template.
fn app_label(object: &Value) -> Option<String> {
    let labels = [
        &object["metadata"]["labels"]["app"],
        &object["spec"]["template"]["metadata"]["labels"]["app"],
        &object["spec"]["selector"]["matchLabels"]["app"],
    ];
    labels
        .into_iter()
        .find_map(|l| l.as_str().map(str::to_owned))
}
