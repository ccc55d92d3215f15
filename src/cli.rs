//! The command line: clap types only, turned into a `commands::Request` before any I/O.

use clap::{Parser, Subcommand};
use platgen::commands::Request;
use std::path::PathBuf;

/// Generates the Kubernetes deployment of the e-commerce platform from typed descriptors.
#[derive(Debug, Parser)]
#[command(name = "platgen", version, about)]
pub struct Cli {
    /// Project root: the folder holding environments/ and templates/.
    #[arg(long, global = true, default_value = ".", env = "PLATGEN_ROOT")]
    pub root: PathBuf,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print one target (an environment or a shared component) as a YAML stream.
    Build {
        /// Target name, as `platgen targets` lists it.
        target: String,
    },
    /// List the targets: name, kind and kustomization folder, tab-separated.
    Targets,
    /// Check the descriptors.
    Validate,
    /// Write the kustomize tree (base, overlays, manifests) that ArgoCD deploys.
    Write {
        /// Folder of the tree [default: <root>/k8s].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Write nothing; exit 1 and print a diff when the tree on disk is not current.
        #[arg(long)]
        check: bool,
    },
}

impl Cli {
    pub fn request(&self) -> Request {
        match &self.command {
            Command::Build { target } => Request::Build {
                target: target.clone(),
            },
            Command::Targets => Request::Targets,
            Command::Validate => Request::Validate,
            Command::Write { out, check } => Request::Write {
                out: out.clone(),
                check: *check,
            },
        }
    }
}
