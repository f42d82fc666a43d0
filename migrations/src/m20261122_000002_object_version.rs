//! Recent versions of objects: `object_version` keeps the bodies an object had before it
//! was replaced or deleted, so a write carrying a stale `If-Match` can be merged three-way
//! against the version its client last saw.
//!
//! Rows belong to a collection (`ON DELETE CASCADE`) and are keyed by member name, not by
//! object row, so the body of a deleted member stays findable. The storage layer bounds
//! the number of rows per (collection, name) and moves them with their member.
use sea_orm_migration::prelude::*;

/// Creates `object_version` and its (collection_id, name) index.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Collection {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum ObjectVersion {
    Table,
    Id,
    CollectionId,
    Name,
    Etag,
    Body,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ObjectVersion::Table)
                    .col(
                        ColumnDef::new(ObjectVersion::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(ObjectVersion::CollectionId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(ObjectVersion::Name).text().not_null())
                    .col(ColumnDef::new(ObjectVersion::Etag).text().not_null())
                    .col(ColumnDef::new(ObjectVersion::Body).blob().not_null())
                    .col(
                        ColumnDef::new(ObjectVersion::CreatedAt)
                            .big_integer()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ObjectVersion::Table, ObjectVersion::CollectionId)
                            .to(Collection::Table, Collection::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_object_version_collection_name")
                    .table(ObjectVersion::Table)
                    .col(ObjectVersion::CollectionId)
                    .col(ObjectVersion::Name)
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ObjectVersion::Table).if_exists().take())
            .await
    }
}
