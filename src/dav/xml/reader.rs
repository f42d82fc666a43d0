//! Typed request bodies: PROPFIND, PROPPATCH, extended MKCOL and the REPORTs we serve.
//!
//! Every parser builds a namespace-resolved tree first (see `tree`, where DOCTYPEs,
//! undefined entities, unbound prefixes and deep nesting are refused), then walks it by
//! (namespace, local name). Unknown elements inside known structures are ignored
//! (RFC 4918 §17); a wrong root element is [`XmlError::Invalid`].
use super::tree::{self, Node};
use super::{NS_CALDAV, NS_CARDDAV, NS_DAV, QName, XmlError};
use crate::vcard::filter::{
    Collation, Filter, MatchType, ParamFilter, PropFilter, Test, TextMatch,
};

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
    let Some(root) = tree::parse(body)? else {
        return Ok(PropFind::AllProp {
            include: Vec::new(),
        });
    };
    expect_root(&root, NS_DAV, "propfind")?;
    propfind_of(&root)?
        .ok_or_else(|| XmlError::Invalid("propfind needs prop, allprop or propname".into()))
}

/// Parses a PROPPATCH body (`<D:propertyupdate>`).
pub fn parse_proppatch(body: &[u8]) -> Result<Vec<PatchOp>, XmlError> {
    let root =
        tree::parse(body)?.ok_or_else(|| XmlError::Invalid("PROPPATCH needs a body".into()))?;
    expect_root(&root, NS_DAV, "propertyupdate")?;
    let mut ops = Vec::new();
    let mut instructions = 0;
    for op in root.elems() {
        let set = if op.is(NS_DAV, "set") {
            true
        } else if op.is(NS_DAV, "remove") {
            false
        } else {
            continue;
        };
        instructions += 1;
        for prop in op.elems().filter(|e| e.is(NS_DAV, "prop")) {
            for p in prop.elems() {
                ops.push(if set {
                    set_op(p)
                } else {
                    PatchOp::Remove(p.name.clone())
                });
            }
        }
    }
    if instructions == 0 {
        return Err(XmlError::Invalid(
            "propertyupdate needs set or remove".into(),
        ));
    }
    Ok(ops)
}

/// Parses an extended MKCOL (`<D:mkcol>`) or MKCALENDAR (`<C:mkcalendar>`) body.
pub fn parse_mkcol(body: &[u8]) -> Result<MkcolBody, XmlError> {
    let Some(root) = tree::parse(body)? else {
        return Ok(MkcolBody::default());
    };
    if !root.is(NS_DAV, "mkcol") && !root.is(NS_CALDAV, "mkcalendar") {
        return Err(wrong_root(&root, "DAV:mkcol or CALDAV:mkcalendar"));
    }
    let mut out = MkcolBody::default();
    for set in root.elems().filter(|e| e.is(NS_DAV, "set")) {
        for prop in set.elems().filter(|e| e.is(NS_DAV, "prop")) {
            for p in prop.elems() {
                if p.is(NS_DAV, "resourcetype") {
                    out.resourcetype = Some(p.elems().map(|t| t.name.clone()).collect());
                } else {
                    out.props.push(set_op(p));
                }
            }
        }
    }
    Ok(out)
}

/// Parses a REPORT body.
pub fn parse_report(body: &[u8]) -> Result<Report, XmlError> {
    let root = tree::parse(body)?.ok_or_else(|| XmlError::Invalid("REPORT needs a body".into()))?;
    let ns = root.name.ns.as_str();
    let local = root.name.local.as_str();
    Ok(match (ns, local) {
        (NS_CARDDAV, "addressbook-multiget") => Report::AddressbookMultiget(Multiget {
            props: report_props(&root)?,
            hrefs: root
                .elems()
                .filter(|e| e.is(NS_DAV, "href"))
                .map(|e| e.text().trim().to_string())
                .collect(),
        }),
        (NS_CARDDAV, "addressbook-query") => {
            let filter = root
                .child(NS_CARDDAV, "filter")
                .ok_or_else(|| XmlError::Invalid("addressbook-query needs a filter".into()))?;
            Report::AddressbookQuery(AddressbookQuery {
                props: report_props(&root)?,
                filter: parse_filter(filter)?,
                limit: limit_of(&root, NS_CARDDAV)?,
            })
        }
        (NS_DAV, "sync-collection") => Report::SyncCollection(sync_collection(&root)?),
        (NS_DAV, "expand-property") => Report::ExpandProperty(
            root.elems()
                .filter(|e| e.is(NS_DAV, "property"))
                .filter_map(|e| {
                    let local = e.attr("name")?;
                    Some(QName::new(e.attr("namespace").unwrap_or(NS_DAV), local))
                })
                .collect(),
        ),
        (NS_DAV, "principal-property-search") => Report::PrincipalPropertySearch,
        (NS_DAV, "principal-search-property-set") => Report::PrincipalSearchPropertySet,
        _ => Report::Unknown(root.name.clone()),
    })
}

fn wrong_root(root: &Node, expected: &str) -> XmlError {
    XmlError::Invalid(format!(
        "expected {expected}, found {{{}}}{}",
        root.name.ns, root.name.local
    ))
}

fn expect_root(root: &Node, ns: &str, local: &str) -> Result<(), XmlError> {
    if root.is(ns, local) {
        Ok(())
    } else {
        Err(wrong_root(root, &format!("{{{ns}}}{local}")))
    }
}

/// A `set` instruction for one property element.
fn set_op(p: &Node) -> PatchOp {
    PatchOp::Set {
        name: p.name.clone(),
        value: p.inner_xml(),
        text: if p.has_elements() {
            None
        } else {
            Some(p.text())
        },
    }
}

/// The first `DAV:prop`, `DAV:allprop` (+ `DAV:include`) or `DAV:propname` child.
fn propfind_of(parent: &Node) -> Result<Option<PropFind>, XmlError> {
    for e in parent.elems() {
        if e.is(NS_DAV, "prop") {
            return Ok(Some(PropFind::Prop(
                e.elems().map(|p| p.name.clone()).collect(),
            )));
        }
        if e.is(NS_DAV, "allprop") {
            let include = parent
                .child(NS_DAV, "include")
                .map(|i| i.elems().map(|p| p.name.clone()).collect())
                .unwrap_or_default();
            return Ok(Some(PropFind::AllProp { include }));
        }
        if e.is(NS_DAV, "propname") {
            return Ok(Some(PropFind::PropName));
        }
    }
    Ok(None)
}

/// The property request of a REPORT; allprop when the report names none.
fn report_props(root: &Node) -> Result<ReportProps, XmlError> {
    let propfind = propfind_of(root)?.unwrap_or(PropFind::AllProp {
        include: Vec::new(),
    });
    let holder = match &propfind {
        PropFind::Prop(_) => root.child(NS_DAV, "prop"),
        PropFind::AllProp { .. } => root.child(NS_DAV, "include"),
        PropFind::PropName => None,
    };
    let address_data = holder
        .and_then(|h| h.child(NS_CARDDAV, "address-data"))
        .map(address_data_request);
    Ok(ReportProps {
        propfind,
        address_data,
    })
}

/// RFC 6352 §10.4 `address-data` as a request.
fn address_data_request(e: &Node) -> AddressDataRequest {
    let mut req = AddressDataRequest {
        content_type: e.attr("content-type").map(str::to_string),
        version: e.attr("version").map(str::to_string),
        ..AddressDataRequest::default()
    };
    for c in e.elems() {
        if c.is(NS_CARDDAV, "allprop") {
            req.allprop = true;
        } else if c.is(NS_CARDDAV, "prop")
            && let Some(name) = c.attr("name")
        {
            req.props.push(name.trim().to_ascii_uppercase());
        }
    }
    req
}

/// `<limit><nresults>n</nresults></limit>` in namespace `ns`.
fn limit_of(root: &Node, ns: &str) -> Result<Option<u64>, XmlError> {
    let Some(n) = root
        .child(ns, "limit")
        .and_then(|l| l.child(ns, "nresults"))
    else {
        return Ok(None);
    };
    let text = n.text();
    text.trim()
        .parse()
        .map(Some)
        .map_err(|_| XmlError::Invalid(format!("nresults is not a number: {text:?}")))
}

/// RFC 6578 §6.1 `sync-collection`.
fn sync_collection(root: &Node) -> Result<SyncCollection, XmlError> {
    let sync_token = root
        .child(NS_DAV, "sync-token")
        .map(|t| t.text().trim().to_string())
        .filter(|t| !t.is_empty());
    let sync_level = match root.child(NS_DAV, "sync-level") {
        Some(l) => {
            let level = l.text().trim().to_string();
            if level != "1" && level != "infinite" {
                return Err(XmlError::Invalid(format!("sync-level {level:?}")));
            }
            level
        }
        // RFC 6578 requires it; clients that omit it expect a flat listing.
        None => "1".to_string(),
    };
    Ok(SyncCollection {
        sync_token,
        sync_level,
        props: report_props(root)?,
        limit: limit_of(root, NS_DAV)?,
    })
}

/// The `test` attribute of `filter` / `prop-filter` (default anyof).
fn test_attr(e: &Node) -> Result<Test, XmlError> {
    match e.attr("test") {
        None | Some("anyof") => Ok(Test::AnyOf),
        Some("allof") => Ok(Test::AllOf),
        Some(other) => Err(XmlError::Invalid(format!("test=\"{other}\""))),
    }
}

/// RFC 6352 §10.5 `filter`.
fn parse_filter(e: &Node) -> Result<Filter, XmlError> {
    let mut filter = Filter {
        test: test_attr(e)?,
        prop_filters: Vec::new(),
    };
    for pf in e.elems().filter(|c| c.is(NS_CARDDAV, "prop-filter")) {
        filter.prop_filters.push(parse_prop_filter(pf)?);
    }
    Ok(filter)
}

/// The required, upper-cased `name` attribute of a prop- or param-filter.
fn filter_name(e: &Node) -> Result<String, XmlError> {
    let name = e
        .attr("name")
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| XmlError::Invalid(format!("{} without name", e.name.local)))?;
    Ok(name.to_ascii_uppercase())
}

fn parse_prop_filter(e: &Node) -> Result<PropFilter, XmlError> {
    let name = filter_name(e)?;
    // A group prefix ("item1.EMAIL") is not part of the property name.
    let name = match name.rsplit_once('.') {
        Some((_, n)) => n.to_string(),
        None => name,
    };
    let mut pf = PropFilter {
        name,
        test: test_attr(e)?,
        ..PropFilter::default()
    };
    for c in e.elems() {
        if c.is(NS_CARDDAV, "is-not-defined") {
            pf.is_not_defined = true;
        } else if c.is(NS_CARDDAV, "text-match") {
            pf.text_matches.push(parse_text_match(c)?);
        } else if c.is(NS_CARDDAV, "param-filter") {
            pf.param_filters.push(parse_param_filter(c)?);
        }
    }
    Ok(pf)
}

fn parse_param_filter(e: &Node) -> Result<ParamFilter, XmlError> {
    let mut pf = ParamFilter {
        name: filter_name(e)?,
        ..ParamFilter::default()
    };
    for c in e.elems() {
        if c.is(NS_CARDDAV, "is-not-defined") {
            pf.is_not_defined = true;
        } else if c.is(NS_CARDDAV, "text-match") && pf.text_match.is_none() {
            pf.text_match = Some(parse_text_match(c)?);
        }
    }
    Ok(pf)
}

fn parse_text_match(e: &Node) -> Result<TextMatch, XmlError> {
    let collation = match e.attr("collation") {
        None | Some("i;unicode-casemap") => Collation::UnicodeCasemap,
        Some("i;ascii-casemap") => Collation::AsciiCasemap,
        Some("i;octet") => Collation::Octet,
        Some(other) => return Err(XmlError::UnsupportedCollation(other.to_string())),
    };
    let negate = match e.attr("negate-condition") {
        None | Some("no") => false,
        Some("yes") => true,
        Some(other) => return Err(XmlError::Invalid(format!("negate-condition=\"{other}\""))),
    };
    let match_type = match e.attr("match-type") {
        None | Some("contains") => MatchType::Contains,
        Some("equals") => MatchType::Equals,
        Some("starts-with") => MatchType::StartsWith,
        Some("ends-with") => MatchType::EndsWith,
        Some(other) => {
            return Err(XmlError::UnsupportedFilter(format!(
                "match-type=\"{other}\""
            )));
        }
    };
    Ok(TextMatch {
        text: e.text(),
        collation,
        match_type,
        negate,
    })
}
