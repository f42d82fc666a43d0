//! The contract's concerns, one sub-trait each: what a backend implements.
//!
//! [`Storage`](super::Storage) is what callers hold (`&dyn Storage`): it is exactly the sum
//! of the six sub-traits here, with a blanket impl, and declares no method of its own.
//! Each method is declared once, here, with its contract; the invariants every method
//! keeps are in the module documentation of `storage`. A backend implements the six
//! sub-traits, each in the file of its concern (`sea/accounts.rs`, `sea/objects.rs`, …).
//!
//! Calls through `&dyn Storage`, `Arc<dyn Storage>` or `S: Storage` resolve with `Storage`
//! alone (the sub-traits are its supertraits). A call on a concrete backend (`SeaStorage`,
//! `Arc<SeaStorage>`) needs the method's sub-trait in scope: import
//! `storage::prelude::*`.

use async_trait::async_trait;

use super::{
    Account, AccountId, Changes, Collection, CollectionId, CollectionKind, Condition, DeadProp,
    NewCollection, NewObject, Object, ObjectMeta, PropOp, PropTarget, PutOutcome, Result,
    TransferOutcome,
};

/// The account methods of [`Storage`](super::Storage).
#[async_trait]
pub trait Accounts: Send + Sync {
    /// Creates an account. `AlreadyExists` if the phone number is taken.
    async fn create_account(&self, phone: &str, password_hash: &str) -> Result<Account>;
    /// The account with this E.164 number, if any.
    async fn account_by_phone(&self, phone: &str) -> Result<Option<Account>>;
    /// All accounts, ordered by phone.
    async fn list_accounts(&self) -> Result<Vec<Account>>;
    /// Replaces the password hash and bumps `password_changed_at`. `NotFound` if absent.
    async fn set_password(&self, phone: &str, password_hash: &str) -> Result<()>;
    /// Deletes the account and everything it owns. `NotFound` if absent.
    async fn delete_account(&self, phone: &str) -> Result<()>;
}

/// The collection methods of [`Storage`](super::Storage).
#[async_trait]
pub trait Collections: Send + Sync {
    /// Creates each collection that does not exist yet (by kind + slug); idempotent and
    /// safe under concurrent calls. Returns nothing; use `list_collections` after.
    async fn ensure_collections(&self, account: AccountId, wanted: &[NewCollection]) -> Result<()>;
    /// Collections of an account, optionally of one kind, ordered by (sort_order, slug).
    async fn list_collections(
        &self,
        account: AccountId,
        kind: Option<CollectionKind>,
    ) -> Result<Vec<Collection>>;
    /// One collection by kind and slug.
    async fn get_collection(
        &self,
        account: AccountId,
        kind: CollectionKind,
        slug: &str,
    ) -> Result<Option<Collection>>;
    /// Creates one collection with its initial dead properties. `AlreadyExists` if taken.
    async fn create_collection(
        &self,
        account: AccountId,
        new: &NewCollection,
    ) -> Result<Collection>;
    /// Deletes a collection, its members, their properties and versions and its change log.
    /// `NotFound` if absent.
    async fn delete_collection(&self, collection: CollectionId) -> Result<()>;
}

/// The member methods of [`Storage`](super::Storage): reads, conditional writes, batches,
/// kept versions, moves and copies.
#[async_trait]
pub trait Objects: Send + Sync {
    /// Metadata of every member, ordered by name. Never loads bodies.
    async fn list_objects(&self, collection: CollectionId) -> Result<Vec<ObjectMeta>>;
    /// Metadata of the named members that exist (any order). One query per batch of names.
    async fn object_meta(
        &self,
        collection: CollectionId,
        names: &[String],
    ) -> Result<Vec<ObjectMeta>>;
    /// The named members that exist, with bodies, in one batch (any order).
    async fn get_objects(&self, collection: CollectionId, names: &[String]) -> Result<Vec<Object>>;
    /// Members with bodies, ordered by name, starting after `after` (exclusive), at most
    /// `limit` of them: for scanning queries with bounded memory.
    async fn scan_objects(
        &self,
        collection: CollectionId,
        after: Option<&str>,
        limit: u64,
    ) -> Result<Vec<Object>>;
    /// Creates or replaces a member after checking `cond`, that a replaced member keeps its
    /// UID, and UID uniqueness, in that order, inside the transaction. Errors: `NotFound`
    /// (collection gone), `PreconditionFailed`, `UidMismatch`, `UidConflict(name)`. Appends one change row and advances the sequence, except when
    /// the member already has this ETag, UID and content type: then `cond` is still
    /// checked, but nothing is written and the outcome is `unchanged` (idempotent uploads:
    /// the same bytes twice do not move the sync token). A replaced body is kept as a
    /// version (see [`Objects::object_version`]).
    async fn put_object(
        &self,
        collection: CollectionId,
        obj: &NewObject,
        cond: &Condition,
    ) -> Result<PutOutcome>;
    /// Puts every item in one transaction, all or nothing. Each item behaves exactly as a
    /// `put_object` issued in order: its condition, the replaced member's UID and UID
    /// uniqueness are checked against the collection as it stands after the earlier items
    /// (two items may name the same member if they carry the same UID; two items with the
    /// same UID under different names conflict), unchanged
    /// items write nothing, and every changing item appends its own change row with its
    /// own, increasing sequence number. Returns one outcome per item, in order.
    ///
    /// Errors: `NotFound` (collection gone; not wrapped), `Batch { index, error }` when
    /// item `index` fails (`error` is `PreconditionFailed`, `UidMismatch` or
    /// `UidConflict(name)`; the
    /// first failing item is named and nothing is written), `Db`. An empty batch returns
    /// `Ok(vec![])` without touching the database. Cost is a bounded number of statements
    /// per few hundred items (lookups by name and UID are batched), never one per item.
    async fn put_objects(
        &self,
        collection: CollectionId,
        items: &[(NewObject, Condition)],
    ) -> Result<Vec<PutOutcome>>;
    /// The bytes member `name` had while its ETag was `etag` (surrounding quotes are
    /// ignored): the current body if `etag` is current, else a kept version (also of a
    /// member deleted since), else `None` (never stored, or pruned beyond
    /// `keep_versions`). The base for merging a write whose `If-Match` is stale.
    async fn object_version(
        &self,
        collection: CollectionId,
        name: &str,
        etag: &str,
    ) -> Result<Option<Vec<u8>>>;
    /// Deletes a member (and its dead properties) after checking `cond`. Errors:
    /// `NotFound`, `PreconditionFailed`. Appends one change row. Its last body is kept as a
    /// version.
    async fn delete_object(
        &self,
        collection: CollectionId,
        name: &str,
        cond: &Condition,
    ) -> Result<()>;
    /// Moves a member to another name and/or collection of the same account. `cond` is
    /// checked against the source. With `overwrite` false an existing destination is
    /// `PreconditionFailed`; with true it is replaced, but only by a member of the same UID
    /// (else `UidMismatch`). UID uniqueness is checked in the destination (`UidConflict`). Dead properties and kept versions move with it (an
    /// overwritten destination's body is kept as a version of the destination name). One
    /// change row in each collection touched (two in one collection when renaming in
    /// place).
    async fn move_object(
        &self,
        from: CollectionId,
        from_name: &str,
        to: CollectionId,
        to_name: &str,
        overwrite: bool,
        cond: &Condition,
    ) -> Result<TransferOutcome>;
    /// Copies a member like `move_object` without removing the source; `replacement`, when
    /// given, supplies the UID recorded for the copy and the bytes and ETag it gets (a copy
    /// inside one address book needs a fresh UID). An existing destination is replaced
    /// only with `overwrite` and only by a copy of the same UID (else `UidMismatch`). An overwritten
    /// destination's body is kept as a version of the destination name; the source's
    /// versions are not copied.
    async fn copy_object(
        &self,
        from: CollectionId,
        from_name: &str,
        to: CollectionId,
        to_name: &str,
        overwrite: bool,
        replacement: Option<&NewObject>,
    ) -> Result<TransferOutcome>;
}

/// The tree methods of [`Storage`](super::Storage) (files collections; see "Trees" in the
/// module documentation of `storage`).
#[async_trait]
pub trait Trees: Send + Sync {
    /// Metadata of every member whose name starts with `prefix` (all members for `""`),
    /// ordered by name; never loads bodies. `prefix` is matched as an exact string prefix.
    async fn list_tree(&self, collection: CollectionId, prefix: &str) -> Result<Vec<ObjectMeta>>;
    /// `put_object` for a tree member: additionally, inside the same transaction, the
    /// member's parent must exist (`ParentMissing`) and its twin must not
    /// (`AlreadyExists`). Everything else (condition, unchanged puts, change rows,
    /// versions) is exactly `put_object`. A sub-collection is put with a name ending in
    /// `/` and an empty body.
    async fn put_path(
        &self,
        collection: CollectionId,
        obj: &NewObject,
        cond: &Condition,
    ) -> Result<PutOutcome>;
    /// Deletes member `name` and, when it is a sub-collection (`name` ends with `/`),
    /// every member below it, with their dead properties; one deleted change row per
    /// member, bodies kept as versions. Returns how many members were removed.
    /// `NotFound` if `name` does not exist (or the collection is gone).
    async fn delete_tree(&self, collection: CollectionId, name: &str) -> Result<u64>;
    /// Copies member `from` to `to` inside one collection. `to` must be of the same kind
    /// as `from` (both end with `/` or neither). For a sub-collection, `deep` copies every
    /// member below it too (`Depth: infinity`); otherwise only the sub-collection itself
    /// (`Depth: 0`). Dead properties are copied with each member; versions are not.
    ///
    /// The destination exists when `to` or its twin exists: with `overwrite` false that is
    /// `PreconditionFailed`; with true the whole destination tree (both forms and
    /// everything below them) is deleted first, as by `delete_tree`, and the outcome says
    /// `replaced`. Errors: `NotFound` (`from` or the collection missing),
    /// `ParentMissing` (`to`'s parent missing), `PreconditionFailed` (overwrite refused,
    /// or `from` and `to` are the same or one lies inside the other, which the caller
    /// should refuse first).
    async fn copy_tree(
        &self,
        collection: CollectionId,
        from: &str,
        to: &str,
        overwrite: bool,
        deep: bool,
    ) -> Result<TransferOutcome>;
    /// Moves member `from` (and, for a sub-collection, everything below it) to `to`,
    /// with the same destination, overwrite and error rules as `copy_tree` (always deep).
    /// Dead properties and kept versions move with each member; each moved member
    /// appends a deleted change row for its old name and a change row for its new one.
    async fn move_tree(
        &self,
        collection: CollectionId,
        from: &str,
        to: &str,
        overwrite: bool,
    ) -> Result<TransferOutcome>;
}

/// The change-log methods of [`Storage`](super::Storage).
#[async_trait]
pub trait ChangeLog: Send + Sync {
    /// Members changed after `since` (None = everything that exists now: an initial sync,
    /// deleted members never included), each once, in order of their latest change, at
    /// most `limit`. Errors: `InvalidToken` if `since` is below the horizon or above the
    /// current sequence; `NotFound` if the collection is gone. One query for the changes
    /// and one batch for their metadata, whatever the collection's size.
    async fn changes_since(
        &self,
        collection: CollectionId,
        since: Option<i64>,
        limit: Option<u64>,
    ) -> Result<Changes>;
    /// Drops change rows of members that no longer exist and whose deletion is at or below
    /// `seq`, and raises the horizon to `seq`. Returns the number of rows dropped.
    async fn prune_changes(&self, collection: CollectionId, seq: i64) -> Result<u64>;
}

/// The dead-property methods of [`Storage`](super::Storage).
#[async_trait]
pub trait DeadProps: Send + Sync {
    /// Dead properties of a collection or member, ordered by (namespace, name).
    async fn get_props(&self, target: PropTarget<'_>) -> Result<Vec<DeadProp>>;
    /// Dead properties of every member of a collection (not of the collection itself), as
    /// (member name, property) pairs, in one query: PROPFIND Depth 1 without N+1.
    async fn member_props(&self, collection: CollectionId) -> Result<Vec<(String, DeadProp)>>;
    /// Applies every operation or none. `NotFound` if the target does not exist.
    async fn patch_props(&self, target: PropTarget<'_>, ops: &[PropOp]) -> Result<()>;
}
