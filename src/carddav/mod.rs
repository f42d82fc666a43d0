//! CardDAV (RFC 6352) on address books and their vCards, as the collection type
//! [`CardDav`] (registered in `app.rs`): GET/HEAD/DELETE of cards,
//! COPY/MOVE within an account, extended MKCOL (RFC 5689) of address books and DELETE of
//! address books. Writes of cards (PUT with the item-level merge and the conflict policy,
//! `add-member` and uplink POST) live in [`put`] and [`uplink`], reports in [`report`].
//!
//! Invariants: the stored bytes are the bytes received unless `vcard::ingest` had to
//! repair them, and then the response carries no `ETag` (RFC 6352 §6.3.2.3) so the client
//! re-fetches. Preconditions are checked by storage inside the write transaction, among
//! them that a card is never replaced by a card of another UID (RFC 6352 §6.3.2.1).
//!
//! Does not: hold the merge itself (`vcard::merge`; `put` decides when it applies), serve
//! calendars.

pub mod put;
pub mod report;
pub mod uplink;

pub use put::{post, put};

use http::{StatusCode, header};

use crate::dav::error::{DavError, Precondition};
use crate::dav::method::{Method, not_allowed};
use crate::dav::object::Representation;
use crate::dav::resource::{Path, Resource, parse_path, resolve};
use crate::dav::response::{self, Response};
use crate::dav::xml::Report;
use crate::dav::xml::{NS_CARDDAV, NS_DAV, parse_mkcol};
use crate::dav::{Ctx, headers};
use crate::storage::{Collection, CollectionKind, NewCollection, NewObject, StorageError, etag_of};
use crate::vcard;

/// Slug of the address book every account gets on first login.
pub const DEFAULT_ADDRESSBOOK: &str = "contacts";

/// Content type of every stored card.
pub const VCARD_TYPE: &str = "text/vcard; charset=utf-8";

/// Media types accepted on PUT (RFC 6352 §5.1; `text/x-vcard` and `text/directory` from
/// older clients).
pub(crate) fn accepted_media_type(ct: &str) -> bool {
    matches!(
        mime_of(ct).as_str(),
        "text/vcard" | "text/x-vcard" | "text/directory"
    )
}

/// The lower-cased media type of a Content-Type value, without parameters.
fn mime_of(ct: &str) -> String {
    ct.split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// The `charset` parameter of a Content-Type, if any.
pub(crate) fn charset(ct: &str) -> Option<String> {
    ct.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches('"').to_string())
    })
}

/// Maps the UID preconditions of a write to card `name` of `coll` to `no-uid-conflict`:
/// another card holds the UID (409, that card's href), or the card at `name` has another
/// UID (403, the href of `name`).
pub(crate) fn uid_conflict(
    ctx: &Ctx<'_>,
    coll: &Collection,
    name: &str,
    e: StorageError,
) -> DavError {
    match e {
        StorageError::UidConflict(other) => DavError::condition(Precondition::NoUidConflict(
            ctx.hrefs.contact(&coll.slug, &other),
        )),
        StorageError::UidMismatch => target_uid_differs(ctx, coll, name),
        e => e.into(),
    }
}

/// The 403 `no-uid-conflict` of a write whose card would replace card `name` of another UID.
pub(crate) fn target_uid_differs(ctx: &Ctx<'_>, coll: &Collection, name: &str) -> DavError {
    DavError::condition(Precondition::TargetUidDiffers(
        ctx.hrefs.contact(&coll.slug, name),
    ))
    .with_reason("the card at the target has another UID")
}

/// CardDAV's collection type: address books (RFC 6352) and their cards, registered in
/// `app.rs`.
pub struct CardDav;

#[async_trait::async_trait]
impl crate::dav::kind::CollectionType for CardDav {
    fn kind(&self) -> CollectionKind {
        CollectionKind::Addressbook
    }

    /// The default address book, `contacts` (sorted first: macOS Contacts shows only
    /// the first book of an account, sabre-io/dav#846).
    fn defaults(&self) -> Vec<NewCollection> {
        vec![crate::dav::default_collection(
            CollectionKind::Addressbook,
            DEFAULT_ADDRESSBOOK,
            "Contacts",
        )]
    }

    fn owns(&self, r: &Resource) -> bool {
        matches!(
            r,
            Resource::AddressbookHome
                | Resource::Addressbook(_)
                | Resource::NewAddressbook(_)
                | Resource::Contact(..)
                | Resource::NewContact(..)
        )
    }

    async fn get(&self, ctx: &Ctx<'_>, r: &Resource, head: bool) -> Result<Response, DavError> {
        get(ctx, r, head).await
    }

    async fn write(
        &self,
        ctx: &Ctx<'_>,
        method: Method,
        r: &Resource,
    ) -> Result<Response, DavError> {
        match method {
            Method::Put => put(ctx, r).await,
            Method::Post => post(ctx, r).await,
            Method::Delete => delete(ctx, r).await,
            Method::Mkcol => mkcol(ctx, r).await,
            Method::Copy => transfer(ctx, r, false).await,
            Method::Move => transfer(ctx, r, true).await,
            _ => Err(not_allowed(r)),
        }
    }

    async fn report(
        &self,
        ctx: &Ctx<'_>,
        r: &Resource,
        rep: &Report,
    ) -> Option<Result<Response, DavError>> {
        Some(match (rep, r) {
            (Report::AddressbookMultiget(m), Resource::Addressbook(c)) => {
                report::multiget(ctx, c, None, m).await
            }
            (Report::AddressbookMultiget(m), Resource::Contact(c, meta)) => {
                report::multiget(ctx, c, Some(meta), m).await
            }
            (Report::AddressbookQuery(q), Resource::Addressbook(c)) => {
                report::query(ctx, c, None, q).await
            }
            (Report::AddressbookQuery(q), Resource::Contact(c, meta)) => {
                report::query(ctx, c, Some(meta), q).await
            }
            (Report::Reconcile(cards), Resource::Addressbook(c)) => {
                report::reconcile(ctx, c, cards).await
            }
            _ => return None,
        })
    }
}

/// GET/HEAD of a card, converted when `Accept` asks for another vCard version.
pub async fn get(ctx: &Ctx<'_>, r: &Resource, head: bool) -> Result<Response, DavError> {
    let Resource::Contact(coll, meta) = r else {
        return Err(not_allowed(r));
    };
    let want = wanted_version(&ctx.req.headers);
    crate::dav::object::get(ctx, coll, meta, head, |obj| {
        let converted = want
            .filter(|&v| vcard::version_of(&obj.body) != Some(v))
            .and_then(|v| vcard::convert(&obj.body, v).ok());
        Representation {
            stored_entity: converted.is_none(),
            body: converted.unwrap_or(obj.body),
            content_type: VCARD_TYPE.into(),
        }
    })
    .await
}

/// The vCard version an `Accept` header asks for (`text/vcard; version=3.0`).
fn wanted_version(h: &http::HeaderMap) -> Option<vcard::Version> {
    let accept = h.get(header::ACCEPT)?.to_str().ok()?;
    accept.split(',').find_map(|range| {
        let mut parts = range.split(';');
        let mime = parts.next()?.trim().to_ascii_lowercase();
        if mime != "text/vcard" {
            return None;
        }
        parts.find_map(|p| {
            let (k, v) = p.split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case("version")
                .then(|| vcard::Version::parse(v.trim().trim_matches('"')))?
        })
    })
}

/// DELETE of a card or an address book.
pub async fn delete(ctx: &Ctx<'_>, r: &Resource) -> Result<Response, DavError> {
    match r {
        Resource::Contact(c, m) => {
            let cond = headers::condition(&ctx.req.headers)?;
            ctx.storage.delete_object(c.id, &m.name, &cond).await?;
        }
        Resource::Addressbook(c) => {
            ctx.storage.delete_collection(c.id).await?;
        }
        _ => return Err(not_allowed(r)),
    }
    Ok(response::status(StatusCode::NO_CONTENT))
}

/// COPY or MOVE of a card to another name or address book of the same account
/// (RFC 4918 §9.8, §9.9). A copy inside one address book gets a fresh UID, since UIDs
/// are unique per book (RFC 6352 §6.3.2.1). With `Overwrite: T` a card at the destination
/// is replaced only by a card of its own UID; otherwise storage refuses and the answer is
/// 403 `no-uid-conflict` naming the destination (so a copy onto another card of the same
/// book is always refused).
pub async fn transfer(ctx: &Ctx<'_>, r: &Resource, is_move: bool) -> Result<Response, DavError> {
    let Resource::Contact(src, meta) = r else {
        return Err(not_allowed(r));
    };
    let dest_path = parse_path(&headers::destination(&ctx.req.headers)?);
    let dest = resolve(
        ctx.storage,
        ctx.account,
        ctx.config.region.as_deref(),
        &dest_path,
    )
    .await?;
    let (dc, dname) = match dest {
        Resource::Contact(dc, dm) => (dc, dm.name),
        Resource::NewContact(dc, n) => (dc, n),
        Resource::Missing if matches!(&dest_path, Path::Contact(n, ..) if ctx.owns(n)) => {
            // RFC 4918 §9.8.5: the destination's parent does not exist.
            return Err(DavError::conflict(
                "destination address book does not exist",
            ));
        }
        // Another account, or not a card location.
        _ => {
            return Err(DavError::forbidden()
                .with_reason("destination is not a card location of this account"));
        }
    };
    if dc.id == src.id && dname == meta.name {
        return Err(DavError::forbidden().with_reason("source and destination are the same"));
    }
    let overwrite = headers::overwrite(&ctx.req.headers)?;
    let out = if is_move {
        let cond = headers::condition(&ctx.req.headers)?;
        ctx.storage
            .move_object(src.id, &meta.name, dc.id, &dname, overwrite, &cond)
            .await
    } else {
        let replacement = if dc.id == src.id {
            let mut objs = ctx
                .storage
                .get_objects(src.id, std::slice::from_ref(&meta.name))
                .await?;
            let obj = objs.pop().ok_or_else(DavError::not_found)?;
            let uid = vcard::new_uid();
            let body = vcard::uid::replace_uid(&obj.body, &uid);
            Some(NewObject {
                name: dname.clone(),
                uid,
                etag: etag_of(&body),
                content_type: VCARD_TYPE.into(),
                body,
            })
        } else {
            None
        };
        ctx.storage
            .copy_object(
                src.id,
                &meta.name,
                dc.id,
                &dname,
                overwrite,
                replacement.as_ref(),
            )
            .await
    };
    let out = out.map_err(|e| uid_conflict(ctx, &dc, &dname, e))?;
    Ok(response::status(if out.replaced {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::CREATED
    }))
}

/// MKCOL (plain or RFC 5689 extended) of an address book in the home.
///
/// A plain MKCOL (no body) in the address-book home creates an address book too: the home
/// holds nothing else, and some clients create books that way.
pub async fn mkcol(ctx: &Ctx<'_>, r: &Resource) -> Result<Response, DavError> {
    let Resource::NewAddressbook(slug) = r else {
        return Err(not_allowed(r));
    };
    if slug.is_empty() || slug.len() > 128 {
        return Err(DavError::forbidden().with_reason("invalid address book name"));
    }
    let body = &ctx.req.body;
    let parsed = if body.iter().all(u8::is_ascii_whitespace) {
        Default::default()
    } else {
        let ct = ctx
            .req
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let mime = mime_of(ct);
        if !(mime.is_empty() || mime == "application/xml" || mime == "text/xml") {
            // RFC 4918 §9.3: a body we do not understand.
            return Err(DavError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE));
        }
        parse_mkcol(body)?
    };
    if let Some(rt) = &parsed.resourcetype {
        let has = |ns: &str, l: &str| rt.iter().any(|q| q.is(ns, l));
        if !(has(NS_DAV, "collection") && has(NS_CARDDAV, "addressbook")) || rt.len() != 2 {
            return Err(DavError::condition(Precondition::ValidResourcetype));
        }
    }
    let probe = Resource::Addressbook(Collection {
        id: 0,
        account_id: ctx.account.id,
        kind: CollectionKind::Addressbook,
        slug: slug.clone(),
        token_id: String::new(),
        seq: 0,
        horizon: 0,
        sort_order: 0,
        created_at: 0,
    });
    let mut props = Vec::new();
    for op in crate::dav::proppatch::to_storage_ops(&parsed.props) {
        match op {
            crate::storage::PropOp::Set(p) => {
                if !crate::dav::proppatch::writable(
                    &probe,
                    &crate::dav::xml::QName::new(&p.namespace, &p.name),
                ) {
                    return Err(DavError::condition(
                        Precondition::CannotModifyProtectedProperty,
                    ));
                }
                props.push(p);
            }
            crate::storage::PropOp::Remove { .. } => {}
        }
    }
    if !props
        .iter()
        .any(|p| p.namespace == NS_DAV && p.name == "displayname")
    {
        props.push(crate::dav::displayname(slug));
    }
    let new = NewCollection {
        kind: CollectionKind::Addressbook,
        slug: slug.clone(),
        sort_order: 10,
        props,
    };
    match ctx.storage.create_collection(ctx.account.id, &new).await {
        Ok(_) => Ok(response::status(StatusCode::CREATED)),
        Err(StorageError::AlreadyExists) => Err(not_allowed(r)),
        Err(e) => Err(e.into()),
    }
}
