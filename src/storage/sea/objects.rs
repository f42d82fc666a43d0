//! [`Objects`] for [`SeaStorage`]: member reads (metadata without bodies, bodies in
//! batches, scans), the write preconditions ([`Condition`], a member's head, UID
//! ownership), the single-row write and the delete of a member. Puts go through
//! `batch.rs`, moves and copies through `transfer.rs`, kept versions through
//! `versions.rs`.

use async_trait::async_trait;
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query};
use sea_orm::{
    ConnectionTrait, DatabaseTransaction, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::changes::{bump, log_change};
use super::props::delete_member_props;
use super::rows::{Head, db_err, meta_select, metas, now, to_object};
use super::transfer::Transfer;
use super::versions::version_body;
use super::{IN_CHUNK, SeaStorage};
use crate::storage::entities::object;
use crate::storage::point_read;
use crate::storage::{
    CollectionId, Condition, NewObject, Object, ObjectMeta, Objects, PutOutcome, Result,
    StorageError, TransferOutcome,
};

fn tag_matches(tags: &[String], etag: &str) -> bool {
    tags.iter().any(|t| {
        t.strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .unwrap_or(t)
            == etag
    })
}

/// Evaluates `cond` against the current ETag (`None` = the member does not exist).
pub(super) fn check_condition(cond: &Condition, current: Option<&str>) -> Result<()> {
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
pub(super) fn missing_member(cond: &Condition) -> StorageError {
    match cond {
        Condition::IfMatch(_) | Condition::IfMatchAny => StorageError::PreconditionFailed,
        _ => StorageError::NotFound,
    }
}

#[derive(Debug, FromQueryResult)]
struct NameRow {
    name: String,
}

/// Id, UID and ETag of a member, if it exists.
pub(super) async fn head<C: ConnectionTrait>(
    c: &C,
    coll: CollectionId,
    name: &str,
) -> Result<Option<Head>> {
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
pub(super) async fn uid_owner<C: ConnectionTrait>(
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

pub(super) async fn delete_object_row<C: ConnectionTrait>(c: &C, id: i64) -> Result<()> {
    let stmt = Query::delete()
        .from_table(object::Entity)
        .and_where(Expr::col(object::Column::Id).eq(id))
        .take();
    c.execute(&stmt).await.map_err(db_err)?;
    Ok(())
}

/// The fields of a member row a write sets.
pub(super) struct Row<'a> {
    pub(super) name: &'a str,
    pub(super) uid: &'a str,
    pub(super) etag: &'a str,
    pub(super) content_type: &'a str,
    pub(super) body: &'a [u8],
    pub(super) seq: i64,
}

/// Replaces the row `existing` in place, or inserts a new one into `coll`.
pub(super) async fn write_object<C: ConnectionTrait>(
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

impl SeaStorage {
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

    /// Metadata of the named members that exist; one statement per [`IN_CHUNK`] names.
    pub(super) async fn meta_batch<C: ConnectionTrait>(
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
            out.extend(metas(&rows).map_err(db_err)?);
        }
        Ok(out)
    }
}

#[async_trait]
impl Objects for SeaStorage {
    async fn list_objects(&self, collection: CollectionId) -> Result<Vec<ObjectMeta>> {
        let mut stmt = meta_select(collection);
        stmt.order_by(object::Column::Name, Order::Asc);
        let rows = self.db.query_all(&stmt).await.map_err(db_err)?;
        metas(&rows).map_err(db_err)
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
        self.finish_put_one(w, res).await
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
        version_body(&self.db, collection, name, etag).await
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
