//! Monitoring across clusters: each cluster's Prometheus labels what it sends out
//! (alerts, federation) with its cluster and region; the management cluster's Grafana
//! reads every other cluster's Prometheus as a datasource of its own, through that
//! cluster's load balancer `prometheus-remote`, which admits Grafana's addresses only.
//! With one cluster there is none of this.

use super::*;
use crate::model::Site;
use k8s_openapi::api::core::v1::ServicePort;
use k8s_openapi::api::networking::v1::IPBlock;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// The load balancer of another cluster's Prometheus.
pub const REMOTE_SERVICE: &str = "prometheus-remote";

/// `externalLabels` of the Prometheus of the project's cluster, when the catalog has
/// clusters: `cluster` and (for a catalog entry) `region`.
pub(super) fn external_labels(project: &Project) -> Option<BTreeMap<String, String>> {
    if project.catalog.clusters.is_empty() {
        return None;
    }
    let site = project.site();
    let mut l = BTreeMap::from([("cluster".to_owned(), site.name.to_owned())]);
    if let Some(spec) = site.spec {
        l.insert("region".into(), spec.region.clone());
    }
    Some(l)
}

/// A datasource of the management cluster's Grafana for another cluster's Prometheus.
#[derive(Serialize)]
pub(super) struct ClusterDatasource {
    name: String,
    uid: String,
    url: String,
}

/// The other clusters' Prometheus, on the management cluster only.
fn remote(project: &Project) -> Vec<(Site<'_>, &crate::descriptor::ClusterPrometheus)> {
    if !project.site().management {
        return Vec::new();
    }
    (project.remote_sites().into_iter())
        .filter_map(|site| Some((site, site.spec?.prometheus.as_ref()?)))
        .collect()
}

/// One Grafana datasource per other cluster hosting environments (`Prometheus <name>`).
pub(super) fn datasources(project: &Project) -> Vec<ClusterDatasource> {
    remote(project)
        .into_iter()
        .map(|(site, prometheus)| ClusterDatasource {
            name: format!("Prometheus {}", site.name),
            uid: format!("prometheus-{}", site.name),
            url: format!("http://{}:{PROMETHEUS_PORT}", prometheus.host),
        })
        .collect()
}

/// Grafana's egress to the other clusters' Prometheus: outside the cluster, on
/// Prometheus' port (their addresses are the load balancers', not known here).
pub(super) fn grafana_egress(project: &Project) -> Option<NetworkPolicyEgressRule> {
    (!remote(project).is_empty()).then(|| NetworkPolicyEgressRule {
        to: None,
        ports: Some(vec![tcp(PROMETHEUS_PORT)]),
    })
}

/// On another cluster: how the management cluster's Grafana reads its Prometheus.
fn exposed(project: &Project) -> Option<&crate::descriptor::ClusterPrometheus> {
    let site = project.site();
    (!site.management)
        .then_some(site.spec?.prometheus.as_ref())
        .flatten()
}

/// On another cluster: the peers Prometheus admits besides its own cluster's Grafana,
/// Grafana's addresses.
pub(super) fn prometheus_clients(project: &Project) -> Vec<NetworkPolicyPeer> {
    let Some(prometheus) = exposed(project) else {
        return Vec::new();
    };
    (prometheus.clients.iter())
        .map(|cidr| NetworkPolicyPeer {
            ip_block: Some(IPBlock {
                cidr: cidr.clone(),
                except: None,
            }),
            ..Default::default()
        })
        .collect()
}

/// On another cluster: the load balancer Grafana reads Prometheus through, open to its
/// addresses only (`loadBalancerSourceRanges`), keeping them (`externalTrafficPolicy:
/// Local`) for the NetworkPolicy to admit.
pub(super) fn remote_service(project: &Project) -> Option<Object> {
    let prometheus = exposed(project)?;
    let catalog = &project.catalog;
    let ns = catalog.security.monitoring_namespace.as_str();
    Some(object(&Service {
        metadata: metadata(
            REMOTE_SERVICE,
            Some(ns),
            &workload_labels(catalog, MONITORING, "prometheus"),
        ),
        spec: Some(ServiceSpec {
            type_: Some("LoadBalancer".into()),
            external_traffic_policy: Some("Local".into()),
            load_balancer_source_ranges: Some(prometheus.clients.clone()),
            selector: Some(operator_pods("prometheus", instance(catalog))),
            ports: Some(vec![ServicePort {
                name: Some("web".into()),
                port: i32::from(PROMETHEUS_PORT),
                target_port: Some(IntOrString::Int(i32::from(PROMETHEUS_PORT))),
                protocol: Some("TCP".into()),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }))
}
