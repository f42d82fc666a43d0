//! Writing cards: PUT (RFC 6352 §6.3.2) through the item-level merge and the conflict
//! policy (seeds 000 and 002), RFC 5995 `add-member` POST, and the uplink POST.
//!
//! | request | what happens |
//! |---|---|
//! | PUT to a new name | stored as sent (after `vcard::ingest`) |
//! | PUT onto a card, body with another `UID` | 403 `no-uid-conflict` naming the card (RFC 6352 §6.3.2.1); nothing is merged or written. A failing `If-None-Match`, or a stale `If-Match` under `reject`, is a 412 first |
//! | PUT onto a card, body without a `UID` | the card's `UID` is written into it (the body is repaired: no `ETag`), then as below |
//! | PUT without `If-Match` onto a card | two-way merge: incoming items replace or join the stored ones, nothing is deleted |
//! | PUT with the current `If-Match` | intentional replace: what the client removed stays removed |
//! | PUT with a stale `If-Match` | the book's conflict policy: `merge` (three-way against the version the client last saw, two-way if it is no longer kept), `reject` (412), `client-wins`, `server-wins` |
//! | POST `?add-member` | a new card at a server-chosen name |
//! | POST (many cards) | the uplink, see [`super::uplink`] |
//!
//! Whenever the stored card differs from the bytes received, the response has no `ETag`
//! (RFC 6352 §6.3.2.3), so the client re-fetches; a write that changes nothing leaves the
//! ETag and the sync token as they were.
//!
//! Invariant: a card never absorbs another card. Merges only ever join a body into the
//! stored card of the same `UID` (compared as `vcard::merge::uid_key` compares them, so
//! `urn:uuid:` on one side only is the same UID), and storage refuses any write that would
//! replace a card with one of another `UID` (`StorageError::UidMismatch`), so a race cannot
//! slip one in either.

use http::{HeaderValue, StatusCode, header};

use super::uplink::{self, UplinkError, UplinkOptions};
use super::{VCARD_TYPE, accepted_media_type, charset, target_uid_differs, uid_conflict};
use crate::config::{ConflictPolicy, POLICY_PROP};
use crate::dav::error::{DavError, Precondition};
use crate::dav::method::not_allowed;
use crate::dav::resource::Resource;
use crate::dav::response::{self, Response};
use crate::dav::xml::NS_DIALBOOK;
use crate::dav::{Ctx, headers};
use crate::storage::{Collection, Condition, NewObject, PropTarget, StorageError, etag_of};
use crate::vcard::merge::{Prefer, merge_three_way, merge_two_way, uid_key};
use crate::vcard::{self, Ingested, VcardError};

/// How often a merge is retried when another writer changed the card in between.
const MERGE_ATTEMPTS: usize = 3;

/// The request's Content-Type, checked to be a vCard type.
fn vcard_content_type<'a>(ctx: &'a Ctx<'_>) -> Result<&'a str, DavError> {
    let ct = ctx
        .req
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("text/vcard");
    if !accepted_media_type(ct) {
        return Err(DavError::condition(Precondition::SupportedAddressData)
            .with_reason("expected text/vcard"));
    }
    Ok(ct)
}

fn card_error(e: VcardError) -> DavError {
    match e {
        VcardError::Charset(m) => {
            DavError::condition(Precondition::SupportedAddressData).with_reason(m)
        }
        VcardError::Invalid(m) => {
            DavError::condition(Precondition::ValidAddressData).with_reason(m)
        }
    }
}

/// Validates one card from the request body.
fn ingest_body(ctx: &Ctx<'_>) -> Result<Ingested, DavError> {
    let ct = vcard_content_type(ctx)?;
    if ctx.req.body.len() as u64 > ctx.config.limits.max_resource_size {
        return Err(DavError::condition(Precondition::MaxResourceSize));
    }
    vcard::ingest(&ctx.req.body, charset(ct).as_deref()).map_err(card_error)
}

/// The `REV` value for a card changed now (RFC 6350 §6.7.4, basic format, UTC).
pub fn rev_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    crate::dav::response::rfc3339(secs).replace(['-', ':'], "")
}

/// Stores an ingested card as sent, under `cond`.
async fn store(
    ctx: &Ctx<'_>,
    coll: &Collection,
    name: &str,
    cond: &Condition,
    ing: Ingested,
) -> Result<Response, DavError> {
    let etag = etag_of(&ing.bytes);
    let obj = NewObject {
        name: name.to_string(),
        uid: ing.uid,
        etag: etag.clone(),
        content_type: VCARD_TYPE.into(),
        body: ing.bytes,
    };
    let out = ctx
        .storage
        .put_object(coll.id, &obj, cond)
        .await
        .map_err(|e| uid_conflict(ctx, coll, name, e))?;
    let mut r = response::status(if out.created {
        StatusCode::CREATED
    } else {
        StatusCode::NO_CONTENT
    });
    if !ing.repaired {
        r.headers_mut()
            .insert(header::ETAG, response::etag_header(&etag));
    }
    if out.created
        && let Ok(v) = HeaderValue::from_str(&ctx.hrefs.contact(&coll.slug, name))
    {
        r.headers_mut().insert(header::LOCATION, v);
    }
    Ok(r)
}

/// Whether two `UID` values name the same card (`urn:uuid:` and surrounding space aside).
fn same_uid(a: &str, b: &str) -> bool {
    uid_key(a) == uid_key(b)
}

/// RFC 6352 §6.3.2.1 on a write onto a card whose stored `UID` is `target_uid`: a body
/// without a `UID` gets the card's, and a body whose `UID` is the card's is recorded under
/// the stored form of it. Returns whether the body's `UID` is the card's; when it is not,
/// the write is refused (403 `no-uid-conflict`): here before a merge, by storage for a
/// write as sent, in both cases after the request's own preconditions.
fn adopt_target_uid(target_uid: &str, ing: &mut Ingested) -> bool {
    if ing.uid_added {
        ing.bytes = vcard::uid::replace_uid(&ing.bytes, target_uid);
        ing.repaired = true;
    } else if !same_uid(&ing.uid, target_uid) {
        return false;
    }
    ing.uid = target_uid.to_string();
    true
}

/// The conflict policy in force for a book: its own property, else the server's.
async fn policy(ctx: &Ctx<'_>, coll: &Collection) -> Result<ConflictPolicy, DavError> {
    let props = ctx
        .storage
        .get_props(PropTarget {
            collection: coll.id,
            object: None,
        })
        .await?;
    let own = props
        .iter()
        .find(|p| p.namespace == NS_DIALBOOK && p.name == POLICY_PROP)
        .and_then(|p| crate::dav::xml::property_text(&p.value))
        .and_then(|t| ConflictPolicy::parse(&t));
    Ok(own.unwrap_or(ctx.config.merge.conflict_policy))
}

/// Merges the incoming card into the stored card `name` (three-way when `base` is the
/// version the client started from, else two-way) and writes the result only if it
/// changed, with the stored ETag as precondition; retried if another writer won the race.
async fn merge_into(
    ctx: &Ctx<'_>,
    coll: &Collection,
    name: &str,
    incoming: Ingested,
    base: Option<Vec<u8>>,
) -> Result<Response, DavError> {
    let region = ctx.data_region();
    let now = rev_now();
    for _ in 0..MERGE_ATTEMPTS {
        let mut objs = ctx
            .storage
            .get_objects(coll.id, &[name.to_string()])
            .await?;
        let Some(stored) = objs.pop() else {
            // Deleted meanwhile: the incoming card is all there is.
            return store(ctx, coll, name, &Condition::IfNoneMatchAny, incoming).await;
        };
        // The card may have been replaced since the request was resolved: check its UID
        // as it is now (the write below is conditional on exactly this version).
        if !same_uid(&incoming.uid, &stored.meta.uid) {
            return Err(target_uid_differs(ctx, coll, name));
        }
        let merged = match &base {
            Some(b) => merge_three_way(
                b,
                &stored.body,
                &incoming.bytes,
                Prefer::Incoming,
                &now,
                region,
            ),
            None => merge_two_way(&stored.body, &incoming.bytes, &now, region),
        }
        .map_err(card_error)?;
        if !merged.changed {
            let mut r = response::status(StatusCode::NO_CONTENT);
            if stored.body == incoming.bytes && !incoming.repaired {
                r.headers_mut()
                    .insert(header::ETAG, response::etag_header(&stored.meta.etag));
            }
            return Ok(r);
        }
        // The merge keeps the stored card's UID line, so its UID is the stored one.
        let uid = stored.meta.uid.clone();
        let etag = etag_of(&merged.bytes);
        let exact = merged.bytes == incoming.bytes && !incoming.repaired;
        let obj = NewObject {
            name: name.to_string(),
            uid,
            etag: etag.clone(),
            content_type: VCARD_TYPE.into(),
            body: merged.bytes,
        };
        match ctx
            .storage
            .put_object(
                coll.id,
                &obj,
                &Condition::IfMatch(vec![stored.meta.etag.clone()]),
            )
            .await
        {
            Ok(_) => {
                let mut r = response::status(StatusCode::NO_CONTENT);
                if exact {
                    r.headers_mut()
                        .insert(header::ETAG, response::etag_header(&etag));
                }
                return Ok(r);
            }
            Err(StorageError::PreconditionFailed) => continue,
            Err(e) => return Err(uid_conflict(ctx, coll, name, e)),
        }
    }
    Err(DavError::precondition_failed().with_reason("the card kept changing; try again"))
}

/// Whether a write failed only because its `If-Match` no longer named the current ETag.
fn is_stale(e: &DavError) -> bool {
    e.status == StatusCode::PRECONDITION_FAILED && e.condition.is_none()
}

/// A PUT whose `If-Match` names an older version: the book's conflict policy decides.
/// `same_uid` says whether the body is the card's (see [`adopt_target_uid`]); a policy
/// that would take the body refuses one of another card.
async fn stale_write(
    ctx: &Ctx<'_>,
    coll: &Collection,
    name: &str,
    tags: &[String],
    ing: Ingested,
    same_uid: bool,
) -> Result<Response, DavError> {
    match policy(ctx, coll).await? {
        ConflictPolicy::Reject => Err(DavError::precondition_failed()),
        _ if !same_uid => Err(target_uid_differs(ctx, coll, name)),
        ConflictPolicy::ClientWins => store(ctx, coll, name, &Condition::None, ing).await,
        // Nothing is written; without an ETag the client re-fetches the server's version.
        ConflictPolicy::ServerWins => Ok(response::status(StatusCode::NO_CONTENT)),
        ConflictPolicy::Merge => {
            let mut base = None;
            for t in tags {
                if let Some(b) = ctx.storage.object_version(coll.id, name, t).await? {
                    base = Some(b);
                    break;
                }
            }
            merge_into(ctx, coll, name, ing, base).await
        }
    }
}

/// PUT of a card.
pub async fn put(ctx: &Ctx<'_>, r: &Resource) -> Result<Response, DavError> {
    let cond = headers::condition(&ctx.req.headers)?;
    match r {
        Resource::NewContact(coll, name) => {
            let ing = ingest_body(ctx)?;
            store(ctx, coll, name, &cond, ing).await
        }
        Resource::Contact(coll, meta) => {
            let mut ing = ingest_body(ctx)?;
            let same = adopt_target_uid(&meta.uid, &mut ing);
            match &cond {
                // The patent's unconditional upload onto an existing record, which never
                // absorbs another card.
                Condition::None if !same => Err(target_uid_differs(ctx, coll, &meta.name)),
                Condition::None => merge_into(ctx, coll, &meta.name, ing, None).await,
                Condition::IfMatch(tags) if !tags.contains(&meta.etag) => {
                    stale_write(ctx, coll, &meta.name, tags, ing, same).await
                }
                // A current If-Match (an intentional replace): as sent, with storage
                // checking the condition inside the write. If another writer got in
                // between, the If-Match has become stale: the policy decides.
                Condition::IfMatch(tags) => {
                    match store(ctx, coll, &meta.name, &cond, ing.clone()).await {
                        Err(e) if is_stale(&e) => {
                            stale_write(ctx, coll, &meta.name, tags, ing, same).await
                        }
                        other => other,
                    }
                }
                // If-None-Match and If-Match: * go to storage as they are (its condition
                // first, then the card's UID).
                _ => store(ctx, coll, &meta.name, &cond, ing).await,
            }
        }
        _ => Err(not_allowed(r)),
    }
}

/// POST to an address book: `?add-member` (RFC 5995) stores one card at a server-chosen
/// name; any other POST of `text/vcard` is an uplink of one or more cards, answered with
/// a JSON report (`docs/merge.md`).
pub async fn post(ctx: &Ctx<'_>, r: &Resource) -> Result<Response, DavError> {
    let Resource::Addressbook(coll) = r else {
        return Err(not_allowed(r));
    };
    if ctx.req.query.as_deref() == Some("add-member") {
        let ing = ingest_body(ctx)?;
        let name = format!("{}.vcf", vcard::new_uid());
        return store(ctx, coll, &name, &Condition::IfNoneMatchAny, ing).await;
    }
    let ct = vcard_content_type(ctx)?;
    let now = rev_now();
    let opts = UplinkOptions {
        region: ctx.data_region(),
        max_resource_size: ctx.config.limits.max_resource_size,
        now: &now,
    };
    let report = uplink::apply(
        ctx.storage,
        coll,
        &ctx.req.body,
        charset(ct).as_deref(),
        &opts,
    )
    .await
    .map_err(|e| uplink_error(ctx, coll, e))?;
    let body = serde_json::to_vec_pretty(&report)
        .map_err(|_| DavError::new(StatusCode::INTERNAL_SERVER_ERROR))?;
    Ok(response::with_body(
        StatusCode::OK,
        "application/json",
        body,
    ))
}

/// Maps an uplink failure; the reason names the card by its position.
pub fn uplink_error(ctx: &Ctx<'_>, coll: &Collection, e: UplinkError) -> DavError {
    let reason = e.to_string();
    match e {
        UplinkError::Split(_) => {
            DavError::condition(Precondition::ValidAddressData).with_reason(reason)
        }
        UplinkError::Card { error, .. } => card_error(error).with_reason(reason),
        UplinkError::TooLarge { .. } => {
            DavError::condition(Precondition::MaxResourceSize).with_reason(reason)
        }
        UplinkError::Storage(e) => {
            let e = match e {
                StorageError::Batch { error, .. } => *error,
                e => e,
            };
            match e {
                // A card of the upload whose UID another card holds: that card's href.
                StorageError::UidConflict(other) => DavError::condition(
                    Precondition::NoUidConflict(ctx.hrefs.contact(&coll.slug, &other)),
                ),
                e => e.into(),
            }
        }
    }
}
