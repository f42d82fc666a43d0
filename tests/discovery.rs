//! RFC 6764 discovery and RFC 5397 principals, from a bare host name.
mod common;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_answers_without_credentials() {
    let srv = TestServer::start().await;
    let c = Client::new(&srv.base, "", "");
    assert_eq!(c.anonymous("GET", "/health").await.status, 200);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn well_known_carddav_redirects_to_the_dav_root() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    for m in ["GET", "PROPFIND"] {
        let r = c.request(m, "/.well-known/carddav", &[], Vec::new()).await;
        assert!(r.status == 301 || r.status == 308, "{m}: {}", r.status);
        assert_eq!(r.header("location"), Some("/dav/"));
    }
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thunderbird_finds_the_book_from_the_bare_host() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let q = r#"<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:current-user-principal/></D:prop></D:propfind>"#;
    let ms = c.propfind("/", "0", q).await.ms();
    let principal = ms.responses[0].text("current-user-principal").unwrap();
    assert_eq!(principal, "/dav/principals/+442079460001/");
    let q = r#"<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><C:addressbook-home-set/><D:displayname/></D:prop></D:propfind>"#;
    let ms = c.propfind(&principal, "0", q).await.ms();
    let home = ms.responses[0].text("addressbook-home-set").unwrap();
    assert_eq!(home, "/dav/addressbooks/+442079460001/");
    let q = r#"<D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/><D:displayname/></D:prop></D:propfind>"#;
    let ms = c.propfind(&home, "1", q).await.ms();
    let book = ms.get("/contacts/").expect("default book listed");
    assert!(
        book.prop("resourcetype")
            .unwrap()
            .children
            .contains(&"addressbook".to_string())
    );
    assert_eq!(book.text("displayname").as_deref(), Some("Contacts"));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn options_advertises_no_locking() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let r = c.request("OPTIONS", &c.book(), &[], Vec::new()).await;
    assert_eq!(r.status, 200);
    let dav = r.header("dav").unwrap();
    assert!(dav.contains("addressbook"));
    assert!(!dav.split(',').any(|c| c.trim() == "2"), "{dav}");
    let allow = r.header("allow").unwrap();
    assert!(allow.contains("REPORT") && !allow.contains("LOCK"));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_method_is_405_with_allow_from_the_method_table() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let r = c.request("LOCK", &c.book(), &[], Vec::new()).await;
    assert_eq!(r.status, 405);
    let opts = c.request("OPTIONS", &c.book(), &[], Vec::new()).await;
    assert_eq!(r.header("allow"), opts.header("allow"));
    let r = c
        .request(
            "PUT",
            &c.book(),
            &[("Content-Type", "text/vcard")],
            card("a", "A"),
        )
        .await;
    assert_eq!(r.status, 405);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn privileges_and_owner_are_reported() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let q = r#"<D:propfind xmlns:D="DAV:"><D:prop><D:current-user-privilege-set/><D:owner/></D:prop></D:propfind>"#;
    let ms = c.propfind(&c.book(), "0", q).await.ms();
    let r = &ms.responses[0];
    assert_eq!(
        r.text("owner").as_deref(),
        Some("/dav/principals/+442079460001/")
    );
    assert!(r.prop("current-user-privilege-set").is_some());
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_login_creates_the_default_address_book() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let r = c.propfind(&c.book(), "0", "").await;
    assert_eq!(r.status, 207);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn principal_property_search_on_the_principal_collection_finds_the_own_principal() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let q = r#"<?xml version="1.0"?><D:principal-property-search xmlns:D="DAV:"><D:property-search><D:prop><D:displayname/></D:prop><D:match>4420</D:match></D:property-search><D:prop><D:displayname/></D:prop></D:principal-property-search>"#;
    for path in ["/dav/principals/", "/", "/dav/"] {
        let ms = c.report(path, "0", q).await.ms();
        assert_eq!(ms.responses.len(), 1, "{path}");
        assert_eq!(ms.responses[0].href, "/dav/principals/+442079460001/");
        assert_eq!(
            ms.responses[0].text("displayname").as_deref(),
            Some("+442079460001")
        );
    }
    srv.stop().await;
}
