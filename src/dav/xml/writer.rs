//! Multistatus and error bodies (RFC 4918 §13, §16), written straight into a `String`.
//!
//! The root declares the fixed prefixes `D` (DAV:), `C` (CardDAV), `CAL` (CalDAV), `CS`
//! (calendarserver.org) and `ICAL` (apple.com/ns/ical); any other namespace is declared
//! on the element that uses it. Text is escaped; `Content::Xml` is trusted inner XML that
//! our own reader produced (self-contained: it declares every prefix it uses).
use std::borrow::Cow;

use super::{NS_APPLE_ICAL, NS_CALDAV, NS_CALSERVER, NS_CARDDAV, NS_DAV, QName};

/// The content of one property element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// `<x:name/>`.
    Empty,
    /// Escaped text.
    Text(String),
    /// One `<D:href>` per entry (values written as given; callers percent-encode).
    Hrefs(Vec<String>),
    /// Child elements without content, e.g. `resourcetype` or `supported-report-set` parts.
    Elements(Vec<Element>),
    /// Inner XML written verbatim (dead properties as stored).
    Xml(String),
}

/// A generic element tree for the structured live properties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    pub name: QName,
    pub attrs: Vec<(String, String)>,
    pub content: Content,
}

impl Element {
    pub fn empty(name: QName) -> Self {
        Element {
            name,
            attrs: Vec::new(),
            content: Content::Empty,
        }
    }
    pub fn new(name: QName, content: Content) -> Self {
        Element {
            name,
            attrs: Vec::new(),
            content,
        }
    }
}

/// A property with its value, for a 200 propstat; for other statuses only the name is
/// written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prop {
    pub name: QName,
    pub content: Content,
}

/// A `<D:propstat>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropStat {
    pub status: u16,
    pub props: Vec<Prop>,
}

/// One `<D:response>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// `<D:href/>` + `<D:propstat>`s (propstats with no props are skipped).
    PropStats {
        href: String,
        propstats: Vec<PropStat>,
    },
    /// `<D:href/>` + `<D:status>` (e.g. a 404 for a deleted member in sync-collection, a
    /// 507 for a truncated listing), with an optional `<D:error>` child element.
    Status {
        href: String,
        status: u16,
        error: Option<Element>,
    },
}

/// The XML declaration every body starts with.
const XML_DECL: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n";

/// Declarations of the fixed prefixes, placed on the root element.
const ROOT_NS: &str = " xmlns:D=\"DAV:\" xmlns:C=\"urn:ietf:params:xml:ns:carddav\" \
xmlns:CAL=\"urn:ietf:params:xml:ns:caldav\" xmlns:CS=\"http://calendarserver.org/ns/\" \
xmlns:ICAL=\"http://apple.com/ns/ical/\"";

/// The prefix the root element binds to `ns`, if any.
fn fixed_prefix(ns: &str) -> Option<&'static str> {
    match ns {
        NS_DAV => Some("D"),
        NS_CARDDAV => Some("C"),
        NS_CALDAV => Some("CAL"),
        NS_CALSERVER => Some("CS"),
        NS_APPLE_ICAL => Some("ICAL"),
        _ => None,
    }
}

/// Streams a multistatus into a string: `begin`, then `response` per member, then
/// `finish` with the optional `DAV:sync-token`.
pub struct MultistatusWriter {
    buf: String,
}

impl MultistatusWriter {
    /// Starts the document: XML declaration and the `<D:multistatus>` start tag.
    pub fn begin() -> Self {
        let mut buf = String::with_capacity(4096);
        buf.push_str(XML_DECL);
        buf.push_str("<D:multistatus");
        buf.push_str(ROOT_NS);
        buf.push_str(">\n");
        MultistatusWriter { buf }
    }

    /// Appends one `<D:response>`.
    pub fn response(&mut self, r: &Response) {
        let buf = &mut self.buf;
        buf.push_str("<D:response><D:href>");
        match r {
            Response::PropStats { href, propstats } => {
                buf.push_str(&escape(href));
                buf.push_str("</D:href>");
                for ps in propstats.iter().filter(|ps| !ps.props.is_empty()) {
                    buf.push_str("<D:propstat><D:prop>");
                    let mut scope = Vec::new();
                    for p in &ps.props {
                        if ps.status == 200 {
                            write_element(buf, &p.name, &[], &p.content, &mut scope);
                        } else {
                            write_element(buf, &p.name, &[], &Content::Empty, &mut scope);
                        }
                    }
                    buf.push_str("</D:prop>");
                    write_status(buf, ps.status);
                    buf.push_str("</D:propstat>");
                }
            }
            Response::Status {
                href,
                status,
                error,
            } => {
                buf.push_str(&escape(href));
                buf.push_str("</D:href>");
                write_status(buf, *status);
                if let Some(e) = error {
                    buf.push_str("<D:error>");
                    write_element(buf, &e.name, &e.attrs, &e.content, &mut Vec::new());
                    buf.push_str("</D:error>");
                }
            }
        }
        buf.push_str("</D:response>\n");
    }

    /// Closes the document, writing `<D:sync-token>` (RFC 6578 §6.4) when given.
    pub fn finish(mut self, sync_token: Option<&str>) -> String {
        if let Some(token) = sync_token {
            self.buf.push_str("<D:sync-token>");
            self.buf.push_str(&escape(token));
            self.buf.push_str("</D:sync-token>\n");
        }
        self.buf.push_str("</D:multistatus>\n");
        self.buf
    }
}

/// `<D:status>HTTP/1.1 200 OK</D:status>`.
fn write_status(buf: &mut String, status: u16) {
    buf.push_str("<D:status>HTTP/1.1 ");
    push_u16(buf, status);
    buf.push(' ');
    buf.push_str(reason(status));
    buf.push_str("</D:status>");
}

fn push_u16(buf: &mut String, n: u16) {
    use std::fmt::Write;
    // Writing into a String cannot fail.
    let _ = write!(buf, "{n}");
}

/// Writes one element. `scope` holds the foreign-namespace prefixes (`X0`, `X1`, …)
/// declared by the enclosing elements written by this function.
fn write_element(
    buf: &mut String,
    name: &QName,
    attrs: &[(String, String)],
    content: &Content,
    scope: &mut Vec<String>,
) {
    let mark = scope.len();
    buf.push('<');
    let prefix: Option<Cow<'static, str>> = if name.ns.is_empty() {
        None
    } else if let Some(p) = fixed_prefix(&name.ns) {
        Some(Cow::Borrowed(p))
    } else if let Some(i) = scope.iter().position(|ns| *ns == name.ns) {
        Some(Cow::Owned(format!("X{i}")))
    } else {
        Some(Cow::Owned(format!("X{}", scope.len())))
    };
    if let Some(p) = &prefix {
        buf.push_str(p);
        buf.push(':');
    }
    buf.push_str(&name.local);
    // A foreign namespace not yet in scope: declare it here.
    if !name.ns.is_empty() && fixed_prefix(&name.ns).is_none() && !scope.contains(&name.ns) {
        buf.push_str(" xmlns:");
        buf.push_str(prefix.as_deref().unwrap_or_default());
        buf.push_str("=\"");
        buf.push_str(&escape_attr(&name.ns));
        buf.push('"');
        scope.push(name.ns.clone());
    }
    for (k, v) in attrs {
        buf.push(' ');
        buf.push_str(k);
        buf.push_str("=\"");
        buf.push_str(&escape_attr(v));
        buf.push('"');
    }
    match content {
        Content::Empty => buf.push_str("/>"),
        Content::Text(t) => {
            buf.push('>');
            buf.push_str(&escape(t));
        }
        Content::Hrefs(hrefs) => {
            buf.push('>');
            for h in hrefs {
                buf.push_str("<D:href>");
                buf.push_str(&escape(h));
                buf.push_str("</D:href>");
            }
        }
        Content::Elements(children) => {
            buf.push('>');
            for c in children {
                write_element(buf, &c.name, &c.attrs, &c.content, scope);
            }
        }
        Content::Xml(xml) => {
            buf.push('>');
            buf.push_str(xml);
        }
    }
    if !matches!(content, Content::Empty) {
        buf.push_str("</");
        if let Some(p) = &prefix {
            buf.push_str(p);
            buf.push(':');
        }
        buf.push_str(&name.local);
        buf.push('>');
    }
    scope.truncate(mark);
}

/// A `<D:error>` body with one condition element (RFC 4918 §16).
pub fn error_body(condition: &Element) -> String {
    let mut buf = String::with_capacity(256);
    buf.push_str(XML_DECL);
    buf.push_str("<D:error");
    buf.push_str(ROOT_NS);
    buf.push('>');
    write_element(
        &mut buf,
        &condition.name,
        &condition.attrs,
        &condition.content,
        &mut Vec::new(),
    );
    buf.push_str("</D:error>\n");
    buf
}

/// Whether `c` may not appear literally in XML 1.0 (neither as text nor as a character
/// reference): C0 controls other than tab, LF and CR, and the non-characters U+FFFE/FFFF.
fn is_forbidden(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}')
}

/// Escapes with the given extra rule for whitespace characters.
fn escape_impl(s: &str, attr: bool) -> Cow<'_, str> {
    let needs = |c: char| {
        matches!(c, '<' | '>' | '&' | '"' | '\r')
            || (attr && matches!(c, '\n' | '\t'))
            || is_forbidden(c)
    };
    let Some(first) = s.find(needs) else {
        return Cow::Borrowed(s);
    };
    let mut out = String::with_capacity(s.len() + 16);
    out.push_str(&s[..first]);
    for c in s[first..].chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\r' => out.push_str("&#13;"),
            '\n' if attr => out.push_str("&#10;"),
            '\t' if attr => out.push_str("&#9;"),
            c if is_forbidden(c) => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Escapes text for element content and attribute values.
///
/// `<`, `>`, `&` and `"` become entity references and CR becomes `&#13;` (so a vCard's
/// CRLF line ends survive XML end-of-line normalisation). Characters XML 1.0 cannot carry
/// at all (C0 controls other than tab/LF/CR, U+FFFE, U+FFFF) are replaced by U+FFFD.
/// Borrows when nothing needs escaping.
pub fn escape(s: &str) -> Cow<'_, str> {
    escape_impl(s, false)
}

/// Like [`escape`], and also protects LF and tab from attribute-value normalisation.
pub(crate) fn escape_attr(s: &str) -> Cow<'_, str> {
    escape_impl(s, true)
}

/// The reason phrase of an HTTP status (RFC 9110, RFC 4918 §11).
fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        207 => "Multi-Status",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Content",
        423 => "Locked",
        424 => "Failed Dependency",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        507 => "Insufficient Storage",
        _ => "Unknown",
    }
}

/// The reason phrase line for `<D:status>`: `HTTP/1.1 207 Multi-Status`.
pub fn status_line(status: u16) -> String {
    format!("HTTP/1.1 {status} {}", reason(status))
}
