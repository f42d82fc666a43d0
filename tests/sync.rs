//! RFC 6578 sync-collection, CTag and ETags as the change exchange.
mod common;

use common::*;
use dialbook::storage::prelude::*;
use dialbook::storage::{Condition, NewObject};

/// Seeds `n` cards straight through storage (the same write path PUT uses, minus HTTP),
/// so big books are quick to build.
async fn seed(srv: &TestServer, phone: &str, n: usize) -> i64 {
    let acct = srv.storage.account_by_phone(phone).await.unwrap().unwrap();
    srv.storage
        .ensure_collections(acct.id, &dialbook::app::default_collections())
        .await
        .unwrap();
    let coll = srv
        .storage
        .get_collection(
            acct.id,
            dialbook::storage::CollectionKind::Addressbook,
            "contacts",
        )
        .await
        .unwrap()
        .unwrap();
    let storage = srv.storage.clone();
    let workers = 4;
    let mut tasks = Vec::new();
    for w in 0..workers {
        let storage = storage.clone();
        tasks.push(tokio::spawn(async move {
            for i in (w..n).step_by(workers) {
                let body = card(&format!("uid-{i}"), &format!("Person {i}"));
                let obj = NewObject {
                    name: format!("c{i}.vcf"),
                    uid: format!("uid-{i}"),
                    etag: dialbook::storage::etag_of(&body),
                    content_type: "text/vcard; charset=utf-8".into(),
                    body,
                };
                storage
                    .put_object(coll.id, &obj, &Condition::None)
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    coll.id
}

/// Walks an initial sync to its end (the server caps each answer) and returns the token.
async fn full_sync(c: &Client) -> String {
    let mut token: Option<String> = None;
    for _ in 0..100 {
        let ms = c.sync(&c.book(), token.as_deref(), None).await.ms();
        token = ms.sync_token.clone();
        if !ms.responses.iter().any(|r| r.status == Some(507)) {
            return token.unwrap();
        }
    }
    panic!("initial sync never completed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initial_sync_lists_every_card_and_returns_a_token() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    for i in 0..3 {
        assert_eq!(
            c.put_vcard(
                &c.card_path(&format!("{i}.vcf")),
                &card(&format!("u{i}"), "A"),
                &[]
            )
            .await
            .status,
            201
        );
    }
    let ms = c.sync(&c.book(), None, None).await.ms();
    assert_eq!(ms.responses.len(), 3);
    assert!(ms.responses.iter().all(|r| r.text("getetag").is_some()));
    assert!(ms.sync_token.is_some());
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_sync_token_element_is_an_initial_sync() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    c.put_vcard(&c.card_path("a.vcf"), &card("a", "A"), &[])
        .await;
    // DAVx5 sends <sync-token/> (cyrusimap/cyrus-imapd#4985).
    let r = c.sync(&c.book(), None, None).await;
    assert_eq!(r.ms().responses.len(), 1);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_sync_after_ten_changes_in_ten_thousand_returns_exactly_those() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    seed(&srv, ALICE, 10_000).await;
    let token = full_sync(&c).await;
    // 7 modifications, 3 deletions.
    for i in [5, 50, 500, 5000, 9999, 1234, 4321] {
        let r = c
            .put_vcard(
                &c.card_path(&format!("c{i}.vcf")),
                &card(&format!("uid-{i}"), "Changed"),
                &[],
            )
            .await;
        assert_eq!(r.status, 204);
    }
    for i in [7, 77, 777] {
        assert_eq!(
            c.request(
                "DELETE",
                &c.card_path(&format!("c{i}.vcf")),
                &[],
                Vec::new()
            )
            .await
            .status,
            204
        );
    }
    let ms = c.sync(&c.book(), Some(&token), None).await.ms();
    assert_eq!(ms.responses.len(), 10, "responses for 10 changes");
    for i in [7, 77, 777] {
        let r = ms.get(&format!("/c{i}.vcf")).expect("deletion reported");
        assert_eq!(r.status, Some(404));
    }
    for i in [5, 50, 500, 5000, 9999, 1234, 4321] {
        assert!(
            ms.get(&format!("/c{i}.vcf"))
                .and_then(|r| r.text("getetag"))
                .is_some()
        );
    }
    // And nothing more after the new token.
    let again = c.sync(&c.book(), ms.sync_token.as_deref(), None).await.ms();
    assert!(again.responses.is_empty());
    srv.stop().await;
}

/// Storage statements used by one incremental sync (10 changes) on a book of `n` cards.
async fn incremental_sync_queries(n: usize) -> u64 {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    seed(&srv, ALICE, n).await;
    let token = full_sync(&c).await;
    for i in 0..10 {
        c.put_vcard(
            &c.card_path(&format!("c{i}.vcf")),
            &card(&format!("uid-{i}"), "Changed"),
            &[],
        )
        .await;
    }
    // Warm the auth cache so the measured request does the same work in both runs.
    c.propfind(&c.book(), "0", "").await;
    let before = srv.storage.queries();
    let ms = c.sync(&c.book(), Some(&token), None).await.ms();
    let used = srv.storage.queries() - before;
    assert_eq!(ms.responses.len(), 10);
    srv.stop().await;
    used
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_sync_database_work_does_not_grow_with_book_size() {
    let small = incremental_sync_queries(1_000).await;
    let big = incremental_sync_queries(10_000).await;
    assert_eq!(
        small, big,
        "statements for 10 changes: {small} at 1,000 cards vs {big} at 10,000"
    );
    assert!(
        small <= 8,
        "an incremental sync should take a handful of statements, took {small}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbled_token_is_refused_with_valid_sync_token() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    for t in [
        "garbage",
        "urn:x-dialbook:sync:nope:1",
        "http://example.com/sync/1",
    ] {
        let r = c.sync(&c.book(), Some(t), None).await;
        assert_eq!(r.status, 403, "{t}");
        assert!(r.has_condition("valid-sync-token"), "{}", r.body);
    }
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_from_another_book_is_refused() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let mk = c
        .request(
            "MKCOL",
            "/dav/addressbooks/+442079460001/work/",
            &[],
            Vec::new(),
        )
        .await;
    assert_eq!(mk.status, 201);
    let other = c
        .sync("/dav/addressbooks/+442079460001/work/", None, None)
        .await
        .ms()
        .sync_token
        .unwrap();
    let r = c.sync(&c.book(), Some(&other), None).await;
    assert_eq!(r.status, 403);
    assert!(r.has_condition("valid-sync-token"));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_from_the_future_is_refused() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let t = c.sync(&c.book(), None, None).await.ms().sync_token.unwrap();
    let (prefix, _) = t.rsplit_once(':').unwrap();
    let r = c
        .sync(&c.book(), Some(&format!("{prefix}:999999")), None)
        .await;
    assert_eq!(r.status, 403);
    assert!(r.has_condition("valid-sync-token"));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pruned_token_is_refused_not_silently_resynced() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let coll = seed(&srv, ALICE, 5).await;
    let old = c.sync(&c.book(), None, None).await.ms().sync_token.unwrap();
    c.put_vcard(&c.card_path("c1.vcf"), &card("uid-1", "X"), &[])
        .await;
    let current = srv
        .storage
        .changes_since(coll, None, None)
        .await
        .unwrap()
        .seq;
    srv.storage.prune_changes(coll, current).await.unwrap();
    let r = c.sync(&c.book(), Some(&old), None).await;
    assert_eq!(r.status, 403);
    assert!(r.has_condition("valid-sync-token"));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limit_truncates_with_507_and_a_paged_walk_loses_nothing() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    seed(&srv, ALICE, 25).await;
    let base = c.sync(&c.book(), None, None).await.ms().sync_token.unwrap();
    // 12 changes after the base token: 10 edits, 2 deletions.
    for i in 0..10 {
        c.put_vcard(
            &c.card_path(&format!("c{i}.vcf")),
            &card(&format!("uid-{i}"), "Edited"),
            &[],
        )
        .await;
    }
    for i in [20, 21] {
        c.request(
            "DELETE",
            &c.card_path(&format!("c{i}.vcf")),
            &[],
            Vec::new(),
        )
        .await;
    }
    let mut token = base;
    let mut seen = std::collections::BTreeSet::new();
    let mut pages = 0;
    loop {
        let ms = c.sync(&c.book(), Some(&token), Some(5)).await.ms();
        pages += 1;
        let truncated = ms
            .responses
            .iter()
            .any(|r| r.status == Some(507) && r.href.ends_with("/contacts/"));
        for r in ms
            .responses
            .iter()
            .filter(|r| !r.href.ends_with("/contacts/"))
        {
            assert!(seen.insert(r.href.clone()), "{} reported twice", r.href);
        }
        token = ms.sync_token.unwrap();
        if !truncated {
            break;
        }
        assert!(pages < 10, "paging does not end");
    }
    assert_eq!(seen.len(), 12);
    assert_eq!(pages, 3);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_cap_truncates_an_initial_sync() {
    let srv = TestServer::start_with(|c| c.limits.sync_page = 10).await;
    let c = srv.account(ALICE, PW).await;
    seed(&srv, ALICE, 25).await;
    let mut token: Option<String> = None;
    let mut total = 0;
    for _ in 0..5 {
        let ms = c.sync(&c.book(), token.as_deref(), None).await.ms();
        let truncated = ms.responses.iter().any(|r| r.status == Some(507));
        total += ms
            .responses
            .iter()
            .filter(|r| r.status != Some(507))
            .count();
        token = ms.sync_token;
        if !truncated {
            break;
        }
    }
    assert_eq!(total, 25);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_puts_with_the_same_if_match_one_wins_one_gets_412() {
    // Written for the strict RFC behaviour: the `reject` conflict policy.
    let srv = TestServer::start_with(|c| {
        c.merge.conflict_policy = dialbook::config::ConflictPolicy::Reject
    })
    .await;
    let c = srv.account(ALICE, PW).await;
    let path = c.card_path("race.vcf");
    for round in 0..10 {
        let r = c
            .put_vcard(&path, &card("race", &format!("Base {round}")), &[])
            .await;
        let etag = match r.etag() {
            Some(e) => e,
            None => c.get(&path).await.etag().unwrap(),
        };
        let (edit_a, edit_b) = (card("race", "Edit A"), card("race", "Edit B"));
        let cond = [("If-Match", etag.as_str())];
        let (a, b) = tokio::join!(
            c.put_vcard(&path, &edit_a, &cond),
            c.put_vcard(&path, &edit_b, &cond)
        );
        let mut statuses = [a.status, b.status];
        statuses.sort();
        assert_eq!(statuses, [204, 412], "round {round}");
    }
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctag_and_sync_token_change_on_write_and_not_on_read() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let body = r#"<D:propfind xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/"><D:prop><CS:getctag/><D:sync-token/></D:prop></D:propfind>"#;
    let tags = |r: Resp| {
        let ms = r.ms();
        let x = &ms.responses[0];
        (x.text("getctag").unwrap(), x.text("sync-token").unwrap())
    };
    let before = tags(c.propfind(&c.book(), "0", body).await);
    let home_before = tags(
        c.propfind("/dav/addressbooks/+442079460001/", "0", body)
            .await,
    );
    assert_eq!(before, tags(c.propfind(&c.book(), "0", body).await));
    c.put_vcard(&c.card_path("x.vcf"), &card("x", "X"), &[])
        .await;
    let after = tags(c.propfind(&c.book(), "0", body).await);
    let home_after = tags(
        c.propfind("/dav/addressbooks/+442079460001/", "0", body)
            .await,
    );
    assert_ne!(before.0, after.0);
    assert_ne!(before.1, after.1);
    assert_ne!(home_before.0, home_after.0);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_with_an_empty_prop_answers_each_changed_member_with_an_empty_200_propstat() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    for n in ["a", "b"] {
        c.put_vcard(&c.card_path(&format!("{n}.vcf")), &card(n, "N"), &[])
            .await;
    }
    let body = |token: &str| {
        format!(
            r#"<D:sync-collection xmlns:D="DAV:"><D:sync-token>{token}</D:sync-token><D:sync-level>1</D:sync-level><D:prop/></D:sync-collection>"#
        )
    };
    let ms = c.report(&c.book(), "0", &body("")).await.ms();
    assert_eq!(ms.responses.len(), 2);
    for r in &ms.responses {
        assert_eq!(r.status, None, "{}: not a bare href", r.href);
        assert_eq!(r.propstats.len(), 1, "{}", r.href);
        assert_eq!(r.propstats[0].0, 200, "{}", r.href);
        assert!(r.propstats[0].1.is_empty(), "{}", r.href);
    }
    // Incrementally: a changed member the same way, a deleted one as a 404.
    let token = ms.sync_token.unwrap();
    c.put_vcard(&c.card_path("a.vcf"), &card("a", "Changed"), &[])
        .await;
    c.request("DELETE", &c.card_path("b.vcf"), &[], Vec::new())
        .await;
    let ms = c.report(&c.book(), "0", &body(&token)).await.ms();
    let a = ms.get("/a.vcf").expect("a changed");
    assert_eq!((a.status, a.propstats.len()), (None, 1));
    assert_eq!(a.propstats[0].0, 200);
    assert!(a.propstats[0].1.is_empty());
    let b = ms.get("/b.vcf").expect("b deleted");
    assert_eq!((b.status, b.propstats.len()), (Some(404), 0));
    srv.stop().await;
}
