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

use error::{Error, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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
}

/// Every file of one kustomization folder, `kustomization.yaml` last.
fn folder_files(k: &tree::Kustomization) -> Vec<(PathBuf, String)> {
    let mut files: Vec<_> = (k.resources.iter().chain(&k.patches))
        .map(|file| write::file(&k.dir, file))
        .collect();
    files.push(write::kustomization_file(k));
    files
}

/// Emits `file` of the kustomization folder `dir` into `files`, and keeps it in `list`
/// without its objects (all `kustomization.yaml` needs is its path).
fn emit_file(
    files: &mut Vec<(PathBuf, String)>,
    dir: &str,
    list: &mut Vec<tree::File>,
    mut file: tree::File,
) {
    files.push(write::file(dir, &file));
    file.objects = Vec::new();
    list.push(file);
}

/// `platgen build <env>`, written to `out`: the overlay's patches are rendered first,
/// then `base` and the overlay's own resources side by side (see [`tree::build_streamed`]).
fn build_environment(
    catalog: &descriptor::Catalog,
    env: &descriptor::EnvironmentFile,
    templates: &template::Templates,
    format: emit::Format,
    out: &mut dyn std::io::Write,
) -> Result<std::io::Result<()>> {
    let mut top = objects::overlay_kustomization(catalog, env);
    top.patches = objects::overlay_patches(catalog, env);
    tree::build_streamed(
        &top,
        |add| {
            objects::base_files(catalog, templates, &mut |file| {
                file.objects.into_iter().for_each(&mut *add);
                Ok(())
            })
        },
        |add| {
            objects::overlay_resources(catalog, env, templates, &mut |file| {
                file.objects.into_iter().for_each(&mut *add);
                Ok(())
            })
        },
        format,
        out,
    )
}

/// A loaded project: validated descriptors and the tree they produce.
pub struct Platform {
    pub project: model::Project,
    pub tree: tree::Tree,
    pub targets: Vec<Target>,
}

impl Platform {
    /// Runs every stage up to the layout: load, validate, render.
    pub fn load(root: &Path) -> Result<Platform> {
        let project = model::Project::load(root)?;
        let templates = template::Templates::load(root)?;
        let tree = objects::tree(&project, &templates)?;
        let targets = targets(&project);
        Ok(Platform {
            project,
            tree,
            targets,
        })
    }

    /// What `platgen build <name>` prints in `format`, written to `out` as it is
    /// rendered: only the target's own objects are rendered, and only their text is kept.
    pub fn build_to(
        root: &Path,
        name: &str,
        format: emit::Format,
        out: &mut dyn std::io::Write,
    ) -> Result<()> {
        let project = model::Project::load(root)?;
        let templates = template::Templates::load(root)?;
        let catalog = &project.catalog;
        let written = match find_target(&targets(&project), name)? {
            Target {
                kind: TargetKind::Environment,
                name,
                ..
            } => {
                let env = project.environment(name).expect("a target of the project");
                build_environment(catalog, env, &templates, format, out)?
            }
            Target { name, dir, .. } => {
                let (cluster, component) = components::of_target(&project, name);
                let k = components::kustomization(&project, &templates, cluster, component)?;
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
    }

    /// Every file `platgen write` generates, by path under the tree root. The parts of
    /// the tree (`base`, each overlay, the components) are rendered side by side on every
    /// core, one file at a time: only text is kept.
    pub fn tree_files(root: &Path) -> Result<BTreeMap<PathBuf, String>> {
        let project = model::Project::load(root)?;
        let templates = template::Templates::load(root)?;
        let catalog = &project.catalog;
        enum Part<'a> {
            Base,
            Overlay(&'a descriptor::EnvironmentFile),
            Components,
        }
        let parts = std::iter::once(Part::Base)
            .chain(project.environments.iter().map(Part::Overlay))
            .chain([Part::Components]);
        let rendered = parallel::map(parts, |part| {
            let mut files = Vec::new();
            match part {
                Part::Base => {
                    let mut k = tree::Kustomization {
                        dir: objects::BASE.into(),
                        ..Default::default()
                    };
                    objects::base_files(catalog, &templates, &mut |file| {
                        emit_file(&mut files, &k.dir, &mut k.resources, file);
                        Ok(())
                    })?;
                    files.push(write::kustomization_file(&k));
                }
                Part::Overlay(env) => {
                    let mut k = objects::overlay_kustomization(catalog, env);
                    for patch in objects::overlay_patches(catalog, env) {
                        emit_file(&mut files, &k.dir, &mut k.patches, patch);
                    }
                    objects::overlay_resources(catalog, env, &templates, &mut |file| {
                        emit_file(&mut files, &k.dir, &mut k.resources, file);
                        Ok(())
                    })?;
                    files.push(write::kustomization_file(&k));
                }
                Part::Components => {
                    for k in components::kustomizations(&project, &templates)? {
                        files.extend(folder_files(&k));
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

    /// `build` and `write` render target by target and file by file; `validate` and
    /// `diff` go through the whole tree: all must say the same.
    #[test]
    fn the_streamed_renderings_equal_the_whole_tree() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let platform = Platform::load(root).expect("the shipped descriptors load");
        for target in &platform.targets {
            let built = |format| {
                let mut built = Vec::new();
                Platform::build_to(root, &target.name, format, &mut built).expect("builds");
                String::from_utf8(built).expect("UTF-8")
            };
            let objects = platform.tree.build(&target.dir);
            assert!(
                built(emit::Format::Yaml) == emit::stream(&objects),
                "{}",
                target.name
            );
            let json = serde_json::to_string_pretty(&objects).expect("JSON") + "\n";
            assert!(built(emit::Format::Json) == json, "{}", target.name);
        }
        let whole: BTreeMap<PathBuf, String> = platform
            .tree
            .kustomizations
            .iter()
            .flat_map(folder_files)
            .collect();
        let streamed = Platform::tree_files(root).expect("renders");
        assert_eq!(
            streamed.keys().collect::<Vec<_>>(),
            whole.keys().collect::<Vec<_>>()
        );
        for (path, text) in &whole {
            assert!(streamed[path] == *text, "{}", path.display());
        }
    }
}
