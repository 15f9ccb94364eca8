//! The XML of the wire: writing `<name>value</name>` elements with correct
//! escaping, and a tolerant reader of one level of child elements.
//!
//! Interprets seed 2.2 (XML, UTF-8). The reader accepts an `<?xml ...?>`
//! declaration or none, surrounding whitespace, elements in any order,
//! unknown elements (ignored by the message layer) and absent optional ones.
//! It refuses DTDs (no entity expansion), and bounds depth and node count.
//! Depth is checked by a linear scan *before* the document reaches the
//! parser: roxmltree descends recursively, one stack frame per nesting
//! level, so a few kilobytes of `<a><a><a>…` would otherwise overflow a
//! 1 MiB thread stack (the default on Windows) and abort the till's
//! process — no panic guard can catch a stack overflow.

use std::borrow::Cow;

/// Most nodes a document may hold before the reader refuses it.
pub const MAX_NODES: u32 = 20_000;
/// Deepest element nesting the reader accepts (root = 1).
pub const MAX_DEPTH: usize = 8;

/// Escapes text for use as XML element content or attribute value.
///
/// `&`, `<`, `>`, `"` and `'` become entity references, so a value such as
/// `奶油曲奇 & 小石头 <"1">` survives any conforming XML parser unchanged.
/// A carriage return becomes `&#xD;`: a literal CR is turned into LF by
/// every XML parser's end-of-line handling (XML 1.0 §2.11), so without the
/// reference a value holding `\r` would not reach the other side intact.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text
        .bytes()
        .any(|b| matches!(b, b'&' | b'<' | b'>' | b'"' | b'\'' | b'\r'))
    {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Builds a flat XML element: `<root><a>..</a><b>..</b></root>`.
#[derive(Debug)]
pub struct XmlWriter {
    root: &'static str,
    out: String,
}

impl XmlWriter {
    /// Starts a document whose root element is `root`.
    pub fn new(root: &'static str) -> Self {
        let mut out = String::with_capacity(512);
        out.push('<');
        out.push_str(root);
        out.push('>');
        XmlWriter { root, out }
    }

    /// Appends `<name>escaped value</name>`.
    pub fn field(&mut self, name: &str, value: &str) -> &mut Self {
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
        self.out.push_str(&escape(value));
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
        self
    }

    /// Appends `<name>` with one `<item>` child per value (e.g. receipt `<line>`s).
    pub fn list(&mut self, name: &str, item: &str, values: &[String]) -> &mut Self {
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
        for v in values {
            self.field(item, v);
        }
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
        self
    }

    /// Closes the root element and returns the document.
    pub fn finish(mut self) -> String {
        self.out.push_str("</");
        self.out.push_str(self.root);
        self.out.push('>');
        self.out
    }
}

/// Why a document could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XmlError {
    /// Not well-formed XML (or a DTD, which is refused), with the parser's reason.
    Malformed(String),
    /// The root element is not the one expected.
    UnexpectedRoot {
        /// What the reader wanted.
        expected: String,
        /// What the document has.
        found: String,
    },
    /// Elements nest deeper than [`MAX_DEPTH`].
    TooDeep,
}

impl std::fmt::Display for XmlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            XmlError::Malformed(why) => write!(f, "malformed XML: {why}"),
            XmlError::UnexpectedRoot { expected, found } => {
                write!(f, "expected root <{expected}>, found <{found}>")
            }
            XmlError::TooDeep => write!(f, "XML nests deeper than {MAX_DEPTH} levels"),
        }
    }
}

impl std::error::Error for XmlError {}

/// The child elements of a document's root, read once.
///
/// Each child's text is kept (trimmed of surrounding whitespace); a child
/// that has element children of its own (`<receipts><line>..</line></receipts>`)
/// also keeps those children's texts, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fields {
    root: String,
    items: Vec<(String, String, Vec<String>)>,
}

impl Fields {
    /// Parses `xml` and checks that its root element is named `root`
    /// (any root is accepted when `root` is `None`).
    pub fn parse(xml: &str, root: Option<&str>) -> Result<Fields, XmlError> {
        let opts = roxmltree::ParsingOptions {
            allow_dtd: false,
            nodes_limit: MAX_NODES,
        };
        let xml = xml.trim_matches(char::from(0));
        if nesting_exceeds(xml, MAX_DEPTH) {
            return Err(XmlError::TooDeep);
        }
        let doc = roxmltree::Document::parse_with_options(xml, opts)
            .map_err(|e| XmlError::Malformed(e.to_string()))?;
        let r = doc.root_element();
        let name = r.tag_name().name();
        if let Some(want) = root {
            if name != want {
                return Err(XmlError::UnexpectedRoot {
                    expected: want.to_string(),
                    found: name.to_string(),
                });
            }
        }
        if r.descendants()
            .any(|n| n.is_element() && n.ancestors().count() > MAX_DEPTH + 1)
        {
            return Err(XmlError::TooDeep);
        }
        let mut items = Vec::new();
        for child in r.children().filter(|n| n.is_element()) {
            let subs: Vec<String> = child
                .children()
                .filter(|n| n.is_element())
                .map(|n| element_text(&n))
                .collect();
            let text = if subs.is_empty() {
                element_text(&child).trim().to_string()
            } else {
                String::new()
            };
            items.push((child.tag_name().name().to_string(), text, subs));
        }
        Ok(Fields {
            root: name.to_string(),
            items,
        })
    }

    /// The root element's name.
    pub fn root(&self) -> &str {
        &self.root
    }

    /// The text of the first child named `name`; `None` when absent or empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.items
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, t, _)| t.as_str())
            .filter(|t| !t.is_empty())
    }

    /// The texts of the element children of the first child named `name`,
    /// or, when that child holds plain text, its non-empty lines.
    pub fn lines(&self, name: &str) -> Vec<String> {
        match self.items.iter().find(|(n, _, _)| n == name) {
            None => Vec::new(),
            Some((_, text, subs)) if subs.is_empty() => text
                .lines()
                .map(|l| l.trim_end_matches('\r').to_string())
                .filter(|l| !l.trim().is_empty())
                .collect(),
            Some((_, _, subs)) => subs.clone(),
        }
    }

    /// Names of every child element, in document order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.items.iter().map(|(n, _, _)| n.as_str())
    }
}

/// True when some element in `xml` nests deeper than `max` (root = 1),
/// found without parsing and without recursion.
///
/// Never underestimates: an element is one level below the elements open
/// around it, and every start tag that is not self-closing stays open until
/// an end tag (`</`) closes it; comments, CDATA sections,
/// processing instructions and declarations are skipped (so markup-like text
/// inside them counts for nothing), and quoted attribute values are skipped
/// inside start tags. Outside those, `<` is always markup in XML. A
/// document this scan misreads is not well-formed and the parser refuses it
/// anyway; a DTD, the only place with other `<` rules, is refused by the
/// parser before any element is read.
fn nesting_exceeds(xml: &str, max: usize) -> bool {
    let b = xml.as_bytes();
    let find = |from: usize, pat: &[u8]| -> Option<usize> {
        b.get(from..)?
            .windows(pat.len())
            .position(|w| w == pat)
            .map(|p| from + p)
    };
    let mut depth = 0usize;
    let mut i = 0usize;
    while let Some(off) = b.get(i..).and_then(|r| r.iter().position(|&c| c == b'<')) {
        i += off;
        let rest = &b[i..];
        let skip_past = |pat: &[u8]| find(i + 1, pat).map(|p| p + pat.len());
        let next = if rest.starts_with(b"<!--") {
            skip_past(b"-->")
        } else if rest.starts_with(b"<![CDATA[") {
            skip_past(b"]]>")
        } else if rest.starts_with(b"<?") {
            skip_past(b"?>")
        } else if rest.starts_with(b"<!") {
            skip_past(b">")
        } else if rest.starts_with(b"</") {
            depth = depth.saturating_sub(1);
            skip_past(b">")
        } else {
            // A start tag: find its closing '>' outside quoted values.
            let mut quote = None;
            let mut end = None;
            for (j, &c) in rest.iter().enumerate().skip(1) {
                match (quote, c) {
                    (Some(q), c) if c == q => quote = None,
                    (Some(_), _) => {}
                    (None, b'"' | b'\'') => quote = Some(c),
                    (None, b'>') => {
                        end = Some(j);
                        break;
                    }
                    _ => {}
                }
            }
            // A self-closing element sits one level down but opens nothing.
            if depth + 1 > max {
                return true;
            }
            if end.is_none_or(|j| rest[j - 1] != b'/') {
                depth += 1;
            }
            end.map(|j| i + j + 1)
        };
        match next {
            Some(n) => i = n,
            // Unterminated markup: not well-formed; the parser refuses it.
            None => return false,
        }
    }
    false
}

/// All text inside an element (text and CDATA, entity references resolved).
fn element_text(node: &roxmltree::Node<'_, '_>) -> String {
    node.descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_and_read_back() {
        let mut w = XmlWriter::new("data");
        w.field("goods", "奶油曲奇 & 小石头 <\"1\"> 'x'");
        let doc = w.finish();
        assert!(doc.contains("&amp;") && doc.contains("&lt;") && doc.contains("&quot;"));
        let f = Fields::parse(&doc, Some("data")).unwrap();
        assert_eq!(f.get("goods"), Some("奶油曲奇 & 小石头 <\"1\"> 'x'"));
    }

    /// Found by the property tests: a CR inside a value came back as LF.
    #[test]
    fn carriage_returns_survive() {
        for value in ["a\rb", "a\r\nb", "\r\r\nx\n\r"] {
            let mut w = XmlWriter::new("data");
            w.field("reason", &format!("x{value}y"));
            let f = Fields::parse(&w.finish(), Some("data")).unwrap();
            assert_eq!(f.get("reason"), Some(format!("x{value}y").as_str()));
        }
    }

    /// Found while bounding depth: roxmltree recurses once per level, so
    /// deep nesting overflowed the stack (a process abort, not a panic) long
    /// before the old depth check ran. On a 256 KiB thread stack this
    /// aborted the whole test binary; now it is refused before parsing.
    #[test]
    fn deep_nesting_is_refused_before_parsing_even_on_a_small_stack() {
        let worker = std::thread::Builder::new().stack_size(256 * 1024);
        let handle = worker
            .spawn(|| {
                let mut results = Vec::new();
                for n in [MAX_DEPTH, 5_000, 100_000] {
                    let deep = format!("<data>{}{}</data>", "<a>".repeat(n), "</a>".repeat(n));
                    results.push(Fields::parse(&deep, None));
                    let unclosed = format!("<data>{}", "<a x='>'>".repeat(n));
                    results.push(Fields::parse(&unclosed, None));
                }
                results
            })
            .unwrap();
        for r in handle.join().unwrap() {
            assert_eq!(r, Err(XmlError::TooDeep));
        }
    }

    #[test]
    fn the_depth_scan_skips_what_is_not_markup() {
        let ok = |d: &str| assert!(!nesting_exceeds(d, 3), "{d}");
        let deep = |d: &str| assert!(nesting_exceeds(d, 3), "{d}");
        ok("<a><b><c/></b></a>");
        ok("<a><b><c></c></b></a><a><b><c></c></b></a>");
        ok("<a><!-- <b><c><d> --><b/></a>");
        ok("<a><![CDATA[<b><c><d>]]></a>");
        ok("<?xml version='1.0'?><a><?pi <b><c><d>?></a>");
        ok("<a x='<b><c><d>' y=\"<e>\"><b/></a>");
        ok("<a x='/'><b/></a>");
        deep("<a><b><c><d/></c></b></a>");
        deep("<a><b><c><d x='/'></d></c></b></a>");
        deep("<a><!-- --><b><![CDATA[x]]><c><?p?><d></d></c></b></a>");
        deep("<a></a></a></a><a><b><c><d></d></c></b></a>");
    }

    #[test]
    fn tolerant_reading() {
        let doc = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<data>\n  <code> E11000 </code>\n  \
                   <unknown><deep>x</deep></unknown><empty></empty><empty2/>\n  \
                   <receipts><line>a</line><line> </line><line>b &amp; c</line></receipts>\n</data>\n";
        let f = Fields::parse(doc, Some("data")).unwrap();
        assert_eq!(f.get("code"), Some("E11000"));
        assert_eq!(f.get("empty"), None);
        assert_eq!(f.get("empty2"), None);
        assert_eq!(f.get("absent"), None);
        assert_eq!(f.lines("receipts"), vec!["a", " ", "b & c"]);
        assert_eq!(f.root(), "data");
    }

    #[test]
    fn plain_text_receipts_become_lines() {
        let f = Fields::parse("<data><receipts>one\r\ntwo\n\n</receipts></data>", None).unwrap();
        assert_eq!(f.lines("receipts"), vec!["one", "two"]);
    }

    #[test]
    fn refuses_bad_documents() {
        assert!(matches!(
            Fields::parse("<data><a></data>", None),
            Err(XmlError::Malformed(_))
        ));
        assert!(matches!(
            Fields::parse("<response/>", Some("data")),
            Err(XmlError::UnexpectedRoot { .. })
        ));
        let bomb = "<!DOCTYPE d [<!ENTITY a \"aaaa\">]><data>&a;</data>";
        assert!(matches!(
            Fields::parse(bomb, None),
            Err(XmlError::Malformed(_))
        ));
        let deep = format!("<data>{}{}</data>", "<a>".repeat(20), "</a>".repeat(20));
        assert_eq!(Fields::parse(&deep, None), Err(XmlError::TooDeep));
    }
}
