//! What every file of the backend shares about rows: mapping database errors to
//! [`StorageError`], timestamps, the row types that more than one file reads (a member's
//! head, the locked collection row, a new row's id, metadata rows), conversions from the
//! entity models, the metadata `SELECT` and the chunking of multi-row inserts. A row type
//! that one file alone reads lives in that file.

use std::time::{SystemTime, UNIX_EPOCH};

use sea_orm::sea_query::{Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{DbErr, FromQueryResult, SqlErr};

use crate::storage::entities::{account, collection, object};
use crate::storage::{
    Account, Collection, CollectionId, CollectionKind, Object, ObjectMeta, Result, StorageError,
};

pub(super) fn db_err(e: DbErr) -> StorageError {
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
pub(super) fn insert_err(e: DbErr) -> StorageError {
    if is_unique_violation(&e) {
        StorageError::AlreadyExists
    } else if is_fk_violation(&e) {
        StorageError::NotFound
    } else {
        db_err(e)
    }
}

pub(super) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Most rows written by one multi-row `INSERT` of objects or versions…
const ROW_CHUNK: usize = 200;

/// …and most body bytes in one such statement (a larger single row goes alone).
const BODY_CHUNK: usize = 8 << 20;

/// Splits `rows` into runs of at most [`ROW_CHUNK`] rows and about [`BODY_CHUNK`] body
/// bytes, for multi-row inserts that stay within parameter and packet limits.
pub(super) fn body_chunks<T>(rows: &[T], size: impl Fn(&T) -> usize) -> Vec<&[T]> {
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

pub(super) fn to_account(m: account::Model) -> Account {
    Account {
        id: m.id,
        phone: m.phone,
        password_hash: m.password_hash,
        password_changed_at: m.password_changed_at,
        created_at: m.created_at,
    }
}

pub(super) fn to_collection(m: collection::Model) -> Result<Collection> {
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

pub(super) fn to_object(m: object::Model) -> Object {
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
pub(super) struct MetaRow {
    pub(super) name: String,
    pub(super) uid: String,
    pub(super) etag: String,
    pub(super) content_type: String,
    pub(super) size: i64,
    pub(super) modified_at: i64,
    pub(super) seq: i64,
}

impl MetaRow {
    pub(super) fn into_meta(self) -> ObjectMeta {
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

/// The members' metadata from rows of a [`meta_select`] statement, in row order.
pub(super) fn metas(rows: &[sea_orm::QueryResult]) -> std::result::Result<Vec<ObjectMeta>, DbErr> {
    rows.iter()
        .map(|r| MetaRow::from_query_result(r, "").map(MetaRow::into_meta))
        .collect()
}

/// `SELECT <metadata columns> FROM object WHERE collection_id = ?`.
pub(super) fn meta_select(collection: CollectionId) -> SelectStatement {
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
pub(super) struct Head {
    pub(super) id: i64,
    pub(super) uid: String,
    pub(super) etag: String,
}

/// The collection row as the sequence bump returns it.
#[derive(Debug, FromQueryResult)]
pub(super) struct Locked {
    pub(super) seq: i64,
    pub(super) horizon: i64,
    pub(super) account_id: i64,
}

#[derive(Debug, FromQueryResult)]
pub(super) struct IdRow {
    pub(super) id: i64,
}
