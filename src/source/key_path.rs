//! Descriptor source text, key paths: the `services[3].port` spelling that locates a
//! node, built without string bugs.

use std::fmt;
use std::ops::Deref;

/// Key path builder, so callers build paths without string bugs:
/// `KeyPath::root().key("services").index(3).key("port").to_string() == "services[3].port"`.
///
/// It dereferences to `str`, so `source.locate(&path)` works as is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct KeyPath(String);

impl KeyPath {
    /// The document root, "".
    #[must_use]
    pub fn root() -> Self {
        KeyPath(String::new())
    }

    /// The value of key `k` in the mapping at this path.
    #[must_use]
    pub fn key(&self, k: &str) -> Self {
        if self.0.is_empty() {
            KeyPath(k.to_owned())
        } else {
            KeyPath(format!("{}.{k}", self.0))
        }
    }

    /// Item `i` (0-based) of the sequence at this path.
    #[must_use]
    pub fn index(&self, i: usize) -> Self {
        KeyPath(format!("{}[{i}]", self.0))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Deref for KeyPath {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for KeyPath {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::KeyPath;

    #[test]
    fn key_path_display() {
        let p = KeyPath::root().key("services").index(3).key("port");
        assert_eq!(p.to_string(), "services[3].port");
        assert_eq!(KeyPath::root().to_string(), "");
        assert_eq!(
            KeyPath::root().index(0).index(2).key("a").to_string(),
            "[0][2].a"
        );
        assert_eq!(
            KeyPath::root()
                .key("autoscaling")
                .key("overrides")
                .index(0)
                .key("max")
                .as_str(),
            "autoscaling.overrides[0].max"
        );
        assert_eq!(KeyPath::default(), KeyPath::root());
    }
}
