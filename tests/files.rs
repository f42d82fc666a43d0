//! Plain WebDAV collections under `/dav/files/{number}/` (RFC 4918 §9.3, §9.6–§9.9), one
//! behaviour per test, over real HTTP.
mod common;

use common::{ALICE, BOB, Client, PW, TestServer};

fn home(c: &Client) -> String {
    format!("/dav/files/{}/", c.user)
}

async fn mkcol(c: &Client, rel: &str) -> u16 {
    c.request("MKCOL", &format!("{}{rel}", home(c)), &[], Vec::new())
        .await
        .status
}

async fn put(c: &Client, rel: &str, body: &[u8]) -> u16 {
    c.request(
        "PUT",
        &format!("{}{rel}", home(c)),
        &[("Content-Type", "application/octet-stream")],
        body.to_vec(),
    )
    .await
    .status
}

async fn status(c: &Client, method: &str, rel: &str) -> u16 {
    c.request(method, &format!("{}{rel}", home(c)), &[], Vec::new())
        .await
        .status
}

/// COPY or MOVE `from` to `to` (both relative to the home) with extra headers.
async fn transfer(c: &Client, method: &str, from: &str, to: &str, extra: &[(&str, &str)]) -> u16 {
    let dest = c.url(&format!("{}{to}", home(c)));
    let mut h = vec![("Destination", dest.as_str())];
    h.extend_from_slice(extra);
    c.request(method, &format!("{}{from}", home(c)), &h, Vec::new())
        .await
        .status
}

async fn body_of(c: &Client, rel: &str) -> Vec<u8> {
    let r = c
        .http
        .get(c.url(&format!("{}{rel}", home(c))))
        .basic_auth(&c.user, Some(&c.password))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "GET {rel}");
    r.bytes().await.unwrap().to_vec()
}

#[tokio::test]
async fn home_exists_on_first_login_and_is_listed_from_the_dav_root() {
    let s = TestServer::start().await;
    let a = s.account(ALICE, PW).await;
    let r = a.propfind("/dav/", "1", "").await;
    let ms = r.ms();
    assert!(
        ms.hrefs().iter().any(|h| h == &home(&a)),
        "{:?}",
        ms.hrefs()
    );
    let r = a.propfind(&home(&a), "0", "").await;
    assert!(r.body.contains("collection"), "{}", r.body);
    s.stop().await;
}

#[tokio::test]
async fn nested_mkcol_creates_each_level() {
    let s = TestServer::start().await;
    let a = s.account(ALICE, PW).await;
    assert_eq!(mkcol(&a, "a/").await, 201);
    assert_eq!(mkcol(&a, "a/b/").await, 201);
    assert_eq!(mkcol(&a, "a/b/c").await, 201);
    let ms = a.propfind(&format!("{}a/b/", home(&a)), "1", "").await.ms();
    let hrefs = ms.hrefs();
    assert!(hrefs.iter().any(|h| h.ends_with("/a/b/c/")), "{hrefs:?}");
    s.stop().await;
}

#[tokio::test]
async fn put_get_round_trips_binary_bytes_and_content_type() {
    let s = TestServer::start().await;
    let a = s.account(ALICE, PW).await;
    let bytes: Vec<u8> = (0..=255u8).chain([0, 0xff, 0xfe, b'\r', b'\n']).collect();
    let r = a
        .request(
            "PUT",
            &format!("{}blob.bin", home(&a)),
            &[("Content-Type", "image/x-test")],
            bytes.clone(),
        )
        .await;
    assert_eq!(r.status, 201);
    let etag = r.etag().expect("etag");
    let g = a.get(&format!("{}blob.bin", home(&a))).await;
    assert_eq!(g.header("content-type"), Some("image/x-test"));
    assert_eq!(g.etag().as_deref(), Some(etag.as_str()));
    assert_eq!(body_of(&a, "blob.bin").await, bytes);
    assert_eq!(put(&a, "blob.bin", b"new").await, 204);
    s.stop().await;
}

#[tokio::test]
async fn put_and_mkcol_without_parent_are_409() {
    let s = TestServer::start().await;
    let a = s.account(ALICE, PW).await;
    assert_eq!(put(&a, "nowhere/f.txt", b"x").await, 409);
    assert_eq!(mkcol(&a, "nowhere/sub/").await, 409);
    s.stop().await;
}

#[tokio::test]
async fn mkcol_on_an_existing_resource_is_405() {
    let s = TestServer::start().await;
    let a = s.account(ALICE, PW).await;
    assert_eq!(mkcol(&a, "d/").await, 201);
    assert_eq!(mkcol(&a, "d/").await, 405);
    assert_eq!(put(&a, "f", b"x").await, 201);
    let r = a
        .request("MKCOL", &format!("{}f/", home(&a)), &[], Vec::new())
        .await;
    assert_eq!(r.status, 405);
    assert!(r.header("allow").is_some_and(|v| v.contains("PUT")));
    s.stop().await;
}

#[tokio::test]
async fn mkcol_with_a_body_is_415() {
    let s = TestServer::start().await;
    let a = s.account(ALICE, PW).await;
    let r = a
        .request("MKCOL", &format!("{}x/", home(&a)), &[], b"junk".to_vec())
        .await;
    assert_eq!(r.status, 415);
    s.stop().await;
}

#[tokio::test]
async fn copy_of_a_file_creates_then_replaces() {
    let s = TestServer::start().await;
    let a = s.account(ALICE, PW).await;
    put(&a, "src", b"one").await;
    assert_eq!(transfer(&a, "COPY", "src", "dst", &[]).await, 201);
    assert_eq!(body_of(&a, "dst").await, b"one");
    put(&a, "src", b"two").await;
    assert_eq!(transfer(&a, "COPY", "src", "dst", &[]).await, 204);
    assert_eq!(body_of(&a, "dst").await, b"two");
    assert_eq!(body_of(&a, "src").await, b"two");
    s.stop().await;
}

#[tokio::test]
async fn overwrite_f_onto_an_existing_destination_is_412() {
    let s = TestServer::start().await;
    let a = s.account(ALICE, PW).await;
    put(&a, "src", b"one").await;
    put(&a, "dst", b"keep").await;
    let h = [("Overwrite", "F")];
    assert_eq!(transfer(&a, "COPY", "src", "dst", &h).await, 412);
    assert_eq!(transfer(&a, "MOVE", "src", "dst", &h).await, 412);
    assert_eq!(body_of(&a, "dst").await, b"keep");
    assert_eq!(status(&a, "GET", "src").await, 200);
    s.stop().await;
}

#[tokio::test]
async fn copy_of_a_collection_depth_infinity_copies_the_tree() {
    let s = TestServer::start().await;
    let a = s.account(ALICE, PW).await;
    mkcol(&a, "c/").await;
    mkcol(&a, "c/sub/").await;
    put(&a, "c/sub/f", b"deep").await;
    assert_eq!(transfer(&a, "COPY", "c/", "c2/", &[]).await, 201);
    assert_eq!(body_of(&a, "c2/sub/f").await, b"deep");
    assert_eq!(body_of(&a, "c/sub/f").await, b"deep");
    s.stop().await;
}

#[tokio::test]
async fn copy_of_a_collection_depth_0_copies_only_the_collection() {
    let s = TestServer::start().await;
    let a = s.account(ALICE, PW).await;
    mkcol(&a, "c/").await;
    put(&a, "c/f", b"x").await;
    assert_eq!(
        transfer(&a, "COPY", "c/", "shallow/", &[("Depth", "0")]).await,
        201
    );
    assert_eq!(status(&a, "PROPFIND", "shallow/").await, 207);
    assert_eq!(status(&a, "GET", "shallow/f").await, 404);
    s.stop().await;
}

#[tokio::test]
async fn copy_with_depth_1_is_400() {
    let s = TestServer::start().await;
    let a = s.account(ALICE, PW).await;
    mkcol(&a, "c/").await;
    assert_eq!(
        transfer(&a, "COPY", "c/", "d/", &[("Depth", "1")]).await,
        400
    );
    s.stop().await;
}

#[tokio::test]
async fn move_of_a_collection_replaces_the_destination_tree() {
    let s = TestServer::start().await;
    let a = s.account(ALICE, PW).await;
    mkcol(&a, "m/").await;
    put(&a, "m/f", b"moved").await;
    mkcol(&a, "old/").await;
    put(&a, "old/stale", b"gone").await;
    assert_eq!(transfer(&a, "MOVE", "m/", "old/", &[]).await, 204);
    assert_eq!(body_of(&a, "old/f").await, b"moved");
    assert_eq!(status(&a, "GET", "old/stale").await, 404);
    assert_eq!(status(&a, "PROPFIND", "m/").await, 404);
    s.stop().await;
}

#[tokio::test]
async fn copy_or_move_without_destination_parent_is_409() {
    let s = TestServer::start().await;
    let a = s.account(ALICE, PW).await;
    put(&a, "f", b"x").await;
    assert_eq!(transfer(&a, "COPY", "f", "no/f", &[]).await, 409);
    assert_eq!(transfer(&a, "MOVE", "f", "no/f", &[]).await, 409);
    s.stop().await;
}

#[tokio::test]
async fn copy_onto_itself_or_into_itself_is_403() {
    let s = TestServer::start().await;
    let a = s.account(ALICE, PW).await;
    mkcol(&a, "c/").await;
    assert_eq!(transfer(&a, "COPY", "c/", "c/", &[]).await, 403);
    assert_eq!(transfer(&a, "MOVE", "c/", "c/inner/", &[]).await, 403);
    s.stop().await;
}

#[tokio::test]
async fn delete_of_a_collection_removes_the_tree() {
    let s = TestServer::start().await;
    let a = s.account(ALICE, PW).await;
    mkcol(&a, "t/").await;
    mkcol(&a, "t/u/").await;
    put(&a, "t/u/f", b"x").await;
    put(&a, "t2", b"sibling").await;
    assert_eq!(status(&a, "DELETE", "t/").await, 204);
    assert_eq!(status(&a, "GET", "t/u/f").await, 404);
    assert_eq!(status(&a, "PROPFIND", "t/u/").await, 404);
    assert_eq!(body_of(&a, "t2").await, b"sibling");
    assert_eq!(status(&a, "DELETE", "t/").await, 404);
    s.stop().await;
}

#[tokio::test]
async fn dead_properties_on_files_survive_copy_and_move() {
    let s = TestServer::start().await;
    let a = s.account(ALICE, PW).await;
    put(&a, "p", b"x").await;
    let patch = r#"<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:x-test"><D:set><D:prop><Z:colour>blue</Z:colour></D:prop></D:set></D:propertyupdate>"#;
    let r = a
        .request("PROPPATCH", &format!("{}p", home(&a)), &[], patch)
        .await;
    assert_eq!(r.status, 207);
    transfer(&a, "COPY", "p", "q", &[]).await;
    transfer(&a, "MOVE", "q", "r", &[]).await;
    let ask = r#"<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:Z="urn:x-test"><D:prop><Z:colour/><D:getcontentlength/></D:prop></D:propfind>"#;
    for name in ["p", "r"] {
        let r = a.propfind(&format!("{}{name}", home(&a)), "0", ask).await;
        assert!(r.body.contains("blue"), "{name}: {}", r.body);
        assert!(r.body.contains(">1<"), "{name}: {}", r.body);
    }
    s.stop().await;
}

#[tokio::test]
async fn another_accounts_files_are_invisible_and_not_a_destination() {
    let s = TestServer::start().await;
    let a = s.account(ALICE, PW).await;
    let b = s.account(BOB, PW).await;
    put(&b, "secret", b"bob").await;
    let r = a.get(&format!("/dav/files/{}/secret", b.user)).await;
    assert_eq!(r.status, 404);
    put(&a, "mine", b"alice").await;
    let dest = a.url(&format!("/dav/files/{}/stolen", b.user));
    let r = a
        .request(
            "COPY",
            &format!("{}mine", home(&a)),
            &[("Destination", dest.as_str())],
            Vec::new(),
        )
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(status(&b, "GET", "stolen").await, 404);
    s.stop().await;
}

#[tokio::test]
async fn destination_on_another_host_is_502() {
    let s = TestServer::start().await;
    let a = s.account(ALICE, PW).await;
    put(&a, "f", b"x").await;
    let dest = format!("http://elsewhere.example/dav/files/{}/g", a.user);
    let r = a
        .request(
            "COPY",
            &format!("{}f", home(&a)),
            &[("Destination", dest.as_str())],
            Vec::new(),
        )
        .await;
    assert_eq!(r.status, 502);
    s.stop().await;
}

#[tokio::test]
async fn file_changes_advance_the_files_sync_token() {
    let s = TestServer::start().await;
    let a = s.account(ALICE, PW).await;
    let first = a.sync(&home(&a), None, None).await.ms();
    let token = first.sync_token.clone().expect("token");
    put(&a, "f", b"x").await;
    let r = a.sync(&home(&a), Some(&token), None).await.ms();
    assert!(
        r.hrefs().iter().any(|h| h.ends_with("/f")),
        "{:?}",
        r.hrefs()
    );
    s.stop().await;
}

#[tokio::test]
async fn unstorable_names_are_4xx() {
    let s = TestServer::start().await;
    let a = s.account(ALICE, PW).await;
    // Control characters are outside the URL space: 404, never a database error.
    assert_eq!(put(&a, "nul%00byte", b"x").await, 404);
    assert_eq!(mkcol(&a, "bell%07/").await, 404);
    let long = "x".repeat(2000);
    assert_eq!(put(&a, &long, b"x").await, 414);
    s.stop().await;
}
