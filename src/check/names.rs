//! Check stage, names: every object name and label the API server would refuse. Names
//! are derived from descriptor entries (`<database>-mysql-backup`, `<service>-hpa`), so
//! an entry valid on its own can yield a name too long for the kind it names: a CronJob
//! name over 52 characters, a Service name that is not a DNS label, a label value over 63.

use super::cluster::Placed;
use super::{Family, Finding, join};
use crate::check::value::Value;
use std::fmt::Write as _;

/// Longest DNS-1123 label, and longest label value or label name.
const LABEL_MAX: usize = 63;
/// Longest DNS-1123 subdomain, and longest label prefix.
const SUBDOMAIN_MAX: usize = 253;
/// Longest CronJob name: the Jobs it creates add an 11-character suffix to it, and a
/// Job's name becomes a label value.
const CRONJOB_MAX: usize = 52;

/// What the API server requires of the names of one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// RFC 1035 label: a letter first (Services, whose names become DNS names).
    Rfc1035Label,
    /// DNS-1123 label (Namespaces).
    Label,
    /// DNS-1123 subdomain of at most this many characters (most kinds; CronJobs shorter).
    Subdomain(usize),
}

impl Form {
    fn of(group: &str, kind: &str) -> Option<Form> {
        match (group, kind) {
            ("", "Service") => Some(Form::Rfc1035Label),
            ("", "Namespace") => Some(Form::Label),
            ("batch", "CronJob") => Some(Form::Subdomain(CRONJOB_MAX)),
            // RBAC names are path segments (`system:aggregate-to-view` is valid).
            ("rbac.authorization.k8s.io", _) => None,
            _ => Some(Form::Subdomain(SUBDOMAIN_MAX)),
        }
    }

    /// Why `name` is refused, if it is.
    fn refuses(self, name: &str) -> Option<String> {
        let (max, valid, expected) = match self {
            Form::Rfc1035Label => (
                LABEL_MAX,
                name.starts_with(|c: char| c.is_ascii_lowercase()) && dns_label(name),
                "a DNS label (RFC 1035): lower-case letters, digits and '-', starting with a letter",
            ),
            Form::Label => (
                LABEL_MAX,
                dns_label(name),
                "a DNS label: lower-case letters, digits and '-', starting and ending with a letter or digit",
            ),
            Form::Subdomain(max) => (
                max,
                name.split('.').all(dns_label),
                "a DNS subdomain: dot-separated DNS labels",
            ),
        };
        let length = name.chars().count();
        if length > max {
            Some(format!(
                "is {length} characters long, over the {max} allowed"
            ))
        } else if !valid {
            Some(format!("is not {expected}"))
        } else {
            None
        }
    }
}

/// Lower-case letters, digits and '-', a letter or digit at both ends (length aside).
fn dns_label(part: &str) -> bool {
    let bytes = part.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    !bytes.is_empty()
        && bytes.iter().all(|b| alnum(b) || *b == b'-')
        && bytes.first().is_some_and(alnum)
        && bytes.last().is_some_and(alnum)
}

/// Letters, digits, '-', '_' and '.', a letter or digit at both ends, at most 63: a
/// label value (which may also be empty) or the name part of a label key.
fn label_word(text: &str) -> bool {
    let bytes = text.as_bytes();
    let alnum = |b: &u8| b.is_ascii_alphanumeric();
    bytes.len() <= LABEL_MAX
        && bytes
            .iter()
            .all(|b| alnum(b) || matches!(b, b'-' | b'_' | b'.'))
        && bytes.first().is_some_and(alnum)
        && bytes.last().is_some_and(alnum)
}

/// Why a label key is refused, if it is: `[prefix/]name`, the prefix a DNS subdomain.
fn refuses_key(key: &str) -> Option<String> {
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    if !label_word(name) {
        return Some(format!(
            "label key `{key}` is refused: its name must be at most {LABEL_MAX} letters, digits, \
             '-', '_' or '.', starting and ending with a letter or digit"
        ));
    }
    let prefix_ok = prefix.is_none_or(|p| Form::Subdomain(SUBDOMAIN_MAX).refuses(p).is_none());
    (!prefix_ok).then(|| format!("label key `{key}` is refused: its prefix is not a DNS subdomain"))
}

/// Findings of every name and label of `objects`.
pub fn check(objects: &[&Placed]) -> Vec<Finding> {
    let mut out = Vec::new();
    for placed in objects {
        if let Some(why) =
            Form::of(placed.group(), placed.kind()).and_then(|form| form.refuses(placed.name()))
        {
            out.push(Finding::new(
                Family::Names,
                placed,
                "metadata.name",
                format!(
                    "{} name `{}` {why}: the API server refuses it",
                    placed.kind(),
                    placed.name()
                ),
            ));
        }
        let mut labels = |path: &str, map: &Value| {
            for (key, value) in map.as_object().into_iter().flatten() {
                let field = join(path, key);
                if let Some(why) = refuses_key(key) {
                    out.push(Finding::new(Family::Names, placed, &field, why));
                }
                let Some(value) = value.as_str() else {
                    continue;
                };
                if !value.is_empty() && !label_word(value) {
                    let length = value.chars().count();
                    out.push(Finding::new(
                        Family::Names,
                        placed,
                        &field,
                        format!(
                            "label value `{value}` ({length} characters) is refused: at most \
                             {LABEL_MAX} letters, digits, '-', '_' or '.', starting and ending \
                             with a letter or digit"
                        ),
                    ));
                }
            }
        };
        visit_labels(&placed.object, &mut String::new(), &mut labels);
        if placed.group().is_empty() && placed.kind() == "Service" {
            labels("spec.selector", &placed.object["spec"]["selector"]);
        }
    }
    out
}

/// Calls `f(path, map)` for every map of labels: `metadata.labels` at any depth (pod
/// templates) and every label selector's `matchLabels`.
fn visit_labels(value: &Value, path: &mut String, f: &mut dyn FnMut(&str, &Value)) {
    // One path buffer for the whole walk: pushed on the way down, cut on the way up.
    let len = path.len();
    match value {
        Value::Object(map) => {
            let in_metadata = path == "metadata" || path.ends_with(".metadata");
            for (key, child) in map {
                if len > 0 {
                    path.push('.');
                }
                path.push_str(key);
                if (key == "labels" && in_metadata) || key == "matchLabels" {
                    f(path, child);
                } else {
                    visit_labels(child, path, f);
                }
                path.truncate(len);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                let _ = write!(path, "[{i}]");
                visit_labels(child, path, f);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::value::json;

    fn findings(object: Value) -> Vec<String> {
        let placed = Placed::first("t", object);
        check(&[&placed])
            .into_iter()
            .map(|f| format!("{}: {}", f.field, f.message))
            .collect()
    }

    #[test]
    fn names_are_held_to_the_limit_of_their_kind() {
        let named = |api: &str, kind: &str, name: &str| {
            findings(json!({"apiVersion": api, "kind": kind, "metadata": {"name": name}}))
        };
        let long = "a".repeat(53);
        assert_eq!(
            named("batch/v1", "CronJob", &long),
            [format!(
                "metadata.name: CronJob name `{long}` is 53 characters long, over the 52 allowed: the API server refuses it"
            )]
        );
        assert!(named("batch/v1", "CronJob", &long[1..]).is_empty());
        assert!(named("v1", "ConfigMap", &long).is_empty());
        assert!(named("v1", "ConfigMap", "a.b-c").is_empty());
        assert_eq!(named("v1", "Service", &"s".repeat(64)).len(), 1);
        assert!(named("v1", "Service", &"s".repeat(63)).is_empty());
        assert_eq!(
            named("v1", "Service", "1st"),
            [
                "metadata.name: Service name `1st` is not a DNS label (RFC 1035): lower-case letters, digits and '-', starting with a letter: the API server refuses it"
            ]
        );
        assert_eq!(named("v1", "Namespace", "a.b").len(), 1);
        assert_eq!(named("v1", "ConfigMap", &"c".repeat(254)).len(), 1);
        assert!(named("rbac.authorization.k8s.io/v1", "ClusterRole", "system:x").is_empty());
    }

    #[test]
    fn label_keys_and_values_are_checked_in_metadata_and_selectors() {
        let long = "v".repeat(64);
        let found = findings(json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "d", "labels": {"app": long, "app.kubernetes.io/name": "d", "ok": ""}},
            "spec": {"selector": {"matchLabels": {"bad key!": "x"}},
                     "template": {"metadata": {"labels": {"tier": "-x"}}}}}));
        assert_eq!(found.len(), 3, "{found:#?}");
        assert!(found[0].starts_with(&format!(
            "metadata.labels.app: label value `{long}` (64 characters) is refused"
        )));
        assert!(
            found[1]
                .starts_with("spec.selector.matchLabels.bad key!: label key `bad key!` is refused")
        );
        assert!(found[2].starts_with("spec.template.metadata.labels.tier: label value `-x`"));
        // A Service's selector is a label map; labels of Prometheus rules are not.
        let service = findings(json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "s"}, "spec": {"selector": {"app": long}}}));
        assert_eq!(service.len(), 1, "{service:#?}");
        let rule = findings(
            json!({"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
            "metadata": {"name": "r"}, "spec": {"groups": [{"rules": [{"labels": {"summary": "a b"}}]}]}}),
        );
        assert!(rule.is_empty(), "{rule:#?}");
    }
}
