//! The WebDAV protocol core (RFC 4918): request context, dispatch through the method
//! table, OPTIONS, and the REPORT router. PROPFIND and PROPPATCH live in `propfind` and
//! `proppatch`; GET, the writes and each type's REPORTs go to the collection type that
//! owns the resource, through [`kind::CollectionType`] (the types are handed in by the
//! composition root; nothing here names one); `sync-collection` and the principal
//! reports are answered for every type.
//!
//! Invariant: every error leaves through [`error::DavError`] and is rendered once, in
//! [`response::error`]; a 405 carries `Allow` from [`method::allowed`], the same table
//! that drives dispatch ([`method::not_allowed`]).

pub mod error;
pub mod headers;
pub mod kind;
pub mod method;
pub mod object;
pub mod propfind;
pub mod proppatch;
pub mod resource;
pub mod response;
pub mod xml;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, header};

use crate::config::Config;
use crate::storage::{Account, CollectionKind, DeadProp, NewCollection, Storage};
use error::{DavError, Precondition};
use method::{DAV_HEADER, Method, allow_header, allowed, not_allowed};
use resource::{Hrefs, Resource, parse_path, resolve};
use response::Response;
use xml::{MultistatusWriter, Report, Response as MsResponse, parse_report};

/// A request with its body read.
#[derive(Debug)]
pub struct Request {
    pub method: http::Method,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// What a handler sees: the settings, the storage, the authenticated account, the
/// request.
pub struct Ctx<'a> {
    pub config: &'a Config,
    pub storage: &'a dyn Storage,
    /// The collection types GET, the writes and their REPORTs are dispatched to.
    pub types: kind::Types,
    pub account: &'a Account,
    pub hrefs: Hrefs,
    pub req: &'a Request,
}

impl Ctx<'_> {
    /// Whether a URL's number segment names the authenticated account.
    pub fn owns(&self, number: &str) -> bool {
        // The canonical form (what our own hrefs carry) needs no parsing.
        number == self.account.phone
            || crate::phone::normalize(number, self.config.region.as_deref())
                .is_ok_and(|p| p == self.account.phone)
    }

    /// The region a number without a country code is read in, in this account's cards:
    /// the server's `--region`, else the country of the account's own number.
    pub fn data_region(&self) -> Option<&str> {
        crate::phone::data_region(self.config.region.as_deref(), &self.account.phone)
    }

    /// What live properties of a member or a book are computed from (the home's token
    /// needs the books: callers that answer for the home set `home_collections`).
    pub fn prop_ctx(&self) -> crate::props::PropCtx<'_> {
        crate::props::PropCtx {
            hrefs: &self.hrefs,
            max_resource_size: self.config.limits.max_resource_size,
            home_collections: None,
        }
    }
}

/// A collection's `DAV:displayname` as a dead property.
pub fn displayname(text: &str) -> DeadProp {
    DeadProp {
        namespace: xml::NS_DAV.into(),
        name: "displayname".into(),
        value: xml::text_property(&xml::QName::dav("displayname"), text),
    }
}

/// A collection every account starts with: `kind` at `slug`, shown as `name`.
pub fn default_collection(kind: CollectionKind, slug: &str, name: &str) -> NewCollection {
    NewCollection {
        kind,
        slug: slug.into(),
        sort_order: 0,
        props: vec![displayname(name)],
    }
}

/// Answers one authenticated request (the composition root has routed what comes before
/// DAV, authenticated the account and created its default collections); never fails:
/// errors become responses.
pub async fn handle(
    config: &Config,
    storage: &dyn Storage,
    types: kind::Types,
    account: &Account,
    req: &Request,
) -> Response {
    let run = async {
        let path = parse_path(&req.path);
        let resource = resolve(storage, account, config.region.as_deref(), &path).await?;
        let ctx = Ctx {
            config,
            storage,
            types,
            account,
            hrefs: Hrefs::new(account),
            req,
        };
        route(&ctx, Method::parse(&req.method), &resource).await
    };
    match run.await {
        Ok(r) => r,
        Err(e) => response::error(e),
    }
}

/// OPTIONS before authentication: the root's methods and the `DAV` classes, nothing
/// account-specific, so clients can probe capabilities before they log in.
pub fn anonymous_options() -> Response {
    options(&Resource::Root)
}

async fn route(ctx: &Ctx<'_>, method: Option<Method>, r: &Resource) -> Result<Response, DavError> {
    let Some(method) = method.filter(|m| allowed(r).contains(m)) else {
        // Nothing exists at the path: any method but the creating ones is a 404.
        if matches!(
            r,
            Resource::Missing
                | Resource::NewContact(..)
                | Resource::NewAddressbook(_)
                | Resource::NewFile(..)
        ) {
            return Err(DavError::not_found());
        }
        return Err(not_allowed(r));
    };
    match method {
        Method::Options => Ok(options(r)),
        Method::Propfind => propfind::propfind(ctx, r).await,
        Method::Proppatch => proppatch::proppatch(ctx, r).await,
        Method::Get | Method::Head => match ctx.types.of(r) {
            Some(t) => t.get(ctx, r, method == Method::Head).await,
            None => {
                let mut resp = response::about_page(&ctx.config.base_url());
                if method == Method::Head {
                    *resp.body_mut() = response::Body::new(Bytes::new());
                }
                Ok(resp)
            }
        },
        Method::Put
        | Method::Post
        | Method::Delete
        | Method::Mkcol
        | Method::Copy
        | Method::Move => match ctx.types.of(r) {
            Some(t) => t.write(ctx, method, r).await,
            None => Err(not_allowed(r)),
        },
        Method::Report => report(ctx, r).await,
    }
}

/// OPTIONS: `DAV` and `Allow` from the method table (RFC 4918 §10.1, RFC 9110 §9.3.7).
fn options(r: &Resource) -> Response {
    let mut resp = response::status(StatusCode::OK);
    let h = resp.headers_mut();
    h.insert("dav", HeaderValue::from_static(DAV_HEADER));
    if let Ok(v) = HeaderValue::from_str(&allow_header(r)) {
        h.insert(header::ALLOW, v);
    }
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(0));
    resp
}

/// REPORT: routed by body root and resource. What is routed here is what
/// `props::supported_reports` lists; anything else is 403 `DAV:supported-report`.
async fn report(ctx: &Ctx<'_>, r: &Resource) -> Result<Response, DavError> {
    use crate::acl::report::{self as acl, AclReport};
    let rep = parse_report(&ctx.req.body)?;
    let acl_ok = |which: AclReport| which.supported_on(r);
    if let Some(t) = ctx.types.of(r)
        && let Some(answer) = t.report(ctx, r, &rep).await
    {
        return answer;
    }
    match (&rep, r) {
        (
            Report::SyncCollection(s),
            Resource::Addressbook(_) | Resource::AddressbookHome | Resource::FilesHome(_),
        ) => crate::sync::report::sync_collection(ctx, r, s).await,
        (Report::AclPrincipalPropSet(props), _) if acl_ok(AclReport::AclPrincipalPropSet) => {
            acl::acl_principal_prop_set(ctx, props).await
        }
        (Report::PrincipalMatch(pm), _) if acl_ok(AclReport::PrincipalMatch) => {
            acl::principal_match(ctx, r, pm).await
        }
        (Report::PrincipalPropertySearch(s), _) if acl_ok(AclReport::PrincipalPropertySearch) => {
            acl::principal_property_search(ctx, r, s).await
        }
        (Report::PrincipalSearchPropertySet, _)
            if acl_ok(AclReport::PrincipalSearchPropertySet) =>
        {
            acl::principal_search_property_set(ctx)
        }
        (Report::ExpandProperty(_), Resource::Principal) => {
            // A fixed answer: the caller's own principal with its basic properties.
            let pf = xml::PropFind::Prop(vec![
                xml::QName::dav("displayname"),
                xml::QName::dav("principal-URL"),
                xml::QName::new(xml::NS_CARDDAV, "addressbook-home-set"),
            ]);
            let wanted = propfind::Wanted {
                propfind: &pf,
                address_data: None,
            };
            let pctx = ctx.prop_ctx();
            let mut w = MultistatusWriter::begin();
            w.response(&MsResponse::PropStats {
                href: ctx.hrefs.principal(),
                propstats: propfind::propstats(&pctx, &Resource::Principal, &wanted, &[], None),
            });
            Ok(response::multistatus(w.finish(None)))
        }
        _ => Err(DavError::condition(Precondition::SupportedReport)),
    }
}
