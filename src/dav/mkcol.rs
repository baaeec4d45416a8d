//! MKCOL (RFC 4918 §9.3) and extended MKCOL (RFC 5689), which also creates
//! calendars (`resourcetype` with `CALDAV:calendar`, RFC 5689 §4) and
//! address books (`CARDDAV:addressbook`, RFC 6352 §6.3.1), and the
//! shared creation path of MKCALENDAR (RFC 4791 §5.3.1).

use http::StatusCode;

use super::error::{conditions, DavError, DavResult, Precondition};
use super::live_props::quota_limit;
use super::locks::{check_if_header, lock_guard};
use super::multistatus::{mkcol_response, PropStat};
use super::property::{LiveProperty, PropName, PropValue};
use super::resource::{resolve, Resource};
use super::response::{empty, xml_response, Response};
use super::DavRequest;
use crate::auth::acl::Privileges;
use crate::caldav;
use crate::store::{Collection, CollectionKind, DeadProperty, NewCollection, StoreError};
use crate::xml::{self, Element, NS_CALDAV, NS_CARDDAV, NS_DAV};

/// What to create: the kind of collection and what to set on it.
#[derive(Debug, Default)]
pub struct CollectionSpec {
    pub kind: Option<CollectionKind>,
    /// For calendars: `supported-calendar-component-set` (RFC 4791 §5.2.3).
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
        Some(root) => parse_set(&root),
        None => CollectionSpec { kind: Some(CollectionKind::Plain), ..Default::default() },
    };
    if !spec.refused.is_empty() {
        return Ok(xml_response(StatusCode::FORBIDDEN, mkcol_response(&refusal_groups(&spec))));
    }
    create(req, &resource, &parent, spec).await
}

/// The resource at the request URI must not exist, and its parent must.
pub async fn creation_target(req: &DavRequest<'_>) -> DavResult<(Resource, Collection)> {
    let resource = resolve(&req.state.store, req.user, &req.path).await?;
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
/// location checks of its kind.
pub async fn create(req: &DavRequest<'_>, resource: &Resource, parent: &Collection, spec: CollectionSpec) -> DavResult<Response> {
    let kind = spec.kind.unwrap_or(CollectionKind::Plain);
    match kind {
        CollectionKind::Calendar => caldav::mkcalendar::check_location(resource, parent)?,
        CollectionKind::AddressBook => crate::carddav::check_location(resource, parent)?,
        _ => resource.require_plain_files()?,
    }
    let components = match kind {
        CollectionKind::Calendar if spec.components.is_empty() => {
            caldav::DEFAULT_COMPONENTS.iter().map(|c| c.to_string()).collect()
        }
        _ => spec.components,
    };
    let submitted = check_if_header(req, resource).await?;
    let target = req.path.collection_path();
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
/// (RFC 5689 §5.1, RFC 4791 §5.3.1): `resourcetype` chooses the kind,
/// `supported-calendar-component-set` and `calendar-timezone` are checked,
/// other protected properties are refused, the rest become dead properties.
pub fn parse_set(root: &Element) -> CollectionSpec {
    let mut spec = CollectionSpec::default();
    for set in root.elements().filter(|e| e.is(NS_DAV, "set")) {
        for prop in set.elements().filter(|e| e.is(NS_DAV, "prop")).flat_map(Element::elements) {
            let name = PropName::new(&prop.ns, &prop.name);
            spec.names.push(name.clone());
            match LiveProperty::from_name(&name) {
                Some(LiveProperty::ResourceType) => match resource_kind(prop) {
                    Some(kind) => spec.kind = Some(kind),
                    None => spec.refused.push((name, conditions::VALID_RESOURCETYPE)),
                },
                Some(LiveProperty::SupportedCalendarComponentSet) => match caldav::mkcalendar::parse_component_set(prop) {
                    Some(components) => spec.components = components,
                    None => spec.refused.push((name, caldav::preconditions::SUPPORTED_CALENDAR_COMPONENT)),
                },
                Some(p) if p.is_protected() => spec.refused.push((name, conditions::CANNOT_MODIFY_PROTECTED_PROPERTY)),
                _ if prop.is(NS_CALDAV, "calendar-timezone") && !caldav::mkcalendar::valid_calendar_timezone(prop) => {
                    spec.refused.push((name, caldav::preconditions::VALID_CALENDAR_DATA));
                }
                _ => spec.properties.push(DeadProperty {
                    namespace: prop.ns.clone(),
                    name: prop.name.clone(),
                    value: prop.to_fragment(),
                }),
            }
        }
    }
    if !spec.components.is_empty() && spec.kind.is_some_and(|k| k != CollectionKind::Calendar) {
        let name = LiveProperty::SupportedCalendarComponentSet.name();
        spec.refused.push((name, conditions::CANNOT_MODIFY_PROTECTED_PROPERTY));
    }
    spec
}

/// The kind a `resourcetype` value asks for: a plain collection, a
/// calendar (RFC 5689 §4) or an address book (RFC 6352 §6.3.1); anything
/// else is not a type this server creates.
fn resource_kind(resourcetype: &Element) -> Option<CollectionKind> {
    let mut kind = CollectionKind::Plain;
    for t in resourcetype.elements() {
        let wanted = if t.is(NS_CALDAV, "calendar") {
            CollectionKind::Calendar
        } else if t.is(NS_CARDDAV, "addressbook") {
            CollectionKind::AddressBook
        } else if t.is(NS_DAV, "collection") {
            continue;
        } else {
            return None;
        };
        // A collection is a calendar or an address book, not both.
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
