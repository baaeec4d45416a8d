//! PROPFIND (RFC 4918 §9.1).
//!
//! Every requested property starts as "not found"; the live-property
//! provider and the dead-property store fill in what they know. Unknown
//! properties come back in a 404 propstat in their own namespace.

use http::StatusCode;

use super::error::{conditions, DavError, DavResult};
use super::members::members;
use super::multistatus::{MultiStatus, PropStat};
use super::path::DavPath;
use super::property::{LiveProperty, PropName, PropValue};
use super::registry::Registry;
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
    let resource = resolve(req.state, req.user, &req.path).await?;
    if !resource.exists() {
        return Err(DavError::not_found());
    }
    req.require(&resource, Privileges::READ)?;
    let plan = PropfindPlan::new(&req.state.registry, parse_propfind(&req.body)?);
    let mut ms = MultiStatus::new();
    let groups = plan.properties_of(req, &req.path, &resource).await?;
    ms.propstat_response(&req.href(&resource.addressed_path(&req.path)), &groups);
    if depth == Depth::One {
        for (path, member) in members(req, &req.path, &resource).await? {
            let groups = plan.properties_of(req, &path, &member).await?;
            ms.propstat_response(&req.href(&member.addressed_path(&path)), &groups);
        }
    }
    Ok(multistatus(ms.finish()))
}

/// A PROPFIND request with its property names looked up once in the
/// registry, then answered for each resource (RFC 4918 §9.1): every
/// requested property starts as "not found" and is filled in by its live
/// definition or from the resource's dead properties.
pub struct PropfindPlan<'r> {
    kind: Plan<'r>,
}

enum Plan<'r> {
    /// `prop`: each name with its live definition, if any.
    Prop(Vec<(PropName, Option<&'r LiveProperty>)>),
    /// `allprop`: the live properties it returns, then the dead ones, then
    /// those of `include` not returned yet.
    AllProp { live: Vec<&'r LiveProperty>, include: Vec<(PropName, Option<&'r LiveProperty>)> },
    /// `propname`: every live property the resource has, and its dead ones.
    PropName(&'r [LiveProperty]),
}

impl<'r> PropfindPlan<'r> {
    pub fn new(registry: &'r Registry, request: PropfindRequest) -> PropfindPlan<'r> {
        let lookup = |names: Vec<PropName>| names.into_iter().map(|n| { let live = registry.property(&n); (n, live) }).collect();
        let kind = match request {
            PropfindRequest::Prop(names) => Plan::Prop(lookup(names)),
            PropfindRequest::AllProp(include) => Plan::AllProp {
                live: registry.properties().iter().filter(|p| p.in_allprop).collect(),
                include: lookup(include),
            },
            PropfindRequest::PropName => Plan::PropName(registry.properties()),
        };
        PropfindPlan { kind }
    }

    /// The propstat groups (200 and 404) of `resource`, addressed at `path`.
    pub async fn properties_of(&self, req: &DavRequest<'_>, path: &DavPath, resource: &Resource) -> DavResult<Vec<PropStat>> {
        let store_path = resource.store_path(path);
        let mut found = Vec::new();
        let mut missing = Vec::new();
        let mut dead: Option<Vec<DeadProperty>> = None;
        match &self.kind {
            Plan::Prop(names) => {
                for (name, live) in names {
                    match value_of(req, &store_path, resource, name, *live, &mut dead).await? {
                        Some(v) => found.push((name.clone(), v)),
                        None => missing.push((name.clone(), PropValue::Empty)),
                    }
                }
            }
            Plan::AllProp { live, include } => {
                for prop in live {
                    if let Some(v) = prop.value(req, resource, &store_path).await? {
                        found.push((prop.prop_name(), v));
                    }
                }
                for d in dead_properties(req, resource).await? {
                    let name = PropName::new(&d.namespace, &d.name);
                    if !found.iter().any(|(n, _)| *n == name) {
                        found.push((name, PropValue::Dead(d.value)));
                    }
                }
                for (name, live) in include {
                    if found.iter().any(|(f, _)| f == name) {
                        continue;
                    }
                    match value_of(req, &store_path, resource, name, *live, &mut dead).await? {
                        Some(v) => found.push((name.clone(), v)),
                        None => missing.push((name.clone(), PropValue::Empty)),
                    }
                }
            }
            Plan::PropName(all) => {
                for prop in all.iter() {
                    if prop.value(req, resource, &store_path).await?.is_some() {
                        found.push((prop.prop_name(), PropValue::Empty));
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

async fn value_of(
    req: &DavRequest<'_>,
    store_path: &str,
    resource: &Resource,
    name: &PropName,
    live: Option<&LiveProperty>,
    dead: &mut Option<Vec<DeadProperty>>,
) -> DavResult<Option<PropValue>> {
    if let Some(live) = live.filter(|l| !l.dead_first) {
        if let Some(v) = live.value(req, resource, store_path).await? {
            return Ok(Some(v));
        }
        if live.protected {
            return Ok(None);
        }
    }
    if dead.is_none() {
        *dead = Some(dead_properties(req, resource).await?);
    }
    let stored = dead
        .as_ref()
        .and_then(|ds| ds.iter().find(|d| d.namespace == name.ns && d.name == name.name))
        .map(|d| PropValue::Dead(d.value.clone()));
    match (stored, live) {
        (None, Some(live)) if live.dead_first => live.value(req, resource, store_path).await,
        (stored, _) => Ok(stored),
    }
}
