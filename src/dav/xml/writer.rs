//! Multistatus and error bodies (RFC 4918 §13, §16), written straight into a `String`.
//!
//! The root declares the fixed prefixes `D` (DAV:), `C` (CardDAV), `CAL` (CalDAV), `CS`
//! (calendarserver.org) and `ICAL` (apple.com/ns/ical); any other namespace is declared
//! on the element that uses it. Text is escaped; `Content::Whole` is a trusted whole
//! element our own reader produced (self-contained: it declares every prefix it uses).
use std::borrow::Cow;

use super::{NS_APPLE_ICAL, NS_CALDAV, NS_CALSERVER, NS_CARDDAV, NS_DAV, NS_DIALBOOK, QName};

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
    /// The whole element, written verbatim in place of one built from the name: a dead
    /// property as stored, with its own prefix, attributes and declarations (RFC 4918
    /// §4.3). Only for a 200 propstat; other statuses write the name alone.
    Whole(String),
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
    /// An optional `<D:error>` condition after the status (RFC 4918 §14.22), e.g.
    /// `cannot-modify-protected-property` on a refused PROPPATCH.
    pub error: Option<Element>,
}

/// One `<D:response>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// `<D:href/>` + `<D:propstat>`s, each written as given (one with no props is an empty
    /// `<D:prop/>` with its status: RFC 6578 §3.2 answers an empty `DAV:prop` that way).
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
                for ps in propstats {
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
                    if let Some(e) = &ps.error {
                        buf.push_str("<D:error>");
                        write_element(buf, &e.name, &e.attrs, &e.content, &mut Vec::new());
                        buf.push_str("</D:error>");
                    }
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
    if let Content::Whole(xml) = content {
        buf.push_str(xml);
        return;
    }
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
        // Handled above: the element is written as it is.
        Content::Whole(_) => {}
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

/// A dead property's stored form (see [`Content::Whole`]) for a text value: the element
/// with its namespace declared on itself, e.g. `<D:displayname xmlns:D="DAV:">Contacts
/// </D:displayname>` for the server's own defaults.
pub fn text_property(name: &QName, text: &str) -> String {
    let text = escape(text);
    if name.ns.is_empty() {
        return format!("<{0} xmlns=\"\">{text}</{0}>", name.local);
    }
    let p = fixed_prefix(&name.ns).unwrap_or("X");
    format!(
        "<{p}:{0} xmlns:{p}=\"{1}\">{text}</{p}:{0}>",
        name.local,
        escape_attr(&name.ns)
    )
}

/// A `<D:error>` body (RFC 4918 §16): the condition element, and nothing else from the
/// `DAV:` namespace. A human-readable `reason`, when given, follows it as
/// `{urn:x-dialbook:ns}reason` (`D:error` admits elements of other namespaces, §14.5).
pub fn error_body(condition: &Element, reason: Option<&str>) -> String {
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
    if let Some(reason) = reason {
        write_element(
            &mut buf,
            &QName::new(NS_DIALBOOK, "reason"),
            &[],
            &Content::Text(reason.to_string()),
            &mut Vec::new(),
        );
    }
    buf.push_str("</D:error>\n");
    buf
}

/// Whether `c` may not appear literally in XML 1.0 (neither as text nor as a character
/// reference): C0 controls other than tab, LF and CR, and the non-characters U+FFFE/FFFF.
#[cfg(test)]
fn is_forbidden(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}')
}

/// Escapes with the given extra rule for whitespace characters.
///
/// Works on bytes and copies runs of ordinary text in one piece: every character that
/// needs attention is ASCII, except U+FFFE/U+FFFF (UTF-8 `EF BF BE`/`EF BF BF`), so
/// only `0xEF` lead bytes need a closer look. This is the hot path of every multiget
/// (card bodies are full of CRLF).
fn escape_impl(s: &str, attr: bool) -> Cow<'_, str> {
    let bytes = s.as_bytes();
    let special = |b: u8| {
        matches!(b, b'<' | b'>' | b'&' | b'"' | b'\r' | 0xEF)
            || (b < 0x20 && (attr || !matches!(b, b'\n' | b'\t')))
    };
    let Some(first) = bytes.iter().position(|&b| special(b)) else {
        return Cow::Borrowed(s);
    };
    let mut out = String::with_capacity(s.len() + s.len() / 16 + 16);
    let mut last = 0;
    let mut i = first;
    while i < bytes.len() {
        let b = bytes[i];
        if !special(b) {
            i += 1;
            continue;
        }
        let (replacement, width) = match b {
            b'<' => ("&lt;", 1),
            b'>' => ("&gt;", 1),
            b'&' => ("&amp;", 1),
            b'"' => ("&quot;", 1),
            b'\r' => ("&#13;", 1),
            b'\n' => ("&#10;", 1),
            b'\t' => ("&#9;", 1),
            0xEF if bytes.get(i + 1) == Some(&0xBF)
                && matches!(bytes.get(i + 2), Some(0xBE | 0xBF)) =>
            {
                ("\u{FFFD}", 3)
            }
            // Any other character starting with 0xEF is ordinary text.
            0xEF => {
                i += 1;
                continue;
            }
            // C0 controls XML 1.0 cannot carry.
            _ => ("\u{FFFD}", 1),
        };
        out.push_str(&s[last..i]);
        out.push_str(replacement);
        i += width;
        last = i;
    }
    out.push_str(&s[last..]);
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

#[cfg(test)]
mod escape_tests {
    use super::*;

    /// The character-by-character definition the byte-level escaper must agree with.
    fn reference(s: &str, attr: bool) -> String {
        let mut out = String::new();
        for c in s.chars() {
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
        out
    }

    #[test]
    fn byte_level_escaping_matches_the_character_definition() {
        let samples = [
            "plain",
            "BEGIN:VCARD\r\nFN:Zoë <z@x> & \"co\"\r\nEND:VCARD\r\n",
            "ｱｲｳ half-width katakana (EF BD ..) and \u{FFFD} and \u{FFFE}\u{FFFF} end",
            "\u{0}\u{8}\u{B}\u{1F}\t\n",
            "日本語\r\n\u{EFFF}\u{F000}",
            "",
        ];
        for s in samples {
            for attr in [false, true] {
                assert_eq!(
                    escape_impl(s, attr),
                    reference(s, attr),
                    "{s:?} attr={attr}"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dav::xml::test_support::{infoset, inner_infoset};

    fn dav(local: &str) -> QName {
        QName::dav(local)
    }

    fn one(r: Response, token: Option<&str>) -> String {
        let mut w = MultistatusWriter::begin();
        w.response(&r);
        w.finish(token)
    }

    #[test]
    fn status_line_has_reason_phrases() {
        assert_eq!(status_line(200), "HTTP/1.1 200 OK");
        assert_eq!(status_line(207), "HTTP/1.1 207 Multi-Status");
        assert_eq!(status_line(403), "HTTP/1.1 403 Forbidden");
        assert_eq!(status_line(404), "HTTP/1.1 404 Not Found");
        assert_eq!(status_line(409), "HTTP/1.1 409 Conflict");
        assert_eq!(status_line(412), "HTTP/1.1 412 Precondition Failed");
        assert_eq!(status_line(424), "HTTP/1.1 424 Failed Dependency");
        assert_eq!(status_line(507), "HTTP/1.1 507 Insufficient Storage");
    }

    #[test]
    fn escape_replaces_markup_characters() {
        assert_eq!(escape(r#"a<b>&"c"'"#), "a&lt;b&gt;&amp;&quot;c&quot;'");
    }

    #[test]
    fn escape_borrows_clean_text() {
        assert!(matches!(
            escape("plain text/é"),
            Cow::Borrowed("plain text/é")
        ));
    }

    #[test]
    fn escape_keeps_cr_and_drops_forbidden_controls() {
        assert_eq!(
            escape("BEGIN:VCARD\r\nFN:a\u{1}b\r\n"),
            "BEGIN:VCARD&#13;\nFN:a\u{FFFD}b&#13;\n"
        );
    }

    #[test]
    fn empty_multistatus_is_exact() {
        let out = MultistatusWriter::begin().finish(None);
        assert_eq!(
            out,
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:multistatus xmlns:D=\"DAV:\" \
             xmlns:C=\"urn:ietf:params:xml:ns:carddav\" xmlns:CAL=\"urn:ietf:params:xml:ns:caldav\" \
             xmlns:CS=\"http://calendarserver.org/ns/\" xmlns:ICAL=\"http://apple.com/ns/ical/\">\n\
             </D:multistatus>\n"
        );
    }

    #[test]
    fn propstat_response_is_exact() {
        let out = one(
            Response::PropStats {
                href: "/ab/".into(),
                propstats: vec![PropStat {
                    error: None,
                    status: 200,
                    props: vec![
                        Prop {
                            name: dav("displayname"),
                            content: Content::Text("Home".into()),
                        },
                        Prop {
                            name: dav("resourcetype"),
                            content: Content::Elements(vec![
                                Element::empty(dav("collection")),
                                Element::empty(QName::new(
                                    crate::dav::xml::NS_CARDDAV,
                                    "addressbook",
                                )),
                            ]),
                        },
                    ],
                }],
            },
            None,
        );
        let body = out
            .split_once(">\n")
            .unwrap()
            .1
            .split_once(">\n")
            .unwrap()
            .1;
        assert_eq!(
            body,
            "<D:response><D:href>/ab/</D:href><D:propstat><D:prop><D:displayname>Home</D:displayname>\
             <D:resourcetype><D:collection/><C:addressbook/></D:resourcetype></D:prop>\
             <D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>\n</D:multistatus>\n"
        );
    }

    #[test]
    fn multistatus_with_foreign_namespaces_is_well_formed() {
        let mut w = MultistatusWriter::begin();
        w.response(&Response::PropStats {
            href: "/ab/x.vcf".into(),
            propstats: vec![
                PropStat {
                    error: None,
                    status: 200,
                    props: vec![
                        Prop {
                            name: QName::new("urn:x", "color"),
                            content: Content::Text("#ff0000".into()),
                        },
                        Prop {
                            name: QName::new("urn:y", "outer"),
                            content: Content::Elements(vec![
                                Element::new(
                                    QName::new("urn:y", "same"),
                                    Content::Text("1".into()),
                                ),
                                Element {
                                    name: QName::new("urn:z", "other"),
                                    attrs: vec![("kind".into(), "a\"b".into())],
                                    content: Content::Elements(vec![Element::empty(QName::new(
                                        "urn:y", "deep",
                                    ))]),
                                },
                            ]),
                        },
                        Prop {
                            name: QName::new("", "bare"),
                            content: Content::Text("n".into()),
                        },
                        Prop {
                            name: QName::new(crate::dav::xml::NS_CALSERVER, "getctag"),
                            content: Content::Text("c1".into()),
                        },
                    ],
                },
                PropStat {
                    error: None,
                    status: 404,
                    props: vec![Prop {
                        name: QName::new("urn:x", "missing"),
                        content: Content::Empty,
                    }],
                },
            ],
        });
        let out = w.finish(None);
        let outer = inner_infoset(&out, "urn:y", "outer");
        assert_eq!(
            outer,
            vec![
                "<{urn:y}same>",
                "\"1\"",
                "</>",
                "<{urn:z}other {}kind=\"a\\\"b\">",
                "<{urn:y}deep>",
                "</>",
                "</>"
            ]
        );
        assert_eq!(inner_infoset(&out, "urn:x", "color"), vec!["\"#ff0000\""]);
        assert_eq!(inner_infoset(&out, "", "bare"), vec!["\"n\""]);
        assert_eq!(
            inner_infoset(&out, crate::dav::xml::NS_CALSERVER, "getctag"),
            vec!["\"c1\""]
        );
        assert!(out.contains("<CS:getctag>c1</CS:getctag>"));
        assert!(out.contains(r#"<X0:color xmlns:X0="urn:x">"#));
    }

    #[test]
    fn non_200_propstat_writes_names_only() {
        let out = one(
            Response::PropStats {
                href: "/ab/".into(),
                propstats: vec![PropStat {
                    error: None,
                    status: 403,
                    props: vec![Prop {
                        name: dav("displayname"),
                        content: Content::Text("secret".into()),
                    }],
                }],
            },
            None,
        );
        assert!(out.contains(
            "<D:propstat><D:prop><D:displayname/></D:prop><D:status>HTTP/1.1 403 Forbidden</D:status></D:propstat>"
        ));
        assert!(!out.contains("secret"));
    }

    #[test]
    fn propstat_without_props_is_an_empty_prop_with_its_status() {
        let out = one(
            Response::PropStats {
                href: "/ab/a.vcf".into(),
                propstats: vec![PropStat {
                    error: None,
                    status: 200,
                    props: vec![],
                }],
            },
            None,
        );
        assert_eq!(
            inner_infoset(&out, NS_DAV, "response"),
            vec![
                "<{DAV:}href>",
                "\"/ab/a.vcf\"",
                "</>",
                "<{DAV:}propstat>",
                "<{DAV:}prop>",
                "</>",
                "<{DAV:}status>",
                "\"HTTP/1.1 200 OK\"",
                "</>",
                "</>",
            ]
        );
    }

    #[test]
    fn status_response_for_deleted_member() {
        let out = one(
            Response::Status {
                href: "/ab/gone.vcf".into(),
                status: 404,
                error: None,
            },
            None,
        );
        assert!(out.contains(
            "<D:response><D:href>/ab/gone.vcf</D:href><D:status>HTTP/1.1 404 Not Found</D:status></D:response>"
        ));
        assert!(!out.contains("propstat"));
    }

    #[test]
    fn status_response_with_error_element() {
        let out = one(
            Response::Status {
                href: "/ab/".into(),
                status: 507,
                error: Some(Element::empty(dav("number-of-matches-within-limits"))),
            },
            None,
        );
        assert!(out.contains(
            "<D:status>HTTP/1.1 507 Insufficient Storage</D:status>\
             <D:error><D:number-of-matches-within-limits/></D:error></D:response>"
        ));
    }

    #[test]
    fn sync_token_follows_the_responses() {
        let out = one(
            Response::Status {
                href: "/ab/a.vcf".into(),
                status: 404,
                error: None,
            },
            Some("https://x/sync/7"),
        );
        let tokens = infoset(&out);
        let n = tokens.len();
        // sync-token is the last child of multistatus, after the last response.
        assert_eq!(
            tokens[n - 7..],
            [
                "</>",
                "\"\n\"",
                "<{DAV:}sync-token>",
                "\"https://x/sync/7\"",
                "</>",
                "\"\n\"",
                "</>"
            ]
        );
        let sync = out
            .find("<D:sync-token>https://x/sync/7</D:sync-token>")
            .unwrap();
        assert!(sync > out.rfind("</D:response>").unwrap());
        assert!(out[sync..].ends_with("</D:sync-token>\n</D:multistatus>\n"));
    }

    #[test]
    fn hrefs_and_text_are_escaped() {
        let out = one(
            Response::PropStats {
                href: "/ab/a&b<c>\".vcf".into(),
                propstats: vec![PropStat {
                    error: None,
                    status: 200,
                    props: vec![
                        Prop {
                            name: dav("displayname"),
                            content: Content::Text("Tom & \"Jerry\" <cartoons>".into()),
                        },
                        Prop {
                            name: dav("current-user-principal"),
                            content: Content::Hrefs(vec!["/p/?a=1&b=2".into()]),
                        },
                    ],
                }],
            },
            Some("t&1"),
        );
        assert!(out.contains("<D:href>/ab/a&amp;b&lt;c&gt;&quot;.vcf</D:href>"));
        assert!(out.contains(
            "<D:displayname>Tom &amp; &quot;Jerry&quot; &lt;cartoons&gt;</D:displayname>"
        ));
        assert_eq!(
            inner_infoset(&out, "DAV:", "displayname"),
            vec![r#""Tom & "Jerry" <cartoons>""#]
        );
        assert_eq!(
            inner_infoset(&out, "DAV:", "current-user-principal"),
            vec!["<{DAV:}href>", "\"/p/?a=1&b=2\"", "</>"]
        );
        assert_eq!(inner_infoset(&out, "DAV:", "sync-token"), vec!["\"t&1\""]);
    }

    #[test]
    fn address_data_crlf_survives_parsing() {
        let card = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:A\r\nEND:VCARD\r\n";
        let out = one(
            Response::PropStats {
                href: "/ab/a.vcf".into(),
                propstats: vec![PropStat {
                    error: None,
                    status: 200,
                    props: vec![Prop {
                        name: QName::new(crate::dav::xml::NS_CARDDAV, "address-data"),
                        content: Content::Text(card.into()),
                    }],
                }],
            },
            None,
        );
        assert_eq!(
            inner_infoset(&out, crate::dav::xml::NS_CARDDAV, "address-data"),
            vec![format!("\"{card}\"")]
        );
    }

    #[test]
    fn error_body_with_nested_condition() {
        let cond = Element::new(
            QName::new(crate::dav::xml::NS_CARDDAV, "no-uid-conflict"),
            Content::Hrefs(vec!["/ab/existing.vcf".into()]),
        );
        let out = error_body(&cond, None);
        assert!(
            out.starts_with(
                "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:error xmlns:D=\"DAV:\""
            )
        );
        assert!(out.contains(
            "<C:no-uid-conflict><D:href>/ab/existing.vcf</D:href></C:no-uid-conflict></D:error>"
        ));
        assert_eq!(
            infoset(&out),
            vec![
                "<{DAV:}error>",
                "<{urn:ietf:params:xml:ns:carddav}no-uid-conflict>",
                "<{DAV:}href>",
                "\"/ab/existing.vcf\"",
                "</>",
                "</>",
                "</>",
            ]
        );
    }

    #[test]
    fn error_body_with_foreign_condition_declares_it() {
        let out = error_body(&Element::empty(QName::new("urn:x", "limit")), None);
        assert!(out.contains(r#"<X0:limit xmlns:X0="urn:x"/>"#));
        assert_eq!(
            infoset(&out),
            vec!["<{DAV:}error>", "<{urn:x}limit>", "</>", "</>"]
        );
    }

    #[test]
    fn error_body_reason_is_a_dialbook_element_after_the_condition() {
        let out = error_body(
            &Element::empty(QName::new(
                crate::dav::xml::NS_CARDDAV,
                "valid-address-data",
            )),
            Some("no <VERSION> & more"),
        );
        assert_eq!(
            infoset(&out),
            vec![
                "<{DAV:}error>",
                "<{urn:ietf:params:xml:ns:carddav}valid-address-data>",
                "</>",
                "<{urn:x-dialbook:ns}reason>",
                "\"no <VERSION> & more\"",
                "</>",
                "</>",
            ]
        );
    }
}
