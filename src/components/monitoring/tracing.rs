//! Jaeger, for distributed tracing.

use super::*;

#[derive(Serialize)]
struct JaegerContext<'a> {
    name: &'static str,
    namespace: &'a str,
    labels: &'a BTreeMap<String, String>,
    image: &'a str,
    max_traces: u32,
    resources: serde_json::Value,
    security_context: serde_json::Value,
}

/// Jaeger for distributed tracing, run by the Jaeger operator: the all-in-one strategy
/// (collector, query and storage in one pod) with bounded in-memory storage, which suits
/// traces (short-lived, diagnostic); a storage backend is a descriptor change away.
pub(super) fn jaeger(catalog: &Catalog, templates: &Templates) -> Result<Vec<Object>> {
    let settings = &catalog.components.monitoring.jaeger;
    templates.objects(
        "components/monitoring/jaeger.yaml.j2",
        &JaegerContext {
            name: JAEGER,
            namespace: catalog.security.monitoring_namespace.as_str(),
            labels: &component_labels(catalog, MONITORING),
            image: &settings.image,
            max_traces: settings.max_traces,
            resources: object(&pod::resources(&settings.resources)),
            security_context: object(&pod::pod_security(settings.run_as_user)),
        },
    )
}
