//! Values of the live properties of the WebDAV core (RFC 4918 §15, RFC 3744
//! §4-5, RFC 4331 §3-4, RFC 5397 §3) for each kind of resource.

use std::time::{Duration, UNIX_EPOCH};

use super::error::DavResult;
use super::locks;
use super::property::{LiveProperty, PropValue};
use super::resource::Resource;
use super::response::quoted_etag;
use super::DavRequest;
use crate::store::{CollectionId, Millis, PropertyTarget};
use crate::xml::{NS_CALDAV, NS_CARDDAV, NS_DAV};

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

/// The value of `prop` on `resource`, or None when the resource does not
/// have that property (it is then reported in a 404 propstat).
pub async fn live_value(
    req: &DavRequest<'_>,
    store_path: &str,
    resource: &Resource,
    prop: LiveProperty,
) -> DavResult<Option<PropValue>> {
    use LiveProperty as P;
    use Resource as R;
    let value = match (prop, resource) {
        (P::ResourceType, R::Principal(_)) => {
            PropValue::Markers(vec![(NS_DAV, "collection"), (NS_DAV, "principal")])
        }
        (P::ResourceType, R::Collection { collection, .. }) if crate::caldav::is_calendar(collection) => {
            PropValue::Markers(vec![(NS_DAV, "collection"), (NS_CALDAV, "calendar")])
        }
        (P::ResourceType, R::Directory) => PropValue::Markers(vec![
            (NS_DAV, "collection"),
            (NS_CARDDAV, "addressbook"),
            (NS_CARDDAV, "directory"),
        ]),
        (P::ResourceType, R::Collection { collection, .. }) if crate::carddav::is_addressbook(collection) => {
            PropValue::Markers(vec![(NS_DAV, "collection"), (NS_CARDDAV, "addressbook")])
        }
        (P::ResourceType, r) if r.is_collection() => PropValue::Markers(vec![(NS_DAV, "collection")]),
        (P::ResourceType, _) => PropValue::Empty,
        (P::GetETag, R::Object { meta, .. }) => PropValue::Text(quoted_etag(&meta.etag)),
        (P::GetETag | P::GetContentType | P::GetContentLength | P::GetLastModified, R::DirectoryCard(entry)) => {
            let card = crate::carddav::directory::card(entry);
            PropValue::Text(match prop {
                P::GetETag => quoted_etag(&card.etag),
                P::GetContentType => card.content_type.to_string(),
                P::GetContentLength => card.bytes.len().to_string(),
                _ => http_date(entry.modified_at),
            })
        }
        (P::GetContentType, R::Object { meta, .. }) => PropValue::Text(meta.content_type.clone()),
        (P::GetContentLength, R::Object { meta, .. }) => PropValue::Text(meta.size.to_string()),
        (P::GetLastModified, R::Object { meta, .. }) => PropValue::Text(http_date(meta.modified_at)),
        (P::GetLastModified, R::Collection { collection, .. }) => PropValue::Text(http_date(collection.modified_at)),
        (P::CreationDate, R::Object { meta, .. }) => PropValue::Text(rfc3339(meta.created_at)),
        (P::CreationDate, R::Collection { collection, .. }) => PropValue::Text(rfc3339(collection.created_at)),
        (P::DisplayName, R::Principal(p)) => PropValue::Text(p.display_name.clone().unwrap_or_else(|| p.username.clone())),
        (P::DisplayName, R::Directory) => PropValue::Text(crate::carddav::directory::DISPLAY_NAME.into()),
        (P::LockDiscovery, R::Collection { .. } | R::Object { .. }) => {
            PropValue::Locks(locks::active_locks(req, store_path).await?)
        }
        (P::SupportedLock, R::Collection { .. } | R::Object { .. }) => PropValue::SupportedLock,
        (P::Owner, r) => match r.owner() {
            Some(id) if id == req.user.id => PropValue::Href(principal_href(req, &req.user.username)),
            Some(id) => match req.state.store.principal(id).await? {
                Some(p) => PropValue::Href(principal_href(req, &p.username)),
                None => return Ok(None),
            },
            None => return Ok(None),
        },
        (P::CurrentUserPrincipal, _) => PropValue::Href(principal_href(req, &req.user.username)),
        (P::PrincipalUrl, R::Principal(p)) => PropValue::Href(principal_href(req, &p.username)),
        (P::PrincipalCollectionSet, _) => PropValue::Hrefs(vec![req.href("/principals/")]),
        (P::AlternateUriSet, R::Principal(p)) => {
            let emails = req.state.store.principal_emails(p.id).await?;
            PropValue::Hrefs(emails.into_iter().map(|e| format!("mailto:{}", e.address)).collect())
        }
        (P::GroupMembership, R::Principal(_)) => PropValue::Hrefs(vec![]),
        (P::SupportedReportSet, r) => PropValue::Reports(super::report::supported_reports(r)),
        (P::SyncToken, R::Collection { collection, .. }) => PropValue::Text(super::sync::sync_token(collection)),
        (P::GetCtag, R::Collection { collection, .. }) => PropValue::Text(super::sync::ctag(collection)),
        (P::CurrentUserPrivilegeSet, r) => PropValue::Privileges(r.privileges(req.user).names()),
        (P::QuotaUsedBytes | P::QuotaAvailableBytes, R::Collection { collection, .. }) => {
            let used = req.state.store.quota_used(collection.owner).await?;
            if prop == P::QuotaUsedBytes {
                PropValue::Text(used.to_string())
            } else {
                let limit = quota_limit(req, collection.owner).await?;
                PropValue::Text((limit - used).max(0).to_string())
            }
        }
        (p, r) if p.namespace() == NS_CALDAV => return crate::caldav::props::live_value(req, r, p).await,
        (p, r) if p.namespace() == NS_CARDDAV => return crate::carddav::props::live_value(req, r, p).await,
        _ => return Ok(None),
    };
    Ok(Some(value))
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
