//! The contract's concerns, one sub-trait each: what a backend implements.
//!
//! [`Storage`] is what callers hold (`&dyn Storage`) and where the contract is written;
//! a backend implements the six sub-traits here instead, each in the file of its concern
//! (`sea/accounts.rs`, `sea/objects.rs`, …), and is a `Storage` through the blanket impl
//! below, which forwards every method to its sub-trait. The sub-traits' methods carry no
//! contract text of their own: each is exactly the `Storage` method of the same name.
//!
//! Why `Storage` keeps its methods rather than being only `Accounts + Collections + …`:
//! a sub-trait's method is in scope on a concrete type (`SeaStorage`, `Arc<SeaStorage>`)
//! only where that sub-trait is imported, and the server, the CLI and the tests call the
//! contract on `SeaStorage` with only `Storage` imported. With the methods on `Storage`
//! those calls, `&dyn Storage` and `S: Storage` resolve as they always did, and no method
//! name is ambiguous (the sub-traits are not supertraits of `Storage`).

use async_trait::async_trait;

use super::{
    Account, AccountId, Changes, Collection, CollectionId, CollectionKind, Condition, DeadProp,
    NewCollection, NewObject, Object, ObjectMeta, PropOp, PropTarget, PutOutcome, Result, Storage,
    TransferOutcome,
};

/// The account methods of [`Storage`].
#[async_trait]
pub trait Accounts: Send + Sync {
    /// [`Storage::create_account`].
    async fn create_account(&self, phone: &str, password_hash: &str) -> Result<Account>;
    /// [`Storage::account_by_phone`].
    async fn account_by_phone(&self, phone: &str) -> Result<Option<Account>>;
    /// [`Storage::list_accounts`].
    async fn list_accounts(&self) -> Result<Vec<Account>>;
    /// [`Storage::set_password`].
    async fn set_password(&self, phone: &str, password_hash: &str) -> Result<()>;
    /// [`Storage::delete_account`].
    async fn delete_account(&self, phone: &str) -> Result<()>;
}

/// The collection methods of [`Storage`].
#[async_trait]
pub trait Collections: Send + Sync {
    /// [`Storage::ensure_collections`].
    async fn ensure_collections(&self, account: AccountId, wanted: &[NewCollection]) -> Result<()>;
    /// [`Storage::list_collections`].
    async fn list_collections(
        &self,
        account: AccountId,
        kind: Option<CollectionKind>,
    ) -> Result<Vec<Collection>>;
    /// [`Storage::get_collection`].
    async fn get_collection(
        &self,
        account: AccountId,
        kind: CollectionKind,
        slug: &str,
    ) -> Result<Option<Collection>>;
    /// [`Storage::create_collection`].
    async fn create_collection(
        &self,
        account: AccountId,
        new: &NewCollection,
    ) -> Result<Collection>;
    /// [`Storage::delete_collection`].
    async fn delete_collection(&self, collection: CollectionId) -> Result<()>;
}

/// The member methods of [`Storage`]: reads, conditional writes, batches, kept versions,
/// moves and copies.
#[async_trait]
pub trait Objects: Send + Sync {
    /// [`Storage::list_objects`].
    async fn list_objects(&self, collection: CollectionId) -> Result<Vec<ObjectMeta>>;
    /// [`Storage::object_meta`].
    async fn object_meta(
        &self,
        collection: CollectionId,
        names: &[String],
    ) -> Result<Vec<ObjectMeta>>;
    /// [`Storage::get_objects`].
    async fn get_objects(&self, collection: CollectionId, names: &[String]) -> Result<Vec<Object>>;
    /// [`Storage::scan_objects`].
    async fn scan_objects(
        &self,
        collection: CollectionId,
        after: Option<&str>,
        limit: u64,
    ) -> Result<Vec<Object>>;
    /// [`Storage::put_object`].
    async fn put_object(
        &self,
        collection: CollectionId,
        obj: &NewObject,
        cond: &Condition,
    ) -> Result<PutOutcome>;
    /// [`Storage::put_objects`].
    async fn put_objects(
        &self,
        collection: CollectionId,
        items: &[(NewObject, Condition)],
    ) -> Result<Vec<PutOutcome>>;
    /// [`Storage::object_version`].
    async fn object_version(
        &self,
        collection: CollectionId,
        name: &str,
        etag: &str,
    ) -> Result<Option<Vec<u8>>>;
    /// [`Storage::delete_object`].
    async fn delete_object(
        &self,
        collection: CollectionId,
        name: &str,
        cond: &Condition,
    ) -> Result<()>;
    /// [`Storage::move_object`].
    async fn move_object(
        &self,
        from: CollectionId,
        from_name: &str,
        to: CollectionId,
        to_name: &str,
        overwrite: bool,
        cond: &Condition,
    ) -> Result<TransferOutcome>;
    /// [`Storage::copy_object`].
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

/// The tree methods of [`Storage`] (files collections).
#[async_trait]
pub trait Trees: Send + Sync {
    /// [`Storage::list_tree`].
    async fn list_tree(&self, collection: CollectionId, prefix: &str) -> Result<Vec<ObjectMeta>>;
    /// [`Storage::put_path`].
    async fn put_path(
        &self,
        collection: CollectionId,
        obj: &NewObject,
        cond: &Condition,
    ) -> Result<PutOutcome>;
    /// [`Storage::delete_tree`].
    async fn delete_tree(&self, collection: CollectionId, name: &str) -> Result<u64>;
    /// [`Storage::copy_tree`].
    async fn copy_tree(
        &self,
        collection: CollectionId,
        from: &str,
        to: &str,
        overwrite: bool,
        deep: bool,
    ) -> Result<TransferOutcome>;
    /// [`Storage::move_tree`].
    async fn move_tree(
        &self,
        collection: CollectionId,
        from: &str,
        to: &str,
        overwrite: bool,
    ) -> Result<TransferOutcome>;
}

/// The change-log methods of [`Storage`].
#[async_trait]
pub trait ChangeLog: Send + Sync {
    /// [`Storage::changes_since`].
    async fn changes_since(
        &self,
        collection: CollectionId,
        since: Option<i64>,
        limit: Option<u64>,
    ) -> Result<Changes>;
    /// [`Storage::prune_changes`].
    async fn prune_changes(&self, collection: CollectionId, seq: i64) -> Result<u64>;
}

/// The dead-property methods of [`Storage`].
#[async_trait]
pub trait DeadProps: Send + Sync {
    /// [`Storage::get_props`].
    async fn get_props(&self, target: PropTarget<'_>) -> Result<Vec<DeadProp>>;
    /// [`Storage::member_props`].
    async fn member_props(&self, collection: CollectionId) -> Result<Vec<(String, DeadProp)>>;
    /// [`Storage::patch_props`].
    async fn patch_props(&self, target: PropTarget<'_>, ops: &[PropOp]) -> Result<()>;
}

#[async_trait]
impl<T> Storage for T
where
    T: Accounts + Collections + Objects + Trees + ChangeLog + DeadProps + 'static,
{
    async fn create_account(&self, phone: &str, password_hash: &str) -> Result<Account> {
        Accounts::create_account(self, phone, password_hash).await
    }

    async fn account_by_phone(&self, phone: &str) -> Result<Option<Account>> {
        Accounts::account_by_phone(self, phone).await
    }

    async fn list_accounts(&self) -> Result<Vec<Account>> {
        Accounts::list_accounts(self).await
    }

    async fn set_password(&self, phone: &str, password_hash: &str) -> Result<()> {
        Accounts::set_password(self, phone, password_hash).await
    }

    async fn delete_account(&self, phone: &str) -> Result<()> {
        Accounts::delete_account(self, phone).await
    }

    async fn ensure_collections(&self, account: AccountId, wanted: &[NewCollection]) -> Result<()> {
        Collections::ensure_collections(self, account, wanted).await
    }

    async fn list_collections(
        &self,
        account: AccountId,
        kind: Option<CollectionKind>,
    ) -> Result<Vec<Collection>> {
        Collections::list_collections(self, account, kind).await
    }

    async fn get_collection(
        &self,
        account: AccountId,
        kind: CollectionKind,
        slug: &str,
    ) -> Result<Option<Collection>> {
        Collections::get_collection(self, account, kind, slug).await
    }

    async fn create_collection(
        &self,
        account: AccountId,
        new: &NewCollection,
    ) -> Result<Collection> {
        Collections::create_collection(self, account, new).await
    }

    async fn delete_collection(&self, collection: CollectionId) -> Result<()> {
        Collections::delete_collection(self, collection).await
    }

    async fn list_objects(&self, collection: CollectionId) -> Result<Vec<ObjectMeta>> {
        Objects::list_objects(self, collection).await
    }

    async fn object_meta(
        &self,
        collection: CollectionId,
        names: &[String],
    ) -> Result<Vec<ObjectMeta>> {
        Objects::object_meta(self, collection, names).await
    }

    async fn get_objects(&self, collection: CollectionId, names: &[String]) -> Result<Vec<Object>> {
        Objects::get_objects(self, collection, names).await
    }

    async fn scan_objects(
        &self,
        collection: CollectionId,
        after: Option<&str>,
        limit: u64,
    ) -> Result<Vec<Object>> {
        Objects::scan_objects(self, collection, after, limit).await
    }

    async fn put_object(
        &self,
        collection: CollectionId,
        obj: &NewObject,
        cond: &Condition,
    ) -> Result<PutOutcome> {
        Objects::put_object(self, collection, obj, cond).await
    }

    async fn put_objects(
        &self,
        collection: CollectionId,
        items: &[(NewObject, Condition)],
    ) -> Result<Vec<PutOutcome>> {
        Objects::put_objects(self, collection, items).await
    }

    async fn object_version(
        &self,
        collection: CollectionId,
        name: &str,
        etag: &str,
    ) -> Result<Option<Vec<u8>>> {
        Objects::object_version(self, collection, name, etag).await
    }

    async fn delete_object(
        &self,
        collection: CollectionId,
        name: &str,
        cond: &Condition,
    ) -> Result<()> {
        Objects::delete_object(self, collection, name, cond).await
    }

    async fn move_object(
        &self,
        from: CollectionId,
        from_name: &str,
        to: CollectionId,
        to_name: &str,
        overwrite: bool,
        cond: &Condition,
    ) -> Result<TransferOutcome> {
        Objects::move_object(self, from, from_name, to, to_name, overwrite, cond).await
    }

    async fn copy_object(
        &self,
        from: CollectionId,
        from_name: &str,
        to: CollectionId,
        to_name: &str,
        overwrite: bool,
        replacement: Option<&NewObject>,
    ) -> Result<TransferOutcome> {
        Objects::copy_object(self, from, from_name, to, to_name, overwrite, replacement).await
    }

    async fn list_tree(&self, collection: CollectionId, prefix: &str) -> Result<Vec<ObjectMeta>> {
        Trees::list_tree(self, collection, prefix).await
    }

    async fn put_path(
        &self,
        collection: CollectionId,
        obj: &NewObject,
        cond: &Condition,
    ) -> Result<PutOutcome> {
        Trees::put_path(self, collection, obj, cond).await
    }

    async fn delete_tree(&self, collection: CollectionId, name: &str) -> Result<u64> {
        Trees::delete_tree(self, collection, name).await
    }

    async fn copy_tree(
        &self,
        collection: CollectionId,
        from: &str,
        to: &str,
        overwrite: bool,
        deep: bool,
    ) -> Result<TransferOutcome> {
        Trees::copy_tree(self, collection, from, to, overwrite, deep).await
    }

    async fn move_tree(
        &self,
        collection: CollectionId,
        from: &str,
        to: &str,
        overwrite: bool,
    ) -> Result<TransferOutcome> {
        Trees::move_tree(self, collection, from, to, overwrite).await
    }

    async fn changes_since(
        &self,
        collection: CollectionId,
        since: Option<i64>,
        limit: Option<u64>,
    ) -> Result<Changes> {
        ChangeLog::changes_since(self, collection, since, limit).await
    }

    async fn prune_changes(&self, collection: CollectionId, seq: i64) -> Result<u64> {
        ChangeLog::prune_changes(self, collection, seq).await
    }

    async fn get_props(&self, target: PropTarget<'_>) -> Result<Vec<DeadProp>> {
        DeadProps::get_props(self, target).await
    }

    async fn member_props(&self, collection: CollectionId) -> Result<Vec<(String, DeadProp)>> {
        DeadProps::member_props(self, collection).await
    }

    async fn patch_props(&self, target: PropTarget<'_>, ops: &[PropOp]) -> Result<()> {
        DeadProps::patch_props(self, target, ops).await
    }
}
