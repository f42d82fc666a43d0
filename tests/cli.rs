//! The `dialbook` binary as a newcomer and an admin use it: first run, account commands,
//! migrations, health and graceful shutdown. Every test runs the real executable in its
//! own data directory; when `DATABASE_URL` points at PostgreSQL, every test also gets a
//! fresh database (`t_<uuid>`, dropped at the end) passed with `--database-url`, so first
//! runs never collide. The environment's `DATABASE_URL` and `DIALBOOK_*` variables are
//! never passed through to the binary.
//!
//! HTTP is spoken over a raw `std::net::TcpStream` (HTTP/1.1, `Connection: close`) so a
//! test can send half a request, signal the server and send the rest.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;

const BIN: &str = env!("CARGO_BIN_EXE_dialbook");
const FIRST_NUMBER: &str = "+442079460000";
/// Startup runs migrations and hashes a password (argon2 is optimised even in debug
/// builds); generous because tests run in parallel with other builds on the machine.
const START_TIMEOUT: Duration = Duration::from_secs(60);
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// A SIGTERM must end an idle server well before the 30 s drain limit.
const EXIT_TIMEOUT: Duration = Duration::from_secs(10);
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// Variables the binary reads through clap; none may leak in from the test environment.
const ENV_VARS: &[&str] = &[
    "DATABASE_URL",
    "DIALBOOK_CONFIG",
    "DIALBOOK_DATA_DIR",
    "DIALBOOK_REGION",
    "DIALBOOK_LISTEN",
    "DIALBOOK_PUBLIC_URL",
    "DIALBOOK_FIRST_NUMBER",
    "DIALBOOK_LOG",
];

const PROPFIND_PRINCIPAL: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:"><D:prop><D:current-user-principal/></D:prop></D:propfind>"#;

// ---------------------------------------------------------------------------------------
// Helpers: per-test environment, child-process guard, captured output, tiny HTTP client.
// ---------------------------------------------------------------------------------------

/// A fresh PostgreSQL database for one test, dropped (forcibly) when the test ends.
struct PgDatabase {
    admin_url: String,
    name: String,
    url: String,
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(f)
}

/// `postgres://user@host:port/db?query` with `db` replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (before_query, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = before_query.find("://").map_or(0, |i| i + 3);
    let base = match before_query[authority_start..].find('/') {
        Some(i) => &before_query[..authority_start + i],
        None => before_query,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

impl PgDatabase {
    fn create(admin_url: &str) -> PgDatabase {
        use sea_orm::ConnectionTrait;
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        block_on(async {
            let db = sea_orm::Database::connect(admin_url)
                .await
                .expect("connect to DATABASE_URL to create a test database");
            db.execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .expect("create test database");
            let _ = db.close().await;
        });
        PgDatabase {
            admin_url: admin_url.to_string(),
            url: with_database(admin_url, &name),
            name,
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        use sea_orm::ConnectionTrait;
        let (admin, name) = (self.admin_url.clone(), self.name.clone());
        let dropped = block_on(async move {
            let db = sea_orm::Database::connect(admin.as_str()).await?;
            db.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await?;
            db.close().await
        });
        if let Err(e) = dropped {
            eprintln!("could not drop test database {}: {e}", self.name);
        }
    }
}

/// One test's world: a temporary directory holding the data directory (which does not
/// exist until the binary creates it), and on PostgreSQL runs a fresh database.
struct TestEnv {
    data_dir: PathBuf,
    pg: Option<PgDatabase>,
    _tmp: tempfile::TempDir,
}

impl TestEnv {
    fn new() -> TestEnv {
        let tmp = tempfile::tempdir().expect("tempdir");
        let pg = std::env::var("DATABASE_URL")
            .ok()
            .filter(|u| u.starts_with("postgres"))
            .map(|u| PgDatabase::create(&u));
        TestEnv {
            data_dir: tmp.path().join("data"),
            pg,
            _tmp: tmp,
        }
    }

    fn is_sqlite(&self) -> bool {
        self.pg.is_none()
    }

    /// `dialbook ARGS --data-dir DIR [--database-url URL]` with a clean environment.
    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.args(args).arg("--data-dir").arg(&self.data_dir);
        if let Some(pg) = &self.pg {
            c.arg("--database-url").arg(&pg.url);
        }
        for v in ENV_VARS {
            c.env_remove(v);
        }
        c.env("NO_COLOR", "1");
        c
    }

    /// Runs a one-shot command to completion (bounded), feeding `stdin` if given.
    fn run(&self, args: &[&str], stdin: Option<&str>) -> Outcome {
        let mut c = self.command(args);
        c.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        let mut child = Guard(
            c.stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn dialbook"),
        );
        if let Some(input) = stdin {
            let mut pipe = child.0.stdin.take().expect("stdin pipe");
            pipe.write_all(input.as_bytes()).expect("write stdin");
            // Dropping the pipe closes it: the binary reads to end of file.
        }
        let stdout = Lines::capture(child.0.stdout.take().expect("stdout pipe"));
        let stderr = Lines::capture(child.0.stderr.take().expect("stderr pipe"));
        let status = child.wait_exit(COMMAND_TIMEOUT).unwrap_or_else(|| {
            panic!(
                "dialbook {args:?} did not finish within {COMMAND_TIMEOUT:?}; stderr:\n{}",
                stderr.text()
            )
        });
        stdout.wait_closed(IO_TIMEOUT);
        stderr.wait_closed(IO_TIMEOUT);
        Outcome {
            status,
            stdout: stdout.text(),
            stderr: stderr.text(),
        }
    }

    /// Runs a command that must succeed; returns its standard output.
    fn ok(&self, args: &[&str], stdin: Option<&str>) -> String {
        let o = self.run(args, stdin);
        assert!(
            o.status.success(),
            "dialbook {args:?} failed ({}):\nstdout:\n{}\nstderr:\n{}",
            o.status,
            o.stdout,
            o.stderr
        );
        o.stdout
    }

    /// `dialbook serve --listen 127.0.0.1:0 EXTRA…`, returned once it prints its address.
    fn serve(&self, extra: &[&str]) -> Server {
        let mut args = vec!["serve", "--listen", "127.0.0.1:0"];
        args.extend_from_slice(extra);
        let mut c = self.command(&args);
        let mut child = Guard(
            c.stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn dialbook serve"),
        );
        let stdout = Lines::capture(child.0.stdout.take().expect("stdout pipe"));
        let stderr = Lines::capture(child.0.stderr.take().expect("stderr pipe"));
        let line = stdout.wait_for(START_TIMEOUT, |l| l.starts_with("dialbook listening on "));
        let Some(line) = line else {
            panic!(
                "no listening line within {START_TIMEOUT:?} (exit: {:?})\nstdout:\n{}\nstderr:\n{}",
                child.0.try_wait(),
                stdout.text(),
                stderr.text()
            );
        };
        let addr = line
            .strip_prefix("dialbook listening on http://")
            .and_then(|r| r.strip_suffix('/'))
            .unwrap_or_else(|| panic!("unexpected listening line {line:?}"))
            .to_string();
        Server {
            child,
            addr,
            stdout,
            stderr,
        }
    }
}

struct Outcome {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// Kills the child if it is still running when dropped (a failing test never leaks it).
struct Guard(Child);

impl Guard {
    /// Waits up to `timeout` for the process to exit.
    fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(s) = self.0.try_wait().expect("try_wait") {
                return Some(s);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Lines read so far, and whether the pipe reached end of file.
type Collected = Mutex<(Vec<String>, bool)>;

/// Lines of a child's stdout or stderr, collected by a reader thread.
#[derive(Clone)]
struct Lines(Arc<(Collected, Condvar)>);

impl Lines {
    fn capture(pipe: impl Read + Send + 'static) -> Lines {
        let lines = Lines(Arc::new((Mutex::new((Vec::new(), false)), Condvar::new())));
        let shared = lines.clone();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(pipe);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match reader.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let line = String::from_utf8_lossy(&buf).trim_end().to_string();
                        let (m, cv) = &*shared.0;
                        m.lock().unwrap().0.push(line);
                        cv.notify_all();
                    }
                }
            }
            let (m, cv) = &*shared.0;
            m.lock().unwrap().1 = true;
            cv.notify_all();
        });
        lines
    }

    /// The first line matching `pred`, waiting up to `timeout` for it.
    fn wait_for(&self, timeout: Duration, pred: impl Fn(&str) -> bool) -> Option<String> {
        let deadline = Instant::now() + timeout;
        let (m, cv) = &*self.0;
        let mut g = m.lock().unwrap();
        loop {
            if let Some(l) = g.0.iter().find(|l| pred(l)) {
                return Some(l.clone());
            }
            let now = Instant::now();
            if g.1 || now >= deadline {
                return None;
            }
            g = cv.wait_timeout(g, deadline - now).unwrap().0;
        }
    }

    /// Waits (bounded) until the pipe reached end of file.
    fn wait_closed(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let (m, cv) = &*self.0;
        let mut g = m.lock().unwrap();
        while !g.1 {
            let now = Instant::now();
            if now >= deadline {
                return;
            }
            g = cv.wait_timeout(g, deadline - now).unwrap().0;
        }
    }

    fn text(&self) -> String {
        self.0.0.lock().unwrap().0.join("\n")
    }
}

/// A running `dialbook serve`.
struct Server {
    child: Guard,
    /// `127.0.0.1:PORT`, parsed from the listening line.
    addr: String,
    stdout: Lines,
    stderr: Lines,
}

impl Server {
    fn request(
        &self,
        method: &str,
        path: &str,
        auth: Option<(&str, &str)>,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Resp {
        let mut s = self.connect();
        s.write_all(&request_head(method, path, auth, headers, body.len()))
            .expect("send head");
        s.write_all(body).expect("send body");
        read_response(&mut s)
    }

    /// PROPFIND `/dav/` Depth 0 for `current-user-principal` as `user`.
    fn propfind_root(&self, user: &str, password: &str) -> Resp {
        self.request(
            "PROPFIND",
            "/dav/",
            Some((user, password)),
            &[("Depth", "0"), ("Content-Type", "application/xml")],
            PROPFIND_PRINCIPAL.as_bytes(),
        )
    }

    /// The status a PROPFIND `/dav/` with these credentials gets.
    fn login_status(&self, user: &str, password: &str) -> u16 {
        self.propfind_root(user, password).status
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(&self.addr).expect("connect to server");
        s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        s.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
        s
    }

    fn sigterm(&self) {
        let pid = self.child.0.id().to_string();
        let st = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("run kill");
        assert!(st.success(), "kill -TERM {pid} failed");
    }

    /// Sends SIGTERM and returns the exit status (bounded wait).
    fn terminate(mut self) -> ExitStatus {
        self.sigterm();
        self.child.wait_exit(EXIT_TIMEOUT).unwrap_or_else(|| {
            panic!(
                "server still running {EXIT_TIMEOUT:?} after SIGTERM; stderr:\n{}",
                self.stderr.text()
            )
        })
    }

    /// The value after `label` on the first stdout line that contains it.
    fn printed(&self, label: &str) -> Option<String> {
        printed(&self.stdout.text(), label)
    }
}

fn printed(text: &str, label: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.trim().strip_prefix(label).map(|v| v.trim().to_string()))
}

#[derive(Debug)]
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn request_head(
    method: &str,
    path: &str,
    auth: Option<(&str, &str)>,
    headers: &[(&str, &str)],
    content_length: usize,
) -> Vec<u8> {
    let mut h = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         Content-Length: {content_length}\r\n"
    );
    if let Some((user, password)) = auth {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        h.push_str(&format!("Authorization: Basic {token}\r\n"));
    }
    for (k, v) in headers {
        h.push_str(&format!("{k}: {v}\r\n"));
    }
    h.push_str("\r\n");
    h.into_bytes()
}

/// Reads an interim `100 Continue` response (status line and the empty line after it).
fn read_interim_continue(s: &mut TcpStream) {
    let mut got = Vec::new();
    let mut byte = [0u8; 1];
    while !got.ends_with(b"\r\n\r\n") {
        assert!(got.len() < 1024, "no end of the interim response: {got:?}");
        s.read_exact(&mut byte).expect("interim response");
        got.push(byte[0]);
    }
    assert!(
        got.starts_with(b"HTTP/1.1 100"),
        "expected 100 Continue, got {:?}",
        String::from_utf8_lossy(&got)
    );
}

/// Reads a whole `Connection: close` response (Content-Length, chunked or until EOF).
fn read_response(s: &mut TcpStream) -> Resp {
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read response");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(&raw)));
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if chunked {
        body = dechunk(&body);
    }
    Resp {
        status,
        headers,
        body: String::from_utf8_lossy(&body).to_string(),
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = data.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&data[..eol]);
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16).expect("chunk size");
        if size == 0 {
            break;
        }
        let start = eol + 2;
        out.extend_from_slice(&data[start..start + size]);
        data = &data[start + size + 2..];
    }
    out
}

/// The path of a card in an account's default book.
fn card_path(number: &str, name: &str) -> String {
    format!("/dav/addressbooks/{number}/contacts/{name}")
}

fn vcard(uid: &str, name: &str, note_len: usize) -> String {
    // A long NOTE, folded into short lines, keeps the body a valid vCard of any size.
    let note: String = "n".repeat(note_len);
    let mut folded = String::new();
    for (i, chunk) in note.as_bytes().chunks(70).enumerate() {
        if i > 0 {
            folded.push_str("\r\n ");
        }
        folded.push_str(std::str::from_utf8(chunk).unwrap());
    }
    format!(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nFN:{name}\r\nN:{name};;;;\r\n\
         TEL;TYPE=CELL:+44 7700 900123\r\nNOTE:{folded}\r\nEND:VCARD\r\n"
    )
}

fn database_file(env: &TestEnv) -> PathBuf {
    env.data_dir.join("dialbook.db")
}

fn exists(p: &Path) -> bool {
    std::fs::metadata(p).is_ok()
}

// ---------------------------------------------------------------------------------------
// First run
// ---------------------------------------------------------------------------------------

#[test]
fn first_run_creates_data_dir_and_database_and_prints_number_password_and_url() {
    let env = TestEnv::new();
    assert!(!exists(&env.data_dir), "the data directory starts absent");
    let server = env.serve(&[]);

    if env.is_sqlite() {
        assert!(env.data_dir.is_dir(), "serve creates the data directory");
        assert!(
            database_file(&env).is_file(),
            "serve creates {}",
            database_file(&env).display()
        );
    } else {
        assert!(
            !exists(&database_file(&env)),
            "with --database-url no SQLite file is created"
        );
    }
    let out = server.stdout.text();
    assert_eq!(
        server.printed("phone number:").as_deref(),
        Some(FIRST_NUMBER),
        "stdout:\n{out}"
    );
    let password = server.printed("password:").expect("a password line");
    assert_eq!(password.len(), 20, "generated password {password:?}");
    assert!(password.chars().all(|c| c.is_ascii_alphanumeric()));
    assert_eq!(
        server.printed("server URL:"),
        Some(format!("http://{}/", server.addr)),
        "stdout:\n{out}"
    );
    assert_eq!(
        out.matches(&password).count(),
        1,
        "the password is printed exactly once:\n{out}"
    );
    assert!(
        !server.stderr.text().contains(&password),
        "the password never reaches the log"
    );
}

#[test]
fn first_account_logs_in_with_printed_number_and_password() {
    let env = TestEnv::new();
    let server = env.serve(&[]);
    let password = server.printed("password:").expect("a password line");

    let r = server.propfind_root(FIRST_NUMBER, &password);
    assert_eq!(r.status, 207, "{}", r.body);
    assert!(
        r.body.contains(&format!("/dav/principals/{FIRST_NUMBER}/")),
        "current-user-principal names the first account: {}",
        r.body
    );
    // The README: log in with the number in any international form.
    assert_eq!(server.login_status("+44 20 7946 0000", &password), 207);
    assert_eq!(server.login_status(FIRST_NUMBER, "wrong-password"), 401);
    assert_eq!(server.login_status("+442079460001", &password), 401);
}

#[test]
fn first_number_flag_names_the_first_account() {
    let env = TestEnv::new();
    let server = env.serve(&["--first-number", "+44 20 7946 0999"]);
    assert_eq!(
        server.printed("phone number:").as_deref(),
        Some("+442079460999"),
        "the printed number is normalised to E.164"
    );
    let password = server.printed("password:").expect("a password line");
    assert_eq!(server.login_status("+442079460999", &password), 207);
    assert_eq!(server.login_status(FIRST_NUMBER, &password), 401);
}

#[test]
fn invalid_first_number_fails_to_start_with_a_message() {
    let env = TestEnv::new();
    let o = env.run(
        &["serve", "--listen", "127.0.0.1:0", "--first-number", "abc"],
        None,
    );
    assert!(!o.status.success(), "stdout:\n{}", o.stdout);
    assert!(
        o.stderr.contains("\"abc\" is not a phone number"),
        "stderr:\n{}",
        o.stderr
    );
}

#[test]
fn second_run_prints_no_password_and_first_password_still_works() {
    let env = TestEnv::new();
    let first = env.serve(&[]);
    let password = first.printed("password:").expect("a password line");
    assert_eq!(first.login_status(FIRST_NUMBER, &password), 207);
    let status = first.terminate();
    assert!(status.success(), "exit status {status}");

    let second = env.serve(&[]);
    let out = second.stdout.text();
    assert!(
        second.printed("password:").is_none() && second.printed("phone number:").is_none(),
        "credentials are shown only on the first run:\n{out}"
    );
    assert!(!out.contains(&password), "{out}");
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        [format!("dialbook listening on http://{}/", second.addr)],
        "a second run prints only where it listens"
    );
    assert_eq!(second.login_status(FIRST_NUMBER, &password), 207);
}

#[test]
fn serve_creates_no_first_account_when_accounts_exist() {
    let env = TestEnv::new();
    env.ok(
        &["account", "add", "+442079460123", "--password-stdin"],
        Some("admin-made\n"),
    );
    let server = env.serve(&[]);
    assert!(
        server.printed("password:").is_none(),
        "{}",
        server.stdout.text()
    );
    assert_eq!(server.login_status("+442079460123", "admin-made"), 207);
    let list = env.ok(&["account", "list"], None);
    assert_eq!(list.lines().collect::<Vec<_>>(), ["+442079460123"]);
}

#[test]
fn health_answers_200_without_credentials() {
    let env = TestEnv::new();
    let server = env.serve(&[]);
    let r = server.request("GET", "/health", None, &[], b"");
    assert_eq!(r.status, 200, "{r:?}");
    // Everything else needs credentials.
    let r = server.request("PROPFIND", "/dav/", None, &[("Depth", "0")], b"");
    assert_eq!(r.status, 401);
    assert!(
        r.header("www-authenticate")
            .is_some_and(|v| v.to_ascii_lowercase().starts_with("basic")),
        "{r:?}"
    );
}

// ---------------------------------------------------------------------------------------
// Accounts
// ---------------------------------------------------------------------------------------

#[test]
fn account_add_with_password_stdin_creates_normalised_number() {
    let env = TestEnv::new();
    let out = env.ok(
        &["account", "add", "+44 20 7946 0123", "--password-stdin"],
        Some("s3cret-pass\n"),
    );
    assert_eq!(out.trim(), "created account +442079460123");
    assert!(
        !out.contains("s3cret-pass") && !out.contains("password:"),
        "a password given on stdin is not echoed: {out}"
    );
    let server = env.serve(&[]);
    assert_eq!(server.login_status("+442079460123", "s3cret-pass"), 207);
    assert_eq!(
        server.login_status("+442079460123", "s3cret-pass\n"),
        401,
        "the trailing newline of stdin is not part of the password"
    );
}

#[test]
fn account_add_without_password_stdin_prints_a_generated_password() {
    let env = TestEnv::new();
    let out = env.ok(&["account", "add", "+442079460124"], None);
    assert_eq!(
        printed(&out, "created account").as_deref(),
        Some("+442079460124")
    );
    let password = printed(&out, "password:").expect("a generated password");
    assert_eq!(password.len(), 20);
    let server = env.serve(&[]);
    assert_eq!(server.login_status("+442079460124", &password), 207);
}

#[test]
fn national_number_logs_in_only_when_the_server_has_a_region() {
    let env = TestEnv::new();
    env.ok(
        &["account", "add", "+442079460123", "--password-stdin"],
        Some("pw-national"),
    );
    let plain = env.serve(&[]);
    assert_eq!(
        plain.login_status("02079460123", "pw-national"),
        401,
        "without --region a national number names no account"
    );
    assert!(plain.terminate().success());

    let gb = env.serve(&["--region", "GB"]);
    assert_eq!(gb.login_status("02079460123", "pw-national"), 207);
    assert_eq!(gb.login_status("020 7946 0123", "pw-national"), 207);
    assert_eq!(gb.login_status("+442079460123", "pw-national"), 207);
}

#[test]
fn account_add_reads_national_numbers_with_region() {
    let env = TestEnv::new();
    let o = env.run(
        &["account", "add", "020 7946 0125", "--password-stdin"],
        Some("pw"),
    );
    assert!(!o.status.success(), "no region: {}", o.stdout);
    assert!(o.stderr.contains("--region"), "stderr:\n{}", o.stderr);

    let out = env.ok(
        &[
            "account",
            "add",
            "020 7946 0125",
            "--password-stdin",
            "--region",
            "GB",
        ],
        Some("pw"),
    );
    assert_eq!(out.trim(), "created account +442079460125");
}

#[test]
fn account_add_accepts_a_number_in_a_range_unknown_to_the_metadata_with_a_warning() {
    let env = TestEnv::new();
    // Ofcom's drama range: the length of a UK mobile, absent from libphonenumber's
    // metadata like any range allocated after the metadata was cut.
    let o = env.run(
        &["account", "add", "+44 7700 900123", "--password-stdin"],
        Some("pw-new-range"),
    );
    assert!(o.status.success(), "stderr:\n{}", o.stderr);
    assert_eq!(o.stdout.trim(), "created account +447700900123");
    assert!(
        o.stderr.contains("warning: +447700900123") && o.stderr.contains("range"),
        "stderr:\n{}",
        o.stderr
    );
    let server = env.serve(&[]);
    assert_eq!(server.login_status("+447700900123", "pw-new-range"), 207);
    assert_eq!(server.login_status("447700900123", "pw-new-range"), 207);
}

#[test]
fn account_add_of_a_valid_number_prints_no_warning() {
    let env = TestEnv::new();
    let o = env.run(
        &["account", "add", "+44 20 7946 0126", "--password-stdin"],
        Some("pw"),
    );
    assert!(o.status.success(), "stderr:\n{}", o.stderr);
    assert!(!o.stderr.contains("warning"), "stderr:\n{}", o.stderr);
}

#[test]
fn account_add_refuses_extensions_short_codes_and_wrong_lengths() {
    let env = TestEnv::new();
    for bad in ["+44 20 7946 0000 x12", "999", "+44 20 7946 00", "*121#"] {
        let o = env.run(&["account", "add", bad, "--password-stdin"], Some("pw"));
        assert!(!o.status.success(), "{bad}: {}", o.stdout);
        assert!(
            o.stderr.contains("is not a phone number"),
            "{bad}: stderr:\n{}",
            o.stderr
        );
    }
    assert_eq!(env.ok(&["account", "list"], None), "");
}

#[test]
fn account_list_prints_every_account_number() {
    let env = TestEnv::new();
    assert_eq!(
        env.ok(&["account", "list"], None),
        "",
        "a new database has none"
    );
    env.ok(
        &["account", "add", "+44 20 7946 0123", "--password-stdin"],
        Some("a"),
    );
    env.ok(
        &["account", "add", "+1 202 555 0143", "--password-stdin"],
        Some("b"),
    );
    let out = env.ok(&["account", "list"], None);
    let mut listed: Vec<&str> = out.lines().collect();
    listed.sort_unstable();
    assert_eq!(listed, ["+12025550143", "+442079460123"]);
}

#[test]
fn account_passwd_on_running_server_rejects_old_password_and_accepts_new() {
    let env = TestEnv::new();
    let server = env.serve(&[]);
    env.ok(
        &["account", "add", "+442079460123", "--password-stdin"],
        Some("old-password\n"),
    );
    // A success is cached by the server; the change must still take effect at once.
    assert_eq!(server.login_status("+442079460123", "old-password"), 207);
    assert_eq!(server.login_status("+442079460123", "old-password"), 207);

    let out = env.ok(
        &["account", "passwd", "+44 20 7946 0123", "--password-stdin"],
        Some("new-password\n"),
    );
    assert_eq!(out.trim(), "password changed for +442079460123");

    assert_eq!(server.login_status("+442079460123", "old-password"), 401);
    assert_eq!(server.login_status("+442079460123", "new-password"), 207);
    assert_eq!(
        server.login_status("+442079460123", "old-password"),
        401,
        "the old password stays rejected after the new one is cached"
    );
}

#[test]
fn account_passwd_without_password_stdin_prints_a_new_password() {
    let env = TestEnv::new();
    let server = env.serve(&[]);
    let first = server.printed("password:").expect("first password");
    assert_eq!(server.login_status(FIRST_NUMBER, &first), 207);

    let out = env.ok(&["account", "passwd", FIRST_NUMBER], None);
    assert!(
        out.contains(&format!("password changed for {FIRST_NUMBER}")),
        "{out}"
    );
    let new = printed(&out, "password:").expect("a generated password");
    assert_ne!(new, first);
    assert_eq!(server.login_status(FIRST_NUMBER, &first), 401);
    assert_eq!(server.login_status(FIRST_NUMBER, &new), 207);
}

#[test]
fn account_passwd_for_unknown_number_fails() {
    let env = TestEnv::new();
    let o = env.run(
        &["account", "passwd", "+442079460199", "--password-stdin"],
        Some("x"),
    );
    assert!(!o.status.success());
    assert!(
        o.stderr.contains("no account +442079460199"),
        "stderr:\n{}",
        o.stderr
    );
}

#[test]
fn account_remove_revokes_access_on_running_server() {
    let env = TestEnv::new();
    let server = env.serve(&[]);
    env.ok(
        &["account", "add", "+442079460123", "--password-stdin"],
        Some("doomed"),
    );
    assert_eq!(server.login_status("+442079460123", "doomed"), 207);

    let out = env.ok(&["account", "remove", "+44 20 7946 0123"], None);
    assert_eq!(out.trim(), "removed account +442079460123");
    assert_eq!(server.login_status("+442079460123", "doomed"), 401);
    let list = env.ok(&["account", "list"], None);
    assert!(!list.contains("+442079460123"), "{list}");
    assert!(list.contains(FIRST_NUMBER), "other accounts stay: {list}");

    let again = env.run(&["account", "remove", "+442079460123"], None);
    assert!(!again.status.success(), "removing twice fails");
    assert!(
        again.stderr.contains("no account +442079460123"),
        "stderr:\n{}",
        again.stderr
    );
}

#[test]
fn account_add_duplicate_fails_with_clear_message() {
    let env = TestEnv::new();
    env.ok(
        &["account", "add", "+442079460123", "--password-stdin"],
        Some("original"),
    );
    // The same number in another spelling is the same account.
    let o = env.run(
        &["account", "add", "+44 (0)20 7946 0123", "--password-stdin"],
        Some("intruder"),
    );
    assert!(!o.status.success(), "stdout:\n{}", o.stdout);
    assert!(
        o.stderr.contains("account +442079460123 already exists"),
        "stderr:\n{}",
        o.stderr
    );
    let server = env.serve(&[]);
    assert_eq!(server.login_status("+442079460123", "original"), 207);
    assert_eq!(server.login_status("+442079460123", "intruder"), 401);
}

#[test]
fn account_add_invalid_number_fails() {
    let env = TestEnv::new();
    let o = env.run(&["account", "add", "abc", "--password-stdin"], Some("pw"));
    assert!(!o.status.success(), "stdout:\n{}", o.stdout);
    assert!(
        o.stderr.contains("\"abc\" is not a phone number"),
        "stderr:\n{}",
        o.stderr
    );
    assert_eq!(
        env.ok(&["account", "list"], None),
        "",
        "nothing was created"
    );
}

#[test]
fn account_add_rejects_empty_password_on_stdin() {
    let env = TestEnv::new();
    let o = env.run(
        &["account", "add", "+442079460123", "--password-stdin"],
        Some("\n"),
    );
    assert!(!o.status.success());
    assert!(o.stderr.contains("empty password"), "stderr:\n{}", o.stderr);
    assert_eq!(env.ok(&["account", "list"], None), "");
}

// ---------------------------------------------------------------------------------------
// Migrations
// ---------------------------------------------------------------------------------------

#[test]
fn migrate_exits_zero_and_is_idempotent() {
    let env = TestEnv::new();
    assert_eq!(env.ok(&["migrate"], None).trim(), "database is up to date");
    if env.is_sqlite() {
        assert!(
            database_file(&env).is_file(),
            "migrate creates the database"
        );
    }
    assert_eq!(env.ok(&["migrate"], None).trim(), "database is up to date");
    assert_eq!(
        env.ok(&["account", "list"], None),
        "",
        "migrate creates no account"
    );
    // A migrated database still gets its first account on the first serve.
    let server = env.serve(&[]);
    let password = server
        .printed("password:")
        .expect("first run after migrate");
    assert_eq!(server.login_status(FIRST_NUMBER, &password), 207);
    assert!(server.terminate().success());
    assert_eq!(env.ok(&["migrate"], None).trim(), "database is up to date");
}

// ---------------------------------------------------------------------------------------
// Shutdown
// ---------------------------------------------------------------------------------------

#[test]
fn sigterm_stops_an_idle_server_with_exit_code_zero() {
    let env = TestEnv::new();
    let server = env.serve(&[]);
    assert_eq!(server.request("GET", "/health", None, &[], b"").status, 200);
    let started = Instant::now();
    let status = server.terminate();
    assert!(status.success(), "exit status {status}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?} to stop",
        started.elapsed()
    );
}

#[test]
fn sigterm_right_after_the_listening_line_exits_zero() {
    // A supervisor or script may stop the server as soon as it has announced itself. To
    // signal with the least possible delay, a shell reads the server's stdout directly and
    // runs its `kill` builtin (no fork) the moment the listening line arrives; the window
    // is still narrow, so a few servers in a row are tried.
    let env = TestEnv::new();
    for attempt in 0..10 {
        let mut server = Guard(
            env.command(&["serve", "--listen", "127.0.0.1:0"])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn dialbook serve"),
        );
        let pid = server.0.id();
        let script = format!(
            "while IFS= read -r line; do case \"$line\" in \
             'dialbook listening on '*) kill -TERM {pid}; echo signalled;; esac; done"
        );
        let mut watcher = Guard(
            Command::new("sh")
                .args(["-c", &script])
                .stdin(Stdio::from(server.0.stdout.take().expect("stdout pipe")))
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn sh"),
        );
        let watched = Lines::capture(watcher.0.stdout.take().expect("sh stdout"));
        let status = server
            .wait_exit(START_TIMEOUT + EXIT_TIMEOUT)
            .unwrap_or_else(|| panic!("attempt {attempt}: the server did not stop after SIGTERM"));
        assert!(
            watched.wait_for(IO_TIMEOUT, |l| l == "signalled").is_some(),
            "attempt {attempt}: the server never printed its listening line ({status})"
        );
        assert!(
            status.success(),
            "attempt {attempt}: SIGTERM right after the listening line ended the server \
             with {status} instead of a graceful exit 0"
        );
        let _ = watcher.wait_exit(IO_TIMEOUT);
    }
}

#[test]
fn request_in_flight_at_sigterm_completes_and_is_stored() {
    let env = TestEnv::new();
    let server = env.serve(&[]);
    let password = server.printed("password:").expect("first password");
    // The default book is created on the account's first request.
    assert_eq!(server.login_status(FIRST_NUMBER, &password), 207);

    let card = vcard("in-flight-1", "Half Sent", 200_000);
    let path = card_path(FIRST_NUMBER, "in-flight-1.vcf");
    let (first_half, second_half) = card.as_bytes().split_at(card.len() / 2);
    let mut conn = server.connect();
    conn.write_all(&request_head(
        "PUT",
        &path,
        Some((FIRST_NUMBER, &password)),
        &[
            ("Content-Type", "text/vcard; charset=utf-8"),
            ("Expect", "100-continue"),
        ],
        card.len(),
    ))
    .unwrap();
    // "In flight" must mean the server has read the request and started on its body:
    // its `100 Continue` says so. (Bytes still unread in the socket when the signal lands
    // are an idle connection to HTTP/1.1, which a draining server may close.)
    read_interim_continue(&mut conn);
    conn.write_all(first_half).unwrap();
    conn.flush().unwrap();

    server.sigterm();
    // Deterministic ordering: the rest is sent only once the server has logged that it
    // received the signal and is draining.
    let draining = server
        .stderr
        .wait_for(IO_TIMEOUT, |l| l.contains("shutdown signal received"));
    assert!(draining.is_some(), "stderr:\n{}", server.stderr.text());

    // The listener is closed: new connections are refused (bounded poll, the listener is
    // dropped right after the log line).
    let deadline = Instant::now() + EXIT_TIMEOUT;
    while TcpStream::connect(&server.addr).is_ok() {
        assert!(
            Instant::now() < deadline,
            "still accepting connections after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(10));
    }

    conn.write_all(second_half).unwrap();
    let r = read_response(&mut conn);
    assert_eq!(r.status, 201, "{r:?}");
    assert!(r.header("etag").is_some(), "{r:?}");

    let mut server = server;
    let status = server.child.wait_exit(EXIT_TIMEOUT).unwrap_or_else(|| {
        panic!(
            "server did not exit after draining; stderr:\n{}",
            server.stderr.text()
        )
    });
    assert!(status.success(), "exit status {status}");

    let again = env.serve(&[]);
    let got = again.request("GET", &path, Some((FIRST_NUMBER, &password)), &[], b"");
    assert_eq!(got.status, 200);
    assert_eq!(got.body, card, "the card is stored byte for byte");
    assert_eq!(got.header("etag"), r.header("etag"));
}

#[test]
fn import_merges_a_vcf_file_and_a_second_import_changes_nothing() {
    let env = TestEnv::new();
    env.ok(
        &["account", "add", "+44 20 7946 0123", "--password-stdin"],
        Some("pw\n"),
    );
    let file = env._tmp.path().join("export.vcf");
    let cards: String = (0..20)
        .map(|i| {
            format!(
                "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:imp-{i}\r\nFN:Imported {i}\r\nTEL;TYPE=CELL:+44 7911 1{i:05}\r\nEND:VCARD\r\n"
            )
        })
        .collect();
    std::fs::write(&file, cards).expect("write export");
    let path = file.to_str().expect("utf-8 path");
    let first = env.ok(&["import", "+442079460123", path], None);
    assert!(
        first.contains("20 created, 0 merged, 0 unchanged"),
        "{first}"
    );
    let second = env.ok(&["import", "02079460123", path, "--region", "GB"], None);
    assert!(
        second.contains("0 created, 0 merged, 20 unchanged"),
        "{second}"
    );
}

#[test]
fn import_for_an_unknown_account_fails() {
    let env = TestEnv::new();
    let file = env._tmp.path().join("x.vcf");
    std::fs::write(&file, "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:X\r\nEND:VCARD\r\n").expect("write");
    let o = env.run(
        &["import", "+442079460999", file.to_str().expect("utf-8")],
        None,
    );
    assert!(!o.status.success());
    assert!(o.stderr.contains("no account"), "{}", o.stderr);
}
