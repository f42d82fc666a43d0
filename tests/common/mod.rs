//! Integration-test support: a real dialbook server per test on 127.0.0.1 (SQLite in a
//! temporary directory, or PostgreSQL in a fresh schema when `DATABASE_URL` is set), and
//! a small typed DAV client over reqwest.
#![allow(dead_code)]

pub mod ms;

use std::path::PathBuf;
use std::sync::Arc;

use dialbook::config::{Config, Limits};
use dialbook::server::{Running, open_storage, start};
use dialbook::storage::prelude::*;
use dialbook::storage::sea::SeaStorage;

pub use ms::Multistatus;

/// A server for one test.
pub struct TestServer {
    pub base: String,
    pub running: Option<Running>,
    pub storage: Arc<SeaStorage>,
    /// The PostgreSQL schema of this test, dropped by `stop`.
    schema: Option<String>,
    _dir: tempfile::TempDir,
}

/// Which database this run uses.
pub fn database_url() -> Option<String> {
    std::env::var("DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres"))
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    /// Starts a server after `tweak` adjusts the config (limits, region).
    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: PathBuf::from(dir.path()),
            database_url: database_url(),
            region: Some("GB".into()),
            limits: Limits {
                failed_logins_per_minute: 5,
                ..Limits::default()
            },
            public_url: None,
            merge: Default::default(),
        };
        tweak(&mut config);
        let schema = database_url().map(|_| format!("t_{}", uuid::Uuid::new_v4().simple()));
        let storage = open_storage(&config, schema.clone())
            .await
            .expect("open storage");
        let running = start(config, storage.clone()).await.expect("start server");
        TestServer {
            base: format!("http://{}", running.addr),
            running: Some(running),
            storage,
            schema,
            _dir: dir,
        }
    }

    /// Creates an account and returns a client logged in as it.
    pub async fn account(&self, number: &str, password: &str) -> Client {
        let hash = dialbook::http::auth::hash_password(password.to_string())
            .await
            .unwrap();
        self.storage
            .create_account(number, &hash)
            .await
            .expect("create account");
        Client::new(&self.base, number, password)
    }

    /// Stops the server (graceful shutdown must succeed) and drops its PostgreSQL schema.
    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await.expect("clean shutdown");
        }
        if let (Some(url), Some(schema)) = (database_url(), self.schema.take()) {
            use sea_orm::ConnectionTrait;
            let db = sea_orm::Database::connect(url.as_str())
                .await
                .expect("connect to drop schema");
            db.execute_unprepared(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
                .await
                .expect("drop schema");
            let _ = db.close().await;
        }
    }
}

/// A response, fully read.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn etag(&self) -> Option<String> {
        self.header("etag").map(str::to_string)
    }
    pub fn ms(&self) -> Multistatus {
        assert_eq!(
            self.status, 207,
            "expected 207, got {}: {}",
            self.status, self.body
        );
        ms::parse(&self.body)
    }
    /// Whether the body is a `<D:error>` with this condition element (local name).
    pub fn has_condition(&self, local: &str) -> bool {
        ms::error_condition(&self.body).is_some_and(|c| c == local)
    }
}

/// A DAV client logged in as one account.
#[derive(Clone)]
pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    pub user: String,
    pub password: String,
}

impl Client {
    pub fn new(base: &str, user: &str, password: &str) -> Client {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Client {
            http,
            base: base.to_string(),
            user: user.to_string(),
            password: password.to_string(),
        }
    }

    /// The same server, other credentials.
    pub fn as_user(&self, user: &str, password: &str) -> Client {
        Client {
            user: user.into(),
            password: password.into(),
            ..self.clone()
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Vec<u8>>,
    ) -> Resp {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut rb = self
            .http
            .request(m, self.url(path))
            .basic_auth(&self.user, Some(&self.password));
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        let r = rb.body(body.into()).send().await.expect("request sent");
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let body = r.text().await.unwrap_or_default();
        Resp {
            status,
            headers,
            body,
        }
    }

    pub async fn anonymous(&self, method: &str, path: &str) -> Resp {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let r = self.http.request(m, self.url(path)).send().await.unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        Resp {
            status,
            headers,
            body: r.text().await.unwrap_or_default(),
        }
    }

    pub async fn propfind(&self, path: &str, depth: &str, body: &str) -> Resp {
        self.request(
            "PROPFIND",
            path,
            &[("Depth", depth), ("Content-Type", "application/xml")],
            body,
        )
        .await
    }

    pub async fn put_vcard(&self, path: &str, card: &[u8], extra: &[(&str, &str)]) -> Resp {
        let mut h = vec![("Content-Type", "text/vcard; charset=utf-8")];
        h.extend_from_slice(extra);
        self.request("PUT", path, &h, card.to_vec()).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.request("GET", path, &[], Vec::new()).await
    }

    pub async fn report(&self, path: &str, depth: &str, body: &str) -> Resp {
        self.request(
            "REPORT",
            path,
            &[("Depth", depth), ("Content-Type", "application/xml")],
            body,
        )
        .await
    }

    /// `sync-collection` asking for `getetag`.
    pub async fn sync(&self, path: &str, token: Option<&str>, limit: Option<u64>) -> Resp {
        let token = token
            .map(|t| format!("<D:sync-token>{t}</D:sync-token>"))
            .unwrap_or("<D:sync-token/>".into());
        let limit = limit
            .map(|n| format!("<D:limit><D:nresults>{n}</D:nresults></D:limit>"))
            .unwrap_or_default();
        let body = format!(
            r#"<?xml version="1.0" encoding="utf-8"?><D:sync-collection xmlns:D="DAV:">{token}<D:sync-level>1</D:sync-level>{limit}<D:prop><D:getetag/></D:prop></D:sync-collection>"#
        );
        self.report(path, "0", &body).await
    }

    /// The account's default address book path.
    pub fn book(&self) -> String {
        format!("/dav/addressbooks/{}/contacts/", self.user)
    }

    pub fn card_path(&self, name: &str) -> String {
        format!("{}{}", self.book(), name)
    }
}

/// A minimal vCard 3.0 with this UID and name.
pub fn card(uid: &str, name: &str) -> Vec<u8> {
    format!("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nFN:{name}\r\nN:{name};;;;\r\nTEL;TYPE=CELL:+44 7700 900123\r\nEND:VCARD\r\n")
        .into_bytes()
}

/// A fixture from `tests/data/`.
pub fn fixture(rel: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("fixture {}: {e}", p.display()))
}

pub const ALICE: &str = "+442079460001";
pub const BOB: &str = "+442079460002";
pub const PW: &str = "correct horse battery";
