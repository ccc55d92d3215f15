//! Model stage: descriptors loaded from disk, checked across fields and files, and
//! resolved into the views the object constructors need.

use crate::descriptor::{
    self, Catalog, EnvironmentFile, Layer, Layout, MinioMode, MysqlMode, PodSecurity, RedisMode,
    ResourceList, Resources,
};
use crate::error::{Error, Result};
use crate::scalar::Name;
use crate::schema::Descriptor;
use crate::source::{KeyPath, Pos, Source, closest};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

mod resilience;

/// The descriptor folder under the project root.
pub const DESCRIPTOR_DIR: &str = "environments";
/// The catalog file inside it; every other `*.yaml` there is an environment.
pub const CATALOG_FILE: &str = "platform.yaml";

/// Every descriptor of a project, validated.
#[derive(Debug, Clone)]
pub struct Project {
    pub root: PathBuf,
    pub catalog: Catalog,
    /// Environments sorted by name.
    pub environments: Vec<EnvironmentFile>,
    /// The cluster the shared components are rendered for (`None`: ArgoCD's own, with
    /// every environment); a scoped project ([`Project::scoped`]) holds only that
    /// cluster's environments.
    pub scope: Option<Scope>,
}

/// What a project scoped to one cluster still knows of the others.
#[derive(Debug, Clone)]
pub struct Scope {
    pub cluster: String,
    /// The clusters that host an environment of the whole project.
    pub hosts: BTreeSet<String>,
}

/// ArgoCD's name of its own cluster, when the catalog gives it none.
pub const IN_CLUSTER: &str = "in-cluster";

/// A cluster the project deploys to: a catalog entry, or ArgoCD's own when the catalog
/// does not name it.
#[derive(Debug, Clone, Copy)]
pub struct Site<'a> {
    pub name: &'a str,
    pub server: &'a str,
    pub spec: Option<&'a descriptor::Cluster>,
    /// ArgoCD's own cluster (the management cluster): it needs no registration, runs
    /// ArgoCD and Grafana, and its shared components stay in `manifests/<component>`.
    pub management: bool,
}

/// A service with its references resolved.
#[derive(Debug, Clone, Copy)]
pub struct ServiceView<'a> {
    pub service: &'a descriptor::Service,
    pub database: Option<DatabaseView<'a>>,
    pub bucket: Option<&'a descriptor::Bucket>,
}

/// A database and the names of its objects.
#[derive(Debug, Clone, Copy)]
pub struct DatabaseView<'a> {
    pub database: &'a descriptor::Database,
    pub owner: &'a descriptor::Service,
}

impl DatabaseView<'_> {
    /// `auth_db` -> `auth`: the prefix of the secret, PVC and init ConfigMap.
    pub fn prefix(&self) -> String {
        database_prefix(&self.database.name)
    }
    pub fn deployment(&self) -> String {
        format!("{}-mysql", self.owner.name)
    }
    pub fn secret(&self) -> String {
        format!("{}-mysql-secret", self.prefix())
    }
    pub fn pvc(&self) -> String {
        format!("{}-mysql-pvc", self.prefix())
    }
    pub fn init_config_map(&self) -> String {
        format!("{}-mysql-init", self.prefix())
    }
}

fn database_prefix(name: &str) -> String {
    name.strip_suffix("_db").unwrap_or(name).replace('_', "-")
}

impl Project {
    /// Reads and validates every descriptor under `root/environments`.
    pub fn load(root: &Path) -> Result<Project> {
        let dir = root.join(DESCRIPTOR_DIR);
        let mut problems = Vec::new();
        let catalog = read_source(root, &dir.join(CATALOG_FILE), &mut problems)?;
        let mut environments = Vec::new();
        for path in environment_files(root, &dir, &mut problems)? {
            environments.extend(read_source(root, &path, &mut problems)?);
        }
        let loaded = match catalog {
            Some(catalog) => Project::from_sources(root, &catalog, &environments),
            None => Err(Error::Descriptors(Vec::new())),
        };
        match loaded {
            Ok(project) if problems.is_empty() => Ok(project),
            Ok(_) => Err(Error::Descriptors(problems)),
            Err(Error::Descriptors(more)) => {
                problems.extend(more);
                Err(Error::Descriptors(problems))
            }
            Err(other) => Err(other),
        }
    }

    /// Parses and validates descriptors already read: the catalog and the environment files.
    pub fn from_sources(
        root: &Path,
        catalog_source: &Source,
        sources: &[Source],
    ) -> Result<Project> {
        let mut problems = Vec::new();
        let catalog = parse::<Catalog>(catalog_source, Descriptor::Catalog, &mut problems);
        let mut environments = Vec::new();
        for source in sources {
            if let Some(env) =
                parse::<EnvironmentFile>(source, Descriptor::Environment, &mut problems)
            {
                environments.push((source, env));
            }
        }
        let Some(catalog) = catalog else {
            return Err(Error::Descriptors(problems));
        };
        check_catalog(catalog_source, &catalog, &mut problems);
        check_dashboards(root, catalog_source, &catalog, &mut problems);
        check_clusters(catalog_source, &catalog, &environments, &mut problems);
        let sites = sites(&catalog);
        let mut namespaces = BTreeMap::new();
        for (source, env) in &environments {
            check_environment(source, &catalog, env, &mut problems);
            // Namespaces of different clusters are different namespaces.
            let cluster = env.cluster.as_ref().map_or(sites[0].name, |c| c.as_str());
            let key = (cluster, env.namespace.clone());
            if let Some(other) = namespaces.insert(key, env.name.clone()) {
                // Located only on a conflict: locating indexes the file's positions.
                let here = source.locate(&KeyPath::root().key("namespace"));
                let on = if catalog.clusters.is_empty() {
                    String::new()
                } else {
                    format!(" on cluster `{cluster}`")
                };
                problems.push(source.render(
                    here,
                    &format!(
                        "namespace `{}` is already used by environment `{other}`{on}",
                        env.namespace
                    ),
                    Some("one namespace per environment on a cluster"),
                    None,
                ));
            }
        }
        if !problems.is_empty() {
            return Err(Error::Descriptors(problems));
        }
        let mut environments: Vec<_> = environments.into_iter().map(|(_, e)| e).collect();
        environments.sort_by(|a, b| a.name.cmp(&b.name));
        let mut catalog = catalog;
        // The MySQL Operator is bootstrapped only for the environments that need it.
        if !environments
            .iter()
            .any(|e| e.data_layer.mysql.mode == MysqlMode::InnodbCluster)
        {
            catalog.components.argocd.charts.mysql_operator = None;
        }
        Ok(Project {
            root: root.to_owned(),
            catalog,
            environments,
            scope: None,
        })
    }

    pub fn environment(&self, name: &str) -> Option<&EnvironmentFile> {
        self.environments.iter().find(|e| e.name.as_str() == name)
    }

    /// Every cluster, ArgoCD's own first, then the catalog's others in their order.
    pub fn clusters(&self) -> Vec<Site<'_>> {
        sites(&self.catalog)
    }

    /// ArgoCD's own cluster.
    pub fn management(&self) -> Site<'_> {
        self.clusters()[0]
    }

    /// The cluster an environment runs on (its `cluster`, validated at load).
    pub fn cluster_of(&self, env: &EnvironmentFile) -> Site<'_> {
        let sites = self.clusters();
        match &env.cluster {
            Some(name) => *sites
                .iter()
                .find(|s| s.name == name.as_str())
                .expect("validated"),
            None => sites[0],
        }
    }

    /// The cluster the shared components are rendered for.
    pub fn site(&self) -> Site<'_> {
        let sites = self.clusters();
        match &self.scope {
            Some(scope) => *sites
                .iter()
                .find(|s| s.name == scope.cluster)
                .expect("a cluster"),
            None => sites[0],
        }
    }

    /// The clusters that host an environment.
    fn hosts(&self) -> BTreeSet<String> {
        match &self.scope {
            Some(scope) => scope.hosts.clone(),
            None => (self.environments.iter())
                .map(|e| self.cluster_of(e).name.to_owned())
                .collect(),
        }
    }

    /// The clusters besides ArgoCD's own that host an environment: each gets the
    /// operators and the shared components of its own.
    pub fn remote_sites(&self) -> Vec<Site<'_>> {
        let hosts = self.hosts();
        let mut sites = self.clusters();
        sites.retain(|s| !s.management && hosts.contains(s.name));
        sites
    }

    /// The project as the shared components of `cluster` see it: only the environments
    /// that run there.
    pub fn scoped(&self, cluster: &str) -> Project {
        let environments = self
            .environments
            .iter()
            .filter(|e| self.cluster_of(e).name == cluster)
            .cloned()
            .collect();
        Project {
            root: self.root.clone(),
            catalog: self.catalog.clone(),
            environments,
            scope: Some(Scope {
                cluster: cluster.to_owned(),
                hosts: self.hosts(),
            }),
        }
    }
}

/// The clusters of a catalog, ArgoCD's own (the entry with its server, else the implicit
/// `in-cluster`) first.
fn sites<'a>(catalog: &'a Catalog) -> Vec<Site<'a>> {
    let own = catalog.components.argocd.server.as_str();
    let site = |spec: &'a descriptor::Cluster| Site {
        name: spec.name.as_str(),
        server: spec.server.as_str(),
        spec: Some(spec),
        management: spec.server == own,
    };
    let mut all: Vec<Site> = catalog.clusters.iter().map(site).collect();
    match all.iter().position(|s| s.management) {
        Some(i) => {
            let management = all.remove(i);
            all.insert(0, management);
        }
        None => all.insert(
            0,
            Site {
                name: IN_CLUSTER,
                server: own,
                spec: None,
                management: true,
            },
        ),
    }
    all
}

impl Catalog {
    /// Enabled services in catalog order, references resolved (validated at load).
    pub fn services(&self) -> impl Iterator<Item = ServiceView<'_>> {
        // Lookups by name through maps built once per call: linear in the catalog.
        let databases: HashMap<&str, &descriptor::Database> = self
            .databases
            .iter()
            .map(|d| (d.name.as_str(), d))
            .collect();
        let buckets: HashMap<&str, &descriptor::Bucket> = self
            .minio
            .buckets
            .iter()
            .map(|b| (b.name.as_str(), b))
            .collect();
        self.services
            .iter()
            .filter(|s| s.enabled)
            .map(move |service| ServiceView {
                service,
                database: service.database.as_deref().map(|name| DatabaseView {
                    database: databases.get(name).expect("validated"),
                    owner: service,
                }),
                bucket: service
                    .bucket
                    .as_deref()
                    .map(|b| *buckets.get(b).expect("validated")),
            })
    }

    pub fn databases(&self) -> impl Iterator<Item = DatabaseView<'_>> {
        self.services().filter_map(|s| s.database)
    }

    /// The one enabled service of the gateway layer (validated at load).
    pub fn gateway(&self) -> &descriptor::Service {
        self.services
            .iter()
            .find(|s| s.enabled && s.layer == Layer::Gateway)
            .expect("validated")
    }

    /// `<registry>/<workload>`: the image name the overlays retag.
    pub fn image_name(&self, workload: &Name) -> String {
        format!("{}/{}", self.platform.registry, workload)
    }
}

/// A descriptor's text; `None` (and a located problem) when it is not UTF-8.
fn read_source(root: &Path, path: &Path, problems: &mut Vec<String>) -> Result<Option<Source>> {
    let bytes = std::fs::read(path).map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })?;
    let display = path
        .strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string();
    match String::from_utf8(bytes) {
        Ok(text) => Ok(Some(Source::new(display, text))),
        Err(err) => {
            let (source, problem) =
                crate::syntax::encoding(&display, err.as_bytes(), &err.utf8_error());
            problems.push(problem.render(&source));
            Ok(None)
        }
    }
}

/// `*.yaml` files of the descriptor folder except the catalog, sorted. A `*.yml` file is
/// a problem: it would look like an environment and silently not be one.
fn environment_files(root: &Path, dir: &Path, problems: &mut Vec<String>) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|source| Error::Read {
        path: dir.to_owned(),
        source,
    })?;
    let mut files = Vec::new();
    let mut misnamed = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|source| Error::Read {
                path: dir.to_owned(),
                source,
            })?
            .path();
        match path.extension().and_then(|e| e.to_str()) {
            Some("yaml") if path.file_name().is_some_and(|n| n != CATALOG_FILE) => files.push(path),
            Some("yml") => misnamed.push(path),
            _ => {}
        }
    }
    files.sort();
    misnamed.sort();
    for path in misnamed {
        let display = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .display()
            .to_string();
        let text = std::fs::read(&path).unwrap_or_default();
        let source = Source::new(display, String::from_utf8_lossy(&text).into_owned());
        let renamed = path.with_extension("yaml");
        let renamed = renamed.file_name().expect("named").to_string_lossy();
        problems.push(source.render(
            Pos::START,
            "a descriptor ending in `.yml` is not read: descriptors end in `.yaml`",
            Some(&format!("`{renamed}` (rename the file)")),
            None,
        ));
    }
    Ok(files)
}

/// The descriptor of type `T` in `source`, or every problem of its text and shape
/// (`syntax`, `shape`) in `problems`.
fn parse<T: serde::de::DeserializeOwned>(
    source: &Source,
    kind: crate::schema::Descriptor,
    problems: &mut Vec<String>,
) -> Option<T> {
    // Most files are small and anchor no value: the quick reader (or else serde_yaml)
    // reads them first, and the text is walked for what serde would not report only
    // when serde fails.
    if crate::syntax::beyond_serde_impossible(source)
        && let Some(value) = (crate::yaml::from_str(source.text()))
            .or_else(|| serde_yaml::from_str(source.text()).ok())
    {
        return Some(value);
    }
    let before = problems.len();
    problems.extend(
        crate::syntax::problems(source)
            .iter()
            .map(|p| p.render(source)),
    );
    if problems.len() > before {
        return None;
    }
    match serde_yaml::from_str(source.text()) {
        Ok(value) => Some(value),
        Err(err) => {
            let schema = crate::schema::of(kind);
            problems.extend(crate::shape::problems(source, &err, &schema));
            None
        }
    }
}

/// Collects the problems of one file, each located by its key path.
struct Checker<'a> {
    source: &'a Source,
    problems: &'a mut Vec<String>,
}

impl Checker<'_> {
    fn report(&mut self, path: &KeyPath, message: String, expected: &str, help: Option<String>) {
        let pos = self.source.locate(path);
        self.report_at(pos, path, message, expected, help);
    }

    fn report_at(
        &mut self,
        pos: Pos,
        path: &KeyPath,
        message: String,
        expected: &str,
        help: Option<String>,
    ) {
        let message = format!("{message} (at `{path}`)");
        self.problems.push(
            self.source
                .render(pos, &message, Some(expected), help.as_deref()),
        );
    }

    /// Reports a name that does not resolve, with the closest candidate as a hint; a name
    /// used as a map key is pointed at as a key.
    fn unresolved<'c>(
        &mut self,
        path: &KeyPath,
        is_key: bool,
        what: &str,
        name: &str,
        candidates: impl IntoIterator<Item = &'c str> + Clone,
    ) {
        let help = closest(name, candidates.clone()).map(|c| format!("did you mean `{c}`?"));
        let listed: Vec<&str> = candidates.into_iter().collect();
        let pos = if is_key {
            self.source.locate_key(path)
        } else {
            self.source.locate(path)
        };
        self.report_at(
            pos,
            path,
            format!("{what} `{name}` is not defined"),
            &format!("one of: {}", listed.join(", ")),
            help,
        );
    }

    fn unique<'n>(&mut self, what: &str, names: impl IntoIterator<Item = (KeyPath, &'n str)>) {
        let mut seen = BTreeSet::new();
        for (path, name) in names {
            if !seen.insert(name) {
                self.report(
                    &path,
                    format!("duplicate {what} `{name}`"),
                    &format!("each {what} defined once"),
                    None,
                );
            }
        }
    }

    fn resources(&mut self, path: &KeyPath, resources: &Resources) {
        self.at_most(
            &path.key("requests"),
            &resources.requests,
            &path.key("limits"),
            &resources.limits,
        );
    }

    /// `low` <= `high` for cpu and memory.
    fn at_most(
        &mut self,
        low_path: &KeyPath,
        low: &ResourceList,
        high_path: &KeyPath,
        high: &ResourceList,
    ) {
        for (key, l, h) in [
            ("cpu", &low.cpu, &high.cpu),
            ("memory", &low.memory, &high.memory),
        ] {
            if l.value() > h.value() {
                self.report(
                    &low_path.key(key),
                    format!("{key} {l} is above {} {h}", high_path.key(key)),
                    &format!("at most {h}"),
                    None,
                );
            }
        }
    }
}

/// Each dashboard of the catalog names its template, a file of the project.
fn check_dashboards(root: &Path, source: &Source, catalog: &Catalog, problems: &mut Vec<String>) {
    let folder = crate::components::monitoring::DASHBOARD_TEMPLATES;
    let dir = root.join(crate::template::TEMPLATE_DIR).join(folder);
    let mut available: Vec<String> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let stem = name.strip_suffix(".json.j2")?;
            (!stem.starts_with('_')).then(|| stem.to_owned())
        })
        .collect();
    available.sort();
    let mut c = Checker { source, problems };
    let dashboards = KeyPath::root()
        .key("components")
        .key("monitoring")
        .key("dashboards");
    for (i, dashboard) in catalog.components.monitoring.dashboards.iter().enumerate() {
        let name = dashboard.name.as_str();
        if !available.iter().any(|a| a == name) {
            c.unresolved(
                &dashboards.index(i).key("name"),
                false,
                &format!("dashboard template ({folder}/<name>.json.j2)"),
                name,
                available.iter().map(String::as_str),
            );
        }
    }
}

fn check_catalog(source: &Source, catalog: &Catalog, problems: &mut Vec<String>) {
    let mut c = Checker { source, problems };
    let root = KeyPath::root();
    let services = root.key("services");
    c.unique(
        "service",
        catalog
            .services
            .iter()
            .enumerate()
            .map(|(i, s)| (services.index(i).key("name"), s.name.as_str())),
    );
    let databases = root.key("databases");
    c.unique(
        "database",
        catalog
            .databases
            .iter()
            .enumerate()
            .map(|(i, d)| (databases.index(i).key("name"), d.name.as_str())),
    );
    for (i, db) in catalog.databases.iter().enumerate() {
        let path = databases.index(i).key("name");
        let ident_ok = !db.name.is_empty()
            && db.name.len() <= 64
            && db
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        let prefix = database_prefix(&db.name);
        if !ident_ok || Name::parse(&format!("{prefix}-mysql-secret")).is_err() {
            c.report(
                &path,
                format!("`{}` is not a usable database name", db.name),
                "lower-case letters, digits and '_' (such as `auth_db`), short enough that \
                 `<name>-mysql-secret` is a DNS label",
                None,
            );
        }
    }
    let buckets = root.key("minio").key("buckets");
    c.unique(
        "bucket",
        catalog
            .minio
            .buckets
            .iter()
            .enumerate()
            .map(|(i, b)| (buckets.index(i).key("name"), b.name.as_str())),
    );
    let roles = root.key("security").key("roles");
    c.unique(
        "role",
        catalog
            .security
            .roles
            .iter()
            .enumerate()
            .map(|(i, r)| (roles.index(i).key("name"), r.name.as_str())),
    );

    let mut owners: BTreeMap<&str, &str> = BTreeMap::new();
    let database_names: std::collections::HashSet<&str> =
        catalog.databases.iter().map(|d| d.name.as_str()).collect();
    for (i, service) in catalog.services.iter().enumerate() {
        let path = services.index(i);
        if let Some(db) = &service.database {
            if !database_names.contains(db.as_str()) {
                let names = catalog.databases.iter().map(|d| d.name.as_str());
                c.unresolved(&path.key("database"), false, "database", db, names);
            } else if let Some(other) = owners.insert(db, service.name.as_str()) {
                c.report(
                    &path.key("database"),
                    format!("database `{db}` is already owned by `{other}`"),
                    "one database per service (database-per-service)",
                    None,
                );
            }
        }
        if let Some(bucket) = &service.bucket {
            let names = catalog.minio.buckets.iter().map(|b| b.name.as_str());
            if !names.clone().any(|n| n == bucket) {
                c.unresolved(&path.key("bucket"), false, "bucket", bucket, names);
            }
        }
        if Name::parse(&format!("{}-mysql", service.name)).is_err() {
            c.report(
                &path.key("name"),
                format!("service name `{}` is too long", service.name),
                "at most 57 characters, so that `<name>-mysql` is a DNS label",
                None,
            );
        }
    }
    for (i, db) in catalog.databases.iter().enumerate() {
        if !owners.contains_key(db.name.as_str()) {
            c.report(
                &databases.index(i).key("name"),
                format!("database `{}` is not used by any service", db.name),
                "every database owned by one service",
                None,
            );
        }
    }
    // Two charts install into namespaces the rest of the catalog names.
    let argocd = &catalog.components.argocd;
    let charts = root.key("components").key("argocd").key("charts");
    let shared = [
        (
            "argoCd",
            &argocd.charts.argo_cd,
            "components.argocd.namespace",
            argocd.namespace.as_str(),
        ),
        (
            "traefik",
            &argocd.charts.traefik,
            "security.ingressNamespace",
            catalog.security.ingress_namespace.as_str(),
        ),
    ];
    for (key, chart, other, expected) in shared {
        if chart.namespace() != expected {
            c.report(
                &charts.key(key).key("namespace"),
                format!("the {key} chart installs into `{}`", chart.namespace()),
                &format!("`{expected}`, the namespace {other} names"),
                None,
            );
        }
    }
    let config = root.key("workloads").key("config");
    for key in catalog.workloads.config.keys() {
        generated_key(&mut c, &config, key);
    }
    let proxies = root.key("ingress").key("trustedProxies");
    for (i, cidr) in catalog.ingress.trusted_proxies.iter().enumerate() {
        if !is_cidr(cidr) {
            c.report(
                &proxies.index(i),
                format!("`{cidr}` is not an address range"),
                "a CIDR such as 10.0.0.0/8 or 2001:db8::/32",
                None,
            );
        }
    }
    for (key, chart) in argocd.charts.all() {
        let at = charts.key(key);
        if chart.chart.is_some() == chart.path.is_some() {
            let count = if chart.path.is_some() {
                "both"
            } else {
                "neither"
            };
            c.report(
                &at,
                format!("the {key} operator has {count} `chart` and `path`"),
                "exactly one source: `chart` (a Helm chart) or `path` (a kustomize folder of a Git repository)",
                None,
            );
        }
        for (field, set) in [
            ("images", !chart.images.is_empty()),
            ("patches", !chart.patches.is_empty()),
        ] {
            if chart.path.is_none() && set {
                c.report(
                    &at.key(field),
                    format!("the {key} chart has kustomize `{field}`"),
                    "kustomize settings only with `path`; a Helm chart takes `values`",
                    None,
                );
            }
        }
        check_apis(&mut c, &at.key("apis"), &chart.apis, false);
        check_apis(&mut c, &at.key("uses"), &chart.uses, true);
    }
    let backup_bucket = &catalog.mysql.backup.bucket;
    if !catalog
        .minio
        .buckets
        .iter()
        .any(|b| &b.name == backup_bucket)
    {
        let names = catalog.minio.buckets.iter().map(|b| b.name.as_str());
        c.unresolved(
            &root.key("mysql").key("backup").key("bucket"),
            false,
            "bucket",
            backup_bucket.as_str(),
            names,
        );
    }
    let gateways = catalog
        .services
        .iter()
        .filter(|s| s.enabled && s.layer == Layer::Gateway)
        .count();
    if gateways != 1 {
        c.report(
            &services,
            format!("{gateways} enabled services of layer `gateway`"),
            "exactly one enabled gateway service: the ingress routes to it",
            None,
        );
    }
    resilience::check_catalog(&mut c, catalog);
    let data = [
        ("mysql", &catalog.mysql.resources),
        ("redis", &catalog.redis.resources),
        ("minio", &catalog.minio.resources),
    ];
    for (key, resources) in data {
        c.resources(&root.key(key).key("resources"), resources);
    }
}

/// The catalog's clusters: names and servers once each, `in-cluster` only for ArgoCD's
/// own server; every environment names a cluster of the catalog; a remote cluster that
/// hosts environments says where Grafana reads its Prometheus.
fn check_clusters(
    source: &Source,
    catalog: &Catalog,
    environments: &[(&Source, EnvironmentFile)],
    problems: &mut Vec<String>,
) {
    let sites = sites(catalog);
    let mut c = Checker { source, problems };
    let clusters = KeyPath::root().key("clusters");
    let entries = || catalog.clusters.iter().enumerate();
    c.unique(
        "cluster",
        entries().map(|(i, k)| (clusters.index(i).key("name"), k.name.as_str())),
    );
    c.unique(
        "cluster server",
        entries().map(|(i, k)| (clusters.index(i).key("server"), k.server.as_str())),
    );
    let own = catalog.components.argocd.server.as_str();
    for (i, cluster) in entries() {
        if cluster.name.as_str() == IN_CLUSTER && cluster.server != own {
            c.report(
                &clusters.index(i).key("name"),
                format!(
                    "`{IN_CLUSTER}` names ArgoCD's own cluster, not `{}`",
                    cluster.server
                ),
                &format!("another name, or server {own} (components.argocd.server)"),
                None,
            );
        }
    }
    let names: Vec<&str> = sites.iter().map(|s| s.name).collect();
    let mut hosted: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (env_source, env) in environments {
        let Some(name) = &env.cluster else {
            continue;
        };
        if names.contains(&name.as_str()) {
            hosted
                .entry(name.as_str())
                .or_default()
                .push(env.name.as_str());
        } else {
            let mut checker = Checker {
                source: env_source,
                problems: &mut *c.problems,
            };
            let at = KeyPath::root().key("cluster");
            checker.unresolved(&at, false, "cluster", name.as_str(), names.iter().copied());
        }
    }
    for (i, cluster) in entries() {
        let at = clusters.index(i);
        let hosts = hosted.get(cluster.name.as_str());
        if cluster.server != own && cluster.prometheus.is_none() && hosts.is_some() {
            c.report(
                &at,
                format!(
                    "cluster `{}` hosts {} but names no `prometheus`",
                    cluster.name,
                    hosts.map(|h| h.join(", ")).unwrap_or_default()
                ),
                "`prometheus: {host, clients}`: where and from which addresses the management \
                 cluster's Grafana reads its Prometheus",
                None,
            );
        }
        let Some(prometheus) = &cluster.prometheus else {
            continue;
        };
        let at = at.key("prometheus");
        if !is_dns_name(&prometheus.host) {
            c.report(
                &at.key("host"),
                format!("`{}` is not a host name", prometheus.host),
                "the DNS name of the cluster's `prometheus-remote` load balancer",
                None,
            );
        }
        if prometheus.clients.is_empty() {
            c.report(
                &at.key("clients"),
                "no client addresses".into(),
                "the CIDRs the management cluster's Grafana connects from",
                None,
            );
        }
        for (j, cidr) in prometheus.clients.iter().enumerate() {
            if !is_cidr(cidr) {
                c.report(
                    &at.key("clients").index(j),
                    format!("`{cidr}` is not an address range"),
                    "a CIDR such as 10.0.0.0/8 or 2001:db8::/32",
                    None,
                );
            }
        }
    }
}

/// `apis` and `uses` of an operator: API groups (`cert-manager.io`) or `group/Kind`;
/// `uses` names kinds only.
fn check_apis(c: &mut Checker, path: &KeyPath, apis: &[String], kinds_only: bool) {
    for (i, api) in apis.iter().enumerate() {
        let (group, kind) = match api.split_once('/') {
            Some((group, kind)) => (group, Some(kind)),
            None => (api.as_str(), None),
        };
        let valid_kind = kind.is_none_or(|k| !k.is_empty() && !k.contains('/'));
        if !group.contains('.') || !valid_kind || (kinds_only && kind.is_none()) {
            let expected = if kinds_only {
                "`group/Kind`, e.g. `cert-manager.io/Certificate`"
            } else {
                "an API group (`cert-manager.io`) or `group/Kind`"
            };
            c.report(&path.index(i), format!("`{api}` is no API"), expected, None);
        }
    }
}

fn check_environment(
    source: &Source,
    catalog: &Catalog,
    env: &EnvironmentFile,
    problems: &mut Vec<String>,
) {
    let mut c = Checker { source, problems };
    let root = KeyPath::root();
    let stem = Path::new(source.path())
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    if env.name.as_str() != stem {
        c.report(
            &root.key("name"),
            format!(
                "environment name `{}` does not match its file `{stem}.yaml`",
                env.name
            ),
            &format!("name: {stem}"),
            None,
        );
    }
    let reserved = [
        catalog.rabbitmq.namespace.as_str(),
        catalog.security.monitoring_namespace.as_str(),
        catalog.security.ingress_namespace.as_str(),
    ];
    if reserved.contains(&env.namespace.as_str()) {
        c.report(
            &root.key("namespace"),
            format!(
                "namespace `{}` belongs to a shared component",
                env.namespace
            ),
            "a namespace of the environment's own",
            None,
        );
    }
    if !is_dns_name(&env.host) {
        c.report(
            &root.key("host"),
            format!("`{}` is not a host name", env.host),
            "a DNS name such as www.example.com",
            None,
        );
    }
    for key in env.config.keys() {
        generated_key(&mut c, &root.key("config"), key);
    }
    for (i, key) in env.config.keys().enumerate() {
        let ok = !key.is_empty()
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b));
        if !ok {
            c.report(
                &root.key("config").key(key),
                format!("`{key}` (entry {i}) is not a ConfigMap key"),
                "letters, digits, '-', '_' and '.'",
                None,
            );
        }
    }
    let workloads: Vec<&str> = catalog
        .services
        .iter()
        .filter(|s| s.enabled)
        .map(|s| s.name.as_str())
        .collect();
    for workload in env.images.keys() {
        if !workloads.contains(&workload.as_str()) {
            c.unresolved(
                &root.key("images").key(workload),
                true,
                "workload",
                workload,
                workloads.iter().copied(),
            );
        }
    }
    if env.replicas < 1 {
        c.report(
            &root.key("replicas"),
            format!("replicas is {}", env.replicas),
            "at least 1",
            None,
        );
    }
    c.resources(&root.key("resources"), &env.resources);
    if let Some(autoscaling) = &env.autoscaling {
        let path = root.key("autoscaling");
        let mut scales = vec![(path.key("default"), autoscaling.default)];
        for (workload, scale) in &autoscaling.services {
            let at = path.key("services").key(workload);
            if !workloads.contains(&workload.as_str()) {
                c.unresolved(&at, true, "workload", workload, workloads.iter().copied());
            }
            scales.push((at, *scale));
        }
        for (at, scale) in scales {
            if scale.min < 1 {
                c.report(
                    &at.key("min"),
                    format!("min replicas is {}", scale.min),
                    "at least 1",
                    None,
                );
            }
            if scale.min > scale.max {
                c.report(
                    &at.key("min"),
                    format!(
                        "min replicas {} is above max replicas {}",
                        scale.min, scale.max
                    ),
                    "min <= max",
                    None,
                );
            }
        }
    }
    if env.storage.backup.is_some() && !env.storage.persistent {
        c.report(
            &root.key("storage").key("backup"),
            "backups need persistent storage".into(),
            "storage.persistent: true",
            None,
        );
    }
    if let Some(pitr) = env
        .storage
        .backup
        .as_ref()
        .and_then(|b| b.point_in_time.as_ref())
    {
        let at = root.key("storage").key("backup").key("pointInTime");
        // `*/N` in a cron minute field runs evenly only when N divides 60.
        if pitr.rpo_minutes == 0 || 60 % pitr.rpo_minutes != 0 {
            c.report(
                &at.key("rpoMinutes"),
                format!("RPO of {} minutes", pitr.rpo_minutes),
                "a divisor of 60 (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30 or 60)",
                None,
            );
        }
        if pitr.keep_on_server_days == 0 {
            c.report(
                &at.key("keepOnServerDays"),
                "binary logs kept 0 days".into(),
                "at least 1 day",
                None,
            );
        }
    }
    data_layer(&mut c, &root.key("dataLayer"), catalog, env);
    hydrated_parts(&mut c, &root, env);
    let quota = root.key("quota");
    c.at_most(
        &quota.key("requests"),
        &env.quota.requests,
        &quota.key("limits"),
        &env.quota.limits,
    );
    let lr = root.key("limitRange");
    c.at_most(
        &lr.key("defaultRequest"),
        &env.limit_range.default_request,
        &lr.key("default"),
        &env.limit_range.default,
    );
    c.at_most(
        &lr.key("default"),
        &env.limit_range.default,
        &lr.key("max"),
        &env.limit_range.max,
    );
    let roles: Vec<&str> = catalog
        .security
        .roles
        .iter()
        .map(|r| r.name.as_str())
        .collect();
    for (i, role) in env.access.iter().enumerate() {
        if !roles.contains(&role.as_str()) {
            c.unresolved(
                &root.key("access").index(i),
                false,
                "role",
                role,
                roles.iter().copied(),
            );
        }
    }
    resilience::check_environment(&mut c, env);
    if !env.sync.automated && (env.sync.prune || env.sync.self_heal) {
        c.report(
            &root.key("sync"),
            "prune and selfHeal act only on automated sync".into(),
            "automated: true, or prune and selfHeal false",
            None,
        );
    }
}

/// `hydratedParts` splits the final objects of a hydrated overlay: the patches layout
/// has none to split.
fn hydrated_parts(c: &mut Checker, root: &KeyPath, env: &EnvironmentFile) {
    let at = root.key("hydratedParts");
    if !(1..=crate::objects::MAX_PARTS).contains(&env.hydrated_parts) {
        c.report(
            &at,
            format!("{} parts", env.hydrated_parts),
            &format!("1 to {}", crate::objects::MAX_PARTS),
            None,
        );
    } else if env.hydrated_parts > 1 && env.layout != Layout::Hydrated {
        c.report(
            &at,
            format!(
                "{} parts of an overlay in the patches layout",
                env.hydrated_parts
            ),
            "layout: hydrated, or no hydratedParts",
            None,
        );
    }
}

/// The data layer's modes: every replicated mode keeps its state on volumes (a Redis
/// Cluster node that loses `nodes.conf` comes back a stranger to its cluster), and a
/// distributed MinIO is one erasure set of 4 to 16 drives.
fn data_layer(c: &mut Checker, at: &KeyPath, catalog: &Catalog, env: &EnvironmentFile) {
    let layer = &env.data_layer;
    if layer.mysql.mode == MysqlMode::InnodbCluster
        && catalog.components.argocd.charts.mysql_operator.is_none()
    {
        c.report(
            &at.key("mysql").key("mode"),
            "the catalog installs no MySQL Operator".into(),
            "components.argocd.charts.mysqlOperator in environments/platform.yaml",
            None,
        );
    }
    let modes = [
        ("mysql", layer.mysql.mode != MysqlMode::Deployment),
        ("minio", layer.minio.mode != MinioMode::Standalone),
        ("redis", layer.redis.mode != RedisMode::Standalone),
    ];
    for (backend, replicated) in modes {
        if replicated && !env.storage.persistent {
            c.report(
                &at.key(backend).key("mode"),
                format!(
                    "this {backend} mode keeps its data on volumes, and storage is not persistent"
                ),
                "storage.persistent: true, or the default mode",
                None,
            );
        }
    }
    if layer.mysql.mode == MysqlMode::InnodbCluster && env.pod_security == PodSecurity::Restricted {
        c.report(
            &at.key("mysql").key("mode"),
            "the MySQL Operator's servers chown their data directory in an init container \
             running as root (CHOWN, FOWNER): Pod Security `restricted` refuses them"
                .into(),
            "podSecurity: baseline with innodb-cluster, or another mode",
            None,
        );
    }
    if layer.mysql.mode == MysqlMode::InnodbCluster
        && env
            .storage
            .backup
            .as_ref()
            .is_some_and(|b| b.point_in_time.is_some())
    {
        c.report(
            &at.key("mysql").key("mode"),
            "binary-log shipping follows one server, and an InnoDB Cluster's primary moves".into(),
            "no storage.backup.pointInTime with innodb-cluster, or another mode",
            None,
        );
    }
    let nodes = at.key("minio").key("nodes");
    match (layer.minio.mode, layer.minio.nodes) {
        (MinioMode::Standalone, Some(n)) => c.report(
            &nodes,
            format!("{n} nodes for a standalone MinIO"),
            "mode: distributed, or no nodes",
            None,
        ),
        (MinioMode::Distributed, Some(n)) if !(4..=16).contains(&n) => c.report(
            &nodes,
            format!("a distributed MinIO of {n} nodes"),
            "4 to 16 nodes (one erasure set, a drive each)",
            None,
        ),
        _ => {}
    }
}

/// A `global-config` key that platgen sets itself, per service or per environment, from
/// typed settings: set here, it would be shadowed (or contradict them).
fn generated_key(c: &mut Checker, config: &KeyPath, key: &str) {
    if let Some((_, from)) = crate::objects::workloads::GENERATED_CONFIG
        .iter()
        .find(|(k, _)| *k == key)
    {
        c.report(
            &config.key(key),
            format!("`{key}` is set by platgen from {from}"),
            "no such entry here",
            None,
        );
    }
}

/// `address/prefix` with an IPv4 or IPv6 address and a prefix length that fits it.
fn is_cidr(text: &str) -> bool {
    let Some((address, prefix)) = text.split_once('/') else {
        return false;
    };
    let Ok(prefix) = prefix.parse::<u8>() else {
        return false;
    };
    match address.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => prefix <= 32,
        Ok(std::net::IpAddr::V6(_)) => prefix <= 128,
        Err(_) => false,
    }
}

fn is_dns_name(host: &str) -> bool {
    host.len() <= 253 && host.split('.').all(|label| Name::parse(label).is_ok())
}
