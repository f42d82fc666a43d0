//! [`Trees`] for [`SeaStorage`] (files collections): prefix matching, parents and twins,
//! and the tree operations (`put_path`, `delete_tree`, `copy_tree`, `move_tree`,
//! `list_tree`), each member by member with its own change row.

use std::collections::BTreeSet;

use async_trait::async_trait;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, Order, Query};
use sea_orm::{ConnectionTrait, DatabaseTransaction, FromQueryResult};

use super::changes::{bump, log_change};
use super::objects::head;
use super::props::delete_member_props;
use super::rows::{db_err, meta_select, metas, now};
use super::transfer::Transfer;
use super::versions::{keep_row_versions, move_versions, prune_versions};
use super::{IN_CHUNK, SeaStorage};
use crate::storage::entities::{object, property};
use crate::storage::{
    CollectionId, Condition, NewObject, ObjectMeta, PutOutcome, Result, StorageError,
    TransferOutcome, Trees,
};

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

impl SeaStorage {
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
        metas(&rows).map_err(db_err)
    }

    async fn put_path(
        &self,
        collection: CollectionId,
        obj: &NewObject,
        cond: &Condition,
    ) -> Result<PutOutcome> {
        let w = self.begin_write().await?;
        let res = self.put_path_in(&w.txn, collection, obj, cond).await;
        self.finish_put_one(w, res).await
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
