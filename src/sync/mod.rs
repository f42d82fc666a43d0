//! RFC 6578 sync tokens and CalendarServer CTags.
//!
//! A collection token is `urn:x-dialbook:sync:{token_id}:{seq}`: `token_id` is random per
//! collection, so a token from another collection, another account or a deleted and
//! re-created book is recognised as foreign; `seq` is the collection's change sequence.
//! The CTag is the same string (it changes exactly when the token does).
//!
//! The home's token is `urn:x-dialbook:home:{hash}`, a hash over its collections' ids
//! and sequences: it changes whenever any book changes or a book is created or deleted.
//!
//! Does not: list changes (storage `changes_since`) or write responses (`carddav::report`).

pub mod report;

use crate::storage::Collection;

const PREFIX: &str = "urn:x-dialbook:sync:";
const HOME_PREFIX: &str = "urn:x-dialbook:home:";

/// The token naming `seq` of collection `c`.
pub fn token_for(c: &Collection, seq: i64) -> String {
    format!("{PREFIX}{}:{seq}", c.token_id)
}

/// Why a client's token is refused (RFC 6578 §3.2 `DAV:valid-sync-token`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid sync token")]
pub struct InvalidToken;

/// Reads a client token for collection `c`: `Ok(None)` for an initial sync (no token or
/// an empty one — DAVx5 sends `<sync-token/>`), `Ok(Some(seq))` for one of ours, and
/// `InvalidToken` for anything garbled or foreign. Range checks against the horizon and
/// the current sequence happen in storage, inside the read.
pub fn parse_token(c: &Collection, token: Option<&str>) -> Result<Option<i64>, InvalidToken> {
    let Some(t) = token.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let rest = t.strip_prefix(PREFIX).ok_or(InvalidToken)?;
    let (id, seq) = rest.rsplit_once(':').ok_or(InvalidToken)?;
    if id != c.token_id {
        return Err(InvalidToken);
    }
    let seq: i64 = seq.parse().map_err(|_| InvalidToken)?;
    if seq < 0 {
        return Err(InvalidToken);
    }
    Ok(Some(seq))
}

/// The home's token over its collections.
pub fn home_token(collections: &[Collection]) -> String {
    let mut h = blake3::Hasher::new();
    for c in collections {
        h.update(c.token_id.as_bytes());
        h.update(&c.seq.to_le_bytes());
    }
    format!("{HOME_PREFIX}{}", &h.finalize().to_hex()[..24])
}

/// Whether `token` is syntactically a home token of ours (current or not).
pub fn is_home_token(token: &str) -> bool {
    token
        .trim()
        .strip_prefix(HOME_PREFIX)
        .is_some_and(|h| h.len() == 24 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::CollectionKind;

    fn coll(token_id: &str, seq: i64) -> Collection {
        Collection {
            id: 1,
            account_id: 1,
            kind: CollectionKind::Addressbook,
            slug: "contacts".into(),
            token_id: token_id.into(),
            seq,
            horizon: 0,
            sort_order: 0,
            created_at: 0,
        }
    }

    #[test]
    fn own_token_parses_to_its_sequence() {
        let c = coll("abc", 7);
        assert_eq!(parse_token(&c, Some(&token_for(&c, 5))), Ok(Some(5)));
    }

    #[test]
    fn empty_token_is_initial_sync() {
        let c = coll("abc", 7);
        assert_eq!(parse_token(&c, Some("")), Ok(None));
        assert_eq!(parse_token(&c, Some("  ")), Ok(None));
        assert_eq!(parse_token(&c, None), Ok(None));
    }

    #[test]
    fn foreign_and_garbled_tokens_are_invalid() {
        let c = coll("abc", 7);
        let other = coll("xyz", 7);
        assert_eq!(
            parse_token(&c, Some(&token_for(&other, 5))),
            Err(InvalidToken)
        );
        assert_eq!(
            parse_token(&c, Some("http://example.com/sync/5")),
            Err(InvalidToken)
        );
        assert_eq!(
            parse_token(&c, Some("urn:x-dialbook:sync:abc:-1")),
            Err(InvalidToken)
        );
        assert_eq!(
            parse_token(&c, Some("urn:x-dialbook:sync:abc:x")),
            Err(InvalidToken)
        );
    }

    #[test]
    fn home_token_changes_with_any_collection_sequence() {
        let a = home_token(&[coll("a", 1), coll("b", 1)]);
        let b = home_token(&[coll("a", 1), coll("b", 2)]);
        let c = home_token(&[coll("a", 1)]);
        assert!(a != b && a != c && b != c);
        assert!(is_home_token(&a));
    }
}
