//! Check stage, admission: compute resources as the API server counts them — a
//! container's requests and limits once the API defaults and the LimitRange's defaults
//! are applied, and a pod's total with init and sidecar containers.

use crate::check::cluster::Placed;
use crate::check::value::Value;
use crate::scalar::Quantity;
use std::collections::BTreeMap;

/// A quantity in thousandths of its unit (millicores, millibytes): sums and comparisons
/// stay exact, as the API server's own quantities are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Amount(i128);

impl Amount {
    /// A quantity as written in an object (`"250m"`, `"2Gi"`, `2`).
    pub fn parse(value: &Value) -> Option<Amount> {
        let quantity = match value {
            Value::String(text) => Quantity::parse(text).ok()?,
            Value::Number(n) => Quantity::parse(&n.to_string()).ok()?,
            _ => return None,
        };
        // Kubernetes rounds a quantity up to the milli-unit.
        Some(Amount((quantity.value() * 1000.0).ceil() as i128))
    }

    /// A count of things (pods, claims).
    pub fn count(n: i64) -> Amount {
        Amount(i128::from(n) * 1000)
    }

    pub fn times(self, n: i64) -> Amount {
        Amount(self.0 * i128::from(n))
    }

    /// The amount in thousandths of its unit.
    pub fn milli(self) -> i128 {
        self.0
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// Readable in the resource's own unit: cores (`9800m`, `8`) or bytes (`512Mi`, `2Gi`).
    pub fn show(self, resource: &str) -> String {
        let milli = self.0;
        let bytes = resource.ends_with("memory") || resource.ends_with("storage");
        if bytes && milli % 1000 == 0 {
            let value = milli / 1000;
            let gi = 1i128 << 30;
            if value >= gi && value % gi != 0 {
                // Readable rather than exact: `162.94Gi`.
                let text = format!("{:.2}", value as f64 / gi as f64);
                return format!("{}Gi", text.trim_end_matches('0').trim_end_matches('.'));
            }
            for (suffix, unit) in [("Gi", gi), ("Mi", 1 << 20), ("Ki", 1 << 10)] {
                if value != 0 && value % unit == 0 {
                    return format!("{}{suffix}", value / unit);
                }
            }
            return value.to_string();
        }
        if milli % 1000 == 0 {
            (milli / 1000).to_string()
        } else {
            format!("{milli}m")
        }
    }
}

impl std::ops::Add for Amount {
    type Output = Amount;
    fn add(self, other: Amount) -> Amount {
        Amount(self.0 + other.0)
    }
}

/// Amounts by resource name (`cpu`, `memory`, `ephemeral-storage`, ...).
pub type List = BTreeMap<String, Amount>;

/// A `ResourceList` of an object; values that are not quantities are left out.
pub fn list(value: &Value) -> List {
    value
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(name, v)| Some((name.to_owned(), Amount::parse(v)?)))
        .collect()
}

fn add(into: &mut List, other: &List) {
    for (name, amount) in other {
        let entry = into.entry(name.clone()).or_default();
        *entry = *entry + *amount;
    }
}

fn max(into: &mut List, other: &List) {
    for (name, amount) in other {
        let entry = into.entry(name.clone()).or_default();
        *entry = (*entry).max(*amount);
    }
}

/// Requests and limits of a container or a pod.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resources {
    pub requests: List,
    pub limits: List,
}

impl Resources {
    pub fn get(&self, key: &str) -> Option<Amount> {
        let (part, resource) = key.split_once('.')?;
        match part {
            "requests" => self.requests.get(resource).copied(),
            "limits" => self.limits.get(resource).copied(),
            _ => None,
        }
    }

    fn add(&mut self, other: &Resources) {
        add(&mut self.requests, &other.requests);
        add(&mut self.limits, &other.limits);
    }

    fn max(&mut self, other: &Resources) {
        max(&mut self.requests, &other.requests);
        max(&mut self.limits, &other.limits);
    }
}

/// The defaults a `Container` item of a LimitRange gives containers that set no value.
#[derive(Debug, Clone, Default)]
pub struct Defaults {
    pub default: List,
    pub default_request: List,
}

/// One item of a LimitRange (`spec.limits[i]`), with the API server's own defaulting of
/// the item applied: `default` falls back to `max`, `defaultRequest` to `default`.
#[derive(Debug, Clone)]
pub struct LimitItem<'a> {
    pub limit_range: &'a Placed,
    pub index: usize,
    /// `Container`, `Pod` or `PersistentVolumeClaim`.
    pub kind: String,
    pub max: List,
    pub min: List,
    pub max_ratio: List,
    pub defaults: Defaults,
}

impl<'a> LimitItem<'a> {
    /// The items of a LimitRange.
    pub fn of(limit_range: &'a Placed) -> Vec<LimitItem<'a>> {
        let items = limit_range.object["spec"]["limits"].as_array();
        items
            .into_iter()
            .flatten()
            .enumerate()
            .map(|(index, item)| {
                let kind = item["type"].as_str().unwrap_or_default().to_owned();
                let max = list(&item["max"]);
                let mut defaults = Defaults::default();
                if kind == "Container" {
                    defaults.default = list(&item["default"]);
                    for (name, amount) in &max {
                        defaults.default.entry(name.clone()).or_insert(*amount);
                    }
                    defaults.default_request = list(&item["defaultRequest"]);
                    for (name, amount) in &defaults.default {
                        defaults
                            .default_request
                            .entry(name.clone())
                            .or_insert(*amount);
                    }
                }
                LimitItem {
                    limit_range,
                    index,
                    kind,
                    max,
                    min: list(&item["min"]),
                    max_ratio: list(&item["maxLimitRequestRatio"]),
                    defaults,
                }
            })
            .collect()
    }
}

/// A container's requests and limits as admitted: the API server first copies a limit
/// without request into the request, then the LimitRanger fills what is still unset
/// from the namespace's `Container` defaults.
pub fn container(container: &Value, defaults: &[&Defaults]) -> Resources {
    let resources = &container["resources"];
    let limits = list(&resources["limits"]);
    let mut requests = list(&resources["requests"]);
    for (name, amount) in &limits {
        requests.entry(name.clone()).or_insert(*amount);
    }
    let mut out = Resources { requests, limits };
    for d in defaults {
        for (name, amount) in &d.default {
            out.limits.entry(name.clone()).or_insert(*amount);
        }
        for (name, amount) in &d.default_request {
            out.requests.entry(name.clone()).or_insert(*amount);
        }
    }
    out
}

/// Whether an init container is a sidecar (restartable: it keeps running beside the
/// app containers).
pub fn sidecar(init: &Value) -> bool {
    init["restartPolicy"].as_str() == Some("Always")
}

/// A pod's total as quota and the scheduler count it (`resourcehelper.PodRequests`): the
/// app containers and sidecars together, or the largest init container plus the
/// sidecars started before it if that is more, plus the pod's `overhead`. `init` lists
/// the init containers in order, each with whether it is a sidecar.
pub fn pod<'r>(
    app: impl IntoIterator<Item = &'r Resources>,
    init: impl IntoIterator<Item = (bool, &'r Resources)>,
    overhead: &Value,
) -> Resources {
    let mut total = Resources::default();
    for own in app {
        total.add(own);
    }
    let mut sidecars = Resources::default();
    let mut init_peak = Resources::default();
    for (is_sidecar, own) in init {
        let mut running = sidecars.clone();
        running.add(own);
        if is_sidecar {
            total.add(own);
            sidecars = running.clone();
        }
        init_peak.max(&running);
    }
    total.max(&init_peak);
    let overhead = list(overhead);
    add(&mut total.requests, &overhead);
    add(&mut total.limits, &overhead);
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::value::json;

    fn amounts(pairs: &[(&str, &str)]) -> List {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Amount::parse(&json!(v)).unwrap()))
            .collect()
    }

    #[test]
    fn amounts_are_exact_and_readable() {
        let cpu = |v: &str| Amount::parse(&json!(v)).unwrap();
        assert_eq!(cpu("0.1") + cpu("200m"), cpu("300m"));
        assert_eq!((cpu("100m").times(13) + cpu("1.3")).show("cpu"), "2600m");
        assert_eq!(cpu("8").show("limits.cpu"), "8");
        assert_eq!(cpu("512Mi").times(3).show("memory"), "1.5Gi");
        assert_eq!(cpu("384Mi").show("memory"), "384Mi");
        assert_eq!(cpu("1Gi").times(16).show("limits.memory"), "16Gi");
        assert_eq!(Amount::parse(&json!(2)).unwrap().show("pods"), "2");
    }

    #[test]
    fn defaults_fill_only_what_a_container_leaves_unset() {
        let defaults = Defaults {
            default: amounts(&[("cpu", "100m"), ("memory", "256Mi")]),
            default_request: amounts(&[("cpu", "50m"), ("memory", "128Mi")]),
        };
        let c = json!({"resources": {"limits": {"cpu": "300m"}}});
        // The request copies the limit before the LimitRange's defaults apply.
        assert_eq!(
            container(&c, &[&defaults]),
            Resources {
                requests: amounts(&[("cpu", "300m"), ("memory", "128Mi")]),
                limits: amounts(&[("cpu", "300m"), ("memory", "256Mi")]),
            }
        );
        assert_eq!(container(&json!({}), &[]), Resources::default());
    }

    #[test]
    fn pods_count_init_containers_and_sidecars_as_kubernetes_does() {
        let spec = json!({
            "containers": [{"resources": {"requests": {"cpu": "100m"}}},
                           {"resources": {"requests": {"cpu": "200m"}}}],
            "initContainers": [
                {"resources": {"requests": {"cpu": "250m", "memory": "1Gi"}}},
                {"restartPolicy": "Always", "resources": {"requests": {"cpu": "50m"}}},
                {"resources": {"requests": {"cpu": "400m"}}}],
            "overhead": {"cpu": "10m"}});
        let of = |c: &Value| container(c, &[]);
        let app: Vec<Resources> = spec["containers"]
            .as_array()
            .unwrap()
            .iter()
            .map(of)
            .collect();
        let init: Vec<(bool, Resources)> = spec["initContainers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (sidecar(c), of(c)))
            .collect();
        let total = pod(&app, init.iter().map(|(s, r)| (*s, r)), &spec["overhead"]);
        // max(100m + 200m + 50m sidecar, 250m, 50m + 400m) + 10m overhead
        assert_eq!(
            total.requests,
            amounts(&[("cpu", "460m"), ("memory", "1Gi")])
        );
    }
}
