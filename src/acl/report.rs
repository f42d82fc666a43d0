//! The RFC 3744 §9 reports RFC 6352 §3 makes required: `acl-principal-prop-set` (§9.2),
//! `principal-match` (§9.3), `principal-property-search` (§9.4) and
//! `principal-search-property-set` (§9.5).
//!
//! | report | where | answer |
//! |---|---|---|
//! | `acl-principal-prop-set` | every resource of the account | the one principal in every ACL, the account's own, with the properties of the request's single `DAV:prop` |
//! | `principal-match` | every collection | `self`: the account's principal when it lies below the request URI; `principal-property`: the members, at any depth, whose live property holds an href to it |
//! | `principal-property-search` | every resource | the principals at or below the request URI (with `apply-to-principal-collection-set`: in `/dav/principals/`) whose searched properties match, with only the requested properties |
//! | `principal-search-property-set` | the principal collection, the roots, the principal | the searchable properties (`DAV:displayname`, the phone number) |
//!
//! All four are defined for `Depth: 0` only (absent means 0, RFC 3253 §3.6); any other
//! `Depth` is 400. A search matches caseless (`contains` unless the `match` says
//! `starts-with`, `ends-with` or `equals`); a property that is not searchable, or that the
//! principal does not have, does not match (§9.4).
//!
//! Invariant: there is one principal per account and no sharing, so the only principal
//! these reports ever read or return is the caller's own; no report can reveal another
//! account's number (another account's URLs resolve to nothing, see `dav::resource`).
//!
//! Does not: read dead properties when matching (`principal-property` names a live one:
//! `owner`, `current-user-principal`, `principal-URL`), or evaluate group membership
//! (there are no groups).

use std::collections::HashMap;

use http::StatusCode;

use crate::dav::Ctx;
use crate::dav::error::DavError;
use crate::dav::headers::{self, Depth};
use crate::dav::propfind::{Wanted, dead_props, propstats};
use crate::dav::resource::Resource;
use crate::dav::response::{self, Response};
use crate::dav::xml::{
    Content, MultistatusWriter, PrincipalMatch, PrincipalMatchOn, PrincipalPropertySearch,
    PropFind, QName, Response as MsResponse,
};
use crate::props::{self, LiveProp, PropCtx};
use crate::storage::{Collection, CollectionId, CollectionKind, DeadProp};
use crate::vcard::filter::MatchType;

/// The RFC 3744 §9 reports, for `dav::report`'s routing and `supported-report-set`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AclReport {
    AclPrincipalPropSet,
    PrincipalMatch,
    PrincipalPropertySearch,
    PrincipalSearchPropertySet,
}

impl AclReport {
    pub const ALL: [AclReport; 4] = [
        AclReport::AclPrincipalPropSet,
        AclReport::PrincipalMatch,
        AclReport::PrincipalPropertySearch,
        AclReport::PrincipalSearchPropertySet,
    ];

    /// The report's element name (in `DAV:`).
    pub fn local_name(self) -> &'static str {
        match self {
            AclReport::AclPrincipalPropSet => "acl-principal-prop-set",
            AclReport::PrincipalMatch => "principal-match",
            AclReport::PrincipalPropertySearch => "principal-property-search",
            AclReport::PrincipalSearchPropertySet => "principal-search-property-set",
        }
    }

    /// Whether `r` answers this report (the table in the module documentation).
    pub fn supported_on(self, r: &Resource) -> bool {
        let exists = !matches!(
            r,
            Resource::Missing
                | Resource::NewAddressbook(_)
                | Resource::NewContact(..)
                | Resource::NewFile(..)
        );
        match self {
            AclReport::AclPrincipalPropSet | AclReport::PrincipalPropertySearch => exists,
            // The principal's href ends with `/`, but it is not a collection.
            AclReport::PrincipalMatch => {
                exists && r.is_collection() && !matches!(r, Resource::Principal)
            }
            AclReport::PrincipalSearchPropertySet => matches!(
                r,
                Resource::PrincipalsRoot | Resource::Root | Resource::DavRoot | Resource::Principal
            ),
        }
    }
}

/// RFC 3744 §9.2–§9.5: "only defined when the Depth header has value 0".
pub fn require_depth_zero(ctx: &Ctx<'_>, report: AclReport) -> Result<(), DavError> {
    match headers::depth(&ctx.req.headers, Depth::Zero)? {
        Depth::Zero => Ok(()),
        _ => Err(DavError::bad_request(format!(
            "{} is only defined for Depth: 0",
            report.local_name()
        ))),
    }
}

/// What a report computes properties with: the account's books are loaded once, for the
/// home's `sync-token` and `getctag` should they be asked.
async fn prop_ctx_books(ctx: &Ctx<'_>) -> Result<Vec<Collection>, DavError> {
    Ok(ctx
        .storage
        .list_collections(ctx.account.id, Some(CollectionKind::Addressbook))
        .await?)
}

fn prop_ctx<'a>(ctx: &'a Ctx<'_>, books: &'a [Collection]) -> PropCtx<'a> {
    PropCtx {
        hrefs: &ctx.hrefs,
        max_resource_size: ctx.config.limits.max_resource_size,
        home_collections: Some(books),
    }
}

/// Dead properties of the resources a report answers for, one query per collection whose
/// members are asked about (never one per member).
#[derive(Default)]
struct DeadCache {
    members: HashMap<CollectionId, HashMap<String, Vec<DeadProp>>>,
}

impl DeadCache {
    async fn of(&mut self, ctx: &Ctx<'_>, r: &Resource) -> Result<Vec<DeadProp>, DavError> {
        let (c, name) = match r {
            Resource::Contact(c, m) | Resource::File(c, m) | Resource::Folder(c, m) => {
                (c, m.name.as_str())
            }
            _ => return dead_props(ctx, r).await,
        };
        if let std::collections::hash_map::Entry::Vacant(slot) = self.members.entry(c.id) {
            let mut by_name: HashMap<String, Vec<DeadProp>> = HashMap::new();
            for (n, p) in ctx.storage.member_props(c.id).await? {
                by_name.entry(n).or_default().push(p);
            }
            slot.insert(by_name);
        }
        Ok(self
            .members
            .get(&c.id)
            .and_then(|m| m.get(name))
            .cloned()
            .unwrap_or_default())
    }
}

/// Writes one response per resource: its propstats for `prop`, or (no `DAV:prop` in the
/// request) its href with `200 OK`, as RFC 3744 §9.3.1 shows.
async fn answer(
    ctx: &Ctx<'_>,
    found: &[Resource],
    prop: Option<&[QName]>,
) -> Result<Response, DavError> {
    let mut w = MultistatusWriter::begin();
    match prop {
        None => {
            for r in found {
                w.response(&MsResponse::Status {
                    href: ctx.hrefs.of(r),
                    status: StatusCode::OK.as_u16(),
                    error: None,
                });
            }
        }
        Some(names) => {
            let books = prop_ctx_books(ctx).await?;
            let pctx = prop_ctx(ctx, &books);
            let pf = PropFind::Prop(names.to_vec());
            let wanted = Wanted {
                propfind: &pf,
                address_data: None,
            };
            let mut dead = DeadCache::default();
            for r in found {
                let d = if wanted.needs_dead() {
                    dead.of(ctx, r).await?
                } else {
                    Vec::new()
                };
                w.response(&MsResponse::PropStats {
                    href: ctx.hrefs.of(r),
                    propstats: propstats(&pctx, r, &wanted, &d, None),
                });
            }
        }
    }
    Ok(response::multistatus(w.finish(None)))
}

/// §9.2: every resource's ACL names one principal, the owner, who is the caller.
pub async fn acl_principal_prop_set(ctx: &Ctx<'_>, props: &[QName]) -> Result<Response, DavError> {
    require_depth_zero(ctx, AclReport::AclPrincipalPropSet)?;
    answer(ctx, &[Resource::Principal], Some(props)).await
}

/// Whether the caller's principal lies at or below `r` in the URL space.
fn principal_within(r: &Resource) -> bool {
    matches!(
        r,
        Resource::Root | Resource::DavRoot | Resource::PrincipalsRoot | Resource::Principal
    )
}

/// §9.3 on collection `r`.
pub async fn principal_match(
    ctx: &Ctx<'_>,
    r: &Resource,
    pm: &PrincipalMatch,
) -> Result<Response, DavError> {
    require_depth_zero(ctx, AclReport::PrincipalMatch)?;
    let found = match &pm.on {
        // Members only: the request URI is a collection here, never the principal.
        PrincipalMatchOn::Itself if principal_within(r) => vec![Resource::Principal],
        PrincipalMatchOn::Itself => Vec::new(),
        PrincipalMatchOn::Property(q) => {
            let mine = ctx.hrefs.principal();
            let books = prop_ctx_books(ctx).await?;
            let pctx = prop_ctx(ctx, &books);
            let live = LiveProp::from_qname(q);
            members_deep(ctx, r)
                .await?
                .into_iter()
                .filter(|m| {
                    live.and_then(|p| props::value(&pctx, m, p))
                        .is_some_and(|v| matches!(v, Content::Hrefs(h) if h.contains(&mine)))
                })
                .collect()
        }
    };
    answer(ctx, &found, pm.prop.as_deref()).await
}

/// Every member of collection `r`, at any depth, in the account's URL space (the request
/// URI itself excluded), parents before their members.
async fn members_deep(ctx: &Ctx<'_>, r: &Resource) -> Result<Vec<Resource>, DavError> {
    let mut out = Vec::new();
    let mut todo = vec![r.clone()];
    while let Some(x) = todo.pop() {
        let kids: Vec<Resource> = match &x {
            Resource::Root => vec![Resource::DavRoot],
            Resource::DavRoot => vec![
                Resource::PrincipalsRoot,
                Resource::AddressbooksRoot,
                Resource::FilesRoot,
            ],
            Resource::PrincipalsRoot => vec![Resource::Principal],
            Resource::AddressbooksRoot => vec![Resource::AddressbookHome],
            Resource::AddressbookHome => prop_ctx_books(ctx)
                .await?
                .into_iter()
                .map(Resource::Addressbook)
                .collect(),
            Resource::Addressbook(c) => ctx
                .storage
                .list_objects(c.id)
                .await?
                .into_iter()
                .map(|m| Resource::Contact(c.clone(), m))
                .collect(),
            Resource::FilesRoot => ctx
                .storage
                .get_collection(
                    ctx.account.id,
                    CollectionKind::Files,
                    crate::dav::resource::FILES_SLUG,
                )
                .await?
                .map(Resource::FilesHome)
                .into_iter()
                .collect(),
            // A files tree is listed whole, by prefix, in one query.
            Resource::FilesHome(c) | Resource::Folder(c, _) => {
                let prefix = match &x {
                    Resource::Folder(_, m) => m.name.as_str(),
                    _ => "",
                };
                out.extend(
                    ctx.storage
                        .list_tree(c.id, prefix)
                        .await?
                        .into_iter()
                        .filter(|m| m.name != prefix)
                        .map(|m| crate::dav::resource::files_member(c.clone(), m)),
                );
                Vec::new()
            }
            _ => Vec::new(),
        };
        out.extend(kids.iter().cloned());
        todo.extend(kids.into_iter().rev());
    }
    Ok(out)
}

/// Whether `value` matches `text` under `how`, caseless.
fn text_matches(value: &str, text: &str, how: MatchType) -> bool {
    let (v, t) = (value.to_lowercase(), text.to_lowercase());
    match how {
        MatchType::Contains => v.contains(&t),
        MatchType::Equals => v == t,
        MatchType::StartsWith => v.starts_with(&t),
        MatchType::EndsWith => v.ends_with(&t),
    }
}

/// The properties `principal-property-search` can search (§9.5 lists the same).
const SEARCHABLE: &[LiveProp] = &[LiveProp::DisplayName];

/// §9.4: the principals at or below `r` (or in the principal collection set) whose
/// properties match.
pub async fn principal_property_search(
    ctx: &Ctx<'_>,
    r: &Resource,
    s: &PrincipalPropertySearch,
) -> Result<Response, DavError> {
    require_depth_zero(ctx, AclReport::PrincipalPropertySearch)?;
    // The principal collection set is `/dav/principals/`, which holds (for this account)
    // its own principal only.
    let candidates = if s.apply_to_principal_collection_set || principal_within(r) {
        vec![Resource::Principal]
    } else {
        Vec::new()
    };
    let books: Vec<Collection> = Vec::new();
    let pctx = prop_ctx(ctx, &books);
    let found: Vec<Resource> = candidates
        .into_iter()
        .filter(|p| {
            let one = |search: &crate::dav::xml::PropertySearch| {
                search.props.iter().any(|q| {
                    let Some(live) = LiveProp::from_qname(q).filter(|l| SEARCHABLE.contains(l))
                    else {
                        return false;
                    };
                    match props::value(&pctx, p, live) {
                        Some(Content::Text(v)) => text_matches(&v, &search.text, search.match_type),
                        _ => false,
                    }
                })
            };
            if s.any_of {
                s.searches.iter().any(one)
            } else {
                s.searches.iter().all(one)
            }
        })
        .collect();
    answer(ctx, &found, s.prop.as_deref()).await
}

/// §9.5: the searchable properties, each with a description.
pub fn principal_search_property_set(ctx: &Ctx<'_>) -> Result<Response, DavError> {
    require_depth_zero(ctx, AclReport::PrincipalSearchPropertySet)?;
    Ok(response::with_body(
        StatusCode::OK,
        response::XML,
        PRINCIPAL_SEARCH_PROPERTY_SET.as_bytes().to_vec(),
    ))
}

const PRINCIPAL_SEARCH_PROPERTY_SET: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:principal-search-property-set xmlns:D=\"DAV:\"><D:principal-search-property><D:prop><D:displayname/></D:prop><D:description xml:lang=\"en\">Phone number</D:description></D:principal-search-property></D:principal-search-property-set>\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_is_caseless_and_follows_the_match_type() {
        assert!(text_matches("+442079460001", "0794", MatchType::Contains));
        assert!(text_matches("Ann Example", "ann", MatchType::StartsWith));
        assert!(text_matches("Ann Example", "EXAMPLE", MatchType::EndsWith));
        assert!(text_matches("Ann", "aNN", MatchType::Equals));
        assert!(!text_matches("+442079460001", "0002", MatchType::Contains));
        assert!(!text_matches(
            "Ann Example",
            "example",
            MatchType::StartsWith
        ));
    }

    #[test]
    fn principal_match_is_answered_on_collections_only() {
        assert!(AclReport::PrincipalMatch.supported_on(&Resource::PrincipalsRoot));
        assert!(!AclReport::PrincipalMatch.supported_on(&Resource::Principal));
        assert!(AclReport::AclPrincipalPropSet.supported_on(&Resource::Principal));
        assert!(!AclReport::AclPrincipalPropSet.supported_on(&Resource::Missing));
    }
}
