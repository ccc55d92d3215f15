//! Descriptor stage, described: JSON Schemas (draft-07, what yaml-language-server reads)
//! of the catalog and of an environment file, derived from the descriptor types.
//!
//! `schemas/<descriptor>.json` ships these, and every descriptor's first line points its
//! editor at one: `# yaml-language-server: $schema=../schemas/environment.json`.

use crate::descriptor::{Catalog, EnvironmentFile};
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

/// One kind of descriptor file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Descriptor {
    /// `environments/platform.yaml`.
    Catalog,
    /// `environments/<name>.yaml`.
    Environment,
}

impl Descriptor {
    pub const ALL: [Descriptor; 2] = [Descriptor::Catalog, Descriptor::Environment];

    /// The file name of its schema under `schemas/`.
    pub fn file_name(self) -> &'static str {
        match self {
            Descriptor::Catalog => "catalog.json",
            Descriptor::Environment => "environment.json",
        }
    }
}

/// The schema of one kind of descriptor file.
pub fn of(descriptor: Descriptor) -> Value {
    let generator = SchemaSettings::draft07().into_generator();
    let schema = match descriptor {
        Descriptor::Catalog => generator.into_root_schema_for::<Catalog>(),
        Descriptor::Environment => generator.into_root_schema_for::<EnvironmentFile>(),
    };
    schema.to_value()
}

/// One document for both kinds: a descriptor is either a catalog or an environment.
pub fn both() -> Value {
    let mut generator = SchemaSettings::draft07().into_generator();
    let catalog = generator.subschema_for::<Catalog>().to_value();
    let environment = generator.subschema_for::<EnvironmentFile>().to_value();
    let definitions: Map<String, Value> = generator.take_definitions(true);
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "platgen descriptors",
        "description": "environments/platform.yaml (the catalog) or environments/<name>.yaml (an environment)",
        "oneOf": [catalog, environment],
        "definitions": definitions,
    })
}

/// A schema as the shipped file holds it: pretty JSON, one trailing newline.
pub fn render(schema: &Value) -> String {
    let mut text = serde_json::to_string_pretty(schema).expect("a JSON value serialises");
    text.push('\n');
    text
}
