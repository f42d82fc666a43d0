//! [`ChangeLog`] for [`SeaStorage`], and the sequence every write allocates: `bump`
//! (which also row-locks the collection), change rows, `changes_since` and pruning.

use std::collections::HashMap;

use async_trait::async_trait;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, Order, Query};
use sea_orm::{ConnectionTrait, DatabaseTransaction, FromQueryResult};

use super::rows::{Locked, MetaRow, db_err, meta_select};
use super::{IN_CHUNK, SeaStorage};
use crate::storage::entities::{change, collection, object};
use crate::storage::{Change, ChangeLog, Changes, CollectionId, ObjectMeta, Result, StorageError};

#[derive(Debug, FromQueryResult)]
struct ChangeRow {
    name: String,
    mseq: i64,
}

/// `UPDATE collection SET seq = seq + by WHERE id = ? RETURNING seq, horizon, account_id`:
/// allocates `by` sequence numbers and row-locks the collection (PostgreSQL). `by = 0`
/// only locks. `None` when the collection does not exist.
pub(super) async fn bump<C: ConnectionTrait>(
    c: &C,
    coll: CollectionId,
    by: i64,
) -> Result<Option<Locked>> {
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

/// Cuts `rows` (fetched with one row beyond `limit`, to tell whether more follow) to
/// `limit`; returns whether it cut anything.
fn truncate<T>(rows: &mut Vec<T>, limit: Option<u64>) -> bool {
    let truncated = limit.is_some_and(|l| rows.len() as u64 > l);
    if let Some(l) = limit {
        rows.truncate(usize::try_from(l).unwrap_or(usize::MAX));
    }
    truncated
}

/// Appends change rows `(seq, name, deleted)` to `coll`'s log.
pub(super) async fn log_change<C: ConnectionTrait>(
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

/// Appends change rows `(seq, name)` (none deleted), multi-row.
pub(super) async fn log_changes<C: ConnectionTrait>(
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

impl SeaStorage {
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
            let truncated = truncate(&mut rows, limit);
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
        let truncated = truncate(&mut rows, limit);
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
