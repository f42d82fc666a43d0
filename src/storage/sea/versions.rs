//! Kept versions (`object_version`): the bodies a member had before a put, delete, move
//! or copy replaced or removed them, inserted with `INSERT … SELECT` (or from memory for a
//! batch's own bodies), pruned to `keep_versions` per name, re-keyed by moves.

use std::collections::BTreeSet;

use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, Order, Query, WindowStatement};
use sea_orm::{ConnectionTrait, DatabaseTransaction};

use super::rows::{body_chunks, db_err, now};
use super::transfer::Transfer;
use super::{IN_CHUNK, SeaStorage};
use crate::storage::entities::{object, object_version};
use crate::storage::{CollectionId, Result, StorageError};

/// Keeps the current bodies of the object rows `ids` (all of `coll`) as versions under
/// their names, in id order; chunks of [`IN_CHUNK`] ids, the bodies never leave the
/// database.
pub(super) async fn keep_row_versions<C: ConnectionTrait>(c: &C, ids: &[i64]) -> Result<()> {
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

/// A body that stopped being current inside a batch (an earlier item's bytes replaced by a
/// later item of the same name).
pub(super) struct MemVersion<'a> {
    pub(super) name: &'a str,
    pub(super) etag: &'a str,
    pub(super) body: &'a [u8],
}

/// Inserts versions held in memory, in order.
pub(super) async fn keep_mem_versions<C: ConnectionTrait>(
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
pub(super) async fn prune_versions<C: ConnectionTrait>(
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

/// Moves the kept versions of `from`/`from_name` to `to`/`to_name`; returns how many.
pub(super) async fn move_versions<C: ConnectionTrait>(c: &C, t: &Transfer<'_>) -> Result<u64> {
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

/// `Objects::object_version`: the bytes member `name` of `collection` had under `etag`
/// (quotes ignored), from the member itself if `etag` is current, else from the newest
/// kept version with that ETag.
pub(super) async fn version_body<C: ConnectionTrait>(
    c: &C,
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
        if let Some(row) = c.query_one(&stmt).await.map_err(db_err)? {
            let body: Vec<u8> = row.try_get("", "body").map_err(db_err)?;
            return Ok(Some(body));
        }
    }
    Ok(None)
}

impl SeaStorage {
    /// Keeps the body of row `id` (member `name` of `coll`, about to be replaced or
    /// removed) as a version, then prunes `name`'s versions to `keep_versions`.
    pub(super) async fn keep_replaced(
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
}
