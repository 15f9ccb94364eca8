//! The XML of the wire (API §2.2: messages are XML in UTF-8; the envelopes
//! of API §2.5 and §2.6 and the `<data>` inside them): writing
//! `<name>value</name>` elements with correct escaping, and a tolerant reader
//! of one level of child elements.
//!
//! The reader is roxmltree, the project's XML crate. It accepts an
//! `<?xml ...?>` declaration or none, surrounding whitespace (and NULs,
//! trimmed first), elements in any order, unknown elements (ignored by the
//! message layer) and absent optional ones. Namespace prefixes are checked
//! as XML requires and dropped: `Fields` keeps local names. Bounds
//! (docs/SECURITY.md, "Limits"): no DTD, so no entity expansion; at most
//! [`MAX_NODES`] nodes; at most [`MAX_DEPTH`] levels of elements, checked by
//! a linear scan without recursion before parsing (`nesting_exceeds`), so
//! that no DOM is built for a deep document and no parser recursion can
//! overflow a till's stack (roxmltree before 0.21.2 recursed once per level;
//! a stack overflow aborts the process, no panic guard can catch it). The
//! size is bounded before the reader (`transport::MAX_RESPONSE_BYTES`). A
//! document that breaks several rules is too deep, else not well-formed,
//! else of the wrong root.
//!
//! Kept as roxmltree reads them, though XML 1.0 says otherwise (pinned by
//! tests/xml_regression.rs, so that no change of reader changes what an
//! answer means):
//! - a literal CR right before a reference, or ending a text right after
//!   one, stays CR instead of becoming LF (`a\r&amp;b` reads `a\r&b`);
//! - a character reference to a surrogate or beyond U+10FFFF reads U+FFFD;
//! - an empty namespace prefix is allowed (`<:a></a>` is the element `a`).
//!
//! Values this library writes read back unchanged: [`escape`] writes CR as
//! `&#xD;`.

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
            ..Default::default()
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
        let mut items = Vec::new();
        for child in r.children().filter(|n| n.is_element()) {
            let subs: Vec<String> = child
                .children()
                .filter(|n| n.is_element())
                .map(|n| element_text(n).into_owned())
                .collect();
            let text = if subs.is_empty() {
                element_text(child).trim().to_string()
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
fn element_text<'a>(node: roxmltree::Node<'a, '_>) -> Cow<'a, str> {
    let mut texts = node
        .descendants()
        .filter_map(|n| n.text().filter(|_| n.is_text()));
    let first = texts.next().unwrap_or_default();
    match texts.next() {
        // Usually one text node (roxmltree joins text, references and CDATA).
        None => Cow::Borrowed(first),
        Some(second) => Cow::Owned([first, second].into_iter().chain(texts).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
