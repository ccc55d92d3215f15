//! Descriptor source text, indexing: one walk over yaml-rust2's events records where
//! each key path's key and value sit, and how long each one-line scalar is.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::panic::{self, AssertUnwindSafe};

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::TScalarStyle;

use super::{BOM, Pos, Source};

/// Where one node of the document sits.
#[derive(Debug, Clone, Copy)]
pub(super) struct Node {
    /// The key it is the value of, when it is the value of a mapping entry.
    pub(super) key: Option<Pos>,
    /// The value itself.
    pub(super) value: Pos,
}

#[derive(Debug, Clone)]
pub(super) struct Index {
    /// Each key path of the first document, and where its key and value sit.
    pub(super) nodes: HashMap<String, Node>,
    pub(super) spans: HashMap<Pos, usize>,
    #[cfg_attr(not(test), allow(dead_code))]
    pub(super) panicked: bool,
}

pub(super) fn build_index(source: &Source) -> Index {
    let mut indexer = Indexer {
        source,
        nodes: HashMap::new(),
        spans: HashMap::new(),
        stack: Vec::new(),
    };
    // yaml-rust2 has not been seen to panic (see the fuzz test), but an index is a
    // nicety: should it ever panic, keep what was indexed rather than fail the run.
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| indexer.run()));
    Index {
        nodes: indexer.nodes,
        spans: indexer.spans,
        panicked: outcome.is_err(),
    }
}

/// The key of the mapping entry whose value comes next.
#[derive(Debug, Clone)]
struct PendingKey {
    /// Its text, when it is a scalar (numbers and booleans index by their text too).
    text: Option<String>,
    pos: Pos,
    /// Length in characters, when it is a scalar on one line.
    span: Option<usize>,
}

enum Frame {
    Map {
        /// `None` inside a complex key (a collection used as a key): not indexed.
        path: Option<String>,
        /// `None` while the next node is a key, `Some` while it is that key's value.
        key: Option<PendingKey>,
        /// A block mapping: its marker is unreliable, so its position becomes its first key's.
        position_from_first_key: Option<String>,
    },
    Seq {
        path: Option<String>,
        next: usize,
    },
}

enum NodeKind<'e> {
    Scalar {
        value: &'e str,
        style: TScalarStyle,
        /// Neither anchor nor tag.
        bare: bool,
    },
    Alias,
    Seq,
    Map,
}

enum Slot {
    Key,
    Value {
        path: Option<String>,
        key: Option<PendingKey>,
    },
}

struct Indexer<'s> {
    source: &'s Source,
    nodes: HashMap<String, Node>,
    spans: HashMap<Pos, usize>,
    stack: Vec<Frame>,
}

impl Indexer<'_> {
    /// Walk the events of the first document. Stops quietly at the first syntax error.
    fn run(&mut self) {
        let mut parser = Parser::new_from_str(&self.source.text);
        // Every event but the empty scalars consumes input, and there are at most two of
        // those per character: a bound that only a parser bug could reach.
        let budget = self.source.text.len().saturating_mul(4).saturating_add(64);
        for _ in 0..budget {
            let Ok((event, marker)) = parser.next_token() else {
                return;
            };
            let mut pos = Pos::from_marker(&marker);
            match event {
                Event::StreamEnd | Event::DocumentEnd => return,
                Event::Nothing | Event::StreamStart | Event::DocumentStart => {}
                Event::Scalar(value, style, anchor, tag) => {
                    // yaml-rust2 reads a byte-order mark as part of the first plain
                    // scalar; libyaml skips it but counts it as a column, as Pos does.
                    let value = match value.strip_prefix(BOM) {
                        Some(rest) => {
                            pos.col += 1;
                            rest
                        }
                        None => &value,
                    };
                    let bare = anchor == 0 && tag.is_none();
                    self.node(pos, NodeKind::Scalar { value, style, bare });
                }
                Event::Alias(_) => self.node(pos, NodeKind::Alias),
                Event::SequenceStart(..) => self.node(pos, NodeKind::Seq),
                Event::MappingStart(..) => self.node(pos, NodeKind::Map),
                Event::SequenceEnd | Event::MappingEnd => {
                    self.stack.pop();
                }
            }
        }
    }

    fn node(&mut self, marker: Pos, kind: NodeKind<'_>) {
        let slot = match self.stack.last_mut() {
            None => Slot::Value {
                path: Some(String::new()),
                key: None,
            },
            Some(Frame::Seq { path, next }) => {
                let item = path.as_ref().map(|parent| format!("{parent}[{next}]"));
                *next += 1;
                Slot::Value {
                    path: item,
                    key: None,
                }
            }
            Some(Frame::Map {
                path,
                key,
                position_from_first_key,
            }) => match key.take() {
                Some(pending) => Slot::Value {
                    path: match (path.as_ref(), pending.text.as_ref()) {
                        (Some(parent), Some(text)) if parent.is_empty() => Some(text.clone()),
                        (Some(parent), Some(text)) => Some(format!("{parent}.{text}")),
                        _ => None,
                    },
                    key: Some(pending),
                },
                None => {
                    if let Some(owner) = position_from_first_key.take()
                        && let Some(node) = self.nodes.get_mut(&owner)
                    {
                        node.value = marker;
                    }
                    Slot::Key
                }
            },
        };

        match slot {
            Slot::Key => self.key(marker, kind),
            Slot::Value { path, key } => self.value(marker, kind, path, key),
        }
    }

    fn key(&mut self, pos: Pos, kind: NodeKind<'_>) {
        let (text, span) = match &kind {
            NodeKind::Scalar { value, style, .. } => (
                Some((*value).to_owned()),
                self.scalar_span(pos, value, *style),
            ),
            NodeKind::Alias | NodeKind::Seq | NodeKind::Map => (None, None),
        };
        if let Some(span) = span {
            self.spans.insert(pos, span);
        }
        if let Some(Frame::Map { key, .. }) = self.stack.last_mut() {
            *key = Some(PendingKey { text, pos, span });
        }
        if matches!(kind, NodeKind::Seq | NodeKind::Map) {
            // A complex key: its inside has no key path.
            self.push_collection(&kind, None, false);
        }
    }

    fn value(
        &mut self,
        marker: Pos,
        kind: NodeKind<'_>,
        path: Option<String>,
        key: Option<PendingKey>,
    ) {
        let mut pos = marker;
        let mut span = None;
        let mut flow_map = false;
        match kind {
            NodeKind::Scalar { value, style, bare } => match style {
                TScalarStyle::Literal | TScalarStyle::Folded => {
                    // yaml-rust2 marks the first content line; serde_yaml the indicator.
                    pos = self.block_indicator(marker, key.as_ref()).unwrap_or(marker);
                }
                TScalarStyle::Plain if value.is_empty() && bare => {
                    // yaml-rust2 marks whatever follows an empty value (often the next
                    // key); serde_yaml the column right after the key's colon.
                    if let Some(key) = &key {
                        pos = self.after_colon(key).unwrap_or(key.pos);
                    }
                }
                _ => span = self.scalar_span(marker, value, style),
            },
            NodeKind::Map => {
                flow_map = self
                    .source
                    .rest_at(marker)
                    .is_some_and(|r| r.starts_with('{'))
            }
            NodeKind::Seq | NodeKind::Alias => {}
        }
        if let Some(span) = span {
            self.spans.insert(pos, span);
        }

        let mut fresh = false;
        if let Some(path) = &path
            && let Entry::Vacant(entry) = self.nodes.entry(path.clone())
        {
            entry.insert(Node {
                key: key.map(|k| k.pos),
                value: pos,
            });
            fresh = true;
        }
        if matches!(kind, NodeKind::Seq | NodeKind::Map) {
            let from_first_key = fresh && !flow_map;
            self.push_collection(&kind, path, from_first_key);
        }
    }

    fn push_collection(&mut self, kind: &NodeKind<'_>, path: Option<String>, from_first_key: bool) {
        let frame = match kind {
            NodeKind::Map => Frame::Map {
                position_from_first_key: if from_first_key { path.clone() } else { None },
                path,
                key: None,
            },
            _ => Frame::Seq { path, next: 0 },
        };
        self.stack.push(frame);
    }

    /// Length in characters of a scalar that starts at `pos` and ends on the same line.
    fn scalar_span(&self, pos: Pos, value: &str, style: TScalarStyle) -> Option<usize> {
        let rest = self.source.rest_at(pos)?;
        match style {
            TScalarStyle::Plain => {
                (!value.is_empty() && rest.starts_with(value)).then(|| value.chars().count())
            }
            TScalarStyle::SingleQuoted => quoted_len(rest, '\''),
            TScalarStyle::DoubleQuoted => quoted_len(rest, '"'),
            _ => None,
        }
    }

    /// The column right after the `:` that follows a key on its line.
    fn after_colon(&self, key: &PendingKey) -> Option<Pos> {
        let after_key = Pos {
            line: key.pos.line,
            col: key.pos.col + key.span?,
        };
        let rest = self.source.rest_at(after_key)?;
        let blanks = rest.chars().take_while(|c| matches!(c, ' ' | '\t')).count();
        rest.chars().nth(blanks).filter(|&c| c == ':').map(|_| Pos {
            line: after_key.line,
            col: after_key.col + blanks + 1,
        })
    }

    /// The `|` or `>` of a block scalar whose content yaml-rust2 marked at `content`: on
    /// the nearest non-blank line above, after the key when the key is on that line.
    fn block_indicator(&self, content: Pos, key: Option<&PendingKey>) -> Option<Pos> {
        let header = (1..content.line)
            .rev()
            .find(|&n| self.source.line(n).is_some_and(|l| !l.trim().is_empty()))?;
        let line = self.source.line(header)?;
        let from = match key {
            Some(key) if key.pos.line == header => key.pos.col + key.span.unwrap_or(1),
            _ => 1,
        };
        let mut prev = None;
        for (i, c) in line.chars().enumerate() {
            let col = i + 1;
            if col >= from {
                let after_blank = prev.is_none_or(|p: char| p == ' ' || p == '\t');
                if after_blank && c == '#' {
                    return None;
                }
                if after_blank && (c == '|' || c == '>') {
                    return Some(Pos { line: header, col });
                }
            }
            prev = Some(c);
        }
        None
    }
}

/// Length in characters of a quoted scalar at the start of `rest`, quotes included,
/// when it closes on that line.
fn quoted_len(rest: &str, quote: char) -> Option<usize> {
    let mut chars = rest.chars().peekable();
    if chars.next()? != quote {
        return None;
    }
    let mut len = 1;
    while let Some(c) = chars.next() {
        len += 1;
        if quote == '"' && c == '\\' {
            chars.next()?;
            len += 1;
        } else if c == quote {
            if quote == '\'' && chars.peek() == Some(&'\'') {
                chars.next();
                len += 1;
            } else {
                return Some(len);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::tests::{DESCRIPTOR, pos};
    use super::super::{KeyPath, Pos, Source};

    #[test]
    fn locate_block_maps() {
        let s = Source::new("d.yaml", DESCRIPTOR);
        assert_eq!(s.locate("name"), pos(1, 7));
        assert_eq!(s.locate("replicas.min"), pos(3, 8));
        assert_eq!(s.locate("replicas.max"), pos(4, 8));
        // A block mapping sits at its first key.
        assert_eq!(s.locate("replicas"), pos(3, 3));
        assert_eq!(s.locate(""), pos(1, 1));
        assert_eq!(s.locate("."), pos(1, 1));
    }

    #[test]
    fn locate_nested_lists_of_maps() {
        let s = Source::new("d.yaml", DESCRIPTOR);
        assert_eq!(s.locate("services"), pos(6, 3));
        assert_eq!(s.locate("services[0]"), pos(6, 5));
        assert_eq!(s.locate("services[0].port"), pos(7, 11));
        assert_eq!(s.locate("services[1].name"), pos(9, 11));
        assert_eq!(s.locate("services[1].port"), pos(10, 11));
        let path = KeyPath::root().key("services").index(1).key("port");
        assert_eq!(s.locate(&path), pos(10, 11));

        let nested = Source::new("n.yaml", "a:\n- - x\n  - y\n- b:\n  - 1\n");
        assert_eq!(nested.locate("a[0]"), pos(2, 3));
        assert_eq!(nested.locate("a[0][1]"), pos(3, 5));
        assert_eq!(nested.locate("a[1].b[0]"), pos(5, 5));
    }

    #[test]
    fn locate_flow_style() {
        let s = Source::new("d.yaml", DESCRIPTOR);
        assert_eq!(s.locate("services[0].env"), pos(8, 10));
        assert_eq!(s.locate("services[0].env[1]"), pos(8, 14));
        assert_eq!(s.locate("services[1].resources"), pos(11, 16));
        assert_eq!(s.locate("services[1].resources.limits"), pos(11, 25));
        assert_eq!(s.locate("services[1].resources.limits.memory"), pos(11, 34));
        assert_eq!(s.locate("services[1].resources.limits.cpu"), pos(11, 46));

        let root = Source::new("f.yaml", "{a: [1, {b: 2}], 3: x, true: y}");
        assert_eq!(root.locate(""), pos(1, 1));
        assert_eq!(root.locate("a[1].b"), pos(1, 13));
        // Keys that are not strings index by their text.
        assert_eq!(root.locate("3"), pos(1, 21));
        assert_eq!(root.locate_key("true"), pos(1, 24));
        let list = Source::new("l.yaml", "[1, [2, 3]]");
        assert_eq!(list.locate("[1][0]"), pos(1, 6));
        // serde_yaml spells an item of a root sequence ".[1]".
        assert_eq!(list.locate(".[1]"), pos(1, 5));
    }

    #[test]
    fn missing_path_falls_back_to_ancestor() {
        let s = Source::new("d.yaml", DESCRIPTOR);
        assert_eq!(s.locate("services[1].database"), s.locate("services[1]"));
        assert_eq!(s.locate("services[1].database.host[2]"), pos(9, 5));
        assert_eq!(s.locate("services[7].port"), s.locate("services"));
        assert_eq!(s.locate("nothing.at.all"), pos(1, 1));
        assert_eq!(s.locate_key("services[1].database"), pos(9, 5));
        // Keys with dots in them still resolve, exactly or through an ancestor.
        let k8s = Source::new("l.yaml", "labels:\n  app.kubernetes.io/name: shop\n");
        assert_eq!(k8s.locate("labels.app.kubernetes.io/name"), pos(2, 27));
        assert_eq!(k8s.locate("labels.app.kubernetes.io/version"), pos(2, 3));
        // Nothing indexed at all: the root.
        assert_eq!(Source::new("e.yaml", "").locate("a.b"), Pos::START);
    }

    #[test]
    fn locate_key_vs_locate() {
        let s = Source::new("d.yaml", DESCRIPTOR);
        assert_eq!(s.locate_key("replicas.min"), pos(3, 3));
        assert_eq!(s.locate("replicas.min"), pos(3, 8));
        assert_eq!(
            s.locate_key("services[1].resources.limits.memory"),
            pos(11, 26)
        );
        // A sequence item has no key: its value position.
        assert_eq!(s.locate_key("services[1]"), s.locate("services[1]"));
        assert_eq!(s.locate_key(""), pos(1, 1));
    }

    #[test]
    fn empty_block_and_aliased_values() {
        let text = "a:\nb: |\n  text\nc: >-\n\n  folded\nd: &x 1\ne: *x\nf: !!str 5\n";
        let s = Source::new("v.yaml", text);
        // An empty value sits right after its key's colon, where serde_yaml points.
        assert_eq!(s.locate("a"), pos(1, 3));
        assert_eq!(s.locate("b"), pos(2, 4));
        assert_eq!(s.locate("c"), pos(4, 4));
        assert_eq!(s.locate("d"), pos(7, 7));
        assert_eq!(s.locate("e"), pos(8, 4));
        assert_eq!(s.locate("f"), pos(9, 10));
        // Anchored collections and complex keys do not disturb the rest.
        let s = Source::new(
            "a.yaml",
            "base: &b {x: 1}\n? [k]\n: v\nnext: &l\n  - 1\nlast: *b\n",
        );
        assert_eq!(s.locate("base.x"), pos(1, 14));
        assert_eq!(s.locate("next[0]"), pos(5, 5));
        assert_eq!(s.locate("last"), pos(6, 7));
    }
}
