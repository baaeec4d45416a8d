//! MKCOL (RFC 4918 §9.3) and extended MKCOL (RFC 5689), which also creates
//! collections of the registered types (`resourcetype` naming one: RFC
//! 5689 §4 calendars, RFC 6352 §6.3.1 address books), and the creation
//! path the MKCALENDAR method (RFC 4791 §5.3.1) shares.

use http::StatusCode;

use super::error::{conditions, DavError, DavResult, Precondition};
use super::live_props::quota_limit;
use super::locks::{check_if_header, lock_guard};
use super::multistatus::{mkcol_response, PropStat};
use super::property::{PropName, PropValue};
use super::registry::Registry;
use super::resource::{resolve, Resource};
use super::response::{empty, xml_response, Response};
use super::DavRequest;
use crate::auth::acl::Privileges;
use crate::store::{Collection, CollectionKind, DeadProperty, NewCollection, StoreError};
use crate::xml::{self, Element, NS_DAV};

/// What to create: the kind of collection and what to set on it.
#[derive(Debug, Default)]
pub struct CollectionSpec {
    pub kind: Option<CollectionKind>,
    /// The member types the collection accepts, as its type interprets
    /// the creation request (RFC 4791 §5.2.3).
    pub components: Vec<String>,
    pub properties: Vec<DeadProperty>,
    /// Properties that cannot be set, with the precondition why (403).
    pub refused: Vec<(PropName, Precondition)>,
    /// Every property named in the request, in order (for 424 groups).
    pub names: Vec<PropName>,
}


pub async fn mkcol(req: &DavRequest<'_>) -> DavResult<Response> {
    let (resource, parent) = creation_target(req).await?;
    let spec = match extended_mkcol_body(req)? {
        Some(root) => parse_set(&req.state.registry, &root, None),
        None => CollectionSpec { kind: Some(CollectionKind::Plain), ..Default::default() },
    };
    if !spec.refused.is_empty() {
        return Ok(xml_response(StatusCode::FORBIDDEN, mkcol_response(&refusal_groups(&spec))));
    }
    create(req, &resource, &parent, spec).await
}

/// The resource at the request URI must not exist, and its parent must.
pub async fn creation_target(req: &DavRequest<'_>) -> DavResult<(Resource, Collection)> {
    let resource = resolve(req.state, req.user, &req.path).await?;
    match &resource {
        Resource::Unmapped { parent: Some(p), .. } => {
            let parent = p.clone();
            req.require(&resource, Privileges::BIND)?;
            Ok((resource, parent))
        }
        Resource::Unmapped { parent: None, .. } => {
            req.require(&resource, Privileges::BIND)?;
            Err(DavError::conflict("the parent collection does not exist"))
        }
        // RFC 4918 §9.3.1: 405 when the URL is already mapped.
        _ => Err(DavError::status(StatusCode::METHOD_NOT_ALLOWED)),
    }
}

/// Create the collection `spec` describes at the request URI, after the
/// location checks of its type.
pub async fn create(req: &DavRequest<'_>, resource: &Resource, parent: &Collection, spec: CollectionSpec) -> DavResult<Response> {
    let kind = spec.kind.unwrap_or(CollectionKind::Plain);
    let member_type = req.state.registry.collection_type(kind);
    match member_type {
        Some(t) => t.check_location(resource, parent)?,
        None => resource.require_plain_files(&req.state.registry)?,
    }
    let components = match member_type {
        Some(t) if spec.components.is_empty() => t.default_member_types().iter().map(|c| c.to_string()).collect(),
        _ => spec.components,
    };
    let submitted = check_if_header(req, resource).await?;
    let target = format!("{}/", resource.store_path(&req.path).trim_end_matches('/'));
    let guard = lock_guard(req, &submitted, &[&parent.path, &target], &[]);
    let created = req
        .state
        .store
        .create_collection(NewCollection {
            owner: parent.owner,
            parent: Some(parent.id),
            path: target,
            kind,
            components,
            properties: spec.properties,
            guard,
            quota_limit: Some(quota_limit(req, parent.owner).await?),
        })
        .await;
    match created {
        Ok(_) => {
            let mut resp = empty(StatusCode::CREATED);
            super::response::set_header(&mut resp, http::header::CACHE_CONTROL, "no-cache");
            Ok(resp)
        }
        Err(StoreError::AlreadyExists) => Err(DavError::status(StatusCode::METHOD_NOT_ALLOWED)),
        Err(StoreError::MissingParent) => Err(DavError::conflict("the parent collection does not exist")),
        Err(e) => Err(DavError::from_store(req, e)),
    }
}

/// None for a plain MKCOL (empty body); the `DAV:mkcol` element of an
/// extended MKCOL (RFC 5689 §5.1); any other body is 415 (RFC 4918 §9.3).
fn extended_mkcol_body(req: &DavRequest<'_>) -> DavResult<Option<Element>> {
    if req.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let is_xml = req.header("content-type").is_none_or(|ct| ct.contains("xml"));
    match xml::parse(&req.body, xml::XmlLimits::default()) {
        Ok(root) if is_xml && root.is(NS_DAV, "mkcol") => Ok(Some(root)),
        _ => Err(DavError::status(StatusCode::UNSUPPORTED_MEDIA_TYPE)),
    }
}

/// The `DAV:set` instructions of an extended MKCOL or MKCALENDAR body
/// (RFC 5689 §5.1, RFC 4791 §5.3.1): `resourcetype` chooses the type
/// among those registered, the type interprets the properties it gives a
/// meaning to (`supported-calendar-component-set`), registered checks
/// apply to dead properties (`calendar-timezone`), other protected
/// properties are refused, the rest become dead properties. `implied`:
/// the kind a method creates without `resourcetype` (MKCALENDAR).
pub fn parse_set(registry: &Registry, root: &Element, implied: Option<CollectionKind>) -> CollectionSpec {
    let mut spec = CollectionSpec::default();
    let props = root.elements().filter(|e| e.is(NS_DAV, "set")).flat_map(|set| set.elements().filter(|e| e.is(NS_DAV, "prop")));
    let props: Vec<&Element> = props.flat_map(Element::elements).collect();
    // The type first: it decides what the other properties mean.
    for prop in props.iter().filter(|p| p.is(NS_DAV, "resourcetype")) {
        match resource_kind(registry, prop) {
            Some(kind) => spec.kind = Some(kind),
            None => spec.refused.push((PropName::new(NS_DAV, "resourcetype"), conditions::VALID_RESOURCETYPE)),
        }
    }
    let member_type = spec.kind.or(implied).and_then(|k| registry.collection_type(k));
    for prop in props {
        let name = PropName::new(&prop.ns, &prop.name);
        spec.names.push(name.clone());
        if prop.is(NS_DAV, "resourcetype") {
            continue;
        }
        if let Some(claimed) = member_type.and_then(|t| t.creation_property(prop)) {
            match claimed {
                Ok(components) => spec.components = components,
                Err(precondition) => spec.refused.push((name, precondition)),
            }
            continue;
        }
        if registry.property(&name).is_some_and(|p| p.protected) {
            spec.refused.push((name, conditions::CANNOT_MODIFY_PROTECTED_PROPERTY));
            continue;
        }
        if let Some(check) = registry.property_check(&prop.ns, &prop.name).filter(|c| !(c.check)(prop)) {
            spec.refused.push((name, check.precondition));
            continue;
        }
        spec.properties.push(DeadProperty { namespace: prop.ns.clone(), name: prop.name.clone(), value: prop.to_fragment() });
    }
    spec
}

/// The kind a `resourcetype` value asks for: a plain collection, or the
/// registered type it marks (RFC 5689 §4 calendars, RFC 6352 §6.3.1
/// address books); anything else is not a type this server creates.
fn resource_kind(registry: &Registry, resourcetype: &Element) -> Option<CollectionKind> {
    let mut kind = CollectionKind::Plain;
    for t in resourcetype.elements() {
        if t.is(NS_DAV, "collection") {
            continue;
        }
        let wanted = registry.collection_type_marked(&t.ns, &t.name)?.kind();
        // A collection is of one type only.
        if kind != CollectionKind::Plain && kind != wanted {
            return None;
        }
        kind = wanted;
    }
    Some(kind)
}

/// The propstats explaining a refused creation: each refused property with
/// 403 and its precondition, the others 424 (RFC 5689 §3, RFC 4791 §5.3.1.1).
pub fn refusal_groups(spec: &CollectionSpec) -> Vec<PropStat> {
    let mut groups: Vec<PropStat> = spec
        .refused
        .iter()
        .map(|(name, refusal)| PropStat {
            status: StatusCode::FORBIDDEN,
            props: vec![(name.clone(), PropValue::Empty)],
            error: Some(*refusal),
        })
        .collect();
    let dependent = spec
        .names
        .iter()
        .filter(|n| !spec.refused.iter().any(|(r, _)| r == *n))
        .map(|n| (n.clone(), PropValue::Empty));
    groups.push(PropStat { status: StatusCode::FAILED_DEPENDENCY, props: dependent.collect(), error: None });
    groups
}
