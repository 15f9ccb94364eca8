//! The XML of the wire: writing `<name>value</name>` elements with correct
//! escaping, and a tolerant reader of one level of child elements.
//!
//! Interprets seed 2.2 (XML, UTF-8). The reader accepts an `<?xml ...?>`
//! declaration or none, surrounding whitespace, elements in any order,
//! unknown elements (ignored by the message layer) and absent optional ones.
//! It refuses DTDs (no entity expansion), and bounds depth and node count.

use std::borrow::Cow;

/// Most nodes a document may hold before the reader refuses it.
pub const MAX_NODES: u32 = 20_000;
/// Deepest element nesting the reader accepts (root = 1).
pub const MAX_DEPTH: usize = 8;

/// Escapes text for use as XML element content or attribute value.
///
/// `&`, `<`, `>`, `"` and `'` become entity references, so a value such as
/// `奶油曲奇 & 小石头 <"1">` survives any conforming XML parser unchanged.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text
        .bytes()
        .any(|b| matches!(b, b'&' | b'<' | b'>' | b'"' | b'\''))
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
#[derive(Clone, Default)]
pub struct Fields {
    root: String,
    /// Every name and text, back to back (one allocation, not two per field).
    buf: String,
    items: Vec<Item>,
    /// Text ranges in `buf` of the fields' element children.
    subs: Vec<Span>,
}

impl Fields {
    /// Every field as (name, text, element children's texts), in order.
    fn entries(&self) -> impl Iterator<Item = (&str, &str, Vec<&str>)> {
        self.items.iter().map(|it| {
            let subs = self.subs[it.subs.0 as usize..it.subs.1 as usize]
                .iter()
                .map(|s| self.span(*s))
                .collect();
            (self.span(it.name), self.span(it.text), subs)
        })
    }
}

/// Equal when the root and every field read the same (however stored).
impl PartialEq for Fields {
    fn eq(&self, other: &Self) -> bool {
        self.root == other.root && self.entries().eq(other.entries())
    }
}

impl Eq for Fields {}

impl std::fmt::Debug for Fields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fields")
            .field("root", &self.root)
            .field("items", &self.entries().collect::<Vec<_>>())
            .finish()
    }
}

/// A byte range of [`Fields::buf`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Span(u32, u32);

/// One child of the root: its name and text in `buf`, and its element
/// children's texts as a range of `subs`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Item {
    name: Span,
    text: Span,
    subs: (u32, u32),
}

impl Fields {
    /// Parses `xml` and checks that its root element is named `root`
    /// (any root is accepted when `root` is `None`).
    ///
    /// A single pass over the text with a stack of open elements (no tree is
    /// built): the answer of every call goes through here twice, and a DOM
    /// parser cost six times the rest of the payment's protocol work
    /// (docs/PERFORMANCE.md). It is as strict as a conforming non-validating
    /// parser on what the wire can carry: well-formed markup, matching end
    /// tags, one root, XML characters only, the five predefined entities and
    /// character references, end-of-line normalisation (XML 1.0 §2.11); it
    /// refuses a DTD. Namespace prefixes are dropped from names, unchecked.
    pub fn parse(xml: &str, root: Option<&str>) -> Result<Fields, XmlError> {
        let xml = xml.trim_matches(char::from(0));
        let xml = xml.strip_prefix('\u{feff}').unwrap_or(xml);
        check_chars(xml)?;
        let mut p = Reader {
            s: xml,
            pos: 0,
            nodes: 1,
        };
        if xml.starts_with("<?xml") && xml[5..].starts_with(|c: char| c.is_ascii_whitespace()) {
            p.pos = 5;
            p.declaration()?;
        }
        p.misc()?;
        if !p.rest().starts_with('<') {
            return Err(malformed("no root element"));
        }
        let mut stack: Vec<&str> = Vec::with_capacity(4);
        let mut f = Fields {
            root: String::new(),
            buf: String::with_capacity(xml.len()),
            items: Vec::with_capacity(32),
            subs: Vec::new(),
        };
        let mut root_name = "";
        let mut too_deep = false;
        loop {
            // Text up to the next markup.
            let (lt, special) = scan_text(xml.as_bytes(), p.pos);
            let Some(lt) = lt else {
                return Err(malformed("unexpected end of document: element not closed"));
            };
            if lt > p.pos && !stack.is_empty() {
                let raw = &xml[p.pos..lt];
                let text = if special {
                    text_value(raw)?
                } else {
                    Cow::Borrowed(raw)
                };
                p.count()?;
                f.add_text(stack.len(), &text);
            } else if lt > p.pos {
                return Err(malformed("text before the root element"));
            }
            p.pos = lt;
            let rest = p.rest();
            if stack.is_empty()
                && (rest.starts_with("</") || rest.starts_with("<!") || rest.starts_with("<?"))
            {
                return Err(malformed("no root element"));
            }
            if rest.starts_with("</") {
                p.pos += 2;
                let open = stack.pop().unwrap_or_default();
                // The usual case costs one comparison: `</name>` right after.
                let quick = p.rest().as_bytes().get(open.len()) == Some(&b'>')
                    && p.rest().as_bytes().starts_with(open.as_bytes());
                if quick {
                    p.pos += open.len() + 1;
                } else {
                    let name = p.name()?;
                    p.skip_ws();
                    p.expect(">")?;
                    if open != name {
                        return Err(malformed(format!("expected </{open}>, found </{name}>")));
                    }
                }
                if stack.len() == 1 {
                    f.finish_item();
                }
                if stack.is_empty() {
                    break;
                }
            } else if rest.starts_with("<!--") {
                p.comment()?;
            } else if rest.starts_with("<![CDATA[") {
                let end = p.find_from(p.pos + 9, "]]>", "CDATA section")?;
                let text = normalize_eol(&xml[p.pos + 9..end]);
                p.pos = end + 3;
                p.count()?;
                f.add_text(stack.len(), &text);
            } else if rest.starts_with("<?") {
                p.pi()?;
            } else if rest.starts_with("<!") {
                return Err(malformed("unexpected markup declaration"));
            } else {
                p.pos += 1;
                let name = p.name()?;
                let empty = p.attributes()?;
                p.count()?;
                stack.push(name);
                let depth = stack.len();
                if depth > MAX_DEPTH {
                    too_deep = true;
                }
                match depth {
                    1 => root_name = local(name),
                    2 => f.start_item(local(name)),
                    3 => f.start_sub(),
                    _ => {}
                }
                if empty {
                    stack.pop();
                    if depth == 2 {
                        f.finish_item();
                    }
                    if stack.is_empty() {
                        break;
                    }
                }
            }
        }
        p.misc()?;
        if !p.rest().is_empty() {
            return Err(malformed("content after the root element"));
        }
        if let Some(want) = root {
            if root_name != want {
                return Err(XmlError::UnexpectedRoot {
                    expected: want.to_string(),
                    found: root_name.to_string(),
                });
            }
        }
        if too_deep {
            return Err(XmlError::TooDeep);
        }
        f.root = root_name.to_string();
        Ok(f)
    }

    /// The root element's name.
    pub fn root(&self) -> &str {
        &self.root
    }

    /// The text of the first child named `name`; `None` when absent or empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.item(name)
            .map(|it| self.span(it.text))
            .filter(|t| !t.is_empty())
    }

    /// The texts of the element children of the first child named `name`,
    /// or, when that child holds plain text, its non-empty lines.
    pub fn lines(&self, name: &str) -> Vec<String> {
        match self.item(name) {
            None => Vec::new(),
            Some(it) if it.subs.0 == it.subs.1 => self
                .span(it.text)
                .lines()
                .map(|l| l.trim_end_matches('\r').to_string())
                .filter(|l| !l.trim().is_empty())
                .collect(),
            Some(it) => self.subs[it.subs.0 as usize..it.subs.1 as usize]
                .iter()
                .map(|s| self.span(*s).to_string())
                .collect(),
        }
    }

    /// Names of every child element, in document order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.items.iter().map(|it| self.span(it.name))
    }

    fn item(&self, name: &str) -> Option<&Item> {
        self.items.iter().find(|it| self.span(it.name) == name)
    }

    fn span(&self, s: Span) -> &str {
        &self.buf[s.0 as usize..s.1 as usize]
    }

    fn end(&self) -> u32 {
        // A document is read from a &str; its copy in `buf` is never longer
        // than the document, and documents are bounded far below 4 GiB by
        // the transport (MAX_RESPONSE_BYTES) and the simulator (MAX_BODY).
        u32::try_from(self.buf.len()).unwrap_or(u32::MAX)
    }

    /// A child of the root begins.
    fn start_item(&mut self, name: &str) {
        let a = self.end();
        self.buf.push_str(name);
        let b = self.end();
        let n = self.subs.len() as u32;
        self.items.push(Item {
            name: Span(a, b),
            text: Span(b, b),
            subs: (n, n),
        });
    }

    /// An element child of the current field begins: the field's own text
    /// is dropped (only the children's texts are kept).
    fn start_sub(&mut self) {
        let end = self.end();
        let Some(it) = self.items.last_mut() else {
            return;
        };
        if it.subs.0 == it.subs.1 {
            self.buf.truncate(it.text.0 as usize);
        }
        let at = if it.subs.0 == it.subs.1 {
            it.text.0
        } else {
            end
        };
        it.text = Span(it.text.0, it.text.0);
        self.subs.push(Span(at, at));
        it.subs.1 += 1;
    }

    /// Text that reached a field (depth 2) or one of its children (depth 3+);
    /// text directly inside the root is dropped.
    fn add_text(&mut self, depth: usize, text: &str) {
        let Some(it) = self.items.last_mut() else {
            return;
        };
        let has_subs = it.subs.0 != it.subs.1;
        if depth == 2 && !has_subs {
            self.buf.push_str(text);
            it.text.1 = u32::try_from(self.buf.len()).unwrap_or(u32::MAX);
        } else if depth >= 3 && has_subs {
            self.buf.push_str(text);
            if let Some(sub) = self.subs.last_mut() {
                sub.1 = u32::try_from(self.buf.len()).unwrap_or(u32::MAX);
            }
        }
    }

    /// A field ended: its text is trimmed (in place: only the range moves).
    fn finish_item(&mut self) {
        if let Some(it) = self.items.last() {
            let raw = self.span(it.text);
            let lead = raw.len() - raw.trim_start().len();
            let trimmed = raw.trim().len() as u32;
            let start = it.text.0 + lead as u32;
            if let Some(it) = self.items.last_mut() {
                it.text = Span(start, start + trimmed);
            }
        }
    }
}

fn malformed(why: impl Into<String>) -> XmlError {
    XmlError::Malformed(why.into())
}

/// The name without its namespace prefix.
fn local(name: &str) -> &str {
    match name.bytes().rposition(|b| b == b':') {
        Some(i) => &name[i + 1..],
        None => name,
    }
}

/// Bytes that may appear in a name: ASCII letters, digits, `_ : - .`, and
/// every byte of a non-ASCII character.
static NAME_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric() || matches!(b, b'_' | b':' | b'-' | b'.') || b >= 0x80;
        i += 1;
    }
    t
};

/// Refuses characters outside XML 1.0's `Char` production: C0 controls
/// other than tab, LF and CR, and U+FFFE / U+FFFF (a `&str` holds no
/// surrogates).
fn check_chars(s: &str) -> Result<(), XmlError> {
    let b = s.as_bytes();
    // 16 bytes at a time without a branch per byte (the compiler turns the
    // inner loop into vector compares); a chunk that holds a control byte
    // or 0xEF is looked at byte by byte.
    let mut start = 0;
    for chunk in b.chunks(16) {
        let mut suspect = false;
        for &c in chunk {
            suspect |= (c < 0x20) | (c == 0xEF);
        }
        if suspect {
            for i in start..start + chunk.len() {
                let c = b[i];
                let bad = if c < 0x20 {
                    !matches!(c, b'\t' | b'\n' | b'\r')
                } else {
                    c == 0xEF
                        && b.get(i + 1) == Some(&0xBF)
                        && matches!(b.get(i + 2), Some(0xBE | 0xBF))
                };
                if bad {
                    return Err(malformed(format!(
                        "character not allowed in XML at byte {i}"
                    )));
                }
            }
        }
        start += chunk.len();
    }
    Ok(())
}

/// The position of the next `<` at or after `from`, and whether a byte
/// that needs care in character data (`&`, CR, `]`) comes before it.
fn scan_text(b: &[u8], from: usize) -> (Option<usize>, bool) {
    let mut i = from;
    let mut special = false;
    while let Some(chunk) = b.get(i..i + 16) {
        let (mut lt, mut sp) = (false, false);
        for &c in chunk {
            lt |= c == b'<';
            sp |= (c == b'&') | (c == b'\r') | (c == b']');
        }
        if lt {
            break;
        }
        special |= sp;
        i += 16;
    }
    while let Some(&c) = b.get(i) {
        if c == b'<' {
            return (Some(i), special);
        }
        special |= matches!(c, b'&' | b'\r' | b']');
        i += 1;
    }
    (None, special)
}

fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Line ends as XML 1.0 §2.11 delivers them: CR LF and lone CR become LF.
fn normalize_eol(raw: &str) -> Cow<'_, str> {
    if !raw.contains('\r') {
        return Cow::Borrowed(raw);
    }
    Cow::Owned(raw.replace("\r\n", "\n").replace('\r', "\n"))
}

/// Character data between tags: line ends normalised, references resolved;
/// `]]>` and a bare `&` are errors.
fn text_value(raw: &str) -> Result<Cow<'_, str>, XmlError> {
    if !raw.bytes().any(|b| matches!(b, b'&' | b'\r' | b']')) {
        return Ok(Cow::Borrowed(raw));
    }
    if raw.contains("]]>") {
        return Err(malformed("']]>' in character data"));
    }
    match normalize_eol(raw) {
        Cow::Borrowed(t) => resolve_references(t),
        Cow::Owned(t) => Ok(Cow::Owned(resolve_references(&t)?.into_owned())),
    }
}

/// Replaces entity and character references by the characters they stand for.
fn resolve_references(text: &str) -> Result<Cow<'_, str>, XmlError> {
    if !text.contains('&') {
        return Ok(Cow::Borrowed(text));
    }
    let mut out = String::with_capacity(text.len());
    let mut rest: &str = text;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let Some(semi) = after.find(';') else {
            return Err(malformed("'&' without ';'"));
        };
        out.push(reference(&after[..semi])?);
        rest = &after[semi + 1..];
    }
    out.push_str(rest);
    Ok(Cow::Owned(out))
}

/// The character an entity or character reference (`amp`, `#38`, `#x26`) stands for.
fn reference(name: &str) -> Result<char, XmlError> {
    let code = match name {
        "amp" => return Ok('&'),
        "lt" => return Ok('<'),
        "gt" => return Ok('>'),
        "quot" => return Ok('"'),
        "apos" => return Ok('\''),
        n if n.starts_with("#x") => u32::from_str_radix(&n[2..], 16).ok(),
        n if n.starts_with('#') => n[1..].parse::<u32>().ok(),
        n => return Err(malformed(format!("unknown entity '&{n};'"))),
    };
    let digits = name.trim_start_matches("#x").trim_start_matches('#');
    if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(malformed(format!("invalid character reference '&{name};'")));
    }
    // As roxmltree: a number past U+10FFFF or a surrogate reads as U+FFFD.
    match code.map(|n| char::from_u32(n).unwrap_or('\u{FFFD}')) {
        Some(c) if is_xml_char(c) => Ok(c),
        _ => Err(malformed(format!("invalid character reference '&{name};'"))),
    }
}

/// A cursor over the document for the markup parts.
struct Reader<'a> {
    s: &'a str,
    pos: usize,
    nodes: u32,
}

impl<'a> Reader<'a> {
    fn rest(&self) -> &'a str {
        &self.s[self.pos..]
    }

    /// Counts one node against [`MAX_NODES`].
    fn count(&mut self) -> Result<(), XmlError> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(malformed(format!("more than {MAX_NODES} nodes")));
        }
        Ok(())
    }

    /// Position of `pat` at or after `from`, or an error naming `what`.
    fn find_from(&self, from: usize, pat: &str, what: &str) -> Result<usize, XmlError> {
        self.s
            .get(from..)
            .and_then(|r| r.find(pat))
            .map(|i| from + i)
            .ok_or_else(|| malformed(format!("unterminated {what}")))
    }

    fn skip_ws(&mut self) -> bool {
        let r = self.rest();
        let n = r.len() - r.trim_start_matches([' ', '\t', '\n', '\r']).len();
        self.pos += n;
        n > 0
    }

    fn expect(&mut self, token: &str) -> Result<(), XmlError> {
        if self.rest().starts_with(token) {
            self.pos += token.len();
            Ok(())
        } else {
            Err(malformed(format!(
                "expected '{token}' at byte {}",
                self.pos
            )))
        }
    }

    /// An XML name (ASCII letters, digits, `_ : - .`, any non-ASCII character;
    /// not starting with a digit, `-` or `.`).
    fn name(&mut self) -> Result<&'a str, XmlError> {
        let r = self.rest();
        let n = r
            .bytes()
            .position(|b| !NAME_BYTE[usize::from(b)])
            .unwrap_or(r.len());
        let name = &r[..n];
        match name.bytes().next() {
            None => return Err(malformed(format!("expected a name at byte {}", self.pos))),
            Some(b) if b.is_ascii_digit() || b == b'-' || b == b'.' => {
                return Err(malformed(format!("invalid name '{name}'")))
            }
            _ => {}
        }
        self.pos += n;
        Ok(name)
    }

    /// Attributes up to the end of a start tag; true for `/>`. Values are
    /// checked (quotes, references, no `<`, no duplicates) and dropped.
    fn attributes(&mut self) -> Result<bool, XmlError> {
        let mut seen: Vec<&str> = Vec::new();
        loop {
            let ws = self.skip_ws();
            let r = self.rest();
            if r.starts_with("/>") {
                self.pos += 2;
                return Ok(true);
            }
            if r.starts_with('>') {
                self.pos += 1;
                return Ok(false);
            }
            if !ws {
                return Err(malformed(format!(
                    "expected whitespace, '>' or '/>' at byte {}",
                    self.pos
                )));
            }
            let name = self.name()?;
            if seen.contains(&name) {
                return Err(malformed(format!("duplicate attribute '{name}'")));
            }
            seen.push(name);
            self.skip_ws();
            self.expect("=")?;
            self.skip_ws();
            let quote = match self.rest().chars().next() {
                Some(q @ ('"' | '\'')) => q,
                _ => return Err(malformed(format!("expected a quoted value for '{name}'"))),
            };
            self.pos += 1;
            let end = self.find_from(
                self.pos,
                if quote == '"' { "\"" } else { "'" },
                "attribute value",
            )?;
            let value = &self.s[self.pos..end];
            if value.contains('<') {
                return Err(malformed(format!("'<' in the value of '{name}'")));
            }
            resolve_references(value)?;
            self.pos = end + 1;
        }
    }

    fn comment(&mut self) -> Result<(), XmlError> {
        let end = self.find_from(self.pos + 4, "-->", "comment")?;
        let body = &self.s[self.pos + 4..end];
        if body.contains("--") || body.ends_with('-') {
            return Err(malformed("'--' inside a comment"));
        }
        self.pos = end + 3;
        self.count()
    }

    /// `<?target …?>`; an XML declaration here is an error.
    fn pi(&mut self) -> Result<(), XmlError> {
        let r = self.rest();
        if r.starts_with("<?xml") && r[5..].starts_with([' ', '\t', '\n', '\r']) {
            return Err(malformed(
                "XML declaration not at the start of the document",
            ));
        }
        self.pos += 2;
        self.name()?;
        let end = self.find_from(self.pos, "?>", "processing instruction")?;
        self.pos = end + 2;
        self.count()
    }

    /// The rest of `<?xml version="…" encoding="…" standalone="…"?>`
    /// (XML 1.0 §2.8): `version` first, the others optional and in that
    /// order. Values are not read: the text is already UTF-8.
    fn declaration(&mut self) -> Result<(), XmlError> {
        let bad = || malformed("invalid XML declaration");
        let mut wanted: &[&str] = &["version", "encoding", "standalone"];
        loop {
            let ws = self.skip_ws();
            if self.rest().starts_with("?>") && wanted.len() < 3 {
                self.pos += 2;
                return Ok(());
            }
            if !ws {
                return Err(bad());
            }
            let name = self.name()?;
            let at = wanted.iter().position(|w| *w == name).ok_or_else(bad)?;
            if wanted.len() == 3 && at != 0 {
                return Err(bad());
            }
            wanted = &wanted[at + 1..];
            self.skip_ws();
            self.expect("=").map_err(|_| bad())?;
            self.skip_ws();
            let quote = match self.rest().bytes().next() {
                Some(q @ (b'"' | b'\'')) => q,
                _ => return Err(bad()),
            };
            self.pos += 1;
            let r = self.rest();
            let end = r.bytes().position(|b| b == quote).ok_or_else(bad)?;
            if r[..end].contains('<') {
                return Err(bad());
            }
            self.pos += end + 1;
        }
    }

    /// Whitespace, comments and processing instructions outside the root.
    fn misc(&mut self) -> Result<(), XmlError> {
        loop {
            self.skip_ws();
            let r = self.rest();
            if r.starts_with("<!--") {
                self.comment()?;
            } else if r.starts_with("<?") {
                self.pi()?;
            } else if r.starts_with("<!DOCTYPE") {
                return Err(malformed("a DTD is not allowed"));
            } else {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reader before it was replaced (roxmltree, a conforming DOM
    /// parser), kept as the reference the fast reader must agree with.
    fn reference(xml: &str, root: Option<&str>) -> Result<Fields, XmlError> {
        let opts = roxmltree::ParsingOptions {
            allow_dtd: false,
            nodes_limit: MAX_NODES,
        };
        let doc = roxmltree::Document::parse_with_options(xml.trim_matches(char::from(0)), opts)
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
        let text = |node: &roxmltree::Node<'_, '_>| -> String {
            node.descendants()
                .filter(|n| n.is_text())
                .filter_map(|n| n.text())
                .collect()
        };
        let mut f = Fields::default();
        for child in r.children().filter(|n| n.is_element()) {
            let subs: Vec<String> = child
                .children()
                .filter(|n| n.is_element())
                .map(|n| text(&n))
                .collect();
            let t = if subs.is_empty() {
                text(&child).trim().to_string()
            } else {
                String::new()
            };
            f.start_item(child.tag_name().name());
            if subs.is_empty() {
                f.add_text(2, &t);
            }
            for sub in &subs {
                f.start_sub();
                f.add_text(3, sub);
            }
        }
        f.root = name.to_string();
        Ok(f)
    }

    fn kind(r: &Result<Fields, XmlError>) -> String {
        match r {
            Ok(f) => format!("{f:?}"),
            Err(XmlError::Malformed(_)) => "malformed".into(),
            Err(e) => format!("{e:?}"),
        }
    }

    const SEEDS: &[&str] = &[
        "<data><response_type>unitive_pay_response</response_type><req_seq>26010112000000420001</req_seq><result>Y</result><code>E11000</code><msg>支付成功</msg><total_fee>1</total_fee><receipts><line>-----微信支付交易小票-----</line><line>      【商户联】</line><line> </line></receipts></data>",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<response>\n <timestamp>1795627796433</timestamp>\n <data>g5WR0qdaYiztIriXw+OeXsG2/CkCtbNP==</data>\n <signature>58E66B46B97F267255C5FC14FD6F1C80</signature>\n</response>\n",
        "<request><request_type>unitive_pay_request</request_type><account>demo</account><dsn>2894553456B9A8AE55FE2535C96793EF</dsn><data>XEN+VIoF</data><signature>85A2CAB70CF4</signature></request>",
        "<data a=\"1\" b='2'><x>a &amp; b &lt;c&gt; &quot;&apos; &#x4E2D;&#25991;</x><y><![CDATA[<raw> & ]]></y><!-- note --><?pi data?><z/><e></e>\r\n<w>\r\nline1\rline2\r\n</w></data>",
        "<data><receipts>one\r\ntwo\n\n</receipts><n><a>1<b>2</b>3</a><c><d><e>deep</e></d></c></n>text<m> x </m></data>",
        "\u{feff}<data><k>&#xD;&#13;&#10;\t</k></data>\u{0}\u{0}",
    ];

    const TOKENS: &[&str] = &[
        "<",
        ">",
        "/",
        "&",
        ";",
        "&amp;",
        "&#xD;",
        "&#0;",
        "&#x110000;",
        "&bogus;",
        "]]>",
        "]]",
        "<!--",
        "-->",
        "--",
        "<![CDATA[",
        "<?pi x?>",
        "<?xml version='1.0'?>",
        "</a>",
        "<a>",
        "<a/>",
        "<b x='1'>",
        "</b>",
        "\r",
        "\r\n",
        "'",
        "\"",
        " x=\"1\"",
        " x='<'",
        "=",
        "<!DOCTYPE d>",
        "\u{0}",
        "\u{1}",
        "\u{FFFE}",
        "\u{FEFF}",
        " ",
        "\n",
        "9",
        "-",
        ".",
        "中",
        "<data>",
        "</data>",
    ];

    /// A small deterministic generator (splitmix64).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> usize {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            (z ^ (z >> 31)) as usize
        }
        fn boundary(&mut self, s: &str) -> usize {
            let mut i = self.next() % (s.len() + 1);
            while !s.is_char_boundary(i) {
                i -= 1;
            }
            i
        }
    }

    /// Differential test: seed documents and 60,000 mutations of them
    /// (tokens inserted, spans deleted or repeated) read by the fast reader
    /// and by roxmltree must give the same fields or the same kind of error.
    #[test]
    fn agrees_with_a_conforming_parser() {
        let mut rng = Rng(6);
        let mut checked = 0;
        for seed in SEEDS {
            assert_eq!(
                kind(&Fields::parse(seed, None)),
                kind(&reference(seed, None)),
                "{seed:?}"
            );
            assert!(Fields::parse(seed, None).is_ok(), "{seed:?}");
        }
        for _ in 0..60_000 {
            let mut doc = SEEDS[rng.next() % SEEDS.len()].to_string();
            for _ in 0..1 + rng.next() % 3 {
                let i = rng.boundary(&doc);
                match rng.next() % 4 {
                    0 | 1 => doc.insert_str(i, TOKENS[rng.next() % TOKENS.len()]),
                    n => {
                        let mut lim = (i + 12).min(doc.len());
                        while !doc.is_char_boundary(lim) {
                            lim -= 1;
                        }
                        let j = i + rng.boundary(&doc[i..lim]);
                        if n == 2 {
                            doc.replace_range(i..j, "");
                        } else {
                            let span = doc[i..j].to_string();
                            doc.insert_str(i, &span);
                        }
                    }
                }
            }
            // roxmltree reads the XML declaration loosely (`encoding.="x"`
            // passes); this reader follows §2.8. Declarations are compared
            // only as the seeds wrote them.
            let decl = |d: &str| {
                d.starts_with("<?xml")
                    .then(|| d.split("?>").next().map(str::to_string))
            };
            if decl(&doc).is_some() && decl(&doc) != decl(SEEDS[1]) {
                continue;
            }
            // roxmltree keeps a lone CR that stands right before a reference
            // (its look-behind misses it); XML 1.0 §2.11 makes it LF, as here.
            if doc.contains("\r&") {
                continue;
            }
            let root = if rng.next() % 2 == 0 {
                Some("data")
            } else {
                None
            };
            let ours = Fields::parse(&doc, root);
            let theirs = reference(&doc, root);
            assert_eq!(
                kind(&ours),
                kind(&theirs),
                "document {doc:?}\nours {ours:?}\ntheirs {theirs:?}"
            );
            checked += 1;
        }
        assert!(checked > 55_000, "{checked} compared");
    }

    #[test]
    fn escape_and_read_back() {
        let mut w = XmlWriter::new("data");
        w.field("goods", "奶油曲奇 & 小石头 <\"1\"> 'x'");
        let doc = w.finish();
        assert!(doc.contains("&amp;") && doc.contains("&lt;") && doc.contains("&quot;"));
        let f = Fields::parse(&doc, Some("data")).unwrap();
        assert_eq!(f.get("goods"), Some("奶油曲奇 & 小石头 <\"1\"> 'x'"));
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
