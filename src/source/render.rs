//! Descriptor source text, diagnostics: the rustc-style block that shows the offending
//! line with a caret under the problem.

use std::fmt::Write as _;

use super::{BOM, Pos, Source};

impl Source {
    /// Render a full diagnostic block, rustc style:
    ///
    /// ```text
    /// error: replicas.min (5) is above replicas.max (3)
    ///   --> environments/production.yaml:14:12
    ///    |
    /// 14 |       min: 5
    ///    |            ^
    ///    = expected: min <= max
    ///    = help: did you mean `x`?
    /// ```
    ///
    /// The `= expected:` line comes when `expected` is given, the `= help:` line (the
    /// caller's text after `help: `) when `help` is. The gutter is as wide as the line
    /// number. There are as many carets as the scalar starting at `pos` has characters
    /// when it sits on that line (so `512Mb` gets 5, `"80"` 4), else one. Every line of
    /// the block ends with `\n`.
    ///
    /// The line is shown with tabs kept (the caret line copies them, so it stays aligned),
    /// a byte-order mark dropped and other control characters shown as `\u{fffd}`. A
    /// column past the end of the line puts the caret just after its last character; a
    /// line past the end of the file is shown empty. Characters are assumed one terminal
    /// cell wide.
    pub fn render(
        &self,
        pos: Pos,
        message: &str,
        expected: Option<&str>,
        help: Option<&str>,
    ) -> String {
        let line_no = pos.line.max(1);
        let col = pos.col.max(1);
        let line = self.line(line_no).unwrap_or("");
        let gutter = " ".repeat(line_no.to_string().len());

        let mut shown = String::with_capacity(line.len());
        let mut indent = String::new();
        for (i, c) in line.chars().enumerate() {
            let c = match c {
                BOM => continue,
                '\t' => '\t',
                c if c.is_control() => '\u{fffd}',
                c => c,
            };
            shown.push(c);
            if i + 1 < col {
                indent.push(if c == '\t' { '\t' } else { ' ' });
            }
        }
        let carets = "^".repeat(
            self.index()
                .spans
                .get(&Pos { line: line_no, col })
                .copied()
                .unwrap_or(1)
                .max(1),
        );

        let mut out = format!(
            "error: {message}\n{gutter}--> {path}:{line_no}:{col}\n{gutter} |\n{line_no} |",
            path = self.path,
        );
        if !shown.is_empty() {
            out.push(' ');
            out.push_str(&shown);
        }
        let _ = write!(out, "\n{gutter} | {indent}{carets}\n");
        if let Some(expected) = expected {
            let _ = writeln!(out, "{gutter} = expected: {expected}");
        }
        if let Some(help) = help {
            let _ = writeln!(out, "{gutter} = help: {help}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{DESCRIPTOR, pos};
    use super::super::{Pos, Source};

    #[test]
    fn multibyte_characters_count_as_one_column() {
        let s = Source::new("m.yaml", "héllo: wörld\n\"ü\": {ä: ✓, b: 日本}\n");
        assert_eq!(s.locate("héllo"), pos(1, 8));
        assert_eq!(s.locate_key("ü"), pos(2, 1));
        assert_eq!(s.locate("ü.ä"), pos(2, 10));
        assert_eq!(s.locate("ü.b"), pos(2, 16));
        let out = s.render(s.locate("ü.b"), "bad", None, None);
        assert!(
            out.ends_with("2 | \"ü\": {ä: ✓, b: 日本}\n  |                ^^\n"),
            "{out}"
        );
    }

    #[test]
    fn render_exact_output() {
        let text = "\
name: shop
image: shop:1.2
# production overrides
env:
  LOG: info
  REGION: eu
ports:
  - 80
  - 443
domain: shop.example
tls: true
autoscaling:
  replicas:
      min: 5
      max: 3
";
        let s = Source::new("environments/production.yaml", text);
        let at = s.locate("autoscaling.replicas.min");
        assert_eq!(at, pos(14, 12));
        let out = s.render(
            at,
            "replicas.min (5) is above replicas.max (3)",
            Some("min <= max"),
            None,
        );
        assert_eq!(
            out,
            "error: replicas.min (5) is above replicas.max (3)
  --> environments/production.yaml:14:12
   |
14 |       min: 5
   |            ^
   = expected: min <= max
"
        );
        // One-digit line numbers get a narrower gutter, and help comes last.
        let out = s.render(
            s.locate_key("image"),
            "bad image",
            Some("a tag"),
            Some("did you mean `shop:1.3`?"),
        );
        assert_eq!(
            out,
            "error: bad image
 --> environments/production.yaml:2:1
  |
2 | image: shop:1.2
  | ^^^^^
  = expected: a tag
  = help: did you mean `shop:1.3`?
"
        );
    }

    #[test]
    fn render_caret_length() {
        let s = Source::new("d.yaml", DESCRIPTOR);
        let carets = |p: Pos| {
            let out = s.render(p, "m", None, None);
            let last = out.lines().last().unwrap().to_owned();
            last.chars().filter(|&c| c == '^').count()
        };
        assert_eq!(carets(s.locate("services[1].resources.limits.memory")), 5); // 512Mb
        assert_eq!(carets(s.locate("services[1].port")), 4); // "80", quotes included
        assert_eq!(carets(s.locate_key("services")), 8);
        assert_eq!(carets(s.locate("replicas")), 3); // the first key, `min`
        assert_eq!(carets(s.locate("services[0].env")), 1); // a collection
        assert_eq!(carets(pos(7, 12)), 1); // inside a scalar, not at its start
        assert_eq!(carets(pos(99, 3)), 1); // past the end of the file

        let q = Source::new(
            "q.yaml",
            "a: 'it''s'\nb: \"x\\\"y\"\nc: plain # comment\nd: two\n  lines\n",
        );
        assert_eq!(q.index().spans.get(&q.locate("a")), Some(&7));
        assert_eq!(q.index().spans.get(&q.locate("b")), Some(&6));
        assert_eq!(q.index().spans.get(&q.locate("c")), Some(&5));
        assert_eq!(q.index().spans.get(&q.locate("d")), None);

        // Tabs are kept in the caret line so that it stays aligned; a far column is clamped.
        let t = Source::new("t.yaml", "a:\t[x,\ty]\n");
        assert!(
            t.render(t.locate("a[1]"), "m", None, None)
                .ends_with("1 | a:\t[x,\ty]\n  |   \t   \t^\n")
        );
        assert!(
            t.render(pos(1, usize::MAX), "m", None, None)
                .ends_with("  |   \t   \t  ^\n")
        );
    }
}
