//! [`DeadProps`] for [`SeaStorage`], and the property rows that follow a member: deleted,
//! copied (by `transfer.rs`) or moved with it.

use async_trait::async_trait;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder};

use super::SeaStorage;
use super::changes::bump;
use super::objects::head;
use super::rows::db_err;
use crate::storage::entities::property;
use crate::storage::{CollectionId, DeadProp, DeadProps, PropOp, PropTarget, Result, StorageError};

/// Deletes the dead properties of one member.
pub(super) async fn delete_member_props<C: ConnectionTrait>(
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

/// Inserts dead properties for one target that has none yet (one statement; nothing when
/// `props` is empty). A property named twice keeps its last value.
pub(super) async fn insert_props<C: ConnectionTrait>(
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

pub(super) async fn select_props<C: ConnectionTrait>(
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

impl SeaStorage {
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
