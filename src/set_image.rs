//! Descriptor stage, edited: `platgen set-image <env> <workload>=<tag>...`, the release
//! step of the GitOps workflow as a command.
//!
//! The environment file is edited as text, guided by the positions `Source` finds, so
//! that comments, order and formatting stay exactly as they were: an existing entry of
//! `images:` gets its value replaced, a new one goes after the last entry (inside a flow
//! mapping, before its `}`), and a file without `images:` gets the block at its end. The
//! project is loaded and validated again afterwards; if it no longer loads, or `validate`
//! finds in the environment's objects what it did not find before (a `latest` tag where
//! policy forbids it), the file is put back.

use crate::check::Finding;
use crate::error::{Error, ExitStatus, Result};
use crate::model::{DESCRIPTOR_DIR, Project};
use crate::scalar::Tag;
use crate::secrets_template::environment;
use crate::source::{Pos, Source, closest};
use crate::{Platform, commands, descriptor::EnvironmentFile};
use std::io::Write;
use std::path::Path;

/// One `<workload>=<tag>` of the command line, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub workload: String,
    pub tag: Tag,
}

/// Checks `<workload>=<tag>` against the catalog's enabled services and the tag rules.
pub fn parse(project: &Project, text: &str) -> Result<Assignment> {
    let Some((workload, tag)) = text.split_once('=') else {
        return Err(Error::Usage(format!(
            "`{text}` is not `<workload>=<tag>` (such as `auth-service=1.4.2`)"
        )));
    };
    let workloads = project
        .catalog
        .services
        .iter()
        .filter(|s| s.enabled)
        .map(|s| s.name.as_str());
    if !workloads.clone().any(|w| w == workload) {
        return Err(Error::UnknownName {
            what: "workload",
            name: workload.to_owned(),
            suggestion: closest(workload, workloads.clone()).map(str::to_owned),
            available: workloads.collect::<Vec<_>>().join(", "),
        });
    }
    let tag = Tag::parse(tag).map_err(|e| Error::Usage(format!("{workload}: {e}")))?;
    Ok(Assignment {
        workload: workload.to_owned(),
        tag,
    })
}

/// Sets the tags, writes the file, and proves the project still loads with them.
pub fn run(
    root: &Path,
    env: &str,
    assignments: &[String],
    out: &mut dyn Write,
) -> Result<ExitStatus> {
    let platform = Platform::load(root)?;
    let project = &platform.project;
    let file = environment(project, env)?;
    let findings_before = findings(&platform, env)?;
    let mut parsed: Vec<Assignment> = Vec::new();
    for text in assignments {
        let a = parse(project, text)?;
        if parsed.iter().any(|p| p.workload == a.workload) {
            return Err(Error::Usage(format!("`{}` is given twice", a.workload)));
        }
        parsed.push(a);
    }
    if parsed.is_empty() {
        return Err(Error::Usage(
            "set-image needs at least one `<workload>=<tag>`".into(),
        ));
    }
    let display = format!("{DESCRIPTOR_DIR}/{}.yaml", file.name);
    let path = root.join(&display);
    let before = std::fs::read_to_string(&path).map_err(|source| Error::Read {
        path: path.clone(),
        source,
    })?;
    let after = edit(&display, &before, &parsed).map_err(Error::Usage)?;

    let mut report = String::new();
    for a in &parsed {
        let old = effective_tag(project, file, &a.workload);
        if old == a.tag.as_str() {
            report.push_str(&format!("{env}: {} stays at {old}\n", a.workload));
        } else {
            report.push_str(&format!("{env}: {} {old} -> {}\n", a.workload, a.tag));
        }
    }
    if after != before {
        replace_file(&path, &after)?;
        // A project that no longer loads or renders rejects the edit as a finding does.
        let rejected = match Platform::load(root).and_then(|edited| findings(&edited, env)) {
            Err(err) => Some(err.to_string()),
            Ok(after) => {
                let new: Vec<String> = after
                    .iter()
                    .filter(|f| !findings_before.iter().any(|b| same_finding(b, f)))
                    .map(ToString::to_string)
                    .collect();
                (!new.is_empty()).then(|| new.join("\n"))
            }
        };
        if let Some(problems) = rejected {
            replace_file(&path, &before)?;
            return Err(Error::EditRejected {
                path: path.clone(),
                problems,
            });
        }
        report.push_str(&format!("{display} updated\n"));
    } else {
        report.push_str(&format!("{display} unchanged\n"));
    }
    commands::write_out(out, report.as_bytes())?;
    Ok(ExitStatus::Success)
}

/// What `validate <env>` finds in the environment's objects.
fn findings(platform: &Platform, env: &str) -> Result<Vec<Finding>> {
    let target = platform.target(env)?;
    let options = crate::check::Options::default();
    Ok(crate::check::validate(platform, &[target], &options)?.findings)
}

/// The same finding before and after an edit (its descriptor position may move).
fn same_finding(a: &Finding, b: &Finding) -> bool {
    (a.family, &a.target, &a.object, &a.field, &a.message)
        == (b.family, &b.target, &b.object, &b.field, &b.message)
}

/// The tag a workload runs with in an environment before the edit.
fn effective_tag(project: &Project, env: &EnvironmentFile, workload: &str) -> String {
    env.images
        .get(workload)
        .or(env.tag.as_ref())
        .unwrap_or(&project.catalog.platform.tag)
        .to_string()
}

/// The text of an environment file with every assignment applied; nothing else changes.
pub fn edit(
    display: &str,
    text: &str,
    assignments: &[Assignment],
) -> std::result::Result<String, String> {
    let mut text = text.to_owned();
    for a in assignments {
        text = edit_one(display, &text, &a.workload, a.tag.as_str())?;
    }
    let file: EnvironmentFile = serde_yaml::from_str(&text)
        .map_err(|e| format!("{display}: the edited file does not parse: {e}"))?;
    for a in assignments {
        if file.images.get(&a.workload) != Some(&a.tag) {
            return Err(format!(
                "{display}: could not set images.{} (an unusual layout?)",
                a.workload
            ));
        }
    }
    Ok(text)
}

fn edit_one(
    display: &str,
    text: &str,
    workload: &str,
    tag: &str,
) -> std::result::Result<String, String> {
    let document: serde_yaml::Value =
        serde_yaml::from_str(text).map_err(|e| format!("{display}: {e}"))?;
    let source = Source::new(display, text);
    let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let at = |pos: Pos| {
        source
            .offset(pos)
            .ok_or_else(|| format!("{display}:{pos}: position outside the file"))
    };
    match document.get("images") {
        None => {
            let mut edited = text.to_owned();
            if !edited.is_empty() && !edited.ends_with('\n') && !edited.ends_with('\r') {
                edited.push_str(eol);
            }
            edited.push_str(&format!(
                "images:{eol}  {}: {}{eol}",
                scalar(workload),
                scalar(tag)
            ));
            Ok(edited)
        }
        Some(serde_yaml::Value::Mapping(images)) if images.contains_key(workload) => {
            let start = at(source.locate(&format!("images.{workload}")))?;
            let (end, quote) = scalar_end(text, start).ok_or_else(|| {
                format!("{display}: images.{workload} is not a plain or quoted scalar")
            })?;
            let value = match quote {
                Some('\'') => format!("'{tag}'"),
                Some(_) => format!("\"{tag}\""),
                None => scalar(tag),
            };
            Ok(format!("{}{value}{}", &text[..start], &text[end..]))
        }
        Some(serde_yaml::Value::Mapping(images)) => {
            let start = at(source.locate("images"))?;
            let entry = format!("{}: {}", scalar(workload), scalar(tag));
            if text[start..].starts_with('{') {
                let close = start
                    + text[start..]
                        .find('}')
                        .ok_or_else(|| format!("{display}: `images` has no closing brace"))?;
                let inner_end = text[..close].trim_end().len();
                let separator = if images.is_empty() { "" } else { ", " };
                Ok(format!(
                    "{}{separator}{entry}{}",
                    &text[..inner_end],
                    &text[inner_end..]
                ))
            } else {
                let line_start = text[..start].rfind(['\n', '\r']).map_or(0, |i| i + 1);
                let indent = &text[line_start..start];
                if !indent.chars().all(|c| c == ' ') {
                    return Err(format!(
                        "{display}: `images` is not a block mapping on lines of its own"
                    ));
                }
                let end = block_end(text, start, indent.len());
                Ok(format!(
                    "{}{eol}{indent}{entry}{}",
                    &text[..end],
                    &text[end..]
                ))
            }
        }
        Some(_) => Err(format!(
            "{display}: `images` is not a mapping of workload to tag"
        )),
    }
}

/// Where the scalar starting at byte `start` ends, and its quote character if quoted.
fn scalar_end(text: &str, start: usize) -> Option<(usize, Option<char>)> {
    let rest = &text[start..];
    let mut chars = rest.char_indices();
    match chars.next()? {
        (_, '"') => {
            let mut escaped = false;
            for (i, c) in chars {
                match c {
                    '\\' if !escaped => escaped = true,
                    '"' if !escaped => return Some((start + i + 1, Some('"'))),
                    _ => escaped = false,
                }
            }
            None
        }
        (_, '\'') => {
            let bytes = rest.as_bytes();
            let mut i = 1;
            while i < bytes.len() {
                if bytes[i] == b'\'' {
                    if bytes.get(i + 1) == Some(&b'\'') {
                        i += 2;
                        continue;
                    }
                    return Some((start + i + 1, Some('\'')));
                }
                i += 1;
            }
            None
        }
        _ => {
            let len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || "_.-+".contains(c)))
                .unwrap_or(rest.len());
            (len > 0).then_some((start + len, None))
        }
    }
}

/// The end of the last line (before its break) of the block mapping whose first key
/// starts at `start`, indented by `indent` spaces: later lines indented at least as much
/// belong to it; blank and comment lines count only when content of the block follows.
fn block_end(text: &str, start: usize, indent: usize) -> usize {
    let line_end = |from: usize| {
        text[from..]
            .find(['\n', '\r'])
            .map_or(text.len(), |i| from + i)
    };
    let mut end = line_end(start);
    let mut next = end;
    loop {
        next += match text[next..].chars().next() {
            Some('\r') if text[next..].starts_with("\r\n") => 2,
            Some(_) => 1,
            None => return end,
        };
        let this_end = line_end(next);
        let line = &text[next..this_end];
        let content = line.trim_start_matches(' ');
        let depth = line.len() - content.len();
        if content.is_empty() || content.starts_with('#') {
            next = this_end;
            continue;
        }
        if depth < indent {
            return end;
        }
        end = this_end;
        next = this_end;
    }
}

/// A string as a YAML scalar: plain when YAML reads it back as that same string, else
/// double-quoted (`1.10` would be read as the number 1.1).
fn scalar(text: &str) -> String {
    let plain = text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    match serde_yaml::from_str::<serde_yaml::Value>(text) {
        Ok(serde_yaml::Value::String(s)) if plain && s == text => text.to_owned(),
        _ => format!("\"{text}\""),
    }
}

/// Replaces a file's content in one step, keeping its permissions.
fn replace_file(path: &Path, text: &str) -> Result<()> {
    let write_error = |source| Error::Write {
        path: path.to_owned(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut staged = tempfile::NamedTempFile::new_in(dir).map_err(write_error)?;
    staged.write_all(text.as_bytes()).map_err(write_error)?;
    if let Ok(metadata) = std::fs::metadata(path) {
        staged
            .as_file()
            .set_permissions(metadata.permissions())
            .map_err(write_error)?;
    }
    staged.persist(path).map_err(|e| write_error(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(text: &str, workload: &str, tag: &str) -> String {
        edit_one("env.yaml", text, workload, tag).unwrap()
    }

    #[test]
    fn replaces_a_value_in_place_keeping_its_quotes_and_comment() {
        let text =
            "name: x\nimages:\n  # pinned\n  api: \"1.0\"  # why\n  web: 2.0.1\nconfig: {}\n";
        assert_eq!(
            set(text, "api", "1.1"),
            "name: x\nimages:\n  # pinned\n  api: \"1.1\"  # why\n  web: 2.0.1\nconfig: {}\n"
        );
        assert_eq!(
            set(text, "web", "2.10"),
            "name: x\nimages:\n  # pinned\n  api: \"1.0\"  # why\n  web: \"2.10\"\nconfig: {}\n"
        );
    }

    #[test]
    fn inserts_after_the_last_entry_or_adds_the_block() {
        let text = "images:\n  api: \"1.0\"\n\n# next\nconfig: {}\n";
        assert_eq!(
            set(text, "web", "v2"),
            "images:\n  api: \"1.0\"\n  web: v2\n\n# next\nconfig: {}\n"
        );
        assert_eq!(
            set("images: {}\nx: 1\n", "web", "v2"),
            "images: {web: v2}\nx: 1\n"
        );
        assert_eq!(
            set("images: {api: v1 }\n", "web", "v2"),
            "images: {api: v1, web: v2 }\n"
        );
        assert_eq!(
            set("name: x\r\n", "web", "1.2"),
            "name: x\r\nimages:\r\n  web: \"1.2\"\r\n"
        );
        assert_eq!(set("name: x", "web", "v2"), "name: x\nimages:\n  web: v2\n");
    }
}
