//! Typed request bodies: PROPFIND, PROPPATCH, extended MKCOL and the REPORTs we serve.
//!
//! Every parser builds a namespace-resolved tree first (see `tree`, where DOCTYPEs,
//! undefined entities, unbound prefixes and deep nesting are refused), then walks it by
//! (namespace, local name). Unknown elements inside known structures are ignored
//! (RFC 4918 §17); a wrong root element is [`XmlError::Invalid`].
use super::tree::{self, Node};
use super::{NS_CALDAV, NS_CARDDAV, NS_DAV, NS_DIALBOOK, QName, XmlError};
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
    /// `<D:set><D:prop><x:name>…</x:name>`: `value` is the property element itself,
    /// re-serialised self-contained with its attributes, its namespace declarations and
    /// those in scope, and the `xml:lang` in scope (RFC 4918 §4.3), so it can be stored
    /// and returned verbatim; `text` is its text content when it has no child elements.
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

/// One client card in a reconciliation request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCard {
    pub uid: String,
    /// Lower-case hex, as `vcard::merge::fingerprint` computes it.
    pub fingerprint: String,
}

/// What a `principal-match` matches the current user against (RFC 3744 §9.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalMatchOn {
    /// `DAV:self`: members that are the current user's principal.
    Itself,
    /// `DAV:principal-property`: members whose property (an href) names that principal.
    Property(QName),
}

/// RFC 3744 §9.3 `principal-match`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalMatch {
    pub on: PrincipalMatchOn,
    /// The `DAV:prop` to report for each match, if given.
    pub prop: Option<Vec<QName>>,
}

/// One `DAV:property-search` of a `principal-property-search`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertySearch {
    /// The properties searched (any of them may hold the match).
    pub props: Vec<QName>,
    /// The `DAV:match` text.
    pub text: String,
    /// The `match-type` attribute of `DAV:match` (a CalendarServer extension clients
    /// send); `contains` when absent, as RFC 3744 §9.4 prefers.
    pub match_type: MatchType,
}

/// RFC 3744 §9.4 `principal-property-search`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalPropertySearch {
    pub searches: Vec<PropertySearch>,
    /// `test="anyof"` on the root (a CalendarServer extension); RFC 3744's default is
    /// that every `property-search` must match.
    pub any_of: bool,
    /// The `DAV:prop` to report for each principal found, if given.
    pub prop: Option<Vec<QName>>,
    /// `DAV:apply-to-principal-collection-set`.
    pub apply_to_principal_collection_set: bool,
}

/// A REPORT body, by its root element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    AddressbookMultiget(Multiget),
    AddressbookQuery(AddressbookQuery),
    SyncCollection(SyncCollection),
    /// RFC 3253 §3.8, which some clients probe on the principal; answered with a fixed
    /// response.
    ExpandProperty(Vec<QName>),
    /// RFC 3744 §9.2: the properties (of the one `DAV:prop`) to report for each principal
    /// in the resource's ACL.
    AclPrincipalPropSet(Vec<QName>),
    /// RFC 3744 §9.3.
    PrincipalMatch(PrincipalMatch),
    /// RFC 3744 §9.4.
    PrincipalPropertySearch(PrincipalPropertySearch),
    /// RFC 3744 §9.5 (the body is an empty element).
    PrincipalSearchPropertySet,
    /// dialbook's fingerprint reconciliation (seed 004, `docs/merge.md`): the client's
    /// cards as (UID, content fingerprint) pairs.
    Reconcile(Vec<ClientCard>),
    /// Any other root: 403 with `DAV:supported-report`.
    Unknown(QName),
}

/// Parses a PROPFIND body; an empty (or whitespace-only) body is allprop.
///
/// Exactly one of `prop`, `allprop` (with an optional sibling `include`) or `propname`
/// (RFC 4918 §14.20); a `propfind` with none of them or with more than one (two `prop`s
/// included) is [`XmlError::Invalid`].
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

/// The text of a stored dead property ([`PatchOp::Set`]'s `value`) when it holds text
/// only; `None` when it has child elements or does not parse.
pub fn property_text(stored: &str) -> Option<String> {
    let root = tree::parse(stored.as_bytes()).ok()??;
    (!root.has_elements()).then(|| root.text())
}

/// Parses a PROPPATCH body (`<D:propertyupdate>`).
///
/// The operations come in document order. An empty body, or a `propertyupdate` with
/// neither `set` nor `remove`, is [`XmlError::Invalid`]. See [`PatchOp::Set`] for the
/// shape of `value`: the re-serialised inner XML, or just the escaped text.
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
                    set_op(p, &[&root, op, prop])
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
///
/// An empty body gives [`MkcolBody::default()`].
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
                    out.props.push(set_op(p, &[&root, set, prop]));
                }
            }
        }
    }
    Ok(out)
}

/// Parses a REPORT body.
///
/// An empty body is [`XmlError::Invalid`], as is an `addressbook-query` without
/// `filter`. A report naming no `prop`/`allprop`/`propname` gets allprop; one naming more
/// than one of them is [`XmlError::Invalid`]. A
/// `sync-collection` without `sync-level` gets `"1"`; one without `sync-token` (or with an
/// empty one) is an initial sync.
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
        (NS_DAV, "acl-principal-prop-set") => {
            let mut props = root.elems().filter(|e| e.is(NS_DAV, "prop"));
            match (props.next(), props.next()) {
                (Some(p), None) => Report::AclPrincipalPropSet(prop_names(p)),
                _ => {
                    return Err(XmlError::Invalid(
                        "acl-principal-prop-set needs exactly one DAV:prop".into(),
                    ));
                }
            }
        }
        (NS_DAV, "principal-match") => Report::PrincipalMatch(principal_match(&root)?),
        (NS_DAV, "principal-property-search") => {
            Report::PrincipalPropertySearch(principal_property_search(&root)?)
        }
        (NS_DAV, "principal-search-property-set") => {
            if root.has_elements() {
                return Err(XmlError::Invalid(
                    "principal-search-property-set must be empty".into(),
                ));
            }
            Report::PrincipalSearchPropertySet
        }
        (NS_DIALBOOK, "reconcile") => Report::Reconcile(
            root.elems()
                .filter(|e| e.is(NS_DIALBOOK, "card"))
                .map(|e| {
                    let uid = e
                        .attr("uid")
                        .ok_or_else(|| XmlError::Invalid("card needs a uid".into()))?;
                    let fp = e
                        .attr("fingerprint")
                        .ok_or_else(|| XmlError::Invalid("card needs a fingerprint".into()))?;
                    Ok(ClientCard {
                        uid: uid.to_string(),
                        fingerprint: fp.to_ascii_lowercase(),
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        _ => Report::Unknown(root.name.clone()),
    })
}

/// The names inside a `DAV:prop`.
fn prop_names(prop: &Node) -> Vec<QName> {
    prop.elems().map(|p| p.name.clone()).collect()
}

/// The optional single `DAV:prop` child of a report root; two are [`XmlError::Invalid`].
fn optional_prop(root: &Node) -> Result<Option<Vec<QName>>, XmlError> {
    let mut props = root.elems().filter(|e| e.is(NS_DAV, "prop"));
    match (props.next(), props.next()) {
        (p, None) => Ok(p.map(prop_names)),
        _ => Err(XmlError::Invalid("more than one DAV:prop".into())),
    }
}

/// RFC 3744 §9.3: exactly one of `self` and `principal-property` (which names exactly one
/// property), and at most one `prop`.
fn principal_match(root: &Node) -> Result<PrincipalMatch, XmlError> {
    let mut on = None;
    for e in root.elems() {
        let this = if e.is(NS_DAV, "self") {
            PrincipalMatchOn::Itself
        } else if e.is(NS_DAV, "principal-property") {
            let mut names = e.elems();
            match (names.next(), names.next()) {
                (Some(n), None) => PrincipalMatchOn::Property(n.name.clone()),
                _ => {
                    return Err(XmlError::Invalid(
                        "principal-property names exactly one property".into(),
                    ));
                }
            }
        } else {
            continue;
        };
        if on.replace(this).is_some() {
            return Err(XmlError::Invalid(
                "principal-match takes one of self and principal-property".into(),
            ));
        }
    }
    Ok(PrincipalMatch {
        on: on.ok_or_else(|| {
            XmlError::Invalid("principal-match needs self or principal-property".into())
        })?,
        prop: optional_prop(root)?,
    })
}

/// RFC 3744 §9.4: one or more `property-search` (each one `prop` naming at least one
/// property and one `match`), at most one `prop`, the optional
/// `apply-to-principal-collection-set`.
fn principal_property_search(root: &Node) -> Result<PrincipalPropertySearch, XmlError> {
    let any_of = match root.attr("test") {
        None | Some("allof") => false,
        Some("anyof") => true,
        Some(other) => return Err(XmlError::Invalid(format!("test=\"{other}\""))),
    };
    let mut searches = Vec::new();
    for ps in root.elems().filter(|e| e.is(NS_DAV, "property-search")) {
        let props: Vec<QName> = ps
            .elems()
            .filter(|e| e.is(NS_DAV, "prop"))
            .flat_map(prop_names)
            .collect();
        let mut matches = ps.elems().filter(|e| e.is(NS_DAV, "match"));
        let (Some(m), None) = (matches.next(), matches.next()) else {
            return Err(XmlError::Invalid(
                "property-search needs exactly one match".into(),
            ));
        };
        if props.is_empty() {
            return Err(XmlError::Invalid(
                "property-search needs a prop naming a property".into(),
            ));
        }
        let match_type = match m.attr("match-type") {
            None | Some("contains") => MatchType::Contains,
            Some("equals") => MatchType::Equals,
            Some("starts-with") => MatchType::StartsWith,
            Some("ends-with") => MatchType::EndsWith,
            Some(other) => return Err(XmlError::Invalid(format!("match-type=\"{other}\""))),
        };
        searches.push(PropertySearch {
            props,
            text: m.text().trim().to_string(),
            match_type,
        });
    }
    if searches.is_empty() {
        return Err(XmlError::Invalid(
            "principal-property-search needs a property-search".into(),
        ));
    }
    Ok(PrincipalPropertySearch {
        searches,
        any_of,
        prop: optional_prop(root)?,
        apply_to_principal_collection_set: root
            .child(NS_DAV, "apply-to-principal-collection-set")
            .is_some(),
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

/// A `set` instruction for one property element, whose ancestors (outermost first) are
/// `ancestors`.
fn set_op(p: &Node, ancestors: &[&Node]) -> PatchOp {
    PatchOp::Set {
        name: p.name.clone(),
        value: p.outer_xml(ancestors),
        text: if p.has_elements() {
            None
        } else {
            Some(p.text())
        },
    }
}

/// The `DAV:prop`, `DAV:allprop` (+ `DAV:include`) or `DAV:propname` child, if any;
/// [`XmlError::Invalid`] when there is more than one of them (RFC 4918 §14.20).
fn propfind_of(parent: &Node) -> Result<Option<PropFind>, XmlError> {
    let mut found = None;
    for e in parent.elems() {
        let pf = if e.is(NS_DAV, "prop") {
            PropFind::Prop(e.elems().map(|p| p.name.clone()).collect())
        } else if e.is(NS_DAV, "allprop") {
            let include = parent
                .child(NS_DAV, "include")
                .map(|i| i.elems().map(|p| p.name.clone()).collect())
                .unwrap_or_default();
            PropFind::AllProp { include }
        } else if e.is(NS_DAV, "propname") {
            PropFind::PropName
        } else {
            continue;
        };
        if found.is_some() {
            return Err(XmlError::Invalid(
                "only one of prop, allprop and propname".into(),
            ));
        }
        found = Some(pf);
    }
    Ok(found)
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

#[cfg(test)]
mod reconcile_tests {
    use super::*;

    #[test]
    fn reconcile_report_lists_client_cards() {
        let body = br#"<r:reconcile xmlns:r="urn:x-dialbook:ns"><r:card uid="a" fingerprint="AB12"/><r:card uid="b" fingerprint="cd"/></r:reconcile>"#;
        let Report::Reconcile(cards) = parse_report(body).unwrap() else {
            panic!("not a reconcile report")
        };
        assert_eq!(
            cards,
            vec![
                ClientCard {
                    uid: "a".into(),
                    fingerprint: "ab12".into()
                },
                ClientCard {
                    uid: "b".into(),
                    fingerprint: "cd".into()
                },
            ]
        );
    }

    #[test]
    fn reconcile_card_without_fingerprint_is_invalid() {
        let body = br#"<r:reconcile xmlns:r="urn:x-dialbook:ns"><r:card uid="a"/></r:reconcile>"#;
        assert!(matches!(parse_report(body), Err(XmlError::Invalid(_))));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dav::xml::test_support::inner_infoset;
    use crate::dav::xml::writer::{Content, MultistatusWriter, Prop, PropStat, Response};

    fn dav(local: &str) -> QName {
        QName::dav(local)
    }
    fn card(local: &str) -> QName {
        QName::new(NS_CARDDAV, local)
    }
    fn malformed(r: Result<impl std::fmt::Debug, XmlError>) -> bool {
        matches!(r, Err(XmlError::Malformed(_)))
    }

    // ---- PROPFIND ----

    #[test]
    fn propfind_empty_or_whitespace_body_is_allprop() {
        let all = PropFind::AllProp { include: vec![] };
        assert_eq!(parse_propfind(b"").unwrap(), all);
        assert_eq!(parse_propfind(b" \r\n\t ").unwrap(), all);
    }

    #[test]
    fn propfind_ios_prop_lists_names_in_document_order() {
        let body = br#"<?xml version="1.0" encoding="UTF-8"?>
<A:propfind xmlns:A="DAV:">
  <A:prop>
    <A:current-user-principal/>
    <A:principal-URL/>
    <A:resourcetype/>
  </A:prop>
</A:propfind>"#;
        assert_eq!(
            parse_propfind(body).unwrap(),
            PropFind::Prop(vec![
                dav("current-user-principal"),
                dav("principal-URL"),
                dav("resourcetype")
            ])
        );
    }

    #[test]
    fn propfind_is_matched_by_namespace_not_prefix() {
        let prefixed = br#"<D:propfind xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/"><D:prop><D:displayname/><CS:getctag/></D:prop></D:propfind>"#;
        let default_ns = br#"<propfind xmlns="DAV:"><prop><displayname/><getctag xmlns="http://calendarserver.org/ns/"/></prop></propfind>"#;
        let odd = br#"<zz:propfind xmlns:zz="DAV:"><zz:prop xmlns:D="urn:not-dav"><zz:displayname/><D:getctag xmlns:D="http://calendarserver.org/ns/"/></zz:prop></zz:propfind>"#;
        let expected = PropFind::Prop(vec![
            dav("displayname"),
            QName::new(super::super::NS_CALSERVER, "getctag"),
        ]);
        assert_eq!(parse_propfind(prefixed).unwrap(), expected);
        assert_eq!(parse_propfind(default_ns).unwrap(), expected);
        assert_eq!(parse_propfind(odd).unwrap(), expected);
    }

    #[test]
    fn propfind_d_prefix_bound_elsewhere_is_not_dav() {
        let body = br#"<D:propfind xmlns:D="urn:something-else"><D:prop/></D:propfind>"#;
        assert!(matches!(parse_propfind(body), Err(XmlError::Invalid(_))));
    }

    #[test]
    fn propfind_allprop_with_include() {
        let body = br#"<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:allprop/><D:include><D:sync-token/><C:supported-address-data/></D:include></D:propfind>"#;
        assert_eq!(
            parse_propfind(body).unwrap(),
            PropFind::AllProp {
                include: vec![dav("sync-token"), card("supported-address-data")]
            }
        );
    }

    #[test]
    fn propfind_allprop_without_include() {
        let body = br#"<propfind xmlns="DAV:"><allprop/></propfind>"#;
        assert_eq!(
            parse_propfind(body).unwrap(),
            PropFind::AllProp { include: vec![] }
        );
    }

    #[test]
    fn propfind_propname() {
        let body = br#"<D:propfind xmlns:D="DAV:"><D:propname/></D:propfind>"#;
        assert_eq!(parse_propfind(body).unwrap(), PropFind::PropName);
    }

    #[test]
    fn propfind_wrong_root_is_invalid() {
        let body = br#"<D:propertyupdate xmlns:D="DAV:"/>"#;
        assert!(matches!(parse_propfind(body), Err(XmlError::Invalid(_))));
    }

    #[test]
    fn propfind_without_prop_allprop_or_propname_is_invalid() {
        let body = br#"<D:propfind xmlns:D="DAV:"><D:other/></D:propfind>"#;
        assert!(matches!(parse_propfind(body), Err(XmlError::Invalid(_))));
    }

    #[test]
    fn propfind_with_more_than_one_of_prop_allprop_propname_is_invalid() {
        for inner in [
            "<D:prop><D:getetag/></D:prop><D:allprop/>",
            "<D:propname/><D:prop><D:getetag/></D:prop>",
            "<D:allprop/><D:propname/>",
            "<D:prop><D:getetag/></D:prop><D:prop><D:displayname/></D:prop>",
        ] {
            let body = format!(r#"<D:propfind xmlns:D="DAV:">{inner}</D:propfind>"#);
            assert!(
                matches!(parse_propfind(body.as_bytes()), Err(XmlError::Invalid(_))),
                "{inner}"
            );
        }
    }

    #[test]
    fn propfind_ignores_extension_elements_and_comments() {
        let body = br#"<?xml version="1.0"?><!-- hi --><D:propfind xmlns:D="DAV:" xmlns:x="urn:ext"><x:hint>fast</x:hint><D:prop><D:getetag/></D:prop><?pi data?></D:propfind>"#;
        assert_eq!(
            parse_propfind(body).unwrap(),
            PropFind::Prop(vec![dav("getetag")])
        );
    }

    #[test]
    fn propfind_accepts_utf8_bom() {
        let mut body = "\u{FEFF}".as_bytes().to_vec();
        body.extend_from_slice(br#"<D:propfind xmlns:D="DAV:"><D:propname/></D:propfind>"#);
        assert_eq!(parse_propfind(&body).unwrap(), PropFind::PropName);
    }

    // ---- safety ----

    #[test]
    fn doctype_is_refused() {
        let body = br#"<?xml version="1.0"?><!DOCTYPE propfind><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>"#;
        assert!(malformed(parse_propfind(body)));
    }

    #[test]
    fn billion_laughs_is_refused() {
        let body = br#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x:a xmlns:x="urn:x">&lol3;</x:a></D:prop></D:set></D:propertyupdate>"#;
        assert!(malformed(parse_proppatch(body)));
    }

    #[test]
    fn external_entity_is_refused() {
        let body = br#"<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><D:propfind xmlns:D="DAV:"><D:prop>&xxe;</D:prop></D:propfind>"#;
        assert!(malformed(parse_propfind(body)));
    }

    #[test]
    fn undefined_entity_is_refused() {
        let body = br#"<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x:a xmlns:x="urn:x">&foo;</x:a></D:prop></D:set></D:propertyupdate>"#;
        assert!(malformed(parse_proppatch(body)));
    }

    #[test]
    fn undefined_entity_in_attribute_is_refused() {
        let body = br#"<D:propfind xmlns:D="DAV:" x="&foo;"><D:allprop/></D:propfind>"#;
        assert!(malformed(parse_propfind(body)));
    }

    #[test]
    fn unbound_prefix_is_refused() {
        let body = br#"<D:propfind xmlns:D="DAV:"><D:prop><Q:thing/></D:prop></D:propfind>"#;
        assert!(malformed(parse_propfind(body)));
    }

    #[test]
    fn non_utf8_is_refused() {
        let body = b"<D:propfind xmlns:D=\"DAV:\"><D:prop><D:displayname>\xff\xfe</D:displayname></D:prop></D:propfind>";
        assert!(malformed(parse_propfind(body)));
    }

    #[test]
    fn mismatched_and_unclosed_tags_are_malformed() {
        assert!(malformed(parse_propfind(
            br#"<D:propfind xmlns:D="DAV:"><D:prop></D:propfind>"#
        )));
        assert!(malformed(parse_propfind(
            br#"<D:propfind xmlns:D="DAV:"><D:prop/>"#
        )));
    }

    #[test]
    fn second_root_or_stray_text_is_malformed() {
        assert!(malformed(parse_propfind(
            br#"<D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind><x/>"#
        )));
        assert!(malformed(parse_propfind(
            br#"junk<D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>"#
        )));
    }

    fn nested(depth: usize) -> Vec<u8> {
        // propfind > prop > displayname-like property > (depth - 3) extension levels.
        let mut s = String::from(r#"<D:propfind xmlns:D="DAV:"><D:prop>"#);
        for _ in 0..depth - 2 {
            s.push_str("<x>");
        }
        for _ in 0..depth - 2 {
            s.push_str("</x>");
        }
        s.push_str("</D:prop></D:propfind>");
        s.into_bytes()
    }

    #[test]
    fn nesting_of_64_levels_is_accepted() {
        assert!(parse_propfind(&nested(64)).is_ok());
    }

    #[test]
    fn nesting_deeper_than_64_levels_is_refused() {
        assert!(malformed(parse_propfind(&nested(65))));
        assert!(malformed(parse_propfind(&nested(100_000))));
    }

    // ---- PROPPATCH ----

    #[test]
    fn proppatch_keeps_document_order_of_set_and_remove() {
        let body = br#"<?xml version="1.0" encoding="utf-8" ?>
<D:propertyupdate xmlns:D="DAV:" xmlns:Z="http://ns.example.com/z/">
  <D:set><D:prop><Z:Authors>Jim</Z:Authors></D:prop></D:set>
  <D:remove><D:prop><Z:Copyright-Owner/></D:prop></D:remove>
  <D:set><D:prop><D:displayname>Work</D:displayname><Z:Authors>Roy</Z:Authors></D:prop></D:set>
</D:propertyupdate>"#;
        let z = |l: &str| QName::new("http://ns.example.com/z/", l);
        // Each value is its whole element, with the declarations in scope.
        let decls = r#"xmlns:D="DAV:" xmlns:Z="http://ns.example.com/z/""#;
        assert_eq!(
            parse_proppatch(body).unwrap(),
            vec![
                PatchOp::Set {
                    name: z("Authors"),
                    value: format!(r#"<Z:Authors {decls}>Jim</Z:Authors>"#),
                    text: Some("Jim".into())
                },
                PatchOp::Remove(z("Copyright-Owner")),
                PatchOp::Set {
                    name: dav("displayname"),
                    value: format!(r#"<D:displayname {decls}>Work</D:displayname>"#),
                    text: Some("Work".into())
                },
                PatchOp::Set {
                    name: z("Authors"),
                    value: format!(r#"<Z:Authors {decls}>Roy</Z:Authors>"#),
                    text: Some("Roy".into())
                },
            ]
        );
    }

    #[test]
    fn proppatch_text_is_unescaped_and_value_reescaped() {
        let body = br#"<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:displayname>a &lt;b&gt; &amp; &quot;c&quot; &apos;d&apos; &#233;&#x263A;<![CDATA[<e>]]></D:displayname></D:prop></D:set></D:propertyupdate>"#;
        let ops = parse_proppatch(body).unwrap();
        assert_eq!(
            ops,
            vec![PatchOp::Set {
                name: dav("displayname"),
                value: r#"<D:displayname xmlns:D="DAV:">a &lt;b&gt; &amp; &quot;c&quot; 'd' é☺&lt;e&gt;</D:displayname>"#.into(),
                text: Some("a <b> & \"c\" 'd' é☺<e>".into()),
            }]
        );
    }

    #[test]
    fn proppatch_empty_property_has_empty_text() {
        let body = br#"<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:displayname/></D:prop></D:set></D:propertyupdate>"#;
        assert_eq!(
            parse_proppatch(body).unwrap(),
            vec![PatchOp::Set {
                name: dav("displayname"),
                value: r#"<D:displayname xmlns:D="DAV:"/>"#.into(),
                text: Some(String::new())
            }]
        );
    }

    #[test]
    fn proppatch_property_without_namespace() {
        let body = br#"<propertyupdate xmlns="DAV:"><set><prop><color xmlns="">red</color></prop></set><remove><prop><old xmlns=""/></prop></remove></propertyupdate>"#;
        assert_eq!(
            parse_proppatch(body).unwrap(),
            vec![
                PatchOp::Set {
                    name: QName::new("", "color"),
                    // Its own `xmlns=""` wins over the inherited default namespace.
                    value: r#"<color xmlns="">red</color>"#.into(),
                    text: Some("red".into())
                },
                PatchOp::Remove(QName::new("", "old")),
            ]
        );
    }

    #[test]
    fn proppatch_dead_prop_value_is_its_element_declaring_the_namespaces_in_scope() {
        let body = br#"<D:propertyupdate xmlns:D="DAV:" xmlns:x="urn:foo" xmlns:y="urn:bar"><D:set><D:prop><y:p><x:a y:k="1">t</x:a><b/></y:p></D:prop></D:set></D:propertyupdate>"#;
        let ops = parse_proppatch(body).unwrap();
        assert_eq!(
            ops,
            vec![PatchOp::Set {
                name: QName::new("urn:bar", "p"),
                value: r#"<y:p xmlns:D="DAV:" xmlns:x="urn:foo" xmlns:y="urn:bar"><x:a y:k="1">t</x:a><b xmlns=""/></y:p>"#
                    .into(),
                text: None,
            }]
        );
    }

    #[test]
    fn proppatch_dead_prop_value_reuses_declarations_within_the_value() {
        let body = br#"<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><m:p xmlns:m="urn:m"><m:list><m:item>1</m:item><m:item xml:lang="en">2</m:item></m:list></m:p></D:prop></D:set></D:propertyupdate>"#;
        let PatchOp::Set { value, .. } = &parse_proppatch(body).unwrap()[0] else {
            panic!()
        };
        assert_eq!(
            value,
            r#"<m:p xmlns:m="urn:m" xmlns:D="DAV:"><m:list><m:item>1</m:item><m:item xml:lang="en">2</m:item></m:list></m:p>"#
        );
    }

    #[test]
    fn proppatch_dead_prop_round_trips_through_multistatus() {
        // A value mixing a default namespace, prefixes declared on the root, an attribute
        // in a foreign namespace, escaped text, whitespace and a no-namespace child.
        let body = r#"<?xml version="1.0" encoding="utf-8"?>
<A:propertyupdate xmlns:A="DAV:" xmlns:E="urn:example:e" xmlns:Q="urn:example:q">
  <A:set>
    <A:prop>
      <E:settings>
        <item xmlns="urn:example:default" Q:level="3 &lt; 4">one &amp; two</item>
        <Q:flag/>
        <plain xmlns="">x&#13;y</plain>
        <A:href>/p/1</A:href>
      </E:settings>
    </A:prop>
  </A:set>
</A:propertyupdate>"#;
        let ops = parse_proppatch(body.as_bytes()).unwrap();
        let [
            PatchOp::Set {
                name,
                value,
                text: None,
            },
        ] = ops.as_slice()
        else {
            panic!("unexpected {ops:?}")
        };
        assert_eq!(name, &QName::new("urn:example:e", "settings"));

        let mut w = MultistatusWriter::begin();
        w.response(&Response::PropStats {
            href: "/ab/".into(),
            propstats: vec![PropStat {
                error: None,
                status: 200,
                props: vec![Prop {
                    name: name.clone(),
                    content: Content::Whole(value.clone()),
                }],
            }],
        });
        let out = w.finish(None);

        let original = inner_infoset(body, "urn:example:e", "settings");
        let written = inner_infoset(&out, "urn:example:e", "settings");
        assert_eq!(written, original);
        assert!(
            original.contains(
                &r#"<{urn:example:default}item {urn:example:q}level="3 < 4">"#.to_string()
            )
        );
        assert!(original.contains(&"\"x\ry\"".to_string()));
    }

    #[test]
    fn proppatch_dead_prop_keeps_attributes_declarations_and_the_xml_lang_in_scope() {
        // xml:lang on an ancestor is inherited unless the element has its own; the
        // element's attributes and declarations stay, an unused declaration included
        // (the value names `q:` in its text).
        let body = br#"<D:propertyupdate xmlns:D="DAV:" xml:lang="en"><D:set><D:prop xml:lang="de"><Z:title xmlns:Z="urn:z" xmlns:q="urn:q" Z:kind="formal" plain="1">q:Herr</Z:title><Z:note xmlns:Z="urn:z" xml:lang="fr-CA">x</Z:note></D:prop></D:set></D:propertyupdate>"#;
        let ops = parse_proppatch(body).unwrap();
        let values: Vec<&str> = ops
            .iter()
            .map(|o| match o {
                PatchOp::Set { value, .. } => value.as_str(),
                PatchOp::Remove(_) => panic!(),
            })
            .collect();
        assert_eq!(
            values,
            [
                r#"<Z:title xmlns:Z="urn:z" xmlns:q="urn:q" xmlns:D="DAV:" Z:kind="formal" plain="1" xml:lang="de">q:Herr</Z:title>"#,
                r#"<Z:note xmlns:Z="urn:z" xmlns:D="DAV:" xml:lang="fr-CA">x</Z:note>"#,
            ]
        );
    }

    #[test]
    fn stored_property_text_is_its_text_content() {
        assert_eq!(
            property_text(r#"<X:p xmlns:X="urn:x">a &amp; b</X:p>"#).as_deref(),
            Some("a & b")
        );
        assert_eq!(property_text(r#"<X:p xmlns:X="urn:x"><X:c/></X:p>"#), None);
        assert_eq!(property_text("not xml <"), None);
    }

    #[test]
    fn proppatch_without_set_or_remove_is_invalid() {
        let body = br#"<D:propertyupdate xmlns:D="DAV:"/>"#;
        assert!(matches!(parse_proppatch(body), Err(XmlError::Invalid(_))));
    }

    #[test]
    fn proppatch_empty_body_is_invalid() {
        assert!(matches!(parse_proppatch(b""), Err(XmlError::Invalid(_))));
    }

    #[test]
    fn proppatch_wrong_root_is_invalid() {
        let body = br#"<D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>"#;
        assert!(matches!(parse_proppatch(body), Err(XmlError::Invalid(_))));
    }

    // ---- MKCOL / MKCALENDAR ----

    #[test]
    fn mkcol_extended_splits_resourcetype_from_other_props() {
        let body = br#"<?xml version="1.0" encoding="utf-8" ?>
<D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">
  <D:set>
    <D:prop>
      <D:resourcetype><D:collection/><C:addressbook/></D:resourcetype>
      <D:displayname>Lisa's Contacts</D:displayname>
      <C:addressbook-description xml:lang="en">My primary address book.</C:addressbook-description>
    </D:prop>
  </D:set>
</D:mkcol>"#;
        let m = parse_mkcol(body).unwrap();
        assert_eq!(
            m.resourcetype,
            Some(vec![dav("collection"), card("addressbook")])
        );
        let decls = r#"xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav""#;
        assert_eq!(
            m.props,
            vec![
                PatchOp::Set {
                    name: dav("displayname"),
                    value: format!(r#"<D:displayname {decls}>Lisa's Contacts</D:displayname>"#),
                    text: Some("Lisa's Contacts".into())
                },
                PatchOp::Set {
                    name: card("addressbook-description"),
                    value: format!(
                        r#"<C:addressbook-description {decls} xml:lang="en">My primary address book.</C:addressbook-description>"#
                    ),
                    text: Some("My primary address book.".into())
                },
            ]
        );
    }

    #[test]
    fn mkcalendar_root_is_accepted() {
        let body = br#"<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><D:displayname>Lisa's Events</D:displayname></D:prop></D:set></C:mkcalendar>"#;
        let m = parse_mkcol(body).unwrap();
        assert_eq!(m.resourcetype, None);
        assert_eq!(
            m.props,
            vec![PatchOp::Set {
                name: dav("displayname"),
                value: r#"<D:displayname xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">Lisa's Events</D:displayname>"#.into(),
                text: Some("Lisa's Events".into())
            }]
        );
    }

    #[test]
    fn mkcol_empty_body_is_default() {
        assert_eq!(parse_mkcol(b"").unwrap(), MkcolBody::default());
    }

    #[test]
    fn mkcol_wrong_root_is_invalid() {
        let body = br#"<D:propertyupdate xmlns:D="DAV:"><D:set/></D:propertyupdate>"#;
        assert!(matches!(parse_mkcol(body), Err(XmlError::Invalid(_))));
    }

    // ---- REPORT: addressbook-multiget ----

    #[test]
    fn multiget_vdirsyncer_hrefs_in_order() {
        let body = br#"<?xml version="1.0" encoding="utf-8" ?>
<C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">
    <D:prop>
        <D:getetag/>
        <C:address-data/>
    </D:prop>
    <D:href>/dav/ab/default/one.vcf</D:href>
    <D:href> /dav/ab/default/two%20x.vcf </D:href>
</C:addressbook-multiget>"#;
        let Report::AddressbookMultiget(m) = parse_report(body).unwrap() else {
            panic!()
        };
        assert_eq!(
            m.hrefs,
            vec!["/dav/ab/default/one.vcf", "/dav/ab/default/two%20x.vcf"]
        );
        assert_eq!(
            m.props.propfind,
            PropFind::Prop(vec![dav("getetag"), card("address-data")])
        );
        assert_eq!(m.props.address_data, Some(AddressDataRequest::default()));
    }

    #[test]
    fn multiget_ios_carddav_default_namespace() {
        let body = br#"<?xml version="1.0" encoding="UTF-8"?>
<addressbook-multiget xmlns="urn:ietf:params:xml:ns:carddav" xmlns:A="DAV:">
  <A:prop>
    <A:getetag/>
    <address-data/>
  </A:prop>
  <A:href>/ab/me/C4F1A3B2.vcf</A:href>
</addressbook-multiget>"#;
        let Report::AddressbookMultiget(m) = parse_report(body).unwrap() else {
            panic!()
        };
        assert_eq!(m.hrefs, vec!["/ab/me/C4F1A3B2.vcf"]);
        assert_eq!(
            m.props.propfind,
            PropFind::Prop(vec![dav("getetag"), card("address-data")])
        );
        assert!(m.props.address_data.is_some());
    }

    #[test]
    fn address_data_attributes_and_props_are_read() {
        let body = br#"<C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><C:address-data content-type="text/vcard" version="4.0"><C:prop name="fn"/><C:prop name="Email"/><C:prop name="UID"/></C:address-data></D:prop><D:href>/a.vcf</D:href></C:addressbook-multiget>"#;
        let Report::AddressbookMultiget(m) = parse_report(body).unwrap() else {
            panic!()
        };
        assert_eq!(
            m.props.address_data,
            Some(AddressDataRequest {
                content_type: Some("text/vcard".into()),
                version: Some("4.0".into()),
                props: vec!["FN".into(), "EMAIL".into(), "UID".into()],
                allprop: false,
            })
        );
    }

    #[test]
    fn address_data_explicit_allprop() {
        let body = br#"<C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><C:address-data><C:allprop/></C:address-data></D:prop><D:href>/a.vcf</D:href></C:addressbook-multiget>"#;
        let Report::AddressbookMultiget(m) = parse_report(body).unwrap() else {
            panic!()
        };
        assert_eq!(
            m.props.address_data,
            Some(AddressDataRequest {
                allprop: true,
                ..Default::default()
            })
        );
    }

    #[test]
    fn report_without_address_data_has_none() {
        let body = br#"<C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/></D:prop><D:href>/a.vcf</D:href></C:addressbook-multiget>"#;
        let Report::AddressbookMultiget(m) = parse_report(body).unwrap() else {
            panic!()
        };
        assert_eq!(m.props.address_data, None);
    }

    #[test]
    fn report_without_prop_is_allprop() {
        let body = br#"<C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:href>/a.vcf</D:href></C:addressbook-multiget>"#;
        let Report::AddressbookMultiget(m) = parse_report(body).unwrap() else {
            panic!()
        };
        assert_eq!(
            m.props,
            ReportProps {
                propfind: PropFind::AllProp { include: vec![] },
                address_data: None
            }
        );
    }

    // ---- REPORT: sync-collection ----

    #[test]
    fn sync_collection_davx5_empty_token_is_initial_sync() {
        let body = br#"<?xml version='1.0' encoding='UTF-8' ?><sync-collection xmlns="DAV:" xmlns:CARD="urn:ietf:params:xml:ns:carddav"><sync-token /><sync-level>1</sync-level><prop><getetag /><CARD:address-data /></prop></sync-collection>"#;
        let Report::SyncCollection(s) = parse_report(body).unwrap() else {
            panic!()
        };
        assert_eq!(s.sync_token, None);
        assert_eq!(s.sync_level, "1");
        assert_eq!(s.limit, None);
        assert_eq!(
            s.props.propfind,
            PropFind::Prop(vec![dav("getetag"), card("address-data")])
        );
        assert_eq!(s.props.address_data, Some(AddressDataRequest::default()));
    }

    #[test]
    fn sync_collection_thunderbird_with_token() {
        let body = br#"<?xml version="1.0" encoding="UTF-8"?>
<D:sync-collection xmlns:D="DAV:">
  <D:sync-token>https://dav.example/sync/42</D:sync-token>
  <D:sync-level>1</D:sync-level>
  <D:prop><D:getetag/><D:getcontenttype/></D:prop>
</D:sync-collection>"#;
        let Report::SyncCollection(s) = parse_report(body).unwrap() else {
            panic!()
        };
        assert_eq!(s.sync_token.as_deref(), Some("https://dav.example/sync/42"));
        assert_eq!(s.sync_level, "1");
        assert_eq!(
            s.props.propfind,
            PropFind::Prop(vec![dav("getetag"), dav("getcontenttype")])
        );
        assert_eq!(s.props.address_data, None);
    }

    #[test]
    fn sync_collection_limit_and_infinite_level() {
        let body = br#"<D:sync-collection xmlns:D="DAV:"><D:sync-token>t1</D:sync-token><D:sync-level>infinite</D:sync-level><D:limit><D:nresults> 100 </D:nresults></D:limit><D:prop><D:getetag/></D:prop></D:sync-collection>"#;
        let Report::SyncCollection(s) = parse_report(body).unwrap() else {
            panic!()
        };
        assert_eq!(s.sync_level, "infinite");
        assert_eq!(s.limit, Some(100));
    }

    #[test]
    fn sync_collection_bad_level_is_invalid() {
        let body = br#"<D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:sync-level>2</D:sync-level><D:prop/></D:sync-collection>"#;
        assert!(matches!(parse_report(body), Err(XmlError::Invalid(_))));
    }

    #[test]
    fn sync_collection_bad_nresults_is_invalid() {
        let body = br#"<D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:sync-level>1</D:sync-level><D:limit><D:nresults>lots</D:nresults></D:limit><D:prop/></D:sync-collection>"#;
        assert!(matches!(parse_report(body), Err(XmlError::Invalid(_))));
    }

    // ---- REPORT: addressbook-query and its filter ----

    #[test]
    fn query_filter_defaults() {
        let body = br#"<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/></D:prop><C:filter><C:prop-filter name="fn"><C:text-match>daboo</C:text-match></C:prop-filter></C:filter></C:addressbook-query>"#;
        let Report::AddressbookQuery(q) = parse_report(body).unwrap() else {
            panic!()
        };
        assert_eq!(
            q.filter,
            Filter {
                test: Test::AnyOf,
                prop_filters: vec![PropFilter {
                    name: "FN".into(),
                    test: Test::AnyOf,
                    is_not_defined: false,
                    text_matches: vec![TextMatch {
                        text: "daboo".into(),
                        collation: Collation::UnicodeCasemap,
                        match_type: MatchType::Contains,
                        negate: false,
                    }],
                    param_filters: vec![],
                }],
            }
        );
        assert_eq!(q.limit, None);
    }

    #[test]
    fn query_filter_reads_every_attribute() {
        let body = br#"<?xml version="1.0" encoding="utf-8" ?>
<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">
  <D:prop><D:getetag/><C:address-data><C:prop name="EMAIL"/></C:address-data></D:prop>
  <C:filter test="allof">
    <C:prop-filter name="email" test="allof">
      <C:text-match collation="i;ascii-casemap" match-type="ends-with" negate-condition="yes">@example.com</C:text-match>
      <C:text-match collation="i;octet" match-type="equals">a@b</C:text-match>
      <C:text-match match-type="starts-with" negate-condition="no">x</C:text-match>
    </C:prop-filter>
    <C:prop-filter name="item1.tel"><C:is-not-defined/></C:prop-filter>
  </C:filter>
  <C:limit><C:nresults>5</C:nresults></C:limit>
</C:addressbook-query>"#;
        let Report::AddressbookQuery(q) = parse_report(body).unwrap() else {
            panic!()
        };
        assert_eq!(q.limit, Some(5));
        assert_eq!(q.props.address_data.as_ref().unwrap().props, vec!["EMAIL"]);
        assert_eq!(q.filter.test, Test::AllOf);
        let email = &q.filter.prop_filters[0];
        assert_eq!(email.name, "EMAIL");
        assert_eq!(email.test, Test::AllOf);
        assert_eq!(
            email.text_matches,
            vec![
                TextMatch {
                    text: "@example.com".into(),
                    collation: Collation::AsciiCasemap,
                    match_type: MatchType::EndsWith,
                    negate: true
                },
                TextMatch {
                    text: "a@b".into(),
                    collation: Collation::Octet,
                    match_type: MatchType::Equals,
                    negate: false
                },
                TextMatch {
                    text: "x".into(),
                    collation: Collation::UnicodeCasemap,
                    match_type: MatchType::StartsWith,
                    negate: false
                },
            ]
        );
        let tel = &q.filter.prop_filters[1];
        assert_eq!(tel.name, "TEL");
        assert!(tel.is_not_defined);
        assert!(tel.text_matches.is_empty());
    }

    #[test]
    fn query_param_filter() {
        let body = br#"<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><C:filter><C:prop-filter name="TEL"><C:param-filter name="type"><C:text-match match-type="equals">work</C:text-match></C:param-filter><C:param-filter name="pref"><C:is-not-defined/></C:param-filter></C:prop-filter></C:filter></C:addressbook-query>"#;
        let Report::AddressbookQuery(q) = parse_report(body).unwrap() else {
            panic!()
        };
        assert_eq!(
            q.filter.prop_filters[0].param_filters,
            vec![
                ParamFilter {
                    name: "TYPE".into(),
                    is_not_defined: false,
                    text_match: Some(TextMatch {
                        text: "work".into(),
                        match_type: MatchType::Equals,
                        ..TextMatch::default()
                    }),
                },
                ParamFilter {
                    name: "PREF".into(),
                    is_not_defined: true,
                    text_match: None
                },
            ]
        );
    }

    #[test]
    fn query_empty_filter_matches_all() {
        let body = br#"<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/></D:prop><C:filter/></C:addressbook-query>"#;
        let Report::AddressbookQuery(q) = parse_report(body).unwrap() else {
            panic!()
        };
        assert_eq!(q.filter, Filter::default());
    }

    #[test]
    fn query_without_filter_is_invalid() {
        let body = br#"<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/></D:prop></C:addressbook-query>"#;
        assert!(matches!(parse_report(body), Err(XmlError::Invalid(_))));
    }

    #[test]
    fn query_unsupported_collation_is_reported_by_name() {
        let body = br#"<C:addressbook-query xmlns:C="urn:ietf:params:xml:ns:carddav"><C:filter><C:prop-filter name="FN"><C:text-match collation="i;klingon">x</C:text-match></C:prop-filter></C:filter></C:addressbook-query>"#;
        assert_eq!(
            parse_report(body),
            Err(XmlError::UnsupportedCollation("i;klingon".into()))
        );
    }

    #[test]
    fn query_unsupported_match_type_is_unsupported_filter() {
        let body = br#"<C:addressbook-query xmlns:C="urn:ietf:params:xml:ns:carddav"><C:filter><C:prop-filter name="FN"><C:text-match match-type="regex">x</C:text-match></C:prop-filter></C:filter></C:addressbook-query>"#;
        assert!(matches!(
            parse_report(body),
            Err(XmlError::UnsupportedFilter(_))
        ));
    }

    #[test]
    fn query_bad_test_or_negate_value_is_invalid() {
        let bad_test = br#"<C:addressbook-query xmlns:C="urn:ietf:params:xml:ns:carddav"><C:filter test="some"/></C:addressbook-query>"#;
        let bad_negate = br#"<C:addressbook-query xmlns:C="urn:ietf:params:xml:ns:carddav"><C:filter><C:prop-filter name="FN"><C:text-match negate-condition="maybe">x</C:text-match></C:prop-filter></C:filter></C:addressbook-query>"#;
        assert!(matches!(parse_report(bad_test), Err(XmlError::Invalid(_))));
        assert!(matches!(
            parse_report(bad_negate),
            Err(XmlError::Invalid(_))
        ));
    }

    #[test]
    fn query_prop_filter_without_name_is_invalid() {
        let body = br#"<C:addressbook-query xmlns:C="urn:ietf:params:xml:ns:carddav"><C:filter><C:prop-filter/></C:filter></C:addressbook-query>"#;
        assert!(matches!(parse_report(body), Err(XmlError::Invalid(_))));
    }

    // ---- REPORT: the others ----

    #[test]
    fn expand_property_collects_names_with_dav_default_namespace() {
        let body = br#"<D:expand-property xmlns:D="DAV:"><D:property name="current-user-principal"><D:property name="displayname"/></D:property><D:property name="calendar-home-set" namespace="urn:ietf:params:xml:ns:caldav"/></D:expand-property>"#;
        assert_eq!(
            parse_report(body).unwrap(),
            Report::ExpandProperty(vec![
                dav("current-user-principal"),
                QName::new(NS_CALDAV, "calendar-home-set"),
            ])
        );
    }

    #[test]
    fn principal_property_search_reads_searches_props_and_flags() {
        let search = br#"<D:principal-property-search xmlns:D="DAV:" xmlns:B="urn:b" test="anyof"><D:property-search><D:prop><D:displayname/><B:title/></D:prop><D:match match-type="starts-with"> doE </D:match></D:property-search><D:property-search><D:prop><B:dept/></D:prop><D:match>Sales</D:match></D:property-search><D:prop><D:displayname/></D:prop><D:apply-to-principal-collection-set/></D:principal-property-search>"#;
        assert_eq!(
            parse_report(search).unwrap(),
            Report::PrincipalPropertySearch(PrincipalPropertySearch {
                searches: vec![
                    PropertySearch {
                        props: vec![dav("displayname"), QName::new("urn:b", "title")],
                        text: "doE".into(),
                        match_type: MatchType::StartsWith,
                    },
                    PropertySearch {
                        props: vec![QName::new("urn:b", "dept")],
                        text: "Sales".into(),
                        match_type: MatchType::Contains,
                    },
                ],
                any_of: true,
                prop: Some(vec![dav("displayname")]),
                apply_to_principal_collection_set: true,
            })
        );
    }

    #[test]
    fn principal_property_search_without_a_complete_property_search_is_invalid() {
        for inner in [
            "",
            "<D:property-search><D:match>x</D:match></D:property-search>",
            "<D:property-search><D:prop/><D:match>x</D:match></D:property-search>",
            "<D:property-search><D:prop><D:displayname/></D:prop></D:property-search>",
            "<D:property-search><D:prop><D:displayname/></D:prop><D:match>x</D:match><D:match>y</D:match></D:property-search>",
            "<D:property-search><D:prop><D:displayname/></D:prop><D:match match-type=\"regex\">x</D:match></D:property-search>",
        ] {
            let body = format!(
                r#"<D:principal-property-search xmlns:D="DAV:">{inner}</D:principal-property-search>"#
            );
            assert!(
                matches!(parse_report(body.as_bytes()), Err(XmlError::Invalid(_))),
                "{inner}"
            );
        }
    }

    #[test]
    fn principal_search_property_set_must_be_empty() {
        let set = br#"<D:principal-search-property-set xmlns:D="DAV:"> </D:principal-search-property-set>"#;
        assert_eq!(
            parse_report(set).unwrap(),
            Report::PrincipalSearchPropertySet
        );
        let full = br#"<D:principal-search-property-set xmlns:D="DAV:"><D:prop/></D:principal-search-property-set>"#;
        assert!(matches!(parse_report(full), Err(XmlError::Invalid(_))));
    }

    #[test]
    fn acl_principal_prop_set_needs_exactly_one_prop() {
        let one = br#"<D:acl-principal-prop-set xmlns:D="DAV:"><D:prop><D:displayname/></D:prop></D:acl-principal-prop-set>"#;
        assert_eq!(
            parse_report(one).unwrap(),
            Report::AclPrincipalPropSet(vec![dav("displayname")])
        );
        for inner in ["", "<D:prop/><D:prop/>"] {
            let body = format!(
                r#"<D:acl-principal-prop-set xmlns:D="DAV:">{inner}</D:acl-principal-prop-set>"#
            );
            assert!(
                matches!(parse_report(body.as_bytes()), Err(XmlError::Invalid(_))),
                "{inner}"
            );
        }
    }

    #[test]
    fn principal_match_self_or_one_principal_property() {
        let me = br#"<D:principal-match xmlns:D="DAV:"><D:self/><D:prop><D:displayname/></D:prop></D:principal-match>"#;
        assert_eq!(
            parse_report(me).unwrap(),
            Report::PrincipalMatch(PrincipalMatch {
                on: PrincipalMatchOn::Itself,
                prop: Some(vec![dav("displayname")]),
            })
        );
        let owner = br#"<D:principal-match xmlns:D="DAV:"><D:principal-property><D:owner/></D:principal-property></D:principal-match>"#;
        assert_eq!(
            parse_report(owner).unwrap(),
            Report::PrincipalMatch(PrincipalMatch {
                on: PrincipalMatchOn::Property(dav("owner")),
                prop: None,
            })
        );
        for inner in [
            "",
            "<D:self/><D:principal-property><D:owner/></D:principal-property>",
            "<D:principal-property/>",
            "<D:principal-property><D:owner/><D:displayname/></D:principal-property>",
            "<D:self/><D:prop/><D:prop/>",
        ] {
            let body = format!(r#"<D:principal-match xmlns:D="DAV:">{inner}</D:principal-match>"#);
            assert!(
                matches!(parse_report(body.as_bytes()), Err(XmlError::Invalid(_))),
                "{inner}"
            );
        }
    }

    #[test]
    fn unknown_report_keeps_its_name() {
        let body = br#"<C:calendar-query xmlns:C="urn:ietf:params:xml:ns:caldav"><C:filter/></C:calendar-query>"#;
        assert_eq!(
            parse_report(body).unwrap(),
            Report::Unknown(QName::new(NS_CALDAV, "calendar-query"))
        );
    }

    #[test]
    fn report_empty_body_is_invalid() {
        assert!(matches!(parse_report(b"  "), Err(XmlError::Invalid(_))));
    }
}
