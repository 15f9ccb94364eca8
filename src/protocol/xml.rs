//! The XML of the wire: writing `<name>value</name>` elements with correct
//! escaping, and a tolerant reader of one level of child elements.
//!
//! Interprets API §2.2 (XML, UTF-8). The reader accepts an `<?xml ...?>`
//! declaration or none, surrounding whitespace, elements in any order,
//! unknown elements (ignored by the message layer) and absent optional ones.
//! It refuses DTDs (no entity expansion), and bounds depth and node count.
//!
//! Reading is one pass over quick-xml's streaming reader, which finds the
//! markup; the walk over its events keeps only the root's children and
//! their texts, and checks what quick-xml leaves unchecked (names, characters,
//! references, attributes, namespace prefixes, one root, nothing but
//! whitespace, comments and processing instructions around it) so that it
//! accepts and reads exactly what roxmltree 0.20, the DOM parser used
//! before, did. `tests/xml_differential.rs` keeps that parser as the
//! reference and compares the two on the fuzz corpora, on generated and
//! mutated documents, and on hand-picked edge cases. Kept as roxmltree had
//! them, though the XML specification says otherwise:
//! - a literal CR right before a reference, or ending a text right after
//!   one, stays a CR instead of becoming LF (`a\r&amp;b` reads `a\r&b`);
//! - a character reference to a surrogate or beyond U+10FFFF reads U+FFFD;
//! - an empty namespace prefix is allowed (`<:a></a>` is the element `a`).
//!
//! Depth is checked as elements open, without recursion. Which error a
//! document gets is as before, when a linear depth scan ran ahead of the
//! (recursive) roxmltree: too deep before not well-formed, not well-formed
//! before a wrong root. The scan now runs only on documents the reader finds
//! not well-formed, to tell the first two apart.

use std::borrow::Cow;
use std::collections::HashSet;

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
///
/// All names and texts live in one string (a document's texts are never
/// longer than the document), so reading costs a few allocations rather than
/// two or three per element. `Debug` and `==` see the names and texts only:
/// `Fields { root: "data", items: [("code", "E11000", []), ...] }`.
#[derive(Clone, Default)]
pub struct Fields {
    /// The root's name, then each child's name, text and children's texts.
    text: String,
    root: Span,
    items: Vec<Item>,
    /// The texts of the children's element children.
    subs: Vec<Span>,
}

/// A part of `Fields::text`, as byte offsets.
#[derive(Clone, Copy, Default)]
struct Span(usize, usize);

/// A child of the root.
#[derive(Clone, Copy)]
struct Item {
    name: Span,
    text: Span,
    /// Its element children, as a range of `Fields::subs`.
    subs: (usize, usize),
}

impl Fields {
    /// Parses `xml` and checks that its root element is named `root`
    /// (any root is accepted when `root` is `None`).
    pub fn parse(xml: &str, root: Option<&str>) -> Result<Fields, XmlError> {
        let xml = xml.trim_matches(char::from(0));
        match read(xml, root) {
            // A document both malformed and too deep is `TooDeep`: the depth
            // scan decides, as when it ran before the (recursive) parser.
            Err(XmlError::Malformed(_)) if nesting_exceeds(xml, MAX_DEPTH) => {
                Err(XmlError::TooDeep)
            }
            other => other,
        }
    }

    /// The root element's name.
    pub fn root(&self) -> &str {
        self.at(self.root)
    }

    /// The text of the first child named `name`; `None` when absent or empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.item(name)
            .map(|i| self.at(i.text))
            .filter(|t| !t.is_empty())
    }

    /// The texts of the element children of the first child named `name`,
    /// or, when that child holds plain text, its non-empty lines.
    pub fn lines(&self, name: &str) -> Vec<String> {
        match self.item(name) {
            None => Vec::new(),
            Some(i) if i.subs.0 == i.subs.1 => self
                .at(i.text)
                .lines()
                .map(|l| l.trim_end_matches('\r').to_string())
                .filter(|l| !l.trim().is_empty())
                .collect(),
            Some(i) => self.subs_of(i).map(str::to_string).collect(),
        }
    }

    /// Names of every child element, in document order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.items.iter().map(|i| self.at(i.name))
    }

    fn at(&self, span: Span) -> &str {
        &self.text[span.0..span.1]
    }

    fn item(&self, name: &str) -> Option<&Item> {
        self.items.iter().find(|i| self.at(i.name) == name)
    }

    fn subs_of<'f>(&'f self, item: &Item) -> impl Iterator<Item = &'f str> + 'f {
        self.subs[item.subs.0..item.subs.1]
            .iter()
            .map(|&s| self.at(s))
    }

    /// Each child as (name, text, children's texts).
    fn items(&self) -> impl Iterator<Item = (&str, &str, Vec<&str>)> {
        self.items
            .iter()
            .map(|i| (self.at(i.name), self.at(i.text), self.subs_of(i).collect()))
    }
}

impl std::fmt::Debug for Fields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fields")
            .field("root", &self.root())
            .field("items", &self.items().collect::<Vec<_>>())
            .finish()
    }
}

impl PartialEq for Fields {
    fn eq(&self, other: &Self) -> bool {
        self.root() == other.root()
            && self.items.len() == other.items.len()
            && self.items().eq(other.items())
    }
}

impl Eq for Fields {}

/// True when some element in `xml` nests deeper than `max` (root = 1),
/// found without parsing and without recursion. `Fields::parse` asks it
/// about documents the reader refuses as not well-formed: those it finds too
/// deep are `TooDeep`, as when this scan ran before every parse.
///
/// Never underestimates: an element is one level below the elements open
/// around it, and every start tag that is not self-closing stays open until
/// an end tag (`</`) closes it; comments, CDATA sections,
/// processing instructions and declarations are skipped (so markup-like text
/// inside them counts for nothing), and quoted attribute values are skipped
/// inside start tags. Outside those, `<` is always markup in XML. On a
/// well-formed document it counts exactly what the reader counts; a DTD,
/// the only place with other `<` rules, is refused.
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

// ---------------------------------------------------------------- reading
//
// quick-xml finds the markup (tags, text, references, comments, CDATA,
// processing instructions) and this code walks its events. quick-xml checks
// little beyond that by design, so the walk checks what XML 1.0 and
// Namespaces 1.0 require of each token, the way roxmltree 0.20 (the reader
// before this one, kept as the reference of tests/xml_differential.rs) does.

/// The namespace `xml:` is bound to; only that prefix may be bound to it.
const XML_URI: &str = "http://www.w3.org/XML/1998/namespace";
/// The namespace of `xmlns` declarations themselves; never declared.
const XMLNS_URI: &str = "http://www.w3.org/2000/xmlns/";

fn bad(why: impl std::fmt::Display, at: usize) -> XmlError {
    XmlError::Malformed(format!("{why} at byte {at}"))
}

/// Reads the document; `Fields::parse` only adds the depth scan's verdict
/// on malformed documents.
fn read(xml: &str, want: Option<&str>) -> Result<Fields, XmlError> {
    let mut body = xml.strip_prefix('\u{FEFF}').unwrap_or(xml);
    let mut offset = xml.len() - body.len();
    if body.starts_with("<?xml ") {
        let n = declaration_len(body).map_err(|at| bad("bad XML declaration", offset + at))?;
        body = &body[n..];
        offset += n;
    }
    // quick-xml would skip a byte order mark here as well as at the start.
    if body.starts_with('\u{FEFF}') {
        return Err(bad("byte order mark after the start", offset));
    }
    let mut reader = quick_xml::Reader::from_str(body);
    // End tags are compared here, as prefix and local name (`<:a></a>` is
    // accepted, as by roxmltree).
    reader.config_mut().check_end_names = false;
    let mut doc = Doc::new(want, body.len());
    loop {
        let from = pos(&reader);
        let event = reader.read_event().map_err(|e| bad(e, offset + from))?;
        let raw = &body[from..pos(&reader)];
        let at = offset + from;
        use quick_xml::events::Event;
        match event {
            Event::Eof => return doc.finish(at),
            Event::Text(_) => doc.text(raw, at)?,
            Event::GeneralRef(_) => doc.reference(raw, at)?,
            Event::CData(_) => doc.cdata(raw, at)?,
            Event::Start(_) => doc.start(&raw[1..raw.len() - 1], false, at)?,
            Event::Empty(_) => doc.start(&raw[1..raw.len() - 2], true, at)?,
            Event::End(_) => doc.end(&raw[2..raw.len() - 1], at)?,
            Event::Comment(_) => doc.comment(raw, at)?,
            Event::PI(_) | Event::Decl(_) => doc.pi(raw, at)?,
            Event::DocType(_) => return Err(bad("DTD refused", at)),
        }
    }
}

/// Where the reader is in the input it was given, in bytes.
fn pos(reader: &quick_xml::Reader<&[u8]>) -> usize {
    usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX)
}

/// A namespace prefix declared on an open element.
struct Binding<'a> {
    prefix: &'a str,
    uri: Cow<'a, str>,
    depth: usize,
}

/// The end-of-line state of one stretch of text and references (what
/// roxmltree calls a text token) being appended to a value.
struct Tok {
    /// Length of the value when the stretch began.
    start: usize,
    /// The previous character came from a reference: the next one is
    /// taken as written.
    as_is: bool,
    /// A literal CR ended the last text event; whether it is the end of the
    /// stretch is known only at the next event.
    cr: bool,
}

/// The document read so far.
struct Doc<'a, 'w> {
    want: Option<&'w str>,
    /// Open elements, as (prefix, local name); `depth` of them.
    open: [(&'a str, &'a str); MAX_DEPTH],
    depth: usize,
    /// Prefixes bound on the open elements, innermost last.
    ns: Vec<Binding<'a>>,
    /// Every distinct (prefix, namespace) declared, for roxmltree's limit.
    declared: HashSet<(Option<&'a str>, Cow<'a, str>)>,
    /// Nodes so far, counted as roxmltree does: its document node, elements,
    /// text (a run of text, references and CDATA between other markup),
    /// comments and processing instructions.
    nodes: u32,
    root: Option<&'a str>,
    wrong_root: bool,
    root_closed: bool,
    /// A text node is open.
    in_text: bool,
    /// The end-of-line state of the text being kept, when some is.
    tok: Option<Tok>,
    /// What is read, built in place: the value being read is the end of
    /// `fields.text`.
    fields: Fields,
    /// Where the value being read (a child's text, or its element child's)
    /// starts in `fields.text`.
    start: usize,
    /// The last child of the root has element children.
    subs: bool,
}

impl<'a, 'w> Doc<'a, 'w> {
    /// `len`: the document's length, the most its names and texts take.
    fn new(want: Option<&'w str>, len: usize) -> Self {
        Doc {
            want,
            open: [("", ""); MAX_DEPTH],
            depth: 0,
            ns: Vec::new(),
            declared: HashSet::new(),
            nodes: 1,
            root: None,
            wrong_root: false,
            root_closed: false,
            in_text: false,
            tok: None,
            fields: Fields {
                text: String::with_capacity(len),
                ..Fields::default()
            },
            start: 0,
            subs: false,
        }
    }

    fn node(&mut self, at: usize) -> Result<(), XmlError> {
        if self.nodes >= MAX_NODES {
            return Err(bad(format_args!("more than {MAX_NODES} nodes"), at));
        }
        self.nodes += 1;
        Ok(())
    }

    /// The value that text at the current depth belongs to, if it is kept:
    /// a child of the root keeps its text until it turns out to have element
    /// children, which then keep theirs.
    fn value(&mut self) -> Option<&mut String> {
        match self.depth {
            2 if self.subs => None,
            2.. => Some(&mut self.fields.text),
            _ => None,
        }
    }

    /// Text, a reference or CDATA: one node until other markup.
    fn in_text(&mut self, at: usize) -> Result<(), XmlError> {
        if self.depth == 0 {
            return Err(bad("content outside the root element", at));
        }
        if !self.in_text {
            self.node(at)?;
            self.in_text = true;
        }
        Ok(())
    }

    /// Markup other than a reference: the text token ends, and so does the
    /// text node unless it is CDATA.
    fn end_tok(&mut self) {
        if let Some(mut tok) = self.tok.take() {
            if tok.cr {
                if let Some(v) = self.value() {
                    literal(v, &mut tok, '\r', true);
                }
            }
        }
    }

    fn markup(&mut self) {
        self.end_tok();
        self.in_text = false;
    }

    fn text(&mut self, raw: &'a str, at: usize) -> Result<(), XmlError> {
        if raw.is_empty() {
            return Ok(());
        }
        if self.depth == 0 && raw.bytes().all(is_space) {
            return Ok(());
        }
        self.in_text(at)?;
        let scan = scan(raw);
        if !scan.chars_ok {
            return Err(bad("character not allowed in XML", at));
        }
        if scan.gt && raw.contains("]]>") {
            return Err(bad("`]]>` in text", at));
        }
        let mut tok = self.tok.take();
        if let Some(v) = self.value() {
            let tok = tok.get_or_insert_with(|| Tok::at(v.len()));
            text(v, tok, raw, scan.cr);
        }
        self.tok = tok;
        Ok(())
    }

    fn reference(&mut self, raw: &'a str, at: usize) -> Result<(), XmlError> {
        self.in_text(at)?;
        let c = reference(&raw[1..raw.len() - 1]).ok_or_else(|| bad("bad reference", at))?;
        let mut tok = self.tok.take();
        if let Some(v) = self.value() {
            let tok = tok.get_or_insert_with(|| Tok::at(v.len()));
            if tok.cr {
                tok.cr = false;
                literal(v, tok, '\r', false);
            }
            v.push(c);
            tok.as_is = true;
        }
        self.tok = tok;
        Ok(())
    }

    fn cdata(&mut self, raw: &'a str, at: usize) -> Result<(), XmlError> {
        self.end_tok();
        self.in_text(at)?;
        let content = &raw[9..raw.len() - 3];
        if !chars_ok(content) {
            return Err(bad("character not allowed in XML", at));
        }
        if let Some(v) = self.value() {
            cdata(v, content);
        }
        Ok(())
    }

    fn comment(&mut self, raw: &'a str, at: usize) -> Result<(), XmlError> {
        self.markup();
        let content = &raw[4..raw.len() - 3];
        if content.contains("--") || content.ends_with('-') || !chars_ok(content) {
            return Err(bad("bad comment", at));
        }
        self.node(at)
    }

    fn pi(&mut self, raw: &'a str, at: usize) -> Result<(), XmlError> {
        self.markup();
        let content = &raw[2..raw.len() - 2];
        if raw.starts_with("<?xml ") {
            return Err(bad("XML declaration not at the start", at));
        }
        if !content.chars().next().is_some_and(is_name_start) || !chars_ok(content) {
            return Err(bad("bad processing instruction", at));
        }
        self.node(at)
    }

    /// A start tag (`content` is what lies between `<` and `>` or `/>`).
    fn start(&mut self, content: &'a str, empty: bool, at: usize) -> Result<(), XmlError> {
        self.markup();
        if self.root_closed {
            return Err(bad("second root element", at));
        }
        let depth = self.depth + 1;
        if depth > MAX_DEPTH {
            return Err(XmlError::TooDeep);
        }
        let name_len = content.bytes().position(is_space).unwrap_or(content.len());
        let (prefix, local) =
            split_qname(&content[..name_len]).ok_or_else(|| bad("bad element name", at))?;
        if prefix == "xmlns" {
            return Err(bad("element with the prefix xmlns", at));
        }
        let own = self.ns.len();
        if name_len < content.len() {
            self.attributes(content, name_len, depth, at)?;
        }
        if !prefix.is_empty() && self.lookup(prefix).is_none() {
            return Err(bad(format_args!("unknown namespace prefix {prefix:?}"), at));
        }
        self.node(at)?;
        let f = &mut self.fields;
        match depth {
            1 => {
                self.root = Some(local);
                self.wrong_root = self.want.is_some_and(|w| w != local);
                f.root = Span(f.text.len(), f.text.len() + local.len());
                f.text.push_str(local);
            }
            2 => {
                let name = Span(f.text.len(), f.text.len() + local.len());
                f.text.push_str(local);
                let (end, subs) = (f.text.len(), f.subs.len());
                f.items.push(Item {
                    name,
                    text: Span(end, end),
                    subs: (subs, subs),
                });
                self.start = end;
                self.subs = false;
            }
            3 => {
                // The child's own text so far is dropped (left unused).
                self.subs = true;
                self.start = f.text.len();
            }
            _ => {}
        }
        if empty {
            self.ns.truncate(own);
            self.closed(depth);
        } else {
            self.open[self.depth] = (prefix, local);
            self.depth = depth;
        }
        Ok(())
    }

    /// The attributes of a start tag: checked, namespace declarations kept.
    fn attributes(
        &mut self,
        content: &'a str,
        name_len: usize,
        depth: usize,
        at: usize,
    ) -> Result<(), XmlError> {
        let own = self.ns.len();
        // (namespace, local name) of the attributes other than declarations.
        let mut names: Vec<(&'a str, &'a str)> = Vec::new();
        let mut attrs = quick_xml::events::attributes::Attributes::new(content, name_len);
        attrs.with_checks(false);
        for attr in attrs {
            let attr = attr.map_err(|e| bad(e, at))?;
            let key = attr.key.0;
            // The key's place in the tag: it must follow whitespace (quick-xml
            // also reads `a="1"b="2"`).
            let off = (key.as_ptr() as usize).wrapping_sub(content.as_ptr() as usize);
            if off == 0 || off > content.len() || !is_space(content.as_bytes()[off - 1]) {
                return Err(bad("attributes not separated by whitespace", at));
            }
            let (prefix, local) = split_qname(key).ok_or_else(|| bad("bad attribute name", at))?;
            if !attribute_value_ok(&attr.value) {
                return Err(bad(format_args!("bad value of attribute {key:?}"), at));
            }
            if prefix == "xmlns" {
                let uri = normalized(attr.value);
                let is_xml = uri == XML_URI;
                if uri == XMLNS_URI || (local == "xml") != is_xml {
                    return Err(bad("reserved namespace misdeclared", at));
                }
                if self.ns[own..].iter().any(|b| b.prefix == local) {
                    return Err(bad(format_args!("prefix {local:?} declared twice"), at));
                }
                if !is_xml {
                    self.declare(Some(local), uri.clone(), at)?;
                    self.ns.push(Binding {
                        prefix: local,
                        uri,
                        depth,
                    });
                }
            } else if local == "xmlns" {
                let uri = normalized(attr.value);
                if uri == XML_URI || uri == XMLNS_URI {
                    return Err(bad("reserved namespace as the default", at));
                }
                self.declare(None, uri, at)?;
            } else {
                names.push((prefix, local));
            }
        }
        if names.is_empty() {
            return Ok(());
        }
        // Duplicates are judged by namespace and local name, as roxmltree does.
        let mut seen: HashSet<(Option<&str>, &str)> = HashSet::new();
        for (prefix, local) in names {
            let uri = match prefix {
                "" => None,
                "xml" => Some(XML_URI),
                p => Some(
                    self.lookup(p)
                        .ok_or_else(|| bad(format_args!("unknown namespace prefix {p:?}"), at))?,
                ),
            };
            if !seen.insert((uri, local)) {
                return Err(bad(format_args!("attribute {local:?} given twice"), at));
            }
        }
        Ok(())
    }

    /// roxmltree keeps at most 65,535 distinct declarations besides `xml`.
    fn declare(
        &mut self,
        prefix: Option<&'a str>,
        uri: Cow<'a, str>,
        at: usize,
    ) -> Result<(), XmlError> {
        let key = (prefix, uri);
        if !self.declared.contains(&key) {
            if self.declared.len() >= usize::from(u16::MAX) {
                return Err(bad("too many namespaces", at));
            }
            self.declared.insert(key);
        }
        Ok(())
    }

    /// The namespace `prefix` is bound to on the open elements.
    fn lookup(&self, prefix: &str) -> Option<&str> {
        self.ns
            .iter()
            .rev()
            .find(|b| b.prefix == prefix)
            .map(|b| b.uri.as_ref())
    }

    /// An end tag (`content` is what lies between `</` and `>`).
    fn end(&mut self, content: &'a str, at: usize) -> Result<(), XmlError> {
        self.markup();
        let name = content.trim_end_matches([' ', '\t', '\n', '\r']);
        // The same prefix and local name as the start tag (whose name was
        // checked), written `p:l`, or `l` or `:l` without a prefix.
        let same = match self.depth.checked_sub(1).map(|d| self.open[d]) {
            None => false,
            Some(("", local)) => name == local || name.strip_prefix(':') == Some(local),
            Some((prefix, local)) => {
                name.strip_prefix(prefix)
                    .and_then(|rest| rest.strip_prefix(':'))
                    == Some(local)
            }
        };
        if !same {
            return Err(bad("end tag does not match", at));
        }
        let depth = self.depth;
        self.depth -= 1;
        while self.ns.last().is_some_and(|b| b.depth == depth) {
            self.ns.pop();
        }
        self.closed(depth);
        Ok(())
    }

    /// The element at `depth` ended.
    fn closed(&mut self, depth: usize) {
        let f = &mut self.fields;
        let (start, end) = (self.start, f.text.len());
        match depth {
            1 => self.root_closed = true,
            2 => {
                if let Some(item) = f.items.last_mut() {
                    if self.subs {
                        item.subs.1 = f.subs.len();
                    } else {
                        let text = &f.text[start..end];
                        let trimmed = text.trim_start();
                        let from = end - trimmed.len();
                        item.text = Span(from, from + trimmed.trim_end().len());
                    }
                }
            }
            3 => f.subs.push(Span(start, end)),
            _ => {}
        }
    }

    fn finish(mut self, at: usize) -> Result<Fields, XmlError> {
        self.markup();
        let Some(root) = self.root else {
            return Err(bad("no root element", at));
        };
        if self.depth > 0 {
            return Err(bad("unclosed element", at));
        }
        if self.wrong_root {
            return Err(XmlError::UnexpectedRoot {
                expected: self.want.unwrap_or_default().to_string(),
                found: root.to_string(),
            });
        }
        Ok(self.fields)
    }
}

impl Tok {
    fn at(start: usize) -> Self {
        Tok {
            start,
            as_is: false,
            cr: false,
        }
    }
}

/// Appends one literal character of a text token with XML end-of-line
/// handling (CR LF and a lone CR become LF), step for step as roxmltree
/// 0.20 does it, quirks included: the character right after a reference is
/// taken as written, and a CR is not turned into LF when a reference follows
/// it (`a\r&amp;` reads `a\r&`). The differential test pins this.
fn literal(v: &mut String, tok: &mut Tok, c: char, at_end: bool) {
    if tok.as_is {
        tok.as_is = false;
        v.push(c);
        return;
    }
    let fix = if c == '\r' && at_end { '\n' } else { c };
    if v.len() > tok.start && v.ends_with('\r') {
        v.pop();
        v.push('\n');
        if c != '\n' {
            v.push(fix);
        }
    } else {
        v.push(fix);
    }
}

/// Appends the text of one text event (`cr`: it holds a CR).
fn text(v: &mut String, tok: &mut Tok, raw: &str, cr: bool) {
    if tok.cr {
        tok.cr = false;
        literal(v, tok, '\r', false);
    }
    let after_cr = v.len() > tok.start && v.ends_with('\r');
    if !after_cr && !cr {
        v.push_str(raw);
        tok.as_is = false;
        return;
    }
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' && !tok.as_is && chars.peek().is_none() {
            tok.cr = true;
        } else {
            literal(v, tok, c, false);
        }
    }
}

/// Appends CDATA: verbatim but for end-of-line handling.
fn cdata(v: &mut String, content: &str) {
    if !content.contains('\r') {
        v.push_str(content);
        return;
    }
    let mut chars = content.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' {
            v.push('\n');
            if chars.peek() == Some(&'\n') {
                chars.next();
            }
        } else {
            v.push(c);
        }
    }
}

/// The character a reference (between `&` and `;`) stands for: one of the
/// five predefined entities or a character reference. A character reference
/// to a surrogate or beyond U+10FFFF reads as U+FFFD, as in roxmltree.
fn reference(name: &str) -> Option<char> {
    match name {
        "amp" => return Some('&'),
        "lt" => return Some('<'),
        "gt" => return Some('>'),
        "quot" => return Some('"'),
        "apos" => return Some('\''),
        _ => {}
    }
    let num = name.strip_prefix('#')?;
    let (digits, radix) = match num.strip_prefix('x') {
        Some(hex) if hex.bytes().all(|b| b.is_ascii_hexdigit()) => (hex, 16),
        None if num.bytes().all(|b| b.is_ascii_digit()) => (num, 10),
        _ => return None,
    };
    let n = u32::from_str_radix(digits, radix).ok()?;
    let c = char::from_u32(n).unwrap_or('\u{FFFD}');
    is_xml_char(c).then_some(c)
}

/// An attribute value (between its quotes): no `<`, only XML characters,
/// and every `&` starts a reference.
fn attribute_value_ok(v: &str) -> bool {
    if v.contains('<') || !chars_ok(v) {
        return false;
    }
    let mut rest = v;
    while let Some(amp) = rest.find('&') {
        let after = &rest[amp + 1..];
        let Some(semi) = after.find(';') else {
            return false;
        };
        if reference(&after[..semi]).is_none() {
            return false;
        }
        rest = &after[semi + 1..];
    }
    true
}

/// An attribute value as XML normalizes it (needed for namespace names):
/// references resolved, each tab, LF, CR or CR LF written becomes a space.
fn normalized(v: Cow<'_, str>) -> Cow<'_, str> {
    if !v.bytes().any(|b| matches!(b, b'&' | b'\t' | b'\n' | b'\r')) {
        return v;
    }
    let mut out = String::with_capacity(v.len());
    let mut rest: &str = &v;
    while let Some(c) = rest.chars().next() {
        if c == '&' {
            let semi = rest.find(';').unwrap_or(rest.len());
            out.extend(reference(&rest[1..semi]));
            rest = rest.get(semi + 1..).unwrap_or("");
            continue;
        }
        rest = &rest[c.len_utf8()..];
        match c {
            '\r' if rest.starts_with('\n') => {}
            '\t' | '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Length of the `<?xml ...?>` declaration that `s` starts with, read as
/// roxmltree reads it (quick-xml would end it at a `?>` inside a quoted
/// value); on error, the byte where it went wrong.
fn declaration_len(s: &str) -> Result<usize, usize> {
    let b = s.as_bytes();
    let skip = |mut i: usize| {
        while b.get(i).copied().is_some_and(is_space) {
            i += 1;
        }
        i
    };
    // Between pseudo-attributes: whitespace, or nothing before `?>` or the end.
    let gap = |i: usize| {
        let j = skip(i);
        if j > i || s[i..].starts_with("?>") || i == s.len() {
            Ok(j)
        } else {
            Err(i)
        }
    };
    // name = "value" or name = 'value' (the name is not checked further).
    let pseudo = |i: usize| {
        let (n, _) = qname(&s[i..]).ok_or(i)?;
        let mut j = skip(i + n);
        if b.get(j) != Some(&b'=') {
            return Err(j);
        }
        j = skip(j + 1);
        let quote = match b.get(j) {
            Some(&q) if q == b'"' || q == b'\'' => q,
            _ => return Err(j),
        };
        let value = &s[j + 1..];
        let end = value
            .bytes()
            .position(|c| c == quote || c == b'<')
            .ok_or(j)?;
        if value.as_bytes()[end] != quote || !chars_ok(&value[..end]) {
            return Err(j);
        }
        Ok(j + 1 + end + 1)
    };
    let mut i = skip(5);
    if !s[i..].starts_with("version") {
        return Err(i);
    }
    i = gap(pseudo(i)?)?;
    if s[i..].starts_with("encoding") {
        i = gap(pseudo(i)?)?;
    }
    if s[i..].starts_with("standalone") {
        i = pseudo(i)?;
    }
    i = skip(i);
    if s[i..].starts_with("?>") {
        Ok(i + 2)
    } else {
        Err(i)
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// XML 1.0 `Char` (a `str` holds no surrogates).
fn is_xml_char(c: char) -> bool {
    match u32::from(c) {
        0x20.. => !matches!(u32::from(c), 0xFFFE | 0xFFFF),
        u => matches!(u, 0x9 | 0xA | 0xD),
    }
}

/// True when `s` holds only XML characters: no control character but tab,
/// LF and CR, and no U+FFFE or U+FFFF.
fn chars_ok(s: &str) -> bool {
    scan(s).chars_ok
}

/// What one pass over a text finds.
struct Scan {
    /// Only XML characters.
    chars_ok: bool,
    /// A `>` (which might end a `]]>`).
    gt: bool,
    /// A CR (for end-of-line handling).
    cr: bool,
}

/// One pass the compiler vectorizes, then a `memchr` search for U+FFFE and
/// U+FFFF (UTF-8 `EF BF BE`, `EF BF BF`) when `EF` occurs, as it does in
/// full-width punctuation such as `：`.
fn scan(s: &str) -> Scan {
    let b = s.as_bytes();
    let (mut control, mut ef, mut gt, mut cr) = (0u8, 0u8, 0u8, 0u8);
    for &c in b {
        control |=
            u8::from(c < 0x20) & u8::from(c != b'\t') & u8::from(c != b'\n') & u8::from(c != b'\r');
        ef |= u8::from(c == 0xEF);
        gt |= u8::from(c == b'>');
        cr |= u8::from(c == b'\r');
    }
    let nonchar = ef != 0
        && memchr::memchr_iter(0xEF, b)
            .any(|i| b.get(i + 1) == Some(&0xBF) && b.get(i + 2).is_some_and(|&c| c >= 0xBE));
    Scan {
        chars_ok: control == 0 && !nonchar,
        gt: gt != 0,
        cr: cr != 0,
    }
}

/// XML 1.0 `NameStartChar`.
fn is_name_start(c: char) -> bool {
    if c.is_ascii() {
        return matches!(c, 'A'..='Z' | 'a'..='z' | ':' | '_');
    }
    matches!(u32::from(c),
        0xC0..=0xD6
        | 0xD8..=0xF6
        | 0xF8..=0x2FF
        | 0x370..=0x37D
        | 0x37F..=0x1FFF
        | 0x200C..=0x200D
        | 0x2070..=0x218F
        | 0x2C00..=0x2FEF
        | 0x3001..=0xD7FF
        | 0xF900..=0xFDCF
        | 0xFDF0..=0xFFFD
        | 0x10000..=0xEFFFF)
}

/// XML 1.0 `NameChar`.
fn is_name_char(c: char) -> bool {
    if c.is_ascii() {
        return is_ascii_name_byte(c as u8);
    }
    is_name_start(c) || matches!(u32::from(c), 0xB7 | 0x300..=0x36F | 0x203F..=0x2040)
}

fn is_ascii_name_byte(b: u8) -> bool {
    ASCII_NAME[usize::from(b & 0x7F)] && b.is_ascii()
}

/// `NameChar` among ASCII bytes.
const ASCII_NAME: [bool; 128] = {
    let mut t = [false; 128];
    let mut b = 0;
    while b < 128 {
        t[b] = (b as u8).is_ascii_alphanumeric() || matches!(b as u8, b':' | b'_' | b'-' | b'.');
        b += 1;
    }
    t
};

/// The qualified name at the start of `s`, read greedily: its length and
/// where its colon is. `None` when there is none, when it has two colons,
/// or when its prefix or local part does not start as a name must.
fn qname(s: &str) -> Option<(usize, Option<usize>)> {
    let b = s.as_bytes();
    let mut colon = None;
    let mut len = 0;
    while let Some(&x) = b.get(len) {
        if x.is_ascii() {
            if !ASCII_NAME[usize::from(x)] {
                break;
            }
            if x == b':' {
                if colon.is_some() {
                    return None;
                }
                colon = Some(len);
            }
            len += 1;
        } else {
            match s[len..].chars().next() {
                Some(c) if is_name_char(c) => len += c.len_utf8(),
                _ => break,
            }
        }
    }
    let (prefix, local) = match colon {
        Some(p) => (&s[..p], &s[p + 1..len]),
        None => ("", &s[..len]),
    };
    let starts_well = |part: &str| part.chars().next().is_some_and(is_name_start);
    (starts_well(local) && (prefix.is_empty() || starts_well(prefix))).then_some((len, colon))
}

/// `name` as (prefix, local part) when all of it is a qualified name.
fn split_qname(name: &str) -> Option<(&str, &str)> {
    match qname(name)? {
        (len, _) if len != name.len() => None,
        (_, Some(p)) => Some((&name[..p], &name[p + 1..])),
        (_, None) => Some(("", name)),
    }
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
