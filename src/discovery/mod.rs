//! Discovery (RFC 6764 §5, §6): `/.well-known/carddav` redirects to the DAV root, and the
//! root answers `current-user-principal` so a client given only a host name finds the
//! principal, then `addressbook-home-set` (Thunderbird, Kozea/Radicale#1318).
//!
//! DNS SRV/TXT records are documented in the README; they live outside the server.

use http::{HeaderValue, StatusCode, header};

use crate::dav::response::{self, Response};

/// The context path every well-known URI redirects to.
pub const CONTEXT_PATH: &str = "/dav/";

/// RFC 6764 §5: a redirect from the well-known URI to the context path. 301, as the
/// RFC's examples use; clients re-issue PROPFIND to the target.
pub fn well_known() -> Response {
    let mut r = response::status(StatusCode::MOVED_PERMANENTLY);
    r.headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static(CONTEXT_PATH));
    r
}
