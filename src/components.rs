//! Descriptor and objects stages of the shared components (messaging, monitoring,
//! security, argocd): their settings in the catalog and their kustomizations.

use serde::Deserialize;

use crate::error::Result;
use crate::model::Project;
use crate::template::Templates;
use crate::tree::Kustomization;

/// The shared components, each a target built from `manifests/<name>`.
pub const NAMES: [&str; 0] = [];

/// The `components` section of the catalog.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Settings {}

/// One kustomization per shared component, in `NAMES` order.
pub fn kustomizations(_project: &Project, _templates: &Templates) -> Result<Vec<Kustomization>> {
    Ok(Vec::new())
}
