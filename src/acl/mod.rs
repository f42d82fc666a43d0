//! RFC 3744 properties clients read (`current-user-privilege-set`, `owner`), and in
//! [`report`] the §9 reports (`acl-principal-prop-set`, `principal-match`,
//! `principal-property-search`, `principal-search-property-set`). There is no ACL method
//! and no sharing yet: an account has every privilege on its own resources and none on
//! anyone else's (those resolve to nothing, see `dav::resource`), and its own principal is
//! the only one it can find.

pub mod report;

use crate::dav::resource::Resource;
use crate::dav::xml::{Content, Element, QName};

/// `DAV:current-user-privilege-set` (RFC 3744 §5.4) for a resource of the current user.
pub fn current_user_privilege_set(r: &Resource) -> Content {
    let read_only = matches!(
        r,
        Resource::Root
            | Resource::DavRoot
            | Resource::PrincipalsRoot
            | Resource::AddressbooksRoot
            | Resource::FilesRoot
            | Resource::Principal
    );
    let privs: &[&str] = if read_only {
        &["read", "read-current-user-privilege-set"]
    } else {
        &[
            "read",
            "read-current-user-privilege-set",
            "write",
            "write-content",
            "write-properties",
            "bind",
            "unbind",
        ]
    };
    Content::Elements(
        privs
            .iter()
            .map(|p| {
                Element::new(
                    QName::dav("privilege"),
                    Content::Elements(vec![Element::empty(QName::dav(p))]),
                )
            })
            .collect(),
    )
}
