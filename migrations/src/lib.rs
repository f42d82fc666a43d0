//! Database schema migrations (sea-orm-migration), one set for SQLite and PostgreSQL.
pub use sea_orm_migration::prelude::*;

mod m20261121_000001_init;
mod m20261122_000002_object_version;
mod m20261124_000003_property_element;

/// Every migration of dialbook's schema, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261121_000001_init::Migration),
            Box::new(m20261122_000002_object_version::Migration),
            Box::new(m20261124_000003_property_element::Migration),
        ]
    }
}
