//! Model stage, resilience settings: session affinity of the catalog's services, the
//! dead-letter pattern, and each environment's circuit breaker, retries and queue limits,
//! checked as the API server, Traefik and RabbitMQ would take them.

use super::Checker;
use crate::descriptor::{Catalog, EnvironmentFile, SessionAffinity};
use crate::source::KeyPath;

/// The API server's range of `sessionAffinityConfig.clientIP.timeoutSeconds`.
const AFFINITY_TIMEOUT: std::ops::RangeInclusive<u32> = 1..=86_400;
/// Retry attempts allowed (the first included).
const ATTEMPTS: std::ops::RangeInclusive<u32> = 1..=5;
/// RabbitMQ's largest `message-ttl`, in milliseconds.
const MAX_MESSAGE_TTL: u64 = u32::MAX as u64;

pub(super) fn check_catalog(c: &mut Checker, catalog: &Catalog) {
    let services = KeyPath::root().key("services");
    for (i, service) in catalog.services.iter().enumerate() {
        let at = services.index(i);
        let client_ip = service.session_affinity == SessionAffinity::ClientIp;
        if client_ip && service.public {
            c.report(
                &at.key("sessionAffinity"),
                format!(
                    "public service `{}` has session affinity: Traefik sends requests to its \
                     pods directly, past the Service's affinity",
                    service.name
                ),
                "no sessionAffinity on a public service (Traefik's sticky sessions instead)",
                None,
            );
        }
        if let Some(timeout) = service.session_affinity_timeout_seconds {
            let path = at.key("sessionAffinityTimeoutSeconds");
            if !AFFINITY_TIMEOUT.contains(&timeout) {
                c.report(
                    &path,
                    format!("session affinity timeout of {timeout} seconds"),
                    "1 to 86400 seconds (the API server's range)",
                    None,
                );
            }
            if !client_ip {
                c.report(
                    &path,
                    "a session affinity timeout without session affinity".into(),
                    "sessionAffinity: ClientIP beside it",
                    None,
                );
            }
        }
    }
    let pattern = &catalog.rabbitmq.dead_letters.pattern;
    if let Err(err) = fancy_regex::Regex::new(pattern) {
        c.report(
            &KeyPath::root()
                .key("rabbitmq")
                .key("deadLetters")
                .key("pattern"),
            format!("`{pattern}` is not a regular expression: {err}"),
            "a regular expression of queue names, such as ^(?!dead-letters$)",
            None,
        );
    }
}

pub(super) fn check_environment(c: &mut Checker, env: &EnvironmentFile) {
    let root = KeyPath::root();
    let breaker = root.key("gateway").key("circuitBreaker");
    let ratios = [
        (
            "networkErrorRatio",
            env.gateway.circuit_breaker.network_error_ratio,
        ),
        (
            "serverErrorRatio",
            env.gateway.circuit_breaker.server_error_ratio,
        ),
    ];
    for (key, ratio) in ratios {
        if !(ratio > 0.0 && ratio < 1.0) {
            c.report(
                &breaker.key(key),
                format!("ratio {ratio}"),
                "a ratio above 0 and below 1 (0 opens on the first error, 1 never)",
                None,
            );
        }
    }
    let attempts = env.gateway.retry.attempts;
    if !ATTEMPTS.contains(&attempts) {
        c.report(
            &root.key("gateway").key("retry").key("attempts"),
            format!("{attempts} attempts"),
            "1 to 5 attempts in all: each multiplies the load on a failing gateway",
            None,
        );
    }
    let messaging = root.key("messaging");
    if env.messaging.delivery_limit == 0 {
        c.report(
            &messaging.key("deliveryLimit"),
            "a delivery limit of 0".into(),
            "at least 1 delivery",
            None,
        );
    }
    let ttl = &env.messaging.message_ttl;
    if ttl.millis() > MAX_MESSAGE_TTL {
        c.report(
            &messaging.key("messageTtl"),
            format!("a message TTL of {ttl} ({} ms)", ttl.millis()),
            "at most 4294967295 ms (about 49 days), RabbitMQ's limit",
            None,
        );
    }
}
