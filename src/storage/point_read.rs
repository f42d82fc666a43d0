//! Point reads on SQLite without the connection-thread hop.
//!
//! sqlx runs every SQLite connection on a worker thread of its own, so each statement is
//! a hand-off to that thread and back: two context switches, which the S4 profile (1,000
//! sequential CTag checks, `bench/`) showed to be most of a request's cost. The reads a
//! request makes before it does any work — the account by number, a collection by slug,
//! the books of a home, a few members' metadata, a resource's dead properties — are
//! single-index lookups of a few rows, a few microseconds each, so they run here, on the
//! calling thread, over a small pool of `query_only` connections to the same file.
//!
//! Semantics are those of a sqlx pool read: each statement sees the latest committed
//! state (WAL), outside any write transaction. Writes, transactions, listings and bodies
//! stay on sea-orm; PostgreSQL is not concerned (its driver does not hop threads).
//!
//! Does not: write, read bodies, or run a statement whose cost grows with a collection.

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, params};

use super::{
    Account, AccountId, Collection, CollectionId, CollectionKind, DeadProp, ObjectMeta, PropTarget,
    Result, StorageError,
};

/// Most idle connections kept; more are opened under load and closed after use.
const MAX_IDLE: usize = 8;

/// At most this many names go through [`PointReads::object_meta`]; a bigger batch is a
/// listing and stays on sea-orm.
pub const MAX_POINT_NAMES: usize = 16;

pub struct PointReads {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

const COLLECTION_COLS: &str =
    "id, account_id, kind, slug, token_id, seq, horizon, sort_order, created_at";

impl PointReads {
    /// Point reads on the database file at `path`, which must exist (the sqlx pool creates
    /// it and turns WAL on before this is used).
    pub fn new(path: PathBuf) -> Result<PointReads> {
        let reads = PointReads {
            path,
            idle: Mutex::new(Vec::new()),
        };
        // Fail at start-up, not on the first request.
        let conn = reads.open()?;
        reads.give_back(conn);
        Ok(reads)
    }

    fn open(&self) -> Result<Connection> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags).map_err(err)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(err)?;
        conn.pragma_update(None, "query_only", true).map_err(err)?;
        Ok(conn)
    }

    fn give_back(&self, conn: Connection) {
        let mut idle = self.idle.lock().expect("point-read pool");
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
    }

    /// Runs `f` on an idle connection (or a new one) and counts one statement.
    fn with<T>(
        &self,
        queries: &AtomicU64,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T> {
        let conn = match self.idle.lock().expect("point-read pool").pop() {
            Some(c) => c,
            None => self.open()?,
        };
        queries.fetch_add(1, Ordering::Relaxed);
        let out = f(&conn).map_err(err);
        self.give_back(conn);
        out
    }

    pub fn account_by_phone(&self, q: &AtomicU64, phone: &str) -> Result<Option<Account>> {
        self.with(q, |c| {
            c.prepare_cached(
                "SELECT id, phone, password_hash, password_changed_at, created_at \
                 FROM account WHERE phone = ?1",
            )?
            .query_row(params![phone], |r| {
                Ok(Account {
                    id: r.get(0)?,
                    phone: r.get(1)?,
                    password_hash: r.get(2)?,
                    password_changed_at: r.get(3)?,
                    created_at: r.get(4)?,
                })
            })
            .optional()
        })
    }

    pub fn get_collection(
        &self,
        q: &AtomicU64,
        account: AccountId,
        kind: CollectionKind,
        slug: &str,
    ) -> Result<Option<Collection>> {
        let row = self.with(q, |c| {
            c.prepare_cached(&format!(
                "SELECT {COLLECTION_COLS} FROM collection \
                 WHERE account_id = ?1 AND kind = ?2 AND slug = ?3"
            ))?
            .query_row(params![account, kind.as_str(), slug], collection_row)
            .optional()
        })?;
        row.map(into_collection).transpose()
    }

    pub fn list_collections(
        &self,
        q: &AtomicU64,
        account: AccountId,
        kind: Option<CollectionKind>,
    ) -> Result<Vec<Collection>> {
        let rows = self.with(q, |c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {COLLECTION_COLS} FROM collection \
                 WHERE account_id = ?1 AND (?2 IS NULL OR kind = ?2) \
                 ORDER BY sort_order, slug"
            ))?;
            let rows =
                stmt.query_map(params![account, kind.map(|k| k.as_str())], collection_row)?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        rows.into_iter().map(into_collection).collect()
    }

    /// Metadata of at most [`MAX_POINT_NAMES`] members, in no particular order.
    pub fn object_meta(
        &self,
        q: &AtomicU64,
        collection: CollectionId,
        names: &[String],
    ) -> Result<Vec<ObjectMeta>> {
        debug_assert!(names.len() <= MAX_POINT_NAMES);
        self.with(q, |c| {
            let mut stmt = c.prepare_cached(
                "SELECT name, uid, etag, content_type, size, modified_at FROM object \
                 WHERE collection_id = ?1 AND name = ?2",
            )?;
            let mut out = Vec::with_capacity(names.len());
            for name in names {
                let found = stmt
                    .query_row(params![collection, name], |r| {
                        Ok(ObjectMeta {
                            name: r.get(0)?,
                            uid: r.get(1)?,
                            etag: r.get(2)?,
                            content_type: r.get(3)?,
                            size: r.get(4)?,
                            modified_at: r.get(5)?,
                        })
                    })
                    .optional()?;
                out.extend(found);
            }
            Ok(out)
        })
    }

    pub fn get_props(&self, q: &AtomicU64, target: PropTarget<'_>) -> Result<Vec<DeadProp>> {
        self.with(q, |c| {
            let mut stmt = c.prepare_cached(
                "SELECT namespace, name, value FROM property \
                 WHERE collection_id = ?1 AND object_name = ?2 ORDER BY namespace, name",
            )?;
            let rows = stmt.query_map(
                params![target.collection, target.object.unwrap_or("")],
                |r| {
                    Ok(DeadProp {
                        namespace: r.get(0)?,
                        name: r.get(1)?,
                        value: r.get(2)?,
                    })
                },
            )?;
            rows.collect()
        })
    }
}

/// A collection row as read, before its kind is checked.
struct CollectionRow {
    c: Collection,
    kind: String,
}

fn collection_row(r: &Row<'_>) -> rusqlite::Result<CollectionRow> {
    let kind: String = r.get(2)?;
    Ok(CollectionRow {
        c: Collection {
            id: r.get(0)?,
            account_id: r.get(1)?,
            // Replaced in `into_collection` once the text is checked.
            kind: CollectionKind::Addressbook,
            slug: r.get(3)?,
            token_id: r.get(4)?,
            seq: r.get(5)?,
            horizon: r.get(6)?,
            sort_order: r.get(7)?,
            created_at: r.get(8)?,
        },
        kind,
    })
}

fn into_collection(row: CollectionRow) -> Result<Collection> {
    let kind = CollectionKind::parse(&row.kind)
        .ok_or_else(|| StorageError::Db(format!("unknown collection kind {:?}", row.kind)))?;
    Ok(Collection { kind, ..row.c })
}

fn err(e: rusqlite::Error) -> StorageError {
    StorageError::Db(format!("sqlite: {e}"))
}
