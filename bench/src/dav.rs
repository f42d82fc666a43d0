//! A minimal CardDAV client: the requests the scenarios send, and just enough XML scanning
//! to read hrefs, ETags and sync tokens out of a multistatus (any namespace prefix).

use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use base64::Engine as _;
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderValue};

/// The server under test; decides how the address book is found or created.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    Dialbook,
    Radicale,
    Xandikos,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Dialbook => "dialbook",
            Kind::Radicale => "radicale",
            Kind::Xandikos => "xandikos",
        }
    }
}

pub struct Dav {
    http: reqwest::Client,
    /// Absolute URL of the address book, ending in `/`.
    pub book: String,
    auth: Option<HeaderValue>,
}

/// One answered request.
pub struct Resp {
    pub status: u16,
    pub etag: Option<String>,
    pub body: bytes::Bytes,
    pub elapsed: Duration,
}

impl Resp {
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap_or("")
    }
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

pub const PROPFIND_CTAG: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/"><D:prop><CS:getctag/><D:sync-token/></D:prop></D:propfind>"#;

pub const PROPFIND_LIST: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/><D:getetag/><D:getcontenttype/></D:prop></D:propfind>"#;

pub const MKCOL_ADDRESSBOOK: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop><D:resourcetype><D:collection/><C:addressbook/></D:resourcetype><D:displayname>Contacts</D:displayname></D:prop></D:set></D:mkcol>"#;

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn xml_unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

pub fn multiget_body(hrefs: &[String]) -> String {
    let mut b = String::from(
        r#"<?xml version="1.0" encoding="utf-8"?>
<C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><C:address-data/></D:prop>"#,
    );
    for h in hrefs {
        b.push_str("<D:href>");
        b.push_str(&xml_escape(h));
        b.push_str("</D:href>");
    }
    b.push_str("</C:addressbook-multiget>");
    b
}

pub fn sync_body(token: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<D:sync-collection xmlns:D="DAV:"><D:sync-token>{}</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>"#,
        xml_escape(token)
    )
}

/// Byte ranges of the contents of every element whose local name is `local`, in document
/// order (`<x>`, `<p:x>`, `<x attr="…">`; a self-closing `<x/>` gives an empty range).
fn element_spans(doc: &str, local: &str) -> Vec<(usize, usize)> {
    let b = doc.as_bytes();
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(off) = doc[pos..].find('<') {
        let start = pos + off;
        pos = start + 1;
        if b.get(pos) == Some(&b'/') || b.get(pos) == Some(&b'?') || b.get(pos) == Some(&b'!') {
            continue;
        }
        let Some(gt) = doc[pos..].find('>') else {
            break;
        };
        let tag = &doc[pos..pos + gt];
        let self_closing = tag.ends_with('/');
        let name = tag
            .trim_end_matches('/')
            .split(|c: char| c.is_ascii_whitespace())
            .next()
            .unwrap_or("");
        let (prefix, lname) = match name.rsplit_once(':') {
            Some((p, l)) => (Some(p), l),
            None => (None, name),
        };
        if lname != local {
            continue;
        }
        let content_start = pos + gt + 1;
        if self_closing {
            out.push((content_start, content_start));
            pos = content_start;
            continue;
        }
        let close = match prefix {
            Some(p) => format!("</{p}:{local}>"),
            None => format!("</{local}>"),
        };
        let Some(end) = doc[content_start..].find(&close) else {
            break;
        };
        out.push((content_start, content_start + end));
        pos = content_start + end + close.len();
    }
    out
}

/// The text of the first element named `local`.
pub fn first_text(doc: &str, local: &str) -> Option<String> {
    element_spans(doc, local)
        .first()
        .map(|&(s, e)| xml_unescape(doc[s..e].trim()))
}

/// One `response` of a multistatus.
pub struct Entry {
    pub href: String,
    pub etag: Option<String>,
}

pub fn entries(doc: &str) -> Vec<Entry> {
    element_spans(doc, "response")
        .into_iter()
        .filter_map(|(s, e)| {
            let r = &doc[s..e];
            let href = first_text(r, "href")?;
            let etag = first_text(r, "getetag").filter(|t| !t.is_empty());
            Some(Entry { href, etag })
        })
        .collect()
}

/// Whether a sync-collection answer was truncated (RFC 6578 §3.6: a response with 507).
pub fn truncated(doc: &str) -> bool {
    element_spans(doc, "status")
        .into_iter()
        .any(|(s, e)| doc[s..e].contains(" 507"))
}

impl Dav {
    pub fn new(book: &str, user: Option<&str>, password: Option<&str>) -> Result<Dav> {
        let book = if book.ends_with('/') {
            book.to_string()
        } else {
            format!("{book}/")
        };
        let rest = book
            .strip_prefix("http://")
            .ok_or_else(|| anyhow!("only http:// URLs: {book}"))?;
        let host = rest.split('/').next().unwrap_or("");
        if !(host.starts_with("127.0.0.1:")
            || host.starts_with("localhost:")
            || host.starts_with("[::1]:"))
        {
            return Err(anyhow!("refusing a non-local URL: {book}"));
        }
        let auth = match user {
            Some(u) => {
                let raw = format!("{u}:{}", password.unwrap_or(""));
                let v = format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(raw)
                );
                Some(HeaderValue::from_str(&v)?)
            }
            None => None,
        };
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(128)
            .timeout(Duration::from_secs(600))
            .no_proxy()
            .build()?;
        Ok(Dav { http, book, auth })
    }

    /// The URL of member `name` of the book.
    pub fn member(&self, name: &str) -> String {
        format!("{}{}", self.book, name)
    }

    pub async fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(&'static str, &str)],
        body: Option<String>,
    ) -> Result<Resp> {
        let m = Method::from_bytes(method.as_bytes())?;
        let mut h = HeaderMap::new();
        if let Some(a) = &self.auth {
            h.insert(reqwest::header::AUTHORIZATION, a.clone());
        }
        for (k, v) in headers {
            h.insert(*k, HeaderValue::from_str(v)?);
        }
        let mut rb = self.http.request(m, url).headers(h);
        if let Some(b) = body {
            rb = rb.body(b);
        }
        let t = Instant::now();
        let r = rb.send().await.with_context(|| format!("{method} {url}"))?;
        let status = r.status().as_u16();
        let etag = r
            .headers()
            .get(reqwest::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = r
            .bytes()
            .await
            .with_context(|| format!("{method} {url}: body"))?;
        Ok(Resp {
            status,
            etag,
            body,
            elapsed: t.elapsed(),
        })
    }

    pub async fn put(
        &self,
        url: &str,
        card: String,
        cond: Option<(&'static str, &str)>,
    ) -> Result<Resp> {
        let mut h = vec![("content-type", "text/vcard; charset=utf-8")];
        if let Some(c) = cond {
            h.push(c);
        }
        self.send("PUT", url, &h, Some(card)).await
    }

    pub async fn get(&self, url: &str) -> Result<Resp> {
        self.send("GET", url, &[], None).await
    }

    pub async fn propfind(&self, url: &str, depth: &str, body: &str) -> Result<Resp> {
        self.send(
            "PROPFIND",
            url,
            &[
                ("depth", depth),
                ("content-type", "application/xml; charset=utf-8"),
            ],
            Some(body.to_string()),
        )
        .await
    }

    pub async fn report(&self, url: &str, depth: &str, body: String) -> Result<Resp> {
        self.send(
            "REPORT",
            url,
            &[
                ("depth", depth),
                ("content-type", "application/xml; charset=utf-8"),
            ],
            Some(body),
        )
        .await
    }

    /// RFC 6578 sync-collection from `token` ("" for the initial sync).
    pub async fn sync(&self, token: &str) -> Result<Resp> {
        self.report(&self.book, "0", sync_body(token)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_any_prefix() {
        let doc = r#"<ns0:multistatus xmlns:ns0="DAV:"><ns0:response><ns0:href>/a/b.vcf</ns0:href><ns0:propstat><ns0:prop><ns0:getetag>"x"</ns0:getetag></ns0:prop></ns0:propstat></ns0:response><response><href>/a/c&amp;d.vcf</href><status>HTTP/1.1 404 Not Found</status></response><ns0:sync-token>tok</ns0:sync-token></ns0:multistatus>"#;
        let e = entries(doc);
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].href, "/a/b.vcf");
        assert_eq!(e[0].etag.as_deref(), Some("\"x\""));
        assert_eq!(e[1].href, "/a/c&d.vcf");
        assert!(e[1].etag.is_none());
        assert_eq!(first_text(doc, "sync-token").as_deref(), Some("tok"));
        assert!(
            first_text("<a><D:getetag/></a>", "getetag")
                .unwrap()
                .is_empty()
        );
    }
}
