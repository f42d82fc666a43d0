//! The conflict policy (seed 002's "synchronisation standard"): what a PUT whose
//! `If-Match` is stale does. Set per server (`[merge] conflict_policy`, `--conflict-policy`)
//! and per address book (the `{urn:x-dialbook:ns}conflict-policy` property, set with
//! PROPPATCH; removing it returns the book to the server default).

pub use crate::dav::xml::NS_DIALBOOK;
/// Local name of the per-address-book policy property.
pub const POLICY_PROP: &str = "conflict-policy";

pub use crate::config::ConflictPolicy;
