//! PROPFIND (RFC 4918 §9.1).
//!
//! Every requested property starts as "not found"; the live-property
//! provider and the dead-property store fill in what they know. Unknown
//! properties come back in a 404 propstat in their own namespace.

use http::StatusCode;

use super::error::{conditions, DavError, DavResult};
use super::live_props::live_value;
use super::members::members;
use super::multistatus::{MultiStatus, PropStat};
use super::path::DavPath;
use super::property::{LiveProperty, PropName, PropValue};
use super::resource::{resolve, Resource};
use super::response::{multistatus, Response};
use super::{DavRequest, Depth};
use crate::auth::acl::Privileges;
use crate::store::{DeadProperty, PropertyTarget};
use crate::xml::{self, Element, NS_DAV};

/// What a PROPFIND body asks for (RFC 4918 §14.20).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropfindRequest {
    /// `allprop`, with the extra names of `include`.
    AllProp(Vec<PropName>),
    PropName,
    Prop(Vec<PropName>),
}

pub fn parse_propfind(body: &[u8]) -> DavResult<PropfindRequest> {
    if body.iter().all(u8::is_ascii_whitespace) {
        // RFC 4918 §9.1: an empty body means allprop.
        return Ok(PropfindRequest::AllProp(Vec::new()));
    }
    let root = xml::parse(body, xml::XmlLimits::default())?;
    if !root.is(NS_DAV, "propfind") {
        return Err(DavError::bad_request("expected a DAV:propfind body"));
    }
    let names = |e: &Element| e.elements().map(|p| PropName::new(&p.ns, &p.name)).collect::<Vec<_>>();
    let mut request = None;
    let mut include = Vec::new();
    for child in root.elements().filter(|e| e.ns == NS_DAV) {
        let this = match child.name.as_str() {
            "prop" => PropfindRequest::Prop(names(child)),
            "allprop" => PropfindRequest::AllProp(Vec::new()),
            "propname" => PropfindRequest::PropName,
            "include" => {
                include.extend(names(child));
                continue;
            }
            _ => continue,
        };
        if request.replace(this).is_some() {
            return Err(DavError::bad_request("DAV:propfind must hold exactly one of prop, allprop, propname"));
        }
    }
    match request {
        Some(PropfindRequest::AllProp(_)) => Ok(PropfindRequest::AllProp(include)),
        Some(r) => Ok(r),
        None => Err(DavError::bad_request("DAV:propfind must hold prop, allprop or propname")),
    }
}

pub async fn propfind(req: &DavRequest<'_>) -> DavResult<Response> {
    let depth = req.depth(Depth::Infinity)?;
    if depth == Depth::Infinity {
        return Err(DavError::condition(StatusCode::FORBIDDEN, conditions::PROPFIND_FINITE_DEPTH));
    }
    let resource = resolve(&req.state.store, req.user, &req.path).await?;
    if !resource.exists() {
        return Err(DavError::not_found());
    }
    req.require(&resource, Privileges::READ)?;
    let request = parse_propfind(&req.body)?;
    let mut targets = vec![(req.path.clone(), resource)];
    if depth == Depth::One {
        let parent = targets[0].1.clone();
        targets.extend(members(req, &parent).await?);
    }
    let mut ms = MultiStatus::new();
    for (path, res) in &targets {
        let groups = properties_of(req, path, res, &request).await?;
        ms.propstat_response(&req.href(&res.store_path(path)), &groups);
    }
    Ok(multistatus(ms.finish()))
}

fn dead_target(resource: &Resource) -> Option<PropertyTarget> {
    match resource {
        Resource::Collection { collection, .. } => Some(PropertyTarget::Collection(collection.id)),
        Resource::Object { meta, .. } => Some(PropertyTarget::Object(meta.id)),
        _ => None,
    }
}

async fn dead_properties(req: &DavRequest<'_>, resource: &Resource) -> DavResult<Vec<DeadProperty>> {
    match dead_target(resource) {
        Some(t) => Ok(req.state.store.dead_properties(t).await?),
        None => Ok(Vec::new()),
    }
}

/// The propstat groups (200 and 404) of one resource.
pub async fn properties_of(
    req: &DavRequest<'_>,
    path: &DavPath,
    resource: &Resource,
    request: &PropfindRequest,
) -> DavResult<Vec<PropStat>> {
    let store_path = resource.store_path(path);
    let mut found = Vec::new();
    let mut missing = Vec::new();
    let mut dead: Option<Vec<DeadProperty>> = None;
    match request {
        PropfindRequest::Prop(names) => {
            for name in names {
                match value_of(req, &store_path, resource, name, &mut dead).await? {
                    Some(v) => found.push((name.clone(), v)),
                    None => missing.push((name.clone(), PropValue::Empty)),
                }
            }
        }
        PropfindRequest::AllProp(include) => {
            for prop in LiveProperty::ALL.into_iter().filter(|p| p.in_allprop()) {
                if let Some(v) = live_value(req, &store_path, resource, prop).await? {
                    found.push((prop.name(), v));
                }
            }
            for d in dead_properties(req, resource).await? {
                let name = PropName::new(&d.namespace, &d.name);
                if !found.iter().any(|(n, _)| *n == name) {
                    found.push((name, PropValue::Dead(d.value)));
                }
            }
            for name in include {
                if found.iter().any(|(f, _)| f == name) {
                    continue;
                }
                match value_of(req, &store_path, resource, name, &mut dead).await? {
                    Some(v) => found.push((name.clone(), v)),
                    None => missing.push((name.clone(), PropValue::Empty)),
                }
            }
        }
        PropfindRequest::PropName => {
            for prop in LiveProperty::ALL {
                if live_value(req, &store_path, resource, prop).await?.is_some() {
                    found.push((prop.name(), PropValue::Empty));
                }
            }
            for d in dead_properties(req, resource).await? {
                let name = PropName::new(&d.namespace, &d.name);
                if !found.iter().any(|(n, _)| *n == name) {
                    found.push((name, PropValue::Empty));
                }
            }
        }
    }
    Ok(vec![
        PropStat { status: StatusCode::OK, props: found, error: None },
        PropStat { status: StatusCode::NOT_FOUND, props: missing, error: None },
    ])
}

async fn value_of(
    req: &DavRequest<'_>,
    store_path: &str,
    resource: &Resource,
    name: &PropName,
    dead: &mut Option<Vec<DeadProperty>>,
) -> DavResult<Option<PropValue>> {
    if let Some(live) = LiveProperty::from_name(name) {
        if let Some(v) = live_value(req, store_path, resource, live).await? {
            return Ok(Some(v));
        }
        if live.is_protected() {
            return Ok(None);
        }
    }
    if dead.is_none() {
        *dead = Some(dead_properties(req, resource).await?);
    }
    Ok(dead
        .as_ref()
        .and_then(|ds| ds.iter().find(|d| d.namespace == name.ns && d.name == name.name))
        .map(|d| PropValue::Dead(d.value.clone())))
}
