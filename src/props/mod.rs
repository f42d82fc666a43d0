//! Live properties: a closed enum of every property the server computes, each answered
//! for the resources it applies to. Anything not here is a dead property (stored as the
//! client set it) or does not exist (404 in its propstat).
//!
//! Owners: RFC 4918 §15 (WebDAV), RFC 5397 (`current-user-principal`), RFC 3744 §5
//! (`owner`, `current-user-privilege-set`, `principal-collection-set`), RFC 3253 §3.1.5
//! (`supported-report-set`), RFC 6352 §6.2, §7.1 (CardDAV), RFC 6578 §4 (`sync-token`),
//! RFC 5995 §3.2.1 (`add-member`), CalendarServer `getctag`. Files (`files`) get the
//! RFC 4918 §15 `get*` properties and `creationdate`; their `displayname` is dead.
//!
//! Does not: read or write storage (callers hand in what they loaded), or decide PROPFIND
//! depth (see `dav::propfind`).

use crate::dav::resource::{Hrefs, Resource};
use crate::dav::response::{http_date, rfc3339};
use crate::dav::xml::{Content, Element, NS_CALSERVER, NS_CARDDAV, NS_DAV, QName};
use crate::storage::{Collection, ObjectMeta};

/// Declares the live properties once: the enum, the list of all of them and each one's
/// qualified name come from the same table, so they cannot drift apart.
macro_rules! live_props {
    ($($variant:ident => ($ns:expr, $local:literal)),* $(,)?) => {
        /// Every live property.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum LiveProp {
            $($variant),*
        }

        const ALL: &[LiveProp] = &[$(LiveProp::$variant),*];

        impl LiveProp {
            pub fn qname(self) -> QName {
                match self {
                    $(LiveProp::$variant => QName::new($ns, $local)),*
                }
            }
        }
    };
}

live_props! {
    ResourceType => (NS_DAV, "resourcetype"),
    DisplayName => (NS_DAV, "displayname"),
    GetEtag => (NS_DAV, "getetag"),
    GetContentType => (NS_DAV, "getcontenttype"),
    GetContentLength => (NS_DAV, "getcontentlength"),
    GetLastModified => (NS_DAV, "getlastmodified"),
    CreationDate => (NS_DAV, "creationdate"),
    CurrentUserPrincipal => (NS_DAV, "current-user-principal"),
    PrincipalUrl => (NS_DAV, "principal-URL"),
    PrincipalCollectionSet => (NS_DAV, "principal-collection-set"),
    Owner => (NS_DAV, "owner"),
    CurrentUserPrivilegeSet => (NS_DAV, "current-user-privilege-set"),
    SupportedReportSet => (NS_DAV, "supported-report-set"),
    SyncToken => (NS_DAV, "sync-token"),
    GetCtag => (NS_CALSERVER, "getctag"),
    AddressbookHomeSet => (NS_CARDDAV, "addressbook-home-set"),
    SupportedAddressData => (NS_CARDDAV, "supported-address-data"),
    MaxResourceSize => (NS_CARDDAV, "max-resource-size"),
    AddMember => (NS_DAV, "add-member"),
    GroupMembership => (NS_DAV, "group-membership"),
}

use LiveProp::*;

impl LiveProp {
    pub fn from_qname(q: &QName) -> Option<LiveProp> {
        ALL.iter().copied().find(|p| {
            let n = p.qname();
            n.ns == q.ns && n.local == q.local
        })
    }

    /// Whether PROPPATCH may set it. Only `displayname` is writable (and then stored as a
    /// dead property on collections); the rest are protected (RFC 4918 §15).
    pub fn is_protected(self) -> bool {
        !matches!(self, DisplayName)
    }

    /// Whether `allprop` includes it (RFC 4918 §9.1: expensive and RFC 3253/3744/5397
    /// properties are only returned when named).
    fn in_allprop(self) -> bool {
        matches!(
            self,
            ResourceType
                | DisplayName
                | GetEtag
                | GetContentType
                | GetContentLength
                | GetLastModified
                | CreationDate
        )
    }
}

/// What the computation needs besides the resource.
pub struct PropCtx<'a> {
    pub hrefs: &'a Hrefs,
    pub max_resource_size: u64,
    /// The home's collections, for the home's ctag/sync-token (loaded only when needed).
    pub home_collections: Option<&'a [Collection]>,
}

/// The names of the live properties that exist on `r` (for `propname`), or only those
/// `allprop` returns.
pub fn names(r: &Resource, allprop_only: bool) -> Vec<QName> {
    ALL.iter()
        .copied()
        .filter(|p| !allprop_only || p.in_allprop())
        .filter(|p| applies(*p, r))
        .map(LiveProp::qname)
        .collect()
}

fn applies(p: LiveProp, r: &Resource) -> bool {
    let contact = matches!(r, Resource::Contact(..));
    let book = matches!(r, Resource::Addressbook(_));
    let home = matches!(r, Resource::AddressbookHome);
    let file = matches!(r, Resource::File(..));
    let files_home = matches!(r, Resource::FilesHome(_));
    let folder = matches!(r, Resource::Folder(..));
    match p {
        // Collections carry displayname as a dead property; the principal's is computed.
        DisplayName => matches!(r, Resource::Principal),
        GetEtag | GetContentType | GetContentLength => contact || file,
        GetLastModified => contact || file || folder,
        CreationDate => book || contact || file || folder || files_home,
        PrincipalUrl | AddressbookHomeSet | GroupMembership => matches!(r, Resource::Principal),
        SyncToken | GetCtag => book || home || files_home,
        SupportedAddressData | MaxResourceSize | AddMember => book,
        ResourceType
        | CurrentUserPrincipal
        | PrincipalCollectionSet
        | Owner
        | CurrentUserPrivilegeSet
        | SupportedReportSet => !matches!(
            r,
            Resource::Missing
                | Resource::NewAddressbook(_)
                | Resource::NewContact(..)
                | Resource::NewFile(..)
        ),
    }
}

/// The value of live property `p` on `r`, or `None` if it does not apply there.
pub fn value(ctx: &PropCtx<'_>, r: &Resource, p: LiveProp) -> Option<Content> {
    if !applies(p, r) {
        return None;
    }
    let dav = |l: &str| Element::empty(QName::dav(l));
    let card = |l: &str| Element::empty(QName::new(NS_CARDDAV, l));
    Some(match p {
        ResourceType => Content::Elements(match r {
            Resource::Principal => vec![dav("principal")],
            Resource::Addressbook(_) => vec![dav("collection"), card("addressbook")],
            Resource::Contact(..) | Resource::File(..) => vec![],
            _ => vec![dav("collection")],
        }),
        DisplayName => Content::Text(ctx.hrefs.phone().to_string()),
        GetEtag => Content::Text(format!("\"{}\"", meta(r)?.etag)),
        GetContentType => Content::Text(meta(r)?.content_type.clone()),
        GetContentLength => Content::Text(meta(r)?.size.to_string()),
        GetLastModified => Content::Text(http_date(meta(r)?.modified_at)),
        CreationDate => Content::Text(rfc3339(match r {
            Resource::Addressbook(c) => c.created_at,
            Resource::Contact(_, m) | Resource::File(_, m) | Resource::Folder(_, m) => {
                m.modified_at
            }
            Resource::FilesHome(c) => c.created_at,
            _ => return None,
        })),
        CurrentUserPrincipal | Owner | PrincipalUrl => Content::Hrefs(vec![ctx.hrefs.principal()]),
        PrincipalCollectionSet => Content::Hrefs(vec!["/dav/principals/".into()]),
        AddressbookHomeSet => Content::Hrefs(vec![ctx.hrefs.addressbook_home()]),
        GroupMembership => Content::Empty,
        CurrentUserPrivilegeSet => crate::acl::current_user_privilege_set(r),
        SupportedReportSet => Content::Elements(supported_reports(r)),
        SyncToken => Content::Text(match r {
            Resource::Addressbook(c) | Resource::FilesHome(c) => crate::sync::token_for(c, c.seq),
            _ => crate::sync::home_token(ctx.home_collections?),
        }),
        GetCtag => Content::Text(match r {
            Resource::Addressbook(c) | Resource::FilesHome(c) => crate::sync::token_for(c, c.seq),
            _ => crate::sync::home_token(ctx.home_collections?),
        }),
        SupportedAddressData => Content::Elements(
            ["3.0", "4.0"]
                .iter()
                .map(|v| Element {
                    name: QName::new(NS_CARDDAV, "address-data-type"),
                    attrs: vec![
                        ("content-type".into(), "text/vcard".into()),
                        ("version".into(), (*v).into()),
                    ],
                    content: Content::Empty,
                })
                .collect(),
        ),
        MaxResourceSize => Content::Text(ctx.max_resource_size.to_string()),
        AddMember => match r {
            Resource::Addressbook(c) => Content::Hrefs(vec![format!(
                "{}?add-member",
                ctx.hrefs.addressbook(&c.slug)
            )]),
            _ => return None,
        },
    })
}

fn meta(r: &Resource) -> Option<&ObjectMeta> {
    match r {
        Resource::Contact(_, m) | Resource::File(_, m) | Resource::Folder(_, m) => Some(m),
        _ => None,
    }
}

/// `DAV:supported-report-set` (RFC 3253 §3.1.5): what REPORT answers here, exactly what
/// `dav::report` routes (the RFC 3744 reports by `acl::report::AclReport::supported_on`).
pub fn supported_reports(r: &Resource) -> Vec<Element> {
    let report = |ns: &str, l: &str| Element {
        name: QName::dav("supported-report"),
        attrs: vec![],
        content: Content::Elements(vec![Element {
            name: QName::dav("report"),
            attrs: vec![],
            content: Content::Elements(vec![Element::empty(QName::new(ns, l))]),
        }]),
    };
    let mut out = match r {
        Resource::Addressbook(_) => vec![
            report(NS_CARDDAV, "addressbook-multiget"),
            report(NS_CARDDAV, "addressbook-query"),
            report(NS_DAV, "sync-collection"),
            report(crate::dav::xml::NS_DIALBOOK, "reconcile"),
        ],
        // RFC 6352 §8.6, §8.7: both reports also answer on a card's own URL.
        Resource::Contact(..) => vec![
            report(NS_CARDDAV, "addressbook-multiget"),
            report(NS_CARDDAV, "addressbook-query"),
        ],
        Resource::AddressbookHome | Resource::FilesHome(_) => {
            vec![report(NS_DAV, "sync-collection")]
        }
        Resource::Principal => vec![report(NS_DAV, "expand-property")],
        _ => vec![],
    };
    for acl in crate::acl::report::AclReport::ALL {
        if acl.supported_on(r) {
            out.push(report(NS_DAV, acl.local_name()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_live_property_round_trips_through_its_qname() {
        for p in ALL {
            assert_eq!(LiveProp::from_qname(&p.qname()), Some(*p));
        }
    }

    #[test]
    fn only_displayname_is_writable() {
        assert!(!DisplayName.is_protected());
        assert!(GetEtag.is_protected() && SyncToken.is_protected() && ResourceType.is_protected());
    }
}
