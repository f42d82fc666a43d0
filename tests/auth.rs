//! Accounts are phone numbers: Basic auth, number forms, throttling, isolation.
mod common;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_credentials_get_401_with_a_basic_challenge() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let r = c.anonymous("PROPFIND", "/dav/").await;
    assert_eq!(r.status, 401);
    assert!(r.header("www-authenticate").unwrap().starts_with("Basic"));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_common_form_of_the_number_reaches_the_same_account() {
    let srv = TestServer::start().await;
    let c = srv.account("+442079460000", PW).await;
    for user in [
        "+44 20 7946 0000",
        "02079460000",
        "442079460000",
        "%2B442079460000",
        "0044-20-7946-0000",
    ] {
        let r = c.as_user(user, PW).propfind("/dav/", "0", "").await;
        assert_eq!(r.status, 207, "user name {user:?}");
    }
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_is_401() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    assert_eq!(
        c.as_user(ALICE, "nope")
            .propfind("/dav/", "0", "")
            .await
            .status,
        401
    );
    assert_eq!(
        c.as_user("+15005550006", PW)
            .propfind("/dav/", "0", "")
            .await
            .status,
        401
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failures_are_throttled_with_retry_after() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let bad = c.as_user(ALICE, "wrong");
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(bad.propfind("/dav/", "0", "").await);
    }
    let throttled = statuses
        .iter()
        .find(|r| r.status == 429)
        .expect("a 429 after repeated failures");
    assert!(
        throttled
            .header("retry-after")
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    // While throttled, even the right password is refused.
    assert_eq!(c.propfind("/dav/", "0", "").await.status, 429);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn url_may_name_the_number_in_any_form() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    for form in [
        "+442079460001",
        "%2B442079460001",
        "442079460001",
        "02079460001",
    ] {
        let r = c
            .propfind(&format!("/dav/addressbooks/{form}/contacts/"), "0", "")
            .await;
        assert_eq!(r.status, 207, "{form}");
    }
    srv.stop().await;
}

/// (method, path, headers, body) of one attempt on another account's data.
type Attempt<'a> = (&'a str, String, Vec<(&'a str, &'a str)>, Vec<u8>);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_accounts_data_is_refused_for_every_method() {
    let srv = TestServer::start().await;
    let alice = srv.account(ALICE, PW).await;
    let bob = srv.account(BOB, PW).await;
    let secret = card("bob-secret", "Bob's Secret Friend");
    assert_eq!(
        bob.put_vcard(&bob.card_path("s.vcf"), &secret, &[])
            .await
            .status,
        201
    );
    let bob_book = bob.book();
    let bob_card = bob.card_path("s.vcf");
    let checks: Vec<Attempt> = vec![
        ("GET", bob_card.clone(), vec![], vec![]),
        ("HEAD", bob_card.clone(), vec![], vec![]),
        ("PUT", bob_card.clone(), vec![("Content-Type", "text/vcard")], card("x", "X")),
        ("PUT", format!("{bob_book}new.vcf"), vec![("Content-Type", "text/vcard")], card("y", "Y")),
        ("DELETE", bob_card.clone(), vec![], vec![]),
        ("DELETE", bob_book.clone(), vec![], vec![]),
        ("PROPFIND", bob_book.clone(), vec![("Depth", "1")], vec![]),
        ("PROPFIND", bob_card.clone(), vec![("Depth", "0")], vec![]),
        ("PROPFIND", format!("/dav/principals/{BOB}/"), vec![("Depth", "0")], vec![]),
        ("PROPFIND", format!("/dav/addressbooks/{BOB}/"), vec![("Depth", "1")], vec![]),
        (
            "PROPPATCH",
            bob_book.clone(),
            vec![],
            br#"<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:displayname>x</D:displayname></D:prop></D:set></D:propertyupdate>"#.to_vec(),
        ),
        (
            "REPORT",
            bob_book.clone(),
            vec![],
            br#"<D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>"#.to_vec(),
        ),
        ("MKCOL", format!("/dav/addressbooks/{BOB}/evil/"), vec![], vec![]),
        ("COPY", bob_card.clone(), vec![("Destination", "/dav/addressbooks/+442079460001/contacts/stolen.vcf")], vec![]),
        ("MOVE", bob_card.clone(), vec![("Destination", "/dav/addressbooks/+442079460001/contacts/stolen.vcf")], vec![]),
        ("POST", format!("{bob_book}?add-member"), vec![("Content-Type", "text/vcard")], card("z", "Z")),
    ];
    for (method, path, headers, body) in checks {
        let r = alice.request(method, &path, &headers, body).await;
        assert!(
            r.status == 403 || r.status == 404,
            "{method} {path}: {}",
            r.status
        );
        assert!(
            !r.body.contains("Secret Friend"),
            "{method} {path} leaked content"
        );
    }
    // Alice cannot copy her card into Bob's book either.
    alice
        .put_vcard(&alice.card_path("a.vcf"), &card("a", "A"), &[])
        .await;
    let r = alice
        .request(
            "COPY",
            &alice.card_path("a.vcf"),
            &[("Destination", &format!("{bob_book}a.vcf"))],
            Vec::new(),
        )
        .await;
    assert_eq!(r.status, 403);
    // Bob's data is untouched.
    let g = bob.get(&bob_card).await;
    assert_eq!(g.status, 200);
    assert_eq!(g.body.as_bytes(), secret.as_slice());
    assert_eq!(
        bob.sync(&bob_book, None, None).await.ms().responses.len(),
        1
    );
    srv.stop().await;
}
