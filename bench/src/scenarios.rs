//! The scenarios. Each is bounded in count and in time, and returns the fields of its JSON
//! line (the caller adds the labels and prints it).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use serde_json::{Map, Value, json};

use crate::data;
use crate::dav::{self, Dav, Kind};
use crate::meter::{Meter, median_f, pct_ms, round};

pub struct Ctx {
    pub dav: Arc<Dav>,
    pub kind: Kind,
    pub n: usize,
    pub server_pid: Option<u32>,
    /// Cap on any one scenario phase.
    pub max_secs: f64,
    pub s4_requests: usize,
    /// Cap on repeated measurements (S3's repeats, S4): a slow server answers fewer.
    pub repeat_max_secs: f64,
    pub s5_secs: f64,
    pub s5_clients: usize,
    pub race_trials: usize,
    pub uplink_n: usize,
    /// Xandikos only: the address book's git working tree, for the untimed fill.
    pub xandikos_repo: Option<std::path::PathBuf>,
}

type Fields = Map<String, Value>;

fn fields(v: Value) -> Fields {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Card indices that are contacts (not groups), spread over the book.
fn contact_indices(n: usize, count: usize, salt: usize) -> Vec<usize> {
    let mut out = Vec::with_capacity(count);
    let mut k = 0usize;
    while out.len() < count && k < n * 2 {
        let i = (salt * 7919 + k * (n / count.max(1)).max(1) + k / n.max(1)) % n;
        if !data::is_group(i) && !out.contains(&i) {
            out.push(i);
        }
        k += 1;
    }
    out
}

/// Creates the address book where the server does not have one yet (Radicale).
pub async fn setup(ctx: &Ctx) -> Result<()> {
    if ctx.kind == Kind::Radicale {
        let r = ctx
            .dav
            .send(
                "MKCOL",
                &ctx.dav.book,
                &[("content-type", "application/xml; charset=utf-8")],
                Some(dav::MKCOL_ADDRESSBOOK.to_string()),
            )
            .await?;
        if r.status != 201 && r.status != 405 {
            bail!("MKCOL {}: {}", ctx.dav.book, r.status);
        }
    }
    let r = ctx
        .dav
        .propfind(&ctx.dav.book, "0", dav::PROPFIND_CTAG)
        .await?;
    if r.status != 207 {
        bail!("PROPFIND {}: {} {}", ctx.dav.book, r.status, r.text());
    }
    Ok(())
}

struct PutRun {
    lat_us: Vec<u64>,
    /// Cards whose PUT failed, and (after the deadline) the ones never sent.
    missing: Vec<usize>,
    done: usize,
    errors: usize,
    first_error: Option<String>,
}

/// PUTs cards `range` (new members, `If-None-Match: *`) with `conc` workers until done or
/// `deadline`.
async fn put_cards(ctx: &Ctx, range: Vec<usize>, conc: usize, deadline: Instant) -> PutRun {
    let range = Arc::new(range);
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..conc {
        let (dav, range, next) = (ctx.dav.clone(), range.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut run = PutRun {
                lat_us: Vec::new(),
                missing: Vec::new(),
                done: 0,
                errors: 0,
                first_error: None,
            };
            loop {
                if Instant::now() >= deadline {
                    break;
                }
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(&i) = range.get(k) else { break };
                let url = dav.member(&data::href_name(i));
                match dav
                    .put(&url, data::card(i, 0), Some(("if-none-match", "*")))
                    .await
                {
                    Ok(r) if r.ok() => {
                        run.lat_us.push(r.elapsed.as_micros() as u64);
                        run.done += 1;
                    }
                    Ok(r) => {
                        run.errors += 1;
                        run.missing.push(i);
                        run.first_error
                            .get_or_insert(format!("PUT {}: {}", url, r.status));
                    }
                    Err(e) => {
                        run.errors += 1;
                        run.missing.push(i);
                        run.first_error.get_or_insert(format!("{e:#}"));
                    }
                }
            }
            run
        }));
    }
    let mut all = PutRun {
        lat_us: Vec::new(),
        missing: Vec::new(),
        done: 0,
        errors: 0,
        first_error: None,
    };
    for t in tasks {
        if let Ok(r) = t.await {
            all.lat_us.extend(r.lat_us);
            all.missing.extend(r.missing);
            all.done += r.done;
            all.errors += r.errors;
            if all.first_error.is_none() {
                all.first_error = r.first_error;
            }
        }
    }
    let sent = next.load(Ordering::Relaxed).min(range.len());
    all.missing.extend_from_slice(&range[sent..]);
    all
}

/// S1: bulk PUT. Cards `0..n/2` one at a time, then `n/2..n` with 16 workers; the book holds
/// `n` cards afterwards. Whatever a capped phase left out is filled untimed (a `fill` line).
pub async fn s1(ctx: &Ctx) -> Result<Vec<Fields>> {
    let half = ctx.n / 2;
    let mut out = Vec::new();
    let mut missing = Vec::new();
    for (conc, range) in [
        (1usize, (0..half).collect::<Vec<_>>()),
        (16, (half..ctx.n).collect()),
    ] {
        let m = Meter::start(ctx.server_pid);
        let deadline = Instant::now() + Duration::from_secs_f64(ctx.max_secs);
        let count = range.len();
        let mut run = put_cards(ctx, range.clone(), conc, deadline).await;
        let secs = m.elapsed().as_secs_f64();
        let mut f = fields(json!({
            "scenario": format!("S1c{conc}"),
            "concurrency": conc,
            "cards": count,
            "done": run.done,
            "complete": run.done == count,
            "contacts_per_s": round(run.done as f64 / secs, 2),
            "p50_ms": pct_ms(&mut run.lat_us, 0.5),
            "p99_ms": pct_ms(&mut run.lat_us, 0.99),
            "errors": run.errors,
            "first_error": run.first_error,
        }));
        m.finish(&mut f);
        out.push(f);
        missing.append(&mut run.missing);
    }
    if !missing.is_empty() {
        let m = Meter::start(ctx.server_pid);
        let mut f = if ctx.kind == Kind::Radicale {
            // Radicale's PUT costs O(book size), so filling 10,000 cards one by one takes
            // too long: upload the whole book in one PUT to the collection (Radicale names
            // the members UID.vcf, the names the scenarios use).
            let mut body = String::new();
            for i in 0..ctx.n {
                body.push_str(&data::card(i, 0));
            }
            let r = ctx
                .dav
                .send(
                    "PUT",
                    &ctx.dav.book,
                    &[("content-type", "text/vcard; charset=utf-8")],
                    Some(body),
                )
                .await?;
            fields(json!({
                "scenario": "fill",
                "method": "one PUT of the whole book to the collection",
                "missing": missing.len(),
                "status": r.status,
            }))
        } else if let (Kind::Xandikos, Some(repo)) = (ctx.kind, &ctx.xandikos_repo) {
            // Xandikos commits every PUT to git and its PUT cost grows with the book (a
            // 4-worker fill reached 7,005 of 10,000 cards in 480 s): write the missing
            // cards into its working tree and commit them at once, which Xandikos reads
            // back from the git index like its own writes.
            let created = git_fill(repo, &missing)?;
            fields(json!({
                "scenario": "fill",
                "method": "one git commit of the missing cards in Xandikos's working tree",
                "missing": missing.len(),
                "created": created,
            }))
        } else {
            let deadline = Instant::now() + Duration::from_secs_f64(ctx.max_secs * 4.0);
            let run = put_cards(ctx, missing.clone(), 4, deadline).await;
            fields(json!({
                "scenario": "fill",
                "method": "PUT with 4 workers",
                "missing": missing.len(),
                "created": run.done,
                "errors": run.errors,
                "first_error": run.first_error,
            }))
        };
        m.finish(&mut f);
        out.push(f);
    }
    Ok(out)
}

/// Writes cards `missing` (revision 0, named as the scenarios name them) into a git
/// working tree and commits them; returns how many were written.
fn git_fill(repo: &std::path::Path, missing: &[usize]) -> Result<usize> {
    for &i in missing {
        std::fs::write(repo.join(data::href_name(i)), data::card(i, 0))?;
    }
    for args in [
        &["add", "-A"][..],
        &[
            "-c",
            "user.name=bench",
            "-c",
            "user.email=bench@localhost",
            "commit",
            "-q",
            "-m",
            "bench fill",
        ][..],
    ] {
        let st = std::process::Command::new("git")
            .arg("-C")
            .arg(repo)
            .args(args)
            .status()?;
        if !st.success() {
            bail!("git {args:?} in {}: {st}", repo.display());
        }
    }
    Ok(missing.len())
}

/// Member hrefs from a PROPFIND Depth 1 of the book (everything that is not a collection).
fn member_hrefs(doc: &str) -> Vec<String> {
    dav::entries(doc)
        .into_iter()
        .map(|e| e.href)
        .filter(|h| !h.ends_with('/'))
        .collect()
}

/// S2: a phone's initial sync: PROPFIND Depth 1, then addressbook-multiget by 100.
pub async fn s2(ctx: &Ctx) -> Result<Fields> {
    let m = Meter::start(ctx.server_pid);
    let deadline = Instant::now() + Duration::from_secs_f64(ctx.max_secs);
    let list = ctx
        .dav
        .propfind(&ctx.dav.book, "1", dav::PROPFIND_LIST)
        .await?;
    if list.status != 207 {
        bail!("S2 PROPFIND: {}", list.status);
    }
    let mut bytes = list.body.len();
    let hrefs = member_hrefs(list.text());
    let mut requests = 1;
    let mut cards = 0;
    let mut errors = 0;
    let mut complete = true;
    for chunk in hrefs.chunks(100) {
        if Instant::now() >= deadline {
            complete = false;
            break;
        }
        let r = ctx
            .dav
            .report(&ctx.dav.book, "1", dav::multiget_body(chunk))
            .await?;
        requests += 1;
        bytes += r.body.len();
        if r.status != 207 {
            errors += 1;
        }
        cards += r.text().matches("BEGIN:VCARD").count();
    }
    let mut f = fields(json!({
        "scenario": "S2",
        "seconds": round(m.elapsed().as_secs_f64(), 4),
        "bytes": bytes,
        "members_listed": hrefs.len(),
        "cards_received": cards,
        "requests": requests,
        "errors": errors,
        "complete": complete,
    }));
    m.finish(&mut f);
    Ok(f)
}

/// A whole sync-collection answer: RFC 6578 §3.6 lets a server truncate it (a 507 response
/// for the collection) and continue from the token it gave; a client follows the pages.
pub struct SyncAll {
    pub status: u16,
    pub ms: f64,
    pub bytes: usize,
    pub pages: usize,
    pub token: String,
    /// Members with an ETag (changed or new), by href.
    pub etags: Vec<(String, String)>,
    /// Every member response (changed, new or deleted).
    pub entries: usize,
}

pub async fn sync_all(dav: &Dav, from: &str) -> Result<SyncAll> {
    let mut all = SyncAll {
        status: 207,
        ms: 0.0,
        bytes: 0,
        pages: 0,
        token: from.to_string(),
        etags: Vec::new(),
        entries: 0,
    };
    // Bounded: 1,000 pages of the smallest page any server uses is far beyond any N here.
    for _ in 0..1000 {
        let r = dav.sync(&all.token).await?;
        all.pages += 1;
        all.ms += r.elapsed.as_secs_f64() * 1000.0;
        all.bytes += r.body.len();
        if r.status != 207 {
            all.status = r.status;
            return Ok(all);
        }
        let doc = r.text();
        let truncated = dav::truncated(doc);
        if let Some(t) = dav::first_text(doc, "sync-token") {
            all.token = t;
        }
        for e in dav::entries(doc) {
            if e.href.ends_with('/') {
                continue;
            }
            all.entries += 1;
            if let Some(t) = e.etag {
                all.etags.push((e.href, t));
            }
        }
        if !truncated {
            break;
        }
    }
    Ok(all)
}

/// S3: sync-collection: initial (median of 3), 10 changes, then the incremental sync from
/// the initial token (median of 20 identical requests).
pub async fn s3(ctx: &Ctx) -> Result<Fields> {
    let m = Meter::start(ctx.server_pid);
    let mut initial_ms = Vec::new();
    let mut initial_bytes = 0;
    let mut token = String::new();
    let mut etags = std::collections::HashMap::new();
    let mut initial_pages = 0;
    for _ in 0..3 {
        let r = sync_all(&ctx.dav, "").await?;
        if r.status != 207 {
            let mut f = fields(json!({
                "scenario": "S3",
                "initial_ms": null, "incremental_ms": null,
                "note": format!("sync-collection answered {}", r.status),
            }));
            m.finish(&mut f);
            return Ok(f);
        }
        initial_ms.push(r.ms);
        initial_bytes = r.bytes;
        initial_pages = r.pages;
        token = r.token;
        etags = r.etags.into_iter().collect();
        if m.elapsed().as_secs_f64() > ctx.repeat_max_secs {
            break;
        }
    }
    let initial_members = etags.len();
    // Ten edits with If-Match from the listing (untimed).
    let mut changed = 0;
    for i in contact_indices(ctx.n, 10, 1) {
        let url = ctx.dav.member(&data::href_name(i));
        let suffix = format!("/{}", data::href_name(i));
        let etag = etags
            .iter()
            .find(|(h, _)| h.ends_with(&suffix))
            .map(|(_, e)| e.clone());
        let cond = etag.as_deref().map(|e| ("if-match", e));
        let r = ctx.dav.put(&url, data::card(i, 1), cond).await?;
        if r.ok() {
            changed += 1;
        }
    }
    let mut inc_ms = Vec::new();
    let mut inc_bytes = 0;
    let mut seen = 0;
    let mut inc_errors = 0;
    let t = Instant::now();
    let mut inc_pages = 0;
    for _ in 0..20 {
        let r = sync_all(&ctx.dav, &token).await?;
        if r.status != 207 {
            inc_errors += 1;
            continue;
        }
        inc_ms.push(r.ms);
        inc_bytes = r.bytes;
        inc_pages = r.pages;
        seen = r.entries;
        if t.elapsed().as_secs_f64() > ctx.repeat_max_secs {
            break;
        }
    }
    let mut f = fields(json!({
        "scenario": "S3",
        "initial_ms": median_f(&mut initial_ms).map(|x| round(x, 3)),
        "initial_bytes": initial_bytes,
        "initial_members": initial_members,
        "initial_pages": initial_pages,
        "incremental_pages": inc_pages,
        "changes_made": changed,
        "incremental_ms": median_f(&mut inc_ms).map(|x| round(x, 3)),
        "incremental_bytes": inc_bytes,
        "incremental_entries": seen,
        "incremental_errors": inc_errors,
    }));
    m.finish(&mut f);
    Ok(f)
}

/// S4: sequential PROPFIND Depth 0 for getctag + sync-token (what iOS sends on every open).
pub async fn s4(ctx: &Ctx) -> Result<Fields> {
    let m = Meter::start(ctx.server_pid);
    let mut lat = Vec::with_capacity(ctx.s4_requests);
    let mut errors = 0;
    let mut complete = true;
    for _ in 0..ctx.s4_requests {
        if m.elapsed().as_secs_f64() > ctx.repeat_max_secs {
            complete = false;
            break;
        }
        match ctx
            .dav
            .propfind(&ctx.dav.book, "0", dav::PROPFIND_CTAG)
            .await
        {
            Ok(r) if r.status == 207 => lat.push(r.elapsed.as_micros() as u64),
            _ => errors += 1,
        }
    }
    let secs = m.elapsed().as_secs_f64();
    let mut f = fields(json!({
        "scenario": "S4",
        "requests": lat.len() + errors,
        "complete": complete,
        "req_per_s": round(lat.len() as f64 / secs, 2),
        "p50_ms": pct_ms(&mut lat, 0.5),
        "p99_ms": pct_ms(&mut lat, 0.99),
        "errors": errors,
    }));
    m.finish(&mut f);
    Ok(f)
}

#[derive(Default)]
struct MixStats {
    lat: [Vec<u64>; 4],
    errors: usize,
    conflicts: usize,
    first_error: Option<String>,
}

const OPS: [&str; 4] = ["propfind", "sync", "get", "put"];

/// S5: `s5_clients` concurrent clients for `s5_secs`: 40% PROPFIND Depth 0, 40%
/// sync-collection from the client's own token, 15% GET, 5% GET + PUT with If-Match (a 412
/// is a conflict, not an error).
pub async fn s5(ctx: &Ctx) -> Result<Fields> {
    // The clients start from a complete initial sync (all pages), as a phone would.
    let r = sync_all(&ctx.dav, "").await?;
    let start_token = (r.status == 207).then_some(r.token);
    let contacts: Arc<Vec<usize>> = Arc::new((0..ctx.n).filter(|&i| !data::is_group(i)).collect());
    let m = Meter::start(ctx.server_pid);
    let deadline = Instant::now() + Duration::from_secs_f64(ctx.s5_secs.min(ctx.max_secs));
    let mut tasks = Vec::new();
    for c in 0..ctx.s5_clients {
        let dav = ctx.dav.clone();
        let contacts = contacts.clone();
        let mut token = start_token.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = data::Rng::new(0xC11E_0000 + c as u64);
            let mut st = MixStats::default();
            let err = |st: &mut MixStats, what: String| {
                st.errors += 1;
                st.first_error.get_or_insert(what);
            };
            while Instant::now() < deadline {
                let bound = deadline + Duration::from_secs(10);
                let roll = rng.below(100);
                let op = match roll {
                    0..40 => 0,
                    40..80 => 1,
                    80..95 => 2,
                    _ => 3,
                };
                let op = if op == 1 && token.is_none() { 0 } else { op };
                let i = contacts[rng.below(contacts.len())];
                let url = dav.member(&data::href_name(i));
                let work = async {
                    match op {
                        0 => dav
                            .propfind(&dav.book, "0", dav::PROPFIND_CTAG)
                            .await
                            .map(|r| (r, 207)),
                        1 => dav
                            .sync(token.as_deref().unwrap_or(""))
                            .await
                            .map(|r| (r, 207)),
                        2 => dav.get(&url).await.map(|r| (r, 200)),
                        _ => match dav.get(&url).await {
                            Ok(g) if g.status == 200 => {
                                let rev = 2 + rng.below(1_000_000) as u32;
                                let cond = g.etag.clone();
                                dav.put(
                                    &url,
                                    data::card(i, rev),
                                    cond.as_deref().map(|e| ("if-match", e)),
                                )
                                .await
                                .map(|r| (r, 204))
                            }
                            Ok(g) => Err(anyhow::anyhow!("GET before PUT: {}", g.status)),
                            Err(e) => Err(e),
                        },
                    }
                };
                // A request still unanswered 10 s after the end of the run is an error.
                let res = match tokio::time::timeout_at(bound.into(), work).await {
                    Ok(r) => r,
                    Err(_) => Err(anyhow::anyhow!(
                        "{} {}: no answer by the end of the run + 10 s",
                        OPS[op],
                        url
                    )),
                };
                match res {
                    Ok((r, want)) => {
                        let good = r.status == want || (op == 3 && r.ok());
                        if good {
                            st.lat[op].push(r.elapsed.as_micros() as u64);
                            if op == 1
                                && let Some(t) = dav::first_text(r.text(), "sync-token")
                            {
                                token = Some(t);
                            }
                        } else if op == 3 && r.status == 412 {
                            st.conflicts += 1;
                            st.lat[op].push(r.elapsed.as_micros() as u64);
                        } else {
                            err(&mut st, format!("{} {}: {}", OPS[op], url, r.status));
                        }
                    }
                    Err(e) => err(&mut st, format!("{e:#}")),
                }
            }
            st
        }));
    }
    let mut all = MixStats::default();
    for t in tasks {
        match t.await {
            Ok(s) => {
                for k in 0..4 {
                    all.lat[k].extend_from_slice(&s.lat[k]);
                }
                all.errors += s.errors;
                all.conflicts += s.conflicts;
                if all.first_error.is_none() {
                    all.first_error = s.first_error;
                }
            }
            Err(_) => all.errors += 1,
        }
    }
    let secs = m.elapsed().as_secs_f64();
    let mut every: Vec<u64> = all.lat.iter().flatten().copied().collect();
    let ops = every.len();
    let mut f = fields(json!({
        "scenario": "S5",
        "clients": ctx.s5_clients,
        "seconds": round(secs, 3),
        "ops": ops,
        "ops_per_s": round(ops as f64 / secs, 2),
        "p50_ms": pct_ms(&mut every, 0.5),
        "p99_ms": pct_ms(&mut every, 0.99),
        "errors": all.errors,
        "conflicts_412": all.conflicts,
        "first_error": all.first_error,
        "sync_supported": start_token.is_some(),
    }));
    for (k, name) in OPS.iter().enumerate() {
        f.insert(format!("{name}_count"), json!(all.lat[k].len()));
        f.insert(
            format!("{name}_p99_ms"),
            json!(pct_ms(&mut all.lat[k], 0.99)),
        );
    }
    m.finish(&mut f);
    Ok(f)
}

/// The If-Match race: two concurrent PUTs of different edits from the same ETag. A refused
/// write must be a 412; every accepted edit must be in the stored card.
pub async fn race(ctx: &Ctx) -> Result<Fields> {
    let m = Meter::start(ctx.server_pid);
    let (mut both, mut one412, mut lost, mut errors) = (0, 0, 0, 0);
    let mut first_error: Option<String> = None;
    let mut trials = 0;
    for (t, i) in contact_indices(ctx.n, ctx.race_trials, 3)
        .into_iter()
        .enumerate()
    {
        if m.elapsed().as_secs_f64() > ctx.max_secs {
            break;
        }
        trials += 1;
        let url = ctx.dav.member(&data::href_name(i));
        let g = ctx.dav.get(&url).await?;
        let Some(etag) = g.etag.clone().filter(|_| g.status == 200) else {
            errors += 1;
            first_error.get_or_insert(format!("GET {url}: {} (or no ETag)", g.status));
            continue;
        };
        let base = g.text().to_string();
        let marks = [format!("TITLE:race-a-{t}"), format!("NICKNAME:race-b-{t}")];
        let a = data::with_line(&base, &marks[0]);
        let b = data::with_line(&base, &marks[1]);
        let (ra, rb) = tokio::join!(
            ctx.dav.put(&url, a, Some(("if-match", &etag))),
            ctx.dav.put(&url, b, Some(("if-match", &etag)))
        );
        let statuses = [ra?.status, rb?.status];
        let stored = ctx.dav.get(&url).await?;
        let text = stored.text();
        let mut accepted = 0;
        for (s, mark) in statuses.iter().zip(&marks) {
            if (200..300).contains(s) {
                accepted += 1;
                if !text.contains(mark.as_str()) {
                    lost += 1;
                }
            } else if *s != 412 {
                errors += 1;
                first_error.get_or_insert(format!("PUT {url}: {s}"));
            }
        }
        match accepted {
            2 => both += 1,
            1 if statuses.contains(&412) => one412 += 1,
            _ => {}
        }
    }
    let mut f = fields(json!({
        "scenario": "race",
        "trials": trials,
        "both_accepted": both,
        "one_refused_412": one412,
        "lost_updates": lost,
        "errors": errors,
        "first_error": first_error,
    }));
    m.finish(&mut f);
    Ok(f)
}

/// The uplink (dialbook only): POST of `uplink_n` cards as one `text/vcard` body to a fresh
/// address book, then the same body again (must change nothing).
pub async fn uplink(ctx: &Ctx) -> Result<Fields> {
    if ctx.kind != Kind::Dialbook {
        return Ok(fields(json!({
            "scenario": "uplink",
            "first_s": null, "second_s": null,
            "note": format!("{} has no bulk merge endpoint", ctx.kind.name()),
        })));
    }
    let home = ctx.dav.book.trim_end_matches('/');
    let home = &home[..home.rfind('/').unwrap_or(home.len()) + 1];
    let book = format!("{home}bench-uplink/");
    let r = ctx
        .dav
        .send(
            "MKCOL",
            &book,
            &[("content-type", "application/xml; charset=utf-8")],
            Some(dav::MKCOL_ADDRESSBOOK.to_string()),
        )
        .await?;
    if r.status != 201 {
        bail!("MKCOL {book}: {} {}", r.status, r.text());
    }
    let mut body = String::new();
    for i in 0..ctx.uplink_n {
        body.push_str(&data::card(i, 0));
    }
    let m = Meter::start(ctx.server_pid);
    let mut passes = Vec::new();
    for _ in 0..2 {
        let r = ctx
            .dav
            .send(
                "POST",
                &book,
                &[("content-type", "text/vcard; charset=utf-8")],
                Some(body.clone()),
            )
            .await?;
        if r.status != 200 {
            bail!("uplink POST: {} {}", r.status, r.text());
        }
        let rep: Value = serde_json::from_slice(&r.body)?;
        passes.push((r.elapsed.as_secs_f64(), rep));
    }
    let count = |k: usize, key: &str| passes[k].1.get(key).and_then(Value::as_u64).unwrap_or(0);
    let mut f = fields(json!({
        "scenario": "uplink",
        "cards": ctx.uplink_n,
        "body_bytes": body.len(),
        "first_s": round(passes[0].0, 4),
        "second_s": round(passes[1].0, 4),
        "first_created": count(0, "created"),
        "first_merged": count(0, "merged"),
        "second_unchanged": count(1, "unchanged"),
        "idempotent": count(1, "created") == 0 && count(1, "merged") == 0,
    }));
    m.finish(&mut f);
    Ok(f)
}
