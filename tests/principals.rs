//! The RFC 3744 §9 reports over HTTP (`acl-principal-prop-set`, `principal-match`,
//! `principal-property-search`, `principal-search-property-set`), and that no account
//! ever finds another account's principal through them.
mod common;

use common::*;

const ALICE_PRINCIPAL: &str = "/dav/principals/+442079460001/";
const BOB_PRINCIPAL: &str = "/dav/principals/+442079460002/";

fn search(inner: &str) -> String {
    format!(
        r#"<?xml version="1.0"?><D:principal-property-search xmlns:D="DAV:">{inner}</D:principal-property-search>"#
    )
}

fn by_name(text: &str) -> String {
    format!(
        "<D:property-search><D:prop><D:displayname/></D:prop><D:match>{text}</D:match></D:property-search>"
    )
}

const SHOW_NAME: &str = "<D:prop><D:displayname/></D:prop>";

// ----- acl-principal-prop-set (§9.2) -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acl_principal_prop_set_answers_the_own_principal_with_the_asked_properties() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    c.put_vcard(&c.card_path("a.vcf"), &card("a", "A"), &[])
        .await;
    let q = r#"<D:acl-principal-prop-set xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:displayname/><C:addressbook-home-set/></D:prop></D:acl-principal-prop-set>"#;
    let home = "/dav/addressbooks/+442079460001/";
    for path in [
        c.book(),
        c.card_path("a.vcf"),
        home.to_string(),
        "/dav/".into(),
    ] {
        let ms = c.report(&path, "0", q).await.ms();
        assert_eq!(ms.hrefs(), [ALICE_PRINCIPAL], "{path}");
        let p = &ms.responses[0];
        assert_eq!(p.text("displayname").as_deref(), Some("+442079460001"));
        assert_eq!(p.text("addressbook-home-set").as_deref(), Some(home));
        assert_eq!(p.propstats.len(), 1, "{path}: only what was asked");
    }
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acl_principal_prop_set_without_exactly_one_prop_is_400() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    for inner in [
        "",
        "<D:prop><D:displayname/></D:prop><D:prop><D:owner/></D:prop>",
    ] {
        let q = format!(
            r#"<D:acl-principal-prop-set xmlns:D="DAV:">{inner}</D:acl-principal-prop-set>"#
        );
        let r = c.report(&c.book(), "0", &q).await;
        assert_eq!(r.status, 400, "{inner}: {}", r.body);
    }
    srv.stop().await;
}

// ----- Depth -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn principal_reports_with_a_depth_other_than_0_are_400() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let bodies = [
        r#"<D:acl-principal-prop-set xmlns:D="DAV:"><D:prop><D:displayname/></D:prop></D:acl-principal-prop-set>"#.to_string(),
        r#"<D:principal-match xmlns:D="DAV:"><D:self/></D:principal-match>"#.to_string(),
        search(&by_name("0001")),
        r#"<D:principal-search-property-set xmlns:D="DAV:"/>"#.to_string(),
    ];
    for body in &bodies {
        for depth in ["1", "infinity"] {
            let r = c.report("/dav/principals/", depth, body).await;
            assert_eq!(r.status, 400, "Depth {depth}: {body}");
        }
        // Absent means 0 (RFC 3253 §3.6).
        let r = c
            .request(
                "REPORT",
                "/dav/principals/",
                &[("Content-Type", "application/xml")],
                body.clone(),
            )
            .await;
        assert!(
            matches!(r.status, 200 | 207),
            "no Depth: {body}: {}",
            r.status
        );
    }
    srv.stop().await;
}

// ----- principal-match (§9.3) -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn principal_match_self_finds_the_own_principal_below_the_request_uri_only() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let q = r#"<D:principal-match xmlns:D="DAV:"><D:self/><D:prop><D:displayname/></D:prop></D:principal-match>"#;
    for path in ["/dav/principals/", "/dav/", "/"] {
        let ms = c.report(path, "0", q).await.ms();
        assert_eq!(ms.hrefs(), [ALICE_PRINCIPAL], "{path}");
        assert_eq!(
            ms.responses[0].text("displayname").as_deref(),
            Some("+442079460001")
        );
    }
    let ms = c.report(&c.book(), "0", q).await.ms();
    assert!(ms.responses.is_empty(), "{:?}", ms.hrefs());
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn principal_match_on_owner_lists_every_member_below_the_request_uri() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    c.put_vcard(&c.card_path("a.vcf"), &card("a", "A"), &[])
        .await;
    c.put_vcard(&c.card_path("b.vcf"), &card("b", "B"), &[])
        .await;
    let home = "/dav/addressbooks/+442079460001/";
    // Without DAV:prop: href and 200, as RFC 3744 §9.3.1 shows.
    let q = r#"<D:principal-match xmlns:D="DAV:"><D:principal-property><D:owner/></D:principal-property></D:principal-match>"#;
    let ms = c.report(home, "0", q).await.ms();
    let mut hrefs = ms.hrefs();
    hrefs.sort();
    assert_eq!(
        hrefs,
        [c.book(), c.card_path("a.vcf"), c.card_path("b.vcf")]
    );
    assert!(ms.responses.iter().all(|r| r.status == Some(200)));
    // With DAV:prop: the asked properties of each member.
    let q = r#"<D:principal-match xmlns:D="DAV:"><D:principal-property><D:owner/></D:principal-property><D:prop><D:getetag/></D:prop></D:principal-match>"#;
    let ms = c.report(&c.book(), "0", q).await.ms();
    assert_eq!(ms.responses.len(), 2);
    assert!(ms.responses.iter().all(|r| r.text("getetag").is_some()));
    // A property that holds no principal matches nothing.
    let q = r#"<D:principal-match xmlns:D="DAV:"><D:principal-property><D:getetag/></D:principal-property></D:principal-match>"#;
    assert!(c.report(home, "0", q).await.ms().responses.is_empty());
    srv.stop().await;
}

// ----- principal-property-search (§9.4) -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn principal_property_search_evaluates_its_matches() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let found = |ms: Multistatus| ms.hrefs();
    let run = |q: String| {
        let c = c.clone();
        async move { c.report("/dav/principals/", "0", &q).await.ms() }
    };
    assert_eq!(
        found(run(search(&by_name("079460001"))).await),
        [ALICE_PRINCIPAL]
    );
    assert!(found(run(search(&by_name("9999"))).await).is_empty());
    // Every property-search must match, unless test="anyof".
    let two = format!("{}{}", by_name("0001"), by_name("nobody"));
    assert!(found(run(search(&two)).await).is_empty());
    let any = format!(
        r#"<D:principal-property-search xmlns:D="DAV:" test="anyof">{two}</D:principal-property-search>"#
    );
    assert_eq!(found(run(any).await), [ALICE_PRINCIPAL]);
    // match-type.
    let starts = |t: &str| {
        search(&format!(
            r#"<D:property-search><D:prop><D:displayname/></D:prop><D:match match-type="starts-with">{t}</D:match></D:property-search>"#
        ))
    };
    assert_eq!(found(run(starts("+4420")).await), [ALICE_PRINCIPAL]);
    assert!(found(run(starts("0001")).await).is_empty());
    // A property that is not searchable does not match.
    let email = r#"<D:property-search><D:prop><D:owner/></D:prop><D:match>principals</D:match></D:property-search>"#;
    assert!(found(run(search(email)).await).is_empty());
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn principal_property_search_returns_only_the_requested_properties() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let q = search(&format!("{}{SHOW_NAME}", by_name("0001")));
    let ms = c.report("/dav/principals/", "0", &q).await.ms();
    let p = &ms.responses[0];
    assert_eq!(p.propstats.len(), 1);
    let names: Vec<&str> = p.propstats[0].1.iter().map(|v| v.local.as_str()).collect();
    assert_eq!(names, ["displayname"]);
    // Without DAV:prop: the href with 200, no properties.
    let ms = c
        .report("/dav/principals/", "0", &search(&by_name("0001")))
        .await
        .ms();
    assert_eq!(ms.responses[0].status, Some(200));
    assert!(ms.responses[0].propstats.is_empty());
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn principal_property_search_scope_is_the_request_uri_or_the_principal_collection_set() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let plain = search(&by_name("0001"));
    assert!(
        c.report(&c.book(), "0", &plain)
            .await
            .ms()
            .responses
            .is_empty()
    );
    let applied = search(&format!(
        "{}<D:apply-to-principal-collection-set/>",
        by_name("0001")
    ));
    let ms = c.report(&c.book(), "0", &applied).await.ms();
    assert_eq!(ms.hrefs(), [ALICE_PRINCIPAL]);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_principal_report_reveals_another_accounts_number() {
    let srv = TestServer::start().await;
    let _alice = srv.account(ALICE, PW).await;
    let bob = srv.account(BOB, PW).await;
    let alice_digits = "442079460001";
    let reports = [
        search(&by_name("")),
        search(&by_name("0001")),
        search(&by_name("+442079460001")),
        search(&format!(
            "{}{SHOW_NAME}<D:apply-to-principal-collection-set/>",
            by_name("+44")
        )),
        r#"<D:principal-match xmlns:D="DAV:"><D:self/><D:prop><D:displayname/></D:prop></D:principal-match>"#.to_string(),
        r#"<D:principal-match xmlns:D="DAV:"><D:principal-property><D:owner/></D:principal-property><D:prop><D:displayname/><D:owner/></D:prop></D:principal-match>"#.to_string(),
        r#"<D:acl-principal-prop-set xmlns:D="DAV:"><D:prop><D:displayname/></D:prop></D:acl-principal-prop-set>"#.to_string(),
    ];
    for q in &reports {
        for path in ["/", "/dav/", "/dav/principals/", BOB_PRINCIPAL] {
            let r = bob.report(path, "0", q).await;
            if r.status == 403 {
                // Not a report of this resource (principal-match on the principal).
                assert!(r.has_condition("supported-report"), "{path}: {}", r.body);
                continue;
            }
            let ms = r.ms();
            assert!(!r.body.contains(alice_digits), "{path} {q}: {}", r.body);
            assert!(
                ms.hrefs()
                    .iter()
                    .all(|h| h == BOB_PRINCIPAL || !h.contains("principals/+")),
                "{path}: {:?}",
                ms.hrefs()
            );
        }
        // Alice's own resources are not there for Bob at all.
        let r = bob.report(ALICE_PRINCIPAL, "0", q).await;
        assert_eq!(r.status, 404, "{q}");
    }
    let ms = bob
        .report("/dav/principals/", "0", &search(&by_name("0001")))
        .await
        .ms();
    assert!(ms.responses.is_empty(), "{:?}", ms.hrefs());
    srv.stop().await;
}

// ----- principal-search-property-set (§9.5) -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn principal_search_property_set_lists_the_searchable_displayname() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let q = r#"<D:principal-search-property-set xmlns:D="DAV:"/>"#;
    let r = c.report("/dav/principals/", "0", q).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let names = ms::element_names(&r.body);
    let dav = |l: &str| ("DAV:".to_string(), l.to_string());
    assert_eq!(names[0], dav("principal-search-property-set"));
    assert!(names.contains(&dav("principal-search-property")));
    assert!(names.contains(&dav("displayname")));
    assert!(names.contains(&dav("description")));
    let full = r#"<D:principal-search-property-set xmlns:D="DAV:"><D:prop/></D:principal-search-property-set>"#;
    assert_eq!(c.report("/dav/principals/", "0", full).await.status, 400);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supported_report_set_lists_the_principal_reports_where_they_answer() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    c.put_vcard(&c.card_path("a.vcf"), &card("a", "A"), &[])
        .await;
    let q = r#"<D:propfind xmlns:D="DAV:"><D:prop><D:supported-report-set/></D:prop></D:propfind>"#;
    let reports = |body: &str| -> Vec<String> {
        ms::element_names(body)
            .into_iter()
            .filter(|(ns, l)| {
                ns == "DAV:"
                    && [
                        "acl-principal-prop-set",
                        "principal-match",
                        "principal-property-search",
                        "principal-search-property-set",
                    ]
                    .contains(&l.as_str())
            })
            .map(|(_, l)| l)
            .collect()
    };
    let coll = c.propfind("/dav/principals/", "0", q).await.body;
    assert_eq!(
        reports(&coll),
        [
            "acl-principal-prop-set",
            "principal-match",
            "principal-property-search",
            "principal-search-property-set"
        ]
    );
    let card = c.propfind(&c.card_path("a.vcf"), "0", q).await.body;
    assert_eq!(
        reports(&card),
        ["acl-principal-prop-set", "principal-property-search"]
    );
    // And each listed report answers there.
    let r = c
        .report(
            &c.card_path("a.vcf"),
            "0",
            r#"<D:acl-principal-prop-set xmlns:D="DAV:"><D:prop><D:displayname/></D:prop></D:acl-principal-prop-set>"#,
        )
        .await;
    assert_eq!(r.status, 207);
    let r = c
        .report(
            &c.card_path("a.vcf"),
            "0",
            r#"<D:principal-match xmlns:D="DAV:"><D:self/></D:principal-match>"#,
        )
        .await;
    assert_eq!(r.status, 403);
    assert!(r.has_condition("supported-report"));
    srv.stop().await;
}
