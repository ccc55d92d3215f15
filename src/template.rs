//! Objects stage, text part: the minijinja templates of `templates/` (SQL, scripts,
//! configuration files, custom resources), loaded once with strict undefined behaviour.

use crate::error::{Error, Result};
use crate::object::Object;
use minijinja::{Environment, UndefinedBehavior};
use serde::{Deserialize, Serialize};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

/// The template folder under the project root.
pub const TEMPLATE_DIR: &str = "templates";

/// Every template of the project, ready to render.
pub struct Templates {
    env: Environment<'static>,
    /// The template folder: each template is read and compiled on first use only.
    dir: PathBuf,
    /// Templates rendered so far, so a test can find templates nothing renders.
    rendered: std::sync::Mutex<std::collections::BTreeSet<String>>,
}

impl Templates {
    /// Prepares the templates of `root/templates`, each named by its path relative to it
    /// (`/`-separated). A build renders a fraction of them: each file is read when it is
    /// first rendered or imported, not before (reading all 51 of the shipped project cost a
    /// tenth of `build production`).
    pub fn load(root: &Path) -> Result<Templates> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        let syntax = minijinja::syntax::SyntaxConfig::builder()
            .keep_trailing_newline(true)
            .build()
            .expect("the default delimiters are valid");
        env.set_syntax(syntax);
        let dir = root.join(TEMPLATE_DIR);
        // A missing folder is told as such, not as the first template not found.
        std::fs::read_dir(&dir).map_err(|source| Error::Read {
            path: dir.clone(),
            source,
        })?;
        let folder = dir.clone();
        env.set_loader(move |name| read_template(&folder, name));
        Ok(Templates {
            env,
            dir,
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

    /// Renders a YAML template and parses every document of it back into objects: read
    /// quickly (`yaml`), or by serde_yaml, which also locates what is wrong.
    pub fn objects<C: Serialize>(&self, name: &str, context: &C) -> Result<Vec<Object>> {
        let text = self.text(name, context)?;
        if let Some(documents) = crate::yaml::documents::<Object>(&text) {
            return Ok(documents.into_iter().filter(|o| !o.is_null()).collect());
        }
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

    /// Compiles the templates an environment may render (all but the shared components',
    /// under `components/`), so that rendering finds them ready, until `stop` says so. A
    /// template that does not compile is left for its rendering to report.
    pub fn compile_environments(&self, stop: &dyn Fn() -> bool) {
        let mut names = Vec::new();
        if template_names(&self.dir, &self.dir, &mut names).is_ok() {
            for name in names.iter().filter(|n| !n.starts_with("components/")) {
                if stop() {
                    return;
                }
                let _ = self.env.get_template(name);
            }
        }
    }

    /// Templates never rendered directly, sorted; partials (`_name`) are imported by others.
    pub fn unrendered(&self) -> Result<Vec<String>> {
        let rendered = self.rendered.lock().map(|r| r.clone()).unwrap_or_default();
        let mut names = Vec::new();
        template_names(&self.dir, &self.dir, &mut names)?;
        names.sort();
        Ok(names
            .into_iter()
            .filter(|n| !rendered.contains(n))
            .filter(|n| !n.rsplit('/').next().unwrap_or_default().starts_with('_'))
            .collect())
    }
}

/// The text of template `name` under `dir`, or `None` when there is no such file. Names
/// are relative paths inside the folder: one that leaves it (`..`, absolute) is none.
fn read_template(dir: &Path, name: &str) -> std::result::Result<Option<String>, minijinja::Error> {
    let inside = name
        .split('/')
        .all(|part| !part.is_empty() && part != "." && part != ".." && !part.contains('\\'));
    if !inside {
        return Ok(None);
    }
    let path = dir.join(name);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::IsADirectory) => Ok(None),
        Err(e) => Err(minijinja::Error::new(
            minijinja::ErrorKind::InvalidOperation,
            format!("cannot read {}: {e}", path.display()),
        )),
    }
}

/// Every file under `folder` (recursively), named by its `/`-separated path from `dir`.
fn template_names(dir: &Path, folder: &Path, names: &mut Vec<String>) -> Result<()> {
    let unreadable = |source| Error::Read {
        path: folder.to_owned(),
        source,
    };
    for entry in std::fs::read_dir(folder).map_err(unreadable)? {
        let path = entry.map_err(unreadable)?.path();
        if path.is_dir() {
            template_names(dir, &path, names)?;
        } else {
            let name = path.strip_prefix(dir).unwrap_or(&path).components();
            let parts: Vec<_> = name.map(|c| c.as_os_str().to_string_lossy()).collect();
            names.push(parts.join("/"));
        }
    }
    Ok(())
}
