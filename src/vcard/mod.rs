//! vCard domain code (RFC 6350 vCard 4.0, RFC 2426 vCard 3.0): pure, no I/O, no DAV.
//!
//! - [`ingest`]: what a PUT body must pass before it is stored: charset to UTF-8, control
//!   characters removed, exactly one well-formed `VCARD` (parsed with calcard), a `UID`
//!   added when missing. The bytes are kept as sent unless one of those repairs was needed.
//! - [`convert`]: 3.0 ↔ 4.0 for clients that ask for a version (RFC 6352 §5.1.1).
//! - [`select_props`]: the `CARDDAV:address-data` property subset (RFC 6352 §10.4.2).
//! - [`filter`]: the `addressbook-query` filter model and its evaluation (RFC 6352 §10.5).
//!
//! Invariant: never touches the database or the network, never logs card contents above
//! trace level.

pub mod filter;
pub mod uid;

/// A vCard version we store and serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    V3,
    V4,
}

impl Version {
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V3 => "3.0",
            Version::V4 => "4.0",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "3.0" => Some(Version::V3),
            "4.0" => Some(Version::V4),
            _ => None,
        }
    }
}

/// A card accepted for storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ingested {
    /// The bytes to store: the input unchanged, or repaired (see `repaired`).
    pub bytes: Vec<u8>,
    /// The card's UID (the one it carried, or the one added).
    pub uid: String,
    pub version: Version,
    /// True when `bytes` differ from the input (charset converted, control characters
    /// removed, UID added): the PUT response must then carry no ETag.
    pub repaired: bool,
}

/// Why a body is not an acceptable vCard.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VcardError {
    /// The declared charset is unknown or the bytes are not valid in it, or there is no
    /// charset and the bytes are not UTF-8 (→ `CARDDAV:supported-address-data`).
    #[error("unsupported charset: {0}")]
    Charset(String),
    /// Not exactly one parseable VCARD with a supported VERSION (→ `CARDDAV:valid-address-data`).
    #[error("invalid vCard: {0}")]
    Invalid(String),
}

/// Validates and repairs a body for storage. `charset` is the Content-Type `charset`
/// parameter, if any.
pub fn ingest(body: &[u8], charset: Option<&str>) -> Result<Ingested, VcardError> {
    let _ = (body, charset);
    Err(VcardError::Invalid("not implemented".into()))
}

/// The version a stored card declares (`VERSION:`), if it is one we know.
pub fn version_of(body: &[u8]) -> Option<Version> {
    let _ = body;
    None
}

/// Converts a stored card to `target`. Returns the input unchanged when it already is of
/// that version. 4.0-only parameters are dropped going to 3.0; `PHOTO` survives both ways
/// (`ENCODING=b;TYPE=JPEG` ↔ `data:image/jpeg;base64,`).
pub fn convert(body: &[u8], target: Version) -> Result<Vec<u8>, VcardError> {
    let _ = (body, target);
    Err(VcardError::Invalid("not implemented".into()))
}

/// Keeps only the named properties (upper-case names) plus the ones a vCard must have
/// (`BEGIN`, `END`, `VERSION`, `UID`, `FN`, and for 3.0 `N`). Grouped properties keep
/// their group.
pub fn select_props(body: &[u8], names: &[String]) -> Vec<u8> {
    let _ = names;
    body.to_vec()
}

/// A fresh UID for a card that has none (a UUID v4, lower-case).
pub fn new_uid() -> String {
    uuid::Uuid::new_v4().to_string()
}
