//! dialbook: a CardDAV + CalDAV server in which every account is a phone number.
//!
//! See `ARCHITECTURE.md` for the code map and its invariants. Data flows one way:
//! hyper → [`http`] → [`dav`] routing → the RFC module ([`carddav`], [`files`], [`sync`],
//! [`acl`], [`discovery`]) → pure domain code ([`vcard`]) → the [`storage`] trait → sea-orm.

pub mod acl;
pub mod app;
pub mod carddav;
pub mod cli;
pub mod config;
pub mod dav;
pub mod discovery;
pub mod files;
pub mod http;
pub mod phone;
pub mod props;
pub mod server;
pub mod storage;
pub mod sync;
pub mod vcard;
