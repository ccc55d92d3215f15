//! Emit stage, compared: `platgen diff`, the objects of two renderings side by side.
//!
//! A rendering is a target built now, a target built from the descriptors of an earlier
//! Git revision, or a YAML file (a golden file, an earlier `platgen build`). Objects are
//! matched by identity (group, kind, namespace, name); when the two renderings live in
//! different namespaces (two environments), each one's own namespace is matched with the
//! other's, so that `staging` and `production` compare object by object. Every changed
//! object gets a unified diff of its YAML, with Secret data and credential-like
//! environment values masked.

use crate::error::{Error, ExitStatus, Result};
use crate::object::{self, Object};
use crate::{Platform, color, commands, emit};
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::Write;
use std::path::Path;
use std::process::Command;

/// What stands in for a masked value.
pub const MASK: &str = "<masked>";

/// One side of a comparison: a label for people and the objects.
#[derive(Debug, Clone)]
pub struct Rendering {
    pub label: String,
    pub objects: Vec<Object>,
}

/// `platgen diff <left> <right>` or `platgen diff <left> --against-ref <rev>`; exit 0
/// when the renderings hold the same objects, 1 when they differ.
pub fn run(
    root: &Path,
    left: &str,
    right: Option<&str>,
    against_ref: Option<&str>,
    out: &mut dyn Write,
) -> Result<ExitStatus> {
    let (old, new) = match (right, against_ref) {
        (Some(right), None) => {
            let platform = if is_file(left) && is_file(right) {
                None
            } else {
                Some(Platform::load(root)?)
            };
            (
                side(platform.as_ref(), left)?,
                side(platform.as_ref(), right)?,
            )
        }
        (None, Some(rev)) => {
            if is_file(left) {
                return Err(Error::Usage(format!(
                    "`{left}` is a file; --against-ref compares a target with itself at an earlier revision"
                )));
            }
            let checkout = tempfile::tempdir().map_err(|source| Error::Write {
                path: std::env::temp_dir(),
                source,
            })?;
            export(root, rev, checkout.path())?;
            let then = Platform::load(checkout.path())?;
            let mut old = target(&then, left)?;
            old.label = format!("{left}@{rev}");
            (old, target(&Platform::load(root)?, left)?)
        }
        (Some(_), Some(_)) => {
            return Err(Error::Usage(
                "--against-ref takes one target: `platgen diff <target> --against-ref <rev>`"
                    .into(),
            ));
        }
        (None, None) => {
            return Err(Error::Usage(
                "diff needs two targets or files, or one target and --against-ref <rev>".into(),
            ));
        }
    };
    let comparison = compare(&old, &new);
    commands::write_out(out, comparison.report().as_bytes())?;
    Ok(if comparison.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

/// A path that exists is a file to read; anything else names a target.
fn is_file(arg: &str) -> bool {
    Path::new(arg).exists()
}

fn side(platform: Option<&Platform>, arg: &str) -> Result<Rendering> {
    match platform {
        Some(platform) if !is_file(arg) => target(platform, arg),
        _ => file(Path::new(arg)),
    }
}

fn target(platform: &Platform, name: &str) -> Result<Rendering> {
    let target = platform.target(name)?;
    Ok(Rendering {
        label: name.to_owned(),
        objects: platform.objects(target)?,
    })
}

/// Every object of a YAML stream; empty documents are skipped, a `kind: List` is unpacked.
pub fn file(path: &Path) -> Result<Rendering> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })?;
    let mut objects = Vec::new();
    for document in serde_yaml::Deserializer::from_str(&text) {
        let value = Value::deserialize(document).map_err(|source| Error::Rendering {
            path: path.to_owned(),
            message: source.to_string(),
        })?;
        match value {
            Value::Null => {}
            Value::Object(_) if object::kind(&value) == "List" => {
                objects.extend(value["items"].as_array().into_iter().flatten().cloned());
            }
            Value::Object(_) => objects.push(value),
            _ => {
                return Err(Error::Rendering {
                    path: path.to_owned(),
                    message: "a document is not a Kubernetes object (a mapping)".into(),
                });
            }
        }
    }
    Ok(Rendering {
        label: path.display().to_string(),
        objects,
    })
}

/// Writes `environments/` and `templates/` as they were at `rev` into `into`, with Git's
/// plumbing only: nothing in the repository (index, worktrees, refs) changes.
pub fn export(root: &Path, rev: &str, into: &Path) -> Result<()> {
    let failed = |message: String| Error::GitRevision {
        rev: rev.to_owned(),
        message,
    };
    let commit = format!("{rev}^{{commit}}");
    git(root, &["rev-parse", "--verify", "--quiet", &commit])
        .map_err(|_| failed("not a commit of the repository".into()))?;
    let listing = git(
        root,
        &[
            "ls-tree",
            "-r",
            "-z",
            &commit,
            "--",
            "environments",
            "templates",
        ],
    )
    .map_err(failed)?;
    let mut found = BTreeSet::new();
    for entry in listing.split(|b| *b == 0).filter(|e| !e.is_empty()) {
        let entry = String::from_utf8_lossy(entry);
        let Some((meta, path)) = entry.split_once('\t') else {
            continue;
        };
        let fields: Vec<&str> = meta.split(' ').collect();
        if fields.len() != 3 || fields[1] != "blob" || fields[0] == "120000" {
            continue;
        }
        let relative = Path::new(path);
        if relative.is_absolute() || relative.components().any(|c| c.as_os_str() == "..") {
            continue;
        }
        let content = git(root, &["cat-file", "blob", fields[2]]).map_err(failed)?;
        let target = into.join(relative);
        let parent = target.parent().unwrap_or(into);
        std::fs::create_dir_all(parent).map_err(|source| Error::Write {
            path: parent.to_owned(),
            source,
        })?;
        std::fs::write(&target, content).map_err(|source| Error::Write {
            path: target.clone(),
            source,
        })?;
        found.extend(
            relative
                .components()
                .next()
                .map(|c| c.as_os_str().to_owned()),
        );
    }
    if !found.contains(std::ffi::OsStr::new("environments")) {
        return Err(failed(format!(
            "{} has no environments/ folder at that revision",
            root.display()
        )));
    }
    Ok(())
}

/// Runs git in `dir`; its standard output, or its complaint.
fn git(dir: &Path, args: &[&str]) -> std::result::Result<Vec<u8>, String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if output.status.success() {
        Ok(output.stdout)
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        Err(format!("git {}: {}", args[0], stderr.trim()))
    }
}

/// Which object: group, kind, namespace, name, and which occurrence of that identity.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Id {
    pub group: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// 0 for the first object with this identity in its rendering (a file may repeat one).
    pub occurrence: usize,
}

impl fmt::Display for Id {
    /// `Deployment.apps e-commerce-prod/auth-service`, kubectl's `kind.group` spelling.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.kind)?;
        if !self.group.is_empty() {
            write!(f, ".{}", self.group)?;
        }
        f.write_str(" ")?;
        if !self.namespace.is_empty() {
            write!(f, "{}/", self.namespace)?;
        }
        f.write_str(&self.name)?;
        if self.occurrence > 0 {
            write!(f, " (#{})", self.occurrence + 1)?;
        }
        Ok(())
    }
}

/// One object present on both sides with different content.
#[derive(Debug, Clone)]
pub struct Change {
    pub id: Id,
    /// Unified diff of the two objects' YAML, masked; empty when only masked values differ.
    pub diff: String,
}

/// How two renderings differ.
#[derive(Debug, Clone)]
pub struct Comparison {
    pub left: String,
    pub right: String,
    /// The namespaces matched with each other, when the renderings live in different ones.
    pub namespaces: Option<(String, String)>,
    pub added: Vec<Id>,
    pub removed: Vec<Id>,
    /// The removed objects ArgoCD does not prune (`Prune=false`, the data volumes): a
    /// sync leaves them in the cluster, for a person to delete once their data moved.
    pub kept: BTreeSet<Id>,
    pub changed: Vec<Change>,
    pub unchanged: usize,
}

impl Comparison {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }

    /// The report: added and removed objects, a diff per changed one, a summary line.
    /// Styled with ANSI colours (see `color`).
    pub fn report(&self) -> String {
        let mut text = String::new();
        if let Some((left, right)) = &self.namespaces {
            text.push_str(&format!(
                "namespace {left} ({}) is matched with {right} ({})\n",
                self.left, self.right
            ));
        }
        for id in &self.added {
            text.push_str(&color::added(&format!("added:   {id}\n")));
        }
        for id in &self.removed {
            let kept = if self.kept.contains(id) {
                " (ArgoCD keeps it: Prune=false; delete it by hand once its data has moved)"
            } else {
                ""
            };
            text.push_str(&color::removed(&format!("removed: {id}{kept}\n")));
        }
        for change in &self.changed {
            text.push_str(&format!("changed: {}\n", change.id));
            if change.diff.is_empty() {
                text.push_str("  (only masked values differ)\n");
            } else {
                text.push_str(&color::diff(&change.diff));
            }
        }
        if self.is_empty() {
            text.push_str(&format!(
                "{} and {} hold the same {} object(s)\n",
                self.left, self.right, self.unchanged
            ));
        } else {
            text.push_str(&format!(
                "{} -> {}: {} added, {} removed, {} changed, {} unchanged\n",
                self.left,
                self.right,
                self.added.len(),
                self.removed.len(),
                self.changed.len(),
                self.unchanged
            ));
        }
        text
    }
}

/// ArgoCD's sync options on the object say it is never pruned.
fn never_pruned(object: &Object) -> bool {
    object["metadata"]["annotations"]["argocd.argoproj.io/sync-options"]
        .as_str()
        .is_some_and(|o| o.split(',').any(|opt| opt.trim() == "Prune=false"))
}

/// Compares two renderings object by object. Objects are matched with the left side
/// moved into the right side's namespace, but each side is reported under its own
/// identity: a removed object, and the left header of a diff, name the left namespace.
pub fn compare(left: &Rendering, right: &Rendering) -> Comparison {
    let mut left_objects = left.objects.clone();
    let namespaces = match (
        home_namespace(&left.objects),
        home_namespace(&right.objects),
    ) {
        (Some(l), Some(r)) if l != r => {
            for o in &mut left_objects {
                move_namespace(o, &l, &r);
            }
            Some((l, r))
        }
        _ => None,
    };
    // The left side's own identity of each object, by its matched identity.
    let own: BTreeMap<Id, Id> = ids(&left_objects).zip(ids(&left.objects)).collect();
    let before: BTreeMap<Id, &Object> = ids(&left_objects).zip(&left_objects).collect();
    let after: BTreeMap<Id, &Object> = ids(&right.objects).zip(&right.objects).collect();
    let mut comparison = Comparison {
        left: left.label.clone(),
        right: right.label.clone(),
        namespaces,
        added: after
            .keys()
            .filter(|id| !before.contains_key(*id))
            .cloned()
            .collect(),
        removed: before
            .keys()
            .filter(|id| !after.contains_key(*id))
            .map(|id| own[id].clone())
            .collect(),
        kept: before
            .iter()
            .filter(|(id, o)| !after.contains_key(*id) && never_pruned(o))
            .map(|(id, _)| own[id].clone())
            .collect(),
        changed: Vec::new(),
        unchanged: 0,
    };
    for (id, old) in &before {
        let Some(new) = after.get(id) else { continue };
        if old == new {
            comparison.unchanged += 1;
            continue;
        }
        let (old_text, new_text) = (emit::document(&masked(old)), emit::document(&masked(new)));
        let diff = if old_text == new_text {
            String::new()
        } else {
            similar::TextDiff::from_lines(&old_text, &new_text)
                .unified_diff()
                .context_radius(3)
                .header(
                    &format!("{}: {}", left.label, own[id]),
                    &format!("{}: {id}", right.label),
                )
                .to_string()
        };
        comparison.changed.push(Change {
            id: id.clone(),
            diff,
        });
    }
    comparison
}

/// The identity of each object, in order; a repeated identity counts its occurrences.
fn ids(objects: &[Object]) -> impl Iterator<Item = Id> + '_ {
    let mut seen: BTreeMap<(String, String, String, String), usize> = BTreeMap::new();
    objects.iter().map(move |o| {
        let key = object::identity(o);
        let count = seen.entry(key.clone()).or_default();
        let (group, kind, namespace, name) = key;
        let id = Id {
            group,
            kind,
            namespace,
            name,
            occurrence: *count,
        };
        *count += 1;
        id
    })
}

/// The namespace most objects of a rendering live in (the smallest name on a tie).
fn home_namespace(objects: &[Object]) -> Option<String> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for o in objects {
        let ns = object::namespace(o);
        if !ns.is_empty() {
            *counts.entry(ns).or_default() += 1;
        }
    }
    let most = counts.values().copied().max()?;
    counts
        .into_iter()
        .find(|(_, n)| *n == most)
        .map(|(ns, _)| ns.to_owned())
}

/// Moves an object from namespace `from` to `to` (the Namespace `from` itself is renamed).
fn move_namespace(o: &mut Object, from: &str, to: &str) {
    let key = if object::kind(o) == "Namespace" && object::group(o).is_empty() {
        "name"
    } else {
        "namespace"
    };
    if let Some(value) = o.get_mut("metadata").and_then(|m| m.get_mut(key))
        && value.as_str() == Some(from)
    {
        *value = Value::String(to.to_owned());
    }
}

/// A copy with Secret values and credential-like environment values replaced by [`MASK`].
pub fn masked(o: &Object) -> Object {
    let mut o = o.clone();
    if object::kind(&o) == "Secret" && object::group(&o).is_empty() {
        for field in ["data", "stringData"] {
            if let Some(Value::Object(data)) = o.get_mut(field) {
                for value in data.values_mut() {
                    *value = Value::String(MASK.into());
                }
            }
        }
    }
    mask_env(&mut o);
    o
}

/// Masks `value` of every `env` item whose name looks like a credential, anywhere inside.
fn mask_env(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if key == "env"
                    && let Value::Array(items) = child
                {
                    for item in items.iter_mut() {
                        let secret = item["name"].as_str().is_some_and(is_credential_name);
                        if let (true, Some(v)) = (secret, item.get_mut("value")) {
                            *v = Value::String(MASK.into());
                        }
                    }
                } else {
                    mask_env(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask_env),
        _ => {}
    }
}

/// `DB_PASSWORD`, `JWT_SECRET`, `API_TOKEN`, `APP_KEY`, `REDISCLI_AUTH`: a name whose
/// words include a password, secret, token or credential, or that ends in KEY or AUTH.
pub fn is_credential_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    let words: Vec<&str> = upper
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let named = words.iter().any(|w| {
        [
            "PASSWORD",
            "PASSWD",
            "PWD",
            "SECRET",
            "TOKEN",
            "CREDENTIAL",
            "CREDENTIALS",
            "APIKEY",
        ]
        .contains(w)
    });
    named
        || ["PASSWORD", "SECRET", "TOKEN"]
            .iter()
            .any(|w| upper.contains(w))
        || words.last().is_some_and(|w| *w == "KEY" || *w == "AUTH")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rendering(label: &str, objects: Vec<Value>) -> Rendering {
        Rendering {
            label: label.into(),
            objects,
        }
    }

    #[test]
    fn credential_names() {
        for name in [
            "DB_PASSWORD",
            "JWT_SECRET",
            "api-token",
            "APP_KEY",
            "REDISCLI_AUTH",
            "MINIO_SECRET_KEY",
        ] {
            assert!(is_credential_name(name), "{name}");
        }
        for name in [
            "DB_HOST",
            "GF_AUTH_ANONYMOUS_ENABLED",
            "KEYCLOAK_URL",
            "LOG_LEVEL",
        ] {
            assert!(!is_credential_name(name), "{name}");
        }
    }

    #[test]
    fn environments_match_across_namespaces() {
        let ns =
            |n: &str| json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}});
        let cm = |n: &str, v: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": n}, "data": {"k": v}});
        let left = rendering("a", vec![ns("x"), cm("x", "1")]);
        let right = rendering("b", vec![ns("y"), cm("y", "2")]);
        let c = compare(&left, &right);
        assert_eq!(c.namespaces, Some(("x".into(), "y".into())));
        assert!(c.added.is_empty() && c.removed.is_empty(), "{c:?}");
        assert_eq!(c.changed.len(), 1);
        assert_eq!(c.unchanged, 1);
        assert!(
            c.changed[0].diff.contains("-  k: \"1\"\n+  k: \"2\"\n"),
            "{}",
            c.changed[0].diff
        );
        // Each side under its own namespace.
        assert!(
            c.changed[0]
                .diff
                .starts_with("--- a: ConfigMap x/c\n+++ b: ConfigMap y/c\n"),
            "{}",
            c.changed[0].diff
        );
        let gone = rendering(
            "a",
            vec![
                ns("x"),
                cm("x", "1"),
                json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "x"}}),
            ],
        );
        let c = compare(&gone, &right);
        assert_eq!(
            c.removed
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["Secret x/s"]
        );
    }

    #[test]
    fn secrets_are_masked_but_still_counted_as_changed() {
        let secret = |v: &str| json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"password": v}});
        let c = compare(
            &rendering("a", vec![secret("aGk=")]),
            &rendering("b", vec![secret("aG8=")]),
        );
        assert_eq!(c.changed.len(), 1);
        assert_eq!(c.changed[0].diff, "");
        assert!(!c.report().contains("aGk="));
    }
}
