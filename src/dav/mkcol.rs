//! MKCOL (RFC 4918 §9.3) and extended MKCOL (RFC 5689) for plain collections.

use http::StatusCode;

use super::error::{DavError, DavResult};
use super::locks::{check_if_header, lock_guard};
use super::live_props::quota_limit;
use super::multistatus::{mkcol_response, PropStat};
use super::property::{LiveProperty, PropName, PropValue};
use super::resource::{resolve, Resource};
use super::response::{empty, xml_response, Response};
use super::DavRequest;
use crate::auth::acl::Privileges;
use crate::store::{CollectionKind, DeadProperty, NewCollection, StoreError};
use crate::xml::{self, Element, NS_DAV};

pub async fn mkcol(req: &DavRequest<'_>) -> DavResult<Response> {
    let resource = resolve(&req.state.store, req.user, &req.path).await?;
    let parent = match &resource {
        Resource::Unmapped { parent: Some(p), .. } => p.clone(),
        Resource::Unmapped { parent: None, .. } => {
            req.require(&resource, Privileges::BIND)?;
            return Err(DavError::conflict("the parent collection does not exist"));
        }
        // RFC 4918 §9.3.1: 405 when the URL is already mapped.
        _ => return Err(DavError::status(StatusCode::METHOD_NOT_ALLOWED)),
    };
    req.require(&resource, Privileges::BIND)?;
    resource.require_plain_files()?;
    let properties = match extended_mkcol_body(req)? {
        MkcolBody::Properties(p) => p,
        MkcolBody::Refused(groups) => return Ok(xml_response(StatusCode::FORBIDDEN, mkcol_response(&groups))),
    };
    let submitted = check_if_header(req, &resource).await?;
    let target = req.path.collection_path();
    let guard = lock_guard(req, &submitted, &[&parent.path, &target], &[]);
    let created = req
        .state
        .store
        .create_collection(NewCollection {
            owner: parent.owner,
            parent: Some(parent.id),
            path: target,
            kind: CollectionKind::Plain,
            properties,
            guard,
            quota_limit: Some(quota_limit(req, parent.owner).await?),
        })
        .await;
    match created {
        Ok(_) => Ok(empty(StatusCode::CREATED)),
        Err(StoreError::AlreadyExists) => Err(DavError::status(StatusCode::METHOD_NOT_ALLOWED)),
        Err(StoreError::MissingParent) => Err(DavError::conflict("the parent collection does not exist")),
        Err(e) => Err(DavError::from_store(req, e)),
    }
}

/// The body of an MKCOL: nothing (plain MKCOL), properties to set
/// (extended MKCOL), or properties that cannot be set.
enum MkcolBody {
    Properties(Vec<DeadProperty>),
    /// RFC 5689 §3: the request fails as a whole; these propstats say why.
    Refused(Vec<PropStat>),
}

/// An empty body is a plain MKCOL; a `DAV:mkcol` body (RFC 5689 §5.1) may set
/// `resourcetype` (plain collection only) and dead properties; any other
/// body is 415 (RFC 4918 §9.3).
fn extended_mkcol_body(req: &DavRequest<'_>) -> DavResult<MkcolBody> {
    if req.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(MkcolBody::Properties(Vec::new()));
    }
    let is_xml = req.header("content-type").map_or(true, |ct| ct.contains("xml"));
    let root = match xml::parse(&req.body, xml::XmlLimits::default()) {
        Ok(root) if is_xml && root.is(NS_DAV, "mkcol") => root,
        _ => return Err(DavError::status(StatusCode::UNSUPPORTED_MEDIA_TYPE)),
    };
    let mut props = Vec::new();
    let mut names = Vec::new();
    let mut refused: Vec<(PropName, &'static str)> = Vec::new();
    for set in root.elements().filter(|e| e.is(NS_DAV, "set")) {
        for prop in set.elements().filter(|e| e.is(NS_DAV, "prop")).flat_map(Element::elements) {
            let name = PropName::new(&prop.ns, &prop.name);
            names.push(name.clone());
            match LiveProperty::from_name(&name) {
                Some(LiveProperty::ResourceType) => {
                    if !prop.elements().all(|t| t.is(NS_DAV, "collection")) {
                        refused.push((name, "valid-resourcetype"));
                    }
                }
                Some(p) if p.is_protected() => refused.push((name, "cannot-modify-protected-property")),
                _ => props.push(DeadProperty {
                    namespace: prop.ns.clone(),
                    name: prop.name.clone(),
                    value: prop.to_fragment(),
                }),
            }
        }
    }
    if refused.is_empty() {
        return Ok(MkcolBody::Properties(props));
    }
    let mut groups: Vec<PropStat> = refused
        .iter()
        .map(|(name, condition)| PropStat {
            status: StatusCode::FORBIDDEN,
            props: vec![(name.clone(), PropValue::Empty)],
            error: Some(condition),
        })
        .collect();
    let dependent = names.into_iter().filter(|n| !refused.iter().any(|(r, _)| r == n)).map(|n| (n, PropValue::Empty));
    groups.push(PropStat { status: StatusCode::FAILED_DEPENDENCY, props: dependent.collect(), error: None });
    Ok(MkcolBody::Refused(groups))
}
