//! Puts: `put_object`, `put_objects` and `put_path` all come here. A batch is planned
//! in memory against the locked collection (conditions, unchanged puts, UID ownership and
//! uniqueness as the earlier items leave the collection), then written with multi-row
//! statements: versions, member upserts, change rows, and last the sequence.

use std::collections::{BTreeSet, HashMap};

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ConnectionTrait, DatabaseTransaction, FromQueryResult};

use super::changes::{bump, log_changes};
use super::objects::check_condition;
use super::rows::{body_chunks, db_err, now};
use super::versions::{MemVersion, keep_mem_versions, keep_row_versions, prune_versions};
use super::{IN_CHUNK, SeaStorage};
use crate::storage::entities::object;
use crate::storage::{CollectionId, Condition, NewObject, PutOutcome, Result, StorageError};

/// What a batch put needs to know about an existing member.
#[derive(Debug, FromQueryResult)]
struct BatchHead {
    id: i64,
    name: String,
    uid: String,
    etag: String,
    content_type: String,
}

/// Heads of the named members that exist, by name; one statement per [`IN_CHUNK`] names.
async fn heads_by_name<C: ConnectionTrait>(
    c: &C,
    coll: CollectionId,
    names: &[&str],
) -> Result<HashMap<String, BatchHead>> {
    let mut out = HashMap::with_capacity(names.len());
    for chunk in names.chunks(IN_CHUNK) {
        let stmt = Query::select()
            .columns([
                object::Column::Id,
                object::Column::Name,
                object::Column::Uid,
                object::Column::Etag,
                object::Column::ContentType,
            ])
            .from(object::Entity)
            .and_where(Expr::col(object::Column::CollectionId).eq(coll))
            .and_where(Expr::col(object::Column::Name).is_in(chunk.iter().copied()))
            .take();
        for r in c.query_all(&stmt).await.map_err(db_err)? {
            let h = BatchHead::from_query_result(&r, "").map_err(db_err)?;
            out.insert(h.name.clone(), h);
        }
    }
    Ok(out)
}

#[derive(Debug, FromQueryResult)]
struct UidRow {
    name: String,
    uid: String,
}

/// For each of `uids` (non-empty), the names of the members of `coll` carrying it; one
/// statement per [`IN_CHUNK`] UIDs.
async fn names_by_uid<C: ConnectionTrait>(
    c: &C,
    coll: CollectionId,
    uids: &[&str],
) -> Result<HashMap<String, BTreeSet<String>>> {
    let mut out: HashMap<String, BTreeSet<String>> = uids
        .iter()
        .map(|u| ((*u).to_owned(), BTreeSet::new()))
        .collect();
    for chunk in uids.chunks(IN_CHUNK) {
        let stmt = Query::select()
            .columns([object::Column::Name, object::Column::Uid])
            .from(object::Entity)
            .and_where(Expr::col(object::Column::CollectionId).eq(coll))
            .and_where(Expr::col(object::Column::Uid).is_in(chunk.iter().copied()))
            .take();
        for r in c.query_all(&stmt).await.map_err(db_err)? {
            let row = UidRow::from_query_result(&r, "").map_err(db_err)?;
            out.entry(row.uid).or_default().insert(row.name);
        }
    }
    Ok(out)
}

/// The final state of one member written by a batch.
struct Upsert<'a> {
    obj: &'a NewObject,
    seq: i64,
}

/// Inserts or replaces (by collection and name) the members `rows`, multi-row.
async fn upsert_objects<C: ConnectionTrait>(
    c: &C,
    coll: CollectionId,
    rows: &[Upsert<'_>],
) -> Result<()> {
    let ts = now();
    for chunk in body_chunks(rows, |r| r.obj.body.len()) {
        let mut stmt = Query::insert();
        stmt.into_table(object::Entity).columns([
            object::Column::CollectionId,
            object::Column::Name,
            object::Column::Uid,
            object::Column::Etag,
            object::Column::ContentType,
            object::Column::Size,
            object::Column::Body,
            object::Column::Seq,
            object::Column::ModifiedAt,
        ]);
        for r in chunk {
            let size = i64::try_from(r.obj.body.len()).unwrap_or(i64::MAX);
            stmt.values([
                coll.into(),
                r.obj.name.as_str().into(),
                r.obj.uid.as_str().into(),
                r.obj.etag.as_str().into(),
                r.obj.content_type.as_str().into(),
                size.into(),
                r.obj.body.clone().into(),
                r.seq.into(),
                ts.into(),
            ])
            .map_err(|e| StorageError::Db(e.to_string()))?;
        }
        stmt.on_conflict(
            OnConflict::columns([object::Column::CollectionId, object::Column::Name])
                .update_columns([
                    object::Column::Uid,
                    object::Column::Etag,
                    object::Column::ContentType,
                    object::Column::Size,
                    object::Column::Body,
                    object::Column::Seq,
                    object::Column::ModifiedAt,
                ])
                .to_owned(),
        );
        c.execute(&stmt).await.map_err(db_err)?;
    }
    Ok(())
}

/// The outcome of evaluating a batch: what to write.
struct Plan<'a> {
    outcomes: Vec<PutOutcome>,
    /// Database rows whose bodies become versions.
    db_versions: Vec<i64>,
    /// In-batch bodies that become versions.
    mem_versions: Vec<MemVersion<'a>>,
    /// Names that get versions (to prune).
    versioned: BTreeSet<&'a str>,
    /// Change rows.
    changes: Vec<(i64, &'a str)>,
    /// Final state per changed name (the last changing item), in item order.
    last: HashMap<&'a str, (usize, i64)>,
}

/// Where a member's current state comes from while a batch is evaluated.
#[derive(Clone, Copy)]
enum Cur {
    Absent,
    /// The database row (in the `heads` map).
    Db,
    /// Batch item `i`.
    Item(usize),
}

/// Evaluates `items` in order against the locked collection (whose sequence is `base`)
/// without writing: conditions, unchanged puts, UID uniqueness against the collection as
/// the earlier items leave it. Two lookups (by name, by UID), chunked; the rest is in
/// memory. A failing item is reported as `Batch { index, error }`.
async fn plan_batch<'a, C: ConnectionTrait>(
    c: &C,
    coll: CollectionId,
    base: i64,
    items: &[(&'a NewObject, &'a Condition)],
) -> Result<Plan<'a>> {
    let names: Vec<&str> = items
        .iter()
        .map(|(o, _)| o.name.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let uids: Vec<&str> = items
        .iter()
        .map(|(o, _)| o.uid.as_str())
        .filter(|u| !u.is_empty())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let heads = heads_by_name(c, coll, &names).await?;
    let mut owners = if uids.is_empty() {
        HashMap::new()
    } else {
        names_by_uid(c, coll, &uids).await?
    };
    let mut state: HashMap<&str, Cur> = HashMap::with_capacity(names.len());
    let mut plan = Plan {
        outcomes: Vec::with_capacity(items.len()),
        db_versions: Vec::new(),
        mem_versions: Vec::new(),
        versioned: BTreeSet::new(),
        changes: Vec::new(),
        last: HashMap::new(),
    };
    let mut seq = base;
    for (i, (obj, cond)) in items.iter().enumerate() {
        let wrap = |e: StorageError| StorageError::Batch {
            index: i,
            error: Box::new(e),
        };
        let name = obj.name.as_str();
        let cur = state.get(name).copied().unwrap_or_else(|| {
            if heads.contains_key(name) {
                Cur::Db
            } else {
                Cur::Absent
            }
        });
        // (uid, etag, content type) of the member as it stands.
        let meta: Option<(&str, &str, &str)> = match cur {
            Cur::Absent => None,
            Cur::Db => heads
                .get(name)
                .map(|h| (h.uid.as_str(), h.etag.as_str(), h.content_type.as_str())),
            Cur::Item(j) => {
                let o = items[j].0;
                Some((o.uid.as_str(), o.etag.as_str(), o.content_type.as_str()))
            }
        };
        check_condition(cond, meta.map(|m| m.1)).map_err(wrap)?;
        if meta
            == Some((
                obj.uid.as_str(),
                obj.etag.as_str(),
                obj.content_type.as_str(),
            ))
        {
            plan.outcomes.push(PutOutcome {
                created: false,
                unchanged: true,
                seq,
            });
            continue;
        }
        // A member keeps its UID: nothing replaces it with another one.
        if meta.is_some_and(|(old_uid, _, _)| old_uid != obj.uid) {
            return Err(wrap(StorageError::UidMismatch));
        }
        if let Some(other) = owners
            .get(obj.uid.as_str())
            .and_then(|set| set.iter().find(|n| n.as_str() != name))
        {
            return Err(wrap(StorageError::UidConflict(other.clone())));
        }
        seq += 1;
        match cur {
            Cur::Absent => {}
            Cur::Db => {
                if let Some(h) = heads.get(name) {
                    plan.db_versions.push(h.id);
                }
                plan.versioned.insert(name);
            }
            Cur::Item(j) => {
                let o = items[j].0;
                plan.mem_versions.push(MemVersion {
                    name: o.name.as_str(),
                    etag: o.etag.as_str(),
                    body: &o.body,
                });
                plan.versioned.insert(name);
            }
        }
        if let Some(set) = owners.get_mut(obj.uid.as_str()) {
            set.insert(name.to_owned());
        }
        state.insert(name, Cur::Item(i));
        plan.changes.push((seq, name));
        plan.last.insert(name, (i, seq));
        plan.outcomes.push(PutOutcome {
            created: meta.is_none(),
            unchanged: false,
            seq,
        });
    }
    Ok(plan)
}

impl SeaStorage {
    /// Puts `items` in order inside `c`: locks the collection without advancing it,
    /// evaluates every item against the collection as the earlier items leave it, and only
    /// then writes (multi-row statements) and advances the sequence by the number of
    /// changing items. Returns the outcomes and whether anything changed (if not, the
    /// caller rolls back so not even the lock's no-op update is committed).
    pub(super) async fn put_many_in(
        &self,
        c: &DatabaseTransaction,
        coll: CollectionId,
        items: &[(&NewObject, &Condition)],
    ) -> Result<(Vec<PutOutcome>, bool)> {
        let locked = bump(c, coll, 0).await?.ok_or(StorageError::NotFound)?;
        let plan = plan_batch(c, coll, locked.seq, items).await?;
        let n = plan.changes.len();
        if n == 0 {
            return Ok((plan.outcomes, false));
        }
        if self.keep_versions > 0 {
            keep_row_versions(c, &plan.db_versions).await?;
            keep_mem_versions(c, coll, &plan.mem_versions).await?;
        }
        if !plan.versioned.is_empty() {
            prune_versions(c, coll, &plan.versioned, self.keep_versions).await?;
        }
        let mut last: Vec<(usize, i64)> = plan.last.into_values().collect();
        last.sort_unstable();
        let rows: Vec<Upsert<'_>> = last
            .into_iter()
            .map(|(i, seq)| Upsert {
                obj: items[i].0,
                seq,
            })
            .collect();
        upsert_objects(c, coll, &rows).await?;
        log_changes(c, coll, &plan.changes).await?;
        let by = i64::try_from(n).map_err(|e| StorageError::Db(e.to_string()))?;
        let after = bump(c, coll, by).await?.ok_or(StorageError::NotFound)?;
        if after.seq != locked.seq + by {
            // Impossible while the row lock is held; refuse rather than hand out a seq twice.
            return Err(StorageError::Db(
                "collection sequence moved under lock".into(),
            ));
        }
        Ok((plan.outcomes, true))
    }
}
