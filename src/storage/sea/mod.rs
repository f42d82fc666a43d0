//! The sea-orm implementation of [`super::Storage`] for SQLite and PostgreSQL.
//!
//! # How the contract is kept
//! - **One transaction per write.** Every method that changes an object first runs
//!   `UPDATE collection SET seq = seq + n WHERE id = ? RETURNING …` inside its
//!   transaction. That allocates the change's sequence number and, on PostgreSQL, takes the
//!   collection's row lock, so writers of one collection are serialised and every
//!   precondition (`Condition`, UID uniqueness, overwrite) is checked against rows no other
//!   writer can change before commit. A failed precondition rolls the transaction back,
//!   so the sequence is not advanced and no change row is appended.
//! - **Puts lock first, allocate last.** `put_object`/`put_objects` lock with `seq + 0`,
//!   look up the members they name and the UIDs they carry (one statement per
//!   [`IN_CHUNK`] names/UIDs), evaluate every item in memory in order (conditions,
//!   unchanged puts, UID uniqueness as the earlier items leave the collection), and only
//!   then write: kept versions, one multi-row upsert per chunk of members, one multi-row
//!   insert per chunk of change rows, and finally `seq + n` for the `n` changing items,
//!   which were numbered `seq+1..=seq+n` in order. If no item changes anything the
//!   transaction is rolled back, so an unchanged put leaves no trace (not even the
//!   lock's no-op update). A batch of any size costs O(items / chunk) statements.
//! - **Versions** (`object_version`) are inserted with `INSERT … SELECT` from the row
//!   being replaced or deleted (bodies never travel to the client for that), or from
//!   memory for bodies an earlier item of the same batch wrote, then pruned in the same
//!   transaction to the newest [`ConnectOptions::keep_versions`] per name (by id, with
//!   `ROW_NUMBER() OVER (PARTITION BY name …)`, one statement per chunk of names).
//!   Moves re-key them to the destination; collection deletes cascade.
//! - **SQLite has one writer.** All writes additionally pass through a `tokio` mutex and
//!   start with `BEGIN IMMEDIATE`, so a transaction never has to upgrade a read lock (the
//!   source of `SQLITE_BUSY` that `busy_timeout` cannot resolve). Connections run in WAL
//!   mode, so readers never wait for the writer. Single-index reads outside transactions
//!   (account, collection, a home's books, a few members' metadata, dead properties) go
//!   through [`super::point_read`] on a SQLite file, without sqlx's thread hop;
//!   [`SeaStorage::checkpoint_if_idle`] folds the write-ahead log back once writes pause.
//! - **Sequences are unique per collection.** Each change row of a collection gets its own
//!   sequence number (a rename inside one collection takes two: `seq+1` for the old name,
//!   `seq+2` for the new one). `object.seq` is the sequence of the object's latest change.
//!   Because no two members share a latest sequence, "everything after the last returned
//!   sequence" is an exact resume point for a truncated listing.
//! - **`changes_since` costs O(changes).** It runs in one read snapshot (`REPEATABLE READ`
//!   on PostgreSQL, a deferred read transaction on SQLite): one statement reads the
//!   collection's `seq`/`horizon`, one groups the change log after the token by name
//!   (`MAX(seq)`), one fetches the metadata of those names (chunks of
//!   [`IN_CHUNK`] names). Bodies are never read there.
//! - **Pruning.** `prune_changes(c, s)` deletes *every* change row of `c` with
//!   `seq <= s` (clamped to the current sequence) and raises the horizon to `s`. That is a
//!   superset of the rows of deleted members the trait mentions: once the horizon is `s`,
//!   no valid token can read a row at or below `s` (incremental syncs only read rows above
//!   the token, initial syncs read the object table), so keeping them would only grow the
//!   log. The returned count includes all rows dropped. Caveat: a *truncated initial*
//!   sync returns the `object.seq` of its last member as the token; if that is below the
//!   horizon the next page is `InvalidToken`, so callers should prune only up to a
//!   sequence no paging client still needs (or page initial syncs without pruning).
//! - **Dead properties** of a member are deleted with it, moved with it and copied with it;
//!   a `PUT` that replaces a member keeps them. Changing a dead property does not advance
//!   the sequence (it is not a change to the member's bytes).
//! - **Trees** (files collections). Prefix matches are `substr(name, 1, n) = prefix` with
//!   `n` in characters (both databases count characters), never `LIKE` (SQLite folds ASCII
//!   case there and `%`/`_` would need escaping) nor a collation-dependent range. A tree
//!   operation locks the collection with `seq + 0`, reads the member ids it touches,
//!   checks parent, twin and overwrite, then works member by member (bodies are copied
//!   with `INSERT … SELECT`, never loaded), numbering each change row `seq+1, seq+2, …`,
//!   and finally advances the sequence by the number of change rows.
//! - **Errors.** Unique violations become `AlreadyExists` where the contract says so,
//!   foreign-key violations (an account that does not exist) become `NotFound`, every
//!   other database error becomes `StorageError::Db`; nothing here panics on a database
//!   result.
//!
//! # ETag comparison
//! `Condition` ETags are compared with the stored value byte for byte after removing
//! surrounding double quotes, so both `abc` and `"abc"` match a stored `abc`.
//!
//! # Missing targets and preconditions
//! Following RFC 7232 §6 (`If-Match` is evaluated before the method), deleting or moving a
//! member that does not exist with `IfMatch`/`IfMatchAny` is `PreconditionFailed`;
//! without such a condition it is `NotFound`. Moving or copying a member onto itself is
//! `PreconditionFailed` (RFC 4918 §9.8.5/§9.9.4 forbid it; the caller answers 403).
//!
//! # Layout
//! This file holds the connection ([`SeaStorage`], [`ConnectOptions`], `connect`,
//! migrations), the SQLite writer lock, the start and end of transactions and the WAL
//! checkpoint. The rest is one file per concern, each with its own `impl` of the
//! contract's sub-trait where it has one:
//! - `rows.rs`: error mapping, timestamps, shared row types and conversions,
//!   `meta_select`, the chunking of multi-row inserts.
//! - `accounts.rs` ([`Accounts`](super::Accounts)), `collections.rs` ([`Collections`](super::Collections)).
//! - `objects.rs` ([`Objects`](super::Objects)): reads, conditions, heads, UID checks, `write_object`,
//!   delete. The sub-trait's put, version, move and copy methods are here too (a trait's
//!   `impl` cannot be split across files) and call into `batch.rs` (put planning and
//!   multi-row upserts, shared with `put_path`), `versions.rs` (kept versions) and
//!   `transfer.rs` (move and copy of one member).
//! - `changes.rs` ([`ChangeLog`](super::ChangeLog)): `bump`, change rows, `changes_since`, pruning.
//! - `tree.rs` ([`Trees`](super::Trees)), `props.rs` ([`DeadProps`](super::DeadProps)).
//!
//! A helper lives once, in the file of the concern it serves, and is `pub(super)` when
//! another file calls it. `entities.rs` and `point_read.rs` stay beside this directory:
//! the entities are the schema (what `migrations` creates), and the point reads are not
//! sea-orm but rusqlite, a second reader of the same file.

mod accounts;
mod batch;
mod changes;
mod collections;
mod objects;
mod props;
mod rows;
mod transfer;
mod tree;
mod versions;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sea_orm::sqlx;
use sea_orm::{
    AccessMode, DatabaseConnection, DatabaseTransaction, DbBackend, IsolationLevel,
    SqliteTransactionMode, SqlxPostgresConnector, SqlxSqliteConnector, TransactionOptions,
    TransactionTrait,
};
use tokio::sync::{Mutex, MutexGuard};

use super::point_read::PointReads;
use super::{PutOutcome, Result, StorageError};
use migrations::MigratorTrait;
use rows::db_err;

/// Largest number of names put in one `IN (…)` list; longer lists are split.
pub const IN_CHUNK: usize = 500;

/// Default of [`ConnectOptions::keep_versions`].
pub const DEFAULT_KEEP_VERSIONS: u32 = 10;

/// How to open the database.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Size of the connection pool; 0 means the default (8).
    pub max_connections: u32,
    /// PostgreSQL only: the schema to create (if missing) and put first on every
    /// connection's `search_path`. Must be ASCII letters, digits and `_`. Ignored for
    /// SQLite.
    pub schema: Option<String>,
    /// How many earlier bodies to keep per (collection, member name) for
    /// [`Objects::object_version`](super::Objects::object_version) (default
    /// [`DEFAULT_KEEP_VERSIONS`]); 0 keeps none.
    /// Applied per name whenever a write adds versions to it, so lowering it shrinks
    /// existing histories as their members change.
    pub keep_versions: u32,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            schema: None,
            keep_versions: DEFAULT_KEEP_VERSIONS,
        }
    }
}

const DEFAULT_MAX_CONNECTIONS: u32 = 8;

/// [`Storage`](super::Storage) over sea-orm, for SQLite and PostgreSQL. Cheap to share behind an `Arc`.
pub struct SeaStorage {
    db: DatabaseConnection,
    /// Statements executed so far (sea-orm's metric callback plus the transaction
    /// statements `BEGIN`/`COMMIT`/`ROLLBACK` counted here).
    queries: Arc<AtomicU64>,
    /// `Some` on SQLite: serialises writers (SQLite has one writer at a time).
    write_lock: Option<Mutex<()>>,
    /// [`ConnectOptions::keep_versions`].
    keep_versions: u32,
    /// `Some` on a SQLite file: point reads on the calling thread (`point_read`).
    point: Option<PointReads>,
    /// When this storage was opened: the origin of `last_write_ms`.
    origin: std::time::Instant,
    /// Milliseconds after `origin` of the last write lock taken since the last WAL
    /// checkpoint; 0 when there was none.
    last_write_ms: AtomicU64,
}

impl std::fmt::Debug for SeaStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeaStorage")
            .field("backend", &self.db.get_database_backend())
            .field("queries", &self.queries())
            .finish()
    }
}

/// A write transaction together with the SQLite writer lock it holds.
struct Writer<'a> {
    txn: DatabaseTransaction,
    _guard: Option<MutexGuard<'a, ()>>,
}

fn sqlx_err(e: sqlx::Error) -> StorageError {
    StorageError::Db(e.to_string())
}

/// Validates a PostgreSQL schema name (we interpolate it into SQL, quoted).
fn valid_schema(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

impl SeaStorage {
    /// Opens the database at `url`.
    ///
    /// - `postgres://…`/`postgresql://…`: a PostgreSQL pool; with `opts.schema`, the schema
    ///   is created if missing and set as `search_path` on every pooled connection.
    /// - `sqlite:…` or a plain file path: a SQLite pool; the file is created if missing,
    ///   and every connection runs with `journal_mode=WAL`, `synchronous=NORMAL`,
    ///   `busy_timeout` 5 s and `foreign_keys=ON`.
    ///
    /// Does not migrate; call [`SeaStorage::migrate`].
    pub async fn connect(url: &str, opts: ConnectOptions) -> Result<SeaStorage> {
        use sqlx::ConnectOptions as _;
        let max = if opts.max_connections == 0 {
            DEFAULT_MAX_CONNECTIONS
        } else {
            opts.max_connections
        };
        let mut point = None;
        let (mut db, write_lock) = if url.starts_with("postgres://")
            || url.starts_with("postgresql://")
        {
            let pg: sqlx::postgres::PgConnectOptions = url.parse().map_err(sqlx_err)?;
            let pg = pg.disable_statement_logging();
            let mut pool = sqlx::postgres::PgPoolOptions::new().max_connections(max);
            let create = match opts.schema {
                Some(schema) => {
                    if !valid_schema(&schema) {
                        return Err(StorageError::Db(format!("invalid schema name {schema:?}")));
                    }
                    let set = format!("SET search_path TO \"{schema}\"");
                    pool = pool.after_connect(move |conn, _meta| {
                        let set = set.clone();
                        Box::pin(async move {
                            sqlx::Executor::execute(conn, sqlx::AssertSqlSafe(set))
                                .await
                                .map(|_| ())
                        })
                    });
                    Some(format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
                }
                None => None,
            };
            let pool = pool.connect_with(pg).await.map_err(sqlx_err)?;
            if let Some(create) = create {
                sqlx::query(sqlx::AssertSqlSafe(create))
                    .execute(&pool)
                    .await
                    .map_err(sqlx_err)?;
            }
            (SqlxPostgresConnector::from_sqlx_postgres_pool(pool), None)
        } else {
            use sqlx::sqlite::{
                SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
            };
            let base = if url.starts_with("sqlite:") {
                url.parse::<SqliteConnectOptions>().map_err(sqlx_err)?
            } else {
                SqliteConnectOptions::new().filename(url)
            };
            let so = base
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true)
                .disable_statement_logging();
            // A SQLite connection cannot go stale, so the pool does not ping it before
            // handing it out: every ping is a round trip to the connection's thread.
            let pool = SqlitePoolOptions::new()
                .max_connections(max)
                .test_before_acquire(false)
                .connect_with(so.clone())
                .await
                .map_err(sqlx_err)?;
            let file = so.get_filename();
            let in_memory = url.contains("memory") || file.as_os_str() == ":memory:";
            if !in_memory {
                point = Some(PointReads::new(file.to_path_buf())?);
            }
            (
                SqlxSqliteConnector::from_sqlx_sqlite_pool(pool),
                Some(Mutex::new(())),
            )
        };
        let queries = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&queries);
        db.set_metric_callback(move |_info| {
            counter.fetch_add(1, Ordering::Relaxed);
        });
        Ok(SeaStorage {
            db,
            queries,
            write_lock,
            keep_versions: opts.keep_versions,
            point,
            origin: std::time::Instant::now(),
            last_write_ms: AtomicU64::new(0),
        })
    }

    /// Applies every pending migration of [`migrations::Migrator`].
    pub async fn migrate(&self) -> Result<()> {
        self.migrate_steps(None).await
    }

    /// Applies the next `steps` pending migrations (all of them with `None`): tests hold
    /// a database at an older schema with it, to show what a migration does to its data.
    pub async fn migrate_steps(&self, steps: Option<u32>) -> Result<()> {
        let _guard = self.writer_lock().await;
        migrations::Migrator::up(&self.db, steps)
            .await
            .map_err(db_err)
    }

    /// Number of SQL statements executed through this storage so far (including
    /// `BEGIN`/`COMMIT`/`ROLLBACK`). Tests use deltas of it to show that a listing costs
    /// a fixed number of statements.
    pub fn queries(&self) -> u64 {
        self.queries.load(Ordering::Relaxed)
    }

    /// The database backend in use.
    pub fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    fn count(&self) {
        self.queries.fetch_add(1, Ordering::Relaxed);
    }

    async fn writer_lock(&self) -> Option<MutexGuard<'_, ()>> {
        match &self.write_lock {
            Some(m) => {
                let guard = m.lock().await;
                let ms = self.origin.elapsed().as_millis() as u64;
                self.last_write_ms.store(Ord::max(ms, 1), Ordering::Relaxed);
                Some(guard)
            }
            None => None,
        }
    }

    /// On SQLite, once nothing was written for `idle`: checkpoints the write-ahead log into
    /// the database and truncates it (`PRAGMA wal_checkpoint(TRUNCATE)`), so an idle
    /// server's files hold each byte once. Returns whether it checkpointed. A no-op on
    /// PostgreSQL, and when nothing was written since the last checkpoint.
    ///
    /// The statement bypasses the statement counter: it is maintenance, not a request's.
    pub async fn checkpoint_if_idle(&self, idle: Duration) -> Result<bool> {
        let Some(lock) = &self.write_lock else {
            return Ok(false);
        };
        let last = self.last_write_ms.load(Ordering::Relaxed);
        let now = self.origin.elapsed().as_millis() as u64;
        if last == 0 || now.saturating_sub(last) < idle.as_millis() as u64 {
            return Ok(false);
        }
        // Not `writer_lock`, which would count as a write.
        let _guard = lock.lock().await;
        if self.last_write_ms.load(Ordering::Relaxed) != last {
            return Ok(false);
        }
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(self.db.get_sqlite_connection_pool())
            .await
            .map_err(sqlx_err)?;
        self.last_write_ms.store(0, Ordering::Relaxed);
        Ok(true)
    }

    /// Starts a write transaction (taking the SQLite writer lock first).
    async fn begin_write(&self) -> Result<Writer<'_>> {
        let guard = self.writer_lock().await;
        let options = if guard.is_some() {
            TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..TransactionOptions::default()
            }
        } else {
            TransactionOptions::default()
        };
        self.count();
        let txn = self.db.begin_with_options(options).await.map_err(db_err)?;
        Ok(Writer { txn, _guard: guard })
    }

    /// Starts a read-only snapshot (`REPEATABLE READ` on PostgreSQL; on SQLite a deferred
    /// transaction is a snapshot from its first read).
    async fn begin_read(&self) -> Result<DatabaseTransaction> {
        self.count();
        let txn = if self.db.get_database_backend() == DbBackend::Postgres {
            self.db
                .begin_with_config(
                    Some(IsolationLevel::RepeatableRead),
                    Some(AccessMode::ReadOnly),
                )
                .await
        } else {
            self.db.begin().await
        };
        txn.map_err(db_err)
    }

    /// Commits on `Ok`, rolls back on `Err`; returns `res` (or the commit's error).
    async fn finish<T>(&self, txn: DatabaseTransaction, res: Result<T>) -> Result<T> {
        self.count();
        match res {
            Ok(v) => {
                txn.commit().await.map_err(db_err)?;
                Ok(v)
            }
            Err(e) => {
                // The rollback's own failure is secondary: the connection is discarded
                // by sqlx and the caller learns the original error.
                let _ = txn.rollback().await;
                Err(e)
            }
        }
    }

    async fn finish_write<T>(&self, w: Writer<'_>, res: Result<T>) -> Result<T> {
        let Writer { txn, _guard } = w;
        self.finish(txn, res).await
    }

    /// Commits a put that changed something, rolls back one that did not (or failed).
    async fn finish_put(
        &self,
        w: Writer<'_>,
        res: Result<(Vec<PutOutcome>, bool)>,
    ) -> Result<Vec<PutOutcome>> {
        match res {
            Ok((outcomes, false)) => {
                let Writer { txn, _guard } = w;
                self.count();
                txn.rollback().await.map_err(db_err)?;
                Ok(outcomes)
            }
            Ok((outcomes, true)) => self.finish_write(w, Ok(outcomes)).await,
            Err(e) => self.finish_write(w, Err(e)).await,
        }
    }

    /// [`SeaStorage::finish_put`] for a put of one item (`put_object`, `put_path`): its
    /// outcome, and its error unwrapped from `Batch`.
    async fn finish_put_one(
        &self,
        w: Writer<'_>,
        res: Result<(Vec<PutOutcome>, bool)>,
    ) -> Result<PutOutcome> {
        match self.finish_put(w, res).await {
            Ok(mut outcomes) => outcomes
                .pop()
                .ok_or_else(|| StorageError::Db("put produced no outcome".into())),
            Err(StorageError::Batch { error, .. }) => Err(*error),
            Err(e) => Err(e),
        }
    }
}
