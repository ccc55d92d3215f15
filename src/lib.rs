//! platgen: typed descriptors in, the Kubernetes deployment of the e-commerce platform out.
//!
//! The pipeline reads top to bottom: descriptor (YAML on disk, `descriptor`, `scalar`)
//! -> model (validated and resolved, `model`) -> objects (`objects`, `template`) ->
//! layout (the kustomize tree, `tree`) -> emit (YAML text, `emit`; files, `write`).

pub mod check;
pub mod color;
pub mod commands;
pub mod components;
pub mod descriptor;
pub mod diff;
pub mod emit;
pub mod error;
pub mod model;
pub mod object;
pub mod objects;
pub mod parallel;
pub mod scalar;
pub mod schema;
pub mod secrets_template;
pub mod set_image;
pub mod shape;
pub mod source;
pub mod syntax;
pub mod template;
pub mod tree;
pub mod write;
pub mod yaml;

use error::{Error, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// What a target is: an environment or a shared component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    Environment,
    Component,
}

impl TargetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Environment => "environment",
            TargetKind::Component => "component",
        }
    }
}

/// One buildable target and the kustomization folder that builds it.
#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    pub kind: TargetKind,
    pub dir: String,
    /// The cluster its objects are applied to (the Applications of every argocd folder
    /// live in ArgoCD's own).
    pub cluster: String,
    /// The folders ArgoCD builds it from instead of `dir` (a hydrated overlay's parts,
    /// each a source of the environment's Application); empty: `dir`.
    pub parts: Vec<String>,
}

/// Every file of one kustomization folder, `kustomization.yaml` last.
fn folder_files(k: &tree::Kustomization) -> Vec<(PathBuf, String)> {
    let mut files: Vec<_> = (k.resources.iter().chain(&k.patches))
        .map(|file| write::file(&k.dir, file))
        .collect();
    files.push(write::kustomization_file(k));
    files
}

/// Emits the resource files of one kustomization folder to `put` as they are rendered,
/// a file rendered in runs ([`objects::in_runs`]) as one, and lists each without its
/// objects (all `kustomization.yaml` needs is its path).
struct Emitter<'d> {
    dir: &'d str,
    files: Vec<tree::File>,
    /// The YAML stream of the last file, so far.
    stream: String,
}

impl<'d> Emitter<'d> {
    fn new(dir: &'d str) -> Self {
        Emitter {
            dir,
            files: Vec::new(),
            stream: String::new(),
        }
    }

    /// The file `path` holding the YAML stream `stream`, or the rest of the last one.
    fn emit(&mut self, path: String, stream: String, put: &mut impl FnMut((PathBuf, String))) {
        if self.files.last().is_some_and(|last| last.path == path) {
            join_run(&mut self.stream, &stream);
            return;
        }
        self.flush(put);
        self.stream = stream;
        self.files.push(tree::File::new(path, Vec::new()));
    }

    fn flush(&mut self, put: &mut impl FnMut((PathBuf, String))) {
        if let Some(last) = self.files.last() {
            put(write::stream_file(self.dir, &last.path, &self.stream));
        }
    }

    /// The files emitted, the last one put out too.
    fn finish(mut self, put: &mut impl FnMut((PathBuf, String))) -> Vec<tree::File> {
        self.flush(put);
        self.files
    }
}

/// Appends the YAML stream of a file's next run to the stream of its runs before: the
/// stream of all their objects.
fn join_run(stream: &mut String, run: &str) {
    if !stream.is_empty() && !run.is_empty() {
        stream.push_str("---\n");
    }
    stream.push_str(run);
}

/// The objects of environment `env` in accumulation order, each handed to `keep` as
/// soon as it is transformed: `base`'s files and the overlay's own rendered on every
/// core while this thread renders the overlay's patches (see [`tree::accumulate`]).
fn environment_objects<D: Send>(
    catalog: &descriptor::Catalog,
    env: &descriptor::EnvironmentFile,
    templates: &template::Templates,
    keep: impl Fn(object::Object) -> D + Sync,
) -> Result<Vec<D>> {
    tree::accumulate(
        &objects::overlay_kustomization(catalog, env),
        || objects::overlay_patches(catalog, env),
        || environment_files(catalog, env, templates),
        keep,
    )
}

/// The files environment `env` renders, in accumulation order: `base`'s, then its
/// overlay's own.
fn environment_files<'a>(
    catalog: &'a descriptor::Catalog,
    env: &'a descriptor::EnvironmentFile,
    templates: &'a template::Templates,
) -> Vec<objects::FileJob<'a>> {
    let mut jobs = objects::base_files(catalog, templates);
    jobs.extend(objects::overlay_resources(catalog, env, templates));
    jobs
}

/// The files of the hydrated overlay of `env` (and base's, `with_base`: from the objects
/// its build renders, [`BaseFiles`]), as `each` makes them, on every core.
fn hydrated_files<T: Send>(
    catalog: &descriptor::Catalog,
    env: &descriptor::EnvironmentFile,
    templates: &template::Templates,
    with_base: bool,
    each: &(impl Fn(&Path, String) -> T + Sync),
) -> Result<Vec<(PathBuf, T)>> {
    /// A file of the hydrated overlay: its text (a kustomization), or the documents it
    /// joins (folder, path, documents).
    enum Laid {
        Text((PathBuf, String)),
        Run((String, String, Vec<tree::Document>)),
    }
    let base = with_base.then(|| BaseFiles::new(each));
    let documents = tree::accumulate(
        &objects::overlay_kustomization(catalog, env),
        || objects::overlay_patches(catalog, env),
        || match &base {
            Some(base) => base.environment_files(catalog, env, templates),
            None => environment_files(catalog, env, templates),
        },
        |object| tree::Document::new(&object, emit::Format::Yaml),
    )?;
    let mut made = base.as_ref().map(BaseFiles::finish).unwrap_or_default();
    // The overlay's files, made and handed to `each` on every core.
    let mut texts = Vec::new();
    let mut runs = Vec::new();
    let sorted = tree::sorted(documents);
    for (k, documents) in objects::hydrated(env, sorted, tree::Document::type_of) {
        for (file, run) in k.resources.iter().zip(documents) {
            runs.push((k.dir.clone(), file.path.clone(), run));
        }
        texts.push(write::kustomization_file(&k));
    }
    made.extend(parallel::map(
        (texts.into_iter().map(Laid::Text)).chain(runs.into_iter().map(Laid::Run)),
        |file| {
            let (path, text) = match file {
                Laid::Text(file) => file,
                Laid::Run((dir, path, run)) => {
                    let mut stream = Vec::new();
                    (emit::Format::Yaml.write(&mut stream, run.iter().map(tree::Document::text)))
                        .expect("writing into memory cannot fail");
                    let stream = String::from_utf8(stream).expect("platgen emits UTF-8");
                    write::stream_file(&dir, &path, &stream)
                }
            };
            let made = each(&path, text);
            (path, made)
        },
    ));
    Ok(made)
}

/// base's kustomization over these files.
fn base_kustomization(files: Vec<tree::File>) -> tree::Kustomization {
    tree::Kustomization {
        dir: objects::BASE.into(),
        resources: files,
        ..Default::default()
    }
}

/// base's files laid out from the objects an environment's build renders (those of
/// base's files are those `base/` holds), each handed to `each` as soon as it is whole:
/// once the jobs beside its own are done (a file rendered in runs is several jobs').
struct BaseFiles<'e, T, F> {
    each: &'e F,
    /// By base file job.
    slots: std::sync::Mutex<Vec<Slot>>,
    /// What `each` made of the files handed to it, in no order.
    made: std::sync::Mutex<Vec<(PathBuf, T)>>,
}

/// What one of base's file jobs laid out.
enum Slot {
    Pending,
    /// No file.
    Empty,
    /// A file's path and YAML stream, or a run of it.
    Text(String, String),
    /// A file (or a run of it) handed to `each`.
    Made(String),
}

impl<'e, T: Send, F: Fn(&Path, String) -> T + Sync> BaseFiles<'e, T, F> {
    fn new(each: &'e F) -> Self {
        BaseFiles {
            each,
            slots: Default::default(),
            made: Default::default(),
        }
    }

    /// [`environment_files`], each of base's laying its file out here.
    fn environment_files<'a>(
        &'a self,
        catalog: &'a descriptor::Catalog,
        env: &'a descriptor::EnvironmentFile,
        templates: &'a template::Templates,
    ) -> Vec<objects::FileJob<'a>> {
        let base = objects::base_files(catalog, templates);
        {
            // A slot a job; the jobs made again (a build's second rendering) keep theirs.
            let mut slots = parallel::lock(&self.slots);
            if slots.is_empty() {
                slots.resize_with(base.len(), || Slot::Pending);
            }
        }
        let mut jobs: Vec<objects::FileJob> = (base.into_iter().enumerate())
            .map(|(i, job)| -> objects::FileJob {
                Box::new(move || {
                    let file = job()?;
                    let text = file
                        .as_ref()
                        .map(|file| Slot::Text(file.path.clone(), emit::stream(&file.objects)));
                    self.laid(i, text.unwrap_or(Slot::Empty));
                    Ok(file)
                })
            })
            .collect();
        jobs.extend(objects::overlay_resources(catalog, env, templates));
        jobs
    }

    /// Job `i` laid `slot` out: the files it completes go to `each`. (A job run again,
    /// when a build renders its files twice, lays out what it did the first time.)
    fn laid(&self, i: usize, slot: Slot) {
        let whole = {
            let mut slots = parallel::lock(&self.slots);
            if !matches!(slots[i], Slot::Pending) {
                return;
            }
            slots[i] = slot;
            let text = |j: &usize| matches!(slots[*j], Slot::Text(..));
            let left = (0..i).rev().find(|j| !matches!(slots[*j], Slot::Empty));
            let right = (i + 1..slots.len()).find(|j| !matches!(slots[*j], Slot::Empty));
            let candidates: Vec<usize> = [left, Some(i), right]
                .into_iter()
                .flatten()
                .filter(text)
                .collect();
            (candidates.into_iter())
                .filter_map(|j| Self::whole(&mut slots, j))
                .collect::<Vec<_>>()
        };
        for (path, stream) in whole {
            let made = self.make(write::stream_file(objects::BASE, &path, &stream));
            parallel::lock(&self.made).push(made);
        }
    }

    /// The file whose run is at `j`, taken out when every run of it is there and the
    /// jobs on both sides are done: its path and YAML stream.
    fn whole(slots: &mut [Slot], j: usize) -> Option<(String, String)> {
        let Slot::Text(path, _) = &slots[j] else {
            return None;
        };
        let path = path.clone();
        // The runs of the file and the empty jobs between them: none may be pending.
        let same = |slot: &Slot| match slot {
            Slot::Empty => Some(true),
            Slot::Text(p, _) => Some(*p == path),
            Slot::Made(_) => Some(false),
            Slot::Pending => None,
        };
        let mut start = j;
        while start > 0 {
            match same(&slots[start - 1])? {
                true => start -= 1,
                false => break,
            }
        }
        let mut end = j + 1;
        while end < slots.len() {
            match same(&slots[end])? {
                true => end += 1,
                false => break,
            }
        }
        let mut whole = String::new();
        for slot in &mut slots[start..end] {
            if let Slot::Text(_, stream) = std::mem::replace(slot, Slot::Empty) {
                join_run(&mut whole, &stream);
                *slot = Slot::Made(path.clone());
            }
        }
        Some((path, whole))
    }

    /// What `each` made of base's files and of its kustomization, once every job is done.
    fn finish(&self) -> Vec<(PathBuf, T)> {
        let mut slots = std::mem::take(&mut *parallel::lock(&self.slots));
        let mut files: Vec<tree::File> = Vec::new();
        let mut made = std::mem::take(&mut *parallel::lock(&self.made));
        for j in 0..slots.len() {
            // Every job is done: what no job's end completed is whole now.
            if let Some((path, stream)) = Self::whole(&mut slots, j) {
                made.push(self.make(write::stream_file(objects::BASE, &path, &stream)));
            }
            if let Slot::Made(path) = &slots[j]
                && files.last().is_none_or(|last| last.path != *path)
            {
                files.push(tree::File::new(path.clone(), Vec::new()));
            }
        }
        made.push(self.make(write::kustomization_file(&base_kustomization(files))));
        made
    }

    /// What `each` makes of a file, by its path.
    fn make(&self, (path, text): (PathBuf, String)) -> (PathBuf, T) {
        let made = (self.each)(&path, text);
        (path, made)
    }
}

/// The value of `cell`, made by `make` if it has none.
pub(crate) fn init<T>(cell: &OnceLock<T>, make: impl FnOnce() -> Result<T>) -> Result<&T> {
    if let Some(value) = cell.get() {
        return Ok(value);
    }
    let value = make()?;
    Ok(cell.get_or_init(|| value))
}

/// A loaded project: validated descriptors and templates, and its targets. Nothing is
/// rendered until a target's objects are asked for ([`Platform::objects_with`]), so
/// that a command holds no more objects than it needs.
pub struct Platform {
    pub project: model::Project,
    pub templates: template::Templates,
    pub targets: Vec<Target>,
}

impl Platform {
    /// Loads and checks the descriptors, and loads the templates.
    pub fn load(root: &Path) -> Result<Platform> {
        let project = model::Project::load(root)?;
        let templates = template::Templates::load(root)?;
        let targets = targets(&project);
        Ok(Platform {
            project,
            templates,
            targets,
        })
    }

    /// What `platgen build <target>` prints, as objects in kustomize's order.
    pub fn objects(&self, target: &Target) -> Result<Vec<object::Object>> {
        let objects = self.objects_with(target, Some)?;
        Ok(objects.into_iter().map(|(_, object)| object).collect())
    }

    /// [`Platform::objects`], each object handed to `keep` as soon as it is rendered:
    /// what `keep` makes of it is kept, with the object's position in the build; the
    /// rest is dropped at once. Only this target is rendered.
    pub fn objects_with<D: Send>(
        &self,
        target: &Target,
        keep: impl Fn(object::Object) -> Option<D> + Sync,
    ) -> Result<Vec<(usize, D)>> {
        let catalog = &self.project.catalog;
        let sorted: Vec<Option<D>> = match target.kind {
            TargetKind::Environment => {
                let env =
                    (self.project.environment(&target.name)).expect("a target of the project");
                let mut kept = environment_objects(catalog, env, &self.templates, |object| {
                    (object::sort_key(&object), keep(object))
                })?;
                // Stable: equal keys keep accumulation order, as `Tree::build` does.
                kept.sort_by(|a, b| a.0.cmp(&b.0));
                kept.into_iter().map(|(_, kept)| kept).collect()
            }
            TargetKind::Component => {
                let (cluster, component) = components::of_target(&self.project, &target.name);
                let k =
                    components::kustomization(&self.project, &self.templates, cluster, component)?;
                let tree = tree::Tree {
                    kustomizations: vec![k],
                };
                tree.build(&target.dir).into_iter().map(&keep).collect()
            }
        };
        Ok((sorted.into_iter().enumerate())
            .filter_map(|(position, kept)| Some((position, kept?)))
            .collect())
    }

    /// What `platgen build <name>` prints in `format`, written to `out` as it is
    /// rendered: only the target's own objects are rendered, and only their text is kept.
    pub fn build_to(
        root: &Path,
        name: &str,
        format: emit::Format,
        out: &mut dyn std::io::Write,
    ) -> Result<()> {
        // Loaded by the helper while this thread reads the descriptors (or by this
        // thread, without a helper); a descriptor's error is told first.
        let (templates, reloaded) = (OnceLock::new(), OnceLock::new());
        let loaded = || templates.get_or_init(|| template::Templates::load(root).ok());
        // Filled by this thread, read by the helper (see `parallel::with_helper`).
        let (project, top, patches) = (OnceLock::new(), OnceLock::new(), OnceLock::new());
        let keep = |object: object::Object| tree::Document::new(&object, format);
        // For an environment (its descriptor is `environments/<name>.yaml`), a second
        // core loads and compiles the templates while this one reads the descriptors,
        // then renders the environment's files with it; it waits for them awake 5 ms at
        // most (loading the shipped project takes about 1). A component renders on this
        // core alone.
        let environment = name != model::CATALOG_FILE.trim_end_matches(".yaml")
            && (root.join(model::DESCRIPTOR_DIR))
                .join(format!("{name}.yaml"))
                .is_file();
        parallel::with_helper(
            environment,
            std::time::Duration::from_millis(5),
            |stop| {
                if let Some(templates) = loaded() {
                    templates.compile_environments(stop);
                }
            },
            |files: &tree::Accumulation<'_, '_, Error, _>| files.work(),
            |handoff| {
                let project = init(&project, || model::Project::load(root))?;
                // The error, when the templates did not load.
                let templates = match loaded() {
                    Some(templates) => templates,
                    None => {
                        let templates = template::Templates::load(root)?;
                        reloaded.get_or_init(|| templates)
                    }
                };
                let catalog = &project.catalog;
                let written = match find_target(&targets(project), name)? {
                    Target {
                        kind: TargetKind::Environment,
                        name,
                        ..
                    } => {
                        let env = project.environment(name).expect("a target of the project");
                        let jobs = || environment_files(catalog, env, templates);
                        let top = top.get_or_init(|| objects::overlay_kustomization(catalog, env));
                        let files = handoff.publish(tree::Accumulation::new(top, jobs(), &keep));
                        files.patch(patches.get_or_init(|| objects::overlay_patches(catalog, env)));
                        let mine = files.work();
                        let worked = std::iter::once(mine).chain(handoff.result()).collect();
                        let documents = files.finish(worked, jobs)?;
                        tree::write_sorted(out, &documents, format)
                    }
                    Target { name, dir, .. } => {
                        let (cluster, component) = components::of_target(project, name);
                        let k = components::kustomization(project, templates, cluster, component)?;
                        let tree = tree::Tree {
                            kustomizations: vec![k],
                        };
                        let objects = tree.build(dir);
                        match format {
                            emit::Format::Yaml => emit::write_stream(out, &objects),
                            emit::Format::Json => {
                                format.write(out, objects.iter().map(|o| format.document(o)))
                            }
                        }
                    }
                };
                match written.and_then(|()| out.flush()) {
                    Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::Output(e)),
                    _ => Ok(()),
                }
            },
        )
    }

    /// Every file `platgen write` generates, by path under the tree root, with its text.
    pub fn tree_files(root: &Path) -> Result<BTreeMap<PathBuf, String>> {
        Self::tree_files_with(root, |_, text| text)
    }

    /// Every file `platgen write` generates, by path under the tree root, as `each` makes
    /// it of the file's path and text. The parts of the tree (`base`, each overlay, the
    /// components) are rendered side by side on every core, one file at a time, and each
    /// file goes to `each` on the thread that rendered it, as soon as it is: only what
    /// `each` returns is kept.
    pub fn tree_files_with<T: Send>(
        root: &Path,
        each: impl Fn(&Path, String) -> T + Sync,
    ) -> Result<BTreeMap<PathBuf, T>> {
        let project = model::Project::load(root)?;
        let templates = template::Templates::load(root)?;
        let catalog = &project.catalog;
        enum Part<'a> {
            Base,
            /// A hydrated overlay, and whether it lays base's files out too.
            Hydrated(&'a descriptor::EnvironmentFile, bool),
            Overlay(&'a descriptor::EnvironmentFile),
            Components,
        }
        // A hydrated overlay renders base's objects and its own: the first lays base's
        // files out from the objects it renders anyway. The largest parts first, so that
        // the threads finish together.
        let hydrated =
            |env: &&descriptor::EnvironmentFile| env.layout == descriptor::Layout::Hydrated;
        let (whole, patched): (Vec<_>, Vec<_>) = project.environments.iter().partition(hydrated);
        let base = whole.is_empty().then_some(Part::Base);
        let parts = (whole.into_iter().enumerate())
            .map(|(i, env)| Part::Hydrated(env, i == 0))
            .chain(base)
            .chain(patched.into_iter().map(Part::Overlay))
            .chain([Part::Components]);
        let rendered = parallel::map(parts, |part| {
            let mut files = Vec::new();
            let mut put = |(path, text): (PathBuf, String)| {
                let made = each(&path, text);
                files.push((path, made));
            };
            match part {
                Part::Base => {
                    let mut resources = Emitter::new(objects::BASE);
                    objects::in_order(objects::base_files(catalog, &templates), &mut |file| {
                        resources.emit(file.path, emit::stream(&file.objects), &mut put);
                        Ok(())
                    })?;
                    let k = base_kustomization(resources.finish(&mut put));
                    put(write::kustomization_file(&k));
                }
                Part::Hydrated(env, with_base) => {
                    files.extend(hydrated_files(catalog, env, &templates, with_base, &each)?);
                }
                Part::Overlay(env) => {
                    let mut k = objects::overlay_kustomization(catalog, env);
                    let mut patches = Emitter::new(&k.dir);
                    for patch in objects::overlay_patch_files(catalog, env) {
                        let patch = patch();
                        if !patch.objects.is_empty() {
                            patches.emit(patch.path, emit::stream(&patch.objects), &mut put);
                        }
                    }
                    k.patches = patches.finish(&mut put);
                    let mut resources = Emitter::new(&k.dir);
                    let jobs = objects::overlay_resources(catalog, env, &templates);
                    objects::in_order(jobs, &mut |file| {
                        resources.emit(file.path, emit::stream(&file.objects), &mut put);
                        Ok(())
                    })?;
                    k.resources = resources.finish(&mut put);
                    put(write::kustomization_file(&k));
                }
                Part::Components => {
                    for k in components::kustomizations(&project, &templates)? {
                        folder_files(&k).into_iter().for_each(&mut put);
                    }
                }
            }
            Ok::<_, Error>(files)
        });
        let mut files = BTreeMap::new();
        for part in rendered {
            files.extend(part?);
        }
        Ok(files)
    }

    pub fn target(&self, name: &str) -> Result<&Target> {
        find_target(&self.targets, name)
    }
}

/// Every target of a project: its environments, then the shared components of each
/// cluster that has them (ArgoCD's own first).
pub fn targets(project: &model::Project) -> Vec<Target> {
    let management = project.management().name;
    let environments = project.environments.iter().map(|e| Target {
        name: e.name.to_string(),
        kind: TargetKind::Environment,
        dir: objects::overlay_dir(e.name.as_str()),
        cluster: project.cluster_of(e).name.to_owned(),
        parts: objects::part_dirs(e),
    });
    let components = components::sites(project).into_iter().flat_map(|site| {
        objects::components().iter().map(move |c| Target {
            name: components::target_name(project, site, c),
            kind: TargetKind::Component,
            dir: components::component_dir(project, site, c),
            cluster: if *c == components::ARGOCD {
                management
            } else {
                site
            }
            .to_owned(),
            parts: Vec::new(),
        })
    });
    environments.chain(components).collect()
}

fn find_target<'t>(targets: &'t [Target], name: &str) -> Result<&'t Target> {
    targets.iter().find(|t| t.name == name).ok_or_else(|| {
        let names = targets.iter().map(|t| t.name.as_str());
        Error::UnknownTarget {
            name: name.to_owned(),
            suggestion: source::closest(name, names.clone()).map(str::to_owned),
            available: names.collect::<Vec<_>>().join(", "),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `build`, `write`, `validate` and `diff` render target by target (and `write` file
    /// by file); the whole tree renders every kustomization at once and builds them as
    /// kustomize does: all must say the same, in either layout of an overlay.
    #[test]
    fn the_streamed_renderings_equal_the_whole_tree() {
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR"));
        same_renderings(shipped);
        // The same project with staging's overlay hydrated, and development's in parts.
        let copy = tempfile::tempdir().expect("a scratch folder");
        for folder in [model::DESCRIPTOR_DIR, "templates"] {
            copy_dir(&shipped.join(folder), &copy.path().join(folder));
        }
        for (env, layout) in [
            ("staging", "layout: hydrated\n"),
            ("development", "layout: hydrated\nhydratedParts: 4\n"),
        ] {
            let file = copy
                .path()
                .join(model::DESCRIPTOR_DIR)
                .join(format!("{env}.yaml"));
            let text = std::fs::read_to_string(&file).expect("a descriptor");
            std::fs::write(&file, text + layout).expect("writable");
        }
        same_renderings(copy.path());
        let files = Platform::tree_files(copy.path()).expect("renders");
        let hydrated = Path::new("overlays/staging/deployment.yaml");
        assert!(files.contains_key(hydrated), "no {}", hydrated.display());
        assert!(!files.contains_key(Path::new("overlays/staging/patches/resource-limits.yaml")));
        let part = Path::new("overlays/development/part-04/kustomization.yaml");
        assert!(files.contains_key(part), "no {}", part.display());
    }

    fn same_renderings(root: &Path) {
        let platform = Platform::load(root).expect("the descriptors load");
        let whole = objects::tree(&platform.project, &platform.templates).expect("renders");
        for target in &platform.targets {
            let built = |format| {
                let mut built = Vec::new();
                Platform::build_to(root, &target.name, format, &mut built).expect("builds");
                String::from_utf8(built).expect("UTF-8")
            };
            let objects = whole.build(&target.dir);
            assert!(
                built(emit::Format::Yaml) == emit::stream(&objects),
                "{}",
                target.name
            );
            let json = serde_json::to_string_pretty(&objects).expect("JSON") + "\n";
            assert!(built(emit::Format::Json) == json, "{}", target.name);
            let rendered = platform.objects(target).expect("renders");
            assert!(rendered == objects, "{}", target.name);
        }
        let whole: BTreeMap<PathBuf, String> =
            whole.kustomizations.iter().flat_map(folder_files).collect();
        let streamed = Platform::tree_files(root).expect("renders");
        assert_eq!(
            streamed.keys().collect::<Vec<_>>(),
            whole.keys().collect::<Vec<_>>()
        );
        for (path, text) in &whole {
            assert!(streamed[path] == *text, "{}", path.display());
        }
    }

    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).expect("creatable");
        for entry in std::fs::read_dir(from).expect("readable") {
            let path = entry.expect("an entry").path();
            let target = to.join(path.file_name().expect("a name"));
            if path.is_dir() {
                copy_dir(&path, &target);
            } else {
                std::fs::copy(&path, &target).expect("copied");
            }
        }
    }
}
