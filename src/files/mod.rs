//! Plain WebDAV collections (RFC 4918) under `/dav/files/{number}/`: what a file manager
//! (GNOME Online Accounts, litmus) expects of a class 1 server. Owns RFC 4918 §9.3 MKCOL
//! (§9.3.1 status codes: 405 on an existing resource, 409 without a parent, 415 for a
//! body), §9.4 GET/HEAD, §9.6 DELETE (of a collection: the whole tree), §9.7 PUT (any
//! content type, stored as sent; 409 without a parent), §9.8 COPY and §9.9 MOVE with
//! `Depth` (§9.8.3, §9.9.2), `Overwrite` (§10.6; 412 when F and the destination exists,
//! 204 when a destination was replaced) and `Destination` (§10.3; 502 for another host,
//! 403 for anything outside this account's files), for files and sub-collections alike.
//! PROPFIND and PROPPATCH (dead properties on every member) are `dav::propfind` and
//! `dav::proppatch`; `sync-collection` on the home is `sync::report`.
//!
//! The tree is one `CollectionKind::Files` collection per account whose members are named
//! by their relative path (see "Trees" in `storage`); every write below is one storage
//! transaction, and parent/overwrite checks happen inside it.
//!
//! Does not: LOCK/UNLOCK (so `DAV:` advertises no class 2) or evaluate the RFC 4918 `If`
//! header; `If-Match`/`If-None-Match` are honoured on PUT and on DELETE of a file. Never
//! logs file bodies.

use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};

use crate::dav::Ctx;
use crate::dav::error::DavError;
use crate::dav::headers::{self, Depth};
use crate::dav::method::{Method, not_allowed};
use crate::dav::object::Representation;
use crate::dav::resource::{FILES_SLUG, Path, Resource, parse_path, tree_children};
use crate::dav::response::{self, Response};
use crate::storage::{
    Collection, CollectionKind, Condition, NewCollection, NewObject, StorageError, etag_of,
};

/// Content type recorded for sub-collections (never served: collections have no
/// `getcontenttype`).
pub const FOLDER_TYPE: &str = "httpd/unix-directory";

/// Content type recorded for a PUT without one (RFC 9110 §8.3).
const DEFAULT_TYPE: &str = "application/octet-stream";

/// Longest member path accepted, in bytes (index keys stay well inside PostgreSQL's limit).
pub const MAX_PATH: usize = 1024;

/// Refuses a member path too long to store (414). Paths with control characters never
/// get here: `dav::resource::parse_path` puts them outside the URL space (404).
fn check_name(name: &str) -> Result<(), DavError> {
    if name.len() > MAX_PATH {
        return Err(DavError::new(StatusCode::URI_TOO_LONG).with_reason("path too long"));
    }
    Ok(())
}

/// Plain WebDAV files as a collection type, registered in `app.rs`.
pub struct Files;

#[async_trait::async_trait]
impl crate::dav::kind::CollectionType for Files {
    fn kind(&self) -> CollectionKind {
        CollectionKind::Files
    }

    /// The account's one files collection, `/dav/files/{number}/`.
    fn defaults(&self) -> Vec<NewCollection> {
        vec![crate::dav::default_collection(
            CollectionKind::Files,
            FILES_SLUG,
            "Files",
        )]
    }

    fn owns(&self, r: &Resource) -> bool {
        owns(r)
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
        handle(ctx, method, r).await
    }
}

/// Whether a write method on `r` is handled here.
pub fn owns(r: &Resource) -> bool {
    matches!(
        r,
        Resource::File(..) | Resource::Folder(..) | Resource::NewFile(..) | Resource::FilesHome(_)
    )
}

/// PUT, DELETE, MKCOL, COPY and MOVE on the files tree (the method table has already
/// admitted `method` for `r`).
pub async fn handle(ctx: &Ctx<'_>, method: Method, r: &Resource) -> Result<Response, DavError> {
    match method {
        Method::Put => put(ctx, r).await,
        Method::Delete => delete(ctx, r).await,
        Method::Mkcol => mkcol(ctx, r).await,
        Method::Copy => transfer(ctx, r, false).await,
        Method::Move => transfer(ctx, r, true).await,
        _ => Err(not_allowed(r)),
    }
}

/// GET/HEAD: a file's bytes as stored, with its content type; a collection answers a
/// plain-text list of its members (RFC 4918 §9.4 leaves GET on collections open).
pub async fn get(ctx: &Ctx<'_>, r: &Resource, head: bool) -> Result<Response, DavError> {
    let (c, meta) = match r {
        Resource::File(c, m) => (c, m),
        Resource::Folder(c, m) => return listing(ctx, c, &m.name, head).await,
        Resource::FilesHome(c) => return listing(ctx, c, "", head).await,
        _ => return Err(not_allowed(r)),
    };
    crate::dav::object::get(ctx, c, meta, head, |obj| Representation {
        content_type: if obj.meta.content_type.is_empty() {
            DEFAULT_TYPE.into()
        } else {
            obj.meta.content_type
        },
        body: obj.body,
        stored_entity: true,
    })
    .await
}

async fn listing(
    ctx: &Ctx<'_>,
    c: &Collection,
    prefix: &str,
    head: bool,
) -> Result<Response, DavError> {
    let mut text = String::new();
    for m in tree_children(ctx.storage, c, prefix).await? {
        text.push_str(m.name.strip_prefix(prefix).unwrap_or(&m.name));
        text.push('\n');
    }
    let len = text.len();
    let mut resp = response::with_body(
        StatusCode::OK,
        "text/plain; charset=utf-8",
        if head { Vec::new() } else { text.into_bytes() },
    );
    resp.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    Ok(resp)
}

/// PUT of a file: stored byte for byte with the request's content type.
async fn put(ctx: &Ctx<'_>, r: &Resource) -> Result<Response, DavError> {
    let (c, name) = match r {
        Resource::File(c, m) => (c, m.name.clone()),
        Resource::NewFile(c, n) => (c, n.clone()),
        _ => return Err(not_allowed(r)),
    };
    check_name(&name)?;
    let cond = headers::condition(&ctx.req.headers)?;
    let content_type = ctx
        .req
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .unwrap_or(DEFAULT_TYPE)
        .to_string();
    let body: Bytes = ctx.req.body.clone();
    let etag = etag_of(&body);
    let obj = NewObject {
        name,
        uid: String::new(),
        etag: etag.clone(),
        content_type,
        body: body.to_vec(),
    };
    let out = ctx
        .storage
        .put_path(c.id, &obj, &cond)
        .await
        .map_err(|e| match e {
            // The path became a collection meanwhile (RFC 4918 §9.7: PUT on a collection).
            StorageError::AlreadyExists => not_allowed(r),
            e => e.into(),
        })?;
    let mut resp = response::status(if out.created {
        StatusCode::CREATED
    } else {
        StatusCode::NO_CONTENT
    });
    resp.headers_mut()
        .insert(header::ETAG, response::etag_header(&etag));
    Ok(resp)
}

/// MKCOL (RFC 4918 §9.3): an empty sub-collection; a body is 415.
async fn mkcol(ctx: &Ctx<'_>, r: &Resource) -> Result<Response, DavError> {
    let Resource::NewFile(c, name) = r else {
        return Err(not_allowed(r));
    };
    check_name(name)?;
    if !ctx.req.body.is_empty() {
        // §9.3: the server does not understand any MKCOL body on a plain collection.
        return Err(DavError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE)
            .with_reason("MKCOL here takes no body"));
    }
    let obj = NewObject {
        name: format!("{name}/"),
        uid: String::new(),
        etag: etag_of(b""),
        content_type: FOLDER_TYPE.into(),
        body: Vec::new(),
    };
    match ctx
        .storage
        .put_path(c.id, &obj, &Condition::IfNoneMatchAny)
        .await
    {
        Ok(_) => Ok(response::status(StatusCode::CREATED)),
        // Created meanwhile, as either kind: §9.3.1 "405 (Method Not Allowed)".
        Err(StorageError::AlreadyExists | StorageError::PreconditionFailed) => Err(not_allowed(r)),
        Err(e) => Err(e.into()),
    }
}

/// DELETE (RFC 4918 §9.6): a file (with its `If-Match`) or a whole sub-tree.
async fn delete(ctx: &Ctx<'_>, r: &Resource) -> Result<Response, DavError> {
    match r {
        Resource::File(c, m) => {
            let cond = headers::condition(&ctx.req.headers)?;
            ctx.storage.delete_object(c.id, &m.name, &cond).await?;
        }
        Resource::Folder(c, m) => {
            // §9.6.1: a collection is deleted with Depth infinity; nothing else is allowed.
            if headers::depth(&ctx.req.headers, Depth::Infinity)? != Depth::Infinity {
                return Err(DavError::bad_request(
                    "DELETE of a collection needs Depth: infinity",
                ));
            }
            ctx.storage.delete_tree(c.id, &m.name).await?;
        }
        _ => return Err(not_allowed(r)),
    }
    Ok(response::status(StatusCode::NO_CONTENT))
}

/// The authority (`host[:port]`) of an absolute URL, if it is one.
fn authority(href: &str) -> Option<&str> {
    let h = href.trim();
    let rest = h
        .strip_prefix("http://")
        .or_else(|| h.strip_prefix("https://"))?;
    Some(rest.split('/').next().unwrap_or(rest))
}

/// COPY or MOVE inside the account's files (RFC 4918 §9.8, §9.9).
async fn transfer(ctx: &Ctx<'_>, r: &Resource, is_move: bool) -> Result<Response, DavError> {
    let (c, from) = match r {
        Resource::File(c, m) | Resource::Folder(c, m) => (c, m.name.as_str()),
        _ => return Err(not_allowed(r)),
    };
    let raw = ctx
        .req
        .headers
        .get("destination")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| DavError::bad_request("missing Destination header"))?;
    if let Some(dest_host) = authority(raw) {
        let host = ctx
            .req
            .headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok());
        if host.is_some_and(|h| !h.eq_ignore_ascii_case(dest_host)) {
            // §9.8.5: "502 (Bad Gateway) … the destination is on another server".
            return Err(DavError::new(StatusCode::BAD_GATEWAY)
                .with_reason("destination is on another server"));
        }
    }
    let dest = parse_path(&headers::destination(&ctx.req.headers)?);
    let to_base = match &dest {
        Path::Files(n, segs) if ctx.owns(n) && !segs.is_empty() => segs.join("/"),
        _ => {
            return Err(
                DavError::forbidden().with_reason("destination is not inside this account's files")
            );
        }
    };
    check_name(&to_base)?;
    let is_dir = from.ends_with('/');
    let to = if is_dir {
        format!("{to_base}/")
    } else {
        to_base
    };
    let fd = format!("{}/", from.trim_end_matches('/'));
    let td = format!("{}/", to.trim_end_matches('/'));
    if from == to || to.starts_with(&fd) || from.starts_with(&td) {
        // §9.8.5/§9.9.4: source and destination are the same (or nested) resource.
        return Err(DavError::forbidden().with_reason("source and destination overlap"));
    }
    let depth = headers::depth(&ctx.req.headers, Depth::Infinity)?;
    let overwrite = headers::overwrite(&ctx.req.headers)?;
    let storage = &ctx.storage;
    let out = if is_move {
        // §9.9.2: MOVE of a collection acts as Depth infinity and accepts nothing else.
        if is_dir && depth != Depth::Infinity {
            return Err(DavError::bad_request(
                "MOVE of a collection needs Depth: infinity",
            ));
        }
        storage.move_tree(c.id, from, &to, overwrite).await
    } else {
        // §9.8.3: Depth 0 or infinity on a collection; 1 is not defined for COPY.
        if is_dir && depth == Depth::One {
            return Err(DavError::bad_request("COPY takes Depth 0 or infinity"));
        }
        storage
            .copy_tree(c.id, from, &to, overwrite, depth == Depth::Infinity)
            .await
    };
    let out = out.map_err(|e| match e {
        StorageError::ParentMissing => {
            DavError::conflict("the destination's parent collection does not exist")
        }
        e => e.into(),
    })?;
    Ok(response::status(if out.replaced {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::CREATED
    }))
}
