//! Objects stage, text part: the minijinja templates of `templates/` (SQL, scripts,
//! configuration files, custom resources), loaded once with strict undefined behaviour.

use crate::error::{Error, Result};
use crate::object::Object;
use minijinja::{Environment, UndefinedBehavior};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The template folder under the project root.
pub const TEMPLATE_DIR: &str = "templates";

/// Every template of the project, ready to render.
pub struct Templates {
    env: Environment<'static>,
    /// Every template's name: each is compiled on first use only.
    names: Vec<String>,
    /// Templates rendered so far, so a test can find templates nothing renders.
    rendered: std::sync::Mutex<std::collections::BTreeSet<String>>,
}

impl Templates {
    /// Loads every file under `root/templates` (recursively), named by its relative path.
    pub fn load(root: &Path) -> Result<Templates> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        let syntax = minijinja::syntax::SyntaxConfig::builder()
            .keep_trailing_newline(true)
            .build()
            .expect("the default delimiters are valid");
        env.set_syntax(syntax);
        let dir = root.join(TEMPLATE_DIR);
        let mut sources = std::collections::HashMap::new();
        let mut stack = vec![dir.clone()];
        while let Some(folder) = stack.pop() {
            let entries = std::fs::read_dir(&folder).map_err(|source| Error::Read {
                path: folder.clone(),
                source,
            })?;
            for entry in entries {
                let path = entry
                    .map_err(|source| Error::Read {
                        path: folder.clone(),
                        source,
                    })?
                    .path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let text = std::fs::read_to_string(&path).map_err(|source| Error::Read {
                    path: path.clone(),
                    source,
                })?;
                let name = path
                    .strip_prefix(&dir)
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .replace('\\', "/");
                sources.insert(name, text);
            }
        }
        let mut names: Vec<String> = sources.keys().cloned().collect();
        names.sort();
        // Compiled on first use: a build renders a fraction of the templates.
        env.set_loader(move |name| Ok(sources.get(name).cloned()));
        Ok(Templates {
            env,
            names,
            rendered: Default::default(),
        })
    }

    /// Renders a text template from a typed context.
    pub fn text<C: Serialize>(&self, name: &str, context: &C) -> Result<String> {
        if let Ok(mut rendered) = self.rendered.lock() {
            rendered.insert(name.to_owned());
        }
        self.env
            .get_template(name)
            .and_then(|t| t.render(minijinja::Value::from(minijinja::value::Serde(context))))
            .map_err(|source| Error::Template {
                name: name.to_owned(),
                source,
            })
    }

    /// Renders a YAML template and parses every document of it back into objects.
    pub fn objects<C: Serialize>(&self, name: &str, context: &C) -> Result<Vec<Object>> {
        let text = self.text(name, context)?;
        let mut objects = Vec::new();
        for document in serde_yaml::Deserializer::from_str(&text) {
            let value = Object::deserialize(document).map_err(|source| Error::TemplateOutput {
                name: name.to_owned(),
                source,
            })?;
            if !value.is_null() {
                objects.push(value);
            }
        }
        Ok(objects)
    }

    /// Renders a JSON template and checks that it is valid JSON (dashboards), re-serialised compactly.
    pub fn json<C: Serialize>(&self, name: &str, context: &C) -> Result<String> {
        let text = self.text(name, context)?;
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| Error::Template {
                name: name.to_owned(),
                source: minijinja::Error::new(
                    minijinja::ErrorKind::BadSerialization,
                    format!("not valid JSON: {e}"),
                ),
            })?;
        Ok(serde_json::to_string_pretty(&value).expect("JSON values serialise"))
    }

    /// Templates never rendered directly, sorted; partials (`_name`) are imported by others.
    pub fn unrendered(&self) -> Vec<String> {
        let rendered = self.rendered.lock().map(|r| r.clone()).unwrap_or_default();
        // `names` is sorted.
        self.names
            .iter()
            .filter(|n| !rendered.contains(*n))
            .filter(|n| !n.rsplit('/').next().unwrap_or_default().starts_with('_'))
            .cloned()
            .collect()
    }
}
