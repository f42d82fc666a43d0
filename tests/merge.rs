//! Item-level merge over HTTP: uplink, unconditional PUT, intentional replace, the
//! conflict policy for stale If-Match, and fingerprint reconciliation (issue: merge).
mod common;

use common::*;
use dialbook::config::ConflictPolicy;

/// A distinct person: unique name and number per `i`.
fn person(uid: &str, i: usize, extra: &str) -> String {
    format!(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nFN:Person Nº{i} Ünïcode\r\nN:Nº{i};Person;;;\r\nTEL;type=CELL:+44 7911 1{i:05}\r\n{extra}END:VCARD\r\n"
    )
}

fn upload(n: usize, uid_prefix: &str, extra: impl Fn(usize) -> String) -> String {
    (0..n)
        .map(|i| person(&format!("{uid_prefix}-{i}"), i, &extra(i)))
        .collect()
}

async fn post_uplink(c: &Client, body: &str) -> Resp {
    c.request(
        "POST",
        &c.book(),
        &[("Content-Type", "text/vcard")],
        body.as_bytes().to_vec(),
    )
    .await
}

fn json(r: &Resp) -> serde_json::Value {
    assert_eq!(r.status, 200, "{}", r.body);
    serde_json::from_str(&r.body).expect("JSON report")
}

async fn token(c: &Client) -> String {
    let body = r#"<D:propfind xmlns:D="DAV:"><D:prop><D:sync-token/></D:prop></D:propfind>"#;
    c.propfind(&c.book(), "0", body).await.ms().responses[0]
        .text("sync-token")
        .unwrap()
}

async fn count(c: &Client) -> usize {
    let body = r#"<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>"#;
    c.propfind(&c.book(), "1", body).await.ms().responses.len() - 1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploading_the_same_1000_cards_twice_changes_nothing_the_second_time() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let file = upload(1000, "phone-a", |_| String::new());
    let first = json(&post_uplink(&c, &file).await);
    assert_eq!(first["created"], 1000);
    let t1 = token(&c).await;
    let second = json(&post_uplink(&c, &file).await);
    assert_eq!(second["unchanged"], 1000, "{second}");
    assert_eq!(second["created"], 0);
    assert_eq!(
        token(&c).await,
        t1,
        "an idempotent upload must not move the sync token"
    );
    assert_eq!(count(&c).await, 1000);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_phone_with_other_uids_yields_no_duplicates_and_every_number() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    json(&post_uplink(&c, &upload(100, "phone-a", |_| String::new())).await);
    // The second phone knows the same people under other UIDs, and some new numbers.
    let second = upload(100, "phone-b", |i| {
        if i % 2 == 0 {
            format!("TEL;type=WORK:+44 20 7946 {i:04}\r\n")
        } else {
            String::new()
        }
    });
    let r = json(&post_uplink(&c, &second).await);
    assert_eq!(r["created"], 0, "{r}");
    assert_eq!(r["merged"], 50);
    assert_eq!(r["unchanged"], 50);
    assert_eq!(count(&c).await, 100);
    let g = c.get(&c.card_path("phone-a-4.vcf")).await;
    assert!(
        g.body.contains("+44 7911 100004") && g.body.contains("+44 20 7946 0004"),
        "{}",
        g.body
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uplink_with_one_bad_card_writes_nothing() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let mut file = upload(5, "u", |_| String::new());
    file.push_str("BEGIN:VCARD\r\nVERSION:2.1\r\nFN:Old\r\nEND:VCARD\r\n");
    let r = post_uplink(&c, &file).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.has_condition("valid-address-data"));
    assert!(r.body.contains("card 5"), "{}", r.body);
    assert_eq!(count(&c).await, 0);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uplink_matches_a_stored_urn_uuid_uid_sent_without_the_prefix() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let uuid = "0d9e8f7a-6b5c-4d3e-8f1a-2b3c4d5e6f70";
    let first = json(&post_uplink(&c, &person(&format!("urn:uuid:{uuid}"), 1, "")).await);
    assert_eq!(first["created"], 1, "{first}");
    // Another name and another number: only the UID says it is the same card.
    let other = format!(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uuid}\r\nFN:Somebody Else\r\nTEL:+44 7911 999999\r\nEND:VCARD\r\n"
    );
    let r = json(&post_uplink(&c, &other).await);
    assert_eq!(
        (r["created"].as_u64(), r["merged"].as_u64()),
        (Some(0), Some(1)),
        "{r}"
    );
    assert_eq!(count(&c).await, 1);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uplink_merges_duplicates_within_one_upload() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let file = format!(
        "{}{}",
        person("x1", 7, ""),
        person("x2", 7, "EMAIL:p7@example.org\r\n")
    );
    let r = json(&post_uplink(&c, &file).await);
    assert_eq!(
        (r["created"].as_u64(), r["merged"].as_u64()),
        (Some(1), Some(1)),
        "{r}"
    );
    assert_eq!(count(&c).await, 1);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unconditional_put_onto_a_card_merges_and_keeps_stored_items() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let p = c.card_path("m.vcf");
    c.put_vcard(
        &p,
        person("m", 1, "EMAIL:home@example.org\r\n").as_bytes(),
        &[],
    )
    .await;
    let r = c
        .put_vcard(
            &p,
            person("m", 1, "TEL;type=WORK:+44 20 7946 0999\r\n").as_bytes(),
            &[],
        )
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(r.etag(), None, "stored card differs from the request");
    let g = c.get(&p).await;
    assert!(
        g.body.contains("home@example.org") && g.body.contains("+44 20 7946 0999"),
        "{}",
        g.body
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_with_the_current_if_match_replaces_and_a_deleted_number_stays_deleted() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let p = c.card_path("d.vcf");
    c.put_vcard(
        &p,
        person("d", 2, "TEL;type=WORK:+44 20 7946 0222\r\n").as_bytes(),
        &[],
    )
    .await;
    let etag = c.get(&p).await.etag().unwrap();
    let r = c
        .put_vcard(&p, person("d", 2, "").as_bytes(), &[("If-Match", &etag)])
        .await;
    assert_eq!(r.status, 204);
    assert!(r.etag().is_some(), "stored as sent, so the ETag is given");
    assert!(!c.get(&p).await.body.contains("7946 0222"));
    srv.stop().await;
}

/// Two devices edit different fields starting from the same version.
async fn concurrent_edits(policy: ConflictPolicy) -> (TestServer, Client, Resp, Resp, String) {
    let srv = TestServer::start_with(|c| c.merge.conflict_policy = policy).await;
    let c = srv.account(ALICE, PW).await;
    let p = c.card_path("e.vcf");
    c.put_vcard(&p, person("e", 3, "").as_bytes(), &[]).await;
    let base = c.get(&p).await.etag().unwrap();
    let a = c
        .put_vcard(
            &p,
            person("e", 3, "NOTE:from device A\r\n").as_bytes(),
            &[("If-Match", &base)],
        )
        .await;
    let b = c
        .put_vcard(
            &p,
            person("e", 3, "EMAIL:b@example.org\r\n").as_bytes(),
            &[("If-Match", &base)],
        )
        .await;
    (srv, c, a, b, p)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_merge_two_devices_editing_different_fields_both_keep_their_edits() {
    let (srv, c, a, b, p) = concurrent_edits(ConflictPolicy::Merge).await;
    assert_eq!(a.status, 204);
    assert_eq!(b.status, 204);
    assert_eq!(b.etag(), None, "a merged response carries no ETag");
    let g = c.get(&p).await.body;
    assert!(
        g.contains("NOTE:from device A") && g.contains("b@example.org"),
        "{g}"
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_reject_the_second_device_gets_412() {
    let (srv, c, a, b, p) = concurrent_edits(ConflictPolicy::Reject).await;
    assert_eq!(a.status, 204);
    assert_eq!(b.status, 412);
    assert!(!c.get(&p).await.body.contains("b@example.org"));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_client_wins_the_stale_write_replaces() {
    let (srv, c, _, b, p) = concurrent_edits(ConflictPolicy::ClientWins).await;
    assert_eq!(b.status, 204);
    let g = c.get(&p).await.body;
    assert!(
        g.contains("b@example.org") && !g.contains("device A"),
        "{g}"
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_server_wins_the_stale_write_changes_nothing_and_gets_no_etag() {
    let (srv, c, _, b, p) = concurrent_edits(ConflictPolicy::ServerWins).await;
    assert_eq!(b.status, 204);
    assert_eq!(b.etag(), None);
    let g = c.get(&p).await.body;
    assert!(
        g.contains("device A") && !g.contains("b@example.org"),
        "{g}"
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merged_write_moves_the_sync_token_and_the_next_sync_reports_the_card() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let p = c.card_path("s.vcf");
    c.put_vcard(&p, person("s", 4, "").as_bytes(), &[]).await;
    let t = c.sync(&c.book(), None, None).await.ms().sync_token.unwrap();
    let r = c
        .put_vcard(&p, person("s", 4, "NOTE:new\r\n").as_bytes(), &[])
        .await;
    assert_eq!(r.etag(), None);
    let ms = c.sync(&c.book(), Some(&t), None).await.ms();
    assert!(ms.get("/s.vcf").is_some());
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_put_that_changes_nothing_keeps_the_etag_and_the_token() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let p = c.card_path("n.vcf");
    let card = person("n", 5, "");
    let etag = c.put_vcard(&p, card.as_bytes(), &[]).await.etag().unwrap();
    let t = token(&c).await;
    let r = c.put_vcard(&p, card.as_bytes(), &[]).await;
    assert_eq!(r.status, 204);
    assert_eq!(r.etag().as_deref(), Some(etag.as_str()));
    assert_eq!(token(&c).await, t);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_conflict_policy_can_be_set_per_address_book() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let set = |v: &str| {
        format!(
            r#"<D:propertyupdate xmlns:D="DAV:" xmlns:X="urn:x-dialbook:ns"><D:set><D:prop><X:conflict-policy>{v}</X:conflict-policy></D:prop></D:set></D:propertyupdate>"#
        )
    };
    let bad = c
        .request(
            "PROPPATCH",
            &c.book(),
            &[("Content-Type", "application/xml")],
            set("sometimes"),
        )
        .await
        .ms();
    assert_eq!(bad.responses[0].prop_status("conflict-policy"), Some(409));
    let ok = c
        .request(
            "PROPPATCH",
            &c.book(),
            &[("Content-Type", "application/xml")],
            set("reject"),
        )
        .await
        .ms();
    assert_eq!(ok.responses[0].prop_status("conflict-policy"), Some(200));
    let p = c.card_path("r.vcf");
    c.put_vcard(&p, person("r", 6, "").as_bytes(), &[]).await;
    let base = c.get(&p).await.etag().unwrap();
    c.put_vcard(
        &p,
        person("r", 6, "NOTE:a\r\n").as_bytes(),
        &[("If-Match", &base)],
    )
    .await;
    let r = c
        .put_vcard(
            &p,
            person("r", 6, "NOTE:b\r\n").as_bytes(),
            &[("If-Match", &base)],
        )
        .await;
    assert_eq!(r.status, 412);
    srv.stop().await;
}

/// The reconciliation request for the given cards.
fn reconcile_body(cards: &[(String, String)]) -> String {
    let mut s = String::from(r#"<r:reconcile xmlns:r="urn:x-dialbook:ns">"#);
    for (uid, fp) in cards {
        s.push_str(&format!(r#"<r:card uid="{uid}" fingerprint="{fp}"/>"#));
    }
    s.push_str("</r:reconcile>");
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconciliation_of_10000_cards_returns_exactly_the_20_differences() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let n = 10_000;
    let cards: Vec<String> = (0..n).map(|i| person(&format!("r-{i}"), i, "")).collect();
    let file: String = cards.concat();
    json(&post_uplink(&c, &file).await);
    // The client: lost 5 cards the server has, holds 5 the server lacks, 10 edited.
    let mut mine = Vec::new();
    for (i, card) in cards.iter().enumerate() {
        if i < 5 {
            continue;
        }
        let body = if (5..15).contains(&i) {
            person(&format!("r-{i}"), i, "NOTE:edited offline\r\n")
        } else {
            card.clone()
        };
        mine.push((
            format!("r-{i}"),
            dialbook::vcard::merge::fingerprint(body.as_bytes()).unwrap(),
        ));
    }
    for j in 0..5 {
        let body = person(&format!("new-{j}"), 50_000 + j, "");
        mine.push((
            format!("new-{j}"),
            dialbook::vcard::merge::fingerprint(body.as_bytes()).unwrap(),
        ));
    }
    let r = c.report(&c.book(), "0", &reconcile_body(&mine)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let server_lacks = r.body.matches("<R:server-lacks").count();
    let client_lacks = r.body.matches("<R:client-lacks").count();
    let differs = r.body.matches("<R:differs").count();
    assert_eq!(
        (server_lacks, client_lacks, differs),
        (5, 5, 10),
        "{}",
        r.body
    );
    assert!(r.body.contains("<D:sync-token>"));
    // What a full fetch of the same book costs, for comparison (printed for the record).
    let hrefs: String = (0..n)
        .map(|i| format!("<D:href>{}</D:href>", c.card_path(&format!("r-{i}.vcf"))))
        .collect();
    let mg = format!(
        r#"<C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><C:address-data/></D:prop>{hrefs}</C:addressbook-multiget>"#
    );
    let full = c.report(&c.book(), "1", &mg).await;
    assert_eq!(full.status, 207);
    eprintln!(
        "reconcile: request {} B, response {} B; full multiget: request {} B, response {} B",
        reconcile_body(&mine).len(),
        r.body.len(),
        mg.len(),
        full.body.len()
    );
    assert!(
        r.body.len() * 100 < full.body.len(),
        "the differences must cost a small fraction of a full fetch"
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconciliation_with_matching_cards_returns_nothing_but_a_token() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    let card = person("same", 1, "");
    c.put_vcard(&c.card_path("same.vcf"), card.as_bytes(), &[])
        .await;
    // Re-folded, with LF endings: the fingerprint is of the normalised card.
    let refolded = card.replace("\r\n", "\n");
    let fp = dialbook::vcard::merge::fingerprint(refolded.as_bytes()).unwrap();
    let r = c
        .report(&c.book(), "0", &reconcile_body(&[("same".into(), fp)]))
        .await;
    assert_eq!(r.status, 200);
    assert!(
        !r.body.contains("lacks") && !r.body.contains("differs"),
        "{}",
        r.body
    );
    srv.stop().await;
}

/// A card with a work number; the server then adds a note from the same base; finally a
/// client still holding `base` writes `late` (its extra lines). Returns the stored card.
async fn late_write_after_server_edit(keep_versions: u32, late: &str) -> String {
    let srv = TestServer::start_with(|c| c.merge.keep_versions = keep_versions).await;
    let c = srv.account(ALICE, PW).await;
    let p = c.card_path("late.vcf");
    let work = "TEL;type=WORK:+44 20 7946 0888\r\n";
    c.put_vcard(&p, person("late", 8, work).as_bytes(), &[])
        .await;
    let base = c.get(&p).await.etag().unwrap();
    let edited = person("late", 8, &format!("{work}NOTE:server edit\r\n"));
    c.put_vcard(&p, edited.as_bytes(), &[("If-Match", &base)])
        .await;
    let r = c
        .put_vcard(
            &p,
            person("late", 8, late).as_bytes(),
            &[("If-Match", &base)],
        )
        .await;
    assert_eq!(r.status, 204);
    let stored = c.get(&p).await.body;
    srv.stop().await;
    stored
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_base_version_kept_a_stale_deletion_is_applied_three_way() {
    // The client removed the work number, starting from the base.
    let g = late_write_after_server_edit(10, "").await;
    assert!(!g.contains("7946 0888") && g.contains("server edit"), "{g}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_base_version_is_gone_a_stale_write_falls_back_to_the_two_way_merge() {
    let g = late_write_after_server_edit(0, "EMAIL:w@example.org\r\n").await;
    // Two-way never deletes: the number the client dropped survives, both additions too.
    assert!(
        g.contains("7946 0888") && g.contains("server edit") && g.contains("w@example.org"),
        "{g}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_merge_two_concurrent_puts_from_the_same_etag_both_keep_their_edits() {
    let srv = TestServer::start().await;
    let c = srv.account(ALICE, PW).await;
    for round in 0..10 {
        // A fresh card each round: the two edits touch different fields of the same base.
        let uid = format!("race-{round}");
        let p = c.card_path(&format!("{uid}.vcf"));
        c.put_vcard(&p, person(&uid, 11, "NOTE:base\r\n").as_bytes(), &[])
            .await;
        let etag = c.get(&p).await.etag().unwrap();
        let a = person(
            &uid,
            11,
            &format!("NOTE:base\r\nEMAIL:a{round}@example.org\r\n"),
        );
        let b = person(
            &uid,
            11,
            &format!("NOTE:base\r\nTEL;type=WORK:+44 20 7946 1{round:03}\r\n"),
        );
        let cond = [("If-Match", etag.as_str())];
        let (ra, rb) = tokio::join!(
            c.put_vcard(&p, a.as_bytes(), &cond),
            c.put_vcard(&p, b.as_bytes(), &cond)
        );
        assert_eq!((ra.status, rb.status), (204, 204), "round {round}");
        let g = c.get(&p).await.body;
        assert!(
            g.contains(&format!("a{round}@example.org"))
                && g.contains(&format!("7946 1{round:03}")),
            "round {round}: an accepted edit was lost:\n{g}"
        );
    }
    srv.stop().await;
}

// --- phone identity: the same person's number however a phone wrote it (issue 9) ---

/// `n` people as one phone stores them: a mobile written by `tel(i)` and one item that
/// only this phone has (`extra(i)`), under this phone's own UIDs.
fn phone_book(
    n: usize,
    uid_prefix: &str,
    tel: impl Fn(usize) -> String,
    extra: impl Fn(usize) -> String,
) -> String {
    (0..n)
        .map(|i| {
            format!(
                "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid_prefix}-{i}\r\nFN:Contact {i}\r\nN:{i};Contact;;;\r\nTEL;TYPE=CELL:{}\r\n{}\r\nEND:VCARD\r\n",
                tel(i),
                extra(i)
            )
        })
        .collect()
}

/// Uploads phone A's and then phone B's book to a server started without `--region`;
/// returns the client and phone B's report.
async fn two_phones(
    account: &str,
    n: usize,
    tel_a: impl Fn(usize) -> String,
    tel_b: impl Fn(usize) -> String,
) -> (TestServer, Client, String, serde_json::Value) {
    let srv = TestServer::start_with(|c| c.region = None).await;
    let c = srv.account(account, PW).await;
    let a = phone_book(n, "phone-a", tel_a, |i| format!("EMAIL:c{i}@a.example"));
    let r = json(&post_uplink(&c, &a).await);
    assert_eq!(r["created"], n, "{r}");
    let b = phone_book(n, "phone-b", tel_b, |i| format!("NOTE:from phone B {i}"));
    let r = json(&post_uplink(&c, &b).await);
    (srv, c, b, r)
}

/// Every card of the book, by GET.
async fn bodies(c: &Client) -> Vec<String> {
    let body = r#"<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>"#;
    let ms = c.propfind(&c.book(), "1", body).await.ms();
    let mut out = Vec::new();
    for r in ms.responses.iter().skip(1) {
        out.push(c.get(&r.href).await.body);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn national_numbers_are_read_in_the_country_of_the_account_without_a_region() {
    // Phone A stores +44 20 7946 01xx, phone B the same people as a UK phone writes
    // them, 020 7946 01xx; the server has no --region, the account is a +44 number.
    let (srv, c, b, r) = two_phones(
        "+442079460001",
        10,
        |i| format!("+44 20 7946 01{i:02}"),
        |i| format!("020 7946 01{i:02}"),
    )
    .await;
    assert_eq!(r["created"], 0, "{r}");
    assert_eq!(r["merged"], 10, "{r}");
    let cards = bodies(&c).await;
    assert_eq!(cards.len(), 10);
    for card in &cards {
        assert!(
            card.contains("@a.example") && card.contains("from phone B"),
            "both phones' items: {card}"
        );
        assert_eq!(
            card.matches("TEL").count(),
            1,
            "one number, not two: {card}"
        );
    }
    // Phone B uploads again: nothing changes, not even the sync token.
    let t = token(&c).await;
    let again = json(&post_uplink(&c, &b).await);
    assert_eq!(again["unchanged"], 10, "{again}");
    assert_eq!(token(&c).await, t);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numbers_in_ranges_the_metadata_calls_invalid_still_identify_people() {
    // NANP's fictional 555 area code: the length of a real number, unknown to the
    // metadata, like any range allocated after the metadata was cut.
    let (srv, c, b, r) = two_phones(
        "+12025550143",
        30,
        |i| format!("+1 555 010 00{i:02}"),
        |i| format!("(555) 010-00{i:02}"),
    )
    .await;
    assert_eq!(r["created"], 0, "{r}");
    assert_eq!(count(&c).await, 30);
    let t = token(&c).await;
    let again = json(&post_uplink(&c, &b).await);
    assert_eq!(again["unchanged"], 30, "{again}");
    assert_eq!(token(&c).await, t);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn international_prefix_trunk_digit_and_tel_uri_spellings_match_too() {
    let spellings = [
        "0044 20 7946 0100",
        "+44 (0)20 7946 0100",
        "tel:+44-20-7946-0100",
        "+44\u{a0}20\u{a0}7946\u{a0}0100",
    ];
    let (srv, c, _, r) = two_phones(
        "+442079460001",
        spellings.len(),
        |_| "+442079460100".into(),
        |i| spellings[i].into(),
    )
    .await;
    // Every person of phone A has the same number here, so each card of phone B
    // matches the card with its own name.
    assert_eq!(r["created"], 0, "{r}");
    assert_eq!(count(&c).await, spellings.len());
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_region_wins_over_the_country_of_the_account() {
    // --region US on a +44 account: `(202) 555-0143` is read as the US number phone A
    // stored with +1, and `020 7946 0100` is not read as the UK number.
    let srv = TestServer::start_with(|c| c.region = Some("US".into())).await;
    let c = srv.account(ALICE, PW).await;
    let a = phone_book(
        2,
        "a",
        |i| ["+1 202 555 0143", "+44 20 7946 0100"][i].into(),
        |_| String::new(),
    );
    json(&post_uplink(&c, &a).await);
    let b = phone_book(
        2,
        "b",
        |i| ["(202) 555-0143", "020 7946 0100"][i].into(),
        |_| String::new(),
    );
    let r = json(&post_uplink(&c, &b).await);
    assert_eq!(r["cards"][0]["result"], "unchanged", "{r}");
    assert_eq!(r["cards"][1]["result"], "created", "{r}");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_number_written_nationally_never_merges_two_names() {
    let srv = TestServer::start_with(|c| c.region = None).await;
    let c = srv.account(ALICE, PW).await;
    let body = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:ana\r\nFN:Ana Pereira\r\nTEL;TYPE=HOME:+44 117 496 0123\r\nEND:VCARD\r\n\
                BEGIN:VCARD\r\nVERSION:3.0\r\nUID:rui\r\nFN:Rui Pereira\r\nTEL;TYPE=HOME:0117 496 0123\r\nEND:VCARD\r\n";
    let r = json(&post_uplink(&c, body).await);
    assert_eq!(r["created"], 2, "{r}");
    srv.stop().await;
}
