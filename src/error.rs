//! Errors of every stage, each carrying what it concerns, and the exit code each maps to.

use std::path::PathBuf;

/// Everything that can stop platgen. Descriptor problems are collected and reported together.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// One or more descriptor problems, each already rendered with file, line, column and caret.
    #[error("{}\n{} problem(s) in the descriptors", .0.join("\n"), .0.len())]
    Descriptors(Vec<String>),

    #[error("unknown target `{name}`{}\n  available targets: {available}", suggestion_text(.suggestion))]
    UnknownTarget {
        name: String,
        suggestion: Option<String>,
        available: String,
    },

    #[error("cannot read {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("cannot write {}: {source}", .path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("template `{name}` failed: {source:#}")]
    Template {
        name: String,
        #[source]
        source: minijinja::Error,
    },

    #[error("template `{name}` did not render valid YAML: {source}")]
    TemplateOutput {
        name: String,
        #[source]
        source: serde_yaml::Error,
    },

    /// The tree on disk holds a file platgen did not write where it would write one.
    #[error("refusing to overwrite or delete {}: it has no platgen marker (a hand-written file?)", .0.display())]
    HandWritten(PathBuf),

    #[error("{0}")]
    Usage(String),

    /// No `--root` and no project around the current folder.
    #[error("no environments/platform.yaml in {} or any folder above it: run platgen inside the project, or name its root with --root DIR (or $PLATGEN_ROOT)", .start.display())]
    NoProject { start: PathBuf },

    /// A name given on the command line that the descriptors do not define.
    #[error("unknown {what} `{name}`{}\n  available: {available}", suggestion_text(.suggestion))]
    UnknownName {
        what: &'static str,
        name: String,
        suggestion: Option<String>,
        available: String,
    },

    /// A YAML file given to `platgen diff` that is not a stream of objects.
    #[error("cannot read objects from {}: {message}", .path.display())]
    Rendering { path: PathBuf, message: String },

    /// The descriptors at a Git revision (`platgen diff --against-ref`) could not be read.
    #[error("cannot read the descriptors at git revision `{rev}`: {message}")]
    GitRevision { rev: String, message: String },

    /// `platgen set-image` edited a descriptor that validation then rejected (the project
    /// no longer loads, or `validate` finds something new): the edit was undone.
    #[error("the edit of {} was undone: validation rejects it\n{problems}", .path.display())]
    EditRejected { path: PathBuf, problems: String },

    /// A JSON schema of a custom resource (`validate --crd-schemas`) is unreadable or invalid.
    #[error("cannot use the JSON schema {}: {message}", .path.display())]
    Schema { path: PathBuf, message: String },

    #[error(transparent)]
    Output(std::io::Error),
}

fn suggestion_text(suggestion: &Option<String>) -> String {
    match suggestion {
        Some(s) => format!(": did you mean `{s}`?"),
        None => String::new(),
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How a command ended, as the process exit code documented in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: done, or the check found nothing.
    Success,
    /// 1: a check found drift or a problem.
    Failure,
    /// 2: platgen could not do what was asked.
    Error,
}

impl ExitStatus {
    pub fn code(self) -> i32 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::Error => 2,
        }
    }
}
