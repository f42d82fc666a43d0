//! PROPPATCH (RFC 4918 §9.2): all instructions or none. A refused property gets 403 with
//! `cannot-modify-protected-property`; every other one then gets 424 Failed Dependency and
//! nothing is written.

use super::Ctx;
use super::error::{DavError, Precondition};
use super::propfind::target;
use super::resource::Resource;
use super::response::{self, Response};
use super::xml::NS_DIALBOOK;
use super::xml::{
    Content, MultistatusWriter, PatchOp, Prop, PropStat, QName, Response as MsResponse,
    parse_proppatch,
};
use crate::config::{ConflictPolicy, POLICY_PROP};
use crate::props::LiveProp;
use crate::storage::{DeadProp, PropOp};

/// Whether a property may be set or removed on `r`; `false` = protected there.
pub fn writable(r: &Resource, q: &QName) -> bool {
    match LiveProp::from_qname(q) {
        Some(LiveProp::DisplayName) => !matches!(r, Resource::Principal),
        Some(_) => false,
        None => true,
    }
}

/// Converts parsed operations into storage operations.
pub fn to_storage_ops(ops: &[PatchOp]) -> Vec<PropOp> {
    ops.iter()
        .map(|op| match op {
            PatchOp::Set { name, value, .. } => PropOp::Set(DeadProp {
                namespace: name.ns.clone(),
                name: name.local.clone(),
                value: value.clone(),
            }),
            PatchOp::Remove(name) => PropOp::Remove {
                namespace: name.ns.clone(),
                name: name.local.clone(),
            },
        })
        .collect()
}

/// Whether a set value is acceptable for the property: the conflict policy must name a
/// policy and may only be set on an address book.
fn fits(r: &Resource, op: &PatchOp) -> bool {
    match op {
        PatchOp::Set { name, text, .. } if name.is(NS_DIALBOOK, POLICY_PROP) => {
            matches!(r, Resource::Addressbook(_))
                && text.as_deref().and_then(ConflictPolicy::parse).is_some()
        }
        _ => true,
    }
}

fn op_name(op: &PatchOp) -> &QName {
    match op {
        PatchOp::Set { name, .. } | PatchOp::Remove(name) => name,
    }
}

/// Handles PROPPATCH.
pub async fn proppatch(ctx: &Ctx<'_>, r: &Resource) -> Result<Response, DavError> {
    let ops = parse_proppatch(&ctx.req.body)?;
    let href = ctx.hrefs.of(r);
    let Some(t) = target(r) else {
        // Virtual resources (principal, home) keep no properties.
        let names = ops.iter().map(|o| op_name(o).clone()).collect::<Vec<_>>();
        return Ok(response::multistatus(one(href, vec![(403, names)])));
    };
    let refused: Vec<QName> = ops
        .iter()
        .map(op_name)
        .filter(|q| !writable(r, q))
        .cloned()
        .collect();
    // RFC 4918 §9.2.1: a value whose semantics do not fit the property is a 409.
    let unfit: Vec<QName> = ops
        .iter()
        .filter(|op| !fits(r, op))
        .map(op_name)
        .cloned()
        .collect();
    if !refused.is_empty() || !unfit.is_empty() {
        let others: Vec<QName> = ops
            .iter()
            .map(op_name)
            .filter(|q| !refused.contains(q) && !unfit.contains(q))
            .cloned()
            .collect();
        return Ok(response::multistatus(one(
            href,
            vec![(403, refused), (409, unfit), (424, others)],
        )));
    }
    ctx.storage.patch_props(t, &to_storage_ops(&ops)).await?;
    let names = ops.iter().map(|o| op_name(o).clone()).collect();
    Ok(response::multistatus(one(href, vec![(200, names)])))
}

/// A one-response multistatus with a propstat per (status, names).
pub fn one(href: String, groups: Vec<(u16, Vec<QName>)>) -> String {
    let propstats = groups
        .into_iter()
        .filter(|(_, names)| !names.is_empty())
        .map(|(status, names)| PropStat {
            // RFC 4918 §9.2.1: a refused property names its precondition.
            error: (status == 403).then(|| Precondition::CannotModifyProtectedProperty.element()),
            status,
            props: names
                .into_iter()
                .map(|name| Prop {
                    name,
                    content: Content::Empty,
                })
                .collect(),
        })
        .collect();
    let mut w = MultistatusWriter::begin();
    w.response(&MsResponse::PropStats { href, propstats });
    w.finish(None)
}
