//! The conflict policy (seed 002's "synchronisation standard"): what a PUT whose
//! `If-Match` is stale does. Set per server (`[merge] conflict_policy`, `--conflict-policy`)
//! and per address book (the `{urn:x-dialbook:ns}conflict-policy` property, set with
//! PROPPATCH; removing it returns the book to the server default).

use serde::Deserialize;

pub use crate::dav::xml::NS_DIALBOOK;
/// Local name of the per-address-book policy property.
pub const POLICY_PROP: &str = "conflict-policy";

/// What to do with a write based on an old version of a card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
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
mod tests {
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
