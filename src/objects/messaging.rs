//! Objects stage: an environment's messaging topology on the shared RabbitMQ cluster,
//! declared through the messaging topology operator: one virtual host per environment
//! (quorum queues by default), its dead-letter exchange and queue with the policy that
//! dead-letters into them, and per service a user of its own with permissions on that
//! virtual host only.
//!
//! The custom resources live in the environment's namespace and name the cluster in the
//! messaging component's namespace, which lists the environments' namespaces in its
//! `rabbitmq.com/topology-allowed-namespaces` annotation. They are synced with the
//! environment's Application, a wave after the operators.

use serde::Serialize;
use std::collections::BTreeMap;

use crate::descriptor::{Catalog, EnvironmentFile};
use crate::error::Result;
use crate::object::{Object, labels};
use crate::template::Templates;

/// Name of the environment's Vhost object.
pub const VHOST: &str = "rabbitmq-vhost";

/// The environment's RabbitMQ virtual host: its name.
pub fn vhost_name(env: &EnvironmentFile) -> &str {
    env.name.as_str()
}

/// Name of the Exchange, Queue, Binding and Policy objects of the dead letters.
pub const DEAD_LETTERS: &str = "rabbitmq-dead-letters";
/// Name of the dead-lettering policy inside the virtual host.
pub const DEAD_LETTER_POLICY: &str = "dead-lettering";

/// Name of a service's User and Permission objects.
pub fn user(service: &str) -> String {
    format!("{service}-rabbitmq")
}

/// The Secret the operator writes a User's generated `username` and `password` to.
pub fn credentials_secret(service: &str) -> String {
    format!("{}-user-credentials", user(service))
}

/// `rabbitmqClusterReference` of every topology object.
#[derive(Clone, Copy, Serialize)]
struct ClusterReference<'a> {
    name: &'a str,
    namespace: &'a str,
}

#[derive(Clone, Copy, Serialize)]
struct TopologyContext<'a> {
    name: &'a str,
    labels: &'a BTreeMap<String, String>,
    vhost: &'a str,
    cluster: ClusterReference<'a>,
}

#[derive(Serialize)]
struct DeadLetterContext<'a> {
    #[serde(flatten)]
    topology: TopologyContext<'a>,
    policy: &'a str,
    pattern: &'a str,
    exchange: &'a str,
    queue: &'a str,
    delivery_limit: u32,
    /// Milliseconds, as RabbitMQ's `message-ttl` takes them.
    message_ttl: u64,
}

/// The environment's Vhost, its dead letters, then each service's User and Permission.
pub fn topology(
    catalog: &Catalog,
    env: &EnvironmentFile,
    templates: &Templates,
) -> Result<Vec<Object>> {
    let mut l = labels([
        ("app.kubernetes.io/part-of", catalog.platform.name.as_str()),
        ("component", "messaging"),
    ]);
    l.extend(catalog.platform.labels.clone());
    let vhost = TopologyContext {
        name: VHOST,
        labels: &l,
        vhost: vhost_name(env),
        cluster: ClusterReference {
            name: catalog.rabbitmq.cluster_name.as_str(),
            namespace: catalog.rabbitmq.namespace.as_str(),
        },
    };
    let mut objects = templates.objects("messaging/vhost.yaml.j2", &vhost)?;
    let dead_letters = &catalog.rabbitmq.dead_letters;
    objects.extend(templates.objects(
        "messaging/dead-letters.yaml.j2",
        &DeadLetterContext {
            topology: TopologyContext {
                name: DEAD_LETTERS,
                ..vhost
            },
            policy: DEAD_LETTER_POLICY,
            pattern: &dead_letters.pattern,
            exchange: dead_letters.exchange.as_str(),
            queue: dead_letters.queue.as_str(),
            delivery_limit: env.messaging.delivery_limit,
            message_ttl: env.messaging.message_ttl.millis(),
        },
    )?);
    for view in catalog.services() {
        let name = user(view.service.name.as_str());
        let context = TopologyContext {
            name: &name,
            ..vhost
        };
        objects.extend(templates.objects("messaging/user.yaml.j2", &context)?);
    }
    Ok(objects)
}
