//! CardDAV behaviour over HTTP: storage fidelity, preconditions, reports, collections.
mod common;

use common::*;

const FIXTURES: &[&str] = &[
    "vcard/apple-ios-3.0.vcf",
    "vcard/apple-group.vcf",
    "vcard/davx5-3.0.vcf",
    "vcard/davx5-4.0.vcf",
    "vcard/google-3.0.vcf",
    "vcard/kind-group-4.0.vcf",
    "vcard/thunderbird-4.0.vcf",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_cards_come_back_byte_for_byte_with_the_put_etag() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    for (i, f) in FIXTURES.iter().enumerate() {
        let body = fixture(f);
        let path = c.card_path(&format!("f{i}.vcf"));
        let put = c.put_vcard(&path, &body, &[]).await;
        assert_eq!(put.status, 201, "{f}: {}", put.body);
        let etag = put
            .etag()
            .unwrap_or_else(|| panic!("{f}: stored as sent, so PUT returns the ETag"));
        let get = c.get(&path).await;
        assert_eq!(get.status, 200);
        assert_eq!(
            get.body.as_bytes(),
            body.as_slice(),
            "{f} changed in storage"
        );
        assert_eq!(get.etag().as_deref(), Some(etag.as_str()));
        assert!(
            get.header("content-type")
                .unwrap()
                .starts_with("text/vcard")
        );
    }
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn card_without_uid_gets_one_and_the_put_has_no_etag() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let path = c.card_path("n.vcf");
    let put = c.put_vcard(&path, &fixture("vcard/no-uid.vcf"), &[]).await;
    assert_eq!(put.status, 201);
    assert_eq!(
        put.etag(),
        None,
        "stored bytes differ from the request, so no ETag"
    );
    let get = c.get(&path).await;
    assert!(get.body.contains("\nUID:"), "{}", get.body);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_characters_are_removed_on_input() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let path = c.card_path("cc.vcf");
    let put = c
        .put_vcard(&path, &fixture("vcard/control-chars.vcf"), &[])
        .await;
    assert_eq!(put.status, 201, "{}", put.body);
    assert_eq!(put.etag(), None);
    let get = c.get(&path).await;
    assert!(
        !get.body
            .bytes()
            .any(|b| b < 0x20 && b != b'\r' && b != b'\n' && b != b'\t')
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latin1_card_is_converted_to_utf8() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let path = c.card_path("l1.vcf");
    let r = c
        .request(
            "PUT",
            &path,
            &[("Content-Type", "text/vcard; charset=iso-8859-1")],
            fixture("vcard/latin1.vcf"),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let get = c.get(&path).await;
    assert!(std::str::from_utf8(get.body.as_bytes()).is_ok());
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_utf8_without_charset_is_403_supported_address_data() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let r = c
        .put_vcard(&c.card_path("bad.vcf"), &fixture("vcard/latin1.vcf"), &[])
        .await;
    assert_eq!(r.status, 403);
    assert!(r.has_condition("supported-address-data"), "{}", r.body);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_vcards_are_refused_with_valid_address_data_and_nothing_is_stored() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let bad: &[&[u8]] = &[
        b"hello",
        b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:A\r\n",
        b"BEGIN:VCARD\r\nVERSION:2.1\r\nFN:A\r\nEND:VCARD\r\n",
        b"BEGIN:VCARD\r\nVERSION:4.0\r\nFN:A\r\nEND:VCARD\r\nBEGIN:VCARD\r\nVERSION:4.0\r\nFN:B\r\nEND:VCARD\r\n",
        b"",
    ];
    for body in bad {
        let r = c.put_vcard(&c.card_path("bad.vcf"), body, &[]).await;
        assert_eq!(r.status, 403, "{:?}", String::from_utf8_lossy(body));
        assert!(r.has_condition("valid-address-data"));
    }
    assert!(
        c.sync(&c.book(), None, None)
            .await
            .ms()
            .responses
            .is_empty()
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_media_type_is_403_supported_address_data() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let r = c
        .request(
            "PUT",
            &c.card_path("a.vcf"),
            &[("Content-Type", "application/json")],
            card("a", "A"),
        )
        .await;
    assert_eq!(r.status, 403);
    assert!(r.has_condition("supported-address-data"));
    assert_eq!(c.get(&c.card_path("a.vcf")).await.status, 404);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_card_is_refused_with_max_resource_size() {
    let srv = TestServer::start_with(|c| c.limits.max_resource_size = 1000).await;
    let c = srv.account(ALICE, PW).await;
    let big = format!(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:big\r\nFN:Big\r\nNOTE:{}\r\nEND:VCARD\r\n",
        "x".repeat(2000)
    );
    let r = c
        .put_vcard(&c.card_path("big.vcf"), big.as_bytes(), &[])
        .await;
    assert_eq!(r.status, 413);
    assert!(r.has_condition("max-resource-size"));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_uid_in_a_book_is_409_naming_the_existing_card() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    assert_eq!(
        c.put_vcard(&c.card_path("one.vcf"), &card("same", "One"), &[])
            .await
            .status,
        201
    );
    let r = c
        .put_vcard(&c.card_path("two.vcf"), &card("same", "Two"), &[])
        .await;
    assert_eq!(r.status, 409);
    assert!(r.has_condition("no-uid-conflict"));
    assert!(r.body.contains("/contacts/one.vcf"), "{}", r.body);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn if_none_match_star_refuses_to_overwrite() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let p = c.card_path("a.vcf");
    assert_eq!(
        c.put_vcard(&p, &card("a", "A"), &[("If-None-Match", "*")])
            .await
            .status,
        201
    );
    assert_eq!(
        c.put_vcard(&p, &card("a", "B"), &[("If-None-Match", "*")])
            .await
            .status,
        412
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_if_match_on_delete_is_412_and_keeps_the_card() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let p = c.card_path("a.vcf");
    c.put_vcard(&p, &card("a", "A"), &[]).await;
    let r = c
        .request("DELETE", &p, &[("If-Match", "\"stale\"")], Vec::new())
        .await;
    assert_eq!(r.status, 412);
    assert_eq!(c.get(&p).await.status, 200);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_version_converts_apple_card_to_4_0_and_keeps_the_photo() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let p = c.card_path("apple.vcf");
    c.put_vcard(&p, &fixture("vcard/apple-ios-3.0.vcf"), &[])
        .await;
    let r = c
        .request(
            "GET",
            &p,
            &[("Accept", "text/vcard; version=4.0")],
            Vec::new(),
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("VERSION:4.0"));
    assert!(r.body.contains("data:image/jpeg;base64,"), "{}", r.body);
    assert_eq!(
        r.etag(),
        None,
        "a converted representation is not the stored entity"
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multiget_returns_bodies_in_one_answer_and_404_for_unknown_hrefs() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    c.put_vcard(&c.card_path("a.vcf"), &card("a", "Alpha"), &[])
        .await;
    c.put_vcard(&c.card_path("b.vcf"), &card("b", "Beta"), &[])
        .await;
    let body = format!(
        r#"<C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><C:address-data/></D:prop><D:href>{}</D:href><D:href>{}</D:href><D:href>{}</D:href></C:addressbook-multiget>"#,
        c.card_path("a.vcf"),
        c.card_path("b.vcf"),
        c.card_path("missing.vcf")
    );
    let ms = c.report(&c.book(), "1", &body).await.ms();
    assert_eq!(ms.responses.len(), 3);
    assert!(
        ms.get("/a.vcf")
            .unwrap()
            .text("address-data")
            .unwrap()
            .contains("FN:Alpha")
    );
    assert_eq!(ms.get("/missing.vcf").unwrap().status, Some(404));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multiget_address_data_version_3_converts_a_4_0_card() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    c.put_vcard(
        &c.card_path("t.vcf"),
        &fixture("vcard/thunderbird-4.0.vcf"),
        &[],
    )
    .await;
    let body = format!(
        r#"<C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><C:address-data content-type="text/vcard" version="3.0"/></D:prop><D:href>{}</D:href></C:addressbook-multiget>"#,
        c.card_path("t.vcf")
    );
    let ms = c.report(&c.book(), "1", &body).await.ms();
    let data = ms.responses[0].text("address-data").unwrap();
    assert!(data.contains("VERSION:3.0"), "{data}");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn addressbook_query_filters_by_text_match_and_truncates_at_limit() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    for (i, n) in ["Zoë Smith", "ZOË Jones", "Adam Smith", "zoë Brown"]
        .iter()
        .enumerate()
    {
        c.put_vcard(
            &c.card_path(&format!("{i}.vcf")),
            &card(&format!("u{i}"), n),
            &[],
        )
        .await;
    }
    let q = |limit: &str| {
        format!(
            r#"<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/></D:prop><C:filter><C:prop-filter name="FN"><C:text-match collation="i;unicode-casemap" match-type="starts-with">zoë</C:text-match></C:prop-filter></C:filter>{limit}</C:addressbook-query>"#
        )
    };
    let ms = c.report(&c.book(), "1", &q("")).await.ms();
    assert_eq!(ms.responses.len(), 3, "{:?}", ms.hrefs());
    let ms = c
        .report(
            &c.book(),
            "1",
            &q("<C:limit><C:nresults>2</C:nresults></C:limit>"),
        )
        .await
        .ms();
    assert_eq!(
        ms.responses.iter().filter(|r| r.status.is_none()).count(),
        2
    );
    assert!(ms.responses.iter().any(|r| r.status == Some(507)));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_collation_is_refused_with_its_precondition() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let q = r#"<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/></D:prop><C:filter><C:prop-filter name="FN"><C:text-match collation="i;klingon">x</C:text-match></C:prop-filter></C:filter></C:addressbook-query>"#;
    let r = c.report(&c.book(), "1", q).await;
    assert_eq!(r.status, 403);
    assert!(r.has_condition("supported-collation"));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_xml_bodies_are_400_never_5xx() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let bodies = [
        "<D:propfind xmlns:D=\"DAV:\"><D:prop>",
        "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"aaaa\">]><D:propfind xmlns:D=\"DAV:\"><D:prop><D:getetag>&a;</D:getetag></D:prop></D:propfind>",
        "<x:propfind xmlns:x=\"urn:other\"/>",
        "not xml at all",
    ];
    for b in bodies {
        for (m, path) in [
            ("PROPFIND", c.book()),
            ("REPORT", c.book()),
            ("PROPPATCH", c.book()),
        ] {
            let r = c
                .request(
                    m,
                    &path,
                    &[("Content-Type", "application/xml"), ("Depth", "0")],
                    b,
                )
                .await;
            assert!((400..500).contains(&r.status), "{m} {b}: {}", r.status);
        }
    }
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extended_mkcol_creates_a_book_with_its_properties() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let path = "/dav/addressbooks/+442079460001/work/";
    let body = r#"<D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop><D:resourcetype><D:collection/><C:addressbook/></D:resourcetype><D:displayname>Work</D:displayname><C:addressbook-description>Colleagues</C:addressbook-description></D:prop></D:set></D:mkcol>"#;
    let r = c
        .request("MKCOL", path, &[("Content-Type", "application/xml")], body)
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let q = r#"<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:displayname/><C:addressbook-description/><D:resourcetype/></D:prop></D:propfind>"#;
    let ms = c.propfind(path, "0", q).await.ms();
    assert_eq!(ms.responses[0].text("displayname").as_deref(), Some("Work"));
    assert_eq!(
        ms.responses[0].text("addressbook-description").as_deref(),
        Some("Colleagues")
    );
    // MKCOL on an existing book is 405.
    assert_eq!(c.request("MKCOL", path, &[], Vec::new()).await.status, 405);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mkcol_of_a_non_addressbook_resourcetype_is_refused() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let body = r#"<D:mkcol xmlns:D="DAV:"><D:set><D:prop><D:resourcetype><D:collection/></D:resourcetype></D:prop></D:set></D:mkcol>"#;
    let r = c
        .request(
            "MKCOL",
            "/dav/addressbooks/+442079460001/plain/",
            &[("Content-Type", "application/xml")],
            body,
        )
        .await;
    assert_eq!(r.status, 403);
    assert!(r.has_condition("valid-resourcetype"));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proppatch_with_a_protected_property_changes_nothing_and_reports_424() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let body = r#"<D:propertyupdate xmlns:D="DAV:" xmlns:X="urn:example"><D:set><D:prop><D:displayname>New</D:displayname><X:color>red</X:color><D:getetag>"x"</D:getetag></D:prop></D:set></D:propertyupdate>"#;
    let resp = c
        .request(
            "PROPPATCH",
            &c.book(),
            &[("Content-Type", "application/xml")],
            body,
        )
        .await;
    let resp_body = resp.body.clone();
    let ms = resp.ms();
    let r = &ms.responses[0];
    assert_eq!(r.prop_status("getetag"), Some(403));
    assert!(
        resp_body.contains("cannot-modify-protected-property"),
        "{resp_body}"
    );
    assert_eq!(r.prop_status("displayname"), Some(424));
    assert_eq!(r.prop_status("color"), Some(424));
    let q = r#"<D:propfind xmlns:D="DAV:" xmlns:X="urn:example"><D:prop><D:displayname/><X:color/></D:prop></D:propfind>"#;
    let ms = c.propfind(&c.book(), "0", q).await.ms();
    assert_eq!(
        ms.responses[0].text("displayname").as_deref(),
        Some("Contacts")
    );
    assert_eq!(ms.responses[0].prop_status("color"), Some(404));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_properties_are_stored_returned_and_removed() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let set = r#"<D:propertyupdate xmlns:D="DAV:" xmlns:X="urn:example"><D:set><D:prop><X:color>red &amp; blue</X:color></D:prop></D:set></D:propertyupdate>"#;
    let ms = c
        .request(
            "PROPPATCH",
            &c.book(),
            &[("Content-Type", "application/xml")],
            set,
        )
        .await
        .ms();
    assert_eq!(ms.responses[0].prop_status("color"), Some(200));
    let q = r#"<D:propfind xmlns:D="DAV:" xmlns:X="urn:example"><D:prop><X:color/></D:prop></D:propfind>"#;
    assert_eq!(
        c.propfind(&c.book(), "0", q).await.ms().responses[0]
            .text("color")
            .as_deref(),
        Some("red & blue")
    );
    let names = c
        .propfind(
            &c.book(),
            "0",
            r#"<D:propfind xmlns:D="DAV:"><D:propname/></D:propfind>"#,
        )
        .await
        .ms();
    assert!(names.responses[0].prop("color").is_some());
    let rm = r#"<D:propertyupdate xmlns:D="DAV:" xmlns:X="urn:example"><D:remove><D:prop><X:color/></D:prop></D:remove></D:propertyupdate>"#;
    c.request(
        "PROPPATCH",
        &c.book(),
        &[("Content-Type", "application/xml")],
        rm,
    )
    .await;
    assert_eq!(
        c.propfind(&c.book(), "0", q).await.ms().responses[0].prop_status("color"),
        Some(404)
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_within_a_book_gives_the_copy_a_new_uid() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    c.put_vcard(&c.card_path("a.vcf"), &card("orig", "A"), &[])
        .await;
    let r = c
        .request(
            "COPY",
            &c.card_path("a.vcf"),
            &[("Destination", &c.url(&c.card_path("b.vcf")))],
            Vec::new(),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let b = c.get(&c.card_path("b.vcf")).await;
    assert!(!b.body.contains("UID:orig"));
    assert!(c.get(&c.card_path("a.vcf")).await.body.contains("UID:orig"));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn move_to_another_book_and_overwrite_false() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    c.request(
        "MKCOL",
        "/dav/addressbooks/+442079460001/work/",
        &[],
        Vec::new(),
    )
    .await;
    c.put_vcard(&c.card_path("a.vcf"), &card("a", "A"), &[])
        .await;
    c.put_vcard(
        "/dav/addressbooks/+442079460001/work/taken.vcf",
        &card("t", "T"),
        &[],
    )
    .await;
    let r = c
        .request(
            "MOVE",
            &c.card_path("a.vcf"),
            &[
                (
                    "Destination",
                    "/dav/addressbooks/+442079460001/work/taken.vcf",
                ),
                ("Overwrite", "F"),
            ],
            Vec::new(),
        )
        .await;
    assert_eq!(r.status, 412);
    let r = c
        .request(
            "MOVE",
            &c.card_path("a.vcf"),
            &[("Destination", "/dav/addressbooks/+442079460001/work/a.vcf")],
            Vec::new(),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(c.get(&c.card_path("a.vcf")).await.status, 404);
    assert_eq!(
        c.get("/dav/addressbooks/+442079460001/work/a.vcf")
            .await
            .status,
        200
    );
    // Both books report the move through sync.
    let home = c.sync(&c.book(), None, None).await.ms();
    assert!(home.get("/a.vcf").is_none());
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_member_post_creates_a_card_at_a_server_chosen_name() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let r = c
        .request(
            "POST",
            &format!("{}?add-member", c.book()),
            &[("Content-Type", "text/vcard")],
            card("p", "P"),
        )
        .await;
    assert_eq!(r.status, 201);
    let loc = r.header("location").unwrap().to_string();
    assert!(loc.starts_with(&c.book()));
    assert_eq!(c.get(&loc).await.status, 200);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_of_a_book_removes_its_cards() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let book = "/dav/addressbooks/+442079460001/tmp/";
    c.request("MKCOL", book, &[], Vec::new()).await;
    c.put_vcard(&format!("{book}a.vcf"), &card("a", "A"), &[])
        .await;
    assert_eq!(c.request("DELETE", book, &[], Vec::new()).await.status, 204);
    assert_eq!(c.get(&format!("{book}a.vcf")).await.status, 404);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn propfind_depth_1_lists_cards_with_etags_and_never_infinity() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    c.put_vcard(&c.card_path("a.vcf"), &card("a", "A"), &[])
        .await;
    let q = r#"<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/><D:getcontenttype/><D:resourcetype/></D:prop></D:propfind>"#;
    let ms = c.propfind(&c.book(), "1", q).await.ms();
    assert_eq!(ms.responses.len(), 2);
    assert!(
        ms.get("/a.vcf")
            .unwrap()
            .text("getetag")
            .unwrap()
            .starts_with('"')
    );
    let r = c.propfind(&c.book(), "infinity", q).await;
    assert_eq!(r.status, 403);
    assert!(r.has_condition("propfind-finite-depth"));
    srv.stop().await;
}

// ----- RFC 6352 §6.3.2.1: a card is never overwritten by a card of another UID -----

/// What a refused write must leave alone: the target's bytes and ETag, and the book's
/// sync token.
async fn snapshot(c: &Client, path: &str, book: &str) -> (String, Option<String>, String) {
    let get = c.get(path).await;
    assert_eq!(get.status, 200, "{path}");
    let q = r#"<D:propfind xmlns:D="DAV:"><D:prop><D:sync-token/></D:prop></D:propfind>"#;
    let token = c.propfind(book, "0", q).await.ms().responses[0]
        .text("sync-token")
        .expect("sync-token");
    let etag = get.etag();
    (get.body, etag, token)
}

/// Asserts a 403 `CARDDAV:no-uid-conflict` naming `target`.
fn assert_target_uid_differs(r: &Resp, target: &str) {
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.has_condition("no-uid-conflict"), "{}", r.body);
    assert_eq!(ms::error_hrefs(&r.body), [target.to_string()], "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_of_another_uid_onto_a_card_is_403_naming_it_and_changes_nothing() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let p = c.card_path("ann.vcf");
    let put = c.put_vcard(&p, &card("ann", "Ann"), &[]).await;
    let etag = put.etag().unwrap();
    let before = snapshot(&c, &p, &c.book()).await;
    // Unconditional (the merge path), with the current If-Match (a replace), with a stale
    // one (the conflict policy) and with If-Match: *.
    for cond in [
        vec![],
        vec![("If-Match", etag.as_str())],
        vec![("If-Match", "\"stale\"")],
        vec![("If-Match", "*")],
    ] {
        let r = c.put_vcard(&p, &card("bob", "Bob"), &cond).await;
        assert_target_uid_differs(&r, &p);
        assert_eq!(snapshot(&c, &p, &c.book()).await, before, "{cond:?}");
    }
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_of_a_third_cards_uid_onto_a_card_is_403_naming_the_target_not_a_merge() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let (ann, carl) = (c.card_path("ann.vcf"), c.card_path("carl.vcf"));
    c.put_vcard(&ann, &card("ann", "Ann"), &[]).await;
    c.put_vcard(&carl, &card("carl", "Carl"), &[]).await;
    let before = (
        snapshot(&c, &ann, &c.book()).await,
        snapshot(&c, &carl, &c.book()).await,
    );
    let r = c.put_vcard(&ann, &card("carl", "Carl Two"), &[]).await;
    assert_target_uid_differs(&r, &ann);
    assert_eq!(
        (
            snapshot(&c, &ann, &c.book()).await,
            snapshot(&c, &carl, &c.book()).await
        ),
        before
    );
    srv.stop().await;
}

/// Ann and Bob in the default book, Carl in a second book `work`: the server, the
/// client, the second book's href, and the hrefs of Ann, Bob and Carl.
async fn ann_bob_and_carl_in_another_book()
-> (TestServer, Client, &'static str, String, String, String) {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let work = "/dav/addressbooks/+442079460001/work/";
    assert_eq!(c.request("MKCOL", work, &[], Vec::new()).await.status, 201);
    let src = c.card_path("ann.vcf");
    c.put_vcard(&src, &card("ann", "Ann"), &[]).await;
    let in_book = c.card_path("bob.vcf");
    c.put_vcard(&in_book, &card("bob", "Bob"), &[]).await;
    let other_book = format!("{work}carl.vcf");
    c.put_vcard(&other_book, &card("carl", "Carl"), &[]).await;
    (srv, c, work, src, in_book, other_book)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn move_onto_a_card_of_another_uid_is_403_naming_it_and_changes_nothing() {
    let (srv, c, work, src, in_book, other_book) = ann_bob_and_carl_in_another_book().await;
    for (target, book) in [(&in_book, c.book()), (&other_book, work.to_string())] {
        let src_before = snapshot(&c, &src, &c.book()).await;
        let before = snapshot(&c, target, &book).await;
        let r = c
            .request(
                "MOVE",
                &src,
                &[("Destination", &c.url(target)), ("Overwrite", "T")],
                Vec::new(),
            )
            .await;
        assert_target_uid_differs(&r, target);
        assert_eq!(snapshot(&c, target, &book).await, before, "{target}");
        assert_eq!(snapshot(&c, &src, &c.book()).await, src_before, "{target}");
    }
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_onto_a_card_of_another_uid_is_403_naming_it_and_changes_nothing() {
    let (srv, c, work, src, in_book, other_book) = ann_bob_and_carl_in_another_book().await;
    for (target, book) in [(&in_book, c.book()), (&other_book, work.to_string())] {
        let before = snapshot(&c, target, &book).await;
        let r = c
            .request(
                "COPY",
                &src,
                &[("Destination", &c.url(target)), ("Overwrite", "T")],
                Vec::new(),
            )
            .await;
        assert_target_uid_differs(&r, target);
        assert_eq!(snapshot(&c, target, &book).await, before, "{target}");
    }
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn move_onto_a_card_of_the_same_uid_in_another_book_replaces_it() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let work = "/dav/addressbooks/+442079460001/work/";
    c.request("MKCOL", work, &[], Vec::new()).await;
    let src = c.card_path("ann.vcf");
    let newer = card("ann", "Ann Newer");
    c.put_vcard(&src, &newer, &[]).await;
    let target = format!("{work}ann.vcf");
    c.put_vcard(&target, &card("ann", "Ann Older"), &[]).await;
    let r = c
        .request(
            "MOVE",
            &src,
            &[("Destination", &c.url(&target)), ("Overwrite", "T")],
            Vec::new(),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(c.get(&target).await.body.as_bytes(), newer.as_slice());
    assert_eq!(c.get(&src).await.status, 404);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn card_with_two_uid_lines_is_refused_with_valid_address_data() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let p = c.card_path("two.vcf");
    for second in ["UID:same", "UID:other"] {
        let body = format!(
            "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:same\r\n{second}\r\nFN:Two\r\nN:Two;;;;\r\nEND:VCARD\r\n"
        );
        let r = c.put_vcard(&p, body.as_bytes(), &[]).await;
        assert_eq!(r.status, 403, "{}", r.body);
        assert!(r.has_condition("valid-address-data"), "{}", r.body);
        assert_eq!(c.get(&p).await.status, 404);
    }
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_without_uid_onto_a_card_keeps_the_cards_uid() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let p = c.card_path("ann.vcf");
    let put = c.put_vcard(&p, &card("ann", "Ann"), &[]).await;
    let etag = put.etag().unwrap();
    let no_uid =
        b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ann Renamed\r\nN:Renamed;Ann;;;\r\nEND:VCARD\r\n";
    let r = c.put_vcard(&p, no_uid, &[("If-Match", &etag)]).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(r.etag(), None, "the stored card is not the body sent");
    let got = c.get(&p).await.body;
    assert!(got.contains("\r\nUID:ann\r\n"), "{got}");
    assert!(got.contains("FN:Ann Renamed"), "{got}");
    assert_eq!(got.matches("UID:").count(), 1, "{got}");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_with_the_urn_uuid_form_of_the_cards_uid_is_the_same_card() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let uuid = "0d9e8f7a-6b5c-4d3e-8f1a-2b3c4d5e6f70";
    let p = c.card_path("ann.vcf");
    c.put_vcard(&p, &card(&format!("urn:uuid:{uuid}"), "Ann"), &[])
        .await;
    // Merged in without If-Match, then replaced with the current one.
    let r = c.put_vcard(&p, &card(uuid, "Ann"), &[]).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let etag = c.get(&p).await.etag().unwrap();
    let r = c
        .put_vcard(&p, &card(uuid, "Ann Replaced"), &[("If-Match", &etag)])
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert!(c.get(&p).await.body.contains("FN:Ann Replaced"));
    srv.stop().await;
}

// ----- RFC 4918 §16: error bodies carry exactly the condition -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_body_holds_the_condition_alone_and_the_reason_in_a_dialbook_element() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let r = c
        .put_vcard(
            &c.card_path("bad.vcf"),
            b"BEGIN:VCARD\r\nVERSION:2.1\r\nFN:A\r\nEND:VCARD\r\n",
            &[],
        )
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(
        ms::error_children(&r.body),
        [
            (
                "urn:ietf:params:xml:ns:carddav".to_string(),
                "valid-address-data".to_string()
            ),
            ("urn:x-dialbook:ns".to_string(), "reason".to_string()),
        ],
        "{}",
        r.body
    );
    assert!(
        ms::error_reason(&r.body).is_some_and(|t| t.contains("2.1")),
        "{}",
        r.body
    );
    // A condition without a reason: the element alone.
    c.put_vcard(&c.card_path("one.vcf"), &card("same", "One"), &[])
        .await;
    let r = c
        .put_vcard(&c.card_path("two.vcf"), &card("same", "Two"), &[])
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(
        ms::error_children(&r.body),
        [(
            "urn:ietf:params:xml:ns:carddav".to_string(),
            "no-uid-conflict".to_string()
        )],
        "{}",
        r.body
    );
    srv.stop().await;
}

// ----- RFC 6352 §8.6, §8.7: address-data we do not serve -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multiget_asking_address_data_we_do_not_serve_is_403_supported_address_data() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    c.put_vcard(&c.card_path("a.vcf"), &card("a", "A"), &[])
        .await;
    for attrs in [
        r#"version="2.1""#,
        r#"content-type="application/vcard+json""#,
        r#"content-type="text/vcard" version="5.0""#,
    ] {
        let body = format!(
            r#"<C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><C:address-data {attrs}/></D:prop><D:href>{}</D:href></C:addressbook-multiget>"#,
            c.card_path("a.vcf")
        );
        let r = c.report(&c.book(), "1", &body).await;
        assert_eq!(r.status, 403, "{attrs}: {}", r.body);
        assert!(
            r.has_condition("supported-address-data"),
            "{attrs}: {}",
            r.body
        );
    }
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_asking_address_data_we_do_not_serve_is_403_supported_address_data() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    c.put_vcard(&c.card_path("a.vcf"), &card("a", "A"), &[])
        .await;
    for attrs in [r#"version="2.1""#, r#"content-type="text/x-vcard""#] {
        let body = format!(
            r#"<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><C:address-data {attrs}/></D:prop><C:filter/></C:addressbook-query>"#
        );
        let r = c.report(&c.book(), "1", &body).await;
        assert_eq!(r.status, 403, "{attrs}: {}", r.body);
        assert!(
            r.has_condition("supported-address-data"),
            "{attrs}: {}",
            r.body
        );
    }
    // What we serve is still served.
    let ok = r#"<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><C:address-data content-type="text/vcard" version="4.0"/></D:prop><C:filter/></C:addressbook-query>"#;
    let ms = c.report(&c.book(), "1", ok).await.ms();
    assert!(
        ms.responses[0]
            .text("address-data")
            .unwrap()
            .contains("VERSION:4.0")
    );
    srv.stop().await;
}

// ----- REPORTs on a card's own URL -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multiget_on_a_cards_own_url_returns_that_card() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let (a, b) = (c.card_path("a.vcf"), c.card_path("b.vcf"));
    c.put_vcard(&a, &card("a", "Alpha"), &[]).await;
    c.put_vcard(&b, &card("b", "Beta"), &[]).await;
    let body = format!(
        r#"<C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><C:address-data/></D:prop><D:href>{a}</D:href><D:href>{b}</D:href></C:addressbook-multiget>"#
    );
    let ms = c.report(&a, "0", &body).await.ms();
    assert_eq!(ms.responses.len(), 2);
    let got = ms.get("/a.vcf").unwrap();
    assert!(got.text("address-data").unwrap().contains("FN:Alpha"));
    assert_eq!(got.text("getetag"), c.get(&a).await.etag());
    // The scope is the card: another card's href is not served through it.
    assert_eq!(ms.get("/b.vcf").unwrap().status, Some(404));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_on_a_cards_own_url_filters_that_card_alone() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let (a, b) = (c.card_path("a.vcf"), c.card_path("b.vcf"));
    c.put_vcard(&a, &card("a", "Alpha"), &[]).await;
    c.put_vcard(&b, &card("b", "Alphabet"), &[]).await;
    let q = |text: &str| {
        format!(
            r#"<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/></D:prop><C:filter><C:prop-filter name="FN"><C:text-match>{text}</C:text-match></C:prop-filter></C:filter></C:addressbook-query>"#
        )
    };
    let ms = c.report(&a, "0", &q("alpha")).await.ms();
    assert_eq!(ms.hrefs(), [a.as_str()]);
    assert!(ms.responses[0].text("getetag").is_some());
    assert!(
        c.report(&a, "0", &q("beta"))
            .await
            .ms()
            .responses
            .is_empty()
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cards_supported_report_set_lists_multiget_and_query() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let a = c.card_path("a.vcf");
    c.put_vcard(&a, &card("a", "A"), &[]).await;
    let q = r#"<D:propfind xmlns:D="DAV:"><D:prop><D:supported-report-set/></D:prop></D:propfind>"#;
    let r = c.propfind(&a, "0", q).await;
    assert_eq!(r.status, 207);
    let names = ms::element_names(&r.body);
    let card_ns = "urn:ietf:params:xml:ns:carddav".to_string();
    for report in ["addressbook-multiget", "addressbook-query"] {
        assert!(
            names.contains(&(card_ns.clone(), report.to_string())),
            "{report}: {}",
            r.body
        );
    }
    srv.stop().await;
}

// ----- RFC 4918 §14.20: PROPFIND bodies -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn propfind_with_more_than_one_of_prop_allprop_propname_is_400() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    for inner in [
        "<D:prop><D:getetag/></D:prop><D:allprop/>",
        "<D:propname/><D:prop><D:getetag/></D:prop>",
        "<D:allprop/><D:propname/>",
        "<D:prop><D:getetag/></D:prop><D:prop><D:displayname/></D:prop>",
    ] {
        let body = format!(r#"<D:propfind xmlns:D="DAV:">{inner}</D:propfind>"#);
        let r = c.propfind(&c.book(), "0", &body).await;
        assert_eq!(r.status, 400, "{inner}: {}", r.body);
    }
    srv.stop().await;
}

// ----- RFC 4918 §4.3: dead properties keep xml:lang, attributes and declarations -----

/// The first element `{ns}local` of a document: its attributes as (namespace, local,
/// value) (namespace declarations aside), and the namespace `prefix` is bound to inside it.
fn element_in(
    xml: &str,
    ns: &str,
    local: &str,
    prefix: &str,
) -> (Vec<(String, String, String)>, String) {
    use quick_xml::events::Event;
    use quick_xml::name::{QName, ResolveResult};
    let mut r = quick_xml::reader::NsReader::from_str(xml);
    loop {
        let (res, ev) = r.read_resolved_event().expect("well-formed");
        let (Event::Start(e) | Event::Empty(e)) = ev else {
            assert!(!matches!(ev, Event::Eof), "no {{{ns}}}{local} in {xml}");
            continue;
        };
        let here = matches!(res, ResolveResult::Bound(n) if n.as_ref() == ns);
        if !(here && e.local_name().as_ref() == local) {
            continue;
        }
        let mut attrs = Vec::new();
        for a in e.attributes() {
            let a = a.unwrap();
            if a.key.as_namespace_binding().is_some() {
                continue;
            }
            let (res, l) = r.resolver().resolve_attribute(a.key);
            let ans = match res {
                ResolveResult::Bound(n) => n.as_ref().to_string(),
                _ => String::new(),
            };
            let v = a
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .unwrap()
                .to_string();
            attrs.push((ans, l.as_ref().to_string(), v));
        }
        attrs.sort();
        let probe = format!("{prefix}:x");
        let (bound, _) = r.resolver().resolve_element(QName(probe.as_str()));
        let bound = match bound {
            ResolveResult::Bound(n) => n.as_ref().to_string(),
            _ => String::new(),
        };
        return (attrs, bound);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_properties_keep_xml_lang_attributes_and_namespace_declarations() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let set = r#"<D:propertyupdate xmlns:D="DAV:" xml:lang="en"><D:set><D:prop xml:lang="de"><Z:title xmlns:Z="urn:z" xmlns:q="urn:q" Z:kind="formal" plain="1">q:Herr</Z:title><Z:note xmlns:Z="urn:z" xml:lang="fr-CA">colour</Z:note></D:prop></D:set></D:propertyupdate>"#;
    let r = c
        .request(
            "PROPPATCH",
            &c.book(),
            &[("Content-Type", "application/xml")],
            set,
        )
        .await;
    assert_eq!(r.ms().responses[0].prop_status("title"), Some(200));
    let q = r#"<D:propfind xmlns:D="DAV:" xmlns:Z="urn:z"><D:prop><Z:title/><Z:note/></D:prop></D:propfind>"#;
    let r = c.propfind(&c.book(), "0", q).await;
    assert_eq!(r.status, 207);
    let xml_ns = "http://www.w3.org/XML/1998/namespace".to_string();
    let (attrs, q_ns) = element_in(&r.body, "urn:z", "title", "q");
    assert_eq!(
        attrs,
        [
            (String::new(), "plain".into(), "1".into()),
            (xml_ns.clone(), "lang".into(), "de".into()),
            ("urn:z".into(), "kind".into(), "formal".into()),
        ],
        "{}",
        r.body
    );
    assert_eq!(
        q_ns, "urn:q",
        "the value's q: prefix is still declared: {}",
        r.body
    );
    let (attrs, _) = element_in(&r.body, "urn:z", "note", "Z");
    assert_eq!(
        attrs,
        [(xml_ns, "lang".into(), "fr-CA".into())],
        "{}",
        r.body
    );
    let ms = r.ms();
    assert_eq!(ms.responses[0].text("title").as_deref(), Some("q:Herr"));
    assert_eq!(ms.responses[0].text("note").as_deref(), Some("colour"));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_of_another_uid_whose_own_precondition_fails_is_412_first() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let p = c.card_path("ann.vcf");
    c.put_vcard(&p, &card("ann", "Ann"), &[]).await;
    let before = snapshot(&c, &p, &c.book()).await;
    let r = c
        .put_vcard(&p, &card("bob", "Bob"), &[("If-None-Match", "*")])
        .await;
    assert_eq!(r.status, 412, "{}", r.body);
    // A stale If-Match under the reject policy is refused as stale.
    let policy = r#"<D:propertyupdate xmlns:D="DAV:" xmlns:X="urn:x-dialbook:ns"><D:set><D:prop><X:conflict-policy>reject</X:conflict-policy></D:prop></D:set></D:propertyupdate>"#;
    c.request(
        "PROPPATCH",
        &c.book(),
        &[("Content-Type", "application/xml")],
        policy,
    )
    .await;
    let before_token_moved = snapshot(&c, &p, &c.book()).await;
    assert_eq!(
        (&before_token_moved.0, &before_token_moved.1),
        (&before.0, &before.1)
    );
    let r = c
        .put_vcard(&p, &card("bob", "Bob"), &[("If-Match", "\"stale\"")])
        .await;
    assert_eq!(r.status, 412, "{}", r.body);
    assert_eq!(snapshot(&c, &p, &c.book()).await, before_token_moved);
    srv.stop().await;
}
