//! XML for WebDAV, CardDAV and RFC 6578: typed request bodies in, multistatus out.
//!
//! Reading uses quick-xml's `NsReader`, so elements are matched by (namespace, local
//! name), never by prefix. A `<!DOCTYPE` is refused outright and entities other than the
//! five predefined ones and character references are never expanded (RFC 4918 §20.6;
//! billion-laughs and external-entity attacks cannot reach us).
//!
//! Does not: decide statuses or touch storage. A parse failure is a [`XmlError`]; the
//! caller maps it to 400 (or 415/422 where the RFC says so).

pub mod reader;
#[cfg(test)]
mod test_support;
mod tree;
pub mod writer;

pub use reader::*;
pub use writer::*;

/// The DAV: namespace (RFC 4918).
pub const NS_DAV: &str = "DAV:";
/// CardDAV (RFC 6352).
pub const NS_CARDDAV: &str = "urn:ietf:params:xml:ns:carddav";
/// CalDAV (RFC 4791).
pub const NS_CALDAV: &str = "urn:ietf:params:xml:ns:caldav";
/// CalendarServer extensions (`getctag`).
pub const NS_CALSERVER: &str = "http://calendarserver.org/ns/";
/// Apple iCal extensions (calendar-color, calendar-order).
pub const NS_APPLE_ICAL: &str = "http://apple.com/ns/ical/";
/// dialbook's own extensions (conflict policy property, reconciliation report).
pub const NS_DIALBOOK: &str = "urn:x-dialbook:ns";

/// A qualified XML name. An empty namespace means "no namespace".
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QName {
    pub ns: String,
    pub local: String,
}

impl QName {
    pub fn new(ns: &str, local: &str) -> Self {
        QName {
            ns: ns.to_string(),
            local: local.to_string(),
        }
    }
    pub fn dav(local: &str) -> Self {
        Self::new(NS_DAV, local)
    }
    pub fn is(&self, ns: &str, local: &str) -> bool {
        self.ns == ns && self.local == local
    }
}

/// Why a request body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    /// Not well-formed XML, a DOCTYPE, an undefined entity or prefix, bad UTF-8.
    #[error("malformed XML: {0}")]
    Malformed(String),
    /// Well-formed, but not the element structure the method expects (wrong root,
    /// missing required child, invalid enumerated value).
    #[error("unexpected XML: {0}")]
    Invalid(String),
    /// A CardDAV filter uses a collation we do not support (RFC 6352 §8.3:
    /// `CARDDAV:supported-collation`).
    #[error("unsupported collation {0}")]
    UnsupportedCollation(String),
    /// A filter uses an unsupported `match-type` or other filter feature (RFC 6352
    /// §10.5: `CARDDAV:supported-filter`).
    #[error("unsupported filter: {0}")]
    UnsupportedFilter(String),
}
