//! Check stage, shared part: what the cluster would hold once every target is applied —
//! the objects of each target, the namespaces and their labels, and the pods each
//! workload runs — with the label-selector semantics every check needs.
//!
//! Every lookup goes through indexes built once in [`Cluster::new`] (objects by kind,
//! namespace and name; workloads by namespace and by label), so the checks stay linear
//! in the number of objects however large the catalog.

use super::value::{self, Value};
use crate::objects::network::{ACME_SOLVER_LABEL, ACME_SOLVER_PORT};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Labels of a pod, a namespace or a selector's `matchLabels`.
pub type Labels = BTreeMap<String, String>;

/// The label Kubernetes puts on every namespace, holding its name.
pub const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// One object of one target, and where it sits in that target's build.
#[derive(Debug, Clone)]
pub struct Placed {
    pub target: String,
    /// Index of the target in the project's target list (for a stable report order).
    pub target_index: usize,
    /// Index of the object in its target's build (kustomize order).
    pub position: usize,
    /// The object, held compact. Its `apiVersion`, `kind` and metadata's `name` and
    /// `namespace` are read once, into `identity`: do not change them.
    pub object: Value,
    identity: Identity,
}

/// What every check asks of every object, read once: finding a field in the tree each
/// time was a fifth of `validate`'s time.
#[derive(Debug, Clone)]
struct Identity {
    api_version: &'static str,
    /// The group part of `api_version` (`apps/v1` -> `apps`, `v1` -> ``).
    group: &'static str,
    kind: &'static str,
    namespace: &'static str,
    name: &'static str,
}

#[cfg(test)]
impl Placed {
    /// `object` as the first object of `target`, for unit tests of the checks.
    pub fn first(target: &str, object: impl Into<Value>) -> Placed {
        Placed::new(target, 0, 0, object.into())
    }
}

impl Placed {
    /// `object` of `target` at `position` in its build.
    pub fn new(target: &str, target_index: usize, position: usize, object: Value) -> Placed {
        let text = |value: &Value| value.as_str().unwrap_or_default().to_owned();
        let metadata = &object["metadata"];
        let api_version = value::intern(&text(&object["apiVersion"]));
        let identity = Identity {
            api_version,
            group: api_version.rsplit_once('/').map_or("", |(group, _)| group),
            kind: value::intern(&text(&object["kind"])),
            namespace: value::intern(&text(&metadata["namespace"])),
            name: value::intern(&text(&metadata["name"])),
        };
        Placed {
            target: target.to_owned(),
            target_index,
            position,
            object,
            identity,
        }
    }
    pub fn api_version(&self) -> &'static str {
        self.identity.api_version
    }
    pub fn kind(&self) -> &'static str {
        self.identity.kind
    }
    pub fn name(&self) -> &'static str {
        self.identity.name
    }
    pub fn namespace(&self) -> &'static str {
        self.identity.namespace
    }
    /// `group` of the `apiVersion` (`apps/v1` -> `apps`, `v1` -> ``).
    pub fn group(&self) -> &'static str {
        self.identity.group
    }
    /// `Kind/namespace/name`, or `Kind/name` for a cluster-scoped object.
    pub fn reference(&self) -> String {
        match self.namespace() {
            "" => format!("{}/{}", self.kind(), self.name()),
            ns => format!("{}/{ns}/{}", self.kind(), self.name()),
        }
    }
}

/// A port a pod declares (`containerPort`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PodPort {
    pub name: Option<String>,
    pub number: u16,
    pub protocol: String,
}

/// Where a kind keeps its pod template: JSON pointer and dotted field path.
#[derive(Debug, Clone, Copy)]
pub struct Template {
    pub pointer: &'static str,
    pub path: &'static str,
}

/// The kinds that carry a pod template, and where.
const TEMPLATES: [(&str, Template); 7] = [
    (
        "Deployment",
        Template {
            pointer: "/spec/template",
            path: "spec.template",
        },
    ),
    (
        "StatefulSet",
        Template {
            pointer: "/spec/template",
            path: "spec.template",
        },
    ),
    (
        "DaemonSet",
        Template {
            pointer: "/spec/template",
            path: "spec.template",
        },
    ),
    (
        "ReplicaSet",
        Template {
            pointer: "/spec/template",
            path: "spec.template",
        },
    ),
    (
        "Job",
        Template {
            pointer: "/spec/template",
            path: "spec.template",
        },
    ),
    (
        "CronJob",
        Template {
            pointer: "/spec/jobTemplate/spec/template",
            path: "spec.jobTemplate.spec.template",
        },
    ),
    (
        "Pod",
        Template {
            pointer: "",
            path: "",
        },
    ),
];

/// Something that runs pods: a workload with a pod template, or a custom resource whose
/// operator creates the pods (their labels and ports are the operator's conventions).
#[derive(Debug, Clone)]
pub struct Workload {
    /// Index of the object in `Cluster::objects`.
    pub object: usize,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// Where the pod template sits; `None` for operator-managed pods.
    pub template: Option<Template>,
    pub labels: Labels,
    pub ports: Vec<PodPort>,
    /// How many pods it asks for; `None` when no fixed count applies (DaemonSet, Job).
    pub replicas: Option<i64>,
}

impl Workload {
    /// The `app` label, which names the pod group, else the workload's name.
    pub fn app(&self) -> &str {
        self.labels
            .get("app")
            .map_or(self.name.as_str(), String::as_str)
    }
}

/// Where a Service port sends connections on the selected pods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetPort {
    Number(u16),
    /// A named container port of the pods.
    Name(String),
}

/// One port of a Service.
#[derive(Debug, Clone)]
pub struct ServicePort {
    pub name: Option<String>,
    pub port: u16,
    pub target: TargetPort,
}

/// A Service a target builds, or one an operator creates for a custom resource (its
/// name, selector and ports are the operator's conventions).
#[derive(Debug, Clone)]
pub struct ServiceInfo {
    /// Index of the object (the Service, or the custom resource) in `Cluster::objects`.
    pub object: usize,
    pub namespace: String,
    pub name: String,
    /// `spec.selector` (a plain label map); `None` when the Service has none
    /// (ExternalName, manual endpoints).
    pub selector: Option<Value>,
    /// The DNS name an ExternalName Service stands for.
    pub external_name: Option<String>,
    pub ports: Vec<ServicePort>,
}

/// Every object of every target, with the namespaces and workloads they make.
#[derive(Debug, Default)]
pub struct Cluster {
    pub objects: Vec<Placed>,
    /// Labels of every namespace some target creates, its name label included.
    pub namespaces: BTreeMap<String, Labels>,
    pub workloads: Vec<Workload>,
    pub services: Vec<ServiceInfo>,
    index: Index,
}

/// `(group, kind, namespace, name)` of an object.
type Identity4 = (&'static str, &'static str, &'static str, &'static str);

/// Lookups built once over the objects (indexes into `objects` and `workloads`, in
/// their order, so "the first that matches" keeps its meaning).
#[derive(Debug, Default)]
struct Index {
    /// `(group, kind, namespace)` -> its objects' list in `kinds`.
    by_kind: HashMap<(&'static str, &'static str, &'static str), usize>,
    /// The objects of each `(group, kind, namespace)`.
    kinds: Vec<Vec<usize>>,
    /// `(group, kind, namespace, name)` -> the first object of that identity.
    by_name: HashMap<Identity4, usize>,
    /// `(target index, position)` -> object.
    by_place: HashMap<(usize, usize), usize>,
    /// Object -> the workload it is.
    workload_of: HashMap<usize, usize>,
    /// Namespace -> its workloads.
    workloads_by_namespace: HashMap<String, Vec<usize>>,
    /// `(namespace, label key, label value)` -> the workloads whose pods carry it.
    workloads_by_label: HashMap<(String, String, String), Vec<usize>>,
    /// `(namespace, Secret name)` -> the ExternalSecrets that write it.
    external_secrets: HashMap<(String, String), Vec<usize>>,
    /// `(namespace, kind, name)` -> the first workload of that identity.
    workload_named: HashMap<(String, String, String), usize>,
    /// Workload -> the first HorizontalPodAutoscaler of its namespace that scales it.
    autoscaler_of: HashMap<usize, usize>,
}

impl Cluster {
    /// Indexes the objects: namespaces, workloads and the lookups of the checks.
    pub fn new(objects: Vec<Placed>) -> Cluster {
        let mut namespaces = BTreeMap::new();
        let mut workloads = Vec::new();
        let mut index = Index::default();
        let mut http01_issuers = BTreeSet::new();
        let mut services = Vec::new();
        for (i, placed) in objects.iter().enumerate() {
            if placed.group() == "cert-manager.io" && solves_http01(placed) {
                http01_issuers.insert((placed.kind(), placed.namespace(), placed.name()));
            }
            if placed.kind() == "Namespace" && placed.group().is_empty() {
                let mut labels = labels_of(&placed.object["metadata"]["labels"]);
                labels.insert(NAMESPACE_NAME_LABEL.into(), placed.name().to_owned());
                namespaces.insert(placed.name().to_owned(), labels);
            }
            let (group, kind, ns) = (placed.group(), placed.kind(), placed.namespace());
            let next = index.kinds.len();
            let list = *index.by_kind.entry((group, kind, ns)).or_insert(next);
            if list == next {
                index.kinds.push(Vec::new());
            }
            index.kinds[list].push(i);
            let key = (group, kind, ns, placed.name());
            index.by_name.entry(key).or_insert(i);
            index
                .by_place
                .insert((placed.target_index, placed.position), i);
            if (group, kind) == ("external-secrets.io", "ExternalSecret") {
                let spec = &placed.object["spec"];
                let target = spec["target"]["name"].as_str().unwrap_or(placed.name());
                let key = (ns.to_owned(), target.to_owned());
                index.external_secrets.entry(key).or_default().push(i);
            }
            if let Some(workload) = workload(i, placed) {
                let w = workloads.len();
                index.workload_of.insert(i, w);
                let ns = &workload.namespace;
                index
                    .workloads_by_namespace
                    .entry(ns.clone())
                    .or_default()
                    .push(w);
                for (k, v) in &workload.labels {
                    let key = (ns.clone(), k.clone(), v.clone());
                    index.workloads_by_label.entry(key).or_default().push(w);
                }
                let key = (ns.clone(), workload.kind.clone(), workload.name.clone());
                index.workload_named.entry(key).or_insert(w);
                workloads.push(workload);
            }
            services.extend(service_infos(i, placed));
        }
        // Solver pods need the issuers, which may come later in the objects. They are
        // the Ingress's pods in the indexes by namespace and label, not its workload.
        // So are the servers of an InnoDB Cluster: the routers are its workload.
        for (i, placed) in objects.iter().enumerate() {
            let extra =
                acme_solver(i, placed, &http01_issuers).or_else(|| innodb_servers(i, placed));
            if let Some(solver) = extra {
                let w = workloads.len();
                let ns = &solver.namespace;
                index
                    .workloads_by_namespace
                    .entry(ns.clone())
                    .or_default()
                    .push(w);
                for (k, v) in &solver.labels {
                    let key = (ns.clone(), k.clone(), v.clone());
                    index.workloads_by_label.entry(key).or_default().push(w);
                }
                workloads.push(solver);
            }
        }
        for (i, placed) in objects.iter().enumerate() {
            if (placed.group(), placed.kind()) != ("autoscaling", "HorizontalPodAutoscaler") {
                continue;
            }
            let target = &placed.object["spec"]["scaleTargetRef"];
            let (Some(kind), Some(name)) = (target["kind"].as_str(), target["name"].as_str())
            else {
                continue;
            };
            let key = (
                placed.namespace().to_owned(),
                kind.to_owned(),
                name.to_owned(),
            );
            if let Some(&w) = index.workload_named.get(&key) {
                index.autoscaler_of.entry(w).or_insert(i);
            }
        }
        Cluster {
            objects,
            namespaces,
            workloads,
            index,
            services,
        }
    }

    /// The index of an object in `objects`.
    pub fn index_of(&self, placed: &Placed) -> Option<usize> {
        let key = (placed.target_index, placed.position);
        self.index.by_place.get(&key).copied()
    }

    /// The object a finding's order `(target index, position)` names.
    pub fn at(&self, target_index: usize, position: usize) -> Option<&Placed> {
        let i = self.index.by_place.get(&(target_index, position))?;
        Some(&self.objects[*i])
    }

    /// The workload an object is, if it runs pods.
    pub fn workload_of(&self, placed: &Placed) -> Option<&Workload> {
        let i = self.index.workload_of.get(&self.index_of(placed)?)?;
        Some(&self.workloads[*i])
    }

    /// The workload of a namespace with this kind and name (a scale target).
    pub fn workload_named(&self, namespace: &str, kind: &str, name: &str) -> Option<&Workload> {
        let key = (namespace.to_owned(), kind.to_owned(), name.to_owned());
        Some(&self.workloads[*self.index.workload_named.get(&key)?])
    }

    /// The HorizontalPodAutoscaler that scales a workload (the first of its namespace).
    pub fn autoscaler_of(&self, workload: &Workload) -> Option<&Placed> {
        let w = *self.index.workload_of.get(&workload.object)?;
        Some(&self.objects[*self.index.autoscaler_of.get(&w)?])
    }

    /// The workloads of a namespace whose pods a `LabelSelector` selects, in cluster
    /// order: candidates come from the index of one of its `matchLabels`, so the cost is
    /// that of the candidates, not of the namespace.
    pub fn selected_workloads<'a>(
        &'a self,
        namespace: &str,
        selector: &'a Value,
    ) -> impl Iterator<Item = &'a Workload> {
        let candidates = self.candidates(namespace, &selector["matchLabels"]);
        candidates
            .iter()
            .map(|&w| &self.workloads[w])
            .filter(move |w| selects(selector, &w.labels))
    }

    /// The workloads of a namespace a plain label map (a Service's `selector`) selects.
    pub fn map_selected_workloads<'a>(
        &'a self,
        namespace: &str,
        selector: &'a Value,
    ) -> impl Iterator<Item = &'a Workload> {
        let candidates = self.candidates(namespace, selector);
        candidates
            .iter()
            .map(|&w| &self.workloads[w])
            .filter(move |w| map_selects(selector, &w.labels))
    }

    /// Workloads of a namespace carrying the rarest pair of `labels` (all of the
    /// namespace when `labels` is empty).
    fn candidates(&self, namespace: &str, labels: &Value) -> &[usize] {
        let all = self
            .index
            .workloads_by_namespace
            .get(namespace)
            .map_or(&[][..], Vec::as_slice);
        let Some(map) = labels.as_object().filter(|m| !m.is_empty()) else {
            return all;
        };
        map.iter()
            .map(|(k, v)| {
                let key = (
                    namespace.to_owned(),
                    k.to_owned(),
                    v.as_str().unwrap_or_default().to_owned(),
                );
                self.index
                    .workloads_by_label
                    .get(&key)
                    .map_or(&[][..], Vec::as_slice)
            })
            .min_by_key(|c| c.len())
            .unwrap_or(all)
    }

    /// Labels of a namespace: those of its Namespace object, or only its name label for
    /// a namespace no target creates (Kubernetes sets that label on every namespace).
    pub fn namespace_labels(&self, namespace: &str) -> Labels {
        self.namespaces.get(namespace).cloned().unwrap_or_else(|| {
            Labels::from([(NAMESPACE_NAME_LABEL.to_owned(), namespace.to_owned())])
        })
    }

    /// Objects of one kind (and API group) in one namespace.
    pub fn find<'a>(
        &'a self,
        group: &str,
        kind: &str,
        namespace: &str,
    ) -> impl Iterator<Item = &'a Placed> {
        // The keys are `&'static str`: a lookup with shorter-lived ones sees them so.
        let by_kind: &HashMap<(&str, &str, &str), usize> = &self.index.by_kind;
        let list = by_kind.get(&(group, kind, namespace)).copied();
        let found = list.map_or(&[][..], |list| self.index.kinds[list].as_slice());
        found.iter().map(|&i| &self.objects[i])
    }

    /// The object of one kind, namespace and name, if some target builds it.
    pub fn get(&self, group: &str, kind: &str, namespace: &str, name: &str) -> Option<&Placed> {
        let by_name: &HashMap<(&str, &str, &str, &str), usize> = &self.index.by_name;
        let i = *by_name.get(&(group, kind, namespace, name))?;
        Some(&self.objects[i])
    }

    pub fn workloads_in<'a>(&'a self, namespace: &str) -> impl Iterator<Item = &'a Workload> {
        let found = self.index.workloads_by_namespace.get(namespace);
        let found = found.map_or(&[][..], Vec::as_slice);
        found.iter().map(|&w| &self.workloads[w])
    }

    /// The pod spec of a workload that has one.
    pub fn pod_spec(&self, workload: &Workload) -> Option<&Value> {
        let template = workload.template?;
        self.objects[workload.object]
            .object
            .pointer(&format!("{}/spec", template.pointer))
    }

    /// Keys of a Secret as delivered in a namespace: by an ExternalSecret (its target
    /// name, else its own name), by the messaging topology operator for a User (its
    /// generated credentials), or by a Secret object. `None` when nothing delivers it.
    pub fn secret_keys(&self, namespace: &str, name: &str) -> Option<Keys> {
        if let Some(user) = name.strip_suffix(USER_CREDENTIALS)
            && self.get("rabbitmq.com", "User", namespace, user).is_some()
        {
            return Some(Keys::Only(
                ["username", "password"].map(str::to_owned).into(),
            ));
        }
        let key = (namespace.to_owned(), name.to_owned());
        if let Some(&es) = self
            .index
            .external_secrets
            .get(&key)
            .and_then(|e| e.first())
        {
            return Some(external_secret_keys(&self.objects[es].object["spec"]));
        }
        self.get("", "Secret", namespace, name).map(|secret| {
            let mut keys = BTreeSet::new();
            for field in ["data", "stringData"] {
                if let Some(map) = secret.object[field].as_object() {
                    keys.extend(map.keys().map(str::to_owned));
                }
            }
            Keys::Only(keys)
        })
    }

    /// Keys of a ConfigMap of a namespace; `None` when no target builds it.
    pub fn config_map_keys(&self, namespace: &str, name: &str) -> Option<Keys> {
        self.get("", "ConfigMap", namespace, name).map(|cm| {
            let mut keys = BTreeSet::new();
            for field in ["data", "binaryData"] {
                if let Some(map) = cm.object[field].as_object() {
                    keys.extend(map.keys().map(str::to_owned));
                }
            }
            Keys::Only(keys)
        })
    }
}

/// The keys a Secret or ConfigMap holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keys {
    /// Not known from the objects (an ExternalSecret's `dataFrom` fetches whole entries).
    Any,
    Only(BTreeSet<String>),
}

impl Keys {
    pub fn contains(&self, key: &str) -> bool {
        match self {
            Keys::Any => true,
            Keys::Only(keys) => keys.contains(key),
        }
    }

    pub fn list(&self) -> String {
        match self {
            Keys::Any => "any".into(),
            Keys::Only(keys) => keys
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

/// Keys of the Secret an ExternalSecret writes: its `data[].secretKey`, or its template's
/// keys when it has a template (plus the data keys when the template merges).
fn external_secret_keys(spec: &Value) -> Keys {
    if spec.get("dataFrom").is_some_and(|d| !d.is_null()) {
        return Keys::Any;
    }
    let data: BTreeSet<String> = spec["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["secretKey"].as_str().map(str::to_owned))
        .collect();
    let template = &spec["target"]["template"];
    match template["data"].as_object() {
        Some(templated) => {
            let mut keys: BTreeSet<String> = templated.keys().map(str::to_owned).collect();
            if template["mergePolicy"].as_str() == Some("Merge") {
                keys.extend(data);
            }
            Keys::Only(keys)
        }
        None => Keys::Only(data),
    }
}

/// Suffix of the Secret the messaging topology operator writes a User's credentials to,
/// in the User's namespace (`<user>-user-credentials`, keys `username` and `password`).
pub const USER_CREDENTIALS: &str = "-user-credentials";

/// Whether a cert-manager Issuer or ClusterIssuer answers ACME challenges over HTTP-01.
fn solves_http01(placed: &Placed) -> bool {
    matches!(placed.kind(), "Issuer" | "ClusterIssuer")
        && placed.object["spec"]["acme"]["solvers"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|solver| solver.get("http01").is_some())
}

/// The HTTP-01 solver pods cert-manager starts in the namespace of an Ingress whose
/// issuer (annotation `cert-manager.io/cluster-issuer` or `cert-manager.io/issuer`)
/// solves HTTP-01: the ACME server reaches them through the ingress controller. They
/// come and go with each order, so they count no replicas.
fn acme_solver(
    index: usize,
    placed: &Placed,
    http01_issuers: &BTreeSet<(&str, &str, &str)>,
) -> Option<Workload> {
    if placed.kind() != "Ingress" || placed.group() != "networking.k8s.io" {
        return None;
    }
    let annotations = &placed.object["metadata"]["annotations"];
    let namespace = placed.namespace();
    let issuer = match (
        annotations["cert-manager.io/cluster-issuer"].as_str(),
        annotations["cert-manager.io/issuer"].as_str(),
    ) {
        (Some(name), _) => ("ClusterIssuer", "", name),
        (None, Some(name)) => ("Issuer", namespace, name),
        (None, None) => return None,
    };
    if !http01_issuers.contains(&issuer) {
        return None;
    }
    let (label, value) = ACME_SOLVER_LABEL;
    Some(Workload {
        object: index,
        kind: "Pod".into(),
        namespace: namespace.to_owned(),
        name: ACME_SOLVER_POD.into(),
        template: None,
        labels: Labels::from([(label.to_owned(), value.to_owned())]),
        ports: vec![PodPort {
            name: Some("http".into()),
            number: ACME_SOLVER_PORT,
            protocol: "TCP".into(),
        }],
        replicas: None,
    })
}

/// The MySQL Operator's servers of an InnoDBCluster: its labels, the cluster's
/// `podLabels`, and the ports of MySQL, X protocol, group replication and the metrics
/// sidecar.
fn innodb_servers(index: usize, placed: &Placed) -> Option<Workload> {
    if (placed.group(), placed.kind()) != ("mysql.oracle.com", "InnoDBCluster") {
        return None;
    }
    let spec = &placed.object["spec"];
    let mut labels = Labels::from([
        ("component".to_owned(), "mysqld".to_owned()),
        ("tier".to_owned(), "mysql".to_owned()),
        (
            "mysql.oracle.com/cluster".to_owned(),
            placed.name().to_owned(),
        ),
    ]);
    labels.extend(labels_of(&spec["podLabels"]));
    let port = |name: &str, number: u16| PodPort {
        name: Some(name.to_owned()),
        number,
        protocol: "TCP".into(),
    };
    Some(Workload {
        object: index,
        kind: "Pod".into(),
        namespace: placed.namespace().to_owned(),
        name: placed.name().to_owned(),
        template: None,
        labels,
        ports: vec![
            port("mysql", 3306),
            port("mysqlx", 33060),
            port("gr-xcom", 33061),
            port("metrics", 9104),
        ],
        replicas: Some(spec["instances"].as_i64().unwrap_or(1)),
    })
}

/// The name prefix of cert-manager's HTTP-01 solver pods.
pub const ACME_SOLVER_POD: &str = "cm-acme-http-solver";

/// Where a kind keeps its pod template, if it has one.
pub fn template_of(kind: &str) -> Option<Template> {
    TEMPLATES.iter().find(|(k, _)| *k == kind).map(|(_, t)| *t)
}

/// Whether an object matters to NetworkPolicy evaluation: it runs pods, labels a
/// namespace, is a NetworkPolicy, or makes cert-manager start HTTP-01 solver pods (an
/// Ingress and its issuer). `reachability` keeps only these.
pub fn shapes_traffic(placed: &Placed) -> bool {
    matches!(
        (placed.group(), placed.kind()),
        ("", "Namespace")
            | ("networking.k8s.io", "NetworkPolicy" | "Ingress")
            | ("cert-manager.io", "Issuer" | "ClusterIssuer")
    ) || workload(0, placed).is_some()
}

fn workload(index: usize, placed: &Placed) -> Option<Workload> {
    let kind = placed.kind();
    let core_or_apps = matches!(placed.group(), "" | "apps" | "batch");
    let mut workload = Workload {
        object: index,
        kind: kind.to_owned(),
        namespace: placed.namespace().to_owned(),
        name: placed.name().to_owned(),
        template: None,
        labels: Labels::new(),
        ports: Vec::new(),
        replicas: None,
    };
    if let Some(template) = template_of(kind).filter(|_| core_or_apps) {
        let pod = placed.object.pointer(template.pointer)?;
        workload.template = Some(template);
        workload.labels = labels_of(&pod["metadata"]["labels"]);
        workload.ports = pod_ports(&pod["spec"]);
        workload.replicas = match kind {
            "Deployment" | "StatefulSet" | "ReplicaSet" => {
                Some(placed.object["spec"]["replicas"].as_i64().unwrap_or(1))
            }
            "Pod" => Some(1),
            _ => None,
        };
        return Some(workload);
    }
    let (labels, ports) = operator_pods(placed)?;
    workload.labels = labels;
    workload.ports = ports;
    workload.replicas = Some(placed.object["spec"]["replicas"].as_i64().unwrap_or(1));
    Some(workload)
}

/// Pods an operator creates for a custom resource: the labels and ports the operator
/// puts on them (RabbitMQ cluster operator, Prometheus operator, Jaeger operator).
fn operator_pods(placed: &Placed) -> Option<(Labels, Vec<PodPort>)> {
    let name = placed.name();
    let labels = |pairs: &[(&str, &str)]| -> Labels {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    let port = |name: &str, number: u16| PodPort {
        name: Some(name.to_owned()),
        number,
        protocol: "TCP".into(),
    };
    match (placed.group(), placed.kind()) {
        ("rabbitmq.com", "RabbitmqCluster") => Some((
            labels(&[
                ("app.kubernetes.io/name", name),
                ("app.kubernetes.io/component", "rabbitmq"),
                ("app.kubernetes.io/part-of", "rabbitmq"),
            ]),
            vec![
                port("epmd", 4369),
                port("amqp", 5672),
                port("management", 15672),
                port("prometheus", 15692),
            ],
        )),
        ("monitoring.coreos.com", "Prometheus") => Some((
            labels(&[
                ("app.kubernetes.io/name", "prometheus"),
                ("app.kubernetes.io/instance", name),
                ("app.kubernetes.io/managed-by", "prometheus-operator"),
                ("operator.prometheus.io/name", name),
                ("prometheus", name),
            ]),
            vec![port("web", 9090)],
        )),
        ("monitoring.coreos.com", "Alertmanager") => Some((
            labels(&[
                ("app.kubernetes.io/name", "alertmanager"),
                ("app.kubernetes.io/instance", name),
                ("app.kubernetes.io/managed-by", "prometheus-operator"),
                ("alertmanager", name),
            ]),
            vec![port("web", 9093)],
        )),
        // The MySQL Operator's routers: what clients reach through the cluster's Service
        // (its servers are behind them, on the operator's own ports).
        ("mysql.oracle.com", "InnoDBCluster") => {
            let mut pods = labels(&[
                ("component", "mysqlrouter"),
                ("tier", "mysql"),
                ("mysql.oracle.com/cluster", name),
            ]);
            pods.extend(labels_of(&placed.object["spec"]["router"]["podLabels"]));
            Some((
                pods,
                vec![
                    port("mysql-rw", 6446),
                    port("mysql-ro", 6447),
                    port("mysql-rw-split", 6450),
                ],
            ))
        }
        ("jaegertracing.io", "Jaeger") => Some((
            labels(&[
                ("app", "jaeger"),
                ("app.kubernetes.io/name", name),
                ("app.kubernetes.io/instance", name),
                ("app.kubernetes.io/component", "all-in-one"),
                ("app.kubernetes.io/part-of", "jaeger"),
                ("app.kubernetes.io/managed-by", "jaeger-operator"),
            ]),
            // The all-in-one pod: query, and the collector (OTLP on by default).
            vec![
                port("query", 16686),
                port("grpc-otlp", 4317),
                port("http-otlp", 4318),
                port("http-zipkin", 9411),
                port("grpc-http", 14250),
                port("c-tchan-trft", 14267),
                port("http-c-binary-trft", 14268),
            ],
        )),
        _ => None,
    }
}

/// The Service an object is, or the Services an operator creates for it.
fn service_infos(index: usize, placed: &Placed) -> Vec<ServiceInfo> {
    let name = placed.name();
    let namespace = placed.namespace();
    let info = |service: String, selector: Labels, ports: &[(&str, u16)]| ServiceInfo {
        object: index,
        namespace: namespace.to_owned(),
        name: service,
        selector: Some(Value::Object(
            selector
                .into_iter()
                .map(|(k, v)| (k, Value::String(value::intern(&v))))
                .collect(),
        )),
        external_name: None,
        ports: ports
            .iter()
            .map(|(port_name, number)| ServicePort {
                name: Some((*port_name).to_owned()),
                port: *number,
                target: TargetPort::Number(*number),
            })
            .collect(),
    };
    match (placed.group(), placed.kind()) {
        ("", "Service") => vec![service_info(index, placed)],
        // The cluster operator's client Service, named after the cluster.
        ("rabbitmq.com", "RabbitmqCluster") => vec![info(
            name.to_owned(),
            Labels::from([("app.kubernetes.io/name".to_owned(), name.to_owned())]),
            &[("amqp", 5672), ("management", 15672), ("prometheus", 15692)],
        )],
        // The Jaeger operator's collector and query Services, selecting the all-in-one pod.
        ("jaegertracing.io", "Jaeger") => {
            let pods = Labels::from([
                ("app.kubernetes.io/instance".to_owned(), name.to_owned()),
                (
                    "app.kubernetes.io/component".to_owned(),
                    "all-in-one".to_owned(),
                ),
            ]);
            vec![
                info(
                    format!("{name}-collector"),
                    pods.clone(),
                    &[
                        ("http-zipkin", 9411),
                        ("grpc-http", 14250),
                        ("c-tchan-trft", 14267),
                        ("http-c-binary-trft", 14268),
                        ("grpc-otlp", 4317),
                        ("http-otlp", 4318),
                    ],
                ),
                info(format!("{name}-query"), pods, &[("http-query", 16686)]),
            ]
        }
        // The MySQL Operator's router Service, named after the cluster: 3306 is the
        // router's read-write port.
        ("mysql.oracle.com", "InnoDBCluster") => {
            let routers = Labels::from([
                ("component".to_owned(), "mysqlrouter".to_owned()),
                ("tier".to_owned(), "mysql".to_owned()),
                ("mysql.oracle.com/cluster".to_owned(), name.to_owned()),
            ]);
            let mut router = info(
                name.to_owned(),
                routers,
                &[
                    ("mysql", 3306),
                    ("mysql-alternate", 6446),
                    ("mysql-ro", 6447),
                    ("mysql-rw-split", 6450),
                ],
            );
            router.ports[0].target = TargetPort::Number(6446);
            vec![router]
        }
        // The Prometheus operator's governing Services.
        ("monitoring.coreos.com", "Prometheus") => vec![info(
            "prometheus-operated".into(),
            Labels::from([("app.kubernetes.io/name".to_owned(), "prometheus".to_owned())]),
            &[("web", 9090)],
        )],
        ("monitoring.coreos.com", "Alertmanager") => vec![info(
            "alertmanager-operated".into(),
            Labels::from([(
                "app.kubernetes.io/name".to_owned(),
                "alertmanager".to_owned(),
            )]),
            &[("web", 9093)],
        )],
        _ => Vec::new(),
    }
}

/// A core Service object as the checks see it.
fn service_info(index: usize, placed: &Placed) -> ServiceInfo {
    let spec = &placed.object["spec"];
    let ports = spec["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let port = u16::try_from(p["port"].as_u64()?).ok()?;
            let target = match &p["targetPort"] {
                Value::String(name) => TargetPort::Name(name.to_string()),
                Value::Number(n) => TargetPort::Number(
                    n.as_u64()
                        .and_then(|n| u16::try_from(n).ok())
                        .unwrap_or(port),
                ),
                _ => TargetPort::Number(port),
            };
            Some(ServicePort {
                name: p["name"].as_str().map(str::to_owned),
                port,
                target,
            })
        })
        .collect();
    ServiceInfo {
        object: index,
        namespace: placed.namespace().to_owned(),
        name: placed.name().to_owned(),
        selector: spec.get("selector").cloned(),
        external_name: spec["externalName"].as_str().map(str::to_owned),
        ports,
    }
}

/// Every `containerPort` of a pod spec's containers and init containers.
fn pod_ports(spec: &Value) -> Vec<PodPort> {
    let mut ports: Vec<PodPort> = containers(spec)
        .flat_map(|(_, c)| c["ports"].as_array().into_iter().flatten())
        .filter_map(|p| {
            Some(PodPort {
                name: p["name"].as_str().map(str::to_owned),
                number: u16::try_from(p["containerPort"].as_i64()?).ok()?,
                protocol: p["protocol"].as_str().unwrap_or("TCP").to_owned(),
            })
        })
        .collect();
    ports.sort();
    ports.dedup();
    ports
}

/// Containers of a pod spec with their field path relative to the spec
/// (`containers[0]`, `initContainers[1]`, `ephemeralContainers[0]`).
pub fn containers(spec: &Value) -> impl Iterator<Item = (String, &Value)> {
    ["containers", "initContainers", "ephemeralContainers"]
        .into_iter()
        .flat_map(move |field| {
            spec[field]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
                .map(move |(i, c)| (format!("{field}[{i}]"), c))
        })
}

/// A label map from a JSON object of strings.
pub fn labels_of(value: &Value) -> Labels {
    value
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.to_owned(), v.as_str()?.to_owned())))
        .collect()
}

/// Whether a `LabelSelector` (`matchLabels` and `matchExpressions`) selects these labels.
/// An empty selector selects everything.
pub fn selects(selector: &Value, labels: &Labels) -> bool {
    if !map_selects(&selector["matchLabels"], labels) {
        return false;
    }
    selector["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|expression| {
            let key = expression["key"].as_str().unwrap_or_default();
            let values: Vec<&str> = expression["values"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let value = labels.get(key).map(String::as_str);
            match expression["operator"].as_str().unwrap_or_default() {
                "In" => value.is_some_and(|v| values.contains(&v)),
                "NotIn" => value.is_none_or(|v| !values.contains(&v)),
                "Exists" => value.is_some(),
                "DoesNotExist" => value.is_none(),
                _ => false,
            }
        })
}

/// Whether a plain label map (a Service's `selector`) selects these labels.
/// Values that are not strings are ignored, as [`labels_of`] does.
pub fn map_selects(selector: &Value, labels: &Labels) -> bool {
    let pairs = selector.as_object().into_iter().flatten();
    pairs
        .filter_map(|(k, v)| Some((k, v.as_str()?)))
        .all(|(k, v)| labels.get(k).is_some_and(|label| label == v))
}

/// A selector as text: `app=auth-service,component=database`, or `{}` for "everything".
pub fn selector_text(selector: &Value) -> String {
    let mut parts: Vec<String> = labels_of(selector.get("matchLabels").unwrap_or(selector))
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    for expression in selector["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
    {
        parts.push(format!(
            "{} {} ({})",
            expression["key"].as_str().unwrap_or_default(),
            expression["operator"].as_str().unwrap_or_default(),
            expression["values"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if parts.is_empty() {
        "{}".into()
    } else {
        parts.join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::value::json;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn selectors_follow_kubernetes_semantics() {
        let pod = labels(&[("app", "redis"), ("tier", "cache")]);
        assert!(selects(&json!({}), &pod));
        assert!(selects(&json!({"matchLabels": {"app": "redis"}}), &pod));
        assert!(!selects(&json!({"matchLabels": {"app": "minio"}}), &pod));
        let expr = |op: &str, values: &[&str]| json!({"matchExpressions": [{"key": "tier", "operator": op, "values": values}]});
        assert!(selects(&expr("In", &["cache", "db"]), &pod));
        assert!(!selects(&expr("NotIn", &["cache"]), &pod));
        assert!(selects(&expr("Exists", &[]), &pod));
        assert!(!selects(&expr("DoesNotExist", &[]), &pod));
        assert!(map_selects(&json!({"app": "redis"}), &pod));
        assert!(!map_selects(&json!({"app": "redis", "x": "y"}), &pod));
    }

    #[test]
    fn external_secret_keys_come_from_data_or_template() {
        let plain = json!({"data": [{"secretKey": "a"}, {"secretKey": "b"}]});
        assert_eq!(
            external_secret_keys(&plain),
            Keys::Only(["a".to_owned(), "b".to_owned()].into())
        );
        let from = json!({"dataFrom": [{"extract": {"key": "x"}}]});
        assert_eq!(external_secret_keys(&from), Keys::Any);
        let templated = json!({"data": [{"secretKey": "a"}],
            "target": {"template": {"data": {"dsn": "{{ .a }}"}}}});
        assert_eq!(
            external_secret_keys(&templated),
            Keys::Only(["dsn".to_owned()].into())
        );
    }
}
