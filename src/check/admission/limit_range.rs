//! Check stage, admission: LimitRange. Once the defaults are applied (see `resources`),
//! every container (init containers included) and every pod must lie within the `min`,
//! `max` and `maxLimitRequestRatio` of the namespace's LimitRanges, and every claim
//! within their storage bounds; the LimitRanger rejects the pod otherwise, and the
//! workload's pods are never created.

use super::Pods;
use super::resources::{LimitItem, Resources};
use crate::check::cluster::Placed;
use crate::check::{Family, Finding};

/// One bound broken: what, where, and the bound's item.
struct Broken<'i, 'a> {
    item: &'i LimitItem<'a>,
    field: String,
    rule: String,
}

/// Containers and pods of a workload against the namespace's LimitRange items.
pub fn check(pods: &Pods, items: &[LimitItem], out: &mut Vec<Finding>) {
    if items.iter().any(|i| i.kind == "Container") {
        request_within_limit(pods, out);
    }
    let mut broken = Vec::new();
    for item in items {
        match item.kind.as_str() {
            "Container" => {
                for container in &pods.containers {
                    let base = format!("{}.{}.resources", pods.spec_path, container.path);
                    let field = |part: &str, name: &str| format!("{base}.{part}.{name}");
                    bounds(item, &container.resources, &field, "Container", &mut broken);
                }
            }
            "Pod" => {
                // A pod's total has no field of its own: the pod spec.
                let field = |_: &str, _: &str| pods.spec_path.clone();
                bounds(item, &pods.total, &field, "Pod", &mut broken);
            }
            _ => {}
        }
    }
    for b in broken {
        out.push(Finding::new(
            Family::Admission,
            pods.placed,
            b.field,
            format!(
                "{} of LimitRange `{}` (spec.limits[{}]): its pods are rejected",
                b.rule,
                b.item.limit_range.name(),
                b.item.index
            ),
        ));
    }
}

/// The `min`, `max` and `maxLimitRequestRatio` of one item on a container's or a pod's
/// requests and limits, as the LimitRanger words them; `field(part, resource)` names
/// where each value sits.
fn bounds<'i, 'a>(
    item: &'i LimitItem<'a>,
    r: &Resources,
    field: &dyn Fn(&str, &str) -> String,
    per: &str,
    broken: &mut Vec<Broken<'i, 'a>>,
) {
    let mut push = |part: &str, name: &str, rule: String| {
        broken.push(Broken {
            item,
            field: field(part, name),
            rule,
        });
    };
    for (name, min) in &item.min {
        let min_text = min.show(name);
        match r.requests.get(name) {
            None => push(
                "requests",
                name,
                format!(
                    "minimum {name} usage per {per} is {min_text}, but no request is specified"
                ),
            ),
            Some(request) if request < min => push(
                "requests",
                name,
                format!(
                    "request {name} {} is below the minimum {min_text} per {per}",
                    request.show(name)
                ),
            ),
            _ => {}
        }
        if let Some(limit) = r.limits.get(name).filter(|l| *l < min) {
            push(
                "limits",
                name,
                format!(
                    "limit {name} {} is below the minimum {min_text} per {per}",
                    limit.show(name)
                ),
            );
        }
    }
    for (name, max) in &item.max {
        let max_text = max.show(name);
        match r.limits.get(name) {
            None => push(
                "limits",
                name,
                format!("maximum {name} usage per {per} is {max_text}, but no limit is specified"),
            ),
            Some(limit) if limit > max => push(
                "limits",
                name,
                format!(
                    "limit {name} {} is above the maximum {max_text} per {per}",
                    limit.show(name)
                ),
            ),
            _ => {}
        }
        if let Some(request) = r.requests.get(name).filter(|q| *q > max) {
            push(
                "requests",
                name,
                format!(
                    "request {name} {} is above the maximum {max_text} per {per}",
                    request.show(name)
                ),
            );
        }
    }
    for (name, ratio) in &item.max_ratio {
        let (Some(limit), Some(request)) = (r.limits.get(name), r.requests.get(name)) else {
            push(
                "limits",
                name,
                format!(
                    "a limit/request ratio for {name} is enforced per {per}, but the limit or \
                     the request is not specified"
                ),
            );
            continue;
        };
        // limit / request > ratio, in integers: limit * 1000 > ratio * request.
        if limit.milli() * 1000 > ratio.milli() * request.milli() {
            push(
                "limits",
                name,
                format!(
                    "limit {name} {} is more than {} times the request {} per {per}",
                    limit.show(name),
                    ratio.show("ratio"),
                    request.show(name)
                ),
            );
        }
    }
}

/// After the defaults, a request above its limit makes the pod invalid: a container that
/// sets only a request, above the LimitRange's default limit (requests above limits the
/// container sets itself are the policy check's).
fn request_within_limit(pods: &Pods, out: &mut Vec<Finding>) {
    for container in &pods.containers {
        let r = &container.resources;
        for (name, request) in &r.requests {
            let defaulted = !container.own.limits.contains_key(name);
            if let Some(limit) = r.limits.get(name).filter(|l| defaulted && request > *l) {
                out.push(Finding::new(
                    Family::Admission,
                    pods.placed,
                    format!(
                        "{}.{}.resources.requests.{name}",
                        pods.spec_path, container.path
                    ),
                    format!(
                        "request {name} {} is above the limit {} (with the LimitRange's \
                         defaults): its pods are invalid",
                        request.show(name),
                        limit.show(name)
                    ),
                ));
            }
        }
    }
}

/// A claim's storage request against the `PersistentVolumeClaim` items' bounds.
pub fn check_claim(claim: &Placed, items: &[LimitItem], out: &mut Vec<Finding>) {
    let requested = super::resources::list(&claim.object["spec"]["resources"]["requests"]);
    for item in items.iter().filter(|i| i.kind == "PersistentVolumeClaim") {
        for (name, amount) in &requested {
            let bound = match (item.max.get(name), item.min.get(name)) {
                (Some(max), _) if amount > max => Some(("above the maximum", max)),
                (_, Some(min)) if amount < min => Some(("below the minimum", min)),
                _ => None,
            };
            let Some((why, bound)) = bound else {
                continue;
            };
            out.push(Finding::new(
                Family::Admission,
                claim,
                format!("spec.resources.requests.{name}"),
                format!(
                    "request {name} {} is {why} {} per PersistentVolumeClaim of LimitRange \
                     `{}` (spec.limits[{}]): the claim is rejected",
                    amount.show(name),
                    bound.show(name),
                    item.limit_range.name(),
                    item.index
                ),
            ));
        }
    }
}
