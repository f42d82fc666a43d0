//! [`Collections`] for [`SeaStorage`]: collection rows, their initial dead properties
//! and their `token_id`. Deleting a collection cascades to its members, change log,
//! properties and versions.

use async_trait::async_trait;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{
    ConnectionTrait, DatabaseTransaction, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
};

use super::SeaStorage;
use super::props::insert_props;
use super::rows::{IdRow, db_err, insert_err, now, to_collection};
use crate::storage::entities::collection;
use crate::storage::{
    AccountId, Collection, CollectionId, CollectionKind, Collections, NewCollection, Result,
    StorageError,
};

fn new_token_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
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

impl SeaStorage {
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
