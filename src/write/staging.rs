//! Emit stage, files on disk: a new tree staged beside the old one, then swapped in.
//!
//! On Linux the swap is one `renameat2(RENAME_EXCHANGE)`: at every instant the output
//! folder exists and is entirely old or entirely new. Elsewhere, or on a file system
//! without that call, it is two renames, and for the microseconds between them the
//! folder is absent. An output folder that cannot itself be renamed (a mount point:
//! EBUSY, EXDEV) has its contents swapped instead, one top-level entry (`base`,
//! `overlays`, `manifests`) at a time: each entry switches in one step, the set of them
//! does not.
//!
//! Every staging folder `.platgen-staging-<id>` comes with a lock file
//! `.platgen-staging-<id>.lock` naming its owner, which the owner keeps locked while it
//! runs. A run removes what it staged whatever way it fails; what a killed run left, the
//! next run removes, once it holds the lock itself: never the staging of a run still
//! going, never a folder without platgen's lock file beside it.

use crate::error::{Error, Result};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// How every staging folder and lock file is named (`.gitignore` lists it).
pub const PREFIX: &str = ".platgen-staging-";
const LOCK: &str = ".lock";
/// First words of every lock file: with its name, what proves a staging folder platgen's.
const OWNER: &str = "platgen staging folder";

/// A staging folder this run owns, removed with its lock file when dropped (after the
/// swap it holds the old tree).
struct Staging {
    dir: PathBuf,
    lock_path: PathBuf,
    /// Held for the whole run: a lock nobody holds marks a staging folder left behind.
    lock: File,
}

impl Staging {
    /// A new, locked staging folder in `parent` for the tree `out_dir`.
    fn create(parent: &Path, out_dir: &Path) -> Result<Staging> {
        let err = |source| Error::Write {
            path: parent.to_owned(),
            source,
        };
        loop {
            let (lock, lock_path) = tempfile::Builder::new()
                .prefix(PREFIX)
                .suffix(LOCK)
                .tempfile_in(parent)
                .map_err(err)?
                .keep()
                .map_err(|e| err(e.error))?;
            // Locked before it names its owner: a lock file with an owner is locked or
            // stale. (Blocking: another run's `remove_stale` may hold it for the instant
            // it reads.)
            let locked = lock.lock().is_ok();
            // Until it names its owner the file is empty, which another run's
            // `remove_stale` takes for one a killed run left: if it removed it meanwhile,
            // this lock is on a file nobody can find, so start again.
            if locked && !same_file(&lock, &lock_path) {
                continue;
            }
            let name = lock_path.file_name().expect("named").to_string_lossy();
            let dir = parent.join(name.strip_suffix(LOCK).expect("suffixed"));
            let staging = Staging {
                dir,
                lock_path,
                lock,
            };
            if locked {
                writeln!(
                    &staging.lock,
                    "{OWNER} {} of {}, process {}: removed by the next `platgen write` if left behind",
                    staging.dir.display(),
                    out_dir.display(),
                    std::process::id()
                )
                .map_err(err)?;
            }
            fs::create_dir(&staging.dir).map_err(err)?;
            return Ok(staging);
        }
    }

    /// Where the old tree goes when it cannot be swapped out in one step.
    fn old(&self) -> PathBuf {
        old_path(&self.dir)
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = remove_tree(&self.dir);
        let _ = remove_tree(&self.old());
        let _ = fs::remove_file(&self.lock_path);
    }
}

fn old_path(dir: &Path) -> PathBuf {
    let mut name = dir.file_name().expect("named").to_owned();
    name.push(".old");
    dir.with_file_name(name)
}

fn remove_tree(path: &Path) -> io::Result<()> {
    match fs::remove_dir_all(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// Whether `path` still names the open `file` (Unix: the same inode; elsewhere: it
/// exists).
fn same_file(file: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), fs::metadata(path)) {
            (Ok(open), Ok(named)) => open.dev() == named.dev() && open.ino() == named.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        path.exists()
    }
}

/// Removes the staging folders in `dir` that runs which ended without cleaning up left:
/// those whose lock file carries platgen's owner line and is no longer locked. An empty
/// lock file nobody holds, with no staging folder beside it, is one a run killed before
/// it named its owner left (a running one names it before it stages anything, and
/// starts again if its file is removed first): it goes too.
pub fn remove_stale(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(stem) = name
            .to_str()
            .filter(|n| n.starts_with(PREFIX))
            .and_then(|n| n.strip_suffix(LOCK))
        else {
            continue;
        };
        let Ok(mut lock) = File::open(entry.path()) else {
            continue;
        };
        let mut owner = String::new();
        if lock.try_lock().is_err() || lock.read_to_string(&mut owner).is_err() {
            continue;
        }
        let staged = dir.join(stem);
        if owner.is_empty() && fs::symlink_metadata(&staged).is_err() {
            let _ = fs::remove_file(entry.path());
            continue;
        }
        if !owner.starts_with(OWNER) {
            continue;
        }
        if remove_tree(&staged).is_ok() && remove_tree(&old_path(&staged)).is_ok() {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// A staging folder of this run's beside the tree `out_dir` (locked, and removed with
/// its lock file when dropped, as every staging folder): where `write` puts the files it
/// generates as they come, and where [`replace`] stages the new tree.
pub struct Scratch(Staging);

impl Scratch {
    pub fn create(out_dir: &Path) -> Result<Scratch> {
        let parent = parent_of(out_dir);
        fs::create_dir_all(parent).map_err(|source| Error::Write {
            path: parent.to_owned(),
            source,
        })?;
        Staging::create(parent, out_dir).map(Scratch)
    }

    pub fn dir(&self) -> &Path {
        &self.0.dir
    }
}

/// The folder `out_dir` sits in (`.` for a bare name).
pub fn parent_of(out_dir: &Path) -> &Path {
    out_dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Puts the tree that `fill` stages (given the staging folder) in place of `out_dir`.
/// Whatever fails, nothing staged remains and `out_dir` is the old tree.
pub fn replace(out_dir: &Path, fill: impl Fn(&Path) -> Result<()>) -> Result<()> {
    let Scratch(staging) = Scratch::create(out_dir)?;
    fill(&staging.dir)?;
    match swap(&staging.dir, out_dir, &staging.old()) {
        Ok(_) => Ok(()),
        Err(e) if cannot_move(&e) => {
            drop(staging);
            let staging = Staging::create(out_dir, out_dir)?;
            fill(&staging.dir)?;
            swap_contents(&staging, out_dir)
        }
        Err(source) => Err(Error::Write {
            path: out_dir.to_owned(),
            source,
        }),
    }
}

/// The error of renaming a folder that is a mount point (or on another file system).
fn cannot_move(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ResourceBusy | io::ErrorKind::CrossesDevices
    )
}

/// Swaps the contents of `out_dir` for those of the staging folder, entry by entry; on
/// failure the entries already swapped are swapped back.
fn swap_contents(staging: &Staging, out_dir: &Path) -> Result<()> {
    let old = staging.old();
    let err = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Write { path, source }
    };
    fs::create_dir(&old).map_err(err(out_dir))?;
    let names = |dir: &Path| -> Result<Vec<_>> {
        let mut names = Vec::new();
        for entry in fs::read_dir(dir).map_err(err(dir))? {
            let name = entry.map_err(err(dir))?.file_name();
            if !name.to_string_lossy().starts_with(PREFIX) {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    };
    let new = names(&staging.dir)?;
    let gone = names(out_dir)?.into_iter().filter(|n| !new.contains(n));
    let mut done = Vec::new();
    for name in new.iter().chain(gone.collect::<Vec<_>>().iter()) {
        let paths = (staging.dir.join(name), out_dir.join(name), old.join(name));
        let swapped = if new.contains(name) {
            swap(&paths.0, &paths.1, &paths.2)
        } else {
            fs::rename(&paths.1, &paths.2).map(|()| Swapped::Retired)
        };
        match swapped {
            Ok(how) => done.push((how, paths)),
            Err(source) => {
                for (how, (new, dest, old)) in done.into_iter().rev() {
                    let _ = unswap(how, &new, &dest, &old);
                }
                return Err(Error::Write {
                    path: paths.1,
                    source,
                });
            }
        }
    }
    Ok(())
}

/// How [`swap`] put a new entry in place, so that it can be undone.
#[derive(Debug, Clone, Copy)]
enum Swapped {
    /// In one step: the old entry is where the new one was.
    Exchanged,
    /// There was no old entry.
    Moved,
    /// In two renames: the old entry is at `old`.
    Renamed,
    /// An old entry with no new one, moved to `old`.
    Retired,
}

/// Puts `new` in place of `dest`. The old `dest` ends up at `new` when the OS swaps
/// them in one step, else at `old` (with a moment in between where `dest` is absent).
fn swap(new: &Path, dest: &Path, old: &Path) -> io::Result<Swapped> {
    if fs::symlink_metadata(dest).is_err() {
        return fs::rename(new, dest).map(|()| Swapped::Moved);
    }
    if exchange(new, dest)? {
        return Ok(Swapped::Exchanged);
    }
    fs::rename(dest, old)?;
    if let Err(e) = fs::rename(new, dest) {
        let _ = fs::rename(old, dest);
        return Err(e);
    }
    Ok(Swapped::Renamed)
}

fn unswap(how: Swapped, new: &Path, dest: &Path, old: &Path) -> io::Result<()> {
    match how {
        Swapped::Exchanged => exchange(new, dest).map(|_| ()),
        Swapped::Moved => fs::rename(dest, new),
        Swapped::Renamed => fs::rename(dest, new).and_then(|()| fs::rename(old, dest)),
        Swapped::Retired => fs::rename(old, dest),
    }
}

/// Swaps two existing paths in one step; `Ok(false)` when the OS or file system cannot.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> io::Result<bool> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| CString::new(p.as_os_str().as_bytes()).map_err(io::Error::other);
    let (a, b) = (c(a)?, c(b)?);
    // SAFETY: both paths are NUL-terminated strings that outlive the call.
    let status = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if status == 0 {
        return Ok(true);
    }
    let e = io::Error::last_os_error();
    match e.raw_os_error() {
        // Not supported by this kernel or file system.
        Some(libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP) => Ok(false),
        _ => Err(e),
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> io::Result<bool> {
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    /// A reader looking for the folder all along never misses it, over many swaps (with
    /// two renames instead of the exchange, it misses it about a tenth of the time).
    #[test]
    #[cfg(target_os = "linux")]
    fn the_folder_is_there_at_every_look_while_it_is_swapped() {
        let root = tempfile::tempdir().expect("temp dir");
        let out = root.path().join("k8s");
        let fill = |n: usize| {
            move |dir: &Path| {
                fs::create_dir_all(dir.join("base")).expect("mkdir");
                fs::write(dir.join("base/n.yaml"), n.to_string()).expect("write");
                Ok(())
            }
        };
        replace(&out, fill(0)).expect("first write");
        let stop = Arc::new(AtomicBool::new(false));
        let (looks, missing) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let watcher = {
            let (out, stop, looks, missing) =
                (out.clone(), stop.clone(), looks.clone(), missing.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if !out.is_dir() {
                        missing.fetch_add(1, Ordering::Relaxed);
                    }
                    looks.fetch_add(1, Ordering::Relaxed);
                }
            })
        };
        for n in 1..=500 {
            replace(&out, fill(n)).expect("swap");
        }
        stop.store(true, Ordering::Relaxed);
        watcher.join().expect("watcher");
        assert_eq!(fs::read_to_string(out.join("base/n.yaml")).unwrap(), "500");
        assert_eq!(missing.load(Ordering::Relaxed), 0, "of {looks:?} looks");
        // Nothing but the tree remains.
        let names: Vec<_> = fs::read_dir(root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["k8s"]);
    }
}
