//! CardDAV reports: `addressbook-multiget` (RFC 6352 §8.7) and `addressbook-query`
//! (§8.6, with `limit` truncation per §8.6.1).

use std::collections::HashMap;

use crate::dav::Ctx;
use crate::dav::error::DavError;
use crate::dav::propfind::{Wanted, propstats};
use crate::dav::resource::{Path, Resource, href_path, parse_path};
use crate::dav::response::{self, Response};
use crate::dav::xml::{AddressbookQuery, Multiget, MultistatusWriter, Response as MsResponse};
use crate::props::PropCtx;
use crate::storage::{Collection, DeadProp};

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
        for (name, p) in ctx.app.storage.member_props(coll.id).await? {
            map.entry(name).or_default().push(p);
        }
    }
    Ok(map)
}

pub fn prop_ctx<'a>(ctx: &'a Ctx<'_>) -> PropCtx<'a> {
    PropCtx {
        hrefs: &ctx.hrefs,
        max_resource_size: ctx.app.config.limits.max_resource_size,
        home_collections: None,
    }
}

/// `addressbook-multiget`: one batch for all bodies; unknown hrefs answer 404.
pub async fn multiget(
    ctx: &Ctx<'_>,
    coll: &Collection,
    m: &Multiget,
) -> Result<Response, DavError> {
    let wanted = Wanted {
        propfind: &m.props.propfind,
        address_data: m.props.address_data.as_ref(),
    };
    // Resolve each href to a member name of this book.
    let names: Vec<Option<String>> = m
        .hrefs
        .iter()
        .map(|h| match parse_path(href_path(h)) {
            Path::Contact(n, b, name) if ctx.owns(&n) && b == coll.slug => Some(name),
            _ => None,
        })
        .collect();
    let wanted_names: Vec<String> = names.iter().flatten().cloned().collect();
    let objects = ctx.app.storage.get_objects(coll.id, &wanted_names).await?;
    let mut by_name: HashMap<String, crate::storage::Object> = objects
        .into_iter()
        .map(|o| (o.meta.name.clone(), o))
        .collect();
    let dead = member_dead_props(ctx, coll, &wanted).await?;
    let pctx = prop_ctx(ctx);
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
/// after `limit` matches and then reports 507 for the request URI (RFC 6352 §8.6.1).
pub async fn query(
    ctx: &Ctx<'_>,
    coll: &Collection,
    q: &AddressbookQuery,
) -> Result<Response, DavError> {
    let wanted = Wanted {
        propfind: &q.props.propfind,
        address_data: q.props.address_data.as_ref(),
    };
    let dead = member_dead_props(ctx, coll, &wanted).await?;
    let pctx = prop_ctx(ctx);
    let mut w = MultistatusWriter::begin();
    let mut matched: u64 = 0;
    let mut truncated = false;
    let mut after: Option<String> = None;
    'scan: loop {
        let page = ctx
            .app
            .storage
            .scan_objects(coll.id, after.as_deref(), SCAN_PAGE)
            .await?;
        let Some(last) = page.last() else { break };
        after = Some(last.meta.name.clone());
        let full = page.len() as u64 == SCAN_PAGE;
        for obj in page {
            if !q.filter.matches(&obj.body) {
                continue;
            }
            if q.limit.is_some_and(|l| matched >= l) {
                truncated = true;
                break 'scan;
            }
            matched += 1;
            let d = dead.get(&obj.meta.name).map(Vec::as_slice).unwrap_or(&[]);
            let child = Resource::Contact(coll.clone(), obj.meta);
            let ps = propstats(&pctx, &child, &wanted, d, Some(&obj.body));
            w.response(&MsResponse::PropStats {
                href: ctx.hrefs.of(&child),
                propstats: ps,
            });
        }
        if !full {
            break;
        }
    }
    if truncated {
        w.response(&MsResponse::Status {
            href: ctx.hrefs.addressbook(&coll.slug),
            status: 507,
            error: Some(crate::dav::error::Precondition::NumberOfMatchesWithinLimits.element()),
        });
    }
    Ok(response::multistatus(w.finish(None)))
}
