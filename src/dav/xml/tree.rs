//! A small, namespace-resolved element tree for request bodies, built with quick-xml's
//! `NsReader`, plus the re-serialisation of a subtree as self-contained XML (a dead
//! property is stored as its whole element, RFC 4918 §4.3).
//!
//! All refusals happen here: non-UTF-8 input, a `<!DOCTYPE`, entity references other than
//! the five predefined ones and character references, unbound prefixes, nesting deeper
//! than [`MAX_DEPTH`], and anything quick-xml finds ill-formed. Request bodies are small
//! (the caller caps their size before parsing), so holding them as a tree is cheap.
use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

use super::{QName, XmlError};

/// Deepest element nesting accepted (the root is level 1).
pub(crate) const MAX_DEPTH: usize = 64;

/// One attribute other than a namespace declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Attr {
    /// The prefix as written (`None` when unprefixed).
    pub prefix: Option<String>,
    /// The resolved namespace; empty for unprefixed attributes.
    pub ns: String,
    pub local: String,
    /// Unescaped and normalised value.
    pub value: String,
}

/// A child of an element: an element or (merged, unescaped) character data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Child {
    Elem(Node),
    Text(String),
}

/// An element with its resolved name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Node {
    pub name: QName,
    /// The prefix as written (`None` when unprefixed).
    pub prefix: Option<String>,
    /// Namespace declarations written on this element: (prefix, namespace), prefix `""`
    /// for the default namespace.
    pub decls: Vec<(String, String)>,
    pub attrs: Vec<Attr>,
    pub children: Vec<Child>,
}

fn malformed(e: impl std::fmt::Display) -> XmlError {
    XmlError::Malformed(e.to_string())
}

/// The five entities XML predefines; nothing else is ever expanded.
fn predefined_entity(name: &str) -> Option<&'static str> {
    match name {
        "lt" => Some("<"),
        "gt" => Some(">"),
        "amp" => Some("&"),
        "apos" => Some("'"),
        "quot" => Some("\""),
        _ => None,
    }
}

fn namespace_of(res: ResolveResult<'_>) -> Result<String, XmlError> {
    match res {
        ResolveResult::Bound(ns) => Ok(ns.into_inner().to_string()),
        ResolveResult::Unbound => Ok(String::new()),
        ResolveResult::Unknown(p) => Err(XmlError::Malformed(format!("unbound prefix {p}"))),
    }
}

/// Builds a node from a start tag; the reader's resolver must hold this tag's scope.
fn node_from_start(reader: &NsReader<&[u8]>, e: &BytesStart<'_>) -> Result<Node, XmlError> {
    let resolver = reader.resolver();
    let (res, local) = resolver.resolve_element(e.name());
    let name = QName {
        ns: namespace_of(res)?,
        local: local.into_inner().to_string(),
    };
    let prefix = e.name().prefix().map(|p| p.into_inner().to_string());
    let mut decls = Vec::new();
    let mut attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(malformed)?;
        if let Some(decl) = a.key.as_namespace_binding() {
            let p = match decl {
                quick_xml::name::PrefixDeclaration::Default => "",
                quick_xml::name::PrefixDeclaration::Named(p) => p,
            };
            decls.push((p.to_string(), a.value.to_string()));
            continue;
        }
        let (res, local) = resolver.resolve_attribute(a.key);
        let value = a
            .normalized_value_with(XmlVersion::Implicit1_0, 1, predefined_entity)
            .map_err(malformed)?;
        attrs.push(Attr {
            prefix: a.key.prefix().map(|p| p.into_inner().to_string()),
            ns: namespace_of(res)?,
            local: local.into_inner().to_string(),
            value: value.into_owned(),
        });
    }
    Ok(Node {
        name,
        prefix,
        decls,
        attrs,
        children: Vec::new(),
    })
}

/// Appends character data to the innermost open element (or refuses it outside the root).
fn push_text(stack: &mut [Node], text: &str) -> Result<(), XmlError> {
    let Some(top) = stack.last_mut() else {
        if text.chars().all(|c| matches!(c, ' ' | '\t' | '\r' | '\n')) {
            return Ok(());
        }
        return Err(XmlError::Malformed("text outside the root element".into()));
    };
    if let Some(Child::Text(t)) = top.children.last_mut() {
        t.push_str(text);
    } else {
        top.children.push(Child::Text(text.to_string()));
    }
    Ok(())
}

/// Attaches a finished element to its parent, or makes it the root.
fn close(stack: &mut [Node], root: &mut Option<Node>, node: Node) -> Result<(), XmlError> {
    if let Some(parent) = stack.last_mut() {
        parent.children.push(Child::Elem(node));
    } else if root.is_some() {
        return Err(XmlError::Malformed("more than one root element".into()));
    } else {
        *root = Some(node);
    }
    Ok(())
}

/// Parses a body into its root element; `Ok(None)` for an empty or whitespace-only body.
pub(crate) fn parse(body: &[u8]) -> Result<Option<Node>, XmlError> {
    let text =
        std::str::from_utf8(body).map_err(|e| XmlError::Malformed(format!("not UTF-8: {e}")))?;
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    if text.trim().is_empty() {
        return Ok(None);
    }
    let mut reader = NsReader::from_str(text);
    let mut stack: Vec<Node> = Vec::new();
    let mut root: Option<Node> = None;
    loop {
        match reader.read_event().map_err(malformed)? {
            Event::Start(e) => {
                if root.is_some() && stack.is_empty() {
                    return Err(XmlError::Malformed("more than one root element".into()));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(XmlError::Malformed(format!(
                        "nested deeper than {MAX_DEPTH}"
                    )));
                }
                let node = node_from_start(&reader, &e)?;
                stack.push(node);
            }
            Event::Empty(e) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(XmlError::Malformed(format!(
                        "nested deeper than {MAX_DEPTH}"
                    )));
                }
                let node = node_from_start(&reader, &e)?;
                close(&mut stack, &mut root, node)?;
            }
            Event::End(_) => {
                // quick-xml has already checked that the end tag matches.
                let node = stack
                    .pop()
                    .ok_or_else(|| XmlError::Malformed("unmatched end tag".into()))?;
                close(&mut stack, &mut root, node)?;
            }
            Event::Text(t) => push_text(&mut stack, &t.xml10_content())?,
            Event::CData(t) => {
                if stack.is_empty() {
                    return Err(XmlError::Malformed("CDATA outside the root element".into()));
                }
                push_text(&mut stack, &t.xml10_content())?;
            }
            Event::GeneralRef(r) => {
                if stack.is_empty() {
                    return Err(XmlError::Malformed(
                        "reference outside the root element".into(),
                    ));
                }
                let mut tmp = [0u8; 4];
                let s: &str = if let Some(c) = r.resolve_char_ref().map_err(malformed)? {
                    if c == '\u{FFFE}'
                        || c == '\u{FFFF}'
                        || (c < ' ' && !matches!(c, '\t' | '\n' | '\r'))
                    {
                        return Err(XmlError::Malformed(format!(
                            "illegal character reference &{};",
                            &*r
                        )));
                    }
                    c.encode_utf8(&mut tmp)
                } else if let Some(s) = predefined_entity(&r) {
                    s
                } else {
                    return Err(XmlError::Malformed(format!("undefined entity &{};", &*r)));
                };
                push_text(&mut stack, s)?;
            }
            Event::DocType(_) => return Err(XmlError::Malformed("DOCTYPE is not allowed".into())),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(XmlError::Malformed("unclosed element".into()));
    }
    root.ok_or_else(|| XmlError::Malformed("no root element".into()))
        .map(Some)
}

impl Node {
    /// Whether this element is `{ns}local`.
    pub fn is(&self, ns: &str, local: &str) -> bool {
        self.name.is(ns, local)
    }

    /// The child elements, in document order.
    pub fn elems(&self) -> impl Iterator<Item = &Node> {
        self.children.iter().filter_map(|c| match c {
            Child::Elem(n) => Some(n),
            Child::Text(_) => None,
        })
    }

    /// The first child element `{ns}local`.
    pub fn child(&self, ns: &str, local: &str) -> Option<&Node> {
        self.elems().find(|n| n.is(ns, local))
    }

    /// The value of the unprefixed (no-namespace) attribute `local`.
    pub fn attr(&self, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.ns.is_empty() && a.local == local)
            .map(|a| a.value.as_str())
    }

    /// The concatenated character data of the direct children.
    pub fn text(&self) -> String {
        let mut s = String::new();
        for c in &self.children {
            if let Child::Text(t) = c {
                s.push_str(t);
            }
        }
        s
    }

    /// Whether any child is an element.
    pub fn has_elements(&self) -> bool {
        self.elems().next().is_some()
    }

    /// Whether this element has the attribute `xml:lang`.
    fn lang(&self) -> Option<&Attr> {
        self.attrs
            .iter()
            .find(|a| a.prefix.as_deref() == Some("xml") && a.local == "lang")
    }

    /// This element itself serialised as self-contained XML, as a dead property is stored
    /// and returned (RFC 4918 §4.3): its prefix, attributes and the namespace
    /// declarations written on it, plus what it inherits from `ancestors` (outermost
    /// first): every namespace declaration in scope that it does not redeclare (a value
    /// may use prefixes in its text, as XPath or XML Schema do) and the `xml:lang` in
    /// scope when it has none of its own.
    ///
    /// Every element of the result declares the namespaces its name and attributes need
    /// unless an enclosing element of it already did, so the string means the same
    /// wherever it is pasted. Prefixes are kept as the client wrote them; an unprefixed
    /// element always has its default namespace in scope (`xmlns="…"` or `xmlns=""`).
    /// Comments and processing instructions are dropped; CDATA becomes escaped text.
    pub fn outer_xml(&self, ancestors: &[&Node]) -> String {
        let mut inherited: Vec<(String, String)> = Vec::new();
        let mut lang = None;
        for a in ancestors {
            for (p, ns) in &a.decls {
                inherited.retain(|(q, _)| q != p);
                inherited.push((p.clone(), ns.clone()));
            }
            if let Some(l) = a.lang() {
                lang = Some(l);
            }
        }
        let mut me = self.clone();
        for (p, ns) in inherited {
            if !me.decls.iter().any(|(q, _)| *q == p) {
                me.decls.push((p, ns));
            }
        }
        if me.lang().is_none()
            && let Some(l) = lang
        {
            me.attrs.push(l.clone());
        }
        let mut out = String::new();
        me.write_fragment(&mut out, &mut Vec::new());
        out
    }

    fn write_fragment(&self, out: &mut String, scope: &mut Vec<(String, String)>) {
        let mark = scope.len();
        // Declarations the client wrote here (minus XML 1.1 prefix undeclarations).
        let mut decls: Vec<(String, String)> = self
            .decls
            .iter()
            .filter(|(p, ns)| p.is_empty() || !ns.is_empty())
            .cloned()
            .collect();
        let ensure = |prefix: &str, ns: &str, decls: &mut Vec<(String, String)>| {
            if prefix == "xml" || decls.iter().any(|(p, _)| p == prefix) {
                return;
            }
            let bound = scope
                .iter()
                .rev()
                .find(|(p, _)| p == prefix)
                .map(|(_, n)| n.as_str());
            if bound != Some(ns) {
                decls.push((prefix.to_string(), ns.to_string()));
            }
        };
        ensure(
            self.prefix.as_deref().unwrap_or(""),
            &self.name.ns,
            &mut decls,
        );
        for a in &self.attrs {
            if let Some(p) = &a.prefix {
                ensure(p, &a.ns, &mut decls);
            }
        }
        out.push('<');
        push_name(out, self.prefix.as_deref(), &self.name.local);
        for (p, ns) in &decls {
            out.push_str(" xmlns");
            if !p.is_empty() {
                out.push(':');
                out.push_str(p);
            }
            out.push_str("=\"");
            out.push_str(&escape_attr(ns));
            out.push('"');
        }
        for a in &self.attrs {
            out.push(' ');
            push_name(out, a.prefix.as_deref(), &a.local);
            out.push_str("=\"");
            out.push_str(&escape_attr(&a.value));
            out.push('"');
        }
        if self.children.is_empty() {
            out.push_str("/>");
        } else {
            out.push('>');
            scope.extend(decls);
            for c in &self.children {
                match c {
                    Child::Text(t) => out.push_str(&escape_text(t)),
                    Child::Elem(n) => n.write_fragment(out, scope),
                }
            }
            out.push_str("</");
            push_name(out, self.prefix.as_deref(), &self.name.local);
            out.push('>');
        }
        scope.truncate(mark);
    }
}

fn push_name(out: &mut String, prefix: Option<&str>, local: &str) {
    if let Some(p) = prefix {
        out.push_str(p);
        out.push(':');
    }
    out.push_str(local);
}

/// Escaping for re-serialised character data (CR kept as a reference so it survives).
fn escape_text(s: &str) -> std::borrow::Cow<'_, str> {
    super::writer::escape(s)
}

/// Escaping for re-serialised attribute values; tab and LF are kept as references.
fn escape_attr(s: &str) -> std::borrow::Cow<'_, str> {
    super::writer::escape_attr(s)
}
