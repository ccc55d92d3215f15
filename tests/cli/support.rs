//! A scratch copy of the project and a small runner for the built binary.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The repository this test suite belongs to.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A temporary project: a copy of the repository's descriptors and templates.
pub struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Scratch {
        let dir = tempfile::tempdir().expect("temp dir");
        for folder in ["environments", "templates"] {
            copy_dir(&repo().join(folder), &dir.path().join(folder));
        }
        Scratch { dir }
    }

    /// A copy with the example environments (`examples/*.yaml`) added to the shipped
    /// ones, so that checkers run on their output too.
    pub fn with_examples() -> Scratch {
        let project = Scratch::new();
        for entry in std::fs::read_dir(repo().join("examples")).expect("examples/ exists") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "yaml") {
                let name = path
                    .file_name()
                    .expect("name")
                    .to_string_lossy()
                    .into_owned();
                let text = std::fs::read_to_string(&path).expect("readable example");
                project.write(&format!("environments/{name}"), &text);
            }
        }
        project
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.path().join(relative)).expect("readable file")
    }

    pub fn write(&self, relative: &str, text: &str) {
        let path = self.path().join(relative);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }

    /// Replaces exactly one occurrence of `from` in a file; fails loudly when it is not there.
    pub fn edit(&self, relative: &str, from: &str, to: &str) {
        let text = self.read(relative);
        assert_eq!(
            text.matches(from).count(),
            1,
            "`{from}` should occur once in {relative}"
        );
        self.write(relative, &text.replacen(from, to, 1));
    }

    pub fn run(&self, args: &[&str]) -> Run {
        run_in(self.path(), args)
    }
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("readable folder") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

/// What one run of the binary did.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts the exit code, showing stderr when it differs.
    pub fn code(self, expected: i32) -> Run {
        assert_eq!(
            self.code, expected,
            "exit code {} instead of {expected}\nstderr:\n{}",
            self.code, self.stderr
        );
        self
    }

    pub fn stderr_has(self, needle: &str) -> Run {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks `{needle}`:\n{}",
            self.stderr
        );
        self
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`, as platgen
/// reports descriptor locations.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .unwrap_or_default()
        .chars()
        .count()
        + 1;
    (line, col)
}

pub fn run_in(root: &Path, args: &[&str]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_platgen"));
    command.arg("--root").arg(root).args(args);
    run(command)
}

/// Runs the binary in the folder `cwd` with no `--root`: it finds the project itself.
pub fn run_from(cwd: &Path, args: &[&str]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_platgen"));
    command.args(args).current_dir(cwd);
    run(command)
}

fn run(mut command: Command) -> Run {
    let output: Output = command
        .env_remove("PLATGEN_ROOT")
        // Hermetic: only tests that pass `--crd-schemas` check schemas.
        .env_remove("PLATGEN_CRD_SCHEMAS")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("platgen runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(output.stderr).expect("utf-8 stderr"),
    }
}

/// Target names as `platgen targets` lists them.
pub fn targets(root: &Path) -> Vec<String> {
    targets_where(root, |_| true)
}

/// The environments among [`targets`] (kind `environment`).
pub fn environments(root: &Path) -> Vec<String> {
    targets_where(root, |kind| kind == "environment")
}

fn targets_where(root: &Path, keep: impl Fn(&str) -> bool) -> Vec<String> {
    run_in(root, &["targets"])
        .code(0)
        .stdout
        .lines()
        .filter(|l| l.split('\t').nth(1).is_some_and(&keep))
        .map(|l| l.split('\t').next().expect("name").to_owned())
        .collect()
}

/// A readable unified diff of two texts.
pub fn diff(expected: &str, actual: &str, label: &str) -> String {
    similar::TextDiff::from_lines(expected, actual)
        .unified_diff()
        .context_radius(3)
        .header(&format!("{label} (expected)"), &format!("{label} (actual)"))
        .to_string()
}

/// Says that `test` is skipped and why, straight to the process's stderr: `cargo test`
/// captures `eprintln!` of a passing test, so the notice would not show by default.
/// Each variable of `required` (CI sets them), when set, turns the skip into a failure.
pub fn skip(test: &str, why: &str, required: &[&str]) {
    for variable in required {
        assert!(
            std::env::var_os(variable).is_none(),
            "{variable} is set, but {test} cannot run: {why}"
        );
    }
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
}

/// Where `program` is on the `PATH`, if it is.
pub fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|p| p.is_file())
    })
}

/// Runs `command` with `input` on its standard input and collects its output.
pub fn with_stdin(command: &mut Command, input: &str) -> std::io::Result<Output> {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(input.as_bytes())?;
    child.wait_with_output()
}

/// How platgen names its staging folders and lock files.
pub const STAGING: &str = ".platgen-staging-";

/// Entries of `dir` named like platgen's staging folders and lock files.
pub fn leftovers(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(STAGING))
        .map(|e| e.path())
        .collect();
    found.sort();
    found
}
