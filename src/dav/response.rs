//! Building HTTP responses: multistatus, `<D:error>` bodies, plain statuses.

use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use http_body_util::Full;

use super::error::DavError;
use super::xml::error_body;

/// The response body type every handler returns.
pub type Body = Full<Bytes>;
pub type Response = http::Response<Body>;

pub const XML: &str = "application/xml; charset=utf-8";

/// A response with a status and no body.
pub fn status(s: StatusCode) -> Response {
    let mut r = Response::new(Body::new(Bytes::new()));
    *r.status_mut() = s;
    r
}

/// A 207 Multi-Status with the given XML.
pub fn multistatus(xml: String) -> Response {
    with_body(StatusCode::MULTI_STATUS, XML, xml.into_bytes())
}

/// A response with a body and content type.
pub fn with_body(s: StatusCode, content_type: &str, body: Vec<u8>) -> Response {
    let mut r = Response::new(Body::new(Bytes::from(body)));
    *r.status_mut() = s;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    r
}

/// Renders a [`DavError`]: `<D:error>` with the precondition element alone when there is
/// one (RFC 4918 §16), the reason, if any, in a `{urn:x-dialbook:ns}reason` element after
/// it; without a precondition, a short plain-text reason. Reasons never carry card
/// contents.
pub fn error(e: DavError) -> Response {
    let mut r = match (&e.condition, &e.reason) {
        (Some(c), reason) => with_body(
            e.status,
            XML,
            error_body(&c.element(), reason.as_deref()).into_bytes(),
        ),
        (None, Some(reason)) => with_body(
            e.status,
            "text/plain; charset=utf-8",
            format!("{reason}\n").into_bytes(),
        ),
        (None, None) => status(e.status),
    };
    for (name, value) in e.headers {
        if let Ok(v) = HeaderValue::from_str(&value) {
            r.headers_mut().append(name, v);
        }
    }
    r
}
