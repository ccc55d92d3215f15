//! Check stage, wiring: dead-lettering as RabbitMQ runs it in each virtual host.
//!
//! A policy's `dead-letter-exchange` is an Exchange declared in the policy's virtual
//! host (else RabbitMQ drops every dead letter), bound to at least one queue (else they
//! go nowhere), and none of the queues it routes to is itself governed by that policy:
//! a message rejected or expired there would be dead-lettered back to the same queue,
//! in a loop. The policy governing a queue is the one of greatest priority whose pattern
//! (PCRE, unanchored, as RabbitMQ matches it) and `applyTo` take the queue (of its
//! declared type, else its virtual host's `defaultQueueType`, else classic).

use crate::check::cluster::{Cluster, Placed};
use crate::check::{Family, Finding};
use std::collections::{HashMap, HashSet};

/// The topology objects of one virtual host of one RabbitmqCluster.
#[derive(Default)]
struct Vhost<'c> {
    policies: Vec<&'c Placed>,
    /// The Vhost's `defaultQueueType`: the type of a queue declared without one.
    default_type: Option<&'c str>,
    exchanges: HashSet<&'c str>,
    /// Queue name and type (`quorum`, `classic`, `stream`; `None` when unsaid).
    queues: HashMap<&'c str, Option<&'c str>>,
    /// (source exchange, destination, destination is a queue).
    bindings: Vec<(&'c str, &'c str, bool)>,
}

pub(super) fn check(cluster: &Cluster, checked: &HashSet<usize>, out: &mut Vec<Finding>) {
    let mut vhosts: HashMap<(String, &str), Vhost> = HashMap::new();
    for placed in &cluster.objects {
        if placed.group() != "rabbitmq.com" {
            continue;
        }
        let spec = &placed.object["spec"];
        let name = match placed.kind() {
            "Vhost" => spec["name"].as_str(),
            _ => spec["vhost"].as_str(),
        };
        let key = (super::cluster_of(placed), name.unwrap_or("/"));
        let vhost = || vhosts.entry(key).or_default();
        match placed.kind() {
            "Vhost" => vhost().default_type = spec["defaultQueueType"].as_str(),
            "Policy" => vhost().policies.push(placed),
            "Exchange" => {
                if let Some(name) = spec["name"].as_str() {
                    vhost().exchanges.insert(name);
                }
            }
            "Queue" => {
                if let Some(name) = spec["name"].as_str() {
                    vhost().queues.insert(name, spec["type"].as_str());
                }
            }
            "Binding" => {
                if let (Some(source), Some(destination)) =
                    (spec["source"].as_str(), spec["destination"].as_str())
                {
                    let to_queue = spec["destinationType"].as_str() != Some("exchange");
                    vhost().bindings.push((source, destination, to_queue));
                }
            }
            _ => {}
        }
    }
    for (i, placed) in cluster.objects.iter().enumerate() {
        if !checked.contains(&i) || (placed.group(), placed.kind()) != ("rabbitmq.com", "Policy") {
            continue;
        }
        let spec = &placed.object["spec"];
        let Some(exchange) = spec["definition"]["dead-letter-exchange"].as_str() else {
            continue;
        };
        let name = spec["vhost"].as_str().unwrap_or("/");
        let empty = Vhost::default();
        let vhost = vhosts
            .get(&(super::cluster_of(placed), name))
            .unwrap_or(&empty);
        let field = "spec.definition.dead-letter-exchange";
        if !vhost.exchanges.contains(exchange) {
            out.push(Finding::new(
                Family::Wiring,
                placed,
                field,
                format!(
                    "dead-letter exchange `{exchange}` is declared by no Exchange in virtual \
                     host `{name}`: RabbitMQ drops the dead letters"
                ),
            ));
            continue;
        }
        let queues = vhost.routes(exchange);
        if queues.is_empty() {
            out.push(Finding::new(
                Family::Wiring,
                placed,
                field,
                format!(
                    "dead-letter exchange `{exchange}` of virtual host `{name}` is bound to no \
                     queue: the dead letters go nowhere"
                ),
            ));
        }
        for queue in queues {
            if vhost.governs(placed, queue) {
                let pattern = spec["pattern"].as_str().unwrap_or_default();
                out.push(Finding::new(
                    Family::Wiring,
                    placed,
                    "spec.pattern",
                    format!(
                        "pattern `{pattern}` takes `{queue}`, the queue its dead letters go to \
                         (through exchange `{exchange}`, virtual host `{name}`): a message \
                         rejected or expired there is dead-lettered back to it, in a loop"
                    ),
                ));
            }
        }
    }
}

impl<'c> Vhost<'c> {
    /// The queues an exchange routes to, through exchange-to-exchange bindings too
    /// (every binding, whatever its routing key).
    fn routes(&self, exchange: &'c str) -> Vec<&'c str> {
        let mut seen = HashSet::from([exchange]);
        let mut pending = vec![exchange];
        let mut queues = Vec::new();
        while let Some(source) = pending.pop() {
            for &(from, to, to_queue) in &self.bindings {
                if from != source {
                    continue;
                }
                if to_queue {
                    if !queues.contains(&to) {
                        queues.push(to);
                    }
                } else if seen.insert(to) {
                    pending.push(to);
                }
            }
        }
        queues.sort_unstable();
        queues
    }

    /// Whether `policy` is the policy RabbitMQ applies to `queue`: it takes the queue,
    /// and no policy of greater priority does.
    fn governs(&self, policy: &Placed, queue: &str) -> bool {
        let declared = self.queues.get(queue).copied().flatten();
        let kind = declared.or(self.default_type).unwrap_or("classic");
        let priority = |p: &Placed| p.object["spec"]["priority"].as_i64().unwrap_or(0);
        takes(policy, queue, kind)
            && !(self.policies.iter())
                .any(|other| priority(other) > priority(policy) && takes(other, queue, kind))
    }
}

/// Whether a policy's `applyTo` and pattern take a queue of type `kind`.
fn takes(policy: &Placed, queue: &str, kind: &str) -> bool {
    let spec = &policy.object["spec"];
    let applies = match spec["applyTo"].as_str().unwrap_or("all") {
        "all" | "queues" => true,
        "quorum_queues" => kind == "quorum",
        "classic_queues" => kind == "classic",
        "streams" => kind == "stream",
        _ => false,
    };
    let pattern = spec["pattern"].as_str().unwrap_or_default();
    applies
        && fancy_regex::Regex::new(pattern)
            .ok()
            .and_then(|re| re.is_match(queue).ok())
            .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::value::json;

    fn policy(pattern: &str, apply_to: &str, priority: i64) -> Placed {
        let spec = json!({"pattern": pattern, "applyTo": apply_to, "priority": priority});
        Placed::first("t", json!({"kind": "Policy", "spec": spec}))
    }

    /// `applyTo` takes the queue types RabbitMQ applies it to; the pattern is searched,
    /// not anchored, lookahead included.
    #[test]
    fn apply_to_and_pattern_as_rabbitmq_reads_them() {
        let quorum = "quorum";
        assert!(takes(&policy("^(?!dlq$)", "queues", 0), "orders", quorum));
        assert!(!takes(&policy("^(?!dlq$)", "queues", 0), "dlq", quorum));
        assert!(takes(&policy("dl", "all", 0), "my-dlq", "classic"));
        assert!(takes(&policy(".*", "quorum_queues", 0), "dlq", quorum));
        assert!(!takes(&policy(".*", "classic_queues", 0), "dlq", quorum));
        assert!(takes(&policy(".*", "classic_queues", 0), "dlq", "classic"));
        assert!(!takes(&policy(".*", "streams", 0), "dlq", quorum));
        assert!(!takes(&policy(".*", "exchanges", 0), "dlq", quorum));
    }

    /// Only the policy of greatest priority that takes a queue governs it.
    #[test]
    fn a_policy_of_greater_priority_governs_instead() {
        let (low, high) = (policy(".*", "queues", 0), policy("^dlq$", "queues", 5));
        let mut vhost = Vhost::default();
        vhost.queues.insert("dlq", Some("quorum"));
        vhost.policies = vec![&low];
        assert!(vhost.governs(&low, "dlq"));
        vhost.policies.push(&high);
        assert!(!vhost.governs(&low, "dlq"));
        assert!(vhost.governs(&high, "dlq"));
    }

    /// A queue declared without a type has its virtual host's default type, else classic.
    #[test]
    fn an_untyped_queue_has_the_vhost_default_type() {
        let classic = policy(".*", "classic_queues", 0);
        let mut vhost = Vhost::default();
        vhost.queues.insert("dlq", None);
        vhost.policies = vec![&classic];
        assert!(vhost.governs(&classic, "dlq"));
        vhost.default_type = Some("quorum");
        assert!(!vhost.governs(&classic, "dlq"));
    }
}
