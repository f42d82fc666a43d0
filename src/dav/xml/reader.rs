//! Typed request bodies: PROPFIND, PROPPATCH, extended MKCOL and the REPORTs we serve.
use super::{QName, XmlError};
use crate::vcard::filter::Filter;

/// RFC 4918 §9.1 PROPFIND body. An empty body means `AllProp { include: [] }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropFind {
    /// `<D:prop>` with the requested names.
    Prop(Vec<QName>),
    /// `<D:allprop/>` with the names in an optional `<D:include>`.
    AllProp { include: Vec<QName> },
    /// `<D:propname/>`.
    PropName,
}

/// One instruction of a PROPPATCH (RFC 4918 §14.26), in document order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatchOp {
    /// `<D:set><D:prop><x:name>…</x:name>`: `value` is the inner XML of the property
    /// element re-serialised with every namespace it uses declared (so it can be stored
    /// and returned verbatim); `text` is its text content when it has no child elements.
    Set {
        name: QName,
        value: String,
        text: Option<String>,
    },
    /// `<D:remove><D:prop><x:name/>`.
    Remove(QName),
}

/// RFC 5689 extended MKCOL body (`<D:mkcol><D:set><D:prop>…`), also MKCALENDAR's.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MkcolBody {
    /// The `DAV:resourcetype` children, if given.
    pub resourcetype: Option<Vec<QName>>,
    /// Every other property to set, as in PROPPATCH.
    pub props: Vec<PatchOp>,
}

/// What `CARDDAV:address-data` asks for (RFC 6352 §10.4).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AddressDataRequest {
    /// `content-type` attribute (default `text/vcard`).
    pub content_type: Option<String>,
    /// `version` attribute (`3.0` / `4.0`), if any.
    pub version: Option<String>,
    /// `<C:prop name="…"/>` children: upper-cased vCard property names; empty = all.
    pub props: Vec<String>,
    /// `<C:allprop/>` given explicitly.
    pub allprop: bool,
}

/// The properties a REPORT asks for, plus the CardDAV address-data request if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportProps {
    pub propfind: PropFind,
    /// Set when `CARDDAV:address-data` is among the requested properties.
    pub address_data: Option<AddressDataRequest>,
}

/// RFC 6352 §8.7 `addressbook-multiget`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Multiget {
    pub props: ReportProps,
    /// The `DAV:href` values, as sent (not yet decoded or resolved).
    pub hrefs: Vec<String>,
}

/// RFC 6352 §8.6 `addressbook-query`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressbookQuery {
    pub props: ReportProps,
    pub filter: Filter,
    /// `<C:limit><C:nresults>`.
    pub limit: Option<u64>,
}

/// RFC 6578 §3.2 `sync-collection`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncCollection {
    /// Token text; `None` when the element is empty (an initial sync; DAVx5 sends
    /// `<sync-token/>`).
    pub sync_token: Option<String>,
    /// `DAV:sync-level`: "1" or "infinite".
    pub sync_level: String,
    pub props: ReportProps,
    /// `<D:limit><D:nresults>`.
    pub limit: Option<u64>,
}

/// A REPORT body, by its root element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    AddressbookMultiget(Multiget),
    AddressbookQuery(AddressbookQuery),
    SyncCollection(SyncCollection),
    /// RFC 3253 / RFC 3744 reports some clients probe; answered with a fixed response or
    /// 403 `DAV:supported-report`.
    ExpandProperty(Vec<QName>),
    PrincipalPropertySearch,
    PrincipalSearchPropertySet,
    /// Any other root: 403 with `DAV:supported-report`.
    Unknown(QName),
}

/// Parses a PROPFIND body; an empty (or whitespace-only) body is allprop.
pub fn parse_propfind(body: &[u8]) -> Result<PropFind, XmlError> {
    let _ = body;
    Err(XmlError::Malformed("not implemented".into()))
}

/// Parses a PROPPATCH body (`<D:propertyupdate>`).
pub fn parse_proppatch(body: &[u8]) -> Result<Vec<PatchOp>, XmlError> {
    let _ = body;
    Err(XmlError::Malformed("not implemented".into()))
}

/// Parses an extended MKCOL (`<D:mkcol>`) or MKCALENDAR (`<C:mkcalendar>`) body.
pub fn parse_mkcol(body: &[u8]) -> Result<MkcolBody, XmlError> {
    let _ = body;
    Err(XmlError::Malformed("not implemented".into()))
}

/// Parses a REPORT body.
pub fn parse_report(body: &[u8]) -> Result<Report, XmlError> {
    let _ = body;
    Err(XmlError::Malformed("not implemented".into()))
}
