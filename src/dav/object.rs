//! One stored member over HTTP, whatever collection type holds it: GET and HEAD (RFC 9110
//! §9.3.1, §9.3.2; RFC 4918 §9.4) with `If-None-Match` (RFC 9110 §13.1.2: 304 with the
//! `ETag`), one read of the body, and the headers every member response carries.
//!
//! Does not: decide the representation (the collection type converts a card or names a
//! file's content type through [`Representation`]), or answer GET on collections.

use http::{HeaderValue, StatusCode, header};

use super::error::DavError;
use super::response::{self, Response};
use super::{Ctx, headers};
use crate::storage::{Collection, Object, ObjectMeta};

/// What a collection type serves for a stored member.
pub struct Representation {
    pub body: Vec<u8>,
    pub content_type: String,
    /// Whether `body` is the stored entity itself. A converted representation is not, and
    /// gets no `ETag` (RFC 9110 §8.8.3: the tag names the stored bytes).
    pub stored_entity: bool,
}

/// GET (or HEAD: the same headers, no body) of member `meta` of `coll`: 304 when
/// `If-None-Match` names its ETag; else `represent` renders the stored object, and the
/// response carries `ETag` (for the stored entity only), `Last-Modified` and
/// `Content-Length`.
pub async fn get(
    ctx: &Ctx<'_>,
    coll: &Collection,
    meta: &ObjectMeta,
    head: bool,
    represent: impl FnOnce(Object) -> Representation,
) -> Result<Response, DavError> {
    if headers::not_modified(&ctx.req.headers, &meta.etag) {
        let mut resp = response::status(StatusCode::NOT_MODIFIED);
        resp.headers_mut()
            .insert(header::ETAG, response::etag_header(&meta.etag));
        return Ok(resp);
    }
    let obj = ctx
        .storage
        .get_objects(coll.id, std::slice::from_ref(&meta.name))
        .await?
        .pop()
        .ok_or_else(DavError::not_found)?;
    let (etag, modified_at) = (obj.meta.etag.clone(), obj.meta.modified_at);
    let rep = represent(obj);
    let len = rep.body.len();
    let mut resp = response::with_body(
        StatusCode::OK,
        &rep.content_type,
        if head { Vec::new() } else { rep.body },
    );
    let h = resp.headers_mut();
    if rep.stored_entity {
        h.insert(header::ETAG, response::etag_header(&etag));
    }
    if let Ok(v) = HeaderValue::from_str(&response::http_date(modified_at)) {
        h.insert(header::LAST_MODIFIED, v);
    }
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    Ok(resp)
}
