//! The error table: every DAV failure is a [`DavError`], and each precondition maps to its
//! status code and its `<D:error>` element here, once (RFC 4918 §16; RFC 6352 §6.3.2.1,
//! §8.3, §8.6, §8.7, §10.5; RFC 6578 §3.2; RFC 5689 §3). The `<D:error>` body carries the
//! element alone; a reason goes along in `{urn:x-dialbook:ns}reason` (`dav::response`).

use http::StatusCode;

use super::xml::{Content, Element, NS_CARDDAV, NS_DAV, QName};

/// A named precondition or postcondition (RFC 4918 §16 and the CardDAV/sync additions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Precondition {
    /// RFC 6578 §3.2: the sync token is not one this collection issued, or has expired.
    ValidSyncToken,
    /// RFC 6578 §3.6: a `DAV:limit` the server cannot honour.
    NumberOfMatchesWithinLimits,
    /// RFC 6352 §6.3.2.1: another card in the address book has this UID (href: that card).
    NoUidConflict(String),
    /// RFC 6352 §6.3.2.1: the write would overwrite the card at its target with a card of
    /// another UID (href: the target). Reported as `CARDDAV:no-uid-conflict` too.
    TargetUidDiffers(String),
    /// RFC 6352 §6.3.2.1: the body is not a valid vCard.
    ValidAddressData,
    /// RFC 6352 §6.3.2.1: media type, version or charset we do not store.
    SupportedAddressData,
    /// RFC 6352 §6.3.2.1: the card is larger than `max-resource-size`.
    MaxResourceSize,
    /// RFC 6352 §8.3: unsupported collation in a text-match.
    SupportedCollation,
    /// RFC 6352 §10.5: unsupported filter element or match type.
    SupportedFilter,
    /// RFC 4918 §16: PROPPATCH of a protected property.
    CannotModifyProtectedProperty,
    /// RFC 4918 §16: `Depth: infinity` PROPFIND is refused.
    PropfindFiniteDepth,
    /// RFC 3253 §3.6: REPORT not supported on this resource.
    SupportedReport,
    /// RFC 5689 §3: extended MKCOL with a resource type we cannot create.
    ValidResourcetype,
    /// RFC 3744 §7.1.1: the principal lacks a privilege.
    NeedPrivileges,
    /// RFC 4918 §16: MKCOL/PUT target exists.
    ResourceMustBeNull,
}

impl Precondition {
    /// The status code this condition is reported with.
    pub fn status(&self) -> StatusCode {
        use Precondition::*;
        match self {
            // RFC 4918 §16: preconditions are 403 or 409; 409 where the client can resolve
            // the conflict with the other resource.
            NoUidConflict(_) => StatusCode::CONFLICT,
            // Nothing the client can change at the target makes this write acceptable.
            TargetUidDiffers(_) => StatusCode::FORBIDDEN,
            MaxResourceSize => StatusCode::PAYLOAD_TOO_LARGE,
            ResourceMustBeNull => StatusCode::METHOD_NOT_ALLOWED,
            ValidSyncToken
            | NumberOfMatchesWithinLimits
            | ValidAddressData
            // RFC 6352 §6.3.2.1 lists it among the PUT preconditions, which are 403s.
            | SupportedAddressData
            | SupportedCollation
            | SupportedFilter
            | CannotModifyProtectedProperty
            | PropfindFiniteDepth
            | SupportedReport
            | ValidResourcetype
            | NeedPrivileges => StatusCode::FORBIDDEN,
        }
    }

    /// The condition element inside `<D:error>`.
    pub fn element(&self) -> Element {
        use Precondition::*;
        let dav = |n: &str| Element::empty(QName::dav(n));
        let card = |n: &str| Element::empty(QName::new(NS_CARDDAV, n));
        match self {
            ValidSyncToken => dav("valid-sync-token"),
            NumberOfMatchesWithinLimits => dav("number-of-matches-within-limits"),
            NoUidConflict(href) | TargetUidDiffers(href) => Element::new(
                QName::new(NS_CARDDAV, "no-uid-conflict"),
                Content::Hrefs(vec![href.clone()]),
            ),
            ValidAddressData => card("valid-address-data"),
            SupportedAddressData => card("supported-address-data"),
            MaxResourceSize => card("max-resource-size"),
            SupportedCollation => card("supported-collation"),
            SupportedFilter => card("supported-filter"),
            CannotModifyProtectedProperty => dav("cannot-modify-protected-property"),
            PropfindFiniteDepth => dav("propfind-finite-depth"),
            SupportedReport => dav("supported-report"),
            ValidResourcetype => dav("valid-resourcetype"),
            NeedPrivileges => dav("need-privileges"),
            ResourceMustBeNull => dav("resource-must-be-null"),
        }
    }
}

/// A failed request: a status, optionally a precondition element, optionally a short
/// human-readable reason (never personal data).
#[derive(Debug, Clone)]
pub struct DavError {
    pub status: StatusCode,
    pub condition: Option<Precondition>,
    pub reason: Option<String>,
    /// Extra response headers (`Allow` on 405, `Retry-After` on 429, `WWW-Authenticate`).
    pub headers: Vec<(http::HeaderName, String)>,
}

impl DavError {
    pub fn new(status: StatusCode) -> Self {
        DavError {
            status,
            condition: None,
            reason: None,
            headers: Vec::new(),
        }
    }
    pub fn condition(c: Precondition) -> Self {
        DavError {
            status: c.status(),
            condition: Some(c),
            reason: None,
            headers: Vec::new(),
        }
    }
    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }
    pub fn with_header(mut self, name: http::HeaderName, value: String) -> Self {
        self.headers.push((name, value));
        self
    }
    pub fn bad_request(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST).with_reason(reason)
    }
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND)
    }
    pub fn forbidden() -> Self {
        Self::new(StatusCode::FORBIDDEN)
    }
    pub fn conflict(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT).with_reason(reason)
    }
    pub fn precondition_failed() -> Self {
        Self::new(StatusCode::PRECONDITION_FAILED)
    }
}

impl From<crate::storage::StorageError> for DavError {
    fn from(e: crate::storage::StorageError) -> Self {
        use crate::storage::StorageError::*;
        match e {
            NotFound => DavError::not_found(),
            AlreadyExists => DavError::precondition_failed(),
            PreconditionFailed => DavError::precondition_failed(),
            // The caller knows the href; this fallback has none to give.
            // `no-uid-conflict` names a member: only the caller, which knows the
            // collection, can render it (carddav::uid_conflict). Without that, the status
            // alone, never an element with an empty href.
            UidConflict(_) => DavError::conflict("another member has this UID"),
            UidMismatch => DavError::forbidden().with_reason("the target has another UID"),
            InvalidToken => DavError::condition(Precondition::ValidSyncToken),
            ParentMissing => DavError::conflict("the parent collection does not exist"),
            Batch { error, .. } => DavError::from(*error),
            Db(msg) => {
                tracing::error!(error = %msg, "storage failure");
                DavError::new(StatusCode::SERVICE_UNAVAILABLE).with_reason("storage unavailable")
            }
        }
    }
}

impl From<super::xml::XmlError> for DavError {
    fn from(e: super::xml::XmlError) -> Self {
        use super::xml::XmlError::*;
        match e {
            Malformed(m) | Invalid(m) => DavError::bad_request(m),
            UnsupportedCollation(c) => DavError::condition(Precondition::SupportedCollation)
                .with_reason(format!("collation {c}")),
            UnsupportedFilter(m) => {
                DavError::condition(Precondition::SupportedFilter).with_reason(m)
            }
        }
    }
}

/// The DAV: namespace constant re-exported for handlers that build elements.
pub const DAV: &str = NS_DAV;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::StorageError;

    #[test]
    fn a_uid_error_without_its_collection_never_renders_an_empty_href() {
        for e in [
            StorageError::UidConflict("other.vcf".into()),
            StorageError::UidMismatch,
            StorageError::Batch {
                index: 0,
                error: Box::new(StorageError::UidConflict("other.vcf".into())),
            },
        ] {
            let d = DavError::from(e);
            assert!(d.condition.is_none(), "{d:?}");
            assert!(matches!(d.status.as_u16(), 403 | 409), "{d:?}");
        }
    }
}
