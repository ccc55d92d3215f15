//! Check stage, wiring: endpoints as programs read them (a host and a port, a URL), and
//! how cluster DNS turns a host into a Service.

use crate::check::cluster::Labels;
use std::collections::BTreeMap;
use std::fmt;

/// A host and, when known, a port a program connects to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: Option<u16>,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            Some(port) => write!(f, "{}:{port}", self.host),
            None => f.write_str(&self.host),
        }
    }
}

/// The port a URL scheme implies when the URL names none.
fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        "redis" => Some(6379),
        "rediss" => Some(6380),
        "amqp" => Some(5672),
        "amqps" => Some(5671),
        "mysql" => Some(3306),
        "postgres" | "postgresql" => Some(5432),
        "smtp" => Some(25),
        _ => None,
    }
}

impl Endpoint {
    /// A `<X>_HOST` value with its `<X>_PORT`; `None` when the value refers to something
    /// else (`$(VAR)`) or names no host.
    pub fn host_port(host: &str, port: Option<u16>) -> Option<Endpoint> {
        host_name(host).map(|host| Endpoint { host, port })
    }

    /// `scheme://[user@]host[:port][/path]`, or `host:port`.
    pub fn parse(value: &str) -> Option<Endpoint> {
        let (scheme, rest) = match value.split_once("://") {
            Some((scheme, rest)) => (Some(scheme.to_ascii_lowercase()), rest),
            None => (None, value),
        };
        let authority = rest
            .split(['/', '?', '#', '"', '\'', ' ', '\n', '\t'])
            .next()
            .unwrap_or_default();
        let authority = authority.rsplit('@').next().unwrap_or(authority);
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !host.contains(']') || host.ends_with(']') => {
                (host, Some(port.parse::<u16>().ok()?))
            }
            _ => (authority, None),
        };
        if scheme.is_none() && port.is_none() {
            return None;
        }
        let port = port.or_else(|| scheme.as_deref().and_then(default_port));
        Endpoint::host_port(host, port)
    }
}

/// A DNS name as a host, or `None` for anything else (empty, a reference, an address).
fn host_name(text: &str) -> Option<String> {
    let host = text.trim().trim_end_matches('.').to_ascii_lowercase();
    let valid = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && !host.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    (valid && host != "localhost").then_some(host)
}

/// Every URL in a text whose scheme is one a client of the platform speaks.
pub fn urls(text: &str) -> Vec<Endpoint> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let before = &rest[..at];
        let scheme_start = before
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '+' || c == '-' || c == '.'))
            .map_or(0, |i| i + 1);
        let scheme = &before[scheme_start..];
        let after = &rest[at + 3..];
        let end = after
            .find(['/', '?', '#', '"', '\'', ' ', '\n', '\t', ','])
            .unwrap_or(after.len());
        if default_port(&scheme.to_ascii_lowercase()).is_some()
            && let Some(endpoint) = Endpoint::parse(&format!("{scheme}://{}", &after[..end]))
        {
            found.push(endpoint);
        }
        rest = &after[end..];
    }
    found
}

/// The Service (namespace, name) a host names through cluster DNS, seen from a pod of
/// `namespace`: `name`, `name.ns`, `name.ns.svc`, `name.ns.svc.cluster.local`. `None`
/// for a host outside the cluster (two labels count as in-cluster only when the second
/// is a namespace some target creates).
pub fn resolve_host(
    host: &str,
    namespace: &str,
    namespaces: &BTreeMap<String, Labels>,
) -> Option<(String, String)> {
    let (name, in_cluster) = match host
        .strip_suffix(".svc.cluster.local")
        .or_else(|| host.strip_suffix(".svc"))
    {
        Some(name) => (name, true),
        None => (host, false),
    };
    let labels: Vec<&str> = name.split('.').collect();
    match labels.as_slice() {
        [service] if !in_cluster => Some((namespace.to_owned(), (*service).to_owned())),
        [service, ns] if in_cluster || namespaces.contains_key(*ns) => {
            Some(((*ns).to_owned(), (*service).to_owned()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_hosts_parse_as_clients_read_them() {
        let e = |host: &str, port| Endpoint {
            host: host.into(),
            port,
        };
        assert_eq!(
            Endpoint::parse("http://jaeger-collector.monitoring.svc.cluster.local:4318"),
            Some(e(
                "jaeger-collector.monitoring.svc.cluster.local",
                Some(4318)
            ))
        );
        assert_eq!(
            Endpoint::parse("https://example.com/x"),
            Some(e("example.com", Some(443)))
        );
        assert_eq!(Endpoint::parse("minio:9000"), Some(e("minio", Some(9000))));
        assert_eq!(Endpoint::parse("just-text"), None);
        assert_eq!(Endpoint::host_port("$(HOST)", Some(1)), None);
        assert_eq!(Endpoint::host_port("10.0.0.1", Some(1)), None);
        assert_eq!(
            urls(
                r#"url: "redis://:${REDIS_PASSWORD_dev}@redis.e-commerce-dev.svc.cluster.local:6379""#
            ),
            vec![e("redis.e-commerce-dev.svc.cluster.local", Some(6379))]
        );
    }

    #[test]
    fn hosts_resolve_like_cluster_dns() {
        let namespaces = BTreeMap::from([("monitoring".to_owned(), Labels::new())]);
        let r = |host: &str| resolve_host(host, "app", &namespaces);
        let svc = |ns: &str, name: &str| Some((ns.to_owned(), name.to_owned()));
        assert_eq!(r("redis"), svc("app", "redis"));
        assert_eq!(
            r("prometheus-operated.monitoring.svc"),
            svc("monitoring", "prometheus-operated")
        );
        assert_eq!(r("x.other.svc.cluster.local"), svc("other", "x"));
        assert_eq!(
            r("jaeger-query.monitoring"),
            svc("monitoring", "jaeger-query")
        );
        assert_eq!(r("smtp.yourdomain.com"), None);
        assert_eq!(r("example.com"), None);
    }
}
