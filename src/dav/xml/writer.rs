//! Multistatus and error bodies (RFC 4918 §13, §16), written straight into a `String`.
//!
//! The root declares the fixed prefixes `D` (DAV:), `C` (CardDAV), `CAL` (CalDAV), `CS`
//! (calendarserver.org) and `ICAL` (apple.com/ns/ical); any other namespace is declared
//! on the element that uses it. Text is escaped; `Content::Xml` is trusted inner XML that
//! our own reader produced (self-contained: it declares every prefix it uses).
use super::QName;

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

/// Streams a multistatus into a string: `begin`, then `response` per member, then
/// `finish` with the optional `DAV:sync-token`.
pub struct MultistatusWriter {
    buf: String,
}

impl MultistatusWriter {
    pub fn begin() -> Self {
        let _ = ();
        MultistatusWriter { buf: String::new() }
    }
    pub fn response(&mut self, r: &Response) {
        let _ = r;
    }
    pub fn finish(self, sync_token: Option<&str>) -> String {
        let _ = sync_token;
        self.buf
    }
}

/// A `<D:error>` body with one condition element (RFC 4918 §16).
pub fn error_body(condition: &Element) -> String {
    let _ = condition;
    String::new()
}

/// Escapes text for element content and attribute values.
pub fn escape(s: &str) -> std::borrow::Cow<'_, str> {
    std::borrow::Cow::Borrowed(s)
}

/// The reason phrase line for `<D:status>`: `HTTP/1.1 207 Multi-Status`.
pub fn status_line(status: u16) -> String {
    format!("HTTP/1.1 {status}")
}
