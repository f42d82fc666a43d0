//! The storage contract (`src/storage/mod.rs`), one behaviour per test, run against every
//! backend: each test exists once in `mod sqlite` (a fresh database in a temporary
//! directory) and once in `mod postgres` (a fresh schema `t_<random>` in the database named
//! by `DATABASE_URL`, dropped afterwards). Without `DATABASE_URL` the PostgreSQL variants
//! return immediately.
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use dialbook::storage::prelude::*;
use dialbook::storage::sea::{ConnectOptions, SeaStorage};
use dialbook::storage::{
    Account, Collection, CollectionKind, Condition, DeadProp, NewCollection, NewObject, ObjectMeta,
    PropOp, PropTarget, StorageError,
};

// ----- harness -----

/// A migrated storage on one backend, with what is needed to clean it up.
struct Backend {
    store: Arc<SeaStorage>,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

impl Backend {
    async fn sqlite() -> Backend {
        Self::sqlite_at(None).await
    }

    /// A SQLite storage with only the first `steps` migrations applied (all with `None`).
    async fn sqlite_at(steps: Option<u32>) -> Backend {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("dialbook.sqlite3");
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let store = SeaStorage::connect(&url, ConnectOptions::default())
            .await
            .expect("connect sqlite");
        store.migrate_steps(steps).await.expect("migrate sqlite");
        Backend {
            store: Arc::new(store),
            _dir: Some(dir),
            pg: None,
        }
    }

    async fn postgres() -> Option<Backend> {
        Self::postgres_at(None).await
    }

    /// Like [`Backend::sqlite_at`], on PostgreSQL (`None` without `DATABASE_URL`).
    async fn postgres_at(steps: Option<u32>) -> Option<Backend> {
        let url = std::env::var("DATABASE_URL").ok()?;
        let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
        let opts = ConnectOptions {
            max_connections: 4,
            schema: Some(schema.clone()),
            ..ConnectOptions::default()
        };
        let store = SeaStorage::connect(&url, opts)
            .await
            .expect("connect postgres");
        store.migrate_steps(steps).await.expect("migrate postgres");
        Some(Backend {
            store: Arc::new(store),
            _dir: None,
            pg: Some((url, schema)),
        })
    }

    async fn cleanup(self) {
        if let Some((url, schema)) = self.pg {
            drop(self.store);
            if let Ok(pool) = sea_orm::sqlx::PgPool::connect(&url).await {
                let sql = format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
                let _ = sea_orm::sqlx::query(sea_orm::sqlx::AssertSqlSafe(sql))
                    .execute(&pool)
                    .await;
                pool.close().await;
            }
        }
    }
}

/// Declares each behaviour once per backend.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let b = super::Backend::sqlite().await;
                    super::$name(&b.store).await;
                    b.cleanup().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(b) = super::Backend::postgres().await else {
                        eprintln!("DATABASE_URL not set; PostgreSQL variant not run");
                        return;
                    };
                    super::$name(&b.store).await;
                    b.cleanup().await;
                }
            )*
        }
    };
}

contract!(
    account_create_duplicate_lookup,
    account_password_change_bumps_timestamp,
    account_delete_cascades,
    ensure_collections_is_idempotent,
    ensure_collections_is_safe_concurrently,
    create_collection_duplicate_and_unknown_account,
    delete_collection_removes_members,
    put_creates_then_replaces,
    put_conditions,
    put_uid_conflict_names_the_other_object,
    failed_writes_advance_nothing,
    delete_object_conditions_and_props,
    move_within_collection,
    move_across_collections,
    move_overwrite_rules,
    overwrite_never_changes_a_members_uid,
    copy_object_rules,
    transfers_across_accounts_are_not_found,
    initial_sync_lists_existing_objects,
    incremental_sync_reports_each_member_once,
    paged_sync_walk_loses_nothing,
    invalid_tokens_are_rejected,
    prune_raises_horizon,
    sync_cost_is_independent_of_collection_size,
    listing_never_loads_bodies,
    object_meta_and_get_objects_batch,
    object_meta_of_a_few_names_matches_the_listing,
    scan_objects_pages_by_name,
    concurrent_if_match_exactly_one_wins,
    concurrent_writers_get_distinct_sequences,
    patch_props_is_all_or_nothing,
    member_props_lists_every_members_props_but_not_the_collections,
    identical_put_is_a_no_op,
    unchanged_put_still_checks_its_condition,
    versions_are_found_by_etag,
    versions_are_bounded_by_keep_versions,
    versions_move_with_the_member_and_go_with_the_collection,
    batch_is_all_or_nothing,
    batch_of_unchanged_items_writes_nothing,
    batch_changes_get_distinct_sequences,
    batch_of_two_thousand,
    tree_put_path_needs_a_parent_and_refuses_twins,
    tree_delete_removes_descendants_with_one_change_row_each,
    tree_copy_deep_and_shallow_carry_props,
    tree_move_renames_members_props_and_versions,
    tree_overwrite_rules,
    tree_prefixes_are_exact,
    tree_failed_operations_change_nothing,
);

/// Migration 3 (dead properties stored as their whole element), on a database that
/// migration 2 left with contents in `property.value`.
mod migration {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_dead_property_contents_become_their_elements() {
        let b = super::Backend::sqlite_at(Some(2)).await;
        super::dead_property_contents_become_their_elements(&b.store).await;
        b.cleanup().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_dead_property_contents_become_their_elements() {
        let Some(b) = super::Backend::postgres_at(Some(2)).await else {
            eprintln!("DATABASE_URL not set; PostgreSQL variant not run");
            return;
        };
        super::dead_property_contents_become_their_elements(&b.store).await;
        b.cleanup().await;
    }
}

async fn dead_property_contents_become_their_elements(s: &SeaStorage) {
    let a = account(s).await;
    let c = book(s, &a, "default").await;
    let contents = [
        ("DAV:", "displayname", "Work &amp; play"),
        (
            "urn:x&y\"",
            "list",
            r#"<x:i xmlns:x="urn:x">1</x:i><i xmlns="">2</i>"#,
        ),
        ("", "bare", "plain"),
    ];
    let ops: Vec<PropOp> = contents
        .iter()
        .map(|(ns, n, v)| PropOp::Set(prop(ns, n, v)))
        .collect();
    let book_props = PropTarget {
        collection: c.id,
        object: None,
    };
    s.patch_props(book_props.clone(), &ops).await.unwrap();
    s.migrate().await.expect("migrate to the latest schema");
    let got = s.get_props(book_props).await.unwrap();
    let value = |n: &str| {
        got.iter()
            .find(|p| p.name == n)
            .map(|p| p.value.clone())
            .unwrap()
    };
    assert_eq!(
        value("displayname"),
        r#"<X:displayname xmlns:X="DAV:">Work &amp; play</X:displayname>"#
    );
    assert_eq!(
        value("list"),
        r#"<X:list xmlns:X="urn:x&amp;y&quot;"><x:i xmlns:x="urn:x">1</x:i><i xmlns="">2</i></X:list>"#
    );
    assert_eq!(value("bare"), r#"<bare xmlns="">plain</bare>"#);
    assert_eq!(got.len(), 3);
}

// ----- helpers -----

fn phone() -> String {
    let n = uuid::Uuid::new_v4().as_u128() % 10_000_000_000;
    format!("+44{n:010}")
}

async fn account(s: &SeaStorage) -> Account {
    s.create_account(&phone(), "$argon2id$hash")
        .await
        .expect("account")
}

fn new_book(slug: &str, sort_order: i32) -> NewCollection {
    NewCollection {
        kind: CollectionKind::Addressbook,
        slug: slug.to_owned(),
        sort_order,
        props: vec![prop("DAV:", "displayname", slug)],
    }
}

async fn book(s: &SeaStorage, acc: &Account, slug: &str) -> Collection {
    s.create_collection(acc.id, &new_book(slug, 0))
        .await
        .expect("collection")
}

/// Re-reads a collection (its `seq`/`horizon` move).
async fn reload(s: &SeaStorage, c: &Collection) -> Collection {
    s.get_collection(c.account_id, c.kind, &c.slug)
        .await
        .expect("get collection")
        .expect("collection exists")
}

fn etag(body: &[u8]) -> String {
    blake3::hash(body).to_hex()[..20].to_owned()
}

fn card(name: &str, uid: &str, text: &str) -> NewObject {
    let body = format!("BEGIN:VCARD\r\nVERSION:4.0\r\nUID:{uid}\r\nFN:{text}\r\nEND:VCARD\r\n");
    NewObject {
        name: name.to_owned(),
        uid: uid.to_owned(),
        etag: etag(body.as_bytes()),
        content_type: "text/vcard".to_owned(),
        body: body.into_bytes(),
    }
}

fn prop(ns: &str, name: &str, value: &str) -> DeadProp {
    DeadProp {
        namespace: ns.to_owned(),
        name: name.to_owned(),
        value: value.to_owned(),
    }
}

async fn put(s: &SeaStorage, c: &Collection, obj: &NewObject) {
    s.put_object(c.id, obj, &Condition::None)
        .await
        .expect("put");
}

fn member<'a>(c: &Collection, name: &'a str) -> PropTarget<'a> {
    PropTarget {
        collection: c.id,
        object: Some(name),
    }
}

fn names(metas: &[ObjectMeta]) -> Vec<String> {
    metas.iter().map(|m| m.name.clone()).collect()
}

/// Every change after `since`, as (name, exists).
async fn changes_after(s: &SeaStorage, c: &Collection, since: i64) -> Vec<(String, bool)> {
    s.changes_since(c.id, Some(since), None)
        .await
        .expect("changes")
        .changes
        .into_iter()
        .map(|ch| (ch.name, ch.meta.is_some()))
        .collect()
}

// ----- accounts -----

async fn account_create_duplicate_lookup(s: &SeaStorage) {
    let p = phone();
    let a = s.create_account(&p, "h1").await.unwrap();
    assert_eq!(a.phone, p);
    assert!(a.created_at > 0);
    assert!(matches!(
        s.create_account(&p, "h2").await,
        Err(StorageError::AlreadyExists)
    ));
    let found = s.account_by_phone(&p).await.unwrap().unwrap();
    assert_eq!(found, a);
    assert_eq!(s.account_by_phone("+10000000000").await.unwrap(), None);
    let b = account(s).await;
    let all = s.list_accounts().await.unwrap();
    let mut expected = vec![a.phone.clone(), b.phone.clone()];
    expected.sort();
    assert_eq!(
        all.iter().map(|a| a.phone.clone()).collect::<Vec<_>>(),
        expected
    );
}

async fn account_password_change_bumps_timestamp(s: &SeaStorage) {
    let a = account(s).await;
    s.set_password(&a.phone, "new").await.unwrap();
    let one = s.account_by_phone(&a.phone).await.unwrap().unwrap();
    assert_eq!(one.password_hash, "new");
    assert!(one.password_changed_at > a.password_changed_at);
    // Twice within the same second still changes it (it keys the auth cache).
    s.set_password(&a.phone, "newer").await.unwrap();
    let two = s.account_by_phone(&a.phone).await.unwrap().unwrap();
    assert!(two.password_changed_at > one.password_changed_at);
    assert!(matches!(
        s.set_password("+10000000000", "x").await,
        Err(StorageError::NotFound)
    ));
}

async fn account_delete_cascades(s: &SeaStorage) {
    let a = account(s).await;
    let other = account(s).await;
    let c = book(s, &a, "default").await;
    let keep = book(s, &other, "default").await;
    put(s, &c, &card("a.vcf", "a", "A")).await;
    put(s, &keep, &card("a.vcf", "a", "A")).await;
    s.patch_props(member(&c, "a.vcf"), &[PropOp::Set(prop("urn:x", "p", "v"))])
        .await
        .unwrap();
    s.delete_account(&a.phone).await.unwrap();
    assert_eq!(s.account_by_phone(&a.phone).await.unwrap(), None);
    assert!(s.list_collections(a.id, None).await.unwrap().is_empty());
    assert!(s.list_objects(c.id).await.unwrap().is_empty());
    assert!(s.get_props(member(&c, "a.vcf")).await.unwrap().is_empty());
    assert!(matches!(
        s.changes_since(c.id, None, None).await,
        Err(StorageError::NotFound)
    ));
    assert!(matches!(
        s.delete_account(&a.phone).await,
        Err(StorageError::NotFound)
    ));
    // The other account is untouched.
    assert_eq!(names(&s.list_objects(keep.id).await.unwrap()), ["a.vcf"]);
}

// ----- collections -----

async fn ensure_collections_is_idempotent(s: &SeaStorage) {
    let a = account(s).await;
    let wanted = [new_book("work", 1), new_book("default", 0)];
    s.ensure_collections(a.id, &wanted).await.unwrap();
    let first = s.list_collections(a.id, None).await.unwrap();
    s.ensure_collections(a.id, &wanted).await.unwrap();
    let second = s.list_collections(a.id, None).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(
        first.iter().map(|c| c.slug.as_str()).collect::<Vec<_>>(),
        ["default", "work"]
    );
    for c in &first {
        assert_eq!(c.seq, 0);
        assert_eq!(c.horizon, 0);
        assert!(c.token_id.len() >= 16);
        assert!(c.token_id.bytes().all(|b| b.is_ascii_hexdigit()));
        let props = s
            .get_props(PropTarget {
                collection: c.id,
                object: None,
            })
            .await
            .unwrap();
        assert_eq!(props, vec![prop("DAV:", "displayname", &c.slug)]);
    }
    assert_ne!(first[0].token_id, first[1].token_id);
    let cal = NewCollection {
        kind: CollectionKind::Calendar,
        ..new_book("default", 0)
    };
    s.ensure_collections(a.id, &[cal]).await.unwrap();
    assert_eq!(
        s.list_collections(a.id, Some(CollectionKind::Addressbook))
            .await
            .unwrap(),
        first
    );
    assert_eq!(
        s.list_collections(a.id, Some(CollectionKind::Calendar))
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn ensure_collections_is_safe_concurrently(s: &SeaStorage) {
    let a = account(s).await;
    let wanted = vec![new_book("default", 0), new_book("work", 1)];
    let calls = (0..8).map(|_| s.ensure_collections(a.id, &wanted));
    for r in futures_util::future::join_all(calls).await {
        r.unwrap();
    }
    let all = s.list_collections(a.id, None).await.unwrap();
    assert_eq!(all.len(), 2);
    for c in &all {
        let props = s
            .get_props(PropTarget {
                collection: c.id,
                object: None,
            })
            .await
            .unwrap();
        assert_eq!(props.len(), 1);
    }
}

async fn create_collection_duplicate_and_unknown_account(s: &SeaStorage) {
    let a = account(s).await;
    let c = book(s, &a, "default").await;
    assert_eq!(reload(s, &c).await, c);
    assert!(matches!(
        s.create_collection(a.id, &new_book("default", 5)).await,
        Err(StorageError::AlreadyExists)
    ));
    assert!(matches!(
        s.create_collection(i64::MAX - 7, &new_book("x", 0)).await,
        Err(StorageError::NotFound)
    ));
    // A property named twice in the initial set keeps its last value.
    let mut twice = new_book("twice", 1);
    twice.props.push(prop("DAV:", "displayname", "Second"));
    let t = s.create_collection(a.id, &twice).await.unwrap();
    let props = s
        .get_props(PropTarget {
            collection: t.id,
            object: None,
        })
        .await
        .unwrap();
    assert_eq!(props, [prop("DAV:", "displayname", "Second")]);
    assert_eq!(
        s.get_collection(a.id, CollectionKind::Addressbook, "nope")
            .await
            .unwrap(),
        None
    );
}

async fn delete_collection_removes_members(s: &SeaStorage) {
    let a = account(s).await;
    let c = book(s, &a, "default").await;
    put(s, &c, &card("a.vcf", "a", "A")).await;
    s.delete_collection(c.id).await.unwrap();
    assert!(s.list_objects(c.id).await.unwrap().is_empty());
    assert!(
        s.get_props(PropTarget {
            collection: c.id,
            object: None
        })
        .await
        .unwrap()
        .is_empty()
    );
    assert!(matches!(
        s.delete_collection(c.id).await,
        Err(StorageError::NotFound)
    ));
    assert!(matches!(
        s.put_object(c.id, &card("b.vcf", "b", "B"), &Condition::None)
            .await,
        Err(StorageError::NotFound)
    ));
    // Re-created: a new token id, so old tokens are recognisably foreign.
    let again = book(s, &a, "default").await;
    assert_ne!(again.token_id, c.token_id);
}

// ----- objects -----

async fn put_creates_then_replaces(s: &SeaStorage) {
    let a = account(s).await;
    let c = book(s, &a, "default").await;
    let v1 = card("a.vcf", "a", "One");
    let out = s.put_object(c.id, &v1, &Condition::None).await.unwrap();
    assert!(out.created);
    assert_eq!(out.seq, 1);
    let v2 = card("a.vcf", "a", "Two");
    let out = s.put_object(c.id, &v2, &Condition::None).await.unwrap();
    assert!(!out.created);
    assert_eq!(out.seq, 2);
    assert_eq!(reload(s, &c).await.seq, 2);
    let got = s.get_objects(c.id, &["a.vcf".into()]).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body, v2.body);
    assert_eq!(got[0].meta.etag, v2.etag);
    assert_eq!(got[0].meta.size, v2.body.len() as i64);
    assert_eq!(got[0].meta.content_type, "text/vcard");
    assert_eq!(
        s.list_objects(c.id).await.unwrap(),
        vec![got[0].meta.clone()]
    );
}

async fn put_conditions(s: &SeaStorage) {
    let a = account(s).await;
    let c = book(s, &a, "default").await;
    let v1 = card("a.vcf", "a", "One");
    let v2 = card("a.vcf", "a", "Two");
    let pf = |r: Result<_, StorageError>| matches!(r, Err(StorageError::PreconditionFailed));
    let absent = card("new.vcf", "new", "New");

    // Against a member that does not exist.
    assert!(pf(s
        .put_object(c.id, &absent, &Condition::IfMatch(vec![v1.etag.clone()]))
        .await));
    assert!(pf(s
        .put_object(c.id, &absent, &Condition::IfMatchAny)
        .await));
    s.put_object(c.id, &v1, &Condition::IfNoneMatch(vec![v1.etag.clone()]))
        .await
        .unwrap();
    s.delete_object(c.id, "a.vcf", &Condition::None)
        .await
        .unwrap();
    s.put_object(c.id, &v1, &Condition::IfNoneMatchAny)
        .await
        .unwrap();

    // Against the existing member with ETag v1.
    assert!(pf(s
        .put_object(c.id, &v2, &Condition::IfNoneMatchAny)
        .await));
    assert!(pf(s
        .put_object(c.id, &v2, &Condition::IfMatch(vec!["other".into()]))
        .await));
    assert!(pf(s
        .put_object(c.id, &v2, &Condition::IfNoneMatch(vec![v1.etag.clone()]))
        .await));
    s.put_object(
        c.id,
        &v2,
        &Condition::IfMatch(vec!["x".into(), v1.etag.clone()]),
    )
    .await
    .unwrap();
    // Quoted ETags are accepted as well.
    let v3 = card("a.vcf", "a", "Three");
    s.put_object(
        c.id,
        &v3,
        &Condition::IfMatch(vec![format!("\"{}\"", v2.etag)]),
    )
    .await
    .unwrap();
    s.put_object(c.id, &v2, &Condition::IfNoneMatch(vec![v1.etag.clone()]))
        .await
        .unwrap();
    s.put_object(c.id, &v1, &Condition::IfMatchAny)
        .await
        .unwrap();
    s.put_object(c.id, &v2, &Condition::None).await.unwrap();
    let got = s.object_meta(c.id, &["a.vcf".into()]).await.unwrap();
    assert_eq!(got[0].etag, v2.etag);
}

async fn put_uid_conflict_names_the_other_object(s: &SeaStorage) {
    let a = account(s).await;
    let c = book(s, &a, "default").await;
    let other = book(s, &a, "other").await;
    put(s, &c, &card("a.vcf", "uid-1", "A")).await;
    match s
        .put_object(c.id, &card("b.vcf", "uid-1", "B"), &Condition::None)
        .await
    {
        Err(StorageError::UidConflict(name)) => assert_eq!(name, "a.vcf"),
        r => panic!("expected UidConflict, got {r:?}"),
    }
    // Replacing the owner itself with the same UID is fine, as is the UID elsewhere.
    put(s, &c, &card("a.vcf", "uid-1", "A2")).await;
    put(s, &other, &card("b.vcf", "uid-1", "B")).await;
    // Empty UIDs (plain files) never conflict.
    put(s, &c, &card("f1", "", "x")).await;
    put(s, &c, &card("f2", "", "y")).await;
}

async fn failed_writes_advance_nothing(s: &SeaStorage) {
    let a = account(s).await;
    let c = book(s, &a, "default").await;
    put(s, &c, &card("a.vcf", "a", "A")).await;
    put(s, &c, &card("b.vcf", "b", "B")).await;
    let before = reload(s, &c).await;
    let log_before = s.changes_since(c.id, Some(0), None).await.unwrap();
    fn q<T: std::fmt::Debug>(r: Result<T, StorageError>) {
        assert!(r.is_err(), "write should fail: {r:?}");
    }
    q(
        s.put_object(c.id, &card("a.vcf", "a", "X"), &Condition::IfNoneMatchAny)
            .await,
    );
    q(
        s.put_object(c.id, &card("c.vcf", "a", "X"), &Condition::None)
            .await,
    );
    q(
        s.delete_object(c.id, "a.vcf", &Condition::IfMatch(vec!["nope".into()]))
            .await,
    );
    q(s.delete_object(c.id, "zzz.vcf", &Condition::None).await);
    q(
        s.move_object(c.id, "a.vcf", c.id, "b.vcf", false, &Condition::None)
            .await,
    );
    q(s.move_object(
        c.id,
        "a.vcf",
        c.id,
        "z.vcf",
        false,
        &Condition::IfMatch(vec!["no".into()]),
    )
    .await);
    q(s.copy_object(c.id, "a.vcf", c.id, "z.vcf", false, None)
        .await);
    q(
        s.patch_props(member(&c, "zzz.vcf"), &[PropOp::Set(prop("u", "n", "v"))])
            .await,
    );
    assert_eq!(reload(s, &c).await, before);
    assert_eq!(
        s.changes_since(c.id, Some(0), None).await.unwrap(),
        log_before
    );
    assert_eq!(
        names(&s.list_objects(c.id).await.unwrap()),
        ["a.vcf", "b.vcf"]
    );
}

async fn delete_object_conditions_and_props(s: &SeaStorage) {
    let a = account(s).await;
    let c = book(s, &a, "default").await;
    let v = card("a.vcf", "a", "A");
    put(s, &c, &v).await;
    s.patch_props(member(&c, "a.vcf"), &[PropOp::Set(prop("urn:x", "p", "v"))])
        .await
        .unwrap();
    assert!(matches!(
        s.delete_object(c.id, "missing.vcf", &Condition::None).await,
        Err(StorageError::NotFound)
    ));
    // RFC 7232 §6: If-Match is evaluated first, so a missing member fails it.
    assert!(matches!(
        s.delete_object(c.id, "missing.vcf", &Condition::IfMatchAny)
            .await,
        Err(StorageError::PreconditionFailed)
    ));
    assert!(matches!(
        s.delete_object(c.id, "a.vcf", &Condition::IfNoneMatchAny)
            .await,
        Err(StorageError::PreconditionFailed)
    ));
    let seq = reload(s, &c).await.seq;
    s.delete_object(c.id, "a.vcf", &Condition::IfMatch(vec![v.etag.clone()]))
        .await
        .unwrap();
    assert!(s.list_objects(c.id).await.unwrap().is_empty());
    assert!(s.get_props(member(&c, "a.vcf")).await.unwrap().is_empty());
    assert_eq!(reload(s, &c).await.seq, seq + 1);
    assert_eq!(
        changes_after(s, &c, seq).await,
        [("a.vcf".to_owned(), false)]
    );
    // A new member under the old name does not inherit the old properties.
    put(s, &c, &v).await;
    assert!(s.get_props(member(&c, "a.vcf")).await.unwrap().is_empty());
}

async fn move_within_collection(s: &SeaStorage) {
    let a = account(s).await;
    let c = book(s, &a, "default").await;
    let v = card("a.vcf", "a", "A");
    put(s, &c, &v).await;
    s.patch_props(member(&c, "a.vcf"), &[PropOp::Set(prop("urn:x", "p", "v"))])
        .await
        .unwrap();
    let seq = reload(s, &c).await.seq;
    let out = s
        .move_object(
            c.id,
            "a.vcf",
            c.id,
            "b.vcf",
            false,
            &Condition::IfMatch(vec![v.etag.clone()]),
        )
        .await
        .unwrap();
    assert!(!out.replaced);
    assert_eq!(names(&s.list_objects(c.id).await.unwrap()), ["b.vcf"]);
    assert_eq!(
        s.get_props(member(&c, "b.vcf")).await.unwrap(),
        [prop("urn:x", "p", "v")]
    );
    assert!(s.get_props(member(&c, "a.vcf")).await.unwrap().is_empty());
    assert_eq!(
        changes_after(s, &c, seq).await,
        [("a.vcf".to_owned(), false), ("b.vcf".to_owned(), true)]
    );
    assert_eq!(reload(s, &c).await.seq, seq + 2);
    let got = s.get_objects(c.id, &["b.vcf".into()]).await.unwrap();
    assert_eq!(got[0].body, v.body);
    assert_eq!(got[0].meta.uid, "a");
    // Onto itself: refused.
    assert!(matches!(
        s.move_object(c.id, "b.vcf", c.id, "b.vcf", true, &Condition::None)
            .await,
        Err(StorageError::PreconditionFailed)
    ));
    assert!(matches!(
        s.move_object(c.id, "gone.vcf", c.id, "x.vcf", false, &Condition::None)
            .await,
        Err(StorageError::NotFound)
    ));
}

async fn move_across_collections(s: &SeaStorage) {
    let a = account(s).await;
    let c1 = book(s, &a, "one").await;
    let c2 = book(s, &a, "two").await;
    put(s, &c1, &card("a.vcf", "a", "A")).await;
    put(s, &c1, &card("d.vcf", "dup", "D")).await;
    put(s, &c2, &card("x.vcf", "dup", "X")).await;
    s.patch_props(
        member(&c1, "a.vcf"),
        &[PropOp::Set(prop("urn:x", "p", "v"))],
    )
    .await
    .unwrap();
    let (s1, s2) = (reload(s, &c1).await.seq, reload(s, &c2).await.seq);
    s.move_object(c1.id, "a.vcf", c2.id, "a2.vcf", false, &Condition::None)
        .await
        .unwrap();
    assert_eq!(names(&s.list_objects(c1.id).await.unwrap()), ["d.vcf"]);
    assert_eq!(
        names(&s.list_objects(c2.id).await.unwrap()),
        ["a2.vcf", "x.vcf"]
    );
    assert_eq!(
        changes_after(s, &c1, s1).await,
        [("a.vcf".to_owned(), false)]
    );
    assert_eq!(
        changes_after(s, &c2, s2).await,
        [("a2.vcf".to_owned(), true)]
    );
    assert_eq!(
        s.get_props(member(&c2, "a2.vcf")).await.unwrap(),
        [prop("urn:x", "p", "v")]
    );
    assert!(s.get_props(member(&c1, "a.vcf")).await.unwrap().is_empty());
    // The UID is checked in the destination.
    match s
        .move_object(c1.id, "d.vcf", c2.id, "d.vcf", false, &Condition::None)
        .await
    {
        Err(StorageError::UidConflict(n)) => assert_eq!(n, "x.vcf"),
        r => panic!("expected UidConflict, got {r:?}"),
    }
    assert!(matches!(
        s.move_object(
            c1.id,
            "d.vcf",
            i64::MAX - 3,
            "d.vcf",
            false,
            &Condition::None
        )
        .await,
        Err(StorageError::NotFound)
    ));
}

async fn move_overwrite_rules(s: &SeaStorage) {
    let a = account(s).await;
    let c = book(s, &a, "default").await;
    let d = book(s, &a, "other").await;
    put(s, &c, &card("a.vcf", "a", "A")).await;
    put(s, &d, &card("b.vcf", "a", "B")).await;
    s.patch_props(
        member(&d, "b.vcf"),
        &[PropOp::Set(prop("urn:x", "old", "b"))],
    )
    .await
    .unwrap();
    assert!(matches!(
        s.move_object(c.id, "a.vcf", d.id, "b.vcf", false, &Condition::None)
            .await,
        Err(StorageError::PreconditionFailed)
    ));
    let out = s
        .move_object(c.id, "a.vcf", d.id, "b.vcf", true, &Condition::None)
        .await
        .unwrap();
    assert!(out.replaced);
    assert!(s.list_objects(c.id).await.unwrap().is_empty());
    let objs = s.list_objects(d.id).await.unwrap();
    assert_eq!(names(&objs), ["b.vcf"]);
    assert_eq!(objs[0].uid, "a");
    assert_eq!(objs[0].etag, card("a.vcf", "a", "A").etag);
    // The replaced member's properties are gone.
    assert!(s.get_props(member(&d, "b.vcf")).await.unwrap().is_empty());
}

async fn overwrite_never_changes_a_members_uid(s: &SeaStorage) {
    let a = account(s).await;
    let c = book(s, &a, "default").await;
    let d = book(s, &a, "other").await;
    put(s, &c, &card("a.vcf", "a", "A")).await;
    put(s, &c, &card("b.vcf", "b", "B")).await;
    put(s, &d, &card("x.vcf", "x", "X")).await;
    let (before_c, before_d) = (reload(s, &c).await, reload(s, &d).await);
    let (log_c, log_d) = (
        s.changes_since(c.id, Some(0), None).await.unwrap(),
        s.changes_since(d.id, Some(0), None).await.unwrap(),
    );
    let mismatch = |r: Result<_, StorageError>| {
        assert!(
            matches!(r, Err(StorageError::UidMismatch)),
            "expected UidMismatch, got {r:?}"
        );
    };
    // A put of another UID onto a member, whatever its condition; also when the UID is
    // one no member has, and when it is another member's (checked before uniqueness).
    for (uid, cond) in [
        ("fresh", Condition::None),
        ("fresh", Condition::IfMatchAny),
        (
            "fresh",
            Condition::IfMatch(vec![card("b.vcf", "b", "B").etag]),
        ),
        ("a", Condition::None),
    ] {
        mismatch(
            s.put_object(c.id, &card("b.vcf", uid, "B2"), &cond)
                .await
                .map(|_| ()),
        );
    }
    // The same in a batch: the item is named, nothing is written.
    match s
        .put_objects(
            c.id,
            &batch(&[card("n.vcf", "n", "N"), card("b.vcf", "other", "B2")]),
        )
        .await
    {
        Err(StorageError::Batch { index, error }) => {
            assert_eq!(index, 1);
            assert!(matches!(*error, StorageError::UidMismatch));
        }
        r => panic!("expected Batch error, got {r:?}"),
    }
    // A batch item cannot change the UID an earlier item gave a new member either.
    match s
        .put_objects(
            c.id,
            &batch(&[card("n.vcf", "n", "N"), card("n.vcf", "n2", "N2")]),
        )
        .await
    {
        Err(StorageError::Batch { index, error }) => {
            assert_eq!(index, 1);
            assert!(matches!(*error, StorageError::UidMismatch));
        }
        r => panic!("expected Batch error, got {r:?}"),
    }
    // Move and copy with overwrite, within and across collections.
    mismatch(
        s.move_object(c.id, "a.vcf", c.id, "b.vcf", true, &Condition::None)
            .await
            .map(|_| ()),
    );
    mismatch(
        s.move_object(c.id, "a.vcf", d.id, "x.vcf", true, &Condition::None)
            .await
            .map(|_| ()),
    );
    mismatch(
        s.copy_object(c.id, "a.vcf", d.id, "x.vcf", true, None)
            .await
            .map(|_| ()),
    );
    let fresh = card("ignored", "fresh", "copy");
    mismatch(
        s.copy_object(c.id, "a.vcf", c.id, "b.vcf", true, Some(&fresh))
            .await
            .map(|_| ()),
    );
    // Nothing moved: members, sequences and change logs are as they were.
    assert_eq!(reload(s, &c).await, before_c);
    assert_eq!(reload(s, &d).await, before_d);
    assert_eq!(s.changes_since(c.id, Some(0), None).await.unwrap(), log_c);
    assert_eq!(s.changes_since(d.id, Some(0), None).await.unwrap(), log_d);
    let got = s
        .get_objects(c.id, &["a.vcf".into(), "b.vcf".into()])
        .await
        .unwrap();
    let mut bodies: Vec<_> = got.into_iter().map(|o| (o.meta.name, o.body)).collect();
    bodies.sort();
    assert_eq!(
        bodies,
        [
            ("a.vcf".to_owned(), card("a.vcf", "a", "A").body),
            ("b.vcf".to_owned(), card("b.vcf", "b", "B").body)
        ]
    );
    assert_eq!(
        s.get_objects(d.id, &["x.vcf".into()]).await.unwrap()[0].body,
        card("x.vcf", "x", "X").body
    );
}

async fn copy_object_rules(s: &SeaStorage) {
    let a = account(s).await;
    let c1 = book(s, &a, "one").await;
    let c2 = book(s, &a, "two").await;
    let v = card("a.vcf", "a", "A");
    put(s, &c1, &v).await;
    s.patch_props(
        member(&c1, "a.vcf"),
        &[PropOp::Set(prop("urn:x", "p", "v"))],
    )
    .await
    .unwrap();
    let (s1, s2) = (reload(s, &c1).await.seq, reload(s, &c2).await.seq);
    let out = s
        .copy_object(c1.id, "a.vcf", c2.id, "a.vcf", false, None)
        .await
        .unwrap();
    assert!(!out.replaced);
    assert_eq!(names(&s.list_objects(c1.id).await.unwrap()), ["a.vcf"]);
    let copy = s.get_objects(c2.id, &["a.vcf".into()]).await.unwrap();
    assert_eq!(copy[0].body, v.body);
    assert_eq!(
        s.get_props(member(&c2, "a.vcf")).await.unwrap(),
        [prop("urn:x", "p", "v")]
    );
    assert_eq!(
        s.get_props(member(&c1, "a.vcf")).await.unwrap(),
        [prop("urn:x", "p", "v")]
    );
    assert_eq!(reload(s, &c1).await.seq, s1);
    assert_eq!(
        changes_after(s, &c2, s2).await,
        [("a.vcf".to_owned(), true)]
    );
    // Same book without a fresh UID: the source owns that UID.
    match s
        .copy_object(c1.id, "a.vcf", c1.id, "b.vcf", false, None)
        .await
    {
        Err(StorageError::UidConflict(n)) => assert_eq!(n, "a.vcf"),
        r => panic!("expected UidConflict, got {r:?}"),
    }
    let fresh = card("ignored-name", "a-copy", "A copy");
    s.copy_object(c1.id, "a.vcf", c1.id, "b.vcf", false, Some(&fresh))
        .await
        .unwrap();
    let b = s.get_objects(c1.id, &["b.vcf".into()]).await.unwrap();
    assert_eq!(b[0].meta.uid, "a-copy");
    assert_eq!(b[0].meta.etag, fresh.etag);
    assert_eq!(b[0].body, fresh.body);
    // Overwrite rules.
    assert!(matches!(
        s.copy_object(c1.id, "a.vcf", c2.id, "a.vcf", false, None)
            .await,
        Err(StorageError::PreconditionFailed)
    ));
    let edited = card("a.vcf", "a", "A edited");
    put(s, &c1, &edited).await;
    let out = s
        .copy_object(c1.id, "a.vcf", c2.id, "a.vcf", true, None)
        .await
        .unwrap();
    assert!(out.replaced);
    let replaced = s.get_objects(c2.id, &["a.vcf".into()]).await.unwrap();
    assert_eq!(replaced[0].body, edited.body);
    assert!(matches!(
        s.copy_object(c1.id, "missing", c2.id, "m", false, None)
            .await,
        Err(StorageError::NotFound)
    ));
}

async fn transfers_across_accounts_are_not_found(s: &SeaStorage) {
    let a = account(s).await;
    let b = account(s).await;
    let ca = book(s, &a, "default").await;
    let cb = book(s, &b, "default").await;
    put(s, &ca, &card("a.vcf", "a", "A")).await;
    let (sa, sb) = (reload(s, &ca).await, reload(s, &cb).await);
    assert!(matches!(
        s.move_object(ca.id, "a.vcf", cb.id, "a.vcf", false, &Condition::None)
            .await,
        Err(StorageError::NotFound)
    ));
    assert!(matches!(
        s.copy_object(ca.id, "a.vcf", cb.id, "a.vcf", false, None)
            .await,
        Err(StorageError::NotFound)
    ));
    assert!(s.list_objects(cb.id).await.unwrap().is_empty());
    assert_eq!(reload(s, &ca).await, sa);
    assert_eq!(reload(s, &cb).await, sb);
}

// ----- change log -----

async fn initial_sync_lists_existing_objects(s: &SeaStorage) {
    let a = account(s).await;
    let c = book(s, &a, "default").await;
    let empty = s.changes_since(c.id, None, None).await.unwrap();
    assert!(empty.changes.is_empty());
    assert_eq!(empty.seq, 0);
    assert!(!empty.truncated);
    put(s, &c, &card("b.vcf", "b", "B")).await;
    put(s, &c, &card("a.vcf", "a", "A")).await;
    put(s, &c, &card("gone.vcf", "g", "G")).await;
    put(s, &c, &card("b.vcf", "b", "B2")).await;
    s.delete_object(c.id, "gone.vcf", &Condition::None)
        .await
        .unwrap();
    let all = s.changes_since(c.id, None, None).await.unwrap();
    // In order of latest change; deleted members never included.
    let got: Vec<_> = all
        .changes
        .iter()
        .map(|ch| (ch.name.as_str(), ch.seq))
        .collect();
    assert_eq!(got, [("a.vcf", 2), ("b.vcf", 4)]);
    assert!(all.changes.iter().all(|ch| ch.meta.is_some()));
    assert_eq!(all.seq, 5);
    assert!(!all.truncated);
    let page = s.changes_since(c.id, None, Some(1)).await.unwrap();
    assert_eq!(page.changes.len(), 1);
    assert!(page.truncated);
    assert_eq!(page.seq, 2);
    let rest = s.changes_since(c.id, Some(page.seq), None).await.unwrap();
    let rest: Vec<_> = rest.changes.iter().map(|ch| ch.name.as_str()).collect();
    assert_eq!(rest, ["b.vcf", "gone.vcf"]);
}

async fn incremental_sync_reports_each_member_once(s: &SeaStorage) {
    let a = account(s).await;
    let c = book(s, &a, "default").await;
    put(s, &c, &card("a.vcf", "a", "A")).await;
    put(s, &c, &card("b.vcf", "b", "B")).await;
    let token = s.changes_since(c.id, None, None).await.unwrap().seq;
    assert!(
        s.changes_since(c.id, Some(token), None)
            .await
            .unwrap()
            .changes
            .is_empty()
    );
    put(s, &c, &card("a.vcf", "a", "A2")).await;
    put(s, &c, &card("c.vcf", "c", "C")).await;
    put(s, &c, &card("a.vcf", "a", "A3")).await;
    s.delete_object(c.id, "b.vcf", &Condition::None)
        .await
        .unwrap();
    let ch = s.changes_since(c.id, Some(token), None).await.unwrap();
    let got: Vec<_> = ch
        .changes
        .iter()
        .map(|x| (x.name.as_str(), x.seq, x.meta.is_some()))
        .collect();
    assert_eq!(
        got,
        [("c.vcf", 4, true), ("a.vcf", 5, true), ("b.vcf", 6, false)]
    );
    assert_eq!(ch.seq, 6);
    assert!(!ch.truncated);
    let a_meta = ch.changes[1].meta.as_ref().unwrap();
    assert_eq!(a_meta.etag, card("a.vcf", "a", "A3").etag);
    assert!(
        s.changes_since(c.id, Some(6), None)
            .await
            .unwrap()
            .changes
            .is_empty()
    );
}

/// A deterministic pseudo-random sequence (xorshift), so the walk is reproducible.
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

async fn paged_sync_walk_loses_nothing(s: &SeaStorage) {
    let a = account(s).await;
    let c = book(s, &a, "default").await;
    let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
    // The client's view: name → etag, built only from the sync answers.
    let mut client: BTreeMap<String, String> = BTreeMap::new();
    let mut token: Option<i64> = None;
    for round in 0..6 {
        // Mutate: creates, modifications and deletions.
        for i in 0..15 {
            let n = format!("m{}.vcf", xorshift(&mut rng) % 20);
            if xorshift(&mut rng).is_multiple_of(4) {
                let _ = s.delete_object(c.id, &n, &Condition::None).await;
            } else {
                let uid = n.trim_end_matches(".vcf").to_owned();
                put(s, &c, &card(&n, &uid, &format!("r{round}i{i}"))).await;
            }
        }
        let before = reload(s, &c).await.seq;
        let since_start = token;
        // Walk in pages of 3.
        let mut seen: Vec<(String, i64)> = Vec::new();
        loop {
            let page = s.changes_since(c.id, token, Some(3)).await.unwrap();
            assert!(page.changes.len() <= 3);
            for ch in &page.changes {
                match &ch.meta {
                    Some(m) => {
                        client.insert(ch.name.clone(), m.etag.clone());
                    }
                    None => {
                        client.remove(&ch.name);
                    }
                }
                seen.push((ch.name.clone(), ch.seq));
            }
            // Sequences strictly increase across pages: nothing twice, nothing skipped.
            assert!(seen.windows(2).all(|w| w[0].1 < w[1].1));
            token = Some(page.seq);
            if !page.truncated {
                break;
            }
            assert_eq!(page.seq, page.changes.last().unwrap().seq);
        }
        assert_eq!(token, Some(before));
        let server: BTreeMap<String, String> = s
            .list_objects(c.id)
            .await
            .unwrap()
            .into_iter()
            .map(|m| (m.name, m.etag))
            .collect();
        assert_eq!(client, server, "round {round}");
        // Each changed member seen exactly once in an incremental walk.
        if let Some(start) = since_start {
            let expected: BTreeSet<String> = changes_after(s, &c, start)
                .await
                .into_iter()
                .map(|(n, _)| n)
                .collect();
            let got: Vec<String> = seen.iter().map(|(n, _)| n.clone()).collect();
            let unique: BTreeSet<String> = got.iter().cloned().collect();
            assert_eq!(unique.len(), got.len());
            assert_eq!(unique, expected);
        }
    }
}

async fn invalid_tokens_are_rejected(s: &SeaStorage) {
    let a = account(s).await;
    let c = book(s, &a, "default").await;
    put(s, &c, &card("a.vcf", "a", "A")).await;
    put(s, &c, &card("b.vcf", "b", "B")).await;
    assert!(matches!(
        s.changes_since(c.id, Some(3), None).await,
        Err(StorageError::InvalidToken)
    ));
    assert!(matches!(
        s.changes_since(c.id, Some(-1), None).await,
        Err(StorageError::InvalidToken)
    ));
    s.changes_since(c.id, Some(2), None).await.unwrap();
    s.prune_changes(c.id, 1).await.unwrap();
    assert!(matches!(
        s.changes_since(c.id, Some(0), None).await,
        Err(StorageError::InvalidToken)
    ));
    assert_eq!(changes_after(s, &c, 1).await, [("b.vcf".to_owned(), true)]);
    assert!(matches!(
        s.changes_since(i64::MAX - 1, Some(0), None).await,
        Err(StorageError::NotFound)
    ));
}

async fn prune_raises_horizon(s: &SeaStorage) {
    let a = account(s).await;
    let c = book(s, &a, "default").await;
    for i in 0..4 {
        put(s, &c, &card(&format!("{i}.vcf"), &i.to_string(), "x")).await;
    }
    s.delete_object(c.id, "0.vcf", &Condition::None)
        .await
        .unwrap(); // seq 5
    put(s, &c, &card("1.vcf", "1", "y")).await; // seq 6
    // Rows at or below 5: 0.vcf (created 1, deleted 5), 1.vcf at 2, 2.vcf at 3, 3.vcf at 4.
    assert_eq!(s.prune_changes(c.id, 5).await.unwrap(), 5);
    let after = reload(s, &c).await;
    assert_eq!(after.horizon, 5);
    assert_eq!(after.seq, 6);
    // Pruning never lowers the horizon, and is clamped to the current sequence.
    assert_eq!(s.prune_changes(c.id, 2).await.unwrap(), 0);
    assert_eq!(reload(s, &c).await.horizon, 5);
    // Initial syncs still see everything that exists; incremental from the horizon works.
    let all = s.changes_since(c.id, None, None).await.unwrap();
    let got: Vec<_> = all.changes.iter().map(|ch| ch.name.as_str()).collect();
    assert_eq!(got, ["2.vcf", "3.vcf", "1.vcf"]);
    assert_eq!(changes_after(s, &c, 5).await, [("1.vcf".to_owned(), true)]);
    assert_eq!(s.prune_changes(c.id, 100).await.unwrap(), 1);
    assert_eq!(reload(s, &c).await.horizon, 6);
    assert!(matches!(
        s.prune_changes(i64::MAX - 1, 1).await,
        Err(StorageError::NotFound)
    ));
}

/// Statements one incremental sync costs after ten changes in a collection of `size`.
async fn sync_cost(s: &SeaStorage, acc: &Account, slug: &str, size: usize) -> u64 {
    let c = book(s, acc, slug).await;
    for i in 0..size {
        put(s, &c, &card(&format!("{i}.vcf"), &format!("u{i}"), "x")).await;
    }
    let token = reload(s, &c).await.seq;
    for i in 0..10_u32 {
        if i.is_multiple_of(3) {
            s.delete_object(c.id, &format!("{i}.vcf"), &Condition::None)
                .await
                .unwrap();
        } else {
            put(
                s,
                &c,
                &card(&format!("{i}.vcf"), &format!("u{i}"), "changed"),
            )
            .await;
        }
    }
    let before = s.queries();
    let ch = s.changes_since(c.id, Some(token), None).await.unwrap();
    let cost = s.queries() - before;
    assert_eq!(ch.changes.len(), 10);
    cost
}

async fn sync_cost_is_independent_of_collection_size(s: &SeaStorage) {
    let a = account(s).await;
    let small = sync_cost(s, &a, "small", 200).await;
    let large = sync_cost(s, &a, "large", 2_000).await;
    assert_eq!(small, large);
    assert!(small > 0 && small <= 6, "{small} statements");
}

async fn listing_never_loads_bodies(s: &SeaStorage) {
    let a = account(s).await;
    let c = book(s, &a, "default").await;
    put(s, &c, &card("b.vcf", "b", "B")).await;
    put(s, &c, &card("a.vcf", "a", "A")).await;
    // By type: listing returns `ObjectMeta`, which has no body field.
    let list: Vec<ObjectMeta> = s.list_objects(c.id).await.unwrap();
    assert_eq!(names(&list), ["a.vcf", "b.vcf"]);
    let meta: Vec<ObjectMeta> = s.object_meta(c.id, &["b.vcf".into()]).await.unwrap();
    assert_eq!(names(&meta), ["b.vcf"]);
    let ch = s.changes_since(c.id, None, None).await.unwrap();
    let _: Option<&ObjectMeta> = ch.changes[0].meta.as_ref();
}

async fn object_meta_and_get_objects_batch(s: &SeaStorage) {
    let a = account(s).await;
    let c = book(s, &a, "default").await;
    for n in ["x.vcf", "y.vcf", "z.vcf"] {
        put(s, &c, &card(n, n, n)).await;
    }
    // More names than one IN list holds; only existing ones come back.
    let mut wanted: Vec<String> = (0..1_200).map(|i| format!("nope{i}")).collect();
    wanted.extend(["x.vcf".into(), "z.vcf".into()]);
    let mut got = names(&s.object_meta(c.id, &wanted).await.unwrap());
    got.sort();
    assert_eq!(got, ["x.vcf", "z.vcf"]);
    let objs = s.get_objects(c.id, &wanted).await.unwrap();
    let mut got: Vec<_> = objs.iter().map(|o| o.meta.name.clone()).collect();
    got.sort();
    assert_eq!(got, ["x.vcf", "z.vcf"]);
    assert!(objs.iter().all(|o| !o.body.is_empty()));
    assert!(s.object_meta(c.id, &[]).await.unwrap().is_empty());
}

/// A few names (the per-request lookup, which SQLite answers on the calling thread) give
/// the same metadata as the listing, and nothing for names that do not exist.
async fn object_meta_of_a_few_names_matches_the_listing(s: &SeaStorage) {
    let a = account(s).await;
    let c = book(s, &a, "default").await;
    for n in ["x.vcf", "y.vcf", "z.vcf"] {
        put(s, &c, &card(n, n, n)).await;
    }
    let listed = s.list_objects(c.id).await.unwrap();
    let wanted: Vec<String> = vec!["z.vcf".into(), "missing.vcf".into(), "x.vcf".into()];
    let mut got = s.object_meta(c.id, &wanted).await.unwrap();
    got.sort_by(|a, b| a.name.cmp(&b.name));
    let mut expected: Vec<ObjectMeta> = listed.into_iter().filter(|m| m.name != "y.vcf").collect();
    expected.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(got.len(), 2);
    assert_eq!(got, expected);
}

async fn scan_objects_pages_by_name(s: &SeaStorage) {
    let a = account(s).await;
    let c = book(s, &a, "default").await;
    for i in (0..7).rev() {
        put(s, &c, &card(&format!("{i}.vcf"), &i.to_string(), "x")).await;
    }
    let mut after: Option<String> = None;
    let mut all = Vec::new();
    loop {
        let page = s.scan_objects(c.id, after.as_deref(), 3).await.unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 3);
        after = Some(page.last().unwrap().meta.name.clone());
        all.extend(page.into_iter().map(|o| o.meta.name));
    }
    let expected: Vec<String> = (0..7).map(|i| format!("{i}.vcf")).collect();
    assert_eq!(all, expected);
}

// ----- concurrency -----

async fn concurrent_if_match_exactly_one_wins(s: &SeaStorage) {
    let a = account(s).await;
    let c = book(s, &a, "default").await;
    for round in 0..20 {
        let base = card("race.vcf", "race", &format!("base {round}"));
        put(s, &c, &base).await;
        let seq = reload(s, &c).await.seq;
        let cond = Condition::IfMatch(vec![base.etag.clone()]);
        let left = card("race.vcf", "race", &format!("left {round}"));
        let right = card("race.vcf", "race", &format!("right {round}"));
        let (l, r) = tokio::join!(
            s.put_object(c.id, &left, &cond),
            s.put_object(c.id, &right, &cond)
        );
        let oks = [&l, &r].iter().filter(|x| x.is_ok()).count();
        assert_eq!(oks, 1, "round {round}: {l:?} / {r:?}");
        let loser = if l.is_ok() { &r } else { &l };
        assert!(matches!(loser, Err(StorageError::PreconditionFailed)));
        let winner = if l.is_ok() { &left } else { &right };
        let stored = s.object_meta(c.id, &["race.vcf".into()]).await.unwrap();
        assert_eq!(stored[0].etag, winner.etag);
        assert_eq!(reload(s, &c).await.seq, seq + 1);
        assert_eq!(changes_after(s, &c, seq).await.len(), 1);
    }
}

async fn concurrent_writers_get_distinct_sequences(s: &SeaStorage) {
    let a = account(s).await;
    let c = book(s, &a, "default").await;
    let objs: Vec<NewObject> = (0..12)
        .map(|i| card(&format!("{i}.vcf"), &format!("u{i}"), "x"))
        .collect();
    let writes = objs.iter().map(|o| s.put_object(c.id, o, &Condition::None));
    let outs = futures_util::future::join_all(writes).await;
    let mut seqs: Vec<i64> = outs.into_iter().map(|o| o.unwrap().seq).collect();
    seqs.sort();
    assert_eq!(seqs, (1..=12).collect::<Vec<_>>());
    let ch = s.changes_since(c.id, Some(0), None).await.unwrap();
    assert_eq!(ch.changes.len(), 12);
    assert_eq!(ch.seq, 12);
}

// ----- dead properties -----

async fn patch_props_is_all_or_nothing(s: &SeaStorage) {
    let a = account(s).await;
    let c = book(s, &a, "default").await;
    put(s, &c, &card("a.vcf", "a", "A")).await;
    let t = member(&c, "a.vcf");
    s.patch_props(
        t.clone(),
        &[
            PropOp::Set(prop("urn:b", "z", "1")),
            PropOp::Set(prop("urn:a", "y", "<x:v xmlns:x=\"urn:x\"/>")),
            PropOp::Set(prop("urn:b", "a", "2")),
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        s.get_props(t.clone()).await.unwrap(),
        [
            prop("urn:a", "y", "<x:v xmlns:x=\"urn:x\"/>"),
            prop("urn:b", "a", "2"),
            prop("urn:b", "z", "1")
        ]
    );
    // Set over an existing value, remove another, remove a missing one.
    s.patch_props(
        t.clone(),
        &[
            PropOp::Set(prop("urn:b", "z", "3")),
            PropOp::Remove {
                namespace: "urn:b".into(),
                name: "a".into(),
            },
            PropOp::Remove {
                namespace: "urn:none".into(),
                name: "none".into(),
            },
        ],
    )
    .await
    .unwrap();
    let before = s.get_props(t.clone()).await.unwrap();
    assert_eq!(
        before,
        [
            prop("urn:a", "y", "<x:v xmlns:x=\"urn:x\"/>"),
            prop("urn:b", "z", "3")
        ]
    );
    // A missing target changes nothing.
    assert!(matches!(
        s.patch_props(
            member(&c, "missing.vcf"),
            &[PropOp::Set(prop("u", "n", "v"))]
        )
        .await,
        Err(StorageError::NotFound)
    ));
    assert!(
        s.get_props(member(&c, "missing.vcf"))
            .await
            .unwrap()
            .is_empty()
    );
    // A batch whose last operation the database rejects (PostgreSQL refuses NUL in text)
    // is applied entirely or not at all.
    let ops = [
        PropOp::Remove {
            namespace: "urn:a".into(),
            name: "y".into(),
        },
        PropOp::Set(prop("urn:b", "z", "4")),
        PropOp::Set(prop("urn:c", "nul", "a\0b")),
    ];
    match s.patch_props(t.clone(), &ops).await {
        Ok(()) => {
            assert_eq!(
                s.get_props(t.clone()).await.unwrap(),
                [prop("urn:b", "z", "4"), prop("urn:c", "nul", "a\0b")]
            );
        }
        Err(StorageError::Db(_)) => assert_eq!(s.get_props(t.clone()).await.unwrap(), before),
        Err(e) => panic!("unexpected {e:?}"),
    }
    // Collection properties are separate from member properties.
    let coll = PropTarget {
        collection: c.id,
        object: None,
    };
    s.patch_props(
        coll.clone(),
        &[PropOp::Set(prop("DAV:", "displayname", "Mine"))],
    )
    .await
    .unwrap();
    assert_eq!(
        s.get_props(coll).await.unwrap(),
        [prop("DAV:", "displayname", "Mine")]
    );
    // Property changes are not member changes: the sequence stays.
    assert_eq!(reload(s, &c).await.seq, 1);
}

async fn member_props_lists_every_members_props_but_not_the_collections(s: &SeaStorage) {
    let a = account(s).await;
    let c = book(s, &a, "default").await;
    put(s, &c, &card("a.vcf", "a", "A")).await;
    put(s, &c, &card("b.vcf", "b", "B")).await;
    put(s, &c, &card("c.vcf", "c", "C")).await;
    s.patch_props(member(&c, "a.vcf"), &[PropOp::Set(prop("urn:x", "p", "1"))])
        .await
        .unwrap();
    s.patch_props(
        member(&c, "b.vcf"),
        &[
            PropOp::Set(prop("urn:x", "p", "2")),
            PropOp::Set(prop("urn:x", "q", "3")),
        ],
    )
    .await
    .unwrap();
    let coll = PropTarget {
        collection: c.id,
        object: None,
    };
    s.patch_props(coll, &[PropOp::Set(prop("urn:x", "own", "c"))])
        .await
        .unwrap();
    let got = s.member_props(c.id).await.unwrap();
    assert_eq!(
        got,
        vec![
            ("a.vcf".to_string(), prop("urn:x", "p", "1")),
            ("b.vcf".to_string(), prop("urn:x", "p", "2")),
            ("b.vcf".to_string(), prop("urn:x", "q", "3")),
        ]
    );
}

// ----- unchanged puts -----

async fn identical_put_is_a_no_op(s: &SeaStorage) {
    let a = account(s).await;
    let c = book(s, &a, "default").await;
    let v1 = card("a.vcf", "a", "One");
    let first = s.put_object(c.id, &v1, &Condition::None).await.unwrap();
    assert!(first.created && !first.unchanged);
    put(s, &c, &card("b.vcf", "b", "B")).await;
    let before = reload(s, &c).await;
    let log_before = s.changes_since(c.id, Some(0), None).await.unwrap();
    let meta_before = s.object_meta(c.id, &["a.vcf".into()]).await.unwrap();

    // The same bytes again, with and without a (holding) condition.
    for cond in [
        Condition::None,
        Condition::IfMatch(vec![v1.etag.clone()]),
        Condition::IfMatchAny,
    ] {
        let out = s.put_object(c.id, &v1, &cond).await.unwrap();
        assert!(out.unchanged, "{cond:?}");
        assert!(!out.created);
        assert_eq!(out.seq, before.seq);
    }
    assert_eq!(reload(s, &c).await, before);
    assert_eq!(
        s.changes_since(c.id, Some(0), None).await.unwrap(),
        log_before
    );
    assert!(changes_after(s, &c, before.seq).await.is_empty());
    assert_eq!(
        s.object_meta(c.id, &["a.vcf".into()]).await.unwrap(),
        meta_before
    );

    // Same bytes under another content type is a change; so is another body.
    let mut retyped = v1.clone();
    retyped.content_type = "text/x-vcard".into();
    let out = s
        .put_object(c.id, &retyped, &Condition::None)
        .await
        .unwrap();
    assert!(!out.unchanged && !out.created);
    assert_eq!(out.seq, before.seq + 1);
    let out = s
        .put_object(c.id, &card("a.vcf", "a", "Two"), &Condition::None)
        .await
        .unwrap();
    assert!(!out.unchanged);
    assert_eq!(out.seq, before.seq + 2);
    assert_eq!(
        changes_after(s, &c, before.seq).await,
        [("a.vcf".to_owned(), true)]
    );
}

async fn unchanged_put_still_checks_its_condition(s: &SeaStorage) {
    let a = account(s).await;
    let c = book(s, &a, "default").await;
    let v1 = card("a.vcf", "a", "One");
    put(s, &c, &v1).await;
    let before = reload(s, &c).await;
    for cond in [
        Condition::IfMatch(vec!["stale".into()]),
        Condition::IfNoneMatchAny,
        Condition::IfNoneMatch(vec![v1.etag.clone()]),
    ] {
        assert!(
            matches!(
                s.put_object(c.id, &v1, &cond).await,
                Err(StorageError::PreconditionFailed)
            ),
            "{cond:?}"
        );
    }
    assert_eq!(reload(s, &c).await, before);
    assert!(changes_after(s, &c, before.seq).await.is_empty());
}

// ----- versions -----

async fn versions_are_found_by_etag(s: &SeaStorage) {
    let a = account(s).await;
    let c = book(s, &a, "default").await;
    let v: Vec<NewObject> = (1..=3)
        .map(|i| card("a.vcf", "a", &format!("v{i}")))
        .collect();
    for x in &v {
        put(s, &c, x).await;
    }
    let found = |name: &'static str, etag: String| async move {
        s.object_version(c.id, name, &etag).await.unwrap()
    };
    // Current, older, quoted.
    assert_eq!(
        found("a.vcf", v[2].etag.clone()).await,
        Some(v[2].body.clone())
    );
    assert_eq!(
        found("a.vcf", v[0].etag.clone()).await,
        Some(v[0].body.clone())
    );
    assert_eq!(
        found("a.vcf", format!("\"{}\"", v[1].etag)).await,
        Some(v[1].body.clone())
    );
    assert_eq!(found("a.vcf", "never".into()).await, None);
    assert_eq!(found("b.vcf", v[0].etag.clone()).await, None);
    // An unchanged put keeps nothing new, and breaks nothing.
    put(s, &c, &v[2]).await;
    assert_eq!(
        found("a.vcf", v[2].etag.clone()).await,
        Some(v[2].body.clone())
    );

    // A deleted member's bodies stay findable, also its last one.
    s.delete_object(c.id, "a.vcf", &Condition::None)
        .await
        .unwrap();
    assert_eq!(
        found("a.vcf", v[2].etag.clone()).await,
        Some(v[2].body.clone())
    );
    assert_eq!(
        found("a.vcf", v[0].etag.clone()).await,
        Some(v[0].body.clone())
    );
    // …and a new member of that name does not hide them.
    let fresh = card("a.vcf", "a", "fresh");
    put(s, &c, &fresh).await;
    assert_eq!(found("a.vcf", fresh.etag.clone()).await, Some(fresh.body));
    assert_eq!(
        found("a.vcf", v[1].etag.clone()).await,
        Some(v[1].body.clone())
    );
    // Another collection's versions are not this one's.
    let other = book(s, &a, "other").await;
    assert_eq!(
        s.object_version(other.id, "a.vcf", &v[0].etag)
            .await
            .unwrap(),
        None
    );
}

async fn versions_are_bounded_by_keep_versions(s: &SeaStorage) {
    // The harness uses the default of 10 versions.
    let keep = ConnectOptions::default().keep_versions as usize;
    assert_eq!(keep, 10);
    let a = account(s).await;
    let c = book(s, &a, "default").await;
    let v: Vec<NewObject> = (0..keep + 4)
        .map(|i| card("a.vcf", "a", &format!("v{i}")))
        .collect();
    for x in &v {
        put(s, &c, x).await;
    }
    put(s, &c, &card("b.vcf", "b", "other member")).await;
    // Current: the last; kept: the `keep` before it; the oldest are gone.
    let last = v.len() - 1;
    for (i, x) in v.iter().enumerate() {
        let got = s.object_version(c.id, "a.vcf", &x.etag).await.unwrap();
        assert_eq!(got.is_some(), i + keep >= last, "version {i}");
    }
    // Several versions of one name inside one batch are bounded the same way.
    let w: Vec<(NewObject, Condition)> = (0..keep + 2)
        .map(|i| (card("a.vcf", "a", &format!("w{i}")), Condition::None))
        .collect();
    s.put_objects(c.id, &w).await.unwrap();
    let last = w.len() - 1;
    for (i, (x, _)) in w.iter().enumerate() {
        let got = s.object_version(c.id, "a.vcf", &x.etag).await.unwrap();
        assert_eq!(got.is_some(), i + keep >= last, "batch version {i}");
    }
    // The batch added `keep + 2` versions (the old current one and `keep + 1` of its
    // own), so none of the earlier bodies is left.
    for (i, x) in v.iter().enumerate() {
        let got = s.object_version(c.id, "a.vcf", &x.etag).await.unwrap();
        assert_eq!(got, None, "earlier version {i}");
    }
}

async fn versions_move_with_the_member_and_go_with_the_collection(s: &SeaStorage) {
    let a = account(s).await;
    let c = book(s, &a, "default").await;
    let d = book(s, &a, "other").await;
    let v1 = card("a.vcf", "a", "one");
    let v2 = card("a.vcf", "a", "two");
    put(s, &c, &v1).await;
    put(s, &c, &v2).await;
    let at = |coll: &Collection, name: &'static str, etag: String| {
        let id = coll.id;
        async move { s.object_version(id, name, &etag).await.unwrap() }
    };
    // Rename in place: the versions follow the new name.
    s.move_object(c.id, "a.vcf", c.id, "b.vcf", false, &Condition::None)
        .await
        .unwrap();
    assert_eq!(
        at(&c, "b.vcf", v1.etag.clone()).await,
        Some(v1.body.clone())
    );
    assert_eq!(
        at(&c, "b.vcf", v2.etag.clone()).await,
        Some(v2.body.clone())
    );
    assert_eq!(at(&c, "a.vcf", v1.etag.clone()).await, None);
    // Across collections, overwriting a destination (of the same UID): its body is kept
    // under its name.
    let x = card("x.vcf", "a", "overwritten");
    put(s, &d, &x).await;
    s.move_object(c.id, "b.vcf", d.id, "x.vcf", true, &Condition::None)
        .await
        .unwrap();
    assert_eq!(
        at(&d, "x.vcf", v1.etag.clone()).await,
        Some(v1.body.clone())
    );
    assert_eq!(
        at(&d, "x.vcf", v2.etag.clone()).await,
        Some(v2.body.clone())
    );
    assert_eq!(at(&d, "x.vcf", x.etag.clone()).await, Some(x.body.clone()));
    assert_eq!(at(&c, "b.vcf", v1.etag.clone()).await, None);
    // A copy overwriting a destination keeps the destination's body too.
    let y = card("y.vcf", "a", "copied over");
    put(s, &c, &y).await;
    s.copy_object(d.id, "x.vcf", c.id, "y.vcf", true, None)
        .await
        .unwrap();
    assert_eq!(at(&c, "y.vcf", y.etag.clone()).await, Some(y.body.clone()));
    assert_eq!(
        at(&c, "y.vcf", v2.etag.clone()).await,
        Some(v2.body.clone())
    );
    // Deleting the collection (or the account) deletes its versions.
    s.delete_collection(d.id).await.unwrap();
    assert_eq!(at(&d, "x.vcf", v1.etag.clone()).await, None);
    assert_eq!(at(&d, "x.vcf", x.etag.clone()).await, None);
    s.delete_account(&a.phone).await.unwrap();
    assert_eq!(at(&c, "y.vcf", y.etag.clone()).await, None);
}

// ----- batches -----

fn batch(items: &[NewObject]) -> Vec<(NewObject, Condition)> {
    items.iter().map(|o| (o.clone(), Condition::None)).collect()
}

async fn batch_is_all_or_nothing(s: &SeaStorage) {
    let a = account(s).await;
    let c = book(s, &a, "default").await;
    put(s, &c, &card("a.vcf", "a", "A")).await;
    let before = reload(s, &c).await;
    let log_before = s.changes_since(c.id, Some(0), None).await.unwrap();

    // A UID conflict with a stored member at item 2.
    let items = batch(&[
        card("n0.vcf", "n0", "x"),
        card("n1.vcf", "n1", "x"),
        card("n2.vcf", "a", "x"),
        card("n3.vcf", "n3", "x"),
    ]);
    match s.put_objects(c.id, &items).await {
        Err(StorageError::Batch { index, error }) => {
            assert_eq!(index, 2);
            assert!(matches!(*error, StorageError::UidConflict(ref n) if n == "a.vcf"));
        }
        r => panic!("expected Batch error, got {r:?}"),
    }
    // A UID conflict with an earlier item of the same batch.
    let items = batch(&[card("u0.vcf", "u", "x"), card("u1.vcf", "u", "y")]);
    match s.put_objects(c.id, &items).await {
        Err(StorageError::Batch { index, error }) => {
            assert_eq!(index, 1);
            assert!(matches!(*error, StorageError::UidConflict(ref n) if n == "u0.vcf"));
        }
        r => panic!("expected Batch error, got {r:?}"),
    }
    // A failed condition at item 1 (also when that item would be unchanged).
    for stale in [card("a.vcf", "a", "A"), card("a.vcf", "a", "A2")] {
        let items = vec![
            (card("p0.vcf", "p0", "x"), Condition::None),
            (stale, Condition::IfMatch(vec!["stale".into()])),
        ];
        match s.put_objects(c.id, &items).await {
            Err(StorageError::Batch { index, error }) => {
                assert_eq!(index, 1);
                assert!(matches!(*error, StorageError::PreconditionFailed));
            }
            r => panic!("expected Batch error, got {r:?}"),
        }
    }
    assert_eq!(reload(s, &c).await, before);
    assert_eq!(
        s.changes_since(c.id, Some(0), None).await.unwrap(),
        log_before
    );
    assert_eq!(names(&s.list_objects(c.id).await.unwrap()), ["a.vcf"]);
    assert_eq!(
        s.object_version(c.id, "a.vcf", &card("a.vcf", "a", "A").etag)
            .await
            .unwrap(),
        Some(card("a.vcf", "a", "A").body)
    );
    // A missing collection is plain NotFound (no item is at fault).
    assert!(matches!(
        s.put_objects(i64::MAX - 1, &batch(&[card("z.vcf", "z", "z")]))
            .await,
        Err(StorageError::NotFound)
    ));

    // Later items see earlier ones: a condition on an item created in the batch holds.
    let y1 = card("y.vcf", "y", "1");
    let y2 = card("y.vcf", "y", "2");
    let items = vec![
        (y1.clone(), Condition::IfNoneMatchAny),
        (y2.clone(), Condition::IfMatch(vec![y1.etag.clone()])),
        (card("a.vcf", "a", "A2"), Condition::IfMatchAny),
        (card("b.vcf", "b", "B"), Condition::IfNoneMatchAny),
    ];
    let outs = s.put_objects(c.id, &items).await.unwrap();
    let created: Vec<bool> = outs.iter().map(|o| o.created).collect();
    assert_eq!(created, [true, false, false, true]);
    assert_eq!(
        s.object_version(c.id, "y.vcf", &y1.etag).await.unwrap(),
        Some(y1.body)
    );
    let got = s.get_objects(c.id, &["y.vcf".into()]).await.unwrap();
    assert_eq!(got[0].body, y2.body);
}

async fn batch_of_unchanged_items_writes_nothing(s: &SeaStorage) {
    let a = account(s).await;
    let c = book(s, &a, "default").await;
    let a1 = card("a.vcf", "a", "A");
    let b1 = card("b.vcf", "b", "B");
    s.put_objects(c.id, &batch(&[a1.clone(), b1.clone()]))
        .await
        .unwrap();
    let before = reload(s, &c).await;
    assert_eq!(before.seq, 2);
    let log_before = s.changes_since(c.id, Some(0), None).await.unwrap();

    assert!(s.put_objects(c.id, &[]).await.unwrap().is_empty());
    let outs = s
        .put_objects(c.id, &batch(&[a1.clone(), b1.clone(), a1.clone()]))
        .await
        .unwrap();
    assert!(outs.iter().all(|o| o.unchanged && !o.created && o.seq == 2));
    assert_eq!(reload(s, &c).await, before);
    assert_eq!(
        s.changes_since(c.id, Some(0), None).await.unwrap(),
        log_before
    );

    // Mixed: only the changing items take sequence numbers.
    let outs = s
        .put_objects(
            c.id,
            &batch(&[
                a1.clone(),
                card("c.vcf", "c", "C"),
                card("b.vcf", "b", "B2"),
            ]),
        )
        .await
        .unwrap();
    let got: Vec<(bool, bool, i64)> = outs
        .iter()
        .map(|o| (o.created, o.unchanged, o.seq))
        .collect();
    assert_eq!(got, [(false, true, 2), (true, false, 3), (false, false, 4)]);
    assert_eq!(reload(s, &c).await.seq, 4);
    assert_eq!(
        changes_after(s, &c, 2).await,
        [("c.vcf".to_owned(), true), ("b.vcf".to_owned(), true)]
    );
}

async fn batch_changes_get_distinct_sequences(s: &SeaStorage) {
    let a = account(s).await;
    let c = book(s, &a, "default").await;
    put(s, &c, &card("old.vcf", "old", "x")).await;
    let base = reload(s, &c).await.seq;
    let items = batch(&[
        card("a.vcf", "a", "1"),
        card("b.vcf", "b", "1"),
        card("a.vcf", "a", "2"),
        card("old.vcf", "old", "y"),
        card("c.vcf", "c", "1"),
    ]);
    let outs = s.put_objects(c.id, &items).await.unwrap();
    let seqs: Vec<i64> = outs.iter().map(|o| o.seq).collect();
    assert_eq!(seqs, (base + 1..=base + 5).collect::<Vec<_>>());
    assert_eq!(reload(s, &c).await.seq, base + 5);
    // Each member once, at its latest change, in order.
    let ch = s.changes_since(c.id, Some(base), None).await.unwrap();
    let got: Vec<(&str, i64)> = ch
        .changes
        .iter()
        .map(|x| (x.name.as_str(), x.seq))
        .collect();
    assert_eq!(
        got,
        [
            ("b.vcf", base + 2),
            ("a.vcf", base + 3),
            ("old.vcf", base + 4),
            ("c.vcf", base + 5)
        ]
    );
    assert_eq!(ch.seq, base + 5);
    assert_eq!(ch.changes[1].meta.as_ref().unwrap().etag, items[2].0.etag);
    // A token taken in the middle of the batch's numbers resumes exactly.
    assert_eq!(
        changes_after(s, &c, base + 3).await,
        [("old.vcf".to_owned(), true), ("c.vcf".to_owned(), true)]
    );
    // Paging one by one through the batch loses nothing.
    let mut token = base;
    let mut seen = Vec::new();
    loop {
        let page = s.changes_since(c.id, Some(token), Some(1)).await.unwrap();
        seen.extend(page.changes.iter().map(|x| x.name.clone()));
        token = page.seq;
        if !page.truncated {
            break;
        }
    }
    assert_eq!(seen, ["b.vcf", "a.vcf", "old.vcf", "c.vcf"]);
    let initial = s.changes_since(c.id, None, None).await.unwrap();
    assert_eq!(initial.changes.len(), 4);
}

async fn batch_of_two_thousand(s: &SeaStorage) {
    const N: usize = 2_000;
    let a = account(s).await;
    let c = book(s, &a, "default").await;
    let make = |text: &str| -> Vec<(NewObject, Condition)> {
        (0..N)
            .map(|i| {
                let o = card(&format!("{i:05}.vcf"), &format!("uid-{i}"), text);
                (o, Condition::None)
            })
            .collect()
    };
    let first = make("one");
    let q = s.queries();
    let outs = s.put_objects(c.id, &first).await.unwrap();
    let created_cost = s.queries() - q;
    assert_eq!(outs.len(), N);
    assert!(outs.iter().all(|o| o.created));
    assert_eq!(outs.last().unwrap().seq, N as i64);
    assert!(
        created_cost < (N as u64) * 3 / 20,
        "{created_cost} statements"
    );
    assert_eq!(s.list_objects(c.id).await.unwrap().len(), N);
    let ch = s.changes_since(c.id, Some(0), None).await.unwrap();
    assert_eq!(ch.changes.len(), N);
    assert_eq!(ch.seq, N as i64);

    // The same batch again: all unchanged, nothing written.
    let q = s.queries();
    let outs = s.put_objects(c.id, &first).await.unwrap();
    let unchanged_cost = s.queries() - q;
    assert!(outs.iter().all(|o| o.unchanged));
    assert!(unchanged_cost < (N as u64) * 3 / 20, "{unchanged_cost}");
    assert_eq!(reload(s, &c).await.seq, N as i64);

    // Replacing all of them: each keeps its previous body as a version.
    let second = make("two");
    let q = s.queries();
    let outs = s.put_objects(c.id, &second).await.unwrap();
    let replaced_cost = s.queries() - q;
    eprintln!(
        "statements for {N}: created {created_cost}, unchanged {unchanged_cost}, replaced {replaced_cost}"
    );
    assert!(outs.iter().all(|o| !o.created && !o.unchanged));
    assert!(replaced_cost < (N as u64) * 3 / 20, "{replaced_cost}");
    assert_eq!(reload(s, &c).await.seq, 2 * N as i64);
    for i in [0, N / 2, N - 1] {
        let (old, _) = &first[i];
        assert_eq!(
            s.object_version(c.id, &old.name, &old.etag).await.unwrap(),
            Some(old.body.clone())
        );
    }
}

// ----- trees (files collections) -----

async fn files(s: &SeaStorage, acc: &Account) -> Collection {
    s.create_collection(
        acc.id,
        &NewCollection {
            kind: CollectionKind::Files,
            slug: "files".into(),
            sort_order: 0,
            props: vec![],
        },
    )
    .await
    .expect("files collection")
}

fn file(name: &str, text: &str) -> NewObject {
    NewObject {
        name: name.to_owned(),
        uid: String::new(),
        etag: etag(text.as_bytes()),
        content_type: "application/octet-stream".into(),
        body: text.as_bytes().to_vec(),
    }
}

fn dir(name: &str) -> NewObject {
    NewObject {
        name: name.to_owned(),
        uid: String::new(),
        etag: etag(b""),
        content_type: "httpd/unix-directory".into(),
        body: Vec::new(),
    }
}

async fn mk(s: &SeaStorage, c: &Collection, obj: NewObject) {
    s.put_path(c.id, &obj, &Condition::None)
        .await
        .unwrap_or_else(|e| panic!("put_path {}: {e}", obj.name));
}

async fn tree(s: &SeaStorage, c: &Collection, prefix: &str) -> Vec<String> {
    names(&s.list_tree(c.id, prefix).await.expect("list_tree"))
}

async fn body(s: &SeaStorage, c: &Collection, name: &str) -> Option<Vec<u8>> {
    s.get_objects(c.id, &[name.to_owned()])
        .await
        .expect("get")
        .pop()
        .map(|o| o.body)
}

async fn tree_put_path_needs_a_parent_and_refuses_twins(s: &SeaStorage) {
    let a = account(s).await;
    let c = files(s, &a).await;
    let before = reload(s, &c).await.seq;
    assert!(matches!(
        s.put_path(c.id, &file("a/f", "x"), &Condition::None).await,
        Err(StorageError::ParentMissing)
    ));
    assert!(matches!(
        s.put_path(c.id, &dir("a/b/"), &Condition::None).await,
        Err(StorageError::ParentMissing)
    ));
    assert_eq!(
        reload(s, &c).await.seq,
        before,
        "a refused put advances nothing"
    );
    mk(s, &c, dir("a/")).await;
    mk(s, &c, dir("a/b/")).await;
    mk(s, &c, file("a/b/f", "x")).await;
    // A file and a collection never share a path.
    assert!(matches!(
        s.put_path(c.id, &file("a", "x"), &Condition::None).await,
        Err(StorageError::AlreadyExists)
    ));
    assert!(matches!(
        s.put_path(c.id, &dir("a/b/f/"), &Condition::None).await,
        Err(StorageError::AlreadyExists)
    ));
    // Conditions still apply: MKCOL is `If-None-Match: *`.
    assert!(matches!(
        s.put_path(c.id, &dir("a/"), &Condition::IfNoneMatchAny)
            .await,
        Err(StorageError::PreconditionFailed)
    ));
    assert_eq!(tree(s, &c, "").await, ["a/", "a/b/", "a/b/f"]);
    assert_eq!(changes_after(s, &c, before).await.len(), 3);
}

async fn tree_delete_removes_descendants_with_one_change_row_each(s: &SeaStorage) {
    let a = account(s).await;
    let c = files(s, &a).await;
    mk(s, &c, dir("d/")).await;
    mk(s, &c, dir("d/e/")).await;
    mk(s, &c, file("d/e/f", "x")).await;
    mk(s, &c, file("d2", "sibling")).await;
    s.patch_props(member(&c, "d/e/f"), &[PropOp::Set(prop("urn:x", "p", "v"))])
        .await
        .unwrap();
    let before = reload(s, &c).await.seq;
    assert_eq!(s.delete_tree(c.id, "d/").await.unwrap(), 3);
    assert_eq!(tree(s, &c, "").await, ["d2"]);
    assert_eq!(reload(s, &c).await.seq, before + 3);
    let mut ch = changes_after(s, &c, before).await;
    ch.sort();
    assert_eq!(
        ch,
        [
            ("d/".to_string(), false),
            ("d/e/".to_string(), false),
            ("d/e/f".to_string(), false)
        ]
    );
    assert!(s.member_props(c.id).await.unwrap().is_empty());
    assert!(matches!(
        s.delete_tree(c.id, "d/").await,
        Err(StorageError::NotFound)
    ));
    // The deleted file's bytes are kept as a version.
    assert_eq!(
        s.object_version(c.id, "d/e/f", &etag(b"x")).await.unwrap(),
        Some(b"x".to_vec())
    );
}

async fn tree_copy_deep_and_shallow_carry_props(s: &SeaStorage) {
    let a = account(s).await;
    let c = files(s, &a).await;
    mk(s, &c, dir("src/")).await;
    mk(s, &c, file("src/f", "one")).await;
    s.patch_props(member(&c, "src/f"), &[PropOp::Set(prop("urn:x", "p", "v"))])
        .await
        .unwrap();
    let before = reload(s, &c).await.seq;
    let out = s
        .copy_tree(c.id, "src/", "deep/", false, true)
        .await
        .unwrap();
    assert!(!out.replaced);
    assert_eq!(body(s, &c, "deep/f").await, Some(b"one".to_vec()));
    assert_eq!(
        s.get_props(member(&c, "deep/f")).await.unwrap(),
        [prop("urn:x", "p", "v")]
    );
    assert_eq!(reload(s, &c).await.seq, before + 2);
    s.copy_tree(c.id, "src/", "flat/", false, false)
        .await
        .unwrap();
    assert_eq!(tree(s, &c, "flat/").await, ["flat/"]);
    // The source is untouched.
    assert_eq!(tree(s, &c, "src/").await, ["src/", "src/f"]);
}

async fn tree_move_renames_members_props_and_versions(s: &SeaStorage) {
    let a = account(s).await;
    let c = files(s, &a).await;
    mk(s, &c, dir("m/")).await;
    mk(s, &c, file("m/f", "v1")).await;
    mk(s, &c, file("m/f", "v2")).await;
    s.patch_props(member(&c, "m/f"), &[PropOp::Set(prop("urn:x", "p", "v"))])
        .await
        .unwrap();
    let before = reload(s, &c).await.seq;
    let out = s.move_tree(c.id, "m/", "n/", true).await.unwrap();
    assert!(!out.replaced);
    assert_eq!(tree(s, &c, "").await, ["n/", "n/f"]);
    assert_eq!(
        s.get_props(member(&c, "n/f")).await.unwrap(),
        [prop("urn:x", "p", "v")]
    );
    assert_eq!(
        s.object_version(c.id, "n/f", &etag(b"v1")).await.unwrap(),
        Some(b"v1".to_vec())
    );
    // Two change rows per moved member: the old name gone, the new one there.
    assert_eq!(reload(s, &c).await.seq, before + 4);
    let mut ch = changes_after(s, &c, before).await;
    ch.sort();
    assert_eq!(
        ch,
        [
            ("m/".to_string(), false),
            ("m/f".to_string(), false),
            ("n/".to_string(), true),
            ("n/f".to_string(), true)
        ]
    );
}

async fn tree_overwrite_rules(s: &SeaStorage) {
    let a = account(s).await;
    let c = files(s, &a).await;
    mk(s, &c, file("f", "new")).await;
    mk(s, &c, dir("g/")).await;
    mk(s, &c, file("g/old", "old")).await;
    // `g` exists as a collection: the twin of the file name `g` counts as the destination.
    assert!(matches!(
        s.copy_tree(c.id, "f", "g", false, true).await,
        Err(StorageError::PreconditionFailed)
    ));
    let out = s.copy_tree(c.id, "f", "g", true, true).await.unwrap();
    assert!(out.replaced);
    assert_eq!(tree(s, &c, "").await, ["f", "g"]);
    assert_eq!(body(s, &c, "g").await, Some(b"new".to_vec()));
    assert!(matches!(
        s.move_tree(c.id, "f", "g", false).await,
        Err(StorageError::PreconditionFailed)
    ));
    assert!(s.move_tree(c.id, "f", "g", true).await.unwrap().replaced);
    assert_eq!(tree(s, &c, "").await, ["g"]);
}

async fn tree_prefixes_are_exact(s: &SeaStorage) {
    let a = account(s).await;
    let c = files(s, &a).await;
    for d in ["a_/", "ab/", "A%/", "Ab/", "é/"] {
        mk(s, &c, dir(d)).await;
        mk(s, &c, file(&format!("{d}x"), d)).await;
    }
    assert_eq!(tree(s, &c, "a_/").await, ["a_/", "a_/x"]);
    assert_eq!(tree(s, &c, "A%/").await, ["A%/", "A%/x"]);
    assert_eq!(tree(s, &c, "é/").await, ["é/", "é/x"]);
    assert_eq!(s.delete_tree(c.id, "a_/").await.unwrap(), 2);
    assert_eq!(tree(s, &c, "ab/").await, ["ab/", "ab/x"]);
    assert_eq!(tree(s, &c, "Ab/").await, ["Ab/", "Ab/x"]);
}

async fn tree_failed_operations_change_nothing(s: &SeaStorage) {
    let a = account(s).await;
    let c = files(s, &a).await;
    mk(s, &c, dir("p/")).await;
    mk(s, &c, file("p/f", "x")).await;
    let before = reload(s, &c).await.seq;
    assert!(matches!(
        s.copy_tree(c.id, "p/", "missing/p/", true, true).await,
        Err(StorageError::ParentMissing)
    ));
    assert!(matches!(
        s.move_tree(c.id, "p/", "p/inside/", true).await,
        Err(StorageError::PreconditionFailed)
    ));
    assert!(matches!(
        s.copy_tree(c.id, "nothing", "x", true, true).await,
        Err(StorageError::NotFound)
    ));
    assert_eq!(reload(s, &c).await.seq, before);
    assert_eq!(tree(s, &c, "").await, ["p/", "p/f"]);
    assert!(changes_after(s, &c, before).await.is_empty());
}

// ----- SQLite only: the write-ahead log -----

fn wal_len(dir: &std::path::Path) -> u64 {
    std::fs::metadata(dir.join("dialbook.sqlite3-wal")).map_or(0, |m| m.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_checkpoint_when_idle_empties_the_wal_and_keeps_the_data() {
    let b = Backend::sqlite().await;
    let s = &b.store;
    let dir = b._dir.as_ref().expect("sqlite dir").path().to_owned();
    let a = account(s).await;
    let c = book(s, &a, "contacts").await;
    for i in 0..50 {
        put(s, &c, &card(&format!("c{i}.vcf"), &format!("u{i}"), "Ann")).await;
    }
    assert!(wal_len(&dir) > 0, "writes go to the write-ahead log first");
    // Not idle for long enough yet: nothing happens.
    let hour = std::time::Duration::from_secs(3600);
    assert!(!s.checkpoint_if_idle(hour).await.expect("checkpoint"));
    assert!(wal_len(&dir) > 0);
    assert!(
        s.checkpoint_if_idle(std::time::Duration::ZERO)
            .await
            .expect("checkpoint")
    );
    assert_eq!(wal_len(&dir), 0);
    // Nothing written since: no second checkpoint.
    assert!(
        !s.checkpoint_if_idle(std::time::Duration::ZERO)
            .await
            .expect("checkpoint")
    );
    assert_eq!(s.list_objects(c.id).await.expect("list").len(), 50);
    assert_eq!(reload(s, &c).await.seq, 50);
    b.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_has_no_checkpoint_to_make() {
    let Some(b) = Backend::postgres().await else {
        eprintln!("DATABASE_URL not set; PostgreSQL variant not run");
        return;
    };
    let a = account(&b.store).await;
    let c = book(&b.store, &a, "contacts").await;
    put(&b.store, &c, &card("c.vcf", "u", "Ann")).await;
    assert!(
        !b.store
            .checkpoint_if_idle(std::time::Duration::ZERO)
            .await
            .expect("checkpoint")
    );
    b.cleanup().await;
}
