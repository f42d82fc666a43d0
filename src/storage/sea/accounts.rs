//! [`Accounts`] for [`SeaStorage`]: account rows. Deleting an account cascades to its
//! collections (`ON DELETE CASCADE`).

use async_trait::async_trait;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder};

use super::SeaStorage;
use super::rows::{IdRow, db_err, insert_err, now, to_account};
use crate::storage::entities::account;
use crate::storage::{Account, Accounts, Result, StorageError};

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
