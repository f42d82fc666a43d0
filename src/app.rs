//! The composition root: the shared state every request sees and the routing that comes
//! before DAV. For each request it answers what needs no account (`/health`, the RFC 6764
//! well-known redirect, OPTIONS without credentials), authenticates the caller
//! (`http::auth`), creates the account's default collections on its first request, and
//! hands the rest to `dav::handle`.
//!
//! Owns the wiring only: no protocol semantics live here. `http` (the transport) and `dav`
//! (the protocol) know nothing of this module.

use std::collections::HashSet;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{StatusCode, header};

use crate::config::Config;
use crate::dav::error::DavError;
use crate::dav::kind::Types;
use crate::dav::response::{self, Response};
use crate::http::auth::{AuthOutcome, Authenticator};
use crate::storage::{Account, NewCollection, Storage, StorageError};

/// Shared state.
pub struct App {
    pub config: Config,
    pub storage: Arc<dyn Storage>,
    pub auth: Authenticator,
    /// Accounts whose default collections are known to exist (checked once per process).
    ensured: Mutex<HashSet<i64>>,
}

impl App {
    pub fn new(config: Config, storage: Arc<dyn Storage>) -> Self {
        let auth = Authenticator::new(
            config.limits.failed_logins_per_minute,
            Duration::from_secs(config.limits.auth_cache_secs),
        );
        App {
            config,
            storage,
            auth,
            ensured: Mutex::new(HashSet::new()),
        }
    }

    /// The seed's "the address book of this number does not exist yet → store it": on the
    /// first authenticated request of an account its default address book and its files
    /// collection come into being (the principal and home are virtual). Idempotent; at most one storage call
    /// per account and process.
    pub async fn ensure_defaults(&self, account: &Account) -> Result<(), StorageError> {
        if self
            .ensured
            .lock()
            .expect("ensured lock")
            .contains(&account.id)
        {
            return Ok(());
        }
        self.storage
            .ensure_collections(account.id, &default_collections())
            .await?;
        self.ensured
            .lock()
            .expect("ensured lock")
            .insert(account.id);
        Ok(())
    }

    /// Answers one request (its body read): pre-DAV routes, authentication, defaults,
    /// then DAV. Returns the response and the authenticated number, for the request span.
    async fn answer(&self, req: http::Request<Bytes>) -> (Response, Option<String>) {
        let (parts, body) = req.into_parts();
        match parts.uri.path() {
            "/health" => {
                return (
                    response::with_body(StatusCode::OK, "text/plain", b"ok\n".to_vec()),
                    None,
                );
            }
            "/.well-known/carddav" | "/.well-known/carddav/" => {
                return (crate::discovery::well_known(), None);
            }
            _ => {}
        }
        let req = crate::dav::Request {
            method: parts.method,
            path: parts.uri.path().to_string(),
            query: parts.uri.query().map(str::to_string),
            headers: parts.headers,
            body,
        };
        // OPTIONS without credentials reveals nothing account-specific: answer it so
        // clients can probe capabilities before they authenticate.
        if req.method == http::Method::OPTIONS && !req.headers.contains_key(header::AUTHORIZATION) {
            return (crate::dav::anonymous_options(), None);
        }
        let account = match self
            .auth
            .authenticate(
                self.storage.as_ref(),
                self.config.region.as_deref(),
                req.headers.get(header::AUTHORIZATION).map(|v| v.as_bytes()),
            )
            .await
        {
            Ok(AuthOutcome::Authenticated(a)) => a,
            Ok(AuthOutcome::Missing | AuthOutcome::Failed) => {
                return (response::error(unauthorized()), None);
            }
            Ok(AuthOutcome::Throttled(wait)) => {
                let e = DavError::new(StatusCode::TOO_MANY_REQUESTS)
                    .with_reason("too many failed logins")
                    .with_header(header::RETRY_AFTER, wait.as_secs().max(1).to_string());
                return (response::error(e), None);
            }
            Err(e) => return (response::error(e.into()), None),
        };
        let who = Some(account.phone.clone());
        if let Err(e) = self.ensure_defaults(&account).await {
            return (response::error(e.into()), who);
        }
        let resp =
            crate::dav::handle(&self.config, self.storage.as_ref(), TYPES, &account, &req).await;
        (resp, who)
    }

    /// Forgets that an account's defaults exist (after the account is deleted).
    pub fn forget(&self, account: i64) {
        self.ensured.lock().expect("ensured lock").remove(&account);
    }
}

impl crate::http::Handler for App {
    fn handle(
        &self,
        req: http::Request<Bytes>,
    ) -> impl Future<Output = (Response, Option<String>)> + Send {
        self.answer(req)
    }
}

/// 401 with the Basic challenge (RFC 7617; `charset` so clients send UTF-8).
fn unauthorized() -> DavError {
    DavError::new(StatusCode::UNAUTHORIZED)
        .with_reason("log in with your phone number and password")
        .with_header(
            header::WWW_AUTHENTICATE,
            "Basic realm=\"dialbook\", charset=\"UTF-8\"".into(),
        )
}

/// The registered collection types: adding one is one line here.
pub static TYPES: Types = Types(&[&crate::carddav::CardDav, &crate::files::Files]);

/// The collections every account starts with: every type's defaults (the default
/// address book, the files collection).
pub fn default_collections() -> Vec<NewCollection> {
    TYPES.defaults()
}
