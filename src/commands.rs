//! The commands, each over a plain request and a writer: no clap, no process exit here.

use crate::error::{Error, ExitStatus, Result};
use crate::{Platform, write};
use std::io::Write;
use std::path::{Path, PathBuf};

/// What the user asked for, independent of how the command line spelled it.
#[derive(Debug, Clone)]
pub enum Request {
    /// One target, printed as it is rendered: a YAML stream or a JSON array.
    Build {
        target: String,
        format: crate::emit::Format,
    },
    Targets,
    /// Check the descriptors, then the rendered objects of `targets` (every target when empty).
    Validate {
        targets: Vec<String>,
        /// Folder of the custom resources' JSON schemas (`<group>/<kind>_<version>.json`).
        crd_schemas: Option<PathBuf>,
    },
    /// Who may connect to whom in an environment, as its NetworkPolicies allow it.
    Reachability {
        environment: String,
    },
    /// Write the kustomize tree to `out` (default `<root>/k8s`), or only compare with it.
    Write {
        out: Option<PathBuf>,
        check: bool,
    },
    /// Compare two renderings (targets or YAML files), or a target with itself at a Git revision.
    Diff {
        left: String,
        right: Option<String>,
        against_ref: Option<String>,
    },
    /// The JSON Schema of one kind of descriptor, or of both in one document.
    Schema {
        descriptor: Option<crate::schema::Descriptor>,
    },
    /// The Secrets an environment's pods read, with placeholder values; never written.
    SecretsTemplate {
        environment: String,
    },
    /// Set image tags (`<workload>=<tag>`) in an environment file, in place.
    SetImage {
        environment: String,
        images: Vec<String>,
    },
    /// Text the command line layer made itself (completion scripts, the man page).
    Print {
        text: String,
    },
}

impl Request {
    /// Whether the request reads the project (the schema, completions and man page do not).
    pub fn needs_project(&self) -> bool {
        !matches!(self, Request::Schema { .. } | Request::Print { .. })
    }
}

/// The project root: `given` (`--root`, `$PLATGEN_ROOT`) as it is; else, as git finds
/// `.git`, the nearest folder holding `environments/platform.yaml` from the current one
/// upwards, relative to the current folder (`.`, `..`, ...) so that paths in messages
/// stay short. A request that reads no project gets the current folder.
pub fn project_root(given: Option<&Path>, request: &Request) -> Result<PathBuf> {
    if let Some(root) = given {
        return Ok(root.to_owned());
    }
    let here = PathBuf::from(".");
    if !request.needs_project() {
        return Ok(here);
    }
    let cwd = std::env::current_dir().map_err(|source| Error::Read {
        path: here.clone(),
        source,
    })?;
    let catalog = Path::new(crate::model::DESCRIPTOR_DIR).join(crate::model::CATALOG_FILE);
    let up = cwd.ancestors().position(|dir| dir.join(&catalog).is_file());
    match up {
        Some(0) => Ok(here),
        Some(levels) => Ok(std::iter::repeat_n("..", levels).collect()),
        None => Err(Error::NoProject { start: cwd }),
    }
}

/// Runs one request against the project at `root`, writing its output to `out`.
pub fn run(root: &Path, request: &Request, out: &mut dyn Write) -> Result<ExitStatus> {
    match request {
        Request::Build { target, format } => Platform::build_to(root, target, *format, out)?,
        Request::Targets => {
            // The descriptors are loaded and checked; nothing is rendered.
            let project = crate::model::Project::load(root)?;
            let mut text = String::new();
            for t in &crate::targets(&project) {
                text.push_str(&format!("{}\t{}\t{}\n", t.name, t.kind.as_str(), t.dir));
            }
            write_out(out, text.as_bytes())?;
        }
        Request::Validate {
            targets,
            crd_schemas,
        } => {
            let platform = Platform::load(root)?;
            let targets = if targets.is_empty() {
                platform.targets.iter().collect()
            } else {
                targets
                    .iter()
                    .map(|t| platform.target(t))
                    .collect::<Result<Vec<_>>>()?
            };
            let options = crate::check::Options {
                crd_schemas: crd_schemas.as_deref(),
            };
            // Rendered (and a template error reported) before anything is printed.
            let validation = crate::check::validate(&platform, &targets, &options)?;
            let message = format!(
                "descriptors valid: {} environment(s), {} target(s)\n",
                platform.project.environments.len(),
                platform.targets.len()
            );
            write_out(out, message.as_bytes())?;
            write_out(out, crate::check::report(&validation, &targets).as_bytes())?;
            if !validation.findings.is_empty() {
                return Ok(ExitStatus::Failure);
            }
        }
        Request::Reachability { environment } => {
            let platform = Platform::load(root)?;
            let env = crate::secrets_template::environment(&platform.project, environment)?;
            let text = crate::check::reachability::environment(&platform, env)?;
            write_out(out, text.as_bytes())?;
        }
        Request::Write { out: dir, check } => {
            // `k8s`, not `./k8s`, when run at the root.
            let default = || {
                if root == Path::new(".") {
                    PathBuf::from(DEFAULT_TREE)
                } else {
                    root.join(DEFAULT_TREE)
                }
            };
            let dir = dir.clone().unwrap_or_else(default);
            let compare = if *check {
                write::Compare::check(&dir)
            } else {
                write::Compare::write(&dir)
            };
            let files = Platform::tree_files_with(root, |path, text| compare.file(path, text))?;
            if *check {
                let drift = write::check(&dir, &files)?;
                if !drift.is_empty() {
                    write_out(out, crate::color::diff(&drift.report(&dir)).as_bytes())?;
                    return Ok(ExitStatus::Failure);
                }
                let current = format!("{}/ is current: {} files\n", dir.display(), files.len());
                write_out(out, current.as_bytes())?;
            } else {
                let drift = write::write(&dir, &files)?;
                let summary = format!(
                    "{}: {} file(s) written, {} removed, {} unchanged\n",
                    dir.display(),
                    drift.missing.len() + drift.changed.len(),
                    drift.extra.len(),
                    files.len() - drift.missing.len() - drift.changed.len(),
                );
                write_out(out, summary.as_bytes())?;
            }
        }
        Request::Diff {
            left,
            right,
            against_ref,
        } => {
            return crate::diff::run(root, left, right.as_deref(), against_ref.as_deref(), out);
        }
        Request::Schema { descriptor } => {
            let schema = descriptor.map_or_else(crate::schema::both, crate::schema::of);
            write_out(out, crate::schema::render(&schema).as_bytes())?;
        }
        Request::SecretsTemplate { environment } => {
            let project = crate::model::Project::load(root)?;
            let env = crate::secrets_template::environment(&project, environment)?;
            write_out(
                out,
                crate::secrets_template::render(&project, env).as_bytes(),
            )?;
        }
        Request::SetImage {
            environment,
            images,
        } => return crate::set_image::run(root, environment, images, out),
        Request::Print { text } => write_out(out, text.as_bytes())?,
    }
    Ok(ExitStatus::Success)
}

/// The tree's folder under the root when `--out` is not given.
pub const DEFAULT_TREE: &str = "k8s";

/// Writes and flushes; a closed pipe (`platgen build | head`) is not an error.
pub fn write_out(out: &mut dyn Write, bytes: &[u8]) -> Result<()> {
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::Output(e)),
        _ => Ok(()),
    }
}
