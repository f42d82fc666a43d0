//! The method table: which methods each kind of resource answers. The same table drives
//! dispatch and the `Allow` header of a 405 (RFC 9110 §15.5.6) and of OPTIONS, so the two
//! can never disagree.

use super::resource::Resource;

/// The methods we know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Options,
    Get,
    Head,
    Put,
    Delete,
    Post,
    Propfind,
    Proppatch,
    Mkcol,
    Copy,
    Move,
    Report,
}

impl Method {
    pub fn parse(m: &http::Method) -> Option<Method> {
        Some(match m.as_str() {
            "OPTIONS" => Method::Options,
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            "POST" => Method::Post,
            "PROPFIND" => Method::Propfind,
            "PROPPATCH" => Method::Proppatch,
            "MKCOL" => Method::Mkcol,
            "COPY" => Method::Copy,
            "MOVE" => Method::Move,
            "REPORT" => Method::Report,
            _ => return None,
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Options => "OPTIONS",
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Post => "POST",
            Method::Propfind => "PROPFIND",
            Method::Proppatch => "PROPPATCH",
            Method::Mkcol => "MKCOL",
            Method::Copy => "COPY",
            Method::Move => "MOVE",
            Method::Report => "REPORT",
        }
    }
}

use Method::*;

/// The methods a resource answers (other than 404 for `Missing`).
pub fn allowed(r: &Resource) -> &'static [Method] {
    match r {
        // REPORT everywhere a resource exists: RFC 3744 §9.2 `acl-principal-prop-set`
        // applies to every resource (see `acl::report` for the others).
        Resource::Root
        | Resource::DavRoot
        | Resource::PrincipalsRoot
        | Resource::AddressbooksRoot
        | Resource::FilesRoot => &[Options, Get, Head, Propfind, Report],
        Resource::Principal => &[Options, Propfind, Report],
        Resource::AddressbookHome => &[Options, Propfind, Proppatch, Report],
        Resource::Addressbook(_) => &[Options, Propfind, Proppatch, Report, Delete, Post],
        Resource::NewAddressbook(_) => &[Options, Mkcol],
        Resource::Contact(..) => &[
            Options, Get, Head, Put, Delete, Propfind, Proppatch, Copy, Move, Report,
        ],
        Resource::NewContact(..) => &[Options, Put],
        Resource::FilesHome(_) => &[Options, Get, Head, Propfind, Proppatch, Report],
        Resource::Folder(..) => &[
            Options, Get, Head, Delete, Propfind, Proppatch, Copy, Move, Report,
        ],
        Resource::File(..) => &[
            Options, Get, Head, Put, Delete, Propfind, Proppatch, Copy, Move, Report,
        ],
        Resource::NewFile(..) => &[Options, Put, Mkcol],
        Resource::Missing => &[Options],
    }
}

/// 405 Method Not Allowed for `r`, with the `Allow` header RFC 9110 §15.5.6 requires,
/// from the same table that drives dispatch.
pub fn not_allowed(r: &Resource) -> super::error::DavError {
    super::error::DavError::new(http::StatusCode::METHOD_NOT_ALLOWED)
        .with_header(http::header::ALLOW, allow_header(r))
}

/// The `Allow` header value for a resource.
pub fn allow_header(r: &Resource) -> String {
    allowed(r)
        .iter()
        .map(|m| m.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The `DAV:` header (RFC 4918 §10.1): class 1 and 3 (no class 2: we have no LOCK),
/// extended MKCOL (RFC 5689) and `addressbook` (RFC 6352 §6.1).
pub const DAV_HEADER: &str = "1, 3, extended-mkcol, addressbook";
