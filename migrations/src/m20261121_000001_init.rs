//! Initial schema: accounts, collections, objects, the per-collection change log and dead
//! properties.
//!
//! One definition for SQLite and PostgreSQL (built with sea-query's schema builder, no
//! backend-specific SQL). Every child table references its parent with `ON DELETE
//! CASCADE`, so deleting an account or collection removes everything beneath it in one
//! statement. Uniqueness of a non-empty object UID is not a database constraint (plain
//! files have an empty UID); the storage layer enforces it inside the write transaction,
//! helped by the `(collection_id, uid)` index.
use sea_orm_migration::prelude::*;

/// Creates the five tables and their indexes.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Account {
    Table,
    Id,
    Phone,
    PasswordHash,
    PasswordChangedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Collection {
    Table,
    Id,
    AccountId,
    Kind,
    Slug,
    TokenId,
    Seq,
    Horizon,
    SortOrder,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Object {
    Table,
    Id,
    CollectionId,
    Name,
    Uid,
    Etag,
    ContentType,
    Size,
    Body,
    Seq,
    ModifiedAt,
}

#[derive(DeriveIden)]
enum Change {
    Table,
    Id,
    CollectionId,
    Seq,
    Name,
    Deleted,
}

#[derive(DeriveIden)]
enum Property {
    Table,
    Id,
    CollectionId,
    ObjectName,
    Namespace,
    Name,
    Value,
}

/// A `bigint` auto-increment primary key (`integer primary key autoincrement` on SQLite).
fn pk(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col)
        .big_integer()
        .not_null()
        .auto_increment()
        .primary_key()
        .take()
}

fn text(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).text().not_null().take()
}

fn bigint(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).big_integer().not_null().take()
}

/// A foreign key from `table.col` to `parent.id`, cascading deletes.
fn cascade(
    table: impl IntoIden,
    col: impl IntoIden,
    parent: impl IntoIden,
    parent_id: impl IntoIden,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, col)
        .to(parent, parent_id)
        .on_delete(ForeignKeyAction::Cascade)
        .take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Account::Table)
                    .col(pk(Account::Id))
                    .col(text(Account::Phone).unique_key())
                    .col(text(Account::PasswordHash))
                    .col(bigint(Account::PasswordChangedAt))
                    .col(bigint(Account::CreatedAt))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Collection::Table)
                    .col(pk(Collection::Id))
                    .col(bigint(Collection::AccountId))
                    .col(text(Collection::Kind))
                    .col(text(Collection::Slug))
                    .col(text(Collection::TokenId))
                    .col(bigint(Collection::Seq).default(0))
                    .col(bigint(Collection::Horizon).default(0))
                    .col(ColumnDef::new(Collection::SortOrder).integer().not_null())
                    .col(bigint(Collection::CreatedAt))
                    .foreign_key(&mut cascade(
                        Collection::Table,
                        Collection::AccountId,
                        Account::Table,
                        Account::Id,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_collection_account_kind_slug")
                    .table(Collection::Table)
                    .col(Collection::AccountId)
                    .col(Collection::Kind)
                    .col(Collection::Slug)
                    .unique()
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Object::Table)
                    .col(pk(Object::Id))
                    .col(bigint(Object::CollectionId))
                    .col(text(Object::Name))
                    .col(text(Object::Uid))
                    .col(text(Object::Etag))
                    .col(text(Object::ContentType))
                    .col(bigint(Object::Size))
                    .col(ColumnDef::new(Object::Body).blob().not_null())
                    .col(bigint(Object::Seq))
                    .col(bigint(Object::ModifiedAt))
                    .foreign_key(&mut cascade(
                        Object::Table,
                        Object::CollectionId,
                        Collection::Table,
                        Collection::Id,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_object_collection_name")
                    .table(Object::Table)
                    .col(Object::CollectionId)
                    .col(Object::Name)
                    .unique()
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_object_collection_uid")
                    .table(Object::Table)
                    .col(Object::CollectionId)
                    .col(Object::Uid)
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_object_collection_seq")
                    .table(Object::Table)
                    .col(Object::CollectionId)
                    .col(Object::Seq)
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Change::Table)
                    .col(pk(Change::Id))
                    .col(bigint(Change::CollectionId))
                    .col(bigint(Change::Seq))
                    .col(text(Change::Name))
                    .col(ColumnDef::new(Change::Deleted).boolean().not_null())
                    .foreign_key(&mut cascade(
                        Change::Table,
                        Change::CollectionId,
                        Collection::Table,
                        Collection::Id,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_change_collection_seq")
                    .table(Change::Table)
                    .col(Change::CollectionId)
                    .col(Change::Seq)
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Property::Table)
                    .col(pk(Property::Id))
                    .col(bigint(Property::CollectionId))
                    .col(text(Property::ObjectName))
                    .col(text(Property::Namespace))
                    .col(text(Property::Name))
                    .col(text(Property::Value))
                    .foreign_key(&mut cascade(
                        Property::Table,
                        Property::CollectionId,
                        Collection::Table,
                        Collection::Id,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_property_target_name")
                    .table(Property::Table)
                    .col(Property::CollectionId)
                    .col(Property::ObjectName)
                    .col(Property::Namespace)
                    .col(Property::Name)
                    .unique()
                    .take(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Property::Table.into_iden(),
            Change::Table.into_iden(),
            Object::Table.into_iden(),
            Collection::Table.into_iden(),
            Account::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().take())
                .await?;
        }
        Ok(())
    }
}
