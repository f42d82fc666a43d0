//! The WebDAV protocol core (RFC 4918): routing, the method table, preconditions,
//! multistatus and the error table.
pub mod xml;
