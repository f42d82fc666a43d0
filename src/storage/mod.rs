//! Storage: the contract every backend keeps, and its sea-orm implementation.
//!
//! Owns: accounts, collections, objects (the bytes a client sent), dead properties, the
//! per-collection change log that RFC 6578 `sync-collection`, `CS:getctag` and
//! `DAV:sync-token` are answered from, and a few recent versions of each object (the
//! bases a caller merges a stale `If-Match` write against).
//!
//! Does not: parse vCards, know DAV or HTTP, merge anything. Callers hand it validated
//! bytes plus the few derived fields it indexes (`uid`).
//!
//! # Shape
//! Callers hold [`Storage`] (`&dyn Storage`). It is the sum of six concern sub-traits
//! ([`Accounts`], [`Collections`], [`Objects`], [`Trees`], [`ChangeLog`], [`DeadProps`], in
//! `concerns.rs`), which is where each method is declared, once, with its own contract; the
//! invariants every method keeps are below. A backend implements the six, and every type
//! that implements all six is a `Storage`. Code calling the contract on a concrete backend
//! (`SeaStorage`) imports [`prelude`]`::*`.
//!
//! # Contract (every backend, tested by `tests/storage_contract.rs` on SQLite and PostgreSQL)
//! - Each method is one atomic unit of work: it commits entirely or not at all.
//! - Every successful change to an object (create, modify, delete, the two sides of a
//!   move) appends exactly one change row per affected object and advances the
//!   collection's sequence **in the same transaction**. A method that fails changes
//!   nothing and appends nothing.
//! - **Writes that change nothing are not changes.** A put whose object already exists
//!   with the same ETag, UID and content type (the same bytes uploaded again) writes
//!   nothing, appends no change row and leaves the sequence, and so the sync token and
//!   ctag, where it was ([`PutOutcome::unchanged`]). Its [`Condition`] is still checked
//!   first: a failing condition is `PreconditionFailed` even when the bytes are identical.
//!   Uploads are therefore idempotent.
//! - **Recent versions.** Whenever a member's bytes are replaced or removed (a changing
//!   put, a delete, the destination overwritten by a move or copy), the bytes it had are
//!   kept under its name together with their ETag, at most `keep_versions` per
//!   (collection, name) (oldest dropped first, in the same transaction). A move carries
//!   the member's versions to its new name; deleting a collection or account drops them.
//!   [`Objects::object_version`] finds the bytes a member had under a given ETag.
//! - **Batches are one transaction.** [`Objects::put_objects`] applies every item or
//!   none; each item behaves as a `put_object` issued in order (its condition and UID
//!   uniqueness are checked against the collection including the earlier items), and each
//!   changing item gets its own change row and sequence number.
//! - Preconditions ([`Condition`], UID uniqueness, overwrite rules) are checked inside
//!   that transaction, after the collection row is locked, so two concurrent writers with
//!   the same `If-Match` cannot both succeed.
//! - **A member keeps its UID.** A put, move or copy that would replace an existing member
//!   with an object whose UID differs from that member's is [`StorageError::UidMismatch`]
//!   and changes nothing (RFC 6352 §6.3.2.1: a card is never overwritten by another card).
//!   UIDs are compared as exact strings; members without a UID (plain files, `""`) only
//!   ever meet other members without one. This is checked after the [`Condition`] and
//!   before UID uniqueness.
//! - Sequences never go backwards and a token never skips a change: `changes_since`
//!   returns changes in sequence order and the token *after the last change returned*.
//! - Listing methods (`list_objects`, `object_meta`) never load bodies; bodies come in
//!   one batch (`get_objects`).
//! - Accounts never see each other: every object and collection lookup is scoped by an
//!   id that callers obtain only through the owning account.
//!
//! # Trees (plain WebDAV collections, `CollectionKind::Files`)
//! A files collection holds a tree flattened into member names: a member's name is its
//! path relative to the collection, segments joined by `/` (`a/b/c.txt`); a member whose
//! name ends with `/` is a sub-collection (`a/`, `a/b/`) with an empty body. The parent of
//! `a/b/c.txt` (and of `a/b/c/`) is the member `a/b/`; the parent of a top-level name is
//! the collection itself, which always exists. A name and its *twin* (the same path as
//! the other kind: `a` and `a/`) never both exist.
//! - [`Trees::put_path`], [`Trees::delete_tree`], [`Trees::copy_tree`] and
//!   [`Trees::move_tree`] are each one transaction, like every other write. Parent
//!   existence ([`StorageError::ParentMissing`]), twins, overwrite rules and the
//!   destination's replacement are decided inside it, after the collection row is locked.
//! - Every member a tree operation creates, removes or renames gets its own change row
//!   and sequence number (a rename: one for the old name, deleted, then one for the new
//!   name), so `changes_since` and sync tokens see tree operations member by member.
//! - Removed members' bodies are kept as versions and dead properties go with their member
//!   (deleted, copied, or moved with it), exactly as for single members.
//! - Prefix matching is by exact string prefix (never `LIKE`, never collation-dependent).

mod concerns;
mod etag;
pub use etag::etag_of;
pub mod entities;
pub mod point_read;
pub mod sea;

pub use concerns::{Accounts, ChangeLog, Collections, DeadProps, Objects, Trees};
pub use sea::SeaStorage;

/// [`Storage`] and its six concern sub-traits: what a caller of the contract on a concrete
/// backend (`SeaStorage`, `Arc<SeaStorage>`) imports, so every method is in scope.
pub mod prelude {
    pub use super::{Accounts, ChangeLog, Collections, DeadProps, Objects, Storage, Trees};
}

/// Row id of an account.
pub type AccountId = i64;
/// Row id of a collection.
pub type CollectionId = i64;

/// An account; `phone` is the E.164 number that keys the URL space.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: AccountId,
    /// E.164, e.g. `+442079460000`.
    pub phone: String,
    /// PHC string (argon2id).
    pub password_hash: String,
    /// Unix seconds of the last password change; part of the auth-cache key so a change
    /// drops cached verifications.
    pub password_changed_at: i64,
    pub created_at: i64,
}

/// What a collection holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CollectionKind {
    /// RFC 6352 address book (members are vCards).
    Addressbook,
    /// RFC 4791 calendar (reserved for the CalDAV issue).
    Calendar,
    /// Plain WebDAV collection (reserved for the files issue).
    Files,
}

impl CollectionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CollectionKind::Addressbook => "addressbook",
            CollectionKind::Calendar => "calendar",
            CollectionKind::Files => "files",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "addressbook" => Some(CollectionKind::Addressbook),
            "calendar" => Some(CollectionKind::Calendar),
            "files" => Some(CollectionKind::Files),
            _ => None,
        }
    }
}

/// A collection (address book, calendar, plain folder) of one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collection {
    pub id: CollectionId,
    pub account_id: AccountId,
    pub kind: CollectionKind,
    /// The URL segment, unique per (account, kind).
    pub slug: String,
    /// Random, stable for the collection's life; sync tokens carry it so a token from
    /// another collection (or a deleted and re-created one) is recognised as foreign.
    pub token_id: String,
    /// Current sequence: the number of the last change. 0 for a new collection.
    pub seq: i64,
    /// Changes with a sequence at or below this were pruned; a token below it is expired.
    pub horizon: i64,
    /// Position in listings (the default book sorts first: macOS Contacts shows only the
    /// first, sabre-io/dav#846).
    pub sort_order: i32,
    pub created_at: i64,
}

/// A new collection.
#[derive(Debug, Clone)]
pub struct NewCollection {
    pub kind: CollectionKind,
    pub slug: String,
    pub sort_order: i32,
    /// Initial dead properties (e.g. `displayname` from an extended MKCOL).
    pub props: Vec<DeadProp>,
}

/// Metadata of a stored object; never carries the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    /// The last path segment (percent-decoded).
    pub name: String,
    pub uid: String,
    /// Strong ETag value without quotes (hash of the stored bytes).
    pub etag: String,
    pub content_type: String,
    pub size: i64,
    /// Unix seconds.
    pub modified_at: i64,
}

/// A stored object with its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    pub meta: ObjectMeta,
    /// Exactly the bytes stored (as received, or as converted/merged by the caller).
    pub body: Vec<u8>,
}

/// An object to store.
#[derive(Debug, Clone)]
pub struct NewObject {
    pub name: String,
    /// Unique within the collection (RFC 6352 §6.3.2.1 `no-uid-conflict`); empty for
    /// collections whose members have no UID (plain files).
    pub uid: String,
    pub etag: String,
    pub content_type: String,
    pub body: Vec<u8>,
}

/// The HTTP precondition a write carries, checked inside the write transaction.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Condition {
    /// No precondition.
    #[default]
    None,
    /// `If-Match: "etag"` (one of these ETags must be current).
    IfMatch(Vec<String>),
    /// `If-Match: *`: the object must exist.
    IfMatchAny,
    /// `If-None-Match: *`: the object must not exist.
    IfNoneMatchAny,
    /// `If-None-Match: "etag"`: the current ETag must be none of these.
    IfNoneMatch(Vec<String>),
}

/// Result of a successful `put_object` (or of one item of `put_objects`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutOutcome {
    /// True when the object did not exist before.
    pub created: bool,
    /// True when the object already existed with the same ETag, UID and content type:
    /// nothing was written, no change row appended, the sequence not advanced (the sync
    /// token stays valid and unchanged). `created` is then false.
    pub unchanged: bool,
    /// The collection sequence after this write: the write's own sequence number, or for
    /// an unchanged put the sequence as it already was.
    pub seq: i64,
}

/// Result of a successful `move_object`/`copy_object`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferOutcome {
    /// True when an object at the destination was replaced (`Overwrite: T`).
    pub replaced: bool,
}

/// One entry of a change listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub name: String,
    /// Sequence of the member's latest change.
    pub seq: i64,
    /// `None` when the member no longer exists (report it as 404).
    pub meta: Option<ObjectMeta>,
}

/// Result of `changes_since`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changes {
    /// Each changed member once, in order of its latest change.
    pub changes: Vec<Change>,
    /// The sequence to put in the next token: the seq of the last change returned, or the
    /// collection's current seq when nothing was truncated.
    pub seq: i64,
    /// True when `limit` cut the listing; the token then resumes after the last change.
    pub truncated: bool,
}

/// A dead (client-set) property. `value` is the property element itself, serialised
/// self-contained (it declares every namespace it and its content use, keeps its
/// attributes and the `xml:lang` in scope: RFC 4918 §4.3), exactly as it will be
/// returned; storage treats it as opaque text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadProp {
    pub namespace: String,
    pub name: String,
    pub value: String,
}

/// One PROPPATCH operation on a dead property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropOp {
    Set(DeadProp),
    Remove { namespace: String, name: String },
}

/// Errors; each variant means exactly one thing to the caller.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The addressed account, collection or object does not exist.
    #[error("not found")]
    NotFound,
    /// A unique key is taken (account phone, collection slug, destination object).
    #[error("already exists")]
    AlreadyExists,
    /// The [`Condition`] did not hold (HTTP 412).
    #[error("precondition failed")]
    PreconditionFailed,
    /// Another object in the collection has this UID; carries that object's name.
    #[error("uid conflict with {0}")]
    UidConflict(String),
    /// The write would replace an existing member with an object of another UID (see
    /// "A member keeps its UID" in the module documentation); the member is the write's
    /// own destination, so the caller knows its name.
    #[error("the destination has another uid")]
    UidMismatch,
    /// The sync token's sequence is below the pruned horizon or above the current seq.
    #[error("sync token no longer valid")]
    InvalidToken,
    /// The database failed; the operation changed nothing.
    #[error("database: {0}")]
    Db(String),
    /// A tree write's target has no parent collection (RFC 4918 §9.3.1, §9.7.1, §9.8.5:
    /// HTTP 409): see the tree rules in the module documentation.
    #[error("parent collection does not exist")]
    ParentMissing,
    /// Item `index` (0-based) of a [`Objects::put_objects`] batch failed with `error`
    /// (`PreconditionFailed`, `UidMismatch` or `UidConflict`); no item of the batch was
    /// written.
    #[error("batch item {index}: {error}")]
    Batch {
        index: usize,
        error: Box<StorageError>,
    },
}

pub type Result<T> = std::result::Result<T, StorageError>;

/// Where a dead property lives: a collection, or one of its members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropTarget<'a> {
    pub collection: CollectionId,
    /// `None` for the collection itself.
    pub object: Option<&'a str>,
}

/// Walks a collection's members with their bodies in name order, a page at a time, over
/// [`Objects::scan_objects`]: what a scan of a whole book (a query, a reconciliation, an
/// uplink) holds in memory is one page.
pub struct ObjectPages {
    collection: CollectionId,
    page: u64,
    after: Option<String>,
    done: bool,
}

impl ObjectPages {
    pub fn new(collection: CollectionId, page: u64) -> Self {
        ObjectPages {
            collection,
            page: page.max(1),
            after: None,
            done: false,
        }
    }

    /// The next page, or `None` once every member was returned.
    pub async fn next(&mut self, storage: &dyn Storage) -> Result<Option<Vec<Object>>> {
        if self.done {
            return Ok(None);
        }
        let page = storage
            .scan_objects(self.collection, self.after.as_deref(), self.page)
            .await?;
        self.done = (page.len() as u64) < self.page;
        match page.last() {
            Some(last) => {
                self.after = Some(last.meta.name.clone());
                Ok(Some(page))
            }
            None => {
                self.done = true;
                Ok(None)
            }
        }
    }
}

/// The storage contract: the sum of its concerns. See the module documentation for the
/// invariants every method keeps; each method documents its own errors on its declaration
/// in its concern sub-trait ([`Accounts`], [`Collections`], [`Objects`], [`Trees`],
/// [`ChangeLog`], [`DeadProps`]).
///
/// Not implemented directly: a backend implements the six sub-traits, and the blanket impl
/// below makes it a `Storage`.
pub trait Storage:
    Accounts + Collections + Objects + Trees + ChangeLog + DeadProps + Send + Sync + 'static
{
}

impl<T> Storage for T where
    T: Accounts + Collections + Objects + Trees + ChangeLog + DeadProps + Send + Sync + 'static
{
}
