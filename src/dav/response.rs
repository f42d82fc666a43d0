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

/// A short page for people who open a DAV collection in a browser.
pub fn about_page(base_url: &str) -> Response {
    let text = format!(
        "dialbook CardDAV server\n\nPoint your contacts app at {base_url}/ with your phone number as the user name.\n"
    );
    with_body(
        StatusCode::OK,
        "text/plain; charset=utf-8",
        text.into_bytes(),
    )
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

/// An `ETag` header value: the tag in double quotes (RFC 9110 §8.8.3).
pub fn etag_header(etag: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{etag}\"")).unwrap_or(HeaderValue::from_static("\"\""))
}

/// RFC 9110 IMF-fixdate.
pub fn http_date(unix: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix.max(0) as u64);
    httpdate::fmt_http_date(t)
}

/// RFC 3339 UTC date-time (`creationdate`, RFC 4918 §15.1).
pub fn rfc3339(unix: i64) -> String {
    let secs = unix.max(0);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod date_tests {
    use super::*;

    #[test]
    fn rfc3339_formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_000_000), "2026-11-18T11:06:40Z");
    }
}
