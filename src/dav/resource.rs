//! The URL space and resource resolution.
//!
//! ```text
//! /                                    root (discovery from a bare host, Thunderbird)
//! /.well-known/carddav, /health       answered by `app` before DAV (no account)
//! /dav/                                DAV root
//! /dav/principals/                     principal collection
//! /dav/principals/{number}/            the account's principal (RFC 5397)
//! /dav/addressbooks/                   parent of the homes
//! /dav/addressbooks/{number}/          address book home (RFC 6352 §7.1.1)
//! /dav/addressbooks/{number}/{book}/   an address book
//! /dav/addressbooks/{number}/{book}/{name}  a vCard
//! /dav/files/                          parent of the files homes
//! /dav/files/{number}/                 the account's files collection (plain WebDAV)
//! /dav/files/{number}/{path…}          a file or sub-collection, any depth
//! ```
//! `{number}` is the E.164 number, in any form `phone::normalize` accepts. A path naming
//! another account resolves to nothing: every method answers 404 for it, so phone numbers
//! cannot be probed for existence.
//!
//! Invariant: resolution is read-only; nothing here creates or changes data.

use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};

use crate::storage::{Account, Collection, CollectionKind, ObjectMeta, Storage, StorageError};

/// Characters percent-encoded in a path segment we write into an href: everything but
/// RFC 3986 unreserved characters, `+`, `@` and a few sub-delims clients keep literal.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}')
    .add(b'&')
    .add(b'\'')
    .add(b';')
    .add(b'=');

/// Percent-encodes one path segment.
pub fn encode_segment(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

/// Where a path points, before looking anything up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Path {
    Root,
    DavRoot,
    PrincipalsRoot,
    Principal(String),
    AddressbooksRoot,
    AddressbookHome(String),
    Addressbook(String, String),
    Contact(String, String, String),
    FilesRoot,
    /// `/dav/files/{number}/` and the decoded segments below it (none for the home).
    Files(String, Vec<String>),
    /// Not in our URL space.
    Unknown,
}

/// Splits and percent-decodes a request path. `Unknown` for anything outside the URL
/// space (including segments that do not decode to UTF-8, contain `/` or a control
/// character).
pub fn parse_path(path: &str) -> Path {
    let raw: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let mut segs = Vec::with_capacity(raw.len());
    for s in raw {
        match percent_decode_str(s).decode_utf8() {
            // A control character (NUL above all, which PostgreSQL text cannot hold) is
            // never part of a name we store: such a path is outside the URL space.
            Ok(d)
                if !d.contains('/')
                    && d != "."
                    && d != ".."
                    && !d.chars().any(char::is_control) =>
            {
                segs.push(d.into_owned())
            }
            _ => return Path::Unknown,
        }
    }
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    match s.as_slice() {
        [] => Path::Root,
        ["dav"] => Path::DavRoot,
        ["dav", "principals"] => Path::PrincipalsRoot,
        ["dav", "principals", n] => Path::Principal(n.to_string()),
        ["dav", "addressbooks"] => Path::AddressbooksRoot,
        ["dav", "addressbooks", n] => Path::AddressbookHome(n.to_string()),
        ["dav", "addressbooks", n, b] => Path::Addressbook(n.to_string(), b.to_string()),
        ["dav", "addressbooks", n, b, c] => {
            Path::Contact(n.to_string(), b.to_string(), c.to_string())
        }
        ["dav", "files"] => Path::FilesRoot,
        ["dav", "files", n, rest @ ..] => {
            Path::Files(n.to_string(), rest.iter().map(|s| s.to_string()).collect())
        }
        _ => Path::Unknown,
    }
}

/// A resolved resource of the authenticated account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    Root,
    DavRoot,
    PrincipalsRoot,
    Principal,
    AddressbooksRoot,
    AddressbookHome,
    Addressbook(Collection),
    /// An address book path with nothing there yet (MKCOL target).
    NewAddressbook(String),
    Contact(Collection, ObjectMeta),
    /// A member path with nothing there yet (PUT target).
    NewContact(Collection, String),
    /// `/dav/files/`.
    FilesRoot,
    /// The account's files collection `/dav/files/{number}/`.
    FilesHome(Collection),
    /// A sub-collection of the files collection (its member name ends with `/`).
    Folder(Collection, ObjectMeta),
    /// A file in the files collection.
    File(Collection, ObjectMeta),
    /// A files path with nothing there yet (PUT or MKCOL target); the member name without
    /// a trailing `/`.
    NewFile(Collection, String),
    /// Nothing here, or another account's space.
    Missing,
}

impl Resource {
    /// True for resources that are collections (hrefs end with `/`).
    pub fn is_collection(&self) -> bool {
        !matches!(
            self,
            Resource::Contact(..)
                | Resource::NewContact(..)
                | Resource::File(..)
                | Resource::NewFile(..)
                | Resource::Missing
        )
    }
}

/// Slug of every account's files collection (`/dav/files/{number}/`).
pub const FILES_SLUG: &str = "files";

/// The resource of a member of a files collection: a sub-collection when its name ends
/// with `/`.
pub fn files_member(c: Collection, m: ObjectMeta) -> Resource {
    if m.name.ends_with('/') {
        Resource::Folder(c, m)
    } else {
        Resource::File(c, m)
    }
}

/// The direct children of the sub-collection `prefix` (`""` for the home) of a files
/// tree, by name.
pub async fn tree_children(
    storage: &dyn Storage,
    c: &Collection,
    prefix: &str,
) -> Result<Vec<ObjectMeta>, StorageError> {
    let all = storage.list_tree(c.id, prefix).await?;
    Ok(all
        .into_iter()
        .filter(|m| {
            m.name.strip_prefix(prefix).is_some_and(|rest| {
                let rest = rest.strip_suffix('/').unwrap_or(rest);
                !rest.is_empty() && !rest.contains('/')
            })
        })
        .collect())
}

/// Resolves a parsed path for `account`. Paths naming another account are `Missing`.
pub async fn resolve(
    storage: &dyn Storage,
    account: &Account,
    region: Option<&str>,
    path: &Path,
) -> Result<Resource, StorageError> {
    let mine = |n: &str| {
        n == account.phone || crate::phone::normalize(n, region).is_ok_and(|p| p == account.phone)
    };
    Ok(match path {
        Path::Root => Resource::Root,
        Path::DavRoot => Resource::DavRoot,
        Path::PrincipalsRoot => Resource::PrincipalsRoot,
        Path::AddressbooksRoot => Resource::AddressbooksRoot,
        Path::Principal(n) if mine(n) => Resource::Principal,
        Path::AddressbookHome(n) if mine(n) => Resource::AddressbookHome,
        Path::Addressbook(n, b) if mine(n) => {
            match storage
                .get_collection(account.id, CollectionKind::Addressbook, b)
                .await?
            {
                Some(c) => Resource::Addressbook(c),
                None => Resource::NewAddressbook(b.clone()),
            }
        }
        Path::Contact(n, b, name) if mine(n) => {
            match storage
                .get_collection(account.id, CollectionKind::Addressbook, b)
                .await?
            {
                None => Resource::Missing,
                Some(c) => {
                    let mut metas = storage
                        .object_meta(c.id, std::slice::from_ref(name))
                        .await?;
                    match metas.pop() {
                        Some(m) => Resource::Contact(c, m),
                        None => Resource::NewContact(c, name.clone()),
                    }
                }
            }
        }
        Path::FilesRoot => Resource::FilesRoot,
        Path::Files(n, segs) if mine(n) => {
            match storage
                .get_collection(account.id, CollectionKind::Files, FILES_SLUG)
                .await?
            {
                None => Resource::Missing,
                Some(c) if segs.is_empty() => Resource::FilesHome(c),
                Some(c) => {
                    let name = segs.join("/");
                    let dir = format!("{name}/");
                    let metas = storage.object_meta(c.id, &[name.clone(), dir]).await?;
                    match metas.into_iter().next() {
                        Some(m) => files_member(c, m),
                        None => Resource::NewFile(c, name),
                    }
                }
            }
        }
        _ => Resource::Missing,
    })
}

/// Builds hrefs for an account; every href we emit comes from here.
#[derive(Debug, Clone)]
pub struct Hrefs {
    phone: String,
}

impl Hrefs {
    pub fn new(account: &Account) -> Self {
        Hrefs {
            phone: encode_segment(&account.phone),
        }
    }
    /// The account's E.164 number.
    pub fn phone(&self) -> &str {
        &self.phone
    }
    pub fn principal(&self) -> String {
        format!("/dav/principals/{}/", self.phone)
    }
    pub fn addressbook_home(&self) -> String {
        format!("/dav/addressbooks/{}/", self.phone)
    }
    pub fn addressbook(&self, slug: &str) -> String {
        format!("/dav/addressbooks/{}/{}/", self.phone, encode_segment(slug))
    }
    pub fn contact(&self, slug: &str, name: &str) -> String {
        format!(
            "/dav/addressbooks/{}/{}/{}",
            self.phone,
            encode_segment(slug),
            encode_segment(name)
        )
    }
    pub fn files_home(&self) -> String {
        format!("/dav/files/{}/", self.phone)
    }
    /// The href of a files member (`a/b/` for a sub-collection, `a/b.txt` for a file).
    pub fn file(&self, name: &str) -> String {
        let mut out = self.files_home();
        let dir = name.ends_with('/');
        let segs: Vec<String> = name
            .split('/')
            .filter(|s| !s.is_empty())
            .map(encode_segment)
            .collect();
        out.push_str(&segs.join("/"));
        if dir && !segs.is_empty() {
            out.push('/');
        }
        out
    }
    /// The canonical href of a resource.
    pub fn of(&self, r: &Resource) -> String {
        match r {
            Resource::Root => "/".into(),
            Resource::DavRoot => "/dav/".into(),
            Resource::PrincipalsRoot => "/dav/principals/".into(),
            Resource::AddressbooksRoot => "/dav/addressbooks/".into(),
            Resource::Principal => self.principal(),
            Resource::AddressbookHome => self.addressbook_home(),
            Resource::Addressbook(c) => self.addressbook(&c.slug),
            Resource::NewAddressbook(s) => self.addressbook(s),
            Resource::Contact(c, m) => self.contact(&c.slug, &m.name),
            Resource::NewContact(c, n) => self.contact(&c.slug, n),
            Resource::FilesRoot => "/dav/files/".into(),
            Resource::FilesHome(_) => self.files_home(),
            Resource::Folder(_, m) | Resource::File(_, m) => self.file(&m.name),
            Resource::NewFile(_, n) => self.file(n),
            Resource::Missing => String::new(),
        }
    }
}

/// Reads an href (absolute URL or absolute path) from a request body or `Destination`
/// header down to its path, so it can be parsed with [`parse_path`].
pub fn href_path(href: &str) -> &str {
    let h = href.trim();
    if let Some(rest) = h
        .strip_prefix("http://")
        .or_else(|| h.strip_prefix("https://"))
    {
        match rest.find('/') {
            Some(i) => &rest[i..],
            None => "/",
        }
    } else {
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contact_path_is_decoded() {
        assert_eq!(
            parse_path("/dav/addressbooks/%2B4420/contacts/a%20b.vcf"),
            Path::Contact("+4420".into(), "contacts".into(), "a b.vcf".into())
        );
    }

    #[test]
    fn collection_path_without_trailing_slash_is_the_collection() {
        assert_eq!(
            parse_path("/dav/addressbooks/+4420/contacts"),
            Path::Addressbook("+4420".into(), "contacts".into())
        );
    }

    #[test]
    fn dot_segments_and_encoded_slashes_are_unknown() {
        assert_eq!(parse_path("/dav/addressbooks/+1/../x"), Path::Unknown);
        assert_eq!(parse_path("/dav/addressbooks/+1/a%2Fb/"), Path::Unknown);
        assert_eq!(parse_path("/dav/files/+1/a%00b"), Path::Unknown);
    }

    #[test]
    fn encoded_segment_round_trips() {
        let name = "Ünï code & ?#%.vcf";
        let enc = encode_segment(name);
        assert!(!enc.contains(' ') && !enc.contains('?') && !enc.contains('#'));
        assert_eq!(percent_decode_str(&enc).decode_utf8().unwrap(), name);
    }

    #[test]
    fn files_paths_keep_every_segment() {
        assert_eq!(parse_path("/dav/files"), Path::FilesRoot);
        assert_eq!(
            parse_path("/dav/files/+4420/"),
            Path::Files("+4420".into(), vec![])
        );
        assert_eq!(
            parse_path("/dav/files/+4420/a/b%20c/d.txt"),
            Path::Files(
                "+4420".into(),
                vec!["a".into(), "b c".into(), "d.txt".into()]
            )
        );
        assert_eq!(parse_path("/dav/files/+4420/a/../b"), Path::Unknown);
    }

    #[test]
    fn file_hrefs_encode_segments_and_mark_collections() {
        let h = Hrefs {
            phone: "+4420".into(),
        };
        assert_eq!(h.file("a b/c?.txt"), "/dav/files/+4420/a%20b/c%3F.txt");
        assert_eq!(h.file("a/b/"), "/dav/files/+4420/a/b/");
    }

    #[test]
    fn absolute_url_href_reduces_to_path() {
        assert_eq!(href_path("http://h:1/dav/x"), "/dav/x");
        assert_eq!(href_path("/dav/x"), "/dav/x");
    }
}
