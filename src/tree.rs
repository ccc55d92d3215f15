//! Layout stage: the kustomize tree as data (which file of which kustomization holds
//! each object or patch), and the build of one kustomization exactly as kustomize
//! performs it: resources, then patches, then `namespace:`, then `images:`, then sort.
//!
//! `platgen build` runs this build; `platgen write` emits the same data as files for
//! `kubectl kustomize`. Both read one `Tree`, so they agree by construction; the
//! integration tests prove it against the real kustomize.

use crate::emit::Format;
use crate::object::{self, Object};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

/// One YAML file of a kustomization: its path inside the kustomization's folder.
#[derive(Debug, Clone)]
pub struct File {
    pub path: String,
    pub objects: Vec<Object>,
}

impl File {
    pub fn new(path: impl Into<String>, objects: Vec<Object>) -> File {
        File {
            path: path.into(),
            objects,
        }
    }
}

/// `text` in a buffer of its size, when the one it was written into (grown by doubling)
/// is larger by more than an eighth: for text held until the end of a run, as every
/// document of a build is until the sort.
pub fn compact(text: String) -> String {
    if text.capacity() - text.len() > text.len() / 8 {
        text.as_str().to_owned()
    } else {
        text
    }
}

/// Adds `file` to the files of a kustomization, as the rest of the last one when it has
/// the same path (a file rendered in runs, [`crate::objects::in_runs`]).
pub fn push_file(files: &mut Vec<File>, file: File) {
    match files.last_mut() {
        Some(last) if last.path == file.path => last.objects.extend(file.objects),
        _ => files.push(file),
    }
}

/// `images:` entry: every container image named `name` gets `new_tag`.
#[derive(Debug, Clone)]
pub struct ImageTag {
    pub name: String,
    pub new_tag: String,
}

/// One kustomization folder of the tree.
#[derive(Debug, Clone, Default)]
pub struct Kustomization {
    /// Folder relative to the tree root: `base`, `overlays/production`, `manifests/monitoring`.
    pub dir: String,
    /// Other kustomizations of the tree it builds on (tree-root relative folders).
    pub bases: Vec<String>,
    pub namespace: Option<String>,
    pub resources: Vec<File>,
    /// Strategic merge patches; each document patches the object of the same kind and name.
    pub patches: Vec<File>,
    pub images: Vec<ImageTag>,
    /// The order kustomize prints the objects in when this is the kustomization built.
    pub order: Order,
}

/// The order `kubectl kustomize` prints a build in (the kustomization's `sortOptions`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Order {
    /// kustomize's default (`legacy`): [`object::sort_key`].
    #[default]
    Legacy,
    /// `sortOptions: {order: fifo}`: the order the objects were accumulated in. kustomize
    /// then skips its sort, which re-adds every object to the build with a check against
    /// every object already there (quadratic in the number of objects).
    Fifo,
}

/// The whole tree `platgen write` lays out.
#[derive(Debug, Clone, Default)]
pub struct Tree {
    pub kustomizations: Vec<Kustomization>,
}

impl Tree {
    pub fn get(&self, dir: &str) -> Option<&Kustomization> {
        self.kustomizations.iter().find(|k| k.dir == dir)
    }

    /// What `kubectl kustomize <root>/<dir>` prints, as objects in kustomize's order.
    pub fn build(&self, dir: &str) -> Vec<Object> {
        let mut objects = self.accumulate(dir);
        if self.get(dir).is_some_and(|k| k.order == Order::Legacy) {
            object::sort(&mut objects);
        }
        objects
    }

    fn accumulate(&self, dir: &str) -> Vec<Object> {
        let k = self
            .get(dir)
            .unwrap_or_else(|| panic!("the tree has no kustomization `{dir}`"));
        let mut objects: Vec<Object> = k.bases.iter().flat_map(|b| self.accumulate(b)).collect();
        objects.extend(k.resources.iter().flat_map(|f| f.objects.iter().cloned()));
        transform(k, &mut objects);
        objects
    }
}

/// The identity a patch goes to: kind, name and namespace.
type Identity<'a> = (&'a str, &'a str, &'a str);

fn identity(object: &Object) -> Identity<'_> {
    (
        object::kind(object),
        object::name(object),
        object::namespace(object),
    )
}

/// What one kustomization does to the objects it accumulates, applied one object at a
/// time as they are rendered: its patches (each to the first object of its identity),
/// then `namespace:`, then `images:`. Over bases that transform nothing themselves
/// (platgen's overlays over `base`), [`write_sorted`] of the [`Document`]s of every
/// accumulated object, in accumulation order, prints [`crate::emit::stream`] of
/// [`Tree::build`]; only the text of each object is kept.
struct Transform<'k> {
    top: &'k Kustomization,
    images: Images<'k>,
    /// The patches of each identity, in patch order; `by_target` finds an identity's.
    patches: Vec<Vec<&'k Object>>,
    by_target: HashMap<Identity<'k>, usize>,
}

/// One transformed object: its place in kustomize's order and its text.
pub struct Document {
    key: object::SortKey,
    text: String,
}

impl Document {
    /// `object` printed in `format`, with its place in kustomize's order.
    pub fn new(object: &Object, format: Format) -> Document {
        Document {
            key: object::sort_key(object),
            text: compact(format.document(object)),
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// The object's type: its API group, version and kind.
    pub fn type_of(&self) -> object::Type<'_> {
        let (_, _, _, group, version, kind, _, _) = &self.key;
        (group, version, kind)
    }
}

impl<'k> Transform<'k> {
    /// `top`'s namespace and images, and these patches (in order) instead of its own.
    fn new(top: &'k Kustomization, patches: impl IntoIterator<Item = &'k Object>) -> Transform<'k> {
        let mut transform = Transform {
            top,
            images: Images::new(&top.images),
            patches: Vec::new(),
            by_target: HashMap::new(),
        };
        for patch in patches {
            let next = transform.patches.len();
            let i = *transform.by_target.entry(identity(patch)).or_insert(next);
            if i == next {
                transform.patches.push(Vec::new());
            }
            transform.patches[i].push(patch);
        }
        transform
    }

    /// `objects`, each transformed and handed to `keep`, in order. An object gets the
    /// patches of its identity when `claim` grants them (it is told the identity's
    /// number, for every object that has some). Unlike [`Tree::build`], this takes the
    /// identity a patch matches to stay as it was: platgen's patches never rename or
    /// re-kind their target (a test compares both paths on the shipped project). A patch
    /// that deletes its target (`$patch: delete`) drops it.
    fn each<D>(
        &self,
        objects: Vec<Object>,
        keep: &impl Fn(Object) -> D,
        mut claim: impl FnMut(usize) -> bool,
    ) -> Vec<D> {
        let mut kept = Vec::with_capacity(objects.len());
        for mut object in objects {
            let patched = self.by_target.get(&identity(&object)).copied();
            if let Some(i) = patched.filter(|i| claim(*i)) {
                let patches = &self.patches[i];
                if patches.iter().any(|p| deletes(p)) {
                    continue;
                }
                for patch in patches {
                    merge(&mut object, patch);
                }
            }
            if let Some(ns) = &self.top.namespace {
                set_namespace(&mut object, ns);
            }
            if !self.top.images.is_empty() {
                retag(&mut object, &self.images);
            }
            kept.push(keep(object));
        }
        kept
    }
}

/// A strategic merge patch that deletes its target (`$patch: delete` at its top), as an
/// overlay removes a base object it replaces by one of another kind.
pub fn deletes(patch: &Object) -> bool {
    patch.get("$patch").and_then(Value::as_str) == Some("delete")
}

/// The rendering of one resource file, run when the build needs it: the file, or `None`
/// when it is left out (an overlay lays out no empty file).
pub type FileJob<'a, E> = Box<dyn FnOnce() -> Result<Option<File>, E> + Send + 'a>;

/// The objects of the overlay `top` over bases that transform nothing themselves, each
/// transformed as kustomize does and handed to `keep`; what `keep` makes of them is
/// returned in accumulation order, and nothing else of an object is held. `top` comes
/// without its patches: `patches` renders them, on this thread, while the other cores
/// start on `jobs`, which renders the files in accumulation order (the bases', then the
/// overlay's own). See [`Accumulation`].
///
/// # Panics
/// When a patch matches no object, as [`Tree::build`] does.
pub fn accumulate<'j, E: Send, D: Send>(
    top: &Kustomization,
    patches: impl FnOnce() -> Vec<File>,
    jobs: impl Fn() -> Vec<FileJob<'j, E>>,
    keep: impl Fn(Object) -> D + Sync,
) -> Result<Vec<D>, E> {
    let patch_files = OnceLock::new();
    let accumulation = Accumulation::new(top, jobs(), keep);
    let threads = crate::parallel::cores();
    let worked = std::thread::scope(|scope| {
        let others: Vec<_> = (1..threads.min(accumulation.queue.len()))
            .map(|_| scope.spawn(|| accumulation.work()))
            .collect();
        accumulation.patch(patch_files.get_or_init(patches));
        let mut worked = vec![accumulation.work()];
        worked.extend(
            others
                .into_iter()
                .map(|o| o.join().expect("a renderer does not panic")),
        );
        worked
    });
    accumulation.finish(worked, jobs)
}

/// The files a thread rendered: transformed (file, kept, identities that got patches),
/// or not yet (file, objects), and the errors (file, error).
pub struct Worked<D, E> {
    done: Vec<(usize, Vec<D>, Vec<usize>)>,
    waiting: Vec<(usize, Vec<Object>)>,
    errors: Vec<(usize, E)>,
}

/// The build of an overlay over bases that transform nothing themselves, its files
/// rendered by any number of threads at once ([`Accumulation::work`]), from those that
/// start before its patches are known ([`Accumulation::patch`]) to the caller's.
///
/// Every thread takes the next file when it is done with one, renders it and, once the
/// patches are there, transforms and keeps its objects (those it rendered before are
/// transformed by [`Accumulation::finish`]). A patch goes to the first object of its
/// identity: the files are transformed apart, so each object of a patched identity gets
/// the patches; when two objects share one (kustomize refuses such a build), the files
/// are rendered again in order on one thread, and the patches go to the first. Every file
/// is rendered, and the first error in file order is returned.
pub struct Accumulation<'k, 'j, E, K> {
    top: &'k Kustomization,
    queue: Vec<Mutex<Option<FileJob<'j, E>>>>,
    next: AtomicUsize,
    transform: OnceLock<Transform<'k>>,
    keep: K,
}

impl<'k, 'j, E: Send, D: Send, K: Fn(Object) -> D + Sync> Accumulation<'k, 'j, E, K> {
    pub fn new(top: &'k Kustomization, jobs: Vec<FileJob<'j, E>>, keep: K) -> Self {
        Accumulation {
            top,
            queue: jobs.into_iter().map(|job| Mutex::new(Some(job))).collect(),
            next: AtomicUsize::new(0),
            transform: OnceLock::new(),
            keep,
        }
    }

    /// The overlay's patches, rendered.
    pub fn patch(&self, patches: &'k [File]) {
        let patches = patches.iter().flat_map(|f| &f.objects);
        self.transform
            .get_or_init(|| Transform::new(self.top, patches));
    }

    /// Renders files until none is left.
    pub fn work(&self) -> Worked<D, E> {
        let mut worked = Worked {
            done: Vec::new(),
            waiting: Vec::new(),
            errors: Vec::new(),
        };
        loop {
            // Last file first: the overlay's own files, few and large, start first and
            // the bases' small ones (one per service) fill the end, so that the threads
            // finish together.
            let taken = self.next.fetch_add(1, Ordering::Relaxed);
            let Some(i) = self.queue.len().checked_sub(taken + 1) else {
                return worked;
            };
            let job = crate::parallel::lock(&self.queue[i]).take();
            match job.expect("each job is taken once")() {
                Ok(file) => {
                    let objects = file.map_or_else(Vec::new, |f| f.objects);
                    match self.transform.get() {
                        Some(t) => worked.done.push(self.transformed(t, i, objects)),
                        None => worked.waiting.push((i, objects)),
                    }
                }
                Err(e) => worked.errors.push((i, e)),
            }
        }
    }

    fn transformed(
        &self,
        t: &Transform,
        i: usize,
        objects: Vec<Object>,
    ) -> (usize, Vec<D>, Vec<usize>) {
        let mut claimed = Vec::new();
        let kept = t.each(objects, &self.keep, |id| {
            claimed.push(id);
            true
        });
        (i, kept, claimed)
    }

    /// The objects kept, in accumulation order, from what the threads rendered. `jobs`
    /// renders the files again when two objects share a patched identity.
    ///
    /// # Panics
    /// When the patches are not known yet, or one matches no object.
    pub fn finish(
        &self,
        worked: Vec<Worked<D, E>>,
        jobs: impl Fn() -> Vec<FileJob<'j, E>>,
    ) -> Result<Vec<D>, E> {
        let t = self.transform.get().expect("the patches were rendered");
        let mut done = Vec::new();
        let mut errors = Vec::new();
        for w in worked {
            done.extend(w.done);
            done.extend(
                w.waiting
                    .into_iter()
                    .map(|(i, objects)| self.transformed(t, i, objects)),
            );
            errors.extend(w.errors);
        }
        if let Some((_, e)) = errors.into_iter().min_by_key(|(i, _)| *i) {
            return Err(e);
        }
        done.sort_by_key(|(i, ..)| *i);
        let mut claimed = HashSet::new();
        if done
            .iter()
            .flat_map(|(_, _, c)| c)
            .all(|id| claimed.insert(*id))
        {
            let kept = done.into_iter().flat_map(|(_, kept, _)| kept).collect();
            return Ok(unclaimed_check(t, &claimed, kept));
        }
        drop(done);
        let mut claimed = HashSet::new();
        let mut kept = Vec::new();
        for job in jobs() {
            if let Some(file) = job()? {
                kept.extend(t.each(file.objects, &self.keep, |id| claimed.insert(id)));
            }
        }
        Ok(unclaimed_check(t, &claimed, kept))
    }
}

/// `kept`, once every patch of `transform` is known to have gone to an object.
///
/// # Panics
/// When a patch matches no object.
fn unclaimed_check<D>(transform: &Transform, claimed: &HashSet<usize>, kept: Vec<D>) -> Vec<D> {
    if let Some(patch) = (transform.patches.iter().enumerate())
        .filter(|(i, _)| !claimed.contains(i))
        .flat_map(|(_, patches)| patches)
        .next()
    {
        panic!(
            "patch {} {} matches nothing",
            object::kind(patch),
            object::name(patch)
        );
    }
    kept
}

/// Writes the documents, given in accumulation order, in kustomize's order: its sorted
/// stream, or the JSON array of the same objects.
pub fn write_sorted(
    out: &mut (impl std::io::Write + ?Sized),
    documents: &[Document],
    format: Format,
) -> std::io::Result<()> {
    let mut order: Vec<usize> = (0..documents.len()).collect();
    // Stable: equal keys keep accumulation order, as when sorting whole objects.
    order.sort_by(|&a, &b| documents[a].key.cmp(&documents[b].key));
    format.write(out, order.iter().map(|&i| &documents[i].text))
}

/// The documents, given in accumulation order, in kustomize's order.
pub fn sorted(mut documents: Vec<Document>) -> Vec<Document> {
    // Stable, as `write_sorted`.
    documents.sort_by(|a, b| a.key.cmp(&b.key));
    documents
}

/// What a kustomization does to the objects it accumulated: patches, then `namespace:`,
/// then `images:`.
fn transform(k: &Kustomization, objects: &mut Vec<Object>) {
    if k.patches.iter().any(|f| !f.objects.is_empty()) {
        // Each patch goes to the first object of its kind, name and namespace: an index
        // of first occurrences keeps that linear in the number of objects and patches.
        let mut index = Targets::new(objects);
        for patch in k.patches.iter().flat_map(|f| &f.objects) {
            let i = index.find(objects, patch).unwrap_or_else(|| {
                panic!(
                    "patch {} {} matches nothing",
                    object::kind(patch),
                    object::name(patch)
                )
            });
            let before = Targets::key(&objects[i]);
            if deletes(patch) {
                objects.remove(i);
                index = Targets::new(objects);
                continue;
            }
            merge(&mut objects[i], patch);
            if Targets::key(&objects[i]) != before {
                // The patch changed its target's identity (deleted its name, say): reindex.
                index = Targets::new(objects);
            }
        }
    }
    if let Some(ns) = &k.namespace {
        for o in objects.iter_mut() {
            set_namespace(o, ns);
        }
    }
    if !k.images.is_empty() {
        let images = Images::new(&k.images);
        for o in objects.iter_mut() {
            retag(o, &images);
        }
    }
}

/// Position of the first object of each (kind, name, namespace).
struct Targets {
    first: HashMap<(String, String, String), usize>,
}

impl Targets {
    /// [`identity`], owned: the index outlives changes to the objects.
    fn key(object: &Object) -> (String, String, String) {
        let (kind, name, namespace) = identity(object);
        (kind.to_owned(), name.to_owned(), namespace.to_owned())
    }

    fn new(objects: &[Object]) -> Targets {
        let mut first = HashMap::with_capacity(objects.len());
        for (i, o) in objects.iter().enumerate() {
            first.entry(Targets::key(o)).or_insert(i);
        }
        Targets { first }
    }

    fn find(&self, objects: &[Object], patch: &Object) -> Option<usize> {
        let i = *self.first.get(&Targets::key(patch))?;
        debug_assert!(identity(&objects[i]) == identity(patch));
        Some(i)
    }
}

/// Kinds kustomize's namespace transformer leaves alone (Namespace itself is renamed).
const CLUSTER_SCOPED: [&str; 9] = [
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "PersistentVolume",
    "StorageClass",
    "PriorityClass",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "IngressClass",
];

fn set_namespace(object: &mut Object, namespace: &str) {
    let kind = object::kind(object);
    if CLUSTER_SCOPED.contains(&kind) {
        return;
    }
    let key = if kind == "Namespace" {
        "name"
    } else {
        "namespace"
    };
    object["metadata"][key] = Value::String(namespace.to_owned());
}

/// The key that identifies items of a list when a strategic merge patch merges it,
/// for the lists platgen patches (from the Kubernetes API's patch strategies).
fn merge_key(field: &str) -> Option<&'static str> {
    match field {
        "containers" | "initContainers" | "env" | "volumes" | "imagePullSecrets" => Some("name"),
        "volumeMounts" => Some("mountPath"),
        "ports" => Some("containerPort"),
        _ => None,
    }
}

/// Strategic merge: maps merge per key, `null` deletes, keyed lists merge item by item
/// (patch items first, in patch order, then the untouched originals), other lists are replaced.
pub fn merge(target: &mut Value, patch: &Value) {
    let (Value::Object(target), Value::Object(patch)) = (target, patch) else {
        return;
    };
    for (key, value) in patch {
        match (target.get_mut(key), value) {
            (_, Value::Null) => {
                target.remove(key);
            }
            (Some(t @ Value::Object(_)), Value::Object(_)) => merge(t, value),
            (Some(Value::Array(t)), Value::Array(p)) if merge_key(key).is_some() => {
                *t = merge_list(std::mem::take(t), p, merge_key(key).unwrap_or_default());
            }
            _ => {
                target.insert(key.clone(), without_nulls(value));
            }
        }
    }
}

fn merge_list(original: Vec<Value>, patch: &[Value], key: &str) -> Vec<Value> {
    let mut remaining: Vec<Option<Value>> = original.into_iter().map(Some).collect();
    let mut merged = Vec::with_capacity(remaining.len() + patch.len());
    for item in patch {
        let found = remaining
            .iter_mut()
            .find(|o| o.as_ref().is_some_and(|o| o.get(key) == item.get(key)));
        match found.and_then(Option::take) {
            Some(mut original) => {
                merge(&mut original, item);
                merged.push(original);
            }
            None => merged.push(without_nulls(item)),
        }
    }
    merged.extend(remaining.into_iter().flatten());
    merged
}

fn without_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect::<Map<_, _>>(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

/// The `images:` entries by image name, each with its position in the list.
struct Images<'a> {
    by_name: HashMap<&'a str, Vec<(usize, &'a ImageTag)>>,
}

impl<'a> Images<'a> {
    fn new(images: &'a [ImageTag]) -> Images<'a> {
        let mut by_name: HashMap<&str, Vec<(usize, &ImageTag)>> = HashMap::new();
        for (i, image) in images.iter().enumerate() {
            by_name
                .entry(image.name.as_str())
                .or_default()
                .push((i, image));
        }
        Images { by_name }
    }

    /// Applies the entries in list order, each to the image as the previous ones left it:
    /// the same result as running one transformer per entry, in one lookup per container.
    fn apply(&self, current: &mut String) {
        let mut next = 0;
        while let Some(&(i, image)) = self
            .by_name
            .get(image_name(current))
            .and_then(|entries| entries.iter().find(|(i, _)| *i >= next))
        {
            *current = format!("{}:{}", image.name, image.new_tag);
            next = i + 1;
        }
    }
}

/// The images transformer: rewrites the tag of every container image an entry names.
fn retag(value: &mut Value, images: &Images) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if key == "containers" || key == "initContainers" {
                    for container in child.as_array_mut().into_iter().flatten() {
                        if let Some(Value::String(current)) = container.get_mut("image") {
                            images.apply(current);
                        }
                    }
                } else {
                    retag(child, images);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| retag(i, images)),
        _ => {}
    }
}

/// `registry:5000/app:1.0` -> `registry:5000/app` (a port is not a tag).
fn image_name(image: &str) -> &str {
    let image = image.split('@').next().unwrap_or(image);
    match image.rfind(':') {
        Some(i) if !image[i..].contains('/') => &image[..i],
        _ => image,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keyed_lists_put_patch_items_first() {
        let mut target =
            json!({"volumes": [{"name": "data", "emptyDir": {}}, {"name": "tmp", "emptyDir": {}}]});
        merge(
            &mut target,
            &json!({"volumes": [{"name": "tmp", "emptyDir": null, "persistentVolumeClaim": {"claimName": "c"}}]}),
        );
        assert_eq!(
            target,
            json!({"volumes": [{"name": "tmp", "persistentVolumeClaim": {"claimName": "c"}}, {"name": "data", "emptyDir": {}}]})
        );
    }

    #[test]
    fn null_deletes_and_plain_lists_are_replaced() {
        let mut target = json!({"spec": {"replicas": 2, "args": ["a", "b"]}});
        merge(
            &mut target,
            &json!({"spec": {"replicas": null, "args": ["c"]}}),
        );
        assert_eq!(target, json!({"spec": {"args": ["c"]}}));
    }

    fn kustomization(dir: &str, resources: Vec<Object>, patches: Vec<Object>) -> Kustomization {
        Kustomization {
            dir: dir.into(),
            resources: vec![File::new("r.yaml", resources)],
            patches: vec![File::new("p.yaml", patches)],
            ..Default::default()
        }
    }

    fn config_map(name: &str, namespace: Option<&str>, data: Value) -> Object {
        let mut o = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data});
        if let Some(ns) = namespace {
            o["metadata"]["namespace"] = json!(ns);
        }
        o
    }

    /// `$patch: delete` removes its target, in the whole build and in the streamed one.
    #[test]
    fn a_delete_patch_removes_its_target() {
        let mut delete = config_map("b", None, Value::Null);
        delete["$patch"] = json!("delete");
        let k = kustomization(
            "k",
            vec![
                config_map("a", None, json!({"n": "1"})),
                config_map("b", None, json!({"n": "2"})),
            ],
            vec![delete],
        );
        let tree = Tree {
            kustomizations: vec![k.clone()],
        };
        let names: Vec<String> = tree
            .build("k")
            .iter()
            .map(|o| object::name(o).to_owned())
            .collect();
        assert_eq!(names, ["a"]);
        let (mut top, resources) = (k.clone(), k.resources[0].objects.clone());
        top.resources.clear();
        let patches = std::mem::take(&mut top.patches);
        let applied = accumulate(
            &top,
            || patches,
            || jobs(&[&resources]),
            |o| object::name(&o).to_owned(),
        )
        .expect("no job fails");
        assert_eq!(applied, ["a"]);
    }

    /// One job per file, each rendering its objects.
    fn jobs<'a>(files: &[&'a Vec<Object>]) -> Vec<FileJob<'a, String>> {
        (files.iter().copied())
            .map(|objects| -> FileJob<'a, String> {
                Box::new(move || Ok(Some(File::new("f.yaml", objects.clone()))))
            })
            .collect()
    }

    /// Of two failing files, the first one's error is returned, however the threads
    /// took them.
    #[test]
    fn the_first_failing_file_is_reported() {
        let top = Kustomization::default();
        for _ in 0..20 {
            let failing = |n: usize| -> FileJob<'static, String> {
                Box::new(move || {
                    std::thread::yield_now();
                    Err(format!("file {n}"))
                })
            };
            let jobs = || {
                let mut jobs: Vec<FileJob<String>> = Vec::new();
                for n in 0..8 {
                    jobs.push(if n == 3 || n == 6 {
                        failing(n)
                    } else {
                        Box::new(|| Ok(None))
                    });
                }
                jobs
            };
            let built = accumulate(&top, Vec::new, jobs, |o| o);
            assert_eq!(built.err().as_deref(), Some("file 3"));
        }
    }

    #[test]
    fn a_patch_goes_to_the_first_object_of_its_kind_name_and_namespace() {
        let tree = Tree {
            kustomizations: vec![kustomization(
                "k",
                vec![
                    config_map("a", None, json!({"n": "1"})),
                    config_map("a", Some("x"), json!({"n": "2"})),
                    config_map("a", None, json!({"n": "3"})),
                    json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "a"}}),
                ],
                vec![
                    config_map("a", None, json!({"p": "1"})),
                    config_map("a", Some("x"), json!({"p": "2"})),
                    config_map("a", None, json!({"q": "3"})),
                ],
            )],
        };
        let data: Vec<Value> = tree
            .accumulate("k")
            .iter()
            .map(|o| o["data"].clone())
            .collect();
        assert_eq!(
            data,
            [
                json!({"n": "1", "p": "1", "q": "3"}),
                json!({"n": "2", "p": "2"}),
                json!({"n": "3"}),
                Value::Null,
            ]
        );
    }

    #[test]
    fn image_entries_apply_in_order_and_the_last_of_a_name_wins() {
        let mut k = kustomization(
            "k",
            vec![
                json!({"kind": "Deployment", "metadata": {"name": "d"}, "spec": {"template": {"spec": {
                    "initContainers": [{"name": "i", "image": "reg:5000/a:1"}],
                    "containers": [{"name": "c", "image": "b"}, {"name": "e", "image": "other:3"}],
                }}}}),
            ],
            vec![],
        );
        k.images = [("reg:5000/a", "2"), ("b", "7"), ("reg:5000/a", "3")]
            .map(|(name, tag)| ImageTag {
                name: name.into(),
                new_tag: tag.into(),
            })
            .to_vec();
        let tree = Tree {
            kustomizations: vec![k],
        };
        let built = tree.accumulate("k");
        let spec = &built[0]["spec"]["template"]["spec"];
        assert_eq!(spec["initContainers"][0]["image"], "reg:5000/a:3");
        assert_eq!(spec["containers"][0]["image"], "b:7");
        assert_eq!(spec["containers"][1]["image"], "other:3");
    }

    #[test]
    fn transformed_documents_print_the_build() {
        // Each file of the base on its own, then the overlay's: the threads take them
        // in any order.
        let base = |duplicates: bool| {
            let mut objects = vec![
                config_map("b", None, json!({})),
                config_map("a", None, json!({"n": "1"})),
            ];
            if duplicates {
                // Same identity as the one before and the overlay's own `a`: the patches
                // go to the first of those (kustomize itself refuses such a build).
                objects.push(config_map("a", None, json!({"n": "2"})));
            }
            objects
                .push(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}));
            kustomization("base", objects, vec![])
        };
        for duplicates in [false, true] {
            let mut own = vec![
                config_map("own", None, json!({"o": "1"})),
                json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                       "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "img:1"}]}}}}),
            ];
            if duplicates {
                own.push(config_map("a", None, json!({"own": "a"})));
            }
            let mut overlay = kustomization(
                "overlay",
                own,
                vec![
                    config_map("a", None, json!({"p": "1"})),
                    config_map("own", None, json!({"p": "2"})),
                    config_map("a", None, json!({"q": "3"})),
                ],
            );
            overlay.bases = vec!["base".into()];
            overlay.namespace = Some("ns".into());
            overlay.images = vec![ImageTag {
                name: "img".into(),
                new_tag: "2".into(),
            }];
            let base = base(duplicates);
            let files: Vec<Vec<Object>> = (base.resources[0].objects.iter())
                .chain(&overlay.resources[0].objects)
                .map(|o| vec![o.clone()])
                .collect();
            let mut top = overlay.clone();
            top.resources.clear();
            let patches = std::mem::take(&mut top.patches);
            let documents = accumulate(
                &top,
                || patches,
                || jobs(&files.iter().collect::<Vec<_>>()),
                |object| Document::new(&object, Format::Yaml),
            )
            .expect("no job fails");
            let mut out = Vec::new();
            write_sorted(&mut out, &documents, Format::Yaml).expect("writes to a Vec");
            let tree = Tree {
                kustomizations: vec![base, overlay.clone()],
            };
            assert_eq!(
                String::from_utf8(out).expect("UTF-8"),
                crate::emit::stream(&tree.build("overlay")),
                "duplicates: {duplicates}"
            );
        }
    }

    #[test]
    fn image_names_ignore_registry_ports_and_digests() {
        assert_eq!(image_name("reg:5000/a/b:1.2"), "reg:5000/a/b");
        assert_eq!(image_name("reg:5000/a/b"), "reg:5000/a/b");
        assert_eq!(image_name("a@sha256:00"), "a");
    }
}
