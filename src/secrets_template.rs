//! Objects stage, for bootstrapping: `platgen secrets-template <env>`, the Secrets an
//! environment's pods read, with placeholder values, for a cluster without Vault.
//!
//! These objects are printed only, never part of the tree: the tree gets its Secrets from
//! ExternalSecrets, and a credential must never be committed.

use crate::descriptor::EnvironmentFile;
use crate::error::{Error, Result};
use crate::model::Project;
use crate::object::Object;
use crate::objects::security::secrets;
use crate::{emit, source};
use serde_json::{Map, Value, json};

/// The value of every key until someone fills it in.
pub const PLACEHOLDER: &str = "CHANGE-ME";

/// The environment called `name`, or an error naming the closest one.
pub fn environment<'p>(project: &'p Project, name: &str) -> Result<&'p EnvironmentFile> {
    project.environment(name).ok_or_else(|| {
        let names = project.environments.iter().map(|e| e.name.as_str());
        if crate::objects::components().contains(&crate::components::of_target(project, name).1) {
            // A target, but not an environment: no closest-name guess.
            return Error::Usage(format!(
                "`{name}` is a shared component, not an environment: this command takes an \
                 environment ({})",
                names.collect::<Vec<_>>().join(", ")
            ));
        }
        Error::UnknownName {
            what: "environment",
            name: name.to_owned(),
            suggestion: source::closest(name, names.clone()).map(str::to_owned),
            available: names.collect::<Vec<_>>().join(", "),
        }
    })
}

/// One Secret per secret the environment's pods read, in its namespace, every key set to
/// [`PLACEHOLDER`].
pub fn objects(project: &Project, env: &EnvironmentFile) -> Vec<Object> {
    secrets(&project.catalog, env)
        .into_iter()
        .map(|(name, keys)| {
            let data: Map<String, Value> = keys
                .iter()
                .map(|k| ((*k).to_owned(), Value::String(PLACEHOLDER.into())))
                .collect();
            json!({
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": name, "namespace": env.namespace.as_str()},
                "type": "Opaque",
                "stringData": data,
            })
        })
        .collect()
}

/// The YAML stream `platgen secrets-template` prints: a header saying what to do with it.
pub fn render(project: &Project, env: &EnvironmentFile) -> String {
    format!(
        "# Secrets of environment `{}` (namespace {}) for a cluster without Vault.\n\
         # Replace every {PLACEHOLDER}, then `kubectl apply -f` this file; never commit it.\n\
         # Any printable ASCII character may be used, except in the `*-mysql-secret` keys\n\
         # `root-password` and `password`: the MySQL image's entrypoint puts those in SQL\n\
         # and in an option file unescaped, so they must not contain ' \" or \\ (SECURITY.md).\n\
         ---\n{}",
        env.name,
        env.namespace,
        emit::stream(&objects(project, env))
    )
}
