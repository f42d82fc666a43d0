//! The entity tag of stored bytes. Every writer (PUT of a card or a file, a merge, the
//! uplink, COPY) computes it the same way, so equal bytes always have equal tags and a
//! write of the same bytes is recognised as no change.

/// Strong ETag of stored bytes: the first 128 bits of their BLAKE3 hash, hex.
pub fn etag_of(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex()[..32].to_string()
}
