//! The application: configuration, storage and shared state every request sees.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::config::Config;
use crate::http::auth::Authenticator;
use crate::storage::{Account, CollectionKind, DeadProp, NewCollection, Storage, StorageError};

/// Slug of the address book every account gets on first login.
pub const DEFAULT_ADDRESSBOOK: &str = "contacts";

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

    /// Forgets that an account's defaults exist (after the account is deleted).
    pub fn forget(&self, account: i64) {
        self.ensured.lock().expect("ensured lock").remove(&account);
    }
}

/// A collection's `DAV:displayname` as a dead property.
pub fn displayname(text: &str) -> DeadProp {
    DeadProp {
        namespace: crate::dav::xml::NS_DAV.into(),
        name: "displayname".into(),
        value: crate::dav::xml::text_property(&crate::dav::xml::QName::dav("displayname"), text),
    }
}

/// The collections every account starts with: the default address book and the files
/// collection (`/dav/files/{number}/`).
pub fn default_collections() -> Vec<NewCollection> {
    vec![
        NewCollection {
            kind: CollectionKind::Addressbook,
            slug: DEFAULT_ADDRESSBOOK.into(),
            sort_order: 0,
            props: vec![displayname("Contacts")],
        },
        NewCollection {
            kind: CollectionKind::Files,
            slug: crate::files::FILES_SLUG.into(),
            sort_order: 0,
            props: vec![displayname("Files")],
        },
    ]
}
