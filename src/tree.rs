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
use std::collections::HashMap;

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

/// What one kustomization does to the objects it accumulates, applied one object at a
/// time as they are rendered: its patches (each to the first object of its identity),
/// then `namespace:`, then `images:`. Over bases that transform nothing themselves
/// (platgen's overlays over `base`), [`write_sorted`] of the [`Document`]s of every
/// accumulated object, in accumulation order, prints [`crate::emit::stream`] of
/// [`Tree::build`]; only the text of each object is kept.
pub struct Transform<'k> {
    top: &'k Kustomization,
    images: Images<'k>,
    /// The patches of each (kind, name, namespace) not applied yet, in patch order.
    patches: HashMap<(String, String, String), Vec<&'k Object>>,
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
            text: format.document(object),
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
    /// `top`'s patches, namespace and images.
    pub fn new(top: &'k Kustomization) -> Transform<'k> {
        Transform::with_patches(top, top.patches.iter().flat_map(|f| &f.objects))
    }

    /// `top`'s namespace and images, and these patches (in order) instead of its own.
    pub fn with_patches(
        top: &'k Kustomization,
        patches: impl IntoIterator<Item = &'k Object>,
    ) -> Transform<'k> {
        let mut by_target: HashMap<_, Vec<&Object>> = HashMap::new();
        for patch in patches {
            by_target
                .entry(Targets::key(patch))
                .or_default()
                .push(patch);
        }
        Transform {
            top,
            images: Images::new(&top.images),
            patches: by_target,
        }
    }

    /// A patch not applied yet targets `object`'s identity.
    pub fn patches(&self, object: &Object) -> bool {
        self.patches.contains_key(&Targets::key(object))
    }

    /// The patches no object has claimed yet.
    pub fn unclaimed(&self) -> impl Iterator<Item = &'k Object> + '_ {
        self.patches.values().flatten().copied()
    }

    /// The next accumulated object, transformed. The patches of its identity go to it
    /// when no earlier object claimed them. Unlike [`Tree::build`], this takes the
    /// identity a patch matches to stay as it was: platgen's patches never rename or
    /// re-kind their target (a test compares both paths on the shipped project).
    /// `None` when a patch deletes it (`$patch: delete`).
    pub fn apply(&mut self, mut object: Object) -> Option<Object> {
        if let Some(patches) = self.patches.remove(&Targets::key(&object)) {
            if patches.iter().any(|p| deletes(p)) {
                return None;
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
        Some(object)
    }
}

/// A strategic merge patch that deletes its target (`$patch: delete` at its top), as an
/// overlay removes a base object it replaces by one of another kind.
pub fn deletes(patch: &Object) -> bool {
    patch.get("$patch").and_then(Value::as_str) == Some("delete")
}

/// What `kubectl kustomize` prints for the overlay `top` over bases that transform
/// nothing themselves (or the JSON array of those objects, per `format`): see
/// [`accumulate_streamed`]. Only the text of each object is kept.
///
/// # Panics
/// When a patch matches no object, as [`Tree::build`] does.
pub fn build_streamed<E: Send>(
    top: &Kustomization,
    base: impl FnOnce(&mut dyn FnMut(Object)) -> Result<(), E> + Send,
    own: impl FnOnce(&mut dyn FnMut(Object)) -> Result<(), E>,
    format: Format,
    out: &mut (impl std::io::Write + ?Sized),
) -> Result<std::io::Result<()>, E> {
    let documents = accumulate_streamed(top, base, own, |object| Document::new(&object, format))?;
    Ok(write_sorted(out, &documents, format))
}

/// The objects of the overlay `top` over bases that transform nothing themselves,
/// rendered by two producers at once, each handing its objects to `add` in
/// accumulation order: `base` on a second thread (the bases' objects), `own` on this
/// one (the overlay's own resources). Each object is transformed as it comes and
/// handed to `keep`, whose results are returned in accumulation order (so that only
/// what `keep` makes of an object is held). Returns the first error of `own`, then of
/// `base`.
///
/// # Panics
/// When a patch matches no object, as [`Tree::build`] does.
pub fn accumulate_streamed<E: Send, D: Send>(
    top: &Kustomization,
    base: impl FnOnce(&mut dyn FnMut(Object)) -> Result<(), E> + Send,
    own: impl FnOnce(&mut dyn FnMut(Object)) -> Result<(), E>,
    keep: impl Fn(Object) -> D + Sync,
) -> Result<Vec<D>, E> {
    std::thread::scope(|scope| {
        let base = scope.spawn(|| {
            let mut transform = Transform::new(top);
            let mut kept = Vec::new();
            base(&mut |object| kept.extend(transform.apply(object).map(&keep)))?;
            let unclaimed: Vec<&Object> = transform.unclaimed().collect();
            Ok((kept, unclaimed))
        });
        // The overlay's own objects come after the bases': one whose identity a patch
        // names waits until the bases' objects have claimed theirs.
        let mut transform = Transform::new(top);
        let mut waiting = Vec::new();
        own(&mut |object| {
            if transform.patches(&object) {
                waiting.push(Err(object));
            } else if let Some(object) = transform.apply(object) {
                waiting.push(Ok(keep(object)));
            }
        })?;
        let (mut kept, unclaimed) = base.join().expect("the base producer does not panic")?;
        let mut rest = Transform::with_patches(top, unclaimed);
        kept.extend(waiting.into_iter().filter_map(|o| match o {
            Ok(kept) => Some(kept),
            Err(object) => rest.apply(object).map(&keep),
        }));
        if let Some(patch) = rest.unclaimed().next() {
            panic!(
                "patch {} {} matches nothing",
                object::kind(patch),
                object::name(patch)
            );
        }
        Ok(kept)
    })
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
    fn key(object: &Object) -> (String, String, String) {
        (
            object::kind(object).to_owned(),
            object::name(object).to_owned(),
            object::namespace(object).to_owned(),
        )
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
        debug_assert!(same_target(&objects[i], patch));
        Some(i)
    }
}

fn same_target(object: &Object, patch: &Object) -> bool {
    object::kind(object) == object::kind(patch)
        && object::name(object) == object::name(patch)
        && object::namespace(object) == object::namespace(patch)
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
        let mut transform = Transform::new(&k);
        let applied: Vec<Object> = k.resources[0]
            .objects
            .iter()
            .filter_map(|o| transform.apply(o.clone()))
            .collect();
        assert_eq!(applied.len(), 1);
        assert_eq!(transform.unclaimed().count(), 0);
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
        let mut overlay = kustomization(
            "overlay",
            vec![
                config_map("own", None, json!({"o": "1"})),
                // Same identity as two base objects: the patches go to the first of those.
                config_map("a", None, json!({"own": "a"})),
                json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                       "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "img:1"}]}}}}),
            ],
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
        let base = kustomization(
            "base",
            vec![
                config_map("b", None, json!({})),
                config_map("a", None, json!({"n": "1"})),
                config_map("a", None, json!({"n": "2"})),
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}),
            ],
            vec![],
        );
        let mut out = Vec::new();
        let objects = |k: &Kustomization| -> Vec<Object> {
            k.resources.iter().flat_map(|f| f.objects.clone()).collect()
        };
        let (from_base, from_overlay) = (objects(&base), objects(&overlay));
        let mut top = overlay.clone();
        top.resources.clear();
        build_streamed(
            &top,
            |add| {
                from_base.into_iter().for_each(add);
                Ok::<_, ()>(())
            },
            |add| {
                from_overlay.into_iter().for_each(add);
                Ok(())
            },
            Format::Yaml,
            &mut out,
        )
        .expect("no producer fails")
        .expect("writes to a Vec");
        let tree = Tree {
            kustomizations: vec![base, overlay.clone()],
        };
        assert_eq!(
            String::from_utf8(out).expect("UTF-8"),
            crate::emit::stream(&tree.build("overlay"))
        );
    }

    #[test]
    fn image_names_ignore_registry_ports_and_digests() {
        assert_eq!(image_name("reg:5000/a/b:1.2"), "reg:5000/a/b");
        assert_eq!(image_name("reg:5000/a/b"), "reg:5000/a/b");
        assert_eq!(image_name("a@sha256:00"), "a");
    }
}
