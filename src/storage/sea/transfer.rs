//! Move and copy of one member, within a collection or between two of one account:
//! locking both collections in id order, the overwrite and UID rules, and carrying
//! dead properties and kept versions along. Whole trees are `tree.rs`.

use std::collections::BTreeSet;

use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter};

use super::SeaStorage;
use super::changes::{bump, log_change};
use super::objects::{
    Row, check_condition, delete_object_row, head, missing_member, uid_owner, write_object,
};
use super::props::{delete_member_props, insert_props, select_props};
use super::rows::db_err;
use super::versions::{keep_row_versions, move_versions, prune_versions};
use crate::storage::entities::{collection, object, property};
use crate::storage::{CollectionId, Condition, NewObject, Result, StorageError, TransferOutcome};

/// Source and destination of a move or copy.
#[derive(Clone, Copy)]
pub(super) struct Transfer<'a> {
    pub(super) from: CollectionId,
    pub(super) from_name: &'a str,
    pub(super) to: CollectionId,
    pub(super) to_name: &'a str,
    pub(super) overwrite: bool,
}

impl SeaStorage {
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

    pub(super) async fn move_in(
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

    pub(super) async fn copy_in(
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
}
