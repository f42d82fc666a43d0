//! Settings: defaults, then a TOML config file, then environment variables and flags
//! (later wins). `clap` reads environment and flags; this module merges the file in.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Resolved settings the server runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; `None` means `sqlite://{data_dir}/dialbook.db`.
    pub database_url: Option<String>,
    /// ISO 3166-1 alpha-2 region for numbers typed without a country code.
    pub region: Option<String>,
    pub limits: Limits,
    /// Item-level merge settings.
    pub merge: MergeSettings,
    /// Base URL printed for clients (e.g. behind a TLS proxy); default `http://{listen}`.
    pub public_url: Option<String>,
}

/// Size, time and rate limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest vCard accepted by PUT (`CARDDAV:max-resource-size`), bytes.
    pub max_resource_size: u64,
    /// Largest request body of any kind, bytes.
    pub max_body: u64,
    /// Server cap on `sync-collection` responses (RFC 6578 §3.6 truncation).
    pub sync_page: u64,
    /// Whole-request timeout, seconds.
    pub request_timeout_secs: u64,
    /// Failed logins per account and minute before 429.
    pub failed_logins_per_minute: u32,
    /// Seconds a successful password check is cached.
    pub auth_cache_secs: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_resource_size: 10 * 1024 * 1024,
            max_body: 64 * 1024 * 1024,
            sync_page: 5000,
            request_timeout_secs: 120,
            failed_logins_per_minute: 10,
            auth_cache_secs: 300,
        }
    }
}

/// How incoming cards are merged (see `docs/merge.md`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MergeSettings {
    /// What a PUT with a stale `If-Match` does, unless its address book says otherwise.
    pub conflict_policy: ConflictPolicy,
    /// Previous versions kept per card, so a stale `If-Match` can find its base.
    pub keep_versions: u32,
}

impl Default for MergeSettings {
    fn default() -> Self {
        MergeSettings {
            conflict_policy: ConflictPolicy::Merge,
            keep_versions: 10,
        }
    }
}

/// The config file's shape (every key optional).
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub region: Option<String>,
    pub public_url: Option<String>,
    pub limits: Option<Limits>,
    pub merge: Option<MergeSettings>,
}

/// Values from flags/environment; `None` = not given.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub region: Option<String>,
    pub public_url: Option<String>,
    pub conflict_policy: Option<ConflictPolicy>,
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:5232";

impl Config {
    /// Merges defaults, the config file (if any) and the overrides.
    pub fn load(o: &Overrides) -> anyhow::Result<Config> {
        let file = match &o.config_file {
            Some(p) => read_file(p)?,
            None => FileConfig::default(),
        };
        let region = o.region.clone().or(file.region).filter(|r| !r.is_empty());
        if let Some(r) = &region
            && !crate::phone::is_known_region(r)
        {
            anyhow::bail!("unknown region {r:?}: use an ISO 3166-1 alpha-2 code such as GB or US");
        }
        Ok(Config {
            listen: o
                .listen
                .or(file.listen)
                .unwrap_or_else(|| DEFAULT_LISTEN.parse().expect("default address parses")),
            data_dir: o
                .data_dir
                .clone()
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from("data")),
            database_url: o
                .database_url
                .clone()
                .or(file.database_url)
                .filter(|u| !u.is_empty()),
            region,
            limits: file.limits.unwrap_or_default(),
            merge: {
                let mut m = file.merge.unwrap_or_default();
                if let Some(p) = o.conflict_policy {
                    m.conflict_policy = p;
                }
                m
            },
            public_url: o.public_url.clone().or(file.public_url),
        })
    }

    /// The database URL in force.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(u) => u.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("dialbook.db").display()
            ),
        }
    }

    /// The base URL to give clients.
    pub fn base_url(&self) -> String {
        match &self.public_url {
            Some(u) => u.trim_end_matches('/').to_string(),
            None => format!("http://{}", self.listen),
        }
    }
}

fn read_file(p: &Path) -> anyhow::Result<FileConfig> {
    let text =
        std::fs::read_to_string(p).map_err(|e| anyhow::anyhow!("reading {}: {e}", p.display()))?;
    toml::from_str(&text).map_err(|e| anyhow::anyhow!("parsing {}: {e}", p.display()))
}

/// Local name of the per-address-book conflict-policy property, in the
/// `urn:x-dialbook:ns` namespace (set with PROPPATCH; removing it returns the book to the
/// server's policy).
pub const POLICY_PROP: &str = "conflict-policy";

/// The conflict policy (seed 002's "synchronisation standard", `docs/merge.md`): what a
/// PUT whose `If-Match` is stale does. A setting of the server (`[merge]
/// conflict_policy`, `--conflict-policy`), overridden per address book by its
/// `{urn:x-dialbook:ns}conflict-policy` property.
/// What to do with a write based on an old version of a card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConflictPolicy {
    /// Three-way merge against the version the client last saw; an item changed on both
    /// sides takes the incoming value. Falls back to the two-way merge when that version
    /// is no longer kept.
    #[default]
    Merge,
    /// RFC 9110 behaviour: 412 Precondition Failed.
    Reject,
    /// The incoming card replaces the stored one.
    ClientWins,
    /// The stored card stays; the response has no ETag so the client re-fetches it.
    ServerWins,
}

impl ConflictPolicy {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim() {
            "merge" => ConflictPolicy::Merge,
            "reject" => ConflictPolicy::Reject,
            "client-wins" => ConflictPolicy::ClientWins,
            "server-wins" => ConflictPolicy::ServerWins,
            _ => return None,
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictPolicy::Merge => "merge",
            ConflictPolicy::Reject => "reject",
            ConflictPolicy::ClientWins => "client-wins",
            ConflictPolicy::ServerWins => "server-wins",
        }
    }
}

#[cfg(test)]
mod policy_tests {
    use super::*;

    #[test]
    fn every_policy_round_trips_through_its_name() {
        for p in [
            ConflictPolicy::Merge,
            ConflictPolicy::Reject,
            ConflictPolicy::ClientWins,
            ConflictPolicy::ServerWins,
        ] {
            assert_eq!(ConflictPolicy::parse(p.as_str()), Some(p));
        }
        assert_eq!(ConflictPolicy::parse("last-writer"), None);
    }

    #[test]
    fn default_is_merge() {
        assert_eq!(ConflictPolicy::default(), ConflictPolicy::Merge);
    }
}
