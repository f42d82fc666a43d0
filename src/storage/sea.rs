//! The sea-orm implementation of [`super::Storage`] for SQLite and PostgreSQL.
//! (placeholder until the storage branch lands)
use super::StorageError;

#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    pub max_connections: u32,
    pub schema: Option<String>,
}

pub struct SeaStorage;

impl SeaStorage {
    pub async fn connect(_url: &str, _opts: ConnectOptions) -> Result<SeaStorage, StorageError> {
        Err(StorageError::Db("not implemented".into()))
    }
    pub async fn migrate(&self) -> Result<(), StorageError> {
        Ok(())
    }
    pub fn queries(&self) -> u64 {
        0
    }
}
