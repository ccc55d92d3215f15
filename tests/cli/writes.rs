//! `platgen write` under failure: killed at random moments, refused by the OS, on a mount
//! point, next to staging folders of other runs. The tree is always entirely old or
//! entirely new, and nothing of platgen's is left behind once a run succeeds.

use crate::scale::grow_catalog;
use crate::support::{STAGING, Scratch, leftovers, skip};
use crate::tree::snapshot;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_platgen");
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// The two descriptor states the kill test alternates between: every workload's probe path.
const HEALTH: [&str; 2] = ["healthPath: /health\n", "healthPath: /healthz\n"];

#[test]
fn killed_writes_leave_the_old_or_the_new_tree_and_the_next_run_cleans_up() {
    let project = Scratch::new();
    grow_catalog(&project);
    let out = project.path().join("k8s");
    let catalog = "environments/platform.yaml";
    let set = |state: usize| {
        let text = project.read(catalog);
        let text = text.replacen(HEALTH[1 - state], HEALTH[state], 1);
        project.write(catalog, &text);
    };
    project.run(&["write"]).code(0);
    let started = Instant::now();
    let trees = [snapshot(&out), {
        set(1);
        project.run(&["write"]).code(0);
        snapshot(&out)
    }];
    assert_ne!(trees[0], trees[1]);
    // One write of the large catalog: the span the blind kills are spread over.
    let span = started.elapsed();

    // The watcher looks for the output folder as fast as it can, all along.
    let stop = Arc::new(AtomicBool::new(false));
    let (seen, missing) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let watcher = {
        let (out, stop, seen, missing) = (out.clone(), stop.clone(), seen.clone(), missing.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if !out.is_dir() {
                    missing.fetch_add(1, Ordering::Relaxed);
                }
                seen.fetch_add(1, Ordering::Relaxed);
            }
        })
    };

    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64)
        | 1;
    let mut rng = seed;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut on_disk = 1;
    let (mut runs, mut kills, mut left_behind, mut switched) = (0, 0, 0, 0);
    // How long a write stages and swaps, once its staging folder appears: measured on
    // the runs left to complete.
    let mut window = Duration::from_millis(300);
    // Bounded in time (a write of the large catalog takes a second or more of CPU), but
    // six runs and three kills at least, however loaded the machine.
    let deadline = Instant::now() + Duration::from_secs(20);
    while runs < 30 && (runs < 6 || kills < 3 || Instant::now() < deadline) {
        set(1 - on_disk);
        let stale = leftovers(project.path());
        let mut child = Command::new(BIN)
            .arg("--root")
            .arg(project.path())
            .arg("write")
            .env_remove("PLATGEN_ROOT")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("platgen starts");
        let fraction = (next() % 1000) as f64 / 1000.0;
        let staged = |child: &mut std::process::Child| {
            let waiting = Instant::now();
            while leftovers(project.path()).iter().all(|l| stale.contains(l))
                && child.try_wait().expect("status").is_none()
                && waiting.elapsed() < span * 3
            {
                std::thread::sleep(Duration::from_millis(1));
            }
            Instant::now()
        };
        runs += 1;
        match runs % 3 {
            // Blind: anywhere in the run, rendering included.
            0 => std::thread::sleep(span.mul_f64(fraction)),
            // Aimed: while it stages and swaps.
            1 => {
                staged(&mut child);
                std::thread::sleep(window.mul_f64(fraction * 1.2));
            }
            // Left to complete, its swap watched.
            _ => {
                let from = staged(&mut child);
                let status = child.wait().expect("runs");
                assert!(status.success(), "an uninterrupted write failed");
                window = from.elapsed();
            }
        }
        if child.try_wait().expect("status").is_none() {
            child.kill().expect("SIGKILL");
            kills += 1;
        }
        child.wait().expect("reaped");
        let now = snapshot(&out);
        let before = on_disk;
        on_disk = match trees.iter().position(|t| *t == now) {
            Some(state) => state,
            None => panic!("after run {runs} (seed {seed}) the tree is neither old nor new"),
        };
        switched += usize::from(on_disk != before);
        left_behind += usize::from(!leftovers(project.path()).is_empty());
    }
    stop.store(true, Ordering::Relaxed);
    watcher.join().expect("watcher");
    let (seen, missing) = (
        seen.load(Ordering::Relaxed),
        missing.load(Ordering::Relaxed),
    );
    let _ = writeln!(
        std::io::stderr(),
        "{runs} runs, {kills} killed (seed {seed}, span {span:?}, window {window:?}): \
         {switched} switched the tree, {left_behind} left staging behind; the output folder \
         was looked at {seen} times"
    );
    assert!(kills >= 3 && seen > 1000, "{kills} kills, {seen} looks");
    assert_eq!(
        missing, 0,
        "the output folder was missing {missing} of {seen} times"
    );

    // The next successful run removes what the killed ones left, and only that.
    project.run(&["write"]).code(0);
    assert_eq!(leftovers(project.path()), Vec::<PathBuf>::new());
    assert_eq!(leftovers(&out), Vec::<PathBuf>::new());
    let state = HEALTH
        .iter()
        .position(|h| project.read(catalog).contains(h));
    assert!(snapshot(&out) == trees[state.expect("a known state")]);
}

#[test]
fn stale_staging_is_removed_and_that_of_a_running_write_kept() {
    let project = Scratch::new();
    project.run(&["write"]).code(0);
    let root = project.path();
    let owner = "platgen staging folder x of k8s, process 1: removed by the next `platgen write` if left behind\n";
    // A killed run: its lock file names it and nobody holds the lock.
    project.write(".platgen-staging-dead.lock", owner);
    project.write(".platgen-staging-dead/base/x.yaml", "x\n");
    project.write(".platgen-staging-dead.old/base/y.yaml", "y\n");
    // A run killed before it named itself: an empty lock file, nothing staged.
    project.write(".platgen-staging-unnamed.lock", "");
    // An empty lock file beside a folder is not one platgen leaves: kept.
    project.write(".platgen-staging-odd.lock", "");
    project.write(".platgen-staging-odd/notes.txt", "mine\n");
    // A run going on: its lock is held (here by the test).
    project.write(".platgen-staging-live.lock", owner);
    project.write(".platgen-staging-live/base/x.yaml", "x\n");
    let live = std::fs::File::open(root.join(".platgen-staging-live.lock")).expect("open");
    live.lock().expect("lock");
    // Not provably platgen's: no lock file.
    project.write(".platgen-staging-foreign/notes.txt", "mine\n");

    project.edit("environments/staging.yaml", "replicas: 2", "replicas: 3");
    project.run(&["write"]).code(0);
    assert_eq!(
        leftovers(root),
        [
            root.join(".platgen-staging-foreign"),
            root.join(".platgen-staging-live"),
            root.join(".platgen-staging-live.lock"),
            root.join(".platgen-staging-odd"),
            root.join(".platgen-staging-odd.lock"),
        ]
    );
    drop(live);
    // Stale ones go even when there is nothing to write.
    project.run(&["write"]).code(0);
    assert_eq!(
        leftovers(root),
        [
            root.join(".platgen-staging-foreign"),
            root.join(".platgen-staging-odd"),
            root.join(".platgen-staging-odd.lock"),
        ]
    );
}

#[test]
fn a_folder_where_a_file_goes_is_named_and_nothing_is_left() {
    let project = Scratch::new();
    project.run(&["write"]).code(0);
    let file = project.path().join("k8s/base/namespace.yaml");
    std::fs::remove_file(&file).expect("rm");
    project.write("k8s/base/namespace.yaml/notes.txt", "x\n");
    let run = project.run(&["write"]).code(2);
    assert!(
        run.stderr
            .contains(&format!("cannot write {}:", file.display())),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(STAGING), "{}", run.stderr);
    assert_eq!(leftovers(project.path()), Vec::<PathBuf>::new());
}

/// Unmounts when dropped, so that a failing test leaves no mount behind.
struct BindMount(PathBuf);

impl Drop for BindMount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_mount_point_gets_its_contents_swapped() {
    // Renaming a mount point fails with EBUSY: every write failed, leaving its staging.
    let test = "a_mount_point_gets_its_contents_swapped";
    let project = Scratch::new();
    project.run(&["write"]).code(0);
    let out = project.path().join("k8s");
    if !is_root() {
        return skip(test, "needs root to bind-mount the output folder", &[]);
    }
    let mounted = Command::new("mount")
        .arg("--bind")
        .arg(&out)
        .arg(&out)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        return skip(test, "`mount --bind` is not permitted here", &[]);
    }
    let _mount = BindMount(out.clone());
    project.write("k8s/README.md", "hand-written\n");
    project.edit("environments/staging.yaml", "replicas: 2", "replicas: 3");
    let run = project.run(&["write"]).code(0);
    assert!(run.stdout.contains("file(s) written"), "{}", run.stdout);
    project.run(&["write", "--check"]).code(0);
    assert_eq!(project.read("k8s/README.md"), "hand-written\n");
    assert_eq!(leftovers(project.path()), Vec::<PathBuf>::new());
    assert_eq!(leftovers(&out), Vec::<PathBuf>::new());
    // Still the mount point: the folder itself was never replaced.
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    assert!(
        mounts.contains(&format!(" {} ", out.display())),
        "no longer mounted"
    );
}

#[test]
fn a_swap_the_os_refuses_leaves_nothing_behind() {
    // A tree owned by another user in a sticky folder: the rename fails with EPERM after
    // the whole tree was staged, and the staged copy stayed.
    let test = "a_swap_the_os_refuses_leaves_nothing_behind";
    if !is_root() {
        return skip(
            test,
            "needs root to own a tree another user then writes",
            &[],
        );
    }
    let project = Scratch::new();
    let shared = project.path().join("shared");
    let out = shared.join("k8s");
    project
        .run(&["write", "--out", out.to_str().expect("UTF-8 path")])
        .code(0);
    let before = snapshot(&out);
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &Path, mode| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod")
    };
    mode(project.path(), 0o755);
    mode(&shared, 0o1777);
    project.edit("environments/staging.yaml", "replicas: 2", "replicas: 3");
    let run = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", BIN])
        .arg("--root")
        .arg(project.path())
        .arg("write")
        .arg("--out")
        .arg(&out)
        .env("NO_COLOR", "1")
        .output();
    let Ok(run) = run else {
        return skip(test, "setpriv is not available", &[]);
    };
    let stderr = String::from_utf8_lossy(&run.stderr);
    if stderr.starts_with("setpriv:") {
        let why = format!("cannot run the binary as user 65534: {stderr}");
        return skip(test, &why, &[]);
    }
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot write {}", out.display()))
            && stderr.contains("Operation not permitted"),
        "{stderr}"
    );
    assert_eq!(snapshot(&out), before, "tree changed by a refused write");
    assert_eq!(leftovers(&shared), Vec::<PathBuf>::new());
}

#[test]
fn staging_names_are_ignored_by_git() {
    // With the default `--out k8s` they sit at the repository's root, in `git status`.
    let names = [
        ".platgen-staging-a1b2c3",
        ".platgen-staging-a1b2c3.lock",
        ".platgen-staging-a1b2c3.old",
        "k8s/.platgen-staging-a1b2c3",
    ];
    let ignored = Command::new("git")
        .arg("-C")
        .arg(crate::support::repo())
        .args(["check-ignore", "--no-index"])
        .args(names)
        .output();
    match ignored {
        Ok(out) => assert_eq!(
            String::from_utf8_lossy(&out.stdout).lines().count(),
            names.len(),
            "not every staging name is in .gitignore"
        ),
        Err(_) => skip("staging_names_are_ignored_by_git", "git not found", &[]),
    }
}
