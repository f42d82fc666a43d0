//! PROPFIND (RFC 4918 §9.1) and the propstat building every multistatus shares (REPORT
//! responses use it too).

use std::collections::HashMap;

use super::Ctx;
use super::error::{DavError, Precondition};
use super::headers::{self, Depth};
use super::resource::Resource;
use super::response::{self, Response};
use super::xml::{
    AddressDataRequest, Content, MultistatusWriter, NS_CARDDAV, Prop, PropFind, PropStat, QName,
    Response as MsResponse, parse_propfind,
};
use crate::props::{self, LiveProp, PropCtx};
use crate::storage::{CollectionKind, DeadProp, PropTarget};

/// What to compute for one resource.
pub struct Wanted<'a> {
    pub propfind: &'a PropFind,
    pub address_data: Option<&'a AddressDataRequest>,
}

impl Wanted<'_> {
    /// Whether dead properties must be loaded to answer.
    pub fn needs_dead(&self) -> bool {
        match self.propfind {
            PropFind::Prop(names) => names.iter().any(|n| {
                matches!(LiveProp::from_qname(n), None | Some(LiveProp::DisplayName))
                    && !is_address_data(n)
            }),
            _ => true,
        }
    }
}

fn is_address_data(q: &QName) -> bool {
    q.is(NS_CARDDAV, "address-data")
}

/// The propstats of one resource. `body` is the stored card, when loaded (address-data).
pub fn propstats(
    pctx: &PropCtx<'_>,
    r: &Resource,
    wanted: &Wanted<'_>,
    dead: &[DeadProp],
    body: Option<&[u8]>,
) -> Vec<PropStat> {
    let mut ok: Vec<Prop> = Vec::new();
    let mut missing: Vec<Prop> = Vec::new();
    let dead_value = |q: &QName| {
        dead.iter()
            .find(|d| d.namespace == q.ns && d.name == q.local)
    };
    let answer = |q: &QName, ok: &mut Vec<Prop>, missing: &mut Vec<Prop>| {
        if is_address_data(q) {
            match (body, wanted.address_data) {
                (Some(b), Some(req)) => ok.push(Prop {
                    name: q.clone(),
                    content: Content::Text(address_data(b, req)),
                }),
                (Some(b), None) => ok.push(Prop {
                    name: q.clone(),
                    content: Content::Text(String::from_utf8_lossy(b).into_owned()),
                }),
                _ => missing.push(Prop {
                    name: q.clone(),
                    content: Content::Empty,
                }),
            }
            return;
        }
        if let Some(p) = LiveProp::from_qname(q)
            && let Some(v) = props::value(pctx, r, p)
        {
            ok.push(Prop {
                name: q.clone(),
                content: v,
            });
            return;
        }
        match dead_value(q) {
            Some(d) => ok.push(Prop {
                name: q.clone(),
                content: Content::Whole(d.value.clone()),
            }),
            None => missing.push(Prop {
                name: q.clone(),
                content: Content::Empty,
            }),
        }
    };
    match wanted.propfind {
        PropFind::Prop(names) => {
            for q in names {
                answer(q, &mut ok, &mut missing);
            }
        }
        PropFind::AllProp { include } => {
            let mut names = props::names(r, true);
            names.extend(dead.iter().map(|d| QName::new(&d.namespace, &d.name)));
            for q in include {
                if !names.contains(q) {
                    names.push(q.clone());
                }
            }
            for q in &names {
                answer(q, &mut ok, &mut missing);
            }
            // allprop reports only what exists (RFC 4918 §9.1), except named includes.
            missing.retain(|p| include.contains(&p.name));
        }
        PropFind::PropName => {
            let mut names = props::names(r, false);
            names.extend(dead.iter().map(|d| QName::new(&d.namespace, &d.name)));
            ok = names
                .into_iter()
                .map(|name| Prop {
                    name,
                    content: Content::Empty,
                })
                .collect();
        }
    }
    let mut out = Vec::with_capacity(2);
    if ok.is_empty() && missing.is_empty() {
        // Nothing was asked (an empty `DAV:prop`): the resource is still answered with a
        // propstat, an empty `prop` with 200, never a bare href (RFC 6578 §3.2).
        out.push(PropStat {
            error: None,
            status: 200,
            props: Vec::new(),
        });
        return out;
    }
    if !ok.is_empty() {
        out.push(PropStat {
            error: None,
            status: 200,
            props: ok,
        });
    }
    if !missing.is_empty() {
        out.push(PropStat {
            error: None,
            status: 404,
            props: missing,
        });
    }
    out
}

/// The `address-data` text: the card converted to the asked version and cut down to the
/// asked properties (RFC 6352 §10.4).
fn address_data(body: &[u8], req: &AddressDataRequest) -> String {
    let mut bytes = body.to_vec();
    if let Some(v) = req
        .version
        .as_deref()
        .and_then(crate::vcard::Version::parse)
        && crate::vcard::version_of(&bytes) != Some(v)
    {
        match crate::vcard::convert(&bytes, v) {
            Ok(c) => bytes = c,
            Err(e) => {
                tracing::warn!(error = %e, "vCard conversion failed; serving the stored version")
            }
        }
    }
    if !req.props.is_empty() && !req.allprop {
        bytes = crate::vcard::select_props(&bytes, &req.props);
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Loads dead properties for a resource that has a storage target.
pub async fn dead_props(ctx: &Ctx<'_>, r: &Resource) -> Result<Vec<DeadProp>, DavError> {
    Ok(match target(r) {
        Some(t) => ctx.storage.get_props(t).await?,
        None => Vec::new(),
    })
}

/// The storage target of a resource's dead properties, if it can have any.
pub fn target(r: &Resource) -> Option<PropTarget<'_>> {
    match r {
        Resource::Addressbook(c) => Some(PropTarget {
            collection: c.id,
            object: None,
        }),
        Resource::Contact(c, m) | Resource::File(c, m) | Resource::Folder(c, m) => {
            Some(PropTarget {
                collection: c.id,
                object: Some(&m.name),
            })
        }
        Resource::FilesHome(c) => Some(PropTarget {
            collection: c.id,
            object: None,
        }),
        _ => None,
    }
}

/// Handles PROPFIND.
pub async fn propfind(ctx: &Ctx<'_>, r: &Resource) -> Result<Response, DavError> {
    // Missing Depth is read as 1 (as most DAV servers do); infinity is refused
    // (RFC 4918 §9.1 allows it, with the propfind-finite-depth precondition).
    let depth = headers::depth(&ctx.req.headers, Depth::One)?;
    if depth == Depth::Infinity {
        return Err(DavError::condition(Precondition::PropfindFiniteDepth));
    }
    let pf = parse_propfind(&ctx.req.body)?;
    let wanted = Wanted {
        propfind: &pf,
        address_data: None,
    };
    // The books are needed only for the home's token and the home's children; a book,
    // a card or a file carries its own token (one statement less on every CTag check).
    let home_collections = if needs_books(r) {
        ctx.storage
            .list_collections(ctx.account.id, Some(CollectionKind::Addressbook))
            .await?
    } else {
        Vec::new()
    };
    let pctx = PropCtx {
        hrefs: &ctx.hrefs,
        max_resource_size: ctx.config.limits.max_resource_size,
        home_collections: Some(&home_collections),
    };
    let mut w = MultistatusWriter::begin();
    let own_dead = if wanted.needs_dead() {
        dead_props(ctx, r).await?
    } else {
        Vec::new()
    };
    w.response(&MsResponse::PropStats {
        href: ctx.hrefs.of(r),
        propstats: propstats(&pctx, r, &wanted, &own_dead, None),
    });
    if depth == Depth::One {
        match r {
            Resource::Addressbook(c) => {
                let metas = ctx.storage.list_objects(c.id).await?;
                let mut dead_by_member: HashMap<String, Vec<DeadProp>> = HashMap::new();
                if wanted.needs_dead() {
                    for (name, p) in ctx.storage.member_props(c.id).await? {
                        dead_by_member.entry(name).or_default().push(p);
                    }
                }
                for m in metas {
                    let dead = dead_by_member.remove(&m.name).unwrap_or_default();
                    let child = Resource::Contact(c.clone(), m);
                    w.response(&MsResponse::PropStats {
                        href: ctx.hrefs.of(&child),
                        propstats: propstats(&pctx, &child, &wanted, &dead, None),
                    });
                }
            }
            Resource::FilesHome(c) | Resource::Folder(c, _) => {
                let prefix = match r {
                    Resource::Folder(_, m) => m.name.as_str(),
                    _ => "",
                };
                let metas = super::resource::tree_children(ctx.storage, c, prefix).await?;
                let mut dead_by_member: HashMap<String, Vec<DeadProp>> = HashMap::new();
                if wanted.needs_dead() && !metas.is_empty() {
                    for (name, p) in ctx.storage.member_props(c.id).await? {
                        if name.starts_with(prefix) {
                            dead_by_member.entry(name).or_default().push(p);
                        }
                    }
                }
                for m in metas {
                    let dead = dead_by_member.remove(&m.name).unwrap_or_default();
                    let child = super::resource::files_member(c.clone(), m);
                    w.response(&MsResponse::PropStats {
                        href: ctx.hrefs.of(&child),
                        propstats: propstats(&pctx, &child, &wanted, &dead, None),
                    });
                }
            }
            _ => {
                let files = match r {
                    Resource::DavRoot | Resource::FilesRoot => ctx
                        .storage
                        .get_collection(
                            ctx.account.id,
                            CollectionKind::Files,
                            super::resource::FILES_SLUG,
                        )
                        .await?
                        .map(Resource::FilesHome),
                    _ => None,
                };
                for child in children(r, &home_collections).into_iter().chain(files) {
                    let dead = if wanted.needs_dead() {
                        dead_props(ctx, &child).await?
                    } else {
                        Vec::new()
                    };
                    w.response(&MsResponse::PropStats {
                        href: ctx.hrefs.of(&child),
                        propstats: propstats(&pctx, &child, &wanted, &dead, None),
                    });
                }
            }
        }
    }
    Ok(response::multistatus(w.finish(None)))
}

/// Whether answering for `r` needs the account's address books: the home's sync token
/// and CTag are computed from them, and the home lists them as children.
fn needs_books(r: &Resource) -> bool {
    !matches!(
        r,
        Resource::Addressbook(_)
            | Resource::Contact(..)
            | Resource::File(..)
            | Resource::Folder(..)
            | Resource::FilesHome(_)
    )
}

/// The children of a non-address-book collection (the files home is added by the caller,
/// which loads it).
fn children(r: &Resource, books: &[crate::storage::Collection]) -> Vec<Resource> {
    match r {
        Resource::DavRoot => vec![Resource::PrincipalsRoot, Resource::AddressbooksRoot],
        Resource::PrincipalsRoot => vec![Resource::Principal],
        Resource::AddressbooksRoot => vec![Resource::AddressbookHome],
        Resource::AddressbookHome => books.iter().cloned().map(Resource::Addressbook).collect(),
        _ => Vec::new(),
    }
}
