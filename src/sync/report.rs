//! The `sync-collection` REPORT (RFC 6578 §3) on address books, on the address-book home
//! and on the files collection (whose members are reported like a book's, at every depth,
//! since RFC 6578 `sync-level` 1 on a flattened tree is the whole tree).
//!
//! Address book: the client's token is read by [`super::parse_token`] (garbled or foreign
//! → 403 `valid-sync-token`, never a silent full listing), storage returns the changes
//! after it in one query plus one metadata batch, deleted members come back as 404
//! responses, and a `DAV:limit` or the server cap truncates with a 507 response for the
//! request URI and a token that resumes after the last change returned (§3.6).
//!
//! Home: the members are the address books; a current home token answers nothing
//! changed, an older home token or none lists every book, anything else is invalid.
//!
//! Every changed member that still exists is answered with propstats, also when the
//! request's `DAV:prop` is empty (then one empty `prop` with 200, RFC 6578 §3.2); an
//! `address-data` we cannot serve is refused as in the CardDAV reports
//! (`carddav::report::check_address_data`).

use crate::carddav::report::{check_address_data, member_dead_props};
use crate::dav::Ctx;
use crate::dav::error::{DavError, Precondition};
use crate::dav::propfind::{Wanted, dead_props, propstats};
use crate::dav::resource::Resource;
use crate::dav::response::{self, Response};
use crate::dav::xml::{MultistatusWriter, NS_CARDDAV, Response as MsResponse, SyncCollection};
use crate::props::PropCtx;
use crate::storage::{CollectionKind, StorageError};

/// Answers `sync-collection` on `r`.
pub async fn sync_collection(
    ctx: &Ctx<'_>,
    r: &Resource,
    sc: &SyncCollection,
) -> Result<Response, DavError> {
    check_address_data(sc.props.address_data.as_ref())?;
    let wanted = Wanted {
        propfind: &sc.props.propfind,
        address_data: sc.props.address_data.as_ref(),
    };
    match r {
        Resource::Addressbook(coll) | Resource::FilesHome(coll) => {
            let files = matches!(r, Resource::FilesHome(_));
            let since = super::parse_token(coll, sc.sync_token.as_deref())
                .map_err(|_| DavError::condition(Precondition::ValidSyncToken))?;
            let cap = ctx.config.limits.sync_page.max(1);
            let limit = sc.limit.map_or(cap, |l| l.clamp(1, cap));
            let changes = ctx
                .storage
                .changes_since(coll.id, since, Some(limit))
                .await
                .map_err(|e| match e {
                    StorageError::InvalidToken => DavError::condition(Precondition::ValidSyncToken),
                    e => e.into(),
                })?;
            let wants_body = wanted.address_data.is_some()
                || matches!(&sc.props.propfind, crate::dav::xml::PropFind::Prop(n) if n.iter().any(|q| q.is(NS_CARDDAV, "address-data")));
            let mut bodies = std::collections::HashMap::new();
            if wants_body {
                let names: Vec<String> = changes
                    .changes
                    .iter()
                    .filter(|c| c.meta.is_some())
                    .map(|c| c.name.clone())
                    .collect();
                for o in ctx.storage.get_objects(coll.id, &names).await? {
                    bodies.insert(o.meta.name, o.body);
                }
            }
            let dead = member_dead_props(ctx, coll, &wanted).await?;
            let pctx = ctx.prop_ctx();
            let mut w = MultistatusWriter::begin();
            for ch in changes.changes {
                match ch.meta {
                    Some(meta) => {
                        let d = dead.get(&meta.name).map(Vec::as_slice).unwrap_or(&[]);
                        let body = bodies.get(&meta.name).map(Vec::as_slice);
                        let child = if files {
                            crate::dav::resource::files_member(coll.clone(), meta)
                        } else {
                            Resource::Contact(coll.clone(), meta)
                        };
                        let ps = propstats(&pctx, &child, &wanted, d, body);
                        w.response(&MsResponse::PropStats {
                            href: ctx.hrefs.of(&child),
                            propstats: ps,
                        });
                    }
                    None => w.response(&MsResponse::Status {
                        href: if files {
                            ctx.hrefs.file(&ch.name)
                        } else {
                            ctx.hrefs.contact(&coll.slug, &ch.name)
                        },
                        status: 404,
                        error: None,
                    }),
                }
            }
            if changes.truncated {
                w.response(&MsResponse::Status {
                    href: ctx.hrefs.of(r),
                    status: 507,
                    error: None,
                });
            }
            Ok(response::multistatus(
                w.finish(Some(&super::token_for(coll, changes.seq))),
            ))
        }
        Resource::AddressbookHome => {
            let books = ctx
                .storage
                .list_collections(ctx.account.id, Some(CollectionKind::Addressbook))
                .await?;
            let current = super::home_token(&books);
            let token = sc
                .sync_token
                .as_deref()
                .map(str::trim)
                .filter(|t| !t.is_empty());
            let list_all = match token {
                None => true,
                Some(t) if t == current => false,
                Some(t) if super::is_home_token(t) => true,
                Some(_) => return Err(DavError::condition(Precondition::ValidSyncToken)),
            };
            let pctx = PropCtx {
                home_collections: Some(&books),
                ..ctx.prop_ctx()
            };
            let mut w = MultistatusWriter::begin();
            if list_all {
                for b in &books {
                    let child = Resource::Addressbook(b.clone());
                    let d = if wanted.needs_dead() {
                        dead_props(ctx, &child).await?
                    } else {
                        Vec::new()
                    };
                    let ps = propstats(&pctx, &child, &wanted, &d, None);
                    w.response(&MsResponse::PropStats {
                        href: ctx.hrefs.of(&child),
                        propstats: ps,
                    });
                }
            }
            Ok(response::multistatus(w.finish(Some(&current))))
        }
        _ => Err(DavError::condition(Precondition::SupportedReport)),
    }
}
