//! PROPPATCH (RFC 4918 §9.2): set and remove properties in document order,
//! all or nothing. Protected live properties fail with 403
//! `cannot-modify-protected-property`; the others then fail with 424.

use http::StatusCode;

use super::error::{DavError, DavResult};
use super::locks::{check_if_header, require_unlocked, Guard};
use super::multistatus::{MultiStatus, PropStat};
use super::property::{LiveProperty, PropName, PropValue};
use super::resource::{resolve, Resource};
use super::response::{multistatus, Response};
use super::DavRequest;
use crate::auth::acl::Privileges;
use crate::store::{DeadProperty, PropertyTarget, PropertyUpdate};
use crate::xml::{self, Element, NS_DAV};

pub async fn proppatch(req: &DavRequest<'_>) -> DavResult<Response> {
    let updates = parse_propertyupdate(&req.body)?;
    let resource = resolve(&req.state.store, req.user, &req.path).await?;
    if !resource.exists() {
        return Err(DavError::not_found());
    }
    req.require(&resource, Privileges::WRITE_PROPERTIES)?;
    let target = match &resource {
        Resource::Collection { collection, .. } => Some(PropertyTarget::Collection(collection.id)),
        Resource::Object { meta, .. } => Some(PropertyTarget::Object(meta.id)),
        _ => None,
    };
    let submitted = check_if_header(req, &resource).await?;
    let store_path = resource.store_path(&req.path);
    require_unlocked(req, &submitted, &[Guard::At(&store_path)]).await?;

    let mut refused = Vec::new();
    for update in &updates {
        let name = match update {
            PropertyUpdate::Set(p) => PropName::new(&p.namespace, &p.name),
            PropertyUpdate::Remove { namespace, name } => PropName::new(namespace, name),
        };
        let protected = LiveProperty::from_name(&name).is_some_and(LiveProperty::is_protected);
        if protected || target.is_none() {
            refused.push(name);
        }
    }
    let all_names = || {
        updates.iter().map(|u| match u {
            PropertyUpdate::Set(p) => PropName::new(&p.namespace, &p.name),
            PropertyUpdate::Remove { namespace, name } => PropName::new(namespace, name),
        })
    };
    let groups = match (refused.is_empty(), target) {
        (true, Some(target)) => {
            req.state.store.update_dead_properties(target, &updates).await?;
            vec![PropStat { status: StatusCode::OK, props: unique(all_names()), error: None }]
        }
        _ => {
            let failed_dependency = unique(all_names().filter(|n| !refused.contains(n)));
            vec![
                PropStat {
                    status: StatusCode::FORBIDDEN,
                    props: unique(refused.into_iter()),
                    error: Some("cannot-modify-protected-property"),
                },
                PropStat { status: StatusCode::FAILED_DEPENDENCY, props: failed_dependency, error: None },
            ]
        }
    };
    let mut ms = MultiStatus::new();
    ms.propstat_response(&req.href(&store_path), &groups);
    Ok(multistatus(ms.finish()))
}

fn unique(names: impl Iterator<Item = PropName>) -> Vec<(PropName, PropValue)> {
    let mut out: Vec<(PropName, PropValue)> = Vec::new();
    for n in names {
        if !out.iter().any(|(o, _)| *o == n) {
            out.push((n, PropValue::Empty));
        }
    }
    out
}

/// Parse `DAV:propertyupdate` (RFC 4918 §14.19) into ordered updates.
pub fn parse_propertyupdate(body: &[u8]) -> DavResult<Vec<PropertyUpdate>> {
    let root = xml::parse(body, xml::XmlLimits::default())?;
    if !root.is(NS_DAV, "propertyupdate") {
        return Err(DavError::bad_request("expected a DAV:propertyupdate body"));
    }
    let mut updates = Vec::new();
    for action in root.elements() {
        let set = match (action.ns.as_str(), action.name.as_str()) {
            (NS_DAV, "set") => true,
            (NS_DAV, "remove") => false,
            _ => continue,
        };
        for prop in action.elements().filter(|e| e.is(NS_DAV, "prop")).flat_map(Element::elements) {
            updates.push(if set {
                PropertyUpdate::Set(DeadProperty {
                    namespace: prop.ns.clone(),
                    name: prop.name.clone(),
                    value: prop.to_fragment(),
                })
            } else {
                PropertyUpdate::Remove { namespace: prop.ns.clone(), name: prop.name.clone() }
            });
        }
    }
    if updates.is_empty() {
        return Err(DavError::bad_request("DAV:propertyupdate holds no property"));
    }
    Ok(updates)
}
