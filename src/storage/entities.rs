//! sea-orm entities; one submodule per table of `migrations/src/m20261121_000001_init.rs`
//! and `migrations/src/m20261122_000002_object_version.rs`.
//!
//! These mirror the schema exactly and carry no behaviour: all invariants (sequences,
//! change rows, UID uniqueness) are kept by [`super::sea::SeaStorage`]. Relations are not
//! declared because every query the storage layer runs is scoped by an explicit id.

/// `account`: one row per phone number.
pub mod account {
    use sea_orm::entity::prelude::*;

    /// An account row.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "account")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        #[sea_orm(unique)]
        pub phone: String,
        pub password_hash: String,
        pub password_changed_at: i64,
        pub created_at: i64,
    }

    /// No declared relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `collection`: address books, calendars and plain folders of an account.
pub mod collection {
    use sea_orm::entity::prelude::*;

    /// A collection row; `seq` is the number of its last change, `horizon` the pruned
    /// boundary of its change log.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "collection")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub account_id: i64,
        pub kind: String,
        pub slug: String,
        pub token_id: String,
        pub seq: i64,
        pub horizon: i64,
        pub sort_order: i32,
        pub created_at: i64,
    }

    /// No declared relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `object`: the members of a collection, with their bytes.
pub mod object {
    use sea_orm::entity::prelude::*;

    /// An object row; `seq` is the sequence of its latest change.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "object")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub collection_id: i64,
        pub name: String,
        pub uid: String,
        pub etag: String,
        pub content_type: String,
        pub size: i64,
        pub body: Vec<u8>,
        pub seq: i64,
        pub modified_at: i64,
    }

    /// No declared relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `change`: the append-only per-collection change log (one row per changed member per
/// write).
pub mod change {
    use sea_orm::entity::prelude::*;

    /// A change row; `deleted` is true when the member ceased to exist at `seq`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "change")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub collection_id: i64,
        pub seq: i64,
        pub name: String,
        pub deleted: bool,
    }

    /// No declared relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `property`: dead properties of a collection (`object_name` empty) or of a member.
pub mod property {
    use sea_orm::entity::prelude::*;

    /// A dead property row; `value` is the serialised inner XML.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "property")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub collection_id: i64,
        pub object_name: String,
        pub namespace: String,
        pub name: String,
        pub value: String,
    }

    /// No declared relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `object_version`: bodies a member had before it was replaced or deleted, newest last
/// (by `id`), at most `keep_versions` per (collection, name).
pub mod object_version {
    use sea_orm::entity::prelude::*;

    /// A kept version: the bytes the member `name` had while its ETag was `etag`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "object_version")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub collection_id: i64,
        pub name: String,
        pub etag: String,
        pub body: Vec<u8>,
        /// Unix seconds when this version stopped being current.
        pub created_at: i64,
    }

    /// No declared relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
