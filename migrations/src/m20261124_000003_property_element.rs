//! Dead properties are stored as their whole element (RFC 4918 §4.3: `xml:lang`, the
//! element's attributes and namespace declarations are part of the property), where
//! `property.value` held the element's content only.
//!
//! Every existing value becomes the element it was the content of: `<X:name
//! xmlns:X="namespace">value</X:name>`, or `<name xmlns="">value</name>` for a property
//! in no namespace. A stored content is self-contained (each top-level element declares
//! what it uses), so wrapping it changes no meaning. Nothing else was stored, so nothing
//! else is lost.
use sea_orm_migration::prelude::*;

/// Wraps every `property.value` in its property element.
#[derive(DeriveMigrationName)]
pub struct Migration;

/// The namespace as an XML attribute value, in SQL (`replace` and `||` are common to
/// SQLite and PostgreSQL).
const NS_ATTR: &str = "replace(replace(replace(replace(namespace, '&', '&amp;'), '<', '&lt;'), \
                       '>', '&gt;'), '\"', '&quot;')";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = format!(
            "UPDATE property SET value = CASE WHEN namespace = '' \
             THEN '<' || name || ' xmlns=\"\">' || value || '</' || name || '>' \
             ELSE '<X:' || name || ' xmlns:X=\"' || {NS_ATTR} || '\">' || value || '</X:' || name || '>' \
             END"
        );
        manager.get_connection().execute_unprepared(&sql).await?;
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // The attributes and declarations kept since cannot be put back into a content.
        Err(DbErr::Migration(
            "dead properties stored as elements cannot be turned back into contents".into(),
        ))
    }
}
