//! PROPPATCH (RFC 4918 §9.2): set and remove properties in document order,
//! all or nothing. Protected live properties fail with 403
//! `cannot-modify-protected-property`; the others then fail with 424.

use http::StatusCode;

use super::error::{conditions, DavError, DavResult, Precondition};
use super::live_props::quota_limit;
use super::locks::{check_if_header, lock_guard};
use super::multistatus::{MultiStatus, PropStat};
use super::property::{PropName, PropValue};
use super::resource::{resolve, Resource};
use super::response::{multistatus, Response};
use super::DavRequest;
use crate::auth::acl::Privileges;
use crate::store::{DeadProperty, PropertyTarget, PropertyUpdate, Resolved, StoreError};
use crate::xml::{self, Element, NS_DAV, NS_XML};

pub async fn proppatch(req: &DavRequest<'_>) -> DavResult<Response> {
    let resource = resolve(req.state, req.user, &req.path).await?;
    if !resource.exists() {
        return Err(DavError::not_found());
    }
    req.require(&resource, Privileges::WRITE_PROPERTIES)?;
    let updates = parse_propertyupdate(&req.body)?;
    // With the path it was found at: the store changes it only if it is
    // still there (a concurrent MOVE may have won).
    let target = match &resource {
        Resource::Collection { collection, .. } => Some((PropertyTarget::Collection(collection.id), collection.path.clone())),
        Resource::Object { parent, meta, .. } => Some((PropertyTarget::Object(meta.id), Resolved::object(parent, meta).path)),
        _ => None,
    };
    let submitted = check_if_header(req, &resource).await?;
    let store_path = resource.store_path(&req.path);
    let guard = lock_guard(req, &submitted, &[&store_path], &[]);

    let name_of = |u: &PropertyUpdate| match u {
        PropertyUpdate::Set(p) => PropName::new(&p.namespace, &p.name),
        PropertyUpdate::Remove { namespace, name } => PropName::new(namespace, name),
    };
    let all_names = || updates.iter().map(name_of);
    let registry = &req.state.registry;
    let protected: Vec<(PropName, Precondition)> = all_names()
        .filter(|n| registry.property(n).is_some_and(|p| p.protected))
        .map(|n| (n, conditions::CANNOT_MODIFY_PROTECTED_PROPERTY))
        .collect();
    // Values a protocol gives a meaning to must be valid (RFC 4791 §5.2.2:
    // a calendar-timezone holds one valid VTIMEZONE).
    let mut invalid: Vec<(PropName, Precondition)> = updates
        .iter()
        .filter_map(|u| match u {
            PropertyUpdate::Set(p) => {
                let check = registry.property_check(&p.namespace, &p.name)?;
                let valid = xml::parse_fragment(&p.value).is_ok_and(|e| (check.check)(&e));
                (!valid).then(|| (name_of(u), check.precondition))
            }
            PropertyUpdate::Remove { .. } => None,
        })
        .collect();
    // And those the collection's type gives a meaning to (RFC 6638 §9.2).
    if let Resource::Collection { collection, .. } = &resource {
        if let Some(t) = registry.collection_type(collection.kind) {
            for u in &updates {
                let PropertyUpdate::Set(p) = u else { continue };
                let Ok(element) = xml::parse_fragment(&p.value) else { continue };
                if let Err(precondition) = t.check_property(req, collection, &element).await? {
                    invalid.push((name_of(u), precondition));
                }
            }
        }
    }
    let groups = match (protected.is_empty(), target) {
        _ if !invalid.is_empty() => refused(&invalid, all_names()),
        (true, Some((target, found_at))) => {
            let quota = Some(quota_limit(req, resource.owner().unwrap_or(req.user.id)).await?);
            match req.state.store.update_dead_properties(target, &found_at, &updates, &guard, quota).await {
                Ok(()) => vec![PropStat { status: StatusCode::OK, props: unique(all_names()), error: None }],
                // RFC 4918 §9.2.1: no space to record the properties.
                Err(StoreError::QuotaExceeded) => vec![PropStat {
                    status: StatusCode::INSUFFICIENT_STORAGE,
                    props: unique(all_names()),
                    error: Some(conditions::QUOTA_NOT_EXCEEDED),
                }],
                Err(e) => return Err(DavError::from_store(req, e)),
            }
        }
        // Resources without stored properties (principals, server nodes)
        // refuse every change.
        (true, None) => vec![PropStat { status: StatusCode::FORBIDDEN, props: unique(all_names()), error: None }],
        (false, _) => refused(&protected, all_names()),
    };
    let mut ms = MultiStatus::new();
    ms.propstat_response(&req.href(&store_path), &groups);
    Ok(multistatus(ms.finish()))
}

/// RFC 4918 §9.2: the whole PROPPATCH fails; each of `bad` is refused with
/// 403 and its precondition, the others of `all` with 424.
fn refused(bad: &[(PropName, Precondition)], all: impl Iterator<Item = PropName>) -> Vec<PropStat> {
    let mut groups: Vec<PropStat> = Vec::new();
    for (name, precondition) in bad {
        match groups.iter_mut().find(|g| g.error == Some(*precondition)) {
            Some(group) if !group.props.iter().any(|(n, _)| n == name) => group.props.push((name.clone(), PropValue::Empty)),
            Some(_) => {}
            None => groups.push(PropStat {
                status: StatusCode::FORBIDDEN,
                props: vec![(name.clone(), PropValue::Empty)],
                error: Some(*precondition),
            }),
        }
    }
    let others = all.filter(|n| !bad.iter().any(|(b, _)| b == n));
    groups.push(PropStat { status: StatusCode::FAILED_DEPENDENCY, props: unique(others), error: None });
    groups
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
    let root_lang = lang_of(&root, None);
    for action in root.elements() {
        let set = match (action.ns.as_str(), action.name.as_str()) {
            (NS_DAV, "set") => true,
            (NS_DAV, "remove") => false,
            _ => continue,
        };
        let action_lang = lang_of(action, root_lang);
        for prop_el in action.elements().filter(|e| e.is(NS_DAV, "prop")) {
            let lang = lang_of(prop_el, action_lang);
            for prop in prop_el.elements() {
                updates.push(if set {
                    PropertyUpdate::Set(DeadProperty {
                        namespace: prop.ns.clone(),
                        name: prop.name.clone(),
                        value: with_language(prop, lang).to_fragment(),
                    })
                } else {
                    PropertyUpdate::Remove { namespace: prop.ns.clone(), name: prop.name.clone() }
                });
            }
        }
    }
    if updates.is_empty() {
        return Err(DavError::bad_request("DAV:propertyupdate holds no property"));
    }
    Ok(updates)
}

/// The `xml:lang` in scope at `e`.
fn lang_of<'a>(e: &'a Element, inherited: Option<&'a str>) -> Option<&'a str> {
    e.attr(NS_XML, "lang").or(inherited)
}

/// RFC 4918 §4.3: a dead property keeps the `xml:lang` that was in scope when
/// it was set; it is stored on the property element itself.
fn with_language(prop: &Element, lang: Option<&str>) -> Element {
    let mut prop = prop.clone();
    if let (Some(lang), None) = (lang, prop.attr(NS_XML, "lang")) {
        prop.attrs.push(xml::Attribute { ns: NS_XML.into(), name: "lang".into(), value: lang.into() });
    }
    prop
}
