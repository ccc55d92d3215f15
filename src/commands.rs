//! The commands, each over a plain request and a writer: no clap, no process exit here.

use crate::Platform;
use crate::error::{Error, ExitStatus, Result};
use std::io::Write;
use std::path::PathBuf;

/// What the user asked for, independent of how the command line spelled it.
#[derive(Debug, Clone)]
pub enum Request {
    Build { target: String },
    Targets,
    Validate,
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
    }
    Ok(ExitStatus::Success)
}

/// Writes and flushes; a closed pipe (`platgen build | head`) is not an error.
pub fn write_out(out: &mut dyn Write, bytes: &[u8]) -> Result<()> {
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::Output(e)),
        _ => Ok(()),
    }
}
