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
pub mod scalar;
pub mod schema;
pub mod secrets_template;
pub mod set_image;
pub mod source;
pub mod template;
pub mod tree;
pub mod write;

use error::{Error, Result};
use std::path::Path;

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
        let mut targets: Vec<Target> = project
            .environments
            .iter()
            .map(|e| Target {
                name: e.name.to_string(),
                kind: TargetKind::Environment,
                dir: objects::overlay_dir(e.name.as_str()),
            })
            .collect();
        targets.extend(objects::components().iter().map(|c| Target {
            name: (*c).to_owned(),
            kind: TargetKind::Component,
            dir: objects::component_dir(c),
        }));
        Ok(Platform {
            project,
            tree,
            targets,
        })
    }

    pub fn target(&self, name: &str) -> Result<&Target> {
        self.targets.iter().find(|t| t.name == name).ok_or_else(|| {
            let names = self.targets.iter().map(|t| t.name.as_str());
            Error::UnknownTarget {
                name: name.to_owned(),
                suggestion: source::closest(name, names.clone()).map(str::to_owned),
                available: names.collect::<Vec<_>>().join(", "),
            }
        })
    }

    /// The YAML stream of one target: what `kubectl kustomize` prints for its folder.
    pub fn build(&self, target: &Target) -> String {
        emit::stream(&self.tree.build(&target.dir))
    }
}
