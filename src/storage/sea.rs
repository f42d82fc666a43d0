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
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use sea_orm::sea_query::{
    Alias, Expr, ExprTrait, Func, OnConflict, Order, Query, SelectStatement, WindowStatement,
};
use sea_orm::sqlx;
use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    EntityTrait, FromQueryResult, IsolationLevel, QueryFilter, QueryOrder, QuerySelect, SqlErr,
    SqliteTransactionMode, SqlxPostgresConnector, SqlxSqliteConnector, TransactionOptions,
    TransactionTrait,
};
use tokio::sync::{Mutex, MutexGuard};

use super::entities::{account, change, collection, object, object_version, property};
use super::point_read::{self, PointReads};
use super::{
    Account, AccountId, Change, Changes, Collection, CollectionId, CollectionKind, Condition,
    DeadProp, NewCollection, NewObject, Object, ObjectMeta, PropOp, PropTarget, PutOutcome, Result,
    StorageError, TransferOutcome,
};
use super::{Accounts, ChangeLog, Collections, DeadProps, Objects, Trees};
use migrations::MigratorTrait;

/// Largest number of names put in one `IN (…)` list; longer lists are split.
pub const IN_CHUNK: usize = 500;

/// Most rows written by one multi-row `INSERT` of objects or versions…
const ROW_CHUNK: usize = 200;
/// …and most body bytes in one such statement (a larger single row goes alone).
const BODY_CHUNK: usize = 8 << 20;

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
    /// [`Storage::object_version`](super::Storage::object_version) (default [`DEFAULT_KEEP_VERSIONS`]); 0 keeps none.
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

fn db_err(e: DbErr) -> StorageError {
    StorageError::Db(e.to_string())
}

fn sqlx_err(e: sqlx::Error) -> StorageError {
    StorageError::Db(e.to_string())
}

fn is_unique_violation(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

fn is_fk_violation(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(SqlErr::ForeignKeyConstraintViolation(_)))
}

/// Maps an insert's error: unique violation → `AlreadyExists`, missing parent →
/// `NotFound`, anything else → `Db`.
fn insert_err(e: DbErr) -> StorageError {
    if is_unique_violation(&e) {
        StorageError::AlreadyExists
    } else if is_fk_violation(&e) {
        StorageError::NotFound
    } else {
        db_err(e)
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn new_token_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn tag_matches(tags: &[String], etag: &str) -> bool {
    tags.iter().any(|t| {
        t.strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .unwrap_or(t)
            == etag
    })
}

/// Evaluates `cond` against the current ETag (`None` = the member does not exist).
fn check_condition(cond: &Condition, current: Option<&str>) -> Result<()> {
    let ok = match cond {
        Condition::None => true,
        Condition::IfMatch(tags) => current.is_some_and(|e| tag_matches(tags, e)),
        Condition::IfMatchAny => current.is_some(),
        Condition::IfNoneMatchAny => current.is_none(),
        Condition::IfNoneMatch(tags) => current.is_none_or(|e| !tag_matches(tags, e)),
    };
    if ok {
        Ok(())
    } else {
        Err(StorageError::PreconditionFailed)
    }
}

/// The error for a member that must exist but does not (see the module docs).
fn missing_member(cond: &Condition) -> StorageError {
    match cond {
        Condition::IfMatch(_) | Condition::IfMatchAny => StorageError::PreconditionFailed,
        _ => StorageError::NotFound,
    }
}

fn to_account(m: account::Model) -> Account {
    Account {
        id: m.id,
        phone: m.phone,
        password_hash: m.password_hash,
        password_changed_at: m.password_changed_at,
        created_at: m.created_at,
    }
}

fn to_collection(m: collection::Model) -> Result<Collection> {
    let kind = CollectionKind::parse(&m.kind)
        .ok_or_else(|| StorageError::Db(format!("unknown collection kind {:?}", m.kind)))?;
    Ok(Collection {
        id: m.id,
        account_id: m.account_id,
        kind,
        slug: m.slug,
        token_id: m.token_id,
        seq: m.seq,
        horizon: m.horizon,
        sort_order: m.sort_order,
        created_at: m.created_at,
    })
}

fn to_object(m: object::Model) -> Object {
    Object {
        meta: ObjectMeta {
            name: m.name,
            uid: m.uid,
            etag: m.etag,
            content_type: m.content_type,
            size: m.size,
            modified_at: m.modified_at,
        },
        body: m.body,
    }
}

/// The metadata columns of `object` (everything but the body), plus `seq`.
#[derive(Debug, FromQueryResult)]
struct MetaRow {
    name: String,
    uid: String,
    etag: String,
    content_type: String,
    size: i64,
    modified_at: i64,
    seq: i64,
}

impl MetaRow {
    fn into_meta(self) -> ObjectMeta {
        ObjectMeta {
            name: self.name,
            uid: self.uid,
            etag: self.etag,
            content_type: self.content_type,
            size: self.size,
            modified_at: self.modified_at,
        }
    }
}

/// `SELECT <metadata columns> FROM object WHERE collection_id = ?`.
fn meta_select(collection: CollectionId) -> SelectStatement {
    Query::select()
        .columns([
            object::Column::Name,
            object::Column::Uid,
            object::Column::Etag,
            object::Column::ContentType,
            object::Column::Size,
            object::Column::ModifiedAt,
            object::Column::Seq,
        ])
        .from(object::Entity)
        .and_where(Expr::col(object::Column::CollectionId).eq(collection))
        .take()
}

/// What a write needs to know about an existing member.
#[derive(Debug, FromQueryResult)]
struct Head {
    id: i64,
    uid: String,
    etag: String,
}

/// The collection row as the sequence bump returns it.
#[derive(Debug, FromQueryResult)]
struct Locked {
    seq: i64,
    horizon: i64,
    account_id: i64,
}

#[derive(Debug, FromQueryResult)]
struct ChangeRow {
    name: String,
    mseq: i64,
}

#[derive(Debug, FromQueryResult)]
struct IdRow {
    id: i64,
}

#[derive(Debug, FromQueryResult)]
struct NameRow {
    name: String,
}

/// `UPDATE collection SET seq = seq + by WHERE id = ? RETURNING seq, horizon, account_id`:
/// allocates `by` sequence numbers and row-locks the collection (PostgreSQL). `by = 0`
/// only locks. `None` when the collection does not exist.
async fn bump<C: ConnectionTrait>(c: &C, coll: CollectionId, by: i64) -> Result<Option<Locked>> {
    let stmt = Query::update()
        .table(collection::Entity)
        .value(
            collection::Column::Seq,
            Expr::col(collection::Column::Seq).add(by),
        )
        .and_where(Expr::col(collection::Column::Id).eq(coll))
        .returning(Query::returning().columns([
            collection::Column::Seq,
            collection::Column::Horizon,
            collection::Column::AccountId,
        ]))
        .take();
    let row = c.query_one(&stmt).await.map_err(db_err)?;
    row.map(|r| Locked::from_query_result(&r, "").map_err(db_err))
        .transpose()
}

/// Id, UID and ETag of a member, if it exists.
async fn head<C: ConnectionTrait>(c: &C, coll: CollectionId, name: &str) -> Result<Option<Head>> {
    let stmt = Query::select()
        .columns([
            object::Column::Id,
            object::Column::Uid,
            object::Column::Etag,
        ])
        .from(object::Entity)
        .and_where(Expr::col(object::Column::CollectionId).eq(coll))
        .and_where(Expr::col(object::Column::Name).eq(name))
        .take();
    let row = c.query_one(&stmt).await.map_err(db_err)?;
    row.map(|r| Head::from_query_result(&r, "").map_err(db_err))
        .transpose()
}

/// Name of another member of `coll` with this UID, other than `except_name` (and other
/// than the row `except_id`, the member being moved). Empty UIDs are never checked.
async fn uid_owner<C: ConnectionTrait>(
    c: &C,
    coll: CollectionId,
    uid: &str,
    except_name: &str,
    except_id: Option<i64>,
) -> Result<Option<String>> {
    if uid.is_empty() {
        return Ok(None);
    }
    let mut stmt = Query::select()
        .column(object::Column::Name)
        .from(object::Entity)
        .and_where(Expr::col(object::Column::CollectionId).eq(coll))
        .and_where(Expr::col(object::Column::Uid).eq(uid))
        .and_where(Expr::col(object::Column::Name).ne(except_name))
        .order_by(object::Column::Name, Order::Asc)
        .limit(1)
        .take();
    if let Some(id) = except_id {
        stmt.and_where(Expr::col(object::Column::Id).ne(id));
    }
    let row = c.query_one(&stmt).await.map_err(db_err)?;
    row.map(|r| {
        NameRow::from_query_result(&r, "")
            .map(|n| n.name)
            .map_err(db_err)
    })
    .transpose()
}

/// Appends change rows `(seq, name, deleted)` to `coll`'s log.
async fn log_change<C: ConnectionTrait>(
    c: &C,
    coll: CollectionId,
    seq: i64,
    name: &str,
    deleted: bool,
) -> Result<()> {
    let stmt = Query::insert()
        .into_table(change::Entity)
        .columns([
            change::Column::CollectionId,
            change::Column::Seq,
            change::Column::Name,
            change::Column::Deleted,
        ])
        .values([coll.into(), seq.into(), name.into(), deleted.into()])
        .map_err(|e| StorageError::Db(e.to_string()))?
        .take();
    c.execute(&stmt).await.map_err(db_err)?;
    Ok(())
}

/// Deletes the dead properties of one member.
async fn delete_member_props<C: ConnectionTrait>(
    c: &C,
    coll: CollectionId,
    name: &str,
) -> Result<()> {
    let stmt = Query::delete()
        .from_table(property::Entity)
        .and_where(Expr::col(property::Column::CollectionId).eq(coll))
        .and_where(Expr::col(property::Column::ObjectName).eq(name))
        .take();
    c.execute(&stmt).await.map_err(db_err)?;
    Ok(())
}

async fn delete_object_row<C: ConnectionTrait>(c: &C, id: i64) -> Result<()> {
    let stmt = Query::delete()
        .from_table(object::Entity)
        .and_where(Expr::col(object::Column::Id).eq(id))
        .take();
    c.execute(&stmt).await.map_err(db_err)?;
    Ok(())
}

/// Keeps the current bodies of the object rows `ids` (all of `coll`) as versions under
/// their names, in id order; chunks of [`IN_CHUNK`] ids, the bodies never leave the
/// database.
async fn keep_row_versions<C: ConnectionTrait>(c: &C, ids: &[i64]) -> Result<()> {
    let ts = now();
    for chunk in ids.chunks(IN_CHUNK) {
        let select = Query::select()
            .columns([
                object::Column::CollectionId,
                object::Column::Name,
                object::Column::Etag,
                object::Column::Body,
            ])
            .expr(Expr::val(ts))
            .from(object::Entity)
            .and_where(Expr::col(object::Column::Id).is_in(chunk.iter().copied()))
            .order_by(object::Column::Id, Order::Asc)
            .take();
        let stmt = Query::insert()
            .into_table(object_version::Entity)
            .columns([
                object_version::Column::CollectionId,
                object_version::Column::Name,
                object_version::Column::Etag,
                object_version::Column::Body,
                object_version::Column::CreatedAt,
            ])
            .select_from(select)
            .map_err(|e| StorageError::Db(e.to_string()))?
            .take();
        c.execute(&stmt).await.map_err(db_err)?;
    }
    Ok(())
}

/// Splits `rows` into runs of at most [`ROW_CHUNK`] rows and about [`BODY_CHUNK`] body
/// bytes, for multi-row inserts that stay within parameter and packet limits.
fn body_chunks<T>(rows: &[T], size: impl Fn(&T) -> usize) -> Vec<&[T]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (i, r) in rows.iter().enumerate() {
        let n = size(r);
        if i > start && (i - start >= ROW_CHUNK || bytes + n > BODY_CHUNK) {
            out.push(&rows[start..i]);
            start = i;
            bytes = 0;
        }
        bytes += n;
    }
    if start < rows.len() {
        out.push(&rows[start..]);
    }
    out
}

/// A body that stopped being current inside a batch (an earlier item's bytes replaced by a
/// later item of the same name).
struct MemVersion<'a> {
    name: &'a str,
    etag: &'a str,
    body: &'a [u8],
}

/// Inserts versions held in memory, in order.
async fn keep_mem_versions<C: ConnectionTrait>(
    c: &C,
    coll: CollectionId,
    versions: &[MemVersion<'_>],
) -> Result<()> {
    let ts = now();
    for chunk in body_chunks(versions, |v| v.body.len()) {
        let mut stmt = Query::insert();
        stmt.into_table(object_version::Entity).columns([
            object_version::Column::CollectionId,
            object_version::Column::Name,
            object_version::Column::Etag,
            object_version::Column::Body,
            object_version::Column::CreatedAt,
        ]);
        for v in chunk {
            stmt.values([
                coll.into(),
                v.name.into(),
                v.etag.into(),
                v.body.to_vec().into(),
                ts.into(),
            ])
            .map_err(|e| StorageError::Db(e.to_string()))?;
        }
        c.execute(&stmt).await.map_err(db_err)?;
    }
    Ok(())
}

/// Drops all but the newest `keep` versions of each of `names` in `coll` (all of them when
/// `keep` is 0); one statement per [`IN_CHUNK`] names.
async fn prune_versions<C: ConnectionTrait>(
    c: &C,
    coll: CollectionId,
    names: &BTreeSet<&str>,
    keep: u32,
) -> Result<()> {
    let names: Vec<&str> = names.iter().copied().collect();
    for chunk in names.chunks(IN_CHUNK) {
        let of_names = Expr::col(object_version::Column::Name).is_in(chunk.iter().copied());
        let mut stmt = Query::delete();
        stmt.from_table(object_version::Entity);
        if keep == 0 {
            stmt.and_where(Expr::col(object_version::Column::CollectionId).eq(coll))
                .and_where(of_names);
        } else {
            // Rank each name's versions newest first; everything ranked past `keep` goes.
            let ranked = Query::select()
                .column(object_version::Column::Id)
                .expr_window_as(
                    Func::cust(Alias::new("ROW_NUMBER")),
                    WindowStatement::partition_by(object_version::Column::Name)
                        .order_by(object_version::Column::Id, Order::Desc)
                        .take(),
                    Alias::new("rn"),
                )
                .from(object_version::Entity)
                .and_where(Expr::col(object_version::Column::CollectionId).eq(coll))
                .and_where(of_names)
                .take();
            let doomed = Query::select()
                .column(Alias::new("id"))
                .from_subquery(ranked, Alias::new("ranked"))
                .and_where(Expr::col(Alias::new("rn")).gt(i64::from(keep)))
                .take();
            stmt.and_where(Expr::col(object_version::Column::Id).in_subquery(doomed));
        }
        c.execute(&stmt).await.map_err(db_err)?;
    }
    Ok(())
}

/// What a batch put needs to know about an existing member.
#[derive(Debug, FromQueryResult)]
struct BatchHead {
    id: i64,
    name: String,
    uid: String,
    etag: String,
    content_type: String,
}

/// Heads of the named members that exist, by name; one statement per [`IN_CHUNK`] names.
async fn heads_by_name<C: ConnectionTrait>(
    c: &C,
    coll: CollectionId,
    names: &[&str],
) -> Result<HashMap<String, BatchHead>> {
    let mut out = HashMap::with_capacity(names.len());
    for chunk in names.chunks(IN_CHUNK) {
        let stmt = Query::select()
            .columns([
                object::Column::Id,
                object::Column::Name,
                object::Column::Uid,
                object::Column::Etag,
                object::Column::ContentType,
            ])
            .from(object::Entity)
            .and_where(Expr::col(object::Column::CollectionId).eq(coll))
            .and_where(Expr::col(object::Column::Name).is_in(chunk.iter().copied()))
            .take();
        for r in c.query_all(&stmt).await.map_err(db_err)? {
            let h = BatchHead::from_query_result(&r, "").map_err(db_err)?;
            out.insert(h.name.clone(), h);
        }
    }
    Ok(out)
}

#[derive(Debug, FromQueryResult)]
struct UidRow {
    name: String,
    uid: String,
}

/// For each of `uids` (non-empty), the names of the members of `coll` carrying it; one
/// statement per [`IN_CHUNK`] UIDs.
async fn names_by_uid<C: ConnectionTrait>(
    c: &C,
    coll: CollectionId,
    uids: &[&str],
) -> Result<HashMap<String, BTreeSet<String>>> {
    let mut out: HashMap<String, BTreeSet<String>> = uids
        .iter()
        .map(|u| ((*u).to_owned(), BTreeSet::new()))
        .collect();
    for chunk in uids.chunks(IN_CHUNK) {
        let stmt = Query::select()
            .columns([object::Column::Name, object::Column::Uid])
            .from(object::Entity)
            .and_where(Expr::col(object::Column::CollectionId).eq(coll))
            .and_where(Expr::col(object::Column::Uid).is_in(chunk.iter().copied()))
            .take();
        for r in c.query_all(&stmt).await.map_err(db_err)? {
            let row = UidRow::from_query_result(&r, "").map_err(db_err)?;
            out.entry(row.uid).or_default().insert(row.name);
        }
    }
    Ok(out)
}

/// The final state of one member written by a batch.
struct Upsert<'a> {
    obj: &'a NewObject,
    seq: i64,
}

/// Inserts or replaces (by collection and name) the members `rows`, multi-row.
async fn upsert_objects<C: ConnectionTrait>(
    c: &C,
    coll: CollectionId,
    rows: &[Upsert<'_>],
) -> Result<()> {
    let ts = now();
    for chunk in body_chunks(rows, |r| r.obj.body.len()) {
        let mut stmt = Query::insert();
        stmt.into_table(object::Entity).columns([
            object::Column::CollectionId,
            object::Column::Name,
            object::Column::Uid,
            object::Column::Etag,
            object::Column::ContentType,
            object::Column::Size,
            object::Column::Body,
            object::Column::Seq,
            object::Column::ModifiedAt,
        ]);
        for r in chunk {
            let size = i64::try_from(r.obj.body.len()).unwrap_or(i64::MAX);
            stmt.values([
                coll.into(),
                r.obj.name.as_str().into(),
                r.obj.uid.as_str().into(),
                r.obj.etag.as_str().into(),
                r.obj.content_type.as_str().into(),
                size.into(),
                r.obj.body.clone().into(),
                r.seq.into(),
                ts.into(),
            ])
            .map_err(|e| StorageError::Db(e.to_string()))?;
        }
        stmt.on_conflict(
            OnConflict::columns([object::Column::CollectionId, object::Column::Name])
                .update_columns([
                    object::Column::Uid,
                    object::Column::Etag,
                    object::Column::ContentType,
                    object::Column::Size,
                    object::Column::Body,
                    object::Column::Seq,
                    object::Column::ModifiedAt,
                ])
                .to_owned(),
        );
        c.execute(&stmt).await.map_err(db_err)?;
    }
    Ok(())
}

/// Appends change rows `(seq, name)` (none deleted), multi-row.
async fn log_changes<C: ConnectionTrait>(
    c: &C,
    coll: CollectionId,
    rows: &[(i64, &str)],
) -> Result<()> {
    for chunk in rows.chunks(IN_CHUNK) {
        let mut stmt = Query::insert();
        stmt.into_table(change::Entity).columns([
            change::Column::CollectionId,
            change::Column::Seq,
            change::Column::Name,
            change::Column::Deleted,
        ]);
        for (seq, name) in chunk {
            stmt.values([coll.into(), (*seq).into(), (*name).into(), false.into()])
                .map_err(|e| StorageError::Db(e.to_string()))?;
        }
        c.execute(&stmt).await.map_err(db_err)?;
    }
    Ok(())
}

/// Moves the kept versions of `from`/`from_name` to `to`/`to_name`; returns how many.
async fn move_versions<C: ConnectionTrait>(c: &C, t: &Transfer<'_>) -> Result<u64> {
    let stmt = Query::update()
        .table(object_version::Entity)
        .values([
            (object_version::Column::CollectionId, t.to.into()),
            (object_version::Column::Name, t.to_name.into()),
        ])
        .and_where(Expr::col(object_version::Column::CollectionId).eq(t.from))
        .and_where(Expr::col(object_version::Column::Name).eq(t.from_name))
        .take();
    Ok(c.execute(&stmt).await.map_err(db_err)?.rows_affected())
}

/// The outcome of evaluating a batch: what to write.
struct Plan<'a> {
    outcomes: Vec<PutOutcome>,
    /// Database rows whose bodies become versions.
    db_versions: Vec<i64>,
    /// In-batch bodies that become versions.
    mem_versions: Vec<MemVersion<'a>>,
    /// Names that get versions (to prune).
    versioned: BTreeSet<&'a str>,
    /// Change rows.
    changes: Vec<(i64, &'a str)>,
    /// Final state per changed name (the last changing item), in item order.
    last: HashMap<&'a str, (usize, i64)>,
}

/// Where a member's current state comes from while a batch is evaluated.
#[derive(Clone, Copy)]
enum Cur {
    Absent,
    /// The database row (in the `heads` map).
    Db,
    /// Batch item `i`.
    Item(usize),
}

/// Evaluates `items` in order against the locked collection (whose sequence is `base`)
/// without writing: conditions, unchanged puts, UID uniqueness against the collection as
/// the earlier items leave it. Two lookups (by name, by UID), chunked; the rest is in
/// memory. A failing item is reported as `Batch { index, error }`.
async fn plan_batch<'a, C: ConnectionTrait>(
    c: &C,
    coll: CollectionId,
    base: i64,
    items: &[(&'a NewObject, &'a Condition)],
) -> Result<Plan<'a>> {
    let names: Vec<&str> = items
        .iter()
        .map(|(o, _)| o.name.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let uids: Vec<&str> = items
        .iter()
        .map(|(o, _)| o.uid.as_str())
        .filter(|u| !u.is_empty())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let heads = heads_by_name(c, coll, &names).await?;
    let mut owners = if uids.is_empty() {
        HashMap::new()
    } else {
        names_by_uid(c, coll, &uids).await?
    };
    let mut state: HashMap<&str, Cur> = HashMap::with_capacity(names.len());
    let mut plan = Plan {
        outcomes: Vec::with_capacity(items.len()),
        db_versions: Vec::new(),
        mem_versions: Vec::new(),
        versioned: BTreeSet::new(),
        changes: Vec::new(),
        last: HashMap::new(),
    };
    let mut seq = base;
    for (i, (obj, cond)) in items.iter().enumerate() {
        let wrap = |e: StorageError| StorageError::Batch {
            index: i,
            error: Box::new(e),
        };
        let name = obj.name.as_str();
        let cur = state.get(name).copied().unwrap_or_else(|| {
            if heads.contains_key(name) {
                Cur::Db
            } else {
                Cur::Absent
            }
        });
        // (uid, etag, content type) of the member as it stands.
        let meta: Option<(&str, &str, &str)> = match cur {
            Cur::Absent => None,
            Cur::Db => heads
                .get(name)
                .map(|h| (h.uid.as_str(), h.etag.as_str(), h.content_type.as_str())),
            Cur::Item(j) => {
                let o = items[j].0;
                Some((o.uid.as_str(), o.etag.as_str(), o.content_type.as_str()))
            }
        };
        check_condition(cond, meta.map(|m| m.1)).map_err(wrap)?;
        if meta
            == Some((
                obj.uid.as_str(),
                obj.etag.as_str(),
                obj.content_type.as_str(),
            ))
        {
            plan.outcomes.push(PutOutcome {
                created: false,
                unchanged: true,
                seq,
            });
            continue;
        }
        // A member keeps its UID: nothing replaces it with another one.
        if meta.is_some_and(|(old_uid, _, _)| old_uid != obj.uid) {
            return Err(wrap(StorageError::UidMismatch));
        }
        if let Some(other) = owners
            .get(obj.uid.as_str())
            .and_then(|set| set.iter().find(|n| n.as_str() != name))
        {
            return Err(wrap(StorageError::UidConflict(other.clone())));
        }
        seq += 1;
        match cur {
            Cur::Absent => {}
            Cur::Db => {
                if let Some(h) = heads.get(name) {
                    plan.db_versions.push(h.id);
                }
                plan.versioned.insert(name);
            }
            Cur::Item(j) => {
                let o = items[j].0;
                plan.mem_versions.push(MemVersion {
                    name: o.name.as_str(),
                    etag: o.etag.as_str(),
                    body: &o.body,
                });
                plan.versioned.insert(name);
            }
        }
        if let Some(set) = owners.get_mut(obj.uid.as_str()) {
            set.insert(name.to_owned());
        }
        state.insert(name, Cur::Item(i));
        plan.changes.push((seq, name));
        plan.last.insert(name, (i, seq));
        plan.outcomes.push(PutOutcome {
            created: meta.is_none(),
            unchanged: false,
            seq,
        });
    }
    Ok(plan)
}

/// The fields of a member row a write sets.
struct Row<'a> {
    name: &'a str,
    uid: &'a str,
    etag: &'a str,
    content_type: &'a str,
    body: &'a [u8],
    seq: i64,
}

/// Source and destination of a move or copy.
#[derive(Clone, Copy)]
struct Transfer<'a> {
    from: CollectionId,
    from_name: &'a str,
    to: CollectionId,
    to_name: &'a str,
    overwrite: bool,
}

/// Replaces the row `existing` in place, or inserts a new one into `coll`.
async fn write_object<C: ConnectionTrait>(
    c: &C,
    coll: CollectionId,
    existing: Option<i64>,
    row: Row<'_>,
) -> Result<()> {
    let size = i64::try_from(row.body.len()).unwrap_or(i64::MAX);
    let ts = now();
    match existing {
        Some(id) => {
            let stmt = Query::update()
                .table(object::Entity)
                .values([
                    (object::Column::Name, row.name.into()),
                    (object::Column::Uid, row.uid.into()),
                    (object::Column::Etag, row.etag.into()),
                    (object::Column::ContentType, row.content_type.into()),
                    (object::Column::Size, size.into()),
                    (object::Column::Body, row.body.to_vec().into()),
                    (object::Column::Seq, row.seq.into()),
                    (object::Column::ModifiedAt, ts.into()),
                ])
                .and_where(Expr::col(object::Column::Id).eq(id))
                .take();
            c.execute(&stmt).await.map_err(db_err)?;
        }
        None => {
            let stmt = Query::insert()
                .into_table(object::Entity)
                .columns([
                    object::Column::CollectionId,
                    object::Column::Name,
                    object::Column::Uid,
                    object::Column::Etag,
                    object::Column::ContentType,
                    object::Column::Size,
                    object::Column::Body,
                    object::Column::Seq,
                    object::Column::ModifiedAt,
                ])
                .values([
                    coll.into(),
                    row.name.into(),
                    row.uid.into(),
                    row.etag.into(),
                    row.content_type.into(),
                    size.into(),
                    row.body.to_vec().into(),
                    row.seq.into(),
                    ts.into(),
                ])
                .map_err(|e| StorageError::Db(e.to_string()))?
                .take();
            c.execute(&stmt).await.map_err(db_err)?;
        }
    }
    Ok(())
}

/// Inserts dead properties for one target that has none yet (one statement; nothing when
/// `props` is empty). A property named twice keeps its last value.
async fn insert_props<C: ConnectionTrait>(
    c: &C,
    coll: CollectionId,
    object_name: &str,
    props: &[DeadProp],
) -> Result<()> {
    let unique: std::collections::BTreeMap<(&str, &str), &str> = props
        .iter()
        .map(|p| ((p.namespace.as_str(), p.name.as_str()), p.value.as_str()))
        .collect();
    if unique.is_empty() {
        return Ok(());
    }
    let mut stmt = Query::insert();
    stmt.into_table(property::Entity).columns([
        property::Column::CollectionId,
        property::Column::ObjectName,
        property::Column::Namespace,
        property::Column::Name,
        property::Column::Value,
    ]);
    for ((namespace, name), value) in unique {
        stmt.values([
            coll.into(),
            object_name.into(),
            namespace.into(),
            name.into(),
            value.into(),
        ])
        .map_err(|e| StorageError::Db(e.to_string()))?;
    }
    c.execute(&stmt).await.map_err(db_err)?;
    Ok(())
}

async fn select_props<C: ConnectionTrait>(
    c: &C,
    coll: CollectionId,
    object_name: &str,
) -> Result<Vec<DeadProp>> {
    let rows = property::Entity::find()
        .filter(Expr::col(property::Column::CollectionId).eq(coll))
        .filter(Expr::col(property::Column::ObjectName).eq(object_name))
        .order_by_asc(property::Column::Namespace)
        .order_by_asc(property::Column::Name)
        .all(c)
        .await
        .map_err(db_err)?;
    Ok(rows
        .into_iter()
        .map(|p| DeadProp {
            namespace: p.namespace,
            name: p.name,
            value: p.value,
        })
        .collect())
}

/// Inserts a collection row (and its initial properties). With `if_missing`, an existing
/// (account, kind, slug) is left alone and `None` is returned.
async fn insert_collection<C: ConnectionTrait>(
    c: &C,
    account: AccountId,
    new: &NewCollection,
    if_missing: bool,
) -> Result<Option<Collection>> {
    let token_id = new_token_id();
    let created_at = now();
    let mut stmt = Query::insert();
    stmt.into_table(collection::Entity)
        .columns([
            collection::Column::AccountId,
            collection::Column::Kind,
            collection::Column::Slug,
            collection::Column::TokenId,
            collection::Column::Seq,
            collection::Column::Horizon,
            collection::Column::SortOrder,
            collection::Column::CreatedAt,
        ])
        .values([
            account.into(),
            new.kind.as_str().into(),
            new.slug.as_str().into(),
            token_id.as_str().into(),
            0i64.into(),
            0i64.into(),
            new.sort_order.into(),
            created_at.into(),
        ])
        .map_err(|e| StorageError::Db(e.to_string()))?
        .returning_col(collection::Column::Id);
    if if_missing {
        stmt.on_conflict(
            OnConflict::columns([
                collection::Column::AccountId,
                collection::Column::Kind,
                collection::Column::Slug,
            ])
            .do_nothing()
            .to_owned(),
        );
    }
    let Some(row) = c.query_one(&stmt).await.map_err(insert_err)? else {
        return Ok(None);
    };
    let id = IdRow::from_query_result(&row, "").map_err(db_err)?.id;
    insert_props(c, id, "", &new.props).await?;
    Ok(Some(Collection {
        id,
        account_id: account,
        kind: new.kind,
        slug: new.slug.clone(),
        token_id,
        seq: 0,
        horizon: 0,
        sort_order: new.sort_order,
        created_at,
    }))
}

// ----- trees (files collections) -----

/// `substr(col, 1, chars(prefix)) = prefix`: an exact, collation-independent prefix match
/// that SQLite and PostgreSQL evaluate alike (both count characters).
fn has_prefix(
    col: impl sea_orm::sea_query::IntoColumnRef,
    prefix: &str,
) -> sea_orm::sea_query::SimpleExpr {
    let n = i32::try_from(prefix.chars().count()).unwrap_or(i32::MAX);
    Expr::expr(
        Func::cust(Alias::new("substr"))
            .arg(Expr::col(col))
            .arg(1i32)
            .arg(n),
    )
    .eq(prefix)
}

/// The twin of a tree name: the same path as the other kind (`a` ↔ `a/`).
fn twin(name: &str) -> String {
    match name.strip_suffix('/') {
        Some(file) => file.to_owned(),
        None => format!("{name}/"),
    }
}

/// The parent member of a tree name (`a/b/` for `a/b/c` and `a/b/c/`), `None` at the top.
fn parent_of(name: &str) -> Option<&str> {
    let trimmed = name.strip_suffix('/').unwrap_or(name);
    trimmed.rfind('/').map(|i| &name[..=i])
}

/// The sub-collection form of a name (`a/` for `a` and `a/`).
fn dir_form(name: &str) -> String {
    format!("{}/", name.strip_suffix('/').unwrap_or(name))
}

#[derive(Debug, FromQueryResult)]
struct TreeRow {
    id: i64,
    name: String,
}

/// Id and name of member `name` and, when it is a sub-collection, of every member below
/// it, ordered by name.
async fn tree_rows<C: ConnectionTrait>(
    c: &C,
    coll: CollectionId,
    name: &str,
    deep: bool,
) -> Result<Vec<TreeRow>> {
    let mut stmt = Query::select()
        .columns([object::Column::Id, object::Column::Name])
        .from(object::Entity)
        .and_where(Expr::col(object::Column::CollectionId).eq(coll))
        .order_by(object::Column::Name, Order::Asc)
        .take();
    if deep && name.ends_with('/') {
        stmt.and_where(has_prefix(object::Column::Name, name));
    } else {
        stmt.and_where(Expr::col(object::Column::Name).eq(name));
    }
    let rows = c.query_all(&stmt).await.map_err(db_err)?;
    rows.iter()
        .map(|r| TreeRow::from_query_result(r, "").map_err(db_err))
        .collect()
}

/// `ParentMissing` unless `name`'s parent exists.
async fn require_parent<C: ConnectionTrait>(c: &C, coll: CollectionId, name: &str) -> Result<()> {
    match parent_of(name) {
        None => Ok(()),
        Some(p) => match head(c, coll, p).await? {
            Some(_) => Ok(()),
            None => Err(StorageError::ParentMissing),
        },
    }
}

/// Refuses a transfer onto itself or between a collection and its own descendants.
fn check_disjoint(from: &str, to: &str) -> Result<()> {
    let (fd, td) = (dir_form(from), dir_form(to));
    if from == to || to.starts_with(&fd) || from.starts_with(&td) {
        return Err(StorageError::PreconditionFailed);
    }
    Ok(())
}

/// Sequence numbers handed out inside one tree transaction, and the change rows they
/// number.
struct Seqs {
    base: i64,
    next: i64,
}

impl Seqs {
    fn take(&mut self) -> i64 {
        self.next += 1;
        self.next
    }
    fn used(&self) -> i64 {
        self.next - self.base
    }
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

    /// Puts `items` in order inside `c`: locks the collection without advancing it,
    /// evaluates every item against the collection as the earlier items leave it, and only
    /// then writes (multi-row statements) and advances the sequence by the number of
    /// changing items. Returns the outcomes and whether anything changed (if not, the
    /// caller rolls back so not even the lock's no-op update is committed).
    async fn put_many_in(
        &self,
        c: &DatabaseTransaction,
        coll: CollectionId,
        items: &[(&NewObject, &Condition)],
    ) -> Result<(Vec<PutOutcome>, bool)> {
        let locked = bump(c, coll, 0).await?.ok_or(StorageError::NotFound)?;
        let plan = plan_batch(c, coll, locked.seq, items).await?;
        let n = plan.changes.len();
        if n == 0 {
            return Ok((plan.outcomes, false));
        }
        if self.keep_versions > 0 {
            keep_row_versions(c, &plan.db_versions).await?;
            keep_mem_versions(c, coll, &plan.mem_versions).await?;
        }
        if !plan.versioned.is_empty() {
            prune_versions(c, coll, &plan.versioned, self.keep_versions).await?;
        }
        let mut last: Vec<(usize, i64)> = plan.last.into_values().collect();
        last.sort_unstable();
        let rows: Vec<Upsert<'_>> = last
            .into_iter()
            .map(|(i, seq)| Upsert {
                obj: items[i].0,
                seq,
            })
            .collect();
        upsert_objects(c, coll, &rows).await?;
        log_changes(c, coll, &plan.changes).await?;
        let by = i64::try_from(n).map_err(|e| StorageError::Db(e.to_string()))?;
        let after = bump(c, coll, by).await?.ok_or(StorageError::NotFound)?;
        if after.seq != locked.seq + by {
            // Impossible while the row lock is held; refuse rather than hand out a seq twice.
            return Err(StorageError::Db(
                "collection sequence moved under lock".into(),
            ));
        }
        Ok((plan.outcomes, true))
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

    async fn delete_in(
        &self,
        c: &DatabaseTransaction,
        coll: CollectionId,
        name: &str,
        cond: &Condition,
    ) -> Result<()> {
        let seq = bump(c, coll, 1).await?.ok_or(StorageError::NotFound)?.seq;
        let current = head(c, coll, name)
            .await?
            .ok_or_else(|| missing_member(cond))?;
        check_condition(cond, Some(&current.etag))?;
        self.keep_replaced(c, coll, current.id, name).await?;
        delete_object_row(c, current.id).await?;
        delete_member_props(c, coll, name).await?;
        log_change(c, coll, seq, name, true).await?;
        Ok(())
    }

    /// Keeps the body of row `id` (member `name` of `coll`, about to be replaced or
    /// removed) as a version, then prunes `name`'s versions to `keep_versions`.
    async fn keep_replaced(
        &self,
        c: &DatabaseTransaction,
        coll: CollectionId,
        id: i64,
        name: &str,
    ) -> Result<()> {
        if self.keep_versions > 0 {
            keep_row_versions(c, &[id]).await?;
        }
        prune_versions(c, coll, &BTreeSet::from([name]), self.keep_versions).await
    }

    /// A whole-tree copy (`is_move` false) or move inside one collection, in one write
    /// transaction.
    async fn transfer_tree(
        &self,
        collection: CollectionId,
        from: &str,
        to: &str,
        overwrite: bool,
        deep: bool,
        is_move: bool,
    ) -> Result<TransferOutcome> {
        let w = self.begin_write().await?;
        let t = Transfer {
            from: collection,
            from_name: from,
            to: collection,
            to_name: to,
            overwrite,
        };
        let res = self
            .transfer_tree_in(&w.txn, collection, &t, deep, is_move)
            .await;
        self.finish_write(w, res).await
    }

    /// Locks `from` and `to` (ascending id order, so two movers cannot deadlock) and
    /// returns the sequence for the source's change row and for the destination's.
    async fn lock_pair(
        &self,
        c: &DatabaseTransaction,
        from: CollectionId,
        to: CollectionId,
    ) -> Result<(i64, i64)> {
        if from == to {
            let seq = bump(c, from, 2).await?.ok_or(StorageError::NotFound)?.seq;
            return Ok((seq - 1, seq));
        }
        let (first, second) = if from < to { (from, to) } else { (to, from) };
        let a = bump(c, first, 1).await?.ok_or(StorageError::NotFound)?;
        let b = bump(c, second, 1).await?.ok_or(StorageError::NotFound)?;
        if a.account_id != b.account_id {
            // Collections of another account are invisible, not forbidden.
            return Err(StorageError::NotFound);
        }
        Ok(if from < to {
            (a.seq, b.seq)
        } else {
            (b.seq, a.seq)
        })
    }

    async fn move_in(
        &self,
        c: &DatabaseTransaction,
        t: &Transfer<'_>,
        cond: &Condition,
    ) -> Result<TransferOutcome> {
        let Transfer {
            from,
            from_name,
            to,
            to_name,
            overwrite,
        } = *t;
        let (from_seq, to_seq) = self.lock_pair(c, from, to).await?;
        let src = head(c, from, from_name)
            .await?
            .ok_or_else(|| missing_member(cond))?;
        check_condition(cond, Some(&src.etag))?;
        if from == to && from_name == to_name {
            return Err(StorageError::PreconditionFailed);
        }
        let dst = head(c, to, to_name).await?;
        if dst.is_some() && !overwrite {
            return Err(StorageError::PreconditionFailed);
        }
        if dst.as_ref().is_some_and(|d| d.uid != src.uid) {
            return Err(StorageError::UidMismatch);
        }
        if let Some(other) = uid_owner(c, to, &src.uid, to_name, Some(src.id)).await? {
            return Err(StorageError::UidConflict(other));
        }
        if let Some(d) = &dst {
            if self.keep_versions > 0 {
                keep_row_versions(c, &[d.id]).await?;
            }
            delete_object_row(c, d.id).await?;
            delete_member_props(c, to, to_name).await?;
        }
        if move_versions(c, t).await? > 0 || dst.is_some() {
            prune_versions(c, to, &BTreeSet::from([to_name]), self.keep_versions).await?;
        }
        let stmt = Query::update()
            .table(object::Entity)
            .values([
                (object::Column::CollectionId, to.into()),
                (object::Column::Name, to_name.into()),
                (object::Column::Seq, to_seq.into()),
            ])
            .and_where(Expr::col(object::Column::Id).eq(src.id))
            .take();
        c.execute(&stmt).await.map_err(db_err)?;
        let stmt = Query::update()
            .table(property::Entity)
            .values([
                (property::Column::CollectionId, to.into()),
                (property::Column::ObjectName, to_name.into()),
            ])
            .and_where(Expr::col(property::Column::CollectionId).eq(from))
            .and_where(Expr::col(property::Column::ObjectName).eq(from_name))
            .take();
        c.execute(&stmt).await.map_err(db_err)?;
        log_change(c, from, from_seq, from_name, true).await?;
        log_change(c, to, to_seq, to_name, false).await?;
        Ok(TransferOutcome {
            replaced: dst.is_some(),
        })
    }

    async fn copy_in(
        &self,
        c: &DatabaseTransaction,
        t: &Transfer<'_>,
        replacement: Option<&NewObject>,
    ) -> Result<TransferOutcome> {
        let Transfer {
            from,
            from_name,
            to,
            to_name,
            overwrite,
        } = *t;
        let locked = bump(c, to, 1).await?.ok_or(StorageError::NotFound)?;
        if from != to {
            let source = collection::Entity::find_by_id(from)
                .one(c)
                .await
                .map_err(db_err)?
                .ok_or(StorageError::NotFound)?;
            if source.account_id != locked.account_id {
                return Err(StorageError::NotFound);
            }
        }
        let src = object::Entity::find()
            .filter(Expr::col(object::Column::CollectionId).eq(from))
            .filter(Expr::col(object::Column::Name).eq(from_name))
            .one(c)
            .await
            .map_err(db_err)?
            .ok_or(StorageError::NotFound)?;
        if from == to && from_name == to_name {
            return Err(StorageError::PreconditionFailed);
        }
        let dst = head(c, to, to_name).await?;
        if dst.is_some() && !overwrite {
            return Err(StorageError::PreconditionFailed);
        }
        let row = match replacement {
            Some(r) => Row {
                name: to_name,
                uid: &r.uid,
                etag: &r.etag,
                content_type: &r.content_type,
                body: &r.body,
                seq: locked.seq,
            },
            None => Row {
                name: to_name,
                uid: &src.uid,
                etag: &src.etag,
                content_type: &src.content_type,
                body: &src.body,
                seq: locked.seq,
            },
        };
        if dst.as_ref().is_some_and(|d| d.uid != row.uid) {
            return Err(StorageError::UidMismatch);
        }
        if let Some(other) = uid_owner(c, to, row.uid, to_name, None).await? {
            return Err(StorageError::UidConflict(other));
        }
        if let Some(d) = &dst {
            delete_member_props(c, to, to_name).await?;
            self.keep_replaced(c, to, d.id, to_name).await?;
        }
        write_object(c, to, dst.as_ref().map(|d| d.id), row).await?;
        let props = select_props(c, from, from_name).await?;
        insert_props(c, to, to_name, &props).await?;
        log_change(c, to, locked.seq, to_name, false).await?;
        Ok(TransferOutcome {
            replaced: dst.is_some(),
        })
    }

    async fn changes_in(
        &self,
        c: &DatabaseTransaction,
        coll: CollectionId,
        since: Option<i64>,
        limit: Option<u64>,
    ) -> Result<Changes> {
        let head = Query::select()
            .columns([
                collection::Column::Seq,
                collection::Column::Horizon,
                collection::Column::AccountId,
            ])
            .from(collection::Entity)
            .and_where(Expr::col(collection::Column::Id).eq(coll))
            .take();
        let row = c
            .query_one(&head)
            .await
            .map_err(db_err)?
            .ok_or(StorageError::NotFound)?;
        let head = Locked::from_query_result(&row, "").map_err(db_err)?;
        // A limit of 0 would return nothing and no usable token; treat it as 1.
        let limit = limit.map(|l| Ord::max(l, 1));
        let fetch = limit.map(|l| l.saturating_add(1));

        let Some(since) = since else {
            let mut stmt = meta_select(coll);
            stmt.order_by(object::Column::Seq, Order::Asc);
            if let Some(f) = fetch {
                stmt.limit(f);
            }
            let rows = c.query_all(&stmt).await.map_err(db_err)?;
            let mut rows = rows
                .iter()
                .map(|r| MetaRow::from_query_result(r, ""))
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(db_err)?;
            let truncated = limit.is_some_and(|l| rows.len() as u64 > l);
            if let Some(l) = limit {
                rows.truncate(usize::try_from(l).unwrap_or(usize::MAX));
            }
            let seq = match rows.last() {
                Some(last) if truncated => last.seq,
                _ => head.seq,
            };
            let changes = rows
                .into_iter()
                .map(|r| Change {
                    name: r.name.clone(),
                    seq: r.seq,
                    meta: Some(r.into_meta()),
                })
                .collect();
            return Ok(Changes {
                changes,
                seq,
                truncated,
            });
        };

        if since < head.horizon || since > head.seq {
            return Err(StorageError::InvalidToken);
        }
        let max_seq = Func::max(Expr::col(change::Column::Seq));
        let mut stmt = Query::select()
            .column(change::Column::Name)
            .expr_as(max_seq.clone(), Alias::new("mseq"))
            .from(change::Entity)
            .and_where(Expr::col(change::Column::CollectionId).eq(coll))
            .and_where(Expr::col(change::Column::Seq).gt(since))
            .group_by_col(change::Column::Name)
            .order_by_expr(max_seq.into(), Order::Asc)
            .order_by(change::Column::Name, Order::Asc)
            .take();
        if let Some(f) = fetch {
            stmt.limit(f);
        }
        let rows = c.query_all(&stmt).await.map_err(db_err)?;
        let mut rows = rows
            .iter()
            .map(|r| ChangeRow::from_query_result(r, ""))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(db_err)?;
        let truncated = limit.is_some_and(|l| rows.len() as u64 > l);
        if let Some(l) = limit {
            rows.truncate(usize::try_from(l).unwrap_or(usize::MAX));
        }
        let seq = match rows.last() {
            Some(last) if truncated => last.mseq,
            _ => head.seq,
        };
        let names: Vec<String> = rows.iter().map(|r| r.name.clone()).collect();
        let mut metas: HashMap<String, ObjectMeta> = self
            .meta_batch(c, coll, &names)
            .await?
            .into_iter()
            .map(|m| (m.name.clone(), m))
            .collect();
        let changes = rows
            .into_iter()
            .map(|r| Change {
                meta: metas.remove(&r.name),
                name: r.name,
                seq: r.mseq,
            })
            .collect();
        Ok(Changes {
            changes,
            seq,
            truncated,
        })
    }

    /// Metadata of the named members that exist; one statement per [`IN_CHUNK`] names.
    async fn meta_batch<C: ConnectionTrait>(
        &self,
        c: &C,
        coll: CollectionId,
        names: &[String],
    ) -> Result<Vec<ObjectMeta>> {
        let mut out = Vec::with_capacity(names.len());
        for chunk in names.chunks(IN_CHUNK) {
            let mut stmt = meta_select(coll);
            stmt.and_where(Expr::col(object::Column::Name).is_in(chunk.iter().map(String::as_str)));
            let rows = c.query_all(&stmt).await.map_err(db_err)?;
            for r in &rows {
                out.push(
                    MetaRow::from_query_result(r, "")
                        .map_err(db_err)?
                        .into_meta(),
                );
            }
        }
        Ok(out)
    }

    async fn prune_in(&self, c: &DatabaseTransaction, coll: CollectionId, seq: i64) -> Result<u64> {
        let locked = bump(c, coll, 0).await?.ok_or(StorageError::NotFound)?;
        let upto = Ord::min(seq, locked.seq);
        if upto <= locked.horizon {
            return Ok(0);
        }
        let stmt = Query::delete()
            .from_table(change::Entity)
            .and_where(Expr::col(change::Column::CollectionId).eq(coll))
            .and_where(Expr::col(change::Column::Seq).lte(upto))
            .take();
        let dropped = c.execute(&stmt).await.map_err(db_err)?.rows_affected();
        let stmt = Query::update()
            .table(collection::Entity)
            .value(collection::Column::Horizon, upto)
            .and_where(Expr::col(collection::Column::Id).eq(coll))
            .take();
        c.execute(&stmt).await.map_err(db_err)?;
        Ok(dropped)
    }

    /// Deletes the rows `rows` (members of `coll`) with their properties, keeping their
    /// bodies as versions; one deleted change row each.
    async fn remove_rows(
        &self,
        c: &DatabaseTransaction,
        coll: CollectionId,
        rows: &[TreeRow],
        seqs: &mut Seqs,
    ) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        if self.keep_versions > 0 {
            keep_row_versions(c, &ids).await?;
        }
        for chunk in ids.chunks(IN_CHUNK) {
            let stmt = Query::delete()
                .from_table(object::Entity)
                .and_where(Expr::col(object::Column::Id).is_in(chunk.iter().copied()))
                .take();
            c.execute(&stmt).await.map_err(db_err)?;
        }
        for r in rows {
            delete_member_props(c, coll, &r.name).await?;
            log_change(c, coll, seqs.take(), &r.name, true).await?;
        }
        let names: BTreeSet<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        prune_versions(c, coll, &names, self.keep_versions).await
    }

    /// Clears a transfer's destination (`to`, its twin and everything below either):
    /// `PreconditionFailed` if anything is there and `overwrite` is false. Returns whether
    /// something was replaced.
    async fn clear_destination(
        &self,
        c: &DatabaseTransaction,
        coll: CollectionId,
        to: &str,
        overwrite: bool,
        seqs: &mut Seqs,
    ) -> Result<bool> {
        let mut rows = tree_rows(c, coll, to, true).await?;
        rows.extend(tree_rows(c, coll, &twin(to), true).await?);
        if rows.is_empty() {
            return Ok(false);
        }
        if !overwrite {
            return Err(StorageError::PreconditionFailed);
        }
        self.remove_rows(c, coll, &rows, seqs).await?;
        Ok(true)
    }

    async fn put_path_in(
        &self,
        c: &DatabaseTransaction,
        coll: CollectionId,
        obj: &NewObject,
        cond: &Condition,
    ) -> Result<(Vec<PutOutcome>, bool)> {
        bump(c, coll, 0).await?.ok_or(StorageError::NotFound)?;
        require_parent(c, coll, &obj.name).await?;
        if head(c, coll, &twin(&obj.name)).await?.is_some() {
            return Err(StorageError::AlreadyExists);
        }
        self.put_many_in(c, coll, &[(obj, cond)]).await
    }

    async fn delete_tree_in(
        &self,
        c: &DatabaseTransaction,
        coll: CollectionId,
        name: &str,
    ) -> Result<u64> {
        let locked = bump(c, coll, 0).await?.ok_or(StorageError::NotFound)?;
        let rows = tree_rows(c, coll, name, true).await?;
        if rows.is_empty() {
            return Err(StorageError::NotFound);
        }
        let mut seqs = Seqs {
            base: locked.seq,
            next: locked.seq,
        };
        self.remove_rows(c, coll, &rows, &mut seqs).await?;
        bump(c, coll, seqs.used()).await?;
        Ok(rows.len() as u64)
    }

    /// Copy (`is_move` false) or move of a tree; see the trait for the rules.
    async fn transfer_tree_in(
        &self,
        c: &DatabaseTransaction,
        coll: CollectionId,
        t: &Transfer<'_>,
        deep: bool,
        is_move: bool,
    ) -> Result<TransferOutcome> {
        let (from, to) = (t.from_name, t.to_name);
        let locked = bump(c, coll, 0).await?.ok_or(StorageError::NotFound)?;
        let src = tree_rows(c, coll, from, deep || is_move).await?;
        if src.is_empty() {
            return Err(StorageError::NotFound);
        }
        if from.ends_with('/') != to.ends_with('/') {
            return Err(StorageError::PreconditionFailed);
        }
        check_disjoint(from, to)?;
        require_parent(c, coll, to).await?;
        let mut seqs = Seqs {
            base: locked.seq,
            next: locked.seq,
        };
        let replaced = self
            .clear_destination(c, coll, to, t.overwrite, &mut seqs)
            .await?;
        let ts = now();
        let mut renamed: BTreeSet<String> = BTreeSet::new();
        for row in &src {
            let rest = row
                .name
                .strip_prefix(from)
                .ok_or_else(|| StorageError::Db("tree member outside its prefix".into()))?;
            let new_name = format!("{to}{rest}");
            if is_move {
                log_change(c, coll, seqs.take(), &row.name, true).await?;
                let seq = seqs.take();
                let stmt = Query::update()
                    .table(object::Entity)
                    .values([
                        (object::Column::Name, new_name.as_str().into()),
                        (object::Column::Seq, seq.into()),
                    ])
                    .and_where(Expr::col(object::Column::Id).eq(row.id))
                    .take();
                c.execute(&stmt).await.map_err(db_err)?;
                let stmt = Query::update()
                    .table(property::Entity)
                    .value(property::Column::ObjectName, new_name.as_str())
                    .and_where(Expr::col(property::Column::CollectionId).eq(coll))
                    .and_where(Expr::col(property::Column::ObjectName).eq(row.name.as_str()))
                    .take();
                c.execute(&stmt).await.map_err(db_err)?;
                let moved = move_versions(
                    c,
                    &Transfer {
                        from: coll,
                        from_name: &row.name,
                        to: coll,
                        to_name: &new_name,
                        overwrite: true,
                    },
                )
                .await?;
                log_change(c, coll, seq, &new_name, false).await?;
                if moved > 0 {
                    renamed.insert(new_name);
                }
            } else {
                let seq = seqs.take();
                let select = Query::select()
                    .column(object::Column::CollectionId)
                    .expr(Expr::val(new_name.as_str()))
                    .columns([
                        object::Column::Uid,
                        object::Column::Etag,
                        object::Column::ContentType,
                        object::Column::Size,
                        object::Column::Body,
                    ])
                    .expr(Expr::val(seq))
                    .expr(Expr::val(ts))
                    .from(object::Entity)
                    .and_where(Expr::col(object::Column::Id).eq(row.id))
                    .take();
                let stmt = Query::insert()
                    .into_table(object::Entity)
                    .columns([
                        object::Column::CollectionId,
                        object::Column::Name,
                        object::Column::Uid,
                        object::Column::Etag,
                        object::Column::ContentType,
                        object::Column::Size,
                        object::Column::Body,
                        object::Column::Seq,
                        object::Column::ModifiedAt,
                    ])
                    .select_from(select)
                    .map_err(|e| StorageError::Db(e.to_string()))?
                    .take();
                c.execute(&stmt).await.map_err(db_err)?;
                let select = Query::select()
                    .column(property::Column::CollectionId)
                    .expr(Expr::val(new_name.as_str()))
                    .columns([
                        property::Column::Namespace,
                        property::Column::Name,
                        property::Column::Value,
                    ])
                    .from(property::Entity)
                    .and_where(Expr::col(property::Column::CollectionId).eq(coll))
                    .and_where(Expr::col(property::Column::ObjectName).eq(row.name.as_str()))
                    .take();
                let stmt = Query::insert()
                    .into_table(property::Entity)
                    .columns([
                        property::Column::CollectionId,
                        property::Column::ObjectName,
                        property::Column::Namespace,
                        property::Column::Name,
                        property::Column::Value,
                    ])
                    .select_from(select)
                    .map_err(|e| StorageError::Db(e.to_string()))?
                    .take();
                c.execute(&stmt).await.map_err(db_err)?;
                log_change(c, coll, seq, &new_name, false).await?;
            }
        }
        if !renamed.is_empty() {
            let names: BTreeSet<&str> = renamed.iter().map(String::as_str).collect();
            prune_versions(c, coll, &names, self.keep_versions).await?;
        }
        let after = bump(c, coll, seqs.used())
            .await?
            .ok_or(StorageError::NotFound)?;
        if after.seq != seqs.next {
            return Err(StorageError::Db(
                "collection sequence moved under lock".into(),
            ));
        }
        Ok(TransferOutcome { replaced })
    }

    async fn patch_in(
        &self,
        c: &DatabaseTransaction,
        target: &PropTarget<'_>,
        ops: &[PropOp],
    ) -> Result<()> {
        // Locks the collection so a concurrent delete of the member cannot slip between
        // the existence check and the writes; the sequence is not advanced.
        bump(c, target.collection, 0)
            .await?
            .ok_or(StorageError::NotFound)?;
        let object_name = target.object.unwrap_or("");
        if let Some(name) = target.object
            && head(c, target.collection, name).await?.is_none()
        {
            return Err(StorageError::NotFound);
        }
        for op in ops {
            match op {
                PropOp::Set(p) => {
                    let stmt = Query::insert()
                        .into_table(property::Entity)
                        .columns([
                            property::Column::CollectionId,
                            property::Column::ObjectName,
                            property::Column::Namespace,
                            property::Column::Name,
                            property::Column::Value,
                        ])
                        .values([
                            target.collection.into(),
                            object_name.into(),
                            p.namespace.as_str().into(),
                            p.name.as_str().into(),
                            p.value.as_str().into(),
                        ])
                        .map_err(|e| StorageError::Db(e.to_string()))?
                        .on_conflict(
                            OnConflict::columns([
                                property::Column::CollectionId,
                                property::Column::ObjectName,
                                property::Column::Namespace,
                                property::Column::Name,
                            ])
                            .update_column(property::Column::Value)
                            .to_owned(),
                        )
                        .take();
                    c.execute(&stmt).await.map_err(db_err)?;
                }
                PropOp::Remove { namespace, name } => {
                    let stmt = Query::delete()
                        .from_table(property::Entity)
                        .and_where(Expr::col(property::Column::CollectionId).eq(target.collection))
                        .and_where(Expr::col(property::Column::ObjectName).eq(object_name))
                        .and_where(Expr::col(property::Column::Namespace).eq(namespace.as_str()))
                        .and_where(Expr::col(property::Column::Name).eq(name.as_str()))
                        .take();
                    c.execute(&stmt).await.map_err(db_err)?;
                }
            }
        }
        Ok(())
    }

    async fn ensure_in(
        &self,
        c: &DatabaseTransaction,
        account: AccountId,
        wanted: &[NewCollection],
    ) -> Result<()> {
        for new in wanted {
            insert_collection(c, account, new, true).await?;
        }
        Ok(())
    }
}

#[async_trait]
impl Accounts for SeaStorage {
    async fn create_account(&self, phone: &str, password_hash: &str) -> Result<Account> {
        let _guard = self.writer_lock().await;
        let ts = now();
        let stmt = Query::insert()
            .into_table(account::Entity)
            .columns([
                account::Column::Phone,
                account::Column::PasswordHash,
                account::Column::PasswordChangedAt,
                account::Column::CreatedAt,
            ])
            .values([phone.into(), password_hash.into(), ts.into(), ts.into()])
            .map_err(|e| StorageError::Db(e.to_string()))?
            .returning_col(account::Column::Id)
            .take();
        let row = self
            .db
            .query_one(&stmt)
            .await
            .map_err(insert_err)?
            .ok_or_else(|| StorageError::Db("insert returned no id".into()))?;
        let id = IdRow::from_query_result(&row, "").map_err(db_err)?.id;
        Ok(Account {
            id,
            phone: phone.to_owned(),
            password_hash: password_hash.to_owned(),
            password_changed_at: ts,
            created_at: ts,
        })
    }

    async fn account_by_phone(&self, phone: &str) -> Result<Option<Account>> {
        if let Some(p) = &self.point {
            return p.account_by_phone(&self.queries, phone);
        }
        let found = account::Entity::find()
            .filter(Expr::col(account::Column::Phone).eq(phone))
            .one(&self.db)
            .await
            .map_err(db_err)?;
        Ok(found.map(to_account))
    }

    async fn list_accounts(&self) -> Result<Vec<Account>> {
        let all = account::Entity::find()
            .order_by_asc(account::Column::Phone)
            .all(&self.db)
            .await
            .map_err(db_err)?;
        Ok(all.into_iter().map(to_account).collect())
    }

    async fn set_password(&self, phone: &str, password_hash: &str) -> Result<()> {
        let _guard = self.writer_lock().await;
        // Strictly increasing even for two changes within one second, so the auth cache
        // keyed on it always sees a new value.
        let ts = now();
        let changed_at = Expr::case(
            Expr::col(account::Column::PasswordChangedAt).gte(ts),
            Expr::col(account::Column::PasswordChangedAt).add(1),
        )
        .finally(ts);
        let stmt = Query::update()
            .table(account::Entity)
            .value(account::Column::PasswordHash, password_hash)
            .value(account::Column::PasswordChangedAt, changed_at)
            .and_where(Expr::col(account::Column::Phone).eq(phone))
            .take();
        let res = self.db.execute(&stmt).await.map_err(db_err)?;
        if res.rows_affected() == 0 {
            return Err(StorageError::NotFound);
        }
        Ok(())
    }

    async fn delete_account(&self, phone: &str) -> Result<()> {
        let _guard = self.writer_lock().await;
        // Collections, objects, change rows and properties go with it (ON DELETE CASCADE).
        let stmt = Query::delete()
            .from_table(account::Entity)
            .and_where(Expr::col(account::Column::Phone).eq(phone))
            .take();
        let res = self.db.execute(&stmt).await.map_err(db_err)?;
        if res.rows_affected() == 0 {
            return Err(StorageError::NotFound);
        }
        Ok(())
    }
}

#[async_trait]
impl Collections for SeaStorage {
    async fn ensure_collections(&self, account: AccountId, wanted: &[NewCollection]) -> Result<()> {
        let w = self.begin_write().await?;
        let res = self.ensure_in(&w.txn, account, wanted).await;
        self.finish_write(w, res).await
    }

    async fn list_collections(
        &self,
        account: AccountId,
        kind: Option<CollectionKind>,
    ) -> Result<Vec<Collection>> {
        if let Some(p) = &self.point {
            return p.list_collections(&self.queries, account, kind);
        }
        let mut q =
            collection::Entity::find().filter(Expr::col(collection::Column::AccountId).eq(account));
        if let Some(kind) = kind {
            q = q.filter(Expr::col(collection::Column::Kind).eq(kind.as_str()));
        }
        let rows = q
            .order_by_asc(collection::Column::SortOrder)
            .order_by_asc(collection::Column::Slug)
            .all(&self.db)
            .await
            .map_err(db_err)?;
        rows.into_iter().map(to_collection).collect()
    }

    async fn get_collection(
        &self,
        account: AccountId,
        kind: CollectionKind,
        slug: &str,
    ) -> Result<Option<Collection>> {
        if let Some(p) = &self.point {
            return p.get_collection(&self.queries, account, kind, slug);
        }
        let row = collection::Entity::find()
            .filter(Expr::col(collection::Column::AccountId).eq(account))
            .filter(Expr::col(collection::Column::Kind).eq(kind.as_str()))
            .filter(Expr::col(collection::Column::Slug).eq(slug))
            .one(&self.db)
            .await
            .map_err(db_err)?;
        row.map(to_collection).transpose()
    }

    async fn create_collection(
        &self,
        account: AccountId,
        new: &NewCollection,
    ) -> Result<Collection> {
        let w = self.begin_write().await?;
        let res = insert_collection(&w.txn, account, new, false)
            .await
            .and_then(|c| c.ok_or(StorageError::AlreadyExists));
        self.finish_write(w, res).await
    }

    async fn delete_collection(&self, collection: CollectionId) -> Result<()> {
        let _guard = self.writer_lock().await;
        // Members, change log and properties go with it (ON DELETE CASCADE).
        let stmt = Query::delete()
            .from_table(collection::Entity)
            .and_where(Expr::col(collection::Column::Id).eq(collection))
            .take();
        let res = self.db.execute(&stmt).await.map_err(db_err)?;
        if res.rows_affected() == 0 {
            return Err(StorageError::NotFound);
        }
        Ok(())
    }
}

#[async_trait]
impl Objects for SeaStorage {
    async fn list_objects(&self, collection: CollectionId) -> Result<Vec<ObjectMeta>> {
        let mut stmt = meta_select(collection);
        stmt.order_by(object::Column::Name, Order::Asc);
        let rows = self.db.query_all(&stmt).await.map_err(db_err)?;
        rows.iter()
            .map(|r| {
                MetaRow::from_query_result(r, "")
                    .map(MetaRow::into_meta)
                    .map_err(db_err)
            })
            .collect()
    }

    async fn object_meta(
        &self,
        collection: CollectionId,
        names: &[String],
    ) -> Result<Vec<ObjectMeta>> {
        if let Some(p) = &self.point
            && names.len() <= point_read::MAX_POINT_NAMES
        {
            return p.object_meta(&self.queries, collection, names);
        }
        self.meta_batch(&self.db, collection, names).await
    }

    async fn get_objects(&self, collection: CollectionId, names: &[String]) -> Result<Vec<Object>> {
        let mut out = Vec::with_capacity(names.len());
        for chunk in names.chunks(IN_CHUNK) {
            let rows = object::Entity::find()
                .filter(Expr::col(object::Column::CollectionId).eq(collection))
                .filter(Expr::col(object::Column::Name).is_in(chunk.iter().map(String::as_str)))
                .all(&self.db)
                .await
                .map_err(db_err)?;
            out.extend(rows.into_iter().map(to_object));
        }
        Ok(out)
    }

    async fn scan_objects(
        &self,
        collection: CollectionId,
        after: Option<&str>,
        limit: u64,
    ) -> Result<Vec<Object>> {
        let mut q =
            object::Entity::find().filter(Expr::col(object::Column::CollectionId).eq(collection));
        if let Some(after) = after {
            q = q.filter(Expr::col(object::Column::Name).gt(after));
        }
        let rows = q
            .order_by_asc(object::Column::Name)
            .limit(limit)
            .all(&self.db)
            .await
            .map_err(db_err)?;
        Ok(rows.into_iter().map(to_object).collect())
    }

    async fn put_object(
        &self,
        collection: CollectionId,
        obj: &NewObject,
        cond: &Condition,
    ) -> Result<PutOutcome> {
        let w = self.begin_write().await?;
        let res = self.put_many_in(&w.txn, collection, &[(obj, cond)]).await;
        match self.finish_put(w, res).await {
            Ok(mut outcomes) => outcomes
                .pop()
                .ok_or_else(|| StorageError::Db("put produced no outcome".into())),
            Err(StorageError::Batch { error, .. }) => Err(*error),
            Err(e) => Err(e),
        }
    }

    async fn put_objects(
        &self,
        collection: CollectionId,
        items: &[(NewObject, Condition)],
    ) -> Result<Vec<PutOutcome>> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let refs: Vec<(&NewObject, &Condition)> = items.iter().map(|(o, c)| (o, c)).collect();
        let w = self.begin_write().await?;
        let res = self.put_many_in(&w.txn, collection, &refs).await;
        self.finish_put(w, res).await
    }

    async fn object_version(
        &self,
        collection: CollectionId,
        name: &str,
        etag: &str,
    ) -> Result<Option<Vec<u8>>> {
        let etag = etag
            .strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .unwrap_or(etag);
        let current = Query::select()
            .column(object::Column::Body)
            .from(object::Entity)
            .and_where(Expr::col(object::Column::CollectionId).eq(collection))
            .and_where(Expr::col(object::Column::Name).eq(name))
            .and_where(Expr::col(object::Column::Etag).eq(etag))
            .take();
        let kept = Query::select()
            .column(object_version::Column::Body)
            .from(object_version::Entity)
            .and_where(Expr::col(object_version::Column::CollectionId).eq(collection))
            .and_where(Expr::col(object_version::Column::Name).eq(name))
            .and_where(Expr::col(object_version::Column::Etag).eq(etag))
            .order_by(object_version::Column::Id, Order::Desc)
            .limit(1)
            .take();
        for stmt in [current, kept] {
            if let Some(row) = self.db.query_one(&stmt).await.map_err(db_err)? {
                let body: Vec<u8> = row.try_get("", "body").map_err(db_err)?;
                return Ok(Some(body));
            }
        }
        Ok(None)
    }

    async fn delete_object(
        &self,
        collection: CollectionId,
        name: &str,
        cond: &Condition,
    ) -> Result<()> {
        let w = self.begin_write().await?;
        let res = self.delete_in(&w.txn, collection, name, cond).await;
        self.finish_write(w, res).await
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
        let w = self.begin_write().await?;
        let res = self
            .move_in(
                &w.txn,
                &Transfer {
                    from,
                    from_name,
                    to,
                    to_name,
                    overwrite,
                },
                cond,
            )
            .await;
        self.finish_write(w, res).await
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
        let w = self.begin_write().await?;
        let res = self
            .copy_in(
                &w.txn,
                &Transfer {
                    from,
                    from_name,
                    to,
                    to_name,
                    overwrite,
                },
                replacement,
            )
            .await;
        self.finish_write(w, res).await
    }
}

#[async_trait]
impl Trees for SeaStorage {
    async fn list_tree(&self, collection: CollectionId, prefix: &str) -> Result<Vec<ObjectMeta>> {
        let mut stmt = meta_select(collection);
        if !prefix.is_empty() {
            stmt.and_where(has_prefix(object::Column::Name, prefix));
        }
        stmt.order_by(object::Column::Name, Order::Asc);
        let rows = self.db.query_all(&stmt).await.map_err(db_err)?;
        rows.iter()
            .map(|r| {
                MetaRow::from_query_result(r, "")
                    .map(MetaRow::into_meta)
                    .map_err(db_err)
            })
            .collect()
    }

    async fn put_path(
        &self,
        collection: CollectionId,
        obj: &NewObject,
        cond: &Condition,
    ) -> Result<PutOutcome> {
        let w = self.begin_write().await?;
        let res = self.put_path_in(&w.txn, collection, obj, cond).await;
        match self.finish_put(w, res).await {
            Ok(mut outcomes) => outcomes
                .pop()
                .ok_or_else(|| StorageError::Db("put produced no outcome".into())),
            Err(StorageError::Batch { error, .. }) => Err(*error),
            Err(e) => Err(e),
        }
    }

    async fn delete_tree(&self, collection: CollectionId, name: &str) -> Result<u64> {
        let w = self.begin_write().await?;
        let res = self.delete_tree_in(&w.txn, collection, name).await;
        self.finish_write(w, res).await
    }

    async fn copy_tree(
        &self,
        collection: CollectionId,
        from: &str,
        to: &str,
        overwrite: bool,
        deep: bool,
    ) -> Result<TransferOutcome> {
        self.transfer_tree(collection, from, to, overwrite, deep, false)
            .await
    }

    async fn move_tree(
        &self,
        collection: CollectionId,
        from: &str,
        to: &str,
        overwrite: bool,
    ) -> Result<TransferOutcome> {
        self.transfer_tree(collection, from, to, overwrite, true, true)
            .await
    }
}

#[async_trait]
impl ChangeLog for SeaStorage {
    async fn changes_since(
        &self,
        collection: CollectionId,
        since: Option<i64>,
        limit: Option<u64>,
    ) -> Result<Changes> {
        let txn = self.begin_read().await?;
        let res = self.changes_in(&txn, collection, since, limit).await;
        self.finish(txn, res).await
    }

    async fn prune_changes(&self, collection: CollectionId, seq: i64) -> Result<u64> {
        let w = self.begin_write().await?;
        let res = self.prune_in(&w.txn, collection, seq).await;
        self.finish_write(w, res).await
    }
}

#[async_trait]
impl DeadProps for SeaStorage {
    async fn get_props(&self, target: PropTarget<'_>) -> Result<Vec<DeadProp>> {
        if let Some(p) = &self.point {
            return p.get_props(&self.queries, target);
        }
        select_props(&self.db, target.collection, target.object.unwrap_or("")).await
    }

    async fn member_props(&self, collection: CollectionId) -> Result<Vec<(String, DeadProp)>> {
        let rows = property::Entity::find()
            .filter(Expr::col(property::Column::CollectionId).eq(collection))
            .filter(Expr::col(property::Column::ObjectName).ne(""))
            .order_by_asc(property::Column::ObjectName)
            .order_by_asc(property::Column::Namespace)
            .order_by_asc(property::Column::Name)
            .all(&self.db)
            .await
            .map_err(db_err)?;
        Ok(rows
            .into_iter()
            .map(|p| {
                let prop = DeadProp {
                    namespace: p.namespace,
                    name: p.name,
                    value: p.value,
                };
                (p.object_name, prop)
            })
            .collect())
    }

    async fn patch_props(&self, target: PropTarget<'_>, ops: &[PropOp]) -> Result<()> {
        let w = self.begin_write().await?;
        let res = self.patch_in(&w.txn, &target, ops).await;
        self.finish_write(w, res).await
    }
}
