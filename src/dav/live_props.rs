//! The live properties of the WebDAV core (RFC 4918 §15, RFC 3253 §3.1.5,
//! RFC 3744 §4-5, RFC 4331 §3-4, RFC 5397 §3, RFC 6578 §4, caldav-ctag),
//! registered by [`core_properties`], and the helpers protocols use for
//! theirs.

use std::time::{Duration, UNIX_EPOCH};

use super::error::DavResult;
use super::locks;
use super::property::{LiveProperty, PropValue};
use super::registry::BoxFuture;
use super::resource::Resource;
use super::response::quoted_etag;
use super::DavRequest;
use crate::auth::acl;
use crate::store::{CollectionId, Millis, PropertyTarget};
use crate::xml::{OutElement, NS_CALENDARSERVER, NS_DAV};

/// RFC 1123 date for `getlastmodified` and `Last-Modified`.
pub fn http_date(ms: Millis) -> String {
    httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64))
}

/// RFC 3339 date for `creationdate` (RFC 4918 §15.1).
pub fn rfc3339(ms: Millis) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub fn principal_href(req: &DavRequest<'_>, username: &str) -> String {
    req.href(&format!("/principals/{username}/"))
}

/// The live properties of the core, in the order `allprop` and `propname`
/// list them.
pub fn core_properties() -> Vec<LiveProperty> {
    vec![
        RESOURCETYPE,
        GETETAG,
        GETCONTENTTYPE,
        GETCONTENTLENGTH,
        GETLASTMODIFIED,
        CREATIONDATE,
        DISPLAYNAME,
        LOCKDISCOVERY,
        SUPPORTEDLOCK,
        OWNER,
        CURRENT_USER_PRINCIPAL,
        PRINCIPAL_URL,
        PRINCIPAL_COLLECTION_SET,
        ALTERNATE_URI_SET,
        GROUP_MEMBERSHIP,
        SUPPORTED_REPORT_SET,
        CURRENT_USER_PRIVILEGE_SET,
        SUPPORTED_PRIVILEGE_SET,
        QUOTA_USED_BYTES,
        QUOTA_AVAILABLE_BYTES,
        SYNC_TOKEN,
        GETCTAG,
    ]
}

/// RFC 4918 §15.9.
pub const RESOURCETYPE: LiveProperty = LiveProperty::now(NS_DAV, "resourcetype", resourcetype).in_allprop();

/// RFC 4918 §15.6.
pub const GETETAG: LiveProperty = LiveProperty::now(NS_DAV, "getetag", getetag).in_allprop();

/// RFC 4918 §15.5.
pub const GETCONTENTTYPE: LiveProperty = LiveProperty::now(NS_DAV, "getcontenttype", getcontenttype).in_allprop();

/// RFC 4918 §15.4.
pub const GETCONTENTLENGTH: LiveProperty = LiveProperty::now(NS_DAV, "getcontentlength", getcontentlength).in_allprop();

/// RFC 4918 §15.7.
pub const GETLASTMODIFIED: LiveProperty = LiveProperty::now(NS_DAV, "getlastmodified", getlastmodified).in_allprop();

/// RFC 4918 §15.1.
pub const CREATIONDATE: LiveProperty = LiveProperty::now(NS_DAV, "creationdate", creationdate).in_allprop();

/// RFC 4918 §15.2: live on principals and generated resources, a
/// dead property (set by PROPPATCH) elsewhere.
pub const DISPLAYNAME: LiveProperty = LiveProperty::now(NS_DAV, "displayname", displayname).in_allprop().unprotected();

/// RFC 4918 §15.8.
pub const LOCKDISCOVERY: LiveProperty = LiveProperty::later(NS_DAV, "lockdiscovery", lockdiscovery).in_allprop();

/// RFC 4918 §15.10.
pub const SUPPORTEDLOCK: LiveProperty = LiveProperty::now(NS_DAV, "supportedlock", supportedlock).in_allprop();

/// RFC 3744 §5.1.
pub const OWNER: LiveProperty = LiveProperty::later(NS_DAV, "owner", owner);

/// RFC 5397 §3.
pub const CURRENT_USER_PRINCIPAL: LiveProperty = LiveProperty::now(NS_DAV, "current-user-principal", current_user_principal);

/// RFC 3744 §4.2.
pub const PRINCIPAL_URL: LiveProperty = LiveProperty::now(NS_DAV, "principal-URL", principal_url);

/// RFC 3744 §5.8.
pub const PRINCIPAL_COLLECTION_SET: LiveProperty = LiveProperty::now(NS_DAV, "principal-collection-set", principal_collection_set);

/// RFC 3744 §4.1.
pub const ALTERNATE_URI_SET: LiveProperty = LiveProperty::later(NS_DAV, "alternate-URI-set", alternate_uri_set);

/// RFC 3744 §4.4.
pub const GROUP_MEMBERSHIP: LiveProperty = LiveProperty::now(NS_DAV, "group-membership", group_membership);

/// RFC 3253 §3.1.5.
pub const SUPPORTED_REPORT_SET: LiveProperty = LiveProperty::now(NS_DAV, "supported-report-set", supported_report_set);

/// RFC 3744 §5.4: what is enforced is what is reported.
pub const CURRENT_USER_PRIVILEGE_SET: LiveProperty = LiveProperty::now(NS_DAV, "current-user-privilege-set", current_user_privilege_set);

/// RFC 3744 §5.3: the privileges of the resource, with those its
/// collection type adds (RFC 6638 §6: a scheduling inbox's, an outbox's).
pub const SUPPORTED_PRIVILEGE_SET: LiveProperty = LiveProperty::now(NS_DAV, "supported-privilege-set", supported_privilege_set);

/// RFC 4331 §3.
pub const QUOTA_USED_BYTES: LiveProperty = LiveProperty::later(NS_DAV, "quota-used-bytes", quota_used_bytes);

/// RFC 4331 §4.
pub const QUOTA_AVAILABLE_BYTES: LiveProperty = LiveProperty::later(NS_DAV, "quota-available-bytes", quota_available_bytes);

/// RFC 6578 §4: on every collection.
pub const SYNC_TOKEN: LiveProperty = LiveProperty::now(NS_DAV, "sync-token", sync_token);

/// caldav-ctag §4.1 (CalendarServer namespace), which CalDAV and
/// CardDAV clients poll on any collection.
pub const GETCTAG: LiveProperty = LiveProperty::now(NS_CALENDARSERVER, "getctag", getctag);

fn resourcetype(req: &DavRequest<'_>, r: &Resource, _: &str) -> Option<PropValue> {
    let mut markers = Vec::new();
    if r.is_collection() {
        markers.push((NS_DAV, "collection"));
    }
    match r {
        Resource::Principal(_) => markers.push((NS_DAV, "principal")),
        Resource::Collection { collection, .. } => {
            if let Some(t) = req.state.registry.collection_type(collection.kind) {
                markers.extend_from_slice(t.resourcetype());
            }
        }
        Resource::Mounted(node) => markers.extend_from_slice(node.resourcetype()),
        _ => {}
    }
    Some(if markers.is_empty() { PropValue::Empty } else { PropValue::Markers(markers) })
}

fn getetag(_: &DavRequest<'_>, r: &Resource, _: &str) -> Option<PropValue> {
    match r {
        Resource::Object { meta, .. } => Some(PropValue::Text(quoted_etag(&meta.etag))),
        Resource::Mounted(node) => node.etag().map(|e| PropValue::Text(quoted_etag(&e))),
        _ => None,
    }
}

fn getcontenttype(_: &DavRequest<'_>, r: &Resource, _: &str) -> Option<PropValue> {
    match r {
        Resource::Object { meta, .. } => Some(PropValue::Text(meta.content_type.clone())),
        Resource::Mounted(node) => node.content_type().map(PropValue::Text),
        _ => None,
    }
}

fn getcontentlength(_: &DavRequest<'_>, r: &Resource, _: &str) -> Option<PropValue> {
    match r {
        Resource::Object { meta, .. } => Some(PropValue::Text(meta.size.to_string())),
        Resource::Mounted(node) => node.content_length().map(|n| PropValue::Text(n.to_string())),
        _ => None,
    }
}

fn getlastmodified(_: &DavRequest<'_>, r: &Resource, _: &str) -> Option<PropValue> {
    match r {
        Resource::Object { meta, .. } => Some(PropValue::Text(http_date(meta.modified_at))),
        Resource::Collection { collection, .. } => Some(PropValue::Text(http_date(collection.modified_at))),
        Resource::Mounted(node) => node.last_modified().map(|ms| PropValue::Text(http_date(ms))),
        _ => None,
    }
}

fn creationdate(_: &DavRequest<'_>, r: &Resource, _: &str) -> Option<PropValue> {
    match r {
        Resource::Object { meta, .. } => Some(PropValue::Text(rfc3339(meta.created_at))),
        Resource::Collection { collection, .. } => Some(PropValue::Text(rfc3339(collection.created_at))),
        _ => None,
    }
}

fn displayname(_: &DavRequest<'_>, r: &Resource, _: &str) -> Option<PropValue> {
    match r {
        Resource::Principal(p) => Some(PropValue::Text(p.display_name.clone().unwrap_or_else(|| p.username.clone()))),
        Resource::Mounted(node) => node.display_name().map(PropValue::Text),
        _ => None,
    }
}

fn lockdiscovery<'a>(req: &'a DavRequest<'a>, r: &'a Resource, store_path: &'a str) -> BoxFuture<'a, DavResult<Option<PropValue>>> {
    Box::pin(async move {
        Ok(match r {
            Resource::Collection { .. } | Resource::Object { .. } => {
                Some(PropValue::Locks(locks::active_locks(req, store_path).await?))
            }
            _ => None,
        })
    })
}

fn supportedlock(_: &DavRequest<'_>, r: &Resource, _: &str) -> Option<PropValue> {
    matches!(r, Resource::Collection { .. } | Resource::Object { .. }).then_some(PropValue::SupportedLock)
}

fn owner<'a>(req: &'a DavRequest<'a>, r: &'a Resource, _: &'a str) -> BoxFuture<'a, DavResult<Option<PropValue>>> {
    Box::pin(async move {
        Ok(match r.owner() {
            Some(id) if id == req.user.id => Some(PropValue::Href(principal_href(req, &req.user.username))),
            Some(id) => req.state.store.principal(id).await?.map(|p| PropValue::Href(principal_href(req, &p.username))),
            None => None,
        })
    })
}

fn current_user_principal(req: &DavRequest<'_>, _: &Resource, _: &str) -> Option<PropValue> {
    Some(PropValue::Href(principal_href(req, &req.user.username)))
}

fn principal_url(req: &DavRequest<'_>, r: &Resource, _: &str) -> Option<PropValue> {
    match r {
        Resource::Principal(p) => Some(PropValue::Href(principal_href(req, &p.username))),
        _ => None,
    }
}

fn principal_collection_set(req: &DavRequest<'_>, _: &Resource, _: &str) -> Option<PropValue> {
    Some(PropValue::Hrefs(vec![req.href("/principals/")]))
}

fn alternate_uri_set<'a>(req: &'a DavRequest<'a>, r: &'a Resource, _: &'a str) -> BoxFuture<'a, DavResult<Option<PropValue>>> {
    Box::pin(async move {
        Ok(match r {
            Resource::Principal(p) => {
                // Current addresses only: a former one still identifies
                // the user for scheduling (`calendar-user-address-set`),
                // but is not shown or searched as the principal's.
                let emails = req.state.store.principal_emails(p.id).await?;
                let current = emails.into_iter().filter(|e| !e.former);
                Some(PropValue::Hrefs(current.map(|e| format!("mailto:{}", e.address)).collect()))
            }
            _ => None,
        })
    })
}

fn group_membership(_: &DavRequest<'_>, r: &Resource, _: &str) -> Option<PropValue> {
    matches!(r, Resource::Principal(_)).then(|| PropValue::Hrefs(Vec::new()))
}

fn supported_report_set(req: &DavRequest<'_>, r: &Resource, _: &str) -> Option<PropValue> {
    Some(PropValue::Reports(super::report::supported_reports(req, r)))
}

fn current_user_privilege_set(req: &DavRequest<'_>, r: &Resource, _: &str) -> Option<PropValue> {
    Some(PropValue::Privileges(r.privileges(req.user).names()))
}

fn supported_privilege_set(req: &DavRequest<'_>, r: &Resource, _: &str) -> Option<PropValue> {
    let extra = match r {
        Resource::Collection { collection, .. } => {
            req.state.registry.collection_type(collection.kind).map(|t| t.privileges()).unwrap_or(&[])
        }
        _ => &[],
    };
    Some(PropValue::Elements(vec![supported_privilege(&acl::SUPPORTED_PRIVILEGES, extra)]))
}

/// One `DAV:supported-privilege` element (RFC 3744 §5.3), with `extra`
/// entries aggregated under it besides its own.
fn supported_privilege(entry: &acl::SupportedPrivilege, extra: &[acl::SupportedPrivilege]) -> OutElement {
    let (ns, name) = entry.name;
    let mut children = vec![
        OutElement::parent(NS_DAV, "privilege", vec![OutElement::empty(ns, name)]),
        OutElement::text(NS_DAV, "description", entry.description).attr("xml:lang", "fr"),
    ];
    children.extend(entry.contains.iter().chain(extra).map(|e| supported_privilege(e, &[])));
    OutElement::parent(NS_DAV, "supported-privilege", children)
}

fn quota_used_bytes<'a>(req: &'a DavRequest<'a>, r: &'a Resource, _: &'a str) -> BoxFuture<'a, DavResult<Option<PropValue>>> {
    Box::pin(async move {
        Ok(match r {
            Resource::Collection { collection, .. } => {
                Some(PropValue::Text(req.state.store.quota_used(collection.owner).await?.to_string()))
            }
            _ => None,
        })
    })
}

fn quota_available_bytes<'a>(req: &'a DavRequest<'a>, r: &'a Resource, _: &'a str) -> BoxFuture<'a, DavResult<Option<PropValue>>> {
    Box::pin(async move {
        Ok(match r {
            Resource::Collection { collection, .. } => {
                let used = req.state.store.quota_used(collection.owner).await?;
                let limit = quota_limit(req, collection.owner).await?;
                Some(PropValue::Text((limit - used).max(0).to_string()))
            }
            _ => None,
        })
    })
}

fn sync_token(_: &DavRequest<'_>, r: &Resource, _: &str) -> Option<PropValue> {
    match r {
        Resource::Collection { collection, .. } => Some(PropValue::Text(super::sync::sync_token(collection))),
        _ => None,
    }
}

fn getctag(_: &DavRequest<'_>, r: &Resource, _: &str) -> Option<PropValue> {
    match r {
        Resource::Collection { collection, .. } => Some(PropValue::Text(super::sync::ctag(collection))),
        _ => None,
    }
}

/// The text content of a collection's dead property `{ns}name`, if set
/// (e.g. `displayname`, CalDAV `calendar-timezone`).
pub async fn dead_property_text(req: &DavRequest<'_>, collection: CollectionId, ns: &str, name: &str) -> DavResult<Option<String>> {
    let props = req.state.store.dead_properties(PropertyTarget::Collection(collection)).await?;
    Ok(props
        .iter()
        .find(|p| p.namespace == ns && p.name == name)
        .and_then(|p| crate::xml::parse_fragment(&p.value).ok())
        .map(|e| e.text()))
}

/// The storage quota of a principal in bytes (RFC 4331).
pub async fn quota_limit(req: &DavRequest<'_>, owner: i64) -> DavResult<i64> {
    let own = if owner == req.user.id {
        req.user.quota_bytes
    } else {
        req.state.store.principal(owner).await?.and_then(|p| p.quota_bytes)
    };
    Ok(own.unwrap_or(req.state.config.default_quota_bytes))
}
