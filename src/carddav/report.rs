//! CardDAV reports: `addressbook-multiget` (RFC 6352 §8.7), `addressbook-query` (§8.6,
//! with `limit` truncation per §8.6.1), and dialbook's fingerprint reconciliation
//! (seed 004).
//!
//! Multiget and query answer on an address book and on a card's own URL; on a card their
//! scope is that card alone (a query matches it or answers nothing, a multiget serves its
//! href and answers 404 for any other). An `address-data` asking for a media type or a
//! version we do not serve is 403 `CARDDAV:supported-address-data` (§8.6, §8.7), checked
//! before anything is read: [`check_address_data`], which `sync-collection` shares.

use std::collections::HashMap;

use crate::dav::Ctx;
use crate::dav::error::{DavError, Precondition};
use crate::dav::propfind::{Wanted, propstats};
use crate::dav::resource::{Path, Resource, href_path, parse_path};
use crate::dav::response::{self, Response};
use crate::dav::xml::{
    AddressDataRequest, AddressbookQuery, ClientCard, Multiget, MultistatusWriter,
    Response as MsResponse, escape,
};
use crate::storage::{Collection, DeadProp, Object, ObjectMeta, ObjectPages};

/// Bodies scanned per storage round trip in a query.
const SCAN_PAGE: u64 = 200;

/// Dead properties of every member, grouped by member name, when the request needs them.
pub async fn member_dead_props(
    ctx: &Ctx<'_>,
    coll: &Collection,
    wanted: &Wanted<'_>,
) -> Result<HashMap<String, Vec<DeadProp>>, DavError> {
    let mut map: HashMap<String, Vec<DeadProp>> = HashMap::new();
    if wanted.needs_dead() {
        for (name, p) in ctx.storage.member_props(coll.id).await? {
            map.entry(name).or_default().push(p);
        }
    }
    Ok(map)
}

/// RFC 6352 §10.4: the `content-type` and `version` an `address-data` request names must
/// be ones we serve (`text/vcard`, 3.0 or 4.0), else 403 `CARDDAV:supported-address-data`
/// (§8.6, §8.7). Absent attributes ask for the stored card as it is.
pub fn check_address_data(req: Option<&AddressDataRequest>) -> Result<(), DavError> {
    let Some(req) = req else { return Ok(()) };
    let refused =
        |what: String| DavError::condition(Precondition::SupportedAddressData).with_reason(what);
    if let Some(ct) = &req.content_type {
        let mime = ct.split(';').next().unwrap_or("").trim();
        if !mime.eq_ignore_ascii_case("text/vcard") {
            return Err(refused(format!(
                "address-data content-type {mime:?}: only text/vcard is served"
            )));
        }
    }
    if let Some(v) = &req.version
        && crate::vcard::Version::parse(v).is_none()
    {
        return Err(refused(format!(
            "address-data version {:?}: only 3.0 and 4.0 are served",
            v.trim()
        )));
    }
    Ok(())
}

/// `addressbook-multiget`: one batch for all bodies; unknown hrefs answer 404. With `only`
/// (the report was sent to that card's URL), every href but the card's answers 404.
pub async fn multiget(
    ctx: &Ctx<'_>,
    coll: &Collection,
    only: Option<&ObjectMeta>,
    m: &Multiget,
) -> Result<Response, DavError> {
    check_address_data(m.props.address_data.as_ref())?;
    let wanted = Wanted {
        propfind: &m.props.propfind,
        address_data: m.props.address_data.as_ref(),
    };
    // Resolve each href to a member name of this book (of this card, with `only`).
    let names: Vec<Option<String>> = m
        .hrefs
        .iter()
        .map(|h| match parse_path(href_path(h)) {
            Path::Contact(n, b, name)
                if ctx.owns(&n) && b == coll.slug && only.is_none_or(|meta| meta.name == name) =>
            {
                Some(name)
            }
            _ => None,
        })
        .collect();
    let wanted_names: Vec<String> = names.iter().flatten().cloned().collect();
    let objects = ctx.storage.get_objects(coll.id, &wanted_names).await?;
    let mut by_name: HashMap<String, crate::storage::Object> = objects
        .into_iter()
        .map(|o| (o.meta.name.clone(), o))
        .collect();
    let dead = member_dead_props(ctx, coll, &wanted).await?;
    let pctx = ctx.prop_ctx();
    let mut w = MultistatusWriter::begin();
    for (href, name) in m.hrefs.iter().zip(names) {
        match name.and_then(|n| by_name.remove(&n)) {
            Some(obj) => {
                let d = dead.get(&obj.meta.name).map(Vec::as_slice).unwrap_or(&[]);
                let child = Resource::Contact(coll.clone(), obj.meta);
                let ps = propstats(&pctx, &child, &wanted, d, Some(&obj.body));
                w.response(&MsResponse::PropStats {
                    href: ctx.hrefs.of(&child),
                    propstats: ps,
                });
            }
            None => w.response(&MsResponse::Status {
                href: href.clone(),
                status: 404,
                error: None,
            }),
        }
    }
    Ok(response::multistatus(w.finish(None)))
}

/// `addressbook-query`: scans the book in pages (bounded memory), filters in Rust, stops
/// after `limit` matches and then reports 507 for the request URI (RFC 6352 §8.6.1). With
/// `only` (the report was sent to that card's URL) the card alone is read and filtered.
pub async fn query(
    ctx: &Ctx<'_>,
    coll: &Collection,
    only: Option<&ObjectMeta>,
    q: &AddressbookQuery,
) -> Result<Response, DavError> {
    check_address_data(q.props.address_data.as_ref())?;
    let wanted = Wanted {
        propfind: &q.props.propfind,
        address_data: q.props.address_data.as_ref(),
    };
    let dead = match only {
        Some(meta) => {
            let mut one = HashMap::new();
            if wanted.needs_dead() {
                let target = crate::storage::PropTarget {
                    collection: coll.id,
                    object: Some(&meta.name),
                };
                one.insert(meta.name.clone(), ctx.storage.get_props(target).await?);
            }
            one
        }
        None => member_dead_props(ctx, coll, &wanted).await?,
    };
    let pctx = ctx.prop_ctx();
    let mut w = MultistatusWriter::begin();
    let mut matched: u64 = 0;
    let mut truncated = false;
    // One card's scope is one page of at most one object.
    let mut answer = |obj: Object, w: &mut MultistatusWriter| -> bool {
        if !q.filter.matches(&obj.body) {
            return true;
        }
        if q.limit.is_some_and(|l| matched >= l) {
            truncated = true;
            return false;
        }
        matched += 1;
        let d = dead.get(&obj.meta.name).map(Vec::as_slice).unwrap_or(&[]);
        let child = Resource::Contact(coll.clone(), obj.meta);
        let ps = propstats(&pctx, &child, &wanted, d, Some(&obj.body));
        w.response(&MsResponse::PropStats {
            href: ctx.hrefs.of(&child),
            propstats: ps,
        });
        true
    };
    match only {
        Some(meta) => {
            let objs = ctx
                .storage
                .get_objects(coll.id, std::slice::from_ref(&meta.name))
                .await?;
            for obj in objs {
                answer(obj, &mut w);
            }
        }
        None => {
            let mut pages = ObjectPages::new(coll.id, SCAN_PAGE);
            'scan: while let Some(page) = pages.next(ctx.storage).await? {
                for obj in page {
                    if !answer(obj, &mut w) {
                        break 'scan;
                    }
                }
            }
        }
    }
    if truncated {
        w.response(&MsResponse::Status {
            href: match only {
                Some(meta) => ctx.hrefs.contact(&coll.slug, &meta.name),
                None => ctx.hrefs.addressbook(&coll.slug),
            },
            status: 507,
            error: Some(Precondition::NumberOfMatchesWithinLimits.element()),
        });
    }
    Ok(response::multistatus(w.finish(None)))
}

/// dialbook's reconciliation report (seed 004, `docs/merge.md`): a client that holds cards
/// but no sync token sends (UID, fingerprint) pairs and gets back only the differences —
/// UIDs the server lacks, cards the client lacks and cards whose content differs (with
/// href and ETag) — plus a sync token to continue with incremental syncs. The token is
/// read before the scan, so a change made during the scan is reported again by the next
/// sync rather than lost.
pub async fn reconcile(
    ctx: &Ctx<'_>,
    coll: &Collection,
    cards: &[ClientCard],
) -> Result<Response, DavError> {
    let token = crate::sync::token_for(coll, coll.seq);
    let mut client: HashMap<&str, &str> = cards
        .iter()
        .map(|c| (c.uid.as_str(), c.fingerprint.as_str()))
        .collect();
    let mut client_lacks = Vec::new();
    let mut differs = Vec::new();
    let mut pages = ObjectPages::new(coll.id, SCAN_PAGE);
    while let Some(page) = pages.next(ctx.storage).await? {
        for obj in page {
            // A stored card that cannot be fingerprinted always counts as different.
            let fp = crate::vcard::merge::fingerprint(&obj.body).unwrap_or_default();
            match client.remove(obj.meta.uid.as_str()) {
                Some(theirs) if theirs == fp => {}
                Some(_) => differs.push(obj.meta),
                None => client_lacks.push(obj.meta),
            }
        }
    }
    let mut server_lacks: Vec<&str> = client.into_keys().collect();
    server_lacks.sort_unstable();
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<R:reconcile-result xmlns:R=\"urn:x-dialbook:ns\" xmlns:D=\"DAV:\">\n",
    );
    for uid in server_lacks {
        xml.push_str(&format!("<R:server-lacks uid=\"{}\"/>\n", escape(uid)));
    }
    for (tag, metas) in [("client-lacks", &client_lacks), ("differs", &differs)] {
        for m in metas {
            xml.push_str(&format!(
                "<R:{tag} uid=\"{}\"><D:href>{}</D:href><D:getetag>\"{}\"</D:getetag></R:{tag}>\n",
                escape(&m.uid),
                escape(&ctx.hrefs.contact(&coll.slug, &m.name)),
                escape(&m.etag)
            ));
        }
    }
    xml.push_str(&format!(
        "<D:sync-token>{}</D:sync-token>\n</R:reconcile-result>\n",
        escape(&token)
    ));
    Ok(response::with_body(
        http::StatusCode::OK,
        response::XML,
        xml.into_bytes(),
    ))
}
