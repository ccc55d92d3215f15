//! The commands, each over a plain request and a writer: no clap, no process exit here.

use crate::error::{Error, ExitStatus, Result};
use crate::{Platform, write};
use std::io::Write;
use std::path::PathBuf;

/// What the user asked for, independent of how the command line spelled it.
#[derive(Debug, Clone)]
pub enum Request {
    Build {
        target: String,
    },
    Targets,
    Validate,
    /// Write the kustomize tree to `out` (default `<root>/k8s`), or only compare with it.
    Write {
        out: Option<PathBuf>,
        check: bool,
    },
}

/// Runs one request against the project at `root`, writing its output to `out`.
pub fn run(root: &PathBuf, request: &Request, out: &mut dyn Write) -> Result<ExitStatus> {
    match request {
        Request::Build { target } => {
            let platform = Platform::load(root)?;
            let target = platform.target(target)?;
            write_out(out, platform.build(target).as_bytes())?;
        }
        Request::Targets => {
            let platform = Platform::load(root)?;
            let mut text = String::new();
            for t in &platform.targets {
                text.push_str(&format!("{}\t{}\t{}\n", t.name, t.kind.as_str(), t.dir));
            }
            write_out(out, text.as_bytes())?;
        }
        Request::Validate => {
            let platform = Platform::load(root)?;
            let message = format!(
                "descriptors valid: {} environment(s), {} target(s)\n",
                platform.project.environments.len(),
                platform.targets.len()
            );
            write_out(out, message.as_bytes())?;
        }
        Request::Write { out: dir, check } => {
            let platform = Platform::load(root)?;
            let dir = dir.clone().unwrap_or_else(|| root.join(DEFAULT_TREE));
            let files = write::files(&platform.tree);
            if *check {
                let drift = write::check(&dir, &files)?;
                write_out(out, drift.report(&dir).as_bytes())?;
                if !drift.is_empty() {
                    return Ok(ExitStatus::Failure);
                }
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
