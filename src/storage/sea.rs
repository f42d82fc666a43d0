//! The sea-orm implementation of [`super::Storage`] for SQLite and PostgreSQL.
pub struct SeaStorage;
