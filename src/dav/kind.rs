//! The seam between the protocol core and the collection types: `dav/` dispatches GET,
//! the writes and the type-specific REPORTs of a resource to the [`CollectionType`] that
//! owns it, found in the [`Types`] registry the composition root hands in. A type (CardDAV
//! address books, plain WebDAV files, later CalDAV calendars) implements the trait in its
//! own folder and is registered with one line in `app.rs`.
//!
//! Still shared, and so named here rather than in the types: the method table
//! (`method::allowed`), the live properties (`props`), the precondition table
//! (`error`), PROPFIND/PROPPATCH, `sync-collection` and the principal reports.
//!
//! Does not: know any type (nothing here imports `carddav` or `files`).

use async_trait::async_trait;

use super::Ctx;
use super::error::DavError;
use super::method::Method;
use super::resource::Resource;
use super::response::Response;
use super::xml::Report;
use crate::storage::{CollectionKind, NewCollection};

/// One kind of collection and its members.
#[async_trait]
pub trait CollectionType: Send + Sync + 'static {
    /// The storage kind of its collections.
    fn kind(&self) -> CollectionKind;

    /// The collections every account gets on its first request.
    fn defaults(&self) -> Vec<NewCollection> {
        Vec::new()
    }

    /// Whether `r` is one of its resources: its home, a collection, a member, or a path
    /// where one of them can be created.
    fn owns(&self, r: &Resource) -> bool;

    /// GET or HEAD (the method table has admitted it for `r`).
    async fn get(&self, ctx: &Ctx<'_>, r: &Resource, head: bool) -> Result<Response, DavError>;

    /// PUT, POST, DELETE, MKCOL, COPY or MOVE (the method table has admitted it for `r`).
    async fn write(
        &self,
        ctx: &Ctx<'_>,
        method: Method,
        r: &Resource,
    ) -> Result<Response, DavError>;

    /// Its own REPORTs on `r`; `None` when it has none for this body there (the core
    /// then tries `sync-collection` and the principal reports, else 403
    /// `DAV:supported-report`).
    async fn report(
        &self,
        _ctx: &Ctx<'_>,
        _r: &Resource,
        _report: &Report,
    ) -> Option<Result<Response, DavError>> {
        None
    }
}

/// The registered collection types, in the order their defaults are created.
#[derive(Clone, Copy)]
pub struct Types(pub &'static [&'static dyn CollectionType]);

impl Types {
    /// The type that owns `r`, if any (the roots and the principal belong to none).
    pub fn of(&self, r: &Resource) -> Option<&'static dyn CollectionType> {
        self.0.iter().copied().find(|t| t.owns(r))
    }

    /// Every type's default collections.
    pub fn defaults(&self) -> Vec<NewCollection> {
        self.0.iter().flat_map(|t| t.defaults()).collect()
    }
}
